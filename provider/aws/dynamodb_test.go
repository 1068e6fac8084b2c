package aws_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// ddbBase is a DynamoDB spec as the engine hands it over: every field, at its default.
func ddbBase() map[string]any {
	return map[string]any{
		"billingMode": "PAY_PER_REQUEST", "hashKey": "id", "attributes": []any{map[string]any{"name": "id", "type": "S"}},
		"readCapacity": int64(0), "writeCapacity": int64(0), "pointInTimeRecovery": false, "deletionProtection": false,
		"tableClass": "STANDARD",
	}
}

// ddbProvisioned is ddbBase with provisioned capacity.
func ddbProvisioned() map[string]any {
	s := ddbBase()
	s["billingMode"], s["readCapacity"], s["writeCapacity"] = "PROVISIONED", int64(5), int64(5)
	return s
}

// ddbRange is ddbBase with a range key.
func ddbRange() map[string]any {
	s := ddbBase()
	s["rangeKey"] = "sk"
	s["attributes"] = []any{map[string]any{"name": "id", "type": "S"}, map[string]any{"name": "sk", "type": "N"}}
	return s
}

func ddbClient(t *testing.T) *dynamodb.Client { return dynamodb.NewFromConfig(sdkConfig(t)) }

// ddbView reads a table through the SDK: its settings, flattened, and its tags.
func ddbView(c *dynamodb.Client) func(t *testing.T, id string) view {
	return func(t *testing.T, id string) view {
		t.Helper()
		ctx, name := t.Context(), aws.String(id)
		out, err := c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: name})
		if err != nil {
			t.Fatalf("DescribeTable: %v", err)
		}
		tb := out.Table
		v := view{"DeletionProtection": fmt.Sprint(aws.ToBool(tb.DeletionProtectionEnabled))}
		if tb.BillingModeSummary != nil {
			v["BillingMode"] = string(tb.BillingModeSummary.BillingMode)
		}
		if pt := tb.ProvisionedThroughput; pt != nil {
			v["RCU"], v["WCU"] = fmt.Sprint(aws.ToInt64(pt.ReadCapacityUnits)), fmt.Sprint(aws.ToInt64(pt.WriteCapacityUnits))
		}
		if tb.TableClassSummary != nil {
			v["TableClass"] = string(tb.TableClassSummary.TableClass)
		}
		var attrs []string
		for _, a := range tb.AttributeDefinitions {
			attrs = append(attrs, aws.ToString(a.AttributeName)+":"+string(a.AttributeType))
		}
		slices.Sort(attrs)
		v["Attributes"] = strings.Join(attrs, ",")
		keys := func(ks []ddbtypes.KeySchemaElement) string {
			var s []string
			for _, k := range ks {
				s = append(s, aws.ToString(k.AttributeName)+":"+string(k.KeyType))
			}
			return strings.Join(s, ",")
		}
		v["Keys"] = keys(tb.KeySchema)
		proj := func(p *ddbtypes.Projection) string {
			return string(p.ProjectionType) + fmt.Sprint(p.NonKeyAttributes)
		}
		for _, g := range tb.GlobalSecondaryIndexes {
			s := keys(g.KeySchema) + " " + proj(g.Projection)
			if pt := g.ProvisionedThroughput; pt != nil {
				s += fmt.Sprintf(" %d/%d", aws.ToInt64(pt.ReadCapacityUnits), aws.ToInt64(pt.WriteCapacityUnits))
			}
			v["GSI."+aws.ToString(g.IndexName)] = s
		}
		for _, l := range tb.LocalSecondaryIndexes {
			v["LSI."+aws.ToString(l.IndexName)] = keys(l.KeySchema) + " " + proj(l.Projection)
		}
		if st := tb.StreamSpecification; st != nil && aws.ToBool(st.StreamEnabled) {
			v["Stream"] = string(st.StreamViewType)
		}
		if sse := tb.SSEDescription; sse != nil {
			v["SSE"] = string(sse.SSEType) + ":" + aws.ToString(sse.KMSMasterKeyArn)
		}
		ttl, err := c.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: name})
		if err != nil {
			t.Fatalf("DescribeTimeToLive: %v", err)
		}
		if d := ttl.TimeToLiveDescription; d != nil && d.TimeToLiveStatus == ddbtypes.TimeToLiveStatusEnabled {
			v["TTL"] = aws.ToString(d.AttributeName)
		}
		cb, err := c.DescribeContinuousBackups(ctx, &dynamodb.DescribeContinuousBackupsInput{TableName: name})
		if err != nil {
			t.Fatalf("DescribeContinuousBackups: %v", err)
		}
		v["PITR"] = string(cb.ContinuousBackupsDescription.PointInTimeRecoveryDescription.PointInTimeRecoveryStatus)
		tags, err := c.ListTagsOfResource(ctx, &dynamodb.ListTagsOfResourceInput{ResourceArn: tb.TableArn})
		if err != nil {
			t.Fatalf("ListTagsOfResource: %v", err)
		}
		for _, tag := range tags.Tags {
			v["tag:"+aws.ToString(tag.Key)] = aws.ToString(tag.Value)
		}
		return v
	}
}

