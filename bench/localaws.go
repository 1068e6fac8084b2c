//go:build linux

package main

// Measurement 8: the AWS provider on the local emulator against the simulator (issue 10). A
// stack of 200 SQS queues and 50 DynamoDB tables (one service, no dependencies) is applied,
// planned with no change and destroyed, in-process, with
//
//   - the AWS provider (provider/aws) on the in-process emulator (internal/localaws, remote.go's),
//     every SDK call counted by service and operation in a Finalize middleware (after the retry
//     middleware: every attempt; the provider does not retry), and
//   - the sim provider with, as its per-operation latency, the emulator's median round trip of
//     a cheap call (SQS ListQueues of a prefix nothing has), measured first;
//
// both with the state and lock in memory and parallelism 10, so that only the provider differs.
// It reports the wall time of each step, AWS ÷ sim, and the AWS calls per resource of each
// step, by operation. A sim operation is one latency; an AWS operation is as many round trips
// as it makes calls (and, for DynamoDB, its waits for ACTIVE), so AWS ÷ sim is about the calls
// per operation where the emulator's round trip dominates. After the destroy it lists the
// queues and tables through the SDK and reports any created by the run that are left.

import (
	"context"
	"fmt"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go/logging"
	"github.com/aws/smithy-go/middleware"

	"github.com/panka/panka"
	"github.com/panka/panka/backend/memstate"
	"github.com/panka/panka/lock/memlock"
	"github.com/panka/panka/provider"
	pankaaws "github.com/panka/panka/provider/aws"
	"github.com/panka/panka/provider/sim"
)

// The workload of measurement 8.
const (
	laQueues = 200
	laTables = 50
	laRegion = "eu-west-1"
	laProbes = 50 // round trips for the latency probe
)

// laStacks numbers the stacks measurement 8 creates: the emulator outlives a run, so every run
// deploys a stack of its own name.
var laStacks atomic.Int64

// localAWSConfig returns a stack of queues SQS and tables DynamoDB components (with default
// specs; tables on demand with a string hash key) in one service, the stack named name.
func localAWSConfig(name string, queues, tables int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: panka.io/v1\nkind: Stack\nmetadata: {name: %s}\nspec:\n  provider: {name: aws, region: %s}\n", name, laRegion)
	b.WriteString("---\napiVersion: panka.io/v1\nkind: Service\nmetadata: {name: s}\nspec: {}\n")
	for i := range queues {
		fmt.Fprintf(&b, "---\napiVersion: panka.io/v1\nkind: SQS\nmetadata: {name: q%03d, service: s}\nspec:\n  visibilityTimeout: 60\n", i)
	}
	for i := range tables {
		fmt.Fprintf(&b, "---\napiVersion: panka.io/v1\nkind: DynamoDB\nmetadata: {name: t%03d, service: s}\nspec:\n"+
			"  billingMode: PAY_PER_REQUEST\n  attributes:\n    - {name: id, type: S}\n  hashKey: id\n", i)
	}
	return []byte(b.String())
}

// sdkCounter counts SDK calls by service and operation, every attempt, in a Finalize middleware.
type sdkCounter struct {
	mu     sync.Mutex
	counts map[opKey]int
	busy   time.Duration // the calls' time, summed
}

// install adds the counting middleware to every client made from cfg.
func (c *sdkCounter) install(cfg *aws.Config) {
	count := middleware.FinalizeMiddlewareFunc("PankaBenchCount", func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
		k := opKey{awsmiddleware.GetServiceID(ctx), awsmiddleware.GetOperationName(ctx)}
		start := time.Now()
		out, md, err := next.HandleFinalize(ctx, in)
		d := time.Since(start)
		c.mu.Lock()
		if c.counts == nil {
			c.counts = map[opKey]int{}
		}
		c.counts[k]++
		c.busy += d
		c.mu.Unlock()
		return out, md, err
	})
	cfg.APIOptions = append(slices.Clone(cfg.APIOptions), func(s *middleware.Stack) error { return s.Finalize.Add(count, middleware.After) })
}

// take returns the counts and the calls' summed time since the last take and starts over.
func (c *sdkCounter) take() (callCounts, time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := callCounts{ops: map[opKey]opCount{}}
	for k, n := range c.counts {
		out.ops[k] = opCount{Calls: n}
	}
	busy := c.busy
	c.counts, c.busy = nil, 0
	return out, busy
}

