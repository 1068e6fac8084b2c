package aws_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	aastypes "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/google/go-cmp/cmp"

	"github.com/panka/panka/provider"
	"github.com/panka/panka/state"
)

// clients are the SDK clients the container tests look through, independently of the provider.
type clients struct {
	ecs  *ecs.Client
	iam  *iam.Client
	logs *cloudwatchlogs.Client
	elb  *elb.Client
	aas  *applicationautoscaling.Client
	sm   *secretsmanager.Client
	ssm  *ssm.Client
}

func sdkClients(t *testing.T) *clients {
	cfg := sdkConfig(t)
	return &clients{ecs: ecs.NewFromConfig(cfg), iam: iam.NewFromConfig(cfg), logs: cloudwatchlogs.NewFromConfig(cfg), elb: elb.NewFromConfig(cfg),
		aas: applicationautoscaling.NewFromConfig(cfg), sm: secretsmanager.NewFromConfig(cfg), ssm: ssm.NewFromConfig(cfg)}
}

// workerSpec is a complete Worker spec (schema.ToMap with defaults) in env.
func workerSpec(t *testing.T, image string) map[string]any {
	return placed(ecsEnv(t), map[string]any{"image": image, "command": []any{"sh", "-c", "work"}, "cpu": int64(256), "memory": int64(512),
		"architecture": "X86_64", "scaling": map[string]any{"min": int64(1), "max": int64(1), "desired": int64(1), "targetCPU": int64(0), "targetMemory": int64(0)}})
}

// service returns the service id through the SDK.
func (c *clients) service(t *testing.T, id string) ecstypes.Service {
	t.Helper()
	parts := strings.Split(id, "/")
	out, err := c.ecs.DescribeServices(t.Context(), &ecs.DescribeServicesInput{Cluster: aws.String(parts[len(parts)-2]), Services: []string{parts[len(parts)-1]},
		Include: []ecstypes.ServiceField{ecstypes.ServiceFieldTags}})
	if err != nil || len(out.Services) != 1 {
		t.Fatalf("DescribeServices %s: %v %v", id, err, out)
	}
	return out.Services[0]
}

func (c *clients) taskDef(t *testing.T, arn string) *ecstypes.TaskDefinition {
	t.Helper()
	out, err := c.ecs.DescribeTaskDefinition(t.Context(), &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(arn)})
	if err != nil {
		t.Fatalf("DescribeTaskDefinition %s: %v", arn, err)
	}
	return out.TaskDefinition
}

