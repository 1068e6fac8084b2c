package aws

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/panka/panka/provider"
)

// EventBridge: an event bus, its rules and their targets, and an archive of the bus. The fields
// of schema.EventBridgeSpec:
//
//	bus                      "" (omitted): a custom bus named after the component (CreateEventBus,
//	                         tagged); "default": the account's default bus, which Panka neither
//	                         creates nor deletes (ForceNew)
//	rules[]                  one rule each (PutRule), on the bus
//	  name                   the rule's name on a custom bus; on the default bus, which other
//	                         components share, "<component name>.<name>" (cut to 64 characters
//	                         with a hash when longer)
//	  eventPattern           EventPattern (JSON)
//	  schedule               ScheduleExpression
//	  enabled                State ENABLED or DISABLED (PutRule's State: EnableRule and
//	                         DisableRule are not needed)
//	  targets[]              the rule's targets (PutTargets), Id "0".."4" by position
//	    target               Arn: a component resolved by name (an SQS queue, its FIFO queue when
//	                         messageGroupId is set; else an SNS topic, an EventBridge custom bus
//	                         or a Lambda function of that name), or an ARN as it is
//	    input                Input
//	    messageGroupId       SqsParameters.MessageGroupId
//	    deadLetterQueue      DeadLetterConfig.Arn: a standard SQS component
//	archive.retentionDays    an archive of the bus (CreateArchive, UpdateArchive), named after
//	                         the component (cut to 48 characters with a hash when longer)
//
// The physical ID is the bus name for a custom bus, and "default/<component name>" for rules on
// the default bus. Rules and the archive are parts of the component, not resources of their own
// in state: they are found by their deterministic names, so an apply after a crash halfway finds
// what was made and makes the rest. On the default bus the rules carry the component's tags,
// plus panka:eventbridge (the component's name) and panka:rule (the rule's name in the spec),
// by which Read tells them from other components' rules; the component's tags are read from its
// rules (a tag they disagree on reads as differingTag, so that a change to one rule's tags shows
// as drift), so a component on the default bus needs at least one rule. Create makes the bus, the
// archive, then each rule with its targets; Delete removes them in reverse order: targets,
// rules, archive, bus.
//
// EventBridge keeps no order of rules: Read reports them sorted by name. Targets keep their
// order (their Ids). A target that is a component of another service reads back as
// "service/name", one of the component's own service as "name", any other as its ARN (a
// function by its panka:address tag, else by the naming rule in the component's own service).
//
// Each rule adds to its targets' policies the statement letting EventBridge deliver (Sid
// "PankaEvents" + a hash of the rule ARN, aws:SourceArn the rule): a queue's and a dead-letter
// queue's (sqs:SendMessage), a topic's (sns:Publish), a function's permission (AddPermission,
// lambda:InvokeFunction); a bus in the same account needs none. They are added after the
// targets are put, removed before targets or rules go and at delete, and are parts
// (AWS::SQS::QueuePolicy, AWS::SNS::TopicPolicy, AWS::Lambda::Permission). A target whose
// statement is missing reads with its target (or deadLetterQueue) marked " (without its policy
// statement)": drift the next Update undoes (policy.go).
//
// Outputs: busName, busArn, arn (the bus's).

const (
	defaultBus     = "default"
	defaultBusID   = "default/" // the ID prefix of a component on the default bus
	tagEventBridge = "panka:eventbridge"
	tagRule        = "panka:rule"
	ruleNameLimit  = 64
	archiveLimit   = 48
)

type eventsKind struct {
	p  *Provider
	c  *eventbridge.Client
	q  *sqs.Client    // to resolve queue targets
	sn *sns.Client    // to resolve topic targets
	fn *lambda.Client // to resolve function targets
}

func newEventBridge(p *Provider) kind {
	return &eventsKind{p: p, c: eventbridge.NewFromConfig(p.cfg), q: sqs.NewFromConfig(p.cfg), sn: sns.NewFromConfig(p.cfg),
		fn: lambda.NewFromConfig(p.cfg)}
}

// ebLive is a component as read: its bus, rules and archive.
type ebLive struct {
	name    string // the component's physical name
	bus     string
	busARN  string
	rules   []ebRule
	archive *eventbridge.DescribeArchiveOutput // nil: none
	granted map[string]grantStatus             // the targets' statements, by grant key (read only)
}

// ebRule is a rule: live (as read) or wanted.
type ebRule struct {
	awsName  string
	arn      string
	specName string
	pattern  string // JSON, "" if none
	schedule string
	enabled  bool
	targets  []ebtypes.Target
	tags     map[string]string // live rules on the default bus only
}

