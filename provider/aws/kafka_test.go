package aws_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"maps"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kafka"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/google/go-cmp/cmp"

	"github.com/panka/panka/provider"
	pankaaws "github.com/panka/panka/provider/aws"
)

// topicCluster deploys a two-broker MSK cluster for topics, and returns its address and ARN.
func topicCluster(t *testing.T, p *pankaaws.Provider) (address, arn string) {
	t.Helper()
	r := component("MSK", unique("events"), "", mskSpec(mskNetwork(t, 2), "TLS", iamOnly()))
	obs := deploy(t, p, r)
	return r.Address, obs.ID
}

func topicSpec(address, arn string, partitions, retention int64) map[string]any {
	return map[string]any{"cluster": address, "clusterArn": arn, "partitions": partitions, "replicationFactor": int64(2),
		"retentionMs": retention, "cleanupPolicy": "delete", "config": map[string]any{"min.insync.replicas": "1"}}
}

// describeTopic reads the topic through the SDK: partitions, replication factor, configs.
func describeTopic(t *testing.T, cluster, topic string) (int32, int32, map[string]string) {
	t.Helper()
	out, err := kafkaClient(t).DescribeTopic(t.Context(), &kafka.DescribeTopicInput{ClusterArn: aws.String(cluster), TopicName: aws.String(topic)})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(aws.ToString(out.Configs))
	if err != nil {
		t.Fatal(err)
	}
	cfg := map[string]string{}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	return aws.ToInt32(out.PartitionCount), aws.ToInt32(out.ReplicationFactor), cfg
}

