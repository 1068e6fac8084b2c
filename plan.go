package panka

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/panka/panka/backend"
	"github.com/panka/panka/provider"
	"github.com/panka/panka/schema"
	"github.com/panka/panka/state"
)

// Action is what a plan does to one resource.
type Action string

const (
	ActionNoop    Action = "no-op"
	ActionCreate  Action = "create"
	ActionUpdate  Action = "update"
	ActionReplace Action = "replace"
	ActionDelete  Action = "delete"
	// ActionForget removes a resource from state without calling the provider: it was deleted
	// outside Panka and is no longer in the config.
	ActionForget Action = "forget"
)

// Mode is the kind of plan.
type Mode string

const (
	ModeApply       Mode = "apply"
	ModeDestroy     Mode = "destroy"
	ModeRefreshOnly Mode = "refresh-only"
)

// PlanFormatVersion is the saved-plan encoding this package writes and reads.
const PlanFormatVersion = 2

// PlanResult is a plan: what Apply will do, against which state. It is serialisable (WritePlan,
// ReadPlan) and self-contained: applying a saved plan needs no config. Apply refuses a plan whose
// state lineage or serial no longer match (ErrStalePlan).
type PlanResult struct {
	FormatVersion int    `json:"formatVersion"`
	Mode          Mode   `json:"mode"`
	Tenant        string `json:"tenant"`
	Stack         string `json:"stack"`
	Environment   string `json:"environment"`
	// Target is where the plan deploys (provider, region, account), resolved from the stack and
	// the environment's overrides. Applying the plan refuses a provider bound elsewhere.
	Target provider.Target `json:"target"`
	// Lineage and Serial identify the state this plan was made against ("" and 0: no state yet).
	Lineage string `json:"lineage"`
	Serial  int64  `json:"serial"`
	// ConfigDigest is a digest of the desired resources (the config after variable resolution):
	// every change's template, dependencies and tags. WritePlan sets it.
	ConfigDigest string    `json:"configDigest"`
	CreatedAt    time.Time `json:"createdAt"`
	Changes      []*Change `json:"changes"`
	// Drift lists changes made outside Panka since the last apply, found by refreshing.
	Drift   []*Change `json:"drift,omitempty"`
	Summary Summary   `json:"summary"`
	// Groups maps each service that others depend on to its component addresses.
	Groups map[string][]string `json:"groups,omitempty"`
	// Digest protects a saved plan against edits and truncation; WritePlan sets it.
	Digest string `json:"digest"`

	// SourceFS is the fs.FS of the Config the plan was made from (ParseFS) when a change
	// packages local files from it: ApplyPlan of this plan reads them again there. It is not
	// saved: give a plan read back from a file Options.SourceFS. Nil for a config read from the
	// operating system's files.
	SourceFS fs.FS `json:"-"`
}

// Change is the plan for one resource.
type Change struct {
	Address string `json:"address"`
	Kind    string `json:"kind"`
	Name    string `json:"name"`
	Action  Action `json:"action"`
	Reason  string `json:"reason,omitempty"`
	// Fields lists the differences, for display; unknown values read "(known after apply)".
	Fields []FieldDiff `json:"fields,omitempty"`
	// DestroyFirst is set on a replace that must delete the old resource before creating the new
	// one (its physical name is unique).
	DestroyFirst bool `json:"destroyFirst,omitempty"`
	// Protected is set on a delete or replace of a resource whose deletion protection is on:
	// Apply refuses the plan (ErrDeletionProtected) until the config turns it off and that is
	// applied first, as AWS itself would refuse the deletion.
	Protected bool `json:"protected,omitempty"`
	// Prior is the refreshed state of the resource, nil if it does not exist.
	Prior *state.Resource `json:"prior,omitempty"`
	// Template is the desired spec with output references left to resolve at apply time.
	Template map[string]any `json:"template,omitempty"`
	// Dependencies are what this resource waits for (addresses and service group ids).
	Dependencies []string          `json:"dependencies,omitempty"`
	Tags         map[string]string `json:"tags,omitempty"`
	// Packages are the local files a create, update or replace uploads, by spec field ("code":
	// a Lambda's code.path): where they are and the SHA-256 of their zip, which Template
	// carries too. ApplyPlan packages them again and refuses the plan (ErrStalePlan) if one
	// changed; the bytes are never in the plan.
	Packages map[string]Package `json:"packages,omitempty"`
}

// FieldDiff is one changed field.
type FieldDiff struct {
	Path      string `json:"path"`
	Before    any    `json:"before,omitempty"`
	After     any    `json:"after,omitempty"`
	Unknown   bool   `json:"unknown,omitempty"`
	Sensitive bool   `json:"sensitive,omitempty"`
	ForceNew  bool   `json:"forceNew,omitempty"`
	// Note says what the change means beyond its new value (provider.KindSchema.Notes).
	Note string `json:"note,omitempty"`
}

