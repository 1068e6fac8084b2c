package s3state_test

// Where the emulator (kumo v0.33.1, internal/service/s3) differs from S3 in ways the backend can
// observe. Each test asserts kumo's behaviour as it is, says what S3 does instead and what it
// means for the backend, and fails once kumo changes, so that the note can be removed.
//
// Kumo does implement everything the conformance suite needs: conditional PutObject
// (If-None-Match: * and If-Match, checked under the same lock as the store), versioning,
// ListObjectVersions, GetObject by version ID, and every bucket setting EnsureBucket makes.

import (
	"bytes"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/panka/panka/backend"
	"github.com/panka/panka/backend/s3state"
)

// S3: HeadObject with versionId describes that version and returns x-amz-version-id. Kumo
// ignores versionId (it describes the current version) and returns no version ID.
//
// For the backend: History reads each revision's uncompressed size with HeadObject and trusts it
// only if the response's ETag is the revision's, so on kumo an older compressed revision reports
// its stored (compressed) size. Write looks up the latest version with ListObjectVersions rather
// than HeadObject, which works on both.
func TestKumoHeadObjectIgnoresVersionID(t *testing.T) {
	e := shared
	ctx := t.Context()
	c := e.client("")
	b := e.newBackend(t, s3state.Options{GzipThreshold: 16})
	older := bytes.Repeat([]byte("older "), 100)
	v := mustWrite(t, b, key, older, "")
	mustWrite(t, b, key, bytes.Repeat([]byte("newer "), 200), v)

	h, err := b.History(ctx, key)
	if err != nil || len(h) != 2 {
		t.Fatalf("History = %+v, %v", h, err)
	}
	out, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b.Bucket()), Key: aws.String(b.ObjectKey(key)), VersionId: aws.String(h[1].ID)})
	if err != nil {
		t.Fatal(err)
	}
	olderETag, _, _ := strings.Cut(string(h[1].Version), "@") // versions are "<ETag>@<VersionId>"
	if strings.Trim(aws.ToString(out.ETag), `"`) == olderETag {
		t.Fatal("kumo's HeadObject now honours versionId: History reports the true size of older compressed revisions; update this test")
	}
	if aws.ToString(out.VersionId) != "" {
		t.Errorf("kumo's HeadObject now returns x-amz-version-id %q", aws.ToString(out.VersionId))
	}
	if h[1].Size == int64(len(older)) || h[1].Size <= 0 {
		t.Errorf("History[1].Size = %d: with kumo's HeadObject it should be the stored, compressed size, not %d", h[1].Size, len(older))
	}
	if h[0].Size != 1200 {
		t.Errorf("History[0].Size = %d, want 1200: the current revision's HeadObject is right even on kumo", h[0].Size)
	}
}

// S3: PutObject stores Content-Encoding and GetObject returns it. Kumo drops it.
//
// For the backend: Write marks compressed objects with the metadata x-amz-meta-panka-encoding
// as well, and reads go by that, so compression works on kumo; objects compressed by other tools
// with only Content-Encoding set read back compressed from kumo.
func TestKumoDropsContentEncoding(t *testing.T) {
	e := shared
	ctx := t.Context()
	c := e.client("")
	bucket := e.newBucket(t)
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String("k"), Body: strings.NewReader("x"), ContentEncoding: aws.String("gzip"),
	}); err != nil {
		t.Fatal(err)
	}
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	out.Body.Close()
	if ce := aws.ToString(out.ContentEncoding); ce != "" {
		t.Fatalf("kumo now keeps Content-Encoding (%q); update this test", ce)
	}
}

// S3: ListObjectsV2 leaves out a key whose latest version is a delete marker. Kumo lists it
// (size 0, no ETag).
//
// For the backend: on kumo, List includes a key whose document was deleted outside Panka, and
// Read of it reports backend.ErrNotFound.
func TestKumoListsDeleteMarkers(t *testing.T) {
	e := shared
	ctx := t.Context()
	b := e.newBackend(t, s3state.Options{})
	mustWrite(t, b, key, []byte("x"), "")
	if _, err := e.client("").DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b.Bucket()), Key: aws.String(b.ObjectKey(key))}); err != nil {
		t.Fatal(err)
	}
	keys, err := b.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) == 0 {
		t.Fatal("kumo's ListObjectsV2 now leaves out deleted keys, as S3 does; assert that List does too in TestDeleteMarker")
	}
}

// S3: in a bucket that never had versioning, ListObjectVersions reports each object with version
// ID "null", and GetObject with versionId=null reads it. Kumo reports no version ID and answers
// NoSuchVersion.
//
// For the backend (only with Options.AllowUnversioned): History names the single revision "null"
// either way, but ReadRevision of it reports backend.ErrNotFound on kumo.
func TestKumoUnversionedBucketHasNoNullVersion(t *testing.T) {
	e := shared
	ctx := t.Context()
	c := e.client("")
	bucket := e.bucketName()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	b, err := s3state.New(ctx, c, s3state.Options{Bucket: bucket, AllowUnversioned: true})
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, b, key, []byte("x"), "")
	out, err := c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(bucket)})
	if err != nil || len(out.Versions) != 1 {
		t.Fatalf("ListObjectVersions = %+v, %v", out, err)
	}
	if id := aws.ToString(out.Versions[0].VersionId); id != "" {
		t.Errorf("kumo now reports version ID %q for an object of an unversioned bucket", id)
	}
	if got, err := b.ReadRevision(ctx, key, "null"); err == nil {
		t.Fatalf("kumo now reads versionId=null (%q): assert ReadRevision in TestNewRefusesBucketWithoutVersioning", got)
	}
}

// S3: ListObjectVersions stops at MaxKeys (1000 at most) and sets IsTruncated with markers to
// continue from. Kumo stops at MaxKeys but never sets IsTruncated.
//
// For the backend: History pages through the versions; on kumo it would list only the first
// 1000 versions of a key.
func TestKumoListObjectVersionsNeverTruncated(t *testing.T) {
	e := shared
	ctx := t.Context()
	b := e.newBackend(t, s3state.Options{})
	var v backend.Version
	for range 3 {
		v = mustWrite(t, b, key, []byte(v), v)
	}
	out, err := e.client("").ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(b.Bucket()), MaxKeys: aws.Int32(2)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Versions) != 2 {
		t.Fatalf("ListObjectVersions with MaxKeys 2 returned %d versions", len(out.Versions))
	}
	if aws.ToBool(out.IsTruncated) {
		t.Fatal("kumo now truncates ListObjectVersions as S3 does; History's paging can be tested on it")
	}
}
