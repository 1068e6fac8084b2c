package localaws

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
)

func gapECSClient(t *testing.T, endpoint string) *ecs.Client {
	t.Helper()
	cfg, err := sdkConfig(t.Context(), endpoint, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	return ecs.NewFromConfig(cfg)
}

// ecsFargateTD registers a Fargate task definition of family whose one container runs image.
func ecsFargateTD(t *testing.T, c *ecs.Client, family, image string) string {
	t.Helper()
	out, err := c.RegisterTaskDefinition(t.Context(), &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(family), NetworkMode: ecstypes.NetworkModeAwsvpc, RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		Cpu: aws.String("256"), Memory: aws.String("512"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("app"), Image: aws.String(image),
			PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(8080)}}}},
		Tags: []ecstypes.Tag{{Key: aws.String("team"), Value: aws.String("a")}},
	})
	if err != nil {
		t.Fatalf("RegisterTaskDefinition: %v", err)
	}
	return aws.ToString(out.TaskDefinition.TaskDefinitionArn)
}

func newECSCluster(t *testing.T, c *ecs.Client) string {
	t.Helper()
	name := uniqueName("gap-cluster")
	if _, err := c.CreateCluster(t.Context(), &ecs.CreateClusterInput{ClusterName: aws.String(name)}); err != nil {
		t.Fatalf("CreateCluster: %v", err)
	}
	return name
}

var ecsNetwork = &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{Subnets: []string{"subnet-1"}}}

func newECSService(t *testing.T, c *ecs.Client, cluster, td string, desired int32, change func(*ecs.CreateServiceInput)) string {
	t.Helper()
	in := &ecs.CreateServiceInput{Cluster: aws.String(cluster), ServiceName: aws.String(uniqueName("svc")), TaskDefinition: aws.String(td),
		DesiredCount: aws.Int32(desired), LaunchType: ecstypes.LaunchTypeFargate, NetworkConfiguration: ecsNetwork}
	if change != nil {
		change(in)
	}
	if _, err := c.CreateService(t.Context(), in); err != nil {
		t.Fatalf("CreateService: %v", err)
	}
	return aws.ToString(in.ServiceName)
}

func describeService(t *testing.T, c *ecs.Client, cluster, name string) ecstypes.Service {
	t.Helper()
	out, err := c.DescribeServices(t.Context(), &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{name}, Include: []ecstypes.ServiceField{ecstypes.ServiceFieldTags}})
	if err != nil {
		t.Fatalf("DescribeServices: %v", err)
	}
	if len(out.Services) != 1 {
		t.Fatalf("DescribeServices %s: %+v", name, out.Failures)
	}
	return out.Services[0]
}

func waitStable(t *testing.T, c *ecs.Client, cluster, name string, maxWait time.Duration) error {
	t.Helper()
	w := ecs.NewServicesStableWaiter(c, func(o *ecs.ServicesStableWaiterOptions) {
		o.MinDelay, o.MaxDelay = 20*time.Millisecond, 100*time.Millisecond
	})
	return w.Wait(t.Context(), &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{name}}, maxWait)
}

// eventually polls f until it is true (5 s at most).
func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if f() {
			return
		}
	}
	t.Fatalf("%s: not after 5s", what)
}

// ECS reads back its services, task definitions, tasks and tags; kumo v0.33.1 keeps them but
// has none of these operations.
func TestKumoHasNoECSReadBack(t *testing.T) {
	c := gapECSClient(t, gapEmulator(t).srv.URL) // kumo itself
	ctx := t.Context()
	cluster := uniqueName("kumo-cluster")
	cl, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(cluster)})
	if err != nil {
		t.Fatalf("kumo CreateCluster: %v", err)
	}
	family := uniqueName("kumo-td")
	td, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String(family),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("nginx")}}})
	if err != nil {
		t.Fatalf("kumo RegisterTaskDefinition: %v", err)
	}
	svc := uniqueName("kumo-svc")
	if _, err := c.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String(cluster), ServiceName: aws.String(svc),
		TaskDefinition: td.TaskDefinition.TaskDefinitionArn, DesiredCount: aws.Int32(1)}); err != nil {
		t.Fatalf("kumo CreateService: %v", err)
	}
	arn := cl.Cluster.ClusterArn
	for name, call := range map[string]func() error{
		"DescribeServices": func() error {
			_, err := c.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{svc}})
			return err
		},
		"ListServices": func() error {
			_, err := c.ListServices(ctx, &ecs.ListServicesInput{Cluster: aws.String(cluster)})
			return err
		},
		"DescribeTaskDefinition": func() error {
			_, err := c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(family)})
			return err
		},
		"ListTaskDefinitions": func() error { _, err := c.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{}); return err },
		"DeleteTaskDefinitions": func() error {
			_, err := c.DeleteTaskDefinitions(ctx, &ecs.DeleteTaskDefinitionsInput{TaskDefinitions: []string{family + ":1"}})
			return err
		},
		"ListTasks": func() error {
			_, err := c.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(cluster)})
			return err
		},
		"TagResource": func() error {
			_, err := c.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: arn, Tags: []ecstypes.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
			return err
		},
		"UntagResource": func() error {
			_, err := c.UntagResource(ctx, &ecs.UntagResourceInput{ResourceArn: arn, TagKeys: []string{"k"}})
			return err
		},
		"ListTagsForResource": func() error {
			_, err := c.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: arn})
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			if err := call(); errorCode(err) != "UnknownOperationException" {
				t.Fatalf("kumo answers %s (%v): the layer may not need to own ECS any more", name, err)
			}
		})
	}
}

