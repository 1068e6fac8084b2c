package schema

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/panka/panka/internal/interp"
)

// This file holds the messaging kinds: SQS queues, SNS topics, MSK clusters and their Kafka
// topics, and EventBridge buses with their rules.

// ---------------------------------------------------------------------------------------------
// SQS

// SQSSpec is an Amazon SQS queue. Durations are in seconds; sizes in bytes.
type SQSSpec struct {
	// FIFO makes a first-in-first-out queue; Panka appends ".fifo" to its physical name.
	FIFO                      bool                `yaml:"fifo" panka:"forcenew"`
	ContentBasedDeduplication bool                `yaml:"contentBasedDeduplication"` // FIFO only
	VisibilityTimeout         int                 `yaml:"visibilityTimeout"`         // 0–43200
	MessageRetention          int                 `yaml:"messageRetention"`          // 60–1209600
	Delay                     int                 `yaml:"delay"`                     // 0–900
	MaxMessageSize            int                 `yaml:"maxMessageSize"`            // 1024–1048576
	ReceiveWaitTime           int                 `yaml:"receiveWaitTime"`           // 0–20; >0 is long polling
	DeadLetterQueue           *SQSDeadLetterQueue `yaml:"deadLetterQueue"`
	Encryption                SQSEncryption       `yaml:"encryption"`
}

// SQSDeadLetterQueue is the queue's redrive policy: after MaxReceiveCount failed receives a
// message moves to Target, another SQS component of the same type (FIFO or standard).
type SQSDeadLetterQueue struct {
	Target          string `yaml:"target" panka:"required"`
	MaxReceiveCount int    `yaml:"maxReceiveCount"` // 1–1000
}

func (d *SQSDeadLetterQueue) SetDefaults() { d.MaxReceiveCount = 10 }

// SQSEncryption is server-side encryption: SSE-SQS (SQS-managed keys) unless KMSKey names a KMS
// key, in which case SSE-KMS is used.
type SQSEncryption struct {
	KMSKey string `yaml:"kmsKey"` // key ID, key ARN, alias/NAME or alias ARN
	// DataKeyReusePeriod is how long SQS reuses a data key before calling KMS again (60–86400 s);
	// only with KMSKey.
	DataKeyReusePeriod int `yaml:"dataKeyReusePeriod"`
}

func (e *SQSEncryption) SetDefaults() { e.DataKeyReusePeriod = 300 }

func (s *SQSSpec) SetDefaults() {
	*s = SQSSpec{VisibilityTimeout: 30, MessageRetention: 345600, MaxMessageSize: 262144}
	s.Encryption.SetDefaults()
}

// PhysicalNameSuffix implements nameSuffixer: AWS requires FIFO queue names to end in ".fifo".
func (s *SQSSpec) PhysicalNameSuffix() string {
	if s.FIFO {
		return ".fifo"
	}
	return ""
}

func (s *SQSSpec) Validate(c *Check) {
	msgCheckFIFOName(c, s.FIFO, "queue")
	if s.ContentBasedDeduplication && !s.FIFO {
		c.Errorf("contentBasedDeduplication", "spec.contentBasedDeduplication is only for FIFO queues; set spec.fifo: true or remove it")
	}
	c.Range("visibilityTimeout", s.VisibilityTimeout, 0, 43200)
	c.Range("messageRetention", s.MessageRetention, 60, 1209600)
	c.Range("delay", s.Delay, 0, 900)
	c.Range("maxMessageSize", s.MaxMessageSize, 1024, 1048576)
	c.Range("receiveWaitTime", s.ReceiveWaitTime, 0, 20)
	if enc := s.Encryption; enc.KMSKey != "" {
		checkKMSKey(c, "encryption.kmsKey", enc.KMSKey)
		c.Range("encryption.dataKeyReusePeriod", enc.DataKeyReusePeriod, 60, 86400)
	} else if c.Has("encryption.dataKeyReusePeriod") {
		c.Errorf("encryption.dataKeyReusePeriod", "spec.encryption.dataKeyReusePeriod applies only to SSE-KMS; set spec.encryption.kmsKey or remove it")
	}
	if d := s.DeadLetterQueue; d != nil {
		c.Range("deadLetterQueue.maxReceiveCount", d.MaxReceiveCount, 1, 1000)
		if d.Target == "" {
			return
		}
		target := c.Ref("deadLetterQueue.target", d.Target, "SQS")
		if target == nil {
			return
		}
		dlq, ok := target.Spec.(*SQSSpec)
		if !ok {
			return
		}
		switch {
		case s.FIFO && !dlq.FIFO:
			c.Errorf("deadLetterQueue.target", "the dead-letter queue of a FIFO queue must be a FIFO queue too, and %s is a standard queue; set fifo: true on it or pick a FIFO queue", target.Address())
		case !s.FIFO && dlq.FIFO:
			c.Errorf("deadLetterQueue.target", "the dead-letter queue of a standard queue must be a standard queue, and %s is a FIFO queue", target.Address())
		case !s.FIFO && dlq.MessageRetention <= s.MessageRetention:
			// A standard queue keeps a message's original enqueue time when it is moved.
			c.Warnf("deadLetterQueue.target", "dead-letter queue %s keeps messages for %ds, not longer than this queue (%ds): a message moved late loses the rest of its time; give the dead-letter queue a longer messageRetention (up to 1209600)",
				target.Address(), dlq.MessageRetention, s.MessageRetention)
		}
	}
}