// TestServiceFields creates a Worker with every task field and checks, through the SDK, the
// service, its task definition, its roles with their exact policies and its log group; then
// Read's spec.
func TestServiceFields(t *testing.T) {
	p, c := newProvider(t), sdkClients(t)
	ctx := t.Context()
	secretName := unique("db-")
	sec, err := c.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(secretName), SecretString: aws.String(`{"password":"x"}`)})
	if err != nil {
		t.Fatal(err)
	}
	param := "/" + unique("app/token-")
	if _, err := c.ssm.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(param), Value: aws.String("t"), Type: ssmtypes.ParameterTypeSecureString}); err != nil {
		t.Fatal(err)
	}
	pout, err := c.ssm.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(param)})
	if err != nil {
		t.Fatal(err)
	}
	paramARN := aws.ToString(pout.Parameter.ARN)
	spec := workerSpec(t, "busybox:1.36")
	spec["entrypoint"] = []any{"/bin/entry"}
	spec["env"] = map[string]any{"ZED": "z", "ALPHA": "a"}
	spec["secrets"] = map[string]any{"DB_PASSWORD": "secretsmanager:" + secretName + "#password", "TOKEN": "ssm:" + param}
	spec["healthCheck"] = map[string]any{"command": []any{"CMD", "true"}, "interval": int64(10), "timeout": int64(3), "retries": int64(2), "startPeriod": int64(5)}
	spec["volumes"] = []any{map[string]any{"name": "scratch", "mountPath": "/scratch", "ephemeral": true, "readOnly": false}}
	queue, bucket, table := "arn:aws:sqs:us-east-1:000000000000:jobs", "arn:aws:s3:::uploads", "arn:aws:dynamodb:us-east-1:000000000000:table/orders"
	spec["access"] = []any{map[string]any{"kind": "DynamoDB", "arn": table}, map[string]any{"kind": "S3", "arn": bucket}, map[string]any{"kind": "SQS", "arn": queue}}
	comp := unique("worker")
	r := component("Worker", comp, "", state.CloneMap(spec))
	obs := deploy(t, p, r)

	s := c.service(t, obs.ID)
	if s.LaunchType != ecstypes.LaunchTypeFargate || s.DesiredCount != 1 || s.PropagateTags != ecstypes.PropagateTagsService || s.EnableExecuteCommand {
		t.Errorf("service: launch type %s, desired %d, propagateTags %s, exec %v", s.LaunchType, s.DesiredCount, s.PropagateTags, s.EnableExecuteCommand)
	}
	if cb := s.DeploymentConfiguration; cb == nil || cb.DeploymentCircuitBreaker == nil || cb.DeploymentCircuitBreaker.Enable {
		t.Errorf("circuit breaker: %+v", cb)
	}
	vpc := s.NetworkConfiguration.AwsvpcConfiguration
	env := ecsEnv(t)
	if !slices.Equal(vpc.Subnets, env.Subnets) || !slices.Equal(vpc.SecurityGroups, env.SecurityGroups[:1]) || vpc.AssignPublicIp != ecstypes.AssignPublicIpDisabled {
		t.Errorf("network: %+v", vpc)
	}
	td := c.taskDef(t, aws.ToString(s.TaskDefinition))
	if aws.ToString(td.Family) != r.Name || aws.ToString(td.Cpu) != "256" || aws.ToString(td.Memory) != "512" || td.NetworkMode != ecstypes.NetworkModeAwsvpc ||
		td.RuntimePlatform == nil || td.RuntimePlatform.CpuArchitecture != ecstypes.CPUArchitectureX8664 || !slices.Contains(td.RequiresCompatibilities, ecstypes.CompatibilityFargate) {
		t.Errorf("task definition: %+v", td)
	}
	if !strings.HasSuffix(aws.ToString(td.ExecutionRoleArn), ":role/"+r.Name+"-exec") || !strings.HasSuffix(aws.ToString(td.TaskRoleArn), ":role/"+r.Name+"-task") {
		t.Errorf("roles %s %s", aws.ToString(td.ExecutionRoleArn), aws.ToString(td.TaskRoleArn))
	}
	ct := td.ContainerDefinitions[0]
	if aws.ToString(ct.Name) != comp || aws.ToString(ct.Image) != "busybox:1.36" || !slices.Equal(ct.Command, []string{"sh", "-c", "work"}) || !slices.Equal(ct.EntryPoint, []string{"/bin/entry"}) {
		t.Errorf("container: %s %s %v %v", aws.ToString(ct.Name), aws.ToString(ct.Image), ct.Command, ct.EntryPoint)
	}
	var env2 []string
	for _, e := range ct.Environment {
		env2 = append(env2, aws.ToString(e.Name)+"="+aws.ToString(e.Value))
	}
	if !slices.Equal(env2, []string{"ALPHA=a", "ZED=z"}) {
		t.Errorf("environment %v, want sorted ALPHA, ZED", env2)
	}
	var secrets []string
	for _, e := range ct.Secrets {
		secrets = append(secrets, aws.ToString(e.Name)+"="+aws.ToString(e.ValueFrom))
	}
	if want := []string{"DB_PASSWORD=" + aws.ToString(sec.ARN) + ":password::", "TOKEN=" + paramARN}; !slices.Equal(secrets, want) {
		t.Errorf("secrets %v, want %v", secrets, want)
	}
	if h := ct.HealthCheck; h == nil || !slices.Equal(h.Command, []string{"CMD", "true"}) || aws.ToInt32(h.Interval) != 10 || aws.ToInt32(h.Timeout) != 3 ||
		aws.ToInt32(h.Retries) != 2 || aws.ToInt32(h.StartPeriod) != 5 {
		t.Errorf("health check %+v", h)
	}
	if len(td.Volumes) != 1 || aws.ToString(td.Volumes[0].Name) != "scratch" || len(ct.MountPoints) != 1 || aws.ToString(ct.MountPoints[0].ContainerPath) != "/scratch" {
		t.Errorf("volumes %+v mounts %+v", td.Volumes, ct.MountPoints)
	}
	if lc := ct.LogConfiguration; lc == nil || lc.LogDriver != ecstypes.LogDriverAwslogs || lc.Options["awslogs-group"] != "/ecs/"+r.Name || lc.Options["awslogs-region"] != region {
		t.Errorf("log configuration %+v", lc)
	}
	// Roles: trust, the managed policy, the exact inline policies.
	for _, role := range []string{r.Name + "-exec", r.Name + "-task"} {
		out, err := c.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(role)})
		if err != nil {
			t.Fatalf("role %s: %v", role, err)
		}
		if !sameJSON(t, aws.ToString(out.Role.AssumeRolePolicyDocument), `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`) {
			t.Errorf("role %s trusts %s", role, aws.ToString(out.Role.AssumeRolePolicyDocument))
		}
		if !slices.ContainsFunc(out.Role.Tags, func(tg iamtypes.Tag) bool {
			return aws.ToString(tg.Key) == "panka:address" && aws.ToString(tg.Value) == r.Address
		}) {
			t.Errorf("role %s tags %v", role, out.Role.Tags)
		}
	}
	att, err := c.iam.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(r.Name + "-exec")})
	if err != nil || len(att.AttachedPolicies) != 1 || aws.ToString(att.AttachedPolicies[0].PolicyArn) != "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy" {
		t.Errorf("exec role's managed policies: %v %+v", err, att)
	}
	wantExec := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["secretsmanager:GetSecretValue"],"Resource":[%q]},{"Effect":"Allow","Action":["ssm:GetParameters"],"Resource":[%q]}]}`,
		aws.ToString(sec.ARN), paramARN)
	if got := inlinePolicy(t, c.iam, r.Name+"-exec"); !sameJSON(t, got, wantExec) {
		t.Errorf("exec role policy\n got %s\nwant %s", got, wantExec)
	}
	wantTask := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":["dynamodb:GetItem","dynamodb:PutItem","dynamodb:UpdateItem","dynamodb:DeleteItem","dynamodb:BatchGetItem","dynamodb:BatchWriteItem","dynamodb:ConditionCheckItem","dynamodb:Query","dynamodb:Scan"],"Resource":[%q,%q]},
		{"Effect":"Allow","Action":["s3:ListBucket"],"Resource":[%q]},
		{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject","s3:DeleteObject"],"Resource":[%q]},
		{"Effect":"Allow","Action":["sqs:SendMessage","sqs:ReceiveMessage","sqs:DeleteMessage","sqs:ChangeMessageVisibility","sqs:GetQueueAttributes","sqs:GetQueueUrl"],"Resource":[%q]}]}`,
		table, table+"/index/*", bucket, bucket+"/*", queue)
	if got := inlinePolicy(t, c.iam, r.Name+"-task"); !sameJSON(t, got, wantTask) {
		t.Errorf("task role policy\n got %s\nwant %s", got, wantTask)
	}
	if !logGroupExists(t, c.logs, "/ecs/"+r.Name) {
		t.Errorf("no log group /ecs/%s", r.Name)
	}
	// Read gives the spec back, but the secrets (the engine keeps the references).
	want := state.CloneMap(spec)
	delete(want, "secrets")
	if diff := cmp.Diff(want, obs.Spec, unsetIsAbsent); diff != "" {
		t.Errorf("Create returned spec (-written +read):\n%s", diff)
	}
	var types []string
	for _, part := range obs.Parts {
		types = append(types, part.Type+" "+part.ID)
	}
	for _, w := range []string{"AWS::IAM::Role " + r.Name + "-exec", "AWS::IAM::Role " + r.Name + "-task", "AWS::Logs::LogGroup /ecs/" + r.Name} {
		if !slices.Contains(types, w) {
			t.Errorf("parts %v lack %s", types, w)
		}
	}
	for _, o := range []string{"serviceName", "serviceArn", "securityGroupId", "taskDefinitionArn", "arn"} {
		if obs.Outputs[o] == "" {
			t.Errorf("output %s empty: %v", o, obs.Outputs)
		}
	}
	if obs.Outputs["securityGroupId"] != env.SecurityGroups[0] {
		t.Errorf("securityGroupId %s", obs.Outputs["securityGroupId"])
	}

	// No access, no inline policy on the task role; the role stays.
	r.Spec = state.CloneMap(spec)
	delete(r.Spec, "access")
	if _, err := p.Update(ctx, obs.ID, r, []string{"access"}); err != nil {
		t.Fatal(err)
	}
	if got := inlinePolicy(t, c.iam, r.Name+"-task"); got != "" || !roleExists(t, c.iam, r.Name+"-task") {
		t.Errorf("task role without access: policy %q", got)
	}
	// An existing EBS volume cannot be mounted into a Fargate task: a clear, permanent error,
	// before anything is made.
	bad := component("Worker", unique("ebs"), "", workerSpec(t, "busybox"))
	bad.Spec["volumes"] = []any{map[string]any{"name": "data", "mountPath": "/data", "ebs": "index", "volumeId": "vol-0123456789abcdef0", "ephemeral": false, "readOnly": false}}
	if _, err := p.Create(ctx, bad); err == nil || !strings.Contains(err.Error(), "cannot be mounted into a Fargate task") || errors.Is(err, provider.ErrTransient) {
		t.Errorf("Create with an EBS volume: %v", err)
	}
	if roleExists(t, c.iam, bad.Name+"-task") {
		t.Errorf("Create with an EBS volume made the task role")
	}
}

