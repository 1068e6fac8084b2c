package panka

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/panka/panka/graph"
	"github.com/panka/panka/lock"
	"github.com/panka/panka/provider"
	"github.com/panka/panka/state"
)

// Version is the Panka version recorded in locks.
const Version = "0.1.0"

// Result is the outcome of Apply, Destroy or Refresh. What was planned is counted in
// Plan.Summary; what the run did, in Counts.
type Result struct {
	Plan      *PlanResult      `json:"plan"`
	Resources []ResourceResult `json:"resources"` // every planned change, sorted by address
	Counts    Counts           `json:"counts"`
	// Serial is the state serial after the run. StateWrites counts the writes it took (whole
	// revisions and journal entries: each raises the serial by one), StateRevisions the whole
	// revisions among them (what the backend's history keeps), StateBytes their bytes.
	Serial         int64 `json:"serial"`
	StateWrites    int   `json:"stateWrites"`
	StateRevisions int   `json:"stateRevisions"`
	StateBytes     int64 `json:"stateBytes"`
}

// Outcome is what became of one planned change in a run.
type Outcome string

const (
	OutcomeSucceeded Outcome = "succeeded" // the change was made
	OutcomeFailed    Outcome = "failed"    // the provider failed it (Err says why)
	OutcomeSkipped   Outcome = "skipped"   // not started: a dependency failed (Err wraps ErrDependencyFailed)
	OutcomeCanceled  Outcome = "canceled"  // not started: the run was stopped (Err wraps the cause)
	OutcomeUnchanged Outcome = "unchanged" // a no-op: nothing to do
)

// Counts counts a run's outcomes, one per planned change. No-ops are Unchanged, never successes.
type Counts struct {
	Succeeded int `json:"succeeded"`
	Failed    int `json:"failed"`
	Skipped   int `json:"skipped"`
	Canceled  int `json:"canceled"`
	Unchanged int `json:"unchanged"`
}

// ResourceResult is what happened to one resource.
type ResourceResult struct {
	Address string  `json:"address"`
	Kind    string  `json:"kind"`
	Action  Action  `json:"action"`
	Outcome Outcome `json:"outcome"`
	// ID, ARN and Outputs describe the resource after the run (as recorded in the state), and
	// are empty for one that does not exist (deleted, or never created).
	ID      string            `json:"id,omitempty"`
	ARN     string            `json:"arn,omitempty"`
	Outputs map[string]string `json:"outputs,omitempty"`
	// Err is why the change failed, was skipped or canceled; test it with errors.Is
	// (provider.ErrThrottled, ErrDependencyFailed, context.Canceled, ErrLeaseLost...). Error is
	// its text, for JSON.
	Err     error         `json:"-"`
	Error   string        `json:"error,omitempty"`
	Elapsed time.Duration `json:"elapsed"`
}

// ErrLeaseLost is returned (wrapped, with lock.ErrLockLost) when the run's lock lease was lost:
// no new operations were started after that, and the state was persisted if it still could be.
var ErrLeaseLost = errors.New("lock lease lost")

// ErrDependencyFailed is wrapped by the Err of a change that was skipped because a change it
// depends on failed.
var ErrDependencyFailed = errors.New("a dependency failed")

// Apply makes the infrastructure match cfg: it takes the stack's lock for the whole run, reads the
// state, plans, and applies the plan (see ApplyPlan for how).
func Apply(ctx context.Context, cfg *Config, opts Options) (*Result, error) {
	return runConfig(ctx, cfg, opts, modeOf(opts))
}

// Destroy deletes every resource of the stack (or opts.Targets and their dependents) in reverse
// dependency order, with the same machinery as Apply.
func Destroy(ctx context.Context, cfg *Config, opts Options) (*Result, error) {
	return runConfig(ctx, cfg, opts, ModeDestroy)
}

