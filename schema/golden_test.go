package schema

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestGoldenDiagnostics pins the exact output, positions and wording of the diagnostics for the
// configs in testdata/golden: each NAME.yaml is a complete config (one Stack) with several
// mistakes, and NAME.golden holds its diagnostics, one per line, as `panka validate` prints them.
// After changing a message or a check, run
//
//	go test ./schema -run TestGoldenDiagnostics -update
//
// and review the diff of the .golden files line by line: each must point at the offending token
// and say what is wrong and how to fix it.
func TestGoldenDiagnostics(t *testing.T) {
	inputs, err := filepath.Glob("testdata/golden/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(inputs) == 0 {
		t.Fatal("no testdata/golden/*.yaml inputs")
	}
	for _, input := range inputs {
		name := strings.TrimSuffix(filepath.Base(input), ".yaml")
		t.Run(name, func(t *testing.T) {
			got := goldenDiagnostics(t, filepath.ToSlash(input))
			path := strings.TrimSuffix(input, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./schema -run TestGoldenDiagnostics -update and review the new file)", err)
			}
			if diff := cmp.Diff(strings.Split(string(want), "\n"), strings.Split(got, "\n")); diff != "" {
				t.Errorf("diagnostics of %s differ from %s (-want +got):\n%s\nIf the change is intended, run go test ./schema -run TestGoldenDiagnostics -update and review the diff.",
					input, path, diff)
			}
		})
	}
}

// goldenDiagnostics parses the file at path (named path in positions) and, if it parsed, validates
// it for every environment its stack declares, returning the diagnostics one per line.
func goldenDiagnostics(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ParseBytes(path, data)
	var diags Diagnostics
	if err != nil {
		if !errors.As(err, &diags) {
			t.Fatalf("ParseBytes(%s) returned %T, want Diagnostics: %v", path, err, err)
		}
	} else {
		diags = Validate(cfg)
	}
	var b strings.Builder
	for _, d := range diags {
		b.WriteString(d.String())
		b.WriteByte('\n')
	}
	return b.String()
}
