package schema

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/panka/panka/internal/interp"
)

// This file holds the network entry points: Application and Network Load Balancers, CloudFront
// distributions and API Gateway (v2) APIs.

// netDefaultSSLPolicy is the security policy AWS recommends for TLS listeners.
const netDefaultSSLPolicy = "ELBSecurityPolicy-TLS13-1-2-2021-06"

var (
	netACMArnRe   = regexp.MustCompile(`^arn:aws[a-z-]*:acm:([a-z0-9-]+):\d{12}:certificate/[A-Za-z0-9-]+$`)
	netHostnameRe = regexp.MustCompile(`^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$`)
)

// netCheckCertificate checks that arn is an ACM certificate ARN in each of regions (where the
// resource using it lives). Values with ${...} are resolved later and not checked.
func netCheckCertificate(c *Check, field, arn string, regions []string, user string) {
	if arn == "" || interp.HasRefs(arn) {
		return
	}
	m := netACMArnRe.FindStringSubmatch(arn)
	if m == nil {
		c.Errorf(field, "spec.%s %q is not an ACM certificate ARN (arn:aws:acm:REGION:ACCOUNT:certificate/ID)", field, arn)
		return
	}
	for _, r := range regions {
		if m[1] != r {
			c.Errorf(field, "the certificate is in %s, but %s needs one in %s; request or import the certificate there", m[1], user, r)
			return
		}
	}
}

// netCheckHostname reports an error unless host is a DNS name (with a leading "*." only if
// wildcard). Values with ${...} are resolved later and not checked.
func netCheckHostname(c *Check, field, host string, wildcard bool) {
	if host == "" || interp.HasRefs(host) {
		return
	}
	h := strings.ToLower(host)
	if len(h) > 253 || !netHostnameRe.MatchString(h) || (!wildcard && strings.HasPrefix(h, "*.")) {
		c.Errorf(field, "%q is not a domain name (like www.example.com); write the host name only, without scheme or path", host)
	}
}

// netCheckELBName rejects physical names that ELB refuses: a load balancer name must not begin
// with "internal-".
func netCheckELBName(c *Check) {
	for _, env := range c.Environments() {
		if name := c.PhysicalName(env); strings.HasPrefix(name, "internal-") {
			c.Errorf("", "load balancer name %q must not begin with \"internal-\" (AWS reserves it); rename the stack or tenant", name)
			return
		}
	}
}

// netForward resolves a listener's forward target: a MicroService whose loadBalancer attaches
// to this load balancer (its target group hangs off it, so the service depends on the load
// balancer). It returns the service and the container port it exposes, or nil.
func netForward(c *Check, field, name string) (*Component, *Port) {
	target := c.RefDependent(field, name, "MicroService")
	if target == nil {
		return nil, nil
	}
	ms, ok := target.Spec.(*MicroServiceSpec)
	if !ok {
		return nil, nil
	}
	self := c.Component()
	lb := ms.LoadBalancer
	if lb == nil || !netRefersTo(target, lb.Target, self) {
		ref := self.Name()
		if self.Service() != target.Service() {
			ref = self.Address()
		}
		c.Errorf(field, "%s does not attach to this %s, so it has no target group here; add loadBalancer: {target: %s} to it", target.Address(), self.Kind, ref)
		return nil, nil
	}
	for k, p := range ms.Ports {
		if lb.Port == "" || p.Name == lb.Port {
			return target, &ms.Ports[k]
		}
	}
	return target, nil
}

// netRefersTo reports whether ref, written in from's spec, names component to.
func netRefersTo(from *Component, ref string, to *Component) bool {
	svc, name, qualified := strings.Cut(ref, "/")
	if !qualified {
		svc, name = from.Service(), ref
	}
	return svc == to.Service() && name == to.Name()
}

// ---------------------------------------------------------------------------------------------
// ALB

// ALBSpec is an Application Load Balancer. MicroServices attach to it with their loadBalancer
// block; a listener's default action answers requests no service rule matches.
type ALBSpec struct {
	Internal           bool           `yaml:"internal" panka:"forcenew"`
	Listeners          []ALBListener  `yaml:"listeners" panka:"required"`
	IdleTimeout        int            `yaml:"idleTimeout"` // seconds, 1–4000
	DeletionProtection bool           `yaml:"deletionProtection"`
	AccessLogs         *ALBAccessLogs `yaml:"accessLogs"`
}

func (s *ALBSpec) SetDefaults() { s.IdleTimeout = 60 }

