package aws

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/panka/panka/provider"
)

// EBS: an EC2 volume (ID its vol- ID), named like the network kinds by the tag Name = the
// component's name from its CreateVolume call on (TagSpecifications), found again by it (so a
// create killed while the volume is still creating is adopted by Find: one volume), and not
// UniqueName: the engine replaces it create-before-destroy under a generation name of its own.
// The fields of schema.EBSSpec:
//
//	availabilityZone   AvailabilityZone (ForceNew)
//	sizeGiB            Size; ModifyVolume grows it in place. EBS volumes cannot shrink: a smaller
//	                   size plans a replacement (KindSchema.ShrinkForcesNew), and Update refuses
//	                   one should it get there
//	volumeType, iops,  VolumeType, Iops, Throughput; ModifyVolume in place. gp3's IOPS 3000 and
//	  throughput       throughput 125 (its baseline, what AWS gives when none is asked) read back
//	                   as 0, the spec's "not given"
//	encrypted, kmsKey  Encrypted, KmsKeyId (ForceNew); like EFS's, the key the spec gave is kept in
//	                   the tag panka-kms-key (EBS reports its default key otherwise) and read from it
//	snapshotId         SnapshotId (ForceNew)
//
// Create waits until the volume is available, reporting progress. An Update that modifies the
// volume waits until the modification is optimizing or completed (the new size and performance
// are usable then; optimizing goes on in the background), reporting progress; AWS allows one
// modification of a volume per six hours, and refuses another (IncorrectModificationState)
// until then. Delete waits until the volume is gone; Read reports a deleting volume as not
// found. A volume attached to an instance cannot be deleted (VolumeInUse), and nothing in Panka
// attaches one: ECS Fargate tasks mount no existing volume (ecs.go). Outputs: volumeId, arn.

const ebsKMSTag = "panka-kms-key"

// ebsBaseline are gp3's IOPS and throughput when none is asked.
const (
	ebsGP3IOPS       = 3000
	ebsGP3Throughput = 125
)

type ebsKind struct{ ec2Base }

func newEBS(p *Provider) kind { return &ebsKind{newEC2Base(p)} }

func (k *ebsKind) lookup(ctx context.Context, name string) (string, error) {
	return firstNamed(ctx, k, "volume", name)
}

func (k *ebsKind) named(ctx context.Context, name string) ([]string, error) {
	return pagedIDs(ctx, ec2.NewDescribeVolumesPaginator(k.c, &ec2.DescribeVolumesInput{Filters: nameFilter(name,
		ec2types.Filter{Name: aws.String("status"), Values: []string{"creating", "available", "in-use"}})}),
		func(out *ec2.DescribeVolumesOutput) (ids []string) {
			for _, x := range out.Volumes {
				ids = append(ids, aws.ToString(x.VolumeId))
			}
			return ids
		})
}

func (k *ebsKind) create(ctx context.Context, r provider.Resource) (string, error) {
	s := r.Spec
	tags := r.Tags
	in := &ec2.CreateVolumeInput{
		AvailabilityZone: aws.String(k.p.zone(specString(s, "availabilityZone"))),
		VolumeType:       ec2types.VolumeType(specString(s, "volumeType")),
		Encrypted:        aws.Bool(specBool(s, "encrypted")),
	}
	if n := specInt(s, "sizeGiB", 0); n > 0 {
		in.Size = aws.Int32(int32(n))
	}
	if n := specInt(s, "iops", 0); n > 0 {
		in.Iops = aws.Int32(int32(n))
	}
	if n := specInt(s, "throughput", 0); n > 0 {
		in.Throughput = aws.Int32(int32(n))
	}
	if snap := specString(s, "snapshotId"); snap != "" {
		in.SnapshotId = aws.String(snap)
	}
	if key := specString(s, "kmsKey"); key != "" {
		in.KmsKeyId = aws.String(key)
		tags = cloneTags(tags)
		if tags == nil {
			tags = map[string]string{}
		}
		tags[ebsKMSTag] = key
	}
	in.TagSpecifications = tagSpecs(ec2types.ResourceTypeVolume, r.Name, tags)
	out, err := k.c.CreateVolume(ctx, in)
	if err != nil {
		return "", err
	}
	id := aws.ToString(out.VolumeId)
	return id, k.waitAvailable(ctx, id)
}

