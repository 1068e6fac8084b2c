package aws

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/panka/panka/provider"
)

// sgKind: a security group of one networked component (schema.SecurityGroupSpec). Its
// GroupName is the component's name, which EC2 keeps unique per VPC: a Create of a name taken in
// the VPC fails with ErrAlreadyExists (InvalidGroup.Duplicate). It also carries the Name tag,
// by which lookup finds it (network.go). Egress is AWS's default, all traffic out, which Panka
// never touches. Ingress rules, one per protocol, port range and source (a CIDR or another
// group's ID), with a description each, are authorized after the group is made and then kept a
// diff: Update authorizes what is missing and revokes what the spec lacks (a rule whose
// description changed is revoked and authorized again), changing nothing else. Read reports
// them sorted (the list is unordered in kindTable). A crash between CreateSecurityGroup and the
// rules leaves a group with rules missing: drift, which the engine's adoption (Find, Update)
// fixes. Delete waits out DependencyViolation (a task's network interface still in the group,
// another group's rule naming it) like a VPC's.
type sgKind struct{ ec2Base }

func newSecurityGroup(p *Provider) kind { return &sgKind{newEC2Base(p)} }

func (k *sgKind) lookup(ctx context.Context, name string) (string, error) {
	return firstNamed(ctx, k, "security group", name)
}

func (k *sgKind) named(ctx context.Context, name string) ([]string, error) {
	return pagedIDs(ctx, ec2.NewDescribeSecurityGroupsPaginator(k.c, &ec2.DescribeSecurityGroupsInput{Filters: nameFilter(name)}),
		func(out *ec2.DescribeSecurityGroupsOutput) (ids []string) {
			for _, g := range out.SecurityGroups {
				ids = append(ids, aws.ToString(g.GroupId))
			}
			return ids
		})
}

// sgRule is one ingress rule: its key is everything but the description.
type sgRule struct {
	protocol    string
	from, to    int64
	cidr, group string
	description string
}

func (r sgRule) key() sgRule { r.description = ""; return r }

func (r sgRule) spec() map[string]any {
	m := map[string]any{"protocol": r.protocol, "fromPort": r.from, "toPort": r.to}
	if r.cidr != "" {
		m["cidr"] = r.cidr
	}
	if r.group != "" {
		m["securityGroup"] = r.group
	}
	if r.description != "" {
		m["description"] = r.description
	}
	return m
}

func (r sgRule) permission() ec2types.IpPermission {
	p := ec2types.IpPermission{IpProtocol: aws.String(r.protocol), FromPort: aws.Int32(int32(r.from)), ToPort: aws.Int32(int32(r.to))}
	if r.cidr != "" {
		p.IpRanges = []ec2types.IpRange{{CidrIp: aws.String(r.cidr), Description: nonEmpty(r.description)}}
	}
	if r.group != "" {
		p.UserIdGroupPairs = []ec2types.UserIdGroupPair{{GroupId: aws.String(r.group), Description: nonEmpty(r.description)}}
	}
	return p
}

func compareRules(a, b sgRule) int {
	return cmp.Or(cmp.Compare(a.protocol, b.protocol), cmp.Compare(a.from, b.from), cmp.Compare(a.to, b.to),
		cmp.Compare(a.cidr, b.cidr), cmp.Compare(a.group, b.group), cmp.Compare(a.description, b.description))
}

func wantRules(spec map[string]any) []sgRule {
	var out []sgRule
	for _, e := range specList(spec, "ingress") {
		m, _ := e.(map[string]any)
		out = append(out, sgRule{protocol: specString(m, "protocol"), from: specInt(m, "fromPort", 0), to: specInt(m, "toPort", 0),
			cidr: specString(m, "cidr"), group: specString(m, "securityGroup"), description: specString(m, "description")})
	}
	return out
}

func (k *sgKind) create(ctx context.Context, r provider.Resource) (string, error) {
	out, err := k.c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		GroupName: aws.String(r.Name), Description: aws.String(specString(r.Spec, "description")),
		VpcId: aws.String(specString(r.Spec, "vpcId")), TagSpecifications: tagSpecs(ec2types.ResourceTypeSecurityGroup, r.Name, r.Tags),
	})
	if err != nil {
		return "", hideNotFound(err)
	}
	id := aws.ToString(out.GroupId)
	return id, k.authorize(ctx, id, wantRules(r.Spec))
}

