// Package atomicfile replaces files atomically and durably: a reader, or a process started
// after a crash or power loss, finds either the old content or all of the new, never a mix or a
// truncated file. It is the one implementation behind every file Panka rewrites in place (state
// revisions and documents, lease files, the simulated cloud, saved plans).
//
// WriteFile writes a temporary file in the destination's directory, fsyncs it, renames it over
// the destination and fsyncs the directory, so that the rename itself survives a crash. If any
// step before the rename fails, the temporary file is removed and the destination is untouched.
// Windows cannot fsync a directory; there the last step is skipped (NTFS journals the rename).
//
// The directory must be on a local file system whose rename is atomic (not NFS shared between
// machines). A process killed between creating and renaming the temporary file leaves it
// behind; a caller with exclusive access to the destination may remove the matches of TempGlob.
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// Options tune WriteFile. The zero value is the durable default.
type Options struct {
	// NoSync skips both fsyncs: the replacement is still atomic for readers, but after a power
	// loss the file may be empty or old. Only for tests on busy shared disks, where one fsync
	// can take tens of milliseconds and durability cannot be observed anyway.
	NoSync bool
}

// fsync syncs f; tests replace it to observe which files are synced.
var fsync = (*os.File).Sync

// WriteFile replaces the file at path with data, with mode 0600 (the temporary file's). The
// directory of path must exist. If the error comes from syncing the directory, the rename has
// happened: path holds data, but it may not survive a crash.
func WriteFile(path string, data []byte, opts Options) error {
	dir, tmp, err := writeTemp(path, data, opts)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return syncAfter(dir, path, "replaced", opts)
}

// writeTemp writes data to a new temporary file in path's directory, synced unless opts says
// not to, and returns the directory and the file's name. On error nothing is left behind.
func writeTemp(path string, data []byte, opts Options) (dir, tmp string, err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return "", "", err
	}
	tmp = f.Name()
	if _, err = f.Write(data); err == nil && !opts.NoSync {
		err = fsync(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(tmp)
		return "", "", err
	}
	return dir, tmp, nil
}

// syncAfter syncs dir after path was replaced or created in it, unless opts says not to.
func syncAfter(dir, path, what string, opts Options) error {
	if opts.NoSync {
		return nil
	}
	if err := SyncDir(dir); err != nil {
		return fmt.Errorf("%s was %s, but it may not survive a crash: %w", path, what, err)
	}
	return nil
}

// SyncDir fsyncs the directory dir, so that entries just created, renamed or removed in it
// survive a crash. It does nothing on Windows, which cannot sync a directory.
func SyncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = fsync(d)
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// TempGlob returns the filepath.Glob pattern of the temporary files that WriteFile(path, ...)
// creates: ".NAME.tmp-*" beside path, where NAME is path's base name. Only a process killed
// mid-write leaves one behind.
func TempGlob(path string) string {
	dir, base := filepath.Split(path)
	return filepath.Join(dir, "."+base+".tmp-*")
}

// Create writes data to a new file at path, atomically and durably like WriteFile, if and only
// if path does not exist: of several concurrent Creates of one path (from any process), exactly
// one succeeds and the others fail with an error wrapping fs.ErrExist, and a reader never sees
// the file partly written. (The complete temporary file is hard-linked to path, which fails if
// path exists.)
func Create(path string, data []byte, opts Options) error {
	dir, tmp, err := writeTemp(path, data, opts)
	if err != nil {
		return err
	}
	defer os.Remove(tmp) // the link, if made, keeps the data
	if err := os.Link(tmp, path); err != nil {
		return err
	}
	return syncAfter(dir, path, "created", opts)
}