// service returns the calls made to one service.
func (cc callCounts) service(name string) int {
	n := 0
	for k, v := range cc.ops {
		if k.Service == name {
			n += v.Calls
		}
	}
	return n
}

// laEnv is the emulator's SDK configuration with counted calls, and clients to look with.
type laEnv struct {
	cfg    aws.Config
	calls  *sdkCounter
	sqs    *sqs.Client
	ddb    *dynamodb.Client
	log    *quietLogger
	rtt    time.Duration // the median SQS ListQueues round trip
	ddbRTT time.Duration // and DynamoDB ListTables (Limit 1), for the record
}

// newLAEnv connects to the process's emulator, its SDK configuration in laRegion, and measures
// its round trip.
func newLAEnv(ctx context.Context, probes int) (*laEnv, error) {
	return newLAEnvIn(ctx, laRegion, probes)
}

// newLAEnvIn is newLAEnv with the SDK configuration in region.
func newLAEnvIn(ctx context.Context, region string, probes int) (*laEnv, error) {
	srv, err := theEmulator()
	if err != nil {
		return nil, fmt.Errorf("emulator: %w", err)
	}
	cfg, err := srv.Config(ctx, region)
	if err != nil {
		return nil, fmt.Errorf("emulator: %w", err)
	}
	e := &laEnv{calls: &sdkCounter{}}
	// The emulator's DynamoDB responses carry no CRC32 (README), and the provider's DynamoDB
	// client, which checks it, warns about every response: counted, not printed.
	cfg.Logger = &quietLogger{next: withoutDebug{cfg.Logger}, drop: "response did not match expected checksum"}
	e.log = cfg.Logger.(*quietLogger)
	e.calls.install(&cfg)
	e.cfg = cfg
	e.sqs = sqs.NewFromConfig(cfg)
	e.ddb = dynamodb.NewFromConfig(cfg)
	var q, d []time.Duration
	for range probes {
		start := time.Now()
		if _, err := e.sqs.ListQueues(ctx, &sqs.ListQueuesInput{QueueNamePrefix: aws.String("panka-bench-probe-none")}); err != nil {
			return nil, fmt.Errorf("probe: %w", err)
		}
		mid := time.Now()
		if _, err := e.ddb.ListTables(ctx, &dynamodb.ListTablesInput{Limit: aws.Int32(1)}); err != nil {
			return nil, fmt.Errorf("probe: %w", err)
		}
		q, d = append(q, mid.Sub(start)), append(d, time.Since(mid))
	}
	e.rtt, e.ddbRTT = median(q), median(d)
	e.calls.take()
	return e, nil
}

// quietLogger drops messages containing drop, counting them.
type quietLogger struct {
	next    logging.Logger
	drop    string
	dropped atomic.Int64
}

func (l *quietLogger) Logf(c logging.Classification, format string, v ...any) {
	if strings.Contains(fmt.Sprintf(format, v...), l.drop) {
		l.dropped.Add(1)
		return
	}
	l.next.Logf(c, format, v...)
}

// laStep is one step (apply, no-change plan, destroy) of one provider.
type laStep struct {
	Wall  time.Duration
	CPU   time.Duration // of the whole process: the emulator's too
	Calls callCounts    // AWS only
	Busy  time.Duration // AWS only: the calls' time, summed (round trips, in parallel)
}

// laRun is the three steps of one provider on one stack.
type laRun struct {
	N                    int
	Queues, Tables       int
	Apply, Plan, Destroy laStep
	Left                 []string       // AWS only: queues and tables of the run listed after the destroy
	Kinds                map[string]int // the resources the apply made, by kind
}

// workload is a stack measured by run: its config (for a stack named name), how many
// components and derived resources it applies, the sim's per-kind latencies that make its ideal
// bound, and how to list what a destroy left.
type workload struct {
	config func(name string) []byte
	// load, if set, is used instead of config: it returns the parsed and validated Config of
	// the stack named name (a directory of files, say).
	load func(name string) (*panka.Config, error)
	// account, if set, is the stack's account: the AWS provider is built as --local builds it,
	// the emulator's one account and region standing for the stack's (Options.Emulated).
	account string
	n       int
	// stepLatency is, per step (apply, plan, destroy), the sim's latency of the kinds whose
	// operations wait on the cloud longer than a round trip in that step (negative: none).
	stepLatency map[string]map[string]time.Duration
	left        func(e *laEnv, ctx context.Context, created []panka.ResourceResult) ([]string, error)
	env         string // the environment deployed ("" for a stack of none)
	// applied, if set, is called after the AWS provider's apply, untimed and its calls
	// uncounted, with what it made (tests look at the deployment with it).
	applied func(e *laEnv, ctx context.Context, created []panka.ResourceResult) error
}

