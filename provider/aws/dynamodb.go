package aws

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/panka/panka/provider"
)

// DynamoDB: a table. Its physical ID is the table name. Every field of schema.DynamoDBSpec:
//
//	billingMode, readCapacity, writeCapacity   BillingMode and ProvisionedThroughput
//	attributes, hashKey, rangeKey              AttributeDefinitions and KeySchema (the keys are
//	                                           ForceNew; attributes follow the indexes)
//	globalIndexes                              GlobalSecondaryIndexes, changed one index per
//	                                           UpdateTable call as DynamoDB requires; an index whose
//	                                           keys or projection change is deleted and created again
//	localIndexes                               LocalSecondaryIndexes (create only; ForceNew)
//	ttl                                        UpdateTimeToLive
//	stream                                     StreamSpecification (a view type change turns the
//	                                           stream off and on again: a new stream ARN)
//	pointInTimeRecovery                        UpdateContinuousBackups
//	deletionProtection                         DeletionProtectionEnabled (Delete of a protected
//	                                           table fails, as DynamoDB refuses it)
//	tableClass                                 TableClass
//	kmsKey                                     SSESpecification KMS with the key; none: the AWS owned key
//
// Every change waits, under ctx, for the table and its indexes to be ACTIVE again.
//
// Outputs: tableName, streamArn ("" without a stream), arn.
//
// Unlike CreateQueue, CreateTable of an existing table fails (ResourceInUseException): two
// processes creating one table get one success and ErrAlreadyExists.
//
// Limits: kmsKey reads back as DynamoDB reports it (the key's ARN for a key given by alias or
// ID, in AWS), so write it as a key ARN; a ttl or stream that is present but disabled reads back
// as absent.

type dynamoKind struct {
	p *Provider
	c *dynamodb.Client
}

func newDynamoDB(p *Provider) kind { return &dynamoKind{p: p, c: dynamodb.NewFromConfig(p.cfg)} }

func (k *dynamoKind) lookup(ctx context.Context, name string) (string, error) {
	if _, err := k.c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}); err != nil {
		return "", err
	}
	return name, nil
}

// ddbIndex is a global or local index as the spec has it.
type ddbIndex struct {
	name, hashKey, rangeKey, projection string
	nonKey                              []string
	read, write                         int64
}

func ddbIndexes(spec map[string]any, key string) []ddbIndex {
	var out []ddbIndex
	for _, x := range specList(spec, key) {
		m, _ := x.(map[string]any)
		ix := ddbIndex{
			name: specString(m, "name"), hashKey: specString(m, "hashKey"), rangeKey: specString(m, "rangeKey"),
			projection: specString(m, "projection"), read: specInt(m, "readCapacity", 0), write: specInt(m, "writeCapacity", 0),
		}
		if ix.projection == "" {
			ix.projection = "ALL"
		}
		for _, a := range specList(m, "nonKeyAttributes") {
			if s, ok := a.(string); ok {
				ix.nonKey = append(ix.nonKey, s)
			}
		}
		out = append(out, ix)
	}
	return out
}

func keySchema(hash, rng string) []ddbtypes.KeySchemaElement {
	ks := []ddbtypes.KeySchemaElement{{AttributeName: aws.String(hash), KeyType: ddbtypes.KeyTypeHash}}
	if rng != "" {
		ks = append(ks, ddbtypes.KeySchemaElement{AttributeName: aws.String(rng), KeyType: ddbtypes.KeyTypeRange})
	}
	return ks
}

func (ix ddbIndex) projectionOf() *ddbtypes.Projection {
	p := &ddbtypes.Projection{ProjectionType: ddbtypes.ProjectionType(ix.projection)}
	if len(ix.nonKey) > 0 {
		p.NonKeyAttributes = ix.nonKey
	}
	return p
}

func provisioned(spec map[string]any) bool { return specString(spec, "billingMode") == "PROVISIONED" }

func throughput(read, write int64) *ddbtypes.ProvisionedThroughput {
	return &ddbtypes.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(read), WriteCapacityUnits: aws.Int64(write)}
}

