package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/panka/panka"
	"github.com/panka/panka/internal/atomicfile"
)

func runPlan(ctx context.Context, args []string, e *env) error {
	fs := newFlagSet("plan", e.stderr, "plan [--env E] [--provider sim|aws] [--state-dir DIR] [-out FILE] [--json] [--refresh-only] [--detailed-exitcode] PATH...")
	var c common
	c.register(fs)
	out := fs.String("out", "", "save the plan to FILE, for `panka apply FILE`")
	fs.BoolVar(&c.json, "json", false, "print the plan as JSON on stdout")
	refreshOnly := fs.Bool("refresh-only", false, "only report changes made outside Panka")
	detailed := fs.Bool("detailed-exitcode", false, "exit 0 with no changes, 2 with changes, 1 on error")
	paths, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	cfg, err := c.loadForRun(ctx, paths, e.stderr)
	if err != nil {
		return err
	}
	opts, closeFn, err := c.options(ctx, e, c.environment(cfg), panka.TargetOf(cfg, c.environment(cfg)))
	if err != nil {
		return err
	}
	defer closeFn()
	opts.RefreshOnly = *refreshOnly
	p, err := panka.Plan(ctx, cfg, opts)
	if err != nil {
		return err
	}
	if err := printPlan(e.stdout, p, c.json); err != nil {
		return err
	}
	if *out != "" {
		if err := savePlan(*out, p); err != nil {
			return err
		}
		if !c.json {
			fmt.Fprintf(e.stdout, "\nSaved the plan to %s. Apply exactly these actions with: panka apply %s\n", *out, *out)
		}
	}
	if *detailed && p.HasChanges() {
		return &exitError{2}
	}
	return nil
}

func printPlan(w io.Writer, p *panka.PlanResult, asJSON bool) error {
	if asJSON {
		return panka.WritePlanJSON(w, p)
	}
	return panka.WritePlanText(w, p)
}

func savePlan(path string, p *panka.PlanResult) error {
	var buf bytes.Buffer
	if err := panka.WritePlan(&buf, p); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(path, buf.Bytes(), atomicfile.Options{}); err != nil {
		return fmt.Errorf("save plan: %w", err)
	}
	return nil
}

