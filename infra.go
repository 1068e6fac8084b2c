package panka

import (
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strings"

	"github.com/panka/panka/internal/interp"
	"github.com/panka/panka/schema"
)

// The infrastructure Panka derives from a config: when the environment declares a network and
// has networked components, the parts of a managed network, a security group per networked
// component and one ECS cluster become resources of the plan (schema's internal kinds), and the
// networked components' templates get what a provider needs to place them. What is injected:
//
//	network: {vpcId, subnets, securityGroups}   every networked kind: the private subnets, or
//	                                            the public ones for an internet-facing load
//	                                            balancer; its own security group
//	cluster: ${stack.cluster.arn}               MicroService, Worker, CronJob
//	access: [{kind, arn}]                       MicroService, Worker, CronJob: every component of
//	                                            an accessKinds kind its spec references, whose
//	                                            actions its task role is granted (sorted by arn)
//	loadBalancer: {+ arn, type, containerPort,  a MicroService attached to an ALB or NLB: the
//	  listenerPort, priority, defaultForward,   load balancer, the container port it exposes and,
//	  listeners}                                for an ALB, the listener port its rule goes on,
//	                                            the rule's priority (derived when not written)
//	                                            and the listener ports whose default action
//	                                            forwards to it; for an NLB the listeners
//	                                            targeting it, which the service creates
//	listeners[].defaultAction.forward,          ALB and NLB: the target written as
//	  listeners[].target                        "service/component"
//	accessLogs.bucket                           ALB: the bucket's name
//	volumes[].efs, volumes[].ebs + fileSystemId, MicroService, Worker, CronJob: the EFS or EBS
//	  volumeId                                  component's address, and its ID
//	cluster + clusterArn                        Kafka: the MSK cluster's address, and its ARN
//	routes[].target, routes[].loadBalancer,     APIGateway, a route to a MicroService: the
//	  routes[].listenerPort                     service's address, the ARN of the load balancer
//	                                            it is attached to and the listener port its rule
//	                                            sits on (what the API's VPC link integration
//	                                            reaches); such an API is networked (network:
//	                                            the private subnets and its own group, for the
//	                                            VPC link)
//
// RDS, DocumentDB, EFS (its mount targets) and MSK are networked too: they get network (the
// private subnets) and a security group admitting, on their ports (the database's, NFS's,
// the brokers'), the networked components that reference them (a volume mounting an EFS
// file system references it).
//
// Security groups admit exactly what the config implies: an internet-facing load balancer its
// listener ports from anywhere; a load balancer its service's container port; a networked
// component, on its ports, every networked component whose spec references it; and an internal
// load balancer, on its listener ports, the APIs routing to a service attached to it and every
// networked component whose spec references such a service (a service's URL is its load
// balancer's).

// Addresses of the stack-wide resources (service schema.StackService).
const (
	vpcAddr        = schema.StackService + "/vpc"
	igwAddr        = schema.StackService + "/internet-gateway"
	publicRTAddr   = schema.StackService + "/public-routes"
	clusterAddr    = schema.StackService + "/cluster"
	securitySuffix = "--sg"
)

// networkedKinds run in the environment's network and get a security group; ecsKinds run as
// ECS tasks in the stack's cluster.
var (
	networkedKinds = map[string]bool{"MicroService": true, "Worker": true, "CronJob": true, "ALB": true, "NLB": true,
		"RDS": true, "DocumentDB": true, "EFS": true, "MSK": true}
	ecsKinds = map[string]bool{"MicroService": true, "Worker": true, "CronJob": true}
	// accessKinds are the kinds whose references grant a task role access (see the provider).
	accessKinds = map[string]bool{"SQS": true, "SNS": true, "S3": true, "DynamoDB": true, "EventBridge": true, "Lambda": true}
)

// networked reports whether r runs in the environment's network: a networked kind, or an
// APIGateway with a route to a MicroService (its VPC link does).
func networked(d *desired, r *desiredResource) bool {
	if networkedKinds[r.Kind] {
		return true
	}
	routes, _ := serviceRoutes(d, r)
	return len(routes) > 0
}

// serviceRoutes returns the routes of the APIGateway r that target a MicroService, and the
// service each targets, in route order.
func serviceRoutes(d *desired, r *desiredResource) (routes []map[string]any, services []*desiredResource) {
	if r.Kind != "APIGateway" {
		return nil, nil
	}
	for _, rt := range listOf(r.Template["routes"]) {
		if s := d.byAddr[resolveTarget(r.Address, strOf(rt["target"], ""))]; s != nil && s.Kind == "MicroService" {
			routes, services = append(routes, rt), append(services, s)
		}
	}
	return routes, services
}

