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
	"sync"

	"github.com/panka/panka/internal/atomicfile"
	"github.com/panka/panka/internal/pathlock"
)

// store serialises access to the simulated cloud. Both implementations give every operation a
// consistent view: view sees the cloud as some update left it, and updates are atomic.
type store interface {
	// view runs fn on the cloud, which fn must only read.
	view(ctx context.Context, fn func(*cloud) error) error
	// update runs fn on the cloud, which fn may change; the change is kept (and, for a file,
	// durable) only if fn returns nil. fn must not change the cloud when it returns an error,
	// and returns errNoChange when it changed nothing.
	update(ctx context.Context, fn func(*cloud) error) error
}

// errNoChange tells a store that an update changed nothing, so there is nothing to write.
var errNoChange = errors.New("no change")

// memStore keeps the cloud in memory behind a read-write mutex. The mutex is held for map
// operations only, so it does not honour ctx while waiting.
type memStore struct {
	mu sync.RWMutex
	c  *cloud
}

func (s *memStore) view(_ context.Context, fn func(*cloud) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return fn(s.c)
}

func (s *memStore) update(_ context.Context, fn func(*cloud) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := fn(s.c); err != nil && !errors.Is(err, errNoChange) {
		return err
	}
	return nil
}

// fileStore keeps the cloud in a JSON file that any number of processes share. Every update
// takes an exclusive lock on path+".lock", reads the file, applies the change, writes the whole
// cloud to a temporary file in the same directory, fsyncs it, renames it over the file and
// fsyncs the directory, then unlocks. Views take the lock shared. So the file is always a
// complete snapshot (a process killed mid-write leaves at most a stray temporary file, which the
// next fileStore to write removes), and concurrent writers never lose each other's changes.
//
// The last file contents read are cached with their decoded cloud, so an operation decodes the
// file only when another Provider or process has changed it since.
type fileStore struct {
	path, lockPath string

	mu        sync.Mutex // guards the cache
	cacheData []byte
	cache     *cloud

	swept bool // stray temporary files removed; only accessed under the exclusive lock
}

// fileVersion is the format version of the cloud file.
const fileVersion = 1

type fileDoc struct {
	Version   int          `json:"version"`
	Resources []fileRecord `json:"resources"`
}

type fileRecord struct {
	Record
	Spec specJSON `json:"spec"` // shadows Record.Spec: keeps int64 and float64 apart
}

func newFileStore(path string) (*fileStore, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	s := &fileStore{path: path, lockPath: path + ".lock"}
	// Fail now, not on the first operation, if the file is unreadable.
	if err := s.view(context.Background(), func(*cloud) error { return nil }); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *fileStore) view(ctx context.Context, fn func(*cloud) error) error {
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

func (s *fileStore) update(ctx context.Context, fn func(*cloud) error) error {
	unlock, err := lockPath(ctx, s.lockPath, true)
	if err != nil {
		return err
	}
	defer unlock()
	c, err := s.load()
	if err != nil {
		return err
	}
	// The exclusive lock keeps this process's views out, so c (possibly the cache) can be
	// changed in place; if writing it fails, the cache is dropped.
	if err := fn(c); err != nil {
		if errors.Is(err, errNoChange) {
			return nil
		}
		return err
	}
	if !s.swept {
		// Under the exclusive lock no one is writing a temporary file, so any there is left
		// over from a process that was killed mid-write.
		s.swept = true
		if tmps, err := filepath.Glob(atomicfile.TempGlob(s.path)); err == nil {
			for _, tmp := range tmps {
				_ = os.Remove(tmp)
			}
		}
	}
	data, err := encodeCloud(c)
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

// load returns the cloud in the file: an empty one if the file is missing or empty, an error
// naming the file if it is not a cloud file.
func (s *fileStore) load() (*cloud, error) {
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
	c, err := decodeCloud(data)
	if err != nil {
		return nil, fmt.Errorf("sim: cloud file %s is corrupt: %w", s.path, err)
	}
	s.setCache(data, c)
	return c, nil
}

func (s *fileStore) setCache(data []byte, c *cloud) {
	s.mu.Lock()
	s.cacheData, s.cache = data, c
	s.mu.Unlock()
}

func encodeCloud(c *cloud) ([]byte, error) {
	doc := fileDoc{Version: fileVersion, Resources: []fileRecord{}}
	for _, r := range c.records() {
		doc.Resources = append(doc.Resources, fileRecord{Record: *r, Spec: specJSON(r.Spec)})
	}
	data, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

func decodeCloud(data []byte) (*cloud, error) {
	var doc fileDoc
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if doc.Version != fileVersion {
		return nil, fmt.Errorf("version %d, want %d", doc.Version, fileVersion)
	}
	c := newCloud()
	for i, fr := range doc.Resources {
		r := fr.Record
		r.Spec = map[string]any(fr.Spec)
		if r.Kind == "" || r.Name == "" || r.ID == "" {
			return nil, fmt.Errorf("resource %d: kind, name and id are required", i)
		}
		if err := c.add(&r); err != nil {
			return nil, fmt.Errorf("resource %d: %w", i, err)
		}
	}
	return c, nil
}

// Cross-process exclusion is flock(2) on the lock file. Inside one process a semaphore per lock
// file comes first: waiting goroutines block instead of polling the file lock, and several
// Providers on the same Path exclude each other even where file locks are per process.

// lockPath locks path exclusively or shared and returns the function that unlocks it.
func lockPath(ctx context.Context, path string, exclusive bool) (unlock func(), err error) {
	unlock, err = pathlock.Lock(ctx, path, exclusive)
	if err != nil && ctx.Err() == nil {
		err = fmt.Errorf("sim: %w", err)
	}
	return unlock, err
}
