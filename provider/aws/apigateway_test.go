package aws_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	agtypes "github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/google/go-cmp/cmp"

	"github.com/panka/panka/provider"
	pankaaws "github.com/panka/panka/provider/aws"
)

func apiClient(t *testing.T) *apigatewayv2.Client { return apigatewayv2.NewFromConfig(sdkConfig(t)) }
func lambdaClient(t *testing.T) *lambda.Client    { return lambda.NewFromConfig(sdkConfig(t)) }

// apiBase is an APIGateway spec as the engine hands it over: every field at its default.
func apiBase() map[string]any {
	return m{"protocol": "HTTP", "routeSelectionExpression": "$request.body.action", "stage": "$default"}
}

func apiWebSocket() map[string]any {
	return m{"protocol": "WEBSOCKET", "routeSelectionExpression": "$request.body.action", "stage": "prod"}
}

// function makes a Lambda function of the deployment, directly through the SDK (the Lambda kind
// is not the provider's yet), and returns its component name and ARN.
func function(t *testing.T, c *lambda.Client) (comp, arn string) {
	t.Helper()
	var b bytes.Buffer
	z := zip.NewWriter(&b)
	w, _ := z.Create("index.py")
	_, _ = w.Write([]byte("def handler(event, context):\n    return {}\n"))
	_ = z.Close()
	comp = unique("fn")
	out, err := c.CreateFunction(t.Context(), &lambda.CreateFunctionInput{FunctionName: aws.String(prefix + comp), Runtime: ltypes.RuntimePython312,
		Handler: aws.String("index.handler"), Role: aws.String("arn:aws:iam::000000000000:role/fn"), Code: &ltypes.FunctionCode{ZipFile: b.Bytes()}})
	if err != nil {
		t.Fatalf("CreateFunction: %v", err)
	}
	return comp, aws.ToString(out.FunctionArn)
}

// A target in another service of the deployment ("service/name") resolves by the naming rule
// and reads back as written, by the function's panka:address tag.
func TestAPIGatewayQualifiedTarget(t *testing.T) {
	p := newProvider(t)
	fc := lambdaClient(t)
	var b bytes.Buffer
	z := zip.NewWriter(&b)
	_, _ = z.Create("index.py")
	_ = z.Close()
	comp := unique("charge")
	fn, err := fc.CreateFunction(t.Context(), &lambda.CreateFunctionInput{FunctionName: aws.String("acme-shop-dev-billing-" + comp), Runtime: ltypes.RuntimePython312,
		Handler: aws.String("index.handler"), Role: aws.String("arn:aws:iam::000000000000:role/fn"), Code: &ltypes.FunctionCode{ZipFile: b.Bytes()},
		Tags: map[string]string{"panka:tenant": "acme", "panka:stack": "shop", "panka:environment": "dev", "panka:address": "billing/" + comp}})
	if err != nil {
		t.Fatal(err)
	}
	spec := apiBase()
	spec["routes"] = l{m{"route": "POST /charge", "target": "billing/" + comp, "authorization": "NONE"}}
	obs := deploy(t, p, component("APIGateway", unique("api"), "", spec))
	if got := obs.Spec["routes"].([]any)[0].(map[string]any)["target"]; got != "billing/"+comp {
		t.Errorf("target read back as %v, want billing/%s", got, comp)
	}
	if !policyMentions(t, fc, aws.ToString(fn.FunctionArn), obs.ID) {
		t.Error("no permission on the other service's function")
	}
}

