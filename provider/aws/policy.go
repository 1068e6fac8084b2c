package aws

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/panka/panka/provider"
)

// Resource policies: a component that delivers to another (an SNS subscription of a queue, an
// EventBridge target, a CloudFront origin reading a bucket) needs a statement in the target's
// resource policy letting the service deliver. The consumer owns its statement; the kind that
// owns the target manages no policy. A statement is a grant: the target, and a Sid derived
// from the consumer's ARN (the topic, the rule, the distribution), so every consumer of one
// target has a statement of its own and finds it again by name.
//
// The consumer adds its statement after it starts delivering (so a crash halfway leaves a
// consumer whose statement is missing, which Read reports as drift, not a statement nobody
// owns), and removes it before it stops (so a crash halfway leaves a consumer that still
// delivers, which the next apply removes). Every change is a read-modify-write of the whole
// policy that leaves every statement with another Sid as it is: under a lock per target in the
// Provider, so two consumers in one process do not lose each other's statement. Across
// processes Panka's state lock serializes the runs of one stack; two stacks changing the policy
// of one target at the same moment can still lose a statement (AWS has no conditional write of
// a queue, topic or bucket policy): the next apply of the loser's stack sees it as drift and
// adds it again. Lambda permissions are added and removed one statement at a time by AWS
// itself (AddPermission, RemovePermission), with no such race.

// grantKind is the kind of policy a grant is a statement of.
type grantKind int

const (
	grantQueue    grantKind = iota // an SQS queue's Policy attribute; target: the queue ARN
	grantTopic                     // an SNS topic's Policy attribute; target: the topic ARN
	grantBucket                    // an S3 bucket policy; target: the bucket name
	grantFunction                  // a Lambda function's policy (AddPermission); target: its ARN
)

// Services the statements let deliver.
const (
	principalSNS        = "sns.amazonaws.com"
	principalEvents     = "events.amazonaws.com"
	principalCloudFront = "cloudfront.amazonaws.com"
	principalELBLogs    = "logdelivery.elasticloadbalancing.amazonaws.com"
)

// grant is one statement a consumer needs in a target's resource policy.
type grant struct {
	kind      grantKind
	target    string // see grantKind
	url       string // a queue's URL when known (a part's ID), else found from target
	sid       string
	principal string // the service principal
	source    string // the consumer's ARN: the condition's aws:SourceArn ("" for none)
	// A bucket statement's action and the objects it covers, under BUCKET/: s3:GetObject on "*"
	// when not set.
	action, objects string
}

func (g grant) key() string { return fmt.Sprint(g.kind) + " " + g.target + "#" + g.sid }

// what names the grant's target in errors and parts.
func (g grant) what() string {
	switch g.kind {
	case grantQueue:
		return "queue " + g.target
	case grantTopic:
		return "topic " + g.target
	case grantBucket:
		return "bucket " + g.target
	}
	return "function " + g.target
}

// grantStatus is what a grant's target says of it.
type grantStatus int

const (
	grantPresent  grantStatus = iota // the statement is there
	grantMissing                     // the target is there, the statement is not: drift
	grantNoTarget                    // the target does not exist
)

// policySid returns the Sid of the statement the consumer with ARN consumer adds to its
// targets' policies: "Panka", the consumer's service, and a hash of its ARN. Letters and digits
// only: what IAM documents for a Sid, and within Lambda's StatementId rules.
func policySid(service, consumer string) string {
	h := fnv.New64a()
	h.Write([]byte(consumer))
	return fmt.Sprintf("Panka%s%016x", service, h.Sum64())
}

// statement returns the policy statement g stands for (not used for Lambda permissions, which
// AWS writes from AddPermission's fields).
func (g grant) statement(partition string) map[string]any {
	st := map[string]any{
		"Sid": g.sid, "Effect": "Allow", "Principal": map[string]any{"Service": g.principal},
	}
	switch g.kind {
	case grantQueue:
		st["Action"], st["Resource"] = "sqs:SendMessage", g.target
		st["Condition"] = map[string]any{"ArnEquals": map[string]any{"aws:SourceArn": g.source}}
	case grantTopic:
		st["Action"], st["Resource"] = "sns:Publish", g.target
		st["Condition"] = map[string]any{"ArnEquals": map[string]any{"aws:SourceArn": g.source}}
	case grantBucket:
		action, objects := g.action, g.objects
		if action == "" {
			action, objects = "s3:GetObject", "*"
		}
		st["Action"], st["Resource"] = action, "arn:"+partition+":s3:::"+g.target+"/"+objects
		if g.source != "" {
			st["Condition"] = map[string]any{"StringEquals": map[string]any{"AWS:SourceArn": g.source}}
		}
	}
	return st
}

