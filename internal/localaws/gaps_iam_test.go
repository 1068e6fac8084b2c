package localaws

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/google/go-cmp/cmp"
)

func gapIAMClient(t *testing.T, endpoint string) *iam.Client {
	t.Helper()
	cfg, err := sdkConfig(t.Context(), endpoint, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	return iam.NewFromConfig(cfg)
}

const gapTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

func newRole(t *testing.T, c *iam.Client, tags ...iamtypes.Tag) string {
	t.Helper()
	name := uniqueName("gap-role")
	if _, err := c.CreateRole(t.Context(), &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(gapTrust), Tags: tags}); err != nil {
		t.Fatal(err)
	}
	return name
}

func tagMap(tags []iamtypes.Tag) map[string]string {
	out := map[string]string{}
	for _, t := range tags {
		out[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return out
}

// IAM has ListRoleTags and UntagRole; kumo v0.33.1 has neither (InvalidAction).
func TestKumoIAMNoListRoleTagsOrUntagRole(t *testing.T) {
	c := gapIAMClient(t, gapEmulator(t).srv.URL)
	name := newRole(t, c, iamtypes.Tag{Key: aws.String("k"), Value: aws.String("v")})
	if _, err := c.ListRoleTags(t.Context(), &iam.ListRoleTagsInput{RoleName: aws.String(name)}); err == nil {
		t.Fatal("kumo answers ListRoleTags: the layer need not")
	}
	if _, err := c.UntagRole(t.Context(), &iam.UntagRoleInput{RoleName: aws.String(name), TagKeys: []string{"k"}}); err == nil {
		t.Fatal("kumo answers UntagRole: the layer need not")
	}
}

// IAM has the AWS-managed policies; kumo v0.33.1 has none, and no GetPolicyVersion.
func TestKumoIAMNoAWSManagedPolicies(t *testing.T) {
	c := gapIAMClient(t, gapEmulator(t).srv.URL)
	arn := aws.String(managedPolicyARN("AWSLambdaBasicExecutionRole"))
	if _, err := c.GetPolicy(t.Context(), &iam.GetPolicyInput{PolicyArn: arn}); errorCode(err) != "NoSuchEntity" {
		t.Fatalf("kumo GetPolicy of a managed policy: %v: the layer may not be needed", err)
	}
	name := newRole(t, c)
	if _, err := c.AttachRolePolicy(t.Context(), &iam.AttachRolePolicyInput{RoleName: aws.String(name), PolicyArn: arn}); errorCode(err) != "NoSuchEntity" {
		t.Fatalf("kumo AttachRolePolicy of a managed policy: %v: the layer may not be needed", err)
	}
	if _, err := c.GetPolicyVersion(t.Context(), &iam.GetPolicyVersionInput{PolicyArn: arn, VersionId: aws.String("v1")}); errorCode(err) != "InvalidAction" {
		t.Fatalf("kumo GetPolicyVersion: %v: the layer may not be needed", err)
	}
}

func TestGapIAMRoleTags(t *testing.T) {
	c := gapIAMClient(t, gapEmulator(t).URL)
	ctx := t.Context()
	name := newRole(t, c, iamtypes.Tag{Key: aws.String("owner"), Value: aws.String("panka")}, iamtypes.Tag{Key: aws.String("n"), Value: aws.String("42")})
	roleTags := func() map[string]string {
		t.Helper()
		got, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		listed, err := c.ListRoleTags(ctx, &iam.ListRoleTagsInput{RoleName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(tagMap(got.Role.Tags), tagMap(listed.Tags)); d != "" {
			t.Errorf("GetRole and ListRoleTags differ (-get +list):\n%s", d)
		}
		return tagMap(listed.Tags)
	}
	if d := cmp.Diff(map[string]string{"owner": "panka", "n": "42"}, roleTags()); d != "" {
		t.Errorf("CreateRole's tags (-want +got):\n%s", d)
	}
	if _, err := c.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String(name), Tags: []iamtypes.Tag{{Key: aws.String("n"), Value: aws.String("43")}, {Key: aws.String("x"), Value: aws.String("y")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UntagRole(ctx, &iam.UntagRoleInput{RoleName: aws.String(name), TagKeys: []string{"owner"}}); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(map[string]string{"n": "43", "x": "y"}, roleTags()); d != "" {
		t.Errorf("after TagRole and UntagRole (-want +got):\n%s", d)
	}
	for _, err := range []error{
		func() error {
			_, err := c.ListRoleTags(ctx, &iam.ListRoleTagsInput{RoleName: aws.String("missing-role")})
			return err
		}(),
		func() error {
			_, err := c.UntagRole(ctx, &iam.UntagRoleInput{RoleName: aws.String("missing-role"), TagKeys: []string{"k"}})
			return err
		}(),
		func() error {
			_, err := c.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String("missing-role"), Tags: []iamtypes.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
			return err
		}(),
	} {
		if errorCode(err) != "NoSuchEntity" {
			t.Errorf("tagging a missing role: %v, want NoSuchEntity", err)
		}
	}
	// A role deleted and made again starts without the old tags.
	if _, err := c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(gapTrust)}); err != nil {
		t.Fatal(err)
	}
	if got := roleTags(); len(got) != 0 {
		t.Errorf("tags of a role made again: %v, want none", got)
	}
}

func TestGapIAMManagedPolicies(t *testing.T) {
	c := gapIAMClient(t, gapEmulator(t).URL)
	ctx := t.Context()
	for name, p := range awsManagedPolicies {
		arn := aws.String(managedPolicyARN(name))
		got, err := c.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: arn})
		if err != nil {
			t.Fatalf("GetPolicy %s: %v", *arn, err)
		}
		if aws.ToString(got.Policy.PolicyName) != name || aws.ToString(got.Policy.Arn) != *arn || aws.ToString(got.Policy.Path) != p.Path || aws.ToString(got.Policy.DefaultVersionId) != "v1" {
			t.Errorf("GetPolicy %s: %+v", *arn, got.Policy)
		}
		v, err := c.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: arn, VersionId: aws.String("v1")})
		if err != nil {
			t.Fatalf("GetPolicyVersion %s: %v", *arn, err)
		}
		if doc, err := url.QueryUnescape(aws.ToString(v.PolicyVersion.Document)); err != nil || doc != p.Document || !v.PolicyVersion.IsDefaultVersion {
			t.Errorf("GetPolicyVersion %s: %q (%v), want %q", *arn, doc, err, p.Document)
		}
	}
	if _, err := c.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String(awsManagedPrefix + "/NoSuchPolicy")}); errorCode(err) != "NoSuchEntity" {
		t.Errorf("GetPolicy of an unknown managed policy: %v, want NoSuchEntity", err)
	}
	if _, err := c.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: aws.String(managedPolicyARN("AWSLambdaBasicExecutionRole")), VersionId: aws.String("v9")}); errorCode(err) != "NoSuchEntity" {
		t.Errorf("GetPolicyVersion of an unknown version: %v, want NoSuchEntity", err)
	}

	role := aws.String(newRole(t, c))
	custom, err := c.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String(uniqueName("gap-policy")), PolicyDocument: aws.String(awsManagedPolicies["AWSLambdaBasicExecutionRole"].Document)})
	if err != nil {
		t.Fatal(err)
	}
	basic, ecs := managedPolicyARN("AWSLambdaBasicExecutionRole"), managedPolicyARN("AmazonECSTaskExecutionRolePolicy")
	for _, arn := range []string{basic, ecs, aws.ToString(custom.Policy.Arn), basic} { // attaching twice is no error
		if _, err := c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: role, PolicyArn: aws.String(arn)}); err != nil {
			t.Fatalf("AttachRolePolicy %s: %v", arn, err)
		}
	}
	attached := func() []string {
		t.Helper()
		out, err := c.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: role})
		if err != nil {
			t.Fatal(err)
		}
		var arns []string
		for _, p := range out.AttachedPolicies {
			arns = append(arns, aws.ToString(p.PolicyArn))
			if !strings.HasSuffix(aws.ToString(p.PolicyArn), "/"+aws.ToString(p.PolicyName)) {
				t.Errorf("attached policy %+v: name and ARN differ", p)
			}
		}
		slices.Sort(arns)
		return arns
	}
	want := []string{basic, ecs, aws.ToString(custom.Policy.Arn)}
	slices.Sort(want)
	if d := cmp.Diff(want, attached()); d != "" {
		t.Errorf("ListAttachedRolePolicies (-want +got):\n%s", d)
	}
	if got, err := c.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String(ecs)}); err != nil || aws.ToInt32(got.Policy.AttachmentCount) != 1 {
		t.Errorf("GetPolicy after attaching: %v, %v; want AttachmentCount 1", got, err)
	}
	if _, err := c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("missing-role"), PolicyArn: aws.String(basic)}); errorCode(err) != "NoSuchEntity" {
		t.Errorf("AttachRolePolicy to a missing role: %v, want NoSuchEntity", err)
	}
	if _, err := c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: role, PolicyArn: aws.String(awsManagedPrefix + "/NoSuchPolicy")}); errorCode(err) != "NoSuchEntity" {
		t.Errorf("AttachRolePolicy of an unknown managed policy: %v, want NoSuchEntity", err)
	}
	if _, err := c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: role}); errorCode(err) != "DeleteConflict" {
		t.Errorf("DeleteRole with policies attached: %v, want DeleteConflict", err)
	}
	for _, arn := range want {
		if _, err := c.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: role, PolicyArn: aws.String(arn)}); err != nil {
			t.Fatalf("DetachRolePolicy %s: %v", arn, err)
		}
	}
	if got := attached(); len(got) != 0 {
		t.Errorf("attached after detaching all: %v", got)
	}
	if _, err := c.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: role, PolicyArn: aws.String(basic)}); errorCode(err) != "NoSuchEntity" {
		t.Errorf("DetachRolePolicy of a policy not attached: %v, want NoSuchEntity", err)
	}
	if _, err := c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: role}); err != nil {
		t.Errorf("DeleteRole after detaching: %v", err)
	}
}

