package panka

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/panka/panka/graph"
	"github.com/panka/panka/internal/interp"
	"github.com/panka/panka/schema"
)

// desired is what the config asks for, for one environment: every component with its spec
// template, plus the service groups that service-level dependencies refer to.
type desired struct {
	Stack, Env, Tenant string
	Resources          []*desiredResource          // sorted by address
	Groups             map[string][]string         // service barrier id → component addresses
	byAddr             map[string]*desiredResource // index
	// graph orders Resources and Groups: the config's graph, with the infrastructure Panka
	// derives from it (infra.go).
	graph *graph.Graph
}

// desiredResource is one component as the engine plans it.
type desiredResource struct {
	Address string
	Kind    string
	Name    string
	// Template is the spec with variables resolved. Output references stay as
	// "${service.component.output}" (always three parts), and a literal "${" is escaped as "$${",
	// so rendering it with the producers' outputs yields the final spec.
	Template map[string]any
	// Dependencies are graph predecessors: component addresses and service barrier ids.
	Dependencies []string
	Tags         map[string]string
}

// buildDesired turns a validated config into desired resources for env.
func buildDesired(cfg *Config, env, tenant string) (*desired, error) {
	st := cfg.Stack()
	if st == nil {
		return nil, fmt.Errorf("config has no Stack")
	}
	g := cfg.Graph()
	if g == nil {
		return nil, fmt.Errorf("config was not validated: call Validate first")
	}
	d := &desired{Stack: st.Metadata.Name, Env: env, Tenant: tenant, Groups: map[string][]string{}, byAddr: map[string]*desiredResource{}}
	vars := st.Variables(env)
	svcVars := map[string]map[string]string{}
	for _, svc := range cfg.Services {
		resolved := map[string]string{}
		for k, v := range svc.Spec.Variables {
			s, err := renderVars(v, vars)
			if err != nil {
				return nil, fmt.Errorf("service %s variable %s: %w", svc.Metadata.Name, k, err)
			}
			resolved[k] = s
		}
		svcVars[svc.Metadata.Name] = resolved
	}
	components := map[string]map[string]bool{}
	for _, c := range cfg.Components {
		if components[c.Service()] == nil {
			components[c.Service()] = map[string]bool{}
		}
		components[c.Service()][c.Name()] = true
	}
	for _, c := range cfg.Components {
		r := &desiredResource{
			Address:      c.Address(),
			Kind:         c.Kind,
			Name:         cfg.PhysicalName(c, nameTenant(tenant), env),
			Dependencies: g.DependenciesOf(c.Address()),
			Tags: map[string]string{
				"panka:tenant": tenant, "panka:stack": st.Metadata.Name,
				"panka:environment": env, "panka:address": c.Address(),
			},
		}
		for k, v := range c.Metadata.Labels {
			if _, reserved := r.Tags[k]; !reserved {
				r.Tags[k] = v
			}
		}
		t, err := templateValue(schema.ToMap(c.Spec), func(ref *interp.Ref) (string, error) {
			p := ref.Parts
			switch len(p) {
			case 1:
				if v, ok := vars[p[0]]; ok {
					return escape(v), nil
				}
				return "", fmt.Errorf("undefined variable ${%s} in environment %s", p[0], env)
			case 2:
				if components[c.Service()][p[0]] {
					return "${" + c.Service() + "." + p[0] + "." + p[1] + "}", nil
				}
				if v, ok := svcVars[p[0]][p[1]]; ok {
					return escape(v), nil
				}
				return "", fmt.Errorf("unresolved reference ${%s}", ref)
			default:
				return "${" + ref.String() + "}", nil
			}
		})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.Address(), err)
		}
		r.Template = t.(map[string]any)
		d.Resources = append(d.Resources, r)
		d.byAddr[r.Address] = r
	}
	slices.SortFunc(d.Resources, func(a, b *desiredResource) int { return strings.Compare(a.Address, b.Address) })
	for _, id := range g.Nodes() {
		if !isComponentAddr(id) {
			d.Groups[id] = g.DependenciesOf(id)
		}
	}
	if err := addInfrastructure(d, cfg, env, tenant); err != nil {
		return nil, err
	}
	d.graph = graph.New()
	for _, r := range d.Resources {
		d.graph.AddNode(r.Address)
		for _, dep := range r.Dependencies {
			d.graph.AddEdge(r.Address, dep)
		}
	}
	for id, deps := range d.Groups {
		d.graph.AddNode(id)
		for _, dep := range deps {
			d.graph.AddEdge(id, dep)
		}
	}
	return d, nil
}

