// Package providertest is the conformance suite for provider.Provider implementations. An
// implementation is done when Run passes against it, with -race.
//
// The suite exercises every component kind the provider supports (every kind in
// schema.ComponentKinds() for which Schema reports true; a provider that supports none fails).
// Resources are named "suite-<kind lowercased>-<suffix>" and carry the tags panka:stack=suite
// and panka:address=suite/<kind lowercased>-<suffix>; each one created is deleted again when
// its test ends, so the suite can run against a real account.
package providertest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/panka/panka/provider"
	"github.com/panka/panka/schema"
	"github.com/panka/panka/state"
)

// Run runs every conformance test as a subtest of t, one after another. newProvider is called
// once per subtest and must return a provider whose cloud holds none of the suite's resources
// and shares nothing with the others; it may use t.TempDir and t.Cleanup. The concurrency tests
// call the provider from up to 32 goroutines at once.
func Run(t *testing.T, newProvider func(t *testing.T) provider.Provider) {
	RunIn(t, Env{VPCID: "vpc-0123456789abcdef0", Subnets: []string{"subnet-0123456789abcdef0", "subnet-0123456789abcdef1"},
		SecurityGroups: []string{"sg-0123456789abcdef0"}, Cluster: "arn:aws:ecs:us-east-1:123456789012:cluster/suite"}, newProvider)
}

// Env is where the suite's networked kinds (MicroService, Worker, CronJob, ALB, NLB, and the
// subnets, gateways, route tables and security groups of a network) are placed: IDs that exist
// in the provider's cloud, as the engine's infrastructure would give them (see the root
// package's infra.go). Run uses made-up IDs, for a cloud that does not check them.
type Env struct {
	VPCID          string
	Subnets        []string // at least two, in different availability zones
	SecurityGroups []string
	Cluster        string // an ECS cluster ARN
	// MSKCluster is an MSK cluster ARN (provisioned, at least two brokers, in none of the
	// suite's deployments): the suite's Kafka topics are on it, named by ARN as a user may.
	MSKCluster string
}

// env is the Env of the RunIn in progress.
var env atomic.Pointer[Env]

// RunIn is Run with networked kinds placed in e. Calls of Run and RunIn must not overlap.
func RunIn(t *testing.T, e Env, newProvider func(t *testing.T) provider.Provider) {
	if !env.CompareAndSwap(nil, &e) {
		t.Fatal("providertest: Run and RunIn calls must not overlap")
	}
	defer env.Store(nil)
	tests := []struct {
		name string
		fn   func(t *testing.T, p provider.Provider)
	}{
		{"Schema", testSchema},
		{"RoundTrip", perKind(testRoundTrip)},
		{"CreateExisting", perKind(testCreateExisting)},
		{"Find", perKind(testFind)},
		{"Update", perKind(testUpdate)},
		{"UpdateTags", perKind(testUpdateTags)},
		{"Ownership", perKind(testOwnership)},
		{"Delete", perKind(testDelete)},
		{"NoAliasing", perKind(testNoAliasing)},
		{"UnsupportedKind", testUnsupportedKind},
		{"CanceledContext", perKind(testCanceledContext)},
		{"ConcurrentCreate", testConcurrentCreate},
		{"ConcurrentCreateSameName", perKind(testConcurrentCreateSameName)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newProvider(t))
		})
	}
}

// unknownKind is a kind no provider supports.
const unknownKind = "NoSuchKind"

// supportedKinds returns the kinds p supports, failing t if there are none.
func supportedKinds(t *testing.T, p provider.Provider) []string {
	t.Helper()
	var kinds []string
	for _, k := range append(schema.ComponentKinds(), schema.InternalKinds()...) {
		if _, ok := p.Schema(k); ok {
			kinds = append(kinds, k)
		}
	}
	if len(kinds) == 0 {
		t.Fatalf("provider supports none of the component kinds %v", schema.ComponentKinds())
	}
	return kinds
}

// perKind runs fn as a subtest for every kind p supports, sharing p.
func perKind(fn func(t *testing.T, p provider.Provider, kind string)) func(*testing.T, provider.Provider) {
	return func(t *testing.T, p provider.Provider) {
		for _, kind := range supportedKinds(t, p) {
			t.Run(kind, func(t *testing.T) { fn(t, p, kind) })
		}
	}
}

