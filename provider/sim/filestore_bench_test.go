package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/panka/panka/internal/atomicfile"
	"github.com/panka/panka/provider"
	"github.com/panka/panka/schema"
)

// BenchmarkFileStoreUpdate measures Provider.Update of one resource (round robin) in a cloud
// that already holds 100, 1,000 and 10,000 resources, with the file store ("new") and with the
// store it replaced, which rewrote the whole cloud file on every change ("old"). Both fsync
// every change. "new-nofsync" is the new store without the log's fsync: what is left once the
// disk's fsync latency, which dominates and on a shared disk is noisy, is taken out. The metric
// x-vs-100 is ns/op over ns/op of the same store at 100 resources (run that one first: -bench
// 'FileStoreUpdate$'); x-vs-new, on the old store, is its ns/op over the new store's at the
// same size.
//
// The new store's figure includes its compactions in the proportion they happen only when the
// benchmark runs enough updates to fill the log past twice the snapshot (about 20,000 at
// 10,000 resources); see BenchmarkFileStoreCompact for what one costs.
func BenchmarkFileStoreUpdate(b *testing.B) {
	nsPerOp := map[string]float64{}
	for _, impl := range []string{"new", "new-nofsync", "old"} {
		for _, n := range []int{100, 1_000, 10_000} {
			b.Run(fmt.Sprintf("store=%s/resources=%d", impl, n), func(b *testing.B) {
				path := filepath.Join(b.TempDir(), "cloud.json")
				rs, ids := seedCloudFile(b, path, n)
				p := openBenchStore(b, impl, path)
				if impl == "new-nofsync" {
					orig := syncLog
					syncLog = func(*os.File) error { return nil }
					defer func() { syncLog = orig }()
				}
				ctx := b.Context()
				i := 0
				b.ReportAllocs()
				for b.Loop() {
					r := rs[i%n]
					r.Spec = map[string]any{"image": "nginx:1.27", "port": int64(8080), "round": int64(i)}
					if _, err := p.Update(ctx, ids[i%n], r, []string{"round"}); err != nil {
						b.Fatal(err)
					}
					i++
				}
				ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
				nsPerOp[fmt.Sprint(impl, n)] = ns
				if base, ok := nsPerOp[fmt.Sprint(impl, 100)]; ok && n != 100 {
					b.ReportMetric(ns/base, "x-vs-100")
				}
				if other, ok := nsPerOp[fmt.Sprint("new", n)]; ok && impl == "old" {
					b.ReportMetric(ns/other, "x-vs-new")
				}
			})
		}
	}
}