// describe returns the volume id in whatever state, or a not-found error.
func (k *ebsKind) describe(ctx context.Context, id string) (ec2types.Volume, error) {
	out, err := k.c.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{VolumeIds: []string{id}})
	if err != nil {
		return ec2types.Volume{}, err
	}
	if len(out.Volumes) != 1 {
		return ec2types.Volume{}, fmt.Errorf("%w: volume %s", provider.ErrNotFound, id)
	}
	return out.Volumes[0], nil
}

// waitAvailable waits until the volume id is available (or in use), reporting progress.
func (k *ebsKind) waitAvailable(ctx context.Context, id string) error {
	return waitFor(ctx, func(ctx context.Context) (bool, error) {
		v, err := k.describe(ctx, id)
		if err != nil {
			return false, err
		}
		switch v.State {
		case ec2types.VolumeStateAvailable, ec2types.VolumeStateInUse:
			return true, nil
		case ec2types.VolumeStateError:
			return false, fmt.Errorf("volume %s is in state error", id)
		case ec2types.VolumeStateDeleting, ec2types.VolumeStateDeleted:
			return false, fmt.Errorf("%w: volume %s is %s", provider.ErrNotFound, id, v.State)
		}
		provider.ReportProgress(ctx, fmt.Sprintf("volume %s is %s", id, v.State))
		return false, nil
	})
}

func (k *ebsKind) read(ctx context.Context, id string) (*live, error) {
	v, err := k.describe(ctx, id)
	if err != nil {
		return nil, err
	}
	if v.State == ec2types.VolumeStateDeleting || v.State == ec2types.VolumeStateDeleted {
		return nil, fmt.Errorf("%w: volume %s is %s", provider.ErrNotFound, id, v.State)
	}
	iops, throughput := int64(aws.ToInt32(v.Iops)), int64(aws.ToInt32(v.Throughput))
	switch {
	case v.VolumeType == ec2types.VolumeTypeGp3:
		if iops == ebsGP3IOPS {
			iops = 0
		}
		if throughput == ebsGP3Throughput {
			throughput = 0
		}
	case v.VolumeType != ec2types.VolumeTypeIo1 && v.VolumeType != ec2types.VolumeTypeIo2:
		iops, throughput = 0, 0 // gp2's IOPS follow the size: not the spec's
	}
	spec := map[string]any{
		"availabilityZone": k.p.stackZone(aws.ToString(v.AvailabilityZone)), "sizeGiB": int64(aws.ToInt32(v.Size)), "volumeType": string(v.VolumeType),
		"iops": iops, "throughput": throughput, "encrypted": aws.ToBool(v.Encrypted),
	}
	if snap := aws.ToString(v.SnapshotId); snap != "" {
		spec["snapshotId"] = snap
	}
	var tags []ec2types.Tag // without panka-kms-key: not one of the engine's
	for _, t := range v.Tags {
		if aws.ToString(t.Key) == ebsKMSTag {
			spec["kmsKey"] = aws.ToString(t.Value)
		} else {
			tags = append(tags, t)
		}
	}
	obs, err := k.observed(ctx, "volume", id, tags, spec, map[string]string{"volumeId": id})
	if err != nil {
		return nil, err
	}
	return &live{obs: obs, raw: v}, nil
}

