package schema

import (
	"fmt"
	"math/bits"
	"net/netip"
	"regexp"
	"slices"

	"github.com/panka/panka/internal/interp"
)

// NetworkSpec is where an environment's networked components run (containers, load balancers
// and, later, databases, file systems and Kafka clusters): exactly one of an existing VPC, as
// most companies' landing zones provide, or one Panka manages.
type NetworkSpec struct {
	Existing *ExistingNetwork `yaml:"existing"`
	Managed  *ManagedNetwork  `yaml:"managed"`
}

// ExistingNetwork names a VPC and its subnets, made outside Panka.
type ExistingNetwork struct {
	VPCID string `yaml:"vpcId"`
	// PrivateSubnets run tasks, databases and internal load balancers: at least two, in
	// different availability zones (load balancers and database subnet groups need two).
	PrivateSubnets []string `yaml:"privateSubnets"`
	// PublicSubnets hold internet-facing load balancers.
	PublicSubnets []string `yaml:"publicSubnets"`
}

// ManagedNetwork is a VPC Panka creates: CIDR split into a public and a private subnet in each
// of AvailabilityZones zones, an internet gateway, route tables and NATGateways NAT gateways
// (0, 1 shared, or one per zone) for the private subnets' traffic to the internet.
type ManagedNetwork struct {
	CIDR              string `yaml:"cidr"`
	AvailabilityZones int    `yaml:"availabilityZones"`
	NATGateways       int    `yaml:"natGateways"`
}

func (n *ManagedNetwork) SetDefaults() { n.AvailabilityZones, n.NATGateways = 2, 1 }

// Network returns the network deployments to env run in: env's own, else the stack's (nil if
// neither declares one).
func (s *Stack) Network(env string) *NetworkSpec {
	if e := s.Spec.Environments[env]; e != nil && e.Network != nil {
		return e.Network
	}
	return s.Spec.Network
}

var (
	vpcIDRe    = regexp.MustCompile(`^vpc-([0-9a-f]{8}|[0-9a-f]{17})$`)
	subnetIDRe = regexp.MustCompile(`^subnet-([0-9a-f]{8}|[0-9a-f]{17})$`)
	// privateRanges are where a VPC's CIDR should come from (RFC 1918 and the shared range).
	privateRanges = []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("172.16.0.0/12"),
		netip.MustParsePrefix("192.168.0.0/16"), netip.MustParsePrefix("100.64.0.0/10"),
	}
)

const (
	maxAZs = 6
	// minSubnetBits is the longest prefix AWS allows for a subnet (/28: 16 addresses, 11
	// usable); Panka wants room for tasks, so it asks for /24 at most.
	maxSubnetPrefix = 24
)

// checkNetwork validates the network at path ("spec.network" or
// "spec.environments.ENV.network") of the stack document.
func (v *validator) checkNetwork(doc *Document, path string, n *NetworkSpec) {
	switch {
	case n.Existing != nil && n.Managed != nil:
		v.errorf(doc.PosOf(path+".managed"), "%s takes either existing or managed, not both", path)
		return
	case n.Existing == nil && n.Managed == nil:
		v.errorf(doc.PosOf(path), "%s needs existing (a VPC and its subnets) or managed (a CIDR Panka splits into subnets)", path)
		return
	case n.Existing != nil:
		v.checkExistingNetwork(doc, path+".existing", n.Existing)
	default:
		v.checkManagedNetwork(doc, path+".managed", n.Managed)
	}
}

func (v *validator) checkExistingNetwork(doc *Document, path string, n *ExistingNetwork) {
	// IDs may come from stack variables (a landing zone's, per environment), and only from them.
	vars := func(field, s string) {
		v.checkRefs(doc, field, s, func(pos Pos, ref *interp.Ref) {
			if len(ref.Parts) != 1 {
				v.errorf(pos, "a network's IDs can reference only stack variables, not ${%s}", ref)
				return
			}
			v.stackVar(pos, ref.Parts[0], "")
		})
	}
	vars(path+".vpcId", n.VPCID)
	for i, id := range n.PrivateSubnets {
		vars(fmt.Sprintf("%s.privateSubnets[%d]", path, i), id)
	}
	for i, id := range n.PublicSubnets {
		vars(fmt.Sprintf("%s.publicSubnets[%d]", path, i), id)
	}
	if n.VPCID == "" {
		v.errorf(doc.PosOf(path), "%s needs vpcId, like vpc-0a1b2c3d4e5f60718", path)
	} else if !hasRefs(n.VPCID) && !vpcIDRe.MatchString(n.VPCID) {
		v.errorf(doc.PosOf(path+".vpcId"), "vpcId %q is not a VPC ID (vpc- and 8 or 17 hex digits)", n.VPCID)
	}
	switch len(n.PrivateSubnets) {
	case 0:
		v.errorf(doc.PosOf(path), "%s needs privateSubnets: at least two subnet IDs in different availability zones", path)
	case 1:
		v.errorf(doc.PosOf(path+".privateSubnets"), "%s.privateSubnets has one subnet; load balancers and database subnet groups need two, in different availability zones", path)
	}
	seen := map[string]string{}
	for _, list := range []struct {
		field string
		ids   []string
	}{{"privateSubnets", n.PrivateSubnets}, {"publicSubnets", n.PublicSubnets}} {
		for i, id := range list.ids {
			field := fmt.Sprintf("%s.%s[%d]", path, list.field, i)
			if !hasRefs(id) && !subnetIDRe.MatchString(id) {
				v.errorf(doc.PosOf(field), "%q is not a subnet ID (subnet- and 8 or 17 hex digits)", id)
			}
			if prev, dup := seen[id]; dup {
				v.errorf(doc.PosOf(field), "subnet %s is listed twice (also %s); a subnet is either private or public, once", id, prev)
			}
			seen[id] = field
		}
	}
}