// msgCheckFIFOName rejects a component name ending in "-fifo": Panka adds ".fifo" to the
// physical name of FIFO queues and topics itself, so the suffix either duplicates it or suggests a
// FIFO resource that is not one.
func msgCheckFIFOName(c *Check, fifo bool, what string) {
	name := c.Component().Name()
	if !strings.HasSuffix(name, "-fifo") {
		return
	}
	if fifo {
		c.NameErrorf("component name %q ends in -fifo, but Panka appends .fifo to a FIFO %s's physical name itself; drop the -fifo from metadata.name", name, what)
		return
	}
	c.NameErrorf("component name %q ends in -fifo, but this is a standard %s; set spec.fifo: true (Panka appends .fifo to the physical name) or rename it", name, what)
}

var (
	msgSQSArnRe      = regexp.MustCompile(`^arn:aws[a-z-]*:sqs:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,80}(\.fifo)?$`)
	msgLambdaArnRe   = regexp.MustCompile(`^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9$_-]{1,128})?$`)
	msgFirehoseArnRe = regexp.MustCompile(`^arn:aws[a-z-]*:firehose:[a-z0-9-]+:\d{12}:deliverystream/[A-Za-z0-9_.-]{1,64}$`)
	msgAppArnRe      = regexp.MustCompile(`^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:endpoint/\S+$`)
	msgEmailRe       = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
	msgE164Re        = regexp.MustCompile(`^\+[1-9]\d{1,14}$`)
)

// ---------------------------------------------------------------------------------------------
// SNS

// SNSSpec is an Amazon SNS topic and its subscriptions.
type SNSSpec struct {
	FIFO                      bool              `yaml:"fifo" panka:"forcenew"`
	ContentBasedDeduplication bool              `yaml:"contentBasedDeduplication"` // FIFO only
	DisplayName               string            `yaml:"displayName"`               // at most 100 characters; used as the SMS sender
	KMSKey                    string            `yaml:"kmsKey"`                    // server-side encryption key; none if empty
	Subscriptions             []SNSSubscription `yaml:"subscriptions"`
}

// SNSSubscription delivers the topic's messages to one endpoint: an external address (Endpoint)
// or a Panka component (Target: an SQS queue for protocol sqs, a Lambda for lambda).
type SNSSubscription struct {
	Protocol           string `yaml:"protocol" panka:"required"`
	Endpoint           string `yaml:"endpoint"`
	Target             string `yaml:"target"`
	RawMessageDelivery bool   `yaml:"rawMessageDelivery"` // sqs, http, https and firehose only
	// FilterPolicy selects the messages delivered, as an SNS filter policy; FilterPolicyScope
	// says whether it matches message attributes (the default) or the JSON message body.
	FilterPolicy      map[string]any `yaml:"filterPolicy"`
	FilterPolicyScope string         `yaml:"filterPolicyScope"`
}

