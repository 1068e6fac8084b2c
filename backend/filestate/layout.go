package filestate

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/panka/panka/backend"
	"github.com/panka/panka/internal/atomicfile"
)

// keyPaths are the files of one key, all in the stack's directory <dir>/<tenant>/<stack>.
// Names cannot contain ".", so these never collide with another key's, and temporary files,
// which start with ".", never look like a key or a revision.
type keyPaths struct {
	stackDir string // <dir>/<tenant>/<stack>
	current  string // <env>.json: the current document, byte for byte
	history  string // <env>.history/: one <revision-id>.json per revision, never changed once written
	journals string // <env>.journal/: the journals of revisions (see journal.go)
	lock     string // <env>.lock: see lockKey
}

func pathsOf(dir string, k backend.Key) keyPaths {
	stackDir := filepath.Join(dir, k.Tenant, k.Stack)
	return keyPaths{
		stackDir: stackDir,
		current:  filepath.Join(stackDir, k.Environment+currentExt),
		history:  filepath.Join(stackDir, k.Environment+historyExt),
		journals: filepath.Join(stackDir, k.Environment+journalExt),
		lock:     filepath.Join(stackDir, k.Environment+".lock"),
	}
}

const (
	currentExt = ".json"
	historyExt = ".history"
)

func (p keyPaths) revisionFile(id string) string {
	return filepath.Join(p.history, id+".json")
}

// A revision ID is "<seq>-<time>": the revision number, zero-padded to ten digits so that IDs
// sort in write order, and the UTC write time to the millisecond, for people reading a listing.
// Only the canonical form parses, so an ID can never name a path outside the history directory.
const revisionTimeLayout = "20060102T150405.000Z"

type revision struct {
	seq  uint64
	time time.Time
	id   string
}

func newRevision(seq uint64, t time.Time) revision {
	t = t.UTC().Truncate(time.Millisecond)
	return revision{seq: seq, time: t, id: fmt.Sprintf("%010d-%s", seq, t.Format(revisionTimeLayout))}
}

func parseRevisionID(id string) (revision, bool) {
	seqText, timeText, ok := strings.Cut(id, "-")
	if !ok {
		return revision{}, false
	}
	seq, err := strconv.ParseUint(seqText, 10, 64)
	if err != nil {
		return revision{}, false
	}
	t, err := time.Parse(revisionTimeLayout, timeText)
	if err != nil {
		return revision{}, false
	}
	r := newRevision(seq, t)
	return r, r.id == id
}

// version is the token for revision seq holding data. The hash makes any change to the bytes
// visible, whoever made it; the number makes writing the same bytes twice give two versions.
func version(seq uint64, data []byte) backend.Version {
	return backend.Version(fmt.Sprintf("%d-%x", seq, sha256Sum(data)))
}

// listRevisions returns the revisions in dir, newest first. A missing dir has none. Names that
// are not revision files (temporary files left by a crash, anything a person put there) are
// ignored.
func listRevisions(dir string) ([]revision, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var revs []revision
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || !e.Type().IsRegular() {
			continue
		}
		if r, ok := parseRevisionID(id); ok {
			revs = append(revs, r)
		}
	}
	slices.SortFunc(revs, func(a, b revision) int {
		return cmp.Or(cmp.Compare(b.seq, a.seq), cmp.Compare(b.id, a.id))
	})
	return revs, nil
}

// disk does the file system writes. Tests that cannot observe durability may turn syncing off
// (see export_test.go): on a shared machine one fsync can take tens of milliseconds.
type disk struct {
	noSync bool
}

// writeFileAtomic replaces dir/name with data so that, even across a crash, the file holds
// either its old content or all of data (see internal/atomicfile). The file's mode is 0600.
func (d disk) writeFileAtomic(dir, name string, data []byte) error {
	return atomicfile.WriteFile(filepath.Join(dir, name), data, atomicfile.Options{NoSync: d.noSync})
}

// ensureDir creates dir and any missing parents with mode 0700, syncing each parent that gains
// an entry so that the new directories survive a crash.
func (d disk) ensureDir(dir string) error {
	if fi, err := os.Stat(dir); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("%s is not a directory", dir)
		}
		return nil
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := d.ensureDir(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return d.syncDir(parent)
}

func (d disk) syncDir(dir string) error {
	if d.noSync {
		return nil
	}
	return atomicfile.SyncDir(dir)
}