// ALBListener is one port of the load balancer.
type ALBListener struct {
	Port           int    `yaml:"port" panka:"required"`
	Protocol       string `yaml:"protocol"`       // HTTP or HTTPS
	CertificateArn string `yaml:"certificateArn"` // HTTPS: an ACM certificate in the ALB's region
	SSLPolicy      string `yaml:"sslPolicy"`      // HTTPS: an ELBSecurityPolicy-* name
	// DefaultAction answers requests no listener rule matches; without it, a fixed 404.
	DefaultAction *ALBAction `yaml:"defaultAction"`
}

func (l *ALBListener) SetDefaults() { l.Protocol, l.SSLPolicy = "HTTP", netDefaultSSLPolicy }

// canonical spells a fixed 404 in plain text without a body as no default action: what a
// listener without one answers, and how it reads back.
func (l ALBListener) canonical(m map[string]any) {
	if a := l.DefaultAction; a != nil && a.Redirect == nil && a.Forward == "" && a.FixedResponse != nil &&
		*a.FixedResponse == (ALBFixedResponse{StatusCode: 404, ContentType: "text/plain"}) {
		delete(m, "defaultAction")
	}
}

// ALBAction is exactly one of a fixed response, a redirect, or forwarding to a MicroService.
type ALBAction struct {
	FixedResponse *ALBFixedResponse `yaml:"fixedResponse"`
	Redirect      *ALBRedirect      `yaml:"redirect"`
	Forward       string            `yaml:"forward"` // a MicroService attached to this ALB
}

type ALBFixedResponse struct {
	StatusCode  int    `yaml:"statusCode" panka:"required"` // 2XX, 4XX or 5XX
	ContentType string `yaml:"contentType"`
	Body        string `yaml:"body"` // at most 1024 characters
}

func (f *ALBFixedResponse) SetDefaults() { f.ContentType = "text/plain" }

// ALBRedirect rewrites the request URL; #{protocol}, #{port}, #{host}, #{path} and #{query} keep
// the original part.
type ALBRedirect struct {
	Protocol   string `yaml:"protocol"` // HTTP, HTTPS or #{protocol}
	Port       string `yaml:"port"`     // 1–65535 or #{port}
	Host       string `yaml:"host"`
	Path       string `yaml:"path"`
	Query      string `yaml:"query"`
	StatusCode string `yaml:"statusCode"` // HTTP_301 or HTTP_302
}

func (r *ALBRedirect) SetDefaults() {
	*r = ALBRedirect{Protocol: "#{protocol}", Port: "#{port}", Host: "#{host}", Path: "/#{path}", Query: "#{query}", StatusCode: "HTTP_301"}
}

// ALBAccessLogs writes access logs to an S3 component.
type ALBAccessLogs struct {
	Bucket string `yaml:"bucket" panka:"required"`
	Prefix string `yaml:"prefix"`
}

// ValidateName checks the physical name (see NameValidator).
func (s *ALBSpec) ValidateName(c *Check) { netCheckELBName(c) }

func (s *ALBSpec) Validate(c *Check) {
	c.Range("idleTimeout", s.IdleTimeout, 1, 4000)
	if c.Has("listeners") && len(s.Listeners) == 0 {
		c.Errorf("listeners", "an ALB needs at least one listener, like {port: 443, protocol: HTTPS, certificateArn: ...}")
	}
	ports := map[int]int{}
	for i, l := range s.Listeners {
		field := fmt.Sprintf("listeners[%d]", i)
		if prev, dup := ports[l.Port]; dup {
			c.Errorf(field+".port", "duplicate listener port %d (also listeners[%d]); listener ports must be unique", l.Port, prev)
		}
		ports[l.Port] = i
		c.Range(field+".port", l.Port, 1, 65535)
		if c.OneOf(field+".protocol", l.Protocol, "HTTP", "HTTPS") {
			netCheckTLSListener(c, field, l.Protocol, "HTTPS", l.CertificateArn, l.SSLPolicy)
		}
		if a := l.DefaultAction; a != nil {
			s.validateAction(c, field+".defaultAction", l, a)
		}
	}
	if al := s.AccessLogs; al != nil {
		if al.Bucket != "" {
			c.Ref("accessLogs.bucket", al.Bucket, "S3")
		}
		if strings.HasPrefix(al.Prefix, "/") || strings.HasSuffix(al.Prefix, "/") || strings.Contains(al.Prefix, "AWSLogs") {
			c.Errorf("accessLogs.prefix", "access log prefix %q must not start or end with / nor contain AWSLogs", al.Prefix)
		}
	}
}

