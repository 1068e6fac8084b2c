package providertest

import (
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"

	"github.com/panka/panka/provider"
)

// specs returns, freshly allocated, a minimal spec of kind (fields as in the YAML, values in the
// types provider.Resource documents) and a second spec that changes fields no kind replaces the
// resource for. Providers do not validate specs, so these are small; where a kind has nested
// fields, one is included so that the aliasing test reaches into it. A kind the suite does not
// know gets a generic spec.
//
// The specs of kinds a cloud provider builds (SQS, SNS, S3, DynamoDB, EventBridge, Lambda,
// APIGateway, CloudFront, ALB, NLB, ECSCluster, MicroService, Worker, CronJob, MSK, Kafka, EFS, EBS, RDS, DocumentDB) are complete, as
// the engine hands them over (schema.ToMap of a spec with its defaults): such a provider reads
// every field back from the cloud, defaults included, and cannot know which of them a spec left
// out. The DynamoDB table has a stream, so that its streamArn output exists; the Lambda function
// is an image (the suite gives no Resource.Files) with a URL, so that its functionUrl exists.
// The API has no routes and the distribution a custom origin: neither needs another component.
// The ALB's listener has no default action (a fixed 404); the NLB's listener targets a service
// the suite does not make: a provider that declares an NLB's listeners External reads them back
// unset (readBack). The container kinds run in the Env's network and cluster, with no load
// balancer (the suite has none): a MicroService's url output is then empty (optionalOutputs).
// The MSK cluster has two brokers in the Env's two subnets and IAM authentication (its
// plaintext and TLS bootstrap outputs are empty: optionalOutputs); the update adds brokers and
// storage. Kafka topics are on the Env's MSKCluster, named by ARN (a cluster of no component).
//
// The network kinds are placed in the Env: a Subnet in its VPC with a CIDR of its own, a
// NATGateway in its first subnet, an InternetGateway, RouteTable and SecurityGroup in its VPC
// (the update associates the first subnet with the table, and adds a rule naming the Env's
// security group). A VPC, an InternetGateway and a NATGateway have no field that changes in
// place: their update spec is the same, and the suite checks that Update of it changes nothing.
// Limit: AWS attaches one internet gateway per VPC, and the Env's VPC (a default VPC) has one,
// so against real AWS the suite's InternetGateways fail to attach; the local AWS does not check.
func specs(kind string) (spec, updated map[string]any) {
	spec, updated = kindSpecs(kind)
	e := env.Load()
	if e == nil {
		return spec, updated
	}
	// Networked kinds get what the engine's infrastructure injects: their network and, for
	// ECS tasks, the cluster. The network kinds are placed in the Env's VPC and subnets.
	type m = map[string]any
	type l = []any
	switch kind {
	case "Subnet":
		// The suite's resource "1"'s CIDR; resource gives each other its own (subnetCIDR).
		return m{"vpcId": e.VPCID, "cidr": subnetCIDR("1"), "zone": int64(0), "public": false},
			m{"vpcId": e.VPCID, "cidr": subnetCIDR("1"), "zone": int64(0), "public": true}
	case "InternetGateway":
		// No field changes in place: the update spec is the same.
		return m{"vpcId": e.VPCID}, m{"vpcId": e.VPCID}
	case "NATGateway":
		return m{"subnetId": e.Subnets[0]}, m{"subnetId": e.Subnets[0]}
	case "RouteTable":
		return m{"vpcId": e.VPCID}, m{"vpcId": e.VPCID, "subnets": l{e.Subnets[0]}}
	case "SecurityGroup":
		rule := func(port int64, src string) m {
			r := m{"protocol": "tcp", "fromPort": port, "toPort": port, "description": "suite"}
			if strings.HasPrefix(src, "sg-") {
				r["securityGroup"] = src
			} else {
				r["cidr"] = src
			}
			return r
		}
		return m{"vpcId": e.VPCID, "description": "suite", "ingress": l{rule(443, "10.0.0.0/8")}},
			m{"vpcId": e.VPCID, "description": "suite", "ingress": l{rule(443, "10.0.0.0/8"), rule(8080, e.SecurityGroups[0])}}
	case "Kafka":
		// On the Env's cluster, named by its ARN (no clusterArn then).
		if e.MSKCluster != "" {
			spec["cluster"], updated["cluster"] = e.MSKCluster, e.MSKCluster
		}
	case "MicroService", "Worker", "CronJob", "ALB", "NLB", "MSK", "EFS", "RDS", "DocumentDB":
		subnets, groups := e.Subnets, e.SecurityGroups
		if kind == "EFS" {
			// A file system's mount targets have no order: a provider reads them back sorted
			// (the lists are Unordered), and the suite compares as written.
			subnets, groups = slices.Sorted(slices.Values(subnets)), slices.Sorted(slices.Values(groups))
		}
		for _, s := range []map[string]any{spec, updated} {
			s["network"] = map[string]any{"vpcId": e.VPCID, "subnets": anys(subnets), "securityGroups": anys(groups)}
			if kind == "MicroService" || kind == "Worker" || kind == "CronJob" {
				s["cluster"] = e.Cluster
			}
		}
	}
	return spec, updated
}

