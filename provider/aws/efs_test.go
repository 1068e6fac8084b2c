package aws_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/efs"
	efstypes "github.com/aws/aws-sdk-go-v2/service/efs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/panka/panka/provider"
	"github.com/panka/panka/state"
)

// efsSpec is a complete EFS spec (schema.ToMap with defaults) in the env's network (subnets
// sorted: mount targets read back sorted).
func efsSpec(t *testing.T) map[string]any {
	env := ecsEnv(t)
	return map[string]any{
		"performanceMode": "generalPurpose", "throughputMode": "provisioned", "provisionedThroughput": int64(16),
		"encrypted": true, "kmsKey": "arn:aws:kms:us-east-1:000000000000:key/1234abcd-12ab-34cd-56ef-1234567890ab",
		"lifecycle": map[string]any{"transitionToIA": "AFTER_30_DAYS", "transitionToPrimary": "AFTER_1_ACCESS"},
		"backup":    false,
		"accessPoints": []any{
			map[string]any{"name": "app", "path": "/app", "uid": int64(1000), "gid": int64(1001), "permissions": "0750"},
			map[string]any{"name": "shared", "path": "/", "permissions": "0755"},
		},
		"network": map[string]any{"vpcId": env.VPCID, "subnets": anyStrs(slices.Sorted(slices.Values(env.Subnets))), "securityGroups": []any{env.SecurityGroups[0]}},
	}
}

