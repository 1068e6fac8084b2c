package localaws

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// ---------------------------------------------------------------------------------------------
// MSK (gaps_msk.go): kumo v0.33.1 has only the v1 CreateCluster, ListClusters, DescribeCluster,
// DeleteCluster, GetBootstrapBrokers and UpdateClusterConfiguration, makes clusters ACTIVE at
// once in account 123456789012, and has no v2 API (CreateClusterV2, DescribeClusterV2,
// ListClustersV2), no serverless clusters, no updates (UpdateBrokerCount, UpdateBrokerStorage,
// UpdateBrokerType, UpdateClusterKafkaVersion, UpdateSecurity), no cluster operations, no tags
// and no topics. The layer owns MSK whole (REST, signing name kafka): kumo's MSK is never asked,
// and an operation the layer does not emulate fails with UnknownOperationException naming it.
//
// Simulated from time, as the ECS layer's tasks: a cluster is CREATING for mskDelay after
// CreateClusterV2, then ACTIVE; an update makes a cluster operation (PENDING, then
// UPDATE_IN_PROGRESS) and the cluster UPDATING for mskDelay, after which the operation is
// UPDATE_COMPLETE, its change applied and the cluster ACTIVE with a new current version; a
// deleted cluster is DELETING for mskDelay, then gone (NotFoundException). Topics (CreateTopic,
// DescribeTopic, ListTopics, UpdateTopic, DeleteTopic) are CREATING or UPDATING for mskDelay,
// then ACTIVE; their configs are kept as the base64 JSON object the API carries. No broker runs:
// the bootstrap broker strings are names nobody answers.

const (
	mskGapsFile = "panka-gaps-msk.json"
	mskAccount  = "000000000000" // STS's account in kumo (its own MSK ARNs say 123456789012)
	mskRegion   = "us-east-1"
)

// mskDelay is how long a cluster takes to create, update or delete, and a topic to create or
// update. PANKA_LOCALAWS_MSK_DELAY (a Go duration) sets it.
var mskDelay = func() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("PANKA_LOCALAWS_MSK_DELAY")); err == nil && d > 0 {
		return d
	}
	return 300 * time.Millisecond
}()

// mskCluster is a cluster as the layer keeps it. Provisioned and Serverless are the answer's
// objects (DescribeClusterV2's shape), kept as JSON maps.
type mskCluster struct {
	ARN         string               `json:"arn"`
	Name        string               `json:"name"`
	Type        string               `json:"type"` // PROVISIONED or SERVERLESS
	Created     time.Time            `json:"created"`
	Version     int                  `json:"version"` // the current version is "K" and it
	Deleted     time.Time            `json:"deleted"`
	Tags        map[string]string    `json:"tags"`
	Provisioned map[string]any       `json:"provisioned,omitempty"`
	Serverless  map[string]any       `json:"serverless,omitempty"`
	Operations  []*mskOperation      `json:"operations,omitempty"`
	Topics      map[string]*mskTopic `json:"topics,omitempty"`
}

// mskOperation is a cluster operation; Target is what it changes in the cluster's provisioned
// object, applied when it completes.
type mskOperation struct {
	ARN     string         `json:"arn"`
	Type    string         `json:"type"`
	Start   time.Time      `json:"start"`
	Source  map[string]any `json:"source"`
	Target  map[string]any `json:"target"`
	Applied bool           `json:"applied"`
}

type mskTopic struct {
	Partitions  int               `json:"partitions"`
	Replication int               `json:"replication"`
	Configs     map[string]string `json:"configs"`
	Changed     time.Time         `json:"changed"`
	Created     bool              `json:"created"` // the last change was its creation
}

type mskGapState struct {
	mu       sync.Mutex
	dir      string
	Clusters map[string]*mskCluster `json:"clusters"` // by ARN
}

var mskGaps = newMSKGapState(os.Getenv("KUMO_DATA_DIR"))

func newMSKGapState(dir string) *mskGapState {
	g := &mskGapState{dir: dir}
	loadGapFile(dir, mskGapsFile, g)
	if g.Clusters == nil {
		g.Clusters = map[string]*mskCluster{}
	}
	return g
}

func (g *mskGapState) saveLocked() error { return saveGapFile(g.dir, mskGapsFile, g) }

// mskManagedKey is the AWS-managed KMS key aws/kafka, which encrypts the data of a cluster
// created without a key. kumo has no AWS-managed keys: the layer answers DescribeKey of this one
// (by ID, ARN or alias) itself and passes every other KMS request to kumo.
const mskManagedKey = "6f1d2a0e-7c1b-4e55-9a3e-0a5b2c4d6e8f"

