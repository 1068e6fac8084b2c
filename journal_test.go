package panka_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/panka/panka"
	"github.com/panka/panka/backend"
	"github.com/panka/panka/provider"
	"github.com/panka/panka/state"
)

// countedWrites counts a backend's successful writes (revisions and journal entries) and lets a
// caller wait for a number of them.
type countedWrites struct {
	backend.StateBackend
	mu     sync.Mutex
	cond   *sync.Cond
	writes int
}

func newCountedWrites(b backend.StateBackend) *countedWrites {
	c := &countedWrites{StateBackend: b}
	c.cond = sync.NewCond(&c.mu)
	return c
}

func (c *countedWrites) count(err error) error {
	if err == nil {
		c.mu.Lock()
		c.writes++
		c.cond.Broadcast()
		c.mu.Unlock()
	}
	return err
}

func (c *countedWrites) waitFor(n int) {
	c.mu.Lock()
	for c.writes < n {
		c.cond.Wait()
	}
	c.mu.Unlock()
}

func (c *countedWrites) Write(ctx context.Context, key backend.Key, data []byte, ifMatch backend.Version) (backend.Version, error) {
	v, err := c.StateBackend.Write(ctx, key, data, ifMatch)
	return v, c.count(err)
}

// journaledCount is countedWrites over a backend with journals, counting appends too.
type journaledCount struct {
	*countedWrites
	j backend.Journaler
}

func (c journaledCount) AppendEntry(ctx context.Context, key backend.Key, base backend.Version, n int, entry []byte) error {
	return c.count(c.j.AppendEntry(ctx, key, base, n, entry))
}

func (c journaledCount) Entries(ctx context.Context, key backend.Key, base backend.Version) ([][]byte, error) {
	return c.j.Entries(ctx, key, base)
}

// oneWritePerCreate makes the k-th Create wait for the k-th state write (the pending records
// are the first), so that a chain's apply writes the state once per resource.
type oneWritePerCreate struct {
	provider.Provider
	writes  *countedWrites
	creates atomic.Int32
}

func (p *oneWritePerCreate) Create(ctx context.Context, r provider.Resource) (*provider.Observed, error) {
	p.writes.waitFor(int(p.creates.Add(1)))
	return p.Provider.Create(ctx, r)
}

// TestStateBytesGrowWithTheChanges: with a journal, the bytes one apply writes are bounded by a
// few times the final state plus the changed records, where whole documents at every write grow
// with (writes × state size). A chain applied one write per resource shows the difference.
func TestStateBytesGrowWithTheChanges(t *testing.T) {
	ctx := context.Background()
	const n = 150
	run := func(journal bool) (*panka.Result, int64) {
		h := newHarness(t)
		counted := newCountedWrites(h.state)
		var b backend.StateBackend = counted
		if journal {
			b = journaledCount{counted, h.state}
		}
		opts := h.opts()
		opts.Backend = b
		opts.Provider = &oneWritePerCreate{Provider: h.sim, writes: counted}
		res, err := panka.Apply(ctx, config(t, chain(n)), opts)
		require.NoError(t, err)
		st, err := panka.ReadState(ctx, b, backend.Key{Tenant: "default", Stack: "shop", Environment: "default"})
		require.NoError(t, err)
		require.Len(t, st.Resources, n)
		data, err := st.Encode()
		require.NoError(t, err)
		return res, int64(len(data))
	}
	journaled, final := run(true)
	whole, _ := run(false)
	t.Logf("journal: %d writes, %d revisions, %d bytes; whole documents: %d writes, %d bytes; final state %d bytes",
		journaled.StateWrites, journaled.StateRevisions, journaled.StateBytes, whole.StateWrites, whole.StateBytes, final)
	require.GreaterOrEqual(t, journaled.StateWrites, n+1, "one write per resource, after the pending records")
	require.GreaterOrEqual(t, whole.StateWrites, n+1, "one write per resource, after the pending records")
	// Pending records first, the final revision, and the created records once each in the
	// journal (each about as big as in the final state), plus compactions bounded by them.
	require.LessOrEqual(t, journaled.StateBytes, 4*final, "bytes written ≤ 3 × final state + the changed records")
	require.LessOrEqual(t, journaled.StateRevisions, 8, "whole revisions: the first, the last and a few compactions")
	require.Greater(t, whole.StateBytes, 40*final, "without a journal, bytes grow with writes × state size")
}

// failingWrites lets the first whole-document write through and fails every later one, as if
// the process died after journaling its progress but before its final revision.
type failingWrites struct {
	backend.StateBackend
	backend.Journaler
	writes atomic.Int32
}

func (b *failingWrites) Write(ctx context.Context, key backend.Key, data []byte, ifMatch backend.Version) (backend.Version, error) {
	if b.writes.Add(1) > 1 {
		return "", errors.New("disk gone")
	}
	return b.StateBackend.Write(ctx, key, data, ifMatch)
}

