package localaws

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"
)

// ---------------------------------------------------------------------------------------------
// EC2 security group rules that reference groups. Kumo v0.33.1 keeps a rule's protocol, ports
// and CIDR ranges only: a rule naming another group (IpPermissions.N.Groups.M.GroupId,
// UserIdGroupPairs) is kept with no source, and any revoke of the group drops it (kumo removes
// the rules left without CIDRs). The layer takes the referenced groups out of Authorize and
// Revoke requests before kumo sees them (a permission with only groups is not sent at all),
// keeps them by group ID in panka-gaps-ec2.json, adds them to DescribeSecurityGroups' answers
// (merged into the permission of the same protocol and ports, as EC2 reports them), refuses
// a rule naming a group kumo does not have (InvalidGroup.NotFound) or a rule the group has
// (InvalidPermission.Duplicate), refuses DeleteSecurityGroup of a group another group's rule
// names (DependencyViolation), and forgets a group's rules with the group. A new group gets
// the rule EC2 gives every VPC security group, all traffic out to 0.0.0.0/0 (kumo gives none),
// through kumo's AuthorizeSecurityGroupEgress.

// sgRef is one rule of a group naming another group.
type sgRef struct {
	Egress      bool   `json:"egress,omitempty"`
	Protocol    string `json:"protocol"`
	FromPort    int    `json:"fromPort"`
	ToPort      int    `json:"toPort"`
	GroupID     string `json:"groupId"`
	UserID      string `json:"userId,omitempty"`
	Description string `json:"description,omitempty"`
}

// key is the rule without its description: two rules of one key are one rule.
func (r sgRef) key() sgRef { r.Description = ""; return r }

// allProtocols reports whether a rule's protocol is every protocol (its ports mean nothing).
func allProtocols(p string) bool { return p == "-1" || p == "all" }

func init() {
	for op, h := range map[string]gapHandler{
		"AuthorizeSecurityGroupIngress": {answer: ec2AuthorizeIngress},
		"AuthorizeSecurityGroupEgress":  {answer: ec2AuthorizeEgress},
		"RevokeSecurityGroupIngress":    {answer: ec2RevokeIngress},
		"RevokeSecurityGroupEgress":     {answer: ec2RevokeEgress},
		"DeleteSecurityGroup":           {answer: ec2DeleteSecurityGroup},
		"CreateSecurityGroup":           {after: ec2CreateSecurityGroupAfter},
	} {
		gapHandlers["ec2."+op] = h
	}
}

// splitGroupRefs returns form without its permissions' group pairs (permissions left with no
// source are dropped and the rest renumbered), and the rules those pairs make.
func splitGroupRefs(form url.Values, egress bool) (url.Values, []sgRef) {
	perms := map[int]url.Values{}
	out := url.Values{}
	for k, v := range form {
		rest, ok := strings.CutPrefix(k, "IpPermissions.")
		if !ok {
			out[k] = v
			continue
		}
		n, field, ok := strings.Cut(rest, ".")
		i, err := strconv.Atoi(n)
		if !ok || err != nil {
			out[k] = v
			continue
		}
		if perms[i] == nil {
			perms[i] = url.Values{}
		}
		perms[i][field] = v
	}
	var refs []sgRef
	next := 1
	for _, i := range slices.Sorted(maps.Keys(perms)) {
		p := perms[i]
		proto := p.Get("IpProtocol")
		from, _ := strconv.Atoi(p.Get("FromPort"))
		to, _ := strconv.Atoi(p.Get("ToPort"))
		if allProtocols(proto) {
			proto, from, to = "-1", 0, 0
		}
		other := false
		for field := range p {
			if strings.HasPrefix(field, "Groups.") {
				continue
			}
			if field != "IpProtocol" && field != "FromPort" && field != "ToPort" {
				other = true // CIDRs, prefix lists: kumo's
			}
		}
		for j := 1; p.Has(fmt.Sprintf("Groups.%d.GroupId", j)) || p.Has(fmt.Sprintf("Groups.%d.GroupName", j)); j++ {
			id := p.Get(fmt.Sprintf("Groups.%d.GroupId", j))
			if id == "" {
				id = "name:" + p.Get(fmt.Sprintf("Groups.%d.GroupName", j)) // resolved by the caller
			}
			refs = append(refs, sgRef{Egress: egress, Protocol: proto, FromPort: from, ToPort: to, GroupID: id,
				UserID: p.Get(fmt.Sprintf("Groups.%d.UserId", j)), Description: p.Get(fmt.Sprintf("Groups.%d.Description", j))})
		}
		if !other {
			continue
		}
		for field, v := range p {
			if !strings.HasPrefix(field, "Groups.") {
				out[fmt.Sprintf("IpPermissions.%d.%s", next, field)] = v
			}
		}
		next++
	}
	return out, refs
}

