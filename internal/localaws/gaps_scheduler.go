package localaws

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/google/uuid"
)

// ---------------------------------------------------------------------------------------------
// EventBridge Scheduler: kumo v0.33.1 has no TagResource, UntagResource or ListTagsForResource
// (a 404 the SDK cannot parse), drops CreateScheduleGroup's Tags, and keeps only TaskDefinitionArn,
// TaskCount, LaunchType and PlatformVersion of a target's EcsParameters (it drops
// NetworkConfiguration, CapacityProviderStrategy, PlacementConstraints/Strategy, PropagateTags,
// Tags and the rest). It keeps the other Target fields, FlexibleTimeWindow,
// ScheduleExpressionTimezone and State.
//
// The layer keeps the tags of schedule groups (CreateScheduleGroup's, TagResource,
// UntagResource) and answers ListTagsForResource from them; as in AWS only schedule groups take
// tags (a schedule's ARN is a ValidationException), and a group kumo does not have is
// ResourceNotFoundException. It keeps each schedule's EcsParameters as CreateSchedule or
// UpdateSchedule gave them, puts them in GetSchedule's Target, and forgets them at
// DeleteSchedule (and a group's at DeleteScheduleGroup, which deletes its schedules).

const schedulerGapsFile = "panka-gaps-scheduler.json"

type schedulerGapState struct {
	mu sync.Mutex
	// edit serialises the tagging operations' read-modify-write of a group's tags.
	edit sync.Mutex
	dir  string
	// Groups holds each schedule group's tags, by group name.
	Groups map[string]map[string]string `json:"groups"`
	// ECS holds each schedule's EcsParameters as given, by "group/name".
	ECS map[string]json.RawMessage `json:"ecs"`
}

var schedulerGaps = newSchedulerGapState(os.Getenv("KUMO_DATA_DIR"))

func newSchedulerGapState(dir string) *schedulerGapState {
	g := &schedulerGapState{dir: dir}
	loadGapFile(dir, schedulerGapsFile, g)
	if g.Groups == nil {
		g.Groups = map[string]map[string]string{}
	}
	if g.ECS == nil {
		g.ECS = map[string]json.RawMessage{}
	}
	return g
}

func (g *schedulerGapState) groupTags(name string) map[string]string {
	g.mu.Lock()
	defer g.mu.Unlock()
	tags := maps.Clone(g.Groups[name])
	if tags == nil {
		tags = map[string]string{}
	}
	return tags
}

// setGroupTags records the tags of the group name, or forgets the group and its schedules'
// EcsParameters (tags nil).
func (g *schedulerGapState) setGroupTags(name string, tags map[string]string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if tags == nil {
		delete(g.Groups, name)
		for k := range g.ECS {
			if strings.HasPrefix(k, name+"/") {
				delete(g.ECS, k)
			}
		}
	} else {
		g.Groups[name] = maps.Clone(tags)
	}
	return saveGapFile(g.dir, schedulerGapsFile, g)
}

func (g *schedulerGapState) ecs(key string) json.RawMessage {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.ECS[key]
}

// setECS records the EcsParameters of the schedule key, or forgets them (nil).
func (g *schedulerGapState) setECS(key string, params json.RawMessage) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if params == nil {
		delete(g.ECS, key)
	} else {
		g.ECS[key] = params
	}
	return saveGapFile(g.dir, schedulerGapsFile, g)
}

func init() {
	operationReaders["scheduler"] = schedulerOperation
	for op, h := range map[string]gapHandler{
		"CreateSchedule":      {after: schedulerPutScheduleAfter},
		"UpdateSchedule":      {after: schedulerPutScheduleAfter},
		"GetSchedule":         {after: schedulerGetScheduleAfter},
		"DeleteSchedule":      {after: schedulerDeleteScheduleAfter},
		"CreateScheduleGroup": {after: schedulerCreateGroupAfter},
		"DeleteScheduleGroup": {after: schedulerDeleteGroupAfter},
		"TagResource":         {answer: schedulerTagResource},
		"UntagResource":       {answer: schedulerUntagResource},
		"ListTagsForResource": {answer: schedulerListTags},
	} {
		gapHandlers["scheduler."+op] = h
	}
}

// schedulerRequest is a Scheduler REST request as the handlers see it: the body's fields, and
// the path and query (the handlers' only way to see them) as "_path" and "_query".
type schedulerRequest struct {
	Path   string `json:"_path"`
	Query  string `json:"_query"`
	Target *struct {
		ECS json.RawMessage `json:"EcsParameters"`
	} `json:"Target"`
	GroupName string `json:"GroupName"`
	Tags      []struct {
		Key   string `json:"Key"`
		Value string `json:"Value"`
	} `json:"Tags"`
}

func parseScheduler(body []byte) schedulerRequest {
	var r schedulerRequest
	_ = json.Unmarshal(body, &r)
	return r
}

