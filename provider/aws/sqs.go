package aws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"path"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/panka/panka/provider"
)

// SQS: a queue. Its physical ID is the queue URL. Every field of schema.SQSSpec is a queue
// attribute:
//
//	fifo                          FifoQueue (set at create only; ForceNew)
//	contentBasedDeduplication     ContentBasedDeduplication (FIFO queues only)
//	visibilityTimeout             VisibilityTimeout
//	messageRetention              MessageRetentionPeriod
//	delay                         DelaySeconds
//	maxMessageSize                MaximumMessageSize
//	receiveWaitTime               ReceiveMessageWaitTimeSeconds
//	deadLetterQueue               RedrivePolicy {deadLetterTargetArn, maxReceiveCount}; the target
//	                              is a queue component (of the same type), resolved by name
//	encryption.kmsKey             KmsMasterKeyId, with SqsManagedSseEnabled false; without a key,
//	                              SqsManagedSseEnabled true (SSE-SQS)
//	encryption.dataKeyReusePeriod KmsDataKeyReusePeriodSeconds (with a KMS key; SQS's default
//	                              300 otherwise)
//
// Outputs: queueUrl, queueName, arn.

// SQS's defaults, which a queue has when an attribute is not reported.
const (
	sqsVisibilityTimeout  = 30
	sqsMessageRetention   = 345600
	sqsMaxMessageSize     = 262144
	sqsDataKeyReusePeriod = 300
)

const (
	attrFIFO         = "FifoQueue"
	attrContentDedup = "ContentBasedDeduplication"
	attrVisibility   = "VisibilityTimeout"
	attrRetention    = "MessageRetentionPeriod"
	attrDelay        = "DelaySeconds"
	attrMaxSize      = "MaximumMessageSize"
	attrReceiveWait  = "ReceiveMessageWaitTimeSeconds"
	attrRedrive      = "RedrivePolicy"
	attrKMSKey       = "KmsMasterKeyId"
	attrReusePeriod  = "KmsDataKeyReusePeriodSeconds"
	attrManagedSSE   = "SqsManagedSseEnabled"
	attrQueueARN     = "QueueArn"
	fifoSuffix       = ".fifo"
)

type sqsKind struct {
	p *Provider
	c *sqs.Client
}

func newSQS(p *Provider) kind { return &sqsKind{p: p, c: sqs.NewFromConfig(p.cfg)} }

// sqsLive is a queue's URL and attributes as read.
type sqsLive struct {
	url   string
	attrs map[string]string
}

func (k *sqsKind) lookup(ctx context.Context, name string) (string, error) {
	return queueURL(ctx, k.c, name)
}

func queueURL(ctx context.Context, c *sqs.Client, name string) (string, error) {
	out, err := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.QueueUrl), nil
}

func (k *sqsKind) create(ctx context.Context, r provider.Resource) (string, error) {
	want, err := k.attributes(ctx, r)
	if err != nil {
		return "", err
	}
	for a, v := range want {
		if v == "" { // "" only unsets
			delete(want, a)
		}
	}
	out, err := k.c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(r.Name), Attributes: want, Tags: cloneTags(r.Tags)})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.QueueUrl), nil
}

// attributes returns every attribute r.Spec sets, "" for one it leaves unset (a redrive
// policy, a KMS key).
func (k *sqsKind) attributes(ctx context.Context, r provider.Resource) (map[string]string, error) {
	s := r.Spec
	fifo := specBool(s, "fifo")
	want := map[string]string{
		attrVisibility:  itoa(specInt(s, "visibilityTimeout", sqsVisibilityTimeout)),
		attrRetention:   itoa(specInt(s, "messageRetention", sqsMessageRetention)),
		attrDelay:       itoa(specInt(s, "delay", 0)),
		attrMaxSize:     itoa(specInt(s, "maxMessageSize", sqsMaxMessageSize)),
		attrReceiveWait: itoa(specInt(s, "receiveWaitTime", 0)),
		attrRedrive:     "",
	}
	if fifo {
		want[attrFIFO] = "true"
		want[attrContentDedup] = fmt.Sprint(specBool(s, "contentBasedDeduplication"))
	}
	if d := specMap(s, "deadLetterQueue"); d != nil {
		suffix := ""
		if fifo {
			suffix = fifoSuffix
		}
		arn, err := resolveQueue(ctx, k.c, r, specString(d, "target"), suffix)
		if err != nil {
			return nil, fmt.Errorf("dead-letter queue: %w", err)
		}
		policy, _ := json.Marshal(redrivePolicy{TargetARN: arn, MaxReceiveCount: json.Number(itoa(specInt(d, "maxReceiveCount", 10)))})
		want[attrRedrive] = string(policy)
	}
	enc := specMap(s, "encryption")
	if key := specString(enc, "kmsKey"); key != "" {
		want[attrKMSKey] = key
		want[attrReusePeriod] = itoa(specInt(enc, "dataKeyReusePeriod", sqsDataKeyReusePeriod))
		want[attrManagedSSE] = "false"
	} else {
		want[attrKMSKey] = ""
		want[attrManagedSSE] = "true" // SSE-SQS
	}
	return want, nil
}

