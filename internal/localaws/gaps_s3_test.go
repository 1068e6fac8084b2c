package localaws

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

func gapS3Client(t *testing.T, endpoint string) *s3.Client {
	t.Helper()
	cfg, err := sdkConfig(t.Context(), endpoint, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
}

func newBucket(t *testing.T, c *s3.Client, in *s3.CreateBucketInput) *string {
	t.Helper()
	if in == nil {
		in = &s3.CreateBucketInput{}
	}
	in.Bucket = aws.String(uniqueName("gap-bucket"))
	if _, err := c.CreateBucket(t.Context(), in); err != nil {
		t.Fatal(err)
	}
	return in.Bucket
}

func errorCode(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return ""
}

var corsRule = s3types.CORSRule{ID: aws.String("web"), AllowedMethods: []string{"GET"}, AllowedOrigins: []string{"*"}, MaxAgeSeconds: aws.Int32(60)}

// S3 keeps a bucket when its CORS configuration is deleted; kumo v0.33.1 deletes the bucket.
func TestKumoS3DeleteBucketCorsDeletesBucket(t *testing.T) {
	c := gapS3Client(t, gapEmulator(t).srv.URL) // kumo itself
	b := newBucket(t, c, nil)
	if _, err := c.PutBucketCors(t.Context(), &s3.PutBucketCorsInput{Bucket: b, CORSConfiguration: &s3types.CORSConfiguration{CORSRules: []s3types.CORSRule{corsRule}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteBucketCors(t.Context(), &s3.DeleteBucketCorsInput{Bucket: b}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.HeadBucket(t.Context(), &s3.HeadBucketInput{Bucket: b}); err == nil {
		t.Fatal("kumo keeps the bucket after DeleteBucketCors: remove the layer's CORS handlers and this test")
	}
}

// S3 keeps a CORS rule's ID; kumo v0.33.1 drops it.
func TestKumoS3DropsCORSRuleID(t *testing.T) {
	c := gapS3Client(t, gapEmulator(t).srv.URL)
	b := newBucket(t, c, nil)
	if _, err := c.PutBucketCors(t.Context(), &s3.PutBucketCorsInput{Bucket: b, CORSConfiguration: &s3types.CORSConfiguration{CORSRules: []s3types.CORSRule{corsRule}}}); err != nil {
		t.Fatal(err)
	}
	out, err := c.GetBucketCors(t.Context(), &s3.GetBucketCorsInput{Bucket: b})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.CORSRules) == 1 && aws.ToString(out.CORSRules[0].ID) == "web" {
		t.Fatal("kumo keeps a CORS rule's ID: the layer's CORS handlers may go once DeleteBucketCors is fixed too")
	}
}

// PutBucketAcl sets a bucket's ACL; kumo v0.33.1 takes it for CreateBucket.
func TestKumoS3PutBucketAclIsCreateBucket(t *testing.T) {
	c := gapS3Client(t, gapEmulator(t).srv.URL)
	b := newBucket(t, c, &s3.CreateBucketInput{ObjectOwnership: s3types.ObjectOwnershipBucketOwnerPreferred})
	_, err := c.PutBucketAcl(t.Context(), &s3.PutBucketAclInput{Bucket: b, ACL: s3types.BucketCannedACLPublicRead})
	if code := errorCode(err); code != "BucketAlreadyOwnedByYou" {
		t.Fatalf("kumo answers PutBucketAcl with %v (code %q), not as CreateBucket: check its ACLs and remove the layer's ACL handlers", err, code)
	}
}

// PutBucketOwnershipControls sets a bucket's object ownership; kumo v0.33.1 takes it for
// CreateBucket (MalformedXML), and keeps no ownership controls, not even CreateBucket's.
func TestKumoS3OwnershipControls(t *testing.T) {
	c := gapS3Client(t, gapEmulator(t).srv.URL)
	b := newBucket(t, c, &s3.CreateBucketInput{ObjectOwnership: s3types.ObjectOwnershipBucketOwnerPreferred})
	if _, err := c.GetBucketOwnershipControls(t.Context(), &s3.GetBucketOwnershipControlsInput{Bucket: b}); err == nil {
		t.Fatal("kumo keeps CreateBucket's object ownership: check PutBucketOwnershipControls and remove the layer's handlers")
	}
	_, err := c.PutBucketOwnershipControls(t.Context(), &s3.PutBucketOwnershipControlsInput{Bucket: b, OwnershipControls: &s3types.OwnershipControls{
		Rules: []s3types.OwnershipControlsRule{{ObjectOwnership: s3types.ObjectOwnershipObjectWriter}}}})
	if code := errorCode(err); code != "MalformedXML" {
		t.Fatalf("kumo answers PutBucketOwnershipControls with %v (code %q): remove the layer's ownership handlers", err, code)
	}
}

// Through the layer: ACLs, ownership controls and CORS are kept per bucket, checked against
// each other as S3 does, and forgotten with the bucket; DeleteBucketCors keeps the bucket.
func TestGapS3BucketSettings(t *testing.T) {
	c := gapS3Client(t, gapEmulator(t).URL)
	ctx := t.Context()
	b := newBucket(t, c, nil)

	own, err := c.GetBucketOwnershipControls(ctx, &s3.GetBucketOwnershipControlsInput{Bucket: b})
	if err != nil || own.OwnershipControls.Rules[0].ObjectOwnership != s3types.ObjectOwnershipBucketOwnerEnforced {
		t.Fatalf("a new bucket's ownership: %v %v; want BucketOwnerEnforced", own, err)
	}
	if _, err := c.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: b, ACL: s3types.BucketCannedACLPublicRead}); errorCode(err) != "AccessControlListNotSupported" {
		t.Fatalf("PutBucketAcl public-read with BucketOwnerEnforced: %v; want AccessControlListNotSupported", err)
	}
	if _, err := c.PutBucketOwnershipControls(ctx, &s3.PutBucketOwnershipControlsInput{Bucket: b, OwnershipControls: &s3types.OwnershipControls{
		Rules: []s3types.OwnershipControlsRule{{ObjectOwnership: s3types.ObjectOwnershipObjectWriter}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: b, ACL: s3types.BucketCannedACLPublicRead}); err != nil {
		t.Fatal(err)
	}
	acl, err := c.GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: b})
	if err != nil {
		t.Fatal(err)
	}
	if len(acl.Grants) != 2 || aws.ToString(acl.Grants[1].Grantee.URI) != s3AllUsers || acl.Grants[1].Permission != s3types.PermissionRead {
		t.Errorf("grants of public-read: %+v", acl.Grants)
	}

	if _, err := c.PutBucketCors(ctx, &s3.PutBucketCorsInput{Bucket: b, CORSConfiguration: &s3types.CORSConfiguration{CORSRules: []s3types.CORSRule{corsRule}}}); err != nil {
		t.Fatal(err)
	}
	cors, err := c.GetBucketCors(ctx, &s3.GetBucketCorsInput{Bucket: b})
	if err != nil || len(cors.CORSRules) != 1 || aws.ToString(cors.CORSRules[0].ID) != "web" || aws.ToInt32(cors.CORSRules[0].MaxAgeSeconds) != 60 {
		t.Fatalf("GetBucketCors: %+v %v", cors, err)
	}
	if _, err := c.DeleteBucketCors(ctx, &s3.DeleteBucketCorsInput{Bucket: b}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: b}); err != nil {
		t.Fatalf("the bucket is gone after DeleteBucketCors: %v", err)
	}
	if _, err := c.GetBucketCors(ctx, &s3.GetBucketCorsInput{Bucket: b}); errorCode(err) != "NoSuchCORSConfiguration" {
		t.Fatalf("GetBucketCors after DeleteBucketCors: %v", err)
	}

	if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: b}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: b}); errorCode(err) != "NoSuchBucket" {
		t.Fatalf("GetBucketAcl of a deleted bucket: %v; want NoSuchBucket", err)
	}
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: b}); err != nil {
		t.Fatal(err)
	}
	acl, err = c.GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: b})
	if err != nil || len(acl.Grants) != 1 {
		t.Fatalf("a bucket created again under a deleted one's name has grants %+v (%v); want the owner's only", acl, err)
	}
}

// The layer's S3 settings persist in the data directory.
func TestGapS3StatePersists(t *testing.T) {
	dir := t.TempDir()
	g := newS3GapState(dir)
	if err := g.update("b", func(b *s3Bucket) { b.ACL = "public-read"; b.CORS = []byte("<CORSConfiguration/>") }); err != nil {
		t.Fatal(err)
	}
	got := newS3GapState(dir).get("b")
	if got.ACL != "public-read" || got.Ownership != "BucketOwnerEnforced" || string(got.CORS) != "<CORSConfiguration/>" {
		t.Errorf("read back %+v", got)
	}
}
