//go:build linux

package main

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/panka/panka"
)

// TestPlatform runs measurement 10 once, end to end: examples/platform applied, planned with no
// change and destroyed with the AWS provider on the emulator, then with the sim at the ideal
// bound. It checks that the apply made the 58 resources, each slow kind among them, with one
// create call of each slow resource; that what platformLeft lists after the apply holds every
// kind of thing it lists (so that its "none" after the destroy can mean something); that the
// no-change plan only reads; that every slow kind's polled operations were called in the apply
// and the destroy; that the destroy leaves nothing but the two final snapshots; and that the
// sim makes no AWS call and waits at least the local AWS's slowest delay.
func TestPlatform(t *testing.T) {
	e, err := newPlatformEnv(t.Context(), 5)
	if err != nil {
		t.Fatal(err)
	}
	w := platform(e.rtt)
	w.applied = func(e *laEnv, ctx context.Context, created []panka.ResourceResult) error {
		listed, err := e.platformLeft(ctx, created)
		if err != nil {
			return err
		}
		for _, what := range []string{"cluster", "load balancer", "target group", "role", "VPC", "DB instance", "DB cluster", "MSK cluster",
			"file system", "volume", "function", "bucket", "queue", "topic", "table", "log group", "API", "VPC link", "distribution", "schedule", "event bus", "topic tags parameter"} {
			if !slices.ContainsFunc(listed, func(l string) bool { return strings.HasPrefix(l, what+" ") }) {
				t.Errorf("after the apply platformLeft lists no %s: %v", what, listed)
			}
		}
		return nil
	}
	a, err := e.runWorkload(t.Context(), true, w)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, n := range a.Kinds {
		total += n
	}
	if total != pfResources {
		t.Errorf("the apply made %d resources, want %d: %v", total, pfResources, a.Kinds)
	}
	for _, g := range pfSlow {
		for _, k := range g.kinds {
			if a.Kinds[k] == 0 {
				t.Errorf("the apply made no %s: %v", k, a.Kinds)
			}
		}
	}
	for k, want := range map[opKey]int{
		{"RDS", "CreateDBCluster"}: 1, {"Kafka", "CreateClusterV2"}: 1, {"Kafka", "CreateTopic"}: 2, {"EFS", "CreateFileSystem"}: 1,
		{"EC2", "CreateVolume"}: 1, {"EC2", "CreateNatGateway"}: 1, {"ECS", "CreateService"}: 5, {"ApiGatewayV2", "CreateVpcLink"}: 1,
	} {
		if got := a.Apply.Calls.calls(k.Service, k.Op); got != want {
			t.Errorf("apply: %d %s calls, want %d", got, k, want)
		}
	}
	for k := range a.Plan.Calls.ops {
		if !isRead(k.Op) {
			t.Errorf("the no-change plan called %s", k)
		}
	}
	for _, st := range []struct {
		name string
		step laStep
	}{{"apply", a.Apply}, {"destroy", a.Destroy}} {
		for _, g := range pfSlow {
			n := 0
			for _, op := range g.ops {
				n += st.step.Calls.calls(op.Service, op.Op)
			}
			if n == 0 {
				t.Errorf("%s: no call of %v, the operations %v poll", st.name, g.ops, g.kinds)
			}
		}
		t.Logf("%s: %d calls, wall %s; polled per resource: %s", st.name, st.step.Calls.total(), st.step.Wall, strings.Join(polls(a, st.step), "; "))
	}
	left, snaps := platformKept(a.Left)
	if len(left) > 0 {
		t.Errorf("left after destroy: %v", left)
	}
	if len(snaps) != 2 || !strings.Contains(snaps[0], "-dev-data-catalog-final-") || !strings.Contains(snaps[1], "-dev-pay-db-final-") {
		t.Errorf("final snapshots after destroy: %v, want the catalog's and the payment database's", snaps)
	}
	s, err := e.runWorkload(t.Context(), false, w)
	if err != nil {
		t.Fatal(err)
	}
	if s.Apply.Calls.total() != 0 || s.Apply.Wall < 2*max(e.rtt, 1) {
		t.Errorf("sim apply: wall %s, %d AWS calls", s.Apply.Wall, s.Apply.Calls.total())
	}
}
