package graph

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// edge is "from depends on to".
type edge struct{ from, to string }

// build returns a graph with the given isolated nodes and edges.
func build(nodes []string, edges ...edge) *Graph {
	g := New()
	for _, n := range nodes {
		g.AddNode(n)
	}
	for _, e := range edges {
		g.AddEdge(e.from, e.to)
	}
	return g
}

func TestBasics(t *testing.T) {
	g := New()
	g.AddEdge("b", "a")
	g.AddEdge("b", "a") // idempotent
	g.AddEdge("c", "a")
	g.AddEdge("c", "b")
	g.AddNode("a") // idempotent, keeps edges
	g.AddNode("z")

	if got, want := g.Len(), 4; got != want {
		t.Errorf("Len() = %d, want %d", got, want)
	}
	if diff := cmp.Diff([]string{"a", "b", "c", "z"}, g.Nodes()); diff != "" {
		t.Errorf("Nodes() mismatch (-want +got):\n%s", diff)
	}
	for id, want := range map[string]bool{"a": true, "z": true, "y": false, "": false} {
		if got := g.Has(id); got != want {
			t.Errorf("Has(%q) = %v, want %v", id, got, want)
		}
	}
	tests := []struct {
		id                     string
		wantDeps, wantDependts []string
	}{
		{id: "a", wantDependts: []string{"b", "c"}},
		{id: "b", wantDeps: []string{"a"}, wantDependts: []string{"c"}},
		{id: "c", wantDeps: []string{"a", "b"}},
		{id: "z"},
		{id: "missing"},
	}
	for _, tc := range tests {
		t.Run(tc.id, func(t *testing.T) {
			if diff := cmp.Diff(tc.wantDeps, g.DependenciesOf(tc.id)); diff != "" {
				t.Errorf("DependenciesOf(%q) mismatch (-want +got):\n%s", tc.id, diff)
			}
			if diff := cmp.Diff(tc.wantDependts, g.DependentsOf(tc.id)); diff != "" {
				t.Errorf("DependentsOf(%q) mismatch (-want +got):\n%s", tc.id, diff)
			}
		})
	}
}

