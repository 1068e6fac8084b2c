package aws_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/kafka"
	kafkatypes "github.com/aws/aws-sdk-go-v2/service/kafka/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/google/go-cmp/cmp"

	"github.com/panka/panka/provider"
)

// mskNetwork is what the engine injects into an MSK spec: the default VPC's subnets (one per
// zone) and a security group of the cluster's own.
func mskNetwork(t *testing.T, subnets int) map[string]any {
	t.Helper()
	ec := ec2.NewFromConfig(sdkConfig(t))
	out, err := ec.DescribeSubnets(t.Context(), &ec2.DescribeSubnetsInput{
		Filters: []ec2types.Filter{{Name: aws.String("default-for-az"), Values: []string{"true"}}}})
	if err != nil || len(out.Subnets) < subnets {
		t.Fatalf("the default VPC's subnets: %v (%d)", err, len(out.Subnets))
	}
	var ids []any
	for _, s := range out.Subnets[:subnets] {
		ids = append(ids, aws.ToString(s.SubnetId))
	}
	vpc := aws.ToString(out.Subnets[0].VpcId)
	sg, err := ec.CreateSecurityGroup(t.Context(), &ec2.CreateSecurityGroupInput{GroupName: aws.String(unique("msk-sg-")),
		Description: aws.String("msk"), VpcId: aws.String(vpc)})
	if err != nil {
		t.Fatal(err)
	}
	return map[string]any{"vpcId": vpc, "subnets": ids, "securityGroups": []any{aws.ToString(sg.GroupId)}}
}

// mskSpec is a provisioned cluster's spec as the engine hands it over (schema defaults, two
// zones), with auth and encryption in transit as given.
func mskSpec(net map[string]any, transit string, auth map[string]any) map[string]any {
	return map[string]any{"serverless": false, "kafkaVersion": "3.6.0", "brokerNodes": int64(2), "availabilityZones": int64(2),
		"instanceType": "kafka.m5.large", "storageGiB": int64(100), "encryptionInTransit": transit, "authentication": auth, "network": net}
}

func iamOnly() map[string]any {
	return map[string]any{"iam": true, "scram": false, "unauthenticated": false}
}

func kafkaClient(t *testing.T) *kafka.Client { return kafka.NewFromConfig(sdkConfig(t)) }

// progressRecorder returns a context that records the progress a provider reports.
func progressRecorder(ctx context.Context) (context.Context, func() []string) {
	var mu sync.Mutex
	var got []string
	ctx = provider.WithProgress(ctx, func(msg string) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, msg)
	})
	return ctx, func() []string { mu.Lock(); defer mu.Unlock(); return slices.Clone(got) }
}

