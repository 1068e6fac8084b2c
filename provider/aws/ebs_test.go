package aws_test

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/panka/panka/provider"
	"github.com/panka/panka/state"
)

func ebsSpec() map[string]any {
	return map[string]any{"availabilityZone": "us-east-1b", "sizeGiB": int64(8), "volumeType": "gp3", "iops": int64(0), "throughput": int64(0),
		"encrypted": true, "kmsKey": "arn:aws:kms:us-east-1:000000000000:key/1234abcd-12ab-34cd-56ef-1234567890ab"}
}

func readVolume(t *testing.T, c *ec2.Client, id string) ec2types.Volume {
	t.Helper()
	out, err := c.DescribeVolumes(t.Context(), &ec2.DescribeVolumesInput{VolumeIds: []string{id}})
	if err != nil || len(out.Volumes) != 1 {
		t.Fatalf("DescribeVolumes %s: %v %+v", id, err, out)
	}
	return out.Volumes[0]
}

// TestEBS: a volume read back through the SDK; size up, type and throughput changed in place
// with the modification waited for; a smaller size refused, naming --replace; Delete waiting
// until the volume is gone.
func TestEBS(t *testing.T) {
	p, c := newProvider(t), ec2.NewFromConfig(sdkConfig(t))
	ctx := t.Context()
	spec := ebsSpec()
	r := component("EBS", unique("index"), "", state.CloneMap(spec))
	var mu sync.Mutex
	var progress []string
	pctx := provider.WithProgress(ctx, func(msg string) { mu.Lock(); progress = append(progress, msg); mu.Unlock() })
	obs, err := p.Create(pctx, r)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Delete(t.Context(), obs.ID, r) })
	v := readVolume(t, c, obs.ID)
	tags := map[string]string{}
	for _, tg := range v.Tags {
		tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	if v.State != ec2types.VolumeStateAvailable || aws.ToString(v.AvailabilityZone) != "us-east-1b" || aws.ToInt32(v.Size) != 8 || v.VolumeType != ec2types.VolumeTypeGp3 ||
		aws.ToInt32(v.Iops) != 3000 || aws.ToInt32(v.Throughput) != 125 || !aws.ToBool(v.Encrypted) || aws.ToString(v.KmsKeyId) != spec["kmsKey"] {
		t.Errorf("volume %+v", v)
	}
	if tags["Name"] != r.Name || tags["panka:address"] != r.Address {
		t.Errorf("tags %v", tags)
	}
	if len(progress) == 0 || !strings.Contains(progress[0], obs.ID) {
		t.Errorf("progress while creating: %q", progress)
	}
	if diff := cmp.Diff(spec, obs.Spec, unsetIsAbsent); diff != "" {
		t.Errorf("Create returned spec (-written +read):\n%s", diff)
	}
	if obs.Outputs["volumeId"] != obs.ID || !strings.HasSuffix(obs.Outputs["arn"], ":volume/"+obs.ID) {
		t.Errorf("outputs %v", obs.Outputs)
	}

	// Grow to 20 GiB as io2 with 2000 IOPS: one modification, waited for.
	r.Spec = state.CloneMap(spec)
	r.Spec["sizeGiB"], r.Spec["volumeType"], r.Spec["iops"] = int64(20), "io2", int64(2000)
	progress = nil
	got, err := p.Update(pctx, obs.ID, r, []string{"sizeGiB", "volumeType", "iops"})
	if err != nil {
		t.Fatal(err)
	}
	mods, err := c.DescribeVolumesModifications(ctx, &ec2.DescribeVolumesModificationsInput{VolumeIds: []string{obs.ID}})
	if err != nil || len(mods.VolumesModifications) != 1 {
		t.Fatalf("modifications %+v, %v", mods, err)
	}
	if m := mods.VolumesModifications[0]; m.ModificationState != ec2types.VolumeModificationStateOptimizing && m.ModificationState != ec2types.VolumeModificationStateCompleted {
		t.Errorf("Update returned with the modification %s", m.ModificationState)
	}
	if v := readVolume(t, c, obs.ID); aws.ToInt32(v.Size) != 20 || v.VolumeType != ec2types.VolumeTypeIo2 || aws.ToInt32(v.Iops) != 2000 {
		t.Errorf("volume after update %+v", v)
	}
	if got.ID != obs.ID {
		t.Errorf("Update made volume %s, not %s", got.ID, obs.ID)
	}
	if diff := cmp.Diff(r.Spec, got.Spec, unsetIsAbsent); diff != "" {
		t.Errorf("Update returned spec (-written +read):\n%s", diff)
	}
	if len(progress) == 0 {
		t.Error("no progress while the modification ran")
	}

	// A smaller size is refused before anything changes, naming --replace.
	small := r
	small.Spec = state.CloneMap(r.Spec)
	small.Spec["sizeGiB"] = int64(10)
	if _, err := p.Update(ctx, obs.ID, small, []string{"sizeGiB"}); err == nil || !strings.Contains(err.Error(), "--replace") || errors.Is(err, provider.ErrTransient) {
		t.Errorf("Update shrinking the volume: %v", err)
	}
	if v := readVolume(t, c, obs.ID); aws.ToInt32(v.Size) != 20 {
		t.Errorf("size after a refused shrink: %d", aws.ToInt32(v.Size))
	}

	if err := p.Delete(ctx, obs.ID, r); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{VolumeIds: []string{obs.ID}}); err == nil || !strings.Contains(err.Error(), "InvalidVolume.NotFound") {
		t.Errorf("volume after Delete: %v", err)
	}
}

// TestEBSCrashedCreate: a volume created (still creating) by a run that died before recording
// it is found by Find and updated in place: one volume.
func TestEBSCrashedCreate(t *testing.T) {
	p, c := newProvider(t), ec2.NewFromConfig(sdkConfig(t))
	ctx := t.Context()
	spec := ebsSpec()
	delete(spec, "kmsKey")
	r := component("EBS", unique("crash"), "", state.CloneMap(spec))
	tags := []ec2types.Tag{{Key: aws.String("Name"), Value: aws.String(r.Name)}}
	for k, v := range r.Tags {
		tags = append(tags, ec2types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	made, err := c.CreateVolume(ctx, &ec2.CreateVolumeInput{AvailabilityZone: aws.String("us-east-1b"), Size: aws.Int32(8), VolumeType: ec2types.VolumeTypeGp3, Encrypted: aws.Bool(true),
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeVolume, Tags: tags}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Create(ctx, r); !errors.Is(err, provider.ErrAlreadyExists) {
		t.Errorf("Create over a crashed create: %v", err)
	}
	found, err := p.Find(ctx, r)
	if err != nil || found.ID != aws.ToString(made.VolumeId) {
		t.Fatalf("Find: %v %+v", err, found)
	}
	t.Cleanup(func() { _ = p.Delete(t.Context(), found.ID, r) })
	r.Spec["sizeGiB"] = int64(12)
	if _, err := p.Update(ctx, found.ID, r, []string{"sizeGiB"}); err != nil {
		t.Fatal(err)
	}
	out, err := c.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{Filters: []ec2types.Filter{{Name: aws.String("tag:Name"), Values: []string{r.Name}}}})
	if err != nil || len(out.Volumes) != 1 || aws.ToInt32(out.Volumes[0].Size) != 12 {
		t.Errorf("volumes named %s: %+v, %v", r.Name, out, err)
	}
}
