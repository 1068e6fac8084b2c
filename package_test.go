package panka_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/panka/panka"
	"github.com/panka/panka/backend"
	"github.com/panka/panka/provider"
	"github.com/panka/panka/provider/sim"
	"github.com/panka/panka/schema"
)

// lambdaDoc is a Lambda whose code.path is path.
func lambdaDoc(path string) string {
	return "apiVersion: panka.io/v1\nkind: Lambda\nmetadata: {name: fn, service: api}\nspec:\n  runtime: python3.12\n  handler: app.handler\n  code: {path: " + path + "}\n"
}

// writeTree writes files (slash-separated names relative to dir, and contents) under dir.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
}

// unzip returns a zip's entries by name, checking that every entry has the fixed time and mode.
func unzip(t *testing.T, data []byte) map[string]string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	require.NoError(t, err)
	out := map[string]string{}
	var names []string
	for _, f := range zr.File {
		require.Equal(t, fs.FileMode(0o755), f.Mode(), f.Name)
		require.True(t, f.Modified.Equal(time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)), "%s: %s", f.Name, f.Modified)
		rc, err := f.Open()
		require.NoError(t, err)
		b, err := io.ReadAll(rc)
		require.NoError(t, err)
		require.NoError(t, rc.Close())
		out[f.Name] = string(b)
		names = append(names, f.Name)
	}
	require.IsIncreasing(t, names, "entries are sorted")
	return out
}

// parseDir writes a stack with the Lambda doc to dir/stack.yaml and parses it with Parse.
func parseDir(t *testing.T, dir, codePath string) *panka.Config {
	t.Helper()
	writeTree(t, dir, map[string]string{"stack.yaml": stackPrelude + lambdaDoc(codePath)})
	cfg, err := panka.Parse(context.Background(), filepath.Join(dir, "stack.yaml"))
	require.NoError(t, err)
	require.NoError(t, panka.Validate(cfg))
	return cfg
}

// codeOf returns the planned code mapping of api/fn.
func codeOf(t *testing.T, p *panka.PlanResult) map[string]any {
	t.Helper()
	for _, c := range p.Changes {
		if c.Address == "api/fn" {
			code, ok := c.Template["code"].(map[string]any)
			require.True(t, ok, "template %v", c.Template)
			return code
		}
	}
	t.Fatalf("no change for api/fn in %v", p.Changes)
	return nil
}

var fnTree = map[string]string{
	"fn/app.py":            "def handler(e, c): return 1\n",
	"fn/lib/util.py":       "X = 1\n",
	"fn/lib.txt":           "sorts between lib and lib/util.py",
	"fn/.hidden/config":    "hidden files are packaged",
	"fn/a/b/c/deep.py":     "deep",
	"fn/nested/z/last.txt": "z",
}

// TestPackageIsDeterministic: the same files in two directories, with other modification times
// and modes, give the same bytes and so the same code.sha256; changing one byte changes it.
func TestPackageIsDeterministic(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	writeTree(t, a, fnTree)
	writeTree(t, b, fnTree)
	old := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	require.NoError(t, filepath.WalkDir(b, func(p string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		if !d.IsDir() {
			require.NoError(t, os.Chmod(p, 0o600))
		}
		return os.Chtimes(p, old, old)
	}))
	za, err := panka.PackagePath(nil, filepath.Join(a, "fn"), panka.DefaultMaxPackageSize)
	require.NoError(t, err)
	zb, err := panka.PackagePath(nil, filepath.Join(b, "fn"), panka.DefaultMaxPackageSize)
	require.NoError(t, err)
	require.Equal(t, za, zb)
	require.Equal(t, map[string]string{
		".hidden/config": "hidden files are packaged", "a/b/c/deep.py": "deep", "app.py": "def handler(e, c): return 1\n",
		"lib.txt": "sorts between lib and lib/util.py", "lib/util.py": "X = 1\n", "nested/z/last.txt": "z",
	}, unzip(t, za))

	// Through Plan: the same sha for both configs, the base64 SHA-256 of the zip.
	ctx := context.Background()
	h := newHarness(t)
	pa, err := panka.Plan(ctx, parseDir(t, a, "./fn"), h.opts())
	require.NoError(t, err)
	pb, err := panka.Plan(ctx, parseDir(t, b, "./fn"), h.opts())
	require.NoError(t, err)
	require.Equal(t, panka.SHA256Base64(za), codeOf(t, pa)["sha256"])
	require.Equal(t, codeOf(t, pa), codeOf(t, pb))
	require.Equal(t, "./fn", codeOf(t, pa)["path"], "path stays as written")

	writeTree(t, b, map[string]string{"fn/lib/util.py": "X = 2\n"})
	pb, err = panka.Plan(ctx, parseDir(t, b, "./fn"), h.opts())
	require.NoError(t, err)
	require.NotEqual(t, codeOf(t, pa)["sha256"], codeOf(t, pb)["sha256"])
}

