package sim_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/panka/panka/provider"
	"github.com/panka/panka/provider/sim"
)

var errBoom = errors.New("boom")

// TestFailOn: the n-th matching call fails, doing nothing; other ops and kinds do not count.
func TestFailOn(t *testing.T) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			ctx := t.Context()
			p := st.new(t, sim.Options{})
			p.FailOn(sim.OpCreate, "SQS", 3, errBoom)

			for _, name := range []string{"a", "b"} {
				obs, err := p.Create(ctx, sqs(name))
				require.NoError(t, err)
				_, err = p.Read(ctx, "SQS", obs.ID) // another op: not counted
				require.NoError(t, err)
			}
			_, err := p.Create(ctx, provider.Resource{Kind: "S3", Name: "c"}) // another kind: not counted
			require.NoError(t, err)

			_, err = p.Create(ctx, sqs("c"))
			require.ErrorIs(t, err, errBoom)
			require.EqualError(t, err, "create SQS c: boom")
			require.False(t, provider.Retryable(err))
			_, err = p.Find(ctx, sqs("c"))
			require.ErrorIs(t, err, provider.ErrNotFound, "a failed create does nothing")

			_, err = p.Create(ctx, sqs("c"))
			require.NoError(t, err, "the fault is spent")
		})
	}
}

func TestFailOnAnyOp(t *testing.T) {
	ctx := t.Context()
	p := newSim(t)
	obs, err := p.Create(ctx, sqs("q"))
	require.NoError(t, err)

	p.FailOn(sim.OpAny, "", 2, errBoom)
	_, err = p.Read(ctx, "SQS", obs.ID)
	require.NoError(t, err)
	err = p.Delete(ctx, obs.ID, provider.Resource{Kind: "SQS"})
	require.ErrorIs(t, err, errBoom)
	_, err = p.Read(ctx, "SQS", obs.ID)
	require.NoError(t, err, "a failed delete does nothing")
}

// TestThrottle: throttled calls are retryable, and exactly `times` calls are throttled even when
// calls race.
func TestThrottle(t *testing.T) {
	ctx := t.Context()
	p := newSim(t)
	obs, err := p.Create(ctx, sqs("q"))
	require.NoError(t, err)

	p.Throttle(sim.OpRead, "", 2)
	for range 2 {
		_, err := p.Read(ctx, "SQS", obs.ID)
		require.ErrorIs(t, err, provider.ErrThrottled)
		require.True(t, provider.Retryable(err))
	}
	_, err = p.Read(ctx, "SQS", obs.ID)
	require.NoError(t, err)

	const calls, throttled = 64, 10
	p.Throttle(sim.OpRead, "SQS", throttled)
	var failed atomic.Int64
	var wg sync.WaitGroup
	for range calls {
		wg.Go(func() {
			if _, err := p.Read(ctx, "SQS", obs.ID); err != nil {
				if !errors.Is(err, provider.ErrThrottled) {
					t.Errorf("Read: %v", err)
				}
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	require.EqualValues(t, throttled, failed.Load())
}

// TestFaultOrder: every matching rule counts a call; the first rule that is due fails it.
func TestFaultOrder(t *testing.T) {
	ctx := t.Context()
	p := newSim(t)
	p.FailOn(sim.OpCreate, "", 2, errBoom)
	p.Throttle(sim.OpCreate, "", 1)

	_, err := p.Create(ctx, sqs("a"))
	require.ErrorIs(t, err, provider.ErrThrottled, "call 1: FailOn is not due yet")
	_, err = p.Create(ctx, sqs("a"))
	require.ErrorIs(t, err, errBoom, "call 2: FailOn counted call 1")
	_, err = p.Create(ctx, sqs("a"))
	require.NoError(t, err)
}

func TestInjectUntilCleared(t *testing.T) {
	ctx := t.Context()
	p := newSim(t)
	fired := p.Inject(sim.Fault{Op: sim.OpCreate, Kind: "SQS", After: 1, Times: -1})
	_, err := p.Create(ctx, sqs("a"))
	require.NoError(t, err)
	select {
	case <-fired:
		t.Fatal("fired before a call failed")
	default:
	}
	for range 3 {
		_, err = p.Create(ctx, sqs("b"))
		require.ErrorIs(t, err, provider.ErrTransient, "a Fault without Err is transient")
	}
	<-fired
	p.ClearFaults()
	_, err = p.Create(ctx, sqs("b"))
	require.NoError(t, err)
}

// TestHang: a hung call returns only when its context is done, with the context's error, and
// does nothing.
func TestHang(t *testing.T) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			p := st.new(t, sim.Options{})
			started := p.Hang(sim.OpCreate, "SQS")

			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() {
				_, err := p.Create(ctx, sqs("q"))
				done <- err
			}()
			<-started
			select {
			case err := <-done:
				t.Fatalf("hung call returned before its context was canceled: %v", err)
			default:
			}
			cancel()
			err := <-done
			require.ErrorIs(t, err, context.Canceled)
			require.EqualError(t, err, "create SQS q: context canceled")
			n, err := p.Count("SQS")
			require.NoError(t, err)
			require.Zero(t, n)

			_, err = p.Create(t.Context(), sqs("q"))
			require.NoError(t, err, "only the next call hangs")
		})
	}
}

