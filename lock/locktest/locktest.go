// Package locktest is the conformance suite for lock.Locker implementations.
// An implementation is done when Run passes against it:
//
//	func TestConformance(t *testing.T) {
//		locktest.Run(t, func(t *testing.T) lock.Locker { return memlock.New(memlock.Options{}) })
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
	// within two seconds, and long enough that a renewal every TTL/3 keeps
	// it alive on a loaded machine with a slow disk (an fsync can take a
	// few hundred milliseconds).
	heartbeatTTL = 600 * time.Millisecond
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

// noErr fails the test now if err is not nil.
func noErr(t *testing.T, err error, what string, args ...any) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: unexpected error: %v", fmt.Sprintf(what, args...), err)
	}
}

// errIs fails the test now unless errors.Is(err, target).
func errIs(t *testing.T, err, target error, what string, args ...any) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want one matching %q", fmt.Sprintf(what, args...), err, target)
	}
}

// within fails the test now unless got is within d of want.
func within(t *testing.T, what string, got, want time.Time, d time.Duration) {
	t.Helper()
	if diff := got.Sub(want).Abs(); diff > d {
		t.Fatalf("%s = %s, want %s ± %s", what, got, want, d)
	}
}

func mustAcquire(t *testing.T, l lock.Locker, key string, o lock.AcquireOptions) *lock.Info {
	t.Helper()
	info, err := l.Acquire(testContext(t), key, o)
	noErr(t, err, "Acquire(%q)", key)
	if info == nil {
		t.Fatalf("Acquire(%q) returned neither a lease nor an error", key)
	}
	return info
}

// requireHolder fails unless key is held by the lease with ID id.
func requireHolder(t *testing.T, l lock.Locker, key, id string) {
	t.Helper()
	got, err := l.Inspect(testContext(t), key)
	noErr(t, err, "Inspect(%q)", key)
	if got.ID != id {
		t.Fatalf("Inspect(%q) reports holder %s (%s), want lock ID %s", key, got.ID, got.Owner, id)
	}
}

func requireFree(t *testing.T, l lock.Locker, key string) {
	t.Helper()
	got, err := l.Inspect(testContext(t), key)
	errIs(t, err, lock.ErrNotLocked, "Inspect(%q) = %+v", key, got)
}

// requireLockedBy fails unless err is ErrLocked naming the lease with ID id
// as the holder.
func requireLockedBy(t *testing.T, err error, id string) *lock.LockedError {
	t.Helper()
	errIs(t, err, lock.ErrLocked, "Acquire of a held lock")
	var le *lock.LockedError
	if !errors.As(err, &le) {
		t.Fatalf("error %v is not a *lock.LockedError", err)
	}
	if le.Holder.ID != id {
		t.Fatalf("LockedError names holder %s, want %s", le.Holder.ID, id)
	}
	return le
}

// requireNotOwner fails unless err is ErrNotOwner naming the lease with ID
// holderID as the actual holder.
func requireNotOwner(t *testing.T, err error, holderID string) *lock.NotOwnerError {
	t.Helper()
	errIs(t, err, lock.ErrNotOwner, "operation on a lock held by someone else")
	var ne *lock.NotOwnerError
	if !errors.As(err, &ne) {
		t.Fatalf("error %v is not a *lock.NotOwnerError", err)
	}
	if ne.Holder.ID != holderID {
		t.Fatalf("NotOwnerError names holder %s, want %s", ne.Holder.ID, holderID)
	}
	return ne
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
func waitExpired(t *testing.T, l lock.Locker, key string) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for {
		info, err := l.Inspect(testContext(t), key)
		noErr(t, err, "Inspect(%q) while waiting for expiry", key)
		if info.Expires.Before(time.Now()) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("lease %+v did not expire within %s", info, patience)
		}
		time.Sleep(10 * time.Millisecond) // poll interval
	}
}

