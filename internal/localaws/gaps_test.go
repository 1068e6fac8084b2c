package localaws

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/google/go-cmp/cmp"
)

// The gaps the layer fills (see the package doc). Each TestKumo... test calls kumo directly and
// asserts what it gets wrong: when one fails, kumo has been fixed, and the gap's handler and the
// test go. The other tests check the layer's answers through Server.URL.

var (
	gapServerOnce = sync.OnceValues(func() (*Server, error) { return Start("") })
	gapNames      atomic.Int64
)

func gapEmulator(t *testing.T) *Server {
	t.Helper()
	srv, err := gapServerOnce()
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

// uniqueName returns a name no other test (or earlier -count run: kumo's data is global to the
// process) has used.
func uniqueName(prefix string) string { return fmt.Sprintf("%s-%d", prefix, gapNames.Add(1)) }

func sqsClient(t *testing.T, endpoint string) *sqs.Client {
	t.Helper()
	cfg, err := sdkConfig(t.Context(), endpoint, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	return sqs.NewFromConfig(cfg)
}

func snsClient(t *testing.T, endpoint string) *sns.Client {
	t.Helper()
	cfg, err := sdkConfig(t.Context(), endpoint, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	return sns.NewFromConfig(cfg)
}

func queueAttrs(t *testing.T, c *sqs.Client, url string, names ...sqstypes.QueueAttributeName) map[string]string {
	t.Helper()
	if len(names) == 0 {
		names = []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll}
	}
	out, err := c.GetQueueAttributes(t.Context(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: names})
	if err != nil {
		t.Fatalf("GetQueueAttributes: %v", err)
	}
	return out.Attributes
}

func encryptionOf(attrs map[string]string) map[string]string {
	out := map[string]string{}
	for _, k := range []string{attrKMSKey, attrReusePeriod, attrManagedSSE} {
		if v, ok := attrs[k]; ok {
			out[k] = v
		}
	}
	return out
}

// SQS keeps a queue's encryption settings; kumo v0.33.1 drops them.
func TestKumoDropsSQSEncryptionAttributes(t *testing.T) {
	c := sqsClient(t, gapEmulator(t).srv.URL) // kumo itself
	out, err := c.CreateQueue(t.Context(), &sqs.CreateQueueInput{
		QueueName:  aws.String(uniqueName("kumo-kms")),
		Attributes: map[string]string{attrKMSKey: "alias/panka", attrReusePeriod: "600", "VisibilityTimeout": "40"},
	})
	if err != nil {
		t.Fatal(err)
	}
	attrs := queueAttrs(t, c, *out.QueueUrl)
	if attrs["VisibilityTimeout"] != "40" {
		t.Fatalf("kumo did not keep VisibilityTimeout either: %v", attrs)
	}
	if enc := encryptionOf(attrs); len(enc) != 0 {
		t.Fatalf("kumo now reports the queue's encryption (%v): drop the layer's SQS encryption handlers and this test", enc)
	}
}

// SNS answers TagResource and UntagResource with a document the SDK parses; kumo v0.33.1 applies
// the tags and answers one it cannot.
func TestKumoSNSTagReplyDoesNotParse(t *testing.T) {
	ctx := t.Context()
	c := snsClient(t, gapEmulator(t).srv.URL) // kumo itself
	topic, err := c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(uniqueName("kumo-tags"))})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.TagResource(ctx, &sns.TagResourceInput{ResourceArn: topic.TopicArn, Tags: []snstypes.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
	if err == nil || !strings.Contains(err.Error(), "deserialization failed") {
		t.Fatalf("TagResource on kumo: %v; want a deserialization error: if kumo's reply now parses, drop the layer's SNS tag handlers and this test", err)
	}
	_, err = c.UntagResource(ctx, &sns.UntagResourceInput{ResourceArn: topic.TopicArn, TagKeys: []string{"k"}})
	if err == nil || !strings.Contains(err.Error(), "deserialization failed") {
		t.Fatalf("UntagResource on kumo: %v; want a deserialization error: if kumo's reply now parses, drop the layer's SNS tag handlers and this test", err)
	}
}

// SNS takes any tag value; kumo v0.33.1 fails a CreateTopic whose tag value reads as a number.
func TestKumoSNSNumericTagValueFails(t *testing.T) {
	c := snsClient(t, gapEmulator(t).srv.URL) // kumo itself
	_, err := c.CreateTopic(t.Context(), &sns.CreateTopicInput{
		Name: aws.String(uniqueName("kumo-numeric")), Tags: []snstypes.Tag{{Key: aws.String("cost-center"), Value: aws.String("42")}},
	})
	if err == nil || !strings.Contains(err.Error(), "Failed to parse request body") {
		t.Fatalf("CreateTopic with tag value \"42\" on kumo: %v; want kumo's parse failure: if it works now, the layer may leave CreateTopic's tags to kumo", err)
	}
}

// SNS answers ListTagsForResource of a missing topic with ResourceNotFound; kumo v0.33.1 lists
// no tags.
func TestKumoSNSListsTagsOfMissingTopic(t *testing.T) {
	c := snsClient(t, gapEmulator(t).srv.URL) // kumo itself
	out, err := c.ListTagsForResource(t.Context(), &sns.ListTagsForResourceInput{ResourceArn: aws.String(kumoTopicARN(uniqueName("kumo-missing")))})
	if err != nil || len(out.Tags) != 0 {
		t.Fatalf("ListTagsForResource of a missing topic on kumo: %v, %v; want no tags and no error (kumo's behaviour): if it fails now, the layer may leave it to kumo", out, err)
	}
}

func TestLayerKeepsSQSEncryption(t *testing.T) {
	ctx := t.Context()
	c := sqsClient(t, gapEmulator(t).URL)
	name := uniqueName("layer-kms")
	steps := []struct {
		name   string
		create map[string]string // CreateQueue attributes (first step only)
		set    map[string]string // then SetQueueAttributes
		want   map[string]string
	}{
		{name: "new queue: SSE-SQS", create: map[string]string{}, want: map[string]string{attrManagedSSE: "true"}},
		{name: "KMS key, default reuse period", set: map[string]string{attrKMSKey: "alias/a"},
			want: map[string]string{attrManagedSSE: "false", attrKMSKey: "alias/a", attrReusePeriod: "300"}},
		{name: "reuse period", set: map[string]string{attrReusePeriod: "900"},
			want: map[string]string{attrManagedSSE: "false", attrKMSKey: "alias/a", attrReusePeriod: "900"}},
		{name: "back to SSE-SQS", set: map[string]string{attrKMSKey: "", attrManagedSSE: "true"}, want: map[string]string{attrManagedSSE: "true"}},
		{name: "SSE off", set: map[string]string{attrManagedSSE: "false"}, want: map[string]string{attrManagedSSE: "false"}},
	}
	var url string
	for i, step := range steps {
		if i == 0 {
			out, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: step.create})
			if err != nil {
				t.Fatal(err)
			}
			url = *out.QueueUrl
		} else if _, err := c.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(url), Attributes: step.set}); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if diff := cmp.Diff(step.want, encryptionOf(queueAttrs(t, c, url))); diff != "" {
			t.Errorf("%s: encryption (-want +got):\n%s", step.name, diff)
		}
	}
	// Only what is asked for is reported.
	got := queueAttrs(t, c, url, sqstypes.QueueAttributeNameVisibilityTimeout)
	if diff := cmp.Diff(map[string]string{"VisibilityTimeout": "30"}, got); diff != "" {
		t.Errorf("GetQueueAttributes(VisibilityTimeout) (-want +got):\n%s", diff)
	}
	got = queueAttrs(t, c, url, sqstypes.QueueAttributeNameSqsManagedSseEnabled)
	if diff := cmp.Diff(map[string]string{attrManagedSSE: "false"}, got); diff != "" {
		t.Errorf("GetQueueAttributes(SqsManagedSseEnabled) (-want +got):\n%s", diff)
	}

	// CreateQueue of an existing queue returns it as it is; a queue made again after a delete
	// starts afresh.
	if _, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: map[string]string{attrKMSKey: "alias/b"}}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{attrManagedSSE: "false"}, encryptionOf(queueAttrs(t, c, url))); diff != "" {
		t.Errorf("after CreateQueue of the existing queue (-want +got):\n%s", diff)
	}
	if _, err := c.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(url)}); err != nil {
		t.Fatal(err)
	}
	out, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: map[string]string{attrKMSKey: "alias/c", attrReusePeriod: "60"}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{attrManagedSSE: "false", attrKMSKey: "alias/c", attrReusePeriod: "60"}
	if diff := cmp.Diff(want, encryptionOf(queueAttrs(t, c, *out.QueueUrl))); diff != "" {
		t.Errorf("queue made again (-want +got):\n%s", diff)
	}
}

