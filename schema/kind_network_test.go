package schema

import (
	"strings"
	"testing"
)

const netCert = "arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666"

// netWeb is a MicroService attached to the ALB "edge"; netNoLB is one attached to nothing.
const netWeb = `---
apiVersion: panka.io/v1
kind: MicroService
metadata: {name: web, service: api}
spec:
  image: nginx
  ports: [{name: http, port: 8080}]
  loadBalancer: {target: edge}
---
apiVersion: panka.io/v1
kind: MicroService
metadata: {name: lonely, service: api}
spec: {image: nginx, ports: [{name: http, port: 8080}]}
`

func TestALBRules(t *testing.T) { runRuleCases(t, netALBCases) }

var netALBCases = []ruleCase{
	{name: "valid", docs: `apiVersion: panka.io/v1
kind: ALB
metadata: {name: edge, service: api}
spec:
  idleTimeout: 120
  deletionProtection: true
  listeners:
    - port: 443
      protocol: HTTPS
      certificateArn: ` + netCert + `
      sslPolicy: ELBSecurityPolicy-TLS13-1-2-Res-2021-06
      defaultAction: {forward: web}
    - port: 80
      defaultAction: {redirect: {protocol: HTTPS, port: "443"}}
    - port: 8080
      defaultAction: {fixedResponse: {statusCode: 404, contentType: application/json, body: '{"error": "not found"}'}}
    - {port: 8081}
---
apiVersion: panka.io/v1
kind: Worker
metadata: {name: probe, service: data}
spec: {image: busybox, env: {URL: "${api.edge.url}", DNS: "${api.edge.dnsName}", ZONE: "${api.edge.zoneId}"}}
` + netWeb},
	{name: "valid access logs", docs: `apiVersion: panka.io/v1
kind: ALB
metadata: {name: edge, service: api}
spec:
  listeners: [{port: 80}]
  accessLogs: {bucket: logs, prefix: edge/alb}
` + msgFunction},
	{name: "listeners", docs: `apiVersion: panka.io/v1
kind: ALB
metadata: {name: edge, service: api}
spec:
  idleTimeout: 0
  listeners:
    - {port: 80}
    - {port: 80}
    - {port: 0, protocol: TCP}
---
apiVersion: panka.io/v1
kind: ALB
metadata: {name: empty, service: api}
spec: {listeners: []}
---
apiVersion: panka.io/v1
kind: ALB
metadata: {name: none, service: api}
spec: {idleTimeout: 60}
` + netWeb, want: []string{
		"19:7: error: listeners is required in spec", // reported by the decoder, before validation
		"5:16: error: spec.idleTimeout must be between 1 and 4000, not 0",
		"8:14: error: duplicate listener port 80 (also listeners[0])",
		"9:14: error: spec.listeners[2].port must be between 1 and 65535, not 0",
		`9:27: error: spec.listeners[2].protocol: "TCP" is not allowed; expected one of: HTTP, HTTPS`,
		"14:19: error: an ALB needs at least one listener",
	}},
	{name: "certificates and security policies", docs: `apiVersion: panka.io/v1
kind: ALB
metadata: {name: edge, service: api}
spec:
  listeners:
    - {port: 443, protocol: HTTPS}
    - {port: 444, protocol: HTTPS, certificateArn: "arn:aws:acm:us-east-1:123456789012:certificate/abc"}
    - {port: 445, protocol: HTTPS, certificateArn: "arn:aws:iam::123456789012:server-certificate/x", sslPolicy: TLS13}
    - {port: 80, certificateArn: "` + netCert + `", sslPolicy: ELBSecurityPolicy-2016-08}
    - {port: 446, protocol: HTTPS, certificateArn: "${TAG}"}
` + netWeb, want: []string{
		"6:7: error: HTTPS listeners need certificateArn",
		"7:53: error: the certificate is in us-east-1, but a load balancer in this stack needs one in eu-west-1",
		`8:53: error: spec.listeners[2].certificateArn "arn:aws:iam::123456789012:server-certificate/x" is not an ACM certificate ARN`,
		`8:113: error: sslPolicy "TLS13" is not an ELB security policy`,
		"9:35: error: certificateArn is only for HTTPS listeners, and this one is HTTP",
		"9:132: error: sslPolicy is only for HTTPS listeners, and this one is HTTP",
	}},
	{name: "default actions", docs: `apiVersion: panka.io/v1
kind: ALB
metadata: {name: edge, service: api}
spec:
  listeners:
    - {port: 80, defaultAction: {forward: web, fixedResponse: {statusCode: 200}}}
    - {port: 81, defaultAction: {fixedResponse: {statusCode: 302, contentType: text/xml}}}
    - {port: 82, defaultAction: {redirect: {}}}
    - {port: 83, defaultAction: {redirect: {protocol: HTTPS, port: "0", statusCode: HTTP_307, path: x}}}
    - {port: 443, protocol: HTTPS, certificateArn: "` + netCert + `", defaultAction: {redirect: {protocol: HTTP}}}
    - {port: 84, defaultAction: {}}
` + netWeb, want: []string{
		"6:33: error: defaultAction needs exactly one of fixedResponse, redirect or forward, not 2",
		"7:62: error: a fixed response status code must be 2XX, 4XX or 5XX, not 302",
		`7:80: error: spec.listeners[1].defaultAction.fixedResponse.contentType: "text/xml" is not allowed`,
		"8:44: error: this redirect sends clients back to the same URL, a loop",
		`9:69: error: redirect port must be 1 to 65535 or #{port}, not "0"`,
		`9:85: error: spec.listeners[3].defaultAction.redirect.statusCode: "HTTP_307" is not allowed`,
		`9:101: error: redirect path "x" must start with /`,
		"10:176: error: an HTTPS listener cannot redirect to HTTP",
		"11:33: error: defaultAction needs exactly one of fixedResponse, redirect or forward, not 0",
	}},
	{name: "forward needs an attached MicroService", docs: `apiVersion: panka.io/v1
kind: ALB
metadata: {name: edge, service: api}
spec:
  listeners:
    - {port: 80, defaultAction: {forward: lonely}}
    - {port: 81, defaultAction: {forward: probe}}
---
apiVersion: panka.io/v1
kind: Worker
metadata: {name: probe, service: api}
spec: {image: busybox}
` + netWeb, want: []string{
		"6:43: error: api/lonely does not attach to this ALB, so it has no target group here; add loadBalancer: {target: edge} to it",
		"7:43: error: spec.listeners[1].defaultAction.forward refers to api/probe, a Worker; it must be a MicroService",
	}},
	{name: "access logs", docs: `apiVersion: panka.io/v1
kind: ALB
metadata: {name: edge, service: api}
spec:
  listeners: [{port: 80}]
  accessLogs: {bucket: q, prefix: /logs/AWSLogs}
---
apiVersion: panka.io/v1
kind: SQS
metadata: {name: q, service: api}
` + netWeb, want: []string{
		"6:24: error: spec.accessLogs.bucket refers to api/q, an SQS; it must be an S3",
		`6:35: error: access log prefix "/logs/AWSLogs" must not start or end with / nor contain AWSLogs`,
	}},
	{name: "name limit", docs: `apiVersion: panka.io/v1
kind: ALB
metadata: {name: abcdefghijklmnop, service: api}
spec: {listeners: [{port: 80}]}
`, want: []string{`3:18: error: physical name "shop-default-api-abcdefghijklmnop" is 33 characters, over the 32-character limit for an ALB name`}},
}

