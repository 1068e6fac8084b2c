package s3state_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go/logging"

	"github.com/panka/panka/backend"
	"github.com/panka/panka/backend/backendtest"
	"github.com/panka/panka/backend/s3state"
	"github.com/panka/panka/internal/localaws"
)

// emulator is the in-process kumo that every test of this package uses. There is one per
// process: kumo keeps a single S3 store per process anyway (created by an init function), and
// starting a second server rewires that store's event publishers while goroutines of earlier
// PutObjects read them, which the race detector reports. Tests therefore never share a bucket
// name.
type emulator struct {
	srv *localaws.Server
	cfg aws.Config
}

var (
	shared  *emulator
	buckets atomic.Int64 // numbers the buckets of this process
)

func TestMain(m *testing.M) {
	os.Exit(runWithEmulator(m))
}

func runWithEmulator(m *testing.M) int {
	dir, err := os.MkdirTemp("", "panka-s3-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	srv, err := localaws.Start(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer srv.Close()
	cfg, err := srv.Config(context.Background(), "us-east-1")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// Kumo sends no response checksums, which the SDK would log about on every GetObject.
	cfg.Logger = logging.Nop{}
	shared = &emulator{srv: srv, cfg: cfg}
	return m.Run()
}

// client returns an S3 client for the emulator, or for endpoint if it is not "" (a proxy in
// front of the emulator). Retries do not back off, so that tests that provoke them are fast.
func (e *emulator) client(endpoint string, optFns ...func(*s3.Options)) *s3.Client {
	return s3.NewFromConfig(e.cfg, append([]func(*s3.Options){func(o *s3.Options) {
		o.UsePathStyle = true
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
		})
	}}, optFns...)...)
}

// bucketName returns a bucket name no other test of this process uses.
func (e *emulator) bucketName() string {
	return fmt.Sprintf("panka-state-%d", buckets.Add(1))
}

// newBucket creates a bucket with EnsureBucket, which must need no warnings: kumo implements
// every setting it makes.
func (e *emulator) newBucket(t *testing.T) string {
	t.Helper()
	name := e.bucketName()
	warnings, err := s3state.EnsureBucket(t.Context(), e.client(""), s3state.BucketOptions{Bucket: name})
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) > 0 {
		t.Fatalf("EnsureBucket warnings: %q", warnings)
	}
	return name
}

func (e *emulator) newBackend(t *testing.T, opts s3state.Options) *s3state.Backend {
	t.Helper()
	if opts.Bucket == "" {
		opts.Bucket = e.newBucket(t)
	}
	b, err := s3state.New(t.Context(), e.client(""), opts)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var key = backend.Key{Tenant: "team-a", Stack: "web", Environment: "prod"}

func TestConformance(t *testing.T) {
	e := shared
	backendtest.Run(t, func(t *testing.T) backend.StateBackend {
		return e.newBackend(t, s3state.Options{})
	})
}

// Two Backends on one bucket, as two machines would have, behave as one: each call goes to the
// next of them in turn.
func TestConformanceTwoBackendsOneBucket(t *testing.T) {
	e := shared
	backendtest.Run(t, func(t *testing.T) backend.StateBackend {
		bucket := e.newBucket(t)
		return backendtest.Alternating(
			e.newBackend(t, s3state.Options{Bucket: bucket}),
			e.newBackend(t, s3state.Options{Bucket: bucket}),
		)
	})
}

func TestNewRefusesBucketWithoutVersioning(t *testing.T) {
	e := shared
	ctx := t.Context()
	c := e.client("")
	off, suspended := e.bucketName(), e.bucketName()
	for _, name := range []string{off, suspended} {
		if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{
		Bucket:                  aws.String(suspended),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusSuspended},
	}); err != nil {
		t.Fatal(err)
	}

	for bucket, state := range map[string]string{off: "off", suspended: "suspended"} {
		_, err := s3state.New(ctx, c, s3state.Options{Bucket: bucket})
		if !errors.Is(err, s3state.ErrUnversioned) {
			t.Errorf("New on a bucket with versioning %s: got error %v, want ErrUnversioned", state, err)
			continue
		}
		want := fmt.Sprintf("bucket %s has versioning %s: state history is kept in object versions; enable it (EnsureBucket does) or set AllowUnversioned", bucket, state)
		if !strings.Contains(err.Error(), want) {
			t.Errorf("New on a bucket with versioning %s: error %q does not say %q", state, err, want)
		}
	}

	// Accepted when asked for, and then a working backend, with no history.
	b, err := s3state.New(ctx, c, s3state.Options{Bucket: off, AllowUnversioned: true})
	if err != nil {
		t.Fatalf("New with AllowUnversioned: %v", err)
	}
	v1 := mustWrite(t, b, key, []byte("one"), "")
	v2 := mustWrite(t, b, key, []byte("two"), v1)
	if _, err := b.Write(ctx, key, []byte("stale"), v1); !isConflict(err) {
		t.Errorf("stale write to an unversioned bucket: got error %v, want a ConflictError", err)
	}
	wantDoc(t, b, key, "two", v2)
	h, err := b.History(ctx, key)
	if err != nil || len(h) != 1 || !h[0].Current || h[0].Version != v2 || h[0].ID != "null" {
		t.Errorf("History in an unversioned bucket = %+v, %v; want only the current revision, ID \"null\", version %q", h, err, v2)
	}

	// Once versioning is on, the bucket is accepted as it is.
	if _, err := s3state.EnsureBucket(ctx, c, s3state.BucketOptions{Bucket: off}); err != nil {
		t.Fatal(err)
	}
	if _, err := s3state.New(ctx, c, s3state.Options{Bucket: off}); err != nil {
		t.Errorf("New after EnsureBucket enabled versioning: %v", err)
	}
}

