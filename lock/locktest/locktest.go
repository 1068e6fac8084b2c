// Package locktest is the conformance suite for lock.Locker implementations.
// An implementation is done when Run passes against it:
//
//	func TestConformance(t *testing.T) {
//		locktest.Run(t, func(t *testing.T) lock.Locker { return memory.New() })
//	}
//
// The suite uses the real clock. Leases that must stay live get a TTL of a
// minute; leases that must expire get TTLs of at most a few hundred
// milliseconds, and the suite waits for their expiry by bounded polling, never
// by assuming how long something takes. The whole suite runs in a few seconds.
package locktest

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/panka/panka/lock"
)

const (
	// liveTTL is long enough that a lease never expires during a test.
	liveTTL = time.Minute
	// shortTTL is for leases a test waits to see expire.
	shortTTL = 100 * time.Millisecond
	// heartbeatTTL is short enough that a lease outlives several TTLs
	// within a second, and long enough that a renewal every TTL/3 keeps it
	// alive on a loaded machine.
	heartbeatTTL = 300 * time.Millisecond
	// patience bounds every wait for something that should happen.
	patience = 10 * time.Second
	// quiet is how long a test watches for something that must not
	// happen before it moves on (e.g. an Acquire returning while the lock
	// is still held).
	quiet = 100 * time.Millisecond
)

// Run runs the conformance suite. newLocker is called once per subtest and
// must return a Locker on fresh, empty storage (no key is locked); it should
// register any cleanup with t.Cleanup.
func Run(t *testing.T, newLocker func(t *testing.T) lock.Locker) {
	tests := []struct {
		name string
		fn   func(t *testing.T, l lock.Locker)
	}{
		{"AcquireFree", testAcquireFree},
		{"AcquireHeldFailsFast", testAcquireHeldFailsFast},
		{"AcquireWaitsForRelease", testAcquireWaitsForRelease},
		{"AcquireWaitTimesOut", testAcquireWaitTimesOut},
		{"AcquireContextCanceled", testAcquireContextCanceled},
		{"ExpiredLeaseTakenOver", testExpiredLeaseTakenOver},
		{"RenewExtends", testRenewExtends},
		{"RenewExpiredButNotTaken", testRenewExpiredButNotTaken},
		{"ReleaseByNonOwnerRefused", testReleaseByNonOwnerRefused},
		{"ReleaseIdempotent", testReleaseIdempotent},
		{"Inspect", testInspect},
		{"ForceUnlock", testForceUnlock},
		{"KeysIndependent", testKeysIndependent},
		{"InvalidKeys", testInvalidKeys},
		{"ConcurrentAcquireOneWinner", testConcurrentAcquireOneWinner},
		{"MutualExclusionUnderChurn", testMutualExclusionUnderChurn},
		{"HeartbeatKeepsLeaseAlive", testHeartbeatKeepsLeaseAlive},
		{"HeartbeatReportsLost", testHeartbeatReportsLost},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newLocker(t))
		})
	}
}

const key = "tenant/stack/env"

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func opts(owner, operation string) lock.AcquireOptions {
	return lock.AcquireOptions{Owner: owner, Operation: operation, Version: "v0.0.0-test", TTL: liveTTL}
}

func mustAcquire(t *testing.T, l lock.Locker, key string, o lock.AcquireOptions) *lock.Info {
	t.Helper()
	info, err := l.Acquire(testContext(t), key, o)
	require.NoError(t, err, "Acquire(%q)", key)
	require.NotNil(t, info)
	return info
}

// requireHolder fails unless key is held by the lease with ID id.
func requireHolder(t *testing.T, l lock.Locker, key, id string) {
	t.Helper()
	got, err := l.Inspect(testContext(t), key)
	require.NoError(t, err, "Inspect(%q)", key)
	require.Equal(t, id, got.ID, "Inspect(%q): wrong holder", key)
}

func requireFree(t *testing.T, l lock.Locker, key string) {
	t.Helper()
	got, err := l.Inspect(testContext(t), key)
	require.ErrorIs(t, err, lock.ErrNotLocked, "Inspect(%q) = %+v", key, got)
}

