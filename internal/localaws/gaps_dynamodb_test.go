package localaws

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/logging"
)

func gapDDBClient(t *testing.T, endpoint string) *dynamodb.Client {
	t.Helper()
	cfg, err := sdkConfig(t.Context(), endpoint, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	return dynamodb.NewFromConfig(cfg)
}

// newTable creates an on-demand table keyed by id (and "email" declared for an index), changed
// by in if given.
func newTable(t *testing.T, c *dynamodb.Client, change func(*dynamodb.CreateTableInput)) *string {
	t.Helper()
	in := &dynamodb.CreateTableInput{
		TableName: aws.String(uniqueName("gap-table")), BillingMode: ddbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: ddbtypes.KeyTypeHash}},
	}
	if change != nil {
		change(in)
	}
	if _, err := c.CreateTable(t.Context(), in); err != nil {
		t.Fatal(err)
	}
	return in.TableName
}

func describe(t *testing.T, c *dynamodb.Client, name *string) *ddbtypes.TableDescription {
	t.Helper()
	out, err := c.DescribeTable(t.Context(), &dynamodb.DescribeTableInput{TableName: name})
	if err != nil {
		t.Fatal(err)
	}
	return out.Table
}

var emailIndex = ddbtypes.GlobalSecondaryIndexUpdate{Create: &ddbtypes.CreateGlobalSecondaryIndexAction{
	IndexName: aws.String("byEmail"), KeySchema: []ddbtypes.KeySchemaElement{{AttributeName: aws.String("email"), KeyType: ddbtypes.KeyTypeHash}},
	Projection: &ddbtypes.Projection{ProjectionType: ddbtypes.ProjectionTypeAll},
}}

var emailAttrs = []ddbtypes.AttributeDefinition{
	{AttributeName: aws.String("id"), AttributeType: ddbtypes.ScalarAttributeTypeS},
	{AttributeName: aws.String("email"), AttributeType: ddbtypes.ScalarAttributeTypeS},
}

// ddbUpdates are the UpdateTable settings kumo v0.33.1 answers with success and ignores, each
// with what DynamoDB then describes.
var ddbUpdates = []struct {
	name    string
	in      dynamodb.UpdateTableInput
	applied func(*ddbtypes.TableDescription) bool
}{
	{"billing mode", dynamodb.UpdateTableInput{BillingMode: ddbtypes.BillingModeProvisioned,
		ProvisionedThroughput: &ddbtypes.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(3), WriteCapacityUnits: aws.Int64(4)}},
		func(d *ddbtypes.TableDescription) bool {
			return d.BillingModeSummary != nil && d.BillingModeSummary.BillingMode == ddbtypes.BillingModeProvisioned &&
				d.ProvisionedThroughput != nil && aws.ToInt64(d.ProvisionedThroughput.ReadCapacityUnits) == 3
		}},
	{"global index", dynamodb.UpdateTableInput{AttributeDefinitions: emailAttrs, GlobalSecondaryIndexUpdates: []ddbtypes.GlobalSecondaryIndexUpdate{emailIndex}},
		func(d *ddbtypes.TableDescription) bool { return len(d.GlobalSecondaryIndexes) == 1 }},
	{"stream", dynamodb.UpdateTableInput{StreamSpecification: &ddbtypes.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: ddbtypes.StreamViewTypeKeysOnly}},
		func(d *ddbtypes.TableDescription) bool {
			return d.StreamSpecification != nil && aws.ToBool(d.StreamSpecification.StreamEnabled)
		}},
	{"SSE", dynamodb.UpdateTableInput{SSESpecification: &ddbtypes.SSESpecification{Enabled: aws.Bool(true), SSEType: ddbtypes.SSETypeKms, KMSMasterKeyId: aws.String("arn:aws:kms:us-east-1:000000000000:key/k")}},
		func(d *ddbtypes.TableDescription) bool {
			return d.SSEDescription != nil && d.SSEDescription.SSEType == ddbtypes.SSETypeKms
		}},
	{"deletion protection", dynamodb.UpdateTableInput{DeletionProtectionEnabled: aws.Bool(true)},
		func(d *ddbtypes.TableDescription) bool { return aws.ToBool(d.DeletionProtectionEnabled) }},
}

// DynamoDB applies an UpdateTable's billing mode, throughput, index changes, stream, SSE and
// deletion protection; kumo v0.33.1 answers success and changes none of them.
func TestKumoDynamoDBUpdateTableIgnoresSettings(t *testing.T) {
	c := gapDDBClient(t, gapEmulator(t).srv.URL) // kumo itself
	for _, u := range ddbUpdates {
		t.Run(u.name, func(t *testing.T) {
			name := newTable(t, c, nil)
			in := u.in
			in.TableName = name
			if _, err := c.UpdateTable(t.Context(), &in); err != nil {
				t.Fatalf("kumo refuses the update (%v): check what it does now", err)
			}
			if u.applied(describe(t, c, name)) {
				t.Fatalf("kumo applies UpdateTable's %s: the layer need not", u.name)
			}
		})
	}
}