func TestNewErrors(t *testing.T) {
	e := shared
	c := e.client("")
	bucket := e.newBucket(t)
	tests := []struct {
		name string
		opts s3state.Options
		want string
	}{
		{"no bucket", s3state.Options{}, "no bucket given"},
		{"missing bucket", s3state.Options{Bucket: "no-such-bucket"}, "bucket no-such-bucket does not exist"},
		{"unknown SSE", s3state.Options{Bucket: bucket, SSE: "aws:kms:dsse"}, `unsupported SSE "aws:kms:dsse"`},
		{"KMS key without KMS", s3state.Options{Bucket: bucket, KMSKeyID: "alias/panka"}, `KMSKeyID "alias/panka" is set but SSE is AES256`},
		{"empty prefix segment", s3state.Options{Bucket: bucket, Prefix: "a//b"}, `prefix "a//b" has an empty path segment`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := s3state.New(t.Context(), c, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New(%+v) = %v, %v; want an error containing %q", tc.opts, b, err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "panka ") {
				t.Errorf("New(%+v): error %q gives command-line advice", tc.opts, err)
			}
		})
	}
	if _, err := s3state.New(t.Context(), c, s3state.Options{Bucket: "no-such-bucket"}); !errors.Is(err, s3state.ErrNoBucket) {
		t.Errorf("New on a missing bucket = %v, want ErrNoBucket", err)
	}
	if _, err := s3state.New(t.Context(), nil, s3state.Options{Bucket: bucket}); err == nil {
		t.Error("New with a nil client succeeded")
	}
}

// The stored object is plain JSON at <prefix>/<tenant>/<stack>/<environment>.json, encrypted,
// with the Prefix option's slashes trimmed; backends with different prefixes share nothing.
func TestObjectLayout(t *testing.T) {
	e := shared
	ctx := t.Context()
	c := e.client("")
	bucket := e.newBucket(t)
	def := e.newBackend(t, s3state.Options{Bucket: bucket})
	other := e.newBackend(t, s3state.Options{Bucket: bucket, Prefix: "/teams/state/"})

	mustWrite(t, def, key, []byte(`{"serial":1}`), "")
	mustWrite(t, other, key, []byte(`{"serial":7}`), "")
	for objKey, want := range map[string]string{
		"panka/team-a/web/prod.json":       `{"serial":1}`,
		"teams/state/team-a/web/prod.json": `{"serial":7}`,
	} {
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(objKey)})
		if err != nil {
			t.Fatalf("GetObject(%s): %v", objKey, err)
		}
		got, _ := io.ReadAll(out.Body)
		out.Body.Close()
		if string(got) != want {
			t.Errorf("object %s holds %q, want %q", objKey, got, want)
		}
		if out.ServerSideEncryption != types.ServerSideEncryptionAes256 {
			t.Errorf("object %s has server-side encryption %q, want AES256", objKey, out.ServerSideEncryption)
		}
	}
	if got := other.ObjectKey(key); got != "teams/state/team-a/web/prod.json" {
		t.Errorf("ObjectKey = %q", got)
	}
	for _, b := range []*s3state.Backend{def, other} {
		if keys, err := b.List(ctx, ""); err != nil || !slices.Equal(keys, []backend.Key{key}) {
			t.Errorf("List under %s = %v, %v; want only %s", b.ObjectKey(key), keys, err, key)
		}
		if h, err := b.History(ctx, key); err != nil || len(h) != 1 {
			t.Errorf("History under %s = %+v, %v; want 1 revision", b.ObjectKey(key), h, err)
		}
	}
}

