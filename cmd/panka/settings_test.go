package main

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func load(t *testing.T, file string, env map[string]string, args ...string) (*settings, error) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	configPath, values := registerSettings(fs)
	require.NoError(t, fs.Parse(args))
	dir := t.TempDir()
	t.Chdir(dir)
	if file != "" {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "panka.yaml"), []byte(file), 0o644))
	}
	return loadSettings(fs, *configPath, values, func(k string) string { return env[k] })
}

func TestSettingsPrecedence(t *testing.T) {
	s, err := load(t, "", nil)
	require.NoError(t, err)
	require.Equal(t, settings{Backend: "file", StateDir: ".panka", Prefix: "panka", LockTable: "panka-locks", Tenant: "default", Provider: "aws"}, *s)

	file := "backend: s3\nbucket: from-file\nprefix: p\nlockTable: locks\ntenant: team-a\n"
	s, err = load(t, file, nil)
	require.NoError(t, err)
	require.Equal(t, "from-file", s.Bucket)
	require.Equal(t, "team-a", s.Tenant)

	s, err = load(t, file, map[string]string{"PANKA_S3_BUCKET": "from-env", "PANKA_ALLOW_UNVERSIONED": "true"})
	require.NoError(t, err)
	require.Equal(t, "from-env", s.Bucket, "the environment overrides the file")
	require.True(t, s.AllowUnversioned)

	s, err = load(t, file, map[string]string{"PANKA_S3_BUCKET": "from-env"}, "--bucket", "from-flag", "--tenant", "team-b")
	require.NoError(t, err)
	require.Equal(t, "from-flag", s.Bucket, "a flag overrides the environment")
	require.Equal(t, "team-b", s.Tenant)
	require.Equal(t, "p", s.Prefix, "what nobody overrides keeps the file's value")
}

func TestSettingsErrorsPointAtTheirSource(t *testing.T) {
	_, err := load(t, "backend: s3\nbuckte: x\n", nil)
	require.EqualError(t, err, `panka.yaml:2:1: error: unknown field "buckte" in the document; did you mean "bucket"?`)

	_, err = load(t, "backend: s4\nbucket: b\nallowUnversioned: maybe\n", nil)
	require.EqualError(t, err, `panka.yaml:3:19: error: allowUnversioned must be true or false, not "maybe"`)

	_, err = load(t, "backend: s4\n", nil)
	require.EqualError(t, err, `panka.yaml:1:10: error: backend "s4": use file or s3`)

	_, err = load(t, "", map[string]string{"PANKA_BACKEND": "s3"})
	require.EqualError(t, err, `settings: backend s3 needs a bucket (bucket:, $PANKA_S3_BUCKET or --bucket)`)

	_, err = load(t, "", map[string]string{"PANKA_PROVIDER": "gcp"})
	require.EqualError(t, err, `settings: $PANKA_PROVIDER: provider "gcp": use sim or aws`)

	_, err = load(t, "", nil, "--endpoint", "localhost:4566")
	require.EqualError(t, err, `settings: --endpoint: endpoint "localhost:4566" must be an http:// or https:// URL`)

	_, err = load(t, "", map[string]string{"PANKA_ALLOW_UNVERSIONED": "perhaps"})
	require.EqualError(t, err, `$PANKA_ALLOW_UNVERSIONED="perhaps": use true or false`)

	_, err = load(t, "", nil, "--config", "missing.yaml")
	require.ErrorContains(t, err, "config file: stat missing.yaml")
}
