package aws_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	agtypes "github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/panka/panka/provider"
	pankaaws "github.com/panka/panka/provider/aws"
	"github.com/panka/panka/state"
)

// linksNamed returns the VPC links named name, read through the SDK.
func linksNamed(t *testing.T, c *apigatewayv2.Client, name string) []agtypes.VpcLink {
	t.Helper()
	out, err := c.GetVpcLinks(t.Context(), &apigatewayv2.GetVpcLinksInput{})
	if err != nil {
		t.Fatal(err)
	}
	var links []agtypes.VpcLink
	for _, l := range out.Items {
		if aws.ToString(l.Name) == name {
			links = append(links, l)
		}
	}
	return links
}

// privateAPI deploys an ALB (listeners 80 and 8080) with a MicroService attached on port 80,
// and returns an API spec routing ANY /payments/{proxy+} to the service through the ALB's
// port-80 listener (as the engine injects it), the ALB's ARN and the network.
func privateAPI(t *testing.T, p *pankaaws.Provider) (spec map[string]any, lbARN string, n lbNet) {
	t.Helper()
	c := sdkClients(t)
	lbARN, _ = lbEnv(t, c, elbtypes.LoadBalancerTypeEnumApplication)
	svc := component("MicroService", unique("pay"), "", microSpec(t, m{"target": "edge", "listener": int64(80), "paths": l{"/payments/*"},
		"arn": lbARN, "type": "application", "containerPort": int64(8080), "listenerPort": int64(80), "priority": int64(2000)}))
	obs, err := p.Create(t.Context(), svc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Delete(context.Background(), obs.ID, svc) })
	n = newLBNet(t)
	spec = apiBase()
	spec["routes"] = l{m{"route": "ANY /payments/{proxy+}", "target": "pay/api", "authorization": "NONE", "loadBalancer": lbARN, "listenerPort": int64(80)}}
	spec["network"] = n.network()
	return spec, lbARN, n
}

