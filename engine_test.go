package panka_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/stretchr/testify/require"

	"github.com/panka/panka"
	"github.com/panka/panka/backend"
	"github.com/panka/panka/backend/memstate"
	"github.com/panka/panka/lock"
	"github.com/panka/panka/lock/locktest"
	"github.com/panka/panka/lock/memlock"
	"github.com/panka/panka/provider"
	"github.com/panka/panka/provider/sim"
	"github.com/panka/panka/state"
)

// harness is one simulated cloud with in-memory state and locks, shared by the runs of a test.
type harness struct {
	t      *testing.T
	sim    *sim.Provider
	state  *memstate.Backend
	locker *memlock.Locker

	mu     sync.Mutex
	events []panka.Event
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	p, err := sim.New(sim.Options{Region: "eu-west-1", AccountID: "123456789012"})
	require.NoError(t, err)
	return &harness{t: t, sim: p, state: memstate.New(), locker: memlock.New(memlock.Options{})}
}

func (h *harness) opts() panka.Options {
	return panka.Options{
		Provider: h.sim, Backend: h.state, Locker: h.locker, Parallelism: 4,
		Retry:              panka.RetryPolicy{BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond},
		StateWriteInterval: time.Millisecond,
		Events: func(e panka.Event) {
			h.mu.Lock()
			h.events = append(h.events, e)
			h.mu.Unlock()
		},
	}
}

func (h *harness) takeEvents() []panka.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	ev := h.events
	h.events = nil
	return ev
}

const stackPrelude = `apiVersion: panka.io/v1
kind: Stack
metadata: {name: shop}
spec:
  provider: {name: aws, region: eu-west-1, accountId: "123456789012"}
  variables: {TAG: "1"}
---
apiVersion: panka.io/v1
kind: Service
metadata: {name: api}
---
`

// config parses and validates docs appended to a stack "shop" with service "api".
func config(t *testing.T, docs string) *panka.Config {
	t.Helper()
	cfg, err := panka.ParseBytes(context.Background(), "test.yaml", []byte(stackPrelude+docs))
	require.NoError(t, err)
	require.NoError(t, panka.Validate(cfg))
	return cfg
}

func (h *harness) readState() *state.State {
	h.t.Helper()
	st, err := panka.ReadState(context.Background(), h.state, backend.Key{Tenant: "default", Stack: "shop", Environment: "default"})
	require.NoError(h.t, err)
	return st
}

func (h *harness) count(kind string) int {
	n, err := h.sim.Count(kind)
	require.NoError(h.t, err)
	return n
}

const queues = `apiVersion: panka.io/v1
kind: SQS
metadata: {name: dlq, service: api}
spec: {}
---
apiVersion: panka.io/v1
kind: SQS
metadata: {name: jobs, service: api}
spec:
  visibilityTimeout: 60
  deadLetterQueue: {target: dlq, maxReceiveCount: 5}
---
apiVersion: panka.io/v1
kind: Worker
metadata: {name: worker, service: api}
spec:
  image: "worker:${TAG}"
  env: {QUEUE_URL: "${jobs.queueUrl}"}
`

func actions(p *panka.PlanResult) map[string]panka.Action {
	out := map[string]panka.Action{}
	for _, c := range p.Changes {
		out[c.Address] = c.Action
	}
	return out
}

