package schema

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// source is where a Config's files were read from, so that paths written in them (a Lambda's
// code.path) can be resolved later. Its zero value is a Config parsed from bytes (or built by
// hand): such paths are relative to the process's working directory.
type source struct {
	fsys fs.FS  // ParseFS: the filesystem; nil otherwise
	os   bool   // ParseFiles: the operating system's files
	cwd  string // ParseFiles: the working directory when the files were read ("" if unknown)
}

func sourceOf(fsys fs.FS) source {
	if _, ok := fsys.(osFS); ok {
		cwd, _ := os.Getwd()
		return source{os: true, cwd: cwd}
	}
	return source{fsys: fsys}
}

// LocalPath is a local file or directory named in a component's spec, resolved by
// Config.ResolvePath.
type LocalPath struct {
	// FS is the filesystem the config was parsed from (ParseFS), in which Path is an fs.FS path;
	// nil when Path is an absolute path of the operating system's files.
	FS fs.FS
	// Path is where the file or directory is.
	Path string
}

// ErrPathOutside is wrapped by ResolvePath's error for a path that leaves the filesystem the
// config was parsed from (ParseFS).
var ErrPathOutside = errors.New("path outside the config's filesystem")

// ResolvePath resolves p, a local path written in comp's spec, the way Panka reads it:
//   - for a config read by ParseFiles, relative to the directory of the file that declares comp
//     (a relative file name counts from the working directory at parse time, so a later
//     os.Chdir changes nothing); an absolute p is used as it is;
//   - for a config read by ParseFS, in the same fs.FS, relative to the declaring file's
//     directory; it may not climb out of the filesystem ("../.." past its root), and an
//     absolute p is refused unless the filesystem itself can stat it;
//   - for a config parsed from bytes (ParseBytes) or built by hand, relative to the process's
//     working directory when ResolvePath is called.
//
// It reads c only (stat-ing p for ParseFS's absolute paths), so it is safe for concurrent use.
// It does not check that an OS path exists.
func (c *Config) ResolvePath(comp *Component, p string) (LocalPath, error) {
	if p == "" {
		return LocalPath{}, errors.New("empty path")
	}
	file := comp.Pos.File
	switch {
	case c.src.fsys != nil:
		if path.IsAbs(p) || filepath.IsAbs(p) {
			if _, err := fs.Stat(c.src.fsys, p); err != nil {
				return LocalPath{}, fmt.Errorf("%s is absolute and the filesystem the config was parsed from cannot open it (%w); write it relative to %s", p, err, file)
			}
			return LocalPath{FS: c.src.fsys, Path: p}, nil
		}
		q := path.Join(path.Dir(file), filepath.ToSlash(p))
		if q == ".." || strings.HasPrefix(q, "../") {
			return LocalPath{}, fmt.Errorf("%s, relative to %s, is %w (it leads to %s)", p, file, ErrPathOutside, q)
		}
		return LocalPath{FS: c.src.fsys, Path: q}, nil
	case c.src.os:
		if filepath.IsAbs(p) {
			return LocalPath{Path: filepath.Clean(p)}, nil
		}
		dir := filepath.Dir(file)
		if !filepath.IsAbs(dir) && c.src.cwd != "" {
			dir = filepath.Join(c.src.cwd, dir)
		}
		abs, err := filepath.Abs(filepath.Join(dir, p))
		if err != nil {
			return LocalPath{}, err
		}
		return LocalPath{Path: abs}, nil
	default:
		abs, err := filepath.Abs(p)
		if err != nil {
			return LocalPath{}, err
		}
		return LocalPath{Path: abs}, nil
	}
}
