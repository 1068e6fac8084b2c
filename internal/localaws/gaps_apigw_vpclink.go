package localaws

import (
	"encoding/json"
	"fmt"
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
// API Gateway v2 VPC links. Kumo v0.33.1 has none: /v2/vpclinks answers 404 with an HTML page.
// (It keeps an integration's connectionType, connectionId and tlsConfig, so integrations stay
// kumo's.) The layer keeps the VPC links itself: CreateVpcLink, GetVpcLink(s), UpdateVpcLink
// (the name only, as API Gateway: subnets and security groups cannot change), DeleteVpcLink, and
// GetTags, TagResource and UntagResource of a VPC link's ARN. Simulated: a link is PENDING for
// apigwVPCLinkDelay after CreateVpcLink (PANKA_LOCALAWS_APIGW_VPCLINK_DELAY, default 300ms),
// then AVAILABLE; DELETING for as long after DeleteVpcLink, then gone. DeleteVpcLink of a link an
// integration of one of kumo's APIs still uses is refused with BadRequestException (API Gateway's
// v2 reference lists no such error for DeleteVpcLink; the layer is strict so that a provider that
// deletes the link before its integrations fails here rather than leave AWS to decide).

const apigwVPCLinkGapsFile = "panka-gaps-apigw-vpclink.json"

var apigwVPCLinkDelay = func() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("PANKA_LOCALAWS_APIGW_VPCLINK_DELAY")); err == nil && d > 0 {
		return d
	}
	return 300 * time.Millisecond
}()

// APIGWVPCLinkDelay is how long a VPC link is PENDING after it is created, and DELETING after
// it is deleted (PANKA_LOCALAWS_APIGW_VPCLINK_DELAY, else 300ms).
func APIGWVPCLinkDelay() time.Duration { return apigwVPCLinkDelay }

// apigwVPCLink is a VPC link as the layer keeps it.
type apigwVPCLink struct {
	Name           string            `json:"name"`
	SubnetIDs      []string          `json:"subnetIds"`
	SecurityGroups []string          `json:"securityGroupIds"`
	Tags           map[string]string `json:"tags,omitempty"`
	Created        time.Time         `json:"created"`
	Deleted        time.Time         `json:"deleted,omitzero"`
}

type apigwVPCLinkState struct {
	mu    sync.Mutex
	dir   string
	Links map[string]*apigwVPCLink `json:"links"`
}

var apigwVPCLinks = func() *apigwVPCLinkState {
	g := &apigwVPCLinkState{dir: os.Getenv("KUMO_DATA_DIR")}
	loadGapFile(g.dir, apigwVPCLinkGapsFile, g)
	if g.Links == nil {
		g.Links = map[string]*apigwVPCLink{}
	}
	return g
}()

func (g *apigwVPCLinkState) saveLocked() error { return saveGapFile(g.dir, apigwVPCLinkGapsFile, g) }

// liveLocked returns the link id, nil when it does not exist or its deletion is over (which it
// then forgets).
func (g *apigwVPCLinkState) liveLocked(id string) *apigwVPCLink {
	l := g.Links[id]
	if l != nil && !l.Deleted.IsZero() && time.Since(l.Deleted) >= apigwVPCLinkDelay {
		delete(g.Links, id)
		_ = g.saveLocked()
		return nil
	}
	return l
}

func init() {
	for op, h := range map[string]func(http.ResponseWriter, *http.Request, *gapServer, []byte){
		"apigateway.CreateVpcLink":        apigwCreateVPCLink,
		"apigateway.GetVpcLinks":          apigwGetVPCLinks,
		"apigateway.GetVpcLink":           apigwGetVPCLink,
		"apigateway.UpdateVpcLink":        apigwUpdateVPCLink,
		"apigateway.DeleteVpcLink":        apigwDeleteVPCLink,
		"apigateway.VpcLinkGetTags":       apigwVPCLinkGetTags,
		"apigateway.VpcLinkTagResource":   apigwVPCLinkTagResource,
		"apigateway.VpcLinkUntagResource": apigwVPCLinkUntagResource,
		"apigateway.UnknownVpcLinkOperation": func(w http.ResponseWriter, r *http.Request, _ *gapServer, _ []byte) {
			writeAPIGWError(w, http.StatusNotImplemented, "NotImplemented", "local aws: "+r.Method+" "+r.URL.Path+" is not emulated (kumo has no VPC links; the layer answers only what Panka uses)")
		},
	} {
		gapHandlers[op] = gapHandler{answer: h}
	}
}

