package aws

import "testing"

func TestReferences(t *testing.T) {
	d, err := deploymentOf("acme-shop-dev-orders-queue", "orders/queue")
	if err != nil {
		t.Fatal(err)
	}
	if d.prefix != "acme-shop-dev" || d.service != "orders" {
		t.Fatalf("deploymentOf = %+v", d)
	}
	for ref, want := range map[string]string{
		"dlq":         "acme-shop-dev-orders-dlq",
		"billing/dlq": "acme-shop-dev-billing-dlq",
	} {
		if got := d.physicalName(ref, ".fifo"); got != want+".fifo" {
			t.Errorf("physicalName(%q) = %q, want %q", ref, got, want+".fifo")
		}
	}
	for addr, want := range map[string]string{"orders/dlq": "dlq", "billing/dlq": "billing/dlq", "orders-x/dlq": "orders-x/dlq"} {
		if got := d.ref(addr); got != want {
			t.Errorf("ref(%q) = %q, want %q", addr, got, want)
		}
	}
	for _, bad := range [][2]string{{"shop-dev-orders-queue", "queue"}, {"other-name", "orders/queue"}, {"orders-queue", "orders/queue"}} {
		if _, err := deploymentOf(bad[0], bad[1]); err == nil {
			t.Errorf("deploymentOf(%q, %q) succeeded", bad[0], bad[1])
		}
	}
}

func TestLambdaRef(t *testing.T) {
	tags := map[string]string{tagAddress: "orders/events"}
	const fn = "arn:aws:lambda:us-east-1:123456789012:function:"
	for arn, want := range map[string]string{
		fn + "acme-shop-dev-orders-handler":      "handler",
		fn + "acme-shop-dev-billing-handler":     fn + "acme-shop-dev-billing-handler",
		fn + "other-handler":                     fn + "other-handler",
		fn + "acme-shop-dev-orders-handler:live": fn + "acme-shop-dev-orders-handler:live",
	} {
		if got := lambdaRef(arn, "acme-shop-dev-orders-events", tags); got != want {
			t.Errorf("lambdaRef(%s) = %s, want %s", arn, got, want)
		}
	}
}

func TestTagChanges(t *testing.T) {
	set, remove := tagChanges(
		map[string]string{"a": "1", "b": "2", "aws:cloudformation:stack-name": "x", "c": "3"},
		map[string]string{"a": "1", "b": "9", "d": "4"},
	)
	if len(set) != 2 || set["b"] != "9" || set["d"] != "4" || len(remove) != 1 || remove[0] != "c" {
		t.Errorf("tagChanges = %v, %v", set, remove)
	}
}
