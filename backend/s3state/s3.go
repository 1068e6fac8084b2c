// Package s3state is the production backend.StateBackend: state documents are objects in a
// versioned Amazon S3 bucket, shared safely by any number of processes on any number of
// machines. The only coordination it relies on is S3's conditional PutObject.
//
// # Layout
//
// The document of key tenant/stack/env is the object <prefix>/tenant/stack/env.json, byte for
// byte, or gzip-compressed when it is larger than Options.GzipThreshold (see below). Every Write
// stores a new object version: History lists the versions of the object, newest first, with
// Revision.ID the S3 version ID, and ReadRevision reads one of them.
//
// # Versions
//
// A backend.Version is "<ETag>@<VersionId>", the ETag without its quotes; in a bucket that has
// never had versioning, where S3 reports no version ID, it is the ETag alone. The ETag by
// itself would not do: for SSE-S3 objects it is the MD5 of the stored bytes, so writing the
// same document twice would give the same version.
//
// # Conditional writes
//
// Write compares and swaps in two steps. It first looks up the key's latest version
// (ListObjectVersions) and returns a *backend.ConflictError, without uploading anything, if it
// is not ifMatch. It then uploads with If-Match: "<ETag>" (If-None-Match: * when ifMatch is
// ""), a precondition S3 evaluates atomically with the store: a writer that lost a race gets
// 412 PreconditionFailed, 409 ConditionalRequestConflict or, if the object was deleted
// meanwhile, 404 NoSuchKey, all reported as *backend.ConflictError, and nothing is overwritten.
//
// S3 compares ETags, not version IDs, so the atomic step cannot tell apart two revisions with
// identical bytes: if one is written between the two steps, Write succeeds although ifMatch is
// no longer the latest version. The document it replaces is then byte for byte the document the
// caller read, so no update is lost; and Panka's state documents never repeat, since each write
// increments the state's serial.
//
// The SDK retries a PutObject whose response was lost; the retry then fails its precondition
// against the object its first attempt stored. Each Write therefore stores a random write ID in
// the object's metadata (x-amz-meta-panka-write-id): if the object that failed the precondition
// is this Write's own, Write returns its version as a success. If it is another writer's and
// the upload was attempted more than once, Write cannot tell whether an earlier attempt was
// stored and overwritten since, and returns an error that is not a ConflictError: the outcome
// is unknown, as backend.StateBackend allows for any error but a conflict.
//
// # Compression and encryption
//
// Documents longer than Options.GzipThreshold are gzip-compressed when that makes them
// smaller, and stored with Content-Encoding: gzip and the metadata x-amz-meta-panka-encoding:
// gzip and x-amz-meta-panka-size: <uncompressed length>. Reads decompress an object marked
// either way and check its length; a body that does not decompress to the recorded length is
// reported as backend.ErrCorrupt. Every object is written with server-side encryption, SSE-S3
// by default or SSE-KMS (Options.SSE).
//
// # Bucket
//
// New refuses a bucket without versioning enabled (ErrUnversioned) unless
// Options.AllowUnversioned is set: without versioning S3 keeps no history, so History lists only
// the current revision and identical documents get identical versions. EnsureBucket creates a
// bucket with versioning, default encryption and all public access blocked.
//
// The backend needs s3:GetObject, s3:GetObjectVersion, s3:PutObject, s3:ListBucket,
// s3:ListBucketVersions and s3:GetBucketVersioning on the bucket (and kms:GenerateDataKey and
// kms:Decrypt on the key, for SSE-KMS).
package s3state

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"golang.org/x/sync/errgroup"

	"github.com/panka/panka/backend"
)

// DefaultPrefix is the key prefix used when Options.Prefix is empty.
const DefaultPrefix = "panka"

// DefaultGzipThreshold is the compression threshold used when Options.GzipThreshold is 0.
const DefaultGzipThreshold = 256 << 10

// SSE algorithms for Options.SSE.
const (
	SSES3  = string(types.ServerSideEncryptionAes256) // "AES256": keys managed by S3
	SSEKMS = string(types.ServerSideEncryptionAwsKms) // "aws:kms": keys in AWS KMS
)

