package localaws

import (
	"cmp"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/big"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
)

// ---------------------------------------------------------------------------------------------
// ECS. Kumo v0.33.1 keeps clusters, task definitions, services and tasks but cannot read most of
// them back (no DescribeServices, ListServices, DescribeTaskDefinition, ListTaskDefinitions,
// DeleteTaskDefinitions, ListTasks or tagging: the SDK's waiters fail), and answers a duplicate
// CreateService with a code ECS never uses. So the layer owns all of ECS: every ECS request is
// answered here from the layer's own state, kumo's ECS is never asked, and an operation the
// layer does not emulate fails loudly (UnknownOperationException naming it).
//
// Tasks are simulated, computed from the time since they were started (no goroutine; the
// timestamps persist, so a restarted layer goes on where it was): a task is PROVISIONING, then
// PENDING, then RUNNING once ecsTaskStartDelay has passed. A task of an image marked broken
// (its tag contains ECSBrokenImageMarker, e.g. "app:broken") stops instead, when it would have
// run: STOPPED, stopCode EssentialContainerExited, stoppedReason "Essential container in task
// exited", its essential container exit code 1 with a reason. A service replaces a task that
// stopped so, at the time it stopped; after ecsFailedTaskThreshold failed tasks the deployment's
// rolloutState is FAILED (the service launches no more of its tasks) and, when the service's
// deployment circuit breaker asks for rollback, the last deployment rolls back. A deployment is
// COMPLETED when its desired count of tasks is RUNNING; then the tasks of the older deployments
// stop and the older deployments go. Stopping a task (StopTask, a scale-in, a deletion) takes
// half the start delay (lastStatus DEPROVISIONING, desiredStatus STOPPED). Stopped tasks are
// forgotten an hour after they stop; a deleted service is INACTIVE once its tasks have stopped.

// ECSBrokenImageMarker marks an image as broken: a task whose essential container's image tag
// contains it stops as its container exits with code 1 (see above). Tests use it to have a
// deployment fail.
const ECSBrokenImageMarker = "broken"

const (
	ecsGapsFile  = "panka-gaps-ecs.json"
	ecsTarget    = "AmazonEC2ContainerServiceV20141113."
	ecsARNPrefix = "arn:aws:ecs:us-east-1:000000000000:" // kumo's region and account
	// ecsFailedTaskThreshold is how many tasks of a deployment fail before its rollout FAILED.
	ecsFailedTaskThreshold = 3
	ecsStoppedTaskKept     = time.Hour
)

// ecsTaskStartDelay is how long a simulated task takes from PROVISIONING to RUNNING (or, for a
// broken image, to STOPPED). PANKA_LOCALAWS_ECS_START_DELAY (a Go duration) sets it.
var ecsTaskStartDelay = func() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("PANKA_LOCALAWS_ECS_START_DELAY")); err == nil && d > 0 {
		return d
	}
	return 300 * time.Millisecond
}()

type ecsGapState struct {
	mu       sync.Mutex
	dir      string
	Clusters map[string]*ecsCluster `json:"clusters"` // by name
	Families map[string]*ecsFamily  `json:"families"` // task definitions, by family
}

type ecsCluster struct {
	Status    string                     `json:"status"`
	CreatedAt time.Time                  `json:"createdAt"`
	Spec      map[string]json.RawMessage `json:"spec,omitempty"` // settings, configuration...
	Tags      map[string]string          `json:"tags,omitempty"`
	Services  map[string]*ecsService     `json:"services,omitempty"` // by name
	Tasks     map[string]*ecsTask        `json:"tasks,omitempty"`    // by task ID
}

type ecsFamily struct {
	Revisions []*ecsTaskDef `json:"revisions"` // revision i+1 at i
}

type ecsTaskDef struct {
	Def            map[string]any    `json:"def"` // the registration, completed
	Status         string            `json:"status"`
	RegisteredAt   time.Time         `json:"registeredAt"`
	DeregisteredAt *time.Time        `json:"deregisteredAt,omitempty"`
	Tags           map[string]string `json:"tags,omitempty"`
}

type ecsService struct {
	Status       string                     `json:"status"`
	TaskDef      string                     `json:"taskDefinition"`
	DesiredCount int                        `json:"desiredCount"`
	LaunchType   string                     `json:"launchType,omitempty"`
	Spec         map[string]json.RawMessage `json:"spec,omitempty"` // what is echoed back as given
	CreatedAt    time.Time                  `json:"createdAt"`
	Deployments  []*ecsDeployment           `json:"deployments"` // the PRIMARY first
	Events       []ecsEvent                 `json:"events,omitempty"`
	Tags         map[string]string          `json:"tags,omitempty"`
	ClientToken  string                     `json:"clientToken,omitempty"`
	// Steady: nothing has happened to the service since it last reported a steady state.
	Steady bool `json:"steady,omitempty"`
}

type ecsDeployment struct {
	ID            string    `json:"id"`
	Status        string    `json:"status"` // PRIMARY, ACTIVE
	TaskDef       string    `json:"taskDefinition"`
	DesiredCount  int       `json:"desiredCount"`
	CreatedAt     time.Time `json:"createdAt"`
	UpdatedAt     time.Time `json:"updatedAt"`
	RolloutState  string    `json:"rolloutState"`
	RolloutReason string    `json:"rolloutStateReason,omitempty"`
	FailedTasks   int       `json:"failedTasks,omitempty"`
}

