package localaws

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
)

func gapCFClient(t *testing.T, endpoint string) *cloudfront.Client {
	t.Helper()
	cfg, err := sdkConfig(t.Context(), endpoint, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	return cloudfront.NewFromConfig(cfg)
}

// newDistribution creates an enabled distribution with one custom origin and returns its ID
// and ETag.
func newDistribution(t *testing.T, c *cloudfront.Client) (id, etag *string) {
	t.Helper()
	ref := uniqueName("gap-dist")
	out, err := c.CreateDistribution(t.Context(), &cloudfront.CreateDistributionInput{DistributionConfig: &cftypes.DistributionConfig{
		CallerReference: aws.String(ref), Comment: aws.String(ref), Enabled: aws.Bool(true),
		Origins: &cftypes.Origins{Quantity: aws.Int32(1), Items: []cftypes.Origin{{Id: aws.String("o"), DomainName: aws.String("example.com"),
			CustomOriginConfig: &cftypes.CustomOriginConfig{HTTPPort: aws.Int32(80), HTTPSPort: aws.Int32(443), OriginProtocolPolicy: cftypes.OriginProtocolPolicyHttpsOnly}}}},
		DefaultCacheBehavior: &cftypes.DefaultCacheBehavior{TargetOriginId: aws.String("o"), ViewerProtocolPolicy: cftypes.ViewerProtocolPolicyAllowAll,
			CachePolicyId: aws.String("658327ea-f89d-4fab-a63d-7e88639e58f6")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return out.Distribution.Id, out.ETag
}

// CloudFront refuses to delete an enabled distribution (DistributionNotDisabled); kumo v0.33.1
// deletes it.
func TestKumoDeletesEnabledDistribution(t *testing.T) {
	c := gapCFClient(t, gapEmulator(t).srv.URL) // kumo itself
	id, etag := newDistribution(t, c)
	if _, err := c.DeleteDistribution(t.Context(), &cloudfront.DeleteDistributionInput{Id: id, IfMatch: etag}); err != nil {
		t.Fatalf("kumo refuses to delete an enabled distribution (%v): the layer need not", err)
	}
}

// Through the layer: an enabled distribution is not deleted; once disabled it is.
func TestGapCloudFrontDeleteNeedsDisabled(t *testing.T) {
	c := gapCFClient(t, gapEmulator(t).URL)
	ctx := t.Context()
	id, etag := newDistribution(t, c)
	if _, err := c.DeleteDistribution(ctx, &cloudfront.DeleteDistributionInput{Id: id, IfMatch: etag}); errorCode(err) != "DistributionNotDisabled" {
		t.Fatalf("DeleteDistribution of an enabled distribution: %v, want DistributionNotDisabled", err)
	}
	cfg, err := c.GetDistributionConfig(ctx, &cloudfront.GetDistributionConfigInput{Id: id})
	if err != nil {
		t.Fatalf("the refused delete deleted it: %v", err)
	}
	cfg.DistributionConfig.Enabled = aws.Bool(false)
	up, err := c.UpdateDistribution(ctx, &cloudfront.UpdateDistributionInput{Id: id, IfMatch: cfg.ETag, DistributionConfig: cfg.DistributionConfig})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteDistribution(ctx, &cloudfront.DeleteDistributionInput{Id: id, IfMatch: aws.String("stale")}); errorCode(err) != "InvalidIfMatchVersion" {
		t.Errorf("DeleteDistribution with a stale ETag: %v, want InvalidIfMatchVersion", err)
	}
	if _, err := c.DeleteDistribution(ctx, &cloudfront.DeleteDistributionInput{Id: id, IfMatch: up.ETag}); err != nil {
		t.Fatalf("DeleteDistribution of a disabled distribution: %v", err)
	}
	if _, err := c.GetDistribution(ctx, &cloudfront.GetDistributionInput{Id: id}); errorCode(err) != "NoSuchDistribution" {
		t.Errorf("GetDistribution after delete: %v, want NoSuchDistribution", err)
	}
	if _, err := c.DeleteDistribution(ctx, &cloudfront.DeleteDistributionInput{Id: id, IfMatch: up.ETag}); errorCode(err) != "NoSuchDistribution" {
		t.Errorf("DeleteDistribution of a missing distribution: %v, want NoSuchDistribution", err)
	}
}
