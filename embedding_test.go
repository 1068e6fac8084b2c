package panka_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/stretchr/testify/require"

	"github.com/panka/panka"
	"github.com/panka/panka/backend"
	"github.com/panka/panka/backend/memstate"
	"github.com/panka/panka/lock/memlock"
	"github.com/panka/panka/provider"
	"github.com/panka/panka/provider/sim"
	"github.com/panka/panka/state"
)

// twoEnvStack declares dev (the stack's region) and prod (another region and account).
const twoEnvStack = `apiVersion: panka.io/v1
kind: Stack
metadata: {name: shop}
spec:
  provider: {name: aws, region: eu-west-1, accountId: "123456789012"}
  variables: {TAG: "1"}
  environments:
    dev: {}
    prod: {region: us-west-2, accountId: "210987654321", variables: {TAG: "2"}}
---
apiVersion: panka.io/v1
kind: Service
metadata: {name: api}
---
`

// TestConcurrentPlansShareOneConfig: one validated Config planned for 8 tenants × 2
// environments by 16 goroutines at once gives each the plan it gets alone, and every physical
// name carries its own tenant's prefix and nobody else's. Run under -race, it also proves that
// nothing writes to the Config.
func TestConcurrentPlansShareOneConfig(t *testing.T) {
	ctx := context.Background()
	cfg, err := panka.ParseBytes(ctx, "test.yaml", []byte(twoEnvStack+queues))
	require.NoError(t, err)
	require.NoError(t, panka.Validate(cfg))
	b := memstate.New()
	optsFor := func(tenant, env string) panka.Options {
		return panka.Options{Provider: unboundProvider(t), Backend: b, Tenant: tenant, Environment: env}
	}
	type job struct{ tenant, env string }
	var jobs []job
	for i := range 8 {
		for _, env := range []string{"dev", "prod"} {
			jobs = append(jobs, job{fmt.Sprintf("team-%d", i), env})
		}
	}
	alone := map[job]*panka.PlanResult{}
	for _, j := range jobs {
		p, err := panka.Plan(ctx, cfg, optsFor(j.tenant, j.env))
		require.NoError(t, err)
		alone[j] = p
	}
	got := make([]*panka.PlanResult, len(jobs))
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Go(func() {
			p, err := panka.Plan(ctx, cfg, optsFor(j.tenant, j.env))
			if err != nil {
				t.Error(err)
				return
			}
			got[i] = p
		})
	}
	wg.Wait()
	for i, j := range jobs {
		require.NotNil(t, got[i])
		if d := cmp.Diff(alone[j], got[i], cmpopts.IgnoreFields(panka.PlanResult{}, "CreatedAt")); d != "" {
			t.Errorf("%s/%s planned concurrently differs from alone (-alone +concurrent):\n%s", j.tenant, j.env, d)
		}
		prefix := j.tenant + "-shop-" + j.env + "-"
		for _, c := range got[i].Changes {
			require.Truef(t, strings.HasPrefix(c.Name, prefix), "%s/%s: %s is named %s, want prefix %s", j.tenant, j.env, c.Address, c.Name, prefix)
			require.Equal(t, j.tenant, c.Tags["panka:tenant"])
		}
		require.Equal(t, j.tenant, got[i].Tenant)
		require.Equal(t, j.env, got[i].Environment)
	}
	// The prod plans deploy to prod's region and account, the dev ones to the stack's.
	require.Equal(t, provider.Target{Provider: "aws", Region: "us-west-2", Account: "210987654321"}, alone[job{"team-0", "prod"}].Target)
	require.Equal(t, provider.Target{Provider: "aws", Region: "eu-west-1", Account: "123456789012"}, alone[job{"team-0", "dev"}].Target)
}

// TestPlanNeverWritesTheConfig: planning a Config that was never validated validates a
// private copy, so concurrent plans do not race on it.
func TestPlanNeverWritesTheConfig(t *testing.T) {
	ctx := context.Background()
	cfg, err := panka.ParseBytes(ctx, "test.yaml", []byte(twoEnvStack+queues))
	require.NoError(t, err)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			_, err := panka.Plan(ctx, cfg, panka.Options{Provider: unboundProvider(t), Backend: memstate.New(), Tenant: fmt.Sprintf("t%d", i), Environment: "dev"})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	require.False(t, cfg.Validated(), "Plan validated the caller's Config in place")
	require.Nil(t, cfg.Graph())
}

