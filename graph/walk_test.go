package graph

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// waitTimeout bounds every wait in these tests, so that a walker that fails
// to start something the test waits for makes the test fail, not hang.
const waitTimeout = 2 * time.Second

// await waits for ch to close and reports a test error on timeout. It may be
// called from fn's goroutines.
func await(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(waitTimeout):
		t.Errorf("timed out waiting for %s", what)
	}
}

// recorder is a Walk callback that records which nodes ran and fails the ones
// listed in fail.
type recorder struct {
	fail map[string]error

	mu    sync.Mutex
	calls []string
}

func (r *recorder) fn(_ context.Context, id string) error {
	r.mu.Lock()
	r.calls = append(r.calls, id)
	r.mu.Unlock()
	return r.fail[id]
}

func (r *recorder) called() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Sorted(slices.Values(r.calls))
}

func TestOutcomeString(t *testing.T) {
	for o, want := range map[Outcome]string{
		OutcomeSucceeded: "succeeded",
		OutcomeFailed:    "failed",
		OutcomeSkipped:   "skipped",
		OutcomeCanceled:  "canceled",
		Outcome(0):       "Outcome(0)",
	} {
		if got := o.String(); got != want {
			t.Errorf("Outcome(%d).String() = %q, want %q", int(o), got, want)
		}
	}
}

func TestWalkCycle(t *testing.T) {
	g := build([]string{"ok"}, edge{"a", "b"}, edge{"b", "a"})
	rec := &recorder{}
	res, err := g.Walk(t.Context(), WalkOptions{}, rec.fn)
	var ce *CycleError
	if !errors.As(err, &ce) {
		t.Fatalf("Walk() error = %v, want *CycleError", err)
	}
	if diff := cmp.Diff([][]string{{"a", "b", "a"}}, ce.Cycles); diff != "" {
		t.Errorf("CycleError.Cycles mismatch (-want +got):\n%s", diff)
	}
	if res != nil {
		t.Errorf("Walk() result = %+v, want nil", res)
	}
	if got := rec.called(); len(got) != 0 {
		t.Errorf("fn called for %q on a cyclic graph", got)
	}
}

func TestWalkEmpty(t *testing.T) {
	res, err := New().Walk(t.Context(), WalkOptions{}, (&recorder{}).fn)
	if err != nil {
		t.Fatalf("Walk() error = %v", err)
	}
	if len(res.Outcomes) != 0 || len(res.Errors) != 0 || res.Err() != nil {
		t.Errorf("Walk() on empty graph = %+v, Err() = %v; want nothing", res, res.Err())
	}
}

// TestWalkDependencyOrder checks that every node starts only after all of its
// dependencies have finished, and that each runs exactly once.
func TestWalkDependencyOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	random := New()
	for i := range 500 {
		random.AddNode(fmt.Sprintf("n%03d", i))
		for range 3 {
			if j := rng.IntN(500); j < i {
				random.AddEdge(fmt.Sprintf("n%03d", i), fmt.Sprintf("n%03d", j))
			}
		}
	}
	graphs := map[string]*Graph{
		"diamond": build(nil, edge{"top", "l"}, edge{"top", "r"}, edge{"l", "base"}, edge{"r", "base"}),
		"layered": layeredGraph(8, 30, 3),
		"random":  random,
	}
	for name, g := range graphs {
		for _, parallelism := range []int{1, 4, 0} {
			t.Run(fmt.Sprintf("%s/parallelism=%d", name, parallelism), func(t *testing.T) {
				var (
					mu       sync.Mutex
					started  = map[string]bool{}
					finished = map[string]bool{}
				)
				fn := func(_ context.Context, id string) error {
					mu.Lock()
					if started[id] {
						t.Errorf("%s started twice", id)
					}
					started[id] = true
					for _, dep := range g.DependenciesOf(id) {
						if !finished[dep] {
							t.Errorf("%s started before its dependency %s finished", id, dep)
						}
					}
					mu.Unlock()

					runtime.Gosched() // let other calls interleave

					mu.Lock()
					finished[id] = true
					mu.Unlock()
					return nil
				}
				res, err := g.Walk(t.Context(), WalkOptions{Parallelism: parallelism}, fn)
				if err != nil {
					t.Fatalf("Walk() error = %v", err)
				}
				if err := res.Err(); err != nil {
					t.Errorf("Err() = %v, want nil", err)
				}
				if len(started) != g.Len() {
					t.Errorf("fn ran for %d nodes, want %d", len(started), g.Len())
				}
				for _, id := range g.Nodes() {
					if got := res.Outcomes[id]; got != OutcomeSucceeded {
						t.Errorf("Outcomes[%s] = %v, want succeeded", id, got)
					}
				}
			})
		}
	}
}

