package panka

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/panka/panka/backend"
	"github.com/panka/panka/state"
)

// StateKey names the state of one tenant's stack in one environment; an empty Tenant is
// DefaultTenant. Callers never need to know how a backend lays states out.
func StateKey(tenant, stack, env string) (backend.Key, error) {
	return stateKey(cmp.Or(tenant, DefaultTenant), stack, env)
}

// ReadState reads and decodes the state at key, as the engine would: a document that is not a
// valid state is an error wrapping backend.ErrCorrupt, a key with no state one wrapping
// backend.ErrNotFound. The state returned is the caller's.
func ReadState(ctx context.Context, b backend.StateBackend, key backend.Key) (*state.State, error) {
	if key.Tenant == "" {
		key.Tenant = DefaultTenant
	}
	if err := key.Validate(); err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	data, _, err := b.Read(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("read state %s: %w", key, err)
	}
	st, err := state.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("read state %s: %w", key, err)
	}
	return st, nil
}

// Output is one output of one resource, as the last run recorded it.
type Output struct {
	Address string `json:"address"` // "service/component"
	Kind    string `json:"kind"`
	Name    string `json:"name"` // "url", "arn", ...
	Value   string `json:"value"`
	// Sensitive marks a secret value: show it masked unless the user asks for it.
	Sensitive bool `json:"sensitive,omitempty"`
}

// Outputs returns every output recorded in the state at key (every resource that exists, not
// the pending ones), sorted by address, then name. A key with no state has no outputs.
func Outputs(ctx context.Context, b backend.StateBackend, key backend.Key) ([]Output, error) {
	st, err := ReadState(ctx, b, key)
	if errors.Is(err, backend.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Output
	for _, r := range st.Resources {
		if r.Status != state.StatusCreated {
			continue
		}
		for name, v := range r.Outputs {
			out = append(out, Output{Address: r.Address, Kind: r.Kind, Name: name, Value: v, Sensitive: slices.Contains(r.Sensitive, name)})
		}
	}
	slices.SortFunc(out, func(a, b Output) int {
		return cmp.Or(strings.Compare(a.Address, b.Address), strings.Compare(a.Name, b.Name))
	})
	return out, nil
}
