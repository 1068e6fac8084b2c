package localaws

import (
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/google/uuid"
)

// ---------------------------------------------------------------------------------------------
// S3 bucket ACLs, ownership controls and CORS. Kumo v0.33.1 routes PutBucketAcl and
// PutBucketOwnershipControls to CreateBucket (BucketAlreadyOwnedByYou, MalformedXML), keeps no
// ownership controls (not even CreateBucket's x-amz-object-ownership), drops a CORS rule's ID,
// and answers DeleteBucketCors by deleting the bucket. The layer keeps these three settings of
// each bucket itself: CreateBucket records its object ownership (BucketOwnerEnforced by default,
// as S3 does), DeleteBucket forgets the bucket, and the Put/Get/Delete operations of ?acl,
// ?ownershipControls and ?cors are answered from the layer's record, after asking kumo whether
// the bucket exists. Requests are path-style (the layer is on 127.0.0.1).

// s3GapsFile, beside gapsFile, keeps the S3 settings.
const s3GapsFile = "panka-gaps-s3.json"

// s3Bucket is what the layer keeps of one bucket.
type s3Bucket struct {
	ACL       string `json:"acl"`       // canned ACL
	Ownership string `json:"ownership"` // "" when the bucket has no ownership controls
	CORS      []byte `json:"cors,omitempty"`
}

type s3GapState struct {
	mu      sync.Mutex
	dir     string
	Buckets map[string]*s3Bucket `json:"buckets"`
}

var s3Gaps = newS3GapState(os.Getenv("KUMO_DATA_DIR"))

func newS3GapState(dir string) *s3GapState {
	g := &s3GapState{dir: dir}
	loadGapFile(dir, s3GapsFile, g)
	if g.Buckets == nil {
		g.Buckets = map[string]*s3Bucket{}
	}
	return g
}

// update changes the record of bucket (made as a new bucket's if there is none) and saves it.
func (g *s3GapState) update(bucket string, change func(b *s3Bucket)) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	b := g.Buckets[bucket]
	if b == nil {
		b = &s3Bucket{ACL: "private", Ownership: "BucketOwnerEnforced"}
		g.Buckets[bucket] = b
	}
	change(b)
	return g.saveLocked()
}

func (g *s3GapState) forget(bucket string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.Buckets, bucket)
	return g.saveLocked()
}

func (g *s3GapState) get(bucket string) s3Bucket {
	g.mu.Lock()
	defer g.mu.Unlock()
	if b := g.Buckets[bucket]; b != nil {
		return *b
	}
	return s3Bucket{ACL: "private", Ownership: "BucketOwnerEnforced"}
}

func (g *s3GapState) saveLocked() error {
	return saveGapFile(g.dir, s3GapsFile, g)
}

func init() {
	for op, h := range map[string]func(http.ResponseWriter, *http.Request, *gapServer, []byte){
		"s3.CreateBucket":               s3CreateBucket,
		"s3.DeleteBucket":               s3DeleteBucket,
		"s3.PutBucketAcl":               s3PutBucketACL,
		"s3.GetBucketAcl":               s3GetBucketACL,
		"s3.PutBucketOwnershipControls": s3PutOwnership,
		"s3.GetBucketOwnershipControls": s3GetOwnership,
		"s3.DeleteBucketOwnershipControls": func(w http.ResponseWriter, r *http.Request, s *gapServer, _ []byte) {
			s.s3Change(w, r, http.StatusNoContent, func(b *s3Bucket) { b.Ownership = "" })
		},
		"s3.PutBucketCors": s3PutCORS,
		"s3.GetBucketCors": s3GetCORS,
		"s3.DeleteBucketCors": func(w http.ResponseWriter, r *http.Request, s *gapServer, _ []byte) {
			s.s3Change(w, r, http.StatusNoContent, func(b *s3Bucket) { b.CORS = nil })
		},
	} {
		gapHandlers[op] = gapHandler{answer: h}
	}
}

// s3Operation names a path-style S3 request by what the layer answers ("" for the rest).
func s3Operation(r *http.Request) string {
	bucket, key := s3Path(r)
	if bucket == "" || key != "" {
		return ""
	}
	q := r.URL.Query()
	sub := ""
	for _, s := range []string{"acl", "ownershipControls", "cors"} {
		if q.Has(s) {
			sub = s
		}
	}
	ops := map[string]string{
		"PUT": "CreateBucket", "DELETE": "DeleteBucket",
		"PUT acl": "PutBucketAcl", "GET acl": "GetBucketAcl",
		"PUT ownershipControls": "PutBucketOwnershipControls", "GET ownershipControls": "GetBucketOwnershipControls",
		"DELETE ownershipControls": "DeleteBucketOwnershipControls",
		"PUT cors":                 "PutBucketCors", "GET cors": "GetBucketCors", "DELETE cors": "DeleteBucketCors",
	}
	if sub == "" && len(q) > 0 {
		return "" // another subresource
	}
	if op := ops[strings.TrimSpace(r.Method+" "+sub)]; op != "" {
		return "s3." + op
	}
	return ""
}

