package aws_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/panka/panka/provider"
	pankaaws "github.com/panka/panka/provider/aws"
)

// The network kinds' tests read back through the EC2 API what the provider wrote, each in a VPC
// of its own.

func ec2Client(t *testing.T) *ec2.Client { return ec2.NewFromConfig(sdkConfig(t)) }

var vpcSerial sync.Mutex
var vpcNext = 20

// freeCIDR returns a /16 no other VPC of the tests has (VPCs may overlap in AWS; it keeps the
// tests' views apart).
func freeCIDR() string {
	vpcSerial.Lock()
	defer vpcSerial.Unlock()
	vpcNext++
	return fmt.Sprintf("10.%d.0.0/16", vpcNext%200+20)
}

// ec2View is a resource's tags through the SDK as view entries "tag:KEY".
func ec2View(tags []ec2types.Tag) view {
	v := view{}
	for _, t := range tags {
		v["tag:"+aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return v
}

// tagsWant is what a resource made for r must carry: its Name and r's tags.
func tagsWant(r provider.Resource) view {
	v := view{"tag:Name": r.Name}
	for k, val := range r.Tags {
		v["tag:"+k] = val
	}
	return v
}

func lookVPC(t *testing.T, id string) view {
	t.Helper()
	c := ec2Client(t)
	out, err := c.DescribeVpcs(t.Context(), &ec2.DescribeVpcsInput{VpcIds: []string{id}})
	if err != nil || len(out.Vpcs) != 1 {
		t.Fatalf("DescribeVpcs %s: %v", id, err)
	}
	v := ec2View(out.Vpcs[0].Tags)
	v["cidr"] = aws.ToString(out.Vpcs[0].CidrBlock)
	for _, a := range []ec2types.VpcAttributeName{ec2types.VpcAttributeNameEnableDnsSupport, ec2types.VpcAttributeNameEnableDnsHostnames} {
		attr, err := c.DescribeVpcAttribute(t.Context(), &ec2.DescribeVpcAttributeInput{VpcId: aws.String(id), Attribute: a})
		if err != nil {
			t.Fatal(err)
		}
		b := attr.EnableDnsSupport
		if a == ec2types.VpcAttributeNameEnableDnsHostnames {
			b = attr.EnableDnsHostnames
		}
		v[string(a)] = fmt.Sprint(b != nil && aws.ToBool(b.Value))
	}
	return v
}

// deployVPC makes a VPC through the provider for a test's other resources.
func deployVPC(t *testing.T, p *pankaaws.Provider) string {
	t.Helper()
	return deploy(t, p, component("VPC", unique("vpc"), "", map[string]any{"cidr": freeCIDR()})).ID
}

func wantOutputs(t *testing.T, obs *provider.Observed, want map[string]string) {
	t.Helper()
	if diff := cmp.Diff(want, obs.Outputs); diff != "" {
		t.Errorf("outputs (-want +got):\n%s", diff)
	}
	if obs.ARN != want["arn"] {
		t.Errorf("ARN %q, want %q", obs.ARN, want["arn"])
	}
}

func arnOf(typ, id string) string { return "arn:aws:ec2:" + region + ":000000000000:" + typ + "/" + id }

func TestVPC(t *testing.T) {
	p := newProvider(t)
	c := ec2Client(t)
	cidr := freeCIDR()
	r := component("VPC", unique("vpc"), "", map[string]any{"cidr": cidr})
	obs := deploy(t, p, r)
	want := tagsWant(r)
	want["cidr"], want["enableDnsSupport"], want["enableDnsHostnames"] = cidr, "true", "true"
	wantIn(t, "after Create", lookVPC(t, obs.ID), want)
	wantOutputs(t, obs, map[string]string{"vpcId": obs.ID, "cidr": cidr, "arn": arnOf("vpc", obs.ID)})
	if diff := cmp.Diff(r.Spec, obs.Spec); diff != "" {
		t.Errorf("spec (-written +read):\n%s", diff)
	}

	// DNS hostnames turned off behind Panka's back; the tags changed: Update makes both right.
	if _, err := c.ModifyVpcAttribute(t.Context(), &ec2.ModifyVpcAttributeInput{VpcId: aws.String(obs.ID),
		EnableDnsHostnames: &ec2types.AttributeBooleanValue{Value: aws.Bool(false)}}); err != nil {
		t.Fatal(err)
	}
	r.Tags = maps.Clone(r.Tags)
	r.Tags["team"] = "net"
	if _, err := p.Update(t.Context(), obs.ID, r, []string{"tags.team"}); err != nil {
		t.Fatalf("Update: %v", err)
	}
	want["tag:team"] = "net"
	wantIn(t, "after Update", lookVPC(t, obs.ID), want)

	// A changed CIDR is a replacement: Update refuses it.
	bad := r
	bad.Spec = map[string]any{"cidr": "10.250.0.0/16"}
	if _, err := p.Update(t.Context(), obs.ID, bad, []string{"cidr"}); err == nil {
		t.Error("Update of the CIDR succeeded")
	}

	if err := p.Delete(t.Context(), obs.ID, r); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := c.DescribeVpcs(t.Context(), &ec2.DescribeVpcsInput{VpcIds: []string{obs.ID}}); err == nil {
		t.Error("the VPC is still there after Delete")
	}
}

// Delete waits while something still depends on the VPC, reporting progress, and gives up with
// ErrTransient past its bound.
func TestVPCDeleteWaitsForDependencies(t *testing.T) {
	p := newProvider(t)
	c := ec2Client(t)
	r := component("VPC", unique("vpc"), "", map[string]any{"cidr": freeCIDR()})
	obs := deploy(t, p, r)
	sn, err := c.CreateSubnet(t.Context(), &ec2.CreateSubnetInput{VpcId: aws.String(obs.ID), CidrBlock: aws.String(strings.Replace(obs.Spec["cidr"].(string), ".0.0/16", ".1.0/24", 1))})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var progress []string
	ctx := provider.WithProgress(t.Context(), func(msg string) { mu.Lock(); progress = append(progress, msg); mu.Unlock() })

	restore := pankaaws.SetDependencyWait(300 * time.Millisecond)
	err = p.Delete(ctx, obs.ID, r)
	restore()
	if !errors.Is(err, provider.ErrTransient) || !strings.Contains(err.Error(), "DependencyViolation") {
		t.Fatalf("Delete of a VPC with a subnet: %v, want ErrTransient naming DependencyViolation", err)
	}
	if got := lookVPC(t, obs.ID); got["cidr"] == "" {
		t.Fatal("the VPC is gone")
	}
	mu.Lock()
	if len(progress) == 0 || !strings.Contains(progress[0], obs.ID) {
		t.Errorf("progress reported while waiting: %q", progress)
	}
	mu.Unlock()

	// The subnet goes while Delete waits: Delete succeeds.
	go func() {
		time.Sleep(300 * time.Millisecond)
		_, _ = c.DeleteSubnet(context.Background(), &ec2.DeleteSubnetInput{SubnetId: sn.Subnet.SubnetId})
	}()
	if err := p.Delete(ctx, obs.ID, r); err != nil {
		t.Fatalf("Delete once the subnet goes: %v", err)
	}
	if _, err := c.DescribeVpcs(t.Context(), &ec2.DescribeVpcsInput{VpcIds: []string{obs.ID}}); err == nil {
		t.Error("the VPC is still there after Delete")
	}
}

func lookSubnet(t *testing.T, id string) view {
	t.Helper()
	out, err := ec2Client(t).DescribeSubnets(t.Context(), &ec2.DescribeSubnetsInput{SubnetIds: []string{id}})
	if err != nil || len(out.Subnets) != 1 {
		t.Fatalf("DescribeSubnets %s: %v", id, err)
	}
	s := out.Subnets[0]
	v := ec2View(s.Tags)
	v["vpc"], v["cidr"], v["az"], v["public"] = aws.ToString(s.VpcId), aws.ToString(s.CidrBlock), aws.ToString(s.AvailabilityZone), fmt.Sprint(aws.ToBool(s.MapPublicIpOnLaunch))
	return v
}

// zoneNames returns the region's available zones, sorted.
func zoneNames(t *testing.T) []string {
	out, err := ec2Client(t).DescribeAvailabilityZones(t.Context(), &ec2.DescribeAvailabilityZonesInput{})
	if err != nil {
		t.Fatal(err)
	}
	var zones []string
	for _, z := range out.AvailabilityZones {
		zones = append(zones, aws.ToString(z.ZoneName))
	}
	slices.Sort(zones)
	return zones
}

func TestSubnet(t *testing.T) {
	p := newProvider(t)
	c := ec2Client(t)
	vpc := deployVPC(t, p)
	cidr := strings.Replace(lookVPC(t, vpc)["cidr"], ".0.0/16", ".4.0/24", 1)
	r := component("Subnet", unique("subnet"), "", map[string]any{"vpcId": vpc, "cidr": cidr, "zone": int64(1), "public": false})
	obs, err := p.Create(t.Context(), r)
	if err != nil {
		t.Fatal(err)
	}
	zone := zoneNames(t)[1]
	want := tagsWant(r)
	want["vpc"], want["cidr"], want["az"], want["public"] = vpc, cidr, zone, "false"
	wantIn(t, "after Create", lookSubnet(t, obs.ID), want)
	wantOutputs(t, obs, map[string]string{"subnetId": obs.ID, "availabilityZone": zone, "arn": arnOf("subnet", obs.ID)})
	if diff := cmp.Diff(r.Spec, obs.Spec); diff != "" {
		t.Errorf("spec (-written +read):\n%s", diff)
	}

	r.Spec["public"] = true
	upd, err := p.Update(t.Context(), obs.ID, r, []string{"public"})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	want["public"] = "true"
	wantIn(t, "after Update", lookSubnet(t, obs.ID), want)
	if diff := cmp.Diff(r.Spec, upd.Spec); diff != "" {
		t.Errorf("spec after Update (-written +read):\n%s", diff)
	}

	// Drift: public turned off behind Panka's back reads as such.
	if _, err := c.ModifySubnetAttribute(t.Context(), &ec2.ModifySubnetAttributeInput{SubnetId: aws.String(obs.ID),
		MapPublicIpOnLaunch: &ec2types.AttributeBooleanValue{Value: aws.Bool(false)}}); err != nil {
		t.Fatal(err)
	}
	if got, err := p.Read(t.Context(), "Subnet", obs.ID); err != nil || got.Spec["public"] != false {
		t.Errorf("Read after drift: %v, %v; want public false", got, err)
	}

	if err := p.Delete(t.Context(), obs.ID, r); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := c.DescribeSubnets(t.Context(), &ec2.DescribeSubnetsInput{SubnetIds: []string{obs.ID}}); err == nil {
		t.Error("the subnet is still there after Delete")
	}
}

func lookIGW(t *testing.T, id string) view {
	t.Helper()
	out, err := ec2Client(t).DescribeInternetGateways(t.Context(), &ec2.DescribeInternetGatewaysInput{InternetGatewayIds: []string{id}})
	if err != nil || len(out.InternetGateways) != 1 {
		t.Fatalf("DescribeInternetGateways %s: %v", id, err)
	}
	v := ec2View(out.InternetGateways[0].Tags)
	var vpcs []string
	for _, a := range out.InternetGateways[0].Attachments {
		vpcs = append(vpcs, aws.ToString(a.VpcId))
	}
	v["attached"] = strings.Join(vpcs, ",")
	return v
}

func TestInternetGateway(t *testing.T) {
	p := newProvider(t)
	c := ec2Client(t)
	vpc := deployVPC(t, p)
	r := component("InternetGateway", unique("igw"), "", map[string]any{"vpcId": vpc})
	obs, err := p.Create(t.Context(), r)
	if err != nil {
		t.Fatal(err)
	}
	want := tagsWant(r)
	want["attached"] = vpc
	wantIn(t, "after Create", lookIGW(t, obs.ID), want)
	wantOutputs(t, obs, map[string]string{"internetGatewayId": obs.ID, "arn": arnOf("internet-gateway", obs.ID)})
	if diff := cmp.Diff(r.Spec, obs.Spec); diff != "" {
		t.Errorf("spec (-written +read):\n%s", diff)
	}

	// Detached behind Panka's back: vpcId reads nil (drift), and Update attaches it again.
	if _, err := c.DetachInternetGateway(t.Context(), &ec2.DetachInternetGatewayInput{InternetGatewayId: aws.String(obs.ID), VpcId: aws.String(vpc)}); err != nil {
		t.Fatal(err)
	}
	got, err := p.Read(t.Context(), "InternetGateway", obs.ID)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := got.Spec["vpcId"]; !ok || v != nil {
		t.Errorf("Read of a detached gateway: vpcId %v (present %v), want nil", v, ok)
	}
	r.Tags = maps.Clone(r.Tags)
	delete(r.Tags, "panka:tenant")
	if _, err := p.Update(t.Context(), obs.ID, r, nil); err != nil {
		t.Fatalf("Update: %v", err)
	}
	want["tag:panka:tenant"] = ""
	wantIn(t, "after Update", lookIGW(t, obs.ID), want)

	if err := p.Delete(t.Context(), obs.ID, r); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := c.DescribeInternetGateways(t.Context(), &ec2.DescribeInternetGatewaysInput{InternetGatewayIds: []string{obs.ID}}); err == nil {
		t.Error("the gateway is still there after Delete")
	}
}

// addressesNamed returns the allocation IDs of the Elastic IPs tagged Name=name.
func addressesNamed(t *testing.T, name string) []string {
	t.Helper()
	out, err := ec2Client(t).DescribeAddresses(t.Context(), &ec2.DescribeAddressesInput{Filters: []ec2types.Filter{
		{Name: aws.String("tag:Name"), Values: []string{name}}}})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, a := range out.Addresses {
		ids = append(ids, aws.ToString(a.AllocationId))
	}
	return ids
}

func natState(t *testing.T, id string) (ec2types.NatGateway, view) {
	t.Helper()
	out, err := ec2Client(t).DescribeNatGateways(t.Context(), &ec2.DescribeNatGatewaysInput{NatGatewayIds: []string{id}})
	if err != nil || len(out.NatGateways) != 1 {
		t.Fatalf("DescribeNatGateways %s: %v", id, err)
	}
	g := out.NatGateways[0]
	v := ec2View(g.Tags)
	v["state"], v["subnet"] = string(g.State), aws.ToString(g.SubnetId)
	for _, a := range g.NatGatewayAddresses {
		v["allocation"], v["publicIp"] = aws.ToString(a.AllocationId), aws.ToString(a.PublicIp)
	}
	return g, v
}

// natNetwork makes a VPC with an internet gateway and a public subnet for a NAT gateway.
func natNetwork(t *testing.T, p *pankaaws.Provider) (vpc, subnet, igw string) {
	t.Helper()
	vpc, subnet = vpcWithSubnet(t, p)
	igw = deploy(t, p, component("InternetGateway", unique("igw"), "", map[string]any{"vpcId": vpc})).ID
	return vpc, subnet, igw
}

// vpcWithSubnet makes a VPC and a public subnet in it.
func vpcWithSubnet(t *testing.T, p *pankaaws.Provider) (vpc, subnet string) {
	t.Helper()
	vpc = deployVPC(t, p)
	cidr := strings.Replace(lookVPC(t, vpc)["cidr"], ".0.0/16", ".0.0/24", 1)
	subnet = deploy(t, p, component("Subnet", unique("public"), "", map[string]any{"vpcId": vpc, "cidr": cidr, "zone": int64(0), "public": true})).ID
	return vpc, subnet
}

func TestNATGateway(t *testing.T) {
	p := newProvider(t)
	_, subnet, _ := natNetwork(t, p)
	r := component("NATGateway", unique("nat"), "", map[string]any{"subnetId": subnet})
	var mu sync.Mutex
	var progress []string
	ctx := provider.WithProgress(t.Context(), func(msg string) { mu.Lock(); progress = append(progress, msg); mu.Unlock() })
	obs, err := p.Create(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	_, got := natState(t, obs.ID)
	allocs := addressesNamed(t, r.Name)
	if len(allocs) != 1 {
		t.Fatalf("Elastic IPs named %s: %v, want one", r.Name, allocs)
	}
	want := tagsWant(r)
	want["state"], want["subnet"], want["allocation"], want["publicIp"] = "available", subnet, allocs[0], obs.Outputs["publicIp"]
	wantIn(t, "after Create", got, want)
	if obs.Outputs["publicIp"] == "" {
		t.Error("no publicIp output")
	}
	wantOutputs(t, obs, map[string]string{"natGatewayId": obs.ID, "publicIp": got["publicIp"], "arn": arnOf("natgateway", obs.ID)})
	if diff := cmp.Diff([]provider.Part{{Type: "AWS::EC2::EIP", ID: allocs[0], ARN: arnOf("elastic-ip", allocs[0])}}, obs.Parts); diff != "" {
		t.Errorf("parts (-want +got):\n%s", diff)
	}
	mu.Lock()
	if !slices.ContainsFunc(progress, func(m string) bool { return strings.Contains(m, "pending") }) {
		t.Errorf("no progress reported while the gateway was pending: %q", progress)
	}
	mu.Unlock()

	r.Tags = maps.Clone(r.Tags)
	r.Tags["team"] = "net"
	if _, err := p.Update(t.Context(), obs.ID, r, []string{"tags.team"}); err != nil {
		t.Fatalf("Update: %v", err)
	}
	want["tag:team"] = "net"
	_, got = natState(t, obs.ID)
	wantIn(t, "after Update", got, want)

	if err := p.Delete(t.Context(), obs.ID, r); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if g, _ := natState(t, obs.ID); g.State != ec2types.NatGatewayStateDeleted {
		t.Errorf("after Delete the gateway is %s, want deleted", g.State)
	}
	if _, err := p.Read(t.Context(), "NATGateway", obs.ID); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("Read of a deleted gateway: %v, want ErrNotFound", err)
	}
	if left := addressesNamed(t, r.Name); len(left) != 0 {
		t.Errorf("Elastic IPs left after Delete: %v", left)
	}
}

// A create killed after allocating the Elastic IP leaves it: the next Create uses it, and
// allocates no second one; DeleteParts releases what a gateway gone leaves.
func TestNATGatewayLeftoverAddress(t *testing.T) {
	p := newProvider(t)
	c := ec2Client(t)
	_, subnet, _ := natNetwork(t, p)
	r := component("NATGateway", unique("nat"), "", map[string]any{"subnetId": subnet})
	allocate := func(r provider.Resource) string {
		t.Helper()
		tags := []ec2types.Tag{{Key: aws.String("Name"), Value: aws.String(r.Name)}}
		for _, k := range slices.Sorted(maps.Keys(r.Tags)) {
			tags = append(tags, ec2types.Tag{Key: aws.String(k), Value: aws.String(r.Tags[k])})
		}
		out, err := c.AllocateAddress(t.Context(), &ec2.AllocateAddressInput{Domain: ec2types.DomainTypeVpc,
			TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeElasticIp, Tags: tags}}})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.AllocationId)
	}
	leftover := allocate(r)
	obs := deploy(t, p, r)
	if allocs := addressesNamed(t, r.Name); !slices.Equal(allocs, []string{leftover}) {
		t.Errorf("Elastic IPs named %s after Create: %v, want only the leftover %s", r.Name, allocs, leftover)
	}
	if _, got := natState(t, obs.ID); got["allocation"] != leftover {
		t.Errorf("the gateway uses %s, not the leftover %s", got["allocation"], leftover)
	}

	// The gateway deleted behind Panka's back: its address is a part left over. DeleteParts
	// releases it once the gateway has let it go.
	gone := component("NATGateway", unique("nat"), "", map[string]any{"subnetId": subnet})
	g := deploy(t, p, gone)
	if _, err := c.DeleteNatGateway(t.Context(), &ec2.DeleteNatGatewayInput{NatGatewayId: aws.String(g.ID)}); err != nil {
		t.Fatal(err)
	}
	if err := p.DeleteParts(t.Context(), gone, g.Parts); err != nil {
		t.Fatalf("DeleteParts: %v", err)
	}
	if left := addressesNamed(t, gone.Name); len(left) != 0 {
		t.Errorf("Elastic IPs left after DeleteParts: %v", left)
	}

	// A create interrupted before its gateway: DeleteParts with no parts finds the address by
	// name, but not one whose tags name another owner.
	interrupted := component("NATGateway", unique("nat"), "", map[string]any{"subnetId": subnet})
	allocate(interrupted)
	theirs := interrupted
	theirs.Tags = maps.Clone(interrupted.Tags)
	theirs.Tags["panka:stack"] = "other"
	foreign := allocate(theirs)
	t.Cleanup(func() {
		_, _ = c.ReleaseAddress(context.Background(), &ec2.ReleaseAddressInput{AllocationId: aws.String(foreign)})
	})
	if err := p.DeleteParts(t.Context(), interrupted, nil); err != nil {
		t.Fatalf("DeleteParts of an interrupted create: %v", err)
	}
	if left := addressesNamed(t, interrupted.Name); !slices.Equal(left, []string{foreign}) {
		t.Errorf("Elastic IPs named %s after DeleteParts: %v, want only another owner's %s", interrupted.Name, left, foreign)
	}
	// DeleteParts of a gateway that exists leaves its address alone.
	if err := p.DeleteParts(t.Context(), r, nil); err != nil {
		t.Fatal(err)
	}
	if allocs := addressesNamed(t, r.Name); !slices.Equal(allocs, []string{leftover}) {
		t.Errorf("DeleteParts of a live gateway's name released its address: %v", allocs)
	}
}