// securityGroupAddr is the address of the security group of the component at addr.
func securityGroupAddr(addr string) string { return addr + securitySuffix }

// ref is the canonical template reference to an output of the resource at addr.
func ref(addr, output string) string {
	return "${" + strings.Replace(addr, "/", ".", 1) + "." + output + "}"
}

type infraBuilder struct {
	d                  *desired
	stack, env, tenant string
	// refs[addr] are the addresses the component's own spec references (before injection).
	refs map[string]map[string]bool
	vars map[string]string // the environment's stack variables
}

// addInfrastructure adds the derived resources of the comment above to d. It does nothing when
// the environment has no network or no networked component.
func addInfrastructure(d *desired, cfg *Config, env, tenant string) error {
	net := cfg.Stack().Network(env)
	if net == nil || !slices.ContainsFunc(d.Resources, func(r *desiredResource) bool { return networked(d, r) }) {
		return nil
	}
	b := &infraBuilder{d: d, stack: d.Stack, env: env, tenant: tenant, refs: map[string]map[string]bool{}, vars: cfg.Stack().Variables(env)}
	for _, r := range d.Resources {
		b.refs[r.Address] = templateRefs(r.Template)
		if ecsKinds[r.Kind] {
			// A volume's file system is used as much as a referenced one: its mount targets
			// admit the tasks.
			for _, v := range listOf(r.Template["volumes"]) {
				if s := strOf(v["efs"], ""); s != "" {
					b.refs[r.Address][resolveTarget(r.Address, s)] = true
				}
			}
		}
	}
	components := slices.Clone(d.Resources)
	view, err := b.network(net)
	if err != nil {
		return err
	}
	if slices.ContainsFunc(components, func(r *desiredResource) bool { return ecsKinds[r.Kind] }) {
		b.add(clusterAddr, "ECSCluster", map[string]any{"containerInsights": false})
	}
	for _, r := range components {
		if r.Kind == "Kafka" {
			// A topic's cluster: its address, and its ARN.
			if s := strOf(r.Template["cluster"], ""); s != "" && !strings.HasPrefix(s, "arn:") {
				addr := resolveTarget(r.Address, s)
				r.Template["cluster"], r.Template["clusterArn"] = addr, ref(addr, "arn")
			}
		}
		if !networked(d, r) {
			continue
		}
		if err := b.securityGroup(r, components, view); err != nil {
			return err
		}
		if err := b.inject(r, view); err != nil {
			return fmt.Errorf("%s: %w", r.Address, err)
		}
	}
	slices.SortFunc(d.Resources, func(a, b *desiredResource) int { return strings.Compare(a.Address, b.Address) })
	return nil
}

// networkView is what a networked component needs of the network: IDs or references to them,
// and the resources it must wait for.
type networkView struct {
	vpcID           string
	private, public []any
	ready           []string // addresses of the route tables (managed networks)
}

func (b *infraBuilder) add(addr, kind string, spec map[string]any, deps ...string) *desiredResource {
	svc, name, _ := strings.Cut(addr, "/")
	r := &desiredResource{
		Address: addr, Kind: kind,
		Name:         schema.PhysicalName(nameTenant(b.tenant), b.stack, b.env, svc, name),
		Template:     spec,
		Dependencies: slices.Compact(slices.Sorted(slices.Values(deps))),
		Tags: map[string]string{
			"panka:tenant": b.tenant, "panka:stack": b.stack,
			"panka:environment": b.env, "panka:address": addr,
		},
	}
	b.d.Resources = append(b.d.Resources, r)
	b.d.byAddr[addr] = r
	return r
}

