package aws_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/panka/panka/provider"
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
		out, err := c.GetDistributionConfig(t.Context(), &cloudfront.GetDistributionConfigInput{Id: aws.String(id)})
		if err != nil {
			t.Fatal(err)
		}
		change(out.DistributionConfig)
		if _, err := c.UpdateDistribution(t.Context(), &cloudfront.UpdateDistributionInput{Id: aws.String(id), IfMatch: out.ETag, DistributionConfig: out.DistributionConfig}); err != nil {
			t.Fatal(err)
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

// An ALB origin cannot be built yet: Create fails with an error naming the origin, and leaves
// no distribution.
func TestCloudFrontALBOrigin(t *testing.T) {
	p := newProvider(t)
	spec := cfBase()
	spec["origins"] = l{m{"id": "site", "s3": "site", "originAccessControl": true}, m{"id": "app", "alb": "lb", "originAccessControl": true}}
	spec["defaultBehavior"].(map[string]any)["origin"] = "site"
	r := component("CloudFront", unique("cdn"), "", spec)
	_, err := p.Create(t.Context(), r)
	if err == nil || !strings.Contains(err.Error(), "app") || !strings.Contains(err.Error(), "ALB origins") {
		t.Fatalf("Create with an ALB origin: %v; want an error naming the origin", err)
	}
	if _, err := p.Find(t.Context(), r); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("Find after the failed Create: %v, want ErrNotFound", err)
	}
	if findOAC(t, cfClient(t), r.Name) != "" {
		t.Error("the failed Create left an origin access control behind")
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