func isComponentAddr(id string) bool { return strings.Contains(id, "/") }

// escape protects a resolved value so that a "${" inside it is not read as a reference later.
func escape(s string) string { return strings.ReplaceAll(s, "${", "$${") }

// renderVars resolves ${VAR} references against vars (service variables may only use those).
func renderVars(s string, vars map[string]string) (string, error) {
	if !interp.HasRefs(s) {
		return s, nil
	}
	segs, err := interp.Parse(s)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, seg := range segs {
		if seg.Ref == nil {
			b.WriteString(seg.Text)
			continue
		}
		v, ok := vars[seg.Ref.Parts[0]]
		if !ok || len(seg.Ref.Parts) != 1 {
			return "", fmt.Errorf("unresolved reference ${%s}", seg.Ref)
		}
		b.WriteString(v)
	}
	return b.String(), nil
}

// templateValue rewrites every string in v: literal text is escaped, references are replaced by
// what ref returns (already escaped, or a canonical output reference).
func templateValue(v any, ref func(*interp.Ref) (string, error)) (any, error) {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			y, err := templateValue(x, ref)
			if err != nil {
				return nil, err
			}
			out[k] = y
		}
		return out, nil
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			y, err := templateValue(x, ref)
			if err != nil {
				return nil, err
			}
			out[i] = y
		}
		return out, nil
	case string:
		if !interp.HasRefs(t) {
			return t, nil
		}
		segs, err := interp.Parse(t)
		if err != nil {
			return nil, err
		}
		var b strings.Builder
		for _, seg := range segs {
			if seg.Ref == nil {
				b.WriteString(escape(seg.Text))
				continue
			}
			s, err := ref(seg.Ref)
			if err != nil {
				return nil, err
			}
			b.WriteString(s)
		}
		return b.String(), nil
	default:
		return v, nil
	}
}

// unknown marks a value that is known only after apply (an output of a resource not yet created).
const unknown = "(known after apply)"

// renderTemplate resolves output references in a template. outputs returns a producer's output
// value and whether it is known; an unknown output makes the whole string unknown. The second
// result reports whether every value was known.
func renderTemplate(t map[string]any, outputs func(addr, name string) (string, bool)) (map[string]any, bool) {
	allKnown := true
	var render func(v any) any
	render = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			out := make(map[string]any, len(x))
			for k, y := range x {
				out[k] = render(y)
			}
			return out
		case []any:
			out := make([]any, len(x))
			for i, y := range x {
				out[i] = render(y)
			}
			return out
		case string:
			if !interp.HasRefs(x) {
				return x
			}
			segs, err := interp.Parse(x)
			if err != nil {
				return x
			}
			s, ok := interp.Render(segs, func(r *interp.Ref) (string, bool) {
				if len(r.Parts) != 3 {
					return "", false
				}
				return outputs(r.Parts[0]+"/"+r.Parts[1], r.Parts[2])
			})
			if !ok {
				allKnown = false
				return unknown
			}
			return s
		default:
			return v
		}
	}
	return render(t).(map[string]any), allKnown
}

// digestOf is a stable SHA-256 of a JSON-encodable value (maps are encoded with sorted keys).
func digestOf(v any) string {
	data, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}