func updateTable(c *dynamodb.Client, in dynamodb.UpdateTableInput) func(t *testing.T, id string) {
	return func(t *testing.T, id string) {
		t.Helper()
		in.TableName = aws.String(id)
		if _, err := c.UpdateTable(t.Context(), &in); err != nil {
			t.Fatal(err)
		}
	}
}

const testKeyARN = "arn:aws:kms:us-east-1:000000000000:key/panka-test"

// TestDynamoDBFields sets every DynamoDB field to a value other than its default, and checks
// through the SDK that Create applies it, that an Update to it changes exactly it (or is
// refused, for a field that forces replacement), and that a change of it behind Panka's back
// shows in Read and is undone by the next Update.
func TestDynamoDBFields(t *testing.T) {
	p := newProvider(t)
	c := ddbClient(t)
	withEmail := func(s map[string]any) {
		s["attributes"] = append(s["attributes"].([]any), map[string]any{"name": "email", "type": "S"})
	}
	gsi := func(projection string, nonKey ...any) map[string]any {
		g := map[string]any{"name": "byEmail", "hashKey": "email", "projection": projection, "readCapacity": int64(0), "writeCapacity": int64(0)}
		if nonKey != nil {
			g["nonKeyAttributes"] = nonKey
		}
		return g
	}
	cases := []fieldCase{
		{name: "billingMode", set: func(s map[string]any) {
			s["billingMode"], s["readCapacity"], s["writeCapacity"] = "PROVISIONED", int64(3), int64(4)
		}, want: view{"BillingMode": "PROVISIONED", "RCU": "3", "WCU": "4"},
			drift: updateTable(c, dynamodb.UpdateTableInput{BillingMode: ddbtypes.BillingModePayPerRequest})},
		{name: "readCapacity", base: ddbProvisioned, set: func(s map[string]any) { s["readCapacity"] = int64(10) },
			want:  view{"RCU": "10", "WCU": "5"},
			drift: updateTable(c, dynamodb.UpdateTableInput{ProvisionedThroughput: &ddbtypes.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(1), WriteCapacityUnits: aws.Int64(5)}})},
		{name: "writeCapacity", base: ddbProvisioned, set: func(s map[string]any) { s["writeCapacity"] = int64(10) },
			want:  view{"RCU": "5", "WCU": "10"},
			drift: updateTable(c, dynamodb.UpdateTableInput{ProvisionedThroughput: &ddbtypes.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(5), WriteCapacityUnits: aws.Int64(1)}})},
		{name: "hashKey", set: func(s map[string]any) {
			s["hashKey"] = "pk"
			s["attributes"] = []any{map[string]any{"name": "pk", "type": "S"}}
		}, want: view{"Keys": "pk:HASH", "Attributes": "pk:S"}, forceNew: true},
		{name: "rangeKey", set: func(s map[string]any) {
			s["rangeKey"] = "sk"
			s["attributes"] = []any{map[string]any{"name": "id", "type": "S"}, map[string]any{"name": "sk", "type": "N"}}
		}, want: view{"Keys": "id:HASH,sk:RANGE", "Attributes": "id:S,sk:N"}, forceNew: true},
		{name: "globalIndexes", set: func(s map[string]any) { withEmail(s); s["globalIndexes"] = []any{gsi("ALL")} },
			want: view{"GSI.byEmail": "email:HASH ALL[]", "Attributes": "email:S,id:S"},
			drift: updateTable(c, dynamodb.UpdateTableInput{GlobalSecondaryIndexUpdates: []ddbtypes.GlobalSecondaryIndexUpdate{
				{Delete: &ddbtypes.DeleteGlobalSecondaryIndexAction{IndexName: aws.String("byEmail")}}}})},
		{name: "globalIndexes.nonKeyAttributes", set: func(s map[string]any) {
			withEmail(s)
			s["globalIndexes"] = []any{gsi("INCLUDE", "name")}
		}, want: view{"GSI.byEmail": "email:HASH INCLUDE[name]", "Attributes": "email:S,id:S"}},
		{name: "globalIndexes.readCapacity", base: ddbProvisioned, set: func(s map[string]any) {
			withEmail(s)
			g := gsi("KEYS_ONLY")
			g["readCapacity"], g["writeCapacity"] = int64(2), int64(3)
			s["globalIndexes"] = []any{g}
		}, want: view{"GSI.byEmail": "email:HASH KEYS_ONLY[] 2/3", "Attributes": "email:S,id:S"}},
		{name: "globalIndexes.projection", base: func() map[string]any {
			s := ddbBase()
			withEmail(s)
			s["globalIndexes"] = []any{gsi("ALL")}
			return s
		}, set: func(s map[string]any) { s["globalIndexes"] = []any{gsi("KEYS_ONLY")} },
			want: view{"GSI.byEmail": "email:HASH KEYS_ONLY[]", "Attributes": "email:S,id:S"}},
		{name: "billingMode (with an index)", base: func() map[string]any {
			s := ddbBase()
			withEmail(s)
			s["globalIndexes"] = []any{gsi("ALL")}
			return s
		}, set: func(s map[string]any) {
			s["billingMode"], s["readCapacity"], s["writeCapacity"] = "PROVISIONED", int64(3), int64(4)
			g := gsi("ALL")
			g["readCapacity"], g["writeCapacity"] = int64(1), int64(2)
			s["globalIndexes"] = []any{g}
		}, want: view{"BillingMode": "PROVISIONED", "RCU": "3", "WCU": "4", "GSI.byEmail": "email:HASH ALL[] 1/2"}},
		{name: "localIndexes", base: ddbRange, set: func(s map[string]any) {
			s["attributes"] = append(s["attributes"].([]any), map[string]any{"name": "created", "type": "N"})
			s["localIndexes"] = []any{map[string]any{"name": "byCreated", "rangeKey": "created", "projection": "ALL"}}
		}, want: view{"LSI.byCreated": "id:HASH,created:RANGE ALL[]"}, forceNew: true},
		{name: "ttl", set: func(s map[string]any) { s["ttl"] = map[string]any{"enabled": true, "attribute": "expires"} },
			want: view{"TTL": "expires"},
			drift: func(t *testing.T, id string) {
				if _, err := c.UpdateTimeToLive(t.Context(), &dynamodb.UpdateTimeToLiveInput{TableName: aws.String(id),
					TimeToLiveSpecification: &ddbtypes.TimeToLiveSpecification{Enabled: aws.Bool(false), AttributeName: aws.String("expires")}}); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "stream", set: func(s map[string]any) { s["stream"] = map[string]any{"enabled": true, "viewType": "NEW_IMAGE"} },
			want:  view{"Stream": "NEW_IMAGE"},
			drift: updateTable(c, dynamodb.UpdateTableInput{StreamSpecification: &ddbtypes.StreamSpecification{StreamEnabled: aws.Bool(false)}})},
		{name: "ttl.attribute", base: func() map[string]any {
			s := ddbBase()
			s["ttl"] = map[string]any{"enabled": true, "attribute": "expires"}
			return s
		}, set: func(s map[string]any) { s["ttl"] = map[string]any{"enabled": true, "attribute": "expiresAt"} },
			want: view{"TTL": "expiresAt"}},
		{name: "stream.viewType", base: func() map[string]any {
			s := ddbBase()
			s["stream"] = map[string]any{"enabled": true, "viewType": "NEW_IMAGE"}
			return s
		}, set: func(s map[string]any) { s["stream"] = map[string]any{"enabled": true, "viewType": "KEYS_ONLY"} },
			want:  view{"Stream": "KEYS_ONLY"},
			drift: updateTable(c, dynamodb.UpdateTableInput{StreamSpecification: &ddbtypes.StreamSpecification{StreamEnabled: aws.Bool(false)}})},
		{name: "pointInTimeRecovery", set: func(s map[string]any) { s["pointInTimeRecovery"] = true },
			want: view{"PITR": "ENABLED"},
			drift: func(t *testing.T, id string) {
				if _, err := c.UpdateContinuousBackups(t.Context(), &dynamodb.UpdateContinuousBackupsInput{TableName: aws.String(id),
					PointInTimeRecoverySpecification: &ddbtypes.PointInTimeRecoverySpecification{PointInTimeRecoveryEnabled: aws.Bool(false)}}); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "tableClass", set: func(s map[string]any) { s["tableClass"] = "STANDARD_INFREQUENT_ACCESS" },
			want:  view{"TableClass": "STANDARD_INFREQUENT_ACCESS"},
			drift: updateTable(c, dynamodb.UpdateTableInput{TableClass: ddbtypes.TableClassStandard})},
		{name: "kmsKey", set: func(s map[string]any) { s["kmsKey"] = testKeyARN },
			want:  view{"SSE": "KMS:" + testKeyARN},
			drift: updateTable(c, dynamodb.UpdateTableInput{SSESpecification: &ddbtypes.SSESpecification{Enabled: aws.Bool(false)}})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkFieldCase(t, p, "DynamoDB", ddbBase, noSuffix, tc, ddbView(c))
		})
	}
}

