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
	renewals atomic.Int32 // successful renewals

	hangOnce sync.Once
	hanging  chan struct{} // closed when the first renewal starts hanging
}

var errTransient = errors.New("store unreachable")

func (f *faultyLocker) Renew(ctx context.Context, lease *lock.Info, ttl time.Duration) (*lock.Info, error) {
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

const hbTTL = 300 * time.Millisecond

func startHeartbeat(t *testing.T, ctx context.Context) (*faultyLocker, *lock.Info, *lock.Heartbeat) {
	t.Helper()
	l := &faultyLocker{Locker: memlock.New(memlock.Options{}), hanging: make(chan struct{})}
	info, err := l.Acquire(ctx, "tenant/stack/env", lock.AcquireOptions{Owner: "alice@laptop", TTL: hbTTL})
	if err != nil {
		t.Fatal(err)
	}
	hb := lock.StartHeartbeat(ctx, l, info, hbTTL)
	t.Cleanup(hb.Stop)
	return l, info, hb
}

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

func TestHeartbeatLostWhenRenewalsKeepFailing(t *testing.T) {
	l, info, hb := startHeartbeat(t, t.Context())
	l.failures.Store(-1)
	waitLost(t, hb)
	if now := time.Now(); now.Before(info.Expires) {
		t.Errorf("reported lost at %s, before the lease expired at %s", now, info.Expires)
	}
	if err := hb.Err(); !errors.Is(err, lock.ErrLockLost) || !errors.Is(err, errTransient) {
		t.Errorf("Err() = %v, want ErrLockLost wrapping the renewal error", err)
	}
}

func TestHeartbeatLostWhenStoreHangs(t *testing.T) {
	l, _, hb := startHeartbeat(t, t.Context())
	l.hang.Store(true)
	waitLost(t, hb)
	if err := hb.Err(); !errors.Is(err, lock.ErrLockLost) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Err() = %v, want ErrLockLost wrapping the renewal's deadline", err)
	}
}

func TestHeartbeatSurvivesTransientFailure(t *testing.T) {
	l, info, hb := startHeartbeat(t, t.Context())
	l.failures.Store(1)
	// Poll until the heartbeat has renewed successfully several times after
	// the failure.
	deadline := time.Now().Add(10 * time.Second)
	for l.renewals.Load() < 3 {
		requireNotLost(t, hb)
		if time.Now().After(deadline) {
			t.Fatalf("only %d renewals", l.renewals.Load())
		}
		time.Sleep(10 * time.Millisecond) // poll interval
	}
	if l.failures.Load() != 0 {
		t.Fatal("the injected failure never happened")
	}
	hb.Stop()
	requireNotLost(t, hb)
	if got := hb.Lease(); got.ID != info.ID || !got.Expires.After(info.Expires) {
		t.Errorf("Lease() = %+v, want a renewal of %+v", got, info)
	}
}

func TestHeartbeatStopDuringRenewalIsNotLoss(t *testing.T) {
	l, _, hb := startHeartbeat(t, t.Context())
	l.hang.Store(true)
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
}

func TestHeartbeatStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	l, info, hb := startHeartbeat(t, ctx)
	cancel()
	hb.Stop() // returns once the goroutine has exited
	requireNotLost(t, hb)

	// Nothing renews the lease any more: it expires and someone else takes it.
	got, err := l.Acquire(t.Context(), info.Key, lock.AcquireOptions{Owner: "bob@ci", Wait: 10 * time.Second})
	if err != nil {
		t.Fatalf("lease was still being renewed after cancel: %v", err)
	}
	if got.Created.Before(info.Expires) {
		t.Fatalf("taken at %s, before expiry %s", got.Created, info.Expires)
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
