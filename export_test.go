package panka

import (
	"io/fs"
	"sync"
	"time"
)

// WithClock returns opts with clk: Apply, ApplyPlan, Destroy and Refresh called with them time
// their operations and tick their progress reports on clk instead of real time.
func WithClock(opts Options, clk *ManualClock) Options {
	opts.clock = clk
	return opts
}

// WithMaxPackageSize returns opts with a zip size limit of n bytes for packaged local files.
func WithMaxPackageSize(opts Options, n int64) Options {
	opts.maxPackageSize = n
	return opts
}

// ManualClock is a clock that moves only when Advance is called. It is safe for concurrent use.
type ManualClock struct {
	mu      sync.Mutex
	now     time.Time
	tickers map[*manualTicker]bool // not stopped
}

// NewManualClock returns a ManualClock reading start.
func NewManualClock(start time.Time) *ManualClock {
	return &ManualClock{now: start, tickers: map[*manualTicker]bool{}}
}

// Now returns the clock's time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d and delivers every tick that falls due, one at a time,
// each to a receiver: when Advance returns, every due tick has been received (or its ticker
// stopped).
func (c *ManualClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	now := c.now
	var due []*manualTicker
	for t := range c.tickers {
		if !t.next.After(now) {
			due = append(due, t)
		}
	}
	c.mu.Unlock()
	for _, t := range due {
		for {
			c.mu.Lock()
			fire := c.tickers[t] && !t.next.After(now)
			if fire {
				t.next = t.next.Add(t.period)
			}
			c.mu.Unlock()
			if !fire {
				break
			}
			select {
			case t.c <- now:
			case <-t.stopped:
			}
		}
	}
}

// Tickers returns the periods of the tickers that are running.
func (c *ManualClock) Tickers() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []time.Duration
	for t := range c.tickers {
		out = append(out, t.period)
	}
	return out
}

// NewTicker implements clock: the ticker ticks each time Advance passes a multiple of d.
func (c *ManualClock) NewTicker(d time.Duration) ticker {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &manualTicker{clock: c, period: d, next: c.now.Add(d), c: make(chan time.Time), stopped: make(chan struct{})}
	c.tickers[t] = true
	return t
}

type manualTicker struct {
	clock   *ManualClock
	period  time.Duration
	next    time.Time      // guarded by clock.mu
	c       chan time.Time // unbuffered: Advance hands each tick over
	stopped chan struct{}
}

func (t *manualTicker) Chan() <-chan time.Time { return t.c }

func (t *manualTicker) Stop() {
	t.clock.mu.Lock()
	defer t.clock.mu.Unlock()
	if t.clock.tickers[t] {
		delete(t.clock.tickers, t)
		close(t.stopped)
	}
}

// PackagePath zips the file or directory at name (an OS path when fsys is nil) as the engine
// packages a Lambda's code.path, with a size limit of max bytes.
func PackagePath(fsys fs.FS, name string, max int64) ([]byte, error) {
	return packagePath(fsys, name, max)
}

// SHA256Base64 is the digest the engine writes in code.sha256.
func SHA256Base64(data []byte) string { return sha256Base64(data) }
