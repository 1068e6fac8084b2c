package panka

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	s3backend "github.com/panka/panka/backend/s3"
	dynamodblock "github.com/panka/panka/lock/dynamodb"
)

// BootstrapOptions names the shared infrastructure of an installation.
type BootstrapOptions struct {
	Bucket    string // state bucket
	LockTable string // lock table
	KMSKeyID  string // optional: SSE-KMS for the state bucket (default SSE-S3)
	Region    string // optional: where to create the bucket (default: the client's region)
}

// Bootstrap creates, if missing, the S3 state bucket (versioning on, encrypted, public access
// blocked) and the DynamoDB lock table (TTL on "expires", point-in-time recovery), and returns
// warnings for settings the endpoint does not support. It is idempotent: run it as often as you
// like; it never deletes or weakens anything.
func Bootstrap(ctx context.Context, cfg aws.Config, opts BootstrapOptions) (warnings []string, err error) {
	if opts.Bucket == "" || opts.LockTable == "" {
		return nil, fmt.Errorf("bootstrap: a bucket and a lock table are required")
	}
	s3c := NewS3Client(cfg)
	w, err := s3backend.EnsureBucket(ctx, s3c, s3backend.BucketOptions{Bucket: opts.Bucket, Region: opts.Region, KMSKeyID: opts.KMSKeyID})
	if err != nil {
		return w, fmt.Errorf("bootstrap: %w", err)
	}
	warnings = append(warnings, w...)
	w, err = dynamodblock.EnsureTable(ctx, dynamodb.NewFromConfig(cfg), opts.LockTable)
	warnings = append(warnings, w...)
	if err != nil {
		return warnings, fmt.Errorf("bootstrap: %w", err)
	}
	return warnings, nil
}

// NewS3Client returns an S3 client for cfg. Path-style addressing is used when cfg has a custom
// base endpoint (an emulator or a private endpoint), where bucket host names do not resolve.
func NewS3Client(cfg aws.Config) *s3.Client {
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		if cfg.BaseEndpoint != nil && *cfg.BaseEndpoint != "" {
			o.UsePathStyle = true
		}
	})
}
