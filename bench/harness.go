//go:build linux

package main

// The measuring harness shared by the bench program (main.go) and the Go benchmarks
// (bench_test.go): building configs, running Apply and Plan against the in-memory sim, backend
// and locker, and the arithmetic of the figures.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/panka/panka"
	"github.com/panka/panka/backend"
	"github.com/panka/panka/backend/memstate"
	"github.com/panka/panka/lock/memlock"
	"github.com/panka/panka/provider/sim"
	"github.com/panka/panka/schema"
	"github.com/panka/panka/state"
)

// loadConfig parses and validates a generated config.
func loadConfig(data []byte) (*panka.Config, error) {
	cfg, err := schema.ParseBytes("gen.yaml", data)
	if err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	if err := panka.Validate(cfg); err != nil {
		return nil, fmt.Errorf("validate: %w", err)
	}
	return cfg, nil
}

// newOptions returns engine options over pv and be with a fresh in-memory locker.
func newOptions(pv *sim.Provider, be backend.StateBackend, parallelism int) panka.Options {
	return panka.Options{Provider: pv, Backend: be, Locker: memlock.New(memlock.Options{}), Parallelism: parallelism, Who: "bench@local"}
}

// newSim returns an in-memory simulated cloud whose every operation takes latency.
func newSim(latency time.Duration) *sim.Provider {
	pv, err := sim.New(sim.Options{Region: "eu-west-1", Latency: latency}) // the region of internal/testgen's stacks
	if err != nil {
		panic(err) // in memory: cannot fail
	}
	return pv
}

// applyFresh applies cfg to an empty cloud and state (be, or an instant memory backend if be is
// nil) and returns the wall time of the Apply call alone.
func applyFresh(ctx context.Context, cfg *panka.Config, latency time.Duration, parallelism int, be backend.StateBackend) (time.Duration, *panka.Result, error) {
	d, res, _, err := applyTimed(ctx, cfg, latency, parallelism, be)
	return d, res, err
}

// timeline splits an Apply's wall time by its events.
type timeline struct {
	Total time.Duration
	// Before is from the Apply call to the first operation's start: lock, state read, plan, and
	// the write recording every create as pending.
	Before time.Duration
	// Walk is from the first operation's start to the last one's completion.
	Walk time.Duration
	// After is from the last completion to Apply's return: the final state write.
	After time.Duration
	// OpMean is the mean Elapsed of the operations (provider call and recording).
	OpMean time.Duration
	Ops    int
}

// applyTimed is applyFresh, also returning the timeline of the run.
func applyTimed(ctx context.Context, cfg *panka.Config, latency time.Duration, parallelism int, be backend.StateBackend) (time.Duration, *panka.Result, timeline, error) {
	if be == nil {
		be = memstate.New()
	}
	opts := newOptions(newSim(latency), be, parallelism)
	var first, last time.Time
	var opSum time.Duration
	var ops int
	opts.Events = func(ev panka.Event) { // called one at a time
		switch ev.Type {
		case panka.EventStart:
			if first.IsZero() {
				first = ev.Time
			}
		case panka.EventComplete:
			last = ev.Time
			opSum += ev.Elapsed
			ops++
		}
	}
	start := time.Now()
	res, err := applyOpts(ctx, cfg, opts)
	end := time.Now()
	tl := timeline{Total: end.Sub(start), Ops: ops}
	if ops > 0 {
		tl.Before, tl.Walk, tl.After, tl.OpMean = first.Sub(start), last.Sub(first), end.Sub(last), opSum/time.Duration(ops)
	}
	return tl.Total, res, tl, err
}

// applyOpts applies cfg and fails unless every change succeeded.
func applyOpts(ctx context.Context, cfg *panka.Config, opts panka.Options) (*panka.Result, error) {
	res, err := panka.Apply(ctx, cfg, opts)
	if err != nil {
		return res, fmt.Errorf("apply: %w", err)
	}
	if res.Counts.Failed+res.Counts.Skipped > 0 {
		return res, fmt.Errorf("apply: %d failed, %d skipped", res.Counts.Failed, res.Counts.Skipped)
	}
	return res, nil
}

// slowBackend is a state backend whose writes take delay (an S3 PUT, roughly).
type slowBackend struct {
	backend.StateBackend
	delay time.Duration
}