// Summary counts a plan's actions. What a run did is counted apart, in Counts.
type Summary struct {
	Add     int `json:"add"`
	Change  int `json:"change"`
	Replace int `json:"replace"`
	Destroy int `json:"destroy"`
	NoOp    int `json:"noop,omitempty"`
	Drifted int `json:"drifted,omitempty"`
}

// HasChanges reports whether applying the plan would change anything (including recording drift
// for a refresh-only plan).
func (p *PlanResult) HasChanges() bool {
	s := p.Summary
	if p.Mode == ModeRefreshOnly {
		return s.Drifted > 0
	}
	return s.Add+s.Change+s.Replace+s.Destroy > 0 || slices.ContainsFunc(p.Changes, func(c *Change) bool { return c.Action == ActionForget })
}

// Key returns the state key the plan applies to.
func (p *PlanResult) Key() backend.Key {
	return backend.Key{Tenant: p.Tenant, Stack: p.Stack, Environment: p.Environment}
}

// ErrStalePlan is returned by Apply for a saved plan whose state changed since it was made.
var ErrStalePlan = errors.New("stale plan")

// ErrDeletionProtected is wrapped by Apply's error for a plan that deletes or replaces a
// resource whose deletion protection is on; nothing was applied.
var ErrDeletionProtected = errors.New("deletion protection is on")

// ErrChangeRefused is wrapped by Plan's error for a config that changes a field in a way the
// provider can make neither in place nor by replacement without losing data
// (provider.KindSchema.Limits: fewer partitions of a Kafka topic, less storage of an MSK
// cluster); the error names each such change and why. Nothing is planned.
var ErrChangeRefused = errors.New("change refused")

// ErrNoNetwork is wrapped by Plan's error for a config with components that run in a VPC (for
// the provider: provider.KindSchema.NeedsNetwork) in an environment that declares no network.
var ErrNoNetwork = errors.New("no network")

// ErrUnknownAddress is wrapped by the error for an Options.Targets or Options.Replace address
// that names nothing in the config or the state.
var ErrUnknownAddress = errors.New("unknown address")

// Plan refreshes the resources recorded in state, diffs the config against them field by field,
// and returns what Apply would do. It takes no lock and writes nothing. With opts.RefreshOnly it
// reports only drift. cfg must have been validated (Validate); Plan validates it if not.
func Plan(ctx context.Context, cfg *Config, opts Options) (*PlanResult, error) {
	return planFor(ctx, cfg, opts, modeOf(opts))
}

// PlanDestroy returns a plan deleting every resource of the stack (or opts.Targets and their
// dependents), in reverse dependency order.
func PlanDestroy(ctx context.Context, cfg *Config, opts Options) (*PlanResult, error) {
	return planFor(ctx, cfg, opts, ModeDestroy)
}

func modeOf(opts Options) Mode {
	if opts.RefreshOnly {
		return ModeRefreshOnly
	}
	return ModeApply
}

func planFor(ctx context.Context, cfg *Config, opts Options, mode Mode) (*PlanResult, error) {
	opts = opts.withDefaults()
	if err := opts.check(false); err != nil {
		return nil, err
	}
	e, err := newEngine(cfg, opts)
	if err != nil {
		return nil, err
	}
	st, _, err := e.readState(ctx)
	if err != nil {
		return nil, err
	}
	return e.plan(ctx, st, mode)
}

// engine holds what one Plan or Apply call needs. It never writes to the Config: everything
// that depends on the tenant or the environment is derived into its own values.
type engine struct {
	opts    Options
	cfg     *Config
	want    *desired
	key     backend.Key
	target  provider.Target
	events  *emitter
	started time.Time
	// packages are the zipped local files of the run, by address and spec field: made by the
	// plan (Plan, Apply) or again from a saved plan's records (ApplyPlan).
	packages map[string]map[string]*packaged
	// lost are the parts each resource's refresh found missing (lostParts), by address: an
	// apply plans an update to make them again.
	lost map[string][]FieldDiff
}

func newEngine(cfg *Config, opts Options) (*engine, error) {
	if !cfg.Validated() {
		// Validate a private copy: the caller's Config is never written, so that it can be
		// shared by concurrent calls.
		c := *cfg
		if err := Validate(&c); err != nil {
			return nil, err
		}
		cfg = &c
	}
	env, err := environmentOf(cfg, opts.Environment)
	if err != nil {
		return nil, err
	}
	if err := ValidateFor(cfg, opts.Tenant, env); err != nil {
		return nil, err
	}
	want, err := buildDesired(cfg, env, opts.Tenant)
	if err != nil {
		return nil, err
	}
	key, err := stateKey(opts.Tenant, want.Stack, env)
	if err != nil {
		return nil, err
	}
	target := TargetOf(cfg, env)
	if err := checkProviderTarget(opts.Provider, target); err != nil {
		return nil, err
	}
	return &engine{opts: opts, cfg: cfg, want: want, key: key, target: target, events: &emitter{fn: opts.Events}, started: time.Now()}, nil
}

