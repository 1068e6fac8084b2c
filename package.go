package panka

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// A component may name local files that the engine packages and hands to the provider (see
// provider.Resource.Files). Today that is a Lambda's spec.code.path: at plan time the engine
// zips the file or directory, adds code.sha256 (the base64 SHA-256 of the zip, as AWS reports a
// function's CodeSha256) beside code.path in the desired spec, and keeps the zip in memory for
// the provider's Create and Update. Neither the state nor a saved plan holds the bytes: a plan
// records where they came from (Change.Packages), and ApplyPlan packages them again.

// packagedFields lists, per kind, the spec fields that name local files to package: each is a
// mapping whose "path" is packaged and whose "sha256" the engine sets.
var packagedFields = map[string][]string{"Lambda": {"code"}}

// DefaultMaxPackageSize is the largest zip Panka packages for one field: Lambda's limit for a
// package uploaded directly (50 MB); larger code must come from S3.
const DefaultMaxPackageSize = 50 << 20

// ErrPackageTooLarge is wrapped by the error for a local path whose zip exceeds
// DefaultMaxPackageSize.
var ErrPackageTooLarge = errors.New("package too large")

// Package says where the files a change uploads come from, so that ApplyPlan can package them
// again from a saved plan.
type Package struct {
	// Path is the resolved path: an absolute path of the operating system's files, or, with FS,
	// a path in the fs.FS the config was parsed from (ParseFS).
	Path string `json:"path"`
	FS   bool   `json:"fs,omitempty"`
	// SHA256 is the base64 SHA-256 of the zip, the value of the spec's sha256 field.
	SHA256 string `json:"sha256"`
}

// packaged is one field's package: its record and its bytes.
type packaged struct {
	Package
	zip  []byte
	fsys fs.FS // the filesystem Path is in, when FS is set
}

// zipEpoch is the modification time of every zip entry: the earliest a zip can record.
var zipEpoch = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// zipMode is the mode of every zip entry: readable by all (Lambda needs that) and executable
// (a provided.* runtime's bootstrap must be), whatever the local file's mode, so that the same
// content packages to the same bytes on every OS.
const zipMode = 0o755

