//go:build linux

// Command bench measures the Panka engine against its performance goals and prints a table:
//
//  1. Scheduling efficiency: Apply of a 1,000-resource layered DAG (20 layers of 50) with 20ms
//     per provider operation, at parallelism 10 and 100, over the ideal bound
//     max(critical path, ⌈N/P⌉) × latency. Goal ≤ 1.10.
//  2. State writes: the same apply with every state write taking 30ms: writes and bytes stored,
//     against one full-state write per resource. Goal ≥ 10× fewer bytes. Also the wall time
//     against an instant backend.
//  3. No-change plan: Plan of an applied stack of 10,000 components (zero latency). Goal under 2s
//     and 500 MB, and linear growth: 1k → 10k components, and a 100 → 1,000 long chain, ≈ 10×.
//     Each size runs in a subprocess of this program, so that its peak RSS is its own.
//  4. Remote backend: the apply of measurement 1 (P=10, 20ms and 0ms per operation) with state in
//     S3 and the lock in DynamoDB on the in-process emulator: API calls by operation, and wall
//     time against the file backend and lock. Also single lock and state round trips. See remote.go.
//  5. The CLI, whole processes: panka apply, no-change plan and destroy of generated configs of
//     several shapes at 1,000 and 5,000 components (-large adds 20,000): wall and CPU time, peak
//     RSS, state bytes written against the final state, revisions; growth 5,000 → 20,000 ≤ 4.5
//     (linear); the no-change plan against the same Plan in-process. See cli.go.
//  6. Not by default: Panka against OpenTofu (terraform_data) on the same shapes, with -tofu
//     PATH. See tofu.go and tofu/README.md.
//  7. State on S3: apply and destroy of the shapes of 5 at 1,000 and 5,000 components (-large
//     adds 20,000), in-process with the sim at zero latency, the state in S3 and the lock in
//     DynamoDB on the emulator: bytes PUT (state documents and journal entries) and objects
//     stored against the final state (goal ≤ 3× + O(changes)), S3 and DynamoDB calls, growth
//     5,000 → 20,000 ≤ 4.5. One run. See s3state.go.
//  8. The AWS provider on the emulator: 200 SQS queues + 50 DynamoDB tables applied, planned
//     with no change and destroyed, against the sim with the emulator's round trip as its
//     latency: wall time AWS ÷ sim, AWS calls per resource by operation, nothing left after the
//     destroy. See localaws.go.
//  9. Containers on the emulator: 50 MicroServices behind one ALB in a managed network applied,
//     planned with no change and destroyed: wall time ÷ the ideal bound (the sim at the
//     emulator's round trip, and its task start and NAT delays where AWS waits), AWS calls per
//     service, nothing left. See containers.go.
//  10. examples/platform on the emulator, the whole example as written (58 resources, every
//     kind): applied, planned with no change and destroyed as --local does: wall time ÷ the
//     ideal bound (as 9, with the local AWS's delays of every slow kind), AWS calls per
//     resource, the calls of the operations waits poll per slow resource, nothing left but the
//     final snapshots. See platform.go.
//
// Every figure of measurements 1–4 and 8–10 is the best of -runs runs, of 5 and 6 the median.
// Usage:
//
//	go run ./bench [-runs 3] [-only sched,writes,plan,remote,cli,s3state,localaws,containers,platform]
//	go run ./bench -only s3state [-large] [-s3-sizes 1000,5000] [-cli-shapes independent,layers,chain]
//	go run ./bench -only cli [-large] [-cli-sizes 1000,5000] [-cli-shapes independent,layers,chain,mixed] [-panka BIN] [-cli-profile DIR]
//	go run ./bench -only tofu -tofu BIN [-tofu-sizes 1000]
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/panka/panka/backend/memstate"
	"github.com/panka/panka/internal/testgen"
)

// The workload of measurements 1 and 2.
const (
	layers       = 20
	width        = 50
	seed         = 1
	schedLatency = 20 * time.Millisecond
	writeLatency = 30 * time.Millisecond
)

