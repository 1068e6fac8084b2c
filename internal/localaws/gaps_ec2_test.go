package localaws

import (
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"
)

func gapEC2Client(t *testing.T, endpoint string) *ec2.Client {
	t.Helper()
	cfg, err := sdkConfig(t.Context(), endpoint, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	return ec2.NewFromConfig(cfg)
}

func filter(name string, values ...string) ec2types.Filter {
	return ec2types.Filter{Name: aws.String(name), Values: values}
}

// AWS has a default VPC in every region and filters DescribeVpcs; kumo v0.33.1 has no default
// VPC, ignores DescribeVpcs' and DescribeSecurityGroups' filters, and has no
// DescribeAvailabilityZones.
func TestKumoEC2NoDefaultVPCAndNoVPCFilters(t *testing.T) {
	c := gapEC2Client(t, gapEmulator(t).srv.URL)
	ctx := t.Context()
	made, err := c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.9.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []ec2types.Filter{filter("isDefault", "true")}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(out.Vpcs, func(v ec2types.Vpc) bool { return aws.ToString(v.VpcId) == aws.ToString(made.Vpc.VpcId) }) {
		t.Fatal("kumo filters DescribeVpcs by isDefault: the layer need not")
	}
	for _, v := range out.Vpcs {
		if aws.ToBool(v.IsDefault) && !slices.Contains([]string{ec2Gaps.defaultVPC().VpcID}, aws.ToString(v.VpcId)) {
			t.Fatalf("kumo has a default VPC %s: the layer need not make one", aws.ToString(v.VpcId))
		}
	}
	if _, err := c.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{}); err == nil {
		t.Fatal("kumo answers DescribeAvailabilityZones: the layer need not")
	}
	sg, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(uniqueName("gap-sg")), Description: aws.String("d"), VpcId: made.Vpc.VpcId})
	if err != nil {
		t.Fatal(err)
	}
	groups, err := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{filter("vpc-id", "vpc-none")}})
	if err != nil || !slices.ContainsFunc(groups.SecurityGroups, func(g ec2types.SecurityGroup) bool { return aws.ToString(g.GroupId) == aws.ToString(sg.GroupId) }) {
		t.Fatalf("kumo filters DescribeSecurityGroups (%v, %v): the layer need not", groups, err)
	}
}