func (k *sgKind) authorize(ctx context.Context, id string, rules []sgRule) error {
	if len(rules) == 0 {
		return nil
	}
	var perms []ec2types.IpPermission
	for _, r := range rules {
		perms = append(perms, r.permission())
	}
	_, err := k.c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(id), IpPermissions: perms})
	if err != nil {
		return fmt.Errorf("authorize ingress: %w", hideNotFound(err))
	}
	return nil
}

func (k *sgKind) revoke(ctx context.Context, id string, rules []sgRule) error {
	if len(rules) == 0 {
		return nil
	}
	var perms []ec2types.IpPermission
	for _, r := range rules {
		r.description = "" // a revoke matches without it
		perms = append(perms, r.permission())
	}
	_, err := k.c.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(id), IpPermissions: perms})
	if err != nil {
		return fmt.Errorf("revoke ingress: %w", hideNotFound(err))
	}
	return nil
}

// liveRules flattens a group's ingress permissions into one rule per source.
func liveRules(perms []ec2types.IpPermission) []sgRule {
	var out []sgRule
	for _, p := range perms {
		base := sgRule{protocol: aws.ToString(p.IpProtocol), from: int64(aws.ToInt32(p.FromPort)), to: int64(aws.ToInt32(p.ToPort))}
		for _, r := range p.IpRanges {
			x := base
			x.cidr, x.description = aws.ToString(r.CidrIp), aws.ToString(r.Description)
			out = append(out, x)
		}
		for _, g := range p.UserIdGroupPairs {
			x := base
			x.group, x.description = aws.ToString(g.GroupId), aws.ToString(g.Description)
			out = append(out, x)
		}
	}
	slices.SortFunc(out, compareRules)
	return out
}

func (k *sgKind) read(ctx context.Context, id string) (*live, error) {
	out, err := k.c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{id}})
	if err != nil {
		return nil, err
	}
	if len(out.SecurityGroups) != 1 {
		return nil, fmt.Errorf("%w: security group %s", provider.ErrNotFound, id)
	}
	g := out.SecurityGroups[0]
	rules := liveRules(g.IpPermissions)
	var ingress []any
	for _, r := range rules {
		ingress = append(ingress, r.spec())
	}
	spec := map[string]any{"vpcId": aws.ToString(g.VpcId), "description": aws.ToString(g.Description), "ingress": nilIfEmpty(ingress)}
	obs, err := k.observed(ctx, "security-group", id, g.Tags, spec, map[string]string{"groupId": id})
	if err != nil {
		return nil, err
	}
	obs.Name = aws.ToString(g.GroupName)
	return &live{obs: obs, raw: rules}, nil
}

func (k *sgKind) update(ctx context.Context, l *live, r provider.Resource) error {
	for _, f := range []string{"vpcId", "description"} {
		if want := specString(r.Spec, f); want != l.obs.Spec[f] {
			return fmt.Errorf("%s %q cannot change in place (it is %q): replace the security group", f, want, l.obs.Spec[f])
		}
	}
	have := map[sgRule]sgRule{}
	for _, x := range l.raw.([]sgRule) {
		have[x.key()] = x
	}
	want := map[sgRule]sgRule{}
	for _, x := range wantRules(r.Spec) {
		want[x.key()] = x
	}
	var revoke, authorize []sgRule
	for key, x := range have {
		if w, ok := want[key]; !ok || w.description != x.description {
			revoke = append(revoke, x)
		}
	}
	for key, w := range want {
		if x, ok := have[key]; !ok || w.description != x.description {
			authorize = append(authorize, w)
		}
	}
	slices.SortFunc(revoke, compareRules)
	slices.SortFunc(authorize, compareRules)
	if err := k.revoke(ctx, l.obs.ID, revoke); err != nil {
		return err
	}
	return k.authorize(ctx, l.obs.ID, authorize)
}

func (k *sgKind) delete(ctx context.Context, l *live) error {
	return waitDependencies(ctx, "security group "+l.obs.ID, func(ctx context.Context) error {
		_, err := k.c.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(l.obs.ID)})
		return err
	})
}
