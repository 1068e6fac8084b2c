package localaws

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// ---------------------------------------------------------------------------------------------
// Application Auto Scaling (gaps_autoscaling.go): kumo v0.33.1 has none. The layer answers its
// scalable targets, scaling policies and tags itself (JSON protocol, X-Amz-Target
// AnyScaleFrontendService.*): it checks what it is given as Application Auto Scaling does and
// keeps it, but scales nothing (no alarm is made for a target tracking policy). Any other
// operation of the service fails with UnknownOperationException naming it.

const (
	aasGapsFile = "panka-gaps-autoscaling.json"
	// aasAccount and aasRegion name the layer's ARNs: kumo's account (STS GetCallerIdentity)
	// and region.
	aasAccount = "000000000000"
	aasRegion  = "us-east-1"
)

// aasTarget is a scalable target, as DescribeScalableTargets answers.
type aasTarget struct {
	ServiceNamespace  string          `json:"ServiceNamespace"`
	ResourceID        string          `json:"ResourceId"`
	ScalableDimension string          `json:"ScalableDimension"`
	MinCapacity       int64           `json:"MinCapacity"`
	MaxCapacity       int64           `json:"MaxCapacity"`
	RoleARN           string          `json:"RoleARN"`
	SuspendedState    json.RawMessage `json:"SuspendedState,omitempty"`
	CreationTime      float64         `json:"CreationTime"`
	ScalableTargetARN string          `json:"ScalableTargetARN"`
}

// aasPolicy is a scaling policy, as DescribeScalingPolicies answers.
type aasPolicy struct {
	PolicyARN         string          `json:"PolicyARN"`
	PolicyName        string          `json:"PolicyName"`
	ServiceNamespace  string          `json:"ServiceNamespace"`
	ResourceID        string          `json:"ResourceId"`
	ScalableDimension string          `json:"ScalableDimension"`
	PolicyType        string          `json:"PolicyType"`
	StepScaling       json.RawMessage `json:"StepScalingPolicyConfiguration,omitempty"`
	TargetTracking    json.RawMessage `json:"TargetTrackingScalingPolicyConfiguration,omitempty"`
	Predictive        json.RawMessage `json:"PredictiveScalingPolicyConfiguration,omitempty"`
	Alarms            []any           `json:"Alarms"`
	CreationTime      float64         `json:"CreationTime"`
}

// aasStored keeps a target's tags, which DescribeScalableTargets does not answer with.
type aasStored struct {
	Target aasTarget         `json:"target"`
	Tags   map[string]string `json:"tags,omitempty"`
}

type aasGapState struct {
	mu  sync.Mutex
	dir string
	// Targets by aasKey (namespace, resource ID, dimension).
	Targets map[string]*aasStored `json:"targets"`
	// Policies by aasKey and policy name.
	Policies map[string]map[string]*aasPolicy `json:"policies"`
}

var aasGaps = newAASGapState(os.Getenv("KUMO_DATA_DIR"))

func newAASGapState(dir string) *aasGapState {
	g := &aasGapState{dir: dir}
	loadGapFile(dir, aasGapsFile, g)
	if g.Targets == nil {
		g.Targets = map[string]*aasStored{}
	}
	if g.Policies == nil {
		g.Policies = map[string]map[string]*aasPolicy{}
	}
	return g
}

func (g *aasGapState) saveLocked() error { return saveGapFile(g.dir, aasGapsFile, g) }

func aasKey(ns, id, dim string) string { return ns + "|" + id + "|" + dim }

func init() {
	for op, h := range map[string]func(*aasGapState, []byte) (any, *aasError){
		"RegisterScalableTarget":   aasRegister,
		"DescribeScalableTargets":  aasDescribeTargets,
		"DeregisterScalableTarget": aasDeregister,
		"PutScalingPolicy":         aasPutPolicy,
		"DescribeScalingPolicies":  aasDescribePolicies,
		"DeleteScalingPolicy":      aasDeletePolicy,
		"TagResource":              aasTagResource,
		"UntagResource":            aasUntagResource,
		"ListTagsForResource":      aasListTags,
	} {
		gapHandlers["application-autoscaling."+op] = gapHandler{answer: aasAnswer(h)}
	}
	gapHandlers["application-autoscaling.*"] = gapHandler{answer: aasUnknown}
}

type aasError struct {
	status int
	code   string
	msg    string
}

func aasInvalid(format string, args ...any) *aasError {
	return &aasError{http.StatusBadRequest, "ValidationException", fmt.Sprintf(format, args...)}
}

func aasNoTarget(ns, id, dim string) *aasError {
	return &aasError{http.StatusBadRequest, "ObjectNotFoundException",
		fmt.Sprintf("No scalable target registered for service namespace: %s, resource ID: %s, scalable dimension: %s", ns, id, dim)}
}

