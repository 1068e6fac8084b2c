package sim_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/panka/panka/provider"
	"github.com/panka/panka/provider/sim"
	"github.com/panka/panka/schema"
)

// resources10k returns 10,000 distinct resources cycling through every kind.
func resources10k() []provider.Resource {
	kinds := schema.ComponentKinds()
	rs := make([]provider.Resource, 10_000)
	for i := range rs {
		kind := kinds[i%len(kinds)]
		name := fmt.Sprintf("bench-%s-%d", strings.ToLower(kind), i)
		rs[i] = provider.Resource{
			Address: "svc/" + name, Kind: kind, Name: name,
			Spec: map[string]any{"image": "nginx:1.27", "port": int64(8080), "tags": []any{"a", "b"}},
			Tags: map[string]string{"panka:stack": "bench", "panka:address": "svc/" + name},
		}
	}
	return rs
}

// BenchmarkCreate10k creates 10,000 resources in a fresh in-memory cloud with zero latency.
func BenchmarkCreate10k(b *testing.B) {
	rs := resources10k()
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		p, err := sim.New(sim.Options{})
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range rs {
			if _, err := p.Create(ctx, r); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(rs)), "ns/create")
}

// BenchmarkCreate10kParallel is BenchmarkCreate10k from 16 goroutines at once.
func BenchmarkCreate10kParallel(b *testing.B) {
	const workers = 16
	rs := resources10k()
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		p, err := sim.New(sim.Options{})
		if err != nil {
			b.Fatal(err)
		}
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for i := w; i < len(rs); i += workers {
					if _, err := p.Create(ctx, rs[i]); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(rs)), "ns/create")
}
