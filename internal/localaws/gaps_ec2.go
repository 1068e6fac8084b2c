package localaws

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// ---------------------------------------------------------------------------------------------
// EC2 default VPC and filters. Every AWS region has a default VPC (172.31.0.0/16, isDefault) with
// a default subnet per availability zone (mapPublicIpOnLaunch, defaultForAz), a default security
// group and an internet gateway attached; kumo v0.33.1 has none (every VPC it makes has
// isDefault false, and it has no defaultForAz), and its DescribeVpcs ignores Filters (it
// answers every VPC), its DescribeSubnets every filter but vpc-id and availability-zone.
//
// The layer makes the default VPC in kumo through kumo's own API (CreateVpc, CreateSubnet in
// us-east-1a/b/c, ModifySubnetAttribute, CreateInternetGateway, AttachInternetGateway,
// CreateSecurityGroup "default", CreateRouteTable and a 0.0.0.0/0 route to the gateway), the
// first time a client describes VPCs, subnets, security groups, internet gateways or route
// tables through the layer (a client learns the default VPC's IDs from those answers only). It
// records the IDs in panka-gaps-ec2.json and makes them again only if kumo no longer has the VPC
// (across restarts of one data directory it is made once). It marks the VPC isDefault and its
// subnets defaultForAz in DescribeVpcs and DescribeSubnets answers, and applies those
// operations' filters itself: isDefault, vpc-id, cidr/cidr-block, state, owner-id, tag:KEY and
// tag-key for VPCs; subnet-id, vpc-id, availability-zone, cidr-block, state,
// default-for-az, map-public-ip-on-launch, tag:KEY and tag-key for subnets; group-id,
// group-name, vpc-id, description, owner-id, tag:KEY and tag-key for security groups (kumo
// ignores DescribeSecurityGroups' filters too; the layer passes its groups on as kumo wrote
// them, filtered). A filter the layer
// does not know fails the request loudly (the layer's InternalFailure naming the filter), where
// EC2 answers InvalidParameterValue.

const ec2GapsFile = "panka-gaps-ec2.json"

const ec2XMLNS = "http://ec2.amazonaws.com/doc/2016-11-15/"

// defaultVPCCIDR and defaultSubnets are AWS's layout of a default VPC in us-east-1 (the
// emulator's only region: kumo names every AZ us-east-1*).
const defaultVPCCIDR = "172.31.0.0/16"

var defaultSubnets = []struct{ AZ, CIDR string }{
	{"us-east-1a", "172.31.0.0/20"}, {"us-east-1b", "172.31.16.0/20"}, {"us-east-1c", "172.31.32.0/20"},
}

// defaultVPC is what the layer made in kumo.
type defaultVPC struct {
	VpcID         string   `json:"vpcId"`
	SubnetIDs     []string `json:"subnetIds"`
	GatewayID     string   `json:"internetGatewayId"`
	SecurityGroup string   `json:"securityGroupId"`
	RouteTableID  string   `json:"routeTableId"`
}

type ec2GapState struct {
	mu      sync.Mutex // held while the default VPC is checked or made
	dir     string
	Default defaultVPC      `json:"defaultVpc"`
	checked map[string]bool // kumo URLs whose default VPC was checked since the process started
	// Rules holds the rules of each security group that name other groups, by group ID
	// (gaps_ec2_rules.go).
	Rules map[string][]sgRef `json:"securityGroupRefs,omitempty"`
	// Network holds addresses, NAT gateways and what was deleted of route tables
	// (gaps_ec2_network.go).
	Network ec2Network `json:"network"`
	// rulesMu serialises the changes of Rules with kumo's (held across a request to kumo; mu is
	// not).
	rulesMu sync.Mutex
}

var ec2Gaps = newEC2GapState(os.Getenv("KUMO_DATA_DIR"))

func newEC2GapState(dir string) *ec2GapState {
	g := &ec2GapState{dir: dir, checked: map[string]bool{}}
	loadGapFile(dir, ec2GapsFile, g)
	return g
}

func (g *ec2GapState) defaultVPC() defaultVPC {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.Default
}

