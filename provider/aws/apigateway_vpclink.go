package aws

import (
	"context"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	agtypes "github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/panka/panka/provider"
)

// Private integrations: an HTTP API reaches a MicroService through a VPC link to the listener of
// the load balancer the service is attached to (what AWS recommends for HTTP APIs). The engine
// injects, per route to a service, the load balancer's ARN (routes[].loadBalancer), the port of
// the listener the service's rule sits on (routes[].listenerPort) and the service's address as
// the target; and the API's network (the private subnets and the API's own security group).
//
//	VPC link      one per API, named as the API (names need not be unique: the links of the
//	              API's name are its own), in network.subnets with network.securityGroups, with
//	              the component's tags; waited for until AVAILABLE. A link's subnets and groups
//	              cannot change: a link of other ones is replaced (a new link first, the
//	              integrations moved to it, then the old one deleted and waited for until gone,
//	              so that its security group can go)
//	integration   HTTP_PROXY, connection VPC_LINK, method ANY, payload format 1.0, the listener's
//	              ARN as its URI, the target service's address as its description (what the
//	              route reads back as); one per distinct listener and service. No tlsConfig: for
//	              an HTTPS listener API Gateway would verify serverNameToVerify against the
//	              listener's certificate, whose host names Panka does not know (the ALB's DNS
//	              name is not on it); without it API Gateway sends no SNI and verifies nothing
//
// Read back, such a route's target is the description of its integration (else the listener's
// ARN), loadBalancer and listenerPort those of the listener (DescribeListeners; a listener that is
// gone reads back as its ARN in loadBalancer, without a port: drift). network reads back from the
// link (vpcId from its first subnet).
//
// A crash halfway leaves the API with a link (found again by name, adopted when its subnets and
// groups are the spec's, else replaced) and some integrations (converged by URI and
// description). A link of the API's name with another owner's tags is never the API's: Create
// refuses it before making anything, read, Update, Delete and DeleteParts leave it alone. Delete deletes the API (its integrations go with it), then the links, waiting
// until they are gone; DeleteParts deletes a recorded link, and any link of the API's name.

// apiLink is the VPC link a spec asks for.
type apiLink struct {
	subnets, groups []string
}

// apiPrivate is a private integration a spec asks for.
type apiPrivate struct {
	listener string // the listener's ARN
	service  string // the target's address, the integration's description
}

// privateKey is the key of a private integration among an API's integration keys (function
// ARNs for Lambda ones): the listener's ARN and the service.
func privateKey(listener, service string) string { return listener + "\x00" + service }

// integrationKey is the key of a live integration.
func integrationKey(in agtypes.Integration) string {
	if in.ConnectionType == agtypes.ConnectionTypeVpcLink {
		return privateKey(aws.ToString(in.IntegrationUri), aws.ToString(in.Description))
	}
	return aws.ToString(in.IntegrationUri)
}

func (k *apiKind) elbClient() *elb.Client { return elb.NewFromConfig(k.p.cfg) }

// listenerOf returns the ARN of the listener of load balancer lbARN on port.
func (k *apiKind) listenerOf(ctx context.Context, lbARN string, port int64) (string, error) {
	in := &elb.DescribeListenersInput{LoadBalancerArn: aws.String(lbARN)}
	for {
		out, err := k.elbClient().DescribeListeners(ctx, in)
		if err != nil {
			return "", fmt.Errorf("listeners of %s: %w", lbARN, err)
		}
		for _, l := range out.Listeners {
			if int64(aws.ToInt32(l.Port)) == port {
				return aws.ToString(l.ListenerArn), nil
			}
		}
		if in.Marker = out.NextMarker; aws.ToString(out.NextMarker) == "" {
			return "", fmt.Errorf("load balancer %s has no listener on port %d", lbARN, port)
		}
	}
}

// listenerSpec returns the load balancer ARN and port of the listener arn; ok false when it is
// gone.
func (k *apiKind) listenerSpec(ctx context.Context, arn string) (lbARN string, port int64, ok bool, err error) {
	out, err := k.elbClient().DescribeListeners(ctx, &elb.DescribeListenersInput{ListenerArns: []string{arn}})
	if isNotFound(err) {
		return "", 0, false, nil
	}
	if err != nil {
		return "", 0, false, fmt.Errorf("listener %s: %w", arn, err)
	}
	if len(out.Listeners) == 0 {
		return "", 0, false, nil
	}
	l := out.Listeners[0]
	return aws.ToString(l.LoadBalancerArn), int64(aws.ToInt32(l.Port)), true, nil
}

// links returns the VPC links named name.
func (k *apiKind) links(ctx context.Context, name string) ([]agtypes.VpcLink, error) {
	var out []agtypes.VpcLink
	for in := (&apigatewayv2.GetVpcLinksInput{}); ; {
		page, err := k.c.GetVpcLinks(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("VPC links: %w", err)
		}
		for _, l := range page.Items {
			if aws.ToString(l.Name) == name {
				out = append(out, l)
			}
		}
		if in.NextToken = page.NextToken; aws.ToString(page.NextToken) == "" {
			return out, nil
		}
	}
}