// kumoSecurityGroups returns the security groups kumo has of the given IDs or names.
func (s *gapServer) kumoSecurityGroups(ctx context.Context, param string, values ...string) ([]ec2SecurityGroupItem, error) {
	params := []string{}
	for i, v := range values {
		params = append(params, fmt.Sprintf("%s.%d", param, i+1), v)
	}
	var out struct {
		Groups []ec2SecurityGroupItem `xml:"securityGroupInfo>item"`
	}
	err := s.ec2(ctx, &out, "DescribeSecurityGroups", params...)
	return out.Groups, err
}

// resolveGroup returns the ID of the group a request names (GroupId, or GroupName), "" if kumo
// has none.
func (s *gapServer) resolveGroup(ctx context.Context, form url.Values) (string, error) {
	param, value := "GroupId", form.Get("GroupId")
	if value == "" {
		param, value = "GroupName", form.Get("GroupName")
	}
	if value == "" {
		return "", nil
	}
	groups, err := s.kumoSecurityGroups(ctx, param, value)
	if err != nil {
		return "", err
	}
	for _, g := range groups {
		if g.GroupID == value || g.GroupName == value {
			return g.GroupID, nil
		}
	}
	return "", nil
}

// resolveRefs replaces the group names of refs by IDs and checks every group exists, or
// returns the missing group.
func (s *gapServer) resolveRefs(ctx context.Context, refs []sgRef) (missing string, err error) {
	for i, r := range refs {
		name, byName := strings.CutPrefix(r.GroupID, "name:")
		param, value := "GroupId", r.GroupID
		if byName {
			param, value = "GroupName", name
		}
		groups, err := s.kumoSecurityGroups(ctx, param, value)
		if err != nil {
			return "", err
		}
		found := ""
		for _, g := range groups {
			if g.GroupID == value || (byName && g.GroupName == name) {
				found = g.GroupID
			}
		}
		if found == "" {
			return value, nil
		}
		refs[i].GroupID = found
		if refs[i].UserID == "" {
			refs[i].UserID = stsAccount
		}
	}
	return "", nil
}

func ec2AuthorizeIngress(w http.ResponseWriter, r *http.Request, s *gapServer, req []byte) {
	s.changeRules(w, r, req, false, true)
}

func ec2AuthorizeEgress(w http.ResponseWriter, r *http.Request, s *gapServer, req []byte) {
	s.changeRules(w, r, req, true, true)
}

func ec2RevokeIngress(w http.ResponseWriter, r *http.Request, s *gapServer, req []byte) {
	s.changeRules(w, r, req, false, false)
}

func ec2RevokeEgress(w http.ResponseWriter, r *http.Request, s *gapServer, req []byte) {
	s.changeRules(w, r, req, true, false)
}

