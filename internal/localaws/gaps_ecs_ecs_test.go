package localaws

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// Kumo has no UpdateClusterSettings: this fails once it has, and the gap can go.
func TestKumoHasNoUpdateClusterSettings(t *testing.T) {
	c := gapECSClient(t, gapEmulator(t).srv.URL) // kumo itself
	name := uniqueName("kumo-settings")
	if _, err := c.CreateCluster(t.Context(), &ecs.CreateClusterInput{ClusterName: aws.String(name)}); err != nil {
		t.Fatalf("kumo CreateCluster: %v", err)
	}
	_, err := c.UpdateClusterSettings(t.Context(), &ecs.UpdateClusterSettingsInput{Cluster: aws.String(name),
		Settings: []ecstypes.ClusterSetting{{Name: ecstypes.ClusterSettingNameContainerInsights, Value: aws.String("enabled")}}})
	if err == nil {
		t.Fatal("kumo answers UpdateClusterSettings now: drop gaps_ecs_ecs.go")
	}
}

// The layer's UpdateClusterSettings changes what DescribeClusters answers, and refuses a setting
// ECS does not have.
func TestECSUpdateClusterSettings(t *testing.T) {
	c := gapECSClient(t, gapEmulator(t).URL)
	name := newECSCluster(t, c)
	insights := func() string {
		out, err := c.DescribeClusters(t.Context(), &ecs.DescribeClustersInput{Clusters: []string{name}, Include: []ecstypes.ClusterField{ecstypes.ClusterFieldSettings}})
		if err != nil || len(out.Clusters) != 1 {
			t.Fatalf("DescribeClusters: %v", err)
		}
		for _, s := range out.Clusters[0].Settings {
			if s.Name == ecstypes.ClusterSettingNameContainerInsights {
				return aws.ToString(s.Value)
			}
		}
		return ""
	}
	if got := insights(); got != "disabled" {
		t.Fatalf("containerInsights of a new cluster = %q, want disabled", got)
	}
	for _, v := range []string{"enabled", "disabled"} {
		_, err := c.UpdateClusterSettings(t.Context(), &ecs.UpdateClusterSettingsInput{Cluster: aws.String(name),
			Settings: []ecstypes.ClusterSetting{{Name: ecstypes.ClusterSettingNameContainerInsights, Value: aws.String(v)}}})
		if err != nil {
			t.Fatalf("UpdateClusterSettings %s: %v", v, err)
		}
		if got := insights(); got != v {
			t.Errorf("containerInsights after setting %s = %q", v, got)
		}
	}
	_, err := c.UpdateClusterSettings(t.Context(), &ecs.UpdateClusterSettingsInput{Cluster: aws.String(name),
		Settings: []ecstypes.ClusterSetting{{Name: "bogus", Value: aws.String("x")}}})
	if err == nil {
		t.Error("UpdateClusterSettings of an unknown setting succeeded")
	}
	_, err = c.UpdateClusterSettings(t.Context(), &ecs.UpdateClusterSettingsInput{Cluster: aws.String("no-such-cluster"),
		Settings: []ecstypes.ClusterSetting{{Name: ecstypes.ClusterSettingNameContainerInsights, Value: aws.String("enabled")}}})
	if err == nil {
		t.Error("UpdateClusterSettings of a missing cluster succeeded")
	}
}
