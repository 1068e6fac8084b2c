package filestate

import (
	"testing"
	"time"
)

func TestRevisionID(t *testing.T) {
	r := newRevision(42, time.Date(2026, 1, 2, 15, 4, 5, 123456789, time.FixedZone("CET", 3600)))
	if want := "0000000042-20260102T140405.123Z"; r.id != want {
		t.Fatalf("id = %q, want %q", r.id, want)
	}
	got, ok := parseRevisionID(r.id)
	if !ok || got != r {
		t.Errorf("parseRevisionID(%q) = %+v, %v; want %+v", r.id, got, ok, r)
	}
	// Only the canonical form parses, so an ID can never name another file.
	for _, id := range []string{
		"", "42", "42-20260102T140405.123Z", "+000000042-20260102T140405.123Z",
		"0000000042-20260102T140405.123Z.json", "0000000042-20260102T140405Z",
		"0000000042-20260102T140405.123Z/../x", "../0000000042-20260102T140405.123Z",
		"0000000042-20261302T140405.123Z",
	} {
		if r, ok := parseRevisionID(id); ok {
			t.Errorf("parseRevisionID(%q) = %+v, accepted", id, r)
		}
	}
	if big := newRevision(12345678901, r.time); big.id != "12345678901-20260102T140405.123Z" {
		t.Errorf("id past ten digits = %q", big.id)
	}
}