// TargetOf returns where cfg deploys in env: the stack's provider and region and account, with
// env's overrides applied.
func TargetOf(cfg *Config, env string) provider.Target {
	st := cfg.Stack()
	if st == nil {
		return provider.Target{}
	}
	region, account := st.Target(env)
	return provider.Target{Provider: st.Spec.Provider.Name, Region: region, Account: account}
}

// checkProviderTarget refuses a provider bound to another target than t.
func checkProviderTarget(p provider.Provider, t provider.Target) error {
	if tp, ok := p.(provider.Targeted); ok && !tp.Target().Serves(t) {
		return fmt.Errorf("%w: the stack deploys to %s, the provider is bound to %s", provider.ErrWrongTarget, t, tp.Target())
	}
	return nil
}

// stateVersion identifies what a state was read from: a revision of the document (base) and,
// for a backend with journals, how many journal entries of it were applied.
type stateVersion struct {
	base    backend.Version
	entries int
}

// readState reads the current state; a missing state is an empty one.
func (e *engine) readState(ctx context.Context) (*state.State, stateVersion, error) {
	return readState(ctx, e.opts.Backend, e.key)
}

// readState reads the state at key: the current revision with its journal (if the backend keeps
// journals) applied. A missing state is an empty one.
func readState(ctx context.Context, b backend.StateBackend, key backend.Key) (*state.State, stateVersion, error) {
	data, ver, err := b.Read(ctx, key)
	if errors.Is(err, backend.ErrNotFound) {
		return state.New(key.Tenant, key.Stack, key.Environment), stateVersion{}, nil
	}
	if err != nil {
		return nil, stateVersion{}, fmt.Errorf("read state %s: %w", key, err)
	}
	st, err := decodeState(data, key)
	if err != nil {
		return nil, stateVersion{}, err
	}
	v := stateVersion{base: ver}
	if j, ok := b.(backend.Journaler); ok {
		entries, err := j.Entries(ctx, key, ver)
		if err != nil {
			return nil, stateVersion{}, fmt.Errorf("read state %s: %w", key, err)
		}
		for i, data := range entries {
			d, err := state.DecodeDelta(data)
			if err == nil {
				err = st.Apply(d)
			}
			if err != nil {
				return nil, stateVersion{}, fmt.Errorf("read state %s: journal entry %d: %w", key, i+1, err)
			}
		}
		v.entries = len(entries)
	}
	return st, v, nil
}

// ErrStateMismatch is wrapped by the error for a state document found under another key than
// its own (copied, or restored to the wrong place): acting on it would change or delete another
// stack's resources, so nothing is planned.
var ErrStateMismatch = errors.New("state belongs to another stack")

// decodeState decodes a state document read from key and checks that it is key's: its tenant,
// stack and environment must be key's.
func decodeState(data []byte, key backend.Key) (*state.State, error) {
	st, err := state.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("read state %s: %w", key, err)
	}
	own := backend.Key{Tenant: st.Tenant, Stack: st.Stack, Environment: st.Environment}
	if own != key {
		return nil, fmt.Errorf("read state %s: %w: the document stored there is the state of %s (lineage %s); restore this stack's own state from its history", key, ErrStateMismatch, own, st.Lineage)
	}
	return st, nil
}

// plan computes the plan against st (the state as read).
func (e *engine) plan(ctx context.Context, st *state.State, mode Mode) (*PlanResult, error) {
	p := &PlanResult{
		FormatVersion: PlanFormatVersion, Mode: mode,
		Tenant: e.key.Tenant, Stack: e.key.Stack, Environment: e.key.Environment, Target: e.target,
		Serial: st.Serial, CreatedAt: time.Now().UTC(),
	}
	if len(e.want.Groups) > 0 {
		p.Groups = e.want.Groups
	}
	if st.Serial > 0 {
		p.Lineage = st.Lineage
	}
	if mode == ModeApply {
		// Package local files first: a missing path fails the plan before any provider call.
		selected, err := e.selection(st, ModeApply)
		if err != nil {
			return nil, err
		}
		if e.packages, err = e.packageResources(selected); err != nil {
			return nil, fmt.Errorf("plan %s: %w", e.key, err)
		}
	}
	current, drift, err := e.refresh(ctx, st)
	if err != nil {
		return nil, err
	}
	if len(drift) > 0 {
		p.Drift = drift
	}
	e.lost = map[string][]FieldDiff{}
	for _, d := range drift {
		for _, f := range d.Fields {
			if isPartField(f) {
				e.lost[d.Address] = append(e.lost[d.Address], f)
			}
		}
	}
	p.Summary.Drifted = len(drift)
	switch mode {
	case ModeRefreshOnly:
		if len(e.opts.Replace) > 0 {
			return nil, fmt.Errorf("plan %s: Options.Replace has no meaning with RefreshOnly, which changes nothing in the cloud", e.key)
		}
		selected, err := e.selection(st, ModeRefreshOnly)
		if err != nil {
			return nil, err
		}
		for _, r := range st.Resources {
			if selected != nil && !selected[r.Address] {
				continue
			}
			cur := current[r.Address]
			ch := &Change{Address: r.Address, Kind: r.Kind, Name: r.Name, Action: ActionNoop, Prior: cur, Dependencies: r.Dependencies}
			if cur == nil {
				ch.Action, ch.Reason = ActionForget, "deleted outside Panka"
			}
			p.Changes = append(p.Changes, ch)
		}
	case ModeDestroy:
		if err := e.planDestroy(p, st, current); err != nil {
			return nil, err
		}
	default:
		if err := e.planApply(p, st, current); err != nil {
			return nil, err
		}
	}
	for _, c := range p.Changes {
		c.Protected = (c.Action == ActionDelete || c.Action == ActionReplace) && c.Prior != nil && c.Prior.Spec["deletionProtection"] == true
		switch c.Action {
		case ActionCreate:
			p.Summary.Add++
		case ActionUpdate:
			p.Summary.Change++
		case ActionReplace:
			p.Summary.Replace++
		case ActionDelete:
			p.Summary.Destroy++
		case ActionNoop:
			p.Summary.NoOp++
		}
	}
	sum := p.Summary
	e.events.emit(Event{Type: EventPlan, Summary: &sum, Elapsed: time.Since(e.started)})
	return p, nil
}