// TestPackageFile: code.path naming a file packages that one file under its base name.
func TestPackageFile(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"src/handler.py": "print(1)"})
	z, err := panka.PackagePath(nil, filepath.Join(dir, "src", "handler.py"), panka.DefaultMaxPackageSize)
	require.NoError(t, err)
	require.Equal(t, map[string]string{"handler.py": "print(1)"}, unzip(t, z))

	p, err := panka.Plan(context.Background(), parseDir(t, dir, "src/handler.py"), newHarness(t).opts())
	require.NoError(t, err)
	require.Equal(t, panka.SHA256Base64(z), codeOf(t, p)["sha256"])
	require.Equal(t, filepath.Join(dir, "src", "handler.py"), p.Changes[0].Packages["code"].Path)
}

// TestPackageErrors: a missing path, a symbolic link (at the top or inside) and a zip over the
// limit fail the plan with an error naming the position of code.path, the component, the path
// and what to do.
func TestPackageErrors(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	dir := t.TempDir()
	cfg := parseDir(t, dir, "./fn")
	pos := filepath.Join(dir, "stack.yaml") + ":18:" // the line of code: {path: ...}

	_, err := panka.Plan(ctx, cfg, h.opts())
	require.ErrorIs(t, err, fs.ErrNotExist)
	msg := err.Error()
	for _, want := range []string{pos, "api/fn", "code.path ./fn: no such file or directory", "looked for " + filepath.Join(dir, "fn"), "build the code first"} {
		require.Contains(t, msg, want)
	}
	require.Zero(t, h.sim.Calls(sim.OpAny), "nothing was asked of the provider")

	// A symbolic link inside the directory.
	writeTree(t, dir, map[string]string{"fn/app.py": "x", "elsewhere/secret": "y"})
	require.NoError(t, os.Symlink(filepath.Join(dir, "elsewhere", "secret"), filepath.Join(dir, "fn", "link")))
	_, err = panka.Plan(ctx, cfg, h.opts())
	require.ErrorContains(t, err, "api/fn: code.path ./fn: "+filepath.Join(dir, "fn")+": link is a symbolic link")
	require.ErrorContains(t, err, pos)

	// code.path itself a symbolic link.
	require.NoError(t, os.Symlink(filepath.Join(dir, "elsewhere"), filepath.Join(dir, "fnlink")))
	_, err = panka.Plan(ctx, parseDir(t, dir, "./fnlink"), h.opts())
	require.ErrorContains(t, err, filepath.Join(dir, "fnlink")+" is a symbolic link")

	// A directory without files (only empty directories) has nothing to deploy.
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "empty", "sub"), 0o755))
	_, err = panka.Plan(ctx, parseDir(t, dir, "./empty"), h.opts())
	require.ErrorContains(t, err, pos+"16: api/fn: code.path ./empty: "+filepath.Join(dir, "empty")+" is a directory without files")

	// Too large: a small limit instead of a 50 MB file.
	require.NoError(t, os.Remove(filepath.Join(dir, "fn", "link")))
	writeTree(t, dir, map[string]string{"fn/big.bin": strings.Repeat("incompressible? no, but long enough. ", 100)})
	_, err = panka.Plan(ctx, cfg, panka.WithMaxPackageSize(h.opts(), 200))
	require.ErrorIs(t, err, panka.ErrPackageTooLarge)
	for _, want := range []string{pos, "api/fn", "code.path ./fn", "exceeds 200 bytes", "code.s3Bucket and code.s3Key"} {
		require.Contains(t, err.Error(), want)
	}
	_, err = panka.Plan(ctx, cfg, h.opts())
	require.NoError(t, err, "the default limit takes it")
}

