package aws

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	agtypes "github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/panka/panka/provider"
)

// APIGateway: an API Gateway v2 API named after the component, and its parts. The fields of
// schema.APIGatewaySpec:
//
//	protocol                  ProtocolType HTTP or WEBSOCKET (CreateApi only; ForceNew)
//	routeSelectionExpression  the WebSocket API's; an HTTP API's is AWS's own, and reads back as
//	                          the schema's default
//	cors                      the HTTP API's CorsConfiguration (DeleteCorsConfiguration without)
//	routes[]                  one route each, by route key
//	  target                  a Lambda component, resolved by name to its function (GetFunction),
//	                          or a function ARN; one AWS_PROXY integration per distinct function
//	                          (payload format 2.0 on HTTP APIs). A route with loadBalancer and
//	                          listenerPort (injected for a MicroService target) is a private
//	                          integration through the API's VPC link (apigateway_vpclink.go)
//	network                   the VPC link's subnets and security groups (vpcId reads back from
//	                          the first subnet)
//	  authorization           the route's AuthorizationType; JWT and CUSTOM with an authorizer
//	  jwt                     a JWT authorizer (identity source the Authorization header), one per
//	                          distinct issuer and audience, named "jwt-<hash>"
//	  authorizer              CUSTOM: a REQUEST authorizer of a Lambda component (payload 2.0,
//	                          simple responses on HTTP APIs), one per function, named "fn-<hash>"
//	stage                     the one stage (AutoDeploy on HTTP APIs; a WebSocket API gets a
//	                          deployment after every change)
//	throttling                the stage's default route settings (removing it makes the stage
//	                          anew: AWS has no call that unsets them)
//	customDomain              a regional domain name (TLS 1.2) with an API mapping to the stage
//
// Every function the API invokes (targets and authorizers) gets a permission
// (lambda:InvokeFunction for apigateway.amazonaws.com, SourceArn the API's execute-api ARN with
// /*) whose StatementId derives from the API's name, so that it is found again; it goes when the
// function is no longer used or the API is deleted. Integrations, authorizers, routes, the stage,
// the domain name, its mapping, the VPC link and the permissions are parts of the component
// (Observed.Parts).
// The API, its stage and its domain name carry the component's tags.
//
// The physical ID is the API ID. Routes read back sorted by route key, and a JWT audience in
// AWS's order. A target or authorizer function reads back as its component's address when its
// panka:address tag names one of the deployment's ("name" in the API's own service,
// "service/name" in another), else by the naming rule in the API's own service, else as its
// ARN. A permission removed behind Panka's back shows in Parts, not in the spec; the next Update
// adds it again.
//
// Outputs: apiId, endpoint (the stage's invoke URL: the API endpoint, plus "/" and the stage
// name unless it is $default), executionArn (arn:aws:execute-api:REGION:ACCOUNT:APIID), arn.

const (
	apiDefaultStage  = "$default"
	apiHTTPRSE       = "$request.body.action" // the schema's default, which an HTTP API reads back as
	apiIdentity      = "$request.header.Authorization"
	apiPrincipal     = "apigateway.amazonaws.com"
	apiStatementLen  = 100
	apiIntegrationTo = "integrations/"
)

type apiKind struct {
	p  *Provider
	c  *apigatewayv2.Client
	fn *lambda.Client
}

func newAPIGateway(p *Provider) kind {
	return &apiKind{p: p, c: apigatewayv2.NewFromConfig(p.cfg), fn: lambda.NewFromConfig(p.cfg)}
}

// apiLive is an API as read: the API and every part.
type apiLive struct {
	api          *apigatewayv2.GetApiOutput
	integrations []agtypes.Integration
	authorizers  []agtypes.Authorizer
	routes       []agtypes.Route
	stages       []agtypes.Stage
	links        []agtypes.VpcLink                 // the VPC links of the API's name
	domain       *apigatewayv2.GetDomainNameOutput // nil: none mapped to the API
	mappings     []agtypes.ApiMapping              // the API's mappings on domain
	permissions  []string                          // function ARNs carrying the API's statement
}

// apiWant is what a spec asks for, its references resolved.
type apiWant struct {
	protocol   string
	rse        string
	cors       *agtypes.Cors
	functions  []string              // every function invoked (targets, then authorizers), distinct
	targets    []string              // distinct integration keys (function ARNs, privateKey), in order
	private    map[string]apiPrivate // by integration key
	link       *apiLink              // nil: no private integration
	routes     []apiRoute
	stage      string
	throttling *agtypes.RouteSettings
	domain     string
	cert       string
}

type apiRoute struct {
	key        string
	target     string // integration key: the function's ARN, or a private integration's privateKey
	auth       agtypes.AuthorizationType
	authorizer *apiAuthorizer
}

// apiAuthorizer is an authorizer as a spec asks for it: its deterministic name says what it is.
type apiAuthorizer struct {
	name     string
	issuer   string
	audience []string
	function string // REQUEST authorizers: the function ARN
}

func (k *apiKind) lookup(ctx context.Context, name string) (string, error) {
	in := &apigatewayv2.GetApisInput{}
	for {
		out, err := k.c.GetApis(ctx, in)
		if err != nil {
			return "", err
		}
		for _, a := range out.Items {
			if aws.ToString(a.Name) == name {
				return aws.ToString(a.ApiId), nil
			}
		}
		if aws.ToString(out.NextToken) == "" {
			return "", fmt.Errorf("%w: no API named %s", provider.ErrNotFound, name)
		}
		in.NextToken = out.NextToken
	}
}

func (k *apiKind) create(ctx context.Context, r provider.Resource) (string, error) {
	w, err := k.want(ctx, r)
	if err != nil {
		return "", err
	}
	if w.domain != "" {
		// A domain name someone else has fails the Create before the API is made.
		d, err := k.c.GetDomainName(ctx, &apigatewayv2.GetDomainNameInput{DomainName: aws.String(w.domain)})
		if err == nil {
			err = ownDomain(d, r.Tags)
		}
		if err != nil && !isNotFound(err) {
			return "", err
		}
	}
	// VPC links of the name outlive an API whose delete stopped before them: adopted, or
	// deleted as stale, when they are this component's; another owner's fails the Create before
	// the API is made.
	links, err := k.links(ctx, r.Name)
	if err != nil {
		return "", err
	}
	for _, v := range links {
		if err := provider.CheckOwner("VPC link", aws.ToString(v.VpcLinkId), v.Tags, r.Tags); err != nil {
			return "", err
		}
	}
	in := &apigatewayv2.CreateApiInput{Name: aws.String(r.Name), ProtocolType: agtypes.ProtocolType(w.protocol), Tags: cloneTags(r.Tags)}
	if w.protocol == string(agtypes.ProtocolTypeWebsocket) {
		in.RouteSelectionExpression = aws.String(w.rse)
	} else {
		in.CorsConfiguration = w.cors
	}
	out, err := k.c.CreateApi(ctx, in)
	if err != nil {
		return "", err
	}
	id := aws.ToString(out.ApiId)
	api, err := k.c.GetApi(ctx, &apigatewayv2.GetApiInput{ApiId: out.ApiId})
	if err != nil {
		return "", err
	}
	if err := k.converge(ctx, &apiLive{api: api, links: links}, w, r.Tags); err != nil {
		return "", err
	}
	return id, nil
}

