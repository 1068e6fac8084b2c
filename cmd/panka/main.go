// Command panka is the example CLI of the Panka SDK.
//
//	panka validate [--env ENV] PATH...
//	panka graph [--env ENV] [--format text|dot|json] PATH...
//	panka plan [--env E] [--provider sim|aws] [--state-dir DIR] [-out FILE] [--json] [--refresh-only] [--detailed-exitcode] [--target ADDR]... [--replace ADDR]... PATH...
//	panka apply [--auto-approve] [--parallelism N] [--json] [--target ADDR]... [--replace ADDR]... [flags as plan] PATH...|PLANFILE
//	panka destroy [--auto-approve] [--target ADDR]... [flags as plan] PATH...
//	panka output [ADDR] [--json] [flags as plan] PATH...
//	panka import ADDR ID [--json] [flags as apply] PATH...
//	panka state list|show ADDR|pull|history [flags] [PATH...]
//	panka lock info|force-unlock LOCK_ID [flags] [PATH...]
//	panka init [--local] [settings flags]
//
// Settings (backend, bucket, lock table, tenant, provider...) come from panka.yaml (or --config),
// PANKA_* environment variables and flags, each overriding the last; --local runs against an
// embedded AWS emulator.
//
// Exit status: 0 success, 1 failure (invalid config, or an operation failed), 2 usage error.
// Diagnostics go to stderr, one per line, as FILE:LINE:COL: SEVERITY: MESSAGE.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/panka/panka"
	"github.com/panka/panka/backend"
	"github.com/panka/panka/backend/s3state"
	"github.com/panka/panka/lock"
	"github.com/panka/panka/provider"
)

func main() {
	// The first Ctrl-C stops the run gracefully (no new operations, state persisted); the
	// second also aborts the operations in flight (state is still persisted).
	ctx, cancel := context.WithCancel(context.Background())
	abort := make(chan struct{})
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-signals
		fmt.Fprintln(os.Stderr, "\nStopping: no new operations will start; waiting for those in flight (Ctrl-C again to abort them).")
		cancel()
		<-signals
		fmt.Fprintln(os.Stderr, "\nAborting the operations in flight; the state will still be saved.")
		close(abort)
	}()
	e := &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, tty: isTerminal(os.Stdout), abort: abort}
	stopProfile := startProfile(os.Stderr)
	code := run(ctx, os.Args[1:], e)
	stopProfile()
	os.Exit(code)
}

// usageError is a mistake in how the command was called (exit 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// exitError carries an exit status for an error already reported to the user.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

const usage = `Usage: panka COMMAND [flags] PATH...

Commands:
  validate   check a configuration and report every problem with its position
  graph      print the dependency order of the components
  plan       show what apply would change
  apply      make the infrastructure match the configuration (or a saved plan)
  destroy    delete the stack's resources
  output     print the outputs recorded in the state (all, one component's, or one value)
  import     adopt an existing cloud resource as a component of the configuration
  state      list, show, pull or list the history of the recorded state
  lock       show or force-unlock the stack's lock
  init       create the shared state bucket and lock table (or the local emulator's)

Run "panka COMMAND -h" for a command's flags.
`

// run executes the command line args and returns the exit status.
func run(ctx context.Context, args []string, e *env) int {
	stdout, stderr := e.stdout, e.stderr
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch cmd, rest := args[0], args[1:]; cmd {
	case "validate":
		err = runValidate(ctx, rest, stdout, stderr)
	case "graph":
		err = runGraph(ctx, rest, stdout, stderr)
	case "plan":
		err = runPlan(ctx, rest, e)
	case "apply":
		err = runApply(ctx, rest, e, false)
	case "destroy":
		err = runApply(ctx, rest, e, true)
	case "output":
		err = runOutput(ctx, rest, e)
	case "import":
		err = runImport(ctx, rest, e)
	case "state":
		err = runState(ctx, rest, e)
	case "lock":
		err = runLock(ctx, rest, e)
	case "init":
		err = runInit(ctx, rest, e)
	case "local-aws": // not in the usage: the emulator process of --local (see localaws.go)
		err = runLocalAWS(ctx, rest, e)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "panka: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	var ue *usageError
	var ee *exitError
	var diags panka.Diagnostics
	switch {
	case err == nil:
		return 0
	case errors.As(err, &diags):
		printDiagnostics(stderr, diags) // already FILE:LINE:COL: error: MESSAGE
		return 1
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "panka: %s\n", ue.msg)
		return 2
	case errors.As(err, &ee):
		return ee.code
	default:
		fmt.Fprintf(stderr, "panka: error: %v\n", err)
		if h := hint(err); h != "" {
			fmt.Fprintf(stderr, "panka: %s\n", h)
		}
		return 1
	}
}

// hintedError is an error with advice on which command helps; run prints both.
type hintedError struct {
	err  error
	hint string
}

func (e *hintedError) Error() string { return e.err.Error() }
func (e *hintedError) Unwrap() error { return e.err }

func withHint(err error, hint string) error { return &hintedError{err, hint} }

// hint says which command helps with err, for the SDK errors that name only the problem.
func hint(err error) string {
	var hinted *hintedError
	var locked *lock.LockedError
	switch {
	case errors.As(err, &hinted):
		return hinted.hint
	case errors.As(err, &locked):
		return fmt.Sprintf("wait for that run (or pass --lock-timeout), or if it is dead run `panka lock force-unlock %s`", locked.Holder.ID)
	case errors.Is(err, panka.ErrUnknownAddress):
		return "`panka graph` lists the components' addresses"
	case errors.Is(err, backend.ErrCorrupt), errors.Is(err, panka.ErrStateMismatch):
		return "`panka state history` lists the revisions kept; `panka state restore REVISION` brings back an intact one of this stack"
	case errors.Is(err, panka.ErrDeletionProtected):
		return "deletion protection is on: set deletionProtection: false, apply, then delete or replace"
	case errors.Is(err, provider.ErrNotOwned):
		return "the resource's panka:* tags name another deployment: manage it from there, or fix its tags if they are wrong"
	case errors.Is(err, s3state.ErrNoBucket), errors.Is(err, s3state.ErrUnversioned):
		return "`panka init` creates the state bucket with versioning enabled"
	}
	return ""
}

// parseInterspersed parses flags that may come before or after positional arguments, returning
// the positional ones. "--" ends flag parsing.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, &usageError{err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		if args[0] == "--" {
			return append(positional, args[1:]...), nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

func newFlagSet(name string, stderr io.Writer, summary string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: panka %s\n\nFlags:\n", summary)
		fs.PrintDefaults()
	}
	return fs
}