func (ix ddbIndex) global(prov bool) ddbtypes.GlobalSecondaryIndex {
	g := ddbtypes.GlobalSecondaryIndex{IndexName: aws.String(ix.name), KeySchema: keySchema(ix.hashKey, ix.rangeKey), Projection: ix.projectionOf()}
	if prov {
		g.ProvisionedThroughput = throughput(ix.read, ix.write)
	}
	return g
}

func attributeDefinitions(spec map[string]any) []ddbtypes.AttributeDefinition {
	var out []ddbtypes.AttributeDefinition
	for _, x := range specList(spec, "attributes") {
		m, _ := x.(map[string]any)
		out = append(out, ddbtypes.AttributeDefinition{AttributeName: aws.String(specString(m, "name")), AttributeType: ddbtypes.ScalarAttributeType(specString(m, "type"))})
	}
	return out
}

func (k *dynamoKind) create(ctx context.Context, r provider.Resource) (string, error) {
	s := r.Spec
	prov := provisioned(s)
	in := &dynamodb.CreateTableInput{
		TableName:                 aws.String(r.Name),
		AttributeDefinitions:      attributeDefinitions(s),
		KeySchema:                 keySchema(specString(s, "hashKey"), specString(s, "rangeKey")),
		BillingMode:               ddbtypes.BillingModePayPerRequest,
		DeletionProtectionEnabled: aws.Bool(specBool(s, "deletionProtection")),
	}
	if prov {
		in.BillingMode = ddbtypes.BillingModeProvisioned
		in.ProvisionedThroughput = throughput(specInt(s, "readCapacity", 0), specInt(s, "writeCapacity", 0))
	}
	if c := specString(s, "tableClass"); c != "" {
		in.TableClass = ddbtypes.TableClass(c)
	}
	for _, ix := range ddbIndexes(s, "globalIndexes") {
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, ix.global(prov))
	}
	for _, ix := range ddbIndexes(s, "localIndexes") {
		in.LocalSecondaryIndexes = append(in.LocalSecondaryIndexes, ddbtypes.LocalSecondaryIndex{
			IndexName: aws.String(ix.name), KeySchema: keySchema(specString(s, "hashKey"), ix.rangeKey), Projection: ix.projectionOf(),
		})
	}
	if st := specMap(s, "stream"); specBool(st, "enabled") {
		in.StreamSpecification = &ddbtypes.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: ddbtypes.StreamViewType(specString(st, "viewType"))}
	}
	if key := specString(s, "kmsKey"); key != "" {
		in.SSESpecification = &ddbtypes.SSESpecification{Enabled: aws.Bool(true), SSEType: ddbtypes.SSETypeKms, KMSMasterKeyId: aws.String(key)}
	}
	for _, key := range slices.Sorted(maps.Keys(r.Tags)) {
		in.Tags = append(in.Tags, ddbtypes.Tag{Key: aws.String(key), Value: aws.String(r.Tags[key])})
	}
	if _, err := k.c.CreateTable(ctx, in); err != nil {
		var inUse *ddbtypes.ResourceInUseException
		if errors.As(err, &inUse) { // CreateTable's way of saying the table exists
			return "", fmt.Errorf("%w: %w", provider.ErrAlreadyExists, err)
		}
		return "", err
	}
	if err := k.waitActive(ctx, r.Name); err != nil {
		return "", err
	}
	// TTL and point-in-time recovery are set on an active table.
	if err := k.setTTL(ctx, r.Name, nil, specMap(s, "ttl")); err != nil {
		return "", err
	}
	if specBool(s, "pointInTimeRecovery") {
		if err := k.setPITR(ctx, r.Name, true); err != nil {
			return "", err
		}
	}
	return r.Name, nil
}