// TestWalkParallelismBound checks that the number of concurrent calls reaches
// the bound and never exceeds it. The first calls block until the bound is
// reached, so a walker that runs fewer at once times out. Once the bound is
// reached they stay blocked for a short grace period (cut short if another
// call arrives), so that a walker that would start one call too many does so
// while they still run.
func TestWalkParallelismBound(t *testing.T) {
	const grace = 20 * time.Millisecond
	tests := []struct {
		name        string
		parallelism int
		want        int
	}{
		{name: "sequential", parallelism: 1, want: 1},
		{name: "two", parallelism: 2, want: 2},
		{name: "seven", parallelism: 7, want: 7},
		{name: "zero means default", parallelism: 0, want: DefaultParallelism},
		{name: "negative means default", parallelism: -3, want: DefaultParallelism},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Enough independent nodes for several rounds, plus a few
			// dependents so that readiness changes while calls run.
			g := New()
			for i := range 3*tc.want + 2 {
				g.AddNode(fmt.Sprintf("n%02d", i))
			}
			g.AddEdge("z1", "n00")
			g.AddEdge("z2", "z1")

			var (
				running, peak     atomic.Int32
				reached, over     = make(chan struct{}), make(chan struct{})
				openGate, tooMany sync.Once
			)
			fn := func(_ context.Context, id string) error {
				n := running.Add(1)
				defer running.Add(-1)
				for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
				}
				switch {
				case int(n) > tc.want:
					tooMany.Do(func() { close(over) })
				case int(n) == tc.want:
					openGate.Do(func() {
						select {
						case <-over:
						case <-time.After(grace):
						}
						close(reached)
					})
				}
				select {
				case <-reached:
				case <-time.After(waitTimeout):
					t.Errorf("%s: timed out waiting for %d concurrent calls", id, tc.want)
					openGate.Do(func() { close(reached) })
				}
				return nil
			}
			res, err := g.Walk(t.Context(), WalkOptions{Parallelism: tc.parallelism}, fn)
			if err != nil {
				t.Fatalf("Walk() error = %v", err)
			}
			if err := res.Err(); err != nil {
				t.Errorf("Err() = %v, want nil", err)
			}
			if got := int(peak.Load()); got != tc.want {
				t.Errorf("peak concurrent calls = %d, want %d", got, tc.want)
			}
		})
	}
}

// TestWalkStartsWhenLastDependencyFinishes checks there is no barrier
// between levels: c, whose only dependency b is done, must start while a
// (on the same level as b) is still running.
func TestWalkStartsWhenLastDependencyFinishes(t *testing.T) {
	g := build([]string{"a"}, edge{"c", "b"})
	cStarted := make(chan struct{})
	fn := func(_ context.Context, id string) error {
		switch id {
		case "a":
			await(t, cStarted, "c to start while a runs")
		case "c":
			close(cStarted)
		}
		return nil
	}
	res, err := g.Walk(t.Context(), WalkOptions{Parallelism: 2}, fn)
	if err != nil {
		t.Fatalf("Walk() error = %v", err)
	}
	if err := res.Err(); err != nil {
		t.Errorf("Err() = %v, want nil", err)
	}
}

