package aws

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	schedtypes "github.com/aws/aws-sdk-go-v2/service/scheduler/types"

	"github.com/panka/panka/provider"
)

// CronJob: an ECS Fargate task an EventBridge Scheduler schedule runs. The physical ID is the
// schedule's ARN; the schedule is named r.Name, in the default group, with the expression
// schedule in timezone, state DISABLED when suspend, a retry policy of maxRetries attempts and
// no flexible time window. It targets the spec's cluster with EcsParameters: the task
// definition's current revision, launch type FARGATE, one task, the spec's network (awsvpc,
// assignPublicIp DISABLED). The task (family r.Name, its roles, log group) is described at
// "Tasks" in ecs.go; besides it, a scheduler role (AWS::IAM::Role) <name>-scheduler trusts
// scheduler.amazonaws.com and may ecs:RunTask the family's revisions and iam:PassRole the
// task's two roles.
//
// EventBridge Scheduler tags schedule groups only: a CronJob's tags are its task definition's
// (every revision is registered with them, Update tags the current one) and its roles' (as
// created). concurrencyPolicy is recorded in the schedule's Description and read back from
// there, but Scheduler has no notion of a run still going: it starts a task at every tick
// whatever the policy, so Forbid is not enforced: runs can overlap when a task outlasts the
// interval. A job that must not overlap has to guard itself (a lock of its own) or be
// scheduled further apart than it runs.
//
// Create makes the task's roles and log group, the task definition, the scheduler role, then
// the schedule; if the schedule cannot be made it deletes the others again (DeleteParts
// deletes what a killed Create left, by their derived names). Delete deletes the schedule
// first, then the task definitions, the log group and the roles: once the schedule is gone
// Find no longer finds the component, and DeleteParts removes what a killed Delete left.

const cronMarker = "panka: concurrencyPolicy="

type cronKind struct {
	tasks
	sched *scheduler.Client
}

func newCronJob(p *Provider) kind {
	return &cronKind{tasks: newTasks(p), sched: scheduler.NewFromConfig(p.cfg)}
}

func scheduleNameOf(arn string) string { return arn[strings.LastIndex(arn, "/")+1:] }

func (k *cronKind) lookup(ctx context.Context, name string) (string, error) {
	out, err := k.sched.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String(name)})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.Arn), nil
}

// runPolicy is the scheduler role's inline policy: running the family's revisions in cluster
// and passing the task's roles.
func (k *cronKind) runPolicy(ctx context.Context, name string) (string, error) {
	account, err := k.p.accountID(ctx)
	if err != nil {
		return "", err
	}
	family := fmt.Sprintf("arn:%s:ecs:%s:%s:task-definition/%s", k.p.partition(), k.p.cfg.Region, account, name)
	role := func(n string) string { return fmt.Sprintf("arn:%s:iam::%s:role/%s", k.p.partition(), account, n) }
	return identityPolicy([]policyStatement{
		{"Allow", []string{"ecs:RunTask"}, []string{family + ":*"}},
		{"Allow", []string{"iam:PassRole"}, []string{role(taskExecRoleName(name)), role(taskRoleName(name))}},
	}), nil
}

// scheduleInput is what the schedule must be.
type scheduleInput struct {
	expr, tz, desc string
	state          schedtypes.ScheduleState
	target         *schedtypes.Target
}

func (k *cronKind) scheduleWant(r provider.Resource, td, roleARN string) scheduleInput {
	s := r.Spec
	state := schedtypes.ScheduleStateEnabled
	if specBool(s, "suspend") {
		state = schedtypes.ScheduleStateDisabled
	}
	vpc := awsvpc(s)
	return scheduleInput{
		expr: specString(s, "schedule"), tz: cmp.Or(specString(s, "timezone"), "UTC"), state: state,
		desc: cronMarker + cmp.Or(specString(s, "concurrencyPolicy"), "Allow"),
		target: &schedtypes.Target{Arn: aws.String(specString(s, "cluster")), RoleArn: aws.String(roleARN),
			RetryPolicy: &schedtypes.RetryPolicy{MaximumRetryAttempts: aws.Int32(int32(specInt(s, "maxRetries", 0)))},
			EcsParameters: &schedtypes.EcsParameters{TaskDefinitionArn: aws.String(td), LaunchType: schedtypes.LaunchTypeFargate, TaskCount: aws.Int32(1),
				NetworkConfiguration: &schedtypes.NetworkConfiguration{AwsvpcConfiguration: &schedtypes.AwsVpcConfiguration{
					Subnets: vpc.Subnets, SecurityGroups: vpc.SecurityGroups, AssignPublicIp: schedtypes.AssignPublicIpDisabled}}}},
	}
}

