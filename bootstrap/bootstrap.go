// Package bootstrap creates the shared infrastructure of a production installation: the S3 state
// bucket and the DynamoDB lock table. It is a separate package so that importing the root panka
// package does not pull in the AWS SDK.
package bootstrap

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/panka/panka/backend/s3state"
	"github.com/panka/panka/lock/dynamolock"
)

// Options names the shared infrastructure of an installation.
type Options struct {
	Bucket    string // state bucket
	LockTable string // lock table
	KMSKeyID  string // optional: SSE-KMS for the state bucket (default SSE-S3)
	Region    string // optional: where to create the bucket (default: the client's region)
}

// Run creates, if missing, the S3 state bucket (versioning on, encrypted, public access
// blocked) and the DynamoDB lock table (TTL on "expires", point-in-time recovery), and returns
// warnings for settings the endpoint does not support. It is idempotent: run it as often as you
// like; it never deletes or weakens anything.
func Run(ctx context.Context, cfg aws.Config, opts Options) (warnings []string, err error) {
	if opts.Bucket == "" || opts.LockTable == "" {
		return nil, fmt.Errorf("bootstrap: a bucket and a lock table are required")
	}
	s3c := s3state.NewClient(cfg)
	w, err := s3state.EnsureBucket(ctx, s3c, s3state.BucketOptions{Bucket: opts.Bucket, Region: opts.Region, KMSKeyID: opts.KMSKeyID})
	if err != nil {
		return w, fmt.Errorf("bootstrap: %w", err)
	}
	warnings = append(warnings, w...)
	w, err = dynamolock.EnsureTable(ctx, dynamodb.NewFromConfig(cfg), opts.LockTable)
	warnings = append(warnings, w...)
	if err != nil {
		return warnings, fmt.Errorf("bootstrap: %w", err)
	}
	return warnings, nil
}