var mskManagedKeyIDs = []string{mskManagedKey, "arn:aws:kms:" + mskRegion + ":" + mskAccount + ":key/" + mskManagedKey,
	"alias/aws/kafka", "arn:aws:kms:" + mskRegion + ":" + mskAccount + ":alias/aws/kafka"}

func init() {
	restOperations["kafka"] = func(*http.Request) string { return "kafka.Any" }
	gapHandlers["kafka.*"] = gapHandler{answer: mskAnswer}
	operationReaders["kms"] = kmsManagedKeyOperation
	gapHandlers["kms.DescribeManagedKey"] = gapHandler{answer: kmsDescribeManagedKey}
}

// kmsManagedKeyOperation names DescribeKey of the aws/kafka key; other KMS requests go to kumo.
func kmsManagedKeyOperation(r *http.Request) (string, []byte, error) {
	if !strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".DescribeKey") {
		return "", nil, nil
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return "", nil, err
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	var req struct {
		KeyID string `json:"KeyId"`
	}
	if json.Unmarshal(body, &req) == nil && slices.Contains(mskManagedKeyIDs, req.KeyID) {
		return "kms.DescribeManagedKey", body, nil
	}
	return "", body, nil
}

func kmsDescribeManagedKey(w http.ResponseWriter, _ *http.Request, _ *gapServer, _ []byte) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("x-amzn-RequestId", uuid.NewString())
	_ = json.NewEncoder(w).Encode(map[string]any{"KeyMetadata": map[string]any{
		"KeyId": mskManagedKey, "Arn": mskManagedKeyIDs[1], "AWSAccountId": mskAccount, "KeyManager": "AWS",
		"KeyState": "Enabled", "Enabled": true, "KeyUsage": "ENCRYPT_DECRYPT", "KeySpec": "SYMMETRIC_DEFAULT",
		"Origin": "AWS_KMS", "Description": "Default key that protects my MSK data when no other key is defined",
		"CreationDate": 1.7e9}})
}

type mskError struct {
	status int
	code   string
	msg    string
}

func mskErr(status int, code, format string, args ...any) *mskError {
	return &mskError{status, code, fmt.Sprintf(format, args...)}
}

func mskNotFound(arn string) *mskError {
	return mskErr(http.StatusNotFound, "NotFoundException", "The requested resource %s does not exist", arn)
}

// mskRoute names the operation of r and the path labels it carries (cluster ARN, topic name,
// operation ARN, resource ARN), unescaped.
func mskRoute(r *http.Request) (op string, labels []string) {
	p := r.URL.EscapedPath()
	seg := strings.Split(strings.Trim(p, "/"), "/")
	un := func(s string) string { v, _ := url.PathUnescape(s); return v }
	m := r.Method
	switch {
	case len(seg) == 3 && seg[0] == "api" && seg[1] == "v2" && seg[2] == "clusters":
		return map[string]string{"POST": "CreateClusterV2", "GET": "ListClustersV2"}[m], nil
	case len(seg) == 4 && seg[0] == "api" && seg[1] == "v2" && seg[2] == "clusters" && m == "GET":
		return "DescribeClusterV2", []string{un(seg[3])}
	case len(seg) == 5 && seg[0] == "api" && seg[1] == "v2" && seg[2] == "clusters" && seg[4] == "operations" && m == "GET":
		return "ListClusterOperationsV2", []string{un(seg[3])}
	case len(seg) == 4 && seg[0] == "api" && seg[1] == "v2" && seg[2] == "operations" && m == "GET":
		return "DescribeClusterOperationV2", []string{un(seg[3])}
	case len(seg) == 3 && seg[0] == "v1" && seg[1] == "tags":
		return map[string]string{"GET": "ListTagsForResource", "POST": "TagResource", "DELETE": "UntagResource"}[m], []string{un(seg[2])}
	case len(seg) >= 3 && seg[0] == "v1" && seg[1] == "clusters":
		arn := un(seg[2])
		switch rest := seg[3:]; {
		case len(rest) == 0:
			return map[string]string{"GET": "DescribeCluster", "DELETE": "DeleteCluster"}[m], []string{arn}
		case len(rest) == 1 && rest[0] == "bootstrap-brokers" && m == "GET":
			return "GetBootstrapBrokers", []string{arn}
		case len(rest) == 2 && rest[0] == "nodes" && m == "PUT":
			return map[string]string{"count": "UpdateBrokerCount", "storage": "UpdateBrokerStorage", "type": "UpdateBrokerType"}[rest[1]], []string{arn}
		case len(rest) == 1 && rest[0] == "version" && m == "PUT":
			return "UpdateClusterKafkaVersion", []string{arn}
		case len(rest) == 1 && rest[0] == "security" && m == "PATCH":
			return "UpdateSecurity", []string{arn}
		case len(rest) == 1 && rest[0] == "topics":
			return map[string]string{"POST": "CreateTopic", "GET": "ListTopics"}[m], []string{arn}
		case len(rest) == 2 && rest[0] == "topics":
			return map[string]string{"GET": "DescribeTopic", "PUT": "UpdateTopic", "DELETE": "DeleteTopic"}[m], []string{arn, un(rest[1])}
		}
	}
	return "", nil
}

