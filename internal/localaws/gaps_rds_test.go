package localaws

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/docdb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"
)

func gapRDSClient(t *testing.T, endpoint string) *rds.Client {
	t.Helper()
	cfg, err := sdkConfig(t.Context(), endpoint, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	return rds.NewFromConfig(cfg)
}

// Kumo v0.33.1 has no DB subnet groups, no RDS tagging operations and no snapshot listing, and
// drops ManageMasterUserPassword: the layer owns RDS (and DocumentDB, which signs as rds).
func TestKumoRDSGaps(t *testing.T) {
	c := gapRDSClient(t, gapEmulator(t).srv.URL) // kumo itself
	ctx := t.Context()
	t.Run("CreateDBSubnetGroup", func(t *testing.T) {
		if _, err := c.CreateDBSubnetGroup(ctx, &rds.CreateDBSubnetGroupInput{DBSubnetGroupName: aws.String(uniqueName("sg")),
			DBSubnetGroupDescription: aws.String("x"), SubnetIds: []string{"subnet-1", "subnet-2"}}); err == nil {
			t.Fatal("kumo answers CreateDBSubnetGroup: check whether the layer's RDS can go")
		}
	})
	t.Run("ListTagsForResource", func(t *testing.T) {
		if _, err := c.ListTagsForResource(ctx, &rds.ListTagsForResourceInput{ResourceName: aws.String("arn:aws:rds:us-east-1:000000000000:db:x")}); err == nil {
			t.Fatal("kumo answers ListTagsForResource: check whether the layer's RDS can go")
		}
	})
	t.Run("DescribeDBSnapshots", func(t *testing.T) {
		if _, err := c.DescribeDBSnapshots(ctx, &rds.DescribeDBSnapshotsInput{}); err == nil {
			t.Fatal("kumo answers DescribeDBSnapshots: check whether the layer's RDS can go")
		}
	})
	t.Run("DocumentDBSubnetGroups", func(t *testing.T) {
		cfg, err := sdkConfig(ctx, gapEmulator(t).srv.URL, "us-east-1")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := docdb.NewFromConfig(cfg).CreateDBSubnetGroup(ctx, &docdb.CreateDBSubnetGroupInput{DBSubnetGroupName: aws.String(uniqueName("sg")),
			DBSubnetGroupDescription: aws.String("x"), SubnetIds: []string{"subnet-1", "subnet-2"}}); err == nil {
			t.Fatal("kumo answers DocumentDB's CreateDBSubnetGroup: check whether the layer's DocumentDB can go")
		}
	})
	t.Run("ManageMasterUserPassword", func(t *testing.T) {
		id := uniqueName("kumo-db")
		out, err := c.CreateDBInstance(ctx, &rds.CreateDBInstanceInput{DBInstanceIdentifier: aws.String(id), DBInstanceClass: aws.String("db.t4g.micro"),
			Engine: aws.String("postgres"), MasterUsername: aws.String("postgres"), ManageMasterUserPassword: aws.Bool(true), AllocatedStorage: aws.Int32(20)})
		if err != nil {
			t.Fatal(err)
		}
		if out.DBInstance.MasterUserSecret != nil {
			t.Fatal("kumo answers with a MasterUserSecret: check whether the layer's RDS can go")
		}
	})
}

func rdsCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func defaultSubnetIDs(t *testing.T, endpoint string) []string {
	t.Helper()
	cfg, err := sdkConfig(t.Context(), endpoint, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	out, err := ec2.NewFromConfig(cfg).DescribeSubnets(t.Context(), &ec2.DescribeSubnetsInput{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range out.Subnets {
		if aws.ToBool(s.DefaultForAz) {
			ids = append(ids, aws.ToString(s.SubnetId))
		}
	}
	if len(ids) < 2 {
		t.Fatalf("default subnets %v", ids)
	}
	return ids
}

func TestGapRDSInstanceLifecycle(t *testing.T) {
	e := gapEmulator(t)
	c := gapRDSClient(t, e.URL)
	ctx := t.Context()
	subnets := defaultSubnetIDs(t, e.URL)
	sg := uniqueName("subnets")
	if _, err := c.CreateDBSubnetGroup(ctx, &rds.CreateDBSubnetGroupInput{DBSubnetGroupName: aws.String(sg), DBSubnetGroupDescription: aws.String("d"),
		SubnetIds: subnets[:1]}); rdsCode(err) != "DBSubnetGroupDoesNotCoverEnoughAZs" {
		t.Fatalf("one zone: %v", err)
	}
	if _, err := c.CreateDBSubnetGroup(ctx, &rds.CreateDBSubnetGroupInput{DBSubnetGroupName: aws.String(sg), DBSubnetGroupDescription: aws.String("d"),
		SubnetIds: subnets}); err != nil {
		t.Fatal(err)
	}
	id := uniqueName("db")
	out, err := c.CreateDBInstance(ctx, &rds.CreateDBInstanceInput{DBInstanceIdentifier: aws.String(id), DBInstanceClass: aws.String("db.t4g.micro"),
		Engine: aws.String("postgres"), MasterUsername: aws.String("postgres"), ManageMasterUserPassword: aws.Bool(true), AllocatedStorage: aws.Int32(20),
		MaxAllocatedStorage: aws.Int32(100), DBSubnetGroupName: aws.String(sg), VpcSecurityGroupIds: []string{"sg-1", "sg-2"}, DeletionProtection: aws.Bool(true),
		Tags: []rdstypes.Tag{{Key: aws.String("a"), Value: aws.String("1")}}})
	if err != nil {
		t.Fatal(err)
	}
	if st := aws.ToString(out.DBInstance.DBInstanceStatus); st != "creating" {
		t.Errorf("status %q, want creating", st)
	}
	sec := aws.ToString(out.DBInstance.MasterUserSecret.SecretArn)
	cfg, _ := sdkConfig(ctx, e.URL, "us-east-1")
	if _, err := secretsmanager.NewFromConfig(cfg).DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(sec)}); err != nil {
		t.Fatalf("managed secret %s: %v", sec, err)
	}
	time.Sleep(rdsDelay)
	d, err := c.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	in := d.DBInstances[0]
	if aws.ToString(in.DBInstanceStatus) != "available" || aws.ToInt32(in.MaxAllocatedStorage) != 100 || len(in.VpcSecurityGroups) != 2 ||
		aws.ToString(in.DBSubnetGroup.DBSubnetGroupName) != sg || len(in.DBSubnetGroup.Subnets) != len(subnets) || aws.ToInt32(in.Endpoint.Port) != 5432 {
		t.Errorf("instance %+v", in)
	}
	// Class changes wait for the maintenance window unless applied at once; retention does not.
	if _, err := c.ModifyDBInstance(ctx, &rds.ModifyDBInstanceInput{DBInstanceIdentifier: aws.String(id), DBInstanceClass: aws.String("db.t4g.small"),
		BackupRetentionPeriod: aws.Int32(9)}); err != nil {
		t.Fatal(err)
	}
	d, _ = c.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(id)})
	in = d.DBInstances[0]
	if aws.ToString(in.DBInstanceClass) != "db.t4g.micro" || aws.ToString(in.PendingModifiedValues.DBInstanceClass) != "db.t4g.small" || aws.ToInt32(in.BackupRetentionPeriod) != 9 {
		t.Errorf("after modify: class %s pending %v retention %d", aws.ToString(in.DBInstanceClass), in.PendingModifiedValues, aws.ToInt32(in.BackupRetentionPeriod))
	}
	// ApplyImmediately makes the pending change now: applied, no longer pending, and the instance
	// modifying for a moment.
	if _, err := c.ModifyDBInstance(ctx, &rds.ModifyDBInstanceInput{DBInstanceIdentifier: aws.String(id), DBInstanceClass: aws.String("db.t4g.small"),
		AllocatedStorage: aws.Int32(30), ApplyImmediately: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	d, _ = c.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(id)})
	in = d.DBInstances[0]
	if p := in.PendingModifiedValues; aws.ToString(in.DBInstanceClass) != "db.t4g.small" || aws.ToInt32(in.AllocatedStorage) != 30 ||
		p != nil && (p.DBInstanceClass != nil || p.AllocatedStorage != nil) || aws.ToString(in.DBInstanceStatus) != "modifying" {
		t.Errorf("after modify with ApplyImmediately: class %s, storage %d, status %s, pending %+v", aws.ToString(in.DBInstanceClass),
			aws.ToInt32(in.AllocatedStorage), aws.ToString(in.DBInstanceStatus), p)
	}
	time.Sleep(rdsDelay)
	if _, err := c.DeleteDBInstance(ctx, &rds.DeleteDBInstanceInput{DBInstanceIdentifier: aws.String(id), SkipFinalSnapshot: aws.Bool(true)}); rdsCode(err) != "InvalidParameterCombination" {
		t.Fatalf("delete of a protected instance: %v", err)
	}
	if _, err := c.ModifyDBInstance(ctx, &rds.ModifyDBInstanceInput{DBInstanceIdentifier: aws.String(id), DeletionProtection: aws.Bool(false)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteDBSubnetGroup(ctx, &rds.DeleteDBSubnetGroupInput{DBSubnetGroupName: aws.String(sg)}); rdsCode(err) != "InvalidDBSubnetGroupStateFault" {
		t.Fatalf("delete of a subnet group in use: %v", err)
	}
	if _, err := c.DeleteDBInstance(ctx, &rds.DeleteDBInstanceInput{DBInstanceIdentifier: aws.String(id)}); rdsCode(err) != "InvalidParameterCombination" {
		t.Fatalf("delete without a final snapshot's name: %v", err)
	}
	snap := id + "-final"
	if _, err := c.DeleteDBInstance(ctx, &rds.DeleteDBInstanceInput{DBInstanceIdentifier: aws.String(id), FinalDBSnapshotIdentifier: aws.String(snap)}); err != nil {
		t.Fatal(err)
	}
	if s, err := c.DescribeDBSnapshots(ctx, &rds.DescribeDBSnapshotsInput{DBSnapshotIdentifier: aws.String(snap)}); err != nil || aws.ToString(s.DBSnapshots[0].DBInstanceIdentifier) != id {
		t.Fatalf("final snapshot: %v", err)
	}
	time.Sleep(rdsDelay)
	if _, err := c.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(id)}); rdsCode(err) != "DBInstanceNotFound" {
		t.Fatalf("deleted instance: %v", err)
	}
	if _, err := secretsmanager.NewFromConfig(cfg).DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(sec)}); err == nil {
		t.Errorf("managed secret %s outlives its instance", sec)
	}
	if _, err := c.DeleteDBSubnetGroup(ctx, &rds.DeleteDBSubnetGroupInput{DBSubnetGroupName: aws.String(sg)}); err != nil {
		t.Fatal(err)
	}
}