func paramTags(t *testing.T, name string) (map[string]string, error) {
	t.Helper()
	c := ssm.NewFromConfig(sdkConfig(t))
	if _, err := c.GetParameter(t.Context(), &ssm.GetParameterInput{Name: aws.String(name)}); err != nil {
		return nil, err
	}
	out, err := c.ListTagsForResource(t.Context(), &ssm.ListTagsForResourceInput{ResourceType: ssmtypes.ResourceTypeForTaggingParameter, ResourceId: aws.String(name)})
	if err != nil {
		return nil, err
	}
	tags := map[string]string{}
	for _, tg := range out.TagList {
		tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	return tags, nil
}

// A topic is made through MSK's topic API with its partitions, replication factor and configs,
// its tags on its SSM parameter; partitions grow and configs change in place (waited for);
// fewer partitions and another replication factor are refused with the reason; Delete leaves
// neither topic nor parameter.
func TestKafkaTopic(t *testing.T) {
	p := newProvider(t)
	address, clusterARN := topicCluster(t, p)
	spec := topicSpec(address, clusterARN, 3, 86400000)
	r := component("Kafka", unique("orders-topic"), "", spec)
	obs, err := p.Create(t.Context(), r)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(spec, obs.Spec); diff != "" {
		t.Errorf("spec (-written +read):\n%s", diff)
	}
	if obs.Outputs["topicName"] != r.Name || !strings.Contains(obs.ID, ":topic/") || !maps.Equal(obs.Tags, r.Tags) {
		t.Errorf("observed %+v", obs)
	}
	clusterName := strings.Split(strings.Split(clusterARN, ":cluster/")[1], "/")[0]
	param := "/panka/kafka-topics/" + clusterName + "/" + r.Name
	if len(obs.Parts) != 1 || obs.Parts[0] != (provider.Part{Type: "AWS::SSM::Parameter", ID: param}) {
		t.Errorf("parts %+v, want the parameter %s", obs.Parts, param)
	}
	parts, rf, cfg := describeTopic(t, clusterARN, r.Name)
	if want := map[string]string{"retention.ms": "86400000", "cleanup.policy": "delete", "min.insync.replicas": "1"}; parts != 3 || rf != 2 || !maps.Equal(cfg, want) {
		t.Errorf("topic as MSK has it: %d partitions, replication %d, configs %v", parts, rf, cfg)
	}
	if tags, err := paramTags(t, param); err != nil || !maps.Equal(tags, r.Tags) {
		t.Errorf("the parameter's tags: %v, %v; want %v", tags, err, r.Tags)
	}

	// Partitions up, retention changed.
	r.Spec = topicSpec(address, clusterARN, 6, 3600000)
	ctx, progress := progressRecorder(t.Context())
	up, err := p.Update(ctx, obs.ID, r, []string{"partitions", "retentionMs"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(r.Spec, up.Spec); diff != "" {
		t.Errorf("spec after update (-wanted +read):\n%s", diff)
	}
	if parts, _, cfg := describeTopic(t, clusterARN, r.Name); parts != 6 || cfg["retention.ms"] != "3600000" || cfg["min.insync.replicas"] != "1" {
		t.Errorf("after the update MSK has %d partitions, configs %v", parts, cfg)
	}
	if got := progress(); len(got) == 0 || !strings.Contains(got[0], "is UPDATING") {
		t.Errorf("progress %q: want the topic's UPDATING reported", got)
	}

	// Refused: fewer partitions, another replication factor.
	fewer := topicSpec(address, clusterARN, 4, 3600000)
	if _, err := p.Update(t.Context(), obs.ID, component("Kafka", strings.TrimPrefix(r.Name, prefix), "", fewer), []string{"partitions"}); err == nil ||
		!strings.Contains(err.Error(), "cannot remove partitions") {
		t.Errorf("fewer partitions: %v, want a refusal saying why", err)
	}
	rf1 := topicSpec(address, clusterARN, 6, 3600000)
	rf1["replicationFactor"] = int64(1)
	if _, err := p.Update(t.Context(), obs.ID, component("Kafka", strings.TrimPrefix(r.Name, prefix), "", rf1), []string{"replicationFactor"}); err == nil ||
		!strings.Contains(err.Error(), "replication factor") {
		t.Errorf("another replication factor: %v, want a refusal saying why", err)
	}
	if parts, rf, _ := describeTopic(t, clusterARN, r.Name); parts != 6 || rf != 2 {
		t.Errorf("a refused update changed the topic: %d partitions, replication %d", parts, rf)
	}

	if err := p.Delete(t.Context(), obs.ID, r); err != nil {
		t.Fatal(err)
	}
	if _, err := kafkaClient(t).DescribeTopic(t.Context(), &kafka.DescribeTopicInput{ClusterArn: aws.String(clusterARN), TopicName: aws.String(r.Name)}); err == nil {
		t.Error("the topic is still there after Delete")
	}
	if _, err := paramTags(t, param); err == nil {
		t.Errorf("the parameter %s is still there after Delete", param)
	}
}

// A run that died after CreateTopic and before the tags' parameter leaves a topic without tags:
// Create says it exists, Find adopts it, Update makes the parameter. A parameter left after its
// topic went is DeleteParts's.
func TestKafkaCrashBeforeTags(t *testing.T) {
	p := newProvider(t)
	address, clusterARN := topicCluster(t, p)
	r := component("Kafka", unique("crash-topic"), "", topicSpec(address, clusterARN, 3, 86400000))
	cfg := base64.StdEncoding.EncodeToString([]byte(`{"retention.ms":"86400000","cleanup.policy":"delete","min.insync.replicas":"1"}`))
	if _, err := kafkaClient(t).CreateTopic(t.Context(), &kafka.CreateTopicInput{ClusterArn: aws.String(clusterARN), TopicName: aws.String(r.Name),
		PartitionCount: aws.Int32(3), ReplicationFactor: aws.Int32(2), Configs: &cfg}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Create(t.Context(), r); !errors.Is(err, provider.ErrAlreadyExists) {
		t.Fatalf("Create after the crash: %v, want ErrAlreadyExists", err)
	}
	found, err := p.Find(t.Context(), r)
	if err != nil {
		t.Fatal(err)
	}
	if len(found.Tags) != 0 || len(found.Parts) != 0 {
		t.Errorf("adopted topic before its parameter: tags %v, parts %v", found.Tags, found.Parts)
	}
	up, err := p.Update(t.Context(), found.ID, r, []string{"tags.panka:address"})
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(up.Tags, r.Tags) || len(up.Parts) != 1 {
		t.Fatalf("after Update: tags %v, parts %v", up.Tags, up.Parts)
	}
	if diff := cmp.Diff(r.Spec, up.Spec); diff != "" {
		t.Errorf("spec (-written +read):\n%s", diff)
	}
	// The topic goes, its parameter stays (a crash between the two): DeleteParts removes it.
	if _, err := kafkaClient(t).DeleteTopic(t.Context(), &kafka.DeleteTopicInput{ClusterArn: aws.String(clusterARN), TopicName: aws.String(r.Name)}); err != nil {
		t.Fatal(err)
	}
	if err := p.DeleteParts(t.Context(), r, up.Parts); err != nil {
		t.Fatal(err)
	}
	if _, err := paramTags(t, up.Parts[0].ID); err == nil {
		t.Errorf("the parameter %s is still there after DeleteParts", up.Parts[0].ID)
	}
}