// custom reports whether the component's ID names a custom bus.
func custom(id string) bool { return !strings.HasPrefix(id, defaultBusID) }

// componentName returns the component's physical name in its ID.
func componentName(id string) string { return strings.TrimPrefix(id, defaultBusID) }

// ruleName returns the name on the default bus of the rule rule of the component name.
func ruleName(name, rule string) string { return cutName(name+"."+rule, ruleNameLimit) }

// rulePrefix is what every rule of the component name on the default bus starts with.
func rulePrefix(name string) string {
	p := name + "."
	return p[:min(len(p), ruleNameLimit-9)]
}

// archiveName returns the name of the component name's archive.
func archiveName(name string) string { return cutName(name, archiveLimit) }

// cutName returns s, or when it is longer than limit its beginning and a hash of it, limit long.
func cutName(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	h := fnv.New32a()
	h.Write([]byte(s))
	return fmt.Sprintf("%s-%08x", s[:limit-9], h.Sum32())
}

func (k *eventsKind) lookup(ctx context.Context, name string) (string, error) {
	_, err := k.c.DescribeEventBus(ctx, &eventbridge.DescribeEventBusInput{Name: aws.String(name)})
	if err == nil {
		return name, nil
	}
	if !isNotFound(err) {
		return "", err
	}
	rules, err := k.defaultRules(ctx, name)
	if err != nil {
		return "", err
	}
	if len(rules) == 0 {
		return "", fmt.Errorf("%w: no event bus %s, and no rule of it on the default bus", provider.ErrNotFound, name)
	}
	return defaultBusID + name, nil
}

func (k *eventsKind) create(ctx context.Context, r provider.Resource) (string, error) {
	onDefault := specString(r.Spec, "bus") == defaultBus
	rules, err := k.wantRules(ctx, r, onDefault)
	if err != nil {
		return "", err
	}
	id, bus := r.Name, r.Name
	var busARN string
	if onDefault {
		if len(rules) == 0 {
			return "", errors.New("a component on the default event bus needs at least one rule: Panka finds it again by its rules")
		}
		id, bus = defaultBusID+r.Name, defaultBus
		out, err := k.c.DescribeEventBus(ctx, &eventbridge.DescribeEventBusInput{Name: aws.String(defaultBus)})
		if err != nil {
			return "", fmt.Errorf("default event bus: %w", err)
		}
		busARN = aws.ToString(out.Arn)
	} else {
		out, err := k.c.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(r.Name), Tags: ebTags(r.Tags)})
		if err != nil {
			return "", err
		}
		busARN = aws.ToString(out.EventBusArn)
	}
	l := &ebLive{name: r.Name, bus: bus, busARN: busARN}
	// The archive may be there already: made by a run that crashed before its first rule.
	if l.archive, err = k.readArchive(ctx, r.Name, busARN); err != nil {
		return "", err
	}
	if err := k.reconcileArchive(ctx, l, r.Spec); err != nil {
		return "", err
	}
	for _, w := range rules {
		arn, err := k.putRule(ctx, l, w, onDefault, r.Tags)
		if err != nil {
			return "", err
		}
		if err := k.reconcileTargets(ctx, l, w.awsName, nil, w.targets); err != nil {
			return "", err
		}
		if err := k.p.pol.ensureAll(ctx, "rule "+arn, targetGrants(arn, w.targets)); err != nil {
			return "", err
		}
	}
	return id, nil
}

// ebTags returns tags as EventBridge takes them, sorted by key.
func ebTags(tags map[string]string) []ebtypes.Tag {
	var out []ebtypes.Tag
	for _, key := range slices.Sorted(maps.Keys(tags)) {
		out = append(out, ebtypes.Tag{Key: aws.String(key), Value: aws.String(tags[key])})
	}
	return out
}

// wantRules returns the rules r.Spec lists, their targets resolved to ARNs.
func (k *eventsKind) wantRules(ctx context.Context, r provider.Resource, onDefault bool) ([]ebRule, error) {
	var out []ebRule
	for i, e := range specList(r.Spec, "rules") {
		m, _ := e.(map[string]any)
		w := ebRule{specName: specString(m, "name"), schedule: specString(m, "schedule"), enabled: true, awsName: specString(m, "name")}
		if onDefault {
			w.awsName = ruleName(r.Name, w.specName)
		}
		if v, ok := m["enabled"].(bool); ok {
			w.enabled = v
		}
		if p := specMap(m, "eventPattern"); len(p) > 0 {
			doc, err := json.Marshal(p)
			if err != nil {
				return nil, fmt.Errorf("rules[%d].eventPattern: %w", i, err)
			}
			w.pattern = string(doc)
		}
		for j, te := range specList(m, "targets") {
			tm, _ := te.(map[string]any)
			t, err := k.wantTarget(ctx, r, j, tm)
			if err != nil {
				return nil, fmt.Errorf("rules[%d].targets[%d]: %w", i, j, err)
			}
			w.targets = append(w.targets, t)
		}
		out = append(out, w)
	}
	return out, nil
}