// want resolves r.Spec: every target and authorizer to its function's ARN.
func (k *apiKind) want(ctx context.Context, r provider.Resource) (*apiWant, error) {
	s := r.Spec
	w := &apiWant{protocol: specString(s, "protocol"), rse: specString(s, "routeSelectionExpression"), stage: specString(s, "stage")}
	if w.protocol == "" {
		w.protocol = string(agtypes.ProtocolTypeHttp)
	}
	if w.stage == "" {
		w.stage = apiDefaultStage
	}
	if c := specMap(s, "cors"); c != nil {
		w.cors = &agtypes.Cors{
			AllowOrigins: specStrings(c, "allowOrigins"), AllowMethods: specStrings(c, "allowMethods"), AllowHeaders: specStrings(c, "allowHeaders"),
			AllowCredentials: aws.Bool(specBool(c, "allowCredentials")), MaxAge: aws.Int32(int32(specInt(c, "maxAge", 0))),
		}
	}
	if t := specMap(s, "throttling"); t != nil {
		w.throttling = &agtypes.RouteSettings{
			ThrottlingBurstLimit: aws.Int32(int32(specInt(t, "burstLimit", 0))), ThrottlingRateLimit: aws.Float64(float64(specInt(t, "rateLimit", 0))),
		}
	}
	if d := specMap(s, "customDomain"); d != nil {
		w.domain, w.cert = specString(d, "domainName"), specString(d, "certificateArn")
	}
	var authorizerFns []string
	for i, e := range specList(s, "routes") {
		m, _ := e.(map[string]any)
		rt := apiRoute{key: specString(m, "route"), auth: agtypes.AuthorizationType(specString(m, "authorization"))}
		if rt.auth == "" {
			rt.auth = agtypes.AuthorizationTypeNone
		}
		var arn string
		if lb := specString(m, "loadBalancer"); lb != "" {
			if w.protocol != string(agtypes.ProtocolTypeHttp) {
				return nil, fmt.Errorf("routes[%d] (%s): a WebSocket API cannot route to a service's load balancer", i, rt.key)
			}
			listener, err := k.listenerOf(ctx, lb, int64(specInt(m, "listenerPort", 0)))
			if err != nil {
				return nil, fmt.Errorf("routes[%d] (%s): target: %w", i, rt.key, err)
			}
			arn = privateKey(listener, specString(m, "target"))
			if w.private == nil {
				w.private = map[string]apiPrivate{}
			}
			w.private[arn] = apiPrivate{listener: listener, service: specString(m, "target")}
		} else {
			fn, err := k.function(ctx, r, specString(m, "target"))
			if err != nil {
				return nil, fmt.Errorf("routes[%d] (%s): target: %w", i, rt.key, err)
			}
			arn = fn
			if !slices.Contains(w.functions, fn) {
				w.functions = append(w.functions, fn)
			}
		}
		rt.target = arn
		if !slices.Contains(w.targets, arn) {
			w.targets = append(w.targets, arn)
		}
		switch rt.auth {
		case agtypes.AuthorizationTypeJwt:
			j := specMap(m, "jwt")
			a := &apiAuthorizer{issuer: specString(j, "issuer"), audience: specStrings(j, "audience")}
			a.name = "jwt-" + hash8(a.issuer+"\x00"+strings.Join(a.audience, "\x00"))
			rt.authorizer = a
		case agtypes.AuthorizationTypeCustom:
			fn, err := k.function(ctx, r, specString(m, "authorizer"))
			if err != nil {
				return nil, fmt.Errorf("routes[%d] (%s): authorizer: %w", i, rt.key, err)
			}
			rt.authorizer = &apiAuthorizer{name: "fn-" + hash8(fn), function: fn}
			authorizerFns = append(authorizerFns, fn)
		}
		w.routes = append(w.routes, rt)
	}
	if w.private != nil {
		n := specMap(s, "network")
		w.link = &apiLink{subnets: specStrings(n, "subnets"), groups: specStrings(n, "securityGroups")}
		if len(w.link.subnets) == 0 {
			return nil, errors.New("a route to a service needs network.subnets for the API's VPC link (the engine injects them when the environment has a network)")
		}
	}
	for _, fn := range authorizerFns {
		if !slices.Contains(w.functions, fn) {
			w.functions = append(w.functions, fn)
		}
	}
	return w, nil
}

// function returns the ARN of the Lambda function ref names: a component of r's deployment
// (resolved by name), or an ARN as it is. A name that is no function is an error saying so.
func (k *apiKind) function(ctx context.Context, r provider.Resource, ref string) (string, error) {
	if ref == "" {
		return "", errors.New("none given")
	}
	if isARN(ref) {
		return ref, nil
	}
	d, err := deploymentOf(r.Name, r.Address)
	if err != nil {
		return "", fmt.Errorf("resolving %q: %v", ref, err)
	}
	name := d.physicalName(ref, "")
	out, err := k.fn.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)})
	if isNotFound(err) {
		return "", fmt.Errorf("%s is not a Lambda function (no function %s), and the route names no loadBalancer (a MicroService target's, which the engine injects)", ref, name)
	}
	if err != nil {
		return "", fmt.Errorf("function %s: %w", name, err)
	}
	if out.Configuration == nil || aws.ToString(out.Configuration.FunctionArn) == "" {
		return "", fmt.Errorf("function %s: GetFunction gave no ARN", name)
	}
	return unqualified(aws.ToString(out.Configuration.FunctionArn)), nil
}

// unqualified returns a function ARN without a version or alias qualifier.
func unqualified(arn string) string {
	if i := strings.Index(arn, ":function:"); i >= 0 {
		rest := arn[i+len(":function:"):]
		if j := strings.Index(rest, ":"); j >= 0 {
			return arn[:i+len(":function:")+j]
		}
	}
	return arn
}

func hash8(s string) string {
	h := fnv.New32a()
	h.Write([]byte(s))
	return fmt.Sprintf("%08x", h.Sum32())
}

