// Package dynamolock provides the distributed lock.Locker: leases are items
// in a DynamoDB table, so any number of processes on any number of machines
// that use the same table see the same locks. Create the table with
// EnsureTable (or equivalent infrastructure code).
//
// # Table layout
//
// One item per held (or expired but not yet taken over) lock:
//
//	LockID        S  hash key: the lock key, e.g. "tenant/stack/env"
//	ownerId       S  the lease's lock ID (lock.Info.ID), a random UUID
//	who           S  lock.Info.Owner, conventionally "user@host"
//	operation     S  lock.Info.Operation
//	created       N  lock.Info.Created, epoch seconds
//	expires       N  lock.Info.Expires, epoch seconds; the table's TTL attribute
//	pankaVersion  S  lock.Info.Version
//
// # Guarantees
//
// Every state change is a single conditional write, so it is atomic with
// respect to every other Locker on the table:
//
//   - Acquire: PutItem if attribute_not_exists(LockID) OR expires <= now.
//   - Renew: UpdateItem SET expires if ownerId = the lease's ID.
//   - Release and ForceUnlock: DeleteItem if ownerId = the given ID.
//
// Whether a write happens is decided by its condition alone. When a
// condition fails, the item that made it fail is taken from the failure
// itself (ReturnValuesOnConditionCheckFailure ALL_OLD) or, where the endpoint
// does not return it, from a strongly consistent GetItem, to name the holder
// in the error (*lock.LockedError, *lock.NotOwnerError, lock.ErrLockLost).
//
// Expiry is decided by those conditions alone. DynamoDB's TTL deletes
// expired items lazily (typically within days), so an expired lease usually
// still has its item: Inspect reports it with Expires in the past, and it
// remains the holder for Release and ForceUnlock until someone takes it over.
// Once TTL has deleted it, the key is simply free (Renew of that lease fails
// with lock.ErrLockLost, Release returns nil, ForceUnlock lock.ErrNotLocked).
//
// # Time
//
// Times are whole seconds, as the TTL attribute must be: Created is the
// acquiring time rounded down and Expires is now+TTL rounded up, so a lease
// never lasts less than its TTL and at most a second more. "now" is the clock
// of the machine making the call (DynamoDB conditions cannot read the
// server's clock), so machines sharing a table must keep their clocks in
// sync (NTP): a machine whose clock runs ahead by d takes over leases d early.
//
// # Failures
//
// Errors from DynamoDB are returned wrapped with the operation and table.
// The AWS SDK retries throttling and transient errors itself; a retried
// write whose first attempt was applied but whose response was lost is
// recognised: Acquire and Renew succeed with the lease that was written,
// Release returns nil, ForceUnlock returns lock.ErrNotLocked (which is then
// true). If Acquire fails with a transient error all the same, its lease may
// have been written: nobody knows its lock ID, so it blocks the key until it
// expires, one TTL later.
//
// # Permissions
//
// The Locker needs dynamodb:PutItem, GetItem, UpdateItem and DeleteItem on
// the table; EnsureTable also needs CreateTable, DescribeTable,
// DescribeTimeToLive, UpdateTimeToLive and UpdateContinuousBackups.
package dynamolock

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/uuid"

	"github.com/panka/panka/lock"
	"github.com/panka/panka/lock/lease"
)

// Options configure a Locker.
type Options struct {
	// Table is the name of the lock table (see EnsureTable). Required.
	Table string
	// Now is the clock leases are computed with; nil means time.Now. Tests
	// inject a manual clock. It must be safe for concurrent use.
	Now func() time.Time
}

// Locker is a lock.Locker backed by a DynamoDB table. It is safe for
// concurrent use by multiple goroutines, and by any number of processes and
// machines sharing the table.
type Locker struct {
	client *dynamodb.Client
	table  string
	now    func() time.Time
}

var _ lock.Locker = (*Locker)(nil)

// New returns a Locker on opts.Table, using client for every call. Endpoint,
// region, credentials and retries come from the client's configuration. An
// empty Table is reported by each method.
func New(client *dynamodb.Client, opts Options) *Locker {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &Locker{client: client, table: opts.Table, now: now}
}

// Table returns the name of the lock table.
func (l *Locker) Table() string { return l.table }

func (l *Locker) check(key string) error {
	if l.table == "" {
		return errors.New("dynamodb locker: no table name (Options.Table)")
	}
	return lock.ValidateKey(key)
}

