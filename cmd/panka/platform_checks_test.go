package main

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	"github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	aastypes "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/efs"
	efstypes "github.com/aws/aws-sdk-go-v2/service/efs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/kafka"
	kafkatypes "github.com/aws/aws-sdk-go-v2/service/kafka/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// platformEdit is a change of one field in one file of examples/platform, and the check, through
// the SDK, that the apply made it.
type platformEdit struct {
	file, old, new string
	address, field string // the component and the field the plan must show changing
	check          func(t *testing.T, w *awsCrashWorld)
}

func (e platformEdit) apply(t *testing.T, config string) {
	t.Helper()
	path := filepath.Join(config, e.file)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(string(data), e.old) != 1 {
		t.Fatalf("%s: %q is not in it once", e.file, e.old)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(data), e.old, e.new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// platformEdits change one field of each kind of the config language.
var platformEdits = []platformEdit{
	{"devices/mqtt.yaml", "scaling: {min: 2, max: 6,", "scaling: {min: 2, max: 8,", "devices/mqtt", "scaling.max", func(t *testing.T, w *awsCrashWorld) {
		out, err := applicationautoscaling.NewFromConfig(w.cfg).DescribeScalableTargets(t.Context(), &applicationautoscaling.DescribeScalableTargetsInput{
			ServiceNamespace: aastypes.ServiceNamespaceEcs, ResourceIds: []string{"service/acme-dev-stack-cluster/acme-dev-devices-mqtt"}})
		if err != nil || len(out.ScalableTargets) != 1 || aws.ToInt32(out.ScalableTargets[0].MaxCapacity) != 8 {
			t.Errorf("MicroService: mqtt's scalable target %v %+v, want max 8", err, out)
		}
	}},
	{"payments/messaging.yaml", "  cpu: 256\n  memory: 512", "  cpu: 256\n  memory: 1024", "pay/settler", "memory", func(t *testing.T, w *awsCrashWorld) {
		svc := describeService(t, w, "acme-dev-pay-settler")
		if m := aws.ToString(describeTaskDefinition(t, w, aws.ToString(svc.TaskDefinition)).Memory); m != "1024" {
			t.Errorf("Worker: settler's task memory %s, want 1024", m)
		}
	}},
	{"data/reports.yaml", "schedule: cron(30 2 * * ? *)", "schedule: cron(30 3 * * ? *)", "data/report", "schedule", func(t *testing.T, w *awsCrashWorld) {
		out, err := scheduler.NewFromConfig(w.cfg).GetSchedule(t.Context(), &scheduler.GetScheduleInput{Name: aws.String("acme-dev-data-report")})
		if err != nil || aws.ToString(out.ScheduleExpression) != "cron(30 3 * * ? *)" {
			t.Errorf("CronJob: report's schedule %v %v, want cron(30 3 * * ? *)", err, out)
		}
	}},
	{"payments/api.yaml", "  memory: 256\n  timeout: 10", "  memory: 512\n  timeout: 10", "pay/webhook", "memory", func(t *testing.T, w *awsCrashWorld) {
		out, err := lambda.NewFromConfig(w.cfg).GetFunctionConfiguration(t.Context(), &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("acme-dev-pay-webhook")})
		if err != nil || aws.ToInt32(out.MemorySize) != 512 {
			t.Errorf("Lambda: webhook %v, memory %d, want 512", err, aws.ToInt32(out.MemorySize))
		}
	}},
	{"payments/api.yaml", "backupRetention: 14", "backupRetention: 10", "pay/db", "backupRetention", func(t *testing.T, w *awsCrashWorld) {
		if got := aws.ToInt32(describeDB(t, w, "acme-dev-pay-db").BackupRetentionPeriod); got != 10 {
			t.Errorf("RDS: backup retention %d, want 10 (applied at once by AWS)", got)
		}
	}},
	{"storefront/carts.yaml", "pointInTimeRecovery: true", "pointInTimeRecovery: false", "shop/carts", "pointInTimeRecovery", func(t *testing.T, w *awsCrashWorld) {
		out, err := dynamodb.NewFromConfig(w.cfg).DescribeContinuousBackups(t.Context(), &dynamodb.DescribeContinuousBackupsInput{TableName: aws.String("acme-dev-shop-carts")})
		if err != nil || out.ContinuousBackupsDescription.PointInTimeRecoveryDescription == nil ||
			out.ContinuousBackupsDescription.PointInTimeRecoveryDescription.PointInTimeRecoveryStatus != "DISABLED" {
			t.Errorf("DynamoDB: carts' point-in-time recovery %v %+v, want disabled", err, out)
		}
	}},
	{"data/catalog.yaml", "backupRetention: 7", "backupRetention: 5", "data/catalog", "backupRetention", func(t *testing.T, w *awsCrashWorld) {
		if got := aws.ToInt32(describeCluster(t, w, "acme-dev-data-catalog").BackupRetentionPeriod); got != 5 {
			t.Errorf("DocumentDB: backup retention %d, want 5", got)
		}
	}},
	{"edge/cdn.yaml", "expiration: {days: 365}", "expiration: {days: 400}", "edge/assets", "lifecycleRules[0].expiration.days", func(t *testing.T, w *awsCrashWorld) {
		out, err := s3.NewFromConfig(w.cfg).GetBucketLifecycleConfiguration(t.Context(), &s3.GetBucketLifecycleConfigurationInput{Bucket: aws.String("acme-dev-edge-assets")})
		if err != nil || len(out.Rules) != 1 || out.Rules[0].Expiration == nil || aws.ToInt32(out.Rules[0].Expiration.Days) != 400 {
			t.Errorf("S3: assets' lifecycle %v %+v, want expiration after 400 days", err, out)
		}
	}},
	{"storefront/web.yaml", "transitionToIA: AFTER_30_DAYS", "transitionToIA: AFTER_60_DAYS", "shop/media", "lifecycle.transitionToIA", func(t *testing.T, w *awsCrashWorld) {
		out, err := efs.NewFromConfig(w.cfg).DescribeLifecycleConfiguration(t.Context(), &efs.DescribeLifecycleConfigurationInput{FileSystemId: aws.String(fileSystem(t, w).id)})
		var ia []string
		for _, p := range out.LifecyclePolicies {
			if p.TransitionToIA != "" {
				ia = append(ia, string(p.TransitionToIA))
			}
		}
		if err != nil || !slices.Equal(ia, []string{"AFTER_60_DAYS"}) {
			t.Errorf("EFS: media's transition to IA %v %v, want AFTER_60_DAYS", err, ia)
		}
	}},
	{"data/catalog.yaml", "sizeGiB: 200", "sizeGiB: 300", "data/index", "sizeGiB", func(t *testing.T, w *awsCrashWorld) {
		if v := volume(t, w); aws.ToInt32(v.Size) != 300 {
			t.Errorf("EBS: index's size %d GiB, want 300", aws.ToInt32(v.Size))
		}
	}},
	{"payments/messaging.yaml", "visibilityTimeout: 60", "visibilityTimeout: 90", "pay/receipts", "visibilityTimeout", func(t *testing.T, w *awsCrashWorld) {
		c := sqs.NewFromConfig(w.cfg)
		url, err := c.GetQueueUrl(t.Context(), &sqs.GetQueueUrlInput{QueueName: aws.String("acme-dev-pay-receipts")})
		if err != nil {
			t.Fatal(err)
		}
		out, err := c.GetQueueAttributes(t.Context(), &sqs.GetQueueAttributesInput{QueueUrl: url.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{"VisibilityTimeout"}})
		if err != nil || out.Attributes["VisibilityTimeout"] != "90" {
			t.Errorf("SQS: receipts' visibility timeout %v %v, want 90", err, out)
		}
	}},
	{"payments/messaging.yaml", "displayName: Acme settlements", "displayName: Acme payments", "pay/settled", "displayName", func(t *testing.T, w *awsCrashWorld) {
		out, err := sns.NewFromConfig(w.cfg).GetTopicAttributes(t.Context(), &sns.GetTopicAttributesInput{TopicArn: aws.String("arn:aws:sns:us-east-1:000000000000:acme-dev-pay-settled")})
		if err != nil || out.Attributes["DisplayName"] != "Acme payments" {
			t.Errorf("SNS: settled's display name %v %v, want Acme payments", err, out)
		}
	}},
	{"devices/mqtt.yaml", "partitions: 24", "partitions: 32", "devices/telemetry", "partitions", func(t *testing.T, w *awsCrashWorld) {
		if got := aws.ToInt32(kafkaTopic(t, w, "acme-dev-devices-telemetry").PartitionCount); got != 32 {
			t.Errorf("Kafka: telemetry has %d partitions, want 32", got)
		}
	}},
	{"data/kafka.yaml", "storageGiB: 500", "storageGiB: 600", "data/msk", "storageGiB", func(t *testing.T, w *awsCrashWorld) {
		p := mskCluster(t, w).Provisioned
		if p == nil || aws.ToInt32(p.BrokerNodeGroupInfo.StorageInfo.EbsStorageInfo.VolumeSize) != 600 {
			t.Errorf("MSK: broker storage %+v, want 600 GiB", p)
		}
	}},
	{"payments/events.yaml", "retentionDays: 30", "retentionDays: 60", "pay/bus", "archive.retentionDays", func(t *testing.T, w *awsCrashWorld) {
		out, err := eventbridge.NewFromConfig(w.cfg).DescribeArchive(t.Context(), &eventbridge.DescribeArchiveInput{ArchiveName: aws.String("acme-dev-pay-bus")})
		if err != nil || aws.ToInt32(out.RetentionDays) != 60 {
			t.Errorf("EventBridge: the bus's archive %v %+v, want 60 days", err, out)
		}
	}},
	{"edge/load-balancers.yaml", "idleTimeout: 120", "idleTimeout: 90", "edge/alb", "idleTimeout", func(t *testing.T, w *awsCrashWorld) {
		if got := lbAttribute(t, w, "acme-dev-edge-alb", "idle_timeout.timeout_seconds"); got != "90" {
			t.Errorf("ALB: idle timeout %q, want 90", got)
		}
	}},
	{"edge/load-balancers.yaml", "crossZone: true", "crossZone: false", "edge/nlb", "crossZone", func(t *testing.T, w *awsCrashWorld) {
		if got := lbAttribute(t, w, "acme-dev-edge-nlb", "load_balancing.cross_zone.enabled"); got != "false" {
			t.Errorf("NLB: cross-zone %q, want false", got)
		}
	}},
	{"edge/cdn.yaml", "priceClass: PriceClass_100", "priceClass: PriceClass_200", "edge/cdn", "priceClass", func(t *testing.T, w *awsCrashWorld) {
		if got := distribution(t, w).PriceClass; got != "PriceClass_200" {
			t.Errorf("CloudFront: price class %s, want PriceClass_200", got)
		}
	}},
	{"edge/api.yaml", "throttling: {burstLimit: 500, rateLimit: 1000}", "throttling: {burstLimit: 500, rateLimit: 2000}", "edge/gw", "throttling.rateLimit", func(t *testing.T, w *awsCrashWorld) {
		out, err := apigatewayv2.NewFromConfig(w.cfg).GetStage(t.Context(), &apigatewayv2.GetStageInput{ApiId: aws.String(api(t, w)), StageName: aws.String("$default")})
		if err != nil || out.DefaultRouteSettings == nil || aws.ToFloat64(out.DefaultRouteSettings.ThrottlingRateLimit) != 2000 {
			t.Errorf("APIGateway: the stage's throttling %v %+v, want a rate limit of 2000", err, out)
		}
	}},
}

// checkPlannedUpdates checks that the next plan changes exactly the fields want lists, by
// component, each in place.
func checkPlannedUpdates(t *testing.T, w *awsCrashWorld, want map[string][]string) {
	t.Helper()
	r := w.c.run(append(append([]string{"plan", "--json"}, w.flags()...), w.stack.config)...)
	var p struct {
		Changes []struct {
			Address, Action string
			Fields          []struct{ Path string }
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &p); err != nil {
		t.Fatalf("plan --json: %v\n%s", err, r)
	}
	got := map[string][]string{}
	for _, ch := range p.Changes {
		if ch.Action == "no-op" {
			continue
		}
		if ch.Action != "update" {
			t.Errorf("%s: %s, want an in-place update", ch.Address, ch.Action)
		}
		for _, f := range ch.Fields {
			got[ch.Address] = append(got[ch.Address], f.Path)
		}
		slices.Sort(got[ch.Address])
	}
	for addr := range want {
		slices.Sort(want[addr])
	}
	for addr, fields := range want {
		if !slices.Equal(got[addr], fields) {
			t.Errorf("%s: the plan changes %v, want %v", addr, got[addr], fields)
		}
	}
	for addr, fields := range got {
		if want[addr] == nil {
			t.Errorf("%s: the plan changes %v, which nothing asked for", addr, fields)
		}
	}
}

func describeDB(t *testing.T, w *awsCrashWorld, name string) rdstypes.DBInstance {
	t.Helper()
	out, err := rds.NewFromConfig(w.cfg).DescribeDBInstances(t.Context(), &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(name)})
	if err != nil || len(out.DBInstances) != 1 {
		t.Fatalf("DB instance %s: %v", name, err)
	}
	return out.DBInstances[0]
}

func describeCluster(t *testing.T, w *awsCrashWorld, name string) rdstypes.DBCluster {
	t.Helper()
	out, err := rds.NewFromConfig(w.cfg).DescribeDBClusters(t.Context(), &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String(name)})
	if err != nil || len(out.DBClusters) != 1 {
		t.Fatalf("DB cluster %s: %v", name, err)
	}
	return out.DBClusters[0]
}

