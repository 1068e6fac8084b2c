package lease

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/panka/panka/lock"
)

var held = &lock.LockedError{Holder: lock.Info{ID: "holder"}}

func TestRetryWaitZeroTriesOnce(t *testing.T) {
	calls := 0
	_, err := Retry(t.Context(), 0, func(context.Context) (*lock.Info, error) {
		calls++
		return nil, held
	})
	if !errors.Is(err, lock.ErrLocked) || calls != 1 {
		t.Fatalf("err = %v after %d calls, want ErrLocked after 1", err, calls)
	}
}

func TestRetryStopsOnOtherErrors(t *testing.T) {
	boom := errors.New("disk on fire")
	calls := 0
	_, err := Retry(t.Context(), time.Minute, func(context.Context) (*lock.Info, error) {
		calls++
		return nil, boom
	})
	if !errors.Is(err, boom) || calls != 1 {
		t.Fatalf("err = %v after %d calls, want %v after 1", err, calls, boom)
	}
}

func TestRetryBacksOffAndSucceeds(t *testing.T) {
	var gaps []time.Duration
	last := time.Now()
	info, err := Retry(t.Context(), time.Minute, func(context.Context) (*lock.Info, error) {
		gaps = append(gaps, time.Since(last))
		last = time.Now()
		if len(gaps) < 5 {
			return nil, held
		}
		return &lock.Info{ID: "mine"}, nil
	})
	if err != nil || info.ID != "mine" {
		t.Fatalf("Retry = %+v, %v", info, err)
	}
	// Sleeps are drawn from [d/2, d] with d = 10ms, 20ms, 40ms, 80ms.
	for i, g := range gaps[1:] {
		if floor := InitialBackoff << i / 2; g < floor {
			t.Errorf("sleep %d lasted %s, want at least %s", i+1, g, floor)
		}
	}
}

func TestRetryFinalAttemptAtDeadline(t *testing.T) {
	const wait = 120 * time.Millisecond
	start := time.Now()
	var lastCall time.Duration
	_, err := Retry(t.Context(), wait, func(context.Context) (*lock.Info, error) {
		lastCall = time.Since(start)
		return nil, held
	})
	var le *lock.LockedError
	if !errors.As(err, &le) || le.Holder.ID != "holder" {
		t.Fatalf("err = %v, want the holder's LockedError", err)
	}
	if lastCall < wait {
		t.Errorf("last attempt at %s, before the wait of %s ran out", lastCall, wait)
	}
}

func TestRetryCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	_, err := Retry(ctx, time.Minute, func(context.Context) (*lock.Info, error) {
		cancel()
		return nil, held
	})
	if !errors.Is(err, context.Canceled) || errors.Is(err, lock.ErrLocked) {
		t.Fatalf("err = %v, want context.Canceled and not ErrLocked", err)
	}
	if _, err := Retry(ctx, time.Minute, func(context.Context) (*lock.Info, error) {
		t.Fatal("try called with a canceled context")
		return nil, nil
	}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestJitter(t *testing.T) {
	for _, d := range []time.Duration{1, 2, 10 * time.Millisecond, MaxBackoff} {
		for range 100 {
			if j := jitter(d); j < d/2 || j > d {
				t.Fatalf("jitter(%s) = %s, outside [%s, %s]", d, j, d/2, d)
			}
		}
	}
}
