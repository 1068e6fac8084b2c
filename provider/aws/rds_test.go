package aws_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/docdb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/google/go-cmp/cmp"

	"github.com/panka/panka/provider"
	"github.com/panka/panka/state"
)

// dbNet is the network the engine injects into a database: the default VPC's subnets (two
// zones) and a security group of the test's own.
type dbNet struct {
	vpc     string
	subnets []string
	group   string
}

func newDBNet(t *testing.T) dbNet {
	t.Helper()
	ec := ec2.NewFromConfig(sdkConfig(t))
	out, err := ec.DescribeSubnets(t.Context(), &ec2.DescribeSubnetsInput{
		Filters: []ec2types.Filter{{Name: aws.String("default-for-az"), Values: []string{"true"}}}})
	if err != nil || len(out.Subnets) < 2 {
		t.Fatalf("default subnets: %v", err)
	}
	n := dbNet{vpc: aws.ToString(out.Subnets[0].VpcId)}
	for _, s := range out.Subnets[:2] {
		n.subnets = append(n.subnets, aws.ToString(s.SubnetId))
	}
	sg, err := ec.CreateSecurityGroup(t.Context(), &ec2.CreateSecurityGroupInput{GroupName: aws.String(unique("db-sg-")),
		Description: aws.String("db test"), VpcId: aws.String(n.vpc)})
	if err != nil {
		t.Fatal(err)
	}
	n.group = aws.ToString(sg.GroupId)
	return n
}

func (n dbNet) spec() map[string]any {
	return map[string]any{"vpcId": n.vpc, "subnets": []any{n.subnets[0], n.subnets[1]}, "securityGroups": []any{n.group}}
}

// rdsSpec is a PostgreSQL instance as the engine hands it over (schema.ToMap with defaults:
// engine-dependent fields at zero), with a managed password.
func rdsSpec(n dbNet) map[string]any {
	return map[string]any{"engine": "postgres", "backupRetention": int64(7), "storageEncrypted": true, "managePassword": true,
		"allocatedStorage": int64(0), "maxAllocatedStorage": int64(0), "iops": int64(0), "instances": int64(0), "port": int64(0),
		"multiAZ": false, "deletionProtection": false, "skipFinalSnapshot": false, "applyImmediately": false, "publiclyAccessible": false, "network": n.spec()}
}

func rdsClient(t *testing.T) *rds.Client { return rds.NewFromConfig(sdkConfig(t)) }

func describeDB(t *testing.T, name string) rdstypes.DBInstance {
	t.Helper()
	out, err := rdsClient(t).DescribeDBInstances(t.Context(), &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(name)})
	if err != nil {
		t.Fatalf("DescribeDBInstances %s: %v", name, err)
	}
	return out.DBInstances[0]
}

