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
	"slices"
	"strings"

	"github.com/panka/panka"
	"github.com/panka/panka/internal/atomicfile"
)

func runPlan(ctx context.Context, args []string, e *env) error {
	fs := newFlagSet("plan", e.stderr, planSummary)
	var c common
	c.register(fs)
	out := fs.String("out", "", "save the plan to FILE, for `panka apply FILE`")
	fs.BoolVar(&c.json, "json", false, "print the plan as JSON on stdout")
	refreshOnly := fs.Bool("refresh-only", false, "only report changes made outside Panka")
	detailed := fs.Bool("detailed-exitcode", false, "exit 0 with no changes, 2 with changes, 1 on error")
	var targets, replace multiFlag
	registerTargeting(fs, &targets, &replace)
	paths, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if *refreshOnly && (len(targets) > 0 || len(replace) > 0) {
		// The engine would ignore them: a refresh reads every resource and changes none.
		return &usageError{"--refresh-only reads every resource and changes none: it takes no --target or --replace"}
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
	opts.Targets, opts.Replace = targeting(targets, replace)
	p, err := panka.Plan(ctx, cfg, opts)
	if err != nil {
		return err
	}
	if err := printPlan(e.stdout, p, c.json); err != nil {
		return err
	}
	noteTargeting(e, opts.Targets, false)
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

const (
	planSummary    = "plan [--env E] [--provider sim|aws] [--state-dir DIR] [-out FILE] [--json] [--refresh-only] [--detailed-exitcode] [--target ADDR]... [--replace ADDR]... PATH..."
	applySummary   = "apply [--auto-approve] [--parallelism N] [--json] [--target ADDR]... [--replace ADDR]... [flags as plan] PATH...|PLANFILE"
	destroySummary = "destroy [--auto-approve] [--target ADDR]... [flags as plan] PATH..."
)

// registerTargeting adds plan's and apply's --target and --replace.
func registerTargeting(fs *flag.FlagSet, targets, replace *multiFlag) {
	fs.Var(targets, "target", "change only ADDR (service/component, or a service for all of its components) and what it depends on; repeatable")
	fs.Var(replace, "replace", "replace ADDR (service/component) even if nothing changed; repeatable")
}

// targeting returns Options.Targets and Options.Replace for --target and --replace. An address
// to replace is a target too when targets are given: the engine skips a replacement outside the
// targets and what they depend on, and asking for one means it is in scope.
func targeting(targets, replace []string) ([]string, []string) {
	if len(targets) == 0 {
		return nil, replace
	}
	all := slices.Clone(targets)
	for _, a := range replace {
		if !slices.Contains(all, a) {
			all = append(all, a)
		}
	}
	return all, replace
}

// noteTargeting warns, on stderr, that a run limited by --target may leave the rest of the stack
// unlike the configuration.
func noteTargeting(e *env, targets []string, destroy bool) {
	if len(targets) == 0 {
		return
	}
	scope := "what it depends on"
	if destroy {
		scope = "what depends on it"
	}
	if len(targets) > 1 {
		scope = "what they depend on"
		if destroy {
			scope = "what depends on them"
		}
	}
	fmt.Fprintf(e.stderr, "Note: --target is in effect: only %s and %s were considered; the rest of the stack may still differ from the configuration.\n", strings.Join(targets, ", "), scope)
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
	name, summary := "apply", applySummary
	if destroy {
		name, summary = "destroy", destroySummary
	}
	fs := newFlagSet(name, e.stderr, summary)
	var c common
	c.register(fs)
	fs.BoolVar(&c.json, "json", false, "stream progress as JSON lines on stdout")
	fs.IntVar(&c.parallelism, "parallelism", 10, "how many operations run at once")
	autoApprove := fs.Bool("auto-approve", false, "apply without asking for confirmation")
	var targets, replace multiFlag
	if destroy {
		fs.Var(&targets, "target", "destroy only ADDR (service/component, or a service for all of its components) and what depends on it; repeatable")
	} else {
		registerTargeting(fs, &targets, &replace)
	}
	paths, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if c.parallelism < 1 {
		return &usageError{fmt.Sprintf("--parallelism %d: give how many operations may run at once, 1 or more", c.parallelism)}
	}

	var p *panka.PlanResult
	var cfg *panka.Config
	var opts panka.Options
	if !destroy && isPlanFile(paths) {
		// A saved plan was reviewed already: apply it as it is.
		if len(targets) > 0 || len(replace) > 0 {
			return &usageError{fmt.Sprintf("%s is a saved plan: --target and --replace belong to the `panka plan` that makes it", paths[0])}
		}
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
		opts.Targets, opts.Replace = targeting(targets, replace)
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
				noteTargeting(e, opts.Targets, destroy)
				return err
			}
			noteTargeting(e, opts.Targets, destroy)
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
			if werr := panka.WritePlanText(e.stdout, res.Plan); err == nil {
				err = werr
			}
		} else {
			fmt.Fprintln(e.stdout, summaryLine(res, destroy, err != nil))
		}
	}
	if res != nil {
		noteTargeting(e, opts.Targets, destroy)
	}
	if errors.Is(err, panka.ErrStalePlan) {
		return fmt.Errorf("%w\nThe lock was released and nothing was changed. Run `panka plan` again", err)
	}
	return err
}

// summaryLine is the line that ends a run: what it did, by action, from its resources' outcomes
// (a change counts as added, changed... only if it succeeded; a no-op is counted nowhere), then
// what failed and what was left undone (skipped after a failure, or canceled), from res.Counts.
func summaryLine(res *panka.Result, destroy, failed bool) string {
	verb, status := "Apply", "complete"
	if destroy {
		verb = "Destroy"
	}
	if failed {
		status = "failed"
	}
	done := map[panka.Action]int{}
	for _, r := range res.Resources {
		if r.Outcome == panka.OutcomeSucceeded {
			done[r.Action]++
		}
	}
	s := res.Counts
	return fmt.Sprintf("%s %s! Resources: %d added, %d changed, %d replaced, %d destroyed; %d failed, %d skipped.",
		verb, status, done[panka.ActionCreate], done[panka.ActionUpdate], done[panka.ActionReplace], done[panka.ActionDelete],
		s.Failed, s.Skipped+s.Canceled)
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
