package aws

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/efs"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/panka/panka/provider"
)

// ECSCluster: the stack's one ECS cluster (an internal kind the engine derives). The physical ID
// is the cluster's ARN; the spec is containerInsights (the cluster setting, enabled or
// disabled). Output clusterName. Delete refuses while the cluster has ACTIVE services, naming
// them (they are components the engine deletes first), waits for services being deleted
// (DRAINING) and tasks still stopping, and returns once the cluster is INACTIVE (ECS keeps
// INACTIVE clusters readable for a while; they read as not found).

type clusterKind struct {
	p *Provider
	c *ecs.Client
}

func newECSCluster(p *Provider) kind { return &clusterKind{p: p, c: ecs.NewFromConfig(p.cfg)} }

// describeCluster returns the cluster id (name or ARN), or an error wrapping ErrNotFound when it
// is missing or INACTIVE.
func (k *clusterKind) describeCluster(ctx context.Context, id string) (*ecstypes.Cluster, error) {
	out, err := k.c.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{id},
		Include: []ecstypes.ClusterField{ecstypes.ClusterFieldTags, ecstypes.ClusterFieldSettings}})
	if err != nil {
		return nil, err
	}
	for _, c := range out.Clusters {
		if aws.ToString(c.Status) != "INACTIVE" {
			return &c, nil
		}
	}
	return nil, fmt.Errorf("%w: cluster %s", provider.ErrNotFound, id)
}

func (k *clusterKind) lookup(ctx context.Context, name string) (string, error) {
	c, err := k.describeCluster(ctx, name)
	if err != nil {
		return "", err
	}
	return aws.ToString(c.ClusterArn), nil
}

func insightsSetting(on bool) []ecstypes.ClusterSetting {
	v := "disabled"
	if on {
		v = "enabled"
	}
	return []ecstypes.ClusterSetting{{Name: ecstypes.ClusterSettingNameContainerInsights, Value: aws.String(v)}}
}

func (k *clusterKind) create(ctx context.Context, r provider.Resource) (string, error) {
	out, err := k.c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(r.Name), Tags: ecsTags(r.Tags),
		Settings: insightsSetting(specBool(r.Spec, "containerInsights"))})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.Cluster.ClusterArn), nil
}

func (k *clusterKind) read(ctx context.Context, id string) (*live, error) {
	c, err := k.describeCluster(ctx, id)
	if err != nil {
		return nil, err
	}
	insights := false
	for _, s := range c.Settings {
		if s.Name == ecstypes.ClusterSettingNameContainerInsights {
			v := aws.ToString(s.Value)
			insights = v == "enabled" || v == "enhanced"
		}
	}
	arn, name := aws.ToString(c.ClusterArn), aws.ToString(c.ClusterName)
	return &live{obs: &provider.Observed{ID: arn, Name: name, ARN: arn, Spec: map[string]any{"containerInsights": insights},
		Tags: fromECSTags(c.Tags), Outputs: map[string]string{"clusterName": name, "arn": arn}}, raw: c}, nil
}

func (k *clusterKind) update(ctx context.Context, l *live, r provider.Resource) error {
	if l.obs.Spec["containerInsights"] == specBool(r.Spec, "containerInsights") {
		return nil
	}
	_, err := k.c.UpdateClusterSettings(ctx, &ecs.UpdateClusterSettingsInput{Cluster: aws.String(l.obs.ID), Settings: insightsSetting(specBool(r.Spec, "containerInsights"))})
	if err != nil {
		return fmt.Errorf("update cluster settings: %w", err)
	}
	return nil
}

func (k *clusterKind) tag(ctx context.Context, l *live, set map[string]string, remove []string) error {
	return ecsTag(ctx, k.c, l.obs.ID, set, remove)
}

// delete deletes the cluster once it has no services but INACTIVE ones and no running tasks.
func (k *clusterKind) delete(ctx context.Context, l *live) error {
	arn := l.obs.ID
	return waitFor(ctx, func(ctx context.Context) (bool, error) {
		active, draining, err := k.services(ctx, arn)
		if err != nil {
			return false, err
		}
		if len(active) > 0 {
			return false, fmt.Errorf("cluster %s still has services %s: delete them first", l.obs.Name, strings.Join(active, ", "))
		}
		if len(draining) > 0 {
			provider.ReportProgress(ctx, fmt.Sprintf("waiting for services %s to be deleted", strings.Join(draining, ", ")))
			return false, nil
		}
		_, err = k.c.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String(arn)})
		var code interface{ ErrorCode() string }
		if errors.As(err, &code) && (code.ErrorCode() == "ClusterContainsTasksException" || code.ErrorCode() == "ClusterContainsServicesException") {
			provider.ReportProgress(ctx, "waiting for the cluster's tasks to stop")
			return false, nil
		}
		return err == nil || isNotFound(err), err
	})
}