func TestLayerAnswersSNSTagging(t *testing.T) {
	ctx := t.Context()
	c := snsClient(t, gapEmulator(t).URL)
	tag := func(k, v string) snstypes.Tag { return snstypes.Tag{Key: aws.String(k), Value: aws.String(v)} }
	name := uniqueName("layer-tags")
	topic, err := c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(name), Tags: []snstypes.Tag{tag("a", "1"), tag("t", "true"), tag("e", "")}})
	if err != nil {
		t.Fatal(err)
	}
	tags := func() map[string]string {
		t.Helper()
		out, err := c.ListTagsForResource(ctx, &sns.ListTagsForResourceInput{ResourceArn: topic.TopicArn})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, tag := range out.Tags {
			got[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
		}
		return got
	}
	if diff := cmp.Diff(map[string]string{"a": "1", "t": "true", "e": ""}, tags()); diff != "" {
		t.Errorf("tags after CreateTopic (-want +got):\n%s", diff)
	}
	if _, err := c.TagResource(ctx, &sns.TagResourceInput{ResourceArn: topic.TopicArn, Tags: []snstypes.Tag{tag("b", "2"), tag("a", "3")}}); err != nil {
		t.Fatalf("TagResource: %v", err)
	}
	if _, err := c.UntagResource(ctx, &sns.UntagResourceInput{ResourceArn: topic.TopicArn, TagKeys: []string{"b", "t", "e"}}); err != nil {
		t.Fatalf("UntagResource: %v", err)
	}
	if diff := cmp.Diff(map[string]string{"a": "3"}, tags()); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
	// CreateTopic of an existing topic leaves its tags alone; DeleteTopic forgets them.
	if _, err := c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(name), Tags: []snstypes.Tag{tag("z", "9")}}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"a": "3"}, tags()); diff != "" {
		t.Errorf("tags after CreateTopic of the existing topic (-want +got):\n%s", diff)
	}
	if _, err := c.DeleteTopic(ctx, &sns.DeleteTopicInput{TopicArn: topic.TopicArn}); err != nil {
		t.Fatal(err)
	}
	var nf *snstypes.ResourceNotFoundException
	for _, call := range []func() error{
		func() error {
			_, err := c.ListTagsForResource(ctx, &sns.ListTagsForResourceInput{ResourceArn: topic.TopicArn})
			return err
		},
		func() error {
			_, err := c.TagResource(ctx, &sns.TagResourceInput{ResourceArn: topic.TopicArn, Tags: []snstypes.Tag{tag("k", "v")}})
			return err
		},
		func() error {
			_, err := c.UntagResource(ctx, &sns.UntagResourceInput{ResourceArn: topic.TopicArn, TagKeys: []string{"k"}})
			return err
		},
	} {
		if err := call(); !errors.As(err, &nf) {
			t.Errorf("tagging a deleted topic: %v, want ResourceNotFoundException", err)
		}
	}
	if _, err := c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	if got := tags(); len(got) != 0 {
		t.Errorf("a topic made again has the old one's tags: %v", got)
	}
}