type efsView struct {
	id string
	fs efstypes.FileSystemDescription
}

func fileSystem(t *testing.T, w *awsCrashWorld) efsView {
	t.Helper()
	out, err := efs.NewFromConfig(w.cfg).DescribeFileSystems(t.Context(), &efs.DescribeFileSystemsInput{CreationToken: aws.String("acme-dev-shop-media")})
	if err != nil || len(out.FileSystems) != 1 {
		t.Fatalf("file system acme-dev-shop-media: %v", err)
	}
	return efsView{id: aws.ToString(out.FileSystems[0].FileSystemId), fs: out.FileSystems[0]}
}

func volume(t *testing.T, w *awsCrashWorld) ec2types.Volume {
	t.Helper()
	out, err := ec2.NewFromConfig(w.cfg).DescribeVolumes(t.Context(), &ec2.DescribeVolumesInput{
		Filters: []ec2types.Filter{{Name: aws.String("tag:Name"), Values: []string{"acme-dev-data-index"}}}})
	if err != nil || len(out.Volumes) != 1 {
		t.Fatalf("volume acme-dev-data-index: %v", err)
	}
	return out.Volumes[0]
}

func mskCluster(t *testing.T, w *awsCrashWorld) *kafkatypes.Cluster {
	t.Helper()
	c := kafka.NewFromConfig(w.cfg)
	list, err := c.ListClustersV2(t.Context(), &kafka.ListClustersV2Input{ClusterNameFilter: aws.String("acme-dev-data-msk")})
	if err != nil || len(list.ClusterInfoList) != 1 {
		t.Fatalf("MSK cluster acme-dev-data-msk: %v", err)
	}
	return &list.ClusterInfoList[0]
}