// services returns the names of the cluster's ACTIVE and DRAINING services.
func (k *clusterKind) services(ctx context.Context, cluster string) (active, draining []string, err error) {
	in := &ecs.ListServicesInput{Cluster: aws.String(cluster)}
	for {
		page, err := k.c.ListServices(ctx, in)
		if err != nil {
			return nil, nil, fmt.Errorf("services of the cluster: %w", err)
		}
		for chunk := range slices.Chunk(page.ServiceArns, 10) {
			out, err := k.c.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: chunk})
			if err != nil {
				return nil, nil, fmt.Errorf("services of the cluster: %w", err)
			}
			for _, s := range out.Services {
				switch aws.ToString(s.Status) {
				case "ACTIVE":
					active = append(active, aws.ToString(s.ServiceName))
				case "DRAINING":
					draining = append(draining, aws.ToString(s.ServiceName))
				}
			}
		}
		if page.NextToken == nil {
			slices.Sort(active)
			slices.Sort(draining)
			return active, draining, nil
		}
		in.NextToken = page.NextToken
	}
}

func ecsTags(tags map[string]string) []ecstypes.Tag {
	var out []ecstypes.Tag
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		out = append(out, ecstypes.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}
	return out
}

func fromECSTags(tags []ecstypes.Tag) map[string]string {
	out := map[string]string{}
	for _, t := range tags {
		out[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return out
}

func ecsTag(ctx context.Context, c *ecs.Client, arn string, set map[string]string, remove []string) error {
	if len(set) > 0 {
		if _, err := c.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(arn), Tags: ecsTags(set)}); err != nil {
			return err
		}
	}
	if len(remove) > 0 {
		if _, err := c.UntagResource(ctx, &ecs.UntagResourceInput{ResourceArn: aws.String(arn), TagKeys: remove}); err != nil {
			return err
		}
	}
	return nil
}

// ---------------------------------------------------------------------------------------------
// Tasks: what MicroService, Worker and CronJob share. Each runs one container, named after the
// component (the last part of its address), in a Fargate task definition of family r.Name
// (awsvpc, cpu and memory, the runtime platform's architecture, Linux), with these parts under
// names derived from r.Name:
//
//   - the log group (AWS::Logs::LogGroup) /ecs/<name>, tagged, which the container logs to
//     (awslogs, stream prefix "ecs");
//   - the execution role (AWS::IAM::Role) <name>-exec, trusting ecs-tasks.amazonaws.com, with
//     AmazonECSTaskExecutionRolePolicy (pulling images, writing logs) and, when the spec has
//     secrets, an inline policy allowing exactly secretsmanager:GetSecretValue on the secrets
//     and ssm:GetParameters on the parameters it reads;
//   - the task role (AWS::IAM::Role) <name>-task, trusting ecs-tasks.amazonaws.com, whose inline
//     policy grants exactly what the injected access list implies (accessActions), and which
//     has none without access.
//
// Role names over IAM's 64 characters are cut with a hash. Secrets are injected by ECS: each is
// a container secret whose valueFrom is the secret's ARN (DescribeSecret; ":KEY::" appended
// for secretsmanager:NAME#KEY) or the parameter's ARN (GetParameter), resolved at every create
// and update; Read does not report them (the engine keeps the recorded references), but a
// reference resolving to another ARN is a change that registers a new revision. A spec change
// of the container, cpu, memory or roles registers a new revision; the previous ones are
// deregistered and deleted (DeleteTaskDefinitions) once the new one is in use.
//
// Volumes: ephemeral ones are task scratch storage (a volume without a source). An efs volume
// is a task definition volume with an EFS volume configuration (the injected fileSystemId,
// transit encryption ENABLED, IAM authorization ENABLED: the task mounts as its task role; no
// access point, as the schema names none) and a mount point (mountPath, readOnly); the task
// role's inline policy grants elasticfilesystem:ClientMount on the file system's ARN, and
// ClientWrite unless every mount of it is readOnly. Read reports the volume's efs as the file
// system's panka:address tag (its ID when it has none or is gone). An ebs volume is an error
// (permanent): Fargate attaches only EBS volumes ECS creates for each task at launch (a
// service's or RunTask's managed volume configuration, configuredAtLaunch), never an existing
// volume by ID, so an EBS component cannot be mounted into a task.

const (
	ecsExecPolicy     = "arn:%s:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
	ecsTasksPrincipal = "ecs-tasks.amazonaws.com"
)

// Part names, from the component's physical name.
func taskExecRoleName(name string) string { return cutName(name+"-exec", roleNameLimit) }
func taskRoleName(name string) string     { return cutName(name+"-task", roleNameLimit) }
func taskLogGroup(name string) string     { return "/ecs/" + name }

// tasks builds and reads what every ECS kind runs.
type tasks struct {
	iamRoles
	logGroups
	p   *Provider
	ecs *ecs.Client
	sm  *secretsmanager.Client
	ssm *ssm.Client
	ec2 *ec2.Client
	efs *efs.Client // reads back the address of the file systems a task mounts
}

