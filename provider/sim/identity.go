package sim

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/panka/panka/schema"
)

// Physical IDs, ARNs and outputs are pure functions of a record's kind, name, region, account
// and (for outputs such as ports) spec: never random, never the clock. Two simulated clouds that
// see the same calls therefore report the same values, which keeps plans, golden files and
// benchmarks reproducible. A kind without an entry here gets generic values, so a new kind in
// the schema is supported before it is given realistic ones.

// kindSim derives what the cloud would report for one kind.
type kindSim struct {
	// id returns the physical ID and ARN, fixed when the resource is created. It sees the
	// record's Kind, Name, Region, Account and Spec.
	id func(r *Record) (id, arn string)
	// outputs returns the kind's outputs other than "arn" (which is always r.ARN), from the
	// record as it is now: they are derived again after every Update and Mutate.
	outputs func(r *Record) map[string]string
}

var kindSims = map[string]kindSim{
	"SQS": {
		id: func(r *Record) (string, string) {
			return fmt.Sprintf("https://sqs.%s.amazonaws.com/%s/%s", r.Region, r.Account, r.Name), arn(r, "sqs", r.Name)
		},
		outputs: func(r *Record) map[string]string {
			return map[string]string{"queueName": r.Name, "queueUrl": r.ID}
		},
	},
	"SNS": {
		id: func(r *Record) (string, string) { a := arn(r, "sns", r.Name); return a, a },
		outputs: func(r *Record) map[string]string {
			return map[string]string{"topicArn": r.ARN, "topicName": r.Name}
		},
	},
	"S3": {
		id: func(r *Record) (string, string) { return r.Name, "arn:aws:s3:::" + r.Name },
		outputs: func(r *Record) map[string]string {
			return map[string]string{
				"bucketName":         r.Name,
				"domainName":         r.Name + ".s3.amazonaws.com",
				"regionalDomainName": fmt.Sprintf("%s.s3.%s.amazonaws.com", r.Name, r.Region),
			}
		},
	},
	"DynamoDB": {
		id: func(r *Record) (string, string) { return r.Name, arn(r, "dynamodb", "table/"+r.Name) },
		outputs: func(r *Record) map[string]string {
			// A stream ARN ends in its creation time; derive a plausible one from the name.
			ms := int64(hashUint(r.Kind, r.Name) % uint64(5*365*24*time.Hour/time.Millisecond))
			label := time.UnixMilli(time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli() + ms).UTC().Format("2006-01-02T15:04:05.000")
			return map[string]string{"tableName": r.Name, "streamArn": r.ARN + "/stream/" + label}
		},
	},
	"RDS": {
		id: func(r *Record) (string, string) { return r.Name, arn(r, "rds", "db:"+r.Name) },
		outputs: func(r *Record) map[string]string {
			engine := specString(r.Spec, "engine", "postgres")
			h := lowerAlnum(12, r.Kind, r.Name)
			endpoint := fmt.Sprintf("%s.%s.%s.rds.amazonaws.com", r.Name, h, r.Region)
			reader := endpoint
			if strings.HasPrefix(engine, "aurora") {
				endpoint = fmt.Sprintf("%s.cluster-%s.%s.rds.amazonaws.com", r.Name, h, r.Region)
				reader = fmt.Sprintf("%s.cluster-ro-%s.%s.rds.amazonaws.com", r.Name, h, r.Region)
			}
			return map[string]string{
				"identifier":      r.Name,
				"endpoint":        endpoint,
				"readerEndpoint":  reader,
				"port":            strconv.FormatInt(specInt(r.Spec, "port", enginePort(engine)), 10),
				"masterSecretArn": secretARN(r, "rds!db-"),
			}
		},
	},
	"DocumentDB": {
		id: func(r *Record) (string, string) { return r.Name, arn(r, "rds", "cluster:"+r.Name) },
		outputs: func(r *Record) map[string]string {
			h := lowerAlnum(12, r.Kind, r.Name)
			return map[string]string{
				"clusterIdentifier": r.Name,
				"endpoint":          fmt.Sprintf("%s.cluster-%s.%s.docdb.amazonaws.com", r.Name, h, r.Region),
				"readerEndpoint":    fmt.Sprintf("%s.cluster-ro-%s.%s.docdb.amazonaws.com", r.Name, h, r.Region),
				"port":              strconv.FormatInt(specInt(r.Spec, "port", 27017), 10),
				"masterSecretArn":   secretARN(r, "rds!cluster-"),
			}
		},
	},
	"EBS": {
		id: func(r *Record) (string, string) {
			sum := sha256.Sum256([]byte(r.Name))
			id := "vol-" + hex.EncodeToString(sum[:])[:17]
			return id, arn(r, "ec2", "volume/"+id)
		},
		outputs: func(r *Record) map[string]string { return map[string]string{"volumeId": r.ID} },
	},
	"EFS": {
		id: func(r *Record) (string, string) {
			id := "fs-" + hexHash(r.Kind, r.Name)[:17]
			return id, arn(r, "elasticfilesystem", "file-system/"+id)
		},
		outputs: func(r *Record) map[string]string {
			return map[string]string{
				"fileSystemId": r.ID,
				"dnsName":      fmt.Sprintf("%s.efs.%s.amazonaws.com", r.ID, r.Region),
			}
		},
	},
	"EventBridge": {
		// The ID is the component's name, which prefixes its rules; the bus is either a custom
		// bus of that name or the account's default bus (spec "bus").
		id: func(r *Record) (string, string) {
			return r.Name, arn(r, "events", "event-bus/"+specString(r.Spec, "bus", r.Name))
		},
		outputs: func(r *Record) map[string]string {
			bus := specString(r.Spec, "bus", r.Name)
			return map[string]string{"busName": bus, "busArn": arn(r, "events", "event-bus/"+bus)}
		},
	},
	"Kafka": {
		// A topic lives in the MSK cluster named by spec "cluster" (its ARN once interpolated).
		id: func(r *Record) (string, string) {
			cluster := specString(r.Spec, "cluster", "")
			if strings.HasPrefix(cluster, "arn:") && strings.Contains(cluster, ":cluster/") {
				return r.Name, strings.Replace(cluster, ":cluster/", ":topic/", 1) + "/" + r.Name
			}
			if cluster == "" {
				cluster = "unknown"
			}
			return r.Name, arn(r, "kafka", fmt.Sprintf("topic/%s/%s-2/%s", cluster, uuidHash("MSK", cluster), r.Name))
		},
		outputs: func(r *Record) map[string]string { return map[string]string{"topicName": r.Name} },
	},
	"MSK": {
		id: func(r *Record) (string, string) {
			a := arn(r, "kafka", fmt.Sprintf("cluster/%s/%s-2", r.Name, uuidHash(r.Kind, r.Name)))
			return a, a
		},
		outputs: func(r *Record) map[string]string {
			h := lowerAlnum(6, r.Kind, r.Name)
			if specBool(r.Spec, "serverless") {
				boot := fmt.Sprintf("boot-%s.c2.kafka-serverless.%s.amazonaws.com:9098", lowerAlnum(8, r.Kind, r.Name), r.Region)
				return map[string]string{
					"clusterName": r.Name, "bootstrapBrokers": boot, "bootstrapBrokersIam": boot, "bootstrapBrokersTls": boot,
					"zookeeperConnect": hosts("z", r.Name, h, r.Region, 3, 2181),
				}
			}
			n := int(min(max(specInt(r.Spec, "brokerNodes", 3), 1), 3))
			return map[string]string{
				"clusterName":         r.Name,
				"bootstrapBrokers":    hosts("b", r.Name, h, r.Region, n, 9092),
				"bootstrapBrokersTls": hosts("b", r.Name, h, r.Region, n, 9094),
				"bootstrapBrokersIam": hosts("b", r.Name, h, r.Region, n, 9098),
				"zookeeperConnect":    hosts("z", r.Name, h, r.Region, 3, 2181),
			}
		},
	},
	"Lambda": {
		id: func(r *Record) (string, string) { return r.Name, arn(r, "lambda", "function:"+r.Name) },
		outputs: func(r *Record) map[string]string {
			return map[string]string{
				"functionName": r.Name,
				"functionUrl":  fmt.Sprintf("https://%s.lambda-url.%s.on.aws/", lowerAlnum(32, r.Kind, r.Name), r.Region),
				"invokeArn":    fmt.Sprintf("arn:aws:apigateway:%s:lambda:path/2015-03-31/functions/%s/invocations", r.Region, r.ARN),
			}
		},
	},
	"MicroService": {id: ecsServiceID, outputs: ecsServiceOutputs},
	"Worker":       {id: ecsServiceID, outputs: ecsServiceOutputs},
	"CronJob": {
		id: func(r *Record) (string, string) {
			a := arn(r, "scheduler", "schedule/default/"+r.Name)
			return a, a
		},
		outputs: func(r *Record) map[string]string {
			return map[string]string{"scheduleArn": r.ARN, "taskDefinitionArn": taskDefinitionARN(r)}
		},
	},
	"ALB": {
		id: func(r *Record) (string, string) {
			a := arn(r, "elasticloadbalancing", fmt.Sprintf("loadbalancer/app/%s/%s", r.Name, hexHash(r.Kind, r.Name)[:16]))
			return a, a
		},
		outputs: func(r *Record) map[string]string {
			digits := strconv.FormatUint(1_000_000_000+hashUint(r.Kind, r.Name)%9_000_000_000, 10)
			dns := fmt.Sprintf("%s-%s.%s.elb.amazonaws.com", r.Name, digits, r.Region)
			if specBool(r.Spec, "internal") {
				dns = "internal-" + dns
			}
			scheme, port := "http", int64(80)
			if l := firstListener(r.Spec); l != nil {
				port = specInt(l, "port", 80)
				if strings.EqualFold(specString(l, "protocol", "HTTP"), "HTTPS") {
					scheme = "https"
				}
			}
			url := scheme + "://" + dns
			if (scheme == "http" && port != 80) || (scheme == "https" && port != 443) {
				url += ":" + strconv.FormatInt(port, 10)
			}
			return map[string]string{"dnsName": dns, "url": url, "zoneId": elbZone(albZones, r.Region)}
		},
	},
	"NLB": {
		id: func(r *Record) (string, string) {
			a := arn(r, "elasticloadbalancing", fmt.Sprintf("loadbalancer/net/%s/%s", r.Name, hexHash(r.Kind, r.Name)[:16]))
			return a, a
		},
		outputs: func(r *Record) map[string]string {
			dns := fmt.Sprintf("%s-%s.elb.%s.amazonaws.com", r.Name, hexHash(r.Kind, r.Name)[16:32], r.Region)
			if specBool(r.Spec, "internal") {
				dns = "internal-" + dns
			}
			return map[string]string{"dnsName": dns, "zoneId": elbZone(nlbZones, r.Region)}
		},
	},
	"CloudFront": {
		id: func(r *Record) (string, string) {
			id := "E" + strings.ToUpper(lowerAlnum(13, r.Kind, r.Name))
			return id, fmt.Sprintf("arn:aws:cloudfront::%s:distribution/%s", r.Account, id)
		},
		outputs: func(r *Record) map[string]string {
			return map[string]string{
				"distributionId": r.ID,
				"domainName":     "d" + lowerAlnum(13, "CloudFront.domain", r.Name) + ".cloudfront.net",
				"hostedZoneId":   "Z2FDTNDATAQYW2", // the same for every distribution
			}
		},
	},
	"APIGateway": {
		id: func(r *Record) (string, string) {
			id := lowerAlnum(10, r.Kind, r.Name)
			return id, fmt.Sprintf("arn:aws:apigateway:%s::/apis/%s", r.Region, id)
		},
		outputs: func(r *Record) map[string]string {
			scheme := "https"
			if strings.EqualFold(specString(r.Spec, "protocol", "HTTP"), "WEBSOCKET") {
				scheme = "wss"
			}
			return map[string]string{
				"apiId":        r.ID,
				"endpoint":     fmt.Sprintf("%s://%s.execute-api.%s.amazonaws.com", scheme, r.ID, r.Region),
				"executionArn": fmt.Sprintf("arn:aws:execute-api:%s:%s:%s", r.Region, r.Account, r.ID),
			}
		},
	},
}