// s3Path returns the bucket and key of a path-style request.
func s3Path(r *http.Request) (bucket, key string) {
	bucket, key, _ = strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	return bucket, key
}

// statusWriter remembers the status of the answer it passes on.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController (the proxy's flushes) reach the writer underneath.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func s3CreateBucket(w http.ResponseWriter, r *http.Request, s *gapServer, _ []byte) {
	bucket, _ := s3Path(r)
	ownership := r.Header.Get("X-Amz-Object-Ownership")
	acl := r.Header.Get("X-Amz-Acl")
	sw := &statusWriter{ResponseWriter: w}
	s.proxy.ServeHTTP(sw, r)
	if sw.status != http.StatusOK {
		return
	}
	_ = s3Gaps.update(bucket, func(b *s3Bucket) {
		*b = s3Bucket{ACL: "private", Ownership: "BucketOwnerEnforced"}
		if ownership != "" {
			b.Ownership = ownership
		}
		if acl != "" {
			b.ACL = acl
		}
	})
}

func s3DeleteBucket(w http.ResponseWriter, r *http.Request, s *gapServer, _ []byte) {
	bucket, _ := s3Path(r)
	sw := &statusWriter{ResponseWriter: w}
	s.proxy.ServeHTTP(sw, r)
	if sw.status == http.StatusNoContent || sw.status == http.StatusOK {
		_ = s3Gaps.forget(bucket)
	}
}