// requireLockedBy fails unless err reports key as held by the lease with ID id.
func requireLockedBy(t *testing.T, err error, id string) {
	t.Helper()
	require.ErrorIs(t, err, lock.ErrLocked)
	var le *lock.LockedError
	require.ErrorAs(t, err, &le)
	require.Equal(t, id, le.Holder.ID, "LockedError names the wrong holder")
}

func requireNotOwner(t *testing.T, err error, holderID string) {
	t.Helper()
	require.ErrorIs(t, err, lock.ErrNotOwner)
	var ne *lock.NotOwnerError
	require.ErrorAs(t, err, &ne)
	require.Equal(t, holderID, ne.Holder.ID, "NotOwnerError names the wrong holder")
}

type result struct {
	info *lock.Info
	err  error
}

// acquireAsync starts Acquire in a goroutine and returns its result channel.
func acquireAsync(ctx context.Context, l lock.Locker, key string, o lock.AcquireOptions) <-chan result {
	ch := make(chan result, 1)
	go func() {
		info, err := l.Acquire(ctx, key, o)
		ch <- result{info, err}
	}()
	return ch
}

// requireStillWaiting fails if ch delivers within the quiet period.
func requireStillWaiting(t *testing.T, ch <-chan result) {
	t.Helper()
	select {
	case r := <-ch:
		t.Fatalf("Acquire returned while the lock was held: %+v, %v", r.info, r.err)
	case <-time.After(quiet):
	}
}

func receive(t *testing.T, ch <-chan result) result {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(patience):
		t.Fatalf("Acquire did not return within %s", patience)
		return result{}
	}
}

// waitExpired polls Inspect until key's lease reports an Expires in the
// past, as Inspect promises for expired leases.
func waitExpired(t *testing.T, l lock.Locker, key string) *lock.Info {
	t.Helper()
	deadline := time.Now().Add(patience)
	for {
		info, err := l.Inspect(testContext(t), key)
		require.NoError(t, err, "Inspect(%q) while waiting for expiry", key)
		if info.Expires.Before(time.Now()) {
			return info
		}
		require.True(t, time.Now().Before(deadline), "lease %+v did not expire within %s", info, patience)
		time.Sleep(10 * time.Millisecond) // poll interval
	}
}

func testAcquireFree(t *testing.T, l lock.Locker) {
	ctx := testContext(t)
	before := time.Now()
	info, err := l.Acquire(ctx, key, lock.AcquireOptions{
		Owner: "alice@laptop", Operation: "apply", Version: "v1.2.3", TTL: liveTTL,
	})
	require.NoError(t, err)
	_, err = uuid.Parse(info.ID)
	require.NoError(t, err, "lock ID %q is not a UUID", info.ID)
	require.Equal(t, key, info.Key)
	require.Equal(t, "alice@laptop", info.Owner)
	require.Equal(t, "apply", info.Operation)
	require.Equal(t, "v1.2.3", info.Version)
	require.WithinDuration(t, before, info.Created, 5*time.Second, "Created")
	require.WithinDuration(t, info.Created.Add(liveTTL), info.Expires, time.Second, "Expires should be Created+TTL")

	// A zero TTL means DefaultTTL; every lease gets a fresh ID.
	other, err := l.Acquire(ctx, "tenant/stack/prod", lock.AcquireOptions{Owner: "bob@ci"})
	require.NoError(t, err)
	require.WithinDuration(t, other.Created.Add(lock.DefaultTTL), other.Expires, time.Second, "zero TTL should mean DefaultTTL")
	require.NotEqual(t, info.ID, other.ID)
}

