package panka_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/panka/panka"
	"github.com/panka/panka/backend"
	"github.com/panka/panka/provider"
)

// otherStack is a stack "other" with one queue, to copy states between stacks.
func otherStack(t *testing.T) *panka.Config {
	return config(t, "apiVersion: panka.io/v1\nkind: SQS\nmetadata: {name: q, service: api}\nspec: {}\n")
}

// TestCopiedStateIsRefused: a state document copied under another stack's key is refused on
// every read, naming both stacks, and nothing is planned or deleted; the stack's own state can be
// restored from its history.
func TestCopiedStateIsRefused(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	cfg := config(t, queues)
	_, err := panka.Apply(ctx, cfg, h.opts())
	require.NoError(t, err)
	shopKey := backend.Key{Tenant: "default", Stack: "shop", Environment: "default"}
	good, goodVersion, err := h.state.Read(ctx, shopKey)
	require.NoError(t, err)

	// Another stack's state lands on shop's key (a copy, a wrong restore).
	otherCfg, err := panka.ParseBytes(ctx, "other.yaml", []byte(strings.Replace(stackPrelude, "name: shop", "name: other", 1)+
		"apiVersion: panka.io/v1\nkind: SQS\nmetadata: {name: q, service: api}\nspec: {}\n"))
	require.NoError(t, err)
	_, err = panka.Apply(ctx, otherCfg, h.opts())
	require.NoError(t, err)
	theirs, _, err := h.state.Read(ctx, backend.Key{Tenant: "default", Stack: "other", Environment: "default"})
	require.NoError(t, err)
	_, err = h.state.Write(ctx, shopKey, theirs, goodVersion)
	require.NoError(t, err)

	before := h.count("SQS")
	_, err = panka.Plan(ctx, cfg, h.opts())
	require.ErrorIs(t, err, panka.ErrStateMismatch)
	require.ErrorContains(t, err, "read state default/shop/default: state belongs to another stack: the document stored there is the state of default/other/default")
	_, err = panka.Apply(ctx, cfg, h.opts())
	require.ErrorIs(t, err, panka.ErrStateMismatch)
	_, err = panka.Destroy(ctx, cfg, h.opts())
	require.ErrorIs(t, err, panka.ErrStateMismatch)
	_, err = panka.ReadState(ctx, h.state, shopKey)
	require.ErrorIs(t, err, panka.ErrStateMismatch)
	require.Equal(t, before, h.count("SQS"), "nothing was created or deleted")

	// Restore shop's own last revision.
	revs, err := h.state.History(ctx, shopKey)
	require.NoError(t, err)
	var restoreID string
	for _, r := range revs {
		data, err := h.state.ReadRevision(ctx, shopKey, r.ID)
		require.NoError(t, err)
		if string(data) == string(good) {
			restoreID = r.ID
		}
	}
	require.NotEmpty(t, restoreID)
	bad := revs[0].ID
	_, err = panka.RestoreState(ctx, shopKey, bad, h.opts())
	require.ErrorIs(t, err, panka.ErrStateMismatch, "restoring another stack's document is refused too")
	st, err := panka.RestoreState(ctx, shopKey, restoreID, h.opts())
	require.NoError(t, err)
	require.Greater(t, st.Serial, int64(0))
	p, err := panka.Plan(ctx, cfg, h.opts())
	require.NoError(t, err)
	require.False(t, p.HasChanges(), "the restored state matches the cloud")
}

// TestResourceOwnedElsewhereIsNeverTouched: a resource whose ownership tags name another stack
// is neither updated nor deleted; the run fails naming the resource and its owner.
func TestResourceOwnedElsewhereIsNeverTouched(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	res, err := panka.Apply(ctx, otherStack(t), h.opts())
	require.NoError(t, err)
	id := res.Resources[0].ID
	require.NoError(t, h.sim.MutateTags(id, func(tags map[string]string) { tags["panka:stack"] = "billing" }))

	_, err = panka.Destroy(ctx, otherStack(t), h.opts())
	require.ErrorIs(t, err, provider.ErrNotOwned)
	require.ErrorContains(t, err, "panka:stack=billing")
	require.Equal(t, 1, h.count("SQS"), "not deleted")

	// An apply would put the tag back: that is an update of someone else's resource, refused.
	_, err = panka.Apply(ctx, otherStack(t), h.opts())
	require.ErrorIs(t, err, provider.ErrNotOwned)
	require.Equal(t, "billing", liveTags(t, h, id)["panka:stack"])
}

// TestDeletionProtection: a plan that would delete or replace a resource whose deletion
// protection is on says so, and Apply refuses it without changing anything; turning protection
// off first makes it possible.
func TestDeletionProtection(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	table := func(protected bool, hashKey string) *panka.Config {
		p := "false"
		if protected {
			p = "true"
		}
		return config(t, "apiVersion: panka.io/v1\nkind: DynamoDB\nmetadata: {name: t, service: api}\nspec:\n  attributes: [{name: "+hashKey+", type: S}]\n  hashKey: "+hashKey+"\n  deletionProtection: "+p+"\n")
	}
	_, err := panka.Apply(ctx, table(true, "id"), h.opts())
	require.NoError(t, err)

	p, err := panka.PlanDestroy(ctx, table(true, "id"), h.opts())
	require.NoError(t, err)
	require.True(t, p.Changes[0].Protected)
	var text strings.Builder
	require.NoError(t, panka.WritePlanText(&text, p))
	require.Contains(t, text.String(), "deletion protection is on")
	_, err = panka.ApplyPlan(ctx, p, h.opts())
	require.ErrorIs(t, err, panka.ErrDeletionProtected)
	_, err = panka.Destroy(ctx, table(true, "id"), h.opts())
	require.ErrorIs(t, err, panka.ErrDeletionProtected)
	require.ErrorContains(t, err, "api/t")
	// A change that forces replacement is refused too, even with protection turned off in the
	// same change: the live table is still protected.
	_, err = panka.Apply(ctx, table(false, "pk"), h.opts())
	require.ErrorIs(t, err, panka.ErrDeletionProtected)
	require.Equal(t, 1, h.count("DynamoDB"))

	_, err = panka.Apply(ctx, table(false, "id"), h.opts()) // protection off first
	require.NoError(t, err)
	_, err = panka.Destroy(ctx, table(false, "id"), h.opts())
	require.NoError(t, err)
	require.Zero(t, h.count("DynamoDB"))
}
