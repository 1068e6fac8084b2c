package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	aastypes "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/panka/panka/backend"
)

// TestPlatformContainers deploys the container services of examples/platform with --local, on
// the managed network the example declares and on an existing one (a VPC and subnets made
// through the SDK first, named in the stack instead): the MicroServices behind the ALB (with
// its default action forwarding to the shop) and the NLB, the Workers, the CronJob, and the
// queues, topic, table and buckets they use. Components part 3 builds (RDS, DocumentDB, EFS,
// EBS, MSK, Kafka) go, with the lines that refer to them; so do the Lambda functions (their code
// is in a bucket the example does not make), the API (it routes to a MicroService through a VPC
// link, not built yet) and the distribution (an ALB origin, not built yet). Deletion protection
// is turned off so that the test can destroy.
//
// Each run checks, through the SDK and independently of Panka, every resource and part (the
// inventory of the crash tests), then what the services are made of: the task definitions'
// image, environment and secrets valueFrom, the roles and their policies, the log groups, the
// target groups and listener rule, the ALB listener forwarding to the shop, the NLB listener,
// the scaling policies and the security-group rules; the next plan is empty; an image change of
// one service plans one in-place update and applies a new task definition revision to the same
// service; destroy leaves nothing.
func TestPlatformContainers(t *testing.T) {
	for _, network := range []string{"managed", "existing"} {
		t.Run(network, func(t *testing.T) { platformContainers(t, network) })
	}
}

// platformFiles are the files of examples/platform with container services or what they use.
var platformFiles = []string{"stack.yaml", "services.yaml", "edge/load-balancers.yaml", "storefront/web.yaml", "storefront/carts.yaml",
	"payments/api.yaml", "payments/messaging.yaml", "data/catalog.yaml", "data/reports.yaml", "devices/mqtt.yaml"}

