package panka_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/panka/panka"
)

// FuzzReadPlan: saved plans are files users pass around; a damaged one must be refused with an
// error, never a panic, and whatever is accepted must save and load again.
func FuzzReadPlan(f *testing.F) {
	h := newHarness(&testing.T{})
	if p, err := panka.Plan(context.Background(), configNoT(queues), h.opts()); err == nil {
		var buf bytes.Buffer
		if panka.WritePlan(&buf, p) == nil {
			f.Add(buf.Bytes())
		}
	}
	f.Add([]byte(`{"formatVersion":2,"changes":[null]}`))
	f.Add([]byte(`{"formatVersion":2,"tenant":"a","stack":"b","environment":"c","changes":[{"address":"a/b","kind":"S3","fields":[{"path":"x","before":1e400}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := panka.ReadPlan(bytes.NewReader(data))
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := panka.WritePlan(&buf, p); err != nil {
			t.Fatalf("an accepted plan does not save: %v", err)
		}
		if _, err := panka.ReadPlan(&buf); err != nil {
			t.Fatalf("a saved plan does not load: %v", err)
		}
	})
}

// configNoT is config for use outside a test (seeding a fuzz corpus); it returns nil on error.
func configNoT(docs string) *panka.Config {
	cfg, err := panka.ParseBytes(context.Background(), "seed.yaml", []byte(stackPrelude+docs))
	if err != nil || panka.Validate(cfg) != nil {
		return nil
	}
	return cfg
}