// ECS answers a CreateService of a name the cluster has with InvalidParameterException
// ("Creation of service was not idempotent."); kumo v0.33.1 with ServiceAlreadyExistsException,
// a code ECS does not have.
func TestKumoECSDuplicateServiceCode(t *testing.T) {
	c := gapECSClient(t, gapEmulator(t).srv.URL)
	ctx := t.Context()
	cluster := uniqueName("kumo-cluster")
	if _, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(cluster)}); err != nil {
		t.Fatal(err)
	}
	td, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String(uniqueName("kumo-td")),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("nginx")}}})
	if err != nil {
		t.Fatal(err)
	}
	in := &ecs.CreateServiceInput{Cluster: aws.String(cluster), ServiceName: aws.String("dup"), TaskDefinition: td.TaskDefinition.TaskDefinitionArn, DesiredCount: aws.Int32(1)}
	if _, err := c.CreateService(ctx, in); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateService(ctx, in); errorCode(err) != "ServiceAlreadyExistsException" {
		t.Fatalf("kumo answers a duplicate CreateService with %v: check what it does now", err)
	}
}

// Through the layer: clusters and task definitions, with their tags.
func TestGapECSClustersAndTaskDefinitions(t *testing.T) {
	c := gapECSClient(t, gapEmulator(t).URL)
	ctx := t.Context()
	name := uniqueName("gap-cluster")
	out, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(name), Tags: []ecstypes.Tag{{Key: aws.String("a"), Value: aws.String("1")}}})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(out.Cluster.ClusterArn)
	if arn != "arn:aws:ecs:us-east-1:000000000000:cluster/"+name || aws.ToString(out.Cluster.Status) != "ACTIVE" {
		t.Errorf("cluster = %s %s", arn, aws.ToString(out.Cluster.Status))
	}
	again, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(name)})
	if err != nil || aws.ToString(again.Cluster.ClusterArn) != arn {
		t.Errorf("CreateCluster of an existing cluster: %v", err)
	}
	dc, err := c.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{arn, "nope"}, Include: []ecstypes.ClusterField{ecstypes.ClusterFieldTags}})
	if err != nil {
		t.Fatal(err)
	}
	if len(dc.Clusters) != 1 || len(dc.Clusters[0].Tags) != 1 || len(dc.Failures) != 1 || aws.ToString(dc.Failures[0].Reason) != "MISSING" {
		t.Errorf("DescribeClusters = %+v, failures %+v", dc.Clusters, dc.Failures)
	}
	lc, err := c.ListClusters(ctx, &ecs.ListClustersInput{})
	if err != nil || !slices.Contains(lc.ClusterArns, arn) {
		t.Errorf("ListClusters = %v, %v", lc, err)
	}
	// Tags of a cluster.
	if _, err := c.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(arn), Tags: []ecstypes.Tag{{Key: aws.String("b"), Value: aws.String("2")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UntagResource(ctx, &ecs.UntagResourceInput{ResourceArn: aws.String(arn), TagKeys: []string{"a"}}); err != nil {
		t.Fatal(err)
	}
	if tags := ecsTags(t, c, arn); len(tags) != 1 || tags["b"] != "2" {
		t.Errorf("cluster tags = %v", tags)
	}
	if _, err := c.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: aws.String(arn + "x")}); errorCode(err) != "ResourceNotFoundException" {
		t.Errorf("tags of a missing cluster: %v", err)
	}

	// Task definitions: families and revisions.
	family := uniqueName("gap-td")
	td1 := ecsFargateTD(t, c, family, "nginx:1")
	td2 := ecsFargateTD(t, c, family, "nginx:2")
	if !strings.HasSuffix(td1, "task-definition/"+family+":1") || !strings.HasSuffix(td2, ":2") {
		t.Errorf("revisions %s, %s", td1, td2)
	}
	d, err := c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(family), Include: []ecstypes.TaskDefinitionField{ecstypes.TaskDefinitionFieldTags}})
	if err != nil {
		t.Fatal(err)
	}
	def := d.TaskDefinition
	if aws.ToString(def.TaskDefinitionArn) != td2 || def.Revision != 2 || def.Status != ecstypes.TaskDefinitionStatusActive || len(d.Tags) != 1 ||
		aws.ToString(def.ContainerDefinitions[0].Image) != "nginx:2" || !aws.ToBool(def.ContainerDefinitions[0].Essential) ||
		def.ContainerDefinitions[0].PortMappings[0].Protocol != ecstypes.TransportProtocolTcp || aws.ToInt32(def.ContainerDefinitions[0].PortMappings[0].HostPort) != 8080 ||
		!slices.Contains(def.Compatibilities, ecstypes.CompatibilityFargate) || aws.ToString(def.Cpu) != "256" {
		t.Errorf("DescribeTaskDefinition = %+v, tags %v", def, d.Tags)
	}
	if d, err := c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(family + ":1")}); err != nil || len(d.Tags) != 0 ||
		aws.ToString(d.TaskDefinition.ContainerDefinitions[0].Image) != "nginx:1" {
		t.Errorf("DescribeTaskDefinition %s:1 = %v, %v (tags only when asked)", family, d, err)
	}
	if _, err := c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(family + ":9")}); errorCode(err) != "ClientException" {
		t.Errorf("DescribeTaskDefinition of a missing revision: %v", err)
	}
	if _, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String(family), RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("nginx")}}}); errorCode(err) != "ClientException" {
		t.Errorf("a Fargate task definition without awsvpc, cpu and memory: %v", err)
	}
	listTDs := func(status ecstypes.TaskDefinitionStatus) []string {
		out, err := c.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String(family), Status: status})
		if err != nil {
			t.Fatal(err)
		}
		return out.TaskDefinitionArns
	}
	if got := listTDs(""); !slices.Equal(got, []string{td1, td2}) {
		t.Errorf("ListTaskDefinitions = %v", got)
	}
	if _, err := c.DeleteTaskDefinitions(ctx, &ecs.DeleteTaskDefinitionsInput{TaskDefinitions: []string{td1}}); err != nil {
		t.Fatal(err)
	} else if got := listTDs(ecstypes.TaskDefinitionStatusDeleteInProgress); len(got) != 0 {
		t.Errorf("an ACTIVE task definition was deleted: %v", got)
	}
	dr, err := c.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(td1)})
	if err != nil || dr.TaskDefinition.Status != ecstypes.TaskDefinitionStatusInactive || dr.TaskDefinition.DeregisteredAt == nil {
		t.Fatalf("DeregisterTaskDefinition = %v, %v", dr, err)
	}
	if got := listTDs(ecstypes.TaskDefinitionStatusInactive); !slices.Equal(got, []string{td1}) {
		t.Errorf("INACTIVE task definitions = %v", got)
	}
	del, err := c.DeleteTaskDefinitions(ctx, &ecs.DeleteTaskDefinitionsInput{TaskDefinitions: []string{td1}})
	if err != nil || len(del.TaskDefinitions) != 1 || del.TaskDefinitions[0].Status != ecstypes.TaskDefinitionStatusDeleteInProgress {
		t.Fatalf("DeleteTaskDefinitions = %v, %v", del, err)
	}
	if got := listTDs(ecstypes.TaskDefinitionStatusDeleteInProgress); !slices.Equal(got, []string{td1}) {
		t.Errorf("DELETE_IN_PROGRESS task definitions = %v", got)
	}
	if got := listTDs(""); !slices.Equal(got, []string{td2}) {
		t.Errorf("ACTIVE task definitions = %v", got)
	}
	// Tags of a task definition.
	if _, err := c.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(td2), Tags: []ecstypes.Tag{{Key: aws.String("x"), Value: aws.String("y")}}}); err != nil {
		t.Fatal(err)
	}
	if tags := ecsTags(t, c, td2); len(tags) != 2 || tags["x"] != "y" || tags["team"] != "a" {
		t.Errorf("task definition tags = %v", tags)
	}

	// A cluster with services is not deleted.
	svc := newECSService(t, c, name, td2, 0, nil)
	if _, err := c.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String(name)}); errorCode(err) != "ClusterContainsServicesException" {
		t.Errorf("DeleteCluster with a service: %v", err)
	}
	if _, err := c.DeleteService(ctx, &ecs.DeleteServiceInput{Cluster: aws.String(name), Service: aws.String(svc)}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "service INACTIVE", func() bool { return aws.ToString(describeService(t, c, name, svc).Status) == "INACTIVE" })
	dl, err := c.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String(name)})
	if err != nil || aws.ToString(dl.Cluster.Status) != "INACTIVE" {
		t.Fatalf("DeleteCluster = %v, %v", dl, err)
	}
	if _, err := c.ListServices(ctx, &ecs.ListServicesInput{Cluster: aws.String(name)}); errorCode(err) != "ClusterNotFoundException" {
		t.Errorf("ListServices of a deleted cluster: %v", err)
	}
}