// network adds the resources of a managed network and returns the view of either kind.
func (b *infraBuilder) network(n *schema.NetworkSpec) (*networkView, error) {
	if e := n.Existing; e != nil {
		// IDs may be stack variables (validated: nothing else).
		var err error
		id := func(s string) string {
			r, e := renderVars(s, b.vars)
			if e != nil && err == nil {
				err = fmt.Errorf("network: %w", e)
			}
			return r
		}
		v := &networkView{vpcID: id(e.VPCID)}
		for _, s := range e.PrivateSubnets {
			v.private = append(v.private, id(s))
		}
		for _, s := range e.PublicSubnets {
			v.public = append(v.public, id(s))
		}
		return v, err
	}
	m := n.Managed
	public, private := m.SubnetCIDRs()
	if public == nil {
		return nil, fmt.Errorf("network: cidr %s cannot be split for %d availability zones (validate the config)", m.CIDR, m.AvailabilityZones)
	}
	v := &networkView{vpcID: ref(vpcAddr, "vpcId")}
	b.add(vpcAddr, "VPC", map[string]any{"cidr": m.CIDR})
	b.add(igwAddr, "InternetGateway", map[string]any{"vpcId": v.vpcID}, vpcAddr)
	var publicAddrs, privateAddrs []string
	for i := range public {
		for _, s := range []struct {
			cidr  string
			addrs *[]string
			ids   *[]any
			kind  string
		}{{public[i], &publicAddrs, &v.public, "public"}, {private[i], &privateAddrs, &v.private, "private"}} {
			addr := fmt.Sprintf("%s/%s-%d", schema.StackService, s.kind, i+1)
			b.add(addr, "Subnet", map[string]any{"vpcId": v.vpcID, "cidr": s.cidr, "zone": int64(i), "public": s.kind == "public"}, vpcAddr)
			*s.addrs = append(*s.addrs, addr)
			*s.ids = append(*s.ids, ref(addr, "subnetId"))
		}
	}
	b.add(publicRTAddr, "RouteTable", map[string]any{
		"vpcId":   v.vpcID,
		"routes":  []any{map[string]any{"destination": "0.0.0.0/0", "internetGatewayId": ref(igwAddr, "internetGatewayId")}},
		"subnets": slices.Clone(v.public),
	}, append([]string{vpcAddr, igwAddr}, publicAddrs...)...)
	v.ready = append(v.ready, publicRTAddr)
	var nats []string
	for i := range m.NATGateways {
		addr := fmt.Sprintf("%s/nat-%d", schema.StackService, i+1)
		b.add(addr, "NATGateway", map[string]any{"subnetId": ref(publicAddrs[i], "subnetId")}, publicAddrs[i], publicRTAddr)
		nats = append(nats, addr)
	}
	// One private route table per NAT gateway when each zone has its own, else one shared.
	tables := 1
	if len(nats) == len(private) && len(nats) > 1 {
		tables = len(nats)
	}
	for t := range tables {
		addr := schema.StackService + "/private-routes"
		subnets, subnetAddrs := v.private, privateAddrs
		if tables > 1 {
			addr = fmt.Sprintf("%s-%d", addr, t+1)
			subnets, subnetAddrs = v.private[t:t+1], privateAddrs[t:t+1]
		}
		spec := map[string]any{"vpcId": v.vpcID, "subnets": slices.Clone(subnets)}
		deps := append([]string{vpcAddr}, subnetAddrs...)
		if len(nats) > 0 {
			spec["routes"] = []any{map[string]any{"destination": "0.0.0.0/0", "natGatewayId": ref(nats[t], "natGatewayId")}}
			deps = append(deps, nats[t])
		}
		b.add(addr, "RouteTable", spec, deps...)
		v.ready = append(v.ready, addr)
	}
	return v, nil
}

// port is one port a component listens on.
type port struct {
	number   int64
	protocol string // tcp or udp
}

// portsOf returns the ports r listens on, from its template.
func portsOf(r *desiredResource) []port {
	var out []port
	switch r.Kind {
	case "MicroService":
		for _, p := range listOf(r.Template["ports"]) {
			out = append(out, port{intOf(p["port"]), strings.ToLower(strOf(p["protocol"], "tcp"))})
		}
	case "ALB":
		for _, l := range listOf(r.Template["listeners"]) {
			out = append(out, port{intOf(l["port"]), "tcp"})
		}
	case "RDS":
		out = append(out, port{databasePort(r.Template), "tcp"})
	case "DocumentDB":
		out = append(out, port{max(intOf(r.Template["port"]), 1), "tcp"})
	case "EFS":
		out = append(out, port{2049, "tcp"}) // NFS
	case "MSK":
		// Plaintext, TLS, SASL/SCRAM and IAM brokers (a serverless cluster has IAM's only).
		for _, n := range []int64{9092, 9094, 9096, 9098} {
			if r.Template["serverless"] != true || n == 9098 {
				out = append(out, port{n, "tcp"})
			}
		}
	case "NLB":
		for _, l := range listOf(r.Template["listeners"]) {
			switch strOf(l["protocol"], "TCP") {
			case "UDP":
				out = append(out, port{intOf(l["port"]), "udp"})
			case "TCP_UDP":
				out = append(out, port{intOf(l["port"]), "tcp"}, port{intOf(l["port"]), "udp"})
			default:
				out = append(out, port{intOf(l["port"]), "tcp"})
			}
		}
	}
	return out
}