func testAcquireHeldFailsFast(t *testing.T, l lock.Locker) {
	first := mustAcquire(t, l, key, opts("alice@laptop", "apply"))

	start := time.Now()
	got, err := l.Acquire(testContext(t), key, opts("bob@ci", "destroy"))
	require.Nil(t, got)
	requireLockedBy(t, err, first.ID)
	require.Less(t, time.Since(start), patience/2, "Wait 0 should not wait")

	var le *lock.LockedError
	require.ErrorAs(t, err, &le)
	require.Equal(t, "alice@laptop", le.Holder.Owner)
	require.Equal(t, "apply", le.Holder.Operation)
	require.Equal(t, key, le.Holder.Key)
	for _, want := range []string{first.ID, "alice@laptop", "apply", "force-unlock"} {
		require.Contains(t, err.Error(), want)
	}
	requireHolder(t, l, key, first.ID)
}

func testAcquireWaitsForRelease(t *testing.T, l lock.Locker) {
	ctx := testContext(t)
	first := mustAcquire(t, l, key, opts("alice@laptop", "apply"))

	release := make(chan struct{})
	released := make(chan error, 1)
	go func() {
		<-release
		released <- l.Release(ctx, first)
	}()

	o := opts("bob@ci", "apply")
	o.Wait = 30 * time.Second
	waiter := acquireAsync(ctx, l, key, o)
	requireStillWaiting(t, waiter)

	close(release)
	require.NoError(t, <-released)
	r := receive(t, waiter)
	require.NoError(t, r.err)
	require.NotEqual(t, first.ID, r.info.ID)
	require.Equal(t, "bob@ci", r.info.Owner)
	requireHolder(t, l, key, r.info.ID)
}

func testAcquireWaitTimesOut(t *testing.T, l lock.Locker) {
	first := mustAcquire(t, l, key, opts("alice@laptop", "apply"))

	o := opts("bob@ci", "apply")
	o.Wait = 200 * time.Millisecond
	start := time.Now()
	got, err := l.Acquire(testContext(t), key, o)
	elapsed := time.Since(start)
	require.Nil(t, got)
	requireLockedBy(t, err, first.ID)
	require.GreaterOrEqual(t, elapsed, o.Wait, "gave up before Wait elapsed")
	require.Less(t, elapsed, patience, "kept waiting long after Wait elapsed")
	requireHolder(t, l, key, first.ID)
}

func testAcquireContextCanceled(t *testing.T, l lock.Locker) {
	first := mustAcquire(t, l, key, opts("alice@laptop", "apply"))

	ctx, cancel := context.WithCancel(testContext(t))
	o := opts("bob@ci", "apply")
	o.Wait = time.Minute
	waiter := acquireAsync(ctx, l, key, o)
	requireStillWaiting(t, waiter)
	cancel()
	r := receive(t, waiter)
	require.Nil(t, r.info)
	require.ErrorIs(t, r.err, context.Canceled)
	requireHolder(t, l, key, first.ID)

	// A context that is already done takes nothing, even a free key.
	_, err := l.Acquire(ctx, "tenant/stack/other", opts("bob@ci", "apply"))
	require.ErrorIs(t, err, context.Canceled)
	requireFree(t, l, "tenant/stack/other")
}

func testExpiredLeaseTakenOver(t *testing.T, l lock.Locker) {
	ctx := testContext(t)
	o := opts("alice@laptop", "apply")
	o.TTL = shortTTL
	old := mustAcquire(t, l, key, o)

	// bob waits; the lease is never released, so he gets it only by
	// taking over the expired lease.
	o = opts("bob@ci", "apply")
	o.Wait = patience
	taken, err := l.Acquire(ctx, key, o)
	require.NoError(t, err)
	require.NotEqual(t, old.ID, taken.ID)
	require.False(t, taken.Created.Before(old.Expires),
		"taken over at %s, before the old lease expired at %s", taken.Created, old.Expires)

	_, err = l.Renew(ctx, old, liveTTL)
	require.ErrorIs(t, err, lock.ErrLockLost, "the old holder's Renew")

	err = l.Release(ctx, old)
	requireNotOwner(t, err, taken.ID)
	requireHolder(t, l, key, taken.ID)
}

