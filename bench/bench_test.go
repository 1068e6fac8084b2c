//go:build linux

package main

// Go benchmarks matching the bench program's measurements, for CI:
//
//	go test ./bench -run '^$' -bench . -benchtime 1x
//
// Each reports the program's figure as a custom metric (ratio, writes, MB ...), so a CI job can
// read them from the benchmark output.

import (
	"fmt"
	"testing"
	"time"

	"github.com/panka/panka/backend"
	"github.com/panka/panka/backend/memstate"
	"github.com/panka/panka/internal/testgen"
)

// TestGeneratedDAGsValid keeps the benchmarks honest: the generated configs are valid and have
// the shape the measurements assume.
func TestGeneratedDAGsValid(t *testing.T) {
	for _, tc := range []struct {
		name     string
		data     []byte
		n, depth int
	}{
		{"layered", testgen.Layered(layers, width, seed), layers * width, layers},
		{"chain", testgen.Chain(100), 100, 100},
		{"testgen", testgen.Config(10, 100), testgen.Components(10, 100), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := loadConfig(tc.data)
			if err != nil {
				t.Fatal(err)
			}
			if len(cfg.Components) != tc.n {
				t.Errorf("%d components, want %d", len(cfg.Components), tc.n)
			}
			cp, err := criticalPath(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if tc.depth > 0 && cp != tc.depth {
				t.Errorf("critical path %d, want %d", cp, tc.depth)
			}
		})
	}
}

// TestNaiveBytesExact checks the additive computation of the naive baseline against full
// encodings.
func TestNaiveBytesExact(t *testing.T) {
	cfg, err := loadConfig(testgen.Layered(3, 10, seed))
	if err != nil {
		t.Fatal(err)
	}
	be := memstate.New()
	_, res, err := applyFresh(t.Context(), cfg, 0, 10, be)
	if err != nil {
		t.Fatal(err)
	}
	st, _, err := readState(t.Context(), be, res.Plan)
	if err != nil {
		t.Fatal(err)
	}
	exact, _, check, err := naiveBytes(st)
	if err != nil {
		t.Fatal(err)
	}
	if check != 0 {
		t.Errorf("additive size of the full state is off by %d bytes", check)
	}
	var want int64
	for k := 1; k <= len(st.Resources); k++ {
		s := *st
		s.Resources = st.Resources[:k]
		data, err := s.Encode()
		if err != nil {
			t.Fatal(err)
		}
		want += int64(len(data))
	}
	if exact != want {
		t.Errorf("naive bytes %d, want %d", exact, want)
	}
}

// BenchmarkScheduling is measurement 1: layered DAGs of 20 layers, 20ms per operation; ratio is
// the Apply wall time over the ideal bound (goal ≤ 1.10).
func BenchmarkScheduling(b *testing.B) {
	for _, c := range schedCases {
		cfg, err := loadConfig(testgen.Layered(layers, c.width, seed))
		if err != nil {
			b.Fatal(err)
		}
		cp, err := criticalPath(cfg)
		if err != nil {
			b.Fatal(err)
		}
		n := len(cfg.Components)
		b.Run(fmt.Sprintf("N=%d/P=%d", n, c.p), func(b *testing.B) {
			var total time.Duration
			for i := 0; i < b.N; i++ {
				d, _, err := applyFresh(b.Context(), cfg, schedLatency, c.p, nil)
				if err != nil {
					b.Fatal(err)
				}
				total += d
			}
			ideal := idealBound(n, cp, c.p, schedLatency)
			b.ReportMetric(float64(total)/float64(b.N)/float64(ideal), "ratio")
		})
	}
}

// BenchmarkStateWrites is measurement 2: 1,000 resources, 20ms per operation, parallelism 10,
// each state write taking 30ms. It reports the writes and bytes stored and how many times fewer
// bytes than one full write per resource (goal ≥ 10).
func BenchmarkStateWrites(b *testing.B) {
	cfg, err := loadConfig(testgen.Layered(layers, width, seed))
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		be := memstate.New()
		_, res, err := applyFresh(b.Context(), cfg, schedLatency, 10, slowBackend{StateBackend: be, delay: writeLatency})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		st, _, err := readState(b.Context(), be, res.Plan)
		if err != nil {
			b.Fatal(err)
		}
		naive, _, _, err := naiveBytes(st)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(res.StateWrites), "writes")
		b.ReportMetric(float64(res.StateBytes)/(1<<20), "state-MB")
		b.ReportMetric(float64(naive)/float64(res.StateBytes), "x-fewer-bytes")
		b.StartTimer()
	}
}

// BenchmarkApplyLayered1000 applies the 20×50 layered DAG with zero provider latency: what is
// left is the engine's own overhead (planning, scheduling, state encoding and writes, and the
// state write interval). interval=default uses the default 200ms StateWriteInterval; with
// interval=1ms the pacing of writes no longer dominates and the CPU cost shows.
func BenchmarkApplyLayered1000(b *testing.B) {
	cfg, err := loadConfig(testgen.Layered(layers, width, seed))
	if err != nil {
		b.Fatal(err)
	}
	for _, iv := range []struct {
		name string
		d    time.Duration
	}{{"default", 0}, {"1ms", time.Millisecond}} {
		b.Run("interval="+iv.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				opts := newOptions(newSim(0), memstate.New(), 10)
				opts.StateWriteInterval = iv.d
				if _, err := applyOpts(b.Context(), cfg, opts); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*len(cfg.Components)), "µs/resource")
		})
	}
}

// BenchmarkNoChangePlan is measurement 3: a Plan of an applied stack that changes nothing
// (refresh of every resource through a zero-latency sim, then the diff).
func BenchmarkNoChangePlan(b *testing.B) {
	for _, size := range []struct{ services, per int }{{10, 100}, {100, 100}} {
		b.Run(fmt.Sprintf("components=%d", testgen.Components(size.services, size.per)), func(b *testing.B) {
			benchPlan(b, testgen.Config(size.services, size.per))
		})
	}
}

// BenchmarkNoChangePlanChain is measurement 3 for one long dependency chain.
func BenchmarkNoChangePlanChain(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("length=%d", n), func(b *testing.B) {
			benchPlan(b, testgen.Chain(n))
		})
	}
}

func benchPlan(b *testing.B, data []byte) {
	env, err := setupPlan(b.Context(), data)
	if err != nil {
		b.Fatal(err)
	}
	// Memory of one Plan, measured outside the timed loop (it forces GCs).
	_, mem, err := env.planMeasured(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := env.planOnce(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(mem.PeakHeap)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(mem.TotalAlloc)/(1<<20), "alloc-MB")
}

var _ backend.StateBackend = slowBackend{}