type mskHandler func(g *mskGapState, r *http.Request, labels []string, body []byte) (any, *mskError)

var mskHandlers = map[string]mskHandler{
	"CreateClusterV2":            mskCreateCluster,
	"ListClustersV2":             mskListClusters,
	"DescribeClusterV2":          mskDescribeCluster,
	"DeleteCluster":              mskDeleteCluster,
	"GetBootstrapBrokers":        mskBootstrapBrokers,
	"ListClusterOperationsV2":    mskListOperations,
	"DescribeClusterOperationV2": mskDescribeOperation,
	"UpdateBrokerCount":          mskUpdate,
	"UpdateBrokerStorage":        mskUpdate,
	"UpdateBrokerType":           mskUpdate,
	"UpdateClusterKafkaVersion":  mskUpdate,
	"UpdateSecurity":             mskUpdate,
	"TagResource":                mskTagResource,
	"UntagResource":              mskUntagResource,
	"ListTagsForResource":        mskListTags,
	"CreateTopic":                mskCreateTopic,
	"ListTopics":                 mskListTopics,
	"DescribeTopic":              mskDescribeTopic,
	"UpdateTopic":                mskUpdateTopic,
	"DeleteTopic":                mskDeleteTopic,
}

func mskAnswer(w http.ResponseWriter, r *http.Request, _ *gapServer, _ []byte) {
	op, labels := mskRoute(r)
	h := mskHandlers[op]
	if h == nil {
		writeAPIGWError(w, http.StatusBadRequest, "UnknownOperationException",
			fmt.Sprintf("local aws: MSK %s %s is not emulated", r.Method, r.URL.Path))
		return
	}
	var body []byte
	if r.Body != nil {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			writeAPIGWError(w, http.StatusBadRequest, "BadRequestException", err.Error())
			return
		}
		body = b
	}
	g := mskGaps
	g.mu.Lock()
	defer g.mu.Unlock()
	g.settleLocked(time.Now())
	out, e := h(g, r, labels, body)
	if e != nil {
		writeAPIGWError(w, e.status, e.code, e.msg)
		return
	}
	if err := g.saveLocked(); err != nil {
		writeAPIGWError(w, http.StatusInternalServerError, "InternalServerErrorException", "local aws: "+err.Error())
		return
	}
	writeAPIGW(w, http.StatusOK, out)
}

// settleLocked completes what time has completed: operations (their change applied) and
// deletions (the cluster forgotten).
func (g *mskGapState) settleLocked(now time.Time) {
	for arn, c := range g.Clusters {
		if !c.Deleted.IsZero() && now.Sub(c.Deleted) >= mskDelay {
			delete(g.Clusters, arn)
			continue
		}
		for _, op := range c.Operations {
			if !op.Applied && now.Sub(op.Start) >= mskDelay {
				mergeJSON(c.Provisioned, op.Target)
				op.Applied = true
				c.Version++
			}
		}
	}
}

// mergeJSON writes src's keys into dst, recursively for objects.
func mergeJSON(dst, src map[string]any) {
	for k, v := range src {
		if sv, ok := v.(map[string]any); ok {
			if dv, ok := dst[k].(map[string]any); ok {
				mergeJSON(dv, sv)
				continue
			}
		}
		dst[k] = v
	}
}

func (c *mskCluster) state(now time.Time) string {
	switch {
	case !c.Deleted.IsZero():
		return "DELETING"
	case now.Sub(c.Created) < mskDelay:
		return "CREATING"
	case c.activeOperation() != nil:
		return "UPDATING"
	}
	return "ACTIVE"
}

func (c *mskCluster) activeOperation() *mskOperation {
	for _, op := range c.Operations {
		if !op.Applied {
			return op
		}
	}
	return nil
}

func (c *mskCluster) currentVersion() string { return "K" + strconv.Itoa(c.Version+1) }

