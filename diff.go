package panka

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/panka/panka/graph"
	"github.com/panka/panka/provider"
	"github.com/panka/panka/state"
)

// diffSpecs compares two specs leaf by leaf and returns the differing fields, sorted by path.
// A nil before lists every field of after as added; a nil after lists every field of before as
// removed. Numbers compare by value whatever their Go type (JSON round trips turn int64 into
// float64).
func diffSpecs(before, after map[string]any, ks provider.KindSchema) []FieldDiff {
	if before != nil && after != nil && equalValue(before, after) {
		return nil // the common case of a no-change plan: no flattening, no allocation
	}
	if len(ks.Unordered) > 0 {
		before, after = canonicalSpec(before, ks.Unordered), canonicalSpec(after, ks.Unordered)
		if before != nil && after != nil && equalValue(before, after) {
			return nil
		}
	}
	b, a := map[string]any{}, map[string]any{}
	flatten("", before, b)
	flatten("", after, a)
	var out []FieldDiff
	add := func(path string, bv, av any) {
		f := FieldDiff{Path: path, Before: bv, After: av}
		pattern := stripIndices(path)
		// A field the resource did not have (a provider that could not read it back, a field
		// new in this version of its kind) is set in place: it forces nothing.
		f.ForceNew = before != nil && after != nil && bv != nil && (matchesAny(pattern, ks.ForceNew) || matchesAny(pattern, ks.ShrinkForcesNew) && shrinks(bv, av))
		f.Sensitive = matchesAny(pattern, ks.Secret)
		f.Note = ks.Notes[pattern]
		f.Unknown = av == unknown
		out = append(out, f)
	}
	for path, av := range a {
		bv, ok := b[path]
		if !ok || !equalLeaf(bv, av) || av == unknown {
			if !ok {
				bv = nil
			}
			add(path, bv, av)
		}
	}
	for path, bv := range b {
		if _, ok := a[path]; !ok {
			add(path, bv, nil)
		}
	}
	slices.SortFunc(out, func(x, y FieldDiff) int { return strings.Compare(x.Path, y.Path) })
	return out
}

// stripIndices turns "ports[2].port" into "ports[].port", the form schemas list fields in.
func stripIndices(path string) string {
	if !strings.Contains(path, "[") {
		return path
	}
	var b strings.Builder
	b.Grow(len(path))
	for i := 0; i < len(path); i++ {
		b.WriteByte(path[i])
		if path[i] == '[' {
			for i+1 < len(path) && path[i+1] >= '0' && path[i+1] <= '9' {
				i++
			}
		}
	}
	return b.String()
}

// matchesAny reports whether path is one of patterns or lies under one ("a.b" covers "a.b.c"
// and "a.b[].c").
func matchesAny(path string, patterns []string) bool {
	for _, p := range patterns {
		if path == p || strings.HasPrefix(path, p+".") || strings.HasPrefix(path, p+"[") {
			return true
		}
	}
	return false
}

// flatten records every leaf of v under its path. Empty maps and lists are leaves too, so that
// "[] → [x]" is a change.
func flatten(prefix string, v any, out map[string]any) {
	switch t := v.(type) {
	case map[string]any:
		if len(t) == 0 && prefix != "" {
			out[prefix] = map[string]any{}
			return
		}
		for k, x := range t {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			flatten(p, x, out)
		}
	case []any:
		if len(t) == 0 {
			out[prefix] = []any{}
			return
		}
		for i, x := range t {
			flatten(fmt.Sprintf("%s[%d]", prefix, i), x, out)
		}
	case nil:
	default:
		out[prefix] = v
	}
}

// equalValue compares two JSON-like values deeply, numbers by value. The unknown marker is never
// equal to anything.
func equalValue(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, xv := range x {
			yv, ok := y[k]
			if !ok || !equalValue(xv, yv) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equalValue(x[i], y[i]) {
				return false
			}
		}
		return true
	case string:
		return x != unknown && a == b
	}
	return equalLeaf(a, b)
}

// generationTag is the tag the engine puts on a create-before-destroy replacement: it is managed
// by the engine, not by the config, so it is never a difference.
const generationTag = "panka:generation"

