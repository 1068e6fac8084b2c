package aws

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/panka/panka/provider"
)

// Load balancers: ALB and NLB are an Elastic Load Balancing v2 load balancer named after the
// component (the physical name; its ARN is the ID), in the subnets and security groups of the
// spec's network (the engine injects it: the public subnets for an internet-facing one, the
// private ones for an internal one). The fields of schema.ALBSpec and schema.NLBSpec:
//
//	internal             Scheme internal, else internet-facing (ForceNew)
//	network              subnets (SetSubnets), securityGroups (SetSecurityGroups), vpcId
//	                     (read back from the load balancer: the VPC of its subnets)
//	idleTimeout          ALB: idle_timeout.timeout_seconds
//	deletionProtection   deletion_protection.enabled
//	crossZone            NLB: load_balancing.cross_zone.enabled
//	accessLogs           ALB: access_logs.s3.enabled, .bucket (the bucket's name: the engine
//	                     resolves the component), .prefix
//	listeners[]          ALB: one listener per port (a part, AWS::ElasticLoadBalancingV2::Listener);
//	                     NLB: see below
//
// Create makes the load balancer with its tags, waits until it is active (reporting its state
// through provider.ReportProgress), sets the attributes (with the access-logs statement, below),
// then creates the ALB's listeners. A crash halfway leaves a load balancer found again by name
// (its tags are on it from the first call), which the engine's next apply adopts and completes
// with Update; nothing is made before the load balancer, so an interrupted create leaves nothing
// for DeleteParts to find by name. A spec without network (no subnets) is an error.
//
// Access logs: ELB delivers them only into a bucket whose policy lets
// logdelivery.elasticloadbalancing.amazonaws.com s3:PutObject on
// BUCKET/PREFIX/AWSLogs/ACCOUNT/*, and AWS checks that when access logs are turned on. So the
// ALB owns that statement (Sid "PankaELB" + a hash of its ARN, policy.go), a part,
// AWS::S3::BucketPolicy "BUCKET#SID", and the load balancer's access_logs.s3.bucket attribute
// always names the one bucket that may hold it, access logs on or off: to log into a bucket the
// ALB first names it with access logs off, then adds the statement, then turns access logs on;
// to stop, or to move to another bucket, it turns them off, removes the statement, and only then
// names the next bucket (or none). So Read, Update and Delete find the statement after a crash
// between any two calls, and nothing is left that no one reports. (Moving between buckets stops
// logging for the calls in between.) A change of prefix rewrites the statement before the
// attribute. A bucket whose policy lacks the statement reads as accessLogs.bucket marked
// " (without its policy statement)": drift that the next Update undoes; a statement present
// while access logs are off (a create killed before turning them on) is a part, and access logs
// read as off: drift that Update completes.
//
// ALB listeners, and what a MicroService owns (the contract with the MicroService kind): a
// service attached to the ALB owns its target group and its listener rule. A listener whose
// defaultAction is forward: svc/name is created with a placeholder default action (fixed
// response 503 text/plain "no service attached"); the service, once its target group exists,
// makes the listener's default action forward to it (and puts the placeholder back when it
// goes). Read reports a default action that forwards to a target group as forward: the target
// group's panka:address tag (its ARN when it has none), and the placeholder (any fixed response
// 503 text/plain "no service attached") as a defaultAction without forward: until the service
// attaches, the engine sees the listener as drift, which Update leaves alone. Update never replaces a default action that forwards to a target group
// when the spec says forward; it changes only the listener's other settings. Fixed-response
// and redirect default actions are the ALB's own. A listener without defaultAction answers a
// fixed 404 (text/plain, no body), which reads back as no defaultAction: a spec that writes
// exactly that fixed response reads as one without defaultAction. HTTP listeners read back with
// the schema's default sslPolicy (AWS keeps none for them). Listeners read back sorted by port.
//
// NLB listeners always forward to a target group, which is a service's: each listeners[] entry
// is created by its target MicroService (the engine injects them into the service's
// loadBalancer.listeners), and the NLB makes the load balancer only. Read reports the live
// listeners, whoever made them, as [{port, protocol, certificateArn, sslPolicy, target}] sorted
// by port, target the target group's panka:address tag: an NLB whose services have not attached
// yet reads back with listeners nil (drift until they do). Update changes only the load
// balancer's settings, never a listener. The NLB's schema declares listeners External
// (provider.KindSchema), so the conformance suite expects them unset.
//
// Delete refuses a load balancer with deletion protection on (apply deletionProtection: false
// first; Panka never turns it off itself), then deletes the ALB's listeners and the load
// balancer, waits until it is gone, and removes the access-logs statement.
//
// Outputs: dnsName, zoneId (CanonicalHostedZoneId), arn, and for an ALB url: the scheme of its
// first listener (by port) and the port when not that scheme's default.

