package s3state

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/panka/panka/backend"
)

// User metadata of the objects Write stores (x-amz-meta-<name>). S3 reports metadata names in
// lower case.
const (
	metaEncoding = "panka-encoding" // "gzip" if the body is compressed
	metaSize     = "panka-size"     // the uncompressed length, for a compressed body
	metaWriteID  = "panka-write-id" // the Write that stored the object; see Backend.Write
)

const encodingGzip = "gzip"

// errUnknownEncoding reports a document stored with an encoding this version cannot decode.
var errUnknownEncoding = errors.New("unknown encoding")

// encode returns the body to store for data and its metadata: data itself, or, if data is
// longer than threshold (threshold >= 0) and compresses to fewer bytes, its gzip compression.
func encode(data []byte, threshold int) (body []byte, meta map[string]string, compressed bool) {
	meta = map[string]string{}
	if threshold < 0 || len(data) <= threshold {
		return data, meta, false
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf) // no name and no time in the header: the same data gives the same bytes
	// Writes to a bytes.Buffer cannot fail.
	_, _ = zw.Write(data)
	_ = zw.Close()
	if buf.Len() >= len(data) {
		return data, meta, false
	}
	meta[metaEncoding] = encodingGzip
	meta[metaSize] = strconv.Itoa(len(data))
	return buf.Bytes(), meta, true
}

// decode returns the document stored as body with the given metadata and Content-Encoding. A
// compressed body that does not decompress to the recorded length is backend.ErrCorrupt.
func decode(body []byte, meta map[string]string, contentEncoding string) ([]byte, error) {
	switch enc := encodingOf(meta, contentEncoding); enc {
	case "":
		return body, nil
	case encodingGzip:
	default:
		return nil, fmt.Errorf("%w: stored with encoding %q (x-amz-meta-%s), which this version of Panka cannot read", errUnknownEncoding, enc, metaEncoding)
	}
	corrupt := func(format string, args ...any) error {
		return fmt.Errorf("%w: gzip-compressed body (%d bytes) %s; restore an earlier revision from the object's versions",
			backend.ErrCorrupt, len(body), fmt.Sprintf(format, args...))
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return nil, corrupt("does not decompress: %v", err)
	}
	size, sized := recordedSize(meta)
	var r io.Reader = zr
	if sized {
		r = io.LimitReader(zr, size+1) // a longer body is corrupt: do not inflate it all
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, corrupt("does not decompress: %v", err)
	}
	if sized && int64(len(data)) != size {
		return nil, corrupt("decompresses to %d bytes or more, not the %d recorded in x-amz-meta-%s", len(data), size, metaSize)
	}
	return data, nil
}

// encodingOf returns how a stored body is encoded: "" for not at all. The metadata written by
// Write decides; Content-Encoding is honoured for objects stored otherwise.
func encodingOf(meta map[string]string, contentEncoding string) string {
	if enc := metaValue(meta, metaEncoding); enc != "" {
		return strings.ToLower(enc)
	}
	if strings.EqualFold(strings.TrimSpace(contentEncoding), encodingGzip) {
		return encodingGzip
	}
	return ""
}

// recordedSize returns the uncompressed length recorded in meta, if any.
func recordedSize(meta map[string]string) (int64, bool) {
	n, err := strconv.ParseInt(metaValue(meta, metaSize), 10, 64)
	return n, err == nil && n >= 0
}

// metaValue looks name up in S3 user metadata, whatever the case of its keys.
func metaValue(meta map[string]string, name string) string {
	if v, ok := meta[name]; ok {
		return v
	}
	for k, v := range meta {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// isPreconditionFailure reports whether a conditional PutObject was refused because its
// precondition did not hold: 412 PreconditionFailed, 409 ConditionalRequestConflict (a
// concurrent conditional write to the same key), or, for If-Match, 404 NoSuchKey (the object
// is gone).
func isPreconditionFailure(err error, ifMatch bool) bool {
	switch {
	case isCode(err, "PreconditionFailed"), isCode(err, "ConditionalRequestConflict"):
		return true
	case ifMatch && isCode(err, "NoSuchKey"):
		return true
	}
	return httpStatus(err) == http.StatusPreconditionFailed
}

// isObjectNotFound reports whether a GetObject failed because there is no such object or
// version. For a request naming a version, S3 answers 400 InvalidArgument to a malformed
// version ID and 405 MethodNotAllowed to the ID of a delete marker; neither is a document.
func isObjectNotFound(err error, byVersion bool) bool {
	if isCode(err, "NoSuchKey") || isCode(err, "NoSuchVersion") {
		return true
	}
	return byVersion && (isCode(err, "InvalidArgument") || isCode(err, "MethodNotAllowed"))
}

// isCode reports whether err is an S3 error with the given code.
func isCode(err error, code string) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == code
}

// httpStatus returns the HTTP status of the response that gave err, or 0.
func httpStatus(err error) int {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// countAttempts counts, in *n, the HTTP attempts the SDK makes for one operation, retries
// included. The attempts of one operation run one after another.
func countAttempts(n *int) func(*s3.Options) {
	return func(o *s3.Options) {
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			// At the end of the finalize step: inside the retry loop, once per attempt.
			return st.Finalize.Add(middleware.FinalizeMiddlewareFunc("PankaCountAttempts",
				func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
					*n++
					return next.HandleFinalize(ctx, in)
				}), middleware.After)
		})
	}
}
