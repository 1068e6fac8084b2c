package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	aastypes "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"

	"github.com/panka/panka/backend"
)

// TestCrashRecoveryContainers runs the AWS crash test on examples/simple-stack.yaml without its
// database (part 3 of the AWS provider builds RDS): a MicroService with autoscaling, its bucket,
// queues and table, in the managed network Panka builds for it (VPC, internet gateway, four
// subnets, two route tables, a NAT gateway with its Elastic IP), its security group and the
// stack's ECS cluster. Its first, uninterrupted apply is the example's end-to-end check: every
// resource and part found through the SDK with its tags, the next plan empty; its first destroy
// leaves nothing (no role, log group, task definition, scalable target, Elastic IP); and the
// kills at random points of apply and destroy leave no duplicate and no orphan.
func TestCrashRecoveryContainers(t *testing.T) {
	crashAWS(t, simpleStackWithoutDatabase)
}

// localExample rewrites an example for --local: the emulator serves us-east-1, so the region
// becomes us-east-1 (and the certificates are in it). An account the stack names stays: the
// emulator's one account stands for it.
func localExample(text string) string {
	text = regexp.MustCompile(`region: [a-z]+-[a-z]+-\d`).ReplaceAllString(text, "region: us-east-1")
	// A load balancer's certificate is in its region.
	text = regexp.MustCompile(`arn:aws:acm:[a-z]+-[a-z]+-\d:`).ReplaceAllString(text, "arn:aws:acm:us-east-1:")
	return text
}

// withoutComponents removes from a config's text the documents of the given kinds, the lines
// that reference a component of names (${name.x} or ${service.name.x}), and volume entries of
// an EFS or EBS component: what a config is without the components part 3 builds.
func withoutComponents(text string, kinds, names []string) string {
	var docs []string
	for _, doc := range strings.Split(text, "\n---\n") {
		m := regexp.MustCompile(`(?m)^kind: (\w+)`).FindStringSubmatch(doc)
		if m != nil && slices.Contains(kinds, m[1]) {
			continue
		}
		docs = append(docs, doc)
	}
	text = strings.Join(docs, "\n---\n")
	refs := regexp.MustCompile(`\$\{([a-z0-9-]+\.)?(` + strings.Join(names, "|") + `)\.`)
	volume := regexp.MustCompile(`^\s+- name: \S+\n\s+mountPath: \S+\n\s+(efs|ebs): \S+(\n|$)`)
	var out []string
	lines := strings.SplitAfter(text, "\n")
	for i := 0; i < len(lines); i++ {
		if refs.MatchString(lines[i]) {
			continue
		}
		if i+2 < len(lines) && volume.MatchString(lines[i]+lines[i+1]+lines[i+2]) {
			i += 2
			continue
		}
		out = append(out, lines[i])
	}
	text = strings.Join(out, "")
	// A volumes block left without entries goes too.
	return regexp.MustCompile(`(?m)^  volumes:\n((\n)|(\z)|(\S))`).ReplaceAllString(text, "$1")
}