// aasAnswer runs h under the state's lock and saves the state after a change.
func aasAnswer(h func(*aasGapState, []byte) (any, *aasError)) func(http.ResponseWriter, *http.Request, *gapServer, []byte) {
	return func(w http.ResponseWriter, _ *http.Request, _ *gapServer, req []byte) {
		g := aasGaps
		g.mu.Lock()
		out, aerr := h(g, req)
		if aerr == nil {
			if err := g.saveLocked(); err != nil {
				aerr = &aasError{http.StatusInternalServerError, "InternalServiceException", "local aws: " + err.Error()}
			}
		}
		g.mu.Unlock()
		if aerr != nil {
			writeAASError(w, aerr.status, aerr.code, aerr.msg)
			return
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("x-amzn-RequestId", uuid.NewString())
		_ = json.NewEncoder(w).Encode(out)
	}
}

func writeAASError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("x-amzn-RequestId", uuid.NewString())
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg})
}

// aasUnknown answers an operation of the service the layer does not have: kumo has none.
func aasUnknown(w http.ResponseWriter, r *http.Request, _ *gapServer, _ []byte) {
	op := r.Header.Get("X-Amz-Target")
	writeAASError(w, http.StatusBadRequest, "UnknownOperationException",
		"local aws: Application Auto Scaling operation "+op+" is not supported by the emulator")
}

// aasRef names a scalable target in a request.
type aasRef struct {
	ServiceNamespace  string `json:"ServiceNamespace"`
	ResourceID        string `json:"ResourceId"`
	ScalableDimension string `json:"ScalableDimension"`
}

func (r aasRef) check() *aasError {
	switch {
	case r.ServiceNamespace == "":
		return aasInvalid("ServiceNamespace is required")
	case r.ResourceID == "":
		return aasInvalid("ResourceId is required")
	case r.ScalableDimension == "":
		return aasInvalid("ScalableDimension is required")
	}
	if r.ServiceNamespace == "ecs" {
		parts := strings.Split(r.ResourceID, "/")
		if len(parts) != 3 || parts[0] != "service" || parts[1] == "" || parts[2] == "" {
			return aasInvalid("Unsupported resource ID: %s (want service/CLUSTER/SERVICE)", r.ResourceID)
		}
		if r.ScalableDimension != "ecs:service:DesiredCount" {
			return aasInvalid("Unsupported scalable dimension %s for service namespace ecs", r.ScalableDimension)
		}
	}
	return nil
}

func (r aasRef) key() string { return aasKey(r.ServiceNamespace, r.ResourceID, r.ScalableDimension) }

func aasNow() float64 { return float64(time.Now().UnixMilli()) / 1000 }

func aasRegister(g *aasGapState, body []byte) (any, *aasError) {
	var req struct {
		aasRef
		MinCapacity    *int64            `json:"MinCapacity"`
		MaxCapacity    *int64            `json:"MaxCapacity"`
		RoleARN        string            `json:"RoleARN"`
		SuspendedState json.RawMessage   `json:"SuspendedState"`
		Tags           map[string]string `json:"Tags"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, aasInvalid("%v", err)
	}
	if err := req.check(); err != nil {
		return nil, err
	}
	st := g.Targets[req.key()]
	if st == nil {
		if req.MinCapacity == nil || req.MaxCapacity == nil {
			return nil, aasInvalid("MinCapacity and MaxCapacity are required for registering a new scalable target")
		}
		role := req.RoleARN
		if role == "" && req.ServiceNamespace == "ecs" {
			role = "arn:aws:iam::" + aasAccount + ":role/aws-service-role/ecs.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService"
		}
		st = &aasStored{Target: aasTarget{
			ServiceNamespace: req.ServiceNamespace, ResourceID: req.ResourceID, ScalableDimension: req.ScalableDimension,
			RoleARN: role, CreationTime: aasNow(),
			ScalableTargetARN: fmt.Sprintf("arn:aws:application-autoscaling:%s:%s:scalable-target/%s", aasRegion, aasAccount, strings.ReplaceAll(uuid.NewString(), "-", "")),
		}}
	}
	t := st.Target
	if req.MinCapacity != nil {
		t.MinCapacity = *req.MinCapacity
	}
	if req.MaxCapacity != nil {
		t.MaxCapacity = *req.MaxCapacity
	}
	if t.MinCapacity < 0 || t.MaxCapacity < t.MinCapacity {
		return nil, aasInvalid("Minimum capacity cannot be greater than maximum capacity")
	}
	if req.RoleARN != "" {
		t.RoleARN = req.RoleARN
	}
	if req.SuspendedState != nil {
		t.SuspendedState = req.SuspendedState
	}
	tags := maps.Clone(st.Tags)
	if len(req.Tags) > 0 {
		if tags == nil {
			tags = map[string]string{}
		}
		maps.Copy(tags, req.Tags)
	}
	g.Targets[req.key()] = &aasStored{Target: t, Tags: tags}
	return map[string]string{"ScalableTargetARN": t.ScalableTargetARN}, nil
}

func aasDescribeTargets(g *aasGapState, body []byte) (any, *aasError) {
	var req struct {
		ServiceNamespace  string   `json:"ServiceNamespace"`
		ResourceIDs       []string `json:"ResourceIds"`
		ScalableDimension string   `json:"ScalableDimension"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, aasInvalid("%v", err)
	}
	if req.ServiceNamespace == "" {
		return nil, aasInvalid("ServiceNamespace is required")
	}
	out := []aasTarget{}
	for _, k := range slices.Sorted(maps.Keys(g.Targets)) {
		t := g.Targets[k].Target
		if t.ServiceNamespace != req.ServiceNamespace ||
			(len(req.ResourceIDs) > 0 && !slices.Contains(req.ResourceIDs, t.ResourceID)) ||
			(req.ScalableDimension != "" && req.ScalableDimension != t.ScalableDimension) {
			continue
		}
		out = append(out, t)
	}
	return map[string]any{"ScalableTargets": out}, nil
}