// usableLink reports whether the live link h is the one w asks for.
func usableLink(h agtypes.VpcLink, w *apiLink) bool {
	return w != nil && h.VpcLinkStatus != agtypes.VpcLinkStatusDeleting && h.VpcLinkStatus != agtypes.VpcLinkStatusFailed &&
		sameSet(h.SubnetIds, w.subnets) && sameSet(h.SecurityGroupIds, w.groups)
}

// convergeLink returns the ID of the API's VPC link w.link asks for ("" for none), made and
// waited for until AVAILABLE when there is none, and the IDs of its other links, which go once
// no integration uses them.
func (k *apiKind) convergeLink(ctx context.Context, l *apiLive, w *apiWant, tags map[string]string) (string, []string, error) {
	id := ""
	var stale []string
	for _, h := range l.links {
		if id == "" && usableLink(h, w.link) {
			id = aws.ToString(h.VpcLinkId)
		} else {
			stale = append(stale, aws.ToString(h.VpcLinkId))
		}
	}
	if w.link == nil {
		return "", stale, nil
	}
	if id == "" {
		out, err := k.c.CreateVpcLink(ctx, &apigatewayv2.CreateVpcLinkInput{Name: l.api.Name, SubnetIds: w.link.subnets,
			SecurityGroupIds: w.link.groups, Tags: cloneTags(tags)})
		if err != nil {
			return "", nil, fmt.Errorf("create VPC link: %w", err)
		}
		id = aws.ToString(out.VpcLinkId)
	}
	err := waitFor(ctx, func(ctx context.Context) (bool, error) {
		out, err := k.c.GetVpcLink(ctx, &apigatewayv2.GetVpcLinkInput{VpcLinkId: aws.String(id)})
		if err != nil {
			return false, fmt.Errorf("VPC link %s: %w", id, err)
		}
		switch out.VpcLinkStatus {
		case agtypes.VpcLinkStatusAvailable:
			return true, nil
		case agtypes.VpcLinkStatusFailed, agtypes.VpcLinkStatusDeleting, agtypes.VpcLinkStatusInactive:
			return false, fmt.Errorf("VPC link %s is %s: %s", id, out.VpcLinkStatus, aws.ToString(out.VpcLinkStatusMessage))
		}
		provider.ReportProgress(ctx, fmt.Sprintf("VPC link %s is %s", id, out.VpcLinkStatus))
		return false, nil
	})
	return id, stale, err
}

// deleteLink deletes the VPC link id and waits until it is gone (its network interfaces hold
// its security groups until then).
func (k *apiKind) deleteLink(ctx context.Context, id string) error {
	_, err := k.c.DeleteVpcLink(ctx, &apigatewayv2.DeleteVpcLinkInput{VpcLinkId: aws.String(id)})
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete VPC link %s: %w", id, err)
	}
	return waitFor(ctx, func(ctx context.Context) (bool, error) {
		out, err := k.c.GetVpcLink(ctx, &apigatewayv2.GetVpcLinkInput{VpcLinkId: aws.String(id)})
		if isNotFound(err) {
			return true, nil
		}
		if err != nil {
			return false, fmt.Errorf("VPC link %s: %w", id, err)
		}
		provider.ReportProgress(ctx, fmt.Sprintf("VPC link %s is %s", id, out.VpcLinkStatus))
		return false, nil
	})
}

// deleteLeftovers deletes the VPC links of r's name that carry r's owner tags: a link outlives
// an API deleted by a run that stopped before deleting it.
func (k *apiKind) deleteLeftovers(ctx context.Context, r provider.Resource) error {
	links, err := k.links(ctx, r.Name)
	if err != nil {
		return err
	}
	for _, l := range links {
		if provider.CheckOwner("VPC link", aws.ToString(l.VpcLinkId), l.Tags, r.Tags) != nil {
			continue // another owner's link of the name: not the API's
		}
		if err := k.deleteLink(ctx, aws.ToString(l.VpcLinkId)); err != nil {
			return err
		}
	}
	return nil
}

// linkNetwork is the spec's network of the link id among the API's links, nil if it has none.
func (k *apiKind) linkNetwork(ctx context.Context, l *apiLive, id string) (map[string]any, error) {
	i := slices.IndexFunc(l.links, func(h agtypes.VpcLink) bool { return aws.ToString(h.VpcLinkId) == id })
	if i < 0 {
		return nil, nil
	}
	h := l.links[i]
	n := map[string]any{"subnets": anyList(h.SubnetIds), "securityGroups": anyList(h.SecurityGroupIds)}
	if len(h.SubnetIds) > 0 {
		out, err := k.p.ec2Client().DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: h.SubnetIds[:1]})
		if err != nil && !isNotFound(err) {
			return nil, fmt.Errorf("the VPC of subnet %s: %w", h.SubnetIds[0], err)
		}
		if err == nil && len(out.Subnets) > 0 {
			n["vpcId"] = aws.ToString(out.Subnets[0].VpcId)
		}
	}
	return n, nil
}
