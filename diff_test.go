package panka

import "testing"

func TestStripIndices(t *testing.T) {
	for in, want := range map[string]string{
		"a": "a", "ports[2].port": "ports[].port", "a[10][3].b[0]": "a[][].b[]", "x[]": "x[]", "m.k[": "m.k[",
	} {
		if got := stripIndices(in); got != want {
			t.Errorf("stripIndices(%q) = %q, want %q", in, got, want)
		}
	}
}
