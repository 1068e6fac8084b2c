package aws

import (
	"context"
	"time"
)

// Polling intervals of waitFor: the first check is at once, then they double up to the most.
const (
	firstPoll = 50 * time.Millisecond
	maxPoll   = 2 * time.Second
)

// waitFor calls check until it reports done or fails, waiting longer between calls each time;
// it returns ctx's error when ctx is done first. The engine's operation timeout bounds it.
func waitFor(ctx context.Context, check func(ctx context.Context) (done bool, err error)) error {
	interval := firstPoll
	for {
		done, err := check(ctx)
		if err != nil || done {
			return err
		}
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		interval = min(2*interval, maxPoll)
	}
}