// TestLoadBalancerInternalPrefix needs its own stack: ELB names must not begin with "internal-".
func TestLoadBalancerInternalPrefix(t *testing.T) {
	src := `apiVersion: panka.io/v1
kind: Stack
metadata: {name: internal}
spec:
  provider: {name: aws, region: eu-west-1}
---
apiVersion: panka.io/v1
kind: Service
metadata: {name: api}
---
apiVersion: panka.io/v1
kind: ALB
metadata: {name: edge, service: api}
spec: {listeners: [{port: 80}]}
---
apiVersion: panka.io/v1
kind: NLB
metadata: {name: nlb, service: api}
spec:
  listeners: [{port: 80, target: web}]
---
apiVersion: panka.io/v1
kind: MicroService
metadata: {name: web, service: api}
spec: {image: nginx, ports: [{name: http, port: 80}], loadBalancer: {target: nlb}}
`
	cfg, err := ParseBytes("lb.yaml", []byte(src))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	var got []string
	for _, d := range Validate(cfg) {
		got = append(got, d.String())
	}
	want := []string{
		`lb.yaml:14:7: error: load balancer name "internal-default-api-edge" must not begin with "internal-"`,
		`lb.yaml:20:3: error: load balancer name "internal-default-api-nlb" must not begin with "internal-"`,
	}
	if len(got) != len(want) {
		t.Fatalf("want %d diagnostics, got:\n%s", len(want), strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("diagnostic %d: want prefix %q, got %q", i, want[i], got[i])
		}
	}
}