// databasePort is an RDS spec's port: the one written, else its engine's.
func databasePort(t map[string]any) int64 {
	if p := intOf(t["port"]); p != 0 {
		return p
	}
	switch e := strOf(t["engine"], "postgres"); {
	case strings.Contains(e, "postgres"):
		return 5432
	case strings.HasPrefix(e, "oracle"):
		return 1521
	case strings.HasPrefix(e, "sqlserver"):
		return 1433
	default: // mysql, mariadb, aurora-mysql
		return 3306
	}
}

// securityGroup adds the security group of the networked component r.
func (b *infraBuilder) securityGroup(r *desiredResource, components []*desiredResource, view *networkView) error {
	var rules []any
	deps := []string{}
	if view.vpcID == ref(vpcAddr, "vpcId") {
		deps = append(deps, vpcAddr)
	}
	rule := func(p port, cidr, from string) {
		m := map[string]any{"protocol": p.protocol, "fromPort": p.number, "toPort": p.number}
		if cidr != "" {
			m["cidr"], m["description"] = cidr, "internet"
		} else {
			m["securityGroup"], m["description"] = ref(securityGroupAddr(from), "groupId"), from
			deps = append(deps, securityGroupAddr(from))
		}
		rules = append(rules, m)
	}
	ports := portsOf(r)
	if (r.Kind == "ALB" || r.Kind == "NLB") && r.Template["internal"] != true {
		for _, p := range ports {
			rule(p, "0.0.0.0/0", "")
		}
	}
	if r.Kind == "MicroService" {
		if lb := mapOf(r.Template["loadBalancer"]); lb != nil {
			target := resolveTarget(r.Address, strOf(lb["target"], ""))
			if p, ok := attachedPort(r, lb); ok && b.d.byAddr[target] != nil {
				rule(p, "", target)
			}
		}
	}
	admitted := map[string]bool{}
	for _, y := range components {
		if y == r || !networked(b.d, y) || !b.refs[y.Address][r.Address] {
			continue
		}
		admitted[y.Address] = true
		for _, p := range ports {
			rule(p, "", y.Address)
		}
	}
	if (r.Kind == "ALB" || r.Kind == "NLB") && r.Template["internal"] == true {
		// An internal load balancer is reached from inside: by the APIs routing to a service
		// attached to it (their VPC links) and by what references such a service.
		attached := map[string]bool{}
		for _, s := range components {
			if lb := mapOf(s.Template["loadBalancer"]); s.Kind == "MicroService" && lb != nil && resolveTarget(s.Address, strOf(lb["target"], "")) == r.Address {
				attached[s.Address] = true
			}
		}
		for _, y := range components {
			if y == r || admitted[y.Address] || attached[y.Address] || !networked(b.d, y) {
				continue
			}
			_, services := serviceRoutes(b.d, y)
			reaches := slices.ContainsFunc(services, func(s *desiredResource) bool { return attached[s.Address] })
			for addr := range b.refs[y.Address] {
				reaches = reaches || attached[addr]
			}
			if !reaches {
				continue
			}
			admitted[y.Address] = true
			for _, p := range ports {
				rule(p, "", y.Address)
			}
		}
	}
	spec := map[string]any{"vpcId": view.vpcID, "description": "Panka " + r.Address}
	if len(rules) > 0 {
		spec["ingress"] = rules
	}
	b.add(securityGroupAddr(r.Address), "SecurityGroup", spec, deps...)
	return nil
}

// attachedPort is the container port a MicroService exposes to its load balancer.
func attachedPort(r *desiredResource, lb map[string]any) (port, bool) {
	name := strOf(lb["port"], "")
	for _, p := range listOf(r.Template["ports"]) {
		if name == "" || strOf(p["name"], "") == name {
			return port{intOf(p["port"]), strings.ToLower(strOf(p["protocol"], "tcp"))}, true
		}
	}
	return port{}, false
}

