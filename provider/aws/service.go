package aws

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	aastypes "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/panka/panka/provider"
	"github.com/panka/panka/schema"
)

// MicroService and Worker: an ECS Fargate service (one implementation; a Worker has no load
// balancer). The physical ID is the service's ARN; the service is named r.Name in the cluster
// the spec's injected cluster names (Create and Find look it up there). Its task (family r.Name,
// roles, log group) is described at "Tasks" in ecs.go. The service runs launch type FARGATE with
// desiredCount scaling.desired, the spec's network (awsvpc, assignPublicIp DISABLED), no
// deployment circuit breaker (the provider reports failed tasks itself), ECS Exec off, and
// tags propagated from the service.
//
// Load balancing (MicroService, the injected loadBalancer block). A target group
// (AWS::ElasticLoadBalancingV2::TargetGroup) named after r.Name (cut to 32 characters with a
// hash), target type ip, in network.vpcId, on containerPort: protocol HTTP for an ALB, for an
// NLB that of its listeners (TLS and TCP: TCP, UDP: UDP, TCP_UDP: TCP_UDP), with the health
// check of loadBalancer.healthCheck (AWS's defaults without one). On an ALB, a listener rule
// (AWS::ElasticLoadBalancingV2::ListenerRule) on the listener at listenerPort (found by the
// load balancer and port) with priority, path-pattern (paths; "/*" when neither paths nor
// hosts are given) and host-header (hosts) conditions, forwarding to the target group; and each
// listener of defaultForward gets a default action forwarding to the target group, set back to
// the ALB's placeholder (fixed-response 503 text/plain "no service attached") when the service
// goes or stops being its default. On an NLB, the service creates the listeners of
// loadBalancer.listeners (AWS::ElasticLoadBalancingV2::Listener) forwarding to the target
// group. What the engine wrote and AWS cannot give back (target, port, listener, whether a
// health check was written, and an NLB's priority) is recorded in the target group's tags
// (panka:lb.*) and read back from there. A rule with the path "/*" only and no hosts reads
// back as neither paths nor hosts. Parts deleted behind Panka's back read back missing
// (drift), and Update makes them again. A change of the target group's port (the
// containerPort), protocol or VPC is refused (AWS cannot change them, and the target group's
// name is the service's): apply with --replace.
//
// Scaling: when scaling.max > min or a target is set, a scalable target
// (AWS::ApplicationAutoScaling::ScalableTarget, ID its resource ID service/CLUSTER/NAME) and
// target tracking policies (AWS::ApplicationAutoScaling::ScalingPolicy) panka-cpu and
// panka-memory on ECSServiceAverageCPUUtilization and ECSServiceAverageMemoryUtilization. The
// autoscaler changes the service's desired count: while scaling is active, Read reports the
// spec's desired count (recorded in the service's hidden tag panka:desiredCount, which Read
// does not report among the tags) whenever the live count is within [min, max], and Update
// sets the desired count only when the spec's changes or the live one is out of range.
//
// Waiting: Create, and every Update that changes the service, wait until it is stable: one
// deployment, whose running count is the desired count, reporting progress ("2 of 3 tasks
// running"). A task of the new deployment that stops fails the wait at once with its stopped
// reason and its container's ("task stopped: ..."): a permanent error, not ErrTransient (the
// engine retries nothing; the next apply with a fixed spec goes on from the live service).
// Stable, the previous task definition revisions are deregistered and deleted.
//
// Crash safety. Create makes the roles, the log group, the task definition, the target group
// and its rule, listeners and default actions, then the service, then the scaling parts: before
// the service exists nothing leads the engine to the others, so a failed Create deletes them
// again, and DeleteParts deletes what a killed one left, by their derived names (the target
// group's tags name the load balancer whose rules, listeners and default actions point at it).
// Delete goes the other way: scaling parts, desired count 0, DeleteService and the wait until
// it is INACTIVE, then the load balancer parts, the target group, the task definitions, the
// log group and the roles. Once the service is INACTIVE Find no longer finds it: what a killed
// Delete leaves after that, DeleteParts removes by name.

// Names, tags and limits of the service kinds.
const (
	tgNameLimit     = 32
	tagDesired      = "panka:desiredCount"
	tagLBTarget     = "panka:lb.target"
	tagLBPort       = "panka:lb.port"
	tagLBListener   = "panka:lb.listener"
	tagLBPriority   = "panka:lb.priority"
	tagLBHealth     = "panka:lb.healthCheck"
	tagLBArn        = "panka:lb.arn"
	tagLBType       = "panka:lb.type"
	placeholderBody = "no service attached"
	// nlbDefaultSSLPolicy is the schema's default sslPolicy of an NLB listener (schema's
	// netDefaultSSLPolicy), which the spec of a listener that is not TLS carries.
	nlbDefaultSSLPolicy = "ELBSecurityPolicy-TLS13-1-2-2021-06"
	cpuPolicy           = "panka-cpu"
	memoryPolicy        = "panka-memory"
)

func targetGroupName(name string) string { return cutName(name, tgNameLimit) }

type serviceKind struct {
	tasks
	name string // MicroService or Worker
	elb  *elb.Client
	aas  *applicationautoscaling.Client
}

func newMicroService(p *Provider) kind { return newServiceKind(p, "MicroService") }
func newWorker(p *Provider) kind       { return newServiceKind(p, "Worker") }

func newServiceKind(p *Provider, name string) *serviceKind {
	return &serviceKind{tasks: newTasks(p), name: name, elb: elb.NewFromConfig(p.cfg), aas: applicationautoscaling.NewFromConfig(p.cfg)}
}

// serviceARNParts returns the cluster and service names of a service ARN
// (arn:...:service/CLUSTER/NAME).
func serviceARNParts(arn string) (cluster, name string, err error) {
	_, rest, ok := strings.Cut(arn, ":service/")
	cluster, name, ok2 := strings.Cut(rest, "/")
	if !ok || !ok2 || cluster == "" || name == "" {
		return "", "", fmt.Errorf("%q is not an ECS service ARN (arn:...:service/CLUSTER/NAME)", arn)
	}
	return cluster, name, nil
}

func (k *serviceKind) lookup(ctx context.Context, name string) (string, error) {
	return "", errors.New("an ECS service is looked up in its cluster: the spec's cluster is needed")
}

// clusterOf is the cluster of the service r: its spec's, or, for a resource handed over without
// a spec (a create the state recorded pending, looked for after a crash), the stack's cluster by
// the engine's naming rule (its address is stack/cluster).
func clusterOf(r provider.Resource) string {
	if c := specString(r.Spec, "cluster"); c != "" {
		return c
	}
	d, err := deploymentOf(r.Name, r.Address)
	if err != nil {
		return ""
	}
	return d.physicalName(schema.StackService+"/cluster", "")
}

func (k *serviceKind) lookupResource(ctx context.Context, r provider.Resource) (string, error) {
	cluster := clusterOf(r)
	if cluster == "" {
		return "", fmt.Errorf("spec has no cluster (the engine injects it), and %s is not named as the engine names components", r.Name)
	}
	s, err := k.describe(ctx, cluster, r.Name)
	if err != nil {
		return "", err
	}
	return aws.ToString(s.ServiceArn), nil
}

// describe returns the service name in cluster, or an error wrapping ErrNotFound when it is
// missing or INACTIVE.
func (k *serviceKind) describe(ctx context.Context, cluster, name string) (*ecstypes.Service, error) {
	out, err := k.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{name},
		Include: []ecstypes.ServiceField{ecstypes.ServiceFieldTags}})
	if errorCode(err) == "ClusterNotFoundException" {
		// The cluster is gone, and its services with it (a destroy killed after deleting both,
		// before recording the service's delete).
		return nil, fmt.Errorf("%w: service %s: its cluster %s is gone", provider.ErrNotFound, name, cluster)
	}
	if err != nil {
		return nil, err
	}
	for _, s := range out.Services {
		if aws.ToString(s.Status) != "INACTIVE" {
			return &s, nil
		}
	}
	return nil, fmt.Errorf("%w: service %s in cluster %s", provider.ErrNotFound, name, cluster)
}