// Attributes of a load balancer the kinds manage.
const (
	attrIdleTimeout  = "idle_timeout.timeout_seconds"
	attrDeletion     = "deletion_protection.enabled"
	attrCrossZone    = "load_balancing.cross_zone.enabled"
	attrLogsEnabled  = "access_logs.s3.enabled"
	attrLogsBucket   = "access_logs.s3.bucket"
	attrLogsPrefix   = "access_logs.s3.prefix"
	defaultSSLPolicy = "ELBSecurityPolicy-TLS13-1-2-2021-06" // the schema's default (netDefaultSSLPolicy)
)

// The default actions the ALB makes for a listener without one, and for one whose services have
// not attached yet (the contract with the MicroService kind).
var (
	notFoundAction    = fixedAction("404", "text/plain", "")
	placeholderAction = fixedAction("503", "text/plain", "no service attached")
)

func fixedAction(status, contentType, body string) elbtypes.Action {
	c := &elbtypes.FixedResponseActionConfig{StatusCode: aws.String(status), ContentType: aws.String(contentType)}
	if body != "" {
		c.MessageBody = aws.String(body)
	}
	return elbtypes.Action{Type: elbtypes.ActionTypeEnumFixedResponse, FixedResponseConfig: c}
}

type lbKind struct {
	p       *Provider
	c       *elb.Client
	typ     elbtypes.LoadBalancerTypeEnum
	network bool // an NLB: listeners are the services'
}

func newALB(p *Provider) kind {
	return &lbKind{p: p, c: p.elb, typ: elbtypes.LoadBalancerTypeEnumApplication}
}

func newNLB(p *Provider) kind {
	return &lbKind{p: p, c: p.elb, typ: elbtypes.LoadBalancerTypeEnumNetwork, network: true}
}

// lbLive is a load balancer as read.
type lbLive struct {
	lb        elbtypes.LoadBalancer
	attrs     map[string]string
	listeners []elbtypes.Listener // sorted by port
	grants    []grant             // the access-logs statement, if the bucket attribute names a bucket
}

func (k *lbKind) what() string {
	if k.network {
		return "network load balancer"
	}
	return "application load balancer"
}

func (k *lbKind) lookup(ctx context.Context, name string) (string, error) {
	out, err := k.c.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{Names: []string{name}})
	if err != nil {
		return "", err
	}
	for _, lb := range out.LoadBalancers {
		if aws.ToString(lb.LoadBalancerName) == name {
			return aws.ToString(lb.LoadBalancerArn), nil
		}
	}
	return "", fmt.Errorf("%w: no load balancer named %s", provider.ErrNotFound, name)
}

func (k *lbKind) create(ctx context.Context, r provider.Resource) (string, error) {
	net := specMap(r.Spec, "network")
	if len(specStrings(net, "subnets")) == 0 {
		return "", fmt.Errorf("no subnets: a load balancer runs in the environment's network, which the engine gives it (declare a network for the environment)")
	}
	in := &elb.CreateLoadBalancerInput{
		Name: aws.String(r.Name), Type: k.typ, Scheme: elbtypes.LoadBalancerSchemeEnumInternetFacing,
		Subnets: specStrings(net, "subnets"), SecurityGroups: specStrings(net, "securityGroups"),
	}
	if specBool(r.Spec, "internal") {
		in.Scheme = elbtypes.LoadBalancerSchemeEnumInternal
	}
	for _, key := range slices.Sorted(maps.Keys(r.Tags)) {
		in.Tags = append(in.Tags, elbtypes.Tag{Key: aws.String(key), Value: aws.String(r.Tags[key])})
	}
	out, err := k.c.CreateLoadBalancer(ctx, in)
	if err != nil {
		return "", err
	}
	if len(out.LoadBalancers) != 1 {
		return "", fmt.Errorf("CreateLoadBalancer answered %d load balancers", len(out.LoadBalancers))
	}
	arn := aws.ToString(out.LoadBalancers[0].LoadBalancerArn)
	if err := k.waitActive(ctx, arn); err != nil {
		return arn, err
	}
	have := &lbLive{lb: out.LoadBalancers[0], attrs: map[string]string{}}
	if err := k.setAttributes(ctx, have, r.Spec); err != nil {
		return arn, err
	}
	if k.network {
		return arn, nil
	}
	return arn, k.setListeners(ctx, have, r.Spec)
}