func (s *SNSSubscription) SetDefaults() { s.FilterPolicyScope = "MessageAttributes" }

func (s *SNSSpec) PhysicalNameSuffix() string {
	if s.FIFO {
		return ".fifo"
	}
	return ""
}

var snsProtocols = []string{"sqs", "lambda", "https", "http", "email", "email-json", "sms", "application", "firehose"}

func (s *SNSSpec) Validate(c *Check) {
	msgCheckFIFOName(c, s.FIFO, "topic")
	if s.ContentBasedDeduplication && !s.FIFO {
		c.Errorf("contentBasedDeduplication", "spec.contentBasedDeduplication is only for FIFO topics; set spec.fifo: true or remove it")
	}
	if n := len(s.DisplayName); n > 100 {
		c.Errorf("displayName", "spec.displayName is %d characters; SNS allows at most 100", n)
	}
	checkKMSKey(c, "kmsKey", s.KMSKey)
	for i, sub := range s.Subscriptions {
		s.validateSubscription(c, fmt.Sprintf("subscriptions[%d]", i), sub)
	}
}

func (s *SNSSpec) validateSubscription(c *Check, field string, sub SNSSubscription) {
	if !c.OneOf(field+".protocol", sub.Protocol, snsProtocols...) {
		return
	}
	if s.FIFO && sub.Protocol != "sqs" {
		c.Errorf(field+".protocol", "a FIFO topic delivers only to SQS queues, not over %s; use a standard topic for this subscription", sub.Protocol)
	}
	if sub.RawMessageDelivery && !slices.Contains([]string{"sqs", "http", "https", "firehose"}, sub.Protocol) {
		c.Errorf(field+".rawMessageDelivery", "raw message delivery is only for sqs, http, https and firehose subscriptions, not %s", sub.Protocol)
	}
	switch {
	case sub.Endpoint != "" && sub.Target != "":
		c.Errorf(field+".target", "a subscription takes either endpoint or target, not both; remove one")
	case sub.Target != "":
		s.validateSubscriptionTarget(c, field, sub)
	case sub.Endpoint != "":
		s.validateSubscriptionEndpoint(c, field, sub)
	default:
		hint := "endpoint"
		if sub.Protocol == "sqs" || sub.Protocol == "lambda" {
			hint = "target (a component) or endpoint (an ARN)"
		}
		c.Errorf(field, "the %s subscription needs a destination: add %s", sub.Protocol, hint)
	}
	c.OneOf(field+".filterPolicyScope", sub.FilterPolicyScope, "MessageAttributes", "MessageBody")
	if c.Has(field+".filterPolicy") && len(sub.FilterPolicy) == 0 {
		c.Errorf(field+".filterPolicy", "the filter policy is empty; add a key, like store: [\"example_corp\"], or remove it")
	} else if len(sub.FilterPolicy) > 0 {
		keys, combos := msgCheckPattern(c, field+".filterPolicy", sub.FilterPolicy, sub.FilterPolicyScope == "MessageBody")
		switch {
		case keys > 5:
			c.Errorf(field+".filterPolicy", "the filter policy has %d keys; SNS allows at most 5", keys)
		case combos > 150:
			c.Errorf(field+".filterPolicy", "the filter policy has %d combinations of values (the product of its list lengths); SNS allows at most 150", combos)
		}
	}
}

func (s *SNSSpec) validateSubscriptionTarget(c *Check, field string, sub SNSSubscription) {
	var kind string
	switch sub.Protocol {
	case "sqs":
		kind = "SQS"
	case "lambda":
		kind = "Lambda"
	default:
		c.Errorf(field+".target", "target names a Panka component and works only for sqs and lambda subscriptions; for protocol %s, write endpoint", sub.Protocol)
		return
	}
	target := c.Ref(field+".target", sub.Target, kind)
	if target == nil {
		return
	}
	if q, ok := target.Spec.(*SQSSpec); ok && q.FIFO && !s.FIFO {
		c.Errorf(field+".target", "%s is a FIFO queue, and only FIFO topics deliver to FIFO queues; make this topic FIFO or subscribe a standard queue", target.Address())
	}
}

