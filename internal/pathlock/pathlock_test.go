package pathlock

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
)

func TestExclusiveExcludesAndSharedShares(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	var inside, peak, readers, peakReaders atomic.Int32
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			exclusive := i%4 == 0
			unlock, err := Lock(context.Background(), path, exclusive)
			if err != nil {
				t.Error(err)
				return
			}
			if exclusive {
				if n := inside.Add(1); n > 1 || readers.Load() > 0 {
					peak.Store(n)
				}
				inside.Add(-1)
			} else {
				if inside.Load() > 0 {
					peak.Store(99)
				}
				n := readers.Add(1)
				if n > peakReaders.Load() {
					peakReaders.Store(n)
				}
				readers.Add(-1)
			}
			unlock()
		}()
	}
	wg.Wait()
	if peak.Load() != 0 {
		t.Fatalf("an exclusive holder overlapped another holder (%d)", peak.Load())
	}
}

func TestSharedLockDoesNotCreateTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "never.lock")
	unlock, err := Lock(context.Background(), path, false)
	if err != nil {
		t.Fatal(err)
	}
	unlock()
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a shared lock created %s (stat: %v)", path, err)
	}
}

func TestLockGivesUpWhenContextEnds(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	unlock, err := Lock(context.Background(), path, true)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Lock(ctx, path, true); !errors.Is(err, context.Canceled) {
		t.Fatalf("Lock with a cancelled context while held = %v, want context.Canceled", err)
	}
	// The same file through another spelling shares the in-process lock.
	rel, _ := filepath.Rel(mustWd(t), path)
	if _, err := Lock(ctx, rel, false); !errors.Is(err, context.Canceled) {
		t.Fatalf("a shared lock through a relative path got in while exclusively held: %v", err)
	}
}

func mustWd(t *testing.T) string {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return wd
}
