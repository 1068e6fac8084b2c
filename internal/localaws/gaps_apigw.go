package localaws

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/google/uuid"
)

// ---------------------------------------------------------------------------------------------
// API Gateway v2 custom domains and CORS removal. Kumo v0.33.1 has no domain names and no API
// mappings (CreateDomainName and the rest answer 400/404 with an HTML page) and no
// DeleteCorsConfiguration. The layer keeps the domain names, their tags and their API mappings
// itself (CreateDomainName, GetDomainName(s), UpdateDomainName, DeleteDomainName,
// CreateApiMapping, GetApiMapping(s), DeleteApiMapping, and GetTags, TagResource and
// UntagResource of a domain name's ARN), asking kumo whether a mapping's API exists.
// DeleteCorsConfiguration sets the API's CORS configuration to an empty one in kumo (kumo's
// UpdateApi replaces it whole), which the layer leaves out of kumo's GetApi, GetApis and
// UpdateApi answers, as API Gateway does for an API without CORS. Requests are REST
// (restjson1): the operation is told by method and path.

const apigwGapsFile = "panka-gaps-apigw.json"

// apigwDomain is a domain name as the layer keeps it.
type apigwDomain struct {
	Configurations []map[string]any         `json:"configurations"`
	Tags           map[string]string        `json:"tags,omitempty"`
	Mappings       map[string]*apigwMapping `json:"mappings,omitempty"` // by mapping ID
}

type apigwMapping struct {
	APIID string `json:"apiId"`
	Stage string `json:"stage"`
	Key   string `json:"apiMappingKey,omitempty"`
}

type apigwGapState struct {
	mu      sync.Mutex
	dir     string
	Domains map[string]*apigwDomain `json:"domains"`
}

var apigwGaps = newAPIGWGapState(os.Getenv("KUMO_DATA_DIR"))

func newAPIGWGapState(dir string) *apigwGapState {
	g := &apigwGapState{dir: dir}
	loadGapFile(dir, apigwGapsFile, g)
	if g.Domains == nil {
		g.Domains = map[string]*apigwDomain{}
	}
	return g
}

func (g *apigwGapState) saveLocked() error { return saveGapFile(g.dir, apigwGapsFile, g) }

// restOperations name the REST requests of a service the layer answers ("" for the rest), by
// the service's signing name. The body stays unread.
var restOperations = map[string]func(*http.Request) string{}

func init() {
	restOperations["apigateway"] = apigwOperation
	for op, h := range map[string]func(http.ResponseWriter, *http.Request, *gapServer, []byte){
		"apigateway.CreateDomainName":        apigwCreateDomainName,
		"apigateway.GetDomainNames":          apigwGetDomainNames,
		"apigateway.GetDomainName":           apigwGetDomainName,
		"apigateway.UpdateDomainName":        apigwUpdateDomainName,
		"apigateway.DeleteDomainName":        apigwDeleteDomainName,
		"apigateway.CreateApiMapping":        apigwCreateAPIMapping,
		"apigateway.GetApiMappings":          apigwGetAPIMappings,
		"apigateway.GetApiMapping":           apigwGetAPIMapping,
		"apigateway.DeleteApiMapping":        apigwDeleteAPIMapping,
		"apigateway.DomainGetTags":           apigwDomainGetTags,
		"apigateway.DomainTagResource":       apigwDomainTagResource,
		"apigateway.DomainUntagResource":     apigwDomainUntagResource,
		"apigateway.DeleteCorsConfiguration": apigwDeleteCORS,
		"apigateway.UnknownDomainOperation": func(w http.ResponseWriter, r *http.Request, _ *gapServer, _ []byte) {
			writeAPIGWError(w, http.StatusNotImplemented, "NotImplemented", "local aws: "+r.Method+" "+r.URL.Path+" is not emulated (kumo has no domain names; the layer answers only what Panka uses)")
		},
	} {
		gapHandlers[op] = gapHandler{answer: h}
	}
	for _, op := range []string{"apigateway.GetApi", "apigateway.GetApis", "apigateway.UpdateApi"} {
		gapHandlers[op] = gapHandler{after: apigwStripEmptyCORS}
	}
}

