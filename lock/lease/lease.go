// Package lease is how to write a lock.Locker for a store of your own (Redis, etcd, Postgres, a
// SQL table, a key-value service): implement one conditional-update primitive on it, and New
// turns it into a lock.Locker with everything else — lock IDs, lease expiry and takeover,
// waiting with backoff (AcquireOptions.Wait), renew, release, force-unlock and inspect — done
// here, identically for every store. lock.StartHeartbeat then keeps its leases alive during a
// run. lock/memlock and lock/filelock are built this way; check yours with lock/locktest.
//
// # The primitive
//
// A store holds at most one record (a lock.Info) per key and offers one of:
//
//   - Store.Update: run a decision function while holding exclusive access to the key (a
//     mutex, flock(2), SELECT ... FOR UPDATE in a transaction), then apply its outcome: keep,
//     put or delete the record.
//   - CASStore, the shape of stores that compare and swap instead of locking: Load returns the
//     record with an opaque version; CompareAndSwap writes (or deletes) only if the version is
//     still that one. etcd (a Txn comparing ModRevision), Redis (WATCH/MULTI, or a script
//     comparing a version field), Postgres (UPDATE ... WHERE version = $1, INSERT ... ON
//     CONFLICT DO NOTHING) and DynamoDB (a ConditionExpression) all offer it. FromCAS turns a
//     CASStore into a Store: it loads, decides and swaps, and when it loses a race to another
//     writer it loads and decides again.
//
// # What the store must promise
//
//   - Atomicity per key: the outcome is applied only if the record is still the one the
//     decision was made on, with respect to every other caller of the same store — goroutines,
//     processes and machines, as far as the store is shared. Different keys are independent.
//   - Fidelity: a record reads back exactly as it was written, every field, times to the
//     nanosecond (encoding lock.Info as JSON does this; a timestamp column that rounds does not).
//   - Context: honour ctx while waiting (for exclusive access, the network, a retry), returning
//     an error that wraps ctx.Err().
//   - Errors: return the decision function's error as it is (errors.Is and errors.As must still
//     find a *lock.LockedError in it), and the store's own failures as errors of their own.
//
// # What Panka guarantees in turn
//
// Acquire takes a free or expired key with a fresh random lock ID (a UUID); a live lease makes
// it fail with a *lock.LockedError naming the holder, or wait with jittered exponential backoff
// (see Retry) up to AcquireOptions.Wait. Renew, Release and ForceUnlock act only on the lease
// whose ID they name. Expiry is judged by comparing the record's Expires with the Locker's clock
// (Options.Now): processes sharing a store must keep their clocks in sync (NTP), since one whose
// clock runs ahead by d takes over leases d early. A Locker is safe for concurrent use if its
// Store is; a decision function may be called more than once per operation (FromCAS does so
// after a lost race), only the outcome that was applied counts, and it has no other effect.
//
// # Failures
//
// A store error fails the operation, wrapped with the operation and key; Acquire does not retry
// it (only lock.ErrLocked is waited out), and lock.StartHeartbeat retries a failed renewal
// until the lease would expire. A holder that crashes blocks the key for at most one TTL. A
// write whose outcome is unknown (a timeout after the store applied it) is resolved by the next
// operation: a Renew or Release retried with the same lease finds its own lock ID, or a free
// key; only an Acquire lost that way leaves a lease nobody knows, which expires one TTL later.
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

// Store holds at most one lease record per key; see the package documentation for what a
// store must promise.
type Store interface {
	// Update calls fn with the current record for key (nil if none) and then applies fn's Op,
	// atomically: with respect to every other Update on the same store — across goroutines
	// and, where the store is shared, across processes — the Op is applied only to the record
	// fn saw. If fn returns an error, nothing changes and Update returns that error as it is.
	// Update may call fn more than once (e.g. after losing a race) and applies the outcome of
	// the last call only. fn must not retain cur. Update honours ctx while it waits.
	Update(ctx context.Context, key string, fn func(cur *lock.Info) (Op, *lock.Info, error)) error
}

// Options configure a Locker. The zero value is ready to use.
type Options struct {
	// Now is the clock leases are computed with; nil means time.Now. Tests inject a manual
	// clock to move time past a lease's expiry. It must be safe for concurrent use.
	Now func() time.Time
}

// Locker implements lock.Locker on a Store. It is safe for concurrent use if
// the Store is.
type Locker struct {
	store Store
	now   func() time.Time
}

var _ lock.Locker = (*Locker)(nil)

// New returns a Locker on store.
func New(store Store, opts Options) *Locker {
	now := opts.Now
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