// Refresh reads every resource back from the provider and records what it finds (drift, resources
// deleted outside Panka, interrupted creates) in the state, changing nothing in the cloud.
func Refresh(ctx context.Context, cfg *Config, opts Options) (*Result, error) {
	return runConfig(ctx, cfg, opts, ModeRefreshOnly)
}

func runConfig(ctx context.Context, cfg *Config, opts Options, mode Mode) (*Result, error) {
	opts = opts.withDefaults()
	if err := opts.check(true); err != nil {
		return nil, err
	}
	e, err := newEngine(cfg, opts)
	if err != nil {
		return nil, err
	}
	return e.run(ctx, string(mode), func(st *state.State) (*PlanResult, error) { return e.plan(ctx, st, mode) })
}

// ApplyPlan applies a plan made earlier (a saved plan). It first packages again the local files
// the plan's changes upload (Change.Packages) and refuses the plan (ErrStalePlan) if one
// changed since. It takes the lock, checks that the state is still the one the plan was made
// against (else ErrStalePlan, and the lock is released), and walks the changes in dependency
// order with bounded parallelism:
//   - dependents of a failed resource are skipped; independent branches continue;
//   - output references are resolved as their producers finish;
//   - every create is recorded pending (with its deterministic name) before it starts, and each
//     finished operation is group-committed to state, all of it durable before ApplyPlan returns;
//   - when ctx is cancelled no new operation starts, in-flight ones finish, state is persisted;
//     closing opts.Abort also cancels the in-flight ones;
//   - if the lock lease is lost, no new operation starts and the run fails with ErrLeaseLost.
func ApplyPlan(ctx context.Context, p *PlanResult, opts Options) (*Result, error) {
	opts = opts.withDefaults()
	if err := opts.check(true); err != nil {
		return nil, err
	}
	if opts.Tenant != p.Tenant {
		return nil, fmt.Errorf("apply plan: the plan is for tenant %s, not %s", p.Tenant, opts.Tenant)
	}
	if opts.Environment != "" && opts.Environment != p.Environment {
		return nil, fmt.Errorf("apply plan: the plan is for environment %s, not %s", p.Environment, opts.Environment)
	}
	if err := checkProviderTarget(opts.Provider, p.Target); err != nil {
		return nil, fmt.Errorf("apply plan: %w", err)
	}
	packages, err := repackage(p, opts)
	if err != nil {
		return nil, fmt.Errorf("apply plan: %w", err)
	}
	e := &engine{opts: opts, key: p.Key(), target: p.Target, events: &emitter{fn: opts.Events}, started: time.Now(), packages: packages}
	return e.run(ctx, string(p.Mode), func(st *state.State) (*PlanResult, error) {
		if st.Serial != p.Serial || (p.Serial > 0 && st.Lineage != p.Lineage) {
			return nil, fmt.Errorf("%w: the state of %s changed since the plan was made (serial %d, now %d); make a new plan", ErrStalePlan, p.Key(), p.Serial, st.Serial)
		}
		sum := p.Summary
		e.events.emit(Event{Type: EventPlan, Summary: &sum})
		return p, nil
	})
}

// run holds the lock around reading state, planning and applying.
func (e *engine) run(ctx context.Context, operation string, makePlan func(*state.State) (*PlanResult, error)) (res *Result, err error) {
	hb, err := e.lock(ctx, operation)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, e.unlock(ctx, hb)) }()
	st, version, err := e.readState(ctx)
	if err != nil {
		return nil, err
	}
	p, err := makePlan(st)
	if err != nil {
		return nil, err
	}
	return e.apply(ctx, p, st, version, hb)
}