// The layer's state is written to the data directory and read back by the next emulator.
func TestLayerStatePersists(t *testing.T) {
	dir := t.TempDir()
	g := newGapState(dir)
	enc := sqsEncryption{KMSKey: "alias/x", ReusePeriod: "120"}
	if err := g.setQueue("q", &enc); err != nil {
		t.Fatal(err)
	}
	if got := newGapState(dir).queue("q"); got != enc {
		t.Errorf("after a restart: %+v, want %+v", got, enc)
	}
	if err := g.setQueue("q", nil); err != nil {
		t.Fatal(err)
	}
	if got := newGapState(dir).queue("q"); !got.ManagedSSE || got.KMSKey != "" {
		t.Errorf("after a delete and a restart: %+v, want a new queue's", got)
	}
	if err := g.setTopicTags("arn:t", map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	if got := newGapState(dir).topicTags("arn:t"); got["k"] != "v" {
		t.Errorf("topic tags after a restart: %v", got)
	}
}

// Every other request reaches kumo as it was sent: a service the layer has no gap for works.
func TestLayerPassesOtherRequests(t *testing.T) {
	srv := gapEmulator(t)
	c := sqsClient(t, srv.URL)
	out, err := c.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String(uniqueName("pass")), Tags: map[string]string{"t": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	tags, err := c.ListQueueTags(t.Context(), &sqs.ListQueueTagsInput{QueueUrl: out.QueueUrl})
	if err != nil || tags.Tags["t"] != "v" {
		t.Fatalf("ListQueueTags through the layer = %v, %v", tags, err)
	}
	if _, err := c.GetQueueUrl(t.Context(), &sqs.GetQueueUrlInput{QueueName: aws.String("no-such-queue")}); err == nil {
		t.Error("GetQueueUrl of a missing queue succeeded")
	}
}