// Goals.
const (
	goalSchedRatio = 1.10
	goalFewerBytes = 10.0
	goalPlanTime   = 2 * time.Second
	goalPlanRSS    = 500 << 20
	// Linear growth is a ratio of about 10 for 10× the size; up to 25% more is accepted.
	goalLinear = 12.5
)

func main() {
	runs := flag.Int("runs", 3, "run each measurement this many times and report the best")
	only := flag.String("only", "sched,writes,plan,remote,cli,s3state,localaws,containers,platform", "comma-separated measurements to run: sched, writes, plan, remote, cli, s3state, localaws, containers, platform, tofu")
	child := flag.String("child", "", "internal: run one no-change plan measurement (testgen:SxP, chain:N or fanin:LxWxD) and print JSON")
	cliSizes := flag.String("cli-sizes", "1000,5000", "cli, tofu: component counts, comma-separated (multiples of 100)")
	large := flag.Bool("large", false, "cli, s3state: also run 20,000 components (and report the growth 5,000 → 20,000)")
	cliShapes := flag.String("cli-shapes", defaultShapes, "cli, tofu, s3state: config shapes, comma-separated: "+strings.Join(shapeNames(), ", "))
	pankaBin := flag.String("panka", "", "cli, tofu: measure this panka binary instead of building ./cmd/panka")
	profile := flag.String("cli-profile", "", "cli: write a CPU profile of every command to this directory (PANKA_CPUPROFILE)")
	tofuBin := flag.String("tofu", "", "tofu: the OpenTofu binary to compare with (bench/tofu/build.sh builds one)")
	tofuSizes := flag.String("tofu-sizes", "1000", "tofu: component counts, comma-separated (multiples of 100)")
	s3SizeList := flag.String("s3-sizes", "1000,5000", "s3state: component counts, comma-separated (multiples of 100); -large adds 20000")
	flag.Parse()
	ctx := context.Background()

	if *child != "" {
		if err := runChild(ctx, *child, *runs); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}

	t := &table{}
	start := time.Now()
	fmt.Printf("panka engine benchmarks — %s, GOMAXPROCS=%d, %d runs (1–4, 8: the best, 5–6: the median, 7: one)\n\n", runtime.Version(), runtime.GOMAXPROCS(0), *runs)
	var err error
	for _, m := range strings.Split(*only, ",") {
		m = strings.TrimSpace(m)
		switch m {
		case "sched":
			err = measureScheduling(ctx, t, *runs)
		case "writes":
			err = measureWrites(ctx, t, *runs)
		case "plan":
			err = measurePlan(ctx, t, *runs)
		case "remote":
			err = measureRemote(ctx, t, *runs)
		case "localaws":
			err = measureLocalAWS(ctx, t, *runs)
		case "containers":
			err = measureContainers(ctx, t, *runs)
		case "platform":
			err = measurePlatform(ctx, t, *runs)
		case "s3state":
			var sizes []int
			var sh []shape
			if sizes, err = s3Sizes(*s3SizeList, *large); err == nil {
				if sh, err = parseShapes(*cliShapes); err == nil {
					err = measureS3State(ctx, t, sizes, sh)
				}
			}
		case "cli", "tofu":
			var o *cliOptions
			sizes := *cliSizes
			if m == "tofu" {
				sizes = *tofuSizes
			} else if *large {
				sizes += ",20000"
			}
			if o, err = newCLIOptions(sizes, *cliShapes, *runs, *pankaBin, *profile); err != nil {
				break
			}
			if m == "cli" {
				err = measureCLI(ctx, t, o)
			} else {
				err = measureTofu(ctx, t, o, *tofuBin)
			}
		case "":
		default:
			err = fmt.Errorf("unknown measurement %q", m)
		}
		if err != nil {
			t.print()
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
	}
	t.print()
	fmt.Printf("\n%d goals met, %d missed; total time %.1fs\n", t.met, t.missed, time.Since(start).Seconds())
}

// table collects result rows.
type table struct {
	rows        [][]string
	met, missed int
}

// add records a figure; goal is "" for figures without one.
func (t *table) add(measure, figure, value, goal string, ok bool) {
	verdict := ""
	if goal != "" {
		if ok {
			verdict = "MET"
			t.met++
		} else {
			verdict = "MISSED"
			t.missed++
		}
	}
	t.rows = append(t.rows, []string{measure, figure, value, goal, verdict})
	fmt.Fprintf(os.Stderr, "  %-28s %-44s %s\n", measure, figure, value) // progress, as it comes
}

func (t *table) print() {
	fmt.Println()
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "MEASUREMENT\tFIGURE\tVALUE\tGOAL\tRESULT")
	prev := ""
	for _, r := range t.rows {
		if r[0] == prev {
			r = append([]string{""}, r[1:]...)
		} else {
			prev = r[0]
		}
		fmt.Fprintln(w, strings.Join(r, "\t"))
	}
	w.Flush()
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }
func msFine(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}
func mb(b uint64) string     { return fmt.Sprintf("%.1f MB", float64(b)/(1<<20)) }
func ratio(x float64) string { return fmt.Sprintf("%.2f", x) }