// lock takes the stack's lock for operation, waiting up to LockWait for another holder (and
// saying who), and keeps it with a heartbeat until unlock.
func (e *engine) lock(ctx context.Context, operation string) (*lock.Heartbeat, error) {
	lockKey := e.key.String()
	acquire := lock.AcquireOptions{Owner: e.opts.Who, Operation: operation, Version: Version, TTL: e.opts.LockTTL}
	lease, err := e.opts.Locker.Acquire(ctx, lockKey, acquire)
	var held *lock.LockedError
	if errors.As(err, &held) && e.opts.LockWait > 0 {
		// Say who we are waiting for, then wait.
		msg := fmt.Sprintf("waiting up to %s for the lock held by %s (%s) since %s, lock ID %s",
			e.opts.LockWait, held.Holder.Owner, held.Holder.Operation, held.Holder.Created.UTC().Format(time.RFC3339), held.Holder.ID)
		e.opts.Logger.Warn(msg, "key", lockKey)
		e.events.emit(Event{Type: EventProgress, Message: msg})
		acquire.Wait = e.opts.LockWait
		lease, err = e.opts.Locker.Acquire(ctx, lockKey, acquire)
	}
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", lockKey, err)
	}
	e.opts.Logger.Info("lock acquired", "key", lockKey, "id", lease.ID, "operation", operation)
	return lock.StartHeartbeat(context.WithoutCancel(ctx), e.opts.Locker, lease, e.opts.LockTTL), nil
}

// deleteLeftParts deletes what is left of rec, a resource found gone (deleted outside Panka, or
// by a delete killed after the resource and before its parts) or whose create was interrupted
// before the resource existed (after some of its parts), if the provider deletes parts
// (provider.PartDeleter): they would be orphans once the record is forgotten or replaced.
// Nothing is recorded before they are gone, so a failure leaves the record for the next run.
func (e *engine) deleteLeftParts(ctx context.Context, rec *state.Resource) error {
	pd, ok := e.opts.Provider.(provider.PartDeleter)
	if !ok || rec == nil || rec.Status == state.StatusCreated && len(rec.Parts) == 0 {
		return nil
	}
	r := e.owned(&Change{Address: rec.Address, Kind: rec.Kind, Name: rec.Name})
	err := e.call(ctx, rec.Address, rec.Kind, "delete parts", func(ctx context.Context) error {
		return pd.DeleteParts(ctx, r, rec.Parts)
	})
	if err != nil {
		return fmt.Errorf("apply %s: delete what is left of %s: %w", e.key, rec.Address, err)
	}
	return nil
}

// unlock stops the heartbeat and releases the lock, even when ctx is done. A lock taken over by
// someone else is not an error here (the run has reported the lost lease).
func (e *engine) unlock(ctx context.Context, hb *lock.Heartbeat) error {
	hb.Stop()
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := e.opts.Locker.Release(rctx, hb.Lease()); err != nil && !errors.Is(err, lock.ErrNotOwner) {
		return fmt.Errorf("release lock %s: %w", e.key, err)
	}
	return nil
}

