package locktest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/panka/panka/lock"
)

// Clock is a manual clock for Lockers that accept an injected time source
// (memlock.Options.Now, filelock.Options.Now, dynamolock.Options.Now). It is safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a Clock reading start.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now returns the clock's current time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// RunWithClock checks a Locker's expiry arithmetic exactly and without
// waiting, against a manual clock. newLocker must return a Locker on fresh
// storage that reads the time from now. Implementations that can take a
// clock run it in addition to Run.
func RunWithClock(t *testing.T, newLocker func(t *testing.T, now func() time.Time) lock.Locker) {
	start := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	const ttl = 10 * time.Second

	t.Run("ExpiresExactlyAtTTL", func(t *testing.T) {
		ctx := testContext(t)
		clock := NewClock(start)
		l := newLocker(t, clock.Now)
		o := opts("alice@laptop", "apply")
		o.TTL = ttl
		info := mustAcquire(t, l, key, o)
		if !info.Created.Equal(start) || !info.Expires.Equal(start.Add(ttl)) {
			t.Fatalf("lease %s..%s, want %s..%s", info.Created, info.Expires, start, start.Add(ttl))
		}

		clock.Advance(ttl - time.Nanosecond)
		_, err := l.Acquire(ctx, key, opts("bob@ci", "apply"))
		requireLockedBy(t, err, info.ID)

		clock.Advance(time.Nanosecond)
		got, err := l.Inspect(ctx, key)
		noErr(t, err, "Inspect of an expired lease")
		if got.ID != info.ID || got.Expires.After(clock.Now()) {
			t.Fatalf("Inspect = %+v, want the expired lease %s", got, info.ID)
		}
		taken := mustAcquire(t, l, key, opts("bob@ci", "apply"))
		if !taken.Created.Equal(clock.Now()) {
			t.Errorf("taken over with Created %s, want %s", taken.Created, clock.Now())
		}
		_, err = l.Renew(ctx, info, ttl)
		errIs(t, err, lock.ErrLockLost, "Renew of the taken-over lease")
	})

	t.Run("RenewCountsFromNow", func(t *testing.T) {
		ctx := testContext(t)
		clock := NewClock(start)
		l := newLocker(t, clock.Now)
		o := opts("alice@laptop", "apply")
		o.TTL = ttl
		info := mustAcquire(t, l, key, o)

		clock.Advance(ttl + time.Hour) // long expired, but nobody took it
		renewed, err := l.Renew(ctx, info, 2*ttl)
		noErr(t, err, "Renew")
		if want := clock.Now().Add(2 * ttl); !renewed.Expires.Equal(want) {
			t.Errorf("renewed Expires = %s, want %s", renewed.Expires, want)
		}
		if !renewed.Created.Equal(start) {
			t.Errorf("Renew changed Created to %s", renewed.Created)
		}
		clock.Advance(2*ttl - time.Nanosecond)
		_, err = l.Acquire(ctx, key, opts("bob@ci", "apply"))
		requireLockedBy(t, err, info.ID)
	})

	t.Run("ExpiredLeaseStillOwnedUntilTaken", func(t *testing.T) {
		ctx := testContext(t)
		clock := NewClock(start)
		l := newLocker(t, clock.Now)
		o := opts("alice@laptop", "apply")
		o.TTL = ttl
		info := mustAcquire(t, l, key, o)
		clock.Advance(2 * ttl)

		// An expired lease is not ErrLocked for others, but it is still
		// the holder for Release and ForceUnlock until someone takes it.
		impostor := *info
		impostor.ID = "someone-else"
		requireNotOwner(t, l.Release(ctx, &impostor), info.ID)
		err := l.ForceUnlock(ctx, key, "someone-else")
		requireNotOwner(t, err, info.ID)
		noErr(t, l.Release(ctx, info), "Release of one's own expired lease")
		requireFree(t, l, key)
		if err := l.ForceUnlock(ctx, key, info.ID); !errors.Is(err, lock.ErrNotLocked) {
			t.Fatalf("ForceUnlock of a free key = %v, want ErrNotLocked", err)
		}
	})

	t.Run("WaitIsRealTime", func(t *testing.T) {
		// Wait is measured on the real clock: a frozen clock never frees
		// the lock, and Acquire still gives up after Wait.
		clock := NewClock(start)
		l := newLocker(t, clock.Now)
		info := mustAcquire(t, l, key, opts("alice@laptop", "apply"))
		o := opts("bob@ci", "apply")
		o.Wait = 50 * time.Millisecond
		_, err := l.Acquire(testContext(t), key, o)
		requireLockedBy(t, err, info.ID)
	})
}
