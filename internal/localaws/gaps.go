package localaws

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/panka/panka/internal/atomicfile"
)

// The gap layer: an HTTP server on 127.0.0.1 in front of kumo that answers the operations kumo
// lacks or gets wrong (see the package doc for the list) and passes every other request to kumo
// unchanged, Host header and body included.
//
// An operation is named by the service in the request's SigV4 credential scope
// (".../us-east-1/sqs/aws4_request") and the X-Amz-Target header (JSON protocols) or the Action
// form field (Query protocol). A gap handler either answers alone (the layer owns that state:
// SNS tags), or goes with kumo's answer: it may look at kumo's state or change the request
// before kumo sees it, and changes kumo's answer after (SQS encryption).

// gapsFile, in the emulator's data directory, keeps the layer's own state next to kumo's.
const gapsFile = "panka-gaps.json"

// gapState is what the layer keeps that kumo does not. Like kumo's data it is global to the
// process (every kumo server in a process shares one store), and it persists in the data
// directory kumo was started with (KUMO_DATA_DIR when the process started), written atomically
// on every change. Kumo writes its own data on its own schedule, so after a crash one may be a
// little ahead of the other: a record for a queue kumo lost is replaced when the queue is
// created again, and a queue whose record was lost reads as a new queue (SSE-SQS), which a
// client that reads back what it wrote sees as drift and applies again.
type gapState struct {
	mu  sync.Mutex
	dir string // "" keeps the state in memory
	// Queues holds the server-side encryption attributes of each SQS queue, by queue name (kumo
	// has one account).
	Queues map[string]sqsEncryption `json:"queues"`
	// Topics holds the tags of each SNS topic made through the layer, by topic ARN.
	Topics map[string]map[string]string `json:"topics"`
}

// sqsEncryption is what SQS reports of a queue's server-side encryption.
type sqsEncryption struct {
	KMSKey      string `json:"kmsMasterKeyId,omitempty"`
	ReusePeriod string `json:"kmsDataKeyReusePeriodSeconds,omitempty"`
	ManagedSSE  bool   `json:"sqsManagedSseEnabled"`
}

var gaps = newGapState(os.Getenv("KUMO_DATA_DIR"))

func newGapState(dir string) *gapState {
	g := &gapState{dir: dir}
	loadGapFile(dir, gapsFile, g)
	if g.Queues == nil {
		g.Queues = map[string]sqsEncryption{}
	}
	if g.Topics == nil {
		g.Topics = map[string]map[string]string{}
	}
	return g
}

// saveLocked writes the state to the data directory, if it has one. g.mu must be held.
// loadGapFile fills v (a gap state) from dir/name, when dir is set and the file exists. A damaged
// file loses what it kept, which clients that read back what they wrote see as drift and undo.
func loadGapFile(dir, name string, v any) {
	if dir == "" {
		return
	}
	if data, err := os.ReadFile(filepath.Join(dir, name)); err == nil {
		_ = json.Unmarshal(data, v)
	}
}

// saveGapFile writes v (a gap state) to dir/name; nothing when dir is "" (a test's emulator).
func saveGapFile(dir, name string, v any) error {
	if dir == "" {
		return nil
	}
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, name), data, atomicfile.Options{NoSync: true})
}

func (g *gapState) saveLocked() error {
	return saveGapFile(g.dir, gapsFile, g)
}

// gapServer is the layer in front of one kumo server.
type gapServer struct {
	kumo  *url.URL
	proxy *httputil.ReverseProxy
	state *gapState
	http  *http.Server
	URL   string
}

// gapHandler is the layer's answer to one operation. answer, if set, answers the request alone.
// Otherwise before (if set) runs ahead of the request to kumo and returns the body to send kumo
// instead (nil: the request's) and what after needs; after sees the request's body and kumo's
// answer (a 2xx only) and returns the body to answer with instead (nil: kumo's).
type gapHandler struct {
	answer func(w http.ResponseWriter, r *http.Request, s *gapServer, req []byte)
	before func(ctx context.Context, s *gapServer, req []byte) (body []byte, state any, err error)
	after  func(s *gapServer, req, resp []byte, h http.Header, state any) ([]byte, error)
}