func describeMSK(t *testing.T, arn string) *kafkatypes.Cluster {
	t.Helper()
	out, err := kafkaClient(t).DescribeClusterV2(t.Context(), &kafka.DescribeClusterV2Input{ClusterArn: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	return out.ClusterInfo
}

// A provisioned cluster is made as the spec says, waited for until ACTIVE (with progress), and
// read back whole; its bootstrap outputs are those its authentication and encryption in transit
// offer.
func TestMSKProvisioned(t *testing.T) {
	p := newProvider(t)
	net := mskNetwork(t, 2)
	for _, tc := range []struct {
		name, transit string
		auth          map[string]any
		// ports of the outputs bootstrapBrokers, bootstrapBrokersTls, bootstrapBrokersScram,
		// bootstrapBrokersIam ("" for none)
		plain, tls, scram, iam string
	}{
		{"IAM", "TLS", iamOnly(), "", "", "", ":9098"},
		{"Mixed", "TLS_PLAINTEXT", map[string]any{"iam": true, "scram": true, "unauthenticated": true}, ":9092", ":9094", ":9096", ":9098"},
		{"Plaintext", "PLAINTEXT", map[string]any{"iam": false, "scram": false, "unauthenticated": true}, ":9092", "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := mskSpec(net, tc.transit, tc.auth)
			r := component("MSK", unique("kafka"), "", spec)
			ctx, progress := progressRecorder(t.Context())
			obs, err := p.Create(ctx, r)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = p.Delete(context.Background(), obs.ID, r) })
			if !slices.Contains(progress(), "MSK cluster "+r.Name+" is CREATING") {
				t.Errorf("progress %q: want the CREATING state reported", progress())
			}
			if diff := cmp.Diff(spec, obs.Spec); diff != "" {
				t.Errorf("spec (-written +read):\n%s", diff)
			}
			for out, port := range map[string]string{"bootstrapBrokers": tc.plain, "bootstrapBrokersTls": tc.tls, "bootstrapBrokersScram": tc.scram, "bootstrapBrokersIam": tc.iam} {
				v, ok := obs.Outputs[out]
				switch {
				case !ok:
					t.Errorf("output %s missing", out)
				case port == "" && v != "":
					t.Errorf("output %s = %q, want empty", out, v)
				case port != "" && strings.Count(v, port) != 2:
					t.Errorf("output %s = %q, want two brokers on %s", out, v, port)
				}
			}
			if obs.Outputs["zookeeperConnect"] == "" || obs.Outputs["clusterName"] != r.Name || obs.Outputs["arn"] != obs.ID {
				t.Errorf("outputs %v", obs.Outputs)
			}
			// Independently of the provider.
			c := describeMSK(t, obs.ID)
			pr := c.Provisioned
			b := pr.BrokerNodeGroupInfo
			if c.State != kafkatypes.ClusterStateActive || c.ClusterType != kafkatypes.ClusterTypeProvisioned || aws.ToString(c.ClusterName) != r.Name ||
				aws.ToInt32(pr.NumberOfBrokerNodes) != 2 || aws.ToString(pr.CurrentBrokerSoftwareInfo.KafkaVersion) != "3.6.0" ||
				aws.ToString(b.InstanceType) != "kafka.m5.large" || aws.ToInt32(b.StorageInfo.EbsStorageInfo.VolumeSize) != 100 ||
				!slices.Equal(b.ClientSubnets, specStrs(net["subnets"])) || !slices.Equal(b.SecurityGroups, specStrs(net["securityGroups"])) ||
				string(pr.EncryptionInfo.EncryptionInTransit.ClientBroker) != tc.transit || !aws.ToBool(pr.EncryptionInfo.EncryptionInTransit.InCluster) {
				t.Errorf("cluster as MSK has it: %+v %+v %+v", c, pr, b)
			}
			a := pr.ClientAuthentication
			if aws.ToBool(a.Sasl.Iam.Enabled) != tc.auth["iam"] || aws.ToBool(a.Sasl.Scram.Enabled) != tc.auth["scram"] || aws.ToBool(a.Unauthenticated.Enabled) != tc.auth["unauthenticated"] {
				t.Errorf("client authentication %+v %+v %+v, want %v", a.Sasl.Iam, a.Sasl.Scram, a.Unauthenticated, tc.auth)
			}
			tags, err := kafkaClient(t).ListTagsForResource(t.Context(), &kafka.ListTagsForResourceInput{ResourceArn: aws.String(obs.ID)})
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(tags.Tags, r.Tags) {
				t.Errorf("tags %v, want %v", tags.Tags, r.Tags)
			}
		})
	}
}

func specStrs(v any) []string {
	var out []string
	for _, s := range v.([]any) {
		out = append(out, s.(string))
	}
	return out
}