func newTasks(p *Provider) tasks {
	return tasks{iamRoles: iamRoles{iam.NewFromConfig(p.cfg)}, logGroups: logGroups{cloudwatchlogs.NewFromConfig(p.cfg)}, p: p,
		ecs: ecs.NewFromConfig(p.cfg), sm: secretsmanager.NewFromConfig(p.cfg), ssm: ssm.NewFromConfig(p.cfg), ec2: ec2.NewFromConfig(p.cfg),
		efs: efs.NewFromConfig(p.cfg)}
}

// taskWant is a spec's task, resolved.
type taskWant struct {
	def                    taskShape
	execPolicy, taskPolicy string // "" for no inline policy
	tags                   map[string]string
}

// taskShape is what a task definition revision is made of, as compared for a change: built from
// a spec, or from a live revision.
type taskShape struct {
	Family     string                     `json:"family"`
	CPU        string                     `json:"cpu"`
	Memory     string                     `json:"memory"`
	Arch       string                     `json:"arch"`
	ExecRole   string                     `json:"execRole"`
	TaskRole   string                     `json:"taskRole"`
	Container  string                     `json:"container"`
	Image      string                     `json:"image"`
	Command    []string                   `json:"command,omitempty"`
	EntryPoint []string                   `json:"entryPoint,omitempty"`
	Env        []ecstypes.KeyValuePair    `json:"env,omitempty"`
	Secrets    []ecstypes.Secret          `json:"secrets,omitempty"`
	Ports      []ecstypes.PortMapping     `json:"ports,omitempty"`
	Health     *ecstypes.HealthCheck      `json:"health,omitempty"`
	Volumes    []taskVolume               `json:"volumes,omitempty"`
	Mounts     []ecstypes.MountPoint      `json:"mounts,omitempty"`
	Logs       *ecstypes.LogConfiguration `json:"logs,omitempty"`
}

// taskVolume is a task definition volume: task scratch storage, or an EFS file system.
type taskVolume struct {
	Name       string `json:"name"`
	FileSystem string `json:"fileSystem,omitempty"` // an EFS file system's ID
}

func (s taskShape) key() string {
	b, _ := json.Marshal(s)
	return string(b)
}

// containerName is the container's name: the component's (the last part of its address).
func containerName(r provider.Resource) string {
	if _, comp, ok := strings.Cut(r.Address, "/"); ok && comp != "" {
		return comp
	}
	return r.Name
}

