package providertest_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/panka/panka/provider"
	"github.com/panka/panka/provider/sim"
)

// A Provider implementation wires the suite into its own tests with one function;
// newProvider returns a provider on a cloud that holds none of the suite's resources, for
// every subtest (use t.Cleanup to tear anything down):
//
//	func TestConformance(t *testing.T) {
//		providertest.Run(t, func(t *testing.T) provider.Provider {
//			p, err := sim.New(sim.Options{})
//			if err != nil {
//				t.Fatal(err)
//			}
//			return p
//		})
//	}
//
// Below, in miniature, the life cycle the suite checks for every kind the provider supports,
// on provider/sim: Create under the deterministic name, ErrAlreadyExists for a second Create
// and Find by name and ownership tags instead, Update in place, and Delete, after which Read
// reports ErrNotFound.
func Example() {
	ctx := context.Background()
	var p provider.Provider
	p, err := sim.New(sim.Options{Region: "eu-west-1", AccountID: "123456789012"})
	if err != nil {
		panic(err)
	}
	if _, ok := p.Schema("SQS"); !ok {
		panic("the suite runs every kind the provider supports; this one supports SQS")
	}
	r := provider.Resource{
		Address: "suite/sqs-a", Kind: "SQS", Name: "suite-sqs-a",
		Spec: map[string]any{"visibilityTimeout": int64(30)},
		Tags: map[string]string{"panka:stack": "suite", "panka:address": "suite/sqs-a"},
	}
	created, err := p.Create(ctx, r)
	if err != nil {
		panic(err)
	}
	_, err = p.Create(ctx, r)
	fmt.Println("second create:", errors.Is(err, provider.ErrAlreadyExists))
	found, err := p.Find(ctx, r)
	fmt.Println("found by name and tags:", err == nil && found.ID == created.ID)

	r.Spec["visibilityTimeout"] = int64(60)
	updated, err := p.Update(ctx, created.ID, r, []string{"visibilityTimeout"})
	if err != nil {
		panic(err)
	}
	fmt.Println("updated in place:", updated.ID == created.ID, updated.Spec["visibilityTimeout"])

	if err := p.Delete(ctx, created.ID, provider.Resource{Kind: "SQS"}); err != nil {
		panic(err)
	}
	_, err = p.Read(ctx, "SQS", created.ID)
	fmt.Println("after delete:", errors.Is(err, provider.ErrNotFound))
	// Output:
	// second create: true
	// found by name and tags: true
	// updated in place: true 60
	// after delete: true
}
