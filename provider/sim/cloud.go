package sim

import (
	"cmp"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"time"

	"github.com/panka/panka/provider"
	"github.com/panka/panka/state"
)

// Record is one simulated resource as the cloud holds it (and as the cloud file stores it).
type Record struct {
	Kind    string            `json:"kind"`
	Name    string            `json:"name"`
	ID      string            `json:"id"`
	ARN     string            `json:"arn,omitempty"`
	Region  string            `json:"region"`
	Account string            `json:"account"`
	Spec    map[string]any    `json:"spec"`
	Tags    map[string]string `json:"tags"`
	Outputs map[string]string `json:"outputs"`
	// Revision is 1 when the resource is created and grows by one on every Update and Mutate.
	Revision int       `json:"revision"`
	Created  time.Time `json:"created"`
	Updated  time.Time `json:"updated"`
}

// clone returns a deep copy of r.
func (r *Record) clone() Record {
	c := *r
	c.Spec = state.CloneMap(r.Spec)
	c.Tags = maps.Clone(r.Tags)
	c.Outputs = maps.Clone(r.Outputs)
	return c
}

// observe returns what a provider reports about r, sharing nothing with it.
func (r *Record) observe() *provider.Observed {
	return &provider.Observed{
		ID:      r.ID,
		Name:    r.Name,
		ARN:     r.ARN,
		Spec:    state.CloneMap(r.Spec),
		Outputs: maps.Clone(r.Outputs),
		Tags:    maps.Clone(r.Tags),
	}
}

// key identifies a record by kind and ID, or a name by kind and name: names and IDs are unique
// per kind, as AWS names are unique per service.
type key struct{ kind, s string }

// cloud is the simulated account: every live resource, indexed by ID and by name. It is not
// safe for concurrent use; a store serialises access to it.
type cloud struct {
	byID   map[key]*Record
	byName map[key]string // kind+name → ID

	// before, while a change is tracked (see track), holds a copy of every record as it was
	// before the change first reached it, or nil for one that did not exist then.
	before map[key]*Record
}

func newCloud() *cloud {
	return &cloud{byID: make(map[key]*Record), byName: make(map[key]string)}
}

// add inserts r, which must have its ID set, and fails if its name or ID is taken.
func (c *cloud) add(r *Record) error {
	if id, ok := c.byName[key{r.Kind, r.Name}]; ok {
		return fmt.Errorf("%s %q exists with ID %s: %w", r.Kind, r.Name, id, provider.ErrAlreadyExists)
	}
	if old, ok := c.byID[key{r.Kind, r.ID}]; ok {
		return fmt.Errorf("%s ID %s is held by %q: %w", r.Kind, r.ID, old.Name, provider.ErrAlreadyExists)
	}
	c.touch(key{r.Kind, r.ID})
	c.byID[key{r.Kind, r.ID}] = r
	c.byName[key{r.Kind, r.Name}] = r.ID
	return nil
}

func (c *cloud) get(kind, id string) (*Record, bool) {
	c.touch(key{kind, id})
	r, ok := c.byID[key{kind, id}]
	return r, ok
}

func (c *cloud) byNameOf(kind, name string) (*Record, bool) {
	id, ok := c.byName[key{kind, name}]
	if !ok {
		return nil, false
	}
	return c.get(kind, id)
}

func (c *cloud) remove(r *Record) {
	c.touch(key{r.Kind, r.ID})
	delete(c.byID, key{r.Kind, r.ID})
	delete(c.byName, key{r.Kind, r.Name})
}

// lookupID finds the resource with physical ID id whatever its kind. An ID held by resources
// of two kinds is ambiguous and an error.
func (c *cloud) lookupID(id string) (*Record, error) {
	var found []*Record
	for _, r := range c.byID {
		if r.ID == id {
			found = append(found, r)
		}
	}
	switch len(found) {
	case 0:
		return nil, provider.ErrNotFound
	case 1:
		c.touch(key{found[0].Kind, found[0].ID})
		return found[0], nil
	}
	kinds := make([]string, len(found))
	for i, r := range found {
		kinds[i] = r.Kind
	}
	slices.Sort(kinds)
	return nil, fmt.Errorf("ID %s is ambiguous: held by kinds %v", id, kinds)
}

// records returns every record, sorted by ID then kind.
func (c *cloud) records() []*Record {
	out := slices.Collect(maps.Values(c.byID))
	slices.SortFunc(out, func(a, b *Record) int {
		return cmp.Or(cmp.Compare(a.ID, b.ID), cmp.Compare(a.Kind, b.Kind))
	})
	return out
}

// Change tracking lets the file store write only what an update changed, and undo an update it
// could not write. Every way to reach a record for change (add, get, byNameOf, lookupID, remove)
// touches its key, so an update that changes a record it reached through a pointer is tracked
// too. A touched record that did not change costs a comparison, nothing more.

// track starts recording the records that the next change reaches. It must be followed by
// untrack.
func (c *cloud) track() { c.before = make(map[key]*Record) }

// untrack stops recording and returns, for every record reached since track, its copy from
// before (nil if it did not exist).
func (c *cloud) untrack() map[key]*Record {
	before := c.before
	c.before = nil
	return before
}

func (c *cloud) touch(k key) {
	if c.before == nil {
		return
	}
	if _, ok := c.before[k]; ok {
		return
	}
	var orig *Record
	if r, ok := c.byID[k]; ok {
		cl := r.clone()
		orig = &cl
	}
	c.before[k] = orig
}

// changed returns the records reached since track that now differ from before (live ones, to
// put) and the keys of the ones that no longer exist (to delete), each sorted.
func (c *cloud) changed(before map[key]*Record) (put []*Record, del []key) {
	for k, orig := range before {
		cur, ok := c.byID[k]
		switch {
		case !ok && orig != nil:
			del = append(del, k)
		case ok && (orig == nil || !reflect.DeepEqual(orig, cur)):
			put = append(put, cur)
		}
	}
	slices.SortFunc(put, func(a, b *Record) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.ID, b.ID))
	})
	slices.SortFunc(del, func(a, b key) int { return cmp.Or(cmp.Compare(a.kind, b.kind), cmp.Compare(a.s, b.s)) })
	return put, del
}

// undo puts back every record reached since track as it was before.
func (c *cloud) undo(before map[key]*Record) {
	// First drop every reached record, then restore the originals, so that a name that moved
	// between two of them ends up where it was.
	for k := range before {
		if cur, ok := c.byID[k]; ok {
			delete(c.byID, k)
			delete(c.byName, key{cur.Kind, cur.Name})
		}
	}
	for k, orig := range before {
		if orig != nil {
			c.byID[k] = orig
			c.byName[key{orig.Kind, orig.Name}] = orig.ID
		}
	}
}

// put adds r, replacing the record of its kind and ID if there is one.
func (c *cloud) put(r *Record) error {
	if old, ok := c.byID[key{r.Kind, r.ID}]; ok {
		c.remove(old)
	}
	return c.add(r)
}
