package lease

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/panka/panka/lock"
)

// Backoff between attempts while a lock is held: it starts at
// InitialBackoff, doubles per attempt up to MaxBackoff, and each sleep is
// drawn uniformly from [d/2, d] so that waiters do not retry in lockstep.
const (
	InitialBackoff = 10 * time.Millisecond
	MaxBackoff     = 500 * time.Millisecond
)

// Retry calls try until it succeeds or fails with an error that is not
// lock.ErrLocked, or until wait has elapsed since the first call (wait <= 0:
// one call only), or until ctx is done. The final attempt is made when wait
// runs out, so a lock freed just before then is still taken.
//
// On timeout it returns try's last error (wrapping a *lock.LockedError). If
// ctx is done while waiting it returns an error wrapping ctx.Err() — and not
// lock.ErrLocked — that names the holder it was waiting for.
//
// Retry is shared by every Locker so that they back off identically.
func Retry(ctx context.Context, wait time.Duration, try func(context.Context) (*lock.Info, error)) (*lock.Info, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(wait)
	delay := InitialBackoff
	for {
		info, err := try(ctx)
		if err == nil || !errors.Is(err, lock.ErrLocked) {
			return info, err
		}
		left := time.Until(deadline)
		if left <= 0 {
			if wait > 0 {
				return nil, fmt.Errorf("gave up after waiting %s: %w", wait, err)
			}
			return nil, err
		}
		timer := time.NewTimer(min(jitter(delay), left))
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, fmt.Errorf("stopped waiting (%v): %w", err, ctx.Err())
		case <-timer.C:
		}
		delay = min(2*delay, MaxBackoff)
	}
}

// jitter returns a duration drawn uniformly from [d/2, d].
func jitter(d time.Duration) time.Duration {
	half := d / 2
	return half + rand.N(d-half+1)
}