func platformContainers(t *testing.T, network string) {
	dir := localDir(t)
	c := &cli{t: t, dir: dir, env: []string{"PANKA_LOCK_TTL=5s"}}
	config := filepath.Join(dir, "config")
	w := &awsCrashWorld{crashWorld: &crashWorld{t: t, c: c, dir: dir}}
	w.stack = platformStack(config)
	for _, r := range w.stack.want {
		w.addrs = append(w.addrs, r.address)
	}
	w.connectEmulator()
	seedSecrets(t, w.cfg)

	var existing *existingNetwork
	if network == "existing" {
		existing = makeNetwork(t, w.cfg)
		w.stack.want = slices.DeleteFunc(w.stack.want, func(r awsWant) bool { return strings.HasPrefix(r.address, "stack/") && r.address != "stack/cluster" })
		w.addrs = nil
		for _, r := range w.stack.want {
			w.addrs = append(w.addrs, r.address)
		}
	}
	writePlatformContainers(t, config, existing)
	args := func(op string, extra ...string) []string {
		a := append([]string{op, "--auto-approve", "--parallelism", "8"}, w.flags()...)
		return append(append(a, extra...), config)
	}

	c.must(args("apply")...)
	w.connect()
	w.checkConverged("apply")
	checkPlatformServices(t, w, existing)
	if t.Failed() {
		t.FailNow()
	}

	// One service's image changes: one in-place update, a new revision of the same service.
	before := describeService(t, w, "acme-dev-devices-mqtt")
	mqtt := filepath.Join(config, "devices/mqtt.yaml")
	data, err := os.ReadFile(mqtt)
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(string(data), "image: ghcr.io/acme/mqtt-gateway:${IMAGE_TAG}", "image: ghcr.io/acme/mqtt-gateway:2.4.0", 1)
	if changed == string(data) {
		t.Fatal("the mqtt image line is not in devices/mqtt.yaml")
	}
	if err := os.WriteFile(mqtt, []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	plan := c.run(append(append([]string{"plan", "--json"}, w.flags()...), config)...)
	var p struct {
		Changes []struct{ Address, Action string }
	}
	if err := json.Unmarshal([]byte(plan.stdout), &p); err != nil {
		t.Fatalf("plan --json: %v\n%s", err, plan)
	}
	var updates []string
	for _, ch := range p.Changes {
		if ch.Action != "no-op" {
			updates = append(updates, ch.Address+" "+ch.Action)
		}
	}
	if !slices.Equal(updates, []string{"devices/mqtt update"}) {
		t.Errorf("an image change plans %v, want one in-place update of devices/mqtt", updates)
	}
	c.must(args("apply")...)
	after := describeService(t, w, "acme-dev-devices-mqtt")
	if aws.ToString(after.ServiceArn) != aws.ToString(before.ServiceArn) {
		t.Errorf("the service was replaced: %s, then %s", aws.ToString(before.ServiceArn), aws.ToString(after.ServiceArn))
	}
	td := describeTaskDefinition(t, w, aws.ToString(after.TaskDefinition))
	if img := aws.ToString(td.ContainerDefinitions[0].Image); img != "ghcr.io/acme/mqtt-gateway:2.4.0" {
		t.Errorf("the service runs %s, want the new image", img)
	}
	if td.Revision <= describeTaskDefinition(t, w, aws.ToString(before.TaskDefinition)).Revision {
		t.Errorf("task definition revision %d is not newer than %s", td.Revision, aws.ToString(before.TaskDefinition))
	}
	w.checkConverged("apply of the image change")

	c.must(args("destroy")...)
	w.checkEmpty("destroy")
}

// platformStack is what the container part of examples/platform makes in environment dev, on
// its managed network (three zones, one NAT gateway).
func platformStack(config string) awsCrashStack {
	p := "acme-dev-"
	svc := func(address string, extra ...string) awsWant {
		name := p + strings.Replace(address, "/", "-", 1)
		parts := append([]string{"log-group /ecs/" + name, "role " + name + "-exec", "role " + name + "-task", "task-definition " + name}, extra...)
		slices.Sort(parts)
		return awsWant{address: address, kind: "ECSService", name: name, parts: parts}
	}
	sg := func(address string) awsWant {
		return awsWant{address: address + "--sg", kind: "SecurityGroup", name: p + strings.Replace(address, "/", "-", 1) + "--sg"}
	}
	scaled := []string{"scalable-target", "scaling-policy ECSServiceAverageCPUUtilization"}
	report := p + "data-report"
	want := []awsWant{
		svc("data/indexer"),
		sg("data/indexer"),
		{address: "data/report", kind: "CronJob", name: report, parts: []string{"log-group /ecs/" + report, "role " + report + "-exec",
			"role " + report + "-scheduler", "role " + report + "-task", "task-definition " + report}},
		sg("data/report"),
		{address: "data/reports", kind: "S3", name: p + "data-reports"},
		svc("devices/mqtt", append([]string{"target-group"}, scaled...)...),
		sg("devices/mqtt"),
		{address: "edge/alb", kind: "ALB", name: p + "edge-alb", parts: []string{"listener 443", "listener 80"}},
		sg("edge/alb"),
		{address: "edge/internal", kind: "ALB", name: p + "edge-internal", parts: []string{"listener 80"}},
		sg("edge/internal"),
		{address: "edge/logs", kind: "S3", name: p + "edge-logs"},
		{address: "edge/nlb", kind: "NLB", name: p + "edge-nlb", parts: []string{"listener 8883"}},
		sg("edge/nlb"),
		svc("pay/api", append([]string{"target-group"}, scaled...)...),
		sg("pay/api"),
		{address: "pay/ledger", kind: "SQS", name: p + "pay-ledger"},
		{address: "pay/ledger-dlq", kind: "SQS", name: p + "pay-ledger-dlq"},
		{address: "pay/receipts", kind: "SQS", name: p + "pay-receipts"},
		{address: "pay/settled", kind: "SNS", name: p + "pay-settled", parts: []string{"sqs " + p + "pay-ledger", "sqs " + p + "pay-receipts"}},
		svc("pay/settler", scaled...),
		sg("pay/settler"),
		{address: "shop/carts", kind: "DynamoDB", name: p + "shop-carts"},
		svc("shop/web", append([]string{"target-group"}, scaled...)...),
		sg("shop/web"),
		{address: "stack/cluster", kind: "ECSCluster", name: p + "stack-cluster"},
		{address: "stack/internet-gateway", kind: "InternetGateway", name: p + "stack-internet-gateway"},
		{address: "stack/nat-1", kind: "NATGateway", name: p + "stack-nat-1", parts: []string{"eip " + p + "stack-nat-1"}},
		{address: "stack/private-1", kind: "Subnet", name: p + "stack-private-1"},
		{address: "stack/private-2", kind: "Subnet", name: p + "stack-private-2"},
		{address: "stack/private-3", kind: "Subnet", name: p + "stack-private-3"},
		{address: "stack/private-routes", kind: "RouteTable", name: p + "stack-private-routes", parts: []string{
			"association " + p + "stack-private-1", "association " + p + "stack-private-2", "association " + p + "stack-private-3", "route 0.0.0.0/0 nat"}},
		{address: "stack/public-1", kind: "Subnet", name: p + "stack-public-1"},
		{address: "stack/public-2", kind: "Subnet", name: p + "stack-public-2"},
		{address: "stack/public-3", kind: "Subnet", name: p + "stack-public-3"},
		{address: "stack/public-routes", kind: "RouteTable", name: p + "stack-public-routes", parts: []string{
			"association " + p + "stack-public-1", "association " + p + "stack-public-2", "association " + p + "stack-public-3", "route 0.0.0.0/0 igw"}},
		{address: "stack/vpc", kind: "VPC", name: p + "stack-vpc"},
	}
	return awsCrashStack{
		config: config,
		key:    backend.Key{Tenant: "default", Stack: "acme", Environment: "dev"},
		prefix: p,
		flags:  []string{"--env", "dev"},
		want:   want,
	}
}

// writePlatformContainers writes the container part of examples/platform into dir, for the
// existing network n when it is not nil.
func writePlatformContainers(t *testing.T, dir string, n *existingNetwork) {
	t.Helper()
	part3 := []string{"RDS", "DocumentDB", "EFS", "EBS", "MSK", "Kafka", "Lambda", "APIGateway", "CloudFront"}
	gone := []string{"db", "msk", "orders", "catalog", "telemetry", "bus", "webhook", "notify", "abandon", "media", "index"}
	for _, f := range platformFiles {
		data, err := os.ReadFile(mustAbs(filepath.Join("../../examples/platform", f)))
		if err != nil {
			t.Fatal(err)
		}
		text := withoutComponents(localExample(string(data)), part3, gone)
		text = strings.ReplaceAll(text, "deletionProtection: true", "deletionProtection: false")
		if f == "stack.yaml" && n != nil {
			managed := regexp.MustCompile(`(?m)^  network:\n    managed: .*\n`)
			if !managed.MatchString(text) {
				t.Fatalf("no managed network in stack.yaml:\n%s", text)
			}
			// The emulator's IDs are not AWS-shaped (vpc- and 8 or 17 hex digits), which the
			// validation checks literal IDs for: they come in as variables, as a landing zone's
			// per-environment IDs would.
			text = managed.ReplaceAllLiteralString(text, "  network:\n    existing:\n      vpcId: ${VPC}\n      privateSubnets: [\"${PRIVATE_1}\", \"${PRIVATE_2}\"]\n"+
				"      publicSubnets: [\"${PUBLIC_1}\", \"${PUBLIC_2}\"]\n")
			text = strings.Replace(text, "  variables:\n", fmt.Sprintf("  variables:\n    VPC: %s\n    PRIVATE_1: %s\n    PRIVATE_2: %s\n    PUBLIC_1: %s\n    PUBLIC_2: %s\n",
				n.vpc, n.private[0], n.private[1], n.public[0], n.public[1]), 1)
		}
		path := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// existingNetwork is a VPC made outside Panka, as a landing zone provides it.
type existingNetwork struct {
	vpc             string
	private, public []string
}

// makeNetwork makes a VPC with two private and two public subnets through the SDK.
func makeNetwork(t *testing.T, cfg aws.Config) *existingNetwork {
	t.Helper()
	ctx := t.Context()
	c := ec2.NewFromConfig(cfg)
	vpc, err := c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.77.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	n := &existingNetwork{vpc: aws.ToString(vpc.Vpc.VpcId)}
	for i, zone := range []string{"us-east-1a", "us-east-1b", "us-east-1a", "us-east-1b"} {
		s, err := c.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc.Vpc.VpcId, CidrBlock: aws.String(fmt.Sprintf("10.77.%d.0/24", i)), AvailabilityZone: aws.String(zone)})
		if err != nil {
			t.Fatal(err)
		}
		if i < 2 {
			n.private = append(n.private, aws.ToString(s.Subnet.SubnetId))
		} else {
			n.public = append(n.public, aws.ToString(s.Subnet.SubnetId))
		}
	}
	return n
}

// seedSecrets makes the secrets and parameters the example's services read.
func seedSecrets(t *testing.T, cfg aws.Config) {
	t.Helper()
	ctx := t.Context()
	sm := secretsmanager.NewFromConfig(cfg)
	for name, value := range map[string]string{"acme/dev/catalog": `{"password":"local-catalog-password"}`, "acme/dev/stripe": `{"api_key":"k"}`,
		"acme/stripe-webhook": `{"signing_secret":"whsec"}`} {
		if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(value)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ssm.NewFromConfig(cfg).PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/acme/shop/session-secret"),
		Value: aws.String("s"), Type: ssmtypes.ParameterTypeSecureString}); err != nil {
		t.Fatal(err)
	}
}

