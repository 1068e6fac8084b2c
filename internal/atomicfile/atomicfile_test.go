package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
)

// recordSyncs makes fsync record the names of the files it syncs, for the rest of the test.
func recordSyncs(t *testing.T) *[]string {
	t.Helper()
	var synced []string
	orig := fsync
	fsync = func(f *os.File) error {
		synced = append(synced, f.Name())
		return orig(f)
	}
	t.Cleanup(func() { fsync = orig })
	return &synced
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestWriteFileCreatesAndReplaces(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	for _, content := range []string{"first", "second, longer than the first", ""} {
		if err := WriteFile(path, []byte(content), Options{}); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != content {
			t.Fatalf("after WriteFile(%q) the file holds %q, %v", content, got, err)
		}
		if names := dirNames(t, dir); !slices.Equal(names, []string{"state.json"}) {
			t.Fatalf("directory holds %v, want only state.json (no temporary file left)", names)
		}
	}
	if runtime.GOOS != "windows" {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if mode := fi.Mode().Perm(); mode != 0o600 {
			t.Errorf("mode %v, want 0600", mode)
		}
	}
}

// TestWriteFileSyncsFileThenDirectory: the data is synced before the rename, and the directory
// after it, so that neither an empty file nor the old name can come back after a crash.
func TestWriteFileSyncsFileThenDirectory(t *testing.T) {
	synced := recordSyncs(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "lease.json")
	if err := WriteFile(path, []byte("x"), Options{}); err != nil {
		t.Fatal(err)
	}
	want := []string{"temporary file"}
	if runtime.GOOS != "windows" {
		want = append(want, "directory")
	}
	var got []string
	for _, name := range *synced {
		switch {
		case filepath.Clean(name) == filepath.Clean(dir):
			got = append(got, "directory")
		case filepath.Dir(name) == dir:
			if m, _ := filepath.Match(TempGlob(path), name); !m {
				t.Errorf("synced %s, which TempGlob(%s) does not match", name, path)
			}
			got = append(got, "temporary file")
		default:
			got = append(got, name)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("synced %v, want %v in that order", got, want)
	}

	*synced = nil
	if err := WriteFile(path, []byte("y"), Options{NoSync: true}); err != nil {
		t.Fatal(err)
	}
	if len(*synced) != 0 {
		t.Errorf("NoSync synced %v", *synced)
	}
}

// TestWriteFileFailureLeavesDestination: a write that fails before the rename removes its
// temporary file and leaves the destination as it was.
func TestWriteFileFailureLeavesDestination(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "plan.json")
	if err := WriteFile(path, []byte("old"), Options{}); err != nil {
		t.Fatal(err)
	}
	orig := fsync
	fsync = func(*os.File) error { return errors.New("disk on fire") }
	t.Cleanup(func() { fsync = orig })
	if err := WriteFile(path, []byte("new"), Options{}); err == nil {
		t.Fatal("WriteFile succeeded although the sync failed")
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != "old" {
		t.Errorf("after a failed write the file holds %q, %v; want the old content", got, err)
	}
	if names := dirNames(t, dir); !slices.Equal(names, []string{"plan.json"}) {
		t.Errorf("directory holds %v, want only plan.json", names)
	}

	// A directory that does not exist: nothing is created.
	if err := WriteFile(filepath.Join(dir, "missing", "x.json"), []byte("x"), Options{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("WriteFile into a missing directory = %v, want ErrNotExist", err)
	}
}

func TestTempGlob(t *testing.T) {
	path := filepath.Join("a", "b", "cloud.json")
	for name, want := range map[string]bool{
		filepath.Join("a", "b", ".cloud.json.tmp-123"): true,
		filepath.Join("a", "b", "cloud.json"):          false,
		filepath.Join("a", "b", ".other.json.tmp-123"): false,
		filepath.Join("a", ".cloud.json.tmp-123"):      false,
	} {
		if got, err := filepath.Match(TempGlob(path), name); err != nil || got != want {
			t.Errorf("Match(TempGlob(%s), %s) = %v, %v; want %v", path, name, got, err, want)
		}
	}
}

func TestCreateOnlyIfAbsent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "slot")
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = Create(path, []byte{byte('a' + i)}, Options{}) })
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("Creates %d and %d both succeeded", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, fs.ErrExist):
			t.Fatalf("Create %d: %v, want success or fs.ErrExist", i, err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil || winner < 0 || string(data) != string(rune('a'+winner)) {
		t.Fatalf("file holds %q (%v), winner %d", data, err, winner)
	}
	if tmps, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*tmp-*")); len(tmps) != 0 {
		t.Errorf("temporary files left: %v", tmps)
	}
}