// A customer KMS key encrypts the brokers' data and reads back as given; without one MSK's
// AWS-managed key (aws/kafka) does, and kmsKey reads back unset.
func TestMSKKMSKey(t *testing.T) {
	p := newProvider(t)
	key, err := kms.NewFromConfig(sdkConfig(t)).CreateKey(t.Context(), &kms.CreateKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	keyARN := aws.ToString(key.KeyMetadata.Arn)
	spec := mskSpec(mskNetwork(t, 2), "TLS", iamOnly())
	spec["kmsKey"] = keyARN
	r := component("MSK", unique("kms"), "", spec)
	obs := deploy(t, p, r)
	if got := describeMSK(t, obs.ID).Provisioned.EncryptionInfo.EncryptionAtRest; got == nil || aws.ToString(got.DataVolumeKMSKeyId) != keyARN {
		t.Errorf("encryption at rest %+v, want key %s", got, keyARN)
	}
	if obs.Spec["kmsKey"] != keyARN {
		t.Errorf("kmsKey read back %v, want %s", obs.Spec["kmsKey"], keyARN)
	}

	// A key KMS does not know (the local AWS takes it; AWS would have refused it, or the key was
	// deleted since) reads back as written: its not-found is not the cluster's, which made the
	// read-back after a create wait for ever.
	spec = mskSpec(mskNetwork(t, 2), "TLS", iamOnly())
	spec["kmsKey"] = "alias/" + unique("gone")
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	r = component("MSK", unique("kms"), "", spec)
	obs, err = p.Create(ctx, r)
	if err != nil {
		t.Fatalf("Create with a key KMS does not know: %v", err)
	}
	t.Cleanup(func() { _ = p.Delete(context.Background(), obs.ID, r) })
	if obs.Spec["kmsKey"] != spec["kmsKey"] {
		t.Errorf("kmsKey read back %v, want %s", obs.Spec["kmsKey"], spec["kmsKey"])
	}
}

// A serverless cluster: VPC configs of the network, IAM authentication, the IAM bootstrap
// brokers only, and the provisioned fields read back as the schema's defaults.
func TestMSKServerless(t *testing.T) {
	p := newProvider(t)
	net := mskNetwork(t, 2)
	spec := map[string]any{"serverless": true, "kafkaVersion": "3.6.0", "brokerNodes": int64(3), "availabilityZones": int64(3),
		"instanceType": "kafka.m5.large", "storageGiB": int64(100), "encryptionInTransit": "TLS", "authentication": iamOnly(), "network": net}
	r := component("MSK", unique("serverless"), "", spec)
	obs := deploy(t, p, r)
	if diff := cmp.Diff(spec, obs.Spec); diff != "" {
		t.Errorf("spec (-written +read):\n%s", diff)
	}
	if !strings.HasSuffix(obs.Outputs["bootstrapBrokersIam"], ":9098") || obs.Outputs["bootstrapBrokers"] != "" || obs.Outputs["bootstrapBrokersTls"] != "" || obs.Outputs["zookeeperConnect"] != "" {
		t.Errorf("outputs %v", obs.Outputs)
	}
	c := describeMSK(t, obs.ID)
	if c.ClusterType != kafkatypes.ClusterTypeServerless || c.Serverless == nil || len(c.Serverless.VpcConfigs) != 1 ||
		!slices.Equal(c.Serverless.VpcConfigs[0].SubnetIds, specStrs(net["subnets"])) ||
		!slices.Equal(c.Serverless.VpcConfigs[0].SecurityGroupIds, specStrs(net["securityGroups"])) ||
		!aws.ToBool(c.Serverless.ClientAuthentication.Sasl.Iam.Enabled) || c.Tags["panka:address"] != r.Tags["panka:address"] {
		t.Errorf("serverless cluster as MSK has it: %+v %+v", c, c.Serverless)
	}
	// Nothing of a serverless cluster changes in place but its tags.
	moved := maps.Clone(spec)
	moved["network"] = mskNetwork(t, 2)
	if _, err := p.Update(t.Context(), obs.ID, component("MSK", strings.TrimPrefix(r.Name, prefix), "", moved), []string{"network.securityGroups"}); err == nil ||
		!strings.Contains(err.Error(), "cannot move") {
		t.Errorf("moving a serverless cluster: %v, want a refusal saying why", err)
	}
}

// Storage and broker count change in place, each through a cluster operation waited for until
// UPDATE_COMPLETE (with progress); fewer brokers or less storage are refused with the reason,
// and leave the cluster as it was.
func TestMSKUpdate(t *testing.T) {
	p := newProvider(t)
	spec := mskSpec(mskNetwork(t, 2), "TLS", iamOnly())
	r := component("MSK", unique("grow"), "", spec)
	obs := deploy(t, p, r)
	r.Spec = maps.Clone(spec)
	r.Spec["storageGiB"], r.Spec["brokerNodes"] = int64(200), int64(4)
	ctx, progress := progressRecorder(t.Context())
	up, err := p.Update(ctx, obs.ID, r, []string{"brokerNodes", "storageGiB"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(r.Spec, up.Spec); diff != "" {
		t.Errorf("spec (-wanted +read):\n%s", diff)
	}
	c := describeMSK(t, obs.ID)
	if c.State != kafkatypes.ClusterStateActive || aws.ToInt32(c.Provisioned.NumberOfBrokerNodes) != 4 ||
		aws.ToInt32(c.Provisioned.BrokerNodeGroupInfo.StorageInfo.EbsStorageInfo.VolumeSize) != 200 {
		t.Errorf("after the update MSK has %s, %d brokers, %d GiB", c.State, aws.ToInt32(c.Provisioned.NumberOfBrokerNodes),
			aws.ToInt32(c.Provisioned.BrokerNodeGroupInfo.StorageInfo.EbsStorageInfo.VolumeSize))
	}
	if strings.Count(up.Outputs["bootstrapBrokersIam"], ":9098") != 4 {
		t.Errorf("bootstrapBrokersIam %q: want the four brokers", up.Outputs["bootstrapBrokersIam"])
	}
	ops, err := kafkaClient(t).ListClusterOperationsV2(t.Context(), &kafka.ListClusterOperationsV2Input{ClusterArn: aws.String(obs.ID)})
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, op := range ops.ClusterOperationInfoList {
		types = append(types, aws.ToString(op.OperationType)+" "+aws.ToString(op.OperationState))
	}
	if want := []string{"INCREASE_BROKER_COUNT UPDATE_COMPLETE", "UPDATE_BROKER_STORAGE UPDATE_COMPLETE"}; !slices.Equal(types, want) {
		t.Errorf("cluster operations %q, want %q", types, want)
	}
	var waited bool
	for _, m := range progress() {
		waited = waited || strings.Contains(m, "update broker storage to 200 GiB: cluster operation")
	}
	if !waited {
		t.Errorf("progress %q: want the storage operation's state reported", progress())
	}
	before := aws.ToString(c.CurrentVersion)
	for field, v := range map[string]int64{"brokerNodes": 2, "storageGiB": 150} {
		smaller := maps.Clone(r.Spec)
		smaller[field] = v
		_, err := p.Update(t.Context(), obs.ID, component("MSK", strings.TrimPrefix(r.Name, prefix), "", smaller), []string{field})
		if err == nil || !strings.Contains(err.Error(), "MSK cannot") {
			t.Errorf("%s down to %d: %v, want a refusal saying why", field, v, err)
		}
	}
	if c := describeMSK(t, obs.ID); aws.ToInt32(c.Provisioned.NumberOfBrokerNodes) != 4 || aws.ToString(c.CurrentVersion) != before || c.ActiveOperationArn != nil {
		t.Errorf("a refused update changed the cluster: version %s (was %s), %d brokers", aws.ToString(c.CurrentVersion), before, aws.ToInt32(c.Provisioned.NumberOfBrokerNodes))
	}
}

// A run interrupted while the cluster is CREATING leaves it with its tags; the next run's Create
// says it exists, Find adopts it once ACTIVE: one cluster, not two. Delete leaves nothing.
func TestMSKInterruptedCreate(t *testing.T) {
	p := newProvider(t)
	r := component("MSK", unique("crash"), "", mskSpec(mskNetwork(t, 2), "TLS", iamOnly()))
	ctx, cancel := context.WithCancel(t.Context())
	ctx = provider.WithProgress(ctx, func(msg string) {
		if strings.HasSuffix(msg, "CREATING") {
			cancel() // the process dies while the cluster is being created
		}
	})
	if _, err := p.Create(ctx, r); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted Create: %v", err)
	}
	if _, err := p.Create(t.Context(), r); !errors.Is(err, provider.ErrAlreadyExists) {
		t.Fatalf("Create after the interruption: %v, want ErrAlreadyExists", err)
	}
	found, err := p.Find(t.Context(), r)
	if err != nil {
		t.Fatal(err)
	}
	if found.Outputs["bootstrapBrokersIam"] == "" || describeMSK(t, found.ID).State != kafkatypes.ClusterStateActive {
		t.Errorf("adopted cluster: outputs %v", found.Outputs)
	}
	list, err := kafkaClient(t).ListClustersV2(t.Context(), &kafka.ListClustersV2Input{ClusterNameFilter: aws.String(r.Name)})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.ClusterInfoList) != 1 {
		t.Errorf("%d clusters named %s, want 1", len(list.ClusterInfoList), r.Name)
	}
	if err := p.Delete(t.Context(), found.ID, r); err != nil {
		t.Fatal(err)
	}
	if _, err := kafkaClient(t).DescribeClusterV2(t.Context(), &kafka.DescribeClusterV2Input{ClusterArn: aws.String(found.ID)}); err == nil {
		t.Error("the cluster is still there after Delete")
	}
	list, err = kafkaClient(t).ListClustersV2(t.Context(), &kafka.ListClustersV2Input{ClusterNameFilter: aws.String(r.Name)})
	if err != nil || len(list.ClusterInfoList) != 0 {
		t.Errorf("after Delete: %v, %d clusters named %s", err, len(list.ClusterInfoList), r.Name)
	}
	if _, err := p.Read(t.Context(), "MSK", found.ID); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("Read after Delete: %v, want ErrNotFound", err)
	}
}