func TestWalkSkipsDependentsOfFailure(t *testing.T) {
	errA := errors.New("a broke")
	errX := errors.New("x broke")
	// a ← b ← c      a failed: b, c skipped, and so is f (also needs d)
	// a ← f → d ← e  d and e are independent of a and still run
	// x ← y → d      a second, independent failure
	g := build(nil,
		edge{"b", "a"}, edge{"c", "b"}, edge{"f", "a"}, edge{"f", "d"}, edge{"e", "d"},
		edge{"y", "x"}, edge{"y", "d"},
	)
	tests := []struct {
		name         string
		fail         map[string]error
		wantCalled   []string
		wantOutcomes map[string]Outcome
		wantErr      string
	}{
		{
			name:       "one failure",
			fail:       map[string]error{"a": errA},
			wantCalled: []string{"a", "d", "e", "x", "y"},
			wantOutcomes: map[string]Outcome{
				"a": OutcomeFailed, "b": OutcomeSkipped, "c": OutcomeSkipped, "f": OutcomeSkipped,
				"d": OutcomeSucceeded, "e": OutcomeSucceeded, "x": OutcomeSucceeded, "y": OutcomeSucceeded,
			},
			wantErr: "a: a broke",
		},
		{
			name:       "two failures reported once each, sorted",
			fail:       map[string]error{"x": errX, "a": errA},
			wantCalled: []string{"a", "d", "e", "x"},
			wantOutcomes: map[string]Outcome{
				"a": OutcomeFailed, "b": OutcomeSkipped, "c": OutcomeSkipped, "f": OutcomeSkipped,
				"d": OutcomeSucceeded, "e": OutcomeSucceeded, "x": OutcomeFailed, "y": OutcomeSkipped,
			},
			wantErr: "a: a broke\nx: x broke",
		},
	}
	for _, tc := range tests {
		// With parallelism 1, a (the smallest ready ID) runs and fails
		// first, so the independent branch d ← e runs after the failure.
		for _, parallelism := range []int{1, 4} {
			t.Run(fmt.Sprintf("%s/parallelism=%d", tc.name, parallelism), func(t *testing.T) {
				rec := &recorder{fail: tc.fail}
				res, err := g.Walk(t.Context(), WalkOptions{Parallelism: parallelism}, rec.fn)
				if err != nil {
					t.Fatalf("Walk() error = %v", err)
				}
				if diff := cmp.Diff(tc.wantCalled, rec.called()); diff != "" {
					t.Errorf("fn called for (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(tc.wantOutcomes, res.Outcomes); diff != "" {
					t.Errorf("Outcomes mismatch (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(tc.fail, res.Errors, cmp.Comparer(func(a, b error) bool { return a == b })); diff != "" {
					t.Errorf("Errors mismatch (-want +got):\n%s", diff)
				}
				got := res.Err()
				if got == nil || got.Error() != tc.wantErr {
					t.Errorf("Err() = %q, want %q", got, tc.wantErr)
				}
				for _, e := range tc.fail {
					if !errors.Is(got, e) {
						t.Errorf("errors.Is(Err(), %v) = false, want true", e)
					}
				}
			})
		}
	}
}

// TestWalkCancelInFlight cancels from inside one call while another runs:
// the running call sees ctx done and still finishes, no other node starts,
// and Walk returns only after both calls returned (the running call's
// outcome is only known once it has returned).
func TestWalkCancelInFlight(t *testing.T) {
	g := New()
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		g.AddNode(id)
	}
	g.AddEdge("f", "a")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()

	var (
		calls    atomic.Int32
		returned atomic.Int32
		mu       sync.Mutex
		ran      []string
	)
	fn := func(ctx context.Context, id string) error {
		defer returned.Add(1)
		mu.Lock()
		ran = append(ran, id)
		mu.Unlock()
		switch calls.Add(1) {
		case 1:
			select {
			case <-ctx.Done():
			case <-time.After(waitTimeout):
				t.Errorf("%s: ctx not canceled while running", id)
			}
		case 2:
			cancel()
		default:
			t.Errorf("%s started after ctx was canceled", id)
		}
		return nil
	}
	res, err := g.Walk(ctx, WalkOptions{Parallelism: 2}, fn)
	if err != nil {
		t.Fatalf("Walk() error = %v", err)
	}
	if c, r := calls.Load(), returned.Load(); c != 2 || r != c {
		t.Errorf("Walk returned with %d calls started and %d returned, want 2 and 2", c, r)
	}

	want := map[string]Outcome{}
	for _, id := range g.Nodes() {
		want[id] = OutcomeCanceled
	}
	for _, id := range ran {
		want[id] = OutcomeSucceeded
	}
	if diff := cmp.Diff(want, res.Outcomes); diff != "" {
		t.Errorf("Outcomes mismatch (-want +got):\n%s", diff)
	}
	if len(res.Errors) != 0 {
		t.Errorf("Errors = %v, want none", res.Errors)
	}
	if err := res.Err(); !errors.Is(err, context.Canceled) {
		t.Errorf("Err() = %v, want context.Canceled", err)
	}
}

func TestWalkCancel(t *testing.T) {
	boom := errors.New("boom")
	cause := errors.New("lease lost")
	tests := []struct {
		name string
		// graph is a ← c, b ← d; parallelism 2.
		// fn is called for a and b, each with the walk's cancel func.
		a, b         func(ctx context.Context, cancel context.CancelCauseFunc) error
		precanceled  bool
		wantOutcomes map[string]Outcome
		wantErrIs    []error
		wantErr      string
	}{
		{
			name:        "canceled before the walk",
			precanceled: true,
			wantOutcomes: map[string]Outcome{
				"a": OutcomeCanceled, "b": OutcomeCanceled, "c": OutcomeCanceled, "d": OutcomeCanceled,
			},
			wantErrIs: []error{context.Canceled},
			wantErr:   "walk canceled: context canceled",
		},
		{
			name: "failure after cancel skips its dependents",
			a: func(ctx context.Context, _ context.CancelCauseFunc) error {
				select {
				case <-ctx.Done():
				case <-time.After(waitTimeout):
					return errors.New("ctx not canceled")
				}
				return boom
			},
			b: func(_ context.Context, cancel context.CancelCauseFunc) error {
				cancel(nil)
				return nil
			},
			wantOutcomes: map[string]Outcome{
				"a": OutcomeFailed, "b": OutcomeSucceeded, "c": OutcomeSkipped, "d": OutcomeCanceled,
			},
			wantErrIs: []error{boom, context.Canceled},
			wantErr:   "a: boom\nwalk canceled: context canceled",
		},
		{
			name: "cancellation cause is reported",
			a: func(ctx context.Context, _ context.CancelCauseFunc) error {
				select {
				case <-ctx.Done():
				case <-time.After(waitTimeout):
					return errors.New("ctx not canceled")
				}
				return nil
			},
			b: func(_ context.Context, cancel context.CancelCauseFunc) error {
				cancel(cause)
				return nil
			},
			wantOutcomes: map[string]Outcome{
				"a": OutcomeSucceeded, "b": OutcomeSucceeded, "c": OutcomeCanceled, "d": OutcomeCanceled,
			},
			wantErrIs: []error{context.Canceled, cause},
			wantErr:   "walk canceled: context canceled: lease lost",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := build(nil, edge{"c", "a"}, edge{"d", "b"})
			ctx, cancel := context.WithCancelCause(t.Context())
			defer cancel(nil)
			if tc.precanceled {
				cancel(nil)
			}
			// Neither a nor b may finish before the other has started,
			// so that c and d are never ready before the cancellation.
			var started atomic.Int32
			allStarted := make(chan struct{})
			fn := func(ctx context.Context, id string) error {
				switch id {
				case "a", "b":
					if started.Add(1) == 2 {
						close(allStarted)
					}
					await(t, allStarted, "a and b to run at once")
					if id == "a" {
						return tc.a(ctx, cancel)
					}
					return tc.b(ctx, cancel)
				}
				t.Errorf("%s started after ctx was canceled", id)
				return nil
			}
			res, err := g.Walk(ctx, WalkOptions{Parallelism: 2}, fn)
			if err != nil {
				t.Fatalf("Walk() error = %v", err)
			}
			if diff := cmp.Diff(tc.wantOutcomes, res.Outcomes); diff != "" {
				t.Errorf("Outcomes mismatch (-want +got):\n%s", diff)
			}
			got := res.Err()
			for _, e := range tc.wantErrIs {
				if !errors.Is(got, e) {
					t.Errorf("errors.Is(Err(), %v) = false, want true", e)
				}
			}
			if got == nil || got.Error() != tc.wantErr {
				t.Errorf("Err() = %q, want %q", got, tc.wantErr)
			}
		})
	}
}

func BenchmarkWalk1kLayered(b *testing.B) {
	g := layeredGraph(10, 100, 3)
	fn := func(context.Context, string) error { return nil }
	b.ReportAllocs()
	for b.Loop() {
		res, err := g.Walk(b.Context(), WalkOptions{}, fn)
		if err != nil {
			b.Fatal(err)
		}
		if err := res.Err(); err != nil {
			b.Fatal(err)
		}
	}
}
