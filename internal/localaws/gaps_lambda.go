package localaws

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
)

// ---------------------------------------------------------------------------------------------
// Lambda: kumo v0.33.1 has no Put/Get/DeleteFunctionConcurrency (a 404 page the SDK cannot
// parse), drops CreateFunction's and UpdateFunctionConfiguration's EphemeralStorage, leaves
// ImageUri out of GetFunction's Code (it keeps the image, it does not say it), and drops an
// event source mapping's StartingPosition, and gives a stream mapping without a BatchSize
// kumo's queue default of 10 where Lambda's is 100. The layer keeps, per function, its /tmp size, image
// and reserved concurrency, and per mapping its starting position; it adds them to kumo's
// answers (GetFunction, GetFunctionConfiguration, CreateFunction, UpdateFunctionConfiguration,
// Create/Get/Update/ListEventSourceMappings), answers the concurrency operations itself
// (ResourceNotFoundException for a function kumo does not have), and forgets a function at
// DeleteFunction and a mapping at DeleteEventSourceMapping.

const lambdaGapsFile = "panka-gaps-lambda.json"

// lambdaDefaultTmp is Lambda's /tmp size, in MiB, when CreateFunction gives none.
const lambdaDefaultTmp = 512

// lambdaFunction is what the layer keeps of one function.
type lambdaFunction struct {
	EphemeralStorage int64  `json:"ephemeralStorage,omitempty"`
	ImageURI         string `json:"imageUri,omitempty"`
	Concurrency      *int64 `json:"concurrency,omitempty"`
}

type lambdaGapState struct {
	mu        sync.Mutex
	dir       string
	Functions map[string]*lambdaFunction `json:"functions"`
	// Mappings holds each event source mapping's StartingPosition, by UUID.
	Mappings map[string]string `json:"mappings"`
}

var lambdaGaps = newLambdaGapState(os.Getenv("KUMO_DATA_DIR"))

func newLambdaGapState(dir string) *lambdaGapState {
	g := &lambdaGapState{dir: dir}
	loadGapFile(dir, lambdaGapsFile, g)
	if g.Functions == nil {
		g.Functions = map[string]*lambdaFunction{}
	}
	if g.Mappings == nil {
		g.Mappings = map[string]string{}
	}
	return g
}

// function returns a copy of the record of the function name (a function without one has the
// default /tmp).
func (g *lambdaGapState) function(name string) lambdaFunction {
	g.mu.Lock()
	defer g.mu.Unlock()
	if f := g.Functions[name]; f != nil {
		return *f
	}
	return lambdaFunction{EphemeralStorage: lambdaDefaultTmp}
}

// change changes the record of the function name with fn, or forgets it (fn nil).
func (g *lambdaGapState) change(name string, fn func(*lambdaFunction)) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if fn == nil {
		delete(g.Functions, name)
	} else {
		f := g.Functions[name]
		if f == nil {
			f = &lambdaFunction{EphemeralStorage: lambdaDefaultTmp}
			g.Functions[name] = f
		}
		fn(f)
	}
	return saveGapFile(g.dir, lambdaGapsFile, g)
}

// setMapping records the starting position of the mapping uuid, or forgets it ("").
func (g *lambdaGapState) setMapping(uuid, position string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if position == "" {
		delete(g.Mappings, uuid)
	} else {
		g.Mappings[uuid] = position
	}
	return saveGapFile(g.dir, lambdaGapsFile, g)
}

func (g *lambdaGapState) mapping(uuid string) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.Mappings[uuid]
}

func init() {
	gapHandlers["lambda.CreateFunction"] = gapHandler{after: lambdaCreateFunctionAfter}
	gapHandlers["lambda.GetFunction"] = gapHandler{after: lambdaGetFunctionAfter}
	gapHandlers["lambda.GetFunctionConfiguration"] = gapHandler{after: lambdaConfigurationAfter}
	gapHandlers["lambda.UpdateFunctionConfiguration"] = gapHandler{after: lambdaUpdateConfigurationAfter}
	gapHandlers["lambda.UpdateFunctionCode"] = gapHandler{after: lambdaUpdateCodeAfter}
	gapHandlers["lambda.DeleteFunction"] = gapHandler{after: lambdaDeleteFunctionAfter}
	gapHandlers["lambda.PutFunctionConcurrency"] = gapHandler{answer: lambdaPutConcurrency}
	gapHandlers["lambda.GetFunctionConcurrency"] = gapHandler{answer: lambdaGetConcurrency}
	gapHandlers["lambda.DeleteFunctionConcurrency"] = gapHandler{answer: lambdaDeleteConcurrency}
	gapHandlers["lambda.CreateEventSourceMapping"] = gapHandler{before: lambdaCreateMappingBefore, after: lambdaCreateMappingAfter}
	gapHandlers["lambda.GetEventSourceMapping"] = gapHandler{after: lambdaMappingAfter}
	gapHandlers["lambda.UpdateEventSourceMapping"] = gapHandler{after: lambdaMappingAfter}
	gapHandlers["lambda.ListEventSourceMappings"] = gapHandler{after: lambdaListMappingsAfter}
	gapHandlers["lambda.DeleteEventSourceMapping"] = gapHandler{after: lambdaDeleteMappingAfter}
}

