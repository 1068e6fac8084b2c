package aws_test

import (
	"encoding/json"
	"errors"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/panka/panka/provider"
	"github.com/panka/panka/provider/providertest"
)

// ecsEnv is the network and cluster the container kinds' tests run in: the default VPC's
// subnets, a security group and a cluster of the package's own.
var ecsEnvOnce sync.Once
var ecsEnvValue providertest.Env

func ecsEnv(t *testing.T) providertest.Env {
	t.Helper()
	ecsEnvOnce.Do(func() { ecsEnvValue = conformanceEnv(t) })
	if ecsEnvValue.Cluster == "" {
		t.Fatal("no ECS environment")
	}
	return ecsEnvValue
}

// placed adds the injected network and cluster of env to spec.
func placed(env providertest.Env, spec map[string]any) map[string]any {
	subnets := make([]any, len(env.Subnets))
	for i, s := range env.Subnets {
		subnets[i] = s
	}
	spec["network"] = map[string]any{"vpcId": env.VPCID, "subnets": subnets, "securityGroups": []any{env.SecurityGroups[0]}}
	spec["cluster"] = env.Cluster
	return spec
}

// sameJSON reports whether two JSON documents (IAM's may be URL-encoded) are equal values.
func sameJSON(t *testing.T, got, want string) bool {
	t.Helper()
	if d, err := url.QueryUnescape(got); err == nil && strings.HasPrefix(got, "%") {
		got = d
	}
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("not JSON: %s", got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("not JSON: %s", want)
	}
	return reflect.DeepEqual(g, w)
}

// inlinePolicy returns the role's inline policy "panka" through the SDK, "" if none.
func inlinePolicy(t *testing.T, c *iam.Client, role string) string {
	t.Helper()
	out, err := c.GetRolePolicy(t.Context(), &iam.GetRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String("panka")})
	if err != nil {
		return ""
	}
	return aws.ToString(out.PolicyDocument)
}

func roleExists(t *testing.T, c *iam.Client, role string) bool {
	t.Helper()
	_, err := c.GetRole(t.Context(), &iam.GetRoleInput{RoleName: aws.String(role)})
	return err == nil
}

func logGroupExists(t *testing.T, c *cloudwatchlogs.Client, name string) bool {
	t.Helper()
	out, err := c.DescribeLogGroups(t.Context(), &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range out.LogGroups {
		if aws.ToString(g.LogGroupName) == name {
			return true
		}
	}
	return false
}

// activeRevisions lists the ACTIVE revisions of family through the SDK.
func activeRevisions(t *testing.T, c *ecs.Client, family string) []string {
	t.Helper()
	out, err := c.ListTaskDefinitions(t.Context(), &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String(family), Status: ecstypes.TaskDefinitionStatusActive})
	if err != nil {
		t.Fatal(err)
	}
	var revs []string
	for _, a := range out.TaskDefinitionArns {
		if strings.Contains(a, "/"+family+":") {
			revs = append(revs, a)
		}
	}
	return revs
}

func TestECSCluster(t *testing.T) {
	p := newProvider(t)
	cfg := sdkConfig(t)
	c := ecs.NewFromConfig(cfg)
	r := component("ECSCluster", unique("cluster"), "", map[string]any{"containerInsights": true})
	obs := deploy(t, p, r)
	insights := func() string {
		out, err := c.DescribeClusters(t.Context(), &ecs.DescribeClustersInput{Clusters: []string{obs.ID},
			Include: []ecstypes.ClusterField{ecstypes.ClusterFieldSettings, ecstypes.ClusterFieldTags}})
		if err != nil || len(out.Clusters) != 1 {
			t.Fatalf("DescribeClusters: %v", err)
		}
		cl := out.Clusters[0]
		if aws.ToString(cl.ClusterName) != r.Name || aws.ToString(cl.ClusterArn) != obs.ID {
			t.Errorf("cluster %s %s, want name %s, ARN %s", aws.ToString(cl.ClusterName), aws.ToString(cl.ClusterArn), r.Name, obs.ID)
		}
		tags := map[string]string{}
		for _, tg := range cl.Tags {
			tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
		}
		if tags["panka:address"] != r.Tags["panka:address"] {
			t.Errorf("cluster tags %v", tags)
		}
		for _, s := range cl.Settings {
			if s.Name == ecstypes.ClusterSettingNameContainerInsights {
				return aws.ToString(s.Value)
			}
		}
		return ""
	}
	if got := insights(); got != "enabled" {
		t.Errorf("containerInsights = %q, want enabled", got)
	}
	if obs.Outputs["clusterName"] != r.Name || obs.Outputs["arn"] != obs.ID {
		t.Errorf("outputs %v", obs.Outputs)
	}
	r.Spec = map[string]any{"containerInsights": false}
	if _, err := p.Update(t.Context(), obs.ID, r, []string{"containerInsights"}); err != nil {
		t.Fatal(err)
	}
	if got := insights(); got != "disabled" {
		t.Errorf("containerInsights after Update = %q, want disabled", got)
	}

	// A cluster with a service in it is not deleted: the error names the service.
	td, err := c.RegisterTaskDefinition(t.Context(), &ecs.RegisterTaskDefinitionInput{Family: aws.String(unique("td-")),
		NetworkMode: ecstypes.NetworkModeAwsvpc, RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		Cpu: aws.String("256"), Memory: aws.String("512"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("busybox")}}})
	if err != nil {
		t.Fatal(err)
	}
	svc := unique("blocker-")
	env := ecsEnv(t)
	if _, err := c.CreateService(t.Context(), &ecs.CreateServiceInput{Cluster: aws.String(obs.ID), ServiceName: aws.String(svc),
		TaskDefinition: td.TaskDefinition.TaskDefinitionArn, DesiredCount: aws.Int32(0), LaunchType: ecstypes.LaunchTypeFargate,
		NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{Subnets: env.Subnets}}}); err != nil {
		t.Fatal(err)
	}
	err = p.Delete(t.Context(), obs.ID, r)
	if err == nil || !strings.Contains(err.Error(), svc) {
		t.Fatalf("Delete of a cluster with service %s: %v, want an error naming it", svc, err)
	}
	if _, err := p.Read(t.Context(), "ECSCluster", obs.ID); err != nil {
		t.Fatalf("the refused Delete deleted the cluster: %v", err)
	}
	if _, err := c.DeleteService(t.Context(), &ecs.DeleteServiceInput{Cluster: aws.String(obs.ID), Service: aws.String(svc)}); err != nil {
		t.Fatal(err)
	}
	// Draining, the service is waited for.
	if err := p.Delete(t.Context(), obs.ID, r); err != nil {
		t.Fatalf("Delete once the service is being deleted: %v", err)
	}
	out, err := c.DescribeClusters(t.Context(), &ecs.DescribeClustersInput{Clusters: []string{obs.ID}})
	if err != nil || len(out.Clusters) == 1 && aws.ToString(out.Clusters[0].Status) != "INACTIVE" {
		t.Errorf("after Delete: %v %+v", err, out)
	}
	if _, err := p.Read(t.Context(), "ECSCluster", obs.ID); !isNotFoundErr(err) {
		t.Errorf("Read after Delete: %v", err)
	}
}

func isNotFoundErr(err error) bool { return errors.Is(err, provider.ErrNotFound) }
