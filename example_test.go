package panka_test

import (
	"context"
	"fmt"
	"os"

	"github.com/panka/panka"
	"github.com/panka/panka/backend/memstate"
	"github.com/panka/panka/lock/memlock"
	"github.com/panka/panka/provider/sim"
)

// Example deploys examples/simple-stack.yaml (6 components, and the 12 resources of its managed
// network, security groups and ECS cluster) to a simulated cloud with in-memory state, then
// shows that a second plan has nothing to do.
func Example() {
	ctx := context.Background()
	cfg, err := panka.Parse(ctx, "examples/simple-stack.yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := panka.Validate(cfg); err != nil {
		fmt.Println(err)
		return
	}
	cloud, _ := sim.New(sim.Options{Region: "eu-west-1"})
	opts := panka.Options{Environment: "dev", Provider: cloud, Backend: memstate.New(), Locker: memlock.New(memlock.Options{})}

	plan, err := panka.Plan(ctx, cfg, opts)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("Plan: %d to add\n", plan.Summary.Add)
	res, err := panka.ApplyPlan(ctx, plan, opts)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("Applied: %d succeeded, %d failed\n", res.Counts.Succeeded, res.Counts.Failed)

	again, _ := panka.Plan(ctx, cfg, opts)
	_ = panka.WritePlanText(os.Stdout, again)
	// Output:
	// Plan: 18 to add
	// Applied: 18 succeeded, 0 failed
	// No changes. Your infrastructure matches the configuration.
}