// segments returns the unescaped segments of the request's path.
func (r schedulerRequest) segments() []string {
	seg := strings.Split(strings.Trim(r.Path, "/"), "/")
	for i, s := range seg {
		if u, err := url.PathUnescape(s); err == nil {
			seg[i] = u
		}
	}
	return seg
}

// scheduleKey returns "group/name" of a /schedules/{name} request (group from the body, or the
// query's groupName; "default" when neither names one).
func (r schedulerRequest) scheduleKey() string {
	group := r.GroupName
	if q, err := url.ParseQuery(r.Query); err == nil && q.Get("groupName") != "" {
		group = q.Get("groupName")
	}
	if group == "" {
		group = "default"
	}
	seg := r.segments()
	return group + "/" + seg[len(seg)-1]
}

// schedulerOperation names a Scheduler REST request the layer answers ("" for the rest) and
// returns its body with the path and query added; kumo gets the body as it was.
func schedulerOperation(r *http.Request) (string, []byte, error) {
	path := r.URL.EscapedPath()
	seg := strings.Split(strings.Trim(path, "/"), "/")
	op := ""
	switch {
	case len(seg) == 2 && seg[0] == "schedules":
		op = map[string]string{"POST": "CreateSchedule", "PUT": "UpdateSchedule", "GET": "GetSchedule", "DELETE": "DeleteSchedule"}[r.Method]
	case len(seg) == 2 && seg[0] == "schedule-groups":
		op = map[string]string{"POST": "CreateScheduleGroup", "GET": "GetScheduleGroup", "DELETE": "DeleteScheduleGroup"}[r.Method]
	case len(seg) == 1 && seg[0] == "schedules" && r.Method == http.MethodGet:
		op = "ListSchedules"
	case len(seg) == 1 && seg[0] == "schedule-groups" && r.Method == http.MethodGet:
		op = "ListScheduleGroups"
	case len(seg) == 2 && seg[0] == "tags":
		op = map[string]string{"POST": "TagResource", "DELETE": "UntagResource", "GET": "ListTagsForResource"}[r.Method]
	case seg[0] == "tags":
		op = "UnknownTagsOperation" // not an operation of the tags path: fail loudly
	}
	if op == "" {
		return "", nil, nil
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return "", nil, err
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	doc := map[string]any{}
	if len(bytes.TrimSpace(body)) > 0 {
		if err := json.Unmarshal(body, &doc); err != nil {
			return "", nil, fmt.Errorf("scheduler %s: %v", op, err)
		}
	}
	doc["_path"], doc["_query"] = path, r.URL.RawQuery
	withPath, err := json.Marshal(doc)
	return "scheduler." + op, withPath, err
}

func schedulerPutScheduleAfter(_ *gapServer, req, _ []byte, _ http.Header, _ any) ([]byte, error) {
	r := parseScheduler(req)
	var ecs json.RawMessage
	if r.Target != nil && len(r.Target.ECS) > 0 && string(r.Target.ECS) != "null" {
		ecs = r.Target.ECS
	}
	return nil, schedulerGaps.setECS(r.scheduleKey(), ecs)
}

func schedulerGetScheduleAfter(_ *gapServer, req, resp []byte, _ http.Header, _ any) ([]byte, error) {
	r := parseScheduler(req)
	var doc map[string]any
	if err := json.Unmarshal(resp, &doc); err != nil {
		return nil, nil // not kumo's usual answer: pass it on as it is
	}
	// GetSchedule's query names the group; kumo's answer does too.
	group, _ := doc["GroupName"].(string)
	name, _ := doc["Name"].(string)
	key := r.scheduleKey()
	if group != "" && name != "" {
		key = group + "/" + name
	}
	ecs := schedulerGaps.ecs(key)
	if ecs == nil {
		return nil, nil
	}
	target, _ := doc["Target"].(map[string]any)
	if target == nil {
		return nil, nil
	}
	target["EcsParameters"] = ecs
	return json.Marshal(doc)
}

func schedulerDeleteScheduleAfter(_ *gapServer, req, _ []byte, _ http.Header, _ any) ([]byte, error) {
	return nil, schedulerGaps.setECS(parseScheduler(req).scheduleKey(), nil)
}

func schedulerCreateGroupAfter(_ *gapServer, req, _ []byte, _ http.Header, _ any) ([]byte, error) {
	r := parseScheduler(req)
	tags := map[string]string{}
	for _, t := range r.Tags {
		tags[t.Key] = t.Value
	}
	seg := r.segments()
	return nil, schedulerGaps.setGroupTags(seg[len(seg)-1], tags)
}

func schedulerDeleteGroupAfter(_ *gapServer, req, _ []byte, _ http.Header, _ any) ([]byte, error) {
	seg := parseScheduler(req).segments()
	return nil, schedulerGaps.setGroupTags(seg[len(seg)-1], nil)
}

func schedulerTagResource(w http.ResponseWriter, r *http.Request, s *gapServer, body []byte) {
	req := parseScheduler(body)
	s.changeGroupTags(w, r, req, func(tags map[string]string) {
		for _, t := range req.Tags {
			tags[t.Key] = t.Value
		}
	})
}

func schedulerUntagResource(w http.ResponseWriter, r *http.Request, s *gapServer, body []byte) {
	req := parseScheduler(body)
	q, _ := url.ParseQuery(req.Query)
	s.changeGroupTags(w, r, req, func(tags map[string]string) {
		for _, k := range q["TagKeys"] {
			delete(tags, k)
		}
	})
}

func (s *gapServer) changeGroupTags(w http.ResponseWriter, r *http.Request, req schedulerRequest, change func(map[string]string)) {
	schedulerGaps.edit.Lock()
	defer schedulerGaps.edit.Unlock()
	group, ok := s.taggedGroup(w, r, req)
	if !ok {
		return
	}
	tags := schedulerGaps.groupTags(group)
	change(tags)
	if err := schedulerGaps.setGroupTags(group, tags); err != nil {
		writeSchedulerError(w, http.StatusInternalServerError, "InternalServerException", "local aws: "+err.Error())
		return
	}
	writeSchedulerJSON(w, map[string]any{})
}

func schedulerListTags(w http.ResponseWriter, r *http.Request, s *gapServer, body []byte) {
	group, ok := s.taggedGroup(w, r, parseScheduler(body))
	if !ok {
		return
	}
	tags := schedulerGaps.groupTags(group)
	list := []map[string]string{}
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		list = append(list, map[string]string{"Key": k, "Value": tags[k]})
	}
	writeSchedulerJSON(w, map[string]any{"Tags": list})
}