// s3Exists answers NoSuchBucket and returns false if kumo does not have r's bucket.
func (s *gapServer) s3Exists(w http.ResponseWriter, r *http.Request) bool {
	bucket, _ := s3Path(r)
	req, err := http.NewRequestWithContext(r.Context(), http.MethodHead, s.kumo.String()+"/"+bucket, nil)
	if err != nil {
		writeS3Error(w, http.StatusInternalServerError, "InternalError", err.Error())
		return false
	}
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=test/20000101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0")
	resp, err := loopback.RoundTrip(req)
	if err != nil {
		writeS3Error(w, http.StatusInternalServerError, "InternalError", "local aws: "+err.Error())
		return false
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return true
	case http.StatusNotFound:
		writeS3Error(w, http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist")
	default:
		writeS3Error(w, http.StatusInternalServerError, "InternalError", fmt.Sprintf("local aws: HeadBucket %s: kumo answered %d", bucket, resp.StatusCode))
	}
	return false
}

// s3Change changes r's bucket's record and answers status with no body.
func (s *gapServer) s3Change(w http.ResponseWriter, r *http.Request, status int, change func(b *s3Bucket)) {
	if !s.s3Exists(w, r) {
		return
	}
	bucket, _ := s3Path(r)
	if err := s3Gaps.update(bucket, change); err != nil {
		writeS3Error(w, http.StatusInternalServerError, "InternalError", "local aws: "+err.Error())
		return
	}
	w.Header().Set("x-amz-request-id", uuid.NewString())
	w.WriteHeader(status)
}

// s3CannedACLs are the canned ACLs S3 takes on a bucket.
var s3CannedACLs = []string{"private", "public-read", "public-read-write", "authenticated-read", "aws-exec-read", "bucket-owner-read", "bucket-owner-full-control", "log-delivery-write"}

func s3PutBucketACL(w http.ResponseWriter, r *http.Request, s *gapServer, _ []byte) {
	acl := r.Header.Get("X-Amz-Acl")
	bucket, _ := s3Path(r)
	switch {
	case acl == "":
		writeS3Error(w, http.StatusNotImplemented, "NotImplemented", "local aws: PutBucketAcl takes a canned ACL (x-amz-acl) only")
		return
	case !slices.Contains(s3CannedACLs, acl):
		writeS3Error(w, http.StatusBadRequest, "InvalidArgument", "unknown canned ACL "+acl)
		return
	case acl != "private" && s3Gaps.get(bucket).Ownership == "BucketOwnerEnforced":
		writeS3Error(w, http.StatusBadRequest, "AccessControlListNotSupported", "The bucket does not allow ACLs")
		return
	}
	s.s3Change(w, r, http.StatusOK, func(b *s3Bucket) { b.ACL = acl })
}

// s3Grant is one grant of an AccessControlPolicy.
type s3Grant struct {
	Type, ID, URI, Permission string
}

const (
	s3OwnerID       = "75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a"
	s3AllUsers      = "http://acs.amazonaws.com/groups/global/AllUsers"
	s3AuthUsers     = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
	s3LogDelivery   = "http://acs.amazonaws.com/groups/s3/LogDelivery"
	s3EC2ExecReadID = "6aa5a366c34c1cbe25dc49211496e913e0351eb0e8c37aa3477e40942ec6b97c"
)

// s3Grants returns the grants S3 gives a bucket for a canned ACL.
func s3Grants(acl string) []s3Grant {
	g := []s3Grant{{Type: "CanonicalUser", ID: s3OwnerID, Permission: "FULL_CONTROL"}}
	group := func(uri, perm string) s3Grant { return s3Grant{Type: "Group", URI: uri, Permission: perm} }
	switch acl {
	case "public-read":
		g = append(g, group(s3AllUsers, "READ"))
	case "public-read-write":
		g = append(g, group(s3AllUsers, "READ"), group(s3AllUsers, "WRITE"))
	case "authenticated-read":
		g = append(g, group(s3AuthUsers, "READ"))
	case "log-delivery-write":
		g = append(g, group(s3LogDelivery, "WRITE"), group(s3LogDelivery, "READ_ACP"))
	case "aws-exec-read":
		g = append(g, s3Grant{Type: "CanonicalUser", ID: s3EC2ExecReadID, Permission: "READ"})
	}
	return g
}

func s3GetBucketACL(w http.ResponseWriter, r *http.Request, s *gapServer, _ []byte) {
	if !s.s3Exists(w, r) {
		return
	}
	bucket, _ := s3Path(r)
	var b strings.Builder
	fmt.Fprintf(&b, `<AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Owner><ID>%s</ID></Owner><AccessControlList>`, s3OwnerID)
	for _, g := range s3Grants(s3Gaps.get(bucket).ACL) {
		b.WriteString(`<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="` + g.Type + `">`)
		if g.ID != "" {
			b.WriteString("<ID>" + g.ID + "</ID>")
		} else {
			b.WriteString("<URI>" + g.URI + "</URI>")
		}
		b.WriteString("</Grantee><Permission>" + g.Permission + "</Permission></Grant>")
	}
	b.WriteString("</AccessControlList></AccessControlPolicy>")
	writeS3(w, b.String())
}

type s3OwnershipControls struct {
	XMLName xml.Name `xml:"OwnershipControls"`
	Rules   []struct {
		ObjectOwnership string `xml:"ObjectOwnership"`
	} `xml:"Rule"`
}

func s3PutOwnership(w http.ResponseWriter, r *http.Request, s *gapServer, _ []byte) {
	var oc s3OwnershipControls
	body, err := io.ReadAll(r.Body)
	if err == nil {
		err = xml.Unmarshal(body, &oc)
	}
	if err != nil || len(oc.Rules) != 1 || !slices.Contains([]string{"BucketOwnerEnforced", "BucketOwnerPreferred", "ObjectWriter"}, oc.Rules[0].ObjectOwnership) {
		writeS3Error(w, http.StatusBadRequest, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
		return
	}
	bucket, _ := s3Path(r)
	if oc.Rules[0].ObjectOwnership == "BucketOwnerEnforced" && s3Gaps.get(bucket).ACL != "private" {
		writeS3Error(w, http.StatusBadRequest, "InvalidBucketAclWithObjectOwnership", "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting")
		return
	}
	s.s3Change(w, r, http.StatusOK, func(b *s3Bucket) { b.Ownership = oc.Rules[0].ObjectOwnership })
}

func s3GetOwnership(w http.ResponseWriter, r *http.Request, s *gapServer, _ []byte) {
	if !s.s3Exists(w, r) {
		return
	}
	bucket, _ := s3Path(r)
	own := s3Gaps.get(bucket).Ownership
	if own == "" {
		writeS3Error(w, http.StatusNotFound, "OwnershipControlsNotFoundError", "The bucket ownership controls were not found")
		return
	}
	writeS3(w, `<OwnershipControls xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Rule><ObjectOwnership>`+own+`</ObjectOwnership></Rule></OwnershipControls>`)
}

func s3PutCORS(w http.ResponseWriter, r *http.Request, s *gapServer, _ []byte) {
	body, err := io.ReadAll(r.Body)
	var probe struct {
		Rules []struct{} `xml:"CORSRule"`
	}
	if err == nil {
		err = xml.Unmarshal(body, &probe)
	}
	if err != nil || len(probe.Rules) == 0 {
		writeS3Error(w, http.StatusBadRequest, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
		return
	}
	s.s3Change(w, r, http.StatusOK, func(b *s3Bucket) { b.CORS = body })
}

func s3GetCORS(w http.ResponseWriter, r *http.Request, s *gapServer, _ []byte) {
	if !s.s3Exists(w, r) {
		return
	}
	bucket, _ := s3Path(r)
	cors := s3Gaps.get(bucket).CORS
	if cors == nil {
		writeS3Error(w, http.StatusNotFound, "NoSuchCORSConfiguration", "The CORS configuration does not exist")
		return
	}
	writeS3(w, string(cors)) // the document as it was put: S3 answers the same elements
}

func writeS3(w http.ResponseWriter, doc string) {
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("x-amz-request-id", uuid.NewString())
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?>`+doc)
}

func writeS3Error(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("x-amz-request-id", uuid.NewString())
	w.WriteHeader(status)
	_, _ = fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>%s</Message></Error>`, code, msg)
}
