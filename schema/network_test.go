package schema

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
)

// networkStack is a stack whose environments declare the networks given, indented under
// "environments:".
func networkStack(envs string) string {
	return "apiVersion: panka.io/v1\nkind: Stack\nmetadata: {name: shop}\nspec:\n  provider: {name: aws, region: eu-west-1}\n  environments:\n" + envs
}

func TestNetworkRules(t *testing.T) {
	for _, tc := range []struct {
		name, envs string
		want       []string
	}{
		{"valid", `    dev:
      network:
        managed: {cidr: 10.20.0.0/16, availabilityZones: 3, natGateways: 3}
    prod:
      network:
        existing:
          vpcId: vpc-0a1b2c3d4e5f60718
          privateSubnets: [subnet-0a1b2c3d4e5f60718, subnet-1a1b2c3d4e5f60718]
          publicSubnets: [subnet-2a1b2c3d4e5f60718]
`, nil},
		{"both and neither", `    dev:
      network:
        existing: {vpcId: vpc-0a1b2c3d}
        managed: {cidr: 10.0.0.0/16}
    prod:
      network: {}
`, []string{
			`s.yaml:10:18: error: spec.environments.dev.network takes either existing or managed, not both`,
			`s.yaml:12:16: error: spec.environments.prod.network needs existing (a VPC and its subnets) or managed (a CIDR Panka splits into subnets)`,
		}},
		{"existing", `    dev:
      network:
        existing:
          vpcId: vpc-12
          privateSubnets: [subnet-0a1b2c3d]
          publicSubnets: [subnet-0a1b2c3d, sn-1]
`, []string{
			`s.yaml:10:18: error: vpcId "vpc-12" is not a VPC ID (vpc- and 8 or 17 hex digits)`,
			`s.yaml:11:27: error: spec.environments.dev.network.existing.privateSubnets has one subnet; load balancers and database subnet groups need two, in different availability zones`,
			`s.yaml:12:27: error: subnet subnet-0a1b2c3d is listed twice (also spec.environments.dev.network.existing.privateSubnets[0]); a subnet is either private or public, once`,
			`s.yaml:12:44: error: "sn-1" is not a subnet ID (subnet- and 8 or 17 hex digits)`,
		}},
		{"managed", `    a:
      network: {managed: {cidr: 10.0.0.1/16}}
    b:
      network: {managed: {cidr: 10.0.0.0/26, availabilityZones: 2}}
    c:
      network: {managed: {cidr: 10.0.0.0/23, availabilityZones: 3, natGateways: 2}}
    d:
      network: {managed: {cidr: 8.8.0.0/16, availabilityZones: 7}}
    e:
      network: {managed: {cidr: fd00::/56}}
`, []string{
			`s.yaml:8:33: error: cidr 10.0.0.1/16 has host bits set; the block starts at 10.0.0.0/16`,
			`s.yaml:10:33: error: cidr 10.0.0.0/26 is too small for 2 availability zones: 4 subnets of it are /28 each, and each must be /24 or larger; use a /22 or larger block`,
			`s.yaml:12:33: error: cidr 10.0.0.0/23 is too small for 3 availability zones: 6 subnets of it are /26 each, and each must be /24 or larger; use a /21 or larger block`,
			`s.yaml:12:81: error: natGateways must be 0, 1 (shared by every zone) or 3 (one per availability zone), not 2`,
			`s.yaml:14:33: warning: cidr 8.8.0.0/16 is not in a private range (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10); addresses in it are unreachable on the internet from inside the VPC`,
			`s.yaml:14:64: error: availabilityZones must be 1 to 6, not 7`,
			`s.yaml:16:33: error: cidr "fd00::/56" is not an IPv4 CIDR block like 10.20.0.0/16`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := ParseBytes("s.yaml", []byte(networkStack(tc.envs)))
			require.NoError(t, err)
			var got []string
			if diags := Validate(cfg); len(diags) > 0 {
				got = strings.Split(diags.Error(), "\n")
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("diagnostics (-want +got):\n%s", d)
			}
		})
	}
}