func (k *cronKind) create(ctx context.Context, r provider.Resource) (string, error) {
	if specString(r.Spec, "cluster") == "" {
		return "", fmt.Errorf("spec has no cluster (the engine injects it)")
	}
	w, err := k.want(ctx, r)
	if err != nil {
		return "", err
	}
	policy, err := k.runPolicy(ctx, r.Name)
	if err != nil {
		return "", err
	}
	var arn string
	err = func() error {
		if err := k.ensureParts(ctx, r.Name, w); err != nil {
			return err
		}
		td, err := retryRoleValue(ctx, func(ctx context.Context) (string, error) { return k.register(ctx, w) })
		if err != nil {
			return err
		}
		roleARN, err := k.ensureRole(ctx, schedulerRoleName(r.Name), "scheduler.amazonaws.com", r.Tags, policy)
		if err != nil {
			return err
		}
		in := k.scheduleWant(r, td, roleARN)
		out, err := retryRoleValue(ctx, func(ctx context.Context) (*scheduler.CreateScheduleOutput, error) {
			return k.sched.CreateSchedule(ctx, &scheduler.CreateScheduleInput{Name: aws.String(r.Name), ScheduleExpression: aws.String(in.expr),
				ScheduleExpressionTimezone: aws.String(in.tz), State: in.state, Description: aws.String(in.desc), Target: in.target,
				FlexibleTimeWindow: &schedtypes.FlexibleTimeWindow{Mode: schedtypes.FlexibleTimeWindowModeOff}})
		})
		if err != nil {
			return fmt.Errorf("create schedule: %w", err)
		}
		arn = aws.ToString(out.ScheduleArn)
		// Revisions a killed Create registered before are no one's.
		return k.deleteRevisions(ctx, r.Name, td)
	}()
	if err != nil {
		// No schedule: nothing would lead the engine to the parts made so far.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = k.deleteLeftovers(ctx, r)
		return "", err
	}
	return arn, nil
}

// cronLive is a schedule and its parts as read.
type cronLive struct {
	s         *scheduler.GetScheduleOutput
	task      *taskLive
	schedRole *iamDesc
}

func (k *cronKind) read(ctx context.Context, id string) (*live, error) {
	name := scheduleNameOf(id)
	s, err := k.sched.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String(name)})
	if err != nil {
		return nil, err
	}
	l := &cronLive{s: s}
	td := ""
	if s.Target != nil && s.Target.EcsParameters != nil {
		td = aws.ToString(s.Target.EcsParameters.TaskDefinitionArn)
	}
	if l.task, err = k.readParts(ctx, name, td); err != nil {
		return nil, err
	}
	role, err := k.role(ctx, schedulerRoleName(name))
	if err != nil {
		return nil, err
	}
	if role != nil {
		l.schedRole = &iamDesc{aws.ToString(role.RoleName), aws.ToString(role.Arn)}
	}
	spec := map[string]any{"schedule": aws.ToString(s.ScheduleExpression), "timezone": cmp.Or(aws.ToString(s.ScheduleExpressionTimezone), "UTC"),
		"suspend": s.State == schedtypes.ScheduleStateDisabled, "maxRetries": int64(185),
		"scaling": map[string]any{"min": int64(0), "max": int64(0), "desired": int64(0), "targetCPU": int64(0), "targetMemory": int64(0)}}
	if p, ok := strings.CutPrefix(aws.ToString(s.Description), cronMarker); ok {
		spec["concurrencyPolicy"] = p
	}
	l.task.spec(spec)
	if t := s.Target; t != nil {
		spec["cluster"] = aws.ToString(t.Arn)
		if t.RetryPolicy != nil {
			spec["maxRetries"] = int64(aws.ToInt32(t.RetryPolicy.MaximumRetryAttempts))
		}
		if e := t.EcsParameters; e != nil && e.NetworkConfiguration != nil && e.NetworkConfiguration.AwsvpcConfiguration != nil {
			n, err := k.network(ctx, e.NetworkConfiguration.AwsvpcConfiguration.Subnets, e.NetworkConfiguration.AwsvpcConfiguration.SecurityGroups)
			if err != nil {
				return nil, err
			}
			spec["network"] = n
		}
	}
	tags := map[string]string{}
	if l.task.def != nil {
		out, err := k.ecs.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: aws.String(td)})
		if err != nil {
			return nil, fmt.Errorf("tags of %s: %w", td, err)
		}
		tags = fromECSTags(out.Tags)
	}
	parts := l.task.parts(name)
	if l.schedRole != nil {
		parts = append(parts, provider.Part{Type: "AWS::IAM::Role", ID: l.schedRole.name, ARN: l.schedRole.arn})
	}
	arn := aws.ToString(s.Arn)
	return &live{obs: &provider.Observed{ID: arn, Name: name, ARN: arn, Spec: spec, Tags: tags, Parts: parts,
		Outputs: map[string]string{"scheduleArn": arn, "taskDefinitionArn": td, "arn": arn}}, raw: l}, nil
}

