//go:build linux

package main

// Measurement 10: examples/platform, the whole example, on the local AWS (issue 12). The
// directory as written (every kind of the config language, 58 resources in environment dev:
// the components and the network, cluster and security groups the engine derives) is applied,
// planned with no change and destroyed, in-process, with the AWS provider built as --local
// builds it (the emulator's account and region standing for the stack's 111111111111 and
// eu-west-1, Options.Emulated), every SDK call counted (as measurements 8 and 9, localaws.go),
// and with the sim as the ideal bound, as measurement 9: every operation one emulator round
// trip, except those that wait on the cloud, which are a round trip plus as long as the local
// AWS makes them wait (its delays, read from internal/localaws): on create a MicroService or
// Worker its task start delay, a NAT gateway its NAT delay, RDS and DocumentDB the RDS delay
// (a cluster's instances come up together), MSK and each Kafka topic the MSK delay, EFS twice
// the EFS delay (the file system, then its mount targets), EBS the EBS delay, the API Gateway
// its VPC link's delay; on delete the same, except the tasks' stop (half the start delay),
// DocumentDB twice the RDS delay (its instances, then the cluster) and Kafka topics nothing.
//
// The run changes the example in memory only: the stack is named afresh (the emulator outlives
// a run, and the databases' final snapshots are named after the stack) and deletionProtection
// is false, so that the destroy can delete. What the stack takes as given is made through the
// SDK first, as cmd/panka's e2e tests do: the secrets acme/dev/catalog, acme/dev/stripe,
// acme/stripe-webhook and the SSM parameter /acme/shop/session-secret.
//
// Waiter polls: per slow kind, the calls of the operations its waits use (RDS
// DescribeDBInstances and DescribeDBClusters, Kafka DescribeClusterV2 and DescribeTopic, EFS
// DescribeFileSystems and DescribeMountTargets, EC2 DescribeVolumes and DescribeNatGateways, ECS
// DescribeServices, ApiGatewayV2 GetVpcLink, ELBv2 DescribeLoadBalancers), per resource of the
// kinds that use them, in each step. Those counts are every call of the operation in the step,
// not only the waits': they include each resource's reads (the lookup before a create, the
// read-back after it, the no-change plan's one read), and where kinds share an operation
// (RDS and DocumentDB, MSK and its topics' cluster reads) it is counted for them together.
// The no-change plan's figures are the reads alone, for comparison.
//
// After the destroy it lists, through the SDK, what of the run is left (platformLeft) and, apart,
// the final snapshots the destroy keeps by design.

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing/fstest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/efs"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/kafka"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/panka/panka"
	"github.com/panka/panka/internal/localaws"
)

const (
	pfDir       = "examples/platform" // from the repository's root
	pfAccount   = "111111111111"      // the stack's account (stack.yaml)
	pfResources = 58                  // what the apply makes in dev
	pfSDKRegion = "us-east-1"         // the emulator's one region, which stands for the stack's
)

// pfSlow is, for each group of slow kinds, the operations their waits poll.
var pfSlow = []struct {
	kinds []string
	ops   []opKey
}{
	{[]string{"RDS", "DocumentDB"}, []opKey{{"RDS", "DescribeDBInstances"}, {"RDS", "DescribeDBClusters"}}},
	{[]string{"MSK"}, []opKey{{"Kafka", "DescribeClusterV2"}}},
	{[]string{"Kafka"}, []opKey{{"Kafka", "DescribeTopic"}}},
	{[]string{"EFS"}, []opKey{{"EFS", "DescribeFileSystems"}, {"EFS", "DescribeMountTargets"}}},
	{[]string{"EBS"}, []opKey{{"EC2", "DescribeVolumes"}}},
	{[]string{"NATGateway"}, []opKey{{"EC2", "DescribeNatGateways"}}},
	{[]string{"MicroService", "Worker"}, []opKey{{"ECS", "DescribeServices"}}},
	{[]string{"APIGateway"}, []opKey{{"ApiGatewayV2", "GetVpcLink"}}},
	{[]string{"ALB", "NLB"}, []opKey{{"Elastic Load Balancing v2", "DescribeLoadBalancers"}}},
}

// platformDir finds examples/platform from the working directory or one of its parents (the
// bench runs from the repository's root, its tests from bench/).
func platformDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, pfDir)
		if _, err := os.Stat(filepath.Join(p, "stack.yaml")); err == nil {
			return p, nil
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "", fmt.Errorf("no %s in the working directory or above", pfDir)
		}
		dir = up
	}
}

