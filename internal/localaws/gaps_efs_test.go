package localaws

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/efs"
	efstypes "github.com/aws/aws-sdk-go-v2/service/efs/types"
	"github.com/aws/smithy-go"
)

func gapEFSClient(t *testing.T, endpoint string) *efs.Client {
	t.Helper()
	cfg, err := sdkConfig(t.Context(), endpoint, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	return efs.NewFromConfig(cfg)
}

// efsCode returns the AWS error code of err ("" if none).
func efsCode(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return ""
}

// Kumo v0.33.1 has no EFS: the layer owns it whole.
func TestKumoHasNoEFS(t *testing.T) {
	c := gapEFSClient(t, gapEmulator(t).srv.URL) // kumo itself
	if _, err := c.CreateFileSystem(t.Context(), &efs.CreateFileSystemInput{CreationToken: aws.String(uniqueName("kumo-efs"))}); err == nil {
		t.Fatal("kumo answers CreateFileSystem: check whether the layer's EFS can go")
	}
	if _, err := c.DescribeFileSystems(t.Context(), &efs.DescribeFileSystemsInput{}); err == nil {
		t.Fatal("kumo answers DescribeFileSystems: check whether the layer's EFS can go")
	}
}

// waitFS polls until the file system reaches state.
func waitFS(t *testing.T, c *efs.Client, id string, state efstypes.LifeCycleState) efstypes.FileSystemDescription {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		out, err := c.DescribeFileSystems(t.Context(), &efs.DescribeFileSystemsInput{FileSystemId: aws.String(id)})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.FileSystems) == 1 && out.FileSystems[0].LifeCycleState == state {
			return out.FileSystems[0]
		}
	}
	t.Fatalf("file system %s never %s", id, state)
	return efstypes.FileSystemDescription{}
}

