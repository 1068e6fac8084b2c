package localaws

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Resource policies, which the AWS provider's consumers write into their targets (a queue's
// Policy attribute, a topic's, a bucket policy, a function's permissions): kumo v0.33.1 keeps and
// answers them as AWS does, so the layer adds nothing. These tests pin that through the layer,
// and across emulators of one data directory.

const policyDoc = `{"Version":"2012-10-17","Statement":[{"Sid":"PankaTest","Effect":"Allow","Principal":{"Service":"events.amazonaws.com"},"Action":"ACTION","Resource":"*"}]}`

type policyTargets struct {
	queueURL, topicARN, bucket, function string
}

// writePolicies makes a queue, topic, bucket and function with a policy each.
func writePolicies(t *testing.T, cfg aws.Config) policyTargets {
	t.Helper()
	ctx := t.Context()
	var pt policyTargets
	q, err := sqs.NewFromConfig(cfg).CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(uniqueName("policy"))})
	if err != nil {
		t.Fatal(err)
	}
	pt.queueURL = aws.ToString(q.QueueUrl)
	if _, err := sqs.NewFromConfig(cfg).SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: q.QueueUrl,
		Attributes: map[string]string{"Policy": strings.Replace(policyDoc, "ACTION", "sqs:SendMessage", 1)}}); err != nil {
		t.Fatal(err)
	}
	tp, err := sns.NewFromConfig(cfg).CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(uniqueName("policy"))})
	if err != nil {
		t.Fatal(err)
	}
	pt.topicARN = aws.ToString(tp.TopicArn)
	if _, err := sns.NewFromConfig(cfg).SetTopicAttributes(ctx, &sns.SetTopicAttributesInput{TopicArn: tp.TopicArn, AttributeName: aws.String("Policy"),
		AttributeValue: aws.String(strings.Replace(policyDoc, "ACTION", "sns:Publish", 1))}); err != nil {
		t.Fatal(err)
	}
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	pt.bucket = uniqueName("policy")
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(pt.bucket)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s3c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(pt.bucket),
		Policy: aws.String(strings.Replace(policyDoc, "ACTION", "s3:GetObject", 1))}); err != nil {
		t.Fatal(err)
	}
	lc := lambda.NewFromConfig(cfg)
	pt.function = uniqueName("policy")
	if _, err := lc.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String(pt.function), Runtime: ltypes.RuntimePython312,
		Handler: aws.String("a.b"), Role: aws.String("arn:aws:iam::000000000000:role/r"), Code: &ltypes.FunctionCode{ZipFile: []byte("zip")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := lc.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: aws.String(pt.function), StatementId: aws.String("PankaTest"),
		Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("events.amazonaws.com"),
		SourceArn: aws.String("arn:aws:events:us-east-1:000000000000:rule/r")}); err != nil {
		t.Fatal(err)
	}
	return pt
}

// checkPolicies reads back what writePolicies wrote.
func checkPolicies(t *testing.T, cfg aws.Config, pt policyTargets) {
	t.Helper()
	ctx := t.Context()
	qa, err := sqs.NewFromConfig(cfg).GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(pt.queueURL),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNamePolicy}})
	if err != nil || qa.Attributes["Policy"] != strings.Replace(policyDoc, "ACTION", "sqs:SendMessage", 1) {
		t.Errorf("queue policy %q, %v", qa.Attributes["Policy"], err)
	}
	ta, err := sns.NewFromConfig(cfg).GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String(pt.topicARN)})
	if err != nil || ta.Attributes["Policy"] != strings.Replace(policyDoc, "ACTION", "sns:Publish", 1) {
		t.Errorf("topic policy %v, %v", ta, err)
	}
	bp, err := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }).GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(pt.bucket)})
	if err != nil || aws.ToString(bp.Policy) != strings.Replace(policyDoc, "ACTION", "s3:GetObject", 1) {
		t.Errorf("bucket policy %v, %v", bp, err)
	}
	fp, err := lambda.NewFromConfig(cfg).GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String(pt.function)})
	if err != nil || !strings.Contains(aws.ToString(fp.Policy), `"Sid":"PankaTest"`) || !strings.Contains(aws.ToString(fp.Policy), `"ArnLike":{"AWS:SourceArn":"arn:aws:events:us-east-1:000000000000:rule/r"}`) {
		t.Errorf("function policy %v, %v", fp, err)
	}
}

func TestPoliciesThroughTheLayer(t *testing.T) {
	cfg, err := gapEmulator(t).Config(t.Context(), "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	checkPolicies(t, cfg, writePolicies(t, cfg))
}

// An emulator's successor on the same data directory has the policies it was given.
func TestPoliciesSurviveTheEmulator(t *testing.T) {
	dir := sharedDir(t)
	c := connect(t, dir, 100*time.Millisecond)
	cfg, err := c.Config(t.Context(), "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	pt := writePolicies(t, cfg)
	c.Close()
	waitFor(t, "the idle emulator exits", func() bool { return !serving(dir) })
	c = connect(t, dir, time.Minute)
	defer c.Close()
	if cfg, err = c.Config(t.Context(), "us-east-1"); err != nil {
		t.Fatal(err)
	}
	checkPolicies(t, cfg, pt)
}
