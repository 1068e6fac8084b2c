package panka

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/panka/panka/backend"
	"github.com/panka/panka/backend/memstate"
	"github.com/panka/panka/state"
)

// TestJournalOfRepeatedChangesIsCompacted: a journal whose entries keep replacing the same
// record is waste for every reader, so once that waste outweighs the document the writer writes
// a whole document; a journal of records changed once each is kept, however long.
func TestJournalOfRepeatedChangesIsCompacted(t *testing.T) {
	ctx := context.Background()
	key := backend.Key{Tenant: "default", Stack: "shop", Environment: "default"}
	run := func(t *testing.T, address func(i int) string) (revisions int) {
		st := state.New("default", "shop", "default")
		for i := range 20 {
			st.Put(&state.Resource{Address: fmt.Sprintf("idle/r%d", i), Kind: "SQS", Status: state.StatusCreated})
		}
		w := newStateWriter(memstate.New(), key, st, stateVersion{}, 0)
		defer w.close(ctx)
		for i := range 40 { // fewer than journalEntries: only the waste can compact
			w.update(func(st *state.State) {
				st.Put(&state.Resource{Address: address(i), Kind: "SQS", Status: state.StatusCreated,
					Spec: map[string]any{"payload": strings.Repeat("x", 200), "round": int64(i)}})
			})
			if err := w.flush(ctx); err != nil {
				t.Fatal(err)
			}
		}
		_, revisions, _, _ = w.stats()
		return revisions
	}
	same := run(t, func(int) string { return "api/hot" })
	distinct := run(t, func(i int) string { return fmt.Sprintf("api/q%d", i) })
	if same < 2 {
		t.Errorf("40 replacements of one record: %d revisions, want the first and at least one compaction", same)
	}
	if distinct != 1 {
		t.Errorf("40 distinct records: %d revisions, want only the first (the rest journaled)", distinct)
	}
}
