package dynamolock

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"

	"github.com/panka/panka/lock"
)

// unreachable returns a Locker whose every DynamoDB call fails at once.
func unreachable() *Locker {
	c := dynamodb.New(dynamodb.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String("http://127.0.0.1:1"),
		Credentials:      credentials.NewStaticCredentialsProvider("test", "test", ""),
		RetryMaxAttempts: 1,
	})
	return New(c, Options{Table: "locks"})
}

// TestHolderFromConditionFailure: the holder DynamoDB returns with a failed
// condition (ReturnValuesOnConditionCheckFailure ALL_OLD, which kumo does
// not implement) is used as is, without reading the table.
func TestHolderFromConditionFailure(t *testing.T) {
	l := unreachable()
	holder := &lock.Info{
		ID: "6c1f6b4e-5d0c-4a35-9d7e-1b0e8f3b7a10", Key: "acme/web/prod", Owner: "alice@laptop",
		Operation: "apply", Version: "v1.2.3",
		Created: time.Unix(1_900_000_000, 0).UTC(), Expires: time.Unix(1_900_000_030, 0).UTC(),
	}
	got, err := l.holderAfterConflict(t.Context(), holder.Key,
		&types.ConditionalCheckFailedException{Item: encodeItem(holder)}, "PutItem")
	if err != nil {
		t.Fatalf("holderAfterConflict read the table (or failed): %v", err)
	}
	if diff := cmp.Diff(holder, got); diff != "" {
		t.Errorf("holder (-want +got):\n%s", diff)
	}

	// Without an item it reads the table (here: fails to).
	_, err = l.holderAfterConflict(t.Context(), holder.Key, &types.ConditionalCheckFailedException{}, "PutItem")
	if err == nil || !strings.Contains(err.Error(), "GetItem on table locks") {
		t.Errorf("holderAfterConflict without an item = %v, want a failed GetItem", err)
	}

	// Any other error is the operation's own, named.
	boom := errors.New("boom")
	if _, err := l.holderAfterConflict(t.Context(), holder.Key, boom, "DeleteItem"); !errors.Is(err, boom) ||
		!strings.Contains(err.Error(), "DeleteItem on table locks") {
		t.Errorf("holderAfterConflict(boom) = %v", err)
	}
}

func TestRounding(t *testing.T) {
	base := time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		in, floor, ceil time.Duration // offsets from base
	}{
		{0, 0, 0},
		{time.Nanosecond, 0, time.Second},
		{999 * time.Millisecond, 0, time.Second},
		{time.Second, time.Second, time.Second},
	} {
		in := base.Add(tc.in).In(time.FixedZone("X", 3600))
		if got := floorSecond(in); !got.Equal(base.Add(tc.floor)) || got.Location() != time.UTC {
			t.Errorf("floorSecond(%s) = %s", in, got)
		}
		if got := ceilSecond(in); !got.Equal(base.Add(tc.ceil)) || got.Location() != time.UTC {
			t.Errorf("ceilSecond(%s) = %s", in, got)
		}
	}
}