// taggedGroup returns the schedule group named by a tagging request's ARN, or answers with
// Scheduler's error: only schedule groups take tags, and the group must exist in kumo.
func (s *gapServer) taggedGroup(w http.ResponseWriter, r *http.Request, req schedulerRequest) (string, bool) {
	seg := req.segments()
	arn := seg[len(seg)-1]
	_, group, ok := strings.Cut(arn, ":schedule-group/")
	if !ok || !strings.HasPrefix(arn, "arn:") || group == "" || strings.Contains(group, "/") {
		writeSchedulerError(w, http.StatusBadRequest, "ValidationException", fmt.Sprintf("Invalid ARN %s: only schedule groups can be tagged", arn))
		return "", false
	}
	status, data, err := s.askKumoREST(r.Context(), "scheduler", http.MethodGet, "/schedule-groups/"+url.PathEscape(group), nil)
	switch {
	case err != nil:
		writeSchedulerError(w, http.StatusInternalServerError, "InternalServerException", "local aws: "+err.Error())
		return "", false
	case status == http.StatusNotFound:
		writeSchedulerError(w, http.StatusNotFound, "ResourceNotFoundException", fmt.Sprintf("Schedule group %s does not exist.", group))
		return "", false
	case status != http.StatusOK:
		writeSchedulerError(w, http.StatusInternalServerError, "InternalServerException", fmt.Sprintf("local aws: GetScheduleGroup %s: kumo answered %d %s", group, status, bytes.TrimSpace(data)))
		return "", false
	}
	return group, true
}

func writeSchedulerJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("x-amzn-RequestId", uuid.NewString())
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(v)
}

func writeSchedulerError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("x-amzn-RequestId", uuid.NewString())
	w.Header().Set("x-amzn-ErrorType", code)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"Message": msg})
}

func init() {
	gapHandlers["scheduler.UnknownTagsOperation"] = gapHandler{answer: func(w http.ResponseWriter, r *http.Request, _ *gapServer, _ []byte) {
		writeSchedulerError(w, http.StatusNotFound, "UnknownOperationException", "local aws: no Scheduler operation "+r.Method+" "+r.URL.Path)
	}}
}

var schedulerAnswerARN = regexp.MustCompile(`"(Arn|ScheduleArn|ScheduleGroupArn)":"arn:aws:scheduler:([a-z0-9-]+):` + kumoAccount + `:`)

// schedulerAccountAnswer gives the schedule and group ARNs of a Scheduler answer STS's account
// (see gaps_iam.go). A target's ARN is never a schedule's or a group's.
func schedulerAccountAnswer(resp []byte) []byte {
	return schedulerAnswerARN.ReplaceAll(resp, []byte(`"$1":"arn:aws:scheduler:$2:`+stsAccount+`:`))
}

func init() {
	for _, op := range []string{"CreateSchedule", "UpdateSchedule", "GetSchedule", "ListSchedules", "CreateScheduleGroup", "GetScheduleGroup", "ListScheduleGroups"} {
		gapHandlers["scheduler."+op] = withAccountAnswer(gapHandlers["scheduler."+op], schedulerAccountAnswer)
	}
}