func specStrings(m map[string]any, key string) []string {
	var out []string
	for _, v := range specList(m, key) {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// statementID is the StatementId of the permission the API name adds to the functions it
// invokes.
var statementUnsafe = regexp.MustCompile(`[^A-Za-z0-9_-]`)

func statementID(apiName string) string {
	return cutName(statementUnsafe.ReplaceAllString("panka-apigw-"+apiName, "_"), apiStatementLen)
}

// executionARN is the API's execute-api ARN.
func (k *apiKind) executionARN(ctx context.Context, apiID string) (string, error) {
	account, err := k.p.accountID(ctx)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("arn:%s:execute-api:%s:%s:%s", k.p.partition(), k.p.cfg.Region, account, apiID), nil
}

// apiARN is the ARN API Gateway tags the API (or, with a suffix, one of its parts) by.
func (k *apiKind) apiARN(path string) string {
	return fmt.Sprintf("arn:%s:apigateway:%s::%s", k.p.partition(), k.p.cfg.Region, path)
}

// converge makes the live API l what w asks for, part by part, changing only what differs:
// the API's own settings, integrations and authorizers first (routes refer to them), then the
// routes, the stage and the domain, then the permissions; what is no longer used goes last.
// tags go on the parts made here (nil: the API's).
func (k *apiKind) converge(ctx context.Context, l *apiLive, w *apiWant, tags map[string]string) error {
	apiID := l.api.ApiId
	if tags == nil {
		tags = l.api.Tags
	}
	if err := k.convergeAPI(ctx, l, w); err != nil {
		return err
	}
	// The VPC link before the integrations through it.
	linkID, staleLinks, err := k.convergeLink(ctx, l, w, tags)
	if err != nil {
		return err
	}
	// Integrations: one per target function, one per private target.
	integrations := map[string]string{} // integration key -> integration ID
	var staleIntegrations []string
	for _, in := range l.integrations {
		uri := integrationKey(in)
		if _, dup := integrations[uri]; dup || !slices.Contains(w.targets, uri) {
			staleIntegrations = append(staleIntegrations, aws.ToString(in.IntegrationId))
			continue
		}
		integrations[uri] = aws.ToString(in.IntegrationId)
		if _, ok := w.private[uri]; ok {
			if in.IntegrationType != agtypes.IntegrationTypeHttpProxy || aws.ToString(in.PayloadFormatVersion) != "1.0" || aws.ToString(in.ConnectionId) != linkID ||
				aws.ToString(in.IntegrationMethod) != "ANY" {
				_, err := k.c.UpdateIntegration(ctx, &apigatewayv2.UpdateIntegrationInput{ApiId: apiID, IntegrationId: in.IntegrationId,
					IntegrationType: agtypes.IntegrationTypeHttpProxy, IntegrationMethod: aws.String("ANY"), ConnectionType: agtypes.ConnectionTypeVpcLink,
					ConnectionId: aws.String(linkID), PayloadFormatVersion: aws.String("1.0")})
				if err != nil {
					return fmt.Errorf("update integration of %s: %w", aws.ToString(in.IntegrationUri), err)
				}
			}
			continue
		}
		if payload := w.payloadFormat(); aws.ToString(in.PayloadFormatVersion) != payload || in.IntegrationType != agtypes.IntegrationTypeAwsProxy {
			_, err := k.c.UpdateIntegration(ctx, &apigatewayv2.UpdateIntegrationInput{ApiId: apiID, IntegrationId: in.IntegrationId,
				IntegrationType: agtypes.IntegrationTypeAwsProxy, PayloadFormatVersion: aws.String(payload)})
			if err != nil {
				return fmt.Errorf("update integration of %s: %w", uri, err)
			}
		}
	}
	for _, fn := range w.targets {
		if integrations[fn] != "" {
			continue
		}
		in := &apigatewayv2.CreateIntegrationInput{ApiId: apiID, IntegrationType: agtypes.IntegrationTypeAwsProxy,
			IntegrationUri: aws.String(fn), PayloadFormatVersion: aws.String(w.payloadFormat())}
		if p, ok := w.private[fn]; ok {
			in = &apigatewayv2.CreateIntegrationInput{ApiId: apiID, IntegrationType: agtypes.IntegrationTypeHttpProxy, IntegrationMethod: aws.String("ANY"),
				IntegrationUri: aws.String(p.listener), ConnectionType: agtypes.ConnectionTypeVpcLink, ConnectionId: aws.String(linkID),
				PayloadFormatVersion: aws.String("1.0"), Description: aws.String(p.service)}
		}
		out, err := k.c.CreateIntegration(ctx, in)
		if err != nil {
			return fmt.Errorf("create integration of %s: %w", fn, err)
		}
		integrations[fn] = aws.ToString(out.IntegrationId)
	}
	// Authorizers: by name, which says what they are.
	authorizers := map[string]string{} // name -> ID
	var staleAuthorizers []string
	wanted := map[string]*apiAuthorizer{}
	for _, rt := range w.routes {
		if rt.authorizer != nil {
			wanted[rt.authorizer.name] = rt.authorizer
		}
	}
	for _, a := range l.authorizers {
		name := aws.ToString(a.Name)
		if _, dup := authorizers[name]; dup || wanted[name] == nil || !k.sameAuthorizer(a, wanted[name], w) {
			staleAuthorizers = append(staleAuthorizers, aws.ToString(a.AuthorizerId))
			continue
		}
		authorizers[name] = aws.ToString(a.AuthorizerId)
	}
	for _, name := range slices.Sorted(maps.Keys(wanted)) {
		if authorizers[name] != "" {
			continue
		}
		if slices.ContainsFunc(l.authorizers, func(a agtypes.Authorizer) bool { return aws.ToString(a.Name) == name }) {
			// A stale authorizer of this name (changed behind Panka's back) goes first: names are
			// unique in an API.
			if err := k.unrouteAuthorizers(ctx, l, w, staleAuthorizers); err != nil {
				return err
			}
			for _, id := range staleAuthorizers {
				if err := k.deleteAuthorizer(ctx, apiID, id); err != nil {
					return err
				}
			}
			staleAuthorizers = nil
		}
		id, err := k.createAuthorizer(ctx, apiID, wanted[name], w)
		if err != nil {
			return err
		}
		authorizers[name] = id
	}
	// Routes, by key.
	live := map[string]agtypes.Route{}
	for _, rt := range l.routes {
		live[aws.ToString(rt.RouteKey)] = rt
	}
	for _, rt := range w.routes {
		target := apiIntegrationTo + integrations[rt.target]
		authID := ""
		if rt.authorizer != nil {
			authID = authorizers[rt.authorizer.name]
		}
		h, ok := live[rt.key]
		delete(live, rt.key)
		switch {
		case !ok:
			in := &apigatewayv2.CreateRouteInput{ApiId: apiID, RouteKey: aws.String(rt.key), Target: aws.String(target), AuthorizationType: rt.auth}
			if authID != "" {
				in.AuthorizerId = aws.String(authID)
			}
			if _, err := k.c.CreateRoute(ctx, in); err != nil {
				return fmt.Errorf("create route %s: %w", rt.key, err)
			}
		case aws.ToString(h.Target) != target || h.AuthorizationType != rt.auth || routeAuthorizer(h) != authID:
			_, err := k.c.UpdateRoute(ctx, &apigatewayv2.UpdateRouteInput{ApiId: apiID, RouteId: h.RouteId, Target: aws.String(target),
				AuthorizationType: rt.auth, AuthorizerId: aws.String(authID)})
			if err != nil {
				return fmt.Errorf("update route %s: %w", rt.key, err)
			}
		}
	}
	for _, key := range slices.Sorted(maps.Keys(live)) {
		if _, err := k.c.DeleteRoute(ctx, &apigatewayv2.DeleteRouteInput{ApiId: apiID, RouteId: live[key].RouteId}); err != nil && !isNotFound(err) {
			return fmt.Errorf("delete route %s: %w", key, err)
		}
	}
	for _, id := range staleAuthorizers {
		if err := k.deleteAuthorizer(ctx, apiID, id); err != nil {
			return err
		}
	}
	for _, id := range staleIntegrations {
		if _, err := k.c.DeleteIntegration(ctx, &apigatewayv2.DeleteIntegrationInput{ApiId: apiID, IntegrationId: aws.String(id)}); err != nil && !isNotFound(err) {
			return fmt.Errorf("delete integration %s: %w", id, err)
		}
	}
	for _, id := range staleLinks {
		if err := k.deleteLink(ctx, id); err != nil {
			return err
		}
	}
	if err := k.convergeStage(ctx, l, w, tags); err != nil {
		return err
	}
	if err := k.convergeDomain(ctx, l, w, tags); err != nil {
		return err
	}
	return k.convergePermissions(ctx, l, w.functions)
}

func (w *apiWant) payloadFormat() string {
	if w.protocol == string(agtypes.ProtocolTypeWebsocket) {
		return "1.0"
	}
	return "2.0"
}

func routeAuthorizer(r agtypes.Route) string {
	if r.AuthorizationType == agtypes.AuthorizationTypeJwt || r.AuthorizationType == agtypes.AuthorizationTypeCustom {
		return aws.ToString(r.AuthorizerId)
	}
	return ""
}

// unrouteAuthorizers points the routes using the authorizers ids at none, so that they can go.
func (k *apiKind) unrouteAuthorizers(ctx context.Context, l *apiLive, w *apiWant, ids []string) error {
	for _, rt := range l.routes {
		if !slices.Contains(ids, routeAuthorizer(rt)) {
			continue
		}
		_, err := k.c.UpdateRoute(ctx, &apigatewayv2.UpdateRouteInput{ApiId: l.api.ApiId, RouteId: rt.RouteId,
			AuthorizationType: agtypes.AuthorizationTypeNone, AuthorizerId: aws.String("")})
		if err != nil {
			return fmt.Errorf("update route %s: %w", aws.ToString(rt.RouteKey), err)
		}
	}
	return nil
}

func (k *apiKind) deleteAuthorizer(ctx context.Context, apiID *string, id string) error {
	_, err := k.c.DeleteAuthorizer(ctx, &apigatewayv2.DeleteAuthorizerInput{ApiId: apiID, AuthorizerId: aws.String(id)})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("delete authorizer %s: %w", id, err)
	}
	return nil
}

// authorizerURI is the invocation URI API Gateway calls a Lambda authorizer by.
func (k *apiKind) authorizerURI(fn string) string {
	return fmt.Sprintf("arn:%s:apigateway:%s:lambda:path/2015-03-31/functions/%s/invocations", k.p.partition(), k.p.cfg.Region, fn)
}

// authorizerFunction returns the function ARN in a Lambda authorizer's URI.
func authorizerFunction(uri string) string {
	_, rest, ok := strings.Cut(uri, "/functions/")
	if !ok {
		return uri
	}
	return strings.TrimSuffix(rest, "/invocations")
}

func (k *apiKind) createAuthorizer(ctx context.Context, apiID *string, a *apiAuthorizer, w *apiWant) (string, error) {
	in := &apigatewayv2.CreateAuthorizerInput{ApiId: apiID, Name: aws.String(a.name), IdentitySource: []string{apiIdentity}}
	if a.function == "" {
		in.AuthorizerType = agtypes.AuthorizerTypeJwt
		in.JwtConfiguration = &agtypes.JWTConfiguration{Issuer: aws.String(a.issuer), Audience: a.audience}
	} else {
		in.AuthorizerType = agtypes.AuthorizerTypeRequest
		in.AuthorizerUri = aws.String(k.authorizerURI(a.function))
		if w.protocol == string(agtypes.ProtocolTypeHttp) {
			in.AuthorizerPayloadFormatVersion = aws.String("2.0")
			in.EnableSimpleResponses = aws.Bool(true)
		} else {
			in.IdentitySource = []string{"route.request.header.Authorization"}
		}
	}
	out, err := k.c.CreateAuthorizer(ctx, in)
	if err != nil {
		return "", fmt.Errorf("create authorizer %s: %w", a.name, err)
	}
	return aws.ToString(out.AuthorizerId), nil
}

// sameAuthorizer reports whether the live authorizer h is the wanted a.
func (k *apiKind) sameAuthorizer(h agtypes.Authorizer, a *apiAuthorizer, w *apiWant) bool {
	if a.function != "" {
		simple := w.protocol != string(agtypes.ProtocolTypeHttp) || (aws.ToBool(h.EnableSimpleResponses) && aws.ToString(h.AuthorizerPayloadFormatVersion) == "2.0")
		return h.AuthorizerType == agtypes.AuthorizerTypeRequest && authorizerFunction(aws.ToString(h.AuthorizerUri)) == a.function && simple
	}
	j := h.JwtConfiguration
	return h.AuthorizerType == agtypes.AuthorizerTypeJwt && j != nil && aws.ToString(j.Issuer) == a.issuer && slices.Equal(j.Audience, a.audience)
}

// convergeAPI changes the API's route selection expression (WebSocket) and CORS (HTTP).
func (k *apiKind) convergeAPI(ctx context.Context, l *apiLive, w *apiWant) error {
	if string(l.api.ProtocolType) != w.protocol {
		return fmt.Errorf("protocol cannot change in place (%s to %s): the API must be replaced", l.api.ProtocolType, w.protocol)
	}
	if w.protocol == string(agtypes.ProtocolTypeWebsocket) {
		if aws.ToString(l.api.RouteSelectionExpression) == w.rse {
			return nil
		}
		_, err := k.c.UpdateApi(ctx, &apigatewayv2.UpdateApiInput{ApiId: l.api.ApiId, RouteSelectionExpression: aws.String(w.rse)})
		if err != nil {
			return fmt.Errorf("update route selection expression: %w", err)
		}
		return nil
	}
	switch have := corsSpec(l.api.CorsConfiguration); {
	case w.cors == nil && have == nil:
	case w.cors == nil:
		if _, err := k.c.DeleteCorsConfiguration(ctx, &apigatewayv2.DeleteCorsConfigurationInput{ApiId: l.api.ApiId}); err != nil && !isNotFound(err) {
			return fmt.Errorf("delete CORS configuration: %w", err)
		}
	case !equalSpec(have, corsSpec(w.cors)):
		if _, err := k.c.UpdateApi(ctx, &apigatewayv2.UpdateApiInput{ApiId: l.api.ApiId, CorsConfiguration: w.cors}); err != nil {
			return fmt.Errorf("update CORS configuration: %w", err)
		}
	}
	return nil
}

// corsSpec returns a CORS configuration as the spec writes it, nil for none.
func corsSpec(c *agtypes.Cors) map[string]any {
	if c == nil || (len(c.AllowOrigins) == 0 && len(c.AllowMethods) == 0 && len(c.AllowHeaders) == 0 &&
		!aws.ToBool(c.AllowCredentials) && aws.ToInt32(c.MaxAge) == 0 && len(c.ExposeHeaders) == 0) {
		return nil
	}
	m := map[string]any{"allowCredentials": aws.ToBool(c.AllowCredentials), "maxAge": int64(aws.ToInt32(c.MaxAge))}
	for key, l := range map[string][]string{"allowOrigins": c.AllowOrigins, "allowMethods": c.AllowMethods, "allowHeaders": c.AllowHeaders} {
		if len(l) > 0 {
			m[key] = anyList(l)
		}
	}
	return m
}

func anyList(l []string) []any {
	out := make([]any, len(l))
	for i, s := range l {
		out[i] = s
	}
	return out
}

func equalSpec(a, b map[string]any) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

// convergeStage makes the API's one stage the wanted one: other stages go (a renamed stage is
// made anew), and throttling that is removed makes the stage anew.
func (k *apiKind) convergeStage(ctx context.Context, l *apiLive, w *apiWant, tags map[string]string) error {
	apiID := l.api.ApiId
	var have *agtypes.Stage
	for i, s := range l.stages {
		if aws.ToString(s.StageName) == w.stage {
			have = &l.stages[i]
			continue
		}
		if err := k.deleteStage(ctx, l, aws.ToString(s.StageName)); err != nil {
			return err
		}
	}
	if have != nil && w.throttling == nil && stageThrottling(*have) != nil {
		if err := k.deleteStage(ctx, l, w.stage); err != nil {
			return err
		}
		have = nil
	}
	http := w.protocol == string(agtypes.ProtocolTypeHttp)
	switch {
	case have == nil:
		in := &apigatewayv2.CreateStageInput{ApiId: apiID, StageName: aws.String(w.stage), Tags: cloneTags(tags), DefaultRouteSettings: w.throttling}
		if http {
			in.AutoDeploy = aws.Bool(true)
		}
		if _, err := k.c.CreateStage(ctx, in); err != nil {
			return fmt.Errorf("create stage %s: %w", w.stage, err)
		}
	case (http && !aws.ToBool(have.AutoDeploy)) || !equalSpec(stageThrottling(*have), throttlingSpec(w.throttling)):
		in := &apigatewayv2.UpdateStageInput{ApiId: apiID, StageName: aws.String(w.stage), DefaultRouteSettings: w.throttling}
		if http {
			in.AutoDeploy = aws.Bool(true)
		}
		if _, err := k.c.UpdateStage(ctx, in); err != nil {
			return fmt.Errorf("update stage %s: %w", w.stage, err)
		}
	}
	if !http {
		// A WebSocket API serves what was deployed: deploy what converge made.
		if _, err := k.c.CreateDeployment(ctx, &apigatewayv2.CreateDeploymentInput{ApiId: apiID, StageName: aws.String(w.stage)}); err != nil {
			return fmt.Errorf("deploy stage %s: %w", w.stage, err)
		}
	}
	return nil
}

// deleteStage removes the stage name, and first the API's domain mappings to it.
func (k *apiKind) deleteStage(ctx context.Context, l *apiLive, name string) error {
	var keep []agtypes.ApiMapping
	for _, m := range l.mappings {
		if aws.ToString(m.Stage) != name {
			keep = append(keep, m)
			continue
		}
		_, err := k.c.DeleteApiMapping(ctx, &apigatewayv2.DeleteApiMappingInput{ApiMappingId: m.ApiMappingId, DomainName: l.domain.DomainName})
		if err != nil && !isNotFound(err) {
			return fmt.Errorf("delete API mapping %s: %w", aws.ToString(m.ApiMappingId), err)
		}
	}
	l.mappings = keep
	_, err := k.c.DeleteStage(ctx, &apigatewayv2.DeleteStageInput{ApiId: l.api.ApiId, StageName: aws.String(name)})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("delete stage %s: %w", name, err)
	}
	return nil
}

