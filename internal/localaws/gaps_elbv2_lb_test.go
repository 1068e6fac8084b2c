package localaws

import (
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
)

// ELBv2 changes a load balancer's security groups and subnets in place; kumo v0.33.1 has neither
// SetSecurityGroups nor SetSubnets.
func TestKumoELBNoSetSecurityGroupsOrSubnets(t *testing.T) {
	f := newELB(t, gapEmulator(t).srv.URL) // kumo itself
	if _, err := f.c.SetSecurityGroups(t.Context(), &elb.SetSecurityGroupsInput{LoadBalancerArn: f.lb.LoadBalancerArn, SecurityGroups: []string{"sg-456"}}); err == nil {
		t.Error("kumo answers SetSecurityGroups: check whether it keeps the groups, and the layer's handler can go")
	}
	if _, err := f.c.SetSubnets(t.Context(), &elb.SetSubnetsInput{LoadBalancerArn: f.lb.LoadBalancerArn, Subnets: f.subnets[:1]}); err == nil {
		t.Error("kumo answers SetSubnets: check whether it keeps the subnets, and the layer's handler can go")
	}
}

// Through the layer, SetSecurityGroups and SetSubnets change what DescribeLoadBalancers reports,
// of that load balancer only, until it is deleted; a load balancer that does not exist is
// LoadBalancerNotFound.
func TestGapELBSetSecurityGroupsAndSubnets(t *testing.T) {
	srv := gapEmulator(t)
	f := newELB(t, srv.URL)
	other := newELB(t, srv.URL)
	ctx := t.Context()
	sg, err := f.c.SetSecurityGroups(ctx, &elb.SetSecurityGroupsInput{LoadBalancerArn: f.lb.LoadBalancerArn, SecurityGroups: []string{"sg-456", "sg-789"}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sg.SecurityGroupIds, []string{"sg-456", "sg-789"}) {
		t.Errorf("SetSecurityGroups answered %v", sg.SecurityGroupIds)
	}
	sn, err := f.c.SetSubnets(ctx, &elb.SetSubnetsInput{LoadBalancerArn: f.lb.LoadBalancerArn, Subnets: []string{f.subnets[1]}})
	if err != nil {
		t.Fatal(err)
	}
	if len(sn.AvailabilityZones) != 1 || aws.ToString(sn.AvailabilityZones[0].SubnetId) != f.subnets[1] || aws.ToString(sn.AvailabilityZones[0].ZoneName) != "us-east-1a" {
		t.Errorf("SetSubnets answered %+v", sn.AvailabilityZones)
	}
	out, err := f.c.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{LoadBalancerArns: []string{*f.lb.LoadBalancerArn, *other.lb.LoadBalancerArn}})
	if err != nil {
		t.Fatal(err)
	}
	for _, lb := range out.LoadBalancers {
		var subnets []string
		for _, z := range lb.AvailabilityZones {
			subnets = append(subnets, aws.ToString(z.SubnetId))
		}
		switch aws.ToString(lb.LoadBalancerArn) {
		case *f.lb.LoadBalancerArn:
			if !slices.Equal(lb.SecurityGroups, []string{"sg-456", "sg-789"}) || !slices.Equal(subnets, f.subnets[1:]) {
				t.Errorf("after Set...: groups %v, subnets %v", lb.SecurityGroups, subnets)
			}
			if aws.ToString(lb.VpcId) != f.vpc {
				t.Errorf("VpcId %s, want %s", aws.ToString(lb.VpcId), f.vpc)
			}
		default:
			if !slices.Equal(lb.SecurityGroups, []string{"sg-123"}) || !slices.Equal(subnets, other.subnets) {
				t.Errorf("another load balancer: groups %v, subnets %v", lb.SecurityGroups, subnets)
			}
		}
	}
	if _, err := f.c.DeleteLoadBalancer(ctx, &elb.DeleteLoadBalancerInput{LoadBalancerArn: f.lb.LoadBalancerArn}); err != nil {
		t.Fatal(err)
	}
	elbNetGaps.mu.Lock()
	_, sgKept := elbNetGaps.SecurityGroups[*f.lb.LoadBalancerArn]
	_, snKept := elbNetGaps.Subnets[*f.lb.LoadBalancerArn]
	elbNetGaps.mu.Unlock()
	if sgKept || snKept {
		t.Error("the layer keeps a deleted load balancer's groups or subnets")
	}
	_, err = f.c.SetSecurityGroups(ctx, &elb.SetSecurityGroupsInput{LoadBalancerArn: f.lb.LoadBalancerArn, SecurityGroups: []string{"sg-1"}})
	if err == nil || !strings.Contains(err.Error(), "LoadBalancerNotFound") {
		t.Errorf("SetSecurityGroups of a deleted load balancer: %v, want LoadBalancerNotFound", err)
	}
	_, err = f.c.SetSubnets(ctx, &elb.SetSubnetsInput{LoadBalancerArn: f.lb.LoadBalancerArn, Subnets: f.subnets})
	if err == nil || !strings.Contains(err.Error(), "LoadBalancerNotFound") {
		t.Errorf("SetSubnets of a deleted load balancer: %v, want LoadBalancerNotFound", err)
	}
}

// The layer's state of load balancer networks persists in the data directory.
func TestGapELBNetStatePersists(t *testing.T) {
	dir := t.TempDir()
	g := newELBNetState(dir)
	if err := g.update(func(g *elbNetState) {
		g.SecurityGroups["lb"] = []string{"sg-1"}
		g.Subnets["lb"] = []string{"subnet-1", "subnet-2"}
	}); err != nil {
		t.Fatal(err)
	}
	g2 := newELBNetState(dir)
	if !slices.Equal(g2.SecurityGroups["lb"], []string{"sg-1"}) || !slices.Equal(g2.Subnets["lb"], []string{"subnet-1", "subnet-2"}) {
		t.Errorf("after a restart: %+v", g2)
	}
}
