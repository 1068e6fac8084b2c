package panka

import (
	"context"
	"os"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func desiredOfExample(t *testing.T, env string, paths ...string) *desired {
	t.Helper()
	cfg, err := Parse(context.Background(), paths...)
	if err != nil {
		t.Fatal(err)
	}
	if err := Validate(cfg); err != nil {
		t.Fatal(err)
	}
	d, err := buildDesired(cfg, env, DefaultTenant)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func addressesOfKind(d *desired, kinds ...string) []string {
	var out []string
	for _, r := range d.Resources {
		if slices.Contains(kinds, r.Kind) {
			out = append(out, r.Address)
		}
	}
	return out
}

// TestManagedNetworkResources: a managed network of two zones and one NAT gateway is a VPC, an
// internet gateway, a public and a private subnet per zone (the /16 split into four /18s), a
// public route table to the gateway, the NAT gateway in the first public subnet and one private
// route table through it; the stack's containers get one cluster.
func TestManagedNetworkResources(t *testing.T) {
	d := desiredOfExample(t, "dev", "examples/simple-stack.yaml")
	infra := addressesOfKind(d, "VPC", "Subnet", "InternetGateway", "NATGateway", "RouteTable", "ECSCluster", "SecurityGroup")
	want := []string{"api/db--sg", "api/web--sg", "stack/cluster", "stack/internet-gateway", "stack/nat-1", "stack/private-1", "stack/private-2",
		"stack/private-routes", "stack/public-1", "stack/public-2", "stack/public-routes", "stack/vpc"}
	if diff := cmp.Diff(want, infra); diff != "" {
		t.Fatalf("infrastructure addresses (-want +got):\n%s", diff)
	}
	cidrs := map[string]any{}
	for _, a := range []string{"stack/public-1", "stack/public-2", "stack/private-1", "stack/private-2"} {
		cidrs[a] = d.byAddr[a].Template["cidr"]
	}
	if diff := cmp.Diff(map[string]any{"stack/public-1": "10.20.0.0/18", "stack/public-2": "10.20.64.0/18",
		"stack/private-1": "10.20.128.0/18", "stack/private-2": "10.20.192.0/18"}, cidrs); diff != "" {
		t.Errorf("subnet CIDRs (-want +got):\n%s", diff)
	}
	if got := d.byAddr["stack/private-routes"].Template["routes"]; !cmp.Equal(got, []any{map[string]any{"destination": "0.0.0.0/0", "natGatewayId": "${stack.nat-1.natGatewayId}"}}) {
		t.Errorf("private routes = %v, want the default route through stack/nat-1", got)
	}
	if got := d.byAddr["stack/vpc"].Name; got != "shop-dev-stack-vpc" {
		t.Errorf("VPC name = %q", got)
	}
	web := d.byAddr["api/web"]
	if diff := cmp.Diff(map[string]any{
		"vpcId":          "${stack.vpc.vpcId}",
		"subnets":        []any{"${stack.private-1.subnetId}", "${stack.private-2.subnetId}"},
		"securityGroups": []any{"${api.web--sg.groupId}"},
	}, web.Template["network"]); diff != "" {
		t.Errorf("web's network (-want +got):\n%s", diff)
	}
	if web.Template["cluster"] != "${stack.cluster.arn}" {
		t.Errorf("web's cluster = %v", web.Template["cluster"])
	}
	// The task role's access follows the references: the queue, the bucket and the table (and
	// the database, which is no access kind).
	if diff := cmp.Diff([]any{
		map[string]any{"arn": "${api.jobs.arn}", "kind": "SQS"},
		map[string]any{"arn": "${api.sessions.arn}", "kind": "DynamoDB"},
		map[string]any{"arn": "${api.uploads.arn}", "kind": "S3"},
	}, web.Template["access"]); diff != "" {
		t.Errorf("web's access (-want +got):\n%s", diff)
	}
	// The database admits the service that uses ${db.endpoint}, on its port, and nothing else.
	if diff := cmp.Diff([]any{map[string]any{"protocol": "tcp", "fromPort": int64(5432), "toPort": int64(5432),
		"securityGroup": "${api.web--sg.groupId}", "description": "api/web"}}, d.byAddr["api/db--sg"].Template["ingress"]); diff != "" {
		t.Errorf("db ingress (-want +got):\n%s", diff)
	}
	if got := d.byAddr["api/db"].Template["network"].(map[string]any)["securityGroups"]; !cmp.Equal(got, []any{"${api.db--sg.groupId}"}) {
		t.Errorf("db security groups %v", got)
	}
	for _, dep := range []string{"api/web--sg", "stack/cluster", "stack/private-routes", "stack/public-routes"} {
		if !slices.Contains(web.Dependencies, dep) {
			t.Errorf("web does not depend on %s: %v", dep, web.Dependencies)
		}
	}
	if order, err := d.graph.TopoSort(); err != nil || slices.Index(order, "stack/vpc") > slices.Index(order, "api/web") {
		t.Errorf("order %v (%v): the VPC must come before the service", order, err)
	}
}

// TestPerZoneNATGateways: with a NAT gateway per zone, each private subnet gets a route table of
// its own through its zone's gateway.
func TestPerZoneNATGateways(t *testing.T) {
	stack := writeStackOfA(t, `  network:
    managed: {cidr: 10.0.0.0/20, availabilityZones: 3, natGateways: 3}
  environments: {dev: {}}
`, `apiVersion: panka.io/v1
kind: Worker
metadata: {name: w, service: a}
spec: {image: app:1}
`)
	d := desiredOfExample(t, "dev", stack)
	if diff := cmp.Diff([]string{"stack/private-routes-1", "stack/private-routes-2", "stack/private-routes-3", "stack/public-routes"},
		addressesOfKind(d, "RouteTable")); diff != "" {
		t.Fatalf("route tables (-want +got):\n%s", diff)
	}
	rt := d.byAddr["stack/private-routes-2"].Template
	if diff := cmp.Diff(map[string]any{
		"vpcId": "${stack.vpc.vpcId}", "subnets": []any{"${stack.private-2.subnetId}"},
		"routes": []any{map[string]any{"destination": "0.0.0.0/0", "natGatewayId": "${stack.nat-2.natGatewayId}"}},
	}, rt); diff != "" {
		t.Errorf("private-routes-2 (-want +got):\n%s", diff)
	}
	// 6 subnets of a /20 are /23s: 3 bits for 6.
	if got := d.byAddr["stack/private-3"].Template["cidr"]; got != "10.0.10.0/23" {
		t.Errorf("private-3 cidr = %v, want 10.0.10.0/23", got)
	}
	if sg := d.byAddr["a/w--sg"].Template; sg["ingress"] != nil {
		t.Errorf("a worker nobody references admits nothing, got %v", sg["ingress"])
	}
}

// TestLoadBalancedServices: the platform example's load balancers and the services behind them.
// Security groups admit the internet on the public listeners, each service from its load
// balancer on its container port, and nothing else; the services learn their listeners.
func TestLoadBalancedServices(t *testing.T) {
	d := desiredOfExample(t, "dev", "examples/platform")
	ingress := func(addr string) any { return d.byAddr[addr].Template["ingress"] }
	if diff := cmp.Diff([]any{
		map[string]any{"protocol": "tcp", "fromPort": int64(443), "toPort": int64(443), "cidr": "0.0.0.0/0", "description": "internet"},
		map[string]any{"protocol": "tcp", "fromPort": int64(80), "toPort": int64(80), "cidr": "0.0.0.0/0", "description": "internet"},
	}, ingress("edge/alb--sg")); diff != "" {
		t.Errorf("alb ingress (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]any{
		map[string]any{"protocol": "tcp", "fromPort": int64(8080), "toPort": int64(8080), "securityGroup": "${edge.alb--sg.groupId}", "description": "edge/alb"},
	}, ingress("shop/web--sg")); diff != "" {
		t.Errorf("web ingress (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]any{
		map[string]any{"protocol": "tcp", "fromPort": int64(8883), "toPort": int64(8883), "securityGroup": "${edge.nlb--sg.groupId}", "description": "edge/nlb"},
	}, ingress("devices/mqtt--sg")); diff != "" {
		t.Errorf("mqtt ingress (-want +got):\n%s", diff)
	}
	web := d.byAddr["shop/web"].Template["loadBalancer"].(map[string]any)
	for k, want := range map[string]any{"arn": "${edge.alb.arn}", "type": "application", "containerPort": int64(8080),
		"listenerPort": int64(443), "defaultForward": []any{int64(443)}} {
		if !cmp.Equal(web[k], want) {
			t.Errorf("web loadBalancer.%s = %v, want %v", k, web[k], want)
		}
	}
	if paths, ok := web["paths"]; ok {
		t.Errorf("paths %v: [/*] is every path, as without paths (one spelling, which a provider reads back)", paths)
	}
	if p := web["priority"].(int64); p < 1000 || p > 49999 {
		t.Errorf("derived priority %d is outside 1000–49999", p)
	}
	mqtt := d.byAddr["devices/mqtt"].Template["loadBalancer"].(map[string]any)
	if diff := cmp.Diff([]any{map[string]any{"port": int64(8883), "protocol": "TLS",
		"certificateArn": "arn:aws:acm:eu-west-1:111111111111:certificate/6f0e2c1a-2222-4a2b-9c3d-0123456789ab",
		"sslPolicy":      "ELBSecurityPolicy-TLS13-1-2-2021-06"}}, mqtt["listeners"]); diff != "" {
		t.Errorf("mqtt's NLB listeners (-want +got):\n%s", diff)
	}
	alb := d.byAddr["edge/alb"].Template
	if got := alb["network"].(map[string]any)["subnets"]; !cmp.Equal(got, []any{"${stack.public-1.subnetId}", "${stack.public-2.subnetId}", "${stack.public-3.subnetId}"}) {
		t.Errorf("an internet-facing ALB goes in the public subnets, got %v", got)
	}
	if got := alb["accessLogs"].(map[string]any)["bucket"]; got != "${edge.logs.bucketName}" {
		t.Errorf("access log bucket = %v", got)
	}
	if got := alb["listeners"].([]any)[0].(map[string]any)["defaultAction"].(map[string]any)["forward"]; got != "shop/web" {
		t.Errorf("forward = %v", got)
	}
	if got := alb["listeners"].([]any)[1].(map[string]any)["defaultAction"].(map[string]any)["redirect"]; got == nil {
		t.Errorf("the redirect is gone: %v", alb["listeners"])
	}

	// Volumes and topics name what they use by address, with its ID.
	if got := d.byAddr["shop/web"].Template["volumes"].([]any)[0]; !cmp.Equal(got, map[string]any{"name": "media", "mountPath": "/srv/media",
		"efs": "shop/media", "fileSystemId": "${shop.media.fileSystemId}", "ephemeral": false, "readOnly": false}) {
		t.Errorf("web's EFS volume %v", got)
	}
	// Its mount targets admit web, which mounts it.
	if diff := cmp.Diff([]any{map[string]any{"protocol": "tcp", "fromPort": int64(2049), "toPort": int64(2049), "securityGroup": "${shop.web--sg.groupId}",
		"description": "shop/web"}}, d.byAddr["shop/media--sg"].Template["ingress"]); diff != "" {
		t.Errorf("media's ingress (-want +got):\n%s", diff)
	}
	// The indexer keeps its index on ephemeral storage; the EBS volume index is mounted by no one
	// (TestEBSVolumeByID covers an EBS mount).
	if got := d.byAddr["data/indexer"].Template["volumes"].([]any)[0].(map[string]any); got["ephemeral"] != true || got["volumeId"] != nil {
		t.Errorf("indexer's index volume %v, want ephemeral", got)
	}
	if got := d.byAddr["devices/telemetry"].Template; got["cluster"] != "data/msk" || got["clusterArn"] != "${data.msk.arn}" {
		t.Errorf("telemetry's cluster %v, %v", got["cluster"], got["clusterArn"])
	}
	if got := d.byAddr["data/msk--sg"].Template["ingress"]; len(got.([]any)) == 0 {
		t.Errorf("the MSK cluster admits nobody; its clients reference its brokers")
	}

	// prod runs in an existing VPC: no network resources, the IDs as written.
	prod := desiredOfExample(t, "prod", "examples/platform")
	if got := addressesOfKind(prod, "VPC", "Subnet", "RouteTable", "NATGateway", "InternetGateway"); got != nil {
		t.Errorf("an existing network makes no network resources, got %v", got)
	}
	if got := prod.byAddr["shop/web--sg"].Template["vpcId"]; got != "vpc-0f3c2a9b8d7e61504" {
		t.Errorf("security group VPC = %v", got)
	}
}

// writeStackOfA writes, in a directory of its own, the stack s (provider aws in eu-west-1, the
// rest of its spec spec) with a service a and docs, and returns the file's path.
func writeStackOfA(t *testing.T, spec, docs string) string {
	t.Helper()
	path := t.TempDir() + "/stack.yaml"
	writeFile(t, path, "apiVersion: panka.io/v1\nkind: Stack\nmetadata: {name: s}\nspec:\n  provider: {name: aws, region: eu-west-1}\n"+spec+
		"---\napiVersion: panka.io/v1\nkind: Service\nmetadata: {name: a}\n---\n"+docs)
	return path
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestExistingNetworkIDsFromVariables: an existing network's IDs given as stack variables are
// the environment's values in the templates.
func TestExistingNetworkIDsFromVariables(t *testing.T) {
	stack := writeStackOfA(t, `  variables: {VPC: vpc-0a1b2c3d, P1: subnet-0a1b2c3d, P2: subnet-1a1b2c3d}
  network:
    existing: {vpcId: "${VPC}", privateSubnets: ["${P1}", "${P2}"]}
  environments:
    dev: {}
    prod: {variables: {VPC: vpc-9a1b2c3d}}
`, `apiVersion: panka.io/v1
kind: Worker
metadata: {name: w, service: a}
spec: {image: app:1}
`)
	d := desiredOfExample(t, "prod", stack)
	if got := d.byAddr["a/w--sg"].Template["vpcId"]; got != "vpc-9a1b2c3d" {
		t.Errorf("vpcId = %v, want prod's VPC variable", got)
	}
	if got := d.byAddr["a/w"].Template["network"].(map[string]any)["subnets"]; !cmp.Equal(got, []any{"subnet-0a1b2c3d", "subnet-1a1b2c3d"}) {
		t.Errorf("subnets = %v", got)
	}
}

// TestALBNotFoundIsNoDefaultAction: a listener's fixed 404 in plain text is planned as no
// default action, the one spelling of what an ALB listener without one answers; another fixed
// response stays.
func TestALBNotFoundIsNoDefaultAction(t *testing.T) {
	stack := writeStackOfA(t, `  network: {managed: {cidr: 10.0.0.0/16}}
`, `apiVersion: panka.io/v1
kind: ALB
metadata: {name: lb, service: a}
spec:
  listeners:
    - {port: 80, defaultAction: {fixedResponse: {statusCode: 404}}}
    - {port: 81, defaultAction: {fixedResponse: {statusCode: 404, body: gone}}}
    - {port: 82, defaultAction: {fixedResponse: {statusCode: 403}}}
`)
	d := desiredOfExample(t, "default", stack)
	var has []bool
	for _, l := range d.byAddr["a/lb"].Template["listeners"].([]any) {
		_, ok := l.(map[string]any)["defaultAction"]
		has = append(has, ok)
	}
	if !slices.Equal(has, []bool{false, true, true}) {
		t.Errorf("listeners with a default action: %v, want only the 404 in plain text without one", has)
	}
}

// TestMSKBrokersGoInOneSubnetPerZone: a provisioned cluster's brokers are in the first subnet of
// each of its zones, not in every private subnet (AWS reads back only those).
func TestMSKBrokersGoInOneSubnetPerZone(t *testing.T) {
	stack := writeStackOfA(t, `  network: {managed: {cidr: 10.0.0.0/16, availabilityZones: 3}}
`, `apiVersion: panka.io/v1
kind: MSK
metadata: {name: k, service: a}
spec: {availabilityZones: 2, brokerNodes: 2}
`)
	d := desiredOfExample(t, "default", stack)
	if got := d.byAddr["a/k"].Template["network"].(map[string]any)["subnets"]; !cmp.Equal(got, []any{"${stack.private-1.subnetId}", "${stack.private-2.subnetId}"}) {
		t.Errorf("brokers' subnets %v, want the first two private subnets", got)
	}
}

// TestAPIGatewayRoutesToService: the platform example's API routes /payments/* to pay/api, which
// is attached to the internal ALB edge/internal. The API is networked for its VPC link (the
// private subnets and its own group); its route gets the service's address, the ALB's ARN and
// the listener port the service's rule sits on; the internal ALB admits, on its listener port,
// the API's group and shop/web, whose spec uses pay/api's URL; pay/api still admits the ALB.
func TestAPIGatewayRoutesToService(t *testing.T) {
	d := desiredOfExample(t, "dev", "examples/platform")
	gw := d.byAddr["edge/gw"]
	if diff := cmp.Diff(map[string]any{
		"vpcId":          "${stack.vpc.vpcId}",
		"subnets":        []any{"${stack.private-1.subnetId}", "${stack.private-2.subnetId}", "${stack.private-3.subnetId}"},
		"securityGroups": []any{"${edge.gw--sg.groupId}"},
	}, gw.Template["network"]); diff != "" {
		t.Errorf("API network (-want +got):\n%s", diff)
	}
	routes := gw.Template["routes"].([]any)
	pay := routes[0].(map[string]any)
	for k, want := range map[string]any{"target": "pay/api", "loadBalancer": "${edge.internal.arn}", "listenerPort": int64(80)} {
		if !cmp.Equal(pay[k], want) {
			t.Errorf("route %v: %s = %v, want %v", pay["route"], k, pay[k], want)
		}
	}
	hook := routes[1].(map[string]any)
	if _, ok := hook["loadBalancer"]; ok || hook["target"] != "pay/webhook" {
		t.Errorf("a Lambda route is left as written, got %v", hook)
	}
	for _, dep := range []string{"edge/gw--sg", "edge/internal", "pay/api"} {
		if !slices.Contains(gw.Dependencies, dep) {
			t.Errorf("edge/gw does not depend on %s: %v", dep, gw.Dependencies)
		}
	}
	if got := d.byAddr["edge/gw--sg"]; got == nil || got.Template["ingress"] != nil {
		t.Errorf("the API's security group admits nothing (its VPC link only sends), got %v", got)
	}
	if diff := cmp.Diff([]any{
		map[string]any{"protocol": "tcp", "fromPort": int64(80), "toPort": int64(80), "securityGroup": "${edge.gw--sg.groupId}", "description": "edge/gw"},
		map[string]any{"protocol": "tcp", "fromPort": int64(80), "toPort": int64(80), "securityGroup": "${shop.web--sg.groupId}", "description": "shop/web"},
	}, d.byAddr["edge/internal--sg"].Template["ingress"]); diff != "" {
		t.Errorf("internal ALB ingress (-want +got):\n%s", diff)
	}
	if got := d.byAddr["edge/internal"].Template["network"].(map[string]any)["subnets"]; !cmp.Equal(got, []any{"${stack.private-1.subnetId}", "${stack.private-2.subnetId}", "${stack.private-3.subnetId}"}) {
		t.Errorf("an internal ALB goes in the private subnets, got %v", got)
	}
	api := d.byAddr["pay/api"].Template["loadBalancer"].(map[string]any)
	if api["listenerPort"] != int64(80) || api["arn"] != "${edge.internal.arn}" {
		t.Errorf("pay/api's loadBalancer %v", api)
	}
	if got := d.byAddr["pay/api--sg"].Template["ingress"].([]any)[0]; !cmp.Equal(got, map[string]any{"protocol": "tcp", "fromPort": int64(8080), "toPort": int64(8080),
		"securityGroup": "${edge.internal--sg.groupId}", "description": "edge/internal"}) {
		t.Errorf("pay/api's first rule %v, want the internal ALB's", got)
	}
}

// TestAPIGatewayOfLambdasIsNotNetworked: an API whose routes all go to Lambda functions gets no
// network and no security group, in an environment with a network (a Worker's).
func TestAPIGatewayOfLambdasIsNotNetworked(t *testing.T) {
	stack := writeStackOfA(t, `  network:
    existing: {vpcId: vpc-0a1b2c3d, privateSubnets: [subnet-0a1b2c3d, subnet-1a1b2c3d]}
  environments:
    dev: {}
`, `apiVersion: panka.io/v1
kind: Worker
metadata: {name: w, service: a}
spec: {image: app:1}
---
apiVersion: panka.io/v1
kind: Lambda
metadata: {name: fn, service: a}
spec: {runtime: python3.12, handler: app.handler, code: {s3Bucket: b, s3Key: k.zip}}
---
apiVersion: panka.io/v1
kind: APIGateway
metadata: {name: gw, service: a}
spec:
  routes: [{route: "GET /x", target: fn}]
`)
	d := desiredOfExample(t, "dev", stack)
	if got := d.byAddr["a/gw"].Template["network"]; got != nil {
		t.Errorf("network %v", got)
	}
	if got := addressesOfKind(d, "SecurityGroup"); !cmp.Equal(got, []string{"a/w--sg"}) {
		t.Errorf("security groups %v, want the worker's only", got)
	}
}

// TestEBSVolumeByID: a volume of an EBS component names it by address, with its ID.
func TestEBSVolumeByID(t *testing.T) {
	stack := writeStackOfA(t, `  network: {managed: {cidr: 10.0.0.0/16}}
`, `apiVersion: panka.io/v1
kind: EBS
metadata: {name: data, service: a}
spec: {sizeGiB: 10, availabilityZone: eu-west-1a}
---
apiVersion: panka.io/v1
kind: Worker
metadata: {name: w, service: a}
spec:
  image: app:1
  volumes: [{name: data, mountPath: /data, ebs: data}]
`)
	d := desiredOfExample(t, "default", stack)
	if got := d.byAddr["a/w"].Template["volumes"].([]any)[0]; !cmp.Equal(got, map[string]any{"name": "data", "mountPath": "/data",
		"ebs": "a/data", "volumeId": "${a.data.volumeId}", "ephemeral": false, "readOnly": false}) {
		t.Errorf("the worker's EBS volume %v", got)
	}
}