// policyDoc is a JSON resource policy: its statements as they are (raw), and every other field.
type policyDoc struct {
	fields     map[string]json.RawMessage
	statements []json.RawMessage
}

func parsePolicy(doc string) (*policyDoc, error) {
	p := &policyDoc{fields: map[string]json.RawMessage{}}
	if strings.TrimSpace(doc) == "" {
		return p, nil
	}
	if err := json.Unmarshal([]byte(doc), &p.fields); err != nil {
		return nil, fmt.Errorf("policy is not a JSON object: %w", err)
	}
	raw, ok := p.fields["Statement"]
	delete(p.fields, "Statement")
	if !ok {
		return p, nil
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '{' { // a single statement, not in a list
		p.statements = []json.RawMessage{raw}
		return p, nil
	}
	if err := json.Unmarshal(raw, &p.statements); err != nil {
		return nil, fmt.Errorf("policy's Statement: %w", err)
	}
	return p, nil
}

// sidOf returns the Sid of a raw statement ("" if it has none, or is no object).
func sidOf(raw json.RawMessage) string {
	var s struct{ Sid string }
	_ = json.Unmarshal(raw, &s)
	return s.Sid
}

// find returns the statement sid, nil if there is none.
func (p *policyDoc) find(sid string) json.RawMessage {
	for _, s := range p.statements {
		if sidOf(s) == sid {
			return s
		}
	}
	return nil
}

// String returns the policy as JSON, "" when it has no statement left.
func (p *policyDoc) String() string {
	if len(p.statements) == 0 {
		return ""
	}
	m := map[string]any{}
	for k, v := range p.fields {
		m[k] = v
	}
	if _, ok := m["Version"]; !ok {
		m["Version"] = "2012-10-17"
	}
	m["Statement"] = p.statements
	out, _ := json.Marshal(m) // raw messages and strings: cannot fail
	return string(out)
}

// putStatement returns doc with the statement st (identified by its Sid) added or replacing the
// one of that Sid, every other statement as it was; changed is false when doc had st already.
func putStatement(doc string, st map[string]any) (out string, changed bool, err error) {
	p, err := parsePolicy(doc)
	if err != nil {
		return "", false, err
	}
	sid, _ := st["Sid"].(string)
	raw, err := json.Marshal(st)
	if err != nil {
		return "", false, err
	}
	if have := p.find(sid); have != nil && sameJSON(have, raw) {
		return doc, false, nil
	}
	replaced := false
	for i, s := range p.statements {
		if sidOf(s) == sid {
			if replaced {
				p.statements[i] = nil // a duplicate Sid: keep one
				continue
			}
			p.statements[i], replaced = raw, true
		}
	}
	if !replaced {
		p.statements = append(p.statements, raw)
	}
	p.statements = compact(p.statements)
	return p.String(), true, nil
}

// removeStatement returns doc without the statement sid ("" when no statement is left);
// changed is false when doc had none.
func removeStatement(doc, sid string) (out string, changed bool, err error) {
	p, err := parsePolicy(doc)
	if err != nil {
		return "", false, err
	}
	if p.find(sid) == nil {
		return doc, false, nil
	}
	for i, s := range p.statements {
		if sidOf(s) == sid {
			p.statements[i] = nil
		}
	}
	p.statements = compact(p.statements)
	return p.String(), true, nil
}

// hasStatement reports whether doc has a statement sid.
func hasStatement(doc, sid string) (bool, error) {
	p, err := parsePolicy(doc)
	if err != nil {
		return false, err
	}
	return p.find(sid) != nil, nil
}

func compact(list []json.RawMessage) []json.RawMessage {
	out := list[:0]
	for _, s := range list {
		if s != nil {
			out = append(out, s)
		}
	}
	return out
}

func sameJSON(a, b []byte) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && reflect.DeepEqual(x, y)
}

