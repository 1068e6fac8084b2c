package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/panka/panka/provider"
)

// runInit implements `panka init`: create the shared state bucket and lock table (backend s3), or
// the local emulator's (--local), idempotently.
func runInit(ctx context.Context, args []string, e *env) error {
	fs := newFlagSet("init", e.stderr, "init [--local] [--config FILE] [--bucket B --lock-table T --region R --kms-key K --endpoint URL]")
	var c common
	c.register(fs)
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	s, err := c.load()
	if err != nil {
		return err
	}
	switch {
	case c.local:
		opts, closeFn, err := c.options(ctx, e, "", provider.Target{})
		if err != nil {
			return err
		}
		defer closeFn()
		_ = opts
		fmt.Fprintf(e.stdout, "Local AWS is ready: state bucket %s and lock table %s in the embedded emulator (data in %s).\n",
			localBucket, localLockTable, filepath.Join(s.StateDir, "local-aws"))
	case s.Backend == "s3":
		cfg, err := awsConfig(ctx, s)
		if err != nil {
			return err
		}
		logger, err := c.logger(e.stderr)
		if err != nil {
			return err
		}
		cfg.Logger = sdkLogger(logger)
		warnings, err := bootstrap(ctx, cfg, s)
		for _, w := range warnings {
			fmt.Fprintf(e.stderr, "warning: %s\n", w)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Ready: state bucket %s (versioned, encrypted, not public) and lock table %s (TTL on expires).\n", s.Bucket, s.LockTable)
	default:
		if err := os.MkdirAll(s.StateDir, 0o700); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Ready: the file backend keeps state and locks in %s. (Set backend: s3 in panka.yaml to share them between machines.)\n", s.StateDir)
	}
	return nil
}