// waitActive waits until the load balancer arn is active (AWS provisions it for a minute or
// more), reporting its state.
func (k *lbKind) waitActive(ctx context.Context, arn string) error {
	last := ""
	return waitFor(ctx, func(ctx context.Context) (bool, error) {
		out, err := k.c.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{LoadBalancerArns: []string{arn}})
		if isNotFound(err) {
			return false, nil // not visible yet
		}
		if err != nil {
			return false, err
		}
		if len(out.LoadBalancers) != 1 || out.LoadBalancers[0].State == nil {
			return false, nil
		}
		st := out.LoadBalancers[0].State
		switch st.Code {
		case elbtypes.LoadBalancerStateEnumActive:
			return true, nil
		case elbtypes.LoadBalancerStateEnumFailed:
			return false, fmt.Errorf("load balancer %s failed: %s", arn, aws.ToString(st.Reason))
		}
		if s := string(st.Code); s != last {
			last = s
			provider.ReportProgress(ctx, "load balancer "+s)
		}
		return false, nil
	})
}

// logsGrant returns the statement the ALB arn needs in the policy of its access-logs bucket,
// ok false when it has no bucket.
func (k *lbKind) logsGrant(ctx context.Context, arn, bucket, prefix string) (grant, bool, error) {
	if k.network || bucket == "" {
		return grant{}, false, nil
	}
	account, err := k.p.accountID(ctx)
	if err != nil {
		return grant{}, false, err
	}
	objects := "AWSLogs/" + account + "/*"
	if prefix != "" {
		objects = prefix + "/" + objects
	}
	return grant{kind: grantBucket, target: bucket, sid: policySid("ELB", arn), principal: principalELBLogs,
		action: "s3:PutObject", objects: objects}, true, nil
}

// wantAttributes returns the attributes spec sets.
func (k *lbKind) wantAttributes(spec map[string]any) map[string]string {
	attrs := map[string]string{attrDeletion: strconv.FormatBool(specBool(spec, "deletionProtection"))}
	if k.network {
		attrs[attrCrossZone] = strconv.FormatBool(specBool(spec, "crossZone"))
		return attrs
	}
	attrs[attrIdleTimeout] = itoa(specInt(spec, "idleTimeout", 60))
	logs := specMap(spec, "accessLogs")
	attrs[attrLogsEnabled] = strconv.FormatBool(specString(logs, "bucket") != "")
	attrs[attrLogsBucket], attrs[attrLogsPrefix] = specString(logs, "bucket"), specString(logs, "prefix")
	return attrs
}

