package main

import (
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go/logging"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/panka/panka/internal/localaws"
)

func init() { scriptCommands["awsqueue"] = cmdAWSQueue }

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
