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

	"github.com/lmittmann/tint"

	"github.com/panka/panka/internal/localaws"
)

// runLocalAWS implements `panka local-aws`, which is not in the usage text:
//
//	panka local-aws serve DIR                 the shared emulator of data dir DIR: --local runs start it
//	panka local-aws stop [--state-dir DIR]   stop the state dir's emulator once its runs are done
//
// serve keeps running until no run has used the emulator for 10 s (PANKA_LOCAL_AWS_IDLE, a
// tuning knob for tests) or it is stopped (stop, SIGTERM), and logs to DIR/server.log.
func runLocalAWS(ctx context.Context, args []string, e *env) error {
	const usage = "local-aws serve DIR | local-aws stop [--state-dir DIR] [--config FILE]"
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
	default:
		return &usageError{fmt.Sprintf("local-aws %q: usage: panka %s", args[0], usage)}
	}
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
