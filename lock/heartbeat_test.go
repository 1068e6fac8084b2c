package lock_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/panka/panka/lock"
	"github.com/panka/panka/lock/memlock"
)

// faultyLocker is a memory Locker whose Renew can be made to fail with a
// transient error or to hang until its context is done.
type faultyLocker struct {
	*memlock.Locker
	failures atomic.Int32 // renewals still to fail with errTransient; -1: all
	hang     atomic.Bool  // renewals block until their context is done
	attempts atomic.Int32 // calls of Renew
	renewals atomic.Int32 // successful renewals

	hangOnce sync.Once
	hanging  chan struct{} // closed when the first renewal starts hanging
}

var errTransient = errors.New("store unreachable")

func (f *faultyLocker) Renew(ctx context.Context, lease *lock.Info, ttl time.Duration) (*lock.Info, error) {
	f.attempts.Add(1)
	if f.hang.Load() {
		f.hangOnce.Do(func() { close(f.hanging) })
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if n := f.failures.Load(); n != 0 {
		if n > 0 {
			f.failures.Add(-1)
		}
		return nil, errTransient
	}
	info, err := f.Locker.Renew(ctx, lease, ttl)
	if err == nil {
		f.renewals.Add(1)
	}
	return info, err
}

// hbTTL is the lease length in the tests: renewals every 10s, on a manual
// clock that moves only when a test advances it.
const (
	hbTTL      = 30 * time.Second
	hbInterval = hbTTL / 3
)

// startHeartbeat acquires a lease on a memory Locker and starts renewing it,
// both on a manual clock, and returns once the first renewal is scheduled.
func startHeartbeat(t *testing.T, ctx context.Context) (*lock.ManualClock, *faultyLocker, *lock.Info, *lock.Heartbeat) {
	t.Helper()
	clk := lock.NewManualClock(time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC))
	l := &faultyLocker{Locker: memlock.New(memlock.Options{Now: clk.Now}), hanging: make(chan struct{})}
	info, err := l.Acquire(ctx, "tenant/stack/env", lock.AcquireOptions{Owner: "alice@laptop", TTL: hbTTL})
	if err != nil {
		t.Fatal(err)
	}
	hb := lock.StartHeartbeatOn(ctx, l, info, hbTTL, clk)
	t.Cleanup(hb.Stop)
	clk.WaitTimers(t, 1)
	return clk, l, info, hb
}

// waitLost waits for the heartbeat to report the lease lost; the bound is a
// guard against a hang, not a timing assumption.
func waitLost(t *testing.T, hb *lock.Heartbeat) {
	t.Helper()
	select {
	case <-hb.Lost():
	case <-time.After(10 * time.Second):
		t.Fatal("heartbeat did not report the lease lost")
	}
}

func requireNotLost(t *testing.T, hb *lock.Heartbeat) {
	t.Helper()
	select {
	case <-hb.Lost():
		t.Fatalf("lease reported lost: %v", hb.Err())
	default:
	}
	if err := hb.Err(); err != nil {
		t.Fatalf("Err() = %v, want nil", err)
	}
}

// TestHeartbeatLostWhenRenewalsKeepFailing: failed renewals are retried every
// interval, and the lease is given up when one fails at the moment the lease
// expires, not before.
func TestHeartbeatLostWhenRenewalsKeepFailing(t *testing.T) {
	clk, l, info, hb := startHeartbeat(t, t.Context())
	l.failures.Store(-1)
	for i := 1; i <= 2; i++ {
		clk.Advance(hbInterval)
		clk.WaitTimers(t, 1) // the failed renewal is rescheduled
		requireNotLost(t, hb)
		if got := l.attempts.Load(); got != int32(i) {
			t.Fatalf("%d renewals attempted after %s, want %d", got, time.Duration(i)*hbInterval, i)
		}
	}
	clk.Advance(hbInterval)
	waitLost(t, hb)
	if now := clk.Now(); !now.Equal(info.Expires) {
		t.Errorf("reported lost at %s, want when the lease expired at %s", now, info.Expires)
	}
	if got := l.attempts.Load(); got != 3 {
		t.Errorf("%d renewals attempted, want 3", got)
	}
	if err := hb.Err(); !errors.Is(err, lock.ErrLockLost) || !errors.Is(err, errTransient) {
		t.Errorf("Err() = %v, want ErrLockLost wrapping the renewal error", err)
	}
}

