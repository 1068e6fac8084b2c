package aws

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kafka"
	kafkatypes "github.com/aws/aws-sdk-go-v2/service/kafka/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/panka/panka/provider"
)

// Kafka: a topic on an MSK cluster, made through MSK's topic API (CreateTopic, DescribeTopic,
// UpdateTopic, DeleteTopic): no Kafka client, no broker connection. The physical ID is the
// topic's ARN (arn:...:topic/CLUSTER/UUID/TOPIC, from which the cluster's ARN follows); its name
// is the component's physical name, unique within the cluster (lookup by DescribeTopic on the
// spec's cluster). The spec, as the engine hands it over:
//
//	cluster            the MSK component's address ("svc/name"), or a cluster ARN the user wrote
//	clusterArn         the cluster's ARN (with an address; the engine injects it)
//	partitions         PartitionCount (UpdateTopic: only grows)
//	replicationFactor  ReplicationFactor (fixed: a change is refused)
//	retentionMs        config retention.ms
//	cleanupPolicy      config cleanup.policy
//	config             the topic's other configs
//
// Configs travel as MSK's API carries them: a JSON object of strings, base64-encoded. UpdateTopic
// is sent the whole set. Output topicName.
//
// MSK topics have no tags. The topic's tags, the ownership tags among them, are kept on a part:
// an SSM parameter (AWS::SSM::Parameter) named /panka/kafka-topics/CLUSTER/TOPIC, whose value is
// the topic's ARN, made after the topic. A run that dies between the two leaves a topic without
// the parameter: Find adopts it (no tags disagree), and the next Update makes the parameter
// (tag). Delete deletes the topic, then the parameter; a parameter left by a run that died
// between the two is DeleteParts's.
//
// Create and Update wait until the topic is ACTIVE, reporting progress. Refused at plan time with
// the reason (kindTable's limits: the engine must not plan them as replacements of a topic whose
// data would go), and in Update again should a plan get there: fewer partitions (Kafka cannot
// remove partitions) and another replication factor (MSK's topic API cannot reassign replicas).
// The cluster field replaces the topic (schema: forcenew).
//
// Limits: config reads back as DescribeTopic reports the topic's configs; were MSK to report
// configs the topic did not set (broker defaults), they would read as drift.

type kafkaKind struct {
	p   *Provider
	c   *kafka.Client
	ssm *ssm.Client
}

func newKafka(p *Provider) kind {
	return &kafkaKind{p: p, c: kafka.NewFromConfig(p.cfg), ssm: ssm.NewFromConfig(p.cfg)}
}

// kafkaLive is what read keeps of a topic.
type kafkaLive struct {
	cluster, topic string
	param          bool // the tags' parameter exists
}

func (k *kafkaKind) lookup(context.Context, string) (string, error) {
	return "", errors.New("a Kafka topic is looked up on its cluster: the spec's cluster is needed")
}

// topicCluster is the ARN of the cluster of the topic spec s.
func topicCluster(s map[string]any) (string, error) {
	if a := specString(s, "clusterArn"); a != "" {
		return a, nil
	}
	if c := specString(s, "cluster"); isARN(c) {
		return c, nil
	}
	return "", fmt.Errorf("spec has no cluster ARN (clusterArn: the engine injects the MSK component's; cluster %q is not an ARN)", specString(s, "cluster"))
}

// topicARNParts returns the cluster ARN and topic name of a topic ARN.
func topicARNParts(arn string) (cluster, topic string, err error) {
	head, rest, ok := strings.Cut(arn, ":topic/")
	parts := strings.Split(rest, "/")
	if !ok || len(parts) != 3 {
		return "", "", fmt.Errorf("%w: %q is not an MSK topic ARN", provider.ErrNotFound, arn)
	}
	return head + ":cluster/" + parts[0] + "/" + parts[1], parts[2], nil
}

// tagParam is the name of the SSM parameter holding the tags of topic on cluster (an ARN).
func tagParam(cluster, topic string) string {
	_, rest, _ := strings.Cut(cluster, ":cluster/")
	name, _, _ := strings.Cut(rest, "/")
	return "/panka/kafka-topics/" + name + "/" + topic
}

