package lease

import (
	"context"
	"fmt"

	"github.com/panka/panka/lock"
)

// CASStore is a store that compares and swaps one record per key, the primitive of etcd,
// Redis, Postgres and DynamoDB (see the package documentation). FromCAS makes a Store of it.
type CASStore interface {
	// Load returns the record for key and an opaque, non-empty version of it, or a nil record
	// and the version "" if there is none.
	Load(ctx context.Context, key string) (cur *lock.Info, version string, err error)

	// CompareAndSwap replaces the record for key with next, or deletes it if next is nil, if
	// and only if the record's version is still version (for "": there is still no record).
	// It reports whether it did; false with a nil error means another writer got there first,
	// and nothing changed.
	CompareAndSwap(ctx context.Context, key, version string, next *lock.Info) (swapped bool, err error)
}

// FromCAS returns a Store whose Update loads the record, calls fn on it and compare-and-swaps
// fn's outcome; when it loses the race to another writer it starts again. Each lost race means
// another writer made progress, and each attempt checks ctx, so Update does not spin forever.
// Keep needs no write: a decision to leave the record as it is (or to fail) is taken on a
// consistent read.
func FromCAS(s CASStore) Store { return casStore{s} }

type casStore struct{ s CASStore }

func (c casStore) Update(ctx context.Context, key string, fn func(*lock.Info) (Op, *lock.Info, error)) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		cur, version, err := c.s.Load(ctx, key)
		if err != nil {
			return err
		}
		if cur != nil {
			cur = copyInfo(cur) // fn must not see, nor keep, the store's own record
		}
		op, next, err := fn(cur)
		if err != nil {
			return err
		}
		var swapped bool
		switch op {
		case Keep:
			return nil
		case Put:
			swapped, err = c.s.CompareAndSwap(ctx, key, version, copyInfo(next))
		case Delete:
			if cur == nil {
				return nil
			}
			swapped, err = c.s.CompareAndSwap(ctx, key, version, nil)
		default:
			return fmt.Errorf("lease: unknown Op %d", op)
		}
		if err != nil || swapped {
			return err
		}
	}
}
