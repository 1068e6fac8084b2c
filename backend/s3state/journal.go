package s3state

import (
	"context"
	"crypto/sha256"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/panka/panka/backend"
)

// Journals are objects <prefix>/<tenant>/<stack>/<env>.journal/<base>/<slot>.entry, where <base>
// names the revision (a digest of its Version) and <slot> is zero-padded so that a listing is in
// slot order. A slot is written with If-None-Match: *, so of concurrent appends to one slot
// exactly one succeeds, on any number of machines. An entry is stored like a document:
// gzip-compressed past Options.GzipThreshold (a run that changes much of a large state in one
// interval writes a large entry). Entries are not deleted: in a versioned bucket a deletion frees nothing; expire them with a lifecycle rule
// on the ".journal/" objects if their number matters (the engine reads the current revision's
// journal only).

var _ backend.Journaler = (*Backend)(nil)

func (b *Backend) journalPrefix(key backend.Key, base backend.Version) string {
	sum := sha256.Sum256([]byte(base))
	return fmt.Sprintf("%s/%s/%s/%s.journal/%x/", b.prefix, key.Tenant, key.Stack, key.Environment, sum[:12])
}

const entryExt = ".entry"

// AppendEntry implements backend.Journaler.
func (b *Backend) AppendEntry(ctx context.Context, key backend.Key, base backend.Version, n int, entry []byte) error {
	if err := check(ctx, key); err != nil {
		return fmt.Errorf("append to the journal of %s: %w", key, err)
	}
	if n < 1 {
		return fmt.Errorf("append to the journal of %s: slot %d: slots start at 1", key, n)
	}
	objKey := fmt.Sprintf("%s%08d%s", b.journalPrefix(key, base), n, entryExt)
	writeID := newWriteID()
	in := b.putInput(objKey, entry, writeID)
	in.IfNoneMatch = aws.String("*")
	_, err := b.client.PutObject(ctx, in)
	if err == nil {
		return nil
	}
	if !isPreconditionFailure(err, false) {
		return fmt.Errorf("append to the journal of %s (s3://%s/%s): %w", key, b.bucket, objKey, err)
	}
	// The slot is taken: by another writer, or by this append's own retried upload.
	cur, gerr := b.get(ctx, objKey, "", withoutBody)
	if gerr == nil && cur.exists && cur.writeID == writeID {
		return nil
	}
	return &backend.ConflictError{Key: key, Expected: base, Actual: base}
}

// Entries implements backend.Journaler.
func (b *Backend) Entries(ctx context.Context, key backend.Key, base backend.Version) ([][]byte, error) {
	if err := check(ctx, key); err != nil {
		return nil, fmt.Errorf("read the journal of %s: %w", key, err)
	}
	prefix := b.journalPrefix(key, base)
	var slots []string
	pages := s3.NewListObjectsV2Paginator(b.client, &s3.ListObjectsV2Input{Bucket: aws.String(b.bucket), Prefix: aws.String(prefix)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("read the journal of %s: %w", key, err)
		}
		for _, o := range page.Contents {
			slots = append(slots, aws.ToString(o.Key))
		}
	}
	var out [][]byte
	for i, objKey := range slots {
		n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(objKey, prefix), entryExt))
		if err != nil || n != i+1 {
			break // the first empty slot
		}
		obj, err := b.get(ctx, objKey, "", withBody)
		if err != nil {
			return nil, fmt.Errorf("read the journal of %s: %w", key, err)
		}
		if !obj.exists {
			break
		}
		out = append(out, obj.data)
	}
	return out, nil
}