// platformFiles reads the example directory into memory, the stack renamed name and deletion
// protection off, and returns it with the stack's file.
func platformFiles(name string) (fstest.MapFS, error) {
	dir, err := platformDir()
	if err != nil {
		return nil, err
	}
	files := fstest.MapFS{}
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		files[filepath.ToSlash(rel)] = &fstest.MapFile{Data: data, Mode: 0o644}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", pfDir, err)
	}
	protected := 0
	for _, f := range files {
		protected += strings.Count(string(f.Data), "deletionProtection: true")
		f.Data = []byte(strings.ReplaceAll(string(f.Data), "deletionProtection: true", "deletionProtection: false"))
	}
	stack := files["stack.yaml"]
	if stack == nil || protected != 4 || strings.Count(string(stack.Data), "\n  name: acme\n") != 1 {
		return nil, fmt.Errorf("%s changed: want stack.yaml named acme and 4 deletionProtection: true, have %d", pfDir, protected)
	}
	stack.Data = []byte(strings.Replace(string(stack.Data), "\n  name: acme\n", "\n  name: "+name+"\n", 1))
	return files, nil
}

// loadPlatform parses the example as the CLI does a directory (Lambda code read from it), the
// stack named name, and validates it.
func loadPlatform(name string) (*panka.Config, error) {
	files, err := platformFiles(name)
	if err != nil {
		return nil, err
	}
	cfg, err := panka.ParseFS(context.Background(), files, ".")
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", pfDir, err)
	}
	if err := panka.Validate(cfg); err != nil {
		return nil, fmt.Errorf("validate %s: %w", pfDir, err)
	}
	return cfg, nil
}

// platform is measurement 10's workload.
func platform(rtt time.Duration) workload {
	ecsD, natD, rdsD, mskD := localaws.ECSStartDelay(), localaws.NATDelay(), localaws.RDSDelay(), localaws.MSKDelay()
	efsD, ebsD, linkD := localaws.EFSDelay(), localaws.EBSDelay(), localaws.APIGWVPCLinkDelay()
	const none = -1 // no override: a round trip
	step := func(ms, nat, rds, doc, msk, topic, efs, ebs, link time.Duration) map[string]time.Duration {
		m := map[string]time.Duration{"MicroService": ms, "Worker": ms, "NATGateway": nat, "RDS": rds, "DocumentDB": doc,
			"MSK": msk, "Kafka": topic, "EFS": efs, "EBS": ebs, "APIGateway": link}
		for k, d := range m {
			if d >= 0 {
				m[k] = d + rtt
			}
		}
		return m
	}
	return workload{
		load:    loadPlatform,
		account: pfAccount,
		n:       pfResources,
		env:     "dev",
		stepLatency: map[string]map[string]time.Duration{
			"apply":   step(ecsD, natD, rdsD, rdsD, mskD, mskD, 2*efsD, ebsD, linkD),
			"plan":    step(none, none, none, none, none, none, none, none, none),
			"destroy": step(ecsD/2, natD, rdsD, 2*rdsD, mskD, none, 2*efsD, ebsD, linkD),
		},
		left: (*laEnv).platformLeft,
	}
}

// seedPlatform makes what the example takes as given, as cmd/panka's seedSecrets does; what
// exists already (an earlier run's) is kept.
func (e *laEnv) seedPlatform(ctx context.Context) error {
	sm := secretsmanager.NewFromConfig(e.cfg)
	for name, value := range map[string]string{"acme/dev/catalog": `{"password":"local-catalog-password"}`, "acme/dev/stripe": `{"api_key":"k"}`,
		"acme/stripe-webhook": `{"signing_secret":"whsec"}`} {
		_, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(value)})
		if exists := (*smtypes.ResourceExistsException)(nil); err != nil && !errors.As(err, &exists) {
			return fmt.Errorf("seed secret %s: %w", name, err)
		}
	}
	if _, err := ssm.NewFromConfig(e.cfg).PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/acme/shop/session-secret"),
		Value: aws.String("s"), Type: ssmtypes.ParameterTypeSecureString, Overwrite: aws.Bool(true)}); err != nil {
		return fmt.Errorf("seed parameter: %w", err)
	}
	e.calls.take()
	return nil
}

