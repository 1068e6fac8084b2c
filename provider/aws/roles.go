package aws

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"net/url"
	"reflect"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/panka/panka/provider"
)

// The IAM roles and log groups composite kinds make as parts (Lambda's, the container kinds'):
// each kind embeds iamRoles and logGroups. A role has at most one inline policy, named
// lambdaPolicyName ("panka"), and the managed policies the kind attaches; a part whose
// ownership tags name another deployment is refused, never adopted, and never deleted as a
// leftover.

// iamRoles makes, reads and deletes the roles of a kind.
type iamRoles struct{ iam *iam.Client }

// ensureRole makes the role name trusting service with the inline policy (none when policy is
// "") and the managed policies (ARNs), or adopts the role of that name (unless its ownership
// tags name another deployment), changing the inline policy only when it differs and
// attaching the managed policies it lacks. It returns the role's ARN.
func (k iamRoles) ensureRole(ctx context.Context, name, service string, tags map[string]string, policy string, managed ...string) (string, error) {
	var arn string
	out, err := k.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	switch {
	case isNotFound(err):
		var iamTags []iamtypes.Tag
		for _, key := range slices.Sorted(maps.Keys(tags)) {
			iamTags = append(iamTags, iamtypes.Tag{Key: aws.String(key), Value: aws.String(tags[key])})
		}
		made, err := k.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trustPolicy(service)), Tags: iamTags})
		if err != nil {
			return "", fmt.Errorf("create role %s: %w", name, err)
		}
		arn = aws.ToString(made.Role.Arn)
	case err != nil:
		return "", fmt.Errorf("role %s: %w", name, err)
	default:
		if err := provider.CheckOwner("IAM role", name, roleTags(out.Role), tags); err != nil {
			return "", err
		}
		arn = aws.ToString(out.Role.Arn)
	}
	have, err := k.rolePolicy(ctx, name)
	if err != nil {
		return "", err
	}
	switch {
	case policy == "" && have != "":
		if _, err := k.iam.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(lambdaPolicyName)}); err != nil && !isNotFound(err) {
			return "", fmt.Errorf("delete policy of role %s: %w", name, err)
		}
	case policy != "" && !samePolicy(have, policy):
		if _, err := k.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(lambdaPolicyName), PolicyDocument: aws.String(policy)}); err != nil {
			return "", fmt.Errorf("put policy of role %s: %w", name, err)
		}
	}
	if len(managed) > 0 {
		attached, err := k.attachedPolicies(ctx, name)
		if err != nil {
			return "", err
		}
		for _, m := range managed {
			if slices.Contains(attached, m) {
				continue
			}
			if _, err := k.iam.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(name), PolicyArn: aws.String(m)}); err != nil {
				return "", fmt.Errorf("attach %s to role %s: %w", m, name, err)
			}
		}
	}
	return arn, nil
}

// attachedPolicies returns the ARNs of the managed policies attached to the role name.
func (k iamRoles) attachedPolicies(ctx context.Context, name string) ([]string, error) {
	var out []string
	in := &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(name)}
	for {
		page, err := k.iam.ListAttachedRolePolicies(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("managed policies of role %s: %w", name, err)
		}
		for _, p := range page.AttachedPolicies {
			out = append(out, aws.ToString(p.PolicyArn))
		}
		if !page.IsTruncated || page.Marker == nil {
			return out, nil
		}
		in.Marker = page.Marker
	}
}

func roleTags(r *iamtypes.Role) map[string]string {
	tags := map[string]string{}
	for _, t := range r.Tags {
		tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return tags
}

// rolePolicy returns the role's inline policy document, "" if it has none.
func (k iamRoles) rolePolicy(ctx context.Context, role string) (string, error) {
	out, err := k.iam.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String(lambdaPolicyName)})
	if isNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("policy of role %s: %w", role, err)
	}
	doc := aws.ToString(out.PolicyDocument)
	if d, err := url.QueryUnescape(doc); err == nil && strings.HasPrefix(doc, "%") {
		doc = d // IAM answers the document URL-encoded
	}
	return doc, nil
}

