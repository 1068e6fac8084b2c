package localaws

import (
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"
)

// Kumo v0.33.1 has no Elastic IP addresses, DeleteNatGateway, DeleteRouteTable, DeleteRoute or
// DisassociateRouteTable, makes a NAT gateway available at once, deletes a subnet a NAT gateway
// is in and a VPC with route tables and security groups. Each subtest fails once kumo is right.
func TestKumoEC2NetworkTeardownGaps(t *testing.T) {
	c := gapEC2Client(t, gapEmulator(t).srv.URL)
	ctx := t.Context()
	vpc, err := c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.6.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	subnet, err := c.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc.Vpc.VpcId, CidrBlock: aws.String("10.6.1.0/24")})
	if err != nil {
		t.Fatal(err)
	}
	rt, err := c.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{VpcId: vpc.Vpc.VpcId})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("AllocateAddress", func(t *testing.T) {
		if _, err := c.AllocateAddress(ctx, &ec2.AllocateAddressInput{Domain: ec2types.DomainTypeVpc}); err == nil {
			t.Error("kumo answers AllocateAddress: the layer need not")
		}
	})
	t.Run("NatGatewayAvailableAtOnce", func(t *testing.T) {
		nat, err := c.CreateNatGateway(ctx, &ec2.CreateNatGatewayInput{SubnetId: subnet.Subnet.SubnetId, ConnectivityType: ec2types.ConnectivityTypePrivate,
			TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeNatgateway, Tags: []ec2types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}}})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := c.DescribeNatGateways(ctx, &ec2.DescribeNatGatewaysInput{NatGatewayIds: []string{aws.ToString(nat.NatGateway.NatGatewayId)}}); err != nil || len(got.NatGateways) != 1 || len(got.NatGateways[0].Tags) != 0 {
			t.Errorf("kumo keeps a NAT gateway's tags (%+v, %v): the layer need not set them", got, err)
		}
		if nat.NatGateway.State != ec2types.NatGatewayStateAvailable {
			t.Errorf("kumo's new NAT gateway is %s, not available at once: the layer need not simulate its states", nat.NatGateway.State)
		}
		if _, err := c.DeleteNatGateway(ctx, &ec2.DeleteNatGatewayInput{NatGatewayId: nat.NatGateway.NatGatewayId}); err == nil {
			t.Error("kumo answers DeleteNatGateway: the layer need not")
		}
		if _, err := c.DeleteSubnet(ctx, &ec2.DeleteSubnetInput{SubnetId: subnet.Subnet.SubnetId}); err != nil {
			t.Errorf("kumo refuses to delete a subnet a NAT gateway is in (%v): the layer need not", err)
		}
	})
	t.Run("RouteTables", func(t *testing.T) {
		if _, err := c.DeleteRoute(ctx, &ec2.DeleteRouteInput{RouteTableId: rt.RouteTable.RouteTableId, DestinationCidrBlock: aws.String("0.0.0.0/0")}); err == nil {
			t.Error("kumo answers DeleteRoute: the layer need not")
		}
		if _, err := c.DisassociateRouteTable(ctx, &ec2.DisassociateRouteTableInput{AssociationId: aws.String("rtbassoc-none")}); err == nil {
			t.Error("kumo answers DisassociateRouteTable: the layer need not")
		}
		if _, err := c.DeleteRouteTable(ctx, &ec2.DeleteRouteTableInput{RouteTableId: rt.RouteTable.RouteTableId}); err == nil {
			t.Error("kumo answers DeleteRouteTable: the layer need not")
		}
		sn, err := c.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc.Vpc.VpcId, CidrBlock: aws.String("10.6.9.0/24")})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.AssociateRouteTable(ctx, &ec2.AssociateRouteTableInput{RouteTableId: rt.RouteTable.RouteTableId, SubnetId: sn.Subnet.SubnetId}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.DeleteSubnet(ctx, &ec2.DeleteSubnetInput{SubnetId: sn.Subnet.SubnetId}); err != nil {
			t.Fatal(err)
		}
		if got := routeTable(t, c, aws.ToString(rt.RouteTable.RouteTableId)); len(got.Associations) == 0 {
			t.Error("kumo ends a deleted subnet's route table association: the layer need not")
		}
	})
	t.Run("NoDefaultGroupOrMainRouteTable", func(t *testing.T) {
		groups, err := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{})
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range groups.SecurityGroups {
			if aws.ToString(g.VpcId) == aws.ToString(vpc.Vpc.VpcId) {
				t.Errorf("kumo makes a security group %s with a VPC: the layer need not", aws.ToString(g.GroupName))
			}
		}
		tables, err := c.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{})
		if err != nil {
			t.Fatal(err)
		}
		for _, rt := range tables.RouteTables {
			for _, a := range rt.Associations {
				if aws.ToBool(a.Main) {
					t.Errorf("kumo has a main route table %s: the layer need not make one", aws.ToString(rt.RouteTableId))
				}
			}
		}
	})
	t.Run("DeleteVpcWithDependencies", func(t *testing.T) {
		if _, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(uniqueName("gap-sg")), Description: aws.String("d"), VpcId: vpc.Vpc.VpcId}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: vpc.Vpc.VpcId}); err != nil {
			t.Errorf("kumo refuses to delete a VPC with a route table and a security group (%v): the layer need not", err)
		}
	})
}