// setAttributes makes the attributes of have those spec sets. The access-logs bucket attribute
// always names the one bucket whose policy may hold the ALB's statement, so that Read, Update
// and Delete find it after a crash between any two calls: access logs move to another bucket
// (or stop) by turning them off, removing the statement, and only then naming the new bucket
// (with logs still off), adding its statement, and turning logs on. (AWS requires the statement
// before access logs are on.) A change of prefix only rewrites the statement, before the
// attribute.
func (k *lbKind) setAttributes(ctx context.Context, have *lbLive, spec map[string]any) error {
	arn := aws.ToString(have.lb.LoadBalancerArn)
	consumer := "load balancer " + arn
	attrs := k.wantAttributes(spec)
	modify := func(what string, set map[string]string) error {
		var change []elbtypes.LoadBalancerAttribute
		for _, key := range slices.Sorted(maps.Keys(set)) {
			if have.attrs[key] != set[key] {
				change = append(change, elbtypes.LoadBalancerAttribute{Key: aws.String(key), Value: aws.String(set[key])})
			}
		}
		if len(change) == 0 {
			return nil
		}
		if _, err := k.c.ModifyLoadBalancerAttributes(ctx, &elb.ModifyLoadBalancerAttributesInput{LoadBalancerArn: aws.String(arn), Attributes: change}); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		maps.Copy(have.attrs, set)
		return nil
	}
	if !k.network {
		bucket, prefix := attrs[attrLogsBucket], attrs[attrLogsPrefix]
		if old := have.attrs[attrLogsBucket]; old != "" && old != bucket {
			if err := modify("turn access logs off", map[string]string{attrLogsEnabled: "false"}); err != nil {
				return err
			}
			if err := k.p.pol.revokeAll(ctx, consumer, have.grants, nil); err != nil {
				return err
			}
			have.grants = nil
		}
		if bucket != "" {
			if have.attrs[attrLogsBucket] != bucket {
				err := modify("name the access-logs bucket", map[string]string{attrLogsEnabled: "false", attrLogsBucket: bucket, attrLogsPrefix: have.attrs[attrLogsPrefix]})
				if err != nil {
					return err
				}
			}
			g, _, err := k.logsGrant(ctx, arn, bucket, prefix)
			if err != nil {
				return err
			}
			if err := k.p.pol.ensureAll(ctx, consumer, []grant{g}); err != nil {
				return err
			}
		}
	}
	return modify("set attributes", attrs)
}

// actionSpec returns the spec of a listener's default actions as Read reports them, a target
// group as its ARN, and the target group it forwards to ("" for none).
func actionSpec(actions []elbtypes.Action) (spec map[string]any, tg string) {
	if len(actions) != 1 {
		return map[string]any{"actions": fmt.Sprint(len(actions))}, "" // not Panka's: drift
	}
	a := actions[0]
	switch a.Type {
	case elbtypes.ActionTypeEnumForward:
		tg = aws.ToString(a.TargetGroupArn)
		if tg == "" && a.ForwardConfig != nil && len(a.ForwardConfig.TargetGroups) > 0 {
			tg = aws.ToString(a.ForwardConfig.TargetGroups[0].TargetGroupArn)
		}
		return map[string]any{"forward": tg}, tg
	case elbtypes.ActionTypeEnumFixedResponse:
		c := a.FixedResponseConfig
		if c == nil {
			return map[string]any{"fixedResponse": map[string]any{}}, ""
		}
		status, _ := strconv.ParseInt(aws.ToString(c.StatusCode), 10, 64)
		f := map[string]any{"statusCode": status, "contentType": aws.ToString(c.ContentType)}
		if b := aws.ToString(c.MessageBody); b != "" {
			f["body"] = b
		}
		return map[string]any{"fixedResponse": f}, ""
	case elbtypes.ActionTypeEnumRedirect:
		c := a.RedirectConfig
		if c == nil {
			return map[string]any{"redirect": map[string]any{}}, ""
		}
		return map[string]any{"redirect": map[string]any{"protocol": aws.ToString(c.Protocol), "port": aws.ToString(c.Port),
			"host": aws.ToString(c.Host), "path": aws.ToString(c.Path), "query": aws.ToString(c.Query), "statusCode": string(c.StatusCode)}}, ""
	}
	return map[string]any{string(a.Type): true}, "" // an action type the schema has no spelling of: drift
}