// gapHandlers are the operations the layer answers, by "service.Operation". Each is a gap the
// package doc lists, with the test that pins kumo's behaviour. "service.*" answers the
// operations of a service the layer owns that have no handler of their own.
var gapHandlers = map[string]gapHandler{
	"sqs.CreateQueue":         {before: sqsCreateQueueBefore, after: sqsCreateQueueAfter},
	"sqs.SetQueueAttributes":  {after: sqsSetQueueAttributesAfter},
	"sqs.GetQueueAttributes":  {after: sqsGetQueueAttributesAfter},
	"sqs.DeleteQueue":         {after: sqsDeleteQueueAfter},
	"sns.CreateTopic":         {before: snsCreateTopicBefore, after: snsCreateTopicAfter},
	"sns.DeleteTopic":         {after: snsDeleteTopicAfter},
	"sns.TagResource":         {answer: snsTagResource},
	"sns.UntagResource":       {answer: snsUntagResource},
	"sns.ListTagsForResource": {answer: snsListTagsForResource},
}

// startGaps starts the layer on 127.0.0.1 in front of the kumo server at kumoURL.
func startGaps(kumoURL string) (*gapServer, error) {
	u, err := url.Parse(kumoURL)
	if err != nil {
		return nil, fmt.Errorf("local aws: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("local aws: %w", err)
	}
	s := &gapServer{kumo: u, state: gaps, URL: "http://" + ln.Addr().String()}
	s.proxy = &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(u)
			r.Out.Host = r.In.Host // kumo routes some services by Host; the signature covers it
		},
		Transport:      loopback,
		ModifyResponse: s.modifyResponse,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			writeGapError(w, http.StatusBadGateway, "InternalFailure", "local aws: "+err.Error())
		},
	}
	s.http = &http.Server{Handler: s, ReadHeaderTimeout: 30 * time.Second}
	go func() { _ = s.http.Serve(ln) }()
	return s, nil
}

// close stops the layer once the requests in flight are answered.
func (s *gapServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.http.Shutdown(ctx); err != nil {
		_ = s.http.Close()
	}
}

// loopback is the transport to kumo: 127.0.0.1 only, no proxy, and no gzip negotiated on the
// client's behalf, so a body the layer rewrites is the body kumo wrote.
var loopback = &http.Transport{Proxy: nil, DialContext: (&net.Dialer{}).DialContext, DisableCompression: true, MaxIdleConnsPerHost: 64}

type gapKey struct{}

// gapCall is an intercepted request on its way to kumo.
type gapCall struct {
	h     gapHandler
	body  []byte
	state any
}

func (s *gapServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op, body, err := operation(r)
	if err != nil {
		writeGapError(w, http.StatusBadRequest, "InvalidRequest", "local aws: "+err.Error())
		return
	}
	h, ok := gapHandlers[op]
	if service, _, _ := strings.Cut(op, "."); !ok && service != "" {
		h, ok = gapHandlers[service+".*"] // a service the layer owns: its other operations
	}
	if !ok {
		s.proxy.ServeHTTP(w, r)
		return
	}
	if h.answer != nil {
		if signingService(r.Header.Get("Authorization")) == "dynamodb" {
			cw := &crcWriter{header: http.Header{}, status: http.StatusOK}
			h.answer(cw, r, s, body)
			cw.send(w)
			return
		}
		h.answer(w, r, s, body)
		return
	}
	call := &gapCall{h: h, body: body}
	if h.before != nil {
		out, state, err := h.before(r.Context(), s, body)
		if err != nil {
			writeGapError(w, http.StatusInternalServerError, "InternalFailure", "local aws: "+op+": "+err.Error())
			return
		}
		call.state = state
		if out != nil {
			r.Body = io.NopCloser(bytes.NewReader(out))
			r.ContentLength = int64(len(out))
			r.Header.Set("Content-Length", strconv.Itoa(len(out)))
		}
	}
	s.proxy.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), gapKey{}, call)))
}