func kafkaTopic(t *testing.T, w *awsCrashWorld, name string) *kafka.DescribeTopicOutput {
	t.Helper()
	out, err := kafka.NewFromConfig(w.cfg).DescribeTopic(t.Context(), &kafka.DescribeTopicInput{ClusterArn: mskCluster(t, w).ClusterArn, TopicName: aws.String(name)})
	if err != nil {
		t.Fatalf("topic %s: %v", name, err)
	}
	return out
}

// topicConfigs decodes a topic's configs as MSK's API carries them (base64 JSON).
func topicConfigs(t *testing.T, encoded string) map[string]string {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		t.Fatalf("topic configs %q: %v", encoded, err)
	}
	m := map[string]string{}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("topic configs %s: %v", raw, err)
	}
	return m
}

func loadBalancer(t *testing.T, w *awsCrashWorld, name string) elbtypes.LoadBalancer {
	t.Helper()
	out, err := elb.NewFromConfig(w.cfg).DescribeLoadBalancers(t.Context(), &elb.DescribeLoadBalancersInput{Names: []string{name}})
	if err != nil || len(out.LoadBalancers) != 1 {
		t.Fatalf("load balancer %s: %v", name, err)
	}
	return out.LoadBalancers[0]
}

func lbAttribute(t *testing.T, w *awsCrashWorld, name, key string) string {
	t.Helper()
	out, err := elb.NewFromConfig(w.cfg).DescribeLoadBalancerAttributes(t.Context(), &elb.DescribeLoadBalancerAttributesInput{
		LoadBalancerArn: loadBalancer(t, w, name).LoadBalancerArn})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range out.Attributes {
		if aws.ToString(a.Key) == key {
			return aws.ToString(a.Value)
		}
	}
	return ""
}

