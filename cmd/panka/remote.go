package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/logging"

	"github.com/panka/panka"
	"github.com/panka/panka/backend/s3state"
	"github.com/panka/panka/internal/localaws"
	"github.com/panka/panka/lock/dynamolock"
)

// The names the embedded emulator's state bucket and lock table get.
const (
	localBucket    = "panka-state"
	localLockTable = "panka-locks"
	localRegion    = "us-east-1"
)

// awsConfig loads the AWS SDK configuration with its usual chain (AWS_PROFILE,
// AWS_ENDPOINT_URL...), overridden by the settings' region and endpoint.
func awsConfig(ctx context.Context, s *settings) (aws.Config, error) {
	var opts []func(*config.LoadOptions) error
	if s.Region != "" {
		opts = append(opts, config.WithRegion(s.Region))
	}
	if s.Endpoint != "" {
		opts = append(opts, config.WithBaseEndpoint(s.Endpoint))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("aws configuration: %w", err)
	}
	return cfg, nil
}

// sdkLogger sends the AWS SDK's own log lines to the CLI's logger at debug level, instead of
// stderr.
func sdkLogger(l *slog.Logger) logging.Logger {
	return logging.LoggerFunc(func(classification logging.Classification, format string, v ...any) {
		l.Debug(fmt.Sprintf(format, v...), "source", "aws-sdk", "class", string(classification))
	})
}

// remoteBackend sets the S3 backend and DynamoDB locker of opts.
func remoteBackend(ctx context.Context, cfg aws.Config, s *settings, opts *panka.Options) error {
	sse := ""
	if s.KMSKey != "" {
		sse = s3state.SSEKMS
	}
	b, err := s3state.New(ctx, s3state.NewClient(cfg), s3state.Options{
		Bucket: s.Bucket, Prefix: s.Prefix, SSE: sse, KMSKeyID: s.KMSKey, AllowUnversioned: s.AllowUnversioned,
	})
	if err != nil {
		return err
	}
	opts.Backend = b
	opts.Locker = dynamolock.New(dynamodb.NewFromConfig(cfg), dynamolock.Options{Table: s.LockTable})
	return nil
}

// localAWS connects to the embedded AWS emulator of the state dir (starting it if no process
// serves that directory yet), bootstraps the state bucket and lock table in it, and points opts at
// them: the same code paths as real AWS.
//
// Every process using one state dir shares one emulator (see internal/localaws): the first starts
// it as a detached process (`panka local-aws serve DIR`), the others find its address in
// DIR/server.json, and it exits, its data flushed, once no process has used it for a while. So
// the DynamoDB lock excludes across processes as it does in AWS. The returned close function
// disconnects; until then the emulator keeps serving.
func (c *common) localAWS(ctx context.Context, s *settings, logger *slog.Logger, opts *panka.Options) (func(), error) {
	dataDir := filepath.Join(s.StateDir, "local-aws")
	conn, err := localaws.Connect(ctx, dataDir, localaws.ConnectOptions{Command: serveCommand})
	if err != nil {
		return nil, err
	}
	closeFn := func() {
		// The emulator flushes every FlushInterval, and when it exits: waiting a few intervals
		// puts this run's changes on disk even if it is killed meanwhile.
		time.Sleep(4 * localaws.FlushInterval)
		_ = conn.Close()
	}
	cfg, err := conn.Config(ctx, localRegion)
	if err != nil {
		closeFn()
		return nil, err
	}
	cfg.Logger = sdkLogger(logger)
	c.localCfg = &cfg
	local := *s
	local.Bucket, local.LockTable, local.Region, local.Endpoint = localBucket, localLockTable, localRegion, conn.URL
	warnings, err := bootstrap(ctx, cfg, &local)
	if err != nil {
		closeFn()
		return nil, err
	}
	for _, w := range warnings {
		logger.Debug("local AWS bootstrap", "warning", w)
	}
	if err := remoteBackend(ctx, cfg, &local, opts); err != nil {
		closeFn()
		return nil, err
	}
	logger.Info("local AWS emulator", "url", conn.URL, "pid", conn.PID, "started_here", conn.Launched, "data", dataDir)
	return closeFn, nil
}

// bootstrap creates the state bucket and lock table named by s.
func bootstrap(ctx context.Context, cfg aws.Config, s *settings) ([]string, error) {
	w, err := s3state.EnsureBucket(ctx, s3state.NewClient(cfg), s3state.BucketOptions{Bucket: s.Bucket, Region: s.Region, KMSKeyID: s.KMSKey})
	if err != nil {
		return w, err
	}
	w2, err := dynamolock.EnsureTable(ctx, dynamodb.NewFromConfig(cfg), s.LockTable)
	return append(w, w2...), err
}
