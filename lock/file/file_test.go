package file_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/panka/panka/lock"
	"github.com/panka/panka/lock/file"
	"github.com/panka/panka/lock/locktest"
)

func TestConformance(t *testing.T) {
	locktest.Run(t, func(t *testing.T) lock.Locker {
		l, err := file.New(t.TempDir())
		require.NoError(t, err)
		return l
	})
}
