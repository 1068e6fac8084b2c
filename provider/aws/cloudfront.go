package aws

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/panka/panka/provider"
)

// CloudFront: a distribution, and the origin access control its S3 origins sign with. The
// distribution's CallerReference and Comment are the component's name: CreateDistribution is
// idempotent in its CallerReference, and lookup lists distributions for the Comment, then checks
// the CallerReference. The fields of schema.CloudFrontSpec:
//
//	origins[]                one origin each, by id
//	  s3                     an S3 component: its regional domain BUCKET.s3.REGION.amazonaws.com
//	  alb                    an ALB component (found by its physical name, the engine's naming
//	                         rule, as an s3 bucket is): a custom origin at the load balancer's
//	                         DNS name, HTTP port 80, HTTPS port 443, TLSv1.2, read timeout 30 s,
//	                         keepalive 5 s (AWS's defaults); origin protocol https-only when the
//	                         live ALB has an HTTPS listener when the distribution is created or
//	                         updated, else http-only. The ALB must exist (the reference orders it
//	                         before the distribution); no origin access control
//	  domainName             a custom origin, HTTPS only (TLS 1.2), the same timeouts
//	  path                   OriginPath
//	  originAccessControl    S3 origins: signed with the distribution's OAC, named after the
//	                         component (cut to 64 characters with a hash); other origins read back
//	                         true, the schema's default
//	defaultBehavior          the DefaultCacheBehavior; origin may be omitted with one origin
//	behaviors[]              CacheBehaviors, in order
//	  viewerProtocolPolicy   ViewerProtocolPolicy
//	  allowedMethods         AllowedMethods, cached methods GET and HEAD
//	  cachePolicy            a managed policy by name (its well-known ID) or a policy ID
//	  compress               Compress
//	aliases, certificateArn  Aliases, and the ACM certificate (SNI only, TLSv1.2_2021); without a
//	                         certificate, CloudFront's own
//	priceClass, defaultRootObject, enabled
//
// Create and Update wait until the distribution is Deployed (the SDK's waiter, under ctx).
// Delete disables the distribution, waits until that is deployed, deletes it with its new ETag,
// then deletes the OAC. The distribution carries the component's tags; the OAC takes none.
//
// Each S3 origin signed with the OAC needs the bucket policy to let the distribution read: the
// distribution adds the statement (cloudfront.amazonaws.com, s3:GetObject on BUCKET/*,
// StringEquals AWS:SourceArn the distribution; Sid "PankaCloudFront" + a hash of its ARN) once
// deployed, removes it before an update that drops the origin and before Delete disables the
// distribution, and reports it as a part, AWS::S3::BucketPolicy "BUCKET#SID". An origin whose
// bucket policy lacks it reads with its s3 marked " (without its policy statement)": drift the
// next Update undoes (policy.go). The S3 kind manages no bucket policy.
//
// Read reports allowed methods in CloudFront's order, a managed cache policy by its name without
// "Managed-", a behavior's origin only when the distribution has more than one, an S3 origin's
// bucket as its component's address when it is one of the deployment's (by its panka:address
// tag), else as its domain name, and a custom origin whose domain is the DNS name of an ALB of
// the deployment (by the load balancer's panka:address tag) as alb: its component's address,
// else as domainName. An ALB origin whose protocol policy is not the one the ALB's listeners
// call for now (an HTTPS listener added or removed since) reads as alb marked
// " (origin protocol POLICY, its listeners want POLICY)": drift the next Update undoes.
//
// An ALB origin names the load balancer by its DNS name, which AWS gives each load balancer
// anew: an ALB replaced (a change of internal) has a new one, and the distribution reads back
// with domainName the old one until it is updated. With https-only, CloudFront checks the
// ALB's certificate against the origin's domain (the *.elb.amazonaws.com name, unless the
// viewer's Host header is forwarded to the origin): the certificate of the ALB's HTTPS listener
// must cover it, or CloudFront answers 502.
//
// Outputs: distributionId, domainName, hostedZoneId (Z2FDTNDATAQYW2, CloudFront's), arn.

const (
	cfHostedZone = "Z2FDTNDATAQYW2"
	cfOACLimit   = 64
	// cfDeployWait bounds one wait for Deployed (the engine's timeout, under ctx, is the real one).
	cfDeployWait = 90 * time.Minute
)

// cfCachePolicies are AWS's managed cache policies, by name without "Managed-".
var cfCachePolicies = map[string]string{
	"Amplify":                                   "2e54312d-136d-493c-8eb9-b001f22f67d2",
	"CachingDisabled":                           "4135ea2d-6df8-44a3-9df3-4b5a84be39ad",
	"CachingOptimized":                          "658327ea-f89d-4fab-a63d-7e88639e58f6",
	"CachingOptimizedForUncompressedObjects":    "b2884449-e4de-46a7-ac36-70bc7f1ddd6d",
	"Elemental-MediaPackage":                    "08627262-05a9-4f76-9ded-b50ca2e3a84f",
	"UseOriginCacheControlHeaders":              "83da9c7e-98b4-4e11-a168-04f0df8e2c65",
	"UseOriginCacheControlHeaders-QueryStrings": "4cc15a8a-d715-48a4-82b8-cc0b614638fe",
}