func (s *gapServer) modifyResponse(resp *http.Response) error {
	if err := s.afterGap(resp); err != nil {
		return err
	}
	if signingService(resp.Request.Header.Get("Authorization")) == "dynamodb" {
		return addCRC32(resp)
	}
	return nil
}

// addCRC32 gives a DynamoDB answer the X-Amz-Crc32 header DynamoDB sends with every response
// (the CRC-32 of the body), which kumo leaves out: the SDK's DynamoDB client checks it, and
// without it logs a checksum mismatch for every response (pinned by TestKumoSendsNoCRC32).
func addCRC32(resp *http.Response) error {
	body, err := readBody(resp)
	if err != nil {
		return err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	resp.Header.Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(body)), 10))
	return nil
}

// crcWriter holds an answer the layer writes itself, to send it with its X-Amz-Crc32 (see
// addCRC32).
type crcWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (c *crcWriter) Header() http.Header         { return c.header }
func (c *crcWriter) Write(p []byte) (int, error) { return c.body.Write(p) }
func (c *crcWriter) WriteHeader(status int)      { c.status = status }

func (c *crcWriter) send(w http.ResponseWriter) {
	for k, v := range c.header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Length", strconv.Itoa(c.body.Len()))
	w.Header().Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(c.body.Bytes())), 10))
	w.WriteHeader(c.status)
	_, _ = w.Write(c.body.Bytes())
}

// afterGap runs the after handler of an intercepted call on kumo's successful answer.
func (s *gapServer) afterGap(resp *http.Response) error {
	call, _ := resp.Request.Context().Value(gapKey{}).(*gapCall)
	if call == nil || call.h.after == nil || resp.StatusCode/100 != 2 {
		return nil
	}
	body, err := readBody(resp)
	if err != nil {
		return err
	}
	out, err := call.h.after(s, call.body, body, resp.Header, call.state)
	if err != nil {
		return err
	}
	if out == nil {
		out = body
	}
	resp.Body = io.NopCloser(bytes.NewReader(out))
	resp.ContentLength = int64(len(out))
	resp.Header.Set("Content-Length", strconv.Itoa(len(out)))
	resp.Header.Del("X-Amz-Crc32") // kumo's checksum is of its own body
	return nil
}

// readBody reads kumo's answer, decompressed.
func readBody(resp *http.Response) ([]byte, error) {
	var r io.Reader = resp.Body
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			return nil, err
		}
		r = zr
		resp.Header.Del("Content-Encoding")
	}
	body, err := io.ReadAll(r)
	resp.Body.Close()
	return body, err
}

// operation names r's operation "service.Operation" ("" when it cannot tell) and returns the
// body it read to tell (r.Body is left readable).
func operation(r *http.Request) (string, []byte, error) {
	service := signingService(r.Header.Get("Authorization"))
	if service == "s3" {
		return s3Operation(r), nil, nil // gaps_s3.go; the body stays unread
	}
	if service == "lambda" {
		return lambdaOperation(r) // gaps_lambda.go; the handlers read the body
	}
	if read := operationReaders[service]; read != nil {
		return read(r) // gaps_iam.go, gaps_scheduler.go, ...: the reader reads what it needs
	}
	if rest := restOperations[service]; rest != nil {
		return rest(r), nil, nil // gaps_apigw.go, gaps_cloudfront.go; the body stays unread
	}
	if service != "sqs" && service != "sns" && service != "dynamodb" && service != "events" && service != "logs" &&
		service != "elasticloadbalancing" && service != "application-autoscaling" {
		return "", nil, nil // no gap outside these services: do not read the body
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return "", nil, err
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if t := r.Header.Get("X-Amz-Target"); t != "" {
		_, op, _ := strings.Cut(t, ".")
		return service + "." + op, body, nil
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return "", nil, err
		}
		return service + "." + form.Get("Action"), body, nil
	}
	return "", body, nil
}