// wantAction returns the default action a listener of the spec l gets, and whether it is the
// forward placeholder (whose service may have replaced it with a forward).
func wantAction(l map[string]any) (elbtypes.Action, bool) {
	a := specMap(l, "defaultAction")
	if f := specMap(a, "fixedResponse"); f != nil {
		return fixedAction(itoa(specInt(f, "statusCode", 404)), cmp.Or(specString(f, "contentType"), "text/plain"), specString(f, "body")), false
	}
	if rd := specMap(a, "redirect"); rd != nil {
		return elbtypes.Action{Type: elbtypes.ActionTypeEnumRedirect, RedirectConfig: &elbtypes.RedirectActionConfig{
			Protocol: aws.String(cmp.Or(specString(rd, "protocol"), "#{protocol}")), Port: aws.String(cmp.Or(specString(rd, "port"), "#{port}")),
			Host: aws.String(cmp.Or(specString(rd, "host"), "#{host}")), Path: aws.String(cmp.Or(specString(rd, "path"), "/#{path}")),
			Query: aws.String(cmp.Or(specString(rd, "query"), "#{query}")), StatusCode: elbtypes.RedirectActionStatusCodeEnum(cmp.Or(specString(rd, "statusCode"), "HTTP_301")),
		}}, false
	}
	if specString(a, "forward") != "" {
		return placeholderAction, true
	}
	return notFoundAction, false
}

// listenerProtocol returns the protocol of the spec l.
func listenerProtocol(l map[string]any, def string) string {
	return cmp.Or(specString(l, "protocol"), def)
}

// tlsProtocol reports whether protocol carries a certificate and an SSL policy.
func tlsProtocol(protocol string) bool { return protocol == "HTTPS" || protocol == "TLS" }

// setListeners makes the ALB's listeners those of spec: listeners of ports the spec does not
// list are deleted, changed ones modified, new ones created. A listener whose spec forwards keeps
// a default action that forwards to a target group (the service's).
func (k *lbKind) setListeners(ctx context.Context, have *lbLive, spec map[string]any) error {
	arn := have.lb.LoadBalancerArn
	want := map[int32]map[string]any{}
	for _, x := range specList(spec, "listeners") {
		if l, ok := x.(map[string]any); ok {
			want[int32(specInt(l, "port", 0))] = l
		}
	}
	live := map[int32]elbtypes.Listener{}
	for _, l := range have.listeners {
		port := aws.ToInt32(l.Port)
		if _, keep := want[port]; !keep {
			if _, err := k.c.DeleteListener(ctx, &elb.DeleteListenerInput{ListenerArn: l.ListenerArn}); err != nil && !isNotFound(err) {
				return fmt.Errorf("delete listener on port %d: %w", port, err)
			}
			continue
		}
		live[port] = l
	}
	for _, port := range slices.Sorted(maps.Keys(want)) {
		l := want[port]
		protocol := listenerProtocol(l, "HTTP")
		action, placeholder := wantAction(l)
		var certs []elbtypes.Certificate
		var policy *string
		if tlsProtocol(protocol) {
			certs = []elbtypes.Certificate{{CertificateArn: aws.String(specString(l, "certificateArn"))}}
			policy = aws.String(cmp.Or(specString(l, "sslPolicy"), defaultSSLPolicy))
		}
		cur, exists := live[port]
		if !exists {
			_, err := k.c.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: arn, Port: aws.Int32(port),
				Protocol: elbtypes.ProtocolEnum(protocol), Certificates: certs, SslPolicy: policy, DefaultActions: []elbtypes.Action{action}})
			if err != nil {
				return fmt.Errorf("create listener on port %d: %w", port, err)
			}
			continue
		}
		haveAction, tg := actionSpec(cur.DefaultActions)
		wantSpec, _ := actionSpec([]elbtypes.Action{action})
		keepAction := placeholder && tg != ""
		sameAction := keepAction || equalSpec(haveAction, wantSpec)
		sameTLS := !tlsProtocol(protocol) || (aws.ToString(cur.SslPolicy) == aws.ToString(policy) && firstCertificate(cur) == specString(l, "certificateArn"))
		if string(cur.Protocol) == protocol && sameTLS && sameAction {
			continue
		}
		in := &elb.ModifyListenerInput{ListenerArn: cur.ListenerArn, Port: aws.Int32(port), Protocol: elbtypes.ProtocolEnum(protocol),
			Certificates: certs, SslPolicy: policy}
		if !keepAction {
			in.DefaultActions = []elbtypes.Action{action}
		}
		if _, err := k.c.ModifyListener(ctx, in); err != nil {
			return fmt.Errorf("modify listener on port %d: %w", port, err)
		}
	}
	return nil
}