// TestServiceImageUpdate: an image change registers a new revision, updates the same service to
// it, reports progress, and deletes the old revision.
func TestServiceImageUpdate(t *testing.T) {
	p, c := newProvider(t), sdkClients(t)
	r := component("Worker", unique("img"), "", workerSpec(t, "busybox:1.36"))
	var mu sync.Mutex
	var progress []string
	ctx := provider.WithProgress(t.Context(), func(msg string) { mu.Lock(); progress = append(progress, msg); mu.Unlock() })
	obs, err := p.Create(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Delete(context.Background(), obs.ID, r) })
	mu.Lock()
	if !slices.Contains(progress, "1 of 1 tasks running") || !slices.Contains(progress, "0 of 1 tasks running") {
		t.Errorf("progress %q, want 0 of 1 and 1 of 1 tasks running", progress)
	}
	mu.Unlock()
	old := obs.Outputs["taskDefinitionArn"]
	r.Spec["image"] = "busybox:1.37"
	up, err := p.Update(ctx, obs.ID, r, []string{"image"})
	if err != nil {
		t.Fatal(err)
	}
	if up.ID != obs.ID {
		t.Errorf("service ARN %s, was %s", up.ID, obs.ID)
	}
	s := c.service(t, obs.ID)
	if aws.ToString(s.TaskDefinition) == old || aws.ToString(s.TaskDefinition) != up.Outputs["taskDefinitionArn"] {
		t.Errorf("service runs %s (old %s, reported %s)", aws.ToString(s.TaskDefinition), old, up.Outputs["taskDefinitionArn"])
	}
	if img := aws.ToString(c.taskDef(t, aws.ToString(s.TaskDefinition)).ContainerDefinitions[0].Image); img != "busybox:1.37" {
		t.Errorf("image %s", img)
	}
	if revs := activeRevisions(t, c.ecs, r.Name); !slices.Equal(revs, []string{aws.ToString(s.TaskDefinition)}) {
		t.Errorf("active revisions %v", revs)
	}
	if out, err := c.ecs.DescribeTaskDefinition(t.Context(), &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(old)}); err == nil && out.TaskDefinition.Status == ecstypes.TaskDefinitionStatusActive {
		t.Errorf("old revision %s still ACTIVE", old)
	}
	if len(s.Deployments) != 1 || s.RunningCount != 1 {
		t.Errorf("after Update: %d deployments, %d running", len(s.Deployments), s.RunningCount)
	}
	// architecture is ForceNew: Update refuses it and changes nothing.
	arm := state.CloneMap(r.Spec)
	arm["architecture"] = "ARM64"
	before := c.service(t, obs.ID)
	if _, err := p.Update(ctx, obs.ID, provider.Resource{Address: r.Address, Kind: r.Kind, Name: r.Name, Spec: arm, Tags: r.Tags}, []string{"architecture"}); err == nil {
		t.Error("Update of architecture succeeded")
	}
	if after := c.service(t, obs.ID); aws.ToString(after.TaskDefinition) != aws.ToString(before.TaskDefinition) {
		t.Errorf("a refused Update changed the task definition to %s", aws.ToString(after.TaskDefinition))
	}
	if ks, _ := p.Schema("Worker"); !slices.Contains(ks.ForceNew, "architecture") {
		t.Errorf("Schema(Worker).ForceNew = %v", ks.ForceNew)
	}
	// Desired count and env: an UpdateService, not a new service.
	r.Spec["scaling"] = map[string]any{"min": int64(2), "max": int64(2), "desired": int64(2), "targetCPU": int64(0), "targetMemory": int64(0)}
	if _, err := p.Update(ctx, obs.ID, r, []string{"scaling"}); err != nil {
		t.Fatal(err)
	}
	if s := c.service(t, obs.ID); s.DesiredCount != 2 || s.RunningCount != 2 || aws.ToString(s.ServiceArn) != obs.ID {
		t.Errorf("after scaling: desired %d running %d", s.DesiredCount, s.RunningCount)
	}
}

// TestServiceBrokenImage: a task that stops fails Create with its reasons, as a permanent error;
// the service is there to find, to fix by Update, and to delete.
func TestServiceBrokenImage(t *testing.T) {
	p := newProvider(t)
	r := component("Worker", unique("broken"), "", workerSpec(t, "busybox:broken"))
	_, err := p.Create(t.Context(), r)
	if err == nil {
		t.Fatal("Create of a broken image succeeded")
	}
	if !strings.Contains(err.Error(), "task stopped: Essential container in task exited") || !strings.Contains(err.Error(), "marked broken") {
		t.Errorf("error %v does not give the stopped task's reasons", err)
	}
	if errors.Is(err, provider.ErrTransient) || errors.Is(err, provider.ErrThrottled) {
		t.Errorf("error %v is retryable", err)
	}
	found, err := p.Find(t.Context(), r)
	if err != nil {
		t.Fatalf("Find after the failed Create: %v", err)
	}
	t.Cleanup(func() { _ = p.Delete(context.Background(), found.ID, r) })
	r.Spec["image"] = "busybox:1.36"
	if _, err := p.Update(t.Context(), found.ID, r, []string{"image"}); err != nil {
		t.Fatalf("Update to a good image: %v", err)
	}
	r.Spec["image"] = "busybox:broken-again"
	if _, err := p.Update(t.Context(), found.ID, r, []string{"image"}); err == nil || !strings.Contains(err.Error(), "task stopped") {
		t.Errorf("Update to a broken image: %v", err)
	}
}

// lbEnv makes a load balancer of type ("application" or "network") in the default VPC, with the
// listeners the ALB engineer would make (ALB: port 80 with the placeholder, port 8080 too).
func lbEnv(t *testing.T, c *clients, typ elbtypes.LoadBalancerTypeEnum) (arn, dns string) {
	t.Helper()
	env := ecsEnv(t)
	out, err := c.elb.CreateLoadBalancer(t.Context(), &elb.CreateLoadBalancerInput{Name: aws.String(unique("lb-")), Type: typ, Subnets: env.Subnets,
		Tags: []elbtypes.Tag{{Key: aws.String("panka:address"), Value: aws.String("orders/edge")}}})
	if err != nil {
		t.Fatal(err)
	}
	arn, dns = aws.ToString(out.LoadBalancers[0].LoadBalancerArn), aws.ToString(out.LoadBalancers[0].DNSName)
	t.Cleanup(func() {
		ls, _ := c.elb.DescribeListeners(context.Background(), &elb.DescribeListenersInput{LoadBalancerArn: aws.String(arn)})
		if ls != nil {
			for _, l := range ls.Listeners {
				_, _ = c.elb.DeleteListener(context.Background(), &elb.DeleteListenerInput{ListenerArn: l.ListenerArn})
			}
		}
		_, _ = c.elb.DeleteLoadBalancer(context.Background(), &elb.DeleteLoadBalancerInput{LoadBalancerArn: aws.String(arn)})
	})
	if typ == elbtypes.LoadBalancerTypeEnumApplication {
		for _, port := range []int32{80, 8080} {
			_, err := c.elb.CreateListener(t.Context(), &elb.CreateListenerInput{LoadBalancerArn: aws.String(arn), Port: aws.Int32(port), Protocol: elbtypes.ProtocolEnumHttp,
				DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumFixedResponse, FixedResponseConfig: &elbtypes.FixedResponseActionConfig{
					StatusCode: aws.String("503"), ContentType: aws.String("text/plain"), MessageBody: aws.String("no service attached")}}}})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	return arn, dns
}

