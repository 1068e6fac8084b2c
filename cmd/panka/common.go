package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/lmittmann/tint"
	"github.com/mattn/go-isatty"

	"github.com/panka/panka"
	"github.com/panka/panka/backend"
	backendfile "github.com/panka/panka/backend/file"
	lockfile "github.com/panka/panka/lock/file"
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

// common holds the flags shared by plan, apply, destroy, state and lock.
type common struct {
	env         string
	tenant      string
	providerArg string
	stateDir    string
	json        bool
	logLevel    string
	lockTimeout time.Duration
	parallelism int
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.env, "env", "", "environment (required when the stack declares several)")
	fs.StringVar(&c.tenant, "tenant", panka.DefaultTenant, "tenant (team) whose state and locks are used")
	fs.StringVar(&c.providerArg, "provider", "sim", "cloud provider: sim (simulated, kept in the state dir) or aws")
	fs.StringVar(&c.stateDir, "state-dir", ".panka", "directory of the local state, locks and simulated cloud")
	fs.StringVar(&c.logLevel, "log-level", "warn", "log level on stderr: debug, info, warn or error")
	fs.DurationVar(&c.lockTimeout, "lock-timeout", 0, "how long to wait for a lock held by another run")
}

func (c *common) logger(stderr io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		return nil, &usageError{fmt.Sprintf("--log-level %q: use debug, info, warn or error", c.logLevel)}
	}
	return slog.New(tint.NewTextHandler(stderr, &tint.Options{Level: level, TimeFormat: time.TimeOnly, NoColor: !isTerminal(stderr)})), nil
}

// options builds the engine options: the file backend and file locker under the state dir, and
// the provider.
func (c *common) options(e *env, cfg *panka.Config) (panka.Options, error) {
	logger, err := c.logger(e.stderr)
	if err != nil {
		return panka.Options{}, err
	}
	if err := os.MkdirAll(c.stateDir, 0o700); err != nil {
		return panka.Options{}, fmt.Errorf("state dir: %w", err)
	}
	b, err := backendfile.New(filepath.Join(c.stateDir, "state"))
	if err != nil {
		return panka.Options{}, err
	}
	l, err := lockfile.New(filepath.Join(c.stateDir, "locks"))
	if err != nil {
		return panka.Options{}, err
	}
	region, account := "", ""
	if cfg != nil {
		st := cfg.Stack()
		region, account = st.Spec.Provider.Region, st.Spec.Provider.AccountID
		if ov := st.Spec.Environments[cfg.Environment]; ov != nil {
			region, account = cmp.Or(ov.Region, region), cmp.Or(ov.AccountID, account)
		}
	}
	p, err := c.provider(region, account)
	if err != nil {
		return panka.Options{}, err
	}
	lockTTL, err := hiddenDuration("PANKA_LOCK_TTL")
	if err != nil {
		return panka.Options{}, err
	}
	return panka.Options{
		Provider: p, Backend: b, Locker: l, Tenant: c.tenant, Parallelism: c.parallelism,
		Logger: logger, LockWait: c.lockTimeout, LockTTL: lockTTL, Abort: e.abort,
	}, nil
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

func (c *common) provider(region, account string) (provider.Provider, error) {
	switch c.providerArg {
	case "sim":
		latency, err := hiddenDuration("PANKA_SIM_LATENCY")
		if err != nil {
			return nil, err
		}
		return sim.New(sim.Options{Path: filepath.Join(c.stateDir, "sim-cloud.json"), Region: region, AccountID: account, Latency: latency})
	case "aws":
		return nil, errors.New("--provider aws: the AWS provider is not part of this build yet; use --provider sim")
	default:
		return nil, &usageError{fmt.Sprintf("--provider %q: use sim or aws", c.providerArg)}
	}
}

// loadForRun parses and validates the config for the chosen environment and tenant.
func (c *common) loadForRun(ctx context.Context, paths []string, stderr io.Writer) (*panka.Config, error) {
	if err := (backend.Key{Tenant: c.tenant, Stack: "x", Environment: "x"}).Validate(); err != nil {
		return nil, &usageError{fmt.Sprintf("--tenant: %v", err)}
	}
	cfg, _, err := loadConfig(ctx, paths, c.env, stderr)
	if err != nil {
		return nil, err
	}
	if c.env == "" && len(cfg.Environments()) > 1 {
		return nil, &usageError{fmt.Sprintf("the stack declares environments %s: choose one with --env", strings.Join(cfg.Environments(), ", "))}
	}
	return cfg, nil
}

// stateKey returns the state (and lock) key of the stack configured at paths.
func (c *common) stateKey(ctx context.Context, paths []string, stderr io.Writer) (backend.Key, error) {
	cfg, err := c.loadForRun(ctx, paths, stderr)
	if err != nil {
		return backend.Key{}, err
	}
	envName := cfg.Environment
	if envName == "" {
		envName = cfg.Environments()[0]
	}
	k := backend.Key{Tenant: c.tenant, Stack: cfg.Stack().Metadata.Name, Environment: envName}
	return k, k.Validate()
}