func describeService(t *testing.T, w *awsCrashWorld, name string) ecstypes.Service {
	t.Helper()
	out, err := ecs.NewFromConfig(w.cfg).DescribeServices(t.Context(), &ecs.DescribeServicesInput{
		Cluster: aws.String("acme-dev-stack-cluster"), Services: []string{name}, Include: []ecstypes.ServiceField{ecstypes.ServiceFieldTags}})
	if err != nil || len(out.Services) != 1 {
		t.Fatalf("DescribeServices %s: %v %+v", name, err, out)
	}
	return out.Services[0]
}

func describeTaskDefinition(t *testing.T, w *awsCrashWorld, arn string) *ecstypes.TaskDefinition {
	t.Helper()
	out, err := ecs.NewFromConfig(w.cfg).DescribeTaskDefinition(t.Context(), &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(arn)})
	if err != nil {
		t.Fatalf("DescribeTaskDefinition %s: %v", arn, err)
	}
	return out.TaskDefinition
}

// checkPlatformServices checks, through the SDK, what the services are made of.
func checkPlatformServices(t *testing.T, w *awsCrashWorld, existing *existingNetwork) {
	ctx := t.Context()

	// shop/web: its task definition (image, environment, secrets from SSM and Secrets Manager),
	// its roles, its place in the network, the ALB rule and default action, its scaling.
	web := describeService(t, w, "acme-dev-shop-web")
	if web.RunningCount != 2 || web.DesiredCount != 2 || web.LaunchType != ecstypes.LaunchTypeFargate {
		t.Errorf("web: %d of %d tasks running, launch type %s; want 2 of 2 on Fargate", web.RunningCount, web.DesiredCount, web.LaunchType)
	}
	td := describeTaskDefinition(t, w, aws.ToString(web.TaskDefinition))
	ct := td.ContainerDefinitions[0]
	if img := aws.ToString(ct.Image); img != "ghcr.io/acme/storefront:latest" {
		t.Errorf("web image %s, want ghcr.io/acme/storefront:latest (dev's IMAGE_TAG)", img)
	}
	env := map[string]string{}
	for _, kv := range ct.Environment {
		env[aws.ToString(kv.Name)] = aws.ToString(kv.Value)
	}
	if env["LOG_LEVEL"] != "debug" || env["PUBLIC_URL"] != "https://dev.acme.example" || env["CARTS_TABLE"] != "acme-dev-shop-carts" {
		t.Errorf("web environment %v", env)
	}
	secrets := map[string]string{}
	for _, s := range ct.Secrets {
		secrets[aws.ToString(s.Name)] = aws.ToString(s.ValueFrom)
	}
	if !regexp.MustCompile(`^arn:aws:ssm:us-east-1:\d{12}:parameter/acme/shop/session-secret$`).MatchString(secrets["SESSION_SECRET"]) ||
		!regexp.MustCompile(`^arn:aws:secretsmanager:us-east-1:\d{12}:secret:acme/dev/catalog-\w{6}:password::$`).MatchString(secrets["CATALOG_PASSWORD"]) {
		t.Errorf("web secrets %v: want the parameter's ARN and the secret's ARN with its key", secrets)
	}
	if td.Cpu == nil || *td.Cpu != "1024" || aws.ToString(td.Memory) != "2048" || td.NetworkMode != ecstypes.NetworkModeAwsvpc {
		t.Errorf("web task size %s/%s, network mode %s", aws.ToString(td.Cpu), aws.ToString(td.Memory), td.NetworkMode)
	}
	if lc := ct.LogConfiguration; lc == nil || lc.LogDriver != ecstypes.LogDriverAwslogs || lc.Options["awslogs-group"] != "/ecs/acme-dev-shop-web" {
		t.Errorf("web log configuration %+v", lc)
	}
	checkRole(t, w, "acme-dev-shop-web-exec", aws.ToString(td.ExecutionRoleArn), []string{"secretsmanager:GetSecretValue", "ssm:GetParameters"})
	checkRole(t, w, "acme-dev-shop-web-task", aws.ToString(td.TaskRoleArn), []string{"dynamodb:GetItem"})
	vpc := ""
	if existing != nil {
		vpc = existing.vpc
	}
	nc := web.NetworkConfiguration.AwsvpcConfiguration
	zones := 3 // the example's managed network
	if existing != nil {
		zones = len(existing.private)
	}
	if nc.AssignPublicIp != ecstypes.AssignPublicIpDisabled || len(nc.Subnets) != zones || len(nc.SecurityGroups) != 1 {
		t.Errorf("web network %+v", nc)
	}
	if existing != nil && !slices.Equal(slices.Sorted(slices.Values(nc.Subnets)), slices.Sorted(slices.Values(existing.private))) {
		t.Errorf("web runs in subnets %v, want the existing private subnets %v", nc.Subnets, existing.private)
	}

	lb := elb.NewFromConfig(w.cfg)
	albs, err := lb.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{Names: []string{"acme-dev-edge-alb"}})
	if err != nil || len(albs.LoadBalancers) != 1 {
		t.Fatalf("the ALB: %v", err)
	}
	alb := albs.LoadBalancers[0]
	if vpc != "" && aws.ToString(alb.VpcId) != vpc {
		t.Errorf("the ALB is in %s, want the existing VPC %s", aws.ToString(alb.VpcId), vpc)
	}
	if len(web.LoadBalancers) != 1 || aws.ToInt32(web.LoadBalancers[0].ContainerPort) != 8080 {
		t.Fatalf("web load balancers %+v", web.LoadBalancers)
	}
	tg := aws.ToString(web.LoadBalancers[0].TargetGroupArn)
	tgs, err := lb.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{TargetGroupArns: []string{tg}})
	if err != nil || len(tgs.TargetGroups) != 1 {
		t.Fatalf("web's target group %s: %v", tg, err)
	}
	if g := tgs.TargetGroups[0]; aws.ToString(g.HealthCheckPath) != "/healthz" || aws.ToInt32(g.HealthCheckIntervalSeconds) != 15 ||
		g.TargetType != "ip" || aws.ToInt32(g.Port) != 8080 {
		t.Errorf("web's target group: health check %s every %ds, target type %s, port %d", aws.ToString(g.HealthCheckPath),
			aws.ToInt32(g.HealthCheckIntervalSeconds), g.TargetType, aws.ToInt32(g.Port))
	}
	listeners, err := lb.DescribeListeners(ctx, &elb.DescribeListenersInput{LoadBalancerArn: alb.LoadBalancerArn})
	if err != nil {
		t.Fatal(err)
	}
	var https string
	for _, l := range listeners.Listeners {
		if aws.ToInt32(l.Port) != 443 {
			continue
		}
		https = aws.ToString(l.ListenerArn)
		if a := l.DefaultActions; len(a) != 1 || a[0].Type != "forward" || aws.ToString(a[0].TargetGroupArn) != tg {
			t.Errorf("the HTTPS listener's default action %+v, want forward to web's target group", a)
		}
	}
	rules, err := lb.DescribeRules(ctx, &elb.DescribeRulesInput{ListenerArn: aws.String(https)})
	if err != nil {
		t.Fatal(err)
	}
	var webRules int
	for _, r := range rules.Rules {
		if len(r.Actions) == 1 && aws.ToString(r.Actions[0].TargetGroupArn) == tg && aws.ToString(r.Priority) != "default" {
			webRules++
			if len(r.Conditions) != 1 || aws.ToString(r.Conditions[0].Field) != "path-pattern" {
				t.Errorf("web's rule conditions %+v, want its path pattern", r.Conditions)
			}
		}
	}
	if webRules != 1 {
		t.Errorf("%d rules on the HTTPS listener forward to web, want 1", webRules)
	}

	// The security groups: the ALB open to the internet on its ports, web open to the ALB on
	// 8080, the payment API open to the internal ALB it is attached to and to web (which uses its
	// URL), the internal ALB open to web on its listener, a worker to nothing.
	groups := securityGroups(t, w)
	for name, want := range map[string][]string{
		"acme-dev-edge-alb--sg":      {"tcp 443 0.0.0.0/0", "tcp 80 0.0.0.0/0"},
		"acme-dev-shop-web--sg":      {"tcp 8080 acme-dev-edge-alb--sg"},
		"acme-dev-pay-api--sg":       {"tcp 8080 acme-dev-edge-internal--sg", "tcp 8080 acme-dev-shop-web--sg"},
		"acme-dev-edge-internal--sg": {"tcp 80 acme-dev-shop-web--sg"},
		"acme-dev-devices-mqtt--sg":  {"tcp 8883 acme-dev-edge-nlb--sg"},
		"acme-dev-edge-nlb--sg":      {"tcp 8883 0.0.0.0/0"},
		"acme-dev-pay-settler--sg":   nil,
	} {
		if got := groups[name]; !slices.Equal(got, want) {
			t.Errorf("%s admits %v, want %v", name, got, want)
		}
	}
	if sg := nc.SecurityGroups[0]; groups["id "+sg] == nil || groups["id "+sg][0] != "acme-dev-shop-web--sg" {
		t.Errorf("web runs in security group %s, want its own", sg)
	}

	// devices/mqtt: the NLB's TLS listener forwards to its target group.
	mqtt := describeService(t, w, "acme-dev-devices-mqtt")
	nlbs, err := lb.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{Names: []string{"acme-dev-edge-nlb"}})
	if err != nil || len(nlbs.LoadBalancers) != 1 || len(mqtt.LoadBalancers) != 1 {
		t.Fatalf("the NLB %v, mqtt's load balancers %+v", err, mqtt.LoadBalancers)
	}
	nl, err := lb.DescribeListeners(ctx, &elb.DescribeListenersInput{LoadBalancerArn: nlbs.LoadBalancers[0].LoadBalancerArn})
	if err != nil || len(nl.Listeners) != 1 {
		t.Fatalf("the NLB's listeners: %v %+v", err, nl)
	}
	if l := nl.Listeners[0]; aws.ToInt32(l.Port) != 8883 || l.Protocol != "TLS" || len(l.DefaultActions) != 1 ||
		aws.ToString(l.DefaultActions[0].TargetGroupArn) != aws.ToString(mqtt.LoadBalancers[0].TargetGroupArn) {
		t.Errorf("the NLB listener %+v, want TLS 8883 forwarding to mqtt's target group", l)
	}

	// Scaling: web between 2 and 12 on 60% CPU.
	aa := applicationautoscaling.NewFromConfig(w.cfg)
	resource := "service/acme-dev-stack-cluster/acme-dev-shop-web"
	targets, err := aa.DescribeScalableTargets(ctx, &applicationautoscaling.DescribeScalableTargetsInput{ServiceNamespace: aastypes.ServiceNamespaceEcs, ResourceIds: []string{resource}})
	if err != nil || len(targets.ScalableTargets) != 1 {
		t.Fatalf("web's scalable target: %v %+v", err, targets)
	}
	if st := targets.ScalableTargets[0]; aws.ToInt32(st.MinCapacity) != 2 || aws.ToInt32(st.MaxCapacity) != 12 {
		t.Errorf("web scales %d–%d, want 2–12", aws.ToInt32(st.MinCapacity), aws.ToInt32(st.MaxCapacity))
	}
	policies, err := aa.DescribeScalingPolicies(ctx, &applicationautoscaling.DescribeScalingPoliciesInput{ServiceNamespace: aastypes.ServiceNamespaceEcs, ResourceId: aws.String(resource)})
	if err != nil || len(policies.ScalingPolicies) != 1 {
		t.Fatalf("web's scaling policies: %v %+v", err, policies)
	}
	if c := policies.ScalingPolicies[0].TargetTrackingScalingPolicyConfiguration; c == nil || aws.ToFloat64(c.TargetValue) != 60 {
		t.Errorf("web's scaling policy %+v, want CPU at 60%%", c)
	}
}

