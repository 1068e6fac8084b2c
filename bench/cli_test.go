//go:build linux

package main

import (
	"runtime"
	"strings"
	"testing"
)

// TestParseRunFinished reads the line the CLI logs at the end of an apply or destroy.
func TestParseRunFinished(t *testing.T) {
	stderr := "14:01:31 INF lock acquired key=default/d/default id=x operation=apply\n" +
		"14:01:32 INF run finished key=default/d/default serial=6 state_writes=6 state_revisions=3 state_bytes=11112726\n"
	got, err := parseRunFinished(stderr)
	if err != nil {
		t.Fatal(err)
	}
	if want := (runStats{Writes: 6, Revisions: 3, Bytes: 11112726}); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if _, err := parseRunFinished("14:01:31 INF lock acquired\n"); err == nil {
		t.Error("no run finished line: no error")
	}
}

// TestCLICase runs measurement 5's apply, no-change plan and destroy through a freshly built CLI
// on 100-component configs of each shape, and checks that every figure was read.
func TestCLICase(t *testing.T) {
	o, err := newCLIOptions("100", strings.Join(shapeNames(), ","), 1, "", "")
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	tl, err := buildTools(t.Context(), root, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range o.shapes {
		t.Run(s.name, func(t *testing.T) {
			got, err := runCase(t.Context(), o, tl, root, cliCase{s, 100}, 1)
			if err != nil {
				t.Fatal(err)
			}
			for _, cmd := range cliCommands {
				f := got[cmd]
				if f.Wall <= 0 || f.CPU <= 0 || f.MaxRSS < 1<<20 {
					t.Errorf("%s: wall %s, CPU %s, max RSS %d B", cmd, f.Wall, f.CPU, f.MaxRSS)
				}
			}
			apply, destroy := got[cmdApply], got[cmdDestroy]
			if apply.StateBefore != 0 || apply.StateAfter == 0 || destroy.StateBefore != apply.StateAfter {
				t.Errorf("state sizes: apply %d → %d, destroy %d → %d", apply.StateBefore, apply.StateAfter, destroy.StateBefore, destroy.StateAfter)
			}
			for cmd, f := range map[string]cliSample{cmdApply: apply, cmdDestroy: destroy} {
				if f.Revisions < 1 || f.Writes < f.Revisions || f.RevisionBytes <= 0 || f.Bytes < f.RevisionBytes {
					t.Errorf("%s: %+v, revisions on disk %d B", cmd, f.runStats, f.RevisionBytes)
				}
			}
		})
	}
}

// TestTofuConfig checks the OpenTofu twin of a config: a terraform_data per component, with its
// dependencies.
func TestTofuConfig(t *testing.T) {
	layers := shapes[1]
	tf, err := tofuConfig(layers.config(100))
	if err != nil {
		t.Fatal(err)
	}
	text := string(tf)
	if n := strings.Count(text, `resource "terraform_data"`); n != 100 {
		t.Errorf("%d resources, want 100", n)
	}
	if n := strings.Count(text, "depends_on"); n != 90 {
		t.Errorf("%d with depends_on, want 90 (every layer but the first)", n)
	}
	want := "resource \"terraform_data\" \"l01i000\" {\n  input = { kind = \"SQS\", name = \"l01i000\" }\n  depends_on = [terraform_data.l00i000, terraform_data.l00i005]\n}\n"
	if !strings.Contains(text, want) {
		t.Errorf("no\n%s\nin\n%.600s", want, text)
	}
	if _, err := tofuConfig(shapes[3].config(1000)); err == nil {
		t.Error("mixed, 10 services: no error")
	}
}

// TestSpawnPeakIsTheChilds checks that a measured command's peak RSS is its own, not this
// process's: with 64 MB resident here, /bin/true must still report a few megabytes.
func TestSpawnPeakIsTheChilds(t *testing.T) {
	tl, err := buildTools(t.Context(), t.TempDir(), "/bin/true")
	if err != nil {
		t.Fatal(err)
	}
	ballast := make([]byte, 64<<20)
	for i := range ballast {
		ballast[i] = 1
	}
	p, err := tl.run(t.Context(), "", nil, "/bin/true")
	if err != nil {
		t.Fatal(err)
	}
	if p.MaxRSS == 0 || p.MaxRSS > 32<<20 {
		t.Errorf("/bin/true: max RSS %d B, with %d B resident in the bench", p.MaxRSS, len(ballast))
	}
	if _, err := tl.run(t.Context(), "", nil, "/bin/false"); err == nil {
		t.Error("/bin/false: no error")
	}
	runtime.KeepAlive(ballast)
}
