package panka_test

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"sync"
	"testing/fstest"

	"github.com/panka/panka"
	"github.com/panka/panka/backend/memstate"
	"github.com/panka/panka/lock"
	"github.com/panka/panka/lock/memlock"
	"github.com/panka/panka/provider"
	"github.com/panka/panka/provider/sim"
)

//go:embed examples/simple-stack.yaml
var stacks embed.FS

// ExampleParseFS is a deploy bot: it loads a config compiled into its binary, validates it once,
// and deploys it for several tenants at once from one shared Config, reading typed outcomes and
// the outputs it needs.
func ExampleParseFS() {
	ctx := context.Background()
	cfg, err := panka.ParseFS(ctx, stacks, "examples/simple-stack.yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := panka.Validate(cfg); err != nil { // once; the Config is read-only from here on
		fmt.Println(err)
		return
	}
	cloud, _ := sim.New(sim.Options{Region: "eu-west-1"})
	state, locks := memstate.New(), memlock.New(memlock.Options{})

	tenants := []string{"team-a", "team-b"}
	results := make([]*panka.Result, len(tenants))
	errs := make([]error, len(tenants))
	var wg sync.WaitGroup
	for i, tenant := range tenants {
		wg.Go(func() {
			opts := panka.Options{Tenant: tenant, Environment: "prod", Provider: cloud, Backend: state, Locker: locks}
			results[i], errs[i] = panka.Apply(ctx, cfg, opts)
		})
	}
	wg.Wait()
	for i, res := range results {
		if errs[i] != nil {
			fmt.Println(tenants[i], errs[i])
		}
		c := res.Counts
		fmt.Printf("%s: %d succeeded, %d failed, %d skipped\n", tenants[i], c.Succeeded, c.Failed, c.Skipped)
		for _, r := range res.Resources {
			if r.Outcome != panka.OutcomeSucceeded {
				fmt.Printf("  %s %s: %v\n", r.Address, r.Outcome, r.Err)
			}
		}
	}

	key, _ := panka.StateKey("team-b", "shop", "prod")
	outputs, _ := panka.Outputs(ctx, state, key)
	for _, o := range outputs {
		if o.Address == "api/jobs" && o.Name == "queueUrl" {
			fmt.Println("team-b jobs queue:", o.Value)
		}
	}
	// Output:
	// team-a: 18 succeeded, 0 failed, 0 skipped
	// team-b: 18 succeeded, 0 failed, 0 skipped
	// team-b jobs queue: https://sqs.eu-west-1.amazonaws.com/000000000000/team-b-shop-prod-api-jobs
}

// ExampleOptions_events follows a run as it happens: Options.Events receives every event in
// order, one at a time.
func ExampleOptions_events() {
	ctx := context.Background()
	cfg, _ := panka.ParseFS(ctx, fstest.MapFS{"stack.yaml": {Data: []byte(`apiVersion: panka.io/v1
kind: Stack
metadata: {name: shop}
spec: {provider: {name: aws, region: eu-west-1}}
---
apiVersion: panka.io/v1
kind: Service
metadata: {name: api}
---
apiVersion: panka.io/v1
kind: SQS
metadata: {name: jobs, service: api}
spec: {}
`)}}, ".")
	cloud, _ := sim.New(sim.Options{Region: "eu-west-1"})
	opts := panka.Options{Provider: cloud, Backend: memstate.New(), Locker: memlock.New(memlock.Options{}),
		Events: func(e panka.Event) {
			switch e.Type {
			case panka.EventPlan:
				fmt.Printf("%d %s: %d to add\n", e.Seq, e.Type, e.Summary.Add)
			case panka.EventStart, panka.EventComplete:
				fmt.Printf("%d %s: %s %s\n", e.Seq, e.Type, e.Action, e.Address)
			case panka.EventSummary:
				fmt.Printf("%d %s: %d succeeded\n", e.Seq, e.Type, e.Counts.Succeeded)
			}
		}}
	if _, err := panka.Apply(ctx, cfg, opts); err != nil {
		fmt.Println(err)
	}
	// Output:
	// 1 plan: 1 to add
	// 2 start: create api/jobs
	// 3 complete: create api/jobs
	// 4 summary: 1 succeeded
}

// Example_errors branches on what went wrong with errors.Is and errors.As, never on messages.
func Example_errors() {
	ctx := context.Background()
	report := func(err error) {
		var diags panka.Diagnostics
		var locked *lock.LockedError
		var owned *provider.OwnershipError
		switch {
		case err == nil:
			fmt.Println("ok")
		case errors.As(err, &diags):
			fmt.Printf("invalid config, first problem at line %d\n", diags[0].Pos.Line)
		case errors.As(err, &locked):
			fmt.Println("busy: another run holds the lock, as", locked.Holder.Owner)
		case errors.Is(err, panka.ErrUnknownAddress):
			fmt.Println("no such component")
		case errors.Is(err, provider.ErrWrongTarget):
			fmt.Println("the provider is bound to another region or account")
		case errors.As(err, &owned):
			fmt.Println("owned by", owned.Owner["panka:stack"])
		case errors.Is(err, panka.ErrStalePlan), errors.Is(err, panka.ErrLeaseLost):
			fmt.Println("retry later")
		default:
			fmt.Println("unexpected:", err)
		}
	}
	doc := func(spec string) []byte {
		return []byte("apiVersion: panka.io/v1\nkind: Stack\nmetadata: {name: shop}\nspec: {provider: {name: aws, region: eu-west-1}}\n---\n" +
			"apiVersion: panka.io/v1\nkind: Service\nmetadata: {name: api}\n---\n" +
			"apiVersion: panka.io/v1\nkind: SQS\nmetadata: {name: jobs, service: api}\nspec: " + spec + "\n")
	}
	_, err := panka.ParseBytes(ctx, "stack.yaml", doc("{visibilityTimeot: 30}"))
	report(err)

	cfg, _ := panka.ParseBytes(ctx, "stack.yaml", doc("{}"))
	cloud, _ := sim.New(sim.Options{Region: "eu-west-1"})
	locks := memlock.New(memlock.Options{})
	opts := panka.Options{Provider: cloud, Backend: memstate.New(), Locker: locks, Who: "bot-2"}
	held, _ := locks.Acquire(ctx, "default/shop/default", lock.AcquireOptions{Owner: "bot-1"})
	_, err = panka.Apply(ctx, cfg, opts)
	report(err)
	_ = locks.Release(ctx, held)

	opts.Targets = []string{"api/job"}
	_, err = panka.Plan(ctx, cfg, opts)
	report(err)

	opts.Targets = nil
	elsewhere, _ := sim.New(sim.Options{Region: "us-east-1"})
	opts.Provider = elsewhere
	_, err = panka.Plan(ctx, cfg, opts)
	report(err)

	opts.Provider = cloud
	_, err = panka.Apply(ctx, cfg, opts)
	report(err)
	// Output:
	// invalid config, first problem at line 13
	// busy: another run holds the lock, as bot-1
	// no such component
	// the provider is bound to another region or account
	// ok
}
