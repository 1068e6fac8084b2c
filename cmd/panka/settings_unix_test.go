//go:build unix

package main

import (
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSettingsFileMustBeRegular: a named pipe as panka.yaml, read by every command, is refused
// at once instead of blocking the command for ever.
func TestSettingsFileMustBeRegular(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "panka.yaml")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	_, err := load(t, "", nil, "--config", fifo)
	require.ErrorContains(t, err, "panka.yaml is not a regular file")
	_, err = load(t, "", nil, "--config", "/dev/zero")
	require.ErrorContains(t, err, "/dev/zero is not a regular file")
}