// apigwOperation names an API Gateway v2 request the layer answers.
func apigwOperation(r *http.Request) string {
	p := strings.TrimPrefix(r.URL.EscapedPath(), "/v2/")
	if p == r.URL.EscapedPath() {
		return ""
	}
	if op := apigwVPCLinkOperation(r); op != "" {
		return op // gaps_apigw_vpclink.go
	}
	seg := strings.Split(p, "/")
	m := r.Method
	var ops map[string]string // the domain name operations of the path, by method
	switch {
	case seg[0] == "tags" && len(seg) > 1:
		arn, _ := url.PathUnescape(strings.Join(seg[1:], "/"))
		if !strings.Contains(arn, "/domainnames/") {
			return ""
		}
		return map[string]string{"GET": "apigateway.DomainGetTags", "POST": "apigateway.DomainTagResource", "DELETE": "apigateway.DomainUntagResource"}[m]
	case seg[0] == "apis" && len(seg) == 1 && m == "GET":
		return "apigateway.GetApis"
	case seg[0] == "apis" && len(seg) == 2:
		return map[string]string{"GET": "apigateway.GetApi", "PATCH": "apigateway.UpdateApi"}[m]
	case seg[0] == "apis" && len(seg) == 3 && seg[2] == "cors" && m == "DELETE":
		return "apigateway.DeleteCorsConfiguration"
	case seg[0] != "domainnames":
		return ""
	case len(seg) == 1:
		ops = map[string]string{"POST": "apigateway.CreateDomainName", "GET": "apigateway.GetDomainNames"}
	case len(seg) == 2:
		ops = map[string]string{"GET": "apigateway.GetDomainName", "PATCH": "apigateway.UpdateDomainName", "DELETE": "apigateway.DeleteDomainName"}
	case len(seg) == 3 && seg[2] == "apimappings":
		ops = map[string]string{"POST": "apigateway.CreateApiMapping", "GET": "apigateway.GetApiMappings"}
	case len(seg) == 4 && seg[2] == "apimappings":
		ops = map[string]string{"GET": "apigateway.GetApiMapping", "DELETE": "apigateway.DeleteApiMapping"}
	}
	if op := ops[m]; op != "" {
		return op
	}
	return "apigateway.UnknownDomainOperation" // kumo has no domain names at all: fail loudly
}

// pathSegment returns the i-th segment after /v2/ of r's path, unescaped.
func pathSegment(r *http.Request, i int) string {
	seg := strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), "/v2/"), "/")
	if i >= len(seg) {
		return ""
	}
	s, _ := url.PathUnescape(seg[i])
	return s
}

// writeAPIGW answers as API Gateway v2 does: JSON, lowerCamel keys.
func writeAPIGW(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("x-amzn-RequestId", uuid.NewString())
	w.WriteHeader(status)
	if v != nil {
		_ = json.NewEncoder(w).Encode(v)
	}
}

func writeAPIGWError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("x-amzn-ErrorType", code)
	writeAPIGW(w, status, map[string]string{"message": msg})
}

// domainARN is the ARN API Gateway tags a domain name by (kumo's region and account).
func domainARN(name string) string { return "arn:aws:apigateway:us-east-1::/domainnames/" + name }

// domainJSON is the answer describing a domain name.
func domainJSON(name string, d *apigwDomain) map[string]any {
	tags := d.Tags
	if tags == nil {
		tags = map[string]string{}
	}
	return map[string]any{"domainName": name, "domainNameArn": domainARN(name), "apiMappingSelectionExpression": "$request.basepath",
		"domainNameConfigurations": d.Configurations, "tags": tags}
}