func TestApplyLifecycle(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)

	// Create: outputs flow into consumers, in dependency order.
	res, err := panka.Apply(ctx, config(t, queues), h.opts())
	require.NoError(t, err)
	require.Equal(t, 3, res.Counts.Succeeded)
	require.Equal(t, 2, h.count("SQS"))
	st := h.readState()
	require.Len(t, st.Resources, 3)
	jobs, worker := st.Lookup("api/jobs"), st.Lookup("api/worker")
	require.Equal(t, state.StatusCreated, worker.Status)
	env := worker.Spec["env"].(map[string]any)
	require.Equal(t, jobs.Outputs["queueUrl"], env["QUEUE_URL"], "the worker gets the queue URL once the queue exists")
	require.Equal(t, "https://sqs.eu-west-1.amazonaws.com/123456789012/shop-default-api-jobs", env["QUEUE_URL"])
	order := completionOrder(h.takeEvents())
	require.Less(t, order["api/dlq"], order["api/jobs"])
	require.Less(t, order["api/jobs"], order["api/worker"])

	// No change.
	p, err := panka.Plan(ctx, config(t, queues), h.opts())
	require.NoError(t, err)
	require.False(t, p.HasChanges())
	require.Equal(t, panka.Summary{NoOp: 3}, p.Summary)

	// Update in place, field by field.
	updated := strings.Replace(queues, "visibilityTimeout: 60", "visibilityTimeout: 90", 1)
	p, err = panka.Plan(ctx, config(t, updated), h.opts())
	require.NoError(t, err)
	require.Equal(t, map[string]panka.Action{"api/dlq": panka.ActionNoop, "api/jobs": panka.ActionUpdate, "api/worker": panka.ActionNoop}, actions(p))
	jobsChange := p.Changes[1]
	require.Equal(t, []panka.FieldDiff{{Path: "visibilityTimeout", Before: int64(60), After: int64(90)}}, jobsChange.Fields)
	idBefore := st.Lookup("api/jobs").ID
	_, err = panka.ApplyPlan(ctx, p, h.opts())
	require.NoError(t, err)
	require.Equal(t, idBefore, h.readState().Lookup("api/jobs").ID, "an update keeps the resource")

	// Replace: fifo forces a new queue (its name is unique, so destroy first).
	fifo := strings.Replace(updated, "visibilityTimeout: 90", "visibilityTimeout: 90\n  fifo: true", 1)
	fifo = strings.Replace(fifo, "metadata: {name: dlq, service: api}\nspec: {}", "metadata: {name: dlq, service: api}\nspec: {fifo: true}", 1)
	p, err = panka.Plan(ctx, config(t, fifo), h.opts())
	require.NoError(t, err)
	require.Equal(t, panka.ActionReplace, actions(p)["api/jobs"])
	require.Equal(t, panka.ActionReplace, actions(p)["api/dlq"])
	require.Equal(t, panka.ActionUpdate, actions(p)["api/worker"], "the worker's QUEUE_URL changes with the queue")
	_, err = panka.ApplyPlan(ctx, p, h.opts())
	require.NoError(t, err)
	require.Equal(t, 2, h.count("SQS"), "replaced, not duplicated")
	st = h.readState()
	require.True(t, strings.HasSuffix(st.Lookup("api/jobs").ID, ".fifo"))
	require.Equal(t, st.Lookup("api/jobs").Outputs["queueUrl"], st.Lookup("api/worker").Spec["env"].(map[string]any)["QUEUE_URL"])

	// Removing a component deletes it; Destroy deletes the rest.
	withoutWorker := fifo[:strings.Index(fifo, "---\napiVersion: panka.io/v1\nkind: Worker")]
	p, err = panka.Plan(ctx, config(t, withoutWorker), h.opts())
	require.NoError(t, err)
	require.Equal(t, panka.ActionDelete, actions(p)["api/worker"])
	_, err = panka.ApplyPlan(ctx, p, h.opts())
	require.NoError(t, err)
	require.Equal(t, 0, h.count("Worker"))
	h.takeEvents()
	_, err = panka.Destroy(ctx, config(t, withoutWorker), h.opts())
	require.NoError(t, err)
	require.Equal(t, 0, h.count("SQS"))
	require.Empty(t, h.readState().Resources)
	order = completionOrder(h.takeEvents())
	require.Less(t, order["api/jobs"], order["api/dlq"], "deletes run in reverse dependency order")
}

// completionOrder maps each address to the position of its "complete" event.
func completionOrder(events []panka.Event) map[string]int {
	out := map[string]int{}
	for _, e := range events {
		if e.Type == panka.EventComplete {
			out[e.Address] = len(out)
		}
	}
	return out
}

func TestEventsAreOrderedAndComplete(t *testing.T) {
	h := newHarness(t)
	_, err := panka.Apply(context.Background(), config(t, queues), h.opts())
	require.NoError(t, err)
	events := h.takeEvents()
	require.Equal(t, panka.EventPlan, events[0].Type)
	require.Equal(t, panka.EventSummary, events[len(events)-1].Type)
	require.Equal(t, 3, events[len(events)-1].Counts.Succeeded)
	starts := 0
	for i, e := range events {
		require.Equal(t, int64(i+1), e.Seq, "sequence numbers have no gaps")
		require.False(t, e.Time.IsZero())
		if e.Type == panka.EventStart {
			starts++
		}
		if e.Type == panka.EventComplete {
			require.NotEmpty(t, e.Address)
			require.Equal(t, panka.ActionCreate, e.Action)
		}
	}
	require.Equal(t, 3, starts)
}

func TestFailureSkipsDependentsAndIndependentBranchesContinue(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	boom := errors.New("boom")
	h.sim.FailOn(sim.OpCreate, "SQS", 1, boom) // the first SQS create fails: that is api/dlq
	cfg := config(t, queues+`---
apiVersion: panka.io/v1
kind: S3
metadata: {name: assets, service: api}
spec: {}
`)
	res, err := panka.Apply(ctx, cfg, h.opts())
	require.ErrorIs(t, err, boom)
	require.ErrorContains(t, err, "create api/dlq")
	outcomes := map[string]panka.Outcome{}
	for _, r := range res.Resources {
		outcomes[r.Address] = r.Outcome
	}
	require.Equal(t, map[string]panka.Outcome{"api/dlq": "failed", "api/jobs": "skipped", "api/worker": "skipped", "api/assets": "succeeded"}, outcomes)
	st := h.readState()
	require.Equal(t, state.StatusCreated, st.Lookup("api/assets").Status, "what succeeded is recorded")
	require.Equal(t, state.StatusPending, st.Lookup("api/jobs").Status, "what never started stays pending")

	// The next run finishes the job: pending resources that do not exist are created.
	p, err := panka.Plan(ctx, cfg, h.opts())
	require.NoError(t, err)
	require.Equal(t, panka.Summary{Add: 3, NoOp: 1}, p.Summary)
	_, err = panka.ApplyPlan(ctx, p, h.opts())
	require.NoError(t, err)
	require.Equal(t, 2, h.count("SQS"))
}