func anyStrs(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// efsLive is a file system as the SDK reads it, independently of the provider.
type efsLive struct {
	fs     efstypes.FileSystemDescription
	tags   map[string]string
	life   []efstypes.LifecyclePolicy
	backup efstypes.Status
	mounts map[string][]string // security groups by subnet
	points map[string]efstypes.AccessPointDescription
}

func readEFS(t *testing.T, c *efs.Client, id string) efsLive {
	t.Helper()
	ctx := t.Context()
	out, err := c.DescribeFileSystems(ctx, &efs.DescribeFileSystemsInput{FileSystemId: aws.String(id)})
	if err != nil || len(out.FileSystems) != 1 {
		t.Fatalf("DescribeFileSystems %s: %v %+v", id, err, out)
	}
	l := efsLive{fs: out.FileSystems[0], tags: map[string]string{}, mounts: map[string][]string{}, points: map[string]efstypes.AccessPointDescription{}}
	for _, tg := range l.fs.Tags {
		l.tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	lc, err := c.DescribeLifecycleConfiguration(ctx, &efs.DescribeLifecycleConfigurationInput{FileSystemId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	l.life = lc.LifecyclePolicies
	bp, err := c.DescribeBackupPolicy(ctx, &efs.DescribeBackupPolicyInput{FileSystemId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	l.backup = bp.BackupPolicy.Status
	mts, err := c.DescribeMountTargets(ctx, &efs.DescribeMountTargetsInput{FileSystemId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mts.MountTargets {
		if m.LifeCycleState != efstypes.LifeCycleStateAvailable {
			t.Errorf("mount target %s is %s after the provider returned", aws.ToString(m.MountTargetId), m.LifeCycleState)
		}
		sg, err := c.DescribeMountTargetSecurityGroups(ctx, &efs.DescribeMountTargetSecurityGroupsInput{MountTargetId: m.MountTargetId})
		if err != nil {
			t.Fatal(err)
		}
		l.mounts[aws.ToString(m.SubnetId)] = sg.SecurityGroups
	}
	aps, err := c.DescribeAccessPoints(ctx, &efs.DescribeAccessPointsInput{FileSystemId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	for _, ap := range aps.AccessPoints {
		l.points[aws.ToString(ap.Name)] = ap
	}
	return l
}

// TestEFS: a file system with every field read back through the SDK, its mount targets in each
// subnet with the groups, its access points; an update of throughput, lifecycle, backup, groups,
// subnets and access points in place; Delete leaving nothing.
func TestEFS(t *testing.T) {
	p, c := newProvider(t), efs.NewFromConfig(sdkConfig(t))
	ctx := t.Context()
	env := ecsEnv(t)
	spec := efsSpec(t)
	r := component("EFS", unique("files"), "", state.CloneMap(spec))
	var mu sync.Mutex
	var progress []string
	pctx := provider.WithProgress(ctx, func(msg string) { mu.Lock(); progress = append(progress, msg); mu.Unlock() })
	obs, err := p.Create(pctx, r)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Delete(t.Context(), obs.ID, r) })
	if len(progress) == 0 || !slices.ContainsFunc(progress, func(s string) bool { return strings.Contains(s, obs.ID) }) {
		t.Errorf("progress while waiting: %q", progress)
	}

	l := readEFS(t, c, obs.ID)
	if aws.ToString(l.fs.CreationToken) != r.Name || l.tags["Name"] != r.Name || l.tags["panka:address"] != r.Address || l.tags["panka:stack"] != "shop" {
		t.Errorf("creation token %s, tags %v", aws.ToString(l.fs.CreationToken), l.tags)
	}
	if l.fs.PerformanceMode != efstypes.PerformanceModeGeneralPurpose || l.fs.ThroughputMode != efstypes.ThroughputModeProvisioned ||
		aws.ToFloat64(l.fs.ProvisionedThroughputInMibps) != 16 || !aws.ToBool(l.fs.Encrypted) || aws.ToString(l.fs.KmsKeyId) != spec["kmsKey"] {
		t.Errorf("file system %+v", l.fs)
	}
	if len(l.life) != 2 || l.life[0].TransitionToIA != efstypes.TransitionToIARulesAfter30Days || l.life[1].TransitionToPrimaryStorageClass != efstypes.TransitionToPrimaryStorageClassRulesAfter1Access {
		t.Errorf("lifecycle %+v", l.life)
	}
	if l.backup != efstypes.StatusDisabled {
		t.Errorf("backup %s", l.backup)
	}
	wantMounts := map[string][]string{}
	for _, sn := range env.Subnets {
		wantMounts[sn] = []string{env.SecurityGroups[0]}
	}
	if diff := cmp.Diff(wantMounts, l.mounts); diff != "" {
		t.Errorf("mount targets by subnet (-want +got):\n%s", diff)
	}
	app, shared := l.points["app"], l.points["shared"]
	if app.PosixUser == nil || aws.ToInt64(app.PosixUser.Uid) != 1000 || aws.ToInt64(app.PosixUser.Gid) != 1001 ||
		aws.ToString(app.RootDirectory.Path) != "/app" || aws.ToString(app.RootDirectory.CreationInfo.Permissions) != "0750" ||
		aws.ToInt64(app.RootDirectory.CreationInfo.OwnerUid) != 1000 {
		t.Errorf("access point app %+v", app)
	}
	if shared.PosixUser != nil || aws.ToString(shared.RootDirectory.Path) != "/" || len(l.points) != 2 {
		t.Errorf("access points %+v", l.points)
	}
	if diff := cmp.Diff(spec, obs.Spec, unsetIsAbsent); diff != "" {
		t.Errorf("Create returned spec (-written +read):\n%s", diff)
	}
	if obs.Outputs["fileSystemId"] != obs.ID || obs.Outputs["dnsName"] != obs.ID+".efs."+region+".amazonaws.com" || !strings.HasSuffix(obs.Outputs["arn"], ":file-system/"+obs.ID) {
		t.Errorf("outputs %v", obs.Outputs)
	}
	var parts []string
	for _, part := range obs.Parts {
		parts = append(parts, part.Type)
	}
	if want := []string{"AWS::EFS::MountTarget", "AWS::EFS::MountTarget", "AWS::EFS::AccessPoint", "AWS::EFS::AccessPoint"}; !slices.Equal(parts, want) {
		t.Errorf("parts %v, want %v", parts, want)
	}
	if _, ok := obs.Tags["Name"]; ok {
		t.Errorf("Observed.Tags has Name: %v", obs.Tags)
	}

	// Update in place: throughput elastic with an archive transition, backup on, a second
	// group, one subnet, the app access point moved and the shared one gone.
	sg2, err := ec2.NewFromConfig(sdkConfig(t)).CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		GroupName: aws.String(unique("efs-sg-")), Description: aws.String("efs"), VpcId: aws.String(env.VPCID)})
	if err != nil {
		t.Fatal(err)
	}
	r.Spec = state.CloneMap(spec)
	r.Spec["throughputMode"], r.Spec["provisionedThroughput"], r.Spec["backup"] = "elastic", int64(0), true
	r.Spec["lifecycle"] = map[string]any{"transitionToIA": "AFTER_7_DAYS", "transitionToArchive": "AFTER_90_DAYS"}
	groups := slices.Sorted(slices.Values([]string{env.SecurityGroups[0], aws.ToString(sg2.GroupId)}))
	keep := slices.Min(env.Subnets)
	r.Spec["network"] = map[string]any{"vpcId": env.VPCID, "subnets": []any{keep}, "securityGroups": anyStrs(groups)}
	r.Spec["accessPoints"] = []any{map[string]any{"name": "app", "path": "/srv/app", "uid": int64(1000), "gid": int64(1001), "permissions": "0750"}}
	got, err := p.Update(ctx, obs.ID, r, []string{"throughputMode", "provisionedThroughput", "backup", "lifecycle", "network", "accessPoints"})
	if err != nil {
		t.Fatal(err)
	}
	l2 := readEFS(t, c, obs.ID)
	if l2.fs.ThroughputMode != efstypes.ThroughputModeElastic || l2.backup != efstypes.StatusEnabled ||
		len(l2.life) != 2 || l2.life[0].TransitionToIA != efstypes.TransitionToIARulesAfter7Days || l2.life[1].TransitionToArchive != efstypes.TransitionToArchiveRulesAfter90Days {
		t.Errorf("after update: %s, backup %s, lifecycle %+v", l2.fs.ThroughputMode, l2.backup, l2.life)
	}
	if diff := cmp.Diff(map[string][]string{keep: groups}, l2.mounts, cmp.Transformer("sort", func(s []string) []string { return slices.Sorted(slices.Values(s)) })); diff != "" {
		t.Errorf("mount targets after update (-want +got):\n%s", diff)
	}
	if len(l2.points) != 1 || aws.ToString(l2.points["app"].RootDirectory.Path) != "/srv/app" || aws.ToString(l2.points["app"].AccessPointId) == aws.ToString(app.AccessPointId) {
		t.Errorf("access points after update %+v", l2.points)
	}
	if diff := cmp.Diff(r.Spec, got.Spec, unsetIsAbsent); diff != "" {
		t.Errorf("Update returned spec (-written +read):\n%s", diff)
	}
	// Lifecycle all empty removes the configuration.
	r.Spec["lifecycle"] = map[string]any{}
	if _, err := p.Update(ctx, obs.ID, r, []string{"lifecycle"}); err != nil {
		t.Fatal(err)
	}
	if l3 := readEFS(t, c, obs.ID); len(l3.life) != 0 {
		t.Errorf("lifecycle after emptying: %+v", l3.life)
	}
	// ForceNew fields are refused in place.
	bad := r
	bad.Spec = state.CloneMap(r.Spec)
	bad.Spec["performanceMode"] = "maxIO"
	if _, err := p.Update(ctx, obs.ID, bad, []string{"performanceMode"}); err == nil {
		t.Error("Update of performanceMode succeeded")
	}

	// Delete: access points, mount targets, then the file system; nothing is left.
	if err := p.Delete(ctx, obs.ID, r); err != nil {
		t.Fatal(err)
	}
	if out, err := c.DescribeFileSystems(ctx, &efs.DescribeFileSystemsInput{CreationToken: aws.String(r.Name)}); err != nil || len(out.FileSystems) != 0 {
		t.Errorf("after Delete: %+v, %v", out, err)
	}
	if _, err := c.DescribeAccessPoints(ctx, &efs.DescribeAccessPointsInput{AccessPointId: l2.points["app"].AccessPointId}); !isNotFoundCode(err, "AccessPointNotFound") {
		t.Errorf("access point after Delete: %v", err)
	}
}

func isNotFoundCode(err error, code string) bool {
	return err != nil && strings.Contains(err.Error(), code)
}

// TestEFSCrashedCreate: a create killed right after CreateFileSystem (the file system still
// creating, nothing else made) is found again by Find, and Update makes the rest: one file
// system, not two. DeleteParts of what is gone leaves nothing and refuses unknown parts.
func TestEFSCrashedCreate(t *testing.T) {
	p, c := newProvider(t), efs.NewFromConfig(sdkConfig(t))
	ctx := t.Context()
	spec := efsSpec(t)
	r := component("EFS", unique("crash"), "", state.CloneMap(spec))
	tags := []efstypes.Tag{{Key: aws.String("Name"), Value: aws.String(r.Name)}}
	for k, v := range r.Tags {
		tags = append(tags, efstypes.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	tags = append(tags, efstypes.Tag{Key: aws.String("panka-kms-key"), Value: aws.String(spec["kmsKey"].(string))})
	made, err := c.CreateFileSystem(ctx, &efs.CreateFileSystemInput{CreationToken: aws.String(r.Name), ThroughputMode: efstypes.ThroughputModeProvisioned,
		ProvisionedThroughputInMibps: aws.Float64(16), Encrypted: aws.Bool(true), KmsKeyId: aws.String(spec["kmsKey"].(string)), Tags: tags})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Create(ctx, r); !errors.Is(err, provider.ErrAlreadyExists) {
		t.Errorf("Create over a crashed create: %v", err)
	}
	found, err := p.Find(ctx, r)
	if err != nil || found.ID != aws.ToString(made.FileSystemId) {
		t.Fatalf("Find: %v, %+v", err, found)
	}
	t.Cleanup(func() { _ = p.Delete(t.Context(), found.ID, r) })
	got, err := p.Update(ctx, found.ID, r, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(spec, got.Spec, unsetIsAbsent); diff != "" {
		t.Errorf("adopted and updated (-written +read):\n%s", diff)
	}
	out, err := c.DescribeFileSystems(ctx, &efs.DescribeFileSystemsInput{CreationToken: aws.String(r.Name)})
	if err != nil || len(out.FileSystems) != 1 {
		t.Errorf("file systems of %s: %d, %v", r.Name, len(out.FileSystems), err)
	}
	if l := readEFS(t, c, found.ID); len(l.mounts) != len(ecsEnv(t).Subnets) || len(l.points) != 2 {
		t.Errorf("adopted file system's mount targets %v, access points %d", l.mounts, len(l.points))
	}

	// Delete, then DeleteParts of its recorded parts: nothing to do, nothing left.
	if err := p.Delete(ctx, found.ID, r); err != nil {
		t.Fatal(err)
	}
	if err := p.DeleteParts(ctx, r, got.Parts); err != nil {
		t.Errorf("DeleteParts: %v", err)
	}
	for _, part := range got.Parts {
		var err error
		switch part.Type {
		case "AWS::EFS::MountTarget":
			_, err = c.DescribeMountTargets(ctx, &efs.DescribeMountTargetsInput{MountTargetId: aws.String(part.ID)})
		case "AWS::EFS::AccessPoint":
			_, err = c.DescribeAccessPoints(ctx, &efs.DescribeAccessPointsInput{AccessPointId: aws.String(part.ID)})
		}
		if err == nil {
			t.Errorf("part %s %s is left", part.Type, part.ID)
		}
	}
	if err := p.DeleteParts(ctx, r, []provider.Part{{Type: "AWS::EC2::Volume", ID: "vol-1"}}); err == nil {
		t.Error("DeleteParts of a part type EFS does not make succeeded")
	}
}

// TestEFSDeletePartsOfLostFileSystem: a mount target and an access point left by a file system
// Panka lost track of (recorded as parts) are deleted by DeleteParts.
func TestEFSDeletePartsOfLostFileSystem(t *testing.T) {
	p, c := newProvider(t), efs.NewFromConfig(sdkConfig(t))
	ctx := t.Context()
	r := component("EFS", unique("lost"), "", efsSpec(t))
	obs, err := p.Create(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Delete(t.Context(), obs.ID, r) })
	if err := p.DeleteParts(ctx, r, obs.Parts); err != nil {
		t.Fatal(err)
	}
	l := readEFS(t, c, obs.ID)
	for _, m := range l.mounts {
		t.Errorf("mount target left: %v", m)
	}
	if len(l.points) != 0 {
		t.Errorf("access points left: %v", l.points)
	}
}

// TestMicroServiceEFSVolume: an efs volume is a task definition volume with the file system,
// transit encryption and IAM authorization, a mount point, and the task role's permission to
// mount (and write unless read-only), read back through the SDK; Read gives the spec back.
func TestMicroServiceEFSVolume(t *testing.T) {
	p, c := newProvider(t), sdkClients(t)
	ctx := t.Context()
	fsr := component("EFS", unique("media"), "", efsSpec(t))
	fs := deploy(t, p, fsr)
	spec := microSpec(t, nil)
	delete(spec, "loadBalancer")
	spec["volumes"] = []any{
		map[string]any{"name": "media", "mountPath": "/media", "efs": fsr.Address, "fileSystemId": fs.ID, "ephemeral": false, "readOnly": false},
		map[string]any{"name": "tmp", "mountPath": "/tmp/x", "ephemeral": true, "readOnly": false},
	}
	r := component("MicroService", unique("web"), "", state.CloneMap(spec))
	obs := deploy(t, p, r)
	td := c.taskDef(t, aws.ToString(c.service(t, obs.ID).TaskDefinition))
	var vol *struct{ fs, transit, iam string }
	for _, v := range td.Volumes {
		if aws.ToString(v.Name) == "media" && v.EfsVolumeConfiguration != nil {
			e := v.EfsVolumeConfiguration
			vol = &struct{ fs, transit, iam string }{aws.ToString(e.FileSystemId), string(e.TransitEncryption), ""}
			if e.AuthorizationConfig != nil {
				vol.iam = string(e.AuthorizationConfig.Iam)
			}
		}
	}
	if vol == nil || vol.fs != fs.ID || vol.transit != "ENABLED" || vol.iam != "ENABLED" {
		t.Errorf("task definition volumes %+v", td.Volumes)
	}
	mounts := map[string]string{}
	for _, m := range td.ContainerDefinitions[0].MountPoints {
		mounts[aws.ToString(m.SourceVolume)] = fmt.Sprintf("%s ro=%v", aws.ToString(m.ContainerPath), aws.ToBool(m.ReadOnly))
	}
	if diff := cmp.Diff(map[string]string{"media": "/media ro=false", "tmp": "/tmp/x ro=false"}, mounts); diff != "" {
		t.Errorf("mount points (-want +got):\n%s", diff)
	}
	fsARN := fs.Outputs["arn"]
	want := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["elasticfilesystem:ClientMount","elasticfilesystem:ClientWrite"],"Resource":[%q]}]}`, fsARN)
	if got := inlinePolicy(t, c.iam, r.Name+"-task"); !sameJSON(t, got, want) {
		t.Errorf("task role policy\n got %s\nwant %s", got, want)
	}
	if diff := cmp.Diff(spec, obs.Spec, unsetIsAbsent); diff != "" {
		t.Errorf("Create returned spec (-written +read):\n%s", diff)
	}

	// Read-only: mount only.
	r.Spec = state.CloneMap(spec)
	r.Spec["volumes"].([]any)[0].(map[string]any)["readOnly"] = true
	got, err := p.Update(ctx, obs.ID, r, []string{"volumes"})
	if err != nil {
		t.Fatal(err)
	}
	want = fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["elasticfilesystem:ClientMount"],"Resource":[%q]}]}`, fsARN)
	if pol := inlinePolicy(t, c.iam, r.Name+"-task"); !sameJSON(t, pol, want) {
		t.Errorf("task role policy, read-only\n got %s\nwant %s", pol, want)
	}
	if diff := cmp.Diff(r.Spec, got.Spec, unsetIsAbsent); diff != "" {
		t.Errorf("Update returned spec (-written +read):\n%s", diff)
	}
}
