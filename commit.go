package panka

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/panka/panka/backend"
	"github.com/panka/panka/state"
)

// stateWriter owns the working state of a run and persists it with group commit: at most one
// write is in flight; changes made while it runs are coalesced into the next one; writes start
// at most once per interval. A change is durable once a write that began after it succeeds —
// flush waits for that. Writes are conditional on the version last read or written, so a run
// whose lock was taken over can never overwrite a newer state: the first conflict is sticky and
// reported by every later flush.
//
// On a backend with journals (backend.Journaler) a write is a delta — the records changed since
// the previous write — appended to the journal of the current revision, so the bytes a run
// writes grow with what it changed. A whole document (a new revision, with an empty journal) is
// written instead by the first write of a run, by close, when the part of the journal that
// later entries made obsolete outweighs the document (see superseded), and past journalEntries
// entries once the journal holds a quarter of the document's size (or past maxJournalEntries
// entries, whatever its size). So the documents a run writes cost at most a constant times the
// bytes it changed, whatever the state's size, and a reader reads at most about twice the
// document plus the current state, in a bounded number of entries. Before its first whole document, a run claims the
// journal it read with a seal entry in the next slot: a run that lost its lease can then append
// nothing the new revision would miss (its append conflicts with the seal, or the seal with it).
type stateWriter struct {
	b        backend.StateBackend
	j        backend.Journaler // nil: every write is a whole document
	key      backend.Key
	interval time.Duration

	mu sync.Mutex
	st *state.State
	// removed are addresses removed from st but still in it: remove queues them, and they are
	// taken out in one pass (settle) before anyone else sees st, so that a destroy of n
	// resources costs O(n) per write, not O(n) per delete.
	removed map[string]bool
	version backend.Version // the revision written or read last (the journal's base)
	entries int             // entries in the journal of version (read or appended)
	// owned is set once this run wrote a revision: no other run knows its version, so its
	// journal needs no seal; durable is the state as last written (revision and entries).
	owned        bool
	durable      *state.State
	journalBytes int64
	// journaled holds the addresses the journal of version changes; superseded estimates the
	// bytes of its entries that later entries made obsolete (a record put again, or removed).
	// A reader replays the whole journal, so those are its waste: past the document's size, a
	// run writes a whole document. A journal of records changed once each (an apply that
	// creates them) wastes nothing, however long, and costs a reader at most about the
	// document plus the current state.
	journaled  map[string]bool
	superseded int64
	docBytes   int64
	closing    bool          // every write from now on is a whole document
	gen        uint64        // incremented by every update
	written    uint64        // gen covered by the last successful write
	notify     chan struct{} // closed after every write attempt
	err        error         // sticky: a conflict or a failed final write
	writes     int           // successful writes: revisions and journal entries
	revisions  int           // whole documents among them
	bytes      int64
	// failures counts consecutive failed writes; past maxWriteFailures the error is sticky.
	failures int

	kick   chan struct{}
	urgent chan struct{} // a flush is waiting: skip the rest of the interval
	stop   chan struct{}
	done   chan struct{}
}

const maxWriteFailures = 5

// journalEntries is the journal length past which a run writes a whole document once the
// journal holds a quarter of the document's bytes; maxJournalEntries bounds the length
// whatever the bytes. Each entry is one more read for every reader, but a whole document for
// every few small entries would make the bytes a long run writes grow with the number of
// writes times the state's size.
const (
	journalEntries    = 64
	maxJournalEntries = 1024
)