// defaultSSLPolicy is the schema's default sslPolicy of a listener (every protocol's: ToMap
// keeps it on HTTP and TCP listeners too).
const defaultSSLPolicy = "ELBSecurityPolicy-TLS13-1-2-2021-06"

// readBack returns spec as a provider reads back a resource of kind made alone: without the
// fields its Schema declares External (other components make them: an NLB's listeners, made by
// the services they forward to), which the suite, making one resource at a time, expects
// unset. Every other field reads back as written.
func readBack(p provider.Provider, kind string, spec map[string]any) map[string]any {
	ks, _ := p.Schema(kind)
	if len(ks.External) == 0 {
		return spec
	}
	out := make(map[string]any, len(spec))
	for k, v := range spec {
		if !slices.Contains(ks.External, k) {
			out[k] = v
		}
	}
	return out
}

// subnetCIDR is the CIDR of the suite's subnet of the suffix: a /24 of its own (a VPC's
// subnets must not overlap) in 172.31.128.0/18, inside the default VPC of an AWS region
// (172.31.0.0/16), whose default subnets are /20s from 172.31.0.0 up (three to six of them).
func subnetCIDR(suffix string) string {
	n := 0
	switch suffix {
	case "1":
	case "race":
		n = 1
	case "2":
		n = 2
	default:
		if i, err := strconv.Atoi(strings.TrimPrefix(suffix, "c")); err == nil && strings.HasPrefix(suffix, "c") && i < 48 {
			n = 8 + i
		} else {
			h := fnv.New32a()
			h.Write([]byte(suffix))
			n = 3 + int(h.Sum32()%5)
		}
	}
	return fmt.Sprintf("172.31.%d.0/24", 128+n)
}