// queuesAndTables is measurement 8's workload.
func queuesAndTables(queues, tables int) workload {
	return workload{
		config: func(name string) []byte { return localAWSConfig(name, queues, tables) },
		n:      queues + tables,
		left:   (*laEnv).left,
	}
}

// run applies, plans and destroys a fresh stack of queues and tables with the AWS
// provider on the emulator (aws) or the sim with the emulator's round trip as its latency.
func (e *laEnv) run(ctx context.Context, useAWS bool, queues, tables int) (laRun, error) {
	out, err := e.runWorkload(ctx, useAWS, queuesAndTables(queues, tables))
	out.Queues, out.Tables = queues, tables
	return out, err
}

// runWorkload applies, plans and destroys a fresh stack of w with the AWS provider on the
// emulator (aws) or the sim with the emulator's round trip as its latency (and w's per kind).
func (e *laEnv) runWorkload(ctx context.Context, useAWS bool, w workload) (laRun, error) {
	out := laRun{N: w.n}
	load := w.load
	if load == nil {
		load = func(name string) (*panka.Config, error) { return loadConfig(w.config(name)) }
	}
	cfg, err := load(fmt.Sprintf("la%d", laStacks.Add(1)))
	if err != nil {
		return out, err
	}
	var pv provider.Provider
	if useAWS {
		if pv, err = pankaaws.New(e.cfg, pankaaws.Options{Region: laRegion, Account: w.account, Emulated: w.account != ""}); err != nil {
			return out, err
		}
	} else {
		if pv, err = sim.New(sim.Options{Region: laRegion, AccountID: w.account, Latency: e.rtt}); err != nil {
			return out, err
		}
	}
	latency := func(step string) {
		if p, ok := pv.(*sim.Provider); ok {
			for kind, d := range w.stepLatency[step] {
				p.SetKindLatency(kind, d)
			}
		}
	}
	opts := panka.Options{Environment: w.env, Provider: pv, Backend: memstate.New(), Locker: memlock.New(memlock.Options{}), Parallelism: remoteParallelism, Who: "bench@local"}
	e.calls.take()
	step := func(s *laStep, fn func() error) error {
		start, cpu := time.Now(), cpuTime()
		err := fn()
		s.Wall, s.CPU = time.Since(start), cpuTime()-cpu
		if useAWS {
			s.Calls, s.Busy = e.calls.take()
		}
		return err
	}
	ran := func(what string, res *panka.Result, err error) error {
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if c := res.Counts; c.Succeeded != out.N || c.Failed+c.Skipped+c.Canceled > 0 {
			return fmt.Errorf("%s: %+v, want %d succeeded", what, c, out.N)
		}
		return nil
	}
	var created []panka.ResourceResult
	latency("apply")
	if err := step(&out.Apply, func() error {
		res, err := panka.Apply(ctx, cfg, opts)
		if res != nil {
			created = res.Resources
			out.Kinds = map[string]int{}
			for _, r := range created {
				out.Kinds[r.Kind]++
			}
		}
		return ran("apply", res, err)
	}); err != nil {
		return out, err
	}
	if useAWS && w.applied != nil {
		if err := w.applied(e, ctx, created); err != nil {
			return out, fmt.Errorf("after the apply: %w", err)
		}
		e.calls.take()
	}
	latency("plan")
	if err := step(&out.Plan, func() error {
		p, err := panka.Plan(ctx, cfg, opts)
		if err != nil {
			return fmt.Errorf("plan: %w", err)
		}
		if p.HasChanges() || p.Summary.NoOp != out.N {
			var changed []string
			for _, c := range p.Changes {
				if c.Action != panka.ActionNoop {
					changed = append(changed, fmt.Sprintf("%s %s %s", c.Action, c.Address, c.Reason))
					for _, f := range c.Fields {
						changed = append(changed, fmt.Sprintf("  %s: %v → %v", f.Path, f.Before, f.After))
					}
				}
			}
			return fmt.Errorf("plan of the applied stack: %+v, want %d no-ops:\n%s", p.Summary, out.N, strings.Join(changed, "\n"))
		}
		return nil
	}); err != nil {
		return out, err
	}
	latency("destroy")
	if err := step(&out.Destroy, func() error {
		res, err := panka.Destroy(ctx, cfg, opts)
		return ran("destroy", res, err)
	}); err != nil {
		return out, err
	}
	if useAWS {
		if out.Left, err = w.left(e, ctx, created); err != nil {
			return out, err
		}
	}
	return out, nil
}

