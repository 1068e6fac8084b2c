package schema

import (
	"strings"
	"testing"
)

func TestSQSRules(t *testing.T) { runRuleCases(t, msgSQSCases) }

var msgSQSCases = []ruleCase{
	{name: "valid FIFO and standard queues with dead-letter queues", docs: `apiVersion: panka.io/v1
kind: SQS
metadata: {name: orders, service: api}
spec:
  fifo: true
  contentBasedDeduplication: true
  visibilityTimeout: 60
  deadLetterQueue: {target: orders-dlq, maxReceiveCount: 5}
---
apiVersion: panka.io/v1
kind: SQS
metadata: {name: orders-dlq, service: api}
spec: {fifo: true}
---
apiVersion: panka.io/v1
kind: SQS
metadata: {name: jobs, service: data}
spec:
  receiveWaitTime: 20
  maxMessageSize: 1048576
  encryption: {kmsKey: alias/shop, dataKeyReusePeriod: 600}
  deadLetterQueue: {target: api/jobs-dlq}
---
apiVersion: panka.io/v1
kind: SQS
metadata: {name: jobs-dlq, service: api}
spec: {messageRetention: 1209600}
---
apiVersion: panka.io/v1
kind: Worker
metadata: {name: consumer, service: api}
spec:
  image: busybox
  env: {QUEUE_URL: "${orders.queueUrl}", QUEUE_NAME: "${data.jobs.queueName}", ARN: "${orders.arn}"}
`},
	{name: "ranges", docs: `apiVersion: panka.io/v1
kind: SQS
metadata: {name: q, service: api}
spec:
  visibilityTimeout: 43201
  messageRetention: 59
  delay: 901
  maxMessageSize: 1023
  receiveWaitTime: 21
  deadLetterQueue: {target: dlq, maxReceiveCount: 0}
---
apiVersion: panka.io/v1
kind: SQS
metadata: {name: dlq, service: api}
spec: {messageRetention: 1209600}
`, want: []string{
		"5:22: error: spec.visibilityTimeout must be between 0 and 43200, not 43201",
		"6:21: error: spec.messageRetention must be between 60 and 1209600, not 59",
		"7:10: error: spec.delay must be between 0 and 900, not 901",
		"8:19: error: spec.maxMessageSize must be between 1024 and 1048576, not 1023",
		"9:20: error: spec.receiveWaitTime must be between 0 and 20, not 21",
		"10:51: error: spec.deadLetterQueue.maxReceiveCount must be between 1 and 1000, not 0",
	}},
	{name: "content-based deduplication needs FIFO", docs: `apiVersion: panka.io/v1
kind: SQS
metadata: {name: q, service: api}
spec: {contentBasedDeduplication: true}
`, want: []string{"4:35: error: spec.contentBasedDeduplication is only for FIFO queues"}},
	{name: "dead-letter queue must match FIFO-ness", docs: `apiVersion: panka.io/v1
kind: SQS
metadata: {name: std, service: api}
spec: {deadLetterQueue: {target: fifodlq}}
---
apiVersion: panka.io/v1
kind: SQS
metadata: {name: fifo, service: api}
spec: {fifo: true, deadLetterQueue: {target: stddlq}}
---
apiVersion: panka.io/v1
kind: SQS
metadata: {name: fifodlq, service: api}
spec: {fifo: true}
---
apiVersion: panka.io/v1
kind: SQS
metadata: {name: stddlq, service: api}
spec: {messageRetention: 1209600}
`, want: []string{
		"4:34: error: the dead-letter queue of a standard queue must be a standard queue, and api/fifodlq is a FIFO queue",
		"9:46: error: the dead-letter queue of a FIFO queue must be a FIFO queue too, and api/stddlq is a standard queue",
	}},
	{name: "dead-letter queue must exist, be an SQS and not itself", docs: `apiVersion: panka.io/v1
kind: SQS
metadata: {name: a, service: api}
spec: {deadLetterQueue: {target: a}}
---
apiVersion: panka.io/v1
kind: SQS
metadata: {name: b, service: api}
spec: {deadLetterQueue: {target: topic}}
---
apiVersion: panka.io/v1
kind: SQS
metadata: {name: c, service: api}
spec: {deadLetterQueue: {target: data/nope}}
---
apiVersion: panka.io/v1
kind: SNS
metadata: {name: topic, service: api}
`, want: []string{
		"4:34: error: spec.deadLetterQueue.target refers to the component itself",
		"9:34: error: spec.deadLetterQueue.target refers to api/topic, an SNS; it must be an SQS",
		`14:34: error: spec.deadLetterQueue.target refers to unknown component "nope" in service data`,
	}},
	{name: "dead-letter queue should keep messages longer", docs: `apiVersion: panka.io/v1
kind: SQS
metadata: {name: q, service: api}
spec: {deadLetterQueue: {target: dlq}}
---
apiVersion: panka.io/v1
kind: SQS
metadata: {name: dlq, service: api}
`, want: []string{"4:34: warning: dead-letter queue api/dlq keeps messages for 345600s, not longer than this queue (345600s)"}},
	{name: "name ending in -fifo", docs: `apiVersion: panka.io/v1
kind: SQS
metadata: {name: orders-fifo, service: api}
spec: {fifo: true}
---
apiVersion: panka.io/v1
kind: SQS
metadata: {name: jobs-fifo, service: api}
spec:
  delay: 5
`, want: []string{
		`3:18: error: component name "orders-fifo" ends in -fifo, but Panka appends .fifo to a FIFO queue's physical name itself`,
		`8:18: error: component name "jobs-fifo" ends in -fifo, but this is a standard queue; set spec.fifo: true`,
	}},
	{name: "the .fifo suffix counts against the name limit", docs: `apiVersion: panka.io/v1
kind: SQS
metadata: {name: ` + strings.Repeat("q", 63) + `, service: api}
spec: {fifo: true}
---
apiVersion: panka.io/v1
kind: SQS
metadata: {name: ` + strings.Repeat("s", 63) + `, service: api}
`, want: []string{`3:18: error: physical name "shop-default-api-` + strings.Repeat("q", 63) + `.fifo" is 85 characters, over the 80-character limit for an SQS queue name`}},
	{name: "encryption", docs: `apiVersion: panka.io/v1
kind: SQS
metadata: {name: q, service: api}
spec:
  encryption: {kmsKey: my-key}
---
apiVersion: panka.io/v1
kind: SQS
metadata: {name: r, service: api}
spec:
  encryption: {dataKeyReusePeriod: 60}
`, want: []string{
		`5:24: error: spec.encryption.kmsKey "my-key" is not a KMS key`,
		"11:36: error: spec.encryption.dataKeyReusePeriod applies only to SSE-KMS",
	}},
}