// cfMethodOrder is the order Read reports allowed methods in.
var cfMethodOrder = []string{"GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"}

type cfKind struct {
	p  *Provider
	c  *cloudfront.Client
	s3 *s3.Client // to read back bucket origins
}

func newCloudFront(p *Provider) kind {
	return &cfKind{p: p, c: cloudfront.NewFromConfig(p.cfg), s3: s3.NewFromConfig(p.cfg, func(o *s3.Options) {
		o.UsePathStyle = p.cfg.BaseEndpoint != nil && *p.cfg.BaseEndpoint != "" // as the S3 kind's
	})}
}

// cfLive is a distribution as read.
type cfLive struct {
	dist *cftypes.Distribution
	etag string
	oac  *cftypes.OriginAccessControl // nil: none
	spec map[string]any               // as read, without withoutStatement marks
}

// oacName returns the name of the component name's origin access control.
func oacName(name string) string { return cutName(name, cfOACLimit) }

func (k *cfKind) lookup(ctx context.Context, name string) (string, error) {
	in := &cloudfront.ListDistributionsInput{}
	for {
		out, err := k.c.ListDistributions(ctx, in)
		if err != nil {
			return "", err
		}
		list := out.DistributionList
		if list == nil {
			break
		}
		for _, d := range list.Items {
			if aws.ToString(d.Comment) != name {
				continue
			}
			cfg, err := k.c.GetDistributionConfig(ctx, &cloudfront.GetDistributionConfigInput{Id: d.Id})
			if isNotFound(err) {
				continue
			}
			if err != nil {
				return "", err
			}
			if aws.ToString(cfg.DistributionConfig.CallerReference) == name {
				return aws.ToString(d.Id), nil
			}
		}
		if !aws.ToBool(list.IsTruncated) {
			break
		}
		in.Marker = list.NextMarker
	}
	return "", fmt.Errorf("%w: no distribution with caller reference %s", provider.ErrNotFound, name)
}

func (k *cfKind) create(ctx context.Context, r provider.Resource) (string, error) {
	cfg, err := k.configWithOAC(ctx, r)
	if err != nil {
		return "", err
	}
	tags := &cftypes.Tags{}
	for _, key := range slices.Sorted(maps.Keys(r.Tags)) {
		tags.Items = append(tags.Items, cftypes.Tag{Key: aws.String(key), Value: aws.String(r.Tags[key])})
	}
	out, err := k.c.CreateDistributionWithTags(ctx, &cloudfront.CreateDistributionWithTagsInput{
		DistributionConfigWithTags: &cftypes.DistributionConfigWithTags{DistributionConfig: cfg, Tags: tags},
	})
	if err != nil {
		return "", err
	}
	id := aws.ToString(out.Distribution.Id)
	if err := k.waitDeployed(ctx, id); err != nil {
		return id, err
	}
	arn := aws.ToString(out.Distribution.ARN)
	return id, k.p.pol.ensureAll(ctx, "distribution "+arn, k.grants(arn, cfg))
}

// grants returns the statements the distribution arn with config cfg needs in the policies of
// the buckets its S3 origins read through its OAC.
func (k *cfKind) grants(arn string, cfg *cftypes.DistributionConfig) []grant {
	if cfg == nil || cfg.Origins == nil {
		return nil
	}
	var out []grant
	for _, o := range cfg.Origins.Items {
		if g, ok := k.originGrant(arn, o); ok {
			out = append(out, g)
		}
	}
	return dedupe(out)
}

// originGrant returns the statement the origin o of the distribution arn needs in its bucket's
// policy: ok false for an origin that is no bucket read through an OAC.
func (k *cfKind) originGrant(arn string, o cftypes.Origin) (grant, bool) {
	bucket, isBucket := strings.CutSuffix(aws.ToString(o.DomainName), ".s3."+k.p.cfg.Region+".amazonaws.com")
	if o.S3OriginConfig == nil || !isBucket || aws.ToString(o.OriginAccessControlId) == "" {
		return grant{}, false
	}
	return grant{kind: grantBucket, target: bucket, sid: policySid("CloudFront", arn), principal: principalCloudFront, source: arn}, true
}

// configWithOAC returns the distribution config r.Spec asks for, with the component's OAC, made
// if needed once the spec is known to be buildable (no OAC is left behind by a spec that fails).
func (k *cfKind) configWithOAC(ctx context.Context, r provider.Resource) (*cftypes.DistributionConfig, error) {
	if _, err := k.config(ctx, r, ""); err != nil {
		return nil, err
	}
	oacID, err := k.ensureOAC(ctx, r.Name, needsOAC(r.Spec))
	if err != nil {
		return nil, err
	}
	return k.config(ctx, r, oacID)
}