// apigwVPCLinkOperation names a VPC link request ("" for another request).
func apigwVPCLinkOperation(r *http.Request) string {
	p := strings.TrimPrefix(r.URL.EscapedPath(), "/v2/")
	seg := strings.Split(p, "/")
	m := r.Method
	switch {
	case seg[0] == "tags" && len(seg) > 1:
		arn, _ := url.PathUnescape(strings.Join(seg[1:], "/"))
		if !strings.Contains(arn, "/vpclinks/") {
			return ""
		}
		return map[string]string{"GET": "apigateway.VpcLinkGetTags", "POST": "apigateway.VpcLinkTagResource", "DELETE": "apigateway.VpcLinkUntagResource"}[m]
	case seg[0] != "vpclinks":
		return ""
	case len(seg) == 1 && m == "POST":
		return "apigateway.CreateVpcLink"
	case len(seg) == 1 && m == "GET":
		return "apigateway.GetVpcLinks"
	case len(seg) == 2 && m == "GET":
		return "apigateway.GetVpcLink"
	case len(seg) == 2 && m == "PATCH":
		return "apigateway.UpdateVpcLink"
	case len(seg) == 2 && m == "DELETE":
		return "apigateway.DeleteVpcLink"
	}
	return "apigateway.UnknownVpcLinkOperation"
}

func vpcLinkJSON(id string, l *apigwVPCLink) map[string]any {
	status, msg := "AVAILABLE", "VPC link is ready to route traffic"
	switch {
	case !l.Deleted.IsZero():
		status, msg = "DELETING", "VPC link is being deleted"
	case time.Since(l.Created) < apigwVPCLinkDelay:
		status, msg = "PENDING", "VPC link is provisioning ENIs"
	}
	tags := l.Tags
	if tags == nil {
		tags = map[string]string{}
	}
	return map[string]any{"vpcLinkId": id, "name": l.Name, "subnetIds": l.SubnetIDs, "securityGroupIds": l.SecurityGroups,
		"tags": tags, "createdDate": l.Created.UTC().Format(time.RFC3339), "vpcLinkStatus": status, "vpcLinkStatusMessage": msg, "vpcLinkVersion": "V2"}
}

func apigwCreateVPCLink(w http.ResponseWriter, r *http.Request, _ *gapServer, _ []byte) {
	var req apigwVPCLink
	if err := readJSON(r, &req); err != nil || req.Name == "" || len(req.SubnetIDs) == 0 {
		writeAPIGWError(w, http.StatusBadRequest, "BadRequestException", "name and subnetIds are required")
		return
	}
	g := apigwVPCLinks
	g.mu.Lock()
	defer g.mu.Unlock()
	id := strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	req.Created, req.Deleted = time.Now(), time.Time{}
	g.Links[id] = &req
	if err := g.saveLocked(); err != nil {
		writeAPIGWError(w, http.StatusInternalServerError, "InternalServerError", "local aws: "+err.Error())
		return
	}
	writeAPIGW(w, http.StatusCreated, vpcLinkJSON(id, &req))
}

func apigwGetVPCLinks(w http.ResponseWriter, _ *http.Request, _ *gapServer, _ []byte) {
	g := apigwVPCLinks
	g.mu.Lock()
	defer g.mu.Unlock()
	items := []any{}
	for _, id := range slices.Sorted(maps.Keys(g.Links)) {
		if l := g.liveLocked(id); l != nil {
			items = append(items, vpcLinkJSON(id, l))
		}
	}
	writeAPIGW(w, http.StatusOK, map[string]any{"items": items})
}

// withVPCLink runs f on the VPC link id under the state's lock, or answers NotFoundException; f
// returns the status and answer (an error when it has an error type), and whether it changed
// the state.
func withVPCLink(w http.ResponseWriter, id string, f func(l *apigwVPCLink) (int, string, any, bool)) {
	g := apigwVPCLinks
	g.mu.Lock()
	defer g.mu.Unlock()
	l := g.liveLocked(id)
	if l == nil {
		writeAPIGWError(w, http.StatusNotFound, "NotFoundException", "Invalid VPC link identifier specified")
		return
	}
	status, errType, v, changed := f(l)
	if changed {
		if err := g.saveLocked(); err != nil {
			writeAPIGWError(w, http.StatusInternalServerError, "InternalServerError", "local aws: "+err.Error())
			return
		}
	}
	if errType != "" {
		w.Header().Set("x-amzn-ErrorType", errType)
	}
	writeAPIGW(w, status, v)
}

func apigwGetVPCLink(w http.ResponseWriter, r *http.Request, _ *gapServer, _ []byte) {
	id := pathSegment(r, 1)
	withVPCLink(w, id, func(l *apigwVPCLink) (int, string, any, bool) { return http.StatusOK, "", vpcLinkJSON(id, l), false })
}

