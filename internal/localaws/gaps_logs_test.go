package localaws

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
)

func gapLogsClient(t *testing.T, endpoint string) *cloudwatchlogs.Client {
	t.Helper()
	cfg, err := sdkConfig(t.Context(), endpoint, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	return cloudwatchlogs.NewFromConfig(cfg)
}

func describeLogGroup(t *testing.T, c *cloudwatchlogs.Client, name string) (arn, logGroupARN string) {
	t.Helper()
	out, err := c.DescribeLogGroups(t.Context(), &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(name)})
	if err != nil || len(out.LogGroups) != 1 {
		t.Fatalf("DescribeLogGroups: %v, %v", out, err)
	}
	return aws.ToString(out.LogGroups[0].Arn), aws.ToString(out.LogGroups[0].LogGroupArn)
}

// CloudWatch Logs describes a log group with logGroupArn, and an arn ending in ":*"; kumo
// v0.33.1 gives neither.
func TestKumoLogsDescribeLogGroupsOmitsLogGroupArn(t *testing.T) {
	c := gapLogsClient(t, gapEmulator(t).srv.URL)
	name := "/gap/" + uniqueName("group")
	if _, err := c.CreateLogGroup(t.Context(), &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	if arn, groupARN := describeLogGroup(t, c, name); groupARN != "" || strings.HasSuffix(arn, ":*") {
		t.Fatalf("kumo describes arn %s, logGroupArn %s: the layer need not", arn, groupARN)
	}
}

func TestGapLogGroupARNs(t *testing.T) {
	c := gapLogsClient(t, gapEmulator(t).URL)
	name := "/gap/" + uniqueName("group")
	if _, err := c.CreateLogGroup(t.Context(), &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(name), Tags: map[string]string{"k": "v"}}); err != nil {
		t.Fatal(err)
	}
	arn, groupARN := describeLogGroup(t, c, name)
	if want := "arn:aws:logs:us-east-1:000000000000:log-group:" + name; groupARN != want || arn != want+":*" {
		t.Errorf("arn %s, logGroupArn %s; want %s:* and %s", arn, groupARN, want, want)
	}
	// The tagging operations take logGroupArn.
	tags, err := c.ListTagsForResource(t.Context(), &cloudwatchlogs.ListTagsForResourceInput{ResourceArn: aws.String(groupARN)})
	if err != nil || tags.Tags["k"] != "v" {
		t.Errorf("ListTagsForResource(logGroupArn): %v, %v", tags, err)
	}
}
