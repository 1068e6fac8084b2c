package localaws

import (
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"
)

// Kumo v0.33.1 drops the descriptions of a rule's CIDR ranges. Fails once kumo keeps them.
func TestKumoEC2DropsCIDRDescriptions(t *testing.T) {
	c := gapEC2Client(t, gapEmulator(t).srv.URL)
	ctx := t.Context()
	vpc, err := c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.7.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	sg, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(uniqueName("cidr-desc")), Description: aws.String("d"), VpcId: vpc.Vpc.VpcId})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: sg.GroupId, IpPermissions: []ec2types.IpPermission{{
		IpProtocol: aws.String("tcp"), FromPort: aws.Int32(443), ToPort: aws.Int32(443),
		IpRanges: []ec2types.IpRange{{CidrIp: aws.String("10.0.0.0/8"), Description: aws.String("web")}}}}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{aws.ToString(sg.GroupId)}})
	if err != nil || len(out.SecurityGroups) != 1 {
		t.Fatalf("DescribeSecurityGroups: %v", err)
	}
	var descs []string
	for _, p := range out.SecurityGroups[0].IpPermissions {
		for _, r := range p.IpRanges {
			descs = append(descs, aws.ToString(r.Description))
		}
	}
	if !slices.Equal(descs, []string{""}) {
		t.Errorf("kumo answers the CIDR ranges %q: it keeps their descriptions, the layer need not", descs)
	}
}

