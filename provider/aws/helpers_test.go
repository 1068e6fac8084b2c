package aws_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/panka/panka/provider"
	pankaaws "github.com/panka/panka/provider/aws"
	"github.com/panka/panka/state"
)

// The field tests deploy components of one deployment: tenant acme, stack shop, environment
// dev, service orders. Component names carry a counter: kumo's data outlives a test (and a
// -count run).
const prefix = "acme-shop-dev-orders-"

var serial atomic.Int64

func unique(name string) string { return fmt.Sprintf("%s%d", name, serial.Add(1)) }

// component returns the resource the engine would hand over for component comp of kind.
func component(kind, comp, suffix string, spec map[string]any) provider.Resource {
	return provider.Resource{
		Address: "orders/" + comp, Kind: kind, Name: prefix + comp + suffix, Spec: spec,
		Tags: map[string]string{
			"panka:tenant": "acme", "panka:stack": "shop", "panka:environment": "dev", "panka:address": "orders/" + comp,
		},
	}
}

// deploy creates r, deleting it when the test ends.
func deploy(t *testing.T, p *pankaaws.Provider, r provider.Resource) *provider.Observed {
	t.Helper()
	obs, err := p.Create(t.Context(), r)
	if err != nil {
		t.Fatalf("Create %s: %v", r.Name, err)
	}
	t.Cleanup(func() {
		if err := p.Delete(context.Background(), obs.ID, r); err != nil {
			t.Errorf("Delete %s: %v", r.Name, err)
		}
	})
	return obs
}

// view is a resource as seen through the SDK, independently of the provider: every attribute
// and tag, flattened to "name=value" entries.
type view map[string]string

// changedKeys returns the keys whose values differ between a and b.
func changedKeys(a, b view) []string {
	var out []string
	for k := range mapsUnion(a, b) {
		if a[k] != b[k] {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

func mapsUnion(a, b view) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

// wantIn fails t unless v holds every entry of want; an entry "" in want is one v must not
// have.
func wantIn(t *testing.T, what string, v, want view) {
	t.Helper()
	got := view{}
	for k := range want {
		got[k] = v[k]
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s: seen through the SDK (-want +got):\n%s\nall: %v", what, diff, v)
	}
}

// fieldCase is one field of a kind set to a value other than its default.
type fieldCase struct {
	name string
	// set changes the base spec (and the resource's name suffix, for fifo).
	set func(spec map[string]any)
	// want is what the SDK must show once it is applied.
	want view
	// forceNew: the schema replaces the resource for it; Update must refuse it.
	forceNew bool
	// drift changes the field behind Panka's back, through the SDK.
	drift func(t *testing.T, id string)
	// base, if set, replaces the kind's base spec (a field of FIFO resources only).
	base func() map[string]any
}

// checkFieldCase applies c's field at create, as an update, and as drift, checking each through
// look (an independent SDK view) and, for drift, through the provider's Read.
func checkFieldCase(t *testing.T, p *pankaaws.Provider, kind string, base func() map[string]any, suffix func(map[string]any) string,
	c fieldCase, look func(t *testing.T, id string) view) {
	if c.base != nil {
		base = c.base
	}
	withField := base()
	c.set(withField)

	t.Run("create", func(t *testing.T) {
		r := component(kind, unique("c"), suffix(withField), state.CloneMap(withField))
		obs := deploy(t, p, r)
		wantIn(t, "after Create", look(t, obs.ID), c.want)
		if diff := cmp.Diff(withField, obs.Spec, unsetIsAbsent); diff != "" {
			t.Errorf("Create returned spec (-applied +read):\n%s", diff)
		}
	})

	t.Run("update", func(t *testing.T) {
		plain := base()
		r := component(kind, unique("u"), suffix(plain), plain)
		obs := deploy(t, p, r)
		before := look(t, obs.ID)
		r.Spec = state.CloneMap(withField)
		updated, err := p.Update(t.Context(), obs.ID, r, []string{c.name})
		if c.forceNew {
			if err == nil {
				t.Fatalf("Update of %s (ForceNew) succeeded", c.name)
			}
			if diff := cmp.Diff(before, look(t, obs.ID)); diff != "" {
				t.Errorf("a refused Update changed the resource (-before +after):\n%s", diff)
			}
			ks, _ := p.Schema(kind)
			if !slices.Contains(ks.ForceNew, c.name) {
				t.Errorf("Schema(%s).ForceNew = %v, want it to list %s", kind, ks.ForceNew, c.name)
			}
			return
		}
		if err != nil {
			t.Fatalf("Update: %v", err)
		}
		after := look(t, obs.ID)
		wantIn(t, "after Update", after, c.want)
		var want []string
		for k, v := range c.want {
			if before[k] != v {
				want = append(want, k)
			}
		}
		slices.Sort(want)
		if diff := cmp.Diff(want, changedKeys(before, after)); diff != "" {
			t.Errorf("Update changed other things than %s (-want +got):\n%s", c.name, diff)
		}
		if diff := cmp.Diff(withField, updated.Spec, unsetIsAbsent); diff != "" {
			t.Errorf("Update returned spec (-applied +read):\n%s", diff)
		}
	})

	if c.drift == nil {
		return
	}
	t.Run("drift", func(t *testing.T) {
		r := component(kind, unique("d"), suffix(withField), state.CloneMap(withField))
		obs := deploy(t, p, r)
		c.drift(t, obs.ID)
		got, err := p.Read(t.Context(), kind, obs.ID)
		if err != nil {
			t.Fatal(err)
		}
		if cmp.Equal(withField, got.Spec, unsetIsAbsent) && maps.Equal(r.Tags, got.Tags) {
			t.Fatalf("a change of %s behind Panka's back does not show in Read", c.name)
		}
		// Applying the spec again undoes it.
		if _, err := p.Update(t.Context(), obs.ID, r, nil); err != nil {
			t.Fatalf("Update to undo the drift: %v", err)
		}
		wantIn(t, "after undoing the drift", look(t, obs.ID), c.want)
		got, err = p.Read(t.Context(), kind, obs.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(withField, got.Spec, unsetIsAbsent); diff != "" {
			t.Errorf("Read after undoing the drift (-applied +read):\n%s", diff)
		}
	})
}

// unsetIsAbsent compares specs as the engine reads them: a field read back nil (read, and
// unset) is the same as a field left out.
var unsetIsAbsent = cmpopts.AcyclicTransformer("withoutUnset", func(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if v != nil {
			out[k] = v
		}
	}
	return out
})
