package testgen

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
)

// This file generates configs with a known dependency shape, for scheduling benchmarks: a
// layered DAG (known critical path and width) and a single chain. Components are of cheap kinds
// (SQS and S3 with default specs) and names are short, so physical names stay far below every
// kind's name limit.

// dagHeader is the Stack and the one Service every DAG config uses. The stack is called "d" and
// the service "s", so physical names read "d-<env>-s-<component>".
const dagHeader = `apiVersion: panka.io/v1
kind: Stack
metadata: {name: d}
spec:
  provider: {name: aws, region: eu-west-1}
---
apiVersion: panka.io/v1
kind: Service
metadata: {name: s}
spec: {}
`

// LayeredName is the component name of resource i of layer l in a Layered config.
func LayeredName(l, i int) string { return fmt.Sprintf("l%02di%03d", l, i) }

// Layered returns a config of layers × width components in one service. Every component of
// layer l > 0 dependsOn between 1 and 3 distinct components of layer l-1, chosen with a PRNG
// seeded by seed (the same arguments give the same config). Every component of a layer > 0 has
// a dependency in the previous layer, so the critical path is exactly layers components long;
// the graph is width wide. Kinds alternate between SQS and S3.
func Layered(layers, width int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	var b strings.Builder
	b.Grow(layers * width * 120)
	b.WriteString(dagHeader)
	for l := range layers {
		for i := range width {
			var deps []string
			if l > 0 {
				n := 1 + rng.IntN(min(3, width))
				picked := rng.Perm(width)[:n]
				slices.Sort(picked)
				for _, j := range picked {
					deps = append(deps, LayeredName(l-1, j))
				}
			}
			writeCheap(&b, LayeredName(l, i), (l*width+i)%2 == 0, deps)
		}
	}
	return []byte(b.String())
}

// ChainName is the component name of link i of a Chain config.
func ChainName(i int) string { return fmt.Sprintf("c%05d", i) }

// Chain returns a config of n components in one service, each depending on the previous one: a
// critical path n long and no parallelism at all. Kinds alternate between SQS and S3.
func Chain(n int) []byte {
	var b strings.Builder
	b.Grow(n * 120)
	b.WriteString(dagHeader)
	for i := range n {
		var deps []string
		if i > 0 {
			deps = []string{ChainName(i - 1)}
		}
		writeCheap(&b, ChainName(i), i%2 == 0, deps)
	}
	return []byte(b.String())
}

// writeCheap writes one SQS (sqs) or S3 component of service "s" with default settings and deps.
func writeCheap(b *strings.Builder, name string, sqs bool, deps []string) {
	kind, spec := "S3", "  versioning: true\n"
	if sqs {
		kind, spec = "SQS", "  visibilityTimeout: 60\n"
	}
	fmt.Fprintf(b, "---\napiVersion: panka.io/v1\nkind: %s\nmetadata: {name: %s, service: s}\nspec:\n%s", kind, name, spec)
	if len(deps) > 0 {
		fmt.Fprintf(b, "  dependsOn: [%s]\n", strings.Join(deps, ", "))
	}
}

// FanIn returns a config of layers × width components in one service, named as Layered names
// them, where every component of layer l > 0 dependsOn exactly deps distinct components of layer
// l-1 (component i on components i, i+width/deps, i+2·width/deps… modulo width), so the graph
// has exactly (layers-1) × width × deps edges, a critical path layers long, and no randomness.
// With layers = 1 the components are independent. deps must be between 1 and width. Kinds
// alternate between SQS and S3.
func FanIn(layers, width, deps int) []byte {
	if deps < 1 || deps > width {
		panic(fmt.Sprintf("testgen.FanIn: deps %d: want 1..%d", deps, width))
	}
	var b strings.Builder
	b.Grow(layers * width * (100 + 12*deps))
	b.WriteString(dagHeader)
	stride := width / deps
	for l := range layers {
		for i := range width {
			var on []string
			if l > 0 {
				picked := make([]int, deps)
				for k := range deps {
					picked[k] = (i + k*stride) % width
				}
				slices.Sort(picked)
				for _, j := range picked {
					on = append(on, LayeredName(l-1, j))
				}
			}
			writeCheap(&b, LayeredName(l, i), (l*width+i)%2 == 0, on)
		}
	}
	return []byte(b.String())
}
