package graph

import (
	"slices"
	"strings"
)

// CycleError is returned by TopoSort, Levels and Walk when the graph has a
// dependency cycle. Cycles holds one closed path per strongly connected
// component, as returned by Graph.Cycles.
type CycleError struct {
	Cycles [][]string
}

// Error names every cycle, for example
// "dependency cycle: a → b → c → a; x → x".
func (e *CycleError) Error() string {
	var b strings.Builder
	b.WriteString("dependency cycle")
	for i, c := range e.Cycles {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(strings.Join(c, " → "))
	}
	return b.String()
}

// Cycles returns one cycle through each strongly connected component that
// contains a cycle (a component of two or more nodes, or a node with a
// self-edge), or nil if the graph is acyclic.
//
// Each cycle is a closed path that starts and ends at the component's
// smallest ID, following dependency edges (["a", "b", "a"] means a depends on
// b and b on a). The path is the first one found by a depth-first search that
// tries the smallest next ID first, so it is deterministic but not
// necessarily the shortest. The cycles are sorted by their first element.
//
// It runs in O(V + E) (plus sorting), using Tarjan's algorithm.
func (g *Graph) Cycles() [][]string { return g.index().cycles() }

func (ix *indexed) cycles() [][]string {
	var out [][]string
	comp := make([]int32, len(ix.ids)) // component number + 1 of each node in a cyclic component
	for n, scc := range ix.sccs() {
		if len(scc) == 1 && !slices.Contains(ix.deps[scc[0]], scc[0]) {
			continue
		}
		for _, v := range scc {
			comp[v] = int32(n) + 1
		}
		out = append(out, ix.names(ix.cycleFrom(slices.Min(scc), comp)))
	}
	slices.SortFunc(out, func(a, b []string) int { return strings.Compare(a[0], b[0]) })
	return out
}

// sccs returns the strongly connected components of the graph, in reverse
// topological order of the component graph. It is an iterative version of
// Tarjan's algorithm, so deep chains cannot exhaust the stack.
func (ix *indexed) sccs() [][]int32 {
	n := len(ix.ids)
	var (
		order   = make([]int32, n) // 1-based visit order; 0 = unvisited
		low     = make([]int32, n)
		onStack = make([]bool, n)
		stack   []int32
		counter int32
		out     [][]int32
	)
	type frame struct {
		v    int32
		next int // index into deps[v] of the next edge to follow
	}
	var calls []frame
	visit := func(v int32) {
		counter++
		order[v], low[v] = counter, counter
		stack = append(stack, v)
		onStack[v] = true
		calls = append(calls, frame{v: v})
	}
	for s := range int32(n) {
		if order[s] != 0 {
			continue
		}
		visit(s)
		for len(calls) > 0 {
			f := &calls[len(calls)-1]
			v := f.v
			if f.next < len(ix.deps[v]) {
				w := ix.deps[v][f.next]
				f.next++ // before visit, which may reallocate calls
				switch {
				case order[w] == 0:
					visit(w)
				case onStack[w]:
					low[v] = min(low[v], order[w])
				}
				continue
			}
			calls = calls[:len(calls)-1]
			if len(calls) > 0 {
				p := calls[len(calls)-1].v
				low[p] = min(low[p], low[v])
			}
			if low[v] == order[v] {
				i := len(stack) - 1
				for stack[i] != v {
					i--
				}
				scc := slices.Clone(stack[i:])
				for _, w := range scc {
					onStack[w] = false
				}
				stack = stack[:i]
				out = append(out, scc)
			}
		}
	}
	return out
}

// cycleFrom returns a closed path from start back to start that stays inside
// start's component (the nodes v with comp[v] == comp[start]). It searches
// depth first, smallest next node first; since the component is strongly
// connected, such a path exists.
func (ix *indexed) cycleFrom(start int32, comp []int32) []int32 {
	c := comp[start]
	visited := map[int32]bool{start: true}
	path := []int32{start}
	next := []int{0} // next[i] indexes deps[path[i]]
	for len(path) > 0 {
		top := len(path) - 1
		v := path[top]
		if next[top] == len(ix.deps[v]) {
			path, next = path[:top], next[:top]
			continue
		}
		w := ix.deps[v][next[top]]
		next[top]++
		switch {
		case w == start:
			return append(path, start)
		case comp[w] == c && !visited[w]:
			visited[w] = true
			path = append(path, w)
			next = append(next, 0)
		}
	}
	panic("graph: no cycle back to the start of a strongly connected component")
}