// A NAT gateway that fails (a public one in a VPC without an internet gateway) is an error
// saying why; the gateway is deleted, and its address kept for the next Create, which uses it.
func TestNATGatewayFails(t *testing.T) {
	p := newProvider(t)
	vpc, subnet := vpcWithSubnet(t, p)
	r := component("NATGateway", unique("nat"), "", map[string]any{"subnetId": subnet})
	_, err := p.Create(t.Context(), r)
	if err == nil || !strings.Contains(err.Error(), "has no Internet gateway attached") {
		t.Fatalf("Create of a gateway that fails: %v, want an error with its failure message", err)
	}
	out, err := ec2Client(t).DescribeNatGateways(t.Context(), &ec2.DescribeNatGatewaysInput{Filter: []ec2types.Filter{
		{Name: aws.String("tag:Name"), Values: []string{r.Name}}}})
	if err != nil || len(out.NatGateways) != 1 {
		t.Fatalf("the failed gateway: %v, %v", out, err)
	}
	if s := out.NatGateways[0].State; s != ec2types.NatGatewayStateDeleting && s != ec2types.NatGatewayStateDeleted {
		t.Errorf("the failed gateway is %s, want deleting or deleted", s)
	}
	allocs := addressesNamed(t, r.Name)
	if len(allocs) != 1 {
		t.Fatalf("Elastic IPs named %s: %v, want the one kept", r.Name, allocs)
	}
	if _, err := p.Find(t.Context(), r); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("Find of a failed gateway: %v, want ErrNotFound", err)
	}

	deploy(t, p, component("InternetGateway", unique("igw"), "", map[string]any{"vpcId": vpc}))
	obs := deploy(t, p, r)
	if _, got := natState(t, obs.ID); got["allocation"] != allocs[0] || got["state"] != "available" {
		t.Errorf("the second gateway: %v, want available with %s", got, allocs[0])
	}
	if again := addressesNamed(t, r.Name); !slices.Equal(again, allocs) {
		t.Errorf("Elastic IPs named %s after the second Create: %v, want %v", r.Name, again, allocs)
	}
}

