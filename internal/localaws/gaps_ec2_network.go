package localaws

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"
)

// ---------------------------------------------------------------------------------------------
// EC2 network teardown. Kumo v0.33.1 has no AllocateAddress, ReleaseAddress, DescribeAddresses,
// DeleteNatGateway, DeleteRouteTable, DeleteRoute or DisassociateRouteTable (InvalidAction),
// makes a NAT gateway available at once, deletes a subnet a NAT gateway is in, and deletes a VPC
// that still has route tables, security groups or NAT gateways (it checks subnets and attached
// internet gateways only).
//
// The layer owns Elastic IP addresses (domain vpc; tags from AllocateAddress's tag
// specifications; released unless a NAT gateway that is not deleted uses them:
// InvalidIPAddress.InUse). It records the NAT gateways made through it: pending for
// ec2NatDelay after CreateNatGateway (PANKA_LOCALAWS_NAT_DELAY), then available; deleting for
// ec2NatDelay after DeleteNatGateway, then deleted (kumo keeps the gateway: the layer answers
// its state), with the address it uses. Kumo cannot delete route tables, routes or
// associations, so the layer records what was deleted and leaves it out of
// DescribeRouteTables' answers (a route deleted and made again is answered with its new
// target). It refuses DeleteSubnet while a NAT gateway that is not deleted is in the subnet,
// DeleteRouteTable while the table has associations (a deleted subnet's association goes with
// the subnet, as in EC2), and DeleteVpc while the VPC has NAT
// gateways, route tables or security groups (but its main route table and "default" group),
// all with DependencyViolation, before kumo's own checks.

const ec2NatDelayDefault = 300 * time.Millisecond

// ec2NatDelay is how long a NAT gateway is pending (and deleting).
var ec2NatDelay = func() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("PANKA_LOCALAWS_NAT_DELAY")); err == nil && d > 0 {
		return d
	}
	return ec2NatDelayDefault
}()

type ec2Address struct {
	AllocationID string   `json:"allocationId"`
	PublicIP     string   `json:"publicIp"`
	Tags         []ec2Tag `json:"tags,omitempty"`
}

type ec2Nat struct {
	Created      time.Time `json:"created"`
	Deleted      time.Time `json:"deleted,omitzero"`
	AllocationID string    `json:"allocationId,omitempty"`
	SubnetID     string    `json:"subnetId"`
}

// state is the NAT gateway's state at now.
func (n *ec2Nat) state(now time.Time) string {
	switch {
	case !n.Deleted.IsZero() && now.Sub(n.Deleted) >= ec2NatDelay:
		return "deleted"
	case !n.Deleted.IsZero():
		return "deleting"
	case now.Sub(n.Created) >= ec2NatDelay:
		return "available"
	}
	return "pending"
}

// routeOverride is a route of a kumo route table the layer changed: deleted, or made again
// with a new target.
type routeOverride struct {
	Deleted      bool   `json:"deleted,omitempty"`
	GatewayID    string `json:"gatewayId,omitempty"`
	NatGatewayID string `json:"natGatewayId,omitempty"`
}

// ec2Network is the layer's part of EC2 networks, kept in ec2GapState.
type ec2Network struct {
	Addresses          map[string]*ec2Address              `json:"addresses,omitempty"`
	Nats               map[string]*ec2Nat                  `json:"natGateways,omitempty"`
	DeletedRouteTables map[string]bool                     `json:"deletedRouteTables,omitempty"`
	Disassociated      map[string]bool                     `json:"disassociated,omitempty"`
	Routes             map[string]map[string]routeOverride `json:"routes,omitempty"`
	// VpcDefaults holds the default security group and main route table the layer made for
	// each VPC made through it, by VPC ID.
	VpcDefaults map[string]vpcDefaults `json:"vpcDefaults,omitempty"`
}

// vpcDefaults is what EC2 makes with a VPC: kumo knows the group by a name of its own
// (defaultGroupName: kumo keeps names unique across VPCs), the layer answers "default".
type vpcDefaults struct {
	SecurityGroupID string `json:"securityGroupId"`
	RouteTableID    string `json:"routeTableId"`
}

// defaultGroupName is kumo's name of a VPC's default security group.
func defaultGroupName(vpc string) string { return "default-" + vpc }

// isDefaultGroup reports whether the group is a VPC's default group made by the layer.
func (n *ec2Network) isDefaultGroup(id string) bool {
	for _, d := range n.VpcDefaults {
		if d.SecurityGroupID == id {
			return true
		}
	}
	return false
}

// isMainTable reports whether the route table is a VPC's main route table.
func (n *ec2Network) isMainTable(id string, def defaultVPC) bool {
	if id == def.RouteTableID {
		return true
	}
	for _, d := range n.VpcDefaults {
		if d.RouteTableID == id {
			return true
		}
	}
	return false
}

func init() {
	for op, h := range map[string]gapHandler{
		"AllocateAddress":        {answer: ec2AllocateAddress},
		"ReleaseAddress":         {answer: ec2ReleaseAddress},
		"DescribeAddresses":      {answer: ec2DescribeAddresses},
		"CreateNatGateway":       {answer: ec2CreateNatGateway},
		"DescribeNatGateways":    {answer: ec2DescribeNatGateways},
		"DeleteNatGateway":       {answer: ec2DeleteNatGateway},
		"DeleteSubnet":           {answer: ec2DeleteSubnet},
		"DeleteVpc":              {answer: ec2DeleteVpc},
		"CreateRoute":            {answer: ec2CreateRoute},
		"DeleteRoute":            {answer: ec2DeleteRoute},
		"DeleteRouteTable":       {answer: ec2DeleteRouteTable},
		"DisassociateRouteTable": {answer: ec2DisassociateRouteTable},
		"DescribeRouteTables":    {answer: ec2DescribeRouteTables},
		"CreateVpc":              {after: ec2CreateVpcAfter},
		"CreateTags":             {answer: ec2ChangeTags(true)},
		"DeleteTags":             {answer: ec2ChangeTags(false)},
	} {
		gapHandlers["ec2."+op] = h
	}
}

