// Package sim is a simulated cloud: a provider.Provider for every component kind that keeps its
// resources in memory, or in files shared by several processes. Importers use it to test
// platform tools without AWS, the benchmarks use it to measure the engine, and the CLI offers it
// as --provider sim.
//
// Guarantees:
//   - Deterministic: physical IDs, ARNs and outputs derive from the resource's kind, name,
//     region and account (and, for values such as ports, its spec) only; two fresh providers
//     given the same calls report the same values.
//   - Every output the kind declares in the schema is present and non-empty.
//   - Names are unique per kind: Create of a taken name fails with provider.ErrAlreadyExists,
//     whatever the kind (so a create-before-destroy replacement needs a new name).
//   - Specs and tags are deep-copied on the way in and out. Spec values are stored in canonical
//     form (int → int64, []string → []any, map[string]string → map[string]any ...), so a spec
//     reads back the same from memory and from a file; a value JSON cannot hold is an error.
//   - Safe for concurrent use. With Options.Path, also safe across processes, and crash-safe:
//     every change is appended to a log and fsynced under a file lock before it returns, and
//     the log is compacted into a snapshot replaced atomically. The cost of an operation
//     (Create, Read, Find, Update, Delete) does not grow with the number of resources.
//
// Operations (Create, Read, Find, Update, Delete) run in this order: the call is counted (see
// Calls); a done context fails it; an unsupported kind fails it with
// provider.ErrUnsupportedKind; fault rules are consulted (see Inject); the operation's latency
// elapses, honouring ctx; then the operation happens, or the injected error is returned. Errors
// name the operation, kind and resource ("read SQS <queue URL>: resource not found") and wrap
// the provider package's sentinels. Specs are not validated: that is the schema package's job.
package sim

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/panka/panka/provider"
	"github.com/panka/panka/schema"
	"github.com/panka/panka/state"
)

// Options configures a Provider. The zero value is a usable in-memory cloud.
type Options struct {
	Region    string // default "us-east-1"
	AccountID string // default "000000000000"
	// Latency is how long every operation takes; the wait ends early when ctx is done.
	Latency time.Duration
	// KindLatency overrides Latency for some kinds.
	KindLatency map[string]time.Duration
	// Path, if set, keeps the cloud in files instead of memory, so that separate processes
	// share one cloud, and a process killed at any point leaves it complete and consistent:
	// Path holds a JSON snapshot of the cloud, Path+".log" the changes made since (one JSON
	// line each), and Path+".lock" is the lock file. They are created, with their directory,
	// as needed. A change appends to the log and fsyncs it; the log is folded into the
	// snapshot when it grows past twice the snapshot's size (and 1 MiB), so an operation costs
	// the same in a cloud of ten resources or ten thousand. A missing or empty Path is an empty
	// cloud, and a cloud file written before the log existed loads as it is. Copy or remove
	// Path and Path+".log" together: the snapshot alone misses the latest changes.
	Path string
	// Now is the clock for the Created and Updated times of records; default time.Now. It never
	// affects IDs, ARNs or outputs.
	Now func() time.Time
}

// Provider is the simulated cloud. Create one with New. Its methods are safe for concurrent use.
type Provider struct {
	region, account string
	now             func() time.Time
	kinds           map[string]kindInfo
	store           store

	faults  faults
	latency latency
	calls   calls
}

// kindInfo is what a Provider knows about a supported kind, computed once by New.
type kindInfo struct {
	schema  provider.KindSchema
	outputs []string
}

var _ provider.Provider = (*Provider)(nil)

// addressTag is the ownership tag Find checks.
const addressTag = "panka:address"

// nonUniqueNames are the kinds whose AWS name is a tag or a comment, not a unique identifier.
var nonUniqueNames = map[string]bool{"EBS": true, "EFS": true, "CloudFront": true, "APIGateway": true}

