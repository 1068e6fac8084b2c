// Package state is the record of what Panka has applied for one stack in one environment of one
// tenant: every resource's physical identity, applied spec, outputs and dependencies. It is
// encoded as JSON with a checksum, and stored by a backend.StateBackend under optimistic
// concurrency (lineage + serial + the backend's version token).
package state

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/panka/panka/backend"
	"github.com/panka/panka/provider"
)

// FormatVersion is the state encoding this package writes and reads.
const FormatVersion = 1

// Status says how far a resource got.
type Status string

const (
	// StatusPending: the resource is about to be (or is being) created under its deterministic
	// name; it may or may not exist. The next plan looks it up by name and tags and adopts it or
	// forgets it.
	StatusPending Status = "pending"
	// StatusCreated: the resource exists with the recorded ID.
	StatusCreated Status = "created"
)

// State is the applied state of one stack/environment/tenant. Its zero value is not useful; use
// New or Decode. A State is not safe for concurrent use; the engine guards it. The engine treats
// Resource records as immutable once in a State (it replaces them with Put), so a shallow copy of
// a State is a consistent snapshot.
type State struct {
	Version     int         `json:"version"`
	Lineage     string      `json:"lineage"`
	Serial      int64       `json:"serial"`
	Tenant      string      `json:"tenant"`
	Stack       string      `json:"stack"`
	Environment string      `json:"environment"`
	Resources   []*Resource `json:"resources"`
	Checksum    string      `json:"checksum,omitempty"`
}

// Resource is one applied (or pending) component.
type Resource struct {
	Address string            `json:"address"`
	Kind    string            `json:"kind"`
	Name    string            `json:"name"` // deterministic physical name
	ID      string            `json:"id,omitempty"`
	ARN     string            `json:"arn,omitempty"`
	Status  Status            `json:"status"`
	Spec    map[string]any    `json:"spec,omitempty"` // applied spec, fully interpolated
	Outputs map[string]string `json:"outputs,omitempty"`
	// Sensitive names the outputs whose values are secret (the provider said so when they were
	// recorded): shown masked.
	Sensitive    []string          `json:"sensitive,omitempty"`
	Dependencies []string          `json:"dependencies,omitempty"`
	Tags         map[string]string `json:"tags,omitempty"`
	// Deposed lists physical IDs of older generations replaced create-before-destroy and not
	// yet deleted; the next plan deletes them.
	Deposed []string `json:"deposed,omitempty"`
	// Parts are the other cloud resources the component is made of, as the provider last
	// reported them (provider.Observed.Parts).
	Parts []provider.Part `json:"parts,omitempty"`
}

// New returns an empty state with a fresh lineage.
func New(tenant, stack, env string) *State {
	return &State{Version: FormatVersion, Lineage: uuid.NewString(), Tenant: tenant, Stack: stack, Environment: env}
}

// Lookup returns the resource at address, or nil.
func (s *State) Lookup(address string) *Resource {
	i, ok := slices.BinarySearchFunc(s.Resources, address, func(r *Resource, a string) int { return strings.Compare(r.Address, a) })
	if !ok {
		return nil
	}
	return s.Resources[i]
}

// Put inserts or replaces the resource at r.Address, keeping Resources sorted.
func (s *State) Put(r *Resource) {
	i, ok := slices.BinarySearchFunc(s.Resources, r.Address, func(x *Resource, a string) int { return strings.Compare(x.Address, a) })
	if ok {
		s.Resources[i] = r
		return
	}
	s.Resources = slices.Insert(s.Resources, i, r)
}

// Remove deletes the resource at address, if present.
func (s *State) Remove(address string) {
	i, ok := slices.BinarySearchFunc(s.Resources, address, func(x *Resource, a string) int { return strings.Compare(x.Address, a) })
	if ok {
		s.Resources = slices.Delete(s.Resources, i, i+1)
	}
}

// RemoveAll deletes the resources at the given addresses in one pass over the state: removing k
// resources one by one costs k passes.
func (s *State) RemoveAll(addresses map[string]bool) {
	if len(addresses) == 0 {
		return
	}
	s.Resources = slices.DeleteFunc(s.Resources, func(r *Resource) bool { return addresses[r.Address] })
}

// Snapshot returns a copy sharing the resource records (which must not be modified in place).
func (s *State) Snapshot() *State {
	c := *s
	c.Resources = slices.Clone(s.Resources)
	return &c
}

// Clone returns a deep copy.
func (s *State) Clone() *State {
	c := *s
	c.Resources = make([]*Resource, len(s.Resources))
	for i, r := range s.Resources {
		c.Resources[i] = r.Clone()
	}
	return &c
}