func firstCertificate(l elbtypes.Listener) string {
	for _, c := range l.Certificates {
		if c.IsDefault == nil || aws.ToBool(c.IsDefault) {
			return aws.ToString(c.CertificateArn)
		}
	}
	return ""
}

func (k *lbKind) read(ctx context.Context, id string) (*live, error) {
	out, err := k.c.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{LoadBalancerArns: []string{id}})
	if err != nil {
		return nil, err
	}
	if len(out.LoadBalancers) != 1 {
		return nil, fmt.Errorf("%w: load balancer %s", provider.ErrNotFound, id)
	}
	lb := out.LoadBalancers[0]
	if lb.Type != k.typ {
		return nil, fmt.Errorf("load balancer %s is of type %s, not a %s", id, lb.Type, k.what())
	}
	l := &lbLive{lb: lb, attrs: map[string]string{}}
	attrs, err := k.c.DescribeLoadBalancerAttributes(ctx, &elb.DescribeLoadBalancerAttributesInput{LoadBalancerArn: aws.String(id)})
	if err != nil {
		return nil, fmt.Errorf("attributes: %w", err)
	}
	for _, a := range attrs.Attributes {
		l.attrs[aws.ToString(a.Key)] = aws.ToString(a.Value)
	}
	ls, err := k.c.DescribeListeners(ctx, &elb.DescribeListenersInput{LoadBalancerArn: aws.String(id)})
	if err != nil {
		return nil, fmt.Errorf("listeners: %w", err)
	}
	l.listeners = slices.SortedFunc(slices.Values(ls.Listeners), func(a, b elbtypes.Listener) int {
		return cmp.Compare(aws.ToInt32(a.Port), aws.ToInt32(b.Port))
	})
	tags, err := k.tagsOf(ctx, id)
	if err != nil {
		return nil, err
	}
	// Target groups' addresses, for the listeners forwarding to them.
	var tgs []string
	for _, x := range l.listeners {
		if _, tg := actionSpec(x.DefaultActions); tg != "" && !slices.Contains(tgs, tg) {
			tgs = append(tgs, tg)
		}
	}
	addr, err := k.addresses(ctx, tgs)
	if err != nil {
		return nil, err
	}

	spec := map[string]any{
		"internal":           lb.Scheme == elbtypes.LoadBalancerSchemeEnumInternal,
		"deletionProtection": l.attrs[attrDeletion] == "true",
		"network":            lbNetwork(lb),
	}
	var parts []provider.Part
	var listeners []any
	if k.network {
		spec["crossZone"] = l.attrs[attrCrossZone] == "true"
		for _, x := range l.listeners {
			m := listenerSpec(x, "TLS")
			_, tg := actionSpec(x.DefaultActions)
			m["target"] = cmp.Or(addr[tg], tg)
			listeners = append(listeners, m)
		}
	} else {
		spec["idleTimeout"] = atoi(l.attrs[attrIdleTimeout], 60)
		for _, x := range l.listeners {
			m := listenerSpec(x, "HTTPS")
			a, tg := actionSpec(x.DefaultActions)
			switch {
			case tg != "":
				a = map[string]any{"forward": cmp.Or(addr[tg], tg)}
			case equalSpec(a, mustActionSpec(placeholderAction)):
				a = map[string]any{} // a forward whose service has not attached: drift
			case equalSpec(a, mustActionSpec(notFoundAction)):
				a = nil
			}
			if a != nil {
				m["defaultAction"] = a
			}
			listeners = append(listeners, m)
			parts = append(parts, provider.Part{Type: "AWS::ElasticLoadBalancingV2::Listener", ID: aws.ToString(x.ListenerArn), ARN: aws.ToString(x.ListenerArn)})
		}
		// The bucket attribute names the bucket that may hold the statement, access logs on or
		// not (setAttributes).
		bucket, prefix := l.attrs[attrLogsBucket], l.attrs[attrLogsPrefix]
		status := grantPresent
		g, ok, err := k.logsGrant(ctx, id, bucket, prefix)
		if err != nil {
			return nil, err
		}
		if ok {
			l.grants = []grant{g}
			granted, policyParts, err := k.p.pol.check(ctx, l.grants)
			if err != nil {
				return nil, err
			}
			parts = append(parts, policyParts...)
			status = granted[g.key()]
		}
		spec["accessLogs"] = nil
		if l.attrs[attrLogsEnabled] == "true" {
			logs := map[string]any{"bucket": bucket}
			if prefix != "" {
				logs["prefix"] = prefix
			}
			if status == grantMissing {
				logs["bucket"] = bucket + withoutStatement
			}
			spec["accessLogs"] = logs
		}
	}
	spec["listeners"] = nil // read, and none: drift for a spec that has some
	if listeners != nil {
		spec["listeners"] = listeners
	}

	outputs := map[string]string{"dnsName": aws.ToString(lb.DNSName), "zoneId": aws.ToString(lb.CanonicalHostedZoneId), "arn": id}
	if !k.network {
		outputs["url"] = lbURL(aws.ToString(lb.DNSName), l.listeners)
	}
	return &live{
		obs: &provider.Observed{ID: id, Name: aws.ToString(lb.LoadBalancerName), ARN: id, Spec: spec, Tags: tags, Outputs: outputs, Parts: parts},
		raw: l,
	}, nil
}

