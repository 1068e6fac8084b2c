package aws

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/panka/panka/provider"
)

// S3: a bucket. Its physical ID is the bucket name. Every field of schema.S3Spec:
//
//	acl                 the canned ACL (PutBucketAcl); read back from the grants (GetBucketAcl)
//	objectOwnership     ownership controls (CreateBucket, PutBucketOwnershipControls); a bucket
//	                    without any reads as ObjectWriter, as S3 treats it
//	versioning          Enabled, or Suspended once it was enabled (PutBucketVersioning)
//	encryption          default encryption: SSE-S3 (AES256) or SSE-KMS (aws:kms with kmsKey), and
//	                    bucketKey (PutBucketEncryption); a bucket without any reads as SSE-S3
//	                    without a bucket key, which is what S3 applies to every bucket
//	blockPublicAccess   the public access block (PutPublicAccessBlock); none reads as all false
//	lifecycleRules      the lifecycle configuration, a rule's prefix as its filter
//	                    (PutBucketLifecycleConfiguration, DeleteBucketLifecycle when there is none)
//	cors                the CORS configuration (PutBucketCors, DeleteBucketCors)
//	forceDestroy        Panka's own: kept as the bucket tag panka:forceDestroy=true (not reported
//	                    among the bucket's tags); Delete empties the bucket, every version and
//	                    delete marker, only when it is set, and otherwise refuses to delete a
//	                    bucket that is not empty
//
// Outputs: bucketName, domainName, regionalDomainName, arn.
//
// Limits: the canned ACLs bucket-owner-read and bucket-owner-full-control give a bucket the
// same grants as private, so they read back as private; grants other than a canned ACL's read
// back as "custom".

const tagForceDestroy = "panka:forceDestroy"

type s3Kind struct {
	p *Provider
	c *s3.Client
}

func newS3(p *Provider) kind {
	return &s3Kind{p: p, c: s3.NewFromConfig(p.cfg, func(o *s3.Options) {
		// Bucket host names do not resolve at a custom endpoint (an emulator, a private one).
		o.UsePathStyle = p.cfg.BaseEndpoint != nil && *p.cfg.BaseEndpoint != ""
	})}
}

// s3Live is what update needs of a bucket as read.
type s3Live struct {
	spec map[string]any
	tags map[string]string // every tag, panka:forceDestroy included
}

func (k *s3Kind) lookup(ctx context.Context, name string) (string, error) {
	if _, err := k.c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(name)}); err != nil {
		return "", err
	}
	return name, nil
}

func (k *s3Kind) create(ctx context.Context, r provider.Resource) (string, error) {
	in := &s3.CreateBucketInput{Bucket: aws.String(r.Name)}
	if own := specString(r.Spec, "objectOwnership"); own != "" {
		in.ObjectOwnership = s3types.ObjectOwnership(own)
	}
	if region := k.p.cfg.Region; region != "us-east-1" {
		in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(region)}
	}
	if _, err := k.c.CreateBucket(ctx, in); err != nil {
		return "", err
	}
	// Tags first: a run that stops here leaves a bucket Find adopts, and the next apply
	// configures it.
	tags := cloneTags(r.Tags)
	if specBool(r.Spec, "forceDestroy") {
		if tags == nil {
			tags = map[string]string{}
		}
		tags[tagForceDestroy] = "true"
	}
	if err := k.putTags(ctx, r.Name, tags); err != nil {
		return "", fmt.Errorf("tags: %w", err)
	}
	// A new bucket has S3's defaults: what differs from them is configured as an update would.
	have := &s3Live{spec: map[string]any{
		"acl": "private", "objectOwnership": specString(r.Spec, "objectOwnership"), "versioning": false,
		// Encryption and the public access block are always written: S3's defaults for them
		// have changed over the years, and an explicit configuration reads the same everywhere.
		"encryption": map[string]any{}, "blockPublicAccess": map[string]any{}, "forceDestroy": specBool(r.Spec, "forceDestroy"),
	}, tags: tags}
	if err := k.configure(ctx, r.Name, have, r.Spec); err != nil {
		return "", err
	}
	return r.Name, nil
}