func newStateWriter(b backend.StateBackend, key backend.Key, st *state.State, version stateVersion, interval time.Duration) *stateWriter {
	w := &stateWriter{b: b, key: key, st: st, version: version.base, entries: version.entries, interval: interval,
		notify: make(chan struct{}), kick: make(chan struct{}, 1), urgent: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	w.j, _ = b.(backend.Journaler)
	go w.loop()
	return w
}

// update changes the working state under the writer's lock and schedules a write.
func (w *stateWriter) update(fn func(st *state.State)) {
	w.mu.Lock()
	w.settle()
	fn(w.st)
	w.gen++
	w.mu.Unlock()
	w.schedule()
}

// remove removes the resource at address from the working state and schedules a write.
func (w *stateWriter) remove(address string) {
	w.mu.Lock()
	if w.removed == nil {
		w.removed = map[string]bool{}
	}
	w.removed[address] = true
	w.gen++
	w.mu.Unlock()
	w.schedule()
}

// settle takes the queued removals out of the working state; called with mu held.
func (w *stateWriter) settle() {
	if len(w.removed) > 0 {
		w.st.RemoveAll(w.removed)
		clear(w.removed)
	}
}

func (w *stateWriter) schedule() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// read runs fn with the working state under the writer's lock; fn must not keep references.
func (w *stateWriter) read(fn func(st *state.State)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.settle()
	fn(w.st)
}

// flush waits until every update made before the call is durable.
func (w *stateWriter) flush(ctx context.Context) error {
	w.mu.Lock()
	target := w.gen
	w.mu.Unlock()
	for {
		w.mu.Lock()
		if w.err != nil {
			err := w.err
			w.mu.Unlock()
			return err
		}
		if w.written >= target {
			w.mu.Unlock()
			return nil
		}
		ch := w.notify
		w.mu.Unlock()
		select {
		case w.kick <- struct{}{}:
		default:
		}
		select {
		case w.urgent <- struct{}{}:
		default:
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("persist state %s: %w", w.key, ctx.Err())
		}
	}
}

// close stops the background loop after a final flush, which compacts the journal into a whole
// document if this run appended to it.
func (w *stateWriter) close(ctx context.Context) error {
	w.mu.Lock()
	// From now on every write is a whole document; make sure one follows whatever entry is in
	// flight or written.
	w.closing = true
	if w.j != nil && w.owned && (w.entries > 0 || w.written < w.gen) {
		w.gen++
	}
	w.mu.Unlock()
	err := w.flush(ctx)
	close(w.stop)
	<-w.done
	return err
}

func (w *stateWriter) loop() {
	defer close(w.done)
	var last time.Time
	for {
		select {
		case <-w.kick:
		case <-w.stop:
			return
		}
		if wait := w.interval - time.Since(last); wait > 0 && !last.IsZero() {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-w.urgent: // someone waits for durability: write now
			case <-w.stop:
				t.Stop()
				return
			}
			t.Stop()
		}
		last = time.Now()
		w.writeOnce()
	}
}

func (w *stateWriter) writeOnce() {
	w.mu.Lock()
	if w.err != nil || w.written >= w.gen {
		w.mu.Unlock()
		return
	}
	target := w.gen
	w.settle()
	// Records are immutable once in the state, so a shallow snapshot is consistent; encoding
	// it outside the lock lets operations keep recording meanwhile.
	snap := w.st.Snapshot()
	snap.Serial++
	version, entries, durable, owned := w.version, w.entries, w.durable, w.owned
	whole := w.j == nil || !w.owned || w.closing || w.entries >= maxJournalEntries ||
		w.entries >= journalEntries && 4*w.journalBytes >= w.docBytes || w.superseded > w.docBytes
	w.mu.Unlock()

	var (
		newVersion backend.Version
		n          int64
		err        error
	)
	sealed := whole && w.j != nil && !owned && version != ""
	var d *state.Delta
	if whole {
		newVersion, n, err = w.writeDocument(snap, version, entries, sealed)
	} else {
		d = snap.Diff(durable)
		n, err = w.append(d, version, entries+1)
	}

	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		var conflict *backend.ConflictError
		if errors.As(err, &conflict) {
			w.fail(fmt.Errorf("persist state %s: someone else changed the state during this run (was the lock force-unlocked or lost?); nothing was overwritten: %w", w.key, err))
			return
		}
		w.failures++
		if w.failures >= maxWriteFailures {
			w.fail(fmt.Errorf("persist state %s: %d writes failed in a row: %w", w.key, w.failures, err))
			return
		}
		// Maybe transient: keep the changes and try again with the next write.
		w.signal()
		select {
		case w.kick <- struct{}{}:
		default:
		}
		return
	}
	w.failures = 0
	w.st.Serial = snap.Serial
	w.durable = snap
	if whole {
		w.version, w.entries, w.owned = newVersion, 0, true
		w.docBytes, w.journalBytes, w.superseded = n, 0, 0
		clear(w.journaled)
	} else {
		w.entries++
		w.journalBytes += n
		w.account(d, n)
	}
	w.written = target
	w.writes++
	if whole {
		w.revisions++
		if sealed {
			w.writes++ // the seal entry
		}
	}
	w.bytes += n
	w.signal()
}