// Acquire implements lock.Locker with a conditional PutItem, retried with
// the backoff shared by every Locker (lock/lease) while opts.Wait
// lasts.
func (l *Locker) Acquire(ctx context.Context, key string, opts lock.AcquireOptions) (*lock.Info, error) {
	if err := l.check(key); err != nil {
		return nil, fmt.Errorf("acquire lock: %w", err)
	}
	ttl := lock.TTLOrDefault(opts.TTL)
	id := uuid.NewString()
	info, err := lease.Retry(ctx, opts.Wait, func(ctx context.Context) (*lock.Info, error) {
		return l.tryAcquire(ctx, key, id, opts, ttl)
	})
	if err != nil {
		return nil, fmt.Errorf("acquire lock %s: %w", key, err)
	}
	return info, nil
}

// tryAcquire makes one attempt at Acquire: it returns the new lease, or a
// *lock.LockedError naming the live lease that holds key.
func (l *Locker) tryAcquire(ctx context.Context, key, id string, opts lock.AcquireOptions, ttl time.Duration) (*lock.Info, error) {
	retriedExpired := "" // lock ID of an expired holder already retried against
	for {
		now := l.now()
		info := &lock.Info{
			ID:        id,
			Key:       key,
			Owner:     opts.Owner,
			Operation: opts.Operation,
			Version:   opts.Version,
			Created:   floorSecond(now),
			Expires:   ceilSecond(now.Add(ttl)),
		}
		// Expires is whole seconds, so "expires <= floor(now)" is exactly
		// "the lease has expired at now".
		_, err := l.client.PutItem(ctx, &dynamodb.PutItemInput{
			TableName:                           &l.table,
			Item:                                encodeItem(info),
			ConditionExpression:                 aws.String("attribute_not_exists(#k) OR #e <= :now"),
			ExpressionAttributeNames:            map[string]string{"#k": attrKey, "#e": attrExpires},
			ExpressionAttributeValues:           map[string]types.AttributeValue{":now": seconds(info.Created)},
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		})
		if err == nil {
			return info, nil
		}
		holder, err := l.holderAfterConflict(ctx, key, err, "PutItem")
		if err != nil {
			return nil, err
		}
		switch {
		case holder == nil:
			// Released between the write and the read: try again.
			continue
		case holder.ID == id:
			// The SDK retried a write that had been applied.
			return holder, nil
		case !l.now().Before(holder.Expires) && holder.ID != retriedExpired:
			// Expired between the write and the read: try again, once
			// for this holder, so that a clock that disagrees with the
			// condition cannot make this loop spin.
			retriedExpired = holder.ID
			continue
		}
		return nil, &lock.LockedError{Holder: *holder}
	}
}

// Renew implements lock.Locker with an UpdateItem conditional on the lease's
// ID; it never recreates a deleted item.
func (l *Locker) Renew(ctx context.Context, lease *lock.Info, ttl time.Duration) (*lock.Info, error) {
	if lease == nil {
		return nil, errors.New("renew lock: nil lease")
	}
	if err := l.check(lease.Key); err != nil {
		return nil, fmt.Errorf("renew lock: %w", err)
	}
	expires := ceilSecond(l.now().Add(lock.TTLOrDefault(ttl)))
	out, err := l.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           &l.table,
		Key:                                 keyOf(lease.Key),
		UpdateExpression:                    aws.String("SET #e = :exp"),
		ConditionExpression:                 aws.String("#o = :id"),
		ExpressionAttributeNames:            map[string]string{"#e": attrExpires, "#o": attrOwnerID},
		ExpressionAttributeValues:           map[string]types.AttributeValue{":exp": seconds(expires), ":id": str(lease.ID)},
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err != nil && !isConflict(err) {
		return nil, fmt.Errorf("renew lock %s: UpdateItem on table %s: %w", lease.Key, l.table, err)
	}
	if err != nil {
		// The condition failed, so the lease is lost; the holder only
		// explains to whom.
		holder, herr := l.holderAfterConflict(ctx, lease.Key, err, "UpdateItem")
		var why string
		switch {
		case herr != nil:
			why = fmt.Sprintf("(could not read the current holder: %v)", herr)
		case holder == nil:
			why = "(the key is free: released, force-unlocked, or its expired item was deleted by TTL)"
		default:
			why = fmt.Sprintf("lock ID %s (%s, %s) has held it since %s", holder.ID,
				orUnknown(holder.Owner), orUnknown(holder.Operation), holder.Created.Format(time.RFC3339))
		}
		return nil, fmt.Errorf("renew lock %s: %w: lock ID %s no longer holds it; %s", lease.Key, lock.ErrLockLost, lease.ID, why)
	}
	renewed, err := decodeItem(l.table, out.Attributes)
	if err != nil {
		return nil, fmt.Errorf("renew lock %s: %w", lease.Key, err)
	}
	return renewed, nil
}