func TestGapEC2DefaultVPC(t *testing.T) {
	c := gapEC2Client(t, gapEmulator(t).URL)
	ctx := t.Context()
	other, err := c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.8.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []ec2types.Filter{filter("isDefault", "true")}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Vpcs) != 1 || !aws.ToBool(out.Vpcs[0].IsDefault) || aws.ToString(out.Vpcs[0].CidrBlock) != defaultVPCCIDR {
		t.Fatalf("default VPCs: %+v", out.Vpcs)
	}
	vpc := aws.ToString(out.Vpcs[0].VpcId)
	if vpc != ec2Gaps.defaultVPC().VpcID {
		t.Errorf("default VPC %s, the layer recorded %s", vpc, ec2Gaps.defaultVPC().VpcID)
	}
	// Asking again makes no second default VPC; other filters work.
	again, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []ec2types.Filter{filter("is-default", "true")}})
	if err != nil || len(again.Vpcs) != 1 || aws.ToString(again.Vpcs[0].VpcId) != vpc {
		t.Errorf("default VPCs again: %v, %v", again, err)
	}
	notDefault, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []ec2types.Filter{filter("isDefault", "false"), filter("vpc-id", aws.ToString(other.Vpc.VpcId), vpc)}})
	if err != nil || len(notDefault.Vpcs) != 1 || aws.ToString(notDefault.Vpcs[0].VpcId) != aws.ToString(other.Vpc.VpcId) || aws.ToBool(notDefault.Vpcs[0].IsDefault) {
		t.Errorf("non-default VPCs among two: %v, %v", notDefault, err)
	}
	if _, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []ec2types.Filter{filter("no-such-filter", "x")}}); err == nil {
		t.Error("DescribeVpcs with an unknown filter succeeds")
	}

	subnets, err := c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{filter("vpc-id", vpc), filter("default-for-az", "true")}})
	if err != nil {
		t.Fatal(err)
	}
	var zones []string
	for _, sn := range subnets.Subnets {
		zones = append(zones, aws.ToString(sn.AvailabilityZone))
		if !aws.ToBool(sn.DefaultForAz) || !aws.ToBool(sn.MapPublicIpOnLaunch) || aws.ToString(sn.VpcId) != vpc {
			t.Errorf("default subnet %+v", sn)
		}
	}
	slices.Sort(zones)
	if d := cmp.Diff([]string{"us-east-1a", "us-east-1b", "us-east-1c"}, zones); d != "" {
		t.Errorf("default subnets' zones (-want +got):\n%s", d)
	}
	one, err := c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{filter("default-for-az", "true"), filter("availability-zone", "us-east-1b")}})
	if err != nil || len(one.Subnets) != 1 || aws.ToString(one.Subnets[0].CidrBlock) != "172.31.16.0/20" {
		t.Errorf("default subnet of us-east-1b: %v, %v", one, err)
	}
	// A subnet of another VPC is no default.
	mine, err := c.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: other.Vpc.VpcId, CidrBlock: aws.String("10.8.1.0/24"), AvailabilityZone: aws.String("us-east-1c")})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: []string{aws.ToString(mine.Subnet.SubnetId)}})
	if err != nil || len(got.Subnets) != 1 || aws.ToBool(got.Subnets[0].DefaultForAz) || aws.ToString(got.Subnets[0].AvailabilityZone) != "us-east-1c" {
		t.Errorf("another VPC's subnet: %v, %v", got, err)
	}

	igws, err := c.DescribeInternetGateways(ctx, &ec2.DescribeInternetGatewaysInput{InternetGatewayIds: []string{ec2Gaps.defaultVPC().GatewayID}})
	if err != nil || len(igws.InternetGateways) != 1 || len(igws.InternetGateways[0].Attachments) != 1 || aws.ToString(igws.InternetGateways[0].Attachments[0].VpcId) != vpc {
		t.Errorf("default VPC's internet gateway: %v, %v", igws, err)
	}
	sgs, err := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{ec2Gaps.defaultVPC().SecurityGroup}})
	if err != nil || len(sgs.SecurityGroups) != 1 || aws.ToString(sgs.SecurityGroups[0].GroupName) != "default" || aws.ToString(sgs.SecurityGroups[0].VpcId) != vpc {
		t.Errorf("default VPC's security group: %v, %v", sgs, err)
	}
	// The default VPC's default group, found as deployers find it; another VPC's group is not.
	if _, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(uniqueName("gap-sg")), Description: aws.String("d"), VpcId: other.Vpc.VpcId}); err != nil {
		t.Fatal(err)
	}
	found, err := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{filter("vpc-id", vpc), filter("group-name", "default")}})
	if err != nil || len(found.SecurityGroups) != 1 || aws.ToString(found.SecurityGroups[0].GroupId) != ec2Gaps.defaultVPC().SecurityGroup {
		t.Errorf("default security group by filters: %v, %v", found, err)
	}
	inOther, err := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{filter("vpc-id", aws.ToString(other.Vpc.VpcId))}})
	if err != nil || len(inOther.SecurityGroups) != 1 || aws.ToString(inOther.SecurityGroups[0].VpcId) != aws.ToString(other.Vpc.VpcId) || aws.ToString(inOther.SecurityGroups[0].Description) != "d" {
		t.Errorf("security groups of another VPC: %v, %v", inOther, err)
	}
	azs, err := c.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{})
	if err != nil || len(azs.AvailabilityZones) != 3 || aws.ToString(azs.AvailabilityZones[0].ZoneName) != "us-east-1a" {
		t.Errorf("DescribeAvailabilityZones: %v, %v", azs, err)
	}
}

