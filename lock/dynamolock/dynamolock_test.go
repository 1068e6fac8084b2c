package dynamolock_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/panka/panka/internal/localaws"
	"github.com/panka/panka/lock"
	"github.com/panka/panka/lock/dynamolock"
	"github.com/panka/panka/lock/locktest"
)

// startEmulator starts the in-process AWS emulator for the test and returns
// its configuration. Kumo keeps its DynamoDB tables in one store per process,
// shared by every emulator, so tests isolate themselves with fresh tables.
func startEmulator(t *testing.T) aws.Config {
	t.Helper()
	srv, err := localaws.Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	cfg, err := srv.Config(t.Context(), "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// newClient returns a client for the emulator whose requests pass through
// strictExpressions, and then through wrap if it is not nil. The SDK's
// retries do not wait, so tests of retried requests are quick.
func newClient(cfg aws.Config, wrap func(http.RoundTripper) http.RoundTripper) *dynamodb.Client {
	var rt http.RoundTripper = strictExpressions{next: http.DefaultTransport}
	if wrap != nil {
		rt = wrap(rt)
	}
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.HTTPClient = &http.Client{Transport: rt}
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
		})
	})
}

// newTable creates a fresh lock table with EnsureTable and returns its name.
func newTable(t *testing.T, c *dynamodb.Client) string {
	t.Helper()
	table := "panka-locks-" + uuid.NewString()
	if _, err := dynamolock.EnsureTable(t.Context(), c, table); err != nil {
		t.Fatal(err)
	}
	return table
}

func TestConformance(t *testing.T) {
	c := newClient(startEmulator(t), nil)
	locktest.Run(t, func(t *testing.T) lock.Locker {
		return dynamolock.New(c, dynamolock.Options{Table: newTable(t, c)})
	})
}