// netCheckTLSListener checks a listener's certificate and security policy: the certificate is
// required when protocol is the encrypted one (tlsProtocol: HTTPS or TLS), and both are allowed
// only then.
func netCheckTLSListener(c *Check, field, protocol, tlsProtocol, cert, policy string) {
	if protocol != tlsProtocol {
		if cert != "" {
			c.Errorf(field+".certificateArn", "certificateArn is only for %s listeners, and this one is %s; remove it or change the protocol", tlsProtocol, protocol)
		}
		if c.Has(field + ".sslPolicy") {
			c.Errorf(field+".sslPolicy", "sslPolicy is only for %s listeners, and this one is %s; remove it", tlsProtocol, protocol)
		}
		return
	}
	if cert == "" {
		c.Errorf(field, "%s listeners need certificateArn: an ACM certificate for their domain", protocol)
	} else {
		netCheckCertificate(c, field+".certificateArn", cert, c.Regions(), "a load balancer in this stack")
	}
	if !strings.HasPrefix(policy, "ELBSecurityPolicy-") {
		c.Errorf(field+".sslPolicy", "sslPolicy %q is not an ELB security policy (like %s)", policy, netDefaultSSLPolicy)
	}
}

func (s *ALBSpec) validateAction(c *Check, field string, l ALBListener, a *ALBAction) {
	n := 0
	if a.FixedResponse != nil {
		n++
	}
	if a.Redirect != nil {
		n++
	}
	if a.Forward != "" {
		n++
	}
	if n != 1 {
		c.Errorf(field, "defaultAction needs exactly one of fixedResponse, redirect or forward, not %d", n)
		return
	}
	switch {
	case a.FixedResponse != nil:
		f := a.FixedResponse
		if code := f.StatusCode; code < 200 || code > 599 || (code >= 300 && code < 400) {
			c.Errorf(field+".fixedResponse.statusCode", "a fixed response status code must be 2XX, 4XX or 5XX, not %d; use redirect for 3XX", code)
		}
		c.OneOf(field+".fixedResponse.contentType", f.ContentType, "text/plain", "text/css", "text/html", "application/javascript", "application/json")
		if len(f.Body) > 1024 {
			c.Errorf(field+".fixedResponse.body", "a fixed response body is at most 1024 characters, not %d", len(f.Body))
		}
	case a.Redirect != nil:
		r := a.Redirect
		f := field + ".redirect"
		c.OneOf(f+".protocol", r.Protocol, "HTTP", "HTTPS", "#{protocol}")
		if r.Port != "#{port}" {
			if p, err := strconv.Atoi(r.Port); err != nil || p < 1 || p > 65535 {
				c.Errorf(f+".port", "redirect port must be 1 to 65535 or #{port}, not %q", r.Port)
			}
		}
		c.OneOf(f+".statusCode", r.StatusCode, "HTTP_301", "HTTP_302")
		if !strings.HasPrefix(r.Path, "/") {
			c.Errorf(f+".path", "redirect path %q must start with /", r.Path)
		}
		if l.Protocol == "HTTPS" && r.Protocol == "HTTP" {
			c.Errorf(f+".protocol", "an HTTPS listener cannot redirect to HTTP; ALB redirects HTTP→HTTP, HTTP→HTTPS and HTTPS→HTTPS only")
		}
		sameProto := r.Protocol == "#{protocol}" || r.Protocol == l.Protocol
		samePort := r.Port == "#{port}" || r.Port == strconv.Itoa(l.Port)
		if sameProto && samePort && r.Host == "#{host}" && r.Path == "/#{path}" && r.Query == "#{query}" {
			c.Errorf(f, "this redirect sends clients back to the same URL, a loop; change its protocol, port, host or path (for HTTP→HTTPS, protocol: HTTPS and port: \"443\")")
		}
	default:
		netForward(c, field+".forward", a.Forward)
	}
}

// ---------------------------------------------------------------------------------------------
// NLB

// NLBSpec is a Network Load Balancer; each listener forwards a port to a MicroService.
type NLBSpec struct {
	Internal           bool          `yaml:"internal" panka:"forcenew"`
	CrossZone          bool          `yaml:"crossZone"`
	DeletionProtection bool          `yaml:"deletionProtection"`
	Listeners          []NLBListener `yaml:"listeners" panka:"required"`
}

type NLBListener struct {
	Port           int    `yaml:"port" panka:"required"`
	Protocol       string `yaml:"protocol"`       // TCP, UDP, TLS or TCP_UDP
	CertificateArn string `yaml:"certificateArn"` // TLS only
	SSLPolicy      string `yaml:"sslPolicy"`      // TLS only
	Target         string `yaml:"target" panka:"required"`
}

func (l *NLBListener) SetDefaults() { l.Protocol, l.SSLPolicy = "TCP", netDefaultSSLPolicy }

// nlbTransports is which transport ports a listener protocol takes: TCP and TLS share TCP ports,
// TCP_UDP takes both.
var nlbTransports = map[string][]string{"TCP": {"tcp"}, "TLS": {"tcp"}, "UDP": {"udp"}, "TCP_UDP": {"tcp", "udp"}}

// ValidateName checks the physical name (see NameValidator).
func (s *NLBSpec) ValidateName(c *Check) { netCheckELBName(c) }