// TestPerTenantNamesAreChecked: a component whose name fits for the default tenant but not with
// a tenant prefix is refused at plan time for that tenant, at the component's position.
func TestPerTenantNamesAreChecked(t *testing.T) {
	ctx := context.Background()
	cfg := config(t, "apiVersion: panka.io/v1\nkind: SQS\nmetadata: {name: "+strings.Repeat("q", 60)+", service: api}\nspec: {}\n")
	_, err := panka.Plan(ctx, cfg, panka.Options{Provider: unboundProvider(t), Backend: memstate.New()})
	require.NoError(t, err)
	_, err = panka.Plan(ctx, cfg, panka.Options{Provider: unboundProvider(t), Backend: memstate.New(), Tenant: "a-rather-long-tenant-name"})
	var diags panka.Diagnostics
	require.ErrorAs(t, err, &diags)
	require.ErrorContains(t, err, "test.yaml:14:18: error: physical name \"a-rather-long-tenant-name-shop-default-api-qqq")
	_, err = panka.Plan(ctx, cfg, panka.Options{Provider: unboundProvider(t), Backend: memstate.New(), Environment: "Prod"})
	require.ErrorContains(t, err, "environment name \"Prod\"", "the stack declares no environment, so only the name is checked")
	cfg2, err := panka.ParseBytes(ctx, "test.yaml", []byte(twoEnvStack+queues))
	require.NoError(t, err)
	_, err = panka.Plan(ctx, cfg2, panka.Options{Provider: unboundProvider(t), Backend: memstate.New()})
	require.ErrorIs(t, err, panka.ErrNoEnvironment)
	require.NotContains(t, err.Error(), "--env", "SDK errors give no CLI advice")
	_, err = panka.Plan(ctx, cfg2, panka.Options{Provider: unboundProvider(t), Backend: memstate.New(), Environment: "prdo"})
	require.ErrorContains(t, err, `environment "prdo" is not declared in the stack; did you mean "prod"?`)
}

// unboundProvider is a simulated cloud that is not bound to a region (its Target method is
// hidden), for tests that plan for several targets with one provider.
func unboundProvider(t *testing.T) provider.Provider {
	t.Helper()
	p, err := sim.New(sim.Options{})
	require.NoError(t, err)
	return struct{ provider.Provider }{p}
}

// TestSavedPlanAppliesToItsTarget: a saved plan records the region and account of its
// environment, and applying it with a provider bound elsewhere is refused before anything is
// done.
func TestSavedPlanAppliesToItsTarget(t *testing.T) {
	ctx := context.Background()
	cfg, err := panka.ParseBytes(ctx, "test.yaml", []byte(twoEnvStack+"apiVersion: panka.io/v1\nkind: SQS\nmetadata: {name: q, service: api}\nspec: {}\n"))
	require.NoError(t, err)
	require.NoError(t, panka.Validate(cfg))
	prod, err := sim.New(sim.Options{Region: "us-west-2", AccountID: "210987654321"})
	require.NoError(t, err)
	elsewhere, err := sim.New(sim.Options{}) // us-east-1 / 000000000000
	require.NoError(t, err)
	opts := panka.Options{Provider: prod, Backend: memstate.New(), Locker: memlock.New(memlock.Options{}), Environment: "prod"}

	_, err = panka.Plan(ctx, cfg, panka.Options{Provider: elsewhere, Backend: opts.Backend, Environment: "prod"})
	require.ErrorIs(t, err, provider.ErrWrongTarget)

	p, err := panka.Plan(ctx, cfg, opts)
	require.NoError(t, err)
	require.Equal(t, provider.Target{Provider: "aws", Region: "us-west-2", Account: "210987654321"}, p.Target)
	var buf strings.Builder
	require.NoError(t, panka.WritePlan(&buf, p))
	saved, err := panka.ReadPlan(strings.NewReader(buf.String()))
	require.NoError(t, err)
	require.Equal(t, p.Target, saved.Target)

	wrong := opts
	wrong.Provider = elsewhere
	_, err = panka.ApplyPlan(ctx, saved, wrong)
	require.ErrorIs(t, err, provider.ErrWrongTarget)
	n, err := elsewhere.Count("SQS")
	require.NoError(t, err)
	require.Zero(t, n, "nothing was created in the wrong region")

	res, err := panka.ApplyPlan(ctx, saved, opts)
	require.NoError(t, err)
	require.Equal(t, panka.OutcomeSucceeded, res.Resources[0].Outcome)
	require.Contains(t, res.Resources[0].ID, "sqs.us-west-2.amazonaws.com/210987654321/", "created in the plan's region and account")
}