func (c *clients) listeners(t *testing.T, lb string) map[int32]elbtypes.Listener {
	t.Helper()
	out, err := c.elb.DescribeListeners(t.Context(), &elb.DescribeListenersInput{LoadBalancerArn: aws.String(lb)})
	if err != nil {
		t.Fatal(err)
	}
	m := map[int32]elbtypes.Listener{}
	for _, l := range out.Listeners {
		m[aws.ToInt32(l.Port)] = l
	}
	return m
}

func (c *clients) targetGroups(t *testing.T, name string) []elbtypes.TargetGroup {
	t.Helper()
	out, err := c.elb.DescribeTargetGroups(t.Context(), &elb.DescribeTargetGroupsInput{Names: []string{name}})
	if err != nil {
		return nil
	}
	return out.TargetGroups
}

func (c *clients) rulesTo(t *testing.T, listener *string, tg string) []elbtypes.Rule {
	t.Helper()
	out, err := c.elb.DescribeRules(t.Context(), &elb.DescribeRulesInput{ListenerArn: listener})
	if err != nil {
		t.Fatal(err)
	}
	var rules []elbtypes.Rule
	for _, r := range out.Rules {
		for _, a := range r.Actions {
			if aws.ToString(a.TargetGroupArn) == tg {
				rules = append(rules, r)
			}
		}
	}
	return rules
}

func isPlaceholder(l elbtypes.Listener) bool {
	if len(l.DefaultActions) != 1 {
		return false
	}
	f := l.DefaultActions[0].FixedResponseConfig
	return l.DefaultActions[0].Type == elbtypes.ActionTypeEnumFixedResponse && f != nil && aws.ToString(f.StatusCode) == "503" &&
		aws.ToString(f.ContentType) == "text/plain" && aws.ToString(f.MessageBody) == "no service attached"
}

// microSpec is a complete MicroService spec behind lb as the engine injects it.
func microSpec(t *testing.T, lb map[string]any) map[string]any {
	s := workerSpec(t, "nginx:1.27")
	delete(s, "command")
	s["ports"] = []any{map[string]any{"name": "http", "port": int64(8080), "protocol": "tcp"}}
	s["loadBalancer"] = lb
	return s
}