// domainConfigurations completes a request's domain name configurations as API Gateway
// describes them.
func domainConfigurations(in []map[string]any) []map[string]any {
	var out []map[string]any
	for _, c := range in {
		c = maps.Clone(c)
		if c["endpointType"] == nil {
			c["endpointType"] = "REGIONAL"
		}
		if c["securityPolicy"] == nil {
			c["securityPolicy"] = "TLS_1_2"
		}
		c["domainNameStatus"] = "AVAILABLE"
		c["apiGatewayDomainName"] = "d-" + strings.ReplaceAll(uuid.NewString()[:10], "-", "") + ".execute-api.us-east-1.amazonaws.com"
		c["hostedZoneId"] = "Z1UJRXOUMOOFQ8"
		out = append(out, c)
	}
	return out
}

func readJSON(r *http.Request, v any) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	return json.Unmarshal(body, v)
}

func apigwCreateDomainName(w http.ResponseWriter, r *http.Request, _ *gapServer, _ []byte) {
	var req struct {
		DomainName     string            `json:"domainName"`
		Configurations []map[string]any  `json:"domainNameConfigurations"`
		Tags           map[string]string `json:"tags"`
	}
	if err := readJSON(r, &req); err != nil || req.DomainName == "" {
		writeAPIGWError(w, http.StatusBadRequest, "BadRequestException", "domainName is required")
		return
	}
	g := apigwGaps
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.Domains[req.DomainName] != nil {
		writeAPIGWError(w, http.StatusConflict, "ConflictException", "The domain name resource already exists.")
		return
	}
	d := &apigwDomain{Configurations: domainConfigurations(req.Configurations), Tags: req.Tags}
	g.Domains[req.DomainName] = d
	if err := g.saveLocked(); err != nil {
		writeAPIGWError(w, http.StatusInternalServerError, "InternalServerError", "local aws: "+err.Error())
		return
	}
	writeAPIGW(w, http.StatusCreated, domainJSON(req.DomainName, d))
}

func apigwGetDomainNames(w http.ResponseWriter, _ *http.Request, _ *gapServer, _ []byte) {
	g := apigwGaps
	g.mu.Lock()
	defer g.mu.Unlock()
	items := []any{}
	for _, name := range slices.Sorted(maps.Keys(g.Domains)) {
		items = append(items, domainJSON(name, g.Domains[name]))
	}
	writeAPIGW(w, http.StatusOK, map[string]any{"items": items})
}

// withDomain runs f on the domain name of r's path under the state's lock, or answers
// NotFoundException; f returns the status and answer, and whether it changed the state.
func withDomain(w http.ResponseWriter, r *http.Request, f func(name string, d *apigwDomain) (int, any, bool)) {
	name := pathSegment(r, 1)
	g := apigwGaps
	g.mu.Lock()
	defer g.mu.Unlock()
	d := g.Domains[name]
	if d == nil {
		writeAPIGWError(w, http.StatusNotFound, "NotFoundException", "Invalid domain name identifier specified")
		return
	}
	status, v, changed := f(name, d)
	switch status {
	case http.StatusNotFound:
		w.Header().Set("x-amzn-ErrorType", "NotFoundException")
	case http.StatusConflict:
		w.Header().Set("x-amzn-ErrorType", "ConflictException")
	}
	if changed {
		if err := g.saveLocked(); err != nil {
			writeAPIGWError(w, http.StatusInternalServerError, "InternalServerError", "local aws: "+err.Error())
			return
		}
	}
	writeAPIGW(w, status, v)
}

func apigwGetDomainName(w http.ResponseWriter, r *http.Request, _ *gapServer, _ []byte) {
	withDomain(w, r, func(name string, d *apigwDomain) (int, any, bool) { return http.StatusOK, domainJSON(name, d), false })
}

func apigwUpdateDomainName(w http.ResponseWriter, r *http.Request, _ *gapServer, _ []byte) {
	var req struct {
		Configurations []map[string]any `json:"domainNameConfigurations"`
	}
	if err := readJSON(r, &req); err != nil {
		writeAPIGWError(w, http.StatusBadRequest, "BadRequestException", err.Error())
		return
	}
	withDomain(w, r, func(name string, d *apigwDomain) (int, any, bool) {
		if req.Configurations != nil {
			d.Configurations = domainConfigurations(req.Configurations)
		}
		return http.StatusOK, domainJSON(name, d), true
	})
}

