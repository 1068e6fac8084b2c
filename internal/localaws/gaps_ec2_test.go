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
	igw, err := c.CreateInternetGateway(ctx, &ec2.CreateInternetGatewayInput{})
	if err != nil {
		t.Fatal(err)
	}
	igws, err := c.DescribeInternetGateways(ctx, &ec2.DescribeInternetGatewaysInput{Filters: []ec2types.Filter{filter("attachment.vpc-id", "vpc-none")}})
	if err != nil || !slices.ContainsFunc(igws.InternetGateways, func(g ec2types.InternetGateway) bool {
		return aws.ToString(g.InternetGatewayId) == aws.ToString(igw.InternetGateway.InternetGatewayId)
	}) {
		t.Errorf("kumo filters DescribeInternetGateways (%v, %v): the layer need not", igws, err)
	}
	rt, err := c.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{VpcId: made.Vpc.VpcId})
	if err != nil {
		t.Fatal(err)
	}
	tables, err := c.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: []ec2types.Filter{filter("vpc-id", "vpc-none")}})
	if err != nil || !slices.ContainsFunc(tables.RouteTables, func(r ec2types.RouteTable) bool {
		return aws.ToString(r.RouteTableId) == aws.ToString(rt.RouteTable.RouteTableId)
	}) {
		t.Errorf("kumo filters DescribeRouteTables (%v, %v): the layer need not", tables, err)
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
	inOther, err := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{filter("vpc-id", aws.ToString(other.Vpc.VpcId)), filter("description", "d")}})
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
// (UserIdGroupPairs dropped). The test fails once kumo keeps the group: then the layer's
// handling of group rules (gaps_ec2_rules.go) goes.
func TestKumoEC2DropsSecurityGroupReferences(t *testing.T) {
	c := gapEC2Client(t, gapEmulator(t).srv.URL)
	ctx := t.Context()
	vpc, err := c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.7.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	lb, app := makeGroupPair(t, c, aws.ToString(vpc.Vpc.VpcId))
	if _, err := c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(app), IpPermissions: []ec2types.IpPermission{{
		IpProtocol: aws.String("tcp"), FromPort: aws.Int32(8080), ToPort: aws.Int32(8080), UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String(lb)}},
	}}}); err != nil {
		t.Fatal(err)
	}
	out, err := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{app}})
	if err != nil || len(out.SecurityGroups) != 1 || len(out.SecurityGroups[0].IpPermissions) != 1 {
		t.Fatalf("DescribeSecurityGroups: %v, %v", out, err)
	}
	p := out.SecurityGroups[0].IpPermissions[0]
	if aws.ToInt32(p.FromPort) != 8080 || aws.ToString(p.IpProtocol) != "tcp" {
		t.Errorf("app ingress %+v", p)
	}
	if len(p.UserIdGroupPairs) != 0 {
		t.Errorf("kumo keeps a rule's referenced groups (%+v): drop the layer's group rules", p.UserIdGroupPairs)
	}
	if e := describeGroup(t, c, lb).IpPermissionsEgress; len(e) != 0 {
		t.Errorf("kumo gives a new group egress rules (%+v): the layer need not", e)
	}
}

// A new security group allows all traffic out, as in EC2, until the rule is revoked.
func TestGapEC2SecurityGroupDefaultEgress(t *testing.T) {
	c := gapEC2Client(t, gapEmulator(t).URL)
	ctx := t.Context()
	vpc, err := c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.1.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	g, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(uniqueName("gap-egress")), Description: aws.String("d"), VpcId: vpc.Vpc.VpcId})
	if err != nil {
		t.Fatal(err)
	}
	e := describeGroup(t, c, aws.ToString(g.GroupId)).IpPermissionsEgress
	if len(e) != 1 || aws.ToString(e[0].IpProtocol) != "-1" || len(e[0].IpRanges) != 1 || aws.ToString(e[0].IpRanges[0].CidrIp) != "0.0.0.0/0" {
		t.Fatalf("new group's egress: %+v", e)
	}
	if _, err := c.RevokeSecurityGroupEgress(ctx, &ec2.RevokeSecurityGroupEgressInput{GroupId: g.GroupId, IpPermissions: []ec2types.IpPermission{
		{IpProtocol: aws.String("-1"), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}},
	}}); err != nil {
		t.Fatal(err)
	}
	if e := describeGroup(t, c, aws.ToString(g.GroupId)).IpPermissionsEgress; len(e) != 0 {
		t.Errorf("egress after revoking the default rule: %+v", e)
	}
}