// diffTags compares two tag sets and returns the differing tags as fields "tags.KEY", sorted.
// Tags never force a replacement.
func diffTags(before, after map[string]string) []FieldDiff {
	var out []FieldDiff
	for k, av := range after {
		if bv, ok := before[k]; (!ok || bv != av) && k != generationTag {
			f := FieldDiff{Path: "tags." + k, After: av}
			if ok {
				f.Before = bv
			}
			out = append(out, f)
		}
	}
	for k, bv := range before {
		if _, ok := after[k]; !ok && k != generationTag {
			out = append(out, FieldDiff{Path: "tags." + k, Before: bv})
		}
	}
	slices.SortFunc(out, func(x, y FieldDiff) int { return strings.Compare(x.Path, y.Path) })
	return out
}

// userTags returns tags without those the cloud manages itself ("aws:*"), which no config can
// set; tags itself if it has none.
func userTags(tags map[string]string) map[string]string {
	for k := range tags {
		if strings.HasPrefix(k, "aws:") {
			own := maps.Clone(tags)
			maps.DeleteFunc(own, func(k, _ string) bool { return strings.HasPrefix(k, "aws:") })
			return own
		}
	}
	return tags
}

func equalLeaf(a, b any) bool {
	if fa, ok := asFloat(a); ok {
		fb, ok := asFloat(b)
		return ok && fa == fb
	}
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		return ok && len(x) == 0 && len(y) == 0
	case []any:
		y, ok := b.([]any)
		return ok && len(x) == 0 && len(y) == 0
	}
	return a == b
}

// shrinks reports whether a number field goes from before to a smaller after.
func shrinks(before, after any) bool {
	b, ok := asFloat(before)
	a, ok2 := asFloat(after)
	return ok && ok2 && a < b
}

// limitsHit returns the changes of fields that ks refuses (KindSchema.Limits), one line each:
// "partitions 24 → 12: REASON".
func limitsHit(fields []FieldDiff, ks provider.KindSchema) []string {
	var out []string
	for _, f := range fields {
		if f.Before == nil || f.After == nil || f.Unknown {
			continue // a field set for the first time, or not known until apply
		}
		pattern := stripIndices(f.Path)
		for _, l := range ks.Limits {
			if matchesAny(pattern, []string{l.Path}) && (!l.GrowOnly || shrinks(f.Before, f.After)) {
				out = append(out, fmt.Sprintf("%s %v → %v: %s", f.Path, f.Before, f.After, l.Reason))
				break
			}
		}
	}
	return out
}

func asFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case int64:
		return float64(n), true
	case int:
		return float64(n), true
	case float64:
		return n, true
	}
	return 0, false
}

// stateGraph builds the dependency graph recorded in state, with service groups expanded through
// groups (service barrier id → member addresses).
func stateGraph(st *state.State, groups map[string][]string) *graph.Graph {
	g := graph.New()
	for _, r := range st.Resources {
		g.AddNode(r.Address)
		for _, d := range r.Dependencies {
			g.AddEdge(r.Address, d)
		}
	}
	for id, members := range groups {
		if g.Has(id) {
			for _, m := range members {
				g.AddEdge(id, m)
			}
		}
	}
	return g
}

// canonicalSpec returns spec with the lists at the unordered paths sorted by their elements'
// JSON encoding, so that two specs differing only in the order of those lists compare equal.
// spec itself is not modified; a spec without such lists is returned as it is.
func canonicalSpec(spec map[string]any, unordered []string) map[string]any {
	out := spec
	for _, path := range unordered {
		out = sortedAt(out, strings.Split(path, "."))
	}
	return out
}

// sortedAt returns m with the list at path sorted, copying only the mappings on the way.
func sortedAt(m map[string]any, path []string) map[string]any {
	v, ok := m[path[0]]
	if !ok {
		return m
	}
	var repl any
	if len(path) == 1 {
		list, ok := v.([]any)
		if !ok || len(list) < 2 {
			return m
		}
		keys := make([]string, len(list))
		for i, e := range list {
			b, _ := json.Marshal(state.Normalize(e))
			keys[i] = string(b)
		}
		idx := make([]int, len(list))
		for i := range idx {
			idx[i] = i
		}
		slices.SortStableFunc(idx, func(a, b int) int { return strings.Compare(keys[a], keys[b]) })
		sorted := make([]any, len(list))
		for i, j := range idx {
			sorted[i] = list[j]
		}
		repl = sorted
	} else {
		sub, ok := v.(map[string]any)
		if !ok {
			return m
		}
		repl = sortedAt(sub, path[1:])
	}
	out := maps.Clone(m)
	out[path[0]] = repl
	return out
}