func TestRetriesThrottlingWithBackoff(t *testing.T) {
	h := newHarness(t)
	h.sim.Throttle(sim.OpCreate, "SQS", 3)
	_, err := panka.Apply(context.Background(), config(t, queues), h.opts())
	require.NoError(t, err)
	var retries int
	for _, e := range h.takeEvents() {
		if e.Type == panka.EventProgress {
			retries++
			require.Contains(t, e.Message, "retrying")
		}
	}
	require.Equal(t, 3, retries)
	require.Equal(t, 2, h.count("SQS"))
}

func TestRetriesGiveUp(t *testing.T) {
	h := newHarness(t)
	h.sim.Inject(sim.Fault{Op: sim.OpCreate, Kind: "S3", Times: -1, Err: provider.ErrThrottled})
	opts := h.opts()
	opts.Retry.MaxAttempts = 3
	_, err := panka.Apply(context.Background(), config(t, "apiVersion: panka.io/v1\nkind: S3\nmetadata: {name: b, service: api}\nspec: {}\n"), opts)
	require.ErrorIs(t, err, provider.ErrThrottled)
	require.ErrorContains(t, err, "failed after 3 attempts")
}

func TestOperationTimeout(t *testing.T) {
	h := newHarness(t)
	h.sim.Hang(sim.OpCreate, "S3")
	opts := h.opts()
	opts.OperationTimeout = 50 * time.Millisecond
	res, err := panka.Apply(context.Background(), config(t, "apiVersion: panka.io/v1\nkind: S3\nmetadata: {name: b, service: api}\nspec: {}\n"), opts)
	require.ErrorContains(t, err, "create timed out after 50ms")
	require.Equal(t, 1, res.Counts.Failed)
}

// chain returns n SQS queues, each depending on the previous one.
func chain(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString("---\n")
		}
		b.WriteString("apiVersion: panka.io/v1\nkind: SQS\nmetadata: {name: q" + itoa(i) + ", service: api}\nspec:")
		if i > 0 {
			b.WriteString(" {dependsOn: [q" + itoa(i-1) + "]}")
		} else {
			b.WriteString(" {}")
		}
		b.WriteString("\n")
	}
	return b.String()
}

// itoa writes i with at least two digits: "07", "42", "150".
func itoa(i int) string { return fmt.Sprintf("%02d", i) }

func TestCancelStopsNewOperationsAndPersists(t *testing.T) {
	h := newHarness(t)
	gp := newGatedProvider(h.sim, func(address string) bool { return address == "api/q02" })
	ctx, cancel := context.WithCancel(context.Background())
	opts := h.opts()
	opts.Provider = gp
	done := applyInBackground(ctx, config(t, chain(6)), opts)
	gp.waitEntered(t, "api/q02")
	cancel() // Ctrl-C while q02 is being created
	close(gp.release)
	r := receive(t, done, "Apply")
	res, err := r.res, r.err
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorContains(t, err, "apply stopped")
	outcomes := map[string]panka.Outcome{}
	for _, r := range res.Resources {
		outcomes[r.Address] = r.Outcome
	}
	require.Equal(t, panka.OutcomeSucceeded, outcomes["api/q02"], "the operation in flight finishes")
	require.Equal(t, panka.OutcomeCanceled, outcomes["api/q03"], "nothing new starts")
	require.Equal(t, panka.Counts{Succeeded: 3, Canceled: 3}, res.Counts)
	calls, _, _ := gp.stats()
	require.Equal(t, 3, calls, "no create after the cancel")
	require.Equal(t, 3, h.count("SQS"))
	st := h.readState()
	require.Equal(t, state.StatusCreated, st.Lookup("api/q02").Status, "state is persisted")
	_, err = h.locker.Inspect(context.Background(), "default/shop/default")
	require.ErrorIs(t, err, lock.ErrNotLocked, "the lock is released")
}

func TestAbortCancelsInFlightOperations(t *testing.T) {
	h := newHarness(t)
	hung := h.sim.Hang(sim.OpCreate, "SQS")
	abort := make(chan struct{})
	opts := h.opts()
	opts.Abort = abort
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-hung
		cancel()     // first Ctrl-C: the hung create keeps going
		close(abort) // second Ctrl-C: abort it
	}()
	_, err := panka.Apply(ctx, config(t, chain(2)), opts)
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, state.StatusPending, h.readState().Lookup("api/q00").Status)
}