func TestHangDeadline(t *testing.T) {
	p := newSim(t)
	p.Hang(sim.OpAny, "")
	start := time.Now() // before the deadline is set, so that it is at least 20ms after start
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	_, err := p.Read(ctx, "SQS", "x")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.GreaterOrEqual(t, time.Since(start), 20*time.Millisecond)
}

// TestLatency: operations take their latency, per kind where set, and give up when ctx is done.
func TestLatency(t *testing.T) {
	ctx := t.Context()
	const d = 30 * time.Millisecond
	p, err := sim.New(sim.Options{Latency: d, KindLatency: map[string]time.Duration{"S3": 0, "EBS": time.Hour}})
	require.NoError(t, err)

	start := time.Now()
	_, err = p.Create(ctx, sqs("q"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, time.Since(start), d)

	start = time.Now()
	_, err = p.Create(ctx, provider.Resource{Kind: "S3", Name: "fast"})
	require.NoError(t, err)
	require.Less(t, time.Since(start), d, "the S3 override is zero")

	// An hour-long EBS call gives up with its context.
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	_, err = p.Create(short, provider.Resource{Kind: "EBS", Name: "slow"})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	n, err := p.Count("EBS")
	require.NoError(t, err)
	require.Zero(t, n, "a call that gave up during its latency did nothing")

	p.SetLatency(time.Hour)
	p.SetKindLatency("S3", -1) // back to the default: an hour
	short, cancel = context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	_, err = p.Read(short, "S3", "fast")
	require.ErrorIs(t, err, context.DeadlineExceeded)

	p.SetLatency(0)
	p.SetKindLatency("EBS", 0)
	_, err = p.Create(ctx, provider.Resource{Kind: "EBS", Name: "slow"})
	require.NoError(t, err)
}

// TestCalls: every call is counted, failed ones included.
func TestCalls(t *testing.T) {
	ctx := t.Context()
	p := newSim(t)
	_, err := p.Create(ctx, sqs("a"))
	require.NoError(t, err)
	_, err = p.Create(ctx, sqs("a")) // already exists
	require.Error(t, err)
	p.Throttle(sim.OpCreate, "", 1)
	_, err = p.Create(ctx, sqs("b")) // throttled
	require.Error(t, err)
	_, err = p.Create(ctx, provider.Resource{Kind: "NoSuchKind"})
	require.Error(t, err)
	_, err = p.Read(ctx, "SQS", "missing")
	require.Error(t, err)
	_, err = p.Find(ctx, sqs("a"))
	require.NoError(t, err)
	require.NoError(t, p.Delete(ctx, "missing", provider.Resource{Kind: "SQS"}))

	require.Equal(t, 4, p.Calls(sim.OpCreate))
	require.Equal(t, 1, p.Calls(sim.OpRead))
	require.Equal(t, 1, p.Calls(sim.OpFind))
	require.Equal(t, 0, p.Calls(sim.OpUpdate))
	require.Equal(t, 1, p.Calls(sim.OpDelete))
	require.Equal(t, 7, p.Calls(sim.OpAny))
	require.Equal(t, "create", sim.OpCreate.String())
}