// The default VPC is made once: a layer started again on the same data finds it.
func TestGapEC2DefaultVPCSurvivesRestart(t *testing.T) {
	srv := gapEmulator(t)
	c := gapEC2Client(t, srv.URL)
	if _, err := c.DescribeVpcs(t.Context(), &ec2.DescribeVpcsInput{}); err != nil {
		t.Fatal(err)
	}
	first := ec2Gaps.defaultVPC()
	dir := t.TempDir()
	if err := saveGapFile(dir, ec2GapsFile, ec2Gaps); err != nil {
		t.Fatal(err)
	}
	restarted := newEC2GapState(dir) // a new process: nothing checked yet
	if restarted.Default.VpcID != first.VpcID || len(restarted.checked) != 0 {
		t.Fatalf("after a restart: %+v", restarted.Default)
	}
	// A second layer in front of the same kumo (a restart of the layer) checks and keeps it.
	g, err := startGaps(srv.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer g.close()
	out, err := gapEC2Client(t, g.URL).DescribeVpcs(t.Context(), &ec2.DescribeVpcsInput{Filters: []ec2types.Filter{filter("isDefault", "true")}})
	if err != nil || len(out.Vpcs) != 1 || aws.ToString(out.Vpcs[0].VpcId) != first.VpcID {
		t.Errorf("default VPC through a second layer: %v, %v; want %s", out, err, first.VpcID)
	}
}

// A default VPC recorded but gone from kumo is made again, taking over the "default" security
// group kumo still has (kumo keeps group names unique across VPCs).
func TestGapEC2DefaultVPCMadeAgain(t *testing.T) {
	srv := gapEmulator(t)
	c := gapEC2Client(t, srv.URL)
	if _, err := c.DescribeVpcs(t.Context(), &ec2.DescribeVpcsInput{}); err != nil {
		t.Fatal(err)
	}
	old := ec2Gaps.defaultVPC()
	ec2Gaps.mu.Lock()
	ec2Gaps.Default.VpcID = "vpc-gone"
	ec2Gaps.checked = map[string]bool{}
	ec2Gaps.mu.Unlock()
	out, err := c.DescribeVpcs(t.Context(), &ec2.DescribeVpcsInput{Filters: []ec2types.Filter{filter("isDefault", "true")}})
	if err != nil {
		t.Fatal(err)
	}
	made := ec2Gaps.defaultVPC()
	if len(out.Vpcs) != 1 || aws.ToString(out.Vpcs[0].VpcId) != made.VpcID || made.VpcID == old.VpcID || made.VpcID == "vpc-gone" {
		t.Errorf("default VPCs %+v, recorded %s (was %s)", out.Vpcs, made.VpcID, old.VpcID)
	}
	if made.SecurityGroup != old.SecurityGroup {
		t.Errorf("default security group %s, want the one kumo has, %s", made.SecurityGroup, old.SecurityGroup)
	}
}

// Kumo keeps a security group's CIDR rules, and a rule naming another group without the group
// (UserIdGroupPairs dropped): a known difference the layer does not fill yet (see the package
// doc). The test fails once kumo keeps the group, to take it off that list.
func TestGapEC2SecurityGroupRulesReadBack(t *testing.T) {
	c := gapEC2Client(t, gapEmulator(t).URL)
	ctx := t.Context()
	vpc, err := c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.7.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	lb, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(uniqueName("gap-lb")), Description: aws.String("lb"), VpcId: vpc.Vpc.VpcId})
	if err != nil {
		t.Fatal(err)
	}
	app, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(uniqueName("gap-app")), Description: aws.String("app"), VpcId: vpc.Vpc.VpcId})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: app.GroupId, IpPermissions: []ec2types.IpPermission{{
		IpProtocol: aws.String("tcp"), FromPort: aws.Int32(8080), ToPort: aws.Int32(8080), UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: lb.GroupId}},
	}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: lb.GroupId, IpPermissions: []ec2types.IpPermission{{
		IpProtocol: aws.String("tcp"), FromPort: aws.Int32(443), ToPort: aws.Int32(443), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}},
	}}}); err != nil {
		t.Fatal(err)
	}
	out, err := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{aws.ToString(app.GroupId), aws.ToString(lb.GroupId)}})
	if err != nil || len(out.SecurityGroups) != 2 {
		t.Fatalf("DescribeSecurityGroups: %v, %v", out, err)
	}
	for _, g := range out.SecurityGroups {
		if len(g.IpPermissions) != 1 {
			t.Errorf("group %s ingress %+v", aws.ToString(g.GroupName), g.IpPermissions)
			continue
		}
		p := g.IpPermissions[0]
		switch aws.ToString(g.GroupId) {
		case aws.ToString(app.GroupId):
			if aws.ToInt32(p.FromPort) != 8080 || aws.ToInt32(p.ToPort) != 8080 || aws.ToString(p.IpProtocol) != "tcp" {
				t.Errorf("app ingress %+v", p)
			}
			if len(p.UserIdGroupPairs) != 0 {
				t.Errorf("kumo keeps a rule's referenced groups (%+v): take it off the package doc's known differences", p.UserIdGroupPairs)
			}
		case aws.ToString(lb.GroupId):
			if aws.ToInt32(p.FromPort) != 443 || len(p.IpRanges) != 1 || aws.ToString(p.IpRanges[0].CidrIp) != "0.0.0.0/0" {
				t.Errorf("lb ingress %+v", p)
			}
		}
	}
}
