package localaws

import (
	"cmp"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// ---------------------------------------------------------------------------------------------
// EFS. Kumo v0.33.1 has no Elastic File System at all (every request of the service answers
// 404). The layer owns it whole: file systems (performance and throughput modes, encryption,
// lifecycle configuration, backup policy), mount targets with their security groups, access
// points and tags, from its own state; kumo's EFS is never asked. Requests are REST (restjson1)
// under /2015-02-01/: the operation is told by method and path, and one the layer does not
// emulate fails with a 501 naming it.
//
// What is simulated: a file system is creating for efsDelay after CreateFileSystem
// (PANKA_LOCALAWS_EFS_DELAY, default 300ms), then available; a mount target likewise creating
// then available, and deleting then gone after DeleteMountTarget; a file system deleting then
// gone after DeleteFileSystem (its access points go with it). CreateFileSystem of a creation
// token that exists answers FileSystemAlreadyExists with its ID, as EFS does. Mount targets are
// checked as EFS does: the file system available (IncorrectFileSystemLifeCycleState), the subnet
// known to kumo's EC2 (SubnetNotFound), at most one per availability zone (MountTargetConflict),
// one to five security groups known to kumo's EC2 in the subnet's VPC (SecurityGroupNotFound,
// SecurityGroupLimitExceeded, SecurityGroupMismatch); a mount target without security groups
// (EFS: the VPC's default group) is not emulated (BadRequest). DeleteFileSystem is refused while
// mount targets remain (FileSystemInUse). No data is stored, no network interface is made (a
// mount target names one), and a security group a mount target uses can still be deleted.

const efsGapsFile = "panka-gaps-efs.json"

const efsDelayDefault = 300 * time.Millisecond

// efsDelay is how long a file system or mount target is creating (and deleting).
var efsDelay = func() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("PANKA_LOCALAWS_EFS_DELAY")); err == nil && d > 0 {
		return d
	}
	return efsDelayDefault
}()

// EFSDelay is how long a file system or mount target of this process's local AWS is creating
// or deleting (PANKA_LOCALAWS_EFS_DELAY, else 300ms).
func EFSDelay() time.Duration { return efsDelay }

type efsTag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

type efsFileSystem struct {
	ID              string              `json:"id"`
	Region          string              `json:"region"`
	CreationToken   string              `json:"creationToken"`
	Created         time.Time           `json:"created"`
	Deleted         time.Time           `json:"deleted,omitzero"`
	PerformanceMode string              `json:"performanceMode"`
	ThroughputMode  string              `json:"throughputMode"`
	Provisioned     float64             `json:"provisioned,omitempty"`
	Encrypted       bool                `json:"encrypted"`
	KMSKey          string              `json:"kmsKey,omitempty"`
	Tags            []efsTag            `json:"tags,omitempty"`
	Lifecycle       []map[string]string `json:"lifecycle,omitempty"`
	Backup          string              `json:"backup"`
}

func (f *efsFileSystem) state(now time.Time) string {
	switch {
	case !f.Deleted.IsZero() && now.Sub(f.Deleted) >= efsDelay:
		return "deleted"
	case !f.Deleted.IsZero():
		return "deleting"
	case now.Sub(f.Created) >= efsDelay:
		return "available"
	}
	return "creating"
}

func (f *efsFileSystem) arn() string {
	return fmt.Sprintf("arn:aws:elasticfilesystem:%s:%s:file-system/%s", f.Region, stsAccount, f.ID)
}

type efsMountTarget struct {
	ID             string    `json:"id"`
	FileSystemID   string    `json:"fileSystemId"`
	SubnetID       string    `json:"subnetId"`
	VpcID          string    `json:"vpcId"`
	Zone           string    `json:"zone"`
	IP             string    `json:"ip"`
	SecurityGroups []string  `json:"securityGroups"`
	Created        time.Time `json:"created"`
	Deleted        time.Time `json:"deleted,omitzero"`
}

func (m *efsMountTarget) state(now time.Time) string {
	switch {
	case !m.Deleted.IsZero() && now.Sub(m.Deleted) >= efsDelay:
		return "deleted"
	case !m.Deleted.IsZero():
		return "deleting"
	case now.Sub(m.Created) >= efsDelay:
		return "available"
	}
	return "creating"
}

type efsAccessPoint struct {
	ID           string         `json:"id"`
	FileSystemID string         `json:"fileSystemId"`
	ClientToken  string         `json:"clientToken"`
	PosixUser    map[string]any `json:"posixUser,omitempty"`
	Root         map[string]any `json:"rootDirectory"`
	Tags         []efsTag       `json:"tags,omitempty"`
}

type efsGapState struct {
	mu           sync.Mutex
	dir          string
	FileSystems  map[string]*efsFileSystem  `json:"fileSystems"`
	MountTargets map[string]*efsMountTarget `json:"mountTargets"`
	AccessPoints map[string]*efsAccessPoint `json:"accessPoints"`
}

var efsGaps = newEFSGapState(os.Getenv("KUMO_DATA_DIR"))

func newEFSGapState(dir string) *efsGapState {
	g := &efsGapState{dir: dir}
	loadGapFile(dir, efsGapsFile, g)
	if g.FileSystems == nil {
		g.FileSystems = map[string]*efsFileSystem{}
	}
	if g.MountTargets == nil {
		g.MountTargets = map[string]*efsMountTarget{}
	}
	if g.AccessPoints == nil {
		g.AccessPoints = map[string]*efsAccessPoint{}
	}
	return g
}