func (c *mskCluster) info(now time.Time) map[string]any {
	out := map[string]any{"clusterArn": c.ARN, "clusterName": c.Name, "clusterType": c.Type,
		"state": c.state(now), "currentVersion": c.currentVersion(), "tags": c.Tags,
		"creationTime": c.Created.UTC().Format(time.RFC3339Nano)}
	if op := c.activeOperation(); op != nil {
		out["activeOperationArn"] = op.ARN
	}
	if c.Provisioned != nil {
		p := maps.Clone(c.Provisioned)
		if out["state"] != "CREATING" {
			p["zookeeperConnectString"] = c.hosts("z", 3, 2181)
		}
		out["provisioned"] = p
	}
	if c.Serverless != nil {
		out["serverless"] = c.Serverless
	}
	return out
}

// hosts are the cluster's broker (or ZooKeeper) host names on port.
func (c *mskCluster) hosts(prefix string, n, port int) string {
	h := fnv.New32a()
	h.Write([]byte(c.ARN))
	id := fmt.Sprintf("%06x", h.Sum32()&0xffffff)
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%d.%s.%s.c2.kafka.%s.amazonaws.com:%d", prefix, i+1, c.Name, id, mskRegion, port)
	}
	return strings.Join(out, ",")
}

func mskBody(body []byte, v any) *mskError {
	if len(body) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return mskErr(http.StatusBadRequest, "BadRequestException", "malformed request: %v", err)
	}
	return nil
}

func mskCreateCluster(g *mskGapState, _ *http.Request, _ []string, body []byte) (any, *mskError) {
	var req struct {
		ClusterName string            `json:"clusterName"`
		Tags        map[string]string `json:"tags"`
		Provisioned map[string]any    `json:"provisioned"`
		Serverless  map[string]any    `json:"serverless"`
	}
	if e := mskBody(body, &req); e != nil {
		return nil, e
	}
	if req.ClusterName == "" || (req.Provisioned == nil) == (req.Serverless == nil) {
		return nil, mskErr(http.StatusBadRequest, "BadRequestException", "clusterName and exactly one of provisioned and serverless are required")
	}
	for _, c := range g.Clusters {
		if c.Name == req.ClusterName {
			return nil, mskErr(http.StatusConflict, "ConflictException", "A cluster with name %s already exists", req.ClusterName)
		}
	}
	c := &mskCluster{Name: req.ClusterName, Created: time.Now(), Tags: req.Tags, Topics: map[string]*mskTopic{}}
	if c.Tags == nil {
		c.Tags = map[string]string{}
	}
	c.ARN = fmt.Sprintf("arn:aws:kafka:%s:%s:cluster/%s/%s-2", mskRegion, mskAccount, c.Name, uuid.NewString())
	if p := req.Provisioned; p != nil {
		c.Type = "PROVISIONED"
		bng, _ := p["brokerNodeGroupInfo"].(map[string]any)
		n, _ := p["numberOfBrokerNodes"].(float64)
		if bng == nil || n < 1 {
			return nil, mskErr(http.StatusBadRequest, "BadRequestException", "provisioned.brokerNodeGroupInfo and numberOfBrokerNodes are required")
		}
		subnets, _ := bng["clientSubnets"].([]any)
		if len(subnets) < 2 || int(n)%len(subnets) != 0 {
			return nil, mskErr(http.StatusBadRequest, "BadRequestException",
				"The number of broker nodes (%d) must be a multiple of the number of client subnets (%d), of which there must be at least 2", int(n), len(subnets))
		}
		v, _ := p["kafkaVersion"].(string)
		delete(p, "kafkaVersion")
		p["currentBrokerSoftwareInfo"] = map[string]any{"kafkaVersion": v}
		if _, ok := p["encryptionInfo"]; !ok {
			p["encryptionInfo"] = map[string]any{}
		}
		enc := p["encryptionInfo"].(map[string]any)
		if _, ok := enc["encryptionAtRest"]; !ok {
			enc["encryptionAtRest"] = map[string]any{"dataVolumeKMSKeyId": mskManagedKeyIDs[1]}
		}
		if _, ok := enc["encryptionInTransit"]; !ok {
			enc["encryptionInTransit"] = map[string]any{"clientBroker": "TLS", "inCluster": true}
		}
		c.Provisioned = p
	} else {
		c.Type = "SERVERLESS"
		if vpcs, _ := req.Serverless["vpcConfigs"].([]any); len(vpcs) == 0 {
			return nil, mskErr(http.StatusBadRequest, "BadRequestException", "serverless.vpcConfigs is required")
		}
		c.Serverless = req.Serverless
	}
	g.Clusters[c.ARN] = c
	return map[string]any{"clusterArn": c.ARN, "clusterName": c.Name, "state": "CREATING", "clusterType": c.Type}, nil
}