func TestNLBRules(t *testing.T) { runRuleCases(t, netNLBCases) }

// netNLBServices are a udp service (dns) and a tcp service (app) attached to the NLB "nlb".
const netNLBServices = `---
apiVersion: panka.io/v1
kind: MicroService
metadata: {name: dns, service: data}
spec: {image: coredns, ports: [{name: dns, port: 53, protocol: udp}], loadBalancer: {target: nlb}}
---
apiVersion: panka.io/v1
kind: MicroService
metadata: {name: app, service: data}
spec: {image: app, ports: [{name: app, port: 8443}], loadBalancer: {target: nlb}}
`

var netNLBCases = []ruleCase{
	{name: "valid", docs: `apiVersion: panka.io/v1
kind: NLB
metadata: {name: nlb, service: data}
spec:
  crossZone: true
  internal: true
  listeners:
    - {port: 53, protocol: UDP, target: dns}
    - {port: 53, protocol: TCP, target: app}
    - {port: 443, protocol: TLS, certificateArn: "` + netCert + `", target: app}
---
apiVersion: panka.io/v1
kind: Worker
metadata: {name: probe, service: data}
spec: {image: busybox, env: {DNS: "${nlb.dnsName}", ZONE: "${nlb.zoneId}"}}
` + netNLBServices},
	{name: "ports are unique per transport", docs: `apiVersion: panka.io/v1
kind: NLB
metadata: {name: nlb, service: data}
spec:
  listeners:
    - {port: 80, target: app}
    - {port: 80, protocol: TLS, certificateArn: "` + netCert + `", target: app}
    - {port: 53, protocol: UDP, target: dns}
    - {port: 53, protocol: TCP_UDP, target: dns}
    - {port: 54, protocol: HTTP, target: app}
` + netNLBServices, want: []string{
		"7:14: error: listeners[0] already takes TCP port 80",
		"9:14: error: listeners[2] already takes UDP port 53",
		`10:28: error: spec.listeners[4].protocol: "HTTP" is not allowed; expected one of: TCP, UDP, TLS, TCP_UDP`,
	}},
	{name: "TLS and protocols of targets", docs: `apiVersion: panka.io/v1
kind: NLB
metadata: {name: nlb, service: data}
spec:
  listeners:
    - {port: 443, protocol: TLS, target: app}
    - {port: 80, certificateArn: "` + netCert + `", target: app}
    - {port: 53, protocol: UDP, target: app}
    - {port: 54, target: dns}
    - {port: 55, target: web}
    - {port: 56}
` + netNLBServices, want: []string{
		"11:7: error: target is required in spec.listeners[5]", // reported by the decoder, before validation
		"6:7: error: TLS listeners need certificateArn",
		"7:35: error: certificateArn is only for TLS listeners, and this one is TCP",
		`8:41: error: a UDP listener needs a udp container port, and port "app" of data/app is tcp`,
		`9:26: error: a TCP listener needs a tcp container port, and port "dns" of data/dns is udp`,
		`10:26: error: spec.listeners[4].target refers to unknown component "web" in service data`,
	}},
}

