package panka

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/panka/panka/provider"
)

// call runs one provider operation with the per-operation timeout, retrying throttling and
// transient errors (as classified by provider.Retryable) with exponential backoff and full
// jitter. It gives up when ctx is done, after Retry.MaxAttempts, or on any other error.
func (e *engine) call(ctx context.Context, addr, kind, op string, fn func(ctx context.Context) error) error {
	r := e.opts.Retry
	ctx = provider.WithProgress(ctx, func(msg string) {
		e.events.emit(Event{Type: EventProgress, Address: addr, Kind: kind, Message: op + ": " + msg})
	})
	for attempt := 1; ; attempt++ {
		opCtx, cancel := context.WithTimeout(ctx, e.opts.OperationTimeout)
		err := fn(opCtx)
		timedOut := opCtx.Err() == context.DeadlineExceeded && ctx.Err() == nil
		cancel()
		if err == nil {
			return nil
		}
		if timedOut {
			return fmt.Errorf("%s timed out after %s: %w", op, e.opts.OperationTimeout, err)
		}
		if !provider.Retryable(err) || attempt >= r.MaxAttempts || ctx.Err() != nil {
			if attempt > 1 {
				return fmt.Errorf("%s failed after %d attempts: %w", op, attempt, err)
			}
			return err
		}
		delay := backoff(r, attempt)
		e.events.emit(Event{Type: EventProgress, Address: addr, Kind: kind, Attempt: attempt,
			Message: fmt.Sprintf("%s: %v; retrying in %s", op, err, delay.Round(time.Millisecond))})
		e.opts.Logger.Debug("retrying", "address", addr, "op", op, "attempt", attempt, "delay", delay, "err", err)
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%s: %w (while retrying after: %v)", op, ctx.Err(), err)
		}
	}
}

// backoff is full-jitter exponential backoff: a random delay in [0, min(max, base·2^(n-1))].
func backoff(r RetryPolicy, attempt int) time.Duration {
	ceiling := r.BaseDelay << min(attempt-1, 30)
	if ceiling <= 0 || ceiling > r.MaxDelay {
		ceiling = r.MaxDelay
	}
	return time.Duration(rand.Int64N(int64(ceiling) + 1))
}