func stageThrottling(s agtypes.Stage) map[string]any {
	return throttlingSpec(s.DefaultRouteSettings)
}

// throttlingSpec returns route settings' throttling as the spec writes it, nil for none.
func throttlingSpec(rs *agtypes.RouteSettings) map[string]any {
	if rs == nil || (rs.ThrottlingBurstLimit == nil && rs.ThrottlingRateLimit == nil) {
		return nil
	}
	burst, rate := int64(aws.ToInt32(rs.ThrottlingBurstLimit)), int64(aws.ToFloat64(rs.ThrottlingRateLimit))
	if burst == 0 && rate == 0 {
		return nil
	}
	return map[string]any{"burstLimit": burst, "rateLimit": rate}
}

// convergeDomain makes the custom domain the wanted one, mapped to the stage.
func (k *apiKind) convergeDomain(ctx context.Context, l *apiLive, w *apiWant, tags map[string]string) error {
	if l.domain != nil && aws.ToString(l.domain.DomainName) != w.domain {
		if err := k.deleteDomain(ctx, l); err != nil {
			return err
		}
	}
	if w.domain == "" {
		return nil
	}
	if l.domain == nil {
		d, err := k.c.GetDomainName(ctx, &apigatewayv2.GetDomainNameInput{DomainName: aws.String(w.domain)})
		switch {
		case isNotFound(err):
			d = nil
		case err != nil:
			return fmt.Errorf("domain name %s: %w", w.domain, err)
		default:
			if err := ownDomain(d, tags); err != nil {
				return err
			}
		}
		if d == nil {
			_, err = k.c.CreateDomainName(ctx, &apigatewayv2.CreateDomainNameInput{DomainName: aws.String(w.domain), Tags: cloneTags(tags),
				DomainNameConfigurations: []agtypes.DomainNameConfiguration{domainConfig(w.cert)}})
			if err != nil {
				return fmt.Errorf("create domain name %s: %w", w.domain, err)
			}
			if d, err = k.c.GetDomainName(ctx, &apigatewayv2.GetDomainNameInput{DomainName: aws.String(w.domain)}); err != nil {
				return fmt.Errorf("domain name %s: %w", w.domain, err)
			}
		}
		l.domain = d
		if l.mappings, err = k.mappingsOf(ctx, w.domain, aws.ToString(l.api.ApiId)); err != nil {
			return err
		}
	}
	if c := l.domain.DomainNameConfigurations; len(c) != 1 || aws.ToString(c[0].CertificateArn) != w.cert || c[0].EndpointType != agtypes.EndpointTypeRegional {
		_, err := k.c.UpdateDomainName(ctx, &apigatewayv2.UpdateDomainNameInput{DomainName: aws.String(w.domain),
			DomainNameConfigurations: []agtypes.DomainNameConfiguration{domainConfig(w.cert)}})
		if err != nil {
			return fmt.Errorf("update domain name %s: %w", w.domain, err)
		}
	}
	mapped := false
	for _, m := range l.mappings {
		if aws.ToString(m.Stage) == w.stage && aws.ToString(m.ApiMappingKey) == "" && !mapped {
			mapped = true
			continue
		}
		_, err := k.c.DeleteApiMapping(ctx, &apigatewayv2.DeleteApiMappingInput{ApiMappingId: m.ApiMappingId, DomainName: aws.String(w.domain)})
		if err != nil && !isNotFound(err) {
			return fmt.Errorf("delete API mapping %s: %w", aws.ToString(m.ApiMappingId), err)
		}
	}
	if !mapped {
		_, err := k.c.CreateApiMapping(ctx, &apigatewayv2.CreateApiMappingInput{ApiId: l.api.ApiId, DomainName: aws.String(w.domain), Stage: aws.String(w.stage)})
		if err != nil {
			return fmt.Errorf("map %s to stage %s: %w", w.domain, w.stage, err)
		}
	}
	return nil
}