func (k *eventsKind) wantTarget(ctx context.Context, r provider.Resource, i int, m map[string]any) (ebtypes.Target, error) {
	t := ebtypes.Target{Id: aws.String(strconv.Itoa(i))}
	group := specString(m, "messageGroupId")
	arn, err := k.resolveTarget(ctx, r, specString(m, "target"), group != "")
	if err != nil {
		return t, err
	}
	t.Arn = aws.String(arn)
	if v := specString(m, "input"); v != "" {
		t.Input = aws.String(v)
	}
	if group != "" {
		t.SqsParameters = &ebtypes.SqsParameters{MessageGroupId: aws.String(group)}
	}
	if dlq := specString(m, "deadLetterQueue"); dlq != "" {
		arn, err := resolveQueue(ctx, k.q, r, dlq)
		if err != nil {
			return t, fmt.Errorf("dead-letter queue: %w", err)
		}
		t.DeadLetterConfig = &ebtypes.DeadLetterConfig{Arn: aws.String(arn)}
	}
	return t, nil
}

// resolveTarget returns the ARN of the component ref of the deployment of r: an SQS queue (a
// FIFO queue first when fifo), an SNS topic, or an EventBridge custom bus, whichever exists by
// the engine's naming rule; or ref itself when it is an ARN.
func (k *eventsKind) resolveTarget(ctx context.Context, r provider.Resource, ref string, fifo bool) (string, error) {
	if ref == "" {
		return "", errors.New("no target")
	}
	if isARN(ref) {
		return ref, nil
	}
	d, err := deploymentOf(r.Name, r.Address)
	if err != nil {
		return "", fmt.Errorf("resolving %q: %v", ref, err)
	}
	suffixes := []string{""}
	if fifo {
		suffixes = []string{fifoSuffix, ""}
	}
	arn, qerr := resolveQueue(ctx, k.q, r, ref, suffixes...)
	if qerr == nil {
		return arn, nil
	}
	if c := classify(qerr); c == provider.ErrThrottled || c == provider.ErrTransient {
		return "", qerr // not an answer that there is no such queue
	}
	name := d.physicalName(ref, "")
	account, err := k.p.accountID(ctx)
	if err != nil {
		return "", err
	}
	topic := fmt.Sprintf("arn:%s:sns:%s:%s:%s", k.p.partition(), k.p.cfg.Region, account, name)
	_, err = k.sn.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String(topic)})
	if err == nil {
		return topic, nil
	}
	if !isNotFound(err) {
		return "", err
	}
	bus, err := k.c.DescribeEventBus(ctx, &eventbridge.DescribeEventBusInput{Name: aws.String(name)})
	if err == nil {
		return aws.ToString(bus.Arn), nil
	}
	if !isNotFound(err) {
		return "", err
	}
	fn, err := k.fn.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)})
	if err == nil && fn.Configuration != nil && aws.ToString(fn.Configuration.FunctionArn) != "" {
		return unqualified(aws.ToString(fn.Configuration.FunctionArn)), nil
	}
	if err != nil && !isNotFound(err) {
		return "", err
	}
	return "", fmt.Errorf("target %s: no queue, topic, event bus or Lambda function %s exists (%v)", ref, name, qerr)
}

// targetGrants returns the statements the targets of the rule arn need in their policies: a
// queue's (the target's, a dead-letter queue's) letting EventBridge send, a topic's letting it
// publish, a function's permission letting it invoke. A bus target in the same account needs
// none.
func targetGrants(rule string, targets []ebtypes.Target) []grant {
	var out []grant
	for _, t := range targets {
		out = append(out, targetGrant(rule, t)...)
	}
	return dedupe(out)
}

func targetGrant(rule string, t ebtypes.Target) []grant {
	if rule == "" {
		return nil
	}
	g := grant{sid: policySid("Events", rule), principal: principalEvents, source: rule}
	var out []grant
	switch arn := aws.ToString(t.Arn); {
	case strings.Contains(arn, ":sqs:"):
		g.kind, g.target = grantQueue, arn
		out = append(out, g)
	case strings.Contains(arn, ":sns:"):
		g.kind, g.target = grantTopic, arn
		out = append(out, g)
	case strings.Contains(arn, ":lambda:"):
		g.kind, g.target = grantFunction, arn
		out = append(out, g)
	}
	if d := t.DeadLetterConfig; d != nil && aws.ToString(d.Arn) != "" {
		g.kind, g.target = grantQueue, aws.ToString(d.Arn)
		out = append(out, g)
	}
	return out
}

