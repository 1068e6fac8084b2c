package localaws

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kafka"
	kafkatypes "github.com/aws/aws-sdk-go-v2/service/kafka/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
)

func gapKafkaClient(t *testing.T, endpoint string) *kafka.Client {
	t.Helper()
	cfg, err := sdkConfig(t.Context(), endpoint, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	return kafka.NewFromConfig(cfg)
}

func provisionedRequest(brokers int32, subnets ...string) *kafkatypes.ProvisionedRequest {
	return &kafkatypes.ProvisionedRequest{KafkaVersion: aws.String("3.6.0"), NumberOfBrokerNodes: aws.Int32(brokers),
		BrokerNodeGroupInfo: &kafkatypes.BrokerNodeGroupInfo{ClientSubnets: subnets, InstanceType: aws.String("kafka.m5.large"),
			SecurityGroups: []string{"sg-1"}, StorageInfo: &kafkatypes.StorageInfo{EbsStorageInfo: &kafkatypes.EBSStorageInfo{VolumeSize: aws.Int32(100)}}},
		ClientAuthentication: &kafkatypes.ClientAuthentication{Sasl: &kafkatypes.Sasl{Iam: &kafkatypes.Iam{Enabled: aws.Bool(true)}}}}
}

// MSK has the v2 cluster API, serverless clusters, updates as cluster operations, tags and a
// topic API; kumo v0.33.1 has only the v1 create, list, describe, delete, bootstrap brokers and
// configuration update, makes clusters ACTIVE at once, and names account 123456789012. One
// subtest per missing operation: each fails once kumo has it.
func TestKumoMSKLacksV2UpdatesTagsTopics(t *testing.T) {
	c := gapKafkaClient(t, gapEmulator(t).srv.URL) // kumo itself
	ctx := t.Context()
	out, err := c.CreateCluster(ctx, &kafka.CreateClusterInput{ClusterName: aws.String(uniqueName("kumo-msk")), KafkaVersion: aws.String("3.6.0"),
		NumberOfBrokerNodes: aws.Int32(2), Tags: map[string]string{"made": "v1"}, BrokerNodeGroupInfo: &kafkatypes.BrokerNodeGroupInfo{ClientSubnets: []string{"subnet-a", "subnet-b"},
			InstanceType: aws.String("kafka.m5.large")}})
	if err != nil {
		t.Fatalf("kumo lost its v1 CreateCluster: %v", err)
	}
	arn := out.ClusterArn
	t.Run("AccountAndState", func(t *testing.T) {
		if !strings.Contains(aws.ToString(arn), ":123456789012:") {
			t.Errorf("kumo's MSK ARN %s no longer names 123456789012: check the account rewrite", aws.ToString(arn))
		}
		if out.State != kafkatypes.ClusterStateActive {
			t.Errorf("kumo's new cluster is %s, not ACTIVE at once: check whether it now simulates CREATING", out.State)
		}
	})
	calls := map[string]func() error{
		"CreateClusterV2": func() error {
			_, err := c.CreateClusterV2(ctx, &kafka.CreateClusterV2Input{ClusterName: aws.String(uniqueName("kumo-msk")),
				Provisioned: provisionedRequest(2, "subnet-a", "subnet-b")})
			return err
		},
		"Serverless": func() error {
			_, err := c.CreateClusterV2(ctx, &kafka.CreateClusterV2Input{ClusterName: aws.String(uniqueName("kumo-msk")),
				Serverless: &kafkatypes.ServerlessRequest{VpcConfigs: []kafkatypes.VpcConfig{{SubnetIds: []string{"subnet-a", "subnet-b"}}}}})
			return err
		},
		"DescribeClusterV2": func() error {
			_, err := c.DescribeClusterV2(ctx, &kafka.DescribeClusterV2Input{ClusterArn: arn})
			return err
		},
		"ListClustersV2": func() error { _, err := c.ListClustersV2(ctx, &kafka.ListClustersV2Input{}); return err },
		"UpdateBrokerCount": func() error {
			_, err := c.UpdateBrokerCount(ctx, &kafka.UpdateBrokerCountInput{ClusterArn: arn, CurrentVersion: aws.String("K1"), TargetNumberOfBrokerNodes: aws.Int32(4)})
			return err
		},
		"UpdateBrokerStorage": func() error {
			_, err := c.UpdateBrokerStorage(ctx, &kafka.UpdateBrokerStorageInput{ClusterArn: arn, CurrentVersion: aws.String("K1"),
				TargetBrokerEBSVolumeInfo: []kafkatypes.BrokerEBSVolumeInfo{{KafkaBrokerNodeId: aws.String("ALL"), VolumeSizeGB: aws.Int32(200)}}})
			return err
		},
		"UpdateBrokerType": func() error {
			_, err := c.UpdateBrokerType(ctx, &kafka.UpdateBrokerTypeInput{ClusterArn: arn, CurrentVersion: aws.String("K1"), TargetInstanceType: aws.String("kafka.m5.xlarge")})
			return err
		},
		"UpdateClusterKafkaVersion": func() error {
			_, err := c.UpdateClusterKafkaVersion(ctx, &kafka.UpdateClusterKafkaVersionInput{ClusterArn: arn, CurrentVersion: aws.String("K1"), TargetKafkaVersion: aws.String("3.7.x")})
			return err
		},
		"UpdateSecurity": func() error {
			_, err := c.UpdateSecurity(ctx, &kafka.UpdateSecurityInput{ClusterArn: arn, CurrentVersion: aws.String("K1"),
				ClientAuthentication: &kafkatypes.ClientAuthentication{Sasl: &kafkatypes.Sasl{Scram: &kafkatypes.Scram{Enabled: aws.Bool(true)}}}})
			return err
		},
		"ListClusterOperationsV2": func() error {
			_, err := c.ListClusterOperationsV2(ctx, &kafka.ListClusterOperationsV2Input{ClusterArn: arn})
			return err
		},
		"DescribeClusterOperationV2": func() error {
			_, err := c.DescribeClusterOperationV2(ctx, &kafka.DescribeClusterOperationV2Input{ClusterOperationArn: aws.String("arn:aws:kafka:us-east-1:000000000000:cluster-operation/x/y")})
			if err != nil && errorCode(err) == "NotFoundException" {
				return nil // kumo knows the operation
			}
			return err
		},
		"TagResource": func() error {
			_, err := c.TagResource(ctx, &kafka.TagResourceInput{ResourceArn: arn, Tags: map[string]string{"a": "b"}})
			return err
		},
		"ListTagsForResource": func() error {
			// kumo answers it (another service's route?) but without the create's tags.
			out, err := c.ListTagsForResource(ctx, &kafka.ListTagsForResourceInput{ResourceArn: arn})
			if err == nil && out.Tags["made"] != "v1" {
				return fmt.Errorf("tags %v", out.Tags)
			}
			return err
		},
		"CreateTopic": func() error {
			_, err := c.CreateTopic(ctx, &kafka.CreateTopicInput{ClusterArn: arn, TopicName: aws.String("t"), PartitionCount: aws.Int32(1), ReplicationFactor: aws.Int32(1)})
			return err
		},
		"DescribeTopic": func() error {
			_, err := c.DescribeTopic(ctx, &kafka.DescribeTopicInput{ClusterArn: arn, TopicName: aws.String("t")})
			if err != nil && errorCode(err) == "NotFoundException" && !strings.Contains(err.Error(), "cluster") {
				return nil
			}
			return err
		},
		"ListTopics": func() error { _, err := c.ListTopics(ctx, &kafka.ListTopicsInput{ClusterArn: arn}); return err },
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			if err := call(); err == nil {
				t.Fatalf("kumo answers %s: the layer may no longer need to own MSK; check what kumo does now", name)
			}
		})
	}
}