// Kumo v0.33.1 has no ReplaceRoute or ReplaceRouteTableAssociation, and associates a subnet with
// a second route table. Each subtest fails once kumo is right.
func TestKumoEC2RouteReplacementGaps(t *testing.T) {
	c := gapEC2Client(t, gapEmulator(t).srv.URL)
	ctx := t.Context()
	subnet, tables := routeFixture(t, c, "10.8")
	assoc, err := c.AssociateRouteTable(ctx, &ec2.AssociateRouteTableInput{RouteTableId: aws.String(tables[0]), SubnetId: aws.String(subnet)})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("ReplaceRoute", func(t *testing.T) {
		igw, err := c.CreateInternetGateway(ctx, &ec2.CreateInternetGatewayInput{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: aws.String(tables[0]), DestinationCidrBlock: aws.String("0.0.0.0/0"),
			GatewayId: igw.InternetGateway.InternetGatewayId}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.ReplaceRoute(ctx, &ec2.ReplaceRouteInput{RouteTableId: aws.String(tables[0]), DestinationCidrBlock: aws.String("0.0.0.0/0"),
			GatewayId: igw.InternetGateway.InternetGatewayId}); err == nil {
			t.Error("kumo answers ReplaceRoute: the layer need not")
		}
	})
	t.Run("ReplaceRouteTableAssociation", func(t *testing.T) {
		if _, err := c.ReplaceRouteTableAssociation(ctx, &ec2.ReplaceRouteTableAssociationInput{AssociationId: assoc.AssociationId,
			RouteTableId: aws.String(tables[1])}); err == nil {
			t.Error("kumo answers ReplaceRouteTableAssociation: the layer need not")
		}
	})
	t.Run("NatGatewayWithoutInternetGateway", func(t *testing.T) {
		nat, err := c.CreateNatGateway(ctx, &ec2.CreateNatGatewayInput{SubnetId: aws.String(subnet), AllocationId: aws.String("eipalloc-kumo")})
		if err != nil {
			t.Fatal(err)
		}
		if g := nat.NatGateway; g.State == ec2types.NatGatewayStateFailed || aws.ToString(g.FailureCode) != "" {
			t.Errorf("kumo fails a public NAT gateway in a VPC without an internet gateway (%s, %s): the layer need not", g.State, aws.ToString(g.FailureCode))
		}
	})
	t.Run("AssociateTwice", func(t *testing.T) {
		if _, err := c.AssociateRouteTable(ctx, &ec2.AssociateRouteTableInput{RouteTableId: aws.String(tables[1]), SubnetId: aws.String(subnet)}); err != nil {
			t.Errorf("kumo refuses a second association of a subnet (%v): the layer need not", err)
		}
	})
}

// Through the layer: CIDR ranges keep their descriptions, until revoked.
func TestGapEC2CIDRDescriptions(t *testing.T) {
	c := gapEC2Client(t, gapEmulator(t).URL)
	ctx := t.Context()
	vpc, err := c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.9.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	var groups []string
	for range 2 {
		sg, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(uniqueName("cidr-desc")), Description: aws.String("d"), VpcId: vpc.Vpc.VpcId})
		if err != nil {
			t.Fatal(err)
		}
		groups = append(groups, aws.ToString(sg.GroupId))
	}
	perms := []ec2types.IpPermission{
		{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(443), ToPort: aws.Int32(443), IpRanges: []ec2types.IpRange{
			{CidrIp: aws.String("10.0.0.0/8"), Description: aws.String("private")}, {CidrIp: aws.String("0.0.0.0/0")}},
			UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String(groups[1]), Description: aws.String("peer")}}},
		{IpProtocol: aws.String("udp"), FromPort: aws.Int32(53), ToPort: aws.Int32(53), IpRanges: []ec2types.IpRange{
			{CidrIp: aws.String("10.0.0.0/8"), Description: aws.String("dns")}}},
	}
	if _, err := c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(groups[0]), IpPermissions: perms}); err != nil {
		t.Fatal(err)
	}
	rules := func() []string {
		t.Helper()
		out, err := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: groups[:1]})
		if err != nil || len(out.SecurityGroups) != 1 {
			t.Fatalf("DescribeSecurityGroups: %v", err)
		}
		var got []string
		for _, p := range out.SecurityGroups[0].IpPermissions {
			for _, r := range p.IpRanges {
				got = append(got, aws.ToString(p.IpProtocol)+" "+aws.ToString(r.CidrIp)+" "+aws.ToString(r.Description))
			}
			for _, g := range p.UserIdGroupPairs {
				got = append(got, aws.ToString(p.IpProtocol)+" "+aws.ToString(g.GroupId)+" "+aws.ToString(g.Description))
			}
		}
		slices.Sort(got)
		return got
	}
	want := []string{"tcp 0.0.0.0/0 ", "tcp 10.0.0.0/8 private", "tcp " + groups[1] + " peer", "udp 10.0.0.0/8 dns"}
	if diff := cmp.Diff(want, rules()); diff != "" {
		t.Errorf("after authorize (-want +got):\n%s", diff)
	}
	_, err = c.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(groups[0]), IpPermissions: []ec2types.IpPermission{
		{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(443), ToPort: aws.Int32(443), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("10.0.0.0/8")}}}}})
	if err != nil {
		t.Fatal(err)
	}
	// Authorized again without a description, the range has none.
	_, err = c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(groups[0]), IpPermissions: []ec2types.IpPermission{
		{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(443), ToPort: aws.Int32(443), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("10.0.0.0/8")}}}}})
	if err != nil {
		t.Fatal(err)
	}
	want = []string{"tcp 0.0.0.0/0 ", "tcp 10.0.0.0/8 ", "tcp " + groups[1] + " peer", "udp 10.0.0.0/8 dns"}
	if diff := cmp.Diff(want, rules()); diff != "" {
		t.Errorf("after revoke and authorize again (-want +got):\n%s", diff)
	}
}