// grants returns the statements every target of the live rules needs.
func (l *ebLive) grants() []grant {
	var out []grant
	for _, r := range l.rules {
		out = append(out, targetGrants(r.arn, r.targets)...)
	}
	return dedupe(out)
}

// putRule makes or changes the rule w on the component's bus; tags (with the component's name
// and the rule's) go on a rule of the default bus.
func (k *eventsKind) putRule(ctx context.Context, l *ebLive, w ebRule, onDefault bool, tags map[string]string) (string, error) {
	in := &eventbridge.PutRuleInput{Name: aws.String(w.awsName), EventBusName: aws.String(l.bus), State: ebtypes.RuleStateDisabled}
	if w.enabled {
		in.State = ebtypes.RuleStateEnabled
	}
	if w.pattern != "" {
		in.EventPattern = aws.String(w.pattern)
	}
	if w.schedule != "" {
		in.ScheduleExpression = aws.String(w.schedule)
	}
	if onDefault && tags != nil {
		all := maps.Clone(tags)
		all[tagEventBridge], all[tagRule] = l.name, w.specName
		in.Tags = ebTags(all)
	}
	out, err := k.c.PutRule(ctx, in)
	if err != nil {
		return "", fmt.Errorf("put rule %s: %w", w.awsName, err)
	}
	return aws.ToString(out.RuleArn), nil
}

// reconcileTargets makes the targets of the rule named rule want: it puts those missing or
// different, and removes those want does not list.
func (k *eventsKind) reconcileTargets(ctx context.Context, l *ebLive, rule string, have, want []ebtypes.Target) error {
	byID := map[string]ebtypes.Target{}
	for _, t := range have {
		byID[aws.ToString(t.Id)] = t
	}
	var put []ebtypes.Target
	for _, w := range want {
		h, ok := byID[aws.ToString(w.Id)]
		delete(byID, aws.ToString(w.Id))
		if !ok || !sameTarget(h, w) {
			put = append(put, w)
		}
	}
	if len(put) > 0 {
		out, err := k.c.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(rule), EventBusName: aws.String(l.bus), Targets: put})
		if err != nil {
			return fmt.Errorf("put targets of rule %s: %w", rule, err)
		}
		if out.FailedEntryCount > 0 {
			e := out.FailedEntries[0]
			return fmt.Errorf("put targets of rule %s: target %s: %s: %s", rule, aws.ToString(e.TargetId), aws.ToString(e.ErrorCode), aws.ToString(e.ErrorMessage))
		}
	}
	if len(byID) > 0 {
		ids := slices.Sorted(maps.Keys(byID))
		out, err := k.c.RemoveTargets(ctx, &eventbridge.RemoveTargetsInput{Rule: aws.String(rule), EventBusName: aws.String(l.bus), Ids: ids})
		if err != nil {
			return fmt.Errorf("remove targets %v of rule %s: %w", ids, rule, err)
		}
		if out.FailedEntryCount > 0 {
			e := out.FailedEntries[0]
			return fmt.Errorf("remove targets of rule %s: target %s: %s: %s", rule, aws.ToString(e.TargetId), aws.ToString(e.ErrorCode), aws.ToString(e.ErrorMessage))
		}
	}
	return nil
}

// sameTarget reports whether the live target h is the wanted w, in the fields Panka sets.
func sameTarget(h, w ebtypes.Target) bool {
	group := func(t ebtypes.Target) string {
		if t.SqsParameters == nil {
			return ""
		}
		return aws.ToString(t.SqsParameters.MessageGroupId)
	}
	dlq := func(t ebtypes.Target) string {
		if t.DeadLetterConfig == nil {
			return ""
		}
		return aws.ToString(t.DeadLetterConfig.Arn)
	}
	return aws.ToString(h.Arn) == aws.ToString(w.Arn) && aws.ToString(h.Input) == aws.ToString(w.Input) &&
		group(h) == group(w) && dlq(h) == dlq(w)
}