func testAcquireFree(t *testing.T, l lock.Locker) {
	ctx := testContext(t)
	before := time.Now()
	info, err := l.Acquire(ctx, key, lock.AcquireOptions{
		Owner: "alice@laptop", Operation: "apply", Version: "v1.2.3", TTL: liveTTL,
	})
	noErr(t, err, "Acquire")
	if _, err := uuid.Parse(info.ID); err != nil {
		t.Errorf("lock ID %q is not a UUID: %v", info.ID, err)
	}
	want := lock.Info{ID: info.ID, Key: key, Owner: "alice@laptop", Operation: "apply", Version: "v1.2.3",
		Created: info.Created, Expires: info.Expires}
	if diff := cmp.Diff(want, *info); diff != "" {
		t.Errorf("Acquire returned (-want +got):\n%s", diff)
	}
	within(t, "Created", info.Created, before, 5*time.Second)
	within(t, "Expires", info.Expires, info.Created.Add(liveTTL), time.Second)

	// A zero TTL means DefaultTTL; every lease gets a fresh ID.
	other, err := l.Acquire(ctx, "tenant/stack/prod", lock.AcquireOptions{Owner: "bob@ci"})
	noErr(t, err, "Acquire with zero options")
	within(t, "Expires with zero TTL", other.Expires, other.Created.Add(lock.DefaultTTL), time.Second)
	if other.ID == info.ID {
		t.Errorf("two leases share the lock ID %s", info.ID)
	}
}

