package schema

import (
	"fmt"
	"math/bits"
	"net/netip"
)

// The kinds below are made by Panka itself, never written in a document: the parts of a managed
// network, a security group for each networked component, and the ECS cluster the stack's
// containers run in. The engine derives them from the stack's network and the components (see
// the root package's infra.go) and plans them like any other resource, with addresses in the
// reserved service StackService ("stack/vpc", "stack/cluster") or beside their component
// ("api/web--sg": "--" cannot occur in a name someone writes).

// StackService is the service name under which Panka addresses the stack-wide resources it
// makes; no Service document may take it.
const StackService = "stack"

// VPCSpec is a managed network's VPC, with DNS support and hostnames on.
type VPCSpec struct {
	CIDR string `yaml:"cidr" panka:"forcenew"`
}

// SubnetSpec is one subnet of a managed network.
type SubnetSpec struct {
	VPCID string `yaml:"vpcId" panka:"forcenew"`
	CIDR  string `yaml:"cidr" panka:"forcenew"`
	// Zone is the index of the subnet's availability zone among the region's zones that are
	// available, sorted by name (0 is the "a" zone in most regions).
	Zone int `yaml:"zone" panka:"forcenew"`
	// Public subnets give instances launched in them a public IP (MapPublicIpOnLaunch).
	Public bool `yaml:"public"`
}

// InternetGatewaySpec is a managed network's internet gateway, attached to its VPC.
type InternetGatewaySpec struct {
	VPCID string `yaml:"vpcId" panka:"forcenew"`
}

// NATGatewaySpec is a public NAT gateway with an Elastic IP of its own (a part).
type NATGatewaySpec struct {
	SubnetID string `yaml:"subnetId" panka:"forcenew"`
}

// RouteTableSpec is a route table, its routes and the subnets associated with it.
type RouteTableSpec struct {
	VPCID   string   `yaml:"vpcId" panka:"forcenew"`
	Routes  []Route  `yaml:"routes"`
	Subnets []string `yaml:"subnets"` // subnet IDs; unordered
}

// Route sends Destination to exactly one of an internet gateway or a NAT gateway.
type Route struct {
	Destination       string `yaml:"destination"` // IPv4 CIDR: 0.0.0.0/0
	InternetGatewayID string `yaml:"internetGatewayId"`
	NATGatewayID      string `yaml:"natGatewayId"`
}

// SecurityGroupSpec is the security group of one networked component. Egress is AWS's default
// (everything); Ingress is exactly what the config implies (see infra.go in the root package).
type SecurityGroupSpec struct {
	VPCID       string `yaml:"vpcId" panka:"forcenew"`
	Description string `yaml:"description" panka:"forcenew"`
	// Ingress rules; unordered.
	Ingress []SecurityGroupRule `yaml:"ingress"`
}

// SecurityGroupRule admits Protocol traffic to ports FromPort..ToPort from exactly one of an
// IPv4 CIDR or another security group.
type SecurityGroupRule struct {
	Protocol      string `yaml:"protocol"` // tcp or udp
	FromPort      int    `yaml:"fromPort"`
	ToPort        int    `yaml:"toPort"`
	CIDR          string `yaml:"cidr"`
	SecurityGroup string `yaml:"securityGroup"` // a group ID
	Description   string `yaml:"description"`   // the component the rule is for
}

// ECSClusterSpec is the one ECS cluster of a tenant's stack environment.
type ECSClusterSpec struct {
	ContainerInsights bool `yaml:"containerInsights"`
}

func (*VPCSpec) Validate(*Check)             {}
func (*SubnetSpec) Validate(*Check)          {}
func (*InternetGatewaySpec) Validate(*Check) {}
func (*NATGatewaySpec) Validate(*Check)      {}
func (*RouteTableSpec) Validate(*Check)      {}
func (*SecurityGroupSpec) Validate(*Check)   {}
func (*ECSClusterSpec) Validate(*Check)      {}

// SubnetCIDRs splits the block into a public and a private subnet per availability zone, each
// the same power-of-two share of it: public subnets first, then private ones. It returns nils
// for a block validation refuses.
func (n *ManagedNetwork) SubnetCIDRs() (public, private []string) {
	prefix, err := netip.ParsePrefix(n.CIDR)
	azs := n.AvailabilityZones
	if err != nil || !prefix.Addr().Is4() || azs < 1 || azs > maxAZs {
		return nil, nil
	}
	need := bits.Len(uint(2*azs - 1))
	sub := prefix.Masked().Bits() + need
	if sub > maxSubnetPrefix {
		return nil, nil
	}
	base := prefix.Masked().Addr().As4()
	start := uint32(base[0])<<24 | uint32(base[1])<<16 | uint32(base[2])<<8 | uint32(base[3])
	size := uint32(1) << (32 - sub)
	nth := func(i int) string {
		a := start + uint32(i)*size
		return fmt.Sprintf("%d.%d.%d.%d/%d", a>>24, a>>16&0xff, a>>8&0xff, a&0xff, sub)
	}
	for i := range azs {
		public = append(public, nth(i))
		private = append(private, nth(azs+i))
	}
	return public, private
}

func init() {
	for _, k := range []KindInfo{
		{Name: "VPC", New: func() Spec { return &VPCSpec{} }, Outputs: []string{"vpcId", "cidr"}},
		{Name: "Subnet", New: func() Spec { return &SubnetSpec{} }, Outputs: []string{"subnetId", "availabilityZone"}},
		{Name: "InternetGateway", New: func() Spec { return &InternetGatewaySpec{} }, Outputs: []string{"internetGatewayId"}},
		{Name: "NATGateway", New: func() Spec { return &NATGatewaySpec{} }, Outputs: []string{"natGatewayId", "publicIp"}},
		{Name: "RouteTable", New: func() Spec { return &RouteTableSpec{} }, Outputs: []string{"routeTableId"}},
		{Name: "SecurityGroup", New: func() Spec { return &SecurityGroupSpec{} }, Outputs: []string{"groupId"},
			NameLimit: 255, NameWhat: "a security group name"},
		{Name: "ECSCluster", New: func() Spec { return &ECSClusterSpec{} }, Outputs: []string{"clusterName"},
			NameLimit: 255, NameWhat: "an ECS cluster name"},
	} {
		k.Internal = true
		RegisterKind(k)
	}
}
