package localaws

import (
	"bytes"
	"cmp"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/google/uuid"
)

// ---------------------------------------------------------------------------------------------
// ELBv2 (gaps_elbv2.go): kumo v0.33.1 has no ModifyTargetGroup; keeps only the type (and a
// forward's target groups) of a listener's or rule's actions, dropping redirect and fixed-response
// settings, and drops a listener's certificates, SSL policy and ALPN policy (ModifyListener's too);
// answers DescribeLoadBalancers, DescribeTargetGroups and DescribeListeners of load balancers and
// target groups it does not have with empty lists; gives a load balancer a random VpcId; reports no
// target group's load balancers; deletes a load balancer with deletion protection and a target
// group a listener or rule forwards to; refuses a create of a name it has even with the same
// settings. The layer answers these operations itself, asking kumo for everything it keeps: it
// records what kumo drops (by listener, rule and target group ARN, and each load balancer's VPC:
// the VPC of its subnets in kumo's EC2), writes it into kumo's answers, and forgets it when kumo
// deletes the resource.

const (
	elbGapsFile = "panka-gaps-elbv2.json"
	elbXMLNS    = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"
)

// elbGapState is what the layer keeps of ELBv2 resources. Forms hold the Query-form fields of
// the request that set them (url.Values: "DefaultActions.member.1.Type" and so on), which are
// the shape of the XML ELBv2 answers with.
type elbGapState struct {
	mu  sync.Mutex
	dir string
	// LBVPCs is the VPC of each load balancer, by ARN.
	LBVPCs map[string]string `json:"lbVpcs"`
	// Listeners holds each listener's SslPolicy, Certificates, AlpnPolicy and DefaultActions.
	Listeners map[string]url.Values `json:"listeners"`
	// Rules holds each rule's Actions.
	Rules map[string]url.Values `json:"rules"`
	// TargetGroups holds the health check settings ModifyTargetGroup changed.
	TargetGroups map[string]url.Values `json:"targetGroups"`
}

var elbGaps = newELBGapState(os.Getenv("KUMO_DATA_DIR"))

func newELBGapState(dir string) *elbGapState {
	g := &elbGapState{dir: dir}
	loadGapFile(dir, elbGapsFile, g)
	if g.LBVPCs == nil {
		g.LBVPCs = map[string]string{}
	}
	if g.Listeners == nil {
		g.Listeners = map[string]url.Values{}
	}
	if g.Rules == nil {
		g.Rules = map[string]url.Values{}
	}
	if g.TargetGroups == nil {
		g.TargetGroups = map[string]url.Values{}
	}
	return g
}

// update changes the state under its lock and saves it.
func (g *elbGapState) update(change func(*elbGapState)) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	change(g)
	return saveGapFile(g.dir, elbGapsFile, g)
}

func (g *elbGapState) read(f func(*elbGapState)) {
	g.mu.Lock()
	defer g.mu.Unlock()
	f(g)
}

func init() {
	for op, h := range map[string]func(http.ResponseWriter, *http.Request, *gapServer, url.Values){
		"CreateLoadBalancer":    elbCreateLoadBalancer,
		"DescribeLoadBalancers": elbDescribeLoadBalancers,
		"DeleteLoadBalancer":    elbDeleteLoadBalancer,
		"CreateTargetGroup":     elbCreateTargetGroup,
		"DescribeTargetGroups":  elbDescribeTargetGroups,
		"ModifyTargetGroup":     elbModifyTargetGroup,
		"DeleteTargetGroup":     elbDeleteTargetGroup,
		"CreateListener":        elbCreateListener,
		"ModifyListener":        elbModifyListener,
		"DescribeListeners":     elbDescribeListeners,
		"DeleteListener":        elbDeleteListener,
		"CreateRule":            elbChangeRule,
		"ModifyRule":            elbChangeRule,
		"DescribeRules":         elbRules,
		"SetRulePriorities":     elbRules,
		"DeleteRule":            elbDeleteRule,
	} {
		gapHandlers["elasticloadbalancing."+op] = gapHandler{answer: elbAnswer(h)}
	}
}

// elbAnswer parses the request's form for h.
func elbAnswer(h func(http.ResponseWriter, *http.Request, *gapServer, url.Values)) func(http.ResponseWriter, *http.Request, *gapServer, []byte) {
	return func(w http.ResponseWriter, r *http.Request, s *gapServer, req []byte) {
		form, err := url.ParseQuery(string(req))
		if err != nil {
			writeELBError(w, http.StatusBadRequest, "ValidationError", err.Error())
			return
		}
		h(w, r, s, form)
	}
}