// measureScheduling is measurement 1, plus the same at 10× the width (extra: the goal is the
// brief's for 1,000 resources, applied to 10,000).
func measureScheduling(ctx context.Context, t *table, runs int) error {
	for _, c := range schedCases {
		cfg, err := loadConfig(testgen.Layered(layers, c.width, seed))
		if err != nil {
			return err
		}
		cp, err := criticalPath(cfg)
		if err != nil {
			return err
		}
		n := len(cfg.Components)
		name := fmt.Sprintf("1 scheduling N=%d P=%d", n, c.p)
		if c.extra {
			name = fmt.Sprintf("1x (extra) N=%d P=%d", n, c.p)
		}
		d, tl, err := best(runs, func() (time.Duration, timeline, error) {
			d, _, tl, err := applyTimed(ctx, cfg, schedLatency, c.p, nil)
			return d, tl, err
		})
		if err != nil {
			return err
		}
		ideal := idealBound(n, cp, c.p, schedLatency)
		r := float64(d) / float64(ideal)
		t.add(name, fmt.Sprintf("Apply wall time (%d layers of %d, 20ms/op)", layers, c.width), ms(d), "", true)
		t.add(name, fmt.Sprintf("ideal max(%d×20ms, ⌈%d/%d⌉×20ms)", cp, n, c.p), ms(ideal), "", true)
		t.add(name, "wall ÷ ideal", ratio(r), fmt.Sprintf("≤ %.2f", goalSchedRatio), r <= goalSchedRatio)
		t.add(name, "  of which: call → first op start", ms(tl.Before), "", true)
		t.add(name, "  first op start → last op done", fmt.Sprintf("%s (÷ ideal %s)", ms(tl.Walk), ratio(float64(tl.Walk)/float64(ideal))), "", true)
		t.add(name, "  last op done → Apply returns", ms(tl.After), "", true)
		t.add(name, "  mean operation time (20ms sim)", fmt.Sprintf("%.1f ms", float64(tl.OpMean)/float64(time.Millisecond)), "", true)
	}
	return nil
}

// schedCases are the layered DAGs measurement 1 applies.
var schedCases = []struct {
	width, p int
	extra    bool
}{{width, 10, false}, {width, 100, false}, {10 * width, 100, true}}

// writesRun is one apply of measurement 2.
type writesRun struct {
	writes     int
	bytes      int64
	finalBytes int
	naive      int64
	approx     int64
	check      int64
	n          int
}

