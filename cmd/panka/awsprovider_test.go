package main

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go/logging"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/panka/panka/internal/localaws"
	"github.com/panka/panka/provider"
)

func init() {
	scriptCommands["awsqueue"] = cmdAWSQueue
	scriptCommands["awsemulator"] = cmdAWSEmulator
}

// emulatorForScripts is one in-process emulator (kumo and its gap layer) for the scripts that
// use awsemulator: its data is global to the test process.
var emulatorForScripts = sync.OnceValues(func() (*localaws.Server, error) { return localaws.Start("") })

// cmdAWSEmulator points the SDK's configuration chain of the commands that follow at an
// emulator in the test process, as a user points it at any endpoint:
//
//	awsemulator     sets AWS_ENDPOINT_URL, AWS_REGION (us-east-1) and static credentials
func cmdAWSEmulator(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: awsemulator")
	}
	srv, err := emulatorForScripts()
	ts.Check(err)
	ts.Setenv("AWS_ENDPOINT_URL", srv.URL)
	ts.Setenv("AWS_REGION", localRegion)
	ts.Setenv("AWS_ACCESS_KEY_ID", "test")
	ts.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	ts.Setenv("AWS_CONFIG_FILE", ts.MkAbs("no-aws-config"))
	ts.Setenv("AWS_SHARED_CREDENTIALS_FILE", ts.MkAbs("no-aws-credentials"))
}

// cmdAWSQueue asks the --local emulator of STATE_DIR for a queue through the SDK, not through
// Panka, and prints its attributes and tags, one per line:
//
//	awsqueue STATE_DIR NAME     attr NAME=VALUE and tag KEY=VALUE lines, sorted
//
// With !, it checks the queue does not exist.
func cmdAWSQueue(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: awsqueue STATE_DIR NAME")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := localaws.Connect(ctx, filepath.Join(ts.MkAbs(args[0]), "local-aws"), localaws.ConnectOptions{
		Command: func(dataDir string) (*exec.Cmd, error) {
			cmd := exec.Command(os.Args[0], "local-aws", "serve", dataDir)
			cmd.Env = append(os.Environ(), cliMainEnv+"=1")
			return cmd, nil
		},
	})
	ts.Check(err)
	defer conn.Close()
	cfg, err := conn.Config(ctx, localRegion)
	ts.Check(err)
	cfg.Logger = logging.Nop{}
	c := sqs.NewFromConfig(cfg)
	url, err := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(args[1])})
	if neg {
		if err == nil {
			ts.Fatalf("queue %s exists: %s", args[1], aws.ToString(url.QueueUrl))
		}
		return
	}
	ts.Check(err)
	attrs, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: url.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll},
	})
	ts.Check(err)
	tags, err := c.ListQueueTags(ctx, &sqs.ListQueueTagsInput{QueueUrl: url.QueueUrl})
	ts.Check(err)
	for _, k := range slices.Sorted(maps.Keys(attrs.Attributes)) {
		fmt.Fprintf(ts.Stdout(), "attr %s=%s\n", k, attrs.Attributes[k])
	}
	for _, k := range slices.Sorted(maps.Keys(tags.Tags)) {
		fmt.Fprintf(ts.Stdout(), "tag %s=%s\n", k, tags.Tags[k])
	}
}

// The AWS provider is bound to the run's target (the stack's region and account), whatever region
// the SDK's chain names; outside runs, to the SDK's region; with --local, the emulator's region
// stands for the stack's.
func TestAWSProviderTarget(t *testing.T) {
	t.Setenv("AWS_REGION", "ap-south-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	logger := slog.New(slog.DiscardHandler)
	var c common
	for _, tc := range []struct{ target, want provider.Target }{
		{provider.Target{Provider: "aws", Region: "eu-west-1", Account: "123456789012"}, provider.Target{Provider: "aws", Region: "eu-west-1", Account: "123456789012"}},
		{provider.Target{Provider: "aws", Region: "eu-west-1"}, provider.Target{Provider: "aws", Region: "eu-west-1"}},
		{provider.Target{}, provider.Target{Provider: "aws", Region: "ap-south-1"}},
	} {
		p, err := c.awsProvider(t.Context(), logger, tc.target)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.(provider.Targeted).Target(); got != tc.want {
			t.Errorf("target %v: provider bound to %v, want %v", tc.target, got, tc.want)
		}
	}

	// With --local, the emulator's region stands for the stack's: the provider serves eu-west-1.
	local := common{localCfg: &aws.Config{Region: localRegion}}
	p, err := local.awsProvider(t.Context(), logger, provider.Target{Provider: "aws", Region: "eu-west-1", Account: "111111111111"})
	if err != nil {
		t.Fatalf("--local with a stack in eu-west-1: %v", err)
	}
	if got := p.(provider.Targeted).Target(); got != (provider.Target{Provider: "aws", Region: "eu-west-1", Account: "111111111111"}) {
		t.Errorf("--local with a stack in eu-west-1: bound to %v", got)
	}
	p, err = local.awsProvider(t.Context(), logger, provider.Target{})
	if err != nil {
		t.Fatal(err)
	}
	if got := p.(provider.Targeted).Target(); got != (provider.Target{Provider: "aws", Region: localRegion}) {
		t.Errorf("--local outside runs: bound to %v", got)
	}
}
