package aws

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/panka/panka/provider"
)

var _ provider.PartDeleter = (*Provider)(nil)

// partDeleter is implemented by the kinds whose parts can outlive their resource.
type partDeleter interface {
	// deletePart deletes p, a part of a resource of the kind that no longer exists, if it still
	// exists. It reports false for a type the kind does not make.
	deletePart(ctx context.Context, p provider.Part) (known bool, err error)
}

// leftoverDeleter is implemented by the kinds that make parts before their resource, under
// names derived from its name: an interrupted create leaves them, recorded nowhere.
type leftoverDeleter interface {
	// deleteLeftovers deletes the parts of r made before r, whose tags (where they have any)
	// do not name another owner than r.Tags.
	deleteLeftovers(ctx context.Context, r provider.Resource) error
}

// DeleteParts implements provider.PartDeleter: it deletes what is left of r, a resource that
// does not exist: the parts the engine recorded (their IDs are the deterministic names and AWS
// IDs the kind reported), then those the kind makes before the resource, found by name. Parts
// deleted with their resource (an API's routes, a function's URL) need nothing; a part type the
// kind does not make is an error, so that nothing is left behind unnoticed.
func (p *Provider) DeleteParts(ctx context.Context, r provider.Resource, parts []provider.Part) error {
	k, err := p.changing(ctx, r.Kind)
	if err != nil {
		return opError("delete parts", r.Kind, r.Name, err)
	}
	pd, _ := k.(partDeleter)
	for _, part := range parts {
		known := false
		if pd != nil {
			if known, err = pd.deletePart(ctx, part); err != nil {
				return opError("delete part", r.Kind, part.ID, err)
			}
		}
		if !known {
			return opError("delete part", r.Kind, part.ID, fmt.Errorf("%s makes no part of type %s", r.Kind, part.Type))
		}
	}
	if ld, ok := k.(leftoverDeleter); ok {
		if err := ld.deleteLeftovers(ctx, r); err != nil {
			return opError("delete parts", r.Kind, r.Name, err)
		}
	}
	return nil
}

func (k *lambdaKind) deletePart(ctx context.Context, p provider.Part) (bool, error) {
	switch p.Type {
	case "AWS::IAM::Role":
		return true, k.deleteRole(ctx, p.ID)
	case "AWS::Logs::LogGroup":
		_, err := k.logs.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String(p.ID)})
		if err != nil && !isNotFound(err) {
			return true, fmt.Errorf("delete log group %s: %w", p.ID, err)
		}
		return true, nil
	case "AWS::Scheduler::Schedule":
		return true, k.deleteSchedule(ctx, p.ID)
	case "AWS::Lambda::EventSourceMapping":
		return true, k.deleteMapping(ctx, ltypes.EventSourceMappingConfiguration{UUID: aws.String(p.ID)})
	case "AWS::Lambda::Url", "AWS::Lambda::Permission":
		return true, nil // on the function: gone with it
	}
	return false, nil
}

func (k *apiKind) deletePart(ctx context.Context, p provider.Part) (bool, error) {
	switch p.Type {
	case "AWS::Lambda::Permission": // the API's, on a function: "FUNCTION#STATEMENT"
		fn, sid, ok := strings.Cut(p.ID, "#")
		if !ok {
			return true, fmt.Errorf("permission %q is not FUNCTION#STATEMENT", p.ID)
		}
		return true, k.removePermission(ctx, fn, sid)
	case "AWS::ApiGatewayV2::DomainName": // its API mappings go with it
		_, err := k.c.DeleteDomainName(ctx, &apigatewayv2.DeleteDomainNameInput{DomainName: aws.String(p.ID)})
		if err != nil && !isNotFound(err) {
			return true, fmt.Errorf("delete domain name %s: %w", p.ID, err)
		}
		return true, nil
	case "AWS::ApiGatewayV2::VpcLink": // outlives the API
		return true, k.deleteLink(ctx, p.ID)
	case "AWS::ApiGatewayV2::Integration", "AWS::ApiGatewayV2::Authorizer", "AWS::ApiGatewayV2::Route",
		"AWS::ApiGatewayV2::Stage", "AWS::ApiGatewayV2::ApiMapping":
		return true, nil // gone with the API
	}
	return false, nil
}

func (k *cfKind) deletePart(ctx context.Context, p provider.Part) (bool, error) {
	if p.Type == "AWS::CloudFront::OriginAccessControl" {
		return true, k.deleteOAC(ctx, p.ID)
	}
	return k.p.pol.deletePart(ctx, p, "AWS::S3::BucketPolicy") // the distribution's statement in a bucket's policy
}

// The policy statements a topic or a rule added to its targets (policy.go) outlive it.

func (k *snsKind) deletePart(ctx context.Context, p provider.Part) (bool, error) {
	return k.p.pol.deletePart(ctx, p, "AWS::SQS::QueuePolicy", "AWS::Lambda::Permission")
}

func (k *eventsKind) deletePart(ctx context.Context, p provider.Part) (bool, error) {
	return k.p.pol.deletePart(ctx, p, "AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy", "AWS::Lambda::Permission")
}

// deletePart deletes a part of a load balancer that is gone: its access-logs statement; its
// listeners went with it.
func (k *lbKind) deletePart(ctx context.Context, p provider.Part) (bool, error) {
	if p.Type == "AWS::ElasticLoadBalancingV2::Listener" {
		return true, nil // deleted with the load balancer
	}
	if k.network {
		return false, nil
	}
	return k.p.pol.deletePart(ctx, p, "AWS::S3::BucketPolicy")
}
