package lease_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/panka/panka/lock"
	"github.com/panka/panka/lock/lease"
	"github.com/panka/panka/lock/locktest"
)

// TestConformanceCAS: a third-party compare-and-swap store, through FromCAS, passes the whole
// Locker conformance suite.
func TestConformanceCAS(t *testing.T) {
	locktest.Run(t, func(t *testing.T) lock.Locker {
		return lease.New(lease.FromCAS(newVersionedMap()), lease.Options{})
	})
}

func TestConformanceCASWithClock(t *testing.T) {
	locktest.RunWithClock(t, func(t *testing.T, now func() time.Time) lock.Locker {
		return lease.New(lease.FromCAS(newVersionedMap()), lease.Options{Now: now})
	})
}

// racingStore runs interfere once, between the first Load and the first CompareAndSwap, as
// another writer would.
type racingStore struct {
	*versionedMap
	interfere func()
	swaps     int
}

func (r *racingStore) CompareAndSwap(ctx context.Context, key, version string, next *lock.Info) (bool, error) {
	if f := r.interfere; f != nil {
		r.interfere = nil
		f()
	}
	r.swaps++
	return r.versionedMap.CompareAndSwap(ctx, key, version, next)
}

// TestFromCASLostRace: when another writer changes the record between Load and
// CompareAndSwap, the swap fails and the decision is taken again on the new record: bob, who
// found the key free, is told it is now held by carol, who got there first.
func TestFromCASLostRace(t *testing.T) {
	ctx := t.Context()
	m := newVersionedMap()
	other := lease.New(lease.FromCAS(m), lease.Options{})
	var carol *lock.Info
	racing := &racingStore{versionedMap: m, interfere: func() {
		var err error
		carol, err = other.Acquire(ctx, "a/b/c", lock.AcquireOptions{Owner: "carol", TTL: time.Minute})
		if err != nil {
			t.Errorf("carol's Acquire: %v", err)
		}
	}}
	bobs := lease.New(lease.FromCAS(racing), lease.Options{})

	_, err := bobs.Acquire(ctx, "a/b/c", lock.AcquireOptions{Owner: "bob", TTL: time.Minute})
	var held *lock.LockedError
	if !errors.As(err, &held) || carol == nil || held.Holder.ID != carol.ID {
		t.Fatalf("bob's Acquire after losing the race = %v, want ErrLocked naming carol's lease %+v", err, carol)
	}
	if got, err := bobs.Inspect(ctx, "a/b/c"); err != nil || got.ID != carol.ID {
		t.Fatalf("Inspect = %+v, %v; want carol's lease", got, err)
	}
	// Deciding to keep the record (Inspect, a refused Acquire) needs no write.
	if racing.swaps != 1 {
		t.Errorf("%d compare-and-swaps, want 1 (the one that lost)", racing.swaps)
	}
}

// casErrStore fails every CompareAndSwap.
type casErrStore struct{ *versionedMap }

func (casErrStore) CompareAndSwap(context.Context, string, string, *lock.Info) (bool, error) {
	return false, errors.New("connection reset")
}

// TestFromCASStoreError: a store failure fails the operation, is not mistaken for a held lock,
// and is not retried by Acquire's wait.
func TestFromCASStoreError(t *testing.T) {
	l := lease.New(lease.FromCAS(casErrStore{newVersionedMap()}), lease.Options{})
	start := time.Now()
	_, err := l.Acquire(t.Context(), "a/b/c", lock.AcquireOptions{Wait: time.Minute})
	if err == nil || errors.Is(err, lock.ErrLocked) || time.Since(start) > 10*time.Second {
		t.Fatalf("Acquire on a failing store = %v after %s; want the store's error at once", err, time.Since(start))
	}
}