func (k *kafkaKind) lookupResource(ctx context.Context, r provider.Resource) (string, error) {
	cluster, err := topicCluster(r.Spec)
	if err != nil {
		return "", err
	}
	out, err := k.c.DescribeTopic(ctx, &kafka.DescribeTopicInput{ClusterArn: aws.String(cluster), TopicName: aws.String(r.Name)})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.TopicArn), nil
}

// topicConfigs are the configs of spec s, encoded as MSK's API carries them.
func topicConfigs(s map[string]any) (string, error) {
	m := map[string]string{"retention.ms": itoa(specInt(s, "retentionMs", 604800000))}
	if p := specString(s, "cleanupPolicy"); p != "" {
		m["cleanup.policy"] = p
	}
	for key, v := range specMap(s, "config") {
		m[key] = fmt.Sprint(v)
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

func (k *kafkaKind) create(ctx context.Context, r provider.Resource) (string, error) {
	cluster, err := topicCluster(r.Spec)
	if err != nil {
		return "", err
	}
	cfg, err := topicConfigs(r.Spec)
	if err != nil {
		return "", err
	}
	out, err := k.c.CreateTopic(ctx, &kafka.CreateTopicInput{ClusterArn: aws.String(cluster), TopicName: aws.String(r.Name),
		PartitionCount: aws.Int32(int32(specInt(r.Spec, "partitions", 3))), ReplicationFactor: aws.Int32(int32(specInt(r.Spec, "replicationFactor", 3))),
		Configs: aws.String(cfg)})
	if err != nil {
		return "", err
	}
	if _, err := k.waitActive(ctx, cluster, r.Name); err != nil {
		return "", err
	}
	if err := k.putTags(ctx, cluster, r.Name, aws.ToString(out.TopicArn), r.Tags); err != nil {
		return "", fmt.Errorf("the topic's tags (parameter %s): %w", tagParam(cluster, r.Name), err)
	}
	return aws.ToString(out.TopicArn), nil
}

// putTags makes the parameter holding the topic's tags, or makes its tags exactly tags.
func (k *kafkaKind) putTags(ctx context.Context, cluster, topic, arn string, tags map[string]string) error {
	name := tagParam(cluster, topic)
	_, err := k.ssm.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(name), Value: aws.String(arn), Type: ssmtypes.ParameterTypeString,
		Overwrite: aws.Bool(true), Description: aws.String("Panka: the tags of Kafka topic " + topic)})
	if err != nil {
		return err
	}
	have, err := k.paramTags(ctx, name)
	if err != nil {
		return err
	}
	set, remove := tagChanges(have, tags)
	return k.changeTags(ctx, name, set, remove)
}

