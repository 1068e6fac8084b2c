// Package filelock provides the embedded default lock.Locker: leases are small
// JSON files in one directory (the CLI uses .panka/locks), and every process
// on the machine that opens a Locker on the same directory sees the same
// locks.
//
// For the key "tenant/stack/env" the directory holds:
//
//	tenant.stack.env.lock.json  the lease, present while the key is held
//	tenant.stack.env.flock      empty; flock(2) on it serialises updates
//
// Every operation takes the .flock exclusively, reads the lease, decides, and
// replaces the lease with internal/atomicfile (a temporary file, fsynced and
// renamed over the old one, then the directory fsynced) or removes it, then
// unlocks. So operations on one key are
// atomic across goroutines and processes, and a reader never sees a partly
// written lease. The flock is held only for that read-modify-write, never
// for the life of the lease: a process that dies holding a lease leaves its
// .lock.json behind, and the first Acquire after the lease's Expires takes it
// over. A .flock file is created by the first operation on its key (even
// Inspect) and never deleted: deleting one that another process has open
// would let two processes lock different files.
//
// The directory must be on a local file system with working flock(2); a
// network file system shared by several machines needs lock/dynamolock.
package filelock

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/panka/panka/lock"
	"github.com/panka/panka/lock/lease"

	"github.com/panka/panka/internal/atomicfile"
	"github.com/panka/panka/internal/pathlock"
)

// Locker is a lock.Locker backed by files in a directory. It is safe for
// concurrent use by multiple goroutines and by multiple processes.
type Locker struct {
	*lease.Locker // the lease semantics, over the files of store
	dir           string
}

var _ lock.Locker = (*Locker)(nil)

// Options configure a Locker. The zero value is ready to use.
type Options struct {
	// Now is the clock leases are computed with; nil means time.Now. Tests
	// inject a manual clock to move time past a lease's expiry. Leases store
	// absolute times, so every process sharing the directory should agree on
	// the clock. It must be safe for concurrent use.
	Now func() time.Time
}

// New returns a Locker that keeps its leases in dir, creating dir if needed.
func New(dir string, opts Options) (*Locker, error) {
	if dir == "" {
		return nil, errors.New("file locker: empty directory")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("file locker: %w", err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("file locker: %w", err)
	}
	return &Locker{Locker: lease.New(&store{dir: abs}, lease.Options{Now: opts.Now}), dir: abs}, nil
}

// Dir returns the absolute path of the directory holding the leases.
func (f *Locker) Dir() string { return f.dir }

// store is a lease.Store of one JSON file per key. lease.Locker has already
// validated every key, so a key maps to a file name by replacing "/" with
// ".", which never occurs in a valid key: distinct keys get distinct names.
type store struct {
	dir string
}

func (s *store) Update(ctx context.Context, key string, fn func(*lock.Info) (lease.Op, *lock.Info, error)) error {
	base := filepath.Join(s.dir, strings.ReplaceAll(key, "/", "."))
	leasePath := base + ".lock.json"

	unlock, err := lockFile(ctx, base+".flock")
	if err != nil {
		return err
	}
	defer unlock()

	cur, err := readLease(leasePath)
	if err != nil {
		return err
	}
	op, next, err := fn(cur)
	if err != nil {
		return err
	}
	switch op {
	case lease.Put:
		return writeLease(leasePath, next)
	case lease.Delete:
		if err := os.Remove(leasePath); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove lease: %w", err)
		}
	}
	return nil
}

// lockFile locks path exclusively, against this process's goroutines and other processes.
func lockFile(ctx context.Context, path string) (unlock func(), err error) {
	unlock, err = pathlock.Lock(ctx, path, true)
	if err != nil {
		return nil, fmt.Errorf("wait for %s: %w", path, err)
	}
	return unlock, nil
}

func readLease(path string) (*lock.Info, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read lease: %w", err)
	}
	var info lock.Info
	if err := json.Unmarshal(data, &info); err != nil || info.ID == "" {
		if err == nil {
			err = errors.New("no lock ID")
		}
		return nil, fmt.Errorf("lease file %s is corrupt (%v); if no run holds this lock, delete the file", path, err)
	}
	return &info, nil
}

// writeLease replaces path with info atomically: readers see the old lease
// or the new one, and after a crash the file is whole.
func writeLease(path string, info *lock.Info) error {
	data, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return fmt.Errorf("encode lease: %w", err)
	}
	if err := atomicfile.WriteFile(path, append(data, '\n'), atomicfile.Options{}); err != nil {
		return fmt.Errorf("write lease: %w", err)
	}
	return nil
}