// netChange runs change on the network state under the state's lock and saves it.
func (g *ec2GapState) netChange(change func(n *ec2Network) error) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := &g.Network
	if n.Addresses == nil {
		n.Addresses = map[string]*ec2Address{}
	}
	if n.Nats == nil {
		n.Nats = map[string]*ec2Nat{}
	}
	if n.DeletedRouteTables == nil {
		n.DeletedRouteTables = map[string]bool{}
	}
	if n.Disassociated == nil {
		n.Disassociated = map[string]bool{}
	}
	if n.Routes == nil {
		n.Routes = map[string]map[string]routeOverride{}
	}
	if n.VpcDefaults == nil {
		n.VpcDefaults = map[string]vpcDefaults{}
	}
	if err := change(n); err != nil {
		return err
	}
	return saveGapFile(g.dir, ec2GapsFile, g)
}

// netRead runs read on the network state under the state's lock.
func (g *ec2GapState) netRead(read func(n *ec2Network)) {
	g.mu.Lock()
	defer g.mu.Unlock()
	read(&g.Network)
}

// ec2Error is an EC2 error the layer answers with.
type ec2Error struct{ code, msg string }

func (e *ec2Error) Error() string { return e.code + ": " + e.msg }

// writeEC2Err answers with err: an *ec2Error as EC2 does, anything else as InternalError.
func writeEC2Err(w http.ResponseWriter, err error) {
	if e, ok := err.(*ec2Error); ok {
		writeEC2Error(w, http.StatusBadRequest, e.code, e.msg)
		return
	}
	writeEC2Error(w, http.StatusInternalServerError, "InternalError", "local aws: "+err.Error())
}

func ec2ID(prefix string) string {
	b := make([]byte, 9)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)[:17]
}

// indexed returns a form's NAME.1, NAME.2, ... values.
func indexed(form url.Values, name string) []string {
	var out []string
	for i := 1; form.Has(fmt.Sprintf("%s.%d", name, i)); i++ {
		out = append(out, form.Get(fmt.Sprintf("%s.%d", name, i)))
	}
	return out
}

// specTags returns the tags of a request's TagSpecification of resourceType.
func specTags(form url.Values, resourceType string) []ec2Tag {
	var tags []ec2Tag
	for i := 1; form.Has(fmt.Sprintf("TagSpecification.%d.ResourceType", i)); i++ {
		if form.Get(fmt.Sprintf("TagSpecification.%d.ResourceType", i)) != resourceType {
			continue
		}
		for j := 1; form.Has(fmt.Sprintf("TagSpecification.%d.Tag.%d.Key", i, j)); j++ {
			tags = append(tags, ec2Tag{Key: form.Get(fmt.Sprintf("TagSpecification.%d.Tag.%d.Key", i, j)), Value: form.Get(fmt.Sprintf("TagSpecification.%d.Tag.%d.Value", i, j))})
		}
	}
	return tags
}

// ---- Elastic IP addresses

type ec2AddressItem struct {
	PublicIP           string    `xml:"publicIp"`
	AllocationID       string    `xml:"allocationId"`
	Domain             string    `xml:"domain"`
	AssociationID      string    `xml:"associationId,omitempty"`
	NetworkInterfaceID string    `xml:"networkInterfaceId,omitempty"`
	OwnerID            string    `xml:"networkInterfaceOwnerId,omitempty"`
	PublicIPv4Pool     string    `xml:"publicIpv4Pool"`
	NetworkBorderGroup string    `xml:"networkBorderGroup"`
	TagSet             ec2TagSet `xml:"tagSet"`
}

func ec2AllocateAddress(w http.ResponseWriter, _ *http.Request, _ *gapServer, req []byte) {
	form := parseForm(req)
	if d := form.Get("Domain"); d != "" && d != "vpc" {
		writeEC2Error(w, http.StatusBadRequest, "InvalidParameterValue", fmt.Sprintf("Value (%s) for parameter domain is invalid.", d))
		return
	}
	a := &ec2Address{AllocationID: ec2ID("eipalloc"), Tags: specTags(form, "elastic-ip")}
	err := ec2Gaps.netChange(func(n *ec2Network) error {
		used := map[string]bool{}
		for _, o := range n.Addresses {
			used[o.PublicIP] = true
		}
		for i := 1; ; i++ { // TEST-NET-3 (203.0.113.0/24), then TEST-NET-2
			ip := fmt.Sprintf("203.0.113.%d", i)
			if i > 254 {
				ip = fmt.Sprintf("198.51.%d.%d", (i-255)/254, (i-255)%254+1)
			}
			if !used[ip] {
				a.PublicIP = ip
				break
			}
		}
		n.Addresses[a.AllocationID] = a
		return nil
	})
	if err != nil {
		writeEC2Err(w, err)
		return
	}
	writeEC2(w, struct {
		XMLName            xml.Name `xml:"AllocateAddressResponse"`
		Xmlns              string   `xml:"xmlns,attr"`
		RequestID          string   `xml:"requestId"`
		PublicIP           string   `xml:"publicIp"`
		Domain             string   `xml:"domain"`
		AllocationID       string   `xml:"allocationId"`
		PublicIPv4Pool     string   `xml:"publicIpv4Pool"`
		NetworkBorderGroup string   `xml:"networkBorderGroup"`
	}{Xmlns: ec2XMLNS, RequestID: "panka-localaws", PublicIP: a.PublicIP, Domain: "vpc", AllocationID: a.AllocationID, PublicIPv4Pool: "amazon", NetworkBorderGroup: "us-east-1"})
}

// natUsing returns the NAT gateway (not deleted) that uses the allocation ID, "" if none.
func (n *ec2Network) natUsing(alloc string, now time.Time) string {
	for id, nat := range n.Nats {
		if nat.AllocationID == alloc && nat.state(now) != "deleted" && !ec2NetGaps.natFailed(id, nat.state(now)) {
			return id
		}
	}
	return ""
}