// New returns a simulated cloud supporting every kind in schema.ComponentKinds(). With
// opts.Path it opens the cloud files, and fails if they cannot be read or do not hold a cloud.
func New(opts Options) (*Provider, error) {
	p := &Provider{
		region:  cmp.Or(opts.Region, "us-east-1"),
		account: cmp.Or(opts.AccountID, "000000000000"),
		now:     opts.Now,
		kinds:   make(map[string]kindInfo),
	}
	if p.now == nil {
		p.now = time.Now
	}
	p.latency.def = max(opts.Latency, 0)
	for k, d := range opts.KindLatency {
		p.SetKindLatency(k, max(d, 0))
	}
	for _, kind := range append(schema.ComponentKinds(), schema.InternalKinds()...) {
		var secret []string
		for _, f := range schema.Fields(kind) {
			if f.Secret {
				secret = append(secret, f.Path)
			}
		}
		p.kinds[kind] = kindInfo{
			schema: provider.KindSchema{
				ForceNew:   schema.ForceNewFields(kind),
				Secret:     secret,
				UniqueName: !nonUniqueNames[kind],
			},
			outputs: declaredOutputs(kind),
		}
	}
	if opts.Path == "" {
		p.store = &memStore{c: newCloud()}
		return p, nil
	}
	fs, err := newFileStore(opts.Path)
	if err != nil {
		return nil, err
	}
	p.store = fs
	return p, nil
}

// Target returns the region and account the simulated cloud stands for.
func (p *Provider) Target() provider.Target {
	return provider.Target{Provider: "aws", Region: p.region, Account: p.account}
}

// Schema returns the planning schema of kind: ForceNew and Secret from the schema package's
// field flags, and UniqueName for every kind except EBS, EFS, CloudFront and APIGateway. The
// slices are the caller's to keep.
func (p *Provider) Schema(kind string) (provider.KindSchema, bool) {
	k, ok := p.kinds[kind]
	if !ok {
		return provider.KindSchema{}, false
	}
	s := k.schema
	s.ForceNew = slices.Clone(s.ForceNew)
	s.Secret = slices.Clone(s.Secret)
	return s, true
}

// begin is the prologue every operation shares (see the package comment). It returns the kind's
// information, or the error that ends the call.
func (p *Provider) begin(ctx context.Context, op Op, kind string) (kindInfo, error) {
	p.calls[OpAny].Add(1)
	p.calls[op].Add(1)
	if err := ctx.Err(); err != nil {
		return kindInfo{}, err
	}
	k, ok := p.kinds[kind]
	if !ok {
		return kindInfo{}, provider.ErrUnsupportedKind
	}
	f := p.faults.match(op, kind)
	if f != nil && f.Hang {
		<-ctx.Done()
		return kindInfo{}, ctx.Err()
	}
	if err := wait(ctx, p.latency.of(kind)); err != nil {
		return kindInfo{}, err
	}
	if f != nil {
		if f.Err == nil {
			return kindInfo{}, fmt.Errorf("sim: injected fault: %w", provider.ErrTransient)
		}
		return kindInfo{}, f.Err
	}
	return k, nil
}

// Create makes the resource r.Name of kind r.Kind with ID, ARN and outputs derived as the package
// comment says. It fails with provider.ErrAlreadyExists if the kind already has a resource of
// that name (whatever its tags), and with a plain error if r.Name is empty or r.Spec holds a
// value JSON cannot.
func (p *Provider) Create(ctx context.Context, r provider.Resource) (*provider.Observed, error) {
	obs, err := p.create(ctx, r)
	if err != nil {
		return nil, fmt.Errorf("create %s %s: %w", r.Kind, r.Name, err)
	}
	return obs, nil
}

func (p *Provider) create(ctx context.Context, r provider.Resource) (*provider.Observed, error) {
	k, err := p.begin(ctx, OpCreate, r.Kind)
	if err != nil {
		return nil, err
	}
	if r.Name == "" {
		return nil, errors.New("empty name")
	}
	spec, err := normalizeSpec(r.Spec)
	if err != nil {
		return nil, err
	}
	now := p.clock()
	rec := &Record{
		Kind: r.Kind, Name: r.Name, Region: p.region, Account: p.account,
		Spec: spec, Tags: maps.Clone(r.Tags), Revision: 1, Created: now, Updated: now,
	}
	identify(rec)
	deriveOutputs(rec, k.outputs)
	obs := rec.observe()
	if err := p.store.update(ctx, func(c *cloud) error { return c.add(rec) }); err != nil {
		return nil, err
	}
	return obs, nil
}

