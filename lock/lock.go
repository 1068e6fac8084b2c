// Package lock defines Locker, the lease lock Panka holds for the whole of a
// run so that two runs never change the same tenant/stack/environment at once.
//
// A lock is a lease: it is taken for a TTL and must be renewed (see
// StartHeartbeat) before the TTL runs out, or anyone may take it over. A holder
// that crashed therefore blocks others for at most one TTL, and a holder that
// was merely slow finds out on its next Renew (ErrLockLost) and stops. Every
// conditional operation (Renew, Release, ForceUnlock) names the lease by its
// ID, so nobody can extend or free a lease they do not hold.
//
// Implementations: lock/memlock (one process), lock/filelock (one machine, the
// embedded default) and lock/dynamolock (many machines). Every implementation
// passes the conformance suite in lock/locktest. To write one for another store
// (Redis, etcd, Postgres...), implement the one conditional update that
// lock/lease asks for; lease provides the rest. Callers tell failures apart
// with errors.Is against the sentinel errors below, and read the holder of a
// contended lock with errors.As into *LockedError or *NotOwnerError.
package lock

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// DefaultTTL is the lease length used when a TTL is zero or negative.
const DefaultTTL = 30 * time.Second

// MaxKeyLen is the longest key ValidateKey accepts. It keeps every key usable
// as a file name (lock/filelock) and as a DynamoDB partition key.
const MaxKeyLen = 200

// Info describes a lease.
type Info struct {
	// ID is a random UUID chosen at Acquire: the "lock ID" shown to users so
	// they can force-unlock exactly the lease they looked at.
	ID string `json:"id"`
	// Key is what is locked, e.g. "tenant/stack/env" (see ValidateKey).
	Key string `json:"key"`
	// Owner is who holds the lease, conventionally "user@host".
	Owner string `json:"owner"`
	// Operation is what the holder is doing: "apply", "destroy", ...
	Operation string `json:"operation"`
	// Created is when the lease was acquired; Renew does not change it.
	Created time.Time `json:"created"`
	// Expires is when the lease lapses unless renewed. A lease whose Expires
	// has passed may be taken by anyone.
	Expires time.Time `json:"expires"`
	// Version is the Panka version of the holder.
	Version string `json:"version,omitempty"`
}

// AcquireOptions describe the lease to take. The zero value is usable: no
// owner, the default TTL, and no waiting.
type AcquireOptions struct {
	Owner     string // who, conventionally "user@host"
	Operation string // "apply", "destroy", ...
	Version   string // Panka version of the caller

	// TTL is the lease length; zero or negative means DefaultTTL.
	TTL time.Duration
	// Wait is how long to keep retrying while another live lease holds the
	// key. Zero (or negative) means try once and fail immediately. Retries
	// back off exponentially with jitter, capped, and stop early when the
	// context is done.
	Wait time.Duration
}

// Locker is the lease lock a run holds. Implementations are safe for
// concurrent use by multiple goroutines, and — as far as their storage
// reaches (one process, one machine, many machines) — by many processes.
//
// All methods honour ctx: when it is done they return an error wrapping
// ctx.Err() and change nothing they have not already committed.
type Locker interface {
	// Acquire takes the lease on key if it is free or its holder's lease
	// has expired. While another live lease holds key it retries until
	// opts.Wait has elapsed, then returns an error satisfying
	// errors.Is(err, ErrLocked) from which errors.As extracts a
	// *LockedError carrying the holder's Info. If ctx is done while waiting
	// it returns an error wrapping ctx.Err(). An invalid key yields
	// ErrInvalidKey.
	Acquire(ctx context.Context, key string, opts AcquireOptions) (*Info, error)

	// Renew extends lease to now+ttl (DefaultTTL if ttl <= 0) iff lease.ID
	// still holds lease.Key. A lease that expired but was not taken by
	// anyone can still be renewed. If the lease was taken over or
	// force-unlocked it returns ErrLockLost and changes nothing. It returns
	// the updated Info; the caller's lease is not modified.
	Renew(ctx context.Context, lease *Info, ttl time.Duration) (*Info, error)

	// Release frees lease.Key iff lease.ID holds it, even if the lease has
	// expired. If another lease holds the key it returns an error satisfying
	// ErrNotOwner (a *NotOwnerError naming that holder) and changes nothing.
	// If nobody holds the key it returns nil, so Release is idempotent.
	Release(ctx context.Context, lease *Info) error

	// Inspect returns the current holder of key, or ErrNotLocked. Expired
	// leases that nobody has taken over are still reported, with Expires in
	// the past, so callers can tell a stale lock from a live one.
	Inspect(ctx context.Context, key string) (*Info, error)

	// ForceUnlock removes the lease on key iff its ID equals id, so that
	// only the lease the user looked at can be broken, even if it is live.
	// If another lease holds key it returns an error satisfying ErrNotOwner
	// (a *NotOwnerError naming the actual holder); if no lease holds key it
	// returns ErrNotLocked. The former holder's next Renew fails with
	// ErrLockLost.
	ForceUnlock(ctx context.Context, key, id string) error
}

