package aws_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	schedtypes "github.com/aws/aws-sdk-go-v2/service/scheduler/types"
	"github.com/google/go-cmp/cmp"

	"github.com/panka/panka/state"
)

func cronSpec(t *testing.T) map[string]any {
	return placed(ecsEnv(t), map[string]any{"image": "busybox:1.36", "command": []any{"sh", "-c", "tick"}, "schedule": "cron(0 3 * * ? *)",
		"timezone": "Europe/Paris", "suspend": true, "maxRetries": int64(4), "concurrencyPolicy": "Forbid", "cpu": int64(512), "memory": int64(1024),
		"architecture": "ARM64", "access": []any{map[string]any{"kind": "SNS", "arn": "arn:aws:sns:us-east-1:000000000000:events"}},
		"scaling": map[string]any{"min": int64(0), "max": int64(0), "desired": int64(0), "targetCPU": int64(0), "targetMemory": int64(0)}})
}

// TestCronJob: the schedule and its ECS target, the scheduler role and its exact policy, the
// task, read back; an update in place; Delete leaving nothing.
func TestCronJob(t *testing.T) {
	p, c := newProvider(t), sdkClients(t)
	sched := scheduler.NewFromConfig(sdkConfig(t))
	spec := cronSpec(t)
	r := component("CronJob", unique("nightly"), "", state.CloneMap(spec))
	obs, err := p.Create(t.Context(), r)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sched.GetSchedule(t.Context(), &scheduler.GetScheduleInput{Name: aws.String(r.Name)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(s.Arn) != obs.ID || aws.ToString(s.ScheduleExpression) != "cron(0 3 * * ? *)" || aws.ToString(s.ScheduleExpressionTimezone) != "Europe/Paris" ||
		s.State != schedtypes.ScheduleStateDisabled || s.FlexibleTimeWindow == nil || s.FlexibleTimeWindow.Mode != schedtypes.FlexibleTimeWindowModeOff {
		t.Errorf("schedule %+v", s)
	}
	env := ecsEnv(t)
	tg := s.Target
	if tg == nil || aws.ToString(tg.Arn) != env.Cluster || !strings.HasSuffix(aws.ToString(tg.RoleArn), ":role/"+r.Name+"-scheduler") ||
		tg.RetryPolicy == nil || aws.ToInt32(tg.RetryPolicy.MaximumRetryAttempts) != 4 {
		t.Fatalf("schedule target %+v", tg)
	}
	e := tg.EcsParameters
	if e == nil || aws.ToString(e.TaskDefinitionArn) != obs.Outputs["taskDefinitionArn"] || e.LaunchType != schedtypes.LaunchTypeFargate || aws.ToInt32(e.TaskCount) != 1 ||
		e.NetworkConfiguration == nil || !slices.Equal(e.NetworkConfiguration.AwsvpcConfiguration.Subnets, env.Subnets) ||
		!slices.Equal(e.NetworkConfiguration.AwsvpcConfiguration.SecurityGroups, env.SecurityGroups[:1]) ||
		e.NetworkConfiguration.AwsvpcConfiguration.AssignPublicIp != schedtypes.AssignPublicIpDisabled {
		t.Errorf("ECS parameters %+v", e)
	}
	td := c.taskDef(t, obs.Outputs["taskDefinitionArn"])
	if aws.ToString(td.Family) != r.Name || aws.ToString(td.Cpu) != "512" || string(td.RuntimePlatform.CpuArchitecture) != "ARM64" ||
		aws.ToString(td.ContainerDefinitions[0].Image) != "busybox:1.36" {
		t.Errorf("task definition %+v", td)
	}
	role, err := c.iam.GetRole(t.Context(), &iam.GetRoleInput{RoleName: aws.String(r.Name + "-scheduler")})
	if err != nil {
		t.Fatal(err)
	}
	if !sameJSON(t, aws.ToString(role.Role.AssumeRolePolicyDocument), `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"scheduler.amazonaws.com"},"Action":"sts:AssumeRole"}]}`) {
		t.Errorf("scheduler role trusts %s", aws.ToString(role.Role.AssumeRolePolicyDocument))
	}
	want := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ecs:RunTask"],"Resource":["arn:aws:ecs:us-east-1:000000000000:task-definition/%s:*"]},
		{"Effect":"Allow","Action":["iam:PassRole"],"Resource":["arn:aws:iam::000000000000:role/%s-exec","arn:aws:iam::000000000000:role/%s-task"]}]}`, r.Name, r.Name, r.Name)
	if got := inlinePolicy(t, c.iam, r.Name+"-scheduler"); !sameJSON(t, got, want) {
		t.Errorf("scheduler role policy\n got %s\nwant %s", got, want)
	}
	if got := inlinePolicy(t, c.iam, r.Name+"-task"); !sameJSON(t, got, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sns:Publish"],"Resource":["arn:aws:sns:us-east-1:000000000000:events"]}]}`) {
		t.Errorf("task role policy %s", got)
	}
	if diff := cmp.Diff(spec, obs.Spec, unsetIsAbsent); diff != "" {
		t.Errorf("Create returned spec (-written +read):\n%s", diff)
	}
	if obs.Tags["panka:address"] != r.Address {
		t.Errorf("tags %v", obs.Tags)
	}

	// Update in place: resumed, another image (a new revision, the old one deleted).
	old := obs.Outputs["taskDefinitionArn"]
	r.Spec["suspend"], r.Spec["image"] = false, "busybox:1.37"
	up, err := p.Update(t.Context(), obs.ID, r, []string{"image", "suspend"})
	if err != nil {
		t.Fatal(err)
	}
	s, err = sched.GetSchedule(t.Context(), &scheduler.GetScheduleInput{Name: aws.String(r.Name)})
	if err != nil {
		t.Fatal(err)
	}
	if s.State != schedtypes.ScheduleStateEnabled || aws.ToString(s.Target.EcsParameters.TaskDefinitionArn) == old ||
		aws.ToString(s.Target.EcsParameters.TaskDefinitionArn) != up.Outputs["taskDefinitionArn"] || up.ID != obs.ID {
		t.Errorf("after Update: state %s, task definition %s (old %s)", s.State, aws.ToString(s.Target.EcsParameters.TaskDefinitionArn), old)
	}
	if revs := activeRevisions(t, c.ecs, r.Name); len(revs) != 1 {
		t.Errorf("active revisions %v", revs)
	}
	if diff := cmp.Diff(r.Spec, up.Spec, unsetIsAbsent); diff != "" {
		t.Errorf("Update returned spec (-written +read):\n%s", diff)
	}
	// Tags live on the task definition.
	r.Tags["team"] = "ops"
	if up, err = p.Update(t.Context(), obs.ID, r, nil); err != nil || up.Tags["team"] != "ops" {
		t.Errorf("tag update: %v %v", err, up)
	}
	if err := p.Delete(t.Context(), obs.ID, r); err != nil {
		t.Fatal(err)
	}
	if _, err := sched.GetSchedule(t.Context(), &scheduler.GetScheduleInput{Name: aws.String(r.Name)}); err == nil {
		t.Error("schedule left")
	}
	leavesNothing(t, c, r.Name)
}