// TestTagsArePlannedAndRefreshed: labels become tags; changing one plans an in-place update of
// exactly that tag, and a tag changed outside Panka is reported as drift and set back.
func TestTagsArePlannedAndRefreshed(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	doc := func(team string) string {
		return "apiVersion: panka.io/v1\nkind: SQS\nmetadata: {name: q, service: api, labels: {team: " + team + "}}\nspec: {}\n"
	}
	res, err := panka.Apply(ctx, config(t, doc("a")), h.opts())
	require.NoError(t, err)
	id := res.Resources[0].ID
	require.Equal(t, "a", liveTags(t, h, id)["team"])

	p, err := panka.Plan(ctx, config(t, doc("b")), h.opts())
	require.NoError(t, err)
	require.Equal(t, panka.Summary{Change: 1}, p.Summary)
	require.Equal(t, []panka.FieldDiff{{Path: "tags.team", Before: "a", After: "b"}}, p.Changes[0].Fields)
	var text strings.Builder
	require.NoError(t, panka.WritePlanText(&text, p))
	require.Contains(t, text.String(), `~ tags.team: "a" → "b"`)
	_, err = panka.ApplyPlan(ctx, p, h.opts())
	require.NoError(t, err)
	require.Equal(t, "b", liveTags(t, h, id)["team"])
	require.Equal(t, "b", h.readState().Lookup("api/q").Tags["team"])

	// Someone retags the queue in the console.
	require.NoError(t, h.sim.MutateTags(id, func(tags map[string]string) { tags["team"] = "c"; tags["aws:cloudformation:stack"] = "x" }))
	p, err = panka.Plan(ctx, config(t, doc("b")), h.opts())
	require.NoError(t, err)
	require.Len(t, p.Drift, 1)
	require.Equal(t, []panka.FieldDiff{{Path: "tags.team", Before: "b", After: "c"}}, p.Drift[0].Fields, "aws:* tags are the cloud's own, never drift")
	require.Equal(t, []panka.FieldDiff{{Path: "tags.team", Before: "c", After: "b"}}, p.Changes[0].Fields)
	_, err = panka.ApplyPlan(ctx, p, h.opts())
	require.NoError(t, err)
	require.Equal(t, "b", liveTags(t, h, id)["team"])
	p, err = panka.Plan(ctx, config(t, doc("b")), h.opts())
	require.NoError(t, err)
	require.False(t, p.HasChanges())
}

func liveTags(t *testing.T, h *harness, id string) map[string]string {
	t.Helper()
	obs, err := h.sim.Read(context.Background(), "SQS", id)
	require.NoError(t, err)
	return obs.Tags
}

// independent adds an S3 bucket that nothing depends on to the queues config.
const independent = queues + "---\napiVersion: panka.io/v1\nkind: S3\nmetadata: {name: assets, service: api}\nspec: {}\n"

// TestTargetsLimitPlanAndApply: like terraform -target, a run changes the targets and what they
// depend on, nothing else; a service name targets its components; an unknown address is an
// error with a suggestion.
func TestTargetsLimitPlanAndApply(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	cfg := config(t, independent)
	opts := h.opts()
	opts.Targets = []string{"api/jobs"}
	p, err := panka.Plan(ctx, cfg, opts)
	require.NoError(t, err)
	require.Equal(t, map[string]panka.Action{"api/dlq": panka.ActionCreate, "api/jobs": panka.ActionCreate}, actions(p))
	res, err := panka.Apply(ctx, cfg, opts)
	require.NoError(t, err)
	require.Len(t, res.Resources, 2)
	require.Equal(t, 2, h.count("SQS"))
	require.Zero(t, h.count("S3"))
	require.Zero(t, h.count("Worker"))

	opts.Targets = []string{"api/jbos"}
	_, err = panka.Plan(ctx, cfg, opts)
	require.ErrorIs(t, err, panka.ErrUnknownAddress)
	require.ErrorContains(t, err, "did you mean api/jobs?")
	_, err = panka.Apply(ctx, cfg, opts)
	require.ErrorIs(t, err, panka.ErrUnknownAddress)

	opts.Targets = []string{"api"} // the whole service
	p, err = panka.Plan(ctx, cfg, opts)
	require.NoError(t, err)
	require.Equal(t, panka.Summary{Add: 2, NoOp: 2}, p.Summary)

	// A forced replacement outside the targets is targeted too, not silently dropped.
	opts.Targets, opts.Replace = []string{"api/jobs"}, []string{"api/dlq"}
	p, err = panka.Plan(ctx, cfg, opts)
	require.NoError(t, err)
	require.Equal(t, map[string]panka.Action{"api/dlq": panka.ActionReplace, "api/jobs": panka.ActionNoop}, actions(p))

	// A refresh-only plan checks its targets too, and refuses Replace.
	opts.RefreshOnly, opts.Replace, opts.Targets = true, nil, []string{"api/jbos"}
	_, err = panka.Plan(ctx, cfg, opts)
	require.ErrorIs(t, err, panka.ErrUnknownAddress)
	opts.Targets = []string{"api/dlq"}
	p, err = panka.Plan(ctx, cfg, opts)
	require.NoError(t, err)
	require.Equal(t, map[string]panka.Action{"api/dlq": panka.ActionNoop}, actions(p))
	opts.Replace = []string{"api/dlq"}
	_, err = panka.Plan(ctx, cfg, opts)
	require.ErrorContains(t, err, "Replace has no meaning with RefreshOnly")
}

