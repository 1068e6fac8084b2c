package aws_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	"github.com/panka/panka/provider"
	"github.com/panka/panka/schema"
	"github.com/panka/panka/state"
)

const (
	sslDefault = "ELBSecurityPolicy-TLS13-1-2-2021-06" // the schema's default
	sslOther   = "ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06"
	certA      = "arn:aws:acm:us-east-1:000000000000:certificate/aaaa-1111"
	certB      = "arn:aws:acm:us-east-1:000000000000:certificate/bbbb-2222"
)

func elbClient(t *testing.T) *elb.Client { return elb.NewFromConfig(sdkConfig(t)) }

// lbNet is where the tests place load balancers: the default VPC's first two subnets (and the
// third, to move to) and two security groups of their own.
type lbNet struct {
	vpc     string
	subnets []string
	sgs     []string
}

func newLBNet(t *testing.T) lbNet {
	t.Helper()
	ec := ec2.NewFromConfig(sdkConfig(t))
	out, err := ec.DescribeSubnets(t.Context(), &ec2.DescribeSubnetsInput{
		Filters: []ec2types.Filter{{Name: aws.String("default-for-az"), Values: []string{"true"}}}})
	if err != nil || len(out.Subnets) < 3 {
		t.Fatalf("the default VPC's subnets: %v (%d)", err, len(out.Subnets))
	}
	n := lbNet{vpc: aws.ToString(out.Subnets[0].VpcId)}
	for _, s := range out.Subnets[:3] {
		n.subnets = append(n.subnets, aws.ToString(s.SubnetId))
	}
	for range 2 {
		sg, err := ec.CreateSecurityGroup(t.Context(), &ec2.CreateSecurityGroupInput{
			GroupName: aws.String(unique("lb-sg-")), Description: aws.String("load balancer tests"), VpcId: aws.String(n.vpc)})
		if err != nil {
			t.Fatal(err)
		}
		n.sgs = append(n.sgs, aws.ToString(sg.GroupId))
	}
	return n
}

// network is the network block the engine injects: the first two subnets, the first group.
func (n lbNet) network() map[string]any {
	return m{"vpcId": n.vpc, "subnets": l{n.subnets[0], n.subnets[1]}, "securityGroups": l{n.sgs[0]}}
}

// albSpec is a complete ALB spec (as the engine hands it over) with one HTTP listener.
func albSpec(n lbNet) map[string]any {
	return m{"internal": false, "idleTimeout": int64(60), "deletionProtection": false, "network": n.network(),
		"listeners": l{m{"port": int64(80), "protocol": "HTTP", "sslPolicy": sslDefault}}}
}

func nlbSpec(n lbNet) map[string]any {
	return m{"internal": false, "crossZone": false, "deletionProtection": false, "network": n.network(),
		"listeners": l{m{"port": int64(443), "protocol": "TCP", "sslPolicy": sslDefault, "target": "orders/web"}}}
}

func redirectSpec(protocol, port string) map[string]any {
	return m{"redirect": m{"protocol": protocol, "port": port, "host": "#{host}", "path": "/#{path}", "query": "#{query}", "statusCode": "HTTP_301"}}
}

// lbView is a load balancer seen through the SDK: scheme, type, subnets, security groups, every
// attribute, each listener (by port) with its default action, and its tags.
func lbView(c *elb.Client) func(t *testing.T, id string) view {
	return func(t *testing.T, id string) view {
		t.Helper()
		ctx := t.Context()
		out, err := c.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{LoadBalancerArns: []string{id}})
		if err != nil {
			t.Fatal(err)
		}
		lb := out.LoadBalancers[0]
		v := view{"scheme": string(lb.Scheme), "type": string(lb.Type), "vpc": aws.ToString(lb.VpcId),
			"securityGroups": strings.Join(slices.Sorted(slices.Values(lb.SecurityGroups)), ",")}
		var subnets []string
		for _, z := range lb.AvailabilityZones {
			subnets = append(subnets, aws.ToString(z.SubnetId))
		}
		slices.Sort(subnets)
		v["subnets"] = strings.Join(subnets, ",")
		attrs, err := c.DescribeLoadBalancerAttributes(ctx, &elb.DescribeLoadBalancerAttributesInput{LoadBalancerArn: aws.String(id)})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range attrs.Attributes {
			v["attr:"+aws.ToString(a.Key)] = aws.ToString(a.Value)
		}
		ls, err := c.DescribeListeners(ctx, &elb.DescribeListenersInput{LoadBalancerArn: aws.String(id)})
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range ls.Listeners {
			k := fmt.Sprintf("listener:%d", aws.ToInt32(x.Port))
			v[k+".protocol"] = string(x.Protocol)
			if p := aws.ToString(x.SslPolicy); p != "" {
				v[k+".sslPolicy"] = p
			}
			for _, cert := range x.Certificates {
				v[k+".certificate"] = aws.ToString(cert.CertificateArn)
			}
			v[k+".action"] = actionText(x.DefaultActions)
		}
		tags, err := c.DescribeTags(ctx, &elb.DescribeTagsInput{ResourceArns: []string{id}})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range tags.TagDescriptions {
			for _, tag := range d.Tags {
				v["tag:"+aws.ToString(tag.Key)] = aws.ToString(tag.Value)
			}
		}
		return v
	}
}

// actionText writes default actions as "fixed-response 404 text/plain body", "redirect ..." or
// "forward TG_ARN".
func actionText(actions []elbtypes.Action) string {
	var out []string
	for _, a := range actions {
		switch {
		case a.FixedResponseConfig != nil:
			c := a.FixedResponseConfig
			out = append(out, fmt.Sprintf("fixed-response %s %s %s", aws.ToString(c.StatusCode), aws.ToString(c.ContentType), aws.ToString(c.MessageBody)))
		case a.RedirectConfig != nil:
			c := a.RedirectConfig
			out = append(out, fmt.Sprintf("redirect %s %s %s %s %s %s", aws.ToString(c.Protocol), aws.ToString(c.Port), aws.ToString(c.Host),
				aws.ToString(c.Path), aws.ToString(c.Query), c.StatusCode))
		case a.ForwardConfig != nil && len(a.ForwardConfig.TargetGroups) > 0:
			out = append(out, "forward "+aws.ToString(a.ForwardConfig.TargetGroups[0].TargetGroupArn))
		default:
			out = append(out, string(a.Type)+" "+aws.ToString(a.TargetGroupArn))
		}
	}
	return strings.Join(out, "; ")
}