// needsOAC reports whether a spec has an S3 origin signed with the OAC.
func needsOAC(spec map[string]any) bool {
	for _, e := range specList(spec, "origins") {
		m, _ := e.(map[string]any)
		if specString(m, "s3") != "" && m["originAccessControl"] != false {
			return true
		}
	}
	return false
}

// deleteLeftovers deletes the origin access control a create of r makes before its
// distribution, unless the distribution exists after all. (An OAC has no tags: its name, derived
// from the component's, says whose it is.)
func (k *cfKind) deleteLeftovers(ctx context.Context, r provider.Resource) error {
	switch _, err := k.lookup(ctx, r.Name); {
	case err == nil:
		return nil
	case !isNotFound(err):
		return err
	}
	oac, err := k.findOAC(ctx, r.Name)
	if err != nil || oac == nil {
		return err
	}
	return k.deleteOAC(ctx, aws.ToString(oacID(oac)))
}

// ensureOAC returns the ID of the component name's OAC, made if want and missing; "" when
// not wanted.
func (k *cfKind) ensureOAC(ctx context.Context, name string, want bool) (string, error) {
	if !want {
		return "", nil
	}
	oac, err := k.findOAC(ctx, name)
	if err != nil || oac != nil {
		return aws.ToString(oacID(oac)), err
	}
	out, err := k.c.CreateOriginAccessControl(ctx, &cloudfront.CreateOriginAccessControlInput{OriginAccessControlConfig: &cftypes.OriginAccessControlConfig{
		Name: aws.String(oacName(name)), OriginAccessControlOriginType: cftypes.OriginAccessControlOriginTypesS3,
		SigningBehavior: cftypes.OriginAccessControlSigningBehaviorsAlways, SigningProtocol: cftypes.OriginAccessControlSigningProtocolsSigv4,
		Description: aws.String("Panka: signs the S3 origins of distribution " + name),
	}})
	if err != nil {
		return "", fmt.Errorf("create origin access control %s: %w", oacName(name), err)
	}
	return aws.ToString(out.OriginAccessControl.Id), nil
}

func oacID(o *cftypes.OriginAccessControl) *string {
	if o == nil {
		return nil
	}
	return o.Id
}

// findOAC returns the OAC of the component name, nil if there is none.
func (k *cfKind) findOAC(ctx context.Context, name string) (*cftypes.OriginAccessControl, error) {
	in := &cloudfront.ListOriginAccessControlsInput{}
	for {
		out, err := k.c.ListOriginAccessControls(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("origin access controls: %w", err)
		}
		list := out.OriginAccessControlList
		if list == nil {
			return nil, nil
		}
		for _, o := range list.Items {
			if aws.ToString(o.Name) == oacName(name) {
				return &cftypes.OriginAccessControl{Id: o.Id, OriginAccessControlConfig: &cftypes.OriginAccessControlConfig{
					Name: o.Name, OriginAccessControlOriginType: o.OriginAccessControlOriginType, SigningBehavior: o.SigningBehavior, SigningProtocol: o.SigningProtocol,
				}}, nil
			}
		}
		if !aws.ToBool(list.IsTruncated) {
			return nil, nil
		}
		in.Marker = list.NextMarker
	}
}

