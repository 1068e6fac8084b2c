package graph

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
)

// Outcome is what happened to one node during a Walk.
type Outcome int

const (
	// OutcomeSucceeded: fn ran and returned nil.
	OutcomeSucceeded Outcome = iota + 1
	// OutcomeFailed: fn ran and returned an error.
	OutcomeFailed
	// OutcomeSkipped: fn did not run because a dependency failed or was
	// skipped.
	OutcomeSkipped
	// OutcomeCanceled: fn did not run because the context was done before
	// the node could start.
	OutcomeCanceled
)

// String returns "succeeded", "failed", "skipped" or "canceled".
func (o Outcome) String() string {
	switch o {
	case OutcomeSucceeded:
		return "succeeded"
	case OutcomeFailed:
		return "failed"
	case OutcomeSkipped:
		return "skipped"
	case OutcomeCanceled:
		return "canceled"
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// DefaultParallelism is the number of concurrent calls Walk makes when
// WalkOptions.Parallelism is zero or negative.
const DefaultParallelism = 10

// WalkOptions configures Walk. The zero value is ready to use.
type WalkOptions struct {
	// Parallelism bounds the number of fn calls in flight at once.
	// Zero or negative means DefaultParallelism.
	Parallelism int
}

// WalkResult reports what happened to every node of a Walk.
type WalkResult struct {
	// Outcomes has an entry for every node of the graph.
	Outcomes map[string]Outcome
	// Errors has the error fn returned for each failed node, and nothing
	// else: skipped and canceled nodes have no entry.
	Errors map[string]error

	canceled error // the context's error, if any node was canceled
}

// Err returns nil if every node succeeded. Otherwise it returns the errors of
// the failed nodes, each wrapped as "id: err" and sorted by ID, joined with
// errors.Join, followed by the context's error if any node was canceled. The
// result supports errors.Is and errors.As against each of them.
func (r *WalkResult) Err() error {
	var errs []error
	for _, id := range slices.Sorted(maps.Keys(r.Errors)) {
		errs = append(errs, fmt.Errorf("%s: %w", id, r.Errors[id]))
	}
	if r.canceled != nil {
		errs = append(errs, r.canceled)
	}
	return errors.Join(errs...)
}

// Walk calls fn once for every node, in dependency order and in parallel,
// and reports each node's Outcome. It guarantees:
//
//   - Cycles: if the graph has a cycle, Walk returns a *CycleError and a nil
//     result without calling fn at all.
//   - Bounded parallelism: at most opts.Parallelism calls of fn run at once.
//   - Dependency order: fn(id) starts only after fn has returned nil for every
//     dependency of id, and it starts as soon as the last of them returns
//     (there is no level-by-level barrier). Among nodes ready at the same
//     time, the smallest ID starts first.
//   - Failure: when fn returns an error the node is Failed and its error is
//     recorded. Every node that depends on it, directly or transitively, is
//     Skipped without running; skipped nodes get no error of their own, so a
//     failure is reported once. Nodes that do not depend on the failed one
//     keep running.
//   - Cancellation: once ctx is done, no further node starts; the nodes not
//     yet started are Canceled (or Skipped, if a dependency failed). Calls
//     already running are not interrupted by Walk, but they receive ctx and
//     may observe it; their results are recorded as usual.
//
// Walk returns only after every call of fn it started has returned. The
// returned error is only about the walk itself (a cycle); what happened to
// the nodes is in the result, summarised by WalkResult.Err.
//
// fn is called from multiple goroutines, never twice for the same ID. Walk
// works on a snapshot of the graph taken when it is called, so fn may safely
// read g; changes it makes to g do not affect the walk in progress. fn must
// not panic.
func (g *Graph) Walk(ctx context.Context, opts WalkOptions, fn func(ctx context.Context, id string) error) (*WalkResult, error) {
	ix := g.index()
	if cycles := ix.cycles(); cycles != nil {
		return nil, &CycleError{Cycles: cycles}
	}
	parallelism := opts.Parallelism
	if parallelism <= 0 {
		parallelism = DefaultParallelism
	}

	// Only this goroutine touches the scheduling state; calls of fn report
	// back on done, which is large enough that they never block.
	type report struct {
		v   int32
		err error
	}
	var (
		n        = len(ix.ids)
		outcome  = make([]Outcome, n) // zero until decided
		pending  = make([]int32, n)   // dependencies not yet succeeded
		ready    minHeap
		running  int
		done     = make(chan report, parallelism)
		res      = &WalkResult{Outcomes: make(map[string]Outcome, n), Errors: map[string]error{}}
		toSkip   []int32
		canceled bool
	)
	for v := range n {
		pending[v] = int32(len(ix.deps[v]))
		if pending[v] == 0 {
			ready.push(int32(v))
		}
	}
	for {
		for running < parallelism && ready.len() > 0 && ctx.Err() == nil {
			v := ready.pop()
			running++
			go func() { done <- report{v, fn(ctx, ix.ids[v])} }()
		}
		if running == 0 {
			break
		}
		r := <-done
		running--
		if r.err != nil {
			outcome[r.v] = OutcomeFailed
			res.Errors[ix.ids[r.v]] = r.err
			// None of the transitive dependents can have started, since
			// each needs r.v to succeed first.
			toSkip = append(toSkip[:0], ix.dependents[r.v]...)
			for len(toSkip) > 0 {
				w := toSkip[len(toSkip)-1]
				toSkip = toSkip[:len(toSkip)-1]
				if outcome[w] == 0 {
					outcome[w] = OutcomeSkipped
					toSkip = append(toSkip, ix.dependents[w]...)
				}
			}
			continue
		}
		outcome[r.v] = OutcomeSucceeded
		for _, w := range ix.dependents[r.v] {
			pending[w]--
			if pending[w] == 0 && outcome[w] == 0 {
				ready.push(w)
			}
		}
	}
	for v, o := range outcome {
		if o == 0 {
			// Only a done ctx leaves nodes undecided in an acyclic graph.
			o = OutcomeCanceled
			canceled = true
		}
		res.Outcomes[ix.ids[v]] = o
	}
	if canceled {
		res.canceled = fmt.Errorf("walk canceled: %w", contextError(ctx))
	}
	return res, nil
}

// contextError returns ctx.Err(), joined with the cancellation cause when
// one was given, so that errors.Is matches both.
func contextError(ctx context.Context) error {
	err := ctx.Err()
	if cause := context.Cause(ctx); cause != nil && cause != err {
		return fmt.Errorf("%w: %w", err, cause)
	}
	return err
}
