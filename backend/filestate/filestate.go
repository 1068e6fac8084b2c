// Package filestate is the embedded default backend.StateBackend: state documents are plain files in
// a local directory (the CLI uses .panka/state), safe to share between goroutines and between
// processes on the same machine.
//
// Layout, for key tenant/stack/env under dir:
//
//	dir/tenant/stack/env.json                  the current document, byte for byte
//	dir/tenant/stack/env.history/<id>.json     every revision ever written, never changed
//	dir/tenant/stack/env.lock                  the key's lock file (always empty)
//
// Revision IDs are "<revision number, 10 digits>-<UTC time>", e.g.
// "0000000042-20260102T150405.123Z", so they sort in write order. Versions are
// "<revision number>-<sha256 of the document>". Directories are created 0700, files 0600.
//
// # Durability and crashes
//
// Write stores the new revision in the history first and then replaces the current document;
// each file is written to a temporary file, synced and renamed into place, and its directory is
// synced. Storing the revision is the commit point: if a crash stops Write after it, the next
// reader finds the current document one revision behind (or, for a first write, missing) and
// returns the newest revision instead, and the next Write repairs the current document. Write
// never leaves a file half-written; a crash can leave temporary files (".env.json.tmp-*"), which
// are ignored and safe to delete.
//
// # Damage
//
// The current document must equal the newest revision. If it does not (a truncated, damaged or
// hand-edited file), Read and Write return an error wrapping backend.ErrCorrupt that names the
// file and the revision to restore it from, Write stores nothing, and History still lists the
// revisions but marks none current. Revision files are not checked: a damaged one is returned
// as it is.
//
// # Concurrency
//
// Each key is guarded by a lock file, locked exclusively by Write and shared by Read and
// History (see lockKey), so a Write's compare-and-swap is atomic with respect to every other
// goroutine and every other process using the directory. The kernel releases the lock of a
// process that dies, so a crash never leaves a key locked. The guarantee needs working flock(2)
// locks, as on local file systems; across machines use backend/s3state.
package filestate

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/panka/panka/backend"
)

// Backend stores state documents under one directory. It is safe for concurrent use, also by
// other Backends and other processes on the same directory.
type Backend struct {
	dir  string // absolute, so that lock registry entries and error messages are unambiguous
	disk disk
}

var _ backend.StateBackend = (*Backend)(nil)

// New returns a Backend storing state under dir, creating dir (mode 0700) if needed.
func New(dir string) (*Backend, error) {
	abs, err := filepath.Abs(dir)
	if err == nil {
		err = disk{}.ensureDir(abs)
	}
	if err != nil {
		return nil, fmt.Errorf("file state backend %s: %w", dir, err)
	}
	return &Backend{dir: abs}, nil
}

// Dir returns the absolute directory the Backend stores state in.
func (b *Backend) Dir() string { return b.dir }

// Read implements backend.StateBackend. It takes the key's lock shared, so it waits for a Write
// in progress, from any process, to finish.
func (b *Backend) Read(ctx context.Context, key backend.Key) ([]byte, backend.Version, error) {
	var cur current
	err := b.locked(ctx, key, false, func(p keyPaths) (err error) {
		cur, err = resolve(p)
		return err
	})
	if err == nil && !cur.exists {
		err = backend.ErrNotFound
	}
	if err != nil {
		return nil, "", fmt.Errorf("read %s: %w", key, err)
	}
	return cur.data, cur.version, nil
}

