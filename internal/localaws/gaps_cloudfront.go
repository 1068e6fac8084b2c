package localaws

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/uuid"
)

// ---------------------------------------------------------------------------------------------
// CloudFront distribution deletion: CloudFront deletes only a disabled distribution
// (DistributionNotDisabled otherwise); kumo v0.33.1 deletes an enabled one. The layer asks kumo
// for the distribution first and refuses to delete it while it is enabled; everything else of
// DeleteDistribution (the If-Match ETag, a missing distribution) is kumo's. No state of its own.

const cfXMLNS = "http://cloudfront.amazonaws.com/doc/2020-05-31/"

func init() {
	restOperations["cloudfront"] = cfOperation
	gapHandlers["cloudfront.DeleteDistribution"] = gapHandler{answer: cfDeleteDistribution}
}

// cfOperation names a CloudFront request the layer answers.
func cfOperation(r *http.Request) string {
	rest, ok := strings.CutPrefix(r.URL.EscapedPath(), "/2020-05-31/distribution/")
	if ok && r.Method == http.MethodDelete && rest != "" && !strings.Contains(rest, "/") {
		return "cloudfront.DeleteDistribution"
	}
	return ""
}

func cfDeleteDistribution(w http.ResponseWriter, r *http.Request, s *gapServer, _ []byte) {
	id, _ := url.PathUnescape(strings.TrimPrefix(r.URL.EscapedPath(), "/2020-05-31/distribution/"))
	status, body, err := s.askKumoREST(r.Context(), "cloudfront", http.MethodGet, "/2020-05-31/distribution/"+url.PathEscape(id), nil)
	if err != nil {
		writeCFError(w, http.StatusInternalServerError, "InternalError", "local aws: "+err.Error())
		return
	}
	if status == http.StatusOK {
		var d struct {
			Enabled bool `xml:"DistributionConfig>Enabled"`
		}
		if err := xml.Unmarshal(body, &d); err != nil {
			writeCFError(w, http.StatusInternalServerError, "InternalError", "local aws: distribution "+id+": "+err.Error())
			return
		}
		if d.Enabled {
			writeCFError(w, http.StatusConflict, "DistributionNotDisabled", "The distribution you are trying to delete has not been disabled.")
			return
		}
	}
	s.proxy.ServeHTTP(w, r) // kumo checks the ETag and deletes
}

func writeCFError(w http.ResponseWriter, status int, code, msg string) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "<ErrorResponse xmlns=%q><Error><Type>Sender</Type><Code>%s</Code><Message>", cfXMLNS, code)
	_ = xml.EscapeText(&b, []byte(msg))
	fmt.Fprintf(&b, "</Message></Error><RequestId>%s</RequestId></ErrorResponse>", uuid.NewString())
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(xml.Header + b.String()))
}