// TestReplaceForcesReplacement: Options.Replace replaces a resource whose config did not change.
func TestReplaceForcesReplacement(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	cfg := config(t, independent)
	_, err := panka.Apply(ctx, cfg, h.opts())
	require.NoError(t, err)
	before := h.readState().Lookup("api/assets").ID
	creates := h.sim.Calls(sim.OpCreate)
	opts := h.opts()
	opts.Replace = []string{"api/assets"}
	p, err := panka.Plan(ctx, cfg, opts)
	require.NoError(t, err)
	require.Equal(t, panka.Summary{Replace: 1, NoOp: 3}, p.Summary)
	for _, c := range p.Changes {
		if c.Action == panka.ActionReplace {
			require.Equal(t, "api/assets", c.Address)
			require.Equal(t, "replacement requested", c.Reason)
		}
	}
	_, err = panka.ApplyPlan(ctx, p, opts)
	require.NoError(t, err)
	require.Equal(t, 1, h.count("S3"))
	require.Equal(t, before, h.readState().Lookup("api/assets").ID, "bucket names are unique: destroyed, then created under the same name")
	require.Equal(t, creates+1, h.sim.Calls(sim.OpCreate), "created once more")

	opts.Replace = []string{"api/nope"}
	_, err = panka.Plan(ctx, cfg, opts)
	require.ErrorIs(t, err, panka.ErrUnknownAddress)
}

// TestResultsForBots: every ResourceResult says what the run did with typed outcomes, the
// resource's identity and outputs, and an error a bot can branch on; the run's counts are apart
// from the plan's, and no-ops are not successes.
func TestResultsForBots(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	boom := fmt.Errorf("quota exceeded: %w", errors.New("LimitExceeded"))
	h.sim.Inject(sim.Fault{Op: sim.OpCreate, Kind: "SQS", Err: boom}) // the first queue created: api/dlq
	res, err := panka.Apply(ctx, config(t, independent), h.opts())
	require.ErrorIs(t, err, boom)
	byAddr := map[string]panka.ResourceResult{}
	for _, r := range res.Resources {
		byAddr[r.Address] = r
	}
	require.Equal(t, panka.OutcomeFailed, byAddr["api/dlq"].Outcome)
	require.ErrorIs(t, byAddr["api/dlq"].Err, boom)
	require.Equal(t, panka.OutcomeSkipped, byAddr["api/jobs"].Outcome)
	require.ErrorIs(t, byAddr["api/jobs"].Err, panka.ErrDependencyFailed)
	assets := byAddr["api/assets"]
	require.Equal(t, panka.OutcomeSucceeded, assets.Outcome)
	require.NoError(t, assets.Err)
	require.NotEmpty(t, assets.ID)
	require.NotEmpty(t, assets.ARN)
	require.Equal(t, assets.ARN, assets.Outputs["arn"])
	require.Equal(t, panka.Counts{Succeeded: 1, Failed: 1, Skipped: 2}, res.Counts)
	require.Equal(t, panka.Summary{Add: 4}, res.Plan.Summary)

	h.sim.ClearFaults()
	res, err = panka.Apply(ctx, config(t, independent), h.opts())
	require.NoError(t, err)
	require.Equal(t, panka.Counts{Succeeded: 3, Unchanged: 1}, res.Counts, "the bucket was a no-op: unchanged, not a success")
	for _, r := range res.Resources {
		require.NotEmpty(t, r.ID, r.Address)
	}
}

// secretOutputs marks the SQS queueUrl output secret, to see secrets marked in Outputs.
type secretOutputs struct{ provider.Provider }

func (p secretOutputs) Schema(kind string) (provider.KindSchema, bool) {
	ks, ok := p.Provider.Schema(kind)
	if kind == "SQS" {
		ks.SecretOutputs = []string{"queueUrl"}
	}
	return ks, ok
}

// TestOutputsAndState: Outputs lists every output of a tenant's stack in one environment with
// secret ones marked, and ReadState decodes the state, without knowing how it is stored.
func TestOutputsAndState(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	opts := h.opts()
	opts.Provider = secretOutputs{h.sim}
	opts.Tenant = "team-a"
	_, err := panka.Apply(ctx, config(t, "apiVersion: panka.io/v1\nkind: SQS\nmetadata: {name: q, service: api}\nspec: {}\n"), opts)
	require.NoError(t, err)

	key, err := panka.StateKey("team-a", "shop", "default")
	require.NoError(t, err)
	outs, err := panka.Outputs(ctx, h.state, key)
	require.NoError(t, err)
	names := map[string]panka.Output{}
	for _, o := range outs {
		require.Equal(t, "api/q", o.Address)
		names[o.Name] = o
	}
	require.Contains(t, names, "arn")
	require.False(t, names["arn"].Sensitive)
	require.True(t, names["queueUrl"].Sensitive)
	require.Contains(t, names["queueUrl"].Value, "team-a-shop-default-api-q")

	st, err := panka.ReadState(ctx, h.state, key)
	require.NoError(t, err)
	require.Equal(t, names["queueUrl"].Value, st.Lookup("api/q").Outputs["queueUrl"])

	other, err := panka.StateKey("", "shop", "default")
	require.NoError(t, err)
	require.Equal(t, panka.DefaultTenant, other.Tenant)
	outs, err = panka.Outputs(ctx, h.state, other)
	require.NoError(t, err)
	require.Empty(t, outs, "another tenant's stack has no state, so no outputs")
	_, err = panka.ReadState(ctx, h.state, other)
	require.ErrorIs(t, err, backend.ErrNotFound)
}