// apiView reads an API through the SDK: its protocol, route selection expression, CORS, tags,
// routes (target function, authorization, authorizer), integration and authorizer counts, stages,
// the domain name mapped to it, and which of fns carry a permission for it.
func apiView(c *apigatewayv2.Client, fc *lambda.Client, fns ...string) func(t *testing.T, id string) view {
	return func(t *testing.T, id string) view {
		t.Helper()
		ctx := t.Context()
		api, err := c.GetApi(ctx, &apigatewayv2.GetApiInput{ApiId: aws.String(id)})
		if err != nil {
			t.Fatalf("GetApi: %v", err)
		}
		v := view{"protocol": string(api.ProtocolType), "rse": aws.ToString(api.RouteSelectionExpression)}
		if api.CorsConfiguration != nil {
			v["cors"] = jsonText(api.CorsConfiguration)
		}
		for k, x := range api.Tags {
			v["tag:"+k] = x
		}
		ins, err := c.GetIntegrations(ctx, &apigatewayv2.GetIntegrationsInput{ApiId: aws.String(id)})
		if err != nil {
			t.Fatalf("GetIntegrations: %v", err)
		}
		uris := map[string]string{}
		for _, in := range ins.Items {
			uris["integrations/"+aws.ToString(in.IntegrationId)] = aws.ToString(in.IntegrationUri) + " " + aws.ToString(in.PayloadFormatVersion)
		}
		if len(ins.Items) > 0 {
			v["integrations"] = fmt.Sprint(len(ins.Items))
		}
		as, err := c.GetAuthorizers(ctx, &apigatewayv2.GetAuthorizersInput{ApiId: aws.String(id)})
		if err != nil {
			t.Fatalf("GetAuthorizers: %v", err)
		}
		auths := map[string]string{}
		for _, a := range as.Items {
			desc := string(a.AuthorizerType) + " " + aws.ToString(a.AuthorizerUri)
			if j := a.JwtConfiguration; j != nil {
				desc += aws.ToString(j.Issuer) + " " + strings.Join(j.Audience, ",")
			}
			auths[aws.ToString(a.AuthorizerId)] = desc
		}
		if len(as.Items) > 0 {
			v["authorizers"] = fmt.Sprint(len(as.Items))
		}
		rs, err := c.GetRoutes(ctx, &apigatewayv2.GetRoutesInput{ApiId: aws.String(id)})
		if err != nil {
			t.Fatalf("GetRoutes: %v", err)
		}
		for _, r := range rs.Items {
			desc := uris[aws.ToString(r.Target)] + " " + string(r.AuthorizationType)
			if r.AuthorizationType == agtypes.AuthorizationTypeJwt || r.AuthorizationType == agtypes.AuthorizationTypeCustom {
				desc += " " + auths[aws.ToString(r.AuthorizerId)]
			}
			v["route:"+aws.ToString(r.RouteKey)] = desc
		}
		ss, err := c.GetStages(ctx, &apigatewayv2.GetStagesInput{ApiId: aws.String(id)})
		if err != nil {
			t.Fatalf("GetStages: %v", err)
		}
		for _, s := range ss.Items {
			desc := fmt.Sprintf("autoDeploy=%v", aws.ToBool(s.AutoDeploy))
			if d := s.DefaultRouteSettings; d != nil && (d.ThrottlingBurstLimit != nil || d.ThrottlingRateLimit != nil) {
				desc += fmt.Sprintf(" burst=%d rate=%g", aws.ToInt32(d.ThrottlingBurstLimit), aws.ToFloat64(d.ThrottlingRateLimit))
			}
			v["stage:"+aws.ToString(s.StageName)] = desc
			v["stage:"+aws.ToString(s.StageName)+".owner"] = owned(s.Tags)
		}
		ds, err := c.GetDomainNames(ctx, &apigatewayv2.GetDomainNamesInput{})
		if err != nil {
			t.Fatalf("GetDomainNames: %v", err)
		}
		for _, d := range ds.Items {
			ms, err := c.GetApiMappings(ctx, &apigatewayv2.GetApiMappingsInput{DomainName: d.DomainName})
			if err != nil {
				t.Fatalf("GetApiMappings: %v", err)
			}
			for _, mp := range ms.Items {
				if aws.ToString(mp.ApiId) != id {
					continue
				}
				name := aws.ToString(d.DomainName)
				v["domain:"+name] = aws.ToString(d.DomainNameConfigurations[0].CertificateArn) + " " + string(d.DomainNameConfigurations[0].EndpointType)
				v["domain:"+name+".owner"] = owned(d.Tags)
				v["mapping:"+name] = aws.ToString(mp.Stage)
			}
		}
		for _, fn := range fns {
			if policyMentions(t, fc, fn, id) {
				v["permission:"+fn] = "yes"
			}
		}
		return v
	}
}

