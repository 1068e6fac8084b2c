package aws_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/panka/panka/provider"
	pankaaws "github.com/panka/panka/provider/aws"
)

// lookGroup returns a security group through the SDK: tags, "name", "description", "vpc", and
// its rules "in:PROTO FROM-TO SOURCE" and "out:..." = description.
func lookGroup(t *testing.T, id string) view {
	t.Helper()
	out, err := ec2Client(t).DescribeSecurityGroups(t.Context(), &ec2.DescribeSecurityGroupsInput{GroupIds: []string{id}})
	if err != nil || len(out.SecurityGroups) != 1 {
		t.Fatalf("DescribeSecurityGroups %s: %v", id, err)
	}
	g := out.SecurityGroups[0]
	v := ec2View(g.Tags)
	v["name"], v["description"], v["vpc"] = aws.ToString(g.GroupName), aws.ToString(g.Description), aws.ToString(g.VpcId)
	for dir, perms := range map[string][]ec2types.IpPermission{"in": g.IpPermissions, "out": g.IpPermissionsEgress} {
		for _, p := range perms {
			key := fmt.Sprintf("%s:%s %d-%d ", dir, aws.ToString(p.IpProtocol), aws.ToInt32(p.FromPort), aws.ToInt32(p.ToPort))
			for _, r := range p.IpRanges {
				v[key+aws.ToString(r.CidrIp)] = aws.ToString(r.Description)
			}
			for _, pair := range p.UserIdGroupPairs {
				v[key+aws.ToString(pair.GroupId)] = aws.ToString(pair.Description)
			}
		}
	}
	return v
}

// rules returns the entries of v that are ingress rules.
func rules(v view) view {
	out := view{}
	for k, val := range v {
		if strings.HasPrefix(k, "in:") {
			out[k] = val
		}
	}
	return out
}

func rule(proto string, from, to int64, src, desc string) map[string]any {
	m := map[string]any{"protocol": proto, "fromPort": from, "toPort": to, "description": desc}
	if strings.HasPrefix(src, "sg-") {
		m["securityGroup"] = src
	} else {
		m["cidr"] = src
	}
	return m
}

func deployGroup(t *testing.T, p *pankaaws.Provider, vpc string, ingress ...any) (provider.Resource, *provider.Observed) {
	t.Helper()
	spec := map[string]any{"vpcId": vpc, "description": "the web component"}
	if len(ingress) > 0 {
		spec["ingress"] = ingress
	}
	r := component("SecurityGroup", unique("web--sg"), "", spec)
	return r, deploy(t, p, r)
}

