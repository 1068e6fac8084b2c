//go:build linux

package main

// Go benchmarks and checks of measurement 4 (remote.go): the S3 backend and DynamoDB locker on
// the in-process emulator against the file backend and locker.

import (
	"fmt"
	"testing"
	"time"

	"github.com/panka/panka/internal/testgen"
)

// TestRemoteCallCounts checks the call counting measurement 4 relies on: every request is named
// as the SDK names it (setup, apply and round trips), and a small apply makes exactly the calls
// the S3 backend and the DynamoDB locker document.
func TestRemoteCallCounts(t *testing.T) {
	env, err := theRemote()
	if err != nil {
		t.Fatal(err)
	}
	if env.setup.total() == 0 {
		t.Error("EnsureBucket and EnsureTable made no counted calls")
	}
	for _, m := range env.setup.mismatches {
		t.Errorf("setup: %s", m)
	}

	cfg, err := loadConfig(testgen.Layered(3, 10, seed))
	if err != nil {
		t.Fatal(err)
	}
	_, run, err := applyOn(t.Context(), cfg, remoteName, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range run.calls.mismatches {
		t.Errorf("apply: %s", m)
	}
	if run.writes < 1 {
		t.Fatalf("Result.StateWrites = %d", run.writes)
	}
	want := map[opKey]int{
		{"DynamoDB", "PutItem"}:      1,            // Acquire
		{"DynamoDB", "DeleteItem"}:   1,            // Release
		{"S3", "GetObject"}:          1,            // the state read (404: a fresh key)
		{"S3", "PutObject"}:          run.writes,   // one per state write: revisions and journal entries
		{"S3", "ListObjectVersions"}: run.revs - 1, // the pre-check of every conditional revision write
	}
	for k, n := range want {
		if got := run.calls.ops[k].Calls; got != n {
			t.Errorf("%s: %d calls, want %d", k, got, n)
		}
	}
	for k, c := range run.calls.ops {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected %s: %d calls", k, c.Calls)
		}
	}

	const n = 3
	st, err := measureRoundTrips(t.Context(), remoteName, []byte(`{"serial":1}`), n)
	if err != nil {
		t.Fatal(err)
	}
	for _, rt := range []struct {
		name  string
		calls callCounts
		want  string
	}{
		{"lock", st.lockCalls, "DeleteItem 1, PutItem 1"},
		{"state", st.stateCalls, "GetObject 1, ListObjectVersions 1, PutObject 1"},
	} {
		for _, m := range rt.calls.mismatches {
			t.Errorf("%s round trip: %s", rt.name, m)
		}
		if got := rt.calls.per(n); got != rt.want {
			t.Errorf("%s round trip calls: %s, want %s", rt.name, got, rt.want)
		}
	}
}

// BenchmarkRemoteApply is measurement 4: each iteration applies the 1,000-resource layered DAG
// (P=10) once with S3 + DynamoDB on the emulator and once with the file backend and lock. It
// reports both Apply wall times (s3-ms, file-ms), their ratio (s3 ÷ file), and the API calls of
// the S3 + DynamoDB apply, in all and per operation. ns/op covers both applies and their setup.
func BenchmarkRemoteApply(b *testing.B) {
	cfg, err := loadConfig(testgen.Layered(layers, width, seed))
	if err != nil {
		b.Fatal(err)
	}
	n := len(cfg.Components)
	for _, latency := range remoteLatencies {
		b.Run(fmt.Sprintf("N=%d/P=%d/latency=%dms", n, remoteParallelism, latency.Milliseconds()), func(b *testing.B) {
			var remote, file time.Duration
			var calls, writes int
			perOp := map[opKey]int{}
			for i := 0; i < b.N; i++ {
				d, run, err := applyOn(b.Context(), cfg, remoteName, latency)
				if err != nil {
					b.Fatal(err)
				}
				remote += d
				calls += run.calls.total()
				writes += run.writes
				for k, c := range run.calls.ops {
					perOp[k] += c.Calls
				}
				if d, _, err = applyOn(b.Context(), cfg, fileName, latency); err != nil {
					b.Fatal(err)
				}
				file += d
			}
			iters := float64(b.N)
			b.ReportMetric(float64(remote.Milliseconds())/iters, "s3-ms")
			b.ReportMetric(float64(file.Milliseconds())/iters, "file-ms")
			b.ReportMetric(float64(remote)/float64(file), "ratio")
			b.ReportMetric(float64(calls)/iters, "calls")
			b.ReportMetric(float64(calls)/iters/float64(n), "calls/resource")
			b.ReportMetric(float64(writes)/iters, "writes")
			for _, o := range knownOps {
				b.ReportMetric(float64(perOp[o.key])/iters, o.key.Op)
			}
		})
	}
}

// BenchmarkRemoteRoundTrip times one lock Acquire+Release and one state Read+Write (of the
// 1,000-resource state document, conditional on the version read) on each backend. The S3 +
// DynamoDB ones report their API calls per round trip.
func BenchmarkRemoteRoundTrip(b *testing.B) {
	cfg, err := loadConfig(testgen.Layered(layers, width, seed))
	if err != nil {
		b.Fatal(err)
	}
	doc, err := stateDoc(b.Context(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	for _, kind := range []string{remoteName, fileName} {
		for _, what := range []string{"lock", "state"} {
			b.Run(what+"/backend="+kind, func(b *testing.B) {
				r, err := newRoundTripper(b.Context(), kind, doc)
				if err != nil {
					b.Fatal(err)
				}
				defer r.s.cleanup()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if what == "lock" {
						err = r.lock(b.Context())
					} else {
						_, _, err = r.state(b.Context())
					}
					if err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				if r.s.calls != nil {
					b.ReportMetric(float64(r.s.calls.take().total())/float64(b.N), "calls/op")
				}
			})
		}
	}
}