func apigwDeleteDomainName(w http.ResponseWriter, r *http.Request, _ *gapServer, _ []byte) {
	withDomain(w, r, func(name string, d *apigwDomain) (int, any, bool) {
		delete(apigwGaps.Domains, name)
		return http.StatusNoContent, nil, true
	})
}

func mappingJSON(id string, m *apigwMapping) map[string]any {
	out := map[string]any{"apiMappingId": id, "apiId": m.APIID, "stage": m.Stage}
	if m.Key != "" {
		out["apiMappingKey"] = m.Key
	}
	return out
}

func apigwCreateAPIMapping(w http.ResponseWriter, r *http.Request, s *gapServer, _ []byte) {
	var req apigwMapping
	if err := readJSON(r, &req); err != nil || req.APIID == "" || req.Stage == "" {
		writeAPIGWError(w, http.StatusBadRequest, "BadRequestException", "apiId and stage are required")
		return
	}
	status, _, err := s.askKumoREST(r.Context(), "apigateway", http.MethodGet, "/v2/apis/"+url.PathEscape(req.APIID)+"/stages/"+url.PathEscape(req.Stage), nil)
	switch {
	case err != nil:
		writeAPIGWError(w, http.StatusInternalServerError, "InternalServerError", "local aws: "+err.Error())
		return
	case status != http.StatusOK:
		writeAPIGWError(w, http.StatusNotFound, "NotFoundException", "Invalid stage identifier specified")
		return
	}
	withDomain(w, r, func(_ string, d *apigwDomain) (int, any, bool) {
		for _, m := range d.Mappings {
			if m.Key == req.Key {
				return http.StatusConflict, map[string]string{"message": "ApiMapping key already exists for this domain name"}, false
			}
		}
		if d.Mappings == nil {
			d.Mappings = map[string]*apigwMapping{}
		}
		id := strings.ReplaceAll(uuid.NewString()[:8], "-", "")
		d.Mappings[id] = &req
		return http.StatusCreated, mappingJSON(id, &req), true
	})
}

func apigwGetAPIMappings(w http.ResponseWriter, r *http.Request, _ *gapServer, _ []byte) {
	withDomain(w, r, func(_ string, d *apigwDomain) (int, any, bool) {
		items := []any{}
		for _, id := range slices.Sorted(maps.Keys(d.Mappings)) {
			items = append(items, mappingJSON(id, d.Mappings[id]))
		}
		return http.StatusOK, map[string]any{"items": items}, false
	})
}

func apigwGetAPIMapping(w http.ResponseWriter, r *http.Request, _ *gapServer, _ []byte) {
	id := pathSegment(r, 3)
	withDomain(w, r, func(_ string, d *apigwDomain) (int, any, bool) {
		if m := d.Mappings[id]; m != nil {
			return http.StatusOK, mappingJSON(id, m), false
		}
		return http.StatusNotFound, map[string]string{"message": "Invalid API mapping identifier specified"}, false
	})
}

func apigwDeleteAPIMapping(w http.ResponseWriter, r *http.Request, _ *gapServer, _ []byte) {
	id := pathSegment(r, 3)
	withDomain(w, r, func(_ string, d *apigwDomain) (int, any, bool) {
		if d.Mappings[id] == nil {
			return http.StatusNotFound, map[string]string{"message": "Invalid API mapping identifier specified"}, false
		}
		delete(d.Mappings, id)
		return http.StatusNoContent, nil, true
	})
}

// domainOfTagPath returns the domain name of a /v2/tags/{arn} request, "" if none.
func domainOfTagPath(r *http.Request) string {
	arn, _ := url.PathUnescape(strings.TrimPrefix(r.URL.EscapedPath(), "/v2/tags/"))
	_, name, _ := strings.Cut(arn, "/domainnames/")
	return name
}