func TestLeaseLostStopsTheRun(t *testing.T) {
	h := newHarness(t)
	// The lease's clock stands still, so it never expires on its own: only the force-unlock
	// below loses it.
	locker := memlock.New(memlock.Options{Now: locktest.NewClock(time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)).Now})
	gp := newGatedProvider(h.sim, func(address string) bool { return address == "api/q01" })
	lost := newLogSignal(leaseLostLog)
	opts := h.opts()
	opts.Provider, opts.Locker, opts.Logger = gp, locker, slog.New(lost)
	opts.LockTTL = 30 * time.Millisecond // a renewal every 10ms: how soon the loss is noticed, not whether
	opts.Parallelism = 1
	events := tapEvents(&opts)
	done := applyInBackground(context.Background(), config(t, chain(30)), opts)

	// While q01 is being created, someone force-unlocks the stack; the next renewal finds out.
	gp.waitEntered(t, "api/q01")
	info, err := locker.Inspect(context.Background(), "default/shop/default")
	require.NoError(t, err)
	require.NoError(t, locker.ForceUnlock(context.Background(), info.Key, info.ID))
	receive(t, lost.seen, "the run to stop on the lost lease")
	close(gp.release) // q01 finishes

	r := receive(t, done, "Apply")
	require.ErrorIs(t, r.err, panka.ErrLeaseLost)
	require.ErrorIs(t, r.err, lock.ErrLockLost)
	require.Equal(t, panka.Counts{Succeeded: 2, Canceled: 28}, r.res.Counts, "no new operations after the lease is lost")
	calls, _, _ := gp.stats()
	require.Equal(t, 2, calls)
	starts := 0
	for len(events) > 0 {
		if e := <-events; e.Type == panka.EventStart {
			starts++
		}
	}
	require.Equal(t, 2, starts, "q00, and q01 in flight when the lease was lost")
	created := h.count("SQS")
	require.Equal(t, 2, created)
	st := h.readState()
	recorded := 0
	for _, r := range st.Resources {
		if r.Status == state.StatusCreated {
			recorded++
		}
	}
	require.Equal(t, created, recorded, "every finished operation is in the state")
}

func TestStalePlanIsRefused(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	p, err := panka.Plan(ctx, config(t, queues), h.opts())
	require.NoError(t, err)
	_, err = panka.Apply(ctx, config(t, chain(1)), h.opts())
	require.NoError(t, err)
	_, err = panka.ApplyPlan(ctx, p, h.opts())
	require.ErrorIs(t, err, panka.ErrStalePlan)
	require.ErrorContains(t, err, "make a new plan")
	_, err = h.locker.Inspect(ctx, "default/shop/default")
	require.ErrorIs(t, err, lock.ErrNotLocked, "the lock is released")
	require.Equal(t, 1, h.count("SQS"), "nothing was applied")
}

func TestSavedPlanRoundTrip(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	_, err := panka.Apply(ctx, config(t, queues), h.opts())
	require.NoError(t, err)
	p, err := panka.Plan(ctx, config(t, strings.Replace(queues, "60", "61", 1)), h.opts())
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, panka.WritePlan(&buf, p))
	require.Empty(t, p.Digest, "WritePlan does not modify the plan it is given")
	require.Empty(t, p.ConfigDigest, "WritePlan does not modify the plan it is given")
	saved := buf.String()
	got, err := panka.ReadPlan(strings.NewReader(saved))
	require.NoError(t, err)
	require.NotEmpty(t, got.Digest)
	require.NotEmpty(t, got.ConfigDigest)
	if d := cmp.Diff(p, got, cmpopts.IgnoreFields(panka.PlanResult{}, "Digest", "ConfigDigest")); d != "" {
		t.Fatalf("plan changed in a round trip (-want +got):\n%s", d)
	}
	_, err = panka.ReadPlan(strings.NewReader(strings.Replace(saved, `"visibilityTimeout": 61`, `"visibilityTimeout": 62`, 1)))
	require.ErrorContains(t, err, "modified or truncated")
	_, err = panka.ReadPlan(strings.NewReader(saved[:len(saved)/2]))
	require.ErrorContains(t, err, "not a Panka plan file")
	// The saved plan applies.
	_, err = panka.ApplyPlan(ctx, got, h.opts())
	require.NoError(t, err)
	require.Equal(t, int64(61), h.readState().Lookup("api/jobs").Spec["visibilityTimeout"])
}

func TestInterruptedCreateIsAdoptedNotDuplicated(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	cfg := config(t, chain(2))
	// A run that created q00 in the cloud and died before recording it: the state says pending.
	p, err := panka.Plan(ctx, cfg, h.opts())
	require.NoError(t, err)
	h.sim.FailOn(sim.OpCreate, "SQS", 2, errors.New("killed"))
	_, err = panka.ApplyPlan(ctx, p, h.opts())
	require.Error(t, err)
	// Simulate the crash window: q00 exists, but its record is rolled back to pending.
	st := h.readState()
	q00 := st.Lookup("api/q00")
	require.Equal(t, state.StatusCreated, q00.Status)
	q00.Status, q00.ID, q00.Outputs = state.StatusPending, "", nil
	data, err := st.Encode()
	require.NoError(t, err)
	_, ver, err := h.state.Read(ctx, backend.Key{Tenant: "default", Stack: "shop", Environment: "default"})
	require.NoError(t, err)
	_, err = h.state.Write(ctx, backend.Key{Tenant: "default", Stack: "shop", Environment: "default"}, data, ver)
	require.NoError(t, err)

	p, err = panka.Plan(ctx, cfg, h.opts())
	require.NoError(t, err)
	// q00 is adopted, and updated: the interrupted create may have stopped before its parts.
	require.Equal(t, map[string]panka.Action{"api/q00": panka.ActionUpdate, "api/q01": panka.ActionCreate}, actions(p))
	require.Equal(t, "adopting a resource whose create was interrupted", p.Changes[0].Reason)
	_, err = panka.ApplyPlan(ctx, p, h.opts())
	require.NoError(t, err)
	require.Equal(t, 2, h.count("SQS"))
	require.Equal(t, state.StatusCreated, h.readState().Lookup("api/q00").Status)
}