// bestRuns runs w runs times (at least once) with the AWS provider and with the sim, reporting
// each run's wall times on stderr as label, and returns the run of each with the fastest apply;
// the AWS one's Left is what every run left.
func (e *laEnv) bestRuns(ctx context.Context, w workload, runs int, label string) (awsBest, simBest laRun, err error) {
	var left []string
	for i := range max(runs, 1) {
		a, err := e.runWorkload(ctx, true, w)
		if err != nil {
			return awsBest, simBest, fmt.Errorf("aws: %w", err)
		}
		s, err := e.runWorkload(ctx, false, w)
		if err != nil {
			return awsBest, simBest, fmt.Errorf("sim: %w", err)
		}
		fmt.Fprintf(os.Stderr, "  %s run %d: aws apply %s plan %s destroy %s; ideal apply %s plan %s destroy %s\n", label, i+1,
			ms(a.Apply.Wall), ms(a.Plan.Wall), ms(a.Destroy.Wall), ms(s.Apply.Wall), ms(s.Plan.Wall), ms(s.Destroy.Wall))
		left = append(left, a.Left...)
		if i == 0 || a.Apply.Wall < awsBest.Apply.Wall {
			awsBest = a
		}
		if i == 0 || s.Apply.Wall < simBest.Apply.Wall {
			simBest = s
		}
	}
	awsBest.Left = left
	return awsBest, simBest, nil
}

// stepPair is one step of the AWS provider's run and of the sim's.
type stepPair struct {
	cmd      string
	aws, sim laStep
}

// steps pairs the steps of a, the AWS provider's run, with those of s, the sim's.
func steps(a, s laRun) []stepPair {
	return []stepPair{{cmdApply, a.Apply, s.Apply}, {"no-change plan", a.Plan, s.Plan}, {cmdDestroy, a.Destroy, s.Destroy}}
}

// addIdeal adds the wall time of p's step ÷ the ideal bound, the sim's.
func (t *table) addIdeal(name string, p stepPair) {
	t.add(name, p.cmd+" wall ÷ ideal bound", fmt.Sprintf("%s (%s ÷ %s)", ratio(float64(p.aws.Wall)/float64(p.sim.Wall)), ms(p.aws.Wall), ms(p.sim.Wall)), "", true)
}

// addLeft adds what a destroy left, goal none.
func (t *table) addLeft(name string, left []string) {
	listed := "none"
	if len(left) > 0 {
		listed = strings.Join(left, ", ")
	}
	t.add(name, "left after destroy (listed through the SDK)", listed, "none", len(left) == 0)
}

// left lists the queues and tables through the SDK and returns those among created.
func (e *laEnv) left(ctx context.Context, created []panka.ResourceResult) ([]string, error) {
	want := map[string]bool{}
	for _, r := range created {
		switch r.Kind {
		case "SQS":
			want["queue "+path.Base(r.ID)] = true
		case "DynamoDB":
			want["table "+r.ID] = true
		}
	}
	if len(want) != len(created) {
		return nil, fmt.Errorf("apply recorded %d resources with %d distinct IDs", len(created), len(want))
	}
	var left []string
	queues := sqs.NewListQueuesPaginator(e.sqs, &sqs.ListQueuesInput{MaxResults: aws.Int32(1000)})
	for queues.HasMorePages() {
		page, err := queues.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list queues: %w", err)
		}
		for _, u := range page.QueueUrls {
			if n := "queue " + path.Base(u); want[n] {
				left = append(left, n)
			}
		}
	}
	tables := dynamodb.NewListTablesPaginator(e.ddb, &dynamodb.ListTablesInput{})
	for tables.HasMorePages() {
		page, err := tables.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list tables: %w", err)
		}
		for _, n := range page.TableNames {
			if n := "table " + n; want[n] {
				left = append(left, n)
			}
		}
	}
	e.calls.take()
	slices.Sort(left)
	return left, nil
}

