package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
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
	// kumoFlushInterval is how often the emulator writes its data to disk (it has no explicit
	// flush); commands wait a few intervals before exiting so that nothing is lost.
	kumoFlushInterval = 25 * time.Millisecond
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

// remoteBackend sets the S3 backend and DynamoDB locker of opts. emulator relaxes the response
// checksum validation the emulator cannot satisfy.
func remoteBackend(ctx context.Context, cfg aws.Config, s *settings, opts *panka.Options, emulator bool) error {
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
	opts.Locker = dynamolock.New(dynamoClient(cfg, emulator), dynamolock.Options{Table: s.LockTable})
	return nil
}

func dynamoClient(cfg aws.Config, emulator bool) *dynamodb.Client {
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.DisableValidateResponseChecksum = emulator // the emulator sends no CRC32 header
	})
}

// localAWS starts the embedded AWS emulator with its data under the state dir, bootstraps the
// state bucket and lock table in it, and points opts at them: the same code paths as real AWS.
func (c *common) localAWS(ctx context.Context, s *settings, logger *slog.Logger, opts *panka.Options) (func(), error) {
	srv, err := startLocalAWS(s.StateDir)
	if err != nil {
		return nil, err
	}
	closeFn := func() {
		time.Sleep(4 * kumoFlushInterval) // let the emulator write what the run changed
		srv.Close()
	}
	cfg, err := srv.Config(ctx, localRegion)
	if err != nil {
		closeFn()
		return nil, err
	}
	cfg.Logger = sdkLogger(logger)
	local := *s
	local.Bucket, local.LockTable, local.Region, local.Endpoint = localBucket, localLockTable, localRegion, srv.URL
	warnings, err := bootstrap(ctx, cfg, &local, true)
	if err != nil {
		closeFn()
		return nil, err
	}
	for _, w := range warnings {
		logger.Debug("local AWS bootstrap", "warning", w)
	}
	if err := remoteBackend(ctx, cfg, &local, opts, true); err != nil {
		closeFn()
		return nil, err
	}
	logger.Info("local AWS emulator running", "url", srv.URL, "data", filepath.Join(s.StateDir, "local-aws"))
	return closeFn, nil
}

// bootstrap creates the state bucket and lock table named by s.
func bootstrap(ctx context.Context, cfg aws.Config, s *settings, emulator bool) ([]string, error) {
	w, err := s3state.EnsureBucket(ctx, s3state.NewClient(cfg), s3state.BucketOptions{Bucket: s.Bucket, Region: s.Region, KMSKeyID: s.KMSKey})
	if err != nil {
		return w, err
	}
	w2, err := dynamolock.EnsureTable(ctx, dynamoClient(cfg, emulator), s.LockTable)
	return append(w, w2...), err
}

// startLocalAWS starts the emulator keeping its data in stateDir/local-aws.
func startLocalAWS(stateDir string) (*localaws.Server, error) {
	if err := ensureEmulatorEnv(stateDir); err != nil {
		return nil, err
	}
	return localaws.Start("")
}

// ensureEmulatorEnv makes sure the process runs with KUMO_DATA_DIR=stateDir/local-aws. The
// emulator reads it once, when the process starts, so if it is not set to that directory the
// command re-executes itself with it set; callers do this before doing or printing anything.
func ensureEmulatorEnv(stateDir string) error {
	dataDir, err := filepath.Abs(filepath.Join(stateDir, "local-aws"))
	if err != nil {
		return err
	}
	if os.Getenv("KUMO_DATA_DIR") == dataDir {
		return nil
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return fmt.Errorf("local aws: %w", err)
	}
	env := append(os.Environ(), "KUMO_DATA_DIR="+dataDir, fmt.Sprintf("KUMO_PERSIST_FLUSH_INTERVAL_MS=%d", kumoFlushInterval.Milliseconds()))
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("local aws: %w", err)
	}
	if runtime.GOOS == "windows" {
		// No exec(2): run the command again as a child and leave with its status.
		cmd := exec.Command(self, os.Args[1:]...)
		cmd.Env, cmd.Stdin, cmd.Stdout, cmd.Stderr = env, os.Stdin, os.Stdout, os.Stderr
		err := cmd.Run()
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			os.Exit(exit.ExitCode())
		}
		if err != nil {
			return fmt.Errorf("local aws: restart with KUMO_DATA_DIR: %w", err)
		}
		os.Exit(0)
	}
	err = syscall.Exec(self, os.Args, env)
	return fmt.Errorf("local aws: restart with KUMO_DATA_DIR: %w", err)
}