// TestMicroServiceALB: the target group, the listener rule with its conditions and priority, the
// default action of defaultForward, the service's load balancer config; a change of the rule in
// place; drift; and Delete leaving the ALB as it found it, with nothing of the service left.
func TestMicroServiceALB(t *testing.T) {
	p, c := newProvider(t), sdkClients(t)
	lbARN, dns := lbEnv(t, c, elbtypes.LoadBalancerTypeEnumApplication)
	lb := map[string]any{"target": "edge", "listener": int64(80), "paths": []any{"/api/*"}, "hosts": []any{"api.example.com"}, "priority": int64(1234),
		"healthCheck": map[string]any{"path": "/healthz", "interval": int64(15), "timeout": int64(4), "healthyThreshold": int64(2), "unhealthyThreshold": int64(4), "matcher": "200-299"},
		"arn":         lbARN, "type": "application", "containerPort": int64(8080), "listenerPort": int64(80), "defaultForward": []any{int64(8080)}}
	spec := microSpec(t, lb)
	r := component("MicroService", unique("web"), "", state.CloneMap(spec))
	obs, err := p.Create(t.Context(), r)
	if err != nil {
		t.Fatal(err)
	}
	deleted := false
	t.Cleanup(func() {
		if !deleted {
			_ = p.Delete(context.Background(), obs.ID, r)
		}
	})
	tgs := c.targetGroups(t, r.Name)
	if len(tgs) != 1 {
		t.Fatalf("target groups named %s: %v", r.Name, tgs)
	}
	tg := tgs[0]
	tgARN := aws.ToString(tg.TargetGroupArn)
	if tg.TargetType != elbtypes.TargetTypeEnumIp || aws.ToString(tg.VpcId) != ecsEnv(t).VPCID || aws.ToInt32(tg.Port) != 8080 || tg.Protocol != elbtypes.ProtocolEnumHttp ||
		aws.ToString(tg.HealthCheckPath) != "/healthz" || aws.ToInt32(tg.HealthCheckIntervalSeconds) != 15 || aws.ToInt32(tg.HealthCheckTimeoutSeconds) != 4 ||
		aws.ToInt32(tg.HealthyThresholdCount) != 2 || aws.ToInt32(tg.UnhealthyThresholdCount) != 4 || tg.Matcher == nil || aws.ToString(tg.Matcher.HttpCode) != "200-299" {
		t.Errorf("target group %+v", tg)
	}
	ls := c.listeners(t, lbARN)
	l80 := ls[80]
	rules := c.rulesTo(t, l80.ListenerArn, tgARN)
	if len(rules) != 1 {
		t.Fatalf("rules to the target group on listener 80: %+v", rules)
	}
	check := func(rule elbtypes.Rule, prio string, paths, hosts []string) {
		t.Helper()
		if aws.ToString(rule.Priority) != prio {
			t.Errorf("rule priority %s, want %s", aws.ToString(rule.Priority), prio)
		}
		var gotPaths, gotHosts []string
		for _, cd := range rule.Conditions {
			switch aws.ToString(cd.Field) {
			case "path-pattern":
				gotPaths = append(gotPaths, cd.PathPatternConfig.Values...)
			case "host-header":
				gotHosts = append(gotHosts, cd.HostHeaderConfig.Values...)
			}
		}
		if !slices.Equal(gotPaths, paths) || !slices.Equal(gotHosts, hosts) {
			t.Errorf("rule conditions paths %v hosts %v, want %v %v", gotPaths, gotHosts, paths, hosts)
		}
	}
	check(rules[0], "1234", []string{"/api/*"}, []string{"api.example.com"})
	if l := ls[8080]; len(l.DefaultActions) != 1 || aws.ToString(l.DefaultActions[0].TargetGroupArn) != tgARN {
		t.Errorf("listener 8080's default action %+v, want forward to %s", l.DefaultActions, tgARN)
	}
	if !isPlaceholder(ls[80]) {
		t.Errorf("listener 80's default action changed: %+v", ls[80].DefaultActions)
	}
	s := c.service(t, obs.ID)
	if len(s.LoadBalancers) != 1 || aws.ToString(s.LoadBalancers[0].TargetGroupArn) != tgARN || aws.ToInt32(s.LoadBalancers[0].ContainerPort) != 8080 ||
		aws.ToString(s.LoadBalancers[0].ContainerName) != strings.TrimPrefix(r.Address, "orders/") {
		t.Errorf("service load balancers %+v", s.LoadBalancers)
	}
	if diff := cmp.Diff(spec, obs.Spec, unsetIsAbsent); diff != "" {
		t.Errorf("Create returned spec (-written +read):\n%s", diff)
	}
	if obs.Outputs["url"] != "http://"+dns {
		t.Errorf("url %q, want http://%s", obs.Outputs["url"], dns)
	}

	// The rule changes in place: paths only, another priority; defaultForward gone.
	r.Spec = state.CloneMap(spec)
	nlb := r.Spec["loadBalancer"].(map[string]any)
	nlb["paths"], nlb["priority"] = []any{"/v2/*"}, int64(77)
	nlb["healthCheck"] = map[string]any{"path": "/ready", "interval": int64(20), "timeout": int64(5), "healthyThreshold": int64(3), "unhealthyThreshold": int64(3), "matcher": "200"}
	delete(nlb, "hosts")
	delete(nlb, "defaultForward")
	up, err := p.Update(t.Context(), obs.ID, r, []string{"loadBalancer"})
	if err != nil {
		t.Fatal(err)
	}
	ls = c.listeners(t, lbARN)
	rules = c.rulesTo(t, ls[80].ListenerArn, tgARN)
	if len(rules) != 1 {
		t.Fatalf("rules after Update: %+v", rules)
	}
	check(rules[0], "77", []string{"/v2/*"}, nil)
	if tgs := c.targetGroups(t, r.Name); len(tgs) != 1 || aws.ToString(tgs[0].TargetGroupArn) != tgARN || aws.ToString(tgs[0].HealthCheckPath) != "/ready" ||
		aws.ToInt32(tgs[0].HealthCheckIntervalSeconds) != 20 || aws.ToString(tgs[0].Matcher.HttpCode) != "200" {
		t.Errorf("target group after Update %+v", tgs)
	}
	if !isPlaceholder(ls[8080]) {
		t.Errorf("listener 8080 after defaultForward went: %+v", ls[8080].DefaultActions)
	}
	if diff := cmp.Diff(r.Spec, up.Spec, unsetIsAbsent); diff != "" {
		t.Errorf("Update returned spec (-written +read):\n%s", diff)
	}
	// The rule deleted behind Panka's back is drift, and Update makes it again.
	if _, err := c.elb.DeleteRule(t.Context(), &elb.DeleteRuleInput{RuleArn: rules[0].RuleArn}); err != nil {
		t.Fatal(err)
	}
	got, err := p.Read(t.Context(), "MicroService", obs.ID)
	if err != nil {
		t.Fatal(err)
	}
	if cmp.Equal(r.Spec, got.Spec, unsetIsAbsent) {
		t.Error("a rule deleted behind Panka's back does not show in Read")
	}
	if _, err := p.Update(t.Context(), obs.ID, r, nil); err != nil {
		t.Fatal(err)
	}
	if rules := c.rulesTo(t, ls[80].ListenerArn, tgARN); len(rules) != 1 {
		t.Errorf("rules after undoing the drift: %+v", rules)
	}

	// The health check no longer written reads back as not written.
	delete(nlb, "healthCheck")
	if up, err = p.Update(t.Context(), obs.ID, r, []string{"loadBalancer"}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(r.Spec, up.Spec, unsetIsAbsent); diff != "" {
		t.Errorf("Update without healthCheck returned spec (-written +read):\n%s", diff)
	}

	// Delete: the ALB is as it was; nothing of the service is left.
	r.Spec = state.CloneMap(spec) // defaultForward again, so that Delete has a default action to reset
	if _, err := p.Update(t.Context(), obs.ID, r, nil); err != nil {
		t.Fatal(err)
	}
	if l := c.listeners(t, lbARN)[8080]; isPlaceholder(l) {
		t.Fatal("defaultForward not set again")
	}
	if err := p.Delete(t.Context(), obs.ID, r); err != nil {
		t.Fatal(err)
	}
	deleted = true
	ls = c.listeners(t, lbARN)
	if !isPlaceholder(ls[8080]) || !isPlaceholder(ls[80]) {
		t.Errorf("default actions after Delete: 80 %+v, 8080 %+v", ls[80].DefaultActions, ls[8080].DefaultActions)
	}
	if rules := c.rulesTo(t, ls[80].ListenerArn, tgARN); len(rules) != 0 {
		t.Errorf("rules left: %+v", rules)
	}
	leavesNothing(t, c, r.Name)
}

// leavesNothing checks through the SDK that nothing named after the component name is left.
func leavesNothing(t *testing.T, c *clients, name string) {
	t.Helper()
	for _, role := range []string{name + "-exec", name + "-task", name + "-scheduler"} {
		if roleExists(t, c.iam, role) {
			t.Errorf("role %s left", role)
		}
	}
	if logGroupExists(t, c.logs, "/ecs/"+name) {
		t.Errorf("log group /ecs/%s left", name)
	}
	if tgs := c.targetGroups(t, name); len(tgs) > 0 {
		t.Errorf("target groups left: %v", tgs)
	}
	if revs := activeRevisions(t, c.ecs, name); len(revs) > 0 {
		t.Errorf("task definitions left: %v", revs)
	}
	out, err := c.ecs.ListTaskDefinitions(t.Context(), &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String(name), Status: ecstypes.TaskDefinitionStatusInactive})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range out.TaskDefinitionArns {
		if strings.Contains(a, "/"+name+":") {
			t.Errorf("INACTIVE task definition left (not deleted): %s", a)
		}
	}
	targets, err := c.aas.DescribeScalableTargets(t.Context(), &applicationautoscaling.DescribeScalableTargetsInput{ServiceNamespace: aastypes.ServiceNamespaceEcs})
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range targets.ScalableTargets {
		if strings.HasSuffix(aws.ToString(tg.ResourceId), "/"+name) {
			t.Errorf("scalable target left: %s", aws.ToString(tg.ResourceId))
		}
	}
}

