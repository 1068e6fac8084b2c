package dynamolock

import (
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/panka/panka/lock"
)

// Attribute names of a lock item. See the package documentation.
const (
	attrKey       = "LockID"       // S, the table's hash key: the lock key
	attrOwnerID   = "ownerId"      // S, the lease's lock ID
	attrWho       = "who"          // S, lock.Info.Owner ("user@host")
	attrOperation = "operation"    // S
	attrCreated   = "created"      // N, epoch seconds
	attrExpires   = "expires"      // N, epoch seconds; the table's TTL attribute
	attrVersion   = "pankaVersion" // S
)

// floorSecond and ceilSecond round t to whole seconds in UTC, the
// granularity of the item's times (see the package documentation).
func floorSecond(t time.Time) time.Time { return time.Unix(t.Unix(), 0).UTC() }

func ceilSecond(t time.Time) time.Time {
	s := t.Unix()
	if t.Nanosecond() != 0 {
		s++
	}
	return time.Unix(s, 0).UTC()
}

func seconds(t time.Time) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(t.Unix(), 10)}
}

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

func keyOf(key string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrKey: str(key)}
}

// encodeItem returns the item for info, whose times are whole seconds.
func encodeItem(info *lock.Info) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrKey:       str(info.Key),
		attrOwnerID:   str(info.ID),
		attrWho:       str(info.Owner),
		attrOperation: str(info.Operation),
		attrCreated:   seconds(info.Created),
		attrExpires:   seconds(info.Expires),
		attrVersion:   str(info.Version),
	}
}

// decodeItem reads a lock item back. An item without a lock ID or times
// (written by something other than this package) is reported as corrupt,
// naming the item, rather than as free or held.
func decodeItem(table string, item map[string]types.AttributeValue) (*lock.Info, error) {
	key, _ := stringAttr(item, attrKey)
	corrupt := func(format string, args ...any) error {
		return fmt.Errorf("lock item %s=%q in table %s is corrupt (%s); if no run holds this lock, delete the item",
			attrKey, key, table, fmt.Sprintf(format, args...))
	}
	var info lock.Info
	info.Key = key
	for _, f := range []struct {
		name     string
		dst      *string
		required bool
	}{
		{attrKey, &info.Key, true},
		{attrOwnerID, &info.ID, true},
		{attrWho, &info.Owner, false},
		{attrOperation, &info.Operation, false},
		{attrVersion, &info.Version, false},
	} {
		v, err := stringAttr(item, f.name)
		if err != nil {
			return nil, corrupt("%v", err)
		}
		if f.required && v == "" {
			return nil, corrupt("no %s", f.name)
		}
		*f.dst = v
	}
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{
		{attrCreated, &info.Created},
		{attrExpires, &info.Expires},
	} {
		n, ok := item[f.name].(*types.AttributeValueMemberN)
		if !ok {
			return nil, corrupt("%s is missing or not a Number", f.name)
		}
		sec, err := strconv.ParseInt(n.Value, 10, 64)
		if err != nil {
			return nil, corrupt("%s = %s is not whole epoch seconds", f.name, n.Value)
		}
		*f.dst = time.Unix(sec, 0).UTC()
	}
	return &info, nil
}

// stringAttr returns item[name] if it is a String, "" if it is absent.
func stringAttr(item map[string]types.AttributeValue, name string) (string, error) {
	switch v := item[name].(type) {
	case nil:
		return "", nil
	case *types.AttributeValueMemberS:
		return v.Value, nil
	default:
		return "", fmt.Errorf("%s is a %T, not a String", name, v)
	}
}