// reconcileArchive makes the component's archive what spec says: created, its retention
// changed, or deleted.
func (k *eventsKind) reconcileArchive(ctx context.Context, l *ebLive, spec map[string]any) error {
	want := specMap(spec, "archive")
	name := archiveName(l.name)
	switch {
	case want == nil && l.archive == nil:
		return nil
	case want == nil:
		if _, err := k.c.DeleteArchive(ctx, &eventbridge.DeleteArchiveInput{ArchiveName: aws.String(name)}); err != nil && !isNotFound(err) {
			return fmt.Errorf("delete archive %s: %w", name, err)
		}
		return nil
	}
	days := int32(specInt(want, "retentionDays", 0))
	if l.archive == nil {
		_, err := k.c.CreateArchive(ctx, &eventbridge.CreateArchiveInput{
			ArchiveName: aws.String(name), EventSourceArn: aws.String(l.busARN), RetentionDays: aws.Int32(days),
		})
		if err != nil {
			return fmt.Errorf("create archive %s: %w", name, err)
		}
		return nil
	}
	if aws.ToInt32(l.archive.RetentionDays) == days {
		return nil
	}
	if _, err := k.c.UpdateArchive(ctx, &eventbridge.UpdateArchiveInput{ArchiveName: aws.String(name), RetentionDays: aws.Int32(days)}); err != nil {
		return fmt.Errorf("update archive %s: %w", name, err)
	}
	return nil
}

// readArchive returns the archive of the component name, nil if there is none. One of that name
// archiving another bus is not the component's: an error.
func (k *eventsKind) readArchive(ctx context.Context, name, busARN string) (*eventbridge.DescribeArchiveOutput, error) {
	out, err := k.c.DescribeArchive(ctx, &eventbridge.DescribeArchiveInput{ArchiveName: aws.String(archiveName(name))})
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("archive %s: %w", archiveName(name), err)
	}
	if src := aws.ToString(out.EventSourceArn); src != busARN {
		return nil, fmt.Errorf("archive %s archives %s, not the component's bus %s", archiveName(name), src, busARN)
	}
	return out, nil
}

// listRules returns the rules of bus whose names start with prefix.
func (k *eventsKind) listRules(ctx context.Context, bus, prefix string) ([]ebtypes.Rule, error) {
	var out []ebtypes.Rule
	in := &eventbridge.ListRulesInput{EventBusName: aws.String(bus), Limit: aws.Int32(100)}
	if prefix != "" {
		in.NamePrefix = aws.String(prefix)
	}
	for {
		page, err := k.c.ListRules(ctx, in)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Rules...)
		if aws.ToString(page.NextToken) == "" {
			return out, nil
		}
		in.NextToken = page.NextToken
	}
}

// defaultRules returns the component name's rules on the default bus with their tags: those
// with its name prefix and its panka:eventbridge tag.
func (k *eventsKind) defaultRules(ctx context.Context, name string) ([]ebRule, error) {
	list, err := k.listRules(ctx, defaultBus, rulePrefix(name))
	if err != nil {
		return nil, err
	}
	var out []ebRule
	for _, r := range list {
		tags, err := k.tagsOf(ctx, aws.ToString(r.Arn))
		if isNotFound(err) {
			continue // deleted since it was listed
		}
		if err != nil {
			return nil, err
		}
		if tags[tagEventBridge] != name {
			continue
		}
		rule := liveRule(r)
		rule.specName, rule.tags = tags[tagRule], tags
		out = append(out, rule)
	}
	return out, nil
}

func liveRule(r ebtypes.Rule) ebRule {
	return ebRule{
		awsName: aws.ToString(r.Name), arn: aws.ToString(r.Arn), specName: aws.ToString(r.Name), pattern: aws.ToString(r.EventPattern),
		schedule: aws.ToString(r.ScheduleExpression), enabled: r.State == ebtypes.RuleStateEnabled,
	}
}