func (s *NLBSpec) Validate(c *Check) {
	if c.Has("listeners") && len(s.Listeners) == 0 {
		c.Errorf("listeners", "an NLB needs at least one listener, like {port: 443, protocol: TCP, target: web}")
	}
	taken := map[string]int{} // "tcp/443" → listener index
	for i, l := range s.Listeners {
		field := fmt.Sprintf("listeners[%d]", i)
		c.Range(field+".port", l.Port, 1, 65535)
		if !c.OneOf(field+".protocol", l.Protocol, "TCP", "UDP", "TLS", "TCP_UDP") {
			continue
		}
		for _, tr := range nlbTransports[l.Protocol] {
			key := fmt.Sprintf("%s/%d", tr, l.Port)
			if prev, dup := taken[key]; dup {
				c.Errorf(field+".port", "listeners[%d] already takes %s port %d; a port can have one listener per transport (TCP and TLS share TCP, TCP_UDP takes both)", prev, strings.ToUpper(tr), l.Port)
				break
			}
			taken[key] = i
		}
		netCheckTLSListener(c, field, l.Protocol, "TLS", l.CertificateArn, l.SSLPolicy)
		if l.Target == "" {
			continue
		}
		if svc, p := netForward(c, field+".target", l.Target); p != nil {
			switch {
			case l.Protocol == "UDP" && p.Protocol != "udp":
				c.Errorf(field+".target", "a UDP listener needs a udp container port, and port %q of %s is %s", p.Name, svc.Address(), p.Protocol)
			case (l.Protocol == "TCP" || l.Protocol == "TLS") && p.Protocol == "udp":
				c.Errorf(field+".target", "a %s listener needs a tcp container port, and port %q of %s is udp", l.Protocol, p.Name, svc.Address())
			}
		}
	}
}

// ---------------------------------------------------------------------------------------------
// CloudFront

// CloudFrontSpec is a CloudFront distribution in front of S3 buckets, ALBs or other hosts.
type CloudFrontSpec struct {
	Origins         []CloudFrontOrigin   `yaml:"origins" panka:"required"`
	DefaultBehavior CloudFrontBehavior   `yaml:"defaultBehavior"`
	Behaviors       []CloudFrontBehavior `yaml:"behaviors"` // matched by pathPattern, in order
	Aliases         []string             `yaml:"aliases"`   // domain names served
	// CertificateArn is an ACM certificate in us-east-1 covering the aliases.
	CertificateArn    string `yaml:"certificateArn"`
	PriceClass        string `yaml:"priceClass"`
	DefaultRootObject string `yaml:"defaultRootObject"` // like index.html
	Enabled           bool   `yaml:"enabled"`
}

func (s *CloudFrontSpec) SetDefaults() {
	s.PriceClass, s.Enabled = "PriceClass_All", true
	s.DefaultBehavior.SetDefaults()
}

// CloudFrontOrigin is where CloudFront fetches content: exactly one of an S3 component, an ALB
// component or a custom DomainName.
type CloudFrontOrigin struct {
	ID         string `yaml:"id" panka:"required"`
	S3         string `yaml:"s3"`
	ALB        string `yaml:"alb"`
	DomainName string `yaml:"domainName"`
	Path       string `yaml:"path"` // prefix added to request paths: /static
	// OriginAccessControl signs requests to an S3 origin so the bucket can stay private.
	OriginAccessControl bool `yaml:"originAccessControl"`
}

func (o *CloudFrontOrigin) SetDefaults() { o.OriginAccessControl = true }

// CloudFrontBehavior is how CloudFront serves the requests it matches.
type CloudFrontBehavior struct {
	PathPattern          string   `yaml:"pathPattern"` // behaviors only: /api/*, *.jpg
	Origin               string   `yaml:"origin"`      // an origin id; may be omitted with one origin
	ViewerProtocolPolicy string   `yaml:"viewerProtocolPolicy"`
	AllowedMethods       []string `yaml:"allowedMethods"`
	CachePolicy          string   `yaml:"cachePolicy"` // a managed cache policy name or a policy ID
	Compress             bool     `yaml:"compress"`
}

func (b *CloudFrontBehavior) SetDefaults() {
	*b = CloudFrontBehavior{ViewerProtocolPolicy: "redirect-to-https", AllowedMethods: []string{"GET", "HEAD"}, CachePolicy: "CachingOptimized", Compress: true}
}

// cfMethodSets are the method sets CloudFront accepts for allowedMethods.
var cfMethodSets = [][]string{
	{"GET", "HEAD"},
	{"GET", "HEAD", "OPTIONS"},
	{"GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"},
}

