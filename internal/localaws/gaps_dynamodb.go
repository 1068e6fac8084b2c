package localaws

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"
)

// ---------------------------------------------------------------------------------------------
// DynamoDB table settings: kumo v0.33.1 answers UpdateTable with success but ignores its billing
// mode, provisioned throughput, global index changes, stream specification, SSE specification
// and deletion protection; drops CreateTable's SSE specification; and has no
// UpdateContinuousBackups. The layer keeps, per table, what kumo ignores (an overlay: a setting
// the layer has no record of is kumo's), lays it over kumo's DescribeTable, CreateTable and
// UpdateTable answers and DescribeContinuousBackups, answers UpdateContinuousBackups itself,
// and forgets the table at DeleteTable. Everything else of UpdateTable (table class) goes to kumo.

const ddbGapsFile = "panka-gaps-dynamodb.json"

// ddbOverlay is what the layer keeps of one table. Nil fields are kumo's.
type ddbOverlay struct {
	BillingMode        string            `json:"billingMode,omitempty"`
	Throughput         *[2]int64         `json:"throughput,omitempty"` // read, write
	Attributes         []map[string]any  `json:"attributes,omitempty"`
	GSIs               *[]map[string]any `json:"gsis,omitempty"`
	Stream             map[string]any    `json:"stream,omitempty"` // StreamSpecification, LatestStreamArn, LatestStreamLabel
	SSE                map[string]any    `json:"sse,omitempty"`    // SSEDescription; {} when disabled
	DeletionProtection *bool             `json:"deletionProtection,omitempty"`
	PITR               bool              `json:"pitr,omitempty"`
}

type ddbGapState struct {
	mu     sync.Mutex
	dir    string
	Tables map[string]*ddbOverlay `json:"tables"`
}

var ddbGaps = newDDBGapState(os.Getenv("KUMO_DATA_DIR"))

func newDDBGapState(dir string) *ddbGapState {
	g := &ddbGapState{dir: dir}
	loadGapFile(dir, ddbGapsFile, g)
	if g.Tables == nil {
		g.Tables = map[string]*ddbOverlay{}
	}
	return g
}

func (g *ddbGapState) get(name string) ddbOverlay {
	g.mu.Lock()
	defer g.mu.Unlock()
	if o := g.Tables[name]; o != nil {
		return *o
	}
	return ddbOverlay{}
}

// set records the overlay of table name, or forgets it (o nil).
func (g *ddbGapState) set(name string, o *ddbOverlay) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if o == nil {
		delete(g.Tables, name)
	} else {
		g.Tables[name] = o
	}
	return saveGapFile(g.dir, ddbGapsFile, g)
}

func init() {
	gapHandlers["dynamodb.CreateTable"] = gapHandler{after: ddbCreateTableAfter}
	gapHandlers["dynamodb.UpdateTable"] = gapHandler{before: ddbUpdateTableBefore, after: ddbUpdateTableAfter}
	gapHandlers["dynamodb.DescribeTable"] = gapHandler{after: ddbDescribeTableAfter}
	gapHandlers["dynamodb.DeleteTable"] = gapHandler{after: ddbDeleteTableAfter}
	gapHandlers["dynamodb.DescribeContinuousBackups"] = gapHandler{after: ddbDescribeBackupsAfter}
	gapHandlers["dynamodb.UpdateContinuousBackups"] = gapHandler{answer: ddbUpdateBackups}
}

const ddbTarget = "DynamoDB_20120810."

func tableNameOf(req []byte) string {
	var r struct {
		TableName string `json:"TableName"`
	}
	_ = json.Unmarshal(req, &r)
	return r.TableName
}

// sseDescription is DynamoDB's SSEDescription of an SSESpecification; {} for the AWS owned key.
func sseDescription(spec map[string]any) map[string]any {
	if on, _ := spec["Enabled"].(bool); !on {
		return map[string]any{}
	}
	key, _ := spec["KMSMasterKeyId"].(string)
	return map[string]any{"Status": "ENABLED", "SSEType": "KMS", "KMSMasterKeyArn": key}
}

func ddbCreateTableAfter(_ *gapServer, req, resp []byte, _ http.Header, _ any) ([]byte, error) {
	var r struct {
		TableName        string         `json:"TableName"`
		SSESpecification map[string]any `json:"SSESpecification"`
	}
	if err := json.Unmarshal(req, &r); err != nil {
		return nil, err
	}
	o := &ddbOverlay{}
	if r.SSESpecification != nil {
		o.SSE = sseDescription(r.SSESpecification)
	}
	if err := ddbGaps.set(r.TableName, o); err != nil {
		return nil, err
	}
	return overlayAnswer(resp, "TableDescription", *o)
}