// TestNetworkOfAnEnvironment: an environment's own network, else the stack's; a managed
// network's zones and NAT gateways default to 2 and 1.
func TestNetworkOfAnEnvironment(t *testing.T) {
	cfg, err := ParseBytes("s.yaml", []byte(`apiVersion: panka.io/v1
kind: Stack
metadata: {name: shop}
spec:
  provider: {name: aws, region: eu-west-1}
  network: {managed: {cidr: 10.1.0.0/16}}
  environments:
    dev: {}
    prod:
      network:
        existing: {vpcId: vpc-0a1b2c3d, privateSubnets: [subnet-0a1b2c3d, subnet-1a1b2c3d]}
`))
	require.NoError(t, err)
	require.Empty(t, Validate(cfg))
	st := cfg.Stack()
	require.Equal(t, &ManagedNetwork{CIDR: "10.1.0.0/16", AvailabilityZones: 2, NATGateways: 1}, st.Network("dev").Managed)
	require.Equal(t, "vpc-0a1b2c3d", st.Network("prod").Existing.VPCID)
	require.Nil(t, st.Network("prod").Managed)
}

// TestInternetFacingLoadBalancerNeedsPublicSubnets: an existing network without public subnets
// can hold an internal load balancer, not an internet-facing one.
func TestInternetFacingLoadBalancerNeedsPublicSubnets(t *testing.T) {
	cfg, err := ParseBytes("s.yaml", []byte(`apiVersion: panka.io/v1
kind: Stack
metadata: {name: shop}
spec:
  provider: {name: aws, region: eu-west-1}
  network: {managed: {cidr: 10.1.0.0/16}}
  environments:
    dev: {}
    prod:
      network:
        existing: {vpcId: vpc-0a1b2c3d, privateSubnets: [subnet-0a1b2c3d, subnet-1a1b2c3d]}
---
apiVersion: panka.io/v1
kind: Service
metadata: {name: edge}
---
apiVersion: panka.io/v1
kind: ALB
metadata: {name: public, service: edge}
spec:
  listeners: [{port: 80, defaultAction: {fixedResponse: {statusCode: 404}}}]
---
apiVersion: panka.io/v1
kind: ALB
metadata: {name: private, service: edge}
spec:
  internal: true
  listeners: [{port: 80, defaultAction: {fixedResponse: {statusCode: 404}}}]
`))
	require.NoError(t, err)
	require.Equal(t, `s.yaml:18:7: error: an internet-facing ALB goes in public subnets, and environment prod's existing network lists none: add publicSubnets to it, or set spec.internal: true`,
		Validate(cfg).Error())
}

// TestExistingNetworkFromVariables: a landing zone's IDs may come from stack variables, which
// must exist; nothing else may be referenced.
func TestExistingNetworkFromVariables(t *testing.T) {
	cfg, err := ParseBytes("s.yaml", []byte(`apiVersion: panka.io/v1
kind: Stack
metadata: {name: shop}
spec:
  provider: {name: aws, region: eu-west-1}
  variables: {VPC: vpc-0a1b2c3d, A: subnet-0a1b2c3d}
  network:
    existing: {vpcId: "${VPC}", privateSubnets: ["${A}", "${B}", "${api.x}"]}
`))
	require.NoError(t, err)
	require.Equal(t, "s.yaml:8:59: error: undefined variable ${B}: define it in the Stack's spec.variables; did you mean \"A\"?\n"+
		"s.yaml:8:67: error: a network's IDs can reference only stack variables, not ${api.x}", Validate(cfg).Error())
}

// TestMSKZonesNeedSubnets: a provisioned MSK cluster needs a private subnet in each of its zones.
func TestMSKZonesNeedSubnets(t *testing.T) {
	cfg, err := ParseBytes("s.yaml", []byte(`apiVersion: panka.io/v1
kind: Stack
metadata: {name: shop}
spec:
  provider: {name: aws, region: eu-west-1}
  network: {managed: {cidr: 10.1.0.0/16}}
---
apiVersion: panka.io/v1
kind: Service
metadata: {name: data}
---
apiVersion: panka.io/v1
kind: MSK
metadata: {name: k, service: data}
spec: {availabilityZones: 3, brokerNodes: 3}
---
apiVersion: panka.io/v1
kind: MSK
metadata: {name: s, service: data}
spec: {serverless: true}
`))
	require.NoError(t, err)
	require.Equal(t, `s.yaml:15:27: error: the cluster's brokers go in 3 availability zones, and the stack's network has 2 private subnets: use availabilityZones: 2, or a network of 3 zones`,
		Validate(cfg).Error())
}
