// Package backendtest is the conformance suite for backend.StateBackend implementations. An
// implementation is done when Run passes against it, with -race.
package backendtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/panka/panka/backend"
)

// Run runs every conformance test as a subtest of t, one after another. newBackend is called
// once per subtest and must return an empty backend that shares nothing with the others; it may
// use t.TempDir and t.Cleanup. The concurrency tests make a few hundred writes from up to 16
// goroutines at once.
func Run(t *testing.T, newBackend func(t *testing.T) backend.StateBackend) {
	tests := []struct {
		name string
		fn   func(t *testing.T, b backend.StateBackend)
	}{
		{"ReadMissing", testReadMissing},
		{"CreateOnlyIfAbsent", testCreateOnlyIfAbsent},
		{"StaleVersionConflicts", testStaleVersionConflicts},
		{"WriteReturnsNewVersion", testWriteReturnsNewVersion},
		{"RoundTrip", testRoundTrip},
		{"NoAliasing", testNoAliasing},
		{"History", testHistory},
		{"ReadRevisionUnknown", testReadRevisionUnknown},
		{"List", testList},
		{"ListInvalidPrefix", testListInvalidPrefix},
		{"KeysIsolated", testKeysIsolated},
		{"InvalidKeys", testInvalidKeys},
		{"ValidKeyEdges", testValidKeyEdges},
		{"CanceledContext", testCanceledContext},
		{"ConcurrentCreateOneWins", testConcurrentCreateOneWins},
		{"ConcurrentWritersOneWins", testConcurrentWritersOneWins},
		{"ConcurrentCounterNoLostUpdate", testConcurrentCounter},
		{"JournalSlots", journaled(testJournalSlots)},
		{"JournalPerRevision", journaled(testJournalPerRevision)},
		{"JournalConcurrentAppendOneWins", journaled(testJournalConcurrentAppend)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newBackend(t))
		})
	}
}

// journaled runs fn on a backend that implements backend.Journaler; for one that does not (it
// keeps no journals: the engine writes whole documents to it) there is nothing to check.
func journaled(fn func(*testing.T, backend.StateBackend, backend.Journaler)) func(*testing.T, backend.StateBackend) {
	return func(t *testing.T, b backend.StateBackend) {
		j, ok := b.(backend.Journaler)
		if !ok {
			t.Logf("%T keeps no journals: nothing to check", b)
			return
		}
		fn(t, b, j)
	}
}

// testJournalSlots: slots fill in order, each once; Entries returns them in order up to the first
// empty slot, as stored (copies the caller may keep).
func testJournalSlots(t *testing.T, b backend.StateBackend, j backend.Journaler) {
	ctx := t.Context()
	v := mustWrite(t, b, keyA, []byte("doc"), "")
	got, err := j.Entries(ctx, keyA, v)
	if err != nil || len(got) != 0 {
		t.Fatalf("Entries of an empty journal = %q, %v; want none", got, err)
	}
	for i := 1; i <= 3; i++ {
		if err := j.AppendEntry(ctx, keyA, v, i, []byte(fmt.Sprintf("entry %d", i))); err != nil {
			t.Fatalf("AppendEntry slot %d: %v", i, err)
		}
	}
	err = j.AppendEntry(ctx, keyA, v, 2, []byte("again"))
	var conflict *backend.ConflictError
	if !errors.As(err, &conflict) {
		t.Errorf("AppendEntry to a taken slot: got %v, want a *ConflictError", err)
	}
	got, err = j.Entries(ctx, keyA, v)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]byte{[]byte("entry 1"), []byte("entry 2"), []byte("entry 3")}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Entries (-want +got):\n%s", diff)
	}
	got[0][0] = 'X'
	if again, _ := j.Entries(ctx, keyA, v); string(again[0]) != "entry 1" {
		t.Errorf("changing what Entries returned changed the journal: %q", again[0])
	}
	if other, err := j.Entries(ctx, keyB, v); err != nil || len(other) != 0 {
		t.Errorf("Entries of another key = %q, %v; want none", other, err)
	}
}

