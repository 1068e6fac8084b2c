package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/lmittmann/tint"
	"github.com/mattn/go-isatty"

	"github.com/panka/panka"
	"github.com/panka/panka/backend"
	"github.com/panka/panka/backend/filestate"
	"github.com/panka/panka/lock/filelock"
	"github.com/panka/panka/provider"
	"github.com/panka/panka/provider/sim"
)

// env is what a command sees of the world: its streams, whether stdout is a terminal, and the
// channel closed by a second Ctrl-C.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	tty            bool
	abort          <-chan struct{}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// common holds the flags shared by plan, apply, destroy, state, lock and init, and the
// settings they resolve (see settings.go).
type common struct {
	env         string
	json        bool
	logLevel    string
	lockTimeout time.Duration
	parallelism int
	local       bool

	fs         *flag.FlagSet
	configPath *string
	values     map[string]*string
	set        *settings // resolved by load

	localCfg *aws.Config // the embedded emulator's SDK configuration, once --local connected
}

func (c *common) register(fs *flag.FlagSet) {
	c.fs = fs
	fs.StringVar(&c.env, "env", "", "environment (required when the stack declares several)")
	fs.StringVar(&c.logLevel, "log-level", "warn", "log level on stderr: debug, info, warn or error")
	fs.DurationVar(&c.lockTimeout, "lock-timeout", 0, "how long to wait for a lock held by another run")
	fs.BoolVar(&c.local, "local", false, "run against an embedded AWS emulator (state in S3, locks in DynamoDB, data under the state dir)")
	c.configPath, c.values = registerSettings(fs)
}

// load resolves the settings (once): defaults, config file, environment, flags.
func (c *common) load() (*settings, error) {
	if c.set != nil {
		return c.set, nil
	}
	s, err := loadSettings(c.fs, *c.configPath, c.values, os.Getenv)
	if err != nil {
		return nil, err
	}
	if err := (backend.Key{Tenant: s.Tenant, Stack: "x", Environment: "x"}).Validate(); err != nil {
		return nil, &usageError{fmt.Sprintf("tenant: %v", err)}
	}
	c.set = s
	return s, nil
}

func (c *common) logger(stderr io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		return nil, &usageError{fmt.Sprintf("--log-level %q: use debug, info, warn or error", c.logLevel)}
	}
	return slog.New(tint.NewTextHandler(stderr, &tint.Options{Level: level, TimeFormat: time.TimeOnly, NoColor: !isTerminal(stderr)})), nil
}

// options builds the engine options from the settings: the backend and locker (files under the
// state dir, or S3 and DynamoDB — in the embedded emulator with --local), and the provider, for a
// run in environment envName ("" outside runs) that deploys to target (the zero Target outside
// runs). The returned close function must be called when the command is done.
func (c *common) options(ctx context.Context, e *env, envName string, target provider.Target) (panka.Options, func(), error) {
	noop := func() {}
	s, err := c.load()
	if err != nil {
		return panka.Options{}, noop, err
	}
	logger, err := c.logger(e.stderr)
	if err != nil {
		return panka.Options{}, noop, err
	}
	if err := os.MkdirAll(s.StateDir, 0o700); err != nil {
		return panka.Options{}, noop, fmt.Errorf("state dir: %w", err)
	}
	opts := panka.Options{Tenant: s.Tenant, Environment: envName, Parallelism: c.parallelism, Logger: logger, LockWait: c.lockTimeout, Abort: e.abort}
	if opts.LockTTL, err = hiddenDuration("PANKA_LOCK_TTL"); err != nil {
		return panka.Options{}, noop, err
	}
	closeFn := noop
	switch {
	case c.local:
		if closeFn, err = c.localAWS(ctx, s, logger, &opts); err != nil {
			return panka.Options{}, noop, err
		}
	case s.Backend == "s3":
		awsCfg, err := awsConfig(ctx, s)
		if err != nil {
			return panka.Options{}, noop, err
		}
		awsCfg.Logger = sdkLogger(logger)
		if err := remoteBackend(ctx, awsCfg, s, &opts); err != nil {
			return panka.Options{}, noop, err
		}
	default:
		if opts.Backend, err = filestate.New(filepath.Join(s.StateDir, "state")); err != nil {
			return panka.Options{}, noop, err
		}
		if opts.Locker, err = filelock.New(filepath.Join(s.StateDir, "locks"), filelock.Options{}); err != nil {
			return panka.Options{}, noop, err
		}
	}
	if opts.Provider, err = c.provider(ctx, s, logger, target); err != nil {
		closeFn()
		return panka.Options{}, noop, err
	}
	return opts, closeFn, nil
}

// hiddenDuration reads an undocumented tuning knob for tests (PANKA_SIM_LATENCY: the latency of
// every simulated operation; PANKA_LOCK_TTL: the lease length). Unset means zero: the default.
func hiddenDuration(name string) (time.Duration, error) {
	v := os.Getenv(name)
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%s=%q: want a duration such as 5ms", name, v)
	}
	return d, nil
}

// provider builds the provider the settings name, bound to target: the simulated cloud, or AWS
// (provider/aws) with the SDK's configuration chain (profiles, AWS_REGION, AWS_ENDPOINT_URL...;
// the state backend's region and endpoint settings are not the provider's) or, with --local, the
// embedded emulator's endpoint and credentials. Outside runs (the zero target: output, state,
// init) the AWS provider is bound to the SDK's region, or the emulator's.
func (c *common) provider(ctx context.Context, s *settings, logger *slog.Logger, target provider.Target) (provider.Provider, error) {
	switch s.Provider {
	case "sim":
		latency, err := hiddenDuration("PANKA_SIM_LATENCY")
		if err != nil {
			return nil, err
		}
		return sim.New(sim.Options{Path: filepath.Join(s.StateDir, "sim-cloud.json"), Region: target.Region, AccountID: target.Account, Latency: latency})
	case "aws":
		return c.awsProvider(ctx, logger, target)
	default:
		return nil, &usageError{fmt.Sprintf("provider %q: use sim or aws", s.Provider)}
	}
}

// loadForRun parses and validates the config for the chosen environment and tenant.
func (c *common) loadForRun(ctx context.Context, paths []string, stderr io.Writer) (*panka.Config, error) {
	s, err := c.load()
	if err != nil {
		return nil, err
	}
	cfg, _, err := loadConfig(ctx, paths, c.env, s.MaxFileSize, stderr)
	if err != nil {
		return nil, err
	}
	if c.env == "" && len(cfg.Environments()) > 1 {
		return nil, &usageError{fmt.Sprintf("the stack declares environments %s: choose one with --env", strings.Join(cfg.Environments(), ", "))}
	}
	return cfg, nil
}

// environment is the environment a run of cfg is for: --env, or the only one the stack declares.
func (c *common) environment(cfg *panka.Config) string {
	if c.env != "" {
		return c.env
	}
	return cfg.Environments()[0]
}

// stateKey returns the state (and lock) key of the stack configured at paths.
func (c *common) stateKey(ctx context.Context, paths []string, stderr io.Writer) (backend.Key, error) {
	cfg, err := c.loadForRun(ctx, paths, stderr)
	if err != nil {
		return backend.Key{}, err
	}
	return panka.StateKey(c.set.Tenant, cfg.Stack().Metadata.Name, c.environment(cfg))
}