func ec2ReleaseAddress(w http.ResponseWriter, _ *http.Request, _ *gapServer, req []byte) {
	alloc := parseForm(req).Get("AllocationId")
	err := ec2Gaps.netChange(func(n *ec2Network) error {
		if n.Addresses[alloc] == nil {
			return &ec2Error{"InvalidAllocationID.NotFound", fmt.Sprintf("The allocation ID '%s' does not exist", alloc)}
		}
		if nat := n.natUsing(alloc, time.Now()); nat != "" {
			return &ec2Error{"InvalidIPAddress.InUse", fmt.Sprintf("Address %s is in use (by %s).", n.Addresses[alloc].PublicIP, nat)}
		}
		delete(n.Addresses, alloc)
		return nil
	})
	if err != nil {
		writeEC2Err(w, err)
		return
	}
	writeEC2(w, ec2Return{XMLName: xml.Name{Local: "ReleaseAddressResponse"}, Xmlns: ec2XMLNS, RequestID: "panka-localaws", Return: true})
}

type ec2Return struct {
	XMLName   xml.Name
	Xmlns     string `xml:"xmlns,attr"`
	RequestID string `xml:"requestId"`
	Return    bool   `xml:"return"`
}

func ec2DescribeAddresses(w http.ResponseWriter, _ *http.Request, _ *gapServer, req []byte) {
	form := parseForm(req)
	ids, ips, filters := indexed(form, "AllocationId"), indexed(form, "PublicIp"), ec2Filters(form)
	var items []ec2AddressItem
	var err error
	now := time.Now()
	ec2Gaps.netRead(func(n *ec2Network) {
		for _, id := range ids {
			if n.Addresses[id] == nil {
				err = &ec2Error{"InvalidAllocationID.NotFound", fmt.Sprintf("The allocation ID '%s' does not exist", id)}
				return
			}
		}
		for _, id := range slices.Sorted(maps.Keys(n.Addresses)) {
			a := n.Addresses[id]
			if (len(ids) > 0 && !slices.Contains(ids, id)) || (len(ips) > 0 && !slices.Contains(ips, a.PublicIP)) {
				continue
			}
			it := ec2AddressItem{PublicIP: a.PublicIP, AllocationID: id, Domain: "vpc", PublicIPv4Pool: "amazon", NetworkBorderGroup: "us-east-1", TagSet: ec2TagSet{Items: a.Tags}}
			if nat := n.natUsing(id, now); nat != "" {
				suffix := strings.TrimPrefix(nat, "nat-")
				it.AssociationID, it.NetworkInterfaceID, it.OwnerID = "eipassoc-"+suffix, "eni-"+suffix, stsAccount
			}
			var ok bool
			ok, err = matchFilters(filters, map[string][]string{
				"allocation-id": one(it.AllocationID), "public-ip": one(it.PublicIP), "domain": one(it.Domain),
				"association-id": one(it.AssociationID), "network-interface-id": one(it.NetworkInterfaceID),
			}, it.TagSet)
			if err != nil {
				return
			}
			if ok {
				items = append(items, it)
			}
		}
	})
	if err != nil {
		writeEC2Err(w, err)
		return
	}
	writeEC2(w, struct {
		XMLName   xml.Name         `xml:"DescribeAddressesResponse"`
		Xmlns     string           `xml:"xmlns,attr"`
		RequestID string           `xml:"requestId"`
		Items     []ec2AddressItem `xml:"addressesSet>item"`
	}{Xmlns: ec2XMLNS, RequestID: "panka-localaws", Items: items})
}

// ---- NAT gateways

type ec2NatAddress struct {
	AllocationID       string `xml:"allocationId,omitempty"`
	PublicIP           string `xml:"publicIp,omitempty"`
	AssociationID      string `xml:"associationId,omitempty"`
	NetworkInterfaceID string `xml:"networkInterfaceId"`
	IsPrimary          bool   `xml:"isPrimary"`
	Status             string `xml:"status"`
}

type ec2NatItem struct {
	NatGatewayID     string          `xml:"natGatewayId"`
	SubnetID         string          `xml:"subnetId"`
	VpcID            string          `xml:"vpcId"`
	State            string          `xml:"state"`
	ConnectivityType string          `xml:"connectivityType"`
	CreateTime       string          `xml:"createTime,omitempty"`
	DeleteTime       string          `xml:"deleteTime,omitempty"`
	Addresses        []ec2NatAddress `xml:"natGatewayAddressSet>item"`
	TagSet           ec2TagSet       `xml:"tagSet"`
	FailureCode      string          `xml:"failureCode,omitempty"`    // gaps_ec2_net.go
	FailureMessage   string          `xml:"failureMessage,omitempty"` // gaps_ec2_net.go
}

// withLayer returns the gateway as the layer answers it at now.
func (it ec2NatItem) withLayer(n *ec2Network, now time.Time) ec2NatItem {
	nat := n.Nats[it.NatGatewayID]
	if nat == nil {
		return it
	}
	it.State = nat.state(now)
	it = ec2NetGaps.withNatFailure(it) // gaps_ec2_net.go: a public gateway in a VPC with no internet gateway fails
	it.CreateTime = nat.Created.UTC().Format(time.RFC3339)
	if !nat.Deleted.IsZero() {
		it.DeleteTime = nat.Deleted.UTC().Format(time.RFC3339)
	}
	suffix := strings.TrimPrefix(it.NatGatewayID, "nat-")
	addr := ec2NatAddress{AllocationID: nat.AllocationID, NetworkInterfaceID: "eni-" + suffix, IsPrimary: true, Status: "succeeded"}
	if a := n.Addresses[nat.AllocationID]; a != nil && it.State != "deleted" {
		addr.PublicIP, addr.AssociationID = a.PublicIP, "eipassoc-"+suffix
	}
	if it.State == "deleting" || it.State == "deleted" {
		addr.Status = "disassociating"
		if it.State == "deleted" {
			addr.Status = "succeeded"
		}
	}
	it.Addresses = []ec2NatAddress{addr}
	return it
}