// Write implements backend.StateBackend. It holds the key's lock exclusively from reading the
// current version until the new document is in place. A done ctx is honoured until the
// compare-and-swap succeeds; after that Write finishes the few file operations left.
func (b *Backend) Write(ctx context.Context, key backend.Key, data []byte, ifMatch backend.Version) (backend.Version, error) {
	var v backend.Version
	err := b.locked(ctx, key, true, func(p keyPaths) error {
		cur, err := resolve(p)
		if errors.Is(err, backend.ErrCorrupt) {
			// The current document was damaged outside Panka. A writer that names the newest
			// revision (History lists its Version) restores from there: the damaged file is
			// kept aside, and the write goes on.
			if cur, err = b.setAsideDamaged(p, ifMatch, err); err != nil {
				return err
			}
		}
		if err != nil {
			return err
		}
		if cur.version != ifMatch {
			return &backend.ConflictError{Key: key, Expected: ifMatch, Actual: cur.version}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rev := newRevision(1, time.Now())
		if len(cur.revs) > 0 {
			prev := cur.revs[0]
			// Keep History's times in order even if the clock went back.
			rev = newRevision(prev.seq+1, maxTime(rev.time, prev.time))
		}
		if err := b.disk.ensureDir(p.history); err != nil {
			return err
		}
		if err := b.disk.writeFileAtomic(p.history, rev.id+".json", data); err != nil {
			return err
		}
		if err := b.disk.writeFileAtomic(p.stackDir, filepath.Base(p.current), data); err != nil {
			return err
		}
		v = version(rev.seq, data)
		// The journals of older revisions are never read again (best effort: a leftover is
		// removed by the next write).
		_ = os.RemoveAll(p.journals)
		return nil
	})
	if ce := (*backend.ConflictError)(nil); errors.As(err, &ce) {
		return "", ce
	}
	if err != nil {
		return "", fmt.Errorf("write %s: %w", key, err)
	}
	return v, nil
}

// History implements backend.StateBackend. It reads every revision to compute its version, so
// it costs as much as reading the whole history. A document placed in the directory by hand,
// with no history, has no revisions to list: History returns none and no error.
func (b *Backend) History(ctx context.Context, key backend.Key) ([]backend.Revision, error) {
	var out []backend.Revision
	err := b.locked(ctx, key, false, func(p keyPaths) error {
		revs, err := listRevisions(p.history)
		if err != nil {
			return err
		}
		if len(revs) == 0 {
			if _, err := os.Stat(p.current); err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return backend.ErrNotFound
				}
				return err
			}
		}
		out = make([]backend.Revision, 0, len(revs))
		for _, r := range revs {
			data, err := os.ReadFile(p.revisionFile(r.id))
			if err != nil {
				return err
			}
			out = append(out, backend.Revision{ID: r.id, Version: version(r.seq, data), Time: r.time, Size: int64(len(data))})
		}
		// A damaged current document has no current revision; listing the history is how one
		// finds a revision to restore, so that is not an error here.
		if cur, err := resolve(p); err == nil && len(out) > 0 && cur.version == out[0].Version {
			out[0].Current = true
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("history %s: %w", key, err)
	}
	return out, nil
}

// ReadRevision implements backend.StateBackend. Revisions never change once written, so it
// takes no lock.
func (b *Backend) ReadRevision(ctx context.Context, key backend.Key, revisionID string) ([]byte, error) {
	data, err := func() ([]byte, error) {
		if err := check(ctx, key); err != nil {
			return nil, err
		}
		if _, ok := parseRevisionID(revisionID); !ok {
			return nil, backend.ErrNotFound
		}
		data, err := os.ReadFile(pathsOf(b.dir, key).revisionFile(revisionID))
		if errors.Is(err, fs.ErrNotExist) {
			return nil, backend.ErrNotFound
		}
		return data, err
	}()
	if err != nil {
		return nil, fmt.Errorf("read %s revision %q: %w", key, revisionID, err)
	}
	return data, nil
}

// List implements backend.StateBackend. It takes no lock: a key appears once its first Write
// has stored a revision. Files and directories whose names are not valid key names are
// ignored.
func (b *Backend) List(ctx context.Context, prefix string) ([]backend.Key, error) {
	keys, err := b.list(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("list %q: %w", prefix, err)
	}
	return keys, nil
}

func (b *Backend) list(ctx context.Context, prefix string) ([]backend.Key, error) {
	p, err := backend.ParsePrefix(prefix)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var keys []backend.Key
	tenants, err := subdirs(b.dir, p.Tenant)
	if err != nil {
		return nil, err
	}
	for _, tenant := range tenants {
		stacks, err := subdirs(filepath.Join(b.dir, tenant), p.Stack)
		if err != nil {
			return nil, err
		}
		for _, stack := range stacks {
			dir := filepath.Join(b.dir, tenant, stack)
			entries, err := os.ReadDir(dir)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return nil, err
			}
			for _, e := range entries {
				k := backend.Key{Tenant: tenant, Stack: stack}
				if env, ok := strings.CutSuffix(e.Name(), currentExt); ok && e.Type().IsRegular() {
					k.Environment = env
				} else if env, ok := strings.CutSuffix(e.Name(), historyExt); ok && e.IsDir() {
					// A first Write interrupted after storing its revision (see Read).
					if revs, err := listRevisions(filepath.Join(dir, e.Name())); err != nil || len(revs) == 0 {
						continue
					}
					k.Environment = env
				} else {
					continue
				}
				if k.Validate() == nil && p.Match(k) {
					keys = append(keys, k)
				}
			}
		}
	}
	slices.SortFunc(keys, backend.Key.Compare)
	return slices.Compact(keys), nil
}