// checkRole checks that the role name exists as arn, trusted by ECS tasks, and that its policies
// allow each action of actions.
func checkRole(t *testing.T, w *awsCrashWorld, name, arn string, actions []string) {
	t.Helper()
	ctx := t.Context()
	c := iam.NewFromConfig(w.cfg)
	role, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	if err != nil {
		t.Errorf("role %s: %v", name, err)
		return
	}
	if aws.ToString(role.Role.Arn) != arn {
		t.Errorf("role %s is %s, the task definition names %s", name, aws.ToString(role.Role.Arn), arn)
	}
	trust, _ := url.QueryUnescape(aws.ToString(role.Role.AssumeRolePolicyDocument))
	if !strings.Contains(trust, "ecs-tasks.amazonaws.com") {
		t.Errorf("role %s trusts %s", name, trust)
	}
	var docs []string
	inline, err := c.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range inline.PolicyNames {
		out, err := c.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(p)})
		if err != nil {
			t.Fatal(err)
		}
		doc, _ := url.QueryUnescape(aws.ToString(out.PolicyDocument))
		docs = append(docs, doc)
	}
	all := strings.Join(docs, "\n")
	for _, a := range actions {
		if !strings.Contains(all, a) {
			t.Errorf("role %s does not allow %s: %s", name, a, all)
		}
	}
}