func ecsTags(t *testing.T, c *ecs.Client, arn string) map[string]string {
	t.Helper()
	out, err := c.ListTagsForResource(t.Context(), &ecs.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
	if err != nil {
		t.Fatalf("ListTagsForResource %s: %v", arn, err)
	}
	tags := map[string]string{}
	for _, tg := range out.Tags {
		tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	return tags
}

// Through the layer: requests at once are answered one at a time (a family's revisions are
// numbered in turn), and lists come in pages.
func TestGapECSConcurrentRequestsAndPages(t *testing.T) {
	c := gapECSClient(t, gapEmulator(t).URL)
	family := uniqueName("gap-td")
	const n = 12
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			if _, err := c.RegisterTaskDefinition(t.Context(), &ecs.RegisterTaskDefinitionInput{Family: aws.String(family),
				ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("app:1")}}}); err != nil {
				t.Error(err) // not Fatal: another goroutine than the test's
			}
		})
	}
	wg.Wait()
	var all []string
	p := ecs.NewListTaskDefinitionsPaginator(c, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String(family), MaxResults: aws.Int32(5)})
	for pages := 0; p.HasMorePages(); pages++ {
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if len(page.TaskDefinitionArns) > 5 || pages > 3 {
			t.Fatalf("page %d: %v", pages, page.TaskDefinitionArns)
		}
		all = append(all, page.TaskDefinitionArns...)
	}
	var want []string
	for i := 1; i <= n; i++ {
		want = append(want, ecsTaskDefARN(family, i))
	}
	if !slices.Equal(all, want) {
		t.Errorf("revisions = %v, want %v", all, want)
	}
}

