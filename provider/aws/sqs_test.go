package aws_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/panka/panka/provider"
)

// sqsBase is an SQS spec as the engine hands it over: every field, at its default.
func sqsBase() map[string]any {
	return map[string]any{
		"fifo": false, "contentBasedDeduplication": false, "visibilityTimeout": int64(30), "messageRetention": int64(345600),
		"delay": int64(0), "maxMessageSize": int64(262144), "receiveWaitTime": int64(0),
		"encryption": map[string]any{"dataKeyReusePeriod": int64(300)},
	}
}

func sqsFIFO() map[string]any {
	s := sqsBase()
	s["fifo"] = true
	return s
}

// sqsKMS is sqsBase with SSE-KMS.
func sqsKMS() map[string]any {
	s := sqsBase()
	s["encryption"] = map[string]any{"kmsKey": "alias/panka-test", "dataKeyReusePeriod": int64(300)}
	return s
}

func sqsSuffix(spec map[string]any) string {
	if spec["fifo"] == true {
		return ".fifo"
	}
	return ""
}

// sqsView reads a queue through the SDK: its attributes (but counters and timestamps) and tags.
func sqsView(c *sqs.Client) func(t *testing.T, id string) view {
	return func(t *testing.T, id string) view {
		t.Helper()
		out, err := c.GetQueueAttributes(t.Context(), &sqs.GetQueueAttributesInput{
			QueueUrl: aws.String(id), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll},
		})
		if err != nil {
			t.Fatalf("GetQueueAttributes: %v", err)
		}
		v := view{}
		for k, x := range out.Attributes {
			if strings.HasPrefix(k, "Approximate") || strings.HasSuffix(k, "Timestamp") {
				continue
			}
			if k == "RedrivePolicy" { // compare the policy, not its spelling
				var p struct {
					ARN   string `json:"deadLetterTargetArn"`
					Count any    `json:"maxReceiveCount"`
				}
				if err := json.Unmarshal([]byte(x), &p); err != nil {
					t.Fatalf("RedrivePolicy %q: %v", x, err)
				}
				v["RedrivePolicy.deadLetterTargetArn"] = p.ARN
				v["RedrivePolicy.maxReceiveCount"] = strings.Trim(strings.TrimSpace(jsonText(p.Count)), `"`)
				continue
			}
			v[k] = x
		}
		tags, err := c.ListQueueTags(t.Context(), &sqs.ListQueueTagsInput{QueueUrl: aws.String(id)})
		if err != nil {
			t.Fatalf("ListQueueTags: %v", err)
		}
		for k, x := range tags.Tags {
			v["tag:"+k] = x
		}
		return v
	}
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func sqsClient(t *testing.T) *sqs.Client { return sqs.NewFromConfig(sdkConfig(t)) }