func anys(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

func kindSpecs(kind string) (spec, updated map[string]any) {
	type m = map[string]any
	type l = []any
	switch kind {
	case "SQS":
		queue := func(visibility int64) m {
			return m{"fifo": false, "contentBasedDeduplication": false, "visibilityTimeout": visibility, "messageRetention": int64(345600),
				"delay": int64(0), "maxMessageSize": int64(262144), "receiveWaitTime": int64(0), "encryption": m{"dataKeyReusePeriod": int64(300)}}
		}
		return queue(30), queue(60)
	case "SNS":
		topic := func(name, email string) m {
			return m{"fifo": false, "contentBasedDeduplication": false, "displayName": name, "subscriptions": l{
				m{"protocol": "email", "endpoint": email, "rawMessageDelivery": false, "filterPolicyScope": "MessageAttributes"}}}
		}
		return topic("suite", "a@example.com"), topic("suite-2", "b@example.com")
	case "S3":
		bucket := func(versioning bool) m {
			return m{"acl": "private", "objectOwnership": "BucketOwnerEnforced", "versioning": versioning, "forceDestroy": false,
				"encryption":        m{"type": "SSE-S3", "bucketKey": true},
				"blockPublicAccess": m{"blockPublicAcls": true, "ignorePublicAcls": true, "blockPublicPolicy": true, "restrictPublicBuckets": true}}
		}
		return bucket(false), bucket(true)
	case "DynamoDB":
		table := func(pitr bool) m {
			return m{"billingMode": "PAY_PER_REQUEST", "hashKey": "id", "attributes": l{m{"name": "id", "type": "S"}},
				"readCapacity": int64(0), "writeCapacity": int64(0), "pointInTimeRecovery": pitr, "deletionProtection": false,
				"tableClass": "STANDARD", "stream": m{"enabled": true, "viewType": "NEW_AND_OLD_IMAGES"}}
		}
		return table(false), table(true)
	case "EBS":
		// As schema.ToMap gives it (iops and throughput 0: not given, gp3's baseline). The
		// update grows the volume and raises its throughput, in place.
		return m{"availabilityZone": "us-east-1a", "sizeGiB": int64(8), "volumeType": "gp3", "iops": int64(0), "throughput": int64(0), "encrypted": true},
			m{"availabilityZone": "us-east-1a", "sizeGiB": int64(16), "volumeType": "gp3", "iops": int64(0), "throughput": int64(250), "encrypted": true}
	case "EFS":
		// As schema.ToMap gives it: every field, defaults included (provisionedThroughput 0).
		fs := func(mode string, lifecycle m, backup bool, points l) m {
			return m{"performanceMode": "generalPurpose", "throughputMode": mode, "provisionedThroughput": int64(0),
				"encrypted": true, "lifecycle": lifecycle, "backup": backup, "accessPoints": points}
		}
		return fs("elastic", m{"transitionToIA": "AFTER_30_DAYS"}, true,
				l{m{"name": "app", "path": "/app", "uid": int64(1000), "gid": int64(1000), "permissions": "0750"}}),
			fs("bursting", m{"transitionToIA": "AFTER_60_DAYS", "transitionToPrimary": "AFTER_1_ACCESS"}, false,
				l{m{"name": "app", "path": "/app", "uid": int64(1000), "gid": int64(1000), "permissions": "0750"},
					m{"name": "logs", "path": "/logs", "permissions": "0755"}})
	case "EventBridge":
		return m{"rules": l{m{"name": "tick", "eventPattern": m{"source": l{"suite"}}, "enabled": true}}},
			m{"rules": l{m{"name": "tick", "eventPattern": m{"source": l{"suite", "suite-2"}}, "enabled": false}}, "archive": m{"retentionDays": int64(7)}}
	case "Kafka":
		topic := func(partitions, retention int64) m {
			return m{"cluster": "suite-msk", "partitions": partitions, "replicationFactor": int64(2), "retentionMs": retention,
				"cleanupPolicy": "delete", "config": m{"min.insync.replicas": "1"}}
		}
		return topic(3, 604800000), topic(6, 86400000)
	case "MSK":
		cluster := func(brokers, storage int64) m {
			return m{"serverless": false, "kafkaVersion": "3.6.0", "brokerNodes": brokers, "availabilityZones": int64(2),
				"instanceType": "kafka.m5.large", "storageGiB": storage, "encryptionInTransit": "TLS",
				"authentication": m{"iam": true, "scram": false, "unauthenticated": false}}
		}
		return cluster(2, 100), cluster(4, 200)
	case "Lambda":
		function := func(memory int64) m {
			return m{"image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/suite:1", "memory": memory, "timeout": int64(3),
				"ephemeralStorage": int64(512), "architecture": "x86_64", "url": m{"enabled": true, "authType": "AWS_IAM"}}
		}
		return function(128), function(256)
	case "ECSCluster":
		return m{"containerInsights": false}, m{"containerInsights": true}
	case "RDS":
		// As the engine hands a PostgreSQL instance over: the engine-dependent fields (port,
		// allocatedStorage, instances, iops) at zero, instanceClass, storageType and
		// masterUsername left out (the engine's defaults), the password managed by RDS.
		db := func(retention, maxStorage int64) m {
			return m{"engine": "postgres", "backupRetention": retention, "storageEncrypted": true, "managePassword": true,
				"allocatedStorage": int64(0), "maxAllocatedStorage": maxStorage, "iops": int64(0), "instances": int64(0), "port": int64(0),
				"multiAZ": false, "deletionProtection": false, "skipFinalSnapshot": false, "applyImmediately": false, "publiclyAccessible": false}
		}
		return db(7, 0), db(14, 100)
	case "DocumentDB":
		docs := func(retention, instances int64) m {
			return m{"engineVersion": "5.0.0", "instanceClass": "db.t4g.medium", "instances": instances, "storageType": "standard",
				"masterUsername": "suite", "managePassword": true, "backupRetention": retention, "port": int64(27017),
				"deletionProtection": false, "skipFinalSnapshot": false, "applyImmediately": false, "storageEncrypted": true}
		}
		return docs(7, 1), docs(14, 2)
	case "MicroService":
		service := func(image string) m {
			return m{"image": image, "ports": l{m{"name": "http", "port": int64(8080), "protocol": "tcp"}},
				"env": m{"MODE": "suite"}, "cpu": int64(256), "memory": int64(512), "architecture": "X86_64",
				"scaling": m{"min": int64(1), "max": int64(1), "desired": int64(1), "targetCPU": int64(0), "targetMemory": int64(0)}}
		}
		return service("nginx:1.27"), service("nginx:1.28")
	case "Worker":
		worker := func(image string) m {
			return m{"image": image, "command": l{"sh", "-c", "work"}, "cpu": int64(256), "memory": int64(512), "architecture": "X86_64",
				"scaling": m{"min": int64(1), "max": int64(1), "desired": int64(1), "targetCPU": int64(0), "targetMemory": int64(0)}}
		}
		return worker("busybox:1.36"), worker("busybox:1.37")
	case "CronJob":
		job := func(schedule string) m {
			return m{"image": "busybox:1.36", "command": l{"sh", "-c", "tick"}, "schedule": schedule, "timezone": "UTC", "suspend": false,
				"maxRetries": int64(0), "concurrencyPolicy": "Allow", "cpu": int64(256), "memory": int64(512), "architecture": "X86_64",
				"scaling": m{"min": int64(0), "max": int64(0), "desired": int64(0), "targetCPU": int64(0), "targetMemory": int64(0)}}
		}
		return job("cron(0 * * * ? *)"), job("cron(30 * * * ? *)")
	case "ALB":
		alb := func(idle int64) m {
			return m{"internal": false, "idleTimeout": idle, "deletionProtection": false,
				"listeners": l{m{"port": int64(80), "protocol": "HTTP", "sslPolicy": defaultSSLPolicy}}}
		}
		return alb(60), alb(120)
	case "NLB":
		nlb := func(crossZone bool) m {
			return m{"internal": false, "crossZone": crossZone, "deletionProtection": false,
				"listeners": l{m{"port": int64(443), "protocol": "TCP", "sslPolicy": defaultSSLPolicy, "target": "suite/web"}}}
		}
		return nlb(false), nlb(true)
	case "CloudFront":
		dist := func(priceClass string) m {
			return m{"origins": l{m{"id": "o1", "domainName": "example.com", "originAccessControl": true}},
				"defaultBehavior": m{"viewerProtocolPolicy": "redirect-to-https", "allowedMethods": l{"GET", "HEAD"}, "cachePolicy": "CachingOptimized", "compress": true},
				"priceClass":      priceClass, "enabled": true}
		}
		return dist("PriceClass_All"), dist("PriceClass_100")
	case "VPC":
		// A VPC has no field that changes in place: the update spec is the same.
		return m{"cidr": "10.42.0.0/16"}, m{"cidr": "10.42.0.0/16"}
	case "APIGateway":
		api := func(stage string) m {
			return m{"protocol": "HTTP", "routeSelectionExpression": "$request.body.action", "stage": stage,
				"cors": m{"allowOrigins": l{"*"}, "allowCredentials": false, "maxAge": int64(0)}}
		}
		return api("$default"), api("v1")
	}
	return m{"suite": "a", "nested": m{"list": l{"x"}}}, m{"suite": "b", "nested": m{"list": l{"y"}}}
}
