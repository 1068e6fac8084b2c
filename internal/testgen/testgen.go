// Package testgen generates large, valid Panka configs for benchmarks and load tests: mixed
// kinds, dependsOn chains across groups, output references within a group, and service-level
// dependencies.
package testgen

import (
	"fmt"
	"strings"
)

// Config returns one multi-document YAML config with a stack, services services and perService
// components in each (rounded down to a multiple of 10: components come in groups of ten
// kinds). Service i depends on service i-1 when i is a multiple of 10, and each group's
// MicroService depends on the previous group's, so the graph has long chains as well as width.
func Config(services, perService int) []byte {
	var b strings.Builder
	b.Grow(services * perService * 220)
	b.WriteString(`apiVersion: panka.io/v1
kind: Stack
metadata: {name: bench}
spec:
  provider: {name: aws, region: eu-west-1}
  variables: {TAG: "1.0", LOG_LEVEL: info}
`)
	for s := range services {
		svc := fmt.Sprintf("s%03d", s)
		dep := ""
		if s > 0 && s%10 == 0 {
			dep = fmt.Sprintf(", dependsOn: [s%03d]", s-1)
		}
		fmt.Fprintf(&b, `---
apiVersion: panka.io/v1
kind: Service
metadata: {name: %s}
spec: {variables: {LOG: "${LOG_LEVEL}"}%s}
`, svc, dep)
		for g := range perService / 10 {
			writeGroup(&b, svc, g)
		}
	}
	return []byte(b.String())
}

// Components returns how many components Config(services, perService) generates.
func Components(services, perService int) int { return services * (perService / 10) * 10 }

func writeGroup(b *strings.Builder, svc string, g int) {
	doc := func(kind, name, spec string) {
		fmt.Fprintf(b, "---\napiVersion: panka.io/v1\nkind: %s\nmetadata: {name: %s%d, service: %s}\nspec:\n%s", kind, name, g, svc, spec)
	}
	doc("SQS", "dlq", "  messageRetention: 1209600\n")
	doc("SQS", "q", fmt.Sprintf("  visibilityTimeout: 60\n  deadLetterQueue: {target: dlq%d, maxReceiveCount: 5}\n", g))
	doc("S3", "b", "  versioning: true\n  lifecycleRules:\n    - id: archive\n      transitions: [{days: 30, storageClass: STANDARD_IA}, {days: 90, storageClass: GLACIER}]\n      expiration: {days: 365}\n")
	doc("DynamoDB", "t", "  attributes: [{name: pk, type: S}, {name: sk, type: S}]\n  hashKey: pk\n  rangeKey: sk\n  ttl: {attribute: expiresAt}\n")
	chain := ""
	if g > 0 {
		chain = fmt.Sprintf("  dependsOn: [web%d]\n", g-1)
	}
	doc("MicroService", "web", fmt.Sprintf(`  image: "app:${TAG}"
  cpu: 512
  memory: 1024
  ports: [{name: http, port: 8080}]
  env:
    QUEUE_URL: ${q%[1]d.queueUrl}
    BUCKET: ${b%[1]d.bucketName}
    TABLE: ${t%[1]d.tableName}
    LOG_LEVEL: ${%[2]s.LOG}
%[3]s`, g, svc, chain))
	doc("Worker", "wk", fmt.Sprintf("  image: \"worker:${TAG}\"\n  env: {QUEUE_URL: \"${q%d.queueUrl}\"}\n", g))
	doc("Lambda", "fn", fmt.Sprintf("  runtime: python3.12\n  handler: app.handler\n  code: {s3Bucket: artifacts, s3Key: fn.zip}\n  eventSources: [{queue: q%d, batchSize: 10}]\n", g))
	doc("SNS", "tp", fmt.Sprintf("  subscriptions: [{protocol: sqs, target: q%d}]\n", g))
	doc("CronJob", "cj", "  image: \"jobs:${TAG}\"\n  schedule: rate(5 minutes)\n")
	doc("RDS", "db", "  engine: postgres\n  engineVersion: \"16.4\"\n  instanceClass: db.t4g.micro\n  allocatedStorage: 20\n  managePassword: true\n")
}
