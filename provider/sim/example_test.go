package sim_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/panka/panka/provider"
	"github.com/panka/panka/provider/sim"
)

// A platform tool's test runs against the simulated cloud, with a fault injected where it wants
// to see its retry path.
func Example() {
	ctx := context.Background()
	cloud, err := sim.New(sim.Options{Region: "eu-west-1", AccountID: "123456789012"})
	if err != nil {
		panic(err)
	}
	q, err := cloud.Create(ctx, provider.Resource{
		Kind: "SQS", Name: "shop-prod-orders-queue",
		Spec: map[string]any{"visibilityTimeout": int64(30)},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(q.ID)
	fmt.Println(q.Outputs["arn"])

	cloud.Throttle(sim.OpRead, "SQS", 1)
	_, err = cloud.Read(ctx, "SQS", q.ID)
	fmt.Println(provider.Retryable(err), errors.Is(err, provider.ErrThrottled))

	// Drift: someone changes the queue in the console.
	_ = cloud.Mutate(q.ID, func(spec map[string]any) { spec["visibilityTimeout"] = int64(90) })
	q, _ = cloud.Read(ctx, "SQS", q.ID)
	fmt.Println(q.Spec["visibilityTimeout"])
	// Output:
	// https://sqs.eu-west-1.amazonaws.com/123456789012/shop-prod-orders-queue
	// arn:aws:sqs:eu-west-1:123456789012:shop-prod-orders-queue
	// true true
	// 90
}