// waitActive polls, under ctx, until the table and every index of it are ACTIVE.
func (k *dynamoKind) waitActive(ctx context.Context, name string) error {
	err := waitFor(ctx, func(ctx context.Context) (bool, error) {
		out, err := k.c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
		if err != nil {
			return false, err
		}
		if out.Table.TableStatus != ddbtypes.TableStatusActive {
			return false, nil
		}
		for _, g := range out.Table.GlobalSecondaryIndexes {
			if g.IndexStatus != "" && g.IndexStatus != ddbtypes.IndexStatusActive {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("waiting for the table to be active: %w", err)
	}
	return nil
}

func (k *dynamoKind) setTTL(ctx context.Context, name string, have, want map[string]any) error {
	if reflect.DeepEqual(ttlOf(have), ttlOf(want)) {
		return nil
	}
	update := func(enabled bool, attr string) error {
		_, err := k.c.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{TableName: aws.String(name),
			TimeToLiveSpecification: &ddbtypes.TimeToLiveSpecification{Enabled: aws.Bool(enabled), AttributeName: aws.String(attr)}})
		if err != nil {
			return fmt.Errorf("ttl: %w", err)
		}
		return nil
	}
	if h := ttlOf(have); h != nil { // DynamoDB changes the attribute only by turning TTL off first
		if err := update(false, specString(h, "attribute")); err != nil {
			return err
		}
	}
	if w := ttlOf(want); w != nil {
		return update(true, specString(w, "attribute"))
	}
	return nil
}

// ttlOf returns the ttl field if it is enabled, else nil.
func ttlOf(m map[string]any) map[string]any {
	if !specBool(m, "enabled") {
		return nil
	}
	return map[string]any{"enabled": true, "attribute": specString(m, "attribute")}
}

func (k *dynamoKind) setPITR(ctx context.Context, name string, on bool) error {
	_, err := k.c.UpdateContinuousBackups(ctx, &dynamodb.UpdateContinuousBackupsInput{TableName: aws.String(name),
		PointInTimeRecoverySpecification: &ddbtypes.PointInTimeRecoverySpecification{PointInTimeRecoveryEnabled: aws.Bool(on)}})
	if err != nil {
		return fmt.Errorf("point-in-time recovery: %w", err)
	}
	return nil
}

func (k *dynamoKind) read(ctx context.Context, id string) (*live, error) {
	out, err := k.c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(id)})
	if err != nil {
		return nil, err
	}
	t := out.Table
	spec := map[string]any{"billingMode": "PROVISIONED", "tableClass": "STANDARD", "deletionProtection": aws.ToBool(t.DeletionProtectionEnabled)}
	if b := t.BillingModeSummary; b != nil && b.BillingMode != "" {
		spec["billingMode"] = string(b.BillingMode)
	}
	if c := t.TableClassSummary; c != nil && c.TableClass != "" {
		spec["tableClass"] = string(c.TableClass)
	}
	read, write := int64(0), int64(0)
	if pt := t.ProvisionedThroughput; pt != nil {
		read, write = aws.ToInt64(pt.ReadCapacityUnits), aws.ToInt64(pt.WriteCapacityUnits)
	}
	spec["readCapacity"], spec["writeCapacity"] = read, write
	var attrs []any
	for _, a := range t.AttributeDefinitions {
		attrs = append(attrs, map[string]any{"name": aws.ToString(a.AttributeName), "type": string(a.AttributeType)})
	}
	if attrs != nil {
		spec["attributes"] = attrs
	}
	keys := func(ks []ddbtypes.KeySchemaElement) (hash, rng string) {
		for _, e := range ks {
			if e.KeyType == ddbtypes.KeyTypeHash {
				hash = aws.ToString(e.AttributeName)
			} else {
				rng = aws.ToString(e.AttributeName)
			}
		}
		return hash, rng
	}
	hash, rng := keys(t.KeySchema)
	spec["hashKey"] = hash
	if rng != "" {
		spec["rangeKey"] = rng
	}
	projection := func(m map[string]any, p *ddbtypes.Projection) {
		m["projection"] = "ALL"
		if p == nil {
			return
		}
		m["projection"] = string(p.ProjectionType)
		if len(p.NonKeyAttributes) > 0 {
			var l []any
			for _, a := range p.NonKeyAttributes {
				l = append(l, a)
			}
			m["nonKeyAttributes"] = l
		}
	}
	var gsis []any
	for _, g := range t.GlobalSecondaryIndexes {
		h, r := keys(g.KeySchema)
		m := map[string]any{"name": aws.ToString(g.IndexName), "hashKey": h, "readCapacity": int64(0), "writeCapacity": int64(0)}
		if r != "" {
			m["rangeKey"] = r
		}
		if pt := g.ProvisionedThroughput; pt != nil {
			m["readCapacity"], m["writeCapacity"] = aws.ToInt64(pt.ReadCapacityUnits), aws.ToInt64(pt.WriteCapacityUnits)
		}
		projection(m, g.Projection)
		gsis = append(gsis, m)
	}
	if gsis != nil {
		spec["globalIndexes"] = gsis
	}
	var lsis []any
	for _, l := range t.LocalSecondaryIndexes {
		_, r := keys(l.KeySchema)
		m := map[string]any{"name": aws.ToString(l.IndexName), "rangeKey": r}
		projection(m, l.Projection)
		lsis = append(lsis, m)
	}
	if lsis != nil {
		spec["localIndexes"] = lsis
	}
	if st := t.StreamSpecification; st != nil && aws.ToBool(st.StreamEnabled) {
		spec["stream"] = map[string]any{"enabled": true, "viewType": string(st.StreamViewType)}
	}
	if sse := t.SSEDescription; sse != nil && sse.SSEType == ddbtypes.SSETypeKms && sse.Status != ddbtypes.SSEStatusDisabled {
		spec["kmsKey"] = aws.ToString(sse.KMSMasterKeyArn)
	}

	ttl, err := k.c.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(id)})
	if err != nil {
		return nil, fmt.Errorf("ttl: %w", err)
	}
	if d := ttl.TimeToLiveDescription; d != nil && (d.TimeToLiveStatus == ddbtypes.TimeToLiveStatusEnabled || d.TimeToLiveStatus == ddbtypes.TimeToLiveStatusEnabling) {
		spec["ttl"] = map[string]any{"enabled": true, "attribute": aws.ToString(d.AttributeName)}
	}
	cb, err := k.c.DescribeContinuousBackups(ctx, &dynamodb.DescribeContinuousBackupsInput{TableName: aws.String(id)})
	if err != nil {
		return nil, fmt.Errorf("point-in-time recovery: %w", err)
	}
	pitr := false
	if d := cb.ContinuousBackupsDescription; d != nil && d.PointInTimeRecoveryDescription != nil {
		pitr = d.PointInTimeRecoveryDescription.PointInTimeRecoveryStatus == ddbtypes.PointInTimeRecoveryStatusEnabled
	}
	spec["pointInTimeRecovery"] = pitr

	arn := aws.ToString(t.TableArn)
	streamARN := ""
	if spec["stream"] != nil { // DynamoDB keeps reporting a stream it turned off
		streamARN = aws.ToString(t.LatestStreamArn)
	}
	tags := map[string]string{}
	in := &dynamodb.ListTagsOfResourceInput{ResourceArn: aws.String(arn)}
	for {
		page, err := k.c.ListTagsOfResource(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("tags: %w", err)
		}
		for _, tag := range page.Tags {
			tags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
		}
		if page.NextToken == nil {
			break
		}
		in.NextToken = page.NextToken
	}
	return &live{
		obs: &provider.Observed{
			ID: id, Name: aws.ToString(t.TableName), ARN: arn, Spec: spec, Tags: tags,
			Outputs: map[string]string{"tableName": aws.ToString(t.TableName), "streamArn": streamARN, "arn": arn},
		},
		raw: spec,
	}, nil
}