func TestSNSRules(t *testing.T) { runRuleCases(t, msgSNSCases) }

// msgFunction is a Lambda component "fn" and an S3 component "logs" in service api, for the
// cases that target them.
const msgFunction = `---
apiVersion: panka.io/v1
kind: Lambda
metadata: {name: fn, service: api}
spec: {runtime: python3.12, handler: app.handler, code: {path: ./fn}}
---
apiVersion: panka.io/v1
kind: S3
metadata: {name: logs, service: api}
`

var msgSNSCases = []ruleCase{
	{name: "valid standard and FIFO topics", docs: `apiVersion: panka.io/v1
kind: SNS
metadata: {name: events, service: api}
spec:
  displayName: Shop
  kmsKey: arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab
  subscriptions:
    - {protocol: sqs, target: jobs, rawMessageDelivery: true, filterPolicy: {store: [example_corp], price: [{numeric: [">", 0]}]}}
    - {protocol: https, endpoint: "https://hooks.example.com/shop"}
    - {protocol: email, endpoint: ops@example.com}
    - {protocol: sms, endpoint: "+14155550100"}
    - {protocol: lambda, endpoint: "arn:aws:lambda:eu-west-1:123456789012:function:audit"}
    - {protocol: sqs, endpoint: "arn:aws:sqs:eu-west-1:123456789012:external"}
    - protocol: sqs
      target: jobs
      filterPolicyScope: MessageBody
      filterPolicy: {order: {status: [paid, shipped]}}
---
apiVersion: panka.io/v1
kind: SNS
metadata: {name: ordered, service: api}
spec:
  fifo: true
  contentBasedDeduplication: true
  subscriptions:
    - {protocol: sqs, target: orders}
    - {protocol: sqs, target: jobs}
---
apiVersion: panka.io/v1
kind: SQS
metadata: {name: jobs, service: api}
---
apiVersion: panka.io/v1
kind: SQS
metadata: {name: orders, service: api}
spec: {fifo: true}
---
apiVersion: panka.io/v1
kind: Worker
metadata: {name: publisher, service: api}
spec:
  image: busybox
  env: {TOPIC: "${events.topicArn}", NAME: "${ordered.topicName}"}
`},
	{name: "valid Lambda target", docs: `apiVersion: panka.io/v1
kind: SNS
metadata: {name: events, service: api}
spec:
  subscriptions: [{protocol: lambda, target: fn}]
` + msgFunction},
	{name: "protocol", docs: `apiVersion: panka.io/v1
kind: SNS
metadata: {name: t, service: api}
spec:
  subscriptions:
    - {protocol: htps, endpoint: "https://x.example.com"}
`, want: []string{`6:18: error: spec.subscriptions[0].protocol: "htps" is not allowed; did you mean "https"?`}},
	{name: "endpoint formats", docs: `apiVersion: panka.io/v1
kind: SNS
metadata: {name: t, service: api}
spec:
  subscriptions:
    - {protocol: https, endpoint: "http://x.example.com"}
    - {protocol: http, endpoint: "x.example.com"}
    - {protocol: email, endpoint: ops}
    - {protocol: sms, endpoint: "0155550100"}
    - {protocol: sqs, endpoint: "queue"}
    - {protocol: lambda, endpoint: "arn:aws:lambda:eu-west-1:123456789012:audit"}
    - {protocol: firehose, endpoint: "stream"}
    - {protocol: application, endpoint: "device"}
    - {protocol: email-json, endpoint: "${TAG}"}
`, want: []string{
		`6:36: error: an https subscription endpoint must be a URL starting with https://, not "http://x.example.com"`,
		`7:35: error: an http subscription endpoint must be a URL starting with http://`,
		`8:35: error: an email subscription endpoint must be an email address, not "ops"`,
		`9:34: error: an sms subscription endpoint must be a phone number in E.164 form`,
		`10:34: error: an sqs subscription endpoint must be a queue ARN`,
		`11:37: error: a lambda subscription endpoint must be a function ARN`,
		`12:39: error: a firehose subscription endpoint must be a delivery stream ARN`,
		`13:42: error: an application subscription endpoint must be an SNS platform endpoint ARN`,
	}},
	{name: "exactly one of endpoint and target", docs: `apiVersion: panka.io/v1
kind: SNS
metadata: {name: t, service: api}
spec:
  subscriptions:
    - {protocol: sqs, target: q, endpoint: "arn:aws:sqs:eu-west-1:123456789012:q"}
    - {protocol: lambda}
    - {protocol: email}
---
apiVersion: panka.io/v1
kind: SQS
metadata: {name: q, service: api}
`, want: []string{
		"6:31: error: a subscription takes either endpoint or target, not both",
		"7:7: error: the lambda subscription needs a destination: add target (a component) or endpoint (an ARN)",
		"8:7: error: the email subscription needs a destination: add endpoint",
	}},
	{name: "target kinds", docs: `apiVersion: panka.io/v1
kind: SNS
metadata: {name: t, service: api}
spec:
  subscriptions:
    - {protocol: https, target: q}
    - {protocol: sqs, target: t2}
    - {protocol: lambda, target: q}
---
apiVersion: panka.io/v1
kind: SQS
metadata: {name: q, service: api}
---
apiVersion: panka.io/v1
kind: SNS
metadata: {name: t2, service: api}
`, want: []string{
		"6:33: error: target names a Panka component and works only for sqs and lambda subscriptions; for protocol https, write endpoint",
		"7:31: error: spec.subscriptions[1].target refers to api/t2, an SNS; it must be an SQS",
		"8:34: error: spec.subscriptions[2].target refers to api/q, an SQS; it must be a Lambda",
	}},
	{name: "raw message delivery", docs: `apiVersion: panka.io/v1
kind: SNS
metadata: {name: t, service: api}
spec:
  subscriptions:
    - {protocol: email, endpoint: ops@example.com, rawMessageDelivery: true}
`, want: []string{"6:72: error: raw message delivery is only for sqs, http, https and firehose subscriptions, not email"}},
	{name: "FIFO topics and FIFO queues", docs: `apiVersion: panka.io/v1
kind: SNS
metadata: {name: ordered, service: api}
spec:
  fifo: true
  subscriptions:
    - {protocol: lambda, endpoint: "arn:aws:lambda:eu-west-1:123456789012:function:f"}
---
apiVersion: panka.io/v1
kind: SNS
metadata: {name: plain, service: api}
spec:
  contentBasedDeduplication: true
  subscriptions:
    - {protocol: sqs, target: orders}
    - {protocol: sqs, endpoint: "arn:aws:sqs:eu-west-1:123456789012:ext.fifo"}
---
apiVersion: panka.io/v1
kind: SQS
metadata: {name: orders, service: api}
spec: {fifo: true}
`, want: []string{
		"7:18: error: a FIFO topic delivers only to SQS queues, not over lambda",
		"13:30: error: spec.contentBasedDeduplication is only for FIFO topics",
		"15:31: error: api/orders is a FIFO queue, and only FIFO topics deliver to FIFO queues",
		`16:34: error: "arn:aws:sqs:eu-west-1:123456789012:ext.fifo" is a FIFO queue, and only FIFO topics deliver to FIFO queues`,
	}},
	{name: "display name, KMS key and -fifo name", docs: `apiVersion: panka.io/v1
kind: SNS
metadata: {name: t-fifo, service: api}
spec:
  displayName: ` + strings.Repeat("x", 101) + `
  kmsKey: "arn:aws:kms:eu-west-1:123456789012:alias/"
`, want: []string{
		`3:18: error: component name "t-fifo" ends in -fifo, but this is a standard topic`,
		"5:16: error: spec.displayName is 101 characters; SNS allows at most 100",
		`6:12: error: spec.kmsKey "arn:aws:kms:eu-west-1:123456789012:alias/" is not a KMS key`,
	}},
	{name: "filter policies", docs: `apiVersion: panka.io/v1
kind: SNS
metadata: {name: t, service: api}
spec:
  subscriptions:
    - protocol: email
      endpoint: ops@example.com
      filterPolicy: {store: example_corp, order: {status: [paid]}, empty: []}
    - protocol: email
      endpoint: ops@example.com
      filterPolicy: {a: [1], b: [1], c: [1], d: [1], e: [1], f: [1]}
    - protocol: email
      endpoint: ops@example.com
      filterPolicy: {a: [1, 2, 3, 4, 5, 6], b: [1, 2, 3, 4, 5], c: [1, 2, 3, 4, 5, 6]}
    - protocol: email
      endpoint: ops@example.com
      filterPolicyScope: Body
    - {protocol: email, endpoint: ops@example.com, filterPolicy: {}}
`, want: []string{
		`8:29: error: the value of store must be a list of values to match, like store: ["example_corp"]`,
		`8:50: error: order is an object, but a filter policy on message attributes cannot nest; set filterPolicyScope: MessageBody`,
		`8:75: error: empty is an empty list, which matches nothing`,
		"11:21: error: the filter policy has 6 keys; SNS allows at most 5",
		"14:21: error: the filter policy has 180 combinations of values (the product of its list lengths); SNS allows at most 150",
		`17:26: error: spec.subscriptions[3].filterPolicyScope: "Body" is not allowed; expected one of: MessageAttributes, MessageBody`,
		"18:66: error: the filter policy is empty",
	}},
}

