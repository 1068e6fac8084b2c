package localaws

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	schedtypes "github.com/aws/aws-sdk-go-v2/service/scheduler/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func gapSchedulerClient(t *testing.T, endpoint string) *scheduler.Client {
	t.Helper()
	cfg, err := sdkConfig(t.Context(), endpoint, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	return scheduler.NewFromConfig(cfg)
}

// gapECSTarget is an ECS task target with everything a Fargate service's scheduled task sets.
func gapECSTarget() *schedtypes.Target {
	return &schedtypes.Target{
		Arn:     aws.String("arn:aws:ecs:us-east-1:000000000000:cluster/c"),
		RoleArn: aws.String("arn:aws:iam::000000000000:role/r"),
		Input:   aws.String(`{"k":"v"}`),
		EcsParameters: &schedtypes.EcsParameters{
			TaskDefinitionArn: aws.String("arn:aws:ecs:us-east-1:000000000000:task-definition/td:1"),
			TaskCount:         aws.Int32(2),
			LaunchType:        schedtypes.LaunchTypeFargate,
			PlatformVersion:   aws.String("LATEST"),
			NetworkConfiguration: &schedtypes.NetworkConfiguration{AwsvpcConfiguration: &schedtypes.AwsVpcConfiguration{
				Subnets: []string{"subnet-1", "subnet-2"}, SecurityGroups: []string{"sg-1"}, AssignPublicIp: schedtypes.AssignPublicIpEnabled,
			}},
			PropagateTags:        schedtypes.PropagateTagsTaskDefinition,
			EnableECSManagedTags: aws.Bool(true),
			Group:                aws.String("g"),
		},
		RetryPolicy:      &schedtypes.RetryPolicy{MaximumRetryAttempts: aws.Int32(3), MaximumEventAgeInSeconds: aws.Int32(600)},
		DeadLetterConfig: &schedtypes.DeadLetterConfig{Arn: aws.String("arn:aws:sqs:us-east-1:000000000000:dlq")},
	}
}

func createSchedule(t *testing.T, c *scheduler.Client, name string, target *schedtypes.Target) {
	t.Helper()
	_, err := c.CreateSchedule(t.Context(), &scheduler.CreateScheduleInput{
		Name: aws.String(name), ScheduleExpression: aws.String("rate(5 minutes)"), ScheduleExpressionTimezone: aws.String("Europe/Paris"),
		FlexibleTimeWindow: &schedtypes.FlexibleTimeWindow{Mode: schedtypes.FlexibleTimeWindowModeFlexible, MaximumWindowInMinutes: aws.Int32(10)},
		State:              schedtypes.ScheduleStateDisabled, Target: target,
	})
	if err != nil {
		t.Fatal(err)
	}
}

var targetCmp = cmp.Options{cmpopts.IgnoreUnexported(schedtypes.Target{}, schedtypes.EcsParameters{}, schedtypes.NetworkConfiguration{},
	schedtypes.AwsVpcConfiguration{}, schedtypes.RetryPolicy{}, schedtypes.DeadLetterConfig{})}

