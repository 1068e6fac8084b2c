package memory_test

import (
	"testing"

	"github.com/panka/panka/backend"
	"github.com/panka/panka/backend/backendtest"
	"github.com/panka/panka/backend/memory"
)

func TestConformance(t *testing.T) {
	backendtest.Run(t, func(*testing.T) backend.StateBackend { return memory.New() })
}
