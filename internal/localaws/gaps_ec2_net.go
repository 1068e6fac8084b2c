package localaws

import (
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"sync"
)

// ---------------------------------------------------------------------------------------------
// EC2 gaps the AWS provider's network kinds met. Kumo v0.33.1:
//
//   - keeps a security group rule's CIDR ranges without their descriptions (it reads
//     IpPermissions.N.IpRanges.M.CidrIp only): DescribeSecurityGroups answers none. The layer
//     records the descriptions of the CIDR ranges of every Authorize and Revoke of ingress or
//     egress kumo accepts (by group, direction, protocol, ports and CIDR) in
//     panka-gaps-ec2-net.json, puts them into DescribeSecurityGroups' answers, and forgets them
//     with their rule or group;
//   - has no ReplaceRoute (InvalidAction). The layer answers it: the table must exist
//     (InvalidRouteTableID.NotFound), the route too (InvalidRoute.NotFound), a local route is
//     refused (InvalidParameterValue); the new target is written where gaps_ec2_network.go
//     keeps what was done to kumo's routes (a route made again after a delete);
//   - has no ReplaceRouteTableAssociation (InvalidAction). The layer answers it for a subnet's
//     association (InvalidAssociationID.NotFound for one it does not know; a main association,
//     which EC2 can move too, fails loudly: nothing Panka does moves a main table): it ends the
//     association as DisassociateRouteTable does and associates the subnet with the new table
//     through kumo's AssociateRouteTable, answering the new association's ID;
//   - makes a public NAT gateway available in a VPC with no internet gateway attached, where EC2
//     fails it (state failed, FailureCode Gateway.NotAttached, FailureMessage "Network VPC has no
//     Internet gateway attached"). The layer checks the VPC's gateways at CreateNatGateway
//     (through kumo) and records the failure: the gateway is pending as any other, then failed
//     instead of available (deleting and deleted once deleted), and holds no address;
//   - makes a second association of a subnet already associated with a route table
//     (AssociateRouteTable), where EC2 refuses with Resource.AlreadyAssociated. The layer
//     refuses it too.

const ec2NetGapsFile = "panka-gaps-ec2-net.json"

// cidrRule is a rule's CIDR range, without its description.
type cidrRule struct {
	Egress   bool   `json:"egress,omitempty"`
	Protocol string `json:"protocol"`
	FromPort int    `json:"fromPort"`
	ToPort   int    `json:"toPort"`
	CIDR     string `json:"cidr"`
}

type cidrDescription struct {
	cidrRule
	Description string `json:"description"`
}

type ec2NetGapState struct {
	mu  sync.Mutex
	dir string
	// Descriptions are the descriptions of CIDR ranges of each security group's rules, by group ID.
	Descriptions map[string][]cidrDescription `json:"cidrDescriptions,omitempty"`
	// NatFailures are the NAT gateways that fail, by ID.
	NatFailures map[string]natFailure `json:"natFailures,omitempty"`
}

type natFailure struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

var ec2NetGaps = newEC2NetGapState(os.Getenv("KUMO_DATA_DIR"))

func newEC2NetGapState(dir string) *ec2NetGapState {
	g := &ec2NetGapState{dir: dir, Descriptions: map[string][]cidrDescription{}}
	loadGapFile(dir, ec2NetGapsFile, g)
	if g.Descriptions == nil {
		g.Descriptions = map[string][]cidrDescription{}
	}
	if g.NatFailures == nil {
		g.NatFailures = map[string]natFailure{}
	}
	return g
}

func init() {
	for op, h := range map[string]gapHandler{
		"ReplaceRoute":                 {answer: ec2ReplaceRoute},
		"ReplaceRouteTableAssociation": {answer: ec2ReplaceRouteTableAssociation},
		"AssociateRouteTable":          {answer: ec2AssociateRouteTable},
	} {
		gapHandlers["ec2."+op] = h
	}
}

// cidrRanges returns the CIDR ranges of an Authorize or Revoke request's permissions, with
// their descriptions ("" where none).
func cidrRanges(form url.Values, egress bool) []cidrDescription {
	var out []cidrDescription
	for i := 1; form.Has(fmt.Sprintf("IpPermissions.%d.IpProtocol", i)); i++ {
		p := fmt.Sprintf("IpPermissions.%d.", i)
		proto := form.Get(p + "IpProtocol")
		from, _ := strconv.Atoi(form.Get(p + "FromPort"))
		to, _ := strconv.Atoi(form.Get(p + "ToPort"))
		if allProtocols(proto) {
			proto, from, to = "-1", 0, 0
		}
		for j := 1; form.Has(fmt.Sprintf("%sIpRanges.%d.CidrIp", p, j)); j++ {
			out = append(out, cidrDescription{
				cidrRule:    cidrRule{Egress: egress, Protocol: proto, FromPort: from, ToPort: to, CIDR: form.Get(fmt.Sprintf("%sIpRanges.%d.CidrIp", p, j))},
				Description: form.Get(fmt.Sprintf("%sIpRanges.%d.Description", p, j)),
			})
		}
	}
	return out
}