func TestSSEKMS(t *testing.T) {
	e := shared
	const keyID = "arn:aws:kms:us-east-1:000000000000:key/panka-test"
	b := e.newBackend(t, s3state.Options{SSE: s3state.SSEKMS, KMSKeyID: keyID})
	mustWrite(t, b, key, []byte("secret"), "")
	out, err := e.client("").HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String(b.Bucket()), Key: aws.String(b.ObjectKey(key))})
	if err != nil {
		t.Fatal(err)
	}
	if out.ServerSideEncryption != types.ServerSideEncryptionAwsKms || aws.ToString(out.SSEKMSKeyId) != keyID {
		t.Errorf("object encryption = %q with key %q; want aws:kms with %q", out.ServerSideEncryption, aws.ToString(out.SSEKMSKeyId), keyID)
	}
}

func TestGzip(t *testing.T) {
	e := shared
	ctx := t.Context()
	c := e.client("")
	const threshold = 1024
	b := e.newBackend(t, s3state.Options{GzipThreshold: threshold})
	big := bytes.Repeat([]byte(`{"address":"web/api","kind":"MicroService","status":"created"},`), 1000)
	small := []byte(`{"serial":1}`)
	noise := make([]byte, 4*threshold) // above the threshold but incompressible
	r := rand.New(rand.NewPCG(1, 2))
	for i := range noise {
		noise[i] = byte(r.Uint32())
	}

	tests := []struct {
		env      string
		data     []byte
		b        *s3state.Backend
		wantGzip bool
	}{
		{"big", big, b, true},
		{"small", small, b, false},
		{"exactly-threshold", bytes.Repeat([]byte("a"), threshold), b, false},
		{"noise", noise, b, false},
		{"never", big, e.newBackend(t, s3state.Options{GzipThreshold: -1}), false},
		{"default-threshold", big, e.newBackend(t, s3state.Options{}), false}, // 64 KB < 256 KiB
	}
	for _, tc := range tests {
		t.Run(tc.env, func(t *testing.T) {
			k := backend.Key{Tenant: "t", Stack: "gzip", Environment: tc.env}
			v := mustWrite(t, tc.b, k, tc.data, "")
			wantDoc(t, tc.b, k, string(tc.data), v)

			out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(tc.b.Bucket()), Key: aws.String(tc.b.ObjectKey(k))})
			if err != nil {
				t.Fatal(err)
			}
			stored, _ := io.ReadAll(out.Body)
			out.Body.Close()
			isGzip := bytes.HasPrefix(stored, []byte{0x1f, 0x8b})
			if isGzip != tc.wantGzip {
				t.Fatalf("stored body (%d bytes for a %d-byte document) is gzip: %v, want %v", len(stored), len(tc.data), isGzip, tc.wantGzip)
			}
			if !tc.wantGzip {
				if !bytes.Equal(stored, tc.data) || len(out.Metadata) != 1 { // only the write ID
					t.Errorf("uncompressed object: body equal %v, metadata %v", bytes.Equal(stored, tc.data), out.Metadata)
				}
				return
			}
			if len(stored) >= len(tc.data)/10 {
				t.Errorf("compressed body is %d bytes for a %d-byte document", len(stored), len(tc.data))
			}
			zr, err := gzip.NewReader(bytes.NewReader(stored))
			if err != nil {
				t.Fatal(err)
			}
			if plain, err := io.ReadAll(zr); err != nil || !bytes.Equal(plain, tc.data) {
				t.Errorf("gunzip of the stored body: %d bytes, %v; want the document", len(plain), err)
			}
			if out.Metadata["panka-encoding"] != "gzip" || out.Metadata["panka-size"] != fmt.Sprint(len(tc.data)) {
				t.Errorf("metadata = %v; want panka-encoding gzip, panka-size %d", out.Metadata, len(tc.data))
			}
			h, err := tc.b.History(ctx, k)
			if err != nil || len(h) != 1 || h[0].Size != int64(len(tc.data)) || !h[0].Current {
				t.Fatalf("History = %+v, %v; want one current revision of Size %d (uncompressed)", h, err, len(tc.data))
			}
			if got, err := tc.b.ReadRevision(ctx, k, h[0].ID); err != nil || !bytes.Equal(got, tc.data) {
				t.Errorf("ReadRevision: %d bytes, %v; want the document", len(got), err)
			}
		})
	}
}

