package sim

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/panka/panka/internal/atomicfile"
	"github.com/panka/panka/provider"
)

func queue(name string) provider.Resource {
	return provider.Resource{
		Address: "svc/" + name, Kind: "SQS", Name: name,
		Spec: map[string]any{"visibilityTimeout": int64(30)},
		Tags: map[string]string{"panka:address": "svc/" + name},
	}
}

func newFileSim(t testing.TB, path string) (*Provider, *fileStore) {
	t.Helper()
	p, err := New(Options{Path: path})
	require.NoError(t, err)
	return p, p.store.(*fileStore)
}

// waitQueue yields until cond, called with qmu held, holds. (The queue has no event to wait on.)
func (s *fileStore) waitQueue(cond func() bool) {
	for {
		s.qmu.Lock()
		ok := cond()
		s.qmu.Unlock()
		if ok {
			return
		}
		runtime.Gosched()
	}
}

// TestCompactionInterrupted: a process killed after a compaction renamed the new snapshot into
// place, but before it replaced the log, leaves a log of entries the snapshot already holds.
// Readers skip them, and writers append after them.
func TestCompactionInterrupted(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "cloud.json")
	p, s := newFileSim(t, path)
	for _, n := range []string{"a", "b", "c", "d"} {
		_, err := p.Create(ctx, queue(n))
		require.NoError(t, err)
	}
	// The first half of compact.
	s.mu.Lock()
	require.Positive(t, s.off, "the log holds entries")
	data, err := encodeSnapshot(s.c, s.seq)
	s.mu.Unlock()
	require.NoError(t, err)
	require.NoError(t, atomicfile.WriteFile(path, data, atomicfile.Options{}))

	want, err := p.Snapshot()
	require.NoError(t, err)
	p2, _ := newFileSim(t, path)
	got, err := p2.Snapshot()
	require.NoError(t, err)
	require.Empty(t, cmp.Diff(want, got), "a new reader skips the stale entries")

	_, err = p2.Create(ctx, queue("e"))
	require.NoError(t, err)
	for _, q := range []*Provider{p, p2} {
		n, err := q.Count("")
		require.NoError(t, err)
		require.Equal(t, 5, n)
	}
	p3, _ := newFileSim(t, path)
	n, err := p3.Count("")
	require.NoError(t, err)
	require.Equal(t, 5, n)
}

// TestFailedWriteIsUndone: an update whose entry cannot be made durable fails, and leaves the
// cloud, in memory and on disk, as it was.
func TestFailedWriteIsUndone(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "cloud.json")
	p, _ := newFileSim(t, path)
	q, err := p.Create(ctx, queue("q"))
	require.NoError(t, err)
	_, err = p.Create(ctx, queue("r"))
	require.NoError(t, err)
	before, err := p.Snapshot()
	require.NoError(t, err)
	logBefore, err := os.ReadFile(path + ".log")
	require.NoError(t, err)

	orig := syncLog
	syncLog = func(*os.File) error { return errors.New("disk on fire") }
	r := queue("q")
	r.Spec = map[string]any{"visibilityTimeout": int64(60)}
	_, err = p.Update(ctx, q.ID, r, []string{"visibilityTimeout"})
	require.ErrorContains(t, err, "disk on fire")
	_, err = p.Create(ctx, queue("s"))
	require.ErrorContains(t, err, "disk on fire")
	require.ErrorContains(t, p.Remove(q.ID), "disk on fire")
	syncLog = orig

	after, err := p.Snapshot()
	require.NoError(t, err)
	require.Empty(t, cmp.Diff(before, after), "the failed updates are undone in memory")
	logAfter, err := os.ReadFile(path + ".log")
	require.NoError(t, err)
	require.Equal(t, string(logBefore), string(logAfter), "and gone from the log")
	p2, _ := newFileSim(t, path)
	fresh, err := p2.Snapshot()
	require.NoError(t, err)
	require.Empty(t, cmp.Diff(before, fresh))
	_, err = p.Create(ctx, queue("s"))
	require.NoError(t, err, "the name of a failed create is free")
}

// TestGroupCommit: updates that queue while one waits for the lock are committed together,
// with one fsync, and each gets its own outcome.
func TestGroupCommit(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "cloud.json")
	p, s := newFileSim(t, path)
	_, err := p.Create(ctx, queue("taken"))
	require.NoError(t, err)

	var syncs atomic.Int32
	orig := syncLog
	syncLog = func(f *os.File) error { syncs.Add(1); return orig(f) }
	defer func() { syncLog = orig }()

	// Hold the lock, as another process would, until every update is queued.
	unlock, err := lockPath(ctx, s.lockPath, true)
	require.NoError(t, err)
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		name := fmt.Sprintf("q%d", i)
		if i == n-1 {
			name = "taken"
		}
		wg.Go(func() { _, errs[i] = p.Create(ctx, queue(name)) })
	}
	s.waitQueue(func() bool { return len(s.queue) == n })
	unlock()
	wg.Wait()

	require.EqualValues(t, 1, syncs.Load(), "one fsync for the batch")
	for i, err := range errs[:n-1] {
		require.NoError(t, err, "create %d", i)
	}
	require.ErrorIs(t, errs[n-1], provider.ErrAlreadyExists, "a failed update fails alone")
	count, err := p.Count("SQS")
	require.NoError(t, err)
	require.Equal(t, n, count)
}

// TestQueuedUpdateCancelled: an update whose context ends while it waits in the queue returns
// the context's error and never happens; the others go on.
func TestQueuedUpdateCancelled(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "cloud.json")
	p, s := newFileSim(t, path)
	unlock, err := lockPath(ctx, s.lockPath, true)
	require.NoError(t, err)

	leader := make(chan error)
	go func() { _, err := p.Create(ctx, queue("leader")); leader <- err }()
	s.waitQueue(func() bool { return s.leading })
	cctx, cancel := context.WithCancel(ctx)
	follower := make(chan error)
	go func() { _, err := p.Create(cctx, queue("follower")); follower <- err }()
	s.waitQueue(func() bool { return len(s.queue) == 2 })
	cancel()
	require.ErrorIs(t, <-follower, context.Canceled)
	unlock()
	require.NoError(t, <-leader)

	_, err = p.Find(ctx, queue("follower"))
	require.ErrorIs(t, err, provider.ErrNotFound)
	_, err = p.Find(ctx, queue("leader"))
	require.NoError(t, err)
}

// TestOverlappingReadsSeeCompletedWrites: reads of one store that share a shared lock (see
// fileStore.view) still see every write another store completed before they began, and a
// stream of overlapping reads does not keep the other store's writes out.
func TestOverlappingReadsSeeCompletedWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cloud.json")
	reader, _ := newFileSim(t, path)
	writer, _ := newFileSim(t, path)
	ctx := t.Context()
	r := provider.Resource{Address: "api/q", Kind: "SQS", Name: "q", Spec: map[string]any{"round": int64(0)}}
	obs, err := writer.Create(ctx, r)
	require.NoError(t, err)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 { // keep reads overlapping on the reader's store
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := reader.Read(ctx, "SQS", obs.ID); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	defer func() { close(stop); wg.Wait() }()
	for i := int64(1); i <= 100; i++ {
		r.Spec = map[string]any{"round": i}
		_, err := writer.Update(ctx, obs.ID, r, []string{"round"})
		require.NoError(t, err)
		got, err := reader.Read(ctx, "SQS", obs.ID)
		require.NoError(t, err)
		require.Equal(t, i, got.Spec["round"], "a read begun after the write returned sees it")
	}
}
