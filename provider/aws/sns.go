package aws

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/panka/panka/provider"
)

// SNS: a topic and its subscriptions. Its physical ID is the topic ARN. The fields of
// schema.SNSSpec:
//
//	fifo                         FifoTopic (at create only; ForceNew)
//	contentBasedDeduplication    ContentBasedDeduplication (FIFO topics only)
//	displayName                  DisplayName
//	kmsKey                       KmsMasterKeyId
//	subscriptions[]              one subscription each (below)
//
// A subscription is a part of the topic, not a resource of its own in state: AWS names it by an
// ARN it makes up, so Panka knows it by what it delivers to, its protocol and endpoint (a
// target, an SQS or Lambda component, is resolved to its ARN by name). Create subscribes each
// after creating the topic; Update, and the next apply after a crash halfway, reconcile the
// topic's subscriptions with the spec: subscribe what is missing, set the attributes that
// differ, unsubscribe what the spec no longer lists (and duplicates); Delete unsubscribes them
// all, then deletes the topic. A subscription's fields are attributes of it:
//
//	protocol, endpoint | target  Protocol, Endpoint
//	rawMessageDelivery           RawMessageDelivery
//	filterPolicy                 FilterPolicy (JSON)
//	filterPolicyScope            FilterPolicyScope (sent with a filter policy, or when not the
//	                             default MessageAttributes)
//
// SNS keeps no order of subscriptions: Read reports them sorted by protocol, then target or
// endpoint. A subscription still waiting for its endpoint to confirm it (email, http) has no
// ARN: it reads with its protocol and endpoint only, and cannot be unsubscribed (AWS drops it
// after three days unconfirmed, or with the topic).
//
// A subscription of an SQS queue needs the queue's policy to let the topic send: the topic adds
// a statement to it (sns.amazonaws.com, sqs:SendMessage, ArnEquals aws:SourceArn the topic; Sid
// "PankaSNS" + a hash of the topic ARN) after subscribing, and removes it before unsubscribing
// and at delete; it is a part, AWS::SQS::QueuePolicy "QUEUE_URL#SID". A subscription of a
// Lambda function needs a permission letting sns.amazonaws.com invoke it, with the topic as
// SourceArn: the topic adds it (AddPermission, the same Sid) and removes it the same way; it is a
// part, AWS::Lambda::Permission "FUNCTION_ARN#SID". A subscription whose queue's policy (or
// function's) lacks it reads with its target (or endpoint) marked " (without its policy
// statement)": drift the next Update undoes (policy.go).
//
// Outputs: topicArn, topicName, arn.

const (
	attrTopicFIFO      = "FifoTopic"
	attrDisplayName    = "DisplayName"
	attrRaw            = "RawMessageDelivery"
	attrFilterPolicy   = "FilterPolicy"
	attrFilterScope    = "FilterPolicyScope"
	defaultFilterScope = "MessageAttributes"
	pendingARN         = "PendingConfirmation"
)

type snsKind struct {
	p *Provider
	c *sns.Client
	q *sqs.Client // to resolve queue targets
}

func newSNS(p *Provider) kind {
	return &snsKind{p: p, c: sns.NewFromConfig(p.cfg), q: sqs.NewFromConfig(p.cfg)}
}

// snsLive is a topic's attributes and subscriptions as read.
type snsLive struct {
	attrs map[string]string
	subs  []snsSub
}

// snsSub is a subscription: live (arn set, attrs read) or wanted (endpoint resolved).
type snsSub struct {
	arn      string // "" when wanted, pendingARN when unconfirmed
	protocol string
	endpoint string            // an ARN for sqs and lambda
	attrs    map[string]string // RawMessageDelivery, FilterPolicy, FilterPolicyScope
}

func (s snsSub) key() string { return s.protocol + " " + s.endpoint }

func (k *snsKind) lookup(ctx context.Context, name string) (string, error) {
	account, err := k.p.accountID(ctx)
	if err != nil {
		return "", err
	}
	arn := fmt.Sprintf("arn:%s:sns:%s:%s:%s", k.p.partition(), k.p.cfg.Region, account, name)
	if _, err := k.c.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String(arn)}); err != nil {
		return "", err
	}
	return arn, nil
}

