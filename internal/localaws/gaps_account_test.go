package localaws

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	schedtypes "github.com/aws/aws-sdk-go-v2/service/scheduler/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

func gapSTSAccount(t *testing.T, endpoint string) string {
	t.Helper()
	cfg, err := sdkConfig(t.Context(), endpoint, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	out, err := sts.NewFromConfig(cfg).GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.Account)
}

// arnAccount returns the account field of an ARN.
func arnAccount(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return ""
	}
	return parts[4]
}

// AWS names a role, a policy and a schedule with the account STS reports; kumo v0.33.1's STS
// says 000000000000 and its IAM and Scheduler 123456789012.
func TestKumoIAMAndSchedulerAccountIsNotSTSAccount(t *testing.T) {
	url := gapEmulator(t).srv.URL
	account := gapSTSAccount(t, url)
	c := gapIAMClient(t, url)
	role, err := c.GetRole(t.Context(), &iam.GetRoleInput{RoleName: aws.String(newRole(t, c))})
	if err != nil {
		t.Fatal(err)
	}
	sc := gapSchedulerClient(t, url)
	group, err := sc.CreateScheduleGroup(t.Context(), &scheduler.CreateScheduleGroupInput{Name: aws.String(uniqueName("gap-group"))})
	if err != nil {
		t.Fatal(err)
	}
	if account != stsAccount || arnAccount(aws.ToString(role.Role.Arn)) != kumoAccount || arnAccount(aws.ToString(group.ScheduleGroupArn)) != kumoAccount {
		t.Fatalf("kumo: STS account %s, role %s, schedule group %s: check what the layer must do now", account, aws.ToString(role.Role.Arn), aws.ToString(group.ScheduleGroupArn))
	}
}