func ddbDescribeTableAfter(_ *gapServer, req, resp []byte, _ http.Header, _ any) ([]byte, error) {
	return overlayAnswer(resp, "Table", ddbGaps.get(tableNameOf(req)))
}

func ddbDeleteTableAfter(_ *gapServer, req, _ []byte, _ http.Header, _ any) ([]byte, error) {
	return nil, ddbGaps.set(tableNameOf(req), nil)
}

// overlayAnswer lays o over the table description at key of kumo's answer.
func overlayAnswer(resp []byte, key string, o ddbOverlay) ([]byte, error) {
	var doc map[string]any
	if err := json.Unmarshal(resp, &doc); err != nil {
		return nil, err
	}
	t, _ := doc[key].(map[string]any)
	if t == nil {
		return nil, nil
	}
	o.apply(t)
	return json.Marshal(doc)
}

// apply lays o over a table description.
func (o ddbOverlay) apply(t map[string]any) {
	if o.BillingMode != "" {
		t["BillingModeSummary"] = map[string]any{"BillingMode": o.BillingMode}
		if o.BillingMode == "PAY_PER_REQUEST" {
			t["ProvisionedThroughput"] = map[string]any{"ReadCapacityUnits": 0, "WriteCapacityUnits": 0, "NumberOfDecreasesToday": 0}
		}
	}
	if o.Throughput != nil {
		t["ProvisionedThroughput"] = map[string]any{"ReadCapacityUnits": o.Throughput[0], "WriteCapacityUnits": o.Throughput[1], "NumberOfDecreasesToday": 0}
	}
	if o.Attributes != nil {
		t["AttributeDefinitions"] = o.Attributes
	}
	if o.GSIs != nil {
		if len(*o.GSIs) == 0 {
			delete(t, "GlobalSecondaryIndexes")
		} else {
			t["GlobalSecondaryIndexes"] = *o.GSIs
		}
	}
	if o.Stream != nil {
		delete(t, "StreamSpecification")
		for k, v := range o.Stream {
			t[k] = v
		}
	}
	if o.SSE != nil {
		if len(o.SSE) == 0 {
			delete(t, "SSEDescription")
		} else {
			t["SSEDescription"] = o.SSE
		}
	}
	if o.DeletionProtection != nil {
		t["DeletionProtectionEnabled"] = *o.DeletionProtection
	}
}

// ddbUpdate is an UpdateTable request, in the parts kumo ignores.
type ddbUpdate struct {
	TableName                   string           `json:"TableName"`
	BillingMode                 string           `json:"BillingMode"`
	ProvisionedThroughput       map[string]int64 `json:"ProvisionedThroughput"`
	AttributeDefinitions        []map[string]any `json:"AttributeDefinitions"`
	GlobalSecondaryIndexUpdates []struct {
		Create map[string]any `json:"Create"`
		Update map[string]any `json:"Update"`
		Delete map[string]any `json:"Delete"`
	} `json:"GlobalSecondaryIndexUpdates"`
	StreamSpecification       map[string]any `json:"StreamSpecification"`
	SSESpecification          map[string]any `json:"SSESpecification"`
	DeletionProtectionEnabled *bool          `json:"DeletionProtectionEnabled"`
}