// want resolves r.Spec's task: its secrets' ARNs and its roles' policies. Nothing is created.
func (t *tasks) want(ctx context.Context, r provider.Resource) (*taskWant, error) {
	s := r.Spec
	account, err := t.p.accountID(ctx)
	if err != nil {
		return nil, err
	}
	execARN := fmt.Sprintf("arn:%s:iam::%s:role/%s", t.p.partition(), account, taskExecRoleName(r.Name))
	taskARN := fmt.Sprintf("arn:%s:iam::%s:role/%s", t.p.partition(), account, taskRoleName(r.Name))
	d := taskShape{
		Family: r.Name, CPU: itoa(specInt(s, "cpu", 256)), Memory: itoa(specInt(s, "memory", 512)),
		Arch: strings.ToUpper(specString(s, "architecture")), ExecRole: execARN, TaskRole: taskARN,
		Container: containerName(r), Image: specString(s, "image"),
		Command: specStrings(s, "command"), EntryPoint: specStrings(s, "entrypoint"),
		Logs: &ecstypes.LogConfiguration{LogDriver: ecstypes.LogDriverAwslogs, Options: map[string]string{
			"awslogs-group": taskLogGroup(r.Name), "awslogs-region": t.p.cfg.Region, "awslogs-stream-prefix": "ecs"}},
	}
	if d.Arch == "" {
		d.Arch = "X86_64"
	}
	if d.Image == "" {
		return nil, errors.New("spec needs image")
	}
	env := specMap(s, "env")
	for _, name := range slices.Sorted(maps.Keys(env)) {
		v, _ := env[name].(string)
		d.Env = append(d.Env, ecstypes.KeyValuePair{Name: aws.String(name), Value: aws.String(v)})
	}
	secrets := specMap(s, "secrets")
	var secretARNs, paramARNs []string
	for _, name := range slices.Sorted(maps.Keys(secrets)) {
		ref, _ := secrets[name].(string)
		from, res, param, err := t.secretARN(ctx, ref)
		if err != nil {
			return nil, fmt.Errorf("secrets.%s: %w", name, err)
		}
		d.Secrets = append(d.Secrets, ecstypes.Secret{Name: aws.String(name), ValueFrom: aws.String(from)})
		if param {
			paramARNs = append(paramARNs, res)
		} else {
			secretARNs = append(secretARNs, res)
		}
	}
	for _, p := range specList(s, "ports") {
		m, _ := p.(map[string]any)
		proto := ecstypes.TransportProtocolTcp
		if specString(m, "protocol") == "udp" {
			proto = ecstypes.TransportProtocolUdp
		}
		d.Ports = append(d.Ports, ecstypes.PortMapping{Name: aws.String(specString(m, "name")), ContainerPort: aws.Int32(int32(specInt(m, "port", 0))), Protocol: proto})
	}
	if h := specMap(s, "healthCheck"); h != nil {
		d.Health = &ecstypes.HealthCheck{Command: specStrings(h, "command"), Interval: aws.Int32(int32(specInt(h, "interval", 30))),
			Timeout: aws.Int32(int32(specInt(h, "timeout", 5))), Retries: aws.Int32(int32(specInt(h, "retries", 3))),
			StartPeriod: aws.Int32(int32(specInt(h, "startPeriod", 0)))}
	}
	writes := map[string]bool{} // the file systems mounted, and whether any mount writes
	for i, v := range specList(s, "volumes") {
		m, _ := v.(map[string]any)
		name := specString(m, "name")
		vol := taskVolume{Name: name}
		switch {
		case specString(m, "ebs") != "":
			return nil, permanent(fmt.Errorf("volumes[%d] (%s): an existing EBS volume (ebs: %s) cannot be mounted into a Fargate task: "+
				"ECS attaches to Fargate tasks only new volumes it creates for each task at launch (configuredAtLaunch, a service's managed EBS "+
				"volume, optionally from a snapshot), never a volume by ID; use an EFS volume for storage that outlives tasks, or ephemeral: true for scratch space",
				i, name, specString(m, "ebs")))
		case specString(m, "efs") != "":
			vol.FileSystem = specString(m, "fileSystemId")
			if !strings.HasPrefix(vol.FileSystem, "fs-") {
				return nil, fmt.Errorf("volumes[%d] (%s): efs %s has no file system ID (fileSystemId %q): the engine injects it", i, name, specString(m, "efs"), vol.FileSystem)
			}
			writes[vol.FileSystem] = writes[vol.FileSystem] || !specBool(m, "readOnly")
		}
		d.Volumes = append(d.Volumes, vol)
		d.Mounts = append(d.Mounts, ecstypes.MountPoint{SourceVolume: aws.String(name), ContainerPath: aws.String(specString(m, "mountPath")), ReadOnly: aws.Bool(specBool(m, "readOnly"))})
	}
	var mounts []policyStatement
	for _, fs := range slices.Sorted(maps.Keys(writes)) {
		actions := []string{"elasticfilesystem:ClientMount"}
		if writes[fs] {
			actions = append(actions, "elasticfilesystem:ClientWrite")
		}
		arn := fmt.Sprintf("arn:%s:elasticfilesystem:%s:%s:file-system/%s", t.p.partition(), t.p.cfg.Region, account, fs)
		mounts = append(mounts, policyStatement{"Allow", actions, []string{arn}})
	}
	w := &taskWant{def: d, tags: r.Tags}
	w.execPolicy = secretsPolicy(slices.Compact(slices.Sorted(slices.Values(secretARNs))), slices.Compact(slices.Sorted(slices.Values(paramARNs))))
	if w.taskPolicy, err = accessPolicy(specList(s, "access"), mounts...); err != nil {
		return nil, err
	}
	return w, nil
}

// secretARN resolves a secret reference (parseSecretRef) to a container secret's valueFrom, the
// ARN of what it reads, and whether that is an SSM parameter.
func (t *tasks) secretARN(ctx context.Context, ref string) (valueFrom, resource string, param bool, err error) {
	s, err := parseSecretRef(ref)
	if err != nil {
		return "", "", false, err
	}
	if s.param != "" {
		if isARN(ref) {
			return ref, ref, true, nil
		}
		out, err := t.ssm.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(s.param)})
		if err != nil {
			return "", "", false, fmt.Errorf("SSM parameter %s: %w", s.param, permanent(err))
		}
		return aws.ToString(out.Parameter.ARN), aws.ToString(out.Parameter.ARN), true, nil
	}
	arn := s.secret
	if !isARN(arn) {
		out, err := t.sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(s.secret)})
		if err != nil {
			return "", "", false, fmt.Errorf("secret %s: %w", s.secret, permanent(err))
		}
		arn = aws.ToString(out.ARN)
	}
	from := arn
	if s.key != "" || s.stage != "" || s.version != "" {
		from = arn + ":" + s.key + ":" + s.stage + ":" + s.version
	}
	return from, arn, false, nil
}

type policyStatement struct {
	Effect   string   `json:"Effect"`
	Action   []string `json:"Action"`
	Resource []string `json:"Resource"`
}

// identityPolicy is an IAM policy document of stmts; "" for none.
func identityPolicy(stmts []policyStatement) string {
	if len(stmts) == 0 {
		return ""
	}
	doc, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": stmts})
	return string(doc)
}

// secretsPolicy is the execution role's inline policy: reading exactly the secrets and
// parameters of the spec; "" for none.
func secretsPolicy(secrets, params []string) string {
	var stmts []policyStatement
	if len(secrets) > 0 {
		stmts = append(stmts, policyStatement{"Allow", []string{"secretsmanager:GetSecretValue"}, secrets})
	}
	if len(params) > 0 {
		stmts = append(stmts, policyStatement{"Allow", []string{"ssm:GetParameters"}, params})
	}
	return identityPolicy(stmts)
}