// BenchmarkFileStoreUpdateParallel is BenchmarkFileStoreUpdate's new store at 1,000 resources,
// from 16 goroutines at once, as Apply's parallelism updates it: group commit shares the fsyncs.
func BenchmarkFileStoreUpdateParallel(b *testing.B) {
	const n = 1_000
	path := filepath.Join(b.TempDir(), "cloud.json")
	rs, ids := seedCloudFile(b, path, n)
	p := openBenchStore(b, "new", path)
	var next atomic.Int64
	var syncs atomic.Int64
	orig := syncLog
	syncLog = func(f *os.File) error { syncs.Add(1); return orig(f) }
	defer func() { syncLog = orig }()
	b.SetParallelism(max(1, 16/runtime.GOMAXPROCS(0)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			i := int(next.Add(1))
			r := rs[i%n]
			r.Spec = map[string]any{"round": int64(i)}
			if _, err := p.Update(ctx, ids[i%n], r, []string{"round"}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/float64(max(1, syncs.Load())), "updates/fsync")
}

// BenchmarkFileStoreCompact measures one compaction of a cloud of 10,000 resources: what the
// update that triggers it pays, once per log twice the snapshot's size.
func BenchmarkFileStoreCompact(b *testing.B) {
	path := filepath.Join(b.TempDir(), "cloud.json")
	seedCloudFile(b, path, 10_000)
	_, s := newFileSim(b, path)
	if _, err := s.load(); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		s.mu.Lock()
		err := s.compact()
		s.mu.Unlock()
		if err != nil {
			b.Fatal(err)
		}
	}
}

// seedCloudFile writes a cloud file holding n resources of every kind in turn, as the old store
// wrote it, and returns them and their IDs.
func seedCloudFile(b *testing.B, path string, n int) ([]provider.Resource, []string) {
	b.Helper()
	mem, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	kinds := schema.ComponentKinds()
	rs := make([]provider.Resource, n)
	ids := make([]string, n)
	for i := range rs {
		kind := kinds[i%len(kinds)]
		name := fmt.Sprintf("bench-%s-%d", strings.ToLower(kind), i)
		rs[i] = provider.Resource{
			Address: "svc/" + name, Kind: kind, Name: name,
			Spec: map[string]any{"image": "nginx:1.27", "port": int64(8080), "tags": []any{"a", "b"}},
			Tags: map[string]string{"panka:stack": "bench", "panka:address": "svc/" + name},
		}
		obs, err := mem.Create(b.Context(), rs[i])
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = obs.ID
	}
	data, err := legacyEncode(mem.store.(*memStore).c)
	if err == nil {
		err = os.WriteFile(path, data, 0o600)
	}
	if err != nil {
		b.Fatal(err)
	}
	return rs, ids
}

func openBenchStore(b *testing.B, impl, path string) *Provider {
	b.Helper()
	if impl != "old" {
		p, _ := newFileSim(b, path)
		return p
	}
	p, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	p.store = &legacyFileStore{path: path, lockPath: path + ".lock"}
	return p
}

// legacyFileStore is the file store before issue 9, kept as the benchmark's baseline: every
// update takes the exclusive lock, reads the whole file (decoding it only if another process
// changed it), applies the change, and writes the whole cloud back with atomicfile.
type legacyFileStore struct {
	path, lockPath string

	mu        sync.Mutex
	cacheData []byte
	cache     *cloud
}

func (s *legacyFileStore) view(ctx context.Context, fn func(*cloud) error) error {
	unlock, err := lockPath(ctx, s.lockPath, false)
	if err != nil {
		return err
	}
	defer unlock()
	c, err := s.load()
	if err != nil {
		return err
	}
	return fn(c)
}

func (s *legacyFileStore) update(ctx context.Context, fn func(*cloud) error) error {
	unlock, err := lockPath(ctx, s.lockPath, true)
	if err != nil {
		return err
	}
	defer unlock()
	c, err := s.load()
	if err != nil {
		return err
	}
	if err := fn(c); err != nil {
		if errors.Is(err, errNoChange) {
			return nil
		}
		return err
	}
	data, err := legacyEncode(c)
	if err == nil {
		err = atomicfile.WriteFile(s.path, data, atomicfile.Options{})
	}
	if err != nil {
		s.setCache(nil, nil)
		return fmt.Errorf("sim: write %s: %w", s.path, err)
	}
	s.setCache(data, c)
	return nil
}

func (s *legacyFileStore) load() (*cloud, error) {
	data, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && len(bytes.TrimSpace(data)) == 0) {
		return newCloud(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("sim: read %s: %w", s.path, err)
	}
	s.mu.Lock()
	if s.cache != nil && bytes.Equal(data, s.cacheData) {
		c := s.cache
		s.mu.Unlock()
		return c, nil
	}
	s.mu.Unlock()
	c, _, err := decodeSnapshot(data)
	if err != nil {
		return nil, fmt.Errorf("sim: cloud file %s is corrupt: %w", s.path, err)
	}
	s.setCache(data, c)
	return c, nil
}

func (s *legacyFileStore) setCache(data []byte, c *cloud) {
	s.mu.Lock()
	s.cacheData, s.cache = data, c
	s.mu.Unlock()
}

// legacyEncode is how the old store wrote the cloud: indented JSON, without seq.
func legacyEncode(c *cloud) ([]byte, error) {
	type doc struct {
		Version   int          `json:"version"`
		Resources []fileRecord `json:"resources"`
	}
	d := doc{Version: fileVersion, Resources: []fileRecord{}}
	for _, r := range c.records() {
		d.Resources = append(d.Resources, toFile(r))
	}
	data, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

// BenchmarkFileStoreReadParallel measures Provider.Read from 16 goroutines at once, as a plan's
// refresh reads, in a cloud of 1,000 resources: overlapping reads share one shared file lock
// (see fileStore.view).
func BenchmarkFileStoreReadParallel(b *testing.B) {
	const n = 1_000
	path := filepath.Join(b.TempDir(), "cloud.json")
	rs, ids := seedCloudFile(b, path, n)
	p := openBenchStore(b, "new", path)
	var next atomic.Int64
	b.SetParallelism(max(1, 16/runtime.GOMAXPROCS(0)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			i := int(next.Add(1))
			if _, err := p.Read(ctx, rs[i%n].Kind, ids[i%n]); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
