package panka_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/panka/panka"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestPlanTextGolden renders a plan with every action, a forced replacement, a secret, an unknown
// output and drift, and compares it with testdata/plan.golden (refresh with -update and review).
func TestPlanTextGolden(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	before := queues + `---
apiVersion: panka.io/v1
kind: S3
metadata: {name: old, service: api}
spec: {}
---
apiVersion: panka.io/v1
kind: MicroService
metadata: {name: web, service: api}
spec:
  image: "web:${TAG}"
  secrets: {DB_PASSWORD: "ssm:/shop/db"}
`
	_, err := panka.Apply(ctx, config(t, before), h.opts())
	require.NoError(t, err)
	// Drift: someone changed the DLQ's retention by hand.
	require.NoError(t, h.sim.Mutate(h.readState().Lookup("api/dlq").ID, func(s map[string]any) { s["messageRetention"] = int64(60) }))

	after := strings.NewReplacer(
		"visibilityTimeout: 60", "visibilityTimeout: 120\n  fifo: true", // update + forced replacement
		"metadata: {name: dlq, service: api}\nspec: {}", "metadata: {name: dlq, service: api}\nspec: {fifo: true}",
		`"ssm:/shop/db"`, `"ssm:/shop/db-v2"`,
	).Replace(before)
	after = after[:strings.Index(after, "---\napiVersion: panka.io/v1\nkind: S3")] + after[strings.Index(after, "---\napiVersion: panka.io/v1\nkind: MicroService"):]
	after += "---\napiVersion: panka.io/v1\nkind: SNS\nmetadata: {name: events, service: api}\nspec: {displayName: Shop events}\n"
	p, err := panka.Plan(ctx, config(t, after), h.opts())
	require.NoError(t, err)
	var got bytes.Buffer
	require.NoError(t, panka.WritePlanText(&got, p))

	const path = "testdata/plan.golden"
	if *update {
		require.NoError(t, os.WriteFile(path, got.Bytes(), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, string(want), got.String())
}

func TestPlanTextNoChanges(t *testing.T) {
	h := newHarness(t)
	cfg := config(t, queues)
	_, err := panka.Apply(context.Background(), cfg, h.opts())
	require.NoError(t, err)
	p, err := panka.Plan(context.Background(), cfg, h.opts())
	require.NoError(t, err)
	var got bytes.Buffer
	require.NoError(t, panka.WritePlanText(&got, p))
	require.Equal(t, "No changes. Your infrastructure matches the configuration.\n", got.String())
}