// noteCIDRDescriptions records (add) or forgets the CIDR ranges' descriptions of a rule change
// of group that kumo accepted.
func (g *ec2NetGapState) noteCIDRDescriptions(group string, ranges []cidrDescription, add bool) error {
	if group == "" || len(ranges) == 0 {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	have := slices.DeleteFunc(g.Descriptions[group], func(d cidrDescription) bool {
		return slices.ContainsFunc(ranges, func(r cidrDescription) bool { return r.cidrRule == d.cidrRule })
	})
	if add {
		for _, r := range ranges {
			if r.Description != "" {
				have = append(have, r)
			}
		}
	}
	if len(have) == 0 {
		delete(g.Descriptions, group)
	} else {
		g.Descriptions[group] = have
	}
	return saveGapFile(g.dir, ec2NetGapsFile, g)
}

func (g *ec2NetGapState) forgetGroup(group string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.Descriptions[group]; !ok {
		return nil
	}
	delete(g.Descriptions, group)
	return saveGapFile(g.dir, ec2NetGapsFile, g)
}

// withCIDRDescriptions returns perms (ingress or egress of group) with the recorded
// descriptions of their CIDR ranges.
func (g *ec2NetGapState) withCIDRDescriptions(group string, perms []ec2SGPermission, egress bool) []ec2SGPermission {
	g.mu.Lock()
	descs := slices.Clone(g.Descriptions[group])
	g.mu.Unlock()
	for i, p := range perms {
		for j, r := range p.IPRanges {
			key := cidrRule{Egress: egress, Protocol: p.IPProtocol, CIDR: r.CidrIP}
			if allProtocols(p.IPProtocol) {
				key.Protocol = "-1"
			} else if p.FromPort != nil && p.ToPort != nil {
				key.FromPort, key.ToPort = *p.FromPort, *p.ToPort
			}
			if k := slices.IndexFunc(descs, func(d cidrDescription) bool { return d.cidrRule == key }); k >= 0 && r.Description == "" {
				perms[i].IPRanges[j].Description = descs[k].Description
			}
		}
	}
	return perms
}

// statusRecorder keeps the status an answer was written with.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

// changeRules answers an Authorize or Revoke of a group's rules (changeGroupRefs, which keeps
// the rules naming groups) and records the descriptions of its CIDR ranges once kumo accepted
// it.
func (s *gapServer) changeRules(w http.ResponseWriter, r *http.Request, req []byte, egress, add bool) {
	form := parseForm(req)
	ranges := cidrRanges(form, egress)
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	s.changeGroupRefs(rec, r, req, egress, add)
	if rec.status != http.StatusOK || len(ranges) == 0 {
		return
	}
	group, err := s.resolveGroup(r.Context(), form)
	if err == nil {
		err = ec2NetGaps.noteCIDRDescriptions(group, ranges, add)
	}
	if err != nil {
		// The answer is written: say so where the operator looks.
		fmt.Fprintf(os.Stderr, "localaws: recording the CIDR descriptions of %s: %v\n", group, err)
	}
}

// ---- NAT gateways

// checkNatGateway records the failure of the public NAT gateway id just made in vpc when vpc
// has no internet gateway attached.
func (s *gapServer) checkNatGateway(ctx context.Context, id, vpc string) error {
	var out ec2DescribeInternetGateways
	if err := s.ec2(ctx, &out, "DescribeInternetGateways"); err != nil {
		return err
	}
	for _, igw := range out.Gateways {
		for _, a := range igw.Attachments {
			if a.VpcID == vpc && a.State != "detached" && a.State != "detaching" {
				return nil
			}
		}
	}
	g := ec2NetGaps
	g.mu.Lock()
	defer g.mu.Unlock()
	g.NatFailures[id] = natFailure{Code: "Gateway.NotAttached", Message: fmt.Sprintf("Network %s has no Internet gateway attached", vpc)}
	return saveGapFile(g.dir, ec2NetGapsFile, g)
}

// natFailed reports whether the NAT gateway id, in the state the layer simulates, has failed
// (it is no longer pending; deleting and deleted included): it then holds no address.
func (g *ec2NetGapState) natFailed(id, state string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	_, failed := g.NatFailures[id]
	return failed && state != "pending"
}

// withNatFailure returns the gateway it failed where it would otherwise be available.
func (g *ec2NetGapState) withNatFailure(it ec2NatItem) ec2NatItem {
	g.mu.Lock()
	defer g.mu.Unlock()
	if f, ok := g.NatFailures[it.NatGatewayID]; ok && it.State == "available" {
		it.State, it.FailureCode, it.FailureMessage = "failed", f.Code, f.Message
	}
	return it
}

// ---- route tables

func ec2ReplaceRoute(w http.ResponseWriter, r *http.Request, s *gapServer, req []byte) {
	form := parseForm(req)
	id, dest := form.Get("RouteTableId"), form.Get("DestinationCidrBlock")
	for _, unsupported := range []string{"DestinationIpv6CidrBlock", "DestinationPrefixListId", "TransitGatewayId", "VpcPeeringConnectionId",
		"NetworkInterfaceId", "InstanceId", "EgressOnlyInternetGatewayId", "LocalGatewayId", "CarrierGatewayId", "VpcEndpointId", "CoreNetworkArn"} {
		if form.Has(unsupported) {
			writeEC2Error(w, http.StatusBadRequest, "InvalidParameterValue", "local aws: ReplaceRoute with "+unsupported+" is not emulated")
			return
		}
	}
	gw, nat := form.Get("GatewayId"), form.Get("NatGatewayId")
	if (gw == "") == (nat == "") {
		writeEC2Error(w, http.StatusBadRequest, "InvalidParameterCombination", "exactly one of GatewayId and NatGatewayId is required (the layer emulates no other target)")
		return
	}
	rt, err := s.liveTable(r.Context(), id)
	if err != nil {
		writeEC2Err(w, err)
		return
	}
	i := slices.IndexFunc(rt.Routes, func(x ec2Route) bool { return x.DestinationCidrBlock == dest })
	switch {
	case i < 0:
		writeEC2Error(w, http.StatusBadRequest, "InvalidRoute.NotFound", fmt.Sprintf("There is no route defined for '%s' in the route table. Use a different destination CIDR", dest))
		return
	case dest == "local" || rt.Routes[i].GatewayID == "local":
		writeEC2Error(w, http.StatusBadRequest, "InvalidParameterValue", "cannot replace local route "+dest+" in route table "+id)
		return
	}
	err = ec2Gaps.netChange(func(n *ec2Network) error {
		if n.Routes[id] == nil {
			n.Routes[id] = map[string]routeOverride{}
		}
		n.Routes[id][dest] = routeOverride{GatewayID: gw, NatGatewayID: nat}
		return nil
	})
	if err != nil {
		writeEC2Err(w, err)
		return
	}
	writeEC2(w, ec2Return{XMLName: xml.Name{Local: "ReplaceRouteResponse"}, Xmlns: ec2XMLNS, RequestID: "panka-localaws", Return: true})
}

// subnetAssociation returns the live association of subnet with a route table ("" if none).
func subnetAssociation(tables []ec2RouteTable, subnet string) (ec2RouteAssociation, bool) {
	for _, rt := range tables {
		for _, a := range rt.Associations {
			if !a.Main && a.SubnetID == subnet {
				return a, true
			}
		}
	}
	return ec2RouteAssociation{}, false
}

func ec2AssociateRouteTable(w http.ResponseWriter, r *http.Request, s *gapServer, req []byte) {
	form := parseForm(req)
	if subnet := form.Get("SubnetId"); subnet != "" {
		tables, err := s.routeTables(r.Context(), nil)
		if err != nil {
			writeEC2Err(w, err)
			return
		}
		if a, ok := subnetAssociation(tables, subnet); ok {
			writeEC2Error(w, http.StatusBadRequest, "Resource.AlreadyAssociated", fmt.Sprintf("the specified association for route table %s conflicts with an existing association", a.RouteTableID))
			return
		}
	}
	s.relayEC2(w, r, form)
}

func ec2ReplaceRouteTableAssociation(w http.ResponseWriter, r *http.Request, s *gapServer, req []byte) {
	form := parseForm(req)
	assoc, table := form.Get("AssociationId"), form.Get("RouteTableId")
	if _, err := s.liveTable(r.Context(), table); err != nil {
		writeEC2Err(w, err)
		return
	}
	tables, err := s.routeTables(r.Context(), nil)
	if err != nil {
		writeEC2Err(w, err)
		return
	}
	var found *ec2RouteAssociation
	for _, rt := range tables {
		for _, a := range rt.Associations {
			if a.RouteTableAssociationID == assoc {
				found = &a
			}
		}
	}
	switch {
	case found == nil:
		writeEC2Error(w, http.StatusBadRequest, "InvalidAssociationID.NotFound", fmt.Sprintf("The association ID '%s' does not exist", assoc))
		return
	case found.Main || found.SubnetID == "":
		writeEC2Error(w, http.StatusBadRequest, "InvalidParameterValue", "local aws: replacing a main route table association is not emulated")
		return
	}
	if err := ec2Gaps.netChange(func(n *ec2Network) error { n.Disassociated[assoc] = true; return nil }); err != nil {
		writeEC2Err(w, err)
		return
	}
	var out struct {
		ID string `xml:"associationId"`
	}
	if err := s.ec2(r.Context(), &out, "AssociateRouteTable", "RouteTableId", table, "SubnetId", found.SubnetID); err != nil {
		_ = ec2Gaps.netChange(func(n *ec2Network) error { delete(n.Disassociated, assoc); return nil })
		writeEC2Err(w, err)
		return
	}
	writeEC2(w, struct {
		XMLName   xml.Name `xml:"ReplaceRouteTableAssociationResponse"`
		Xmlns     string   `xml:"xmlns,attr"`
		RequestID string   `xml:"requestId"`
		NewID     string   `xml:"newAssociationId"`
		State     string   `xml:"associationState>state"`
	}{Xmlns: ec2XMLNS, RequestID: "panka-localaws", NewID: out.ID, State: "associated"})
}