func TestGapAccountIDs(t *testing.T) {
	url := gapEmulator(t).URL
	ctx := t.Context()
	account := gapSTSAccount(t, url)
	c := gapIAMClient(t, url)
	// A tag whose value is an ARN is the client's data: read back as written.
	tagged := "arn:aws:iam::" + stsAccount + ":role/other"
	name := newRole(t, c, iamtypes.Tag{Key: aws.String("peer"), Value: aws.String(tagged)})
	role, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	if got := tagMap(role.Role.Tags)["peer"]; got != tagged {
		t.Errorf("tag value %q read back as %q", tagged, got)
	}
	if got := arnAccount(aws.ToString(role.Role.Arn)); got != account {
		t.Errorf("role ARN %s: account %s, STS says %s", aws.ToString(role.Role.Arn), got, account)
	}
	// The trust policy is a document: left as written.
	if doc := aws.ToString(role.Role.AssumeRolePolicyDocument); doc != gapTrust && doc != strings.ReplaceAll(gapTrust, ":", "%3A") && !strings.Contains(doc, "lambda.amazonaws.com") {
		t.Errorf("trust policy read back as %s", doc)
	}
	roles, err := c.ListRoles(ctx, &iam.ListRolesInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range roles.Roles {
		if arnAccount(aws.ToString(r.Arn)) != account {
			t.Errorf("ListRoles: %s", aws.ToString(r.Arn))
		}
	}
	// A customer policy ARN in STS's account is kumo's policy: get, attach, list, detach, delete.
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:123456789012:q"}]}`
	p, err := c.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String(uniqueName("gap-policy")), PolicyDocument: aws.String(doc)})
	if err != nil {
		t.Fatal(err)
	}
	arn := p.Policy.Arn
	if arnAccount(aws.ToString(arn)) != account {
		t.Errorf("CreatePolicy: %s", aws.ToString(arn))
	}
	if got, err := c.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: arn}); err != nil || aws.ToString(got.Policy.Arn) != aws.ToString(arn) {
		t.Errorf("GetPolicy %s: %v, %v", aws.ToString(arn), got, err)
	}
	if _, err := c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(name), PolicyArn: arn}); err != nil {
		t.Fatal(err)
	}
	attached, err := c.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(name)})
	if err != nil || len(attached.AttachedPolicies) != 1 || aws.ToString(attached.AttachedPolicies[0].PolicyArn) != aws.ToString(arn) {
		t.Errorf("ListAttachedRolePolicies: %v, %v", attached, err)
	}
	if _, err := c.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String(name), PolicyArn: arn}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: arn}); err != nil {
		t.Fatal(err)
	}
	// An inline policy document naming kumo's account is read back as written.
	if _, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String("p"), PolicyDocument: aws.String(doc)}); err != nil {
		t.Fatal(err)
	}
	if got, err := c.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String("p")}); err != nil || !strings.Contains(aws.ToString(got.PolicyDocument), "123456789012") {
		t.Errorf("GetRolePolicy: %v, %v; want the document as written", got, err)
	}

	sc := gapSchedulerClient(t, url)
	groupName := aws.String(uniqueName("gap-group"))
	group, err := sc.CreateScheduleGroup(ctx, &scheduler.CreateScheduleGroupInput{Name: groupName})
	if err != nil {
		t.Fatal(err)
	}
	if arnAccount(aws.ToString(group.ScheduleGroupArn)) != account {
		t.Errorf("CreateScheduleGroup: %s", aws.ToString(group.ScheduleGroupArn))
	}
	// The tagging operations take the ARN the layer answered with.
	if _, err := sc.TagResource(ctx, &scheduler.TagResourceInput{ResourceArn: group.ScheduleGroupArn, Tags: []schedtypes.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}); err != nil {
		t.Errorf("TagResource %s: %v", aws.ToString(group.ScheduleGroupArn), err)
	}
	if g, err := sc.GetScheduleGroup(ctx, &scheduler.GetScheduleGroupInput{Name: groupName}); err != nil || aws.ToString(g.Arn) != aws.ToString(group.ScheduleGroupArn) {
		t.Errorf("GetScheduleGroup: %v, %v", g, err)
	}
	sched := uniqueName("gap-sched")
	target := &schedtypes.Target{Arn: aws.String("arn:aws:lambda:us-east-1:000000000000:function:f"), RoleArn: role.Role.Arn}
	created, err := sc.CreateSchedule(ctx, &scheduler.CreateScheduleInput{Name: aws.String(sched), ScheduleExpression: aws.String("rate(1 hour)"),
		FlexibleTimeWindow: &schedtypes.FlexibleTimeWindow{Mode: schedtypes.FlexibleTimeWindowModeOff}, Target: target})
	if err != nil {
		t.Fatal(err)
	}
	got, err := sc.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String(sched)})
	if err != nil {
		t.Fatal(err)
	}
	if arnAccount(aws.ToString(created.ScheduleArn)) != account || aws.ToString(got.Arn) != aws.ToString(created.ScheduleArn) ||
		aws.ToString(got.Target.RoleArn) != aws.ToString(role.Role.Arn) || aws.ToString(got.Target.Arn) != aws.ToString(target.Arn) {
		t.Errorf("schedule: created %s, got %s, target %+v", aws.ToString(created.ScheduleArn), aws.ToString(got.Arn), got.Target)
	}
	list, err := sc.ListSchedules(ctx, &scheduler.ListSchedulesInput{NamePrefix: aws.String(sched)})
	if err != nil || len(list.Schedules) != 1 || aws.ToString(list.Schedules[0].Arn) != aws.ToString(created.ScheduleArn) {
		t.Errorf("ListSchedules: %v, %v", list, err)
	}
	groups, err := sc.ListScheduleGroups(ctx, &scheduler.ListScheduleGroupsInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range groups.ScheduleGroups {
		if arnAccount(aws.ToString(g.Arn)) != account {
			t.Errorf("ListScheduleGroups: %s", aws.ToString(g.Arn))
		}
	}
}