// lambdaPathKey carries the request's path to a handler: Lambda's REST API names the function
// (or mapping) in the path, which the handlers see as a JSON field "_path" of the body.
const lambdaPathKey = "_path"

// lambdaOperation names a Lambda REST request the layer answers ("" for the rest) and returns
// its body, with the request's path added as "_path" (the handlers' only way to see it); kumo
// gets the body as it was.
func lambdaOperation(r *http.Request) (string, []byte, error) {
	seg := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	op := ""
	switch {
	case len(seg) == 2 && seg[1] == "functions" && r.Method == http.MethodPost:
		op = "CreateFunction"
	case len(seg) == 3 && seg[1] == "functions":
		op = map[string]string{"GET": "GetFunction", "DELETE": "DeleteFunction"}[r.Method]
	case len(seg) == 4 && seg[1] == "functions" && seg[3] == "configuration":
		op = map[string]string{"GET": "GetFunctionConfiguration", "PUT": "UpdateFunctionConfiguration"}[r.Method]
	case len(seg) == 4 && seg[1] == "functions" && seg[3] == "code" && r.Method == http.MethodPut:
		op = "UpdateFunctionCode"
	case len(seg) == 4 && seg[1] == "functions" && seg[3] == "concurrency":
		op = map[string]string{"GET": "GetFunctionConcurrency", "PUT": "PutFunctionConcurrency", "DELETE": "DeleteFunctionConcurrency"}[r.Method]
	case len(seg) == 2 && seg[1] == "event-source-mappings":
		op = map[string]string{"GET": "ListEventSourceMappings", "POST": "CreateEventSourceMapping"}[r.Method]
	case len(seg) == 3 && seg[1] == "event-source-mappings":
		op = map[string]string{"GET": "GetEventSourceMapping", "PUT": "UpdateEventSourceMapping", "DELETE": "DeleteEventSourceMapping"}[r.Method]
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
			return "", nil, fmt.Errorf("lambda %s: %v", op, err)
		}
	}
	doc[lambdaPathKey] = r.URL.Path
	withPath, err := json.Marshal(doc)
	return "lambda." + op, withPath, err
}

// lambdaRequest is the part of a Lambda request the layer reads.
type lambdaRequest struct {
	Path             string `json:"_path"`
	FunctionName     string `json:"FunctionName"`
	EphemeralStorage *struct {
		Size int64 `json:"Size"`
	} `json:"EphemeralStorage"`
	Code struct {
		ImageURI string `json:"ImageUri"`
	} `json:"Code"`
	ImageURI                     string `json:"ImageUri"`
	ReservedConcurrentExecutions *int64 `json:"ReservedConcurrentExecutions"`
	StartingPosition             string `json:"StartingPosition"`
}

func parseLambda(req []byte) lambdaRequest {
	var r lambdaRequest
	_ = json.Unmarshal(req, &r)
	return r
}

// pathName returns the function (or mapping) named by the path's third segment: a name, or the
// name in a function ARN.
func (r lambdaRequest) pathName() string {
	seg := strings.Split(strings.Trim(r.Path, "/"), "/")
	if len(seg) < 3 {
		return ""
	}
	return functionName(seg[2])
}

// functionName returns the function name in a name or ARN (without a version or alias).
func functionName(s string) string {
	if _, after, ok := strings.Cut(s, ":function:"); ok {
		s = after
	}
	name, _, _ := strings.Cut(s, ":")
	return name
}

// editJSON decodes kumo's answer, lets edit change it, and encodes it again.
func editJSON(resp []byte, edit func(doc map[string]any)) ([]byte, error) {
	var doc map[string]any
	if err := json.Unmarshal(resp, &doc); err != nil {
		return nil, nil // not kumo's usual answer: pass it on as it is
	}
	edit(doc)
	return json.Marshal(doc)
}

