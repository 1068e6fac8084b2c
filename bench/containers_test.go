//go:build linux

package main

import (
	"strings"
	"testing"
)

// TestContainers runs measurement 9 end to end on 3 services: apply, no-change plan and destroy
// with the AWS provider on the emulator, then with the sim at the ideal bound. It checks that
// every service was created and deleted once, that the no-change plan changes nothing (it makes
// only reads), and that the destroy leaves nothing the SDK lists.
func TestContainers(t *testing.T) {
	const services = 3
	e, err := newLAEnv(t.Context(), 5)
	if err != nil {
		t.Fatal(err)
	}
	w := containers(services, e.rtt)
	a, err := e.runWorkload(t.Context(), true, w)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Left) > 0 {
		t.Errorf("left after destroy: %v", a.Left)
	}
	for _, st := range []struct {
		name string
		step laStep
		want map[opKey]int
	}{
		{"apply", a.Apply, map[opKey]int{{"ECS", "CreateService"}: services, {"Elastic Load Balancing v2", "CreateLoadBalancer"}: 1, {"EC2", "CreateVpc"}: 1}},
		{"destroy", a.Destroy, map[opKey]int{{"ECS", "DeleteService"}: services, {"Elastic Load Balancing v2", "DeleteLoadBalancer"}: 1, {"EC2", "DeleteVpc"}: 1}},
	} {
		c := st.step.Calls
		t.Logf("%s: %d calls (%.1f per service), %s; wall %s", st.name, c.total(), float64(c.total())/services, c.per(1), st.step.Wall)
		for k, want := range st.want {
			if got := c.calls(k.Service, k.Op); got != want {
				t.Errorf("%s: %d %s calls, want %d", st.name, got, k, want)
			}
		}
	}
	for k := range a.Plan.Calls.ops {
		if !isRead(k.Op) {
			t.Errorf("the no-change plan called %s", k)
		}
	}
	s, err := e.runWorkload(t.Context(), false, w)
	if err != nil {
		t.Fatal(err)
	}
	if s.Apply.Wall <= 0 || s.Apply.Calls.total() != 0 {
		t.Errorf("sim apply: wall %s, %d AWS calls", s.Apply.Wall, s.Apply.Calls.total())
	}
}

// isRead reports whether an AWS operation only reads.
func isRead(op string) bool {
	return strings.HasPrefix(op, "Describe") || strings.HasPrefix(op, "List") || strings.HasPrefix(op, "Get")
}

// BenchmarkContainers is measurement 9: each iteration applies, plans (no change) and
// destroys 50 MicroServices behind one ALB with the AWS provider on the emulator and with the
// sim at the ideal bound, and reports wall ÷ ideal and AWS calls per service of each step.
func BenchmarkContainers(b *testing.B) {
	e, err := newLAEnv(b.Context(), laProbes)
	if err != nil {
		b.Fatal(err)
	}
	w := containers(ctServices, e.rtt)
	var ratios, calls [3]float64
	for i := 0; i < b.N; i++ {
		a, err := e.runWorkload(b.Context(), true, w)
		if err != nil {
			b.Fatal(err)
		}
		if len(a.Left) > 0 {
			b.Fatalf("left after destroy: %v", a.Left)
		}
		s, err := e.runWorkload(b.Context(), false, w)
		if err != nil {
			b.Fatal(err)
		}
		for j, p := range [][2]laStep{{a.Apply, s.Apply}, {a.Plan, s.Plan}, {a.Destroy, s.Destroy}} {
			ratios[j] += float64(p[0].Wall) / float64(p[1].Wall)
			calls[j] += float64(p[0].Calls.total()) / ctServices
		}
	}
	iters := float64(b.N)
	for j, step := range []string{"apply", "plan", "destroy"} {
		b.ReportMetric(ratios[j]/iters, step+"-aws/ideal")
		b.ReportMetric(calls[j]/iters, step+"-calls/service")
	}
}