func (k *snsKind) create(ctx context.Context, r provider.Resource) (string, error) {
	s := r.Spec
	subs, err := k.wantSubs(ctx, r)
	if err != nil {
		return "", err
	}
	attrs := map[string]string{}
	if v := specString(s, "displayName"); v != "" {
		attrs[attrDisplayName] = v
	}
	if v := specString(s, "kmsKey"); v != "" {
		attrs[attrKMSKey] = v
	}
	if specBool(s, "fifo") {
		attrs[attrTopicFIFO] = "true"
		attrs[attrContentDedup] = fmt.Sprint(specBool(s, "contentBasedDeduplication"))
	}
	var tags []snstypes.Tag
	for _, key := range slices.Sorted(maps.Keys(r.Tags)) {
		tags = append(tags, snstypes.Tag{Key: aws.String(key), Value: aws.String(r.Tags[key])})
	}
	out, err := k.c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(r.Name), Attributes: attrs, Tags: tags})
	if err != nil {
		return "", err
	}
	arn := aws.ToString(out.TopicArn)
	for _, sub := range subs {
		if err := k.subscribe(ctx, arn, sub); err != nil {
			return "", err
		}
	}
	return arn, k.p.pol.ensureAll(ctx, "topic "+arn, k.grants(arn, subs))
}

// subGrant returns the statement the subscription sub of the topic arn needs in its queue's
// policy, or the permission it needs on its function (ok false for a subscription of neither).
func subGrant(arn string, sub snsSub) (g grant, ok bool) {
	if sub.arn == pendingARN || !isARN(sub.endpoint) {
		return grant{}, false
	}
	g = grant{target: sub.endpoint, sid: policySid("SNS", arn), principal: principalSNS, source: arn}
	switch sub.protocol {
	case "sqs":
		g.kind = grantQueue
	case "lambda":
		g.kind = grantFunction
	default:
		return grant{}, false
	}
	return g, true
}

// grants returns the statements the subscriptions subs of the topic arn need.
func (k *snsKind) grants(arn string, subs []snsSub) []grant {
	var out []grant
	for _, sub := range subs {
		if g, ok := subGrant(arn, sub); ok {
			out = append(out, g)
		}
	}
	return dedupe(out)
}

// wantSubs returns the subscriptions r.Spec lists, targets resolved to ARNs.
func (k *snsKind) wantSubs(ctx context.Context, r provider.Resource) ([]snsSub, error) {
	fifo := specBool(r.Spec, "fifo")
	var out []snsSub
	for i, e := range specList(r.Spec, "subscriptions") {
		m, _ := e.(map[string]any)
		sub := snsSub{protocol: specString(m, "protocol"), endpoint: specString(m, "endpoint"), attrs: map[string]string{}}
		if target := specString(m, "target"); target != "" {
			arn, err := k.resolveTarget(ctx, r, sub.protocol, target, fifo)
			if err != nil {
				return nil, fmt.Errorf("subscriptions[%d]: %w", i, err)
			}
			sub.endpoint = arn
		}
		sub.attrs[attrRaw] = fmt.Sprint(specBool(m, "rawMessageDelivery"))
		scope := cmp.Or(specString(m, "filterPolicyScope"), defaultFilterScope)
		if policy := specMap(m, "filterPolicy"); len(policy) > 0 {
			doc, err := json.Marshal(policy)
			if err != nil {
				return nil, fmt.Errorf("subscriptions[%d].filterPolicy: %w", i, err)
			}
			sub.attrs[attrFilterPolicy] = string(doc)
			sub.attrs[attrFilterScope] = scope
		} else {
			sub.attrs[attrFilterPolicy] = ""
			if scope != defaultFilterScope {
				sub.attrs[attrFilterScope] = scope
			}
		}
		out = append(out, sub)
	}
	return out, nil
}

