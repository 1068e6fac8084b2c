package localaws

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	aas "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	aastypes "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
)

func gapAASClient(t *testing.T, endpoint string) *aas.Client {
	t.Helper()
	cfg, err := sdkConfig(t.Context(), endpoint, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	return aas.NewFromConfig(cfg)
}

func scalableECSTarget(resource string, lo, hi int32) *aas.RegisterScalableTargetInput {
	return &aas.RegisterScalableTargetInput{ServiceNamespace: aastypes.ServiceNamespaceEcs, ResourceId: aws.String(resource),
		ScalableDimension: aastypes.ScalableDimensionECSServiceDesiredCount, MinCapacity: aws.Int32(lo), MaxCapacity: aws.Int32(hi)}
}

// Kumo v0.33.1 has no Application Auto Scaling: it answers none of its operations.
func TestKumoHasNoApplicationAutoScaling(t *testing.T) {
	c := gapAASClient(t, gapEmulator(t).srv.URL) // kumo itself
	if _, err := c.RegisterScalableTarget(t.Context(), scalableECSTarget("service/c/kumo", 1, 2)); err == nil {
		t.Fatal("kumo answers RegisterScalableTarget: check whether the layer's Application Auto Scaling can go")
	}
	if _, err := c.DescribeScalableTargets(t.Context(), &aas.DescribeScalableTargetsInput{ServiceNamespace: aastypes.ServiceNamespaceEcs}); err == nil {
		t.Fatal("kumo answers DescribeScalableTargets: check whether the layer's Application Auto Scaling can go")
	}
}

func describeTarget(t *testing.T, c *aas.Client, resource string) []aastypes.ScalableTarget {
	t.Helper()
	out, err := c.DescribeScalableTargets(t.Context(), &aas.DescribeScalableTargetsInput{ServiceNamespace: aastypes.ServiceNamespaceEcs, ResourceIds: []string{resource}})
	if err != nil {
		t.Fatal(err)
	}
	return out.ScalableTargets
}

func TestGapAutoScalingScalableTargets(t *testing.T) {
	c := gapAASClient(t, gapEmulator(t).URL)
	ctx := t.Context()
	res := "service/cluster/" + uniqueName("svc")
	in := scalableECSTarget(res, 1, 4)
	in.Tags = map[string]string{"team": "web"}
	reg, err := c.RegisterScalableTarget(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(reg.ScalableTargetARN)
	if !strings.HasPrefix(arn, "arn:aws:application-autoscaling:us-east-1:000000000000:scalable-target/") {
		t.Errorf("ScalableTargetARN = %q", arn)
	}
	got := describeTarget(t, c, res)
	if len(got) != 1 || aws.ToInt32(got[0].MinCapacity) != 1 || aws.ToInt32(got[0].MaxCapacity) != 4 ||
		aws.ToString(got[0].ScalableTargetARN) != arn || got[0].ScalableDimension != aastypes.ScalableDimensionECSServiceDesiredCount ||
		got[0].CreationTime == nil || aws.ToString(got[0].RoleARN) == "" {
		t.Fatalf("DescribeScalableTargets = %+v", got)
	}

	// Registering again updates the target in place: same ARN, new capacity, tags kept.
	again, err := c.RegisterScalableTarget(ctx, &aas.RegisterScalableTargetInput{ServiceNamespace: aastypes.ServiceNamespaceEcs,
		ResourceId: aws.String(res), ScalableDimension: aastypes.ScalableDimensionECSServiceDesiredCount, MaxCapacity: aws.Int32(8)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(again.ScalableTargetARN) != arn {
		t.Errorf("register again: ARN %q, want %q", aws.ToString(again.ScalableTargetARN), arn)
	}
	if got := describeTarget(t, c, res); len(got) != 1 || aws.ToInt32(got[0].MinCapacity) != 1 || aws.ToInt32(got[0].MaxCapacity) != 8 {
		t.Errorf("after the update: %+v", got)
	}

	// Tags.
	tags := func() map[string]string {
		out, err := c.ListTagsForResource(ctx, &aas.ListTagsForResourceInput{ResourceARN: aws.String(arn)})
		if err != nil {
			t.Fatal(err)
		}
		return out.Tags
	}
	if got := tags(); len(got) != 1 || got["team"] != "web" {
		t.Errorf("tags = %v", got)
	}
	if _, err := c.TagResource(ctx, &aas.TagResourceInput{ResourceARN: aws.String(arn), Tags: map[string]string{"env": "dev", "team": "api"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UntagResource(ctx, &aas.UntagResourceInput{ResourceARN: aws.String(arn), TagKeys: []string{"env"}}); err != nil {
		t.Fatal(err)
	}
	if got := tags(); len(got) != 1 || got["team"] != "api" {
		t.Errorf("tags after tag and untag = %v", got)
	}

	// Errors.
	bad := []struct {
		name string
		call func() error
		code string
	}{
		{"new target without capacity", func() error {
			_, err := c.RegisterScalableTarget(ctx, &aas.RegisterScalableTargetInput{ServiceNamespace: aastypes.ServiceNamespaceEcs,
				ResourceId: aws.String("service/cluster/" + uniqueName("none")), ScalableDimension: aastypes.ScalableDimensionECSServiceDesiredCount})
			return err
		}, "ValidationException"},
		{"min above max", func() error {
			_, err := c.RegisterScalableTarget(ctx, scalableECSTarget("service/cluster/"+uniqueName("minmax"), 5, 2))
			return err
		}, "ValidationException"},
		{"bad resource ID", func() error {
			_, err := c.RegisterScalableTarget(ctx, scalableECSTarget("cluster/x", 1, 2))
			return err
		}, "ValidationException"},
		{"tag a missing target", func() error {
			_, err := c.TagResource(ctx, &aas.TagResourceInput{ResourceARN: aws.String(arn + "0"), Tags: map[string]string{"k": "v"}})
			return err
		}, "ResourceNotFoundException"},
		{"list tags of a missing target", func() error {
			_, err := c.ListTagsForResource(ctx, &aas.ListTagsForResourceInput{ResourceARN: aws.String(arn + "0")})
			return err
		}, "ResourceNotFoundException"},
		{"deregister a missing target", func() error {
			_, err := c.DeregisterScalableTarget(ctx, &aas.DeregisterScalableTargetInput{ServiceNamespace: aastypes.ServiceNamespaceEcs,
				ResourceId: aws.String("service/cluster/nope"), ScalableDimension: aastypes.ScalableDimensionECSServiceDesiredCount})
			return err
		}, "ObjectNotFoundException"},
	}
	for _, b := range bad {
		if err := b.call(); errorCode(err) != b.code {
			t.Errorf("%s: %v, want %s", b.name, err, b.code)
		}
	}

	if _, err := c.DeregisterScalableTarget(ctx, &aas.DeregisterScalableTargetInput{ServiceNamespace: aastypes.ServiceNamespaceEcs,
		ResourceId: aws.String(res), ScalableDimension: aastypes.ScalableDimensionECSServiceDesiredCount}); err != nil {
		t.Fatal(err)
	}
	if got := describeTarget(t, c, res); len(got) != 0 {
		t.Errorf("after DeregisterScalableTarget: %+v", got)
	}
	if _, err := c.ListTagsForResource(ctx, &aas.ListTagsForResourceInput{ResourceARN: aws.String(arn)}); errorCode(err) != "ResourceNotFoundException" {
		t.Errorf("tags of a deregistered target: %v, want ResourceNotFoundException", err)
	}
}

func cpuPolicy(res, name string, target float64) *aas.PutScalingPolicyInput {
	return &aas.PutScalingPolicyInput{PolicyName: aws.String(name), ServiceNamespace: aastypes.ServiceNamespaceEcs, ResourceId: aws.String(res),
		ScalableDimension: aastypes.ScalableDimensionECSServiceDesiredCount, PolicyType: aastypes.PolicyTypeTargetTrackingScaling,
		TargetTrackingScalingPolicyConfiguration: &aastypes.TargetTrackingScalingPolicyConfiguration{
			TargetValue:                   aws.Float64(target),
			PredefinedMetricSpecification: &aastypes.PredefinedMetricSpecification{PredefinedMetricType: aastypes.MetricTypeECSServiceAverageCPUUtilization},
			ScaleInCooldown:               aws.Int32(120), ScaleOutCooldown: aws.Int32(60),
		}}
}

func TestGapAutoScalingPolicies(t *testing.T) {
	c := gapAASClient(t, gapEmulator(t).URL)
	ctx := t.Context()
	res := "service/cluster/" + uniqueName("svc")
	if _, err := c.PutScalingPolicy(ctx, cpuPolicy(res, "cpu", 50)); errorCode(err) != "ObjectNotFoundException" {
		t.Errorf("a policy of a target not registered: %v, want ObjectNotFoundException", err)
	}
	if _, err := c.RegisterScalableTarget(ctx, scalableECSTarget(res, 1, 3)); err != nil {
		t.Fatal(err)
	}
	put, err := c.PutScalingPolicy(ctx, cpuPolicy(res, "cpu", 50))
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(put.PolicyARN)
	if !strings.HasPrefix(arn, "arn:aws:autoscaling:us-east-1:000000000000:scalingPolicy:") || !strings.HasSuffix(arn, ":resource/ecs/"+res+":policyName/cpu") {
		t.Errorf("PolicyARN = %q", arn)
	}
	mem := cpuPolicy(res, "memory", 70)
	mem.TargetTrackingScalingPolicyConfiguration.PredefinedMetricSpecification.PredefinedMetricType = aastypes.MetricTypeECSServiceAverageMemoryUtilization
	mem.TargetTrackingScalingPolicyConfiguration.DisableScaleIn = aws.Bool(true)
	if _, err := c.PutScalingPolicy(ctx, mem); err != nil {
		t.Fatal(err)
	}
	// Put again: the policy is updated in place.
	again, err := c.PutScalingPolicy(ctx, cpuPolicy(res, "cpu", 65))
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(again.PolicyARN) != arn {
		t.Errorf("put again: ARN %q, want %q", aws.ToString(again.PolicyARN), arn)
	}
	describe := func(names ...string) []aastypes.ScalingPolicy {
		out, err := c.DescribeScalingPolicies(ctx, &aas.DescribeScalingPoliciesInput{ServiceNamespace: aastypes.ServiceNamespaceEcs, ResourceId: aws.String(res), PolicyNames: names})
		if err != nil {
			t.Fatal(err)
		}
		return out.ScalingPolicies
	}
	ps := describe()
	if len(ps) != 2 {
		t.Fatalf("DescribeScalingPolicies = %d policies, want 2", len(ps))
	}
	byName := map[string]aastypes.ScalingPolicy{}
	for _, p := range ps {
		byName[aws.ToString(p.PolicyName)] = p
	}
	cpu, m := byName["cpu"].TargetTrackingScalingPolicyConfiguration, byName["memory"].TargetTrackingScalingPolicyConfiguration
	if byName["cpu"].PolicyType != aastypes.PolicyTypeTargetTrackingScaling || aws.ToString(byName["cpu"].PolicyARN) != arn || cpu == nil ||
		aws.ToFloat64(cpu.TargetValue) != 65 || aws.ToInt32(cpu.ScaleInCooldown) != 120 || aws.ToInt32(cpu.ScaleOutCooldown) != 60 ||
		cpu.PredefinedMetricSpecification.PredefinedMetricType != aastypes.MetricTypeECSServiceAverageCPUUtilization {
		t.Errorf("cpu policy = %+v (%+v)", byName["cpu"], cpu)
	}
	if m == nil || aws.ToFloat64(m.TargetValue) != 70 || !aws.ToBool(m.DisableScaleIn) ||
		m.PredefinedMetricSpecification.PredefinedMetricType != aastypes.MetricTypeECSServiceAverageMemoryUtilization {
		t.Errorf("memory policy = %+v", m)
	}
	if got := describe("memory"); len(got) != 1 || aws.ToString(got[0].PolicyName) != "memory" {
		t.Errorf("DescribeScalingPolicies(memory) = %+v", got)
	}
	noMetric := cpuPolicy(res, "bad", 50)
	noMetric.TargetTrackingScalingPolicyConfiguration.PredefinedMetricSpecification = nil
	if _, err := c.PutScalingPolicy(ctx, noMetric); errorCode(err) != "ValidationException" {
		t.Errorf("a target tracking policy without a metric: %v, want ValidationException", err)
	}
	del := &aas.DeleteScalingPolicyInput{PolicyName: aws.String("cpu"), ServiceNamespace: aastypes.ServiceNamespaceEcs, ResourceId: aws.String(res),
		ScalableDimension: aastypes.ScalableDimensionECSServiceDesiredCount}
	if _, err := c.DeleteScalingPolicy(ctx, del); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteScalingPolicy(ctx, del); errorCode(err) != "ObjectNotFoundException" {
		t.Errorf("delete a deleted policy: %v, want ObjectNotFoundException", err)
	}
	if got := describe(); len(got) != 1 || aws.ToString(got[0].PolicyName) != "memory" {
		t.Errorf("after DeleteScalingPolicy: %+v", got)
	}
	// Deregistering the target deletes its policies.
	if _, err := c.DeregisterScalableTarget(ctx, &aas.DeregisterScalableTargetInput{ServiceNamespace: aastypes.ServiceNamespaceEcs,
		ResourceId: aws.String(res), ScalableDimension: aastypes.ScalableDimensionECSServiceDesiredCount}); err != nil {
		t.Fatal(err)
	}
	if got := describe(); len(got) != 0 {
		t.Errorf("policies of a deregistered target: %+v", got)
	}
}

// An operation the layer does not answer fails, naming it, instead of reaching kumo.
func TestGapAutoScalingUnknownOperation(t *testing.T) {
	c := gapAASClient(t, gapEmulator(t).URL)
	_, err := c.DescribeScalingActivities(t.Context(), &aas.DescribeScalingActivitiesInput{ServiceNamespace: aastypes.ServiceNamespaceEcs})
	if errorCode(err) != "UnknownOperationException" || !strings.Contains(err.Error(), "DescribeScalingActivities") {
		t.Errorf("DescribeScalingActivities: %v, want UnknownOperationException naming it", err)
	}
}

// The layer's scalable targets, policies and tags persist in the data directory.
func TestGapAutoScalingStatePersists(t *testing.T) {
	dir := t.TempDir()
	g := newAASGapState(dir)
	call := func(g *aasGapState, h func(*aasGapState, []byte) (any, *aasError), in any) any {
		t.Helper()
		body, _ := json.Marshal(in)
		g.mu.Lock()
		defer g.mu.Unlock()
		out, aerr := h(g, body)
		if aerr != nil {
			t.Fatal(aerr.code, aerr.msg)
		}
		if err := g.saveLocked(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	reg := call(g, aasRegister, scalableECSTarget("service/c/s", 2, 5)).(map[string]string)
	call(g, aasTagResource, map[string]any{"ResourceARN": reg["ScalableTargetARN"], "Tags": map[string]string{"k": "v"}})
	call(g, aasPutPolicy, cpuPolicy("service/c/s", "cpu", 40))

	g2 := newAASGapState(dir) // a restart
	targets := call(g2, aasDescribeTargets, map[string]string{"ServiceNamespace": "ecs"}).(map[string]any)["ScalableTargets"].([]aasTarget)
	if len(targets) != 1 || targets[0].MinCapacity != 2 || targets[0].MaxCapacity != 5 || targets[0].ScalableTargetARN != reg["ScalableTargetARN"] {
		t.Errorf("targets after a restart: %+v", targets)
	}
	tags := call(g2, aasListTags, map[string]string{"ResourceARN": reg["ScalableTargetARN"]}).(map[string]any)["Tags"].(map[string]string)
	if tags["k"] != "v" {
		t.Errorf("tags after a restart: %v", tags)
	}
	policies := call(g2, aasDescribePolicies, map[string]string{"ServiceNamespace": "ecs"}).(map[string]any)["ScalingPolicies"].([]*aasPolicy)
	if len(policies) != 1 || policies[0].PolicyName != "cpu" || !strings.Contains(string(policies[0].TargetTracking), `"TargetValue":40`) {
		t.Errorf("policies after a restart: %+v", policies)
	}
}