// cfManagedCachePolicies are the AWS managed cache policies, by name without "Managed-".
var cfManagedCachePolicies = []string{
	"Amplify", "CachingDisabled", "CachingOptimized", "CachingOptimizedForUncompressedObjects",
	"Elemental-MediaPackage", "UseOriginCacheControlHeaders", "UseOriginCacheControlHeaders-QueryStrings",
}

var (
	cfUUIDRe        = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	cfPathPatternRe = regexp.MustCompile(`^[A-Za-z0-9_\-.$/~"'@:+*?&]{1,255}$`)
)

func (s *CloudFrontSpec) Validate(c *Check) {
	if c.Has("origins") && len(s.Origins) == 0 {
		c.Errorf("origins", "a distribution needs at least one origin")
	}
	ids := map[string]int{}
	for i, o := range s.Origins {
		field := fmt.Sprintf("origins[%d]", i)
		if prev, dup := ids[o.ID]; dup && o.ID != "" {
			c.Errorf(field+".id", "duplicate origin id %q (also origins[%d]); origin ids must be unique", o.ID, prev)
		}
		ids[o.ID] = i
		validateCloudFrontOrigin(c, field, o)
	}
	if c.Has("defaultBehavior.pathPattern") {
		c.Errorf("defaultBehavior.pathPattern", "the default behavior matches every path (*); remove pathPattern or move this to behaviors")
	}
	s.validateBehavior(c, "defaultBehavior", s.DefaultBehavior, ids)
	patterns := map[string]int{}
	for i, b := range s.Behaviors {
		field := fmt.Sprintf("behaviors[%d]", i)
		switch prev, dup := patterns[b.PathPattern]; {
		case b.PathPattern == "":
			c.Errorf(field, "behaviors[%d] needs a pathPattern, like /api/*", i)
		case dup:
			c.Errorf(field+".pathPattern", "duplicate pathPattern %q (also behaviors[%d])", b.PathPattern, prev)
		case !cfPathPatternRe.MatchString(b.PathPattern):
			c.Errorf(field+".pathPattern", "path pattern %q may use only letters, digits and _-.$/~\"'@:+*?&, at most 255 characters", b.PathPattern)
		}
		patterns[b.PathPattern] = i
		s.validateBehavior(c, field, b, ids)
	}
	aliases := map[string]int{}
	for i, a := range s.Aliases {
		field := fmt.Sprintf("aliases[%d]", i)
		if prev, dup := aliases[strings.ToLower(a)]; dup {
			c.Errorf(field, "duplicate alias %q (also aliases[%d])", a, prev)
		}
		aliases[strings.ToLower(a)] = i
		netCheckHostname(c, field, a, true)
	}
	switch {
	case len(s.Aliases) > 0 && s.CertificateArn == "":
		c.Errorf("aliases", "serving aliases over HTTPS needs certificateArn: an ACM certificate in us-east-1 covering them")
	case s.CertificateArn != "":
		netCheckCertificate(c, "certificateArn", s.CertificateArn, []string{"us-east-1"}, "CloudFront")
		if len(s.Aliases) == 0 {
			c.Warnf("certificateArn", "certificateArn is used only with aliases; without them CloudFront serves its *.cloudfront.net certificate")
		}
	}
	c.OneOf("priceClass", s.PriceClass, "PriceClass_All", "PriceClass_200", "PriceClass_100")
	if r := s.DefaultRootObject; strings.HasPrefix(r, "/") || len(r) > 255 {
		c.Errorf("defaultRootObject", "defaultRootObject %q is an object name like index.html: no leading / and at most 255 characters", r)
	}
}

func validateCloudFrontOrigin(c *Check, field string, o CloudFrontOrigin) {
	n := 0
	for _, v := range []string{o.S3, o.ALB, o.DomainName} {
		if v != "" {
			n++
		}
	}
	if n != 1 {
		c.Errorf(field, "origin %q needs exactly one of s3, alb or domainName", o.ID)
	}
	if o.S3 != "" {
		c.Ref(field+".s3", o.S3, "S3")
	} else if c.Has(field + ".originAccessControl") {
		c.Errorf(field+".originAccessControl", "originAccessControl is only for S3 origins; remove it")
	}
	if o.ALB != "" {
		c.Ref(field+".alb", o.ALB, "ALB")
	}
	netCheckHostname(c, field+".domainName", o.DomainName, false)
	if p := o.Path; p != "" && (!strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") || len(p) > 255) {
		c.Errorf(field+".path", "origin path %q must start with /, not end with /, and be at most 255 characters, like /static", p)
	}
}

