package localaws

import (
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	agtypes "github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"
)

// API Gateway v2 has VPC links; kumo v0.33.1 has none (it answers with an HTML page the SDK
// cannot parse).
func TestKumoHasNoVPCLinks(t *testing.T) {
	c := gapAPIClient(t, gapEmulator(t).srv.URL) // kumo itself
	if _, err := c.CreateVpcLink(t.Context(), &apigatewayv2.CreateVpcLinkInput{Name: aws.String(uniqueName("kumo")), SubnetIds: []string{"subnet-1"}}); err == nil {
		t.Fatal("kumo creates VPC links: the layer need not")
	}
	if _, err := c.GetVpcLinks(t.Context(), &apigatewayv2.GetVpcLinksInput{}); err == nil {
		t.Fatal("kumo lists VPC links: the layer need not")
	}
}

// Kumo keeps an integration's connection type, connection ID and TLS configuration, so that
// integrations through a VPC link stay kumo's: this test fails if it stops.
func TestKumoKeepsVPCLinkIntegrations(t *testing.T) {
	c := gapAPIClient(t, gapEmulator(t).srv.URL)
	id := newAPI(t, c)
	uri := "arn:aws:elasticloadbalancing:us-east-1:000000000000:listener/app/x/1/2"
	out, err := c.CreateIntegration(t.Context(), &apigatewayv2.CreateIntegrationInput{ApiId: id, IntegrationType: agtypes.IntegrationTypeHttpProxy,
		IntegrationMethod: aws.String("ANY"), IntegrationUri: aws.String(uri), ConnectionType: agtypes.ConnectionTypeVpcLink, ConnectionId: aws.String("abc123"),
		PayloadFormatVersion: aws.String("1.0"), TlsConfig: &agtypes.TlsConfigInput{ServerNameToVerify: aws.String("x.example.com")}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.GetIntegration(t.Context(), &apigatewayv2.GetIntegrationInput{ApiId: id, IntegrationId: out.IntegrationId})
	if err != nil {
		t.Fatal(err)
	}
	if got.ConnectionType != agtypes.ConnectionTypeVpcLink || aws.ToString(got.ConnectionId) != "abc123" || aws.ToString(got.IntegrationUri) != uri ||
		got.TlsConfig == nil || aws.ToString(got.TlsConfig.ServerNameToVerify) != "x.example.com" {
		t.Errorf("kumo's integration %+v: the layer must keep VPC link integrations now", got)
	}
}

// Through the layer: a VPC link from create (PENDING, then AVAILABLE) to delete (refused while
// an integration uses it; DELETING, then gone), with its tags and a rename.
func TestGapVPCLinks(t *testing.T) {
	c := gapAPIClient(t, gapEmulator(t).URL)
	ctx := t.Context()
	name := uniqueName("gap-link")
	out, err := c.CreateVpcLink(ctx, &apigatewayv2.CreateVpcLinkInput{Name: aws.String(name), SubnetIds: []string{"subnet-1", "subnet-2"},
		SecurityGroupIds: []string{"sg-1"}, Tags: map[string]string{"a": "1"}})
	if err != nil {
		t.Fatalf("CreateVpcLink: %v", err)
	}
	if out.VpcLinkStatus != agtypes.VpcLinkStatusPending {
		t.Errorf("a new link is %s, want PENDING", out.VpcLinkStatus)
	}
	id := out.VpcLinkId
	time.Sleep(APIGWVPCLinkDelay())
	got, err := c.GetVpcLink(ctx, &apigatewayv2.GetVpcLinkInput{VpcLinkId: id})
	if err != nil {
		t.Fatal(err)
	}
	if got.VpcLinkStatus != agtypes.VpcLinkStatusAvailable || aws.ToString(got.Name) != name || !slices.Equal(got.SubnetIds, []string{"subnet-1", "subnet-2"}) ||
		!slices.Equal(got.SecurityGroupIds, []string{"sg-1"}) || got.Tags["a"] != "1" {
		t.Errorf("GetVpcLink %+v", got)
	}
	list, err := c.GetVpcLinks(ctx, &apigatewayv2.GetVpcLinksInput{})
	if err != nil || !slices.ContainsFunc(list.Items, func(l agtypes.VpcLink) bool { return aws.ToString(l.VpcLinkId) == aws.ToString(id) }) {
		t.Errorf("GetVpcLinks %v: the link is not listed", err)
	}
	if _, err := c.UpdateVpcLink(ctx, &apigatewayv2.UpdateVpcLinkInput{VpcLinkId: id, Name: aws.String(name + "-x")}); err != nil {
		t.Fatal(err)
	}
	arn := aws.String("arn:aws:apigateway:us-east-1::/vpclinks/" + aws.ToString(id))
	if _, err := c.TagResource(ctx, &apigatewayv2.TagResourceInput{ResourceArn: arn, Tags: map[string]string{"b": "2"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UntagResource(ctx, &apigatewayv2.UntagResourceInput{ResourceArn: arn, TagKeys: []string{"a"}}); err != nil {
		t.Fatal(err)
	}
	tags, err := c.GetTags(ctx, &apigatewayv2.GetTagsInput{ResourceArn: arn})
	if err != nil || len(tags.Tags) != 1 || tags.Tags["b"] != "2" {
		t.Errorf("tags %v, %v; want b=2 only", tags, err)
	}
	// In use by an integration: refused.
	api := newAPI(t, c)
	in, err := c.CreateIntegration(ctx, &apigatewayv2.CreateIntegrationInput{ApiId: api, IntegrationType: agtypes.IntegrationTypeHttpProxy,
		IntegrationMethod: aws.String("ANY"), IntegrationUri: aws.String("arn:aws:elasticloadbalancing:us-east-1:000000000000:listener/app/x/1/2"),
		ConnectionType: agtypes.ConnectionTypeVpcLink, ConnectionId: id, PayloadFormatVersion: aws.String("1.0")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteVpcLink(ctx, &apigatewayv2.DeleteVpcLinkInput{VpcLinkId: id}); errorCode(err) != "BadRequestException" {
		t.Errorf("DeleteVpcLink of a link in use: %v, want BadRequestException", err)
	}
	if _, err := c.DeleteIntegration(ctx, &apigatewayv2.DeleteIntegrationInput{ApiId: api, IntegrationId: in.IntegrationId}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteVpcLink(ctx, &apigatewayv2.DeleteVpcLinkInput{VpcLinkId: id}); err != nil {
		t.Fatalf("DeleteVpcLink: %v", err)
	}
	if got, err := c.GetVpcLink(ctx, &apigatewayv2.GetVpcLinkInput{VpcLinkId: id}); err != nil || got.VpcLinkStatus != agtypes.VpcLinkStatusDeleting {
		t.Errorf("just deleted: %v, %v; want DELETING", got, err)
	}
	time.Sleep(APIGWVPCLinkDelay())
	if _, err := c.GetVpcLink(ctx, &apigatewayv2.GetVpcLinkInput{VpcLinkId: id}); errorCode(err) != "NotFoundException" {
		t.Errorf("GetVpcLink of a deleted link: %v, want NotFoundException", err)
	}
	if _, err := c.DeleteVpcLink(ctx, &apigatewayv2.DeleteVpcLinkInput{VpcLinkId: id}); errorCode(err) != "NotFoundException" {
		t.Errorf("DeleteVpcLink of a deleted link: %v, want NotFoundException", err)
	}
}
