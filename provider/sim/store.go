package sim

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/panka/panka/internal/pathlock"
)

// store serialises access to the simulated cloud: memStore in memory, fileStore (filestore.go)
// in files that processes share. Both give every operation a consistent view: view sees the
// cloud as some update left it, and updates are atomic.
type store interface {
	// view runs fn on the cloud, which fn must only read.
	view(ctx context.Context, fn func(*cloud) error) error
	// update runs fn on the cloud, which fn may change; the change is kept (and, for a file,
	// durable) only if fn returns nil. fn must not change the cloud when it returns an error,
	// and returns errNoChange when it changed nothing.
	update(ctx context.Context, fn func(*cloud) error) error
}

// errNoChange tells a store that an update changed nothing, so there is nothing to write.
var errNoChange = errors.New("no change")

// memStore keeps the cloud in memory behind a read-write mutex. The mutex is held for map
// operations only, so it does not honour ctx while waiting.
type memStore struct {
	mu sync.RWMutex
	c  *cloud
}

func (s *memStore) view(_ context.Context, fn func(*cloud) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return fn(s.c)
}

func (s *memStore) update(_ context.Context, fn func(*cloud) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := fn(s.c); err != nil && !errors.Is(err, errNoChange) {
		return err
	}
	return nil
}

// Cross-process exclusion is flock(2) on the lock file. Inside one process a semaphore per lock
// file comes first: waiting goroutines block instead of polling the file lock, and several
// Providers on the same Path exclude each other even where file locks are per process.

// lockPath locks path exclusively or shared and returns the function that unlocks it.
func lockPath(ctx context.Context, path string, exclusive bool) (unlock func(), err error) {
	unlock, err = pathlock.Lock(ctx, path, exclusive)
	if err != nil && ctx.Err() == nil {
		err = fmt.Errorf("sim: %w", err)
	}
	return unlock, err
}
