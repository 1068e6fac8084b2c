package panka_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/panka/panka"
	"github.com/panka/panka/provider"
	"github.com/panka/panka/provider/sim"
)

// limited is a provider whose SQS schema has the change limits, shrink rule and notes of extra.
type limited struct {
	provider.Provider
	extra provider.KindSchema
}

func (p limited) Schema(kind string) (provider.KindSchema, bool) {
	ks, ok := p.Provider.Schema(kind)
	if kind == "SQS" {
		ks.ShrinkForcesNew, ks.Limits, ks.Notes = p.extra.ShrinkForcesNew, p.extra.Limits, p.extra.Notes
	}
	return ks, ok
}

// TestChangeLimits: a field the provider can only grow (KindSchema.Limits, GrowOnly) plans an
// increase as an update and refuses a decrease at plan time with the reason, nothing applied; a
// field it cannot change at all refuses any change; a replacement asked for is not held to them.
// A ShrinkForcesNew field plans a decrease as a replacement and an increase in place; a note is
// shown beside its field's change, in text and JSON.
func TestChangeLimits(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	opts := h.opts()
	_, err := panka.Apply(ctx, config(t, queues), opts)
	require.NoError(t, err)
	with := func(timeout string) *panka.Config {
		return config(t, strings.Replace(queues, "visibilityTimeout: 60", "visibilityTimeout: "+timeout, 1))
	}

	opts.Provider = limited{h.sim, provider.KindSchema{Limits: []provider.ChangeLimit{{Path: "visibilityTimeout", GrowOnly: true, Reason: "it only grows"}}}}
	p, err := panka.Plan(ctx, with("90"), opts)
	require.NoError(t, err)
	require.Equal(t, panka.ActionUpdate, actions(p)["api/jobs"])
	_, err = panka.Plan(ctx, with("30"), opts)
	require.ErrorIs(t, err, panka.ErrChangeRefused)
	require.ErrorContains(t, err, "api/jobs: visibilityTimeout 60 → 30: it only grows")
	before := h.sim.Calls(sim.OpUpdate)
	_, err = panka.Apply(ctx, with("30"), opts)
	require.ErrorIs(t, err, panka.ErrChangeRefused)
	require.Equal(t, before, h.sim.Calls(sim.OpUpdate), "nothing is applied")
	replace := opts
	replace.Replace = []string{"api/jobs"}
	p, err = panka.Plan(ctx, with("30"), replace)
	require.NoError(t, err, "a requested replacement starts afresh")
	require.Equal(t, panka.ActionReplace, actions(p)["api/jobs"])

	opts.Provider = limited{h.sim, provider.KindSchema{Limits: []provider.ChangeLimit{{Path: "visibilityTimeout", Reason: "it is fixed"}}}}
	_, err = panka.Plan(ctx, with("90"), opts)
	require.ErrorIs(t, err, panka.ErrChangeRefused)
	require.ErrorContains(t, err, "visibilityTimeout 60 → 90: it is fixed")

	opts.Provider = limited{h.sim, provider.KindSchema{ShrinkForcesNew: []string{"visibilityTimeout"}, Notes: map[string]string{"visibilityTimeout": "messages in flight keep theirs"}}}
	p, err = panka.Plan(ctx, with("30"), opts)
	require.NoError(t, err)
	require.Equal(t, panka.ActionReplace, actions(p)["api/jobs"])
	p, err = panka.Plan(ctx, with("90"), opts)
	require.NoError(t, err)
	require.Equal(t, panka.ActionUpdate, actions(p)["api/jobs"])
	var text, js bytes.Buffer
	require.NoError(t, panka.WritePlanText(&text, p))
	require.Contains(t, text.String(), "~ visibilityTimeout: 60 → 90\n        # messages in flight keep theirs\n")
	require.NoError(t, panka.WritePlanJSON(&js, p))
	require.Contains(t, js.String(), `"note": "messages in flight keep theirs"`)
}
