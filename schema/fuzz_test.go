package schema

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// FuzzParseBytes feeds arbitrary bytes through Parse and Validate: they must never panic, and every
// diagnostic must carry a position inside the input.
func FuzzParseBytes(f *testing.F) {
	f.Add([]byte(prelude))
	f.Add([]byte(prelude + "---\n" + envStack))
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte("apiVersion: panka.io/v1\nkind: MicroService\nmetadata: {name: w, service: api}\nspec: {image: \"${x\"}\n"))
	examples, _ := filepath.Glob("../examples/*.yaml")
	more, _ := filepath.Glob("../examples/*/*.yaml")
	for _, p := range append(examples, more...) {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseBytes("fuzz.yaml", data)
		// YAML breaks lines at \n, \r\n and a lone \r.
		lines := bytes.Count(data, []byte("\n")) + bytes.Count(data, []byte("\r")) - bytes.Count(data, []byte("\r\n")) + 2
		check := func(ds Diagnostics) {
			for _, d := range ds {
				if d.Pos.File != "fuzz.yaml" || d.Pos.Line < 0 || d.Pos.Line > lines || d.Message == "" {
					t.Fatalf("diagnostic with a bad position or no message: %+v", d)
				}
			}
		}
		if err != nil {
			ds, ok := err.(Diagnostics)
			if !ok {
				t.Fatalf("ParseBytes returned %T, want Diagnostics", err)
			}
			check(ds)
		}
		check(Validate(cfg))
	})
}

// fuzzSettings has the shape of a settings file (strings, a bool, a nested block, a list).
type fuzzSettings struct {
	Backend string            `yaml:"backend"`
	Bucket  string            `yaml:"bucket" panka:"required"`
	Allow   bool              `yaml:"allowUnversioned"`
	Tags    map[string]string `yaml:"tags"`
	Nested  *struct {
		Size int `yaml:"size"`
	} `yaml:"nested"`
	List []string `yaml:"list"`
}

// FuzzDecodeFile feeds arbitrary bytes to DecodeFile (the settings file parser): never a panic,
// and every error is a Diagnostics positioned in the file.
func FuzzDecodeFile(f *testing.F) {
	f.Add([]byte("backend: s3\nbucket: b\nallowUnversioned: true\ntags: {a: b}\nnested: {size: 3}\nlist: [x]\n"))
	f.Add([]byte("buckte: x\n"))
	f.Add([]byte("---\na: 1\n---\nb: 2\n"))
	f.Add([]byte("a: &a [*a]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var s fuzzSettings
		_, err := DecodeFile("panka.yaml", data, &s)
		if err == nil {
			return
		}
		ds, ok := err.(Diagnostics)
		if !ok {
			t.Fatalf("DecodeFile returned %T, want Diagnostics", err)
		}
		for _, d := range ds {
			if d.Pos.File != "panka.yaml" || d.Message == "" {
				t.Fatalf("bad diagnostic %+v", d)
			}
		}
	})
}

// hostileSeeds are the inputs of untrusted_test.go (the large ones cut to a size that reaches the
// same limits and code paths) as seeds of the fuzz targets: FuzzParseBytes gets all of them,
// FuzzDecodeFile those marked settings.
func hostileSeeds() []struct {
	name     string
	data     string
	settings bool
} {
	return []struct {
		name     string
		data     string
		settings bool
	}{
		{"self-merge", selfMerge, true},
		{"self-alias", "a: &a [*a]\n", true},
		{"merge-fan-out", mergeFanOut(), true},
		{"billion-laughs", prelude + "---\n" + billionLaughs(), false},
		{"deep-flow", deepFlow(300), true},
		{"deep-block", strings.Repeat("- ", 300) + "x\n", true},
		{"deep-policy", prelude + "---\n" + deepPolicy(maxDepth-3), false},
		{"long-key", "{" + strings.Repeat("k", 1100) + ": [1, 2, 3]}\n", true},
		{"wide-mapping", wideStack(2_000), false},
		{"anchor-reused", "apiVersion: panka.io/v1\nkind: Stack\nmetadata: {name: s}\nspec:\n  provider: {name: aws, region: eu-west-1}\n  variables: {A: &x one, B: *x, C: &x two, D: *x}\n", false},
		{"alias-before-anchor", "a: *x\nb: &x 1\n", true},
		{"duplicate-keys", "backend: s3\nbucket: a\nbucket: b\n", true},
		{"byte-order-mark", "\ufeff" + prelude, false},
		{"byte-order-mark-settings", "\ufeffbucket: b\n", true},
		{"invalid-utf8", prelude + "---\napiVersion: panka.io/v1\nkind: S3\nmetadata: {name: \"bé\xff\", service: api}\n", false},
		{"invalid-utf8-settings", "bucket: \"\xff\"\n", true},
		{"utf16", "\xff\xfea\x00:\x00 \x00b\x00\n\x00", true},
		{"physical-name-collision", prelude + `---
apiVersion: panka.io/v1
kind: Service
metadata: {name: api-x}
---
apiVersion: panka.io/v1
kind: SQS
metadata: {name: x-q, service: api}
---
apiVersion: panka.io/v1
kind: SQS
metadata: {name: q, service: api-x}
`, false},
		{"directives-and-end-markers", "%YAML 1.2\n---\n" + prelude + "...\n%YAML 1.2\n# c\n---\na: 1\n...\nb: 2\n...\n---\nc: 3\n", true},
		{"lone-cr-stream", strings.ReplaceAll("%YAML 1.2\n---\n"+prelude+"---\napiVersion: panka.io/v1\nkind: SQS\nmetadata: {name: q, service: api}\n", "\n", "\r"), false},
		{"plaintext-secret-env", prelude + "---\napiVersion: panka.io/v1\nkind: Worker\nmetadata: {name: w, service: api}\nspec: {image: nginx, env: {DB_PASSWORD: hunter2}}\n", false},
	}
}

// TestHostileSeedsAreInTheCorpus keeps testdata/fuzz in step with hostileSeeds; run with -update
// to write the files.
func TestHostileSeedsAreInTheCorpus(t *testing.T) {
	for _, s := range hostileSeeds() {
		targets := []string{"FuzzParseBytes"}
		if s.settings {
			targets = append(targets, "FuzzDecodeFile")
		}
		for _, target := range targets {
			path := filepath.Join("testdata", "fuzz", target, "hostile-"+s.name)
			want := "go test fuzz v1\n[]byte(" + strconv.Quote(s.data) + ")\n"
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			got, err := os.ReadFile(path)
			if err != nil || string(got) != want {
				t.Errorf("%s is missing or out of date; run go test ./schema -run TestHostileSeedsAreInTheCorpus -update", path)
			}
		}
	}
}
