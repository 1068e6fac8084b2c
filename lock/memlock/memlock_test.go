package memlock_test

import (
	"testing"
	"time"

	"github.com/panka/panka/lock"
	"github.com/panka/panka/lock/locktest"
	"github.com/panka/panka/lock/memlock"
)

func TestConformance(t *testing.T) {
	locktest.Run(t, func(t *testing.T) lock.Locker { return memlock.New(memlock.Options{}) })
}

func TestConformanceWithClock(t *testing.T) {
	locktest.RunWithClock(t, func(t *testing.T, now func() time.Time) lock.Locker {
		return memlock.New(memlock.Options{Now: now})
	})
}
