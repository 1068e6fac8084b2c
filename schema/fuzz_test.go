package schema

import (
	"bytes"
	"os"
	"path/filepath"
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
