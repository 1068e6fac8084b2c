package localaws

import (
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func gapELBClient(t *testing.T, endpoint string) *elb.Client {
	t.Helper()
	cfg, err := sdkConfig(t.Context(), endpoint, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	return elb.NewFromConfig(cfg)
}

// ec2Query sends kumo's EC2 a Query request and returns the text of the first element name in
// its answer.
func ec2Query(t *testing.T, form url.Values, name string) string {
	t.Helper()
	form.Set("Version", "2016-11-15")
	status, data, err := gapEmulator(t).gap.askKumo(t.Context(), "ec2", "", []byte(form.Encode()))
	if err != nil || status != 200 {
		t.Fatalf("EC2 %s: %d %s %v", form.Get("Action"), status, data, err)
	}
	m := regexp.MustCompile("<" + name + ">([^<]+)</").FindSubmatch(data)
	if m == nil {
		t.Fatalf("EC2 %s: no %s in %s", form.Get("Action"), name, data)
	}
	return string(m[1])
}

// newSubnets makes a VPC with two subnets in kumo's EC2.
func newSubnets(t *testing.T) (vpc string, subnets []string) {
	t.Helper()
	vpc = ec2Query(t, url.Values{"Action": {"CreateVpc"}, "CidrBlock": {"10.9.0.0/16"}}, "vpcId")
	for i, az := range []string{"us-east-1a", "us-east-1b"} {
		subnets = append(subnets, ec2Query(t, url.Values{"Action": {"CreateSubnet"}, "VpcId": {vpc},
			"CidrBlock": {"10.9." + string(rune('1'+i)) + ".0/24"}, "AvailabilityZone": {az}}, "subnetId"))
	}
	return vpc, subnets
}

type elbFixture struct {
	c       *elb.Client
	vpc     string
	subnets []string
	lb      *elbtypes.LoadBalancer
	tg      *elbtypes.TargetGroup
}

// newELB makes a VPC, an internal application load balancer in it and an ip target group.
func newELB(t *testing.T, endpoint string) *elbFixture {
	t.Helper()
	f := &elbFixture{c: gapELBClient(t, endpoint)}
	f.vpc, f.subnets = newSubnets(t)
	lb, err := f.c.CreateLoadBalancer(t.Context(), &elb.CreateLoadBalancerInput{Name: aws.String(uniqueName("lb")), Subnets: f.subnets,
		Scheme: elbtypes.LoadBalancerSchemeEnumInternal, Type: elbtypes.LoadBalancerTypeEnumApplication, SecurityGroups: []string{"sg-123"},
		Tags: []elbtypes.Tag{{Key: aws.String("made"), Value: aws.String("create")}}})
	if err != nil {
		t.Fatal(err)
	}
	f.lb = &lb.LoadBalancers[0]
	tg, err := f.c.CreateTargetGroup(t.Context(), &elb.CreateTargetGroupInput{Name: aws.String(uniqueName("tg")), Protocol: elbtypes.ProtocolEnumHttp,
		Port: aws.Int32(8080), VpcId: aws.String(f.vpc), TargetType: elbtypes.TargetTypeEnumIp, HealthCheckPath: aws.String("/health")})
	if err != nil {
		t.Fatal(err)
	}
	f.tg = &tg.TargetGroups[0]
	return f
}

var fixed404 = elbtypes.Action{Type: elbtypes.ActionTypeEnumFixedResponse, FixedResponseConfig: &elbtypes.FixedResponseActionConfig{
	StatusCode: aws.String("404"), ContentType: aws.String("text/plain"), MessageBody: aws.String("not here")}}

var redirectHTTPS = elbtypes.Action{Type: elbtypes.ActionTypeEnumRedirect, RedirectConfig: &elbtypes.RedirectActionConfig{
	Protocol: aws.String("HTTPS"), Port: aws.String("443"), Host: aws.String("#{host}"), Path: aws.String("/#{path}"), Query: aws.String("#{query}"),
	StatusCode: elbtypes.RedirectActionStatusCodeEnumHttp301}}

func forwardTo(tgs ...string) elbtypes.Action {
	cfg := &elbtypes.ForwardActionConfig{}
	for i, tg := range tgs {
		cfg.TargetGroups = append(cfg.TargetGroups, elbtypes.TargetGroupTuple{TargetGroupArn: aws.String(tg), Weight: aws.Int32(int32(i + 1))})
	}
	return elbtypes.Action{Type: elbtypes.ActionTypeEnumForward, ForwardConfig: cfg}
}

func httpsListener(f *elbFixture, actions ...elbtypes.Action) *elb.CreateListenerInput {
	return &elb.CreateListenerInput{LoadBalancerArn: f.lb.LoadBalancerArn, Port: aws.Int32(443), Protocol: elbtypes.ProtocolEnumHttps,
		SslPolicy:      aws.String("ELBSecurityPolicy-TLS13-1-2-2021-06"),
		Certificates:   []elbtypes.Certificate{{CertificateArn: aws.String("arn:aws:acm:us-east-1:000000000000:certificate/abc")}},
		DefaultActions: actions}
}

// cmpActions compares actions as ELBv2 reports them (the SDK's unexported fields ignored).
var cmpActions = cmpopts.IgnoreUnexported(elbtypes.Action{}, elbtypes.FixedResponseActionConfig{}, elbtypes.RedirectActionConfig{},
	elbtypes.ForwardActionConfig{}, elbtypes.TargetGroupTuple{}, elbtypes.Certificate{}, elbtypes.RuleCondition{},
	elbtypes.PathPatternConditionConfig{}, elbtypes.HostHeaderConditionConfig{})

// --- what kumo gets wrong ---------------------------------------------------------------------

// ELBv2 has ModifyTargetGroup; kumo v0.33.1 does not.
func TestKumoELBNoModifyTargetGroup(t *testing.T) {
	f := newELB(t, gapEmulator(t).srv.URL) // kumo itself
	if _, err := f.c.ModifyTargetGroup(t.Context(), &elb.ModifyTargetGroupInput{TargetGroupArn: f.tg.TargetGroupArn, HealthCheckPath: aws.String("/x")}); err == nil {
		t.Fatal("kumo answers ModifyTargetGroup: check whether it keeps the settings, and the layer's handler can go")
	}
}

// ELBv2 reports a listener's certificates, SSL policy and its actions' settings, as created and
// as modified; kumo v0.33.1 keeps the actions' types only (and a forward's target groups).
func TestKumoELBListenerDropsSettings(t *testing.T) {
	f := newELB(t, gapEmulator(t).srv.URL)
	l, err := f.c.CreateListener(t.Context(), httpsListener(f, fixed404))
	if err != nil {
		t.Fatal(err)
	}
	got := describeListener(t, f.c, l.Listeners[0].ListenerArn)
	if got.SslPolicy != nil || len(got.Certificates) != 0 || got.DefaultActions[0].FixedResponseConfig != nil {
		t.Fatalf("kumo keeps a listener's SSL policy, certificates or fixed response (%+v): the layer need not", got)
	}
	if _, err := f.c.ModifyListener(t.Context(), &elb.ModifyListenerInput{ListenerArn: l.Listeners[0].ListenerArn, SslPolicy: aws.String("ELBSecurityPolicy-2016-08"),
		DefaultActions: []elbtypes.Action{redirectHTTPS}}); err != nil {
		t.Fatal(err)
	}
	got = describeListener(t, f.c, l.Listeners[0].ListenerArn)
	if got.SslPolicy != nil || got.DefaultActions[0].Type != elbtypes.ActionTypeEnumRedirect || got.DefaultActions[0].RedirectConfig != nil {
		t.Fatalf("kumo keeps ModifyListener's SSL policy or redirect (%+v): the layer need not", got)
	}
}

// Kumo v0.33.1 drops a rule's redirect and fixed-response settings too.
func TestKumoELBRuleDropsActionSettings(t *testing.T) {
	f := newELB(t, gapEmulator(t).srv.URL)
	l, err := f.c.CreateListener(t.Context(), httpsListener(f, fixed404))
	if err != nil {
		t.Fatal(err)
	}
	r, err := f.c.CreateRule(t.Context(), &elb.CreateRuleInput{ListenerArn: l.Listeners[0].ListenerArn, Priority: aws.Int32(10),
		Conditions: []elbtypes.RuleCondition{{Field: aws.String("path-pattern"), PathPatternConfig: &elbtypes.PathPatternConditionConfig{Values: []string{"/old/*"}}}},
		Actions:    []elbtypes.Action{redirectHTTPS}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Rules[0].Actions[0].RedirectConfig != nil {
		t.Fatal("kumo keeps a rule's redirect: the layer need not")
	}
}

// ELBv2 answers LoadBalancerNotFound and TargetGroupNotFound for names and ARNs it does not
// have, and for the listeners of a load balancer it does not have; kumo v0.33.1 answers empty
// lists.
func TestKumoELBDescribesMissingAsEmpty(t *testing.T) {
	c := gapELBClient(t, gapEmulator(t).srv.URL)
	lbs, err := c.DescribeLoadBalancers(t.Context(), &elb.DescribeLoadBalancersInput{Names: []string{"no-such-lb"}})
	if err != nil || len(lbs.LoadBalancers) != 0 {
		t.Fatalf("DescribeLoadBalancers of a missing name: %v, %v: check what kumo does now", lbs, err)
	}
	tgs, err := c.DescribeTargetGroups(t.Context(), &elb.DescribeTargetGroupsInput{Names: []string{"no-such-tg"}})
	if err != nil || len(tgs.TargetGroups) != 0 {
		t.Fatalf("DescribeTargetGroups of a missing name: %v, %v: check what kumo does now", tgs, err)
	}
	ls, err := c.DescribeListeners(t.Context(), &elb.DescribeListenersInput{LoadBalancerArn: aws.String("arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/none/1")})
	if err != nil || len(ls.Listeners) != 0 {
		t.Fatalf("DescribeListeners of a missing load balancer: %v, %v: check what kumo does now", ls, err)
	}
}

// ELBv2 reports the load balancers that forward to a target group, and lists a load balancer's
// target groups; kumo v0.33.1 reports none.
func TestKumoELBTargetGroupHasNoLoadBalancers(t *testing.T) {
	f := newELB(t, gapEmulator(t).srv.URL)
	if _, err := f.c.CreateListener(t.Context(), &elb.CreateListenerInput{LoadBalancerArn: f.lb.LoadBalancerArn, Port: aws.Int32(80),
		Protocol: elbtypes.ProtocolEnumHttp, DefaultActions: []elbtypes.Action{forwardTo(*f.tg.TargetGroupArn)}}); err != nil {
		t.Fatal(err)
	}
	out, err := f.c.DescribeTargetGroups(t.Context(), &elb.DescribeTargetGroupsInput{TargetGroupArns: []string{*f.tg.TargetGroupArn}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.TargetGroups[0].LoadBalancerArns) != 0 {
		t.Fatal("kumo reports a target group's load balancers: the layer need not")
	}
	byLB, err := f.c.DescribeTargetGroups(t.Context(), &elb.DescribeTargetGroupsInput{LoadBalancerArn: f.lb.LoadBalancerArn})
	if err != nil || len(byLB.TargetGroups) != 0 {
		t.Fatalf("DescribeTargetGroups of a load balancer = %+v, %v: check what kumo does now", byLB, err)
	}
}

// ELBv2 puts a load balancer in the VPC of its subnets; kumo v0.33.1 makes a VPC ID up.
func TestKumoELBRandomVpcId(t *testing.T) {
	f := newELB(t, gapEmulator(t).srv.URL)
	if aws.ToString(f.lb.VpcId) == f.vpc {
		t.Fatal("kumo puts the load balancer in its subnets' VPC: the layer need not")
	}
}

// ELBv2 refuses to delete a load balancer with deletion protection and a target group a listener
// forwards to; kumo v0.33.1 deletes both.
func TestKumoELBDeletesProtectedAndInUse(t *testing.T) {
	f := newELB(t, gapEmulator(t).srv.URL)
	if _, err := f.c.CreateListener(t.Context(), &elb.CreateListenerInput{LoadBalancerArn: f.lb.LoadBalancerArn, Port: aws.Int32(80),
		Protocol: elbtypes.ProtocolEnumHttp, DefaultActions: []elbtypes.Action{forwardTo(*f.tg.TargetGroupArn)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.DeleteTargetGroup(t.Context(), &elb.DeleteTargetGroupInput{TargetGroupArn: f.tg.TargetGroupArn}); err != nil {
		t.Fatalf("kumo refuses to delete a target group in use (%v): the layer need not", err)
	}
	protect(t, f)
	if _, err := f.c.DeleteLoadBalancer(t.Context(), &elb.DeleteLoadBalancerInput{LoadBalancerArn: f.lb.LoadBalancerArn}); err != nil {
		t.Fatalf("kumo refuses to delete a protected load balancer (%v): the layer need not", err)
	}
}

func protect(t *testing.T, f *elbFixture) {
	t.Helper()
	if _, err := f.c.ModifyLoadBalancerAttributes(t.Context(), &elb.ModifyLoadBalancerAttributesInput{LoadBalancerArn: f.lb.LoadBalancerArn,
		Attributes: []elbtypes.LoadBalancerAttribute{{Key: aws.String("deletion_protection.enabled"), Value: aws.String("true")}}}); err != nil {
		t.Fatal(err)
	}
}

func describeListener(t *testing.T, c *elb.Client, arn *string) elbtypes.Listener {
	t.Helper()
	out, err := c.DescribeListeners(t.Context(), &elb.DescribeListenersInput{ListenerArns: []string{aws.ToString(arn)}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Listeners) != 1 {
		t.Fatalf("DescribeListeners(%s) = %d listeners", aws.ToString(arn), len(out.Listeners))
	}
	return out.Listeners[0]
}

// --- the layer's answers ----------------------------------------------------------------------

func TestGapELBLoadBalancers(t *testing.T) {
	f := newELB(t, gapEmulator(t).URL)
	ctx := t.Context()
	if aws.ToString(f.lb.VpcId) != f.vpc || f.lb.Scheme != elbtypes.LoadBalancerSchemeEnumInternal || f.lb.Type != elbtypes.LoadBalancerTypeEnumApplication ||
		!cmp.Equal(f.lb.SecurityGroups, []string{"sg-123"}) || len(f.lb.AvailabilityZones) != 2 {
		t.Errorf("CreateLoadBalancer = %+v, want VPC %s", f.lb, f.vpc)
	}
	out, err := f.c.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{Names: []string{aws.ToString(f.lb.LoadBalancerName)}})
	if err != nil || len(out.LoadBalancers) != 1 || aws.ToString(out.LoadBalancers[0].VpcId) != f.vpc {
		t.Fatalf("DescribeLoadBalancers = %+v, %v", out, err)
	}
	// A network load balancer with subnet mappings, internet-facing.
	nlb, err := f.c.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String(uniqueName("nlb")), Type: elbtypes.LoadBalancerTypeEnumNetwork,
		Scheme: elbtypes.LoadBalancerSchemeEnumInternetFacing, SubnetMappings: []elbtypes.SubnetMapping{{SubnetId: aws.String(f.subnets[1])}}})
	if err != nil {
		t.Fatal(err)
	}
	if n := nlb.LoadBalancers[0]; aws.ToString(n.VpcId) != f.vpc || n.Type != elbtypes.LoadBalancerTypeEnumNetwork || n.Scheme != elbtypes.LoadBalancerSchemeEnumInternetFacing {
		t.Errorf("network load balancer = %+v", n)
	}

	// Attributes are kept.
	attrs := []elbtypes.LoadBalancerAttribute{
		{Key: aws.String("idle_timeout.timeout_seconds"), Value: aws.String("120")},
		{Key: aws.String("access_logs.s3.enabled"), Value: aws.String("true")},
		{Key: aws.String("access_logs.s3.bucket"), Value: aws.String("logs")},
		{Key: aws.String("access_logs.s3.prefix"), Value: aws.String("lb")},
		{Key: aws.String("load_balancing.cross_zone.enabled"), Value: aws.String("false")},
	}
	if _, err := f.c.ModifyLoadBalancerAttributes(ctx, &elb.ModifyLoadBalancerAttributesInput{LoadBalancerArn: f.lb.LoadBalancerArn, Attributes: attrs}); err != nil {
		t.Fatal(err)
	}
	da, err := f.c.DescribeLoadBalancerAttributes(ctx, &elb.DescribeLoadBalancerAttributesInput{LoadBalancerArn: f.lb.LoadBalancerArn})
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]string{}
	for _, a := range da.Attributes {
		have[aws.ToString(a.Key)] = aws.ToString(a.Value)
	}
	for _, a := range attrs {
		if have[aws.ToString(a.Key)] != aws.ToString(a.Value) {
			t.Errorf("attribute %s = %q, want %q", aws.ToString(a.Key), have[aws.ToString(a.Key)], aws.ToString(a.Value))
		}
	}

	// Tags.
	arn := aws.ToString(f.lb.LoadBalancerArn)
	if _, err := f.c.AddTags(ctx, &elb.AddTagsInput{ResourceArns: []string{arn}, Tags: []elbtypes.Tag{{Key: aws.String("a"), Value: aws.String("1")}, {Key: aws.String("b"), Value: aws.String("2")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.RemoveTags(ctx, &elb.RemoveTagsInput{ResourceArns: []string{arn}, TagKeys: []string{"a"}}); err != nil {
		t.Fatal(err)
	}
	tags, err := f.c.DescribeTags(ctx, &elb.DescribeTagsInput{ResourceArns: []string{arn}})
	if err != nil || len(tags.TagDescriptions) != 1 {
		t.Fatalf("DescribeTags = %+v, %v", tags, err)
	}
	gotTags := map[string]string{}
	for _, tag := range tags.TagDescriptions[0].Tags {
		gotTags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
	}
	if want := map[string]string{"made": "create", "b": "2"}; !cmp.Equal(gotTags, want) {
		t.Errorf("tags = %v, want %v", gotTags, want)
	}

	// Deletion protection.
	protect(t, f)
	if _, err := f.c.DeleteLoadBalancer(ctx, &elb.DeleteLoadBalancerInput{LoadBalancerArn: f.lb.LoadBalancerArn}); errorCode(err) != "OperationNotPermitted" {
		t.Fatalf("DeleteLoadBalancer with deletion protection: %v, want OperationNotPermitted", err)
	}
	if _, err := f.c.ModifyLoadBalancerAttributes(ctx, &elb.ModifyLoadBalancerAttributesInput{LoadBalancerArn: f.lb.LoadBalancerArn,
		Attributes: []elbtypes.LoadBalancerAttribute{{Key: aws.String("deletion_protection.enabled"), Value: aws.String("false")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.DeleteLoadBalancer(ctx, &elb.DeleteLoadBalancerInput{LoadBalancerArn: f.lb.LoadBalancerArn}); err != nil {
		t.Fatal(err)
	}
	for name, call := range map[string]func() error{
		"DescribeLoadBalancers by ARN": func() error {
			_, err := f.c.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{LoadBalancerArns: []string{arn}})
			return err
		},
		"DescribeLoadBalancers by name": func() error {
			_, err := f.c.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{Names: []string{aws.ToString(f.lb.LoadBalancerName)}})
			return err
		},
		"DescribeListeners": func() error {
			_, err := f.c.DescribeListeners(ctx, &elb.DescribeListenersInput{LoadBalancerArn: aws.String(arn)})
			return err
		},
		"DescribeTargetGroups": func() error {
			_, err := f.c.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{LoadBalancerArn: aws.String(arn)})
			return err
		},
		"DeleteLoadBalancer": func() error {
			_, err := f.c.DeleteLoadBalancer(ctx, &elb.DeleteLoadBalancerInput{LoadBalancerArn: aws.String(arn)})
			return err
		},
	} {
		if err := call(); errorCode(err) != "LoadBalancerNotFound" {
			t.Errorf("%s of a deleted load balancer: %v, want LoadBalancerNotFound", name, err)
		}
	}
	elbGaps.read(func(g *elbGapState) {
		if _, ok := g.LBVPCs[arn]; ok {
			t.Error("the layer keeps a deleted load balancer's VPC")
		}
	})
}

func TestGapELBTargetGroups(t *testing.T) {
	f := newELB(t, gapEmulator(t).URL)
	ctx := t.Context()
	tg := f.tg
	if tg.TargetType != elbtypes.TargetTypeEnumIp || tg.Protocol != elbtypes.ProtocolEnumHttp || aws.ToInt32(tg.Port) != 8080 ||
		aws.ToString(tg.HealthCheckPath) != "/health" || aws.ToString(tg.VpcId) != f.vpc {
		t.Errorf("CreateTargetGroup = %+v", tg)
	}
	mod, err := f.c.ModifyTargetGroup(ctx, &elb.ModifyTargetGroupInput{TargetGroupArn: tg.TargetGroupArn, HealthCheckPath: aws.String("/ready"),
		HealthCheckIntervalSeconds: aws.Int32(10), HealthCheckTimeoutSeconds: aws.Int32(4), HealthyThresholdCount: aws.Int32(3),
		UnhealthyThresholdCount: aws.Int32(4), HealthCheckPort: aws.String("9000"), HealthCheckProtocol: elbtypes.ProtocolEnumHttp,
		Matcher: &elbtypes.Matcher{HttpCode: aws.String("200-299")}})
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, got elbtypes.TargetGroup) {
		t.Helper()
		if aws.ToString(got.HealthCheckPath) != "/ready" || aws.ToInt32(got.HealthCheckIntervalSeconds) != 10 || aws.ToInt32(got.HealthCheckTimeoutSeconds) != 4 ||
			aws.ToInt32(got.HealthyThresholdCount) != 3 || aws.ToInt32(got.UnhealthyThresholdCount) != 4 || aws.ToString(got.HealthCheckPort) != "9000" ||
			got.Matcher == nil || aws.ToString(got.Matcher.HttpCode) != "200-299" || aws.ToInt32(got.Port) != 8080 || got.TargetType != elbtypes.TargetTypeEnumIp {
			t.Errorf("%s = %+v", what, got)
		}
	}
	if len(mod.TargetGroups) != 1 {
		t.Fatalf("ModifyTargetGroup answered %d target groups", len(mod.TargetGroups))
	}
	check("ModifyTargetGroup", mod.TargetGroups[0])
	// A second change keeps the first's other settings.
	if _, err := f.c.ModifyTargetGroup(ctx, &elb.ModifyTargetGroupInput{TargetGroupArn: tg.TargetGroupArn, HealthCheckEnabled: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	out, err := f.c.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{Names: []string{aws.ToString(tg.TargetGroupName)}})
	if err != nil || len(out.TargetGroups) != 1 {
		t.Fatalf("DescribeTargetGroups = %+v, %v", out, err)
	}
	check("DescribeTargetGroups", out.TargetGroups[0])

	// Attributes and tags of a target group are kept (kumo's own).
	tgAttrs := []elbtypes.TargetGroupAttribute{{Key: aws.String("deregistration_delay.timeout_seconds"), Value: aws.String("30")},
		{Key: aws.String("stickiness.enabled"), Value: aws.String("true")}}
	if _, err := f.c.ModifyTargetGroupAttributes(ctx, &elb.ModifyTargetGroupAttributesInput{TargetGroupArn: tg.TargetGroupArn, Attributes: tgAttrs}); err != nil {
		t.Fatal(err)
	}
	ta, err := f.c.DescribeTargetGroupAttributes(ctx, &elb.DescribeTargetGroupAttributesInput{TargetGroupArn: tg.TargetGroupArn})
	if err != nil {
		t.Fatal(err)
	}
	haveAttrs := map[string]string{}
	for _, a := range ta.Attributes {
		haveAttrs[aws.ToString(a.Key)] = aws.ToString(a.Value)
	}
	for _, a := range tgAttrs {
		if haveAttrs[aws.ToString(a.Key)] != aws.ToString(a.Value) {
			t.Errorf("target group attribute %s = %q, want %q", aws.ToString(a.Key), haveAttrs[aws.ToString(a.Key)], aws.ToString(a.Value))
		}
	}
	if _, err := f.c.AddTags(ctx, &elb.AddTagsInput{ResourceArns: []string{aws.ToString(tg.TargetGroupArn)}, Tags: []elbtypes.Tag{{Key: aws.String("svc"), Value: aws.String("web")}}}); err != nil {
		t.Fatal(err)
	}
	tgTags, err := f.c.DescribeTags(ctx, &elb.DescribeTagsInput{ResourceArns: []string{aws.ToString(tg.TargetGroupArn)}})
	if err != nil || len(tgTags.TagDescriptions) != 1 || len(tgTags.TagDescriptions[0].Tags) != 1 || aws.ToString(tgTags.TagDescriptions[0].Tags[0].Value) != "web" {
		t.Errorf("target group DescribeTags = %+v, %v", tgTags, err)
	}

	missingARN := strings.Replace(aws.ToString(tg.TargetGroupArn), "targetgroup/", "targetgroup/x", 1)
	for name, call := range map[string]func() error{
		"DescribeTargetGroups by name": func() error {
			_, err := f.c.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{Names: []string{aws.ToString(tg.TargetGroupName), "no-such-tg"}})
			return err
		},
		"DescribeTargetGroups by ARN": func() error {
			_, err := f.c.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{TargetGroupArns: []string{missingARN}})
			return err
		},
		"ModifyTargetGroup": func() error {
			_, err := f.c.ModifyTargetGroup(ctx, &elb.ModifyTargetGroupInput{TargetGroupArn: aws.String(missingARN), HealthCheckPath: aws.String("/")})
			return err
		},
	} {
		if err := call(); errorCode(err) != "TargetGroupNotFound" {
			t.Errorf("%s of a missing target group: %v, want TargetGroupNotFound", name, err)
		}
	}

	// In use by a listener, then by a rule: refused; free: deleted and forgotten.
	l, err := f.c.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: f.lb.LoadBalancerArn, Port: aws.Int32(80), Protocol: elbtypes.ProtocolEnumHttp,
		DefaultActions: []elbtypes.Action{forwardTo(*tg.TargetGroupArn)}})
	if err != nil {
		t.Fatal(err)
	}
	del := &elb.DeleteTargetGroupInput{TargetGroupArn: tg.TargetGroupArn}
	if _, err := f.c.DeleteTargetGroup(ctx, del); errorCode(err) != "ResourceInUse" {
		t.Errorf("DeleteTargetGroup of a listener's target group: %v, want ResourceInUse", err)
	}
	other, err := f.c.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{Name: aws.String(uniqueName("tg")), Protocol: elbtypes.ProtocolEnumHttp,
		Port: aws.Int32(80), VpcId: aws.String(f.vpc), TargetType: elbtypes.TargetTypeEnumIp})
	if err != nil {
		t.Fatal(err)
	}
	both, err := f.c.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{TargetGroupArns: []string{*tg.TargetGroupArn, *other.TargetGroups[0].TargetGroupArn}})
	if err != nil || len(both.TargetGroups) != 2 {
		t.Fatalf("DescribeTargetGroups = %+v, %v", both, err)
	}
	for _, g := range both.TargetGroups {
		want := []string{}
		if aws.ToString(g.TargetGroupArn) == aws.ToString(tg.TargetGroupArn) {
			want = []string{aws.ToString(f.lb.LoadBalancerArn)}
			check("DescribeTargetGroups of two", g)
		}
		if !cmp.Equal(g.LoadBalancerArns, want, cmpopts.EquateEmpty()) {
			t.Errorf("target group %s: LoadBalancerArns %v, want %v", aws.ToString(g.TargetGroupName), g.LoadBalancerArns, want)
		}
	}
	byLB, err := f.c.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{LoadBalancerArn: f.lb.LoadBalancerArn})
	if err != nil || len(byLB.TargetGroups) != 1 || aws.ToString(byLB.TargetGroups[0].TargetGroupArn) != aws.ToString(tg.TargetGroupArn) {
		t.Errorf("DescribeTargetGroups of the load balancer = %+v, %v", byLB, err)
	}
	if _, err := f.c.ModifyListener(ctx, &elb.ModifyListenerInput{ListenerArn: l.Listeners[0].ListenerArn, DefaultActions: []elbtypes.Action{fixed404}}); err != nil {
		t.Fatal(err)
	}
	r, err := f.c.CreateRule(ctx, &elb.CreateRuleInput{ListenerArn: l.Listeners[0].ListenerArn, Priority: aws.Int32(1),
		Conditions: []elbtypes.RuleCondition{{Field: aws.String("path-pattern"), PathPatternConfig: &elbtypes.PathPatternConditionConfig{Values: []string{"/api/*"}}}},
		Actions:    []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: tg.TargetGroupArn}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.DeleteTargetGroup(ctx, del); errorCode(err) != "ResourceInUse" {
		t.Errorf("DeleteTargetGroup of a rule's target group: %v, want ResourceInUse", err)
	}
	if _, err := f.c.DeleteRule(ctx, &elb.DeleteRuleInput{RuleArn: r.Rules[0].RuleArn}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.DeleteTargetGroup(ctx, del); err != nil {
		t.Fatal(err)
	}
	elbGaps.read(func(g *elbGapState) {
		if _, ok := g.TargetGroups[aws.ToString(tg.TargetGroupArn)]; ok {
			t.Error("the layer keeps a deleted target group's health check")
		}
	})
}

func TestGapELBListeners(t *testing.T) {
	f := newELB(t, gapEmulator(t).URL)
	ctx := t.Context()
	tg2, err := f.c.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{Name: aws.String(uniqueName("tg")), Protocol: elbtypes.ProtocolEnumHttp,
		Port: aws.Int32(80), VpcId: aws.String(f.vpc), TargetType: elbtypes.TargetTypeEnumIp})
	if err != nil {
		t.Fatal(err)
	}
	in := httpsListener(f, forwardTo(*f.tg.TargetGroupArn, *tg2.TargetGroups[0].TargetGroupArn))
	l, err := f.c.CreateListener(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	arn := l.Listeners[0].ListenerArn
	same := func(what string, got elbtypes.Listener, policy string, certs []elbtypes.Certificate, actions []elbtypes.Action) {
		t.Helper()
		if aws.ToString(got.SslPolicy) != policy || got.Port == nil || *got.Port != 443 || got.Protocol != elbtypes.ProtocolEnumHttps {
			t.Errorf("%s: SslPolicy %q, port %v, protocol %s", what, aws.ToString(got.SslPolicy), got.Port, got.Protocol)
		}
		if d := cmp.Diff(certs, got.Certificates, cmpActions); d != "" {
			t.Errorf("%s: certificates (-want +got):\n%s", what, d)
		}
		if d := cmp.Diff(actions, got.DefaultActions, cmpActions); d != "" {
			t.Errorf("%s: default actions (-want +got):\n%s", what, d)
		}
	}
	same("CreateListener", l.Listeners[0], *in.SslPolicy, in.Certificates, in.DefaultActions)
	same("DescribeListeners", describeListener(t, f.c, arn), *in.SslPolicy, in.Certificates, in.DefaultActions)
	byLB, err := f.c.DescribeListeners(ctx, &elb.DescribeListenersInput{LoadBalancerArn: f.lb.LoadBalancerArn})
	if err != nil || len(byLB.Listeners) != 1 {
		t.Fatalf("DescribeListeners of the load balancer = %+v, %v", byLB, err)
	}
	same("DescribeListeners of the load balancer", byLB.Listeners[0], *in.SslPolicy, in.Certificates, in.DefaultActions)

	// ModifyListener: a fixed response, then a redirect and a new policy; the certificates stay.
	mod, err := f.c.ModifyListener(ctx, &elb.ModifyListenerInput{ListenerArn: arn, DefaultActions: []elbtypes.Action{fixed404}})
	if err != nil {
		t.Fatal(err)
	}
	same("ModifyListener", mod.Listeners[0], *in.SslPolicy, in.Certificates, []elbtypes.Action{fixed404})
	if _, err := f.c.ModifyListener(ctx, &elb.ModifyListenerInput{ListenerArn: arn, SslPolicy: aws.String("ELBSecurityPolicy-2016-08"),
		DefaultActions: []elbtypes.Action{redirectHTTPS}}); err != nil {
		t.Fatal(err)
	}
	same("after ModifyListener", describeListener(t, f.c, arn), "ELBSecurityPolicy-2016-08", in.Certificates, []elbtypes.Action{redirectHTTPS})

	// Rules: conditions and every kind of action, as created, modified and reprioritised.
	conds := []elbtypes.RuleCondition{
		{Field: aws.String("path-pattern"), PathPatternConfig: &elbtypes.PathPatternConditionConfig{Values: []string{"/api/*"}}},
		{Field: aws.String("host-header"), HostHeaderConfig: &elbtypes.HostHeaderConditionConfig{Values: []string{"api.example.com"}}},
	}
	r1, err := f.c.CreateRule(ctx, &elb.CreateRuleInput{ListenerArn: arn, Priority: aws.Int32(10), Conditions: conds, Actions: []elbtypes.Action{forwardTo(*f.tg.TargetGroupArn)}})
	if err != nil {
		t.Fatal(err)
	}
	r2, err := f.c.CreateRule(ctx, &elb.CreateRuleInput{ListenerArn: arn, Priority: aws.Int32(20), Conditions: conds[:1], Actions: []elbtypes.Action{fixed404}})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]elbtypes.Action{fixed404}, r2.Rules[0].Actions, cmpActions); d != "" {
		t.Errorf("CreateRule actions (-want +got):\n%s", d)
	}
	if _, err := f.c.ModifyRule(ctx, &elb.ModifyRuleInput{RuleArn: r2.Rules[0].RuleArn, Actions: []elbtypes.Action{redirectHTTPS}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.SetRulePriorities(ctx, &elb.SetRulePrioritiesInput{RulePriorities: []elbtypes.RulePriorityPair{
		{RuleArn: r1.Rules[0].RuleArn, Priority: aws.Int32(30)}}}); err != nil {
		t.Fatal(err)
	}
	rules, err := f.c.DescribeRules(ctx, &elb.DescribeRulesInput{ListenerArn: arn})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		priority string
		conds    []elbtypes.RuleCondition
		actions  []elbtypes.Action
	}{
		aws.ToString(r1.Rules[0].RuleArn): {"30", conds, []elbtypes.Action{forwardTo(*f.tg.TargetGroupArn)}},
		aws.ToString(r2.Rules[0].RuleArn): {"20", conds[:1], []elbtypes.Action{redirectHTTPS}},
	}
	for _, r := range rules.Rules {
		if aws.ToBool(r.IsDefault) {
			if d := cmp.Diff([]elbtypes.Action{redirectHTTPS}, r.Actions, cmpActions); d != "" {
				t.Errorf("default rule's actions (-want +got):\n%s", d)
			}
			continue
		}
		w, ok := want[aws.ToString(r.RuleArn)]
		if !ok {
			t.Errorf("unexpected rule %s", aws.ToString(r.RuleArn))
			continue
		}
		delete(want, aws.ToString(r.RuleArn))
		if aws.ToString(r.Priority) != w.priority {
			t.Errorf("rule %s: priority %s, want %s", aws.ToString(r.RuleArn), aws.ToString(r.Priority), w.priority)
		}
		if d := cmp.Diff(w.actions, r.Actions, cmpActions); d != "" {
			t.Errorf("rule %s actions (-want +got):\n%s", aws.ToString(r.RuleArn), d)
		}
		for i, c := range r.Conditions { // kumo reports both Values and the condition's config
			c.Values = nil
			r.Conditions[i] = c
		}
		if d := cmp.Diff(w.conds, r.Conditions, cmpActions); d != "" {
			t.Errorf("rule %s conditions (-want +got):\n%s", aws.ToString(r.RuleArn), d)
		}
	}
	if len(want) != 0 {
		t.Errorf("rules missing from DescribeRules: %v", want)
	}

	// Deleting the listener forgets it and its rules.
	if _, err := f.c.DeleteListener(ctx, &elb.DeleteListenerInput{ListenerArn: arn}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.DescribeListeners(ctx, &elb.DescribeListenersInput{ListenerArns: []string{aws.ToString(arn)}}); errorCode(err) != "ListenerNotFound" {
		t.Errorf("DescribeListeners of a deleted listener: %v, want ListenerNotFound", err)
	}
	elbGaps.read(func(g *elbGapState) {
		if _, ok := g.Listeners[aws.ToString(arn)]; ok {
			t.Error("the layer keeps a deleted listener")
		}
		if _, ok := g.Rules[aws.ToString(r1.Rules[0].RuleArn)]; ok {
			t.Error("the layer keeps a deleted listener's rules")
		}
	})
}

// Operations neither the layer nor kumo answers fail, naming the operation.
func TestGapELBUnknownOperation(t *testing.T) {
	c := gapELBClient(t, gapEmulator(t).URL)
	_, err := c.DescribeSSLPolicies(t.Context(), &elb.DescribeSSLPoliciesInput{})
	if err == nil || !strings.Contains(err.Error(), "DescribeSSLPolicies") {
		t.Errorf("DescribeSSLPolicies: %v, want an error naming it", err)
	}
}

// The layer's ELBv2 state persists in the data directory.
func TestGapELBStatePersists(t *testing.T) {
	dir := t.TempDir()
	g := newELBGapState(dir)
	listener := url.Values{"SslPolicy": {"p"}, "DefaultActions.member.1.Type": {"fixed-response"},
		"DefaultActions.member.1.FixedResponseConfig.StatusCode": {"404"}}
	if err := g.update(func(g *elbGapState) {
		g.LBVPCs["lb"] = "vpc-1"
		g.Listeners["l"] = listener
		g.Rules["r"] = url.Values{"Actions.member.1.Type": {"redirect"}}
		g.TargetGroups["tg"] = url.Values{"HealthCheckPath": {"/x"}}
	}); err != nil {
		t.Fatal(err)
	}
	g2 := newELBGapState(dir)
	if g2.LBVPCs["lb"] != "vpc-1" || !cmp.Equal(g2.Listeners["l"], listener) || g2.Rules["r"].Get("Actions.member.1.Type") != "redirect" ||
		g2.TargetGroups["tg"].Get("HealthCheckPath") != "/x" {
		t.Errorf("after a restart: %+v", g2)
	}
	want := "<DefaultActions><member><FixedResponseConfig><StatusCode>404</StatusCode></FixedResponseConfig><Type>fixed-response</Type></member></DefaultActions>"
	if got := formXML(g2.Listeners["l"], "DefaultActions"); got != want {
		t.Errorf("formXML = %s, want %s", got, want)
	}
}

// A listener the layer has no record of (made before it kept listeners) keeps kumo's default
// actions when ModifyListener changes only its SSL policy.
func TestGapELBModifyListenerKeepsKumoActions(t *testing.T) {
	srv := gapEmulator(t)
	f := newELB(t, srv.URL)
	kumo := gapELBClient(t, srv.srv.URL)
	l, err := kumo.CreateListener(t.Context(), &elb.CreateListenerInput{LoadBalancerArn: f.lb.LoadBalancerArn, Port: aws.Int32(443),
		Protocol: elbtypes.ProtocolEnumHttps, DefaultActions: []elbtypes.Action{forwardTo(*f.tg.TargetGroupArn)}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.ModifyListener(t.Context(), &elb.ModifyListenerInput{ListenerArn: l.Listeners[0].ListenerArn, SslPolicy: aws.String("ELBSecurityPolicy-2016-08")}); err != nil {
		t.Fatal(err)
	}
	got := describeListener(t, f.c, l.Listeners[0].ListenerArn)
	if aws.ToString(got.SslPolicy) != "ELBSecurityPolicy-2016-08" {
		t.Errorf("SslPolicy = %q", aws.ToString(got.SslPolicy))
	}
	if d := cmp.Diff([]elbtypes.Action{forwardTo(*f.tg.TargetGroupArn)}, got.DefaultActions, cmpActions); d != "" {
		t.Errorf("default actions (-want +got):\n%s", d)
	}
	rules, err := f.c.DescribeRules(t.Context(), &elb.DescribeRulesInput{ListenerArn: l.Listeners[0].ListenerArn})
	if err != nil || len(rules.Rules) != 1 {
		t.Fatalf("DescribeRules = %+v, %v", rules, err)
	}
	if d := cmp.Diff([]elbtypes.Action{forwardTo(*f.tg.TargetGroupArn)}, rules.Rules[0].Actions, cmpActions); d != "" {
		t.Errorf("default rule's actions (-want +got):\n%s", d)
	}
}

func sameLB(f *elbFixture) *elb.CreateLoadBalancerInput {
	return &elb.CreateLoadBalancerInput{Name: f.lb.LoadBalancerName, Subnets: f.subnets,
		Scheme: elbtypes.LoadBalancerSchemeEnumInternal, Type: elbtypes.LoadBalancerTypeEnumApplication, SecurityGroups: []string{"sg-123"}}
}

func sameTG(f *elbFixture) *elb.CreateTargetGroupInput {
	return &elb.CreateTargetGroupInput{Name: f.tg.TargetGroupName, Protocol: elbtypes.ProtocolEnumHttp,
		Port: aws.Int32(8080), VpcId: aws.String(f.vpc), TargetType: elbtypes.TargetTypeEnumIp, HealthCheckPath: aws.String("/health")}
}

// ELBv2 answers a create of a load balancer or target group that exists with the same settings
// with the existing one; kumo v0.33.1 refuses the name.
func TestKumoELBCreateIsNotIdempotent(t *testing.T) {
	f := newELB(t, gapEmulator(t).srv.URL)
	if _, err := f.c.CreateLoadBalancer(t.Context(), sameLB(f)); errorCode(err) != "DuplicateLoadBalancerName" {
		t.Fatalf("CreateLoadBalancer again: %v: the layer's idempotent create may go", err)
	}
	if _, err := f.c.CreateTargetGroup(t.Context(), sameTG(f)); errorCode(err) != "DuplicateTargetGroupName" {
		t.Fatalf("CreateTargetGroup again: %v: the layer's idempotent create may go", err)
	}
}

func TestGapELBCreateIsIdempotent(t *testing.T) {
	f := newELB(t, gapEmulator(t).URL)
	ctx := t.Context()
	lb, err := f.c.CreateLoadBalancer(ctx, sameLB(f))
	if err != nil {
		t.Fatal(err)
	}
	if len(lb.LoadBalancers) != 1 || aws.ToString(lb.LoadBalancers[0].LoadBalancerArn) != aws.ToString(f.lb.LoadBalancerArn) || aws.ToString(lb.LoadBalancers[0].VpcId) != f.vpc {
		t.Errorf("CreateLoadBalancer again = %+v, want the first", lb.LoadBalancers)
	}
	tg, err := f.c.CreateTargetGroup(ctx, sameTG(f))
	if err != nil {
		t.Fatal(err)
	}
	if len(tg.TargetGroups) != 1 || aws.ToString(tg.TargetGroups[0].TargetGroupArn) != aws.ToString(f.tg.TargetGroupArn) {
		t.Errorf("CreateTargetGroup again = %+v, want the first", tg.TargetGroups)
	}
	otherLB := sameLB(f)
	otherLB.Scheme = elbtypes.LoadBalancerSchemeEnumInternetFacing
	if _, err := f.c.CreateLoadBalancer(ctx, otherLB); errorCode(err) != "DuplicateLoadBalancerName" {
		t.Errorf("CreateLoadBalancer of the name with another scheme: %v, want DuplicateLoadBalancerName", err)
	}
	otherTG := sameTG(f)
	otherTG.Port = aws.Int32(9090)
	if _, err := f.c.CreateTargetGroup(ctx, otherTG); errorCode(err) != "DuplicateTargetGroupName" {
		t.Errorf("CreateTargetGroup of the name with another port: %v, want DuplicateTargetGroupName", err)
	}
}
