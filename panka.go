// Package panka is an embeddable SDK for deployment orchestration on AWS: it reads a Stack, its
// Services and their Components from Kubernetes-style YAML, validates them with positioned
// diagnostics, and (in later layers) plans and applies them with pluggable providers, state
// backends and lockers.
//
// The flow is Parse → Validate → Plan → Apply. Every entry point takes a context first; nothing in
// this package logs or writes to stdout on its own.
package panka

import (
	"context"
	"fmt"
	"io"
	"io/fs"

	"github.com/panka/panka/schema"
)

// Config is a parsed configuration: one Stack, its Services and Components. Validate checks it
// for every environment the stack declares. A validated Config is read-only and safe for
// concurrent use: Plan, Apply and the rest never write to it, so one Config may be planned for
// many tenants and environments from many goroutines at once. The tenant and the environment
// come from Options.
type Config = schema.Config

// Diagnostic is one problem at a FILE:LINE:COL position; Diagnostics is all of them, and is an
// error.
type (
	Diagnostic  = schema.Diagnostic
	Diagnostics = schema.Diagnostics
	Pos         = schema.Pos
)

// Parse reads the YAML files at paths: files, or directories searched recursively for *.yaml and
// *.yml (hidden directories skipped), in a stable order. Malformed documents (bad YAML, unknown
// apiVersion, kind or field, wrongly typed values) are reported together as a Diagnostics error;
// the partial Config is returned alongside so that tools can show more context. Parse is ParseFS
// on the operating system's files, with paths as the OS spells them.
//
// Local paths in specs (a Lambda's code.path) count from the directory of the file that writes
// them, as it was when Parse ran (a later os.Chdir changes nothing); absolute ones are used as
// they are. Plan reads and zips them (see Package).
func Parse(ctx context.Context, paths ...string) (*Config, error) {
	return schema.ParseFiles(ctx, paths...)
}

// ParseFS is Parse reading from fsys: an embed.FS, a checkout held in memory, a
// testing/fstest.MapFS. Paths are fs.FS paths ("." for the root, "stacks/web") and appear as
// they are in diagnostics. Local paths in specs (a Lambda's code.path) are read from fsys too,
// relative to the declaring file's directory; one leading out of fsys is refused, and so is an
// absolute one unless fsys opens it. The Config keeps fsys for Plan: fsys must stay readable
// while the Config is planned.
func ParseFS(ctx context.Context, fsys fs.FS, paths ...string) (*Config, error) {
	return schema.ParseFS(ctx, fsys, paths...)
}

// ParseOptions tunes parsing: ParseOptions{MaxFileSize: n}.ParseFiles(ctx, paths...) and
// .ParseFS(ctx, fsys, paths...) are Parse and ParseFS with a file size limit other than
// DefaultMaxFileSize. Whatever the options, parsing untrusted input ends in a Config or a
// Diagnostics error, in time and memory linear in its size; only regular files are read.
type ParseOptions = schema.ParseOptions

// DefaultMaxFileSize is the largest file Parse reads (64 MiB); a larger one is a diagnostic.
const DefaultMaxFileSize = schema.DefaultMaxFileSize

// ParseBytes parses data as the contents of a file called name (used in positions only):
// local paths in specs (a Lambda's code.path) count from the process's working directory at the
// time of Plan.
func ParseBytes(ctx context.Context, name string, data []byte) (*Config, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("parse %s: %w", name, err)
	}
	return schema.ParseBytes(name, data)
}

// ParseReader reads r to the end, or to DefaultMaxFileSize bytes (more is a diagnostic), and
// parses it as the contents of a file called name, as ParseBytes does.
func ParseReader(ctx context.Context, name string, r io.Reader) (*Config, error) {
	data, err := io.ReadAll(io.LimitReader(r, DefaultMaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", name, err)
	}
	return ParseBytes(ctx, name, data)
}

// Validate checks cfg as a whole (naming and physical-name lengths, references, interpolation,
// dependency cycles, secrets, and every kind's rules) and builds its dependency graph. It returns
// nil if cfg has no errors, and otherwise a Diagnostics holding every problem, warnings included,
// sorted by position. Use Lint to see warnings of a valid config.
func Validate(cfg *Config) error {
	return schema.Validate(cfg).Err()
}

// ValidateFor checks what depends on the tenant and the environment a validated cfg is deployed
// for: the environment is declared, the tenant's name is valid, and every physical name fits its
// AWS rules with the tenant's prefix. Plan runs it; it reads cfg and writes nothing.
func ValidateFor(cfg *Config, tenant, env string) error {
	return schema.CheckTarget(cfg, nameTenant(tenant), env).Err()
}

// Lint is Validate returning every diagnostic, warnings included, even when there is no error.
func Lint(cfg *Config) Diagnostics {
	return schema.Validate(cfg)
}
