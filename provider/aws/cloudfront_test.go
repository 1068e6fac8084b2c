package aws_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	"github.com/panka/panka/provider"
	"github.com/panka/panka/schema"
	"github.com/panka/panka/state"
)

func cfClient(t *testing.T) *cloudfront.Client { return cloudfront.NewFromConfig(sdkConfig(t)) }

// cfBase is a CloudFront spec as the engine hands it over: one custom origin, every field at
// its default.
func cfBase() map[string]any {
	return m{
		"origins":         l{m{"id": "web", "domainName": "origin.example.com", "originAccessControl": true}},
		"defaultBehavior": m{"viewerProtocolPolicy": "redirect-to-https", "allowedMethods": l{"GET", "HEAD"}, "cachePolicy": "CachingOptimized", "compress": true},
		"priceClass":      "PriceClass_All", "enabled": true,
	}
}

// cfView reads a distribution through the SDK: its config, field by field, its tags and its
// component's OAC.
func cfView(c *cloudfront.Client) func(t *testing.T, id string) view {
	return func(t *testing.T, id string) view {
		t.Helper()
		out, err := c.GetDistribution(t.Context(), &cloudfront.GetDistributionInput{Id: aws.String(id)})
		if err != nil {
			t.Fatalf("GetDistribution: %v", err)
		}
		d := out.Distribution
		cfg := d.DistributionConfig
		v := view{"enabled": fmt.Sprint(aws.ToBool(cfg.Enabled)), "priceClass": string(cfg.PriceClass), "defaultRootObject": aws.ToString(cfg.DefaultRootObject),
			"status": aws.ToString(d.Status)}
		if cfg.Aliases != nil && len(cfg.Aliases.Items) > 0 {
			v["aliases"] = strings.Join(cfg.Aliases.Items, ",")
		}
		if vc := cfg.ViewerCertificate; vc != nil {
			v["certificate"] = fmt.Sprintf("%s %s %s default=%v", aws.ToString(vc.ACMCertificateArn), vc.SSLSupportMethod, vc.MinimumProtocolVersion, aws.ToBool(vc.CloudFrontDefaultCertificate))
		}
		for _, o := range cfg.Origins.Items {
			desc := aws.ToString(o.DomainName) + " path=" + aws.ToString(o.OriginPath)
			if c := o.CustomOriginConfig; c != nil {
				desc += " " + string(c.OriginProtocolPolicy)
			}
			if o.S3OriginConfig != nil {
				desc += " s3"
			}
			if aws.ToString(o.OriginAccessControlId) != "" {
				desc += " oac"
			}
			v["origin:"+aws.ToString(o.Id)] = desc
		}
		behavior := func(b cftypes.CacheBehavior) string {
			var methods []string
			for _, x := range b.AllowedMethods.Items {
				methods = append(methods, string(x))
			}
			var cached []string
			for _, x := range b.AllowedMethods.CachedMethods.Items {
				cached = append(cached, string(x))
			}
			return fmt.Sprintf("origin=%s %s methods=%s cached=%s policy=%s compress=%v", aws.ToString(b.TargetOriginId), b.ViewerProtocolPolicy,
				strings.Join(methods, ","), strings.Join(cached, ","), aws.ToString(b.CachePolicyId), aws.ToBool(b.Compress))
		}
		db := cfg.DefaultCacheBehavior
		v["default"] = behavior(cftypes.CacheBehavior{TargetOriginId: db.TargetOriginId, ViewerProtocolPolicy: db.ViewerProtocolPolicy,
			AllowedMethods: db.AllowedMethods, CachePolicyId: db.CachePolicyId, Compress: db.Compress})
		if cfg.CacheBehaviors != nil {
			for i, b := range cfg.CacheBehaviors.Items {
				v[fmt.Sprintf("behavior:%d", i)] = aws.ToString(b.PathPattern) + " " + behavior(b)
			}
		}
		tags, err := c.ListTagsForResource(t.Context(), &cloudfront.ListTagsForResourceInput{Resource: d.ARN})
		if err != nil {
			t.Fatalf("ListTagsForResource: %v", err)
		}
		for _, tg := range tags.Tags.Items {
			v["tag:"+aws.ToString(tg.Key)] = aws.ToString(tg.Value)
		}
		if oac := findOAC(t, c, aws.ToString(cfg.CallerReference)); oac != "" {
			v["oac"] = "yes"
		}
		return v
	}
}