func TestMSKRules(t *testing.T) { runRuleCases(t, msgMSKCases) }

var msgMSKCases = []ruleCase{
	{name: "valid provisioned and serverless clusters", docs: `apiVersion: panka.io/v1
kind: MSK
metadata: {name: events, service: data}
spec:
  kafkaVersion: 3.7.x
  brokerNodes: 4
  availabilityZones: 2
  instanceType: kafka.m7g.xlarge
  storageGiB: 1000
  encryptionInTransit: TLS_PLAINTEXT
  kmsKey: alias/kafka
  authentication:
    iam: true
    scram: true
    tls: {certificateAuthorities: ["arn:aws:acm-pca:eu-west-1:123456789012:certificate-authority/11111111-2222-3333-4444-555555555555"]}
---
apiVersion: panka.io/v1
kind: MSK
metadata: {name: stream, service: data}
spec: {serverless: true}
---
apiVersion: panka.io/v1
kind: Worker
metadata: {name: consumer, service: data}
spec:
  image: busybox
  env: {BROKERS: "${events.bootstrapBrokersTls}", IAM: "${stream.bootstrapBrokersIam}", ZK: "${events.zookeeperConnect}"}
`},
	{name: "brokers, zones, instance type, storage and version", docs: `apiVersion: panka.io/v1
kind: MSK
metadata: {name: a, service: data}
spec:
  kafkaVersion: latest
  brokerNodes: 4
  instanceType: m5.large
  storageGiB: 16385
---
apiVersion: panka.io/v1
kind: MSK
metadata: {name: b, service: data}
spec: {availabilityZones: 4}
`, want: []string{
		`5:17: error: spec.kafkaVersion "latest" is not an MSK Kafka version`,
		"6:16: error: spec.brokerNodes must be a positive multiple of spec.availabilityZones (3), not 4",
		`7:17: error: spec.instanceType "m5.large" is not an MSK broker type`,
		"8:15: error: spec.storageGiB must be between 1 and 16384, not 16385",
		"13:27: error: spec.availabilityZones must be 2 or 3, not 4",
	}},
	{name: "authentication and encryption in transit", docs: `apiVersion: panka.io/v1
kind: MSK
metadata: {name: a, service: data}
spec:
  encryptionInTransit: PLAINTEXT
---
apiVersion: panka.io/v1
kind: MSK
metadata: {name: b, service: data}
spec:
  authentication: {iam: false}
  encryptionInTransit: SSL
---
apiVersion: panka.io/v1
kind: MSK
metadata: {name: c, service: data}
spec:
  encryptionInTransit: PLAINTEXT
  authentication: {iam: false, unauthenticated: true, tls: {certificateAuthorities: ["arn:aws:acm:eu-west-1:123456789012:certificate/x"]}}
`, want: []string{
		"5:24: error: IAM, SASL/SCRAM and TLS authentication need TLS between clients and brokers",
		"11:19: error: no client authentication is enabled",
		`12:24: error: spec.encryptionInTransit: "SSL" is not allowed`,
		"18:24: error: IAM, SASL/SCRAM and TLS authentication need TLS",
		`19:87: error: "arn:aws:acm:eu-west-1:123456789012:certificate/x" is not an ACM Private CA ARN`,
	}},
	{name: "serverless takes no capacity settings and IAM only", docs: `apiVersion: panka.io/v1
kind: MSK
metadata: {name: s, service: data}
spec:
  serverless: true
  brokerNodes: 3
  instanceType: kafka.m5.large
  encryptionInTransit: TLS_PLAINTEXT
  authentication: {scram: true}
`, want: []string{
		"6:16: error: MSK Serverless manages capacity, versions and encryption keys itself; remove spec.brokerNodes",
		"7:17: error: MSK Serverless manages capacity, versions and encryption keys itself; remove spec.instanceType",
		"8:24: error: MSK Serverless always uses TLS",
		"9:19: error: MSK Serverless supports IAM authentication only",
	}},
}