func (s slowBackend) Write(ctx context.Context, key backend.Key, data []byte, ifMatch backend.Version) (backend.Version, error) {
	t := time.NewTimer(s.delay)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		return "", fmt.Errorf("write %s: %w", key, ctx.Err())
	}
	return s.StateBackend.Write(ctx, key, data, ifMatch)
}

// criticalPath returns the number of components on the longest dependency path of cfg's graph
// (service barrier nodes are not operations and do not count).
func criticalPath(cfg *panka.Config) (int, error) {
	g := cfg.Graph()
	order, err := g.TopoSort() // dependencies first
	if err != nil {
		return 0, err
	}
	depth := make(map[string]int, len(order))
	longest := 0
	for _, id := range order {
		d := 0
		for _, dep := range g.DependenciesOf(id) {
			d = max(d, depth[dep])
		}
		if strings.Contains(id, "/") { // a component
			d++
		}
		depth[id] = d
		longest = max(longest, d)
	}
	return longest, nil
}

// idealBound is the shortest possible wall time of applying n operations of latency each, with
// parallelism p, when the longest dependency path has cp operations.
func idealBound(n, cp, p int, latency time.Duration) time.Duration {
	waves := (n + p - 1) / p
	return time.Duration(max(cp, waves)) * latency
}

// naiveBytes returns what a one-write-per-resource writer would store while applying the
// resources of final one at a time: the sum over k = 1..N of the size of the encoded state
// holding the first k resources. The sizes are exact: a state's encoding grows by a fixed
// separator plus the resource's own indented encoding for each resource added, which is
// checked against a full encoding of all N (check is the difference, 0 when exact). approx is
// the final size × (N+1)/2 estimate.
func naiveBytes(final *state.State) (exact, approx, check int64, err error) {
	n := len(final.Resources)
	if n < 2 {
		return 0, 0, 0, fmt.Errorf("need at least 2 resources")
	}
	enc := func(k int) (int64, error) {
		s := *final
		s.Resources = final.Resources[:k]
		data, err := s.Encode()
		return int64(len(data)), err
	}
	elem := func(i int) (int64, error) {
		data, err := json.Marshal(final.Resources[i]) // the state is compact JSON
		return int64(len(data)), err
	}
	f1, err := enc(1)
	if err != nil {
		return 0, 0, 0, err
	}
	f2, err := enc(2)
	if err != nil {
		return 0, 0, 0, err
	}
	g1, err := elem(1)
	if err != nil {
		return 0, 0, 0, err
	}
	sep := f2 - f1 - g1
	size, total := f1, f1
	for k := 2; k <= n; k++ {
		g, err := elem(k - 1)
		if err != nil {
			return 0, 0, 0, err
		}
		size += g + sep
		total += size
	}
	fn, err := enc(n)
	if err != nil {
		return 0, 0, 0, err
	}
	return total, fn * int64(n+1) / 2, size - fn, nil
}

// readState returns the state stored for p's key.
func readState(ctx context.Context, be backend.StateBackend, p *panka.PlanResult) (*state.State, int, error) {
	data, _, err := be.Read(ctx, p.Key())
	if err != nil {
		return nil, 0, err
	}
	st, err := state.Decode(data)
	return st, len(data), err
}

// planEnv is an applied stack ready for no-change plans.
type planEnv struct {
	cfg  *panka.Config
	opts panka.Options
	n    int // components
}

// setupPlan parses data, applies it to a zero-latency sim and memory backend, and returns what a
// no-change Plan needs.
func setupPlan(ctx context.Context, data []byte) (*planEnv, error) {
	cfg, err := loadConfig(data)
	if err != nil {
		return nil, err
	}
	opts := newOptions(newSim(0), memstate.New(), 0)
	// The writes' interval only paces writes during the setup apply; a short one keeps setup fast.
	opts.StateWriteInterval = time.Millisecond
	res, err := applyOpts(ctx, cfg, opts)
	if err != nil {
		return nil, fmt.Errorf("setup: %w", err)
	}
	// The memory backend keeps every revision; a fresh one holding only the final state keeps
	// the setup's history out of the measured process's memory.
	doc, _, err := opts.Backend.Read(ctx, res.Plan.Key())
	if err != nil {
		return nil, fmt.Errorf("setup: %w", err)
	}
	be := memstate.New()
	if _, err := be.Write(ctx, res.Plan.Key(), doc, ""); err != nil {
		return nil, fmt.Errorf("setup: %w", err)
	}
	opts.Backend = be
	opts.StateWriteInterval = 0
	return &planEnv{cfg: cfg, opts: opts, n: len(cfg.Components)}, nil
}