// packagePath zips the file or directory at name in fsys (nil: the OS's files, name an OS
// path): a file gives a zip of that one file under its base name; a directory, of every file
// beneath it (hidden ones included, empty directories left out), with slash-separated names
// relative to it, in sorted order. Every entry has the same time and mode, so the zip depends
// only on names and contents. Symbolic links and other non-regular files are refused, so is a
// directory without files, and a zip growing past max bytes is ErrPackageTooLarge.
func packagePath(fsys fs.FS, name string, max int64) ([]byte, error) {
	root := name
	if fsys == nil {
		// Read through os.DirFS of the parent, so that the top level is not followed if it is a
		// symbolic link either.
		fsys, root = os.DirFS(filepath.Dir(name)), filepath.Base(name)
	}
	info, err := lstat(fsys, root)
	if err != nil {
		return nil, err
	}
	type entry struct{ file, name string } // path in fsys, name in the zip
	var entries []entry
	switch {
	case info.Mode().IsRegular():
		entries = []entry{{root, path.Base(root)}}
	case info.IsDir():
		rel := func(p string) string {
			if root == "." {
				return p
			}
			return strings.TrimPrefix(p, root+"/")
		}
		err := fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				return nil
			}
			if !d.Type().IsRegular() {
				return notRegular(name, rel(p), d.Type())
			}
			entries = append(entries, entry{p, rel(p)})
			return nil
		})
		if err != nil {
			return nil, err
		}
		if len(entries) == 0 {
			return nil, fmt.Errorf("%s is a directory without files: build the code into it first", name)
		}
	default:
		return nil, notRegular(name, "", info.Mode())
	}
	// WalkDir sorts each directory's entries, which puts "a/b" before "a.txt"; sort the full
	// names, so that the order does not depend on how a filesystem lists directories.
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.name, b.name) })

	out := &limitedBuffer{max: max}
	zw := zip.NewWriter(out)
	for _, en := range entries {
		h := &zip.FileHeader{Name: en.name, Method: zip.Deflate, Modified: zipEpoch}
		h.SetMode(zipMode)
		w, err := zw.CreateHeader(h)
		if err == nil {
			err = copyFile(w, fsys, en.file)
		}
		if err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// lstat is fs.Stat that does not follow a symbolic link, where fsys can tell.
func lstat(fsys fs.FS, name string) (fs.FileInfo, error) {
	if l, ok := fsys.(fs.ReadLinkFS); ok {
		return l.Lstat(name)
	}
	return fs.Stat(fsys, name)
}

func notRegular(top, rel string, mode fs.FileMode) error {
	what := "a symbolic link"
	if mode&fs.ModeSymlink == 0 {
		what = "not a regular file (" + mode.Type().String() + ")"
	}
	at := top
	if rel != "" {
		at = top + ": " + rel
	}
	return fmt.Errorf("%s is %s; Panka packages only regular files and directories: copy the file in place of the link", at, what)
}

func copyFile(w io.Writer, fsys fs.FS, name string) error {
	f, err := fsys.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

// limitedBuffer is a bytes.Buffer that refuses to grow past max bytes.
type limitedBuffer struct {
	bytes.Buffer
	max int64
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if int64(b.Len()+len(p)) > b.max {
		return 0, ErrPackageTooLarge
	}
	return b.Buffer.Write(p)
}

// sha256Base64 is the base64 (standard encoding) SHA-256 of data: AWS Lambda's CodeSha256.
func sha256Base64(data []byte) string {
	sum := sha256.Sum256(data)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// packageResources packages the local files of the desired resources in sel (nil: all), adds
// each one's sha256 to its template (e.want's templates belong to this engine, never to the
// Config) and returns the packages by address and field. It runs once per plan.
func (e *engine) packageResources(sel map[string]bool) (map[string]map[string]*packaged, error) {
	out := map[string]map[string]*packaged{}
	for _, d := range e.want.Resources {
		if sel != nil && !sel[d.Address] {
			continue
		}
		for _, field := range packagedFields[d.Kind] {
			sub, ok := d.Template[field].(map[string]any)
			if !ok {
				continue
			}
			written, ok := sub["path"].(string)
			if !ok || written == "" {
				continue
			}
			pk, err := e.packageField(d, field, written)
			if err != nil {
				return nil, err
			}
			sub = maps.Clone(sub)
			sub["sha256"] = pk.SHA256
			d.Template[field] = sub
			if out[d.Address] == nil {
				out[d.Address] = map[string]*packaged{}
			}
			out[d.Address][field] = pk
		}
	}
	return out, nil
}

// packageField packages field.path of d, as written (with variables resolved, and "$${"
// escapes) in its template.
func (e *engine) packageField(d *desiredResource, field, written string) (*packaged, error) {
	comp := e.cfg.Component(d.Address)
	fail := func(p string, err error, hint string) error {
		at := ""
		if comp != nil {
			if pos := comp.PosOf("spec." + field + ".path"); pos.File != "" {
				at = pos.String() + ": "
			}
		}
		return fmt.Errorf("%s%s: %s.path %s: %w%s", at, d.Address, field, p, err, hint)
	}
	resolved, known := renderTemplate(map[string]any{"p": written}, func(string, string) (string, bool) { return "", false })
	p, _ := resolved["p"].(string)
	if !known {
		return nil, fail(written, errors.New("a local path cannot use another component's outputs"), "; write a path, or variables only")
	}
	if comp == nil {
		return nil, fail(p, errors.New("component not in the config"), "")
	}
	lp, err := e.cfg.ResolvePath(comp, p)
	if err != nil {
		return nil, fail(p, err, "")
	}
	data, err := packagePath(lp.FS, lp.Path, e.opts.maxPackageSize)
	switch {
	case errors.Is(err, ErrPackageTooLarge):
		return nil, fail(p, fmt.Errorf("%w: its zip exceeds %s, the most Lambda takes uploaded directly", err, sizeText(e.opts.maxPackageSize)),
			"; upload the package to S3 and give code.s3Bucket and code.s3Key instead")
	case errors.Is(err, fs.ErrNotExist):
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path it names is relative to a directory the reader cannot see
		}
		return nil, fail(p, err, fmt.Sprintf(" (looked for %s); build the code first, or fix the path", lp.Path))
	case err != nil:
		return nil, fail(p, err, "")
	}
	return &packaged{Package: Package{Path: lp.Path, FS: lp.FS != nil, SHA256: sha256Base64(data)}, zip: data, fsys: lp.FS}, nil
}

// files returns the zips a change at addr hands to the provider, by field; nil if none.
func (e *engine) files(addr string) map[string][]byte {
	pks := e.packages[addr]
	if len(pks) == 0 {
		return nil
	}
	out := make(map[string][]byte, len(pks))
	for field, pk := range pks {
		out[field] = pk.zip
	}
	return out
}

// repackage packages again the local files p's changes upload, from the paths the plan
// recorded, and checks that each zip is the one planned: a different one is an error wrapping
// ErrStalePlan (the code changed after the plan was made, and the plan's code.sha256 no longer
// says what would be deployed). Files from a ParseFS config are read from p.SourceFS, or else
// opts.SourceFS.
func repackage(p *PlanResult, opts Options) (map[string]map[string]*packaged, error) {
	out := map[string]map[string]*packaged{}
	for _, c := range p.Changes {
		if len(c.Packages) == 0 || (c.Action != ActionCreate && c.Action != ActionUpdate && c.Action != ActionReplace) {
			continue
		}
		for _, field := range slices.Sorted(maps.Keys(c.Packages)) {
			rec := c.Packages[field]
			var fsys fs.FS
			if rec.FS {
				fsys = cmpOr(p.SourceFS, opts.SourceFS)
				if fsys == nil {
					return nil, fmt.Errorf("%s: %s.path %s is in the fs.FS the config was parsed from, which a saved plan cannot name: set Options.SourceFS to it", c.Address, field, rec.Path)
				}
			}
			data, err := packagePath(fsys, rec.Path, opts.maxPackageSize)
			if err != nil {
				return nil, fmt.Errorf("%s: %s.path: %w", c.Address, field, err)
			}
			if sum := sha256Base64(data); sum != rec.SHA256 {
				return nil, fmt.Errorf("%w: %s: the code at %s changed since the plan was made (%s.sha256 %s, now %s); plan again", ErrStalePlan, c.Address, rec.Path, field, rec.SHA256, sum)
			}
			if out[c.Address] == nil {
				out[c.Address] = map[string]*packaged{}
			}
			out[c.Address][field] = &packaged{Package: rec, zip: data, fsys: fsys}
		}
	}
	return out, nil
}

// cmpOr returns a if it is not nil, else b (cmp.Or for interfaces that may not be comparable).
func cmpOr(a, b fs.FS) fs.FS {
	if a != nil {
		return a
	}
	return b
}

// sizeText is "50 MB" for whole mebibytes (as AWS writes its limits), else "N bytes".
func sizeText(n int64) string {
	if n%(1<<20) == 0 {
		return fmt.Sprintf("%d MB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// overlayPackaged returns spec (a refreshed spec: base overlaid with what the provider read)
// with the packaged fields of kind completed from base: a provider can read back a function's
// code.sha256 but not the local path it was packaged from, so the recorded path is kept
// (and the sha the provider read is what the next plan compares). spec is not modified.
func overlayPackaged(kind string, base, spec map[string]any) map[string]any {
	var out map[string]any
	for _, field := range packagedFields[kind] {
		was, ok1 := base[field].(map[string]any)
		now, ok2 := spec[field].(map[string]any)
		if !ok1 || !ok2 {
			continue
		}
		merged := maps.Clone(was)
		maps.Copy(merged, now)
		if out == nil {
			out = maps.Clone(spec)
		}
		out[field] = merged
	}
	if out == nil {
		return spec
	}
	return out
}