// lbWant is the loadBalancer block, as the engine injects it.
type lbWant struct {
	arn, typ, target, port string
	listener, priority     int64
	containerPort          int32
	listenerPort           int32
	paths, hosts           []string
	health                 map[string]any // nil: none written
	defaultForward         []int32
	listeners              []map[string]any // NLB
}

func lbOf(spec map[string]any) *lbWant {
	m := specMap(spec, "loadBalancer")
	if m == nil {
		return nil
	}
	w := &lbWant{arn: specString(m, "arn"), typ: specString(m, "type"), target: specString(m, "target"), port: specString(m, "port"),
		listener: specInt(m, "listener", 0), priority: specInt(m, "priority", 0), containerPort: int32(specInt(m, "containerPort", 0)),
		listenerPort: int32(specInt(m, "listenerPort", 0)), paths: specStrings(m, "paths"), hosts: specStrings(m, "hosts"), health: specMap(m, "healthCheck")}
	for _, p := range specList(m, "defaultForward") {
		w.defaultForward = append(w.defaultForward, int32(specInt(map[string]any{"p": p}, "p", 0)))
	}
	for _, l := range specList(m, "listeners") {
		if lm, ok := l.(map[string]any); ok {
			w.listeners = append(w.listeners, lm)
		}
	}
	return w
}

// tgProtocol is the target group's protocol.
func (w *lbWant) tgProtocol() elbtypes.ProtocolEnum {
	if w.typ != "network" {
		return elbtypes.ProtocolEnumHttp
	}
	if len(w.listeners) > 0 {
		switch specString(w.listeners[0], "protocol") {
		case "UDP":
			return elbtypes.ProtocolEnumUdp
		case "TCP_UDP":
			return elbtypes.ProtocolEnumTcpUdp
		}
	}
	return elbtypes.ProtocolEnumTcp
}

// tgTags are the target group's tags: the component's and what Read cannot get back otherwise.
func (w *lbWant) tgTags(tags map[string]string) []elbtypes.Tag {
	all := cloneTags(tags)
	if all == nil {
		all = map[string]string{}
	}
	all[tagLBTarget], all[tagLBArn], all[tagLBType] = w.target, w.arn, w.typ
	all[tagLBListener] = itoa(w.listener)
	if w.port != "" {
		all[tagLBPort] = w.port
	}
	if w.health != nil {
		all[tagLBHealth] = "true"
	}
	if w.typ == "network" {
		all[tagLBPriority] = itoa(w.priority)
	}
	var out []elbtypes.Tag
	for _, k := range slices.Sorted(maps.Keys(all)) {
		out = append(out, elbtypes.Tag{Key: aws.String(k), Value: aws.String(all[k])})
	}
	return out
}

// scalingWant is the scaling block.
type scalingWant struct {
	min, max, desired, cpu, memory int32
}

func scalingOf(spec map[string]any) scalingWant {
	s := specMap(spec, "scaling")
	return scalingWant{min: int32(specInt(s, "min", 1)), max: int32(specInt(s, "max", 1)), desired: int32(specInt(s, "desired", 1)),
		cpu: int32(specInt(s, "targetCPU", 0)), memory: int32(specInt(s, "targetMemory", 0))}
}

func (s scalingWant) active() bool { return s.max > s.min || s.cpu > 0 || s.memory > 0 }

func (k *serviceKind) create(ctx context.Context, r provider.Resource) (string, error) {
	cluster := specString(r.Spec, "cluster")
	if cluster == "" {
		return "", fmt.Errorf("spec has no cluster (the engine injects it)")
	}
	w, err := k.want(ctx, r)
	if err != nil {
		return "", err
	}
	lb := lbOf(r.Spec)
	if lb != nil && k.name != "MicroService" {
		return "", fmt.Errorf("a %s takes no load balancer", k.name)
	}
	sc := scalingOf(r.Spec)
	var arn, td string
	err = func() error {
		if err := k.ensureParts(ctx, r.Name, w); err != nil {
			return err
		}
		var err error
		td, err = retryRoleValue(ctx, func(ctx context.Context) (string, error) { return k.register(ctx, w) })
		if err != nil {
			return err
		}
		var lbs []ecstypes.LoadBalancer
		if lb != nil {
			tg, err := k.ensureTargetGroup(ctx, r.Name, lb, specString(specMap(r.Spec, "network"), "vpcId"), r.Tags)
			if err != nil {
				return err
			}
			if err := k.attach(ctx, tg, lb, r.Tags); err != nil {
				return err
			}
			lbs = []ecstypes.LoadBalancer{{TargetGroupArn: aws.String(tg), ContainerName: aws.String(w.def.Container), ContainerPort: aws.Int32(lb.containerPort)}}
		}
		tags := cloneTags(r.Tags)
		if tags == nil {
			tags = map[string]string{}
		}
		tags[tagDesired] = strconv.Itoa(int(sc.desired))
		out, err := k.ecs.CreateService(ctx, &ecs.CreateServiceInput{
			Cluster: aws.String(cluster), ServiceName: aws.String(r.Name), TaskDefinition: aws.String(td), DesiredCount: aws.Int32(sc.desired),
			LaunchType:           ecstypes.LaunchTypeFargate,
			NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: awsvpc(r.Spec)},
			DeploymentConfiguration: &ecstypes.DeploymentConfiguration{
				DeploymentCircuitBreaker: &ecstypes.DeploymentCircuitBreaker{Enable: false, Rollback: false}},
			EnableExecuteCommand: false, PropagateTags: ecstypes.PropagateTagsService, Tags: ecsTags(tags), LoadBalancers: lbs,
		})
		if err != nil {
			return fmt.Errorf("create service: %w", err)
		}
		arn = aws.ToString(out.Service.ServiceArn)
		return nil
	}()
	if err != nil {
		// No service: nothing would lead the engine to the parts made so far.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = k.deleteLeftovers(ctx, r)
		return "", err
	}
	// The service exists: every part made from here is found through it.
	clusterName, _, _ := serviceARNParts(arn)
	if err := k.reconcileScaling(ctx, clusterName, r.Name, sc); err != nil {
		return "", err
	}
	if err := k.waitStable(ctx, cluster, r.Name); err != nil {
		return "", err
	}
	// Revisions a killed Create registered before are no one's.
	if err := k.deleteRevisions(ctx, r.Name, td); err != nil {
		return "", err
	}
	return arn, nil
}

// retryRoleValue is retryRole for a call with a result.
func retryRoleValue[T any](ctx context.Context, fn func(context.Context) (T, error)) (T, error) {
	var v T
	err := retryRole(ctx, func(ctx context.Context) error {
		var err error
		v, err = fn(ctx)
		return err
	})
	return v, err
}

