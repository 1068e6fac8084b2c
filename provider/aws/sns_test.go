package aws_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/go-cmp/cmp"
)

// snsBase is an SNS spec as the engine hands it over: every field, at its default.
func snsBase() map[string]any {
	return map[string]any{"fifo": false, "contentBasedDeduplication": false}
}

func snsFIFO() map[string]any {
	s := snsBase()
	s["fifo"] = true
	return s
}

// sub is a subscription as the engine hands it over.
func sub(protocol, key, value string) map[string]any {
	return map[string]any{"protocol": protocol, key: value, "rawMessageDelivery": false, "filterPolicyScope": "MessageAttributes"}
}

// snsView reads a topic through the SDK: its attributes (but counters and the policy), its
// subscriptions' attributes (keyed "sub <protocol> <endpoint> <attribute>") and its tags.
func snsView(c *sns.Client) func(t *testing.T, id string) view {
	return func(t *testing.T, id string) view {
		t.Helper()
		ctx := t.Context()
		out, err := c.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String(id)})
		if err != nil {
			t.Fatalf("GetTopicAttributes: %v", err)
		}
		v := view{}
		for k, x := range out.Attributes {
			if strings.HasPrefix(k, "Subscriptions") || k == "Policy" || k == "EffectiveDeliveryPolicy" {
				continue
			}
			v[k] = x
		}
		subs, err := c.ListSubscriptionsByTopic(ctx, &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(id)})
		if err != nil {
			t.Fatalf("ListSubscriptionsByTopic: %v", err)
		}
		for _, s := range subs.Subscriptions {
			key := "sub " + aws.ToString(s.Protocol) + " " + aws.ToString(s.Endpoint)
			v[key] = "subscribed"
			attrs, err := c.GetSubscriptionAttributes(ctx, &sns.GetSubscriptionAttributesInput{SubscriptionArn: s.SubscriptionArn})
			if err != nil {
				t.Fatalf("GetSubscriptionAttributes: %v", err)
			}
			for k, x := range attrs.Attributes {
				switch k {
				case "RawMessageDelivery", "FilterPolicy", "FilterPolicyScope":
					v[key+" "+k] = x
				}
			}
		}
		tags, err := c.ListTagsForResource(ctx, &sns.ListTagsForResourceInput{ResourceArn: aws.String(id)})
		if err != nil {
			t.Fatalf("ListTagsForResource: %v", err)
		}
		for _, tag := range tags.Tags {
			v["tag:"+aws.ToString(tag.Key)] = aws.ToString(tag.Value)
		}
		return v
	}
}

