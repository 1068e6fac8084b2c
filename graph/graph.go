// Package graph is Panka's dependency graph: a directed graph of string IDs
// (component addresses such as "svc/comp") with deterministic ordering, cycle
// reporting that names the cycle's path, dependency levels, and a bounded
// parallel walker that skips the dependents of a failure.
//
// An edge from → to means "from depends on to": to must be handled before
// from. The package knows nothing about AWS, YAML or resources.
//
// Every result that is a list of IDs is sorted or otherwise deterministic, so
// plans and error messages are stable from run to run regardless of the order
// in which nodes and edges were added.
//
// A Graph is not safe for concurrent mutation. Concurrent calls to methods
// that only read it (everything except AddNode and AddEdge) are safe.
package graph

import (
	"maps"
	"slices"
)

// Graph is a directed dependency graph. Create one with New.
type Graph struct {
	deps       map[string]set // node → the nodes it depends on
	dependents map[string]set // node → the nodes that depend on it
}

type set = map[string]struct{}

// New returns an empty graph.
func New() *Graph {
	return &Graph{deps: map[string]set{}, dependents: map[string]set{}}
}

// AddNode adds id to the graph. Adding an existing node does nothing.
func (g *Graph) AddNode(id string) {
	if _, ok := g.deps[id]; ok {
		return
	}
	g.deps[id] = set{}
	g.dependents[id] = set{}
}

// AddEdge records that from depends on to, adding either node if it is
// missing. Adding an existing edge does nothing. A self-edge (from == to) is
// allowed and is reported as a cycle by Cycles, TopoSort, Levels and Walk.
func (g *Graph) AddEdge(from, to string) {
	g.AddNode(from)
	g.AddNode(to)
	g.deps[from][to] = struct{}{}
	g.dependents[to][from] = struct{}{}
}

// Has reports whether id is a node of the graph.
func (g *Graph) Has(id string) bool {
	_, ok := g.deps[id]
	return ok
}

// Len returns the number of nodes.
func (g *Graph) Len() int { return len(g.deps) }

// Nodes returns every node, sorted.
func (g *Graph) Nodes() []string { return sortedKeys(g.deps) }

// DependenciesOf returns the nodes id directly depends on, sorted. It returns
// nil if id is not in the graph.
func (g *Graph) DependenciesOf(id string) []string { return sortedKeys(g.deps[id]) }

// DependentsOf returns the nodes that directly depend on id, sorted. It
// returns nil if id is not in the graph.
func (g *Graph) DependentsOf(id string) []string { return sortedKeys(g.dependents[id]) }

// TransitiveDependents returns every node that depends, directly or
// indirectly, on any of ids, sorted. This is the set that must go too when
// ids are destroyed. An input appears in the result only if it itself depends
// on another input (or on itself, through a cycle). IDs not in the graph are
// ignored.
func (g *Graph) TransitiveDependents(ids ...string) []string {
	seen := set{}
	stack := make([]string, 0, len(ids))
	for _, id := range ids {
		if g.Has(id) {
			stack = append(stack, id)
		}
	}
	for len(stack) > 0 {
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for w := range g.dependents[v] {
			if _, ok := seen[w]; !ok {
				seen[w] = struct{}{}
				stack = append(stack, w)
			}
		}
	}
	return sortedKeys(seen)
}

// Reverse returns a new graph with the same nodes and every edge flipped, so
// that its topological order is the destroy order of g. g is not modified.
func (g *Graph) Reverse() *Graph {
	r := &Graph{
		deps:       make(map[string]set, len(g.deps)),
		dependents: make(map[string]set, len(g.dependents)),
	}
	for id, ds := range g.deps {
		r.dependents[id] = maps.Clone(ds)
	}
	for id, ds := range g.dependents {
		r.deps[id] = maps.Clone(ds)
	}
	return r
}

func sortedKeys[V any](s map[string]V) []string {
	if len(s) == 0 {
		return nil
	}
	return slices.Sorted(maps.Keys(s))
}

// indexed is an immutable, integer-indexed snapshot of a Graph used by the
// algorithms. Node i is ids[i]; ids is sorted, so comparing indices compares
// IDs, and every adjacency list is sorted too.
type indexed struct {
	ids        []string
	deps       [][]int32
	dependents [][]int32
}

func (g *Graph) index() *indexed {
	ids := g.Nodes()
	pos := make(map[string]int32, len(ids))
	for i, id := range ids {
		pos[id] = int32(i)
	}
	ix := &indexed{
		ids:        ids,
		deps:       make([][]int32, len(ids)),
		dependents: make([][]int32, len(ids)),
	}
	for i, id := range ids {
		ix.deps[i] = toSortedIndices(g.deps[id], pos)
		ix.dependents[i] = toSortedIndices(g.dependents[id], pos)
	}
	return ix
}

func toSortedIndices(s set, pos map[string]int32) []int32 {
	if len(s) == 0 {
		return nil
	}
	out := make([]int32, 0, len(s))
	for id := range s {
		out = append(out, pos[id])
	}
	slices.Sort(out)
	return out
}

func (ix *indexed) names(vs []int32) []string {
	if len(vs) == 0 {
		return nil
	}
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = ix.ids[v]
	}
	return out
}
