package aws_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/google/go-cmp/cmp"

	"github.com/panka/panka/provider"
	"github.com/panka/panka/state"
)

type m = map[string]any
type l = []any

func ebClient(t *testing.T) *eventbridge.Client { return eventbridge.NewFromConfig(sdkConfig(t)) }

// ebView reads a component through the SDK: its bus and tags, every rule of it (by its name in
// the spec: the default bus's rules without the component's prefix) with its state, pattern,
// schedule, targets and (default bus) tags, and its archive.
func ebView(c *eventbridge.Client) func(t *testing.T, id string) view {
	return func(t *testing.T, id string) view {
		t.Helper()
		ctx := t.Context()
		v := view{}
		name, bus := id, id
		if n, ok := strings.CutPrefix(id, "default/"); ok {
			name, bus = n, "default"
		}
		b, err := c.DescribeEventBus(ctx, &eventbridge.DescribeEventBusInput{Name: aws.String(bus)})
		if err != nil {
			t.Fatalf("DescribeEventBus: %v", err)
		}
		v["bus"] = aws.ToString(b.Name)
		if bus != "default" {
			for k, x := range ebTagsOf(t, c, aws.ToString(b.Arn)) {
				v["tag:"+k] = x
			}
		}
		in := &eventbridge.ListRulesInput{EventBusName: aws.String(bus), Limit: aws.Int32(100)}
		if bus == "default" {
			in.NamePrefix = aws.String(name + ".")
		}
		rules, err := c.ListRules(ctx, in)
		if err != nil {
			t.Fatalf("ListRules: %v", err)
		}
		for _, r := range rules.Rules {
			rn := strings.TrimPrefix(aws.ToString(r.Name), name+".")
			key := "rule:" + rn
			v[key+".state"] = string(r.State)
			if p := aws.ToString(r.EventPattern); p != "" {
				var x any
				if err := json.Unmarshal([]byte(p), &x); err != nil {
					t.Fatalf("rule %s: pattern %q: %v", rn, p, err)
				}
				var b strings.Builder // compare the pattern, not its spelling
				e := json.NewEncoder(&b)
				e.SetEscapeHTML(false)
				if err := e.Encode(x); err != nil {
					t.Fatal(err)
				}
				v[key+".pattern"] = strings.TrimSpace(b.String())
			}
			if s := aws.ToString(r.ScheduleExpression); s != "" {
				v[key+".schedule"] = s
			}
			if bus == "default" {
				for k, x := range ebTagsOf(t, c, aws.ToString(r.Arn)) {
					if x == name || x == "orders/"+strings.TrimPrefix(name, prefix) {
						x = "the component" // its name, its address
					}
					v[key+".tag:"+k] = x
				}
			}
			targets, err := c.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: r.Name, EventBusName: aws.String(bus)})
			if err != nil {
				t.Fatalf("ListTargetsByRule: %v", err)
			}
			for _, tg := range targets.Targets {
				tk := key + ".target:" + aws.ToString(tg.Id)
				v[tk+".arn"] = aws.ToString(tg.Arn)
				if s := aws.ToString(tg.Input); s != "" {
					v[tk+".input"] = s
				}
				if p := tg.SqsParameters; p != nil {
					v[tk+".group"] = aws.ToString(p.MessageGroupId)
				}
				if d := tg.DeadLetterConfig; d != nil {
					v[tk+".dlq"] = aws.ToString(d.Arn)
				}
			}
		}
		a, err := c.DescribeArchive(ctx, &eventbridge.DescribeArchiveInput{ArchiveName: aws.String(name)})
		if err == nil {
			v["archive.retentionDays"] = jsonText(aws.ToInt32(a.RetentionDays))
			v["archive.source"] = aws.ToString(a.EventSourceArn)
			if v["archive.source"] == aws.ToString(b.Arn) {
				v["archive.source"] = "the bus"
			}
		}
		return v
	}
}