func TestGapIAMStatePersists(t *testing.T) {
	dir := t.TempDir()
	g := newIAMGapState(dir)
	rec := &iamRole{Tags: map[string]string{"k": "v"}, Managed: []string{managedPolicyARN("AWSLambdaBasicExecutionRole")}}
	if err := g.set("r", rec); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(rec, newIAMGapState(dir).role("r")); d != "" {
		t.Errorf("after a restart (-want +got):\n%s", d)
	}
	if err := g.set("r", nil); err != nil {
		t.Fatal(err)
	}
	if got := newIAMGapState(dir).role("r"); got != nil {
		t.Errorf("after a delete and a restart: %+v", got)
	}
}

// Operations neither the layer nor kumo has fail loudly through the layer.
func TestGapUnknownIAMAndEC2OperationsFail(t *testing.T) {
	url := gapEmulator(t).URL
	if _, err := gapIAMClient(t, url).GetAccountAuthorizationDetails(t.Context(), &iam.GetAccountAuthorizationDetailsInput{}); errorCode(err) != "InvalidAction" {
		t.Errorf("IAM GetAccountAuthorizationDetails: %v, want InvalidAction", err)
	}
	if _, err := gapEC2Client(t, url).DescribeVpcEndpoints(t.Context(), &ec2.DescribeVpcEndpointsInput{}); err == nil {
		t.Error("EC2 DescribeVpcEndpoints succeeds: kumo has it now, or the layer answers it")
	}
}

// Concurrent TagRole calls on one role lose no tag.
func TestGapIAMConcurrentTagRole(t *testing.T) {
	c := gapIAMClient(t, gapEmulator(t).URL)
	name := aws.String(newRole(t, c))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			k := fmt.Sprintf("k%d", i)
			if _, err := c.TagRole(t.Context(), &iam.TagRoleInput{RoleName: name, Tags: []iamtypes.Tag{{Key: aws.String(k), Value: aws.String("v")}}}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	out, err := c.ListRoleTags(t.Context(), &iam.ListRoleTagsInput{RoleName: name})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Tags) != 8 {
		t.Errorf("ListRoleTags after 8 concurrent TagRole: %v", tagMap(out.Tags))
	}
}