// apply executes p against st (read under the lock, with version).
func (e *engine) apply(ctx context.Context, p *PlanResult, st *state.State, version stateVersion, hb *lock.Heartbeat) (*Result, error) {
	var protected []string
	for _, c := range p.Changes {
		if c.Protected {
			protected = append(protected, c.Address)
		}
	}
	if len(protected) > 0 {
		return nil, fmt.Errorf("apply %s: %w on %s, and the plan deletes or replaces it: set deletionProtection: false in the config and apply that first", e.key, ErrDeletionProtected, strings.Join(protected, ", "))
	}
	res := &Result{Plan: p}
	// The working state starts as the refreshed state of the plan. Records are immutable once
	// in a state (replaced, never edited), so sharing them with st is safe.
	ws := st.Snapshot()
	changed := false
	changes := map[string]*Change{}
	for _, c := range p.Changes {
		changes[c.Address] = c
		// A forgotten record, or one created again, may have left parts behind. (A pending record
		// created again needs nothing: the create adopts its parts by name.)
		if rec := st.Lookup(c.Address); p.Mode != ModeRefreshOnly && rec != nil &&
			(c.Action == ActionForget || c.Prior == nil && c.Action == ActionCreate && rec.Status == state.StatusCreated) {
			if err := e.deleteLeftParts(ctx, rec); err != nil {
				return nil, err
			}
		}
		switch {
		case c.Action == ActionForget:
			ws.Remove(c.Address)
			changed = true
		case c.Prior != nil && c.Prior.Address == c.Address && c.Prior != st.Lookup(c.Address):
			ws.Put(c.Prior)
			changed = true
		case c.Prior == nil && c.Action == ActionCreate && ws.Lookup(c.Address) != nil:
			ws.Remove(c.Address)
		}
		// Record every create as pending up front: one write covers them all.
		if c.Action == ActionCreate {
			ws.Put(&state.Resource{Address: c.Address, Kind: c.Kind, Name: c.Name, Status: state.StatusPending,
				Tags: c.Tags, Dependencies: c.Dependencies})
			changed = true
		}
	}
	w := newStateWriter(e.opts.Backend, e.key, ws, version, e.opts.StateWriteInterval)
	if changed {
		w.update(func(*state.State) {})
		if err := w.flush(context.WithoutCancel(ctx)); err != nil {
			w.close(context.WithoutCancel(ctx))
			return nil, err
		}
	}

	var walkErr error
	if p.Mode != ModeRefreshOnly && p.HasChanges() {
		walkErr = e.walk(ctx, p, st, changes, w, hb, res)
	} else {
		for _, c := range p.Changes {
			res.Resources = append(res.Resources, ResourceResult{Address: c.Address, Kind: c.Kind, Action: c.Action, Outcome: doneOutcome(c)})
		}
	}
	closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	persistErr := w.close(closeCtx)
	if isConflict(persistErr) {
		persistErr = e.unrecorded(closeCtx, w, persistErr)
	}
	res.StateWrites, res.StateRevisions, res.StateBytes, res.Serial = w.stats()
	e.opts.Logger.Info("run finished", "key", e.key.String(), "serial", res.Serial, "state_writes", res.StateWrites,
		"state_revisions", res.StateRevisions, "state_bytes", res.StateBytes)
	w.read(func(st *state.State) {
		for i := range res.Resources {
			rr := &res.Resources[i]
			if r := st.Lookup(rr.Address); r != nil && r.Status == state.StatusCreated {
				rr.ID, rr.ARN, rr.Outputs = r.ID, r.ARN, maps.Clone(r.Outputs)
			}
			switch rr.Outcome {
			case OutcomeSucceeded:
				res.Counts.Succeeded++
			case OutcomeFailed:
				res.Counts.Failed++
			case OutcomeSkipped:
				res.Counts.Skipped++
			case OutcomeCanceled:
				res.Counts.Canceled++
			case OutcomeUnchanged:
				res.Counts.Unchanged++
			}
		}
	})
	sum, counts := p.Summary, res.Counts
	e.events.emit(Event{Type: EventSummary, Summary: &sum, Counts: &counts, Elapsed: time.Since(e.started)})
	return res, errors.Join(walkErr, persistErr)
}

// doneOutcome is the outcome of a change that needs no provider call: a no-op is unchanged; a
// forget was done by the state write before the walk.
func doneOutcome(c *Change) Outcome {
	if c.Action == ActionNoop {
		return OutcomeUnchanged
	}
	return OutcomeSucceeded
}

