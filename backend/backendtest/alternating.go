package backendtest

import (
	"context"
	"sync/atomic"

	"github.com/panka/panka/backend"
)

// Alternating returns a StateBackend that sends each call to the next of bs in turn. Running
// the suite on several instances over the same storage (two Backends on one directory or
// bucket) checks that nothing a backend keeps in memory is needed for correctness.
// If every one of bs keeps journals (backend.Journaler), so does the result, alternating those
// calls too.
func Alternating(bs ...backend.StateBackend) backend.StateBackend {
	a := &alternating{bs: bs}
	for _, b := range bs {
		if _, ok := b.(backend.Journaler); !ok {
			return a
		}
	}
	return journaledAlternating{a}
}

type journaledAlternating struct{ *alternating }

func (a journaledAlternating) AppendEntry(ctx context.Context, k backend.Key, base backend.Version, n int, entry []byte) error {
	return a.next().(backend.Journaler).AppendEntry(ctx, k, base, n, entry)
}

func (a journaledAlternating) Entries(ctx context.Context, k backend.Key, base backend.Version) ([][]byte, error) {
	return a.next().(backend.Journaler).Entries(ctx, k, base)
}

type alternating struct {
	bs []backend.StateBackend
	n  atomic.Uint64
}

func (a *alternating) next() backend.StateBackend { return a.bs[a.n.Add(1)%uint64(len(a.bs))] }

func (a *alternating) Read(ctx context.Context, k backend.Key) ([]byte, backend.Version, error) {
	return a.next().Read(ctx, k)
}

func (a *alternating) Write(ctx context.Context, k backend.Key, data []byte, ifMatch backend.Version) (backend.Version, error) {
	return a.next().Write(ctx, k, data, ifMatch)
}

func (a *alternating) History(ctx context.Context, k backend.Key) ([]backend.Revision, error) {
	return a.next().History(ctx, k)
}

func (a *alternating) ReadRevision(ctx context.Context, k backend.Key, id string) ([]byte, error) {
	return a.next().ReadRevision(ctx, k, id)
}

func (a *alternating) List(ctx context.Context, prefix string) ([]backend.Key, error) {
	return a.next().List(ctx, prefix)
}