// findOAC returns the ID of the OAC named name, "" if there is none.
func findOAC(t *testing.T, c *cloudfront.Client, name string) string {
	t.Helper()
	out, err := c.ListOriginAccessControls(t.Context(), &cloudfront.ListOriginAccessControlsInput{})
	if err != nil {
		t.Fatalf("ListOriginAccessControls: %v", err)
	}
	for _, o := range out.OriginAccessControlList.Items {
		if aws.ToString(o.Name) == name {
			return aws.ToString(o.Id)
		}
	}
	return ""
}

// changeDistribution changes a distribution's config behind Panka's back.
func changeDistribution(c *cloudfront.Client, change func(*cftypes.DistributionConfig)) func(t *testing.T, id string) {
	return func(t *testing.T, id string) {
		t.Helper()
		// The SDK retries an update whose answer it lost (the local AWS closing a connection under
		// load): the retry, with the ETag the first attempt used up, is refused. So the update is
		// made again from a fresh read unless the first one is there.
		for attempt := 0; ; attempt++ {
			out, err := c.GetDistributionConfig(t.Context(), &cloudfront.GetDistributionConfigInput{Id: aws.String(id)})
			if err != nil {
				t.Fatal(err)
			}
			before, _ := json.Marshal(out.DistributionConfig)
			change(out.DistributionConfig)
			if after, _ := json.Marshal(out.DistributionConfig); attempt > 0 && string(after) == string(before) {
				return // made by the attempt whose answer was lost
			}
			_, err = c.UpdateDistribution(t.Context(), &cloudfront.UpdateDistributionInput{Id: aws.String(id), IfMatch: out.ETag, DistributionConfig: out.DistributionConfig})
			if err == nil {
				return
			}
			if !strings.Contains(err.Error(), "InvalidIfMatchVersion") || attempt == 2 {
				t.Fatal(err)
			}
		}
	}
}

const cachingOptimized, cachingDisabled = "658327ea-f89d-4fab-a63d-7e88639e58f6", "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"