func (k *dynamoKind) update(ctx context.Context, l *live, r provider.Resource) error {
	have, want := l.raw.(map[string]any), r.Spec
	name := aws.String(l.obs.ID)
	for _, f := range []string{"hashKey", "rangeKey"} {
		if specString(have, f) != specString(want, f) {
			return fmt.Errorf("%s cannot change in place (%q to %q): the table must be replaced", f, specString(have, f), specString(want, f))
		}
	}
	if !reflect.DeepEqual(ddbIndexes(have, "localIndexes"), ddbIndexes(want, "localIndexes")) {
		return fmt.Errorf("localIndexes cannot change in place: the table must be replaced")
	}
	// step makes one UpdateTable call and waits for the table to be active again.
	step := func(what string, in *dynamodb.UpdateTableInput) error {
		in.TableName = name
		if _, err := k.c.UpdateTable(ctx, in); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return k.waitActive(ctx, l.obs.ID)
	}
	prov := provisioned(want)
	if specString(have, "billingMode") != specString(want, "billingMode") ||
		prov && (specInt(have, "readCapacity", 0) != specInt(want, "readCapacity", 0) || specInt(have, "writeCapacity", 0) != specInt(want, "writeCapacity", 0)) {
		in := &dynamodb.UpdateTableInput{BillingMode: ddbtypes.BillingModePayPerRequest}
		if prov {
			in.BillingMode = ddbtypes.BillingModeProvisioned
			in.ProvisionedThroughput = throughput(specInt(want, "readCapacity", 0), specInt(want, "writeCapacity", 0))
			// Indexes of a table turning provisioned need their capacity in the same call.
			if !provisioned(have) {
				for _, ix := range ddbIndexes(want, "globalIndexes") {
					if slices.ContainsFunc(ddbIndexes(have, "globalIndexes"), func(h ddbIndex) bool { return h.name == ix.name }) {
						in.GlobalSecondaryIndexUpdates = append(in.GlobalSecondaryIndexUpdates, ddbtypes.GlobalSecondaryIndexUpdate{
							Update: &ddbtypes.UpdateGlobalSecondaryIndexAction{IndexName: aws.String(ix.name), ProvisionedThroughput: throughput(ix.read, ix.write)}})
					}
				}
			}
		}
		if err := step("billing mode", in); err != nil {
			return err
		}
	}
	if err := k.updateIndexes(ctx, step, have, want); err != nil {
		return err
	}
	if hs, ws := specMap(have, "stream"), specMap(want, "stream"); !reflect.DeepEqual(streamOf(hs), streamOf(ws)) {
		if streamOf(hs) != nil {
			if err := step("stream", &dynamodb.UpdateTableInput{StreamSpecification: &ddbtypes.StreamSpecification{StreamEnabled: aws.Bool(false)}}); err != nil {
				return err
			}
		}
		if w := streamOf(ws); w != nil {
			if err := step("stream", &dynamodb.UpdateTableInput{StreamSpecification: &ddbtypes.StreamSpecification{
				StreamEnabled: aws.Bool(true), StreamViewType: ddbtypes.StreamViewType(specString(w, "viewType"))}}); err != nil {
				return err
			}
		}
	}
	if hk, wk := specString(have, "kmsKey"), specString(want, "kmsKey"); hk != wk {
		sse := &ddbtypes.SSESpecification{Enabled: aws.Bool(false)}
		if wk != "" {
			sse = &ddbtypes.SSESpecification{Enabled: aws.Bool(true), SSEType: ddbtypes.SSETypeKms, KMSMasterKeyId: aws.String(wk)}
		}
		if err := step("kmsKey", &dynamodb.UpdateTableInput{SSESpecification: sse}); err != nil {
			return err
		}
	}
	if h, w := specBool(have, "deletionProtection"), specBool(want, "deletionProtection"); h != w {
		if err := step("deletion protection", &dynamodb.UpdateTableInput{DeletionProtectionEnabled: aws.Bool(w)}); err != nil {
			return err
		}
	}
	if h, w := specString(have, "tableClass"), specString(want, "tableClass"); w != "" && h != w {
		if err := step("table class", &dynamodb.UpdateTableInput{TableClass: ddbtypes.TableClass(w)}); err != nil {
			return err
		}
	}
	if err := k.setTTL(ctx, l.obs.ID, specMap(have, "ttl"), specMap(want, "ttl")); err != nil {
		return err
	}
	if h, w := specBool(have, "pointInTimeRecovery"), specBool(want, "pointInTimeRecovery"); h != w {
		return k.setPITR(ctx, l.obs.ID, w)
	}
	return nil
}