// Through the layer: ReplaceRoute, ReplaceRouteTableAssociation, and AssociateRouteTable of an
// associated subnet, as EC2 answers them.
func TestGapEC2RouteReplacement(t *testing.T) {
	c := gapEC2Client(t, gapEmulator(t).URL)
	ctx := t.Context()
	subnet, tables := routeFixture(t, c, "10.10")
	igw, err := c.CreateInternetGateway(ctx, &ec2.CreateInternetGatewayInput{})
	if err != nil {
		t.Fatal(err)
	}
	igwID := aws.ToString(igw.InternetGateway.InternetGatewayId)
	alloc, err := c.AllocateAddress(ctx, &ec2.AllocateAddressInput{Domain: ec2types.DomainTypeVpc})
	if err != nil {
		t.Fatal(err)
	}
	nat, err := c.CreateNatGateway(ctx, &ec2.CreateNatGatewayInput{SubnetId: aws.String(subnet), AllocationId: alloc.AllocationId})
	if err != nil {
		t.Fatal(err)
	}
	natID := aws.ToString(nat.NatGateway.NatGatewayId)
	if _, err := c.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: aws.String(tables[0]), DestinationCidrBlock: aws.String("0.0.0.0/0"), GatewayId: aws.String(igwID)}); err != nil {
		t.Fatal(err)
	}

	if _, err := c.ReplaceRoute(ctx, &ec2.ReplaceRouteInput{RouteTableId: aws.String(tables[0]), DestinationCidrBlock: aws.String("0.0.0.0/0"), NatGatewayId: aws.String(natID)}); err != nil {
		t.Fatalf("ReplaceRoute: %v", err)
	}
	if diff := cmp.Diff(map[string]string{"0.0.0.0/0": natID, "local": "local"}, routesOf(routeTable(t, c, tables[0]))); diff != "" {
		t.Errorf("routes after ReplaceRoute (-want +got):\n%s", diff)
	}
	_, err = c.ReplaceRoute(ctx, &ec2.ReplaceRouteInput{RouteTableId: aws.String(tables[0]), DestinationCidrBlock: aws.String("10.99.0.0/16"), GatewayId: aws.String(igwID)})
	wantCode(t, "ReplaceRoute of a missing route", err, "InvalidRoute.NotFound")
	_, err = c.ReplaceRoute(ctx, &ec2.ReplaceRouteInput{RouteTableId: aws.String("rtb-missing"), DestinationCidrBlock: aws.String("0.0.0.0/0"), GatewayId: aws.String(igwID)})
	wantCode(t, "ReplaceRoute in a missing table", err, "InvalidRouteTableID.NotFound")

	assoc, err := c.AssociateRouteTable(ctx, &ec2.AssociateRouteTableInput{RouteTableId: aws.String(tables[0]), SubnetId: aws.String(subnet)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.AssociateRouteTable(ctx, &ec2.AssociateRouteTableInput{RouteTableId: aws.String(tables[1]), SubnetId: aws.String(subnet)})
	wantCode(t, "a second AssociateRouteTable of the subnet", err, "Resource.AlreadyAssociated")
	moved, err := c.ReplaceRouteTableAssociation(ctx, &ec2.ReplaceRouteTableAssociationInput{AssociationId: assoc.AssociationId, RouteTableId: aws.String(tables[1])})
	if err != nil {
		t.Fatalf("ReplaceRouteTableAssociation: %v", err)
	}
	if aws.ToString(moved.NewAssociationId) == "" || aws.ToString(moved.NewAssociationId) == aws.ToString(assoc.AssociationId) {
		t.Errorf("new association ID %q (was %q)", aws.ToString(moved.NewAssociationId), aws.ToString(assoc.AssociationId))
	}
	subnets := func(id string) []string {
		var out []string
		for _, a := range routeTable(t, c, id).Associations {
			out = append(out, aws.ToString(a.SubnetId)+" "+aws.ToString(a.RouteTableAssociationId))
		}
		return out
	}
	if got := subnets(tables[0]); len(got) != 0 {
		t.Errorf("the old table still has associations %v", got)
	}
	if diff := cmp.Diff([]string{subnet + " " + aws.ToString(moved.NewAssociationId)}, subnets(tables[1])); diff != "" {
		t.Errorf("the new table's associations (-want +got):\n%s", diff)
	}
	_, err = c.ReplaceRouteTableAssociation(ctx, &ec2.ReplaceRouteTableAssociationInput{AssociationId: assoc.AssociationId, RouteTableId: aws.String(tables[0])})
	wantCode(t, "ReplaceRouteTableAssociation of an ended association", err, "InvalidAssociationID.NotFound")
}

// wantCode fails t unless err is an AWS error with code.
func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := errorCode(err); got != code {
		t.Errorf("%s: error %v (code %q), want code %s", what, err, got, code)
	}
}