func ec2CreateNatGateway(w http.ResponseWriter, r *http.Request, s *gapServer, req []byte) {
	form := parseForm(req)
	alloc := form.Get("AllocationId")
	private := form.Get("ConnectivityType") == "private"
	var err error
	if !private {
		ec2Gaps.netRead(func(n *ec2Network) {
			switch {
			case alloc == "":
				err = &ec2Error{"MissingParameter", "The request must contain the parameter AllocationId"}
			case n.Addresses[alloc] == nil:
				err = &ec2Error{"InvalidAllocationID.NotFound", fmt.Sprintf("The allocation ID '%s' does not exist", alloc)}
			case n.natUsing(alloc, time.Now()) != "":
				err = &ec2Error{"Resource.AlreadyAssociated", fmt.Sprintf("Elastic IP address %s is already associated", alloc)}
			}
		})
	}
	if err != nil {
		writeEC2Err(w, err)
		return
	}
	status, body, err := s.askKumo(r.Context(), "ec2", "", req)
	if err != nil || status != http.StatusOK {
		if err != nil {
			writeEC2Err(w, err)
		} else {
			writeEC2Raw(w, status, body)
		}
		return
	}
	var out struct {
		Nat ec2NatItem `xml:"natGateway"`
	}
	if err := xml.Unmarshal(body, &out); err != nil || out.Nat.NatGatewayID == "" {
		writeEC2Raw(w, status, body) // not kumo's usual answer: pass it on
		return
	}
	if tags := specTags(form, "natgateway"); len(tags) > 0 { // kumo drops them
		params := []string{"ResourceId.1", out.Nat.NatGatewayID}
		for i, t := range tags {
			params = append(params, fmt.Sprintf("Tag.%d.Key", i+1), t.Key, fmt.Sprintf("Tag.%d.Value", i+1), t.Value)
		}
		if err := s.ec2(r.Context(), nil, "CreateTags", params...); err != nil {
			writeEC2Err(w, err)
			return
		}
		out.Nat.TagSet.Items = tags
	}
	nat := &ec2Nat{Created: time.Now(), SubnetID: out.Nat.SubnetID}
	if !private {
		nat.AllocationID = alloc
		if err := s.checkNatGateway(r.Context(), out.Nat.NatGatewayID, out.Nat.VpcID); err != nil { // gaps_ec2_net.go
			writeEC2Err(w, err)
			return
		}
	}
	var item ec2NatItem
	err = ec2Gaps.netChange(func(n *ec2Network) error {
		n.Nats[out.Nat.NatGatewayID] = nat
		item = out.Nat.withLayer(n, nat.Created)
		return nil
	})
	if err != nil {
		writeEC2Err(w, err)
		return
	}
	writeEC2(w, struct {
		XMLName   xml.Name   `xml:"CreateNatGatewayResponse"`
		Xmlns     string     `xml:"xmlns,attr"`
		RequestID string     `xml:"requestId"`
		Nat       ec2NatItem `xml:"natGateway"`
	}{Xmlns: ec2XMLNS, RequestID: "panka-localaws", Nat: item})
}

// kumoNats returns kumo's NAT gateways as the layer answers them (IDs: those, or every one).
func (s *gapServer) kumoNats(ctx context.Context, ids []string) ([]ec2NatItem, int, []byte, error) {
	form := url.Values{"Action": {"DescribeNatGateways"}, "Version": {"2016-11-15"}}
	for i, id := range ids {
		form.Set(fmt.Sprintf("NatGatewayId.%d", i+1), id)
	}
	status, body, err := s.askKumo(ctx, "ec2", "", []byte(form.Encode()))
	if err != nil || status != http.StatusOK {
		return nil, status, body, err
	}
	var out struct {
		Nats []ec2NatItem `xml:"natGatewaySet>item"`
	}
	if err := xml.Unmarshal(body, &out); err != nil {
		return nil, status, body, err
	}
	now := time.Now()
	ec2Gaps.netRead(func(n *ec2Network) {
		for i := range out.Nats {
			out.Nats[i] = out.Nats[i].withLayer(n, now)
		}
	})
	return out.Nats, status, body, nil
}

func ec2DescribeNatGateways(w http.ResponseWriter, r *http.Request, s *gapServer, req []byte) {
	form := parseForm(req)
	nats, status, body, err := s.kumoNats(r.Context(), indexed(form, "NatGatewayId"))
	if err != nil {
		writeEC2Err(w, err)
		return
	}
	if status != http.StatusOK {
		writeEC2Raw(w, status, body)
		return
	}
	filters := ec2Filters(form)
	kept := nats[:0]
	for _, it := range nats {
		ok, err := matchFilters(filters, map[string][]string{
			"nat-gateway-id": one(it.NatGatewayID), "state": one(it.State), "subnet-id": one(it.SubnetID), "vpc-id": one(it.VpcID),
		}, it.TagSet)
		if err != nil {
			writeEC2Error(w, http.StatusBadRequest, "InvalidParameterValue", err.Error())
			return
		}
		if ok {
			kept = append(kept, it)
		}
	}
	slices.SortFunc(kept, func(a, b ec2NatItem) int { return strings.Compare(a.NatGatewayID, b.NatGatewayID) })
	writeEC2(w, struct {
		XMLName   xml.Name     `xml:"DescribeNatGatewaysResponse"`
		Xmlns     string       `xml:"xmlns,attr"`
		RequestID string       `xml:"requestId"`
		Nats      []ec2NatItem `xml:"natGatewaySet>item"`
	}{Xmlns: ec2XMLNS, RequestID: "panka-localaws", Nats: kept})
}

