package aws

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/panka/panka/provider"
)

// The network kinds (schema/kind_infra.go): VPC, Subnet, InternetGateway, NATGateway and
// RouteTable here, SecurityGroup in securitygroup.go. EC2 names none of them: each is created
// with the tag Name = the component's name (with its other tags, in the create call's
// TagSpecifications, so no moment exists when it is untagged), found again by a tag:Name filter,
// and identified by its EC2 ID. The Name tag is not one of the engine's tags: Read leaves it out
// of Observed.Tags and Update never removes it.
//
// EC2 keeps tags unique by nothing, so two resources may carry one name (a create raced by
// another process, one made by hand). The kinds report every resource of a name (taggedNames):
// Create refuses a name any of them carries, and Find adopts the one whose ownership tags match
// the caller's best (a create-before-destroy replacement has a name and panka:generation tag of
// its own, so the old generation and the new never share a name). The kinds are not UniqueName:
// the engine replaces them create-before-destroy.
//
//	VPC              CreateVpc(cidr), then DNS support and DNS hostnames on (ModifyVpcAttribute,
//	                 one call each, read back with DescribeVpcAttribute). A crash between leaves a
//	                 VPC with DNS off, which the spec cannot show: Update turns both on again
//	                 whenever they are off (the engine's Create retry adopts the VPC and updates it).
//	Subnet           CreateSubnet(vpcId, cidr, the zone-th available AZ sorted by name); public is
//	                 MapPublicIpOnLaunch (ModifySubnetAttribute; in place). A subnet in an AZ that
//	                 is no longer in the list reads back as zone -1.
//	InternetGateway  CreateInternetGateway, then AttachInternetGateway(vpcId); Read reports the
//	                 attached VPC (none: vpcId nil, drift), Update attaches a detached one, Delete
//	                 detaches and deletes.
//	NATGateway       an Elastic IP (a part, AWS::EC2::EIP, tagged like the gateway and found again
//	                 by its Name tag: a create killed after allocating it reuses it), then
//	                 CreateNatGateway(subnetId, the address); waits until available. Read reports a
//	                 deleting, deleted or failed gateway as not found.
//	RouteTable       CreateRouteTable(vpcId), routes and subnet associations (parts,
//	                 AWS::EC2::SubnetRouteTableAssociation); see routeTableKind.
//
// Delete waits out DependencyViolation (a VPC, subnet or security group whose network
// interfaces AWS releases late, a gateway still detaching) for up to dependencyWait, reporting
// progress, then fails with ErrTransient for the engine to retry.
//
// Outputs are the schema's (VPC vpcId, cidr; Subnet subnetId, availabilityZone;
// InternetGateway internetGatewayId; NATGateway natGatewayId, publicIp; RouteTable
// routeTableId; SecurityGroup groupId) and arn, arn:PARTITION:ec2:REGION:ACCOUNT:TYPE/ID.

// dependencyWait bounds how long Delete waits for a resource's dependencies to go.
var dependencyWait = 5 * time.Minute

// tagName is the EC2 tag the network kinds carry their name in.
const tagName = "Name"

// ec2Base is what the network kinds share: the provider and its EC2 client.
type ec2Base struct {
	p *Provider
	c *ec2.Client
}

func newEC2Base(p *Provider) ec2Base { return ec2Base{p: p, c: p.ec2Client()} }

// ec2Client returns the provider's EC2 client, made once (New builds the network kinds with it).
func (p *Provider) ec2Client() *ec2.Client {
	p.ec2Once.Do(func() { p.ec2 = ec2.NewFromConfig(p.cfg) })
	return p.ec2
}

// taggedNames is implemented by kinds whose name is a tag AWS does not keep unique: named
// returns every resource carrying the name, sorted by ID (Find picks among them).
type taggedNames interface {
	named(ctx context.Context, name string) ([]string, error)
}

// firstNamed is lookup for a taggedNames kind: the first resource of the name.
func firstNamed(ctx context.Context, k taggedNames, what, name string) (string, error) {
	ids, err := k.named(ctx, name)
	if err != nil {
		return "", err
	}
	if len(ids) == 0 {
		return "", fmt.Errorf("%w: no %s tagged Name=%s", provider.ErrNotFound, what, name)
	}
	return ids[0], nil
}

// pager is an EC2 paginator of outputs T.
type pager[T any] interface {
	HasMorePages() bool
	NextPage(ctx context.Context, optFns ...func(*ec2.Options)) (T, error)
}

// pagedIDs returns the IDs ids finds in every page of pages, sorted.
func pagedIDs[T any](ctx context.Context, pages pager[T], ids func(T) []string) ([]string, error) {
	var out []string
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, ids(page)...)
	}
	slices.Sort(out)
	return out, nil
}

// nameFilter filters a Describe call for the resources tagged Name=name.
func nameFilter(name string, more ...ec2types.Filter) []ec2types.Filter {
	return append([]ec2types.Filter{{Name: aws.String("tag:" + tagName), Values: []string{name}}}, more...)
}

// tagSpecs tags a resource of type rt at create: Name=name and tags.
func tagSpecs(rt ec2types.ResourceType, name string, tags map[string]string) []ec2types.TagSpecification {
	ts := []ec2types.Tag{{Key: aws.String(tagName), Value: aws.String(name)}}
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		if k != tagName {
			ts = append(ts, ec2types.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
		}
	}
	return []ec2types.TagSpecification{{ResourceType: rt, Tags: ts}}
}

// ec2Tags returns a resource's tags as the engine sees them: without Name and aws:*.
func ec2Tags(tags []ec2types.Tag) map[string]string {
	out := map[string]string{}
	for _, t := range tags {
		if k := aws.ToString(t.Key); k != tagName && !cloudTag(k) {
			out[k] = aws.ToString(t.Value)
		}
	}
	return out
}