func aasDeregister(g *aasGapState, body []byte) (any, *aasError) {
	var req aasRef
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, aasInvalid("%v", err)
	}
	if err := req.check(); err != nil {
		return nil, err
	}
	if g.Targets[req.key()] == nil {
		return nil, aasNoTarget(req.ServiceNamespace, req.ResourceID, req.ScalableDimension)
	}
	delete(g.Targets, req.key())
	delete(g.Policies, req.key()) // Application Auto Scaling deletes the target's policies
	return map[string]any{}, nil
}

var aasPolicyTypes = []string{"StepScaling", "TargetTrackingScaling", "PredictiveScaling"}

func aasPutPolicy(g *aasGapState, body []byte) (any, *aasError) {
	var req struct {
		aasRef
		PolicyName     string          `json:"PolicyName"`
		PolicyType     string          `json:"PolicyType"`
		StepScaling    json.RawMessage `json:"StepScalingPolicyConfiguration"`
		TargetTracking json.RawMessage `json:"TargetTrackingScalingPolicyConfiguration"`
		Predictive     json.RawMessage `json:"PredictiveScalingPolicyConfiguration"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, aasInvalid("%v", err)
	}
	if err := req.check(); err != nil {
		return nil, err
	}
	if req.PolicyName == "" {
		return nil, aasInvalid("PolicyName is required")
	}
	if req.PolicyType == "" {
		req.PolicyType = "StepScaling"
	}
	if !slices.Contains(aasPolicyTypes, req.PolicyType) {
		return nil, aasInvalid("Unsupported policy type %s", req.PolicyType)
	}
	if req.PolicyType == "TargetTrackingScaling" {
		if err := checkTargetTracking(req.TargetTracking); err != nil {
			return nil, err
		}
	}
	if req.PolicyType == "StepScaling" && req.StepScaling == nil {
		return nil, aasInvalid("StepScalingPolicyConfiguration is required for a StepScaling policy")
	}
	if g.Targets[req.key()] == nil {
		return nil, aasNoTarget(req.ServiceNamespace, req.ResourceID, req.ScalableDimension)
	}
	ps := g.Policies[req.key()]
	if ps == nil {
		ps = map[string]*aasPolicy{}
		g.Policies[req.key()] = ps
	}
	p := ps[req.PolicyName]
	if p == nil {
		p = &aasPolicy{
			PolicyARN: fmt.Sprintf("arn:aws:autoscaling:%s:%s:scalingPolicy:%s:resource/%s/%s:policyName/%s",
				aasRegion, aasAccount, uuid.NewString(), req.ServiceNamespace, req.ResourceID, req.PolicyName),
			PolicyName: req.PolicyName, ServiceNamespace: req.ServiceNamespace, ResourceID: req.ResourceID,
			ScalableDimension: req.ScalableDimension, Alarms: []any{}, CreationTime: aasNow(),
		}
	}
	np := *p
	np.PolicyType, np.StepScaling, np.TargetTracking, np.Predictive = req.PolicyType, req.StepScaling, req.TargetTracking, req.Predictive
	ps[req.PolicyName] = &np
	return map[string]any{"PolicyARN": np.PolicyARN, "Alarms": []any{}}, nil
}

// checkTargetTracking checks a target tracking configuration as Application Auto Scaling does.
func checkTargetTracking(raw json.RawMessage) *aasError {
	if raw == nil {
		return aasInvalid("TargetTrackingScalingPolicyConfiguration is required for a TargetTrackingScaling policy")
	}
	var c struct {
		TargetValue *float64 `json:"TargetValue"`
		Predefined  *struct {
			Type string `json:"PredefinedMetricType"`
		} `json:"PredefinedMetricSpecification"`
		Customized json.RawMessage `json:"CustomizedMetricSpecification"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return aasInvalid("%v", err)
	}
	switch {
	case c.TargetValue == nil:
		return aasInvalid("TargetValue is required")
	case (c.Predefined == nil) == (c.Customized == nil || string(c.Customized) == "null"):
		return aasInvalid("Exactly one of PredefinedMetricSpecification and CustomizedMetricSpecification is required")
	case c.Predefined != nil && c.Predefined.Type == "":
		return aasInvalid("PredefinedMetricType is required")
	}
	return nil
}