// resolveTarget returns the ARN of the component target of a subscription: an SQS queue (FIFO
// queues for a FIFO topic, standard ones too), or a Lambda function, named by the engine's rule.
func (k *snsKind) resolveTarget(ctx context.Context, r provider.Resource, protocol, target string, fifo bool) (string, error) {
	switch protocol {
	case "sqs":
		suffixes := []string{""}
		if fifo {
			suffixes = []string{fifoSuffix, ""}
		}
		return resolveQueue(ctx, k.q, r, target, suffixes...)
	case "lambda":
		if isARN(target) {
			return target, nil
		}
		d, err := deploymentOf(strings.TrimSuffix(r.Name, fifoSuffix), r.Address)
		if err != nil {
			return "", fmt.Errorf("resolving %q: %v", target, err)
		}
		account, err := k.p.accountID(ctx)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("arn:%s:lambda:%s:%s:function:%s", k.p.partition(), k.p.cfg.Region, account, d.physicalName(target, "")), nil
	}
	return "", fmt.Errorf("a %s subscription takes an endpoint, not a target", protocol)
}

// subscribe makes sub on the topic arn. Raw delivery is sent only when on (protocols without it
// refuse even "false"); an empty filter policy is not sent.
func (k *snsKind) subscribe(ctx context.Context, arn string, sub snsSub) error {
	attrs := map[string]string{}
	for a, v := range sub.attrs {
		if v != "" && (a != attrRaw || v == "true") {
			attrs[a] = v
		}
	}
	_, err := k.c.Subscribe(ctx, &sns.SubscribeInput{
		TopicArn: aws.String(arn), Protocol: aws.String(sub.protocol), Endpoint: aws.String(sub.endpoint),
		Attributes: attrs, ReturnSubscriptionArn: true,
	})
	if err != nil {
		return fmt.Errorf("subscribe %s %s: %w", sub.protocol, sub.endpoint, err)
	}
	return nil
}

func (k *snsKind) read(ctx context.Context, id string) (*live, error) {
	out, err := k.c.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String(id)})
	if err != nil {
		return nil, err
	}
	a := out.Attributes
	tags := map[string]string{}
	tout, err := k.c.ListTagsForResource(ctx, &sns.ListTagsForResourceInput{ResourceArn: aws.String(id)})
	if err != nil {
		return nil, err
	}
	for _, t := range tout.Tags {
		tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	subs, err := k.liveSubs(ctx, id)
	if err != nil {
		return nil, err
	}
	granted, parts, err := k.p.pol.check(ctx, k.grants(id, subs))
	if err != nil {
		return nil, err
	}
	name := arnResource(id)
	spec := map[string]any{
		"fifo":                      a[attrTopicFIFO] == "true",
		"contentBasedDeduplication": a[attrContentDedup] == "true",
	}
	if v := a[attrDisplayName]; v != "" {
		spec["displayName"] = v
	}
	if v := a[attrKMSKey]; v != "" {
		spec["kmsKey"] = v
	}
	var list []any
	for _, sub := range subs {
		m, err := k.subSpec(ctx, sub, strings.TrimSuffix(name, fifoSuffix), tags)
		if err != nil {
			return nil, err
		}
		if g, ok := subGrant(id, sub); ok && granted[g.key()] == grantMissing {
			for _, f := range []string{"target", "endpoint"} {
				if v, ok := m[f].(string); ok {
					m[f] = v + withoutStatement
				}
			}
		}
		list = append(list, m)
	}
	slices.SortStableFunc(list, func(x, y any) int {
		a, b := x.(map[string]any), y.(map[string]any)
		return cmp.Or(
			strings.Compare(specString(a, "protocol"), specString(b, "protocol")),
			strings.Compare(specString(a, "target")+specString(a, "endpoint"), specString(b, "target")+specString(b, "endpoint")),
		)
	})
	spec["subscriptions"] = nil // read, and none (see the package doc)
	if len(list) > 0 {
		spec["subscriptions"] = list
	}
	return &live{
		obs: &provider.Observed{
			ID: id, Name: name, ARN: id, Spec: spec, Tags: tags, Parts: parts,
			Outputs: map[string]string{"topicArn": id, "topicName": name, "arn": id},
		},
		raw: &snsLive{attrs: a, subs: subs},
	}, nil
}