// resolveTarget turns a component reference written in from's spec ("web" or "shop/web") into
// an address.
func resolveTarget(from, target string) string {
	if strings.Contains(target, "/") {
		return target
	}
	svc, _, _ := strings.Cut(from, "/")
	return svc + "/" + target
}

// inject adds what a provider needs to place r (see the comment at the top of the file).
func (b *infraBuilder) inject(r *desiredResource, view *networkView) error {
	t := r.Template
	subnets := view.private
	if (r.Kind == "ALB" || r.Kind == "NLB") && t["internal"] != true {
		subnets = view.public
	}
	if r.Kind == "MSK" && t["serverless"] != true {
		// A provisioned cluster's brokers are in one subnet per zone: the first ones
		// (validation checks there are enough).
		if n := int(intOf(t["availabilityZones"])); n > 0 && n < len(subnets) {
			subnets = subnets[:n]
		}
	}
	t["network"] = map[string]any{
		"vpcId":          view.vpcID,
		"subnets":        slices.Clone(subnets),
		"securityGroups": []any{ref(securityGroupAddr(r.Address), "groupId")},
	}
	deps := append([]string{securityGroupAddr(r.Address)}, view.ready...)
	if ecsKinds[r.Kind] {
		t["cluster"] = ref(clusterAddr, "arn")
		deps = append(deps, clusterAddr)
		var access []any
		for _, addr := range slices.Sorted(maps.Keys(b.refs[r.Address])) {
			if x := b.d.byAddr[addr]; x != nil && accessKinds[x.Kind] {
				access = append(access, map[string]any{"kind": x.Kind, "arn": ref(addr, "arn")})
			}
		}
		if access != nil {
			t["access"] = access
		}
	}
	switch r.Kind {
	case "MicroService":
		if err := b.attach(r); err != nil {
			return err
		}
	case "ALB":
		for _, l := range listOf(t["listeners"]) {
			a := mapOf(l["defaultAction"])
			if a != nil && strOf(a["forward"], "") != "" {
				a["forward"] = resolveTarget(r.Address, a["forward"].(string))
			}
		}
		if logs := mapOf(t["accessLogs"]); logs != nil {
			if bucket := resolveTarget(r.Address, strOf(logs["bucket"], "")); b.d.byAddr[bucket] != nil {
				logs["bucket"] = ref(bucket, "bucketName")
			}
		}
	case "NLB":
		for _, l := range listOf(t["listeners"]) {
			if s := strOf(l["target"], ""); s != "" {
				l["target"] = resolveTarget(r.Address, s)
			}
		}
	case "APIGateway":
		routes, services := serviceRoutes(b.d, r)
		for i, rt := range routes {
			s := services[i]
			lb := mapOf(s.Template["loadBalancer"])
			if lb == nil {
				return fmt.Errorf("routes: %s has no loadBalancer (validate the config)", s.Address)
			}
			lbAddr := resolveTarget(s.Address, strOf(lb["target"], ""))
			l := b.d.byAddr[lbAddr]
			if l == nil {
				return fmt.Errorf("routes: %s's loadBalancer.target %s is not in the config", s.Address, lbAddr)
			}
			port := serviceListenerPort(s, l)
			if port == 0 {
				return fmt.Errorf("routes: %s has no listener on %s to reach it by", s.Address, lbAddr)
			}
			rt["target"], rt["loadBalancer"], rt["listenerPort"] = s.Address, ref(lbAddr, "arn"), port
			deps = append(deps, lbAddr, s.Address)
		}
	}
	if ecsKinds[r.Kind] {
		// A volume of an EFS or EBS component: its address, and its ID.
		for _, v := range listOf(t["volumes"]) {
			for field, output := range map[string]string{"efs": "fileSystemId", "ebs": "volumeId"} {
				if s := strOf(v[field], ""); s != "" {
					addr := resolveTarget(r.Address, s)
					v[field], v[output] = addr, ref(addr, output)
				}
			}
		}
	}
	r.Dependencies = slices.Compact(slices.Sorted(slices.Values(append(r.Dependencies, deps...))))
	return nil
}