// TestPackageParseFS: with ParseFS, code.path is read from the same fs.FS, relative to the
// declaring file's directory; it may not leave the filesystem, and an absolute path the
// filesystem cannot open is refused.
func TestPackageParseFS(t *testing.T) {
	ctx := context.Background()
	fsys := fstest.MapFS{
		"stacks/app.yaml":        {Data: []byte(stackPrelude + lambdaDoc("./fn"))},
		"stacks/fn/app.py":       {Data: []byte("from fs")},
		"stacks/fn/lib/x.py":     {Data: []byte("x")},
		"stacks/up.yaml.tmpl":    {Data: []byte("not read")},
		"outside/app.yaml":       {Data: []byte(stackPrelude + lambdaDoc("../../../fn"))},
		"absolute/app.yaml":      {Data: []byte(stackPrelude + lambdaDoc("/srv/fn"))},
		"stacks/fn/.env.example": {Data: []byte("A=1")},
	}
	cfg, err := panka.ParseFS(ctx, fsys, "stacks")
	require.NoError(t, err)
	require.NoError(t, panka.Validate(cfg))
	h := newHarness(t)
	rec := &recordFiles{Provider: h.sim}
	opts := h.opts()
	opts.Provider = rec
	p, err := panka.Plan(ctx, cfg, opts)
	require.NoError(t, err)
	require.Equal(t, panka.Package{Path: "stacks/fn", FS: true, SHA256: codeOf(t, p)["sha256"].(string)}, p.Changes[0].Packages["code"])

	// Applied in memory, the plan reads the files from its config's fs.FS.
	_, err = panka.ApplyPlan(ctx, p, opts)
	require.NoError(t, err)
	require.Equal(t, map[string]string{"app.py": "from fs", "lib/x.py": "x", ".env.example": "A=1"}, unzip(t, rec.only(t, "create")))

	// Saved and read back, it needs Options.SourceFS.
	fsys["stacks/fn/app.py"] = &fstest.MapFile{Data: []byte("from fs, v2")}
	p, err = panka.Plan(ctx, cfg, opts)
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, panka.WritePlan(&buf, p))
	saved, err := panka.ReadPlan(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	_, err = panka.ApplyPlan(ctx, saved, opts)
	require.ErrorContains(t, err, "set Options.SourceFS")
	opts.SourceFS = fsys
	_, err = panka.ApplyPlan(ctx, saved, opts)
	require.NoError(t, err)
	require.Equal(t, "from fs, v2", unzip(t, rec.only(t, "update"))["app.py"])

	for dir, want := range map[string]error{"outside": schema.ErrPathOutside, "absolute": fs.ErrNotExist} {
		cfg, err := panka.ParseFS(ctx, fsys, dir)
		require.NoError(t, err)
		_, err = panka.Plan(ctx, cfg, newHarness(t).opts())
		require.ErrorIs(t, err, want, dir)
		require.ErrorContains(t, err, dir+"/app.yaml:18:")
	}
}

// recordFiles records the Files a provider receives on Create and Update.
type recordFiles struct {
	provider.Provider
	mu    sync.Mutex
	calls []filesCall
}

type filesCall struct {
	op      string
	address string
	files   map[string][]byte
}

func (p *recordFiles) add(op string, r provider.Resource) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, filesCall{op, r.Address, r.Files})
}

func (p *recordFiles) Create(ctx context.Context, r provider.Resource) (*provider.Observed, error) {
	p.add("create", r)
	return p.Provider.Create(ctx, r)
}

func (p *recordFiles) Update(ctx context.Context, id string, r provider.Resource, changed []string) (*provider.Observed, error) {
	p.add("update", r)
	return p.Provider.Update(ctx, id, r, changed)
}