// ensureTargetGroup makes the service's target group (or adopts the one of its name, changing
// its health check to lb's) and returns its ARN.
func (k *serviceKind) ensureTargetGroup(ctx context.Context, name string, lb *lbWant, vpc string, tags map[string]string) (string, error) {
	tgName := targetGroupName(name)
	tg, err := k.targetGroup(ctx, tgName)
	if err != nil {
		return "", err
	}
	if tg != nil {
		if aws.ToInt32(tg.Port) != lb.containerPort || tg.Protocol != lb.tgProtocol() || vpc != "" && aws.ToString(tg.VpcId) != vpc {
			// AWS cannot change a target group's port, protocol or VPC, and its name is the
			// service's: it would have to go first, taking the service's traffic with it.
			return "", fmt.Errorf("target group %s is on port %d %s in %s; the spec needs port %d %s in %s, which AWS cannot change in place: apply with --replace",
				tgName, aws.ToInt32(tg.Port), tg.Protocol, aws.ToString(tg.VpcId), lb.containerPort, lb.tgProtocol(), vpc)
		}
		if err := k.modifyHealth(ctx, tg, lb); err != nil {
			return "", err
		}
		_, err := k.elb.AddTags(ctx, &elb.AddTagsInput{ResourceArns: []string{aws.ToString(tg.TargetGroupArn)}, Tags: lb.tgTags(tags)})
		if err != nil {
			return "", fmt.Errorf("tag target group %s: %w", tgName, err)
		}
		// What the spec no longer writes is no longer recorded.
		var stale []string
		want := lb.tgTags(tags)
		for _, key := range []string{tagLBPort, tagLBHealth, tagLBPriority} {
			if !slices.ContainsFunc(want, func(t elbtypes.Tag) bool { return aws.ToString(t.Key) == key }) {
				stale = append(stale, key)
			}
		}
		if len(stale) > 0 {
			if _, err := k.elb.RemoveTags(ctx, &elb.RemoveTagsInput{ResourceArns: []string{aws.ToString(tg.TargetGroupArn)}, TagKeys: stale}); err != nil {
				return "", fmt.Errorf("untag target group %s: %w", tgName, err)
			}
		}
		return aws.ToString(tg.TargetGroupArn), nil
	}
	in := &elb.CreateTargetGroupInput{Name: aws.String(tgName), TargetType: elbtypes.TargetTypeEnumIp, VpcId: aws.String(vpc),
		Port: aws.Int32(lb.containerPort), Protocol: lb.tgProtocol(), Tags: lb.tgTags(tags)}
	if h := lb.health; h != nil {
		in.HealthCheckPath, in.HealthCheckIntervalSeconds = aws.String(specString(h, "path")), aws.Int32(int32(specInt(h, "interval", 30)))
		in.HealthCheckTimeoutSeconds = aws.Int32(int32(specInt(h, "timeout", 5)))
		in.HealthyThresholdCount, in.UnhealthyThresholdCount = aws.Int32(int32(specInt(h, "healthyThreshold", 3))), aws.Int32(int32(specInt(h, "unhealthyThreshold", 3)))
		in.Matcher = &elbtypes.Matcher{HttpCode: aws.String(specString(h, "matcher"))}
		in.HealthCheckProtocol = elbtypes.ProtocolEnumHttp
	}
	out, err := k.elb.CreateTargetGroup(ctx, in)
	if err != nil {
		return "", fmt.Errorf("create target group %s: %w", tgName, err)
	}
	return aws.ToString(out.TargetGroups[0].TargetGroupArn), nil
}

// modifyHealth sets the target group's health check to lb's, when it differs.
func (k *serviceKind) modifyHealth(ctx context.Context, tg *elbtypes.TargetGroup, lb *lbWant) error {
	h := lb.health
	if h == nil {
		return nil
	}
	want := healthOf(tg)
	if want != nil && want["path"] == specString(h, "path") && want["interval"] == specInt(h, "interval", 30) && want["timeout"] == specInt(h, "timeout", 5) &&
		want["healthyThreshold"] == specInt(h, "healthyThreshold", 3) && want["unhealthyThreshold"] == specInt(h, "unhealthyThreshold", 3) && want["matcher"] == specString(h, "matcher") {
		return nil
	}
	_, err := k.elb.ModifyTargetGroup(ctx, &elb.ModifyTargetGroupInput{TargetGroupArn: tg.TargetGroupArn, HealthCheckPath: aws.String(specString(h, "path")),
		HealthCheckIntervalSeconds: aws.Int32(int32(specInt(h, "interval", 30))), HealthCheckTimeoutSeconds: aws.Int32(int32(specInt(h, "timeout", 5))),
		HealthyThresholdCount: aws.Int32(int32(specInt(h, "healthyThreshold", 3))), UnhealthyThresholdCount: aws.Int32(int32(specInt(h, "unhealthyThreshold", 3))),
		Matcher: &elbtypes.Matcher{HttpCode: aws.String(specString(h, "matcher"))}, HealthCheckProtocol: elbtypes.ProtocolEnumHttp})
	if err != nil {
		return fmt.Errorf("modify target group health check: %w", err)
	}
	return nil
}

func healthOf(tg *elbtypes.TargetGroup) map[string]any {
	if tg == nil {
		return nil
	}
	m := map[string]any{"path": aws.ToString(tg.HealthCheckPath), "interval": int64(aws.ToInt32(tg.HealthCheckIntervalSeconds)),
		"timeout": int64(aws.ToInt32(tg.HealthCheckTimeoutSeconds)), "healthyThreshold": int64(aws.ToInt32(tg.HealthyThresholdCount)),
		"unhealthyThreshold": int64(aws.ToInt32(tg.UnhealthyThresholdCount))}
	if tg.Matcher != nil {
		m["matcher"] = aws.ToString(tg.Matcher.HttpCode)
	}
	return m
}

// targetGroup returns the target group name, nil if there is none.
func (k *serviceKind) targetGroup(ctx context.Context, name string) (*elbtypes.TargetGroup, error) {
	out, err := k.elb.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{Names: []string{name}})
	if isNotFound(err) || errorCode(err) == "TargetGroupNotFound" {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("target group %s: %w", name, err)
	}
	for _, tg := range out.TargetGroups {
		if aws.ToString(tg.TargetGroupName) == name {
			return &tg, nil
		}
	}
	return nil, nil
}

func errorCode(err error) string {
	var code interface{ ErrorCode() string }
	if errors.As(err, &code) {
		return code.ErrorCode()
	}
	return ""
}

func forwardTo(tg string) []elbtypes.Action {
	return []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(tg)}}
}

func placeholder() []elbtypes.Action {
	return []elbtypes.Action{{Type: elbtypes.ActionTypeEnumFixedResponse, FixedResponseConfig: &elbtypes.FixedResponseActionConfig{
		StatusCode: aws.String("503"), ContentType: aws.String("text/plain"), MessageBody: aws.String(placeholderBody)}}}
}

// forwards reports whether actions forward to the target group tg.
func forwards(actions []elbtypes.Action, tg string) bool {
	for _, a := range actions {
		if aws.ToString(a.TargetGroupArn) == tg {
			return true
		}
		if a.ForwardConfig != nil {
			for _, t := range a.ForwardConfig.TargetGroups {
				if aws.ToString(t.TargetGroupArn) == tg {
					return true
				}
			}
		}
	}
	return false
}

// lbParts is what of a load balancer points at a target group.
type lbParts struct {
	listeners []elbtypes.Listener // all of the load balancer's
	rules     map[string]elbtypes.Rule
	// ruleOn is the listener ARN of each rule forwarding to the target group.
	ruleOn map[string]string
}

// lbPartsOf reads the listeners of the load balancer arn and the rules forwarding to tg.
func (k *serviceKind) lbPartsOf(ctx context.Context, arn, tg string) (*lbParts, error) {
	out := &lbParts{rules: map[string]elbtypes.Rule{}, ruleOn: map[string]string{}}
	in := &elb.DescribeListenersInput{LoadBalancerArn: aws.String(arn)}
	for {
		page, err := k.elb.DescribeListeners(ctx, in)
		if isNotFound(err) || errorCode(err) == "LoadBalancerNotFound" {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("listeners of %s: %w", arn, err)
		}
		out.listeners = append(out.listeners, page.Listeners...)
		if page.NextMarker == nil {
			break
		}
		in.Marker = page.NextMarker
	}
	for _, l := range out.listeners {
		if l.Protocol != elbtypes.ProtocolEnumHttp && l.Protocol != elbtypes.ProtocolEnumHttps {
			continue
		}
		rules, err := k.elb.DescribeRules(ctx, &elb.DescribeRulesInput{ListenerArn: l.ListenerArn})
		if err != nil {
			return nil, fmt.Errorf("rules of listener %s: %w", aws.ToString(l.ListenerArn), err)
		}
		for _, r := range rules.Rules {
			if !aws.ToBool(r.IsDefault) && forwards(r.Actions, tg) {
				out.rules[aws.ToString(r.RuleArn)] = r
				out.ruleOn[aws.ToString(r.RuleArn)] = aws.ToString(l.ListenerArn)
			}
		}
	}
	return out, nil
}