// walk runs the changes over the execution graph.
func (e *engine) walk(ctx context.Context, p *PlanResult, st *state.State, changes map[string]*Change, w *stateWriter, hb *lock.Heartbeat, res *Result) error {
	g := executionGraph(p, st)
	// runCtx stops new operations: cancelled with ctx, or when the lease is lost.
	runCtx, stopRun := context.WithCancelCause(ctx)
	defer stopRun(nil)
	// opsCtx is what in-flight operations see: cancelled only by Abort.
	opsCtx, abortOps := context.WithCancel(context.WithoutCancel(ctx))
	defer abortOps()
	go func() {
		select {
		case <-hb.Lost():
			stopRun(fmt.Errorf("%w: %w", ErrLeaseLost, hb.Err()))
			e.opts.Logger.Warn("lock lease lost: starting no new operations", "key", e.key.String(), "err", hb.Err())
		case <-runCtx.Done():
		}
	}()
	if e.opts.Abort != nil {
		go func() {
			select {
			case <-e.opts.Abort:
				abortOps()
			case <-opsCtx.Done():
			}
		}()
	}

	clk := e.opts.clock
	var mu sync.Mutex
	results := map[string]*ResourceResult{}
	wr, err := g.Walk(runCtx, graph.WalkOptions{Parallelism: e.opts.Parallelism}, func(_ context.Context, id string) error {
		c := changes[id]
		if c == nil || c.Action == ActionNoop || c.Action == ActionForget {
			return nil
		}
		start := clk.Now()
		e.events.emit(Event{Type: EventStart, Address: c.Address, Kind: c.Kind, Action: c.Action})
		stopProgress := e.reportProgress(c, clk, start)
		err := e.execute(opsCtx, c, w)
		stopProgress()
		rr := &ResourceResult{Address: c.Address, Kind: c.Kind, Action: c.Action, Outcome: OutcomeSucceeded, Elapsed: clk.Now().Sub(start)}
		if err != nil {
			rr.Outcome, rr.Err, rr.Error = OutcomeFailed, err, err.Error()
			e.events.emit(Event{Type: EventError, Address: c.Address, Kind: c.Kind, Action: c.Action, Elapsed: rr.Elapsed, Error: err.Error()})
		} else {
			e.events.emit(Event{Type: EventComplete, Address: c.Address, Kind: c.Kind, Action: c.Action, Elapsed: rr.Elapsed})
		}
		mu.Lock()
		results[id] = rr
		mu.Unlock()
		return err
	})
	if err != nil {
		return fmt.Errorf("apply: %w", err)
	}
	for _, c := range p.Changes {
		if rr := results[c.Address]; rr != nil {
			res.Resources = append(res.Resources, *rr)
			continue
		}
		rr := ResourceResult{Address: c.Address, Kind: c.Kind, Action: c.Action, Outcome: doneOutcome(c)}
		switch wr.Outcomes[c.Address] {
		case graph.OutcomeSkipped:
			if c.Action == ActionNoop || c.Action == ActionForget {
				break // nothing was left undone
			}
			rr.Outcome, rr.Err = OutcomeSkipped, ErrDependencyFailed
			rr.Error = rr.Err.Error()
			e.events.emit(Event{Type: EventSkipped, Address: c.Address, Kind: c.Kind, Action: c.Action, Message: "a dependency failed"})
		case graph.OutcomeCanceled:
			if c.Action == ActionNoop || c.Action == ActionForget {
				break
			}
			rr.Outcome, rr.Err = OutcomeCanceled, fmt.Errorf("the run was stopped before it started: %w", cmp.Or(context.Cause(runCtx), context.Canceled))
			rr.Error = rr.Err.Error()
			e.events.emit(Event{Type: EventSkipped, Address: c.Address, Kind: c.Kind, Action: c.Action, Message: "the run was stopped before it started"})
		}
		res.Resources = append(res.Resources, rr)
	}
	var errs []error
	for _, c := range p.Changes {
		if err := wr.Errors[c.Address]; err != nil {
			errs = append(errs, fmt.Errorf("%s %s: %w", c.Action, c.Address, err))
		}
	}
	if cause := context.Cause(runCtx); cause != nil && runCtx.Err() != nil {
		if errors.Is(cause, ErrLeaseLost) {
			errs = append(errs, cause)
		} else {
			errs = append(errs, fmt.Errorf("apply stopped: %w", cause))
		}
	}
	return errors.Join(errs...)
}