// TestCronJobDeleteParts: DeleteParts after a Create killed before the schedule leaves nothing.
func TestCronJobDeleteParts(t *testing.T) {
	p, c := newProvider(t), sdkClients(t)
	r := component("CronJob", unique("killedjob"), "", cronSpec(t))
	makeLeftovers(t, c, r)
	if _, err := c.iam.CreateRole(t.Context(), &iam.CreateRoleInput{RoleName: aws.String(r.Name + "-scheduler"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[]}`)}); err != nil {
		t.Fatal(err)
	}
	if err := p.DeleteParts(t.Context(), r, nil); err != nil {
		t.Fatal(err)
	}
	leavesNothing(t, c, r.Name)
}

// TestCronJobCrashedCreate: Create after a Create killed before the schedule adopts the roles
// and log group and leaves one revision.
func TestCronJobCrashedCreate(t *testing.T) {
	p, c := newProvider(t), sdkClients(t)
	r := component("CronJob", unique("rerun"), "", cronSpec(t))
	makeLeftovers(t, c, r)
	obs := deploy(t, p, r)
	if revs := activeRevisions(t, c.ecs, r.Name); len(revs) != 1 || revs[0] != obs.Outputs["taskDefinitionArn"] {
		t.Errorf("active revisions %v, want only %s", revs, obs.Outputs["taskDefinitionArn"])
	}
	roles := 0
	for _, part := range obs.Parts {
		if part.Type == "AWS::IAM::Role" {
			roles++
		}
	}
	if roles != 3 {
		t.Errorf("parts %v: %d roles, want exec, task and scheduler", obs.Parts, roles)
	}
}