func init() {
	operationReaders["ec2"] = queryOperation("ec2")
	for op, h := range map[string]gapHandler{
		"DescribeVpcs":              {before: ec2EnsureBefore, after: ec2DescribeVpcsAfter},
		"DescribeSubnets":           {before: ec2EnsureBefore, after: ec2DescribeSubnetsAfter},
		"DescribeSecurityGroups":    {before: ec2EnsureBefore, after: ec2DescribeSecurityGroupsAfter},
		"DescribeInternetGateways":  {before: ec2EnsureBefore, after: ec2DescribeInternetGatewaysAfter},
		"DescribeAvailabilityZones": {answer: ec2DescribeAvailabilityZones},
	} {
		gapHandlers["ec2."+op] = h
	}
}

func ec2EnsureBefore(ctx context.Context, s *gapServer, _ []byte) ([]byte, any, error) {
	return nil, nil, s.ensureDefaultVPC(ctx)
}

// ensureDefaultVPC makes the default VPC in kumo unless the one recorded is there.
func (s *gapServer) ensureDefaultVPC(ctx context.Context) error {
	g := ec2Gaps
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.checked[s.kumo.String()] {
		return nil
	}
	if g.Default.VpcID != "" {
		var out struct {
			IDs []string `xml:"vpcSet>item>vpcId"`
		}
		if err := s.ec2(ctx, &out, "DescribeVpcs", "VpcId.1", g.Default.VpcID); err == nil && slices.Contains(out.IDs, g.Default.VpcID) {
			g.checked[s.kumo.String()] = true
			return nil
		}
	}
	d, err := s.makeDefaultVPC(ctx)
	if err != nil {
		return fmt.Errorf("default VPC: %w", err)
	}
	g.Default = d
	g.checked[s.kumo.String()] = true
	return saveGapFile(g.dir, ec2GapsFile, g)
}

func (s *gapServer) makeDefaultVPC(ctx context.Context) (defaultVPC, error) {
	var d defaultVPC
	var vpc struct {
		ID string `xml:"vpc>vpcId"`
	}
	if err := s.ec2(ctx, &vpc, "CreateVpc", "CidrBlock", defaultVPCCIDR); err != nil {
		return d, err
	}
	d.VpcID = vpc.ID
	if err := s.ec2(ctx, nil, "ModifyVpcAttribute", "VpcId", d.VpcID, "EnableDnsHostnames.Value", "true"); err != nil {
		return d, err
	}
	for _, sn := range defaultSubnets {
		var out struct {
			ID string `xml:"subnet>subnetId"`
		}
		if err := s.ec2(ctx, &out, "CreateSubnet", "VpcId", d.VpcID, "CidrBlock", sn.CIDR, "AvailabilityZone", sn.AZ); err != nil {
			return d, err
		}
		if err := s.ec2(ctx, nil, "ModifySubnetAttribute", "SubnetId", out.ID, "MapPublicIpOnLaunch.Value", "true"); err != nil {
			return d, err
		}
		d.SubnetIDs = append(d.SubnetIDs, out.ID)
	}
	var igw struct {
		ID string `xml:"internetGateway>internetGatewayId"`
	}
	if err := s.ec2(ctx, &igw, "CreateInternetGateway"); err != nil {
		return d, err
	}
	d.GatewayID = igw.ID
	if err := s.ec2(ctx, nil, "AttachInternetGateway", "InternetGatewayId", d.GatewayID, "VpcId", d.VpcID); err != nil {
		return d, err
	}
	var sg struct {
		ID string `xml:"groupId"`
	}
	if err := s.ec2(ctx, &sg, "CreateSecurityGroup", "GroupName", "default", "GroupDescription", "default VPC security group", "VpcId", d.VpcID); err != nil {
		// Kumo keeps group names unique across VPCs: a "default" group left from a default VPC
		// kumo no longer has is taken over.
		var found struct {
			IDs []string `xml:"securityGroupInfo>item>groupId"`
		}
		if !strings.Contains(err.Error(), "Duplicate") || s.ec2(ctx, &found, "DescribeSecurityGroups", "GroupName.1", "default") != nil || len(found.IDs) != 1 {
			return d, err
		}
		sg.ID = found.IDs[0]
	}
	d.SecurityGroup = sg.ID
	var rt struct {
		ID string `xml:"routeTable>routeTableId"`
	}
	if err := s.ec2(ctx, &rt, "CreateRouteTable", "VpcId", d.VpcID); err != nil {
		return d, err
	}
	d.RouteTableID = rt.ID
	if err := s.ec2(ctx, nil, "CreateRoute", "RouteTableId", d.RouteTableID, "DestinationCidrBlock", "0.0.0.0/0", "GatewayId", d.GatewayID); err != nil {
		return d, err
	}
	return d, nil
}