func rdsTagsOf(t *testing.T, arn string) map[string]string {
	t.Helper()
	out, err := rdsClient(t).ListTagsForResource(t.Context(), &rds.ListTagsForResourceInput{ResourceName: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	tags := map[string]string{}
	for _, tg := range out.TagList {
		tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	return tags
}

// rdsView is an instance seen through the SDK: its settings, pending changes, subnet group and
// security groups.
func rdsView(t *testing.T, name string) view {
	t.Helper()
	in := describeDB(t, name)
	v := view{
		"engine": aws.ToString(in.Engine), "engineVersion": aws.ToString(in.EngineVersion), "class": aws.ToString(in.DBInstanceClass),
		"allocated": fmt.Sprint(aws.ToInt32(in.AllocatedStorage)), "maxAllocated": fmt.Sprint(aws.ToInt32(in.MaxAllocatedStorage)),
		"storageType": aws.ToString(in.StorageType), "iops": fmt.Sprint(aws.ToInt32(in.Iops)), "multiAZ": fmt.Sprint(aws.ToBool(in.MultiAZ)),
		"retention": fmt.Sprint(aws.ToInt32(in.BackupRetentionPeriod)), "backupWindow": aws.ToString(in.PreferredBackupWindow),
		"maintenanceWindow": aws.ToString(in.PreferredMaintenanceWindow), "deletionProtection": fmt.Sprint(aws.ToBool(in.DeletionProtection)),
		"dbName": aws.ToString(in.DBName), "user": aws.ToString(in.MasterUsername), "public": fmt.Sprint(aws.ToBool(in.PubliclyAccessible)),
		"encrypted": fmt.Sprint(aws.ToBool(in.StorageEncrypted)), "kmsKey": aws.ToString(in.KmsKeyId), "status": aws.ToString(in.DBInstanceStatus),
		"managedSecret": fmt.Sprint(in.MasterUserSecret != nil),
	}
	if in.Endpoint != nil {
		v["port"] = fmt.Sprint(aws.ToInt32(in.Endpoint.Port))
	}
	if p := in.PendingModifiedValues; p != nil {
		v["pending.class"] = aws.ToString(p.DBInstanceClass)
		v["pending.allocated"] = fmt.Sprint(aws.ToInt32(p.AllocatedStorage))
		v["pending.engineVersion"] = aws.ToString(p.EngineVersion)
	}
	var groups []string
	for _, g := range in.VpcSecurityGroups {
		groups = append(groups, aws.ToString(g.VpcSecurityGroupId))
	}
	v["securityGroups"] = strings.Join(groups, ",")
	if g := in.DBSubnetGroup; g != nil {
		v["subnetGroup"] = aws.ToString(g.DBSubnetGroupName)
		v["subnetGroup.vpc"] = aws.ToString(g.VpcId)
		var subnets []string
		for _, s := range g.Subnets {
			subnets = append(subnets, aws.ToString(s.SubnetIdentifier))
		}
		slices.Sort(subnets)
		v["subnetGroup.subnets"] = strings.Join(subnets, ",")
	}
	for k, val := range rdsTagsOf(t, aws.ToString(in.DBInstanceArn)) {
		v["tag:"+k] = val
	}
	return v
}

func sortedJoin(s []string) string {
	s = slices.Clone(s)
	slices.Sort(s)
	return strings.Join(s, ",")
}

// An RDS instance: every field the spec gives (and the engine's defaults for those it leaves)
// is on the instance, in a subnet group of its name in the network's subnets and its security
// group; the managed password's secret is the masterSecretArn output; Read gives back exactly
// the spec (a second plan is empty).
func TestRDSInstanceCreate(t *testing.T) {
	p := newProvider(t)
	n := newDBNet(t)
	spec := rdsSpec(n)
	spec["engineVersion"] = "16.4"
	spec["databaseName"] = "orders"
	spec["maxAllocatedStorage"] = int64(100)
	spec["preferredBackupWindow"] = "02:00-02:30"
	spec["maintenanceWindow"] = "sun:04:00-sun:04:30"
	spec["multiAZ"] = true
	spec["kmsKey"] = "arn:aws:kms:us-east-1:000000000000:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	r := component("RDS", unique("db"), "", spec)
	obs := deploy(t, p, r)

	v := rdsView(t, r.Name)
	wantIn(t, "instance", v, view{
		"engine": "postgres", "engineVersion": "16.4", "class": "db.t4g.micro", "allocated": "20", "maxAllocated": "100",
		"storageType": "gp3", "iops": "0", "multiAZ": "true", "retention": "7", "backupWindow": "02:00-02:30",
		"maintenanceWindow": "sun:04:00-sun:04:30", "deletionProtection": "false", "dbName": "orders", "user": "postgres",
		"public": "false", "encrypted": "true", "kmsKey": spec["kmsKey"].(string), "status": "available", "managedSecret": "true",
		"port": "5432", "securityGroups": n.group, "subnetGroup": r.Name, "subnetGroup.vpc": n.vpc,
		"subnetGroup.subnets": sortedJoin(n.subnets), "tag:panka:address": r.Address, "tag:panka:tenant": "acme",
	})
	// The subnet group carries the component's tags too.
	g, err := rdsClient(t).DescribeDBSubnetGroups(t.Context(), &rds.DescribeDBSubnetGroupsInput{DBSubnetGroupName: aws.String(r.Name)})
	if err != nil {
		t.Fatal(err)
	}
	if tags := rdsTagsOf(t, aws.ToString(g.DBSubnetGroups[0].DBSubnetGroupArn)); tags["panka:address"] != r.Address {
		t.Errorf("subnet group tags %v", tags)
	}
	if !slices.Contains(obs.Parts, provider.Part{Type: "AWS::RDS::DBSubnetGroup", ID: r.Name}) {
		t.Errorf("parts %v lack the subnet group", obs.Parts)
	}
	// masterSecretArn is the managed secret, which exists.
	in := describeDB(t, r.Name)
	if obs.Outputs["masterSecretArn"] == "" || obs.Outputs["masterSecretArn"] != aws.ToString(in.MasterUserSecret.SecretArn) {
		t.Errorf("masterSecretArn %q, instance's secret %v", obs.Outputs["masterSecretArn"], in.MasterUserSecret)
	}
	if _, err := secretsmanager.NewFromConfig(sdkConfig(t)).DescribeSecret(t.Context(), &secretsmanager.DescribeSecretInput{
		SecretId: aws.String(obs.Outputs["masterSecretArn"])}); err != nil {
		t.Errorf("the managed secret: %v", err)
	}
	wantOut := map[string]string{"arn": aws.ToString(in.DBInstanceArn), "endpoint": aws.ToString(in.Endpoint.Address), "port": "5432",
		"readerEndpoint": aws.ToString(in.Endpoint.Address), "identifier": r.Name, "masterSecretArn": obs.Outputs["masterSecretArn"]}
	if diff := cmp.Diff(wantOut, obs.Outputs); diff != "" {
		t.Errorf("outputs (-want +got):\n%s", diff)
	}
	// Read gives back the spec as written (kmsKey is not read back; the engine keeps it).
	want := state.CloneMap(spec)
	delete(want, "kmsKey")
	got, err := p.Read(t.Context(), "RDS", obs.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got.Spec, unsetIsAbsent); diff != "" {
		t.Errorf("Read (-spec +read):\n%s", diff)
	}
	if !maps.Equal(got.Tags, r.Tags) {
		t.Errorf("Read tags %v, want %v (the provider's own tag hidden)", got.Tags, r.Tags)
	}
}

// masterPassword is a secret reference read at deploy time: the password reaches RDS, and is
// nowhere in what the provider reports, nor on the instance's description.
func TestRDSMasterPasswordFromSecret(t *testing.T) {
	p := newProvider(t)
	n := newDBNet(t)
	const password = "pl41n-text-n3ver-st0red"
	name := unique("db-password-")
	if _, err := secretsmanager.NewFromConfig(sdkConfig(t)).CreateSecret(t.Context(), &secretsmanager.CreateSecretInput{
		Name: aws.String(name), SecretString: aws.String(`{"password":"` + password + `"}`)}); err != nil {
		t.Fatal(err)
	}
	spec := rdsSpec(n)
	delete(spec, "managePassword")
	spec["managePassword"] = false
	spec["masterPassword"] = "secretsmanager:" + name + "#password"
	r := component("RDS", unique("pw"), "", spec)
	obs := deploy(t, p, r)
	reported, _ := json.Marshal(obs)
	if strings.Contains(string(reported), password) {
		t.Errorf("the password is in what Create reports: %s", reported)
	}
	if _, ok := obs.Spec["masterPassword"]; ok {
		t.Errorf("Read reports masterPassword: %v", obs.Spec["masterPassword"])
	}
	if obs.Outputs["masterSecretArn"] != "" {
		t.Errorf("masterSecretArn %q without a managed password", obs.Outputs["masterSecretArn"])
	}
	described, _ := json.Marshal(describeDB(t, r.Name))
	if strings.Contains(string(described), password) {
		t.Errorf("the password is on the instance's description")
	}
	if v := rdsView(t, r.Name); v["managedSecret"] != "false" {
		t.Errorf("a managed secret was made: %v", v)
	}
	// A reference to a secret that does not exist fails the create, making no database.
	bad := component("RDS", unique("pw"), "", rdsSpec(n))
	bad.Spec["managePassword"] = false
	bad.Spec["masterPassword"] = "secretsmanager:" + unique("missing-")
	if _, err := p.Create(t.Context(), bad); err == nil {
		t.Fatal("Create with a missing secret succeeded")
	}
	if _, err := rdsClient(t).DescribeDBInstances(t.Context(), &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(bad.Name)}); err == nil {
		t.Error("a database was made without its password")
	}
	if err := p.DeleteParts(t.Context(), bad, nil); err != nil {
		t.Errorf("DeleteParts: %v", err)
	}
}

// Update changes in place: the class, storage and engine version RDS schedules for the
// maintenance window (ApplyImmediately false: pending, read back as the spec), the backup
// retention at once; the instance is the same one.
func TestRDSInstanceUpdate(t *testing.T) {
	p := newProvider(t)
	n := newDBNet(t)
	spec := rdsSpec(n)
	spec["engineVersion"] = "16.3"
	r := component("RDS", unique("up"), "", spec)
	obs := deploy(t, p, r)
	before := rdsView(t, r.Name)

	r.Spec = state.CloneMap(spec)
	r.Spec["instanceClass"] = "db.t4g.small"
	r.Spec["allocatedStorage"] = int64(50)
	r.Spec["backupRetention"] = int64(14)
	r.Spec["engineVersion"] = "16.4"
	updated, err := p.Update(t.Context(), obs.ID, r, []string{"instanceClass", "allocatedStorage", "backupRetention", "engineVersion"})
	if err != nil {
		t.Fatal(err)
	}
	if updated.ID != obs.ID {
		t.Errorf("Update made %s, was %s", updated.ID, obs.ID)
	}
	after := rdsView(t, r.Name)
	wantIn(t, "after Update", after, view{
		"class": "db.t4g.micro", "pending.class": "db.t4g.small", "allocated": "20", "pending.allocated": "50",
		"engineVersion": "16.3", "pending.engineVersion": "16.4", "retention": "14", "status": "available",
	})
	// panka:defaults: instanceClass and allocatedStorage are no longer left to the engine.
	if diff := cmp.Diff([]string{"pending.allocated", "pending.class", "pending.engineVersion", "retention", "tag:panka:defaults"}, changedKeys(before, after)); diff != "" {
		t.Errorf("Update changed other things (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(r.Spec, updated.Spec, unsetIsAbsent); diff != "" {
		t.Errorf("Update returned (-spec +read):\n%s", diff)
	}
	// A second Update of the same spec changes nothing.
	if _, err := p.Update(t.Context(), obs.ID, r, nil); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(after, rdsView(t, r.Name)); diff != "" {
		t.Errorf("a no-change Update changed (-before +after):\n%s", diff)
	}
}

// A change behind Panka's back reads as drift, and Update undoes it.
func TestRDSDrift(t *testing.T) {
	p := newProvider(t)
	n := newDBNet(t)
	r := component("RDS", unique("drift"), "", rdsSpec(n))
	obs := deploy(t, p, r)
	if _, err := rdsClient(t).ModifyDBInstance(t.Context(), &rds.ModifyDBInstanceInput{DBInstanceIdentifier: aws.String(r.Name),
		BackupRetentionPeriod: aws.Int32(3), DBInstanceClass: aws.String("db.t4g.large")}); err != nil {
		t.Fatal(err)
	}
	got, err := p.Read(t.Context(), "RDS", obs.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Spec["backupRetention"] != int64(3) || got.Spec["instanceClass"] != "db.t4g.large" {
		t.Errorf("drift not read: backupRetention %v, instanceClass %v", got.Spec["backupRetention"], got.Spec["instanceClass"])
	}
	if _, err := p.Update(t.Context(), obs.ID, r, nil); err != nil {
		t.Fatal(err)
	}
	wantIn(t, "after undoing", rdsView(t, r.Name), view{"retention": "7", "class": "db.t4g.micro", "pending.class": ""})
	got, err = p.Read(t.Context(), "RDS", obs.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(r.Spec, got.Spec, unsetIsAbsent); diff != "" {
		t.Errorf("Read after undoing (-spec +read):\n%s", diff)
	}
}

// Delete refuses a database with deletion protection on, changing nothing; with it off, it
// takes a final snapshot named after the component and a timestamp, and removes the instance
// and its subnet group.
func TestRDSDeletionProtectionAndFinalSnapshot(t *testing.T) {
	p := newProvider(t)
	n := newDBNet(t)
	spec := rdsSpec(n)
	spec["deletionProtection"] = true
	r := component("RDS", unique("protected"), "", spec)
	obs, err := p.Create(t.Context(), r)
	if err != nil {
		t.Fatal(err)
	}
	err = p.Delete(t.Context(), obs.ID, r)
	if err == nil || !strings.Contains(err.Error(), "deletionProtection: false") {
		t.Fatalf("Delete of a protected database: %v", err)
	}
	if v := rdsView(t, r.Name); v["status"] != "available" || v["deletionProtection"] != "true" {
		t.Fatalf("a refused Delete changed the database: %v", v)
	}
	r.Spec = state.CloneMap(spec)
	r.Spec["deletionProtection"] = false
	if _, err := p.Update(t.Context(), obs.ID, r, []string{"deletionProtection"}); err != nil {
		t.Fatal(err)
	}
	start := time.Now().UTC().Add(-time.Second)
	if err := p.Delete(t.Context(), obs.ID, r); err != nil {
		t.Fatal(err)
	}
	c := rdsClient(t)
	if _, err := c.DescribeDBInstances(t.Context(), &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(r.Name)}); err == nil {
		t.Error("the instance is still there")
	}
	if _, err := c.DescribeDBSubnetGroups(t.Context(), &rds.DescribeDBSubnetGroupsInput{DBSubnetGroupName: aws.String(r.Name)}); err == nil {
		t.Error("the subnet group is still there")
	}
	snaps, err := c.DescribeDBSnapshots(t.Context(), &rds.DescribeDBSnapshotsInput{DBInstanceIdentifier: aws.String(r.Name)})
	if err != nil {
		t.Fatal(err)
	}
	if len(snaps.DBSnapshots) != 1 {
		t.Fatalf("final snapshots %v", snaps.DBSnapshots)
	}
	id := aws.ToString(snaps.DBSnapshots[0].DBSnapshotIdentifier)
	stamp, ok := strings.CutPrefix(id, r.Name+"-final-")
	at, err := time.Parse("20060102150405", stamp)
	if !ok || err != nil || at.Before(start.Truncate(time.Second)) || at.After(time.Now().UTC()) {
		t.Errorf("final snapshot %q is not %s-final-<now>", id, r.Name)
	}
	if tags := rdsTagsOf(t, aws.ToString(snaps.DBSnapshots[0].DBSnapshotArn)); tags["panka:address"] != r.Address {
		t.Errorf("final snapshot tags %v", tags)
	}
}

// A create interrupted while the instance is still creating: Find adopts it (the one instance),
// Create refuses the name, and Update, once it is available, makes it the spec.
func TestRDSInterruptedCreateAdopted(t *testing.T) {
	p := newProvider(t)
	n := newDBNet(t)
	r := component("RDS", unique("crash"), "", rdsSpec(n))
	c := rdsClient(t)
	var tags []rdstypes.Tag
	for k, v := range r.Tags {
		tags = append(tags, rdstypes.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	// What the killed run did: the subnet group, then CreateDBInstance.
	if _, err := c.CreateDBSubnetGroup(t.Context(), &rds.CreateDBSubnetGroupInput{DBSubnetGroupName: aws.String(r.Name),
		DBSubnetGroupDescription: aws.String("panka"), SubnetIds: n.subnets, Tags: tags}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateDBInstance(t.Context(), &rds.CreateDBInstanceInput{DBInstanceIdentifier: aws.String(r.Name),
		DBInstanceClass: aws.String("db.t4g.micro"), Engine: aws.String("postgres"), MasterUsername: aws.String("postgres"),
		ManageMasterUserPassword: aws.Bool(true), AllocatedStorage: aws.Int32(20), StorageType: aws.String("gp3"),
		BackupRetentionPeriod: aws.Int32(1), StorageEncrypted: aws.Bool(true), DBSubnetGroupName: aws.String(r.Name),
		VpcSecurityGroupIds: []string{n.group}, Tags: tags}); err != nil {
		t.Fatal(err)
	}
	found, err := p.Find(t.Context(), r)
	if err != nil {
		t.Fatalf("Find of a creating instance: %v", err)
	}
	if _, err := p.Create(t.Context(), r); !errors.Is(err, provider.ErrAlreadyExists) {
		t.Fatalf("Create of the name: %v", err)
	}
	updated, err := p.Update(t.Context(), found.ID, r, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Delete(t.Context(), found.ID, r) })
	if updated.ID != found.ID {
		t.Errorf("Update made %s, Find found %s", updated.ID, found.ID)
	}
	if diff := cmp.Diff(r.Spec, updated.Spec, unsetIsAbsent); diff != "" {
		t.Errorf("after Update (-spec +read):\n%s", diff)
	}
	all, err := c.DescribeDBInstances(t.Context(), &rds.DescribeDBInstancesInput{})
	if err != nil {
		t.Fatal(err)
	}
	count := 0
	for _, in := range all.DBInstances {
		if strings.HasPrefix(aws.ToString(in.DBInstanceIdentifier), r.Name) {
			count++
		}
	}
	if count != 1 {
		t.Errorf("%d instances named %s", count, r.Name)
	}
	wantIn(t, "adopted", rdsView(t, r.Name), view{"retention": "7", "status": "available"})
}

// DeleteParts finds what a Create killed before the database left (its subnet group) and
// deletes it; another deployment's group of the name is left alone.
func TestRDSDeleteParts(t *testing.T) {
	p := newProvider(t)
	n := newDBNet(t)
	c := rdsClient(t)
	r := component("RDS", unique("left"), "", rdsSpec(n))
	mkGroup := func(tags map[string]string) {
		var ts []rdstypes.Tag
		for k, v := range tags {
			ts = append(ts, rdstypes.Tag{Key: aws.String(k), Value: aws.String(v)})
		}
		if _, err := c.CreateDBSubnetGroup(t.Context(), &rds.CreateDBSubnetGroupInput{DBSubnetGroupName: aws.String(r.Name),
			DBSubnetGroupDescription: aws.String("panka"), SubnetIds: n.subnets, Tags: ts}); err != nil {
			t.Fatal(err)
		}
	}
	mkGroup(r.Tags)
	if err := p.DeleteParts(t.Context(), r, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DescribeDBSubnetGroups(t.Context(), &rds.DescribeDBSubnetGroupsInput{DBSubnetGroupName: aws.String(r.Name)}); err == nil {
		t.Error("DeleteParts left the subnet group")
	}
	theirs := maps.Clone(r.Tags)
	theirs["panka:stack"] = "other"
	mkGroup(theirs)
	if err := p.DeleteParts(t.Context(), r, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DescribeDBSubnetGroups(t.Context(), &rds.DescribeDBSubnetGroupsInput{DBSubnetGroupName: aws.String(r.Name)}); err != nil {
		t.Errorf("DeleteParts deleted another deployment's subnet group: %v", err)
	}
	// A recorded part is deleted whatever its tags; a type the kind does not make fails.
	if err := p.DeleteParts(t.Context(), r, []provider.Part{{Type: "AWS::RDS::DBSubnetGroup", ID: r.Name}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DescribeDBSubnetGroups(t.Context(), &rds.DescribeDBSubnetGroupsInput{DBSubnetGroupName: aws.String(r.Name)}); err == nil {
		t.Error("DeleteParts left the recorded subnet group")
	}
	if err := p.DeleteParts(t.Context(), r, []provider.Part{{Type: "AWS::S3::Bucket", ID: "x"}}); err == nil {
		t.Error("DeleteParts of a part type RDS does not make succeeded")
	}
}

// An Aurora cluster: the cluster with its instances NAME-1..N (parts), read back as the spec;
// instances scale in place; Delete removes the instances, then the cluster with a final
// cluster snapshot, then the subnet group.
func TestRDSAuroraCluster(t *testing.T) {
	p := newProvider(t)
	n := newDBNet(t)
	spec := rdsSpec(n)
	spec["engine"] = "aurora-postgresql"
	spec["instances"] = int64(2)
	spec["databaseName"] = "orders"
	r := component("RDS", unique("aurora"), "", spec)
	obs, err := p.Create(t.Context(), r)
	if err != nil {
		t.Fatal(err)
	}
	c := rdsClient(t)
	out, err := c.DescribeDBClusters(t.Context(), &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String(r.Name)})
	if err != nil {
		t.Fatal(err)
	}
	cl := out.DBClusters[0]
	if aws.ToString(cl.Engine) != "aurora-postgresql" || aws.ToInt32(cl.Port) != 5432 || aws.ToString(cl.DBSubnetGroup) != r.Name ||
		aws.ToString(cl.DatabaseName) != "orders" || aws.ToInt32(cl.BackupRetentionPeriod) != 7 || !aws.ToBool(cl.StorageEncrypted) ||
		cl.MasterUserSecret == nil || len(cl.VpcSecurityGroups) != 1 || aws.ToString(cl.VpcSecurityGroups[0].VpcSecurityGroupId) != n.group {
		t.Errorf("cluster %+v", cl)
	}
	var members []string
	for _, m := range cl.DBClusterMembers {
		members = append(members, aws.ToString(m.DBInstanceIdentifier))
	}
	if want := []string{r.Name + "-1", r.Name + "-2"}; !slices.Equal(members, want) {
		t.Errorf("members %v, want %v", members, want)
	}
	if in := describeDB(t, r.Name+"-1"); aws.ToString(in.DBInstanceClass) != "db.t4g.medium" || aws.ToString(in.DBInstanceStatus) != "available" {
		t.Errorf("instance 1: class %s status %s", aws.ToString(in.DBInstanceClass), aws.ToString(in.DBInstanceStatus))
	}
	wantParts := []provider.Part{{Type: "AWS::RDS::DBSubnetGroup", ID: r.Name}, {Type: "AWS::RDS::DBInstance", ID: r.Name + "-1"}, {Type: "AWS::RDS::DBInstance", ID: r.Name + "-2"}}
	if diff := cmp.Diff(wantParts, obs.Parts); diff != "" {
		t.Errorf("parts (-want +got):\n%s", diff)
	}
	if obs.Outputs["endpoint"] != aws.ToString(cl.Endpoint) || obs.Outputs["readerEndpoint"] != aws.ToString(cl.ReaderEndpoint) ||
		obs.Outputs["masterSecretArn"] != aws.ToString(cl.MasterUserSecret.SecretArn) {
		t.Errorf("outputs %v", obs.Outputs)
	}
	if diff := cmp.Diff(spec, obs.Spec, unsetIsAbsent); diff != "" {
		t.Errorf("Create returned (-spec +read):\n%s", diff)
	}
	// One instance fewer, and a longer retention.
	r.Spec = state.CloneMap(spec)
	r.Spec["instances"] = int64(1)
	r.Spec["backupRetention"] = int64(10)
	updated, err := p.Update(t.Context(), obs.ID, r, []string{"instances", "backupRetention"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.DescribeDBInstances(t.Context(), &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(r.Name + "-2")}); err == nil {
		t.Error("instance 2 is still there")
	}
	if diff := cmp.Diff(r.Spec, updated.Spec, unsetIsAbsent); diff != "" {
		t.Errorf("Update returned (-spec +read):\n%s", diff)
	}
	if err := p.Delete(t.Context(), obs.ID, r); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DescribeDBClusters(t.Context(), &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String(r.Name)}); err == nil {
		t.Error("the cluster is still there")
	}
	if _, err := c.DescribeDBInstances(t.Context(), &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(r.Name + "-1")}); err == nil {
		t.Error("instance 1 is still there")
	}
	snaps, err := c.DescribeDBClusterSnapshots(t.Context(), &rds.DescribeDBClusterSnapshotsInput{DBClusterIdentifier: aws.String(r.Name)})
	if err != nil || len(snaps.DBClusterSnapshots) != 1 || !strings.HasPrefix(aws.ToString(snaps.DBClusterSnapshots[0].DBClusterSnapshotIdentifier), r.Name+"-final-") {
		t.Errorf("final cluster snapshot: %v %v", err, snaps)
	}
	if _, err := c.DescribeDBSubnetGroups(t.Context(), &rds.DescribeDBSubnetGroupsInput{DBSubnetGroupName: aws.String(r.Name)}); err == nil {
		t.Error("the subnet group is still there")
	}
}

// A DocumentDB cluster, read back with the DocumentDB client: its instances, subnet group,
// security group, managed password and settings; Delete takes a final cluster snapshot.
func TestDocumentDBCluster(t *testing.T) {
	p := newProvider(t)
	n := newDBNet(t)
	spec := map[string]any{"engineVersion": "5.0.0", "instanceClass": "db.r6g.large", "instances": int64(2), "storageType": "iopt1",
		"masterUsername": "docs", "managePassword": true, "backupRetention": int64(5), "port": int64(27018),
		"preferredBackupWindow": "01:00-01:30", "maintenanceWindow": "mon:03:00-mon:03:30",
		"deletionProtection": false, "skipFinalSnapshot": false, "applyImmediately": false, "storageEncrypted": true, "network": n.spec()}
	r := component("DocumentDB", unique("docs"), "", spec)
	obs, err := p.Create(t.Context(), r)
	if err != nil {
		t.Fatal(err)
	}
	dc := docdb.NewFromConfig(sdkConfig(t))
	out, err := dc.DescribeDBClusters(t.Context(), &docdb.DescribeDBClustersInput{DBClusterIdentifier: aws.String(r.Name)})
	if err != nil {
		t.Fatal(err)
	}
	cl := out.DBClusters[0]
	got := view{"engine": aws.ToString(cl.Engine), "version": aws.ToString(cl.EngineVersion), "port": fmt.Sprint(aws.ToInt32(cl.Port)),
		"user": aws.ToString(cl.MasterUsername), "retention": fmt.Sprint(aws.ToInt32(cl.BackupRetentionPeriod)),
		"backupWindow": aws.ToString(cl.PreferredBackupWindow), "maintenanceWindow": aws.ToString(cl.PreferredMaintenanceWindow),
		"storageType": aws.ToString(cl.StorageType), "encrypted": fmt.Sprint(aws.ToBool(cl.StorageEncrypted)),
		"subnetGroup": aws.ToString(cl.DBSubnetGroup), "members": fmt.Sprint(len(cl.DBClusterMembers)),
		"managedSecret": fmt.Sprint(cl.MasterUserSecret != nil && aws.ToString(cl.MasterUserSecret.SecretArn) == obs.Outputs["masterSecretArn"])}
	wantIn(t, "DocumentDB cluster", got, view{"engine": "docdb", "version": "5.0.0", "port": "27018", "user": "docs", "retention": "5",
		"backupWindow": "01:00-01:30", "maintenanceWindow": "mon:03:00-mon:03:30", "storageType": "iopt1", "encrypted": "true",
		"subnetGroup": r.Name, "members": "2", "managedSecret": "true"})
	ins, err := dc.DescribeDBInstances(t.Context(), &docdb.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(r.Name + "-2")})
	if err != nil || aws.ToString(ins.DBInstances[0].DBInstanceClass) != "db.r6g.large" || aws.ToString(ins.DBInstances[0].Engine) != "docdb" {
		t.Errorf("instance 2: %v %+v", err, ins)
	}
	if diff := cmp.Diff(spec, obs.Spec, unsetIsAbsent); diff != "" {
		t.Errorf("Create returned (-spec +read):\n%s", diff)
	}
	if obs.Outputs["clusterIdentifier"] != r.Name || obs.Outputs["port"] != "27018" || !strings.Contains(obs.Outputs["endpoint"], r.Name) {
		t.Errorf("outputs %v", obs.Outputs)
	}
	// An RDS component does not find a DocumentDB cluster of its name, nor the reverse.
	if _, err := p.Read(t.Context(), "RDS", obs.ID); err == nil {
		t.Error("RDS reads a DocumentDB cluster")
	}
	if err := p.Delete(t.Context(), obs.ID, r); err != nil {
		t.Fatal(err)
	}
	snaps, err := dc.DescribeDBClusterSnapshots(t.Context(), &docdb.DescribeDBClusterSnapshotsInput{DBClusterIdentifier: aws.String(r.Name)})
	if err != nil || len(snaps.DBClusterSnapshots) != 1 || !strings.HasPrefix(aws.ToString(snaps.DBClusterSnapshots[0].DBClusterSnapshotIdentifier), r.Name+"-final-") {
		t.Errorf("final cluster snapshot: %v %v", err, snaps)
	}
	if _, err := dc.DescribeDBClusters(t.Context(), &docdb.DescribeDBClustersInput{DBClusterIdentifier: aws.String(r.Name)}); err == nil {
		t.Error("the cluster is still there")
	}
}

// Create reports the database's status while it waits for it; a database AWS refuses leaves no
// subnet group behind.
func TestRDSCreateProgressAndRefusal(t *testing.T) {
	p := newProvider(t)
	n := newDBNet(t)
	r := component("RDS", unique("progress"), "", rdsSpec(n))
	var msgs []string
	var mu sync.Mutex
	ctx := provider.WithProgress(t.Context(), func(m string) { mu.Lock(); msgs = append(msgs, m); mu.Unlock() })
	obs, err := p.Create(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Delete(context.Background(), obs.ID, r) })
	mu.Lock()
	if !slices.Contains(msgs, "RDS database creating") {
		t.Errorf("progress %q, want \"RDS database creating\"", msgs)
	}
	mu.Unlock()

	bad := component("RDS", unique("refused"), "", rdsSpec(n))
	bad.Spec["maxAllocatedStorage"] = int64(10) // under allocatedStorage: RDS refuses it
	if _, err := p.Create(t.Context(), bad); err == nil {
		t.Fatal("Create of a refused database succeeded")
	}
	if _, err := rdsClient(t).DescribeDBSubnetGroups(t.Context(), &rds.DescribeDBSubnetGroupsInput{DBSubnetGroupName: aws.String(bad.Name)}); err == nil {
		t.Error("a refused create left its subnet group")
	}
}

// An Aurora create killed after the cluster, before its instances: Find adopts the cluster,
// which reads with no instances (drift), and Update makes them.
func TestRDSAuroraInterruptedCreate(t *testing.T) {
	p := newProvider(t)
	n := newDBNet(t)
	spec := rdsSpec(n)
	spec["engine"] = "aurora-mysql"
	spec["instances"] = int64(2)
	r := component("RDS", unique("aurora-crash"), "", spec)
	c := rdsClient(t)
	var tags []rdstypes.Tag
	for k, v := range r.Tags {
		tags = append(tags, rdstypes.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	if _, err := c.CreateDBSubnetGroup(t.Context(), &rds.CreateDBSubnetGroupInput{DBSubnetGroupName: aws.String(r.Name),
		DBSubnetGroupDescription: aws.String("panka"), SubnetIds: n.subnets, Tags: tags}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateDBCluster(t.Context(), &rds.CreateDBClusterInput{DBClusterIdentifier: aws.String(r.Name), Engine: aws.String("aurora-mysql"),
		MasterUsername: aws.String("admin"), ManageMasterUserPassword: aws.Bool(true), StorageEncrypted: aws.Bool(true), BackupRetentionPeriod: aws.Int32(7),
		DBSubnetGroupName: aws.String(r.Name), VpcSecurityGroupIds: []string{n.group}, Tags: tags}); err != nil {
		t.Fatal(err)
	}
	found, err := p.Find(t.Context(), r)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Delete(context.Background(), found.ID, r) })
	if found.Spec["instances"] != int64(0) {
		t.Errorf("adopted cluster reads %v instances, want 0", found.Spec["instances"])
	}
	updated, err := p.Update(t.Context(), found.ID, r, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(spec, updated.Spec, unsetIsAbsent); diff != "" {
		t.Errorf("after Update (-spec +read):\n%s", diff)
	}
	out, err := c.DescribeDBClusters(t.Context(), &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String(r.Name)})
	if err != nil || len(out.DBClusters[0].DBClusterMembers) != 2 {
		t.Errorf("cluster members: %v %v", err, out)
	}
}

// A DocumentDB cluster's masterPassword from an SSM parameter: no managed secret, and the
// password nowhere in what the provider reports.
func TestDocumentDBMasterPasswordFromParameter(t *testing.T) {
	p := newProvider(t)
	n := newDBNet(t)
	const password = "d0c-pl41n-n3ver-st0red"
	param := "/" + unique("docs-password-")
	if _, err := ssm.NewFromConfig(sdkConfig(t)).PutParameter(t.Context(), &ssm.PutParameterInput{Name: aws.String(param),
		Value: aws.String(password), Type: ssmtypes.ParameterTypeSecureString}); err != nil {
		t.Fatal(err)
	}
	spec := map[string]any{"engineVersion": "5.0.0", "instanceClass": "db.t4g.medium", "instances": int64(1), "storageType": "standard",
		"masterUsername": "docs", "masterPassword": "ssm:" + param, "managePassword": false, "backupRetention": int64(7),
		"port": int64(27017), "deletionProtection": false, "skipFinalSnapshot": false, "applyImmediately": false, "storageEncrypted": true, "network": n.spec()}
	r := component("DocumentDB", unique("docpw"), "", spec)
	obs := deploy(t, p, r)
	reported, _ := json.Marshal(obs)
	if strings.Contains(string(reported), password) || obs.Outputs["masterSecretArn"] != "" {
		t.Errorf("reported: %s", reported)
	}
	out, err := docdb.NewFromConfig(sdkConfig(t)).DescribeDBClusters(t.Context(), &docdb.DescribeDBClustersInput{DBClusterIdentifier: aws.String(r.Name)})
	if err != nil {
		t.Fatal(err)
	}
	described, _ := json.Marshal(out)
	if strings.Contains(string(described), password) || out.DBClusters[0].MasterUserSecret != nil {
		t.Errorf("cluster: %s", described)
	}
	want := state.CloneMap(spec)
	delete(want, "masterPassword")
	if diff := cmp.Diff(want, obs.Spec, unsetIsAbsent); diff != "" {
		t.Errorf("Create returned (-spec +read):\n%s", diff)
	}
}

// Storage autoscaling growing the storage past the spec's allocatedStorage is no drift, and
// Update does not try to shrink it; growth with autoscaling off is drift.
func TestRDSStorageAutoscalingGrowth(t *testing.T) {
	p := newProvider(t)
	n := newDBNet(t)
	spec := rdsSpec(n)
	spec["maxAllocatedStorage"] = int64(100)
	r := component("RDS", unique("grow"), "", spec)
	obs := deploy(t, p, r)
	grow := func() {
		t.Helper()
		if _, err := rdsClient(t).ModifyDBInstance(t.Context(), &rds.ModifyDBInstanceInput{DBInstanceIdentifier: aws.String(r.Name),
			AllocatedStorage: aws.Int32(30), ApplyImmediately: aws.Bool(true)}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(400 * time.Millisecond) // the local AWS's modifying state
	}
	grow() // what AWS does when the disk fills
	got, err := p.Read(t.Context(), "RDS", obs.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(spec, got.Spec, unsetIsAbsent); diff != "" {
		t.Errorf("Read after growth (-spec +read):\n%s", diff)
	}
	if _, err := p.Update(t.Context(), obs.ID, r, nil); err != nil {
		t.Fatalf("Update after growth: %v", err)
	}
	wantIn(t, "after Update", rdsView(t, r.Name), view{"allocated": "30", "pending.allocated": "0"})

	// Autoscaling off: the size is the spec's, and more reads as drift.
	r2 := component("RDS", unique("fixed"), "", rdsSpec(n))
	obs2 := deploy(t, p, r2)
	if _, err := rdsClient(t).ModifyDBInstance(t.Context(), &rds.ModifyDBInstanceInput{DBInstanceIdentifier: aws.String(r2.Name),
		AllocatedStorage: aws.Int32(30), ApplyImmediately: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	got, err = p.Read(t.Context(), "RDS", obs2.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Spec["allocatedStorage"] != int64(30) {
		t.Errorf("allocatedStorage reads %v, want the drift 30", got.Spec["allocatedStorage"])
	}
}

// applyImmediately and skipFinalSnapshot on an RDS instance: a class change without
// applyImmediately waits (pending); turning applyImmediately on makes the pending change at
// once, and a further change too; turning skipFinalSnapshot on changes only Panka's tag; each
// Update reads back as the spec; Delete then leaves no snapshot.
func TestRDSApplyImmediatelyAndSkipFinalSnapshot(t *testing.T) {
	p := newProvider(t)
	n := newDBNet(t)
	spec := rdsSpec(n)
	r := component("RDS", unique("now"), "", spec)
	obs := deploy(t, p, r)
	update := func(what string, set map[string]any) view {
		t.Helper()
		r.Spec = state.CloneMap(r.Spec)
		maps.Copy(r.Spec, set)
		got, err := p.Update(t.Context(), obs.ID, r, slices.Collect(maps.Keys(set)))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if diff := cmp.Diff(r.Spec, got.Spec, unsetIsAbsent); diff != "" {
			t.Errorf("%s: Update returned (-spec +read):\n%s", what, diff)
		}
		if _, ok := got.Tags[skipFinalSnapshotTagName]; ok {
			t.Errorf("%s: Panka's setting tags are reported: %v", what, got.Tags)
		}
		return rdsView(t, r.Name)
	}

	v := update("class, later", map[string]any{"instanceClass": "db.t4g.small"})
	wantIn(t, "class, later", v, view{"class": "db.t4g.micro", "pending.class": "db.t4g.small", "tag:panka:applyImmediately": ""})

	v = update("applyImmediately on", map[string]any{"applyImmediately": true})
	wantIn(t, "applyImmediately on", v, view{"class": "db.t4g.small", "pending.class": "", "status": "available", "tag:panka:applyImmediately": "true"})

	v = update("storage, at once", map[string]any{"allocatedStorage": int64(40)})
	wantIn(t, "storage, at once", v, view{"allocated": "40", "pending.allocated": "0", "class": "db.t4g.small"})

	before := v
	after := update("skipFinalSnapshot on", map[string]any{"skipFinalSnapshot": true})
	if diff := cmp.Diff([]string{"tag:" + skipFinalSnapshotTagName}, changedKeys(before, after)); diff != "" {
		t.Errorf("skipFinalSnapshot changed more than its tag (-want +got):\n%s", diff)
	}
	if after["tag:"+skipFinalSnapshotTagName] != "true" {
		t.Errorf("tags %v", after)
	}
	// A second Update of the same spec changes nothing.
	if _, err := p.Update(t.Context(), obs.ID, r, nil); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(after, rdsView(t, r.Name)); diff != "" {
		t.Errorf("a no-change Update changed (-before +after):\n%s", diff)
	}

	if err := p.Delete(t.Context(), obs.ID, r); err != nil {
		t.Fatal(err)
	}
	c := rdsClient(t)
	if _, err := c.DescribeDBInstances(t.Context(), &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(r.Name)}); err == nil {
		t.Error("the instance is still there")
	}
	snaps, err := c.DescribeDBSnapshots(t.Context(), &rds.DescribeDBSnapshotsInput{DBInstanceIdentifier: aws.String(r.Name)})
	if err != nil || len(snaps.DBSnapshots) != 0 {
		t.Errorf("snapshots after a Delete with skipFinalSnapshot: %v, %d", err, len(snaps.DBSnapshots))
	}
}

// A DocumentDB cluster with skipFinalSnapshot and applyImmediately: its instances' class changes
// at once, and Delete leaves no cluster snapshot.
func TestDocumentDBApplyImmediatelyAndSkipFinalSnapshot(t *testing.T) {
	p := newProvider(t)
	n := newDBNet(t)
	spec := map[string]any{"engineVersion": "5.0.0", "instanceClass": "db.t4g.medium", "instances": int64(1), "storageType": "standard",
		"masterUsername": "docs", "managePassword": true, "backupRetention": int64(7), "port": int64(27017),
		"deletionProtection": false, "skipFinalSnapshot": true, "applyImmediately": true, "storageEncrypted": true, "network": n.spec()}
	r := component("DocumentDB", unique("docnow"), "", spec)
	obs := deploy(t, p, r)
	if tags := rdsTagsOf(t, obs.ID); tags[skipFinalSnapshotTagName] != "true" || tags["panka:applyImmediately"] != "true" {
		t.Errorf("cluster tags %v", tags)
	}
	r.Spec = state.CloneMap(spec)
	r.Spec["instanceClass"] = "db.r6g.large"
	got, err := p.Update(t.Context(), obs.ID, r, []string{"instanceClass"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(r.Spec, got.Spec, unsetIsAbsent); diff != "" {
		t.Errorf("Update returned (-spec +read):\n%s", diff)
	}
	in := describeDB(t, r.Name+"-1")
	if aws.ToString(in.DBInstanceClass) != "db.r6g.large" || (in.PendingModifiedValues != nil && in.PendingModifiedValues.DBInstanceClass != nil) {
		t.Errorf("instance class %s, pending %v: want db.r6g.large at once", aws.ToString(in.DBInstanceClass), in.PendingModifiedValues.DBInstanceClass != nil)
	}
	if err := p.Delete(t.Context(), obs.ID, r); err != nil {
		t.Fatal(err)
	}
	dc := docdb.NewFromConfig(sdkConfig(t))
	if _, err := dc.DescribeDBClusters(t.Context(), &docdb.DescribeDBClustersInput{DBClusterIdentifier: aws.String(r.Name)}); err == nil {
		t.Error("the cluster is still there")
	}
	snaps, err := dc.DescribeDBClusterSnapshots(t.Context(), &docdb.DescribeDBClusterSnapshotsInput{DBClusterIdentifier: aws.String(r.Name)})
	if err != nil || len(snaps.DBClusterSnapshots) != 0 {
		t.Errorf("cluster snapshots after a Delete with skipFinalSnapshot: %v, %d", err, len(snaps.DBClusterSnapshots))
	}
}

const skipFinalSnapshotTagName = "panka:skipFinalSnapshot"