func TestExistingResourceWithTheNameIsAdopted(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	// The cloud has the queue (created by a run whose state write never happened), the state
	// has nothing.
	_, err := h.sim.Create(ctx, provider.Resource{Address: "api/q00", Kind: "SQS", Name: "shop-default-api-q00",
		Spec: map[string]any{"visibilityTimeout": int64(5)}, Tags: map[string]string{"panka:address": "api/q00"}})
	require.NoError(t, err)
	_, err = panka.Apply(ctx, config(t, chain(1)), h.opts())
	require.NoError(t, err)
	require.Equal(t, 1, h.count("SQS"))
	require.Equal(t, int64(30), h.readState().Lookup("api/q00").Spec["visibilityTimeout"], "adopted and updated to the config")
}

func TestDriftIsReportedAndRecorded(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	cfg := config(t, queues)
	_, err := panka.Apply(ctx, cfg, h.opts())
	require.NoError(t, err)
	jobs := h.readState().Lookup("api/jobs")
	require.NoError(t, h.sim.Mutate(jobs.ID, func(spec map[string]any) { spec["visibilityTimeout"] = int64(5) }))
	require.NoError(t, h.sim.Remove(h.readState().Lookup("api/worker").ID))

	opts := h.opts()
	opts.RefreshOnly = true
	p, err := panka.Plan(ctx, cfg, opts)
	require.NoError(t, err)
	require.Equal(t, 2, p.Summary.Drifted)
	require.True(t, p.HasChanges())
	var text bytes.Buffer
	require.NoError(t, panka.WritePlanText(&text, p))
	require.Contains(t, text.String(), "  ~ api/jobs (SQS) has changed\n      ~ visibilityTimeout: 60 → 5\n")
	require.Contains(t, text.String(), "  - api/worker (Worker) has been deleted\n")

	// A normal plan proposes to put things back.
	p, err = panka.Plan(ctx, cfg, h.opts())
	require.NoError(t, err)
	require.Equal(t, map[string]panka.Action{"api/dlq": panka.ActionNoop, "api/jobs": panka.ActionUpdate, "api/worker": panka.ActionCreate}, actions(p))

	// Refresh records the drift without changing the cloud.
	_, err = panka.Refresh(ctx, cfg, h.opts())
	require.NoError(t, err)
	st := h.readState()
	require.Equal(t, int64(5), st.Lookup("api/jobs").Spec["visibilityTimeout"])
	require.Nil(t, st.Lookup("api/worker"))
	require.Equal(t, 0, h.count("Worker"), "refresh creates nothing")
}

// TestGroupCommitBoundsStateWrites: a write in flight holds back the next one, which then
// records every operation that completed meanwhile in one write.
func TestGroupCommitBoundsStateWrites(t *testing.T) {
	h := newHarness(t)
	gp := newGatedProvider(h.sim, nil)
	gb := newGatedBackend(h.state)
	opts := h.opts()
	opts.Provider, opts.Backend = gp, gb
	opts.Parallelism = 20
	events := tapEvents(&opts)
	done := applyInBackground(context.Background(), config(t, buckets(100)), opts)

	// A write is a whole document (the state) or a journal entry (a delta); count the records'
	// statuses each holds.
	statuses := func(data []byte) (whole bool, n map[state.Status]int) {
		n = map[state.Status]int{}
		if st, err := state.Decode(data); err == nil {
			for _, r := range st.Resources {
				n[r.Status]++
			}
			return true, n
		}
		d, err := state.DecodeDelta(data)
		require.NoError(t, err)
		for _, r := range d.Put {
			n[r.Status]++
		}
		return false, n
	}
	want := func(what string, wantWhole bool, want map[state.Status]int) {
		t.Helper()
		whole, got := statuses(receive(t, gb.writes, what))
		require.Equal(t, wantWhole, whole, "%s: a whole document?", what)
		require.Equal(t, want, got, what)
	}
	// Write 1, before any create: every create recorded pending, in a new revision.
	want("write 1", true, map[state.Status]int{state.StatusPending: 100})
	gb.proceed <- struct{}{}
	// One create finishes; write 2, a journal entry, records it, and stays in flight...
	gp.release <- struct{}{}
	want("write 2", false, map[state.Status]int{state.StatusCreated: 1})
	// ...while the 99 other creates finish.
	close(gp.release)
	for range 100 {
		nextEvent(t, events, panka.EventComplete)
	}
	gb.proceed <- struct{}{}
	// Write 3 records the other 99 at once: as the final revision, if the run was already
	// closing when it started, or as a journal entry, then write 4 compacts the journal into a
	// revision. Which one depends on whether the walk ended before write 2 did.
	writes := 3
	whole, got := statuses(receive(t, gb.writes, "write 3"))
	if whole {
		require.Equal(t, map[state.Status]int{state.StatusCreated: 100}, got, "write 3, the final revision")
	} else {
		require.Equal(t, map[state.Status]int{state.StatusCreated: 99}, got, "write 3, a journal entry")
		gb.proceed <- struct{}{}
		want("write 4", true, map[state.Status]int{state.StatusCreated: 100})
		writes = 4
	}
	gb.proceed <- struct{}{}

	r := receive(t, done, "Apply")
	require.NoError(t, r.err)
	require.Equal(t, writes, r.res.StateWrites, "100 creates are group-committed: pending first, one write per write in flight, the last a whole revision")
	require.Empty(t, gb.writes, "no other write")
	gb.mu.Lock()
	require.Equal(t, 1, gb.peak, "at most one write in flight")
	gb.mu.Unlock()
	st := h.readState()
	require.Equal(t, int64(r.res.StateWrites), st.Serial)
	require.Len(t, st.Resources, 100)
	for _, r := range st.Resources {
		require.Equal(t, state.StatusCreated, r.Status)
	}
}