// TestImport: an existing resource is adopted into the state; the next plan shows what differs
// from the config (the ownership tags included); one owned by another stack is refused.
func TestImport(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	cfg := config(t, "apiVersion: panka.io/v1\nkind: SQS\nmetadata: {name: q, service: api}\nspec: {visibilityTimeout: 60}\n")
	// A queue made by hand, with a different setting and no panka tags. (A provider reads back
	// every field; the simulated one returns the spec it was given, so give it all of them.)
	p, err := panka.Plan(ctx, cfg, h.opts())
	require.NoError(t, err)
	spec := state.CloneMap(p.Changes[0].Template)
	spec["visibilityTimeout"] = int64(30)
	obs, err := h.sim.Create(ctx, provider.Resource{Address: "x", Kind: "SQS", Name: "shop-default-api-q", Spec: spec, Tags: map[string]string{"owner": "me"}})
	require.NoError(t, err)

	_, err = panka.Import(ctx, cfg, "api/nope", obs.ID, h.opts())
	require.ErrorIs(t, err, panka.ErrUnknownAddress)
	_, err = panka.Import(ctx, cfg, "api/q", "https://sqs.eu-west-1.amazonaws.com/123456789012/missing", h.opts())
	require.ErrorIs(t, err, provider.ErrNotFound)

	rec, err := panka.Import(ctx, cfg, "api/q", obs.ID, h.opts())
	require.NoError(t, err)
	require.Equal(t, obs.ID, rec.ID)
	require.Equal(t, state.StatusCreated, h.readState().Lookup("api/q").Status)
	_, err = panka.Import(ctx, cfg, "api/q", obs.ID, h.opts())
	require.ErrorIs(t, err, panka.ErrAlreadyManaged)

	p, err = panka.Plan(ctx, cfg, h.opts())
	require.NoError(t, err)
	require.Equal(t, panka.Summary{Change: 1}, p.Summary, "%+v", p.Changes[0])
	paths := map[string]bool{}
	for _, f := range p.Changes[0].Fields {
		paths[f.Path] = true
	}
	require.True(t, paths["visibilityTimeout"], "the spec difference is planned: %v", paths)
	require.True(t, paths["tags.panka:stack"], "the ownership tags are planned: %v", paths)
	require.True(t, paths["tags.owner"], "a tag the config does not set is removed: %v", paths)
	_, err = panka.ApplyPlan(ctx, p, h.opts())
	require.NoError(t, err)
	require.Equal(t, "shop", liveTags(t, h, obs.ID)["panka:stack"])
	p, err = panka.Plan(ctx, cfg, h.opts())
	require.NoError(t, err)
	require.False(t, p.HasChanges())

	// A resource with another name, whose read-back spec lacks fields: it is recorded under its
	// own name, so the plan replaces it to take the config's; a field the provider did not
	// report is set in place, it forces nothing by itself.
	legacy, err := h.sim.Create(ctx, provider.Resource{Address: "x", Kind: "SQS", Name: "legacy-jobs", Spec: map[string]any{"visibilityTimeout": int64(30)}})
	require.NoError(t, err)
	cfg3 := config(t, "apiVersion: panka.io/v1\nkind: SQS\nmetadata: {name: jobs, service: api}\nspec: {visibilityTimeout: 60}\n")
	rec, err = panka.Import(ctx, cfg3, "api/jobs", legacy.ID, h.opts())
	require.NoError(t, err)
	require.Equal(t, "legacy-jobs", rec.Name)
	p, err = panka.Plan(ctx, cfg3, h.opts())
	require.NoError(t, err)
	require.Equal(t, panka.ActionReplace, actions(p)["api/jobs"])
	require.Equal(t, "physical name changes from legacy-jobs", p.Changes[0].Reason)
	for _, f := range p.Changes[0].Fields {
		require.False(t, f.ForceNew, "%s was not read back; it forces nothing", f.Path)
	}

	// A queue another stack owns is never imported.
	theirs, err := h.sim.Create(ctx, provider.Resource{Address: "api/q", Kind: "SQS", Name: "other-default-api-q", Tags: map[string]string{"panka:stack": "other", "panka:address": "api/q"}})
	require.NoError(t, err)
	cfg2 := config(t, "apiVersion: panka.io/v1\nkind: SQS\nmetadata: {name: r, service: api}\nspec: {}\n")
	_, err = panka.Import(ctx, cfg2, "api/r", theirs.ID, h.opts())
	var owned *provider.OwnershipError
	require.ErrorAs(t, err, &owned)
	require.Equal(t, map[string]string{"panka:stack": "other", "panka:address": "api/q"}, owned.Owner)
}

