package schema

import (
	"fmt"
	"strings"
	"testing"
)

// kmsKinds are kinds of both families that take a KMS key, each as a valid document with the
// key at %s (double-quoted).
var kmsKinds = map[string]string{
	"SQS":      "kind: SQS\nmetadata: {name: q, service: data}\nspec:\n  encryption: {kmsKey: %q}\n",
	"SNS":      "kind: SNS\nmetadata: {name: t, service: data}\nspec:\n  kmsKey: %q\n",
	"MSK":      "kind: MSK\nmetadata: {name: k, service: data}\nspec:\n  kafkaVersion: 3.7.x\n  brokerNodes: 3\n  instanceType: kafka.m7g.large\n  storageGiB: 100\n  kmsKey: %q\n",
	"RDS":      "kind: RDS\nmetadata: {name: db, service: data}\nspec:\n  engine: postgres\n  managePassword: true\n  kmsKey: %q\n",
	"DynamoDB": "kind: DynamoDB\nmetadata: {name: tbl, service: data}\nspec:\n  attributes: [{name: pk, type: S}]\n  hashKey: pk\n  kmsKey: %q\n",
	"S3":       "kind: S3\nmetadata: {name: bucket, service: data}\nspec:\n  encryption: {type: SSE-KMS, kmsKey: %q}\n",
}

// TestKMSKeyRuleIsOne: every kind that takes a KMS key accepts and refuses the same keys, by
// AWS's rules for a key identifier (see kmsKeyRe).
func TestKMSKeyRuleIsOne(t *testing.T) {
	const (
		uuid = "1234abcd-12ab-34cd-56ef-1234567890ab"
		mrk  = "mrk-1234abcd12ab34cd56ef1234567890ab"
		arn  = "arn:aws:kms:eu-west-1:123456789012:"
	)
	alias256 := "alias/" + strings.Repeat("a", 250)
	alias257 := "alias/" + strings.Repeat("a", 251)
	tests := []struct {
		key string
		ok  bool
	}{
		{uuid, true},
		{mrk, true},
		{arn + "key/" + uuid, true},
		{arn + "key/" + mrk, true},
		{"arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/" + uuid, true},
		{"arn:aws-cn:kms:cn-north-1:123456789012:alias/shop", true},
		{"alias/shop", true},
		{"alias/team_a/shop-DB-2", true},
		{"alias/aws/sqs", true}, // an AWS managed key: referenced, never created
		{alias256, true},
		{arn + alias256, true},

		{alias257, false}, // alias names are at most 256 characters, "alias/" included
		{arn + alias257, false},
		{"alias/", false},
		{"alias/shop.db", false},
		{"shop", false},
		{"mrk-1234", false},
		{"mrk-" + uuid, false}, // multi-Region key IDs are 32 hex digits without dashes
		{arn + "key/mrk-" + uuid, false},
		{arn + "key/1234abcd12ab34cd56ef1234567890ab", false},
		{arn + "key/", false},
		{"arn:aws:kms:eu-west-1:12345678901:key/" + uuid, false},
		{"arn:aws:s3:::bucket", false},
		{"key/" + uuid, false},
		{uuid + " ", false},
	}
	for _, tc := range tests {
		name := tc.key
		if len(name) > 40 {
			name = fmt.Sprintf("%s...(%d)", name[:40], len(tc.key))
		}
		t.Run(name, func(t *testing.T) {
			accepted := map[string]bool{}
			for kind, doc := range kmsKinds {
				diags := diagsFor(t, "apiVersion: panka.io/v1\n"+fmt.Sprintf(doc, tc.key))
				refused := false
				for _, d := range diags {
					if strings.Contains(d, "is not a KMS key") {
						refused = true
					} else if strings.Contains(d, "error") {
						t.Errorf("%s: unrelated error: %s", kind, d)
					}
				}
				accepted[kind] = !refused
			}
			for kind, ok := range accepted {
				if ok != tc.ok {
					t.Errorf("%s accepts it: %v, want %v (all kinds: %v)", kind, ok, tc.ok, accepted)
				}
			}
		})
	}
}
