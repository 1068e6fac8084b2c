// Package backend defines StateBackend, the interface through which Panka stores state documents,
// and the errors every implementation reports.
//
// A backend stores opaque documents (the engine serialises state; a backend never looks inside)
// under a Key, with optimistic concurrency: every stored revision has a Version, and a Write
// succeeds only if the caller names the version it read. Two runs that read the same version and
// both try to write cannot both succeed, whichever process or machine they run on, so a writer
// that lost its lock can never overwrite newer state.
//
// Implementations: backend/memstate (tests, trials), backend/filestate (the embedded default). Each
// passes the conformance suite in backend/backendtest; a new implementation is done when it
// does too.
//
// Errors are portable: callers test them with errors.Is(err, ErrNotFound),
// errors.Is(err, ErrInvalidKey), errors.Is(err, ErrCorrupt) and
// errors.As(err, new(*ConflictError)), never by parsing messages.
package backend

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Version is an opaque token identifying one stored revision of a document: the file backend
// derives it from the revision number and the content hash, the memory backend from a counter,
// S3 uses the ETag. Compare versions only for equality. The empty Version means "no document".
type Version string

// Revision describes one stored revision of a document, as listed by History.
type Revision struct {
	// ID names the revision for ReadRevision. IDs are opaque but safe to show and to type.
	ID string
	// Version is the version Read returned while this revision was current.
	Version Version
	// Time is when the revision was written, as recorded by the backend.
	Time time.Time
	// Size is the length of the document in bytes.
	Size int64
	// Current is true for the revision Read returns now. At most one revision is current; none
	// is when the current document cannot be read (see ErrCorrupt).
	Current bool
}

// StateBackend stores state documents. Implementations must be safe for concurrent use by
// multiple goroutines, and, where the storage is shared (file, S3), by multiple processes: the
// conditional Write is the only coordination Panka relies on.
//
// Every method validates its Key first (ErrInvalidKey) and returns ctx.Err(), wrapped, if ctx is
// done before the operation takes effect. Errors are wrapped with the operation and the key.
type StateBackend interface {
	// Read returns the current document of key and its version. It returns an error wrapping
	// ErrNotFound if key has no document. The returned slice belongs to the caller.
	Read(ctx context.Context, key Key) ([]byte, Version, error)

	// Write stores data as the new current document of key if, and only if, the current version
	// equals ifMatch; ifMatch == "" means "only if key has no document". The check and the store
	// are atomic with respect to every other Write on key, from any goroutine or process. On a
	// mismatch Write returns a *ConflictError and changes nothing. On success it returns the new
	// version, distinct from every earlier version of key, and the previous document stays
	// available through History and ReadRevision. Write does not retain data.
	//
	// A document damaged outside Panka (ErrCorrupt on Read) is replaced only by a write whose
	// ifMatch names the newest revision History lists: a restore.
	//
	// A ConflictError, an invalid key or a context done before the write began guarantee that
	// nothing was stored. After any other error the outcome is unknown (the document may have
	// been stored): Read to find out before trying again.
	Write(ctx context.Context, key Key, data []byte, ifMatch Version) (Version, error)

	// History lists the stored revisions of key, newest first. It returns an error wrapping
	// ErrNotFound if key has neither a document nor any revision.
	History(ctx context.Context, key Key) ([]Revision, error)

	// ReadRevision returns the document stored in one revision of key, as listed by History. It
	// returns an error wrapping ErrNotFound if key has no revision with that ID, including for
	// IDs that are malformed.
	ReadRevision(ctx context.Context, key Key, revisionID string) ([]byte, error)

	// List returns the keys that have a document and lie under prefix, sorted by Key.Compare.
	// The prefix is a path of whole names (see ParsePrefix): "" lists every key, "team-a" the
	// keys of tenant team-a, "team-a/web" the environments of stack web; "team" does not match
	// tenant "team-a". An invalid prefix gives an error wrapping ErrInvalidKey.
	List(ctx context.Context, prefix string) ([]Key, error)
}

var (
	// ErrNotFound reports that a key has no document, or no revision with the requested ID.
	ErrNotFound = errors.New("state not found")

	// ErrInvalidKey reports a Key or List prefix whose names are not valid; the wrapping error
	// says which name and why.
	ErrInvalidKey = errors.New("invalid state key")

	// ErrCorrupt reports stored state that cannot be trusted: a truncated or damaged file, a
	// document changed outside the backend, or one that does not decode as a state
	// (state.ErrCorrupt is this same sentinel). The wrapping error names the damaged object and
	// where an intact revision may be found. Nothing is written over corrupt state.
	ErrCorrupt = errors.New("state is corrupt")
)

// ConflictError is returned by Write when the current version of Key is not the one the caller
// expected: another run changed the state since it was read. The write was not applied.
type ConflictError struct {
	Key Key
	// Expected is the ifMatch the caller passed ("" = expected no document).
	Expected Version
	// Actual is the current version ("" = there is no document).
	Actual Version
}

func (e *ConflictError) Error() string {
	var what string
	switch {
	case e.Expected == "":
		what = fmt.Sprintf("state %s already exists (version %s); expected none", e.Key, e.Actual)
	case e.Actual == "":
		what = fmt.Sprintf("state %s no longer exists; expected version %s", e.Key, e.Expected)
	default:
		what = fmt.Sprintf("state %s changed since it was read (expected version %s, found %s)", e.Key, e.Expected, e.Actual)
	}
	return what + ": another run has written it; re-run plan against the current state"
}