func TestCloudFrontRules(t *testing.T) { runRuleCases(t, netCloudFrontCases) }

const netEdge = `---
apiVersion: panka.io/v1
kind: ALB
metadata: {name: edge, service: api}
spec: {listeners: [{port: 80}]}
`

var netCloudFrontCases = []ruleCase{
	{name: "valid", docs: `apiVersion: panka.io/v1
kind: CloudFront
metadata: {name: cdn, service: api}
spec:
  origins:
    - {id: app, alb: edge}
    - {id: legacy, domainName: legacy.example.com, path: /v1}
  defaultBehavior:
    origin: app
    allowedMethods: [GET, HEAD, OPTIONS, PUT, POST, PATCH, DELETE]
    cachePolicy: CachingDisabled
  behaviors:
    - {pathPattern: /old/*, origin: legacy, viewerProtocolPolicy: https-only, allowedMethods: [head, get], cachePolicy: 658327ea-f89d-4fab-a63d-7e88639e58f6}
    - {pathPattern: "*.jpg", origin: app, compress: false, cachePolicy: Managed-CachingOptimized}
  aliases: [shop.example.com, "*.shop.example.com"]
  certificateArn: arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666
  priceClass: PriceClass_100
  defaultRootObject: index.html
---
apiVersion: panka.io/v1
kind: CloudFront
metadata: {name: site, service: api}
spec:
  origins: [{id: www, domainName: www.example.com}]
---
apiVersion: panka.io/v1
kind: Worker
metadata: {name: probe, service: api}
spec: {image: busybox, env: {A: "${cdn.distributionId}", B: "${cdn.domainName}", C: "${site.hostedZoneId}"}}
` + netEdge},
	{name: "valid S3 origin", docs: `apiVersion: panka.io/v1
kind: CloudFront
metadata: {name: cdn, service: api}
spec:
  origins: [{id: files, s3: logs, path: /public}]
  defaultRootObject: index.html
` + msgFunction},
	{name: "origins", docs: `apiVersion: panka.io/v1
kind: CloudFront
metadata: {name: cdn, service: api}
spec:
  origins:
    - {id: a}
    - {id: b, alb: edge, domainName: x.example.com}
    - {id: b, domainName: "https://x.example.com", originAccessControl: true, path: static/}
    - {id: d, s3: q}
  defaultBehavior: {origin: a}
---
apiVersion: panka.io/v1
kind: CloudFront
metadata: {name: none, service: api}
spec: {origins: []}
---
apiVersion: panka.io/v1
kind: SQS
metadata: {name: q, service: api}
` + netEdge, want: []string{
		`6:7: error: origin "a" needs exactly one of s3, alb or domainName`,
		`7:7: error: origin "b" needs exactly one of s3, alb or domainName`,
		`8:12: error: duplicate origin id "b" (also origins[1])`,
		`8:28: error: "https://x.example.com" is not a domain name`,
		"8:73: error: originAccessControl is only for S3 origins",
		`8:85: error: origin path "static/" must start with /`,
		"9:19: error: spec.origins[3].s3 refers to api/q, an SQS; it must be an S3",
		"15:17: error: a distribution needs at least one origin",
	}},
	{name: "behaviors", docs: `apiVersion: panka.io/v1
kind: CloudFront
metadata: {name: cdn, service: api}
spec:
  origins: [{id: app, alb: edge}, {id: legacy, domainName: legacy.example.com}]
  defaultBehavior: {pathPattern: "*", viewerProtocolPolicy: https, allowedMethods: [GET, POST]}
  behaviors:
    - {origin: legcy, cachePolicy: CachingOptimised}
    - {pathPattern: /a/*, origin: app}
    - {pathPattern: /a/*, origin: app}
    - {pathPattern: "/a b", origin: app}
` + netEdge, want: []string{
		"6:20: error: defaultBehavior needs an origin: the distribution has 2 origins; name one by its id",
		"6:35: error: the default behavior matches every path (*); remove pathPattern",
		`6:61: error: spec.defaultBehavior.viewerProtocolPolicy: "https" is not allowed; did you mean "https-only"?`,
		"6:84: error: allowedMethods must be one of CloudFront's sets",
		"8:7: error: behaviors[0] needs a pathPattern, like /api/*",
		`8:16: error: behaviors[0].origin "legcy" names no origin; did you mean "legacy"?`,
		`8:36: error: spec.behaviors[0].cachePolicy: "CachingOptimised" is not allowed; did you mean "CachingOptimized"?`,
		`10:21: error: duplicate pathPattern "/a/*" (also behaviors[1])`,
		`11:22: error: path pattern "/a b" may use only letters, digits and _-.$/~"'@:+*?&, at most 255 characters`,
	}},
	{name: "aliases, certificate and settings", docs: `apiVersion: panka.io/v1
kind: CloudFront
metadata: {name: cdn, service: api}
spec:
  origins: [{id: app, alb: edge}]
  aliases: [shop.example.com, SHOP.example.com, "https://bad"]
  priceClass: PriceClass_50
  defaultRootObject: /index.html
---
apiVersion: panka.io/v1
kind: CloudFront
metadata: {name: cdn2, service: api}
spec:
  origins: [{id: app, alb: edge}]
  aliases: [shop.example.com]
  certificateArn: "` + netCert + `"
---
apiVersion: panka.io/v1
kind: CloudFront
metadata: {name: cdn3, service: api}
spec:
  origins: [{id: app, alb: edge}]
  certificateArn: arn:aws:acm:us-east-1:123456789012:certificate/abc
` + netEdge, want: []string{
		"6:12: error: serving aliases over HTTPS needs certificateArn",
		`6:31: error: duplicate alias "SHOP.example.com" (also aliases[0])`,
		`6:50: error: "https://bad" is not a domain name`,
		`7:15: error: spec.priceClass: "PriceClass_50" is not allowed`,
		`8:22: error: defaultRootObject "/index.html" is an object name like index.html`,
		"16:20: error: the certificate is in eu-west-1, but CloudFront needs one in us-east-1",
		"23:19: warning: certificateArn is used only with aliases",
	}},
}