func distribution(t *testing.T, w *awsCrashWorld) *cftypes.DistributionConfig {
	t.Helper()
	c := cloudfront.NewFromConfig(w.cfg)
	list, err := c.ListDistributions(t.Context(), &cloudfront.ListDistributionsInput{})
	if err != nil || list.DistributionList == nil {
		t.Fatalf("ListDistributions: %v", err)
	}
	for _, d := range list.DistributionList.Items {
		if aws.ToString(d.Comment) == "acme-dev-edge-cdn" {
			out, err := c.GetDistributionConfig(t.Context(), &cloudfront.GetDistributionConfigInput{Id: d.Id})
			if err != nil {
				t.Fatal(err)
			}
			return out.DistributionConfig
		}
	}
	t.Fatal("no distribution acme-dev-edge-cdn")
	return nil
}

func api(t *testing.T, w *awsCrashWorld) string {
	t.Helper()
	out, err := apigatewayv2.NewFromConfig(w.cfg).GetApis(t.Context(), &apigatewayv2.GetApisInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range out.Items {
		if aws.ToString(a.Name) == "acme-dev-edge-gw" {
			return aws.ToString(a.ApiId)
		}
	}
	t.Fatal("no API acme-dev-edge-gw")
	return ""
}

// checkPlatformKinds checks, through the SDK, the settings of the kinds TestPlatformContainers
// does not (it checks the services, load balancers and network): what each is made of as
// examples/platform writes it, and the security groups that admit their clients.
func checkPlatformKinds(t *testing.T, w *awsCrashWorld) {
	ctx := t.Context()

	// RDS: postgres in the private subnets, its password kept by RDS in Secrets Manager.
	db := describeDB(t, w, "acme-dev-pay-db")
	if aws.ToString(db.Engine) != "postgres" || aws.ToString(db.EngineVersion) != "16.4" || aws.ToString(db.DBInstanceClass) != "db.t4g.micro" ||
		aws.ToInt32(db.AllocatedStorage) != 100 || aws.ToInt32(db.MaxAllocatedStorage) != 500 || aws.ToString(db.StorageType) != "gp3" ||
		!aws.ToBool(db.MultiAZ) || aws.ToInt32(db.BackupRetentionPeriod) != 14 || aws.ToString(db.PreferredBackupWindow) != "02:00-02:30" ||
		aws.ToString(db.DBName) != "payments" || aws.ToString(db.MasterUsername) != "pay_admin" || !aws.ToBool(db.DeletionProtection) {
		t.Errorf("RDS: %s %s %s, storage %d–%d %s, multi-AZ %v, backups %d days at %s, database %s of %s, deletion protection %v",
			aws.ToString(db.Engine), aws.ToString(db.EngineVersion), aws.ToString(db.DBInstanceClass), aws.ToInt32(db.AllocatedStorage),
			aws.ToInt32(db.MaxAllocatedStorage), aws.ToString(db.StorageType), aws.ToBool(db.MultiAZ), aws.ToInt32(db.BackupRetentionPeriod),
			aws.ToString(db.PreferredBackupWindow), aws.ToString(db.DBName), aws.ToString(db.MasterUsername), aws.ToBool(db.DeletionProtection))
	}
	if db.MasterUserSecret == nil || !strings.HasPrefix(aws.ToString(db.MasterUserSecret.SecretArn), "arn:aws:secretsmanager:") {
		t.Errorf("RDS: master user secret %+v, want one kept by RDS", db.MasterUserSecret)
	}
	if db.DBSubnetGroup == nil || len(db.DBSubnetGroup.Subnets) != 3 || len(db.VpcSecurityGroups) != 1 {
		t.Errorf("RDS: subnet group %+v, groups %+v; want the three private subnets and its own group", db.DBSubnetGroup, db.VpcSecurityGroups)
	}

	// DocumentDB: a cluster of three instances.
	cl := describeCluster(t, w, "acme-dev-data-catalog")
	if aws.ToString(cl.Engine) != "docdb" || aws.ToString(cl.EngineVersion) != "5.0.0" || len(cl.DBClusterMembers) != 3 ||
		aws.ToInt32(cl.BackupRetentionPeriod) != 7 || aws.ToString(cl.PreferredBackupWindow) != "01:00-01:30" || !aws.ToBool(cl.DeletionProtection) ||
		aws.ToString(cl.MasterUsername) != "catalogadmin" || aws.ToString(cl.DBSubnetGroup) != "acme-dev-data-catalog" {
		t.Errorf("DocumentDB: %s %s, %d instances, backups %d days at %s, deletion protection %v, user %s, subnet group %s", aws.ToString(cl.Engine),
			aws.ToString(cl.EngineVersion), len(cl.DBClusterMembers), aws.ToInt32(cl.BackupRetentionPeriod), aws.ToString(cl.PreferredBackupWindow),
			aws.ToBool(cl.DeletionProtection), aws.ToString(cl.MasterUsername), aws.ToString(cl.DBSubnetGroup))
	}
	for i := 1; i <= 3; i++ {
		if c := aws.ToString(describeDB(t, w, "acme-dev-data-catalog-"+strconv.Itoa(i)).DBInstanceClass); c != "db.r6g.large" {
			t.Errorf("DocumentDB: instance %d is a %s, want db.r6g.large", i, c)
		}
	}

	// EFS: elastic throughput, its lifecycle, the uploads access point, a mount target per
	// private subnet; shop/web mounts it.
	fs := fileSystem(t, w)
	if fs.fs.ThroughputMode != "elastic" || !aws.ToBool(fs.fs.Encrypted) {
		t.Errorf("EFS: throughput mode %s, encrypted %v; want elastic, encrypted", fs.fs.ThroughputMode, aws.ToBool(fs.fs.Encrypted))
	}
	e := efs.NewFromConfig(w.cfg)
	lc, err := e.DescribeLifecycleConfiguration(ctx, &efs.DescribeLifecycleConfigurationInput{FileSystemId: aws.String(fs.id)})
	if err != nil {
		t.Fatal(err)
	}
	var policies []string
	for _, p := range lc.LifecyclePolicies {
		policies = append(policies, string(p.TransitionToIA)+string(p.TransitionToPrimaryStorageClass))
	}
	slices.Sort(policies)
	if !slices.Equal(policies, []string{"AFTER_1_ACCESS", "AFTER_30_DAYS"}) {
		t.Errorf("EFS: lifecycle %v, want to IA after 30 days, back after 1 access", policies)
	}
	aps, err := e.DescribeAccessPoints(ctx, &efs.DescribeAccessPointsInput{FileSystemId: aws.String(fs.id)})
	if err != nil || len(aps.AccessPoints) != 1 {
		t.Fatalf("EFS access points: %v %+v", err, aps)
	}
	if ap := aps.AccessPoints[0]; aws.ToString(ap.RootDirectory.Path) != "/uploads" || aws.ToInt64(ap.PosixUser.Uid) != 1000 ||
		aws.ToString(ap.RootDirectory.CreationInfo.Permissions) != "0750" {
		t.Errorf("EFS: access point %s at %s as uid %d with %s", aws.ToString(ap.Name), aws.ToString(ap.RootDirectory.Path), aws.ToInt64(ap.PosixUser.Uid),
			aws.ToString(ap.RootDirectory.CreationInfo.Permissions))
	}
	web := describeTaskDefinition(t, w, aws.ToString(describeService(t, w, "acme-dev-shop-web").TaskDefinition))
	if len(web.Volumes) != 1 || web.Volumes[0].EfsVolumeConfiguration == nil || aws.ToString(web.Volumes[0].EfsVolumeConfiguration.FileSystemId) != fs.id {
		t.Errorf("shop/web's volumes %+v, want the file system %s", web.Volumes, fs.id)
	}

	// EBS: gp3 with extra IOPS and throughput, encrypted, in the zone eu-west-1a stands for.
	v := volume(t, w)
	if aws.ToInt32(v.Size) != 200 || v.VolumeType != "gp3" || aws.ToInt32(v.Iops) != 6000 || aws.ToInt32(v.Throughput) != 250 ||
		!aws.ToBool(v.Encrypted) || aws.ToString(v.AvailabilityZone) != "us-east-1a" {
		t.Errorf("EBS: %d GiB %s, %d IOPS, %d MiB/s, encrypted %v, in %s", aws.ToInt32(v.Size), v.VolumeType, aws.ToInt32(v.Iops), aws.ToInt32(v.Throughput),
			aws.ToBool(v.Encrypted), aws.ToString(v.AvailabilityZone))
	}

	// MSK: three brokers, one per private subnet, IAM authentication; the topics on it.
	m := mskCluster(t, w)
	if p := m.Provisioned; p == nil || aws.ToInt32(p.NumberOfBrokerNodes) != 3 || aws.ToString(p.BrokerNodeGroupInfo.InstanceType) != "kafka.m7g.large" ||
		len(p.BrokerNodeGroupInfo.ClientSubnets) != 3 || aws.ToString(p.CurrentBrokerSoftwareInfo.KafkaVersion) != "3.6.0" ||
		p.ClientAuthentication == nil || p.ClientAuthentication.Sasl == nil || !aws.ToBool(p.ClientAuthentication.Sasl.Iam.Enabled) {
		t.Errorf("MSK: %+v", p)
	}
	orders := kafkaTopic(t, w, "acme-dev-data-orders")
	if aws.ToInt32(orders.PartitionCount) != 12 || aws.ToInt32(orders.ReplicationFactor) != 3 || topicConfigs(t, aws.ToString(orders.Configs))["min.insync.replicas"] != "2" {
		t.Errorf("Kafka: orders has %d partitions, replication %d, configs %s", aws.ToInt32(orders.PartitionCount), aws.ToInt32(orders.ReplicationFactor), aws.ToString(orders.Configs))
	}
	telemetry := kafkaTopic(t, w, "acme-dev-devices-telemetry")
	if aws.ToInt32(telemetry.PartitionCount) != 24 || topicConfigs(t, aws.ToString(telemetry.Configs))["retention.ms"] != "259200000" {
		t.Errorf("Kafka: telemetry has %d partitions, configs %s", aws.ToInt32(telemetry.PartitionCount), aws.ToString(telemetry.Configs))
	}

	// Lambda: the webhook's code is the example's directory, zipped.
	fn, err := lambda.NewFromConfig(w.cfg).GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("acme-dev-pay-webhook")})
	if err != nil || fn.Runtime != "python3.12" || aws.ToString(fn.Handler) != "app.handler" || fn.CodeSize == 0 || aws.ToString(fn.CodeSha256) == "" {
		t.Errorf("Lambda: webhook %v %+v", err, fn)
	}

	// API Gateway: /payments/* through a VPC link to the internal ALB's listener.
	internal := loadBalancer(t, w, "acme-dev-edge-internal")
	if internal.Scheme != "internal" {
		t.Errorf("edge/internal's scheme %s, want internal", internal.Scheme)
	}
	ag := apigatewayv2.NewFromConfig(w.cfg)
	ints, err := ag.GetIntegrations(ctx, &apigatewayv2.GetIntegrationsInput{ApiId: aws.String(api(t, w))})
	if err != nil {
		t.Fatal(err)
	}
	listeners, err := elb.NewFromConfig(w.cfg).DescribeListeners(ctx, &elb.DescribeListenersInput{LoadBalancerArn: internal.LoadBalancerArn})
	if err != nil || len(listeners.Listeners) != 1 {
		t.Fatalf("edge/internal's listeners: %v", err)
	}
	private := 0
	for _, it := range ints.Items {
		if it.ConnectionType != "VPC_LINK" {
			continue
		}
		private++
		if aws.ToString(it.IntegrationUri) != aws.ToString(listeners.Listeners[0].ListenerArn) || it.IntegrationType != "HTTP_PROXY" {
			t.Errorf("APIGateway: integration %s to %s, want HTTP_PROXY to edge/internal's listener", it.IntegrationType, aws.ToString(it.IntegrationUri))
		}
		link, err := ag.GetVpcLink(ctx, &apigatewayv2.GetVpcLinkInput{VpcLinkId: it.ConnectionId})
		if err != nil || len(link.SubnetIds) != 3 || len(link.SecurityGroupIds) != 1 || link.VpcLinkStatus != "AVAILABLE" {
			t.Errorf("APIGateway: VPC link %v %+v, want available in the three private subnets with the API's group", err, link)
		}
	}
	if private != 1 {
		t.Errorf("APIGateway: %d private integrations, want 1", private)
	}

	// CloudFront: the shop's pages from the ALB over HTTPS, static files from S3 through OAC.
	d := distribution(t, w)
	alb := loadBalancer(t, w, "acme-dev-edge-alb")
	origins := map[string]cftypes.Origin{}
	for _, o := range d.Origins.Items {
		origins[aws.ToString(o.Id)] = o
	}
	if o := origins["shop"]; aws.ToString(o.DomainName) != aws.ToString(alb.DNSName) || o.CustomOriginConfig == nil ||
		o.CustomOriginConfig.OriginProtocolPolicy != "https-only" || aws.ToString(o.OriginAccessControlId) != "" {
		t.Errorf("CloudFront: origin shop %+v, want the ALB's %s over HTTPS", o, aws.ToString(alb.DNSName))
	}
	if o := origins["assets"]; !strings.HasPrefix(aws.ToString(o.DomainName), "acme-dev-edge-assets.s3.") || aws.ToString(o.OriginAccessControlId) == "" {
		t.Errorf("CloudFront: origin assets %+v, want the bucket through an origin access control", o)
	}
	if got := aws.ToString(d.DefaultCacheBehavior.TargetOriginId); got != "shop" {
		t.Errorf("CloudFront: the default behavior goes to %s, want shop", got)
	}

	// The security groups of the stateful kinds and the internal ALB admit their clients.
	groups := securityGroups(t, w)
	var msk []string
	for _, port := range []string{"9092", "9094", "9096", "9098"} {
		for _, client := range []string{"acme-dev-data-indexer--sg", "acme-dev-devices-mqtt--sg", "acme-dev-pay-api--sg"} {
			msk = append(msk, "tcp "+port+" "+client)
		}
	}
	slices.Sort(msk)
	for name, want := range map[string][]string{
		"acme-dev-pay-db--sg":        {"tcp 5432 acme-dev-pay-api--sg", "tcp 5432 acme-dev-pay-settler--sg"},
		"acme-dev-data-catalog--sg":  {"tcp 27017 acme-dev-data-indexer--sg", "tcp 27017 acme-dev-data-report--sg", "tcp 27017 acme-dev-shop-web--sg"},
		"acme-dev-shop-media--sg":    {"tcp 2049 acme-dev-shop-web--sg"},
		"acme-dev-data-msk--sg":      msk,
		"acme-dev-edge-internal--sg": {"tcp 80 acme-dev-edge-gw--sg", "tcp 80 acme-dev-shop-web--sg"},
		"acme-dev-edge-gw--sg":       nil,
	} {
		if got := groups[name]; !slices.Equal(got, want) {
			t.Errorf("%s admits %v, want %v", name, got, want)
		}
	}
}
