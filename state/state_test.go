package state

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/panka/panka/backend"
)

func sample() *State {
	s := New("team-a", "shop", "prod")
	s.Serial = 7
	s.Put(&Resource{Address: "api/web", Kind: "MicroService", Name: "shop-prod-api-web", ID: "svc-1", Status: StatusCreated,
		Spec:    map[string]any{"cpu": int64(256), "ratio": 0.5, "env": map[string]any{"A": "x"}, "ports": []any{map[string]any{"port": int64(80)}}},
		Outputs: map[string]string{"serviceName": "web"}, Dependencies: []string{"api/q"}})
	s.Put(&Resource{Address: "api/q", Kind: "SQS", Name: "shop-prod-api-q", Status: StatusPending})
	return s
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	s := sample()
	data, err := s.Encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	got.Checksum = ""
	if d := cmp.Diff(s, got); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}
	if got.Resources[0].Address != "api/q" {
		t.Errorf("resources not sorted: %v", got.Resources[0].Address)
	}
}

func TestDecodeRejectsDamage(t *testing.T) {
	data, err := sample().Encode()
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		data []byte
		want string
	}{
		"edited":      {[]byte(strings.Replace(string(data), `"cpu":256`, `"cpu":512`, 1)), "checksum mismatch"},
		"reformatted": {[]byte(strings.Replace(string(data), `"cpu":256`, `"cpu": 256`, 1)), "checksum mismatch"},
		"no checksum": {[]byte(`{"version":1,"lineage":"x"}`), "no checksum"},
		"truncated":   {data[:len(data)/2], "not a state document"},
		"future":      {[]byte(strings.Replace(string(data), `"version":1`, `"version":9`, 1)), "format version 9"},
		"not json":    {[]byte("hello"), "not a state document"},
		"no lineage":  {[]byte(`{"version":1}`), "no lineage"},
		"bad status":  {mustEncode(t, func(s *State) { s.Resources[0].Status = "weird" }), `unknown status "weird"`},
		"unsorted":    {mustEncode(t, func(s *State) { s.Resources[0], s.Resources[1] = s.Resources[1], s.Resources[0] }), "not sorted"},
		"no address":  {mustEncode(t, func(s *State) { s.Resources[0].Address = "" }), "no address"},
		"nil element": {mustEncode(t, func(s *State) { s.Resources[0] = nil }), "no address"},
	} {
		_, err := Decode(tc.data)
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Decode error = %v, want ErrCorrupt containing %q", name, err, tc.want)
		}
		// One sentinel for one failure: a caller holding only the backend package's
		// sentinel recognises a document that Decode refused.
		if !errors.Is(err, backend.ErrCorrupt) {
			t.Errorf("%s: Decode error = %v, want one matching backend.ErrCorrupt", name, err)
		}
	}
}

func mustEncode(t *testing.T, mutate func(*State)) []byte {
	t.Helper()
	s := sample()
	mutate(s)
	data, err := s.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestPutLookupRemoveKeepOrder(t *testing.T) {
	s := New("t", "s", "e")
	for _, a := range []string{"b/x", "a/y", "c/z", "a/a"} {
		s.Put(&Resource{Address: a, Kind: "S3", Status: StatusCreated})
	}
	s.Put(&Resource{Address: "a/y", Kind: "SQS", Status: StatusCreated})
	var got []string
	for _, r := range s.Resources {
		got = append(got, r.Address)
	}
	if d := cmp.Diff([]string{"a/a", "a/y", "b/x", "c/z"}, got); d != "" {
		t.Errorf("order (-want +got):\n%s", d)
	}
	if s.Lookup("a/y").Kind != "SQS" || s.Lookup("nope/x") != nil {
		t.Error("Lookup after Put replaced the wrong record")
	}
	s.Remove("b/x")
	s.Remove("b/x")
	if len(s.Resources) != 3 || s.Lookup("b/x") != nil {
		t.Error("Remove")
	}
	s.Put(&Resource{Address: "d/w", Kind: "S3", Status: StatusCreated})
	s.RemoveAll(map[string]bool{"a/a": true, "d/w": true, "nope/x": true})
	got = nil
	for _, r := range s.Resources {
		got = append(got, r.Address)
	}
	if d := cmp.Diff([]string{"a/y", "c/z"}, got); d != "" {
		t.Errorf("after RemoveAll (-want +got):\n%s", d)
	}
	c := s.Clone()
	c.Resources[0].Kind = "changed"
	if s.Resources[0].Kind == "changed" {
		t.Error("Clone shares resources")
	}
}

// FuzzDecode: state files come from disk and S3; damaged ones must give an error, never a panic,
// and whatever decodes must encode and decode to the same state.
func FuzzDecode(f *testing.F) {
	data, _ := sample().Encode()
	f.Add(data)
	f.Add([]byte(`{"version":1,"lineage":"x","resources":[null]}`))
	f.Add([]byte(`{"version":1,"lineage":"x","resources":[{"address":"a/b","kind":"S3","status":"created","spec":{"n":1e400}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Decode(data)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error not wrapping ErrCorrupt: %v", err)
			}
			return
		}
		again, err := s.Encode()
		if err != nil {
			return // values JSON cannot carry (they came from a hand-made checksum)
		}
		if _, err := Decode(again); err != nil {
			t.Fatalf("re-decoding an encoded state failed: %v", err)
		}
	})
}

// TestResourceCloneIsDeepAndKeepsNil: a clone shares no map or slice with the original, and a
// nil map stays nil (an empty one stays empty), so a clone encodes exactly like the original.
func TestResourceCloneIsDeepAndKeepsNil(t *testing.T) {
	r := &Resource{Address: "api/web", Kind: "SQS", Status: StatusCreated,
		Spec:    map[string]any{"env": map[string]any{"A": "x"}},
		Outputs: map[string]string{"arn": "a"}, Tags: map[string]string{}}
	c := r.Clone()
	if d := cmp.Diff(r, c); d != "" {
		t.Fatalf("clone differs (-original +clone):\n%s", d)
	}
	if c.Tags == nil || c.Dependencies != nil {
		t.Errorf("clone has Tags %#v and Dependencies %#v; want empty and nil as in the original", c.Tags, c.Dependencies)
	}
	c.Outputs["arn"] = "b"
	c.Tags["k"] = "v"
	c.Spec["env"].(map[string]any)["A"] = "y"
	if r.Outputs["arn"] != "a" || len(r.Tags) != 0 || r.Spec["env"].(map[string]any)["A"] != "x" {
		t.Errorf("changing the clone changed the original: %+v", r)
	}
	if c := (&Resource{Address: "a/b"}).Clone(); c.Outputs != nil || c.Tags != nil || c.Spec != nil {
		t.Errorf("clone of a resource without maps has maps: %+v", c)
	}
}