// deletionProtection is applied, read back and drifts like the other fields; Delete refuses a
// protected table, saying so, until an Update turns the protection off.
func TestDynamoDBDeletionProtection(t *testing.T) {
	p := newProvider(t)
	c := ddbClient(t)
	spec := ddbBase()
	spec["deletionProtection"] = true
	r := component("DynamoDB", unique("dp"), "", spec)
	obs, err := p.Create(t.Context(), r)
	if err != nil {
		t.Fatal(err)
	}
	wantIn(t, "after Create", ddbView(c)(t, obs.ID), view{"DeletionProtection": "true"})
	if obs.Spec["deletionProtection"] != true {
		t.Errorf("Create read back deletionProtection %v", obs.Spec["deletionProtection"])
	}
	if err := p.Delete(t.Context(), obs.ID, r); err == nil || !strings.Contains(err.Error(), "deletionProtection") {
		t.Fatalf("Delete of a protected table: %v; want an error naming deletionProtection", err)
	}
	// Drift: turned off behind Panka's back, Read shows it, and Update turns it on again.
	updateTable(c, dynamodb.UpdateTableInput{DeletionProtectionEnabled: aws.Bool(false)})(t, obs.ID)
	got, err := p.Read(t.Context(), "DynamoDB", obs.ID)
	if err != nil || got.Spec["deletionProtection"] != false {
		t.Fatalf("Read after deletion protection was turned off behind Panka's back: %v %v", got, err)
	}
	if _, err := p.Update(t.Context(), obs.ID, r, nil); err != nil {
		t.Fatal(err)
	}
	wantIn(t, "after Update", ddbView(c)(t, obs.ID), view{"DeletionProtection": "true"})
	// Turned off by Update, then deleted.
	r.Spec["deletionProtection"] = false
	if _, err := p.Update(t.Context(), obs.ID, r, []string{"deletionProtection"}); err != nil {
		t.Fatal(err)
	}
	wantIn(t, "after Update", ddbView(c)(t, obs.ID), view{"DeletionProtection": "false"})
	if err := p.Delete(t.Context(), obs.ID, r); err != nil {
		t.Fatal(err)
	}
}

// TestDynamoDBOutputs: every output the schema declares is filled from DynamoDB; streamArn
// only while the table has a stream.
func TestDynamoDBOutputs(t *testing.T) {
	p := newProvider(t)
	c := ddbClient(t)
	spec := ddbBase()
	spec["stream"] = map[string]any{"enabled": true, "viewType": "KEYS_ONLY"}
	r := component("DynamoDB", unique("out"), "", spec)
	obs := deploy(t, p, r)
	out, err := c.DescribeTable(t.Context(), &dynamodb.DescribeTableInput{TableName: aws.String(obs.ID)})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"tableName": obs.ID, "arn": aws.ToString(out.Table.TableArn), "streamArn": aws.ToString(out.Table.LatestStreamArn)}
	for k, v := range want {
		if v == "" || obs.Outputs[k] != v {
			t.Errorf("output %s = %q, want %q", k, obs.Outputs[k], v)
		}
	}
	delete(r.Spec, "stream")
	updated, err := p.Update(t.Context(), obs.ID, r, []string{"stream"})
	if err != nil {
		t.Fatal(err)
	}
	if updated.Outputs["streamArn"] != "" {
		t.Errorf("streamArn of a table whose stream is off: %q", updated.Outputs["streamArn"])
	}
}