func makeGroupPair(t *testing.T, c *ec2.Client, vpc string) (lb, app string) {
	t.Helper()
	var ids []string
	for _, name := range []string{"gap-lb", "gap-app"} {
		g, err := c.CreateSecurityGroup(t.Context(), &ec2.CreateSecurityGroupInput{GroupName: aws.String(uniqueName(name)), Description: aws.String(name), VpcId: aws.String(vpc)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, aws.ToString(g.GroupId))
	}
	return ids[0], ids[1]
}

func describeGroup(t *testing.T, c *ec2.Client, id string) ec2types.SecurityGroup {
	t.Helper()
	out, err := c.DescribeSecurityGroups(t.Context(), &ec2.DescribeSecurityGroupsInput{GroupIds: []string{id}})
	if err != nil || len(out.SecurityGroups) != 1 {
		t.Fatalf("DescribeSecurityGroups %s: %v, %v", id, out, err)
	}
	return out.SecurityGroups[0]
}

// Rules naming groups read back through the layer, next to CIDR rules, are revoked, refused
// when they name a missing group or exist already, keep a referenced group from being deleted,
// and go with their group.
func TestGapEC2SecurityGroupRulesReadBack(t *testing.T) {
	srv := gapEmulator(t)
	c := gapEC2Client(t, srv.URL)
	ctx := t.Context()
	vpc, err := c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.7.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	lb, app := makeGroupPair(t, c, aws.ToString(vpc.Vpc.VpcId))
	// One permission with a group and a CIDR, one with a group only, one egress to a group.
	if _, err := c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(app), IpPermissions: []ec2types.IpPermission{
		{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(8080), ToPort: aws.Int32(8080), UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String(lb), Description: aws.String("from lb")}}},
		{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("10.0.0.0/8")}}, UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String(lb)}}},
	}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AuthorizeSecurityGroupEgress(ctx, &ec2.AuthorizeSecurityGroupEgressInput{GroupId: aws.String(lb), IpPermissions: []ec2types.IpPermission{
		{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(8080), ToPort: aws.Int32(8080), UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String(app)}}},
	}}); err != nil {
		t.Fatal(err)
	}
	type rule struct {
		Proto    string
		From, To int32
		Groups   []string
		CIDRs    []string
	}
	rules := func(perms []ec2types.IpPermission) []rule {
		var out []rule
		for _, p := range perms {
			r := rule{Proto: aws.ToString(p.IpProtocol), From: aws.ToInt32(p.FromPort), To: aws.ToInt32(p.ToPort)}
			for _, g := range p.UserIdGroupPairs {
				r.Groups = append(r.Groups, aws.ToString(g.GroupId)+"/"+aws.ToString(g.UserId)+"/"+aws.ToString(g.Description))
			}
			for _, ip := range p.IpRanges {
				r.CIDRs = append(r.CIDRs, aws.ToString(ip.CidrIp))
			}
			out = append(out, r)
		}
		slices.SortFunc(out, func(a, b rule) int { return int(a.From - b.From) })
		return out
	}
	want := []rule{
		{Proto: "tcp", From: 22, To: 22, Groups: []string{lb + "/" + stsAccount + "/"}, CIDRs: []string{"10.0.0.0/8"}},
		{Proto: "tcp", From: 8080, To: 8080, Groups: []string{lb + "/" + stsAccount + "/from lb"}},
	}
	if d := cmp.Diff(want, rules(describeGroup(t, c, app).IpPermissions)); d != "" {
		t.Errorf("app ingress (-want +got):\n%s", d)
	}
	egress := rules(describeGroup(t, c, lb).IpPermissionsEgress)
	if !slices.ContainsFunc(egress, func(r rule) bool {
		return r.From == 8080 && slices.Equal(r.Groups, []string{app + "/" + stsAccount + "/"})
	}) {
		t.Errorf("lb egress %+v", egress)
	}
	// Filters still apply, and keep the rules.
	byVPC, err := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{filter("group-id", app)}})
	if err != nil || len(byVPC.SecurityGroups) != 1 || len(byVPC.SecurityGroups[0].IpPermissions) != 2 {
		t.Errorf("filtered: %v, %v", byVPC, err)
	}

	// Refused: a missing group, a rule the group has.
	_, err = c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(app), IpPermissions: []ec2types.IpPermission{
		{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(9), ToPort: aws.Int32(9), UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String("sg-nosuch")}}},
	}})
	if errorCode(err) != "InvalidGroup.NotFound" {
		t.Errorf("rule naming a missing group: %v", err)
	}
	_, err = c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(app), IpPermissions: []ec2types.IpPermission{
		{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(8080), ToPort: aws.Int32(8080), UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String(lb)}}},
	}})
	if errorCode(err) != "InvalidPermission.Duplicate" {
		t.Errorf("a rule twice: %v", err)
	}
	// A group another group's rule names is not deleted.
	if _, err := c.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(lb)}); errorCode(err) != "DependencyViolation" {
		t.Errorf("DeleteSecurityGroup of a referenced group: %v", err)
	}

	// Survives a restart of the layer: the rules are in the gap file.
	dir := t.TempDir()
	if err := saveGapFile(dir, ec2GapsFile, ec2Gaps); err != nil {
		t.Fatal(err)
	}
	if restarted := newEC2GapState(dir); len(restarted.Rules[app]) != 2 || len(restarted.Rules[lb]) != 1 {
		t.Errorf("rules after a restart: %+v", restarted.Rules)
	}
	g, err := startGaps(srv.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer g.close()
	if d := cmp.Diff(want, rules(describeGroup(t, gapEC2Client(t, g.URL), app).IpPermissions)); d != "" {
		t.Errorf("app ingress through a second layer (-want +got):\n%s", d)
	}

	// Revoked: the group-only rule goes, the CIDR of the mixed one stays with kumo.
	if _, err := c.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(app), IpPermissions: []ec2types.IpPermission{
		{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(8080), ToPort: aws.Int32(8080), UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String(lb)}}},
		{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22), UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String(lb)}}},
	}}); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]rule{{Proto: "tcp", From: 22, To: 22, CIDRs: []string{"10.0.0.0/8"}}}, rules(describeGroup(t, c, app).IpPermissions)); d != "" {
		t.Errorf("app ingress after revoking (-want +got):\n%s", d)
	}
	if _, err := c.RevokeSecurityGroupEgress(ctx, &ec2.RevokeSecurityGroupEgressInput{GroupId: aws.String(lb), IpPermissions: []ec2types.IpPermission{
		{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(8080), ToPort: aws.Int32(8080), UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String(app)}}},
	}}); err != nil {
		t.Fatal(err)
	}
	if egress := rules(describeGroup(t, c, lb).IpPermissionsEgress); slices.ContainsFunc(egress, func(r rule) bool { return len(r.Groups) > 0 }) {
		t.Errorf("lb egress after revoking %+v", egress)
	}

	// Deleted with its rules: a group rule and its group go together.
	if _, err := c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(app), IpPermissions: []ec2types.IpPermission{
		{IpProtocol: aws.String("-1"), UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String(lb)}}},
	}}); err != nil {
		t.Fatal(err)
	}
	if all := rules(describeGroup(t, c, app).IpPermissions); !slices.ContainsFunc(all, func(r rule) bool { return r.Proto == "-1" && len(r.Groups) == 1 }) {
		t.Errorf("all-traffic rule from lb: %+v", all)
	}
	if _, err := c.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(app)}); err != nil {
		t.Fatal(err)
	}
	if _, ok := ec2Gaps.allRefs()[app]; ok {
		t.Error("a deleted group's rules are kept")
	}
	if _, err := c.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(lb)}); err != nil {
		t.Errorf("DeleteSecurityGroup once nothing names it: %v", err)
	}
	if _, err := c.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(lb)}); errorCode(err) != "InvalidGroup.NotFound" {
		t.Errorf("DeleteSecurityGroup of a deleted group: %v", err)
	}
}

