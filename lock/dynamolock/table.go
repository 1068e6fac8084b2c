package dynamolock

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// How long EnsureTable waits for a table to become ACTIVE, and for a new
// table's continuous backups to become available so that point-in-time
// recovery can be turned on.
const (
	tableActiveTimeout = 5 * time.Minute
	backupsTimeout     = 2 * time.Minute
	backupsPoll        = 5 * time.Second
)

// EnsureTable makes table ready for a Locker, and is safe to call on every
// start and from several processes at once:
//
//   - it creates the table if it does not exist (on-demand capacity, hash
//     key LockID of type String) and waits until it is ACTIVE;
//   - it checks that an existing table has exactly that key schema;
//   - it enables TTL on the expires attribute, so that DynamoDB eventually
//     deletes the items of leases nobody took over;
//   - it enables point-in-time recovery.
//
// Creating, waiting for or checking the table, and ctx ending, are errors.
// TTL and point-in-time recovery only tidy up and protect the table — locks
// are correct without them, because expiry is decided by the conditions of
// each write — so when enabling either fails (missing permission, an
// emulator that lacks the call, TTL already set on another attribute), the
// table is still usable and EnsureTable returns a warning naming the call
// and the consequence instead of an error.
func EnsureTable(ctx context.Context, client *dynamodb.Client, table string) (warnings []string, err error) {
	if table == "" {
		return nil, errors.New("ensure lock table: empty table name")
	}
	_, err = client.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            &table,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(attrKey), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(attrKey), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	})
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) { // in use: it exists, or is being created
		return nil, fmt.Errorf("ensure lock table %s: CreateTable: %w", table, err)
	}

	waiter := dynamodb.NewTableExistsWaiter(client, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = time.Second, 10*time.Second
	})
	desc, err := waiter.WaitForOutput(ctx, &dynamodb.DescribeTableInput{TableName: &table}, tableActiveTimeout)
	if err != nil {
		return nil, fmt.Errorf("ensure lock table %s: waiting for it to become ACTIVE: %w", table, err)
	}
	if err := checkKeySchema(desc.Table); err != nil {
		return nil, fmt.Errorf("ensure lock table %s: %w", table, err)
	}

	for _, step := range []func(context.Context, *dynamodb.Client, string) (string, error){ensureTTL, ensurePITR} {
		warning, err := step(ctx, client, table)
		if err != nil {
			return warnings, fmt.Errorf("ensure lock table %s: %w", table, err)
		}
		if warning != "" {
			warnings = append(warnings, warning)
		}
	}
	return warnings, nil
}

// checkKeySchema reports whether t's key is exactly the hash key LockID (S).
func checkKeySchema(t *types.TableDescription) error {
	var keys []string
	for _, k := range t.KeySchema {
		keys = append(keys, fmt.Sprintf("%s (%s)", aws.ToString(k.AttributeName), k.KeyType))
	}
	var keyType types.ScalarAttributeType
	for _, d := range t.AttributeDefinitions {
		if aws.ToString(d.AttributeName) == attrKey {
			keyType = d.AttributeType
		}
	}
	if len(keys) == 1 && keys[0] == attrKey+" (HASH)" && keyType == types.ScalarAttributeTypeS {
		return nil
	}
	return fmt.Errorf("the table exists with key %v (%s of type %q); a lock table needs exactly the hash key %s of type S",
		keys, attrKey, keyType, attrKey)
}

// ensureTTL enables TTL on expires unless it already is. Only ctx ending is
// an error; any other failure is returned as a warning.
func ensureTTL(ctx context.Context, client *dynamodb.Client, table string) (warning string, err error) {
	const consequence = "expired lock items will not be deleted automatically (locking is unaffected)"
	// ttlState returns the TTL attribute and status, or why it could not.
	ttlState := func() (string, types.TimeToLiveStatus, error) {
		out, err := client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: &table})
		if err != nil || out.TimeToLiveDescription == nil {
			return "", "", err
		}
		d := out.TimeToLiveDescription
		return aws.ToString(d.AttributeName), d.TimeToLiveStatus, nil
	}
	enabled := func(status types.TimeToLiveStatus) bool {
		return status == types.TimeToLiveStatusEnabled || status == types.TimeToLiveStatusEnabling
	}

	attr, status, err := ttlState()
	switch {
	case ctx.Err() != nil:
		return "", fmt.Errorf("DescribeTimeToLive: %w", ctx.Err())
	case err == nil && enabled(status) && attr == attrExpires:
		return "", nil
	case err == nil && enabled(status):
		return fmt.Sprintf("table %s: TTL is enabled on attribute %q, not %q, so %s", table, attr, attrExpires, consequence), nil
	}
	// Disabled, or DescribeTimeToLive failed; in the latter case
	// UpdateTimeToLive says why, or succeeds.
	_, err = client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName: &table,
		TimeToLiveSpecification: &types.TimeToLiveSpecification{
			AttributeName: aws.String(attrExpires),
			Enabled:       aws.Bool(true),
		},
	})
	if err == nil {
		return "", nil
	}
	if ctx.Err() != nil {
		return "", fmt.Errorf("UpdateTimeToLive: %w", err)
	}
	// Another process may have enabled it just now (DynamoDB refuses to
	// enable TTL twice).
	if attr, status, derr := ttlState(); derr == nil && enabled(status) && attr == attrExpires {
		return "", nil
	}
	return fmt.Sprintf("table %s: UpdateTimeToLive (enable TTL on %q) failed, so %s: %v", table, attrExpires, consequence, err), nil
}

// ensurePITR enables point-in-time recovery. DynamoDB refuses to (with
// ContinuousBackupsUnavailableException) until a new table's continuous
// backups are on, so that is retried for a while. Only ctx ending is an
// error; any other failure is returned as a warning.
func ensurePITR(ctx context.Context, client *dynamodb.Client, table string) (warning string, err error) {
	deadline := time.Now().Add(backupsTimeout)
	for {
		_, err := client.UpdateContinuousBackups(ctx, &dynamodb.UpdateContinuousBackupsInput{
			TableName:                        &table,
			PointInTimeRecoverySpecification: &types.PointInTimeRecoverySpecification{PointInTimeRecoveryEnabled: aws.Bool(true)},
		})
		if err == nil {
			return "", nil
		}
		if ctx.Err() != nil {
			return "", fmt.Errorf("UpdateContinuousBackups: %w", err)
		}
		var unavailable *types.ContinuousBackupsUnavailableException
		if !errors.As(err, &unavailable) || time.Until(deadline) < backupsPoll {
			return fmt.Sprintf("table %s: UpdateContinuousBackups (enable point-in-time recovery) failed, so the lock table has no point-in-time backups (locking is unaffected): %v", table, err), nil
		}
		t := time.NewTimer(backupsPoll)
		select {
		case <-ctx.Done():
			t.Stop()
			return "", fmt.Errorf("waiting to enable point-in-time recovery: %w", ctx.Err())
		case <-t.C:
		}
	}
}
