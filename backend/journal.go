package backend

import "context"

// Journaler is implemented by backends that keep, next to each revision of a document, a journal
// of small entries: the engine records a run's progress there as deltas, and writes a whole
// document (a revision) only at the start and the end of a run and when the journal has grown,
// so the bytes a run writes grow with what it changed, not with (writes × document size).
//
// A journal belongs to one revision, named by its Version (the base). Its entries occupy slots
// 1, 2, 3...; a slot is written at most once. That single rule is the whole concurrency
// protocol: a writer appends to slot n+1 only if nobody has, so two writers that read the same
// n entries cannot both append, and a run that takes over from a dead one claims the next slot
// (with an entry of its own) before it writes a new revision, after which the old run can no
// longer append anything that the new revision would miss. Entries of a base that is no
// longer current are never read by the engine and may be deleted.
//
// Implementations must be safe for concurrent use by goroutines and processes as far as their
// storage is shared, like StateBackend itself; backendtest checks them when they implement it.
type Journaler interface {
	// AppendEntry stores entry in slot n (n ≥ 1) of the journal of key's revision base, if and
	// only if that slot is empty; otherwise it returns a *ConflictError and changes nothing. It
	// does not check that base is the current version (the engine does). Like Write, an error
	// other than a ConflictError leaves the outcome unknown: read the journal to find out.
	AppendEntry(ctx context.Context, key Key, base Version, n int, entry []byte) error

	// Entries returns the entries of the journal of key's revision base, in slot order, from
	// slot 1 up to the first empty slot; none (and no error) if there are none.
	Entries(ctx context.Context, key Key, base Version) ([][]byte, error)
}