// ddbUpdateTableBefore computes the table's overlay after the update, from kumo's description of
// it and the layer's record; ddbUpdateTableAfter keeps it once kumo has accepted the request.
func ddbUpdateTableBefore(ctx context.Context, s *gapServer, req []byte) ([]byte, any, error) {
	var u ddbUpdate
	if err := json.Unmarshal(req, &u); err != nil {
		return nil, nil, err
	}
	t, err := s.describeTable(ctx, u.TableName)
	if err != nil || t == nil {
		return nil, nil, err // a table kumo does not have: kumo answers
	}
	o := ddbGaps.get(u.TableName)
	o.apply(t) // t is now the table as clients see it, copied through JSON
	if data, err := json.Marshal(t); err != nil || json.Unmarshal(data, &t) != nil {
		return nil, nil, fmt.Errorf("table %s: %v", u.TableName, err)
	}
	if u.BillingMode != "" {
		o.BillingMode = u.BillingMode
	}
	if pt := u.ProvisionedThroughput; pt != nil {
		o.Throughput = &[2]int64{pt["ReadCapacityUnits"], pt["WriteCapacityUnits"]}
	} else if u.BillingMode == "PAY_PER_REQUEST" {
		o.Throughput = &[2]int64{0, 0}
	}
	if len(u.GlobalSecondaryIndexUpdates) > 0 {
		gsis := []map[string]any{}
		if l, ok := t["GlobalSecondaryIndexes"].([]any); ok {
			for _, g := range l {
				if m, ok := g.(map[string]any); ok {
					gsis = append(gsis, m)
				}
			}
		}
		for _, up := range u.GlobalSecondaryIndexUpdates {
			switch {
			case up.Create != nil:
				g := map[string]any{"IndexStatus": "ACTIVE", "IndexArn": fmt.Sprintf("%v/index/%v", t["TableArn"], up.Create["IndexName"])}
				for k, v := range up.Create {
					g[k] = v
				}
				gsis = append(gsis, g)
			case up.Update != nil:
				for _, g := range gsis {
					if g["IndexName"] == up.Update["IndexName"] {
						g["ProvisionedThroughput"] = up.Update["ProvisionedThroughput"]
					}
				}
			case up.Delete != nil:
				gsis = slices.DeleteFunc(gsis, func(g map[string]any) bool { return g["IndexName"] == up.Delete["IndexName"] })
			}
		}
		o.GSIs = &gsis
		if u.AttributeDefinitions != nil {
			o.Attributes = u.AttributeDefinitions
		}
	}
	if ss := u.StreamSpecification; ss != nil {
		if on, _ := ss["StreamEnabled"].(bool); on {
			label := time.Now().UTC().Format("2006-01-02T15:04:05.000")
			o.Stream = map[string]any{"StreamSpecification": ss, "LatestStreamLabel": label,
				"LatestStreamArn": fmt.Sprintf("%v/stream/%s", t["TableArn"], label)}
		} else {
			o.Stream = map[string]any{"StreamSpecification": map[string]any{"StreamEnabled": false}}
		}
	}
	if u.SSESpecification != nil {
		o.SSE = sseDescription(u.SSESpecification)
	}
	if u.DeletionProtectionEnabled != nil {
		o.DeletionProtection = u.DeletionProtectionEnabled
	}
	return nil, &o, nil
}

func ddbUpdateTableAfter(_ *gapServer, req, resp []byte, _ http.Header, state any) ([]byte, error) {
	o, _ := state.(*ddbOverlay)
	if o == nil {
		return nil, nil
	}
	if err := ddbGaps.set(tableNameOf(req), o); err != nil {
		return nil, err
	}
	return overlayAnswer(resp, "TableDescription", *o)
}

// describeTable returns kumo's description of table name, nil if kumo does not have it.
func (s *gapServer) describeTable(ctx context.Context, name string) (map[string]any, error) {
	body, _ := json.Marshal(map[string]string{"TableName": name})
	status, data, err := s.askKumo(ctx, "dynamodb", ddbTarget+"DescribeTable", body)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, nil
	}
	var out struct {
		Table map[string]any `json:"Table"`
	}
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, err
	}
	return out.Table, nil
}

func pitrDescription(on bool) map[string]any {
	status := "DISABLED"
	if on {
		status = "ENABLED"
	}
	return map[string]any{"ContinuousBackupsStatus": "ENABLED", "PointInTimeRecoveryDescription": map[string]any{"PointInTimeRecoveryStatus": status}}
}

func ddbDescribeBackupsAfter(_ *gapServer, req, resp []byte, _ http.Header, _ any) ([]byte, error) {
	var doc map[string]any
	if err := json.Unmarshal(resp, &doc); err != nil {
		return nil, err
	}
	doc["ContinuousBackupsDescription"] = pitrDescription(ddbGaps.get(tableNameOf(req)).PITR)
	return json.Marshal(doc)
}

func ddbUpdateBackups(w http.ResponseWriter, r *http.Request, s *gapServer, req []byte) {
	var u struct {
		TableName                        string `json:"TableName"`
		PointInTimeRecoverySpecification *struct {
			Enabled *bool `json:"PointInTimeRecoveryEnabled"`
		} `json:"PointInTimeRecoverySpecification"`
	}
	if err := json.Unmarshal(req, &u); err != nil || u.PointInTimeRecoverySpecification == nil || u.PointInTimeRecoverySpecification.Enabled == nil {
		writeGapError(w, http.StatusBadRequest, "ValidationException", "PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled is required")
		return
	}
	t, err := s.describeTable(r.Context(), u.TableName)
	switch {
	case err != nil:
		writeGapError(w, http.StatusInternalServerError, "InternalServerError", "local aws: "+err.Error())
		return
	case t == nil:
		writeGapError(w, http.StatusBadRequest, "TableNotFoundException", "Table not found: "+u.TableName)
		return
	}
	o := ddbGaps.get(u.TableName)
	o.PITR = *u.PointInTimeRecoverySpecification.Enabled
	if err := ddbGaps.set(u.TableName, &o); err != nil {
		writeGapError(w, http.StatusInternalServerError, "InternalServerError", "local aws: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	_ = json.NewEncoder(w).Encode(map[string]any{"ContinuousBackupsDescription": pitrDescription(o.PITR)})
}