// resource returns a fresh suite resource of kind with a minimal spec.
func resource(kind, suffix string) provider.Resource {
	lk := strings.ToLower(kind)
	spec, _ := specs(kind)
	if kind == "Subnet" && spec["cidr"] != nil {
		spec["cidr"] = subnetCIDR(suffix) // subnets of one VPC must not overlap
	}
	return provider.Resource{
		Address: "suite/" + lk + "-" + suffix,
		Kind:    kind,
		Name:    "suite-" + lk + "-" + suffix,
		Spec:    spec,
		Tags:    map[string]string{"panka:stack": "suite", "panka:address": "suite/" + lk + "-" + suffix},
	}
}

// create creates r, failing t on error, and deletes it when t ends.
func create(t *testing.T, p provider.Provider, r provider.Resource) *provider.Observed {
	t.Helper()
	obs, err := p.Create(t.Context(), r)
	if err != nil {
		t.Fatalf("Create(%s %s): %v", r.Kind, r.Name, err)
	}
	if obs == nil {
		t.Fatalf("Create(%s %s) returned nil and no error", r.Kind, r.Name)
	}
	cleanupDelete(t, p, r.Kind, obs.ID)
	return obs
}

func cleanupDelete(t *testing.T, p provider.Provider, kind, id string) {
	t.Cleanup(func() {
		// Best effort: the test may have deleted it already, which succeeds.
		if err := p.Delete(context.Background(), id, provider.Resource{Kind: kind}); err != nil {
			t.Logf("cleanup: delete %s %s: %v", kind, id, err)
		}
	})
}

func read(t *testing.T, p provider.Provider, kind, id string) *provider.Observed {
	t.Helper()
	obs, err := p.Read(t.Context(), kind, id)
	if err != nil {
		t.Fatalf("Read(%s, %s): %v", kind, id, err)
	}
	if obs == nil {
		t.Fatalf("Read(%s, %s) returned nil and no error", kind, id)
	}
	return obs
}

// optionalOutputs are the outputs a kind declares that are empty for the suite's specs: a
// MicroService's url is its load balancer's, and the suite's has none.
// An MSK cluster with IAM authentication only (the schema's default) offers neither plaintext,
// unauthenticated TLS nor SASL/SCRAM brokers.
var optionalOutputs = map[string][]string{"MicroService": {"url"}, "MSK": {"bootstrapBrokers", "bootstrapBrokersTls", "bootstrapBrokersScram"}}

// checkObserved reports what is wrong with obs as the state of a resource of kind with spec:
// an empty ID, a declared output missing or empty, an "arn" output other than the ARN, a spec
// other than spec (less the fields the kind's Schema declares External: readBack), or a
// missing tag.
func checkObserved(t *testing.T, p provider.Provider, what, kind string, obs *provider.Observed, spec map[string]any, tags map[string]string) {
	t.Helper()
	if obs.ID == "" {
		t.Errorf("%s: empty ID", what)
	}
	info, _ := schema.LookupKind(kind)
	for _, out := range info.Outputs {
		if v, ok := obs.Outputs[out]; !ok || v == "" && !slices.Contains(optionalOutputs[kind], out) {
			t.Errorf("%s: output %q is missing or empty (outputs: %v)", what, out, obs.Outputs)
		}
	}
	if obs.ARN != "" && obs.Outputs["arn"] != obs.ARN {
		t.Errorf("%s: output arn = %q, ARN = %q", what, obs.Outputs["arn"], obs.ARN)
	}
	if diff := cmp.Diff(readBack(p, kind, spec), obs.Spec, unsetIsAbsent); diff != "" {
		t.Errorf("%s: spec (-written +read):\n%s", what, diff)
	}
	for k, v := range tags {
		if obs.Tags[k] != v {
			t.Errorf("%s: tag %s = %q, want %q", what, k, obs.Tags[k], v)
		}
	}
}

func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: error %v, want one wrapping %q", what, err, target)
	}
}

func testSchema(t *testing.T, p provider.Provider) {
	for _, kind := range supportedKinds(t, p) {
		s, _ := p.Schema(kind)
		fields := map[string]bool{}
		for _, f := range schema.Fields(kind) {
			fields[f.Path] = true
		}
		for _, path := range slices.Concat(s.ForceNew, s.Secret, s.External) {
			if !fields[path] {
				t.Errorf("Schema(%s) names %q, which is not a field of %s", kind, path, kind)
			}
		}
	}
	if _, ok := p.Schema(unknownKind); ok {
		t.Errorf("Schema(%q) = true, want false", unknownKind)
	}
}