// executionGraph orders the changes: creates and updates after what they depend on (in the new
// config); deletes before what they depended on (in the old state), so a deleted resource's
// dependents are updated or deleted first.
func executionGraph(p *PlanResult, st *state.State) *graph.Graph {
	g := graph.New()
	deleting := map[string]bool{}
	for _, c := range p.Changes {
		g.AddNode(c.Address)
		switch c.Action {
		case ActionDelete, ActionForget:
			deleting[c.Address] = true
		default:
			for _, d := range c.Dependencies {
				g.AddEdge(c.Address, d)
			}
		}
	}
	for id, members := range p.Groups {
		if g.Has(id) {
			for _, m := range members {
				g.AddEdge(id, m)
			}
		}
	}
	// priorDependents: X → resources whose recorded dependencies include X (or X's service).
	priorDependents := map[string][]string{}
	for _, r := range st.Resources {
		for _, d := range r.Dependencies {
			targets := []string{d}
			if !isComponentAddr(d) {
				targets = p.Groups[d]
			}
			for _, t := range targets {
				priorDependents[t] = append(priorDependents[t], r.Address)
			}
		}
	}
	for _, c := range p.Changes {
		base, _, _ := strings.Cut(c.Address, "#")
		for _, y := range priorDependents[base] {
			if y == c.Address || !g.Has(y) {
				continue
			}
			switch {
			case deleting[c.Address]:
				g.AddEdge(c.Address, y) // delete X after Y stops depending on it
			case c.Action == ActionReplace && c.DestroyFirst && deleting[y]:
				g.AddEdge(c.Address, y)
			}
		}
	}
	return g
}

// execute performs one change and records it in the working state.
func (e *engine) execute(ctx context.Context, c *Change, w *stateWriter) error {
	pv := e.opts.Provider
	if c.Action == ActionDelete {
		id := c.Prior.ID
		err := e.call(ctx, c.Address, c.Kind, "delete", func(ctx context.Context) error { return pv.Delete(ctx, id, e.owned(c)) })
		if err != nil {
			return err
		}
		if base, deposedID, isDeposed := strings.Cut(c.Address, "#"); isDeposed {
			w.update(func(st *state.State) {
				if r := st.Lookup(base); r != nil {
					r = r.Clone()
					r.Deposed = slices.DeleteFunc(r.Deposed, func(x string) bool { return x == deposedID })
					st.Put(r)
				}
			})
			return nil
		}
		w.remove(c.Address)
		return nil
	}
	spec, known := e.renderSpec(c, w)
	if !known {
		return fmt.Errorf("an output it references is not available (its producer was not applied)")
	}
	r := provider.Resource{Address: c.Address, Kind: c.Kind, Name: c.Name, Spec: spec, Tags: c.Tags, Files: e.files(c.Address)}
	switch c.Action {
	case ActionCreate:
		return e.create(ctx, c, r, w)
	case ActionUpdate:
		var changed []string
		for _, f := range c.Fields {
			changed = append(changed, f.Path)
		}
		var obs *provider.Observed
		err := e.call(ctx, c.Address, c.Kind, "update", func(ctx context.Context) (err error) {
			obs, err = pv.Update(ctx, c.Prior.ID, r, changed)
			return err
		})
		if err != nil {
			return err
		}
		e.record(w, c, r, obs)
		return nil
	case ActionReplace:
		oldID := c.Prior.ID
		if c.DestroyFirst {
			if err := e.call(ctx, c.Address, c.Kind, "delete", func(ctx context.Context) error { return pv.Delete(ctx, oldID, e.owned(c)) }); err != nil {
				return err
			}
			w.update(func(st *state.State) {
				st.Put(&state.Resource{Address: c.Address, Kind: c.Kind, Name: c.Name, Status: state.StatusPending, Tags: c.Tags, Dependencies: c.Dependencies})
			})
			return e.create(ctx, c, r, w)
		}
		// Create before destroy: the old resource is deposed first, durably, so a crash
		// between the two steps leaves a record of both.
		// The new generation needs its own physical name while the old one exists.
		gen := strings.ReplaceAll(uuid.NewString(), "-", "")[:6]
		r.Name = generationName(c.Name, gen)
		r.Tags = maps.Clone(r.Tags)
		if r.Tags == nil {
			r.Tags = map[string]string{}
		}
		r.Tags[generationTag] = gen
		w.update(func(st *state.State) {
			old := st.Lookup(c.Address)
			rec := &state.Resource{Address: c.Address, Kind: c.Kind, Name: r.Name, Status: state.StatusPending, Tags: r.Tags, Dependencies: c.Dependencies}
			if old != nil {
				rec.Deposed = append(slices.Clone(old.Deposed), old.ID)
			}
			st.Put(rec)
		})
		if err := w.flush(ctx); err != nil {
			return err
		}
		if err := e.create(ctx, c, r, w); err != nil {
			return err
		}
		if err := e.call(ctx, c.Address, c.Kind, "delete", func(ctx context.Context) error { return pv.Delete(ctx, oldID, e.owned(c)) }); err != nil {
			return fmt.Errorf("delete the replaced resource %s: %w", oldID, err)
		}
		w.update(func(st *state.State) {
			if rec := st.Lookup(c.Address); rec != nil {
				rec = rec.Clone()
				rec.Deposed = slices.DeleteFunc(rec.Deposed, func(x string) bool { return x == oldID })
				st.Put(rec)
			}
		})
		return nil
	}
	return nil
}