// config returns the distribution config r.Spec asks for, its S3 origins signed with oacID.
func (k *cfKind) config(ctx context.Context, r provider.Resource, oacID string) (*cftypes.DistributionConfig, error) {
	s := r.Spec
	cfg := &cftypes.DistributionConfig{
		CallerReference: aws.String(r.Name), Comment: aws.String(r.Name), Enabled: aws.Bool(s["enabled"] != false),
		PriceClass: cftypes.PriceClass(specString(s, "priceClass")), DefaultRootObject: aws.String(specString(s, "defaultRootObject")),
		Origins: &cftypes.Origins{}, Aliases: &cftypes.Aliases{Quantity: aws.Int32(0)}, CacheBehaviors: &cftypes.CacheBehaviors{Quantity: aws.Int32(0)},
		ViewerCertificate: &cftypes.ViewerCertificate{CloudFrontDefaultCertificate: aws.Bool(true)},
	}
	if cfg.PriceClass == "" {
		cfg.PriceClass = cftypes.PriceClassPriceClassAll
	}
	var ids []string
	for i, e := range specList(s, "origins") {
		m, _ := e.(map[string]any)
		o, err := k.origin(ctx, r, m, oacID)
		if err != nil {
			return nil, fmt.Errorf("origins[%d] (%s): %w", i, specString(m, "id"), err)
		}
		cfg.Origins.Items = append(cfg.Origins.Items, o)
		ids = append(ids, specString(m, "id"))
	}
	cfg.Origins.Quantity = aws.Int32(int32(len(cfg.Origins.Items)))
	def, err := cfBehavior(specMap(s, "defaultBehavior"), ids)
	if err != nil {
		return nil, fmt.Errorf("defaultBehavior: %w", err)
	}
	cfg.DefaultCacheBehavior = &cftypes.DefaultCacheBehavior{TargetOriginId: def.TargetOriginId, ViewerProtocolPolicy: def.ViewerProtocolPolicy,
		AllowedMethods: def.AllowedMethods, CachePolicyId: def.CachePolicyId, Compress: def.Compress}
	for i, e := range specList(s, "behaviors") {
		m, _ := e.(map[string]any)
		b, err := cfBehavior(m, ids)
		if err != nil {
			return nil, fmt.Errorf("behaviors[%d]: %w", i, err)
		}
		cfg.CacheBehaviors.Items = append(cfg.CacheBehaviors.Items, b)
	}
	cfg.CacheBehaviors.Quantity = aws.Int32(int32(len(cfg.CacheBehaviors.Items)))
	if aliases := specStrings(s, "aliases"); len(aliases) > 0 {
		cfg.Aliases = &cftypes.Aliases{Quantity: aws.Int32(int32(len(aliases))), Items: aliases}
	}
	if cert := specString(s, "certificateArn"); cert != "" {
		cfg.ViewerCertificate = &cftypes.ViewerCertificate{ACMCertificateArn: aws.String(cert), SSLSupportMethod: cftypes.SSLSupportMethodSniOnly,
			MinimumProtocolVersion: cftypes.MinimumProtocolVersionTLSv122021}
	}
	return cfg, nil
}

func (k *cfKind) origin(ctx context.Context, r provider.Resource, m map[string]any, oacID string) (cftypes.Origin, error) {
	o := cftypes.Origin{Id: aws.String(specString(m, "id")), OriginPath: aws.String(specString(m, "path"))}
	switch {
	case specString(m, "alb") != "":
		lb, err := k.albOrigin(ctx, r, specString(m, "alb"))
		if err != nil {
			return o, err
		}
		o.DomainName = aws.String(lb.dnsName)
		o.CustomOriginConfig = customOrigin(lb.policy)
	case specString(m, "s3") != "":
		bucket, err := bucketName(r, specString(m, "s3"))
		if err != nil {
			return o, err
		}
		o.DomainName = aws.String(fmt.Sprintf("%s.s3.%s.amazonaws.com", bucket, k.p.cfg.Region))
		o.S3OriginConfig = &cftypes.S3OriginConfig{OriginAccessIdentity: aws.String("")}
		if m["originAccessControl"] != false {
			o.OriginAccessControlId = aws.String(oacID)
		}
	case specString(m, "domainName") != "":
		o.DomainName = aws.String(specString(m, "domainName"))
		o.CustomOriginConfig = customOrigin(cftypes.OriginProtocolPolicyHttpsOnly)
	default:
		return o, errors.New("no s3, alb or domainName")
	}
	return o, nil
}

// customOrigin returns the config of a custom origin (an ALB, a domain name) CloudFront reaches
// with policy: ports 80 and 443, TLSv1.2, and AWS's default timeouts.
func customOrigin(policy cftypes.OriginProtocolPolicy) *cftypes.CustomOriginConfig {
	return &cftypes.CustomOriginConfig{HTTPPort: aws.Int32(80), HTTPSPort: aws.Int32(443), OriginProtocolPolicy: policy,
		OriginSslProtocols: &cftypes.OriginSslProtocols{Quantity: aws.Int32(1), Items: []cftypes.SslProtocol{cftypes.SslProtocolTLSv12}},
		OriginReadTimeout:  aws.Int32(30), OriginKeepaliveTimeout: aws.Int32(5)}
}

// cfALB is an ALB as an origin: its DNS name, and the protocol policy its listeners call for.
type cfALB struct {
	dnsName string
	policy  cftypes.OriginProtocolPolicy
}

// albOrigin returns the ALB component ref (in the distribution r's deployment) as an origin: an
// error if the load balancer does not exist or is no ALB.
func (k *cfKind) albOrigin(ctx context.Context, r provider.Resource, ref string) (cfALB, error) {
	d, err := deploymentOf(r.Name, r.Address)
	if err != nil {
		return cfALB{}, fmt.Errorf("resolving %q: %v", ref, err)
	}
	name := d.physicalName(ref, "")
	out, err := k.p.elb.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{Names: []string{name}})
	if isNotFound(err) {
		return cfALB{}, fmt.Errorf("alb %s: no load balancer named %s (the ALB is made before the distribution that names it)", ref, name)
	}
	if err != nil {
		return cfALB{}, fmt.Errorf("alb %s: load balancer %s: %w", ref, name, err)
	}
	for _, lb := range out.LoadBalancers {
		if aws.ToString(lb.LoadBalancerName) != name {
			continue
		}
		if lb.Type != elbtypes.LoadBalancerTypeEnumApplication {
			return cfALB{}, fmt.Errorf("alb %s: load balancer %s is of type %s, not an application load balancer", ref, name, lb.Type)
		}
		policy, err := k.albPolicy(ctx, aws.ToString(lb.LoadBalancerArn))
		if err != nil {
			return cfALB{}, fmt.Errorf("alb %s: %w", ref, err)
		}
		return cfALB{dnsName: aws.ToString(lb.DNSName), policy: policy}, nil
	}
	return cfALB{}, fmt.Errorf("alb %s: no load balancer named %s (the ALB is made before the distribution that names it)", ref, name)
}