// only returns the code zip of the one call recorded since the last take, which must be op,
// and forgets the calls.
func (p *recordFiles) only(t *testing.T, op string) []byte {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	calls := p.calls
	p.calls = nil
	require.Len(t, calls, 1)
	require.Equal(t, op, calls[0].op)
	require.Len(t, calls[0].files, 1)
	return calls[0].files["code"]
}

// TestLambdaCodeLifecycle with the simulator: create hands the zip to the provider; a second
// plan has no changes; a changed file plans exactly one in-place update of code.sha256, which
// hands the new zip over; the state records the sha and never the bytes; drift of the sha is
// reported.
func TestLambdaCodeLifecycle(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	rec := &recordFiles{Provider: h.sim}
	opts := h.opts()
	opts.Provider = rec
	dir := t.TempDir()
	marker := "MARKER-" + strings.Repeat("7", 40)
	writeTree(t, dir, map[string]string{"fn/app.py": marker})
	cfg := parseDir(t, dir, "./fn")

	_, err := panka.Apply(ctx, cfg, opts)
	require.NoError(t, err)
	z := rec.only(t, "create")
	require.Equal(t, map[string]string{"app.py": marker}, unzip(t, z))
	sha := panka.SHA256Base64(z)
	require.Equal(t, sha, h.readState().Lookup("api/fn").Spec["code"].(map[string]any)["sha256"])

	p, err := panka.Plan(ctx, cfg, opts)
	require.NoError(t, err)
	require.False(t, p.HasChanges())
	require.Nil(t, p.Changes[0].Packages, "a no-op packages nothing for apply")
	var text bytes.Buffer
	require.NoError(t, panka.WritePlanText(&text, p))
	require.Contains(t, text.String(), "No changes")

	writeTree(t, dir, map[string]string{"fn/app.py": marker + "v2"})
	p, err = panka.Plan(ctx, cfg, opts)
	require.NoError(t, err)
	require.Equal(t, panka.Summary{Change: 1}, p.Summary)
	require.Equal(t, panka.ActionUpdate, p.Changes[0].Action)
	require.Len(t, p.Changes[0].Fields, 1)
	f := p.Changes[0].Fields[0]
	require.Equal(t, "code.sha256", f.Path)
	require.Equal(t, sha, f.Before)
	require.NotEqual(t, sha, f.After)
	text.Reset()
	require.NoError(t, panka.WritePlanText(&text, p))
	require.Contains(t, text.String(), "code.sha256")

	var planFile bytes.Buffer
	require.NoError(t, panka.WritePlan(&planFile, p))
	res, err := panka.Apply(ctx, cfg, opts)
	require.NoError(t, err)
	require.Equal(t, 1, res.Counts.Succeeded)
	z2 := rec.only(t, "update")
	require.Equal(t, marker+"v2", unzip(t, z2)["app.py"])
	require.Equal(t, f.After, panka.SHA256Base64(z2))

	// Neither the state nor the plan file holds the bytes.
	data, _, err := h.state.Read(ctx, backend.Key{Tenant: "default", Stack: "shop", Environment: "default"})
	require.NoError(t, err)
	for _, doc := range [][]byte{data, planFile.Bytes()} {
		for _, bad := range []string{marker, base64.StdEncoding.EncodeToString(z), base64.StdEncoding.EncodeToString(z2)} {
			require.NotContains(t, string(doc), bad)
		}
	}
	require.Contains(t, planFile.String(), `"sha256": "`+f.After.(string)+`"`)
	require.Contains(t, string(data), f.After.(string))

	p, err = panka.Plan(ctx, cfg, opts)
	require.NoError(t, err)
	require.False(t, p.HasChanges())

	// Someone uploads other code by hand: the refreshed sha differs and the plan shows it.
	require.NoError(t, h.sim.Mutate(h.readState().Lookup("api/fn").ID, func(s map[string]any) {
		s["code"] = map[string]any{"path": "./fn", "sha256": "b3RoZXI="}
	}))
	p, err = panka.Plan(ctx, cfg, opts)
	require.NoError(t, err)
	require.Len(t, p.Drift, 1)
	require.Equal(t, "code.sha256", p.Drift[0].Fields[0].Path)
	require.Equal(t, panka.ActionUpdate, p.Changes[0].Action)
	require.Equal(t, "b3RoZXI=", p.Changes[0].Fields[0].Before)

	// A forced replacement hands the zip to the new resource's Create.
	replace := opts
	replace.Replace = []string{"api/fn"}
	rec.calls = nil
	_, err = panka.Apply(ctx, cfg, replace)
	require.NoError(t, err)
	require.Equal(t, marker+"v2", unzip(t, rec.only(t, "create"))["app.py"])

	// Destroy needs no code: a missing directory does not stop it.
	require.NoError(t, os.RemoveAll(filepath.Join(dir, "fn")))
	_, err = panka.Destroy(ctx, cfg, opts)
	require.NoError(t, err)
	require.Zero(t, h.count("Lambda"))
}

