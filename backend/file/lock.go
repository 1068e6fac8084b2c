package file

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"time"

	"github.com/gofrs/flock"
	"golang.org/x/sync/semaphore"
)

// Each key has a lock file, <env>.lock next to its document, locked with flock(2): exclusively
// around Write's compare-and-swap, shared around reads that must see the document and its
// history consistently. This is what makes Write atomic across processes.
//
// Inside one process a semaphore per lock file comes first. It makes waiting goroutines block
// instead of polling, and it keeps the guarantee where file locks are per process (flock on
// some network file systems is emulated with fcntl locks, which do not exclude two descriptors
// of the same process). The registry is process-wide so that several Backends on the same
// directory exclude each other too; it holds one small entry per key touched and never shrinks.

// lockPoll is how often a goroutine waiting for another process's lock retries. Locks are held
// for a few file system operations, so waits are short.
const lockPoll = 2 * time.Millisecond

// exclusiveWeight is the semaphore weight of an exclusive holder: more than any realistic number
// of concurrent readers, each of weight 1.
const exclusiveWeight = 1 << 20

var processLocks = struct {
	sync.Mutex
	m map[string]*semaphore.Weighted
}{m: make(map[string]*semaphore.Weighted)}

func processLock(path string) *semaphore.Weighted {
	processLocks.Lock()
	defer processLocks.Unlock()
	s, ok := processLocks.m[path]
	if !ok {
		s = semaphore.NewWeighted(exclusiveWeight)
		processLocks.m[path] = s
	}
	return s
}

// lockKey locks the key whose lock file is path, exclusively or shared, and returns the function
// that unlocks it. It gives up, returning ctx.Err(), when ctx is done first. A shared lock does
// not create the lock file: if it does not exist, no Write has ever started on the key, and only
// the in-process lock is taken.
func lockKey(ctx context.Context, path string, exclusive bool) (unlock func(), err error) {
	weight := int64(1)
	if exclusive {
		weight = exclusiveWeight
	}
	sem := processLock(path)
	if err := sem.Acquire(ctx, weight); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			sem.Release(weight)
		}
	}()

	var (
		fl *flock.Flock
		ok bool
	)
	if exclusive {
		fl = flock.New(path, flock.SetPermissions(0o600))
		ok, err = fl.TryLockContext(ctx, lockPoll)
	} else {
		fl = flock.New(path, flock.SetFlag(os.O_RDONLY))
		ok, err = fl.TryRLockContext(ctx, lockPoll)
		if errors.Is(err, fs.ErrNotExist) {
			return func() { sem.Release(weight) }, nil
		}
	}
	if err == nil && !ok {
		err = ctx.Err()
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() {
		// LOCK_UN fails only on a bad descriptor; there is nothing to do about it here.
		_ = fl.Unlock()
		sem.Release(weight)
	}, nil
}