// lookRouteTable returns a route table's tags, its routes "route:DEST" = target (no local
// route) and its subnets "subnets" (sorted), through the SDK.
func lookRouteTable(t *testing.T, id string) view {
	t.Helper()
	out, err := ec2Client(t).DescribeRouteTables(t.Context(), &ec2.DescribeRouteTablesInput{RouteTableIds: []string{id}})
	if err != nil || len(out.RouteTables) != 1 {
		t.Fatalf("DescribeRouteTables %s: %v", id, err)
	}
	rt := out.RouteTables[0]
	v := ec2View(rt.Tags)
	for _, r := range rt.Routes {
		if aws.ToString(r.GatewayId) != "local" {
			v["route:"+aws.ToString(r.DestinationCidrBlock)] = aws.ToString(r.GatewayId) + aws.ToString(r.NatGatewayId)
		}
	}
	var subnets []string
	for _, a := range rt.Associations {
		if !aws.ToBool(a.Main) {
			subnets = append(subnets, aws.ToString(a.SubnetId))
		}
	}
	slices.Sort(subnets)
	v["subnets"] = strings.Join(subnets, ",")
	return v
}

func TestRouteTable(t *testing.T) {
	p := newProvider(t)
	c := ec2Client(t)
	vpc, public, igw := natNetwork(t, p)
	base := strings.TrimSuffix(lookVPC(t, vpc)["cidr"], ".0.0/16")
	var subnets []string
	for i := range 3 {
		subnets = append(subnets, deploy(t, p, component("Subnet", unique("private"), "", map[string]any{
			"vpcId": vpc, "cidr": fmt.Sprintf("%s.%d.0/24", base, 10+i), "zone": int64(i % 2), "public": false})).ID)
	}
	nat := deploy(t, p, component("NATGateway", unique("nat"), "", map[string]any{"subnetId": public})).ID

	r := component("RouteTable", unique("rt"), "", map[string]any{"vpcId": vpc,
		"routes": []any{map[string]any{"destination": "0.0.0.0/0", "internetGatewayId": igw}}, "subnets": []any{subnets[0]}})
	obs := deploy(t, p, r)
	want := tagsWant(r)
	want["route:0.0.0.0/0"], want["subnets"] = igw, subnets[0]
	wantIn(t, "after Create", lookRouteTable(t, obs.ID), want)
	wantOutputs(t, obs, map[string]string{"routeTableId": obs.ID, "arn": arnOf("route-table", obs.ID)})
	if diff := cmp.Diff(r.Spec, obs.Spec); diff != "" {
		t.Errorf("spec (-written +read):\n%s", diff)
	}
	if len(obs.Parts) != 1 || obs.Parts[0].Type != "AWS::EC2::SubnetRouteTableAssociation" {
		t.Errorf("parts %v, want the subnet's association", obs.Parts)
	}

	// The default route moves from the internet gateway to the NAT gateway; a route is added;
	// subnet 0 leaves, 1 and 2 join.
	r.Spec = map[string]any{"vpcId": vpc, "routes": []any{
		map[string]any{"destination": "0.0.0.0/0", "natGatewayId": nat},
		map[string]any{"destination": "192.168.0.0/16", "internetGatewayId": igw}},
		"subnets": sortedAnys(subnets[2], subnets[1])}
	upd, err := p.Update(t.Context(), obs.ID, r, []string{"routes", "subnets"})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	want["route:0.0.0.0/0"], want["route:192.168.0.0/16"] = nat, igw
	want["subnets"] = strings.Join(slices.Sorted(slices.Values([]string{subnets[1], subnets[2]})), ",")
	wantIn(t, "after Update", lookRouteTable(t, obs.ID), want)
	if diff := cmp.Diff(r.Spec, upd.Spec); diff != "" {
		t.Errorf("spec after Update (-written +read):\n%s", diff)
	}
	if len(upd.Parts) != 2 {
		t.Errorf("parts after Update: %v, want two associations", upd.Parts)
	}

	// Drift: a route deleted and an association ended behind Panka's back read as missing, and
	// Update makes them again.
	if _, err := c.DeleteRoute(t.Context(), &ec2.DeleteRouteInput{RouteTableId: aws.String(obs.ID), DestinationCidrBlock: aws.String("192.168.0.0/16")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DisassociateRouteTable(t.Context(), &ec2.DisassociateRouteTableInput{AssociationId: aws.String(upd.Parts[0].ID)}); err != nil {
		t.Fatal(err)
	}
	drifted, err := p.Read(t.Context(), "RouteTable", obs.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(drifted.Spec["routes"].([]any)) != 1 || len(drifted.Spec["subnets"].([]any)) != 1 || len(drifted.Parts) != 1 {
		t.Errorf("Read after drift: %v, parts %v; want one route, one subnet, one part", drifted.Spec, drifted.Parts)
	}
	if _, err := p.Update(t.Context(), obs.ID, r, nil); err != nil {
		t.Fatalf("Update to undo the drift: %v", err)
	}
	wantIn(t, "after undoing the drift", lookRouteTable(t, obs.ID), want)

	// A second table of the deployment takes subnet 1: it moves (ReplaceRouteTableAssociation).
	r2 := component("RouteTable", unique("rt"), "", map[string]any{"vpcId": vpc, "subnets": []any{subnets[1]}})
	obs2 := deploy(t, p, r2)
	if got := lookRouteTable(t, obs2.ID)["subnets"]; got != subnets[1] {
		t.Errorf("the second table's subnets: %q, want %s", got, subnets[1])
	}
	if got := lookRouteTable(t, obs.ID)["subnets"]; got != subnets[2] {
		t.Errorf("the first table's subnets after the move: %q, want %s", got, subnets[2])
	}

	// A table that is not Panka's holds subnet 0: a table of Panka's does not take it.
	foreign, err := c.CreateRouteTable(t.Context(), &ec2.CreateRouteTableInput{VpcId: aws.String(vpc)})
	if err != nil {
		t.Fatal(err)
	}
	fa, err := c.AssociateRouteTable(t.Context(), &ec2.AssociateRouteTableInput{RouteTableId: foreign.RouteTable.RouteTableId, SubnetId: aws.String(subnets[0])})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = c.DisassociateRouteTable(context.Background(), &ec2.DisassociateRouteTableInput{AssociationId: fa.AssociationId})
		_, _ = c.DeleteRouteTable(context.Background(), &ec2.DeleteRouteTableInput{RouteTableId: foreign.RouteTable.RouteTableId})
	})
	r2.Spec = map[string]any{"vpcId": vpc, "subnets": []any{subnets[1], subnets[0]}}
	if _, err := p.Update(t.Context(), obs2.ID, r2, []string{"subnets"}); err == nil || !strings.Contains(err.Error(), "not this deployment's") {
		t.Errorf("Update taking another's subnet: %v, want an error", err)
	}
	if got := lookRouteTable(t, aws.ToString(foreign.RouteTable.RouteTableId))["subnets"]; got != subnets[0] {
		t.Errorf("the foreign table's subnets: %q, want %s", got, subnets[0])
	}

	// Delete ends the associations and deletes the table; DeleteParts then has nothing to do.
	if err := p.Delete(t.Context(), obs.ID, r); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := c.DescribeRouteTables(t.Context(), &ec2.DescribeRouteTablesInput{RouteTableIds: []string{obs.ID}}); err == nil {
		t.Error("the route table is still there after Delete")
	}
	if err := p.DeleteParts(t.Context(), r, upd.Parts); err != nil {
		t.Errorf("DeleteParts after Delete: %v", err)
	}
	held, err := c.DescribeRouteTables(t.Context(), &ec2.DescribeRouteTablesInput{Filters: []ec2types.Filter{
		{Name: aws.String("association.subnet-id"), Values: []string{subnets[2]}}}})
	if err != nil || len(held.RouteTables) != 0 {
		t.Errorf("subnet %s is still associated after Delete: %v, %v", subnets[2], held, err)
	}
}

// Two resources carry one Name (EC2 keeps tags unique by nothing): Find adopts the one whose
// ownership tags are the caller's, whichever comes first.
func TestFindPrefersOwnTags(t *testing.T) {
	p := newProvider(t)
	c := ec2Client(t)
	r := component("VPC", unique("vpc"), "", map[string]any{"cidr": freeCIDR()})
	mk := func(address string) string {
		t.Helper()
		tags := []ec2types.Tag{{Key: aws.String("Name"), Value: aws.String(r.Name)}, {Key: aws.String("panka:stack"), Value: aws.String("shop")}}
		if address != "" {
			tags = append(tags, ec2types.Tag{Key: aws.String("panka:address"), Value: aws.String(address)})
		}
		out, err := c.CreateVpc(t.Context(), &ec2.CreateVpcInput{CidrBlock: aws.String(freeCIDR()), TagSpecifications: []ec2types.TagSpecification{{
			ResourceType: ec2types.ResourceTypeVpc, Tags: tags}}})
		if err != nil {
			t.Fatal(err)
		}
		id := aws.ToString(out.Vpc.VpcId)
		t.Cleanup(func() { _, _ = c.DeleteVpc(context.Background(), &ec2.DeleteVpcInput{VpcId: aws.String(id)}) })
		return id
	}
	// Another address's, ours, and three that say no address (adoptable, but less ours).
	a, b := mk("orders/other"), mk(r.Address)
	for range 3 {
		mk("")
	}
	found, err := p.Find(t.Context(), r)
	if err != nil {
		t.Fatalf("Find: %v", err)
	}
	if found.ID != b {
		t.Errorf("Find: %s, want %s (ours; %s is another address's)", found.ID, b, a)
	}
	if _, err := p.Create(t.Context(), r); !errors.Is(err, provider.ErrAlreadyExists) {
		t.Errorf("Create of a name two VPCs carry: %v, want ErrAlreadyExists", err)
	}
}

// sortedAnys returns ss sorted, as a spec list.
func sortedAnys(ss ...string) []any {
	slices.Sort(ss)
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