func mskListClusters(g *mskGapState, r *http.Request, _ []string, _ []byte) (any, *mskError) {
	q := r.URL.Query()
	now := time.Now()
	list := []any{}
	for _, arn := range slices.Sorted(maps.Keys(g.Clusters)) {
		c := g.Clusters[arn]
		if f := q.Get("clusterNameFilter"); f != "" && !strings.HasPrefix(c.Name, f) {
			continue
		}
		if f := q.Get("clusterTypeFilter"); f != "" && f != c.Type {
			continue
		}
		list = append(list, c.info(now))
	}
	return map[string]any{"clusterInfoList": list}, nil
}

func (g *mskGapState) cluster(arn string) (*mskCluster, *mskError) {
	c := g.Clusters[arn]
	if c == nil {
		return nil, mskNotFound(arn)
	}
	return c, nil
}

// activeCluster is the cluster arn when it is ACTIVE (MSK refuses changes otherwise).
func (g *mskGapState) activeCluster(arn string) (*mskCluster, *mskError) {
	c, e := g.cluster(arn)
	if e != nil {
		return nil, e
	}
	if s := c.state(time.Now()); s != "ACTIVE" {
		return nil, mskErr(http.StatusBadRequest, "BadRequestException", "The request is not valid because the cluster %s is in %s state; it must be ACTIVE", c.Name, s)
	}
	return c, nil
}

func mskDescribeCluster(g *mskGapState, _ *http.Request, l []string, _ []byte) (any, *mskError) {
	c, e := g.cluster(l[0])
	if e != nil {
		return nil, e
	}
	return map[string]any{"clusterInfo": c.info(time.Now())}, nil
}

func mskDeleteCluster(g *mskGapState, r *http.Request, l []string, _ []byte) (any, *mskError) {
	c, e := g.cluster(l[0])
	if e != nil {
		return nil, e
	}
	if v := r.URL.Query().Get("currentVersion"); v != "" && v != c.currentVersion() {
		return nil, mskErr(http.StatusBadRequest, "BadRequestException", "The cluster's current version is %s, not %s", c.currentVersion(), v)
	}
	if c.Deleted.IsZero() {
		c.Deleted = time.Now()
	}
	return map[string]any{"clusterArn": c.ARN, "state": "DELETING"}, nil
}

func mskBootstrapBrokers(g *mskGapState, _ *http.Request, l []string, _ []byte) (any, *mskError) {
	c, e := g.cluster(l[0])
	if e != nil {
		return nil, e
	}
	if s := c.state(time.Now()); s == "CREATING" || s == "DELETING" {
		return nil, mskErr(http.StatusBadRequest, "BadRequestException", "The cluster %s is in %s state and has no bootstrap brokers yet", c.Name, s)
	}
	if c.Serverless != nil {
		h := fnv.New32a()
		h.Write([]byte(c.ARN))
		return map[string]any{"bootstrapBrokerStringSaslIam": fmt.Sprintf("boot-%08x.c2.kafka-serverless.%s.amazonaws.com:9098", h.Sum32(), mskRegion)}, nil
	}
	p := c.Provisioned
	n := int(num(p["numberOfBrokerNodes"]))
	auth, _ := p["clientAuthentication"].(map[string]any)
	on := func(path ...string) bool {
		var v any = auth
		for _, k := range path {
			m, _ := v.(map[string]any)
			v = m[k]
		}
		b, _ := v.(bool)
		return b
	}
	unauth := auth == nil || on("unauthenticated", "enabled")
	clientBroker := "TLS"
	if enc, _ := p["encryptionInfo"].(map[string]any); enc != nil {
		if t, _ := enc["encryptionInTransit"].(map[string]any); t != nil {
			if s, _ := t["clientBroker"].(string); s != "" {
				clientBroker = s
			}
		}
	}
	out := map[string]any{}
	if clientBroker != "TLS" && unauth {
		out["bootstrapBrokerString"] = c.hosts("b", n, 9092)
	}
	if clientBroker != "PLAINTEXT" {
		if unauth || on("tls", "enabled") {
			out["bootstrapBrokerStringTls"] = c.hosts("b", n, 9094)
		}
		if on("sasl", "scram", "enabled") {
			out["bootstrapBrokerStringSaslScram"] = c.hosts("b", n, 9096)
		}
		if on("sasl", "iam", "enabled") {
			out["bootstrapBrokerStringSaslIam"] = c.hosts("b", n, 9098)
		}
	}
	return out, nil
}

func num(v any) float64 { f, _ := v.(float64); return f }

func (op *mskOperation) state(now time.Time) string {
	switch {
	case op.Applied:
		return "UPDATE_COMPLETE"
	case now.Sub(op.Start) < mskDelay/3:
		return "PENDING"
	}
	return "UPDATE_IN_PROGRESS"
}