func (s *CloudFrontSpec) validateBehavior(c *Check, field string, b CloudFrontBehavior, ids map[string]int) {
	switch {
	case b.Origin == "" && len(s.Origins) > 1:
		c.Errorf(field, "%s needs an origin: the distribution has %d origins; name one by its id", field, len(s.Origins))
	case b.Origin != "":
		if _, ok := ids[b.Origin]; !ok {
			c.Errorf(field+".origin", "%s.origin %q names no origin%s", field, b.Origin, suggest(b.Origin, sortedKeys(ids)))
		}
	}
	c.OneOf(field+".viewerProtocolPolicy", b.ViewerProtocolPolicy, "allow-all", "https-only", "redirect-to-https")
	if !slices.ContainsFunc(cfMethodSets, func(set []string) bool { return cfSameSet(set, b.AllowedMethods) }) {
		c.Errorf(field+".allowedMethods", "allowedMethods must be one of CloudFront's sets: [GET, HEAD], [GET, HEAD, OPTIONS] or [GET, HEAD, OPTIONS, PUT, POST, PATCH, DELETE]")
	}
	if p := b.CachePolicy; !interp.HasRefs(p) && !cfUUIDRe.MatchString(p) {
		c.OneOf(field+".cachePolicy", strings.TrimPrefix(p, "Managed-"), cfManagedCachePolicies...)
	}
}

// cfSameSet reports whether a and b hold the same methods, in any order and case.
func cfSameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, m := range b {
		if !slices.Contains(a, strings.ToUpper(m)) {
			return false
		}
	}
	seen := map[string]bool{}
	for _, m := range b {
		seen[strings.ToUpper(m)] = true
	}
	return len(seen) == len(a)
}

// ---------------------------------------------------------------------------------------------
// APIGateway

// APIGatewaySpec is an API Gateway v2 API: an HTTP API or a WebSocket API.
type APIGatewaySpec struct {
	Protocol string     `yaml:"protocol" panka:"forcenew"` // HTTP or WEBSOCKET
	Routes   []APIRoute `yaml:"routes"`
	// RouteSelectionExpression picks a WebSocket message's route; WEBSOCKET only.
	RouteSelectionExpression string   `yaml:"routeSelectionExpression"`
	CORS                     *APICORS `yaml:"cors"` // HTTP only
	// Stage is the stage deployed to; "$default" (HTTP only) serves at the API's root URL.
	Stage        string           `yaml:"stage"`
	Throttling   *APIThrottling   `yaml:"throttling"`
	CustomDomain *APICustomDomain `yaml:"customDomain"`
}

func (s *APIGatewaySpec) SetDefaults() {
	s.Protocol, s.Stage, s.RouteSelectionExpression = "HTTP", "$default", "$request.body.action"
}

// APIRoute sends one route to a Lambda or MicroService component. A MicroService target must
// be attached to a load balancer (its loadBalancer block): an HTTP API reaches it through a VPC
// link to that load balancer's listener. WebSocket APIs route to Lambda functions only.
type APIRoute struct {
	// Route is "METHOD /path" (or "$default") for HTTP APIs; "$connect", "$disconnect",
	// "$default" or a custom route key for WebSocket APIs.
	Route         string  `yaml:"route" panka:"required"`
	Target        string  `yaml:"target" panka:"required"`
	Authorization string  `yaml:"authorization"` // NONE, AWS_IAM, JWT or CUSTOM
	JWT           *APIJWT `yaml:"jwt"`           // JWT only
	Authorizer    string  `yaml:"authorizer"`    // CUSTOM only: a Lambda authorizer component
}

func (r *APIRoute) SetDefaults() { r.Authorization = "NONE" }

// APIJWT is a JWT authorizer: tokens must come from Issuer for one of Audience.
type APIJWT struct {
	Issuer   string   `yaml:"issuer" panka:"required"`
	Audience []string `yaml:"audience" panka:"required"`
}

type APICORS struct {
	AllowOrigins     []string `yaml:"allowOrigins"`
	AllowMethods     []string `yaml:"allowMethods"`
	AllowHeaders     []string `yaml:"allowHeaders"`
	AllowCredentials bool     `yaml:"allowCredentials"`
	MaxAge           int      `yaml:"maxAge"` // seconds, 0–86400
}

// APIThrottling limits requests per second (steady and burst) on the stage.
type APIThrottling struct {
	BurstLimit int `yaml:"burstLimit"`
	RateLimit  int `yaml:"rateLimit"`
}

type APICustomDomain struct {
	DomainName     string `yaml:"domainName" panka:"required"`
	CertificateArn string `yaml:"certificateArn" panka:"required"` // ACM, in the API's region
}

var (
	apiMethods      = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY"}
	apiLiteralSegRe = regexp.MustCompile(`^[A-Za-z0-9._~:@!$&'()*,;=+-]+$`)
	apiParamSegRe   = regexp.MustCompile(`^\{[A-Za-z0-9._-]+(\+)?\}$`)
	apiStageRe      = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)
	apiOriginRe     = regexp.MustCompile(`^https?://(\*\.)?[A-Za-z0-9.-]+(:\d{1,5})?$`)
)

