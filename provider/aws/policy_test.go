package aws_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/panka/panka/provider"
	pankaaws "github.com/panka/panka/provider/aws"
)

// The resource policy statements consumers add to their targets (policy.go), read through the
// SDK, independently of the provider.

// statements returns the statements of a JSON policy ("" has none).
func statements(t *testing.T, doc string) []map[string]any {
	t.Helper()
	if doc == "" {
		return nil
	}
	var p struct{ Statement []map[string]any }
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		t.Fatalf("policy %q: %v", doc, err)
	}
	return p.Statement
}

func queuePolicy(t *testing.T, url string) []map[string]any {
	t.Helper()
	out, err := sqsClient(t).GetQueueAttributes(t.Context(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNamePolicy}})
	if err != nil {
		t.Fatal(err)
	}
	return statements(t, out.Attributes["Policy"])
}

func setQueuePolicy(t *testing.T, url string, stmts []map[string]any) {
	t.Helper()
	doc := ""
	if len(stmts) > 0 {
		doc = jsonText(map[string]any{"Version": "2012-10-17", "Statement": stmts})
	}
	if _, err := sqsClient(t).SetQueueAttributes(t.Context(), &sqs.SetQueueAttributesInput{QueueUrl: aws.String(url),
		Attributes: map[string]string{"Policy": doc}}); err != nil {
		t.Fatal(err)
	}
}