// ec2 sends kumo an EC2 request of the layer's own (Action op, then name/value pairs) and decodes
// its answer into out (nil: none).
func (s *gapServer) ec2(ctx context.Context, out any, op string, params ...string) error {
	form := url.Values{"Action": {op}, "Version": {"2016-11-15"}}
	for i := 0; i+1 < len(params); i += 2 {
		form.Set(params[i], params[i+1])
	}
	status, data, err := s.askKumo(ctx, "ec2", "", []byte(form.Encode()))
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("%s: kumo answered %d %s", op, status, bytes.TrimSpace(data))
	}
	if out == nil {
		return nil
	}
	return xml.Unmarshal(data, out)
}

// ec2Filters returns a Query request's Filter.N.Name and Filter.N.Value.M.
func ec2Filters(form url.Values) map[string][]string {
	filters := map[string][]string{}
	for i := 1; form.Has(fmt.Sprintf("Filter.%d.Name", i)); i++ {
		name := form.Get(fmt.Sprintf("Filter.%d.Name", i))
		for j := 1; form.Has(fmt.Sprintf("Filter.%d.Value.%d", i, j)); j++ {
			filters[name] = append(filters[name], form.Get(fmt.Sprintf("Filter.%d.Value.%d", i, j)))
		}
	}
	return filters
}

type ec2Tag struct {
	Key   string `xml:"key"`
	Value string `xml:"value"`
}

type ec2TagSet struct {
	Items []ec2Tag `xml:"item"`
}

// matchTags reports whether tags pass a tag:KEY or tag-key filter (ok false: not a tag filter).
func (t ec2TagSet) match(name string, values []string) (matched, ok bool) {
	if key, isTag := strings.CutPrefix(name, "tag:"); isTag {
		for _, tag := range t.Items {
			if tag.Key == key && slices.Contains(values, tag.Value) {
				return true, true
			}
		}
		return false, true
	}
	if name == "tag-key" {
		for _, tag := range t.Items {
			if slices.Contains(values, tag.Key) {
				return true, true
			}
		}
		return false, true
	}
	return false, false
}

type ec2VPC struct {
	VpcID           string    `xml:"vpcId"`
	CidrBlock       string    `xml:"cidrBlock"`
	State           string    `xml:"state"`
	OwnerID         string    `xml:"ownerId"`
	IsDefault       bool      `xml:"isDefault"`
	InstanceTenancy string    `xml:"instanceTenancy"`
	TagSet          ec2TagSet `xml:"tagSet"`
}

type ec2DescribeVpcs struct {
	XMLName   xml.Name `xml:"DescribeVpcsResponse"`
	Xmlns     string   `xml:"xmlns,attr"`
	RequestID string   `xml:"requestId"`
	Vpcs      []ec2VPC `xml:"vpcSet>item"`
}

func ec2DescribeVpcsAfter(_ *gapServer, req, resp []byte, _ http.Header, _ any) ([]byte, error) {
	var out ec2DescribeVpcs
	if err := xml.Unmarshal(resp, &out); err != nil {
		return nil, nil // not kumo's usual answer: pass it on as it is
	}
	def := ec2Gaps.defaultVPC()
	filters := ec2Filters(parseForm(req))
	kept := out.Vpcs[:0]
	for _, v := range out.Vpcs {
		v.IsDefault = v.VpcID == def.VpcID
		if v.OwnerID == "" {
			v.OwnerID = stsAccount
		}
		def := one(strconv.FormatBool(v.IsDefault))
		cidr := one(v.CidrBlock)
		ok, err := matchFilters(filters, map[string][]string{
			"isDefault": def, "is-default": def, "vpc-id": one(v.VpcID), "state": one(v.State), "owner-id": one(v.OwnerID),
			"cidr": cidr, "cidr-block": cidr, "cidrBlock": cidr, "cidr-block-association.cidr-block": cidr,
		}, v.TagSet)
		if err != nil {
			return nil, err
		}
		if ok {
			kept = append(kept, v)
		}
	}
	out.Vpcs = kept
	out.Xmlns = ec2XMLNS
	return marshalEC2(out)
}

type ec2Subnet struct {
	SubnetID                string    `xml:"subnetId"`
	VpcID                   string    `xml:"vpcId"`
	CidrBlock               string    `xml:"cidrBlock"`
	AvailabilityZone        string    `xml:"availabilityZone"`
	AvailableIPAddressCount int       `xml:"availableIpAddressCount"`
	State                   string    `xml:"state"`
	DefaultForAz            bool      `xml:"defaultForAz"`
	MapPublicIPOnLaunch     bool      `xml:"mapPublicIpOnLaunch"`
	OwnerID                 string    `xml:"ownerId"`
	TagSet                  ec2TagSet `xml:"tagSet"`
}