// signingService returns the service of a SigV4 Authorization header's credential scope.
func signingService(auth string) string {
	_, cred, ok := strings.Cut(auth, "Credential=")
	if !ok {
		return ""
	}
	cred, _, _ = strings.Cut(cred, ",")
	parts := strings.Split(cred, "/") // AKID/DATE/REGION/SERVICE/aws4_request
	if len(parts) != 5 {
		return ""
	}
	return parts[3]
}

// writeGapError answers with an AWS JSON error (the layer's own failures only).
func writeGapError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("x-amzn-RequestId", uuid.NewString())
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg})
}

// ---------------------------------------------------------------------------------------------
// SQS server-side encryption: kumo accepts KmsMasterKeyId, KmsDataKeyReusePeriodSeconds and
// SqsManagedSseEnabled and drops them. The layer records them (CreateQueue, SetQueueAttributes),
// reports them (GetQueueAttributes) as SQS does, and forgets them (DeleteQueue).

const (
	attrKMSKey      = "KmsMasterKeyId"
	attrReusePeriod = "KmsDataKeyReusePeriodSeconds"
	attrManagedSSE  = "SqsManagedSseEnabled"
	// defaultReusePeriod is SQS's data key reuse period when none is set.
	defaultReusePeriod = "300"
)

type sqsRequest struct {
	QueueName      string            `json:"QueueName"`
	QueueURL       string            `json:"QueueUrl"`
	Attributes     map[string]string `json:"Attributes"`
	AttributeNames []string          `json:"AttributeNames"`
}

func parseSQS(body []byte) (sqsRequest, error) {
	var req sqsRequest
	err := json.Unmarshal(body, &req)
	return req, err
}

// queueName returns the name in a queue URL (".../ACCOUNT/NAME").
func queueName(queueURL string) string {
	u, err := url.Parse(queueURL)
	if err != nil {
		return ""
	}
	return path.Base(u.Path)
}

// sqsCreateQueueBefore reports whether the queue exists already: CreateQueue of an existing
// queue returns it unchanged, and its encryption with it.
func sqsCreateQueueBefore(ctx context.Context, s *gapServer, body []byte) ([]byte, any, error) {
	req, err := parseSQS(body)
	if err != nil {
		return nil, nil, err
	}
	exists, err := s.queueExists(ctx, req.QueueName)
	return nil, exists, err
}

func sqsCreateQueueAfter(s *gapServer, body, _ []byte, _ http.Header, existed any) ([]byte, error) {
	if existed.(bool) {
		return nil, nil
	}
	req, err := parseSQS(body)
	if err != nil {
		return nil, err
	}
	enc := sqsEncryption{ManagedSSE: true, ReusePeriod: defaultReusePeriod}
	enc.apply(req.Attributes)
	return nil, s.state.setQueue(req.QueueName, &enc)
}

// apply changes enc as SetQueueAttributes (or CreateQueue) with attrs does.
func (enc *sqsEncryption) apply(attrs map[string]string) {
	if v, ok := attrs[attrManagedSSE]; ok {
		enc.ManagedSSE = v == "true"
		if enc.ManagedSSE {
			enc.KMSKey = ""
		}
	}
	if v, ok := attrs[attrKMSKey]; ok {
		enc.KMSKey = v
		if v != "" {
			enc.ManagedSSE = false
		}
	}
	if v, ok := attrs[attrReusePeriod]; ok {
		enc.ReusePeriod = v
	}
}

// attributes returns the attributes SQS reports for enc.
func (enc sqsEncryption) attributes() map[string]string {
	out := map[string]string{attrManagedSSE: strconv.FormatBool(enc.ManagedSSE)}
	if enc.KMSKey != "" {
		out[attrKMSKey] = enc.KMSKey
		out[attrReusePeriod] = enc.ReusePeriod
		if out[attrReusePeriod] == "" {
			out[attrReusePeriod] = defaultReusePeriod
		}
	}
	return out
}