// TestParseFS: a config read from an fs.FS (here a MapFS; an embed.FS works the same) is the
// config read from files, with the fs paths in positions.
func TestParseFS(t *testing.T) {
	ctx := context.Background()
	fsys := fstest.MapFS{
		"stacks/shop/stack.yaml":  {Data: []byte(stackPrelude[:strings.Index(stackPrelude, "---")])},
		"stacks/shop/api.yml":     {Data: []byte(stackPrelude[strings.Index(stackPrelude, "---")+4:] + queues)},
		"stacks/shop/README.md":   {Data: []byte("not yaml")},
		"stacks/shop/.hidden/x.y": {Data: []byte("ignored")},
	}
	cfg, err := panka.ParseFS(ctx, fsys, "stacks/shop")
	require.NoError(t, err)
	require.NoError(t, panka.Validate(cfg))
	require.Equal(t, []string{"stacks/shop/api.yml", "stacks/shop/stack.yaml"}, cfg.Files)
	require.Len(t, cfg.Components, 3)

	fsys["stacks/shop/bad.yaml"] = &fstest.MapFile{Data: []byte("apiVersion: panka.io/v1\nkind: SQS\nmetadata: {name: x, service: api}\nspec: {nope: 1}\n")}
	_, err = panka.ParseFS(ctx, fsys, "stacks/shop")
	require.ErrorContains(t, err, "stacks/shop/bad.yaml:4:8: error:")
	_, err = panka.ParseFS(ctx, fsys, "stacks/none")
	require.Error(t, err)
}

// TestUnsupportedKindsAreRefusedTogether: a config with kinds the provider does not support is
// refused at plan time with one error naming each kind and its components.
func TestUnsupportedKindsAreRefusedTogether(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	opts := h.opts()
	opts.Provider = onlyKinds{h.sim, "SQS"}
	_, err := panka.Apply(ctx, config(t, independent), opts)
	require.ErrorIs(t, err, provider.ErrUnsupportedKind)
	require.ErrorContains(t, err, "the provider does not support S3 (api/assets); Worker (api/worker)")
	require.Zero(t, h.count("SQS"), "nothing is applied in part")
}

// onlyKinds is a provider supporting only some kinds.
type onlyKinds struct {
	provider.Provider
	kind string
}

func (p onlyKinds) Schema(kind string) (provider.KindSchema, bool) {
	if kind != p.kind {
		return provider.KindSchema{}, false
	}
	return p.Provider.Schema(kind)
}

// withParts reports a role part for every resource, named after its ID, with a generation the
// test can change to stand for AWS having replaced the part.
type withParts struct {
	provider.Provider
	gen *string
}

func (p withParts) add(obs *provider.Observed, err error) (*provider.Observed, error) {
	if err != nil {
		return nil, err
	}
	c := *obs
	c.Parts = []provider.Part{{Type: "AWS::IAM::Role", ID: obs.ID + "-role", ARN: "arn:aws:iam::000000000000:role/" + *p.gen}}
	return &c, nil
}

func (p withParts) Create(ctx context.Context, r provider.Resource) (*provider.Observed, error) {
	return p.add(p.Provider.Create(ctx, r))
}

func (p withParts) Read(ctx context.Context, kind, id string) (*provider.Observed, error) {
	return p.add(p.Provider.Read(ctx, kind, id))
}

// TestPartsRecorded: the parts a provider reports are recorded in state at apply, and a
// refresh that reads other parts records those.
func TestPartsRecorded(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	gen := "one"
	opts := h.opts()
	opts.Provider = withParts{h.sim, &gen}
	cfg := config(t, "apiVersion: panka.io/v1\nkind: SQS\nmetadata: {name: q, service: api}\nspec: {}\n")
	_, err := panka.Apply(ctx, cfg, opts)
	require.NoError(t, err)
	key, err := panka.StateKey("", "shop", "default")
	require.NoError(t, err)
	st, err := panka.ReadState(ctx, h.state, key)
	require.NoError(t, err)
	r := st.Lookup("api/q")
	require.Equal(t, []provider.Part{{Type: "AWS::IAM::Role", ID: r.ID + "-role", ARN: "arn:aws:iam::000000000000:role/one"}}, r.Parts)

	gen = "two"
	_, err = panka.Refresh(ctx, cfg, opts)
	require.NoError(t, err)
	st, err = panka.ReadState(ctx, h.state, key)
	require.NoError(t, err)
	require.Equal(t, "arn:aws:iam::000000000000:role/two", st.Lookup("api/q").Parts[0].ARN)
}