func ec2DeleteNatGateway(w http.ResponseWriter, r *http.Request, s *gapServer, req []byte) {
	id := parseForm(req).Get("NatGatewayId")
	_, status, body, err := s.kumoNats(r.Context(), []string{id})
	if err != nil {
		writeEC2Err(w, err)
		return
	}
	if status != http.StatusOK {
		writeEC2Raw(w, status, body) // kumo's NatGatewayNotFound
		return
	}
	err = ec2Gaps.netChange(func(n *ec2Network) error {
		nat := n.Nats[id]
		if nat == nil { // made before the layer kept NAT gateways: available since then
			nat = &ec2Nat{Created: time.Now().Add(-ec2NatDelay)}
			n.Nats[id] = nat
		}
		if nat.Deleted.IsZero() {
			nat.Deleted = time.Now()
		}
		return nil
	})
	if err != nil {
		writeEC2Err(w, err)
		return
	}
	writeEC2(w, struct {
		XMLName      xml.Name `xml:"DeleteNatGatewayResponse"`
		Xmlns        string   `xml:"xmlns,attr"`
		RequestID    string   `xml:"requestId"`
		NatGatewayID string   `xml:"natGatewayId"`
	}{Xmlns: ec2XMLNS, RequestID: "panka-localaws", NatGatewayID: id})
}

// ---- subnets and VPCs

func ec2DeleteSubnet(w http.ResponseWriter, r *http.Request, s *gapServer, req []byte) {
	form := parseForm(req)
	subnet := form.Get("SubnetId")
	nats, _, _, err := s.kumoNats(r.Context(), nil)
	if err != nil {
		writeEC2Err(w, err)
		return
	}
	for _, nat := range nats {
		if nat.SubnetID == subnet && nat.State != "deleted" {
			writeEC2Error(w, http.StatusBadRequest, "DependencyViolation", fmt.Sprintf("The subnet '%s' has dependencies and cannot be deleted.", subnet))
			return
		}
	}
	tables, err := s.routeTables(r.Context(), nil)
	if err != nil {
		writeEC2Err(w, err)
		return
	}
	status, body, err := s.askKumo(r.Context(), "ec2", "", []byte(form.Encode()))
	if err != nil {
		writeEC2Err(w, err)
		return
	}
	if status == http.StatusOK {
		// EC2 ends the subnet's route table association with it; kumo keeps it.
		err := ec2Gaps.netChange(func(n *ec2Network) error {
			for _, rt := range tables {
				for _, a := range rt.Associations {
					if a.SubnetID == subnet {
						n.Disassociated[a.RouteTableAssociationID] = true
					}
				}
			}
			return nil
		})
		if err != nil {
			writeEC2Err(w, err)
			return
		}
	}
	writeEC2Raw(w, status, body)
}

func ec2DeleteVpc(w http.ResponseWriter, r *http.Request, s *gapServer, req []byte) {
	form := parseForm(req)
	vpc := form.Get("VpcId")
	ctx := r.Context()
	dependency := func() error {
		nats, _, _, err := s.kumoNats(ctx, nil)
		if err != nil {
			return err
		}
		for _, nat := range nats {
			if nat.VpcID == vpc && nat.State != "deleted" {
				return &ec2Error{"DependencyViolation", fmt.Sprintf("The vpc '%s' has dependencies and cannot be deleted.", vpc)}
			}
		}
		tables, err := s.routeTables(ctx, nil)
		if err != nil {
			return err
		}
		for _, rt := range tables {
			if rt.VpcID == vpc && !rt.main() {
				return &ec2Error{"DependencyViolation", fmt.Sprintf("The vpc '%s' has dependencies and cannot be deleted.", vpc)}
			}
		}
		groups, err := s.kumoSecurityGroups(ctx, "")
		if err != nil {
			return err
		}
		var defaults vpcDefaults
		ec2Gaps.netRead(func(n *ec2Network) { defaults = n.VpcDefaults[vpc] })
		for _, g := range groups {
			if g.VpcID == vpc && g.GroupName != "default" && g.GroupID != defaults.SecurityGroupID {
				return &ec2Error{"DependencyViolation", fmt.Sprintf("The vpc '%s' has dependencies and cannot be deleted.", vpc)}
			}
		}
		return nil
	}
	if err := dependency(); err != nil {
		writeEC2Err(w, err)
		return
	}
	status, body, err := s.askKumo(ctx, "ec2", "", []byte(form.Encode()))
	if err != nil {
		writeEC2Err(w, err)
		return
	}
	if status == http.StatusOK {
		// EC2 deletes the VPC's default security group and main route table with it.
		var defaults vpcDefaults
		ec2Gaps.netRead(func(n *ec2Network) { defaults = n.VpcDefaults[vpc] })
		if defaults.SecurityGroupID != "" {
			if err := s.ec2(ctx, nil, "DeleteSecurityGroup", "GroupId", defaults.SecurityGroupID); err != nil && !strings.Contains(err.Error(), "NotFound") {
				writeEC2Err(w, err)
				return
			}
			if err := ec2Gaps.setGroupRefs(defaults.SecurityGroupID, nil); err != nil {
				writeEC2Err(w, err)
				return
			}
		}
		err := ec2Gaps.netChange(func(n *ec2Network) error {
			if defaults.RouteTableID != "" {
				n.DeletedRouteTables[defaults.RouteTableID] = true
			}
			delete(n.VpcDefaults, vpc)
			return nil
		})
		if err != nil {
			writeEC2Err(w, err)
			return
		}
	}
	writeEC2Raw(w, status, body)
}