// accessActions are what a task role is granted on a component of each access kind.
var accessActions = map[string][]string{
	"SQS":         {"sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"},
	"SNS":         {"sns:Publish"},
	"S3":          {"s3:ListBucket"}, // and accessObjectActions on BUCKET/*
	"DynamoDB":    {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem", "dynamodb:Query", "dynamodb:Scan"},
	"EventBridge": {"events:PutEvents"},
	"Lambda":      {"lambda:InvokeFunction"},
}

var accessObjectActions = []string{"s3:GetObject", "s3:PutObject", "s3:DeleteObject"}

// accessPolicy is the task role's inline policy: one statement (two for a bucket) per entry of
// the injected access list, in its order; "" for none.
func accessPolicy(access []any, more ...policyStatement) (string, error) {
	var stmts []policyStatement
	for i, a := range access {
		m, _ := a.(map[string]any)
		kind, arn := specString(m, "kind"), specString(m, "arn")
		actions, ok := accessActions[kind]
		if !ok || !isARN(arn) {
			return "", fmt.Errorf("access[%d]: %s %q is not an access the provider grants (an ARN of %v)", i, kind, arn, slices.Sorted(maps.Keys(accessActions)))
		}
		switch kind {
		case "S3":
			stmts = append(stmts, policyStatement{"Allow", actions, []string{arn}}, policyStatement{"Allow", accessObjectActions, []string{arn + "/*"}})
		case "DynamoDB":
			stmts = append(stmts, policyStatement{"Allow", actions, []string{arn, arn + "/index/*"}})
		default:
			stmts = append(stmts, policyStatement{"Allow", actions, []string{arn}})
		}
	}
	return identityPolicy(append(stmts, more...)), nil
}

// accessOf reads the access list back from a task role's inline policy (accessPolicy's).
func accessOf(policy string) []any {
	if policy == "" {
		return nil
	}
	var doc struct {
		Statement []policyStatement `json:"Statement"`
	}
	if json.Unmarshal([]byte(policy), &doc) != nil {
		return nil
	}
	var out []any
	for _, s := range doc.Statement {
		if len(s.Action) == 0 || len(s.Resource) == 0 || slices.Equal(s.Action, accessObjectActions) {
			continue
		}
		for kind, actions := range accessActions {
			if slices.Equal(actions, s.Action) {
				out = append(out, map[string]any{"kind": kind, "arn": s.Resource[0]})
			}
		}
	}
	return out
}

// ensureParts makes (or adopts) the task's roles and log group, with the policies w says.
func (t *tasks) ensureParts(ctx context.Context, name string, w *taskWant) error {
	if _, err := t.ensureRole(ctx, taskExecRoleName(name), ecsTasksPrincipal, w.tags, w.execPolicy, fmt.Sprintf(ecsExecPolicy, t.p.partition())); err != nil {
		return err
	}
	if _, err := t.ensureRole(ctx, taskRoleName(name), ecsTasksPrincipal, w.tags, w.taskPolicy); err != nil {
		return err
	}
	return t.ensureGroup(ctx, taskLogGroup(name), w.tags)
}

// updateTask is the task side of an Update of the component name, whose live revision is def
// (nil: gone) and live tags liveTags: it resolves r's task, refuses an architecture change
// (ForceNew: the engine replaces), makes the roles and log group what r says (tagging new ones
// with r.Tags, or liveTags when nil), and registers a new revision when the task differs. It
// returns the resolved task and the revision to run.
func (t *tasks) updateTask(ctx context.Context, name string, r provider.Resource, def *ecstypes.TaskDefinition, liveTags map[string]string) (*taskWant, string, error) {
	r.Name = name
	w, err := t.want(ctx, r)
	if err != nil {
		return nil, "", err
	}
	if def != nil && shapeOf(def).Arch != w.def.Arch {
		return nil, "", fmt.Errorf("architecture %s cannot change to %s in place (ForceNew: the engine replaces the component)", shapeOf(def).Arch, w.def.Arch)
	}
	if r.Tags == nil {
		w.tags = liveTags
	}
	if err := t.ensureParts(ctx, name, w); err != nil {
		return nil, "", err
	}
	if def != nil && shapeOf(def).key() == w.def.key() {
		return w, aws.ToString(def.TaskDefinitionArn), nil
	}
	td, err := retryRoleValue(ctx, func(ctx context.Context) (string, error) { return t.register(ctx, w) })
	return w, td, err
}

// register registers a revision of w's task definition and returns its ARN.
func (t *tasks) register(ctx context.Context, w *taskWant) (string, error) {
	d := w.def
	c := ecstypes.ContainerDefinition{
		Name: aws.String(d.Container), Image: aws.String(d.Image), Essential: aws.Bool(true), Command: d.Command, EntryPoint: d.EntryPoint,
		Environment: d.Env, Secrets: d.Secrets, PortMappings: d.Ports, HealthCheck: d.Health, MountPoints: d.Mounts, LogConfiguration: d.Logs,
	}
	in := &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(d.Family), ContainerDefinitions: []ecstypes.ContainerDefinition{c},
		RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate}, NetworkMode: ecstypes.NetworkModeAwsvpc,
		Cpu: aws.String(d.CPU), Memory: aws.String(d.Memory), ExecutionRoleArn: aws.String(d.ExecRole), TaskRoleArn: aws.String(d.TaskRole),
		RuntimePlatform: &ecstypes.RuntimePlatform{CpuArchitecture: ecstypes.CPUArchitecture(d.Arch), OperatingSystemFamily: ecstypes.OSFamilyLinux},
		Tags:            ecsTags(w.tags),
	}
	for _, v := range d.Volumes {
		vol := ecstypes.Volume{Name: aws.String(v.Name)}
		if v.FileSystem != "" {
			// Encrypted in transit, and mounted with the task role's IAM identity (which the
			// file system's clients are granted in the task role's policy).
			vol.EfsVolumeConfiguration = &ecstypes.EFSVolumeConfiguration{FileSystemId: aws.String(v.FileSystem),
				TransitEncryption:   ecstypes.EFSTransitEncryptionEnabled,
				AuthorizationConfig: &ecstypes.EFSAuthorizationConfig{Iam: ecstypes.EFSAuthorizationConfigIAMEnabled}}
		}
		in.Volumes = append(in.Volumes, vol)
	}
	out, err := t.ecs.RegisterTaskDefinition(ctx, in)
	if err != nil {
		return "", fmt.Errorf("register task definition %s: %w", d.Family, err)
	}
	return aws.ToString(out.TaskDefinition.TaskDefinitionArn), nil
}

