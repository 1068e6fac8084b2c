package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/panka/panka"
	"github.com/panka/panka/provider"
)

const importSummary = "import ADDR ID [--json] [flags as apply] PATH..."

// runImport implements `panka import ADDR ID PATH...`, like `terraform import`: it records the
// existing cloud resource with physical ID ID as the component at ADDR, under the stack's lock,
// changing nothing in the cloud. The next plan shows how the resource differs from the config.
// isConfigFile reports whether arg names a YAML file: a config PATH, not a physical ID.
func isConfigFile(arg string) bool {
	if ext := filepath.Ext(arg); ext != ".yaml" && ext != ".yml" {
		return false
	}
	info, err := os.Stat(arg)
	return err == nil && !info.IsDir()
}

func runImport(ctx context.Context, args []string, e *env) error {
	fs := newFlagSet("import", e.stderr, importSummary)
	var c common
	c.register(fs)
	fs.BoolVar(&c.json, "json", false, "print the recorded resource as JSON")
	paths, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(paths) < 2 || isConfigFile(paths[1]) {
		return &usageError{"import needs an address (service/component) and the resource's physical ID, then the config: panka " + importSummary}
	}
	addr, id, paths := paths[0], paths[1], paths[2:]
	cfg, err := c.loadForRun(ctx, paths, e.stderr)
	if err != nil {
		return err
	}
	env := c.environment(cfg)
	opts, closeFn, err := c.options(ctx, e, env, panka.TargetOf(cfg, env))
	if err != nil {
		return err
	}
	defer closeFn()
	r, err := panka.Import(ctx, cfg, addr, id, opts)
	var owned *provider.OwnershipError
	switch {
	case err == nil:
	case errors.Is(err, panka.ErrUnknownAddress):
		return withHint(err, "import adopts a resource for a component the configuration declares: add the component first (`panka graph` lists them)")
	case errors.Is(err, panka.ErrAlreadyManaged):
		return withHint(err, fmt.Sprintf("`panka state show %s` shows the resource recorded there", addr))
	case errors.Is(err, provider.ErrNotFound):
		return withHint(err, fmt.Sprintf("check the ID: it is the resource's physical ID, as `panka state show` prints it (a queue URL, a bucket name...), in %s", panka.TargetOf(cfg, env)))
	case errors.As(err, &owned):
		return withHint(err, "manage it from the deployment its panka:* tags name; importing it here would let two states manage one resource")
	default:
		return err
	}
	if c.json {
		return writeJSON(e.stdout, r)
	}
	fmt.Fprintf(e.stdout, "Imported %s (%s %s).\n", r.Address, r.Kind, r.ID)
	fmt.Fprintf(e.stdout, "Run `panka plan` to see how it differs from the configuration: the next apply makes it match.\n")
	return nil
}