// attach fills in the loadBalancer block of the MicroService r.
func (b *infraBuilder) attach(r *desiredResource) error {
	lb := mapOf(r.Template["loadBalancer"])
	if lb == nil {
		return nil
	}
	target := resolveTarget(r.Address, strOf(lb["target"], ""))
	l := b.d.byAddr[target]
	if l == nil {
		return fmt.Errorf("loadBalancer.target %s is not in the config", target)
	}
	p, ok := attachedPort(r, lb)
	if !ok {
		return fmt.Errorf("loadBalancer.port %q names no port", strOf(lb["port"], ""))
	}
	lb["arn"], lb["containerPort"] = ref(target, "arn"), p.number
	listeners := listOf(l.Template["listeners"])
	switch l.Kind {
	case "ALB":
		lb["type"] = "application"
		port := serviceListenerPort(r, l)
		lb["listenerPort"] = port
		if intOf(lb["priority"]) == 0 {
			lb["priority"] = b.derivedPriority(r.Address, target, port)
		}
		var forward []any
		for _, x := range listeners {
			if a := mapOf(x["defaultAction"]); a != nil && resolveTarget(target, strOf(a["forward"], "")) == r.Address {
				forward = append(forward, intOf(x["port"]))
			}
		}
		if forward != nil {
			lb["defaultForward"] = forward
		}
	case "NLB":
		lb["type"] = "network"
		var own []any
		for _, x := range listeners {
			if resolveTarget(target, strOf(x["target"], "")) != r.Address {
				continue
			}
			m := map[string]any{}
			for _, k := range []string{"port", "protocol", "certificateArn", "sslPolicy"} {
				if v, ok := x[k]; ok {
					m[k] = v
				}
			}
			own = append(own, m)
		}
		if own != nil {
			lb["listeners"] = own
		}
	}
	return nil
}

// serviceListenerPort is the listener port of the load balancer l that reaches the MicroService
// r: on an ALB, the listener its rule sits on (loadBalancer.listener, else the first listener);
// on an NLB, the first listener targeting it. 0 if none.
func serviceListenerPort(r, l *desiredResource) int64 {
	lb := mapOf(r.Template["loadBalancer"])
	listeners := listOf(l.Template["listeners"])
	switch l.Kind {
	case "ALB":
		if p := intOf(lb["listener"]); p != 0 {
			return p
		}
		if len(listeners) > 0 {
			return intOf(listeners[0]["port"])
		}
	case "NLB":
		for _, x := range listeners {
			if resolveTarget(l.Address, strOf(x["target"], "")) == r.Address {
				return intOf(x["port"])
			}
		}
	}
	return 0
}

// derivedPriority is the ALB rule priority of a service that wrote none: a hash of its address
// in 1000–49999, moved on past the priorities other services on the same listener take.
func (b *infraBuilder) derivedPriority(addr, lbAddr string, listener int64) int64 {
	taken := map[int64]bool{}
	for _, x := range b.d.Resources {
		lb := mapOf(x.Template["loadBalancer"])
		if x.Address == addr || x.Kind != "MicroService" || lb == nil || resolveTarget(x.Address, strOf(lb["target"], "")) != lbAddr {
			continue
		}
		if p := intOf(lb["priority"]); p != 0 && (intOf(lb["listener"]) == 0 || intOf(lb["listener"]) == listener || intOf(lb["listenerPort"]) == listener) {
			taken[p] = true
		}
	}
	h := fnv.New32a()
	h.Write([]byte(addr))
	p := 1000 + int64(h.Sum32()%49000)
	for taken[p] {
		p = 1000 + (p-1000+1)%49000
	}
	return p
}

// templateRefs returns the addresses a template references (${service.component.output}).
func templateRefs(t any) map[string]bool {
	out := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for _, y := range x {
				walk(y)
			}
		case []any:
			for _, y := range x {
				walk(y)
			}
		case string:
			if !interp.HasRefs(x) {
				return
			}
			segs, err := interp.Parse(x)
			if err != nil {
				return
			}
			for _, s := range segs {
				if s.Ref != nil && len(s.Ref.Parts) == 3 {
					out[s.Ref.Parts[0]+"/"+s.Ref.Parts[1]] = true
				}
			}
		}
	}
	walk(t)
	return out
}

func mapOf(v any) map[string]any { m, _ := v.(map[string]any); return m }

func listOf(v any) []map[string]any {
	var out []map[string]any
	l, _ := v.([]any)
	for _, x := range l {
		if m, ok := x.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func strOf(v any, def string) string {
	if s, ok := v.(string); ok && s != "" {
		return s
	}
	return def
}

func intOf(v any) int64 {
	switch n := v.(type) {
	case int64:
		return n
	case int:
		return int64(n)
	case float64:
		return int64(n)
	}
	return 0
}