// shapeOf is the shape of a live revision.
func shapeOf(td *ecstypes.TaskDefinition) taskShape {
	s := taskShape{Family: aws.ToString(td.Family), CPU: aws.ToString(td.Cpu), Memory: aws.ToString(td.Memory),
		ExecRole: aws.ToString(td.ExecutionRoleArn), TaskRole: aws.ToString(td.TaskRoleArn), Arch: "X86_64"}
	if rp := td.RuntimePlatform; rp != nil && rp.CpuArchitecture != "" {
		s.Arch = string(rp.CpuArchitecture)
	}
	for _, v := range td.Volumes {
		vol := taskVolume{Name: aws.ToString(v.Name)}
		if e := v.EfsVolumeConfiguration; e != nil {
			vol.FileSystem = aws.ToString(e.FileSystemId)
		}
		s.Volumes = append(s.Volumes, vol)
	}
	if len(td.ContainerDefinitions) > 0 {
		c := td.ContainerDefinitions[0]
		s.Container, s.Image, s.Command, s.EntryPoint = aws.ToString(c.Name), aws.ToString(c.Image), c.Command, c.EntryPoint
		s.Env, s.Secrets, s.Health, s.Mounts, s.Logs = c.Environment, c.Secrets, c.HealthCheck, c.MountPoints, c.LogConfiguration
		for _, p := range c.PortMappings {
			s.Ports = append(s.Ports, ecstypes.PortMapping{Name: p.Name, ContainerPort: p.ContainerPort, Protocol: p.Protocol})
		}
		slices.SortFunc(s.Env, func(a, b ecstypes.KeyValuePair) int {
			return strings.Compare(aws.ToString(a.Name), aws.ToString(b.Name))
		})
		slices.SortFunc(s.Secrets, func(a, b ecstypes.Secret) int { return strings.Compare(aws.ToString(a.Name), aws.ToString(b.Name)) })
	}
	return s
}

// spec returns the spec fields a revision holds: the container's and cpu, memory, architecture,
// volumes (secrets are not reported).
func (s taskShape) spec(spec map[string]any) {
	cpu, _ := strconv.ParseInt(s.CPU, 10, 64)
	mem, _ := strconv.ParseInt(s.Memory, 10, 64)
	spec["cpu"], spec["memory"], spec["architecture"], spec["image"] = cpu, mem, s.Arch, s.Image
	strs := func(v []string) []any {
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = x
		}
		return out
	}
	if len(s.Command) > 0 {
		spec["command"] = strs(s.Command)
	}
	if len(s.EntryPoint) > 0 {
		spec["entrypoint"] = strs(s.EntryPoint)
	}
	if len(s.Env) > 0 {
		env := map[string]any{}
		for _, e := range s.Env {
			env[aws.ToString(e.Name)] = aws.ToString(e.Value)
		}
		spec["env"] = env
	}
	var ports []any
	for _, p := range s.Ports {
		proto := string(p.Protocol)
		if proto == "" {
			proto = "tcp"
		}
		ports = append(ports, map[string]any{"name": aws.ToString(p.Name), "port": int64(aws.ToInt32(p.ContainerPort)), "protocol": proto})
	}
	if ports != nil {
		spec["ports"] = ports
	}
	if h := s.Health; h != nil {
		spec["healthCheck"] = map[string]any{"command": strs(h.Command), "interval": int64(aws.ToInt32(h.Interval)), "timeout": int64(aws.ToInt32(h.Timeout)),
			"retries": int64(aws.ToInt32(h.Retries)), "startPeriod": int64(aws.ToInt32(h.StartPeriod))}
	}
	var vols []any
	for _, m := range s.Mounts {
		v := map[string]any{"name": aws.ToString(m.SourceVolume), "mountPath": aws.ToString(m.ContainerPath), "ephemeral": true, "readOnly": aws.ToBool(m.ReadOnly)}
		for _, tv := range s.Volumes {
			if tv.Name == aws.ToString(m.SourceVolume) && tv.FileSystem != "" {
				// efs is the file system's address: tasks.efsAddresses fills it in.
				v["ephemeral"], v["fileSystemId"], v["efs"] = false, tv.FileSystem, tv.FileSystem
			}
		}
		vols = append(vols, v)
	}
	if vols != nil {
		spec["volumes"] = vols
	}
}