func TestKafkaRules(t *testing.T) { runRuleCases(t, msgKafkaCases) }

const msgClusters = `---
apiVersion: panka.io/v1
kind: MSK
metadata: {name: events, service: data}
spec: {brokerNodes: 2, availabilityZones: 2}
---
apiVersion: panka.io/v1
kind: MSK
metadata: {name: stream, service: data}
spec: {serverless: true}
`

var msgKafkaCases = []ruleCase{
	{name: "valid topics", docs: `apiVersion: panka.io/v1
kind: Kafka
metadata: {name: orders, service: data}
spec:
  cluster: events
  partitions: 12
  replicationFactor: 2
  retentionMs: -1
  cleanupPolicy: "compact,delete"
  config: {min.insync.replicas: "2", compression.type: zstd}
---
apiVersion: panka.io/v1
kind: Kafka
metadata: {name: clicks, service: api}
spec:
  cluster: data/stream
  config: {max.message.bytes: "2097152"}
---
apiVersion: panka.io/v1
kind: Worker
metadata: {name: consumer, service: data}
spec: {image: busybox, env: {TOPIC: "${orders.topicName}"}}
` + msgClusters},
	{name: "cluster is required and must be an MSK", docs: `apiVersion: panka.io/v1
kind: Kafka
metadata: {name: a, service: data}
spec: {partitions: 1}
---
apiVersion: panka.io/v1
kind: Kafka
metadata: {name: b, service: data}
spec: {cluster: a}
---
apiVersion: panka.io/v1
kind: Kafka
metadata: {name: c, service: data}
spec: {cluster: evnts}
` + msgClusters, want: []string{
		"4:7: error: cluster is required in spec",
		"9:17: error: spec.cluster refers to data/a, a Kafka; it must be an MSK",
		`14:17: error: spec.cluster refers to unknown component "evnts" in service data; did you mean "events"?`,
	}},
	{name: "ranges and policies", docs: `apiVersion: panka.io/v1
kind: Kafka
metadata: {name: a, service: data}
spec:
  cluster: events
  partitions: 0
  replicationFactor: 0
  retentionMs: 0
  cleanupPolicy: compacted
` + msgClusters, want: []string{
		"6:15: error: spec.partitions must be between 1 and 10000, not 0",
		"7:22: error: spec.replicationFactor must be at least 1, not 0",
		"8:16: error: spec.retentionMs must be -1 (keep forever) or at least 1, not 0",
		`9:18: error: spec.cleanupPolicy: "compacted" is not allowed; did you mean "compact"?`,
	}},
	{name: "replication factor is at most the cluster's brokers", docs: `apiVersion: panka.io/v1
kind: Kafka
metadata: {name: a, service: data}
spec: {cluster: events}
` + msgClusters, want: []string{"4:7: error: spec.replicationFactor 3 (the default) is more than the 2 brokers of cluster data/events; Kafka keeps each replica on a different broker, so set it to at most 2"}},
	{name: "config", docs: `apiVersion: panka.io/v1
kind: Kafka
metadata: {name: a, service: data}
spec:
  cluster: events
  replicationFactor: 2
  config: {retention.ms: "1000", Segment.Bytes: "1", min.insync.replicas: "3"}
---
apiVersion: panka.io/v1
kind: Kafka
metadata: {name: b, service: data}
spec:
  cluster: stream
  config: {segment.bytes: "1048576", retention.bytes: "-1"}
` + msgClusters, want: []string{
		"7:12: error: set retention.ms with spec.retentionMs, not in spec.config",
		`7:34: error: "Segment.Bytes" is not a Kafka topic config name`,
		`7:76: error: min.insync.replicas must be a whole number from 1 to the replication factor (2), not "3"`,
		"14:12: error: MSK Serverless does not let topics set segment.bytes",
	}},
}