// measureWrites is measurement 2.
func measureWrites(ctx context.Context, t *table, runs int) error {
	const name = "2 state writes"
	cfg, err := loadConfig(testgen.Layered(layers, width, seed))
	if err != nil {
		return err
	}
	slow, w, err := best(runs, func() (time.Duration, writesRun, error) {
		be := memstate.New()
		d, res, err := applyFresh(ctx, cfg, schedLatency, 10, slowBackend{StateBackend: be, delay: writeLatency})
		if err != nil {
			return d, writesRun{}, err
		}
		st, size, err := readState(ctx, be, res.Plan)
		if err != nil {
			return d, writesRun{}, err
		}
		naive, approx, check, err := naiveBytes(st)
		return d, writesRun{writes: res.StateWrites, bytes: res.StateBytes, finalBytes: size, naive: naive, approx: approx, check: check, n: len(st.Resources)}, err
	})
	if err != nil {
		return err
	}
	fast, _, err := best(runs, func() (time.Duration, struct{}, error) {
		d, _, err := applyFresh(ctx, cfg, schedLatency, 10, nil)
		return d, struct{}{}, err
	})
	if err != nil {
		return err
	}
	t.add(name, "Result.StateWrites (30ms writes, P=10)", strconv.Itoa(w.writes), "", true)
	t.add(name, "naive writes (one per resource)", strconv.Itoa(w.n), "", true)
	t.add(name, "naive ÷ actual writes", ratio(float64(w.n)/float64(w.writes)), "", true)
	t.add(name, "Result.StateBytes", mb(uint64(w.bytes)), "", true)
	t.add(name, "final state size", fmt.Sprintf("%.1f KB", float64(w.finalBytes)/1024), "", true)
	exactNote := "exact"
	if w.check != 0 {
		exactNote = fmt.Sprintf("additive, off by %d B at N", w.check)
	}
	t.add(name, fmt.Sprintf("naive bytes Σk=1..N size(k) (%s)", exactNote), mb(uint64(w.naive)), "", true)
	t.add(name, "  cross-check: final × (N+1)/2", mb(uint64(w.approx)), "", true)
	fewer := float64(w.naive) / float64(w.bytes)
	t.add(name, "naive ÷ actual bytes", ratio(fewer), fmt.Sprintf("≥ %.0f", goalFewerBytes), fewer >= goalFewerBytes)
	t.add(name, "Apply wall, 30ms-write backend", ms(slow), "", true)
	t.add(name, "Apply wall, instant backend", ms(fast), "", true)
	t.add(name, "slow ÷ instant wall", ratio(float64(slow)/float64(fast)), "", true)
	return nil
}

// childResult is what a -child subprocess reports.
type childResult struct {
	N      int           `json:"n"`
	Setup  time.Duration `json:"setup"`
	Best   time.Duration `json:"best"`
	CPU    time.Duration `json:"cpu"` // the least CPU time of the runs
	Times  []int64       `json:"timesMs"`
	Mem    planMemory    `json:"mem"` // of the first Plan
	GoMaxP int           `json:"gomaxprocs"`
}

// runChild sets up one applied stack and measures no-change Plans of it, printing a childResult.
func runChild(ctx context.Context, spec string, runs int) error {
	data, err := generate(spec)
	if err != nil {
		return err
	}
	start := time.Now()
	env, err := setupPlan(ctx, data)
	if err != nil {
		return err
	}
	out := childResult{N: env.n, Setup: time.Since(start), GoMaxP: runtime.GOMAXPROCS(0)}
	// Memory: one Plan with the heap sampler and RSS reset (the first Plan of the process).
	_, out.Mem, err = env.planMeasured(ctx)
	if err != nil {
		return err
	}
	// Time: runs Plans without the sampler, each from a collected heap.
	for i := range runs {
		runtime.GC()
		cpu0 := cpuTime()
		d, _, err := env.planOnce(ctx)
		cpu := cpuTime() - cpu0
		if err != nil {
			return err
		}
		out.Times = append(out.Times, d.Milliseconds())
		if i == 0 || d < out.Best {
			out.Best = d
		}
		if i == 0 || cpu < out.CPU {
			out.CPU = cpu
		}
	}
	return json.NewEncoder(os.Stdout).Encode(out)
}

// generate returns the config a -child spec names: testgen:SxP or chain:N.
func generate(spec string) ([]byte, error) {
	kind, arg, _ := strings.Cut(spec, ":")
	switch kind {
	case "fanin":
		var l, w, d int
		if _, err := fmt.Sscanf(arg, "%dx%dx%d", &l, &w, &d); err != nil || l < 1 || d < 1 || d > w {
			return nil, fmt.Errorf("bad spec %q: want fanin:LAYERSxWIDTHxDEPS", spec)
		}
		return testgen.FanIn(l, w, d), nil
	case "testgen":
		s, p, ok := strings.Cut(arg, "x")
		services, err1 := strconv.Atoi(s)
		per, err2 := strconv.Atoi(p)
		if !ok || err1 != nil || err2 != nil {
			return nil, fmt.Errorf("bad spec %q: want testgen:SERVICESxPERSERVICE", spec)
		}
		return testgen.Config(services, per), nil
	case "chain":
		n, err := strconv.Atoi(arg)
		if err != nil {
			return nil, fmt.Errorf("bad spec %q: want chain:N", spec)
		}
		return testgen.Chain(n), nil
	}
	return nil, fmt.Errorf("bad spec %q: want testgen:SxP, chain:N or fanin:LxWxD", spec)
}