// platformLeft lists, through the SDK, what of created is left: what containersLeft lists, and
// the databases, MSK clusters, file systems, volumes, functions, buckets, queues, topics,
// tables, log groups, APIs, VPC links, distributions, schedules, event buses and the SSM
// parameters holding Kafka topics' tags named or tagged as the run's. Not listed: what goes
// with what is listed (ECS services with their cluster; security groups, subnets, gateways and
// route tables with their VPC: the local AWS refuses to delete a VPC still in use). The final
// snapshots the destroy keeps are listed as "kept final snapshot".
func (e *laEnv) platformLeft(ctx context.Context, created []panka.ResourceResult) ([]string, error) {
	left, err := e.containersLeft(ctx, created)
	if err != nil {
		return nil, err
	}
	stack, err := stackOf(created)
	if err != nil {
		return nil, err
	}
	prefix := stack + "-dev-"
	add := func(what string, names ...string) {
		for _, n := range names {
			if strings.Contains(n, prefix) {
				left = append(left, what+" "+n)
			}
		}
	}
	listers := []func() error{
		func() error {
			out, err := rds.NewFromConfig(e.cfg).DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{})
			for _, d := range outOr(out, err).DBInstances {
				add("DB instance", aws.ToString(d.DBInstanceIdentifier))
			}
			return err
		},
		func() error {
			out, err := rds.NewFromConfig(e.cfg).DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{})
			for _, d := range outOr(out, err).DBClusters {
				add("DB cluster", aws.ToString(d.DBClusterIdentifier))
			}
			return err
		},
		func() error {
			out, err := rds.NewFromConfig(e.cfg).DescribeDBSnapshots(ctx, &rds.DescribeDBSnapshotsInput{})
			for _, s := range outOr(out, err).DBSnapshots {
				add("kept final snapshot", aws.ToString(s.DBSnapshotIdentifier))
			}
			return err
		},
		func() error {
			out, err := rds.NewFromConfig(e.cfg).DescribeDBClusterSnapshots(ctx, &rds.DescribeDBClusterSnapshotsInput{})
			for _, s := range outOr(out, err).DBClusterSnapshots {
				add("kept final snapshot", aws.ToString(s.DBClusterSnapshotIdentifier))
			}
			return err
		},
		func() error {
			out, err := kafka.NewFromConfig(e.cfg).ListClustersV2(ctx, &kafka.ListClustersV2Input{})
			for _, c := range outOr(out, err).ClusterInfoList {
				add("MSK cluster", aws.ToString(c.ClusterName))
			}
			return err
		},
		func() error {
			out, err := efs.NewFromConfig(e.cfg).DescribeFileSystems(ctx, &efs.DescribeFileSystemsInput{})
			for _, f := range outOr(out, err).FileSystems {
				add("file system", aws.ToString(f.Name)+" "+aws.ToString(f.CreationToken))
			}
			return err
		},
		func() error {
			out, err := ec2.NewFromConfig(e.cfg).DescribeVolumes(ctx, &ec2.DescribeVolumesInput{
				Filters: []ec2types.Filter{{Name: aws.String("tag:panka:stack"), Values: []string{stack}}}})
			for _, v := range outOr(out, err).Volumes {
				left = append(left, "volume "+aws.ToString(v.VolumeId))
			}
			return err
		},
		func() error {
			out, err := lambda.NewFromConfig(e.cfg).ListFunctions(ctx, &lambda.ListFunctionsInput{})
			for _, f := range outOr(out, err).Functions {
				add("function", aws.ToString(f.FunctionName))
			}
			return err
		},
		func() error {
			out, err := s3.NewFromConfig(e.cfg).ListBuckets(ctx, &s3.ListBucketsInput{})
			for _, b := range outOr(out, err).Buckets {
				add("bucket", aws.ToString(b.Name))
			}
			return err
		},
		func() error {
			out, err := e.sqs.ListQueues(ctx, &sqs.ListQueuesInput{QueueNamePrefix: aws.String(prefix)})
			add("queue", outOr(out, err).QueueUrls...)
			return err
		},
		func() error {
			out, err := sns.NewFromConfig(e.cfg).ListTopics(ctx, &sns.ListTopicsInput{})
			for _, t := range outOr(out, err).Topics {
				add("topic", aws.ToString(t.TopicArn))
			}
			return err
		},
		func() error {
			out, err := e.ddb.ListTables(ctx, nil)
			add("table", outOr(out, err).TableNames...)
			return err
		},
		func() error {
			out, err := cloudwatchlogs.NewFromConfig(e.cfg).DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{})
			for _, g := range outOr(out, err).LogGroups {
				add("log group", aws.ToString(g.LogGroupName))
			}
			return err
		},
		func() error {
			out, err := apigatewayv2.NewFromConfig(e.cfg).GetApis(ctx, &apigatewayv2.GetApisInput{})
			for _, a := range outOr(out, err).Items {
				add("API", aws.ToString(a.Name))
			}
			return err
		},
		func() error {
			out, err := apigatewayv2.NewFromConfig(e.cfg).GetVpcLinks(ctx, &apigatewayv2.GetVpcLinksInput{})
			for _, l := range outOr(out, err).Items {
				add("VPC link", aws.ToString(l.Name))
			}
			return err
		},
		func() error {
			out, err := cloudfront.NewFromConfig(e.cfg).ListDistributions(ctx, &cloudfront.ListDistributionsInput{})
			if err == nil && out.DistributionList != nil {
				for _, d := range out.DistributionList.Items {
					add("distribution", aws.ToString(d.Comment)) // the component's name (cloudfront.go)
				}
			}
			return err
		},
		func() error {
			out, err := scheduler.NewFromConfig(e.cfg).ListSchedules(ctx, &scheduler.ListSchedulesInput{NamePrefix: aws.String(prefix)})
			for _, sc := range outOr(out, err).Schedules {
				add("schedule", aws.ToString(sc.Name))
			}
			return err
		},
		func() error {
			out, err := ssm.NewFromConfig(e.cfg).GetParametersByPath(ctx, &ssm.GetParametersByPathInput{Path: aws.String("/panka/kafka-topics"), Recursive: aws.Bool(true)})
			for _, p := range outOr(out, err).Parameters {
				add("topic tags parameter", aws.ToString(p.Name)) // kafka.go's tagParam
			}
			return err
		},
		func() error {
			out, err := eventbridge.NewFromConfig(e.cfg).ListEventBuses(ctx, &eventbridge.ListEventBusesInput{})
			for _, b := range outOr(out, err).EventBuses {
				add("event bus", aws.ToString(b.Name))
			}
			return err
		},
	}
	for _, list := range listers {
		if err := list(); err != nil {
			return nil, fmt.Errorf("list what is left: %w", err)
		}
	}
	e.calls.take()
	slices.Sort(left)
	return left, nil
}