// firstWritesPerCreate is oneWritePerCreate for the first n creates only.
type firstWritesPerCreate struct {
	oneWritePerCreate
	n int32
}

func (p *firstWritesPerCreate) Create(ctx context.Context, r provider.Resource) (*provider.Observed, error) {
	if k := p.creates.Add(1); k <= p.n {
		p.writes.waitFor(int(k))
	}
	return p.Provider.Create(ctx, r)
}

// TestRunRecoveredFromJournal: a run that journaled its creates but never wrote its final
// revision (its compactions failed, as if it died) is recovered by the next run from the
// revision plus the journal, and the pending records for the rest: none is created twice.
func TestRunRecoveredFromJournal(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	opts := h.opts()
	opts.StateWriteInterval = 1
	counted := newCountedWrites(h.state)
	opts.Backend = &failingWrites{StateBackend: counted, Journaler: journaledCount{counted, h.state}}
	// The first 5 creates each wait for the write before them (the pending records, then one
	// journal entry per create), so that the journal surely records 4 of them.
	opts.Provider = &firstWritesPerCreate{oneWritePerCreate{Provider: h.sim, writes: counted}, 5}
	_, err := panka.Apply(ctx, config(t, chain(20)), opts)
	require.ErrorContains(t, err, "disk gone", "the final revision was not written")
	require.Equal(t, 20, h.count("SQS"))

	// What the run left: its first revision (all pending) and a journal of its progress.
	key := backend.Key{Tenant: "default", Stack: "shop", Environment: "default"}
	data, base, err := h.state.Read(ctx, key)
	require.NoError(t, err)
	doc, err := state.Decode(data)
	require.NoError(t, err)
	for _, r := range doc.Resources {
		require.Equal(t, state.StatusPending, r.Status, "the revision has the pending records only")
	}
	entries, err := h.state.Entries(ctx, key, base)
	require.NoError(t, err)
	require.NotEmpty(t, entries)
	st := h.readState()
	created := 0
	for _, r := range st.Resources {
		if r.Status == state.StatusCreated {
			created++
		}
	}
	require.GreaterOrEqual(t, created, 4, "the journal records the creates made before the writes failed")
	require.Len(t, st.Resources, 20, "the others are pending, to be found by name")

	p, err := panka.Plan(ctx, config(t, chain(20)), h.opts())
	require.NoError(t, err)
	for _, c := range p.Changes {
		if st.Lookup(c.Address).Status == state.StatusCreated {
			require.Equal(t, panka.ActionNoop, c.Action, "%s: nothing to do: the journal is read", c.Address)
		} else {
			require.Equal(t, panka.ActionUpdate, c.Action, "%s: found by name, adopted and completed", c.Address)
		}
	}
	res, err := panka.Apply(ctx, config(t, chain(20)), h.opts())
	require.NoError(t, err)
	require.Equal(t, created, res.Counts.Unchanged)
	require.Equal(t, 20-created, res.Counts.Succeeded)
	require.Equal(t, 20, h.count("SQS"), "nothing created twice")
}

// TestLongRunOnALargeStateWritesFewDocuments: a run that changes a few records of a large state
// in many small writes journals them, rather than rewriting the whole state every few writes
// (which would make the bytes grow with writes × state size).
func TestLongRunOnALargeStateWritesFewDocuments(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	const idle, n = 1500, 150
	var docs strings.Builder
	for i := range idle {
		fmt.Fprintf(&docs, "apiVersion: panka.io/v1\nkind: SQS\nmetadata: {name: idle%d, service: api}\nspec: {}\n---\n", i)
	}
	_, err := panka.Apply(ctx, config(t, strings.TrimSuffix(docs.String(), "---\n")), h.opts())
	require.NoError(t, err)

	counted := newCountedWrites(h.state)
	opts := h.opts()
	opts.Backend = journaledCount{counted, h.state}
	opts.Provider = &oneWritePerCreate{Provider: h.sim, writes: counted}
	res, err := panka.Apply(ctx, config(t, docs.String()+chain(n)), opts)
	require.NoError(t, err)
	st, err := panka.ReadState(ctx, h.state, backend.Key{Tenant: "default", Stack: "shop", Environment: "default"})
	require.NoError(t, err)
	require.Len(t, st.Resources, idle+n)
	data, err := st.Encode()
	require.NoError(t, err)
	t.Logf("%d writes, %d revisions, %d bytes; final state %d bytes", res.StateWrites, res.StateRevisions, res.StateBytes, len(data))
	require.GreaterOrEqual(t, res.StateWrites, n+1, "one write per resource, after the pending records")
	require.LessOrEqual(t, res.StateRevisions, 2, "the first and the last revision: the small journal never outweighs the state")
	require.LessOrEqual(t, res.StateBytes, 3*int64(len(data)), "bytes written ≤ the two documents + the changed records")
}