// Objects that are not what Write stores are reported as corrupt, with their names, and never
// returned as documents.
func TestCorruptObjects(t *testing.T) {
	e := shared
	ctx := t.Context()
	c := e.client("")
	b := e.newBackend(t, s3state.Options{})
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("twelve bytes"))
	zw.Close()

	tests := []struct {
		env  string
		body []byte
		meta map[string]string
		want error
	}{
		{"not-gzip", []byte("plain text"), map[string]string{"panka-encoding": "gzip"}, backend.ErrCorrupt},
		{"truncated", gz.Bytes()[:gz.Len()-6], map[string]string{"panka-encoding": "gzip", "panka-size": "12"}, backend.ErrCorrupt},
		{"size-mismatch", gz.Bytes(), map[string]string{"panka-encoding": "gzip", "panka-size": "11"}, backend.ErrCorrupt},
		{"unknown-encoding", []byte("x"), map[string]string{"panka-encoding": "zstd"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.env, func(t *testing.T) {
			k := backend.Key{Tenant: "t", Stack: "corrupt", Environment: tc.env}
			if _, err := c.PutObject(ctx, &s3.PutObjectInput{
				Bucket: aws.String(b.Bucket()), Key: aws.String(b.ObjectKey(k)), Body: bytes.NewReader(tc.body), Metadata: tc.meta,
			}); err != nil {
				t.Fatal(err)
			}
			data, _, err := b.Read(ctx, k)
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) || !strings.Contains(err.Error(), b.ObjectKey(k)) {
				t.Fatalf("Read = %q, %v; want an error wrapping %v naming %s", data, err, tc.want, b.ObjectKey(k))
			}
			h, err := b.History(ctx, k)
			if err != nil || len(h) != 1 || h[0].Current {
				t.Fatalf("History = %+v, %v; want the revision listed, not current: it cannot be read", h, err)
			}
			if _, err := b.ReadRevision(ctx, k, h[0].ID); err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Errorf("ReadRevision: got error %v, want %v", err, tc.want)
			}
		})
	}
}

// Writing the same bytes again gives a new version, and the old one is stale: the version
// names the revision, not only the bytes (the ETag alone would).
func TestSameBytesStaleVersion(t *testing.T) {
	e := shared
	b := e.newBackend(t, s3state.Options{})
	v1 := mustWrite(t, b, key, []byte("same"), "")
	v2 := mustWrite(t, b, key, []byte("same"), v1)
	if v1 == v2 {
		t.Fatalf("two writes of the same bytes both returned version %q", v1)
	}
	_, err := b.Write(t.Context(), key, []byte("stale"), v1)
	var ce *backend.ConflictError
	if !errors.As(err, &ce) || ce.Expected != v1 || ce.Actual != v2 {
		t.Fatalf("Write with the first of two identical versions: got error %v, want a ConflictError expecting %q, finding %q", err, v1, v2)
	}
	wantDoc(t, b, key, "same", v2)
}