func TestSecurityGroup(t *testing.T) {
	p := newProvider(t)
	c := ec2Client(t)
	vpc := deployVPC(t, p)
	_, peer := deployGroup(t, p, vpc)
	r, obs := deployGroup(t, p, vpc,
		rule("tcp", 443, 443, "10.0.0.0/8", "lb"), rule("tcp", 8080, 8080, peer.ID, "orders/api"))

	want := tagsWant(r)
	want["name"], want["description"], want["vpc"] = r.Name, "the web component", vpc
	wantIn(t, "after Create", lookGroup(t, obs.ID), want)
	wantRules := view{"in:tcp 443-443 10.0.0.0/8": "lb", "in:tcp 8080-8080 " + peer.ID: "orders/api"}
	if diff := cmp.Diff(wantRules, rules(lookGroup(t, obs.ID))); diff != "" {
		t.Errorf("rules after Create (-want +got):\n%s", diff)
	}
	if _, ok := lookGroup(t, obs.ID)["out:-1 0-0 0.0.0.0/0"]; !ok {
		t.Errorf("egress: %v, want AWS's default all-out rule", lookGroup(t, obs.ID))
	}
	wantOutputs(t, obs, map[string]string{"groupId": obs.ID, "arn": arnOf("security-group", obs.ID)})
	if diff := cmp.Diff(r.Spec, obs.Spec); diff != "" {
		t.Errorf("spec (-written +read):\n%s", diff)
	}

	// Update: one rule's description changes, one goes, one comes; the egress rule stays.
	r.Spec = map[string]any{"vpcId": vpc, "description": "the web component", "ingress": []any{
		rule("tcp", 443, 443, "10.0.0.0/8", "load balancer"), rule("udp", 53, 53, "10.1.0.0/16", "dns")}}
	upd, err := p.Update(t.Context(), obs.ID, r, []string{"ingress"})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	wantRules = view{"in:tcp 443-443 10.0.0.0/8": "load balancer", "in:udp 53-53 10.1.0.0/16": "dns"}
	after := lookGroup(t, obs.ID)
	if diff := cmp.Diff(wantRules, rules(after)); diff != "" {
		t.Errorf("rules after Update (-want +got):\n%s", diff)
	}
	if _, ok := after["out:-1 0-0 0.0.0.0/0"]; !ok {
		t.Errorf("Update took the egress rule: %v", after)
	}
	if diff := cmp.Diff(r.Spec, upd.Spec); diff != "" {
		t.Errorf("spec after Update (-written +read):\n%s", diff)
	}

	// Drift: a rule revoked behind Panka's back reads as missing; Update authorizes it again.
	if _, err := c.RevokeSecurityGroupIngress(t.Context(), &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(obs.ID), IpPermissions: []ec2types.IpPermission{{
		IpProtocol: aws.String("udp"), FromPort: aws.Int32(53), ToPort: aws.Int32(53), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("10.1.0.0/16")}}}}}); err != nil {
		t.Fatal(err)
	}
	got, err := p.Read(t.Context(), "SecurityGroup", obs.ID)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(got.Spec["ingress"].([]any)); n != 1 {
		t.Errorf("Read after a rule was revoked: %d rules, want 1", n)
	}
	if _, err := p.Update(t.Context(), obs.ID, r, nil); err != nil {
		t.Fatalf("Update to undo the drift: %v", err)
	}
	if diff := cmp.Diff(wantRules, rules(lookGroup(t, obs.ID))); diff != "" {
		t.Errorf("rules after undoing the drift (-want +got):\n%s", diff)
	}

	if err := p.Delete(t.Context(), obs.ID, r); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if out, err := c.DescribeSecurityGroups(t.Context(), &ec2.DescribeSecurityGroupsInput{GroupIds: []string{obs.ID}}); err == nil && len(out.SecurityGroups) > 0 {
		t.Error("the group is still there after Delete")
	}
}

// A group's name is unique in its VPC: a Create of a name EC2 has (a group made without the
// Name tag Panka finds it by) fails with ErrAlreadyExists.
func TestSecurityGroupNameTaken(t *testing.T) {
	p := newProvider(t)
	c := ec2Client(t)
	vpc := deployVPC(t, p)
	r := component("SecurityGroup", unique("web--sg"), "", map[string]any{"vpcId": vpc, "description": "d"})
	out, err := c.CreateSecurityGroup(t.Context(), &ec2.CreateSecurityGroupInput{GroupName: aws.String(r.Name), Description: aws.String("by hand"), VpcId: aws.String(vpc)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = c.DeleteSecurityGroup(context.Background(), &ec2.DeleteSecurityGroupInput{GroupId: out.GroupId})
	})
	if obs, err := p.Create(t.Context(), r); !errors.Is(err, provider.ErrAlreadyExists) {
		t.Errorf("Create of a taken group name: %v, %v; want ErrAlreadyExists", obs, err)
	}
}

// A group another group's rule names cannot go (DependencyViolation): Delete waits, and gives
// up with ErrTransient past its bound; once the rule is gone it deletes.
func TestSecurityGroupDeleteWaitsForReferences(t *testing.T) {
	p := newProvider(t)
	vpc := deployVPC(t, p)
	peerR, peer := deployGroup(t, p, vpc)
	r, obs := deployGroup(t, p, vpc, rule("tcp", 80, 80, peer.ID, "web"))
	restore := pankaaws.SetDependencyWait(200 * time.Millisecond)
	err := p.Delete(t.Context(), peer.ID, peerR)
	restore()
	if !errors.Is(err, provider.ErrTransient) || !strings.Contains(err.Error(), "DependencyViolation") {
		t.Fatalf("Delete of a referenced group: %v, want ErrTransient naming DependencyViolation", err)
	}
	if lookGroup(t, peer.ID)["name"] != peerR.Name {
		t.Fatal("the referenced group is gone")
	}
	r.Spec = map[string]any{"vpcId": vpc, "description": "the web component"}
	if _, err := p.Update(t.Context(), obs.ID, r, []string{"ingress"}); err != nil {
		t.Fatal(err)
	}
	if got := rules(lookGroup(t, obs.ID)); len(got) != 0 {
		t.Errorf("rules after Update to none: %v", got)
	}
	if err := p.Delete(t.Context(), peer.ID, peerR); err != nil {
		t.Fatalf("Delete once nothing references it: %v", err)
	}
}