// TestAPIGatewayPrivateIntegration: a route to a MicroService is an HTTP_PROXY integration
// through the API's VPC link (in the spec's subnets and groups, AVAILABLE, tagged) to the
// ALB's listener, payload 1.0; it reads back as written, a second Find shows no drift; a new
// route path changes the route only (same integration, same link); new security groups
// replace the link; Delete leaves no link.
func TestAPIGatewayPrivateIntegration(t *testing.T) {
	p := newProvider(t)
	c := apiClient(t)
	spec, lbARN, n := privateAPI(t, p)
	listener := listenerArn(t, elbClient(t), lbARN, 80)
	r := component("APIGateway", unique("api"), "", state.CloneMap(spec))
	obs, err := p.Create(t.Context(), r)
	if err != nil {
		t.Fatal(err)
	}
	deleted := false
	t.Cleanup(func() {
		if !deleted {
			_ = p.Delete(context.Background(), obs.ID, r)
		}
	})
	links := linksNamed(t, c, r.Name)
	if len(links) != 1 {
		t.Fatalf("VPC links named %s: %d, want 1", r.Name, len(links))
	}
	link := links[0]
	if link.VpcLinkStatus != agtypes.VpcLinkStatusAvailable || !slices.Equal(link.SubnetIds, n.subnets[:2]) || !slices.Equal(link.SecurityGroupIds, n.sgs[:1]) ||
		link.Tags["panka:address"] != r.Tags["panka:address"] {
		t.Errorf("VPC link %+v", link)
	}
	integration := func() agtypes.Integration {
		t.Helper()
		out, err := c.GetIntegrations(t.Context(), &apigatewayv2.GetIntegrationsInput{ApiId: aws.String(obs.ID)})
		if err != nil || len(out.Items) != 1 {
			t.Fatalf("integrations: %v, %v; want one", out, err)
		}
		return out.Items[0]
	}
	in := integration()
	if in.IntegrationType != agtypes.IntegrationTypeHttpProxy || in.ConnectionType != agtypes.ConnectionTypeVpcLink || aws.ToString(in.ConnectionId) != aws.ToString(link.VpcLinkId) ||
		aws.ToString(in.IntegrationUri) != listener || aws.ToString(in.PayloadFormatVersion) != "1.0" || aws.ToString(in.IntegrationMethod) != "ANY" || in.TlsConfig != nil {
		t.Errorf("integration %+v", in)
	}
	routes := func() map[string]string {
		t.Helper()
		out, err := c.GetRoutes(t.Context(), &apigatewayv2.GetRoutesInput{ApiId: aws.String(obs.ID)})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, rt := range out.Items {
			got[aws.ToString(rt.RouteKey)] = aws.ToString(rt.Target)
		}
		return got
	}
	if diff := cmp.Diff(map[string]string{"ANY /payments/{proxy+}": "integrations/" + aws.ToString(in.IntegrationId)}, routes()); diff != "" {
		t.Errorf("routes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(spec, obs.Spec, unsetIsAbsent); diff != "" {
		t.Errorf("spec after Create (-want +got):\n%s", diff)
	}
	if !slices.Contains(partIDs(obs, "AWS::ApiGatewayV2::VpcLink"), aws.ToString(link.VpcLinkId)) {
		t.Errorf("parts %v lack the VPC link", obs.Parts)
	}
	found, err := p.Find(t.Context(), r)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(spec, found.Spec, unsetIsAbsent); diff != "" {
		t.Errorf("drift on a second Find (-want +got):\n%s", diff)
	}

	// A new path: the route changes; the integration and the link stay.
	spec["routes"].([]any)[0].(map[string]any)["route"] = "ANY /pay/{proxy+}"
	r.Spec = state.CloneMap(spec)
	obs, err = p.Update(t.Context(), obs.ID, r, []string{"routes"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"ANY /pay/{proxy+}": "integrations/" + aws.ToString(in.IntegrationId)}, routes()); diff != "" {
		t.Errorf("routes after the path change (-want +got):\n%s", diff)
	}
	if now := linksNamed(t, c, r.Name); len(now) != 1 || aws.ToString(now[0].VpcLinkId) != aws.ToString(link.VpcLinkId) {
		t.Errorf("links after the path change: %+v, want %s only", now, aws.ToString(link.VpcLinkId))
	}
	if diff := cmp.Diff(spec, obs.Spec, unsetIsAbsent); diff != "" {
		t.Errorf("spec after the path change (-want +got):\n%s", diff)
	}

	// Other security groups: a new link, the integration moved to it, the old one gone.
	spec["network"].(map[string]any)["securityGroups"] = l{n.sgs[1]}
	r.Spec = state.CloneMap(spec)
	obs, err = p.Update(t.Context(), obs.ID, r, []string{"network"})
	if err != nil {
		t.Fatal(err)
	}
	now := linksNamed(t, c, r.Name)
	if len(now) != 1 || aws.ToString(now[0].VpcLinkId) == aws.ToString(link.VpcLinkId) || !slices.Equal(now[0].SecurityGroupIds, n.sgs[1:2]) {
		t.Fatalf("links after the group change: %+v, want one new link in %s", now, n.sgs[1])
	}
	if in := integration(); aws.ToString(in.ConnectionId) != aws.ToString(now[0].VpcLinkId) {
		t.Errorf("the integration uses link %s, want the new %s", aws.ToString(in.ConnectionId), aws.ToString(now[0].VpcLinkId))
	}
	if diff := cmp.Diff(spec, obs.Spec, unsetIsAbsent); diff != "" {
		t.Errorf("spec after the group change (-want +got):\n%s", diff)
	}

	if err := p.Delete(t.Context(), obs.ID, r); err != nil {
		t.Fatal(err)
	}
	deleted = true
	if left := linksNamed(t, c, r.Name); len(left) != 0 {
		t.Errorf("VPC links left after Delete: %+v", left)
	}
	if _, err := c.GetApi(t.Context(), &apigatewayv2.GetApiInput{ApiId: aws.String(obs.ID)}); err == nil {
		t.Error("the API is still there after Delete")
	}
}

// A Create stopped right after it made the VPC link (its context cancelled at the first
// progress report on the link) leaves the API and the link: Create then says the API exists,
// Find adopts it, Update adopts the link (no second one) and makes the rest; DeleteParts of a
// recorded link deletes it.
func TestAPIGatewayPrivateCrashAfterLink(t *testing.T) {
	p := newProvider(t)
	c := apiClient(t)
	spec, _, _ := privateAPI(t, p)
	r := component("APIGateway", unique("api"), "", state.CloneMap(spec))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ctx = provider.WithProgress(ctx, func(string) { cancel() })
	if _, err := p.Create(ctx, r); err == nil {
		t.Fatal("Create went through though cancelled at the link's first progress report")
	}
	links := linksNamed(t, c, r.Name)
	if len(links) != 1 {
		t.Fatalf("links after the stopped Create: %d, want 1", len(links))
	}
	if _, err := p.Create(t.Context(), r); !errors.Is(err, provider.ErrAlreadyExists) {
		t.Fatalf("Create over the half-made API: %v, want ErrAlreadyExists", err)
	}
	found, err := p.Find(t.Context(), r)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Delete(context.Background(), found.ID, r) })
	obs, err := p.Update(t.Context(), found.ID, r, nil)
	if err != nil {
		t.Fatal(err)
	}
	if now := linksNamed(t, c, r.Name); len(now) != 1 || aws.ToString(now[0].VpcLinkId) != aws.ToString(links[0].VpcLinkId) {
		t.Errorf("links after Update: %+v, want the first one only", now)
	}
	if diff := cmp.Diff(spec, obs.Spec, unsetIsAbsent); diff != "" {
		t.Errorf("spec after Update (-want +got):\n%s", diff)
	}

	// The API gone behind the link (a delete stopped between the two): DeleteParts cleans it.
	if _, err := c.DeleteApi(t.Context(), &apigatewayv2.DeleteApiInput{ApiId: aws.String(obs.ID)}); err != nil {
		t.Fatal(err)
	}
	if err := p.DeleteParts(t.Context(), r, obs.Parts); err != nil {
		t.Fatal(err)
	}
	if left := linksNamed(t, c, r.Name); len(left) != 0 {
		t.Errorf("VPC links left after DeleteParts: %+v", left)
	}
}

