package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kafka"
	kafkatypes "github.com/aws/aws-sdk-go-v2/service/kafka/types"
	"github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/panka/panka/backend"
	"github.com/panka/panka/backend/s3state"
	"github.com/panka/panka/state"
)

// statefulCrashStack is a managed network with one PostgreSQL instance and one provisioned MSK
// cluster of two brokers over two zones. skipFinalSnapshot: the destroy leaves nothing.
const statefulCrashStack = `apiVersion: panka.io/v1
kind: Stack
metadata: {name: dbcrash}
spec:
  provider: {name: aws, region: us-east-1}
  network:
    managed: {cidr: 10.40.0.0/16}
---
apiVersion: panka.io/v1
kind: Service
metadata: {name: data}
---
apiVersion: panka.io/v1
kind: RDS
metadata: {name: db, service: data}
spec:
  engine: postgres
  managePassword: true
  skipFinalSnapshot: true
---
apiVersion: panka.io/v1
kind: MSK
metadata: {name: events, service: data}
spec:
  brokerNodes: 2
  availabilityZones: 2
  instanceType: kafka.t3.small
  storageGiB: 10
`

// statefulSeen is what the SDK shows of the stack's database and Kafka cluster: every DB
// instance and MSK cluster (not deleting) whose name begins with the deployment's prefix, by
// name, with its status.
type statefulSeen struct {
	dbs      map[string]string // name → DBInstanceStatus
	dbARN    map[string]string
	clusters map[string][]string // name → states (a list: two clusters of a name are the failure)
	mskARN   map[string]string
}

func seeStateful(ctx context.Context, t *testing.T, cfg aws.Config, prefix string) statefulSeen {
	t.Helper()
	s := statefulSeen{dbs: map[string]string{}, dbARN: map[string]string{}, clusters: map[string][]string{}, mskARN: map[string]string{}}
	dbs, err := rds.NewFromConfig(cfg).DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{})
	if err != nil {
		t.Fatalf("DescribeDBInstances: %v", err)
	}
	for _, in := range dbs.DBInstances {
		if name := aws.ToString(in.DBInstanceIdentifier); strings.HasPrefix(name, prefix) {
			if _, dup := s.dbs[name]; dup {
				t.Errorf("two DB instances named %s", name)
			}
			s.dbs[name], s.dbARN[name] = aws.ToString(in.DBInstanceStatus), aws.ToString(in.DBInstanceArn)
		}
	}
	p := kafka.NewListClustersV2Paginator(kafka.NewFromConfig(cfg), &kafka.ListClustersV2Input{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListClustersV2: %v", err)
		}
		for _, c := range page.ClusterInfoList {
			if name := aws.ToString(c.ClusterName); strings.HasPrefix(name, prefix) && c.State != kafkatypes.ClusterStateDeleting {
				s.clusters[name] = append(s.clusters[name], string(c.State))
				s.mskARN[name] = aws.ToString(c.ClusterArn)
			}
		}
	}
	return s
}