// withTaggedDomain runs f on the tags of the domain name of a tagging request.
func withTaggedDomain(w http.ResponseWriter, r *http.Request, status int, f func(tags map[string]string) (any, bool)) {
	name := domainOfTagPath(r)
	g := apigwGaps
	g.mu.Lock()
	defer g.mu.Unlock()
	d := g.Domains[name]
	if d == nil {
		writeAPIGWError(w, http.StatusNotFound, "NotFoundException", "Invalid domain name identifier specified")
		return
	}
	if d.Tags == nil {
		d.Tags = map[string]string{}
	}
	v, changed := f(d.Tags)
	if changed {
		if err := g.saveLocked(); err != nil {
			writeAPIGWError(w, http.StatusInternalServerError, "InternalServerError", "local aws: "+err.Error())
			return
		}
	}
	writeAPIGW(w, status, v)
}

func apigwDomainGetTags(w http.ResponseWriter, r *http.Request, _ *gapServer, _ []byte) {
	withTaggedDomain(w, r, http.StatusOK, func(tags map[string]string) (any, bool) { return map[string]any{"tags": tags}, false })
}

func apigwDomainTagResource(w http.ResponseWriter, r *http.Request, _ *gapServer, _ []byte) {
	var req struct {
		Tags map[string]string `json:"tags"`
	}
	if err := readJSON(r, &req); err != nil {
		writeAPIGWError(w, http.StatusBadRequest, "BadRequestException", err.Error())
		return
	}
	withTaggedDomain(w, r, http.StatusCreated, func(tags map[string]string) (any, bool) {
		maps.Copy(tags, req.Tags)
		return map[string]any{}, true
	})
}

func apigwDomainUntagResource(w http.ResponseWriter, r *http.Request, _ *gapServer, _ []byte) {
	keys := r.URL.Query()["tagKeys"]
	withTaggedDomain(w, r, http.StatusNoContent, func(tags map[string]string) (any, bool) {
		for _, k := range keys {
			delete(tags, k)
		}
		return nil, true
	})
}

// apigwDeleteCORS empties the API's CORS configuration in kumo.
func apigwDeleteCORS(w http.ResponseWriter, r *http.Request, s *gapServer, _ []byte) {
	path := "/v2/apis/" + url.PathEscape(pathSegment(r, 1))
	status, body, err := s.askKumoREST(r.Context(), "apigateway", http.MethodPatch, path, []byte(`{"corsConfiguration":{}}`))
	switch {
	case err != nil:
		writeAPIGWError(w, http.StatusInternalServerError, "InternalServerError", "local aws: "+err.Error())
	case status == http.StatusNotFound:
		writeAPIGWError(w, http.StatusNotFound, "NotFoundException", "Invalid API identifier specified")
	case status != http.StatusOK:
		writeAPIGWError(w, http.StatusInternalServerError, "InternalServerError", fmt.Sprintf("local aws: kumo answered %d %s", status, bytes.TrimSpace(body)))
	default:
		writeAPIGW(w, http.StatusNoContent, nil)
	}
}

// apigwStripEmptyCORS leaves an empty CORS configuration (DeleteCorsConfiguration's) out of
// kumo's description of an API, or of each API of a list.
func apigwStripEmptyCORS(_ *gapServer, _, resp []byte, _ http.Header, _ any) ([]byte, error) {
	var doc map[string]any
	if err := json.Unmarshal(resp, &doc); err != nil {
		return nil, nil // not kumo's usual answer: pass it on as it is
	}
	strip := func(api map[string]any) {
		if c, ok := api["corsConfiguration"].(map[string]any); ok && len(c) == 0 {
			delete(api, "corsConfiguration")
		}
	}
	strip(doc)
	if items, ok := doc["items"].([]any); ok {
		for _, it := range items {
			if api, ok := it.(map[string]any); ok {
				strip(api)
			}
		}
	}
	return json.Marshal(doc)
}

// askKumoREST sends kumo a REST request of its own for service (its signing name), and returns
// kumo's status and body.
func (s *gapServer) askKumoREST(ctx context.Context, service, method, path string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, s.kumo.String()+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=test/20000101/us-east-1/"+service+"/aws4_request, SignedHeaders=host, Signature=0")
	resp, err := loopback.RoundTrip(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, data, err
}