func (k *ebsKind) update(ctx context.Context, l *live, r provider.Resource) error {
	have, want := l.obs.Spec, r.Spec
	for _, f := range []string{"availabilityZone", "encrypted", "kmsKey", "snapshotId"} {
		if fmt.Sprint(have[f]) != fmt.Sprint(want[f]) && !(have[f] == nil && want[f] == "") {
			return fmt.Errorf("%s cannot change in place (it is %v): replace the volume", f, have[f])
		}
	}
	hs, ws := specInt(have, "sizeGiB", 0), specInt(want, "sizeGiB", 0)
	if ws != 0 && ws < hs {
		return permanent(fmt.Errorf("sizeGiB %d is less than the volume's %d GiB: EBS volumes cannot shrink; to make a smaller one, "+
			"copy the data elsewhere and replace the volume (panka apply --replace %s): the old volume and its data are deleted", ws, hs, r.Address))
	}
	in := &ec2.ModifyVolumeInput{VolumeId: aws.String(l.obs.ID)}
	change := false
	if ws > hs {
		in.Size, change = aws.Int32(int32(ws)), true
	}
	typ := specString(want, "volumeType")
	if typ != specString(have, "volumeType") {
		in.VolumeType, change = ec2types.VolumeType(typ), true
	}
	wi, wt := specInt(want, "iops", 0), specInt(want, "throughput", 0)
	if typ == string(ec2types.VolumeTypeGp3) {
		wi, wt = max(wi, 0), max(wt, 0)
		if wi == 0 {
			wi = ebsGP3IOPS
		}
		if wt == 0 {
			wt = ebsGP3Throughput
		}
	}
	v := l.raw.(ec2types.Volume)
	if (typ == "gp3" || typ == "io1" || typ == "io2") && (wi != int64(aws.ToInt32(v.Iops)) || in.VolumeType != "") {
		in.Iops, change = aws.Int32(int32(wi)), change || wi != int64(aws.ToInt32(v.Iops))
	}
	if typ == "gp3" && (wt != int64(aws.ToInt32(v.Throughput)) || in.VolumeType != "") {
		in.Throughput, change = aws.Int32(int32(wt)), change || wt != int64(aws.ToInt32(v.Throughput))
	}
	if !change {
		return nil
	}
	if err := k.waitAvailable(ctx, l.obs.ID); err != nil { // adopted while still creating
		return err
	}
	if _, err := k.c.ModifyVolume(ctx, in); err != nil {
		if apiCode(err) == "IncorrectModificationState" {
			return permanent(fmt.Errorf("modify volume %s: AWS allows one modification of a volume per six hours, and one is under way or recent: apply again later: %w", l.obs.ID, err))
		}
		return fmt.Errorf("modify volume %s: %w", l.obs.ID, err)
	}
	return k.waitModified(ctx, l.obs.ID)
}

// waitModified waits until the volume's modification is optimizing or completed, reporting
// progress; a failed one is an error.
func (k *ebsKind) waitModified(ctx context.Context, id string) error {
	return waitFor(ctx, func(ctx context.Context) (bool, error) {
		out, err := k.c.DescribeVolumesModifications(ctx, &ec2.DescribeVolumesModificationsInput{VolumeIds: []string{id}})
		if err != nil {
			return false, err
		}
		if len(out.VolumesModifications) == 0 {
			return false, fmt.Errorf("volume %s has no modification after ModifyVolume", id)
		}
		m := out.VolumesModifications[0]
		switch m.ModificationState {
		case ec2types.VolumeModificationStateOptimizing, ec2types.VolumeModificationStateCompleted:
			return true, nil
		case ec2types.VolumeModificationStateFailed:
			return false, fmt.Errorf("modification of volume %s failed: %s", id, aws.ToString(m.StatusMessage))
		}
		provider.ReportProgress(ctx, fmt.Sprintf("volume %s is %s (%d%%)", id, m.ModificationState, aws.ToInt64(m.Progress)))
		return false, nil
	})
}

func (k *ebsKind) delete(ctx context.Context, l *live) error {
	if _, err := k.c.DeleteVolume(ctx, &ec2.DeleteVolumeInput{VolumeId: aws.String(l.obs.ID)}); err != nil {
		return err
	}
	return waitFor(ctx, func(ctx context.Context) (bool, error) {
		v, err := k.describe(ctx, l.obs.ID)
		if isNotFound(err) || err == nil && v.State == ec2types.VolumeStateDeleted {
			return true, nil
		}
		if err != nil {
			return false, err
		}
		provider.ReportProgress(ctx, fmt.Sprintf("volume %s is %s", l.obs.ID, v.State))
		return false, nil
	})
}
