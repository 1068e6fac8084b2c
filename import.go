package panka

import (
	"context"
	"errors"
	"fmt"

	"github.com/panka/panka/provider"
	"github.com/panka/panka/state"
)

// ErrAlreadyManaged is wrapped by Import's error when the address is already in the state.
var ErrAlreadyManaged = errors.New("address already managed")

// Import adopts an existing cloud resource, physical ID id, as the component at addr of cfg: it
// takes the stack's lock, reads the resource through the provider and records what it read in
// the state. It changes nothing in the cloud; the next Plan shows the differences between the
// config and the resource (its spec and tags, the panka:* ownership tags included) as changes
// to make. It refuses an address that is not a component of cfg (ErrUnknownAddress) or that the
// state already records (ErrAlreadyManaged), a resource that does not exist
// (provider.ErrNotFound), and one whose panka:* tags name another owner (*provider.OwnershipError).
func Import(ctx context.Context, cfg *Config, addr, id string, opts Options) (_ *state.Resource, err error) {
	opts = opts.withDefaults()
	if err := opts.check(true); err != nil {
		return nil, err
	}
	e, err := newEngine(cfg, opts)
	if err != nil {
		return nil, err
	}
	d := e.want.byAddr[addr]
	if d == nil {
		known := map[string]bool{}
		for _, r := range e.want.Resources {
			known[r.Address] = true
		}
		return nil, unknownAddress("import", addr, known, e.key)
	}
	if _, ok := opts.Provider.Schema(d.Kind); !ok {
		return nil, fmt.Errorf("import %s: %w: the provider does not support %s", addr, provider.ErrUnsupportedKind, d.Kind)
	}
	hb, err := e.lock(ctx, "import")
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, e.unlock(ctx, hb)) }()
	st, version, err := e.readState(ctx)
	if err != nil {
		return nil, err
	}
	if st.Lookup(addr) != nil {
		return nil, fmt.Errorf("import %s: %w: the state of %s records it already", addr, ErrAlreadyManaged, e.key)
	}
	var obs *provider.Observed
	err = e.call(ctx, addr, d.Kind, "read", func(ctx context.Context) (err error) {
		obs, err = opts.Provider.Read(ctx, d.Kind, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("import %s (%s %s): %w", addr, d.Kind, id, err)
	}
	if err := provider.CheckOwner(d.Kind, obs.ID, obs.Tags, d.Tags); err != nil {
		return nil, fmt.Errorf("import %s: %w", addr, err)
	}
	name := d.Name
	if obs.Name != "" {
		name = obs.Name // the resource's own name: a plan replaces it if the config's differs
	}
	rec := &state.Resource{Address: addr, Kind: d.Kind, Name: name, ID: obs.ID, ARN: obs.ARN, Status: state.StatusCreated,
		Spec: obs.Spec, Outputs: obs.Outputs, Sensitive: e.secretOutputs(d.Kind, obs.Outputs), Dependencies: d.Dependencies, Tags: userTags(obs.Tags), Parts: obs.Parts}
	w := newStateWriter(opts.Backend, e.key, st.Snapshot(), version, 0)
	w.update(func(st *state.State) { st.Put(rec) })
	if err := w.close(context.WithoutCancel(ctx)); err != nil {
		return nil, fmt.Errorf("import %s: %w", addr, err)
	}
	e.events.emit(Event{Type: EventComplete, Address: addr, Kind: d.Kind, Message: "imported " + obs.ID})
	return rec.Clone(), nil
}