// create creates r; if a resource with its name exists already (an earlier run crashed after
// creating it), it adopts that one and updates it to the spec.
func (e *engine) create(ctx context.Context, c *Change, r provider.Resource, w *stateWriter) error {
	pv := e.opts.Provider
	var obs *provider.Observed
	err := e.call(ctx, c.Address, c.Kind, "create", func(ctx context.Context) (err error) {
		obs, err = pv.Create(ctx, r)
		return err
	})
	if errors.Is(err, provider.ErrAlreadyExists) {
		err = e.call(ctx, c.Address, c.Kind, "find", func(ctx context.Context) (err error) {
			obs, err = pv.Find(ctx, r)
			return err
		})
		if err != nil {
			return fmt.Errorf("create: the name %s is taken, and not by this resource: %w", r.Name, err)
		}
		id := obs.ID
		err = e.call(ctx, c.Address, c.Kind, "update", func(ctx context.Context) (err error) {
			obs, err = pv.Update(ctx, id, r, nil)
			return err
		})
	}
	if err != nil {
		return err
	}
	e.record(w, c, r, obs)
	return nil
}

func (e *engine) record(w *stateWriter, c *Change, r provider.Resource, obs *provider.Observed) {
	w.update(func(st *state.State) {
		rec := &state.Resource{Address: c.Address, Kind: c.Kind, Name: r.Name, ID: obs.ID, ARN: obs.ARN, Status: state.StatusCreated,
			Spec: r.Spec, Outputs: obs.Outputs, Sensitive: e.secretOutputs(c.Kind, obs.Outputs), Dependencies: c.Dependencies, Tags: r.Tags, Parts: obs.Parts}
		if old := st.Lookup(c.Address); old != nil {
			rec.Deposed = old.Deposed
		}
		st.Put(rec)
	})
}

// owned is the resource of a change as a provider's Delete sees it: its kind and name, and the
// ownership tags of this deployment (derived from the state key, never from a record that a
// refresh could have filled from the cloud), so that a provider refuses to delete a resource
// that belongs to someone else.
func (e *engine) owned(c *Change) provider.Resource {
	base, _, _ := strings.Cut(c.Address, "#")
	return provider.Resource{Address: base, Kind: c.Kind, Name: c.Name, Tags: map[string]string{
		"panka:tenant": e.key.Tenant, "panka:stack": e.key.Stack, "panka:environment": e.key.Environment, "panka:address": base,
	}}
}

