package dynamolock_test

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/panka/panka/lock"
	"github.com/panka/panka/lock/dynamolock"
)

func TestEnsureTable(t *testing.T) {
	ctx := t.Context()
	c := newClient(startEmulator(t), nil)
	table := "panka-locks-" + uuid.NewString()

	warnings, err := dynamolock.EnsureTable(ctx, c, table)
	if err != nil {
		t.Fatal(err)
	}
	// The local AWS has UpdateContinuousBackups (kumo lacks it; the gap layer of
	// internal/localaws answers it): no warning.
	if len(warnings) != 0 {
		t.Fatalf("warnings = %q, want none", warnings)
	}
	cb, err := c.DescribeContinuousBackups(ctx, &dynamodb.DescribeContinuousBackupsInput{TableName: &table})
	if err != nil {
		t.Fatal(err)
	}
	if got := cb.ContinuousBackupsDescription.PointInTimeRecoveryDescription.PointInTimeRecoveryStatus; got != types.PointInTimeRecoveryStatusEnabled {
		t.Errorf("point-in-time recovery = %s, want ENABLED", got)
	}

	d, err := c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &table})
	if err != nil {
		t.Fatal(err)
	}
	type key struct{ Name, Type string }
	var keys, attrs []key
	for _, k := range d.Table.KeySchema {
		keys = append(keys, key{aws.ToString(k.AttributeName), string(k.KeyType)})
	}
	for _, a := range d.Table.AttributeDefinitions {
		attrs = append(attrs, key{aws.ToString(a.AttributeName), string(a.AttributeType)})
	}
	if diff := cmp.Diff([]key{{"LockID", "HASH"}}, keys); diff != "" {
		t.Errorf("key schema (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]key{{"LockID", "S"}}, attrs); diff != "" {
		t.Errorf("attribute definitions (-want +got):\n%s", diff)
	}
	if d.Table.TableStatus != types.TableStatusActive {
		t.Errorf("table status = %s, want ACTIVE", d.Table.TableStatus)
	}
	if d.Table.BillingModeSummary == nil || d.Table.BillingModeSummary.BillingMode != types.BillingModePayPerRequest {
		t.Errorf("billing mode = %+v, want PAY_PER_REQUEST", d.Table.BillingModeSummary)
	}
	ttl, err := c.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: &table})
	if err != nil {
		t.Fatal(err)
	}
	if got := ttl.TimeToLiveDescription; aws.ToString(got.AttributeName) != "expires" || got.TimeToLiveStatus != types.TimeToLiveStatusEnabled {
		t.Errorf("TTL = %s on %q, want ENABLED on \"expires\"", got.TimeToLiveStatus, aws.ToString(got.AttributeName))
	}

	// Again: nothing to do, nothing fails (real DynamoDB refuses to enable
	// TTL twice, so EnsureTable must not try), no warning.
	again, err := dynamolock.EnsureTable(ctx, c, table)
	if err != nil {
		t.Fatalf("second EnsureTable: %v", err)
	}
	if len(again) != 0 {
		t.Errorf("second EnsureTable's warnings = %q, want none", again)
	}

	l := dynamolock.New(c, dynamolock.Options{Table: table})
	if _, err := l.Acquire(ctx, "acme/web/prod", lock.AcquireOptions{TTL: time.Minute}); err != nil {
		t.Fatalf("Acquire on the ensured table: %v", err)
	}
}

func TestEnsureTableWrongKeySchema(t *testing.T) {
	c := newClient(startEmulator(t), nil)
	table := "panka-locks-" + uuid.NewString()
	_, err := c.CreateTable(t.Context(), &dynamodb.CreateTableInput{
		TableName:            &table,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = dynamolock.EnsureTable(t.Context(), c, table)
	if err == nil || !strings.Contains(err.Error(), "LockID") || !strings.Contains(err.Error(), "id (HASH)") {
		t.Fatalf("EnsureTable on a table keyed by id = %v, want an error naming both keys", err)
	}
}

// TestEnsureTableTTLOnOtherAttribute: TTL can be on one attribute only, and
// EnsureTable does not take it away from another one; it warns instead.
func TestEnsureTableTTLOnOtherAttribute(t *testing.T) {
	c := newClient(startEmulator(t), nil)
	table := newTable(t, c)
	_, err := c.UpdateTimeToLive(t.Context(), &dynamodb.UpdateTimeToLiveInput{
		TableName:               &table,
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String("ttl"), Enabled: aws.Bool(true)},
	})
	if err != nil {
		t.Fatal(err)
	}
	warnings, err := dynamolock.EnsureTable(t.Context(), c, table)
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], `"ttl"`) || !strings.Contains(warnings[0], "not be deleted automatically") {
		t.Fatalf("warnings = %q, want one TTL warning naming \"ttl\"", warnings)
	}
}

func TestEnsureTableEmptyName(t *testing.T) {
	c := newClient(startEmulator(t), nil)
	if _, err := dynamolock.EnsureTable(t.Context(), c, ""); err == nil {
		t.Fatal("EnsureTable with an empty name succeeded")
	}
}