// Errors from New; test with errors.Is.
var (
	// ErrNoBucket reports that the bucket does not exist (EnsureBucket creates it).
	ErrNoBucket = errors.New("state bucket does not exist")
	// ErrUnversioned reports a bucket whose versioning is not enabled, refused by New unless
	// Options.AllowUnversioned is set.
	ErrUnversioned = errors.New("bucket versioning is not enabled")
)

// Options configure a Backend. The zero value of every field but Bucket is a useful default.
type Options struct {
	// Bucket is the name of the bucket holding the state. Required.
	Bucket string
	// Prefix is prepended, with a "/", to every object key. Leading and trailing slashes are
	// ignored; "" means DefaultPrefix.
	Prefix string
	// SSE is the server-side encryption of every object written: SSES3 (the default, "") or
	// SSEKMS.
	SSE string
	// KMSKeyID is the KMS key (ID, alias or ARN) for SSEKMS; "" means the account's AWS managed
	// key for S3. It must be empty unless SSE is SSEKMS.
	KMSKeyID string
	// GzipThreshold is the document length above which documents are stored gzip-compressed:
	// 0 means DefaultGzipThreshold, a negative value never compresses. Reads handle either
	// form whatever the threshold.
	GzipThreshold int
	// AllowUnversioned lets New accept a bucket without versioning enabled. History then keeps
	// only the current revision. For tests and trials only.
	AllowUnversioned bool
}

// Backend stores state documents in one S3 bucket under one prefix. It is safe for concurrent
// use, also with other Backends and processes on the same bucket and prefix.
type Backend struct {
	client    *s3.Client
	bucket    string
	prefix    string // without a trailing "/"
	sse       types.ServerSideEncryption
	kmsKeyID  string
	threshold int // < 0: never compress
}

var _ backend.StateBackend = (*Backend)(nil)

// New returns a Backend on opts.Bucket. It checks the options and reads the bucket's versioning
// status: a bucket that does not exist is an error wrapping ErrNoBucket, and so is one without versioning enabled
// (wrapping ErrUnversioned) unless opts.AllowUnversioned is set. The client is used as it is
// configured (region, credentials, endpoint, retries); New does not retain opts.
func New(ctx context.Context, client *s3.Client, opts Options) (*Backend, error) {
	b, err := newBackend(client, opts)
	if err != nil {
		return nil, fmt.Errorf("s3 state backend: %w", err)
	}
	out, err := client.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(b.bucket)})
	if err != nil {
		if isCode(err, "NoSuchBucket") {
			return nil, fmt.Errorf("s3 state backend: %w: bucket %s does not exist; create it with EnsureBucket", ErrNoBucket, b.bucket)
		}
		return nil, fmt.Errorf("s3 state backend: bucket %s: get versioning: %w", b.bucket, err)
	}
	if out.Status != types.BucketVersioningStatusEnabled && !opts.AllowUnversioned {
		state := "off"
		if out.Status == types.BucketVersioningStatusSuspended {
			state = "suspended"
		}
		return nil, fmt.Errorf("s3 state backend: %w: bucket %s has versioning %s: state history is kept in object versions; enable it (EnsureBucket does) or set AllowUnversioned",
			ErrUnversioned, b.bucket, state)
	}
	return b, nil
}

func newBackend(client *s3.Client, opts Options) (*Backend, error) {
	if client == nil {
		return nil, errors.New("nil S3 client")
	}
	if opts.Bucket == "" {
		return nil, errors.New("no bucket given")
	}
	prefix := strings.Trim(opts.Prefix, "/")
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if strings.Contains(prefix, "//") {
		return nil, fmt.Errorf("prefix %q has an empty path segment", opts.Prefix)
	}
	b := &Backend{client: client, bucket: opts.Bucket, prefix: prefix, kmsKeyID: opts.KMSKeyID, threshold: opts.GzipThreshold}
	switch opts.SSE {
	case "", SSES3:
		b.sse = types.ServerSideEncryptionAes256
		if opts.KMSKeyID != "" {
			return nil, fmt.Errorf("KMSKeyID %q is set but SSE is %s; set SSE to %q to use it", opts.KMSKeyID, SSES3, SSEKMS)
		}
	case SSEKMS:
		b.sse = types.ServerSideEncryptionAwsKms
	default:
		return nil, fmt.Errorf("unsupported SSE %q: use %q (SSE-S3) or %q (SSE-KMS)", opts.SSE, SSES3, SSEKMS)
	}
	if b.threshold == 0 {
		b.threshold = DefaultGzipThreshold
	}
	return b, nil
}