func TestGapRDSUnknownOperationFails(t *testing.T) {
	c := gapRDSClient(t, gapEmulator(t).URL)
	if _, err := c.DescribeDBParameterGroups(t.Context(), &rds.DescribeDBParameterGroupsInput{}); rdsCode(err) != "InvalidAction" {
		t.Fatalf("DescribeDBParameterGroups: %v", err)
	}
}

// DocumentDB's client signs as rds: its clusters and instances are the layer's, engine docdb.
func TestGapDocDBCluster(t *testing.T) {
	e := gapEmulator(t)
	cfg, err := sdkConfig(t.Context(), e.URL, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	c := docdb.NewFromConfig(cfg)
	ctx := t.Context()
	id := uniqueName("docs")
	if _, err := c.CreateDBCluster(ctx, &docdb.CreateDBClusterInput{DBClusterIdentifier: aws.String(id), Engine: aws.String("docdb"),
		MasterUsername: aws.String("root"), ManageMasterUserPassword: aws.Bool(true), StorageEncrypted: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateDBInstance(ctx, &docdb.CreateDBInstanceInput{DBInstanceIdentifier: aws.String(id + "-1"), DBClusterIdentifier: aws.String(id),
		Engine: aws.String("docdb"), DBInstanceClass: aws.String("db.t4g.medium")}); err != nil {
		t.Fatal(err)
	}
	out, err := c.DescribeDBClusters(ctx, &docdb.DescribeDBClustersInput{DBClusterIdentifier: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	cl := out.DBClusters[0]
	if aws.ToInt32(cl.Port) != 27017 || len(cl.DBClusterMembers) != 1 || !strings.Contains(aws.ToString(cl.Endpoint), "docdb.amazonaws.com") ||
		cl.MasterUserSecret == nil || aws.ToString(cl.MasterUserSecret.SecretArn) == "" {
		t.Errorf("cluster %+v", cl)
	}
	if _, err := c.DeleteDBCluster(ctx, &docdb.DeleteDBClusterInput{DBClusterIdentifier: aws.String(id), SkipFinalSnapshot: aws.Bool(true)}); err == nil {
		t.Fatal("a cluster with an instance was deleted")
	}
}
