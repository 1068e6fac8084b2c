//go:build linux

package main

// Measurement 9: container services on the local AWS (issue 11). A stack of 50 MicroServices
// behind one ALB, in a managed network (two zones, one NAT gateway), is applied, planned with
// no change and destroyed, in-process, with the AWS provider on the emulator, every SDK call
// counted (as measurement 8, localaws.go), and with the sim as the ideal bound: every operation
// one emulator round trip, except those that wait on the cloud for as long as the emulator
// makes them wait, which are that delay plus a round trip: a service's create waits for its
// tasks to start (the local AWS's ECS start delay) and its delete for them to stop (half of
// it), a NAT gateway's create and delete its NAT delay. It
// reports apply wall time ÷ the ideal bound, and the AWS calls per service of each step. After
// the destroy it lists, through the SDK, the services, target groups, roles and VPCs of the
// run that are left.

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/panka/panka"
	"github.com/panka/panka/internal/localaws"
)

const ctServices = 50

// containersConfig is a stack named name: one ALB and services MicroServices attached to it,
// each on a path of its own, in a managed network.
func containersConfig(name string, services int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: panka.io/v1\nkind: Stack\nmetadata: {name: %s}\nspec:\n  provider: {name: aws, region: %s}\n"+
		"  network: {managed: {cidr: 10.60.0.0/16}}\n  environments: {dev: {}}\n", name, laRegion)
	b.WriteString("---\napiVersion: panka.io/v1\nkind: Service\nmetadata: {name: s}\nspec: {}\n")
	b.WriteString("---\napiVersion: panka.io/v1\nkind: ALB\nmetadata: {name: lb, service: s}\nspec:\n" +
		"  listeners: [{port: 80, defaultAction: {fixedResponse: {statusCode: 404}}}]\n")
	for i := range services {
		fmt.Fprintf(&b, "---\napiVersion: panka.io/v1\nkind: MicroService\nmetadata: {name: m%02d, service: s}\nspec:\n"+
			"  image: nginx:1.27\n  ports: [{name: http, port: 8080}]\n"+
			"  loadBalancer: {target: lb, paths: [\"/m%02d/*\"]}\n", i, i)
	}
	return []byte(b.String())
}

// containers is measurement 9's workload: the services, the ALB, and what the engine derives
// (VPC, internet gateway, 4 subnets, 2 route tables, NAT gateway, cluster, a security group per
// service and one for the ALB).
func containers(services int, rtt time.Duration) workload {
	ecsDelay, natDelay := localaws.ECSStartDelay(), localaws.NATDelay()
	return workload{
		config: func(name string) []byte { return containersConfig(name, services) },
		n:      services + 1 + 10 + services + 1,
		env:    "dev",
		// Creating waits for the tasks to run and the NAT gateway to be available, deleting
		// for the tasks to stop (half the start delay, in the local AWS) and the gateway to go;
		// reading waits for nothing.
		stepLatency: map[string]map[string]time.Duration{
			"apply":   {"MicroService": ecsDelay + rtt, "NATGateway": natDelay + rtt},
			"plan":    {"MicroService": -1, "NATGateway": -1},
			"destroy": {"MicroService": ecsDelay/2 + rtt, "NATGateway": natDelay + rtt},
		},
		left: (*laEnv).containersLeft,
	}
}

// containersLeft lists, through the SDK, what of created is left: ECS services, target groups,
// load balancers, IAM roles and VPCs named or tagged as the run's.
func (e *laEnv) containersLeft(ctx context.Context, created []panka.ResourceResult) ([]string, error) {
	stack, err := stackOf(created)
	if err != nil {
		return nil, err
	}
	prefix := stack + "-dev-"
	var left []string
	clusters, err := ecs.NewFromConfig(e.cfg).ListClusters(ctx, &ecs.ListClustersInput{})
	if err != nil {
		return nil, fmt.Errorf("list clusters: %w", err)
	}
	for _, c := range clusters.ClusterArns {
		if strings.Contains(c, "/"+prefix) {
			left = append(left, "cluster "+c)
		}
	}
	lbs, err := elb.NewFromConfig(e.cfg).DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{})
	if err != nil {
		return nil, fmt.Errorf("list load balancers: %w", err)
	}
	for _, l := range lbs.LoadBalancers {
		if strings.HasPrefix(aws.ToString(l.LoadBalancerName), prefix) {
			left = append(left, "load balancer "+aws.ToString(l.LoadBalancerName))
		}
	}
	tgs, err := elb.NewFromConfig(e.cfg).DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{})
	if err != nil {
		return nil, fmt.Errorf("list target groups: %w", err)
	}
	for _, g := range tgs.TargetGroups {
		if strings.HasPrefix(aws.ToString(g.TargetGroupName), stack) {
			left = append(left, "target group "+aws.ToString(g.TargetGroupName))
		}
	}
	roles := iam.NewListRolesPaginator(iam.NewFromConfig(e.cfg), &iam.ListRolesInput{})
	for roles.HasMorePages() {
		page, err := roles.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list roles: %w", err)
		}
		for _, r := range page.Roles {
			if strings.HasPrefix(aws.ToString(r.RoleName), prefix) {
				left = append(left, "role "+aws.ToString(r.RoleName))
			}
		}
	}
	vpcs, err := ec2.NewFromConfig(e.cfg).DescribeVpcs(ctx, &ec2.DescribeVpcsInput{
		Filters: []ec2types.Filter{{Name: aws.String("tag:panka:stack"), Values: []string{stack}}}})
	if err != nil {
		return nil, fmt.Errorf("list VPCs: %w", err)
	}
	for _, v := range vpcs.Vpcs {
		left = append(left, "VPC "+aws.ToString(v.VpcId))
	}
	e.calls.take()
	return left, nil
}

// stackOf returns the name of the dev stack that made created, from its cluster's.
func stackOf(created []panka.ResourceResult) (string, error) {
	for _, r := range created {
		if r.Kind == "ECSCluster" {
			return strings.TrimSuffix(r.ID[strings.LastIndex(r.ID, "/")+1:], "-dev-stack-cluster"), nil
		}
	}
	return "", fmt.Errorf("apply created no cluster")
}

// measureContainers is measurement 9.
func measureContainers(ctx context.Context, t *table, runs int) error {
	e, err := newLAEnv(ctx, laProbes)
	if err != nil {
		return err
	}
	w := containers(ctServices, e.rtt)
	awsBest, simBest, err := e.bestRuns(ctx, w, runs, "9 containers")
	if err != nil {
		return err
	}
	name := fmt.Sprintf("9 local AWS %d MicroServices behind one ALB", ctServices)
	t.add(name, "emulator round trip, SQS ListQueues (median)", msFine(e.rtt), "", true)
	t.add(name, "ECS task start delay, NAT gateway delay", fmt.Sprintf("%s, %s", ms(localaws.ECSStartDelay()), ms(localaws.NATDelay())), "", true)
	for _, st := range steps(awsBest, simBest) {
		t.addIdeal(name, st)
		c := st.aws.Calls
		t.add(name, st.cmd+" AWS calls per service", fmt.Sprintf("%.1f (%d calls for %d services and %d other resources)",
			float64(c.total())/ctServices, c.total(), ctServices, awsBest.N-ctServices), "", true)
		t.add(name, "  by operation, per service", c.per(ctServices), "", true)
	}
	t.addLeft(name, awsBest.Left)
	return nil
}