// owned says whether tags carry a panka:address (the component's tags are on the part).
func owned(tags map[string]string) string {
	if tags["panka:address"] != "" {
		return "tagged"
	}
	return "untagged"
}

// policyMentions reports whether the function fn's policy lets the API apiID invoke it.
func policyMentions(t *testing.T, c *lambda.Client, fn, apiID string) bool {
	t.Helper()
	out, err := c.GetPolicy(t.Context(), &lambda.GetPolicyInput{FunctionName: aws.String(fn)})
	var nf *ltypes.ResourceNotFoundException
	if errors.As(err, &nf) {
		return false
	}
	if err != nil {
		t.Fatalf("GetPolicy %s: %v", fn, err)
	}
	var p struct {
		Statement []struct {
			Principal map[string]string
			Action    string
			Condition map[string]map[string]string
		}
	}
	if err := json.Unmarshal([]byte(aws.ToString(out.Policy)), &p); err != nil {
		t.Fatalf("policy of %s: %v", fn, err)
	}
	for _, s := range p.Statement {
		if s.Principal["Service"] == "apigateway.amazonaws.com" && s.Action == "lambda:InvokeFunction" &&
			strings.HasSuffix(s.Condition["ArnLike"]["AWS:SourceArn"], ":"+apiID+"/*") {
			return true
		}
	}
	return false
}