// genericSim serves kinds without an entry in kindSims.
var genericSim = kindSim{
	id: func(r *Record) (string, string) {
		a := arn(r, strings.ToLower(r.Kind), strings.ToLower(r.Kind)+"/"+r.Name)
		return a, a
	},
	outputs: func(*Record) map[string]string { return nil },
}

// identify sets r.ID and r.ARN for a new resource.
func identify(r *Record) {
	s, ok := kindSims[r.Kind]
	if !ok {
		s = genericSim
	}
	r.ID, r.ARN = s.id(r)
}

// deriveOutputs sets r.Outputs to exactly the outputs the kind declares. An output the kind's
// simulation does not know gets a generic, non-empty value derived from the record.
func deriveOutputs(r *Record, declared []string) {
	s, ok := kindSims[r.Kind]
	if !ok {
		s = genericSim
	}
	known := s.outputs(r)
	out := make(map[string]string, len(declared))
	for _, name := range declared {
		v, ok := known[name]
		switch {
		case name == "arn":
			v = r.ARN
		case ok:
		case strings.HasSuffix(name, "Arn"):
			v = r.ARN + "/" + name
		case strings.HasSuffix(name, "Name"):
			v = r.Name
		case strings.HasSuffix(name, "Id"):
			v = strings.ToLower(r.Kind) + "-" + hexHash(r.Kind, r.Name, name)[:17]
		default:
			v = "sim-" + name + "-" + hexHash(r.Kind, r.Name, name)[:12]
		}
		out[name] = v
	}
	r.Outputs = out
}