func (c *mskCluster) opSummary(op *mskOperation, now time.Time) map[string]any {
	out := map[string]any{"clusterArn": c.ARN, "clusterType": c.Type, "operationArn": op.ARN,
		"operationState": op.state(now), "operationType": op.Type, "startTime": op.Start.UTC().Format(time.RFC3339Nano)}
	if op.Applied {
		out["endTime"] = op.Start.Add(mskDelay).UTC().Format(time.RFC3339Nano)
	}
	return out
}

func mskListOperations(g *mskGapState, _ *http.Request, l []string, _ []byte) (any, *mskError) {
	c, e := g.cluster(l[0])
	if e != nil {
		return nil, e
	}
	now := time.Now()
	list := []any{}
	for i := len(c.Operations) - 1; i >= 0; i-- {
		list = append(list, c.opSummary(c.Operations[i], now))
	}
	return map[string]any{"clusterOperationInfoList": list}, nil
}

func mskDescribeOperation(g *mskGapState, _ *http.Request, l []string, _ []byte) (any, *mskError) {
	now := time.Now()
	for _, c := range g.Clusters {
		for _, op := range c.Operations {
			if op.ARN == l[0] {
				info := c.opSummary(op, now)
				info["provisioned"] = map[string]any{"sourceClusterInfo": op.Source, "targetClusterInfo": op.Target}
				return map[string]any{"clusterOperationInfo": info}, nil
			}
		}
	}
	return nil, mskNotFound(l[0])
}

// mskUpdate starts one of the provisioned cluster updates: it checks the cluster is ACTIVE and
// the current version is the request's, then records the change as an operation.
func mskUpdate(g *mskGapState, r *http.Request, l []string, body []byte) (any, *mskError) {
	op, _ := mskRoute(r)
	c, e := g.activeCluster(l[0])
	if e != nil {
		return nil, e
	}
	if c.Provisioned == nil {
		return nil, mskErr(http.StatusBadRequest, "BadRequestException", "%s is not supported for serverless cluster %s", op, c.Name)
	}
	var req map[string]any
	if e := mskBody(body, &req); e != nil {
		return nil, e
	}
	if v, _ := req["currentVersion"].(string); v != c.currentVersion() {
		return nil, mskErr(http.StatusBadRequest, "BadRequestException", "The cluster's current version is %s, not %q", c.currentVersion(), v)
	}
	p := c.Provisioned
	bng, _ := p["brokerNodeGroupInfo"].(map[string]any)
	var source, target map[string]any
	bad := func(format string, args ...any) (any, *mskError) {
		return nil, mskErr(http.StatusBadRequest, "BadRequestException", format, args...)
	}
	switch op {
	case "UpdateBrokerCount":
		n, cur := num(req["targetNumberOfBrokerNodes"]), num(p["numberOfBrokerNodes"])
		subnets, _ := bng["clientSubnets"].([]any)
		switch {
		case n <= cur:
			return bad("The target number of broker nodes (%d) must be more than the current (%d): MSK cannot remove brokers", int(n), int(cur))
		case int(n)%len(subnets) != 0:
			return bad("The number of broker nodes (%d) must be a multiple of the number of client subnets (%d)", int(n), len(subnets))
		}
		source, target = map[string]any{"numberOfBrokerNodes": cur}, map[string]any{"numberOfBrokerNodes": n}
	case "UpdateBrokerStorage":
		vols, _ := req["targetBrokerEBSVolumeInfo"].([]any)
		if len(vols) != 1 {
			return bad("targetBrokerEBSVolumeInfo must have one entry (kafkaBrokerNodeId ALL)")
		}
		v, _ := vols[0].(map[string]any)
		size := num(v["volumeSizeGB"])
		si, _ := bng["storageInfo"].(map[string]any)
		ebs, _ := si["ebsStorageInfo"].(map[string]any)
		cur := num(ebs["volumeSize"])
		if v["kafkaBrokerNodeId"] != "ALL" || size <= cur {
			return bad("The target volume size (%d GiB) must be more than the current (%d GiB) for kafkaBrokerNodeId ALL: MSK cannot shrink storage", int(size), int(cur))
		}
		source = map[string]any{"brokerNodeGroupInfo": map[string]any{"storageInfo": map[string]any{"ebsStorageInfo": map[string]any{"volumeSize": cur}}}}
		target = map[string]any{"brokerNodeGroupInfo": map[string]any{"storageInfo": map[string]any{"ebsStorageInfo": map[string]any{"volumeSize": size}}}}
	case "UpdateBrokerType":
		t, _ := req["targetInstanceType"].(string)
		if t == "" || t == bng["instanceType"] {
			return bad("targetInstanceType %q must differ from the current %v", t, bng["instanceType"])
		}
		source = map[string]any{"brokerNodeGroupInfo": map[string]any{"instanceType": bng["instanceType"]}}
		target = map[string]any{"brokerNodeGroupInfo": map[string]any{"instanceType": t}}
	case "UpdateClusterKafkaVersion":
		v, _ := req["targetKafkaVersion"].(string)
		sw, _ := p["currentBrokerSoftwareInfo"].(map[string]any)
		if v == "" || v == sw["kafkaVersion"] {
			return bad("targetKafkaVersion %q must differ from the current %v", v, sw["kafkaVersion"])
		}
		source = map[string]any{"currentBrokerSoftwareInfo": map[string]any{"kafkaVersion": sw["kafkaVersion"]}}
		target = map[string]any{"currentBrokerSoftwareInfo": map[string]any{"kafkaVersion": v}}
	case "UpdateSecurity":
		source, target = map[string]any{}, map[string]any{}
		for _, k := range []string{"clientAuthentication", "encryptionInfo"} {
			if v, ok := req[k]; ok {
				source[k], target[k] = p[k], v
			}
		}
		if len(target) == 0 {
			return bad("UpdateSecurity needs clientAuthentication or encryptionInfo")
		}
	}
	o := &mskOperation{ARN: fmt.Sprintf("arn:aws:kafka:%s:%s:cluster-operation/%s/%s", mskRegion, mskAccount, c.Name, uuid.NewString()),
		Type: map[string]string{"UpdateBrokerCount": "INCREASE_BROKER_COUNT", "UpdateBrokerStorage": "UPDATE_BROKER_STORAGE",
			"UpdateBrokerType": "UPDATE_BROKER_TYPE", "UpdateClusterKafkaVersion": "UPDATE_CLUSTER_KAFKA_VERSION", "UpdateSecurity": "UPDATE_SECURITY"}[op],
		Start: time.Now(), Source: source, Target: target}
	c.Operations = append(c.Operations, o)
	return map[string]any{"clusterArn": c.ARN, "clusterOperationArn": o.ARN}, nil
}