func (k *s3Kind) putTags(ctx context.Context, bucket string, tags map[string]string) error {
	if len(tags) == 0 {
		_, err := k.c.DeleteBucketTagging(ctx, &s3.DeleteBucketTaggingInput{Bucket: aws.String(bucket)})
		return err
	}
	var set []s3types.Tag
	for _, key := range slices.Sorted(maps.Keys(tags)) {
		set = append(set, s3types.Tag{Key: aws.String(key), Value: aws.String(tags[key])})
	}
	_, err := k.c.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String(bucket), Tagging: &s3types.Tagging{TagSet: set}})
	return err
}

// configure makes the bucket's settings want, changing those that differ from have. The order
// keeps every step valid: the public access block first (a public ACL needs it lifted), and
// ACLs turned off (BucketOwnerEnforced) only once the ACL is private again.
func (k *s3Kind) configure(ctx context.Context, bucket string, have *s3Live, want map[string]any) error {
	b := aws.String(bucket)
	same := func(key string) bool { return reflect.DeepEqual(have.spec[key], s3Normal(key, want[key])) }

	if !same("blockPublicAccess") {
		pab := specMap(want, "blockPublicAccess")
		_, err := k.c.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: b, PublicAccessBlockConfiguration: &s3types.PublicAccessBlockConfiguration{
			BlockPublicAcls: aws.Bool(specBool(pab, "blockPublicAcls")), IgnorePublicAcls: aws.Bool(specBool(pab, "ignorePublicAcls")),
			BlockPublicPolicy: aws.Bool(specBool(pab, "blockPublicPolicy")), RestrictPublicBuckets: aws.Bool(specBool(pab, "restrictPublicBuckets")),
		}})
		if err != nil {
			return fmt.Errorf("public access block: %w", err)
		}
	}
	ownership := func() error {
		if specString(want, "objectOwnership") == "" || same("objectOwnership") {
			return nil
		}
		own := s3types.ObjectOwnership(specString(want, "objectOwnership"))
		_, err := k.c.PutBucketOwnershipControls(ctx, &s3.PutBucketOwnershipControlsInput{Bucket: b, OwnershipControls: &s3types.OwnershipControls{
			Rules: []s3types.OwnershipControlsRule{{ObjectOwnership: own}},
		}})
		if err != nil {
			return fmt.Errorf("ownership controls: %w", err)
		}
		return nil
	}
	enforced := specString(want, "objectOwnership") == string(s3types.ObjectOwnershipBucketOwnerEnforced)
	if !enforced {
		if err := ownership(); err != nil {
			return err
		}
	}
	if acl := specString(want, "acl"); acl != "" && !same("acl") {
		if _, err := k.c.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: b, ACL: s3types.BucketCannedACL(acl)}); err != nil {
			return fmt.Errorf("acl: %w", err)
		}
	}
	if enforced {
		if err := ownership(); err != nil {
			return err
		}
	}

	if !same("versioning") {
		status := s3types.BucketVersioningStatusSuspended
		if specBool(want, "versioning") {
			status = s3types.BucketVersioningStatusEnabled
		}
		_, err := k.c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: b, VersioningConfiguration: &s3types.VersioningConfiguration{Status: status}})
		if err != nil {
			return fmt.Errorf("versioning: %w", err)
		}
	}
	if !same("encryption") {
		enc := specMap(want, "encryption")
		def := &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: s3types.ServerSideEncryptionAes256}
		if specString(enc, "type") == "SSE-KMS" {
			def = &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: s3types.ServerSideEncryptionAwsKms, KMSMasterKeyID: aws.String(specString(enc, "kmsKey"))}
		}
		_, err := k.c.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{Bucket: b, ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{
			Rules: []s3types.ServerSideEncryptionRule{{ApplyServerSideEncryptionByDefault: def, BucketKeyEnabled: aws.Bool(specBool(enc, "bucketKey"))}},
		}})
		if err != nil {
			return fmt.Errorf("encryption: %w", err)
		}
	}
	if !same("lifecycleRules") {
		rules := s3LifecycleRules(specList(want, "lifecycleRules"))
		var err error
		if len(rules) == 0 {
			_, err = k.c.DeleteBucketLifecycle(ctx, &s3.DeleteBucketLifecycleInput{Bucket: b})
		} else {
			_, err = k.c.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{Bucket: b, LifecycleConfiguration: &s3types.BucketLifecycleConfiguration{Rules: rules}})
		}
		if err != nil {
			return fmt.Errorf("lifecycle rules: %w", err)
		}
	}
	if !same("cors") {
		rules := s3CORSRules(specList(want, "cors"))
		var err error
		if len(rules) == 0 {
			_, err = k.c.DeleteBucketCors(ctx, &s3.DeleteBucketCorsInput{Bucket: b})
		} else {
			_, err = k.c.PutBucketCors(ctx, &s3.PutBucketCorsInput{Bucket: b, CORSConfiguration: &s3types.CORSConfiguration{CORSRules: rules}})
		}
		if err != nil {
			return fmt.Errorf("cors: %w", err)
		}
	}
	if force := specBool(want, "forceDestroy"); force != specBool(have.spec, "forceDestroy") {
		tags := maps.Clone(have.tags)
		if tags == nil {
			tags = map[string]string{}
		}
		if force {
			tags[tagForceDestroy] = "true"
		} else {
			delete(tags, tagForceDestroy)
		}
		if err := k.putTags(ctx, bucket, tags); err != nil {
			return fmt.Errorf("forceDestroy tag: %w", err)
		}
		have.tags = tags
	}
	return nil
}

