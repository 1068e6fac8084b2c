package backend_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/panka/panka/backend"
)

func TestKeyValidate(t *testing.T) {
	tests := []struct {
		key     backend.Key
		wantErr string // substring; "" means valid
	}{
		{backend.Key{Tenant: "team-a", Stack: "web", Environment: "prod"}, ""},
		{backend.Key{Tenant: "a", Stack: "0", Environment: "a-0"}, ""},
		{backend.Key{Tenant: strings.Repeat("x", 63), Stack: "s", Environment: "e"}, ""},
		{backend.Key{Tenant: "", Stack: "web", Environment: "prod"}, "tenant name is empty"},
		{backend.Key{Tenant: "team-a", Stack: "", Environment: "prod"}, "stack name is empty"},
		{backend.Key{Tenant: "team-a", Stack: "web", Environment: ""}, "environment name is empty"},
		{backend.Key{Tenant: "Team-A", Stack: "web", Environment: "prod"}, `tenant "Team-A" contains uppercase 'T'; names are lowercase`},
		{backend.Key{Tenant: "team-a", Stack: "a/b", Environment: "prod"}, `stack "a/b" contains '/'`},
		{backend.Key{Tenant: "team-a", Stack: "web", Environment: ".."}, `environment ".." contains '.'`},
		{backend.Key{Tenant: "team_a", Stack: "web", Environment: "prod"}, `tenant "team_a" contains '_'; only a-z, 0-9 and '-' are allowed`},
		{backend.Key{Tenant: "-team", Stack: "web", Environment: "prod"}, `tenant "-team" must start and end with a letter or digit`},
		{backend.Key{Tenant: "team", Stack: "web-", Environment: "prod"}, `stack "web-" must start and end with a letter or digit`},
		{backend.Key{Tenant: strings.Repeat("x", 64), Stack: "s", Environment: "e"}, "is 64 bytes long; the maximum is 63"},
	}
	for _, tc := range tests {
		err := tc.key.Validate()
		if tc.wantErr == "" {
			if err != nil {
				t.Errorf("%q.Validate() = %v, want nil", tc.key, err)
			}
			continue
		}
		if !errors.Is(err, backend.ErrInvalidKey) || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%q.Validate() = %v, want ErrInvalidKey saying %q", tc.key, err, tc.wantErr)
		}
	}
}

func TestParseKey(t *testing.T) {
	k, err := backend.ParseKey("team-a/web/prod")
	want := backend.Key{Tenant: "team-a", Stack: "web", Environment: "prod"}
	if err != nil || k != want {
		t.Fatalf(`ParseKey("team-a/web/prod") = %v, %v; want %v`, k, err, want)
	}
	if k.String() != "team-a/web/prod" {
		t.Errorf("String() = %q", k.String())
	}
	for _, s := range []string{"", "team-a", "team-a/web", "team-a/web/prod/x", "team-a//prod", "/web/prod", "team-a/web/prod/", "team-a/../prod", "Team/web/prod"} {
		if k, err := backend.ParseKey(s); !errors.Is(err, backend.ErrInvalidKey) {
			t.Errorf("ParseKey(%q) = %v, %v; want ErrInvalidKey", s, k, err)
		}
	}
}

func TestParsePrefix(t *testing.T) {
	tests := []struct {
		in   string
		want backend.Prefix
	}{
		{"", backend.Prefix{}},
		{"team-a", backend.Prefix{Tenant: "team-a"}},
		{"team-a/web", backend.Prefix{Tenant: "team-a", Stack: "web"}},
		{"team-a/web/prod", backend.Prefix{Tenant: "team-a", Stack: "web", Environment: "prod"}},
	}
	for _, tc := range tests {
		got, err := backend.ParsePrefix(tc.in)
		if err != nil {
			t.Errorf("ParsePrefix(%q): %v", tc.in, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("ParsePrefix(%q) mismatch (-want +got):\n%s", tc.in, diff)
		}
		if got.String() != tc.in {
			t.Errorf("ParsePrefix(%q).String() = %q", tc.in, got.String())
		}
	}
	for _, s := range []string{"/", "team-a/", "team-a//web", "a/b/c/d", "..", "Team"} {
		if _, err := backend.ParsePrefix(s); !errors.Is(err, backend.ErrInvalidKey) {
			t.Errorf("ParsePrefix(%q): got error %v, want ErrInvalidKey", s, err)
		}
	}

	k := backend.Key{Tenant: "team-a", Stack: "web", Environment: "prod"}
	for prefix, want := range map[string]bool{
		"": true, "team-a": true, "team-a/web": true, "team-a/web/prod": true,
		"team": false, "team-b": false, "team-a/we": false, "team-a/web/pro": false, "team-a/api": false,
	} {
		p, err := backend.ParsePrefix(prefix)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Match(k); got != want {
			t.Errorf("ParsePrefix(%q).Match(%s) = %v, want %v", prefix, k, got, want)
		}
	}
}

func TestKeyCompare(t *testing.T) {
	keys := []backend.Key{
		{Tenant: "b", Stack: "a", Environment: "a"},
		{Tenant: "a-b", Stack: "a", Environment: "a"},
		{Tenant: "a", Stack: "b", Environment: "a"},
		{Tenant: "a", Stack: "a", Environment: "b"},
		{Tenant: "a", Stack: "a", Environment: "a"},
	}
	slices.SortFunc(keys, backend.Key.Compare)
	var got []string
	for _, k := range keys {
		got = append(got, k.String())
	}
	// Name by name, not by the joined string, in which "a-b/" sorts before "a/".
	want := []string{"a/a/a", "a/a/b", "a/b/a", "a-b/a/a", "b/a/a"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("sorted keys mismatch (-want +got):\n%s", diff)
	}
}

func TestConflictErrorMessage(t *testing.T) {
	k := backend.Key{Tenant: "team-a", Stack: "web", Environment: "prod"}
	tests := []struct {
		err  backend.ConflictError
		want []string
	}{
		{backend.ConflictError{Key: k, Expected: "3-aa", Actual: "4-bb"}, []string{"team-a/web/prod changed since it was read", "3-aa", "4-bb", "re-run plan"}},
		{backend.ConflictError{Key: k, Expected: "", Actual: "1-aa"}, []string{"team-a/web/prod already exists", "1-aa", "re-run plan"}},
		{backend.ConflictError{Key: k, Expected: "1-aa", Actual: ""}, []string{"team-a/web/prod no longer exists", "1-aa", "re-run plan"}},
	}
	for _, tc := range tests {
		var err error = &tc.err
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%#v.Error() = %q, want it to contain %q", tc.err, err.Error(), w)
			}
		}
	}
}