// nameOf returns a resource's Name tag.
func nameOf(tags []ec2types.Tag) string {
	for _, t := range tags {
		if aws.ToString(t.Key) == tagName {
			return aws.ToString(t.Value)
		}
	}
	return ""
}

// tag is every network kind's: it sets and removes tags of the live resource.
func (b ec2Base) tag(ctx context.Context, l *live, set map[string]string, remove []string) error {
	return b.retag(ctx, l.obs.ID, set, remove)
}

// retag sets and removes tags of the EC2 resource id (never its Name).
func (b ec2Base) retag(ctx context.Context, id string, set map[string]string, remove []string) error {
	if len(set) > 0 {
		var ts []ec2types.Tag
		for _, k := range slices.Sorted(maps.Keys(set)) {
			ts = append(ts, ec2types.Tag{Key: aws.String(k), Value: aws.String(set[k])})
		}
		if _, err := b.c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{id}, Tags: ts}); err != nil {
			return fmt.Errorf("tag %s: %w", id, err)
		}
	}
	remove = slices.DeleteFunc(slices.Clone(remove), func(k string) bool { return k == tagName })
	if len(remove) > 0 {
		var ts []ec2types.Tag
		for _, k := range remove {
			ts = append(ts, ec2types.Tag{Key: aws.String(k)})
		}
		if _, err := b.c.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{id}, Tags: ts}); err != nil {
			return fmt.Errorf("untag %s: %w", id, err)
		}
	}
	return nil
}

// arn returns the ARN of the EC2 resource typ/id in the provider's target.
func (b ec2Base) arn(ctx context.Context, typ, id string) (string, error) {
	account, err := b.p.accountID(ctx)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("arn:%s:ec2:%s:%s:%s/%s", b.p.partition(), b.p.cfg.Region, account, typ, id), nil
}

// observed builds what Read reports of an EC2 resource.
func (b ec2Base) observed(ctx context.Context, typ, id string, tags []ec2types.Tag, spec map[string]any, outputs map[string]string) (*provider.Observed, error) {
	arn, err := b.arn(ctx, typ, id)
	if err != nil {
		return nil, err
	}
	outputs["arn"] = arn
	return &provider.Observed{ID: id, Name: nameOf(tags), ARN: arn, Spec: spec, Outputs: outputs, Tags: ec2Tags(tags)}, nil
}

// apiCode returns the AWS error code of err, "" if it has none.
func apiCode(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return ""
}

// waitDependencies calls del until it succeeds (or finds nothing to delete), while it fails
// with one of the codes that say something still depends on the resource (DependencyViolation
// unless others are given), for up to dependencyWait under ctx, reporting progress. Past the
// bound the error wraps provider.ErrTransient: the engine retries later.
func waitDependencies(ctx context.Context, what string, del func(ctx context.Context) error, codes ...string) error {
	if len(codes) == 0 {
		codes = []string{"DependencyViolation"}
	}
	deadline := time.Now().Add(dependencyWait)
	return waitFor(ctx, func(ctx context.Context) (bool, error) {
		err := del(ctx)
		switch {
		case err == nil || isNotFound(err):
			return true, nil
		case !slices.Contains(codes, apiCode(err)):
			return false, err
		case time.Now().After(deadline):
			return false, fmt.Errorf("%w: %s still has dependencies after %v: %w", provider.ErrTransient, what, dependencyWait, err)
		}
		provider.ReportProgress(ctx, fmt.Sprintf("waiting for what depends on %s to go (%s)", what, apiCode(err)))
		return false, nil
	})
}

// ---------------------------------------------------------------------------------------------
// VPC

type vpcKind struct{ ec2Base }

func newVPC(p *Provider) kind { return &vpcKind{newEC2Base(p)} }

func (k *vpcKind) lookup(ctx context.Context, name string) (string, error) {
	return firstNamed(ctx, k, "VPC", name)
}

func (k *vpcKind) named(ctx context.Context, name string) ([]string, error) {
	return pagedIDs(ctx, ec2.NewDescribeVpcsPaginator(k.c, &ec2.DescribeVpcsInput{Filters: nameFilter(name)}),
		func(out *ec2.DescribeVpcsOutput) (ids []string) {
			for _, x := range out.Vpcs {
				ids = append(ids, aws.ToString(x.VpcId))
			}
			return ids
		})
}

func (k *vpcKind) create(ctx context.Context, r provider.Resource) (string, error) {
	out, err := k.c.CreateVpc(ctx, &ec2.CreateVpcInput{
		CidrBlock:         aws.String(specString(r.Spec, "cidr")),
		TagSpecifications: tagSpecs(ec2types.ResourceTypeVpc, r.Name, r.Tags),
	})
	if err != nil {
		return "", err
	}
	id := aws.ToString(out.Vpc.VpcId)
	return id, k.ensureDNS(ctx, id)
}

// ensureDNS turns DNS support and DNS hostnames on where they are off, and reads them back.
func (k *vpcKind) ensureDNS(ctx context.Context, id string) error {
	for _, attr := range []ec2types.VpcAttributeName{ec2types.VpcAttributeNameEnableDnsSupport, ec2types.VpcAttributeNameEnableDnsHostnames} {
		on, err := k.dnsAttr(ctx, id, attr)
		if err != nil || on {
			if err != nil {
				return err
			}
			continue
		}
		in := &ec2.ModifyVpcAttributeInput{VpcId: aws.String(id)}
		if attr == ec2types.VpcAttributeNameEnableDnsSupport {
			in.EnableDnsSupport = &ec2types.AttributeBooleanValue{Value: aws.Bool(true)}
		} else {
			in.EnableDnsHostnames = &ec2types.AttributeBooleanValue{Value: aws.Bool(true)}
		}
		if _, err := k.c.ModifyVpcAttribute(ctx, in); err != nil {
			return fmt.Errorf("turn %s on: %w", attr, err)
		}
		if on, err := k.dnsAttr(ctx, id, attr); err != nil || !on {
			return cmpErr(err, fmt.Errorf("%s of VPC %s reads off after turning it on", attr, id))
		}
	}
	return nil
}