// writeDocument writes snap as a new revision, conditional on version, after sealing the
// journal of version (which has entries entries) if this run did not write that revision. It
// returns the new version and the bytes written. snap's serial accounts for the seal.
func (w *stateWriter) writeDocument(snap *state.State, version backend.Version, entries int, seal bool) (backend.Version, int64, error) {
	var n int64
	if seal {
		seal := &state.Delta{Serial: snap.Serial, Seal: "run " + w.key.String()}
		snap.Serial++
		sealed, err := w.append(seal, version, entries+1)
		if err != nil {
			return "", 0, err
		}
		n += sealed
	}
	data, err := snap.Encode()
	if err != nil {
		return "", 0, err
	}
	// The write itself runs without the lock, so operations keep recording while it is in
	// flight; it is not cancelled with the run, so that a stopped run still persists.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	newVersion, err := w.b.Write(ctx, w.key, data, version)
	cancel()
	if err != nil && !isConflict(err) {
		// The outcome is unknown (a timeout, a lost response): the write may have landed. Read
		// back before retrying, or the retry would conflict with our own write.
		rctx, rcancel := context.WithTimeout(context.Background(), time.Minute)
		current, currentVersion, rerr := w.b.Read(rctx, w.key)
		rcancel()
		if rerr == nil && bytes.Equal(current, data) {
			newVersion, err = currentVersion, nil
		}
	}
	if err != nil {
		return "", 0, err
	}
	return newVersion, n + int64(len(data)), nil
}

// append appends d to slot of the journal of version; it returns the bytes written.
func (w *stateWriter) append(d *state.Delta, version backend.Version, slot int) (int64, error) {
	data, err := d.Encode()
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	err = w.j.AppendEntry(ctx, w.key, version, slot, data)
	cancel()
	if err != nil && !isConflict(err) {
		// Unknown outcome: the entry may be there already.
		rctx, rcancel := context.WithTimeout(context.Background(), time.Minute)
		entries, rerr := w.j.Entries(rctx, w.key, version)
		rcancel()
		if rerr == nil && len(entries) >= slot && bytes.Equal(entries[slot-1], data) {
			err = nil
		}
	}
	if err != nil {
		return 0, fmt.Errorf("append to the state journal: %w", err)
	}
	return int64(len(data)), nil
}

// account records the addresses of d, an entry of n bytes just appended, in the journal's
// accounting; with mu held. An entry's bytes are shared evenly among its changes.
func (w *stateWriter) account(d *state.Delta, n int64) {
	changes := int64(len(d.Put) + len(d.Remove))
	if changes == 0 {
		return
	}
	if w.journaled == nil {
		w.journaled = map[string]bool{}
	}
	var again int64
	for _, r := range d.Put {
		if w.journaled[r.Address] {
			again++
		}
		w.journaled[r.Address] = true
	}
	for _, a := range d.Remove {
		if w.journaled[a] {
			again++
		}
		w.journaled[a] = true
	}
	w.superseded += n * again / changes
}

func (w *stateWriter) fail(err error) {
	if w.err == nil {
		w.err = err
	}
	w.signal()
}

// signal wakes flush waiters; called with mu held.
func (w *stateWriter) signal() {
	close(w.notify)
	w.notify = make(chan struct{})
}

// stats returns how many writes succeeded and how many bytes they stored.
func (w *stateWriter) stats() (writes, revisions int, bytes int64, serial int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.writes, w.revisions, w.bytes, w.st.Serial
}

func isConflict(err error) bool {
	var conflict *backend.ConflictError
	return errors.As(err, &conflict)
}