// refresh reads every resource recorded in st back from the provider, in parallel. It returns
// the current records (absent: the resource no longer exists) and the drift found. Pending
// resources (an interrupted create) are looked up by name and tags and adopted if found.
func (e *engine) refresh(ctx context.Context, st *state.State) (map[string]*state.Resource, []*Change, error) {
	current := make(map[string]*state.Resource, len(st.Resources))
	drift := make([]*Change, len(st.Resources))
	results := make([]*state.Resource, len(st.Resources))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(e.opts.Parallelism)
	for i, prior := range st.Resources {
		g.Go(func() error {
			cur, ch, err := e.refreshOne(gctx, prior)
			if err != nil {
				return err
			}
			results[i], drift[i] = cur, ch
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, nil, err
	}
	for i, r := range st.Resources {
		if results[i] != nil {
			current[r.Address] = results[i]
		}
	}
	drift = slices.DeleteFunc(drift, func(c *Change) bool { return c == nil })
	return current, drift, nil
}

func (e *engine) refreshOne(ctx context.Context, prior *state.Resource) (*state.Resource, *Change, error) {
	var obs *provider.Observed
	var err error
	if prior.Status == state.StatusPending {
		err = e.call(ctx, prior.Address, prior.Kind, "find", func(ctx context.Context) error {
			obs, err = e.opts.Provider.Find(ctx, provider.Resource{Address: prior.Address, Kind: prior.Kind, Name: prior.Name, Spec: prior.Spec, Tags: prior.Tags})
			return err
		})
	} else {
		err = e.call(ctx, prior.Address, prior.Kind, "read", func(ctx context.Context) error {
			obs, err = e.opts.Provider.Read(ctx, prior.Kind, prior.ID)
			return err
		})
	}
	if errors.Is(err, provider.ErrNotFound) {
		if prior.Status == state.StatusPending {
			if len(prior.Deposed) > 0 {
				// An interrupted create-before-destroy: the new generation never came to be,
				// so the old one (deposed just before) is still the resource.
				return e.undepose(ctx, prior)
			}
			e.events.emit(Event{Type: EventRefresh, Address: prior.Address, Kind: prior.Kind, Message: "interrupted create left nothing behind"})
			return nil, nil, nil
		}
		e.events.emit(Event{Type: EventRefresh, Address: prior.Address, Kind: prior.Kind, Message: "deleted outside Panka"})
		return nil, &Change{Address: prior.Address, Kind: prior.Kind, Name: prior.Name, Action: ActionDelete, Reason: "deleted outside Panka", Prior: prior}, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("refresh %s: %w", prior.Address, err)
	}
	spec := prior.Spec
	if obs.Spec != nil {
		s := overlayPackaged(prior.Kind, prior.Spec, overlay(prior.Spec, obs.Spec))
		if !equalValue(prior.Spec, s) && len(diffSpecs(prior.Spec, s, e.kindSchema(prior.Kind))) > 0 {
			spec = s // changed, not only reordered where the cloud keeps no order
		}
	}
	tags := prior.Tags
	if obs.Tags != nil && !maps.Equal(userTags(obs.Tags), prior.Tags) {
		tags = userTags(obs.Tags)
	}
	if prior.Status == state.StatusCreated && obs.ID == prior.ID && obs.ARN == prior.ARN && maps.Equal(obs.Outputs, prior.Outputs) &&
		equalValue(spec, prior.Spec) && maps.Equal(tags, prior.Tags) && slices.Equal(obs.Parts, prior.Parts) {
		return prior, nil, nil // unchanged: share the record (records are immutable)
	}
	cur := *prior
	cur.Status = state.StatusCreated
	cur.ID, cur.ARN, cur.Outputs, cur.Spec, cur.Tags, cur.Parts = obs.ID, obs.ARN, obs.Outputs, spec, tags, obs.Parts
	if prior.Status == state.StatusPending {
		e.events.emit(Event{Type: EventRefresh, Address: prior.Address, Kind: prior.Kind, Message: "adopted a resource whose create was interrupted"})
		return &cur, nil, nil
	}
	fields := append(diffSpecs(prior.Spec, cur.Spec, e.kindSchema(prior.Kind)), diffTags(prior.Tags, cur.Tags)...)
	if lost := lostParts(prior.Parts, obs.Parts); len(lost) > 0 {
		// The record keeps the parts that should exist until an apply makes them again.
		cur.Parts = prior.Parts
		fields = append(fields, lost...)
	}
	if len(fields) == 0 {
		return &cur, nil, nil
	}
	e.events.emit(Event{Type: EventRefresh, Address: prior.Address, Kind: prior.Kind, Message: "changed outside Panka"})
	return &cur, &Change{Address: prior.Address, Kind: prior.Kind, Name: prior.Name, Action: ActionUpdate, Reason: "changed outside Panka", Fields: fields, Prior: &cur}, nil
}

// lostParts returns, as fields "parts[TYPE ID]" changing from the part's ID to nothing, the
// parts recorded in prior that the provider no longer reports in now: deleted behind Panka's
// back, or by a delete killed halfway. They are drift, and an update makes them again.
func lostParts(prior, now []provider.Part) []FieldDiff {
	var out []FieldDiff
	for _, p := range prior {
		if !slices.ContainsFunc(now, func(n provider.Part) bool { return n.Type == p.Type && n.ID == p.ID }) {
			out = append(out, FieldDiff{Path: "parts[" + p.Type + " " + p.ID + "]", Before: p.ID})
		}
	}
	return out
}

// isPartField reports whether f is a lost part (see lostParts).
func isPartField(f FieldDiff) bool { return strings.HasPrefix(f.Path, "parts[") }

// undepose returns the record of the newest deposed generation of prior, if it still exists: the
// replacement that deposed it was interrupted before its new generation was created.
func (e *engine) undepose(ctx context.Context, prior *state.Resource) (*state.Resource, *Change, error) {
	last := prior.Deposed[len(prior.Deposed)-1]
	var obs *provider.Observed
	err := e.call(ctx, prior.Address, prior.Kind, "read", func(ctx context.Context) (err error) {
		obs, err = e.opts.Provider.Read(ctx, prior.Kind, last)
		return err
	})
	if errors.Is(err, provider.ErrNotFound) {
		e.events.emit(Event{Type: EventRefresh, Address: prior.Address, Kind: prior.Kind, Message: "interrupted replacement left nothing behind"})
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("refresh %s: %w", prior.Address, err)
	}
	cur := *prior
	cur.Status, cur.ID, cur.ARN, cur.Outputs, cur.Spec, cur.Parts = state.StatusCreated, obs.ID, obs.ARN, obs.Outputs, obs.Spec, obs.Parts
	if obs.Tags != nil {
		cur.Tags = userTags(obs.Tags)
	}
	cur.Name = baseName(prior.Name)
	cur.Deposed = prior.Deposed[: len(prior.Deposed)-1 : len(prior.Deposed)-1]
	e.events.emit(Event{Type: EventRefresh, Address: prior.Address, Kind: prior.Kind, Message: "interrupted replacement: the previous resource is still in place"})
	return &cur, nil, nil
}

// overlay returns base with every top-level field the provider reported replaced by its value:
// a provider that reads back only some fields does not make the others look deleted. A field
// reported empty (nil, an empty list or mapping) is one the provider read and found empty: it
// replaces what base has (nil removes it: a topic whose subscriptions were deleted has none),
// and is left out where base has no such field (a spec leaves empty lists out). Values are shared, not copied
// (specs are never modified in place).
func overlay(base, observed map[string]any) map[string]any {
	out := make(map[string]any, len(base)+len(observed))
	maps.Copy(out, base)
	for k, v := range observed {
		_, had := base[k]
		switch {
		case !had && isEmptyValue(v):
		case v == nil:
			delete(out, k)
		default:
			out[k] = v
		}
	}
	return out
}

// isEmptyValue reports whether v is nil, an empty list or an empty mapping.
func isEmptyValue(v any) bool {
	switch t := v.(type) {
	case nil:
		return true
	case []any:
		return len(t) == 0
	case map[string]any:
		return len(t) == 0
	}
	return false
}

func (e *engine) kindSchema(kind string) provider.KindSchema {
	ks, _ := e.opts.Provider.Schema(kind)
	return ks
}

func (e *engine) planApply(p *PlanResult, st *state.State, current map[string]*state.Resource) error {
	if err := e.checkKinds(); err != nil {
		return err
	}
	selected, err := e.selection(st, ModeApply)
	if err != nil {
		return err
	}
	replace, err := e.replacements()
	if err != nil {
		return err
	}
	// Decide actions in dependency order, so a consumer knows whether its producers' outputs
	// are known (unchanged or updated) or only known after apply (created or replaced).
	order, err := e.want.graph.TopoSort()
	if err != nil {
		return err
	}
	changes := map[string]*Change{}
	var refused []string
	for _, addr := range order {
		d := e.want.byAddr[addr]
		if d == nil || selected != nil && !selected[addr] {
			continue
		}
		ks, _ := e.opts.Provider.Schema(d.Kind)
		after, _ := renderTemplate(d.Template, func(producer, name string) (string, bool) {
			pc := changes[producer]
			if pc == nil || pc.Prior == nil || pc.Action == ActionCreate || pc.Action == ActionReplace {
				return "", false
			}
			v, ok := pc.Prior.Outputs[name]
			return v, ok
		})
		ch := &Change{Address: addr, Kind: d.Kind, Name: d.Name, Template: d.Template, Dependencies: d.Dependencies, Tags: d.Tags}
		cur := current[addr]
		prior := st.Lookup(addr)
		switch {
		case cur == nil:
			ch.Action = ActionCreate
			ch.Fields = diffSpecs(nil, after, ks)
			if prior != nil && prior.Status == state.StatusCreated {
				ch.Reason = "deleted outside Panka"
			}
		case cur.Kind != d.Kind:
			ch.Action, ch.Prior, ch.Reason = ActionReplace, cur, fmt.Sprintf("kind changed from %s", cur.Kind)
			ch.Fields = diffSpecs(cur.Spec, after, ks)
			ch.DestroyFirst = true
		default:
			ch.Prior = cur
			ch.Fields = append(diffSpecs(cur.Spec, after, ks), diffTags(cur.Tags, d.Tags)...)
			ch.Fields = append(ch.Fields, e.lost[addr]...)
			ch.Action = ActionNoop
			if len(ch.Fields) > 0 {
				ch.Action = ActionUpdate
				if slices.ContainsFunc(ch.Fields, func(f FieldDiff) bool { return f.ForceNew }) {
					ch.Action, ch.DestroyFirst = ActionReplace, destroyFirst(ks, d)
				}
			}
			switch {
			case replace[addr] && ch.Action != ActionReplace:
				ch.Action, ch.DestroyFirst, ch.Reason = ActionReplace, destroyFirst(ks, d), "replacement requested"
			case !sameGeneration(cur.Name, d.Name) && ch.Action != ActionReplace:
				ch.Action, ch.DestroyFirst, ch.Reason = ActionReplace, destroyFirst(ks, d), fmt.Sprintf("physical name changes from %s", cur.Name)
			}
			if ch.Action == ActionUpdate {
				// A replacement (requested, or forced by another field) starts afresh: only an
				// update in place is held to the limits.
				for _, l := range limitsHit(ch.Fields, ks) {
					refused = append(refused, addr+": "+l)
				}
			}
			if prior != nil && prior.Status == state.StatusPending {
				ch.Reason = "adopting a resource whose create was interrupted"
				if ch.Action == ActionNoop {
					// The create may have stopped between the resource and its parts (an
					// API's permission on its function): an update makes what is missing.
					ch.Action = ActionUpdate
				}
			}
		}
		if pks := e.packages[addr]; pks != nil && ch.Action != ActionNoop {
			ch.Packages = map[string]Package{}
			for field, pk := range pks {
				ch.Packages[field] = pk.Package
				if pk.fsys != nil {
					p.SourceFS = pk.fsys
				}
			}
		}
		changes[addr] = ch
		p.Changes = append(p.Changes, ch)
	}
	if len(refused) > 0 {
		return fmt.Errorf("plan %s: %w: %s", e.key, ErrChangeRefused, strings.Join(refused, "; "))
	}
	// Resources in state but not in the config: delete (or forget, if already gone).
	for _, r := range st.Resources {
		if e.want.byAddr[r.Address] != nil || selected != nil && !selected[r.Address] {
			continue
		}
		cur := current[r.Address]
		if cur == nil {
			p.Changes = append(p.Changes, &Change{Address: r.Address, Kind: r.Kind, Name: r.Name, Action: ActionForget, Reason: "deleted outside Panka and removed from the config", Dependencies: r.Dependencies})
			continue
		}
		p.Changes = append(p.Changes, &Change{Address: r.Address, Kind: r.Kind, Name: r.Name, Action: ActionDelete, Reason: "removed from the config",
			Prior: cur, Fields: diffSpecs(cur.Spec, nil, e.kindSchema(r.Kind)), Dependencies: r.Dependencies})
	}
	p.Changes = append(p.Changes, deposedChanges(st, current, selected)...)
	slices.SortFunc(p.Changes, func(a, b *Change) int { return strings.Compare(a.Address, b.Address) })
	return nil
}

// checkKinds refuses a config using kinds the provider does not support, naming every such kind
// once, before anything is planned (so nothing is applied in part).
func (e *engine) checkKinds() error {
	users := map[string][]string{}
	var homeless []string
	for _, d := range e.want.Resources {
		ks, ok := e.opts.Provider.Schema(d.Kind)
		if !ok {
			users[d.Kind] = append(users[d.Kind], d.Address)
		} else if ks.NeedsNetwork && d.Template["network"] == nil {
			homeless = append(homeless, d.Address)
		}
	}
	if len(users) == 0 && len(homeless) > 0 {
		return fmt.Errorf("plan %s: %w: %s run in a VPC, and the environment declares no network: add spec.network to the Stack (existing: your VPC and subnets; managed: a CIDR Panka builds a VPC in)",
			e.key, ErrNoNetwork, strings.Join(homeless, ", "))
	}
	if len(users) == 0 {
		return nil
	}
	var parts []string
	for _, kind := range slices.Sorted(maps.Keys(users)) {
		parts = append(parts, fmt.Sprintf("%s (%s)", kind, strings.Join(users[kind], ", ")))
	}
	return fmt.Errorf("plan %s: %w: the provider does not support %s", e.key, provider.ErrUnsupportedKind, strings.Join(parts, "; "))
}

// selection returns the addresses a run with Options.Targets may change, or nil for all: each
// target ("service/component" or a service name), plus what it depends on (mode apply, in the
// config) or what depends on it (mode destroy, as recorded in the state).
func (e *engine) selection(st *state.State, mode Mode) (map[string]bool, error) {
	if len(e.opts.Targets) == 0 {
		return nil, nil
	}
	known := map[string]bool{}
	services := map[string][]string{}
	for _, d := range e.want.Resources {
		known[d.Address] = true
	}
	for _, r := range st.Resources {
		known[r.Address] = true
	}
	for addr := range known {
		svc, _, _ := strings.Cut(addr, "/")
		services[svc] = append(services[svc], addr)
	}
	var roots []string
	// A forced replacement is a target too: -replace outside -target would do nothing.
	for _, t := range slices.Concat(e.opts.Targets, e.opts.Replace) {
		switch {
		case known[t]:
			roots = append(roots, t)
		case len(services[t]) > 0:
			roots = append(roots, services[t]...)
		default:
			return nil, unknownAddress("target", t, known, e.key)
		}
	}
	selected := map[string]bool{}
	for _, r := range roots {
		selected[r] = true
	}
	var more []string
	if mode == ModeDestroy {
		more = stateGraph(st, e.want.Groups).TransitiveDependents(roots...)
	} else {
		var inConfig []string
		for _, r := range roots {
			if e.want.byAddr[r] != nil {
				inConfig = append(inConfig, r)
			}
		}
		more = e.want.graph.Reverse().TransitiveDependents(inConfig...)
	}
	for _, a := range more {
		if isComponentAddr(a) {
			selected[a] = true
		}
	}
	return selected, nil
}

// replacements returns Options.Replace as a set, refusing an address not in the config.
func (e *engine) replacements() (map[string]bool, error) {
	out := map[string]bool{}
	for _, a := range e.opts.Replace {
		if e.want.byAddr[a] == nil {
			known := map[string]bool{}
			for _, d := range e.want.Resources {
				known[d.Address] = true
			}
			return nil, unknownAddress("replace", a, known, e.key)
		}
		out[a] = true
	}
	return out, nil
}

func unknownAddress(what, addr string, known map[string]bool, key backend.Key) error {
	return fmt.Errorf("%s %s: %w: no component of %s has that address%s", what, addr, ErrUnknownAddress, key, closest(addr, slices.Sorted(maps.Keys(known))))
}

// deposedChanges deletes the older generations left by an interrupted create-before-destroy
// replacement (as refreshed: a generation brought back by undepose is not deleted). Their address
// is "service/component#ID".
func deposedChanges(st *state.State, current map[string]*state.Resource, selected map[string]bool) []*Change {
	var out []*Change
	for _, r := range st.Resources {
		if selected != nil && !selected[r.Address] {
			continue
		}
		deposed := r.Deposed
		if cur := current[r.Address]; cur != nil {
			deposed = cur.Deposed
		}
		for _, id := range deposed {
			out = append(out, &Change{Address: r.Address + "#" + id, Kind: r.Kind, Name: r.Name, Action: ActionDelete,
				Reason: "replaced earlier; its deletion was interrupted", Prior: &state.Resource{Address: r.Address, Kind: r.Kind, Name: r.Name, ID: id, Status: state.StatusCreated}})
		}
	}
	return out
}

// destroyFirst reports whether replacing d must delete the old resource first: its name is unique,
// or a generation suffix would not fit the kind's name limit.
func destroyFirst(ks provider.KindSchema, d *desiredResource) bool {
	info, _ := schema.LookupKind(d.Kind)
	return ks.UniqueName || info.NameLimit > 0 && len(generationName(d.Name, "000000")) > info.NameLimit
}

func (e *engine) planDestroy(p *PlanResult, st *state.State, current map[string]*state.Resource) error {
	targets, err := e.selection(st, ModeDestroy)
	if err != nil {
		return err
	}
	for _, r := range st.Resources {
		cur := current[r.Address]
		switch {
		case targets != nil && !targets[r.Address]:
			if cur != nil {
				p.Changes = append(p.Changes, &Change{Address: r.Address, Kind: r.Kind, Name: r.Name, Action: ActionNoop, Prior: cur, Dependencies: r.Dependencies})
			}
		case cur == nil:
			p.Changes = append(p.Changes, &Change{Address: r.Address, Kind: r.Kind, Name: r.Name, Action: ActionForget, Reason: "already deleted", Dependencies: r.Dependencies})
		default:
			p.Changes = append(p.Changes, &Change{Address: r.Address, Kind: r.Kind, Name: r.Name, Action: ActionDelete, Prior: cur,
				Fields: diffSpecs(cur.Spec, nil, e.kindSchema(r.Kind)), Dependencies: r.Dependencies})
		}
	}
	p.Changes = append(p.Changes, deposedChanges(st, current, targets)...)
	slices.SortFunc(p.Changes, func(a, b *Change) int { return strings.Compare(a.Address, b.Address) })
	return nil
}

// configDigest digests what the config asked for, as the plan records it.
func (p *PlanResult) configDigest() string {
	type desiredOf struct {
		Address, Kind, Name string
		Template            map[string]any
		Dependencies        []string
		Tags                map[string]string
	}
	var d []desiredOf
	for _, c := range p.Changes {
		if c.Template != nil {
			d = append(d, desiredOf{c.Address, c.Kind, c.Name, c.Template, c.Dependencies, c.Tags})
		}
	}
	return digestOf(d)
}

// digest is the integrity digest of a plan: every field but Digest.
func (p *PlanResult) digest() string {
	c := *p
	c.Digest = ""
	return digestOf(&c)
}

// WritePlan saves p as JSON (the -out file of `panka plan`) with its config digest and an
// integrity digest, so that ReadPlan can detect edits and truncation. It does not modify p, so a
// plan shared between goroutines may be written by any of them.
func WritePlan(w io.Writer, p *PlanResult) error {
	c := *p
	if c.ConfigDigest == "" {
		c.ConfigDigest = c.configDigest()
	}
	c.Digest = c.digest()
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	if err := enc.Encode(&c); err != nil {
		return fmt.Errorf("write plan: %w", err)
	}
	return nil
}

// ReadPlan loads a saved plan and checks its format and digest: a plan file that was edited or
// truncated is refused.
func ReadPlan(r io.Reader) (*PlanResult, error) {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	var p PlanResult
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("read plan: not a Panka plan file: %w", err)
	}
	if p.FormatVersion != PlanFormatVersion {
		return nil, fmt.Errorf("read plan: plan format %d; this Panka reads %d: make the plan again", p.FormatVersion, PlanFormatVersion)
	}
	want := p.Digest
	normalizePlan(&p)
	if got := p.digest(); want == "" || got != want {
		return nil, fmt.Errorf("read plan: the plan file was modified or truncated (digest mismatch): make the plan again")
	}
	if _, err := stateKey(p.Tenant, p.Stack, p.Environment); err != nil {
		return nil, fmt.Errorf("read plan: %w", err)
	}
	for _, c := range p.Changes {
		if c == nil || c.Address == "" || c.Kind == "" {
			return nil, fmt.Errorf("read plan: a change has no address or kind")
		}
	}
	return &p, nil
}

// normalizePlan turns json.Number values back into int64/float64 so a read plan is equal to the
// plan that was written.
func normalizePlan(p *PlanResult) {
	for _, c := range append(slices.Clone(p.Changes), p.Drift...) {
		if c == nil {
			continue
		}
		c.Template = normalizeMap(c.Template)
		for i := range c.Fields {
			c.Fields[i].Before = normalizeValue(c.Fields[i].Before)
			c.Fields[i].After = normalizeValue(c.Fields[i].After)
		}
		if c.Prior != nil {
			c.Prior.Spec = normalizeMap(c.Prior.Spec)
		}
	}
}

func normalizeMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	return state.Normalize(m).(map[string]any)
}

func normalizeValue(v any) any { return state.Normalize(v) }

// closest returns "; did you mean X?" for the candidate sharing the longest prefix with s.
func closest(s string, candidates []string) string {
	best, bestLen := "", 0
	for _, c := range candidates {
		n := 0
		for n < len(s) && n < len(c) && s[n] == c[n] {
			n++
		}
		if n > bestLen {
			best, bestLen = c, n
		}
	}
	if bestLen >= len(s)/2 && best != "" {
		return fmt.Sprintf("; did you mean %s?", best)
	}
	return ""
}