// planOnce times one Plan and checks that it proposes nothing.
func (e *planEnv) planOnce(ctx context.Context) (time.Duration, *panka.PlanResult, error) {
	start := time.Now()
	p, err := panka.Plan(ctx, e.cfg, e.opts)
	elapsed := time.Since(start)
	if err != nil {
		return elapsed, nil, fmt.Errorf("plan: %w", err)
	}
	if p.HasChanges() || p.Summary.NoOp != e.n {
		return elapsed, p, fmt.Errorf("plan of an applied stack: %+v, want %d no-ops", p.Summary, e.n)
	}
	return elapsed, p, nil
}

// planMemory is what one no-change Plan costs in memory.
type planMemory struct {
	TotalAlloc uint64 `json:"totalAlloc"` // bytes allocated during Plan
	Mallocs    uint64 `json:"mallocs"`    // objects allocated during Plan
	PeakHeap   uint64 `json:"peakHeap"`   // highest heap-object bytes seen (sampled) minus the baseline
	Retained   uint64 `json:"retained"`   // live heap after GC with the PlanResult alive, minus the baseline
	// Baseline is the live heap before Plan (config, desired state, sim cloud, stored state).
	Baseline uint64 `json:"baseline"`
	// RSS figures from /proc/self/status, in bytes; 0 when unavailable. PeakRSS is VmHWM after
	// resetting it just before Plan (so it is the peak during Plan), BaseRSS VmRSS before Plan.
	BaseRSS uint64 `json:"baseRSS"`
	PeakRSS uint64 `json:"peakRSS"`
	// CPU is the user+system CPU time of the process during Plan (all threads, GC included).
	CPU time.Duration `json:"cpu"`
}

// planMeasured runs one Plan and measures its memory. peakRSS is only meaningful when this
// process does nothing else (the bench program runs it in a subprocess).
func (e *planEnv) planMeasured(ctx context.Context) (time.Duration, planMemory, error) {
	var m planMemory
	runtime.GC()
	debug.FreeOSMemory()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	m.Baseline = before.HeapAlloc
	rssOK := resetPeakRSS() == nil
	if rssOK {
		m.BaseRSS = procStatus("VmRSS")
	}
	stop := sampleHeap()
	cpu0 := cpuTime()
	elapsed, p, err := e.planOnce(ctx)
	m.CPU = cpuTime() - cpu0
	peak := stop()
	if rssOK {
		m.PeakRSS = procStatus("VmHWM")
	}
	runtime.ReadMemStats(&after)
	m.TotalAlloc = after.TotalAlloc - before.TotalAlloc
	m.Mallocs = after.Mallocs - before.Mallocs
	m.PeakHeap = peak - min(peak, before.HeapAlloc)
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(p)
	m.Retained = after.HeapAlloc - min(after.HeapAlloc, before.HeapAlloc)
	return elapsed, m, err
}

// sampleHeap samples the heap's object bytes (live and not yet swept) every millisecond until
// the returned function is called, which returns the highest value seen.
func sampleHeap() func() uint64 {
	const name = "/memory/classes/heap/objects:bytes"
	sample := []metrics.Sample{{Name: name}}
	var peak uint64
	var wg sync.WaitGroup
	done := make(chan struct{})
	read := func() {
		metrics.Read(sample)
		if sample[0].Value.Kind() == metrics.KindUint64 {
			peak = max(peak, sample[0].Value.Uint64())
		}
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			read()
			select {
			case <-done:
				read()
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		wg.Wait()
		return peak
	}
}

// cpuTime returns the CPU time this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// resetPeakRSS resets this process's VmHWM to its current RSS (Linux: clear_refs 5).
func resetPeakRSS() error {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// procStatus returns a "kB" field of /proc/self/status in bytes, or 0.
func procStatus(field string) uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != field {
			continue
		}
		kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			return 0
		}
		return kb << 10
	}
	return 0
}

// best runs fn runs times and returns the shortest duration and the result that went with it.
func best[T any](runs int, fn func() (time.Duration, T, error)) (time.Duration, T, error) {
	var bestD time.Duration
	var bestV T
	for i := range runs {
		d, v, err := fn()
		if err != nil {
			return d, v, err
		}
		if i == 0 || d < bestD {
			bestD, bestV = d, v
		}
	}
	return bestD, bestV, nil
}