// liveSubs lists the topic's subscriptions with their attributes.
func (k *snsKind) liveSubs(ctx context.Context, arn string) ([]snsSub, error) {
	var subs []snsSub
	pages := sns.NewListSubscriptionsByTopicPaginator(k.c, &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(arn)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, s := range page.Subscriptions {
			sub := snsSub{arn: aws.ToString(s.SubscriptionArn), protocol: aws.ToString(s.Protocol), endpoint: aws.ToString(s.Endpoint)}
			if sub.arn != pendingARN {
				out, err := k.c.GetSubscriptionAttributes(ctx, &sns.GetSubscriptionAttributesInput{SubscriptionArn: s.SubscriptionArn})
				if isNotFound(err) {
					continue // unsubscribed since it was listed
				}
				if err != nil {
					return nil, fmt.Errorf("subscription %s: %w", sub.arn, err)
				}
				sub.attrs = out.Attributes
			}
			subs = append(subs, sub)
		}
	}
	return subs, nil
}

// subSpec returns the spec of a live subscription of the topic named name with tags.
func (k *snsKind) subSpec(ctx context.Context, sub snsSub, name string, tags map[string]string) (map[string]any, error) {
	m := map[string]any{
		"protocol":           sub.protocol,
		"rawMessageDelivery": sub.attrs[attrRaw] == "true",
		"filterPolicyScope":  cmp.Or(sub.attrs[attrFilterScope], defaultFilterScope),
	}
	if doc := sub.attrs[attrFilterPolicy]; doc != "" {
		v, err := jsonValue(doc)
		if err != nil {
			return nil, fmt.Errorf("subscription %s: filter policy: %w", sub.arn, err)
		}
		m["filterPolicy"] = v
	}
	ref := sub.endpoint
	switch sub.protocol {
	case "sqs":
		var err error
		if ref, err = queueRef(ctx, k.q, sub.endpoint, name, tags); err != nil {
			return nil, fmt.Errorf("subscription %s: %w", sub.arn, err)
		}
	case "lambda":
		ref = lambdaRef(sub.endpoint, name, tags)
	}
	if ref != sub.endpoint {
		m["target"] = ref
	} else {
		m["endpoint"] = sub.endpoint
	}
	return m, nil
}

// lambdaRef returns how the topic named name with tags refers to the function arn: a function
// of its own service and deployment by its component name (the engine's naming rule, read
// backwards), any other by its ARN.
func lambdaRef(arn, name string, tags map[string]string) string {
	d, err := deploymentOf(name, tags[tagAddress])
	i := strings.LastIndex(arn, ":function:")
	if err != nil || i < 0 {
		return arn
	}
	comp, ok := strings.CutPrefix(arn[i+len(":function:"):], d.prefix+"-"+d.service+"-")
	if !ok || comp == "" || strings.Contains(comp, ":") {
		return arn // another service's, another deployment's, or a version or alias
	}
	return comp
}

func (k *snsKind) update(ctx context.Context, l *live, r provider.Resource) error {
	have := l.raw.(*snsLive)
	fifo := specBool(r.Spec, "fifo")
	if fifo != (have.attrs[attrTopicFIFO] == "true") {
		return fmt.Errorf("fifo cannot change in place (%v to %v): the topic must be replaced", have.attrs[attrTopicFIFO] == "true", fifo)
	}
	want, err := k.wantSubs(ctx, r)
	if err != nil {
		return err
	}
	attrs := map[string]string{
		attrDisplayName: specString(r.Spec, "displayName"),
		attrKMSKey:      specString(r.Spec, "kmsKey"),
	}
	if fifo {
		attrs[attrContentDedup] = fmt.Sprint(specBool(r.Spec, "contentBasedDeduplication"))
	}
	for _, a := range slices.Sorted(maps.Keys(attrs)) {
		if have.attrs[a] == attrs[a] {
			continue
		}
		_, err := k.c.SetTopicAttributes(ctx, &sns.SetTopicAttributesInput{
			TopicArn: aws.String(l.obs.ID), AttributeName: aws.String(a), AttributeValue: aws.String(attrs[a]),
		})
		if err != nil {
			return fmt.Errorf("set %s: %w", a, err)
		}
	}
	consumer := "topic " + l.obs.ID
	wantGrants := k.grants(l.obs.ID, want)
	if err := k.p.pol.revokeAll(ctx, consumer, k.grants(l.obs.ID, have.subs), wantGrants); err != nil {
		return err
	}
	if err := k.reconcile(ctx, l.obs.ID, have.subs, want); err != nil {
		return err
	}
	return k.p.pol.ensureAll(ctx, consumer, wantGrants)
}

