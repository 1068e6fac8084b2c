package schema

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/panka/panka/internal/testgen"
)

// TestGeneratedConfigIsValid keeps the benchmark honest: the generated config must be valid, so
// the benchmark measures the full validation path rather than an early error.
func TestGeneratedConfigIsValid(t *testing.T) {
	cfg, err := ParseBytes("gen.yaml", testgen.Config(3, 20))
	if err != nil {
		t.Fatal(err)
	}
	if diags := Validate(cfg); len(diags) != 0 {
		t.Fatalf("generated config has diagnostics:\n%v", diags)
	}
	if got, want := len(cfg.Components), testgen.Components(3, 20); got != want {
		t.Fatalf("got %d components, want %d", got, want)
	}
	// Output references and chains became edges: the second MicroService waits for the first.
	if deps := cfg.Graph().DependenciesOf("s000/web1"); len(deps) != 4 {
		t.Errorf("s000/web1 depends on %v; want web0, q1, b1 and t1", deps)
	}
}

// BenchmarkParseValidate parses and validates generated configs of 1,000 and 10,000 components
// (100 services). live-MB is the heap still in use with the parsed config reachable.
func BenchmarkParseValidate(b *testing.B) {
	for _, size := range []struct{ services, per int }{{10, 100}, {100, 100}} {
		data := testgen.Config(size.services, size.per)
		b.Run(fmt.Sprintf("components=%d", testgen.Components(size.services, size.per)), func(b *testing.B) {
			// Live heap of one parsed and validated config, measured outside the timed loop.
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			cfg := parseValidate(b, data)
			runtime.GC()
			runtime.ReadMemStats(&after)
			runtime.KeepAlive(cfg)
			live := after.HeapAlloc - min(after.HeapAlloc, before.HeapAlloc)

			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				parseValidate(b, data)
			}
			b.ReportMetric(float64(live)/(1<<20), "live-MB")
		})
	}
}

func parseValidate(b *testing.B, data []byte) *Config {
	cfg, err := ParseBytes("gen.yaml", data)
	if err != nil {
		b.Fatal(err)
	}
	if diags := Validate(cfg); diags.HasErrors() {
		b.Fatal(diags)
	}
	return cfg
}

// BenchmarkParseScaling measures ParseBytes (parse only) on generated configs of 1, 10 and 50 MB
// and on the deepest and widest inputs the limits allow, reporting per parse the bytes allocated
// (alloc-MB) and the peak of the heap above where it started (peak-MB, sampled every
// millisecond). A case ten times the size of another also reports its ratios to it (time-x,
// alloc-x, peak-x): linear growth is 10. The 50 MB config (about 30 s and 1.3 GB of heap) and the
// 10 MB mapping (one document: 0.9 GB) run only with PANKA_BENCH_LARGE=1, keeping CI's
// -benchtime 1x pass short:
//
//	PANKA_BENCH_LARGE=1 go test ./schema -run '^$' -bench ParseScaling -benchtime 1x
func BenchmarkParseScaling(b *testing.B) {
	const mb = 1 << 20
	large := os.Getenv("PANKA_BENCH_LARGE") != ""
	type result struct{ ns, alloc, peak float64 }
	results := map[string]result{}
	cases := []struct {
		name, smaller string
		large         bool
		data          func() []byte
	}{
		{"config=1MB", "", false, func() []byte { return generatedConfig(1 * mb) }},
		{"config=10MB", "config=1MB", false, func() []byte { return generatedConfig(10 * mb) }},
		{"config=50MB", "config=10MB", true, func() []byte { return generatedConfig(50 * mb) }},
		{"deepest=1MB", "", false, func() []byte { return deepestConfig(1 * mb) }},
		{"widest=1MB", "", false, func() []byte { return []byte(wideStack(mb / 21)) }},
		{"widest=10MB", "widest=1MB", true, func() []byte { return []byte(wideStack(10 * mb / 21)) }},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			if c.large && !large {
				b.Skip("set PANKA_BENCH_LARGE=1 to run")
			}
			data := c.data()
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			stop := samplePeakHeap()
			for b.Loop() {
				if _, err := ParseBytes("gen.yaml", data); err != nil {
					b.Fatal(err)
				}
			}
			peak := stop()
			runtime.ReadMemStats(&after)
			r := result{
				ns:    float64(b.Elapsed().Nanoseconds()) / float64(b.N),
				alloc: float64(after.TotalAlloc-before.TotalAlloc) / float64(b.N),
				peak:  float64(peak),
			}
			results[c.name] = r
			b.ReportMetric(r.alloc/mb, "alloc-MB")
			b.ReportMetric(r.peak/mb, "peak-MB")
			if s, ok := results[c.smaller]; ok {
				b.ReportMetric(r.ns/s.ns, "time-x")
				b.ReportMetric(r.alloc/s.alloc, "alloc-x")
				b.ReportMetric(r.peak/s.peak, "peak-x")
			}
		})
	}
}

// generatedConfig returns a testgen config of about size bytes (services of 100 components).
func generatedConfig(size int) []byte {
	perService := len(testgen.Config(2, 100)) - len(testgen.Config(1, 100))
	return testgen.Config(max(1, size/perService), 100)
}

// deepestConfig returns about size bytes of SNS topics whose filter policies nest as deeply as
// values may (64 levels).
func deepestConfig(size int) []byte {
	var buf bytes.Buffer
	buf.WriteString(prelude)
	for i := 0; buf.Len() < size; i++ {
		doc := strings.Replace(deepPolicy(maxDepth-4), "name: t,", fmt.Sprintf("name: t%d,", i), 1)
		buf.WriteString("---\n" + doc)
	}
	return buf.Bytes()
}

// samplePeakHeap samples the heap's live objects every millisecond until the returned function
// is called, which returns the highest sample above the first.
func samplePeakHeap() func() uint64 {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 {
		metrics.Read(sample)
		return sample[0].Value.Uint64()
	}
	base := read()
	var peak atomic.Uint64
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			if v := read(); v > base && v-base > peak.Load() {
				peak.Store(v - base)
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		<-stopped
		return peak.Load()
	}
}