// The layer's MSK: a provisioned cluster is CREATING, then ACTIVE; an update is an operation
// that completes and changes the cluster; topics keep what they are given; deletion goes
// through DELETING to NotFound.
func TestMSKLayer(t *testing.T) {
	c := gapKafkaClient(t, gapEmulator(t).URL)
	ctx := t.Context()
	name := uniqueName("gap-msk")
	out, err := c.CreateClusterV2(ctx, &kafka.CreateClusterV2Input{ClusterName: aws.String(name), Tags: map[string]string{"k": "v"},
		Provisioned: provisionedRequest(2, "subnet-a", "subnet-b")})
	if err != nil {
		t.Fatal(err)
	}
	arn := out.ClusterArn
	if !strings.HasPrefix(aws.ToString(arn), "arn:aws:kafka:us-east-1:000000000000:cluster/"+name+"/") {
		t.Errorf("ARN %s", aws.ToString(arn))
	}
	if _, err := c.CreateClusterV2(ctx, &kafka.CreateClusterV2Input{ClusterName: aws.String(name), Provisioned: provisionedRequest(2, "subnet-a", "subnet-b")}); errorCode(err) != "ConflictException" {
		t.Errorf("second create of %s: %v, want ConflictException", name, err)
	}
	describe := func() *kafkatypes.Cluster {
		t.Helper()
		d, err := c.DescribeClusterV2(ctx, &kafka.DescribeClusterV2Input{ClusterArn: arn})
		if err != nil {
			t.Fatal(err)
		}
		return d.ClusterInfo
	}
	waitState := func(want kafkatypes.ClusterState) *kafkatypes.Cluster {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			ci := describe()
			if ci.State == want {
				return ci
			}
			if time.Now().After(deadline) {
				t.Fatalf("cluster is %s, want %s", ci.State, want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if s := describe().State; s != kafkatypes.ClusterStateCreating {
		t.Errorf("new cluster is %s, want CREATING", s)
	}
	if _, err := c.GetBootstrapBrokers(ctx, &kafka.GetBootstrapBrokersInput{ClusterArn: arn}); err == nil {
		t.Error("a CREATING cluster has bootstrap brokers")
	}
	ci := waitState(kafkatypes.ClusterStateActive)
	if ci.Tags["k"] != "v" || aws.ToString(ci.Provisioned.CurrentBrokerSoftwareInfo.KafkaVersion) != "3.6.0" || aws.ToInt32(ci.Provisioned.NumberOfBrokerNodes) != 2 {
		t.Errorf("cluster %+v", ci)
	}
	bb, err := c.GetBootstrapBrokers(ctx, &kafka.GetBootstrapBrokersInput{ClusterArn: arn})
	if err != nil {
		t.Fatal(err)
	}
	if iam := aws.ToString(bb.BootstrapBrokerStringSaslIam); strings.Count(iam, ":9098") != 2 || bb.BootstrapBrokerString != nil || bb.BootstrapBrokerStringTls != nil {
		t.Errorf("IAM-only TLS cluster's brokers: iam %q plain %v tls %v", iam, bb.BootstrapBrokerString, bb.BootstrapBrokerStringTls)
	}
	if _, err := c.UpdateBrokerCount(ctx, &kafka.UpdateBrokerCountInput{ClusterArn: arn, CurrentVersion: aws.String("stale"), TargetNumberOfBrokerNodes: aws.Int32(4)}); errorCode(err) != "BadRequestException" {
		t.Errorf("update with a stale version: %v", err)
	}
	up, err := c.UpdateBrokerCount(ctx, &kafka.UpdateBrokerCountInput{ClusterArn: arn, CurrentVersion: ci.CurrentVersion, TargetNumberOfBrokerNodes: aws.Int32(4)})
	if err != nil {
		t.Fatal(err)
	}
	if s := describe().State; s != kafkatypes.ClusterStateUpdating {
		t.Errorf("updating cluster is %s", s)
	}
	ci = waitState(kafkatypes.ClusterStateActive)
	op, err := c.DescribeClusterOperationV2(ctx, &kafka.DescribeClusterOperationV2Input{ClusterOperationArn: up.ClusterOperationArn})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(op.ClusterOperationInfo.OperationState) != "UPDATE_COMPLETE" || aws.ToInt32(ci.Provisioned.NumberOfBrokerNodes) != 4 {
		t.Errorf("operation %s, brokers %d", aws.ToString(op.ClusterOperationInfo.OperationState), aws.ToInt32(ci.Provisioned.NumberOfBrokerNodes))
	}
	cfg := base64.StdEncoding.EncodeToString([]byte(`{"retention.ms":"1000"}`))
	if _, err := c.CreateTopic(ctx, &kafka.CreateTopicInput{ClusterArn: arn, TopicName: aws.String("t"), PartitionCount: aws.Int32(3), ReplicationFactor: aws.Int32(5)}); errorCode(err) != "BadRequestException" {
		t.Errorf("replication factor above the brokers: %v", err)
	}
	if _, err := c.CreateTopic(ctx, &kafka.CreateTopicInput{ClusterArn: arn, TopicName: aws.String("t"), PartitionCount: aws.Int32(3), ReplicationFactor: aws.Int32(2), Configs: &cfg}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(mskDelay)
	if _, err := c.UpdateTopic(ctx, &kafka.UpdateTopicInput{ClusterArn: arn, TopicName: aws.String("t"), PartitionCount: aws.Int32(2)}); errorCode(err) != "BadRequestException" {
		t.Errorf("partition decrease: %v", err)
	}
	dt, err := c.DescribeTopic(ctx, &kafka.DescribeTopicInput{ClusterArn: arn, TopicName: aws.String("t")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt32(dt.PartitionCount) != 3 || aws.ToString(dt.Configs) != cfg || dt.Status != kafkatypes.TopicStateActive {
		t.Errorf("topic %+v", dt)
	}
	if _, err := c.DeleteCluster(ctx, &kafka.DeleteClusterInput{ClusterArn: arn}); err != nil {
		t.Fatal(err)
	}
	if s := describe().State; s != kafkatypes.ClusterStateDeleting {
		t.Errorf("deleted cluster is %s", s)
	}
	time.Sleep(mskDelay + 50*time.Millisecond)
	if _, err := c.DescribeClusterV2(ctx, &kafka.DescribeClusterV2Input{ClusterArn: arn}); errorCode(err) != "NotFoundException" {
		t.Errorf("deleted cluster: %v", err)
	}
	if _, err := c.RebootBroker(ctx, &kafka.RebootBrokerInput{ClusterArn: arn, BrokerIds: []string{"1"}}); errorCode(err) != "UnknownOperationException" {
		t.Errorf("an operation the layer does not emulate: %v, want UnknownOperationException", err)
	}
}

// MSK encrypts a cluster created without a key with the AWS-managed key aws/kafka; kumo has no
// AWS-managed keys (DescribeKey of alias/aws/kafka fails). The layer answers DescribeKey of the
// key its clusters name.
func TestKumoHasNoAWSManagedKafkaKey(t *testing.T) {
	cfg, err := sdkConfig(t.Context(), gapEmulator(t).srv.URL, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kms.NewFromConfig(cfg).DescribeKey(t.Context(), &kms.DescribeKeyInput{KeyId: aws.String("alias/aws/kafka")}); err == nil {
		t.Fatal("kumo has the aws/kafka key: the layer need not")
	}
	cfg, err = sdkConfig(t.Context(), gapEmulator(t).URL, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	out, err := kms.NewFromConfig(cfg).DescribeKey(t.Context(), &kms.DescribeKeyInput{KeyId: aws.String(mskManagedKeyIDs[1])})
	if err != nil {
		t.Fatal(err)
	}
	if out.KeyMetadata.KeyManager != kmstypes.KeyManagerTypeAws || aws.ToString(out.KeyMetadata.Arn) != mskManagedKeyIDs[1] {
		t.Errorf("the layer's aws/kafka key: %+v", out.KeyMetadata)
	}
	// Other keys are kumo's.
	k, err := kms.NewFromConfig(cfg).CreateKey(t.Context(), &kms.CreateKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := kms.NewFromConfig(cfg).DescribeKey(t.Context(), &kms.DescribeKeyInput{KeyId: k.KeyMetadata.KeyId})
	if err != nil || got.KeyMetadata.KeyManager != kmstypes.KeyManagerTypeCustomer {
		t.Errorf("a customer key through the layer: %v, %+v", err, got)
	}
}
