package backendtest_test

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/panka/panka/backend"
	"github.com/panka/panka/backend/backendtest"
	"github.com/panka/panka/backend/memstate"
)

// A StateBackend implementation wires the suite into its own tests with one function;
// newBackend returns a fresh, empty backend for every subtest (use t.TempDir and t.Cleanup for
// anything it needs):
//
//	func TestConformance(t *testing.T) {
//		backendtest.Run(t, func(t *testing.T) backend.StateBackend { return memstate.New() })
//	}
//
// Below, in miniature, two of the things the suite checks, on backend/memstate: a write names
// the version it read, so a stale writer gets a *backend.ConflictError and changes nothing; and
// writers racing with read-modify-write (backendtest.Increment retries on conflict) lose no
// update, each write leaving a revision in History.
func ExampleRun() {
	ctx := context.Background()
	var b backend.StateBackend = memstate.New()
	key := backend.Key{Tenant: "team-a", Stack: "web", Environment: "prod"}

	v0, err := b.Write(ctx, key, []byte("0"), "") // "": only if there is no document yet
	if err != nil {
		panic(err)
	}
	if _, err := b.Write(ctx, key, []byte("1"), v0); err != nil {
		panic(err)
	}
	_, err = b.Write(ctx, key, []byte("stale"), v0) // v0 is no longer current
	var conflict *backend.ConflictError
	fmt.Println("stale write refused:", errors.As(err, &conflict))

	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := backendtest.Increment(ctx, b, key); err != nil {
				panic(err)
			}
		})
	}
	wg.Wait()
	data, _, err := b.Read(ctx, key)
	if err != nil {
		panic(err)
	}
	history, err := b.History(ctx, key)
	if err != nil {
		panic(err)
	}
	fmt.Printf("counter %s after 8 concurrent increments, %d revisions\n", data, len(history))
	// Output:
	// stale write refused: true
	// counter 9 after 8 concurrent increments, 10 revisions
}
