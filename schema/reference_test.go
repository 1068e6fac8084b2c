package schema

import (
	"flag"
	"os"
	"slices"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestReference keeps docs/reference.md in step with the schema.
func TestReference(t *testing.T) {
	const path = "../docs/reference.md"
	got := ReferenceMarkdown()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./schema -run TestReference -update)", err)
	}
	if string(want) != got {
		t.Errorf("%s is out of date; run go test ./schema -run TestReference -update and review the diff", path)
	}
}

func TestFields(t *testing.T) {
	fields := Fields("MicroService")
	byPath := map[string]Field{}
	for _, f := range fields {
		byPath[f.Path] = f
	}
	for path, want := range map[string]Field{
		"image":                         {Path: "image", Type: "string", Required: true},
		"cpu":                           {Path: "cpu", Type: "int", Default: "256"},
		"architecture":                  {Path: "architecture", Type: "string", Default: "X86_64", ForceNew: true},
		"secrets":                       {Path: "secrets", Type: "map of string", Secret: true},
		"ports[].protocol":              {Path: "ports[].protocol", Type: "string", Default: "tcp"},
		"loadBalancer.healthCheck.path": {Path: "loadBalancer.healthCheck.path", Type: "string", Default: "/"},
	} {
		if got := byPath[path]; got != want {
			t.Errorf("field %s = %+v, want %+v", path, got, want)
		}
	}
	if !slices.Contains(ForceNewFields("MicroService"), "architecture") {
		t.Errorf("ForceNewFields(MicroService) = %v, want architecture in it", ForceNewFields("MicroService"))
	}
}