// TestHeartbeatLostWhenStoreHangs: a hung renewal is given until the lease
// expires, and no longer.
func TestHeartbeatLostWhenStoreHangs(t *testing.T) {
	clk, l, info, hb := startHeartbeat(t, t.Context())
	l.hang.Store(true)
	clk.Advance(hbInterval)
	select {
	case <-l.hanging:
	case <-time.After(10 * time.Second):
		t.Fatal("no renewal was attempted")
	}
	clk.Advance(info.Expires.Sub(clk.Now()) - time.Nanosecond)
	requireNotLost(t, hb)
	clk.Advance(time.Nanosecond)
	waitLost(t, hb)
	if err := hb.Err(); !errors.Is(err, lock.ErrLockLost) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Err() = %v, want ErrLockLost wrapping the renewal's deadline", err)
	}
	if got := l.attempts.Load(); got != 1 {
		t.Errorf("%d renewals attempted, want 1", got)
	}
}

func TestHeartbeatSurvivesTransientFailure(t *testing.T) {
	clk, l, info, hb := startHeartbeat(t, t.Context())
	l.failures.Store(1)
	clk.Advance(hbInterval)
	clk.WaitTimers(t, 1) // the failed renewal is rescheduled
	if l.failures.Load() != 0 || l.renewals.Load() != 0 {
		t.Fatal("the injected failure did not happen first")
	}
	for i := 1; i <= 3; i++ {
		clk.Advance(hbInterval)
		clk.WaitTimers(t, 1)
		requireNotLost(t, hb)
		if got := l.renewals.Load(); got != int32(i) {
			t.Fatalf("%d renewals after %d intervals since the failure, want %d", got, i, i)
		}
	}
	hb.Stop()
	requireNotLost(t, hb)
	if got := hb.Lease(); got.ID != info.ID || !got.Expires.Equal(clk.Now().Add(hbTTL)) {
		t.Errorf("Lease() = %+v, want %s renewed until %s", got, info.ID, clk.Now().Add(hbTTL))
	}
}

func TestHeartbeatStopDuringRenewalIsNotLoss(t *testing.T) {
	clk, l, _, hb := startHeartbeat(t, t.Context())
	l.hang.Store(true)
	clk.Advance(hbInterval)
	select {
	case <-l.hanging:
	case <-time.After(10 * time.Second):
		t.Fatal("no renewal was attempted")
	}
	// Stop from several goroutines at once while a renewal is in flight.
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(hb.Stop)
	}
	wg.Wait()
	hb.Stop()
	requireNotLost(t, hb)
	if timers, deadlines := clk.Armed(); timers != 0 || deadlines != 0 {
		t.Errorf("%d timers and %d deadlines still armed after Stop", timers, deadlines)
	}
}

func TestHeartbeatStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	clk, l, info, hb := startHeartbeat(t, ctx)
	cancel()
	hb.Stop() // returns once the goroutine has exited
	requireNotLost(t, hb)
	if timers, deadlines := clk.Armed(); timers != 0 || deadlines != 0 {
		t.Fatalf("%d timers and %d deadlines still armed after cancel: the lease could still be renewed", timers, deadlines)
	}

	// Nothing renews the lease any more: it expires and someone else takes it.
	clk.Advance(hbTTL)
	got, err := l.Acquire(t.Context(), info.Key, lock.AcquireOptions{Owner: "bob@ci"})
	if err != nil {
		t.Fatalf("lease was still being renewed after cancel: %v", err)
	}
	if !got.Created.Equal(info.Expires) {
		t.Fatalf("taken at %s, want at expiry %s", got.Created, info.Expires)
	}
	if n := l.attempts.Load(); n != 0 {
		t.Errorf("%d renewals attempted after cancel", n)
	}
}

func TestHeartbeatNilLease(t *testing.T) {
	hb := lock.StartHeartbeat(t.Context(), memlock.New(memlock.Options{}), nil, time.Second)
	waitLost(t, hb)
	if hb.Err() == nil {
		t.Fatal("Err() = nil for a heartbeat without a lease")
	}
	hb.Stop()
}