func apigwUpdateVPCLink(w http.ResponseWriter, r *http.Request, _ *gapServer, _ []byte) {
	var req struct {
		Name string `json:"name"`
	}
	if err := readJSON(r, &req); err != nil {
		writeAPIGWError(w, http.StatusBadRequest, "BadRequestException", err.Error())
		return
	}
	id := pathSegment(r, 1)
	withVPCLink(w, id, func(l *apigwVPCLink) (int, string, any, bool) {
		if req.Name != "" {
			l.Name = req.Name
		}
		return http.StatusOK, "", vpcLinkJSON(id, l), true
	})
}

// apigwDeleteVPCLink refuses while an integration of one of kumo's APIs uses the link.
func apigwDeleteVPCLink(w http.ResponseWriter, r *http.Request, s *gapServer, _ []byte) {
	id := pathSegment(r, 1)
	users, err := vpcLinkUsers(r, s, id)
	if err != nil {
		writeAPIGWError(w, http.StatusInternalServerError, "InternalServerError", "local aws: "+err.Error())
		return
	}
	withVPCLink(w, id, func(l *apigwVPCLink) (int, string, any, bool) {
		if len(users) > 0 {
			return http.StatusBadRequest, "BadRequestException", map[string]string{"message": fmt.Sprintf("Cannot delete vpc link. Vpc link '%s', is referenced in %v in format of [ApiId-IntegrationId].", id, users)}, false
		}
		if l.Deleted.IsZero() {
			l.Deleted = time.Now()
			return http.StatusAccepted, "", map[string]any{}, true
		}
		return http.StatusAccepted, "", map[string]any{}, false
	})
}

// vpcLinkUsers returns the integrations ("apiId-integrationId") of kumo's APIs that use the VPC
// link id.
func vpcLinkUsers(r *http.Request, s *gapServer, id string) ([]string, error) {
	var users []string
	var apis struct {
		Items []struct {
			APIID string `json:"apiId"`
		} `json:"items"`
	}
	status, body, err := s.askKumoREST(r.Context(), "apigateway", http.MethodGet, "/v2/apis", nil)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("kumo's GetApis answered %d", status)
	}
	if err := json.Unmarshal(body, &apis); err != nil {
		return nil, err
	}
	for _, a := range apis.Items {
		var ins struct {
			Items []struct {
				IntegrationID  string `json:"integrationId"`
				ConnectionType string `json:"connectionType"`
				ConnectionID   string `json:"connectionId"`
			} `json:"items"`
		}
		status, body, err := s.askKumoREST(r.Context(), "apigateway", http.MethodGet, "/v2/apis/"+url.PathEscape(a.APIID)+"/integrations", nil)
		if err != nil {
			return nil, err
		}
		if status != http.StatusOK {
			continue // the API went meanwhile
		}
		if err := json.Unmarshal(body, &ins); err != nil {
			return nil, err
		}
		for _, in := range ins.Items {
			if in.ConnectionType == "VPC_LINK" && in.ConnectionID == id {
				users = append(users, a.APIID+"-"+in.IntegrationID)
			}
		}
	}
	return users, nil
}

// vpcLinkOfTagPath returns the VPC link ID of a /v2/tags/{arn} request.
func vpcLinkOfTagPath(r *http.Request) string {
	arn, _ := url.PathUnescape(strings.TrimPrefix(r.URL.EscapedPath(), "/v2/tags/"))
	_, id, _ := strings.Cut(arn, "/vpclinks/")
	return id
}

func apigwVPCLinkGetTags(w http.ResponseWriter, r *http.Request, _ *gapServer, _ []byte) {
	withVPCLink(w, vpcLinkOfTagPath(r), func(l *apigwVPCLink) (int, string, any, bool) {
		tags := l.Tags
		if tags == nil {
			tags = map[string]string{}
		}
		return http.StatusOK, "", map[string]any{"tags": tags}, false
	})
}

func apigwVPCLinkTagResource(w http.ResponseWriter, r *http.Request, _ *gapServer, _ []byte) {
	var req struct {
		Tags map[string]string `json:"tags"`
	}
	if err := readJSON(r, &req); err != nil {
		writeAPIGWError(w, http.StatusBadRequest, "BadRequestException", err.Error())
		return
	}
	withVPCLink(w, vpcLinkOfTagPath(r), func(l *apigwVPCLink) (int, string, any, bool) {
		if l.Tags == nil {
			l.Tags = map[string]string{}
		}
		maps.Copy(l.Tags, req.Tags)
		return http.StatusCreated, "", map[string]any{}, true
	})
}

func apigwVPCLinkUntagResource(w http.ResponseWriter, r *http.Request, _ *gapServer, _ []byte) {
	keys := r.URL.Query()["tagKeys"]
	withVPCLink(w, vpcLinkOfTagPath(r), func(l *apigwVPCLink) (int, string, any, bool) {
		for _, k := range keys {
			delete(l.Tags, k)
		}
		return http.StatusNoContent, "", nil, true
	})
}