// Through the layer: a service from creation to deletion, with the SDK's waiters.
func TestGapECSServiceLifecycle(t *testing.T) {
	c := gapECSClient(t, gapEmulator(t).URL)
	ctx := t.Context()
	cluster := newECSCluster(t, c)
	family := uniqueName("gap-td")
	td1 := ecsFargateTD(t, c, family, "app:v1")
	svc := newECSService(t, c, cluster, td1, 2, func(in *ecs.CreateServiceInput) {
		in.Tags = []ecstypes.Tag{{Key: aws.String("a"), Value: aws.String("1")}}
	})
	s := describeService(t, c, cluster, svc)
	if aws.ToString(s.ServiceArn) != "arn:aws:ecs:us-east-1:000000000000:service/"+cluster+"/"+svc || aws.ToString(s.Status) != "ACTIVE" ||
		s.DesiredCount != 2 || s.RunningCount+s.PendingCount != 2 || len(s.Deployments) != 1 || aws.ToString(s.Deployments[0].Status) != "PRIMARY" ||
		len(s.Tags) != 1 || s.NetworkConfiguration == nil || s.LaunchType != ecstypes.LaunchTypeFargate {
		t.Errorf("a new service = %+v", s)
	}
	if _, err := c.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String(cluster), ServiceName: aws.String(svc), TaskDefinition: aws.String(td1),
		LaunchType: ecstypes.LaunchTypeFargate, NetworkConfiguration: ecsNetwork}); errorCode(err) != "InvalidParameterException" || !strings.Contains(err.Error(), "not idempotent") {
		t.Errorf("a duplicate CreateService: %v, want InvalidParameterException", err)
	}
	if _, err := c.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String(cluster), ServiceName: aws.String("nonet"), TaskDefinition: aws.String(td1)}); errorCode(err) != "InvalidParameterException" {
		t.Errorf("an awsvpc service without a network configuration: %v", err)
	}
	if _, err := c.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("nope"), ServiceName: aws.String("x"), TaskDefinition: aws.String(td1)}); errorCode(err) != "ClusterNotFoundException" {
		t.Errorf("CreateService in a missing cluster: %v", err)
	}
	if err := waitStable(t, c, cluster, svc, 10*time.Second); err != nil {
		t.Fatalf("ServicesStable: %v", err)
	}
	s = describeService(t, c, cluster, svc)
	if s.RunningCount != 2 || s.PendingCount != 0 || s.Deployments[0].RolloutState != ecstypes.DeploymentRolloutStateCompleted || len(s.Events) == 0 ||
		!strings.Contains(aws.ToString(s.Events[0].Message), "steady state") {
		t.Errorf("a stable service = %+v, events %v", s, eventMessages(s))
	}
	tasks, err := c.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(cluster), ServiceName: aws.String(svc)})
	if err != nil || len(tasks.TaskArns) != 2 {
		t.Fatalf("ListTasks = %v, %v", tasks, err)
	}
	dt, err := c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: tasks.TaskArns})
	if err != nil || len(dt.Tasks) != 2 || aws.ToString(dt.Tasks[0].LastStatus) != "RUNNING" || aws.ToString(dt.Tasks[0].Group) != "service:"+svc ||
		aws.ToString(dt.Tasks[0].TaskDefinitionArn) != td1 {
		t.Fatalf("DescribeTasks = %+v, %v", dt, err)
	}

	// A new task definition: a new PRIMARY deployment rolls out, the old one goes.
	td2 := ecsFargateTD(t, c, family, "app:v2")
	up, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(cluster), Service: aws.String(svc), TaskDefinition: aws.String(td2)})
	if err != nil {
		t.Fatal(err)
	}
	if len(up.Service.Deployments) != 2 || aws.ToString(up.Service.Deployments[0].TaskDefinition) != td2 || aws.ToString(up.Service.Deployments[1].Status) != "ACTIVE" ||
		up.Service.Deployments[1].RunningCount != 2 {
		t.Errorf("UpdateService deployments = %+v", up.Service.Deployments)
	}
	if err := waitStable(t, c, cluster, svc, 10*time.Second); err != nil {
		t.Fatalf("ServicesStable after an update: %v", err)
	}
	s = describeService(t, c, cluster, svc)
	if len(s.Deployments) != 1 || aws.ToString(s.Deployments[0].TaskDefinition) != td2 || aws.ToString(s.TaskDefinition) != td2 || s.RunningCount != 2 {
		t.Errorf("after the rollout: %+v", s)
	}
	// Desired count.
	if _, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(cluster), Service: aws.String(svc), DesiredCount: aws.Int32(3)}); err != nil {
		t.Fatal(err)
	}
	if err := waitStable(t, c, cluster, svc, 10*time.Second); err != nil {
		t.Fatalf("ServicesStable after a scale-out: %v", err)
	}
	if s := describeService(t, c, cluster, svc); s.RunningCount != 3 || s.DesiredCount != 3 {
		t.Errorf("after a scale-out: running %d desired %d", s.RunningCount, s.DesiredCount)
	}
	if _, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(cluster), Service: aws.String(svc), DesiredCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	if err := waitStable(t, c, cluster, svc, 10*time.Second); err != nil {
		t.Fatalf("ServicesStable after a scale-in: %v", err)
	}
	stopped, err := c.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(cluster), ServiceName: aws.String(svc), DesiredStatus: ecstypes.DesiredStatusStopped})
	if err != nil || len(stopped.TaskArns) != 4 { // two of the first deployment, two scaled in
		t.Errorf("stopped tasks = %v, %v", stopped, err)
	}

	ls, err := c.ListServices(ctx, &ecs.ListServicesInput{Cluster: aws.String(cluster)})
	if err != nil || !slices.Equal(ls.ServiceArns, []string{aws.ToString(s.ServiceArn)}) {
		t.Errorf("ListServices = %v, %v", ls, err)
	}
	if _, err := c.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: s.ServiceArn, Tags: []ecstypes.Tag{{Key: aws.String("b"), Value: aws.String("2")}}}); err != nil {
		t.Fatal(err)
	}
	if tags := ecsTags(t, c, aws.ToString(s.ServiceArn)); len(tags) != 2 {
		t.Errorf("service tags = %v", tags)
	}
	if _, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(cluster), Service: aws.String("nope"), DesiredCount: aws.Int32(1)}); errorCode(err) != "ServiceNotFoundException" {
		t.Errorf("UpdateService of a missing service: %v", err)
	}

	// Deletion: refused while scaled above 0 unless forced; DRAINING, then INACTIVE.
	if _, err := c.DeleteService(ctx, &ecs.DeleteServiceInput{Cluster: aws.String(cluster), Service: aws.String(svc)}); errorCode(err) != "InvalidParameterException" {
		t.Errorf("DeleteService of a scaled service: %v", err)
	}
	del, err := c.DeleteService(ctx, &ecs.DeleteServiceInput{Cluster: aws.String(cluster), Service: aws.String(svc), Force: aws.Bool(true)})
	if err != nil || aws.ToString(del.Service.Status) != "DRAINING" {
		t.Fatalf("DeleteService = %v, %v", del, err)
	}
	if _, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(cluster), Service: aws.String(svc), DesiredCount: aws.Int32(1)}); errorCode(err) != "ServiceNotActiveException" {
		t.Errorf("UpdateService of a draining service: %v", err)
	}
	w := ecs.NewServicesInactiveWaiter(c, func(o *ecs.ServicesInactiveWaiterOptions) {
		o.MinDelay, o.MaxDelay = 20*time.Millisecond, 100*time.Millisecond
	})
	if err := w.Wait(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{svc}}, 10*time.Second); err != nil {
		t.Fatalf("ServicesInactive: %v", err)
	}
	if ls, err := c.ListServices(ctx, &ecs.ListServicesInput{Cluster: aws.String(cluster)}); err != nil || len(ls.ServiceArns) != 0 {
		t.Errorf("ListServices after a delete = %v, %v", ls, err)
	}
	ds, err := c.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{"never"}})
	if err != nil || len(ds.Failures) != 1 || aws.ToString(ds.Failures[0].Reason) != "MISSING" {
		t.Errorf("DescribeServices of a missing service = %v, %v", ds, err)
	}
	// A deleted service's name can be used again.
	newECSService(t, c, cluster, td2, 0, func(in *ecs.CreateServiceInput) { in.ServiceName = aws.String(svc) })
}