// kumoELB sends kumo an ELBv2 Query request.
func (s *gapServer) kumoELB(ctx context.Context, form url.Values) (int, []byte, error) {
	if form.Get("Version") == "" {
		form.Set("Version", "2015-12-01")
	}
	return s.kumoQuery(ctx, "elasticloadbalancing", "elasticloadbalancingv2", form)
}

// kumoQuery sends kumo a Query request signed for service, with the SDK's api/ token for id.
func (s *gapServer) kumoQuery(ctx context.Context, service, id string, form url.Values) (int, []byte, error) {
	return s.sendKumo(ctx, service, id, "", []byte(form.Encode()))
}

// mergeFields returns stored (a new set if nil) with each of fields that form sets replaced by
// form's: a field given is given whole (its members form subForm's keys), one not given is kept.
func mergeFields(stored, form url.Values, fields []string) url.Values {
	if stored == nil {
		stored = url.Values{}
	}
	for _, f := range fields {
		if ch := subForm(form, f); len(ch) > 0 {
			for k := range subForm(stored, f) {
				delete(stored, k)
			}
			maps.Copy(stored, ch)
		}
	}
	return stored
}

// elbForward sends the request to kumo; ok is false when the client has been answered already
// (kumo's error, or the layer's).
func (s *gapServer) elbForward(w http.ResponseWriter, r *http.Request, form url.Values) ([]byte, bool) {
	status, data, err := s.kumoELB(r.Context(), form)
	return kumoAnswer(w, status, data, err)
}

// kumoAnswer returns kumo's answer data when it is a success; otherwise it answers the client
// with kumo's error (or the layer's, err) and returns false.
func kumoAnswer(w http.ResponseWriter, status int, data []byte, err error) ([]byte, bool) {
	if err != nil {
		writeELBError(w, http.StatusInternalServerError, "InternalFailure", "local aws: "+err.Error())
		return nil, false
	}
	if status != http.StatusOK {
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(status)
		_, _ = w.Write(data)
		return nil, false
	}
	return data, true
}

func writeELB(w http.ResponseWriter, doc []byte) {
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("x-amzn-RequestId", uuid.NewString())
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(doc)
}

func writeELBError(w http.ResponseWriter, status int, code, msg string) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "<ErrorResponse xmlns=%q><Error><Type>Sender</Type><Code>%s</Code><Message>", elbXMLNS, code)
	_ = xml.EscapeText(&b, []byte(msg))
	id := uuid.NewString()
	fmt.Fprintf(&b, "</Message></Error><RequestId>%s</RequestId></ErrorResponse>", id)
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("x-amzn-RequestId", id)
	w.WriteHeader(status)
	_, _ = io.WriteString(w, xml.Header+b.String())
}

// members returns the values of a Query list (NAME.member.1, NAME.member.2, ...).
func members(form url.Values, name string) []string {
	var out []string
	for i := 1; form.Has(fmt.Sprintf("%s.member.%d", name, i)); i++ {
		out = append(out, form.Get(fmt.Sprintf("%s.member.%d", name, i)))
	}
	return out
}

// subForm returns the fields of form under each prefix ("SslPolicy", "DefaultActions"): the
// field itself and those under "prefix.".
func subForm(form url.Values, prefixes ...string) url.Values {
	out := url.Values{}
	for k, v := range form {
		for _, p := range prefixes {
			if k == p || strings.HasPrefix(k, p+".") {
				out[k] = slices.Clone(v)
			}
		}
	}
	return out
}

// formXML renders the fields of form under prefix as the XML Query services answer with:
// "A.member.2.B" is <A><member>..</member><member><B>..</B></member></A>, "M.entry.1.key" a map.
func formXML(form url.Values, prefix string) string {
	type node struct {
		kids  map[string]*node
		value *string
	}
	root := &node{kids: map[string]*node{}}
	for k, v := range form {
		if !strings.HasPrefix(k, prefix+".") && k != prefix {
			continue
		}
		n := root
		for _, part := range strings.Split(k, ".") {
			if n.kids[part] == nil {
				n.kids[part] = &node{kids: map[string]*node{}}
			}
			n = n.kids[part]
		}
		if len(v) > 0 {
			n.value = &v[0]
		}
	}
	var b strings.Builder
	var render func(name string, n *node)
	numeric := func(k string) int { i, _ := strconv.Atoi(k); return i }
	order := func(n *node) []string {
		keys := slices.Collect(maps.Keys(n.kids))
		slices.SortFunc(keys, func(a, b string) int {
			if ia, ib := numeric(a), numeric(b); ia != 0 || ib != 0 {
				return ia - ib
			}
			return strings.Compare(a, b)
		})
		return keys
	}
	render = func(name string, n *node) {
		if name == "member" || name == "entry" {
			for _, k := range order(n) { // member.N: one element per N
				writeElement(&b, name, n.kids[k].value, func() {
					for _, kk := range order(n.kids[k]) {
						render(kk, n.kids[k].kids[kk])
					}
				})
			}
			return
		}
		writeElement(&b, name, n.value, func() {
			for _, k := range order(n) {
				render(k, n.kids[k])
			}
		})
	}
	if n := root.kids[prefix]; n != nil {
		render(prefix, n)
	}
	return b.String()
}