func testRenewExtends(t *testing.T, l lock.Locker) {
	ctx := testContext(t)
	info := mustAcquire(t, l, key, opts("alice@laptop", "apply"))
	orig := *info

	renewed, err := l.Renew(ctx, info, 2*liveTTL)
	require.NoError(t, err)
	require.Equal(t, orig, *info, "Renew must not modify the caller's lease")
	require.Equal(t, info.ID, renewed.ID)
	require.Equal(t, info.Key, renewed.Key)
	require.Equal(t, info.Owner, renewed.Owner)
	require.Equal(t, info.Operation, renewed.Operation)
	require.Equal(t, info.Version, renewed.Version)
	require.True(t, renewed.Created.Equal(info.Created), "Renew changed Created")
	require.True(t, renewed.Expires.After(info.Expires), "Expires %s not after %s", renewed.Expires, info.Expires)
	require.WithinDuration(t, time.Now().Add(2*liveTTL), renewed.Expires, 5*time.Second)

	got, err := l.Inspect(ctx, key)
	require.NoError(t, err)
	require.True(t, got.Expires.Equal(renewed.Expires), "Inspect shows Expires %s, want %s", got.Expires, renewed.Expires)

	// Renewing with the renewed lease works too, and zero means DefaultTTL.
	again, err := l.Renew(ctx, renewed, 0)
	require.NoError(t, err)
	require.WithinDuration(t, time.Now().Add(lock.DefaultTTL), again.Expires, 5*time.Second)
}

func testRenewExpiredButNotTaken(t *testing.T, l lock.Locker) {
	ctx := testContext(t)
	o := opts("alice@laptop", "apply")
	o.TTL = shortTTL
	info := mustAcquire(t, l, key, o)
	waitExpired(t, l, key)

	renewed, err := l.Renew(ctx, info, liveTTL)
	require.NoError(t, err, "a lease nobody took over is still renewable")
	require.Equal(t, info.ID, renewed.ID)
	require.True(t, renewed.Expires.After(time.Now()))

	_, err = l.Acquire(ctx, key, opts("bob@ci", "apply"))
	requireLockedBy(t, err, info.ID)
}

func testReleaseByNonOwnerRefused(t *testing.T, l lock.Locker) {
	info := mustAcquire(t, l, key, opts("alice@laptop", "apply"))
	impostor := *info
	impostor.ID = uuid.NewString()

	err := l.Release(testContext(t), &impostor)
	requireNotOwner(t, err, info.ID)
	var ne *lock.NotOwnerError
	require.ErrorAs(t, err, &ne)
	require.Equal(t, impostor.ID, ne.ID)
	requireHolder(t, l, key, info.ID)
	_, err = l.Acquire(testContext(t), key, opts("bob@ci", "apply"))
	requireLockedBy(t, err, info.ID)
}

func testReleaseIdempotent(t *testing.T, l lock.Locker) {
	ctx := testContext(t)
	info := mustAcquire(t, l, key, opts("alice@laptop", "apply"))
	require.NoError(t, l.Release(ctx, info))
	requireFree(t, l, key)
	require.NoError(t, l.Release(ctx, info), "second Release of a free key")
	requireFree(t, l, key)

	// Once someone else holds the key, the old lease can no longer free it.
	next := mustAcquire(t, l, key, opts("bob@ci", "apply"))
	requireNotOwner(t, l.Release(ctx, info), next.ID)
	requireHolder(t, l, key, next.ID)
}

func testInspect(t *testing.T, l lock.Locker) {
	ctx := testContext(t)
	requireFree(t, l, key)
	info := mustAcquire(t, l, key, opts("alice@laptop", "apply"))
	got, err := l.Inspect(ctx, key)
	require.NoError(t, err)
	require.Empty(t, cmp.Diff(info, got), "Inspect differs from the acquired lease (-acquired +inspected)")
	require.True(t, got.Expires.After(time.Now()), "a live lease reports Expires in the future")
}