func (s *SNSSpec) validateSubscriptionEndpoint(c *Check, field string, sub SNSSubscription) {
	ep := sub.Endpoint
	if interp.HasRefs(ep) {
		return
	}
	f := field + ".endpoint"
	switch sub.Protocol {
	case "http", "https":
		u, err := url.Parse(ep)
		if err != nil || u.Scheme != sub.Protocol || u.Host == "" {
			c.Errorf(f, "an %s subscription endpoint must be a URL starting with %s://, not %q", sub.Protocol, sub.Protocol, ep)
		}
	case "email", "email-json":
		if !msgEmailRe.MatchString(ep) {
			c.Errorf(f, "an %s subscription endpoint must be an email address, not %q", sub.Protocol, ep)
		}
	case "sms":
		if !msgE164Re.MatchString(ep) {
			c.Errorf(f, "an sms subscription endpoint must be a phone number in E.164 form (+ country code and number, like +14155550100), not %q", ep)
		}
	case "sqs":
		if !msgSQSArnRe.MatchString(ep) {
			c.Errorf(f, "an sqs subscription endpoint must be a queue ARN (arn:aws:sqs:REGION:ACCOUNT:NAME), not %q; for a Panka queue write target instead", ep)
		} else if strings.HasSuffix(ep, ".fifo") && !s.FIFO {
			c.Errorf(f, "%q is a FIFO queue, and only FIFO topics deliver to FIFO queues", ep)
		}
	case "lambda":
		if !msgLambdaArnRe.MatchString(ep) {
			c.Errorf(f, "a lambda subscription endpoint must be a function ARN (arn:aws:lambda:REGION:ACCOUNT:function:NAME), not %q; for a Panka function write target instead", ep)
		}
	case "firehose":
		if !msgFirehoseArnRe.MatchString(ep) {
			c.Errorf(f, "a firehose subscription endpoint must be a delivery stream ARN (arn:aws:firehose:REGION:ACCOUNT:deliverystream/NAME), not %q", ep)
		}
	case "application":
		if !msgAppArnRe.MatchString(ep) {
			c.Errorf(f, "an application subscription endpoint must be an SNS platform endpoint ARN (arn:aws:sns:REGION:ACCOUNT:endpoint/...), not %q", ep)
		}
	}
}

// msgCheckPattern checks an SNS filter policy or EventBridge event pattern: every leaf must be a
// non-empty list of values to match, and nested objects are allowed only when nested is true. It
// returns the number of leaf keys and the number of value combinations (the product of the list
// lengths).
func msgCheckPattern(c *Check, field string, m map[string]any, nested bool) (keys, combos int) {
	combos = 1
	for _, k := range sortedKeys(m) {
		f := field + "." + k
		switch v := m[k].(type) {
		case []any:
			if len(v) == 0 {
				c.Errorf(f, "%s is an empty list, which matches nothing; list the values to match", k)
				continue
			}
			keys++
			combos *= len(v)
		case map[string]any:
			if !nested {
				c.Errorf(f, "%s is an object, but a filter policy on message attributes cannot nest; set filterPolicyScope: MessageBody to filter on the message body", k)
				continue
			}
			n, cb := msgCheckPattern(c, f, v, nested)
			keys += n
			combos *= cb
		default:
			c.Errorf(f, "the value of %s must be a list of values to match, like %s: [%s]", k, k, msgJSONScalar(v))
		}
	}
	return keys, combos
}

func msgJSONScalar(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return `"value"`
	}
	return string(b)
}

// ---------------------------------------------------------------------------------------------
// MSK

// MSKSpec is an Amazon MSK cluster: provisioned brokers, or MSK Serverless.
//
// Provisioned brokers are spread evenly over AvailabilityZones (2 or 3) client subnets, so
// BrokerNodes must be a multiple of it.
type MSKSpec struct {
	Serverless          bool   `yaml:"serverless" panka:"forcenew"`
	KafkaVersion        string `yaml:"kafkaVersion"`
	BrokerNodes         int    `yaml:"brokerNodes"`
	AvailabilityZones   int    `yaml:"availabilityZones" panka:"forcenew"`
	InstanceType        string `yaml:"instanceType"` // kafka.m5.large, kafka.m7g.xlarge, ...
	StorageGiB          int    `yaml:"storageGiB"`   // EBS storage per broker, 1–16384
	EncryptionInTransit string `yaml:"encryptionInTransit"`
	// KMSKey encrypts data at rest; empty means an AWS-managed key.
	KMSKey         string            `yaml:"kmsKey" panka:"forcenew"`
	Authentication MSKAuthentication `yaml:"authentication"`
}