func setQueueAttribute(c *sqs.Client, name, value string) func(t *testing.T, id string) {
	return func(t *testing.T, id string) {
		t.Helper()
		if _, err := c.SetQueueAttributes(t.Context(), &sqs.SetQueueAttributesInput{QueueUrl: aws.String(id), Attributes: map[string]string{name: value}}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSQSFields sets every SQS field to a value other than its default, and checks through the
// SDK that Create applies it, that an Update to it changes exactly it (or is refused, for a
// field that forces replacement), and that a change of it behind Panka's back shows in Read
// and is undone by the next Update.
func TestSQSFields(t *testing.T) {
	p := newProvider(t)
	c := sqsClient(t)
	dlq := func(fifo bool) provider.Resource {
		spec := sqsBase()
		spec["fifo"] = fifo
		return component("SQS", unique("dlq"), sqsSuffix(spec), spec)
	}
	standardDLQ := deploy(t, p, dlq(false))
	dlqName := strings.TrimPrefix(standardDLQ.Name, prefix)

	cases := []fieldCase{
		{name: "fifo", set: func(s map[string]any) { s["fifo"] = true }, want: view{"FifoQueue": "true"}, forceNew: true},
		{name: "contentBasedDeduplication", base: sqsFIFO, set: func(s map[string]any) { s["contentBasedDeduplication"] = true },
			want: view{"FifoQueue": "true", "ContentBasedDeduplication": "true"}, drift: setQueueAttribute(c, "ContentBasedDeduplication", "false")},
		{name: "visibilityTimeout", set: func(s map[string]any) { s["visibilityTimeout"] = int64(120) },
			want: view{"VisibilityTimeout": "120"}, drift: setQueueAttribute(c, "VisibilityTimeout", "45")},
		{name: "messageRetention", set: func(s map[string]any) { s["messageRetention"] = int64(86400) },
			want: view{"MessageRetentionPeriod": "86400"}, drift: setQueueAttribute(c, "MessageRetentionPeriod", "60")},
		{name: "delay", set: func(s map[string]any) { s["delay"] = int64(15) },
			want: view{"DelaySeconds": "15"}, drift: setQueueAttribute(c, "DelaySeconds", "0")},
		{name: "maxMessageSize", set: func(s map[string]any) { s["maxMessageSize"] = int64(2048) },
			want: view{"MaximumMessageSize": "2048"}, drift: setQueueAttribute(c, "MaximumMessageSize", "4096")},
		{name: "receiveWaitTime", set: func(s map[string]any) { s["receiveWaitTime"] = int64(10) },
			want: view{"ReceiveMessageWaitTimeSeconds": "10"}, drift: setQueueAttribute(c, "ReceiveMessageWaitTimeSeconds", "0")},
		{name: "deadLetterQueue", set: func(s map[string]any) {
			s["deadLetterQueue"] = map[string]any{"target": dlqName, "maxReceiveCount": int64(3)}
		},
			want:  view{"RedrivePolicy.deadLetterTargetArn": standardDLQ.ARN, "RedrivePolicy.maxReceiveCount": "3"},
			drift: setQueueAttribute(c, "RedrivePolicy", "")},
		{name: "deadLetterQueue.target (qualified)", set: func(s map[string]any) {
			s["deadLetterQueue"] = map[string]any{"target": "orders/" + dlqName, "maxReceiveCount": int64(3)}
		}, want: view{"RedrivePolicy.deadLetterTargetArn": standardDLQ.ARN}},
		{name: "encryption.kmsKey", set: func(s map[string]any) { s["encryption"].(map[string]any)["kmsKey"] = "alias/panka-test" },
			want:  view{"KmsMasterKeyId": "alias/panka-test", "SqsManagedSseEnabled": "false", "KmsDataKeyReusePeriodSeconds": "300"},
			drift: setQueueAttribute(c, "KmsMasterKeyId", "alias/someone-else")},
		{name: "encryption.dataKeyReusePeriod", base: sqsKMS, set: func(s map[string]any) {
			s["encryption"].(map[string]any)["dataKeyReusePeriod"] = int64(900)
		},
			want:  view{"KmsMasterKeyId": "alias/panka-test", "KmsDataKeyReusePeriodSeconds": "900"},
			drift: setQueueAttribute(c, "KmsDataKeyReusePeriodSeconds", "60")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "deadLetterQueue.target (qualified)" {
				// Read reports a target in the queue's own service by its short name; the
				// qualified spelling is applied, not read back as written.
				r := component("SQS", unique("q"), "", sqsBase())
				tc.set(r.Spec)
				obs := deploy(t, p, r)
				wantIn(t, "after Create", sqsView(c)(t, obs.ID), tc.want)
				if got := obs.Spec["deadLetterQueue"].(map[string]any)["target"]; got != dlqName {
					t.Errorf("target read back as %v, want %s", got, dlqName)
				}
				return
			}
			checkFieldCase(t, p, "SQS", sqsBase, sqsSuffix, tc, sqsView(c))
		})
	}
}

// A FIFO queue's dead-letter queue is the FIFO queue of the target's name; a dead-letter queue
// that does not exist is an error naming it, and no queue is left behind.
func TestSQSDeadLetterQueueResolution(t *testing.T) {
	p := newProvider(t)
	c := sqsClient(t)
	dlqSpec := sqsBase()
	dlqSpec["fifo"] = true
	dlq := deploy(t, p, component("SQS", unique("dlq"), ".fifo", dlqSpec))

	spec := sqsBase()
	spec["fifo"] = true
	spec["deadLetterQueue"] = map[string]any{"target": strings.TrimSuffix(strings.TrimPrefix(dlq.Name, prefix), ".fifo"), "maxReceiveCount": int64(5)}
	obs := deploy(t, p, component("SQS", unique("q"), ".fifo", spec))
	wantIn(t, "FIFO queue", sqsView(c)(t, obs.ID), view{"RedrivePolicy.deadLetterTargetArn": dlq.ARN, "RedrivePolicy.maxReceiveCount": "5"})

	spec = sqsBase()
	spec["deadLetterQueue"] = map[string]any{"target": "no-such-queue", "maxReceiveCount": int64(5)}
	r := component("SQS", unique("q"), "", spec)
	_, err := p.Create(t.Context(), r)
	if err == nil || !strings.Contains(err.Error(), prefix+"no-such-queue") {
		t.Fatalf("Create with a missing dead-letter queue: %v; want an error naming %sno-such-queue", err, prefix)
	}
	if _, err := p.Find(t.Context(), r); err == nil {
		t.Error("a failed Create left its queue behind")
	}
}