func ebTagsOf(t *testing.T, c *eventbridge.Client, arn string) map[string]string {
	t.Helper()
	out, err := c.ListTagsForResource(t.Context(), &eventbridge.ListTagsForResourceInput{ResourceARN: aws.String(arn)})
	if err != nil {
		t.Fatalf("ListTagsForResource %s: %v", arn, err)
	}
	tags := map[string]string{}
	for _, tg := range out.Tags {
		tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	return tags
}

// ebBusAndRule returns the bus and the AWS name of the rule rule of the component id.
func ebBusAndRule(id, rule string) (bus, name string) {
	if n, ok := strings.CutPrefix(id, "default/"); ok {
		return "default", n + "." + rule
	}
	return id, rule
}

func putRule(c *eventbridge.Client, rule string, in eventbridge.PutRuleInput) func(t *testing.T, id string) {
	return func(t *testing.T, id string) {
		t.Helper()
		bus, name := ebBusAndRule(id, rule)
		in.Name, in.EventBusName = aws.String(name), aws.String(bus)
		if _, err := c.PutRule(t.Context(), &in); err != nil {
			t.Fatal(err)
		}
	}
}

func putTarget(c *eventbridge.Client, rule string, target ebtypes.Target) func(t *testing.T, id string) {
	return func(t *testing.T, id string) {
		t.Helper()
		bus, name := ebBusAndRule(id, rule)
		if _, err := c.PutTargets(t.Context(), &eventbridge.PutTargetsInput{Rule: aws.String(name), EventBusName: aws.String(bus), Targets: []ebtypes.Target{target}}); err != nil {
			t.Fatal(err)
		}
	}
}

func removeTargets(c *eventbridge.Client, rule string, ids ...string) func(t *testing.T, id string) {
	return func(t *testing.T, id string) {
		t.Helper()
		bus, name := ebBusAndRule(id, rule)
		if _, err := c.RemoveTargets(t.Context(), &eventbridge.RemoveTargetsInput{Rule: aws.String(name), EventBusName: aws.String(bus), Ids: ids}); err != nil {
			t.Fatal(err)
		}
	}
}

func ebSuffix(map[string]any) string { return "" }

// TestEventBridgeFields sets every EventBridge field to a value other than the base spec's, and
// checks through the SDK that Create applies it, that an Update to it changes exactly it (or is
// refused, for the bus, which forces replacement), and that a change of it behind Panka's back
// shows in Read and is undone by the next Update.
func TestEventBridgeFields(t *testing.T) {
	p := newProvider(t)
	c := ebClient(t)
	queue := func(fifo bool) (ref, arn string) {
		spec := sqsBase()
		spec["fifo"] = fifo
		obs := deploy(t, p, component("SQS", unique("q"), sqsSuffix(spec), spec))
		return strings.TrimSuffix(strings.TrimPrefix(obs.Name, prefix), ".fifo"), obs.ARN
	}
	q, qARN := queue(false)
	fq, fqARN := queue(true)
	dlq, dlqARN := queue(false)
	topic := deploy(t, p, component("SNS", unique("t"), "", snsBase()))
	tRef := strings.TrimPrefix(topic.Name, prefix)
	otherBus := deploy(t, p, component("EventBridge", unique("b"), "", m{}))
	busRef := strings.TrimPrefix(otherBus.Name, prefix)

	target := func(ref string) m { return m{"target": ref} }
	base := func() map[string]any {
		return m{"rules": l{m{"name": "paid", "eventPattern": m{"source": l{"shop"}}, "enabled": true, "targets": l{target(q)}}}}
	}
	onDefault := func() map[string]any {
		s := base()
		s["bus"] = "default"
		return s
	}
	rule := func(s map[string]any) m { return s["rules"].([]any)[0].(m) }
	firstTarget := func(s map[string]any) m { return rule(s)["targets"].([]any)[0].(m) }
	pattern := `{"source":["shop"]}`

	cases := []fieldCase{
		{name: "bus", set: func(s map[string]any) { s["bus"] = "default" }, want: view{"bus": "default", "rule:paid.state": "ENABLED"}, forceNew: true},
		{name: "rules[].eventPattern", set: func(s map[string]any) {
			rule(s)["eventPattern"] = m{"source": l{"shop"}, "detail-type": l{"OrderPaid"}, "detail": m{"amount": l{m{"numeric": l{">", int64(100)}}}}}
		}, want: view{"rule:paid.pattern": `{"detail":{"amount":[{"numeric":[">",100]}]},"detail-type":["OrderPaid"],"source":["shop"]}`},
			drift: putRule(c, "paid", eventbridge.PutRuleInput{EventPattern: aws.String(`{"source":["else"]}`)})},
		{name: "rules[].schedule", base: onDefault, set: func(s map[string]any) {
			delete(rule(s), "eventPattern")
			rule(s)["schedule"] = "rate(1 hour)"
		}, want: view{"rule:paid.schedule": "rate(1 hour)", "rule:paid.pattern": ""},
			drift: putRule(c, "paid", eventbridge.PutRuleInput{ScheduleExpression: aws.String("rate(5 minutes)")})},
		{name: "rules[].enabled", set: func(s map[string]any) { rule(s)["enabled"] = false }, want: view{"rule:paid.state": "DISABLED"},
			drift: putRule(c, "paid", eventbridge.PutRuleInput{EventPattern: aws.String(pattern), State: ebtypes.RuleStateEnabled})},
		{name: "rules[].enabled on the default bus", base: onDefault, set: func(s map[string]any) { rule(s)["enabled"] = false },
			want:  view{"rule:paid.state": "DISABLED", "rule:paid.tag:panka:rule": "paid", "rule:paid.tag:panka:stack": "shop"},
			drift: putRule(c, "paid", eventbridge.PutRuleInput{EventPattern: aws.String(pattern), State: ebtypes.RuleStateEnabled})},
		{name: "rules[].targets[].target", set: func(s map[string]any) { firstTarget(s)["target"] = tRef },
			want:  view{"rule:paid.target:0.arn": topic.ARN},
			drift: putTarget(c, "paid", ebtypes.Target{Id: aws.String("0"), Arn: aws.String(qARN)})},
		{name: "rules[].targets[].target (an event bus)", set: func(s map[string]any) { firstTarget(s)["target"] = busRef },
			want: view{"rule:paid.target:0.arn": otherBus.ARN}},
		{name: "rules[].targets", set: func(s map[string]any) { rule(s)["targets"] = l{target(q), target(tRef)} },
			want: view{"rule:paid.target:1.arn": topic.ARN}, drift: removeTargets(c, "paid", "1")},
		{name: "rules[].targets[].input", set: func(s map[string]any) { firstTarget(s)["input"] = `{"kind": "paid"}` },
			want:  view{"rule:paid.target:0.input": `{"kind": "paid"}`},
			drift: putTarget(c, "paid", ebtypes.Target{Id: aws.String("0"), Arn: aws.String(qARN), Input: aws.String(`{}`)})},
		{name: "rules[].targets[].messageGroupId", set: func(s map[string]any) {
			firstTarget(s)["target"], firstTarget(s)["messageGroupId"] = fq, "orders"
		}, want: view{"rule:paid.target:0.arn": fqARN, "rule:paid.target:0.group": "orders"},
			drift: putTarget(c, "paid", ebtypes.Target{Id: aws.String("0"), Arn: aws.String(fqARN), SqsParameters: &ebtypes.SqsParameters{MessageGroupId: aws.String("other")}})},
		{name: "rules[].targets[].deadLetterQueue", set: func(s map[string]any) { firstTarget(s)["deadLetterQueue"] = dlq },
			want:  view{"rule:paid.target:0.dlq": dlqARN},
			drift: putTarget(c, "paid", ebtypes.Target{Id: aws.String("0"), Arn: aws.String(qARN)})},
		{name: "rules", set: func(s map[string]any) {
			s["rules"] = append(s["rules"].([]any), m{"name": "refunded", "eventPattern": m{"source": l{"refunds"}}, "enabled": true, "targets": l{target(q)}})
		}, want: view{"rule:refunded.state": "ENABLED", "rule:refunded.pattern": `{"source":["refunds"]}`, "rule:refunded.target:0.arn": qARN},
			drift: func(t *testing.T, id string) {
				removeTargets(c, "refunded", "0")(t, id)
				bus, name := ebBusAndRule(id, "refunded")
				if _, err := c.DeleteRule(t.Context(), &eventbridge.DeleteRuleInput{Name: aws.String(name), EventBusName: aws.String(bus)}); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "rules on the default bus", base: onDefault, set: func(s map[string]any) {
			s["rules"] = append(s["rules"].([]any), m{"name": "refunded", "eventPattern": m{"source": l{"refunds"}}, "enabled": true, "targets": l{target(q)}})
		}, want: view{"rule:refunded.state": "ENABLED", "rule:refunded.pattern": `{"source":["refunds"]}`, "rule:refunded.target:0.arn": qARN,
			"rule:refunded.tag:panka:rule": "refunded", "rule:refunded.tag:panka:stack": "shop", "rule:refunded.tag:panka:tenant": "acme",
			"rule:refunded.tag:panka:environment": "dev", "rule:refunded.tag:panka:address": "the component",
			"rule:refunded.tag:panka:eventbridge": "the component",
		}},
		{name: "archive", set: func(s map[string]any) { s["archive"] = m{"retentionDays": int64(30)} }, want: view{"archive.retentionDays": "30", "archive.source": "the bus"},
			drift: func(t *testing.T, id string) {
				if _, err := c.UpdateArchive(t.Context(), &eventbridge.UpdateArchiveInput{ArchiveName: aws.String(id), RetentionDays: aws.Int32(5)}); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "archive kept forever", set: func(s map[string]any) { s["archive"] = m{"retentionDays": int64(0)} }, want: view{"archive.retentionDays": "0", "archive.source": "the bus"},
			drift: func(t *testing.T, id string) {
				if _, err := c.DeleteArchive(t.Context(), &eventbridge.DeleteArchiveInput{ArchiveName: aws.String(id)}); err != nil {
					t.Fatal(err)
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { checkFieldCase(t, p, "EventBridge", base, ebSuffix, tc, ebView(c)) })
	}
}

// A component's parts are found again by their names after a crash halfway through Create: Find
// adopts the bus, or the rules on the default bus, and the next Update makes the rest.
func TestEventBridgeCrashHalfway(t *testing.T) {
	p := newProvider(t)
	c := ebClient(t)
	q := deploy(t, p, component("SQS", unique("q"), "", sqsBase()))
	qRef := strings.TrimPrefix(q.Name, prefix)
	spec := func(bus string) map[string]any {
		s := m{"rules": l{
			m{"name": "a", "eventPattern": m{"source": l{"a"}}, "enabled": true, "targets": l{m{"target": qRef}}},
			m{"name": "b", "eventPattern": m{"source": l{"b"}}, "enabled": true, "targets": l{m{"target": qRef}}},
		}, "archive": m{"retentionDays": int64(3)}}
		if bus != "" {
			s["bus"] = bus
		}
		return s
	}
	for _, bus := range []string{"", "default"} {
		t.Run("bus="+bus, func(t *testing.T) {
			ctx := t.Context()
			r := component("EventBridge", unique("crash"), "", spec(bus))
			// What a run that crashed after the bus (or the archive) and the first rule left.
			first := provider.Resource{Address: r.Address, Kind: r.Kind, Name: r.Name, Tags: r.Tags, Spec: state.CloneMap(r.Spec)}
			first.Spec["rules"] = first.Spec["rules"].([]any)[:1]
			obs, err := p.Create(ctx, first)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = p.Delete(context.Background(), obs.ID, r) })

			if _, err := p.Create(ctx, r); !errors.Is(err, provider.ErrAlreadyExists) {
				t.Fatalf("Create again: %v, want ErrAlreadyExists", err)
			}
			found, err := p.Find(ctx, r)
			if err != nil {
				t.Fatalf("Find: %v", err)
			}
			if found.ID != obs.ID {
				t.Errorf("Find: ID %s, Create made %s", found.ID, obs.ID)
			}
			updated, err := p.Update(ctx, found.ID, r, nil)
			if err != nil {
				t.Fatalf("Update: %v", err)
			}
			if diff := cmp.Diff(r.Spec, updated.Spec, unsetIsAbsent); diff != "" {
				t.Errorf("after Update (-want +got):\n%s", diff)
			}
			v := ebView(c)(t, found.ID)
			wantIn(t, "after Update", v, view{"rule:a.state": "ENABLED", "rule:b.state": "ENABLED", "archive.retentionDays": "3"})

			// Another deployment's component of the same name is not adopted.
			other := r
			other.Tags = map[string]string{"panka:tenant": "acme", "panka:stack": "other", "panka:environment": "dev", "panka:address": r.Address}
			if _, err := p.Find(ctx, other); !errors.Is(err, provider.ErrNotFound) {
				t.Errorf("Find with another owner's tags: %v, want ErrNotFound", err)
			}
			if err := p.Delete(ctx, found.ID, other); err == nil {
				t.Errorf("Delete with another owner's tags succeeded")
			}

			// Delete removes every part: targets, rules, archive, bus.
			if err := p.Delete(ctx, found.ID, r); err != nil {
				t.Fatal(err)
			}
			if _, err := p.Read(ctx, "EventBridge", found.ID); !errors.Is(err, provider.ErrNotFound) {
				t.Errorf("Read after Delete: %v", err)
			}
			if _, err := c.DescribeArchive(ctx, &eventbridge.DescribeArchiveInput{ArchiveName: aws.String(r.Name)}); err == nil {
				t.Errorf("the archive outlived Delete")
			}
			rules, err := c.ListRules(ctx, &eventbridge.ListRulesInput{EventBusName: aws.String("default"), NamePrefix: aws.String(r.Name + ".")})
			if err != nil {
				t.Fatal(err)
			}
			if len(rules.Rules) != 0 {
				t.Errorf("rules outlived Delete: %v", rules.Rules)
			}
		})
	}
}

// Tags changed behind Panka's back show in Read, and the next Update puts them back: on the bus,
// or on any one rule of a component on the default bus (whose tags live on its rules).
func TestEventBridgeTagDrift(t *testing.T) {
	p := newProvider(t)
	c := ebClient(t)
	q := deploy(t, p, component("SQS", unique("q"), "", sqsBase()))
	qRef := strings.TrimPrefix(q.Name, prefix)
	for _, bus := range []string{"", "default"} {
		t.Run("bus="+bus, func(t *testing.T) {
			ctx := t.Context()
			spec := m{"rules": l{
				m{"name": "a", "eventPattern": m{"source": l{"a"}}, "enabled": true, "targets": l{m{"target": qRef}}},
				m{"name": "b", "eventPattern": m{"source": l{"b"}}, "enabled": true, "targets": l{m{"target": qRef}}},
			}}
			if bus != "" {
				spec["bus"] = bus
			}
			r := component("EventBridge", unique("tagged"), "", spec)
			r.Tags["team"] = "orders"
			obs := deploy(t, p, r)
			// Behind Panka's back: the bus's tags, or the second rule's.
			arn := obs.ARN
			if bus == "default" {
				out, err := c.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String(r.Name + ".b")})
				if err != nil {
					t.Fatal(err)
				}
				arn = aws.ToString(out.Arn)
			}
			if _, err := c.TagResource(ctx, &eventbridge.TagResourceInput{ResourceARN: aws.String(arn), Tags: []ebtypes.Tag{
				{Key: aws.String("team"), Value: aws.String("someone")}, {Key: aws.String("extra"), Value: aws.String("1")},
			}}); err != nil {
				t.Fatal(err)
			}
			got, err := p.Read(ctx, "EventBridge", obs.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Tags["team"] == "orders" || got.Tags["extra"] == "" {
				t.Fatalf("Read tags = %v; want the change made behind Panka's back to show", got.Tags)
			}
			// The next Update makes them the component's again, everywhere; new tags go everywhere too.
			r.Tags["owner"] = "panka"
			if _, err := p.Update(ctx, obs.ID, r, nil); err != nil {
				t.Fatal(err)
			}
			v := ebView(c)(t, obs.ID)
			keys := []string{"tag:"}
			if bus == "default" {
				keys = []string{"rule:a.tag:", "rule:b.tag:"}
			}
			for _, k := range keys {
				if v[k+"team"] != "orders" || v[k+"owner"] != "panka" || v[k+"extra"] != "" {
					t.Errorf("%s tags after Update: %v", k, v)
				}
			}
			if bus == "default" && (v["rule:b.tag:panka:rule"] != "b" || v["rule:b.tag:panka:eventbridge"] != "the component") {
				t.Errorf("the rule's own tags after Update: %v", v)
			}
			got, err = p.Read(ctx, "EventBridge", obs.ID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(r.Tags, got.Tags); diff != "" {
				t.Errorf("Read tags after Update (-want +got):\n%s", diff)
			}
		})
	}
}