// measureLocalAWS is measurement 8.
func measureLocalAWS(ctx context.Context, t *table, runs int) error {
	e, err := newLAEnv(ctx, laProbes)
	if err != nil {
		return err
	}
	var awsBest, simBest laRun
	for i := range max(runs, 1) {
		a, err := e.run(ctx, true, laQueues, laTables)
		if err != nil {
			return fmt.Errorf("aws: %w", err)
		}
		s, err := e.run(ctx, false, laQueues, laTables)
		if err != nil {
			return fmt.Errorf("sim: %w", err)
		}
		fmt.Fprintf(os.Stderr, "  8 local AWS run %d: aws apply %s plan %s destroy %s; sim apply %s plan %s destroy %s\n", i+1,
			ms(a.Apply.Wall), ms(a.Plan.Wall), ms(a.Destroy.Wall), ms(s.Apply.Wall), ms(s.Plan.Wall), ms(s.Destroy.Wall))
		if i == 0 {
			awsBest, simBest = a, s
			continue
		}
		for _, p := range []struct{ best, run *laStep }{
			{&awsBest.Apply, &a.Apply}, {&awsBest.Plan, &a.Plan}, {&awsBest.Destroy, &a.Destroy},
			{&simBest.Apply, &s.Apply}, {&simBest.Plan, &s.Plan}, {&simBest.Destroy, &s.Destroy},
		} {
			if p.run.Wall < p.best.Wall {
				*p.best = *p.run
			}
		}
		awsBest.Left = append(awsBest.Left, a.Left...)
	}
	name := fmt.Sprintf("8 local AWS %d SQS + %d DynamoDB", laQueues, laTables)
	t.add(name, "emulator round trip, SQS ListQueues (median)", msFine(e.rtt), "", true)
	t.add(name, "  DynamoDB ListTables (median, for the record)", msFine(e.ddbRTT), "", true)
	n := awsBest.N
	for _, st := range []struct {
		cmd      string
		aws, sim laStep
	}{{cmdApply, awsBest.Apply, simBest.Apply}, {"no-change plan", awsBest.Plan, simBest.Plan}, {cmdDestroy, awsBest.Destroy, simBest.Destroy}} {
		t.add(name, st.cmd+" wall: AWS ÷ sim", fmt.Sprintf("%s (%s ÷ %s)", ratio(float64(st.aws.Wall)/float64(st.sim.Wall)), ms(st.aws.Wall), ms(st.sim.Wall)), "", true)
		if c := st.aws.Calls.total(); c > 0 {
			t.add(name, "  AWS: mean call time; Σ call time ÷ P ÷ wall", fmt.Sprintf("%s; %s", msFine(st.aws.Busy/time.Duration(c)),
				ratio(float64(st.aws.Busy)/remoteParallelism/float64(st.aws.Wall))), "", true)
		}
		t.add(name, "  process CPU time: AWS, sim", fmt.Sprintf("%s (%.0f%% of 1 core × wall), %s", ms(st.aws.CPU), 100*float64(st.aws.CPU)/float64(st.aws.Wall), ms(st.sim.CPU)), "", true)
		c := st.aws.Calls
		t.add(name, st.cmd+" AWS calls per resource", fmt.Sprintf("%.2f (%d calls)", float64(c.total())/float64(n), c.total()), "", true)
		t.add(name, "  per queue (SQS calls)", fmt.Sprintf("%.2f", float64(c.service("SQS"))/float64(laQueues)), "", true)
		t.add(name, "  per table (DynamoDB calls)", fmt.Sprintf("%.2f", float64(c.service("DynamoDB"))/float64(laTables)), "", true)
		for _, svc := range []string{"SQS", "DynamoDB"} {
			per, count := laQueues, c
			if svc == "DynamoDB" {
				per = laTables
			}
			only := callCounts{ops: map[opKey]opCount{}}
			for k, v := range count.ops {
				if k.Service == svc {
					only.ops[k] = v
				}
			}
			t.add(name, fmt.Sprintf("    %s by operation, per %s", svc, map[string]string{"SQS": "queue", "DynamoDB": "table"}[svc]), only.per(per), "", true)
		}
		if other := c.total() - c.service("SQS") - c.service("DynamoDB"); other > 0 {
			t.add(name, "  other calls", fmt.Sprint(other), "", true)
		}
	}
	if n := e.log.dropped.Load(); n > 0 {
		t.add(name, "SDK warnings dropped: no CRC32 (emulator)", fmt.Sprint(n), "", true)
	}
	left := "none"
	if len(awsBest.Left) > 0 {
		left = strings.Join(awsBest.Left, ", ")
	}
	t.add(name, "left after destroy (listed through the SDK)", left, "none", len(awsBest.Left) == 0)
	return nil
}