// policies are the clients and locks the grants of every kind share.
type policies struct {
	p   *Provider
	sqs *sqs.Client
	sns *sns.Client
	s3  *s3.Client
	fn  *lambda.Client
	mu  [64]sync.Mutex // one read-modify-write of a target's policy at a time
}

func newPolicies(p *Provider) *policies {
	return &policies{p: p, sqs: sqs.NewFromConfig(p.cfg), sns: sns.NewFromConfig(p.cfg), fn: lambda.NewFromConfig(p.cfg),
		s3: s3.NewFromConfig(p.cfg, func(o *s3.Options) {
			o.UsePathStyle = p.cfg.BaseEndpoint != nil && *p.cfg.BaseEndpoint != "" // as the S3 kind's
		})}
}

func (ps *policies) lock(g grant) func() {
	name := g.target
	if g.kind == grantQueue { // by ARN or by URL: by name
		name = arnResource(g.target)
		if g.url != "" {
			name = queueNameOf(g.url)
		}
	}
	mu := &ps.mu[nameHash(fmt.Sprint(g.kind), name)]
	mu.Lock()
	return mu.Unlock
}

// errNoTarget says a grant's target does not exist.
var errNoTarget = errors.New("does not exist")

// queueURLOf returns the URL of the queue arn (of any account).
func (ps *policies) queueURLOf(ctx context.Context, arn string) (string, error) {
	in := &sqs.GetQueueUrlInput{QueueName: aws.String(arnResource(arn))}
	if parts := strings.Split(arn, ":"); len(parts) == 6 && parts[4] != "" {
		in.QueueOwnerAWSAccountId = aws.String(parts[4])
	}
	out, err := ps.sqs.GetQueueUrl(ctx, in)
	if isNotFound(err) {
		return "", errNoTarget
	}
	if err != nil {
		return "", err
	}
	return aws.ToString(out.QueueUrl), nil
}

// read returns the policy of g's target ("" for none) and the ID its part is known by.
func (ps *policies) read(ctx context.Context, g grant) (doc, id string, err error) {
	switch g.kind {
	case grantQueue:
		url := g.url
		if url == "" {
			var err error
			if url, err = ps.queueURLOf(ctx, g.target); err != nil {
				return "", "", err
			}
		}
		out, err := ps.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
			AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNamePolicy}})
		if isNotFound(err) {
			return "", "", errNoTarget
		}
		if err != nil {
			return "", "", err
		}
		return out.Attributes[string(sqstypes.QueueAttributeNamePolicy)], url, nil
	case grantTopic:
		out, err := ps.sns.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String(g.target)})
		if isNotFound(err) {
			return "", "", errNoTarget
		}
		if err != nil {
			return "", "", err
		}
		return out.Attributes["Policy"], g.target, nil
	case grantBucket:
		out, err := ps.s3.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(g.target)})
		if s3Absent(err, "NoSuchBucketPolicy") {
			return "", g.target, nil
		}
		if isNotFound(err) {
			return "", "", errNoTarget
		}
		if err != nil {
			return "", "", err
		}
		return aws.ToString(out.Policy), g.target, nil
	}
	out, err := ps.fn.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String(g.target)})
	if isNotFound(err) {
		// No policy, or no function: GetFunction tells which.
		if _, ferr := ps.fn.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(g.target)}); isNotFound(ferr) {
			return "", "", errNoTarget
		} else if ferr != nil {
			return "", "", ferr
		}
		return "", g.target, nil
	}
	if err != nil {
		return "", "", err
	}
	return aws.ToString(out.Policy), g.target, nil
}

// write makes doc the policy of g's target (id as read gives it); "" removes the policy.
func (ps *policies) write(ctx context.Context, g grant, id, doc string) error {
	switch g.kind {
	case grantQueue:
		_, err := ps.sqs.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(id),
			Attributes: map[string]string{string(sqstypes.QueueAttributeNamePolicy): doc}})
		return err
	case grantTopic:
		if doc == "" {
			// A topic always has a policy: without Panka's statement it gets SNS's default back.
			doc = ps.defaultTopicPolicy(g.target)
		}
		_, err := ps.sns.SetTopicAttributes(ctx, &sns.SetTopicAttributesInput{TopicArn: aws.String(g.target),
			AttributeName: aws.String("Policy"), AttributeValue: aws.String(doc)})
		return err
	case grantBucket:
		if doc == "" {
			_, err := ps.s3.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: aws.String(g.target)})
			return err
		}
		_, err := ps.s3.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(g.target), Policy: aws.String(doc)})
		return err
	}
	return fmt.Errorf("a Lambda function's policy is not written whole")
}

