package main

import (
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go/logging"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/panka/panka/internal/localaws"
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
