package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
)

// copyExample copies the example directory src (relative to this package) into dst verbatim.
func copyExample(t *testing.T, src, dst string) {
	t.Helper()
	root := mustAbs(src)
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestPlatform applies examples/platform as it is written, every kind of the config language in
// it, with --local: the local AWS's account and region stand for the stack's (111111111111,
// eu-west-1), and what the stack takes as given outside it (the secrets and the parameter its
// services read) is stored first with `panka local-aws put-secret` and `put-parameter`, as the
// README shows. It checks, through the SDK and independently of
// Panka:
//   - after the apply, every resource and part of the deployment, tagged as its component, with
//     the IDs the state records (the inventory of the crash tests), and the settings of each kind
//     (checkPlatformKinds); the next plan says "No changes";
//   - one field change of each kind (platformEdits), all in one plan: it plans exactly those
//     in-place updates, each of exactly its field; the apply makes each of them, read back
//     through the SDK; the next plan is empty again;
//   - what AWS cannot change in place: fewer partitions of a topic are refused at plan time
//     with the reason, a smaller volume plans a replacement, an engine upgrade plans an update
//     with its note;
//   - deletion protection turned off (the ALB, the databases and the table: four updates), then
//     destroy: nothing of the deployment is left but the two databases' final snapshots.
func TestPlatform(t *testing.T) {
	dir := localDir(t)
	c := &cli{t: t, dir: dir, env: []string{"PANKA_LOCK_TTL=5s"}}
	config := filepath.Join(dir, "platform")
	copyExample(t, "../../examples/platform", config)
	w := &awsCrashWorld{crashWorld: &crashWorld{t: t, c: c, dir: dir}}
	w.stack = platformWhole(config)
	for _, r := range w.stack.want {
		w.addrs = append(w.addrs, r.address)
	}
	// What the stack takes as given, stored as the README says.
	for _, put := range platformGivens {
		c.must(append(append([]string{"local-aws"}, put[0], "--state-dir", "st"), put[1:]...)...)
	}
	w.connectEmulator()
	args := func(op string) []string {
		return append(append([]string{op, "--auto-approve", "--parallelism", "8"}, w.flags()...), config)
	}

	c.must(args("apply")...)
	w.connect()
	w.checkConverged("apply")
	checkPlatformKinds(t, w)
	if t.Failed() {
		t.FailNow()
	}

	// One field of each kind changes: exactly those updates, each made.
	want := map[string][]string{}
	for _, e := range platformEdits {
		e.apply(t, config)
		want[e.address] = append(want[e.address], e.field)
	}
	checkPlannedUpdates(t, w, want)
	c.must(args("apply")...)
	for _, e := range platformEdits {
		e.check(t, w)
	}
	w.checkConverged("apply of one change per kind")

	// What AWS cannot change in place: fewer partitions are refused at plan time with the
	// reason; a smaller volume plans a replacement; an engine upgrade plans in place, with its
	// note. Each edit is undone after its plan.
	plan := func(extra ...string) result {
		return c.run(append(append(append([]string{"plan"}, extra...), w.flags()...), config)...)
	}
	fewer := platformEdit{file: "devices/mqtt.yaml", old: "partitions: 32", new: "partitions: 16"}
	fewer.apply(t, config)
	if r := plan(); r.code != 1 || !strings.Contains(r.stderr, "devices/telemetry: partitions 32 → 16: Kafka cannot remove a topic's partitions") {
		t.Errorf("fewer partitions: %s, want a plan error with the reason", r)
	}
	platformEdit{file: fewer.file, old: fewer.new, new: fewer.old}.apply(t, config)
	smaller := platformEdit{file: "data/catalog.yaml", old: "sizeGiB: 300", new: "sizeGiB: 100"}
	smaller.apply(t, config)
	if r := plan(); !strings.Contains(r.stdout, "data/index (EBS) must be replaced") || !strings.Contains(r.stdout, "sizeGiB: 300 → 100 (forces replacement)") {
		t.Errorf("a smaller volume: %s, want a replacement", r)
	}
	platformEdit{file: smaller.file, old: smaller.new, new: smaller.old}.apply(t, config)
	upgrade := platformEdit{file: "payments/api.yaml", old: `engineVersion: "16.4"`, new: `engineVersion: "17.2"`}
	upgrade.apply(t, config)
	if r := plan(); !strings.Contains(r.stdout, "pay/db (RDS) will be updated in place") || !strings.Contains(r.stdout, "# an engine upgrade, in place") {
		t.Errorf("an engine upgrade: %s, want an update with its note", r)
	}
	platformEdit{file: upgrade.file, old: upgrade.new, new: upgrade.old}.apply(t, config)

	// Deletion protection off, then destroy.
	want = map[string][]string{}
	for _, x := range []struct{ file, address string }{
		{"edge/load-balancers.yaml", "edge/alb"}, {"payments/api.yaml", "pay/db"}, {"data/catalog.yaml", "data/catalog"}, {"storefront/carts.yaml", "shop/carts"},
	} {
		platformEdit{file: x.file, old: "deletionProtection: true", new: "deletionProtection: false"}.apply(t, config)
		want[x.address] = []string{"deletionProtection"}
	}
	checkPlannedUpdates(t, w, want)
	c.must(args("apply")...)
	c.must(args("destroy")...)
	w.checkEmpty("destroy")

	// What is kept: the databases' final snapshots, and nothing else of theirs.
	r := rds.NewFromConfig(w.cfg)
	snaps, err := r.DescribeDBSnapshots(t.Context(), &rds.DescribeDBSnapshotsInput{})
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, s := range snaps.DBSnapshots {
		kept = append(kept, aws.ToString(s.DBSnapshotIdentifier))
	}
	clusterSnaps, err := r.DescribeDBClusterSnapshots(t.Context(), &rds.DescribeDBClusterSnapshotsInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range clusterSnaps.DBClusterSnapshots {
		kept = append(kept, aws.ToString(s.DBClusterSnapshotIdentifier))
	}
	slices.Sort(kept)
	if len(kept) != 2 || !strings.HasPrefix(kept[0], "acme-dev-data-catalog-final-") || !strings.HasPrefix(kept[1], "acme-dev-pay-db-final-") {
		t.Errorf("after destroy the snapshots are %v, want the final snapshot of each database", kept)
	}
	t.Logf("kept after destroy: the final snapshots %v", kept)
}

// platformGivens are the `panka local-aws` commands the README's platform quick start runs before
// the apply: the secrets and the parameter the example's services read.
var platformGivens = [][]string{
	{"put-secret", "acme/dev/catalog", `{"password":"local-catalog-password"}`},
	{"put-secret", "acme/dev/stripe", `{"api_key":"sk_test_local"}`},
	{"put-secret", "acme/stripe-webhook", `{"signing_secret":"whsec_local"}`},
	{"put-parameter", "/acme/shop/session-secret", "local-session-secret"},
}

// platformWhole is what examples/platform makes in environment dev.
func platformWhole(config string) awsCrashStack {
	s := platformStack(config)
	p := s.prefix
	fn := func(address string, parts ...string) awsWant {
		name := p + strings.Replace(address, "/", "-", 1)
		parts = append(parts, "log-group /aws/lambda/"+name, "role "+name+"-lambda")
		slices.Sort(parts)
		return awsWant{address: address, kind: "Lambda", name: name, parts: parts}
	}
	sg := func(address string) awsWant {
		return awsWant{address: address + "--sg", kind: "SecurityGroup", name: p + strings.Replace(address, "/", "-", 1) + "--sg"}
	}
	topic := p + "data-msk"
	more := []awsWant{
		{address: "data/catalog", kind: "DocumentDB", name: p + "data-catalog", parts: []string{
			"instance " + p + "data-catalog-1", "instance " + p + "data-catalog-2", "instance " + p + "data-catalog-3", "subnet-group " + p + "data-catalog"}},
		sg("data/catalog"),
		{address: "data/index", kind: "EBS", name: p + "data-index"},
		{address: "data/msk", kind: "MSK", name: p + "data-msk"},
		sg("data/msk"),
		{address: "data/orders", kind: "Kafka", name: p + "data-orders", parts: []string{"parameter /panka/kafka-topics/" + topic + "/" + p + "data-orders"}},
		{address: "devices/telemetry", kind: "Kafka", name: p + "devices-telemetry", parts: []string{"parameter /panka/kafka-topics/" + topic + "/" + p + "devices-telemetry"}},
		{address: "edge/assets", kind: "S3", name: p + "edge-assets"},
		{address: "edge/cdn", kind: "CloudFront", name: p + "edge-cdn", parts: []string{"oac " + p + "edge-cdn", "origin assets", "origin shop"}},
		{address: "edge/gw", kind: "APIGateway", name: p + "edge-gw", parts: []string{"integration " + p + "pay-webhook", "integration vpc-link " + p + "edge-internal",
			"route ANY /payments/{proxy+}", "route POST /webhooks/stripe", "stage $default", "vpc-link " + p + "edge-gw"}},
		sg("edge/gw"),
		{address: "pay/audit", kind: "SQS", name: p + "pay-audit"},
		{address: "pay/audit-dlq", kind: "SQS", name: p + "pay-audit-dlq"},
		{address: "pay/bus", kind: "EventBridge", name: p + "pay-bus", parts: []string{"archive " + p + "pay-bus", "rule audit-all", "rule payment-failed"}},
		{address: "pay/db", kind: "RDS", name: p + "pay-db", parts: []string{"subnet-group " + p + "pay-db"}},
		sg("pay/db"),
		fn("pay/notify", "mapping "+p+"pay-receipts", "permission PankaEventsf97d714eda7fe2a4"),
		fn("pay/webhook", "permission panka-apigw-"+p+"edge-gw"),
		fn("shop/abandon", "mapping table "+p+"shop-carts"),
		{address: "shop/media", kind: "EFS", name: p + "shop-media", parts: []string{"access-point uploads", "mount-target us-east-1a", "mount-target us-east-1b", "mount-target us-east-1c"}},
		sg("shop/media"),
	}
	for _, m := range more {
		if slices.ContainsFunc(s.want, func(r awsWant) bool { return r.address == m.address }) {
			panic("platformWhole: " + m.address + " twice")
		}
	}
	s.want = append(s.want, more...)
	slices.SortFunc(s.want, func(a, b awsWant) int { return strings.Compare(a.address, b.address) })
	return s
}