// Sentinel errors. Errors returned by Lockers wrap these; test with errors.Is.
var (
	// ErrLocked: the key is held by another live lease (see LockedError).
	ErrLocked = errors.New("lock is held by another run")
	// ErrLockLost: the lease no longer holds its key: it expired and was
	// taken over, or was force-unlocked.
	ErrLockLost = errors.New("lock lost")
	// ErrNotOwner: the key is held by a lease other than the one named
	// (see NotOwnerError).
	ErrNotOwner = errors.New("lock is held by another lease")
	// ErrNotLocked: no lease holds the key.
	ErrNotLocked = errors.New("not locked")
	// ErrInvalidKey: the key does not satisfy ValidateKey.
	ErrInvalidKey = errors.New("invalid lock key")
)

// LockedError is returned (wrapped) by Acquire when another live lease holds
// the key. It satisfies errors.Is(err, ErrLocked).
//
// Its message names the holder and when the lease lapses; what to do about it
// (wait, or ForceUnlock with Holder.ID if the holder is known to be dead) is
// the caller's to say, in the terms of its own interface.
type LockedError struct {
	Holder Info
}

func (e *LockedError) Error() string {
	h := e.Holder
	return fmt.Sprintf("locked by %s (%s) since %s, lock ID %s; the lease expires at %s unless its holder renews it",
		orUnknown(h.Owner), orUnknown(h.Operation), h.Created.Format(time.RFC3339), h.ID, h.Expires.Format(time.RFC3339))
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// Is reports whether target is ErrLocked.
func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// NotOwnerError is returned (wrapped) by Release and ForceUnlock when the key
// is held by a lease other than the one named. It satisfies
// errors.Is(err, ErrNotOwner).
type NotOwnerError struct {
	// ID is the lock ID the caller named.
	ID string
	// Holder is the lease that actually holds the key.
	Holder Info
}

func (e *NotOwnerError) Error() string {
	h := e.Holder
	return fmt.Sprintf("lock %s is held by lock ID %s (%s, %s, expires %s), not by lock ID %s",
		h.Key, h.ID, orUnknown(h.Owner), orUnknown(h.Operation), h.Expires.Format(time.RFC3339), e.ID)
}

// Is reports whether target is ErrNotOwner.
func (e *NotOwnerError) Is(target error) bool { return target == ErrNotOwner }

// ValidateKey reports whether key can name a lock: one or more segments
// separated by "/", each made only of [a-z0-9-], at most MaxKeyLen bytes in
// all. This excludes absolute paths, "..", empty segments and anything that
// needs escaping in a file name or URL. The error wraps ErrInvalidKey.
func ValidateKey(key string) error {
	if key == "" {
		return fmt.Errorf("%w: empty", ErrInvalidKey)
	}
	if len(key) > MaxKeyLen {
		return fmt.Errorf("%w: %q is longer than %d bytes", ErrInvalidKey, key, MaxKeyLen)
	}
	segStart := true
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case c == '/':
			if segStart {
				return fmt.Errorf("%w: %q has an empty segment at byte %d", ErrInvalidKey, key, i)
			}
			segStart = true
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-':
			segStart = false
		default:
			return fmt.Errorf("%w: %q has %q at byte %d; use only a-z, 0-9, - and / between segments", ErrInvalidKey, key, c, i)
		}
	}
	if segStart {
		return fmt.Errorf("%w: %q ends with /", ErrInvalidKey, key)
	}
	return nil
}

// TTLOrDefault returns ttl, or DefaultTTL if ttl is zero or negative.
func TTLOrDefault(ttl time.Duration) time.Duration {
	if ttl <= 0 {
		return DefaultTTL
	}
	return ttl
}