func aasDescribePolicies(g *aasGapState, body []byte) (any, *aasError) {
	var req struct {
		ServiceNamespace  string   `json:"ServiceNamespace"`
		ResourceID        string   `json:"ResourceId"`
		ScalableDimension string   `json:"ScalableDimension"`
		PolicyNames       []string `json:"PolicyNames"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, aasInvalid("%v", err)
	}
	if req.ServiceNamespace == "" {
		return nil, aasInvalid("ServiceNamespace is required")
	}
	out := []*aasPolicy{}
	for _, k := range slices.Sorted(maps.Keys(g.Policies)) {
		for _, name := range slices.Sorted(maps.Keys(g.Policies[k])) {
			p := g.Policies[k][name]
			if p.ServiceNamespace != req.ServiceNamespace ||
				(req.ResourceID != "" && req.ResourceID != p.ResourceID) ||
				(req.ScalableDimension != "" && req.ScalableDimension != p.ScalableDimension) ||
				(len(req.PolicyNames) > 0 && !slices.Contains(req.PolicyNames, p.PolicyName)) {
				continue
			}
			out = append(out, p)
		}
	}
	return map[string]any{"ScalingPolicies": out}, nil
}

func aasDeletePolicy(g *aasGapState, body []byte) (any, *aasError) {
	var req struct {
		aasRef
		PolicyName string `json:"PolicyName"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, aasInvalid("%v", err)
	}
	if err := req.check(); err != nil {
		return nil, err
	}
	if g.Policies[req.key()][req.PolicyName] == nil {
		return nil, &aasError{http.StatusBadRequest, "ObjectNotFoundException",
			fmt.Sprintf("No scaling policy found for service namespace: %s, resource ID: %s, scalable dimension: %s, policy name: %s",
				req.ServiceNamespace, req.ResourceID, req.ScalableDimension, req.PolicyName)}
	}
	delete(g.Policies[req.key()], req.PolicyName)
	if len(g.Policies[req.key()]) == 0 {
		delete(g.Policies, req.key())
	}
	return map[string]any{}, nil
}

// targetByARN returns the scalable target arn, or ResourceNotFoundException.
func (g *aasGapState) targetByARN(arn string) (*aasStored, *aasError) {
	if arn == "" {
		return nil, aasInvalid("ResourceARN is required")
	}
	for _, st := range g.Targets {
		if st.Target.ScalableTargetARN == arn {
			return st, nil
		}
	}
	return nil, &aasError{http.StatusBadRequest, "ResourceNotFoundException", "No scalable target found for ARN " + arn}
}

func aasTagResource(g *aasGapState, body []byte) (any, *aasError) {
	var req struct {
		ResourceARN string            `json:"ResourceARN"`
		Tags        map[string]string `json:"Tags"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, aasInvalid("%v", err)
	}
	st, aerr := g.targetByARN(req.ResourceARN)
	if aerr != nil {
		return nil, aerr
	}
	if st.Tags == nil {
		st.Tags = map[string]string{}
	}
	maps.Copy(st.Tags, req.Tags)
	return map[string]any{}, nil
}

func aasUntagResource(g *aasGapState, body []byte) (any, *aasError) {
	var req struct {
		ResourceARN string   `json:"ResourceARN"`
		TagKeys     []string `json:"TagKeys"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, aasInvalid("%v", err)
	}
	st, aerr := g.targetByARN(req.ResourceARN)
	if aerr != nil {
		return nil, aerr
	}
	for _, k := range req.TagKeys {
		delete(st.Tags, k)
	}
	return map[string]any{}, nil
}

func aasListTags(g *aasGapState, body []byte) (any, *aasError) {
	var req struct {
		ResourceARN string `json:"ResourceARN"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, aasInvalid("%v", err)
	}
	st, aerr := g.targetByARN(req.ResourceARN)
	if aerr != nil {
		return nil, aerr
	}
	tags := maps.Clone(st.Tags)
	if tags == nil {
		tags = map[string]string{}
	}
	return map[string]any{"Tags": tags}, nil
}