// Release implements lock.Locker with a DeleteItem conditional on the
// lease's ID.
func (l *Locker) Release(ctx context.Context, lease *lock.Info) error {
	if lease == nil {
		return errors.New("release lock: nil lease")
	}
	if err := l.check(lease.Key); err != nil {
		return fmt.Errorf("release lock: %w", err)
	}
	holder, err := l.deleteHeldBy(ctx, lease.Key, lease.ID)
	switch {
	case errors.Is(err, errFree):
		return nil
	case err != nil:
		return fmt.Errorf("release lock %s: %w", lease.Key, err)
	case holder != nil:
		return fmt.Errorf("release lock %s: %w", lease.Key, &lock.NotOwnerError{ID: lease.ID, Holder: *holder})
	}
	return nil
}

// ForceUnlock implements lock.Locker with a DeleteItem conditional on id.
func (l *Locker) ForceUnlock(ctx context.Context, key, id string) error {
	if err := l.check(key); err != nil {
		return fmt.Errorf("force-unlock: %w", err)
	}
	holder, err := l.deleteHeldBy(ctx, key, id)
	switch {
	case errors.Is(err, errFree):
		return fmt.Errorf("force-unlock %s: %w", key, lock.ErrNotLocked)
	case err != nil:
		return fmt.Errorf("force-unlock %s: %w", key, err)
	case holder != nil:
		return fmt.Errorf("force-unlock %s: %w", key, &lock.NotOwnerError{ID: id, Holder: *holder})
	}
	return nil
}

// Inspect implements lock.Locker with a strongly consistent GetItem.
func (l *Locker) Inspect(ctx context.Context, key string) (*lock.Info, error) {
	if err := l.check(key); err != nil {
		return nil, fmt.Errorf("inspect lock: %w", err)
	}
	info, err := l.get(ctx, key)
	switch {
	case err != nil:
		return nil, fmt.Errorf("inspect lock %s: %w", key, err)
	case info == nil:
		return nil, fmt.Errorf("inspect lock %s: %w", key, lock.ErrNotLocked)
	}
	return info, nil
}

// errFree is returned by deleteHeldBy when no item holds the key.
var errFree = errors.New("no lease holds the key")

// deleteHeldBy deletes key's item iff the lease id holds it, and then
// returns nil, nil. Otherwise it deletes nothing and returns the lease that
// holds key, or errFree if none does.
func (l *Locker) deleteHeldBy(ctx context.Context, key, id string) (*lock.Info, error) {
	for {
		_, err := l.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
			TableName:                           &l.table,
			Key:                                 keyOf(key),
			ConditionExpression:                 aws.String("#o = :id"),
			ExpressionAttributeNames:            map[string]string{"#o": attrOwnerID},
			ExpressionAttributeValues:           map[string]types.AttributeValue{":id": str(id)},
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		})
		if err == nil {
			return nil, nil
		}
		holder, err := l.holderAfterConflict(ctx, key, err, "DeleteItem")
		switch {
		case err != nil:
			return nil, err
		case holder == nil:
			return nil, errFree
		case holder.ID != id:
			return holder, nil
		}
		// The read found lease id although the delete's condition did
		// not: the item changed in between. Try again.
	}
}

// holderAfterConflict turns the error of a conditional write on key into
// the lease that made its condition fail: the item returned with the
// failure if there is one, else the item a consistent read finds now (nil if
// none). Any other error is returned wrapped, naming op and the table.
func (l *Locker) holderAfterConflict(ctx context.Context, key string, err error, op string) (*lock.Info, error) {
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		return nil, fmt.Errorf("%s on table %s: %w", op, l.table, err)
	}
	if len(ccf.Item) > 0 {
		return decodeItem(l.table, ccf.Item)
	}
	return l.get(ctx, key)
}

func isConflict(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}

// get returns the lease in key's item, or nil if there is none.
func (l *Locker) get(ctx context.Context, key string) (*lock.Info, error) {
	out, err := l.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &l.table,
		Key:            keyOf(key),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("GetItem on table %s: %w", l.table, err)
	}
	if len(out.Item) == 0 {
		return nil, nil
	}
	return decodeItem(l.table, out.Item)
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