// readsBack rewrites what Read reports of one spec field: the provider read it and found it
// empty (value), or could not read it (omit).
type readsBack struct {
	provider.Provider
	field string
	value any
	omit  bool
}

func (p readsBack) Read(ctx context.Context, kind, id string) (*provider.Observed, error) {
	obs, err := p.Provider.Read(ctx, kind, id)
	if err != nil {
		return nil, err
	}
	c := *obs
	c.Spec = maps.Clone(obs.Spec)
	if p.omit {
		delete(c.Spec, p.field)
	} else {
		c.Spec[p.field] = p.value
	}
	return &c, nil
}

// TestEmptiedFieldIsDrift: a list the provider reads back empty is drift when the config fills
// it (the parts were deleted behind Panka's back, or by a destroy killed halfway), while a
// field the provider does not report keeps its recorded value, and an empty one the config
// leaves out is no change.
func TestEmptiedFieldIsDrift(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	cfg := config(t, `apiVersion: panka.io/v1
kind: SNS
metadata: {name: events, service: api}
spec:
  subscriptions:
    - {protocol: sqs, target: audit}
---
apiVersion: panka.io/v1
kind: SQS
metadata: {name: audit, service: api}
spec: {}
`)
	_, err := panka.Apply(ctx, cfg, h.opts())
	require.NoError(t, err)
	for _, tc := range []struct {
		name      string
		p         readsBack
		wantDrift bool
	}{
		{"emptied", readsBack{field: "subscriptions", value: []any{}}, true},
		{"emptied as nil", readsBack{field: "subscriptions", value: nil}, true},
		{"not read", readsBack{field: "subscriptions", omit: true}, false},
		{"empty and not configured", readsBack{field: "tags-not-in-spec", value: []any{}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := h.opts()
			tc.p.Provider = h.sim
			opts.Provider = tc.p
			p, err := panka.Plan(ctx, cfg, opts)
			require.NoError(t, err)
			got := actions(p)["api/events"]
			if tc.wantDrift {
				require.Equal(t, panka.ActionUpdate, got)
			} else {
				require.Equal(t, panka.ActionNoop, got)
			}
		})
	}
}

// noParts reports no parts at all: every part the state records reads as lost.
type noParts struct{ provider.Provider }

// partDeleter records the parts DeleteParts is given, and the names of the resources.
type partDeleter struct {
	withParts
	deleted *[]provider.Part
	names   *[]string
}

func (p partDeleter) DeleteParts(_ context.Context, r provider.Resource, parts []provider.Part) error {
	*p.deleted = append(*p.deleted, parts...)
	if p.names != nil {
		*p.names = append(*p.names, r.Name)
	}
	return nil
}

// failedCreate fails every Create, as a create killed before its resource existed (after some
// of its parts) leaves a pending record behind.
type failedCreate struct{ partDeleter }

func (p failedCreate) Create(context.Context, provider.Resource) (*provider.Observed, error) {
	return nil, errors.New("killed")
}

// TestLeftoversOfAnInterruptedCreateAreDeleted: a record whose create never made its resource
// (pending, and not found) is handed to the provider.PartDeleter before a destroy forgets it:
// the parts a create makes first (a function's role) are found by its name.
func TestLeftoversOfAnInterruptedCreateAreDeleted(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	gen := "one"
	var deleted []provider.Part
	var names []string
	opts := h.opts()
	opts.Provider = failedCreate{partDeleter{withParts{h.sim, &gen}, &deleted, &names}}
	cfg := config(t, "apiVersion: panka.io/v1\nkind: SQS\nmetadata: {name: q, service: api}\nspec: {}\n")
	_, err := panka.Apply(ctx, cfg, opts)
	require.Error(t, err)
	key, err := panka.StateKey("", "shop", "default")
	require.NoError(t, err)
	st, err := panka.ReadState(ctx, h.state, key)
	require.NoError(t, err)
	require.Equal(t, state.StatusPending, st.Lookup("api/q").Status, "the failed create is recorded pending")

	_, err = panka.Destroy(ctx, cfg, opts)
	require.NoError(t, err)
	require.Equal(t, []string{"shop-default-api-q"}, names)
	require.Empty(t, deleted, "no parts were recorded")
}