func (k *cronKind) update(ctx context.Context, l *live, r provider.Resource) error {
	have := l.raw.(*cronLive)
	name := aws.ToString(have.s.Name)
	w, td, err := k.updateTask(ctx, name, r, have.task.def, l.obs.Tags)
	if err != nil {
		return err
	}
	tags := w.tags
	policy, err := k.runPolicy(ctx, name)
	if err != nil {
		return err
	}
	roleARN, err := k.ensureRole(ctx, schedulerRoleName(name), "scheduler.amazonaws.com", tags, policy)
	if err != nil {
		return err
	}
	in := k.scheduleWant(r, td, roleARN)
	s := have.s
	if aws.ToString(s.ScheduleExpression) != in.expr || cmp.Or(aws.ToString(s.ScheduleExpressionTimezone), "UTC") != in.tz || s.State != in.state ||
		aws.ToString(s.Description) != in.desc || !sameScheduleTarget(s.Target, in.target) ||
		s.FlexibleTimeWindow == nil || s.FlexibleTimeWindow.Mode != schedtypes.FlexibleTimeWindowModeOff {
		err := retryRole(ctx, func(ctx context.Context) error {
			_, err := k.sched.UpdateSchedule(ctx, &scheduler.UpdateScheduleInput{Name: aws.String(name), ScheduleExpression: aws.String(in.expr),
				ScheduleExpressionTimezone: aws.String(in.tz), State: in.state, Description: aws.String(in.desc), Target: in.target,
				FlexibleTimeWindow: &schedtypes.FlexibleTimeWindow{Mode: schedtypes.FlexibleTimeWindowModeOff}})
			return err
		})
		if err != nil {
			return fmt.Errorf("update schedule: %w", err)
		}
	}
	return k.deleteRevisions(ctx, name, td)
}

func sameScheduleTarget(a, b *schedtypes.Target) bool {
	if a == nil || b == nil {
		return a == b
	}
	ja, _ := json.Marshal(struct {
		Arn, Role string
		Retry     *schedtypes.RetryPolicy
		Ecs       *schedtypes.EcsParameters
	}{aws.ToString(a.Arn), aws.ToString(a.RoleArn), a.RetryPolicy, a.EcsParameters})
	jb, _ := json.Marshal(struct {
		Arn, Role string
		Retry     *schedtypes.RetryPolicy
		Ecs       *schedtypes.EcsParameters
	}{aws.ToString(b.Arn), aws.ToString(b.RoleArn), b.RetryPolicy, b.EcsParameters})
	return string(ja) == string(jb)
}

// tag tags the current task definition revision (a schedule takes no tags).
func (k *cronKind) tag(ctx context.Context, l *live, set map[string]string, remove []string) error {
	fresh, err := k.read(ctx, l.obs.ID)
	if err != nil {
		return err
	}
	td := fresh.obs.Outputs["taskDefinitionArn"]
	if td == "" {
		return fmt.Errorf("the schedule runs no task definition to tag")
	}
	return ecsTag(ctx, k.ecs, td, set, remove)
}

// delete deletes the schedule, then what it ran (deleteLeftovers).
func (k *cronKind) delete(ctx context.Context, l *live) error {
	name := scheduleNameOf(l.obs.ID)
	if _, err := k.sched.DeleteSchedule(ctx, &scheduler.DeleteScheduleInput{Name: aws.String(name)}); err != nil && !isNotFound(err) {
		return fmt.Errorf("delete schedule: %w", err)
	}
	return k.deleteLeftovers(ctx, provider.Resource{Name: name})
}

// deleteLeftovers deletes the parts of r (task definitions, log group, roles) unless its
// schedule exists (they stay with it) or their ownership tags name another owner than r.Tags.
func (k *cronKind) deleteLeftovers(ctx context.Context, r provider.Resource) error {
	_, err := k.sched.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String(r.Name)})
	if err == nil {
		return nil
	}
	if !isNotFound(err) {
		return fmt.Errorf("schedule %s: %w", r.Name, err)
	}
	if err := k.deleteOwnedRole(ctx, schedulerRoleName(r.Name), r.Tags); err != nil {
		return err
	}
	return k.deleteOwnedParts(ctx, r)
}

func (k *cronKind) deletePart(ctx context.Context, p provider.Part) (bool, error) {
	return k.deleteTaskPart(ctx, p)
}