func (p *lbParts) listenerAt(port int32) *elbtypes.Listener {
	for i, l := range p.listeners {
		if aws.ToInt32(l.Port) == port {
			return &p.listeners[i]
		}
	}
	return nil
}

func ruleConditions(lb *lbWant) []elbtypes.RuleCondition {
	var out []elbtypes.RuleCondition
	paths := lb.paths
	if len(paths) == 0 && len(lb.hosts) == 0 {
		paths = []string{"/*"}
	}
	if len(paths) > 0 {
		out = append(out, elbtypes.RuleCondition{Field: aws.String("path-pattern"), PathPatternConfig: &elbtypes.PathPatternConditionConfig{Values: paths}})
	}
	if len(lb.hosts) > 0 {
		out = append(out, elbtypes.RuleCondition{Field: aws.String("host-header"), HostHeaderConfig: &elbtypes.HostHeaderConditionConfig{Values: lb.hosts}})
	}
	return out
}

// conditionValues returns a rule's path patterns and host headers.
func conditionValues(r elbtypes.Rule) (paths, hosts []string) {
	for _, c := range r.Conditions {
		switch aws.ToString(c.Field) {
		case "path-pattern":
			if c.PathPatternConfig != nil {
				paths = append(paths, c.PathPatternConfig.Values...)
			} else {
				paths = append(paths, c.Values...)
			}
		case "host-header":
			if c.HostHeaderConfig != nil {
				hosts = append(hosts, c.HostHeaderConfig.Values...)
			} else {
				hosts = append(hosts, c.Values...)
			}
		}
	}
	return paths, hosts
}

// attach makes the load balancer point at the target group tg as lb says: for an ALB the rule
// and the default actions, for an NLB the listeners; and undoes what points at it otherwise.
func (k *serviceKind) attach(ctx context.Context, tg string, lb *lbWant, tags map[string]string) error {
	parts, err := k.lbPartsOf(ctx, lb.arn, tg)
	if err != nil {
		return err
	}
	var elbTags []elbtypes.Tag
	for _, key := range slices.Sorted(maps.Keys(tags)) {
		elbTags = append(elbTags, elbtypes.Tag{Key: aws.String(key), Value: aws.String(tags[key])})
	}
	if lb.typ == "network" {
		want := map[int32]map[string]any{}
		for _, l := range lb.listeners {
			want[int32(specInt(l, "port", 0))] = l
		}
		for _, l := range parts.listeners {
			port := aws.ToInt32(l.Port)
			w, ok := want[port]
			switch {
			case !forwards(l.DefaultActions, tg):
				if ok {
					return fmt.Errorf("listener %d of %s forwards elsewhere: it is not this service's", port, lb.arn)
				}
			case !ok:
				if _, err := k.elb.DeleteListener(ctx, &elb.DeleteListenerInput{ListenerArn: l.ListenerArn}); err != nil && !isNotFound(err) {
					return fmt.Errorf("delete listener %d: %w", port, err)
				}
			default:
				delete(want, port)
				tls := specString(w, "protocol") == string(elbtypes.ProtocolEnumTls)
				if string(l.Protocol) != specString(w, "protocol") || certOf(l) != specString(w, "certificateArn") || tls && aws.ToString(l.SslPolicy) != specString(w, "sslPolicy") {
					in := &elb.ModifyListenerInput{ListenerArn: l.ListenerArn, Protocol: elbtypes.ProtocolEnum(specString(w, "protocol")), DefaultActions: forwardTo(tg)}
					if tls {
						in.Certificates, in.SslPolicy = []elbtypes.Certificate{{CertificateArn: aws.String(specString(w, "certificateArn"))}}, aws.String(specString(w, "sslPolicy"))
					}
					if _, err := k.elb.ModifyListener(ctx, in); err != nil {
						return fmt.Errorf("modify listener %d: %w", port, err)
					}
				}
			}
		}
		for _, port := range slices.Sorted(maps.Keys(want)) {
			w := want[port]
			in := &elb.CreateListenerInput{LoadBalancerArn: aws.String(lb.arn), Port: aws.Int32(port), Protocol: elbtypes.ProtocolEnum(specString(w, "protocol")),
				DefaultActions: forwardTo(tg), Tags: elbTags}
			if specString(w, "protocol") == string(elbtypes.ProtocolEnumTls) {
				if c := specString(w, "certificateArn"); c != "" {
					in.Certificates = []elbtypes.Certificate{{CertificateArn: aws.String(c)}}
				}
				if p := specString(w, "sslPolicy"); p != "" {
					in.SslPolicy = aws.String(p)
				}
			}
			if _, err := k.elb.CreateListener(ctx, in); err != nil {
				return fmt.Errorf("create listener %d: %w", port, err)
			}
		}
		return nil
	}
	// ALB: the rule.
	listener := parts.listenerAt(lb.listenerPort)
	if listener == nil {
		return fmt.Errorf("load balancer %s has no listener on port %d", lb.arn, lb.listenerPort)
	}
	found := false
	for _, arn := range slices.Sorted(maps.Keys(parts.rules)) {
		r := parts.rules[arn]
		if parts.ruleOn[arn] != aws.ToString(listener.ListenerArn) || found {
			if _, err := k.elb.DeleteRule(ctx, &elb.DeleteRuleInput{RuleArn: r.RuleArn}); err != nil && !isNotFound(err) {
				return fmt.Errorf("delete rule %s: %w", arn, err)
			}
			continue
		}
		found = true
		paths, hosts := conditionValues(r)
		want := ruleConditions(lb)
		wp, wh := conditionValues(elbtypes.Rule{Conditions: want})
		if !slices.Equal(paths, wp) || !slices.Equal(hosts, wh) {
			if _, err := k.elb.ModifyRule(ctx, &elb.ModifyRuleInput{RuleArn: r.RuleArn, Conditions: want, Actions: forwardTo(tg)}); err != nil {
				return fmt.Errorf("modify rule: %w", err)
			}
		}
		if aws.ToString(r.Priority) != itoa(lb.priority) {
			_, err := k.elb.SetRulePriorities(ctx, &elb.SetRulePrioritiesInput{RulePriorities: []elbtypes.RulePriorityPair{{RuleArn: r.RuleArn, Priority: aws.Int32(int32(lb.priority))}}})
			if err != nil {
				return fmt.Errorf("set rule priority: %w", err)
			}
		}
	}
	if !found {
		_, err := k.elb.CreateRule(ctx, &elb.CreateRuleInput{ListenerArn: listener.ListenerArn, Priority: aws.Int32(int32(lb.priority)),
			Conditions: ruleConditions(lb), Actions: forwardTo(tg), Tags: elbTags})
		if err != nil {
			return fmt.Errorf("create listener rule on port %d: %w", lb.listenerPort, err)
		}
	}
	// Default actions.
	for _, l := range parts.listeners {
		port := aws.ToInt32(l.Port)
		want, has := slices.Contains(lb.defaultForward, port), forwards(l.DefaultActions, tg)
		switch {
		case want && !has:
			if _, err := k.elb.ModifyListener(ctx, &elb.ModifyListenerInput{ListenerArn: l.ListenerArn, DefaultActions: forwardTo(tg)}); err != nil {
				return fmt.Errorf("default action of listener %d: %w", port, err)
			}
		case !want && has:
			if _, err := k.elb.ModifyListener(ctx, &elb.ModifyListenerInput{ListenerArn: l.ListenerArn, DefaultActions: placeholder()}); err != nil {
				return fmt.Errorf("default action of listener %d: %w", port, err)
			}
		}
	}
	for _, port := range lb.defaultForward {
		if parts.listenerAt(port) == nil {
			return fmt.Errorf("load balancer %s has no listener on port %d (defaultForward)", lb.arn, port)
		}
	}
	return nil
}

