package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/panka/panka/backend"
)

// TestSimpleStackWithDatabase applies examples/simple-stack.yaml whole with --local, its RDS
// database included (deletion protection off, so that the test can destroy): the apply
// converges, the next plan says "No changes", and destroy leaves the database's final snapshot
// only. The database admits the web service on its port (TestManagedNetworkResources checks the
// rule the engine derives; here AWS is asked).
func TestSimpleStackWithDatabase(t *testing.T) {
	dir := localDir(t)
	c := &cli{t: t, dir: dir}
	data, err := os.ReadFile(mustAbs("../../examples/simple-stack.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(localExample(string(data)), "deletionProtection: true", "deletionProtection: false")
	config := filepath.Join(dir, "simple-stack.yaml")
	if err := os.WriteFile(config, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	w := &awsCrashWorld{crashWorld: &crashWorld{t: t, c: c, dir: dir},
		stack: awsCrashStack{key: backend.Key{Tenant: "default", Stack: "shop", Environment: "dev"}}}
	flags := append(w.flags(), "--env", "dev")
	c.must(append(append([]string{"apply", "--auto-approve"}, flags...), config)...)
	w.connect()

	db, err := rds.NewFromConfig(w.cfg).DescribeDBInstances(t.Context(), &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String("shop-dev-api-db")})
	if err != nil || len(db.DBInstances) != 1 {
		t.Fatalf("the database: %v", err)
	}
	inst := db.DBInstances[0]
	if aws.ToString(inst.Engine) != "postgres" || inst.MasterUserSecret == nil || len(inst.VpcSecurityGroups) != 1 ||
		inst.DBSubnetGroup == nil || len(inst.DBSubnetGroup.Subnets) != 2 {
		t.Errorf("the database: engine %s, managed secret %v, groups %v, subnet group %+v", aws.ToString(inst.Engine), inst.MasterUserSecret, inst.VpcSecurityGroups, inst.DBSubnetGroup)
	}
	groups := securityGroupsOf(t, w, "shop")
	if got := groups["shop-dev-api-db--sg"]; len(got) != 1 || got[0] != "tcp 5432 shop-dev-api-web--sg" {
		t.Errorf("the database admits %v, want the web service on 5432 only", got)
	}
	if r := c.run(append(append([]string{"plan", "--detailed-exitcode"}, flags...), config)...); r.code != 0 || !strings.Contains(r.stdout, "No changes.") {
		t.Errorf("the next plan is not empty: %s", r)
	}
	c.must(append(append([]string{"destroy", "--auto-approve"}, flags...), config)...)
	if out, err := rds.NewFromConfig(w.cfg).DescribeDBInstances(t.Context(), &rds.DescribeDBInstancesInput{}); err != nil || len(out.DBInstances) != 0 {
		t.Errorf("after destroy: %v, %d databases", err, len(out.DBInstances))
	}
	snaps, err := rds.NewFromConfig(w.cfg).DescribeDBSnapshots(t.Context(), &rds.DescribeDBSnapshotsInput{DBInstanceIdentifier: aws.String("shop-dev-api-db")})
	if err != nil || len(snaps.DBSnapshots) != 1 || !strings.HasPrefix(aws.ToString(snaps.DBSnapshots[0].DBSnapshotIdentifier), "shop-dev-api-db-final-") {
		t.Errorf("final snapshots: %v %+v", err, snaps)
	}
	if st := w.readState(); len(st.Resources) != 0 {
		t.Errorf("state still records %d resources", len(st.Resources))
	}
}