// ownDomain returns an error unless the existing domain name d carries the component's tags
// (made by an earlier run of its Create, or an earlier spec).
func ownDomain(d *apigatewayv2.GetDomainNameOutput, tags map[string]string) error {
	if d.Tags[tagAddress] == "" || d.Tags[tagAddress] != tags[tagAddress] || !sameDeployment(d.Tags, tags) {
		return fmt.Errorf("domain name %s exists and is not this API's (its panka:address is %q)", aws.ToString(d.DomainName), d.Tags[tagAddress])
	}
	return nil
}

func domainConfig(cert string) agtypes.DomainNameConfiguration {
	return agtypes.DomainNameConfiguration{CertificateArn: aws.String(cert), EndpointType: agtypes.EndpointTypeRegional, SecurityPolicy: agtypes.SecurityPolicyTls12}
}

// deleteDomain removes the API's mappings on its domain, then the domain name.
func (k *apiKind) deleteDomain(ctx context.Context, l *apiLive) error {
	name := l.domain.DomainName
	for _, m := range l.mappings {
		_, err := k.c.DeleteApiMapping(ctx, &apigatewayv2.DeleteApiMappingInput{ApiMappingId: m.ApiMappingId, DomainName: name})
		if err != nil && !isNotFound(err) {
			return fmt.Errorf("delete API mapping %s: %w", aws.ToString(m.ApiMappingId), err)
		}
	}
	if _, err := k.c.DeleteDomainName(ctx, &apigatewayv2.DeleteDomainNameInput{DomainName: name}); err != nil && !isNotFound(err) {
		return fmt.Errorf("delete domain name %s: %w", aws.ToString(name), err)
	}
	l.domain, l.mappings = nil, nil
	return nil
}