// cmpErr returns err, or else alt.
func cmpErr(err, alt error) error {
	if err != nil {
		return err
	}
	return alt
}

func (k *vpcKind) dnsAttr(ctx context.Context, id string, attr ec2types.VpcAttributeName) (bool, error) {
	out, err := k.c.DescribeVpcAttribute(ctx, &ec2.DescribeVpcAttributeInput{VpcId: aws.String(id), Attribute: attr})
	if err != nil {
		return false, fmt.Errorf("read %s: %w", attr, err)
	}
	v := out.EnableDnsSupport
	if attr == ec2types.VpcAttributeNameEnableDnsHostnames {
		v = out.EnableDnsHostnames
	}
	return v != nil && aws.ToBool(v.Value), nil
}

func (k *vpcKind) read(ctx context.Context, id string) (*live, error) {
	out, err := k.c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{id}})
	if err != nil {
		return nil, err
	}
	if len(out.Vpcs) != 1 {
		return nil, fmt.Errorf("%w: VPC %s", provider.ErrNotFound, id)
	}
	v := out.Vpcs[0]
	cidr := aws.ToString(v.CidrBlock)
	obs, err := k.observed(ctx, "vpc", id, v.Tags, map[string]any{"cidr": cidr}, map[string]string{"vpcId": id, "cidr": cidr})
	if err != nil {
		return nil, err
	}
	return &live{obs: obs, raw: v}, nil
}

func (k *vpcKind) update(ctx context.Context, l *live, r provider.Resource) error {
	if want := specString(r.Spec, "cidr"); want != l.obs.Spec["cidr"] {
		return fmt.Errorf("cidr %s cannot change in place (it is %s): replace the VPC", want, l.obs.Spec["cidr"])
	}
	return k.ensureDNS(ctx, l.obs.ID)
}

func (k *vpcKind) delete(ctx context.Context, l *live) error {
	return waitDependencies(ctx, "VPC "+l.obs.ID, func(ctx context.Context) error {
		_, err := k.c.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: aws.String(l.obs.ID)})
		return err
	})
}

// ---------------------------------------------------------------------------------------------
// Subnet

type subnetKind struct {
	ec2Base
	zonesMu sync.Mutex
	zones   []string // the region's available AZs sorted by name, once read
}

func newSubnet(p *Provider) kind { return &subnetKind{ec2Base: newEC2Base(p)} }

// availabilityZones returns the region's available zones sorted by name (read once: the list
// is the region's and changes only when AWS adds a zone, at its end).
func (k *subnetKind) availabilityZones(ctx context.Context) ([]string, error) {
	k.zonesMu.Lock()
	defer k.zonesMu.Unlock()
	if k.zones != nil {
		return k.zones, nil
	}
	out, err := k.c.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{
		Filters: []ec2types.Filter{{Name: aws.String("state"), Values: []string{"available"}}}})
	if err != nil {
		return nil, fmt.Errorf("availability zones: %w", err)
	}
	var zones []string
	for _, z := range out.AvailabilityZones {
		zones = append(zones, aws.ToString(z.ZoneName))
	}
	slices.Sort(zones)
	k.zones = zones
	return zones, nil
}

func (k *subnetKind) lookup(ctx context.Context, name string) (string, error) {
	return firstNamed(ctx, k, "subnet", name)
}

func (k *subnetKind) named(ctx context.Context, name string) ([]string, error) {
	return pagedIDs(ctx, ec2.NewDescribeSubnetsPaginator(k.c, &ec2.DescribeSubnetsInput{Filters: nameFilter(name)}),
		func(out *ec2.DescribeSubnetsOutput) (ids []string) {
			for _, x := range out.Subnets {
				ids = append(ids, aws.ToString(x.SubnetId))
			}
			return ids
		})
}

func (k *subnetKind) create(ctx context.Context, r provider.Resource) (string, error) {
	zones, err := k.availabilityZones(ctx)
	if err != nil {
		return "", err
	}
	zone := specInt(r.Spec, "zone", 0)
	if zone < 0 || zone >= int64(len(zones)) {
		return "", fmt.Errorf("zone %d: region %s has %d available zones (%v)", zone, k.p.cfg.Region, len(zones), zones)
	}
	out, err := k.c.CreateSubnet(ctx, &ec2.CreateSubnetInput{
		VpcId: aws.String(specString(r.Spec, "vpcId")), CidrBlock: aws.String(specString(r.Spec, "cidr")),
		AvailabilityZone:  aws.String(zones[zone]),
		TagSpecifications: tagSpecs(ec2types.ResourceTypeSubnet, r.Name, r.Tags),
	})
	if err != nil {
		return "", err
	}
	id := aws.ToString(out.Subnet.SubnetId)
	if specBool(r.Spec, "public") {
		return id, k.setPublic(ctx, id, true)
	}
	return id, nil
}

func (k *subnetKind) setPublic(ctx context.Context, id string, public bool) error {
	_, err := k.c.ModifySubnetAttribute(ctx, &ec2.ModifySubnetAttributeInput{SubnetId: aws.String(id),
		MapPublicIpOnLaunch: &ec2types.AttributeBooleanValue{Value: aws.Bool(public)}})
	if err != nil {
		return fmt.Errorf("set MapPublicIpOnLaunch %v: %w", public, err)
	}
	return nil
}

