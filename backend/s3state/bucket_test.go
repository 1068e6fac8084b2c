package s3state_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/google/go-cmp/cmp"

	"github.com/panka/panka/backend/s3state"
)

func TestEnsureBucket(t *testing.T) {
	e := shared
	c := e.client("")
	existing := e.bucketName()
	if _, err := c.CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String(existing)}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		opts    s3state.BucketOptions
		wantSSE types.ServerSideEncryptionByDefault
	}{
		{"new", s3state.BucketOptions{Bucket: e.bucketName()}, types.ServerSideEncryptionByDefault{SSEAlgorithm: types.ServerSideEncryptionAes256}},
		{"new-in-region", s3state.BucketOptions{Bucket: e.bucketName(), Region: "eu-west-1"}, types.ServerSideEncryptionByDefault{SSEAlgorithm: types.ServerSideEncryptionAes256}},
		{"existing-unversioned", s3state.BucketOptions{Bucket: existing}, types.ServerSideEncryptionByDefault{SSEAlgorithm: types.ServerSideEncryptionAes256}},
		{"kms", s3state.BucketOptions{Bucket: e.bucketName(), KMSKeyID: "alias/panka-state"}, types.ServerSideEncryptionByDefault{SSEAlgorithm: types.ServerSideEncryptionAwsKms, KMSMasterKeyID: aws.String("alias/panka-state")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			// Twice: the second run finds everything in place.
			for range 2 {
				warnings, err := s3state.EnsureBucket(ctx, c, tc.opts)
				if err != nil || len(warnings) > 0 {
					t.Fatalf("EnsureBucket = %q, %v; want no warnings, no error", warnings, err)
				}
			}
			bucket := aws.String(tc.opts.Bucket)
			v, err := c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: bucket})
			if err != nil || v.Status != types.BucketVersioningStatusEnabled {
				t.Errorf("versioning = %+v, %v; want Enabled", v, err)
			}
			enc, err := c.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: bucket})
			if err != nil || len(enc.ServerSideEncryptionConfiguration.Rules) != 1 {
				t.Fatalf("encryption = %+v, %v; want one rule", enc, err)
			}
			rule := enc.ServerSideEncryptionConfiguration.Rules[0]
			if diff := cmp.Diff(tc.wantSSE, *rule.ApplyServerSideEncryptionByDefault, cmp.AllowUnexported(types.ServerSideEncryptionByDefault{})); diff != "" {
				t.Errorf("default encryption mismatch (-want +got):\n%s", diff)
			}
			if want := tc.opts.KMSKeyID != ""; aws.ToBool(rule.BucketKeyEnabled) != want {
				t.Errorf("BucketKeyEnabled = %v, want %v", aws.ToBool(rule.BucketKeyEnabled), want)
			}
			pab, err := c.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: bucket})
			if err != nil {
				t.Fatal(err)
			}
			if p := pab.PublicAccessBlockConfiguration; !aws.ToBool(p.BlockPublicAcls) || !aws.ToBool(p.IgnorePublicAcls) || !aws.ToBool(p.BlockPublicPolicy) || !aws.ToBool(p.RestrictPublicBuckets) {
				t.Errorf("public access block = %+v; want all four set", *p)
			}
			if _, err := s3state.New(ctx, c, s3state.Options{Bucket: tc.opts.Bucket}); err != nil {
				t.Errorf("New on the bucket: %v", err)
			}
		})
	}
}

func TestEnsureBucketErrors(t *testing.T) {
	e := shared
	if _, err := s3state.EnsureBucket(t.Context(), e.client(""), s3state.BucketOptions{}); err == nil {
		t.Error("EnsureBucket with no bucket name succeeded")
	}
	if _, err := s3state.EnsureBucket(t.Context(), nil, s3state.BucketOptions{Bucket: "x"}); err == nil {
		t.Error("EnsureBucket with a nil client succeeded")
	}
}

// A store that does not implement default encryption or public access blocks gets the bucket
// anyway, with a warning per skipped setting; one that does not implement versioning, or says
// it does but does not, gets an error.
func TestEnsureBucketOnPartialStores(t *testing.T) {
	e := shared
	notImplemented := func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusNotImplemented)
		fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>NotImplemented</Code><Message>A header you provided implies functionality that is not implemented</Message></Error>`)
	}
	tests := []struct {
		name string
		// refuse answers the bucket subresource requests the store does not implement.
		refuse       func(w http.ResponseWriter, r *http.Request) bool
		wantWarnings []string // substrings, one per warning
		wantErr      string
	}{
		{
			name: "no encryption, no public access block",
			refuse: func(w http.ResponseWriter, r *http.Request) bool {
				q := r.URL.Query()
				if r.Method == http.MethodPut && (q.Has("encryption") || q.Has("publicAccessBlock")) {
					notImplemented(w)
					return true
				}
				return false
			},
			wantWarnings: []string{"default encryption not set: the store does not implement PutBucketEncryption", "public access not blocked: the store does not implement PutPublicAccessBlock"},
		},
		{
			name: "no versioning",
			refuse: func(w http.ResponseWriter, r *http.Request) bool {
				if r.Method == http.MethodPut && r.URL.Query().Has("versioning") {
					notImplemented(w)
					return true
				}
				return false
			},
			wantErr: "enable versioning (state history is kept in object versions)",
		},
		{
			name: "versioning accepted but not enabled",
			refuse: func(w http.ResponseWriter, r *http.Request) bool {
				if r.Method == http.MethodPut && r.URL.Query().Has("versioning") {
					w.WriteHeader(http.StatusOK) // and do nothing
					return true
				}
				return false
			},
			wantErr: `the store accepted the setting but reports versioning ""`,
		},
		{
			name: "encryption refused for another reason",
			refuse: func(w http.ResponseWriter, r *http.Request) bool {
				if r.Method == http.MethodPut && r.URL.Query().Has("encryption") {
					w.Header().Set("Content-Type", "application/xml")
					w.WriteHeader(http.StatusForbidden)
					fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`)
					return true
				}
				return false
			},
			wantErr: "set default encryption",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newProxy(t, e, tc.refuse)
			bucket := e.bucketName()
			warnings, err := s3state.EnsureBucket(t.Context(), e.client(p.URL), s3state.BucketOptions{Bucket: bucket})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), bucket) {
					t.Fatalf("EnsureBucket = %q, %v; want an error naming %s and containing %q", warnings, err, bucket, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(warnings) != len(tc.wantWarnings) {
				t.Fatalf("warnings = %q; want %d", warnings, len(tc.wantWarnings))
			}
			for i, want := range tc.wantWarnings {
				if !strings.Contains(warnings[i], want) {
					t.Errorf("warning %d = %q; want it to contain %q", i, warnings[i], want)
				}
			}
			if _, err := s3state.New(t.Context(), e.client(""), s3state.Options{Bucket: bucket}); err != nil {
				t.Errorf("New on the bucket: %v", err)
			}
		})
	}
}
