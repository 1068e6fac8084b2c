package panka_test

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/panka/panka"
	"github.com/panka/panka/backend"
	"github.com/panka/panka/backend/memstate"
	"github.com/panka/panka/provider"
	"github.com/panka/panka/provider/sim"
)

// Tests that are about concurrency wait for the event they depend on (an operation reaching the
// provider, a write reaching the backend, a log record), never for time to pass. within only
// bounds how long a test waits for such an event before it fails rather than hangs.
const within = 10 * time.Second

// receive returns the next value from ch, failing the test if none comes within the bound.
func receive[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(within):
		t.Fatalf("still waiting for %s after %s", what, within)
		panic("unreachable")
	}
}

// gatedProvider is a simulated cloud whose creates stop at a gate. Each create reports its
// address on entered as it reaches the gate; those for which hold is true (every one, if hold
// is nil) wait there until the test lets them through: a send on release lets one through,
// closing it lets all through. It counts the creates in progress at once.
type gatedProvider struct {
	*sim.Provider
	hold    func(address string) bool
	entered chan string
	release chan struct{}

	mu                  sync.Mutex
	calls, inside, peak int
}

func newGatedProvider(p *sim.Provider, hold func(address string) bool) *gatedProvider {
	return &gatedProvider{Provider: p, hold: hold, entered: make(chan string, 1000), release: make(chan struct{})}
}

func (g *gatedProvider) Create(ctx context.Context, r provider.Resource) (*provider.Observed, error) {
	g.mu.Lock()
	g.calls++
	g.inside++
	g.peak = max(g.peak, g.inside)
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		g.inside--
		g.mu.Unlock()
	}()
	g.entered <- r.Address
	if g.hold == nil || g.hold(r.Address) {
		select {
		case <-g.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return g.Provider.Create(ctx, r)
}

// stats returns how many creates were called, how many are in progress, and the most that were
// in progress at once.
func (g *gatedProvider) stats() (calls, inside, peak int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.calls, g.inside, g.peak
}

// waitEntered waits until the create of address has reached the gate.
func (g *gatedProvider) waitEntered(t *testing.T, address string) {
	t.Helper()
	for receive(t, g.entered, "the create of "+address) != address {
	}
}

// gatedBackend is an in-memory state backend whose writes wait for the test: each hands the
// document it is about to store over on writes, then waits for a send on proceed. It counts the
// writes in flight at once.
type gatedBackend struct {
	*memstate.Backend
	writes  chan []byte
	proceed chan struct{}

	mu             sync.Mutex
	inflight, peak int
}

func newGatedBackend(b *memstate.Backend) *gatedBackend {
	return &gatedBackend{Backend: b, writes: make(chan []byte, 100), proceed: make(chan struct{})}
}

// Write sends each document on writes and waits for proceed before storing it.
func (b *gatedBackend) Write(ctx context.Context, key backend.Key, data []byte, ifMatch backend.Version) (backend.Version, error) {
	if err := b.gate(ctx, data); err != nil {
		return "", err
	}
	return b.Backend.Write(ctx, key, data, ifMatch)
}

// AppendEntry gates journal entries like documents: they are writes too.
func (b *gatedBackend) AppendEntry(ctx context.Context, key backend.Key, base backend.Version, n int, entry []byte) error {
	if err := b.gate(ctx, entry); err != nil {
		return err
	}
	return b.Backend.AppendEntry(ctx, key, base, n, entry)
}

func (b *gatedBackend) gate(ctx context.Context, data []byte) error {
	b.mu.Lock()
	b.inflight++
	b.peak = max(b.peak, b.inflight)
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		b.inflight--
		b.mu.Unlock()
	}()
	b.writes <- bytes.Clone(data)
	select {
	case <-b.proceed:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// logSignal is a slog.Handler that closes seen when a record with message msg is logged.
type logSignal struct {
	msg  string
	once sync.Once
	seen chan struct{}
}

func newLogSignal(msg string) *logSignal { return &logSignal{msg: msg, seen: make(chan struct{})} }

func (h *logSignal) Enabled(context.Context, slog.Level) bool { return true }
func (h *logSignal) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *logSignal) WithGroup(string) slog.Handler            { return h }

func (h *logSignal) Handle(_ context.Context, r slog.Record) error {
	if r.Message == h.msg {
		h.once.Do(func() { close(h.seen) })
	}
	return nil
}

// leaseLostLog is what the engine logs once a lost lease has stopped the run.
const leaseLostLog = "lock lease lost: starting no new operations"

// applied is what Apply returned.
type applied struct {
	res *panka.Result
	err error
}

// applyInBackground runs Apply in its own goroutine, for a test that steps it through gates.
func applyInBackground(ctx context.Context, cfg *panka.Config, opts panka.Options) <-chan applied {
	done := make(chan applied, 1)
	go func() {
		res, err := panka.Apply(ctx, cfg, opts)
		done <- applied{res, err}
	}()
	return done
}

// tapEvents makes opts.Events also send every event on the returned channel.
func tapEvents(opts *panka.Options) <-chan panka.Event {
	ch := make(chan panka.Event, 10000)
	next := opts.Events
	opts.Events = func(e panka.Event) {
		if next != nil {
			next(e)
		}
		ch <- e
	}
	return ch
}

// nextEvent returns the next event of type typ from events, skipping others.
func nextEvent(t *testing.T, events <-chan panka.Event, typ panka.EventType) panka.Event {
	t.Helper()
	for {
		if e := receive(t, events, "a "+string(typ)+" event"); e.Type == typ {
			return e
		}
	}
}

// buckets returns n independent S3 buckets.
func buckets(n int) string {
	var b bytes.Buffer
	for i := range n {
		if i > 0 {
			b.WriteString("---\n")
		}
		b.WriteString("apiVersion: panka.io/v1\nkind: S3\nmetadata: {name: b" + itoa(i) + ", service: api}\nspec: {}\n")
	}
	return b.String()
}