// taskDefinition returns the revision arn, nil if it is gone (or INACTIVE).
func (t *tasks) taskDefinition(ctx context.Context, arn string) (*ecstypes.TaskDefinition, error) {
	out, err := t.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(arn)})
	if isNotFound(err) || err != nil && strings.Contains(err.Error(), "Unable to describe task definition") {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("task definition %s: %w", arn, err)
	}
	return out.TaskDefinition, nil
}

// revisions returns the ARNs of the family's revisions of status (ACTIVE or INACTIVE): exactly
// the family's, not those of families it is a prefix of.
func (t *tasks) revisions(ctx context.Context, family string, status ecstypes.TaskDefinitionStatus) ([]string, error) {
	var out []string
	in := &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String(family), Status: status}
	for {
		page, err := t.ecs.ListTaskDefinitions(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("task definitions of %s: %w", family, err)
		}
		for _, arn := range page.TaskDefinitionArns {
			fam, _, _ := strings.Cut(arn[strings.LastIndex(arn, "/")+1:], ":")
			if fam == family {
				out = append(out, arn)
			}
		}
		if page.NextToken == nil {
			return out, nil
		}
		in.NextToken = page.NextToken
	}
}

// deleteRevisions deregisters and deletes every revision of family but keep ("" for all).
func (t *tasks) deleteRevisions(ctx context.Context, family, keep string) error {
	active, err := t.revisions(ctx, family, ecstypes.TaskDefinitionStatusActive)
	if err != nil {
		return err
	}
	for _, arn := range active {
		if arn == keep {
			continue
		}
		if _, err := t.ecs.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(arn)}); err != nil && !isNotFound(err) {
			return fmt.Errorf("deregister task definition %s: %w", arn, err)
		}
	}
	inactive, err := t.revisions(ctx, family, ecstypes.TaskDefinitionStatusInactive)
	if err != nil {
		return err
	}
	for chunk := range slices.Chunk(inactive, 10) {
		out, err := t.ecs.DeleteTaskDefinitions(ctx, &ecs.DeleteTaskDefinitionsInput{TaskDefinitions: chunk})
		if err != nil {
			return fmt.Errorf("delete task definitions of %s: %w", family, err)
		}
		for _, f := range out.Failures {
			return fmt.Errorf("delete task definition %s: %s %s", aws.ToString(f.Arn), aws.ToString(f.Reason), aws.ToString(f.Detail))
		}
	}
	return nil
}

// deleteOwnedParts deletes the parts of r's task made before r (revisions, log group, roles)
// whose ownership tags do not name another owner than r.Tags.
func (t *tasks) deleteOwnedParts(ctx context.Context, r provider.Resource) error {
	revs, err := t.revisions(ctx, r.Name, ecstypes.TaskDefinitionStatusActive)
	if err != nil {
		return err
	}
	for _, arn := range revs {
		tags, err := t.ecs.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
		if err != nil {
			return fmt.Errorf("tags of %s: %w", arn, err)
		}
		if provider.CheckOwner("task definition", arn, fromECSTags(tags.Tags), r.Tags) != nil {
			return nil // another deployment's family: none of its parts are ours
		}
	}
	if err := t.deleteRevisions(ctx, r.Name, ""); err != nil {
		return err
	}
	if err := t.deleteOwnedGroup(ctx, taskLogGroup(r.Name), r.Tags); err != nil {
		return err
	}
	if err := t.deleteOwnedRole(ctx, taskRoleName(r.Name), r.Tags); err != nil {
		return err
	}
	return t.deleteOwnedRole(ctx, taskExecRoleName(r.Name), r.Tags)
}

// taskLive is a task's parts as read.
type taskLive struct {
	def                *ecstypes.TaskDefinition // nil: gone
	execRole, taskRole *iamDesc
	logGroup           string // ARN, "" for none
	taskPolicy         string
	efsAddr            map[string]string // the address of each file system the revision mounts, by ID
}

type iamDesc struct{ name, arn string }