// TestCloudFrontFields sets every CloudFront field to a value other than its default and checks
// through the SDK that Create applies it, that an Update to it changes exactly it, and that a
// change behind Panka's back shows in Read and is undone.
func TestCloudFrontFields(t *testing.T) {
	p := newProvider(t)
	c := cfClient(t)
	bucket := deploy(t, p, component("S3", unique("site"), "", s3Spec()))
	site := strings.TrimPrefix(bucket.Name, prefix)
	bucketDomain := bucket.Name + ".s3.us-east-1.amazonaws.com"
	cert := "arn:aws:acm:us-east-1:000000000000:certificate/cdn"

	cases := []fieldCase{
		{name: "origins", set: func(s map[string]any) {
			s["origins"] = l{m{"id": "web", "domainName": "other.example.com", "path": "/static", "originAccessControl": true}}
		},
			want:  view{"origin:web": "other.example.com path=/static https-only"},
			drift: changeDistribution(c, func(d *cftypes.DistributionConfig) { d.Origins.Items[0].OriginPath = aws.String("/elsewhere") })},
		{name: "origins[].s3", set: func(s map[string]any) {
			s["origins"] = l{m{"id": "web", "s3": site, "originAccessControl": true}}
		},
			want: view{"origin:web": bucketDomain + " path= s3 oac", "oac": "yes"},
			drift: changeDistribution(c, func(d *cftypes.DistributionConfig) {
				d.Origins.Items[0].OriginAccessControlId = aws.String("")
			})},
		{name: "origins[].originAccessControl", set: func(s map[string]any) {
			s["origins"] = l{m{"id": "web", "s3": site, "originAccessControl": false}}
		},
			want: view{"origin:web": bucketDomain + " path= s3"}},
		{name: "defaultBehavior", set: func(s map[string]any) {
			s["defaultBehavior"] = m{"viewerProtocolPolicy": "https-only", "allowedMethods": l{"GET", "HEAD", "OPTIONS"}, "cachePolicy": "CachingDisabled", "compress": false}
		},
			want: view{"default": "origin=web https-only methods=GET,HEAD,OPTIONS cached=GET,HEAD policy=" + cachingDisabled + " compress=false"},
			drift: changeDistribution(c, func(d *cftypes.DistributionConfig) {
				d.DefaultCacheBehavior.ViewerProtocolPolicy = cftypes.ViewerProtocolPolicyAllowAll
			})},
		{name: "behaviors", set: func(s map[string]any) {
			s["origins"] = l{s["origins"].([]any)[0], m{"id": "api", "domainName": "api.example.com", "originAccessControl": true}}
			s["defaultBehavior"].(map[string]any)["origin"] = "web"
			s["behaviors"] = l{m{"pathPattern": "/api/*", "origin": "api", "viewerProtocolPolicy": "https-only",
				"allowedMethods": l{"GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"}, "cachePolicy": "CachingDisabled", "compress": false}}
		},
			want: view{"origin:api": "api.example.com path= https-only",
				"behavior:0": "/api/* origin=api https-only methods=GET,HEAD,OPTIONS,PUT,POST,PATCH,DELETE cached=GET,HEAD policy=" + cachingDisabled + " compress=false"},
			drift: changeDistribution(c, func(d *cftypes.DistributionConfig) { d.CacheBehaviors.Items[0].PathPattern = aws.String("/v2/*") })},
		{name: "aliases", set: func(s map[string]any) { s["aliases"], s["certificateArn"] = l{"cdn.example.com"}, cert },
			want: view{"aliases": "cdn.example.com", "certificate": cert + " sni-only TLSv1.2_2021 default=false"},
			drift: changeDistribution(c, func(d *cftypes.DistributionConfig) {
				d.Aliases = &cftypes.Aliases{Quantity: aws.Int32(1), Items: []string{"else.example.com"}}
			})},
		{name: "priceClass", set: func(s map[string]any) { s["priceClass"] = "PriceClass_100" },
			want:  view{"priceClass": "PriceClass_100"},
			drift: changeDistribution(c, func(d *cftypes.DistributionConfig) { d.PriceClass = cftypes.PriceClassPriceClass200 })},
		{name: "defaultRootObject", set: func(s map[string]any) { s["defaultRootObject"] = "index.html" },
			want:  view{"defaultRootObject": "index.html"},
			drift: changeDistribution(c, func(d *cftypes.DistributionConfig) { d.DefaultRootObject = aws.String("home.html") })},
		{name: "enabled", set: func(s map[string]any) { s["enabled"] = false },
			want:  view{"enabled": "false"},
			drift: changeDistribution(c, func(d *cftypes.DistributionConfig) { d.Enabled = aws.Bool(true) })},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkFieldCase(t, p, "CloudFront", cfBase, func(map[string]any) string { return "" }, tc, cfView(c))
		})
	}
}

// s3Spec is a bucket the engine hands over, every field at its default.
func s3Spec() map[string]any {
	return m{"acl": "private", "objectOwnership": "BucketOwnerEnforced", "versioning": false, "forceDestroy": false,
		"encryption":        m{"type": "SSE-S3", "bucketKey": true},
		"blockPublicAccess": m{"blockPublicAcls": true, "ignorePublicAcls": true, "blockPublicPolicy": true, "restrictPublicBuckets": true}}
}