// DescribeInternetGateways' filters (kumo ignores them, pinned by
// TestKumoEC2NoDefaultVPCAndNoVPCFilters's internet gateway check).
func TestGapEC2InternetGatewayFilters(t *testing.T) {
	c := gapEC2Client(t, gapEmulator(t).URL)
	ctx := t.Context()
	vpc, err := c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.3.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	name := uniqueName("igw")
	igw, err := c.CreateInternetGateway(ctx, &ec2.CreateInternetGatewayInput{TagSpecifications: []ec2types.TagSpecification{{
		ResourceType: ec2types.ResourceTypeInternetGateway, Tags: []ec2types.Tag{{Key: aws.String("Name"), Value: aws.String(name)}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(igw.InternetGateway.InternetGatewayId)
	if _, err := c.AttachInternetGateway(ctx, &ec2.AttachInternetGatewayInput{InternetGatewayId: aws.String(id), VpcId: vpc.Vpc.VpcId}); err != nil {
		t.Fatal(err)
	}
	for _, f := range [][]ec2types.Filter{
		{filter("attachment.vpc-id", aws.ToString(vpc.Vpc.VpcId))},
		{filter("tag:Name", name)},
		{filter("tag-key", "Name"), filter("internet-gateway-id", id)},
	} {
		got, err := c.DescribeInternetGateways(ctx, &ec2.DescribeInternetGatewaysInput{Filters: f})
		if err != nil || len(got.InternetGateways) != 1 || aws.ToString(got.InternetGateways[0].InternetGatewayId) != id || len(got.InternetGateways[0].Tags) != 1 {
			t.Errorf("internet gateways by %v: %+v, %v", f, got, err)
		}
	}
	none, err := c.DescribeInternetGateways(ctx, &ec2.DescribeInternetGatewaysInput{Filters: []ec2types.Filter{filter("attachment.vpc-id", "vpc-none")}})
	if err != nil || len(none.InternetGateways) != 0 {
		t.Errorf("internet gateways of no VPC: %+v, %v", none, err)
	}
	if _, err := c.DescribeInternetGateways(ctx, &ec2.DescribeInternetGatewaysInput{Filters: []ec2types.Filter{filter("no-such-filter", "x")}}); err == nil {
		t.Error("DescribeInternetGateways with an unknown filter succeeds")
	}
}
