package sim

import (
	"cmp"
	"fmt"
	"maps"
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
	c.byID[key{r.Kind, r.ID}] = r
	c.byName[key{r.Kind, r.Name}] = r.ID
	return nil
}

func (c *cloud) get(kind, id string) (*Record, bool) {
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