func TestParallelismIsBounded(t *testing.T) {
	h := newHarness(t)
	gp := newGatedProvider(h.sim, nil)
	opts := h.opts()
	opts.Provider = gp
	opts.Parallelism = 3
	var mu sync.Mutex
	inflight, peak := 0, 0
	opts.Events = func(e panka.Event) {
		mu.Lock()
		defer mu.Unlock()
		switch e.Type {
		case panka.EventStart:
			inflight++
			peak = max(peak, inflight)
		case panka.EventComplete, panka.EventError:
			inflight--
		}
	}
	done := applyInBackground(context.Background(), config(t, buckets(12)), opts)

	// Three creates reach the gate and wait there; each one let through makes room for exactly
	// one more.
	for range 3 {
		receive(t, gp.entered, "one of the first three creates")
	}
	for started := 3; started < 12; started++ {
		_, inside, _ := gp.stats()
		require.Equal(t, 3, inside, "Parallelism operations in flight at once")
		gp.release <- struct{}{}
		receive(t, gp.entered, "the next create")
	}
	close(gp.release)
	r := receive(t, done, "Apply")
	require.NoError(t, r.err)
	calls, _, providerPeak := gp.stats()
	require.Equal(t, 12, calls)
	require.Equal(t, 3, providerPeak, "never more than Parallelism creates at once")
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, 3, peak, "never more than Parallelism operations between start and complete")
}

func TestDestroyTargetTakesItsDependents(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	cfg := config(t, queues+"---\napiVersion: panka.io/v1\nkind: S3\nmetadata: {name: assets, service: api}\nspec: {}\n")
	_, err := panka.Apply(ctx, cfg, h.opts())
	require.NoError(t, err)
	opts := h.opts()
	opts.Targets = []string{"api/jobs"}
	p, err := panka.PlanDestroy(ctx, cfg, opts)
	require.NoError(t, err)
	require.Equal(t, map[string]panka.Action{"api/assets": panka.ActionNoop, "api/dlq": panka.ActionNoop, "api/jobs": panka.ActionDelete, "api/worker": panka.ActionDelete}, actions(p))
	h.takeEvents()
	_, err = panka.ApplyPlan(ctx, p, opts)
	require.NoError(t, err)
	order := completionOrder(h.takeEvents())
	require.Less(t, order["api/worker"], order["api/jobs"])
	st := h.readState()
	require.NotNil(t, st.Lookup("api/dlq"))
	require.NotNil(t, st.Lookup("api/assets"))
	require.Nil(t, st.Lookup("api/jobs"))

	opts.Targets = []string{"api/asets"}
	_, err = panka.PlanDestroy(ctx, cfg, opts)
	require.ErrorIs(t, err, panka.ErrUnknownAddress)
	require.ErrorContains(t, err, "target api/asets: unknown address: no component of default/shop/default has that address; did you mean api/assets?")
}