// s3Normal returns a spec field's value as read reports it, for comparing: lists go through the
// SDK types and back, so fields a rule leaves out compare equal to their zero values.
func s3Normal(key string, v any) any {
	switch key {
	case "lifecycleRules":
		l, _ := v.([]any)
		return s3LifecycleSpec(s3LifecycleRules(l))
	case "cors":
		l, _ := v.([]any)
		return s3CORSSpec(s3CORSRules(l))
	case "encryption":
		m, _ := v.(map[string]any)
		out := map[string]any{"type": specString(m, "type"), "bucketKey": specBool(m, "bucketKey")}
		if key := specString(m, "kmsKey"); key != "" {
			out["kmsKey"] = key
		}
		return out
	case "blockPublicAccess":
		m, _ := v.(map[string]any)
		out := map[string]any{}
		for _, f := range []string{"blockPublicAcls", "ignorePublicAcls", "blockPublicPolicy", "restrictPublicBuckets"} {
			out[f] = specBool(m, f)
		}
		return out
	}
	return v
}

func s3LifecycleRules(spec []any) []s3types.LifecycleRule {
	var out []s3types.LifecycleRule
	for _, x := range spec {
		m, _ := x.(map[string]any)
		status := s3types.ExpirationStatusDisabled
		if enabled, ok := m["enabled"].(bool); enabled || !ok {
			status = s3types.ExpirationStatusEnabled
		}
		r := s3types.LifecycleRule{ID: aws.String(specString(m, "id")), Status: status,
			Filter: &s3types.LifecycleRuleFilter{Prefix: aws.String(specString(m, "prefix"))}}
		for _, t := range specList(m, "transitions") {
			tm, _ := t.(map[string]any)
			r.Transitions = append(r.Transitions, s3types.Transition{
				Days: aws.Int32(int32(specInt(tm, "days", 0))), StorageClass: s3types.TransitionStorageClass(specString(tm, "storageClass")),
			})
		}
		if e := specMap(m, "expiration"); e != nil {
			r.Expiration = &s3types.LifecycleExpiration{Days: aws.Int32(int32(specInt(e, "days", 0)))}
		}
		out = append(out, r)
	}
	return out
}