// testRoundTrip: what Create returns, and Read then reads back, is the resource as written, with
// every declared output.
func testRoundTrip(t *testing.T, p provider.Provider, kind string) {
	r := resource(kind, "1")
	want := state.CloneMap(r.Spec)
	created := create(t, p, r)
	checkObserved(t, p, "Create", kind, created, want, r.Tags)

	got := read(t, p, kind, created.ID)
	checkObserved(t, p, "Read", kind, got, want, r.Tags)
	if got.ID != created.ID || got.ARN != created.ARN {
		t.Errorf("Read: ID, ARN = %q, %q; Create returned %q, %q", got.ID, got.ARN, created.ID, created.ARN)
	}
	if diff := cmp.Diff(created.Outputs, got.Outputs); diff != "" {
		t.Errorf("outputs (-Create +Read):\n%s", diff)
	}
}

// testCreateExisting: a second Create of a taken name fails with ErrAlreadyExists and leaves the
// first resource as it was.
func testCreateExisting(t *testing.T, p provider.Provider, kind string) {
	r := resource(kind, "1")
	want := state.CloneMap(r.Spec)
	first := create(t, p, r)

	again := resource(kind, "1")
	_, again.Spec = specs(kind)
	obs, err := p.Create(t.Context(), again)
	if err == nil {
		cleanupDelete(t, p, kind, obs.ID)
	}
	wantErr(t, "second Create", err, provider.ErrAlreadyExists)
	checkObserved(t, p, "Read after second Create", kind, read(t, p, kind, first.ID), want, r.Tags)
}

// testFind: Find locates a resource by name (with or without its ownership tags), not one owned
// by another address, and not a name never created.
func testFind(t *testing.T, p provider.Provider, kind string) {
	r := resource(kind, "1")
	created := create(t, p, r)

	found, err := p.Find(t.Context(), resource(kind, "1"))
	if err != nil {
		t.Fatalf("Find: %v", err)
	}
	if found.ID != created.ID {
		t.Errorf("Find: ID %q, Create returned %q", found.ID, created.ID)
	}
	checkObserved(t, p, "Find", kind, found, r.Spec, r.Tags)

	untagged := resource(kind, "1")
	untagged.Tags = nil
	if found, err := p.Find(t.Context(), untagged); err != nil || found.ID != created.ID {
		t.Errorf("Find without tags: %v, %v; want ID %q", found, err, created.ID)
	}

	other := resource(kind, "1")
	other.Tags = map[string]string{"panka:address": "someone-else/" + strings.ToLower(kind)}
	_, err = p.Find(t.Context(), other)
	wantErr(t, "Find with another owner's address tag", err, provider.ErrNotFound)

	_, err = p.Find(t.Context(), resource(kind, "never-created"))
	wantErr(t, "Find of a name never created", err, provider.ErrNotFound)
}

// testUpdate: Update changes the spec in place, as Read sees it.
func testUpdate(t *testing.T, p provider.Provider, kind string) {
	r := resource(kind, "1")
	created := create(t, p, r)

	before, after := specs(kind)
	r.Spec = state.CloneMap(after)
	var changed []string
	for k := range mapsUnion(before, after) {
		if !cmp.Equal(before[k], after[k]) {
			changed = append(changed, k)
		}
	}
	slices.Sort(changed)
	if len(changed) == 0 {
		// A kind with no field that changes in place (a VPC: its one field forces a
		// replacement): Update of the same spec must succeed and change nothing.
		if _, ok := schema.LookupKind(kind); !ok || len(schema.ForceNewFields(kind)) == 0 {
			t.Fatalf("suite bug: no change in the update spec of %s", kind)
		}
	}
	updated, err := p.Update(t.Context(), created.ID, r, changed)
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	checkObserved(t, p, "Update", kind, updated, after, r.Tags)
	if updated.ID != created.ID {
		t.Errorf("Update: ID %q, was %q", updated.ID, created.ID)
	}
	got := read(t, p, kind, created.ID)
	checkObserved(t, p, "Read after Update", kind, got, after, r.Tags)
}

// testUpdateTags: an update that changes only tags (one changed, one added, one removed) applies
// exactly them: Read reports the new tags, the spec and the ID are unchanged.
func testUpdateTags(t *testing.T, p provider.Provider, kind string) {
	r := resource(kind, "1")
	r.Tags["team"], r.Tags["cost-center"] = "a", "42"
	created := create(t, p, r)
	checkObserved(t, p, "Create with tags", kind, created, r.Spec, r.Tags)

	r.Tags = maps.Clone(r.Tags)
	r.Tags["team"], r.Tags["owner"] = "b", "ops"
	delete(r.Tags, "cost-center")
	updated, err := p.Update(t.Context(), created.ID, r, []string{"tags.cost-center", "tags.owner", "tags.team"})
	if err != nil {
		t.Fatalf("Update of tags: %v", err)
	}
	if updated.ID != created.ID {
		t.Errorf("Update of tags: ID %q, was %q", updated.ID, created.ID)
	}
	for _, obs := range []*provider.Observed{updated, read(t, p, kind, created.ID)} {
		checkObserved(t, p, "after a tag update", kind, obs, r.Spec, r.Tags)
		if obs.Tags == nil {
			t.Fatalf("after a tag update: the provider reports no tags; it must, for tag drift to be seen")
		}
		if v, ok := obs.Tags["cost-center"]; ok {
			t.Errorf("after a tag update: removed tag cost-center is still there (%q)", v)
		}
	}
}