func eventMessages(s ecstypes.Service) []string {
	var out []string
	for _, e := range s.Events {
		out = append(out, aws.ToString(e.Message))
	}
	return out
}

// Through the layer: a service whose image is broken fails its deployment, and its stopped
// tasks say why; with the circuit breaker's rollback, an update to a broken image rolls back.
func TestGapECSBrokenImage(t *testing.T) {
	c := gapECSClient(t, gapEmulator(t).URL)
	ctx := t.Context()
	cluster := newECSCluster(t, c)
	family := uniqueName("gap-td")
	broken := ecsFargateTD(t, c, family, "registry.example.com/app:broken")
	svc := newECSService(t, c, cluster, broken, 1, nil)
	if err := waitStable(t, c, cluster, svc, 2*time.Second); err == nil {
		t.Fatal("ServicesStable succeeds for a broken image")
	}
	var s ecstypes.Service
	eventually(t, "rollout FAILED", func() bool {
		s = describeService(t, c, cluster, svc)
		return s.Deployments[0].RolloutState == ecstypes.DeploymentRolloutStateFailed
	})
	if s.RunningCount != 0 || s.Deployments[0].FailedTasks != ecsFailedTaskThreshold || !strings.Contains(aws.ToString(s.Events[0].Message), "deployment failed") {
		t.Errorf("a failed service = %+v, events %v", s, eventMessages(s))
	}
	stopped, err := c.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(cluster), ServiceName: aws.String(svc), DesiredStatus: ecstypes.DesiredStatusStopped})
	if err != nil || len(stopped.TaskArns) != ecsFailedTaskThreshold {
		t.Fatalf("stopped tasks = %v, %v", stopped, err)
	}
	dt, err := c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: stopped.TaskArns[:1]})
	if err != nil {
		t.Fatal(err)
	}
	task := dt.Tasks[0]
	if aws.ToString(task.LastStatus) != "STOPPED" || aws.ToString(task.StoppedReason) != "Essential container in task exited" || task.StopCode != ecstypes.TaskStopCodeEssentialContainerExited ||
		aws.ToInt32(task.Containers[0].ExitCode) != 1 || !strings.Contains(aws.ToString(task.Containers[0].Reason), "broken") {
		t.Errorf("a broken task = %+v, container %+v", task, task.Containers)
	}

	// Rollback to the last good deployment.
	good := ecsFargateTD(t, c, family, "registry.example.com/app:good")
	svc2 := newECSService(t, c, cluster, good, 1, func(in *ecs.CreateServiceInput) {
		in.DeploymentConfiguration = &ecstypes.DeploymentConfiguration{DeploymentCircuitBreaker: &ecstypes.DeploymentCircuitBreaker{Enable: true, Rollback: true}}
	})
	if err := waitStable(t, c, cluster, svc2, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(cluster), Service: aws.String(svc2), TaskDefinition: aws.String(broken)}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "rolled back", func() bool {
		return slices.ContainsFunc(eventMessages(describeService(t, c, cluster, svc2)), func(m string) bool { return strings.Contains(m, "rolling back") })
	})
	if err := waitStable(t, c, cluster, svc2, 10*time.Second); err != nil {
		t.Fatalf("ServicesStable after a rollback: %v", err)
	}
	if s := describeService(t, c, cluster, svc2); aws.ToString(s.TaskDefinition) != good || s.RunningCount != 1 {
		t.Errorf("after the rollback: task definition %s, running %d", aws.ToString(s.TaskDefinition), s.RunningCount)
	}
}