// writeElement writes <name>, then value (escaped) if set or else what kids writes, then </name>.
func writeElement(b *strings.Builder, name string, value *string, kids func()) {
	b.WriteString("<" + name + ">")
	if value != nil {
		var e bytes.Buffer
		_ = xml.EscapeText(&e, []byte(*value))
		b.Write(e.Bytes())
	} else {
		kids()
	}
	b.WriteString("</" + name + ">")
}

var xmlText = regexp.MustCompile(`<(LoadBalancerArn|LoadBalancerName|TargetGroupArn|TargetGroupName|ListenerArn|RuleArn|SubnetId|vpcId|subnetId)>([^<]*)</`)

// xmlValues returns the text of every element name in doc.
func xmlValues(doc []byte, name string) []string {
	var out []string
	for _, m := range xmlText.FindAllSubmatch(doc, -1) {
		if string(m[1]) == name {
			out = append(out, xmlUnescape(string(m[2])))
		}
	}
	return out
}

func xmlUnescape(s string) string {
	var v string
	if err := xml.Unmarshal([]byte("<a>"+s+"</a>"), &v); err != nil {
		return s
	}
	return v
}

func xmlEscape(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// missing returns the first of want that is not in got.
func missing(want, got []string) (string, bool) {
	for _, w := range want {
		if !slices.Contains(got, w) {
			return w, true
		}
	}
	return "", false
}

// --- load balancers ---------------------------------------------------------------------------

// subnetVPC asks kumo's EC2 for the VPC of the subnets ("" when it has none of them).
func (s *gapServer) subnetVPC(ctx context.Context, subnets []string) (string, error) {
	if len(subnets) == 0 {
		return "", nil
	}
	form := url.Values{"Action": {"DescribeSubnets"}, "Version": {"2016-11-15"}}
	for i, id := range subnets {
		form.Set(fmt.Sprintf("SubnetId.%d", i+1), id)
	}
	status, data, err := s.kumoQuery(ctx, "ec2", "ec2", form)
	if err != nil {
		return "", err
	}
	if status != http.StatusOK {
		return "", nil // subnets kumo does not have: keep kumo's VPC
	}
	var out struct {
		Subnets []struct {
			ID  string `xml:"subnetId"`
			VPC string `xml:"vpcId"`
		} `xml:"subnetSet>item"`
	}
	if err := xml.Unmarshal(data, &out); err != nil {
		return "", err
	}
	for _, sn := range out.Subnets {
		if slices.Contains(subnets, sn.ID) {
			return sn.VPC, nil
		}
	}
	return "", nil
}

func elbCreateLoadBalancer(w http.ResponseWriter, r *http.Request, s *gapServer, form url.Values) {
	subnets := members(form, "Subnets")
	for i := 1; form.Has(fmt.Sprintf("SubnetMappings.member.%d.SubnetId", i)); i++ {
		subnets = append(subnets, form.Get(fmt.Sprintf("SubnetMappings.member.%d.SubnetId", i)))
	}
	vpc, err := s.subnetVPC(r.Context(), subnets)
	if err != nil {
		writeELBError(w, http.StatusInternalServerError, "InternalFailure", "local aws: "+err.Error())
		return
	}
	data, ok := s.elbCreate(w, r, form, "LoadBalancer", func(doc []byte) bool {
		var out struct {
			Type    string   `xml:"DescribeLoadBalancersResult>LoadBalancers>member>Type"`
			Scheme  string   `xml:"DescribeLoadBalancersResult>LoadBalancers>member>Scheme"`
			Subnets []string `xml:"DescribeLoadBalancersResult>LoadBalancers>member>AvailabilityZones>member>SubnetId"`
		}
		if xml.Unmarshal(doc, &out) != nil {
			return false
		}
		slices.Sort(out.Subnets)
		want := slices.Sorted(slices.Values(subnets))
		return out.Type == cmp.Or(form.Get("Type"), "application") && out.Scheme == cmp.Or(form.Get("Scheme"), "internet-facing") &&
			slices.Equal(out.Subnets, want)
	})
	if !ok {
		return
	}
	if arns := xmlValues(data, "LoadBalancerArn"); vpc != "" && len(arns) == 1 {
		if err := elbGaps.update(func(g *elbGapState) { g.LBVPCs[arns[0]] = vpc }); err != nil {
			writeELBError(w, http.StatusInternalServerError, "InternalFailure", "local aws: "+err.Error())
			return
		}
	}
	writeELB(w, lbVPCs(data))
}

// elbCreate sends kumo a CreateLoadBalancer or CreateTargetGroup (kind "LoadBalancer" or
// "TargetGroup"). Kumo refuses a name it has (Duplicate...Name); ELBv2 answers with the existing
// resource when its settings are the request's (same reports whether they are, from kumo's
// Describe... answer), so a create retried after a crash finds what the first made.
func (s *gapServer) elbCreate(w http.ResponseWriter, r *http.Request, form url.Values, kind string, same func([]byte) bool) ([]byte, bool) {
	status, data, err := s.kumoELB(r.Context(), form)
	if err == nil && status == http.StatusBadRequest && bytes.Contains(data, []byte("<Code>Duplicate"+kind+"Name</Code>")) {
		st, doc, derr := s.kumoELB(r.Context(), url.Values{"Action": {"Describe" + kind + "s"}, "Names.member.1": {form.Get("Name")}})
		if derr == nil && st == http.StatusOK && same(doc) {
			return bytes.ReplaceAll(doc, []byte("Describe"+kind+"s"), []byte("Create"+kind)), true
		}
	}
	return kumoAnswer(w, status, data, err)
}

func elbCreateTargetGroup(w http.ResponseWriter, r *http.Request, s *gapServer, form url.Values) {
	data, ok := s.elbCreate(w, r, form, "TargetGroup", func(doc []byte) bool {
		var out struct {
			Protocol   string `xml:"DescribeTargetGroupsResult>TargetGroups>member>Protocol"`
			Port       string `xml:"DescribeTargetGroupsResult>TargetGroups>member>Port"`
			VPC        string `xml:"DescribeTargetGroupsResult>TargetGroups>member>VpcId"`
			TargetType string `xml:"DescribeTargetGroupsResult>TargetGroups>member>TargetType"`
		}
		if xml.Unmarshal(doc, &out) != nil {
			return false
		}
		return out.Protocol == form.Get("Protocol") && out.Port == form.Get("Port") && out.VPC == form.Get("VpcId") &&
			out.TargetType == cmp.Or(form.Get("TargetType"), "instance")
	})
	if !ok {
		return
	}
	uses, err := s.targetGroupUses(r.Context())
	if err != nil {
		writeELBError(w, http.StatusInternalServerError, "InternalFailure", "local aws: "+err.Error())
		return
	}
	writeELB(w, tgAnswer(data, uses, ""))
}

var lbVPC = regexp.MustCompile(`(?s)<LoadBalancerArn>([^<]*)</LoadBalancerArn>(.*?)<VpcId>[^<]*</VpcId>`)

// lbVPCs writes the recorded VPC of each load balancer into kumo's answer.
func lbVPCs(data []byte) []byte {
	elbGaps.mu.Lock()
	defer elbGaps.mu.Unlock()
	return lbVPC.ReplaceAllFunc(data, func(m []byte) []byte {
		sub := lbVPC.FindSubmatch(m)
		vpc, ok := elbGaps.LBVPCs[xmlUnescape(string(sub[1]))]
		if !ok || bytes.Contains(sub[2], []byte("<LoadBalancerArn>")) { // not this one's VpcId
			return m
		}
		return fmt.Appendf(nil, "<LoadBalancerArn>%s</LoadBalancerArn>%s<VpcId>%s</VpcId>", sub[1], sub[2], xmlEscape(vpc))
	})
}

func elbDescribeLoadBalancers(w http.ResponseWriter, r *http.Request, s *gapServer, form url.Values) {
	data, ok := s.elbForward(w, r, form)
	if !ok {
		return
	}
	if arn, gone := missing(members(form, "LoadBalancerArns"), xmlValues(data, "LoadBalancerArn")); gone {
		writeELBError(w, http.StatusBadRequest, "LoadBalancerNotFound", "One or more load balancers not found: "+arn)
		return
	}
	if name, gone := missing(members(form, "Names"), xmlValues(data, "LoadBalancerName")); gone {
		writeELBError(w, http.StatusBadRequest, "LoadBalancerNotFound", "One or more load balancers not found: "+name)
		return
	}
	writeELB(w, lbNetworks(lbVPCs(data))) // lbNetworks: gaps_elbv2_lb.go
}

// lbExists asks kumo whether the load balancer arn exists.
func (s *gapServer) lbExists(ctx context.Context, arn string) (bool, error) {
	status, data, err := s.kumoELB(ctx, url.Values{"Action": {"DescribeLoadBalancers"}, "LoadBalancerArns.member.1": {arn}})
	if err != nil {
		return false, err
	}
	if status != http.StatusOK {
		return false, fmt.Errorf("DescribeLoadBalancers %s: kumo answered %d %s", arn, status, bytes.TrimSpace(data))
	}
	return slices.Contains(xmlValues(data, "LoadBalancerArn"), arn), nil
}

func elbDeleteLoadBalancer(w http.ResponseWriter, r *http.Request, s *gapServer, form url.Values) {
	arn := form.Get("LoadBalancerArn")
	status, data, err := s.kumoELB(r.Context(), url.Values{"Action": {"DescribeLoadBalancerAttributes"}, "LoadBalancerArn": {arn}})
	if err != nil {
		writeELBError(w, http.StatusInternalServerError, "InternalFailure", "local aws: "+err.Error())
		return
	}
	if status == http.StatusOK && bytes.Contains(data, []byte("<Key>deletion_protection.enabled</Key><Value>true</Value>")) {
		writeELBError(w, http.StatusBadRequest, "OperationNotPermitted",
			fmt.Sprintf("Load balancer '%s' cannot be deleted because deletion protection is enabled", arn))
		return
	}
	// Kumo deletes the load balancer's listeners with it: forget theirs and their rules'.
	status, ls, err := s.kumoELB(r.Context(), url.Values{"Action": {"DescribeListeners"}, "LoadBalancerArn": {arn}})
	if err != nil {
		writeELBError(w, http.StatusInternalServerError, "InternalFailure", "local aws: "+err.Error())
		return
	}
	var listeners []string
	if status == http.StatusOK {
		listeners = xmlValues(ls, "ListenerArn")
	}
	out, ok := s.elbForward(w, r, form)
	if !ok {
		return
	}
	if err := elbGaps.update(func(g *elbGapState) {
		delete(g.LBVPCs, arn)
		for _, l := range listeners {
			g.forgetListener(l)
		}
	}); err != nil {
		writeELBError(w, http.StatusInternalServerError, "InternalFailure", "local aws: "+err.Error())
		return
	}
	if err := elbNetGaps.forget(arn); err != nil { // gaps_elbv2_lb.go
		writeELBError(w, http.StatusInternalServerError, "InternalFailure", "local aws: "+err.Error())
		return
	}
	writeELB(w, out)
}

// forgetListener forgets listener l and its rules. g.mu must be held.
func (g *elbGapState) forgetListener(l string) {
	delete(g.Listeners, l)
	prefix := strings.Replace(l, ":listener/", ":listener-rule/", 1) + "/"
	for rule := range g.Rules {
		if strings.HasPrefix(rule, prefix) {
			delete(g.Rules, rule)
		}
	}
}

// --- target groups ----------------------------------------------------------------------------

// healthCheckFields are ModifyTargetGroup's settings, as DescribeTargetGroups names them.
var healthCheckFields = []string{"HealthCheckProtocol", "HealthCheckPort", "HealthCheckPath", "HealthCheckEnabled",
	"HealthCheckIntervalSeconds", "HealthCheckTimeoutSeconds", "HealthyThresholdCount", "UnhealthyThresholdCount", "Matcher"}

func elbDescribeTargetGroups(w http.ResponseWriter, r *http.Request, s *gapServer, form url.Values) {
	lb := form.Get("LoadBalancerArn")
	if lb != "" {
		if !s.elbCheckLB(w, r, lb) {
			return
		}
		form.Del("LoadBalancerArn") // kumo knows no load balancer's target groups: the layer filters
	}
	data, ok := s.elbForward(w, r, form)
	if !ok {
		return
	}
	if arn, gone := missing(members(form, "TargetGroupArns"), xmlValues(data, "TargetGroupArn")); gone {
		writeELBError(w, http.StatusBadRequest, "TargetGroupNotFound", "One or more target groups not found: "+arn)
		return
	}
	if name, gone := missing(members(form, "Names"), xmlValues(data, "TargetGroupName")); gone {
		writeELBError(w, http.StatusBadRequest, "TargetGroupNotFound", "One or more target groups not found: "+name)
		return
	}
	uses, err := s.targetGroupUses(r.Context())
	if err != nil {
		writeELBError(w, http.StatusInternalServerError, "InternalFailure", "local aws: "+err.Error())
		return
	}
	writeELB(w, tgAnswer(data, uses, lb))
}

// elbCheckLB answers LoadBalancerNotFound, and returns false, when kumo has no load balancer lb.
func (s *gapServer) elbCheckLB(w http.ResponseWriter, r *http.Request, lb string) bool {
	exists, err := s.lbExists(r.Context(), lb)
	if err != nil {
		writeELBError(w, http.StatusInternalServerError, "InternalFailure", "local aws: "+err.Error())
		return false
	}
	if !exists {
		writeELBError(w, http.StatusBadRequest, "LoadBalancerNotFound", fmt.Sprintf("Load balancer '%s' not found", lb))
	}
	return exists
}

var (
	tgStart  = regexp.MustCompile(`<TargetGroupArn>([^<]*)</TargetGroupArn>`)
	tgLBArns = regexp.MustCompile(`(?s)<LoadBalancerArns>.*?</LoadBalancerArns>|<LoadBalancerArns/>`)
	tgMember = regexp.MustCompile(`(?s)^(.*<TargetGroups>)(.*)(</TargetGroups>.*)$`)
)

// tgAnswer writes into kumo's answer each target group's recorded health check settings and the
// load balancers that use it (uses, when not nil), keeping only the target groups of the load
// balancer lb if it is set. Each target group's elements follow its TargetGroupArn, up to the
// next one; kumo's answer has each in a <member> of <TargetGroups>.
func tgAnswer(data []byte, uses map[string][]string, lb string) []byte {
	elbGaps.mu.Lock()
	defer elbGaps.mu.Unlock()
	parts := tgMember.FindSubmatch(data)
	if parts == nil {
		return data
	}
	list := parts[2]
	idx := tgStart.FindAllSubmatchIndex(list, -1)
	if len(idx) == 0 {
		return data
	}
	out := slices.Clone(parts[1])
	for i, m := range idx {
		// The member runs from the <member> before this TargetGroupArn to the next one's.
		start := bytes.LastIndex(list[:m[0]], []byte("<member>"))
		end := len(list)
		if i+1 < len(idx) {
			end = bytes.LastIndex(list[:idx[i+1][0]], []byte("<member>"))
		}
		if start < 0 || end < m[1] {
			return data // not kumo's usual answer: pass it on as it is
		}
		arn := xmlUnescape(string(list[m[2]:m[3]]))
		if lb != "" && !slices.Contains(uses[arn], lb) {
			continue
		}
		head, seg := list[start:m[1]], list[m[1]:end]
		var add strings.Builder
		if hc, ok := elbGaps.TargetGroups[arn]; ok {
			for _, f := range healthCheckFields {
				if !hc.Has(f) && firstKey(hc, f+".") == "" {
					continue
				}
				seg = regexp.MustCompile(`(?s)<`+f+`>.*?</`+f+`>`).ReplaceAll(seg, nil)
				add.WriteString(formXML(hc, f))
			}
		}
		if uses != nil {
			seg = tgLBArns.ReplaceAll(seg, nil)
			add.WriteString("<LoadBalancerArns>")
			for _, l := range uses[arn] {
				add.WriteString("<member>" + xmlEscape(l) + "</member>")
			}
			add.WriteString("</LoadBalancerArns>")
		}
		out = append(out, head...)
		out = append(out, add.String()...)
		out = append(out, seg...)
	}
	return append(out, parts[3]...)
}

// firstKey returns a key of form under prefix, or "".
func firstKey(form url.Values, prefix string) string {
	for k := range form {
		if strings.HasPrefix(k, prefix) {
			return k
		}
	}
	return ""
}

func elbModifyTargetGroup(w http.ResponseWriter, r *http.Request, s *gapServer, form url.Values) {
	arn := form.Get("TargetGroupArn")
	status, data, err := s.kumoELB(r.Context(), url.Values{"Action": {"DescribeTargetGroups"}, "TargetGroupArns.member.1": {arn}})
	if err != nil {
		writeELBError(w, http.StatusInternalServerError, "InternalFailure", "local aws: "+err.Error())
		return
	}
	if status != http.StatusOK || !slices.Contains(xmlValues(data, "TargetGroupArn"), arn) {
		writeELBError(w, http.StatusBadRequest, "TargetGroupNotFound", fmt.Sprintf("Target group '%s' not found", arn))
		return
	}
	if err := elbGaps.update(func(g *elbGapState) {
		g.TargetGroups[arn] = mergeFields(g.TargetGroups[arn], form, healthCheckFields)
	}); err != nil {
		writeELBError(w, http.StatusInternalServerError, "InternalFailure", "local aws: "+err.Error())
		return
	}
	uses, err := s.targetGroupUses(r.Context())
	if err != nil {
		writeELBError(w, http.StatusInternalServerError, "InternalFailure", "local aws: "+err.Error())
		return
	}
	doc := bytes.ReplaceAll(data, []byte("DescribeTargetGroups"), []byte("ModifyTargetGroup"))
	writeELB(w, tgAnswer(doc, uses, ""))
}

func elbDeleteTargetGroup(w http.ResponseWriter, r *http.Request, s *gapServer, form url.Values) {
	arn := form.Get("TargetGroupArn")
	inUse, err := s.targetGroupInUse(r.Context(), arn)
	if err != nil {
		writeELBError(w, http.StatusInternalServerError, "InternalFailure", "local aws: "+err.Error())
		return
	}
	if inUse {
		writeELBError(w, http.StatusBadRequest, "ResourceInUse", fmt.Sprintf("Target group '%s' is currently in use by a listener or a rule", arn))
		return
	}
	out, ok := s.elbForward(w, r, form)
	if !ok {
		return
	}
	if err := elbGaps.update(func(g *elbGapState) { delete(g.TargetGroups, arn) }); err != nil {
		writeELBError(w, http.StatusInternalServerError, "InternalFailure", "local aws: "+err.Error())
		return
	}
	writeELB(w, out)
}

// targetGroupInUse reports whether a listener or rule forwards to the target group arn.
func (s *gapServer) targetGroupInUse(ctx context.Context, arn string) (bool, error) {
	uses, err := s.targetGroupUses(ctx)
	return len(uses[arn]) > 0, err
}

var tgARN = regexp.MustCompile(`arn:[^<:]+:elasticloadbalancing:[^<:]*:[^<:]*:targetgroup/[^<]+`)

// targetGroupUses returns the load balancers whose listeners or rules forward to each target
// group (by ARN), reading kumo's listeners and rules with what the layer keeps of them.
func (s *gapServer) targetGroupUses(ctx context.Context) (map[string][]string, error) {
	status, data, err := s.kumoELB(ctx, url.Values{"Action": {"DescribeListeners"}})
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("DescribeListeners: kumo answered %d %s", status, bytes.TrimSpace(data))
	}
	data = listenerAnswer(data)
	uses := map[string][]string{}
	use := func(doc []byte, lb string) {
		for _, tg := range tgARN.FindAll(doc, -1) {
			if t := xmlUnescape(string(tg)); !slices.Contains(uses[t], lb) {
				uses[t] = append(uses[t], lb)
			}
		}
	}
	idx := listenerStart.FindAllSubmatchIndex(data, -1)
	for i, m := range idx {
		end := len(data)
		if i+1 < len(idx) {
			end = idx[i+1][0]
		}
		seg := data[m[0]:end]
		lbs := xmlValues(seg, "LoadBalancerArn")
		if len(lbs) == 0 {
			continue
		}
		use(seg, lbs[0])
		status, rules, err := s.kumoELB(ctx, url.Values{"Action": {"DescribeRules"}, "ListenerArn": {xmlUnescape(string(data[m[2]:m[3]]))}})
		if err != nil {
			return nil, err
		}
		if status == http.StatusOK {
			use(ruleAnswer(rules), lbs[0])
		}
	}
	return uses, nil
}