// changeGroupRefs answers an Authorize (add) or Revoke of a group's rules: kumo gets the
// request without the group pairs, the layer keeps them.
func (s *gapServer) changeGroupRefs(w http.ResponseWriter, r *http.Request, req []byte, egress, add bool) {
	ctx := r.Context()
	form, refs := splitGroupRefs(parseForm(req), egress)
	if len(refs) == 0 {
		s.relayEC2(w, r, form)
		return
	}
	missing, err := s.resolveRefs(ctx, refs)
	if err != nil {
		writeEC2Error(w, http.StatusInternalServerError, "InternalError", "local aws: "+err.Error())
		return
	}
	if missing != "" && add {
		writeEC2Error(w, http.StatusBadRequest, "InvalidGroup.NotFound", fmt.Sprintf("The security group '%s' does not exist", missing))
		return
	}
	group, err := s.resolveGroup(ctx, form)
	if err != nil {
		writeEC2Error(w, http.StatusInternalServerError, "InternalError", "local aws: "+err.Error())
		return
	}
	if group == "" {
		name := form.Get("GroupId")
		if name == "" {
			name = form.Get("GroupName")
		}
		writeEC2Error(w, http.StatusBadRequest, "InvalidGroup.NotFound", fmt.Sprintf("The security group '%s' does not exist", name))
		return
	}
	g := ec2Gaps
	g.rulesMu.Lock()
	defer g.rulesMu.Unlock()
	have := g.groupRefs(group)
	if add {
		for i, ref := range refs {
			if slices.ContainsFunc(have, func(h sgRef) bool { return h.key() == ref.key() }) ||
				slices.ContainsFunc(refs[:i], func(h sgRef) bool { return h.key() == ref.key() }) {
				writeEC2Error(w, http.StatusBadRequest, "InvalidPermission.Duplicate", fmt.Sprintf(
					"the specified rule \"peer: %s, %s, from port: %d, to port: %d, ALLOW\" already exists", ref.GroupID, strings.ToUpper(ref.Protocol), ref.FromPort, ref.ToPort))
				return
			}
		}
	}
	status, body, err := s.askKumo(ctx, "ec2", "", []byte(form.Encode()))
	if err != nil {
		writeEC2Error(w, http.StatusInternalServerError, "InternalError", "local aws: "+err.Error())
		return
	}
	if status == http.StatusOK {
		if add {
			have = append(have, refs...)
		} else {
			have = slices.DeleteFunc(have, func(h sgRef) bool {
				return slices.ContainsFunc(refs, func(ref sgRef) bool { return h.key() == ref.key() })
			})
		}
		if err := g.setGroupRefs(group, have); err != nil {
			writeEC2Error(w, http.StatusInternalServerError, "InternalError", "local aws: "+err.Error())
			return
		}
	}
	writeEC2Raw(w, status, body)
}

func ec2DeleteSecurityGroup(w http.ResponseWriter, r *http.Request, s *gapServer, req []byte) {
	form := parseForm(req)
	group, err := s.resolveGroup(r.Context(), form)
	if err != nil {
		writeEC2Error(w, http.StatusInternalServerError, "InternalError", "local aws: "+err.Error())
		return
	}
	if group == "" {
		s.relayEC2(w, r, form) // kumo's InvalidGroup.NotFound
		return
	}
	g := ec2Gaps
	isDefault := false
	g.netRead(func(n *ec2Network) { isDefault = n.isDefaultGroup(group) })
	if isDefault {
		writeEC2Error(w, http.StatusBadRequest, "CannotDelete", fmt.Sprintf("the specified group: \"%s\" name: \"default\" cannot be deleted by a user", group))
		return
	}
	g.rulesMu.Lock()
	defer g.rulesMu.Unlock()
	for owner, refs := range g.allRefs() {
		if owner != group && slices.ContainsFunc(refs, func(ref sgRef) bool { return ref.GroupID == group }) {
			writeEC2Error(w, http.StatusBadRequest, "DependencyViolation", fmt.Sprintf("resource %s has a dependent object", group))
			return
		}
	}
	status, body, err := s.askKumo(r.Context(), "ec2", "", []byte(form.Encode()))
	if err != nil {
		writeEC2Error(w, http.StatusInternalServerError, "InternalError", "local aws: "+err.Error())
		return
	}
	if status == http.StatusOK {
		if err := ec2NetGaps.forgetGroup(group); err != nil { // gaps_ec2_net.go
			writeEC2Error(w, http.StatusInternalServerError, "InternalError", "local aws: "+err.Error())
			return
		}
		if err := g.setGroupRefs(group, nil); err != nil {
			writeEC2Error(w, http.StatusInternalServerError, "InternalError", "local aws: "+err.Error())
			return
		}
	}
	writeEC2Raw(w, status, body)
}

// groupRefs returns a copy of the rules of group that name groups.
func (g *ec2GapState) groupRefs(group string) []sgRef {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.Rules[group])
}

func (g *ec2GapState) allRefs() map[string][]sgRef {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := map[string][]sgRef{}
	for k, v := range g.Rules {
		out[k] = slices.Clone(v)
	}
	return out
}