// testOwnership: a resource whose ownership tags name another stack is never modified or
// deleted: Update and Delete fail with an error wrapping provider.ErrNotOwned that names the
// owner, and the resource is as it was; its owner can still delete it.
func testOwnership(t *testing.T, p provider.Provider, kind string) {
	theirs := resource(kind, "1")
	theirs.Tags["panka:stack"], theirs.Tags["panka:tenant"] = "other", "someone"
	created := create(t, p, theirs)

	ours := theirs
	ours.Tags = maps.Clone(theirs.Tags)
	ours.Tags["panka:stack"], ours.Tags["panka:tenant"] = "suite", "us"
	_, after := specs(kind)
	ours.Spec = state.CloneMap(after)
	_, err := p.Update(t.Context(), created.ID, ours, []string{"tags.panka:stack"})
	wantErr(t, "Update of another stack's resource", err, provider.ErrNotOwned)
	var owned *provider.OwnershipError
	if errors.As(err, &owned) && owned.Owner["panka:stack"] != "other" {
		t.Errorf("Update: the error names owner %v, want panka:stack=other", owned.Owner)
	}
	err = p.Delete(t.Context(), created.ID, ours)
	wantErr(t, "Delete of another stack's resource", err, provider.ErrNotOwned)
	if err != nil && !strings.Contains(err.Error(), "other") {
		t.Errorf("Delete: %q does not name the owner", err)
	}
	got := read(t, p, kind, created.ID)
	checkObserved(t, p, "after refused changes", kind, got, theirs.Spec, theirs.Tags)

	if err := p.Delete(t.Context(), created.ID, theirs); err != nil {
		t.Fatalf("Delete by its owner: %v", err)
	}
	_, err = p.Read(t.Context(), kind, created.ID)
	wantErr(t, "Read after its owner deleted it", err, provider.ErrNotFound)
}

// testDelete: a deleted resource cannot be read, found or updated; deleting it again succeeds.
func testDelete(t *testing.T, p provider.Provider, kind string) {
	r := resource(kind, "1")
	created := create(t, p, r)

	if err := p.Delete(t.Context(), created.ID, r); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	_, err := p.Read(t.Context(), kind, created.ID)
	wantErr(t, "Read after Delete", err, provider.ErrNotFound)
	if err := p.Delete(t.Context(), created.ID, r); err != nil {
		t.Errorf("second Delete: %v, want success", err)
	}
	_, err = p.Find(t.Context(), r)
	wantErr(t, "Find after Delete", err, provider.ErrNotFound)
	_, err = p.Update(t.Context(), created.ID, r, nil)
	wantErr(t, "Update after Delete", err, provider.ErrNotFound)
}

// testNoAliasing: the provider keeps its own copies of specs and tags: changing the caller's
// maps after Create or Update, or the maps it returned, changes nothing stored.
func testNoAliasing(t *testing.T, p provider.Provider, kind string) {
	r := resource(kind, "1")
	want, wantTags := state.CloneMap(r.Spec), maps.Clone(r.Tags)
	created := create(t, p, r)

	scribble(r.Spec)
	r.Tags["panka:address"] = "scribbled"
	scribble(created.Spec)
	created.Tags["panka:address"] = "scribbled"
	created.Outputs["arn"] = "scribbled"
	got := read(t, p, kind, created.ID)
	checkObserved(t, p, "Read after changing Create's maps", kind, got, want, wantTags)

	scribble(got.Spec)
	got.Outputs["arn"] = "scribbled"
	checkObserved(t, p, "second Read", kind, read(t, p, kind, created.ID), want, wantTags)

	_, after := specs(kind)
	u := resource(kind, "1")
	u.Spec = state.CloneMap(after)
	updated, err := p.Update(t.Context(), created.ID, u, nil)
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	scribble(u.Spec)
	scribble(updated.Spec)
	checkObserved(t, p, "Read after changing Update's maps", kind, read(t, p, kind, created.ID), after, wantTags)
}