// outOr returns out, or an empty output when err is set (the SDK returns nil then).
func outOr[T any](out *T, err error) *T {
	if err != nil || out == nil {
		return new(T)
	}
	return out
}

// platformKept splits what platformLeft listed into what the destroy must not leave and the final
// snapshots it keeps.
func platformKept(listed []string) (left, snapshots []string) {
	for _, l := range listed {
		if s, ok := strings.CutPrefix(l, "kept final snapshot "); ok {
			snapshots = append(snapshots, s)
		} else {
			left = append(left, l)
		}
	}
	return left, snapshots
}

// newPlatformEnv connects to the emulator in its own region (as --local does) and seeds it.
func newPlatformEnv(ctx context.Context, probes int) (*laEnv, error) {
	e, err := newLAEnvIn(ctx, pfSDKRegion, probes)
	if err != nil {
		return nil, err
	}
	return e, e.seedPlatform(ctx)
}

// polls returns, for each group of slow kinds that run made, its polled operations' calls in
// st per resource of the group.
func polls(run laRun, st laStep) []string {
	var out []string
	for _, g := range pfSlow {
		n := 0
		for _, k := range g.kinds {
			n += run.Kinds[k]
		}
		if n == 0 {
			continue
		}
		var ops []string
		for _, op := range g.ops {
			ops = append(ops, fmt.Sprintf("%s %s %.1f", op.Service, op.Op, float64(st.Calls.calls(op.Service, op.Op))/float64(n)))
		}
		out = append(out, fmt.Sprintf("%s (%d): %s", strings.Join(g.kinds, "+"), n, strings.Join(ops, ", ")))
	}
	return out
}

// measurePlatform is measurement 10.
func measurePlatform(ctx context.Context, t *table, runs int) error {
	e, err := newPlatformEnv(ctx, laProbes)
	if err != nil {
		return err
	}
	w := platform(e.rtt)
	awsBest, simBest, err := e.bestRuns(ctx, w, runs, "10 platform")
	if err != nil {
		return err
	}
	name := fmt.Sprintf("10 local AWS examples/platform (%d resources)", pfResources)
	t.add(name, "emulator round trip, SQS ListQueues (median)", msFine(e.rtt), "", true)
	t.add(name, "delays: ECS start, NAT, RDS, MSK, EFS, EBS, VPC link", strings.Join([]string{ms(localaws.ECSStartDelay()), ms(localaws.NATDelay()),
		ms(localaws.RDSDelay()), ms(localaws.MSKDelay()), ms(localaws.EFSDelay()), ms(localaws.EBSDelay()), ms(localaws.APIGWVPCLinkDelay())}, ", "), "", true)
	for _, st := range steps(awsBest, simBest) {
		t.addIdeal(name, st)
		c := st.aws.Calls
		t.add(name, st.cmd+" AWS calls per resource", fmt.Sprintf("%.1f (%d calls)", float64(c.total())/pfResources, c.total()), "", true)
		for _, p := range polls(awsBest, st.aws) {
			kinds, ops, _ := strings.Cut(p, ": ")
			t.add(name, "  polled, per resource: "+kinds, ops, "", true)
		}
	}
	left, snaps := platformKept(awsBest.Left)
	t.add(name, "kept after destroy: final snapshots", strings.Join(snaps, ", "), "", true)
	t.addLeft(name, left)
	return nil
}