// securityGroups returns the ingress rules of the deployment's security groups by group name
// ("tcp 8080 SOURCE", SOURCE a CIDR or a group name, sorted), and each group's name by
// "id sg-...".
func securityGroups(t *testing.T, w *awsCrashWorld) map[string][]string {
	t.Helper()
	return securityGroupsOf(t, w, "acme")
}

// securityGroupsOf is securityGroups of the stack.
func securityGroupsOf(t *testing.T, w *awsCrashWorld, stack string) map[string][]string {
	t.Helper()
	out, err := ec2.NewFromConfig(w.cfg).DescribeSecurityGroups(t.Context(), &ec2.DescribeSecurityGroupsInput{
		Filters: []ec2types.Filter{{Name: aws.String("tag:panka:stack"), Values: []string{stack}}}})
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]string{}
	for _, g := range out.SecurityGroups {
		names[aws.ToString(g.GroupId)] = aws.ToString(g.GroupName)
	}
	rules := map[string][]string{}
	for _, g := range out.SecurityGroups {
		name := aws.ToString(g.GroupName)
		rules["id "+aws.ToString(g.GroupId)] = []string{name}
		for _, p := range g.IpPermissions {
			for _, r := range p.IpRanges {
				rules[name] = append(rules[name], fmt.Sprintf("%s %d %s", aws.ToString(p.IpProtocol), aws.ToInt32(p.FromPort), aws.ToString(r.CidrIp)))
			}
			for _, r := range p.UserIdGroupPairs {
				rules[name] = append(rules[name], fmt.Sprintf("%s %d %s", aws.ToString(p.IpProtocol), aws.ToInt32(p.FromPort), names[aws.ToString(r.GroupId)]))
			}
		}
		slices.Sort(rules[name])
	}
	return rules
}

