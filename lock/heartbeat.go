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
	ttl = TTLOrDefault(ttl)
	ctx, cancel := context.WithCancel(ctx)
	h := &Heartbeat{
		locker:   l,
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
	go h.run(ctx, time.Now().Add(time.Until(lease.Expires)))
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
	timer := time.NewTimer(h.interval)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}

		start := time.Now()
		// Never wait on a renewal past the end of the lease (but allow at
		// least one interval, so an already-late first renewal can still
		// succeed: an expired lease that nobody took is renewable).
		callCtx, cancel := context.WithDeadline(ctx, later(deadline, start.Add(h.interval)))
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
			left := time.Until(deadline)
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