// s3LifecycleSpec returns the lifecycleRules field of rules; nil when there are none.
func s3LifecycleSpec(rules []s3types.LifecycleRule) any {
	if len(rules) == 0 {
		return nil
	}
	var out []any
	for _, r := range rules {
		m := map[string]any{"id": aws.ToString(r.ID), "enabled": r.Status == s3types.ExpirationStatusEnabled}
		//lint:ignore SA1019 a rule written by an older client has its prefix here, not in Filter
		prefix := aws.ToString(r.Prefix)
		if r.Filter != nil && r.Filter.Prefix != nil {
			prefix = *r.Filter.Prefix
		}
		if prefix != "" {
			m["prefix"] = prefix
		}
		var ts []any
		for _, t := range r.Transitions {
			ts = append(ts, map[string]any{"days": int64(aws.ToInt32(t.Days)), "storageClass": string(t.StorageClass)})
		}
		if ts != nil {
			m["transitions"] = ts
		}
		if r.Expiration != nil && r.Expiration.Days != nil {
			m["expiration"] = map[string]any{"days": int64(*r.Expiration.Days)}
		}
		out = append(out, m)
	}
	return out
}

func s3CORSRules(spec []any) []s3types.CORSRule {
	var out []s3types.CORSRule
	strs := func(m map[string]any, key string) []string {
		var s []string
		for _, x := range specList(m, key) {
			if v, ok := x.(string); ok {
				s = append(s, v)
			}
		}
		return s
	}
	for _, x := range spec {
		m, _ := x.(map[string]any)
		r := s3types.CORSRule{
			AllowedMethods: strs(m, "allowedMethods"), AllowedOrigins: strs(m, "allowedOrigins"),
			AllowedHeaders: strs(m, "allowedHeaders"), ExposeHeaders: strs(m, "exposeHeaders"),
			MaxAgeSeconds: aws.Int32(int32(specInt(m, "maxAgeSeconds", 0))),
		}
		if id := specString(m, "id"); id != "" {
			r.ID = aws.String(id)
		}
		out = append(out, r)
	}
	return out
}

// s3CORSSpec returns the cors field of rules; nil when there are none.
func s3CORSSpec(rules []s3types.CORSRule) any {
	if len(rules) == 0 {
		return nil
	}
	var out []any
	list := func(s []string) any {
		if len(s) == 0 {
			return nil
		}
		l := make([]any, len(s))
		for i, v := range s {
			l[i] = v
		}
		return l
	}
	for _, r := range rules {
		m := map[string]any{"maxAgeSeconds": int64(aws.ToInt32(r.MaxAgeSeconds))}
		if id := aws.ToString(r.ID); id != "" {
			m["id"] = id
		}
		for key, v := range map[string][]string{"allowedMethods": r.AllowedMethods, "allowedOrigins": r.AllowedOrigins, "allowedHeaders": r.AllowedHeaders, "exposeHeaders": r.ExposeHeaders} {
			if l := list(v); l != nil {
				m[key] = l
			}
		}
		out = append(out, m)
	}
	return out
}

// s3Absent reports whether err says a bucket has no such configuration (the bucket itself
// exists).
func s3Absent(err error, codes ...string) bool {
	var api smithy.APIError
	return errors.As(err, &api) && slices.Contains(codes, api.ErrorCode())
}