// MSKAuthentication lists the client authentication methods the cluster accepts. IAM is on by
// default: writing another method adds it, and iam: false turns IAM off.
type MSKAuthentication struct {
	IAM             bool    `yaml:"iam"`
	SCRAM           bool    `yaml:"scram"` // SASL/SCRAM with secrets in Secrets Manager
	TLS             *MSKTLS `yaml:"tls"`   // mutual TLS
	Unauthenticated bool    `yaml:"unauthenticated"`
}

// MSKTLS is mutual TLS client authentication against ACM Private CA certificate authorities.
type MSKTLS struct {
	CertificateAuthorities []string `yaml:"certificateAuthorities" panka:"required"`
}

func (s *MSKSpec) SetDefaults() {
	*s = MSKSpec{
		KafkaVersion: "3.6.0", BrokerNodes: 3, AvailabilityZones: 3,
		InstanceType: "kafka.m5.large", StorageGiB: 100, EncryptionInTransit: "TLS",
		Authentication: MSKAuthentication{IAM: true},
	}
}

var (
	mskInstanceRe = regexp.MustCompile(`^kafka\.[a-z][a-z0-9]*\.[a-z0-9]+$`)
	mskVersionRe  = regexp.MustCompile(`^\d+\.\d+(\.\d+|\.x)(\.[a-z]+)*$`)
	mskPCAArnRe   = regexp.MustCompile(`^arn:aws[a-z-]*:acm-pca:[a-z0-9-]+:\d{12}:certificate-authority/[0-9a-f-]{36}$`)
)

func (s *MSKSpec) Validate(c *Check) {
	c.OneOf("encryptionInTransit", s.EncryptionInTransit, "TLS", "TLS_PLAINTEXT", "PLAINTEXT")
	a := s.Authentication
	if s.Serverless {
		for _, f := range []string{"kafkaVersion", "brokerNodes", "availabilityZones", "instanceType", "storageGiB", "kmsKey"} {
			if c.Has(f) {
				c.Errorf(f, "MSK Serverless manages capacity, versions and encryption keys itself; remove spec.%s or set serverless: false", f)
			}
		}
		if s.EncryptionInTransit != "TLS" && c.Has("encryptionInTransit") {
			c.Errorf("encryptionInTransit", "MSK Serverless always uses TLS between clients and brokers; remove spec.encryptionInTransit")
		}
		if !a.IAM || a.SCRAM || a.TLS != nil || a.Unauthenticated {
			c.Errorf("authentication", "MSK Serverless supports IAM authentication only; set authentication: {iam: true}")
		}
		return
	}
	if !mskVersionRe.MatchString(s.KafkaVersion) {
		c.Errorf("kafkaVersion", "spec.kafkaVersion %q is not an MSK Kafka version (like 3.6.0 or 3.7.x)", s.KafkaVersion)
	}
	if s.AvailabilityZones != 2 && s.AvailabilityZones != 3 {
		c.Errorf("availabilityZones", "spec.availabilityZones must be 2 or 3, not %d: MSK spreads brokers over two or three zones", s.AvailabilityZones)
	} else if s.BrokerNodes <= 0 || s.BrokerNodes%s.AvailabilityZones != 0 {
		c.Errorf("brokerNodes", "spec.brokerNodes must be a positive multiple of spec.availabilityZones (%d), not %d: MSK puts the same number of brokers in each zone",
			s.AvailabilityZones, s.BrokerNodes)
	}
	if !mskInstanceRe.MatchString(s.InstanceType) {
		c.Errorf("instanceType", "spec.instanceType %q is not an MSK broker type (like kafka.m5.large or kafka.m7g.xlarge)", s.InstanceType)
	}
	c.Range("storageGiB", s.StorageGiB, 1, 16384)
	checkKMSKey(c, "kmsKey", s.KMSKey)
	if !a.IAM && !a.SCRAM && a.TLS == nil && !a.Unauthenticated {
		c.Errorf("authentication", "no client authentication is enabled; enable iam, scram or tls, or set unauthenticated: true")
	}
	if s.EncryptionInTransit == "PLAINTEXT" && (a.IAM || a.SCRAM || a.TLS != nil) {
		c.Errorf("encryptionInTransit", "IAM, SASL/SCRAM and TLS authentication need TLS between clients and brokers; set spec.encryptionInTransit to TLS or TLS_PLAINTEXT, or use only unauthenticated access")
	}
	if t := a.TLS; t != nil {
		if len(t.CertificateAuthorities) == 0 {
			c.Errorf("authentication.tls.certificateAuthorities", "mutual TLS needs at least one ACM Private CA ARN in certificateAuthorities")
		}
		for i, ca := range t.CertificateAuthorities {
			if !interp.HasRefs(ca) && !mskPCAArnRe.MatchString(ca) {
				c.Errorf(fmt.Sprintf("authentication.tls.certificateAuthorities[%d]", i), "%q is not an ACM Private CA ARN (arn:aws:acm-pca:REGION:ACCOUNT:certificate-authority/ID)", ca)
			}
		}
	}
}