// TestMicroServiceNLB: the service makes its NLB listeners, forwarding to a TCP target group,
// reads them back, and deletes them.
func TestMicroServiceNLB(t *testing.T) {
	p, c := newProvider(t), sdkClients(t)
	lbARN, dns := lbEnv(t, c, elbtypes.LoadBalancerTypeEnumNetwork)
	spec := microSpec(t, map[string]any{"target": "edge", "listener": int64(0), "priority": int64(0), "arn": lbARN, "type": "network",
		"containerPort": int64(8080), "listeners": []any{map[string]any{"port": int64(9000), "protocol": "TCP", "sslPolicy": "ELBSecurityPolicy-TLS13-1-2-2021-06"}}})
	r := component("MicroService", unique("mqtt"), "", state.CloneMap(spec))
	obs, err := p.Create(t.Context(), r)
	if err != nil {
		t.Fatal(err)
	}
	tgs := c.targetGroups(t, r.Name)
	if len(tgs) != 1 || tgs[0].Protocol != elbtypes.ProtocolEnumTcp || tgs[0].TargetType != elbtypes.TargetTypeEnumIp || aws.ToInt32(tgs[0].Port) != 8080 {
		t.Fatalf("target group %+v", tgs)
	}
	l, ok := c.listeners(t, lbARN)[9000]
	if !ok || l.Protocol != elbtypes.ProtocolEnumTcp || len(l.DefaultActions) != 1 || aws.ToString(l.DefaultActions[0].TargetGroupArn) != aws.ToString(tgs[0].TargetGroupArn) {
		t.Fatalf("listener 9000: %v %+v", ok, l)
	}
	if diff := cmp.Diff(spec, obs.Spec, unsetIsAbsent); diff != "" {
		t.Errorf("Create returned spec (-written +read):\n%s", diff)
	}
	if obs.Outputs["url"] != "http://"+dns+":9000" {
		t.Errorf("url %q", obs.Outputs["url"])
	}
	if !slices.ContainsFunc(obs.Parts, func(p provider.Part) bool {
		return p.Type == "AWS::ElasticLoadBalancingV2::Listener" && p.ID == aws.ToString(l.ListenerArn)
	}) {
		t.Errorf("parts %v lack the listener", obs.Parts)
	}
	// A TLS listener added by Update, with its certificate and policy; the TCP one stays.
	r.Spec = state.CloneMap(spec)
	cert := "arn:aws:acm:us-east-1:000000000000:certificate/suite"
	r.Spec["loadBalancer"].(map[string]any)["listeners"] = []any{
		map[string]any{"port": int64(9000), "protocol": "TCP", "sslPolicy": "ELBSecurityPolicy-TLS13-1-2-2021-06"},
		map[string]any{"port": int64(9443), "protocol": "TLS", "certificateArn": cert, "sslPolicy": "ELBSecurityPolicy-TLS13-1-2-Res-2021-06"}}
	up, err := p.Update(t.Context(), obs.ID, r, []string{"loadBalancer"})
	if err != nil {
		t.Fatal(err)
	}
	tls, ok := c.listeners(t, lbARN)[9443]
	if !ok || tls.Protocol != elbtypes.ProtocolEnumTls || len(tls.Certificates) != 1 || aws.ToString(tls.Certificates[0].CertificateArn) != cert ||
		aws.ToString(tls.SslPolicy) != "ELBSecurityPolicy-TLS13-1-2-Res-2021-06" || aws.ToString(tls.DefaultActions[0].TargetGroupArn) != aws.ToString(tgs[0].TargetGroupArn) {
		t.Errorf("listener 9443: %v %+v", ok, tls)
	}
	if l2 := c.listeners(t, lbARN)[9000]; aws.ToString(l2.ListenerArn) != aws.ToString(l.ListenerArn) {
		t.Errorf("listener 9000 was made anew")
	}
	if diff := cmp.Diff(r.Spec, up.Spec, unsetIsAbsent); diff != "" {
		t.Errorf("Update returned spec (-written +read):\n%s", diff)
	}
	// Taken off the load balancer in place: its listeners and target group go, the service stays.
	delete(r.Spec, "loadBalancer")
	if up, err = p.Update(t.Context(), obs.ID, r, []string{"loadBalancer"}); err != nil {
		t.Fatal(err)
	}
	if s := c.service(t, obs.ID); len(s.LoadBalancers) != 0 || up.ID != obs.ID {
		t.Errorf("service load balancers after removal: %+v", s.LoadBalancers)
	}
	if ls := c.listeners(t, lbARN); len(ls) != 0 {
		t.Errorf("listeners left after removal: %v", ls)
	}
	if tgs := c.targetGroups(t, r.Name); len(tgs) != 0 {
		t.Errorf("target group left after removal: %v", tgs)
	}
	if _, ok := up.Spec["loadBalancer"]; ok || up.Outputs["url"] != "" {
		t.Errorf("Update returned loadBalancer %v, url %q", up.Spec["loadBalancer"], up.Outputs["url"])
	}
	if err := p.Delete(t.Context(), obs.ID, r); err != nil {
		t.Fatal(err)
	}
	if ls := c.listeners(t, lbARN); len(ls) != 0 {
		t.Errorf("listeners left: %v", ls)
	}
	leavesNothing(t, c, r.Name)
}