type ec2DescribeSubnets struct {
	XMLName   xml.Name    `xml:"DescribeSubnetsResponse"`
	Xmlns     string      `xml:"xmlns,attr"`
	RequestID string      `xml:"requestId"`
	Subnets   []ec2Subnet `xml:"subnetSet>item"`
}

func ec2DescribeSubnetsAfter(_ *gapServer, req, resp []byte, _ http.Header, _ any) ([]byte, error) {
	var out ec2DescribeSubnets
	if err := xml.Unmarshal(resp, &out); err != nil {
		return nil, nil // not kumo's usual answer: pass it on as it is
	}
	def := ec2Gaps.defaultVPC()
	filters := ec2Filters(parseForm(req))
	kept := out.Subnets[:0]
	for _, sn := range out.Subnets {
		sn.DefaultForAz = slices.Contains(def.SubnetIDs, sn.SubnetID)
		if sn.OwnerID == "" {
			sn.OwnerID = stsAccount
		}
		az, cidr, def := one(sn.AvailabilityZone), one(sn.CidrBlock), one(strconv.FormatBool(sn.DefaultForAz))
		ok, err := matchFilters(filters, map[string][]string{
			"subnet-id": one(sn.SubnetID), "vpc-id": one(sn.VpcID), "state": one(sn.State), "owner-id": one(sn.OwnerID),
			"availability-zone": az, "availabilityZone": az, "cidr-block": cidr, "cidr": cidr, "cidrBlock": cidr,
			"default-for-az": def, "defaultForAz": def, "map-public-ip-on-launch": one(strconv.FormatBool(sn.MapPublicIPOnLaunch)),
		}, sn.TagSet)
		if err != nil {
			return nil, err
		}
		if ok {
			kept = append(kept, sn)
		}
	}
	out.Subnets = kept
	out.Xmlns = ec2XMLNS
	return marshalEC2(out)
}

// matchFilters reports whether a resource passes every EC2 filter (filters are ANDed, a filter's
// values ORed): fields are its filter names
// with its values (none for an empty list), matched when any value is among the filter's; tag:K
// and tag-key go to its tags; any other filter is an error, as EC2 refuses it.
func matchFilters(filters map[string][]string, fields map[string][]string, tags ec2TagSet) (bool, error) {
	for name, values := range filters {
		if have, known := fields[name]; known {
			if !slices.ContainsFunc(have, func(v string) bool { return slices.Contains(values, v) }) {
				return false, nil
			}
			continue
		}
		matched, known := tags.match(name, values)
		if !known {
			return false, fmt.Errorf("the filter '%s' is invalid", name)
		}
		if !matched {
			return false, nil
		}
	}
	return true, nil
}

// one is a filter field of a single value.
func one(v string) []string { return []string{v} }

func marshalEC2(v any) ([]byte, error) {
	data, err := xml.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append([]byte(xml.Header), data...), nil
}

// ec2DescribeAvailabilityZones answers with the zones of the default subnets (kumo v0.33.1 has
// no DescribeAvailabilityZones).
func ec2DescribeAvailabilityZones(w http.ResponseWriter, _ *http.Request, _ *gapServer, _ []byte) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s<DescribeAvailabilityZonesResponse xmlns=%q><requestId>%s</requestId><availabilityZoneInfo>", xml.Header, ec2XMLNS, "panka-localaws")
	for i, sn := range defaultSubnets {
		fmt.Fprintf(&b, "<item><zoneName>%s</zoneName><zoneId>use1-az%d</zoneId><zoneState>available</zoneState><regionName>us-east-1</regionName><zoneType>availability-zone</zoneType><optInStatus>opt-in-not-required</optInStatus><groupName>us-east-1</groupName><networkBorderGroup>us-east-1</networkBorderGroup></item>", sn.AZ, i+1)
	}
	b.WriteString("</availabilityZoneInfo></DescribeAvailabilityZonesResponse>")
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b.Bytes())
}

