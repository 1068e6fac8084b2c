package localaws

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// EventBridge gaps (see the package doc): kumo drops the tags CreateEventBus is given, has no
// archives, and drops a target's SqsParameters and DeadLetterConfig. The layer tags the bus it
// creates, answers the archive operations from its own state, and keeps the targets' dropped
// fields, which it adds to ListTargetsByRule's answer.

func init() {
	maps.Copy(gapHandlers, map[string]gapHandler{
		"events.CreateEventBus":    {after: eventsCreateEventBusAfter},
		"events.DeleteEventBus":    {after: eventsDeleteEventBusAfter},
		"events.PutTargets":        {after: eventsPutTargetsAfter},
		"events.RemoveTargets":     {after: eventsRemoveTargetsAfter},
		"events.DeleteRule":        {after: eventsDeleteRuleAfter},
		"events.ListTargetsByRule": {after: eventsListTargetsByRuleAfter},
		"events.CreateArchive":     {answer: eventsCreateArchive},
		"events.DescribeArchive":   {answer: eventsDescribeArchive},
		"events.UpdateArchive":     {answer: eventsUpdateArchive},
		"events.DeleteArchive":     {answer: eventsDeleteArchive},
	})
}

// eventsGapsFile, beside gapsFile, keeps the EventBridge part of the layer's state.
const eventsGapsFile = "panka-gaps-events.json"

// kumoEventsPrefix is the ARN prefix kumo v0.33.1 gives every EventBridge resource.
const kumoEventsPrefix = "arn:aws:events:us-east-1:000000000000:"

// eventsState is what the layer keeps of EventBridge, global to the process and persisted like
// gapState.
type eventsState struct {
	mu  sync.Mutex
	dir string
	// Archives by name.
	Archives map[string]*ebArchive `json:"archives"`
	// Targets holds the fields kumo drops of each target, by targetKey.
	Targets map[string]ebTargetExtra `json:"targets"`
}

type ebArchive struct {
	ArchiveName    string  `json:"ArchiveName"`
	ArchiveArn     string  `json:"ArchiveArn"`
	EventSourceArn string  `json:"EventSourceArn"`
	Description    string  `json:"Description,omitempty"`
	EventPattern   string  `json:"EventPattern,omitempty"`
	RetentionDays  int32   `json:"RetentionDays"`
	State          string  `json:"State"`
	CreationTime   float64 `json:"CreationTime"`
}

type ebTargetExtra struct {
	SqsParameters    map[string]any `json:"SqsParameters,omitempty"`
	DeadLetterConfig map[string]any `json:"DeadLetterConfig,omitempty"`
}

var eventGaps = newEventsState(os.Getenv("KUMO_DATA_DIR"))

func newEventsState(dir string) *eventsState {
	g := &eventsState{dir: dir}
	loadGapFile(dir, eventsGapsFile, g)
	if g.Archives == nil {
		g.Archives = map[string]*ebArchive{}
	}
	if g.Targets == nil {
		g.Targets = map[string]ebTargetExtra{}
	}
	return g
}

func (g *eventsState) saveLocked() error {
	return saveGapFile(g.dir, eventsGapsFile, g)
}

// busName returns the bus a request names (by name or ARN; "" is the default bus).
func busName(s string) string {
	if s == "" {
		return "default"
	}
	if i := strings.Index(s, ":event-bus/"); i >= 0 {
		return s[i+len(":event-bus/"):]
	}
	return s
}

// targetKey names a target of a rule of a bus.
func targetKey(bus, rule, id string) string { return bus + "\x00" + rule + "\x00" + id }

// forget drops the targets whose key starts with prefix.
func (g *eventsState) forget(prefix string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	for k := range g.Targets {
		if strings.HasPrefix(k, prefix) {
			delete(g.Targets, k)
		}
	}
	return g.saveLocked()
}

// ---------------------------------------------------------------------------------------------
// Bus tags: kumo drops CreateEventBus's Tags, and keeps a deleted bus's tags for the next bus of
// its name. The layer makes the new bus's tags exactly the request's, through kumo's own
// TagResource and UntagResource (which work).