// TestAPIGatewayFields sets every APIGateway field to a value other than its default and checks
// through the SDK that Create applies it, that an Update to it changes exactly it (or is
// refused, for protocol), and that a change behind Panka's back shows in Read and is undone.
func TestAPIGatewayFields(t *testing.T) {
	p := newProvider(t)
	c, fc := apiClient(t), lambdaClient(t)
	fn, fnARN := function(t, fc)
	auth, authARN := function(t, fc)
	look := apiView(c, fc, fnARN, authARN)
	idOf := func(t *testing.T, apiID, key string) *string {
		rs, err := c.GetRoutes(t.Context(), &apigatewayv2.GetRoutesInput{ApiId: aws.String(apiID)})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs.Items {
			if aws.ToString(r.RouteKey) == key {
				return r.RouteId
			}
		}
		t.Fatalf("no route %s", key)
		return nil
	}
	domain := fmt.Sprintf("api%d.example.com", serial.Add(1))
	cert := "arn:aws:acm:us-east-1:000000000000:certificate/api"

	cases := []fieldCase{
		{name: "protocol", set: func(s map[string]any) { s["protocol"], s["stage"] = "WEBSOCKET", "prod" },
			want: view{"protocol": "WEBSOCKET"}, forceNew: true},
		{name: "routeSelectionExpression", base: apiWebSocket, set: func(s map[string]any) { s["routeSelectionExpression"] = "$request.body.op" },
			want: view{"rse": "$request.body.op"},
			drift: func(t *testing.T, id string) {
				if _, err := c.UpdateApi(t.Context(), &apigatewayv2.UpdateApiInput{ApiId: aws.String(id), RouteSelectionExpression: aws.String("$request.body.x")}); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "cors", set: func(s map[string]any) {
			s["cors"] = m{"allowOrigins": l{"https://app.example.com"}, "allowMethods": l{"GET", "POST"}, "allowHeaders": l{"x-panka"},
				"allowCredentials": true, "maxAge": int64(300)}
		},
			want: view{"cors": jsonText(agtypes.Cors{AllowOrigins: []string{"https://app.example.com"}, AllowMethods: []string{"GET", "POST"},
				AllowHeaders: []string{"x-panka"}, AllowCredentials: aws.Bool(true), MaxAge: aws.Int32(300)})},
			drift: func(t *testing.T, id string) {
				if _, err := c.DeleteCorsConfiguration(t.Context(), &apigatewayv2.DeleteCorsConfigurationInput{ApiId: aws.String(id)}); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "routes", set: func(s map[string]any) {
			s["routes"] = l{m{"route": "GET /orders", "target": fn, "authorization": "NONE"}, m{"route": "POST /orders", "target": fn, "authorization": "AWS_IAM"}}
		},
			want: view{"route:GET /orders": fnARN + " 2.0 NONE", "route:POST /orders": fnARN + " 2.0 AWS_IAM", "integrations": "1", "permission:" + fnARN: "yes"},
			drift: func(t *testing.T, id string) {
				if _, err := c.DeleteRoute(t.Context(), &apigatewayv2.DeleteRouteInput{ApiId: aws.String(id), RouteId: idOf(t, id, "GET /orders")}); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "routes (WebSocket)", base: apiWebSocket, set: func(s map[string]any) {
			s["routes"] = l{m{"route": "$connect", "target": fn, "authorization": "CUSTOM", "authorizer": auth}, m{"route": "$default", "target": fn, "authorization": "NONE"}}
		},
			want: view{"route:$connect": fnARN + " 1.0 CUSTOM REQUEST arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/" + authARN + "/invocations",
				"route:$default": fnARN + " 1.0 NONE", "integrations": "1", "authorizers": "1", "permission:" + fnARN: "yes", "permission:" + authARN: "yes"}},
		{name: "routes[].jwt", set: func(s map[string]any) {
			s["routes"] = l{m{"route": "GET /me", "target": fn, "authorization": "JWT", "jwt": m{"issuer": "https://id.example.com", "audience": l{"app"}}}}
		},
			want: view{"route:GET /me": fnARN + " 2.0 JWT JWT https://id.example.com app", "integrations": "1", "authorizers": "1", "permission:" + fnARN: "yes"},
			drift: func(t *testing.T, id string) {
				if _, err := c.UpdateRoute(t.Context(), &apigatewayv2.UpdateRouteInput{ApiId: aws.String(id), RouteId: idOf(t, id, "GET /me"),
					AuthorizationType: agtypes.AuthorizationTypeAwsIam}); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "routes[].authorizer", set: func(s map[string]any) {
			s["routes"] = l{m{"route": "ANY /{proxy+}", "target": fn, "authorization": "CUSTOM", "authorizer": auth}}
		},
			want: view{"route:ANY /{proxy+}": fnARN + " 2.0 CUSTOM REQUEST arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/" + authARN + "/invocations",
				"integrations": "1", "authorizers": "1", "permission:" + fnARN: "yes", "permission:" + authARN: "yes"},
			drift: func(t *testing.T, id string) {
				if _, err := fc.RemovePermission(t.Context(), &lambda.RemovePermissionInput{FunctionName: aws.String(authARN),
					StatementId: aws.String("panka-apigw-" + strings.ReplaceAll(apiName(t, c, id), ".", "_"))}); err != nil {
					t.Fatal(err)
				}
				// The permission is not in the spec: change the route too, so that Read shows drift.
				if _, err := c.UpdateRoute(t.Context(), &apigatewayv2.UpdateRouteInput{ApiId: aws.String(id), RouteId: idOf(t, id, "ANY /{proxy+}"),
					AuthorizationType: agtypes.AuthorizationTypeNone}); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "stage", set: func(s map[string]any) { s["stage"] = "v1" },
			want: view{"stage:v1": "autoDeploy=true", "stage:v1.owner": "tagged", "stage:$default": "", "stage:$default.owner": ""}},
		{name: "throttling", set: func(s map[string]any) { s["throttling"] = m{"burstLimit": int64(100), "rateLimit": int64(50)} },
			want: view{"stage:$default": "autoDeploy=true burst=100 rate=50"},
			drift: func(t *testing.T, id string) {
				if _, err := c.UpdateStage(t.Context(), &apigatewayv2.UpdateStageInput{ApiId: aws.String(id), StageName: aws.String("$default"),
					DefaultRouteSettings: &agtypes.RouteSettings{ThrottlingBurstLimit: aws.Int32(1), ThrottlingRateLimit: aws.Float64(1)}}); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "customDomain", set: func(s map[string]any) { s["customDomain"] = m{"domainName": domain, "certificateArn": cert} },
			want: view{"domain:" + domain: cert + " REGIONAL", "domain:" + domain + ".owner": "tagged", "mapping:" + domain: "$default"},
			drift: func(t *testing.T, id string) {
				ms, err := c.GetApiMappings(t.Context(), &apigatewayv2.GetApiMappingsInput{DomainName: aws.String(domain)})
				if err != nil {
					t.Fatal(err)
				}
				for _, mp := range ms.Items {
					if aws.ToString(mp.ApiId) == id {
						if _, err := c.DeleteApiMapping(t.Context(), &apigatewayv2.DeleteApiMappingInput{DomainName: aws.String(domain), ApiMappingId: mp.ApiMappingId}); err != nil {
							t.Fatal(err)
						}
					}
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkFieldCase(t, p, "APIGateway", apiBase, func(map[string]any) string { return "" }, tc, look)
		})
	}
}

func apiName(t *testing.T, c *apigatewayv2.Client, id string) string {
	t.Helper()
	out, err := c.GetApi(t.Context(), &apigatewayv2.GetApiInput{ApiId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.Name)
}

// An API with routes to two functions, a JWT and a Lambda authorizer and a custom domain reports
// its outputs and every part; routes sharing a function share one integration; an update that
// drops a function takes its integration and permission; Delete leaves nothing behind: not the
// API, its domain name, nor a permission on the functions.
func TestAPIGatewayPartsAndDelete(t *testing.T) {
	p := newProvider(t)
	c, fc := apiClient(t), lambdaClient(t)
	fn1, arn1 := function(t, fc)
	fn2, arn2 := function(t, fc)
	authFn, authARN := function(t, fc)
	domain := fmt.Sprintf("parts%d.example.com", serial.Add(1))
	spec := apiBase()
	spec["stage"] = "live"
	spec["routes"] = l{
		m{"route": "GET /a", "target": fn1, "authorization": "NONE"},
		m{"route": "GET /b", "target": fn1, "authorization": "JWT", "jwt": m{"issuer": "https://id.example.com", "audience": l{"x", "y"}}},
		m{"route": "GET /c", "target": fn2, "authorization": "CUSTOM", "authorizer": authFn},
	}
	spec["customDomain"] = m{"domainName": domain, "certificateArn": "arn:aws:acm:us-east-1:000000000000:certificate/p"}
	r := component("APIGateway", unique("api"), "", spec)
	obs, err := p.Create(t.Context(), r)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	look := apiView(c, fc, arn1, arn2, authARN)
	wantIn(t, "after Create", look(t, obs.ID), view{"integrations": "2", "authorizers": "2",
		"permission:" + arn1: "yes", "permission:" + arn2: "yes", "permission:" + authARN: "yes", "mapping:" + domain: "live"})

	api, err := c.GetApi(t.Context(), &apigatewayv2.GetApiInput{ApiId: aws.String(obs.ID)})
	if err != nil {
		t.Fatal(err)
	}
	wantOut := map[string]string{
		"apiId": obs.ID, "endpoint": aws.ToString(api.ApiEndpoint) + "/live",
		"executionArn": "arn:aws:execute-api:us-east-1:000000000000:" + obs.ID, "arn": "arn:aws:apigateway:us-east-1::/apis/" + obs.ID,
	}
	for k, v := range wantOut {
		if obs.Outputs[k] != v {
			t.Errorf("output %s = %q, want %q", k, obs.Outputs[k], v)
		}
	}
	count := map[string]int{}
	for _, part := range obs.Parts {
		count[part.Type]++
		if part.ID == "" {
			t.Errorf("part %+v has no ID", part)
		}
	}
	wantParts := map[string]int{"AWS::ApiGatewayV2::Integration": 2, "AWS::ApiGatewayV2::Authorizer": 2, "AWS::ApiGatewayV2::Route": 3,
		"AWS::ApiGatewayV2::Stage": 1, "AWS::ApiGatewayV2::DomainName": 1, "AWS::ApiGatewayV2::ApiMapping": 1, "AWS::Lambda::Permission": 3}
	if fmt.Sprint(count) != fmt.Sprint(wantParts) {
		t.Errorf("parts by type = %v, want %v", count, wantParts)
	}

	// A change of the component's tags reaches the stage and the domain name.
	r.Tags["team"] = "web"
	if _, err := p.Update(t.Context(), obs.ID, r, nil); err != nil {
		t.Fatalf("Update of the tags: %v", err)
	}
	stage, err := c.GetStage(t.Context(), &apigatewayv2.GetStageInput{ApiId: aws.String(obs.ID), StageName: aws.String("live")})
	if err != nil {
		t.Fatal(err)
	}
	dn, err := c.GetDomainName(t.Context(), &apigatewayv2.GetDomainNameInput{DomainName: aws.String(domain)})
	if err != nil {
		t.Fatal(err)
	}
	if stage.Tags["team"] != "web" || dn.Tags["team"] != "web" || stage.Tags["panka:stack"] != "shop" {
		t.Errorf("tags of the stage %v and the domain name %v, want the component's", stage.Tags, dn.Tags)
	}

	// Dropping fn2's route takes its integration, the Lambda authorizer and their permissions.
	r.Spec = apiBase()
	r.Spec["stage"] = "live"
	r.Spec["routes"] = l{spec["routes"].([]any)[0], spec["routes"].([]any)[1]}
	r.Spec["customDomain"] = spec["customDomain"]
	if _, err := p.Update(t.Context(), obs.ID, r, []string{"routes"}); err != nil {
		t.Fatalf("Update: %v", err)
	}
	wantIn(t, "after dropping a route", look(t, obs.ID), view{"integrations": "1", "authorizers": "1", "route:GET /c": "",
		"permission:" + arn1: "yes", "permission:" + arn2: "", "permission:" + authARN: ""})

	if err := p.Delete(t.Context(), obs.ID, r); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := c.GetApi(t.Context(), &apigatewayv2.GetApiInput{ApiId: aws.String(obs.ID)}); err == nil {
		t.Error("the API is still there")
	}
	if _, err := c.GetDomainName(t.Context(), &apigatewayv2.GetDomainNameInput{DomainName: aws.String(domain)}); err == nil {
		t.Error("the domain name is still there")
	}
	for _, fn := range []string{arn1, arn2, authARN} {
		if policyMentions(t, fc, fn, obs.ID) {
			t.Errorf("%s still lets the deleted API invoke it", fn)
		}
	}
}

// A route whose target is no Lambda function and names no loadBalancer (a MicroService the engine
// did not place: VPC links need the load balancer) fails
// Create with an error naming the route, and leaves no API behind.
func TestAPIGatewayMicroServiceTarget(t *testing.T) {
	p := newProvider(t)
	spec := apiBase()
	spec["routes"] = l{m{"route": "GET /web", "target": "web", "authorization": "NONE"}}
	r := component("APIGateway", unique("api"), "", spec)
	_, err := p.Create(t.Context(), r)
	if err == nil || !strings.Contains(err.Error(), "GET /web") || !strings.Contains(err.Error(), "MicroService") {
		t.Fatalf("Create with a MicroService target: %v; want an error naming the route and MicroService targets", err)
	}
	if _, err := p.Find(t.Context(), r); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("Find after the failed Create: %v, want ErrNotFound", err)
	}
}

// After a crash between CreateApi and the parts, the API is found again by name: Create says it
// exists, Find adopts it, and Update makes the rest.
func TestAPIGatewayCrashHalfway(t *testing.T) {
	p := newProvider(t)
	c, fc := apiClient(t), lambdaClient(t)
	fn, fnARN := function(t, fc)
	spec := apiBase()
	spec["routes"] = l{m{"route": "GET /", "target": fn, "authorization": "NONE"}}
	r := component("APIGateway", unique("api"), "", spec)
	out, err := c.CreateApi(t.Context(), &apigatewayv2.CreateApiInput{Name: aws.String(r.Name), ProtocolType: agtypes.ProtocolTypeHttp, Tags: r.Tags})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(out.ApiId)
	t.Cleanup(func() { _ = p.Delete(context.Background(), id, r) })
	if _, err := p.Create(t.Context(), r); !errors.Is(err, provider.ErrAlreadyExists) {
		t.Fatalf("Create over the half-made API: %v, want ErrAlreadyExists", err)
	}
	found, err := p.Find(t.Context(), r)
	if err != nil || found.ID != id {
		t.Fatalf("Find = %v, %v; want the API %s", found, err, id)
	}
	updated, err := p.Update(t.Context(), id, r, nil)
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if diff := cmp.Diff(spec, updated.Spec, unsetIsAbsent); diff != "" {
		t.Errorf("spec after Update (-want +got):\n%s", diff)
	}
	wantIn(t, "after Update", apiView(c, fc, fnARN)(t, id), view{"route:GET /": fnARN + " 2.0 NONE", "stage:$default": "autoDeploy=true", "permission:" + fnARN: "yes"})
}

// A custom domain name that exists with another owner's tags fails Create, before any API is
// made, and is left as it was.
func TestAPIGatewayForeignDomain(t *testing.T) {
	p := newProvider(t)
	c := apiClient(t)
	domain := fmt.Sprintf("taken%d.example.com", serial.Add(1))
	_, err := c.CreateDomainName(t.Context(), &apigatewayv2.CreateDomainNameInput{DomainName: aws.String(domain), Tags: map[string]string{"panka:address": "other/api"},
		DomainNameConfigurations: []agtypes.DomainNameConfiguration{{CertificateArn: aws.String("arn:aws:acm:us-east-1:000000000000:certificate/o"), EndpointType: agtypes.EndpointTypeRegional}}})
	if err != nil {
		t.Fatal(err)
	}
	spec := apiBase()
	spec["customDomain"] = m{"domainName": domain, "certificateArn": "arn:aws:acm:us-east-1:000000000000:certificate/mine"}
	r := component("APIGateway", unique("api"), "", spec)
	if _, err := p.Create(t.Context(), r); err == nil || !strings.Contains(err.Error(), "is not this API's") {
		t.Fatalf("Create with another's domain name: %v", err)
	}
	if _, err := p.Find(t.Context(), r); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("Find after the failed Create: %v, want ErrNotFound", err)
	}
	d, err := c.GetDomainName(t.Context(), &apigatewayv2.GetDomainNameInput{DomainName: aws.String(domain)})
	if err != nil || aws.ToString(d.DomainNameConfigurations[0].CertificateArn) != "arn:aws:acm:us-east-1:000000000000:certificate/o" {
		t.Errorf("the other's domain name changed: %+v, %v", d, err)
	}
}

// Update and Delete refuse an API whose ownership tags name another deployment.
func TestAPIGatewayOwnership(t *testing.T) {
	testOwnership(t, newProvider(t), component("APIGateway", unique("api"), "", apiBase()), func(t *testing.T, id string) bool {
		_, err := apiClient(t).GetApi(t.Context(), &apigatewayv2.GetApiInput{ApiId: aws.String(id)})
		return err == nil
	})
}

// testOwnership deploys r, then checks that Update and Delete by another stack's resource of the
// same name are refused with an *provider.OwnershipError, the resource still there (exists).
func testOwnership(t *testing.T, p *pankaaws.Provider, r provider.Resource, exists func(t *testing.T, id string) bool) {
	t.Helper()
	obs := deploy(t, p, r)
	other := r
	other.Tags = map[string]string{"panka:tenant": "acme", "panka:stack": "other", "panka:environment": "dev", "panka:address": r.Address}
	var own *provider.OwnershipError
	if _, err := p.Update(t.Context(), obs.ID, other, nil); !errors.As(err, &own) {
		t.Errorf("Update by another stack: %v, want an ownership error", err)
	}
	if err := p.Delete(t.Context(), obs.ID, other); !errors.As(err, &own) {
		t.Errorf("Delete by another stack: %v, want an ownership error", err)
	}
	if !exists(t, obs.ID) {
		t.Error("the resource is gone after refused calls")
	}
	if _, err := p.Find(t.Context(), other); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("Find by another stack: %v, want ErrNotFound", err)
	}
}