// listenerArn returns the ARN of the listener on port of the load balancer lb, "" if none.
func listenerArn(t *testing.T, c *elb.Client, lb string, port int32) string {
	t.Helper()
	ls, err := c.DescribeListeners(t.Context(), &elb.DescribeListenersInput{LoadBalancerArn: aws.String(lb)})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range ls.Listeners {
		if aws.ToInt32(x.Port) == port {
			return aws.ToString(x.ListenerArn)
		}
	}
	return ""
}

// serviceTargetGroup makes the target group a MicroService at address would make, tagged with
// its address.
func serviceTargetGroup(t *testing.T, c *elb.Client, vpc, address string, protocol elbtypes.ProtocolEnum) string {
	t.Helper()
	out, err := c.CreateTargetGroup(t.Context(), &elb.CreateTargetGroupInput{Name: aws.String(unique("tg-")), Protocol: protocol,
		Port: aws.Int32(8080), VpcId: aws.String(vpc), TargetType: elbtypes.TargetTypeEnumIp,
		Tags: []elbtypes.Tag{{Key: aws.String("panka:address"), Value: aws.String(address)}}})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(out.TargetGroups[0].TargetGroupArn)
	t.Cleanup(func() {
		_, _ = c.DeleteTargetGroup(context.Background(), &elb.DeleteTargetGroupInput{TargetGroupArn: aws.String(arn)})
	})
	return arn
}

// partIDs returns the IDs of obs's parts of type typ.
func partIDs(obs *provider.Observed, typ string) []string {
	var out []string
	for _, part := range obs.Parts {
		if part.Type == typ {
			out = append(out, part.ID)
		}
	}
	return out
}

func forwardAction(tg string) elbtypes.Action {
	return elbtypes.Action{Type: elbtypes.ActionTypeEnumForward, ForwardConfig: &elbtypes.ForwardActionConfig{
		TargetGroups: []elbtypes.TargetGroupTuple{{TargetGroupArn: aws.String(tg)}}}}
}

// An ALB is created as its spec says, every field seen through the SDK: scheme, subnets, security
// groups, attributes, each listener's protocol, certificate, SSL policy and default action (a
// redirect, a fixed response, the implicit 404, the forward placeholder), and tags; it reads
// back as written (a forward whose service has not attached reads without forward), with its
// outputs and its listeners as parts.
func TestALBCreate(t *testing.T) {
	p := newProvider(t)
	c := elbClient(t)
	n := newLBNet(t)
	spec := albSpec(n)
	spec["internal"], spec["idleTimeout"] = true, int64(300)
	spec["network"] = m{"vpcId": n.vpc, "subnets": l{n.subnets[0], n.subnets[1]}, "securityGroups": l{n.sgs[0], n.sgs[1]}}
	spec["listeners"] = l{
		m{"port": int64(80), "protocol": "HTTP", "sslPolicy": sslDefault, "defaultAction": redirectSpec("HTTPS", "443")},
		m{"port": int64(443), "protocol": "HTTPS", "certificateArn": certA, "sslPolicy": sslOther,
			"defaultAction": m{"fixedResponse": m{"statusCode": int64(200), "contentType": "application/json", "body": `{"ok":true}`}}},
		m{"port": int64(8080), "protocol": "HTTP", "sslPolicy": sslDefault},
		m{"port": int64(8081), "protocol": "HTTP", "sslPolicy": sslDefault, "defaultAction": m{"forward": "orders/web"}},
	}
	r := component("ALB", unique("alb"), "", state.CloneMap(spec))
	r.Tags["team"] = "edge"
	obs := deploy(t, p, r)

	wantIn(t, "after Create", lbView(c)(t, obs.ID), view{
		"scheme": "internal", "type": "application", "vpc": n.vpc,
		"subnets": strings.Join(slices.Sorted(slices.Values(n.subnets[:2])), ","), "securityGroups": strings.Join(slices.Sorted(slices.Values(n.sgs)), ","),
		"attr:idle_timeout.timeout_seconds": "300", "attr:deletion_protection.enabled": "false", "attr:access_logs.s3.enabled": "false",
		"listener:80.protocol": "HTTP", "listener:80.action": "redirect HTTPS 443 #{host} /#{path} #{query} HTTP_301",
		"listener:443.protocol": "HTTPS", "listener:443.certificate": certA, "listener:443.sslPolicy": sslOther,
		"listener:443.action":  `fixed-response 200 application/json {"ok":true}`,
		"listener:8080.action": "fixed-response 404 text/plain ",
		"listener:8081.action": "fixed-response 503 text/plain no service attached",
		"tag:panka:address":    "orders/" + strings.TrimPrefix(r.Name, prefix), "tag:team": "edge", "tag:panka:stack": "shop",
	})

	want := state.CloneMap(spec)
	want["listeners"].([]any)[3].(map[string]any)["defaultAction"] = m{} // the placeholder: forward left out
	got, err := p.Read(t.Context(), "ALB", obs.ID)
	if err != nil {
		t.Fatal(err)
	}
	for what, o := range map[string]*provider.Observed{"Create": obs, "Read": got} {
		if diff := cmp.Diff(want, o.Spec, unsetIsAbsent); diff != "" {
			t.Errorf("%s spec (-want +read):\n%s", what, diff)
		}
	}
	out, err := c.DescribeLoadBalancers(t.Context(), &elb.DescribeLoadBalancersInput{LoadBalancerArns: []string{obs.ID}})
	if err != nil {
		t.Fatal(err)
	}
	lb := out.LoadBalancers[0]
	if want := map[string]string{"dnsName": aws.ToString(lb.DNSName), "zoneId": aws.ToString(lb.CanonicalHostedZoneId),
		"url": "http://" + aws.ToString(lb.DNSName), "arn": obs.ID}; !cmp.Equal(obs.Outputs, want) || obs.ARN != obs.ID || obs.Name != r.Name {
		t.Errorf("outputs %v, ARN %s, name %s; want %v", obs.Outputs, obs.ARN, obs.Name, want)
	}
	listeners := partIDs(obs, "AWS::ElasticLoadBalancingV2::Listener")
	if len(listeners) != 4 || !slices.Contains(listeners, listenerArn(t, c, obs.ID, 443)) {
		t.Errorf("parts %v, want the 4 listeners", obs.Parts)
	}
	ks, _ := p.Schema("ALB")
	if !slices.Contains(ks.ForceNew, "internal") || !slices.Contains(ks.Unordered, "listeners") {
		t.Errorf("Schema(ALB) = %+v, want internal ForceNew and listeners unordered", ks)
	}
}