func (s *APIGatewaySpec) Validate(c *Check) {
	if !c.OneOf("protocol", s.Protocol, "HTTP", "WEBSOCKET") {
		return
	}
	ws := s.Protocol == "WEBSOCKET"
	routes := map[string]int{}
	for i, r := range s.Routes {
		field := fmt.Sprintf("routes[%d]", i)
		if prev, dup := routes[r.Route]; dup && r.Route != "" {
			c.Errorf(field+".route", "duplicate route %q (also routes[%d])", r.Route, prev)
		}
		routes[r.Route] = i
		s.validateRoute(c, field, r, ws)
	}
	if ws {
		if c.Has("cors") {
			c.Errorf("cors", "CORS applies to HTTP APIs only; remove it from this WebSocket API")
		}
		if s.Stage == "$default" {
			f := "stage"
			if !c.Has(f) {
				f = "protocol"
			}
			c.Errorf(f, "a WebSocket API cannot use the $default stage; set spec.stage to a name like prod")
		}
		if !strings.HasPrefix(s.RouteSelectionExpression, "$request.body.") {
			c.Errorf("routeSelectionExpression", "routeSelectionExpression must select a field of the message body, like $request.body.action")
		}
	} else if c.Has("routeSelectionExpression") {
		c.Errorf("routeSelectionExpression", "routeSelectionExpression is for WebSocket APIs; HTTP APIs route by method and path")
	}
	if s.Stage != "$default" && !apiStageRe.MatchString(s.Stage) {
		c.Errorf("stage", "stage name %q must be 1 to 128 letters, digits, '-' or '_' (or $default for an HTTP API)", s.Stage)
	}
	if cors := s.CORS; cors != nil && !ws {
		s.validateCORS(c, cors)
	}
	if t := s.Throttling; t != nil {
		for _, f := range []struct {
			name       string
			val, quota int
		}{{"burstLimit", t.BurstLimit, 5000}, {"rateLimit", t.RateLimit, 10000}} {
			switch {
			case f.val < 0:
				c.Errorf("throttling."+f.name, "spec.throttling.%s must be 0 or more, not %d", f.name, f.val)
			case f.val > f.quota:
				c.Warnf("throttling."+f.name, "spec.throttling.%s %d is over the default account quota of %d; API Gateway caps it there unless the quota was raised", f.name, f.val, f.quota)
			}
		}
	}
	if d := s.CustomDomain; d != nil {
		netCheckHostname(c, "customDomain.domainName", d.DomainName, true)
		netCheckCertificate(c, "customDomain.certificateArn", d.CertificateArn, c.Regions(), "a regional API Gateway domain in this stack")
	}
}

func (s *APIGatewaySpec) validateRoute(c *Check, field string, r APIRoute, ws bool) {
	if r.Route != "" {
		if why := apiCheckRoute(r.Route, ws); why != "" {
			c.Errorf(field+".route", "route %q %s", r.Route, why)
		}
	}
	if r.Target != "" {
		if t := c.Ref(field+".target", r.Target, "Lambda", "MicroService"); t != nil && t.Kind == "MicroService" {
			apiCheckServiceTarget(c, field+".target", t, ws)
		}
	}
	if !c.OneOf(field+".authorization", r.Authorization, "NONE", "AWS_IAM", "JWT", "CUSTOM") {
		return
	}
	switch {
	case ws && r.Authorization == "JWT":
		c.Errorf(field+".authorization", "WebSocket APIs do not support JWT authorizers; use AWS_IAM or CUSTOM on $connect")
		return
	case ws && r.Authorization != "NONE" && r.Route != "$connect":
		c.Errorf(field+".authorization", "a WebSocket API authorizes clients on $connect only; remove authorization from %q", r.Route)
	}
	if r.Authorization == "JWT" {
		if r.JWT == nil {
			c.Errorf(field+".authorization", "JWT authorization needs a jwt block: {issuer: https://..., audience: [...]}")
		} else if iss := r.JWT.Issuer; iss != "" && !interp.HasRefs(iss) {
			if u, err := url.Parse(iss); err != nil || u.Scheme != "https" || u.Host == "" {
				c.Errorf(field+".jwt.issuer", "the JWT issuer must be an https:// URL, not %q", iss)
			}
		}
	} else if r.JWT != nil {
		c.Errorf(field+".jwt", "jwt is only used with authorization: JWT; remove it or set authorization")
	}
	if r.Authorization == "CUSTOM" {
		if r.Authorizer == "" {
			c.Errorf(field+".authorization", "CUSTOM authorization needs authorizer: a Lambda component that authorizes requests")
		} else {
			c.Ref(field+".authorizer", r.Authorizer, "Lambda")
		}
	} else if r.Authorizer != "" {
		c.Errorf(field+".authorizer", "authorizer is only used with authorization: CUSTOM; remove it or set authorization")
	}
}

