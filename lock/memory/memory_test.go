package memory_test

import (
	"testing"

	"github.com/panka/panka/lock"
	"github.com/panka/panka/lock/locktest"
	"github.com/panka/panka/lock/memory"
)

func TestConformance(t *testing.T) {
	locktest.Run(t, func(t *testing.T) lock.Locker { return memory.New() })
}