// TestServiceScaling: the scalable target and target tracking policies; the autoscaler's desired
// count is no drift; a policy removed with its target.
func TestServiceScaling(t *testing.T) {
	p, c := newProvider(t), sdkClients(t)
	spec := workerSpec(t, "busybox:1.36")
	spec["scaling"] = map[string]any{"min": int64(1), "max": int64(4), "desired": int64(2), "targetCPU": int64(60), "targetMemory": int64(70)}
	r := component("Worker", unique("scaled"), "", state.CloneMap(spec))
	obs, err := p.Create(t.Context(), r)
	if err != nil {
		t.Fatal(err)
	}
	cluster := strings.Split(obs.ID, "/")[1]
	res := "service/" + cluster + "/" + r.Name
	targets, err := c.aas.DescribeScalableTargets(t.Context(), &applicationautoscaling.DescribeScalableTargetsInput{ServiceNamespace: aastypes.ServiceNamespaceEcs, ResourceIds: []string{res}})
	if err != nil || len(targets.ScalableTargets) != 1 {
		t.Fatalf("scalable target %s: %v %+v", res, err, targets)
	}
	if tg := targets.ScalableTargets[0]; aws.ToInt32(tg.MinCapacity) != 1 || aws.ToInt32(tg.MaxCapacity) != 4 || tg.ScalableDimension != aastypes.ScalableDimensionECSServiceDesiredCount {
		t.Errorf("scalable target %+v", tg)
	}
	policies := func() map[string]string {
		out, err := c.aas.DescribeScalingPolicies(t.Context(), &applicationautoscaling.DescribeScalingPoliciesInput{ServiceNamespace: aastypes.ServiceNamespaceEcs, ResourceId: aws.String(res)})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, p := range out.ScalingPolicies {
			cfg := p.TargetTrackingScalingPolicyConfiguration
			m[aws.ToString(p.PolicyName)] = fmt.Sprintf("%s %s %v", p.PolicyType, cfg.PredefinedMetricSpecification.PredefinedMetricType, aws.ToFloat64(cfg.TargetValue))
		}
		return m
	}
	if diff := cmp.Diff(map[string]string{"panka-cpu": "TargetTrackingScaling ECSServiceAverageCPUUtilization 60", "panka-memory": "TargetTrackingScaling ECSServiceAverageMemoryUtilization 70"}, policies()); diff != "" {
		t.Errorf("policies (-want +got):\n%s", diff)
	}
	if s := c.service(t, obs.ID); s.DesiredCount != 2 {
		t.Errorf("desired %d", s.DesiredCount)
	}
	if diff := cmp.Diff(spec, obs.Spec, unsetIsAbsent); diff != "" {
		t.Errorf("Create returned spec (-written +read):\n%s", diff)
	}
	// The autoscaler scales out: no drift while within [min, max].
	if _, err := c.ecs.UpdateService(t.Context(), &ecs.UpdateServiceInput{Cluster: aws.String(cluster), Service: aws.String(r.Name), DesiredCount: aws.Int32(4)}); err != nil {
		t.Fatal(err)
	}
	got, err := p.Read(t.Context(), "Worker", obs.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d := got.Spec["scaling"].(map[string]any)["desired"]; d != int64(2) {
		t.Errorf("desired read as %v with the autoscaler at 4, want the spec's 2", d)
	}
	// Update leaves the autoscaler's count alone; removing the memory target removes its policy.
	r.Spec["scaling"].(map[string]any)["targetMemory"] = int64(0)
	if _, err := p.Update(t.Context(), obs.ID, r, []string{"scaling"}); err != nil {
		t.Fatal(err)
	}
	if s := c.service(t, obs.ID); s.DesiredCount != 4 {
		t.Errorf("Update changed the autoscaler's desired count to %d", s.DesiredCount)
	}
	if diff := cmp.Diff(map[string]string{"panka-cpu": "TargetTrackingScaling ECSServiceAverageCPUUtilization 60"}, policies()); diff != "" {
		t.Errorf("policies after Update (-want +got):\n%s", diff)
	}
	if err := p.Delete(t.Context(), obs.ID, r); err != nil {
		t.Fatal(err)
	}
	leavesNothing(t, c, r.Name)
}

// makeLeftovers makes, through the SDK, what a Create of r killed before its service (or
// schedule) existed leaves: the roles, the log group and a task definition revision, tagged as
// Create tags them.
func makeLeftovers(t *testing.T, c *clients, r provider.Resource) {
	t.Helper()
	var tags []iamtypes.Tag
	var etags []ecstypes.Tag
	for k, v := range r.Tags {
		tags = append(tags, iamtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
		etags = append(etags, ecstypes.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	for _, role := range []string{r.Name + "-exec", r.Name + "-task"} {
		if _, err := c.iam.CreateRole(t.Context(), &iam.CreateRoleInput{RoleName: aws.String(role), Tags: tags,
			AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.iam.AttachRolePolicy(t.Context(), &iam.AttachRolePolicyInput{RoleName: aws.String(r.Name + "-exec"),
		PolicyArn: aws.String("arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.logs.CreateLogGroup(t.Context(), &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/ecs/" + r.Name), Tags: r.Tags}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ecs.RegisterTaskDefinition(t.Context(), &ecs.RegisterTaskDefinitionInput{Family: aws.String(r.Name), Tags: etags,
		NetworkMode: ecstypes.NetworkModeAwsvpc, RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate}, Cpu: aws.String("256"), Memory: aws.String("512"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("busybox:old")}}}); err != nil {
		t.Fatal(err)
	}
}

// TestServiceCrashedCreate: Create after a Create killed before the service adopts the roles and
// log group and leaves one of each, one revision among them.
func TestServiceCrashedCreate(t *testing.T) {
	p, c := newProvider(t), sdkClients(t)
	r := component("Worker", unique("crash"), "", workerSpec(t, "busybox:1.36"))
	makeLeftovers(t, c, r)
	obs := deploy(t, p, r)
	if revs := activeRevisions(t, c.ecs, r.Name); len(revs) != 1 || revs[0] != obs.Outputs["taskDefinitionArn"] {
		t.Errorf("active revisions %v, want only %s", revs, obs.Outputs["taskDefinitionArn"])
	}
	att, err := c.iam.ListAttachedRolePolicies(t.Context(), &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(r.Name + "-exec")})
	if err != nil || len(att.AttachedPolicies) != 1 {
		t.Errorf("exec role's managed policies: %v %+v", err, att)
	}
	groups, err := c.logs.DescribeLogGroups(t.Context(), &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/ecs/" + r.Name)})
	if err != nil || len(groups.LogGroups) != 1 {
		t.Errorf("log groups: %v %d", err, len(groups.LogGroups))
	}
	var roles int
	for _, part := range obs.Parts {
		if part.Type == "AWS::IAM::Role" {
			roles++
		}
	}
	if roles != 2 {
		t.Errorf("parts %v: %d roles", obs.Parts, roles)
	}
}

// TestServiceDeleteParts: DeleteParts after a killed Create (roles, log group, revision, and a
// target group with its rule and default action on the ALB) leaves nothing; parts of another
// owner stay.
func TestServiceDeleteParts(t *testing.T) {
	p, c := newProvider(t), sdkClients(t)
	lbARN, _ := lbEnv(t, c, elbtypes.LoadBalancerTypeEnumApplication)
	r := component("MicroService", unique("killed"), "", microSpec(t, map[string]any{"target": "edge", "listener": int64(80), "priority": int64(500),
		"arn": lbARN, "type": "application", "containerPort": int64(8080), "listenerPort": int64(80), "defaultForward": []any{int64(8080)}}))
	makeLeftovers(t, c, r)
	// The target group, its rule and default action, as Create makes them before the service.
	tg, err := c.elb.CreateTargetGroup(t.Context(), &elb.CreateTargetGroupInput{Name: aws.String(r.Name), TargetType: elbtypes.TargetTypeEnumIp,
		VpcId: aws.String(ecsEnv(t).VPCID), Port: aws.Int32(8080), Protocol: elbtypes.ProtocolEnumHttp,
		Tags: []elbtypes.Tag{{Key: aws.String("panka:lb.arn"), Value: aws.String(lbARN)}, {Key: aws.String("panka:lb.type"), Value: aws.String("application")},
			{Key: aws.String("panka:address"), Value: aws.String(r.Address)}}})
	if err != nil {
		t.Fatal(err)
	}
	tgARN := aws.ToString(tg.TargetGroups[0].TargetGroupArn)
	ls := c.listeners(t, lbARN)
	if _, err := c.elb.CreateRule(t.Context(), &elb.CreateRuleInput{ListenerArn: ls[80].ListenerArn, Priority: aws.Int32(500),
		Conditions: []elbtypes.RuleCondition{{Field: aws.String("path-pattern"), PathPatternConfig: &elbtypes.PathPatternConditionConfig{Values: []string{"/*"}}}},
		Actions:    []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(tgARN)}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.elb.ModifyListener(t.Context(), &elb.ModifyListenerInput{ListenerArn: ls[8080].ListenerArn,
		DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(tgARN)}}}); err != nil {
		t.Fatal(err)
	}
	// Another deployment's role of the same derived name is not deleted.
	other := r
	other.Tags = map[string]string{"panka:stack": "someone-else"}
	if err := p.DeleteParts(t.Context(), other, nil); err != nil {
		t.Fatal(err)
	}
	if !roleExists(t, c.iam, r.Name+"-exec") {
		t.Fatal("DeleteParts of another owner deleted the role")
	}
	if err := p.DeleteParts(t.Context(), r, nil); err != nil {
		t.Fatal(err)
	}
	leavesNothing(t, c, r.Name)
	ls = c.listeners(t, lbARN)
	if !isPlaceholder(ls[8080]) {
		t.Errorf("listener 8080 after DeleteParts: %+v", ls[8080].DefaultActions)
	}
	if rules := c.rulesTo(t, ls[80].ListenerArn, tgARN); len(rules) != 0 {
		t.Errorf("rules left: %+v", rules)
	}
	// Recorded parts of a type the kind makes are deleted; an unknown type is an error.
	if err := p.DeleteParts(t.Context(), r, []provider.Part{{Type: "AWS::IAM::Role", ID: r.Name + "-exec"}}); err != nil {
		t.Errorf("DeleteParts of a role already gone: %v", err)
	}
	if err := p.DeleteParts(t.Context(), r, []provider.Part{{Type: "AWS::SQS::Queue", ID: "q"}}); err == nil {
		t.Error("DeleteParts of a type the kind does not make succeeded")
	}
}

// TestMicroServiceCrashedCreate: Create after a Create killed before the service, which had
// made the target group and its rule, adopts them: one target group, one rule.
func TestMicroServiceCrashedCreate(t *testing.T) {
	p, c := newProvider(t), sdkClients(t)
	lbARN, _ := lbEnv(t, c, elbtypes.LoadBalancerTypeEnumApplication)
	r := component("MicroService", unique("again"), "", microSpec(t, map[string]any{"target": "edge", "listener": int64(80), "priority": int64(600),
		"arn": lbARN, "type": "application", "containerPort": int64(8080), "listenerPort": int64(80)}))
	makeLeftovers(t, c, r)
	tg, err := c.elb.CreateTargetGroup(t.Context(), &elb.CreateTargetGroupInput{Name: aws.String(r.Name), TargetType: elbtypes.TargetTypeEnumIp,
		VpcId: aws.String(ecsEnv(t).VPCID), Port: aws.Int32(8080), Protocol: elbtypes.ProtocolEnumHttp,
		Tags: []elbtypes.Tag{{Key: aws.String("panka:lb.arn"), Value: aws.String(lbARN)}, {Key: aws.String("panka:address"), Value: aws.String(r.Address)}}})
	if err != nil {
		t.Fatal(err)
	}
	tgARN := aws.ToString(tg.TargetGroups[0].TargetGroupArn)
	ls := c.listeners(t, lbARN)
	if _, err := c.elb.CreateRule(t.Context(), &elb.CreateRuleInput{ListenerArn: ls[80].ListenerArn, Priority: aws.Int32(600),
		Conditions: []elbtypes.RuleCondition{{Field: aws.String("path-pattern"), PathPatternConfig: &elbtypes.PathPatternConditionConfig{Values: []string{"/*"}}}},
		Actions:    []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(tgARN)}}}); err != nil {
		t.Fatal(err)
	}
	obs := deploy(t, p, r)
	if tgs := c.targetGroups(t, r.Name); len(tgs) != 1 || aws.ToString(tgs[0].TargetGroupArn) != tgARN {
		t.Errorf("target groups %+v, want the one made before", tgs)
	}
	if rules := c.rulesTo(t, ls[80].ListenerArn, tgARN); len(rules) != 1 {
		t.Errorf("rules to the target group: %+v", rules)
	}
	if s := c.service(t, obs.ID); len(s.LoadBalancers) != 1 || aws.ToString(s.LoadBalancers[0].TargetGroupArn) != tgARN {
		t.Errorf("service load balancers %+v", s.LoadBalancers)
	}
	if revs := activeRevisions(t, c.ecs, r.Name); len(revs) != 1 {
		t.Errorf("active revisions %v", revs)
	}
}

// TestServiceKilledDelete: a Delete killed once the service is deleted (its scaling parts, task
// definition, log group and roles still there) is finished by DeleteParts with the parts the
// engine recorded.
func TestServiceKilledDelete(t *testing.T) {
	p, c := newProvider(t), sdkClients(t)
	spec := workerSpec(t, "busybox:1.36")
	spec["scaling"] = map[string]any{"min": int64(1), "max": int64(2), "desired": int64(1), "targetCPU": int64(50), "targetMemory": int64(0)}
	r := component("Worker", unique("halfgone"), "", spec)
	obs, err := p.Create(t.Context(), r)
	if err != nil {
		t.Fatal(err)
	}
	cluster := strings.Split(obs.ID, "/")[1]
	if _, err := c.ecs.DeleteService(t.Context(), &ecs.DeleteServiceInput{Cluster: aws.String(cluster), Service: aws.String(r.Name), Force: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if err := p.DeleteParts(t.Context(), r, obs.Parts); err != nil {
		t.Fatal(err)
	}
	leavesNothing(t, c, r.Name)
}

// TestServiceFoundWithoutSpec: after a crash, the engine looks for a create the state recorded
// pending with the record it has: name, address and tags, no spec. The service is found in the
// stack's cluster, which the engine names stack/cluster.
func TestServiceFoundWithoutSpec(t *testing.T) {
	p, c := newProvider(t), sdkClients(t)
	cluster := prefix[:len(prefix)-len("orders-")] + "stack-cluster"
	out, err := c.ecs.CreateCluster(t.Context(), &ecs.CreateClusterInput{ClusterName: aws.String(cluster)})
	if err != nil {
		t.Fatal(err)
	}
	spec := workerSpec(t, "busybox:1.36")
	spec["cluster"] = aws.ToString(out.Cluster.ClusterArn)
	r := component("Worker", unique("pending"), "", spec)
	obs := deploy(t, p, r)
	pending := r
	pending.Spec = nil
	found, err := p.Find(t.Context(), pending)
	if err != nil {
		t.Fatalf("Find without a spec: %v", err)
	}
	if found.ID != obs.ID {
		t.Errorf("found %s, want %s", found.ID, obs.ID)
	}
}

// TestServiceOfDeletedCluster: a service whose cluster is gone (a destroy killed after deleting
// both, before recording the service's delete) reads as not found, so the next run forgets it.
func TestServiceOfDeletedCluster(t *testing.T) {
	p, c := newProvider(t), sdkClients(t)
	out, err := c.ecs.CreateCluster(t.Context(), &ecs.CreateClusterInput{ClusterName: aws.String(unique("gone-"))})
	if err != nil {
		t.Fatal(err)
	}
	spec := workerSpec(t, "busybox:1.36")
	spec["cluster"] = aws.ToString(out.Cluster.ClusterArn)
	r := component("Worker", unique("orphaned"), "", spec)
	obs, err := p.Create(t.Context(), r)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Delete(t.Context(), obs.ID, r); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ecs.DeleteCluster(t.Context(), &ecs.DeleteClusterInput{Cluster: out.Cluster.ClusterArn}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Read(t.Context(), "Worker", obs.ID); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("Read of a service whose cluster is gone: %v, want ErrNotFound", err)
	}
}
