package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/panka/panka"
	"github.com/panka/panka/backend"
	"github.com/panka/panka/lock"
	"github.com/panka/panka/provider"
)

// runState implements `panka state list|show ADDR|pull|history`.
func runState(ctx context.Context, args []string, e *env) error {
	if len(args) == 0 {
		return &usageError{"state needs a subcommand: list, show ADDR, pull, history or restore REVISION"}
	}
	sub, args := args[0], args[1:]
	argName := ""
	switch sub {
	case "show":
		argName = "an address (service/component)"
	case "restore":
		argName = "a revision ID (as `panka state history` lists them)"
	case "list", "pull", "history":
	default:
		return &usageError{fmt.Sprintf("unknown state subcommand %q: use list, show, pull, history or restore", sub)}
	}
	addr, key, opts, closeFn, err := openStack(ctx, e, "state", sub, args, argName)
	if err != nil {
		return err
	}
	defer closeFn()
	b := opts.Backend
	if sub == "restore" {
		st, err := panka.RestoreState(ctx, key, addr, opts)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Restored revision %s of %s as serial %d (%d resources). Run `panka plan` to compare it with the infrastructure.\n", addr, key, st.Serial, len(st.Resources))
		return nil
	}
	if sub == "history" {
		revs, err := b.History(ctx, key)
		if errors.Is(err, backend.ErrNotFound) {
			return fmt.Errorf("no state for %s yet", key)
		}
		if err != nil {
			return err
		}
		for _, r := range revs {
			cur := ""
			if r.Current {
				cur = "  (current)"
			}
			fmt.Fprintf(e.stdout, "%s  %s  %d bytes%s\n", r.ID, r.Time.UTC().Format(time.RFC3339), r.Size, cur)
		}
		return nil
	}
	// The state as the engine sees it: decoded, checked to be key's own, its journal applied.
	st, err := panka.ReadState(ctx, b, key)
	if errors.Is(err, backend.ErrNotFound) {
		if sub == "list" {
			return nil
		}
		return fmt.Errorf("no state for %s yet", key)
	}
	if err != nil {
		return err
	}
	if sub == "pull" {
		data, err := st.Encode()
		if err != nil {
			return err
		}
		_, err = e.stdout.Write(data)
		return err
	}
	switch sub {
	case "list":
		for _, r := range st.Resources {
			fmt.Fprintln(e.stdout, r.Address)
		}
		return nil
	case "show":
		r := st.Lookup(addr)
		if r == nil {
			return fmt.Errorf("no resource %s in the state of %s", addr, key)
		}
		return writeJSON(e.stdout, r)
	}
	return &usageError{fmt.Sprintf("unknown state subcommand %q: use list, show, pull or history", sub)}
}

// runLock implements `panka lock info` and `panka lock force-unlock LOCK_ID`.
func runLock(ctx context.Context, args []string, e *env) error {
	if len(args) == 0 {
		return &usageError{"lock needs a subcommand: info or force-unlock LOCK_ID"}
	}
	sub, args := args[0], args[1:]
	argName := ""
	switch sub {
	case "force-unlock":
		argName = "the LOCK_ID (see `panka lock info`)"
	case "info":
	default:
		return &usageError{fmt.Sprintf("unknown lock subcommand %q: use info or force-unlock", sub)}
	}
	id, key, opts, closeFn, err := openStack(ctx, e, "lock", sub, args, argName)
	if err != nil {
		return err
	}
	defer closeFn()
	if sub == "force-unlock" {
		if err := opts.Locker.ForceUnlock(ctx, key.String(), id); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Lock %s on %s released.\n", id, key)
		return nil
	}
	info, err := opts.Locker.Inspect(ctx, key.String())
	if errors.Is(err, lock.ErrNotLocked) {
		fmt.Fprintf(e.stdout, "%s is not locked.\n", key)
		return nil
	}
	if err != nil {
		return err
	}
	state := "held"
	if time.Now().After(info.Expires) {
		state = "expired (the next run takes it over)"
	}
	fmt.Fprintf(e.stdout, "%s is locked (%s)\n  ID:        %s\n  Who:       %s\n  Operation: %s\n  Created:   %s\n  Expires:   %s\n  Version:   %s\n",
		key, state, info.ID, info.Owner, info.Operation, info.Created.UTC().Format(time.RFC3339), info.Expires.UTC().Format(time.RFC3339), info.Version)
	return nil
}

// openStack parses "[ARG] [flags] [PATH...]" for a state or lock subcommand and opens the state
// backend and locker of the stack configured at PATH. If argName is set, the first positional
// argument is required and returned as arg. closeFn must be called when done.
func openStack(ctx context.Context, e *env, group, sub string, args []string, argName string) (arg string, key backend.Key, opts panka.Options, closeFn func(), err error) {
	fs := newFlagSet(group+" "+sub, e.stderr, group+" "+sub+" [flags] [PATH...]")
	var c common
	c.register(fs)
	paths, err := parseInterspersed(fs, args)
	if err != nil {
		return "", key, opts, nil, err
	}
	if argName != "" {
		if len(paths) == 0 {
			return "", key, opts, nil, &usageError{fmt.Sprintf("%s %s needs %s", group, sub, argName)}
		}
		arg, paths = paths[0], paths[1:]
	}
	if key, err = c.stateKey(ctx, paths, e.stderr); err != nil {
		return "", key, opts, nil, err
	}
	opts, closeFn, err = c.options(ctx, e, "", provider.Target{})
	return arg, key, opts, closeFn, err
}
