package schema

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"
)

const lambdaDocs = "apiVersion: panka.io/v1\nkind: Lambda\nmetadata: {name: fn, service: api}\nspec: {runtime: python3.12, handler: a.h, code: {path: ./fn}}\n"

// TestResolvePathOS: with ParseFiles, a relative path counts from the declaring file's
// directory, itself taken against the working directory at parse time (a later chdir changes
// nothing); an absolute path is used as it is.
func TestResolvePathOS(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "stacks"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "stacks", "app.yaml"), []byte(lambdaDocs), 0o644))
	t.Chdir(dir)
	cfg, err := ParseFiles(context.Background(), "stacks")
	require.NoError(t, err)
	comp := cfg.Components[0]
	t.Chdir(t.TempDir())
	got, err := cfg.ResolvePath(comp, "./fn")
	require.NoError(t, err)
	require.Equal(t, LocalPath{Path: filepath.Join(dir, "stacks", "fn")}, got)
	got, err = cfg.ResolvePath(comp, "../build/fn.zip")
	require.NoError(t, err)
	require.Equal(t, LocalPath{Path: filepath.Join(dir, "build", "fn.zip")}, got)
	abs := filepath.Join(t.TempDir(), "elsewhere")
	got, err = cfg.ResolvePath(comp, abs)
	require.NoError(t, err)
	require.Equal(t, LocalPath{Path: abs}, got)
}

// TestResolvePathBytes: a config parsed from bytes resolves against the working directory at
// the time of the call.
func TestResolvePathBytes(t *testing.T) {
	cfg, err := ParseBytes("whatever/app.yaml", []byte(lambdaDocs))
	require.NoError(t, err)
	dir := t.TempDir()
	t.Chdir(dir)
	got, err := cfg.ResolvePath(cfg.Components[0], "./fn")
	require.NoError(t, err)
	require.Equal(t, LocalPath{Path: filepath.Join(dir, "fn")}, got)
}

// TestResolvePathFS: with ParseFS, paths stay in the fs.FS, relative to the declaring file;
// leaving the filesystem is ErrPathOutside; an absolute path is refused unless the filesystem
// opens it.
func TestResolvePathFS(t *testing.T) {
	fsys := fstest.MapFS{"a/b/app.yaml": {Data: []byte(lambdaDocs)}}
	cfg, err := ParseFS(context.Background(), fsys, ".")
	require.NoError(t, err)
	comp := cfg.Components[0]
	for p, want := range map[string]string{"./fn": "a/b/fn", "../fn": "a/fn", "../../fn": "fn", ".": "a/b", "x/../y": "a/b/y"} {
		got, err := cfg.ResolvePath(comp, p)
		require.NoError(t, err, p)
		require.Equal(t, want, got.Path, p)
		require.NotNil(t, got.FS)
	}
	_, err = cfg.ResolvePath(comp, "../../../fn")
	require.ErrorIs(t, err, ErrPathOutside)
	require.ErrorContains(t, err, "../../../fn, relative to a/b/app.yaml")
	_, err = cfg.ResolvePath(comp, "/srv/fn")
	require.ErrorIs(t, err, fs.ErrNotExist)
	require.ErrorContains(t, err, "write it relative to a/b/app.yaml")
	_, err = cfg.ResolvePath(comp, "")
	require.Error(t, err)
}

// TestResolvePathFSAbsolute: a filesystem that opens absolute paths (the operating system's,
// through ParseOptions' own reader) lets an absolute path through.
func TestResolvePathFSAbsolute(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "app.yaml"), []byte(lambdaDocs), 0o644))
	cfg, err := ParseFS(context.Background(), absFS{}, filepath.Join(dir, "app.yaml"))
	require.NoError(t, err)
	got, err := cfg.ResolvePath(cfg.Components[0], dir)
	require.NoError(t, err)
	require.Equal(t, dir, got.Path)
	require.Equal(t, fs.FS(absFS{}), got.FS)
}

// absFS is a filesystem taking absolute OS paths, as a caller's own fs.FS may.
type absFS struct{}

func (absFS) Open(name string) (fs.File, error) { return os.Open(name) }
