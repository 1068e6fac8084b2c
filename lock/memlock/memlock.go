// Package memlock provides a lock.Locker whose leases live in the memory of
// one process. It suits tests and programs that run every deployment from one
// process; it coordinates nothing across processes, and its locks vanish when
// the process exits.
package memlock

import (
	"context"
	"sync"
	"time"

	"github.com/panka/panka/lock"
	"github.com/panka/panka/lock/lease"
)

// Locker is an in-process lock.Locker. It is safe for concurrent use by
// multiple goroutines; every operation is atomic with respect to the others.
// Its zero value is not usable; call New.
type Locker struct {
	*lease.Locker // the lease semantics, over a map
}

var _ lock.Locker = (*Locker)(nil)

// Options configure a Locker. The zero value is ready to use.
type Options struct {
	// Now is the clock leases are computed with; nil means time.Now. Tests
	// inject a manual clock to move time past a lease's expiry. It must be
	// safe for concurrent use.
	Now func() time.Time
}

// New returns an empty Locker.
func New(opts Options) *Locker {
	return &Locker{lease.New(&store{m: make(map[string]lock.Info)}, lease.Options{Now: opts.Now})}
}

// store is a lease.Store in a map; one mutex makes every Update atomic.
type store struct {
	mu sync.Mutex
	m  map[string]lock.Info // guarded by mu
}

func (s *store) Update(ctx context.Context, key string, fn func(*lock.Info) (lease.Op, *lock.Info, error)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var cur *lock.Info
	if i, ok := s.m[key]; ok {
		cur = &i
	}
	op, next, err := fn(cur)
	if err != nil {
		return err
	}
	switch op {
	case lease.Put:
		s.m[key] = *next
	case lease.Delete:
		delete(s.m, key)
	}
	return nil
}
