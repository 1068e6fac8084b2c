package panka

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/user"
	"strings"
	"time"

	"github.com/panka/panka/backend"
	"github.com/panka/panka/lock"
	"github.com/panka/panka/provider"
)

// DefaultTenant is the tenant used when Options.Tenant is empty.
const DefaultTenant = "default"

// Options configures Plan, Apply, Destroy and Refresh. The zero value of every field except
// Provider, Backend and (for operations that write) Locker means "the default".
type Options struct {
	Provider provider.Provider
	Backend  backend.StateBackend
	Locker   lock.Locker

	// Tenant names the team whose state and lock namespace is used, and prefixes the physical
	// names of its resources (except for DefaultTenant); default DefaultTenant.
	Tenant string
	// Environment selects the stack's environment (variable, region and account overrides);
	// default: the only environment the stack declares, or schema.DefaultEnvironment if it
	// declares none. Required when the stack declares several.
	Environment string
	// Parallelism bounds concurrent provider operations; default 10.
	Parallelism int
	// Logger receives diagnostic logs; default: discarded. Panka never writes to stdout.
	Logger *slog.Logger
	// Events, if set, receives the progress stream. It is called from one goroutine at a time,
	// in Seq order; a slow callback slows the run.
	Events func(Event)

	// LockWait is how long to wait for a lock held by someone else (0: fail at once).
	LockWait time.Duration
	// LockTTL is the lease length, renewed every third of it while the run lasts; default 30s.
	LockTTL time.Duration
	// Who identifies the lock holder; default user@host.
	Who string

	// OperationTimeout bounds each provider call (each attempt); default 30 minutes.
	OperationTimeout time.Duration
	// Retry sets the backoff for throttling and transient provider errors.
	Retry RetryPolicy
	// StateWriteInterval is the minimum time between two state writes during Apply (completed
	// operations are group-committed); default 200ms. Every completed operation is durable
	// before Apply returns.
	StateWriteInterval time.Duration

	// ProgressInterval is how often a running operation reports that it is still running (an
	// EventProgress "still creating... (30s elapsed)"); default 10s.
	ProgressInterval time.Duration

	// Abort, when closed, cancels in-flight provider operations too (a second Ctrl-C). Closing
	// ctx alone lets them finish. State is persisted either way.
	Abort <-chan struct{}

	// RefreshOnly makes Plan report drift without proposing config changes; Apply of such a
	// plan records the refreshed state.
	RefreshOnly bool
	// Targets limits a run to these addresses ("service/component", or a service name for all
	// of its components), like terraform -target: Plan and Apply change the targets and what
	// they depend on; Destroy deletes the targets and what depends on them. An address that is
	// in neither the config nor the state is an error wrapping ErrUnknownAddress.
	Targets []string
	// clock times operations and ticks progress reports; tests set a manual one (export_test.go).
	clock clock
	// maxPackageSize bounds each zip of local files; default DefaultMaxPackageSize (tests set
	// a small one through export_test.go).
	maxPackageSize int64

	// SourceFS is the filesystem ApplyPlan packages local files from (a Lambda's code.path)
	// when the plan was made from a Config read by ParseFS and then saved and read back
	// (ReadPlan): a plan file cannot name an fs.FS. A plan returned by Plan carries its own
	// (PlanResult.SourceFS); plans made from Parse or ParseBytes name OS paths and need none.
	SourceFS fs.FS

	// Replace forces the replacement of these addresses even where nothing changed, like
	// terraform -replace. Each must be a component of the config.
	Replace []string
}

// RetryPolicy is exponential backoff with full jitter.
type RetryPolicy struct {
	MaxAttempts int           // default 8
	BaseDelay   time.Duration // default 200ms
	MaxDelay    time.Duration // default 20s
}

func (o Options) withDefaults() Options {
	if o.Tenant == "" {
		o.Tenant = DefaultTenant
	}
	if o.Parallelism <= 0 {
		o.Parallelism = 10
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.LockTTL <= 0 {
		o.LockTTL = 30 * time.Second
	}
	if o.Who == "" {
		o.Who = defaultWho()
	}
	if o.OperationTimeout <= 0 {
		o.OperationTimeout = 30 * time.Minute
	}
	if o.Retry.MaxAttempts <= 0 {
		o.Retry.MaxAttempts = 8
	}
	if o.Retry.BaseDelay <= 0 {
		o.Retry.BaseDelay = 200 * time.Millisecond
	}
	if o.Retry.MaxDelay <= 0 {
		o.Retry.MaxDelay = 20 * time.Second
	}
	if o.ProgressInterval <= 0 {
		o.ProgressInterval = 10 * time.Second
	}
	if o.maxPackageSize <= 0 {
		o.maxPackageSize = DefaultMaxPackageSize
	}
	if o.clock == nil {
		o.clock = realClock{}
	}
	if o.StateWriteInterval <= 0 {
		o.StateWriteInterval = 200 * time.Millisecond
	}
	return o
}

func (o Options) check(needLock bool) error {
	switch {
	case o.Provider == nil:
		return fmt.Errorf("options: Provider is required")
	case o.Backend == nil:
		return fmt.Errorf("options: Backend is required")
	case needLock && o.Locker == nil:
		return fmt.Errorf("options: Locker is required")
	}
	if why := checkTenant(o.Tenant); why != "" {
		return fmt.Errorf("options: tenant %q %s", o.Tenant, why)
	}
	return nil
}

func checkTenant(t string) string {
	if t == "" {
		return ""
	}
	k := backend.Key{Tenant: t, Stack: "x", Environment: "x"}
	if err := k.Validate(); err != nil {
		return "is not a valid name: lowercase letters, digits and '-'"
	}
	return ""
}

func defaultWho() string {
	name := "unknown"
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	host, err := os.Hostname()
	if err != nil {
		host = "localhost"
	}
	return name + "@" + host
}

// environmentOf returns the environment a config is planned for: env, or the only one it
// declares, or schema.DefaultEnvironment when it declares none.
func environmentOf(cfg *Config, env string) (string, error) {
	if env != "" {
		return env, nil
	}
	envs := cfg.Environments()
	if len(envs) == 1 {
		return envs[0], nil
	}
	return "", fmt.Errorf("%w: the stack declares environments %s and Options.Environment names none", ErrNoEnvironment, strings.Join(envs, ", "))
}

// ErrNoEnvironment is returned when a stack declares several environments and Options names none.
var ErrNoEnvironment = errors.New("no environment chosen")

// nameTenant is the tenant as it prefixes physical names: the default tenant does not.
func nameTenant(tenant string) string {
	if tenant == DefaultTenant {
		return ""
	}
	return tenant
}

// stateKey returns where the state of cfg lives.
func stateKey(tenant, stack, env string) (backend.Key, error) {
	k := backend.Key{Tenant: tenant, Stack: stack, Environment: env}
	if err := k.Validate(); err != nil {
		return k, fmt.Errorf("state key: %w", err)
	}
	return k, nil
}