// ec2CreateVpcAfter makes the new VPC's default security group (all traffic out, and in from
// itself) and main route table in kumo, as EC2 does.
func ec2CreateVpcAfter(s *gapServer, _, resp []byte, _ http.Header, _ any) ([]byte, error) {
	var out struct {
		ID string `xml:"vpc>vpcId"`
	}
	if err := xml.Unmarshal(resp, &out); err != nil || out.ID == "" {
		return nil, nil // not kumo's usual answer: pass it on as it is
	}
	ctx := context.Background()
	var sg struct {
		ID string `xml:"groupId"`
	}
	if err := s.ec2(ctx, &sg, "CreateSecurityGroup", "GroupName", defaultGroupName(out.ID), "GroupDescription", "default VPC security group", "VpcId", out.ID); err != nil {
		return nil, err
	}
	if err := s.ec2(ctx, nil, "AuthorizeSecurityGroupEgress", "GroupId", sg.ID, "IpPermissions.1.IpProtocol", "-1", "IpPermissions.1.IpRanges.1.CidrIp", "0.0.0.0/0"); err != nil {
		return nil, err
	}
	if err := ec2Gaps.setGroupRefs(sg.ID, []sgRef{{Protocol: "-1", GroupID: sg.ID, UserID: stsAccount}}); err != nil {
		return nil, err
	}
	var rt struct {
		ID string `xml:"routeTable>routeTableId"`
	}
	if err := s.ec2(ctx, &rt, "CreateRouteTable", "VpcId", out.ID); err != nil {
		return nil, err
	}
	return nil, ec2Gaps.netChange(func(n *ec2Network) error {
		n.VpcDefaults[out.ID] = vpcDefaults{SecurityGroupID: sg.ID, RouteTableID: rt.ID}
		return nil
	})
}

// ---- route tables

type ec2Route struct {
	DestinationCidrBlock string `xml:"destinationCidrBlock"`
	GatewayID            string `xml:"gatewayId,omitempty"`
	NatGatewayID         string `xml:"natGatewayId,omitempty"`
	State                string `xml:"state"`
	Origin               string `xml:"origin"`
}

type ec2RouteAssociation struct {
	RouteTableAssociationID string `xml:"routeTableAssociationId"`
	RouteTableID            string `xml:"routeTableId"`
	SubnetID                string `xml:"subnetId,omitempty"`
	Main                    bool   `xml:"main"`
	State                   string `xml:"associationState>state"`
}

type ec2RouteTable struct {
	RouteTableID string                `xml:"routeTableId"`
	VpcID        string                `xml:"vpcId"`
	OwnerID      string                `xml:"ownerId"`
	Routes       []ec2Route            `xml:"routeSet>item"`
	Associations []ec2RouteAssociation `xml:"associationSet>item"`
	TagSet       ec2TagSet             `xml:"tagSet"`
}

func (rt ec2RouteTable) main() bool {
	return slices.ContainsFunc(rt.Associations, func(a ec2RouteAssociation) bool { return a.Main })
}

// withLayer returns the table as the layer answers it.
func (rt ec2RouteTable) withLayer(n *ec2Network, def defaultVPC) ec2RouteTable {
	if rt.OwnerID == "" {
		rt.OwnerID = stsAccount
	}
	var routes []ec2Route
	for _, route := range rt.Routes {
		if route.DestinationCidrBlock == "local" { // kumo's name of the VPC's local route
			route.Origin = "CreateRouteTable"
		}
		if o, ok := n.Routes[rt.RouteTableID][route.DestinationCidrBlock]; ok {
			if o.Deleted {
				continue
			}
			route.GatewayID, route.NatGatewayID = o.GatewayID, o.NatGatewayID
		}
		if route.Origin == "" {
			route.Origin = "CreateRoute"
		}
		routes = append(routes, route)
	}
	rt.Routes = routes
	var assocs []ec2RouteAssociation
	for _, a := range rt.Associations {
		if n.Disassociated[a.RouteTableAssociationID] {
			continue
		}
		a.State = "associated"
		assocs = append(assocs, a)
	}
	if n.isMainTable(rt.RouteTableID, def) && !slices.ContainsFunc(assocs, func(a ec2RouteAssociation) bool { return a.Main }) {
		assocs = append(assocs, ec2RouteAssociation{RouteTableAssociationID: "rtbassoc-" + strings.TrimPrefix(rt.RouteTableID, "rtb-"), RouteTableID: rt.RouteTableID, Main: true, State: "associated"})
	}
	rt.Associations = assocs
	return rt
}

// routeTables returns kumo's route tables (IDs: those, or every one) as the layer answers them,
// without the deleted ones; an ID of a deleted or missing table is InvalidRouteTableID.NotFound.
func (s *gapServer) routeTables(ctx context.Context, ids []string) ([]ec2RouteTable, error) {
	var out struct {
		Tables []ec2RouteTable `xml:"routeTableSet>item"`
	}
	notFound := func(id string) error {
		return &ec2Error{"InvalidRouteTableID.NotFound", fmt.Sprintf("The routeTable ID '%s' does not exist", id)}
	}
	var params []string
	for i, id := range ids {
		params = append(params, fmt.Sprintf("RouteTableId.%d", i+1), id)
	}
	if err := s.ec2(ctx, &out, "DescribeRouteTables", params...); err != nil {
		if strings.Contains(err.Error(), "InvalidRouteTableID.NotFound") {
			for _, id := range ids {
				if e := s.ec2(ctx, nil, "DescribeRouteTables", "RouteTableId.1", id); e != nil {
					return nil, notFound(id)
				}
			}
		}
		return nil, err
	}
	def := ec2Gaps.defaultVPC()
	var kept []ec2RouteTable
	var err error
	ec2Gaps.netRead(func(n *ec2Network) {
		for _, id := range ids {
			if n.DeletedRouteTables[id] {
				err = notFound(id)
				return
			}
		}
		for _, rt := range out.Tables {
			if !n.DeletedRouteTables[rt.RouteTableID] {
				kept = append(kept, rt.withLayer(n, def))
			}
		}
	})
	slices.SortFunc(kept, func(a, b ec2RouteTable) int { return strings.Compare(a.RouteTableID, b.RouteTableID) })
	return kept, err
}