func certOf(l elbtypes.Listener) string {
	if len(l.Certificates) > 0 {
		return aws.ToString(l.Certificates[0].CertificateArn)
	}
	return ""
}

// detach removes what of the load balancer arn points at the target group tg: its rules, the
// NLB listeners forwarding to it (the service's), and default actions forwarding to it, set
// back to the ALB's placeholder.
func (k *serviceKind) detach(ctx context.Context, arn, typ, tg string) error {
	parts, err := k.lbPartsOf(ctx, arn, tg)
	if err != nil {
		return err
	}
	for _, ra := range slices.Sorted(maps.Keys(parts.rules)) {
		if _, err := k.elb.DeleteRule(ctx, &elb.DeleteRuleInput{RuleArn: aws.String(ra)}); err != nil && !isNotFound(err) {
			return fmt.Errorf("delete rule %s: %w", ra, err)
		}
	}
	for _, l := range parts.listeners {
		if !forwards(l.DefaultActions, tg) {
			continue
		}
		if typ == "network" {
			if _, err := k.elb.DeleteListener(ctx, &elb.DeleteListenerInput{ListenerArn: l.ListenerArn}); err != nil && !isNotFound(err) {
				return fmt.Errorf("delete listener %d: %w", aws.ToInt32(l.Port), err)
			}
			continue
		}
		if _, err := k.elb.ModifyListener(ctx, &elb.ModifyListenerInput{ListenerArn: l.ListenerArn, DefaultActions: placeholder()}); err != nil && !isNotFound(err) {
			return fmt.Errorf("default action of listener %d: %w", aws.ToInt32(l.Port), err)
		}
	}
	return nil
}

// deleteTargetGroup detaches the target group name from its load balancer (as its tags name
// it) and deletes it.
func (k *serviceKind) deleteTargetGroup(ctx context.Context, name string, owner map[string]string) error {
	tg, err := k.targetGroup(ctx, name)
	if err != nil || tg == nil {
		return err
	}
	arn := aws.ToString(tg.TargetGroupArn)
	tags, err := k.tgTags(ctx, arn)
	if err != nil {
		return err
	}
	if owner != nil && provider.CheckOwner("target group", name, tags, owner) != nil {
		return nil
	}
	lbs := tg.LoadBalancerArns
	if a := tags[tagLBArn]; a != "" && !slices.Contains(lbs, a) {
		lbs = append(lbs, a)
	}
	for _, lbARN := range lbs {
		typ := tags[tagLBType]
		if typ == "" && tg.Protocol != elbtypes.ProtocolEnumHttp && tg.Protocol != elbtypes.ProtocolEnumHttps {
			typ = "network" // untagged: an NLB's target group by its protocol
		}
		if err := k.detach(ctx, lbARN, typ, arn); err != nil {
			return err
		}
	}
	if _, err := k.elb.DeleteTargetGroup(ctx, &elb.DeleteTargetGroupInput{TargetGroupArn: aws.String(arn)}); err != nil && !isNotFound(err) {
		return fmt.Errorf("delete target group %s: %w", name, err)
	}
	return nil
}

func (k *serviceKind) tgTags(ctx context.Context, arn string) (map[string]string, error) {
	return elbTags(ctx, k.elb, arn)
}

// Scaling.

func scalingResource(cluster, name string) string { return "service/" + cluster + "/" + name }

// reconcileScaling makes the scalable target and policies of the service what s says.
func (k *serviceKind) reconcileScaling(ctx context.Context, cluster, name string, s scalingWant) error {
	res := aws.String(scalingResource(cluster, name))
	if !s.active() {
		return k.deleteScaling(ctx, cluster, name)
	}
	_, err := k.aas.RegisterScalableTarget(ctx, &applicationautoscaling.RegisterScalableTargetInput{ServiceNamespace: aastypes.ServiceNamespaceEcs,
		ResourceId: res, ScalableDimension: aastypes.ScalableDimensionECSServiceDesiredCount, MinCapacity: aws.Int32(s.min), MaxCapacity: aws.Int32(s.max)})
	if err != nil {
		return fmt.Errorf("register scalable target: %w", err)
	}
	have, err := k.policies(ctx, cluster, name)
	if err != nil {
		return err
	}
	for _, p := range []struct {
		name   string
		target int32
		metric aastypes.MetricType
	}{{cpuPolicy, s.cpu, aastypes.MetricTypeECSServiceAverageCPUUtilization}, {memoryPolicy, s.memory, aastypes.MetricTypeECSServiceAverageMemoryUtilization}} {
		live, ok := have[p.name]
		switch {
		case p.target == 0 && ok:
			if err := k.deletePolicy(ctx, res, p.name); err != nil {
				return err
			}
		case p.target > 0 && (!ok || live.TargetTrackingScalingPolicyConfiguration == nil || aws.ToFloat64(live.TargetTrackingScalingPolicyConfiguration.TargetValue) != float64(p.target)):
			_, err := k.aas.PutScalingPolicy(ctx, &applicationautoscaling.PutScalingPolicyInput{PolicyName: aws.String(p.name), ServiceNamespace: aastypes.ServiceNamespaceEcs,
				ResourceId: res, ScalableDimension: aastypes.ScalableDimensionECSServiceDesiredCount, PolicyType: aastypes.PolicyTypeTargetTrackingScaling,
				TargetTrackingScalingPolicyConfiguration: &aastypes.TargetTrackingScalingPolicyConfiguration{TargetValue: aws.Float64(float64(p.target)),
					PredefinedMetricSpecification: &aastypes.PredefinedMetricSpecification{PredefinedMetricType: p.metric}}})
			if err != nil {
				return fmt.Errorf("scaling policy %s: %w", p.name, err)
			}
		}
	}
	return nil
}

func (k *serviceKind) deletePolicy(ctx context.Context, res *string, name string) error {
	_, err := k.aas.DeleteScalingPolicy(ctx, &applicationautoscaling.DeleteScalingPolicyInput{PolicyName: aws.String(name), ServiceNamespace: aastypes.ServiceNamespaceEcs,
		ResourceId: res, ScalableDimension: aastypes.ScalableDimensionECSServiceDesiredCount})
	if err != nil && !isNotFound(err) && errorCode(err) != "ObjectNotFoundException" {
		return fmt.Errorf("delete scaling policy %s: %w", name, err)
	}
	return nil
}

// deleteScaling deletes the service's scaling policies and scalable target, if any.
func (k *serviceKind) deleteScaling(ctx context.Context, cluster, name string) error {
	res := aws.String(scalingResource(cluster, name))
	have, err := k.policies(ctx, cluster, name)
	if err != nil {
		return err
	}
	for _, p := range slices.Sorted(maps.Keys(have)) {
		if err := k.deletePolicy(ctx, res, p); err != nil {
			return err
		}
	}
	t, err := k.scalableTarget(ctx, cluster, name)
	if err != nil || t == nil {
		return err
	}
	_, err = k.aas.DeregisterScalableTarget(ctx, &applicationautoscaling.DeregisterScalableTargetInput{ServiceNamespace: aastypes.ServiceNamespaceEcs,
		ResourceId: res, ScalableDimension: aastypes.ScalableDimensionECSServiceDesiredCount})
	if err != nil && !isNotFound(err) && errorCode(err) != "ObjectNotFoundException" {
		return fmt.Errorf("deregister scalable target: %w", err)
	}
	return nil
}

func (k *serviceKind) scalableTarget(ctx context.Context, cluster, name string) (*aastypes.ScalableTarget, error) {
	out, err := k.aas.DescribeScalableTargets(ctx, &applicationautoscaling.DescribeScalableTargetsInput{ServiceNamespace: aastypes.ServiceNamespaceEcs,
		ResourceIds: []string{scalingResource(cluster, name)}, ScalableDimension: aastypes.ScalableDimensionECSServiceDesiredCount})
	if err != nil {
		return nil, fmt.Errorf("scalable target: %w", err)
	}
	if len(out.ScalableTargets) == 0 {
		return nil, nil
	}
	return &out.ScalableTargets[0], nil
}