// secretOutputs returns the names of outputs the provider marks secret for kind, sorted.
func (e *engine) secretOutputs(kind string, outputs map[string]string) []string {
	var out []string
	for _, name := range e.kindSchema(kind).SecretOutputs {
		if _, ok := outputs[name]; ok {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// renderSpec resolves the change's output references from the working state.
func (e *engine) renderSpec(c *Change, w *stateWriter) (map[string]any, bool) {
	var spec map[string]any
	var known bool
	w.read(func(st *state.State) {
		spec, known = renderTemplate(c.Template, func(addr, name string) (string, bool) {
			r := st.Lookup(addr)
			if r == nil || r.Status != state.StatusCreated {
				return "", false
			}
			v, ok := r.Outputs[name]
			return v, ok
		})
	})
	return spec, known
}

// generationName is the physical name of a create-before-destroy replacement: the deterministic
// name plus a generation suffix, so that old and new can exist at once.
func generationName(name, gen string) string { return name + "-g" + gen }

// baseName strips a generation suffix from a physical name.
func baseName(name string) string {
	if i := strings.LastIndex(name, "-g"); i >= 0 && len(name)-i == 8 {
		return name[:i]
	}
	return name
}

// sameGeneration reports whether current is name or a generation of it.
func sameGeneration(current, name string) bool {
	return current == name || strings.HasPrefix(current, name+"-g") && len(current) == len(name)+8
}

// unrecorded extends a refused final state write (another run wrote the state: this run's lease
// was lost) with the resources this run created or changed that the state now in the backend
// does not record as they are, so that they can be found and imported or removed by hand.
func (e *engine) unrecorded(ctx context.Context, w *stateWriter, persistErr error) error {
	current, _, err := readState(ctx, e.opts.Backend, e.key)
	if err != nil {
		return persistErr
	}
	var lost []string
	w.read(func(ours *state.State) {
		for _, r := range ours.Resources {
			if r.Status != state.StatusCreated {
				continue
			}
			if theirs := current.Lookup(r.Address); theirs == nil || theirs.ID != r.ID {
				lost = append(lost, fmt.Sprintf("%s (%s %s)", r.Address, r.Kind, r.ID))
			}
		}
	})
	if len(lost) == 0 {
		return persistErr
	}
	return fmt.Errorf("%w; not recorded in the state that replaced this run's: %s", persistErr, strings.Join(lost, ", "))
}

// reportProgress emits "still running" progress events for c every ProgressInterval of clk
// until the returned function is called.
func (e *engine) reportProgress(c *Change, clk clock, start time.Time) (stop func()) {
	t := clk.NewTicker(e.opts.ProgressInterval)
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		defer t.Stop()
		for {
			select {
			case <-t.Chan():
				elapsed := clk.Now().Sub(start)
				e.events.emit(Event{Type: EventProgress, Address: c.Address, Kind: c.Kind, Action: c.Action, Elapsed: elapsed,
					Message: fmt.Sprintf("still %s... (%s elapsed)", progressive(c.Action), elapsed.Round(time.Second))})
			case <-done:
				return
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

// clock is where the walk reads the time: operation timings and progress ticks. It is real
// time; tests put a manual clock in the run's context (see export_test.go) to fire progress
// ticks and read exact elapsed times.
type clock interface {
	Now() time.Time
	NewTicker(d time.Duration) ticker
}

type ticker interface {
	Chan() <-chan time.Time
	Stop()
}

type realClock struct{}

func (realClock) Now() time.Time                   { return time.Now() }
func (realClock) NewTicker(d time.Duration) ticker { return realTicker{time.NewTicker(d)} }

type realTicker struct{ *time.Ticker }

func (t realTicker) Chan() <-chan time.Time { return t.C }

func progressive(a Action) string {
	switch a {
	case ActionCreate:
		return "creating"
	case ActionUpdate:
		return "updating"
	case ActionReplace:
		return "replacing"
	case ActionDelete:
		return "destroying"
	}
	return "working"
}