// convergePermissions gives every function of fns the API's permission, and takes it from the
// functions that had it and are no longer invoked.
func (k *apiKind) convergePermissions(ctx context.Context, l *apiLive, fns []string) error {
	sid := statementID(aws.ToString(l.api.Name))
	source, err := k.executionARN(ctx, aws.ToString(l.api.ApiId))
	if err != nil {
		return err
	}
	for _, fn := range fns {
		has, err := k.hasStatement(ctx, fn, sid)
		if err != nil {
			return err
		}
		if has {
			continue
		}
		_, err = k.fn.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: aws.String(fn), StatementId: aws.String(sid),
			Action: aws.String("lambda:InvokeFunction"), Principal: aws.String(apiPrincipal), SourceArn: aws.String(source + "/*")})
		if err != nil {
			return fmt.Errorf("permission for the API to invoke %s: %w", fn, err)
		}
	}
	for _, fn := range l.permissions {
		if slices.Contains(fns, fn) {
			continue
		}
		if err := k.removePermission(ctx, fn, sid); err != nil {
			return err
		}
	}
	return nil
}

func (k *apiKind) removePermission(ctx context.Context, fn, sid string) error {
	_, err := k.fn.RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: aws.String(fn), StatementId: aws.String(sid)})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("remove the API's permission from %s: %w", fn, err)
	}
	return nil
}

// hasStatement reports whether the function fn's policy has the statement sid (false for a
// function that does not exist).
func (k *apiKind) hasStatement(ctx context.Context, fn, sid string) (bool, error) {
	out, err := k.fn.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String(fn)})
	if isNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("policy of %s: %w", fn, err)
	}
	var policy struct {
		Statement []struct{ Sid string }
	}
	if err := json.Unmarshal([]byte(aws.ToString(out.Policy)), &policy); err != nil {
		return false, fmt.Errorf("policy of %s: %w", fn, err)
	}
	return slices.ContainsFunc(policy.Statement, func(s struct{ Sid string }) bool { return s.Sid == sid }), nil
}

func (k *apiKind) read(ctx context.Context, id string) (*live, error) {
	api, err := k.c.GetApi(ctx, &apigatewayv2.GetApiInput{ApiId: aws.String(id)})
	if err != nil {
		return nil, err
	}
	l := &apiLive{api: api}
	if err := k.readParts(ctx, l); err != nil {
		return nil, err
	}
	tags := maps.Clone(api.Tags)
	if tags == nil {
		tags = map[string]string{}
	}
	spec, err := k.spec(ctx, l, tags)
	if err != nil {
		return nil, err
	}
	exec, err := k.executionARN(ctx, id)
	if err != nil {
		return nil, err
	}
	arn := k.apiARN("/apis/" + id)
	endpoint := aws.ToString(api.ApiEndpoint)
	if stage, _ := spec["stage"].(string); stage != "" && stage != apiDefaultStage {
		endpoint += "/" + stage
	}
	return &live{
		obs: &provider.Observed{
			ID: id, Name: aws.ToString(api.Name), ARN: arn, Spec: spec, Tags: tags, Parts: k.parts(l),
			Outputs: map[string]string{"apiId": id, "endpoint": endpoint, "executionArn": exec, "arn": arn},
		},
		raw: l,
	}, nil
}