func (k *serviceKind) policies(ctx context.Context, cluster, name string) (map[string]aastypes.ScalingPolicy, error) {
	out, err := k.aas.DescribeScalingPolicies(ctx, &applicationautoscaling.DescribeScalingPoliciesInput{ServiceNamespace: aastypes.ServiceNamespaceEcs,
		ResourceId: aws.String(scalingResource(cluster, name)), ScalableDimension: aastypes.ScalableDimensionECSServiceDesiredCount})
	if err != nil {
		return nil, fmt.Errorf("scaling policies: %w", err)
	}
	m := map[string]aastypes.ScalingPolicy{}
	for _, p := range out.ScalingPolicies {
		m[aws.ToString(p.PolicyName)] = p
	}
	return m, nil
}

// waitStable waits until the service has one deployment, running its desired count of tasks,
// reporting progress; a task of that deployment that stops fails the wait.
func (k *serviceKind) waitStable(ctx context.Context, cluster, name string) error {
	last := ""
	return waitFor(ctx, func(ctx context.Context) (bool, error) {
		done, err := k.stable(ctx, cluster, name, &last)
		if c := classify(err); c == provider.ErrTransient || c == provider.ErrThrottled {
			// A poll that failed on the way says nothing of the service: poll again (ctx
			// bounds the wait), rather than fail a Create whose service exists.
			return false, nil
		}
		return done, err
	})
}

// stable is one poll of waitStable.
func (k *serviceKind) stable(ctx context.Context, cluster, name string, last *string) (bool, error) {
	s, err := k.describe(ctx, cluster, name)
	if err != nil {
		return false, err
	}
	var primary *ecstypes.Deployment
	for i, d := range s.Deployments {
		if aws.ToString(d.Status) == "PRIMARY" {
			primary = &s.Deployments[i]
		}
	}
	if primary == nil {
		return false, nil
	}
	if err := k.stoppedTask(ctx, cluster, name, primary); err != nil {
		return false, err
	}
	msg := fmt.Sprintf("%d of %d tasks running", primary.RunningCount, primary.DesiredCount)
	if len(s.Deployments) > 1 {
		msg += fmt.Sprintf(" (%d deployments)", len(s.Deployments))
	}
	if msg != *last {
		provider.ReportProgress(ctx, msg)
		*last = msg
	}
	return len(s.Deployments) == 1 && primary.RunningCount == primary.DesiredCount && primary.DesiredCount == s.DesiredCount, nil
}

// stoppedTask returns an error naming the stopped reasons of a stopped task of the deployment
// d, nil if none stopped.
func (k *serviceKind) stoppedTask(ctx context.Context, cluster, name string, d *ecstypes.Deployment) error {
	list, err := k.ecs.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(cluster), ServiceName: aws.String(name), DesiredStatus: ecstypes.DesiredStatusStopped})
	if err != nil {
		return fmt.Errorf("stopped tasks: %w", err)
	}
	if len(list.TaskArns) == 0 {
		return nil
	}
	out, err := k.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: list.TaskArns[:min(100, len(list.TaskArns))]})
	if err != nil {
		return fmt.Errorf("stopped tasks: %w", err)
	}
	for _, t := range out.Tasks {
		if aws.ToString(t.StartedBy) != aws.ToString(d.Id) && aws.ToString(t.TaskDefinitionArn) != aws.ToString(d.TaskDefinition) {
			continue
		}
		if aws.ToString(t.LastStatus) != "STOPPED" || t.StopCode == ecstypes.TaskStopCodeServiceSchedulerInitiated || t.StopCode == ecstypes.TaskStopCodeUserInitiated {
			continue
		}
		return taskStopped(t)
	}
	return nil
}

// taskStopped is the error of a task that stopped: its stopped reason and its containers'.
func taskStopped(t ecstypes.Task) error {
	msg := "task stopped: " + cmp.Or(aws.ToString(t.StoppedReason), string(t.StopCode))
	for _, c := range t.Containers {
		if r := aws.ToString(c.Reason); r != "" {
			msg += fmt.Sprintf("; container %s: %s", aws.ToString(c.Name), r)
		} else if c.ExitCode != nil {
			msg += fmt.Sprintf("; container %s exited with code %d", aws.ToString(c.Name), aws.ToInt32(c.ExitCode))
		}
	}
	return fmt.Errorf("%s (task %s)", msg, aws.ToString(t.TaskArn))
}

// serviceLive is a service and its parts as read.
type serviceLive struct {
	svc     *ecstypes.Service
	cluster string // name
	task    *taskLive
	tg      *elbtypes.TargetGroup
	tgTags  map[string]string
	lb      *lbParts
	lbDNS   string
	target  *aastypes.ScalableTarget
	pols    map[string]aastypes.ScalingPolicy
}

func (k *serviceKind) read(ctx context.Context, id string) (*live, error) {
	cluster, name, err := serviceARNParts(id)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", provider.ErrNotFound, err)
	}
	s, err := k.describe(ctx, cluster, name)
	if err != nil {
		return nil, err
	}
	l := &serviceLive{svc: s, cluster: cluster}
	if l.task, err = k.readParts(ctx, name, aws.ToString(s.TaskDefinition)); err != nil {
		return nil, err
	}
	if l.tg, err = k.targetGroup(ctx, targetGroupName(name)); err != nil {
		return nil, err
	}
	if l.tg != nil {
		if l.tgTags, err = k.tgTags(ctx, aws.ToString(l.tg.TargetGroupArn)); err != nil {
			return nil, err
		}
		if a := l.tgTags[tagLBArn]; a != "" {
			if l.lb, err = k.lbPartsOf(ctx, a, aws.ToString(l.tg.TargetGroupArn)); err != nil {
				return nil, err
			}
			lbs, err := k.elb.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{LoadBalancerArns: []string{a}})
			if err == nil && len(lbs.LoadBalancers) > 0 {
				l.lbDNS = aws.ToString(lbs.LoadBalancers[0].DNSName)
			}
		}
	}
	if l.target, err = k.scalableTarget(ctx, cluster, name); err != nil {
		return nil, err
	}
	if l.pols, err = k.policies(ctx, cluster, name); err != nil {
		return nil, err
	}
	spec, err := k.spec(ctx, l)
	if err != nil {
		return nil, err
	}
	tags := fromECSTags(s.Tags)
	delete(tags, tagDesired)
	arn := aws.ToString(s.ServiceArn)
	outs := map[string]string{"serviceName": name, "serviceArn": arn, "arn": arn, "taskDefinitionArn": aws.ToString(s.TaskDefinition), "securityGroupId": ""}
	if groups := specStrings(specMap(spec, "network"), "securityGroups"); len(groups) > 0 {
		outs["securityGroupId"] = groups[0]
	}
	if k.name == "MicroService" {
		outs["url"] = l.url()
	}
	return &live{obs: &provider.Observed{ID: arn, Name: name, ARN: arn, Spec: spec, Tags: tags, Parts: l.parts(name), Outputs: outs}, raw: l}, nil
}