// DynamoDB keeps CreateTable's SSE specification; kumo v0.33.1 drops it.
func TestKumoDynamoDBCreateTableDropsSSE(t *testing.T) {
	c := gapDDBClient(t, gapEmulator(t).srv.URL)
	name := newTable(t, c, func(in *dynamodb.CreateTableInput) {
		in.SSESpecification = &ddbtypes.SSESpecification{Enabled: aws.Bool(true), SSEType: ddbtypes.SSETypeKms, KMSMasterKeyId: aws.String("arn:aws:kms:us-east-1:000000000000:key/k")}
	})
	if describe(t, c, name).SSEDescription != nil {
		t.Fatal("kumo keeps CreateTable's SSE specification: the layer need not")
	}
}

// Kumo v0.33.1 has no UpdateContinuousBackups.
func TestKumoDynamoDBNoUpdateContinuousBackups(t *testing.T) {
	c := gapDDBClient(t, gapEmulator(t).srv.URL)
	name := newTable(t, c, nil)
	_, err := c.UpdateContinuousBackups(t.Context(), &dynamodb.UpdateContinuousBackupsInput{TableName: name,
		PointInTimeRecoverySpecification: &ddbtypes.PointInTimeRecoverySpecification{PointInTimeRecoveryEnabled: aws.Bool(true)}})
	if errorCode(err) != "UnknownOperationException" {
		t.Fatalf("kumo answers UpdateContinuousBackups with %v: the layer need not", err)
	}
}

// Through the layer, every one of those settings is applied, described, and forgotten with the
// table; point-in-time recovery is kept and described.
func TestGapDynamoDBSettings(t *testing.T) {
	c := gapDDBClient(t, gapEmulator(t).URL)
	for _, u := range ddbUpdates {
		t.Run(u.name, func(t *testing.T) {
			name := newTable(t, c, nil)
			in := u.in
			in.TableName = name
			out, err := c.UpdateTable(t.Context(), &in)
			if err != nil {
				t.Fatal(err)
			}
			if !u.applied(out.TableDescription) {
				t.Errorf("UpdateTable's answer does not show the %s", u.name)
			}
			if !u.applied(describe(t, c, name)) {
				t.Errorf("DescribeTable does not show the %s", u.name)
			}
			if _, err := c.DeleteTable(t.Context(), &dynamodb.DeleteTableInput{TableName: name}); err != nil {
				t.Fatal(err)
			}
			newTable(t, c, func(in *dynamodb.CreateTableInput) { in.TableName = name })
			if u.applied(describe(t, c, name)) {
				t.Errorf("a table created again under a deleted one's name has its %s", u.name)
			}
		})
	}
	t.Run("index deleted", func(t *testing.T) {
		name := newTable(t, c, nil)
		for _, up := range []ddbtypes.GlobalSecondaryIndexUpdate{emailIndex, {Delete: &ddbtypes.DeleteGlobalSecondaryIndexAction{IndexName: aws.String("byEmail")}}} {
			if _, err := c.UpdateTable(t.Context(), &dynamodb.UpdateTableInput{TableName: name, AttributeDefinitions: emailAttrs,
				GlobalSecondaryIndexUpdates: []ddbtypes.GlobalSecondaryIndexUpdate{up}}); err != nil {
				t.Fatal(err)
			}
		}
		if n := len(describe(t, c, name).GlobalSecondaryIndexes); n != 0 {
			t.Errorf("%d indexes after deleting the only one", n)
		}
	})
	t.Run("SSE at create", func(t *testing.T) {
		name := newTable(t, c, func(in *dynamodb.CreateTableInput) {
			in.SSESpecification = &ddbtypes.SSESpecification{Enabled: aws.Bool(true), SSEType: ddbtypes.SSETypeKms, KMSMasterKeyId: aws.String("arn:aws:kms:us-east-1:000000000000:key/k")}
		})
		if d := describe(t, c, name).SSEDescription; d == nil || aws.ToString(d.KMSMasterKeyArn) != "arn:aws:kms:us-east-1:000000000000:key/k" {
			t.Errorf("SSEDescription %+v", d)
		}
	})
	t.Run("point-in-time recovery", func(t *testing.T) {
		name := newTable(t, c, nil)
		status := func() ddbtypes.PointInTimeRecoveryStatus {
			out, err := c.DescribeContinuousBackups(t.Context(), &dynamodb.DescribeContinuousBackupsInput{TableName: name})
			if err != nil {
				t.Fatal(err)
			}
			return out.ContinuousBackupsDescription.PointInTimeRecoveryDescription.PointInTimeRecoveryStatus
		}
		if s := status(); s != ddbtypes.PointInTimeRecoveryStatusDisabled {
			t.Errorf("a new table's PITR is %s", s)
		}
		if _, err := c.UpdateContinuousBackups(t.Context(), &dynamodb.UpdateContinuousBackupsInput{TableName: name,
			PointInTimeRecoverySpecification: &ddbtypes.PointInTimeRecoverySpecification{PointInTimeRecoveryEnabled: aws.Bool(true)}}); err != nil {
			t.Fatal(err)
		}
		if s := status(); s != ddbtypes.PointInTimeRecoveryStatusEnabled {
			t.Errorf("PITR is %s after enabling it", s)
		}
		_, err := c.UpdateContinuousBackups(t.Context(), &dynamodb.UpdateContinuousBackupsInput{TableName: aws.String("no-such-table"),
			PointInTimeRecoverySpecification: &ddbtypes.PointInTimeRecoverySpecification{PointInTimeRecoveryEnabled: aws.Bool(true)}})
		if errorCode(err) != "TableNotFoundException" {
			t.Errorf("UpdateContinuousBackups of a missing table: %v", err)
		}
	})
}