func eventsCreateEventBusAfter(s *gapServer, req, resp []byte, _ http.Header, _ any) ([]byte, error) {
	var in struct {
		Name string
		Tags []struct{ Key, Value string }
	}
	if err := json.Unmarshal(req, &in); err != nil {
		return nil, err
	}
	var out struct{ EventBusArn string }
	if err := json.Unmarshal(resp, &out); err != nil || out.EventBusArn == "" {
		return nil, fmt.Errorf("CreateEventBus: kumo's answer has no EventBusArn: %s", resp)
	}
	ctx := context.Background()
	status, data, err := s.askKumo(ctx, "events", "AWSEvents.ListTagsForResource", mustJSON(map[string]any{"ResourceARN": out.EventBusArn}))
	if err != nil || status != http.StatusOK {
		return nil, fmt.Errorf("ListTagsForResource %s: kumo answered %d %s: %v", out.EventBusArn, status, data, err)
	}
	var old struct{ Tags []struct{ Key string } }
	_ = json.Unmarshal(data, &old)
	var stale []string
	for _, t := range old.Tags {
		stale = append(stale, t.Key)
	}
	if len(stale) > 0 {
		if err := s.askEvents(ctx, "UntagResource", map[string]any{"ResourceARN": out.EventBusArn, "TagKeys": stale}); err != nil {
			return nil, err
		}
	}
	if len(in.Tags) > 0 {
		if err := s.askEvents(ctx, "TagResource", map[string]any{"ResourceARN": out.EventBusArn, "Tags": in.Tags}); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

func eventsDeleteEventBusAfter(_ *gapServer, req, _ []byte, _ http.Header, _ any) ([]byte, error) {
	var in struct{ Name string }
	if err := json.Unmarshal(req, &in); err != nil {
		return nil, err
	}
	return nil, eventGaps.forget(busName(in.Name) + "\x00")
}

// askEvents sends kumo an EventBridge request of the layer's own and wants a 200.
func (s *gapServer) askEvents(ctx context.Context, op string, in any) error {
	status, data, err := s.askKumo(ctx, "events", "AWSEvents."+op, mustJSON(in))
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("%s: kumo answered %d %s", op, status, data)
	}
	return nil
}

func mustJSON(v any) []byte {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return data
}

// ---------------------------------------------------------------------------------------------
// Target fields: kumo keeps a target's Id, Arn, RoleArn, Input, InputPath, InputTransformer and
// HttpParameters, and drops SqsParameters (a FIFO queue's MessageGroupId) and DeadLetterConfig.
// The layer records them at PutTargets, adds them to ListTargetsByRule's answer, and forgets
// them with the target (RemoveTargets), its rule (DeleteRule) or its bus (DeleteEventBus).

func eventsPutTargetsAfter(_ *gapServer, req, _ []byte, _ http.Header, _ any) ([]byte, error) {
	var in struct {
		Rule, EventBusName string
		Targets            []struct {
			Id               string
			SqsParameters    map[string]any
			DeadLetterConfig map[string]any
		}
	}
	if err := json.Unmarshal(req, &in); err != nil {
		return nil, err
	}
	g := eventGaps
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, t := range in.Targets {
		k := targetKey(busName(in.EventBusName), in.Rule, t.Id)
		if len(t.SqsParameters) == 0 && len(t.DeadLetterConfig) == 0 {
			delete(g.Targets, k)
			continue
		}
		g.Targets[k] = ebTargetExtra{SqsParameters: t.SqsParameters, DeadLetterConfig: t.DeadLetterConfig}
	}
	return nil, g.saveLocked()
}

func eventsRemoveTargetsAfter(_ *gapServer, req, _ []byte, _ http.Header, _ any) ([]byte, error) {
	var in struct {
		Rule, EventBusName string
		Ids                []string
	}
	if err := json.Unmarshal(req, &in); err != nil {
		return nil, err
	}
	g := eventGaps
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, id := range in.Ids {
		delete(g.Targets, targetKey(busName(in.EventBusName), in.Rule, id))
	}
	return nil, g.saveLocked()
}

func eventsDeleteRuleAfter(_ *gapServer, req, _ []byte, _ http.Header, _ any) ([]byte, error) {
	var in struct{ Name, EventBusName string }
	if err := json.Unmarshal(req, &in); err != nil {
		return nil, err
	}
	return nil, eventGaps.forget(busName(in.EventBusName) + "\x00" + in.Name + "\x00")
}

func eventsListTargetsByRuleAfter(_ *gapServer, req, resp []byte, _ http.Header, _ any) ([]byte, error) {
	var in struct{ Rule, EventBusName string }
	if err := json.Unmarshal(req, &in); err != nil {
		return nil, err
	}
	var out map[string]any
	if err := json.Unmarshal(resp, &out); err != nil {
		return nil, err
	}
	targets, _ := out["Targets"].([]any)
	g := eventGaps
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, t := range targets {
		m, _ := t.(map[string]any)
		id, _ := m["Id"].(string)
		extra, ok := g.Targets[targetKey(busName(in.EventBusName), in.Rule, id)]
		if !ok {
			continue
		}
		if extra.SqsParameters != nil {
			m["SqsParameters"] = extra.SqsParameters
		}
		if extra.DeadLetterConfig != nil {
			m["DeadLetterConfig"] = extra.DeadLetterConfig
		}
	}
	return json.Marshal(out)
}

// ---------------------------------------------------------------------------------------------
// Archives: kumo has none (InvalidAction). The layer answers CreateArchive, DescribeArchive,
// UpdateArchive and DeleteArchive from its own state, checking that an archive's source bus
// exists in kumo. Archiving and replaying events are not emulated.

type archiveRequest struct {
	ArchiveName    string
	EventSourceArn string
	Description    *string
	EventPattern   *string
	RetentionDays  *int32
}

func eventsCreateArchive(w http.ResponseWriter, r *http.Request, s *gapServer, req []byte) {
	var in archiveRequest
	if err := json.Unmarshal(req, &in); err != nil || in.ArchiveName == "" || in.EventSourceArn == "" {
		writeEventsError(w, http.StatusBadRequest, "ValidationException", "ArchiveName and EventSourceArn are required")
		return
	}
	status, _, err := s.askKumo(r.Context(), "events", "AWSEvents.DescribeEventBus", mustJSON(map[string]string{"Name": busName(in.EventSourceArn)}))
	switch {
	case err != nil:
		writeEventsError(w, http.StatusInternalServerError, "InternalException", "local aws: "+err.Error())
		return
	case status != http.StatusOK:
		writeEventsError(w, http.StatusNotFound, "ResourceNotFoundException", "Event bus "+busName(in.EventSourceArn)+" does not exist.")
		return
	}
	g := eventGaps
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.Archives[in.ArchiveName]; ok {
		writeEventsError(w, http.StatusBadRequest, "ResourceAlreadyExistsException", "Archive "+in.ArchiveName+" already exists.")
		return
	}
	a := &ebArchive{
		ArchiveName: in.ArchiveName, ArchiveArn: kumoEventsPrefix + "archive/" + in.ArchiveName, EventSourceArn: in.EventSourceArn,
		State: "ENABLED", CreationTime: float64(time.Now().UnixMilli()) / 1000,
	}
	a.update(in)
	g.Archives[in.ArchiveName] = a
	if err := g.saveLocked(); err != nil {
		writeEventsError(w, http.StatusInternalServerError, "InternalException", "local aws: "+err.Error())
		return
	}
	writeEvents(w, map[string]any{"ArchiveArn": a.ArchiveArn, "State": a.State, "CreationTime": a.CreationTime})
}

func (a *ebArchive) update(in archiveRequest) {
	if in.Description != nil {
		a.Description = *in.Description
	}
	if in.EventPattern != nil {
		a.EventPattern = *in.EventPattern
	}
	if in.RetentionDays != nil {
		a.RetentionDays = *in.RetentionDays
	}
}

// archive answers a request about an existing archive: it calls f with the archive, the state
// locked, or answers ResourceNotFoundException.
func archive(w http.ResponseWriter, req []byte, f func(g *eventsState, in archiveRequest, a *ebArchive)) {
	var in archiveRequest
	if err := json.Unmarshal(req, &in); err != nil || in.ArchiveName == "" {
		writeEventsError(w, http.StatusBadRequest, "ValidationException", "ArchiveName is required")
		return
	}
	g := eventGaps
	g.mu.Lock()
	defer g.mu.Unlock()
	a, ok := g.Archives[in.ArchiveName]
	if !ok {
		writeEventsError(w, http.StatusBadRequest, "ResourceNotFoundException", "Archive "+in.ArchiveName+" does not exist.")
		return
	}
	f(g, in, a)
}

func eventsDescribeArchive(w http.ResponseWriter, _ *http.Request, _ *gapServer, req []byte) {
	archive(w, req, func(_ *eventsState, _ archiveRequest, a *ebArchive) {
		out := map[string]any{
			"ArchiveName": a.ArchiveName, "ArchiveArn": a.ArchiveArn, "EventSourceArn": a.EventSourceArn,
			"RetentionDays": a.RetentionDays, "State": a.State, "CreationTime": a.CreationTime, "EventCount": 0, "SizeBytes": 0,
		}
		if a.Description != "" {
			out["Description"] = a.Description
		}
		if a.EventPattern != "" {
			out["EventPattern"] = a.EventPattern
		}
		writeEvents(w, out)
	})
}

func eventsUpdateArchive(w http.ResponseWriter, _ *http.Request, _ *gapServer, req []byte) {
	archive(w, req, func(g *eventsState, in archiveRequest, a *ebArchive) {
		a.update(in)
		if err := g.saveLocked(); err != nil {
			writeEventsError(w, http.StatusInternalServerError, "InternalException", "local aws: "+err.Error())
			return
		}
		writeEvents(w, map[string]any{"ArchiveArn": a.ArchiveArn, "State": a.State, "CreationTime": a.CreationTime})
	})
}

func eventsDeleteArchive(w http.ResponseWriter, _ *http.Request, _ *gapServer, req []byte) {
	archive(w, req, func(g *eventsState, in archiveRequest, _ *ebArchive) {
		delete(g.Archives, in.ArchiveName)
		if err := g.saveLocked(); err != nil {
			writeEventsError(w, http.StatusInternalServerError, "InternalException", "local aws: "+err.Error())
			return
		}
		writeEvents(w, map[string]any{})
	})
}

func writeEvents(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("x-amzn-RequestId", uuid.NewString())
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(v)
}

func writeEventsError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("x-amzn-RequestId", uuid.NewString())
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg})
}