func TestCreateBeforeDestroyReplacement(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	ebs := "apiVersion: panka.io/v1\nkind: EBS\nmetadata: {name: data, service: api}\nspec: {sizeGiB: 20, availabilityZone: eu-west-1a}\n"
	_, err := panka.Apply(ctx, config(t, ebs), h.opts())
	require.NoError(t, err)
	oldID := h.readState().Lookup("api/data").ID
	moved := strings.Replace(ebs, "eu-west-1a", "eu-west-1b", 1)
	p, err := panka.Plan(ctx, config(t, moved), h.opts())
	require.NoError(t, err)
	require.Equal(t, panka.ActionReplace, p.Changes[0].Action)
	require.False(t, p.Changes[0].DestroyFirst, "EBS volumes are not named uniquely: create the new one first")
	h.takeEvents()
	_, err = panka.ApplyPlan(ctx, p, h.opts())
	require.NoError(t, err)
	require.Equal(t, 1, h.count("EBS"))
	cur := h.readState().Lookup("api/data")
	require.NotEqual(t, oldID, cur.ID)
	require.Empty(t, cur.Deposed)
	p, err = panka.Plan(ctx, config(t, moved), h.opts())
	require.NoError(t, err)
	require.False(t, p.HasChanges(), "the generation-suffixed name is not a change")
}

func TestWaitingForTheLockNamesTheHolder(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	held, err := h.locker.Acquire(ctx, "default/shop/default", lock.AcquireOptions{Owner: "alice@ci", Operation: "apply"})
	require.NoError(t, err)
	opts := h.opts()
	opts.Parallelism = 1
	opts.LockWait = 10 * time.Second
	events := opts.Events
	opts.Events = func(e panka.Event) {
		events(e)
		if e.Type == panka.EventProgress && e.Address == "" {
			go func() { _ = h.locker.Release(ctx, held) }() // alice finishes
		}
	}
	_, err = panka.Apply(ctx, config(t, chain(1)), opts)
	require.NoError(t, err)
	var waiting []string
	for _, e := range h.takeEvents() {
		if e.Type == panka.EventProgress && e.Address == "" {
			waiting = append(waiting, e.Message)
		}
	}
	require.Len(t, waiting, 1)
	require.Contains(t, waiting[0], "held by alice@ci (apply)")
	require.Contains(t, waiting[0], "lock ID "+held.ID)

	// Without a wait, a held lock fails at once with the holder's details.
	held, err = h.locker.Acquire(ctx, "default/shop/default", lock.AcquireOptions{Owner: "bob@ci", Operation: "destroy"})
	require.NoError(t, err)
	_, err = panka.Apply(ctx, config(t, chain(1)), h.opts())
	var locked *lock.LockedError
	require.ErrorAs(t, err, &locked)
	require.Equal(t, "bob@ci", locked.Holder.Owner)
}

// flakyBackend fails the first write after storing it, like a PUT whose response was lost.
type flakyBackend struct {
	*memstate.Backend
	mu       sync.Mutex
	failNext bool
}

func (b *flakyBackend) Write(ctx context.Context, key backend.Key, data []byte, ifMatch backend.Version) (backend.Version, error) {
	v, err := b.Backend.Write(ctx, key, data, ifMatch)
	b.mu.Lock()
	defer b.mu.Unlock()
	if err == nil && b.failNext {
		b.failNext = false
		return "", errors.New("connection reset after the request was sent")
	}
	return v, err
}

func TestLostWriteResponseIsNotAConflict(t *testing.T) {
	h := newHarness(t)
	fb := &flakyBackend{Backend: h.state, failNext: true}
	opts := h.opts()
	opts.Backend = fb
	res, err := panka.Apply(context.Background(), config(t, queues), opts)
	require.NoError(t, err, "the engine reads back and finds its own write")
	require.Equal(t, 3, res.Counts.Succeeded)
	require.Len(t, h.readState().Resources, 3)
}

// TestLongOperationsReportProgress: a long operation reports progress once per
// ProgressInterval, with the time elapsed since it started, on a manual clock.
func TestLongOperationsReportProgress(t *testing.T) {
	h := newHarness(t)
	gp := newGatedProvider(h.sim, nil)
	clk := panka.NewManualClock(time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC))
	opts := h.opts()
	opts.Provider = gp
	opts.ProgressInterval = 10 * time.Second
	events := tapEvents(&opts)
	done := applyInBackground(context.Background(), config(t, chain(1)), panka.WithClock(opts, clk))

	gp.waitEntered(t, "api/q00")
	require.Equal(t, []time.Duration{10 * time.Second}, clk.Tickers(), "one ticker, every ProgressInterval")
	for i := 1; i <= 3; i++ {
		clk.Advance(10 * time.Second) // one tick, taken when Advance returns
		e := nextEvent(t, events, panka.EventProgress)
		require.Equal(t, "api/q00", e.Address)
		require.Equal(t, panka.ActionCreate, e.Action)
		require.Equal(t, time.Duration(i)*10*time.Second, e.Elapsed)
		require.Equal(t, fmt.Sprintf("still creating... (%ds elapsed)", 10*i), e.Message)
	}
	clk.Advance(5 * time.Second) // no tick due
	close(gp.release)
	r := receive(t, done, "Apply")
	require.NoError(t, r.err)
	require.Empty(t, clk.Tickers(), "the ticker stops with the operation")
	require.Equal(t, 35*time.Second, r.res.Resources[0].Elapsed)
	var still []panka.Event
	for _, e := range h.takeEvents() {
		if e.Type == panka.EventProgress && strings.HasPrefix(e.Message, "still creating...") {
			still = append(still, e)
		}
		if e.Type == panka.EventComplete {
			require.Equal(t, 35*time.Second, e.Elapsed)
		}
	}
	require.Len(t, still, 3, "exactly one progress event per tick")
}