// TestCrashStatefulCreating kills `panka apply --local` (SIGKILL) while an RDS instance and an
// MSK cluster are both still creating (the local AWS keeps each creating for 5s here), then
// applies again: the second run must adopt both (Find by name) instead of making a second of
// either, wait for them, record them, and converge; the next plan is empty, and destroy leaves
// no instance, cluster, subnet group, security group or network (skipFinalSnapshot: no
// snapshot either). A second kill interrupts the re-apply while it waits for the two, and a
// third run finishes it. Everything is checked through the SDK, independently of Panka.
func TestCrashStatefulCreating(t *testing.T) {
	dir := localDir(t) // its cleanup stops the emulator
	config := filepath.Join(dir, "stack.yaml")
	if err := os.WriteFile(config, []byte(statefulCrashStack), 0o644); err != nil {
		t.Fatal(err)
	}
	// The emulator inherits the environment of the run that starts it (the test's connect below).
	c := &cli{t: t, dir: dir, env: []string{"PANKA_LOCK_TTL=2s", "PANKA_LOCALAWS_RDS_DELAY=5s", "PANKA_LOCALAWS_MSK_DELAY=5s"}}
	const prefix = "dbcrash-default-"
	dbName, mskName := prefix+"data-db", prefix+"data-events"
	w := &awsCrashWorld{crashWorld: &crashWorld{t: t, c: c, dir: dir},
		stack: awsCrashStack{config: config, key: backend.Key{Tenant: "default", Stack: "dbcrash", Environment: "default"}, prefix: prefix}}
	w.connectEmulator()
	args := func(op string) []string {
		return append(append([]string{op, "--auto-approve", "--lock-timeout", "30s"}, w.flags()...), config)
	}
	ctx := t.Context()

	// 1. Apply, killed once the instance and the cluster are both creating.
	start := time.Now()
	run := c.start(args("apply")...)
	exited := make(chan result, 1)
	go func() { exited <- run.wait() }()
	for {
		s := seeStateful(ctx, t, w.cfg, prefix)
		if s.dbs[dbName] == "creating" && slices.Equal(s.clusters[mskName], []string{"CREATING"}) {
			break
		}
		select {
		case r := <-exited:
			t.Fatalf("the apply ended before both were creating (seen %v %v): %s", s.dbs, s.clusters, r)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Since(start) > 40*time.Second {
			t.Fatalf("after %s, the database is %v and the cluster %v, not both creating", time.Since(start), s.dbs, s.clusters)
		}
	}
	if err := run.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	r := <-exited
	if ws, ok := run.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
		t.Fatalf("the apply was not killed: %s", r)
	}
	t.Logf("apply killed after %s with both creating", time.Since(start).Round(time.Millisecond))
	s := seeStateful(ctx, t, w.cfg, prefix)
	if len(s.dbs) != 1 || len(s.clusters) != 1 || len(s.clusters[mskName]) != 1 {
		t.Fatalf("after the kill: instances %v, clusters %v; want one of each", s.dbs, s.clusters)
	}
	var err error
	if w.backend, err = s3state.New(ctx, s3state.NewClient(w.cfg), s3state.Options{Bucket: localBucket}); err != nil {
		t.Fatal(err)
	}
	w.forceUnlock()

	// 2. Apply again, killed while it waits for the two (they are still creating when it starts:
	// the kill comes within a second of it).
	again := c.start(args("apply")...)
	time.Sleep(time.Second)
	s = seeStateful(ctx, t, w.cfg, prefix)
	_ = again.cmd.Process.Signal(syscall.SIGKILL)
	r = again.wait()
	t.Logf("re-apply killed (%d) with the database %v and the cluster %v", r.code, s.dbs, s.clusters)
	w.forceUnlock()

	// 3. Apply to completion.
	w.recover(args("apply"))
	s = seeStateful(ctx, t, w.cfg, prefix)
	if len(s.dbs) != 1 || s.dbs[dbName] != "available" {
		t.Errorf("after the re-apply: DB instances %v; want %s available, only", s.dbs, dbName)
	}
	if len(s.clusters) != 1 || !slices.Equal(s.clusters[mskName], []string{"ACTIVE"}) {
		t.Errorf("after the re-apply: MSK clusters %v; want %s ACTIVE, only", s.clusters, mskName)
	}
	st := w.readState()
	recorded := map[string]string{}
	for _, res := range st.Resources {
		recorded[res.Address] = res.ID
		if res.Address == "data/db" || res.Address == "data/events" {
			if res.Status != state.StatusCreated {
				t.Errorf("state records %s as %s", res.Address, res.Status)
			}
		}
	}
	if recorded["data/db"] != s.dbARN[dbName] || recorded["data/db"] == "" {
		t.Errorf("state records data/db as %q; the instance is %q", recorded["data/db"], s.dbARN[dbName])
	}
	if recorded["data/events"] != s.mskARN[mskName] || recorded["data/events"] == "" {
		t.Errorf("state records data/events as %q; the cluster is %q", recorded["data/events"], s.mskARN[mskName])
	}
	if r := c.run(append(append([]string{"plan", "--detailed-exitcode"}, w.flags()...), config)...); r.code != 0 || !strings.Contains(r.stdout, "No changes.") {
		t.Errorf("the next plan is not empty: %s", r)
	}

	// 4. Destroy leaves nothing.
	c.must(args("destroy")...)
	s = seeStateful(ctx, t, w.cfg, prefix)
	if len(s.dbs) != 0 || len(s.clusters) != 0 {
		t.Errorf("after destroy: DB instances %v, MSK clusters %v", s.dbs, s.clusters)
	}
	rc := rds.NewFromConfig(w.cfg)
	groups, err := rc.DescribeDBSubnetGroups(ctx, &rds.DescribeDBSubnetGroupsInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range groups.DBSubnetGroups {
		if strings.HasPrefix(aws.ToString(g.DBSubnetGroupName), prefix) {
			t.Errorf("after destroy: DB subnet group %s", aws.ToString(g.DBSubnetGroupName))
		}
	}
	snaps, err := rc.DescribeDBSnapshots(ctx, &rds.DescribeDBSnapshotsInput{DBInstanceIdentifier: aws.String(dbName)})
	if err != nil || len(snaps.DBSnapshots) != 0 {
		t.Errorf("after destroy with skipFinalSnapshot: snapshots %v (%v)", snaps, err)
	}
	k := w.stack.key
	left, stray, err := listNetworks(ctx, w.cfg, awsScope{prefix: prefix, ours: func(name string, tags map[string]string) bool {
		return strings.HasPrefix(name, prefix) ||
			tags["panka:stack"] == k.Stack && tags["panka:environment"] == k.Environment && tags["panka:tenant"] == k.Tenant
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 || len(stray) != 0 {
		t.Errorf("after destroy, the network is left: %v %v", left, stray)
	}
	if st := w.readState(); len(st.Resources) != 0 {
		t.Errorf("state still records %d resources", len(st.Resources))
	}
	t.Logf("whole test %s", time.Since(start).Round(time.Millisecond))
}