// readParts reads the API's integrations, authorizers, routes, stages, domain and permissions.
func (k *apiKind) readParts(ctx context.Context, l *apiLive) error {
	id := l.api.ApiId
	for in := (&apigatewayv2.GetIntegrationsInput{ApiId: id}); ; {
		out, err := k.c.GetIntegrations(ctx, in)
		if err != nil {
			return fmt.Errorf("integrations: %w", err)
		}
		l.integrations = append(l.integrations, out.Items...)
		if in.NextToken = out.NextToken; aws.ToString(out.NextToken) == "" {
			break
		}
	}
	for in := (&apigatewayv2.GetAuthorizersInput{ApiId: id}); ; {
		out, err := k.c.GetAuthorizers(ctx, in)
		if err != nil {
			return fmt.Errorf("authorizers: %w", err)
		}
		l.authorizers = append(l.authorizers, out.Items...)
		if in.NextToken = out.NextToken; aws.ToString(out.NextToken) == "" {
			break
		}
	}
	for in := (&apigatewayv2.GetRoutesInput{ApiId: id}); ; {
		out, err := k.c.GetRoutes(ctx, in)
		if err != nil {
			return fmt.Errorf("routes: %w", err)
		}
		l.routes = append(l.routes, out.Items...)
		if in.NextToken = out.NextToken; aws.ToString(out.NextToken) == "" {
			break
		}
	}
	slices.SortFunc(l.routes, func(a, b agtypes.Route) int {
		return strings.Compare(aws.ToString(a.RouteKey), aws.ToString(b.RouteKey))
	})
	for in := (&apigatewayv2.GetStagesInput{ApiId: id}); ; {
		out, err := k.c.GetStages(ctx, in)
		if err != nil {
			return fmt.Errorf("stages: %w", err)
		}
		l.stages = append(l.stages, out.Items...)
		if in.NextToken = out.NextToken; aws.ToString(out.NextToken) == "" {
			break
		}
	}
	if err := k.readDomain(ctx, l); err != nil {
		return err
	}
	links, err := k.links(ctx, aws.ToString(l.api.Name))
	if err != nil {
		return err
	}
	// A link of the name with another owner's tags is not the API's: left alone.
	l.links = slices.DeleteFunc(links, func(v agtypes.VpcLink) bool {
		return provider.CheckOwner("VPC link", aws.ToString(v.VpcLinkId), v.Tags, l.api.Tags) != nil
	})
	sid := statementID(aws.ToString(l.api.Name))
	for _, fn := range k.invoked(l) {
		has, err := k.hasStatement(ctx, fn, sid)
		if err != nil {
			return err
		}
		if has {
			l.permissions = append(l.permissions, fn)
		}
	}
	return nil
}

// invoked returns the functions the live API invokes: integration targets and authorizers.
func (k *apiKind) invoked(l *apiLive) []string {
	var out []string
	for _, in := range l.integrations {
		if uri := aws.ToString(in.IntegrationUri); strings.Contains(uri, ":function:") && !slices.Contains(out, uri) {
			out = append(out, uri)
		}
	}
	for _, a := range l.authorizers {
		if fn := authorizerFunction(aws.ToString(a.AuthorizerUri)); strings.Contains(fn, ":function:") && !slices.Contains(out, fn) {
			out = append(out, fn)
		}
	}
	return out
}

// readDomain finds the domain name the API is mapped on, if any: AWS records the mapping on
// the domain, so every domain name's mappings are looked at.
func (k *apiKind) readDomain(ctx context.Context, l *apiLive) error {
	apiID := aws.ToString(l.api.ApiId)
	for in := (&apigatewayv2.GetDomainNamesInput{}); ; {
		out, err := k.c.GetDomainNames(ctx, in)
		if err != nil {
			return fmt.Errorf("domain names: %w", err)
		}
		for _, d := range out.Items {
			ms, err := k.mappingsOf(ctx, aws.ToString(d.DomainName), apiID)
			if err != nil {
				return err
			}
			if len(ms) == 0 {
				continue
			}
			l.mappings = ms
			l.domain = &apigatewayv2.GetDomainNameOutput{DomainName: d.DomainName, DomainNameArn: d.DomainNameArn,
				DomainNameConfigurations: d.DomainNameConfigurations, Tags: d.Tags, ApiMappingSelectionExpression: d.ApiMappingSelectionExpression}
			return nil
		}
		if in.NextToken = out.NextToken; aws.ToString(out.NextToken) == "" {
			return nil
		}
	}
}

// mappingsOf returns the API mappings of domain to the API apiID.
func (k *apiKind) mappingsOf(ctx context.Context, domain, apiID string) ([]agtypes.ApiMapping, error) {
	var ms []agtypes.ApiMapping
	for in := (&apigatewayv2.GetApiMappingsInput{DomainName: aws.String(domain)}); ; {
		out, err := k.c.GetApiMappings(ctx, in)
		if isNotFound(err) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("API mappings of %s: %w", domain, err)
		}
		for _, m := range out.Items {
			if aws.ToString(m.ApiId) == apiID {
				ms = append(ms, m)
			}
		}
		if in.NextToken = out.NextToken; aws.ToString(out.NextToken) == "" {
			return ms, nil
		}
	}
}

// spec returns the spec of the live API l, whose tags are tags.
func (k *apiKind) spec(ctx context.Context, l *apiLive, tags map[string]string) (map[string]any, error) {
	api := l.api
	spec := map[string]any{"protocol": string(api.ProtocolType), "routeSelectionExpression": apiHTTPRSE}
	if api.ProtocolType == agtypes.ProtocolTypeWebsocket {
		spec["routeSelectionExpression"] = aws.ToString(api.RouteSelectionExpression)
	} else if c := corsSpec(api.CorsConfiguration); c != nil {
		spec["cors"] = c
	}
	integrations := map[string]string{}
	private := map[string]agtypes.Integration{}
	for _, in := range l.integrations {
		integrations[apiIntegrationTo+aws.ToString(in.IntegrationId)] = aws.ToString(in.IntegrationUri)
		if in.ConnectionType == agtypes.ConnectionTypeVpcLink {
			private[apiIntegrationTo+aws.ToString(in.IntegrationId)] = in
		}
	}
	linkID := ""
	authorizers := map[string]agtypes.Authorizer{}
	for _, a := range l.authorizers {
		authorizers[aws.ToString(a.AuthorizerId)] = a
	}
	name := aws.ToString(api.Name)
	var routes []any
	for _, rt := range l.routes {
		m := map[string]any{"route": aws.ToString(rt.RouteKey), "authorization": string(rt.AuthorizationType)}
		if rt.AuthorizationType == "" {
			m["authorization"] = string(agtypes.AuthorizationTypeNone)
		}
		target := aws.ToString(rt.Target)
		if in, ok := private[target]; ok {
			uri := aws.ToString(in.IntegrationUri)
			lb, port, found, err := k.listenerSpec(ctx, uri)
			if err != nil {
				return nil, fmt.Errorf("route %s: %w", aws.ToString(rt.RouteKey), err)
			}
			m["loadBalancer"] = uri // a listener that is gone: its ARN
			if found {
				m["loadBalancer"], m["listenerPort"] = lb, port
			}
			target = cmp.Or(aws.ToString(in.Description), uri)
			linkID = cmp.Or(linkID, aws.ToString(in.ConnectionId))
		} else if uri, ok := integrations[target]; ok {
			ref, err := k.functionRef(ctx, uri, name, tags)
			if err != nil {
				return nil, fmt.Errorf("route %s: %w", aws.ToString(rt.RouteKey), err)
			}
			target = ref
		}
		if target != "" {
			m["target"] = target
		}
		if id := routeAuthorizer(rt); id != "" {
			a, ok := authorizers[id]
			switch {
			case !ok:
				m["authorizer"] = id // an authorizer that no longer exists: drift
			case a.AuthorizerType == agtypes.AuthorizerTypeJwt && a.JwtConfiguration != nil:
				m["jwt"] = map[string]any{"issuer": aws.ToString(a.JwtConfiguration.Issuer), "audience": anyList(a.JwtConfiguration.Audience)}
			default:
				ref, err := k.functionRef(ctx, authorizerFunction(aws.ToString(a.AuthorizerUri)), name, tags)
				if err != nil {
					return nil, fmt.Errorf("route %s: authorizer: %w", aws.ToString(rt.RouteKey), err)
				}
				m["authorizer"] = ref
			}
		}
		routes = append(routes, m)
	}
	if len(routes) > 0 {
		spec["routes"] = routes
	}
	if linkID == "" && len(l.links) > 0 {
		linkID = aws.ToString(l.links[0].VpcLinkId)
	}
	if n, err := k.linkNetwork(ctx, l, linkID); err != nil {
		return nil, err
	} else if n != nil {
		spec["network"] = n
	}
	if len(l.stages) > 0 {
		s := l.stages[0]
		spec["stage"] = aws.ToString(s.StageName)
		if t := stageThrottling(s); t != nil {
			spec["throttling"] = t
		}
	}
	if d := l.domain; d != nil {
		cd := map[string]any{"domainName": aws.ToString(d.DomainName)}
		if len(d.DomainNameConfigurations) > 0 {
			cd["certificateArn"] = aws.ToString(d.DomainNameConfigurations[0].CertificateArn)
		}
		spec["customDomain"] = cd
	}
	return spec, nil
}

