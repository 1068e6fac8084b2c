package lock

import (
	"context"
	"sort"
	"sync"
	"testing"
	"time"
)

// StartHeartbeatOn is StartHeartbeat with every renewal, retry and deadline
// timed on clk.
func StartHeartbeatOn(ctx context.Context, l Locker, lease *Info, ttl time.Duration, clk *ManualClock) *Heartbeat {
	return startHeartbeat(ctx, l, lease, ttl, clk)
}

// ManualClock is a clock that moves only when Advance is called. Its timers
// fire, and its deadlines pass, inside Advance. It is safe for concurrent use.
type ManualClock struct {
	mu      sync.Mutex
	now     time.Time
	waits   map[*manualWait]bool // armed timers and deadlines
	changed chan struct{}        // closed and replaced whenever waits change
}

// manualWait is an armed timer (c set) or deadline (fire set).
type manualWait struct {
	at   time.Time
	c    chan time.Time
	fire func()
}

// NewManualClock returns a ManualClock reading start.
func NewManualClock(start time.Time) *ManualClock {
	return &ManualClock{now: start, waits: map[*manualWait]bool{}, changed: make(chan struct{})}
}

// Now returns the clock's time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d, firing the timers and passing the
// deadlines that fall due, in order.
func (c *ManualClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	type expiry struct {
		w  *manualWait
		at time.Time
	}
	var due []expiry
	for w := range c.waits {
		if !w.at.After(c.now) {
			due = append(due, expiry{w, w.at})
			delete(c.waits, w)
		}
	}
	sort.Slice(due, func(i, j int) bool { return due[i].at.Before(due[j].at) })
	c.signal()
	c.mu.Unlock()
	for _, e := range due {
		expire(e.w, e.at)
	}
}

func expire(w *manualWait, at time.Time) {
	if w.fire != nil {
		w.fire()
		return
	}
	select {
	case w.c <- at:
	default:
	}
}

// Armed returns how many timers and deadlines are waiting for the clock.
func (c *ManualClock) Armed() (timers, deadlines int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for w := range c.waits {
		if w.c != nil {
			timers++
		} else {
			deadlines++
		}
	}
	return timers, deadlines
}

// WaitTimers waits until n timers are armed: for a heartbeat, n = 1 means it
// is waiting for its next renewal.
func (c *ManualClock) WaitTimers(t testing.TB, n int) {
	t.Helper()
	guard := time.After(10 * time.Second)
	for {
		c.mu.Lock()
		changed := c.changed
		c.mu.Unlock()
		if timers, _ := c.Armed(); timers == n {
			return
		}
		select {
		case <-changed:
		case <-guard:
			timers, _ := c.Armed()
			t.Fatalf("%d timers armed after 10s, want %d", timers, n)
		}
	}
}

// signal wakes WaitTimers; called with mu held.
func (c *ManualClock) signal() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// arm sets w to expire at when(now), at once if that is not after now.
func (c *ManualClock) arm(w *manualWait, when func(now time.Time) time.Time) {
	c.mu.Lock()
	w.at = when(c.now)
	if w.at.After(c.now) {
		c.waits[w] = true
		c.signal()
		c.mu.Unlock()
		return
	}
	at := w.at
	c.mu.Unlock()
	expire(w, at)
}

// disarm removes w and reports whether it was armed.
func (c *ManualClock) disarm(w *manualWait) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	armed := c.waits[w]
	delete(c.waits, w)
	c.signal()
	return armed
}

// NewTimer implements clock.
func (c *ManualClock) NewTimer(d time.Duration) timer {
	t := &manualTimer{clock: c, w: &manualWait{c: make(chan time.Time, 1)}}
	c.arm(t.w, func(now time.Time) time.Time { return now.Add(d) })
	return t
}

type manualTimer struct {
	clock *ManualClock
	w     *manualWait
}

func (t *manualTimer) Chan() <-chan time.Time { return t.w.c }

// Stop and Reset leave no stale tick in the channel, like time.Timer's.
func (t *manualTimer) Stop() bool {
	armed := t.clock.disarm(t.w)
	t.drain()
	return armed
}

func (t *manualTimer) Reset(d time.Duration) bool {
	armed := t.Stop()
	t.clock.arm(t.w, func(now time.Time) time.Time { return now.Add(d) })
	return armed
}

func (t *manualTimer) drain() {
	select {
	case <-t.w.c:
	default:
	}
}

// WithDeadline implements clock: the context's deadline passes when Advance
// reaches d.
func (c *ManualClock) WithDeadline(parent context.Context, d time.Time) (context.Context, context.CancelFunc) {
	ctx := &deadlineCtx{Context: parent, deadline: d, done: make(chan struct{})}
	w := &manualWait{fire: func() { ctx.cancel(context.DeadlineExceeded) }}
	stop := context.AfterFunc(parent, func() { ctx.cancel(parent.Err()) })
	c.arm(w, func(time.Time) time.Time { return d })
	return ctx, func() {
		stop()
		c.disarm(w)
		ctx.cancel(context.Canceled)
	}
}

// deadlineCtx is a context whose deadline is on a ManualClock.
type deadlineCtx struct {
	context.Context
	deadline time.Time
	done     chan struct{}

	mu  sync.Mutex
	err error
}

func (c *deadlineCtx) Deadline() (time.Time, bool) { return c.deadline, true }
func (c *deadlineCtx) Done() <-chan struct{}       { return c.done }

func (c *deadlineCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *deadlineCtx) cancel(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = err
		close(c.done)
	}
}