func mustActionSpec(a elbtypes.Action) map[string]any {
	s, _ := actionSpec([]elbtypes.Action{a})
	return s
}

// listenerSpec returns a listener's port, protocol and, for tlsName (HTTPS, TLS), its
// certificate and SSL policy; other protocols read with the schema's default SSL policy.
func listenerSpec(x elbtypes.Listener, tlsName string) map[string]any {
	m := map[string]any{"port": int64(aws.ToInt32(x.Port)), "protocol": string(x.Protocol), "sslPolicy": defaultSSLPolicy}
	if string(x.Protocol) == tlsName {
		if c := firstCertificate(x); c != "" {
			m["certificateArn"] = c
		}
		m["sslPolicy"] = aws.ToString(x.SslPolicy)
	}
	return m
}

// lbNetwork returns the network of the load balancer as the engine injects it: subnets in the
// order AWS gives them (the kinds declare them unordered).
func lbNetwork(lb elbtypes.LoadBalancer) map[string]any {
	var subnets []any
	for _, z := range lb.AvailabilityZones {
		subnets = append(subnets, aws.ToString(z.SubnetId))
	}
	return map[string]any{"vpcId": aws.ToString(lb.VpcId), "subnets": subnets, "securityGroups": anyList(lb.SecurityGroups)}
}

// lbURL returns the URL of the ALB with DNS name dns: the scheme of its first listener, with the
// port when it is not the scheme's default (http:// without listeners).
func lbURL(dns string, listeners []elbtypes.Listener) string {
	if len(listeners) == 0 {
		return "http://" + dns
	}
	scheme, def := "http", int32(80)
	if listeners[0].Protocol == elbtypes.ProtocolEnumHttps {
		scheme, def = "https", 443
	}
	if port := aws.ToInt32(listeners[0].Port); port != def {
		return fmt.Sprintf("%s://%s:%d", scheme, dns, port)
	}
	return scheme + "://" + dns
}

// tagsOf returns the tags of the ELBv2 resource arn.
func (k *lbKind) tagsOf(ctx context.Context, arn string) (map[string]string, error) {
	return elbTags(ctx, k.c, arn)
}