// simpleStackWithoutDatabase writes examples/simple-stack.yaml without its RDS database into dir
// and lists what its dev environment makes.
func simpleStackWithoutDatabase(t *testing.T, dir string) awsCrashStack {
	t.Helper()
	data, err := os.ReadFile(mustAbs("../../examples/simple-stack.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	text := withoutComponents(localExample(string(data)), []string{"RDS"}, []string{"db"})
	if strings.Contains(text, "db.") || strings.Contains(text, "kind: RDS") {
		t.Fatalf("the database is still in the config:\n%s", text)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(dir, "simple-stack.yaml")
	if err := os.WriteFile(config, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	p := "shop-dev-"
	web := p + "api-web"
	return awsCrashStack{
		config: config,
		key:    backend.Key{Tenant: "default", Stack: "shop", Environment: "dev"},
		prefix: p,
		flags:  []string{"--env", "dev"},
		want: []awsWant{
			{address: "api/jobs", kind: "SQS", name: p + "api-jobs"},
			{address: "api/jobs-dlq", kind: "SQS", name: p + "api-jobs-dlq"},
			{address: "api/sessions", kind: "DynamoDB", name: p + "api-sessions"},
			{address: "api/uploads", kind: "S3", name: p + "api-uploads"},
			{address: "api/web", kind: "ECSService", name: web, parts: []string{
				"log-group /ecs/" + web, "role " + web + "-exec", "role " + web + "-task",
				"scalable-target", "scaling-policy ECSServiceAverageCPUUtilization", "task-definition " + web}},
			{address: "api/web--sg", kind: "SecurityGroup", name: web + "--sg"},
			{address: "stack/cluster", kind: "ECSCluster", name: p + "stack-cluster"},
			{address: "stack/internet-gateway", kind: "InternetGateway", name: p + "stack-internet-gateway"},
			{address: "stack/nat-1", kind: "NATGateway", name: p + "stack-nat-1", parts: []string{"eip " + p + "stack-nat-1"}},
			{address: "stack/private-1", kind: "Subnet", name: p + "stack-private-1"},
			{address: "stack/private-2", kind: "Subnet", name: p + "stack-private-2"},
			{address: "stack/private-routes", kind: "RouteTable", name: p + "stack-private-routes", parts: []string{
				"association " + p + "stack-private-1", "association " + p + "stack-private-2", "route 0.0.0.0/0 nat"}},
			{address: "stack/public-1", kind: "Subnet", name: p + "stack-public-1"},
			{address: "stack/public-2", kind: "Subnet", name: p + "stack-public-2"},
			{address: "stack/public-routes", kind: "RouteTable", name: p + "stack-public-routes", parts: []string{
				"association " + p + "stack-public-1", "association " + p + "stack-public-2", "route 0.0.0.0/0 igw"}},
			{address: "stack/vpc", kind: "VPC", name: p + "stack-vpc"},
		},
		targetable: []string{"api/web", "api/sessions", "api/uploads"},
	}
}

func init() {
	awsListers = append(awsListers, listNetworks, listContainers, listLoadBalancers)
}

// ec2Name returns the Name tag and the tags of an EC2 resource as a map.
func ec2Tags(tags []ec2types.Tag) (string, map[string]string) {
	m := map[string]string{}
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m["Name"], m
}

// listNetworks lists the deployment's VPCs, subnets, internet gateways, NAT gateways (with
// their Elastic IPs), route tables (with their routes and associations) and security groups,
// named by their Name tag. Stray parts: an Elastic IP of the deployment without its NAT
// gateway.
func listNetworks(ctx context.Context, cfg aws.Config, scope awsScope) ([]awsRes, []string, error) {
	c := ec2.NewFromConfig(cfg)
	var out []awsRes
	var stray []string
	add := func(kind, id string, tags []ec2types.Tag, parts []string) {
		name, m := ec2Tags(tags)
		if scope.ours(name, m) {
			slices.Sort(parts)
			out = append(out, awsRes{kind: kind, name: name, id: id, tags: m, parts: parts})
		}
	}
	vpcs, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
	if err != nil {
		return nil, nil, fmt.Errorf("DescribeVpcs: %w", err)
	}
	for _, v := range vpcs.Vpcs {
		add("VPC", aws.ToString(v.VpcId), v.Tags, nil)
	}
	subnets, err := c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{})
	if err != nil {
		return nil, nil, fmt.Errorf("DescribeSubnets: %w", err)
	}
	subnetNames := map[string]string{}
	for _, s := range subnets.Subnets {
		name, _ := ec2Tags(s.Tags)
		subnetNames[aws.ToString(s.SubnetId)] = name
		add("Subnet", aws.ToString(s.SubnetId), s.Tags, nil)
	}
	igws, err := c.DescribeInternetGateways(ctx, &ec2.DescribeInternetGatewaysInput{})
	if err != nil {
		return nil, nil, fmt.Errorf("DescribeInternetGateways: %w", err)
	}
	for _, g := range igws.InternetGateways {
		add("InternetGateway", aws.ToString(g.InternetGatewayId), g.Tags, nil)
	}
	nats, err := c.DescribeNatGateways(ctx, &ec2.DescribeNatGatewaysInput{})
	if err != nil {
		return nil, nil, fmt.Errorf("DescribeNatGateways: %w", err)
	}
	eips, err := c.DescribeAddresses(ctx, &ec2.DescribeAddressesInput{})
	if err != nil {
		return nil, nil, fmt.Errorf("DescribeAddresses: %w", err)
	}
	natNames := map[string]bool{}
	for _, n := range nats.NatGateways {
		if n.State == ec2types.NatGatewayStateDeleted {
			continue
		}
		name, _ := ec2Tags(n.Tags)
		natNames[name] = true
		var parts []string
		for _, a := range eips.Addresses {
			if an, _ := ec2Tags(a.Tags); an == name && name != "" {
				parts = append(parts, "eip "+an)
			}
		}
		add("NATGateway", aws.ToString(n.NatGatewayId), n.Tags, parts)
	}
	for _, a := range eips.Addresses {
		if name, m := ec2Tags(a.Tags); scope.ours(name, m) && !natNames[name] {
			stray = append(stray, fmt.Sprintf("eip %s (%s) of NAT gateway %s, which does not exist", name, aws.ToString(a.AllocationId), name))
		}
	}
	tables, err := c.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{})
	if err != nil {
		return nil, nil, fmt.Errorf("DescribeRouteTables: %w", err)
	}
	for _, rt := range tables.RouteTables {
		var parts []string
		for _, r := range rt.Routes {
			switch {
			case r.NatGatewayId != nil:
				parts = append(parts, "route "+aws.ToString(r.DestinationCidrBlock)+" nat")
			case strings.HasPrefix(aws.ToString(r.GatewayId), "igw-"):
				parts = append(parts, "route "+aws.ToString(r.DestinationCidrBlock)+" igw")
			}
		}
		for _, a := range rt.Associations {
			if a.SubnetId != nil {
				parts = append(parts, "association "+subnetNames[aws.ToString(a.SubnetId)])
			}
		}
		add("RouteTable", aws.ToString(rt.RouteTableId), rt.Tags, parts)
	}
	groups, err := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{})
	if err != nil {
		return nil, nil, fmt.Errorf("DescribeSecurityGroups: %w", err)
	}
	for _, g := range groups.SecurityGroups {
		_, m := ec2Tags(g.Tags)
		name := aws.ToString(g.GroupName)
		if scope.ours(name, m) {
			out = append(out, awsRes{kind: "SecurityGroup", name: name, id: aws.ToString(g.GroupId), tags: m})
		}
	}
	return out, stray, nil
}

// ecsRoleSuffix, on a role of the deployment, says what of an ECS service or a CronJob it is;
// a CronJob also has a NAME-scheduler role (as a Lambda function with a schedule has).
var ecsRoleSuffix = regexp.MustCompile(`-(exec|task|scheduler)$`)

// listContainers lists the deployment's ECS clusters and services, a service with its parts:
// task definitions (one per ACTIVE revision), roles (NAME-exec, NAME-task), log group
// (/ecs/NAME), target groups (by their panka:address tag), scalable target and scaling
// policies. Stray parts: any of these whose service is gone.
func listContainers(ctx context.Context, cfg aws.Config, scope awsScope) ([]awsRes, []string, error) {
	c := ecs.NewFromConfig(cfg)
	var out []awsRes
	services := map[string]*awsRes{} // by name
	var order []string
	clusters, err := c.ListClusters(ctx, &ecs.ListClustersInput{})
	if err != nil {
		return nil, nil, fmt.Errorf("ListClusters: %w", err)
	}
	if len(clusters.ClusterArns) > 0 {
		desc, err := c.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: clusters.ClusterArns, Include: []ecstypes.ClusterField{ecstypes.ClusterFieldTags}})
		if err != nil {
			return nil, nil, fmt.Errorf("DescribeClusters: %w", err)
		}
		for _, cl := range desc.Clusters {
			if aws.ToString(cl.Status) != "ACTIVE" {
				continue
			}
			name, tags := aws.ToString(cl.ClusterName), ecsTags(cl.Tags)
			if scope.ours(name, tags) {
				out = append(out, awsRes{kind: "ECSCluster", name: name, id: aws.ToString(cl.ClusterArn), tags: tags})
			}
			arns, err := c.ListServices(ctx, &ecs.ListServicesInput{Cluster: cl.ClusterArn})
			if err != nil {
				return nil, nil, fmt.Errorf("ListServices %s: %w", name, err)
			}
			if len(arns.ServiceArns) == 0 {
				continue
			}
			svcs, err := c.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: cl.ClusterArn, Services: arns.ServiceArns, Include: []ecstypes.ServiceField{ecstypes.ServiceFieldTags}})
			if err != nil {
				return nil, nil, fmt.Errorf("DescribeServices %s: %w", name, err)
			}
			for _, s := range svcs.Services {
				sname, stags := aws.ToString(s.ServiceName), ecsTags(s.Tags)
				if aws.ToString(s.Status) == "INACTIVE" || !scope.ours(sname, stags) {
					continue
				}
				services[sname] = &awsRes{kind: "ECSService", name: sname, id: aws.ToString(s.ServiceArn), tags: stags}
				order = append(order, sname)
			}
		}
	}
	schedules := scheduler.NewListSchedulesPaginator(scheduler.NewFromConfig(cfg), &scheduler.ListSchedulesInput{})
	for schedules.HasMorePages() {
		page, err := schedules.NextPage(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("ListSchedules: %w", err)
		}
		for _, s := range page.Schedules {
			if name := aws.ToString(s.Name); scope.ours(name, nil) && !scheduleSuffix.MatchString(name) {
				// A schedule takes no tags: a CronJob's are on its task definition.
				tags := map[string]string{}
				td, err := c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: s.Name, Include: []ecstypes.TaskDefinitionField{ecstypes.TaskDefinitionFieldTags}})
				if err == nil {
					tags = ecsTags(td.Tags)
				} else if !isGone(err) {
					return nil, nil, fmt.Errorf("DescribeTaskDefinition %s: %w", name, err)
				}
				services[name] = &awsRes{kind: "CronJob", name: name, id: aws.ToString(s.Arn), tags: tags}
				order = append(order, name)
			}
		}
	}
	var stray []string
	// part adds what to its owner's parts, or reports it stray, naming it with detail (an ID the
	// state may record it by) too.
	part := func(owner, what string, detail ...string) {
		if r := services[owner]; r != nil {
			r.parts = append(r.parts, what)
		} else {
			stray = append(stray, fmt.Sprintf("%s %v of service %s, which does not exist", what, detail, owner))
		}
	}
	defs := ecs.NewListTaskDefinitionsPaginator(c, &ecs.ListTaskDefinitionsInput{Status: ecstypes.TaskDefinitionStatusActive})
	for defs.HasMorePages() {
		page, err := defs.NextPage(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("ListTaskDefinitions: %w", err)
		}
		for _, arn := range page.TaskDefinitionArns {
			family := arn[strings.LastIndex(arn, "/")+1:]
			family = family[:strings.LastIndex(family, ":")]
			if scope.ours(family, nil) {
				part(family, "task-definition "+family, arn)
			}
		}
	}
	roles := iam.NewListRolesPaginator(iam.NewFromConfig(cfg), &iam.ListRolesInput{})
	for roles.HasMorePages() {
		page, err := roles.NextPage(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("ListRoles: %w", err)
		}
		for _, r := range page.Roles {
			name := aws.ToString(r.RoleName)
			if !scope.ours(name, nil) || !ecsRoleSuffix.MatchString(name) {
				continue
			}
			owner := ecsRoleSuffix.ReplaceAllString(name, "")
			if strings.HasSuffix(name, "-scheduler") && services[owner] == nil {
				continue // a function's (listFunctions)
			}
			part(owner, "role "+name)
		}
	}
	groups := cloudwatchlogs.NewDescribeLogGroupsPaginator(cloudwatchlogs.NewFromConfig(cfg),
		&cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/ecs/")})
	for groups.HasMorePages() {
		page, err := groups.NextPage(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("DescribeLogGroups: %w", err)
		}
		for _, g := range page.LogGroups {
			if name := aws.ToString(g.LogGroupName); scope.ours(strings.TrimPrefix(name, "/ecs/"), nil) {
				part(strings.TrimPrefix(name, "/ecs/"), "log-group "+name)
			}
		}
	}
	lb := elb.NewFromConfig(cfg)
	tgs, err := lb.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{})
	if err != nil {
		return nil, nil, fmt.Errorf("DescribeTargetGroups: %w", err)
	}
	for _, g := range tgs.TargetGroups {
		tags, err := lb.DescribeTags(ctx, &elb.DescribeTagsInput{ResourceArns: []string{aws.ToString(g.TargetGroupArn)}})
		if err != nil {
			return nil, nil, fmt.Errorf("DescribeTags %s: %w", aws.ToString(g.TargetGroupName), err)
		}
		m := map[string]string{}
		for _, d := range tags.TagDescriptions {
			for _, t := range d.Tags {
				m[aws.ToString(t.Key)] = aws.ToString(t.Value)
			}
		}
		if scope.ours(aws.ToString(g.TargetGroupName), m) {
			part(scope.nameOf(m["panka:address"]), "target-group")
		}
	}
	aa := applicationautoscaling.NewFromConfig(cfg)
	targets, err := aa.DescribeScalableTargets(ctx, &applicationautoscaling.DescribeScalableTargetsInput{ServiceNamespace: aastypes.ServiceNamespaceEcs})
	if err != nil {
		return nil, nil, fmt.Errorf("DescribeScalableTargets: %w", err)
	}
	for _, st := range targets.ScalableTargets {
		// service/CLUSTER/SERVICE
		if id := aws.ToString(st.ResourceId); scope.ours(id[strings.LastIndex(id, "/")+1:], nil) {
			part(id[strings.LastIndex(id, "/")+1:], "scalable-target")
		}
	}
	policies, err := aa.DescribeScalingPolicies(ctx, &applicationautoscaling.DescribeScalingPoliciesInput{ServiceNamespace: aastypes.ServiceNamespaceEcs})
	if err != nil {
		return nil, nil, fmt.Errorf("DescribeScalingPolicies: %w", err)
	}
	for _, p := range policies.ScalingPolicies {
		id := aws.ToString(p.ResourceId)
		if svc := id[strings.LastIndex(id, "/")+1:]; scope.ours(svc, nil) {
			metric := "custom"
			if c := p.TargetTrackingScalingPolicyConfiguration; c != nil && c.PredefinedMetricSpecification != nil {
				metric = string(c.PredefinedMetricSpecification.PredefinedMetricType)
			}
			part(svc, "scaling-policy "+metric)
		}
	}
	for _, name := range order {
		slices.Sort(services[name].parts)
		out = append(out, *services[name])
	}
	return out, stray, nil
}

func ecsTags(tags []ecstypes.Tag) map[string]string {
	m := map[string]string{}
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}