// defaultTopicPolicy is the policy SNS gives a new topic: its account may manage and publish.
func (ps *policies) defaultTopicPolicy(arn string) string {
	account := ""
	if parts := strings.Split(arn, ":"); len(parts) == 6 {
		account = parts[4]
	}
	doc, _ := json.Marshal(map[string]any{
		"Version": "2008-10-17", "Id": "__default_policy_ID",
		"Statement": []any{map[string]any{
			"Sid": "__default_statement_ID", "Effect": "Allow", "Principal": map[string]any{"AWS": "*"},
			"Action": []any{"SNS:GetTopicAttributes", "SNS:SetTopicAttributes", "SNS:AddPermission", "SNS:RemovePermission",
				"SNS:DeleteTopic", "SNS:Subscribe", "SNS:ListSubscriptionsByTopic", "SNS:Publish"},
			"Resource":  arn,
			"Condition": map[string]any{"StringEquals": map[string]any{"AWS:SourceOwner": account}},
		}},
	})
	return string(doc)
}

// status reports whether g's statement is in its target's policy, and the part it is.
func (ps *policies) status(ctx context.Context, g grant) (grantStatus, provider.Part, error) {
	doc, id, err := ps.read(ctx, g)
	if errors.Is(err, errNoTarget) {
		return grantNoTarget, provider.Part{}, nil
	}
	if err != nil {
		return 0, provider.Part{}, fmt.Errorf("policy of %s: %w", g.what(), err)
	}
	has, err := hasStatement(doc, g.sid)
	if err != nil {
		return 0, provider.Part{}, fmt.Errorf("policy of %s: %w", g.what(), err)
	}
	if !has {
		return grantMissing, provider.Part{}, nil
	}
	return grantPresent, g.part(id), nil
}

func (g grant) part(id string) provider.Part {
	t := map[grantKind]string{grantQueue: "AWS::SQS::QueuePolicy", grantTopic: "AWS::SNS::TopicPolicy",
		grantBucket: "AWS::S3::BucketPolicy", grantFunction: "AWS::Lambda::Permission"}[g.kind]
	return provider.Part{Type: t, ID: id + "#" + g.sid}
}

// ensure adds g's statement to its target's policy, or makes the statement of its Sid g's.
func (ps *policies) ensure(ctx context.Context, g grant) error {
	defer ps.lock(g)()
	doc, id, err := ps.read(ctx, g)
	if err != nil {
		return fmt.Errorf("policy of %s: %w", g.what(), err)
	}
	if g.kind == grantFunction {
		if has, err := hasStatement(doc, g.sid); err != nil || has {
			return err
		}
		_, err := ps.fn.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: aws.String(g.target), StatementId: aws.String(g.sid),
			Action: aws.String("lambda:InvokeFunction"), Principal: aws.String(g.principal), SourceArn: aws.String(g.source)})
		if err != nil {
			return fmt.Errorf("permission for %s to invoke %s: %w", g.principal, g.target, err)
		}
		return nil
	}
	out, changed, err := putStatement(doc, g.statement(ps.p.partition()))
	if err != nil {
		return fmt.Errorf("policy of %s: %w", g.what(), err)
	}
	if !changed {
		return nil
	}
	if err := ps.write(ctx, g, id, out); err != nil {
		return fmt.Errorf("add statement %s to the policy of %s: %w", g.sid, g.what(), err)
	}
	return nil
}

// revoke removes g's statement from its target's policy; a target that is gone has none.
func (ps *policies) revoke(ctx context.Context, g grant) error {
	defer ps.lock(g)()
	if g.kind == grantFunction {
		_, err := ps.fn.RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: aws.String(g.target), StatementId: aws.String(g.sid)})
		if err != nil && !isNotFound(err) {
			return fmt.Errorf("remove permission %s from function %s: %w", g.sid, g.target, err)
		}
		return nil
	}
	doc, id, err := ps.read(ctx, g)
	if errors.Is(err, errNoTarget) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("policy of %s: %w", g.what(), err)
	}
	out, changed, err := removeStatement(doc, g.sid)
	if err != nil {
		return fmt.Errorf("policy of %s: %w", g.what(), err)
	}
	if !changed {
		return nil
	}
	if err := ps.write(ctx, g, id, out); err != nil && !isNotFound(err) {
		return fmt.Errorf("remove statement %s from the policy of %s: %w", g.sid, g.what(), err)
	}
	return nil
}