// reconcile makes the topic's subscriptions want: it subscribes what is missing, sets the
// attributes that differ, and unsubscribes what want does not list and duplicates.
func (k *snsKind) reconcile(ctx context.Context, arn string, have, want []snsSub) error {
	byKey := map[string][]snsSub{}
	for _, s := range have {
		byKey[s.key()] = append(byKey[s.key()], s)
	}
	var drop []snsSub
	for _, w := range want {
		existing := byKey[w.key()]
		delete(byKey, w.key())
		if len(existing) == 0 {
			if err := k.subscribe(ctx, arn, w); err != nil {
				return err
			}
			continue
		}
		keep := existing[0]
		drop = append(drop, existing[1:]...)
		if keep.arn == pendingARN {
			continue // attributes can be set once the endpoint confirms
		}
		for _, a := range slices.Sorted(maps.Keys(w.attrs)) {
			if sameSubAttribute(a, keep.attrs[a], w.attrs[a]) {
				continue
			}
			_, err := k.c.SetSubscriptionAttributes(ctx, &sns.SetSubscriptionAttributesInput{
				SubscriptionArn: aws.String(keep.arn), AttributeName: aws.String(a), AttributeValue: aws.String(w.attrs[a]),
			})
			if err != nil {
				return fmt.Errorf("subscription %s: set %s: %w", keep.arn, a, err)
			}
		}
	}
	for _, key := range slices.Sorted(maps.Keys(byKey)) {
		drop = append(drop, byKey[key]...)
	}
	return k.unsubscribe(ctx, drop)
}

// sameSubAttribute reports whether a subscription attribute's live value is the wanted one.
func sameSubAttribute(name, live, want string) bool {
	switch name {
	case attrRaw:
		return (live == "true") == (want == "true")
	case attrFilterScope:
		return cmp.Or(live, defaultFilterScope) == cmp.Or(want, defaultFilterScope)
	case attrFilterPolicy:
		if live == "" || want == "" {
			return live == want
		}
		l, lerr := jsonValue(live)
		w, werr := jsonValue(want)
		return lerr == nil && werr == nil && reflect.DeepEqual(l, w)
	}
	return live == want
}

func (k *snsKind) unsubscribe(ctx context.Context, subs []snsSub) error {
	for _, s := range subs {
		if s.arn == pendingARN {
			continue
		}
		_, err := k.c.Unsubscribe(ctx, &sns.UnsubscribeInput{SubscriptionArn: aws.String(s.arn)})
		if err != nil && !isNotFound(err) {
			return fmt.Errorf("unsubscribe %s: %w", s.arn, err)
		}
	}
	return nil
}

func (k *snsKind) tag(ctx context.Context, l *live, set map[string]string, remove []string) error {
	if len(set) > 0 {
		var tags []snstypes.Tag
		for _, key := range slices.Sorted(maps.Keys(set)) {
			tags = append(tags, snstypes.Tag{Key: aws.String(key), Value: aws.String(set[key])})
		}
		if _, err := k.c.TagResource(ctx, &sns.TagResourceInput{ResourceArn: aws.String(l.obs.ID), Tags: tags}); err != nil {
			return err
		}
	}
	if len(remove) > 0 {
		if _, err := k.c.UntagResource(ctx, &sns.UntagResourceInput{ResourceArn: aws.String(l.obs.ID), TagKeys: remove}); err != nil {
			return err
		}
	}
	return nil
}

// delete removes the statements of its subscriptions from their queues' policies, unsubscribes
// every subscription, then deletes the topic.
func (k *snsKind) delete(ctx context.Context, l *live) error {
	subs := l.raw.(*snsLive).subs
	if err := k.p.pol.revokeAll(ctx, "topic "+l.obs.ID, k.grants(l.obs.ID, subs), nil); err != nil {
		return err
	}
	if err := k.unsubscribe(ctx, subs); err != nil {
		return err
	}
	_, err := k.c.DeleteTopic(ctx, &sns.DeleteTopicInput{TopicArn: aws.String(l.obs.ID)})
	return err
}