// samePolicy reports whether two policy documents say the same (as JSON values).
func samePolicy(a, b string) bool {
	if a == "" || b == "" {
		return a == b
	}
	av, aerr := jsonValue(a)
	bv, berr := jsonValue(b)
	return aerr == nil && berr == nil && reflect.DeepEqual(av, bv)
}

// deleteRole removes the role name, its inline policy and its managed policies' attachments
// first (IAM refuses to delete a role that has any); a role that is not there is no error.
func (k iamRoles) deleteRole(ctx context.Context, name string) error {
	if _, err := k.iam.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(lambdaPolicyName)}); err != nil && !isNotFound(err) {
		return fmt.Errorf("delete policy of role %s: %w", name, err)
	}
	attached, err := k.attachedPolicies(ctx, name)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, m := range attached {
		if _, err := k.iam.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String(name), PolicyArn: aws.String(m)}); err != nil && !isNotFound(err) {
			return fmt.Errorf("detach %s from role %s: %w", m, name, err)
		}
	}
	if _, err := k.iam.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String(name)}); err != nil && !isNotFound(err) {
		return fmt.Errorf("delete role %s: %w", name, err)
	}
	return nil
}

// role returns the role name, nil if there is none.
func (k iamRoles) role(ctx context.Context, name string) (*iamtypes.Role, error) {
	out, err := k.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("role %s: %w", name, err)
	}
	return out.Role, nil
}

// deleteOwnedRole deletes the role name unless it is missing or its ownership tags name another
// owner than owner.
func (k iamRoles) deleteOwnedRole(ctx context.Context, name string, owner map[string]string) error {
	r, err := k.role(ctx, name)
	if err != nil || r == nil {
		return err
	}
	if provider.CheckOwner("IAM role", name, roleTags(r), owner) != nil {
		return nil
	}
	return k.deleteRole(ctx, name)
}

func trustPolicy(service string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"` + service + `"},"Action":"sts:AssumeRole"}]}`
}

// logGroups makes, reads and deletes the log groups of a kind.
type logGroups struct{ logs *cloudwatchlogs.Client }

// ensureGroup makes the log group name, tagged; one of that name is adopted.
func (g logGroups) ensureGroup(ctx context.Context, name string, tags map[string]string) error {
	_, err := g.logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(name), Tags: cloneTags(tags)})
	if err != nil && classify(err) != provider.ErrAlreadyExists {
		return fmt.Errorf("create log group %s: %w", name, err)
	}
	return nil
}

func (g logGroups) deleteGroup(ctx context.Context, name string) error {
	if _, err := g.logs.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String(name)}); err != nil && !isNotFound(err) {
		return fmt.Errorf("delete log group %s: %w", name, err)
	}
	return nil
}

// groupARN returns the ARN of the log group name, "" if there is none.
func (g logGroups) groupARN(ctx context.Context, name string) (string, error) {
	out, err := g.logs.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(name)})
	if err != nil {
		return "", fmt.Errorf("log group %s: %w", name, err)
	}
	for _, lg := range out.LogGroups {
		if aws.ToString(lg.LogGroupName) == name {
			return cmp.Or(aws.ToString(lg.LogGroupArn), strings.TrimSuffix(aws.ToString(lg.Arn), ":*")), nil
		}
	}
	return "", nil
}

// deleteOwnedGroup deletes the log group name unless it is missing or its ownership tags name
// another owner than owner.
func (g logGroups) deleteOwnedGroup(ctx context.Context, name string, owner map[string]string) error {
	arn, err := g.groupARN(ctx, name)
	if err != nil || arn == "" {
		return err
	}
	tags, err := g.logs.ListTagsForResource(ctx, &cloudwatchlogs.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
	if err != nil {
		return fmt.Errorf("tags of log group %s: %w", name, err)
	}
	if provider.CheckOwner("log group", name, tags.Tags, owner) != nil {
		return nil
	}
	return g.deleteGroup(ctx, name)
}