func (k *eventsKind) tagsOf(ctx context.Context, arn string) (map[string]string, error) {
	out, err := k.c.ListTagsForResource(ctx, &eventbridge.ListTagsForResourceInput{ResourceARN: aws.String(arn)})
	if err != nil {
		return nil, err
	}
	tags := map[string]string{}
	for _, t := range out.Tags {
		tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return tags, nil
}

func (k *eventsKind) read(ctx context.Context, id string) (*live, error) {
	name := componentName(id)
	l := &ebLive{name: name, bus: defaultBus}
	var tags map[string]string
	if custom(id) {
		out, err := k.c.DescribeEventBus(ctx, &eventbridge.DescribeEventBusInput{Name: aws.String(name)})
		if err != nil {
			return nil, err
		}
		l.bus, l.busARN = name, aws.ToString(out.Arn)
		if tags, err = k.tagsOf(ctx, l.busARN); err != nil {
			return nil, err
		}
		list, err := k.listRules(ctx, name, "")
		if err != nil {
			return nil, err
		}
		for _, r := range list {
			l.rules = append(l.rules, liveRule(r))
		}
	} else {
		rules, err := k.defaultRules(ctx, name)
		if err != nil {
			return nil, err
		}
		if len(rules) == 0 {
			return nil, fmt.Errorf("%w: no rule of %s on the default event bus", provider.ErrNotFound, name)
		}
		out, err := k.c.DescribeEventBus(ctx, &eventbridge.DescribeEventBusInput{Name: aws.String(defaultBus)})
		if err != nil {
			return nil, err
		}
		l.busARN, l.rules = aws.ToString(out.Arn), rules
		slices.SortFunc(rules, func(a, b ebRule) int { return strings.Compare(a.awsName, b.awsName) })
		tags = ruleTags(rules)
	}
	for i := range l.rules {
		targets, err := k.listTargets(ctx, l.bus, l.rules[i].awsName)
		if err != nil {
			return nil, err
		}
		l.rules[i].targets = targets
	}
	var err error
	if l.archive, err = k.readArchive(ctx, name, l.busARN); err != nil {
		return nil, err
	}
	granted, parts, err := k.p.pol.check(ctx, l.grants())
	if err != nil {
		return nil, err
	}
	l.granted = granted
	spec, err := k.spec(ctx, l, tags)
	if err != nil {
		return nil, err
	}
	return &live{
		obs: &provider.Observed{
			ID: id, Name: name, ARN: l.busARN, Spec: spec, Tags: tags, Parts: parts,
			Outputs: map[string]string{"busName": l.bus, "busArn": l.busARN, "arn": l.busARN},
		},
		raw: l,
	}, nil
}

// listTargets returns the targets of the rule, by Id (numerically: their position in the spec).
func (k *eventsKind) listTargets(ctx context.Context, bus, rule string) ([]ebtypes.Target, error) {
	var out []ebtypes.Target
	in := &eventbridge.ListTargetsByRuleInput{Rule: aws.String(rule), EventBusName: aws.String(bus), Limit: aws.Int32(100)}
	for {
		page, err := k.c.ListTargetsByRule(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("targets of rule %s: %w", rule, err)
		}
		out = append(out, page.Targets...)
		if aws.ToString(page.NextToken) == "" {
			break
		}
		in.NextToken = page.NextToken
	}
	slices.SortStableFunc(out, func(a, b ebtypes.Target) int {
		x, xerr := strconv.Atoi(aws.ToString(a.Id))
		y, yerr := strconv.Atoi(aws.ToString(b.Id))
		if xerr != nil || yerr != nil {
			return cmp.Or(cmp.Compare(boolInt(xerr != nil), boolInt(yerr != nil)), strings.Compare(aws.ToString(a.Id), aws.ToString(b.Id)))
		}
		return cmp.Compare(x, y)
	})
	return out, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// spec returns the spec of the live component l with tags.
func (k *eventsKind) spec(ctx context.Context, l *ebLive, tags map[string]string) (map[string]any, error) {
	spec := map[string]any{}
	if l.bus == defaultBus {
		spec["bus"] = defaultBus
	}
	spec["archive"], spec["rules"] = nil, nil // read, and none (see the package doc)
	if a := l.archive; a != nil {
		spec["archive"] = map[string]any{"retentionDays": int64(aws.ToInt32(a.RetentionDays))}
	}
	rules := slices.Clone(l.rules)
	slices.SortFunc(rules, func(a, b ebRule) int { return strings.Compare(a.specName, b.specName) })
	var list []any
	for _, r := range rules {
		m := map[string]any{"name": r.specName, "enabled": r.enabled}
		if r.pattern != "" {
			v, err := jsonValue(r.pattern)
			if err != nil {
				return nil, fmt.Errorf("rule %s: event pattern: %w", r.awsName, err)
			}
			m["eventPattern"] = v
		}
		if r.schedule != "" {
			m["schedule"] = r.schedule
		}
		var targets []any
		for _, t := range r.targets {
			tm, err := k.targetSpec(ctx, t, l.name, tags)
			if err == nil {
				markMissing(tm, l.granted, r.arn, t)
			}
			if err != nil {
				return nil, fmt.Errorf("rule %s: %w", r.awsName, err)
			}
			targets = append(targets, tm)
		}
		if len(targets) > 0 {
			m["targets"] = targets
		}
		list = append(list, m)
	}
	if len(list) > 0 {
		spec["rules"] = list
	}
	return spec, nil
}

// markMissing marks the target's reference, or its dead-letter queue's, whose policy lacks the
// rule's statement (withoutStatement).
func markMissing(m map[string]any, granted map[string]grantStatus, rule string, t ebtypes.Target) {
	for _, g := range targetGrant(rule, t) {
		if granted[g.key()] != grantMissing {
			continue
		}
		field := "target"
		if g.target != aws.ToString(t.Arn) {
			field = "deadLetterQueue"
		}
		if v, ok := m[field].(string); ok && !strings.HasSuffix(v, withoutStatement) {
			m[field] = v + withoutStatement
		}
	}
}

func (k *eventsKind) targetSpec(ctx context.Context, t ebtypes.Target, name string, tags map[string]string) (map[string]any, error) {
	ref, err := k.ref(ctx, aws.ToString(t.Arn), name, tags)
	if err != nil {
		return nil, fmt.Errorf("target %s: %w", aws.ToString(t.Id), err)
	}
	m := map[string]any{"target": ref}
	if v := aws.ToString(t.Input); v != "" {
		m["input"] = v
	}
	if p := t.SqsParameters; p != nil && aws.ToString(p.MessageGroupId) != "" {
		m["messageGroupId"] = aws.ToString(p.MessageGroupId)
	}
	if d := t.DeadLetterConfig; d != nil && aws.ToString(d.Arn) != "" {
		dlq, err := queueRef(ctx, k.q, aws.ToString(d.Arn), name, tags)
		if err != nil {
			return nil, fmt.Errorf("target %s: dead-letter queue: %w", aws.ToString(t.Id), err)
		}
		m["deadLetterQueue"] = dlq
	}
	return m, nil
}

// ref returns how the component name with tags refers to the target arn: a queue, topic or bus
// of its deployment by address (short in its own service), a Lambda function of its own service
// by name, anything else by ARN.
func (k *eventsKind) ref(ctx context.Context, arn, name string, tags map[string]string) (string, error) {
	var theirs map[string]string
	switch {
	case strings.Contains(arn, ":sqs:"):
		return queueRef(ctx, k.q, arn, name, tags)
	case strings.Contains(arn, ":lambda:"):
		return functionRef(ctx, k.fn, arn, name, tags)
	case strings.Contains(arn, ":sns:"):
		out, err := k.sn.ListTagsForResource(ctx, &sns.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
		if isNotFound(err) {
			return arn, nil
		}
		if err != nil {
			return "", err
		}
		theirs = map[string]string{}
		for _, t := range out.Tags {
			theirs[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
	case strings.Contains(arn, ":event-bus/"):
		var err error
		theirs, err = k.tagsOf(ctx, arn)
		if isNotFound(err) {
			return arn, nil
		}
		if err != nil {
			return "", err
		}
	default:
		return arn, nil
	}
	d, err := deploymentOf(name, tags[tagAddress])
	if err != nil || theirs[tagAddress] == "" || !sameDeployment(tags, theirs) {
		return arn, nil
	}
	return d.ref(theirs[tagAddress]), nil
}

func (k *eventsKind) update(ctx context.Context, l *live, r provider.Resource) error {
	have := l.raw.(*ebLive)
	onDefault := specString(r.Spec, "bus") == defaultBus
	if onDefault != (have.bus == defaultBus) {
		return fmt.Errorf("bus cannot change in place (%q to %q): the component must be replaced", specString(l.obs.Spec, "bus"), specString(r.Spec, "bus"))
	}
	want, err := k.wantRules(ctx, r, onDefault)
	if err != nil {
		return err
	}
	if onDefault && len(want) == 0 {
		return errors.New("a component on the default event bus needs at least one rule: Panka finds it again by its rules")
	}
	if err := k.reconcileArchive(ctx, have, r.Spec); err != nil {
		return err
	}
	byName := map[string]ebRule{}
	for _, h := range have.rules {
		byName[h.awsName] = h
	}
	// The statements of targets that go are removed first; those of new rules, whose ARNs are
	// known once they are put, are not among the live ones.
	var keep []grant
	for _, w := range want {
		keep = append(keep, targetGrants(byName[w.awsName].arn, w.targets)...)
	}
	consumer := "event bus " + have.bus + " rules of " + have.name
	if err := k.p.pol.revokeAll(ctx, consumer, have.grants(), keep); err != nil {
		return err
	}
	var grants []grant
	for _, w := range want {
		h, ok := byName[w.awsName]
		delete(byName, w.awsName)
		arn := h.arn
		if !ok || !sameRule(h, w) {
			tags := r.Tags
			if tags == nil {
				tags = l.obs.Tags
			}
			if arn, err = k.putRule(ctx, have, w, onDefault, tags); err != nil {
				return err
			}
		}
		if err := k.reconcileTargets(ctx, have, w.awsName, h.targets, w.targets); err != nil {
			return err
		}
		grants = append(grants, targetGrants(arn, w.targets)...)
	}
	for _, name := range slices.Sorted(maps.Keys(byName)) {
		if err := k.deleteRule(ctx, have, byName[name]); err != nil {
			return err
		}
	}
	return k.p.pol.ensureAll(ctx, consumer, dedupe(grants))
}

// sameRule reports whether the live rule h is the wanted w, in its pattern, schedule and state.
func sameRule(h, w ebRule) bool {
	if h.schedule != w.schedule || h.enabled != w.enabled || (h.pattern == "") != (w.pattern == "") {
		return false
	}
	if h.pattern == "" {
		return true
	}
	hv, herr := jsonValue(h.pattern)
	wv, werr := jsonValue(w.pattern)
	return herr == nil && werr == nil && reflect.DeepEqual(hv, wv)
}

// deleteRule removes the rule's targets, then the rule.
func (k *eventsKind) deleteRule(ctx context.Context, l *ebLive, r ebRule) error {
	if err := k.reconcileTargets(ctx, l, r.awsName, r.targets, nil); err != nil && !isNotFound(err) {
		return err
	}
	_, err := k.c.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: aws.String(r.awsName), EventBusName: aws.String(l.bus)})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("delete rule %s: %w", r.awsName, err)
	}
	return nil
}

// differingTag is the value Read reports for a tag the component's rules on the default bus
// do not agree on (one rule's tag changed behind Panka's back): a value no spec gives, so the
// engine sees the drift and the next Update makes every rule's tags the component's.
const differingTag = "(differs between the component's rules)"

// ruleTags returns the component's tags as its rules on the default bus carry them (without
// the rules' own panka:eventbridge and panka:rule), a tag they disagree on as differingTag.
func ruleTags(rules []ebRule) map[string]string {
	var tags map[string]string
	for _, r := range rules {
		t := maps.Clone(r.tags)
		delete(t, tagEventBridge)
		delete(t, tagRule)
		if tags == nil {
			tags = t
			continue
		}
		for key := range mapsKeys(tags, t) {
			if v, ok := t[key]; !ok || tags[key] != v {
				tags[key] = differingTag
			}
		}
	}
	return tags
}

// mapsKeys returns the keys of a and b.
func mapsKeys(a, b map[string]string) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

// tag sets and removes the tags of the bus or, on the default bus, makes the tags of every rule
// of the component (as they are now: update may have made or removed some) what the
// component's tags become.
func (k *eventsKind) tag(ctx context.Context, l *live, set map[string]string, remove []string) error {
	have := l.raw.(*ebLive)
	if have.bus != defaultBus {
		return k.tagARN(ctx, have.busARN, set, remove)
	}
	want := map[string]string{}
	maps.Copy(want, l.obs.Tags)
	maps.Copy(want, set)
	for _, key := range remove {
		delete(want, key)
	}
	rules, err := k.defaultRules(ctx, have.name)
	if err != nil {
		return err
	}
	for _, r := range rules {
		set, remove := tagChanges(ruleTags([]ebRule{r}), want)
		if err := k.tagARN(ctx, r.arn, set, remove); err != nil {
			return fmt.Errorf("rule %s: %w", r.awsName, err)
		}
	}
	return nil
}

func (k *eventsKind) tagARN(ctx context.Context, arn string, set map[string]string, remove []string) error {
	if len(set) > 0 {
		if _, err := k.c.TagResource(ctx, &eventbridge.TagResourceInput{ResourceARN: aws.String(arn), Tags: ebTags(set)}); err != nil {
			return err
		}
	}
	if len(remove) > 0 {
		if _, err := k.c.UntagResource(ctx, &eventbridge.UntagResourceInput{ResourceARN: aws.String(arn), TagKeys: remove}); err != nil {
			return err
		}
	}
	return nil
}

// delete removes the targets' statements from their policies, the rules (targets first), the
// archive, then the custom bus.
func (k *eventsKind) delete(ctx context.Context, l *live) error {
	have := l.raw.(*ebLive)
	if err := k.p.pol.revokeAll(ctx, "event bus "+have.bus+" rules of "+have.name, have.grants(), nil); err != nil {
		return err
	}
	for _, r := range have.rules {
		if err := k.deleteRule(ctx, have, r); err != nil {
			return err
		}
	}
	if have.archive != nil {
		if err := k.reconcileArchive(ctx, have, nil); err != nil {
			return err
		}
	}
	if have.bus == defaultBus {
		return nil
	}
	_, err := k.c.DeleteEventBus(ctx, &eventbridge.DeleteEventBusInput{Name: aws.String(have.bus)})
	return err
}