// testJournalPerRevision: a journal belongs to one revision: a new revision starts empty, and the
// old revision's journal does not show under it.
func testJournalPerRevision(t *testing.T, b backend.StateBackend, j backend.Journaler) {
	ctx := t.Context()
	v1 := mustWrite(t, b, keyA, []byte("doc 1"), "")
	if err := j.AppendEntry(ctx, keyA, v1, 1, []byte("of v1")); err != nil {
		t.Fatal(err)
	}
	v2 := mustWrite(t, b, keyA, []byte("doc 2"), v1)
	if got, err := j.Entries(ctx, keyA, v2); err != nil || len(got) != 0 {
		t.Errorf("Entries of a new revision = %q, %v; want none", got, err)
	}
	if err := j.AppendEntry(ctx, keyA, v2, 1, []byte("of v2")); err != nil {
		t.Errorf("AppendEntry slot 1 of a new revision: %v", err)
	}
	if got, _ := j.Entries(ctx, keyA, v2); len(got) != 1 || string(got[0]) != "of v2" {
		t.Errorf("Entries of v2 = %q; want [of v2]", got)
	}
}

// testJournalConcurrentAppend: of 16 writers appending to the same slot at once, exactly one
// succeeds and the others get a *ConflictError; the slot holds the winner's entry.
func testJournalConcurrentAppend(t *testing.T, b backend.StateBackend, j backend.Journaler) {
	ctx := t.Context()
	v := mustWrite(t, b, keyA, []byte("doc"), "")
	const n = 16
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = j.AppendEntry(ctx, keyA, v, 1, []byte(fmt.Sprintf("writer %d", i))) })
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		var conflict *backend.ConflictError
		switch {
		case err == nil && winner >= 0:
			t.Errorf("writers %d and %d both appended to slot 1", winner, i)
		case err == nil:
			winner = i
		case !errors.As(err, &conflict):
			t.Errorf("writer %d: %v, want success or a *ConflictError", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no writer appended")
	}
	got, err := j.Entries(ctx, keyA, v)
	if err != nil || len(got) != 1 || string(got[0]) != fmt.Sprintf("writer %d", winner) {
		t.Errorf("Entries = %q, %v; want the winner's entry", got, err)
	}
}

var (
	keyA = backend.Key{Tenant: "team-a", Stack: "web", Environment: "prod"}
	keyB = backend.Key{Tenant: "team-b", Stack: "web", Environment: "prod"}
)

func testReadMissing(t *testing.T, b backend.StateBackend) {
	ctx := t.Context()
	if _, _, err := b.Read(ctx, keyA); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("Read of a missing key: got error %v, want ErrNotFound", err)
	}
	if _, err := b.History(ctx, keyA); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("History of a missing key: got error %v, want ErrNotFound", err)
	}
	if _, err := b.ReadRevision(ctx, keyA, "1"); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("ReadRevision of a missing key: got error %v, want ErrNotFound", err)
	}
	keys, err := b.List(ctx, "")
	if err != nil || len(keys) != 0 {
		t.Errorf("List of an empty backend = %v, %v; want no keys, no error", keys, err)
	}
}

func testCreateOnlyIfAbsent(t *testing.T, b backend.StateBackend) {
	ctx := t.Context()
	v1 := mustWrite(t, b, keyA, []byte("first"), "")
	if v1 == "" {
		t.Fatal("Write returned the empty version")
	}
	_, err := b.Write(ctx, keyA, []byte("second"), "")
	wantConflict(t, err, keyA, "", v1)
	wantDoc(t, b, keyA, []byte("first"), v1)
}

func testStaleVersionConflicts(t *testing.T, b backend.StateBackend) {
	ctx := t.Context()
	v1 := mustWrite(t, b, keyA, []byte("one"), "")
	v2 := mustWrite(t, b, keyA, []byte("two"), v1)

	_, err := b.Write(ctx, keyA, []byte("stale"), v1)
	wantConflict(t, err, keyA, v1, v2)
	_, err = b.Write(ctx, keyA, []byte("made-up"), "no-such-version")
	wantConflict(t, err, keyA, "no-such-version", v2)
	wantDoc(t, b, keyA, []byte("two"), v2)
	if h := mustHistory(t, b, keyA); len(h) != 2 {
		t.Errorf("History after 2 writes and 2 conflicts has %d revisions, want 2", len(h))
	}

	// Expecting a version of a key that has no document is a conflict too.
	_, err = b.Write(ctx, keyB, []byte("x"), v2)
	wantConflict(t, err, keyB, v2, "")
	if _, _, err := b.Read(ctx, keyB); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("Read after a conflicting first write: got error %v, want ErrNotFound", err)
	}
}