func waitNat(t *testing.T, c *ec2.Client, id string, want ec2types.NatGatewayState) ec2types.NatGateway {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := c.DescribeNatGateways(t.Context(), &ec2.DescribeNatGatewaysInput{NatGatewayIds: []string{id}})
		if err != nil || len(out.NatGateways) != 1 {
			t.Fatalf("DescribeNatGateways %s: %v, %v", id, out, err)
		}
		if out.NatGateways[0].State == want {
			return out.NatGateways[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("NAT gateway %s is %s, not %s", id, out.NatGateways[0].State, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func routeTable(t *testing.T, c *ec2.Client, id string) ec2types.RouteTable {
	t.Helper()
	out, err := c.DescribeRouteTables(t.Context(), &ec2.DescribeRouteTablesInput{RouteTableIds: []string{id}})
	if err != nil || len(out.RouteTables) != 1 {
		t.Fatalf("DescribeRouteTables %s: %v, %v", id, out, err)
	}
	return out.RouteTables[0]
}

func routesOf(rt ec2types.RouteTable) map[string]string {
	out := map[string]string{}
	for _, r := range rt.Routes {
		out[aws.ToString(r.DestinationCidrBlock)] = aws.ToString(r.GatewayId) + aws.ToString(r.NatGatewayId)
	}
	return out
}

// A managed network made, read back and torn down through the layer, with the errors EC2
// answers on the way.
func TestGapEC2NetworkLifecycle(t *testing.T) {
	srv := gapEmulator(t)
	c := gapEC2Client(t, srv.URL)
	ctx := t.Context()
	vpcOut, err := c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.5.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	vpc := aws.ToString(vpcOut.Vpc.VpcId)
	var subnets []string
	for _, cidr := range []string{"10.5.1.0/24", "10.5.2.0/24"} {
		sn, err := c.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: aws.String(vpc), CidrBlock: aws.String(cidr)})
		if err != nil {
			t.Fatal(err)
		}
		subnets = append(subnets, aws.ToString(sn.Subnet.SubnetId))
	}
	igw, err := c.CreateInternetGateway(ctx, &ec2.CreateInternetGatewayInput{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AttachInternetGateway(ctx, &ec2.AttachInternetGatewayInput{InternetGatewayId: igw.InternetGateway.InternetGatewayId, VpcId: aws.String(vpc)}); err != nil {
		t.Fatal(err)
	}
	sg, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(uniqueName("gap-net")), Description: aws.String("d"), VpcId: aws.String(vpc)})
	if err != nil {
		t.Fatal(err)
	}

	// An Elastic IP address, tagged.
	name := uniqueName("eip")
	eip, err := c.AllocateAddress(ctx, &ec2.AllocateAddressInput{Domain: ec2types.DomainTypeVpc, TagSpecifications: []ec2types.TagSpecification{{
		ResourceType: ec2types.ResourceTypeElasticIp, Tags: []ec2types.Tag{{Key: aws.String("Name"), Value: aws.String(name)}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	alloc := aws.ToString(eip.AllocationId)
	if eip.Domain != ec2types.DomainTypeVpc || aws.ToString(eip.PublicIp) == "" {
		t.Errorf("AllocateAddress: %+v", eip)
	}
	addrs, err := c.DescribeAddresses(ctx, &ec2.DescribeAddressesInput{Filters: []ec2types.Filter{filter("tag:Name", name)}})
	if err != nil || len(addrs.Addresses) != 1 || aws.ToString(addrs.Addresses[0].AllocationId) != alloc || aws.ToString(addrs.Addresses[0].PublicIp) != aws.ToString(eip.PublicIp) ||
		len(addrs.Addresses[0].Tags) != 1 || aws.ToString(addrs.Addresses[0].AssociationId) != "" {
		t.Errorf("DescribeAddresses by tag: %+v, %v", addrs, err)
	}
	// Tags changed with the VPC's in one request.
	if _, err := c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{alloc, vpc}, Tags: []ec2types.Tag{{Key: aws.String("env"), Value: aws.String("test")}, {Key: aws.String("gone"), Value: aws.String("x")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{alloc}, Tags: []ec2types.Tag{{Key: aws.String("gone")}}}); err != nil {
		t.Fatal(err)
	}
	addrs, err = c.DescribeAddresses(ctx, &ec2.DescribeAddressesInput{Filters: []ec2types.Filter{filter("tag:env", "test"), filter("tag:Name", name)}})
	if err != nil || len(addrs.Addresses) != 1 || len(addrs.Addresses[0].Tags) != 2 {
		t.Errorf("address after CreateTags and DeleteTags: %+v, %v", addrs, err)
	}
	if v, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []ec2types.Filter{filter("tag:env", "test"), filter("vpc-id", vpc)}}); err != nil || len(v.Vpcs) != 1 {
		t.Errorf("VPC tagged with the address: %+v, %v", v, err)
	}
	if _, err := c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{"eipalloc-none"}, Tags: []ec2types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}); errorCode(err) != "InvalidAllocationID.NotFound" {
		t.Errorf("CreateTags of a missing address: %v", err)
	}
	if _, err := c.DescribeAddresses(ctx, &ec2.DescribeAddressesInput{AllocationIds: []string{"eipalloc-none"}}); errorCode(err) != "InvalidAllocationID.NotFound" {
		t.Errorf("DescribeAddresses of a missing address: %v", err)
	}

	// A NAT gateway: pending, then available, with its address.
	if _, err := c.CreateNatGateway(ctx, &ec2.CreateNatGatewayInput{SubnetId: aws.String(subnets[0]), AllocationId: aws.String("eipalloc-none")}); errorCode(err) != "InvalidAllocationID.NotFound" {
		t.Errorf("CreateNatGateway with a missing address: %v", err)
	}
	made, err := c.CreateNatGateway(ctx, &ec2.CreateNatGatewayInput{SubnetId: aws.String(subnets[0]), AllocationId: aws.String(alloc), TagSpecifications: []ec2types.TagSpecification{{
		ResourceType: ec2types.ResourceTypeNatgateway, Tags: []ec2types.Tag{{Key: aws.String("Name"), Value: aws.String(name)}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	nat := aws.ToString(made.NatGateway.NatGatewayId)
	if made.NatGateway.State != ec2types.NatGatewayStatePending {
		t.Errorf("new NAT gateway %s", made.NatGateway.State)
	}
	if _, err := c.CreateNatGateway(ctx, &ec2.CreateNatGatewayInput{SubnetId: aws.String(subnets[1]), AllocationId: aws.String(alloc)}); errorCode(err) != "Resource.AlreadyAssociated" {
		t.Errorf("CreateNatGateway with an address in use: %v", err)
	}
	got := waitNat(t, c, nat, ec2types.NatGatewayStateAvailable)
	if aws.ToString(got.SubnetId) != subnets[0] || aws.ToString(got.VpcId) != vpc || len(got.NatGatewayAddresses) != 1 ||
		aws.ToString(got.NatGatewayAddresses[0].AllocationId) != alloc || aws.ToString(got.NatGatewayAddresses[0].PublicIp) != aws.ToString(eip.PublicIp) ||
		len(got.Tags) != 1 || aws.ToString(got.Tags[0].Value) != name {
		t.Errorf("available NAT gateway %+v", got)
	}
	byFilter, err := c.DescribeNatGateways(ctx, &ec2.DescribeNatGatewaysInput{Filter: []ec2types.Filter{filter("vpc-id", vpc), filter("state", "available")}})
	if err != nil || len(byFilter.NatGateways) != 1 || aws.ToString(byFilter.NatGateways[0].NatGatewayId) != nat {
		t.Errorf("NAT gateways by VPC and state: %+v, %v", byFilter, err)
	}
	addrs, err = c.DescribeAddresses(ctx, &ec2.DescribeAddressesInput{AllocationIds: []string{alloc}})
	if err != nil || len(addrs.Addresses) != 1 || aws.ToString(addrs.Addresses[0].AssociationId) == "" {
		t.Errorf("address of a NAT gateway: %+v, %v", addrs, err)
	}
	if _, err := c.ReleaseAddress(ctx, &ec2.ReleaseAddressInput{AllocationId: aws.String(alloc)}); errorCode(err) != "InvalidIPAddress.InUse" {
		t.Errorf("ReleaseAddress of an address in use: %v", err)
	}

	// A route table with a default route through the NAT gateway, associated to a subnet.
	rtOut, err := c.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{VpcId: aws.String(vpc)})
	if err != nil {
		t.Fatal(err)
	}
	rt := aws.ToString(rtOut.RouteTable.RouteTableId)
	if _, err := c.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: aws.String(rt), DestinationCidrBlock: aws.String("0.0.0.0/0"), NatGatewayId: aws.String(nat)}); err != nil {
		t.Fatal(err)
	}
	assoc, err := c.AssociateRouteTable(ctx, &ec2.AssociateRouteTableInput{RouteTableId: aws.String(rt), SubnetId: aws.String(subnets[1])})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(map[string]string{"local": "local", "0.0.0.0/0": nat}, routesOf(routeTable(t, c, rt))); d != "" {
		t.Errorf("routes (-want +got):\n%s", d)
	}
	bySubnet, err := c.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: []ec2types.Filter{filter("vpc-id", vpc), filter("association.subnet-id", subnets[1])}})
	if err != nil || len(bySubnet.RouteTables) != 1 || aws.ToString(bySubnet.RouteTables[0].RouteTableId) != rt {
		t.Errorf("route tables by subnet: %+v, %v", bySubnet, err)
	}

	// Refused while in use.
	if _, err := c.DeleteRouteTable(ctx, &ec2.DeleteRouteTableInput{RouteTableId: aws.String(rt)}); errorCode(err) != "DependencyViolation" {
		t.Errorf("DeleteRouteTable while associated: %v", err)
	}
	if _, err := c.DeleteSubnet(ctx, &ec2.DeleteSubnetInput{SubnetId: aws.String(subnets[0])}); errorCode(err) != "DependencyViolation" {
		t.Errorf("DeleteSubnet with a NAT gateway: %v", err)
	}
	if _, err := c.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: aws.String(vpc)}); errorCode(err) != "DependencyViolation" {
		t.Errorf("DeleteVpc with everything in it: %v", err)
	}

	// Routes deleted and made again.
	if _, err := c.DeleteRoute(ctx, &ec2.DeleteRouteInput{RouteTableId: aws.String(rt), DestinationCidrBlock: aws.String("0.0.0.0/0")}); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(map[string]string{"local": "local"}, routesOf(routeTable(t, c, rt))); d != "" {
		t.Errorf("routes after DeleteRoute (-want +got):\n%s", d)
	}
	if _, err := c.DeleteRoute(ctx, &ec2.DeleteRouteInput{RouteTableId: aws.String(rt), DestinationCidrBlock: aws.String("0.0.0.0/0")}); errorCode(err) != "InvalidRoute.NotFound" {
		t.Errorf("DeleteRoute of a deleted route: %v", err)
	}
	igwID := aws.ToString(igw.InternetGateway.InternetGatewayId)
	if _, err := c.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: aws.String(rt), DestinationCidrBlock: aws.String("0.0.0.0/0"), GatewayId: aws.String(igwID)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: aws.String(rt), DestinationCidrBlock: aws.String("0.0.0.0/0"), GatewayId: aws.String(igwID)}); errorCode(err) != "RouteAlreadyExists" {
		t.Errorf("CreateRoute of a route made again: %v", err)
	}
	if d := cmp.Diff(map[string]string{"local": "local", "0.0.0.0/0": igwID}, routesOf(routeTable(t, c, rt))); d != "" {
		t.Errorf("routes made again (-want +got):\n%s", d)
	}

	// Survives a restart of the layer.
	dir := t.TempDir()
	if err := saveGapFile(dir, ec2GapsFile, ec2Gaps); err != nil {
		t.Fatal(err)
	}
	restarted := newEC2GapState(dir)
	if restarted.Network.Nats[nat] == nil || restarted.Network.Addresses[alloc] == nil || restarted.Network.Routes[rt]["0.0.0.0/0"].GatewayID != igwID {
		t.Errorf("network after a restart: %+v", restarted.Network)
	}
	g, err := startGaps(srv.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer g.close()
	c2 := gapEC2Client(t, g.URL)
	if d := cmp.Diff(map[string]string{"local": "local", "0.0.0.0/0": igwID}, routesOf(routeTable(t, c2, rt))); d != "" {
		t.Errorf("routes through a second layer (-want +got):\n%s", d)
	}
	waitNat(t, c2, nat, ec2types.NatGatewayStateAvailable)

	// Torn down.
	if _, err := c.DisassociateRouteTable(ctx, &ec2.DisassociateRouteTableInput{AssociationId: assoc.AssociationId}); err != nil {
		t.Fatal(err)
	}
	if a := routeTable(t, c, rt).Associations; len(a) != 0 {
		t.Errorf("associations after DisassociateRouteTable: %+v", a)
	}
	if _, err := c.DisassociateRouteTable(ctx, &ec2.DisassociateRouteTableInput{AssociationId: assoc.AssociationId}); errorCode(err) != "InvalidAssociationID.NotFound" {
		t.Errorf("DisassociateRouteTable again: %v", err)
	}
	if _, err := c.DeleteRouteTable(ctx, &ec2.DeleteRouteTableInput{RouteTableId: aws.String(rt)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{RouteTableIds: []string{rt}}); errorCode(err) != "InvalidRouteTableID.NotFound" {
		t.Errorf("DescribeRouteTables of a deleted table: %v", err)
	}
	if _, err := c.DeleteRouteTable(ctx, &ec2.DeleteRouteTableInput{RouteTableId: aws.String(rt)}); errorCode(err) != "InvalidRouteTableID.NotFound" {
		t.Errorf("DeleteRouteTable again: %v", err)
	}
	all, err := c.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: []ec2types.Filter{filter("vpc-id", vpc)}})
	if err != nil || len(all.RouteTables) != 1 || aws.ToString(all.RouteTables[0].RouteTableId) == rt {
		t.Errorf("route tables of the VPC after DeleteRouteTable (the main one only): %+v, %v", all, err)
	}

	if _, err := c.DeleteNatGateway(ctx, &ec2.DeleteNatGatewayInput{NatGatewayId: aws.String("nat-none")}); errorCode(err) != "NatGatewayNotFound" {
		t.Errorf("DeleteNatGateway of a missing gateway: %v", err)
	}
	if _, err := c.DeleteNatGateway(ctx, &ec2.DeleteNatGatewayInput{NatGatewayId: aws.String(nat)}); err != nil {
		t.Fatal(err)
	}
	if n := waitNat(t, c, nat, ec2types.NatGatewayStateDeleting); n.DeleteTime == nil {
		t.Errorf("deleting NAT gateway %+v", n)
	}
	waitNat(t, c, nat, ec2types.NatGatewayStateDeleted)
	if _, err := c.ReleaseAddress(ctx, &ec2.ReleaseAddressInput{AllocationId: aws.String(alloc)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ReleaseAddress(ctx, &ec2.ReleaseAddressInput{AllocationId: aws.String(alloc)}); errorCode(err) != "InvalidAllocationID.NotFound" {
		t.Errorf("ReleaseAddress again: %v", err)
	}
	if _, err := c.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: aws.String(vpc)}); errorCode(err) != "DependencyViolation" {
		t.Errorf("DeleteVpc with subnets and a security group: %v", err)
	}
	for _, sn := range subnets {
		if _, err := c.DeleteSubnet(ctx, &ec2.DeleteSubnetInput{SubnetId: aws.String(sn)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.DetachInternetGateway(ctx, &ec2.DetachInternetGatewayInput{InternetGatewayId: aws.String(igwID), VpcId: aws.String(vpc)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteInternetGateway(ctx, &ec2.DeleteInternetGatewayInput{InternetGatewayId: aws.String(igwID)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: aws.String(vpc)}); errorCode(err) != "DependencyViolation" {
		t.Errorf("DeleteVpc with a security group: %v", err)
	}
	if _, err := c.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: sg.GroupId}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: aws.String(vpc)}); err != nil {
		t.Errorf("DeleteVpc once empty: %v", err)
	}
	vpcs, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []ec2types.Filter{filter("vpc-id", vpc)}})
	if err != nil || len(vpcs.Vpcs) != 0 || slices.ContainsFunc(vpcs.Vpcs, func(v ec2types.Vpc) bool { return aws.ToString(v.VpcId) == vpc }) {
		t.Errorf("VPC after DeleteVpc: %+v, %v", vpcs, err)
	}
}

