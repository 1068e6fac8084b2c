package localaws

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	agtypes "github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"
	"github.com/google/go-cmp/cmp"
)

func gapAPIClient(t *testing.T, endpoint string) *apigatewayv2.Client {
	t.Helper()
	cfg, err := sdkConfig(t.Context(), endpoint, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	return apigatewayv2.NewFromConfig(cfg)
}

// newAPI creates an HTTP API with a $default stage, with CORS.
func newAPI(t *testing.T, c *apigatewayv2.Client) *string {
	t.Helper()
	out, err := c.CreateApi(t.Context(), &apigatewayv2.CreateApiInput{Name: aws.String(uniqueName("gap-api")), ProtocolType: agtypes.ProtocolTypeHttp,
		CorsConfiguration: &agtypes.Cors{AllowOrigins: []string{"https://app.example.com"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateStage(t.Context(), &apigatewayv2.CreateStageInput{ApiId: out.ApiId, StageName: aws.String("$default")}); err != nil {
		t.Fatal(err)
	}
	return out.ApiId
}

var domainConfig = []agtypes.DomainNameConfiguration{{CertificateArn: aws.String("arn:aws:acm:us-east-1:000000000000:certificate/a"),
	EndpointType: agtypes.EndpointTypeRegional, SecurityPolicy: agtypes.SecurityPolicyTls12}}

// API Gateway has custom domain names and API mappings; kumo v0.33.1 has neither (it answers
// with an HTML page the SDK cannot parse).
func TestKumoHasNoAPIGatewayDomainNames(t *testing.T) {
	c := gapAPIClient(t, gapEmulator(t).srv.URL) // kumo itself
	name := uniqueName("kumo") + ".example.com"
	if _, err := c.CreateDomainName(t.Context(), &apigatewayv2.CreateDomainNameInput{DomainName: aws.String(name), DomainNameConfigurations: domainConfig}); err == nil {
		t.Fatal("kumo creates domain names: the layer need not")
	}
	if _, err := c.GetDomainNames(t.Context(), &apigatewayv2.GetDomainNamesInput{}); err == nil {
		t.Fatal("kumo lists domain names: the layer need not")
	}
	if _, err := c.GetApiMappings(t.Context(), &apigatewayv2.GetApiMappingsInput{DomainName: aws.String(name)}); err == nil || errorCode(err) == "NotFoundException" {
		t.Fatalf("kumo answers GetApiMappings (%v): check what it does now", err)
	}
}

// API Gateway removes an API's CORS configuration with DeleteCorsConfiguration; kumo v0.33.1
// does not have it.
func TestKumoHasNoDeleteCorsConfiguration(t *testing.T) {
	c := gapAPIClient(t, gapEmulator(t).srv.URL)
	id := newAPI(t, c)
	if _, err := c.DeleteCorsConfiguration(t.Context(), &apigatewayv2.DeleteCorsConfigurationInput{ApiId: id}); err == nil {
		t.Fatal("kumo has DeleteCorsConfiguration: the layer need not")
	}
}

// Through the layer: a domain name with its tags, configuration and API mappings, from create to
// delete.
func TestGapAPIGatewayDomainNames(t *testing.T) {
	c := gapAPIClient(t, gapEmulator(t).URL)
	ctx := t.Context()
	id := newAPI(t, c)
	name := uniqueName("gap") + ".example.com"
	if _, err := c.CreateDomainName(ctx, &apigatewayv2.CreateDomainNameInput{DomainName: aws.String(name), DomainNameConfigurations: domainConfig,
		Tags: map[string]string{"a": "1"}}); err != nil {
		t.Fatalf("CreateDomainName: %v", err)
	}
	if _, err := c.CreateDomainName(ctx, &apigatewayv2.CreateDomainNameInput{DomainName: aws.String(name), DomainNameConfigurations: domainConfig}); errorCode(err) != "ConflictException" {
		t.Errorf("CreateDomainName of an existing name: %v, want ConflictException", err)
	}
	d, err := c.GetDomainName(ctx, &apigatewayv2.GetDomainNameInput{DomainName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	if got := d.DomainNameConfigurations; len(got) != 1 || aws.ToString(got[0].CertificateArn) != aws.ToString(domainConfig[0].CertificateArn) ||
		got[0].EndpointType != agtypes.EndpointTypeRegional || aws.ToString(got[0].ApiGatewayDomainName) == "" {
		t.Errorf("configurations = %+v", got)
	}
	if _, err := c.UpdateDomainName(ctx, &apigatewayv2.UpdateDomainNameInput{DomainName: aws.String(name), DomainNameConfigurations: []agtypes.DomainNameConfiguration{
		{CertificateArn: aws.String("arn:aws:acm:us-east-1:000000000000:certificate/b"), EndpointType: agtypes.EndpointTypeRegional}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.TagResource(ctx, &apigatewayv2.TagResourceInput{ResourceArn: d.DomainNameArn, Tags: map[string]string{"b": "2"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UntagResource(ctx, &apigatewayv2.UntagResourceInput{ResourceArn: d.DomainNameArn, TagKeys: []string{"a"}}); err != nil {
		t.Fatal(err)
	}
	tags, err := c.GetTags(ctx, &apigatewayv2.GetTagsInput{ResourceArn: d.DomainNameArn})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"b": "2"}, tags.Tags); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
	list, err := c.GetDomainNames(ctx, &apigatewayv2.GetDomainNamesInput{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, it := range list.Items {
		if aws.ToString(it.DomainName) == name {
			found = aws.ToString(it.DomainNameConfigurations[0].CertificateArn) == "arn:aws:acm:us-east-1:000000000000:certificate/b"
		}
	}
	if !found {
		t.Errorf("GetDomainNames does not list %s with its new certificate", name)
	}

	if _, err := c.CreateApiMapping(ctx, &apigatewayv2.CreateApiMappingInput{DomainName: aws.String(name), ApiId: aws.String("nope"), Stage: aws.String("$default")}); errorCode(err) != "NotFoundException" {
		t.Errorf("CreateApiMapping of a missing API: %v, want NotFoundException", err)
	}
	mp, err := c.CreateApiMapping(ctx, &apigatewayv2.CreateApiMappingInput{DomainName: aws.String(name), ApiId: id, Stage: aws.String("$default")})
	if err != nil {
		t.Fatalf("CreateApiMapping: %v", err)
	}
	ms, err := c.GetApiMappings(ctx, &apigatewayv2.GetApiMappingsInput{DomainName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	if len(ms.Items) != 1 || aws.ToString(ms.Items[0].ApiId) != aws.ToString(id) || aws.ToString(ms.Items[0].ApiMappingId) != aws.ToString(mp.ApiMappingId) {
		t.Errorf("mappings = %+v", ms.Items)
	}
	// What the layer does not emulate fails loudly.
	if _, err := c.UpdateApiMapping(ctx, &apigatewayv2.UpdateApiMappingInput{DomainName: aws.String(name), ApiMappingId: mp.ApiMappingId, ApiId: id,
		Stage: aws.String("$default")}); errorCode(err) != "NotImplemented" {
		t.Errorf("UpdateApiMapping: %v, want NotImplemented", err)
	}
	if _, err := c.DeleteApiMapping(ctx, &apigatewayv2.DeleteApiMappingInput{DomainName: aws.String(name), ApiMappingId: mp.ApiMappingId}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetApiMapping(ctx, &apigatewayv2.GetApiMappingInput{DomainName: aws.String(name), ApiMappingId: mp.ApiMappingId}); errorCode(err) != "NotFoundException" {
		t.Errorf("GetApiMapping after delete: %v, want NotFoundException", err)
	}
	if _, err := c.DeleteDomainName(ctx, &apigatewayv2.DeleteDomainNameInput{DomainName: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetDomainName(ctx, &apigatewayv2.GetDomainNameInput{DomainName: aws.String(name)}); errorCode(err) != "NotFoundException" {
		t.Errorf("GetDomainName after delete: %v, want NotFoundException", err)
	}
}

// Through the layer: DeleteCorsConfiguration removes the API's CORS, in GetApi and GetApis.
func TestGapAPIGatewayDeleteCors(t *testing.T) {
	c := gapAPIClient(t, gapEmulator(t).URL)
	id := newAPI(t, c)
	if _, err := c.DeleteCorsConfiguration(t.Context(), &apigatewayv2.DeleteCorsConfigurationInput{ApiId: id}); err != nil {
		t.Fatalf("DeleteCorsConfiguration: %v", err)
	}
	api, err := c.GetApi(t.Context(), &apigatewayv2.GetApiInput{ApiId: id})
	if err != nil {
		t.Fatal(err)
	}
	if api.CorsConfiguration != nil {
		t.Errorf("GetApi: CORS %+v after DeleteCorsConfiguration", api.CorsConfiguration)
	}
	list, err := c.GetApis(t.Context(), &apigatewayv2.GetApisInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range list.Items {
		if aws.ToString(a.ApiId) == aws.ToString(id) && a.CorsConfiguration != nil {
			t.Errorf("GetApis: CORS %+v after DeleteCorsConfiguration", a.CorsConfiguration)
		}
	}
	if _, err := c.DeleteCorsConfiguration(t.Context(), &apigatewayv2.DeleteCorsConfigurationInput{ApiId: aws.String("nope")}); errorCode(err) != "NotFoundException" {
		t.Errorf("DeleteCorsConfiguration of a missing API: %v, want NotFoundException", err)
	}
}

// The layer's domain names persist in the data directory.
func TestGapAPIGatewayStatePersists(t *testing.T) {
	dir := t.TempDir()
	g := newAPIGWGapState(dir)
	g.mu.Lock()
	g.Domains["a.example.com"] = &apigwDomain{Tags: map[string]string{"k": "v"}, Mappings: map[string]*apigwMapping{"m1": {APIID: "x", Stage: "$default"}}}
	err := g.saveLocked()
	g.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	got := newAPIGWGapState(dir).Domains["a.example.com"]
	if got == nil || got.Tags["k"] != "v" || got.Mappings["m1"] == nil || got.Mappings["m1"].APIID != "x" {
		t.Errorf("reloaded domain = %+v", got)
	}
}