// Security, Kafka version and broker type change in place too, one cluster operation each, in
// that order; the bootstrap outputs follow the new authentication.
func TestMSKUpdateSecurityVersionType(t *testing.T) {
	p := newProvider(t)
	spec := mskSpec(mskNetwork(t, 2), "TLS", iamOnly())
	r := component("MSK", unique("change"), "", spec)
	obs := deploy(t, p, r)
	r.Spec = maps.Clone(spec)
	r.Spec["authentication"] = map[string]any{"iam": true, "scram": false, "unauthenticated": true}
	r.Spec["encryptionInTransit"], r.Spec["kafkaVersion"], r.Spec["instanceType"] = "TLS_PLAINTEXT", "3.7.x", "kafka.m7g.large"
	up, err := p.Update(t.Context(), obs.ID, r, []string{"authentication.unauthenticated", "encryptionInTransit", "instanceType", "kafkaVersion"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(r.Spec, up.Spec); diff != "" {
		t.Errorf("spec (-wanted +read):\n%s", diff)
	}
	if up.Outputs["bootstrapBrokers"] == "" || up.Outputs["bootstrapBrokersTls"] == "" {
		t.Errorf("outputs after allowing unauthenticated plaintext and TLS: %v", up.Outputs)
	}
	c := describeMSK(t, obs.ID)
	pr := c.Provisioned
	if aws.ToString(pr.CurrentBrokerSoftwareInfo.KafkaVersion) != "3.7.x" || aws.ToString(pr.BrokerNodeGroupInfo.InstanceType) != "kafka.m7g.large" ||
		pr.EncryptionInfo.EncryptionInTransit.ClientBroker != kafkatypes.ClientBrokerTlsPlaintext || !aws.ToBool(pr.ClientAuthentication.Unauthenticated.Enabled) {
		t.Errorf("after the update MSK has version %s, type %s, %s, unauthenticated %v", aws.ToString(pr.CurrentBrokerSoftwareInfo.KafkaVersion),
			aws.ToString(pr.BrokerNodeGroupInfo.InstanceType), pr.EncryptionInfo.EncryptionInTransit.ClientBroker, aws.ToBool(pr.ClientAuthentication.Unauthenticated.Enabled))
	}
	ops, err := kafkaClient(t).ListClusterOperationsV2(t.Context(), &kafka.ListClusterOperationsV2Input{ClusterArn: aws.String(obs.ID)})
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, op := range ops.ClusterOperationInfoList {
		types = append(types, aws.ToString(op.OperationType))
	}
	if want := []string{"UPDATE_BROKER_TYPE", "UPDATE_CLUSTER_KAFKA_VERSION", "UPDATE_SECURITY"}; !slices.Equal(types, want) {
		t.Errorf("cluster operations (newest first) %q, want %q", types, want)
	}
}
