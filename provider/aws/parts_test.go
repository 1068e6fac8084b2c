package aws_test

import (
	"maps"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"

	"github.com/panka/panka/provider"
)

// TestDeletePartsOfAGoneFunction: a function deleted without its parts (as by a delete killed
// after the function) leaves its roles, log group, mappings and schedule; DeleteParts, given
// the parts the engine recorded, deletes every one of them, and a second call finds nothing to
// do. A part type the kind does not make is an error.
func TestDeletePartsOfAGoneFunction(t *testing.T) {
	p := newProvider(t)
	c := newLambdaClients(t)
	ctx := t.Context()
	queue := deploy(t, p, component("SQS", unique("jobs"), "", sqsBase()))
	spec := lambdaBase()
	spec["eventSources"] = []any{
		map[string]any{"queue": strings.TrimPrefix(queue.Name, prefix), "batchSize": int64(0), "batchWindow": int64(0)},
		map[string]any{"schedule": "rate(1 hour)", "batchSize": int64(0), "batchWindow": int64(0)},
	}
	r := component("Lambda", unique("gone"), "", spec)
	obs, err := p.Create(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	fn := obs.ID
	var schedules []string
	for _, part := range obs.Parts {
		if part.Type == "AWS::Scheduler::Schedule" {
			schedules = append(schedules, part.ID)
		}
	}
	if len(schedules) != 1 || schedules[0] != fn+"-schedule-0" {
		t.Fatalf("schedule parts %v, want %s-schedule-0", schedules, fn)
	}
	if _, err := c.fn.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(fn)}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := p.DeleteParts(ctx, r, obs.Parts); err != nil {
			t.Fatalf("DeleteParts: %v", err)
		}
	}
	for _, role := range []string{fn + "-lambda", fn + "-scheduler"} {
		if _, err := c.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(role)}); err == nil {
			t.Errorf("role %s is left", role)
		}
	}
	groups, err := c.logs.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/aws/lambda/" + fn)})
	if err != nil || len(groups.LogGroups) != 0 {
		t.Errorf("log groups left: %v, %v", groups, err)
	}
	if _, err := c.sched.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String(fn + "-schedule-0")}); err == nil {
		t.Errorf("schedule %s-schedule-0 is left", fn)
	}
	mappings, err := c.fn.ListEventSourceMappings(ctx, &lambda.ListEventSourceMappingsInput{FunctionName: aws.String(fn)})
	if err != nil || len(mappings.EventSourceMappings) != 0 {
		t.Errorf("mappings left: %d, %v", len(mappings.EventSourceMappings), err)
	}

	err = p.DeleteParts(ctx, r, []provider.Part{{Type: "AWS::EC2::Volume", ID: "vol-1"}})
	if err == nil || !strings.Contains(err.Error(), "AWS::EC2::Volume") {
		t.Errorf("DeleteParts of an unknown part type: %v, want an error naming it", err)
	}
}

// TestDeleteLeftoversOfAnInterruptedCreate: a Lambda create killed after its role and log group
// and before its function leaves them, recorded nowhere; DeleteParts of the resource, with no
// recorded parts, finds them by name and deletes them, unless their tags name another owner.
// Likewise a distribution's origin access control, made before the distribution.
func TestDeleteLeftoversOfAnInterruptedCreate(t *testing.T) {
	p := newProvider(t)
	c := newLambdaClients(t)
	ctx := t.Context()
	for _, owner := range []string{"acme", "someone-else"} {
		r := component("Lambda", unique("half"), "", lambdaBase())
		tags := maps.Clone(r.Tags)
		tags["panka:tenant"] = owner
		var iamTagList []iamtypes.Tag
		for k, v := range tags {
			iamTagList = append(iamTagList, iamtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
		}
		role := r.Name + "-lambda"
		if _, err := c.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(role), Tags: iamTagList,
			AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)}); err != nil {
			t.Fatal(err)
		}
		group := "/aws/lambda/" + r.Name
		if _, err := c.logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group), Tags: tags}); err != nil {
			t.Fatal(err)
		}
		if err := p.DeleteParts(ctx, r, nil); err != nil {
			t.Fatalf("DeleteParts: %v", err)
		}
		_, roleErr := c.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(role)})
		groups, err := c.logs.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(group)})
		if err != nil {
			t.Fatal(err)
		}
		if mine := owner == "acme"; mine != (roleErr != nil) || mine != (len(groups.LogGroups) == 0) {
			t.Errorf("owner %s: role deleted %v, log group deleted %v; want both %v", owner, roleErr != nil, len(groups.LogGroups) == 0, mine)
		}
	}

	cf := cloudfront.NewFromConfig(sdkConfig(t))
	r := component("CloudFront", unique("half"), "", nil)
	if _, err := cf.CreateOriginAccessControl(ctx, &cloudfront.CreateOriginAccessControlInput{OriginAccessControlConfig: &cftypes.OriginAccessControlConfig{
		Name: aws.String(r.Name), OriginAccessControlOriginType: cftypes.OriginAccessControlOriginTypesS3,
		SigningBehavior: cftypes.OriginAccessControlSigningBehaviorsAlways, SigningProtocol: cftypes.OriginAccessControlSigningProtocolsSigv4,
	}}); err != nil {
		t.Fatal(err)
	}
	if err := p.DeleteParts(ctx, r, nil); err != nil {
		t.Fatalf("DeleteParts of a distribution: %v", err)
	}
	list, err := cf.ListOriginAccessControls(ctx, &cloudfront.ListOriginAccessControlsInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range list.OriginAccessControlList.Items {
		if aws.ToString(o.Name) == r.Name {
			t.Errorf("origin access control %s is left", r.Name)
		}
	}
}
