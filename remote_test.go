package panka_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/logging"
	"github.com/stretchr/testify/require"

	"github.com/panka/panka"
	"github.com/panka/panka/backend"
	"github.com/panka/panka/backend/s3state"
	"github.com/panka/panka/bootstrap"
	"github.com/panka/panka/internal/localaws"
	"github.com/panka/panka/lock"
	"github.com/panka/panka/lock/dynamolock"
	"github.com/panka/panka/lock/locktest"
	"github.com/panka/panka/provider"
	"github.com/panka/panka/provider/sim"
	"github.com/panka/panka/state"
)

// emulator is the one AWS emulator of this test binary (a second one in a process races inside
// the emulator).
var emulator = sync.OnceValues(func() (*localaws.Server, error) { return localaws.Start("") })

// remote returns an S3 backend and a DynamoDB locker in a fresh bucket and table of the emulator;
// the locker computes leases with now (nil: real time).
func remote(t *testing.T, now func() time.Time) (*s3state.Backend, *dynamolock.Locker) {
	t.Helper()
	srv, err := emulator()
	require.NoError(t, err)
	ctx := context.Background()
	cfg, err := srv.Config(ctx, "us-east-1")
	require.NoError(t, err)
	cfg.Logger = logging.Nop{} // the emulator sends no response checksums; the SDK would say so on every call
	name := fmt.Sprintf("panka-test-%d", time.Now().UnixNano())
	_, err = bootstrap.Run(ctx, cfg, bootstrap.Options{Bucket: name, LockTable: name})
	require.NoError(t, err)
	b, err := s3state.New(ctx, s3state.NewClient(cfg), s3state.Options{Bucket: name})
	require.NoError(t, err)
	ddb := dynamodb.NewFromConfig(cfg)
	return b, dynamolock.New(ddb, dynamolock.Options{Table: name, Now: now})
}

// heldCreate delays every Create until release is closed.
type heldCreate struct {
	*sim.Provider
	release chan struct{}
}

func (h heldCreate) Create(ctx context.Context, r provider.Resource) (*provider.Observed, error) {
	<-h.release
	return h.Provider.Create(ctx, r)
}

// stalledRenewals is a locker whose holder can no longer renew (its network is down).
type stalledRenewals struct{ lock.Locker }

func (stalledRenewals) Renew(context.Context, *lock.Info, time.Duration) (*lock.Info, error) {
	return nil, errors.New("renew: network is unreachable")
}

// TestLostLeaseCannotOverwriteState: a run whose renewals stop loses the lock when the lease
// expires, another run takes it and writes the state; the first run's in-flight operation
// finishes, but its state write is refused by the conditional write, with a clear error, and the
// state stays as the second run left it.
func TestLostLeaseCannotOverwriteState(t *testing.T) {
	ctx := context.Background()
	// The lock table's clock moves only when the test says: A's lease expires there when the test
	// advances it to the lease's end. It starts on a whole second of real time, which is what
	// the table stores, so that A's heartbeat (on real time) sees a lease of about its TTL.
	lockClock := locktest.NewClock(time.Now().Truncate(time.Second))
	b, locker := remote(t, lockClock.Now)
	cloud, err := sim.New(sim.Options{Region: "eu-west-1", AccountID: "123456789012"})
	require.NoError(t, err)
	release := make(chan struct{})
	slow := heldCreate{cloud, release} // A's create outlives its lease, until B is done
	lostA := newLogSignal(leaseLostLog)

	// A's heartbeat gives up once its renewals have failed for a whole TTL (real time: how soon,
	// not whether). B does not wait for the lock: it must be free by then.
	const ttlA = 300 * time.Millisecond
	optsA := panka.Options{Provider: slow, Backend: b, Locker: stalledRenewals{locker}, LockTTL: ttlA, Who: "a@host", Logger: slog.New(lostA)}
	optsB := panka.Options{Provider: cloud, Backend: b, Locker: locker, LockTTL: 10 * time.Second, Who: "b@host"}
	sqs := config(t, "apiVersion: panka.io/v1\nkind: SQS\nmetadata: {name: q, service: api}\nspec: {}\n")
	s3 := config(t, "apiVersion: panka.io/v1\nkind: S3\nmetadata: {name: b, service: api}\nspec: {}\n")

	var errA error
	done := make(chan struct{})
	startedA := make(chan struct{})
	optsA.Events = func(e panka.Event) {
		if e.Type == panka.EventStart {
			close(startedA)
		}
	}
	go func() {
		defer close(done)
		_, errA = panka.Apply(ctx, sqs, optsA)
	}()
	select {
	case <-startedA:
	case <-done:
		t.Fatalf("run A ended before it started an operation: %v", errA)
	}
	receive(t, lostA.seen, "run A to give its lease up")
	leaseA, err := locker.Inspect(ctx, "default/shop/default")
	require.NoError(t, err)
	lockClock.Advance(leaseA.Expires.Sub(lockClock.Now())) // A's lease ends in the lock table
	resB, errB := panka.Apply(ctx, s3, optsB)
	close(release)
	<-done
	require.NoError(t, errB, "B takes the expired lock at once")
	outcomes := map[string]panka.Outcome{}
	for _, r := range resB.Resources {
		outcomes[r.Address+" "+string(r.Action)] = r.Outcome
	}
	require.Equal(t, map[string]panka.Outcome{"api/b create": "succeeded", "api/q forget": "succeeded"}, outcomes,
		"B forgets A's pending queue (it did not exist when B looked) and creates its bucket")

	require.ErrorIs(t, errA, panka.ErrLeaseLost)
	require.ErrorContains(t, errA, "someone else changed the state during this run")
	require.ErrorContains(t, errA, "not recorded in the state that replaced this run's: api/q (SQS https://sqs.eu-west-1.amazonaws.com/123456789012/shop-default-api-q)",
		"the run names what it created but could not record")
	var conflict *backend.ConflictError
	require.ErrorAs(t, errA, &conflict)

	data, _, err := b.Read(ctx, backend.Key{Tenant: "default", Stack: "shop", Environment: "default"})
	require.NoError(t, err)
	st, err := state.Decode(data)
	require.NoError(t, err, "the state is intact")
	require.NotNil(t, st.Lookup("api/b"), "B's work is recorded")
	require.Nil(t, st.Lookup("api/q"), "A's late write did not overwrite B's state")
}