func hasRefs(s string) bool { return slices.Contains([]byte(s), '$') }

func (v *validator) checkManagedNetwork(doc *Document, path string, n *ManagedNetwork) {
	azs := n.AvailabilityZones
	if azs < 1 || azs > maxAZs {
		v.errorf(doc.PosOf(path+".availabilityZones"), "availabilityZones must be 1 to %d, not %d", maxAZs, azs)
		azs = 0
	} else if azs == 1 {
		v.diags.add(doc.PosOf(path+".availabilityZones"), Warning,
			"one availability zone: load balancers and database subnet groups need two, and the environment has no redundancy; use 2 or more")
	}
	switch {
	case n.NATGateways < 0 || azs > 0 && n.NATGateways != 0 && n.NATGateways != 1 && n.NATGateways != azs:
		v.errorf(doc.PosOf(path+".natGateways"), "natGateways must be 0, 1 (shared by every zone) or %d (one per availability zone), not %d", max(azs, 2), n.NATGateways)
	case n.NATGateways == 0:
		v.diags.add(doc.PosOf(path+".natGateways"), Warning,
			"natGateways: 0 leaves the private subnets without a route to the internet: tasks there cannot pull public images or call AWS APIs without VPC endpoints")
	}
	if n.CIDR == "" {
		v.errorf(doc.PosOf(path), "%s needs cidr, like 10.20.0.0/16", path)
		return
	}
	pos := doc.PosOf(path + ".cidr")
	prefix, err := netip.ParsePrefix(n.CIDR)
	switch {
	case err != nil || !prefix.Addr().Is4():
		v.errorf(pos, "cidr %q is not an IPv4 CIDR block like 10.20.0.0/16", n.CIDR)
		return
	case prefix.Masked() != prefix:
		v.errorf(pos, "cidr %s has host bits set; the block starts at %s", n.CIDR, prefix.Masked())
		return
	case prefix.Bits() < 16 || prefix.Bits() > 28:
		v.errorf(pos, "cidr %s: AWS allows VPC blocks from /16 to /28", n.CIDR)
		return
	}
	if !slices.ContainsFunc(privateRanges, func(r netip.Prefix) bool { return r.Contains(prefix.Addr()) && r.Bits() <= prefix.Bits() }) {
		v.diags.add(pos, Warning, "cidr %s is not in a private range (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10); addresses in it are unreachable on the internet from inside the VPC", n.CIDR)
	}
	if azs > 0 {
		// A public and a private subnet per zone, each a power-of-two share of the block.
		need := bits.Len(uint(2*azs - 1))
		if sub := prefix.Bits() + need; sub > maxSubnetPrefix {
			v.errorf(pos, "cidr %s is too small for %d availability zones: %d subnets of it are /%d each, and each must be /%d or larger; use a /%d or larger block",
				n.CIDR, azs, 2*azs, sub, maxSubnetPrefix, maxSubnetPrefix-need)
		}
	}
}

// placementChecks checks that an internet-facing load balancer has public subnets to go in
// wherever it runs in an existing network, and that a provisioned MSK cluster has a private
// subnet for each of its zones. (A networked component in an environment with no
// network is the provider's to refuse: the simulated cloud needs none.)
func (v *validator) placementChecks() {
	st := v.stack
	if st == nil {
		return
	}
	for _, c := range v.cfg.Components {
		if msk, ok := c.Spec.(*MSKSpec); ok && !msk.Serverless {
			for _, env := range v.envs {
				if n := privateSubnets(st.Network(env)); n > 0 && n < msk.AvailabilityZones {
					v.errorf(c.PosOf("spec.availabilityZones"), "the cluster's brokers go in %d availability zones, and %s's network has %d private subnets: use availabilityZones: %d, or a network of %d zones",
						msk.AvailabilityZones, environmentName(env), n, n, msk.AvailabilityZones)
				}
			}
		}
		if (c.Kind != "ALB" && c.Kind != "NLB") || isInternal(c) {
			continue
		}
		for _, env := range v.envs {
			if n := st.Network(env); n != nil && n.Existing != nil && len(n.Existing.PublicSubnets) == 0 {
				v.errorf(c.PosOf("kind"), "an internet-facing %s goes in public subnets, and %s's existing network lists none: add publicSubnets to it, or set spec.internal: true", c.Kind, environmentName(env))
			}
		}
	}
}

// privateSubnets is how many private subnets n has (0 for no network).
func privateSubnets(n *NetworkSpec) int {
	switch {
	case n == nil:
		return 0
	case n.Existing != nil:
		return len(n.Existing.PrivateSubnets)
	case n.Managed != nil:
		return n.Managed.AvailabilityZones
	}
	return 0
}

func isInternal(c *Component) bool {
	switch s := c.Spec.(type) {
	case *ALBSpec:
		return s.Internal
	case *NLBSpec:
		return s.Internal
	}
	return false
}

// environmentName names env for a message: "environment dev", or "the stack" when it declares
// no environments.
func environmentName(env string) string {
	if env == DefaultEnvironment {
		return "the stack"
	}
	return "environment " + env
}