// albPolicy returns the protocol policy CloudFront reaches the ALB arn with: https-only when it
// has an HTTPS listener, else http-only.
func (k *cfKind) albPolicy(ctx context.Context, arn string) (cftypes.OriginProtocolPolicy, error) {
	in := &elb.DescribeListenersInput{LoadBalancerArn: aws.String(arn)}
	for {
		out, err := k.p.elb.DescribeListeners(ctx, in)
		if err != nil {
			return "", fmt.Errorf("listeners of %s: %w", arn, err)
		}
		for _, x := range out.Listeners {
			if x.Protocol == elbtypes.ProtocolEnumHttps {
				return cftypes.OriginProtocolPolicyHttpsOnly, nil
			}
		}
		if aws.ToString(out.NextMarker) == "" {
			return cftypes.OriginProtocolPolicyHttpOnly, nil
		}
		in.Marker = out.NextMarker
	}
}

// bucketName returns the bucket of the S3 component ref (or ref itself, if it is a bucket ARN).
func bucketName(r provider.Resource, ref string) (string, error) {
	if isARN(ref) {
		return arnResource(ref), nil
	}
	d, err := deploymentOf(r.Name, r.Address)
	if err != nil {
		return "", fmt.Errorf("resolving %q: %v", ref, err)
	}
	return d.physicalName(ref, ""), nil
}

// cfBehavior returns the cache behavior m asks for; the origin may be omitted with one origin.
func cfBehavior(m map[string]any, origins []string) (cftypes.CacheBehavior, error) {
	b := cftypes.CacheBehavior{ViewerProtocolPolicy: cftypes.ViewerProtocolPolicy(specString(m, "viewerProtocolPolicy")), Compress: aws.Bool(specBool(m, "compress"))}
	if p := specString(m, "pathPattern"); p != "" {
		b.PathPattern = aws.String(p)
	}
	origin := specString(m, "origin")
	if origin == "" && len(origins) == 1 {
		origin = origins[0]
	}
	if origin == "" {
		return b, errors.New("no origin")
	}
	b.TargetOriginId = aws.String(origin)
	if b.ViewerProtocolPolicy == "" {
		b.ViewerProtocolPolicy = cftypes.ViewerProtocolPolicyRedirectToHttps
	}
	methods := specStrings(m, "allowedMethods")
	if len(methods) == 0 {
		methods = []string{"GET", "HEAD"}
	}
	var items []cftypes.Method
	for _, x := range methods {
		items = append(items, cftypes.Method(strings.ToUpper(x)))
	}
	b.AllowedMethods = &cftypes.AllowedMethods{Quantity: aws.Int32(int32(len(items))), Items: items,
		CachedMethods: &cftypes.CachedMethods{Quantity: aws.Int32(2), Items: []cftypes.Method{cftypes.MethodGet, cftypes.MethodHead}}}
	policy := specString(m, "cachePolicy")
	if policy == "" {
		policy = "CachingOptimized"
	}
	if id, ok := cfCachePolicies[strings.TrimPrefix(policy, "Managed-")]; ok {
		policy = id
	}
	b.CachePolicyId = aws.String(policy)
	return b, nil
}

// waitDeployed waits until the distribution id is Deployed.
func (k *cfKind) waitDeployed(ctx context.Context, id string) error {
	w := cloudfront.NewDistributionDeployedWaiter(k.c, func(o *cloudfront.DistributionDeployedWaiterOptions) {
		o.MinDelay, o.MaxDelay = 5*time.Second, 60*time.Second
	})
	if err := w.Wait(ctx, &cloudfront.GetDistributionInput{Id: aws.String(id)}, cfDeployWait); err != nil {
		return fmt.Errorf("waiting for distribution %s to deploy: %w", id, err)
	}
	return nil
}

