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
	st, v, err := readState(ctx, b, key)
	if err == nil && v.base == "" {
		return nil, fmt.Errorf("read state %s: %w", key, backend.ErrNotFound)
	}
	return st, err
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

// RestoreState makes revision revisionID of the state at key (as listed by the backend's
// History) the current state again, under the stack's lock (opts.Backend, opts.Locker and the
// lock options are used). The revision must be key's own state (ErrStateMismatch otherwise). It
// is written as a new revision with a serial above the current one, so that plans made before
// the restore are stale; the current document, whatever it is, stays in the history.
func RestoreState(ctx context.Context, key backend.Key, revisionID string, opts Options) (_ *state.State, err error) {
	opts = opts.withDefaults()
	if key.Tenant == "" {
		key.Tenant = DefaultTenant
	}
	if opts.Backend == nil || opts.Locker == nil {
		return nil, fmt.Errorf("options: Backend and Locker are required")
	}
	if err := key.Validate(); err != nil {
		return nil, fmt.Errorf("restore state: %w", err)
	}
	e := &engine{opts: opts, key: key, events: &emitter{fn: opts.Events}}
	hb, err := e.lock(ctx, "restore")
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, e.unlock(ctx, hb)) }()
	data, err := opts.Backend.ReadRevision(ctx, key, revisionID)
	if err != nil {
		return nil, fmt.Errorf("restore state %s revision %s: %w", key, revisionID, err)
	}
	st, err := decodeState(data, key)
	if err != nil {
		return nil, fmt.Errorf("restore state revision %s: %w", revisionID, err)
	}
	// The current document is read as bytes: it may be the corrupt or foreign one being
	// replaced. Its serial, if it has one, is exceeded.
	current, version, err := opts.Backend.Read(ctx, key)
	if errors.Is(err, backend.ErrCorrupt) {
		// Damaged outside Panka: the newest revision is what Panka last wrote there.
		revs, herr := opts.Backend.History(ctx, key)
		if herr != nil || len(revs) == 0 {
			return nil, fmt.Errorf("restore state %s: %w", key, err)
		}
		version, err = revs[0].Version, nil
	}
	if err != nil && !errors.Is(err, backend.ErrNotFound) {
		return nil, fmt.Errorf("restore state %s: %w", key, err)
	}
	if cur, derr := state.Decode(current); derr == nil {
		st.Serial = max(st.Serial, cur.Serial)
	}
	st.Serial++
	out, err := st.Encode()
	if err != nil {
		return nil, err
	}
	if _, err := opts.Backend.Write(ctx, key, out, version); err != nil {
		return nil, fmt.Errorf("restore state %s: %w", key, err)
	}
	return st, nil
}