// scribble changes every map and list in spec, at every depth.
func scribble(v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			switch e.(type) {
			case map[string]any, []any:
				scribble(e)
			default:
				v[k] = "scribbled"
			}
		}
		v["scribbled"] = true
	case []any:
		for i, e := range v {
			switch e.(type) {
			case map[string]any, []any:
				scribble(e)
			default:
				v[i] = "scribbled"
			}
		}
	}
}

func testUnsupportedKind(t *testing.T, p provider.Provider) {
	ctx := t.Context()
	r := resource(unknownKind, "1")
	_, err := p.Create(ctx, r)
	wantErr(t, "Create", err, provider.ErrUnsupportedKind)
	_, err = p.Read(ctx, unknownKind, "some-id")
	wantErr(t, "Read", err, provider.ErrUnsupportedKind)
	_, err = p.Find(ctx, r)
	wantErr(t, "Find", err, provider.ErrUnsupportedKind)
	_, err = p.Update(ctx, "some-id", r, nil)
	wantErr(t, "Update", err, provider.ErrUnsupportedKind)
	err = p.Delete(ctx, "some-id", provider.Resource{Kind: unknownKind})
	wantErr(t, "Delete", err, provider.ErrUnsupportedKind)
}

// testCanceledContext: every operation called with a done context returns its error.
func testCanceledContext(t *testing.T, p provider.Provider, kind string) {
	r := resource(kind, "1")
	created := create(t, p, r)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()

	if obs, err := p.Create(ctx, resource(kind, "2")); err == nil {
		cleanupDelete(t, p, kind, obs.ID)
		t.Error("Create succeeded with a canceled context")
	} else {
		wantErr(t, "Create", err, context.Canceled)
	}
	_, err := p.Read(ctx, kind, created.ID)
	wantErr(t, "Read", err, context.Canceled)
	_, err = p.Find(ctx, r)
	wantErr(t, "Find", err, context.Canceled)
	_, err = p.Update(ctx, created.ID, r, nil)
	wantErr(t, "Update", err, context.Canceled)
	err = p.Delete(ctx, created.ID, r)
	wantErr(t, "Delete", err, context.Canceled)
}

// testConcurrentCreate: 32 goroutines creating distinct resources (of every supported kind) all
// succeed, and every resource can be read back under its own ID.
func testConcurrentCreate(t *testing.T, p provider.Provider) {
	const n = 32
	kinds := supportedKinds(t, p)
	rs := make([]provider.Resource, n)
	for i := range rs {
		rs[i] = resource(kinds[i%len(kinds)], fmt.Sprintf("c%d", i))
	}
	obs := make([]*provider.Observed, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range rs {
		wg.Go(func() {
			<-start
			obs[i], errs[i] = p.Create(t.Context(), rs[i])
		})
	}
	close(start)
	wg.Wait()

	seen := map[[2]string]string{}
	for i, r := range rs {
		if errs[i] != nil {
			t.Errorf("Create %s %s: %v", r.Kind, r.Name, errs[i])
			continue
		}
		cleanupDelete(t, p, r.Kind, obs[i].ID)
		if prev, dup := seen[[2]string{r.Kind, obs[i].ID}]; dup {
			t.Errorf("%s %s and %s got the same ID %s", r.Kind, prev, r.Name, obs[i].ID)
		}
		seen[[2]string{r.Kind, obs[i].ID}] = r.Name
		checkObserved(t, p, "Read of "+r.Name, r.Kind, read(t, p, r.Kind, obs[i].ID), r.Spec, r.Tags)
	}
}

// testConcurrentCreateSameName: of 16 goroutines racing to create the same name, exactly one
// succeeds; the others get ErrAlreadyExists.
func testConcurrentCreateSameName(t *testing.T, p provider.Provider, kind string) {
	const n = 16
	errs := make([]error, n)
	obs := make([]*provider.Observed, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			obs[i], errs[i] = p.Create(t.Context(), resource(kind, "race"))
		})
	}
	close(start)
	wg.Wait()

	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
			cleanupDelete(t, p, kind, obs[i].ID)
		case !errors.Is(err, provider.ErrAlreadyExists):
			t.Errorf("goroutine %d: %v, want success or ErrAlreadyExists", i, err)
		}
	}
	if won != 1 {
		t.Errorf("%d of %d concurrent Creates of one name succeeded, want exactly 1", won, n)
	}
}

func mapsUnion(a, b map[string]any) map[string]bool {
	out := make(map[string]bool, len(a)+len(b))
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

// unsetIsAbsent compares specs as the engine reads them (provider.Observed.Spec): a field read
// back nil (read, and unset) is the same as a field left out.
var unsetIsAbsent = cmpopts.AcyclicTransformer("withoutUnset", func(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if v != nil {
			out[k] = v
		}
	}
	return out
})