func topicPolicy(t *testing.T, arn string) []map[string]any {
	t.Helper()
	out, err := sns.NewFromConfig(sdkConfig(t)).GetTopicAttributes(t.Context(), &sns.GetTopicAttributesInput{TopicArn: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	return statements(t, out.Attributes["Policy"])
}

func bucketPolicy(t *testing.T, bucket string) []map[string]any {
	t.Helper()
	out, err := s3Client(t).GetBucketPolicy(t.Context(), &s3.GetBucketPolicyInput{Bucket: aws.String(bucket)})
	if absent(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return statements(t, aws.ToString(out.Policy))
}

func functionPolicy(t *testing.T, fn string) []map[string]any {
	t.Helper()
	out, err := lambdaClient(t).GetPolicy(t.Context(), &lambda.GetPolicyInput{FunctionName: aws.String(fn)})
	var nf *ltypes.ResourceNotFoundException
	if errors.As(err, &nf) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return statements(t, aws.ToString(out.Policy))
}

// pankaStatements returns the statements whose Sid starts with "Panka", without their Sids (a
// hash), keyed by their condition's source ARN.
func pankaStatements(stmts []map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, s := range stmts {
		sid, _ := s["Sid"].(string)
		if !strings.HasPrefix(sid, "Panka") {
			continue
		}
		s = clone(s)
		delete(s, "Sid")
		source := ""
		cond, _ := s["Condition"].(map[string]any)
		for _, c := range cond {
			for _, v := range c.(map[string]any) {
				source, _ = v.(string)
			}
		}
		out[source] = s
	}
	return out
}

func clone(s map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range s {
		out[k] = v
	}
	return out
}

func sids(stmts []map[string]any) []string {
	var out []string
	for _, s := range stmts {
		sid, _ := s["Sid"].(string)
		out = append(out, sid)
	}
	slices.Sort(out)
	return out
}

// statement is the statement a delivery of principal needs, as the policies hold it.
func statement(principal, action, resource, condition, key, source string) map[string]any {
	return map[string]any{"Effect": "Allow", "Principal": map[string]any{"Service": principal}, "Action": action, "Resource": resource,
		"Condition": map[string]any{condition: map[string]any{key: source}}}
}

func partsOf(obs *provider.Observed, typ string) []string {
	var out []string
	for _, p := range obs.Parts {
		if p.Type == typ {
			out = append(out, p.ID)
		}
	}
	return out
}

func wantStatements(t *testing.T, what string, got []map[string]any, want map[string]map[string]any) {
	t.Helper()
	if diff := cmp.Diff(want, pankaStatements(got)); diff != "" {
		t.Errorf("%s: Panka's statements (-want +got):\n%s\nall: %v", what, diff, got)
	}
}

func read(t *testing.T, p *pankaaws.Provider, kind, id string) *provider.Observed {
	t.Helper()
	obs, err := p.Read(t.Context(), kind, id)
	if err != nil {
		t.Fatal(err)
	}
	return obs
}

func update(t *testing.T, p *pankaaws.Provider, id string, r provider.Resource) *provider.Observed {
	t.Helper()
	obs, err := p.Update(t.Context(), id, r, nil)
	if err != nil {
		t.Fatalf("Update %s: %v", r.Name, err)
	}
	return obs
}

// An SNS subscription of a queue adds to the queue's policy a statement letting the topic send;
// another topic's statement and a statement Panka did not write stay as they are.
func TestSNSQueuePolicy(t *testing.T) {
	p := newProvider(t)
	queue := deploy(t, p, component("SQS", unique("q"), "", sqsBase()))
	qRef := strings.TrimPrefix(queue.Name, prefix)
	foreign := map[string]any{"Sid": "SomeoneElse", "Effect": "Allow", "Principal": map[string]any{"AWS": "arn:aws:iam::000000000000:root"},
		"Action": "sqs:ReceiveMessage", "Resource": queue.ARN}
	setQueuePolicy(t, queue.ID, []map[string]any{foreign})
	withSub := func() map[string]any {
		s := snsBase()
		s["subscriptions"] = l{sub("sqs", "target", qRef)}
		return s
	}
	sendFrom := func(topic string) map[string]any {
		return statement("sns.amazonaws.com", "sqs:SendMessage", queue.ARN, "ArnEquals", "aws:SourceArn", topic)
	}

	ra := component("SNS", unique("ta"), "", withSub())
	a := deploy(t, p, ra)
	wantStatements(t, "after Create", queuePolicy(t, queue.ID), map[string]map[string]any{a.ID: sendFrom(a.ID)})
	parts := partsOf(a, "AWS::SQS::QueuePolicy")
	if len(parts) != 1 || !strings.HasPrefix(parts[0], queue.ID+"#PankaSNS") {
		t.Errorf("parts %v, want the queue policy statement", a.Parts)
	}
	if sid := parts[0][len(queue.ID)+1:]; !slices.Contains(sids(queuePolicy(t, queue.ID)), sid) {
		t.Errorf("the part's Sid %s is not in the policy", sid)
	}

	// A second topic adds its own statement.
	rb := component("SNS", unique("tb"), "", withSub())
	b := deploy(t, p, rb)
	wantStatements(t, "with a second topic", queuePolicy(t, queue.ID), map[string]map[string]any{a.ID: sendFrom(a.ID), b.ID: sendFrom(b.ID)})

	// The statement deleted behind Panka's back is drift; Update adds it again.
	var rest []map[string]any
	for _, s := range queuePolicy(t, queue.ID) {
		if s["Sid"] != strings.TrimPrefix(parts[0], queue.ID+"#") {
			rest = append(rest, s)
		}
	}
	setQueuePolicy(t, queue.ID, rest)
	drifted := read(t, p, "SNS", a.ID)
	if cmp.Equal(ra.Spec, drifted.Spec, unsetIsAbsent) || len(partsOf(drifted, "AWS::SQS::QueuePolicy")) != 0 {
		t.Errorf("a statement deleted behind Panka's back does not show in Read: %v, parts %v", drifted.Spec, drifted.Parts)
	}
	if got := update(t, p, a.ID, ra); !cmp.Equal(ra.Spec, got.Spec, unsetIsAbsent) {
		t.Errorf("Update does not undo the drift: %s", cmp.Diff(ra.Spec, got.Spec, unsetIsAbsent))
	}
	wantStatements(t, "after undoing the drift", queuePolicy(t, queue.ID), map[string]map[string]any{a.ID: sendFrom(a.ID), b.ID: sendFrom(b.ID)})

	// A topic that no longer subscribes the queue removes its statement only.
	ra.Spec = snsBase()
	update(t, p, a.ID, ra)
	wantStatements(t, "after unsubscribing", queuePolicy(t, queue.ID), map[string]map[string]any{b.ID: sendFrom(b.ID)})

	// Delete removes the topic's statement; the statement Panka did not write stays.
	if err := p.Delete(t.Context(), b.ID, rb); err != nil {
		t.Fatal(err)
	}
	got := queuePolicy(t, queue.ID)
	if diff := cmp.Diff([]map[string]any{foreign}, got); diff != "" {
		t.Errorf("after Delete (-want +got):\n%s", diff)
	}
	// With no statement left, the queue has no policy.
	setQueuePolicy(t, queue.ID, nil)
	ra.Spec = withSub()
	update(t, p, a.ID, ra)
	if err := p.Delete(t.Context(), a.ID, ra); err != nil {
		t.Fatal(err)
	}
	if got := queuePolicy(t, queue.ID); got != nil {
		t.Errorf("policy after the last consumer's Delete: %v", got)
	}
}

// Topics subscribing one queue at once, in one process, keep every statement.
func TestConcurrentQueuePolicy(t *testing.T) {
	p := newProvider(t)
	queue := deploy(t, p, component("SQS", unique("q"), "", sqsBase()))
	spec := snsBase()
	spec["subscriptions"] = l{sub("sqs", "target", strings.TrimPrefix(queue.Name, prefix))}
	var wg sync.WaitGroup
	topics := make([]*provider.Observed, 8)
	for i := range topics {
		r := component("SNS", unique("tc"), "", spec)
		wg.Add(1)
		go func() {
			defer wg.Done()
			obs, err := p.Create(t.Context(), r)
			if err != nil {
				t.Errorf("Create: %v", err)
				return
			}
			topics[i] = obs
			t.Cleanup(func() { _ = p.Delete(t.Context(), obs.ID, r) })
		}()
	}
	wg.Wait()
	got := pankaStatements(queuePolicy(t, queue.ID))
	for _, obs := range topics {
		if obs != nil && got[obs.ID] == nil {
			t.Errorf("topic %s's statement was lost", obs.ID)
		}
	}
}

// EventBridge targets: a queue, a topic and a Lambda component (resolved by name, read back by
// it), and a dead-letter queue, each get the rule's statement.
func TestEventBridgeTargetPolicies(t *testing.T) {
	p := newProvider(t)
	ec := ebClient(t)
	queue := deploy(t, p, component("SQS", unique("q"), "", sqsBase()))
	dlq := deploy(t, p, component("SQS", unique("dlq"), "", sqsBase()))
	topic := deploy(t, p, component("SNS", unique("t"), "", snsBase()))
	fn, fnARN := function(t, lambdaClient(t))
	ref := func(o *provider.Observed) string { return strings.TrimPrefix(o.Name, prefix) }
	full := func() map[string]any {
		return m{"rules": l{m{"name": "paid", "eventPattern": m{"source": l{"shop"}}, "enabled": true, "targets": l{
			m{"target": ref(queue), "deadLetterQueue": ref(dlq)}, m{"target": ref(topic)}, m{"target": fn},
		}}}}
	}
	ruleARN := func(bus string) string {
		out, err := ec.ListRules(t.Context(), &eventbridge.ListRulesInput{EventBusName: aws.String(bus)})
		if err != nil || len(out.Rules) != 1 {
			t.Fatalf("ListRules %s: %v, %v", bus, out, err)
		}
		return aws.ToString(out.Rules[0].Arn)
	}
	sendFrom := func(q *provider.Observed, rule string) map[string]any {
		return statement("events.amazonaws.com", "sqs:SendMessage", q.ARN, "ArnEquals", "aws:SourceArn", rule)
	}
	publishFrom := func(rule string) map[string]any {
		return statement("events.amazonaws.com", "sns:Publish", topic.ID, "ArnEquals", "aws:SourceArn", rule)
	}
	invokeFrom := func(rule string) map[string]any {
		return statement("events.amazonaws.com", "lambda:InvokeFunction", fnARN, "ArnLike", "AWS:SourceArn", rule)
	}

	ra := component("EventBridge", unique("ba"), "", full())
	a := deploy(t, p, ra)
	ruleA := ruleARN(a.ID)
	if diff := cmp.Diff(ra.Spec, a.Spec, unsetIsAbsent); diff != "" {
		t.Errorf("Create returned spec (-applied +read):\n%s", diff)
	}
	if got := a.Spec["rules"].([]any)[0].(map[string]any)["targets"].([]any)[2].(map[string]any)["target"]; got != fn {
		t.Errorf("the Lambda target reads back as %v, want %s", got, fn)
	}
	targets, err := ec.ListTargetsByRule(t.Context(), &eventbridge.ListTargetsByRuleInput{Rule: aws.String("paid"), EventBusName: aws.String(a.ID)})
	if err != nil || len(targets.Targets) != 3 || aws.ToString(targets.Targets[2].Arn) != fnARN {
		t.Errorf("targets %+v, %v; want the function %s third", targets, err, fnARN)
	}
	wantStatements(t, "queue", queuePolicy(t, queue.ID), map[string]map[string]any{ruleA: sendFrom(queue, ruleA)})
	wantStatements(t, "dead-letter queue", queuePolicy(t, dlq.ID), map[string]map[string]any{ruleA: sendFrom(dlq, ruleA)})
	wantStatements(t, "topic", topicPolicy(t, topic.ID), map[string]map[string]any{ruleA: publishFrom(ruleA)})
	wantStatements(t, "function", functionPolicy(t, fnARN), map[string]map[string]any{ruleA: invokeFrom(ruleA)})
	if !slices.ContainsFunc(topicPolicy(t, topic.ID), func(s map[string]any) bool { return s["Sid"] == "__default_statement_ID" }) {
		t.Errorf("the topic's default statement went: %v", topicPolicy(t, topic.ID))
	}
	for typ, n := range map[string]int{"AWS::SQS::QueuePolicy": 2, "AWS::SNS::TopicPolicy": 1, "AWS::Lambda::Permission": 1} {
		if got := partsOf(a, typ); len(got) != n {
			t.Errorf("parts of type %s: %v, want %d", typ, got, n)
		}
	}

	// A second component with a rule sending to the queue adds its own statement.
	rb := component("EventBridge", unique("bb"), "", m{"rules": l{m{"name": "all", "eventPattern": m{"source": l{"shop"}}, "enabled": true,
		"targets": l{m{"target": ref(queue)}}}}})
	b := deploy(t, p, rb)
	ruleB := ruleARN(b.ID)
	wantStatements(t, "queue of two rules", queuePolicy(t, queue.ID), map[string]map[string]any{ruleA: sendFrom(queue, ruleA), ruleB: sendFrom(queue, ruleB)})

	// The function's permission removed behind Panka's back is drift; Update adds it again.
	sid := strings.TrimPrefix(partsOf(a, "AWS::Lambda::Permission")[0], fnARN+"#")
	if _, err := lambdaClient(t).RemovePermission(t.Context(), &lambda.RemovePermissionInput{FunctionName: aws.String(fnARN), StatementId: aws.String(sid)}); err != nil {
		t.Fatal(err)
	}
	drifted := read(t, p, "EventBridge", a.ID)
	if cmp.Equal(ra.Spec, drifted.Spec, unsetIsAbsent) || len(partsOf(drifted, "AWS::Lambda::Permission")) != 0 {
		t.Errorf("a permission removed behind Panka's back does not show in Read: %v", drifted.Spec)
	}
	if got := update(t, p, a.ID, ra); !cmp.Equal(ra.Spec, got.Spec, unsetIsAbsent) {
		t.Errorf("Update does not undo the drift: %s", cmp.Diff(ra.Spec, got.Spec, unsetIsAbsent))
	}
	wantStatements(t, "function after undoing the drift", functionPolicy(t, fnARN), map[string]map[string]any{ruleA: invokeFrom(ruleA)})
	// So is the dead-letter queue's statement.
	setQueuePolicy(t, dlq.ID, nil)
	if drifted := read(t, p, "EventBridge", a.ID); cmp.Equal(ra.Spec, drifted.Spec, unsetIsAbsent) {
		t.Error("a dead-letter queue's statement deleted behind Panka's back does not show in Read")
	}
	update(t, p, a.ID, ra)
	wantStatements(t, "dead-letter queue after undoing the drift", queuePolicy(t, dlq.ID), map[string]map[string]any{ruleA: sendFrom(dlq, ruleA)})

	// Targets the rule no longer has lose its statements; the queue's stays.
	ra.Spec = m{"rules": l{m{"name": "paid", "eventPattern": m{"source": l{"shop"}}, "enabled": true, "targets": l{m{"target": ref(queue)}}}}}
	update(t, p, a.ID, ra)
	wantStatements(t, "queue after the update", queuePolicy(t, queue.ID), map[string]map[string]any{ruleA: sendFrom(queue, ruleA), ruleB: sendFrom(queue, ruleB)})
	wantStatements(t, "dead-letter queue after the update", queuePolicy(t, dlq.ID), map[string]map[string]any{})
	wantStatements(t, "topic after the update", topicPolicy(t, topic.ID), map[string]map[string]any{})
	if got := functionPolicy(t, fnARN); got != nil {
		t.Errorf("function policy after the update: %v", got)
	}

	// Delete removes the statements; with none left the queue has no policy.
	for _, c := range []struct {
		r   provider.Resource
		obs *provider.Observed
	}{{ra, a}, {rb, b}} {
		if err := p.Delete(t.Context(), c.obs.ID, c.r); err != nil {
			t.Fatal(err)
		}
	}
	if got := queuePolicy(t, queue.ID); got != nil {
		t.Errorf("queue policy after Delete: %v", got)
	}
	if got := topicPolicy(t, topic.ID); len(got) != 1 || got[0]["Sid"] != "__default_statement_ID" {
		t.Errorf("topic policy after Delete: %v, want SNS's default", got)
	}
}

// A rule on the default bus names its statements after its own ARN too.
func TestEventBridgeDefaultBusQueuePolicy(t *testing.T) {
	p := newProvider(t)
	queue := deploy(t, p, component("SQS", unique("q"), "", sqsBase()))
	r := component("EventBridge", unique("bd"), "", m{"bus": "default", "rules": l{m{"name": "paid", "eventPattern": m{"source": l{"shop"}}, "enabled": true,
		"targets": l{m{"target": strings.TrimPrefix(queue.Name, prefix)}}}}})
	obs := deploy(t, p, r)
	got := pankaStatements(queuePolicy(t, queue.ID))
	if len(got) != 1 {
		t.Fatalf("statements %v, want one", got)
	}
	// The rule's ARN as EventBridge gives it (kumo names a default bus rule "rule/default/NAME",
	// AWS "rule/NAME": the statement takes whichever the service says).
	rules, err := ebClient(t).ListRules(t.Context(), &eventbridge.ListRulesInput{NamePrefix: aws.String(r.Name + ".")})
	if err != nil || len(rules.Rules) != 1 {
		t.Fatalf("ListRules: %v, %v", rules, err)
	}
	if arn := aws.ToString(rules.Rules[0].Arn); got[arn] == nil {
		t.Errorf("statements %v, want one for the rule %s", got, arn)
	}
	if len(partsOf(obs, "AWS::SQS::QueuePolicy")) != 1 {
		t.Errorf("parts %v", obs.Parts)
	}
}

// A Lambda component of another service resolves by the naming rule and reads back as its
// address.
func TestEventBridgeQualifiedLambdaTarget(t *testing.T) {
	p := newProvider(t)
	fc := lambdaClient(t)
	comp := unique("charge")
	fn, err := fc.CreateFunction(t.Context(), &lambda.CreateFunctionInput{FunctionName: aws.String("acme-shop-dev-billing-" + comp), Runtime: ltypes.RuntimePython312,
		Handler: aws.String("index.handler"), Role: aws.String("arn:aws:iam::000000000000:role/fn"), Code: &ltypes.FunctionCode{ZipFile: []byte("zip")},
		Tags: map[string]string{"panka:tenant": "acme", "panka:stack": "shop", "panka:environment": "dev", "panka:address": "billing/" + comp}})
	if err != nil {
		t.Fatal(err)
	}
	r := component("EventBridge", unique("bq"), "", m{"rules": l{m{"name": "paid", "eventPattern": m{"source": l{"shop"}}, "enabled": true,
		"targets": l{m{"target": "billing/" + comp}}}}})
	obs := deploy(t, p, r)
	if diff := cmp.Diff(r.Spec, obs.Spec, unsetIsAbsent); diff != "" {
		t.Errorf("read back (-applied +read):\n%s", diff)
	}
	if got := partsOf(obs, "AWS::Lambda::Permission"); len(got) != 1 || !strings.HasPrefix(got[0], aws.ToString(fn.FunctionArn)+"#PankaEvents") {
		t.Errorf("permission parts %v", got)
	}
	// A name that is no queue, topic, bus or function is an error naming it.
	r2 := component("EventBridge", unique("bn"), "", m{"rules": l{m{"name": "paid", "eventPattern": m{"source": l{"shop"}}, "enabled": true,
		"targets": l{m{"target": "nothing"}}}}})
	if _, err := p.Create(t.Context(), r2); err == nil || !strings.Contains(err.Error(), "nothing") || !strings.Contains(err.Error(), "Lambda function") {
		t.Errorf("Create with a target that does not exist: %v", err)
	}
}

// A CloudFront S3 origin read through the OAC adds the bucket policy statement letting the
// distribution read.
func TestCloudFrontBucketPolicy(t *testing.T) {
	p := newProvider(t)
	bucket := deploy(t, p, component("S3", unique("site"), "", s3Spec()))
	withBucket := func() map[string]any {
		s := cfBase()
		s["origins"] = l{m{"id": "web", "s3": strings.TrimPrefix(bucket.Name, prefix), "originAccessControl": true}}
		return s
	}
	readFrom := func(dist string) map[string]any {
		return statement("cloudfront.amazonaws.com", "s3:GetObject", fmt.Sprintf("arn:aws:s3:::%s/*", bucket.ID), "StringEquals", "AWS:SourceArn", dist)
	}
	ra := component("CloudFront", unique("cdna"), "", withBucket())
	a := deploy(t, p, ra)
	wantStatements(t, "after Create", bucketPolicy(t, bucket.ID), map[string]map[string]any{a.ARN: readFrom(a.ARN)})
	if got := partsOf(a, "AWS::S3::BucketPolicy"); len(got) != 1 || !strings.HasPrefix(got[0], bucket.ID+"#PankaCloudFront") {
		t.Errorf("parts %v", a.Parts)
	}

	rb := component("CloudFront", unique("cdnb"), "", withBucket())
	b := deploy(t, p, rb)
	wantStatements(t, "with a second distribution", bucketPolicy(t, bucket.ID), map[string]map[string]any{a.ARN: readFrom(a.ARN), b.ARN: readFrom(b.ARN)})

	// The policy deleted behind Panka's back is drift; Update adds the statement again.
	if _, err := s3Client(t).DeleteBucketPolicy(t.Context(), &s3.DeleteBucketPolicyInput{Bucket: aws.String(bucket.ID)}); err != nil {
		t.Fatal(err)
	}
	drifted := read(t, p, "CloudFront", a.ID)
	if cmp.Equal(ra.Spec, drifted.Spec, unsetIsAbsent) || len(partsOf(drifted, "AWS::S3::BucketPolicy")) != 0 {
		t.Errorf("a statement deleted behind Panka's back does not show in Read: %v", drifted.Spec)
	}
	if got := update(t, p, a.ID, ra); !cmp.Equal(ra.Spec, got.Spec, unsetIsAbsent) {
		t.Errorf("Update does not undo the drift: %s", cmp.Diff(ra.Spec, got.Spec, unsetIsAbsent))
	}
	update(t, p, b.ID, rb)
	wantStatements(t, "after undoing the drift", bucketPolicy(t, bucket.ID), map[string]map[string]any{a.ARN: readFrom(a.ARN), b.ARN: readFrom(b.ARN)})

	// A distribution without the S3 origin removes its statement only.
	ra.Spec = cfBase()
	update(t, p, a.ID, ra)
	wantStatements(t, "after removing the origin", bucketPolicy(t, bucket.ID), map[string]map[string]any{b.ARN: readFrom(b.ARN)})

	// Delete removes the last statement: the bucket has no policy.
	if err := p.Delete(t.Context(), b.ID, rb); err != nil {
		t.Fatal(err)
	}
	if got := bucketPolicy(t, bucket.ID); got != nil {
		t.Errorf("bucket policy after Delete: %v", got)
	}
}

// A target in another account is its owner's to grant: Panka adds no statement there (it could
// neither read nor write the policy), and reads no drift.
func TestPolicyOfAnotherAccountsTarget(t *testing.T) {
	p := newProvider(t)
	other := "arn:aws:sqs:us-east-1:111111111111:" + unique("theirs")
	r := component("EventBridge", unique("bx"), "", m{"rules": l{m{"name": "paid", "eventPattern": m{"source": l{"shop"}}, "enabled": true,
		"targets": l{m{"target": other}}}}})
	obs := deploy(t, p, r)
	if diff := cmp.Diff(r.Spec, obs.Spec, unsetIsAbsent); diff != "" {
		t.Errorf("read back (-applied +read):\n%s", diff)
	}
	if len(obs.Parts) != 0 {
		t.Errorf("parts %v, want none", obs.Parts)
	}
}

// The statements of a consumer that is gone (deleted behind Panka's back, here) are deleted by
// DeleteParts, from the parts the engine recorded; a second call finds nothing to do, and a
// statement with another Sid stays.
func TestDeletePartsRemovesStatements(t *testing.T) {
	p := newProvider(t)
	ctx := t.Context()
	queue := deploy(t, p, component("SQS", unique("q"), "", sqsBase()))
	foreign := map[string]any{"Sid": "SomeoneElse", "Effect": "Allow", "Principal": map[string]any{"AWS": "arn:aws:iam::000000000000:root"},
		"Action": "sqs:ReceiveMessage", "Resource": queue.ARN}
	setQueuePolicy(t, queue.ID, []map[string]any{foreign})
	qRef := strings.TrimPrefix(queue.Name, prefix)

	spec := snsBase()
	spec["subscriptions"] = l{sub("sqs", "target", qRef)}
	topic, err := p.Create(ctx, component("SNS", unique("tg"), "", spec))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sns.NewFromConfig(sdkConfig(t)).DeleteTopic(ctx, &sns.DeleteTopicInput{TopicArn: aws.String(topic.ID)}); err != nil {
		t.Fatal(err)
	}
	topicOwner := deploy(t, p, component("SNS", unique("t"), "", snsBase()))
	fn, fnARN := function(t, lambdaClient(t))
	bus, err := p.Create(ctx, component("EventBridge", unique("bg"), "", m{"rules": l{m{"name": "paid", "eventPattern": m{"source": l{"shop"}}, "enabled": true,
		"targets": l{m{"target": qRef}, m{"target": strings.TrimPrefix(topicOwner.Name, prefix)}, m{"target": fn}}}}}))
	if err != nil {
		t.Fatal(err)
	}
	ec := ebClient(t)
	if _, err := ec.RemoveTargets(ctx, &eventbridge.RemoveTargetsInput{Rule: aws.String("paid"), EventBusName: aws.String(bus.ID), Ids: []string{"0", "1", "2"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := ec.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: aws.String("paid"), EventBusName: aws.String(bus.ID)}); err != nil {
		t.Fatal(err)
	}
	if _, err := ec.DeleteEventBus(ctx, &eventbridge.DeleteEventBusInput{Name: aws.String(bus.ID)}); err != nil {
		t.Fatal(err)
	}
	if n := len(pankaStatements(queuePolicy(t, queue.ID))); n != 2 {
		t.Fatalf("%d statements of Panka's before DeleteParts, want the topic's and the rule's", n)
	}
	for range 2 {
		if err := p.DeleteParts(ctx, provider.Resource{Kind: "SNS"}, topic.Parts); err != nil {
			t.Fatalf("DeleteParts SNS: %v", err)
		}
		if err := p.DeleteParts(ctx, provider.Resource{Kind: "EventBridge"}, bus.Parts); err != nil {
			t.Fatalf("DeleteParts EventBridge: %v", err)
		}
	}
	if diff := cmp.Diff([]map[string]any{foreign}, queuePolicy(t, queue.ID)); diff != "" {
		t.Errorf("queue policy after DeleteParts (-want +got):\n%s", diff)
	}
	if got := pankaStatements(topicPolicy(t, topicOwner.ID)); len(got) != 0 {
		t.Errorf("topic statements after DeleteParts: %v", got)
	}
	if got := functionPolicy(t, fnARN); got != nil {
		t.Errorf("function policy after DeleteParts: %v", got)
	}
	// A part that is no statement of Panka's is an error, and changes nothing.
	err = p.DeleteParts(ctx, provider.Resource{Kind: "SNS"}, []provider.Part{{Type: "AWS::SQS::QueuePolicy", ID: queue.ID + "#SomeoneElse"}})
	if err == nil || len(queuePolicy(t, queue.ID)) != 1 {
		t.Errorf("DeleteParts of another's statement: %v, policy %v", err, queuePolicy(t, queue.ID))
	}
	if err := p.DeleteParts(ctx, provider.Resource{Kind: "SNS"}, []provider.Part{{Type: "AWS::S3::BucketPolicy", ID: "b#PankaX"}}); err == nil {
		t.Error("DeleteParts SNS of a bucket policy statement: no error")
	}
}

// DeleteParts removes a distribution's bucket policy statement.
func TestDeletePartsRemovesBucketStatement(t *testing.T) {
	p := newProvider(t)
	bucket := deploy(t, p, component("S3", unique("site"), "", s3Spec()))
	spec := cfBase()
	spec["origins"] = l{m{"id": "web", "s3": strings.TrimPrefix(bucket.Name, prefix), "originAccessControl": true}}
	dist := deploy(t, p, component("CloudFront", unique("cdng"), "", spec))
	var parts []provider.Part
	for _, part := range dist.Parts {
		if part.Type == "AWS::S3::BucketPolicy" {
			parts = append(parts, part)
		}
	}
	if len(parts) != 1 || len(bucketPolicy(t, bucket.ID)) != 1 {
		t.Fatalf("parts %v, policy %v", dist.Parts, bucketPolicy(t, bucket.ID))
	}
	for range 2 {
		if err := p.DeleteParts(t.Context(), provider.Resource{Kind: "CloudFront"}, parts); err != nil {
			t.Fatalf("DeleteParts: %v", err)
		}
	}
	if got := bucketPolicy(t, bucket.ID); got != nil {
		t.Errorf("bucket policy after DeleteParts: %v", got)
	}
}

// A statement that cannot be written fails the consumer's Create with an error naming the
// consumer and the target.
func TestPolicyErrorNamesConsumerAndTarget(t *testing.T) {
	p := newProvider(t)
	missing := "arn:aws:sqs:us-east-1:000000000000:" + unique("missing")
	r := component("EventBridge", unique("be"), "", m{"rules": l{m{"name": "paid", "eventPattern": m{"source": l{"shop"}}, "enabled": true,
		"targets": l{m{"target": missing}}}}})
	_, err := p.Create(t.Context(), r)
	if err == nil || !strings.Contains(err.Error(), "rule/"+r.Name+"/paid") || !strings.Contains(err.Error(), "queue "+missing) {
		t.Errorf("Create with a queue that does not exist: %v; want an error naming the rule and the queue", err)
	}
	if obs, err := p.Find(t.Context(), r); err == nil {
		_ = p.Delete(t.Context(), obs.ID, r)
	}
}

// An SNS subscription of a Lambda function gives the function a permission letting the topic
// invoke it.
func TestSNSLambdaPermission(t *testing.T) {
	p := newProvider(t)
	fn, fnARN := function(t, lambdaClient(t))
	spec := snsBase()
	spec["subscriptions"] = l{sub("lambda", "target", fn)}
	r := component("SNS", unique("tl"), "", spec)
	topic := deploy(t, p, r)
	invokeFrom := statement("sns.amazonaws.com", "lambda:InvokeFunction", fnARN, "ArnLike", "AWS:SourceArn", topic.ID)
	wantStatements(t, "after Create", functionPolicy(t, fnARN), map[string]map[string]any{topic.ID: invokeFrom})
	parts := partsOf(topic, "AWS::Lambda::Permission")
	if len(parts) != 1 || !strings.HasPrefix(parts[0], fnARN+"#PankaSNS") {
		t.Fatalf("parts %v", topic.Parts)
	}
	if _, err := lambdaClient(t).RemovePermission(t.Context(), &lambda.RemovePermissionInput{FunctionName: aws.String(fnARN),
		StatementId: aws.String(strings.TrimPrefix(parts[0], fnARN+"#"))}); err != nil {
		t.Fatal(err)
	}
	if drifted := read(t, p, "SNS", topic.ID); cmp.Equal(r.Spec, drifted.Spec, unsetIsAbsent) {
		t.Error("a permission removed behind Panka's back does not show in Read")
	}
	if got := update(t, p, topic.ID, r); !cmp.Equal(r.Spec, got.Spec, unsetIsAbsent) {
		t.Errorf("Update does not undo the drift: %s", cmp.Diff(r.Spec, got.Spec, unsetIsAbsent))
	}
	wantStatements(t, "after undoing the drift", functionPolicy(t, fnARN), map[string]map[string]any{topic.ID: invokeFrom})
	if err := p.Delete(t.Context(), topic.ID, r); err != nil {
		t.Fatal(err)
	}
	if got := functionPolicy(t, fnARN); got != nil {
		t.Errorf("function policy after Delete: %v", got)
	}
}