// ---------------------------------------------------------------------------------------------
// Kafka

// KafkaSpec is a topic on an MSK cluster component.
type KafkaSpec struct {
	Cluster           string            `yaml:"cluster" panka:"required,forcenew"` // an MSK component
	Partitions        int               `yaml:"partitions"`                        // can only grow
	ReplicationFactor int               `yaml:"replicationFactor"`
	RetentionMs       int               `yaml:"retentionMs"`   // -1 keeps messages forever
	CleanupPolicy     string            `yaml:"cleanupPolicy"` // delete, compact or "compact,delete"
	Config            map[string]string `yaml:"config"`        // other topic-level configs
}

func (s *KafkaSpec) SetDefaults() {
	*s = KafkaSpec{Partitions: 3, ReplicationFactor: 3, RetentionMs: 7 * 24 * 3600 * 1000, CleanupPolicy: "delete"}
}

// kafkaServerlessConfigs are the topic configs MSK Serverless lets you set.
var kafkaServerlessConfigs = []string{
	"cleanup.policy", "compression.type", "max.message.bytes", "message.timestamp.difference.max.ms",
	"message.timestamp.type", "retention.bytes", "retention.ms",
}

var kafkaConfigKeyRe = regexp.MustCompile(`^[a-z][a-z0-9]*(\.[a-z0-9]+)+$`)

func (s *KafkaSpec) Validate(c *Check) {
	c.Range("partitions", s.Partitions, 1, 10000)
	if s.ReplicationFactor < 1 {
		c.Errorf("replicationFactor", "spec.replicationFactor must be at least 1, not %d", s.ReplicationFactor)
	}
	if s.RetentionMs != -1 && s.RetentionMs < 1 {
		c.Errorf("retentionMs", "spec.retentionMs must be -1 (keep forever) or at least 1, not %d", s.RetentionMs)
	}
	c.OneOf("cleanupPolicy", s.CleanupPolicy, "delete", "compact", "compact,delete")
	typed := map[string]string{"retention.ms": "retentionMs", "cleanup.policy": "cleanupPolicy"}
	for _, k := range sortedKeys(s.Config) {
		f := "config." + k
		switch {
		case typed[k] != "":
			c.KeyErrorf(f, "set %s with spec.%s, not in spec.config", k, typed[k])
		case !kafkaConfigKeyRe.MatchString(k):
			c.KeyErrorf(f, "%q is not a Kafka topic config name (like min.insync.replicas)", k)
		case k == "min.insync.replicas":
			if n, err := strconv.Atoi(s.Config[k]); err != nil || n < 1 || n > s.ReplicationFactor {
				c.Errorf(f, "min.insync.replicas must be a whole number from 1 to the replication factor (%d), not %q", s.ReplicationFactor, s.Config[k])
			}
		}
	}
	if s.Cluster == "" {
		return
	}
	target := c.Ref("cluster", s.Cluster, "MSK")
	if target == nil {
		return
	}
	cluster, ok := target.Spec.(*MSKSpec)
	if !ok {
		return
	}
	if cluster.Serverless {
		for _, k := range sortedKeys(s.Config) {
			if !slices.Contains(kafkaServerlessConfigs, k) && !slices.Contains([]string{"retention.ms", "cleanup.policy"}, k) {
				c.KeyErrorf("config."+k, "MSK Serverless does not let topics set %s; it allows %s", k, strings.Join(kafkaServerlessConfigs, ", "))
			}
		}
		return
	}
	if s.ReplicationFactor > cluster.BrokerNodes {
		dflt := ""
		if !c.Has("replicationFactor") {
			dflt = " (the default)"
		}
		c.Errorf("replicationFactor", "spec.replicationFactor %d%s is more than the %d brokers of cluster %s; Kafka keeps each replica on a different broker, so set it to at most %d",
			s.ReplicationFactor, dflt, cluster.BrokerNodes, target.Address(), cluster.BrokerNodes)
	}
}