func sqsSetQueueAttributesAfter(s *gapServer, body, _ []byte, _ http.Header, _ any) ([]byte, error) {
	req, err := parseSQS(body)
	if err != nil {
		return nil, err
	}
	name := queueName(req.QueueURL)
	enc := s.state.queue(name)
	enc.apply(req.Attributes)
	return nil, s.state.setQueue(name, &enc)
}

func sqsGetQueueAttributesAfter(s *gapServer, body, data []byte, _ http.Header, _ any) ([]byte, error) {
	req, err := parseSQS(body)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, nil // not kumo's usual answer: pass it on as it is
	}
	attrs, _ := out["Attributes"].(map[string]any)
	if attrs == nil {
		attrs = map[string]any{}
	}
	all := false
	want := map[string]bool{}
	for _, n := range req.AttributeNames {
		all = all || n == "All"
		want[n] = true
	}
	for k, v := range s.state.queue(queueName(req.QueueURL)).attributes() {
		if all || want[k] {
			attrs[k] = v
		}
	}
	if len(attrs) > 0 {
		out["Attributes"] = attrs
	}
	return json.Marshal(out)
}

func sqsDeleteQueueAfter(s *gapServer, body, _ []byte, _ http.Header, _ any) ([]byte, error) {
	req, err := parseSQS(body)
	if err != nil {
		return nil, err
	}
	return nil, s.state.setQueue(queueName(req.QueueURL), nil)
}

// queueExists asks kumo whether the queue name exists.
func (s *gapServer) queueExists(ctx context.Context, name string) (bool, error) {
	body, _ := json.Marshal(map[string]string{"QueueName": name})
	status, data, err := s.askKumo(ctx, "sqs", "AmazonSQS.GetQueueUrl", body)
	switch {
	case err != nil:
		return false, err
	case status == http.StatusOK:
		return true, nil
	case bytes.Contains(data, []byte("NonExistentQueue")) || bytes.Contains(data, []byte("QueueDoesNotExist")):
		return false, nil
	}
	return false, fmt.Errorf("GetQueueUrl %s: kumo answered %d %s", name, status, bytes.TrimSpace(data))
}

// askKumo sends kumo a request of its own: a JSON request to target (service prefix and
// operation) or, with target "", a Query request whose form is body. It returns kumo's status
// and body.
func (s *gapServer) askKumo(ctx context.Context, service, target string, body []byte) (int, []byte, error) {
	return s.sendKumo(ctx, service, service, target, body)
}