func TestAPIGatewayRules(t *testing.T) { runRuleCases(t, netAPIGatewayCases) }

const netAPIWeb = `---
apiVersion: panka.io/v1
kind: MicroService
metadata: {name: web, service: api}
spec: {image: nginx, ports: [{name: http, port: 8080}], loadBalancer: {target: lb}}
---
apiVersion: panka.io/v1
kind: ALB
metadata: {name: lb, service: api}
spec: {internal: true, listeners: [{port: 80}]}
---
apiVersion: panka.io/v1
kind: SQS
metadata: {name: q, service: api}
`

var netAPIGatewayCases = []ruleCase{
	{name: "valid HTTP and WebSocket APIs", docs: `apiVersion: panka.io/v1
kind: APIGateway
metadata: {name: public, service: api}
spec:
  routes:
    - {route: "GET /orders/{id}", target: web}
    - {route: "ANY /{proxy+}", target: web, authorization: AWS_IAM}
    - {route: "POST /orders", target: web, authorization: JWT, jwt: {issuer: "https://auth.example.com", audience: [shop]}}
    - {route: "GET /", target: web}
    - {route: $default, target: web}
  cors: {allowOrigins: ["https://shop.example.com"], allowMethods: [GET, POST], allowHeaders: [content-type], allowCredentials: true, maxAge: 600}
  throttling: {burstLimit: 100, rateLimit: 50}
  customDomain: {domainName: api.shop.example.com, certificateArn: "` + netCert + `"}
---
apiVersion: panka.io/v1
kind: APIGateway
metadata: {name: ws, service: api}
spec:
  protocol: WEBSOCKET
  stage: prod
  routes:
    - {route: $connect, target: fn, authorization: AWS_IAM}
    - {route: $disconnect, target: fn}
    - {route: sendMessage, target: fn}
---
apiVersion: panka.io/v1
kind: Worker
metadata: {name: probe, service: api}
spec: {image: busybox, env: {A: "${public.endpoint}", B: "${public.apiId}", C: "${ws.executionArn}"}}
` + netAPIWeb + msgFunction},
	{name: "valid Lambda targets and authorizer", docs: `apiVersion: panka.io/v1
kind: APIGateway
metadata: {name: public, service: api}
spec:
  routes:
    - {route: "POST /hooks", target: fn, authorization: CUSTOM, authorizer: fn}
---
apiVersion: panka.io/v1
kind: APIGateway
metadata: {name: ws, service: api}
spec:
  protocol: WEBSOCKET
  stage: prod
  routes: [{route: $connect, target: fn, authorization: CUSTOM, authorizer: fn}, {route: $default, target: fn}]
` + msgFunction},
	{name: "HTTP route keys", docs: `apiVersion: panka.io/v1
kind: APIGateway
metadata: {name: public, service: api}
spec:
  routes:
    - {route: "FETCH /x", target: web}
    - {route: "GET x", target: web}
    - {route: "GET /{proxy+}/x", target: web}
    - {route: "GET /a//b", target: web}
    - {route: "GET /a b", target: web}
    - {route: "GET", target: web}
    - {route: "GET /{id}", target: web}
    - {route: "GET /{id}", target: q}
    - {route: "PUT /x"}
` + netAPIWeb, want: []string{
		"14:7: error: target is required in spec.routes[8]", // reported by the decoder, before validation
		`6:16: error: route "FETCH /x" has method "FETCH"; use one of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS, ANY`,
		`7:16: error: route "GET x" must have a path starting with /`,
		`8:16: error: route "GET /{proxy+}/x" has greedy parameter {proxy+} before the end`,
		`9:16: error: route "GET /a//b" has an empty path segment`,
		`10:16: error: route "GET /a b" has path segment "a b"`,
		`11:16: error: route "GET" must be "METHOD /path"`,
		`13:16: error: duplicate route "GET /{id}" (also routes[6])`,
		"13:36: error: spec.routes[7].target refers to api/q, an SQS; it must be one of Lambda, MicroService",
	}},
	{name: "authorization", docs: `apiVersion: panka.io/v1
kind: APIGateway
metadata: {name: public, service: api}
spec:
  routes:
    - {route: "GET /a", target: web, authorization: JWT}
    - {route: "GET /b", target: web, authorization: JWT, jwt: {issuer: "http://auth.example.com", audience: [x]}}
    - {route: "GET /c", target: web, authorization: CUSTOM}
    - {route: "GET /d", target: web, authorization: CUSTOM, authorizer: q}
    - {route: "GET /e", target: web, jwt: {issuer: "https://auth.example.com", audience: [x]}, authorizer: q}
    - {route: "GET /f", target: web, authorization: OAUTH}
` + netAPIWeb, want: []string{
		"6:53: error: JWT authorization needs a jwt block",
		`7:73: error: the JWT issuer must be an https:// URL, not "http://auth.example.com"`,
		"8:53: error: CUSTOM authorization needs authorizer",
		"9:73: error: spec.routes[3].authorizer refers to api/q, an SQS; it must be a Lambda",
		"10:43: error: jwt is only used with authorization: JWT",
		"10:108: error: authorizer is only used with authorization: CUSTOM",
		`11:53: error: spec.routes[5].authorization: "OAUTH" is not allowed`,
	}},
	{name: "WebSocket rules", docs: `apiVersion: panka.io/v1
kind: APIGateway
metadata: {name: ws, service: api}
spec:
  protocol: WEBSOCKET
  routeSelectionExpression: action
  cors: {allowOrigins: ["*"]}
  routes:
    - {route: $connect, target: web, authorization: JWT}
    - {route: $foo, target: web}
    - {route: send, target: web, authorization: AWS_IAM}
---
apiVersion: panka.io/v1
kind: APIGateway
metadata: {name: http, service: api}
spec: {protocol: REST}
---
apiVersion: panka.io/v1
kind: APIGateway
metadata: {name: http2, service: api}
spec: {routeSelectionExpression: $request.body.action}
` + netAPIWeb, want: []string{
		"5:13: error: a WebSocket API cannot use the $default stage; set spec.stage to a name like prod",
		"6:29: error: routeSelectionExpression must select a field of the message body",
		"7:9: error: CORS applies to HTTP APIs only",
		"9:33: error: a WebSocket API cannot route to the MicroService api/web (its private integrations need a REST API VPC link to an NLB",
		"9:53: error: WebSocket APIs do not support JWT authorizers",
		`10:15: error: route "$foo" is not a WebSocket route`,
		"10:29: error: a WebSocket API cannot route to the MicroService api/web",
		"11:29: error: a WebSocket API cannot route to the MicroService api/web",
		`11:49: error: a WebSocket API authorizes clients on $connect only; remove authorization from "send"`,
		`16:18: error: spec.protocol: "REST" is not allowed; expected one of: HTTP, WEBSOCKET`,
		"21:34: error: routeSelectionExpression is for WebSocket APIs",
	}},
	{name: "MicroService targets need a load balancer", docs: `apiVersion: panka.io/v1
kind: APIGateway
metadata: {name: public, service: api}
spec:
  routes:
    - {route: "GET /a", target: web}
    - {route: "GET /b", target: api/lonely}
    - {route: "GET /c", target: probe}
---
apiVersion: panka.io/v1
kind: MicroService
metadata: {name: lonely, service: api}
spec: {image: nginx, ports: [{name: http, port: 8080}]}
---
apiVersion: panka.io/v1
kind: Worker
metadata: {name: probe, service: api}
spec: {image: busybox}
` + netAPIWeb, want: []string{
		"7:33: error: api/lonely has no loadBalancer; give api/lonely a loadBalancer: API Gateway reaches a service through a VPC link to its load balancer's listener",
		"8:33: error: spec.routes[2].target refers to api/probe, a Worker; it must be one of Lambda, MicroService",
	}},
	{name: "cors, stage, throttling and custom domain", docs: `apiVersion: panka.io/v1
kind: APIGateway
metadata: {name: public, service: api}
spec:
  stage: my stage
  cors:
    allowOrigins: ["*", "https://shop.example.com/app"]
    allowMethods: [GET, FETCH]
    allowCredentials: true
    maxAge: 90000
  throttling: {burstLimit: -1, rateLimit: 20000}
  customDomain: {domainName: "https://api.example.com", certificateArn: "arn:aws:acm:us-east-1:123456789012:certificate/abc"}
` + netAPIWeb, want: []string{
		`5:10: error: stage name "my stage" must be 1 to 128 letters`,
		"7:21: error: allowOrigins cannot be * when allowCredentials is true",
		`7:26: error: origin "https://shop.example.com/app" must be * or scheme://host[:port]`,
		`8:25: error: spec.cors.allowMethods[1]: "FETCH" is not allowed`,
		"10:13: error: spec.cors.maxAge must be between 0 and 86400, not 90000",
		"11:28: error: spec.throttling.burstLimit must be 0 or more, not -1",
		"11:43: warning: spec.throttling.rateLimit 20000 is over the default account quota of 10000",
		`12:31: error: "https://api.example.com" is not a domain name`,
		"12:74: error: the certificate is in us-east-1, but a regional API Gateway domain in this stack needs one in eu-west-1",
	}},
}