func TestTopoSort(t *testing.T) {
	tests := []struct {
		name  string
		nodes []string
		edges []edge
		want  []string
	}{
		{name: "empty"},
		{name: "single", nodes: []string{"a"}, want: []string{"a"}},
		{name: "independent nodes sorted", nodes: []string{"c", "a", "b"}, want: []string{"a", "b", "c"}},
		{
			name:  "chain against alphabetical order",
			edges: []edge{{"a", "b"}, {"b", "c"}},
			want:  []string{"c", "b", "a"},
		},
		{
			name:  "diamond",
			edges: []edge{{"top", "l"}, {"top", "r"}, {"l", "base"}, {"r", "base"}},
			want:  []string{"base", "l", "r", "top"},
		},
		{
			// After "b" is placed, "a" becomes ready and is smaller than
			// the already-ready "c": the smallest ready ID goes first, not
			// the oldest.
			name:  "smallest ready first",
			edges: []edge{{"a", "b"}},
			nodes: []string{"c"},
			want:  []string{"b", "a", "c"},
		},
		{
			name:  "component addresses",
			edges: []edge{{"api/svc", "db/rds"}, {"api/svc", "api/queue"}, {"web/cdn", "api/svc"}},
			want:  []string{"api/queue", "db/rds", "api/svc", "web/cdn"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := build(tc.nodes, tc.edges...).TopoSort()
			if err != nil {
				t.Fatalf("TopoSort() error = %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("TopoSort() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTopoSortDeterministic builds the same random DAG with its edges added
// in different orders and checks that the order is valid and identical.
func TestTopoSortDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var edges []edge
	for i := range 200 {
		for range 3 {
			if j := rng.IntN(200); j < i { // only to lower numbers: acyclic
				edges = append(edges, edge{fmt.Sprintf("n%03d", i), fmt.Sprintf("n%03d", j)})
			}
		}
	}
	var first []string
	for attempt := range 5 {
		rng.Shuffle(len(edges), func(i, j int) { edges[i], edges[j] = edges[j], edges[i] })
		g := build(nil, edges...)
		got, err := g.TopoSort()
		if err != nil {
			t.Fatalf("TopoSort() error = %v", err)
		}
		pos := map[string]int{}
		for i, id := range got {
			pos[id] = i
		}
		if len(pos) != g.Len() || len(got) != g.Len() {
			t.Fatalf("TopoSort() returned %d nodes (%d distinct), want %d", len(got), len(pos), g.Len())
		}
		for _, e := range edges {
			if pos[e.to] > pos[e.from] {
				t.Fatalf("%s placed after its dependent %s", e.to, e.from)
			}
		}
		if attempt == 0 {
			first = got
		} else if diff := cmp.Diff(first, got); diff != "" {
			t.Fatalf("order depends on insertion order (-first +attempt %d):\n%s", attempt, diff)
		}
	}
}

func TestLevels(t *testing.T) {
	tests := []struct {
		name  string
		nodes []string
		edges []edge
		want  [][]string
	}{
		{name: "empty"},
		{name: "independent", nodes: []string{"b", "a"}, want: [][]string{{"a", "b"}}},
		{
			name:  "chain",
			edges: []edge{{"c", "b"}, {"b", "a"}},
			want:  [][]string{{"a"}, {"b"}, {"c"}},
		},
		{
			// "d" depends on a level-0 and a level-1 node: it is level 2.
			name:  "max of dependencies",
			edges: []edge{{"b", "a"}, {"d", "a"}, {"d", "b"}, {"c", "a"}},
			nodes: []string{"e"},
			want:  [][]string{{"a", "e"}, {"b", "c"}, {"d"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := build(tc.nodes, tc.edges...).Levels()
			if err != nil {
				t.Fatalf("Levels() error = %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Levels() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCycles(t *testing.T) {
	tests := []struct {
		name  string
		nodes []string
		edges []edge
		want  [][]string
	}{
		{name: "empty"},
		{name: "acyclic", edges: []edge{{"a", "b"}, {"b", "c"}, {"a", "c"}}},
		{name: "self-loop", nodes: []string{"b"}, edges: []edge{{"a", "a"}}, want: [][]string{{"a", "a"}}},
		{
			name:  "triangle starts at smallest id",
			edges: []edge{{"b", "c"}, {"c", "a"}, {"a", "b"}},
			want:  [][]string{{"a", "b", "c", "a"}},
		},
		{
			name:  "two disjoint cycles sorted by first element",
			edges: []edge{{"y", "x"}, {"x", "y"}, {"b", "a"}, {"a", "c"}, {"c", "b"}},
			want:  [][]string{{"a", "c", "b", "a"}, {"x", "y", "x"}},
		},
		{
			name: "cycle reached from acyclic part",
			edges: []edge{
				{"app", "svc/a"}, {"svc/a", "svc/b"}, {"svc/b", "svc/a"},
				{"svc/b", "base"}, {"app", "base"},
			},
			want: [][]string{{"svc/a", "svc/b", "svc/a"}},
		},
		{
			// From "a", "b" is tried before "c", even though a → c → a
			// is shorter.
			name:  "smallest next id first, not shortest",
			edges: []edge{{"a", "b"}, {"a", "c"}, {"b", "d"}, {"c", "a"}, {"b", "c"}, {"d", "b"}},
			want:  [][]string{{"a", "b", "c", "a"}},
		},
		{
			// b → c leads only back to b (already on the path): the
			// search backtracks and closes the cycle through d.
			name:  "backtracks out of a dead end",
			edges: []edge{{"a", "b"}, {"b", "c"}, {"c", "b"}, {"b", "d"}, {"d", "a"}},
			want:  [][]string{{"a", "b", "d", "a"}},
		},
		{
			name:  "self-loop inside a larger component",
			edges: []edge{{"a", "b"}, {"b", "a"}, {"b", "b"}},
			want:  [][]string{{"a", "b", "a"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := build(tc.nodes, tc.edges...)
			if diff := cmp.Diff(tc.want, g.Cycles()); diff != "" {
				t.Errorf("Cycles() mismatch (-want +got):\n%s", diff)
			}

			// TopoSort and Levels report exactly these cycles.
			_, topoErr := g.TopoSort()
			_, levelsErr := g.Levels()
			for name, err := range map[string]error{"TopoSort": topoErr, "Levels": levelsErr} {
				var ce *CycleError
				if tc.want == nil {
					if err != nil {
						t.Errorf("%s() error = %v, want nil", name, err)
					}
					continue
				}
				if !errors.As(err, &ce) {
					t.Fatalf("%s() error = %v, want *CycleError", name, err)
				}
				if diff := cmp.Diff(tc.want, ce.Cycles); diff != "" {
					t.Errorf("%s() CycleError.Cycles mismatch (-want +got):\n%s", name, diff)
				}
			}
		})
	}
}

func TestCycleErrorMessage(t *testing.T) {
	tests := []struct {
		name   string
		cycles [][]string
		want   string
	}{
		{name: "one", cycles: [][]string{{"a", "b", "c", "a"}}, want: "dependency cycle: a → b → c → a"},
		{name: "several", cycles: [][]string{{"a", "b", "a"}, {"x", "x"}}, want: "dependency cycle: a → b → a; x → x"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := (&CycleError{Cycles: tc.cycles}).Error(); got != tc.want {
				t.Errorf("Error() = %q, want %q", got, tc.want)
			}
		})
	}

	// End to end, from a graph.
	_, err := build(nil, edge{"c", "a"}, edge{"a", "b"}, edge{"b", "c"}).TopoSort()
	if got, want := fmt.Sprint(err), "dependency cycle: a → b → c → a"; got != want {
		t.Errorf("TopoSort() error = %q, want %q", got, want)
	}
}

func TestTransitiveDependents(t *testing.T) {
	// base ← mid ← top ← app, base ← other, lone; x ⇄ y ← z
	g := build([]string{"lone"},
		edge{"mid", "base"}, edge{"top", "mid"}, edge{"app", "top"}, edge{"other", "base"},
		edge{"x", "y"}, edge{"y", "x"}, edge{"z", "y"},
	)
	tests := []struct {
		name string
		ids  []string
		want []string
	}{
		{name: "none"},
		{name: "unknown id ignored", ids: []string{"nope"}},
		{name: "leaf dependent", ids: []string{"app"}},
		{name: "isolated", ids: []string{"lone"}},
		{name: "middle", ids: []string{"mid"}, want: []string{"app", "top"}},
		{name: "root", ids: []string{"base"}, want: []string{"app", "mid", "other", "top"}},
		{name: "disjoint inputs", ids: []string{"top", "other", "nope"}, want: []string{"app"}},
		{name: "input reachable from another input", ids: []string{"top", "mid"}, want: []string{"app", "top"}},
		{name: "input on a cycle reaches itself", ids: []string{"x"}, want: []string{"x", "y", "z"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, g.TransitiveDependents(tc.ids...)); diff != "" {
				t.Errorf("TransitiveDependents(%q) mismatch (-want +got):\n%s", tc.ids, diff)
			}
		})
	}
}

func TestReverse(t *testing.T) {
	g := build([]string{"lone"}, edge{"app", "db"}, edge{"app", "queue"}, edge{"queue", "db"})
	r := g.Reverse()

	if diff := cmp.Diff(g.Nodes(), r.Nodes()); diff != "" {
		t.Errorf("Reverse().Nodes() mismatch (-want +got):\n%s", diff)
	}
	for _, id := range g.Nodes() {
		if diff := cmp.Diff(g.DependentsOf(id), r.DependenciesOf(id)); diff != "" {
			t.Errorf("Reverse().DependenciesOf(%q) mismatch (-want +got):\n%s", id, diff)
		}
		if diff := cmp.Diff(g.DependenciesOf(id), r.DependentsOf(id)); diff != "" {
			t.Errorf("Reverse().DependentsOf(%q) mismatch (-want +got):\n%s", id, diff)
		}
	}
	order, err := r.TopoSort()
	if err != nil {
		t.Fatalf("Reverse().TopoSort() error = %v", err)
	}
	if diff := cmp.Diff([]string{"app", "lone", "queue", "db"}, order); diff != "" {
		t.Errorf("destroy order mismatch (-want +got):\n%s", diff)
	}

	// The copy is independent of the original.
	r.AddEdge("db", "new")
	if g.Has("new") || len(g.DependenciesOf("db")) != 0 {
		t.Errorf("changing the reversed graph changed the original")
	}
}

// layeredGraph returns a DAG of layers×width nodes where each node depends on
// fanIn nodes of the previous layer.
func layeredGraph(layers, width, fanIn int) *Graph {
	g := New()
	id := func(l, i int) string { return fmt.Sprintf("l%03d/n%04d", l, i) }
	for l := range layers {
		for i := range width {
			g.AddNode(id(l, i))
			if l == 0 {
				continue
			}
			for k := range fanIn {
				g.AddEdge(id(l, i), id(l-1, (i*7+k*13)%width))
			}
		}
	}
	return g
}

func BenchmarkTopoSort10k(b *testing.B) {
	// 100 chains of 100 nodes; every tenth link also depends on the
	// previous node of the neighbouring chain (fan-in of two).
	g := New()
	id := func(c, j int) string { return fmt.Sprintf("chain%03d/n%03d", c, j) }
	for c := range 100 {
		g.AddNode(id(c, 0))
		for j := 1; j < 100; j++ {
			g.AddEdge(id(c, j), id(c, j-1))
			if j%10 == 0 {
				g.AddEdge(id(c, j), id((c+1)%100, j-1))
			}
		}
	}
	if g.Len() != 10_000 {
		b.Fatalf("Len() = %d, want 10000", g.Len())
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := g.TopoSort(); err != nil {
			b.Fatal(err)
		}
	}
}