func ec2DescribeRouteTables(w http.ResponseWriter, r *http.Request, s *gapServer, req []byte) {
	if err := s.ensureDefaultVPC(r.Context()); err != nil {
		writeEC2Err(w, err)
		return
	}
	form := parseForm(req)
	tables, err := s.routeTables(r.Context(), indexed(form, "RouteTableId"))
	if err != nil {
		writeEC2Err(w, err)
		return
	}
	filters := ec2Filters(form)
	var kept []ec2RouteTable
	for _, rt := range tables {
		fields := map[string][]string{
			"route-table-id": one(rt.RouteTableID), "vpc-id": one(rt.VpcID), "owner-id": one(rt.OwnerID),
			"association.main": one(fmt.Sprint(rt.main())),
			// Known even when the table has no association or route: then they match nothing.
			"association.subnet-id": nil, "association.route-table-association-id": nil,
			"route.destination-cidr-block": nil, "route.gateway-id": nil, "route.nat-gateway-id": nil,
		}
		for _, a := range rt.Associations {
			fields["association.subnet-id"] = append(fields["association.subnet-id"], a.SubnetID)
			fields["association.route-table-association-id"] = append(fields["association.route-table-association-id"], a.RouteTableAssociationID)
		}
		for _, x := range rt.Routes {
			fields["route.destination-cidr-block"] = append(fields["route.destination-cidr-block"], x.DestinationCidrBlock)
			fields["route.gateway-id"] = append(fields["route.gateway-id"], x.GatewayID)
			fields["route.nat-gateway-id"] = append(fields["route.nat-gateway-id"], x.NatGatewayID)
		}
		ok, err := matchFilters(filters, fields, rt.TagSet)
		if err != nil {
			writeEC2Error(w, http.StatusBadRequest, "InvalidParameterValue", err.Error())
			return
		}
		if ok {
			kept = append(kept, rt)
		}
	}
	writeEC2(w, struct {
		XMLName   xml.Name        `xml:"DescribeRouteTablesResponse"`
		Xmlns     string          `xml:"xmlns,attr"`
		RequestID string          `xml:"requestId"`
		Tables    []ec2RouteTable `xml:"routeTableSet>item"`
	}{Xmlns: ec2XMLNS, RequestID: "panka-localaws", Tables: kept})
}

// liveTable returns the route table id as the layer answers it, or InvalidRouteTableID.NotFound.
func (s *gapServer) liveTable(ctx context.Context, id string) (ec2RouteTable, error) {
	tables, err := s.routeTables(ctx, []string{id})
	if err != nil {
		return ec2RouteTable{}, err
	}
	if len(tables) != 1 {
		return ec2RouteTable{}, &ec2Error{"InvalidRouteTableID.NotFound", fmt.Sprintf("The routeTable ID '%s' does not exist", id)}
	}
	return tables[0], nil
}

func ec2CreateRoute(w http.ResponseWriter, r *http.Request, s *gapServer, req []byte) {
	form := parseForm(req)
	id, dest := form.Get("RouteTableId"), form.Get("DestinationCidrBlock")
	if _, err := s.liveTable(r.Context(), id); err != nil {
		writeEC2Err(w, err)
		return
	}
	handled := false
	err := ec2Gaps.netChange(func(n *ec2Network) error {
		o, ok := n.Routes[id][dest]
		if !ok {
			return nil // kumo's route: kumo answers
		}
		handled = true
		if !o.Deleted {
			return &ec2Error{"RouteAlreadyExists", fmt.Sprintf("The route identified by %s already exists.", dest)}
		}
		n.Routes[id][dest] = routeOverride{GatewayID: form.Get("GatewayId"), NatGatewayID: form.Get("NatGatewayId")}
		return nil
	})
	switch {
	case err != nil:
		writeEC2Err(w, err)
	case handled:
		writeEC2(w, ec2Return{XMLName: xml.Name{Local: "CreateRouteResponse"}, Xmlns: ec2XMLNS, RequestID: "panka-localaws", Return: true})
	default:
		s.relayEC2(w, r, form)
	}
}

func ec2DeleteRoute(w http.ResponseWriter, r *http.Request, s *gapServer, req []byte) {
	form := parseForm(req)
	id, dest := form.Get("RouteTableId"), form.Get("DestinationCidrBlock")
	rt, err := s.liveTable(r.Context(), id)
	if err != nil {
		writeEC2Err(w, err)
		return
	}
	if !slices.ContainsFunc(rt.Routes, func(x ec2Route) bool { return x.DestinationCidrBlock == dest }) {
		writeEC2Error(w, http.StatusBadRequest, "InvalidRoute.NotFound", fmt.Sprintf("There is no route defined for '%s' in the route table. Use a different destination CIDR", dest))
		return
	}
	if dest == "local" || slices.ContainsFunc(rt.Routes, func(x ec2Route) bool { return x.DestinationCidrBlock == dest && x.GatewayID == "local" }) {
		writeEC2Error(w, http.StatusBadRequest, "InvalidParameterValue", "cannot remove local route "+dest+" in route table "+id)
		return
	}
	err = ec2Gaps.netChange(func(n *ec2Network) error {
		if n.Routes[id] == nil {
			n.Routes[id] = map[string]routeOverride{}
		}
		n.Routes[id][dest] = routeOverride{Deleted: true}
		return nil
	})
	if err != nil {
		writeEC2Err(w, err)
		return
	}
	writeEC2(w, ec2Return{XMLName: xml.Name{Local: "DeleteRouteResponse"}, Xmlns: ec2XMLNS, RequestID: "panka-localaws", Return: true})
}

func ec2DeleteRouteTable(w http.ResponseWriter, r *http.Request, s *gapServer, req []byte) {
	id := parseForm(req).Get("RouteTableId")
	rt, err := s.liveTable(r.Context(), id)
	if err != nil {
		writeEC2Err(w, err)
		return
	}
	if len(rt.Associations) > 0 {
		writeEC2Error(w, http.StatusBadRequest, "DependencyViolation", fmt.Sprintf("The routeTable '%s' has dependencies and cannot be deleted.", id))
		return
	}
	if err := ec2Gaps.netChange(func(n *ec2Network) error { n.DeletedRouteTables[id] = true; return nil }); err != nil {
		writeEC2Err(w, err)
		return
	}
	writeEC2(w, ec2Return{XMLName: xml.Name{Local: "DeleteRouteTableResponse"}, Xmlns: ec2XMLNS, RequestID: "panka-localaws", Return: true})
}