// Through the layer: tasks run alone (RunTask), with the SDK's task waiters.
func TestGapECSTasks(t *testing.T) {
	c := gapECSClient(t, gapEmulator(t).URL)
	ctx := t.Context()
	cluster := newECSCluster(t, c)
	family := uniqueName("gap-td")
	good := ecsFargateTD(t, c, family, "job:1")
	broken := ecsFargateTD(t, c, family, "job:broken")
	run := func(td string) string {
		t.Helper()
		out, err := c.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String(cluster), TaskDefinition: aws.String(td), LaunchType: ecstypes.LaunchTypeFargate,
			NetworkConfiguration: ecsNetwork, StartedBy: aws.String("cron"), Tags: []ecstypes.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
		if err != nil || len(out.Tasks) != 1 {
			t.Fatalf("RunTask = %v, %v", out, err)
		}
		if st := aws.ToString(out.Tasks[0].LastStatus); st != "PROVISIONING" {
			t.Errorf("a new task is %s", st)
		}
		return aws.ToString(out.Tasks[0].TaskArn)
	}
	opt := func(min, max *time.Duration) { *min, *max = 20*time.Millisecond, 100*time.Millisecond }
	running := ecs.NewTasksRunningWaiter(c, func(o *ecs.TasksRunningWaiterOptions) { opt(&o.MinDelay, &o.MaxDelay) })
	stoppedW := ecs.NewTasksStoppedWaiter(c, func(o *ecs.TasksStoppedWaiterOptions) { opt(&o.MinDelay, &o.MaxDelay) })

	arn := run(good)
	if !strings.HasPrefix(arn, "arn:aws:ecs:us-east-1:000000000000:task/"+cluster+"/") {
		t.Errorf("task ARN %s", arn)
	}
	in := &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: []string{arn}}
	if err := running.Wait(ctx, in, 10*time.Second); err != nil {
		t.Fatalf("TasksRunning: %v", err)
	}
	if dt, err := c.DescribeTasks(ctx, in); err != nil || aws.ToString(dt.Tasks[0].Containers[0].LastStatus) != "RUNNING" || dt.Tasks[0].StartedAt == nil {
		t.Errorf("a running task = %+v, %v", dt, err)
	}
	lt, err := c.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(cluster), StartedBy: aws.String("cron"), Family: aws.String(family)})
	if err != nil || !slices.Equal(lt.TaskArns, []string{arn}) {
		t.Errorf("ListTasks = %v, %v", lt, err)
	}
	if tags := ecsTags(t, c, arn); tags["k"] != "v" {
		t.Errorf("task tags = %v", tags)
	}
	if _, err := c.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String(cluster)}); errorCode(err) != "ClusterContainsTasksException" {
		t.Errorf("DeleteCluster with a running task: %v", err)
	}
	st, err := c.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(cluster), Task: aws.String(arn), Reason: aws.String("done")})
	if err != nil || aws.ToString(st.Task.DesiredStatus) != "STOPPED" {
		t.Fatalf("StopTask = %v, %v", st, err)
	}
	if err := stoppedW.Wait(ctx, in, 10*time.Second); err != nil {
		t.Fatalf("TasksStopped: %v", err)
	}
	dt, err := c.DescribeTasks(ctx, in)
	if err != nil || aws.ToString(dt.Tasks[0].StoppedReason) != "done" || dt.Tasks[0].StopCode != ecstypes.TaskStopCodeUserInitiated ||
		aws.ToString(dt.Tasks[0].Containers[0].LastStatus) != "STOPPED" || dt.Tasks[0].Containers[0].ExitCode == nil {
		t.Errorf("a stopped task = %+v, %v", dt, err)
	}

	// A broken image: TasksRunning fails, TasksStopped succeeds, and the reason is told.
	arn = run(broken)
	in = &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: []string{arn}}
	if err := running.Wait(ctx, in, 10*time.Second); err == nil {
		t.Error("TasksRunning succeeds for a broken image")
	}
	if err := stoppedW.Wait(ctx, in, 10*time.Second); err != nil {
		t.Fatalf("TasksStopped: %v", err)
	}
	dt, err = c.DescribeTasks(ctx, in)
	if err != nil || aws.ToString(dt.Tasks[0].StoppedReason) != "Essential container in task exited" || aws.ToInt32(dt.Tasks[0].Containers[0].ExitCode) != 1 {
		t.Errorf("a broken task = %+v, %v", dt, err)
	}
	dt, err = c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: []string{"0123"}})
	if err != nil || len(dt.Failures) != 1 || aws.ToString(dt.Failures[0].Reason) != "MISSING" {
		t.Errorf("DescribeTasks of a missing task = %v, %v", dt, err)
	}
	if _, err := c.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(cluster), Task: aws.String("0123")}); errorCode(err) != "InvalidParameterException" {
		t.Errorf("StopTask of a missing task: %v", err)
	}
	if _, err := c.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String(cluster)}); err != nil {
		t.Errorf("DeleteCluster once its tasks stopped: %v", err)
	}
}