// inChild runs spec in a subprocess of this program.
func inChild(ctx context.Context, spec string, runs int) (*childResult, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, exe, "-child", spec, "-runs", strconv.Itoa(runs))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s: %w: %s", spec, err, strings.TrimSpace(stderr.String()))
	}
	var r childResult
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		return nil, fmt.Errorf("%s: %w", spec, err)
	}
	return &r, nil
}

// measurePlan is measurement 3.
func measurePlan(ctx context.Context, t *table, runs int) error {
	pair := func(name, small, large string, timeGoal bool) error {
		// Sizes up to 1,000 are quick and noisy: more runs.
		s, err := inChild(ctx, small, 5*runs)
		if err != nil {
			return err
		}
		largeRuns := runs
		if !timeGoal { // the chain's large size is small too
			largeRuns = 5 * runs
		}
		l, err := inChild(ctx, large, largeRuns)
		if err != nil {
			return err
		}
		label := func(r *childResult) string { return fmt.Sprintf("n=%d", r.N) }
		for _, r := range []*childResult{s, l} {
			big := r == l
			goal, ok := "", true
			if big && timeGoal {
				goal, ok = fmt.Sprintf("< %s", goalPlanTime), r.Best < goalPlanTime
			}
			t.add(name, fmt.Sprintf("%s Plan time, best of %d", label(r), len(r.Times)), msFine(r.Best), goal, ok)
			t.add(name, label(r)+" Plan CPU time (user+sys, least)", msFine(r.CPU), "", true)
			goal, ok = "", true
			if big && timeGoal {
				goal, ok = "< 500 MB", r.Mem.PeakRSS > 0 && r.Mem.PeakRSS < goalPlanRSS
			}
			rss := "n/a"
			if r.Mem.PeakRSS > 0 {
				rss = fmt.Sprintf("%s (before Plan %s)", mb(r.Mem.PeakRSS), mb(r.Mem.BaseRSS))
			}
			t.add(name, label(r)+" peak RSS during Plan (VmHWM)", rss, goal, ok)
			t.add(name, label(r)+" peak heap growth (sampled)", mb(r.Mem.PeakHeap), "", true)
			t.add(name, label(r)+" TotalAlloc / mallocs", fmt.Sprintf("%s / %d", mb(r.Mem.TotalAlloc), r.Mem.Mallocs), "", true)
			t.add(name, label(r)+" live heap: before / PlanResult", fmt.Sprintf("%s / %s", mb(r.Mem.Baseline), mb(r.Mem.Retained)), "", true)
		}
		lin := fmt.Sprintf("≈10 (≤ %.1f)", goalLinear)
		tr := float64(l.Best) / float64(s.Best)
		t.add(name, fmt.Sprintf("time ratio n=%d ÷ n=%d", l.N, s.N), ratio(tr), lin, tr <= goalLinear)
		cr := float64(l.CPU) / float64(s.CPU)
		t.add(name, "CPU time ratio", ratio(cr), "", true)
		ar := float64(l.Mem.TotalAlloc) / float64(s.Mem.TotalAlloc)
		t.add(name, "TotalAlloc ratio", ratio(ar), lin, ar <= goalLinear)
		hr := float64(l.Mem.PeakHeap) / float64(max(s.Mem.PeakHeap, 1))
		t.add(name, "peak heap growth ratio", ratio(hr), "", true)
		return nil
	}
	if err := pair("3 no-change plan (testgen)", "testgen:10x100", "testgen:100x100", true); err != nil {
		return err
	}
	return pair("3 no-change plan (chain)", "chain:100", "chain:1000", false)
}