// routeFixture makes a VPC PREFIX.0.0/16 with a subnet and two route tables in it.
func routeFixture(t *testing.T, c *ec2.Client, prefix string) (subnet string, tables []string) {
	t.Helper()
	vpc, err := c.CreateVpc(t.Context(), &ec2.CreateVpcInput{CidrBlock: aws.String(prefix + ".0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	sn, err := c.CreateSubnet(t.Context(), &ec2.CreateSubnetInput{VpcId: vpc.Vpc.VpcId, CidrBlock: aws.String(prefix + ".1.0/24")})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		rt, err := c.CreateRouteTable(t.Context(), &ec2.CreateRouteTableInput{VpcId: vpc.Vpc.VpcId})
		if err != nil {
			t.Fatal(err)
		}
		tables = append(tables, aws.ToString(rt.RouteTable.RouteTableId))
	}
	return aws.ToString(sn.Subnet.SubnetId), tables
}

// Through the layer: a public NAT gateway in a VPC without an internet gateway fails, as in EC2,
// and holds no address; one in a VPC with a gateway attached does not.
func TestGapEC2NatGatewayFails(t *testing.T) {
	c := gapEC2Client(t, gapEmulator(t).URL)
	ctx := t.Context()
	subnet, _ := routeFixture(t, c, "10.11")
	alloc, err := c.AllocateAddress(ctx, &ec2.AllocateAddressInput{Domain: ec2types.DomainTypeVpc})
	if err != nil {
		t.Fatal(err)
	}
	nat, err := c.CreateNatGateway(ctx, &ec2.CreateNatGatewayInput{SubnetId: aws.String(subnet), AllocationId: alloc.AllocationId})
	if err != nil {
		t.Fatal(err)
	}
	if nat.NatGateway.State != ec2types.NatGatewayStatePending {
		t.Errorf("a new gateway is %s, want pending", nat.NatGateway.State)
	}
	id := aws.ToString(nat.NatGateway.NatGatewayId)
	got := waitNat(t, c, id, ec2types.NatGatewayStateFailed)
	vpc := aws.ToString(got.VpcId)
	if aws.ToString(got.FailureCode) != "Gateway.NotAttached" || aws.ToString(got.FailureMessage) != "Network "+vpc+" has no Internet gateway attached" {
		t.Errorf("failure %q: %q", aws.ToString(got.FailureCode), aws.ToString(got.FailureMessage))
	}
	if _, err := c.DeleteNatGateway(ctx, &ec2.DeleteNatGatewayInput{NatGatewayId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	waitNat(t, c, id, ec2types.NatGatewayStateDeleting)
	// Deleting, it still holds no address.
	addrs, err := c.DescribeAddresses(ctx, &ec2.DescribeAddressesInput{AllocationIds: []string{aws.ToString(alloc.AllocationId)}})
	if err != nil || len(addrs.Addresses) != 1 || addrs.Addresses[0].AssociationId != nil {
		t.Errorf("the address of a failed gateway being deleted: %+v, %v; want it unassociated", addrs, err)
	}
	if _, err := c.ReleaseAddress(ctx, &ec2.ReleaseAddressInput{AllocationId: alloc.AllocationId}); err != nil {
		t.Errorf("a failed gateway holds its address: %v", err)
	}
	waitNat(t, c, id, ec2types.NatGatewayStateDeleted)

	igw, err := c.CreateInternetGateway(ctx, &ec2.CreateInternetGatewayInput{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AttachInternetGateway(ctx, &ec2.AttachInternetGatewayInput{InternetGatewayId: igw.InternetGateway.InternetGatewayId, VpcId: aws.String(vpc)}); err != nil {
		t.Fatal(err)
	}
	alloc, err = c.AllocateAddress(ctx, &ec2.AllocateAddressInput{Domain: ec2types.DomainTypeVpc})
	if err != nil {
		t.Fatal(err)
	}
	nat, err = c.CreateNatGateway(ctx, &ec2.CreateNatGatewayInput{SubnetId: aws.String(subnet), AllocationId: alloc.AllocationId})
	if err != nil {
		t.Fatal(err)
	}
	waitNat(t, c, aws.ToString(nat.NatGateway.NatGatewayId), ec2types.NatGatewayStateAvailable)
}
