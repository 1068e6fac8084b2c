package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/panka/panka"
	"github.com/panka/panka/graph"
)

// graphNode is one component in the dependency order, as printed by "panka graph".
type graphNode struct {
	Address string `json:"address"`
	Kind    string `json:"kind"`
	Level   int    `json:"level"`
	// DependsOn lists the components this one waits for directly, service-level dependencies
	// expanded to the components of those services.
	DependsOn []string `json:"dependsOn"`
	// direct and services are DependsOn as written: component dependencies, and whole services.
	direct, services []string
}

// componentOrder returns the components in deterministic topological order with their levels
// (0 = no dependencies; a component's level is one more than its deepest dependency). Service
// barrier nodes (IDs without '/') are looked through.
func componentOrder(g *graph.Graph) ([]graphNode, error) {
	order, err := g.TopoSort()
	if err != nil {
		return nil, err
	}
	level := map[string]int{}
	deps := map[string][]string{} // for barriers: the components they stand for
	var out []graphNode
	for _, id := range order {
		var all, direct, services []string
		lvl := 0
		for _, d := range g.DependenciesOf(id) {
			if isComponent(d) {
				all = append(all, d)
				direct = append(direct, d)
				lvl = max(lvl, level[d]+1)
			} else {
				all = append(all, deps[d]...)
				services = append(services, d)
				lvl = max(lvl, level[d])
			}
		}
		slices.Sort(all)
		all = slices.Compact(all)
		if !isComponent(id) {
			deps[id] = all
			level[id] = lvl
			continue
		}
		level[id] = lvl
		out = append(out, graphNode{Address: id, Level: lvl, DependsOn: all, direct: direct, services: services})
	}
	slices.SortStableFunc(out, func(a, b graphNode) int { return a.Level - b.Level })
	return out, nil
}

func isComponent(id string) bool { return strings.Contains(id, "/") }

func runGraph(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("graph", stderr, "graph [--env ENV] [--format text|dot|json] PATH...")
	env := fs.String("env", "", "environment (default: every environment the stack declares)")
	format := fs.String("format", "text", "output format: text, dot or json")
	paths, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if !slices.Contains([]string{"text", "dot", "json"}, *format) {
		return &usageError{fmt.Sprintf("--format %q: use text, dot or json", *format)}
	}
	max, err := maxFileSizeFromEnv()
	if err != nil {
		return err
	}
	cfg, _, err := loadConfig(ctx, paths, *env, max, stderr)
	if err != nil {
		return err
	}
	nodes, err := componentOrder(cfg.Graph())
	if err != nil {
		return err
	}
	for i := range nodes {
		nodes[i].Kind = cfg.Component(nodes[i].Address).Kind
	}
	return writeGraph(stdout, *format, cfg, nodes)
}

func writeGraph(w io.Writer, format string, cfg *panka.Config, nodes []graphNode) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Stack      string      `json:"stack"`
			Components []graphNode `json:"components"`
		}{cfg.Stack().Metadata.Name, nodes})
	case "dot":
		fmt.Fprintf(w, "digraph %q {\n  rankdir=LR;\n", cfg.Stack().Metadata.Name)
		for _, n := range nodes {
			fmt.Fprintf(w, "  %q [label=%q];\n", n.Address, n.Address+"\n"+n.Kind)
		}
		for _, n := range nodes {
			for _, d := range n.DependsOn {
				fmt.Fprintf(w, "  %q -> %q;\n", n.Address, d)
			}
		}
		fmt.Fprintln(w, "}")
	default:
		level := -1
		for _, n := range nodes {
			if n.Level != level {
				level = n.Level
				fmt.Fprintf(w, "Level %d:\n", level)
			}
			line := fmt.Sprintf("  %s (%s)", n.Address, n.Kind)
			after := slices.Clone(n.direct)
			for _, svc := range n.services {
				after = append(after, "service "+svc)
			}
			if len(after) > 0 {
				line += " after " + strings.Join(after, ", ")
			}
			fmt.Fprintln(w, line)
		}
	}
	return nil
}