// gcLocked forgets what has finished deleting at now.
func (g *efsGapState) gcLocked(now time.Time) {
	for id, m := range g.MountTargets {
		if m.state(now) == "deleted" {
			delete(g.MountTargets, id)
		}
	}
	for id, f := range g.FileSystems {
		if f.state(now) == "deleted" {
			delete(g.FileSystems, id)
		}
	}
}

// efsError is an EFS error answer.
type efsError struct {
	status     int
	code, msg  string
	fileSystem string // FileSystemAlreadyExists: the existing one
}

func (e *efsError) Error() string { return e.code + ": " + e.msg }

func efsErrorf(status int, code, format string, args ...any) *efsError {
	return &efsError{status: status, code: code, msg: fmt.Sprintf(format, args...)}
}

func efsFSNotFound(id string) *efsError {
	return efsErrorf(http.StatusNotFound, "FileSystemNotFound", "File system '%s' does not exist.", id)
}

// efsRequest is one EFS request: its path segments after /2015-02-01/, query and body.
type efsRequest struct {
	ctx    context.Context
	s      *gapServer
	region string
	seg    []string
	query  url.Values
	body   []byte
}

// efsOp answers one operation under the state's lock at now: the status and document to answer
// with, and whether it changed the state.
type efsOp func(g *efsGapState, now time.Time, r efsRequest) (status int, out any, changed bool, err error)

// efsOps are the operations the layer emulates, by name.
var efsOps = map[string]efsOp{
	"CreateFileSystem":                  efsCreateFileSystem,
	"DescribeFileSystems":               efsDescribeFileSystems,
	"UpdateFileSystem":                  efsUpdateFileSystem,
	"DeleteFileSystem":                  efsDeleteFileSystem,
	"PutLifecycleConfiguration":         efsPutLifecycle,
	"DescribeLifecycleConfiguration":    efsDescribeLifecycle,
	"PutBackupPolicy":                   efsPutBackupPolicy,
	"DescribeBackupPolicy":              efsDescribeBackupPolicy,
	"CreateMountTarget":                 efsCreateMountTarget,
	"DescribeMountTargets":              efsDescribeMountTargets,
	"DeleteMountTarget":                 efsDeleteMountTarget,
	"DescribeMountTargetSecurityGroups": efsDescribeMountTargetSecurityGroups,
	"ModifyMountTargetSecurityGroups":   efsModifyMountTargetSecurityGroups,
	"CreateAccessPoint":                 efsCreateAccessPoint,
	"DescribeAccessPoints":              efsDescribeAccessPoints,
	"DeleteAccessPoint":                 efsDeleteAccessPoint,
	"TagResource":                       efsTagResource,
	"UntagResource":                     efsUntagResource,
	"ListTagsForResource":               efsListTagsForResource,
}

// efsRoutes name the operations by method and path shape ("*" matches one segment).
var efsRoutes = []struct{ method, path, op string }{
	{"POST", "file-systems", "CreateFileSystem"},
	{"GET", "file-systems", "DescribeFileSystems"},
	{"PUT", "file-systems/*", "UpdateFileSystem"},
	{"DELETE", "file-systems/*", "DeleteFileSystem"},
	{"PUT", "file-systems/*/lifecycle-configuration", "PutLifecycleConfiguration"},
	{"GET", "file-systems/*/lifecycle-configuration", "DescribeLifecycleConfiguration"},
	{"PUT", "file-systems/*/backup-policy", "PutBackupPolicy"},
	{"GET", "file-systems/*/backup-policy", "DescribeBackupPolicy"},
	{"POST", "mount-targets", "CreateMountTarget"},
	{"GET", "mount-targets", "DescribeMountTargets"},
	{"DELETE", "mount-targets/*", "DeleteMountTarget"},
	{"GET", "mount-targets/*/security-groups", "DescribeMountTargetSecurityGroups"},
	{"PUT", "mount-targets/*/security-groups", "ModifyMountTargetSecurityGroups"},
	{"POST", "access-points", "CreateAccessPoint"},
	{"GET", "access-points", "DescribeAccessPoints"},
	{"DELETE", "access-points/*", "DeleteAccessPoint"},
	{"POST", "resource-tags/*", "TagResource"},
	{"DELETE", "resource-tags/*", "UntagResource"},
	{"GET", "resource-tags/*", "ListTagsForResource"},
}

// efsRoute returns the operation of r and its path segments ("" when it is none of efsRoutes).
func efsRoute(r *http.Request) (string, []string) {
	p, ok := strings.CutPrefix(r.URL.EscapedPath(), "/2015-02-01/")
	if !ok {
		return "", nil
	}
	seg := strings.Split(strings.TrimSuffix(p, "/"), "/")
	for i, s := range seg {
		seg[i], _ = url.PathUnescape(s)
	}
	for _, rt := range efsRoutes {
		want := strings.Split(rt.path, "/")
		if rt.method != r.Method || len(want) != len(seg) {
			continue
		}
		match := true
		for i, w := range want {
			if w != "*" && w != seg[i] {
				match = false
				break
			}
		}
		if match {
			return rt.op, seg
		}
	}
	return "", seg
}