func TestGapEFSFileSystemLifecycle(t *testing.T) {
	srv := gapEmulator(t)
	c, e := gapEFSClient(t, srv.URL), gapEC2Client(t, srv.URL)
	ctx := t.Context()
	token := uniqueName("efs")
	fs, err := c.CreateFileSystem(ctx, &efs.CreateFileSystemInput{
		CreationToken: aws.String(token), PerformanceMode: efstypes.PerformanceModeGeneralPurpose,
		ThroughputMode: efstypes.ThroughputModeProvisioned, ProvisionedThroughputInMibps: aws.Float64(8),
		Encrypted: aws.Bool(true), Backup: aws.Bool(true), Tags: []efstypes.Tag{{Key: aws.String("Name"), Value: aws.String(token)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(fs.FileSystemId)
	if fs.LifeCycleState != efstypes.LifeCycleStateCreating || aws.ToString(fs.Name) != token || aws.ToString(fs.KmsKeyId) == "" {
		t.Errorf("new file system %+v", fs)
	}
	// A create of the same token answers FileSystemAlreadyExists naming it.
	_, err = c.CreateFileSystem(ctx, &efs.CreateFileSystemInput{CreationToken: aws.String(token)})
	var exists *efstypes.FileSystemAlreadyExists
	if !errors.As(err, &exists) || aws.ToString(exists.FileSystemId) != id {
		t.Errorf("second create of %s: %v", token, err)
	}
	// Nothing is made in a file system that is still creating.
	if _, err := c.PutLifecycleConfiguration(ctx, &efs.PutLifecycleConfigurationInput{FileSystemId: aws.String(id), LifecyclePolicies: []efstypes.LifecyclePolicy{}}); efsCode(err) != "IncorrectFileSystemLifeCycleState" {
		t.Errorf("lifecycle of a creating file system: %v", err)
	}
	got := waitFS(t, c, id, efstypes.LifeCycleStateAvailable)
	if got.ThroughputMode != efstypes.ThroughputModeProvisioned || aws.ToFloat64(got.ProvisionedThroughputInMibps) != 8 || !aws.ToBool(got.Encrypted) {
		t.Errorf("file system %+v", got)
	}
	if bp, err := c.DescribeBackupPolicy(ctx, &efs.DescribeBackupPolicyInput{FileSystemId: aws.String(id)}); err != nil || bp.BackupPolicy.Status != efstypes.StatusEnabled {
		t.Errorf("backup policy %+v, %v", bp, err)
	}
	if _, err := c.UpdateFileSystem(ctx, &efs.UpdateFileSystemInput{FileSystemId: aws.String(id), ThroughputMode: efstypes.ThroughputModeElastic}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutLifecycleConfiguration(ctx, &efs.PutLifecycleConfigurationInput{FileSystemId: aws.String(id), LifecyclePolicies: []efstypes.LifecyclePolicy{
		{TransitionToIA: efstypes.TransitionToIARulesAfter30Days}, {TransitionToArchive: efstypes.TransitionToArchiveRulesAfter90Days}}}); err != nil {
		t.Fatal(err)
	}
	lc, err := c.DescribeLifecycleConfiguration(ctx, &efs.DescribeLifecycleConfigurationInput{FileSystemId: aws.String(id)})
	if err != nil || len(lc.LifecyclePolicies) != 2 || lc.LifecyclePolicies[1].TransitionToArchive != efstypes.TransitionToArchiveRulesAfter90Days {
		t.Errorf("lifecycle %+v, %v", lc, err)
	}

	// A mount target in a default subnet with a group of its VPC; a second in its zone conflicts.
	subnets, err := e.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{filter("default-for-az", "true")}})
	if err != nil || len(subnets.Subnets) < 2 {
		t.Fatalf("default subnets %+v, %v", subnets, err)
	}
	sn := subnets.Subnets[0]
	sg, err := e.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(uniqueName("efs-sg")), Description: aws.String("efs"), VpcId: sn.VpcId})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateMountTarget(ctx, &efs.CreateMountTargetInput{FileSystemId: aws.String(id), SubnetId: aws.String("subnet-nope"), SecurityGroups: []string{aws.ToString(sg.GroupId)}}); efsCode(err) != "SubnetNotFound" {
		t.Errorf("mount target in a missing subnet: %v", err)
	}
	if _, err := c.CreateMountTarget(ctx, &efs.CreateMountTargetInput{FileSystemId: aws.String(id), SubnetId: sn.SubnetId, SecurityGroups: []string{"sg-nope"}}); efsCode(err) != "SecurityGroupNotFound" {
		t.Errorf("mount target with a missing group: %v", err)
	}
	mt, err := c.CreateMountTarget(ctx, &efs.CreateMountTargetInput{FileSystemId: aws.String(id), SubnetId: sn.SubnetId, SecurityGroups: []string{aws.ToString(sg.GroupId)}})
	if err != nil {
		t.Fatal(err)
	}
	if mt.LifeCycleState != efstypes.LifeCycleStateCreating || aws.ToString(mt.AvailabilityZoneName) != aws.ToString(sn.AvailabilityZone) || aws.ToString(mt.VpcId) != aws.ToString(sn.VpcId) {
		t.Errorf("mount target %+v", mt)
	}
	if _, err := c.CreateMountTarget(ctx, &efs.CreateMountTargetInput{FileSystemId: aws.String(id), SubnetId: sn.SubnetId, SecurityGroups: []string{aws.ToString(sg.GroupId)}}); efsCode(err) != "MountTargetConflict" {
		t.Errorf("second mount target in one zone: %v", err)
	}
	groups, err := c.DescribeMountTargetSecurityGroups(ctx, &efs.DescribeMountTargetSecurityGroupsInput{MountTargetId: mt.MountTargetId})
	if err != nil || !slices.Equal(groups.SecurityGroups, []string{aws.ToString(sg.GroupId)}) {
		t.Errorf("mount target groups %+v, %v", groups, err)
	}

	// Access points, tags.
	ap, err := c.CreateAccessPoint(ctx, &efs.CreateAccessPointInput{ClientToken: aws.String(token + "-ap"), FileSystemId: aws.String(id),
		PosixUser:     &efstypes.PosixUser{Uid: aws.Int64(1000), Gid: aws.Int64(1000)},
		RootDirectory: &efstypes.RootDirectory{Path: aws.String("/app"), CreationInfo: &efstypes.CreationInfo{OwnerUid: aws.Int64(1000), OwnerGid: aws.Int64(1000), Permissions: aws.String("0750")}}})
	if err != nil {
		t.Fatal(err)
	}
	aps, err := c.DescribeAccessPoints(ctx, &efs.DescribeAccessPointsInput{FileSystemId: aws.String(id)})
	if err != nil || len(aps.AccessPoints) != 1 || aws.ToString(aps.AccessPoints[0].RootDirectory.Path) != "/app" ||
		aws.ToInt64(aps.AccessPoints[0].PosixUser.Uid) != 1000 || aws.ToString(aps.AccessPoints[0].RootDirectory.CreationInfo.Permissions) != "0750" {
		t.Errorf("access points %+v, %v", aps, err)
	}
	if _, err := c.TagResource(ctx, &efs.TagResourceInput{ResourceId: ap.AccessPointId, Tags: []efstypes.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UntagResource(ctx, &efs.UntagResourceInput{ResourceId: aws.String(id), TagKeys: []string{"Name"}}); err != nil {
		t.Fatal(err)
	}
	if tags, err := c.ListTagsForResource(ctx, &efs.ListTagsForResourceInput{ResourceId: ap.AccessPointId}); err != nil || len(tags.Tags) != 1 {
		t.Errorf("access point tags %+v, %v", tags, err)
	}
	if tags, err := c.ListTagsForResource(ctx, &efs.ListTagsForResourceInput{ResourceId: aws.String(id)}); err != nil || len(tags.Tags) != 0 {
		t.Errorf("file system tags after untag %+v, %v", tags, err)
	}

	// Delete: refused with a mount target; the mount target goes through deleting.
	if _, err := c.DeleteFileSystem(ctx, &efs.DeleteFileSystemInput{FileSystemId: aws.String(id)}); efsCode(err) != "FileSystemInUse" {
		t.Errorf("delete with a mount target: %v", err)
	}
	if _, err := c.DeleteMountTarget(ctx, &efs.DeleteMountTargetInput{MountTargetId: mt.MountTargetId}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		out, err := c.DescribeMountTargets(ctx, &efs.DescribeMountTargetsInput{FileSystemId: aws.String(id)})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.MountTargets) == 0 {
			break
		}
		if out.MountTargets[0].LifeCycleState != efstypes.LifeCycleStateDeleting || time.Now().After(deadline) {
			t.Fatalf("mount target being deleted: %+v", out.MountTargets[0])
		}
	}
	if _, err := c.DeleteFileSystem(ctx, &efs.DeleteFileSystemInput{FileSystemId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		_, err := c.DescribeFileSystems(ctx, &efs.DescribeFileSystemsInput{FileSystemId: aws.String(id)})
		var nf *efstypes.FileSystemNotFound
		if errors.As(err, &nf) {
			break
		}
		if err != nil || time.Now().After(deadline) {
			t.Fatalf("file system being deleted: %v", err)
		}
	}
	if aps, err := c.DescribeAccessPoints(ctx, &efs.DescribeAccessPointsInput{AccessPointId: ap.AccessPointId}); efsCode(err) != "AccessPointNotFound" {
		t.Errorf("access point of a deleted file system: %+v, %v", aps, err)
	}
	// An operation the layer does not emulate fails loudly.
	if _, err := c.DescribeReplicationConfigurations(ctx, &efs.DescribeReplicationConfigurationsInput{}); err == nil {
		t.Error("DescribeReplicationConfigurations answered: it is not emulated")
	}
}
