package localaws

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

var probes atomic.Int64

func TestEmulatorServesS3AndDynamoDBOnLoopback(t *testing.T) {
	srv, err := Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	u, err := url.Parse(srv.URL)
	if err != nil || u.Hostname() != "127.0.0.1" {
		t.Fatalf("emulator URL %q is not on 127.0.0.1", srv.URL)
	}
	ctx := context.Background()
	cfg, err := srv.Config(ctx, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	// Kumo's data is global to the process: with -count=N, earlier runs' buckets are there.
	bucket := fmt.Sprintf("probe-%d", probes.Add(1))
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	out, err := s3c.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil || !slices.ContainsFunc(out.Buckets, func(b types.Bucket) bool { return aws.ToString(b.Name) == bucket }) {
		t.Fatalf("ListBuckets = %v, %v; want %s listed", out, err, bucket)
	}
	ddb := dynamodb.NewFromConfig(cfg)
	if _, err := ddb.ListTables(ctx, &dynamodb.ListTablesInput{}); err != nil {
		t.Fatalf("ListTables: %v", err)
	}
}