// streamOf returns the stream field if it is enabled, else nil.
func streamOf(m map[string]any) map[string]any {
	if !specBool(m, "enabled") {
		return nil
	}
	return map[string]any{"viewType": specString(m, "viewType")}
}

// updateIndexes deletes, creates and changes the capacity of global indexes, one per call.
func (k *dynamoKind) updateIndexes(_ context.Context, step func(string, *dynamodb.UpdateTableInput) error, have, want map[string]any) error {
	prov := provisioned(want)
	hs, ws := ddbIndexes(have, "globalIndexes"), ddbIndexes(want, "globalIndexes")
	find := func(l []ddbIndex, name string) (ddbIndex, bool) {
		i := slices.IndexFunc(l, func(x ddbIndex) bool { return x.name == name })
		if i < 0 {
			return ddbIndex{}, false
		}
		return l[i], true
	}
	// shape is what an index cannot change in place.
	shape := func(ix ddbIndex) ddbIndex { ix.read, ix.write = 0, 0; return ix }
	for _, h := range hs {
		if w, ok := find(ws, h.name); !ok || !reflect.DeepEqual(shape(h), shape(w)) {
			if err := step("deleting index "+h.name, &dynamodb.UpdateTableInput{GlobalSecondaryIndexUpdates: []ddbtypes.GlobalSecondaryIndexUpdate{
				{Delete: &ddbtypes.DeleteGlobalSecondaryIndexAction{IndexName: aws.String(h.name)}}}}); err != nil {
				return err
			}
		}
	}
	for _, w := range ws {
		h, ok := find(hs, w.name)
		switch {
		case !ok || !reflect.DeepEqual(shape(h), shape(w)):
			g := w.global(prov)
			create := &ddbtypes.CreateGlobalSecondaryIndexAction{IndexName: g.IndexName, KeySchema: g.KeySchema, Projection: g.Projection, ProvisionedThroughput: g.ProvisionedThroughput}
			if err := step("creating index "+w.name, &dynamodb.UpdateTableInput{AttributeDefinitions: attributeDefinitions(want),
				GlobalSecondaryIndexUpdates: []ddbtypes.GlobalSecondaryIndexUpdate{{Create: create}}}); err != nil {
				return err
			}
		case prov && (h.read != w.read || h.write != w.write) && provisioned(have):
			if err := step("index "+w.name+" capacity", &dynamodb.UpdateTableInput{GlobalSecondaryIndexUpdates: []ddbtypes.GlobalSecondaryIndexUpdate{
				{Update: &ddbtypes.UpdateGlobalSecondaryIndexAction{IndexName: aws.String(w.name), ProvisionedThroughput: throughput(w.read, w.write)}}}}); err != nil {
				return err
			}
		}
	}
	return nil
}

func (k *dynamoKind) tag(ctx context.Context, l *live, set map[string]string, remove []string) error {
	arn := aws.String(l.obs.ARN)
	if len(set) > 0 {
		var tags []ddbtypes.Tag
		for _, key := range slices.Sorted(maps.Keys(set)) {
			tags = append(tags, ddbtypes.Tag{Key: aws.String(key), Value: aws.String(set[key])})
		}
		if _, err := k.c.TagResource(ctx, &dynamodb.TagResourceInput{ResourceArn: arn, Tags: tags}); err != nil {
			return err
		}
	}
	if len(remove) > 0 {
		if _, err := k.c.UntagResource(ctx, &dynamodb.UntagResourceInput{ResourceArn: arn, TagKeys: remove}); err != nil {
			return err
		}
	}
	return nil
}

func (k *dynamoKind) delete(ctx context.Context, l *live) error {
	if specBool(l.obs.Spec, "deletionProtection") {
		return fmt.Errorf("the table has deletion protection: set deletionProtection: false and apply before deleting it")
	}
	_, err := k.c.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(l.obs.ID)})
	return err
}