// ---------------------------------------------------------------------------------------------
// EventBridge

// EventBridgeSpec is an EventBridge event bus and the rules that route its events.
type EventBridgeSpec struct {
	// Bus is empty for a custom event bus named after the component's physical name, or
	// "default" to put the rules on the account's default event bus.
	Bus     string              `yaml:"bus" panka:"forcenew"`
	Rules   []EventBridgeRule   `yaml:"rules"`
	Archive *EventBridgeArchive `yaml:"archive"`
}

// EventBridgeRule matches events by pattern, or fires on a schedule, and sends them to targets.
type EventBridgeRule struct {
	Name         string              `yaml:"name" panka:"required"`
	EventPattern map[string]any      `yaml:"eventPattern"`
	Schedule     string              `yaml:"schedule"` // cron(...) or rate(...); default bus only
	Targets      []EventBridgeTarget `yaml:"targets"`
	Enabled      bool                `yaml:"enabled"`
}

func (r *EventBridgeRule) SetDefaults() { r.Enabled = true }

// EventBridgeTarget is a component a rule delivers to.
type EventBridgeTarget struct {
	Target string `yaml:"target" panka:"required"` // an SQS, SNS, Lambda or EventBridge component
	// Input replaces the event with this JSON text.
	Input string `yaml:"input"`
	// MessageGroupID is required for a FIFO SQS target.
	MessageGroupID string `yaml:"messageGroupId"`
	// DeadLetterQueue is a standard SQS component that receives events the target did not take.
	DeadLetterQueue string `yaml:"deadLetterQueue"`
}

// EventBridgeArchive keeps the bus's events for replay.
type EventBridgeArchive struct {
	RetentionDays int `yaml:"retentionDays"` // 0 keeps events forever
}

var ebRuleNameRe = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

func (s *EventBridgeSpec) Validate(c *Check) {
	if s.Bus != "" && s.Bus != "default" {
		c.Errorf("bus", "spec.bus is either omitted (a custom event bus named after the component) or \"default\" (the account's default bus), not %q", s.Bus)
	}
	names := map[string]int{}
	for i, r := range s.Rules {
		field := fmt.Sprintf("rules[%d]", i)
		if prev, dup := names[r.Name]; dup && r.Name != "" {
			c.Errorf(field+".name", "duplicate rule name %q (also rules[%d]); rule names must be unique", r.Name, prev)
		}
		names[r.Name] = i
		if r.Name != "" && !ebRuleNameRe.MatchString(r.Name) {
			c.Errorf(field+".name", "rule name %q must be 1 to 64 letters, digits, '.', '-' or '_'", r.Name)
		}
		s.validateRule(c, field, r)
	}
	if a := s.Archive; a != nil && a.RetentionDays < 0 {
		c.Errorf("archive.retentionDays", "spec.archive.retentionDays must be 0 (keep forever) or more days, not %d", a.RetentionDays)
	}
}

