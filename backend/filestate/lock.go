package filestate

import (
	"context"

	"github.com/panka/panka/internal/pathlock"
)

// Each key has a lock file, <env>.lock next to its document, locked with flock(2): exclusively
// around Write's compare-and-swap, shared around reads that must see the document and its
// history consistently. This is what makes Write atomic across processes.
//
// Inside one process a semaphore per lock file comes first. It makes waiting goroutines block
// instead of polling, and it keeps the guarantee where file locks are per process (flock on
// some network file systems is emulated with fcntl locks, which do not exclude two descriptors
// of the same process). The registry is process-wide so that several Backends on the same
// directory exclude each other too; it holds one small entry per key touched and never shrinks.

// lockKey locks the key whose lock file is path, exclusively or shared (see pathlock.Lock: a
// shared lock does not create the file, since no Write ever started on a key without one).
func lockKey(ctx context.Context, path string, exclusive bool) (unlock func(), err error) {
	return pathlock.Lock(ctx, path, exclusive)
}