// Bucket returns the name of the bucket the Backend stores state in.
func (b *Backend) Bucket() string { return b.bucket }

// ObjectKey returns the key of the object holding key's document.
func (b *Backend) ObjectKey(key backend.Key) string {
	return b.prefix + "/" + key.Tenant + "/" + key.Stack + "/" + key.Environment + objectExt
}

const objectExt = ".json"

// Read implements backend.StateBackend with one GetObject.
func (b *Backend) Read(ctx context.Context, key backend.Key) ([]byte, backend.Version, error) {
	data, v, err := b.read(ctx, key)
	if err != nil {
		return nil, "", b.wrap("read", key, err)
	}
	return data, v, nil
}

func (b *Backend) read(ctx context.Context, key backend.Key) ([]byte, backend.Version, error) {
	if err := check(ctx, key); err != nil {
		return nil, "", err
	}
	obj, err := b.get(ctx, b.ObjectKey(key), "", withBody)
	if err != nil {
		return nil, "", err
	}
	if !obj.exists {
		return nil, "", backend.ErrNotFound
	}
	return obj.data, obj.version, nil
}

// Write implements backend.StateBackend; see the package documentation for how the
// compare-and-swap works and what it guarantees. It makes one ListObjectVersions request
// (unless ifMatch is "") and one PutObject; a lost race costs one GetObject more.
func (b *Backend) Write(ctx context.Context, key backend.Key, data []byte, ifMatch backend.Version) (backend.Version, error) {
	v, err := b.write(ctx, key, data, ifMatch)
	if ce := (*backend.ConflictError)(nil); errors.As(err, &ce) {
		return "", ce
	}
	if err != nil {
		return "", b.wrap("write", key, err)
	}
	return v, nil
}

func (b *Backend) write(ctx context.Context, key backend.Key, data []byte, ifMatch backend.Version) (backend.Version, error) {
	if err := check(ctx, key); err != nil {
		return "", err
	}
	objKey := b.ObjectKey(key)
	if ifMatch != "" {
		cur, err := b.latest(ctx, objKey)
		if err != nil {
			return "", err
		}
		if cur != ifMatch {
			return "", &backend.ConflictError{Key: key, Expected: ifMatch, Actual: cur}
		}
	}

	writeID := newWriteID()
	in := b.putInput(objKey, data, writeID)
	if ifMatch == "" {
		in.IfNoneMatch = aws.String("*")
	} else {
		in.IfMatch = aws.String(`"` + etagOf(ifMatch) + `"`)
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}

	var attempts int
	out, err := b.client.PutObject(ctx, in, countAttempts(&attempts))
	if err == nil {
		return makeVersion(aws.ToString(out.ETag), aws.ToString(out.VersionId)), nil
	}
	if !isPreconditionFailure(err, ifMatch != "") {
		return "", fmt.Errorf("put s3://%s/%s: %w", b.bucket, objKey, err)
	}

	// The store refused the upload. Find out what is there now: another writer's object (a
	// conflict) or, after a retried upload, this Write's own.
	cur, err := b.get(ctx, objKey, "", withoutBody)
	if err != nil {
		return "", fmt.Errorf("put s3://%s/%s failed its precondition; reading the current version: %w", b.bucket, objKey, err)
	}
	if cur.exists && cur.writeID == writeID {
		return cur.version, nil
	}
	if attempts > 1 {
		return "", fmt.Errorf("put s3://%s/%s was attempted %d times and the last attempt failed its precondition against version %s, written by another run: an earlier attempt may have been stored and overwritten since; read the state before trying again",
			b.bucket, objKey, attempts, cur.version)
	}
	return "", &backend.ConflictError{Key: key, Expected: ifMatch, Actual: cur.version}
}

