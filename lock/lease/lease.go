// Package lease implements the lease semantics of lock.Locker once, on top of
// any Store that can update one record atomically. lock/memlock and lock/filelock
// are such Stores; they differ only in where the record lives and how the
// read-modify-write is made atomic, so they cannot differ in behaviour.
package lease

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/panka/panka/lock"
)

// Op says what Store.Update does with the record after fn returns.
type Op int

const (
	Keep   Op = iota // leave the record as it was
	Put              // store the returned record
	Delete           // remove the record
)

// Store holds at most one lease record per key.
type Store interface {
	// Update calls fn with the current record for key (nil if none) while
	// holding exclusive access to that key against every other Update on the
	// same store — across goroutines and, where the store is shared, across
	// processes — and then applies fn's Op. If fn returns an error, nothing
	// changes and Update returns that error unwrapped. fn must not retain
	// cur. Update honours ctx while waiting for exclusive access.
	Update(ctx context.Context, key string, fn func(cur *lock.Info) (Op, *lock.Info, error)) error
}

// Locker implements lock.Locker on a Store. It is safe for concurrent use if
// the Store is.
type Locker struct {
	store Store
	now   func() time.Time
}

// New returns a Locker on store that reads time from now (time.Now if nil).
func New(store Store, now func() time.Time) *Locker {
	if now == nil {
		now = time.Now
	}
	return &Locker{store: store, now: now}
}

// timestamp returns the current time in UTC without a monotonic reading, so
// it survives a JSON round trip unchanged.
func (l *Locker) timestamp() time.Time { return l.now().UTC().Round(0) }

// Acquire implements lock.Locker.
func (l *Locker) Acquire(ctx context.Context, key string, opts lock.AcquireOptions) (*lock.Info, error) {
	if err := lock.ValidateKey(key); err != nil {
		return nil, fmt.Errorf("acquire lock: %w", err)
	}
	ttl := lock.TTLOrDefault(opts.TTL)
	info, err := Retry(ctx, opts.Wait, func(ctx context.Context) (*lock.Info, error) {
		var got *lock.Info
		err := l.store.Update(ctx, key, func(cur *lock.Info) (Op, *lock.Info, error) {
			now := l.timestamp()
			if cur != nil && now.Before(cur.Expires) {
				return Keep, nil, &lock.LockedError{Holder: *cur}
			}
			got = &lock.Info{
				ID:        uuid.NewString(),
				Key:       key,
				Owner:     opts.Owner,
				Operation: opts.Operation,
				Version:   opts.Version,
				Created:   now,
				Expires:   now.Add(ttl),
			}
			return Put, got, nil
		})
		return got, err
	})
	if err != nil {
		return nil, fmt.Errorf("acquire lock %s: %w", key, err)
	}
	return copyInfo(info), nil
}

// Renew implements lock.Locker.
func (l *Locker) Renew(ctx context.Context, lease *lock.Info, ttl time.Duration) (*lock.Info, error) {
	if lease == nil {
		return nil, fmt.Errorf("renew lock: nil lease")
	}
	if err := lock.ValidateKey(lease.Key); err != nil {
		return nil, fmt.Errorf("renew lock: %w", err)
	}
	ttl = lock.TTLOrDefault(ttl)
	var renewed *lock.Info
	err := l.store.Update(ctx, lease.Key, func(cur *lock.Info) (Op, *lock.Info, error) {
		switch {
		case cur == nil:
			return Keep, nil, fmt.Errorf("%w: lock ID %s no longer holds it (it is free: force-unlocked or released)", lock.ErrLockLost, lease.ID)
		case cur.ID != lease.ID:
			return Keep, nil, fmt.Errorf("%w: lock ID %s no longer holds it; lock ID %s (%s, %s) has held it since %s",
				lock.ErrLockLost, lease.ID, cur.ID, cur.Owner, cur.Operation, cur.Created.Format(time.RFC3339))
		}
		renewed = copyInfo(cur)
		renewed.Expires = l.timestamp().Add(ttl)
		return Put, renewed, nil
	})
	if err != nil {
		return nil, fmt.Errorf("renew lock %s: %w", lease.Key, err)
	}
	return copyInfo(renewed), nil
}

// Release implements lock.Locker.
func (l *Locker) Release(ctx context.Context, lease *lock.Info) error {
	if lease == nil {
		return fmt.Errorf("release lock: nil lease")
	}
	if err := lock.ValidateKey(lease.Key); err != nil {
		return fmt.Errorf("release lock: %w", err)
	}
	err := l.store.Update(ctx, lease.Key, func(cur *lock.Info) (Op, *lock.Info, error) {
		switch {
		case cur == nil:
			return Keep, nil, nil
		case cur.ID != lease.ID:
			return Keep, nil, &lock.NotOwnerError{ID: lease.ID, Holder: *cur}
		}
		return Delete, nil, nil
	})
	if err != nil {
		return fmt.Errorf("release lock %s: %w", lease.Key, err)
	}
	return nil
}

// Inspect implements lock.Locker.
func (l *Locker) Inspect(ctx context.Context, key string) (*lock.Info, error) {
	if err := lock.ValidateKey(key); err != nil {
		return nil, fmt.Errorf("inspect lock: %w", err)
	}
	var holder *lock.Info
	err := l.store.Update(ctx, key, func(cur *lock.Info) (Op, *lock.Info, error) {
		if cur == nil {
			return Keep, nil, lock.ErrNotLocked
		}
		holder = copyInfo(cur)
		return Keep, nil, nil
	})
	if err != nil {
		return nil, fmt.Errorf("inspect lock %s: %w", key, err)
	}
	return holder, nil
}

// ForceUnlock implements lock.Locker.
func (l *Locker) ForceUnlock(ctx context.Context, key, id string) error {
	if err := lock.ValidateKey(key); err != nil {
		return fmt.Errorf("force-unlock: %w", err)
	}
	err := l.store.Update(ctx, key, func(cur *lock.Info) (Op, *lock.Info, error) {
		switch {
		case cur == nil:
			return Keep, nil, lock.ErrNotLocked
		case cur.ID != id:
			return Keep, nil, &lock.NotOwnerError{ID: id, Holder: *cur}
		}
		return Delete, nil, nil
	})
	if err != nil {
		return fmt.Errorf("force-unlock %s: %w", key, err)
	}
	return nil
}

func copyInfo(i *lock.Info) *lock.Info {
	cp := *i
	return &cp
}