func (g *mskGapState) tagged(arn string) (*mskCluster, *mskError) {
	c := g.Clusters[arn]
	if c == nil || !c.Deleted.IsZero() {
		return nil, mskNotFound(arn)
	}
	return c, nil
}

func mskTagResource(g *mskGapState, _ *http.Request, l []string, body []byte) (any, *mskError) {
	c, e := g.tagged(l[0])
	if e != nil {
		return nil, e
	}
	var req struct {
		Tags map[string]string `json:"tags"`
	}
	if e := mskBody(body, &req); e != nil {
		return nil, e
	}
	maps.Copy(c.Tags, req.Tags)
	return map[string]any{}, nil
}

func mskUntagResource(g *mskGapState, r *http.Request, l []string, _ []byte) (any, *mskError) {
	c, e := g.tagged(l[0])
	if e != nil {
		return nil, e
	}
	for _, k := range r.URL.Query()["tagKeys"] {
		delete(c.Tags, k)
	}
	return map[string]any{}, nil
}

func mskListTags(g *mskGapState, _ *http.Request, l []string, _ []byte) (any, *mskError) {
	c, e := g.tagged(l[0])
	if e != nil {
		return nil, e
	}
	return map[string]any{"tags": c.Tags}, nil
}

// Topics.

func topicARN(c *mskCluster, name string) string {
	_, rest, _ := strings.Cut(c.ARN, ":cluster/")
	return fmt.Sprintf("arn:aws:kafka:%s:%s:topic/%s/%s", mskRegion, mskAccount, rest, name)
}

func (t *mskTopic) status(now time.Time) string {
	switch {
	case now.Sub(t.Changed) >= mskDelay:
		return "ACTIVE"
	case t.Created:
		return "CREATING"
	}
	return "UPDATING"
}

// mskConfigs decodes a topic's configs: base64 of a JSON object of strings.
func mskConfigs(s string) (map[string]string, *mskError) {
	out := map[string]string{}
	if s == "" {
		return out, nil
	}
	raw, err := base64.StdEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(raw, &out)
	}
	if err != nil {
		return nil, mskErr(http.StatusBadRequest, "BadRequestException", "configs must be a base64 JSON object of strings: %v", err)
	}
	return out, nil
}

func encodeConfigs(m map[string]string) string {
	b, _ := json.Marshal(m)
	return base64.StdEncoding.EncodeToString(b)
}