func ecsServiceID(r *Record) (string, string) {
	a := arn(r, "ecs", "service/panka/"+r.Name)
	return a, a
}

func ecsServiceOutputs(r *Record) map[string]string {
	port := int64(80)
	if ports, ok := r.Spec["ports"].([]any); ok && len(ports) > 0 {
		if p, ok := ports[0].(map[string]any); ok {
			port = specInt(p, "port", 80)
		}
	}
	return map[string]string{
		"serviceArn":        r.ARN,
		"serviceName":       r.Name,
		"taskDefinitionArn": taskDefinitionARN(r),
		"securityGroupId":   "sg-" + hexHash(r.Kind, r.Name)[:17],
		"url":               fmt.Sprintf("http://%s.panka.local:%d", r.Name, port),
	}
}

// taskDefinitionARN names the task definition revision of the record's current spec: every
// Update registers a new revision, as ECS does.
func taskDefinitionARN(r *Record) string {
	return arn(r, "ecs", fmt.Sprintf("task-definition/%s:%d", r.Name, max(r.Revision, 1)))
}

func arn(r *Record, service, resource string) string {
	return fmt.Sprintf("arn:aws:%s:%s:%s:%s", service, r.Region, r.Account, resource)
}

func secretARN(r *Record, prefix string) string {
	return arn(r, "secretsmanager", "secret:"+prefix+uuidHash(r.Kind, r.Name, "secret")+"-"+lowerAlnum(6, r.Kind, r.Name, "suffix"))
}

