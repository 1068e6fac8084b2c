package localaws

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// Kumo v0.33.1 has no EBS volume operations and cannot tag a volume ID. Each subtest fails once
// kumo answers.
func TestKumoHasNoEC2Volumes(t *testing.T) {
	c := gapEC2Client(t, gapEmulator(t).srv.URL) // kumo itself
	ctx := t.Context()
	for name, call := range map[string]func() error{
		"CreateVolume": func() error {
			_, err := c.CreateVolume(ctx, &ec2.CreateVolumeInput{AvailabilityZone: aws.String("us-east-1a"), Size: aws.Int32(8)})
			return err
		},
		"DescribeVolumes": func() error { _, err := c.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{}); return err },
		"ModifyVolume": func() error {
			_, err := c.ModifyVolume(ctx, &ec2.ModifyVolumeInput{VolumeId: aws.String("vol-0123456789abcdef0"), Size: aws.Int32(9)})
			return err
		},
		"DescribeVolumesModifications": func() error {
			_, err := c.DescribeVolumesModifications(ctx, &ec2.DescribeVolumesModificationsInput{})
			return err
		},
		"DeleteVolume": func() error {
			_, err := c.DeleteVolume(ctx, &ec2.DeleteVolumeInput{VolumeId: aws.String("vol-0123456789abcdef0")})
			return err
		},
		"CreateTags": func() error {
			_, err := c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{"vol-0123456789abcdef0"}, Tags: []ec2types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			if call() == nil {
				t.Errorf("kumo answers %s of volumes: check whether the layer's volumes can go", name)
			}
		})
	}
}

func waitVolume(t *testing.T, c *ec2.Client, id string, state ec2types.VolumeState) ec2types.Volume {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		out, err := c.DescribeVolumes(t.Context(), &ec2.DescribeVolumesInput{VolumeIds: []string{id}})
		if err != nil {
			t.Fatal(err)
		}
		if out.Volumes[0].State == state {
			return out.Volumes[0]
		}
	}
	t.Fatalf("volume %s never %s", id, state)
	return ec2types.Volume{}
}

func TestGapEBSVolumes(t *testing.T) {
	c := gapEC2Client(t, gapEmulator(t).URL)
	ctx := t.Context()
	name := uniqueName("vol")
	v, err := c.CreateVolume(ctx, &ec2.CreateVolumeInput{AvailabilityZone: aws.String("us-east-1b"), Size: aws.Int32(8), VolumeType: ec2types.VolumeTypeGp3,
		Encrypted: aws.Bool(true), TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeVolume, Tags: []ec2types.Tag{{Key: aws.String("Name"), Value: aws.String(name)}}}}})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(v.VolumeId)
	if v.State != ec2types.VolumeStateCreating || aws.ToInt32(v.Iops) != 3000 || aws.ToInt32(v.Throughput) != 125 || aws.ToString(v.KmsKeyId) == "" {
		t.Errorf("new volume %+v", v)
	}
	got := waitVolume(t, c, id, ec2types.VolumeStateAvailable)
	if aws.ToString(got.AvailabilityZone) != "us-east-1b" || aws.ToInt32(got.Size) != 8 || len(got.Tags) != 1 {
		t.Errorf("volume %+v", got)
	}
	byName, err := c.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{Filters: []ec2types.Filter{filter("tag:Name", name)}})
	if err != nil || len(byName.Volumes) != 1 {
		t.Errorf("by Name tag: %+v, %v", byName, err)
	}
	if _, err := c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{id}, Tags: []ec2types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{id}, Tags: []ec2types.Tag{{Key: aws.String("Name")}}}); err != nil {
		t.Fatal(err)
	}
	if got := waitVolume(t, c, id, ec2types.VolumeStateAvailable); len(got.Tags) != 1 || aws.ToString(got.Tags[0].Key) != "k" {
		t.Errorf("tags %+v", got.Tags)
	}
	// A zone of another region than the emulator's is refused, as AWS refuses it.
	if _, err := c.CreateVolume(ctx, &ec2.CreateVolumeInput{AvailabilityZone: aws.String("eu-west-1b"), Size: aws.Int32(8)}); efsCode(err) != "InvalidParameterValue" {
		t.Errorf("a volume in eu-west-1b: %v, want InvalidParameterValue", err)
	}
	// Shrinking is refused; growing and a type change are one modification at a time.
	if _, err := c.ModifyVolume(ctx, &ec2.ModifyVolumeInput{VolumeId: aws.String(id), Size: aws.Int32(4)}); efsCode(err) != "InvalidParameterValue" {
		t.Errorf("shrink: %v", err)
	}
	mod, err := c.ModifyVolume(ctx, &ec2.ModifyVolumeInput{VolumeId: aws.String(id), Size: aws.Int32(16), Iops: aws.Int32(4000)})
	if err != nil {
		t.Fatal(err)
	}
	if m := mod.VolumeModification; m.ModificationState != ec2types.VolumeModificationStateModifying || aws.ToInt32(m.TargetSize) != 16 || aws.ToInt32(m.OriginalSize) != 8 {
		t.Errorf("modification %+v", m)
	}
	if _, err := c.ModifyVolume(ctx, &ec2.ModifyVolumeInput{VolumeId: aws.String(id), VolumeType: ec2types.VolumeTypeGp2}); efsCode(err) != "IncorrectModificationState" {
		t.Errorf("second modification: %v", err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		out, err := c.DescribeVolumesModifications(ctx, &ec2.DescribeVolumesModificationsInput{VolumeIds: []string{id}})
		if err != nil || len(out.VolumesModifications) != 1 {
			t.Fatalf("modifications %+v, %v", out, err)
		}
		if out.VolumesModifications[0].ModificationState == ec2types.VolumeModificationStateCompleted {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("modification never completed")
		}
	}
	if got := waitVolume(t, c, id, ec2types.VolumeStateAvailable); aws.ToInt32(got.Size) != 16 || aws.ToInt32(got.Iops) != 4000 {
		t.Errorf("modified volume %+v", got)
	}
	if _, err := c.DeleteVolume(ctx, &ec2.DeleteVolumeInput{VolumeId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		_, err := c.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{VolumeIds: []string{id}})
		if efsCode(err) == "InvalidVolume.NotFound" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("volume never gone: %v", err)
		}
	}
}