// functionRef returns how the API name with tags refers to the function arn: its component's
// address when the function's panka:address tag says it is one of the deployment's (short in
// the API's own service), else by the naming rule (a function of the API's service by its
// component name), else its ARN.
func (k *apiKind) functionRef(ctx context.Context, arn, name string, tags map[string]string) (string, error) {
	return functionRef(ctx, k.fn, arn, name, tags)
}

// functionRef returns how the component name with tags refers to the function arn: its
// component's address when the function's panka:address tag says it is one of the deployment's
// (short in the referrer's own service), else by the naming rule (a function of the referrer's
// service by its component name), else its ARN.
func functionRef(ctx context.Context, c *lambda.Client, arn, name string, tags map[string]string) (string, error) {
	out, err := c.ListTags(ctx, &lambda.ListTagsInput{Resource: aws.String(arn)})
	if isNotFound(err) {
		return arn, nil
	}
	if err != nil {
		return "", fmt.Errorf("tags of %s: %w", arn, err)
	}
	if d, err := deploymentOf(name, tags[tagAddress]); err == nil && out.Tags[tagAddress] != "" && sameDeployment(tags, out.Tags) {
		return d.ref(out.Tags[tagAddress]), nil
	}
	return lambdaRef(arn, name, tags), nil
}

// parts lists the API's parts.
func (k *apiKind) parts(l *apiLive) []provider.Part {
	id := aws.ToString(l.api.ApiId)
	var parts []provider.Part
	for _, in := range l.integrations {
		parts = append(parts, provider.Part{Type: "AWS::ApiGatewayV2::Integration", ID: aws.ToString(in.IntegrationId)})
	}
	for _, a := range l.authorizers {
		parts = append(parts, provider.Part{Type: "AWS::ApiGatewayV2::Authorizer", ID: aws.ToString(a.AuthorizerId)})
	}
	for _, rt := range l.routes {
		parts = append(parts, provider.Part{Type: "AWS::ApiGatewayV2::Route", ID: aws.ToString(rt.RouteId)})
	}
	for _, s := range l.stages {
		parts = append(parts, provider.Part{Type: "AWS::ApiGatewayV2::Stage", ID: aws.ToString(s.StageName),
			ARN: k.apiARN("/apis/" + id + "/stages/" + aws.ToString(s.StageName))})
	}
	if d := l.domain; d != nil {
		parts = append(parts, provider.Part{Type: "AWS::ApiGatewayV2::DomainName", ID: aws.ToString(d.DomainName), ARN: aws.ToString(d.DomainNameArn)})
		for _, m := range l.mappings {
			parts = append(parts, provider.Part{Type: "AWS::ApiGatewayV2::ApiMapping", ID: aws.ToString(m.ApiMappingId)})
		}
	}
	for _, v := range l.links {
		parts = append(parts, provider.Part{Type: "AWS::ApiGatewayV2::VpcLink", ID: aws.ToString(v.VpcLinkId), ARN: k.apiARN("/vpclinks/" + aws.ToString(v.VpcLinkId))})
	}
	sid := statementID(aws.ToString(l.api.Name))
	for _, fn := range l.permissions {
		parts = append(parts, provider.Part{Type: "AWS::Lambda::Permission", ID: fn + "#" + sid})
	}
	return parts
}

func (k *apiKind) update(ctx context.Context, l *live, r provider.Resource) error {
	w, err := k.want(ctx, r)
	if err != nil {
		return err
	}
	return k.converge(ctx, l.raw.(*apiLive), w, r.Tags)
}

// tag sets and removes the tags of the API, its stages, its domain name and its VPC links.
func (k *apiKind) tag(ctx context.Context, l *live, set map[string]string, remove []string) error {
	have := l.raw.(*apiLive)
	id := aws.ToString(have.api.ApiId)
	arns := []string{k.apiARN("/apis/" + id)}
	// Read the parts again: update may have made or removed stages and the domain.
	now := &apiLive{api: have.api}
	if err := k.readParts(ctx, now); err != nil {
		return err
	}
	for _, s := range now.stages {
		arns = append(arns, k.apiARN("/apis/"+id+"/stages/"+aws.ToString(s.StageName)))
	}
	if now.domain != nil {
		arns = append(arns, k.apiARN("/domainnames/"+aws.ToString(now.domain.DomainName)))
	}
	for _, v := range now.links {
		arns = append(arns, k.apiARN("/vpclinks/"+aws.ToString(v.VpcLinkId)))
	}
	for _, arn := range arns {
		if len(set) > 0 {
			if _, err := k.c.TagResource(ctx, &apigatewayv2.TagResourceInput{ResourceArn: aws.String(arn), Tags: set}); err != nil {
				return err
			}
		}
		if len(remove) > 0 {
			if _, err := k.c.UntagResource(ctx, &apigatewayv2.UntagResourceInput{ResourceArn: aws.String(arn), TagKeys: remove}); err != nil {
				return err
			}
		}
	}
	return nil
}

// delete removes the domain (mappings first), the permissions, then the API, which takes its
// routes, integrations, authorizers and stages with it, then its VPC links, waiting until they
// are gone (their network interfaces hold the API's security group until then).
func (k *apiKind) delete(ctx context.Context, l *live) error {
	have := l.raw.(*apiLive)
	if have.domain != nil {
		if err := k.deleteDomain(ctx, have); err != nil {
			return err
		}
	}
	sid := statementID(aws.ToString(have.api.Name))
	for _, fn := range have.permissions {
		if err := k.removePermission(ctx, fn, sid); err != nil {
			return err
		}
	}
	if _, err := k.c.DeleteApi(ctx, &apigatewayv2.DeleteApiInput{ApiId: have.api.ApiId}); err != nil && !isNotFound(err) {
		return err
	}
	// The links once the integrations using them are gone (with the API).
	for _, v := range have.links {
		if err := k.deleteLink(ctx, aws.ToString(v.VpcLinkId)); err != nil {
			return err
		}
	}
	return nil
}