// A distribution reports its outputs and its OAC as a part; Delete disables it, deletes it and
// its OAC (the local AWS, like CloudFront, refuses to delete an enabled distribution).
func TestCloudFrontOutputsAndDelete(t *testing.T) {
	p := newProvider(t)
	c := cfClient(t)
	bucket := deploy(t, p, component("S3", unique("site"), "", s3Spec()))
	spec := cfBase()
	spec["origins"] = l{m{"id": "web", "s3": strings.TrimPrefix(bucket.Name, prefix), "originAccessControl": true}}
	r := component("CloudFront", unique("cdn"), "", spec)
	obs, err := p.Create(t.Context(), r)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	d, err := c.GetDistribution(t.Context(), &cloudfront.GetDistributionInput{Id: aws.String(obs.ID)})
	if err != nil {
		t.Fatal(err)
	}
	if s := aws.ToString(d.Distribution.Status); s != "Deployed" {
		t.Errorf("status after Create = %s, want Deployed", s)
	}
	want := map[string]string{"distributionId": obs.ID, "domainName": aws.ToString(d.Distribution.DomainName), "hostedZoneId": "Z2FDTNDATAQYW2",
		"arn": aws.ToString(d.Distribution.ARN)}
	for k, v := range want {
		if obs.Outputs[k] != v || v == "" {
			t.Errorf("output %s = %q, want %q", k, obs.Outputs[k], v)
		}
	}
	oac := findOAC(t, c, r.Name)
	// The OAC, and the statement letting the distribution read the bucket (policy_test.go checks it).
	if len(obs.Parts) != 2 || obs.Parts[0] != (provider.Part{Type: "AWS::CloudFront::OriginAccessControl", ID: oac}) || oac == "" ||
		obs.Parts[1].Type != "AWS::S3::BucketPolicy" || !strings.HasPrefix(obs.Parts[1].ID, bucket.Name+"#PankaCloudFront") {
		t.Errorf("parts = %+v, want the OAC %s and the bucket policy statement", obs.Parts, oac)
	}
	if got := obs.Spec["origins"].([]any)[0].(map[string]any)["s3"]; got != strings.TrimPrefix(bucket.Name, prefix) {
		t.Errorf("s3 origin read back as %v", got)
	}

	if err := p.Delete(t.Context(), obs.ID, r); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := c.GetDistribution(t.Context(), &cloudfront.GetDistributionInput{Id: aws.String(obs.ID)}); err == nil {
		t.Error("the distribution is still there")
	}
	if findOAC(t, c, r.Name) != "" {
		t.Error("the OAC is still there")
	}
	if _, err := p.Find(t.Context(), r); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("Find after Delete: %v", err)
	}
	if _, err := s3.NewFromConfig(sdkConfig(t), func(o *s3.Options) { o.UsePathStyle = true }).HeadBucket(t.Context(), &s3.HeadBucketInput{Bucket: aws.String(bucket.Name)}); err != nil {
		t.Errorf("the bucket went with the distribution: %v", err)
	}
}

// albOrigin returns the DNS name of the load balancer arn, and a description of the custom
// origin config of the distribution id's origin originID, both read through the SDK.
func albOrigin(t *testing.T, c *cloudfront.Client, id, originID string) (domain, config string, oac bool) {
	t.Helper()
	out, err := c.GetDistribution(t.Context(), &cloudfront.GetDistributionInput{Id: aws.String(id)})
	if err != nil {
		t.Fatalf("GetDistribution: %v", err)
	}
	for _, o := range out.Distribution.DistributionConfig.Origins.Items {
		if aws.ToString(o.Id) != originID {
			continue
		}
		c := o.CustomOriginConfig
		if c == nil {
			return aws.ToString(o.DomainName), "no custom origin config", aws.ToString(o.OriginAccessControlId) != ""
		}
		var ssl []string
		if c.OriginSslProtocols != nil {
			for _, x := range c.OriginSslProtocols.Items {
				ssl = append(ssl, string(x))
			}
		}
		config = fmt.Sprintf("http=%d https=%d %s ssl=%s read=%d keepalive=%d s3=%v", aws.ToInt32(c.HTTPPort), aws.ToInt32(c.HTTPSPort), c.OriginProtocolPolicy,
			strings.Join(ssl, ","), aws.ToInt32(c.OriginReadTimeout), aws.ToInt32(c.OriginKeepaliveTimeout), o.S3OriginConfig != nil)
		return aws.ToString(o.DomainName), config, aws.ToString(o.OriginAccessControlId) != ""
	}
	t.Fatalf("distribution %s has no origin %s", id, originID)
	return "", "", false
}