func (t *tasks) readParts(ctx context.Context, name, tdARN string) (*taskLive, error) {
	l := &taskLive{}
	var err error
	if l.def, err = t.taskDefinition(ctx, tdARN); err != nil {
		return nil, err
	}
	for _, x := range []struct {
		name string
		to   **iamDesc
	}{{taskExecRoleName(name), &l.execRole}, {taskRoleName(name), &l.taskRole}} {
		r, err := t.role(ctx, x.name)
		if err != nil {
			return nil, err
		}
		if r != nil {
			*x.to = &iamDesc{aws.ToString(r.RoleName), aws.ToString(r.Arn)}
		}
	}
	if l.taskRole != nil {
		if l.taskPolicy, err = t.rolePolicy(ctx, l.taskRole.name); err != nil {
			return nil, err
		}
	}
	if l.logGroup, err = t.groupARN(ctx, taskLogGroup(name)); err != nil {
		return nil, err
	}
	if l.def != nil {
		if l.efsAddr, err = t.efsAddresses(ctx, l.def.Volumes); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// efsAddresses returns the panka:address tag of each EFS file system of vols, by ID: a volume's
// efs reads back as it (a file system without the tag, or gone, as its ID).
func (t *tasks) efsAddresses(ctx context.Context, vols []ecstypes.Volume) (map[string]string, error) {
	out := map[string]string{}
	for _, v := range vols {
		e := v.EfsVolumeConfiguration
		if e == nil || out[aws.ToString(e.FileSystemId)] != "" {
			continue
		}
		id := aws.ToString(e.FileSystemId)
		out[id] = id
		fs, err := t.efs.DescribeFileSystems(ctx, &efs.DescribeFileSystemsInput{FileSystemId: e.FileSystemId})
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("file system %s of volume %s: %w", id, aws.ToString(v.Name), err)
		}
		for _, f := range fs.FileSystems {
			for _, tag := range f.Tags {
				if aws.ToString(tag.Key) == tagAddress {
					out[id] = aws.ToString(tag.Value)
				}
			}
		}
	}
	return out, nil
}

// parts lists the task's parts.
func (l *taskLive) parts(name string) []provider.Part {
	var out []provider.Part
	for _, r := range []*iamDesc{l.execRole, l.taskRole} {
		if r != nil {
			out = append(out, provider.Part{Type: "AWS::IAM::Role", ID: r.name, ARN: r.arn})
		}
	}
	if l.logGroup != "" {
		out = append(out, provider.Part{Type: "AWS::Logs::LogGroup", ID: taskLogGroup(name), ARN: l.logGroup})
	}
	if l.def != nil {
		out = append(out, provider.Part{Type: "AWS::ECS::TaskDefinition", ID: aws.ToString(l.def.TaskDefinitionArn), ARN: aws.ToString(l.def.TaskDefinitionArn)})
	}
	return out
}

// spec adds to spec what the task's parts hold: the revision's fields and the access list.
func (l *taskLive) spec(spec map[string]any) {
	if l.def != nil {
		shapeOf(l.def).spec(spec)
		for _, v := range specList(spec, "volumes") {
			if m, _ := v.(map[string]any); m["fileSystemId"] != nil {
				m["efs"] = cmp.Or(l.efsAddr[specString(m, "fileSystemId")], specString(m, "fileSystemId"))
			}
		}
	}
	if a := accessOf(l.taskPolicy); a != nil {
		spec["access"] = a
	}
}

// network returns the spec's network block of an awsvpc configuration (vpcId from the first
// subnet).
func (t *tasks) network(ctx context.Context, subnets, groups []string) (map[string]any, error) {
	n := map[string]any{"subnets": anyStrings(subnets), "securityGroups": anyStrings(groups)}
	if len(subnets) > 0 {
		out, err := t.ec2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: subnets[:1]})
		if err != nil {
			return nil, fmt.Errorf("subnet %s: %w", subnets[0], err)
		}
		if len(out.Subnets) > 0 {
			n["vpcId"] = aws.ToString(out.Subnets[0].VpcId)
		}
	}
	return n, nil
}

func anyStrings(v []string) []any {
	out := make([]any, len(v))
	for i, x := range v {
		out[i] = x
	}
	return out
}

// awsvpc is the network configuration of the spec's network block.
func awsvpc(spec map[string]any) *ecstypes.AwsVpcConfiguration {
	n := specMap(spec, "network")
	return &ecstypes.AwsVpcConfiguration{Subnets: specStrings(n, "subnets"), SecurityGroups: specStrings(n, "securityGroups"), AssignPublicIp: ecstypes.AssignPublicIpDisabled}
}

// deleteTaskPart deletes p, a part of a task (a role, its log group, its task definition's
// revisions), if it still exists; false for another type.
func (t *tasks) deleteTaskPart(ctx context.Context, p provider.Part) (bool, error) {
	switch p.Type {
	case "AWS::IAM::Role":
		return true, t.deleteRole(ctx, p.ID)
	case "AWS::Logs::LogGroup":
		return true, t.deleteGroup(ctx, p.ID)
	case "AWS::ECS::TaskDefinition": // arn:...:task-definition/FAMILY:REVISION: every revision
		fam, _, _ := strings.Cut(p.ID[strings.LastIndex(p.ID, "/")+1:], ":")
		return true, t.deleteRevisions(ctx, fam, "")
	}
	return false, nil
}
