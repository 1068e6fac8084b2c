package filestate_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/gofrs/flock"

	"github.com/panka/panka/backend"
	"github.com/panka/panka/backend/backendtest"
	"github.com/panka/panka/backend/filestate"
)

// Environment of the helper processes TestCrossProcessNoLostUpdate starts: the test binary
// re-executed, running incrementHelper instead of the tests.
const (
	helperDirEnv   = "PANKA_FILE_BACKEND_HELPER_DIR"
	helperCountEnv = "PANKA_FILE_BACKEND_HELPER_INCREMENTS"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(helperDirEnv); dir != "" {
		os.Exit(incrementHelper(dir))
	}
	os.Exit(m.Run())
}

var key = backend.Key{Tenant: "team-a", Stack: "web", Environment: "prod"}

func newBackend(t *testing.T, dir string) *filestate.Backend {
	t.Helper()
	b, err := filestate.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// newBackendNoSync is newBackend without fsync, for the tests that make hundreds of writes:
// syncing cannot change what they observe, and on a busy shared disk it can make them take
// minutes. The other tests in this file exercise the syncing code.
func newBackendNoSync(t *testing.T, dir string) *filestate.Backend {
	b := newBackend(t, dir)
	b.NoSync()
	return b
}

func TestConformance(t *testing.T) {
	backendtest.Run(t, func(t *testing.T) backend.StateBackend {
		return newBackendNoSync(t, t.TempDir())
	})
}

// Two Backends on one directory behave as one: each call goes to the next of them in turn.
func TestConformanceTwoBackendsOneDirectory(t *testing.T) {
	backendtest.Run(t, func(t *testing.T) backend.StateBackend {
		dir := t.TempDir()
		return backendtest.Alternating(newBackendNoSync(t, dir), newBackendNoSync(t, dir))
	})
}

// Four processes race read-modify-write increments on one key: the lock file, not anything in
// one process's memory, must make every increment count.
func TestCrossProcessNoLostUpdate(t *testing.T) {
	const procs, increments = 4, 25
	dir := t.TempDir()
	b := newBackend(t, dir)
	if _, err := b.Write(t.Context(), key, []byte("0"), ""); err != nil {
		t.Fatal(err)
	}

	type proc struct {
		cmd    *exec.Cmd
		start  io.WriteCloser
		out    *bufio.Reader
		stderr bytes.Buffer
	}
	ps := make([]*proc, procs)
	for i := range ps {
		p := &proc{cmd: exec.CommandContext(t.Context(), os.Args[0], "-test.run=^$")}
		p.cmd.Env = append(os.Environ(), helperDirEnv+"="+dir, helperCountEnv+"="+strconv.Itoa(increments))
		p.cmd.Stderr = &p.stderr
		stdout, err := p.cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		p.out = bufio.NewReader(stdout)
		if p.start, err = p.cmd.StdinPipe(); err != nil {
			t.Fatal(err)
		}
		if err := p.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		ps[i] = p
	}
	// Each helper says when it is ready, then waits for its stdin to close: all of them start
	// incrementing together.
	for i, p := range ps {
		if line, err := p.out.ReadString('\n'); line != "ready\n" {
			t.Fatalf("helper %d said %q, %v; want ready\nstderr:\n%s", i, line, err, p.stderr.String())
		}
	}
	for _, p := range ps {
		p.start.Close()
	}
	retries := 0
	for i, p := range ps {
		out, _ := io.ReadAll(p.out)
		if err := p.cmd.Wait(); err != nil {
			t.Fatalf("helper %d: %v\nstderr:\n%s", i, err, p.stderr.String())
		}
		n, err := strconv.Atoi(strings.TrimSpace(string(out)))
		if err != nil {
			t.Fatalf("helper %d printed %q, want its retry count", i, out)
		}
		retries += n
	}
	t.Logf("%d processes made %d increments with %d retries after conflicts", procs, procs*increments, retries)
	backendtest.CheckCounter(t, b, key, procs*increments)
}

func incrementHelper(dir string) int {
	n, err := strconv.Atoi(os.Getenv(helperCountEnv))
	var b *filestate.Backend
	if err == nil {
		b, err = filestate.New(dir)
	}
	if err == nil {
		b.NoSync()
		fmt.Println("ready")
		_, err = io.Copy(io.Discard, os.Stdin) // returns when the parent closes stdin: go
	}
	retries := 0
	for i := 0; err == nil && i < n; i++ {
		var r int
		r, err = backendtest.Increment(context.Background(), b, key)
		retries += r
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(retries)
	return 0
}

func TestLayout(t *testing.T) {
	dir := t.TempDir()
	b := newBackend(t, dir)
	v1, err := b.Write(t.Context(), key, []byte("one"), "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Write(t.Context(), key, []byte(`{"two":2}`), v1); err != nil {
		t.Fatal(err)
	}

	stackDir := filepath.Join(dir, "team-a", "web")
	if got, err := os.ReadFile(filepath.Join(stackDir, "prod.json")); err != nil || string(got) != `{"two":2}` {
		t.Errorf("prod.json = %q, %v; want the current document byte for byte", got, err)
	}
	idPattern := regexp.MustCompile(`^\d{10}-\d{8}T\d{6}\.\d{3}Z\.json$`)
	entries, err := os.ReadDir(filepath.Join(stackDir, "prod.history"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
		if !idPattern.MatchString(e.Name()) {
			t.Errorf("history file %q does not match %s", e.Name(), idPattern)
		}
	}
	if len(names) != 2 || !strings.HasPrefix(names[0], "0000000001-") || !strings.HasPrefix(names[1], "0000000002-") {
		t.Errorf("history files = %q, want revisions 0000000001-… and 0000000002-…", names)
	}

	// Nothing else: no temporary files left behind; directories 0700, files 0600.
	var all []string
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		all = append(all, rel)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		want := fs.FileMode(0o600)
		if d.IsDir() {
			want = fs.ModeDir | 0o700
		}
		if path != dir && fi.Mode() != want {
			t.Errorf("%s has mode %v, want %v", rel, fi.Mode(), want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{".", "team-a", "team-a/web", "team-a/web/prod.history", "team-a/web/prod.history/" + names[0],
		"team-a/web/prod.history/" + names[1], "team-a/web/prod.json", "team-a/web/prod.lock"}
	if strings.Join(all, "\n") != strings.Join(want, "\n") {
		t.Errorf("files under the state directory:\n%s\nwant:\n%s", strings.Join(all, "\n"), strings.Join(want, "\n"))
	}
}

// corrupt writes two revisions, then applies damage to the current document's filestate.
func corrupt(t *testing.T, damage func(path string) error) (b *filestate.Backend, path string) {
	t.Helper()
	dir := t.TempDir()
	b = newBackend(t, dir)
	v, err := b.Write(t.Context(), key, []byte(`{"serial":1}`), "")
	if err == nil {
		_, err = b.Write(t.Context(), key, []byte(`{"serial":2,"resources":[]}`), v)
	}
	if err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(dir, "team-a", "web", "prod.json")
	if err := damage(path); err != nil {
		t.Fatal(err)
	}
	return b, path
}

func TestCorruptCurrentDocument(t *testing.T) {
	tests := []struct {
		name   string
		damage func(path string) error
	}{
		{"truncated", func(path string) error { return os.Truncate(path, 7) }},
		{"emptied", func(path string) error { return os.Truncate(path, 0) }},
		{"edited", func(path string) error { return os.WriteFile(path, []byte(`{"serial":2,"resources":[1]}`), 0o600) }},
		{"deleted", os.Remove},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, path := corrupt(t, tc.damage)
			ctx := t.Context()

			_, _, readErr := b.Read(ctx, key)
			if !errors.Is(readErr, backend.ErrCorrupt) || !strings.Contains(readErr.Error(), path) {
				t.Fatalf("Read: got error %v, want ErrCorrupt naming %s", readErr, path)
			}
			t.Logf("Read: %v", readErr)
			before, _ := os.ReadFile(path)
			if _, err := b.Write(ctx, key, []byte("over it"), ""); !errors.Is(err, backend.ErrCorrupt) {
				t.Errorf("Write over a corrupt document: got error %v, want ErrCorrupt", err)
			}
			if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
				t.Errorf("Write changed the corrupt document from %q to %q", before, after)
			}

			// History still lists the revisions, none of them current, so one can be restored.
			h, err := b.History(ctx, key)
			if err != nil {
				t.Fatalf("History of a corrupt key: %v", err)
			}
			if len(h) != 2 || h[0].Current || h[1].Current {
				t.Fatalf("History = %+v, want 2 revisions, none current", h)
			}

			// The remedy the error names works.
			newest := filepath.Join(filepath.Dir(path), "prod.history", h[0].ID+".json")
			if !strings.Contains(readErr.Error(), newest) {
				t.Errorf("error %q does not name the revision file %s to restore from", readErr, newest)
			}
			data, err := os.ReadFile(newest)
			if err == nil {
				err = os.WriteFile(path, data, 0o600)
			}
			if err != nil {
				t.Fatal(err)
			}
			got, v, err := b.Read(ctx, key)
			if err != nil || string(got) != `{"serial":2,"resources":[]}` || v != h[0].Version {
				t.Errorf("Read after restoring = %q, %q, %v; want revision 2", got, v, err)
			}
		})
	}
}

// A crash after Write stored its revision (the commit point) but before it replaced the current
// document leaves the current document one revision behind, or missing for a first write.
func TestInterruptedWriteRollsForward(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	b := newBackend(t, dir)
	path := filepath.Join(dir, "team-a", "web", "prod.json")

	v1, err := b.Write(ctx, key, []byte("one"), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path); err != nil { // as if the first write crashed
		t.Fatal(err)
	}
	if got, v, err := b.Read(ctx, key); err != nil || string(got) != "one" || v != v1 {
		t.Fatalf("Read after an interrupted first write = %q, %q, %v; want %q, %q", got, v, err, "one", v1)
	}
	if keys, err := b.List(ctx, ""); err != nil || len(keys) != 1 || keys[0] != key {
		t.Errorf("List after an interrupted first write = %v, %v; want [%s]", keys, err, key)
	}

	v2, err := b.Write(ctx, key, []byte("two"), v1)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("one"), 0o600); err != nil { // as if the second write crashed
		t.Fatal(err)
	}
	if got, v, err := b.Read(ctx, key); err != nil || string(got) != "two" || v != v2 {
		t.Fatalf("Read after an interrupted write = %q, %q, %v; want %q, %q", got, v, err, "two", v2)
	}
	if h, err := b.History(ctx, key); err != nil || len(h) != 2 || !h[0].Current {
		t.Errorf("History after an interrupted write = %+v, %v; want 2 revisions, the newest current", h, err)
	}
	if _, err := b.Write(ctx, key, []byte("three"), v2); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(path); err != nil || string(got) != "three" {
		t.Errorf("current document after the next write = %q, %v; want it repaired to %q", got, err, "three")
	}
}

// A document copied into the directory by hand, with no history, is readable and writable.
func TestHandPlacedDocument(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	b := newBackend(t, dir)
	if err := os.MkdirAll(filepath.Join(dir, "team-a", "web"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "team-a", "web", "prod.json"), []byte("imported"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, v, err := b.Read(ctx, key)
	if err != nil || string(got) != "imported" || v == "" {
		t.Fatalf("Read = %q, %q, %v; want the imported document", got, v, err)
	}
	if _, err := b.Write(ctx, key, []byte("new"), ""); err == nil {
		t.Error(`Write with ifMatch "" over an imported document succeeded`)
	}
	if _, err := b.Write(ctx, key, []byte("new"), v); err != nil {
		t.Fatal(err)
	}
	if h, err := b.History(ctx, key); err != nil || len(h) != 1 || !h[0].Current {
		t.Errorf("History = %+v, %v; want the one revision written", h, err)
	}
}

// Files that are not what the layout says give errors or are ignored, never a panic.
func TestStrayFiles(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	b := newBackend(t, dir)
	if _, err := b.Write(ctx, key, []byte("ok"), ""); err != nil {
		t.Fatal(err)
	}
	stackDir := filepath.Join(dir, "team-a", "web")
	for _, p := range []string{
		filepath.Join(dir, "README"),
		filepath.Join(dir, "Team-B", "web", "prod.json"),
		filepath.Join(stackDir, "notes.txt"),
		filepath.Join(stackDir, "Prod.json"),
		filepath.Join(stackDir, ".prod.json.tmp-123"),
		filepath.Join(stackDir, "prod.history", "garbage.json"),
		filepath.Join(stackDir, "prod.history", "0000000099-bad.json"),
		filepath.Join(stackDir, "prod.history", ".0000000099-20260102T150405.123Z.json.tmp-1"),
	} {
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("junk"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// An environment whose current document is a directory.
	if err := os.MkdirAll(filepath.Join(stackDir, "dev.json"), 0o700); err != nil {
		t.Fatal(err)
	}

	keys, err := b.List(ctx, "")
	if err != nil || len(keys) != 1 || keys[0] != key {
		t.Errorf("List = %v, %v; want only %s", keys, err, key)
	}
	if got, _, err := b.Read(ctx, key); err != nil || string(got) != "ok" {
		t.Errorf("Read = %q, %v; want %q", got, err, "ok")
	}
	if h, err := b.History(ctx, key); err != nil || len(h) != 1 {
		t.Errorf("History = %+v, %v; want the one real revision", h, err)
	}
	dev := backend.Key{Tenant: "team-a", Stack: "web", Environment: "dev"}
	devPath := filepath.Join(stackDir, "dev.json")
	if _, _, err := b.Read(ctx, dev); err == nil || !strings.Contains(err.Error(), devPath) {
		t.Errorf("Read of a key whose document is a directory: got error %v, want one naming %s", err, devPath)
	}
	if _, err := b.Write(ctx, dev, []byte("x"), ""); err == nil || !strings.Contains(err.Error(), devPath) {
		t.Errorf("Write of a key whose document is a directory: got error %v, want one naming %s", err, devPath)
	}
}

// A Write waiting for another process's lock gives up when its context is canceled, and
// proceeds once the lock is released.
func TestWriteWaitsForLockFile(t *testing.T) {
	dir := t.TempDir()
	b := newBackend(t, dir)
	v, err := b.Write(t.Context(), key, []byte("one"), "")
	if err != nil {
		t.Fatal(err)
	}
	// Another descriptor's flock excludes this process as another process's would.
	other := flock.New(filepath.Join(dir, "team-a", "web", "prod.lock"))
	if err := other.Lock(); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() {
		_, err := b.Write(ctx, key, []byte("two"), v)
		done <- err
	}()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Write while the lock is held elsewhere, then canceled: got error %v, want context.Canceled", err)
	}

	go func() {
		_, err := b.Write(t.Context(), key, []byte("two"), v)
		done <- err
	}()
	if err := other.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Write after the lock was released: %v", err)
	}
	if got, _, err := b.Read(t.Context(), key); err != nil || string(got) != "two" {
		t.Errorf("Read = %q, %v; want %q", got, err, "two")
	}
}

func TestNewErrors(t *testing.T) {
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := filestate.New(notDir); err == nil || !strings.Contains(err.Error(), notDir) {
		t.Errorf("New on a regular file: got error %v, want one naming %s", err, notDir)
	}
	if _, err := filestate.New(filepath.Join(notDir, "sub")); err == nil {
		t.Error("New below a regular file succeeded")
	}
}

// TestRestoreOverDamagedDocument: a write naming the newest revision replaces a document damaged
// outside Panka (a restore), keeping the damaged file aside; one naming anything else does not.
func TestRestoreOverDamagedDocument(t *testing.T) {
	b, path := corrupt(t, func(path string) error { return os.WriteFile(path, []byte("garbage"), 0o600) })
	ctx := t.Context()
	h, err := b.History(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Write(ctx, key, []byte("stale"), h[1].Version); !errors.Is(err, backend.ErrCorrupt) {
		t.Fatalf("Write naming an older revision: %v, want ErrCorrupt", err)
	}
	if _, err := b.Write(ctx, key, []byte(`{"restored":true}`), h[0].Version); err != nil {
		t.Fatalf("Write naming the newest revision: %v", err)
	}
	got, _, err := b.Read(ctx, key)
	if err != nil || string(got) != `{"restored":true}` {
		t.Fatalf("Read after the restore = %q, %v", got, err)
	}
	aside, _ := filepath.Glob(path + ".damaged-*")
	if len(aside) != 1 {
		t.Fatalf("damaged copies kept aside: %v, want one", aside)
	}
	if data, _ := os.ReadFile(aside[0]); string(data) != "garbage" {
		t.Errorf("the damaged copy holds %q", data)
	}
}