// url is a load-balanced service's address: http(s)://DNS[:port] of its ALB listener (https for
// HTTPS) or its first NLB listener (https for TLS), the port left out when it is the scheme's
// own; "" without a load balancer.
func (l *serviceLive) url() string {
	if l.lbDNS == "" || l.lb == nil || l.tg == nil {
		return ""
	}
	tg := aws.ToString(l.tg.TargetGroupArn)
	var pick *elbtypes.Listener
	for i, x := range l.lb.listeners {
		on := forwards(x.DefaultActions, tg)
		for ra, lis := range l.lb.ruleOn {
			_ = ra
			if lis == aws.ToString(x.ListenerArn) {
				on = true
			}
		}
		if on && (pick == nil || aws.ToInt32(x.Port) < aws.ToInt32(pick.Port)) {
			pick = &l.lb.listeners[i]
		}
	}
	if pick == nil {
		return ""
	}
	scheme, port := "http", aws.ToInt32(pick.Port)
	if pick.Protocol == elbtypes.ProtocolEnumHttps || pick.Protocol == elbtypes.ProtocolEnumTls {
		scheme = "https"
	}
	if scheme == "http" && port == 80 || scheme == "https" && port == 443 {
		return scheme + "://" + l.lbDNS
	}
	return fmt.Sprintf("%s://%s:%d", scheme, l.lbDNS, port)
}

func (l *serviceLive) parts(name string) []provider.Part {
	out := l.task.parts(name)
	if l.tg != nil {
		tg := aws.ToString(l.tg.TargetGroupArn)
		out = append(out, provider.Part{Type: "AWS::ElasticLoadBalancingV2::TargetGroup", ID: targetGroupName(name), ARN: tg})
		if l.lb != nil {
			for _, ra := range slices.Sorted(maps.Keys(l.lb.rules)) {
				out = append(out, provider.Part{Type: "AWS::ElasticLoadBalancingV2::ListenerRule", ID: ra, ARN: ra})
			}
			if l.tgTags[tagLBType] == "network" {
				for _, x := range l.lb.listeners {
					if forwards(x.DefaultActions, tg) {
						out = append(out, provider.Part{Type: "AWS::ElasticLoadBalancingV2::Listener", ID: aws.ToString(x.ListenerArn), ARN: aws.ToString(x.ListenerArn)})
					}
				}
			}
		}
	}
	if l.target != nil {
		out = append(out, provider.Part{Type: "AWS::ApplicationAutoScaling::ScalableTarget", ID: aws.ToString(l.target.ResourceId), ARN: aws.ToString(l.target.ScalableTargetARN)})
	}
	for _, p := range slices.Sorted(maps.Keys(l.pols)) {
		out = append(out, provider.Part{Type: "AWS::ApplicationAutoScaling::ScalingPolicy", ID: aws.ToString(l.pols[p].PolicyARN), ARN: aws.ToString(l.pols[p].PolicyARN)})
	}
	return out
}

// spec returns the spec of the live service.
func (k *serviceKind) spec(ctx context.Context, l *serviceLive) (map[string]any, error) {
	s := l.svc
	spec := map[string]any{"cluster": aws.ToString(s.ClusterArn)}
	l.task.spec(spec)
	if nc := s.NetworkConfiguration; nc != nil && nc.AwsvpcConfiguration != nil {
		n, err := k.network(ctx, nc.AwsvpcConfiguration.Subnets, nc.AwsvpcConfiguration.SecurityGroups)
		if err != nil {
			return nil, err
		}
		spec["network"] = n
	}
	live := int64(s.DesiredCount)
	sc := map[string]any{"min": live, "max": live, "desired": live, "targetCPU": int64(0), "targetMemory": int64(0)}
	if t := l.target; t != nil {
		lo, hi := int64(aws.ToInt32(t.MinCapacity)), int64(aws.ToInt32(t.MaxCapacity))
		sc["min"], sc["max"] = lo, hi
		if rec, err := strconv.ParseInt(fromECSTags(s.Tags)[tagDesired], 10, 64); err == nil && live >= lo && live <= hi {
			sc["desired"] = rec
		}
		for name, key := range map[string]string{cpuPolicy: "targetCPU", memoryPolicy: "targetMemory"} {
			if p, ok := l.pols[name]; ok && p.TargetTrackingScalingPolicyConfiguration != nil {
				sc[key] = int64(aws.ToFloat64(p.TargetTrackingScalingPolicyConfiguration.TargetValue))
			}
		}
	}
	spec["scaling"] = sc
	if l.tg != nil && l.tgTags[tagLBArn] != "" {
		spec["loadBalancer"] = l.lbSpec()
	}
	return spec, nil
}

// lbSpec is the loadBalancer block of the live service.
func (l *serviceLive) lbSpec() map[string]any {
	tags, tg := l.tgTags, aws.ToString(l.tg.TargetGroupArn)
	m := map[string]any{"target": tags[tagLBTarget], "arn": tags[tagLBArn], "type": tags[tagLBType], "containerPort": int64(aws.ToInt32(l.tg.Port)),
		"listener": atoi(tags[tagLBListener], 0), "priority": atoi(tags[tagLBPriority], 0)}
	if p := tags[tagLBPort]; p != "" {
		m["port"] = p
	}
	if tags[tagLBHealth] != "" {
		m["healthCheck"] = healthOf(l.tg)
	}
	if tags[tagLBType] == "network" {
		var ls []any
		for _, x := range l.lb.listeners {
			if !forwards(x.DefaultActions, tg) {
				continue
			}
			// The schema gives every NLB listener the default SSL policy; only a TLS one has it.
			e := map[string]any{"port": int64(aws.ToInt32(x.Port)), "protocol": string(x.Protocol), "sslPolicy": nlbDefaultSSLPolicy}
			if x.Protocol == elbtypes.ProtocolEnumTls {
				if c := certOf(x); c != "" {
					e["certificateArn"] = c
				}
				e["sslPolicy"] = aws.ToString(x.SslPolicy)
			}
			ls = append(ls, e)
		}
		// AWS lists listeners in no order of its own (the local AWS by ARN): by port.
		slices.SortFunc(ls, func(a, b any) int {
			return cmp.Compare(a.(map[string]any)["port"].(int64), b.(map[string]any)["port"].(int64))
		})
		if ls != nil {
			m["listeners"] = ls
		}
		return m
	}
	// The service's one rule (the first, were there more).
	if len(l.lb.rules) > 0 {
		ra := slices.Sorted(maps.Keys(l.lb.rules))[0]
		r := l.lb.rules[ra]
		for _, x := range l.lb.listeners {
			if aws.ToString(x.ListenerArn) == l.lb.ruleOn[ra] {
				m["listenerPort"] = int64(aws.ToInt32(x.Port))
			}
		}
		m["priority"] = atoi(aws.ToString(r.Priority), 0)
		paths, hosts := conditionValues(r)
		if len(hosts) == 0 && slices.Equal(paths, []string{"/*"}) {
			paths = nil
		}
		if paths != nil {
			m["paths"] = anyStrings(paths)
		}
		if hosts != nil {
			m["hosts"] = anyStrings(hosts)
		}
	}
	var fwd []any
	for _, x := range l.lb.listeners {
		if forwards(x.DefaultActions, tg) {
			fwd = append(fwd, int64(aws.ToInt32(x.Port)))
		}
	}
	if fwd != nil {
		m["defaultForward"] = fwd
	}
	return m
}