func unsubscribeAll(c *sns.Client) func(t *testing.T, id string) {
	return func(t *testing.T, id string) {
		t.Helper()
		subs, err := c.ListSubscriptionsByTopic(t.Context(), &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(id)})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range subs.Subscriptions {
			if _, err := c.Unsubscribe(t.Context(), &sns.UnsubscribeInput{SubscriptionArn: s.SubscriptionArn}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func setTopicAttribute(c *sns.Client, name, value string) func(t *testing.T, id string) {
	return func(t *testing.T, id string) {
		t.Helper()
		_, err := c.SetTopicAttributes(t.Context(), &sns.SetTopicAttributesInput{TopicArn: aws.String(id), AttributeName: aws.String(name), AttributeValue: aws.String(value)})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// setSubscriptionAttribute changes an attribute of every subscription of the topic.
func setSubscriptionAttribute(c *sns.Client, name, value string) func(t *testing.T, id string) {
	return func(t *testing.T, id string) {
		t.Helper()
		subs, err := c.ListSubscriptionsByTopic(t.Context(), &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(id)})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range subs.Subscriptions {
			_, err := c.SetSubscriptionAttributes(t.Context(), &sns.SetSubscriptionAttributesInput{SubscriptionArn: s.SubscriptionArn, AttributeName: aws.String(name), AttributeValue: aws.String(value)})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
}

func snsSuffix(spec map[string]any) string { return sqsSuffix(spec) }

// TestSNSFields sets every SNS field, subscriptions and their fields included, to a value other
// than its default, and checks through the SDK that Create applies it, that an Update to it
// changes exactly it (or is refused, for a field that forces replacement), and that a change of
// it behind Panka's back shows in Read and is undone by the next Update.
func TestSNSFields(t *testing.T) {
	p := newProvider(t)
	c := sns.NewFromConfig(sdkConfig(t))
	queue := deploy(t, p, component("SQS", unique("inbox"), "", sqsBase()))
	queueName := strings.TrimPrefix(queue.Name, prefix)
	fifoQueue := deploy(t, p, component("SQS", unique("inbox"), ".fifo", sqsFIFO()))
	fifoQueueName := strings.TrimSuffix(strings.TrimPrefix(fifoQueue.Name, prefix), ".fifo")
	lambdaARN := "arn:aws:lambda:us-east-1:000000000000:function:" + prefix + "handler"
	// The topic gives the function a permission letting SNS invoke it: the function must exist
	// (made once: kumo's data outlives a test).
	if _, err := lambdaClient(t).GetFunction(t.Context(), &lambda.GetFunctionInput{FunctionName: aws.String(lambdaARN)}); err != nil {
		if _, err := lambdaClient(t).CreateFunction(t.Context(), &lambda.CreateFunctionInput{FunctionName: aws.String(prefix + "handler"),
			Runtime: ltypes.RuntimePython312, Handler: aws.String("index.handler"), Role: aws.String("arn:aws:iam::000000000000:role/fn"),
			Code: &ltypes.FunctionCode{ZipFile: []byte("zip")}}); err != nil {
			t.Fatal(err)
		}
	}
	withSub := func(s map[string]any) func() map[string]any {
		return func() map[string]any {
			b := snsBase()
			b["subscriptions"] = []any{s}
			return b
		}
	}
	emailSub := sub("email", "endpoint", "ops@example.com")
	queueKey := "sub sqs " + queue.ARN

	cases := []fieldCase{
		{name: "fifo", set: func(s map[string]any) { s["fifo"] = true }, want: view{"FifoTopic": "true"}, forceNew: true},
		{name: "contentBasedDeduplication", base: snsFIFO, set: func(s map[string]any) { s["contentBasedDeduplication"] = true },
			want: view{"FifoTopic": "true", "ContentBasedDeduplication": "true"}, drift: setTopicAttribute(c, "ContentBasedDeduplication", "false")},
		{name: "displayName", set: func(s map[string]any) { s["displayName"] = "Orders" },
			want: view{"DisplayName": "Orders"}, drift: setTopicAttribute(c, "DisplayName", "Something else")},
		{name: "kmsKey", set: func(s map[string]any) { s["kmsKey"] = "alias/panka-test" },
			want: view{"KmsMasterKeyId": "alias/panka-test"}, drift: setTopicAttribute(c, "KmsMasterKeyId", "")},
		{name: "subscriptions (endpoint)", set: func(s map[string]any) { s["subscriptions"] = []any{emailSub} },
			want: view{"sub email ops@example.com": "subscribed"}, drift: unsubscribeAll(c)},
		{name: "subscriptions (sqs target)", set: func(s map[string]any) { s["subscriptions"] = []any{sub("sqs", "target", queueName)} },
			want: view{queueKey: "subscribed"}, drift: unsubscribeAll(c)},
		{name: "subscriptions (lambda target)", set: func(s map[string]any) { s["subscriptions"] = []any{sub("lambda", "target", "handler")} },
			want: view{"sub lambda " + lambdaARN: "subscribed"}, drift: unsubscribeAll(c)},
		{name: "subscriptions (FIFO topic, FIFO queue)", base: snsFIFO, set: func(s map[string]any) { s["subscriptions"] = []any{sub("sqs", "target", fifoQueueName)} },
			want: view{"sub sqs " + fifoQueue.ARN: "subscribed"}},
		{name: "subscriptions[].rawMessageDelivery", base: withSub(sub("sqs", "target", queueName)), set: func(s map[string]any) {
			s["subscriptions"].([]any)[0].(map[string]any)["rawMessageDelivery"] = true
		}, want: view{queueKey + " RawMessageDelivery": "true"}, drift: setSubscriptionAttribute(c, "RawMessageDelivery", "false")},
		{name: "subscriptions[].filterPolicy", base: withSub(sub("sqs", "target", queueName)), set: func(s map[string]any) {
			s["subscriptions"].([]any)[0].(map[string]any)["filterPolicy"] = map[string]any{"store": []any{"example_corp"}, "size": []any{int64(3)}}
		}, want: view{queueKey + " FilterPolicy": `{"size":[3],"store":["example_corp"]}`, queueKey + " FilterPolicyScope": "MessageAttributes"},
			drift: setSubscriptionAttribute(c, "FilterPolicy", `{"store":["other"]}`)},
		{name: "subscriptions[].filterPolicyScope", base: withSub(sub("sqs", "target", queueName)), set: func(s map[string]any) {
			m := s["subscriptions"].([]any)[0].(map[string]any)
			m["filterPolicy"] = map[string]any{"order": map[string]any{"kind": []any{"big"}}}
			m["filterPolicyScope"] = "MessageBody"
		}, want: view{queueKey + " FilterPolicy": `{"order":{"kind":["big"]}}`, queueKey + " FilterPolicyScope": "MessageBody"},
			drift: setSubscriptionAttribute(c, "FilterPolicyScope", "MessageAttributes")},
		{name: "subscriptions[].endpoint", base: withSub(emailSub), set: func(s map[string]any) {
			s["subscriptions"] = []any{sub("email", "endpoint", "dev@example.com")}
		}, want: view{"sub email dev@example.com": "subscribed", "sub email ops@example.com": ""}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { checkFieldCase(t, p, "SNS", snsBase, snsSuffix, tc, snsView(c)) })
	}
}

// Subscriptions are parts of the topic: Read reports them sorted, Update adds, changes and
// removes exactly the ones that differ (an unchanged one keeps its ARN), a topic whose
// subscribing was cut short gets the rest at the next Update, and Delete removes them with it.
func TestSNSSubscriptionsArePartsOfTheTopic(t *testing.T) {
	ctx := t.Context()
	p := newProvider(t)
	c := sns.NewFromConfig(sdkConfig(t))
	queue := deploy(t, p, component("SQS", unique("inbox"), "", sqsBase()))
	queueName := strings.TrimPrefix(queue.Name, prefix)

	spec := snsBase()
	spec["subscriptions"] = []any{sub("sqs", "target", queueName), sub("email", "endpoint", "b@example.com"), sub("email", "endpoint", "a@example.com")}
	r := component("SNS", unique("events"), "", spec)
	obs := deploy(t, p, r)
	sorted := []any{sub("email", "endpoint", "a@example.com"), sub("email", "endpoint", "b@example.com"), sub("sqs", "target", queueName)}
	if diff := cmp.Diff(sorted, obs.Spec["subscriptions"]); diff != "" {
		t.Errorf("subscriptions read back (-want +got):\n%s", diff)
	}
	arns := func() map[string]string {
		out, err := c.ListSubscriptionsByTopic(ctx, &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(obs.ID)})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, s := range out.Subscriptions {
			m[aws.ToString(s.Endpoint)] = aws.ToString(s.SubscriptionArn)
		}
		return m
	}
	before := arns()

	// Drop a@, add c@, keep the others.
	r.Spec = snsBase()
	r.Spec["subscriptions"] = []any{sub("email", "endpoint", "c@example.com"), sub("email", "endpoint", "b@example.com"), sub("sqs", "target", queueName)}
	if _, err := p.Update(ctx, obs.ID, r, []string{"subscriptions"}); err != nil {
		t.Fatal(err)
	}
	after := arns()
	if _, ok := after["a@example.com"]; ok || after["c@example.com"] == "" {
		t.Errorf("subscriptions after Update: %v; want a@ gone and c@ there", after)
	}
	for _, kept := range []string{"b@example.com", queue.ARN} {
		if before[kept] != after[kept] {
			t.Errorf("the unchanged subscription to %s was made again (%s, then %s)", kept, before[kept], after[kept])
		}
	}

	// A create cut short after the topic: the next Update subscribes the rest.
	unsubscribeAll(c)(t, obs.ID)
	if _, err := p.Update(ctx, obs.ID, r, nil); err != nil {
		t.Fatal(err)
	}
	if got := len(arns()); got != 3 {
		t.Errorf("%d subscriptions after reconciling, want 3", got)
	}

	if err := p.Delete(ctx, obs.ID, r); err != nil {
		t.Fatal(err)
	}
	out, err := c.ListSubscriptions(ctx, &sns.ListSubscriptionsInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range out.Subscriptions {
		if aws.ToString(s.TopicArn) == obs.ID {
			t.Errorf("subscription %s outlived its topic", aws.ToString(s.SubscriptionArn))
		}
	}
}

// Tags changed behind Panka's back show in Read, and the next Update puts them back.
func TestTagDrift(t *testing.T) {
	p := newProvider(t)
	sqsc, snsc := sqsClient(t), sns.NewFromConfig(sdkConfig(t))
	for _, kind := range []string{"SQS", "SNS"} {
		t.Run(kind, func(t *testing.T) {
			base := sqsBase()
			if kind == "SNS" {
				base = snsBase()
			}
			r := component(kind, unique("tagged"), "", base)
			r.Tags["team"] = "orders"
			obs := deploy(t, p, r)
			var look func(*testing.T, string) view
			switch kind {
			case "SQS":
				look = sqsView(sqsc)
				if _, err := sqsc.TagQueue(t.Context(), &sqs.TagQueueInput{QueueUrl: aws.String(obs.ID), Tags: map[string]string{"team": "someone", "extra": "1"}}); err != nil {
					t.Fatal(err)
				}
			case "SNS":
				look = snsView(snsc)
				if _, err := snsc.TagResource(t.Context(), &sns.TagResourceInput{ResourceArn: aws.String(obs.ID), Tags: snsTags(map[string]string{"team": "someone", "extra": "1"})}); err != nil {
					t.Fatal(err)
				}
			}
			got, err := p.Read(t.Context(), kind, obs.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Tags["team"] != "someone" || got.Tags["extra"] != "1" {
				t.Fatalf("Read tags = %v; want the change made behind Panka's back", got.Tags)
			}
			if _, err := p.Update(t.Context(), obs.ID, r, []string{"tags.extra", "tags.team"}); err != nil {
				t.Fatal(err)
			}
			v := look(t, obs.ID)
			if v["tag:team"] != "orders" || v["tag:extra"] != "" {
				t.Errorf("tags after Update: %v", v)
			}
		})
	}
}

func snsTags(m map[string]string) []snstypes.Tag {
	var out []snstypes.Tag
	for k, v := range m {
		out = append(out, snstypes.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	return out
}