// own returns the grants whose targets are in the provider's account. A target in another
// account (an ARN naming it) is its owner's to grant: Panka can neither read nor write its
// policy there, and adds no statement.
func (ps *policies) own(ctx context.Context, gs []grant) ([]grant, error) {
	account, err := ps.p.accountID(ctx)
	if err != nil {
		return nil, err
	}
	var out []grant
	for _, g := range gs {
		if parts := strings.Split(g.target, ":"); g.kind != grantBucket && len(parts) > 4 && parts[0] == "arn" && parts[4] != account {
			continue
		}
		out = append(out, g)
	}
	return out, nil
}

// partTypes are the part types of grants.
var partTypes = map[string]grantKind{"AWS::SQS::QueuePolicy": grantQueue, "AWS::SNS::TopicPolicy": grantTopic,
	"AWS::S3::BucketPolicy": grantBucket, "AWS::Lambda::Permission": grantFunction}

// deletePart removes the statement a part of a consumer that is gone stands for, if it is one of
// the types given (false if not). Only a statement with Panka's Sid is removed.
func (ps *policies) deletePart(ctx context.Context, p provider.Part, types ...string) (bool, error) {
	kind, ok := partTypes[p.Type]
	if !ok || !slices.Contains(types, p.Type) {
		return false, nil
	}
	i := strings.LastIndex(p.ID, "#")
	if i < 0 || !strings.HasPrefix(p.ID[i+1:], "Panka") {
		return true, fmt.Errorf("%s %q is not TARGET#SID with a Sid of Panka's", p.Type, p.ID)
	}
	g := grant{kind: kind, target: p.ID[:i], sid: p.ID[i+1:]}
	if kind == grantQueue {
		g.url = g.target
	}
	return true, ps.revoke(ctx, g)
}

// ensureAll adds every grant's statement; consumer names the consumer in errors.
func (ps *policies) ensureAll(ctx context.Context, consumer string, gs []grant) error {
	gs, err := ps.own(ctx, gs)
	if err != nil {
		return err
	}
	for _, g := range gs {
		if err := ps.ensure(ctx, g); err != nil {
			return fmt.Errorf("%s delivering to %s: %w", consumer, g.what(), err)
		}
	}
	return nil
}

// revokeAll removes the statement of every grant of have that want does not list.
func (ps *policies) revokeAll(ctx context.Context, consumer string, have, want []grant) error {
	keep := map[string]bool{}
	for _, g := range want {
		keep[g.key()] = true
	}
	have, err := ps.own(ctx, have)
	if err != nil {
		return err
	}
	for _, g := range have {
		if keep[g.key()] {
			continue
		}
		if err := ps.revoke(ctx, g); err != nil {
			return fmt.Errorf("%s no longer delivering to %s: %w", consumer, g.what(), err)
		}
	}
	return nil
}

// check returns the status of each grant (by key) and the parts of those present.
func (ps *policies) check(ctx context.Context, gs []grant) (map[string]grantStatus, []provider.Part, error) {
	gs, err := ps.own(ctx, gs)
	if err != nil {
		return nil, nil, err
	}
	st := map[string]grantStatus{}
	var parts []provider.Part
	for _, g := range gs {
		if _, done := st[g.key()]; done {
			continue
		}
		s, part, err := ps.status(ctx, g)
		if err != nil {
			return nil, nil, err
		}
		st[g.key()] = s
		if s == grantPresent {
			parts = append(parts, part)
		}
	}
	return st, parts, nil
}

// dedupe returns gs without repeats.
func dedupe(gs []grant) []grant {
	seen := map[string]bool{}
	var out []grant
	for _, g := range gs {
		if !seen[g.key()] {
			seen[g.key()] = true
			out = append(out, g)
		}
	}
	return out
}

// withoutStatement is how Read reports a reference to a target whose policy lacks the
// consumer's statement (deleted behind Panka's back): a value no spec gives, so the engine sees
// drift and the next Update adds the statement again.
const withoutStatement = " (without its policy statement)"