// sendKumo is askKumo with the SDK's api/ token for id (kumo routes some Query services by it).
func (s *gapServer) sendKumo(ctx context.Context, service, id, target string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.kumo.String()+"/", bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if target != "" {
		req.Header.Set("Content-Type", "application/x-amz-json-1.0")
		req.Header.Set("X-Amz-Target", target)
	} else {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	// Kumo routes by the signing scope and, for the Query protocol, the SDK's api/ token.
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=test/20000101/us-east-1/"+service+"/aws4_request, SignedHeaders=host, Signature=0")
	req.Header.Set("User-Agent", "panka-localaws api/"+id)
	resp, err := loopback.RoundTrip(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, data, err
}

// queue returns the encryption of the queue name (a queue the layer has no record of is a new
// queue: SSE-SQS).
func (g *gapState) queue(name string) sqsEncryption {
	g.mu.Lock()
	defer g.mu.Unlock()
	if enc, ok := g.Queues[name]; ok {
		return enc
	}
	return sqsEncryption{ManagedSSE: true, ReusePeriod: defaultReusePeriod}
}

// setQueue records the encryption of the queue name, or forgets it (enc nil).
func (g *gapState) setQueue(name string, enc *sqsEncryption) error {
	if name == "" || name == "." || name == "/" {
		return errors.New("no queue name in the request")
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if enc == nil {
		delete(g.Queues, name)
	} else {
		g.Queues[name] = *enc
	}
	return g.saveLocked()
}

// ---------------------------------------------------------------------------------------------
// SNS tags: kumo fails CreateTopic and TagResource whose tag values read as JSON numbers or
// booleans ("42", "true": its Query-to-JSON conversion makes them numbers, which its Tag type
// refuses), answers TagResource and UntagResource with a document the SDK cannot parse, and
// lists the tags of a topic that does not exist as none. The layer keeps the tags of the topics
// made through it: CreateTopic's tags go to the layer (kumo gets the request without them, and
// does not see a topic that exists already tagged again), DeleteTopic forgets them, and
// TagResource, UntagResource and ListTagsForResource are answered from them, after asking kumo
// whether the topic exists.

const snsXMLNS = "http://sns.amazonaws.com/doc/2010-03-31/"

type snsTagState struct {
	arn     string
	existed bool
	tags    map[string]string
}

// kumoTopicARN is the ARN kumo v0.33.1 gives the topic name (one region and account).
func kumoTopicARN(name string) string { return "arn:aws:sns:us-east-1:000000000000:" + name }

func snsCreateTopicBefore(ctx context.Context, s *gapServer, body []byte) ([]byte, any, error) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, nil, err
	}
	tags := formTags(form)
	for k := range form {
		if strings.HasPrefix(k, "Tags.") {
			delete(form, k)
		}
	}
	st := &snsTagState{arn: kumoTopicARN(form.Get("Name")), tags: tags}
	if st.existed, err = s.topicExists(ctx, st.arn); err != nil {
		return nil, nil, err
	}
	return []byte(form.Encode()), st, nil
}

func snsCreateTopicAfter(s *gapServer, _, resp []byte, _ http.Header, state any) ([]byte, error) {
	st := state.(*snsTagState)
	var out struct {
		ARN string `xml:"CreateTopicResult>TopicArn"`
	}
	if err := xml.Unmarshal(resp, &out); err == nil && out.ARN != "" {
		st.arn = out.ARN
	}
	if st.existed {
		return nil, nil
	}
	return nil, s.state.setTopicTags(st.arn, st.tags)
}

func snsDeleteTopicAfter(s *gapServer, req, _ []byte, _ http.Header, _ any) ([]byte, error) {
	form, err := url.ParseQuery(string(req))
	if err != nil {
		return nil, err
	}
	return nil, s.state.setTopicTags(form.Get("TopicArn"), nil)
}

func snsTagResource(w http.ResponseWriter, r *http.Request, s *gapServer, req []byte) {
	s.changeTopicTags(w, r, req, "TagResource", func(form url.Values, tags map[string]string) {
		maps.Copy(tags, formTags(form))
	})
}

func snsUntagResource(w http.ResponseWriter, r *http.Request, s *gapServer, req []byte) {
	s.changeTopicTags(w, r, req, "UntagResource", func(form url.Values, tags map[string]string) {
		for i := 1; form.Has(fmt.Sprintf("TagKeys.member.%d", i)); i++ {
			delete(tags, form.Get(fmt.Sprintf("TagKeys.member.%d", i)))
		}
	})
}

func (s *gapServer) changeTopicTags(w http.ResponseWriter, r *http.Request, req []byte, op string, change func(url.Values, map[string]string)) {
	form, ok := s.topicForm(w, r, req)
	if !ok {
		return
	}
	arn := form.Get("ResourceArn")
	tags := s.state.topicTags(arn)
	change(form, tags)
	if err := s.state.setTopicTags(arn, tags); err != nil {
		writeSNSError(w, http.StatusInternalServerError, "InternalError", "local aws: "+err.Error())
		return
	}
	writeSNS(w, fmt.Sprintf("<%sResponse xmlns=%q><%sResult/>%s</%sResponse>", op, snsXMLNS, op, snsMetadata(), op))
}

func snsListTagsForResource(w http.ResponseWriter, r *http.Request, s *gapServer, req []byte) {
	form, ok := s.topicForm(w, r, req)
	if !ok {
		return
	}
	tags := s.state.topicTags(form.Get("ResourceArn"))
	var b bytes.Buffer
	fmt.Fprintf(&b, "<ListTagsForResourceResponse xmlns=%q><ListTagsForResourceResult><Tags>", snsXMLNS)
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		b.WriteString("<member><Key>")
		_ = xml.EscapeText(&b, []byte(k))
		b.WriteString("</Key><Value>")
		_ = xml.EscapeText(&b, []byte(tags[k]))
		b.WriteString("</Value></member>")
	}
	fmt.Fprintf(&b, "</Tags></ListTagsForResourceResult>%s</ListTagsForResourceResponse>", snsMetadata())
	writeSNS(w, b.String())
}