// Through the layer: an ECS operation the layer does not emulate fails loudly, naming itself.
func TestGapECSUnknownOperationFails(t *testing.T) {
	c := gapECSClient(t, gapEmulator(t).URL)
	_, err := c.ListContainerInstances(t.Context(), &ecs.ListContainerInstancesInput{})
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "UnknownOperationException" || !strings.Contains(api.ErrorMessage(), "ListContainerInstances") {
		t.Fatalf("ListContainerInstances: %v, want UnknownOperationException naming it", err)
	}
}

// The layer's ECS state persists in the data directory: a restarted layer goes on where it was,
// its tasks' lives computed from the persisted times.
func TestGapECSStatePersists(t *testing.T) {
	dir := t.TempDir()
	saved := ecsGaps.Load()
	t.Cleanup(func() { ecsGaps.Store(saved) })
	ecsGaps.Store(newECSGapState(dir))
	c := gapECSClient(t, gapEmulator(t).URL)
	ctx := t.Context()
	cluster := newECSCluster(t, c)
	family := uniqueName("gap-td")
	td := ecsFargateTD(t, c, family, "app:1")
	svc := newECSService(t, c, cluster, td, 2, nil)
	if err := waitStable(t, c, cluster, svc, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	bad := newECSService(t, c, cluster, ecsFargateTD(t, c, family, "app:broken"), 1, nil) // fails after the restart
	before := describeService(t, c, cluster, svc)

	ecsGaps.Store(newECSGapState(dir)) // a restart
	after := describeService(t, c, cluster, svc)
	if aws.ToString(after.Deployments[0].Id) != aws.ToString(before.Deployments[0].Id) || after.RunningCount != 2 || len(after.Tags) != 0 {
		t.Errorf("after a restart: %+v", after)
	}
	if _, err := c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(td)}); err != nil {
		t.Errorf("DescribeTaskDefinition after a restart: %v", err)
	}
	if err := waitStable(t, c, cluster, svc, 10*time.Second); err != nil {
		t.Errorf("ServicesStable after a restart: %v", err)
	}
	eventually(t, "the broken service fails after a restart", func() bool {
		return describeService(t, c, cluster, bad).Deployments[0].RolloutState == ecstypes.DeploymentRolloutStateFailed
	})
	if _, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(cluster), Service: aws.String(svc), DesiredCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	ecsGaps.Store(newECSGapState(dir))
	if got := describeService(t, c, cluster, svc).DesiredCount; got != 1 {
		t.Errorf("desired count after a restart = %d", got)
	}
}
