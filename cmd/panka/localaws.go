package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go/logging"
	"github.com/lmittmann/tint"

	"github.com/panka/panka/internal/localaws"
)

// runLocalAWS implements `panka local-aws`, which is not in the usage text:
//
//	panka local-aws serve DIR                 the shared emulator of data dir DIR: --local runs start it
//	panka local-aws stop [--state-dir DIR]   stop the state dir's emulator once its runs are done
//	panka local-aws put-secret NAME VALUE     make (or overwrite) a Secrets Manager secret in it
//	panka local-aws put-parameter NAME VALUE  make (or overwrite) an SSM SecureString parameter
//
// put-secret and put-parameter give a --local run what a stack takes as given outside it (the
// platform example's secrets): they start the state dir's emulator if none runs.
//
// serve keeps running until no run has used the emulator for 10 s (PANKA_LOCAL_AWS_IDLE, a
// tuning knob for tests) or it is stopped (stop, SIGTERM), and logs to DIR/server.log.
func runLocalAWS(ctx context.Context, args []string, e *env) error {
	const usage = "local-aws serve DIR | local-aws stop [--state-dir DIR] [--config FILE] | local-aws put-secret|put-parameter [--state-dir DIR] NAME VALUE"
	if len(args) == 0 {
		return &usageError{"usage: panka " + usage}
	}
	switch args[0] {
	case "serve":
		fs := newFlagSet("local-aws serve", e.stderr, "local-aws serve DIR")
		paths, err := parseInterspersed(fs, args[1:])
		if err != nil {
			return err
		}
		if len(paths) != 1 {
			return &usageError{"usage: panka local-aws serve DIR"}
		}
		idle, err := hiddenDuration("PANKA_LOCAL_AWS_IDLE")
		if err != nil {
			return err
		}
		logger := slog.New(tint.NewTextHandler(e.stderr, &tint.Options{Level: slog.LevelInfo, TimeFormat: time.RFC3339Nano, NoColor: true}))
		err = localaws.Serve(ctx, paths[0], localaws.ServeOptions{Idle: idle, Logger: logger})
		if errors.Is(err, localaws.ErrNotNeeded) {
			logger.Info("not serving", "reason", err)
			return nil
		}
		return err
	case "stop":
		fs := newFlagSet("local-aws stop", e.stderr, "local-aws stop [--state-dir DIR] [--config FILE]")
		var c common
		c.register(fs)
		if _, err := parseInterspersed(fs, args[1:]); err != nil {
			return err
		}
		s, err := c.load()
		if err != nil {
			return err
		}
		dir := filepath.Join(s.StateDir, "local-aws")
		info, ok, err := localaws.Stop(ctx, dir)
		switch {
		case err != nil:
			return err
		case ok:
			fmt.Fprintf(e.stdout, "Stopped the local AWS emulator of %s (pid %d).\n", dir, info.PID)
		default:
			fmt.Fprintf(e.stdout, "No local AWS emulator serves %s.\n", dir)
		}
		return nil
	case "put-secret", "put-parameter":
		fs := newFlagSet("local-aws "+args[0], e.stderr, "local-aws "+args[0]+" [--state-dir DIR] [--config FILE] NAME VALUE")
		var c common
		c.register(fs)
		rest, err := parseInterspersed(fs, args[1:])
		if err != nil {
			return err
		}
		if len(rest) != 2 {
			return &usageError{"usage: panka local-aws " + args[0] + " [--state-dir DIR] NAME VALUE"}
		}
		s, err := c.load()
		if err != nil {
			return err
		}
		conn, err := localaws.Connect(ctx, filepath.Join(s.StateDir, "local-aws"), localaws.ConnectOptions{Command: serveCommand})
		if err != nil {
			return err
		}
		defer func() {
			time.Sleep(4 * localaws.FlushInterval) // on disk before the emulator may exit
			_ = conn.Close()
		}()
		cfg, err := conn.Config(ctx, localRegion)
		if err != nil {
			return err
		}
		cfg.Logger = logging.Nop{}
		if args[0] == "put-secret" {
			err = putLocalSecret(ctx, cfg, rest[0], rest[1])
		} else {
			_, err = ssm.NewFromConfig(cfg).PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(rest[0]), Value: aws.String(rest[1]),
				Type: ssmtypes.ParameterTypeSecureString, Overwrite: aws.Bool(true)})
		}
		if err != nil {
			return fmt.Errorf("local-aws %s %s: %w", args[0], rest[0], err)
		}
		fmt.Fprintf(e.stdout, "Stored %s in the local AWS of %s.\n", rest[0], s.StateDir)
		return nil
	default:
		return &usageError{fmt.Sprintf("local-aws %q: usage: panka %s", args[0], usage)}
	}
}

// putLocalSecret makes the secret name with value, or gives an existing one value.
func putLocalSecret(ctx context.Context, cfg aws.Config, name, value string) error {
	c := secretsmanager.NewFromConfig(cfg)
	_, err := c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(value)})
	var exists *smtypes.ResourceExistsException
	if errors.As(err, &exists) {
		_, err = c.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(name), SecretString: aws.String(value)})
	}
	return err
}

// serveCommand is the emulator process of a --local data dir: this program, as `panka local-aws
// serve DIR` (localaws.Connect sets its environment and detaches it).
func serveCommand(dataDir string) (*exec.Cmd, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "local-aws", "serve", dataDir)
	cmd.Args[0] = os.Args[0] // as this process was invoked: test binaries dispatch on it
	return cmd, nil
}