// TestLostPartsAreMadeAgain: a part the state records and the provider no longer reports (its
// role deleted behind Panka's back, or by a delete killed halfway) is drift, and an apply plans
// an update to make it again, though the spec did not change.
func TestLostPartsAreMadeAgain(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	gen := "one"
	opts := h.opts()
	opts.Provider = withParts{h.sim, &gen}
	cfg := config(t, "apiVersion: panka.io/v1\nkind: SQS\nmetadata: {name: q, service: api}\nspec: {}\n")
	_, err := panka.Apply(ctx, cfg, opts)
	require.NoError(t, err)

	opts.Provider = noParts{h.sim}
	p, err := panka.Plan(ctx, cfg, opts)
	require.NoError(t, err)
	require.Len(t, p.Changes, 1)
	c := p.Changes[0]
	require.Equal(t, panka.ActionUpdate, c.Action, "a lost part is made again")
	require.Len(t, c.Fields, 1)
	require.Equal(t, "parts[AWS::IAM::Role "+c.Prior.ID+"-role]", c.Fields[0].Path)
	require.Len(t, p.Drift, 1, "and reported as drift")

	opts.Provider = withParts{h.sim, &gen}
	p, err = panka.Plan(ctx, cfg, opts)
	require.NoError(t, err)
	require.Equal(t, panka.ActionNoop, p.Changes[0].Action, "with its parts back, nothing to do")
}

// TestPartsOfAGoneResourceAreDeleted: when a resource the state records is gone but its parts
// may not be (a delete killed after the resource and before its parts), the engine hands the
// recorded parts to a provider.PartDeleter before forgetting the record, and before creating the
// resource again; a refresh-only run deletes nothing.
func TestPartsOfAGoneResourceAreDeleted(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		run  func(cfg *panka.Config, opts panka.Options) error
		want int
	}{
		{"destroy", func(cfg *panka.Config, opts panka.Options) error { _, err := panka.Destroy(ctx, cfg, opts); return err }, 1},
		{"apply", func(cfg *panka.Config, opts panka.Options) error { _, err := panka.Apply(ctx, cfg, opts); return err }, 1},
		{"refresh", func(cfg *panka.Config, opts panka.Options) error { _, err := panka.Refresh(ctx, cfg, opts); return err }, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			gen := "one"
			var deleted []provider.Part
			opts := h.opts()
			opts.Provider = partDeleter{withParts{h.sim, &gen}, &deleted, nil}
			cfg := config(t, "apiVersion: panka.io/v1\nkind: SQS\nmetadata: {name: q, service: api}\nspec: {}\n")
			res, err := panka.Apply(ctx, cfg, opts)
			require.NoError(t, err)
			id := res.Resources[0].ID
			require.NoError(t, h.sim.Delete(ctx, id, provider.Resource{Address: "api/q", Kind: "SQS", Name: "shop-default-api-q"}))

			require.NoError(t, tc.run(cfg, opts))
			require.Len(t, deleted, tc.want)
			if tc.want > 0 {
				require.Equal(t, id+"-role", deleted[0].ID)
			}
		})
	}
}

// reversed reads SNS subscriptions back in reverse order, as a cloud that keeps none would,
// and declares them unordered or not.
type reversed struct {
	provider.Provider
	unordered bool
}

func (p reversed) Schema(kind string) (provider.KindSchema, bool) {
	ks, ok := p.Provider.Schema(kind)
	if p.unordered && kind == "SNS" {
		ks.Unordered = []string{"subscriptions"}
	}
	return ks, ok
}

func (p reversed) Read(ctx context.Context, kind, id string) (*provider.Observed, error) {
	obs, err := p.Provider.Read(ctx, kind, id)
	if err != nil || kind != "SNS" {
		return obs, err
	}
	c := *obs
	c.Spec = maps.Clone(obs.Spec)
	subs := slices.Clone(obs.Spec["subscriptions"].([]any))
	slices.Reverse(subs)
	c.Spec["subscriptions"] = subs
	return &c, nil
}

// TestUnorderedListsCompareAsSets: a list the provider declares unordered (provider.KindSchema.
// Unordered) read back in another order is no change and no drift; the same list not declared
// unordered is.
func TestUnorderedListsCompareAsSets(t *testing.T) {
	ctx := context.Background()
	cfg := config(t, `apiVersion: panka.io/v1
kind: SNS
metadata: {name: events, service: api}
spec:
  subscriptions:
    - {protocol: email, endpoint: a@example.com}
    - {protocol: email, endpoint: b@example.com}
`)
	for _, unordered := range []bool{true, false} {
		h := newHarness(t)
		opts := h.opts()
		opts.Provider = reversed{h.sim, unordered}
		_, err := panka.Apply(ctx, cfg, opts)
		require.NoError(t, err)
		p, err := panka.Plan(ctx, cfg, opts)
		require.NoError(t, err)
		if unordered {
			require.Equal(t, panka.ActionNoop, p.Changes[0].Action)
			require.Empty(t, p.Drift)
		} else {
			require.Equal(t, panka.ActionUpdate, p.Changes[0].Action, "order matters when the provider says nothing")
		}
	}
}
