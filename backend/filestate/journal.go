package filestate

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/panka/panka/backend"
	"github.com/panka/panka/internal/atomicfile"
)

// Journals: <env>.journal/<base>/<slot>.json, where <base> names the revision (a digest of its
// Version) and <slot> is zero-padded so that a listing sorts in slot order. Each entry is
// created whole and at most once (atomicfile.Create), so concurrent appends to one slot, from
// any process, have one winner without taking the key's lock. Write removes the journals of
// older revisions, which the engine never reads again.

const journalExt = ".journal"

func (p keyPaths) journalDir(base backend.Version) string {
	sum := sha256.Sum256([]byte(base))
	return filepath.Join(p.journals, fmt.Sprintf("%x", sum[:12]))
}

func slotFile(dir string, n int) string { return filepath.Join(dir, fmt.Sprintf("%08d.json", n)) }

var _ backend.Journaler = (*Backend)(nil)

// AppendEntry implements backend.Journaler.
func (b *Backend) AppendEntry(ctx context.Context, key backend.Key, base backend.Version, n int, entry []byte) error {
	if err := check(ctx, key); err != nil {
		return fmt.Errorf("append to the journal of %s: %w", key, err)
	}
	if n < 1 {
		return fmt.Errorf("append to the journal of %s: slot %d: slots start at 1", key, n)
	}
	dir := pathsOf(b.dir, key).journalDir(base)
	if err := b.disk.ensureDir(dir); err != nil {
		return fmt.Errorf("append to the journal of %s: %w", key, err)
	}
	if n > 1 {
		if _, err := os.Stat(slotFile(dir, n-1)); err != nil {
			return fmt.Errorf("append to the journal of %s: slot %d before slot %d: %w", key, n, n-1, err)
		}
	}
	err := atomicfile.Create(slotFile(dir, n), entry, atomicfile.Options{NoSync: b.disk.noSync})
	if errors.Is(err, fs.ErrExist) {
		return &backend.ConflictError{Key: key, Expected: base, Actual: base}
	}
	if err != nil {
		return fmt.Errorf("append to the journal of %s: %w", key, err)
	}
	return nil
}

// Entries implements backend.Journaler.
func (b *Backend) Entries(ctx context.Context, key backend.Key, base backend.Version) ([][]byte, error) {
	if err := check(ctx, key); err != nil {
		return nil, fmt.Errorf("read the journal of %s: %w", key, err)
	}
	dir := pathsOf(b.dir, key).journalDir(base)
	var out [][]byte
	for n := 1; ; n++ {
		data, err := os.ReadFile(slotFile(dir, n))
		if errors.Is(err, fs.ErrNotExist) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read the journal of %s: %w", key, err)
		}
		out = append(out, data)
	}
}
