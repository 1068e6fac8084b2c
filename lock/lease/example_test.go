package lease_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/panka/panka/lock"
	"github.com/panka/panka/lock/lease"
)

// versionedMap is a toy third-party store standing in for Redis, etcd or Postgres: one record
// per key with a version that changes on every write, behind a mutex. It stores records as
// JSON, as a real store would, which keeps every field exact. Load and CompareAndSwap are all a
// Locker needs of it.
type versionedMap struct {
	mu      sync.Mutex
	records map[string]versioned // guarded by mu
	writes  int                  // guarded by mu; numbers the versions
}

type versioned struct {
	data    []byte
	version string
}

func newVersionedMap() *versionedMap { return &versionedMap{records: map[string]versioned{}} }

func (m *versionedMap) Load(ctx context.Context, key string) (*lock.Info, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	m.mu.Lock()
	r, ok := m.records[key]
	m.mu.Unlock()
	if !ok {
		return nil, "", nil
	}
	var info lock.Info
	if err := json.Unmarshal(r.data, &info); err != nil {
		return nil, "", fmt.Errorf("lease record %s: %w", key, err)
	}
	return &info, r.version, nil
}

func (m *versionedMap) CompareAndSwap(ctx context.Context, key, version string, next *lock.Info) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	var data []byte
	if next != nil {
		var err error
		if data, err = json.Marshal(next); err != nil {
			return false, err
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.records[key].version != version { // "" for a key with no record
		return false, nil
	}
	if next == nil {
		delete(m.records, key)
		return true, nil
	}
	m.writes++
	m.records[key] = versioned{data: data, version: strconv.Itoa(m.writes)}
	return true, nil
}

// A store that can compare and swap one record per key becomes a lock.Locker: lease adds lock
// IDs, expiry, waiting and the Locker methods, and lock.StartHeartbeat keeps a lease alive.
// Such a Locker's own tests run lock/locktest against it:
//
//	func TestConformance(t *testing.T) {
//		locktest.Run(t, func(t *testing.T) lock.Locker {
//			return lease.New(lease.FromCAS(newVersionedMap()), lease.Options{})
//		})
//	}
func Example() {
	ctx := context.Background()
	var locker lock.Locker = lease.New(lease.FromCAS(newVersionedMap()), lease.Options{})

	const key = "team-a/shop/prod"
	alice, err := locker.Acquire(ctx, key, lock.AcquireOptions{Owner: "alice@laptop", Operation: "apply", TTL: time.Minute})
	if err != nil {
		panic(err)
	}
	hb := lock.StartHeartbeat(ctx, locker, alice, time.Minute)

	_, err = locker.Acquire(ctx, key, lock.AcquireOptions{Owner: "bob@ci", Operation: "destroy"})
	var held *lock.LockedError
	if errors.As(err, &held) {
		fmt.Println("bob is refused:", errors.Is(err, lock.ErrLocked), "held by", held.Holder.Owner, held.Holder.Operation)
	}

	hb.Stop()
	if err := locker.Release(ctx, hb.Lease()); err != nil {
		panic(err)
	}
	bob, err := locker.Acquire(ctx, key, lock.AcquireOptions{Owner: "bob@ci", Operation: "destroy"})
	if err != nil {
		panic(err)
	}
	fmt.Println("after alice's release:", bob.Owner, bob.ID != alice.ID)
	// Output:
	// bob is refused: true held by alice@laptop apply
	// after alice's release: bob@ci true
}