func hosts(prefix, name, h, region string, n int, port int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf("%s-%d.%s.%s.c2.kafka.%s.amazonaws.com:%d", prefix, i+1, name, h, region, port)
	}
	return strings.Join(parts, ",")
}

func enginePort(engine string) int64 {
	switch {
	case strings.Contains(engine, "mysql"), strings.Contains(engine, "mariadb"):
		return 3306
	case strings.HasPrefix(engine, "oracle"):
		return 1521
	case strings.HasPrefix(engine, "sqlserver"):
		return 1433
	}
	return 5432
}

// Canonical hosted zone IDs of load balancers, per region; others get a derived one.
var (
	albZones = map[string]string{
		"us-east-1": "Z35SXDOTRQ7X7K", "us-east-2": "Z3AADJGX6KTTL2", "us-west-1": "Z368ELLRRE2KJ0",
		"us-west-2": "Z1H1FL5HABSF5", "eu-west-1": "Z32O12XQLNTSW2", "eu-central-1": "Z215JYRZR1TBD5",
	}
	nlbZones = map[string]string{
		"us-east-1": "Z26RNL4JYFTOTI", "us-east-2": "ZLMOA37VPKANP", "us-west-1": "Z24FKFUX50B4VW",
		"us-west-2": "Z18D5FSROUN65G", "eu-west-1": "Z2IFOLAFXWLO4F", "eu-central-1": "Z3F0SRJ5LGBH90",
	}
)

func elbZone(zones map[string]string, region string) string {
	if z, ok := zones[region]; ok {
		return z
	}
	return "Z" + strings.ToUpper(lowerAlnum(13, "elb-zone", region))
}

func firstListener(spec map[string]any) map[string]any {
	if ls, ok := spec["listeners"].([]any); ok && len(ls) > 0 {
		l, _ := ls[0].(map[string]any)
		return l
	}
	return nil
}

func specString(spec map[string]any, key, def string) string {
	if s, ok := spec[key].(string); ok && s != "" {
		return s
	}
	return def
}

func specBool(spec map[string]any, key string) bool {
	b, _ := spec[key].(bool)
	return b
}

func specInt(spec map[string]any, key string, def int64) int64 {
	switch v := spec[key].(type) {
	case int64:
		if v != 0 {
			return v
		}
	case float64:
		if v != 0 {
			return int64(v)
		}
	case string:
		if i, err := strconv.ParseInt(v, 10, 64); err == nil && i != 0 {
			return i
		}
	}
	return def
}

func hashSum(parts ...string) [32]byte {
	return sha256.Sum256([]byte(strings.Join(parts, "\x00")))
}

func hexHash(parts ...string) string {
	sum := hashSum(parts...)
	return hex.EncodeToString(sum[:])
}

func hashUint(parts ...string) uint64 {
	sum := hashSum(parts...)
	return binary.BigEndian.Uint64(sum[:8])
}

// lowerAlnum returns n (at most 32) characters from [a-z0-9] derived from parts.
func lowerAlnum(n int, parts ...string) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	sum := hashSum(parts...)
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[int(sum[i])%len(alphabet)]
	}
	return string(b)
}

// uuidHash formats a hash of parts as a UUID (8-4-4-4-12 hex digits).
func uuidHash(parts ...string) string {
	h := hexHash(parts...)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// declaredOutputs returns the outputs kind declares in the schema.
func declaredOutputs(kind string) []string {
	info, ok := schema.LookupKind(kind)
	if !ok {
		return []string{"arn"}
	}
	return info.Outputs
}