// redrivePolicy is the RedrivePolicy attribute. SQS answers maxReceiveCount as a number; some
// writers send a string.
type redrivePolicy struct {
	TargetARN       string      `json:"deadLetterTargetArn"`
	MaxReceiveCount json.Number `json:"maxReceiveCount"`
}

func parseRedrive(s string) (redrivePolicy, bool) {
	var p redrivePolicy
	if s == "" {
		return p, false
	}
	var raw struct {
		TargetARN       string `json:"deadLetterTargetArn"`
		MaxReceiveCount any    `json:"maxReceiveCount"`
	}
	if err := json.Unmarshal([]byte(s), &raw); err != nil {
		return p, false
	}
	p.TargetARN = raw.TargetARN
	p.MaxReceiveCount = json.Number(fmt.Sprint(raw.MaxReceiveCount))
	return p, true
}

// sameAttribute reports whether a queue attribute's live value (as read; "" if not reported)
// is the wanted one.
func sameAttribute(name, live, want string) bool {
	switch name {
	case attrRedrive:
		l, lok := parseRedrive(live)
		w, wok := parseRedrive(want)
		return lok == wok && l == w
	case attrReusePeriod:
		return atoi(live, sqsDataKeyReusePeriod) == atoi(want, sqsDataKeyReusePeriod)
	case attrManagedSSE:
		if live == "" {
			live = "false"
		}
	}
	return live == want
}

func (k *sqsKind) read(ctx context.Context, id string) (*live, error) {
	out, err := k.c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(id), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll},
	})
	if err != nil {
		return nil, err
	}
	tags, err := k.c.ListQueueTags(ctx, &sqs.ListQueueTagsInput{QueueUrl: aws.String(id)})
	if err != nil {
		return nil, err
	}
	a := out.Attributes
	arn := a[attrQueueARN]
	name := arnResource(arn)
	if name == "" {
		name = queueNameOf(id)
	}
	obsTags := tags.Tags
	if obsTags == nil {
		obsTags = map[string]string{}
	}
	enc := map[string]any{"dataKeyReusePeriod": atoi(a[attrReusePeriod], sqsDataKeyReusePeriod)}
	if key := a[attrKMSKey]; key != "" {
		enc["kmsKey"] = key
	}
	spec := map[string]any{
		"fifo":                      a[attrFIFO] == "true",
		"contentBasedDeduplication": a[attrContentDedup] == "true",
		"visibilityTimeout":         atoi(a[attrVisibility], sqsVisibilityTimeout),
		"messageRetention":          atoi(a[attrRetention], sqsMessageRetention),
		"delay":                     atoi(a[attrDelay], 0),
		"maxMessageSize":            atoi(a[attrMaxSize], sqsMaxMessageSize),
		"receiveWaitTime":           atoi(a[attrReceiveWait], 0),
		"encryption":                enc,
	}
	if p, ok := parseRedrive(a[attrRedrive]); ok {
		target, err := queueRef(ctx, k.c, p.TargetARN, strings.TrimSuffix(name, fifoSuffix), obsTags)
		if err != nil {
			return nil, fmt.Errorf("dead-letter queue: %w", err)
		}
		spec["deadLetterQueue"] = map[string]any{"target": target, "maxReceiveCount": atoi(p.MaxReceiveCount.String(), 0)}
	}
	return &live{
		obs: &provider.Observed{
			ID: id, Name: name, ARN: arn, Spec: spec, Tags: obsTags,
			Outputs: map[string]string{"queueUrl": id, "queueName": name, "arn": arn},
		},
		raw: &sqsLive{url: id, attrs: a},
	}, nil
}

