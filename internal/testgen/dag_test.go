package testgen

import (
	"strings"
	"testing"
)

func TestFanIn(t *testing.T) {
	for _, tc := range []struct{ layers, width, deps, edges int }{
		{1, 50, 1, 0},
		{10, 10, 2, 9 * 10 * 2},
		{3, 4, 4, 2 * 4 * 4},
	} {
		text := string(FanIn(tc.layers, tc.width, tc.deps))
		if got, want := strings.Count(text, "\nkind: "), 2+tc.layers*tc.width; got != want { // + stack and service
			t.Errorf("FanIn(%d, %d, %d): %d documents, want %d", tc.layers, tc.width, tc.deps, got, want)
		}
		edges := 0
		for _, line := range strings.Split(text, "\n") {
			if list, ok := strings.CutPrefix(line, "  dependsOn: ["); ok {
				names := strings.Split(strings.TrimSuffix(list, "]"), ", ")
				seen := map[string]bool{}
				for _, n := range names {
					if seen[n] {
						t.Errorf("FanIn(%d, %d, %d): %s twice in %s", tc.layers, tc.width, tc.deps, n, line)
					}
					seen[n] = true
				}
				edges += len(names)
			}
		}
		if edges != tc.edges {
			t.Errorf("FanIn(%d, %d, %d): %d edges, want %d", tc.layers, tc.width, tc.deps, edges, tc.edges)
		}
	}
}