var listenerStart = regexp.MustCompile(`<ListenerArn>([^<]*)</ListenerArn>`)

// --- listeners --------------------------------------------------------------------------------

// listenerFields are what the layer keeps of a listener.
var listenerFields = []string{"SslPolicy", "Certificates", "AlpnPolicy", "DefaultActions"}

var listenerDoc = regexp.MustCompile(`(?s)<ListenerArn>([^<]*)</ListenerArn>(.*?)(<DefaultActions>.*?</DefaultActions>)`)

// listenerAnswer writes the recorded settings of each listener into kumo's answer.
func listenerAnswer(data []byte) []byte {
	elbGaps.mu.Lock()
	defer elbGaps.mu.Unlock()
	return listenerDoc.ReplaceAllFunc(data, func(m []byte) []byte {
		sub := listenerDoc.FindSubmatch(m)
		f, ok := elbGaps.Listeners[xmlUnescape(string(sub[1]))]
		if !ok {
			return m
		}
		var b strings.Builder
		fmt.Fprintf(&b, "<ListenerArn>%s</ListenerArn>%s", sub[1], sub[2])
		for _, name := range listenerFields {
			b.WriteString(formXML(f, name))
		}
		if len(subForm(f, "DefaultActions")) == 0 { // a listener the layer saw no actions of: kumo's
			b.Write(sub[3])
		}
		return []byte(b.String())
	})
}

