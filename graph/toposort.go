package graph

// TopoSort returns every node with each node after all of its dependencies.
// Among the nodes whose dependencies are all placed, the smallest ID comes
// first, so the order depends only on the graph, not on insertion order. It
// runs in O((V + E) log V). If the graph has a cycle, it returns a
// *CycleError naming every cycle and no order.
func (g *Graph) TopoSort() ([]string, error) {
	ix := g.index()
	order, err := ix.topoSort()
	if err != nil {
		return nil, err
	}
	return ix.names(order), nil
}

// Levels groups the nodes by depth: level 0 holds the nodes with no
// dependencies, and a node's level is one more than the highest level among
// its dependencies. Every level is sorted. Nodes in the same level never
// depend on each other. If the graph has a cycle, it returns a *CycleError.
func (g *Graph) Levels() ([][]string, error) {
	ix := g.index()
	order, err := ix.topoSort()
	if err != nil {
		return nil, err
	}
	level := make([]int, len(ix.ids))
	depth := 0
	for _, v := range order {
		for _, d := range ix.deps[v] {
			level[v] = max(level[v], level[d]+1)
		}
		depth = max(depth, level[v]+1)
	}
	if depth == 0 {
		return nil, nil
	}
	levels := make([][]string, depth)
	// Visiting nodes in index order, which is ID order, fills each level
	// already sorted.
	for v, l := range level {
		levels[l] = append(levels[l], ix.ids[v])
	}
	return levels, nil
}

// topoSort is Kahn's algorithm with a min-heap of ready nodes.
func (ix *indexed) topoSort() ([]int32, error) {
	n := len(ix.ids)
	pending := make([]int32, n)
	var ready minHeap
	for v := range n {
		pending[v] = int32(len(ix.deps[v]))
		if pending[v] == 0 {
			ready.push(int32(v))
		}
	}
	order := make([]int32, 0, n)
	for ready.len() > 0 {
		v := ready.pop()
		order = append(order, v)
		for _, w := range ix.dependents[v] {
			pending[w]--
			if pending[w] == 0 {
				ready.push(w)
			}
		}
	}
	if len(order) < n {
		return nil, &CycleError{Cycles: ix.cycles()}
	}
	return order, nil
}

// minHeap is a binary min-heap of node indices. Indices are ordered like the
// IDs they stand for, so pop returns the smallest ready ID.
type minHeap []int32

func (h minHeap) len() int { return len(h) }

func (h *minHeap) push(v int32) {
	*h = append(*h, v)
	s := *h
	i := len(s) - 1
	for i > 0 {
		p := (i - 1) / 2
		if s[p] <= s[i] {
			break
		}
		s[p], s[i] = s[i], s[p]
		i = p
	}
}

func (h *minHeap) pop() int32 {
	s := *h
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	s = s[:last]
	i := 0
	for {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(s) && s[l] < s[m] {
			m = l
		}
		if r < len(s) && s[r] < s[m] {
			m = r
		}
		if m == i {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
	return top
}