// addConfiguration adds what the layer keeps to a function configuration.
func (f lambdaFunction) addConfiguration(conf map[string]any) {
	conf["EphemeralStorage"] = map[string]any{"Size": f.EphemeralStorage}
}

func lambdaCreateFunctionAfter(_ *gapServer, req, resp []byte, _ http.Header, _ any) ([]byte, error) {
	r := parseLambda(req)
	f := lambdaFunction{EphemeralStorage: lambdaDefaultTmp, ImageURI: r.Code.ImageURI}
	if r.EphemeralStorage != nil {
		f.EphemeralStorage = r.EphemeralStorage.Size
	}
	if err := lambdaGaps.change(r.FunctionName, func(have *lambdaFunction) { *have = f }); err != nil {
		return nil, err
	}
	return editJSON(resp, f.addConfiguration)
}

func lambdaGetFunctionAfter(_ *gapServer, req, resp []byte, _ http.Header, _ any) ([]byte, error) {
	f := lambdaGaps.function(parseLambda(req).pathName())
	return editJSON(resp, func(doc map[string]any) {
		if conf, ok := doc["Configuration"].(map[string]any); ok {
			f.addConfiguration(conf)
		}
		if f.ImageURI != "" {
			doc["Code"] = map[string]any{"RepositoryType": "ECR", "ImageUri": f.ImageURI, "ResolvedImageUri": f.ImageURI}
		}
		if f.Concurrency != nil {
			doc["Concurrency"] = map[string]any{"ReservedConcurrentExecutions": *f.Concurrency}
		}
	})
}

func lambdaConfigurationAfter(_ *gapServer, req, resp []byte, _ http.Header, _ any) ([]byte, error) {
	return editJSON(resp, lambdaGaps.function(parseLambda(req).pathName()).addConfiguration)
}

func lambdaUpdateConfigurationAfter(_ *gapServer, req, resp []byte, _ http.Header, _ any) ([]byte, error) {
	r := parseLambda(req)
	name := r.pathName()
	if r.EphemeralStorage != nil {
		if err := lambdaGaps.change(name, func(f *lambdaFunction) { f.EphemeralStorage = r.EphemeralStorage.Size }); err != nil {
			return nil, err
		}
	}
	return editJSON(resp, lambdaGaps.function(name).addConfiguration)
}

func lambdaUpdateCodeAfter(_ *gapServer, req, resp []byte, _ http.Header, _ any) ([]byte, error) {
	r := parseLambda(req)
	name := r.pathName()
	if r.ImageURI != "" {
		if err := lambdaGaps.change(name, func(f *lambdaFunction) { f.ImageURI = r.ImageURI }); err != nil {
			return nil, err
		}
	}
	return editJSON(resp, lambdaGaps.function(name).addConfiguration)
}

func lambdaDeleteFunctionAfter(_ *gapServer, req, _ []byte, _ http.Header, _ any) ([]byte, error) {
	return nil, lambdaGaps.change(parseLambda(req).pathName(), nil)
}

// lambdaFunctionExists asks kumo whether the function name exists.
func (s *gapServer) lambdaFunctionExists(ctx context.Context, name string) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.kumo.String()+"/2015-03-31/functions/"+name, nil)
	if err != nil {
		return false, err
	}
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=test/20000101/us-east-1/lambda/aws4_request, SignedHeaders=host, Signature=0")
	resp, err := loopback.RoundTrip(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	switch resp.StatusCode {
	case http.StatusOK:
		return true, nil
	case http.StatusNotFound:
		return false, nil
	}
	return false, fmt.Errorf("GetFunction %s: kumo answered %d %s", name, resp.StatusCode, bytes.TrimSpace(data))
}