func (s *EventBridgeSpec) validateRule(c *Check, field string, r EventBridgeRule) {
	hasPattern, hasSchedule := c.Has(field+".eventPattern"), r.Schedule != ""
	switch {
	case hasPattern && hasSchedule:
		c.Errorf(field+".schedule", "a rule takes either eventPattern or schedule, not both; split it into two rules")
	case !hasPattern && !hasSchedule:
		c.Errorf(field, "rule %q needs an eventPattern or a schedule", r.Name)
	case hasPattern && len(r.EventPattern) == 0:
		c.Errorf(field+".eventPattern", "the event pattern is empty; match at least one field, like source: [\"my.app\"]")
	case hasPattern:
		msgCheckPattern(c, field+".eventPattern", r.EventPattern, true)
	case hasSchedule:
		if err := ValidateSchedule(r.Schedule); err != nil {
			c.Errorf(field+".schedule", "spec.%s.schedule: %v", field, err)
		} else if s.Bus != "default" {
			c.Errorf(field+".schedule", "EventBridge runs scheduled rules only on the default event bus; set spec.bus: default, or use a CronJob")
		}
	}
	if n := len(r.Targets); n < 1 || n > 5 {
		c.Errorf(field+".targets", "rule %q has %d targets; an EventBridge rule takes 1 to 5", r.Name, n)
	}
	for j, t := range r.Targets {
		s.validateTarget(c, fmt.Sprintf("%s.targets[%d]", field, j), t)
	}
}

func (s *EventBridgeSpec) validateTarget(c *Check, field string, t EventBridgeTarget) {
	if t.Input != "" && !interp.HasRefs(t.Input) && !json.Valid([]byte(t.Input)) {
		c.Errorf(field+".input", "input must be JSON text (like '{\"action\": \"sync\"}'), and this is not valid JSON")
	}
	if len(t.Input) > 8192 {
		c.Errorf(field+".input", "input is %d characters; EventBridge allows at most 8192", len(t.Input))
	}
	fifoQueue := false
	if t.Target != "" {
		if target := c.Ref(field+".target", t.Target, "SQS", "SNS", "Lambda", "EventBridge"); target != nil {
			if q, ok := target.Spec.(*SQSSpec); ok && q.FIFO {
				fifoQueue = true
				if t.MessageGroupID == "" {
					c.Errorf(field+".target", "%s is a FIFO queue; set messageGroupId on this target", target.Address())
				}
			}
		}
	}
	if t.MessageGroupID != "" && !fifoQueue {
		c.Errorf(field+".messageGroupId", "messageGroupId is only for FIFO SQS targets; remove it")
	}
	if t.DeadLetterQueue != "" {
		if dlq := c.Ref(field+".deadLetterQueue", t.DeadLetterQueue, "SQS"); dlq != nil {
			if q, ok := dlq.Spec.(*SQSSpec); ok && q.FIFO {
				c.Errorf(field+".deadLetterQueue", "%s is a FIFO queue; EventBridge dead-letter queues must be standard queues", dlq.Address())
			}
		}
	}
}

func init() {
	RegisterKind(KindInfo{
		Name: "SQS", New: func() Spec { return &SQSSpec{} },
		Outputs:   []string{"queueUrl", "queueName"},
		NameLimit: 80, NameWhat: "an SQS queue name",
	})
	RegisterKind(KindInfo{
		Name: "SNS", New: func() Spec { return &SNSSpec{} },
		Outputs:   []string{"topicArn", "topicName"},
		NameLimit: 256, NameWhat: "an SNS topic name",
	})
	RegisterKind(KindInfo{
		Name: "MSK", New: func() Spec { return &MSKSpec{} },
		Outputs:   []string{"bootstrapBrokers", "bootstrapBrokersTls", "bootstrapBrokersScram", "bootstrapBrokersIam", "zookeeperConnect", "clusterName"},
		NameLimit: 64, NameWhat: "an MSK cluster name",
	})
	RegisterKind(KindInfo{
		Name: "Kafka", New: func() Spec { return &KafkaSpec{} },
		Outputs:   []string{"topicName"},
		NameLimit: 249, NameWhat: "a Kafka topic name",
	})
	RegisterKind(KindInfo{
		Name: "EventBridge", New: func() Spec { return &EventBridgeSpec{} },
		Outputs:   []string{"busName", "busArn"},
		NameLimit: 64, NameWhat: "an EventBridge event bus name",
	})
}