func loadPlan(path string) (*panka.PlanResult, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	p, err := panka.ReadPlan(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// isPlanFile reports whether the single argument names a saved plan rather than a config.
func isPlanFile(args []string) bool {
	if len(args) != 1 {
		return false
	}
	ext := filepath.Ext(args[0])
	if ext == ".yaml" || ext == ".yml" {
		return false
	}
	info, err := os.Stat(args[0])
	return err == nil && !info.IsDir()
}

// runApply implements both apply and destroy.
func runApply(ctx context.Context, args []string, e *env, destroy bool) error {
	name, summary := "apply", "apply [--auto-approve] [--parallelism N] [--json] [--target ADDR]... [flags as plan] PATH...|PLANFILE"
	if destroy {
		name, summary = "destroy", "destroy [--auto-approve] [--target ADDR]... [flags as plan] PATH..."
	}
	fs := newFlagSet(name, e.stderr, summary)
	var c common
	c.register(fs)
	fs.BoolVar(&c.json, "json", false, "stream progress as JSON lines on stdout")
	fs.IntVar(&c.parallelism, "parallelism", 10, "how many operations run at once")
	autoApprove := fs.Bool("auto-approve", false, "apply without asking for confirmation")
	var targets multiFlag
	if destroy {
		fs.Var(&targets, "target", "destroy only ADDR (service/component) and what depends on it; repeatable")
	} else {
		fs.Var(&targets, "target", "change only ADDR (service/component, or a service) and what it depends on; repeatable")
	}
	paths, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}

	var p *panka.PlanResult
	var cfg *panka.Config
	var opts panka.Options
	if !destroy && isPlanFile(paths) {
		// A saved plan was reviewed already: apply it as it is.
		if p, err = loadPlan(paths[0]); err != nil {
			return err
		}
		if len(targets) > 0 {
			return &usageError{"--target limits a run of a config; a saved plan is applied as it is"}
		}
		// The plan names its tenant and environment; a flag that says otherwise is a mistake.
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		s, err := c.load()
		if err != nil {
			return err
		}
		if set["tenant"] && s.Tenant != p.Tenant {
			return &usageError{fmt.Sprintf("%s is a plan for tenant %s, not %s: drop --tenant, or make a new plan", paths[0], p.Tenant, s.Tenant)}
		}
		if set["env"] && c.env != p.Environment {
			return &usageError{fmt.Sprintf("%s is a plan for environment %s, not %s: drop --env, or make a new plan", paths[0], p.Environment, c.env)}
		}
		s.Tenant = p.Tenant
		var closeFn func()
		if opts, closeFn, err = c.options(ctx, e, p.Environment, p.Target); err != nil {
			return err
		}
		defer closeFn()
	} else {
		if cfg, err = c.loadForRun(ctx, paths, e.stderr); err != nil {
			return err
		}
		var closeFn func()
		if opts, closeFn, err = c.options(ctx, e, c.environment(cfg), panka.TargetOf(cfg, c.environment(cfg))); err != nil {
			return err
		}
		defer closeFn()
		opts.Targets = targets
		if !*autoApprove {
			if c.json {
				return &usageError{"--json needs --auto-approve (there is no one to ask)"}
			}
			if destroy {
				p, err = panka.PlanDestroy(ctx, cfg, opts)
			} else {
				p, err = panka.Plan(ctx, cfg, opts)
			}
			if err != nil {
				return err
			}
			if err := panka.WritePlanText(e.stdout, p); err != nil || !p.HasChanges() {
				return err
			}
			if ok, err := confirm(e, name); err != nil || !ok {
				if err == nil {
					fmt.Fprintf(e.stdout, "\n%s cancelled.\n", strings.ToUpper(name[:1])+name[1:])
				}
				return err
			}
			// Apply exactly what was shown; if the state moved meanwhile, ApplyPlan refuses.
		}
	}

	view := newView(e, c.json)
	opts.Events = view.event
	var res *panka.Result
	switch {
	case p != nil:
		res, err = panka.ApplyPlan(ctx, p, opts)
	case destroy:
		// Auto-approved: plan under the lock, so concurrent runs queue up instead of going stale.
		res, err = panka.Destroy(ctx, cfg, opts)
	default:
		res, err = panka.Apply(ctx, cfg, opts)
	}
	view.close()
	if res != nil && !c.json {
		if p == nil && !res.Plan.HasChanges() {
			return panka.WritePlanText(e.stdout, res.Plan)
		}
		s := res.Counts
		verb := "Apply"
		if destroy {
			verb = "Destroy"
		}
		status := "complete"
		if err != nil {
			status = "failed"
		}
		fmt.Fprintf(e.stdout, "%s %s! Resources: %d added, %d changed, %d replaced, %d destroyed; %d failed, %d skipped.\n",
			verb, status, countOutcome(res, panka.ActionCreate), countOutcome(res, panka.ActionUpdate), countOutcome(res, panka.ActionReplace),
			countOutcome(res, panka.ActionDelete), s.Failed, s.Skipped+s.Canceled)
	}
	if errors.Is(err, panka.ErrStalePlan) {
		return fmt.Errorf("%w\nThe lock was released and nothing was changed. Run `panka plan` again", err)
	}
	return err
}

func countOutcome(res *panka.Result, a panka.Action) int {
	n := 0
	for _, r := range res.Resources {
		if r.Action == a && r.Outcome == panka.OutcomeSucceeded {
			n++
		}
	}
	return n
}

// confirm asks the user to type "yes".
func confirm(e *env, what string) (bool, error) {
	fmt.Fprintf(e.stdout, "\nDo you want to %s? Only 'yes' will be accepted.\n  Enter a value: ", what)
	line, err := bufio.NewReader(e.stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return false, err
	}
	if strings.TrimSpace(line) == "" && errors.Is(err, io.EOF) {
		return false, &usageError{"no answer on standard input; use --auto-approve to apply without asking"}
	}
	return strings.TrimSpace(line) == "yes", nil
}

// multiFlag is a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
