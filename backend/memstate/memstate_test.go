package memstate_test

import (
	"testing"

	"github.com/panka/panka/backend"
	"github.com/panka/panka/backend/backendtest"
	"github.com/panka/panka/backend/memstate"
)

func TestConformance(t *testing.T) {
	backendtest.Run(t, func(*testing.T) backend.StateBackend { return memstate.New() })
}