// List skips every object that is not a state document of a valid key.
func TestListSkipsForeignObjects(t *testing.T) {
	e := shared
	ctx := t.Context()
	c := e.client("")
	b := e.newBackend(t, s3state.Options{})
	mustWrite(t, b, key, []byte("x"), "")
	for _, k := range []string{
		"panka/team-a/web/PROD.json",
		"panka/team-a/web/prod.txt",
		"panka/team-a/web/prod.json.bak",
		"panka/team-a/web/sub/prod.json",
		"panka/team-a/web.json",
		"panka/team_a/web/prod.json",
		"panka/team-a/web/.json",
		"pankax/team-a/web/dev.json",
		"other/team-a/web/dev.json",
		"team-a/web/dev.json",
	} {
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b.Bucket()), Key: aws.String(k), Body: strings.NewReader("junk")}); err != nil {
			t.Fatal(err)
		}
	}
	for _, prefix := range []string{"", "team-a", "team-a/web", "team-a/web/prod"} {
		if keys, err := b.List(ctx, prefix); err != nil || !slices.Equal(keys, []backend.Key{key}) {
			t.Errorf("List(%q) = %v, %v; want only %s", prefix, keys, err, key)
		}
	}
	// A foreign object next to a key does not change the key's history.
	if h, err := b.History(ctx, key); err != nil || len(h) != 1 {
		t.Errorf("History = %+v, %v; want 1 revision", h, err)
	}
}

// A deleted document (its latest version is a delete marker) is missing for Read, has no
// current revision, and can be created again with ifMatch "".
func TestDeleteMarker(t *testing.T) {
	e := shared
	ctx := t.Context()
	b := e.newBackend(t, s3state.Options{})
	v := mustWrite(t, b, key, []byte("one"), "")
	if _, err := e.client("").DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b.Bucket()), Key: aws.String(b.ObjectKey(key))}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.Read(ctx, key); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("Read of a deleted key: got error %v, want ErrNotFound", err)
	}
	// S3 does not list the key either; kumo does (see TestKumoListsDeleteMarkers).
	h, err := b.History(ctx, key)
	if err != nil || len(h) != 1 || h[0].Current {
		t.Errorf("History of a deleted key = %+v, %v; want its one revision, not current", h, err)
	}
	if _, err := b.Write(ctx, key, []byte("two"), v); !isConflict(err) {
		t.Errorf("Write expecting the deleted version: got error %v, want a ConflictError", err)
	}
	v2 := mustWrite(t, b, key, []byte("two"), "")
	wantDoc(t, b, key, "two", v2)
}

// Every request of the backend goes to the emulator on the loopback interface, path-style.
func TestRequestsStayOnLoopback(t *testing.T) {
	e := shared
	u, err := url.Parse(e.srv.URL)
	if err != nil || u.Hostname() != "127.0.0.1" {
		t.Fatalf("emulator URL %q is not on 127.0.0.1", e.srv.URL)
	}
	rec := &recordingClient{next: http.DefaultClient}
	c := e.client("", func(o *s3.Options) { o.HTTPClient = rec })
	ctx := t.Context()
	bucket := e.bucketName()
	if _, err := s3state.EnsureBucket(ctx, c, s3state.BucketOptions{Bucket: bucket}); err != nil {
		t.Fatal(err)
	}
	b, err := s3state.New(ctx, c, s3state.Options{Bucket: bucket})
	if err != nil {
		t.Fatal(err)
	}
	v := mustWrite(t, b, key, []byte("one"), "")
	mustWrite(t, b, key, []byte("two"), v)
	if _, err := b.Write(ctx, key, []byte("stale"), v); !isConflict(err) {
		t.Fatalf("stale write: %v", err)
	}
	h, err := b.History(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.ReadRevision(ctx, key, h[1].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := b.List(ctx, "team-a"); err != nil {
		t.Fatal(err)
	}

	hosts := rec.hosts()
	if len(hosts) < 10 {
		t.Fatalf("recorded %d requests, want every request of the test", len(hosts))
	}
	for _, h := range hosts {
		if h != u.Host {
			t.Errorf("a request went to %q, want only the emulator at %q", h, u.Host)
		}
	}
}

type recordingClient struct {
	next *http.Client
	mu   sync.Mutex
	seen []string
}

func (r *recordingClient) Do(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.seen = append(r.seen, req.URL.Host)
	r.mu.Unlock()
	return r.next.Do(req)
}

func (r *recordingClient) hosts() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.seen)
}

// proxy forwards requests to the emulator and lets a test change the answer to one of them.
type proxy struct {
	*httptest.Server
	// modify, if set, may replace the emulator's response to req (the request has already
	// taken effect there). It returns true if it did.
	modify func(req *http.Request, resp *http.Response) bool
	mu     sync.Mutex
}

