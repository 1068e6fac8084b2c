package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/panka/panka"
	"github.com/panka/panka/backend"
	"github.com/panka/panka/provider"
)

const outputSummary = "output [ADDR] [--json] [flags as plan] PATH..."

// runOutput implements `panka output [ADDR] [--json] PATH...`, like `terraform output`:
//
//   - no ADDR: every output of the stack, one `service/component.name = "value"` line each;
//   - ADDR service/component: its outputs, one `name = "value"` line each;
//   - ADDR service/component.name: that value alone, raw (sensitive or not).
//
// Sensitive values read (sensitive) in lines, and are given in full in JSON. --json prints
// {"service/component": {"name": {"value": "...", "sensitive": false}}}, the inner object for a
// component, and a JSON string for one output.
func runOutput(ctx context.Context, args []string, e *env) error {
	fs := newFlagSet("output", e.stderr, outputSummary)
	var c common
	c.register(fs)
	fs.BoolVar(&c.json, "json", false, "print the outputs as JSON")
	paths, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	var addr string
	if len(paths) > 0 && isAddress(paths[0]) {
		addr, paths = paths[0], paths[1:]
	}
	cfg, err := c.loadForRun(ctx, paths, e.stderr)
	if err != nil {
		return err
	}
	key, err := panka.StateKey(c.set.Tenant, cfg.Stack().Metadata.Name, c.environment(cfg))
	if err != nil {
		return err
	}
	opts, closeFn, err := c.options(ctx, e, "", provider.Target{})
	if err != nil {
		return err
	}
	defer closeFn()
	outs, err := panka.Outputs(ctx, opts.Backend, key)
	if err != nil {
		return err
	}

	if addr == "" {
		if len(outs) == 0 {
			fmt.Fprintf(e.stderr, "No outputs: nothing is deployed in %s.\n", describeKey(key))
			if c.json {
				return writeJSON(e.stdout, map[string]any{})
			}
			return nil
		}
		if c.json {
			return writeJSON(e.stdout, outputsJSON(outs))
		}
		for _, o := range outs {
			fmt.Fprintf(e.stdout, "%s.%s = %s\n", o.Address, o.Name, displayValue(o))
		}
		return nil
	}

	comp, name, _ := strings.Cut(addr, ".")
	var mine []panka.Output
	for _, o := range outs {
		if o.Address == comp {
			mine = append(mine, o)
		}
	}
	if len(mine) == 0 {
		if cfg.Component(comp) == nil {
			var known []string
			for _, c := range cfg.Components {
				known = append(known, c.Address())
			}
			for _, o := range outs {
				known = append(known, o.Address)
			}
			return fmt.Errorf("output %s: %w: no component of %s has that address%s", comp, panka.ErrUnknownAddress, describeKey(key), didYouMean(comp, known))
		}
		return withHint(fmt.Errorf("output %s: %s has no outputs: it is not deployed in %s", addr, comp, describeKey(key)), "`panka apply` creates it")
	}
	if name == "" {
		if c.json {
			return writeJSON(e.stdout, outputsJSON(mine)[comp])
		}
		for _, o := range mine {
			fmt.Fprintf(e.stdout, "%s = %s\n", o.Name, displayValue(o))
		}
		return nil
	}
	i := slices.IndexFunc(mine, func(o panka.Output) bool { return o.Name == name })
	if i < 0 {
		var names []string
		for _, o := range mine {
			names = append(names, o.Name)
		}
		advice := didYouMean(name, names)
		if advice == "" {
			advice = "; its outputs are " + strings.Join(names, ", ")
		}
		return fmt.Errorf("output %s: %s (%s) has no output named %q%s", addr, comp, mine[0].Kind, name, advice)
	}
	if c.json {
		return writeJSON(e.stdout, mine[i].Value)
	}
	_, err = fmt.Fprintln(e.stdout, mine[i].Value)
	return err
}

// isAddress reports whether the first positional argument of output is an ADDR rather than a
// PATH: it is "service/component[.name]" and names no file or directory.
func isAddress(arg string) bool {
	svc, rest, ok := strings.Cut(arg, "/")
	if !ok || svc == "" || rest == "" || strings.Contains(rest, "/") {
		return false
	}
	if ext := filepath.Ext(arg); ext == ".yaml" || ext == ".yml" {
		return false
	}
	_, err := os.Stat(arg)
	return err != nil
}

// outputValue is one output in `panka output --json`.
type outputValue struct {
	Value     string `json:"value"`
	Sensitive bool   `json:"sensitive"`
}

func outputsJSON(outs []panka.Output) map[string]map[string]outputValue {
	m := map[string]map[string]outputValue{}
	for _, o := range outs {
		if m[o.Address] == nil {
			m[o.Address] = map[string]outputValue{}
		}
		m[o.Address][o.Name] = outputValue{Value: o.Value, Sensitive: o.Sensitive}
	}
	return m
}

func displayValue(o panka.Output) string {
	if o.Sensitive {
		return "(sensitive)"
	}
	return fmt.Sprintf("%q", o.Value)
}

// didYouMean returns "; did you mean X?" for the candidate closest to s (by edit distance), if
// it is close enough to be a likely typo.
func didYouMean(s string, candidates []string) string {
	best, bestDist := "", len(s)/2+1
	for _, c := range candidates {
		if d := editDistance(s, c); d < bestDist || d == bestDist && c < best {
			best, bestDist = c, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf("; did you mean %s?", best)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// describeKey names a stack's state for people, as plans do: "shop (environment default, tenant
// default)".
func describeKey(k backend.Key) string {
	return fmt.Sprintf("%s (environment %s, tenant %s)", k.Stack, k.Environment, k.Tenant)
}