// ec2SecurityGroupItem is one security group of kumo's DescribeSecurityGroups answer, as the
// layer answers it: kumo's fields (XMLSecurityGroup) and the group rules the layer keeps.
type ec2SecurityGroupItem struct {
	OwnerID     string            `xml:"ownerId"`
	GroupID     string            `xml:"groupId"`
	GroupName   string            `xml:"groupName"`
	Description string            `xml:"groupDescription"`
	VpcID       string            `xml:"vpcId,omitempty"`
	Ingress     []ec2SGPermission `xml:"ipPermissions>item"`
	Egress      []ec2SGPermission `xml:"ipPermissionsEgress>item"`
	TagSet      ec2TagSet         `xml:"tagSet"`
}

type ec2DescribeSecurityGroups struct {
	XMLName   xml.Name               `xml:"DescribeSecurityGroupsResponse"`
	Xmlns     string                 `xml:"xmlns,attr"`
	RequestID string                 `xml:"requestId"`
	Groups    []ec2SecurityGroupItem `xml:"securityGroupInfo>item"`
}

func ec2DescribeSecurityGroupsAfter(_ *gapServer, req, resp []byte, _ http.Header, _ any) ([]byte, error) {
	filters := ec2Filters(parseForm(req))
	var out ec2DescribeSecurityGroups
	if err := xml.Unmarshal(resp, &out); err != nil {
		return nil, nil // not kumo's usual answer: pass it on as it is
	}
	refs := ec2Gaps.allRefs()
	var defaults map[string]bool
	ec2Gaps.netRead(func(n *ec2Network) {
		defaults = map[string]bool{}
		for _, d := range n.VpcDefaults {
			defaults[d.SecurityGroupID] = true
		}
	})
	kept := out.Groups[:0]
	for _, g := range out.Groups {
		if defaults[g.GroupID] {
			g.GroupName = "default" // kumo's name is defaultGroupName's (gaps_ec2_network.go)
		}
		ok, err := matchFilters(filters, map[string][]string{
			"group-id": one(g.GroupID), "group-name": one(g.GroupName), "vpc-id": one(g.VpcID),
			"description": one(g.Description), "owner-id": one(g.OwnerID),
		}, g.TagSet)
		if err != nil {
			return nil, err
		}
		if ok {
			g.Ingress = withRefs(ec2NetGaps.withCIDRDescriptions(g.GroupID, g.Ingress, false), refs[g.GroupID], false)
			g.Egress = withRefs(ec2NetGaps.withCIDRDescriptions(g.GroupID, g.Egress, true), refs[g.GroupID], true)
			kept = append(kept, g)
		}
	}
	out.Groups = kept
	out.Xmlns = ec2XMLNS
	return marshalEC2(out)
}

type ec2InternetGateway struct {
	InternetGatewayID string `xml:"internetGatewayId"`
	OwnerID           string `xml:"ownerId"`
	Attachments       []struct {
		VpcID string `xml:"vpcId"`
		State string `xml:"state"`
	} `xml:"attachmentSet>item"`
	TagSet ec2TagSet `xml:"tagSet"`
}

type ec2DescribeInternetGateways struct {
	XMLName   xml.Name             `xml:"DescribeInternetGatewaysResponse"`
	Xmlns     string               `xml:"xmlns,attr"`
	RequestID string               `xml:"requestId"`
	Gateways  []ec2InternetGateway `xml:"internetGatewaySet>item"`
}

// ec2DescribeInternetGatewaysAfter applies DescribeInternetGateways' filters (kumo ignores them).
func ec2DescribeInternetGatewaysAfter(_ *gapServer, req, resp []byte, _ http.Header, _ any) ([]byte, error) {
	var out ec2DescribeInternetGateways
	if err := xml.Unmarshal(resp, &out); err != nil {
		return nil, nil // not kumo's usual answer: pass it on as it is
	}
	filters := ec2Filters(parseForm(req))
	kept := out.Gateways[:0]
	for _, igw := range out.Gateways {
		if igw.OwnerID == "" {
			igw.OwnerID = stsAccount
		}
		var vpcs, states []string
		for _, a := range igw.Attachments {
			vpcs, states = append(vpcs, a.VpcID), append(states, a.State)
		}
		ok, err := matchFilters(filters, map[string][]string{
			"internet-gateway-id": one(igw.InternetGatewayID), "owner-id": one(igw.OwnerID),
			"attachment.vpc-id": vpcs, "attachment.state": states,
		}, igw.TagSet)
		if err != nil {
			return nil, err
		}
		if ok {
			kept = append(kept, igw)
		}
	}
	out.Gateways = kept
	out.Xmlns = ec2XMLNS
	return marshalEC2(out)
}