func (k *subnetKind) read(ctx context.Context, id string) (*live, error) {
	out, err := k.c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: []string{id}})
	if err != nil {
		return nil, err
	}
	if len(out.Subnets) != 1 {
		return nil, fmt.Errorf("%w: subnet %s", provider.ErrNotFound, id)
	}
	s := out.Subnets[0]
	zones, err := k.availabilityZones(ctx)
	if err != nil {
		return nil, err
	}
	az := aws.ToString(s.AvailabilityZone)
	spec := map[string]any{
		"vpcId": aws.ToString(s.VpcId), "cidr": aws.ToString(s.CidrBlock),
		"zone": int64(slices.Index(zones, az)), "public": aws.ToBool(s.MapPublicIpOnLaunch),
	}
	obs, err := k.observed(ctx, "subnet", id, s.Tags, spec, map[string]string{"subnetId": id, "availabilityZone": az})
	if err != nil {
		return nil, err
	}
	return &live{obs: obs, raw: s}, nil
}

func (k *subnetKind) update(ctx context.Context, l *live, r provider.Resource) error {
	for _, f := range []string{"vpcId", "cidr"} {
		if want := specString(r.Spec, f); want != l.obs.Spec[f] {
			return fmt.Errorf("%s %s cannot change in place (it is %v): replace the subnet", f, want, l.obs.Spec[f])
		}
	}
	if want := specInt(r.Spec, "zone", 0); want != l.obs.Spec["zone"] {
		return fmt.Errorf("zone %d cannot change in place (it is %v): replace the subnet", want, l.obs.Spec["zone"])
	}
	if want := specBool(r.Spec, "public"); want != l.obs.Spec["public"] {
		return k.setPublic(ctx, l.obs.ID, want)
	}
	return nil
}

func (k *subnetKind) delete(ctx context.Context, l *live) error {
	return waitDependencies(ctx, "subnet "+l.obs.ID, func(ctx context.Context) error {
		_, err := k.c.DeleteSubnet(ctx, &ec2.DeleteSubnetInput{SubnetId: aws.String(l.obs.ID)})
		return err
	})
}

// ---------------------------------------------------------------------------------------------
// InternetGateway

type igwKind struct{ ec2Base }

func newInternetGateway(p *Provider) kind { return &igwKind{newEC2Base(p)} }

func (k *igwKind) lookup(ctx context.Context, name string) (string, error) {
	return firstNamed(ctx, k, "internet gateway", name)
}

func (k *igwKind) named(ctx context.Context, name string) ([]string, error) {
	return pagedIDs(ctx, ec2.NewDescribeInternetGatewaysPaginator(k.c, &ec2.DescribeInternetGatewaysInput{Filters: nameFilter(name)}),
		func(out *ec2.DescribeInternetGatewaysOutput) (ids []string) {
			for _, x := range out.InternetGateways {
				ids = append(ids, aws.ToString(x.InternetGatewayId))
			}
			return ids
		})
}

// create makes the gateway and attaches it. A crash between leaves it detached: Read reports
// vpcId nil, and Update (the engine's adoption) attaches it.
func (k *igwKind) create(ctx context.Context, r provider.Resource) (string, error) {
	out, err := k.c.CreateInternetGateway(ctx, &ec2.CreateInternetGatewayInput{
		TagSpecifications: tagSpecs(ec2types.ResourceTypeInternetGateway, r.Name, r.Tags)})
	if err != nil {
		return "", err
	}
	id := aws.ToString(out.InternetGateway.InternetGatewayId)
	return id, k.attach(ctx, id, specString(r.Spec, "vpcId"))
}

func (k *igwKind) attach(ctx context.Context, id, vpc string) error {
	_, err := k.c.AttachInternetGateway(ctx, &ec2.AttachInternetGatewayInput{InternetGatewayId: aws.String(id), VpcId: aws.String(vpc)})
	if err != nil {
		return fmt.Errorf("attach to %s: %w", vpc, hideNotFound(err))
	}
	return nil
}

// hideNotFound keeps err's text but not its code: a reference (a VPC, a subnet, a gateway, a
// group) that is not found must not read as the resource itself being gone.
func hideNotFound(err error) error {
	if err == nil || !isNotFound(err) {
		return err
	}
	return errors.New(err.Error())
}

func (k *igwKind) read(ctx context.Context, id string) (*live, error) {
	out, err := k.c.DescribeInternetGateways(ctx, &ec2.DescribeInternetGatewaysInput{InternetGatewayIds: []string{id}})
	if err != nil {
		return nil, err
	}
	if len(out.InternetGateways) != 1 {
		return nil, fmt.Errorf("%w: internet gateway %s", provider.ErrNotFound, id)
	}
	g := out.InternetGateways[0]
	spec := map[string]any{"vpcId": nil}
	for _, a := range g.Attachments {
		if a.State != ec2types.AttachmentStatusDetached && a.State != ec2types.AttachmentStatusDetaching {
			spec["vpcId"] = aws.ToString(a.VpcId)
		}
	}
	obs, err := k.observed(ctx, "internet-gateway", id, g.Tags, spec, map[string]string{"internetGatewayId": id})
	if err != nil {
		return nil, err
	}
	return &live{obs: obs, raw: g}, nil
}

func (k *igwKind) update(ctx context.Context, l *live, r provider.Resource) error {
	want := specString(r.Spec, "vpcId")
	switch have, _ := l.obs.Spec["vpcId"].(string); {
	case have == want:
		return nil
	case have == "":
		return k.attach(ctx, l.obs.ID, want)
	default:
		return fmt.Errorf("vpcId %s cannot change in place (attached to %s): replace the gateway", want, have)
	}
}