// lambdaConcurrency answers a concurrency operation on a function kumo has, after change (if
// set) changed its record, with its reserved concurrency.
func (s *gapServer) lambdaConcurrency(w http.ResponseWriter, r *http.Request, req []byte, status int, change func(*lambdaFunction, lambdaRequest) error) {
	lr := parseLambda(req)
	name := lr.pathName()
	exists, err := s.lambdaFunctionExists(r.Context(), name)
	switch {
	case err != nil:
		writeLambdaError(w, http.StatusInternalServerError, "ServiceException", "local aws: "+err.Error())
		return
	case !exists:
		writeLambdaError(w, http.StatusNotFound, "ResourceNotFoundException", "Function not found: "+name)
		return
	}
	if change != nil {
		var cerr error
		err := lambdaGaps.change(name, func(f *lambdaFunction) { cerr = change(f, lr) })
		if cerr != nil {
			writeLambdaError(w, http.StatusBadRequest, "InvalidParameterValueException", cerr.Error())
			return
		}
		if err != nil {
			writeLambdaError(w, http.StatusInternalServerError, "ServiceException", "local aws: "+err.Error())
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if status == http.StatusNoContent {
		return
	}
	out := map[string]any{}
	if c := lambdaGaps.function(name).Concurrency; c != nil {
		out["ReservedConcurrentExecutions"] = *c
	}
	_ = json.NewEncoder(w).Encode(out)
}

func lambdaPutConcurrency(w http.ResponseWriter, r *http.Request, s *gapServer, req []byte) {
	s.lambdaConcurrency(w, r, req, http.StatusOK, func(f *lambdaFunction, lr lambdaRequest) error {
		if lr.ReservedConcurrentExecutions == nil || *lr.ReservedConcurrentExecutions < 0 {
			return fmt.Errorf("ReservedConcurrentExecutions must be 0 or more")
		}
		f.Concurrency = lr.ReservedConcurrentExecutions
		return nil
	})
}

func lambdaGetConcurrency(w http.ResponseWriter, r *http.Request, s *gapServer, req []byte) {
	s.lambdaConcurrency(w, r, req, http.StatusOK, nil)
}

func lambdaDeleteConcurrency(w http.ResponseWriter, r *http.Request, s *gapServer, req []byte) {
	s.lambdaConcurrency(w, r, req, http.StatusNoContent, func(f *lambdaFunction, _ lambdaRequest) error {
		f.Concurrency = nil
		return nil
	})
}

func writeLambdaError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Errortype", code)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"Type": "User", "Message": msg, "__type": code})
}

// addPosition adds the starting position the layer keeps to a mapping.
func addPosition(m map[string]any) {
	uuid, _ := m["UUID"].(string)
	if p := lambdaGaps.mapping(uuid); p != "" {
		m["StartingPosition"] = p
	}
}

// lambdaCreateMappingBefore gives kumo Lambda's default BatchSize, 100, for a stream mapping
// that sets none.
func lambdaCreateMappingBefore(_ context.Context, _ *gapServer, req []byte) ([]byte, any, error) {
	var doc map[string]any
	if err := json.Unmarshal(req, &doc); err != nil {
		return nil, nil, err
	}
	delete(doc, lambdaPathKey)
	arn, _ := doc["EventSourceArn"].(string)
	if _, set := doc["BatchSize"]; set || !(strings.Contains(arn, ":dynamodb:") || strings.Contains(arn, ":kinesis:")) {
		return nil, nil, nil
	}
	doc["BatchSize"] = lambdaStreamBatchSize
	body, err := json.Marshal(doc)
	return body, nil, err
}

// lambdaStreamBatchSize is Lambda's default BatchSize of a DynamoDB or Kinesis stream mapping.
const lambdaStreamBatchSize = 100

func lambdaCreateMappingAfter(_ *gapServer, req, resp []byte, _ http.Header, _ any) ([]byte, error) {
	var out struct {
		UUID string `json:"UUID"`
	}
	if err := json.Unmarshal(resp, &out); err != nil || out.UUID == "" {
		return nil, nil
	}
	if err := lambdaGaps.setMapping(out.UUID, parseLambda(req).StartingPosition); err != nil {
		return nil, err
	}
	return editJSON(resp, addPosition)
}

func lambdaMappingAfter(_ *gapServer, _, resp []byte, _ http.Header, _ any) ([]byte, error) {
	return editJSON(resp, addPosition)
}

func lambdaListMappingsAfter(_ *gapServer, _, resp []byte, _ http.Header, _ any) ([]byte, error) {
	return editJSON(resp, func(doc map[string]any) {
		list, _ := doc["EventSourceMappings"].([]any)
		for _, e := range list {
			if m, ok := e.(map[string]any); ok {
				addPosition(m)
			}
		}
	})
}

func lambdaDeleteMappingAfter(_ *gapServer, req, _ []byte, _ http.Header, _ any) ([]byte, error) {
	seg := strings.Split(strings.Trim(parseLambda(req).Path, "/"), "/")
	return nil, lambdaGaps.setMapping(seg[len(seg)-1], "")
}