func (k *s3Kind) read(ctx context.Context, id string) (*live, error) {
	b := aws.String(id)
	ver, err := k.c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: b})
	if err != nil {
		return nil, err
	}
	spec := map[string]any{"versioning": ver.Status == s3types.BucketVersioningStatusEnabled}

	enc := map[string]any{"type": "SSE-S3", "bucketKey": false}
	switch out, err := k.c.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: b}); {
	case s3Absent(err, "ServerSideEncryptionConfigurationNotFoundError"):
	case err != nil:
		return nil, fmt.Errorf("encryption: %w", err)
	case out.ServerSideEncryptionConfiguration != nil && len(out.ServerSideEncryptionConfiguration.Rules) > 0:
		r := out.ServerSideEncryptionConfiguration.Rules[0]
		enc["bucketKey"] = aws.ToBool(r.BucketKeyEnabled)
		if d := r.ApplyServerSideEncryptionByDefault; d != nil && d.SSEAlgorithm != s3types.ServerSideEncryptionAes256 {
			enc["type"] = "SSE-KMS"
			if key := aws.ToString(d.KMSMasterKeyID); key != "" {
				enc["kmsKey"] = key
			}
		}
	}
	spec["encryption"] = enc

	pab := map[string]any{"blockPublicAcls": false, "ignorePublicAcls": false, "blockPublicPolicy": false, "restrictPublicBuckets": false}
	switch out, err := k.c.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: b}); {
	case s3Absent(err, "NoSuchPublicAccessBlockConfiguration"):
	case err != nil:
		return nil, fmt.Errorf("public access block: %w", err)
	case out.PublicAccessBlockConfiguration != nil:
		c := out.PublicAccessBlockConfiguration
		pab = map[string]any{
			"blockPublicAcls": aws.ToBool(c.BlockPublicAcls), "ignorePublicAcls": aws.ToBool(c.IgnorePublicAcls),
			"blockPublicPolicy": aws.ToBool(c.BlockPublicPolicy), "restrictPublicBuckets": aws.ToBool(c.RestrictPublicBuckets),
		}
	}
	spec["blockPublicAccess"] = pab

	spec["objectOwnership"] = string(s3types.ObjectOwnershipObjectWriter)
	switch out, err := k.c.GetBucketOwnershipControls(ctx, &s3.GetBucketOwnershipControlsInput{Bucket: b}); {
	case s3Absent(err, "OwnershipControlsNotFoundError"):
	case err != nil:
		return nil, fmt.Errorf("ownership controls: %w", err)
	case out.OwnershipControls != nil && len(out.OwnershipControls.Rules) > 0:
		spec["objectOwnership"] = string(out.OwnershipControls.Rules[0].ObjectOwnership)
	}

	acl, err := k.c.GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: b})
	if err != nil {
		return nil, fmt.Errorf("acl: %w", err)
	}
	spec["acl"] = cannedACL(acl)

	switch out, err := k.c.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: b}); {
	case s3Absent(err, "NoSuchLifecycleConfiguration"):
	case err != nil:
		return nil, fmt.Errorf("lifecycle rules: %w", err)
	default:
		if rules := s3LifecycleSpec(out.Rules); rules != nil {
			spec["lifecycleRules"] = rules
		}
	}
	switch out, err := k.c.GetBucketCors(ctx, &s3.GetBucketCorsInput{Bucket: b}); {
	case s3Absent(err, "NoSuchCORSConfiguration"):
	case err != nil:
		return nil, fmt.Errorf("cors: %w", err)
	default:
		if rules := s3CORSSpec(out.CORSRules); rules != nil {
			spec["cors"] = rules
		}
	}

	tags := map[string]string{}
	switch out, err := k.c.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: b}); {
	case s3Absent(err, "NoSuchTagSet", "NoSuchTagSetError"):
	case err != nil:
		return nil, fmt.Errorf("tags: %w", err)
	default:
		for _, t := range out.TagSet {
			tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
	}
	spec["forceDestroy"] = tags[tagForceDestroy] == "true"
	obsTags := maps.Clone(tags)
	delete(obsTags, tagForceDestroy)

	region := k.p.cfg.Region
	arn := fmt.Sprintf("arn:%s:s3:::%s", k.p.partition(), id)
	return &live{
		obs: &provider.Observed{
			ID: id, Name: id, ARN: arn, Spec: spec, Tags: obsTags,
			Outputs: map[string]string{
				"bucketName": id, "arn": arn,
				"domainName":         id + ".s3.amazonaws.com",
				"regionalDomainName": id + ".s3." + region + ".amazonaws.com",
			},
		},
		raw: &s3Live{spec: spec, tags: tags},
	}, nil
}

// Canned ACLs by the grants they give, besides the owner's FULL_CONTROL.
const (
	s3AllUsers     = "http://acs.amazonaws.com/groups/global/AllUsers"
	s3AuthUsers    = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
	s3LogDelivery  = "http://acs.amazonaws.com/groups/s3/LogDelivery"
	s3ExecReadUser = "6aa5a366c34c1cbe25dc49211496e913e0351eb0e8c37aa3477e40942ec6b97c" // aws-exec-read's EC2 grantee
)