// The layer's DynamoDB settings persist in the data directory.
func TestGapDynamoDBStatePersists(t *testing.T) {
	dir := t.TempDir()
	on := true
	if err := newDDBGapState(dir).set("t", &ddbOverlay{BillingMode: "PROVISIONED", DeletionProtection: &on, PITR: true}); err != nil {
		t.Fatal(err)
	}
	got := newDDBGapState(dir).get("t")
	if got.BillingMode != "PROVISIONED" || got.DeletionProtection == nil || !*got.DeletionProtection || !got.PITR {
		t.Errorf("read back %+v", got)
	}
}

// TestKumoSendsNoCRC32: DynamoDB sends the CRC-32 of every response body in X-Amz-Crc32, and
// the SDK's client checks it; kumo sends none (the SDK then logs a checksum mismatch for every
// response, without failing the call).
func TestKumoSendsNoCRC32(t *testing.T) {
	if crc := ddbCRC(t, gapEmulator(t).srv.URL); crc != "" {
		t.Fatalf("kumo now sends X-Amz-Crc32 %q: the layer need not", crc)
	}
}

// Through the layer every DynamoDB answer carries the CRC-32 of its body, the layer's own
// answers too, so the SDK's check passes.
func TestGapDynamoDBCRC32(t *testing.T) {
	url := gapEmulator(t).URL
	if crc := ddbCRC(t, url); crc == "" {
		t.Fatal("no X-Amz-Crc32 through the layer")
	}
	var logs strings.Builder
	cfg, err := sdkConfig(t.Context(), url, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Logger = logging.LoggerFunc(func(_ logging.Classification, format string, v ...any) { fmt.Fprintf(&logs, format+"\n", v...) })
	c := dynamodb.NewFromConfig(cfg)
	name := newTable(t, c, nil)
	if _, err := c.UpdateContinuousBackups(t.Context(), &dynamodb.UpdateContinuousBackupsInput{TableName: name,
		PointInTimeRecoverySpecification: &ddbtypes.PointInTimeRecoverySpecification{PointInTimeRecoveryEnabled: aws.Bool(true)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DescribeTable(t.Context(), &dynamodb.DescribeTableInput{TableName: name}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), "checksum") {
		t.Errorf("the SDK logged a checksum problem:\n%s", logs.String())
	}
}

// ddbCRC returns the X-Amz-Crc32 header of a ListTables answer from the endpoint.
func ddbCRC(t *testing.T, endpoint string) string {
	t.Helper()
	cfg, err := sdkConfig(t.Context(), endpoint, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	var crc string
	c := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.DisableValidateResponseChecksum = true
		o.HTTPClient = crcRecorder{http.DefaultClient, &crc}
	})
	if _, err := c.ListTables(t.Context(), &dynamodb.ListTablesInput{}); err != nil {
		t.Fatal(err)
	}
	return crc
}

type crcRecorder struct {
	next *http.Client
	crc  *string
}

func (r crcRecorder) Do(req *http.Request) (*http.Response, error) {
	resp, err := r.next.Do(req)
	if err == nil {
		*r.crc = resp.Header.Get("X-Amz-Crc32")
	}
	return resp, err
}
