//go:build unix

package schema

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// parseFilesWithin runs ParseOptions.ParseFiles, failing the test if it has not returned within
// 5 s (reading a named pipe used to block forever, /dev/zero to exhaust memory).
func parseFilesWithin(t *testing.T, o ParseOptions, paths ...string) (*Config, error) {
	t.Helper()
	type result struct {
		cfg *Config
		err error
	}
	done := make(chan result, 1)
	go func() {
		cfg, err := o.ParseFiles(context.Background(), paths...)
		done <- result{cfg, err}
	}()
	select {
	case r := <-done:
		return r.cfg, r.err
	case <-time.After(5 * time.Second):
		t.Fatalf("ParseFiles(%q) did not return within 5s", paths)
		return nil, nil
	}
}

func TestParseFilesRefusesWhatIsNotARegularFile(t *testing.T) {
	_, err := os.Stat("/dev/zero")
	require.NoError(t, err, "every Unix has /dev/zero")
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.yaml"), []byte(prelude), 0o644))
	pipe := filepath.Join(dir, "pipe.yaml")
	require.NoError(t, syscall.Mkfifo(pipe, 0o644))
	require.NoError(t, os.Symlink("/dev/zero", filepath.Join(dir, "zero.yaml")))

	// Found in a directory: both are refused, and the regular file is still read.
	cfg, err := parseFilesWithin(t, ParseOptions{}, dir)
	require.EqualError(t, err, pipe+":1:1: error: not a regular file (a named pipe); Panka reads only regular YAML files\n"+
		filepath.Join(dir, "zero.yaml")+":1:1: error: not a regular file (a device); Panka reads only regular YAML files")
	require.Len(t, cfg.Services, 2)

	// Named on the command line.
	_, err = parseFilesWithin(t, ParseOptions{}, "/dev/zero", pipe)
	require.ErrorContains(t, err, "/dev/zero:1:1: error: not a regular file (a device)")
	require.ErrorContains(t, err, "pipe.yaml:1:1: error: not a regular file (a named pipe)")
}

func TestParseFilesBoundsFileSize(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.yaml")
	data := prelude + strings.Repeat("# padding\n", 100)
	require.NoError(t, os.WriteFile(big, []byte(data), 0o644))
	_, err := parseFilesWithin(t, ParseOptions{MaxFileSize: 1000}, big)
	require.EqualError(t, err, fmt.Sprintf("%s:1:1: error: file too large: %d bytes, over the limit of 1000 (ParseOptions.MaxFileSize); split it into several files", big, len(data)))
	_, err = parseFilesWithin(t, ParseOptions{MaxFileSize: 2000}, big)
	require.NoError(t, err)
	// The package's ParseFiles applies DefaultMaxFileSize.
	_, err = ParseFiles(context.Background(), big)
	require.NoError(t, err)
}
