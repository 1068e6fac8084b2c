//go:build linux

package main

// Checks of measurement 8 (localaws.go) at a small size, for go test ./bench/.

import (
	"testing"
)

// TestLocalAWS runs measurement 8 end to end on 10 queues and 3 tables: apply, no-change plan
// and destroy with the AWS provider on the emulator, then with the sim at the emulator's round
// trip. It checks that every step made the calls it must (one create and one delete per
// resource), that the no-change plan reads each resource once, and that the destroy leaves
// nothing the SDK lists.
//
// A read is not one call: the provider reads a queue with GetQueueAttributes and ListQueueTags
// (SQS returns no tags with the attributes), and a table with DescribeTable,
// DescribeTimeToLive, DescribeContinuousBackups and ListTagsOfResource (TTL, point-in-time
// recovery and tags are not in DescribeTable's answer). So the no-change plan's bound is 2 calls
// per queue and 4 per table: 2.46 per resource here, 2.40 at measurement 8's 200 + 50.
func TestLocalAWS(t *testing.T) {
	const queues, tables = 10, 3
	e, err := newLAEnv(t.Context(), 5)
	if err != nil {
		t.Fatal(err)
	}
	if e.rtt <= 0 {
		t.Errorf("emulator round trip %s", e.rtt)
	}
	a, err := e.run(t.Context(), true, queues, tables)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Left) > 0 {
		t.Errorf("left after destroy: %v", a.Left)
	}
	n := queues + tables
	for _, st := range []struct {
		name string
		step laStep
		want map[opKey]int // calls of these operations exactly
	}{
		{"apply", a.Apply, map[opKey]int{{"SQS", "CreateQueue"}: queues, {"DynamoDB", "CreateTable"}: tables}},
		{"plan", a.Plan, map[opKey]int{
			{"SQS", "GetQueueAttributes"}: queues, {"SQS", "ListQueueTags"}: queues,
			{"DynamoDB", "DescribeTable"}: tables, {"DynamoDB", "DescribeTimeToLive"}: tables,
			{"DynamoDB", "DescribeContinuousBackups"}: tables, {"DynamoDB", "ListTagsOfResource"}: tables,
		}},
		{"destroy", a.Destroy, map[opKey]int{{"SQS", "DeleteQueue"}: queues, {"DynamoDB", "DeleteTable"}: tables}},
	} {
		c := st.step.Calls
		t.Logf("%s: %d calls (%.2f per resource), %s; wall %s", st.name, c.total(), float64(c.total())/float64(n), c.per(1), st.step.Wall)
		for k, want := range st.want {
			if got := c.calls(k.Service, k.Op); got != want {
				t.Errorf("%s: %d %s calls, want %d", st.name, got, k, want)
			}
		}
		if st.name != "plan" {
			continue
		}
		if sq, db := c.service("SQS"), c.service("DynamoDB"); sq > 2*queues || db > 4*tables || c.total() != sq+db {
			t.Errorf("no-change plan: %d SQS calls for %d queues (want ≤ 2 each), %d DynamoDB calls for %d tables (want ≤ 4 each), %d in all",
				sq, queues, db, tables, c.total())
		}
	}

	s, err := e.run(t.Context(), false, queues, tables)
	if err != nil {
		t.Fatal(err)
	}
	for name, st := range map[string]laStep{"apply": s.Apply, "plan": s.Plan, "destroy": s.Destroy} {
		if st.Wall <= 0 || st.Calls.total() != 0 {
			t.Errorf("sim %s: wall %s, %d AWS calls", name, st.Wall, st.Calls.total())
		}
	}
}

// BenchmarkLocalAWS is measurement 8: each iteration applies, plans (no change) and destroys
// 200 queues and 50 tables with the AWS provider on the emulator and with the sim at the
// emulator's round trip, and reports AWS ÷ sim wall time and AWS calls per resource of each
// step.
func BenchmarkLocalAWS(b *testing.B) {
	e, err := newLAEnv(b.Context(), laProbes)
	if err != nil {
		b.Fatal(err)
	}
	var ratios, calls [3]float64
	for i := 0; i < b.N; i++ {
		a, err := e.run(b.Context(), true, laQueues, laTables)
		if err != nil {
			b.Fatal(err)
		}
		if len(a.Left) > 0 {
			b.Fatalf("left after destroy: %v", a.Left)
		}
		s, err := e.run(b.Context(), false, laQueues, laTables)
		if err != nil {
			b.Fatal(err)
		}
		for j, p := range [][2]laStep{{a.Apply, s.Apply}, {a.Plan, s.Plan}, {a.Destroy, s.Destroy}} {
			ratios[j] += float64(p[0].Wall) / float64(p[1].Wall)
			calls[j] += float64(p[0].Calls.total()) / float64(a.N)
		}
	}
	iters := float64(b.N)
	for j, step := range []string{"apply", "plan", "destroy"} {
		b.ReportMetric(ratios[j]/iters, step+"-aws/sim")
		b.ReportMetric(calls[j]/iters, step+"-calls/resource")
	}
}