// setGroupRefs records the rules of group that name groups (none: forgets the group).
func (g *ec2GapState) setGroupRefs(group string, refs []sgRef) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.Rules == nil {
		g.Rules = map[string][]sgRef{}
	}
	if len(refs) == 0 {
		delete(g.Rules, group)
	} else {
		g.Rules[group] = refs
	}
	return saveGapFile(g.dir, ec2GapsFile, g)
}

// relayEC2 sends kumo form and answers with kumo's answer.
func (s *gapServer) relayEC2(w http.ResponseWriter, r *http.Request, form url.Values) {
	status, body, err := s.askKumo(r.Context(), "ec2", "", []byte(form.Encode()))
	if err != nil {
		writeEC2Error(w, http.StatusInternalServerError, "InternalError", "local aws: "+err.Error())
		return
	}
	writeEC2Raw(w, status, body)
}

func writeEC2Raw(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeEC2Error answers with an EC2 error document.
func writeEC2Error(w http.ResponseWriter, status int, code, msg string) {
	id := uuid.NewString()
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s<Response><Errors><Error><Code>%s</Code><Message>", xml.Header, code)
	_ = xml.EscapeText(&b, []byte(msg))
	fmt.Fprintf(&b, "</Message></Error></Errors><RequestID>%s</RequestID></Response>", id)
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.Header().Set("x-amzn-RequestId", id)
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

// writeEC2 answers with an EC2 document of the layer's own.
func writeEC2(w http.ResponseWriter, v any) {
	data, err := marshalEC2(v)
	if err != nil {
		writeEC2Error(w, http.StatusInternalServerError, "InternalError", "local aws: "+err.Error())
		return
	}
	writeEC2Raw(w, http.StatusOK, data)
}

// ec2SGPermission is one permission of a DescribeSecurityGroups answer.
type ec2SGPermission struct {
	IPProtocol string         `xml:"ipProtocol"`
	FromPort   *int           `xml:"fromPort"`
	ToPort     *int           `xml:"toPort"`
	Groups     []ec2GroupPair `xml:"groups>item"`
	IPRanges   []ec2SGIPRange `xml:"ipRanges>item"`
}

type ec2GroupPair struct {
	UserID      string `xml:"userId"`
	GroupID     string `xml:"groupId"`
	Description string `xml:"description,omitempty"`
}

type ec2SGIPRange struct {
	CidrIP      string `xml:"cidrIp"`
	Description string `xml:"description,omitempty"`
}

// withRefs returns perms with the group rules of refs (ingress or egress) added.
func withRefs(perms []ec2SGPermission, refs []sgRef, egress bool) []ec2SGPermission {
	for _, ref := range refs {
		if ref.Egress != egress {
			continue
		}
		pair := ec2GroupPair{UserID: ref.UserID, GroupID: ref.GroupID, Description: ref.Description}
		i := slices.IndexFunc(perms, func(p ec2SGPermission) bool {
			if p.IPProtocol != ref.Protocol {
				return false
			}
			return allProtocols(ref.Protocol) || (p.FromPort != nil && p.ToPort != nil && *p.FromPort == ref.FromPort && *p.ToPort == ref.ToPort)
		})
		if i < 0 {
			p := ec2SGPermission{IPProtocol: ref.Protocol}
			if !allProtocols(ref.Protocol) {
				p.FromPort, p.ToPort = &ref.FromPort, &ref.ToPort
			}
			perms = append(perms, p)
			i = len(perms) - 1
		}
		perms[i].Groups = append(perms[i].Groups, pair)
	}
	return perms
}

func ec2CreateSecurityGroupAfter(s *gapServer, _, resp []byte, _ http.Header, _ any) ([]byte, error) {
	var out struct {
		ID string `xml:"groupId"`
	}
	if err := xml.Unmarshal(resp, &out); err != nil || out.ID == "" {
		return nil, nil // not kumo's usual answer: pass it on as it is
	}
	return nil, s.ec2(context.Background(), nil, "AuthorizeSecurityGroupEgress", "GroupId", out.ID,
		"IpPermissions.1.IpProtocol", "-1", "IpPermissions.1.IpRanges.1.CidrIp", "0.0.0.0/0")
}