// A VPC made through the layer has a default security group and a main route table, as in
// EC2, which go with it.
func TestGapEC2NewVPCDefaults(t *testing.T) {
	c := gapEC2Client(t, gapEmulator(t).URL)
	ctx := t.Context()
	made, err := c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.4.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	vpc := aws.ToString(made.Vpc.VpcId)
	groups, err := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{filter("vpc-id", vpc), filter("group-name", "default")}})
	if err != nil || len(groups.SecurityGroups) != 1 {
		t.Fatalf("default security group: %+v, %v", groups, err)
	}
	sg := groups.SecurityGroups[0]
	sgID := aws.ToString(sg.GroupId)
	if len(sg.IpPermissions) != 1 || aws.ToString(sg.IpPermissions[0].IpProtocol) != "-1" || len(sg.IpPermissions[0].UserIdGroupPairs) != 1 ||
		aws.ToString(sg.IpPermissions[0].UserIdGroupPairs[0].GroupId) != sgID {
		t.Errorf("default group's ingress (all from itself): %+v", sg.IpPermissions)
	}
	if len(sg.IpPermissionsEgress) != 1 || aws.ToString(sg.IpPermissionsEgress[0].IpProtocol) != "-1" || len(sg.IpPermissionsEgress[0].IpRanges) != 1 ||
		aws.ToString(sg.IpPermissionsEgress[0].IpRanges[0].CidrIp) != "0.0.0.0/0" {
		t.Errorf("default group's egress (all out): %+v", sg.IpPermissionsEgress)
	}
	tables, err := c.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: []ec2types.Filter{filter("vpc-id", vpc), filter("association.main", "true")}})
	if err != nil || len(tables.RouteTables) != 1 || len(tables.RouteTables[0].Associations) != 1 || !aws.ToBool(tables.RouteTables[0].Associations[0].Main) {
		t.Fatalf("main route table: %+v, %v", tables, err)
	}
	main := aws.ToString(tables.RouteTables[0].RouteTableId)
	if d := cmp.Diff(map[string]string{"local": "local"}, routesOf(tables.RouteTables[0])); d != "" {
		t.Errorf("main route table's routes (-want +got):\n%s", d)
	}
	// A table of its own, tagged, found by the other filters.
	own, err := c.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{VpcId: aws.String(vpc), TagSpecifications: []ec2types.TagSpecification{{
		ResourceType: ec2types.ResourceTypeRouteTable, Tags: []ec2types.Tag{{Key: aws.String("tier"), Value: aws.String("private")}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range [][]ec2types.Filter{
		{filter("vpc-id", vpc), filter("association.main", "false")},
		{filter("tag:tier", "private"), filter("vpc-id", vpc)},
		{filter("tag-key", "tier"), filter("route-table-id", aws.ToString(own.RouteTable.RouteTableId), main)},
	} {
		got, err := c.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: f})
		if err != nil || len(got.RouteTables) != 1 || aws.ToString(got.RouteTables[0].RouteTableId) != aws.ToString(own.RouteTable.RouteTableId) {
			t.Errorf("route tables by %v: %+v, %v", f, got, err)
		}
	}
	if _, err := c.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: []ec2types.Filter{filter("no-such-filter", "x")}}); err == nil {
		t.Error("DescribeRouteTables with an unknown filter succeeds")
	}
	if _, err := c.DeleteRouteTable(ctx, &ec2.DeleteRouteTableInput{RouteTableId: own.RouteTable.RouteTableId}); err != nil {
		t.Fatal(err)
	}

	// Kept across a restart.
	dir := t.TempDir()
	if err := saveGapFile(dir, ec2GapsFile, ec2Gaps); err != nil {
		t.Fatal(err)
	}
	if d := newEC2GapState(dir).Network.VpcDefaults[vpc]; d.SecurityGroupID != sgID || d.RouteTableID != main {
		t.Errorf("VPC defaults after a restart: %+v", d)
	}

	// Not deleted alone; deleted with the VPC.
	if _, err := c.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(sgID)}); errorCode(err) != "CannotDelete" {
		t.Errorf("DeleteSecurityGroup of a default group: %v", err)
	}
	if _, err := c.DeleteRouteTable(ctx, &ec2.DeleteRouteTableInput{RouteTableId: aws.String(main)}); errorCode(err) != "DependencyViolation" {
		t.Errorf("DeleteRouteTable of a main route table: %v", err)
	}
	if _, err := c.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: aws.String(vpc)}); err != nil {
		t.Fatal(err)
	}
	gone, err := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{filter("vpc-id", vpc)}})
	if err != nil || len(gone.SecurityGroups) != 0 {
		t.Errorf("security groups of a deleted VPC: %+v, %v", gone, err)
	}
	if _, err := c.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{RouteTableIds: []string{main}}); errorCode(err) != "InvalidRouteTableID.NotFound" {
		t.Errorf("main route table of a deleted VPC: %v", err)
	}
	if _, ok := ec2Gaps.allRefs()[sgID]; ok {
		t.Error("a deleted default group's rules are kept")
	}
}