func (k *kafkaKind) paramTags(ctx context.Context, name string) (map[string]string, error) {
	out, err := k.ssm.ListTagsForResource(ctx, &ssm.ListTagsForResourceInput{ResourceType: ssmtypes.ResourceTypeForTaggingParameter, ResourceId: aws.String(name)})
	if err != nil {
		return nil, err
	}
	tags := map[string]string{}
	for _, t := range out.TagList {
		tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return tags, nil
}

func (k *kafkaKind) changeTags(ctx context.Context, name string, set map[string]string, remove []string) error {
	if len(set) > 0 {
		var tags []ssmtypes.Tag
		for _, key := range slices.Sorted(maps.Keys(set)) {
			tags = append(tags, ssmtypes.Tag{Key: aws.String(key), Value: aws.String(set[key])})
		}
		_, err := k.ssm.AddTagsToResource(ctx, &ssm.AddTagsToResourceInput{ResourceType: ssmtypes.ResourceTypeForTaggingParameter, ResourceId: aws.String(name), Tags: tags})
		if err != nil {
			return err
		}
	}
	if len(remove) > 0 {
		_, err := k.ssm.RemoveTagsFromResource(ctx, &ssm.RemoveTagsFromResourceInput{ResourceType: ssmtypes.ResourceTypeForTaggingParameter, ResourceId: aws.String(name), TagKeys: remove})
		if err != nil {
			return err
		}
	}
	return nil
}

// waitActive waits, reporting progress, until the topic is ACTIVE, and returns it.
func (k *kafkaKind) waitActive(ctx context.Context, cluster, topic string) (*kafka.DescribeTopicOutput, error) {
	var t *kafka.DescribeTopicOutput
	err := waitFor(ctx, func(ctx context.Context) (bool, error) {
		out, err := k.c.DescribeTopic(ctx, &kafka.DescribeTopicInput{ClusterArn: aws.String(cluster), TopicName: aws.String(topic)})
		if err != nil {
			return false, err
		}
		t = out
		if out.Status == kafkatypes.TopicStateCreating || out.Status == kafkatypes.TopicStateUpdating {
			provider.ReportProgress(ctx, fmt.Sprintf("Kafka topic %s is %s", topic, out.Status))
			return false, nil
		}
		return true, nil
	})
	return t, err
}

func (k *kafkaKind) read(ctx context.Context, id string) (*live, error) {
	cluster, topic, err := topicARNParts(id)
	if err != nil {
		return nil, err
	}
	t, err := k.waitActive(ctx, cluster, topic)
	if err != nil {
		return nil, err
	}
	if t.Status == kafkatypes.TopicStateDeleting {
		return nil, fmt.Errorf("%w: topic %s is being deleted", provider.ErrNotFound, topic)
	}
	configs := map[string]string{}
	if c := aws.ToString(t.Configs); c != "" {
		raw, err := base64.StdEncoding.DecodeString(c)
		if err == nil {
			err = json.Unmarshal(raw, &configs)
		}
		if err != nil {
			return nil, fmt.Errorf("the topic's configs: %w", err)
		}
	}
	spec := map[string]any{"partitions": int64(aws.ToInt32(t.PartitionCount)), "replicationFactor": int64(aws.ToInt32(t.ReplicationFactor))}
	if v, ok := configs["retention.ms"]; ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("the topic's retention.ms %q: %w", v, err)
		}
		spec["retentionMs"] = n
	}
	if v := configs["cleanup.policy"]; v != "" {
		spec["cleanupPolicy"] = v
	}
	delete(configs, "retention.ms")
	delete(configs, "cleanup.policy")
	if len(configs) > 0 {
		other := map[string]any{}
		for key, v := range configs {
			other[key] = v
		}
		spec["config"] = other
	}
	name := tagParam(cluster, topic)
	tags, err := k.paramTags(ctx, name)
	param := err == nil
	if isNotFound(err) || isInvalidResource(err) {
		tags, err = map[string]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("the topic's tags (parameter %s): %w", name, err)
	}
	if param {
		// kumo lists the tags of a parameter that is not there: the parameter must exist.
		if _, err := k.ssm.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name)}); isNotFound(err) || isParameterNotFound(err) {
			param, tags = false, map[string]string{}
		} else if err != nil {
			return nil, fmt.Errorf("the topic's tags (parameter %s): %w", name, err)
		}
	}
	// The cluster by the address the engine names it by, when it is a component of the topic's
	// deployment; by its ARN otherwise (a cluster the user named by ARN).
	spec["cluster"] = cluster
	ct, err := k.c.ListTagsForResource(ctx, &kafka.ListTagsForResourceInput{ResourceArn: aws.String(cluster)})
	if err != nil && !isNotFound(err) {
		return nil, fmt.Errorf("the cluster's tags: %w", err)
	}
	if err == nil && ct.Tags[tagAddress] != "" && sameDeployment(ct.Tags, tags) {
		spec["cluster"], spec["clusterArn"] = ct.Tags[tagAddress], cluster
	}
	obs := &provider.Observed{ID: id, Name: topic, ARN: id, Spec: spec, Tags: tags, Outputs: map[string]string{"topicName": topic, "arn": id}}
	if param {
		obs.Parts = []provider.Part{{Type: "AWS::SSM::Parameter", ID: name}}
	}
	return &live{obs: obs, raw: &kafkaLive{cluster: cluster, topic: topic, param: param}}, nil
}

