package filelock_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/panka/panka/lock"
	"github.com/panka/panka/lock/filelock"
	"github.com/panka/panka/lock/locktest"
)

func newLocker(t *testing.T, dir string) *filelock.Locker {
	t.Helper()
	return newLockerWith(t, dir, filelock.Options{})
}

func newLockerWith(t *testing.T, dir string, opts filelock.Options) *filelock.Locker {
	t.Helper()
	l, err := filelock.New(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestConformance(t *testing.T) {
	locktest.Run(t, func(t *testing.T) lock.Locker { return newLocker(t, t.TempDir()) })
}

func TestConformanceWithClock(t *testing.T) {
	locktest.RunWithClock(t, func(t *testing.T, now func() time.Time) lock.Locker {
		return newLockerWith(t, t.TempDir(), filelock.Options{Now: now})
	})
}

// TestTwoLockersOneDirectory: Lockers on the same directory share their
// leases, as separate processes do.
func TestTwoLockersOneDirectory(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	a, b := newLocker(t, dir), newLocker(t, filepath.Join(dir, ".", ""))
	info, err := a.Acquire(ctx, "acme/web/prod", lock.AcquireOptions{Owner: "alice@laptop", TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Acquire(ctx, "acme/web/prod", lock.AcquireOptions{Owner: "bob@ci"}); !errors.Is(err, lock.ErrLocked) {
		t.Fatalf("second Locker's Acquire = %v, want ErrLocked", err)
	}
	if got, err := b.Inspect(ctx, "acme/web/prod"); err != nil || got.ID != info.ID {
		t.Fatalf("second Locker's Inspect = %+v, %v; want lock ID %s", got, err, info.ID)
	}
	if err := b.ForceUnlock(ctx, "acme/web/prod", info.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Renew(ctx, info, time.Minute); !errors.Is(err, lock.ErrLockLost) {
		t.Fatalf("Renew after the other Locker's force-unlock = %v, want ErrLockLost", err)
	}
}

func TestLayout(t *testing.T) {
	dir := filepath.Join(t.TempDir(), ".panka", "locks")
	l := newLocker(t, dir)
	info, err := l.Acquire(t.Context(), "acme/web/prod", lock.AcquireOptions{Owner: "alice@laptop", Operation: "apply"})
	if err != nil {
		t.Fatal(err)
	}

	data, err := os.ReadFile(filepath.Join(dir, "acme.web.prod.lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	var onDisk lock.Info
	if err := json.Unmarshal(data, &onDisk); err != nil {
		t.Fatalf("lease file is not JSON: %v\n%s", err, data)
	}
	if diff := cmp.Diff(*info, onDisk); diff != "" {
		t.Errorf("lease file differs from the lease (-lease +file):\n%s", diff)
	}
	if got, want := dirNames(t, dir), []string{"acme.web.prod.flock", "acme.web.prod.lock.json"}; !cmp.Equal(got, want) {
		t.Errorf("directory holds %v, want %v (no temporary files left)", got, want)
	}

	if err := l.Release(t.Context(), info); err != nil {
		t.Fatal(err)
	}
	if got, want := dirNames(t, dir), []string{"acme.web.prod.flock"}; !cmp.Equal(got, want) {
		t.Errorf("after Release the directory holds %v, want %v", got, want)
	}
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

func TestCorruptLeaseFile(t *testing.T) {
	dir := t.TempDir()
	l := newLocker(t, dir)
	path := filepath.Join(dir, "acme.web.prod.lock.json")
	for _, content := range []string{"", "{not json", `{"owner":"x"}`} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := l.Acquire(t.Context(), "acme/web/prod", lock.AcquireOptions{})
		if err == nil || errors.Is(err, lock.ErrLocked) || !strings.Contains(err.Error(), "corrupt") ||
			!strings.Contains(err.Error(), path) {
			t.Errorf("Acquire over lease file %q: err = %v, want a corruption error naming the file", content, err)
		}
		if _, err := l.Inspect(t.Context(), "acme/web/prod"); err == nil || errors.Is(err, lock.ErrNotLocked) {
			t.Errorf("Inspect over lease file %q: err = %v, want a corruption error", content, err)
		}
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Acquire(t.Context(), "acme/web/prod", lock.AcquireOptions{}); err != nil {
		t.Fatalf("Acquire after removing the corrupt file: %v", err)
	}
}

func TestNew(t *testing.T) {
	if _, err := filelock.New("", filelock.Options{}); err == nil {
		t.Error(`New("") succeeded`)
	}
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := filelock.New(notDir, filelock.Options{}); err == nil {
		t.Error("New on a regular file succeeded")
	}
	nested := filepath.Join(t.TempDir(), "a", "b")
	l := newLocker(t, nested)
	if l.Dir() != nested {
		t.Errorf("Dir() = %q, want %q", l.Dir(), nested)
	}
	if fi, err := os.Stat(nested); err != nil || !fi.IsDir() {
		t.Errorf("New did not create %s: %v", nested, err)
	}
}
