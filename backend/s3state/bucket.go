package s3state

import (
	"context"
	"fmt"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// BucketOptions configure EnsureBucket.
type BucketOptions struct {
	// Bucket is the name of the bucket. Required.
	Bucket string
	// Region is where to create the bucket if it does not exist; "" means the client's
	// region. It is not checked against an existing bucket.
	Region string
	// KMSKeyID, if set, makes the bucket's default encryption SSE-KMS with this key (ID, alias
	// or ARN), with an S3 Bucket Key to cut KMS requests; otherwise it is SSE-S3.
	KMSKeyID string
}

// EnsureBucket makes opts.Bucket ready to hold Panka state, creating it if it does not exist,
// and is safe to run again on a bucket it has prepared. It
//
//   - creates the bucket, in opts.Region, unless it exists already and is owned by the caller;
//   - enables versioning, and reads the setting back: without versioning there is no state
//     history, so any failure here, "not implemented" included, is an error;
//   - sets default encryption: SSE-S3, or SSE-KMS with opts.KMSKeyID;
//   - blocks all public access (the four settings of PutPublicAccessBlock).
//
// S3-compatible stores and emulators do not all implement the last two. If one answers "not
// implemented" (HTTP 501 or the error code NotImplemented) to them, EnsureBucket carries on and
// names the skipped setting in warnings; any other error stops it. The bucket's objects are
// encrypted either way, since the Backend requests encryption on every write. Settings it
// changes replace the bucket's previous ones.
func EnsureBucket(ctx context.Context, client *s3.Client, opts BucketOptions) (warnings []string, err error) {
	if client == nil {
		return nil, fmt.Errorf("ensure bucket %s: nil S3 client", opts.Bucket)
	}
	if opts.Bucket == "" {
		return nil, fmt.Errorf("ensure bucket: no bucket given")
	}
	wrap := func(step string, err error) error {
		return fmt.Errorf("ensure bucket %s: %s: %w", opts.Bucket, step, err)
	}
	bucket := aws.String(opts.Bucket)

	if err := createBucket(ctx, client, opts); err != nil {
		return nil, wrap("create", err)
	}

	if _, err := client.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{
		Bucket:                  bucket,
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled},
	}); err != nil {
		return nil, wrap("enable versioning (state history is kept in object versions)", err)
	}
	v, err := client.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: bucket})
	if err != nil {
		return nil, wrap("check versioning", err)
	}
	if v.Status != types.BucketVersioningStatusEnabled {
		return nil, wrap("enable versioning", fmt.Errorf("the store accepted the setting but reports versioning %q", v.Status))
	}

	rule := types.ServerSideEncryptionRule{
		ApplyServerSideEncryptionByDefault: &types.ServerSideEncryptionByDefault{SSEAlgorithm: types.ServerSideEncryptionAes256},
	}
	if opts.KMSKeyID != "" {
		rule.ApplyServerSideEncryptionByDefault = &types.ServerSideEncryptionByDefault{
			SSEAlgorithm:   types.ServerSideEncryptionAwsKms,
			KMSMasterKeyID: aws.String(opts.KMSKeyID),
		}
		rule.BucketKeyEnabled = aws.Bool(true)
	}
	if _, err := client.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{
		Bucket:                            bucket,
		ServerSideEncryptionConfiguration: &types.ServerSideEncryptionConfiguration{Rules: []types.ServerSideEncryptionRule{rule}},
	}); err != nil {
		if !isNotImplemented(err) {
			return nil, wrap("set default encryption", err)
		}
		warnings = append(warnings, fmt.Sprintf("default encryption not set: the store does not implement PutBucketEncryption (%v)", err))
	}

	if _, err := client.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{
		Bucket: bucket,
		PublicAccessBlockConfiguration: &types.PublicAccessBlockConfiguration{
			BlockPublicAcls:       aws.Bool(true),
			IgnorePublicAcls:      aws.Bool(true),
			BlockPublicPolicy:     aws.Bool(true),
			RestrictPublicBuckets: aws.Bool(true),
		},
	}); err != nil {
		if !isNotImplemented(err) {
			return nil, wrap("block public access", err)
		}
		warnings = append(warnings, fmt.Sprintf("public access not blocked: the store does not implement PutPublicAccessBlock (%v)", err))
	}
	return warnings, nil
}

// createBucket creates opts.Bucket unless the caller owns it already.
func createBucket(ctx context.Context, client *s3.Client, opts BucketOptions) error {
	_, err := client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(opts.Bucket)})
	if err == nil {
		return nil
	}
	if !isCode(err, "NotFound") && !isCode(err, "NoSuchBucket") {
		if httpStatus(err) == http.StatusForbidden {
			return fmt.Errorf("the bucket exists but this identity may not use it (bucket names are global: another account may own it): %w", err)
		}
		return err
	}
	in := &s3.CreateBucketInput{Bucket: aws.String(opts.Bucket)}
	// us-east-1 is the one region that takes no location constraint.
	if opts.Region != "" && opts.Region != "us-east-1" {
		in.CreateBucketConfiguration = &types.CreateBucketConfiguration{LocationConstraint: types.BucketLocationConstraint(opts.Region)}
	}
	if _, err := client.CreateBucket(ctx, in, func(o *s3.Options) {
		if opts.Region != "" {
			o.Region = opts.Region
		}
	}); err != nil && !isCode(err, "BucketAlreadyOwnedByYou") { // created meanwhile by another run
		return err
	}
	return nil
}

// isNotImplemented reports whether err says the store does not implement the operation.
func isNotImplemented(err error) bool {
	return isCode(err, "NotImplemented") || httpStatus(err) == http.StatusNotImplemented
}
