// Package memstate is an in-process backend.StateBackend, for tests and trials. State lives as
// long as the Backend value and is lost with it; every revision is kept, so memory use grows
// with the number of writes.
package memstate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/panka/panka/backend"
)

// Backend stores documents in memory. It is safe for concurrent use; every operation is atomic
// with respect to every other. The zero value is not usable; call New.
type Backend struct {
	mu       sync.Mutex
	docs     map[backend.Key][]revision // oldest first; the last is current
	journals map[journalKey][][]byte    // entries by slot - 1; only the current revision's are kept
}

type journalKey struct {
	key  backend.Key
	base backend.Version
}

type revision struct {
	seq  int
	time time.Time
	data []byte
}

func (r revision) version() backend.Version { return backend.Version(strconv.Itoa(r.seq)) }
func (r revision) id() string               { return fmt.Sprintf("%010d", r.seq) }

var (
	_ backend.StateBackend = (*Backend)(nil)
	_ backend.Journaler    = (*Backend)(nil)
)

// New returns an empty Backend.
func New() *Backend {
	return &Backend{docs: make(map[backend.Key][]revision), journals: make(map[journalKey][][]byte)}
}

// AppendEntry implements backend.Journaler.
func (b *Backend) AppendEntry(ctx context.Context, key backend.Key, base backend.Version, n int, entry []byte) error {
	if err := check(ctx, key); err != nil {
		return fmt.Errorf("append to the journal of %s: %w", key, err)
	}
	if n < 1 {
		return fmt.Errorf("append to the journal of %s: slot %d: slots start at 1", key, n)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	jk := journalKey{key, base}
	entries := b.journals[jk]
	if len(entries) >= n {
		return &backend.ConflictError{Key: key, Expected: base, Actual: base}
	}
	if len(entries) < n-1 {
		return fmt.Errorf("append to the journal of %s: slot %d after %d entries: %w", key, n, len(entries), errGap)
	}
	b.journals[jk] = append(entries, bytes.Clone(entry))
	return nil
}

// Entries implements backend.Journaler.
func (b *Backend) Entries(ctx context.Context, key backend.Key, base backend.Version) ([][]byte, error) {
	if err := check(ctx, key); err != nil {
		return nil, fmt.Errorf("read the journal of %s: %w", key, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	entries := b.journals[journalKey{key, base}]
	out := make([][]byte, len(entries))
	for i, e := range entries {
		out[i] = bytes.Clone(e)
	}
	return out, nil
}

// errGap: an append to a slot past the first empty one (a caller bug: slots fill in order).
var errGap = errors.New("journal slots fill in order")

// Read implements backend.StateBackend.
func (b *Backend) Read(ctx context.Context, key backend.Key) ([]byte, backend.Version, error) {
	if err := check(ctx, key); err != nil {
		return nil, "", fmt.Errorf("read %s: %w", key, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	revs := b.docs[key]
	if len(revs) == 0 {
		return nil, "", fmt.Errorf("read %s: %w", key, backend.ErrNotFound)
	}
	cur := revs[len(revs)-1]
	return bytes.Clone(cur.data), cur.version(), nil
}

// Write implements backend.StateBackend.
func (b *Backend) Write(ctx context.Context, key backend.Key, data []byte, ifMatch backend.Version) (backend.Version, error) {
	if err := check(ctx, key); err != nil {
		return "", fmt.Errorf("write %s: %w", key, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	revs := b.docs[key]
	var current backend.Version
	if len(revs) > 0 {
		current = revs[len(revs)-1].version()
	}
	if current != ifMatch {
		return "", &backend.ConflictError{Key: key, Expected: ifMatch, Actual: current}
	}
	r := revision{seq: len(revs) + 1, time: time.Now().Round(0), data: bytes.Clone(data)}
	b.docs[key] = append(revs, r)
	delete(b.journals, journalKey{key, ifMatch}) // superseded: never read again
	return r.version(), nil
}

// History implements backend.StateBackend.
func (b *Backend) History(ctx context.Context, key backend.Key) ([]backend.Revision, error) {
	if err := check(ctx, key); err != nil {
		return nil, fmt.Errorf("history %s: %w", key, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	revs := b.docs[key]
	if len(revs) == 0 {
		return nil, fmt.Errorf("history %s: %w", key, backend.ErrNotFound)
	}
	out := make([]backend.Revision, 0, len(revs))
	for i, r := range slices.Backward(revs) {
		out = append(out, backend.Revision{
			ID:      r.id(),
			Version: r.version(),
			Time:    r.time,
			Size:    int64(len(r.data)),
			Current: i == len(revs)-1,
		})
	}
	return out, nil
}

// ReadRevision implements backend.StateBackend.
func (b *Backend) ReadRevision(ctx context.Context, key backend.Key, revisionID string) ([]byte, error) {
	if err := check(ctx, key); err != nil {
		return nil, fmt.Errorf("read %s revision %q: %w", key, revisionID, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, r := range b.docs[key] {
		if r.id() == revisionID {
			return bytes.Clone(r.data), nil
		}
	}
	return nil, fmt.Errorf("read %s revision %q: %w", key, revisionID, backend.ErrNotFound)
}

// List implements backend.StateBackend.
func (b *Backend) List(ctx context.Context, prefix string) ([]backend.Key, error) {
	p, err := backend.ParsePrefix(prefix)
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return nil, fmt.Errorf("list %q: %w", prefix, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	var keys []backend.Key
	for k := range b.docs {
		if p.Match(k) {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, backend.Key.Compare)
	return keys, nil
}

func check(ctx context.Context, key backend.Key) error {
	if err := key.Validate(); err != nil {
		return err
	}
	return ctx.Err()
}