// apiCheckServiceTarget checks a route's MicroService target t: an HTTP API reaches a service
// through a VPC link to the listener of the load balancer the service is attached to, so the
// service needs a loadBalancer block. WebSocket APIs reach private services only through a REST
// API VPC link to an NLB, which Panka does not build.
func apiCheckServiceTarget(c *Check, field string, t *Component, ws bool) {
	ms, ok := t.Spec.(*MicroServiceSpec)
	if !ok {
		return
	}
	if ws {
		c.Errorf(field, "a WebSocket API cannot route to the MicroService %s (its private integrations need a REST API VPC link to an NLB, which Panka does not build); target a Lambda function, or use an HTTP API", t.Address())
		return
	}
	if ms.LoadBalancer == nil {
		c.Errorf(field, "%s has no loadBalancer; give %s a loadBalancer: API Gateway reaches a service through a VPC link to its load balancer's listener", t.Address(), t.Address())
	}
}

// apiCheckRoute returns why route is not a valid route key for the API's protocol, or "".
func apiCheckRoute(route string, ws bool) string {
	if route == "$default" {
		return ""
	}
	if ws {
		switch {
		case route == "$connect" || route == "$disconnect":
			return ""
		case strings.HasPrefix(route, "$"):
			return "is not a WebSocket route: use $connect, $disconnect, $default or a custom key without a leading $"
		case strings.ContainsAny(route, " \t") || len(route) > 128:
			return "must be a single word of at most 128 characters, matched against the route selection expression"
		}
		return ""
	}
	method, path, ok := strings.Cut(route, " ")
	if !ok {
		return `must be "METHOD /path" (like "GET /orders/{id}") or $default`
	}
	if !slices.Contains(apiMethods, method) {
		return fmt.Sprintf("has method %q; use one of %s", method, strings.Join(apiMethods, ", "))
	}
	if !strings.HasPrefix(path, "/") {
		return "must have a path starting with /"
	}
	if path == "/" {
		return ""
	}
	segs := strings.Split(path[1:], "/")
	for i, seg := range segs {
		switch m := apiParamSegRe.FindStringSubmatch(seg); {
		case seg == "":
			return "has an empty path segment (// or a trailing /)"
		case m != nil && m[1] != "" && i != len(segs)-1:
			return fmt.Sprintf("has greedy parameter %s before the end; {name+} must be the last segment", seg)
		case m == nil && !apiLiteralSegRe.MatchString(seg):
			return fmt.Sprintf("has path segment %q; use letters, digits and -._~ or a parameter like {id} or {proxy+}", seg)
		}
	}
	return ""
}

var apiCORSMethods = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "*"}

func (s *APIGatewaySpec) validateCORS(c *Check, cors *APICORS) {
	for i, o := range cors.AllowOrigins {
		field := fmt.Sprintf("cors.allowOrigins[%d]", i)
		switch {
		case o == "*":
			if cors.AllowCredentials {
				c.Errorf(field, "allowOrigins cannot be * when allowCredentials is true; list the origins")
			}
		case !interp.HasRefs(o) && !apiOriginRe.MatchString(o):
			c.Errorf(field, "origin %q must be * or scheme://host[:port], like https://app.example.com (no path)", o)
		}
	}
	for i, m := range cors.AllowMethods {
		c.OneOf(fmt.Sprintf("cors.allowMethods[%d]", i), m, apiCORSMethods...)
	}
	c.Range("cors.maxAge", cors.MaxAge, 0, 86400)
}

func init() {
	RegisterKind(KindInfo{
		Name: "ALB", New: func() Spec { return &ALBSpec{} },
		Outputs:   []string{"dnsName", "zoneId", "url"},
		NameLimit: 32, NameWhat: "an ALB name",
	})
	RegisterKind(KindInfo{
		Name: "NLB", New: func() Spec { return &NLBSpec{} },
		Outputs:   []string{"dnsName", "zoneId"},
		NameLimit: 32, NameWhat: "an NLB name",
	})
	RegisterKind(KindInfo{
		Name: "CloudFront", New: func() Spec { return &CloudFrontSpec{} },
		Outputs:   []string{"distributionId", "domainName", "hostedZoneId"},
		NameLimit: 128, NameWhat: "a CloudFront distribution comment",
	})
	RegisterKind(KindInfo{
		Name: "APIGateway", New: func() Spec { return &APIGatewaySpec{} },
		Outputs:   []string{"apiId", "endpoint", "executionArn"},
		NameLimit: 128, NameWhat: "an API Gateway API name",
	})
}