// progressProvider reports progress from every Create, as a provider waiting on the cloud does.
type progressProvider struct{ *sim.Provider }

func (p progressProvider) Create(ctx context.Context, r provider.Resource) (*provider.Observed, error) {
	provider.ReportProgress(ctx, "1 of 2 tasks running")
	return p.Provider.Create(ctx, r)
}

// TestProviderProgressBecomesEvents: what a provider reports while it waits reaches the event
// stream as progress of the resource it works on.
func TestProviderProgressBecomesEvents(t *testing.T) {
	h := newHarness(t)
	opts := h.opts()
	opts.Provider = progressProvider{h.sim}
	_, err := panka.Apply(context.Background(), config(t, "apiVersion: panka.io/v1\nkind: S3\nmetadata: {name: b, service: api}\nspec: {}\n"), opts)
	require.NoError(t, err)
	var got []string
	for _, e := range h.takeEvents() {
		if e.Type == panka.EventProgress {
			got = append(got, e.Address+" "+e.Message)
		}
	}
	require.Equal(t, []string{"api/b create: 1 of 2 tasks running"}, got)
}

// networkProvider is the simulated cloud with Workers needing a network, as on AWS.
type networkProvider struct{ *sim.Provider }

func (p networkProvider) Schema(kind string) (provider.KindSchema, bool) {
	ks, ok := p.Provider.Schema(kind)
	ks.NeedsNetwork = kind == "Worker"
	return ks, ok
}

// TestComponentsInAVPCNeedANetwork: a provider whose kind runs in a VPC refuses, at plan time,
// an environment without a network, naming the components; with one, the plan goes on.
func TestComponentsInAVPCNeedANetwork(t *testing.T) {
	h := newHarness(t)
	opts := h.opts()
	opts.Provider = networkProvider{h.sim}
	_, err := panka.Plan(context.Background(), config(t, queues), opts)
	require.ErrorIs(t, err, panka.ErrNoNetwork)
	require.ErrorContains(t, err, "api/worker run in a VPC, and the environment declares no network")

	withNetwork := strings.Replace(stackPrelude, "  variables: {TAG: \"1\"}\n", "  variables: {TAG: \"1\"}\n  network: {managed: {cidr: 10.0.0.0/16}}\n", 1)
	require.NotEqual(t, stackPrelude, withNetwork)
	cfg, err := panka.ParseBytes(context.Background(), "test.yaml", []byte(withNetwork+queues))
	require.NoError(t, err)
	require.NoError(t, panka.Validate(cfg))
	plan, err := panka.Plan(context.Background(), cfg, opts)
	require.NoError(t, err)
	require.Equal(t, panka.ActionCreate, actions(plan)["api/worker--sg"])
}

// vpcProvider is the simulated cloud with AWS's networked kinds needing a network; APIGateway
// does not (a Lambda-only API runs outside any VPC).
type vpcProvider struct{ *sim.Provider }

func (p vpcProvider) Schema(kind string) (provider.KindSchema, bool) {
	ks, ok := p.Provider.Schema(kind)
	ks.NeedsNetwork = kind == "MicroService" || kind == "ALB"
	return ks, ok
}

// TestAPIRouteToServiceNeedsANetwork: an API routing to a MicroService (through a VPC link to
// its load balancer) in an environment without a network is a plan error (ErrNoNetwork) naming
// what runs in the VPC; an API of Lambda functions alone plans without one.
func TestAPIRouteToServiceNeedsANetwork(t *testing.T) {
	h := newHarness(t)
	opts := h.opts()
	opts.Provider = vpcProvider{h.sim}
	_, err := panka.Plan(context.Background(), config(t, `apiVersion: panka.io/v1
kind: ALB
metadata: {name: lb, service: api}
spec: {internal: true, listeners: [{port: 80}]}
---
apiVersion: panka.io/v1
kind: MicroService
metadata: {name: web, service: api}
spec: {image: nginx, ports: [{name: http, port: 8080}], loadBalancer: {target: lb}}
---
apiVersion: panka.io/v1
kind: APIGateway
metadata: {name: gw, service: api}
spec:
  routes: [{route: "ANY /{proxy+}", target: web}]
`), opts)
	require.ErrorIs(t, err, panka.ErrNoNetwork)
	require.ErrorContains(t, err, "api/lb, api/web run in a VPC")

	_, err = panka.Plan(context.Background(), config(t, `apiVersion: panka.io/v1
kind: Lambda
metadata: {name: fn, service: api}
spec: {runtime: python3.12, handler: app.handler, code: {s3Bucket: b, s3Key: k.zip}}
---
apiVersion: panka.io/v1
kind: APIGateway
metadata: {name: gw, service: api}
spec:
  routes: [{route: "ANY /{proxy+}", target: fn}]
`), opts)
	require.NoError(t, err)
}