func isInvalidResource(err error) bool {
	var e *ssmtypes.InvalidResourceId
	return errors.As(err, &e)
}

func isParameterNotFound(err error) bool {
	var e *ssmtypes.ParameterNotFound
	return errors.As(err, &e)
}

func (k *kafkaKind) update(ctx context.Context, l *live, r provider.Resource) error {
	have, want := l.obs.Spec, r.Spec
	kl := l.raw.(*kafkaLive)
	hp, wp := specInt(have, "partitions", 3), specInt(want, "partitions", 3)
	switch {
	case wp < hp:
		return fmt.Errorf("kafka cannot remove partitions from topic %s (%d now, %d wanted): keep partitions at least %d, or make a new topic (a new component name)", kl.topic, hp, wp, hp)
	case specInt(want, "replicationFactor", 3) != specInt(have, "replicationFactor", 3):
		return fmt.Errorf("MSK's topic API cannot change topic %s's replication factor (%d now, %d wanted): keep it, or make a new topic (a new component name)",
			kl.topic, specInt(have, "replicationFactor", 3), specInt(want, "replicationFactor", 3))
	}
	cfgHave, err := topicConfigs(have)
	if err != nil {
		return err
	}
	cfgWant, err := topicConfigs(want)
	if err != nil {
		return err
	}
	if wp == hp && sameConfigs(cfgHave, cfgWant) {
		return nil
	}
	in := &kafka.UpdateTopicInput{ClusterArn: aws.String(kl.cluster), TopicName: aws.String(kl.topic), Configs: aws.String(cfgWant)}
	if wp != hp {
		in.PartitionCount = aws.Int32(int32(wp))
	}
	if _, err := k.c.UpdateTopic(ctx, in); err != nil {
		return fmt.Errorf("update topic: %w", err)
	}
	_, err = k.waitActive(ctx, kl.cluster, kl.topic)
	return err
}

// sameConfigs compares two encoded config sets.
func sameConfigs(a, b string) bool {
	dec := func(s string) map[string]string {
		m := map[string]string{}
		raw, _ := base64.StdEncoding.DecodeString(s)
		_ = json.Unmarshal(raw, &m)
		return m
	}
	return maps.Equal(dec(a), dec(b))
}

// tag makes the topic's tags exactly those wanted, on its parameter (made if a crash left none).
func (k *kafkaKind) tag(ctx context.Context, l *live, set map[string]string, remove []string) error {
	kl := l.raw.(*kafkaLive)
	if !kl.param {
		want := maps.Clone(l.obs.Tags)
		maps.Copy(want, set)
		for _, key := range remove {
			delete(want, key)
		}
		return k.putTags(ctx, kl.cluster, kl.topic, l.obs.ID, want)
	}
	return k.changeTags(ctx, tagParam(kl.cluster, kl.topic), set, remove)
}

// delete deletes the topic, then its tags' parameter.
func (k *kafkaKind) delete(ctx context.Context, l *live) error {
	kl := l.raw.(*kafkaLive)
	if _, err := k.c.DeleteTopic(ctx, &kafka.DeleteTopicInput{ClusterArn: aws.String(kl.cluster), TopicName: aws.String(kl.topic)}); err != nil && !isNotFound(err) {
		return err
	}
	return k.deleteParam(ctx, tagParam(kl.cluster, kl.topic))
}

func (k *kafkaKind) deleteParam(ctx context.Context, name string) error {
	_, err := k.ssm.DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: aws.String(name)})
	if err != nil && !isNotFound(err) && !isParameterNotFound(err) {
		return fmt.Errorf("delete parameter %s: %w", name, err)
	}
	return nil
}

// deletePart deletes the tags' parameter of a topic that is gone.
func (k *kafkaKind) deletePart(ctx context.Context, p provider.Part) (bool, error) {
	if p.Type != "AWS::SSM::Parameter" || !strings.HasPrefix(p.ID, "/panka/kafka-topics/") {
		return false, nil
	}
	return true, k.deleteParam(ctx, p.ID)
}