type ecsEvent struct {
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"createdAt"`
	Message   string    `json:"message"`
}

type ecsTask struct {
	TaskDef      string             `json:"taskDefinition"`
	Group        string             `json:"group,omitempty"`
	StartedBy    string             `json:"startedBy,omitempty"`
	LaunchType   string             `json:"launchType,omitempty"`
	Service      string             `json:"service,omitempty"`
	DeploymentID string             `json:"deploymentId,omitempty"`
	Containers   []ecsTaskContainer `json:"containers"`
	CPU          string             `json:"cpu,omitempty"`
	Memory       string             `json:"memory,omitempty"`
	Broken       bool               `json:"broken,omitempty"`
	CreatedAt    time.Time          `json:"createdAt"`
	StopAt       *time.Time         `json:"stopAt,omitempty"` // asked to stop; STOPPED from then
	StopCode     string             `json:"stopCode,omitempty"`
	StopReason   string             `json:"stopReason,omitempty"`
	Replaced     bool               `json:"replaced,omitempty"` // its service has dealt with its failure
	Overrides    json.RawMessage    `json:"overrides,omitempty"`
	Tags         map[string]string  `json:"tags,omitempty"`
}

type ecsTaskContainer struct {
	Name      string `json:"name"`
	Image     string `json:"image"`
	Essential bool   `json:"essential"`
}

// ecsGaps is the layer's ECS state (a pointer a test swaps to restart the layer).
var ecsGaps atomic.Pointer[ecsGapState]

func init() { ecsGaps.Store(newECSGapState(os.Getenv("KUMO_DATA_DIR"))) }

func newECSGapState(dir string) *ecsGapState {
	g := &ecsGapState{dir: dir}
	loadGapFile(dir, ecsGapsFile, g)
	if g.Clusters == nil {
		g.Clusters = map[string]*ecsCluster{}
	}
	if g.Families == nil {
		g.Families = map[string]*ecsFamily{}
	}
	return g
}

func (g *ecsGapState) saveLocked() error { return saveGapFile(g.dir, ecsGapsFile, g) }

// ecsError is an ECS error answer.
type ecsError struct{ code, msg string }

func (e *ecsError) Error() string { return e.code + ": " + e.msg }

func ecsErrorf(code, format string, args ...any) error {
	return &ecsError{code: code, msg: fmt.Sprintf(format, args...)}
}

var (
	errECSClusterNotFound = &ecsError{"ClusterNotFoundException", "Cluster not found."}
	errECSServiceNotFound = &ecsError{"ServiceNotFoundException", "Service not found."}
)

// ecsOp answers one operation under the state's lock at now; changed says whether it changed
// the state (to be saved).
type ecsOp func(g *ecsGapState, now time.Time, req []byte) (out any, changed bool, err error)

var ecsOps = map[string]ecsOp{
	"CreateCluster":            ecsCreateCluster,
	"DescribeClusters":         ecsDescribeClusters,
	"ListClusters":             ecsListClusters,
	"DeleteCluster":            ecsDeleteCluster,
	"RegisterTaskDefinition":   ecsRegisterTaskDefinition,
	"DescribeTaskDefinition":   ecsDescribeTaskDefinition,
	"ListTaskDefinitions":      ecsListTaskDefinitions,
	"DeregisterTaskDefinition": ecsDeregisterTaskDefinition,
	"DeleteTaskDefinitions":    ecsDeleteTaskDefinitions,
	"CreateService":            ecsCreateService,
	"DescribeServices":         ecsDescribeServices,
	"UpdateService":            ecsUpdateService,
	"ListServices":             ecsListServices,
	"DeleteService":            ecsDeleteService,
	"RunTask":                  ecsRunTask,
	"DescribeTasks":            ecsDescribeTasks,
	"ListTasks":                ecsListTasks,
	"StopTask":                 ecsStopTask,
	"TagResource":              ecsTagResource,
	"UntagResource":            ecsUntagResource,
	"ListTagsForResource":      ecsListTagsForResource,
}

func init() {
	// ECS is JSON, but every request of it is the layer's: name it without reading the body.
	restOperations["ecs"] = func(r *http.Request) string {
		op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), ecsTarget)
		if ecsOps[op] == nil {
			return "ecs.UnknownOperation"
		}
		return "ecs." + op
	}
	for op := range ecsOps {
		gapHandlers["ecs."+op] = gapHandler{answer: ecsAnswer}
	}
	gapHandlers["ecs.UnknownOperation"] = gapHandler{answer: ecsAnswer}
}

func ecsAnswer(w http.ResponseWriter, r *http.Request, _ *gapServer, _ []byte) {
	opName := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), ecsTarget)
	op := ecsOps[opName]
	if op == nil {
		writeECSError(w, http.StatusBadRequest, "UnknownOperationException",
			fmt.Sprintf("local aws: ECS operation %q is not emulated (the layer answers all of ECS and only what a Fargate deployer uses)", opName))
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeECSError(w, http.StatusBadRequest, "SerializationException", err.Error())
		return
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		body = []byte("{}")
	}
	g := ecsGaps.Load()
	g.mu.Lock()
	defer g.mu.Unlock()
	now := time.Now().UTC()
	changed := g.reconcileAll(now)
	out, opChanged, err := op(g, now, body)
	if opChanged {
		g.reconcileAll(now)
	}
	if changed || opChanged {
		if serr := g.saveLocked(); serr != nil && err == nil {
			err = ecsErrorf("ServerException", "local aws: %v", serr)
		}
	}
	var e *ecsError
	switch {
	case errors.As(err, &e):
		status := http.StatusBadRequest
		if e.code == "ServerException" {
			status = http.StatusInternalServerError
		}
		writeECSError(w, status, e.code, e.msg)
	case err != nil:
		writeECSError(w, http.StatusBadRequest, "InvalidParameterException", err.Error())
	default:
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("x-amzn-RequestId", uuid.NewString())
		w.WriteHeader(http.StatusOK)
		_ = json.NewEncoder(w).Encode(out)
	}
}

func writeECSError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("x-amzn-RequestId", uuid.NewString())
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg})
}

func decodeECS(req []byte, v any) error {
	if err := json.Unmarshal(req, v); err != nil {
		return ecsErrorf("SerializationException", "%v", err)
	}
	return nil
}

// ---------------------------------------------------------------------------------------------
// Names and ARNs.

func ecsClusterARN(name string) string { return ecsARNPrefix + "cluster/" + name }

func ecsServiceARN(cluster, name string) string {
	return ecsARNPrefix + "service/" + cluster + "/" + name
}

func ecsTaskARN(cluster, id string) string { return ecsARNPrefix + "task/" + cluster + "/" + id }

func ecsTaskDefARN(family string, rev int) string {
	return ecsARNPrefix + "task-definition/" + family + ":" + strconv.Itoa(rev)
}

// lastSegment returns what follows the last "/" of an ARN, or ref itself.
func lastSegment(ref string) string {
	if i := strings.LastIndex(ref, "/"); i >= 0 {
		return ref[i+1:]
	}
	return ref
}

// cluster returns the ACTIVE cluster ref (name or ARN; "" is default) names.
func (g *ecsGapState) cluster(ref string) (string, *ecsCluster, error) {
	name := ref
	if name == "" {
		name = "default"
	}
	if strings.HasPrefix(name, "arn:") {
		name = strings.TrimPrefix(name, ecsARNPrefix+"cluster/")
		if strings.HasPrefix(name, "arn:") {
			return "", nil, errECSClusterNotFound
		}
	}
	c := g.Clusters[name]
	if c == nil || c.Status != "ACTIVE" {
		return "", nil, errECSClusterNotFound
	}
	return name, c, nil
}

// taskDef resolves "family", "family:revision" or an ARN to a task definition.
func (g *ecsGapState) taskDef(ref string) (string, int, *ecsTaskDef) {
	ref = strings.TrimPrefix(ref, ecsARNPrefix+"task-definition/")
	family, revStr, hasRev := strings.Cut(ref, ":")
	f := g.Families[family]
	if f == nil {
		return family, 0, nil
	}
	if !hasRev {
		for i := len(f.Revisions) - 1; i >= 0; i-- {
			if f.Revisions[i].Status == "ACTIVE" {
				return family, i + 1, f.Revisions[i]
			}
		}
		return family, 0, nil
	}
	rev, err := strconv.Atoi(revStr)
	if err != nil || rev < 1 || rev > len(f.Revisions) {
		return family, 0, nil
	}
	return family, rev, f.Revisions[rev-1]
}

func newTaskID() string { return strings.ReplaceAll(uuid.NewString(), "-", "") }

func newDeploymentID() string {
	n, _ := rand.Int(rand.Reader, big.NewInt(9e18))
	return fmt.Sprintf("ecs-svc/%019d", n.Int64()+1e17)
}

func ecsTagList(tags map[string]string) []map[string]string {
	out := []map[string]string{}
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		out = append(out, map[string]string{"key": k, "value": tags[k]})
	}
	return out
}

type ecsTag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

func ecsTagMap(tags []ecsTag) map[string]string {
	if len(tags) == 0 {
		return nil
	}
	out := map[string]string{}
	for _, t := range tags {
		out[t.Key] = t.Value
	}
	return out
}

func epoch(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

// paginate returns the page of items nextToken (an offset) starts, and the next token.
func paginate[T any](items []T, maxResults int, nextToken string, def int) ([]T, string, error) {
	start := 0
	if nextToken != "" {
		n, err := strconv.Atoi(nextToken)
		if err != nil || n < 0 || n > len(items) {
			return nil, "", ecsErrorf("InvalidParameterException", "Invalid nextToken.")
		}
		start = n
	}
	if maxResults <= 0 {
		maxResults = def
	}
	end := min(start+maxResults, len(items))
	next := ""
	if end < len(items) {
		next = strconv.Itoa(end)
	}
	return items[start:end], next, nil
}

func hasInclude(include []string, what string) bool { return slices.Contains(include, what) }

// imageBroken reports whether the image reference's tag carries ECSBrokenImageMarker.
func imageBroken(image string) bool {
	ref, _, _ := strings.Cut(image, "@")
	i := strings.LastIndex(ref, ":")
	if i < 0 || strings.Contains(ref[i:], "/") {
		return false
	}
	return strings.Contains(ref[i+1:], ECSBrokenImageMarker)
}

// ---------------------------------------------------------------------------------------------
// Clusters.

var ecsClusterSpecKeys = []string{"settings", "configuration", "capacityProviders", "defaultCapacityProviderStrategy", "serviceConnectDefaults"}

func ecsCreateCluster(g *ecsGapState, now time.Time, req []byte) (any, bool, error) {
	var in struct {
		ClusterName string   `json:"clusterName"`
		Tags        []ecsTag `json:"tags"`
	}
	var raw map[string]json.RawMessage
	if err := decodeECS(req, &in); err != nil {
		return nil, false, err
	}
	_ = json.Unmarshal(req, &raw)
	name := cmp.Or(in.ClusterName, "default")
	if c := g.Clusters[name]; c != nil && c.Status == "ACTIVE" {
		return map[string]any{"cluster": g.clusterJSON(name, c, now, nil)}, false, nil
	}
	c := &ecsCluster{Status: "ACTIVE", CreatedAt: now, Tags: ecsTagMap(in.Tags), Spec: map[string]json.RawMessage{}}
	for _, k := range ecsClusterSpecKeys {
		if v, ok := raw[k]; ok {
			c.Spec[k] = v
		}
	}
	g.Clusters[name] = c
	return map[string]any{"cluster": g.clusterJSON(name, c, now, []string{"TAGS"})}, true, nil
}

func (g *ecsGapState) clusterJSON(name string, c *ecsCluster, now time.Time, include []string) map[string]any {
	out := map[string]any{"clusterArn": ecsClusterARN(name), "clusterName": name, "status": c.Status,
		"registeredContainerInstancesCount": 0, "statistics": []any{}, "settings": []any{map[string]string{"name": "containerInsights", "value": "disabled"}},
		"capacityProviders": []any{}, "defaultCapacityProviderStrategy": []any{}, "attachments": []any{}}
	for k, v := range c.Spec {
		out[k] = v
	}
	services, running, pending := 0, 0, 0
	for _, s := range c.Services {
		if s.Status != "INACTIVE" {
			services++
		}
	}
	for _, t := range c.Tasks {
		switch st, _ := t.state(now); st {
		case "RUNNING":
			running++
		case "PROVISIONING", "PENDING":
			pending++
		}
	}
	out["activeServicesCount"], out["runningTasksCount"], out["pendingTasksCount"] = services, running, pending
	if hasInclude(include, "TAGS") {
		out["tags"] = ecsTagList(c.Tags)
	}
	return out
}

func ecsDescribeClusters(g *ecsGapState, now time.Time, req []byte) (any, bool, error) {
	var in struct {
		Clusters []string `json:"clusters"`
		Include  []string `json:"include"`
	}
	if err := decodeECS(req, &in); err != nil {
		return nil, false, err
	}
	if len(in.Clusters) == 0 {
		in.Clusters = []string{"default"}
	}
	clusters, failures := []any{}, []any{}
	for _, ref := range in.Clusters {
		name := lastSegment(ref)
		if c := g.Clusters[name]; c != nil {
			clusters = append(clusters, g.clusterJSON(name, c, now, in.Include))
		} else {
			failures = append(failures, map[string]string{"arn": ecsClusterARN(name), "reason": "MISSING"})
		}
	}
	return map[string]any{"clusters": clusters, "failures": failures}, false, nil
}

func ecsListClusters(g *ecsGapState, _ time.Time, req []byte) (any, bool, error) {
	var in struct {
		MaxResults int    `json:"maxResults"`
		NextToken  string `json:"nextToken"`
	}
	if err := decodeECS(req, &in); err != nil {
		return nil, false, err
	}
	var arns []string
	for _, name := range slices.Sorted(maps.Keys(g.Clusters)) {
		if g.Clusters[name].Status == "ACTIVE" {
			arns = append(arns, ecsClusterARN(name))
		}
	}
	page, next, err := paginate(arns, in.MaxResults, in.NextToken, 100)
	if err != nil {
		return nil, false, err
	}
	return map[string]any{"clusterArns": nonNil(page), "nextToken": emptyNil(next)}, false, nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func emptyNil(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func ecsDeleteCluster(g *ecsGapState, now time.Time, req []byte) (any, bool, error) {
	var in struct {
		Cluster string `json:"cluster"`
	}
	if err := decodeECS(req, &in); err != nil {
		return nil, false, err
	}
	name, c, err := g.cluster(in.Cluster)
	if err != nil {
		return nil, false, err
	}
	for _, s := range c.Services {
		if s.Status != "INACTIVE" {
			return nil, false, ecsErrorf("ClusterContainsServicesException", "The Cluster cannot be deleted while Services are active.")
		}
	}
	for _, t := range c.Tasks {
		if st, _ := t.state(now); st != "STOPPED" {
			return nil, false, ecsErrorf("ClusterContainsTasksException", "The Cluster cannot be deleted while Tasks are active.")
		}
	}
	c.Status = "INACTIVE"
	return map[string]any{"cluster": g.clusterJSON(name, c, now, nil)}, true, nil
}

// ---------------------------------------------------------------------------------------------
// Task definitions.

func ecsRegisterTaskDefinition(g *ecsGapState, now time.Time, req []byte) (any, bool, error) {
	var def map[string]any
	var in struct {
		Family                  string   `json:"family"`
		Tags                    []ecsTag `json:"tags"`
		NetworkMode             string   `json:"networkMode"`
		RequiresCompatibilities []string `json:"requiresCompatibilities"`
		CPU                     string   `json:"cpu"`
		Memory                  string   `json:"memory"`
		ContainerDefinitions    []struct {
			Name  string `json:"name"`
			Image string `json:"image"`
		} `json:"containerDefinitions"`
	}
	if err := decodeECS(req, &in); err != nil {
		return nil, false, err
	}
	if err := decodeECS(req, &def); err != nil {
		return nil, false, err
	}
	if in.Family == "" {
		return nil, false, ecsErrorf("ClientException", "Family is required.")
	}
	if len(in.ContainerDefinitions) == 0 {
		return nil, false, ecsErrorf("ClientException", "Container list cannot be empty.")
	}
	for _, c := range in.ContainerDefinitions {
		if c.Name == "" || c.Image == "" {
			return nil, false, ecsErrorf("ClientException", "Container.name and Container.image should not be null or empty.")
		}
	}
	if slices.Contains(in.RequiresCompatibilities, "FARGATE") {
		if in.NetworkMode != "awsvpc" {
			return nil, false, ecsErrorf("ClientException", "Fargate only supports network mode 'awsvpc'.")
		}
		if in.CPU == "" || in.Memory == "" {
			return nil, false, ecsErrorf("ClientException", "Fargate requires that 'cpu' and 'memory' be defined at the task level.")
		}
	}
	delete(def, "tags")
	// What ECS fills in.
	if in.NetworkMode == "" {
		def["networkMode"] = "bridge"
	}
	compat := []any{"EC2"}
	if slices.Contains(in.RequiresCompatibilities, "FARGATE") {
		compat = append(compat, "FARGATE")
	}
	def["compatibilities"] = compat
	for _, c := range def["containerDefinitions"].([]any) {
		cd, ok := c.(map[string]any)
		if !ok {
			continue
		}
		if _, ok := cd["essential"]; !ok {
			cd["essential"] = true
		}
		if _, ok := cd["cpu"]; !ok {
			cd["cpu"] = 0
		}
		for _, k := range []string{"environment", "mountPoints", "volumesFrom", "portMappings"} {
			if _, ok := cd[k]; !ok {
				cd[k] = []any{}
			}
		}
		for _, p := range cd["portMappings"].([]any) {
			if pm, ok := p.(map[string]any); ok {
				if _, ok := pm["protocol"]; !ok {
					pm["protocol"] = "tcp"
				}
				if _, ok := pm["hostPort"]; !ok && def["networkMode"] == "awsvpc" {
					pm["hostPort"] = pm["containerPort"]
				}
			}
		}
	}
	if _, ok := def["volumes"]; !ok {
		def["volumes"] = []any{}
	}
	if _, ok := def["placementConstraints"]; !ok {
		def["placementConstraints"] = []any{}
	}
	f := g.Families[in.Family]
	if f == nil {
		f = &ecsFamily{}
		g.Families[in.Family] = f
	}
	td := &ecsTaskDef{Def: def, Status: "ACTIVE", RegisteredAt: now, Tags: ecsTagMap(in.Tags)}
	f.Revisions = append(f.Revisions, td)
	rev := len(f.Revisions)
	return map[string]any{"taskDefinition": taskDefJSON(in.Family, rev, td), "tags": ecsTagList(td.Tags)}, true, nil
}

func taskDefJSON(family string, rev int, td *ecsTaskDef) map[string]any {
	out := maps.Clone(td.Def)
	out["family"] = family
	out["revision"] = rev
	out["taskDefinitionArn"] = ecsTaskDefARN(family, rev)
	out["status"] = td.Status
	out["registeredAt"] = epoch(td.RegisteredAt)
	out["registeredBy"] = "arn:aws:iam::000000000000:root"
	if td.DeregisteredAt != nil {
		out["deregisteredAt"] = epoch(*td.DeregisteredAt)
	}
	return out
}

func ecsDescribeTaskDefinition(g *ecsGapState, _ time.Time, req []byte) (any, bool, error) {
	var in struct {
		TaskDefinition string   `json:"taskDefinition"`
		Include        []string `json:"include"`
	}
	if err := decodeECS(req, &in); err != nil {
		return nil, false, err
	}
	family, rev, td := g.taskDef(in.TaskDefinition)
	if td == nil {
		return nil, false, ecsErrorf("ClientException", "Unable to describe task definition.")
	}
	out := map[string]any{"taskDefinition": taskDefJSON(family, rev, td)}
	if hasInclude(in.Include, "TAGS") {
		out["tags"] = ecsTagList(td.Tags)
	}
	return out, false, nil
}

func ecsListTaskDefinitions(g *ecsGapState, _ time.Time, req []byte) (any, bool, error) {
	var in struct {
		FamilyPrefix string `json:"familyPrefix"`
		Status       string `json:"status"`
		Sort         string `json:"sort"`
		MaxResults   int    `json:"maxResults"`
		NextToken    string `json:"nextToken"`
	}
	if err := decodeECS(req, &in); err != nil {
		return nil, false, err
	}
	status := cmp.Or(in.Status, "ACTIVE")
	var arns []string
	for _, family := range slices.Sorted(maps.Keys(g.Families)) {
		if in.FamilyPrefix != "" && family != in.FamilyPrefix { // despite its name, the full family name
			continue
		}
		for i, td := range g.Families[family].Revisions {
			if td.Status == status {
				arns = append(arns, ecsTaskDefARN(family, i+1))
			}
		}
	}
	if in.Sort == "DESC" {
		slices.Reverse(arns)
	}
	page, next, err := paginate(arns, in.MaxResults, in.NextToken, 100)
	if err != nil {
		return nil, false, err
	}
	return map[string]any{"taskDefinitionArns": nonNil(page), "nextToken": emptyNil(next)}, false, nil
}

func ecsDeregisterTaskDefinition(g *ecsGapState, now time.Time, req []byte) (any, bool, error) {
	var in struct {
		TaskDefinition string `json:"taskDefinition"`
	}
	if err := decodeECS(req, &in); err != nil {
		return nil, false, err
	}
	if !strings.Contains(strings.TrimPrefix(in.TaskDefinition, ecsARNPrefix), ":") {
		return nil, false, ecsErrorf("ClientException", "Revision must be specified.")
	}
	family, rev, td := g.taskDef(in.TaskDefinition)
	if td == nil || td.Status == "DELETE_IN_PROGRESS" {
		return nil, false, ecsErrorf("ClientException", "The specified task definition does not exist.")
	}
	if td.Status == "ACTIVE" {
		td.Status = "INACTIVE"
		td.DeregisteredAt = &now
	}
	return map[string]any{"taskDefinition": taskDefJSON(family, rev, td)}, true, nil
}

func ecsDeleteTaskDefinitions(g *ecsGapState, _ time.Time, req []byte) (any, bool, error) {
	var in struct {
		TaskDefinitions []string `json:"taskDefinitions"`
	}
	if err := decodeECS(req, &in); err != nil {
		return nil, false, err
	}
	if len(in.TaskDefinitions) == 0 || len(in.TaskDefinitions) > 10 {
		return nil, false, ecsErrorf("InvalidParameterException", "taskDefinitions must have between 1 and 10 elements.")
	}
	defs, failures := []any{}, []any{}
	changed := false
	for _, ref := range in.TaskDefinitions {
		family, rev, td := g.taskDef(ref)
		switch {
		case td == nil || !strings.Contains(strings.TrimPrefix(ref, ecsARNPrefix), ":"):
			failures = append(failures, map[string]string{"arn": ref, "reason": "TASK_DEFINITION_NOT_FOUND", "detail": "The specified task definition does not exist."})
		case td.Status == "ACTIVE":
			failures = append(failures, map[string]string{"arn": ecsTaskDefARN(family, rev), "reason": "The specified task definition is still in ACTIVE status. Please deregister the target and try again."})
		default:
			td.Status = "DELETE_IN_PROGRESS"
			changed = true
			defs = append(defs, taskDefJSON(family, rev, td))
		}
	}
	return map[string]any{"taskDefinitions": defs, "failures": failures}, changed, nil
}

// ---------------------------------------------------------------------------------------------
// Services.

// ecsServiceSpecKeys are the CreateService and UpdateService fields described back as given.
var ecsServiceSpecKeys = []string{"loadBalancers", "serviceRegistries", "networkConfiguration", "healthCheckGracePeriodSeconds",
	"deploymentConfiguration", "capacityProviderStrategy", "platformVersion", "placementConstraints", "placementStrategy",
	"schedulingStrategy", "deploymentController", "enableECSManagedTags", "propagateTags", "enableExecuteCommand",
	"availabilityZoneRebalancing", "serviceConnectConfiguration", "volumeConfigurations"}

type ecsServiceRequest struct {
	Cluster            string   `json:"cluster"`
	ServiceName        string   `json:"serviceName"`
	Service            string   `json:"service"`
	TaskDefinition     string   `json:"taskDefinition"`
	DesiredCount       *int     `json:"desiredCount"`
	LaunchType         string   `json:"launchType"`
	ClientToken        string   `json:"clientToken"`
	ForceNewDeployment bool     `json:"forceNewDeployment"`
	Force              bool     `json:"force"`
	Tags               []ecsTag `json:"tags"`
	NetworkConfig      *struct {
		AwsvpcConfiguration *struct {
			Subnets []string `json:"subnets"`
		} `json:"awsvpcConfiguration"`
	} `json:"networkConfiguration"`
}

// checkNetwork refuses an awsvpc task definition without a network configuration.
func checkNetwork(td *ecsTaskDef, in *ecsServiceRequest) error {
	if td.Def["networkMode"] == "awsvpc" && (in.NetworkConfig == nil || in.NetworkConfig.AwsvpcConfiguration == nil || len(in.NetworkConfig.AwsvpcConfiguration.Subnets) == 0) {
		return ecsErrorf("InvalidParameterException", "Network Configuration must be provided when networkMode 'awsvpc' is specified.")
	}
	return nil
}

func ecsCreateService(g *ecsGapState, now time.Time, req []byte) (any, bool, error) {
	var in ecsServiceRequest
	var raw map[string]json.RawMessage
	if err := decodeECS(req, &in); err != nil {
		return nil, false, err
	}
	_ = json.Unmarshal(req, &raw)
	if in.ServiceName == "" {
		return nil, false, ecsErrorf("InvalidParameterException", "Service name is required.")
	}
	cname, c, err := g.cluster(in.Cluster)
	if err != nil {
		return nil, false, err
	}
	if old := c.Services[in.ServiceName]; old != nil {
		switch {
		case old.Status == "ACTIVE" && in.ClientToken != "" && in.ClientToken == old.ClientToken:
			return map[string]any{"service": g.serviceJSON(cname, in.ServiceName, old, now, nil)}, false, nil
		case old.Status == "ACTIVE":
			return nil, false, ecsErrorf("InvalidParameterException", "Creation of service was not idempotent.")
		case old.Status == "DRAINING":
			return nil, false, ecsErrorf("InvalidParameterException", "Unable to Start a service that is still Draining.")
		}
	}
	family, rev, td := g.taskDef(in.TaskDefinition)
	if td == nil || td.Status != "ACTIVE" {
		return nil, false, ecsErrorf("InvalidParameterException", "TaskDefinition not found.")
	}
	if err := checkNetwork(td, &in); err != nil {
		return nil, false, err
	}
	s := &ecsService{Status: "ACTIVE", TaskDef: ecsTaskDefARN(family, rev), DesiredCount: derefInt(in.DesiredCount),
		LaunchType: in.LaunchType, CreatedAt: now, Tags: ecsTagMap(in.Tags), ClientToken: in.ClientToken, Spec: map[string]json.RawMessage{}}
	if s.LaunchType == "" && raw["capacityProviderStrategy"] == nil {
		s.LaunchType = "EC2"
	}
	for _, k := range ecsServiceSpecKeys {
		if v, ok := raw[k]; ok {
			s.Spec[k] = v
		}
	}
	if _, ok := s.Spec["deploymentConfiguration"]; !ok {
		s.Spec["deploymentConfiguration"] = json.RawMessage(`{"deploymentCircuitBreaker":{"enable":false,"rollback":false},"maximumPercent":200,"minimumHealthyPercent":100}`)
	}
	if _, ok := s.Spec["schedulingStrategy"]; !ok {
		s.Spec["schedulingStrategy"] = json.RawMessage(`"REPLICA"`)
	}
	if _, ok := s.Spec["deploymentController"]; !ok {
		s.Spec["deploymentController"] = json.RawMessage(`{"type":"ECS"}`)
	}
	if s.LaunchType == "FARGATE" {
		if _, ok := s.Spec["platformVersion"]; !ok {
			s.Spec["platformVersion"] = json.RawMessage(`"LATEST"`)
		}
	}
	if c.Services == nil {
		c.Services = map[string]*ecsService{}
	}
	c.Services[in.ServiceName] = s
	g.newDeployment(cname, c, in.ServiceName, s, now)
	return map[string]any{"service": g.serviceJSON(cname, in.ServiceName, s, now, []string{"TAGS"})}, true, nil
}

func derefInt(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

func (s *ecsService) event(at time.Time, format string, args ...any) {
	s.Steady = false
	s.Events = append(s.Events, ecsEvent{ID: uuid.NewString(), CreatedAt: at, Message: fmt.Sprintf(format, args...)})
	slices.SortStableFunc(s.Events, func(a, b ecsEvent) int { return a.CreatedAt.Compare(b.CreatedAt) })
	if len(s.Events) > 100 {
		s.Events = s.Events[len(s.Events)-100:]
	}
}

// newDeployment makes a PRIMARY deployment of the service's task definition and starts its tasks.
func (g *ecsGapState) newDeployment(cname string, c *ecsCluster, sname string, s *ecsService, now time.Time) {
	for _, d := range s.Deployments {
		d.Status = "ACTIVE"
		d.UpdatedAt = now
	}
	d := &ecsDeployment{ID: newDeploymentID(), Status: "PRIMARY", TaskDef: s.TaskDef, DesiredCount: s.DesiredCount, CreatedAt: now, UpdatedAt: now, RolloutState: "IN_PROGRESS"}
	d.RolloutReason = "ECS deployment " + d.ID + " in progress."
	s.Deployments = append([]*ecsDeployment{d}, s.Deployments...)
	g.launch(c, sname, s, d, d.DesiredCount, now)
}

// launch starts n tasks of the deployment d at time at.
func (g *ecsGapState) launch(c *ecsCluster, sname string, s *ecsService, d *ecsDeployment, n int, at time.Time) {
	if n <= 0 {
		return
	}
	var ids []string
	for range n {
		t := g.newTask(d.TaskDef, at)
		if t == nil {
			return
		}
		t.Service, t.DeploymentID, t.Group, t.StartedBy, t.LaunchType = sname, d.ID, "service:"+sname, d.ID, s.LaunchType
		id := newTaskID()
		if c.Tasks == nil {
			c.Tasks = map[string]*ecsTask{}
		}
		c.Tasks[id] = t
		ids = append(ids, id)
	}
	s.event(at, "(service %s) has started %d tasks: (task %s).", sname, len(ids), strings.Join(ids, ") (task "))
}

// newTask makes a task of the task definition ref at time at (nil when it does not exist).
func (g *ecsGapState) newTask(ref string, at time.Time) *ecsTask {
	family, rev, td := g.taskDef(ref)
	if td == nil {
		return nil
	}
	t := &ecsTask{TaskDef: ecsTaskDefARN(family, rev), CreatedAt: at, Group: "family:" + family}
	t.CPU, _ = td.Def["cpu"].(string)
	t.Memory, _ = td.Def["memory"].(string)
	for _, c := range td.Def["containerDefinitions"].([]any) {
		cd, _ := c.(map[string]any)
		name, _ := cd["name"].(string)
		image, _ := cd["image"].(string)
		essential, _ := cd["essential"].(bool)
		t.Containers = append(t.Containers, ecsTaskContainer{Name: name, Image: image, Essential: essential})
		if essential && imageBroken(image) {
			t.Broken = true
		}
	}
	return t
}

// The life of a task: when it stops (nil: it runs on), and its last status at now.
func (t *ecsTask) stoppedAt() *time.Time {
	var at *time.Time
	if t.Broken {
		a := t.CreatedAt.Add(ecsTaskStartDelay)
		at = &a
	}
	if t.StopAt != nil && (at == nil || t.StopAt.Before(*at)) {
		at = t.StopAt
	}
	return at
}

// failed reports whether the task stopped as its broken container exited (not asked to stop).
func (t *ecsTask) failed() bool {
	return t.Broken && (t.StopAt == nil || !t.StopAt.Before(t.CreatedAt.Add(ecsTaskStartDelay)))
}

// state returns the task's last and desired status at now.
func (t *ecsTask) state(now time.Time) (last, desired string) {
	desired = "RUNNING"
	if t.StopAt != nil {
		desired = "STOPPED"
	}
	if at := t.stoppedAt(); at != nil && !now.Before(*at) {
		return "STOPPED", "STOPPED"
	}
	if t.StopAt != nil {
		return "DEPROVISIONING", desired
	}
	switch age := now.Sub(t.CreatedAt); {
	case age < ecsTaskStartDelay/2:
		return "PROVISIONING", desired
	case age < ecsTaskStartDelay:
		return "PENDING", desired
	}
	return "RUNNING", desired
}

// stop asks the task to stop at now (it is STOPPED half a start delay later).
func (t *ecsTask) stop(now time.Time, code, reason string) {
	if t.StopAt != nil {
		return
	}
	if at := t.stoppedAt(); at != nil && !now.Before(*at) {
		return
	}
	at := now.Add(ecsTaskStartDelay / 2)
	t.StopAt, t.StopCode, t.StopReason = &at, code, reason
}

// runningAt returns when the task is RUNNING (nil: never).
func (t *ecsTask) runningAt() *time.Time {
	if t.Broken {
		return nil
	}
	at := t.CreatedAt.Add(ecsTaskStartDelay)
	if t.StopAt != nil && !t.StopAt.After(at) {
		return nil
	}
	return &at
}

// reconcileAll brings every service to now, as its scheduler would have, and forgets tasks long
// stopped. It reports whether anything changed.
func (g *ecsGapState) reconcileAll(now time.Time) bool {
	changed := false
	for _, cname := range slices.Sorted(maps.Keys(g.Clusters)) {
		c := g.Clusters[cname]
		for _, sname := range slices.Sorted(maps.Keys(c.Services)) {
			if g.reconcile(cname, c, sname, c.Services[sname], now) {
				changed = true
			}
		}
		for id, t := range c.Tasks {
			if at := t.stoppedAt(); at != nil && now.Sub(*at) > ecsStoppedTaskKept {
				delete(c.Tasks, id)
				changed = true
			}
		}
	}
	return changed
}

// serviceTasks returns the tasks of the service (of deployment id, if not "").
func (c *ecsCluster) serviceTasks(sname, id string) []*ecsTask {
	var out []*ecsTask
	for _, tid := range slices.Sorted(maps.Keys(c.Tasks)) {
		t := c.Tasks[tid]
		if t.Service == sname && (id == "" || t.DeploymentID == id) {
			out = append(out, t)
		}
	}
	return out
}

func (g *ecsGapState) reconcile(cname string, c *ecsCluster, sname string, s *ecsService, now time.Time) bool {
	if s.Status == "INACTIVE" {
		return false
	}
	changed := false
	for range 10000 {
		step := false
		// Failed tasks, in the order they stopped: counted, and replaced while the rollout goes on.
		var failed []*ecsTask
		for _, t := range c.serviceTasks(sname, "") {
			if !t.Replaced && t.failed() && !now.Before(*t.stoppedAt()) {
				failed = append(failed, t)
			}
		}
		slices.SortStableFunc(failed, func(a, b *ecsTask) int { return a.stoppedAt().Compare(*b.stoppedAt()) })
		if len(failed) > 0 {
			t := failed[0]
			at := *t.stoppedAt()
			t.Replaced = true
			step = true
			d := s.deployment(t.DeploymentID)
			if d != nil && s.Status == "ACTIVE" {
				d.FailedTasks++
				d.UpdatedAt = at
				if d.RolloutState == "IN_PROGRESS" && d.FailedTasks >= ecsFailedTaskThreshold {
					g.failDeployment(cname, c, sname, s, d, at)
				} else if d.RolloutState != "FAILED" && liveTasks(c.serviceTasks(sname, d.ID), at) < d.DesiredCount {
					g.launch(c, sname, s, d, 1, at)
				}
			}
		}
		if !step {
			step = g.settle(c, sname, s, now)
		}
		if !step {
			break
		}
		changed = true
	}
	return changed
}

// liveTasks counts the tasks neither stopped nor asked to stop at time at.
func liveTasks(tasks []*ecsTask, at time.Time) int {
	n := 0
	for _, t := range tasks {
		if stop := t.stoppedAt(); t.StopAt == nil && (stop == nil || at.Before(*stop)) {
			n++
		}
	}
	return n
}

func (s *ecsService) deployment(id string) *ecsDeployment {
	for _, d := range s.Deployments {
		if d.ID == id {
			return d
		}
	}
	return nil
}

// failDeployment marks the deployment's rollout FAILED at time at, and rolls back to the
// previous deployment if the circuit breaker asks for it.
func (g *ecsGapState) failDeployment(cname string, c *ecsCluster, sname string, s *ecsService, d *ecsDeployment, at time.Time) {
	d.RolloutState = "FAILED"
	d.RolloutReason = fmt.Sprintf("ECS deployment circuit breaker: %d tasks failed to start.", d.FailedTasks)
	s.event(at, "(service %s) (deployment %s) deployment failed: tasks failed to start.", sname, d.ID)
	var cfg struct {
		Breaker struct {
			Enable   bool `json:"enable"`
			Rollback bool `json:"rollback"`
		} `json:"deploymentCircuitBreaker"`
	}
	_ = json.Unmarshal(s.Spec["deploymentConfiguration"], &cfg)
	if !cfg.Breaker.Enable || !cfg.Breaker.Rollback || len(s.Deployments) < 2 || s.Deployments[0] != d {
		return
	}
	prev := s.Deployments[1]
	s.event(at, "(service %s) rolling back to deployment %s.", sname, prev.ID)
	s.TaskDef = prev.TaskDef
	prev.Status = "ACTIVE"
	d.Status = "ACTIVE"
	d.DesiredCount = 0
	for _, t := range c.serviceTasks(sname, d.ID) {
		t.stop(at, "ServiceSchedulerInitiated", "Scaling activity initiated by (deployment "+prev.ID+")")
	}
	g.newDeployment(cname, c, sname, s, at)
}

// settle takes the next step of the service's deployments that is due at now: the PRIMARY
// deployment completes when its desired tasks run, the older deployments' tasks then stop, a
// deployment without tasks goes, and a DRAINING service without tasks is INACTIVE.
func (g *ecsGapState) settle(c *ecsCluster, sname string, s *ecsService, now time.Time) bool {
	if len(s.Deployments) == 0 {
		return false
	}
	p := s.Deployments[0]
	if p.Status == "PRIMARY" && p.RolloutState == "IN_PROGRESS" && s.Status == "ACTIVE" {
		var running []time.Time
		for _, t := range c.serviceTasks(sname, p.ID) {
			if at := t.runningAt(); at != nil {
				running = append(running, *at)
			}
		}
		slices.SortFunc(running, time.Time.Compare)
		if len(running) >= p.DesiredCount {
			done := p.CreatedAt
			if p.DesiredCount > 0 {
				done = running[p.DesiredCount-1]
			}
			if !now.Before(done) {
				p.RolloutState, p.RolloutReason, p.UpdatedAt = "COMPLETED", "ECS deployment "+p.ID+" completed.", done
				for _, d := range s.Deployments[1:] {
					d.DesiredCount = 0
					d.UpdatedAt = done
					for _, t := range c.serviceTasks(sname, d.ID) {
						t.stop(done, "ServiceSchedulerInitiated", "Scaling activity initiated by (deployment "+p.ID+")")
					}
				}
				s.event(done, "(service %s) (deployment %s) deployment completed.", sname, p.ID)
				return true
			}
		}
	}
	// Deployments (not the PRIMARY) all of whose tasks have stopped go.
	for i := len(s.Deployments) - 1; i >= 1; i-- {
		d := s.Deployments[i]
		if _, ok := allStopped(c.serviceTasks(sname, d.ID), now); ok && d.DesiredCount == 0 {
			s.Deployments = slices.Delete(s.Deployments, i, i+1)
			return true
		}
	}
	if s.Status == "DRAINING" {
		if last, ok := allStopped(c.serviceTasks(sname, ""), now); ok {
			s.Status = "INACTIVE"
			s.event(last, "(service %s) has been deleted.", sname)
			return true
		}
		return false
	}
	if p.RolloutState == "COMPLETED" && len(s.Deployments) == 1 && !s.Steady {
		// A steady state: as many tasks run as desired and nothing else is happening.
		var last time.Time
		running := 0
		for _, t := range c.serviceTasks(sname, p.ID) {
			st, _ := t.state(now)
			if st == "RUNNING" {
				running++
				last = maxTime(last, *t.runningAt())
			}
			if at := t.stoppedAt(); at != nil && !now.Before(*at) {
				last = maxTime(last, *at)
			} else if st != "RUNNING" {
				return false
			}
		}
		if running == p.DesiredCount {
			at := maxTime(last, p.UpdatedAt)
			if n := len(s.Events); n > 0 {
				at = maxTime(at, s.Events[n-1].CreatedAt) // after what it follows
			}
			s.event(at, "(service %s) has reached a steady state.", sname)
			s.Steady = true
			return true
		}
	}
	return false
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// allStopped reports whether every task has stopped at now, and when the last did.
func allStopped(tasks []*ecsTask, now time.Time) (time.Time, bool) {
	var last time.Time
	for _, t := range tasks {
		at := t.stoppedAt()
		if at == nil || now.Before(*at) {
			return time.Time{}, false
		}
		last = maxTime(last, *at)
	}
	return last, true
}

func (g *ecsGapState) serviceJSON(cname, sname string, s *ecsService, now time.Time, include []string) map[string]any {
	out := map[string]any{"serviceArn": ecsServiceARN(cname, sname), "serviceName": sname, "clusterArn": ecsClusterARN(cname),
		"status": s.Status, "desiredCount": s.DesiredCount, "taskDefinition": s.TaskDef, "createdAt": epoch(s.CreatedAt),
		"createdBy": "arn:aws:iam::000000000000:root", "loadBalancers": []any{}, "serviceRegistries": []any{},
		"placementConstraints": []any{}, "placementStrategy": []any{}, "enableECSManagedTags": false, "propagateTags": "NONE", "enableExecuteCommand": false}
	if s.LaunchType != "" {
		out["launchType"] = s.LaunchType
	}
	for k, v := range s.Spec {
		out[k] = v
	}
	c := g.Clusters[cname]
	running, pending := 0, 0
	var deps []any
	for _, d := range s.Deployments {
		dr, dp := 0, 0
		for _, t := range c.serviceTasks(sname, d.ID) {
			switch st, desired := t.state(now); {
			case st == "RUNNING":
				dr++
			case (st == "PROVISIONING" || st == "PENDING") && desired == "RUNNING":
				dp++
			}
		}
		running += dr
		pending += dp
		dj := map[string]any{"id": d.ID, "status": d.Status, "taskDefinition": d.TaskDef, "desiredCount": d.DesiredCount,
			"runningCount": dr, "pendingCount": dp, "failedTasks": d.FailedTasks, "createdAt": epoch(d.CreatedAt), "updatedAt": epoch(d.UpdatedAt),
			"rolloutState": d.RolloutState, "rolloutStateReason": d.RolloutReason}
		if s.LaunchType != "" {
			dj["launchType"] = s.LaunchType
		}
		for _, k := range []string{"networkConfiguration", "platformVersion", "capacityProviderStrategy"} {
			if v, ok := s.Spec[k]; ok {
				dj[k] = v
			}
		}
		deps = append(deps, dj)
	}
	out["deployments"] = nonNil(deps)
	out["runningCount"], out["pendingCount"] = running, pending
	events := []any{}
	for i := len(s.Events) - 1; i >= 0; i-- {
		e := s.Events[i]
		events = append(events, map[string]any{"id": e.ID, "createdAt": epoch(e.CreatedAt), "message": e.Message})
	}
	out["events"] = events
	if hasInclude(include, "TAGS") {
		out["tags"] = ecsTagList(s.Tags)
	}
	return out
}

// service returns the service ref (name or ARN) of the cluster.
func (c *ecsCluster) service(ref string) (string, *ecsService) {
	name := lastSegment(ref)
	return name, c.Services[name]
}

func ecsDescribeServices(g *ecsGapState, now time.Time, req []byte) (any, bool, error) {
	var in struct {
		Cluster  string   `json:"cluster"`
		Services []string `json:"services"`
		Include  []string `json:"include"`
	}
	if err := decodeECS(req, &in); err != nil {
		return nil, false, err
	}
	if len(in.Services) == 0 || len(in.Services) > 10 {
		return nil, false, ecsErrorf("InvalidParameterException", "services must have between 1 and 10 elements.")
	}
	cname, c, err := g.cluster(in.Cluster)
	if err != nil {
		return nil, false, err
	}
	services, failures := []any{}, []any{}
	for _, ref := range in.Services {
		name, s := c.service(ref)
		if s == nil {
			failures = append(failures, map[string]string{"arn": ecsServiceARN(cname, name), "reason": "MISSING"})
			continue
		}
		services = append(services, g.serviceJSON(cname, name, s, now, in.Include))
	}
	return map[string]any{"services": services, "failures": failures}, false, nil
}

func ecsListServices(g *ecsGapState, _ time.Time, req []byte) (any, bool, error) {
	var in struct {
		Cluster            string `json:"cluster"`
		LaunchType         string `json:"launchType"`
		SchedulingStrategy string `json:"schedulingStrategy"`
		MaxResults         int    `json:"maxResults"`
		NextToken          string `json:"nextToken"`
	}
	if err := decodeECS(req, &in); err != nil {
		return nil, false, err
	}
	cname, c, err := g.cluster(in.Cluster)
	if err != nil {
		return nil, false, err
	}
	var arns []string
	for _, name := range slices.Sorted(maps.Keys(c.Services)) {
		s := c.Services[name]
		var strategy string
		_ = json.Unmarshal(s.Spec["schedulingStrategy"], &strategy)
		if s.Status == "INACTIVE" || (in.LaunchType != "" && in.LaunchType != s.LaunchType) || (in.SchedulingStrategy != "" && in.SchedulingStrategy != strategy) {
			continue
		}
		arns = append(arns, ecsServiceARN(cname, name))
	}
	page, next, err := paginate(arns, in.MaxResults, in.NextToken, 10)
	if err != nil {
		return nil, false, err
	}
	return map[string]any{"serviceArns": nonNil(page), "nextToken": emptyNil(next)}, false, nil
}

func ecsUpdateService(g *ecsGapState, now time.Time, req []byte) (any, bool, error) {
	var in ecsServiceRequest
	var raw map[string]json.RawMessage
	if err := decodeECS(req, &in); err != nil {
		return nil, false, err
	}
	_ = json.Unmarshal(req, &raw)
	cname, c, err := g.cluster(in.Cluster)
	if err != nil {
		return nil, false, err
	}
	sname, s := c.service(in.Service)
	if s == nil {
		return nil, false, errECSServiceNotFound
	}
	if s.Status != "ACTIVE" {
		return nil, false, ecsErrorf("ServiceNotActiveException", "Service was not ACTIVE.")
	}
	newDeployment := in.ForceNewDeployment
	if in.TaskDefinition != "" {
		family, rev, td := g.taskDef(in.TaskDefinition)
		if td == nil || td.Status != "ACTIVE" {
			return nil, false, ecsErrorf("InvalidParameterException", "TaskDefinition not found.")
		}
		if arn := ecsTaskDefARN(family, rev); arn != s.TaskDef {
			s.TaskDef = arn
			newDeployment = true
		}
	}
	for _, k := range ecsServiceSpecKeys {
		if v, ok := raw[k]; ok {
			if string(s.Spec[k]) != string(v) && (k == "networkConfiguration" || k == "platformVersion" || k == "loadBalancers" || k == "capacityProviderStrategy") {
				newDeployment = true
			}
			s.Spec[k] = v
		}
	}
	if in.DesiredCount != nil {
		s.DesiredCount = *in.DesiredCount
	}
	if newDeployment {
		g.newDeployment(cname, c, sname, s, now)
	} else if in.DesiredCount != nil {
		g.scale(c, sname, s, now)
	}
	return map[string]any{"service": g.serviceJSON(cname, sname, s, now, nil)}, true, nil
}

// scale brings the PRIMARY deployment's tasks to the service's desired count.
func (g *ecsGapState) scale(c *ecsCluster, sname string, s *ecsService, now time.Time) {
	p := s.Deployments[0]
	p.DesiredCount = s.DesiredCount
	p.UpdatedAt = now
	var live []*ecsTask
	for _, t := range c.serviceTasks(sname, p.ID) {
		if at := t.stoppedAt(); t.StopAt == nil && (at == nil || now.Before(*at)) {
			live = append(live, t)
		}
	}
	switch n := len(live) - s.DesiredCount; {
	case n < 0 && p.RolloutState != "FAILED":
		g.launch(c, sname, s, p, -n, now)
	case n > 0:
		slices.SortStableFunc(live, func(a, b *ecsTask) int { return b.CreatedAt.Compare(a.CreatedAt) })
		for _, t := range live[:n] {
			t.stop(now, "ServiceSchedulerInitiated", "Scaling activity initiated by (deployment "+p.ID+")")
		}
		s.event(now, "(service %s) has stopped %d running tasks.", sname, n)
	}
}

func ecsDeleteService(g *ecsGapState, now time.Time, req []byte) (any, bool, error) {
	var in ecsServiceRequest
	if err := decodeECS(req, &in); err != nil {
		return nil, false, err
	}
	cname, c, err := g.cluster(in.Cluster)
	if err != nil {
		return nil, false, err
	}
	sname, s := c.service(in.Service)
	if s == nil {
		return nil, false, errECSServiceNotFound
	}
	if s.Status == "INACTIVE" {
		return nil, false, ecsErrorf("ServiceNotActiveException", "Service was not ACTIVE.")
	}
	if s.Status == "ACTIVE" && s.DesiredCount > 0 && !in.Force {
		return nil, false, ecsErrorf("InvalidParameterException", "The service cannot be stopped while it is scaled above 0.")
	}
	s.Status = "DRAINING"
	s.DesiredCount = 0
	for _, d := range s.Deployments {
		d.DesiredCount = 0
		d.UpdatedAt = now
	}
	for _, t := range c.serviceTasks(sname, "") {
		t.stop(now, "ServiceSchedulerInitiated", "Service "+sname+" was deleted.")
	}
	return map[string]any{"service": g.serviceJSON(cname, sname, s, now, nil)}, true, nil
}

// ---------------------------------------------------------------------------------------------
// Tasks.

func ecsRunTask(g *ecsGapState, now time.Time, req []byte) (any, bool, error) {
	var in struct {
		ecsServiceRequest
		Count     int             `json:"count"`
		Group     string          `json:"group"`
		StartedBy string          `json:"startedBy"`
		Overrides json.RawMessage `json:"overrides"`
	}
	if err := decodeECS(req, &in); err != nil {
		return nil, false, err
	}
	cname, c, err := g.cluster(in.Cluster)
	if err != nil {
		return nil, false, err
	}
	count := cmp.Or(in.Count, 1)
	if count < 1 || count > 10 {
		return nil, false, ecsErrorf("InvalidParameterException", "Count must be between 1 and 10.")
	}
	_, _, td := g.taskDef(in.TaskDefinition)
	if td == nil || td.Status != "ACTIVE" {
		return nil, false, ecsErrorf("InvalidParameterException", "TaskDefinition not found.")
	}
	if err := checkNetwork(td, &in.ecsServiceRequest); err != nil {
		return nil, false, err
	}
	tasks := []any{}
	for range count {
		t := g.newTask(in.TaskDefinition, now)
		t.LaunchType = cmp.Or(in.LaunchType, "EC2")
		t.Group = cmp.Or(in.Group, t.Group)
		t.StartedBy, t.Overrides, t.Tags = in.StartedBy, in.Overrides, ecsTagMap(in.Tags)
		id := newTaskID()
		if c.Tasks == nil {
			c.Tasks = map[string]*ecsTask{}
		}
		c.Tasks[id] = t
		tasks = append(tasks, taskJSON(cname, id, t, now, []string{"TAGS"}))
	}
	return map[string]any{"tasks": tasks, "failures": []any{}}, true, nil
}

func taskJSON(cname, id string, t *ecsTask, now time.Time, include []string) map[string]any {
	arn := ecsTaskARN(cname, id)
	last, desired := t.state(now)
	out := map[string]any{"taskArn": arn, "clusterArn": ecsClusterARN(cname), "taskDefinitionArn": t.TaskDef, "lastStatus": last,
		"desiredStatus": desired, "createdAt": epoch(t.CreatedAt), "group": t.Group, "version": 1, "availabilityZone": "us-east-1a",
		"attachments": []any{}, "overrides": json.RawMessage(`{"containerOverrides":[],"inferenceAcceleratorOverrides":[]}`)}
	if t.LaunchType != "" {
		out["launchType"] = t.LaunchType
	}
	if t.StartedBy != "" {
		out["startedBy"] = t.StartedBy
	}
	if t.CPU != "" {
		out["cpu"] = t.CPU
	}
	if t.Memory != "" {
		out["memory"] = t.Memory
	}
	if len(t.Overrides) > 0 {
		out["overrides"] = t.Overrides
	}
	if at := t.runningAt(); at != nil && !now.Before(*at) {
		out["startedAt"] = epoch(*at)
		out["connectivity"] = "CONNECTED"
		out["connectivityAt"] = epoch(*at)
	}
	if t.StopAt != nil {
		out["stoppingAt"] = epoch(*t.StopAt)
	}
	stopped := last == "STOPPED"
	failed := stopped && t.failed()
	if stopped {
		out["stoppedAt"] = epoch(*t.stoppedAt())
		out["executionStoppedAt"] = epoch(*t.stoppedAt())
		if failed {
			out["stopCode"], out["stoppedReason"] = "EssentialContainerExited", "Essential container in task exited"
		} else {
			out["stopCode"], out["stoppedReason"] = t.StopCode, t.StopReason
		}
	} else if t.StopAt != nil {
		out["stopCode"], out["stoppedReason"] = t.StopCode, t.StopReason
	}
	// The containers are RUNNING from when the task is, until it stops.
	ran := false
	if at := t.runningAt(); at != nil && !now.Before(*at) {
		ran = true
	}
	cstatus := "PENDING"
	switch {
	case stopped:
		cstatus = "STOPPED"
	case ran:
		cstatus = "RUNNING"
	}
	var containers []any
	for _, c := range t.Containers {
		cj := map[string]any{"containerArn": ecsARNPrefix + "container/" + cname + "/" + id + "/" + c.Name, "taskArn": arn, "name": c.Name,
			"image": c.Image, "lastStatus": cstatus, "networkInterfaces": []any{}, "networkBindings": []any{}}
		switch {
		case failed && imageBroken(c.Image):
			cj["exitCode"] = 1
			cj["reason"] = fmt.Sprintf("local aws: image %s is marked broken (its tag contains %q): the container exited with code 1", c.Image, ECSBrokenImageMarker)
		case stopped && ran:
			cj["exitCode"] = 0 // stopped when asked
		}
		containers = append(containers, cj)
	}
	out["containers"] = nonNil(containers)
	if hasInclude(include, "TAGS") {
		out["tags"] = ecsTagList(t.Tags)
	}
	return out
}

func ecsDescribeTasks(g *ecsGapState, now time.Time, req []byte) (any, bool, error) {
	var in struct {
		Cluster string   `json:"cluster"`
		Tasks   []string `json:"tasks"`
		Include []string `json:"include"`
	}
	if err := decodeECS(req, &in); err != nil {
		return nil, false, err
	}
	if len(in.Tasks) == 0 || len(in.Tasks) > 100 {
		return nil, false, ecsErrorf("InvalidParameterException", "Tasks cannot be empty.")
	}
	cname, c, err := g.cluster(in.Cluster)
	if err != nil {
		return nil, false, err
	}
	tasks, failures := []any{}, []any{}
	for _, ref := range in.Tasks {
		id := lastSegment(ref)
		if t := c.Tasks[id]; t != nil {
			tasks = append(tasks, taskJSON(cname, id, t, now, in.Include))
		} else {
			failures = append(failures, map[string]string{"arn": ecsTaskARN(cname, id), "reason": "MISSING"})
		}
	}
	return map[string]any{"tasks": tasks, "failures": failures}, false, nil
}

func ecsListTasks(g *ecsGapState, now time.Time, req []byte) (any, bool, error) {
	var in struct {
		Cluster       string `json:"cluster"`
		Family        string `json:"family"`
		ServiceName   string `json:"serviceName"`
		StartedBy     string `json:"startedBy"`
		DesiredStatus string `json:"desiredStatus"`
		LaunchType    string `json:"launchType"`
		MaxResults    int    `json:"maxResults"`
		NextToken     string `json:"nextToken"`
	}
	if err := decodeECS(req, &in); err != nil {
		return nil, false, err
	}
	cname, c, err := g.cluster(in.Cluster)
	if err != nil {
		return nil, false, err
	}
	if in.ServiceName != "" {
		if _, s := c.service(in.ServiceName); s == nil {
			return nil, false, errECSServiceNotFound
		}
	}
	want := cmp.Or(in.DesiredStatus, "RUNNING")
	var ids []string
	for id, t := range c.Tasks {
		_, desired := t.state(now)
		family := strings.Split(lastSegment(t.TaskDef), ":")[0]
		if desired != want || (in.Family != "" && in.Family != family) || (in.ServiceName != "" && lastSegment(in.ServiceName) != t.Service) ||
			(in.StartedBy != "" && in.StartedBy != t.StartedBy) || (in.LaunchType != "" && in.LaunchType != t.LaunchType) {
			continue
		}
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b string) int {
		return cmp.Or(c.Tasks[a].CreatedAt.Compare(c.Tasks[b].CreatedAt), strings.Compare(a, b))
	})
	var arns []string
	for _, id := range ids {
		arns = append(arns, ecsTaskARN(cname, id))
	}
	page, next, err := paginate(arns, in.MaxResults, in.NextToken, 100)
	if err != nil {
		return nil, false, err
	}
	return map[string]any{"taskArns": nonNil(page), "nextToken": emptyNil(next)}, false, nil
}

func ecsStopTask(g *ecsGapState, now time.Time, req []byte) (any, bool, error) {
	var in struct {
		Cluster string `json:"cluster"`
		Task    string `json:"task"`
		Reason  string `json:"reason"`
	}
	if err := decodeECS(req, &in); err != nil {
		return nil, false, err
	}
	cname, c, err := g.cluster(in.Cluster)
	if err != nil {
		return nil, false, err
	}
	id := lastSegment(in.Task)
	t := c.Tasks[id]
	if t == nil {
		return nil, false, ecsErrorf("InvalidParameterException", "The referenced task was not found.")
	}
	t.stop(now, "UserInitiated", cmp.Or(in.Reason, "Task stopped by user"))
	return map[string]any{"task": taskJSON(cname, id, t, now, nil)}, true, nil
}

// ---------------------------------------------------------------------------------------------
// Tags.

// tagsOf returns a pointer to the tags of the resource arn.
func (g *ecsGapState) tagsOf(arn string) (*map[string]string, error) {
	rest, ok := strings.CutPrefix(arn, ecsARNPrefix)
	if !ok {
		return nil, ecsErrorf("InvalidParameterException", "Invalid identifier: %s", arn)
	}
	kind, path, _ := strings.Cut(rest, "/")
	parts := strings.Split(path, "/")
	notFound := ecsErrorf("ResourceNotFoundException", "The specified resource wasn't found.")
	switch {
	case kind == "cluster" && len(parts) == 1:
		if c := g.Clusters[parts[0]]; c != nil && c.Status == "ACTIVE" {
			return &c.Tags, nil
		}
	case kind == "service" && len(parts) == 2:
		if c := g.Clusters[parts[0]]; c != nil {
			if s := c.Services[parts[1]]; s != nil && s.Status != "INACTIVE" {
				return &s.Tags, nil
			}
		}
	case kind == "task" && len(parts) == 2:
		if c := g.Clusters[parts[0]]; c != nil {
			if t := c.Tasks[parts[1]]; t != nil {
				return &t.Tags, nil
			}
		}
	case kind == "task-definition" && len(parts) == 1:
		if _, _, td := g.taskDef(arn); td != nil && td.Status != "DELETE_IN_PROGRESS" {
			return &td.Tags, nil
		}
	default:
		return nil, ecsErrorf("InvalidParameterException", "Invalid identifier: %s", arn)
	}
	return nil, notFound
}

func ecsTagResource(g *ecsGapState, _ time.Time, req []byte) (any, bool, error) {
	var in struct {
		ResourceArn string   `json:"resourceArn"`
		Tags        []ecsTag `json:"tags"`
	}
	if err := decodeECS(req, &in); err != nil {
		return nil, false, err
	}
	tags, err := g.tagsOf(in.ResourceArn)
	if err != nil {
		return nil, false, err
	}
	if *tags == nil {
		*tags = map[string]string{}
	}
	maps.Copy(*tags, ecsTagMap(in.Tags))
	return map[string]any{}, true, nil
}

func ecsUntagResource(g *ecsGapState, _ time.Time, req []byte) (any, bool, error) {
	var in struct {
		ResourceArn string   `json:"resourceArn"`
		TagKeys     []string `json:"tagKeys"`
	}
	if err := decodeECS(req, &in); err != nil {
		return nil, false, err
	}
	tags, err := g.tagsOf(in.ResourceArn)
	if err != nil {
		return nil, false, err
	}
	for _, k := range in.TagKeys {
		delete(*tags, k)
	}
	return map[string]any{}, true, nil
}

func ecsListTagsForResource(g *ecsGapState, _ time.Time, req []byte) (any, bool, error) {
	var in struct {
		ResourceArn string `json:"resourceArn"`
	}
	if err := decodeECS(req, &in); err != nil {
		return nil, false, err
	}
	tags, err := g.tagsOf(in.ResourceArn)
	if err != nil {
		return nil, false, err
	}
	return map[string]any{"tags": ecsTagList(*tags)}, false, nil
}