func testWriteReturnsNewVersion(t *testing.T, b backend.StateBackend) {
	seen := map[backend.Version]int{}
	var v backend.Version
	for i := range 5 {
		// The same bytes every time: a version must identify the revision, not just the content.
		v = mustWrite(t, b, keyA, []byte("same"), v)
		if v == "" {
			t.Fatalf("write %d returned the empty version", i)
		}
		if j, ok := seen[v]; ok {
			t.Fatalf("write %d returned version %q, already returned by write %d", i, v, j)
		}
		seen[v] = i
		wantDoc(t, b, keyA, []byte("same"), v)
	}
}

func testRoundTrip(t *testing.T, b backend.StateBackend) {
	allBytes := make([]byte, 256)
	for i := range allBytes {
		allBytes[i] = byte(i)
	}
	docs := []struct {
		name string
		data []byte
	}{
		{"nil", nil},
		{"empty", []byte{}},
		{"json", []byte(`{"version":1,"serial":7}` + "\n")},
		{"every-byte", allBytes},
		{"crlf-and-nul", []byte("a\r\nb\x00c\n")},
		{"one-mib", randomBytes(1 << 20)},
	}
	for _, d := range docs {
		key := backend.Key{Tenant: "t", Stack: "roundtrip", Environment: d.name}
		v := mustWrite(t, b, key, d.data, "")
		wantDoc(t, b, key, d.data, v)
	}

	// Overwriting a large document with a short one must not leave a tail behind.
	key := backend.Key{Tenant: "t", Stack: "roundtrip", Environment: "one-mib"}
	_, v, err := b.Read(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	v = mustWrite(t, b, key, []byte("short"), v)
	wantDoc(t, b, key, []byte("short"), v)
}

func testNoAliasing(t *testing.T, b backend.StateBackend) {
	ctx := t.Context()
	in := []byte("original")
	v := mustWrite(t, b, keyA, in, "")
	copy(in, "CHANGED!")
	got, _, err := b.Read(ctx, keyA)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "original" {
		t.Fatalf("Read after the caller changed the slice it wrote = %q, want %q", got, "original")
	}
	copy(got, "CHANGED!")
	wantDoc(t, b, keyA, []byte("original"), v)

	h := mustHistory(t, b, keyA)
	old, err := b.ReadRevision(ctx, keyA, h[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	copy(old, "CHANGED!")
	if old, _ = b.ReadRevision(ctx, keyA, h[0].ID); string(old) != "original" {
		t.Errorf("ReadRevision after the caller changed a returned slice = %q, want %q", old, "original")
	}
}

func testHistory(t *testing.T, b backend.StateBackend) {
	ctx := t.Context()
	var (
		docs     [][]byte
		versions []backend.Version
		v        backend.Version
	)
	for i := range 4 {
		doc := []byte(strings.Repeat(fmt.Sprintf("revision %d;", i), i+1))
		v = mustWrite(t, b, keyA, doc, v)
		docs = append(docs, doc)
		versions = append(versions, v)
	}
	mustWrite(t, b, keyB, []byte("other key"), "")

	h := mustHistory(t, b, keyA)
	if len(h) != len(docs) {
		t.Fatalf("History has %d revisions, want %d: %+v", len(h), len(docs), h)
	}
	ids := map[string]bool{}
	for i, r := range h {
		want := len(docs) - 1 - i // newest first
		if r.Version != versions[want] {
			t.Errorf("History[%d].Version = %q, want %q (the version write %d returned)", i, r.Version, versions[want], want)
		}
		if r.Current != (i == 0) {
			t.Errorf("History[%d].Current = %v, want %v", i, r.Current, i == 0)
		}
		if r.Size != int64(len(docs[want])) {
			t.Errorf("History[%d].Size = %d, want %d", i, r.Size, len(docs[want]))
		}
		if r.Time.IsZero() {
			t.Errorf("History[%d].Time is zero", i)
		}
		if i > 0 && r.Time.After(h[i-1].Time) {
			t.Errorf("History[%d].Time %v is after the newer History[%d].Time %v", i, r.Time, i-1, h[i-1].Time)
		}
		if r.ID == "" || ids[r.ID] {
			t.Errorf("History[%d].ID = %q: empty or repeated", i, r.ID)
		}
		ids[r.ID] = true
		got, err := b.ReadRevision(ctx, keyA, r.ID)
		if err != nil {
			t.Errorf("ReadRevision(%q): %v", r.ID, err)
		} else if !bytes.Equal(got, docs[want]) {
			t.Errorf("ReadRevision(%q) = %q, want %q", r.ID, got, docs[want])
		}
	}
}

func testReadRevisionUnknown(t *testing.T, b backend.StateBackend) {
	ctx := t.Context()
	v := mustWrite(t, b, keyA, []byte("a1"), "")
	mustWrite(t, b, keyA, []byte("a2"), v)
	mustWrite(t, b, keyB, []byte("b1"), "")
	hA := mustHistory(t, b, keyA)

	ids := []string{"", "nope", "..", "../../etc/passwd", "/", hA[0].ID + "x", hA[0].ID + "/.."}
	// A revision of keyA is not a revision of keyB: keyB has a single revision.
	ids = append(ids, hA[0].ID)
	for _, id := range ids {
		if got, err := b.ReadRevision(ctx, keyB, id); !errors.Is(err, backend.ErrNotFound) {
			t.Errorf("ReadRevision(%s, %q) = %q, %v; want ErrNotFound", keyB, id, got, err)
		}
	}
}

func testList(t *testing.T, b backend.StateBackend) {
	keys := []backend.Key{
		{Tenant: "team-b", Stack: "web", Environment: "prod"},
		{Tenant: "team-a", Stack: "web", Environment: "prod"},
		{Tenant: "team", Stack: "web", Environment: "prod"},
		{Tenant: "team-a", Stack: "web", Environment: "dev"},
		{Tenant: "team-a", Stack: "api", Environment: "prod"},
		{Tenant: "team-a", Stack: "web-2", Environment: "dev"},
		{Tenant: "team-ab", Stack: "web", Environment: "dev"},
	}
	for _, k := range keys {
		mustWrite(t, b, k, []byte(k.String()), "")
	}
	parse := func(ss ...string) []backend.Key {
		var out []backend.Key
		for _, s := range ss {
			k, err := backend.ParseKey(s)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, k)
		}
		return out
	}
	tests := []struct {
		prefix string
		want   []backend.Key
	}{
		// Sorted name by name: "team" < "team-a" < "team-ab" < "team-b".
		{"", parse("team/web/prod", "team-a/api/prod", "team-a/web/dev", "team-a/web/prod", "team-a/web-2/dev", "team-ab/web/dev", "team-b/web/prod")},
		{"team-a", parse("team-a/api/prod", "team-a/web/dev", "team-a/web/prod", "team-a/web-2/dev")},
		{"team-b", parse("team-b/web/prod")},
		{"team", parse("team/web/prod")},
		{"team-a/web", parse("team-a/web/dev", "team-a/web/prod")},
		{"team-a/web/prod", parse("team-a/web/prod")},
		{"team-a/we", nil},
		{"team-c", nil},
		{"team-a/web/staging", nil},
	}
	for _, tc := range tests {
		got, err := b.List(t.Context(), tc.prefix)
		if err != nil {
			t.Errorf("List(%q): %v", tc.prefix, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got, cmp.Comparer(func(a, b []backend.Key) bool {
			return slices.Equal(a, b) // nil and empty are both "no keys"
		})); diff != "" {
			t.Errorf("List(%q) mismatch (-want +got):\n%s", tc.prefix, diff)
		}
	}
}

func testListInvalidPrefix(t *testing.T, b backend.StateBackend) {
	mustWrite(t, b, keyA, []byte("x"), "")
	for _, prefix := range []string{"/", "team-a/", "/team-a", "team-a//prod", "Team-A", "..", "team-a/..", "team-a/web/prod/x", "*", "team-a/*"} {
		if keys, err := b.List(t.Context(), prefix); !errors.Is(err, backend.ErrInvalidKey) {
			t.Errorf("List(%q) = %v, %v; want ErrInvalidKey", prefix, keys, err)
		}
	}
}

func testKeysIsolated(t *testing.T, b backend.StateBackend) {
	base := backend.Key{Tenant: "team-a", Stack: "web", Environment: "prod"}
	neighbours := []backend.Key{
		{Tenant: "team-b", Stack: "web", Environment: "prod"},
		{Tenant: "team-a", Stack: "api", Environment: "prod"},
		{Tenant: "team-a", Stack: "web", Environment: "dev"},
		{Tenant: "team-a", Stack: "web", Environment: "prod-2"},
		{Tenant: "team-a", Stack: "web-prod", Environment: "x"},
	}
	v := mustWrite(t, b, base, []byte("base"), "")
	for _, k := range neighbours {
		// A first write (ifMatch "") succeeds only if the neighbour really is a separate key.
		nv := mustWrite(t, b, k, []byte(k.String()), "")
		mustWrite(t, b, k, []byte(k.String()+" again"), nv)
		wantDoc(t, b, base, []byte("base"), v)
	}
	if h := mustHistory(t, b, base); len(h) != 1 {
		t.Errorf("History(%s) has %d revisions after writes to other keys, want 1", base, len(h))
	}
	for _, k := range neighbours {
		got, _, err := b.Read(t.Context(), k)
		if err != nil || string(got) != k.String()+" again" {
			t.Errorf("Read(%s) = %q, %v; want %q", k, got, err, k.String()+" again")
		}
	}
}

func invalidKeys() []backend.Key {
	valid := "ok"
	var out []backend.Key
	for _, name := range []string{
		"", ".", "..", "a/b", "/", "Team", "PROD", "-lead", "trail-", "-", "under_score",
		"dot.ted", "white space", "tab\t", "new\nline", "é", "nul\x00", strings.Repeat("a", backend.MaxNameLen+1),
	} {
		out = append(out,
			backend.Key{Tenant: name, Stack: valid, Environment: valid},
			backend.Key{Tenant: valid, Stack: name, Environment: valid},
			backend.Key{Tenant: valid, Stack: valid, Environment: name},
		)
	}
	return out
}

func testInvalidKeys(t *testing.T, b backend.StateBackend) {
	ctx := t.Context()
	for _, k := range invalidKeys() {
		if _, err := b.Write(ctx, k, []byte("x"), ""); !errors.Is(err, backend.ErrInvalidKey) {
			t.Errorf("Write(%q): got error %v, want ErrInvalidKey", k, err)
		}
		if _, _, err := b.Read(ctx, k); !errors.Is(err, backend.ErrInvalidKey) {
			t.Errorf("Read(%q): got error %v, want ErrInvalidKey", k, err)
		}
		if _, err := b.History(ctx, k); !errors.Is(err, backend.ErrInvalidKey) {
			t.Errorf("History(%q): got error %v, want ErrInvalidKey", k, err)
		}
		if _, err := b.ReadRevision(ctx, k, "1"); !errors.Is(err, backend.ErrInvalidKey) {
			t.Errorf("ReadRevision(%q): got error %v, want ErrInvalidKey", k, err)
		}
	}
	if keys, err := b.List(ctx, ""); err != nil || len(keys) != 0 {
		t.Errorf("List after writes with invalid keys = %v, %v; want nothing stored", keys, err)
	}
}

func testValidKeyEdges(t *testing.T, b backend.StateBackend) {
	long := strings.Repeat("a", backend.MaxNameLen)
	for _, k := range []backend.Key{
		{Tenant: "a", Stack: "0", Environment: "z"},
		{Tenant: long, Stack: long, Environment: long},
		{Tenant: "a-b-c", Stack: "1-2", Environment: "x--y"},
	} {
		v := mustWrite(t, b, k, []byte(k.String()), "")
		wantDoc(t, b, k, []byte(k.String()), v)
	}
}

func testCanceledContext(t *testing.T, b backend.StateBackend) {
	v := mustWrite(t, b, keyA, []byte("before"), "")
	h := mustHistory(t, b, keyA)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()

	if _, err := b.Write(ctx, keyA, []byte("after"), v); !errors.Is(err, context.Canceled) {
		t.Errorf("Write: got error %v, want context.Canceled", err)
	}
	if _, err := b.Write(ctx, keyB, []byte("after"), ""); !errors.Is(err, context.Canceled) {
		t.Errorf("Write of a new key: got error %v, want context.Canceled", err)
	}
	if _, _, err := b.Read(ctx, keyA); !errors.Is(err, context.Canceled) {
		t.Errorf("Read: got error %v, want context.Canceled", err)
	}
	if _, err := b.History(ctx, keyA); !errors.Is(err, context.Canceled) {
		t.Errorf("History: got error %v, want context.Canceled", err)
	}
	if _, err := b.ReadRevision(ctx, keyA, h[0].ID); !errors.Is(err, context.Canceled) {
		t.Errorf("ReadRevision: got error %v, want context.Canceled", err)
	}
	if _, err := b.List(ctx, ""); !errors.Is(err, context.Canceled) {
		t.Errorf("List: got error %v, want context.Canceled", err)
	}
	wantDoc(t, b, keyA, []byte("before"), v)
	if _, _, err := b.Read(t.Context(), keyB); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("Read of a key written with a canceled context: got error %v, want ErrNotFound", err)
	}
}

const racers = 16

// race runs fn(i) for i in [0, racers) at once: every goroutine first runs prepare(i), then all
// are released together. It returns fn's results.
func race(prepare func(i int), fn func(i int) (backend.Version, error)) ([]backend.Version, []error) {
	var (
		prepared, done sync.WaitGroup
		start          = make(chan struct{})
		versions       = make([]backend.Version, racers)
		errs           = make([]error, racers)
	)
	prepared.Add(racers)
	for i := range racers {
		done.Go(func() {
			prepare(i)
			prepared.Done()
			<-start
			versions[i], errs[i] = fn(i)
		})
	}
	prepared.Wait()
	close(start)
	done.Wait()
	return versions, errs
}

// checkOneWinner checks that exactly one of the racing writes succeeded, that every other one
// got a ConflictError naming expected and the winner's version, and that the winner's document
// is current.
func checkOneWinner(t *testing.T, b backend.StateBackend, key backend.Key, expected backend.Version, versions []backend.Version, errs []error) {
	t.Helper()
	winner := -1
	for i, err := range errs {
		if err != nil {
			continue
		}
		if winner >= 0 {
			t.Fatalf("writers %d and %d both succeeded writing %s with ifMatch %q", winner, i, key, expected)
		}
		winner = i
	}
	if winner < 0 {
		t.Fatalf("no writer succeeded; errors: %v", errs)
	}
	for i, err := range errs {
		if i != winner {
			wantConflict(t, err, key, expected, versions[winner])
		}
	}
	wantDoc(t, b, key, []byte(fmt.Sprintf("writer %d", winner)), versions[winner])
}

func testConcurrentCreateOneWins(t *testing.T, b backend.StateBackend) {
	versions, errs := race(func(int) {}, func(i int) (backend.Version, error) {
		return b.Write(t.Context(), keyA, []byte(fmt.Sprintf("writer %d", i)), "")
	})
	checkOneWinner(t, b, keyA, "", versions, errs)
	if h := mustHistory(t, b, keyA); len(h) != 1 {
		t.Errorf("History has %d revisions after one winning write, want 1", len(h))
	}
}

func testConcurrentWritersOneWins(t *testing.T, b backend.StateBackend) {
	v0 := mustWrite(t, b, keyA, []byte("initial"), "")
	read := make([]backend.Version, racers)
	versions, errs := race(func(i int) {
		// Every writer reads before any writes, as racing plans would.
		_, read[i], _ = b.Read(t.Context(), keyA)
	}, func(i int) (backend.Version, error) {
		return b.Write(t.Context(), keyA, []byte(fmt.Sprintf("writer %d", i)), read[i])
	})
	for i, v := range read {
		if v != v0 {
			t.Fatalf("racer %d read version %q, want %q", i, v, v0)
		}
	}
	checkOneWinner(t, b, keyA, v0, versions, errs)
	if h := mustHistory(t, b, keyA); len(h) != 2 {
		t.Errorf("History has %d revisions after one winning write, want 2", len(h))
	}
}

func testConcurrentCounter(t *testing.T, b backend.StateBackend) {
	const workers, increments = 8, 20
	mustWrite(t, b, keyA, []byte("0"), "")
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for range increments {
				if _, err := Increment(t.Context(), b, keyA); err != nil {
					t.Errorf("worker %d: %v", w, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	CheckCounter(t, b, keyA, workers*increments)
}

// Increment adds one to the decimal counter stored at key with read-modify-write, retrying on
// conflict until it wins, and returns how many conflicts it retried. Backend tests use it to
// hunt for lost updates, also across processes.
func Increment(ctx context.Context, b backend.StateBackend, key backend.Key) (retries int, err error) {
	for ; ; retries++ {
		data, v, err := b.Read(ctx, key)
		if err != nil {
			return retries, err
		}
		n, err := strconv.Atoi(string(data))
		if err != nil {
			return retries, fmt.Errorf("counter %s holds %q: %w", key, data, err)
		}
		_, err = b.Write(ctx, key, []byte(strconv.Itoa(n+1)), v)
		if ce := (*backend.ConflictError)(nil); !errors.As(err, &ce) {
			return retries, err
		}
	}
}

// CheckCounter checks that the counter at key, started at "0" by a single write, reached want
// with no lost update: the current value is want and History holds every value from want down
// to 0, newest first, each with a distinct version.
func CheckCounter(t *testing.T, b backend.StateBackend, key backend.Key, want int) {
	t.Helper()
	ctx := t.Context()
	got, _, err := b.Read(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != strconv.Itoa(want) {
		t.Fatalf("counter = %s, want %d: updates were lost", got, want)
	}
	h := mustHistory(t, b, key)
	if len(h) != want+1 {
		t.Fatalf("History has %d revisions, want %d (the initial write and %d increments)", len(h), want+1, want)
	}
	versions := map[backend.Version]bool{}
	for i, r := range h {
		data, err := b.ReadRevision(ctx, key, r.ID)
		if err != nil {
			t.Fatalf("ReadRevision(%q): %v", r.ID, err)
		}
		if string(data) != strconv.Itoa(want-i) {
			t.Fatalf("History[%d] (%s) holds %q, want %d", i, r.ID, data, want-i)
		}
		if versions[r.Version] {
			t.Fatalf("History[%d] repeats version %q", i, r.Version)
		}
		versions[r.Version] = true
	}
}

func mustWrite(t *testing.T, b backend.StateBackend, key backend.Key, data []byte, ifMatch backend.Version) backend.Version {
	t.Helper()
	v, err := b.Write(t.Context(), key, data, ifMatch)
	if err != nil {
		t.Fatalf("Write(%s, ifMatch %q): %v", key, ifMatch, err)
	}
	return v
}

func mustHistory(t *testing.T, b backend.StateBackend, key backend.Key) []backend.Revision {
	t.Helper()
	h, err := b.History(t.Context(), key)
	if err != nil {
		t.Fatalf("History(%s): %v", key, err)
	}
	return h
}

// wantDoc checks that key's current document is data at version v.
func wantDoc(t *testing.T, b backend.StateBackend, key backend.Key, data []byte, v backend.Version) {
	t.Helper()
	got, gotV, err := b.Read(t.Context(), key)
	if err != nil {
		t.Fatalf("Read(%s): %v", key, err)
	}
	if !bytes.Equal(got, data) {
		t.Errorf("Read(%s) = %s, want %s", key, abbrev(got), abbrev(data))
	}
	if gotV != v {
		t.Errorf("Read(%s) version = %q, want %q", key, gotV, v)
	}
}

func wantConflict(t *testing.T, err error, key backend.Key, expected, actual backend.Version) {
	t.Helper()
	var ce *backend.ConflictError
	if !errors.As(err, &ce) {
		t.Errorf("Write(%s, ifMatch %q): got error %v, want a *backend.ConflictError", key, expected, err)
		return
	}
	want := backend.ConflictError{Key: key, Expected: expected, Actual: actual}
	if diff := cmp.Diff(want, *ce); diff != "" {
		t.Errorf("ConflictError mismatch (-want +got):\n%s", diff)
	}
}

func abbrev(b []byte) string {
	if len(b) > 64 {
		return fmt.Sprintf("%q... (%d bytes)", b[:64], len(b))
	}
	return fmt.Sprintf("%q", b)
}

func randomBytes(n int) []byte {
	r := rand.New(rand.NewChaCha8([32]byte{'p', 'a', 'n', 'k', 'a'}))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}