// Scheduler keeps a target's EcsParameters whole; kumo v0.33.1 keeps four of their fields and
// drops NetworkConfiguration and the rest. It keeps the other fields of a schedule.
func TestKumoSchedulerDropsECSNetworkConfiguration(t *testing.T) {
	c := gapSchedulerClient(t, gapEmulator(t).srv.URL)
	name := uniqueName("gap-sched")
	createSchedule(t, c, name, gapECSTarget())
	got, err := c.GetSchedule(t.Context(), &scheduler.GetScheduleInput{Name: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	if got.Target == nil || got.Target.EcsParameters == nil || got.Target.EcsParameters.NetworkConfiguration != nil || got.Target.EcsParameters.PropagateTags != "" {
		t.Fatalf("kumo keeps EcsParameters whole (%+v): the layer need not", got.Target)
	}
	// What kumo keeps (the layer adds nothing to these).
	want := gapECSTarget()
	want.EcsParameters = &schedtypes.EcsParameters{TaskDefinitionArn: want.EcsParameters.TaskDefinitionArn, TaskCount: aws.Int32(2), LaunchType: schedtypes.LaunchTypeFargate, PlatformVersion: aws.String("LATEST")}
	if d := cmp.Diff(want, got.Target, targetCmp); d != "" {
		t.Errorf("kumo's target (-want +got):\n%s", d)
	}
	if aws.ToString(got.ScheduleExpressionTimezone) != "Europe/Paris" || got.State != schedtypes.ScheduleStateDisabled ||
		got.FlexibleTimeWindow.Mode != schedtypes.FlexibleTimeWindowModeFlexible || aws.ToInt32(got.FlexibleTimeWindow.MaximumWindowInMinutes) != 10 {
		t.Errorf("kumo drops a schedule field: %+v", got)
	}
}

// Scheduler tags schedule groups; kumo v0.33.1 has no tagging operations and drops
// CreateScheduleGroup's tags.
func TestKumoSchedulerHasNoTags(t *testing.T) {
	c := gapSchedulerClient(t, gapEmulator(t).srv.URL)
	group := uniqueName("gap-group")
	out, err := c.CreateScheduleGroup(t.Context(), &scheduler.CreateScheduleGroupInput{Name: aws.String(group), Tags: []schedtypes.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListTagsForResource(t.Context(), &scheduler.ListTagsForResourceInput{ResourceArn: out.ScheduleGroupArn}); err == nil {
		t.Fatal("kumo answers ListTagsForResource: the layer need not")
	}
	if _, err := c.TagResource(t.Context(), &scheduler.TagResourceInput{ResourceArn: out.ScheduleGroupArn, Tags: []schedtypes.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}); err == nil {
		t.Fatal("kumo answers TagResource: the layer need not")
	}
}

func TestGapSchedulerECSParameters(t *testing.T) {
	c := gapSchedulerClient(t, gapEmulator(t).URL)
	ctx := t.Context()
	name := uniqueName("gap-sched")
	createSchedule(t, c, name, gapECSTarget())
	get := func() *scheduler.GetScheduleOutput {
		t.Helper()
		got, err := c.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if d := cmp.Diff(gapECSTarget(), get().Target, targetCmp); d != "" {
		t.Errorf("GetSchedule's target after CreateSchedule (-want +got):\n%s", d)
	}
	update := func(target *schedtypes.Target) {
		t.Helper()
		_, err := c.UpdateSchedule(ctx, &scheduler.UpdateScheduleInput{Name: aws.String(name), ScheduleExpression: aws.String("rate(1 hour)"),
			FlexibleTimeWindow: &schedtypes.FlexibleTimeWindow{Mode: schedtypes.FlexibleTimeWindowModeOff}, Target: target})
		if err != nil {
			t.Fatal(err)
		}
	}
	changed := gapECSTarget()
	changed.EcsParameters.NetworkConfiguration.AwsvpcConfiguration = &schedtypes.AwsVpcConfiguration{Subnets: []string{"subnet-3"}, AssignPublicIp: schedtypes.AssignPublicIpDisabled}
	changed.EcsParameters.PropagateTags = ""
	update(changed)
	if d := cmp.Diff(changed, get().Target, targetCmp); d != "" {
		t.Errorf("GetSchedule's target after UpdateSchedule (-want +got):\n%s", d)
	}
	// A target without EcsParameters has none.
	lambdaTarget := &schedtypes.Target{Arn: aws.String("arn:aws:lambda:us-east-1:000000000000:function:f"), RoleArn: aws.String("arn:aws:iam::000000000000:role/r")}
	update(lambdaTarget)
	if got := get().Target; got.EcsParameters != nil {
		t.Errorf("EcsParameters after an update without them: %+v", got.EcsParameters)
	}
	// Deleted and made again without ECS parameters: none.
	update(gapECSTarget())
	if _, err := c.DeleteSchedule(ctx, &scheduler.DeleteScheduleInput{Name: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	if got := schedulerGaps.ecs("default/" + name); got != nil {
		t.Errorf("the layer keeps a deleted schedule's EcsParameters: %s", got)
	}
	createSchedule(t, c, name, lambdaTarget)
	if got := get().Target; got.EcsParameters != nil {
		t.Errorf("EcsParameters of a schedule made again: %+v", got.EcsParameters)
	}

	// A schedule in a group of its own.
	group := uniqueName("gap-group")
	if _, err := c.CreateScheduleGroup(ctx, &scheduler.CreateScheduleGroupInput{Name: aws.String(group)}); err != nil {
		t.Fatal(err)
	}
	_, err := c.CreateSchedule(ctx, &scheduler.CreateScheduleInput{Name: aws.String(name), GroupName: aws.String(group), ScheduleExpression: aws.String("rate(5 minutes)"),
		FlexibleTimeWindow: &schedtypes.FlexibleTimeWindow{Mode: schedtypes.FlexibleTimeWindowModeOff}, Target: gapECSTarget()})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String(name), GroupName: aws.String(group)})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(gapECSTarget(), got.Target, targetCmp); d != "" {
		t.Errorf("GetSchedule's target in group %s (-want +got):\n%s", group, d)
	}
	if got := get().Target; got.EcsParameters != nil {
		t.Errorf("the default group's schedule of the same name has EcsParameters: %+v", got.EcsParameters)
	}
}

func TestGapSchedulerGroupTags(t *testing.T) {
	c := gapSchedulerClient(t, gapEmulator(t).URL)
	ctx := t.Context()
	group := uniqueName("gap-group")
	out, err := c.CreateScheduleGroup(ctx, &scheduler.CreateScheduleGroupInput{Name: aws.String(group), Tags: []schedtypes.Tag{{Key: aws.String("owner"), Value: aws.String("panka")}, {Key: aws.String("n"), Value: aws.String("42")}}})
	if err != nil {
		t.Fatal(err)
	}
	arn := out.ScheduleGroupArn
	tags := func() map[string]string {
		t.Helper()
		got, err := c.ListTagsForResource(ctx, &scheduler.ListTagsForResourceInput{ResourceArn: arn})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, tag := range got.Tags {
			m[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
		}
		return m
	}
	if d := cmp.Diff(map[string]string{"owner": "panka", "n": "42"}, tags()); d != "" {
		t.Errorf("CreateScheduleGroup's tags (-want +got):\n%s", d)
	}
	if _, err := c.TagResource(ctx, &scheduler.TagResourceInput{ResourceArn: arn, Tags: []schedtypes.Tag{{Key: aws.String("n"), Value: aws.String("43")}, {Key: aws.String("x"), Value: aws.String("y")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UntagResource(ctx, &scheduler.UntagResourceInput{ResourceArn: arn, TagKeys: []string{"owner", "absent"}}); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(map[string]string{"n": "43", "x": "y"}, tags()); d != "" {
		t.Errorf("after TagResource and UntagResource (-want +got):\n%s", d)
	}
	// Schedules take no tags; a missing group is not found.
	sched := uniqueName("gap-sched")
	createSchedule(t, gapSchedulerClient(t, gapEmulator(t).URL), sched, gapECSTarget())
	s, err := c.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String(sched)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListTagsForResource(ctx, &scheduler.ListTagsForResourceInput{ResourceArn: s.Arn}); errorCode(err) != "ValidationException" {
		t.Errorf("ListTagsForResource of a schedule: %v, want ValidationException", err)
	}
	if _, err := c.TagResource(ctx, &scheduler.TagResourceInput{ResourceArn: s.Arn, Tags: []schedtypes.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}); errorCode(err) != "ValidationException" {
		t.Errorf("TagResource of a schedule: %v, want ValidationException", err)
	}
	missing := aws.String("arn:aws:scheduler:us-east-1:123456789012:schedule-group/" + uniqueName("missing"))
	if _, err := c.ListTagsForResource(ctx, &scheduler.ListTagsForResourceInput{ResourceArn: missing}); errorCode(err) != "ResourceNotFoundException" {
		t.Errorf("ListTagsForResource of a missing group: %v, want ResourceNotFoundException", err)
	}
	// A group deleted and made again starts without tags.
	if _, err := c.DeleteScheduleGroup(ctx, &scheduler.DeleteScheduleGroupInput{Name: aws.String(group)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateScheduleGroup(ctx, &scheduler.CreateScheduleGroupInput{Name: aws.String(group)}); err != nil {
		t.Fatal(err)
	}
	if got := tags(); len(got) != 0 {
		t.Errorf("tags of a group made again: %v", got)
	}
}

// A request to the tags path that is no tagging operation fails loudly.
func TestGapSchedulerUnknownTagsOperation(t *testing.T) {
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPut, gapEmulator(t).URL+"/tags/arn%3Aaws%3Ascheduler/x/y", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=test/20000101/us-east-1/scheduler/aws4_request, SignedHeaders=host, Signature=0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]string
	_ = json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != http.StatusNotFound || resp.Header.Get("x-amzn-ErrorType") != "UnknownOperationException" {
		t.Errorf("PUT /tags/...: %d %s %v, want 404 UnknownOperationException", resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"), body)
	}
}

func TestGapSchedulerStatePersists(t *testing.T) {
	dir := t.TempDir()
	g := newSchedulerGapState(dir)
	if err := g.setGroupTags("g", map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	if err := g.setECS("g/s", json.RawMessage(`{"TaskCount":1}`)); err != nil {
		t.Fatal(err)
	}
	again := newSchedulerGapState(dir)
	if got := again.groupTags("g"); got["k"] != "v" || string(again.ecs("g/s")) != `{"TaskCount":1}` {
		t.Errorf("after a restart: tags %v, ecs %s", got, again.ecs("g/s"))
	}
	if err := again.setGroupTags("g", nil); err != nil { // deleting a group forgets its schedules
		t.Fatal(err)
	}
	if third := newSchedulerGapState(dir); len(third.groupTags("g")) != 0 || third.ecs("g/s") != nil {
		t.Errorf("after a group delete and a restart: %v, %s", third.groupTags("g"), third.ecs("g/s"))
	}
}