func elbCreateListener(w http.ResponseWriter, r *http.Request, s *gapServer, form url.Values) {
	data, ok := s.elbForward(w, r, form)
	if !ok {
		return
	}
	arns := xmlValues(data, "ListenerArn")
	if len(arns) == 1 {
		if err := elbGaps.update(func(g *elbGapState) { g.Listeners[arns[0]] = subForm(form, listenerFields...) }); err != nil {
			writeELBError(w, http.StatusInternalServerError, "InternalFailure", "local aws: "+err.Error())
			return
		}
	}
	writeELB(w, listenerAnswer(data))
}

func elbModifyListener(w http.ResponseWriter, r *http.Request, s *gapServer, form url.Values) {
	data, ok := s.elbForward(w, r, form)
	if !ok {
		return
	}
	arn := form.Get("ListenerArn")
	if err := elbGaps.update(func(g *elbGapState) {
		g.Listeners[arn] = mergeFields(g.Listeners[arn], form, listenerFields)
	}); err != nil {
		writeELBError(w, http.StatusInternalServerError, "InternalFailure", "local aws: "+err.Error())
		return
	}
	writeELB(w, listenerAnswer(data))
}

func elbDescribeListeners(w http.ResponseWriter, r *http.Request, s *gapServer, form url.Values) {
	if lb := form.Get("LoadBalancerArn"); lb != "" && !s.elbCheckLB(w, r, lb) {
		return
	}
	data, ok := s.elbForward(w, r, form)
	if !ok {
		return
	}
	if arn, gone := missing(members(form, "ListenerArns"), xmlValues(data, "ListenerArn")); gone {
		writeELBError(w, http.StatusBadRequest, "ListenerNotFound", fmt.Sprintf("Listener '%s' not found", arn))
		return
	}
	writeELB(w, listenerAnswer(data))
}