func newProxy(t *testing.T, e *emulator, intercept func(w http.ResponseWriter, r *http.Request) bool) *proxy {
	t.Helper()
	target, err := url.Parse(e.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ModifyResponse = func(resp *http.Response) error {
		p.mu.Lock()
		modify := p.modify
		p.mu.Unlock()
		if modify != nil && modify(resp.Request, resp) {
			p.mu.Lock()
			p.modify = nil // once
			p.mu.Unlock()
		}
		return nil
	}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if intercept != nil && intercept(w, r) {
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *proxy) setModify(fn func(req *http.Request, resp *http.Response) bool) {
	p.mu.Lock()
	p.modify = fn
	p.mu.Unlock()
}

// replaceWithError turns resp into an S3 error response.
func replaceWithError(resp *http.Response, status int, code string) {
	body := fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>injected by the test</Message></Error>`, code)
	resp.Body.Close()
	resp.StatusCode = status
	resp.Status = fmt.Sprintf("%d %s", status, http.StatusText(status))
	resp.Body = io.NopCloser(strings.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header = http.Header{"Content-Type": {"application/xml"}, "Content-Length": {fmt.Sprint(len(body))}}
}

func isObjectPut(req *http.Request, b *s3state.Backend) bool {
	return req.Method == http.MethodPut && strings.HasSuffix(req.URL.Path, "/"+b.ObjectKey(key))
}

// The response to an upload that was stored is lost; the SDK retries, and the retry fails its
// precondition against the object the first attempt stored. Write recognises its own object.
func TestRetriedWriteFindsItsOwnObject(t *testing.T) {
	e := shared
	ctx := t.Context()
	p := newProxy(t, e, nil)
	bucket := e.newBucket(t)
	b, err := s3state.New(ctx, e.client(p.URL), s3state.Options{Bucket: bucket})
	if err != nil {
		t.Fatal(err)
	}

	for i, ifMatch := range []bool{false, true} {
		var v backend.Version
		if ifMatch {
			_, v, err = b.Read(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
		}
		lost := false
		p.setModify(func(req *http.Request, resp *http.Response) bool {
			if !isObjectPut(req, b) || resp.StatusCode != http.StatusOK {
				return false
			}
			replaceWithError(resp, http.StatusInternalServerError, "InternalError")
			lost = true
			return true
		})
		doc := fmt.Sprintf("write %d", i)
		got, err := b.Write(ctx, key, []byte(doc), v)
		if !lost {
			t.Fatal("the proxy did not see the upload")
		}
		if err != nil {
			t.Fatalf("Write (ifMatch %q) whose first attempt was stored but answered 500: %v", v, err)
		}
		wantDoc(t, b, key, doc, got)
		if h, err := b.History(ctx, key); err != nil || len(h) != i+1 {
			t.Errorf("History = %+v, %v; want %d revisions: the retry stored nothing", h, err, i+1)
		}
	}
}

// As above, but another run writes over the first attempt's object before the retry: Write
// cannot know whether its object was stored, and must not claim a conflict (which promises
// that nothing was stored).
func TestRetriedWriteOverwrittenIsNotAConflict(t *testing.T) {
	e := shared
	ctx := t.Context()
	p := newProxy(t, e, nil)
	bucket := e.newBucket(t)
	b, err := s3state.New(ctx, e.client(p.URL), s3state.Options{Bucket: bucket})
	if err != nil {
		t.Fatal(err)
	}
	direct := e.newBackend(t, s3state.Options{Bucket: bucket})
	v := mustWrite(t, b, key, []byte("zero"), "")

	p.setModify(func(req *http.Request, resp *http.Response) bool {
		if !isObjectPut(req, b) || resp.StatusCode != http.StatusOK {
			return false
		}
		// Another run reads the first attempt's document and writes over it.
		_, mine, err := direct.Read(context.Background(), key)
		if err == nil {
			_, err = direct.Write(context.Background(), key, []byte("other"), mine)
		}
		if err != nil {
			t.Errorf("the other run's write: %v", err)
		}
		replaceWithError(resp, http.StatusInternalServerError, "InternalError")
		return true
	})
	_, err = b.Write(ctx, key, []byte("mine"), v)
	if err == nil || isConflict(err) || !strings.Contains(err.Error(), "attempted 2 times") {
		t.Fatalf("Write whose stored attempt was overwritten before its retry: got error %v, want an outcome-unknown error that is not a ConflictError", err)
	}
	h, err := b.History(ctx, key)
	if err != nil || len(h) != 3 {
		t.Fatalf("History = %+v, %v; want zero, mine, other", h, err)
	}
}

// A 409 ConditionalRequestConflict (S3's answer to concurrent conditional writes of one key) is
// a conflict, and nothing is stored.
func TestConditionalRequestConflict(t *testing.T) {
	e := shared
	ctx := t.Context()
	var refuse atomic.Bool
	p := newProxy(t, e, func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodPut || !strings.HasSuffix(r.URL.Path, ".json") || !refuse.Load() {
			return false
		}
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusConflict)
		fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>ConditionalRequestConflict</Code><Message>injected</Message></Error>`)
		return true
	})
	b, err := s3state.New(ctx, e.client(p.URL), s3state.Options{Bucket: e.newBucket(t)})
	if err != nil {
		t.Fatal(err)
	}
	v := mustWrite(t, b, key, []byte("one"), "")
	refuse.Store(true)
	for _, ifMatch := range []backend.Version{v, ""} {
		var ce *backend.ConflictError
		_, err := b.Write(ctx, key, []byte("two"), ifMatch)
		if !errors.As(err, &ce) || ce.Actual != v {
			t.Errorf("Write(ifMatch %q) answered 409 ConditionalRequestConflict: got error %v, want a ConflictError finding %q", ifMatch, err, v)
		}
	}
	refuse.Store(false)
	wantDoc(t, b, key, "one", v)
}