var s3CannedGrants = map[string][]string{
	"private":            nil,
	"public-read":        {s3AllUsers + " READ"},
	"public-read-write":  {s3AllUsers + " READ", s3AllUsers + " WRITE"},
	"authenticated-read": {s3AuthUsers + " READ"},
	"log-delivery-write": {s3LogDelivery + " READ_ACP", s3LogDelivery + " WRITE"},
	"aws-exec-read":      {s3ExecReadUser + " READ"},
}

// cannedACL returns the canned ACL whose grants a bucket's ACL has, or "custom".
func cannedACL(acl *s3.GetBucketAclOutput) string {
	owner := ""
	if acl.Owner != nil {
		owner = aws.ToString(acl.Owner.ID)
	}
	var grants []string
	for _, g := range acl.Grants {
		if g.Grantee == nil {
			continue
		}
		who := aws.ToString(g.Grantee.URI)
		if who == "" {
			who = aws.ToString(g.Grantee.ID)
		}
		if who == owner && g.Permission == s3types.PermissionFullControl {
			continue
		}
		grants = append(grants, who+" "+string(g.Permission))
	}
	slices.Sort(grants)
	for name, want := range s3CannedGrants {
		if slices.Equal(grants, want) {
			return name
		}
	}
	return "custom"
}

func (k *s3Kind) update(ctx context.Context, l *live, r provider.Resource) error {
	return k.configure(ctx, l.obs.ID, l.raw.(*s3Live), r.Spec)
}

// tag makes the bucket's tags the live ones changed by set and remove. S3 replaces a bucket's
// tags as a whole, so the current set is read again (configure may have just changed
// panka:forceDestroy).
func (k *s3Kind) tag(ctx context.Context, l *live, set map[string]string, remove []string) error {
	tags := map[string]string{}
	switch out, err := k.c.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String(l.obs.ID)}); {
	case s3Absent(err, "NoSuchTagSet", "NoSuchTagSetError"):
	case err != nil:
		return err
	default:
		for _, t := range out.TagSet {
			tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
	}
	maps.Copy(tags, set)
	for _, key := range remove {
		delete(tags, key)
	}
	return k.putTags(ctx, l.obs.ID, tags)
}

// errBucketNotEmpty is Delete's answer for a bucket with objects and no forceDestroy.
var errBucketNotEmpty = errors.New("the bucket is not empty and forceDestroy is not set: empty it, or set forceDestroy: true to let Panka delete its objects (every version) with it")

func (k *s3Kind) delete(ctx context.Context, l *live) error {
	b := aws.String(l.obs.ID)
	if specBool(l.obs.Spec, "forceDestroy") {
		if err := k.empty(ctx, l.obs.ID); err != nil {
			return fmt.Errorf("emptying the bucket: %w", err)
		}
	}
	_, err := k.c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: b})
	if s3Absent(err, "BucketNotEmpty") {
		return fmt.Errorf("%w (%w)", errBucketNotEmpty, err)
	}
	return err
}

// empty deletes every object version and delete marker of bucket.
func (k *s3Kind) empty(ctx context.Context, bucket string) error {
	p := s3.NewListObjectVersionsPaginator(k.c, &s3.ListObjectVersionsInput{Bucket: aws.String(bucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		var ids []s3types.ObjectIdentifier
		for _, v := range page.Versions {
			ids = append(ids, s3types.ObjectIdentifier{Key: v.Key, VersionId: v.VersionId})
		}
		for _, m := range page.DeleteMarkers {
			ids = append(ids, s3types.ObjectIdentifier{Key: m.Key, VersionId: m.VersionId})
		}
		for len(ids) > 0 {
			n := min(len(ids), 1000)
			out, err := k.c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(bucket), Delete: &s3types.Delete{Objects: ids[:n], Quiet: aws.Bool(true)}})
			if err != nil {
				return err
			}
			if len(out.Errors) > 0 {
				e := out.Errors[0]
				return fmt.Errorf("deleting %s (version %s): %s: %s", aws.ToString(e.Key), aws.ToString(e.VersionId), aws.ToString(e.Code), aws.ToString(e.Message))
			}
			ids = ids[n:]
		}
	}
	return nil
}