func testForceUnlock(t *testing.T, l lock.Locker) {
	ctx := testContext(t)
	info := mustAcquire(t, l, key, opts("alice@laptop", "apply"))

	err := l.ForceUnlock(ctx, key, uuid.NewString())
	requireNotOwner(t, err, info.ID)
	require.Contains(t, err.Error(), info.ID, "the error should name the actual holder")
	requireHolder(t, l, key, info.ID)

	require.NoError(t, l.ForceUnlock(ctx, key, info.ID))
	requireFree(t, l, key)
	_, err = l.Renew(ctx, info, liveTTL)
	require.ErrorIs(t, err, lock.ErrLockLost, "Renew after force-unlock")
	require.ErrorIs(t, l.ForceUnlock(ctx, key, info.ID), lock.ErrNotLocked)
	require.NoError(t, l.Release(ctx, info), "Release of a force-unlocked (free) key")

	next := mustAcquire(t, l, key, opts("bob@ci", "apply"))
	_, err = l.Renew(ctx, info, liveTTL)
	require.ErrorIs(t, err, lock.ErrLockLost, "Renew after someone else took the key")
	requireHolder(t, l, key, next.ID)
}

func testKeysIndependent(t *testing.T, l lock.Locker) {
	ctx := testContext(t)
	held := mustAcquire(t, l, "a/b/c", opts("alice@laptop", "apply"))
	// Keys that share a prefix, or that a careless encoding of "/" would
	// map to the same name, are all different locks.
	others := []string{"a/b/d", "a/b", "a/b/c/d", "a/b-c", "a-b/c", "a-b-c", "abc"}
	infos := map[string]*lock.Info{}
	for _, k := range others {
		infos[k] = mustAcquire(t, l, k, opts("bob@ci", "apply"))
	}
	require.NoError(t, l.Release(ctx, held))
	requireFree(t, l, "a/b/c")
	for _, k := range others {
		requireHolder(t, l, k, infos[k].ID)
	}
}

func testInvalidKeys(t *testing.T, l lock.Locker) {
	ctx := testContext(t)
	bad := []string{
		"", "/tenant/stack", "tenant/../etc", "..", "Tenant/stack", "tenant//stack",
		"tenant/", "tenant stack", "tenant/stäck", `tenant\stack`, "tenant.stack",
		"tenant/stack/env.lock", strings.Repeat("a", lock.MaxKeyLen+1),
	}
	for _, k := range bad {
		_, err := l.Acquire(ctx, k, opts("alice@laptop", "apply"))
		require.ErrorIs(t, err, lock.ErrInvalidKey, "Acquire(%q)", k)
		_, err = l.Inspect(ctx, k)
		require.ErrorIs(t, err, lock.ErrInvalidKey, "Inspect(%q)", k)
		require.ErrorIs(t, l.ForceUnlock(ctx, k, "id"), lock.ErrInvalidKey, "ForceUnlock(%q)", k)
		lease := &lock.Info{ID: uuid.NewString(), Key: k}
		_, err = l.Renew(ctx, lease, liveTTL)
		require.ErrorIs(t, err, lock.ErrInvalidKey, "Renew(%q)", k)
		require.ErrorIs(t, l.Release(ctx, lease), lock.ErrInvalidKey, "Release(%q)", k)
	}
	longest := strings.Repeat("a", lock.MaxKeyLen)
	mustAcquire(t, l, longest, opts("alice@laptop", "apply"))
}

func testConcurrentAcquireOneWinner(t *testing.T, l lock.Locker) {
	ctx := testContext(t)
	const n = 16
	var (
		start   = make(chan struct{})
		wg      sync.WaitGroup
		results [n]result
	)
	for i := range n {
		wg.Go(func() {
			<-start
			info, err := l.Acquire(ctx, key, opts(fmt.Sprintf("racer-%d@host", i), "apply"))
			results[i] = result{info, err}
		})
	}
	close(start)
	wg.Wait()

	var winner *lock.Info
	for i, r := range results {
		if r.err == nil {
			if winner != nil {
				t.Fatalf("racers %q and %q both acquired the lock", winner.Owner, r.info.Owner)
			}
			winner = r.info
			continue
		}
		require.ErrorIs(t, r.err, lock.ErrLocked, "racer %d", i)
	}
	require.NotNil(t, winner, "no racer acquired the free lock")
	for _, r := range results {
		if r.err != nil {
			requireLockedBy(t, r.err, winner.ID)
		}
	}
	requireHolder(t, l, key, winner.ID)
}