// Clone returns a deep copy of r.
func (r *Resource) Clone() *Resource {
	c := *r
	c.Spec = CloneMap(r.Spec)
	c.Outputs = maps.Clone(r.Outputs)
	c.Tags = maps.Clone(r.Tags)
	c.Dependencies = slices.Clone(r.Dependencies)
	c.Sensitive = slices.Clone(r.Sensitive)
	c.Deposed = slices.Clone(r.Deposed)
	c.Parts = slices.Clone(r.Parts)
	return &c
}

// CloneMap deep-copies a JSON-like map.
func CloneMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	c := make(map[string]any, len(m))
	for k, v := range m {
		c[k] = cloneValue(v)
	}
	return c
}

func cloneValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		return CloneMap(t)
	case []any:
		c := make([]any, len(t))
		for i, x := range t {
			c[i] = cloneValue(x)
		}
		return c
	default:
		return v
	}
}

// ErrCorrupt is wrapped by Decode errors for documents that are not a valid state. It is
// backend.ErrCorrupt, not a second sentinel: whether a backend found the stored bytes damaged or
// Decode found them not to be a valid state, callers test errors.Is(err, backend.ErrCorrupt).
var ErrCorrupt = backend.ErrCorrupt

// Encode serialises s as compact JSON ending with its checksum: a SHA-256 of the document written
// without the checksum field. It does not change Serial: the engine bumps it.
func (s *State) Encode() ([]byte, error) {
	c := *s
	c.Checksum = ""
	body, err := json.Marshal(&c)
	if err != nil {
		return nil, fmt.Errorf("encode state: %w", err)
	}
	// body ends with "}" (the empty checksum is omitted): splice the checksum in, so the
	// document is marshalled once.
	out := make([]byte, 0, len(body)+len(checksumField)+80)
	out = append(out, body[:len(body)-1]...)
	out = append(out, checksumField...)
	out = append(out, checksum(body)...)
	return append(out, "\"}\n"...), nil
}

const checksumField = `,"checksum":"`

func checksum(body []byte) string {
	sum := sha256.Sum256(body)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Decode parses a state document and verifies its format version and checksum. Errors wrap
// ErrCorrupt and say what is wrong.
func Decode(data []byte) (*State, error) {
	var s State
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("%w: not a state document: %v", ErrCorrupt, err)
	}
	if s.Version != FormatVersion {
		return nil, fmt.Errorf("%w: state format version %d; this Panka reads version %d", ErrCorrupt, s.Version, FormatVersion)
	}
	if s.Lineage == "" {
		return nil, fmt.Errorf("%w: no lineage", ErrCorrupt)
	}
	// The checksum covers the exact bytes before it: verifying needs no second encoding.
	trimmed := bytes.TrimRight(data, " \t\r\n")
	i := bytes.LastIndex(trimmed, []byte(checksumField))
	if i < 0 || !bytes.HasSuffix(trimmed, []byte(`"}`)) {
		return nil, fmt.Errorf("%w: no checksum at the end of the document", ErrCorrupt)
	}
	body := append(bytes.Clone(trimmed[:i]), '}')
	if got := checksum(body); s.Checksum != got || string(trimmed[i+len(checksumField):len(trimmed)-2]) != got {
		return nil, fmt.Errorf("%w: checksum mismatch: the document was edited or truncated after it was written; an earlier revision in the backend's history may be intact", ErrCorrupt)
	}
	for i, r := range s.Resources {
		if r == nil || r.Address == "" || r.Kind == "" {
			return nil, fmt.Errorf("%w: resource %d has no address or kind", ErrCorrupt, i)
		}
		if r.Status != StatusCreated && r.Status != StatusPending {
			return nil, fmt.Errorf("%w: resource %s has unknown status %q", ErrCorrupt, r.Address, r.Status)
		}
		if i > 0 && s.Resources[i-1].Address >= r.Address {
			return nil, fmt.Errorf("%w: resources are not sorted by address (or %s is duplicated)", ErrCorrupt, r.Address)
		}
		r.Spec = Normalize(r.Spec).(map[string]any)
	}
	return &s, nil
}

// Normalize turns decoded JSON numbers (float64 or json.Number) into int64 where they are whole,
// else float64, so decoded specs compare equal to the specs the engine builds.
func Normalize(v any) any {
	switch t := v.(type) {
	case map[string]any:
		if t == nil {
			return map[string]any(nil)
		}
		for k, x := range t {
			t[k] = Normalize(x)
		}
		return t
	case []any:
		for i, x := range t {
			t[i] = Normalize(x)
		}
		return t
	case float64:
		// Specs hold int64 for whole numbers; JSON decoding gives float64 for every number.
		if t == math.Trunc(t) && math.Abs(t) < 1<<53 {
			return int64(t)
		}
		return t
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i
		}
		if f, err := t.Float64(); err == nil {
			return f
		}
		return t // out of float64 range: keep the text, so that it encodes back unchanged
	case nil:
		return nil
	default:
		return v
	}
}
