package lock

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Heartbeat keeps a lease alive while a run lasts. Create it with
// StartHeartbeat; all methods are safe for concurrent use.
//
// A run should watch Lost: once it is closed the lease may be held by someone
// else, so the run must start no new operations, persist what it has, and
// fail with Err.
type Heartbeat struct {
	locker   Locker
	clock    clock
	ttl      time.Duration
	interval time.Duration
	cancel   context.CancelFunc
	done     chan struct{} // closed when the goroutine has returned
	lost     chan struct{} // closed (once, by the goroutine) when the lease is lost

	mu    sync.Mutex
	lease *Info // latest renewed lease; guarded by mu
	err   error // why the lease was lost; guarded by mu
}

// StartHeartbeat renews lease every ttl/3 (ttl <= 0 means DefaultTTL) until
// ctx is done or Stop is called.
//
// The lease is reported lost — Lost is closed, Err says why and renewing
// stops — when a renewal fails with ErrLockLost (the lease was taken over or
// force-unlocked), or when renewals keep failing for other reasons (network,
// storage) until the lease would have expired. A failed renewal is retried
// no later than that moment, and each renewal is given at most the time left
// on the lease, so a hung store is noticed in time too.
//
// When ctx is done or Stop is called, renewing stops without closing Lost;
// the lease is not released (release Lease() yourself, or let it expire).
func StartHeartbeat(ctx context.Context, l Locker, lease *Info, ttl time.Duration) *Heartbeat {
	return startHeartbeat(ctx, l, lease, ttl, realClock{})
}

func startHeartbeat(ctx context.Context, l Locker, lease *Info, ttl time.Duration, clk clock) *Heartbeat {
	ttl = TTLOrDefault(ttl)
	ctx, cancel := context.WithCancel(ctx)
	h := &Heartbeat{
		locker:   l,
		clock:    clk,
		ttl:      ttl,
		interval: max(ttl/3, time.Millisecond),
		cancel:   cancel,
		done:     make(chan struct{}),
		lost:     make(chan struct{}),
	}
	if lease == nil {
		h.fail(errors.New("lock: heartbeat started without a lease"))
		close(h.done)
		return h
	}
	cp := *lease
	h.lease = &cp
	now := clk.Now()
	go h.run(ctx, now.Add(lease.Expires.Sub(now)))
	return h
}

// Lost is closed when the lease has been lost; see StartHeartbeat.
func (h *Heartbeat) Lost() <-chan struct{} { return h.lost }

// Err returns why the lease was lost (wrapping ErrLockLost), or nil if it
// has not been lost.
func (h *Heartbeat) Err() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.err
}

// Lease returns a copy of the latest successfully renewed lease (the
// original lease if none has been renewed yet); pass it to Release.
func (h *Heartbeat) Lease() *Info {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.lease == nil {
		return nil
	}
	cp := *h.lease
	return &cp
}

// Stop stops renewing and waits until no renewal is in flight. A renewal
// interrupted by Stop does not count as losing the lease. Stop may be called
// any number of times, from any goroutine.
func (h *Heartbeat) Stop() {
	h.cancel()
	<-h.done
}

// run renews until ctx is done or the lease is lost. deadline is when the
// current lease lapses, on the local monotonic clock.
func (h *Heartbeat) run(ctx context.Context, deadline time.Time) {
	defer close(h.done)
	timer := h.clock.NewTimer(h.interval)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.Chan():
		}

		start := h.clock.Now()
		// Never wait on a renewal past the end of the lease (but allow at
		// least one interval, so an already-late first renewal can still
		// succeed: an expired lease that nobody took is renewable).
		callCtx, cancel := h.clock.WithDeadline(ctx, later(deadline, start.Add(h.interval)))
		next, err := h.locker.Renew(callCtx, h.Lease(), h.ttl)
		cancel()

		switch {
		case err == nil:
			h.mu.Lock()
			h.lease = next
			h.mu.Unlock()
			// The store set Expires no earlier than start+ttl.
			deadline = start.Add(h.ttl)
			timer.Reset(h.interval)
		case ctx.Err() != nil:
			return
		case errors.Is(err, ErrLockLost):
			h.fail(fmt.Errorf("heartbeat: %w", err))
			return
		default:
			// Transient failure: retry at the next interval, but no later
			// than the moment the lease expires; fail once that has passed.
			left := deadline.Sub(h.clock.Now())
			if left <= 0 {
				cur := h.Lease()
				h.fail(fmt.Errorf("%w: could not renew lease %s on %s before it expired: %w",
					ErrLockLost, cur.ID, cur.Key, err))
				return
			}
			timer.Reset(min(h.interval, left))
		}
	}
}

func (h *Heartbeat) fail(err error) {
	h.mu.Lock()
	h.err = err
	h.mu.Unlock()
	close(h.lost)
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// clock is the heartbeat's time source: real time, or a manual clock in
// tests (export_test.go) that decides exactly when renewals happen and when
// a lease runs out.
type clock interface {
	Now() time.Time
	NewTimer(d time.Duration) timer
	// WithDeadline is context.WithDeadline on this clock.
	WithDeadline(ctx context.Context, d time.Time) (context.Context, context.CancelFunc)
}

type timer interface {
	Chan() <-chan time.Time
	Reset(d time.Duration) bool
	Stop() bool
}

type realClock struct{}

func (realClock) Now() time.Time                 { return time.Now() }
func (realClock) NewTimer(d time.Duration) timer { return realTimer{time.NewTimer(d)} }
func (realClock) WithDeadline(ctx context.Context, d time.Time) (context.Context, context.CancelFunc) {
	return context.WithDeadline(ctx, d)
}

type realTimer struct{ *time.Timer }

func (t realTimer) Chan() <-chan time.Time { return t.C }
