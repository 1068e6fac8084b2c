// Package examples_test keeps the example configurations valid: every example must parse and
// validate without a single diagnostic (warnings included) in each of its environments, and the
// platform example must use every component kind.
package examples_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/panka/panka"
	"github.com/panka/panka/schema"
)

// examples returns the example configurations in this directory: each *.yaml file and each
// directory (a config split over several files).
func examples(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, e := range entries {
		name := e.Name()
		switch {
		case strings.HasPrefix(name, "."), strings.HasPrefix(name, "_"):
		case e.IsDir(), filepath.Ext(name) == ".yaml", filepath.Ext(name) == ".yml":
			paths = append(paths, name)
		}
	}
	for _, want := range []string{"simple-stack.yaml", "platform", "serverless"} {
		if !slices.Contains(paths, want) {
			t.Errorf("example %s is missing", want)
		}
	}
	return paths
}

// parse reads the example at path, failing the test on any parse diagnostic.
func parse(t *testing.T, path string) *panka.Config {
	t.Helper()
	cfg, err := panka.Parse(context.Background(), path)
	if err != nil {
		t.Fatalf("parse %s:\n%v", path, err)
	}
	return cfg
}

func TestExamplesValidate(t *testing.T) {
	for _, path := range examples(t) {
		t.Run(path, func(t *testing.T) {
			// Every declared environment at once, then what depends on the tenant and the
			// environment, for each environment and two tenants.
			cfg := parse(t, path)
			if diags := panka.Lint(cfg); len(diags) > 0 {
				t.Fatalf("%s has %d diagnostics, want none:\n%v", path, len(diags), diags)
			}
			for _, env := range cfg.Environments() {
				for _, tenant := range []string{"", "acme"} {
					if err := panka.ValidateFor(cfg, tenant, env); err != nil {
						t.Errorf("%s (tenant %q, environment %q): %v", path, tenant, env, err)
					}
				}
			}
		})
	}
}

// TestPlatformUsesEveryKind makes the platform example a tour of every component kind: adding a
// kind to the schema without adding it to examples/platform fails here.
func TestPlatformUsesEveryKind(t *testing.T) {
	cfg := parse(t, "platform")
	used := map[string]int{}
	for _, c := range cfg.Components {
		used[c.Kind]++
	}
	for _, kind := range schema.ComponentKinds() {
		if used[kind] == 0 {
			t.Errorf("examples/platform has no %s component; add one (with a comment on what it is for)", kind)
		}
	}
	if envs := cfg.Environments(); len(envs) < 2 {
		t.Errorf("examples/platform declares environments %v; it should show several, with variable overrides", envs)
	}
}