func (k *cfKind) read(ctx context.Context, id string) (*live, error) {
	out, err := k.c.GetDistribution(ctx, &cloudfront.GetDistributionInput{Id: aws.String(id)})
	if err != nil {
		return nil, err
	}
	d := out.Distribution
	if d == nil || d.DistributionConfig == nil {
		return nil, fmt.Errorf("distribution %s: GetDistribution gave no configuration", id)
	}
	tagsOut, err := k.c.ListTagsForResource(ctx, &cloudfront.ListTagsForResourceInput{Resource: d.ARN})
	if err != nil {
		return nil, fmt.Errorf("tags: %w", err)
	}
	tags := map[string]string{}
	if tagsOut.Tags != nil {
		for _, t := range tagsOut.Tags.Items {
			tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
	}
	name := aws.ToString(d.DistributionConfig.CallerReference)
	l := &cfLive{dist: d, etag: aws.ToString(out.ETag)}
	if l.oac, err = k.findOAC(ctx, name); err != nil {
		return nil, err
	}
	if l.spec, err = k.spec(ctx, l, name, tags); err != nil {
		return nil, err
	}
	arn := aws.ToString(d.ARN)
	var parts []provider.Part
	if l.oac != nil {
		parts = append(parts, provider.Part{Type: "AWS::CloudFront::OriginAccessControl", ID: aws.ToString(l.oac.Id)})
	}
	granted, policyParts, err := k.p.pol.check(ctx, k.grants(arn, d.DistributionConfig))
	if err != nil {
		return nil, err
	}
	parts = append(parts, policyParts...)
	spec := l.spec
	if d.DistributionConfig.Origins != nil {
		// An origin whose bucket policy lacks the statement reads with its s3 marked.
		spec = maps.Clone(l.spec)
		origins, _ := spec["origins"].([]any)
		origins = slices.Clone(origins)
		for i, o := range d.DistributionConfig.Origins.Items {
			g, ok := k.originGrant(arn, o)
			if !ok || granted[g.key()] != grantMissing || i >= len(origins) {
				continue
			}
			m := maps.Clone(origins[i].(map[string]any))
			m["s3"] = specString(m, "s3") + withoutStatement
			origins[i] = m
		}
		if len(origins) > 0 {
			spec["origins"] = origins
		}
	}
	return &live{
		obs: &provider.Observed{
			ID: id, Name: name, ARN: arn, Spec: spec, Tags: tags, Parts: parts,
			Outputs: map[string]string{"distributionId": id, "domainName": aws.ToString(d.DomainName), "hostedZoneId": cfHostedZone, "arn": arn},
		},
		raw: l,
	}, nil
}

// spec returns the spec of the live distribution l of the component name with tags.
func (k *cfKind) spec(ctx context.Context, l *cfLive, name string, tags map[string]string) (map[string]any, error) {
	c := l.dist.DistributionConfig
	spec := map[string]any{"enabled": aws.ToBool(c.Enabled), "priceClass": string(c.PriceClass)}
	if v := aws.ToString(c.DefaultRootObject); v != "" {
		spec["defaultRootObject"] = v
	}
	if c.Aliases != nil && len(c.Aliases.Items) > 0 {
		spec["aliases"] = anyList(c.Aliases.Items)
	}
	if v := c.ViewerCertificate; v != nil && aws.ToString(v.ACMCertificateArn) != "" {
		spec["certificateArn"] = aws.ToString(v.ACMCertificateArn)
	}
	var origins []any
	if c.Origins != nil {
		for _, o := range c.Origins.Items {
			m, err := k.originSpec(ctx, o, l, name, tags)
			if err != nil {
				return nil, fmt.Errorf("origin %s: %w", aws.ToString(o.Id), err)
			}
			origins = append(origins, m)
		}
	}
	if len(origins) > 0 {
		spec["origins"] = origins
	}
	one := len(origins) == 1
	if b := c.DefaultCacheBehavior; b != nil {
		spec["defaultBehavior"] = behaviorSpec(cftypes.CacheBehavior{TargetOriginId: b.TargetOriginId, ViewerProtocolPolicy: b.ViewerProtocolPolicy,
			AllowedMethods: b.AllowedMethods, CachePolicyId: b.CachePolicyId, Compress: b.Compress}, one)
	}
	if c.CacheBehaviors != nil && len(c.CacheBehaviors.Items) > 0 {
		var list []any
		for _, b := range c.CacheBehaviors.Items {
			list = append(list, behaviorSpec(b, one))
		}
		spec["behaviors"] = list
	}
	return spec, nil
}

func (k *cfKind) originSpec(ctx context.Context, o cftypes.Origin, l *cfLive, name string, tags map[string]string) (map[string]any, error) {
	m := map[string]any{"id": aws.ToString(o.Id), "originAccessControl": true}
	if p := aws.ToString(o.OriginPath); p != "" {
		m["path"] = p
	}
	domain := aws.ToString(o.DomainName)
	bucket, isBucket := strings.CutSuffix(domain, ".s3."+k.p.cfg.Region+".amazonaws.com")
	if o.S3OriginConfig == nil || !isBucket {
		ref, err := k.albRef(ctx, o, name, tags)
		if err != nil {
			return nil, err
		}
		if ref != "" {
			m["alb"] = ref
		} else {
			m["domainName"] = domain
		}
		return m, nil
	}
	ref, err := k.bucketRef(ctx, bucket, name, tags)
	if err != nil {
		return nil, err
	}
	m["s3"] = ref
	m["originAccessControl"] = aws.ToString(o.OriginAccessControlId) != "" && l.oac != nil && aws.ToString(o.OriginAccessControlId) == aws.ToString(l.oac.Id)
	return m, nil
}

// bucketRef returns how the distribution name with tags refers to bucket: its component's
// address if it is one of the same deployment (short in the same service), else its ARN.
func (k *cfKind) bucketRef(ctx context.Context, bucket, name string, tags map[string]string) (string, error) {
	arn := "arn:" + k.p.partition() + ":s3:::" + bucket
	d, err := deploymentOf(name, tags[tagAddress])
	if err != nil {
		return arn, nil
	}
	out, err := k.s3.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String(bucket)})
	if isNotFound(err) || s3Absent(err, "NoSuchTagSet") {
		return arn, nil
	}
	if err != nil {
		return "", fmt.Errorf("tags of bucket %s: %w", bucket, err)
	}
	theirs := map[string]string{}
	for _, t := range out.TagSet {
		theirs[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	if theirs[tagAddress] == "" || !sameDeployment(tags, theirs) {
		return arn, nil
	}
	return d.ref(theirs[tagAddress]), nil
}

// albRef returns how the distribution name with tags refers to the ALB its custom origin o
// reaches: its component's address if o's domain is the DNS name of a load balancer of the same
// deployment, marked when o's protocol policy is not the one its listeners call for; "" for any
// other origin.
func (k *cfKind) albRef(ctx context.Context, o cftypes.Origin, name string, tags map[string]string) (string, error) {
	domain := strings.ToLower(aws.ToString(o.DomainName))
	d, err := deploymentOf(name, tags[tagAddress])
	if o.CustomOriginConfig == nil || !strings.Contains(domain, ".elb.amazonaws.com") || err != nil {
		return "", nil
	}
	var lb *elbtypes.LoadBalancer
	pages := elb.NewDescribeLoadBalancersPaginator(k.p.elb, &elb.DescribeLoadBalancersInput{})
	for lb == nil && pages.HasMorePages() {
		out, err := pages.NextPage(ctx)
		if err != nil {
			return "", fmt.Errorf("load balancers: %w", err)
		}
		for i := range out.LoadBalancers {
			if strings.ToLower(aws.ToString(out.LoadBalancers[i].DNSName)) == domain {
				lb = &out.LoadBalancers[i]
				break
			}
		}
	}
	if lb == nil || lb.Type != elbtypes.LoadBalancerTypeEnumApplication {
		return "", nil
	}
	arn := aws.ToString(lb.LoadBalancerArn)
	theirs, err := elbTags(ctx, k.p.elb, arn)
	if isNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if theirs[tagAddress] == "" || !sameDeployment(tags, theirs) {
		return "", nil
	}
	ref := d.ref(theirs[tagAddress])
	want, err := k.albPolicy(ctx, arn)
	if isNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if have := o.CustomOriginConfig.OriginProtocolPolicy; have != want {
		ref += fmt.Sprintf(" (origin protocol %s, its listeners want %s)", have, want)
	}
	return ref, nil
}

// behaviorSpec returns a cache behavior as the spec writes it; its origin only when the
// distribution has more than one.
func behaviorSpec(b cftypes.CacheBehavior, oneOrigin bool) map[string]any {
	m := map[string]any{"viewerProtocolPolicy": string(b.ViewerProtocolPolicy), "compress": aws.ToBool(b.Compress)}
	if p := aws.ToString(b.PathPattern); p != "" {
		m["pathPattern"] = p
	}
	if !oneOrigin {
		m["origin"] = aws.ToString(b.TargetOriginId)
	}
	var methods []any
	if b.AllowedMethods != nil {
		for _, x := range cfMethodOrder {
			if slices.Contains(b.AllowedMethods.Items, cftypes.Method(x)) {
				methods = append(methods, x)
			}
		}
	}
	m["allowedMethods"] = methods
	policy := aws.ToString(b.CachePolicyId)
	for n, id := range cfCachePolicies {
		if id == policy {
			policy = n
		}
	}
	if policy != "" {
		m["cachePolicy"] = policy
	}
	return m
}

func (k *cfKind) update(ctx context.Context, l *live, r provider.Resource) error {
	have := l.raw.(*cfLive)
	want, err := k.configWithOAC(ctx, r)
	if err != nil {
		return err
	}
	arn := aws.ToString(have.dist.ARN)
	consumer := "distribution " + arn
	wantGrants := k.grants(arn, want)
	if err := k.p.pol.revokeAll(ctx, consumer, k.grants(arn, have.dist.DistributionConfig), wantGrants); err != nil {
		return err
	}
	if err := k.updateDistribution(ctx, have, want, r); err != nil {
		return err
	}
	return k.p.pol.ensureAll(ctx, consumer, wantGrants)
}

// updateDistribution makes the distribution want, and deletes the OAC when no origin needs it.
func (k *cfKind) updateDistribution(ctx context.Context, have *cfLive, want *cftypes.DistributionConfig, r provider.Resource) error {
	if !equalSpec(have.spec, r.Spec) {
		out, err := k.c.UpdateDistribution(ctx, &cloudfront.UpdateDistributionInput{Id: have.dist.Id, IfMatch: aws.String(have.etag),
			DistributionConfig: merged(have.dist.DistributionConfig, want)})
		if err != nil {
			return fmt.Errorf("update distribution: %w", err)
		}
		if err := k.waitDeployed(ctx, aws.ToString(out.Distribution.Id)); err != nil {
			return err
		}
	}
	if !needsOAC(r.Spec) && have.oac != nil {
		// No origin signs with it any more (the distribution's update is deployed).
		return k.deleteOAC(ctx, aws.ToString(have.oac.Id))
	}
	return nil
}

// merged returns have with what want sets: the settings Panka does not manage (logging,
// restrictions, error responses...) stay as they are.
func merged(have, want *cftypes.DistributionConfig) *cftypes.DistributionConfig {
	out := *have
	out.Enabled, out.PriceClass, out.DefaultRootObject = want.Enabled, want.PriceClass, want.DefaultRootObject
	out.Origins, out.DefaultCacheBehavior, out.CacheBehaviors = want.Origins, want.DefaultCacheBehavior, want.CacheBehaviors
	out.Aliases, out.ViewerCertificate, out.Comment = want.Aliases, want.ViewerCertificate, want.Comment
	return &out
}

func (k *cfKind) tag(ctx context.Context, l *live, set map[string]string, remove []string) error {
	arn := l.raw.(*cfLive).dist.ARN
	if len(set) > 0 {
		tags := &cftypes.Tags{}
		for _, key := range slices.Sorted(maps.Keys(set)) {
			tags.Items = append(tags.Items, cftypes.Tag{Key: aws.String(key), Value: aws.String(set[key])})
		}
		if _, err := k.c.TagResource(ctx, &cloudfront.TagResourceInput{Resource: arn, Tags: tags}); err != nil {
			return err
		}
	}
	if len(remove) > 0 {
		if _, err := k.c.UntagResource(ctx, &cloudfront.UntagResourceInput{Resource: arn, TagKeys: &cftypes.TagKeys{Items: remove}}); err != nil {
			return err
		}
	}
	return nil
}

// delete disables the distribution (AWS deletes only disabled ones) and waits until that is
// deployed, deletes it with the ETag the change gave, then deletes the OAC.
func (k *cfKind) delete(ctx context.Context, l *live) error {
	have := l.raw.(*cfLive)
	id := have.dist.Id
	etag := have.etag
	arn := aws.ToString(have.dist.ARN)
	if err := k.p.pol.revokeAll(ctx, "distribution "+arn, k.grants(arn, have.dist.DistributionConfig), nil); err != nil {
		return err
	}
	if aws.ToBool(have.dist.DistributionConfig.Enabled) {
		cfg := *have.dist.DistributionConfig
		cfg.Enabled = aws.Bool(false)
		out, err := k.c.UpdateDistribution(ctx, &cloudfront.UpdateDistributionInput{Id: id, IfMatch: aws.String(etag), DistributionConfig: &cfg})
		if err != nil {
			return fmt.Errorf("disable distribution: %w", err)
		}
		etag = aws.ToString(out.ETag)
	}
	if err := k.waitDeployed(ctx, aws.ToString(id)); err != nil {
		return err
	}
	if _, err := k.c.DeleteDistribution(ctx, &cloudfront.DeleteDistributionInput{Id: id, IfMatch: aws.String(etag)}); err != nil && !isNotFound(err) {
		return fmt.Errorf("delete distribution: %w", err)
	}
	if have.oac != nil {
		return k.deleteOAC(ctx, aws.ToString(have.oac.Id))
	}
	return nil
}

// deleteOAC deletes the origin access control id (with the ETag it has now).
func (k *cfKind) deleteOAC(ctx context.Context, id string) error {
	out, err := k.c.GetOriginAccessControl(ctx, &cloudfront.GetOriginAccessControlInput{Id: aws.String(id)})
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("origin access control %s: %w", id, err)
	}
	_, err = k.c.DeleteOriginAccessControl(ctx, &cloudfront.DeleteOriginAccessControlInput{Id: aws.String(id), IfMatch: out.ETag})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("delete origin access control %s: %w", id, err)
	}
	return nil
}