// subdirs returns the names of the directories in dir, or just name if it is set.
func subdirs(dir, name string) ([]string, error) {
	if name != "" {
		return []string{name}, nil
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

// locked runs fn with key's lock held, exclusive or shared, after validating key and checking
// ctx. An exclusive lock creates the key's directory first.
func (b *Backend) locked(ctx context.Context, key backend.Key, exclusive bool, fn func(keyPaths) error) error {
	if err := check(ctx, key); err != nil {
		return err
	}
	p := pathsOf(b.dir, key)
	if exclusive {
		if err := b.disk.ensureDir(p.stackDir); err != nil {
			return err
		}
	}
	unlock, err := lockKey(ctx, p.lock, exclusive)
	if err != nil {
		return err
	}
	defer unlock()
	return fn(p)
}

func check(ctx context.Context, key backend.Key) error {
	if err := key.Validate(); err != nil {
		return err
	}
	return ctx.Err()
}

// current is what a key holds now, as resolve found it.
type current struct {
	exists  bool
	data    []byte
	version backend.Version // "" if !exists
	revs    []revision      // newest first
}

// resolve reads the current document of p and checks it against the newest revision. The
// caller holds p's lock, so no Write is in progress: a mismatch means either that a Write was
// interrupted after its commit point, which resolve completes by returning the newest revision,
// or damage, reported as backend.ErrCorrupt.
// setAsideDamaged renames a damaged current document to CURRENT.damaged-TIME and returns the
// newest revision as current, if ifMatch names that revision; otherwise it returns damage.
func (b *Backend) setAsideDamaged(p keyPaths, ifMatch backend.Version, damage error) (current, error) {
	revs, err := listRevisions(p.history)
	if err != nil || len(revs) == 0 || ifMatch == "" {
		return current{}, damage
	}
	newest := revs[0]
	data, err := os.ReadFile(p.revisionFile(newest.id))
	if err != nil {
		return current{}, err
	}
	if version(newest.seq, data) != ifMatch {
		return current{}, damage
	}
	if _, err := os.Stat(p.current); err == nil {
		aside := fmt.Sprintf("%s.damaged-%s", p.current, time.Now().UTC().Format("20060102T150405.000Z"))
		if err := os.Rename(p.current, aside); err != nil {
			return current{}, err
		}
	}
	return current{exists: true, data: data, version: ifMatch, revs: revs}, nil
}

func resolve(p keyPaths) (current, error) {
	revs, err := listRevisions(p.history)
	if err != nil {
		return current{}, err
	}
	data, err := os.ReadFile(p.current)
	missing := errors.Is(err, fs.ErrNotExist)
	if err != nil && !missing {
		return current{}, err
	}
	if len(revs) == 0 {
		if missing {
			return current{}, nil
		}
		// Placed here by hand, with no history: accept it as revision 0.
		return current{exists: true, data: data, version: version(0, data), revs: revs}, nil
	}

	newest := revs[0]
	newestData, err := os.ReadFile(p.revisionFile(newest.id))
	if err != nil {
		return current{}, err
	}
	cur := current{exists: true, data: newestData, version: version(newest.seq, newestData), revs: revs}
	if !missing && bytes.Equal(data, newestData) {
		return cur, nil
	}

	interrupted := missing && len(revs) == 1
	if !missing && len(revs) > 1 {
		prevData, err := os.ReadFile(p.revisionFile(revs[1].id))
		if err != nil {
			return current{}, err
		}
		interrupted = bytes.Equal(data, prevData)
	}
	if interrupted {
		return cur, nil
	}

	restore := fmt.Sprintf("to restore the last state Panka wrote (revision %s), copy %s to %s",
		newest.id, p.revisionFile(newest.id), p.current)
	if missing {
		return current{}, fmt.Errorf("%w: %s is missing but %d revisions exist; %s",
			backend.ErrCorrupt, p.current, len(revs), restore)
	}
	return current{}, fmt.Errorf("%w: %s (%d bytes, sha256 %.12x) does not match its newest revision %s (%d bytes, sha256 %.12x): it was truncated, damaged or edited outside Panka; %s",
		backend.ErrCorrupt, p.current, len(data), sha256Sum(data), newest.id, len(newestData), sha256Sum(newestData), restore)
}

func sha256Sum(data []byte) []byte {
	sum := sha256.Sum256(data)
	return sum[:]
}

func maxTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return b
	}
	return a
}