// The url output: the first listener's scheme, and its port when not the default.
func TestALBURL(t *testing.T) {
	p := newProvider(t)
	n := newLBNet(t)
	spec := albSpec(n)
	spec["listeners"] = l{m{"port": int64(9443), "protocol": "HTTPS", "certificateArn": certA, "sslPolicy": sslDefault},
		m{"port": int64(10080), "protocol": "HTTP", "sslPolicy": sslDefault}}
	obs := deploy(t, p, component("ALB", unique("url"), "", spec))
	if got, want := obs.Outputs["url"], "https://"+obs.Outputs["dnsName"]+":9443"; got != want {
		t.Errorf("url = %q, want %q", got, want)
	}
}

// Update changes the idle timeout, adds and removes listeners, changes a redirect and an HTTPS
// listener's certificate and SSL policy, in place, and nothing else; the security groups and
// subnets move (SetSecurityGroups, SetSubnets); internal is refused (ForceNew).
func TestALBUpdate(t *testing.T) {
	p := newProvider(t)
	c := elbClient(t)
	n := newLBNet(t)
	look := lbView(c)
	spec := albSpec(n)
	spec["listeners"] = l{
		m{"port": int64(80), "protocol": "HTTP", "sslPolicy": sslDefault, "defaultAction": redirectSpec("HTTPS", "443")},
		m{"port": int64(443), "protocol": "HTTPS", "certificateArn": certA, "sslPolicy": sslDefault},
		m{"port": int64(8080), "protocol": "HTTP", "sslPolicy": sslDefault},
	}
	r := component("ALB", unique("upd"), "", state.CloneMap(spec))
	obs := deploy(t, p, r)
	before := look(t, obs.ID)
	kept := listenerArn(t, c, obs.ID, 443)

	spec["idleTimeout"] = int64(120)
	spec["listeners"] = l{
		m{"port": int64(80), "protocol": "HTTP", "sslPolicy": sslDefault, "defaultAction": redirectSpec("HTTPS", "8443")},
		m{"port": int64(443), "protocol": "HTTPS", "certificateArn": certB, "sslPolicy": sslOther},
		m{"port": int64(9090), "protocol": "HTTP", "sslPolicy": sslDefault, "defaultAction": m{"fixedResponse": m{"statusCode": int64(418), "contentType": "text/plain"}}},
	}
	r.Spec = state.CloneMap(spec)
	updated, err := p.Update(t.Context(), obs.ID, r, []string{"idleTimeout", "listeners"})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	after := look(t, obs.ID)
	wantIn(t, "after Update", after, view{
		"attr:idle_timeout.timeout_seconds": "120",
		"listener:80.action":                "redirect HTTPS 8443 #{host} /#{path} #{query} HTTP_301",
		"listener:443.certificate":          certB, "listener:443.sslPolicy": sslOther,
		"listener:8080.protocol": "", "listener:8080.action": "",
		"listener:9090.protocol": "HTTP", "listener:9090.action": "fixed-response 418 text/plain ",
	})
	if got := listenerArn(t, c, obs.ID, 443); got != kept {
		t.Errorf("the 443 listener is %s, was %s: a changed listener is modified, not made again", got, kept)
	}
	changed := changedKeys(before, after)
	for _, k := range changed {
		if !strings.HasPrefix(k, "listener:") && k != "attr:idle_timeout.timeout_seconds" {
			t.Errorf("Update changed %s (%q → %q)", k, before[k], after[k])
		}
	}
	if diff := cmp.Diff(spec, updated.Spec, unsetIsAbsent); diff != "" {
		t.Errorf("Update returned spec (-applied +read):\n%s", diff)
	}

	// The network: another security group, another pair of subnets.
	spec["network"] = m{"vpcId": n.vpc, "subnets": l{n.subnets[1], n.subnets[2]}, "securityGroups": l{n.sgs[1]}}
	r.Spec = state.CloneMap(spec)
	if _, err := p.Update(t.Context(), obs.ID, r, []string{"network.subnets", "network.securityGroups"}); err != nil {
		t.Fatalf("Update of the network: %v", err)
	}
	wantIn(t, "after moving", look(t, obs.ID), view{"securityGroups": n.sgs[1],
		"subnets": strings.Join(slices.Sorted(slices.Values(n.subnets[1:3])), ",")})
	got, err := p.Read(t.Context(), "ALB", obs.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(spec, got.Spec, unsetIsAbsent); diff != "" {
		t.Errorf("Read after moving (-applied +read):\n%s", diff)
	}

	// internal cannot change in place.
	before = look(t, obs.ID)
	r.Spec = state.CloneMap(spec)
	r.Spec["internal"] = true
	if _, err := p.Update(t.Context(), obs.ID, r, []string{"internal"}); err == nil || !strings.Contains(err.Error(), "replaced") {
		t.Errorf("Update of internal: %v, want a refusal", err)
	}
	if diff := cmp.Diff(before, look(t, obs.ID)); diff != "" {
		t.Errorf("a refused Update changed the load balancer (-before +after):\n%s", diff)
	}

	// A listener changed behind Panka's back is drift, which Update undoes.
	if _, err := c.ModifyListener(t.Context(), &elb.ModifyListenerInput{ListenerArn: aws.String(listenerArn(t, c, obs.ID, 9090)),
		DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumFixedResponse, FixedResponseConfig: &elbtypes.FixedResponseActionConfig{
			StatusCode: aws.String("500"), ContentType: aws.String("text/plain")}}}}); err != nil {
		t.Fatal(err)
	}
	got, err = p.Read(t.Context(), "ALB", obs.ID)
	if err != nil {
		t.Fatal(err)
	}
	if cmp.Equal(spec, got.Spec, unsetIsAbsent) {
		t.Error("a default action changed behind Panka's back does not show in Read")
	}
	r.Spec = state.CloneMap(spec)
	if _, err := p.Update(t.Context(), obs.ID, r, nil); err != nil {
		t.Fatal(err)
	}
	wantIn(t, "after undoing the drift", look(t, obs.ID), view{"listener:9090.action": "fixed-response 418 text/plain "})

	// Attributes and security groups changed behind Panka's back: drift, undone by Update.
	if _, err := c.ModifyLoadBalancerAttributes(t.Context(), &elb.ModifyLoadBalancerAttributesInput{LoadBalancerArn: aws.String(obs.ID),
		Attributes: []elbtypes.LoadBalancerAttribute{{Key: aws.String("idle_timeout.timeout_seconds"), Value: aws.String("30")},
			{Key: aws.String("deletion_protection.enabled"), Value: aws.String("true")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SetSecurityGroups(t.Context(), &elb.SetSecurityGroupsInput{LoadBalancerArn: aws.String(obs.ID), SecurityGroups: n.sgs}); err != nil {
		t.Fatal(err)
	}
	if got, err = p.Read(t.Context(), "ALB", obs.ID); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"idleTimeout", "deletionProtection", "network"} {
		if cmp.Equal(spec[f], got.Spec[f]) {
			t.Errorf("%s changed behind Panka's back reads as %v, as the spec says", f, got.Spec[f])
		}
	}
	if _, err := p.Update(t.Context(), obs.ID, r, nil); err != nil {
		t.Fatal(err)
	}
	wantIn(t, "after undoing the attributes' drift", look(t, obs.ID), view{"attr:idle_timeout.timeout_seconds": "120",
		"attr:deletion_protection.enabled": "false", "securityGroups": n.sgs[1]})
}

// The forward contract with the MicroService: the ALB makes a forward listener with the
// placeholder; once the service points it at its target group (here through the SDK, as the
// service would), the ALB reads forward: the target group's address, and an Update of another
// setting (the idle timeout, the listener's protocol settings) keeps the forward. When the
// service puts the placeholder back, it reads without forward again. An Update whose spec no
// longer forwards replaces the forward with the ALB's own action.
func TestALBForwardContract(t *testing.T) {
	p := newProvider(t)
	c := elbClient(t)
	n := newLBNet(t)
	spec := albSpec(n)
	spec["listeners"] = l{m{"port": int64(80), "protocol": "HTTP", "sslPolicy": sslDefault, "defaultAction": m{"forward": "orders/web"}}}
	r := component("ALB", unique("fwd"), "", state.CloneMap(spec))
	obs := deploy(t, p, r)
	listener := listenerArn(t, c, obs.ID, 80)
	if got := lbView(c)(t, obs.ID)["listener:80.action"]; got != "fixed-response 503 text/plain no service attached" {
		t.Fatalf("a forward listener before its service attaches: %q, want the placeholder", got)
	}
	if got := obs.Spec["listeners"].([]any)[0].(map[string]any)["defaultAction"]; !cmp.Equal(got, map[string]any{}) {
		t.Errorf("the placeholder reads as defaultAction %v, want one without forward", got)
	}

	tg := serviceTargetGroup(t, c, n.vpc, "orders/web", elbtypes.ProtocolEnumHttp)
	if _, err := c.ModifyListener(t.Context(), &elb.ModifyListenerInput{ListenerArn: aws.String(listener),
		DefaultActions: []elbtypes.Action{forwardAction(tg)}}); err != nil {
		t.Fatal(err)
	}
	got, err := p.Read(t.Context(), "ALB", obs.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(spec, got.Spec, unsetIsAbsent); diff != "" {
		t.Errorf("Read once the service attached (-spec +read):\n%s", diff)
	}

	spec["idleTimeout"] = int64(90)
	r.Spec = state.CloneMap(spec)
	if _, err := p.Update(t.Context(), obs.ID, r, []string{"idleTimeout"}); err != nil {
		t.Fatal(err)
	}
	wantIn(t, "after an Update of another setting", lbView(c)(t, obs.ID), view{"listener:80.action": "forward " + tg,
		"attr:idle_timeout.timeout_seconds": "90"})
	// A forward to another service's group is the services' business too: kept.
	other := serviceTargetGroup(t, c, n.vpc, "orders/api", elbtypes.ProtocolEnumHttp)
	if _, err := c.ModifyListener(t.Context(), &elb.ModifyListenerInput{ListenerArn: aws.String(listener),
		DefaultActions: []elbtypes.Action{forwardAction(other)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Update(t.Context(), obs.ID, r, nil); err != nil {
		t.Fatal(err)
	}
	wantIn(t, "after an Update with a forward to another group", lbView(c)(t, obs.ID), view{"listener:80.action": "forward " + other})

	// The service goes: it puts the placeholder back.
	if _, err := c.ModifyListener(t.Context(), &elb.ModifyListenerInput{ListenerArn: aws.String(listener),
		DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumFixedResponse, FixedResponseConfig: &elbtypes.FixedResponseActionConfig{
			StatusCode: aws.String("503"), ContentType: aws.String("text/plain"), MessageBody: aws.String("no service attached")}}}}); err != nil {
		t.Fatal(err)
	}
	if got, err = p.Read(t.Context(), "ALB", obs.ID); err != nil {
		t.Fatal(err)
	}
	if a := got.Spec["listeners"].([]any)[0].(map[string]any)["defaultAction"]; !cmp.Equal(a, map[string]any{}) {
		t.Errorf("after the service went: defaultAction %v, want one without forward", a)
	}

	// A spec that says redirect instead: the ALB's own action replaces a forward.
	if _, err := c.ModifyListener(t.Context(), &elb.ModifyListenerInput{ListenerArn: aws.String(listener),
		DefaultActions: []elbtypes.Action{forwardAction(tg)}}); err != nil {
		t.Fatal(err)
	}
	spec["listeners"] = l{m{"port": int64(80), "protocol": "HTTP", "sslPolicy": sslDefault, "defaultAction": redirectSpec("HTTPS", "443")}}
	r.Spec = state.CloneMap(spec)
	if _, err := p.Update(t.Context(), obs.ID, r, []string{"listeners"}); err != nil {
		t.Fatal(err)
	}
	wantIn(t, "after an Update to a redirect", lbView(c)(t, obs.ID), view{"listener:80.action": "redirect HTTPS 443 #{host} /#{path} #{query} HTTP_301"})
}

// Delete refuses a load balancer with deletion protection on, saying how to turn it off, and
// changes nothing; once an Update turns it off, Delete deletes it.
func TestLoadBalancerDeletionProtection(t *testing.T) {
	p := newProvider(t)
	c := elbClient(t)
	n := newLBNet(t)
	for _, kind := range []string{"ALB", "NLB"} {
		t.Run(kind, func(t *testing.T) {
			spec := albSpec(n)
			if kind == "NLB" {
				spec = nlbSpec(n)
			}
			spec["deletionProtection"] = true
			r := component(kind, unique("prot"), "", state.CloneMap(spec))
			obs, err := p.Create(t.Context(), r)
			if err != nil {
				t.Fatal(err)
			}
			before := lbView(c)(t, obs.ID)
			if before["attr:deletion_protection.enabled"] != "true" {
				t.Fatalf("deletion protection: %q", before["attr:deletion_protection.enabled"])
			}
			err = p.Delete(t.Context(), obs.ID, r)
			if err == nil || !strings.Contains(err.Error(), "deletionProtection: false") {
				t.Errorf("Delete with deletion protection: %v, want a refusal saying how to turn it off", err)
			}
			if diff := cmp.Diff(before, lbView(c)(t, obs.ID)); diff != "" {
				t.Errorf("a refused Delete changed the load balancer (-before +after):\n%s", diff)
			}
			r.Spec = state.CloneMap(spec)
			r.Spec["deletionProtection"] = false
			if _, err := p.Update(t.Context(), obs.ID, r, []string{"deletionProtection"}); err != nil {
				t.Fatal(err)
			}
			if err := p.Delete(t.Context(), obs.ID, r); err != nil {
				t.Fatalf("Delete once deletion protection is off: %v", err)
			}
			if _, err := c.DescribeLoadBalancers(t.Context(), &elb.DescribeLoadBalancersInput{LoadBalancerArns: []string{obs.ID}}); !absentLB(err) {
				t.Errorf("after Delete: %v, want LoadBalancerNotFound", err)
			}
		})
	}
}

func absentLB(err error) bool {
	return err != nil && strings.Contains(err.Error(), "LoadBalancerNotFound")
}

// logsStatement returns the ALB's statement in the bucket's policy (nil if none), checking the
// statement AWS needs: logdelivery.elasticloadbalancing.amazonaws.com may s3:PutObject under
// the prefix's AWSLogs/ACCOUNT/.
func logsStatement(t *testing.T, bucket, objects string) map[string]any {
	t.Helper()
	var found map[string]any
	for _, st := range bucketPolicy(t, bucket) {
		if sid, _ := st["Sid"].(string); strings.HasPrefix(sid, "PankaELB") {
			if found != nil {
				t.Errorf("two statements of the ALB in %s", bucket)
			}
			found = st
		}
	}
	if found == nil {
		return nil
	}
	want := map[string]any{"Sid": found["Sid"], "Effect": "Allow",
		"Principal": map[string]any{"Service": "logdelivery.elasticloadbalancing.amazonaws.com"},
		"Action":    "s3:PutObject", "Resource": "arn:aws:s3:::" + bucket + "/" + objects}
	if diff := cmp.Diff(want, found); diff != "" {
		t.Errorf("the access-logs statement (-want +got):\n%s", diff)
	}
	return found
}

// Access logs: the ALB adds the statement ELB's log delivery needs to the bucket's policy before
// turning access logs on, reports it as a part, reads a missing one as drift that Update undoes,
// moves it with the prefix and the bucket, and removes it when access logs go, and at Delete.
func TestALBAccessLogs(t *testing.T) {
	p := newProvider(t)
	c := elbClient(t)
	n := newLBNet(t)
	bucket := deploy(t, p, component("S3", unique("logs"), "", s3Spec())).ID
	other := deploy(t, p, component("S3", unique("logs2"), "", s3Spec())).ID
	spec := albSpec(n)
	spec["accessLogs"] = m{"bucket": bucket, "prefix": "edge"}
	r := component("ALB", unique("logs"), "", state.CloneMap(spec))
	obs, err := p.Create(t.Context(), r)
	if err != nil {
		t.Fatal(err)
	}
	wantIn(t, "after Create", lbView(c)(t, obs.ID), view{"attr:access_logs.s3.enabled": "true", "attr:access_logs.s3.bucket": bucket,
		"attr:access_logs.s3.prefix": "edge"})
	st := logsStatement(t, bucket, "edge/AWSLogs/000000000000/*")
	if st == nil {
		t.Fatalf("no access-logs statement in %s: %v", bucket, bucketPolicy(t, bucket))
	}
	part := provider.Part{Type: "AWS::S3::BucketPolicy", ID: bucket + "#" + st["Sid"].(string)}
	if !slices.Contains(obs.Parts, part) {
		t.Errorf("parts %v, want %v", obs.Parts, part)
	}
	if diff := cmp.Diff(spec, obs.Spec, unsetIsAbsent); diff != "" {
		t.Errorf("Create spec (-want +read):\n%s", diff)
	}

	// The statement deleted behind Panka's back: drift, undone by Update.
	if _, err := s3Client(t).DeleteBucketPolicy(t.Context(), &s3.DeleteBucketPolicyInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	got, err := p.Read(t.Context(), "ALB", obs.ID)
	if err != nil {
		t.Fatal(err)
	}
	if b := got.Spec["accessLogs"].(map[string]any)["bucket"]; b != bucket+" (without its policy statement)" {
		t.Errorf("accessLogs.bucket without the statement reads %v", b)
	}
	if _, err := p.Update(t.Context(), obs.ID, r, nil); err != nil {
		t.Fatal(err)
	}
	if logsStatement(t, bucket, "edge/AWSLogs/000000000000/*") == nil {
		t.Error("Update did not add the missing statement again")
	}

	// Another prefix, then another bucket.
	spec["accessLogs"] = m{"bucket": bucket}
	r.Spec = state.CloneMap(spec)
	if _, err := p.Update(t.Context(), obs.ID, r, []string{"accessLogs.prefix"}); err != nil {
		t.Fatal(err)
	}
	logsStatement(t, bucket, "AWSLogs/000000000000/*")
	wantIn(t, "after a new prefix", lbView(c)(t, obs.ID), view{"attr:access_logs.s3.enabled": "true", "attr:access_logs.s3.prefix": ""})
	spec["accessLogs"] = m{"bucket": other, "prefix": "x"}
	r.Spec = state.CloneMap(spec)
	updated, err := p.Update(t.Context(), obs.ID, r, []string{"accessLogs"})
	if err != nil {
		t.Fatal(err)
	}
	if logsStatement(t, bucket, "") != nil || logsStatement(t, other, "x/AWSLogs/000000000000/*") == nil {
		t.Errorf("after moving to %s: old policy %v, new policy %v", other, bucketPolicy(t, bucket), bucketPolicy(t, other))
	}
	if diff := cmp.Diff(spec, updated.Spec, unsetIsAbsent); diff != "" {
		t.Errorf("Update spec (-want +read):\n%s", diff)
	}

	// No access logs: turned off, the statement removed.
	delete(spec, "accessLogs")
	r.Spec = state.CloneMap(spec)
	if _, err := p.Update(t.Context(), obs.ID, r, []string{"accessLogs"}); err != nil {
		t.Fatal(err)
	}
	wantIn(t, "without access logs", lbView(c)(t, obs.ID), view{"attr:access_logs.s3.enabled": "false", "attr:access_logs.s3.bucket": ""})
	if got := bucketPolicy(t, other); got != nil {
		t.Errorf("policy of %s without access logs: %v", other, got)
	}

	// Delete removes the statement.
	spec["accessLogs"] = m{"bucket": bucket}
	r.Spec = state.CloneMap(spec)
	if _, err := p.Update(t.Context(), obs.ID, r, []string{"accessLogs"}); err != nil {
		t.Fatal(err)
	}
	if logsStatement(t, bucket, "AWSLogs/000000000000/*") == nil {
		t.Fatal("no statement after turning access logs on again")
	}
	if err := p.Delete(t.Context(), obs.ID, r); err != nil {
		t.Fatal(err)
	}
	if got := bucketPolicy(t, bucket); got != nil {
		t.Errorf("policy of %s after Delete: %v", bucket, got)
	}
}

// An NLB is the load balancer only, with cross-zone load balancing as its spec says (at create
// and update); its listeners are its services': made by them (here through the SDK), they read
// back sorted by port, targets by address, and an Update of the load balancer's settings leaves
// them as they are.
func TestNLB(t *testing.T) {
	p := newProvider(t)
	c := elbClient(t)
	n := newLBNet(t)
	spec := nlbSpec(n)
	spec["crossZone"] = true
	r := component("NLB", unique("nlb"), "", state.CloneMap(spec))
	obs := deploy(t, p, r)
	v := lbView(c)(t, obs.ID)
	wantIn(t, "after Create", v, view{"type": "network", "scheme": "internet-facing", "attr:load_balancing.cross_zone.enabled": "true",
		"securityGroups": n.sgs[0], "listener:443.protocol": ""})
	if obs.Spec["listeners"] != nil {
		t.Errorf("an NLB without services reads listeners %v, want nil", obs.Spec["listeners"])
	}
	if obs.Outputs["dnsName"] == "" || obs.Outputs["zoneId"] == "" || obs.Outputs["arn"] != obs.ID || obs.Outputs["url"] != "" {
		t.Errorf("outputs %v, want dnsName, zoneId and arn", obs.Outputs)
	}
	if len(obs.Parts) != 0 {
		t.Errorf("parts %v, want none (the listeners are the services')", obs.Parts)
	}

	// The services make their listeners.
	web := serviceTargetGroup(t, c, n.vpc, "orders/web", elbtypes.ProtocolEnumTcp)
	mqtt := serviceTargetGroup(t, c, n.vpc, "iot/mqtt", elbtypes.ProtocolEnumTls)
	for _, in := range []*elb.CreateListenerInput{
		{LoadBalancerArn: aws.String(obs.ID), Port: aws.Int32(8883), Protocol: elbtypes.ProtocolEnumTls, SslPolicy: aws.String(sslOther),
			Certificates: []elbtypes.Certificate{{CertificateArn: aws.String(certA)}}, DefaultActions: []elbtypes.Action{forwardAction(mqtt)}},
		{LoadBalancerArn: aws.String(obs.ID), Port: aws.Int32(443), Protocol: elbtypes.ProtocolEnumTcp, DefaultActions: []elbtypes.Action{forwardAction(web)}},
	} {
		if _, err := c.CreateListener(t.Context(), in); err != nil {
			t.Fatal(err)
		}
	}
	spec["listeners"] = l{
		m{"port": int64(443), "protocol": "TCP", "sslPolicy": sslDefault, "target": "orders/web"},
		m{"port": int64(8883), "protocol": "TLS", "certificateArn": certA, "sslPolicy": sslOther, "target": "iot/mqtt"},
	}
	got, err := p.Read(t.Context(), "NLB", obs.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(spec, got.Spec, unsetIsAbsent); diff != "" {
		t.Errorf("Read with the services' listeners (-want +read):\n%s", diff)
	}

	before := lbView(c)(t, obs.ID)
	spec["crossZone"] = false
	spec["listeners"] = l{m{"port": int64(443), "protocol": "TCP", "sslPolicy": sslDefault, "target": "orders/web"}} // not the NLB's to change
	r.Spec = state.CloneMap(spec)
	if _, err := p.Update(t.Context(), obs.ID, r, []string{"crossZone", "listeners"}); err != nil {
		t.Fatal(err)
	}
	after := lbView(c)(t, obs.ID)
	if diff := cmp.Diff([]string{"attr:load_balancing.cross_zone.enabled"}, changedKeys(before, after)); diff != "" {
		t.Errorf("Update of crossZone changed (-want +got):\n%s", diff)
	}
	if after["attr:load_balancing.cross_zone.enabled"] != "false" {
		t.Errorf("cross-zone after Update: %q", after["attr:load_balancing.cross_zone.enabled"])
	}
	if _, err := p.Read(t.Context(), "ALB", obs.ID); err == nil {
		t.Error("an NLB reads as an ALB")
	}
	if ks, _ := p.Schema("NLB"); !slices.Equal(ks.External, []string{"listeners"}) {
		t.Errorf("Schema(NLB).External = %v, want the listeners (the services')", ks.External)
	}
	if ks, _ := p.Schema("ALB"); len(ks.External) != 0 {
		t.Errorf("Schema(ALB).External = %v, want none (an ALB owns its listeners)", ks.External)
	}
}

// Delete leaves nothing: the listeners, the load balancer and the access-logs statement are gone,
// and the load balancer is no longer found by name.
func TestALBDeleteLeavesNothing(t *testing.T) {
	p := newProvider(t)
	c := elbClient(t)
	n := newLBNet(t)
	bucket := deploy(t, p, component("S3", unique("dl"), "", s3Spec())).ID
	spec := albSpec(n)
	spec["listeners"] = l{m{"port": int64(80), "protocol": "HTTP", "sslPolicy": sslDefault, "defaultAction": redirectSpec("HTTPS", "443")},
		m{"port": int64(443), "protocol": "HTTPS", "certificateArn": certA, "sslPolicy": sslDefault}}
	spec["accessLogs"] = m{"bucket": bucket}
	r := component("ALB", unique("del"), "", spec)
	obs, err := p.Create(t.Context(), r)
	if err != nil {
		t.Fatal(err)
	}
	listeners := partIDs(obs, "AWS::ElasticLoadBalancingV2::Listener")
	if len(listeners) != 2 || logsStatement(t, bucket, "AWSLogs/000000000000/*") == nil {
		t.Fatalf("parts %v, policy %v", obs.Parts, bucketPolicy(t, bucket))
	}
	if err := p.Delete(t.Context(), obs.ID, r); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DescribeLoadBalancers(t.Context(), &elb.DescribeLoadBalancersInput{Names: []string{r.Name}}); !absentLB(err) {
		t.Errorf("the load balancer after Delete: %v", err)
	}
	for _, x := range listeners {
		if _, err := c.DescribeListeners(t.Context(), &elb.DescribeListenersInput{ListenerArns: []string{x}}); err == nil || !strings.Contains(err.Error(), "ListenerNotFound") {
			t.Errorf("listener %s after Delete: %v", x, err)
		}
	}
	if got := bucketPolicy(t, bucket); got != nil {
		t.Errorf("bucket policy after Delete: %v", got)
	}
	if _, err := p.Find(t.Context(), r); !isNotFoundErr(err) {
		t.Errorf("Find after Delete: %v", err)
	}
}

// A create killed after the access-logs statement went in, before access logs were on: the load
// balancer is found again by name and reports the statement as a part (access logs off: drift);
// Update completes it. When the load balancer is then gone (a destroy killed after it went),
// DeleteParts removes the statement the state recorded, and the listeners need nothing; nothing
// is made before the load balancer, so DeleteParts of an interrupted create finds nothing.
func TestLoadBalancerDeleteParts(t *testing.T) {
	n := newLBNet(t)
	p := newProvider(t)
	c := elbClient(t)
	bucket := deploy(t, p, component("S3", unique("dp"), "", s3Spec())).ID
	spec := albSpec(n)
	spec["accessLogs"] = m{"bucket": bucket}
	r := component("ALB", unique("kill"), "", state.CloneMap(spec))

	// The kill: the create's last attribute change (access logs on) never reaches AWS.
	faulty := faultyProvider(t, func(req *http.Request) *http.Response {
		if req.Body == nil {
			return nil
		}
		body, _ := io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
		form, _ := url.ParseQuery(string(body))
		if form.Get("Action") != "ModifyLoadBalancerAttributes" {
			return nil
		}
		for i := 1; form.Has(fmt.Sprintf("Attributes.member.%d.Key", i)); i++ {
			if form.Get(fmt.Sprintf("Attributes.member.%d.Key", i)) == "access_logs.s3.enabled" && form.Get(fmt.Sprintf("Attributes.member.%d.Value", i)) == "true" {
				return &http.Response{StatusCode: 500, Header: http.Header{"Content-Type": {"text/xml"}}, Body: http.NoBody}
			}
		}
		return nil
	})
	if _, err := faulty.Create(t.Context(), r); err == nil {
		t.Fatal("Create succeeded through a fault")
	}
	found, err := p.Find(t.Context(), r)
	if err != nil {
		t.Fatalf("Find after a killed create: %v", err)
	}
	t.Cleanup(func() { _ = p.Delete(context.Background(), found.ID, r) })
	st := logsStatement(t, bucket, "AWSLogs/000000000000/*")
	if st == nil {
		t.Fatalf("policy after the killed create: %v", bucketPolicy(t, bucket))
	}
	part := provider.Part{Type: "AWS::S3::BucketPolicy", ID: bucket + "#" + st["Sid"].(string)}
	if !slices.Contains(found.Parts, part) || found.Spec["accessLogs"] != nil {
		t.Errorf("found: parts %v, accessLogs %v; want the statement a part, access logs off", found.Parts, found.Spec["accessLogs"])
	}
	updated, err := p.Update(t.Context(), found.ID, r, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(spec, updated.Spec, unsetIsAbsent); diff != "" {
		t.Errorf("Update after the killed create (-want +read):\n%s", diff)
	}

	// A destroy killed after the load balancer went: the statement is left.
	if _, err := c.DeleteLoadBalancer(t.Context(), &elb.DeleteLoadBalancerInput{LoadBalancerArn: aws.String(found.ID)}); err != nil {
		t.Fatal(err)
	}
	if logsStatement(t, bucket, "AWSLogs/000000000000/*") == nil {
		t.Fatal("no statement left to delete")
	}
	for range 2 {
		if err := p.DeleteParts(t.Context(), r, updated.Parts); err != nil {
			t.Fatalf("DeleteParts: %v", err)
		}
	}
	if got := bucketPolicy(t, bucket); got != nil {
		t.Errorf("bucket policy after DeleteParts: %v", got)
	}
	if err := p.DeleteParts(t.Context(), r, nil); err != nil {
		t.Errorf("DeleteParts of an interrupted create: %v", err)
	}
	if err := p.DeleteParts(t.Context(), r, []provider.Part{{Type: "AWS::IAM::Role", ID: "x"}}); err == nil {
		t.Error("DeleteParts of a part type an ALB never makes succeeded")
	}
	nr := component("NLB", unique("kill"), "", nlbSpec(n))
	if err := p.DeleteParts(t.Context(), nr, []provider.Part{{Type: "AWS::S3::BucketPolicy", ID: bucket + "#PankaELB0"}}); err == nil {
		t.Error("DeleteParts of a bucket statement of an NLB (which makes none) succeeded")
	}
}

// Create waits until the load balancer is active, reporting its state as progress: here AWS
// (a fault in front of the local AWS) says provisioning twice first.
func TestLoadBalancerWaitsActive(t *testing.T) {
	n := newLBNet(t)
	var provisioning atomic.Int64
	provisioning.Store(2)
	p := faultyProvider(t, func(req *http.Request) *http.Response {
		if req.Body == nil {
			return nil
		}
		body, _ := io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
		if form, _ := url.ParseQuery(string(body)); form.Get("Action") != "DescribeLoadBalancers" || form.Get("LoadBalancerArns.member.1") == "" {
			return nil
		}
		if provisioning.Add(-1) < 0 {
			return nil // the local AWS's own answer
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return &http.Response{StatusCode: 500, Header: http.Header{}, Body: http.NoBody}
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		data = bytes.ReplaceAll(data, []byte("<Code>active</Code>"), []byte("<Code>provisioning</Code>"))
		resp.Body, resp.ContentLength = io.NopCloser(bytes.NewReader(data)), int64(len(data))
		resp.Header.Del("Content-Length")
		return resp
	})
	var progress []string
	var mu sync.Mutex
	ctx := provider.WithProgress(t.Context(), func(msg string) {
		mu.Lock()
		defer mu.Unlock()
		progress = append(progress, msg)
	})
	r := component("ALB", unique("wait"), "", albSpec(n))
	obs, err := p.Create(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Delete(context.Background(), obs.ID, r) })
	if provisioning.Load() > 0 {
		t.Errorf("Create returned after %d of the 2 provisioning answers", 2-provisioning.Load())
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(progress, []string{"load balancer provisioning"}) {
		t.Errorf("progress %q, want the provisioning state once", progress)
	}
}

// Specs as the engine hands them over (YAML decoded with the schema's defaults, then
// schema.ToMap, plus the network) read back unchanged: a second plan shows no change. An NLB's
// listeners are its services' (External), so it reads back without them.
func TestLoadBalancerEngineSpecsRoundTrip(t *testing.T) {
	p := newProvider(t)
	n := newLBNet(t)
	for _, tc := range []struct {
		kind, yaml string
		spec       schema.Spec
	}{
		{"ALB", `
idleTimeout: 75
listeners:
  - port: 80
    defaultAction: {redirect: {protocol: HTTPS, port: "443"}}
  - port: 443
    protocol: HTTPS
    certificateArn: ` + certA + `
    defaultAction: {fixedResponse: {statusCode: 404, body: gone}}
  - port: 8080
`, &schema.ALBSpec{}},
		{"NLB", `
crossZone: true
listeners:
  - port: 8883
    protocol: TLS
    certificateArn: ` + certA + `
    target: mqtt
`, &schema.NLBSpec{}},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			if _, err := schema.DecodeFile("spec.yaml", []byte(tc.yaml), tc.spec); err != nil {
				t.Fatal(err)
			}
			spec := schema.ToMap(tc.spec)
			spec["network"] = n.network()
			obs := deploy(t, p, component(tc.kind, unique("eng"), "", state.CloneMap(spec)))
			if tc.kind == "NLB" {
				delete(spec, "listeners")
			}
			got, err := p.Read(t.Context(), tc.kind, obs.ID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(spec, got.Spec, unsetIsAbsent); diff != "" {
				t.Errorf("read back (-engine +read):\n%s", diff)
			}
		})
	}
}