// TestSavedPlanWithCode: a saved plan records the resolved path, so it applies from another
// working directory; if the code changed since the plan, ApplyPlan refuses it with
// ErrStalePlan before changing anything.
func TestSavedPlanWithCode(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	rec := &recordFiles{Provider: h.sim}
	opts := h.opts()
	opts.Provider = rec
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"fn/app.py": "v1", "stack.yaml": stackPrelude + lambdaDoc("./fn")})
	t.Chdir(dir)
	cfg, err := panka.Parse(ctx, "stack.yaml") // a relative file name
	require.NoError(t, err)
	require.NoError(t, panka.Validate(cfg))
	save := func() *panka.PlanResult {
		t.Helper()
		p, err := panka.Plan(ctx, cfg, opts)
		require.NoError(t, err)
		var buf bytes.Buffer
		require.NoError(t, panka.WritePlan(&buf, p))
		saved, err := panka.ReadPlan(&buf)
		require.NoError(t, err)
		return saved
	}
	saved := save()
	require.Equal(t, filepath.Join(dir, "fn"), saved.Changes[0].Packages["code"].Path)

	t.Chdir(t.TempDir())
	_, err = panka.ApplyPlan(ctx, saved, opts)
	require.NoError(t, err)
	require.Equal(t, map[string]string{"app.py": "v1"}, unzip(t, rec.only(t, "create")))

	// The config is still read relative to where it was parsed, after a chdir.
	t.Chdir(t.TempDir())
	writeTree(t, dir, map[string]string{"fn/app.py": "v2"})
	saved = save()
	require.Equal(t, panka.ActionUpdate, saved.Changes[0].Action)
	serial := h.readState().Serial
	writeTree(t, dir, map[string]string{"fn/app.py": "v3"})
	_, err = panka.ApplyPlan(ctx, saved, opts)
	require.ErrorIs(t, err, panka.ErrStalePlan)
	require.ErrorContains(t, err, "api/fn: the code at "+filepath.Join(dir, "fn")+" changed since the plan was made")
	require.ErrorContains(t, err, "plan again")
	require.Empty(t, rec.calls)
	require.Equal(t, serial, h.readState().Serial, "the state was not written")

	// A missing directory is an error too, and changes nothing.
	require.NoError(t, os.RemoveAll(filepath.Join(dir, "fn")))
	_, err = panka.ApplyPlan(ctx, saved, opts)
	require.ErrorIs(t, err, fs.ErrNotExist)
	require.Empty(t, rec.calls)
}

// TestPackageFromBytesConfig: a config parsed from bytes reads code.path relative to the
// process's working directory.
func TestPackageFromBytesConfig(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"fn/app.py": "cwd"})
	t.Chdir(dir)
	p, err := panka.Plan(context.Background(), config(t, lambdaDoc("./fn")), newHarness(t).opts())
	require.NoError(t, err)
	require.Equal(t, filepath.Join(dir, "fn"), p.Changes[0].Packages["code"].Path)
}