func TestConformanceWithClock(t *testing.T) {
	c := newClient(startEmulator(t), nil)
	locktest.RunWithClock(t, func(t *testing.T, now func() time.Time) lock.Locker {
		table := newTable(t, c)
		// The suite's clock reads 2025, so its leases expired long ago on
		// the real clock. TTL may delete such items at any moment (kumo
		// sweeps every 30s), and the suite checks expired leases that must
		// still be there; so TTL is off for these tables.
		_, err := c.UpdateTimeToLive(t.Context(), &dynamodb.UpdateTimeToLiveInput{
			TableName: &table,
			TimeToLiveSpecification: &types.TimeToLiveSpecification{
				AttributeName: aws.String("expires"), Enabled: aws.Bool(false),
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		return dynamolock.New(c, dynamolock.Options{Table: table, Now: now})
	})
}

// futureClock returns a manual clock an hour ahead of real time, at a whole
// second plus frac: its leases expire in the real future, so no TTL sweeper
// can delete them during the test.
func futureClock(frac time.Duration) *locktest.Clock {
	return locktest.NewClock(time.Now().Add(time.Hour).Truncate(time.Second).Add(frac).UTC())
}

// rawItem returns the lock item for key as "name": "TYPE value" strings.
func rawItem(t *testing.T, c *dynamodb.Client, table, key string) map[string]string {
	t.Helper()
	out, err := c.GetItem(t.Context(), &dynamodb.GetItemInput{
		TableName:      &table,
		Key:            map[string]types.AttributeValue{"LockID": &types.AttributeValueMemberS{Value: key}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.Item == nil {
		return nil
	}
	got := map[string]string{}
	for name, v := range out.Item {
		switch v := v.(type) {
		case *types.AttributeValueMemberS:
			got[name] = "S " + v.Value
		case *types.AttributeValueMemberN:
			got[name] = "N " + v.Value
		default:
			got[name] = fmt.Sprintf("%T", v)
		}
	}
	return got
}

func putRaw(t *testing.T, c *dynamodb.Client, table string, item map[string]types.AttributeValue) {
	t.Helper()
	if _, err := c.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: &table, Item: item}); err != nil {
		t.Fatal(err)
	}
}

func epoch(t time.Time) string { return "N " + strconv.FormatInt(t.Unix(), 10) }

// TestItemLayout: one item per lock, with exactly the documented attributes
// and types; times are whole epoch seconds, Created rounded down and Expires
// rounded up.
func TestItemLayout(t *testing.T) {
	c := newClient(startEmulator(t), nil)
	table := newTable(t, c)
	clock := futureClock(250 * time.Millisecond)
	l := dynamolock.New(c, dynamolock.Options{Table: table, Now: clock.Now})
	const key = "acme/web/prod"
	const ttl = 90*time.Second + 500*time.Millisecond
	info, err := l.Acquire(t.Context(), key, lock.AcquireOptions{
		Owner: "alice@laptop", Operation: "apply", Version: "v1.2.3", TTL: ttl,
	})
	if err != nil {
		t.Fatal(err)
	}
	created := clock.Now().Truncate(time.Second)
	expires := created.Add(91 * time.Second) // now+90.5s = created+90.75s, rounded up
	if !info.Created.Equal(created) || !info.Expires.Equal(expires) {
		t.Errorf("lease %s..%s, want %s..%s", info.Created, info.Expires, created, expires)
	}
	want := map[string]string{
		"LockID":       "S " + key,
		"ownerId":      "S " + info.ID,
		"who":          "S alice@laptop",
		"operation":    "S apply",
		"created":      epoch(created),
		"expires":      epoch(expires),
		"pankaVersion": "S v1.2.3",
	}
	if diff := cmp.Diff(want, rawItem(t, c, table, key)); diff != "" {
		t.Errorf("lock item (-want +got):\n%s", diff)
	}

	// Renew rewrites expires only.
	clock.Advance(10 * time.Second)
	renewed, err := l.Renew(t.Context(), info, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	want["expires"] = epoch(renewed.Expires)
	if diff := cmp.Diff(want, rawItem(t, c, table, key)); diff != "" {
		t.Errorf("lock item after Renew (-want +got):\n%s", diff)
	}
	if err := l.Release(t.Context(), renewed); err != nil {
		t.Fatal(err)
	}
	if got := rawItem(t, c, table, key); got != nil {
		t.Errorf("item after Release: %v", got)
	}
}

// TestWholeSecondExpiry: a lease lasts at least its TTL (rounded up to a
// whole second) and is free from exactly its Expires.
func TestWholeSecondExpiry(t *testing.T) {
	c := newClient(startEmulator(t), nil)
	clock := futureClock(400 * time.Millisecond)
	l := dynamolock.New(c, dynamolock.Options{Table: newTable(t, c), Now: clock.Now})
	const key = "acme/web/prod"
	start := clock.Now()
	info, err := l.Acquire(t.Context(), key, lock.AcquireOptions{Owner: "alice@laptop", TTL: 700 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if want := start.Truncate(time.Second).Add(2 * time.Second); !info.Expires.Equal(want) {
		t.Fatalf("Expires = %s, want %s (start %s + 700ms, rounded up)", info.Expires, want, start)
	}
	clock.Advance(info.Expires.Sub(clock.Now()) - time.Nanosecond)
	if _, err := l.Acquire(t.Context(), key, lock.AcquireOptions{Owner: "bob@ci"}); !errors.Is(err, lock.ErrLocked) {
		t.Fatalf("Acquire 1ns before Expires = %v, want ErrLocked", err)
	}
	clock.Advance(time.Nanosecond)
	if _, err := l.Acquire(t.Context(), key, lock.AcquireOptions{Owner: "bob@ci"}); err != nil {
		t.Fatalf("Acquire at Expires = %v, want the lease", err)
	}
}

// TestExpiredItemTakenOver: an expired lease whose item is still in the
// table (DynamoDB's TTL deletes lazily, possibly days later) is taken over
// by the next Acquire, and its former holder can no longer use it.
func TestExpiredItemTakenOver(t *testing.T) {
	ctx := t.Context()
	c := newClient(startEmulator(t), nil)
	table := newTable(t, c)
	clock := futureClock(0)
	l := dynamolock.New(c, dynamolock.Options{Table: table, Now: clock.Now})
	const key = "acme/web/prod"
	old, err := l.Acquire(ctx, key, lock.AcquireOptions{Owner: "alice@laptop", Operation: "apply", TTL: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour)

	if got := rawItem(t, c, table, key); got["ownerId"] != "S "+old.ID {
		t.Fatalf("expired item = %v, want it still held by %s", got, old.ID)
	}
	taken, err := l.Acquire(ctx, key, lock.AcquireOptions{Owner: "bob@ci", Operation: "destroy", TTL: time.Minute})
	if err != nil {
		t.Fatalf("Acquire over an expired item: %v", err)
	}
	if got := rawItem(t, c, table, key); got["ownerId"] != "S "+taken.ID || got["who"] != "S bob@ci" {
		t.Errorf("item after takeover = %v, want bob's lease %s", got, taken.ID)
	}
	if _, err := l.Renew(ctx, old, time.Minute); !errors.Is(err, lock.ErrLockLost) ||
		!strings.Contains(err.Error(), taken.ID) {
		t.Errorf("old holder's Renew = %v, want ErrLockLost naming %s", err, taken.ID)
	}
	var ne *lock.NotOwnerError
	if err := l.Release(ctx, old); !errors.As(err, &ne) || ne.Holder.ID != taken.ID {
		t.Errorf("old holder's Release = %v, want NotOwnerError naming %s", err, taken.ID)
	}
}

// TestRetriedWriteWasApplied: when a write is applied but its response is
// lost, the SDK sends it again and the second attempt's condition fails
// against the first attempt's effect. The Locker recognises its own write.
func TestRetriedWriteWasApplied(t *testing.T) {
	cfg := startEmulator(t)
	const key = "acme/web/prod"
	for _, tc := range []struct {
		op  string // the DynamoDB operation whose first response is lost
		run func(t *testing.T, l *dynamolock.Locker, held *lock.Info)
	}{
		{"PutItem", func(t *testing.T, l *dynamolock.Locker, _ *lock.Info) {
			info, err := l.Acquire(t.Context(), key, lock.AcquireOptions{Owner: "alice@laptop", TTL: time.Minute})
			if err != nil {
				t.Fatalf("Acquire: %v", err)
			}
			got, err := l.Inspect(t.Context(), key)
			if err != nil || got.ID != info.ID {
				t.Fatalf("Inspect = %+v, %v; want the acquired lease %s", got, err, info.ID)
			}
		}},
		{"UpdateItem", func(t *testing.T, l *dynamolock.Locker, held *lock.Info) {
			renewed, err := l.Renew(t.Context(), held, 2*time.Minute)
			if err != nil || renewed.ID != held.ID || !renewed.Expires.After(held.Expires) {
				t.Fatalf("Renew = %+v, %v; want %s renewed", renewed, err, held.ID)
			}
		}},
		{"DeleteItem", func(t *testing.T, l *dynamolock.Locker, held *lock.Info) {
			if err := l.Release(t.Context(), held); err != nil {
				t.Fatalf("Release: %v", err)
			}
			if _, err := l.Inspect(t.Context(), key); !errors.Is(err, lock.ErrNotLocked) {
				t.Fatalf("Inspect after Release = %v, want ErrNotLocked", err)
			}
		}},
	} {
		t.Run(tc.op, func(t *testing.T) {
			loser := &loseFirstResponse{op: tc.op}
			c := newClient(cfg, func(next http.RoundTripper) http.RoundTripper {
				loser.next = next
				return loser
			})
			l := dynamolock.New(c, dynamolock.Options{Table: newTable(t, c)})
			var held *lock.Info
			if tc.op != "PutItem" {
				var err error
				if held, err = l.Acquire(t.Context(), key, lock.AcquireOptions{Owner: "alice@laptop", TTL: time.Minute}); err != nil {
					t.Fatal(err)
				}
			}
			loser.arm()
			tc.run(t, l, held)
			if n := loser.sent(); n != 2 {
				t.Errorf("%s was sent %d times, want 2 (the lost one and the SDK's retry)", tc.op, n)
			}
		})
	}
}

// TestCorruptItem: an item the Locker did not write is reported as corrupt,
// naming table and key, and is neither a holder nor free.
func TestCorruptItem(t *testing.T) {
	ctx := t.Context()
	c := newClient(startEmulator(t), nil)
	table := newTable(t, c)
	l := dynamolock.New(c, dynamolock.Options{Table: table})
	const key = "acme/web/prod"
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	for _, tc := range []struct {
		name string
		item map[string]types.AttributeValue
	}{
		{"no lock ID", map[string]types.AttributeValue{"LockID": s(key), "expires": &types.AttributeValueMemberN{Value: "4102444800"}}},
		{"expires is a string", map[string]types.AttributeValue{"LockID": s(key), "ownerId": s("x"), "created": &types.AttributeValueMemberN{Value: "1"}, "expires": s("4102444800")}},
		{"who is a number", map[string]types.AttributeValue{"LockID": s(key), "ownerId": s("x"), "who": &types.AttributeValueMemberN{Value: "1"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			putRaw(t, c, table, tc.item)
			check := func(what string, err error, notThis error) {
				t.Helper()
				if err == nil || errors.Is(err, notThis) || !strings.Contains(err.Error(), "corrupt") ||
					!strings.Contains(err.Error(), table) || !strings.Contains(err.Error(), key) {
					t.Errorf("%s = %v, want a corruption error naming the table and key", what, err)
				}
			}
			_, err := l.Acquire(ctx, key, lock.AcquireOptions{})
			check("Acquire", err, lock.ErrLocked)
			_, err = l.Inspect(ctx, key)
			check("Inspect", err, lock.ErrNotLocked)
			check("ForceUnlock", l.ForceUnlock(ctx, key, "y"), lock.ErrNotLocked)
		})
	}
}

func TestNoTable(t *testing.T) {
	c := newClient(startEmulator(t), nil)
	l := dynamolock.New(c, dynamolock.Options{})
	if _, err := l.Acquire(t.Context(), "acme/web/prod", lock.AcquireOptions{}); err == nil || !strings.Contains(err.Error(), "Options.Table") {
		t.Errorf("Acquire with no table = %v, want an error about Options.Table", err)
	}
	l = dynamolock.New(c, dynamolock.Options{Table: "panka-locks-missing-" + uuid.NewString()})
	var nf *types.ResourceNotFoundException
	if _, err := l.Inspect(t.Context(), "acme/web/prod"); !errors.As(err, &nf) || !strings.Contains(err.Error(), l.Table()) {
		t.Errorf("Inspect on a missing table = %v, want ResourceNotFoundException naming the table", err)
	}
}

// loseFirstResponse, once armed, applies the next request for op and then
// pretends the response was lost (a 500, which the SDK retries).
type loseFirstResponse struct {
	next http.RoundTripper
	op   string

	mu    sync.Mutex
	armed bool
	count int // requests for op since armed
}

func (l *loseFirstResponse) arm() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.armed, l.count = true, 0
}

func (l *loseFirstResponse) sent() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.count
}

func (l *loseFirstResponse) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := l.next.RoundTrip(req)
	if err != nil || req.Header.Get("X-Amz-Target") != "DynamoDB_20120810."+l.op {
		return resp, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.armed {
		return resp, nil
	}
	l.count++
	if l.count > 1 {
		return resp, nil
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return &http.Response{
		StatusCode: http.StatusInternalServerError,
		Header:     http.Header{"Content-Type": {"application/x-amz-json-1.0"}},
		Body:       io.NopCloser(strings.NewReader(`{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"response lost"}`)),
		Request:    req,
	}, nil
}

// strictExpressions rejects, as DynamoDB does and kumo does not (see
// TestKumoAcceptsUnusedExpressionAttributes), a request whose expressions
// use a placeholder it does not define, or that defines one no expression
// uses.
type strictExpressions struct{ next http.RoundTripper }

var placeholder = regexp.MustCompile(`[#:][A-Za-z0-9_]+`)

func (s strictExpressions) RoundTrip(req *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	_ = req.Body.Close()
	var r struct {
		ConditionExpression, UpdateExpression, ProjectionExpression string
		KeyConditionExpression, FilterExpression                    string
		ExpressionAttributeNames                                    map[string]string
		ExpressionAttributeValues                                   map[string]json.RawMessage
	}
	if err := json.Unmarshal(body, &r); err == nil {
		used := placeholder.FindAllString(strings.Join([]string{r.ConditionExpression, r.UpdateExpression,
			r.ProjectionExpression, r.KeyConditionExpression, r.FilterExpression}, " "), -1)
		var defined []string
		for k := range r.ExpressionAttributeNames {
			defined = append(defined, k)
		}
		for k := range r.ExpressionAttributeValues {
			defined = append(defined, k)
		}
		slices.Sort(used)
		used = slices.Compact(used)
		slices.Sort(defined)
		if !slices.Equal(used, defined) {
			msg := fmt.Sprintf("expressions use %v but the request defines %v", used, defined)
			return &http.Response{
				StatusCode: http.StatusBadRequest,
				Header:     http.Header{"Content-Type": {"application/x-amz-json-1.0"}},
				Body:       io.NopCloser(strings.NewReader(`{"__type":"com.amazon.coral.validate#ValidationException","message":` + strconv.Quote(msg) + `}`)),
				Request:    req,
			}, nil
		}
	}
	req = req.Clone(req.Context())
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.ContentLength = int64(len(body))
	return s.next.RoundTrip(req)
}