func init() {
	// Every EFS request is the layer's: name it without reading the body.
	restOperations["elasticfilesystem"] = func(r *http.Request) string {
		if op, _ := efsRoute(r); op != "" {
			return "elasticfilesystem." + op
		}
		return "elasticfilesystem.UnknownOperation"
	}
	for op := range efsOps {
		gapHandlers["elasticfilesystem."+op] = gapHandler{answer: efsAnswer}
	}
	gapHandlers["elasticfilesystem.UnknownOperation"] = gapHandler{answer: efsAnswer}
}

func efsAnswer(w http.ResponseWriter, r *http.Request, s *gapServer, _ []byte) {
	name, seg := efsRoute(r)
	op := efsOps[name]
	if op == nil {
		writeEFSError(w, efsErrorf(http.StatusNotImplemented, "NotImplemented",
			"local aws: EFS %s %s is not emulated (the layer answers all of EFS and only what a deployer of file systems uses)", r.Method, r.URL.Path))
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeEFSError(w, efsErrorf(http.StatusBadRequest, "BadRequest", "local aws: %v", err))
		return
	}
	req := efsRequest{ctx: r.Context(), s: s, region: cmp.Or(signingRegion(r.Header.Get("Authorization")), "us-east-1"), seg: seg, query: r.URL.Query(), body: body}
	if name == "CreateMountTarget" || name == "ModifyMountTargetSecurityGroups" {
		// Ask kumo's EC2 about the subnet and groups before taking the lock.
		if err := req.network(); err != nil {
			writeEFSError(w, err)
			return
		}
	}
	g := efsGaps
	g.mu.Lock()
	now := time.Now()
	g.gcLocked(now)
	status, out, changed, err := op(g, now, req)
	if err == nil && changed {
		err = saveGapFile(g.dir, efsGapsFile, g)
	}
	g.mu.Unlock()
	if err != nil {
		writeEFSError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("x-amzn-RequestId", uuid.NewString())
	w.WriteHeader(status)
	if out != nil {
		_ = json.NewEncoder(w).Encode(out)
	}
}

// writeEFSError answers err as EFS does (ErrorCode and Message, the code in x-amzn-ErrorType).
func writeEFSError(w http.ResponseWriter, err error) {
	e, ok := err.(*efsError)
	if !ok {
		e = efsErrorf(http.StatusInternalServerError, "InternalServerError", "local aws: %v", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("x-amzn-ErrorType", e.code)
	w.Header().Set("x-amzn-RequestId", uuid.NewString())
	w.WriteHeader(e.status)
	doc := map[string]string{"ErrorCode": e.code, "Message": e.msg}
	if e.fileSystem != "" {
		doc["FileSystemId"] = e.fileSystem
	}
	_ = json.NewEncoder(w).Encode(doc)
}

// signingRegion returns the region of a SigV4 Authorization header's credential scope.
func signingRegion(auth string) string {
	_, cred, ok := strings.Cut(auth, "Credential=")
	if !ok {
		return ""
	}
	cred, _, _ = strings.Cut(cred, ",")
	if parts := strings.Split(cred, "/"); len(parts) == 5 {
		return parts[2]
	}
	return ""
}

func efsDecode(body []byte, v any) error {
	if len(body) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return efsErrorf(http.StatusBadRequest, "BadRequest", "local aws: malformed request: %v", err)
	}
	return nil
}

// ---- file systems

func (f *efsFileSystem) name() string {
	for _, t := range f.Tags {
		if t.Key == "Name" {
			return t.Value
		}
	}
	return ""
}

func (g *efsGapState) fsJSON(f *efsFileSystem, now time.Time) map[string]any {
	n := 0
	for _, m := range g.MountTargets {
		if m.FileSystemID == f.ID && m.Deleted.IsZero() {
			n++
		}
	}
	doc := map[string]any{
		"FileSystemId": f.ID, "FileSystemArn": f.arn(), "CreationToken": f.CreationToken, "OwnerId": stsAccount,
		"CreationTime": float64(f.Created.Unix()), "LifeCycleState": f.state(now), "NumberOfMountTargets": n,
		"PerformanceMode": f.PerformanceMode, "ThroughputMode": f.ThroughputMode, "Encrypted": f.Encrypted,
		"SizeInBytes":          map[string]any{"Value": 6144, "ValueInStandard": 6144, "ValueInIA": 0, "ValueInArchive": 0},
		"Tags":                 orEmpty(f.Tags),
		"FileSystemProtection": map[string]any{"ReplicationOverwriteProtection": "ENABLED"},
	}
	if name := f.name(); name != "" {
		doc["Name"] = name
	}
	if f.KMSKey != "" {
		doc["KmsKeyId"] = f.KMSKey
	}
	if f.ThroughputMode == "provisioned" {
		doc["ProvisionedThroughputInMibps"] = f.Provisioned
	}
	return doc
}

// efsKMSDefault is the key an encrypted file system without one gets: EFS's AWS-managed key.
func efsKMSDefault(region string) string {
	return fmt.Sprintf("arn:aws:kms:%s:%s:key/aws-elasticfilesystem-default", region, stsAccount)
}

func efsCreateFileSystem(g *efsGapState, now time.Time, r efsRequest) (int, any, bool, error) {
	var in struct {
		CreationToken                string
		PerformanceMode              string
		ThroughputMode               string
		ProvisionedThroughputInMibps *float64
		Encrypted                    *bool
		KmsKeyId                     string
		Backup                       *bool
		AvailabilityZoneName         string
		Tags                         []efsTag
	}
	if err := efsDecode(r.body, &in); err != nil {
		return 0, nil, false, err
	}
	if in.CreationToken == "" || len(in.CreationToken) > 64 {
		return 0, nil, false, efsErrorf(http.StatusBadRequest, "BadRequest", "CreationToken must be 1 to 64 characters.")
	}
	if in.AvailabilityZoneName != "" {
		return 0, nil, false, efsErrorf(http.StatusNotImplemented, "NotImplemented", "local aws: One Zone file systems are not emulated")
	}
	for _, f := range g.FileSystems {
		if f.CreationToken == in.CreationToken && f.Region == r.region && f.Deleted.IsZero() {
			e := efsErrorf(http.StatusConflict, "FileSystemAlreadyExists", "File system '%s' already exists with creation token '%s'", f.ID, f.CreationToken)
			e.fileSystem = f.ID
			return 0, nil, false, e
		}
	}
	f := &efsFileSystem{
		ID: ec2ID("fs"), Region: r.region, CreationToken: in.CreationToken, Created: now,
		PerformanceMode: cmp.Or(in.PerformanceMode, "generalPurpose"), ThroughputMode: cmp.Or(in.ThroughputMode, "bursting"),
		Encrypted: in.Encrypted != nil && *in.Encrypted, Tags: in.Tags, Backup: "DISABLED",
	}
	if err := efsCheckThroughput(f, in.ThroughputMode, in.ProvisionedThroughputInMibps); err != nil {
		return 0, nil, false, err
	}
	if !slices.Contains([]string{"generalPurpose", "maxIO"}, f.PerformanceMode) {
		return 0, nil, false, efsErrorf(http.StatusBadRequest, "BadRequest", "PerformanceMode %q is not valid.", f.PerformanceMode)
	}
	if f.ThroughputMode == "elastic" && f.PerformanceMode == "maxIO" {
		return 0, nil, false, efsErrorf(http.StatusBadRequest, "BadRequest", "Elastic throughput mode is not supported with maxIO performance mode.")
	}
	switch {
	case in.KmsKeyId != "" && !f.Encrypted:
		return 0, nil, false, efsErrorf(http.StatusBadRequest, "BadRequest", "KmsKeyId requires Encrypted to be true.")
	case in.KmsKeyId != "":
		f.KMSKey = in.KmsKeyId
	case f.Encrypted:
		f.KMSKey = efsKMSDefault(r.region)
	}
	if in.Backup != nil && *in.Backup {
		f.Backup = "ENABLED"
	}
	g.FileSystems[f.ID] = f
	return http.StatusCreated, g.fsJSON(f, now), true, nil
}

// efsCheckThroughput sets f's throughput mode and provisioned throughput as EFS checks them.
func efsCheckThroughput(f *efsFileSystem, mode string, provisioned *float64) error {
	if mode != "" {
		f.ThroughputMode = mode
	}
	if !slices.Contains([]string{"bursting", "provisioned", "elastic"}, f.ThroughputMode) {
		return efsErrorf(http.StatusBadRequest, "BadRequest", "ThroughputMode %q is not valid.", f.ThroughputMode)
	}
	switch {
	case f.ThroughputMode == "provisioned" && provisioned == nil && f.Provisioned == 0:
		return efsErrorf(http.StatusBadRequest, "BadRequest", "ProvisionedThroughputInMibps is required with throughput mode provisioned.")
	case f.ThroughputMode == "provisioned" && provisioned != nil:
		if *provisioned < 1 || *provisioned > 3414 {
			return efsErrorf(http.StatusBadRequest, "BadRequest", "ProvisionedThroughputInMibps must be between 1 and 3414.")
		}
		f.Provisioned = *provisioned
	case f.ThroughputMode != "provisioned" && provisioned != nil:
		return efsErrorf(http.StatusBadRequest, "BadRequest", "ProvisionedThroughputInMibps can only be set with throughput mode provisioned.")
	case f.ThroughputMode != "provisioned":
		f.Provisioned = 0
	}
	return nil
}

// fs returns the file system id that is not deleted, or FileSystemNotFound.
func (g *efsGapState) fs(id string) (*efsFileSystem, error) {
	f := g.FileSystems[id]
	if f == nil || !f.Deleted.IsZero() {
		return nil, efsFSNotFound(id)
	}
	return f, nil
}

// availableFS returns the file system id if it is available.
func (g *efsGapState) availableFS(id string, now time.Time) (*efsFileSystem, error) {
	f, err := g.fs(id)
	if err != nil {
		return nil, err
	}
	if st := f.state(now); st != "available" {
		return nil, efsErrorf(http.StatusConflict, "IncorrectFileSystemLifeCycleState", "File system '%s' is %s, not available.", id, st)
	}
	return f, nil
}

func efsDescribeFileSystems(g *efsGapState, now time.Time, r efsRequest) (int, any, bool, error) {
	id, token := r.query.Get("FileSystemId"), r.query.Get("CreationToken")
	if id != "" {
		if g.FileSystems[id] == nil {
			return 0, nil, false, efsFSNotFound(id)
		}
	}
	out := []map[string]any{}
	for _, fid := range slices.Sorted(maps.Keys(g.FileSystems)) {
		f := g.FileSystems[fid]
		if f.Region != r.region || (id != "" && fid != id) || (token != "" && f.CreationToken != token) {
			continue
		}
		out = append(out, g.fsJSON(f, now))
	}
	return http.StatusOK, map[string]any{"FileSystems": out}, false, nil
}

func efsUpdateFileSystem(g *efsGapState, now time.Time, r efsRequest) (int, any, bool, error) {
	f, err := g.availableFS(r.seg[1], now)
	if err != nil {
		return 0, nil, false, err
	}
	var in struct {
		ThroughputMode               string
		ProvisionedThroughputInMibps *float64
	}
	if err := efsDecode(r.body, &in); err != nil {
		return 0, nil, false, err
	}
	next := *f
	if err := efsCheckThroughput(&next, in.ThroughputMode, in.ProvisionedThroughputInMibps); err != nil {
		return 0, nil, false, err
	}
	if next.ThroughputMode == "elastic" && next.PerformanceMode == "maxIO" {
		return 0, nil, false, efsErrorf(http.StatusBadRequest, "BadRequest", "Elastic throughput mode is not supported with maxIO performance mode.")
	}
	*f = next
	return http.StatusAccepted, g.fsJSON(f, now), true, nil
}

func efsDeleteFileSystem(g *efsGapState, now time.Time, r efsRequest) (int, any, bool, error) {
	f, err := g.fs(r.seg[1])
	if err != nil {
		return 0, nil, false, err
	}
	for _, m := range g.MountTargets {
		if m.FileSystemID == f.ID {
			return 0, nil, false, efsErrorf(http.StatusConflict, "FileSystemInUse", "File system '%s' has mount targets; delete them first.", f.ID)
		}
	}
	for id, ap := range g.AccessPoints {
		if ap.FileSystemID == f.ID {
			delete(g.AccessPoints, id)
		}
	}
	f.Deleted = now
	return http.StatusNoContent, nil, true, nil
}

var efsTransitions = map[string][]string{
	"TransitionToIA":                  {"AFTER_1_DAY", "AFTER_7_DAYS", "AFTER_14_DAYS", "AFTER_30_DAYS", "AFTER_60_DAYS", "AFTER_90_DAYS", "AFTER_180_DAYS", "AFTER_270_DAYS", "AFTER_365_DAYS"},
	"TransitionToArchive":             {"AFTER_1_DAY", "AFTER_7_DAYS", "AFTER_14_DAYS", "AFTER_30_DAYS", "AFTER_60_DAYS", "AFTER_90_DAYS", "AFTER_180_DAYS", "AFTER_270_DAYS", "AFTER_365_DAYS"},
	"TransitionToPrimaryStorageClass": {"AFTER_1_ACCESS"},
}

func efsPutLifecycle(g *efsGapState, now time.Time, r efsRequest) (int, any, bool, error) {
	f, err := g.availableFS(r.seg[1], now)
	if err != nil {
		return 0, nil, false, err
	}
	var in struct{ LifecyclePolicies []map[string]string }
	if err := efsDecode(r.body, &in); err != nil {
		return 0, nil, false, err
	}
	seen := map[string]bool{}
	for _, p := range in.LifecyclePolicies {
		if len(p) != 1 {
			return 0, nil, false, efsErrorf(http.StatusBadRequest, "BadRequest", "Each lifecycle policy must have exactly one transition.")
		}
		for k, v := range p {
			if !slices.Contains(efsTransitions[k], v) || seen[k] {
				return 0, nil, false, efsErrorf(http.StatusBadRequest, "BadRequest", "Lifecycle policy %s=%s is not valid or repeated.", k, v)
			}
			seen[k] = true
		}
	}
	if seen["TransitionToArchive"] && f.ThroughputMode != "elastic" {
		return 0, nil, false, efsErrorf(http.StatusBadRequest, "BadRequest", "TransitionToArchive requires elastic throughput.")
	}
	f.Lifecycle = in.LifecyclePolicies
	return http.StatusOK, map[string]any{"LifecyclePolicies": orEmpty(f.Lifecycle)}, true, nil
}

func efsDescribeLifecycle(g *efsGapState, _ time.Time, r efsRequest) (int, any, bool, error) {
	f, err := g.fs(r.seg[1])
	if err != nil {
		return 0, nil, false, err
	}
	return http.StatusOK, map[string]any{"LifecyclePolicies": orEmpty(f.Lifecycle)}, false, nil
}

func efsPutBackupPolicy(g *efsGapState, now time.Time, r efsRequest) (int, any, bool, error) {
	f, err := g.availableFS(r.seg[1], now)
	if err != nil {
		return 0, nil, false, err
	}
	var in struct{ BackupPolicy struct{ Status string } }
	if err := efsDecode(r.body, &in); err != nil {
		return 0, nil, false, err
	}
	if st := in.BackupPolicy.Status; st != "ENABLED" && st != "DISABLED" {
		return 0, nil, false, efsErrorf(http.StatusBadRequest, "ValidationException", "BackupPolicy.Status must be ENABLED or DISABLED.")
	}
	f.Backup = in.BackupPolicy.Status
	return http.StatusOK, map[string]any{"BackupPolicy": map[string]string{"Status": f.Backup}}, true, nil
}

func efsDescribeBackupPolicy(g *efsGapState, _ time.Time, r efsRequest) (int, any, bool, error) {
	f, err := g.fs(r.seg[1])
	if err != nil {
		return 0, nil, false, err
	}
	return http.StatusOK, map[string]any{"BackupPolicy": map[string]string{"Status": f.Backup}}, false, nil
}

// ---- mount targets

// efsNetwork is what kumo's EC2 says of a mount target's subnet and groups.
type efsNetwork struct {
	subnet, vpc, zone, cidr string
	groupVPC                map[string]string // by group ID
}

type efsNetworkKey struct{}

// network asks kumo's EC2 about the subnet and security groups of a CreateMountTarget or
// ModifyMountTargetSecurityGroups request and keeps the answer in r.ctx (efsNetworkKey): the
// operation runs under the state's lock, where it does not call kumo.
func (r *efsRequest) network() error {
	var in struct {
		SubnetId       string
		SecurityGroups []string
	}
	if err := efsDecode(r.body, &in); err != nil {
		return err
	}
	n := &efsNetwork{groupVPC: map[string]string{}}
	if in.SubnetId != "" {
		form := url.Values{"Action": {"DescribeSubnets"}, "Version": {"2016-11-15"}, "SubnetId.1": {in.SubnetId}}
		status, data, err := r.s.kumoQuery(r.ctx, "ec2", "ec2", form)
		if err != nil {
			return err
		}
		var out struct {
			Subnets []struct {
				ID   string `xml:"subnetId"`
				VPC  string `xml:"vpcId"`
				Zone string `xml:"availabilityZone"`
				CIDR string `xml:"cidrBlock"`
			} `xml:"subnetSet>item"`
		}
		if status == http.StatusOK {
			if err := xml.Unmarshal(data, &out); err != nil {
				return err
			}
		}
		for _, sn := range out.Subnets {
			if sn.ID == in.SubnetId {
				n.subnet, n.vpc, n.zone, n.cidr = sn.ID, sn.VPC, sn.Zone, sn.CIDR
			}
		}
	}
	for _, id := range in.SecurityGroups {
		form := url.Values{"Action": {"DescribeSecurityGroups"}, "Version": {"2016-11-15"}, "GroupId.1": {id}}
		status, data, err := r.s.kumoQuery(r.ctx, "ec2", "ec2", form)
		if err != nil {
			return err
		}
		var out struct {
			Groups []struct {
				ID  string `xml:"groupId"`
				VPC string `xml:"vpcId"`
			} `xml:"securityGroupInfo>item"`
		}
		if status == http.StatusOK {
			if err := xml.Unmarshal(data, &out); err != nil {
				return err
			}
		}
		for _, sg := range out.Groups {
			if sg.ID == id {
				n.groupVPC[id] = sg.VPC
			}
		}
	}
	r.ctx = context.WithValue(r.ctx, efsNetworkKey{}, n)
	return nil
}

// checkGroups checks a mount target's security groups as EFS does.
func (n *efsNetwork) checkGroups(groups []string, vpc string) error {
	switch {
	case len(groups) == 0:
		return efsErrorf(http.StatusBadRequest, "BadRequest", "local aws: a mount target without security groups (EFS gives it the VPC's default group) is not emulated; name its groups")
	case len(groups) > 5:
		return efsErrorf(http.StatusBadRequest, "SecurityGroupLimitExceeded", "A mount target can have at most 5 security groups.")
	}
	for _, id := range groups {
		v, ok := n.groupVPC[id]
		if !ok {
			return efsErrorf(http.StatusBadRequest, "SecurityGroupNotFound", "Security group '%s' does not exist.", id)
		}
		if v != vpc {
			return efsErrorf(http.StatusBadRequest, "SecurityGroupMismatch", "Security group '%s' is not in VPC '%s'.", id, vpc)
		}
	}
	return nil
}

func (m *efsMountTarget) json(now time.Time) map[string]any {
	return map[string]any{
		"MountTargetId": m.ID, "FileSystemId": m.FileSystemID, "SubnetId": m.SubnetID, "VpcId": m.VpcID,
		"LifeCycleState": m.state(now), "IpAddress": m.IP, "OwnerId": stsAccount,
		"NetworkInterfaceId": "eni-" + strings.TrimPrefix(m.ID, "fsmt-"), "AvailabilityZoneName": m.Zone,
	}
}

func efsCreateMountTarget(g *efsGapState, now time.Time, r efsRequest) (int, any, bool, error) {
	var in struct {
		FileSystemId   string
		SubnetId       string
		IpAddress      string
		SecurityGroups []string
	}
	if err := efsDecode(r.body, &in); err != nil {
		return 0, nil, false, err
	}
	f, err := g.availableFS(in.FileSystemId, now)
	if err != nil {
		return 0, nil, false, err
	}
	n, _ := r.ctx.Value(efsNetworkKey{}).(*efsNetwork)
	if n == nil || n.subnet == "" {
		return 0, nil, false, efsErrorf(http.StatusBadRequest, "SubnetNotFound", "Subnet '%s' does not exist.", in.SubnetId)
	}
	if err := n.checkGroups(in.SecurityGroups, n.vpc); err != nil {
		return 0, nil, false, err
	}
	for _, m := range g.MountTargets {
		if m.FileSystemID != f.ID {
			continue
		}
		if m.Zone == n.zone {
			return 0, nil, false, efsErrorf(http.StatusConflict, "MountTargetConflict", "File system '%s' already has a mount target (%s) in availability zone %s.", f.ID, m.ID, n.zone)
		}
		if m.VpcID != n.vpc {
			return 0, nil, false, efsErrorf(http.StatusConflict, "MountTargetConflict", "File system '%s' has mount targets in VPC %s, not %s.", f.ID, m.VpcID, n.vpc)
		}
	}
	m := &efsMountTarget{ID: ec2ID("fsmt"), FileSystemID: f.ID, SubnetID: n.subnet, VpcID: n.vpc, Zone: n.zone,
		IP: cmp.Or(in.IpAddress, efsAddress(n.cidr, len(g.MountTargets))), SecurityGroups: in.SecurityGroups, Created: now}
	g.MountTargets[m.ID] = m
	return http.StatusOK, m.json(now), true, nil
}

// efsAddress picks an address in cidr for the n-th mount target (a.b.c.d/len: a.b.c.(10+n)).
func efsAddress(cidr string, n int) string {
	ip, _, _ := strings.Cut(cidr, "/")
	parts := strings.Split(ip, ".")
	if len(parts) != 4 {
		return "10.0.0.10"
	}
	return fmt.Sprintf("%s.%s.%s.%d", parts[0], parts[1], parts[2], 10+n%240)
}

func (g *efsGapState) mountTarget(id string) (*efsMountTarget, error) {
	m := g.MountTargets[id]
	if m == nil {
		return nil, efsErrorf(http.StatusNotFound, "MountTargetNotFound", "Mount target '%s' does not exist.", id)
	}
	return m, nil
}

func efsDescribeMountTargets(g *efsGapState, now time.Time, r efsRequest) (int, any, bool, error) {
	fsID, mtID, apID := r.query.Get("FileSystemId"), r.query.Get("MountTargetId"), r.query.Get("AccessPointId")
	switch {
	case fsID == "" && mtID == "" && apID == "":
		return 0, nil, false, efsErrorf(http.StatusBadRequest, "BadRequest", "One of FileSystemId, MountTargetId or AccessPointId is required.")
	case mtID != "":
		if _, err := g.mountTarget(mtID); err != nil {
			return 0, nil, false, err
		}
	case apID != "":
		ap := g.AccessPoints[apID]
		if ap == nil {
			return 0, nil, false, efsErrorf(http.StatusNotFound, "AccessPointNotFound", "Access point '%s' does not exist.", apID)
		}
		fsID = ap.FileSystemID
	default:
		if _, err := g.fs(fsID); err != nil {
			return 0, nil, false, err
		}
	}
	out := []map[string]any{}
	for _, id := range slices.Sorted(maps.Keys(g.MountTargets)) {
		m := g.MountTargets[id]
		if (mtID != "" && id != mtID) || (fsID != "" && m.FileSystemID != fsID) {
			continue
		}
		out = append(out, m.json(now))
	}
	return http.StatusOK, map[string]any{"MountTargets": out}, false, nil
}

func efsDeleteMountTarget(g *efsGapState, now time.Time, r efsRequest) (int, any, bool, error) {
	m, err := g.mountTarget(r.seg[1])
	if err != nil {
		return 0, nil, false, err
	}
	if m.Deleted.IsZero() {
		m.Deleted = now
	}
	return http.StatusNoContent, nil, true, nil
}

func efsDescribeMountTargetSecurityGroups(g *efsGapState, _ time.Time, r efsRequest) (int, any, bool, error) {
	m, err := g.mountTarget(r.seg[1])
	if err != nil {
		return 0, nil, false, err
	}
	return http.StatusOK, map[string]any{"SecurityGroups": m.SecurityGroups}, false, nil
}

func efsModifyMountTargetSecurityGroups(g *efsGapState, now time.Time, r efsRequest) (int, any, bool, error) {
	m, err := g.mountTarget(r.seg[1])
	if err != nil {
		return 0, nil, false, err
	}
	if st := m.state(now); st != "available" {
		return 0, nil, false, efsErrorf(http.StatusConflict, "IncorrectMountTargetState", "Mount target '%s' is %s, not available.", m.ID, st)
	}
	var in struct{ SecurityGroups []string }
	if err := efsDecode(r.body, &in); err != nil {
		return 0, nil, false, err
	}
	n, _ := r.ctx.Value(efsNetworkKey{}).(*efsNetwork)
	if err := n.checkGroups(in.SecurityGroups, m.VpcID); err != nil {
		return 0, nil, false, err
	}
	m.SecurityGroups = in.SecurityGroups
	return http.StatusNoContent, nil, true, nil
}

// ---- access points

func (ap *efsAccessPoint) arn(region string) string {
	return fmt.Sprintf("arn:aws:elasticfilesystem:%s:%s:access-point/%s", region, stsAccount, ap.ID)
}

func (ap *efsAccessPoint) json(region string) map[string]any {
	doc := map[string]any{
		"AccessPointId": ap.ID, "AccessPointArn": ap.arn(region), "ClientToken": ap.ClientToken,
		"FileSystemId": ap.FileSystemID, "LifeCycleState": "available", "OwnerId": stsAccount,
		"RootDirectory": ap.Root, "Tags": orEmpty(ap.Tags),
	}
	if ap.PosixUser != nil {
		doc["PosixUser"] = ap.PosixUser
	}
	for _, t := range ap.Tags {
		if t.Key == "Name" {
			doc["Name"] = t.Value
		}
	}
	return doc
}

func efsCreateAccessPoint(g *efsGapState, now time.Time, r efsRequest) (int, any, bool, error) {
	var in struct {
		ClientToken   string
		FileSystemId  string
		PosixUser     map[string]any
		RootDirectory map[string]any
		Tags          []efsTag
	}
	if err := efsDecode(r.body, &in); err != nil {
		return 0, nil, false, err
	}
	f, err := g.availableFS(in.FileSystemId, now)
	if err != nil {
		return 0, nil, false, err
	}
	for _, ap := range g.AccessPoints {
		if ap.ClientToken != "" && ap.ClientToken == in.ClientToken {
			if ap.FileSystemID != f.ID {
				return 0, nil, false, efsErrorf(http.StatusConflict, "AccessPointAlreadyExists", "Access point '%s' was created with client token '%s' for another file system.", ap.ID, ap.ClientToken)
			}
			return http.StatusOK, ap.json(f.Region), false, nil // a retried create: the same one
		}
	}
	root := in.RootDirectory
	if root == nil {
		root = map[string]any{}
	}
	if _, ok := root["Path"]; !ok {
		root["Path"] = "/"
	}
	ap := &efsAccessPoint{ID: ec2ID("fsap"), FileSystemID: f.ID, ClientToken: in.ClientToken, PosixUser: in.PosixUser, Root: root, Tags: in.Tags}
	g.AccessPoints[ap.ID] = ap
	return http.StatusOK, ap.json(f.Region), true, nil
}

func efsDescribeAccessPoints(g *efsGapState, _ time.Time, r efsRequest) (int, any, bool, error) {
	fsID, apID := r.query.Get("FileSystemId"), r.query.Get("AccessPointId")
	if apID != "" && g.AccessPoints[apID] == nil {
		return 0, nil, false, efsErrorf(http.StatusNotFound, "AccessPointNotFound", "Access point '%s' does not exist.", apID)
	}
	if fsID != "" {
		if _, err := g.fs(fsID); err != nil {
			return 0, nil, false, err
		}
	}
	out := []map[string]any{}
	for _, id := range slices.Sorted(maps.Keys(g.AccessPoints)) {
		ap := g.AccessPoints[id]
		if (apID != "" && id != apID) || (fsID != "" && ap.FileSystemID != fsID) {
			continue
		}
		out = append(out, ap.json(r.region))
	}
	return http.StatusOK, map[string]any{"AccessPoints": out}, false, nil
}

func efsDeleteAccessPoint(g *efsGapState, _ time.Time, r efsRequest) (int, any, bool, error) {
	if g.AccessPoints[r.seg[1]] == nil {
		return 0, nil, false, efsErrorf(http.StatusNotFound, "AccessPointNotFound", "Access point '%s' does not exist.", r.seg[1])
	}
	delete(g.AccessPoints, r.seg[1])
	return http.StatusNoContent, nil, true, nil
}

// ---- tags

// tagsOf returns the tags of a file system or access point ID (or ARN).
func (g *efsGapState) tagsOf(res string) (*[]efsTag, error) {
	id := res[strings.LastIndex(res, "/")+1:]
	switch {
	case strings.HasPrefix(id, "fsap-"):
		if ap := g.AccessPoints[id]; ap != nil {
			return &ap.Tags, nil
		}
		return nil, efsErrorf(http.StatusNotFound, "AccessPointNotFound", "Access point '%s' does not exist.", id)
	case strings.HasPrefix(id, "fs-"):
		f, err := g.fs(id)
		if err != nil {
			return nil, err
		}
		return &f.Tags, nil
	}
	return nil, efsErrorf(http.StatusBadRequest, "BadRequest", "Resource '%s' is not a file system or access point.", res)
}

func efsTagResource(g *efsGapState, _ time.Time, r efsRequest) (int, any, bool, error) {
	tags, err := g.tagsOf(r.seg[1])
	if err != nil {
		return 0, nil, false, err
	}
	var in struct{ Tags []efsTag }
	if err := efsDecode(r.body, &in); err != nil {
		return 0, nil, false, err
	}
	for _, t := range in.Tags {
		*tags = slices.DeleteFunc(*tags, func(o efsTag) bool { return o.Key == t.Key })
		*tags = append(*tags, t)
	}
	return http.StatusOK, nil, true, nil
}

func efsUntagResource(g *efsGapState, _ time.Time, r efsRequest) (int, any, bool, error) {
	tags, err := g.tagsOf(r.seg[1])
	if err != nil {
		return 0, nil, false, err
	}
	keys := r.query["tagKeys"]
	*tags = slices.DeleteFunc(*tags, func(o efsTag) bool { return slices.Contains(keys, o.Key) })
	return http.StatusOK, nil, true, nil
}

func efsListTagsForResource(g *efsGapState, _ time.Time, r efsRequest) (int, any, bool, error) {
	tags, err := g.tagsOf(r.seg[1])
	if err != nil {
		return 0, nil, false, err
	}
	return http.StatusOK, map[string]any{"Tags": orEmpty(*tags)}, false, nil
}

// orEmpty returns s, or an empty slice for nil (EFS answers [] where there is none).
func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