func mustWrite(t *testing.T, b backend.StateBackend, k backend.Key, data []byte, ifMatch backend.Version) backend.Version {
	t.Helper()
	v, err := b.Write(t.Context(), k, data, ifMatch)
	if err != nil {
		t.Fatalf("Write(%s, ifMatch %q): %v", k, ifMatch, err)
	}
	return v
}

func wantDoc(t *testing.T, b backend.StateBackend, k backend.Key, data string, v backend.Version) {
	t.Helper()
	got, gotV, err := b.Read(t.Context(), k)
	if err != nil {
		t.Fatalf("Read(%s): %v", k, err)
	}
	if string(got) != data || gotV != v {
		t.Errorf("Read(%s) = %d bytes at version %q; want %d bytes at %q", k, len(got), gotV, len(data), v)
	}
}

func isConflict(err error) bool {
	var ce *backend.ConflictError
	return errors.As(err, &ce)
}

// TestGzipJournalEntries: journal entries are stored like documents: a large one compressed, a
// small one as it is, and both read back as appended.
func TestGzipJournalEntries(t *testing.T) {
	e := shared
	ctx := t.Context()
	c := e.client("")
	const threshold = 1024
	b := e.newBackend(t, s3state.Options{GzipThreshold: threshold})
	k := backend.Key{Tenant: "t", Stack: "gzip", Environment: "journal"}
	v := mustWrite(t, b, k, []byte(`{"serial":1}`), "")
	big := bytes.Repeat([]byte(`{"address":"web/api","kind":"MicroService","status":"created"},`), 1000)
	small := []byte(`{"serial":3}`)
	for i, entry := range [][]byte{big, small} {
		if err := b.AppendEntry(ctx, k, v, i+1, entry); err != nil {
			t.Fatal(err)
		}
	}
	got, err := b.Entries(ctx, k, v)
	if err != nil || len(got) != 2 || !bytes.Equal(got[0], big) || !bytes.Equal(got[1], small) {
		t.Fatalf("Entries = %d entries, %v; want the two appended", len(got), err)
	}
	list, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(b.Bucket()), Prefix: aws.String("")})
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int64
	for _, o := range list.Contents {
		if strings.Contains(aws.ToString(o.Key), "gzip/journal.journal/") {
			sizes = append(sizes, aws.ToInt64(o.Size))
		}
	}
	if len(sizes) != 2 || sizes[0] >= int64(len(big))/10 || sizes[1] != int64(len(small)) {
		t.Errorf("stored entry sizes %v; want the big one (%d bytes) compressed and the small one (%d) as it is", sizes, len(big), len(small))
	}
}