func testAcquireHeldFailsFast(t *testing.T, l lock.Locker) {
	first := mustAcquire(t, l, key, opts("alice@laptop", "apply"))

	start := time.Now()
	got, err := l.Acquire(testContext(t), key, opts("bob@ci", "destroy"))
	if got != nil {
		t.Errorf("Acquire of a held lock returned a lease: %+v", got)
	}
	le := requireLockedBy(t, err, first.ID)
	if elapsed := time.Since(start); elapsed > patience/2 {
		t.Errorf("Acquire with Wait 0 took %s", elapsed)
	}
	if diff := cmp.Diff(*first, le.Holder); diff != "" {
		t.Errorf("LockedError.Holder differs from the holder's lease (-lease +holder):\n%s", diff)
	}
	for _, want := range []string{first.ID, "alice@laptop", "apply"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
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
	noErr(t, <-released, "Release by the holder")
	r := receive(t, waiter)
	noErr(t, r.err, "Acquire waiting for the release")
	if r.info.ID == first.ID || r.info.Owner != "bob@ci" {
		t.Fatalf("waiter got %+v, want a new lease for bob@ci", r.info)
	}
	requireHolder(t, l, key, r.info.ID)
}

func testAcquireWaitTimesOut(t *testing.T, l lock.Locker) {
	first := mustAcquire(t, l, key, opts("alice@laptop", "apply"))

	o := opts("bob@ci", "apply")
	o.Wait = 200 * time.Millisecond
	start := time.Now()
	got, err := l.Acquire(testContext(t), key, o)
	elapsed := time.Since(start)
	if got != nil {
		t.Errorf("Acquire of a held lock returned a lease: %+v", got)
	}
	requireLockedBy(t, err, first.ID)
	if elapsed < o.Wait {
		t.Errorf("gave up after %s, before Wait (%s) elapsed", elapsed, o.Wait)
	}
	if elapsed > patience {
		t.Errorf("gave up after %s, long after Wait (%s) elapsed", elapsed, o.Wait)
	}
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
	if r.info != nil {
		t.Errorf("canceled Acquire returned a lease: %+v", r.info)
	}
	errIs(t, r.err, context.Canceled, "Acquire whose context was canceled while waiting")
	requireHolder(t, l, key, first.ID)

	// A context that is already done takes nothing, even a free key.
	_, err := l.Acquire(ctx, "tenant/stack/other", opts("bob@ci", "apply"))
	errIs(t, err, context.Canceled, "Acquire with a canceled context")
	requireFree(t, l, "tenant/stack/other")
}

func testExpiredLeaseTakenOver(t *testing.T, l lock.Locker) {
	ctx := testContext(t)
	o := opts("alice@laptop", "apply")
	o.TTL = shortTTL
	old := mustAcquire(t, l, key, o)

	// bob waits; alice never releases, so bob can only get the lock by
	// taking over her expired lease.
	o = opts("bob@ci", "apply")
	o.Wait = patience
	taken, err := l.Acquire(ctx, key, o)
	noErr(t, err, "Acquire of an expiring lease")
	if taken.ID == old.ID {
		t.Fatalf("took over with the old lock ID %s", old.ID)
	}
	if taken.Created.Before(old.Expires) {
		t.Fatalf("taken over at %s, before the old lease expired at %s", taken.Created, old.Expires)
	}

	_, err = l.Renew(ctx, old, liveTTL)
	errIs(t, err, lock.ErrLockLost, "the old holder's Renew")
	requireNotOwner(t, l.Release(ctx, old), taken.ID)
	requireHolder(t, l, key, taken.ID)
}

func testRenewExtends(t *testing.T, l lock.Locker) {
	ctx := testContext(t)
	info := mustAcquire(t, l, key, opts("alice@laptop", "apply"))
	orig := *info

	renewed, err := l.Renew(ctx, info, 2*liveTTL)
	noErr(t, err, "Renew")
	if diff := cmp.Diff(orig, *info); diff != "" {
		t.Errorf("Renew modified the caller's lease (-before +after):\n%s", diff)
	}
	want := orig
	want.Expires = renewed.Expires
	if diff := cmp.Diff(want, *renewed); diff != "" {
		t.Errorf("Renew changed more than Expires (-want +got):\n%s", diff)
	}
	if !renewed.Expires.After(info.Expires) {
		t.Errorf("renewed Expires %s is not after %s", renewed.Expires, info.Expires)
	}
	within(t, "renewed Expires", renewed.Expires, time.Now().Add(2*liveTTL), 5*time.Second)

	got, err := l.Inspect(ctx, key)
	noErr(t, err, "Inspect")
	if !got.Expires.Equal(renewed.Expires) {
		t.Errorf("Inspect shows Expires %s, want the renewed %s", got.Expires, renewed.Expires)
	}

	// The renewed lease renews too, and ttl 0 means DefaultTTL.
	again, err := l.Renew(ctx, renewed, 0)
	noErr(t, err, "Renew of the renewed lease")
	within(t, "Expires after Renew with ttl 0", again.Expires, time.Now().Add(lock.DefaultTTL), 5*time.Second)
}

func testRenewExpiredButNotTaken(t *testing.T, l lock.Locker) {
	ctx := testContext(t)
	o := opts("alice@laptop", "apply")
	o.TTL = shortTTL
	info := mustAcquire(t, l, key, o)
	waitExpired(t, l, key)

	renewed, err := l.Renew(ctx, info, liveTTL)
	noErr(t, err, "Renew of an expired lease that nobody took over")
	if renewed.ID != info.ID || !renewed.Expires.After(time.Now()) {
		t.Fatalf("Renew returned %+v, want lock ID %s expiring in the future", renewed, info.ID)
	}
	_, err = l.Acquire(ctx, key, opts("bob@ci", "apply"))
	requireLockedBy(t, err, info.ID)
}

func testReleaseByNonOwnerRefused(t *testing.T, l lock.Locker) {
	info := mustAcquire(t, l, key, opts("alice@laptop", "apply"))
	impostor := *info
	impostor.ID = uuid.NewString()

	ne := requireNotOwner(t, l.Release(testContext(t), &impostor), info.ID)
	if ne.ID != impostor.ID {
		t.Errorf("NotOwnerError.ID = %s, want the ID that was presented, %s", ne.ID, impostor.ID)
	}
	requireHolder(t, l, key, info.ID)
	_, err := l.Acquire(testContext(t), key, opts("bob@ci", "apply"))
	requireLockedBy(t, err, info.ID)
}

func testReleaseIdempotent(t *testing.T, l lock.Locker) {
	ctx := testContext(t)
	info := mustAcquire(t, l, key, opts("alice@laptop", "apply"))
	noErr(t, l.Release(ctx, info), "Release")
	requireFree(t, l, key)
	noErr(t, l.Release(ctx, info), "second Release of a free key")
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
	noErr(t, err, "Inspect")
	if diff := cmp.Diff(info, got); diff != "" {
		t.Errorf("Inspect differs from the acquired lease (-acquired +inspected):\n%s", diff)
	}
	if !got.Expires.After(time.Now()) {
		t.Errorf("a live lease reports Expires %s, in the past", got.Expires)
	}
}

func testForceUnlock(t *testing.T, l lock.Locker) {
	ctx := testContext(t)
	info := mustAcquire(t, l, key, opts("alice@laptop", "apply"))

	err := l.ForceUnlock(ctx, key, uuid.NewString())
	requireNotOwner(t, err, info.ID)
	if !strings.Contains(err.Error(), info.ID) {
		t.Errorf("error %q does not name the actual holder %s", err, info.ID)
	}
	requireHolder(t, l, key, info.ID)

	noErr(t, l.ForceUnlock(ctx, key, info.ID), "ForceUnlock with the holder's ID")
	requireFree(t, l, key)
	_, err = l.Renew(ctx, info, liveTTL)
	errIs(t, err, lock.ErrLockLost, "Renew after force-unlock")
	errIs(t, l.ForceUnlock(ctx, key, info.ID), lock.ErrNotLocked, "ForceUnlock of a free key")
	noErr(t, l.Release(ctx, info), "Release of a force-unlocked (free) key")

	next := mustAcquire(t, l, key, opts("bob@ci", "apply"))
	_, err = l.Renew(ctx, info, liveTTL)
	errIs(t, err, lock.ErrLockLost, "Renew after someone else took the key")
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
	noErr(t, l.Release(ctx, held), "Release")
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
		errIs(t, err, lock.ErrInvalidKey, "Acquire(%q)", k)
		_, err = l.Inspect(ctx, k)
		errIs(t, err, lock.ErrInvalidKey, "Inspect(%q)", k)
		errIs(t, l.ForceUnlock(ctx, k, "id"), lock.ErrInvalidKey, "ForceUnlock(%q)", k)
		lease := &lock.Info{ID: uuid.NewString(), Key: k}
		_, err = l.Renew(ctx, lease, liveTTL)
		errIs(t, err, lock.ErrInvalidKey, "Renew(%q)", k)
		errIs(t, l.Release(ctx, lease), lock.ErrInvalidKey, "Release(%q)", k)
	}
	mustAcquire(t, l, strings.Repeat("a", lock.MaxKeyLen), opts("alice@laptop", "apply"))
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
		if r.err != nil {
			errIs(t, r.err, lock.ErrLocked, "racer %d", i)
			continue
		}
		if winner != nil {
			t.Fatalf("racers %s and %s both acquired the lock", winner.Owner, r.info.Owner)
		}
		winner = r.info
	}
	if winner == nil {
		t.Fatal("no racer acquired the free lock")
	}
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
	for err := range errs {
		t.Error(err)
	}
	if n := overlap.Load(); n != 0 {
		t.Errorf("%d times a holder found another holder inside the critical section", n)
	}
	if counter != workers*iterations {
		t.Errorf("counter = %d, want %d: increments were lost", counter, workers*iterations)
	}
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
	const span = 3 * heartbeatTTL
	end := time.Now().Add(span)
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
	if probes < 5 {
		t.Fatalf("only %d probes in %s", probes, span)
	}

	hb.Stop()
	noErr(t, hb.Err(), "Heartbeat.Err after Stop")
	select {
	case <-hb.Lost():
		t.Fatal("Lost closed although the lease was kept")
	default:
	}
	latest := hb.Lease()
	if latest.ID != info.ID {
		t.Fatalf("Heartbeat.Lease has lock ID %s, want %s", latest.ID, info.ID)
	}
	if !latest.Expires.After(info.Expires.Add(heartbeatTTL)) {
		t.Fatalf("lease was not renewed: Expires %s, originally %s", latest.Expires, info.Expires)
	}
	noErr(t, l.Release(ctx, latest), "Release of the heartbeat's latest lease")
	requireFree(t, l, key)
}

func testHeartbeatReportsLost(t *testing.T, l lock.Locker) {
	ctx := testContext(t)
	o := opts("alice@laptop", "apply")
	o.TTL = heartbeatTTL
	info := mustAcquire(t, l, key, o)
	hb := lock.StartHeartbeat(ctx, l, info, heartbeatTTL)
	t.Cleanup(hb.Stop)

	noErr(t, l.ForceUnlock(ctx, key, info.ID), "ForceUnlock")
	select {
	case <-hb.Lost():
	case <-time.After(patience):
		t.Fatalf("heartbeat did not report the force-unlocked lease as lost within %s", patience)
	}
	errIs(t, hb.Err(), lock.ErrLockLost, "Heartbeat.Err")
	hb.Stop()
	requireFree(t, l, key)
}
