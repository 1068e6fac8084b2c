package localaws

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
)

func eventsClient(t *testing.T, endpoint string) *eventbridge.Client {
	t.Helper()
	cfg, err := sdkConfig(t.Context(), endpoint, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	return eventbridge.NewFromConfig(cfg)
}

func busTags(t *testing.T, c *eventbridge.Client, arn string) map[string]string {
	t.Helper()
	out, err := c.ListTagsForResource(t.Context(), &eventbridge.ListTagsForResourceInput{ResourceARN: aws.String(arn)})
	if err != nil {
		t.Fatalf("ListTagsForResource: %v", err)
	}
	tags := map[string]string{}
	for _, tag := range out.Tags {
		tags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
	}
	return tags
}

// EventBridge tags a bus with CreateEventBus's tags; kumo v0.33.1 drops them.
func TestKumoEventBusDropsCreateTags(t *testing.T) {
	c := eventsClient(t, gapEmulator(t).srv.URL) // kumo itself
	out, err := c.CreateEventBus(t.Context(), &eventbridge.CreateEventBusInput{
		Name: aws.String(uniqueName("kumo-bus")), Tags: []ebtypes.Tag{{Key: aws.String("k"), Value: aws.String("v")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if tags := busTags(t, c, aws.ToString(out.EventBusArn)); len(tags) != 0 {
		t.Fatalf("kumo now keeps CreateEventBus's tags (%v): drop the layer's CreateEventBus handler and this test", tags)
	}
}

// EventBridge has archives; kumo v0.33.1 does not know the operations.
func TestKumoHasNoArchives(t *testing.T) {
	c := eventsClient(t, gapEmulator(t).srv.URL) // kumo itself
	_, err := c.DescribeArchive(t.Context(), &eventbridge.DescribeArchiveInput{ArchiveName: aws.String(uniqueName("kumo-archive"))})
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "InvalidAction" {
		t.Fatalf("DescribeArchive on kumo: %v; want InvalidAction: if kumo has archives now, drop the layer's archive handlers and this test", err)
	}
	_, err = c.CreateArchive(t.Context(), &eventbridge.CreateArchiveInput{
		ArchiveName: aws.String(uniqueName("kumo-archive")), EventSourceArn: aws.String("arn:aws:events:us-east-1:000000000000:event-bus/default"),
	})
	if !errors.As(err, &api) || api.ErrorCode() != "InvalidAction" {
		t.Fatalf("CreateArchive on kumo: %v; want InvalidAction: if kumo has archives now, drop the layer's archive handlers and this test", err)
	}
}

// EventBridge keeps a target's SqsParameters and DeadLetterConfig; kumo v0.33.1 drops them.
func TestKumoDropsTargetSQSParametersAndDeadLetterConfig(t *testing.T) {
	ctx := t.Context()
	c := eventsClient(t, gapEmulator(t).srv.URL) // kumo itself
	rule := uniqueName("kumo-rule")
	if _, err := c.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(rule), EventPattern: aws.String(`{"source":["a"]}`)}); err != nil {
		t.Fatal(err)
	}
	_, err := c.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(rule), Targets: []ebtypes.Target{{
		Id: aws.String("1"), Arn: aws.String("arn:aws:sqs:us-east-1:000000000000:q.fifo"), Input: aws.String(`{"a":1}`),
		SqsParameters:    &ebtypes.SqsParameters{MessageGroupId: aws.String("g")},
		DeadLetterConfig: &ebtypes.DeadLetterConfig{Arn: aws.String("arn:aws:sqs:us-east-1:000000000000:dlq")},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String(rule)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Targets) != 1 || aws.ToString(out.Targets[0].Input) != `{"a":1}` {
		t.Fatalf("kumo did not keep the target itself: %+v", out.Targets)
	}
	if tg := out.Targets[0]; tg.SqsParameters != nil || tg.DeadLetterConfig != nil {
		t.Fatalf("kumo now keeps SqsParameters and DeadLetterConfig: drop the layer's target handlers and this test")
	}
}

// Through the layer: a bus has CreateEventBus's tags, and only those, even where a deleted bus
// of its name had others.
func TestEventBusCreateTags(t *testing.T) {
	ctx := t.Context()
	c := eventsClient(t, gapEmulator(t).URL)
	name := uniqueName("bus")
	create := func(tags map[string]string) string {
		in := &eventbridge.CreateEventBusInput{Name: aws.String(name)}
		for k, v := range tags {
			in.Tags = append(in.Tags, ebtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
		}
		out, err := c.CreateEventBus(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.EventBusArn)
	}
	arn := create(map[string]string{"a": "1", "b": "true"})
	if diff := cmp.Diff(map[string]string{"a": "1", "b": "true"}, busTags(t, c, arn)); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
	if _, err := c.DeleteEventBus(ctx, &eventbridge.DeleteEventBusInput{Name: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	arn = create(map[string]string{"c": "3"})
	if diff := cmp.Diff(map[string]string{"c": "3"}, busTags(t, c, arn)); diff != "" {
		t.Errorf("tags of the bus made again (-want +got):\n%s", diff)
	}
}

// Through the layer: archives are created, described, updated and deleted as EventBridge does.
func TestEventBridgeArchives(t *testing.T) {
	ctx := t.Context()
	c := eventsClient(t, gapEmulator(t).URL)
	bus := uniqueName("archived")
	b, err := c.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(bus)})
	if err != nil {
		t.Fatal(err)
	}
	name := uniqueName("archive")
	_, err = c.CreateArchive(ctx, &eventbridge.CreateArchiveInput{ArchiveName: aws.String(name), EventSourceArn: b.EventBusArn, RetentionDays: aws.Int32(7)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateArchive(ctx, &eventbridge.CreateArchiveInput{ArchiveName: aws.String(name), EventSourceArn: b.EventBusArn})
	if !isCode(err, "ResourceAlreadyExistsException") {
		t.Errorf("CreateArchive of an existing name: %v", err)
	}
	_, err = c.CreateArchive(ctx, &eventbridge.CreateArchiveInput{ArchiveName: aws.String(uniqueName("archive")), EventSourceArn: aws.String(kumoEventsPrefix + "event-bus/nope")})
	if !isCode(err, "ResourceNotFoundException") {
		t.Errorf("CreateArchive of a missing bus: %v", err)
	}
	describe := func() *eventbridge.DescribeArchiveOutput {
		out, err := c.DescribeArchive(ctx, &eventbridge.DescribeArchiveInput{ArchiveName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if out := describe(); aws.ToInt32(out.RetentionDays) != 7 || aws.ToString(out.EventSourceArn) != aws.ToString(b.EventBusArn) ||
		out.State != ebtypes.ArchiveStateEnabled || !strings.HasSuffix(aws.ToString(out.ArchiveArn), ":archive/"+name) {
		t.Errorf("DescribeArchive: %+v", out)
	}
	if _, err := c.UpdateArchive(ctx, &eventbridge.UpdateArchiveInput{ArchiveName: aws.String(name), RetentionDays: aws.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	if out := describe(); aws.ToInt32(out.RetentionDays) != 0 {
		t.Errorf("RetentionDays after UpdateArchive: %d", aws.ToInt32(out.RetentionDays))
	}
	if _, err := c.DeleteArchive(ctx, &eventbridge.DeleteArchiveInput{ArchiveName: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DescribeArchive(ctx, &eventbridge.DescribeArchiveInput{ArchiveName: aws.String(name)})
	if !isCode(err, "ResourceNotFoundException") {
		t.Errorf("DescribeArchive after DeleteArchive: %v", err)
	}
}

// Through the layer: a target keeps its SqsParameters and DeadLetterConfig until it, its rule or
// its bus goes.
func TestEventBridgeTargetFields(t *testing.T) {
	ctx := t.Context()
	c := eventsClient(t, gapEmulator(t).URL)
	bus := uniqueName("tbus")
	if _, err := c.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(bus)}); err != nil {
		t.Fatal(err)
	}
	rule := "r"
	put := func() {
		t.Helper()
		if _, err := c.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(rule), EventBusName: aws.String(bus), EventPattern: aws.String(`{"source":["a"]}`)}); err != nil {
			t.Fatal(err)
		}
		_, err := c.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(rule), EventBusName: aws.String(bus), Targets: []ebtypes.Target{
			{Id: aws.String("0"), Arn: aws.String("arn:aws:sqs:us-east-1:000000000000:q.fifo"), SqsParameters: &ebtypes.SqsParameters{MessageGroupId: aws.String("g")}},
			{Id: aws.String("1"), Arn: aws.String("arn:aws:sqs:us-east-1:000000000000:q"), DeadLetterConfig: &ebtypes.DeadLetterConfig{Arn: aws.String("arn:aws:sqs:us-east-1:000000000000:dlq")}},
		}})
		if err != nil {
			t.Fatal(err)
		}
	}
	list := func() map[string]string {
		t.Helper()
		out, err := c.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String(rule), EventBusName: aws.String(bus)})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, tg := range out.Targets {
			s := ""
			if p := tg.SqsParameters; p != nil {
				s += "group=" + aws.ToString(p.MessageGroupId)
			}
			if d := tg.DeadLetterConfig; d != nil {
				s += "dlq=" + aws.ToString(d.Arn)
			}
			got[aws.ToString(tg.Id)] = s
		}
		return got
	}
	put()
	if diff := cmp.Diff(map[string]string{"0": "group=g", "1": "dlq=arn:aws:sqs:us-east-1:000000000000:dlq"}, list()); diff != "" {
		t.Errorf("targets (-want +got):\n%s", diff)
	}
	// Put again without the fields: they go.
	if _, err := c.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(rule), EventBusName: aws.String(bus), Targets: []ebtypes.Target{
		{Id: aws.String("1"), Arn: aws.String("arn:aws:sqs:us-east-1:000000000000:q")},
	}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RemoveTargets(ctx, &eventbridge.RemoveTargetsInput{Rule: aws.String(rule), EventBusName: aws.String(bus), Ids: []string{"0"}}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"1": ""}, list()); diff != "" {
		t.Errorf("targets after put and remove (-want +got):\n%s", diff)
	}
	// A rule made again under a deleted one's name starts without them.
	put()
	if _, err := c.RemoveTargets(ctx, &eventbridge.RemoveTargetsInput{Rule: aws.String(rule), EventBusName: aws.String(bus), Ids: []string{"0", "1"}}); err != nil {
		t.Fatal(err)
	}
	put()
	if _, err := c.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: aws.String(rule), EventBusName: aws.String(bus)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(rule), EventBusName: aws.String(bus), EventPattern: aws.String(`{"source":["a"]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(rule), EventBusName: aws.String(bus), Targets: []ebtypes.Target{
		{Id: aws.String("0"), Arn: aws.String("arn:aws:sqs:us-east-1:000000000000:q")},
	}}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"0": ""}, list()); diff != "" {
		t.Errorf("targets of the rule made again (-want +got):\n%s", diff)
	}
}

func isCode(err error, code string) bool {
	var api smithy.APIError
	return errors.As(err, &api) && api.ErrorCode() == code
}