// queueNameOf returns the name in a queue URL (".../ACCOUNT/NAME").
func queueNameOf(queueURL string) string {
	u, err := url.Parse(queueURL)
	if err != nil {
		return ""
	}
	return path.Base(u.Path)
}

func (k *sqsKind) update(ctx context.Context, l *live, r provider.Resource) error {
	have := l.raw.(*sqsLive).attrs
	if fifo := specBool(r.Spec, "fifo"); fifo != (have[attrFIFO] == "true") {
		return fmt.Errorf("fifo cannot change in place (%v to %v): the queue must be replaced", have[attrFIFO] == "true", fifo)
	}
	want, err := k.attributes(ctx, r)
	if err != nil {
		return err
	}
	delete(want, attrFIFO)
	set := map[string]string{}
	for a, v := range want {
		if !sameAttribute(a, have[a], v) {
			set[a] = v
		}
	}
	if len(set) == 0 {
		return nil
	}
	_, err = k.c.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(l.obs.ID), Attributes: set})
	if err != nil {
		return fmt.Errorf("set attributes: %w", err)
	}
	return nil
}

func (k *sqsKind) tag(ctx context.Context, l *live, set map[string]string, remove []string) error {
	if len(set) > 0 {
		if _, err := k.c.TagQueue(ctx, &sqs.TagQueueInput{QueueUrl: aws.String(l.obs.ID), Tags: set}); err != nil {
			return err
		}
	}
	if len(remove) > 0 {
		if _, err := k.c.UntagQueue(ctx, &sqs.UntagQueueInput{QueueUrl: aws.String(l.obs.ID), TagKeys: remove}); err != nil {
			return err
		}
	}
	return nil
}

func (k *sqsKind) delete(ctx context.Context, l *live) error {
	_, err := k.c.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(l.obs.ID)})
	return err
}

// resolveQueue returns the ARN of the queue ref names: a component of r's deployment (its
// physical name plus each of suffixes in turn, "" meaning none), or an ARN as it is. A queue
// that does not exist is an error that does not wrap provider.ErrNotFound: the referring
// resource exists, what it refers to does not.
func resolveQueue(ctx context.Context, c *sqs.Client, r provider.Resource, ref string, suffixes ...string) (string, error) {
	if ref == "" {
		return "", errors.New("no target")
	}
	if isARN(ref) {
		return ref, nil
	}
	d, err := deploymentOf(strings.TrimSuffix(r.Name, fifoSuffix), r.Address)
	if err != nil {
		return "", fmt.Errorf("resolving %q: %v", ref, err)
	}
	if len(suffixes) == 0 {
		suffixes = []string{""}
	}
	var tried []string
	for _, sfx := range suffixes {
		name := d.physicalName(ref, sfx)
		url, err := queueURL(ctx, c, name)
		if isNotFound(err) {
			tried = append(tried, name)
			continue
		}
		if err != nil {
			return "", err
		}
		out, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
			QueueUrl: aws.String(url), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
		})
		if err != nil {
			return "", err
		}
		return out.Attributes[attrQueueARN], nil
	}
	return "", fmt.Errorf("queue %s (%s) does not exist", ref, strings.Join(tried, " or "))
}

// queueRef returns how the resource named name (without its kind suffix) with tags refers to
// the queue arn: the queue's address if it is a component of the same deployment, else the ARN
// (a queue of another deployment, or one that no longer exists).
func queueRef(ctx context.Context, c *sqs.Client, arn, name string, tags map[string]string) (string, error) {
	d, err := deploymentOf(name, tags[tagAddress])
	if err != nil {
		return arn, nil
	}
	url, err := queueURL(ctx, c, arnResource(arn))
	if isNotFound(err) {
		return arn, nil
	}
	if err != nil {
		return "", err
	}
	theirs, err := c.ListQueueTags(ctx, &sqs.ListQueueTagsInput{QueueUrl: aws.String(url)})
	if isNotFound(err) {
		return arn, nil
	}
	if err != nil {
		return "", err
	}
	if theirs.Tags[tagAddress] == "" || !sameDeployment(tags, theirs.Tags) {
		return arn, nil
	}
	return d.ref(theirs.Tags[tagAddress]), nil
}
