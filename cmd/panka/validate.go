package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/panka/panka"
)

// loadConfig parses and validates the config at paths for env, printing every diagnostic to
// stderr. It returns an *exitError if the config is invalid.
func loadConfig(ctx context.Context, paths []string, env string, maxFileSize int64, stderr io.Writer) (*panka.Config, panka.Diagnostics, error) {
	if len(paths) == 0 {
		paths = []string{"."}
	}
	cfg, err := panka.ParseOptions{MaxFileSize: maxFileSize}.ParseFiles(ctx, paths...)
	var diags panka.Diagnostics
	if err != nil {
		if !errors.As(err, &diags) {
			return nil, nil, err
		}
		printDiagnostics(stderr, diags)
		return nil, diags, &exitError{1}
	}
	diags = panka.Lint(cfg)
	if env != "" && !diags.HasErrors() {
		// What depends on the environment (and the default tenant's physical names).
		var target panka.Diagnostics
		if errors.As(panka.ValidateFor(cfg, "", env), &target) {
			diags = append(diags, target...)
		}
	}
	printDiagnostics(stderr, diags)
	if diags.HasErrors() {
		return cfg, diags, &exitError{1}
	}
	return cfg, diags, nil
}

func printDiagnostics(w io.Writer, diags panka.Diagnostics) {
	for _, d := range diags {
		fmt.Fprintln(w, d.String())
	}
}

func runValidate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("validate", stderr, "validate [--env ENV] PATH...")
	env := fs.String("env", "", "environment to validate for (default: every environment the stack declares)")
	paths, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	max, err := maxFileSizeFromEnv()
	if err != nil {
		return err
	}
	cfg, diags, err := loadConfig(ctx, paths, *env, max, stderr)
	if err != nil {
		return err
	}
	_, warnings := diags.Count()
	envs := cfg.Environments()
	if *env != "" {
		envs = []string{*env}
	}
	envDesc := fmt.Sprintf("environment %s", envs[0])
	if len(envs) > 1 {
		envDesc = fmt.Sprintf("%d environments", len(envs))
	}
	fmt.Fprintf(stdout, "Valid: stack %s, %s, %s, %s (%s)%s.\n",
		cfg.Stack().Metadata.Name, plural(len(cfg.Services), "service"), plural(len(cfg.Components), "component"),
		plural(len(cfg.Files), "file"), envDesc, warningSuffix(warnings))
	return nil
}

func plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func warningSuffix(n int) string {
	if n == 0 {
		return ""
	}
	return ", " + plural(n, "warning")
}

// maxFileSizeFromEnv is the file size limit for the commands that read no settings (validate,
// graph): $PANKA_MAX_FILE_SIZE, or 0 for the default.
func maxFileSizeFromEnv() (int64, error) {
	v := os.Getenv("PANKA_MAX_FILE_SIZE")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 {
		return 0, &usageError{fmt.Sprintf("$PANKA_MAX_FILE_SIZE=%q: give a number of bytes", v)}
	}
	return n, nil
}