// TestConcurrentPlansPackageAlike: 16 goroutines planning one Config at once (under -race)
// get the same sha, and the Config is not written.
func TestConcurrentPlansPackageAlike(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, fnTree)
	cfg := parseDir(t, dir, "./fn")
	h := newHarness(t)
	want, err := panka.PackagePath(nil, filepath.Join(dir, "fn"), panka.DefaultMaxPackageSize)
	require.NoError(t, err)
	shas := make([]any, 16)
	var wg sync.WaitGroup
	for i := range shas {
		wg.Go(func() {
			p, err := panka.Plan(context.Background(), cfg, h.opts())
			if err != nil {
				t.Error(err)
				return
			}
			shas[i] = p.Changes[0].Template["code"].(map[string]any)["sha256"]
		})
	}
	wg.Wait()
	for _, s := range shas {
		require.Equal(t, panka.SHA256Base64(want), s)
	}
}

// TestPackageSizeIsChecked: the limit applies to the zip, through PackagePath directly.
func TestPackageSizeIsChecked(t *testing.T) {
	_, err := panka.PackagePath(fstest.MapFS{"fn/a": {Data: bytes.Repeat([]byte{1}, 10)}}, "fn", 10)
	require.True(t, errors.Is(err, panka.ErrPackageTooLarge), "%v", err)
	z, err := panka.PackagePath(fstest.MapFS{"fn/a": {Data: []byte("a")}}, "fn", 1000)
	require.NoError(t, err)
	require.Equal(t, map[string]string{"a": "a"}, unzip(t, z))
}

// TestPackagePathVariables: code.path may use variables, resolved before the path is read, but
// not another component's outputs, which are known only after apply.
func TestPackagePathVariables(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"fn-1/a.py": "x"})
	t.Chdir(dir)
	p, err := panka.Plan(ctx, config(t, lambdaDoc(`"./fn-${TAG}"`)), newHarness(t).opts())
	require.NoError(t, err)
	require.Equal(t, filepath.Join(dir, "fn-1"), p.Changes[0].Packages["code"].Path)
	require.Equal(t, "./fn-1", codeOf(t, p)["path"])

	sqs := "apiVersion: panka.io/v1\nkind: SQS\nmetadata: {name: q, service: api}\nspec: {}\n---\n"
	_, err = panka.Plan(ctx, config(t, sqs+lambdaDoc(`"./fn-${q.queueUrl}"`)), newHarness(t).opts())
	require.ErrorContains(t, err, "test.yaml:23:17: api/fn: code.path ./fn-${api.q.queueUrl}: a local path cannot use another component's outputs")
}

// shaOnly reads back a Lambda's code as AWS can: its sha256, not the local path.
type shaOnly struct{ provider.Provider }

func (p shaOnly) Read(ctx context.Context, kind, id string) (*provider.Observed, error) {
	obs, err := p.Provider.Read(ctx, kind, id)
	if err != nil || kind != "Lambda" {
		return obs, err
	}
	c := *obs
	c.Spec = maps.Clone(obs.Spec)
	code := obs.Spec["code"].(map[string]any)
	c.Spec["code"] = map[string]any{"sha256": code["sha256"]}
	return &c, nil
}

// TestReadBackWithoutPath: a provider that reads back code.sha256 but not code.path plans no
// changes for unchanged code, and shows a sha changed outside Panka as drift of code.sha256
// alone.
func TestReadBackWithoutPath(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	opts := h.opts()
	opts.Provider = shaOnly{h.sim}
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"fn/app.py": "v1"})
	cfg := parseDir(t, dir, "./fn")
	_, err := panka.Apply(ctx, cfg, opts)
	require.NoError(t, err)
	p, err := panka.Plan(ctx, cfg, opts)
	require.NoError(t, err)
	require.False(t, p.HasChanges())

	require.NoError(t, h.sim.Mutate(h.readState().Lookup("api/fn").ID, func(s map[string]any) {
		s["code"] = map[string]any{"sha256": "b3RoZXI="}
	}))
	p, err = panka.Plan(ctx, cfg, opts)
	require.NoError(t, err)
	require.Len(t, p.Drift, 1)
	require.Equal(t, []panka.FieldDiff{{Path: "code.sha256", Before: codeOf(t, p)["sha256"], After: "b3RoZXI="}}, p.Drift[0].Fields)
	require.Equal(t, []panka.FieldDiff{{Path: "code.sha256", Before: "b3RoZXI=", After: codeOf(t, p)["sha256"]}}, p.Changes[0].Fields)
}