func mskCreateTopic(g *mskGapState, _ *http.Request, l []string, body []byte) (any, *mskError) {
	c, e := g.activeCluster(l[0])
	if e != nil {
		return nil, e
	}
	var req struct {
		TopicName         string `json:"topicName"`
		PartitionCount    int    `json:"partitionCount"`
		ReplicationFactor int    `json:"replicationFactor"`
		Configs           string `json:"configs"`
	}
	if e := mskBody(body, &req); e != nil {
		return nil, e
	}
	if req.TopicName == "" || req.PartitionCount < 1 || req.ReplicationFactor < 1 {
		return nil, mskErr(http.StatusBadRequest, "BadRequestException", "topicName, partitionCount (≥1) and replicationFactor (≥1) are required")
	}
	if c.Provisioned != nil {
		if n := int(num(c.Provisioned["numberOfBrokerNodes"])); req.ReplicationFactor > n {
			return nil, mskErr(http.StatusBadRequest, "BadRequestException", "Replication factor: %d larger than available brokers: %d", req.ReplicationFactor, n)
		}
	}
	if _, ok := c.Topics[req.TopicName]; ok {
		return nil, mskErr(http.StatusConflict, "ConflictException", "Topic '%s' already exists", req.TopicName)
	}
	cfg, e := mskConfigs(req.Configs)
	if e != nil {
		return nil, e
	}
	c.Topics[req.TopicName] = &mskTopic{Partitions: req.PartitionCount, Replication: req.ReplicationFactor, Configs: cfg, Changed: time.Now(), Created: true}
	return map[string]any{"topicArn": topicARN(c, req.TopicName), "topicName": req.TopicName, "status": "CREATING"}, nil
}

func (g *mskGapState) topic(l []string) (*mskCluster, *mskTopic, *mskError) {
	c, e := g.cluster(l[0])
	if e != nil {
		return nil, nil, e
	}
	t := c.Topics[l[1]]
	if t == nil || !c.Deleted.IsZero() {
		return nil, nil, mskErr(http.StatusNotFound, "NotFoundException", "Topic %s does not exist on cluster %s", l[1], c.Name)
	}
	return c, t, nil
}

func mskDescribeTopic(g *mskGapState, _ *http.Request, l []string, _ []byte) (any, *mskError) {
	c, t, e := g.topic(l)
	if e != nil {
		return nil, e
	}
	return map[string]any{"topicArn": topicARN(c, l[1]), "topicName": l[1], "partitionCount": t.Partitions,
		"replicationFactor": t.Replication, "configs": encodeConfigs(t.Configs), "status": t.status(time.Now())}, nil
}

func mskListTopics(g *mskGapState, r *http.Request, l []string, _ []byte) (any, *mskError) {
	c, e := g.cluster(l[0])
	if e != nil {
		return nil, e
	}
	list := []any{}
	for _, name := range slices.Sorted(maps.Keys(c.Topics)) {
		if f := r.URL.Query().Get("topicNameFilter"); f != "" && !strings.HasPrefix(name, f) {
			continue
		}
		t := c.Topics[name]
		list = append(list, map[string]any{"topicArn": topicARN(c, name), "topicName": name, "partitionCount": t.Partitions,
			"replicationFactor": t.Replication, "outOfSyncReplicaCount": 0})
	}
	return map[string]any{"topics": list}, nil
}

func mskUpdateTopic(g *mskGapState, _ *http.Request, l []string, body []byte) (any, *mskError) {
	c, t, e := g.topic(l)
	if e != nil {
		return nil, e
	}
	var req struct {
		PartitionCount *int    `json:"partitionCount"`
		Configs        *string `json:"configs"`
	}
	if e := mskBody(body, &req); e != nil {
		return nil, e
	}
	if t.status(time.Now()) != "ACTIVE" {
		return nil, mskErr(http.StatusBadRequest, "BadRequestException", "Topic %s is %s; wait until it is ACTIVE", l[1], t.status(time.Now()))
	}
	if p := req.PartitionCount; p != nil {
		if *p < t.Partitions {
			return nil, mskErr(http.StatusBadRequest, "BadRequestException", "Topic currently has %d partitions, which is higher than the requested %d", t.Partitions, *p)
		}
		t.Partitions = *p
	}
	if req.Configs != nil {
		cfg, e := mskConfigs(*req.Configs)
		if e != nil {
			return nil, e
		}
		t.Configs = cfg
	}
	t.Changed, t.Created = time.Now(), false
	return map[string]any{"topicArn": topicARN(c, l[1]), "topicName": l[1], "status": "UPDATING"}, nil
}

func mskDeleteTopic(g *mskGapState, _ *http.Request, l []string, _ []byte) (any, *mskError) {
	c, _, e := g.topic(l)
	if e != nil {
		return nil, e
	}
	delete(c.Topics, l[1])
	return map[string]any{"topicArn": topicARN(c, l[1]), "topicName": l[1], "status": "DELETING"}, nil
}