// Read returns the resource of kind with physical ID id, or an error wrapping
// provider.ErrNotFound.
func (p *Provider) Read(ctx context.Context, kind, id string) (*provider.Observed, error) {
	if _, err := p.begin(ctx, OpRead, kind); err != nil {
		return nil, fmt.Errorf("read %s %s: %w", kind, id, err)
	}
	var obs *provider.Observed
	err := p.store.view(ctx, func(c *cloud) error {
		rec, ok := c.get(kind, id)
		if !ok {
			return provider.ErrNotFound
		}
		obs = rec.observe()
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read %s %s: %w", kind, id, err)
	}
	return obs, nil
}

// Find returns the resource of kind r.Kind named r.Name. If both r.Tags and the resource carry a
// "panka:address" tag and they differ, the resource belongs to someone else and Find reports
// provider.ErrNotFound, as it does when there is no resource of that name.
func (p *Provider) Find(ctx context.Context, r provider.Resource) (*provider.Observed, error) {
	if _, err := p.begin(ctx, OpFind, r.Kind); err != nil {
		return nil, fmt.Errorf("find %s %s: %w", r.Kind, r.Name, err)
	}
	var obs *provider.Observed
	err := p.store.view(ctx, func(c *cloud) error {
		rec, ok := c.byNameOf(r.Kind, r.Name)
		if !ok {
			return provider.ErrNotFound
		}
		want, have := r.Tags[addressTag], rec.Tags[addressTag]
		if want != "" && have != "" && want != have {
			return fmt.Errorf("%s %s has %s=%q, not %q: %w", rec.Kind, rec.ID, addressTag, have, want, provider.ErrNotFound)
		}
		obs = rec.observe()
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("find %s %s: %w", r.Kind, r.Name, err)
	}
	return obs, nil
}

// Update replaces the spec of the resource of kind r.Kind with ID id by r.Spec (and its tags by
// r.Tags, when r.Tags is not nil), bumps its revision and derives its outputs again. changed is
// not consulted: the sim applies any change in place. A missing resource is an error wrapping
// provider.ErrNotFound.
func (p *Provider) Update(ctx context.Context, id string, r provider.Resource, changed []string) (*provider.Observed, error) {
	obs, err := p.update(ctx, id, r)
	if err != nil {
		return nil, fmt.Errorf("update %s %s: %w", r.Kind, id, err)
	}
	return obs, nil
}

func (p *Provider) update(ctx context.Context, id string, r provider.Resource) (*provider.Observed, error) {
	k, err := p.begin(ctx, OpUpdate, r.Kind)
	if err != nil {
		return nil, err
	}
	spec, err := normalizeSpec(r.Spec)
	if err != nil {
		return nil, err
	}
	now := p.clock()
	var obs *provider.Observed
	err = p.store.update(ctx, func(c *cloud) error {
		rec, ok := c.get(r.Kind, id)
		if !ok {
			return provider.ErrNotFound
		}
		if err := provider.CheckOwner(r.Kind, id, rec.Tags, r.Tags); err != nil {
			return err
		}
		rec.Spec = spec
		if r.Tags != nil {
			rec.Tags = maps.Clone(r.Tags)
		}
		rec.Revision++
		rec.Updated = now
		deriveOutputs(rec, k.outputs)
		obs = rec.observe()
		return nil
	})
	return obs, err
}

// Delete removes the resource of kind r.Kind with ID id, unless its ownership tags name another
// owner than r.Tags (provider.CheckOwner); deleting a missing resource succeeds.
func (p *Provider) Delete(ctx context.Context, id string, r provider.Resource) error {
	kind := r.Kind
	if _, err := p.begin(ctx, OpDelete, kind); err != nil {
		return fmt.Errorf("delete %s %s: %w", kind, id, err)
	}
	err := p.store.update(ctx, func(c *cloud) error {
		rec, ok := c.get(kind, id)
		if !ok {
			return errNoChange
		}
		if err := provider.CheckOwner(kind, id, rec.Tags, r.Tags); err != nil {
			return err
		}
		c.remove(rec)
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete %s %s: %w", kind, id, err)
	}
	return nil
}

func (p *Provider) clock() time.Time { return p.now().UTC().Round(0) }

// Mutate changes the live resource with physical ID id behind Panka's back, as a console user
// would: fn receives a copy of its spec (an empty map if it has none) to change in place. The
// resource's revision grows and its outputs are derived again. Mutate is not an operation: it
// is not counted, delayed or subject to faults. fn runs under the cloud's lock and must not call
// the Provider; with Options.Path it may run on the goroutine of another call changing the
// cloud at the same time. A missing ID is an error wrapping provider.ErrNotFound.
func (p *Provider) Mutate(id string, fn func(spec map[string]any)) error {
	err := p.store.update(context.Background(), func(c *cloud) error {
		rec, err := c.lookupID(id)
		if err != nil {
			return err
		}
		spec := state.CloneMap(rec.Spec)
		if spec == nil {
			spec = map[string]any{}
		}
		fn(spec)
		if spec, err = normalizeSpec(spec); err != nil {
			return err
		}
		rec.Spec = spec
		rec.Revision++
		rec.Updated = p.clock()
		deriveOutputs(rec, p.kinds[rec.Kind].outputs)
		return nil
	})
	if err != nil {
		return fmt.Errorf("mutate %s: %w", id, err)
	}
	return nil
}

// MutateTags changes the tags of the live resource with physical ID id behind Panka's back, as
// Mutate changes its spec: fn receives a copy of its tags (an empty map if it has none).
func (p *Provider) MutateTags(id string, fn func(tags map[string]string)) error {
	err := p.store.update(context.Background(), func(c *cloud) error {
		rec, err := c.lookupID(id)
		if err != nil {
			return err
		}
		tags := maps.Clone(rec.Tags)
		if tags == nil {
			tags = map[string]string{}
		}
		fn(tags)
		rec.Tags = tags
		rec.Revision++
		rec.Updated = p.clock()
		return nil
	})
	if err != nil {
		return fmt.Errorf("mutate tags of %s: %w", id, err)
	}
	return nil
}

// Remove deletes the live resource with physical ID id behind Panka's back. Like Mutate, it is
// not an operation. A missing ID is an error wrapping provider.ErrNotFound.
func (p *Provider) Remove(id string) error {
	err := p.store.update(context.Background(), func(c *cloud) error {
		rec, err := c.lookupID(id)
		if err != nil {
			return err
		}
		c.remove(rec)
		return nil
	})
	if err != nil {
		return fmt.Errorf("remove %s: %w", id, err)
	}
	return nil
}

// Snapshot returns a copy of every resource in the cloud, sorted by ID (then kind). With
// Options.Path it reads the files, and fails if it cannot.
func (p *Provider) Snapshot() ([]Record, error) {
	var out []Record
	err := p.store.view(context.Background(), func(c *cloud) error {
		recs := c.records()
		out = make([]Record, len(recs))
		for i, r := range recs {
			out[i] = r.clone()
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Resources returns what Read would report for every resource, sorted by ID.
func (p *Provider) Resources() ([]provider.Observed, error) {
	var out []provider.Observed
	err := p.store.view(context.Background(), func(c *cloud) error {
		recs := c.records()
		out = make([]provider.Observed, len(recs))
		for i, r := range recs {
			out[i] = *r.observe()
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Count returns how many resources of kind exist ("" counts every kind).
func (p *Provider) Count(kind string) (int, error) {
	n := 0
	err := p.store.view(context.Background(), func(c *cloud) error {
		if kind == "" {
			n = len(c.byID)
			return nil
		}
		for k := range c.byID {
			if k.kind == kind {
				n++
			}
		}
		return nil
	})
	return n, err
}