func (k *igwKind) delete(ctx context.Context, l *live) error {
	what := "internet gateway " + l.obs.ID
	if vpc, _ := l.obs.Spec["vpcId"].(string); vpc != "" {
		// A VPC's public addresses (a NAT gateway's) must go first: DependencyViolation.
		err := waitDependencies(ctx, what, func(ctx context.Context) error {
			_, err := k.c.DetachInternetGateway(ctx, &ec2.DetachInternetGatewayInput{InternetGatewayId: aws.String(l.obs.ID), VpcId: aws.String(vpc)})
			if apiCode(err) == "Gateway.NotAttached" {
				return nil
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("detach from %s: %w", vpc, err)
		}
	}
	return waitDependencies(ctx, what, func(ctx context.Context) error {
		_, err := k.c.DeleteInternetGateway(ctx, &ec2.DeleteInternetGatewayInput{InternetGatewayId: aws.String(l.obs.ID)})
		return err
	})
}

// ---------------------------------------------------------------------------------------------
// NATGateway

// natKind: a public NAT gateway and its Elastic IP. Create allocates the address (or reuses the
// one a killed create left: tagged Name=the gateway's name, not in use), then creates the
// gateway and waits until it is available; a gateway that fails is deleted again (its address is
// kept for the next try) and the error carries AWS's FailureMessage. A crash after the address
// leaves it, found again by name: the next Create reuses it, DeleteParts releases it. Delete
// deletes the gateway, waits until it is deleted, then releases its address.
type natKind struct{ ec2Base }

func newNATGateway(p *Provider) kind { return &natKind{newEC2Base(p)} }

// natGone reports whether a NAT gateway in state s is gone for Panka (AWS lists it for an hour).
func natGone(s ec2types.NatGatewayState) bool {
	return s == ec2types.NatGatewayStateDeleting || s == ec2types.NatGatewayStateDeleted || s == ec2types.NatGatewayStateFailed
}

func (k *natKind) lookup(ctx context.Context, name string) (string, error) {
	return firstNamed(ctx, k, "NAT gateway", name)
}

func (k *natKind) named(ctx context.Context, name string) ([]string, error) {
	return pagedIDs(ctx, ec2.NewDescribeNatGatewaysPaginator(k.c, &ec2.DescribeNatGatewaysInput{Filter: nameFilter(name,
		ec2types.Filter{Name: aws.String("state"), Values: []string{"pending", "available"}})}),
		func(out *ec2.DescribeNatGatewaysOutput) (ids []string) {
			for _, x := range out.NatGateways {
				ids = append(ids, aws.ToString(x.NatGatewayId))
			}
			return ids
		})
}

// addressesNamed returns the Elastic IPs tagged Name=name.
func (k *natKind) addressesNamed(ctx context.Context, name string) ([]ec2types.Address, error) {
	out, err := k.c.DescribeAddresses(ctx, &ec2.DescribeAddressesInput{Filters: nameFilter(name)})
	if err != nil {
		return nil, fmt.Errorf("elastic IPs named %s: %w", name, err)
	}
	slices.SortFunc(out.Addresses, func(a, b ec2types.Address) int {
		return strings.Compare(aws.ToString(a.AllocationId), aws.ToString(b.AllocationId))
	})
	return out.Addresses, nil
}

// address returns the allocation ID of the gateway's Elastic IP: a free one tagged with its
// name whose tags do not name another owner, else a new one.
func (k *natKind) address(ctx context.Context, r provider.Resource) (string, error) {
	have, err := k.addressesNamed(ctx, r.Name)
	if err != nil {
		return "", err
	}
	for _, a := range have {
		if a.AssociationId == nil && provider.CheckOwner("NATGateway", aws.ToString(a.AllocationId), ec2Tags(a.Tags), r.Tags) == nil {
			return aws.ToString(a.AllocationId), nil
		}
	}
	out, err := k.c.AllocateAddress(ctx, &ec2.AllocateAddressInput{Domain: ec2types.DomainTypeVpc,
		TagSpecifications: tagSpecs(ec2types.ResourceTypeElasticIp, r.Name, r.Tags)})
	if err != nil {
		return "", fmt.Errorf("allocate elastic IP: %w", err)
	}
	return aws.ToString(out.AllocationId), nil
}

func (k *natKind) create(ctx context.Context, r provider.Resource) (string, error) {
	alloc, err := k.address(ctx, r)
	if err != nil {
		return "", err
	}
	out, err := k.c.CreateNatGateway(ctx, &ec2.CreateNatGatewayInput{
		SubnetId: aws.String(specString(r.Spec, "subnetId")), AllocationId: aws.String(alloc),
		ConnectivityType:  ec2types.ConnectivityTypePublic,
		TagSpecifications: tagSpecs(ec2types.ResourceTypeNatgateway, r.Name, r.Tags),
	})
	if err != nil {
		return "", hideNotFound(err)
	}
	id := aws.ToString(out.NatGateway.NatGatewayId)
	return id, k.waitAvailable(ctx, id)
}

// describe returns the NAT gateway id in whatever state, or a not-found error.
func (k *natKind) describe(ctx context.Context, id string) (ec2types.NatGateway, error) {
	out, err := k.c.DescribeNatGateways(ctx, &ec2.DescribeNatGatewaysInput{NatGatewayIds: []string{id}})
	if err != nil {
		return ec2types.NatGateway{}, err
	}
	if len(out.NatGateways) != 1 {
		return ec2types.NatGateway{}, fmt.Errorf("%w: NAT gateway %s", provider.ErrNotFound, id)
	}
	return out.NatGateways[0], nil
}

// waitAvailable waits until the gateway id is available, reporting progress. One that fails is
// deleted (the error says why it failed); one deleted meanwhile is not found.
func (k *natKind) waitAvailable(ctx context.Context, id string) error {
	return waitFor(ctx, func(ctx context.Context) (bool, error) {
		g, err := k.describe(ctx, id)
		if err != nil {
			return false, err
		}
		switch g.State {
		case ec2types.NatGatewayStateAvailable:
			return true, nil
		case ec2types.NatGatewayStateFailed:
			_, derr := k.c.DeleteNatGateway(ctx, &ec2.DeleteNatGatewayInput{NatGatewayId: aws.String(id)})
			if derr != nil && !isNotFound(derr) {
				return false, fmt.Errorf("NAT gateway %s failed (%s: %s), and deleting it failed: %w", id,
					aws.ToString(g.FailureCode), aws.ToString(g.FailureMessage), derr)
			}
			return false, fmt.Errorf("NAT gateway %s failed: %s: %s", id, aws.ToString(g.FailureCode), aws.ToString(g.FailureMessage))
		case ec2types.NatGatewayStateDeleting, ec2types.NatGatewayStateDeleted:
			return false, fmt.Errorf("%w: NAT gateway %s is %s", provider.ErrNotFound, id, g.State)
		}
		provider.ReportProgress(ctx, fmt.Sprintf("NAT gateway %s is %s", id, g.State))
		return false, nil
	})
}

// natRaw is a NAT gateway as read, with its Elastic IP's allocation ID.
type natRaw struct {
	g     ec2types.NatGateway
	alloc string
}

func (k *natKind) read(ctx context.Context, id string) (*live, error) {
	g, err := k.describe(ctx, id)
	if err != nil {
		return nil, err
	}
	if natGone(g.State) {
		return nil, fmt.Errorf("%w: NAT gateway %s is %s", provider.ErrNotFound, id, g.State)
	}
	var ip, alloc string
	for _, a := range g.NatGatewayAddresses {
		if alloc == "" || aws.ToBool(a.IsPrimary) {
			ip, alloc = aws.ToString(a.PublicIp), aws.ToString(a.AllocationId)
		}
	}
	obs, err := k.observed(ctx, "natgateway", id, g.Tags, map[string]any{"subnetId": aws.ToString(g.SubnetId)},
		map[string]string{"natGatewayId": id, "publicIp": ip})
	if err != nil {
		return nil, err
	}
	if alloc != "" {
		arn, err := k.arn(ctx, "elastic-ip", alloc)
		if err != nil {
			return nil, err
		}
		obs.Parts = []provider.Part{{Type: "AWS::EC2::EIP", ID: alloc, ARN: arn}}
	}
	return &live{obs: obs, raw: natRaw{g: g, alloc: alloc}}, nil
}

// update has nothing to change in place (subnetId is ForceNew); it waits for a pending gateway
// (one a killed create left) to be available.
func (k *natKind) update(ctx context.Context, l *live, r provider.Resource) error {
	if want := specString(r.Spec, "subnetId"); want != l.obs.Spec["subnetId"] {
		return fmt.Errorf("subnetId %s cannot change in place (it is %v): replace the NAT gateway", want, l.obs.Spec["subnetId"])
	}
	if l.raw.(natRaw).g.State != ec2types.NatGatewayStateAvailable {
		return k.waitAvailable(ctx, l.obs.ID)
	}
	return nil
}

func (k *natKind) delete(ctx context.Context, l *live) error {
	id := l.obs.ID
	if _, err := k.c.DeleteNatGateway(ctx, &ec2.DeleteNatGatewayInput{NatGatewayId: aws.String(id)}); err != nil && !isNotFound(err) {
		return err
	}
	err := waitFor(ctx, func(ctx context.Context) (bool, error) {
		g, err := k.describe(ctx, id)
		if isNotFound(err) || err == nil && g.State == ec2types.NatGatewayStateDeleted {
			return true, nil
		}
		if err != nil {
			return false, err
		}
		provider.ReportProgress(ctx, fmt.Sprintf("NAT gateway %s is %s", id, g.State))
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("waiting for NAT gateway %s to be deleted: %w", id, err)
	}
	if alloc := l.raw.(natRaw).alloc; alloc != "" {
		return k.release(ctx, alloc)
	}
	return nil
}

// release releases the Elastic IP alloc, waiting while a deleting NAT gateway still holds it.
func (k *natKind) release(ctx context.Context, alloc string) error {
	err := waitDependencies(ctx, "elastic IP "+alloc, func(ctx context.Context) error {
		_, err := k.c.ReleaseAddress(ctx, &ec2.ReleaseAddressInput{AllocationId: aws.String(alloc)})
		return err
	}, "InvalidIPAddress.InUse", "AuthFailure.AddressInUse", "DependencyViolation")
	if err != nil {
		return fmt.Errorf("release elastic IP %s: %w", alloc, err)
	}
	return nil
}

func (k *natKind) deletePart(ctx context.Context, p provider.Part) (bool, error) {
	if p.Type != "AWS::EC2::EIP" {
		return false, nil
	}
	return true, k.release(ctx, p.ID)
}

// deleteLeftovers releases the Elastic IPs a create of r allocated (tagged Name=r.Name, tags
// not naming another owner, in use by nothing), unless the gateway exists after all.
func (k *natKind) deleteLeftovers(ctx context.Context, r provider.Resource) error {
	switch _, err := k.lookup(ctx, r.Name); {
	case err == nil:
		return nil
	case !isNotFound(err):
		return err
	}
	addrs, err := k.addressesNamed(ctx, r.Name)
	if err != nil {
		return err
	}
	for _, a := range addrs {
		if provider.CheckOwner("NATGateway", aws.ToString(a.AllocationId), ec2Tags(a.Tags), r.Tags) != nil {
			continue
		}
		if err := k.release(ctx, aws.ToString(a.AllocationId)); err != nil {
			return err
		}
	}
	return nil
}

// ---------------------------------------------------------------------------------------------
// RouteTable

// routeTableKind: a route table, its routes and its subnet associations. Read reports routes
// (sorted by destination; the VPC's "local" route never) as {destination, internetGatewayId} or
// {destination, natGatewayId} (a route to anything else as {destination} alone: drift), and the
// explicitly associated subnets, sorted; each association is a part,
// AWS::EC2::SubnetRouteTableAssociation. Create makes the table, then its routes, then its
// associations; Update changes only what differs: CreateRoute, ReplaceRoute (a destination whose
// target changed), DeleteRoute; AssociateRouteTable, DisassociateRouteTable, and for a subnet
// associated with another route table of the same deployment ReplaceRouteTableAssociation (a
// subnet held by a table of anyone else is an error). A crash halfway leaves missing routes or
// associations, which read as drift, and the engine's adoption (Find, Update) adds them. Delete
// removes the associations, then the table; nothing of it outlives the table.
type routeTableKind struct{ ec2Base }

func newRouteTable(p *Provider) kind { return &routeTableKind{newEC2Base(p)} }

func (k *routeTableKind) lookup(ctx context.Context, name string) (string, error) {
	return firstNamed(ctx, k, "route table", name)
}

func (k *routeTableKind) named(ctx context.Context, name string) ([]string, error) {
	return pagedIDs(ctx, ec2.NewDescribeRouteTablesPaginator(k.c, &ec2.DescribeRouteTablesInput{Filters: nameFilter(name)}),
		func(out *ec2.DescribeRouteTablesOutput) (ids []string) {
			for _, x := range out.RouteTables {
				ids = append(ids, aws.ToString(x.RouteTableId))
			}
			return ids
		})
}

// rtRoute is a route's target: exactly one of the two is set in a spec.
type rtRoute struct{ igw, nat string }

func wantRoutes(spec map[string]any) map[string]rtRoute {
	out := map[string]rtRoute{}
	for _, e := range specList(spec, "routes") {
		m, _ := e.(map[string]any)
		out[specString(m, "destination")] = rtRoute{igw: specString(m, "internetGatewayId"), nat: specString(m, "natGatewayId")}
	}
	return out
}

func wantSubnets(spec map[string]any) []string {
	var out []string
	for _, e := range specList(spec, "subnets") {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func (k *routeTableKind) create(ctx context.Context, r provider.Resource) (string, error) {
	out, err := k.c.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{VpcId: aws.String(specString(r.Spec, "vpcId")),
		TagSpecifications: tagSpecs(ec2types.ResourceTypeRouteTable, r.Name, r.Tags)})
	if err != nil {
		return "", hideNotFound(err)
	}
	id := aws.ToString(out.RouteTable.RouteTableId)
	l, err := k.read(ctx, id)
	if err != nil {
		return id, err
	}
	return id, k.update(ctx, l, r)
}

// rtLive is a route table as read: its routes by destination and its associations by subnet.
type rtLive struct {
	routes map[string]rtRoute
	other  map[string]bool   // destinations routed to something Panka does not write
	assocs map[string]string // subnet ID → association ID
}

func (k *routeTableKind) read(ctx context.Context, id string) (*live, error) {
	out, err := k.c.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{RouteTableIds: []string{id}})
	if err != nil {
		return nil, err
	}
	if len(out.RouteTables) != 1 {
		return nil, fmt.Errorf("%w: route table %s", provider.ErrNotFound, id)
	}
	t := out.RouteTables[0]
	raw := rtLive{routes: map[string]rtRoute{}, other: map[string]bool{}, assocs: map[string]string{}}
	for _, rt := range t.Routes {
		dest, gw := aws.ToString(rt.DestinationCidrBlock), aws.ToString(rt.GatewayId)
		switch {
		case dest == "" || gw == "local":
		case strings.HasPrefix(gw, "igw-"):
			raw.routes[dest] = rtRoute{igw: gw}
		case aws.ToString(rt.NatGatewayId) != "":
			raw.routes[dest] = rtRoute{nat: aws.ToString(rt.NatGatewayId)}
		default:
			raw.other[dest] = true
		}
	}
	var parts []provider.Part
	for _, a := range t.Associations {
		if aws.ToBool(a.Main) || aws.ToString(a.SubnetId) == "" {
			continue
		}
		if a.AssociationState != nil && a.AssociationState.State != ec2types.RouteTableAssociationStateCodeAssociated &&
			a.AssociationState.State != ec2types.RouteTableAssociationStateCodeAssociating {
			continue
		}
		raw.assocs[aws.ToString(a.SubnetId)] = aws.ToString(a.RouteTableAssociationId)
		parts = append(parts, provider.Part{Type: "AWS::EC2::SubnetRouteTableAssociation", ID: aws.ToString(a.RouteTableAssociationId)})
	}
	slices.SortFunc(parts, func(a, b provider.Part) int { return strings.Compare(a.ID, b.ID) })
	var routes []any
	for _, dest := range slices.Sorted(maps.Keys(mapsUnionKeys(raw.routes, raw.other))) {
		m := map[string]any{"destination": dest}
		if r, ok := raw.routes[dest]; ok {
			if r.igw != "" {
				m["internetGatewayId"] = r.igw
			} else {
				m["natGatewayId"] = r.nat
			}
		}
		routes = append(routes, m)
	}
	var subnets []any
	for _, s := range slices.Sorted(maps.Keys(raw.assocs)) {
		subnets = append(subnets, s)
	}
	spec := map[string]any{"vpcId": aws.ToString(t.VpcId), "routes": nilIfEmpty(routes), "subnets": nilIfEmpty(subnets)}
	obs, err := k.observed(ctx, "route-table", id, t.Tags, spec, map[string]string{"routeTableId": id})
	if err != nil {
		return nil, err
	}
	obs.Parts = parts
	return &live{obs: obs, raw: raw}, nil
}

// mapsUnionKeys returns a set of the keys of routes and other.
func mapsUnionKeys(routes map[string]rtRoute, other map[string]bool) map[string]bool {
	out := maps.Clone(other)
	for k := range routes {
		out[k] = true
	}
	return out
}

// nilIfEmpty reads an empty list back as nil (read, and unset: a recorded list is drift).
func nilIfEmpty(l []any) any {
	if len(l) == 0 {
		return nil
	}
	return l
}

func (k *routeTableKind) update(ctx context.Context, l *live, r provider.Resource) error {
	id, raw := l.obs.ID, l.raw.(rtLive)
	if want := specString(r.Spec, "vpcId"); want != l.obs.Spec["vpcId"] {
		return fmt.Errorf("vpcId %s cannot change in place (it is %v): replace the route table", want, l.obs.Spec["vpcId"])
	}
	want := wantRoutes(r.Spec)
	for _, dest := range slices.Sorted(maps.Keys(want)) {
		w := want[dest]
		have, ok := raw.routes[dest]
		switch {
		case ok && have == w:
			continue
		case ok || raw.other[dest]:
			_, err := k.c.ReplaceRoute(ctx, &ec2.ReplaceRouteInput{RouteTableId: aws.String(id), DestinationCidrBlock: aws.String(dest),
				GatewayId: nonEmpty(w.igw), NatGatewayId: nonEmpty(w.nat)})
			if err != nil {
				return fmt.Errorf("replace route %s: %w", dest, hideNotFound(err))
			}
		default:
			_, err := k.c.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: aws.String(id), DestinationCidrBlock: aws.String(dest),
				GatewayId: nonEmpty(w.igw), NatGatewayId: nonEmpty(w.nat)})
			if err != nil {
				return fmt.Errorf("create route %s: %w", dest, hideNotFound(err))
			}
		}
	}
	for _, dest := range slices.Sorted(maps.Keys(mapsUnionKeys(raw.routes, raw.other))) {
		if _, ok := want[dest]; ok {
			continue
		}
		_, err := k.c.DeleteRoute(ctx, &ec2.DeleteRouteInput{RouteTableId: aws.String(id), DestinationCidrBlock: aws.String(dest)})
		if err != nil && apiCode(err) != "InvalidRoute.NotFound" {
			return fmt.Errorf("delete route %s: %w", dest, hideNotFound(err))
		}
	}
	subnets := wantSubnets(r.Spec)
	for _, s := range slices.Sorted(maps.Keys(raw.assocs)) {
		if !slices.Contains(subnets, s) {
			if err := k.disassociate(ctx, raw.assocs[s]); err != nil {
				return fmt.Errorf("disassociate subnet %s: %w", s, err)
			}
		}
	}
	for _, s := range subnets {
		if _, ok := raw.assocs[s]; !ok {
			if err := k.associate(ctx, id, s, r.Tags); err != nil {
				return fmt.Errorf("associate subnet %s: %w", s, err)
			}
		}
	}
	return nil
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

// associate associates subnet with the table id: moving it from another route table of the
// deployment (tags) if one holds it, refusing if a table of anyone else does.
func (k *routeTableKind) associate(ctx context.Context, id, subnet string, tags map[string]string) error {
	out, err := k.c.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: []ec2types.Filter{
		{Name: aws.String("association.subnet-id"), Values: []string{subnet}}}})
	if err != nil {
		return fmt.Errorf("route table of subnet %s: %w", subnet, err)
	}
	for _, t := range out.RouteTables {
		for _, a := range t.Associations {
			if aws.ToString(a.SubnetId) != subnet || aws.ToBool(a.Main) {
				continue
			}
			other := aws.ToString(t.RouteTableId)
			if owner := ec2Tags(t.Tags); owner[tagStack] == "" || !sameDeployment(owner, tags) {
				return fmt.Errorf("subnet %s is associated with route table %s, which is not this deployment's", subnet, other)
			}
			_, err := k.c.ReplaceRouteTableAssociation(ctx, &ec2.ReplaceRouteTableAssociationInput{
				AssociationId: a.RouteTableAssociationId, RouteTableId: aws.String(id)})
			if err != nil {
				return fmt.Errorf("move it from route table %s: %w", other, hideNotFound(err))
			}
			return nil
		}
	}
	if _, err := k.c.AssociateRouteTable(ctx, &ec2.AssociateRouteTableInput{RouteTableId: aws.String(id), SubnetId: aws.String(subnet)}); err != nil {
		return hideNotFound(err)
	}
	return nil
}

func (k *routeTableKind) disassociate(ctx context.Context, assoc string) error {
	_, err := k.c.DisassociateRouteTable(ctx, &ec2.DisassociateRouteTableInput{AssociationId: aws.String(assoc)})
	if err != nil && !isNotFound(err) {
		return err
	}
	return nil
}

func (k *routeTableKind) delete(ctx context.Context, l *live) error {
	for _, s := range slices.Sorted(maps.Keys(l.raw.(rtLive).assocs)) {
		if err := k.disassociate(ctx, l.raw.(rtLive).assocs[s]); err != nil {
			return fmt.Errorf("disassociate subnet %s: %w", s, err)
		}
	}
	return waitDependencies(ctx, "route table "+l.obs.ID, func(ctx context.Context) error {
		_, err := k.c.DeleteRouteTable(ctx, &ec2.DeleteRouteTableInput{RouteTableId: aws.String(l.obs.ID)})
		return err
	})
}

func (k *routeTableKind) deletePart(_ context.Context, p provider.Part) (bool, error) {
	// An association cannot outlive its table (EC2 refuses to delete a table that has one).
	return p.Type == "AWS::EC2::SubnetRouteTableAssociation", nil
}