// elbTags returns the tags of the ELBv2 resource arn (a load balancer, a target group).
func elbTags(ctx context.Context, c *elb.Client, arn string) (map[string]string, error) {
	out, err := c.DescribeTags(ctx, &elb.DescribeTagsInput{ResourceArns: []string{arn}})
	if err != nil {
		return nil, fmt.Errorf("tags of %s: %w", arn, err)
	}
	tags := map[string]string{}
	for _, d := range out.TagDescriptions {
		for _, t := range d.Tags {
			tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
	}
	return tags, nil
}

// addresses returns the panka:address tag of each target group that has one.
func (k *lbKind) addresses(ctx context.Context, tgs []string) (map[string]string, error) {
	out := map[string]string{}
	for _, tg := range tgs {
		tags, err := k.tagsOf(ctx, tg)
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if a := tags[tagAddress]; a != "" {
			out[tg] = a
		}
	}
	return out, nil
}

func (k *lbKind) update(ctx context.Context, l *live, r provider.Resource) error {
	have := l.raw.(*lbLive)
	arn := have.lb.LoadBalancerArn
	if internal := have.lb.Scheme == elbtypes.LoadBalancerSchemeEnumInternal; internal != specBool(r.Spec, "internal") {
		return fmt.Errorf("internal cannot change in place (AWS fixes a load balancer's scheme at create): the %s must be replaced", k.what())
	}
	net := specMap(r.Spec, "network")
	if net == nil {
		return fmt.Errorf("no network: a load balancer runs in the environment's network, which the engine gives it")
	}
	if sgs := specStrings(net, "securityGroups"); !sameSet(sgs, have.lb.SecurityGroups) {
		if _, err := k.c.SetSecurityGroups(ctx, &elb.SetSecurityGroupsInput{LoadBalancerArn: arn, SecurityGroups: sgs}); err != nil {
			return fmt.Errorf("set security groups: %w", err)
		}
	}
	var subnets []string
	for _, z := range have.lb.AvailabilityZones {
		subnets = append(subnets, aws.ToString(z.SubnetId))
	}
	if want := specStrings(net, "subnets"); !sameSet(want, subnets) {
		if _, err := k.c.SetSubnets(ctx, &elb.SetSubnetsInput{LoadBalancerArn: arn, Subnets: want}); err != nil {
			return fmt.Errorf("set subnets: %w", err)
		}
	}
	if err := k.setAttributes(ctx, have, r.Spec); err != nil {
		return err
	}
	if k.network {
		return nil
	}
	return k.setListeners(ctx, have, r.Spec)
}

func sameSet(a, b []string) bool {
	return slices.Equal(slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b)))
}

func (k *lbKind) tag(ctx context.Context, l *live, set map[string]string, remove []string) error {
	arn := l.raw.(*lbLive).lb.LoadBalancerArn
	if len(set) > 0 {
		var tags []elbtypes.Tag
		for _, key := range slices.Sorted(maps.Keys(set)) {
			tags = append(tags, elbtypes.Tag{Key: aws.String(key), Value: aws.String(set[key])})
		}
		if _, err := k.c.AddTags(ctx, &elb.AddTagsInput{ResourceArns: []string{*arn}, Tags: tags}); err != nil {
			return err
		}
	}
	if len(remove) > 0 {
		if _, err := k.c.RemoveTags(ctx, &elb.RemoveTagsInput{ResourceArns: []string{*arn}, TagKeys: remove}); err != nil {
			return err
		}
	}
	return nil
}

// errDeletionProtection is Delete's refusal of a load balancer with deletion protection on.
var errDeletionProtection = errors.New("deletion protection is on: apply the spec with deletionProtection: false first, then delete it (Panka never turns deletion protection off itself)")

func (k *lbKind) delete(ctx context.Context, l *live) error {
	have := l.raw.(*lbLive)
	arn := aws.ToString(have.lb.LoadBalancerArn)
	if have.attrs[attrDeletion] == "true" {
		return fmt.Errorf("%s %s: %w", k.what(), arn, errDeletionProtection)
	}
	if !k.network { // an NLB's listeners are its services'; AWS deletes what is left with it
		for _, x := range have.listeners {
			if _, err := k.c.DeleteListener(ctx, &elb.DeleteListenerInput{ListenerArn: x.ListenerArn}); err != nil && !isNotFound(err) {
				return fmt.Errorf("delete listener on port %d: %w", aws.ToInt32(x.Port), err)
			}
		}
	}
	if _, err := k.c.DeleteLoadBalancer(ctx, &elb.DeleteLoadBalancerInput{LoadBalancerArn: aws.String(arn)}); err != nil && !isNotFound(err) {
		return fmt.Errorf("delete load balancer: %w", err)
	}
	err := waitFor(ctx, func(ctx context.Context) (bool, error) {
		_, err := k.c.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{LoadBalancerArns: []string{arn}})
		if isNotFound(err) {
			return true, nil
		}
		return false, err
	})
	if err != nil {
		return fmt.Errorf("waiting for the load balancer to go: %w", err)
	}
	return k.p.pol.revokeAll(ctx, "load balancer "+arn, have.grants, nil)
}