func elbDeleteListener(w http.ResponseWriter, r *http.Request, s *gapServer, form url.Values) {
	out, ok := s.elbForward(w, r, form)
	if !ok {
		return
	}
	if err := elbGaps.update(func(g *elbGapState) { g.forgetListener(form.Get("ListenerArn")) }); err != nil {
		writeELBError(w, http.StatusInternalServerError, "InternalFailure", "local aws: "+err.Error())
		return
	}
	writeELB(w, out)
}

// --- rules ------------------------------------------------------------------------------------

var ruleDoc = regexp.MustCompile(`(?s)<RuleArn>([^<]*)</RuleArn>(.*?)<Actions>.*?</Actions>`)

// ruleAnswer writes the recorded actions of each rule (a listener's default rule: the
// listener's default actions) into kumo's answer.
func ruleAnswer(data []byte) []byte {
	elbGaps.mu.Lock()
	defer elbGaps.mu.Unlock()
	return ruleDoc.ReplaceAllFunc(data, func(m []byte) []byte {
		sub := ruleDoc.FindSubmatch(m)
		arn := xmlUnescape(string(sub[1]))
		var actions string
		if f, ok := elbGaps.Rules[arn]; ok {
			actions = formXML(f, "Actions")
		} else if l, ok := strings.CutSuffix(arn, "/default"); ok {
			f, ok := elbGaps.Listeners[strings.Replace(l, ":listener-rule/", ":listener/", 1)]
			if !ok || len(subForm(f, "DefaultActions")) == 0 {
				return m
			}
			actions = strings.ReplaceAll(formXML(f, "DefaultActions"), "DefaultActions>", "Actions>")
		} else {
			return m
		}
		return fmt.Appendf(nil, "<RuleArn>%s</RuleArn>%s%s", sub[1], sub[2], actions)
	})
}