func TestEventBridgeRules(t *testing.T) { runRuleCases(t, msgEventBridgeCases) }

const msgQueues = `---
apiVersion: panka.io/v1
kind: SQS
metadata: {name: q, service: api}
---
apiVersion: panka.io/v1
kind: SQS
metadata: {name: fq, service: api}
spec: {fifo: true}
---
apiVersion: panka.io/v1
kind: SNS
metadata: {name: t, service: api}
`

var msgEventBridgeCases = []ruleCase{
	{name: "valid custom and default buses", docs: `apiVersion: panka.io/v1
kind: EventBridge
metadata: {name: orders, service: api}
spec:
  archive: {retentionDays: 0}
  rules:
    - name: paid
      eventPattern:
        source: [shop.orders]
        detail-type: [OrderPaid]
        detail: {amount: [{numeric: [">", 100]}]}
      targets:
        - {target: q, input: '{"kind": "paid"}', deadLetterQueue: q}
        - {target: fq, messageGroupId: orders}
        - {target: t}
---
apiVersion: panka.io/v1
kind: EventBridge
metadata: {name: cron, service: api}
spec:
  bus: default
  rules:
    - name: hourly
      schedule: rate(1 hour)
      enabled: false
      targets: [{target: orders}]
---
apiVersion: panka.io/v1
kind: Worker
metadata: {name: w, service: api}
spec: {image: busybox, env: {BUS: "${orders.busName}", ARN: "${orders.busArn}"}}
` + msgQueues},
	{name: "valid Lambda target", docs: `apiVersion: panka.io/v1
kind: EventBridge
metadata: {name: b, service: api}
spec:
  rules: [{name: all, eventPattern: {source: [shop]}, targets: [{target: fn, deadLetterQueue: q}]}]
` + msgQueues + msgFunction},
	{name: "schedules only on the default bus", docs: `apiVersion: panka.io/v1
kind: EventBridge
metadata: {name: b, service: api}
spec:
  rules:
    - {name: tick, schedule: rate(5 minutes), targets: [{target: q}]}
    - {name: bad, schedule: "every hour", targets: [{target: q}]}
` + msgQueues, want: []string{
		"6:30: error: EventBridge runs scheduled rules only on the default event bus; set spec.bus: default",
		`7:30: error: spec.rules[1].schedule: "every hour" is not a schedule`,
	}},
	{name: "pattern or schedule", docs: `apiVersion: panka.io/v1
kind: EventBridge
metadata: {name: b, service: api}
spec:
  bus: default
  rules:
    - {name: both, eventPattern: {source: [a]}, schedule: rate(1 day), targets: [{target: q}]}
    - {name: neither, targets: [{target: q}]}
    - {name: empty, eventPattern: {}, targets: [{target: q}]}
    - {name: scalars, eventPattern: {source: a, detail: {x: []}}, targets: [{target: q}]}
` + msgQueues, want: []string{
		"7:59: error: a rule takes either eventPattern or schedule, not both",
		`8:7: error: rule "neither" needs an eventPattern or a schedule`,
		"9:35: error: the event pattern is empty",
		`10:46: error: the value of source must be a list of values to match, like source: ["a"]`,
		"10:61: error: x is an empty list, which matches nothing",
	}},
	{name: "rule names and bus", docs: `apiVersion: panka.io/v1
kind: EventBridge
metadata: {name: b, service: api}
spec:
  bus: custom
  archive: {retentionDays: -1}
  rules:
    - {name: r, eventPattern: {source: [a]}, targets: [{target: q}]}
    - {name: r, eventPattern: {source: [a]}, targets: [{target: q}]}
    - {name: "bad name", eventPattern: {source: [a]}, targets: [{target: q}]}
` + msgQueues, want: []string{
		`5:8: error: spec.bus is either omitted (a custom event bus named after the component) or "default" (the account's default bus), not "custom"`,
		"6:28: error: spec.archive.retentionDays must be 0 (keep forever) or more days, not -1",
		`9:14: error: duplicate rule name "r" (also rules[0])`,
		`10:15: error: rule name "bad name" must be 1 to 64 letters`,
	}},
	{name: "targets", docs: `apiVersion: panka.io/v1
kind: EventBridge
metadata: {name: b, service: api}
spec:
  rules:
    - name: none
      eventPattern: {source: [a]}
      targets: []
    - name: many
      eventPattern: {source: [a]}
      targets: [{target: q}, {target: q}, {target: q}, {target: q}, {target: q}, {target: t}]
    - name: kinds
      eventPattern: {source: [a]}
      targets:
        - {target: w}
        - {target: fq}
        - {target: q, messageGroupId: g, input: "{not json"}
        - {target: t, deadLetterQueue: fq}
---
apiVersion: panka.io/v1
kind: Worker
metadata: {name: w, service: api}
spec: {image: busybox}
` + msgQueues, want: []string{
		`8:16: error: rule "none" has 0 targets; an EventBridge rule takes 1 to 5`,
		`11:16: error: rule "many" has 6 targets`,
		"15:20: error: spec.rules[2].targets[0].target refers to api/w, a Worker; it must be one of SQS, SNS, Lambda, EventBridge",
		"16:20: error: api/fq is a FIFO queue; set messageGroupId on this target",
		"17:39: error: messageGroupId is only for FIFO SQS targets",
		"17:50: error: input must be JSON text",
		"18:40: error: api/fq is a FIFO queue; EventBridge dead-letter queues must be standard queues",
	}},
}