func ec2DisassociateRouteTable(w http.ResponseWriter, r *http.Request, s *gapServer, req []byte) {
	assoc := parseForm(req).Get("AssociationId")
	tables, err := s.routeTables(r.Context(), nil)
	if err != nil {
		writeEC2Err(w, err)
		return
	}
	found := false
	for _, rt := range tables {
		for _, a := range rt.Associations {
			if a.RouteTableAssociationID != assoc {
				continue
			}
			if a.Main {
				writeEC2Error(w, http.StatusBadRequest, "InvalidParameterValue", fmt.Sprintf("cannot disassociate the main route table association %s", assoc))
				return
			}
			found = true
		}
	}
	if !found {
		writeEC2Error(w, http.StatusBadRequest, "InvalidAssociationID.NotFound", fmt.Sprintf("The association ID '%s' does not exist", assoc))
		return
	}
	if err := ec2Gaps.netChange(func(n *ec2Network) error { n.Disassociated[assoc] = true; return nil }); err != nil {
		writeEC2Err(w, err)
		return
	}
	writeEC2(w, ec2Return{XMLName: xml.Name{Local: "DisassociateRouteTableResponse"}, Xmlns: ec2XMLNS, RequestID: "panka-localaws", Return: true})
}

// ec2TagOwner is a kind of EC2 resource the layer owns, and so tags itself: exists fails with
// EC2's not-found error for an ID it does not have; change changes the tags of the ID (nothing
// if it went meanwhile) under the owner's lock, and saves them.
type ec2TagOwner struct {
	exists func(id string) error
	change func(id string, fn func(tags *[]ec2Tag)) error
}

// ec2TagOwners are the layer's resources by ID prefix: Elastic IP addresses here, volumes in
// gaps_ebs.go.
var ec2TagOwners = map[string]ec2TagOwner{
	"eipalloc-": {
		exists: func(id string) error {
			var err error
			ec2Gaps.netRead(func(n *ec2Network) {
				if n.Addresses[id] == nil {
					err = &ec2Error{"InvalidAllocationID.NotFound", fmt.Sprintf("The allocation ID '%s' does not exist", id)}
				}
			})
			return err
		},
		change: func(id string, fn func(tags *[]ec2Tag)) error {
			return ec2Gaps.netChange(func(n *ec2Network) error {
				if a := n.Addresses[id]; a != nil {
					fn(&a.Tags)
				}
				return nil
			})
		},
	},
}

// ec2TagOwnerOf returns the layer's owner of the resource id, nil for kumo's.
func ec2TagOwnerOf(id string) *ec2TagOwner {
	for prefix, o := range ec2TagOwners {
		if strings.HasPrefix(id, prefix) {
			return &o
		}
	}
	return nil
}

// ec2ChangeTags answers CreateTags (add) and DeleteTags: the layer tags its own resources
// (ec2TagOwners), kumo the rest (a request naming both goes to kumo first, without the layer's).
func ec2ChangeTags(add bool) func(w http.ResponseWriter, r *http.Request, s *gapServer, req []byte) {
	return func(w http.ResponseWriter, r *http.Request, s *gapServer, req []byte) {
		form := parseForm(req)
		var mine, theirs []string
		for _, id := range indexed(form, "ResourceId") {
			if ec2TagOwnerOf(id) != nil {
				mine = append(mine, id)
			} else {
				theirs = append(theirs, id)
			}
		}
		if len(mine) == 0 {
			s.relayEC2(w, r, form)
			return
		}
		var tags []ec2Tag
		hasValue := map[string]bool{}
		for i := 1; form.Has(fmt.Sprintf("Tag.%d.Key", i)); i++ {
			tags = append(tags, ec2Tag{Key: form.Get(fmt.Sprintf("Tag.%d.Key", i)), Value: form.Get(fmt.Sprintf("Tag.%d.Value", i))})
			hasValue[form.Get(fmt.Sprintf("Tag.%d.Key", i))] = form.Has(fmt.Sprintf("Tag.%d.Value", i))
		}
		for _, id := range mine {
			if err := ec2TagOwnerOf(id).exists(id); err != nil {
				writeEC2Err(w, err)
				return
			}
		}
		if len(theirs) > 0 {
			rest := url.Values{}
			for k, v := range form {
				if !strings.HasPrefix(k, "ResourceId.") {
					rest[k] = v
				}
			}
			for i, id := range theirs {
				rest.Set(fmt.Sprintf("ResourceId.%d", i+1), id)
			}
			status, body, err := s.askKumo(r.Context(), "ec2", "", []byte(rest.Encode()))
			if err != nil || status != http.StatusOK {
				if err != nil {
					writeEC2Err(w, err)
				} else {
					writeEC2Raw(w, status, body)
				}
				return
			}
		}
		for _, id := range mine {
			err := ec2TagOwnerOf(id).change(id, func(have *[]ec2Tag) {
				if add {
					for _, t := range tags {
						*have = slices.DeleteFunc(*have, func(o ec2Tag) bool { return o.Key == t.Key })
						*have = append(*have, t)
					}
					return
				}
				*have = slices.DeleteFunc(*have, func(o ec2Tag) bool {
					return len(tags) == 0 || slices.ContainsFunc(tags, func(t ec2Tag) bool {
						return t.Key == o.Key && (!hasValue[t.Key] || t.Value == o.Value)
					})
				})
			})
			if err != nil {
				writeEC2Err(w, err)
				return
			}
		}
		op := "DeleteTagsResponse"
		if add {
			op = "CreateTagsResponse"
		}
		writeEC2(w, ec2Return{XMLName: xml.Name{Local: op}, Xmlns: ec2XMLNS, RequestID: "panka-localaws", Return: true})
	}
}
