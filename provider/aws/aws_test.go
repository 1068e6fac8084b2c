package aws_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/kafka"
	kafkatypes "github.com/aws/aws-sdk-go-v2/service/kafka/types"

	"github.com/panka/panka/internal/localaws"
	"github.com/panka/panka/provider"
	pankaaws "github.com/panka/panka/provider/aws"
	"github.com/panka/panka/provider/providertest"
)

// The tests run the provider against the local AWS (kumo and its gap layer) over HTTP on
// 127.0.0.1, one emulator for the package: kumo's data is global to the process.
var emulator = sync.OnceValues(func() (*localaws.Server, error) { return localaws.Start("") })

const region = "us-east-1" // kumo names every ARN in us-east-1

func sdkConfig(t *testing.T) aws.Config {
	t.Helper()
	srv, err := emulator()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := srv.Config(t.Context(), region)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func newProvider(t *testing.T) *pankaaws.Provider {
	t.Helper()
	p, err := pankaaws.New(sdkConfig(t), pankaaws.Options{Region: region})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConformance(t *testing.T) {
	providertest.RunIn(t, conformanceEnv(t), func(t *testing.T) provider.Provider { return newProvider(t) })
}

// conformanceEnv places the suite's networked kinds in the emulator's default VPC, in a security
// group and an ECS cluster of the suite's own.
func conformanceEnv(t *testing.T) providertest.Env {
	t.Helper()
	cfg := sdkConfig(t)
	ec := ec2.NewFromConfig(cfg)
	subnets, err := ec.DescribeSubnets(t.Context(), &ec2.DescribeSubnetsInput{
		Filters: []ec2types.Filter{{Name: aws.String("default-for-az"), Values: []string{"true"}}}})
	if err != nil || len(subnets.Subnets) < 2 {
		t.Fatalf("the default VPC's subnets: %v (%d)", err, len(subnets.Subnets))
	}
	env := providertest.Env{VPCID: aws.ToString(subnets.Subnets[0].VpcId)}
	for _, s := range subnets.Subnets[:2] {
		env.Subnets = append(env.Subnets, aws.ToString(s.SubnetId))
	}
	sg, err := ec.CreateSecurityGroup(t.Context(), &ec2.CreateSecurityGroupInput{
		GroupName: aws.String(unique("suite-sg-")), Description: aws.String("providertest"), VpcId: aws.String(env.VPCID)})
	if err != nil {
		t.Fatal(err)
	}
	env.SecurityGroups = []string{aws.ToString(sg.GroupId)}
	cluster, err := ecs.NewFromConfig(cfg).CreateCluster(t.Context(), &ecs.CreateClusterInput{ClusterName: aws.String(unique("suite-"))})
	if err != nil {
		t.Fatal(err)
	}
	env.Cluster = aws.ToString(cluster.Cluster.ClusterArn)
	env.MSKCluster = suiteMSKCluster(t, env)
	return env
}

// suiteMSKCluster makes the suite's Kafka topics' MSK cluster (two brokers in env's subnets,
// untagged: no component's) and waits until it is ACTIVE.
func suiteMSKCluster(t *testing.T, env providertest.Env) string {
	t.Helper()
	c := kafka.NewFromConfig(sdkConfig(t))
	out, err := c.CreateClusterV2(t.Context(), &kafka.CreateClusterV2Input{ClusterName: aws.String(unique("suite-msk-")),
		Provisioned: &kafkatypes.ProvisionedRequest{KafkaVersion: aws.String("3.6.0"), NumberOfBrokerNodes: aws.Int32(2),
			BrokerNodeGroupInfo: &kafkatypes.BrokerNodeGroupInfo{ClientSubnets: env.Subnets, SecurityGroups: env.SecurityGroups,
				InstanceType: aws.String("kafka.m5.large")}}})
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		d, err := c.DescribeClusterV2(t.Context(), &kafka.DescribeClusterV2Input{ClusterArn: out.ClusterArn})
		if err != nil {
			t.Fatal(err)
		}
		if d.ClusterInfo.State == kafkatypes.ClusterStateActive {
			return aws.ToString(out.ClusterArn)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the suite's MSK cluster is %s", d.ClusterInfo.State)
		}
	}
}

// The SDK makes one attempt per call: the engine retries throttling and transient failures with
// its own backoff, and a retrying SDK under it would multiply the attempts.
func TestOneAttemptPerCall(t *testing.T) {
	for _, tc := range []struct {
		status int
		body   string
		want   error
	}{
		{500, `{"__type":"InternalError","message":"boom"}`, provider.ErrTransient},
		{400, `{"__type":"ThrottlingException","message":"slow down"}`, provider.ErrThrottled},
	} {
		var calls atomic.Int64
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			w.Header().Set("Content-Type", "application/x-amz-json-1.0")
			w.Header().Set("x-amzn-RequestId", "req-1")
			w.WriteHeader(tc.status)
			_, _ = w.Write([]byte(tc.body))
		}))
		cfg := aws.Config{Region: region, BaseEndpoint: aws.String(srv.URL), Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")}
		p, err := pankaaws.New(cfg, pankaaws.Options{Account: "123456789012"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = p.Read(t.Context(), "SQS", srv.URL+"/123456789012/q")
		srv.Close()
		if !errors.Is(err, tc.want) {
			t.Errorf("HTTP %d: %v, want an error wrapping %v", tc.status, err, tc.want)
		}
		if !strings.Contains(fmt.Sprint(err), "req-1") {
			t.Errorf("HTTP %d: %v does not give the request ID", tc.status, err)
		}
		if n := calls.Load(); n != 1 {
			t.Errorf("HTTP %d: %d requests, want 1", tc.status, n)
		}
	}
}

func TestTarget(t *testing.T) {
	cfg := aws.Config{Region: "eu-west-1"}
	p, err := pankaaws.New(cfg, pankaaws.Options{Account: "123456789012"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.Target(), (provider.Target{Provider: "aws", Region: "eu-west-1", Account: "123456789012"}); got != want {
		t.Errorf("Target = %v, want %v", got, want)
	}
	p, _ = pankaaws.New(cfg, pankaaws.Options{Region: "us-west-2"})
	if got := p.Target(); got.Region != "us-west-2" || got.Account != "" {
		t.Errorf("Target = %v", got)
	}
	if _, err := pankaaws.New(aws.Config{}, pankaaws.Options{}); err == nil {
		t.Error("New without a region succeeded")
	}
	for _, kind := range []string{"SQS", "SNS", "RDS", "DocumentDB"} {
		if _, ok := p.Schema(kind); !ok {
			t.Errorf("Schema(%s) = false", kind)
		}
	}
	if _, ok := p.Schema("NoSuchKind"); ok {
		t.Error("Schema(NoSuchKind) = true for a kind the provider does not build")
	}
}

// TestAccountOfTheCredentials: the provider builds and compares ARNs with the account STS names
// for its credentials (the local AWS's is 000000000000, and kumo's own IAM and Scheduler said
// 123456789012 until the gap layer made them agree). Bound to another account, it changes
// nothing; bound to an emulator (Emulated), the emulator's account stands for the stack's.
func TestAccountOfTheCredentials(t *testing.T) {
	const sts = "000000000000"
	for _, tc := range []struct {
		name     string
		opts     pankaaws.Options
		refused  bool
		arnOwner string
	}{
		{"unbound", pankaaws.Options{Region: region}, false, sts},
		{"bound to the credentials' account", pankaaws.Options{Region: region, Account: sts}, false, sts},
		{"bound to kumo's IAM account", pankaaws.Options{Region: region, Account: "123456789012"}, true, ""},
		{"emulated", pankaaws.Options{Region: region, Account: "123456789012", Emulated: true}, false, sts},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := pankaaws.New(sdkConfig(t), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Target().Account; got != tc.opts.Account {
				t.Errorf("Target account %q, want the bound one %q", got, tc.opts.Account)
			}
			r := component("SNS", unique("acct"), "", snsBase())
			obs, err := p.Create(t.Context(), r)
			if tc.refused {
				if !errors.Is(err, provider.ErrWrongTarget) || !strings.Contains(err.Error(), "credentials are for account 000000000000") {
					t.Fatalf("Create in another account: %v, want ErrWrongTarget naming the credentials' account", err)
				}
				if _, err := newProvider(t).Find(t.Context(), r); !errors.Is(err, provider.ErrNotFound) {
					t.Errorf("after the refusal Find says %v, want nothing made", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = p.Delete(context.Background(), obs.ID, r) })
			if owner := strings.Split(obs.ARN, ":")[4]; owner != tc.arnOwner {
				t.Errorf("ARN %s is in account %s, want %s", obs.ARN, owner, tc.arnOwner)
			}
			// The read back of what it made names the same account: no drift.
			again, err := p.Read(t.Context(), "SNS", obs.ID)
			if err != nil || again.ARN != obs.ARN {
				t.Errorf("Read: %v, ARN %s, want %s", err, again.ARN, obs.ARN)
			}
		})
	}
}

// TestEmulatedRegion: an emulator's region stands for the stack's (Options.Emulated): a provider
// for eu-west-1 over the local AWS (us-east-1) serves eu-west-1, creates where the emulator
// serves (ARNs name us-east-1, a volume of zone eu-west-1b lands in us-east-1b) and reads back
// in the stack's terms, so that plans show no drift. Without Emulated, the zone is the one
// written.
func TestEmulatedRegion(t *testing.T) {
	p, err := pankaaws.New(sdkConfig(t), pankaaws.Options{Region: "eu-west-1", Account: "111111111111", Emulated: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Target(); got.Region != "eu-west-1" || got.Account != "111111111111" {
		t.Errorf("Target %v, want the stack's eu-west-1 and account", got)
	}
	topic := component("SNS", unique("region"), "", snsBase())
	obs, err := p.Create(t.Context(), topic)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Delete(context.Background(), obs.ID, topic) })
	if region := strings.Split(obs.ARN, ":")[3]; region != "us-east-1" {
		t.Errorf("topic ARN %s names region %s, want the emulator's", obs.ARN, region)
	}

	spec := ebsSpec()
	spec["availabilityZone"] = "eu-west-1b"
	vol := component("EBS", unique("region"), "", spec)
	obs, err = p.Create(t.Context(), vol)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Delete(context.Background(), obs.ID, vol) })
	if z := aws.ToString(readVolume(t, ec2.NewFromConfig(sdkConfig(t)), obs.ID).AvailabilityZone); z != "us-east-1b" {
		t.Errorf("the volume is in %s, want the emulator's us-east-1b", z)
	}
	found, err := p.Find(t.Context(), vol)
	if err != nil {
		t.Fatal(err)
	}
	if z := found.Spec["availabilityZone"]; z != "eu-west-1b" {
		t.Errorf("the volume reads back in zone %v, want eu-west-1b (no drift)", z)
	}

	// Not emulated: the zone is taken as written, and AWS refuses one of another region.
	spec = ebsSpec()
	spec["availabilityZone"] = "eu-west-1b"
	if _, err := newProvider(t).Create(t.Context(), component("EBS", unique("region"), "", spec)); err == nil {
		t.Error("a volume in eu-west-1b on a us-east-1 provider was made, want AWS's refusal")
	}
}
