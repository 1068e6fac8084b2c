package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestDidYouMean(t *testing.T) {
	candidates := []string{"api/jobs", "api/uploads", "api/web", "queueUrl"}
	for s, want := range map[string]string{
		"api/job":    "; did you mean api/jobs?",
		"api/wbe":    "; did you mean api/web?",
		"api/upload": "; did you mean api/uploads?",
		"queueurl":   "; did you mean queueUrl?",
		"db/main":    "",
		"":           "",
	} {
		if got := didYouMean(s, candidates); got != want {
			t.Errorf("didYouMean(%q) = %q, want %q", s, got, want)
		}
	}
}

// The first argument of `panka output` is an ADDR unless it names a file or directory.
func TestIsAddress(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := os.MkdirAll(filepath.Join("config", "prod"), 0o755); err != nil {
		t.Fatal(err)
	}
	for arg, want := range map[string]bool{
		"api/web":          true,
		"api/web.url":      true,
		"config/prod":      false, // a directory
		"config":           false,
		"stack.yaml":       false,
		"api/stack.yml":    false,
		"a/b/c":            false,
		"/abs":             false,
		".":                false,
		"api/":             false,
		"svc/comp.out.sub": true,
	} {
		if got := isAddress(arg); got != want {
			t.Errorf("isAddress(%q) = %v, want %v", arg, got, want)
		}
	}
}
