// Package pathlock locks a file path against other goroutines and other processes: first a
// per-path semaphore inside the process (waiters block instead of polling, and the guarantee holds
// where file locks are per process), then flock(2) on the file. The file backend, the file locker
// and the simulated cloud use it for their read-modify-write cycles.
//
// Paths are compared after filepath.Abs, so two spellings of one file share a semaphore. The
// registry holds one small entry per path ever locked and never shrinks.
package pathlock

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/gofrs/flock"
	"golang.org/x/sync/semaphore"
)

// poll is how often a goroutine waiting for another process's lock retries; locks are held for a
// few file system operations, so waits are short.
const poll = 2 * time.Millisecond

// exclusiveWeight is the semaphore weight of an exclusive holder: more than any realistic number
// of concurrent shared holders, each of weight 1.
const exclusiveWeight = 1 << 20

var registry = struct {
	sync.Mutex
	m map[string]*semaphore.Weighted
}{m: make(map[string]*semaphore.Weighted)}

func semaphoreOf(path string) *semaphore.Weighted {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	registry.Lock()
	defer registry.Unlock()
	s, ok := registry.m[path]
	if !ok {
		s = semaphore.NewWeighted(exclusiveWeight)
		registry.m[path] = s
	}
	return s
}

// Lock locks path exclusively (creating the file, mode 0600, if needed) or shared, and returns
// the function that unlocks it. A shared lock does not create the file: if it does not exist,
// nothing was ever locked exclusively there, and only the in-process lock is taken. Lock gives up
// with ctx's error when ctx is done first.
func Lock(ctx context.Context, path string, exclusive bool) (unlock func(), err error) {
	weight := int64(1)
	if exclusive {
		weight = exclusiveWeight
	}
	sem := semaphoreOf(path)
	if err := sem.Acquire(ctx, weight); err != nil {
		return nil, err
	}
	var (
		fl *flock.Flock
		ok bool
	)
	if exclusive {
		fl = flock.New(path, flock.SetPermissions(0o600))
		ok, err = fl.TryLockContext(ctx, poll)
	} else {
		fl = flock.New(path, flock.SetFlag(os.O_RDONLY))
		ok, err = fl.TryRLockContext(ctx, poll)
		if errors.Is(err, fs.ErrNotExist) {
			return func() { sem.Release(weight) }, nil
		}
	}
	if err == nil && !ok {
		err = ctx.Err()
	}
	if err != nil {
		sem.Release(weight)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() {
		_ = fl.Close() // unlocks; the kernel drops the lock with the descriptor anyway
		sem.Release(weight)
	}, nil
}
