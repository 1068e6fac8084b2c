package locktest_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/panka/panka/lock"
	"github.com/panka/panka/lock/locktest"
	"github.com/panka/panka/lock/memlock"
)

// A Locker implementation wires the suite into its own tests with one function; newLocker
// returns a Locker on fresh, empty storage for every subtest:
//
//	func TestConformance(t *testing.T) {
//		locktest.Run(t, func(t *testing.T) lock.Locker { return memlock.New(memlock.Options{}) })
//	}
//
// Below, in miniature, one of the things the suite checks, on lock/memlock: of many runs
// racing for a free lock exactly one wins, and every other one gets lock.ErrLocked with a
// *lock.LockedError naming the winner.
func ExampleRun() {
	ctx := context.Background()
	var l lock.Locker = memlock.New(memlock.Options{})

	var (
		wg               sync.WaitGroup
		mu               sync.Mutex
		winners, refused []*lock.Info
	)
	for i := range 16 {
		wg.Go(func() {
			info, err := l.Acquire(ctx, "team-a/web/prod", lock.AcquireOptions{Owner: fmt.Sprintf("run-%d", i), TTL: time.Minute})
			mu.Lock()
			defer mu.Unlock()
			var held *lock.LockedError
			switch {
			case err == nil:
				winners = append(winners, info)
			case errors.As(err, &held):
				refused = append(refused, &held.Holder)
			default:
				panic(err)
			}
		})
	}
	wg.Wait()
	namedWinner := 0
	for _, h := range refused {
		if h.ID == winners[0].ID {
			namedWinner++
		}
	}
	fmt.Printf("%d winner, %d refused naming it\n", len(winners), namedWinner)
	// Output:
	// 1 winner, 15 refused naming it
}

// A Locker that takes a clock also runs RunWithClock, which checks expiry exactly without
// waiting:
//
//	func TestConformanceWithClock(t *testing.T) {
//		locktest.RunWithClock(t, func(t *testing.T, now func() time.Time) lock.Locker {
//			return memlock.New(memlock.Options{Now: now})
//		})
//	}
//
// Below, what it checks, on lock/memlock with a locktest.Clock: a lease is live until its
// Expires, is then taken over, and its former holder's Renew fails with lock.ErrLockLost.
func ExampleRunWithClock() {
	ctx := context.Background()
	clock := locktest.NewClock(time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC))
	l := memlock.New(memlock.Options{Now: clock.Now})

	alice, err := l.Acquire(ctx, "team-a/web/prod", lock.AcquireOptions{Owner: "alice", TTL: 10 * time.Second})
	if err != nil {
		panic(err)
	}
	clock.Advance(10*time.Second - time.Nanosecond)
	_, err = l.Acquire(ctx, "team-a/web/prod", lock.AcquireOptions{Owner: "bob"})
	fmt.Println("just before expiry:", errors.Is(err, lock.ErrLocked))

	clock.Advance(time.Nanosecond)
	bob, err := l.Acquire(ctx, "team-a/web/prod", lock.AcquireOptions{Owner: "bob"})
	fmt.Println("at expiry:", bob.Owner, err)
	_, err = l.Renew(ctx, alice, 10*time.Second)
	fmt.Println("alice renews:", errors.Is(err, lock.ErrLockLost))
	// Output:
	// just before expiry: true
	// at expiry: bob <nil>
	// alice renews: true
}