// lbDNSName returns the DNS name of the load balancer arn, read through the SDK.
func lbDNSName(t *testing.T, arn string) string {
	t.Helper()
	out, err := elbClient(t).DescribeLoadBalancers(t.Context(), &elb.DescribeLoadBalancersInput{LoadBalancerArns: []string{arn}})
	if err != nil || len(out.LoadBalancers) != 1 || aws.ToString(out.LoadBalancers[0].DNSName) == "" {
		t.Fatalf("DescribeLoadBalancers %s: %v", arn, err)
	}
	return aws.ToString(out.LoadBalancers[0].DNSName)
}

// A distribution in front of an ALB (pages) and a bucket (static files): the ALB's origin is a
// custom origin at its DNS name, without OAC, http-only while the ALB listens on HTTP only and
// https-only once it has an HTTPS listener; it reads back as alb: the component, so a second plan
// is clean; a change of one behavior changes exactly it.
func TestCloudFrontALBOrigin(t *testing.T) {
	p := newProvider(t)
	c := cfClient(t)
	alb := deploy(t, p, component("ALB", unique("alb"), "", albSpec(newLBNet(t))))
	albRef := strings.TrimPrefix(alb.Name, prefix)
	bucket := deploy(t, p, component("S3", unique("site"), "", s3Spec()))
	site := strings.TrimPrefix(bucket.Name, prefix)
	dns := lbDNSName(t, alb.ID)

	spec := cfBase()
	spec["origins"] = l{m{"id": "shop", "alb": albRef, "originAccessControl": true}, m{"id": "assets", "s3": site, "originAccessControl": true}}
	spec["defaultBehavior"] = m{"origin": "shop", "viewerProtocolPolicy": "redirect-to-https", "allowedMethods": l{"GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"},
		"cachePolicy": "CachingDisabled", "compress": true}
	spec["behaviors"] = l{m{"pathPattern": "/static/*", "origin": "assets", "viewerProtocolPolicy": "redirect-to-https", "allowedMethods": l{"GET", "HEAD"},
		"cachePolicy": "CachingOptimized", "compress": true}}
	r := component("CloudFront", unique("cdn"), "", state.CloneMap(spec))
	obs := deploy(t, p, r)

	domain, config, oac := albOrigin(t, c, obs.ID, "shop")
	if domain != dns {
		t.Errorf("the ALB origin's domain = %q, want the ALB's DNS name %q", domain, dns)
	}
	if want := "http=80 https=443 http-only ssl=TLSv1.2 read=30 keepalive=5 s3=false"; config != want {
		t.Errorf("the ALB origin's config = %s, want %s", config, want)
	}
	if oac {
		t.Error("the ALB origin signs with the origin access control")
	}
	wantIn(t, "after Create", cfView(c)(t, obs.ID), view{"origin:assets": bucket.Name + ".s3.us-east-1.amazonaws.com path= s3 oac", "oac": "yes"})
	if diff := cmp.Diff(spec, obs.Spec, unsetIsAbsent); diff != "" {
		t.Errorf("Create returned spec (-applied +read):\n%s", diff)
	}
	found, err := p.Find(t.Context(), r)
	if err != nil {
		t.Fatalf("Find: %v", err)
	}
	if diff := cmp.Diff(spec, found.Spec, unsetIsAbsent); diff != "" {
		t.Errorf("Find shows drift, a second plan would not be clean (-applied +read):\n%s", diff)
	}

	// A change of one behavior changes exactly it.
	before := cfView(c)(t, obs.ID)
	r.Spec = state.CloneMap(spec)
	r.Spec["behaviors"].([]any)[0].(map[string]any)["pathPattern"] = "/assets/*"
	updated, err := p.Update(t.Context(), obs.ID, r, []string{"behaviors"})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	after := cfView(c)(t, obs.ID)
	if diff := cmp.Diff([]string{"behavior:0"}, changedKeys(before, after)); diff != "" {
		t.Errorf("Update of a behavior changed (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(after["behavior:0"], "/assets/* origin=assets") {
		t.Errorf("behavior:0 after Update = %s", after["behavior:0"])
	}
	if diff := cmp.Diff(r.Spec, updated.Spec, unsetIsAbsent); diff != "" {
		t.Errorf("Update returned spec (-applied +read):\n%s", diff)
	}

	// An HTTPS listener added to the ALB: the origin reads as drift, which Update undoes with
	// https-only.
	if _, err := elbClient(t).CreateListener(t.Context(), &elb.CreateListenerInput{LoadBalancerArn: aws.String(alb.ID), Port: aws.Int32(443),
		Protocol: elbtypes.ProtocolEnumHttps, Certificates: []elbtypes.Certificate{{CertificateArn: aws.String(certA)}},
		DefaultActions: []elbtypes.Action{fixedAction404()}}); err != nil {
		t.Fatalf("CreateListener: %v", err)
	}
	got, err := p.Read(t.Context(), "CloudFront", obs.ID)
	if err != nil {
		t.Fatal(err)
	}
	if a := got.Spec["origins"].([]any)[0].(map[string]any)["alb"]; a != albRef+" (origin protocol http-only, its listeners want https-only)" {
		t.Errorf("the ALB origin with an HTTPS listener added reads as alb %v", a)
	}
	if _, err := p.Update(t.Context(), obs.ID, r, []string{"origins"}); err != nil {
		t.Fatalf("Update: %v", err)
	}
	if domain, config, oac := albOrigin(t, c, obs.ID, "shop"); domain != dns || oac ||
		config != "http=80 https=443 https-only ssl=TLSv1.2 read=30 keepalive=5 s3=false" {
		t.Errorf("the ALB origin after Update = %s %s oac=%v, want %s https-only without OAC", domain, config, oac, dns)
	}
	found, err = p.Find(t.Context(), r)
	if err != nil {
		t.Fatalf("Find: %v", err)
	}
	if diff := cmp.Diff(r.Spec, found.Spec, unsetIsAbsent); diff != "" {
		t.Errorf("Find after the Update shows drift (-applied +read):\n%s", diff)
	}
}

func fixedAction404() elbtypes.Action {
	return elbtypes.Action{Type: elbtypes.ActionTypeEnumFixedResponse,
		FixedResponseConfig: &elbtypes.FixedResponseActionConfig{StatusCode: aws.String("404"), ContentType: aws.String("text/plain")}}
}

// A custom origin at the DNS name of an ALB that is not the deployment's reads back as
// domainName (and, being no ALB origin, https-only).
func TestCloudFrontForeignALBDomain(t *testing.T) {
	p := newProvider(t)
	n := newLBNet(t)
	out, err := elbClient(t).CreateLoadBalancer(t.Context(), &elb.CreateLoadBalancerInput{Name: aws.String(unique("foreign-")), Subnets: n.subnets[:2],
		SecurityGroups: n.sgs[:1], Type: elbtypes.LoadBalancerTypeEnumApplication})
	if err != nil {
		t.Fatal(err)
	}
	arn := out.LoadBalancers[0].LoadBalancerArn
	t.Cleanup(func() {
		_, _ = elbClient(t).DeleteLoadBalancer(context.Background(), &elb.DeleteLoadBalancerInput{LoadBalancerArn: arn})
	})
	dns := lbDNSName(t, aws.ToString(arn))
	spec := cfBase()
	spec["origins"] = l{m{"id": "web", "domainName": dns, "originAccessControl": true}}
	obs := deploy(t, p, component("CloudFront", unique("cdn"), "", state.CloneMap(spec)))
	if diff := cmp.Diff(spec, obs.Spec, unsetIsAbsent); diff != "" {
		t.Errorf("Create returned spec (-applied +read):\n%s", diff)
	}
	if _, config, _ := albOrigin(t, cfClient(t), obs.ID, "web"); !strings.Contains(config, " https-only ") {
		t.Errorf("the origin = %s, want https-only", config)
	}
}

// A distribution whose ALB does not exist fails to create, naming the origin, and leaves no
// distribution and no origin access control.
func TestCloudFrontALBOriginMissing(t *testing.T) {
	p := newProvider(t)
	spec := cfBase()
	spec["origins"] = l{m{"id": "site", "s3": "site", "originAccessControl": true}, m{"id": "app", "alb": "lb", "originAccessControl": true}}
	spec["defaultBehavior"].(map[string]any)["origin"] = "site"
	r := component("CloudFront", unique("cdn"), "", spec)
	_, err := p.Create(t.Context(), r)
	if err == nil || !strings.Contains(err.Error(), "origins[1] (app)") || !strings.Contains(err.Error(), "no load balancer named "+prefix+"lb") {
		t.Fatalf("Create with a missing ALB: %v; want an error naming the origin and the load balancer", err)
	}
	if _, err := p.Find(t.Context(), r); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("Find after the failed Create: %v, want ErrNotFound", err)
	}
	if findOAC(t, cfClient(t), r.Name) != "" {
		t.Error("the failed Create left an origin access control behind")
	}
}

// The reference orders the ALB before the distribution that names it (the engine creates along
// these edges and deletes against them).
func TestCloudFrontALBOriginDependency(t *testing.T) {
	cfg, err := schema.ParseBytes("edge.yaml", []byte(`apiVersion: panka.io/v1
kind: Stack
metadata: {name: shop}
spec:
  provider: {name: aws, region: us-east-1}
---
apiVersion: panka.io/v1
kind: Service
metadata: {name: edge}
---
apiVersion: panka.io/v1
kind: Service
metadata: {name: web}
---
apiVersion: panka.io/v1
kind: ALB
metadata: {name: alb, service: edge}
spec:
  listeners: [{port: 80}]
---
apiVersion: panka.io/v1
kind: S3
metadata: {name: assets, service: edge}
spec: {}
---
apiVersion: panka.io/v1
kind: CloudFront
metadata: {name: cdn, service: web}
spec:
  origins:
    - {id: shop, alb: edge/alb}
    - {id: assets, s3: edge/assets}
  defaultBehavior: {origin: shop}
`))
	if err != nil {
		t.Fatal(err)
	}
	if diags := schema.Validate(cfg); len(diags) != 0 {
		t.Fatalf("diagnostics:\n%v", diags)
	}
	if got, want := cfg.Graph().DependenciesOf("web/cdn"), []string{"edge/alb", "edge/assets"}; !slices.Equal(got, want) {
		t.Errorf("web/cdn depends on %v, want %v", got, want)
	}
	order, err := cfg.Graph().TopoSort()
	if err != nil {
		t.Fatal(err)
	}
	if slices.Index(order, "edge/alb") > slices.Index(order, "web/cdn") {
		t.Errorf("creation order %v puts the distribution before its ALB", order)
	}
}

// The OAC exists while an S3 origin signs with it: an update to a custom origin only deletes it.
func TestCloudFrontOACFollowsS3Origins(t *testing.T) {
	p := newProvider(t)
	c := cfClient(t)
	bucket := deploy(t, p, component("S3", unique("site"), "", s3Spec()))
	spec := cfBase()
	spec["origins"] = l{m{"id": "web", "s3": strings.TrimPrefix(bucket.Name, prefix), "originAccessControl": true}}
	r := component("CloudFront", unique("cdn"), "", spec)
	obs := deploy(t, p, r)
	if findOAC(t, c, r.Name) == "" {
		t.Fatal("no OAC for the S3 origin")
	}
	r.Spec = cfBase()
	updated, err := p.Update(t.Context(), obs.ID, r, []string{"origins"})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if findOAC(t, c, r.Name) != "" || len(updated.Parts) != 0 {
		t.Errorf("the OAC outlives the S3 origin (parts %+v)", updated.Parts)
	}
}

// Update and Delete refuse a distribution whose ownership tags name another deployment.
func TestCloudFrontOwnership(t *testing.T) {
	testOwnership(t, newProvider(t), component("CloudFront", unique("cdn"), "", cfBase()), func(t *testing.T, id string) bool {
		_, err := cfClient(t).GetDistribution(t.Context(), &cloudfront.GetDistributionInput{Id: aws.String(id)})
		return err == nil
	})
}