// History implements backend.StateBackend. It lists the object's versions (ListObjectVersions,
// 1000 a page) and then makes one HeadObject request per revision, eight at a time, to report
// the uncompressed size of compressed revisions; if the current revision is compressed, it also
// reads it, and does not mark it current if it is corrupt. Delete markers are not revisions: a
// key whose latest version is a delete marker has no current revision.
func (b *Backend) History(ctx context.Context, key backend.Key) ([]backend.Revision, error) {
	revs, err := b.history(ctx, key)
	if err != nil {
		return nil, b.wrap("history", key, err)
	}
	return revs, nil
}

func (b *Backend) history(ctx context.Context, key backend.Key) ([]backend.Revision, error) {
	if err := check(ctx, key); err != nil {
		return nil, err
	}
	objKey := b.ObjectKey(key)
	var (
		revs  []backend.Revision
		etags []string // listed ETag of each revision, to check the HeadObject responses against
	)
	p := s3.NewListObjectVersionsPaginator(b.client, &s3.ListObjectVersionsInput{
		Bucket: aws.String(b.bucket),
		Prefix: aws.String(objKey),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list versions of s3://%s/%s: %w", b.bucket, objKey, err)
		}
		done := false
		for _, ov := range page.Versions {
			// Keys are listed in order and objKey sorts before every other key it prefixes.
			if aws.ToString(ov.Key) != objKey {
				done = true
				break
			}
			etag := aws.ToString(ov.ETag)
			revs = append(revs, backend.Revision{
				ID:      revisionID(aws.ToString(ov.VersionId)),
				Version: makeVersion(etag, aws.ToString(ov.VersionId)),
				Time:    aws.ToTime(ov.LastModified),
				Size:    aws.ToInt64(ov.Size),
				Current: aws.ToBool(ov.IsLatest),
			})
			etags = append(etags, etag)
		}
		if done {
			break
		}
	}
	if len(revs) == 0 {
		return nil, backend.ErrNotFound
	}

	encoded := make([]bool, len(revs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i := range revs {
		if revs[i].Size == 0 {
			continue // an empty object is not encoded
		}
		g.Go(func() (err error) {
			var size int64
			size, encoded[i], err = b.documentSize(gctx, objKey, revs[i].ID, etags[i])
			if size >= 0 {
				revs[i].Size = size
			}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}

	// Only an encoded document can be unreadable; a current one that is is not current.
	for i := range revs {
		if revs[i].Current && encoded[i] {
			_, err := b.get(ctx, objKey, revs[i].ID, withBody)
			if errors.Is(err, backend.ErrCorrupt) || errors.Is(err, errUnknownEncoding) {
				revs[i].Current = false
			} else if err != nil {
				return nil, err
			}
		}
	}
	return revs, nil
}

// documentSize returns the document length recorded in the metadata of one version of objKey,
// or -1 if none is, and whether the version is stored encoded (compressed). Metadata is only
// trusted from a response whose ETag is the one listed for the version. A version deleted since
// it was listed has no metadata.
func (b *Backend) documentSize(ctx context.Context, objKey, revID, etag string) (size int64, encoded bool, err error) {
	out, err := b.client.HeadObject(ctx, &s3.HeadObjectInput{
		Bucket:    aws.String(b.bucket),
		Key:       aws.String(objKey),
		VersionId: aws.String(revID),
	})
	if isCode(err, "NotFound") || isCode(err, "NoSuchVersion") {
		return -1, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("head s3://%s/%s version %s: %w", b.bucket, objKey, revID, err)
	}
	if unquote(aws.ToString(out.ETag)) != unquote(etag) || encodingOf(out.Metadata, aws.ToString(out.ContentEncoding)) == "" {
		return -1, false, nil
	}
	if size, ok := recordedSize(out.Metadata); ok {
		return size, true, nil
	}
	return -1, true, nil
}

// ReadRevision implements backend.StateBackend with one GetObject of the version revisionID.
// An ID the store rejects as malformed is reported as backend.ErrNotFound, as is the ID of a
// delete marker.
func (b *Backend) ReadRevision(ctx context.Context, key backend.Key, revisionID string) ([]byte, error) {
	data, err := b.readRevision(ctx, key, revisionID)
	if err != nil {
		return nil, fmt.Errorf("read %s revision %q (s3://%s/%s): %w", key, revisionID, b.bucket, b.ObjectKey(key), err)
	}
	return data, nil
}

func (b *Backend) readRevision(ctx context.Context, key backend.Key, revisionID string) ([]byte, error) {
	if err := check(ctx, key); err != nil {
		return nil, err
	}
	if revisionID == "" {
		// GetObject without a version ID would read the current version.
		return nil, backend.ErrNotFound
	}
	obj, err := b.get(ctx, b.ObjectKey(key), revisionID, withBody)
	if err != nil {
		return nil, err
	}
	if !obj.exists {
		return nil, backend.ErrNotFound
	}
	return obj.data, nil
}

// List implements backend.StateBackend with ListObjectsV2 under the prefix's path. Objects
// whose keys do not parse back into a valid backend.Key (other files in the bucket) are
// skipped. A key whose latest version is a delete marker has no document and is not listed.
func (b *Backend) List(ctx context.Context, prefix string) ([]backend.Key, error) {
	keys, err := b.list(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("list %q (s3://%s/%s/): %w", prefix, b.bucket, b.prefix, err)
	}
	return keys, nil
}

func (b *Backend) list(ctx context.Context, prefix string) ([]backend.Key, error) {
	p, err := backend.ParsePrefix(prefix)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	listPrefix := b.prefix + "/"
	switch {
	case p.Environment != "":
		listPrefix = b.ObjectKey(backend.Key(p))
	case p.Tenant != "":
		listPrefix += p.String() + "/"
	}
	var keys []backend.Key
	pages := s3.NewListObjectsV2Paginator(b.client, &s3.ListObjectsV2Input{
		Bucket: aws.String(b.bucket),
		Prefix: aws.String(listPrefix),
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, o := range page.Contents {
			if k, ok := b.parseObjectKey(aws.ToString(o.Key)); ok && p.Match(k) {
				keys = append(keys, k)
			}
		}
	}
	// S3 lists in byte order of the whole object key, which is not Key.Compare order: "team/"
	// sorts after "team-a/".
	slices.SortFunc(keys, backend.Key.Compare)
	return keys, nil
}

// parseObjectKey is the inverse of ObjectKey.
func (b *Backend) parseObjectKey(objKey string) (backend.Key, bool) {
	rest, ok := strings.CutPrefix(objKey, b.prefix+"/")
	if !ok {
		return backend.Key{}, false
	}
	rest, ok = strings.CutSuffix(rest, objectExt)
	if !ok {
		return backend.Key{}, false
	}
	k, err := backend.ParseKey(rest)
	return k, err == nil
}

// latest returns the version of objKey's latest object, or "" if it has none (or a delete
// marker). It lists a single entry of the object's versions: unlike HeadObject, the listing
// names the version ID on every S3 implementation Panka is tested against (see kumo_test.go).
func (b *Backend) latest(ctx context.Context, objKey string) (backend.Version, error) {
	out, err := b.client.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{
		Bucket:  aws.String(b.bucket),
		Prefix:  aws.String(objKey),
		MaxKeys: aws.Int32(1),
	})
	if err != nil {
		return "", fmt.Errorf("list versions of s3://%s/%s: %w", b.bucket, objKey, err)
	}
	for _, ov := range out.Versions {
		if aws.ToString(ov.Key) == objKey && aws.ToBool(ov.IsLatest) {
			return makeVersion(aws.ToString(ov.ETag), aws.ToString(ov.VersionId)), nil
		}
	}
	return "", nil // no object, or its latest version is a delete marker
}

// object is what get found.
type object struct {
	exists  bool
	data    []byte // the document, decoded; nil for withoutBody
	version backend.Version
	writeID string
}

// What get reads.
const (
	withBody    = true
	withoutBody = false
)

// get reads objKey, or its version versionID if that is not "", and, if readBody, the document.
// A missing key or version, a malformed version ID and a delete marker give exists == false.
// Without the body, one response still gives the version and the write ID of the same revision.
func (b *Backend) get(ctx context.Context, objKey, versionID string, readBody bool) (object, error) {
	in := &s3.GetObjectInput{Bucket: aws.String(b.bucket), Key: aws.String(objKey)}
	if versionID != "" {
		in.VersionId = aws.String(versionID)
	}
	out, err := b.client.GetObject(ctx, in)
	if err != nil {
		if isObjectNotFound(err, versionID != "") {
			return object{}, nil
		}
		what := "get s3://" + b.bucket + "/" + objKey
		if versionID != "" {
			what += " version " + versionID
		}
		return object{}, fmt.Errorf("%s: %w", what, err)
	}
	defer out.Body.Close()
	obj := object{
		exists:  true,
		version: makeVersion(aws.ToString(out.ETag), aws.ToString(out.VersionId)),
		writeID: metaValue(out.Metadata, metaWriteID),
	}
	if !readBody {
		return obj, nil
	}
	stored, err := io.ReadAll(out.Body)
	if err != nil {
		return object{}, fmt.Errorf("get s3://%s/%s: reading the body: %w", b.bucket, objKey, err)
	}
	obj.data, err = decode(stored, out.Metadata, aws.ToString(out.ContentEncoding))
	if err != nil {
		return object{}, fmt.Errorf("s3://%s/%s version %s: %w", b.bucket, objKey, aws.ToString(out.VersionId), err)
	}
	return obj, nil
}

func (b *Backend) wrap(op string, key backend.Key, err error) error {
	return fmt.Errorf("%s %s (s3://%s/%s): %w", op, key, b.bucket, b.ObjectKey(key), err)
}

func check(ctx context.Context, key backend.Key) error {
	if err := key.Validate(); err != nil {
		return err
	}
	return ctx.Err()
}

// makeVersion builds the Version of an object from its ETag and version ID (see the package
// documentation). S3 reports the version ID "null" for objects stored while versioning was off,
// and no version ID at all from GetObject in a bucket that never had versioning; both mean "no
// version ID".
func makeVersion(etag, versionID string) backend.Version {
	etag = unquote(etag)
	if versionID == "" || versionID == nullVersionID {
		return backend.Version(etag)
	}
	return backend.Version(etag + "@" + versionID)
}

// etagOf returns the ETag part of a Version. ETags never contain "@".
func etagOf(v backend.Version) string {
	etag, _, _ := strings.Cut(string(v), "@")
	return etag
}

const nullVersionID = "null"

// revisionID is the Revision.ID of an object version: its version ID, "null" if it has none.
func revisionID(versionID string) string {
	if versionID == "" {
		return nullVersionID
	}
	return versionID
}

func unquote(etag string) string { return strings.Trim(etag, `"`) }

// newWriteID returns a random ID (128 bits) telling one Write's uploads from every other's.
func newWriteID() string { return rand.Text() }

// NewClient returns an S3 client for cfg. Path-style addressing is used when cfg has a custom
// base endpoint (an emulator or a private endpoint), where bucket host names do not resolve.
func NewClient(cfg aws.Config) *s3.Client {
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		if cfg.BaseEndpoint != nil && *cfg.BaseEndpoint != "" {
			o.UsePathStyle = true
		}
	})
}

// putInput is the PutObject of data (compressed past the threshold, encrypted as configured) at
// objKey, marked with writeID; the caller adds its condition.
func (b *Backend) putInput(objKey string, data []byte, writeID string) *s3.PutObjectInput {
	body, meta, compressed := encode(data, b.threshold)
	meta[metaWriteID] = writeID
	in := &s3.PutObjectInput{
		Bucket:               aws.String(b.bucket),
		Key:                  aws.String(objKey),
		Body:                 bytes.NewReader(body),
		ContentLength:        aws.Int64(int64(len(body))),
		ContentType:          aws.String("application/json"),
		Metadata:             meta,
		ServerSideEncryption: b.sse,
	}
	if compressed {
		in.ContentEncoding = aws.String("gzip")
	}
	if b.sse == types.ServerSideEncryptionAwsKms && b.kmsKeyID != "" {
		in.SSEKMSKeyId = aws.String(b.kmsKeyID)
	}
	return in
}