func testMutualExclusionUnderChurn(t *testing.T, l lock.Locker) {
	ctx := testContext(t)
	const workers, iterations = 8, 20
	var (
		wg      sync.WaitGroup
		inside  atomic.Int32 // holders inside the critical section right now
		overlap atomic.Int32 // times a holder found another one inside
		counter int          // deliberately not atomic: only the lock guards it
		errs    = make(chan error, workers)
	)
	for w := range workers {
		wg.Go(func() {
			o := opts(fmt.Sprintf("worker-%d@host", w), "apply")
			o.Wait = 30 * time.Second
			for range iterations {
				info, err := l.Acquire(ctx, key, o)
				if err != nil {
					errs <- fmt.Errorf("worker %d: %w", w, err)
					return
				}
				if inside.Add(1) != 1 {
					overlap.Add(1)
				}
				c := counter
				runtime.Gosched() // widen the window a broken lock would let others in
				counter = c + 1
				inside.Add(-1)
				if err := l.Release(ctx, info); err != nil {
					errs <- fmt.Errorf("worker %d: %w", w, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	require.NoError(t, errors.Join(func() []error {
		var all []error
		for err := range errs {
			all = append(all, err)
		}
		return all
	}()...))
	require.Zero(t, overlap.Load(), "two holders were inside the critical section at once")
	require.Equal(t, workers*iterations, counter)
	requireFree(t, l, key)
}

func testHeartbeatKeepsLeaseAlive(t *testing.T, l lock.Locker) {
	ctx := testContext(t)
	o := opts("alice@laptop", "apply")
	o.TTL = heartbeatTTL
	info := mustAcquire(t, l, key, o)
	hb := lock.StartHeartbeat(ctx, l, info, heartbeatTTL)
	t.Cleanup(hb.Stop)

	// Keep trying to take the lock for several TTLs; it must stay held.
	end := time.Now().Add(4 * heartbeatTTL)
	probe := time.NewTicker(heartbeatTTL / 5)
	defer probe.Stop()
	probes := 0
	for time.Now().Before(end) {
		select {
		case <-hb.Lost():
			t.Fatalf("heartbeat lost the lease: %v", hb.Err())
		case <-probe.C:
		}
		_, err := l.Acquire(ctx, key, opts("bob@ci", "apply"))
		requireLockedBy(t, err, info.ID)
		probes++
	}
	require.Greater(t, probes, 10)

	hb.Stop()
	require.NoError(t, hb.Err())
	select {
	case <-hb.Lost():
		t.Fatal("Lost closed although the lease was kept")
	default:
	}
	latest := hb.Lease()
	require.Equal(t, info.ID, latest.ID)
	require.True(t, latest.Expires.After(info.Expires.Add(heartbeatTTL)),
		"lease was not renewed: Expires %s, originally %s", latest.Expires, info.Expires)
	require.NoError(t, l.Release(ctx, latest))
	requireFree(t, l, key)
}

func testHeartbeatReportsLost(t *testing.T, l lock.Locker) {
	ctx := testContext(t)
	o := opts("alice@laptop", "apply")
	o.TTL = heartbeatTTL
	info := mustAcquire(t, l, key, o)
	hb := lock.StartHeartbeat(ctx, l, info, heartbeatTTL)
	t.Cleanup(hb.Stop)

	require.NoError(t, l.ForceUnlock(ctx, key, info.ID))
	select {
	case <-hb.Lost():
	case <-time.After(patience):
		t.Fatalf("heartbeat did not report the force-unlocked lease as lost within %s", patience)
	}
	require.ErrorIs(t, hb.Err(), lock.ErrLockLost)
	hb.Stop()
	requireFree(t, l, key)
}