// A VPC link of the API's name with another owner's tags is not the API's: Create refuses to
// adopt it before making anything, and an Update of an API (with its own link) leaves it alone.
func TestAPIGatewayForeignVPCLink(t *testing.T) {
	p := newProvider(t)
	c := apiClient(t)
	spec, _, n := privateAPI(t, p)
	r := component("APIGateway", unique("api"), "", state.CloneMap(spec))
	foreignLink := func() *string {
		t.Helper()
		tags := map[string]string{"panka:address": r.Tags["panka:address"], "panka:stack": "other", "panka:environment": r.Tags["panka:environment"], "panka:tenant": r.Tags["panka:tenant"]}
		out, err := c.CreateVpcLink(t.Context(), &apigatewayv2.CreateVpcLinkInput{Name: aws.String(r.Name), SubnetIds: n.subnets[:2], SecurityGroupIds: n.sgs[:1], Tags: tags})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_, _ = c.DeleteVpcLink(context.Background(), &apigatewayv2.DeleteVpcLinkInput{VpcLinkId: out.VpcLinkId})
		})
		return out.VpcLinkId
	}
	foreign := foreignLink()
	if _, err := p.Create(t.Context(), r); err == nil || !strings.Contains(err.Error(), aws.ToString(foreign)) {
		t.Fatalf("Create with a foreign link of its name: %v, want an error naming the link", err)
	}
	if _, err := p.Find(t.Context(), r); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("Find after the refused Create: %v, want ErrNotFound (nothing made)", err)
	}
	if _, err := c.DeleteVpcLink(t.Context(), &apigatewayv2.DeleteVpcLinkInput{VpcLinkId: foreign}); err != nil {
		t.Fatal(err)
	}

	r = component("APIGateway", unique("api"), "", state.CloneMap(spec))
	obs, err := p.Create(t.Context(), r)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Delete(context.Background(), obs.ID, r) })
	foreign = foreignLink()
	if _, err := p.Update(t.Context(), obs.ID, r, nil); err != nil {
		t.Fatal(err)
	}
	links := linksNamed(t, c, r.Name)
	if len(links) != 2 || !slices.ContainsFunc(links, func(l agtypes.VpcLink) bool { return aws.ToString(l.VpcLinkId) == aws.ToString(foreign) }) {
		t.Errorf("links named %s after Update: %+v, want the foreign one and the API's own", r.Name, links)
	}
	if err := p.Delete(t.Context(), obs.ID, r); err != nil {
		t.Fatal(err)
	}
	if links := linksNamed(t, c, r.Name); len(links) != 1 || aws.ToString(links[0].VpcLinkId) != aws.ToString(foreign) {
		t.Errorf("links named %s after Delete: %+v, want the foreign one only", r.Name, links)
	}
}