// A subnet's route table association goes with the subnet, and the table can then be deleted.
func TestGapEC2DeleteSubnetEndsAssociation(t *testing.T) {
	c := gapEC2Client(t, gapEmulator(t).URL)
	ctx := t.Context()
	vpc, err := c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.2.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	sn, err := c.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc.Vpc.VpcId, CidrBlock: aws.String("10.2.1.0/24")})
	if err != nil {
		t.Fatal(err)
	}
	rt, err := c.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{VpcId: vpc.Vpc.VpcId})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AssociateRouteTable(ctx, &ec2.AssociateRouteTableInput{RouteTableId: rt.RouteTable.RouteTableId, SubnetId: sn.Subnet.SubnetId}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteSubnet(ctx, &ec2.DeleteSubnetInput{SubnetId: sn.Subnet.SubnetId}); err != nil {
		t.Fatal(err)
	}
	if a := routeTable(t, c, aws.ToString(rt.RouteTable.RouteTableId)).Associations; len(a) != 0 {
		t.Errorf("associations after the subnet is deleted: %+v", a)
	}
	if _, err := c.DeleteRouteTable(ctx, &ec2.DeleteRouteTableInput{RouteTableId: rt.RouteTable.RouteTableId}); err != nil {
		t.Error(err)
	}
	if _, err := c.DeleteSubnet(ctx, &ec2.DeleteSubnetInput{SubnetId: sn.Subnet.SubnetId}); errorCode(err) != "InvalidSubnetID.NotFound" {
		t.Errorf("DeleteSubnet again: %v", err)
	}
	if _, err := c.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: vpc.Vpc.VpcId}); err != nil {
		t.Errorf("DeleteVpc once empty: %v", err)
	}
}
