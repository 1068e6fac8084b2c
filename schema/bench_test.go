package schema

import (
	"fmt"
	"runtime"
	"testing"

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
