package sim

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panka/panka/provider"
)

// Op names a provider operation, for fault injection and call counting.
type Op int

const (
	OpAny Op = iota // matches every operation
	OpCreate
	OpRead
	OpFind
	OpUpdate
	OpDelete
	numOps
)

func (o Op) String() string {
	switch o {
	case OpAny:
		return "any"
	case OpCreate:
		return "create"
	case OpRead:
		return "read"
	case OpFind:
		return "find"
	case OpUpdate:
		return "update"
	case OpDelete:
		return "delete"
	}
	return fmt.Sprintf("Op(%d)", int(o))
}

// Fault is one fault-injection rule. A call matches it when its operation is Op (or Op is
// OpAny) and its kind is Kind (or Kind is ""). The rule lets the first After matching calls
// through, then fails the next Times matching calls (0 means 1; a negative number means every
// call until ClearFaults) and is then spent.
//
// A failed call does nothing to the simulated cloud. It returns Err, wrapped with the call's
// context ("create SQS orders: <Err>"), after the operation's latency; with Hang set it instead
// blocks until the call's context is done and returns the context's error.
type Fault struct {
	Op    Op
	Kind  string
	After int
	Times int
	Err   error
	Hang  bool
}

// faultRule is a Fault with its progress.
type faultRule struct {
	Fault
	fired chan struct{} // closed the first time the rule fails a call
}

// faults is the provider's rule list, checked in the order rules were added.
type faults struct {
	mu    sync.Mutex
	rules []*faultRule
}

// Inject adds a fault rule and returns a channel that is closed when the rule first fails a
// call (for a Hang rule: when a call has started to hang). It is safe to call at any time,
// concurrently with operations; it affects calls that start after it returns.
//
// Every rule that matches a call counts it toward its After, but only the first rule (in the
// order added) that is due fails it; the others keep their Times for later calls.
func (p *Provider) Inject(f Fault) <-chan struct{} {
	if f.Times == 0 {
		f.Times = 1
	}
	r := &faultRule{Fault: f, fired: make(chan struct{})}
	p.faults.mu.Lock()
	p.faults.rules = append(p.faults.rules, r)
	p.faults.mu.Unlock()
	return r.fired
}

// FailOn makes the n-th matching call from now (1-based) of op on kind ("" for every kind) fail
// with an error wrapping err, doing nothing. n < 1 is taken as 1.
func (p *Provider) FailOn(op Op, kind string, n int, err error) {
	p.Inject(Fault{Op: op, Kind: kind, After: max(n, 1) - 1, Times: 1, Err: err})
}

// Throttle makes the next times matching calls of op on kind ("" for every kind) fail with an
// error wrapping provider.ErrThrottled, so provider.Retryable reports true for them.
func (p *Provider) Throttle(op Op, kind string, times int) {
	if times <= 0 {
		return
	}
	p.Inject(Fault{Op: op, Kind: kind, Times: times, Err: fmt.Errorf("sim: injected throttling: %w", provider.ErrThrottled)})
}

// Hang makes the next matching call of op on kind ("" for every kind) block until its context is
// done and return the context's error, doing nothing. The returned channel is closed once that
// call has started to hang, so a test can cancel at a known point.
func (p *Provider) Hang(op Op, kind string) <-chan struct{} {
	return p.Inject(Fault{Op: op, Kind: kind, Times: 1, Hang: true})
}

// ClearFaults removes every fault rule.
func (p *Provider) ClearFaults() {
	p.faults.mu.Lock()
	p.faults.rules = nil
	p.faults.mu.Unlock()
}

// match counts a call against every matching rule and returns the rule that fails it, if any.
func (f *faults) match(op Op, kind string) *Fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	var hit *Fault
	kept := f.rules[:0]
	for _, r := range f.rules {
		if (r.Op == OpAny || r.Op == op) && (r.Kind == "" || r.Kind == kind) {
			switch {
			case r.After > 0:
				r.After--
			case hit == nil:
				hit = &Fault{Op: r.Op, Kind: r.Kind, Err: r.Err, Hang: r.Hang}
				if r.Times > 0 {
					r.Times--
				}
				select {
				case <-r.fired:
				default:
					close(r.fired)
				}
			}
		}
		if r.Times != 0 {
			kept = append(kept, r)
		}
	}
	clear(f.rules[len(kept):])
	f.rules = kept
	return hit
}

// latency holds the simulated time each operation takes.
type latency struct {
	mu      sync.RWMutex
	def     time.Duration
	perKind map[string]time.Duration
}

// SetLatency sets how long every operation takes, for kinds without their own latency. Safe to
// call at any time; calls already waiting keep their duration.
func (p *Provider) SetLatency(d time.Duration) {
	p.latency.mu.Lock()
	p.latency.def = d
	p.latency.mu.Unlock()
}

// SetKindLatency sets how long operations on kind take, overriding SetLatency; a negative d
// removes the override.
func (p *Provider) SetKindLatency(kind string, d time.Duration) {
	p.latency.mu.Lock()
	defer p.latency.mu.Unlock()
	if d < 0 {
		delete(p.latency.perKind, kind)
		return
	}
	if p.latency.perKind == nil {
		p.latency.perKind = make(map[string]time.Duration)
	}
	p.latency.perKind[kind] = d
}

func (l *latency) of(kind string) time.Duration {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if d, ok := l.perKind[kind]; ok {
		return d
	}
	return l.def
}

// wait blocks for d or until ctx is done, whichever is first.
func wait(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// calls counts operations by Op; calls[OpAny] is the total.
type calls [numOps]atomic.Int64

// Calls returns how many calls of op have been made, failed ones included; Calls(OpAny) counts
// every operation.
func (p *Provider) Calls(op Op) int {
	if op < 0 || op >= numOps {
		return 0
	}
	return int(p.calls[op].Load())
}
