package dynamolock_test

// What the emulator (kumo v0.33.1, internal/service/dynamodb) does not do
// like DynamoDB, as far as this package is concerned. Each test pins one gap
// and says how the package copes; if kumo closes a gap, its test fails, and
// the note here (and the coping code's comment) should be revisited.
//
// (API error codes are read through the ErrorCode method of smithy.APIError.)

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/uuid"
)

// Kumo has no UpdateContinuousBackups either; the local AWS's gap layer answers
// it (pinned by internal/localaws's TestKumoDynamoDBNoUpdateContinuousBackups),
// so EnsureTable enables point-in-time recovery there (TestEnsureTable).

// TestKumoIgnoresReturnValuesOnConditionCheckFailure: DynamoDB returns the
// item that failed a condition in the ConditionalCheckFailedException when
// asked (ReturnValuesOnConditionCheckFailure ALL_OLD); kumo has no such
// field and never does. The Locker asks, and when the exception carries no
// item it reads the holder with a consistent GetItem instead, so against
// kumo the conformance suite exercises that fallback.
func TestKumoIgnoresReturnValuesOnConditionCheckFailure(t *testing.T) {
	c := newClient(startEmulator(t), nil)
	table := newTable(t, c)
	item := map[string]types.AttributeValue{
		"LockID":  &types.AttributeValueMemberS{Value: "acme/web/prod"},
		"ownerId": &types.AttributeValueMemberS{Value: uuid.NewString()},
	}
	putRaw(t, c, table, item)
	_, err := c.PutItem(t.Context(), &dynamodb.PutItemInput{
		TableName:                           &table,
		Item:                                item,
		ConditionExpression:                 aws.String("attribute_not_exists(#k)"),
		ExpressionAttributeNames:            map[string]string{"#k": "LockID"},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		t.Fatalf("PutItem over an existing item = %v, want ConditionalCheckFailedException", err)
	}
	if len(ccf.Item) != 0 {
		t.Fatalf("kumo now returns the item with the failure (%v): the GetItem fallback is no longer exercised against it", ccf.Item)
	}
}

// TestKumoAcceptsUnusedExpressionAttributes: DynamoDB rejects a request
// that defines an expression attribute name or value no expression uses
// (ValidationException); kumo accepts it. So the tests send every request
// through strictExpressions, which rejects such requests as DynamoDB would.
func TestKumoAcceptsUnusedExpressionAttributes(t *testing.T) {
	cfg := startEmulator(t)
	lax := dynamodb.NewFromConfig(cfg)
	strict := newClient(cfg, nil)
	table := newTable(t, strict)
	in := &dynamodb.PutItemInput{
		TableName:                 &table,
		Item:                      map[string]types.AttributeValue{"LockID": &types.AttributeValueMemberS{Value: "a"}},
		ConditionExpression:       aws.String("attribute_not_exists(LockID)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":unused": &types.AttributeValueMemberN{Value: "1"}},
	}
	if _, err := lax.PutItem(t.Context(), in); err != nil {
		t.Fatalf("kumo now rejects an unused expression attribute value (%v): strictExpressions may be redundant", err)
	}
	var apiErr interface{ ErrorCode() string }
	if _, err := strict.PutItem(t.Context(), in); !errors.As(err, &apiErr) || apiErr.ErrorCode() != "ValidationException" {
		t.Fatalf("strictExpressions let an unused value through: %v", err)
	}
}