// listLoadBalancers lists the deployment's load balancers with their listeners ("listener
// PORT").
func listLoadBalancers(ctx context.Context, cfg aws.Config, scope awsScope) ([]awsRes, []string, error) {
	c := elb.NewFromConfig(cfg)
	lbs, err := c.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{})
	if err != nil {
		return nil, nil, fmt.Errorf("DescribeLoadBalancers: %w", err)
	}
	var out []awsRes
	for _, l := range lbs.LoadBalancers {
		tags, err := c.DescribeTags(ctx, &elb.DescribeTagsInput{ResourceArns: []string{aws.ToString(l.LoadBalancerArn)}})
		if err != nil {
			return nil, nil, fmt.Errorf("DescribeTags: %w", err)
		}
		m := map[string]string{}
		for _, d := range tags.TagDescriptions {
			for _, t := range d.Tags {
				m[aws.ToString(t.Key)] = aws.ToString(t.Value)
			}
		}
		name := aws.ToString(l.LoadBalancerName)
		if !scope.ours(name, m) {
			continue
		}
		kind := "ALB"
		if l.Type == "network" {
			kind = "NLB"
		}
		r := awsRes{kind: kind, name: name, id: aws.ToString(l.LoadBalancerArn), tags: m}
		ls, err := c.DescribeListeners(ctx, &elb.DescribeListenersInput{LoadBalancerArn: l.LoadBalancerArn})
		if err != nil {
			return nil, nil, fmt.Errorf("DescribeListeners: %w", err)
		}
		for _, x := range ls.Listeners {
			r.parts = append(r.parts, fmt.Sprintf("listener %d", aws.ToInt32(x.Port)))
		}
		slices.Sort(r.parts)
		out = append(out, r)
	}
	return out, nil, nil
}