func (k *serviceKind) update(ctx context.Context, l *live, r provider.Resource) error {
	have := l.raw.(*serviceLive)
	s := have.svc
	name, cluster := aws.ToString(s.ServiceName), aws.ToString(s.ClusterArn)
	if c := specString(r.Spec, "cluster"); c != "" && c != cluster && !strings.HasSuffix(cluster, "/"+c) {
		return fmt.Errorf("the service is in cluster %s, the spec says %s: moving it needs a replacement", cluster, c)
	}
	lb := lbOf(r.Spec)
	if lb != nil && k.name != "MicroService" {
		return fmt.Errorf("a %s takes no load balancer", k.name)
	}
	w, td, err := k.updateTask(ctx, name, r, have.task.def, l.obs.Tags)
	if err != nil {
		return err
	}
	tags := w.tags
	in := &ecs.UpdateServiceInput{Cluster: aws.String(cluster), Service: aws.String(name)}
	touched := false
	if td != aws.ToString(s.TaskDefinition) {
		in.TaskDefinition, touched = aws.String(td), true
	}
	// Load balancing.
	var lbs []ecstypes.LoadBalancer
	if lb != nil {
		tg, err := k.ensureTargetGroup(ctx, name, lb, specString(specMap(r.Spec, "network"), "vpcId"), tags)
		if err != nil {
			return err
		}
		if have.tg != nil && aws.ToString(have.tg.TargetGroupArn) == tg && have.tgTags[tagLBArn] != "" && have.tgTags[tagLBArn] != lb.arn {
			if err := k.detach(ctx, have.tgTags[tagLBArn], have.tgTags[tagLBType], tg); err != nil {
				return err
			}
		}
		if err := k.attach(ctx, tg, lb, tags); err != nil {
			return err
		}
		lbs = []ecstypes.LoadBalancer{{TargetGroupArn: aws.String(tg), ContainerName: aws.String(w.def.Container), ContainerPort: aws.Int32(lb.containerPort)}}
	}
	if !sameLBs(s.LoadBalancers, lbs) {
		in.LoadBalancers, touched = lbs, true
		if lbs == nil {
			in.LoadBalancers = []ecstypes.LoadBalancer{}
		}
	}
	// Network.
	want := awsvpc(r.Spec)
	if nc := s.NetworkConfiguration; nc == nil || nc.AwsvpcConfiguration == nil || !slices.Equal(nc.AwsvpcConfiguration.Subnets, want.Subnets) ||
		!slices.Equal(nc.AwsvpcConfiguration.SecurityGroups, want.SecurityGroups) || nc.AwsvpcConfiguration.AssignPublicIp != want.AssignPublicIp {
		in.NetworkConfiguration, touched = &ecstypes.NetworkConfiguration{AwsvpcConfiguration: want}, true
	}
	// Desired count.
	sc := scalingOf(r.Spec)
	recorded := fromECSTags(s.Tags)[tagDesired]
	switch {
	case !sc.active() && s.DesiredCount != sc.desired,
		sc.active() && (recorded != strconv.Itoa(int(sc.desired)) || s.DesiredCount < sc.min || s.DesiredCount > sc.max):
		in.DesiredCount, touched = aws.Int32(sc.desired), true
	}
	if touched {
		if _, err := k.ecs.UpdateService(ctx, in); err != nil {
			return fmt.Errorf("update service: %w", err)
		}
	}
	if recorded != strconv.Itoa(int(sc.desired)) {
		if err := ecsTag(ctx, k.ecs, aws.ToString(s.ServiceArn), map[string]string{tagDesired: strconv.Itoa(int(sc.desired))}, nil); err != nil {
			return fmt.Errorf("tag the desired count: %w", err)
		}
	}
	if err := k.reconcileScaling(ctx, have.cluster, name, sc); err != nil {
		return err
	}
	if touched {
		if err := k.waitStable(ctx, cluster, name); err != nil {
			return err
		}
	}
	// The service no longer uses the old load balancer parts and revisions.
	if lb == nil && have.tg != nil {
		if err := k.deleteTargetGroup(ctx, targetGroupName(name), nil); err != nil {
			return err
		}
	}
	return k.deleteRevisions(ctx, name, td)
}

func sameLBs(a, b []ecstypes.LoadBalancer) bool {
	return slices.EqualFunc(a, b, func(x, y ecstypes.LoadBalancer) bool {
		return aws.ToString(x.TargetGroupArn) == aws.ToString(y.TargetGroupArn) && aws.ToString(x.ContainerName) == aws.ToString(y.ContainerName) &&
			aws.ToInt32(x.ContainerPort) == aws.ToInt32(y.ContainerPort)
	})
}

func (k *serviceKind) tag(ctx context.Context, l *live, set map[string]string, remove []string) error {
	return ecsTag(ctx, k.ecs, l.obs.ID, set, remove)
}

// delete removes the scaling parts, the service (waiting until it is INACTIVE), then the parts
// it used (deleteLeftovers).
func (k *serviceKind) delete(ctx context.Context, l *live) error {
	have := l.raw.(*serviceLive)
	s := have.svc
	name, cluster := aws.ToString(s.ServiceName), aws.ToString(s.ClusterArn)
	if err := k.deleteScaling(ctx, have.cluster, name); err != nil {
		return err
	}
	if aws.ToString(s.Status) == "ACTIVE" {
		if s.DesiredCount > 0 {
			if _, err := k.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(cluster), Service: aws.String(name), DesiredCount: aws.Int32(0)}); err != nil {
				return fmt.Errorf("scale the service to 0: %w", err)
			}
		}
		if _, err := k.ecs.DeleteService(ctx, &ecs.DeleteServiceInput{Cluster: aws.String(cluster), Service: aws.String(name)}); err != nil && !isNotFound(err) {
			return fmt.Errorf("delete service: %w", err)
		}
	}
	err := waitFor(ctx, func(ctx context.Context) (bool, error) {
		_, err := k.describe(ctx, cluster, name)
		if isNotFound(err) {
			return true, nil
		}
		provider.ReportProgress(ctx, "waiting for the service's tasks to stop")
		return false, err
	})
	if err != nil {
		return fmt.Errorf("waiting for the service to be INACTIVE: %w", err)
	}
	return k.deleteOwnedLeftovers(ctx, provider.Resource{Name: name})
}

// deleteLeftovers deletes what a create of r makes before the service, and a delete after it,
// unless the service exists (its parts stay with it); parts whose ownership tags name another
// owner than r.Tags stay too.
func (k *serviceKind) deleteLeftovers(ctx context.Context, r provider.Resource) error {
	if c := clusterOf(r); c != "" {
		_, err := k.describe(ctx, c, r.Name)
		if err == nil {
			return nil
		}
		if !isNotFound(err) {
			return fmt.Errorf("service %s: %w", r.Name, err)
		}
	}
	return k.deleteOwnedLeftovers(ctx, r)
}

func (k *serviceKind) deleteOwnedLeftovers(ctx context.Context, r provider.Resource) error {
	if err := k.deleteTargetGroup(ctx, targetGroupName(r.Name), r.Tags); err != nil {
		return err
	}
	return k.deleteOwnedParts(ctx, r)
}

func (k *serviceKind) deletePart(ctx context.Context, p provider.Part) (bool, error) {
	switch p.Type {
	case "AWS::ElasticLoadBalancingV2::TargetGroup":
		return true, k.deleteTargetGroup(ctx, p.ID, nil)
	case "AWS::ElasticLoadBalancingV2::ListenerRule":
		if _, err := k.elb.DeleteRule(ctx, &elb.DeleteRuleInput{RuleArn: aws.String(p.ID)}); err != nil && !isNotFound(err) && errorCode(err) != "RuleNotFound" {
			return true, fmt.Errorf("delete rule %s: %w", p.ID, err)
		}
		return true, nil
	case "AWS::ElasticLoadBalancingV2::Listener":
		if _, err := k.elb.DeleteListener(ctx, &elb.DeleteListenerInput{ListenerArn: aws.String(p.ID)}); err != nil && !isNotFound(err) && errorCode(err) != "ListenerNotFound" {
			return true, fmt.Errorf("delete listener %s: %w", p.ID, err)
		}
		return true, nil
	case "AWS::ApplicationAutoScaling::ScalableTarget":
		_, err := k.aas.DeregisterScalableTarget(ctx, &applicationautoscaling.DeregisterScalableTargetInput{ServiceNamespace: aastypes.ServiceNamespaceEcs,
			ResourceId: aws.String(p.ID), ScalableDimension: aastypes.ScalableDimensionECSServiceDesiredCount})
		if err != nil && !isNotFound(err) && errorCode(err) != "ObjectNotFoundException" {
			return true, fmt.Errorf("deregister scalable target %s: %w", p.ID, err)
		}
		return true, nil
	case "AWS::ApplicationAutoScaling::ScalingPolicy":
		return true, nil // deregistering its scalable target deletes it
	}
	return k.deleteTaskPart(ctx, p)
}