// elbChangeRule answers CreateRule and ModifyRule: kumo keeps the rule, the layer its actions.
func elbChangeRule(w http.ResponseWriter, r *http.Request, s *gapServer, form url.Values) {
	data, ok := s.elbForward(w, r, form)
	if !ok {
		return
	}
	if actions := subForm(form, "Actions"); len(actions) > 0 {
		arns := xmlValues(data, "RuleArn")
		if len(arns) == 1 {
			if err := elbGaps.update(func(g *elbGapState) { g.Rules[arns[0]] = actions }); err != nil {
				writeELBError(w, http.StatusInternalServerError, "InternalFailure", "local aws: "+err.Error())
				return
			}
		}
	}
	writeELB(w, ruleAnswer(data))
}

func elbRules(w http.ResponseWriter, r *http.Request, s *gapServer, form url.Values) {
	data, ok := s.elbForward(w, r, form)
	if !ok {
		return
	}
	writeELB(w, ruleAnswer(data))
}

func elbDeleteRule(w http.ResponseWriter, r *http.Request, s *gapServer, form url.Values) {
	out, ok := s.elbForward(w, r, form)
	if !ok {
		return
	}
	if err := elbGaps.update(func(g *elbGapState) { delete(g.Rules, form.Get("RuleArn")) }); err != nil {
		writeELBError(w, http.StatusInternalServerError, "InternalFailure", "local aws: "+err.Error())
		return
	}
	writeELB(w, out)
}