// topicForm parses a tagging request and checks its topic exists, or answers with SNS's error.
func (s *gapServer) topicForm(w http.ResponseWriter, r *http.Request, req []byte) (url.Values, bool) {
	form, err := url.ParseQuery(string(req))
	if err != nil {
		writeSNSError(w, http.StatusBadRequest, "InvalidParameter", "Invalid parameter: "+err.Error())
		return nil, false
	}
	arn := form.Get("ResourceArn")
	if arn == "" {
		writeSNSError(w, http.StatusBadRequest, "InvalidParameter", "Invalid parameter: ResourceArn")
		return nil, false
	}
	exists, err := s.topicExists(r.Context(), arn)
	switch {
	case err != nil:
		writeSNSError(w, http.StatusInternalServerError, "InternalError", "local aws: "+err.Error())
		return nil, false
	case !exists:
		writeSNSError(w, http.StatusNotFound, "ResourceNotFound", "Resource does not exist")
		return nil, false
	}
	return form, true
}

// topicExists asks kumo whether the topic arn exists.
func (s *gapServer) topicExists(ctx context.Context, arn string) (bool, error) {
	form := url.Values{"Action": {"GetTopicAttributes"}, "Version": {"2010-03-31"}, "TopicArn": {arn}}
	status, data, err := s.askKumo(ctx, "sns", "", []byte(form.Encode()))
	switch {
	case err != nil:
		return false, err
	case status == http.StatusOK:
		return true, nil
	case status == http.StatusNotFound:
		return false, nil
	}
	return false, fmt.Errorf("GetTopicAttributes %s: kumo answered %d %s", arn, status, bytes.TrimSpace(data))
}

// formTags returns the Tags.member.N.Key/Value pairs of a Query form.
func formTags(form url.Values) map[string]string {
	tags := map[string]string{}
	for i := 1; form.Has(fmt.Sprintf("Tags.member.%d.Key", i)); i++ {
		tags[form.Get(fmt.Sprintf("Tags.member.%d.Key", i))] = form.Get(fmt.Sprintf("Tags.member.%d.Value", i))
	}
	return tags
}

func snsMetadata() string {
	return "<ResponseMetadata><RequestId>" + uuid.NewString() + "</RequestId></ResponseMetadata>"
}

func writeSNS(w http.ResponseWriter, doc string) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, xml.Header+doc)
}

func writeSNSError(w http.ResponseWriter, status int, code, msg string) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "<ErrorResponse xmlns=%q><Error><Type>Sender</Type><Code>%s</Code><Message>", snsXMLNS, code)
	_ = xml.EscapeText(&b, []byte(msg))
	id := uuid.NewString()
	fmt.Fprintf(&b, "</Message></Error><RequestId>%s</RequestId></ErrorResponse>", id)
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("x-amzn-RequestId", id)
	w.WriteHeader(status)
	_, _ = io.WriteString(w, xml.Header+b.String())
}

// topicTags returns a copy of the tags of the topic arn.
func (g *gapState) topicTags(arn string) map[string]string {
	g.mu.Lock()
	defer g.mu.Unlock()
	tags := maps.Clone(g.Topics[arn])
	if tags == nil {
		tags = map[string]string{}
	}
	return tags
}

// setTopicTags records the tags of the topic arn, or forgets the topic (tags nil).
func (g *gapState) setTopicTags(arn string, tags map[string]string) error {
	if arn == "" {
		return errors.New("no topic ARN in the request")
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if tags == nil {
		delete(g.Topics, arn)
	} else {
		g.Topics[arn] = maps.Clone(tags)
	}
	return g.saveLocked()
}
