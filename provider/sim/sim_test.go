package sim_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/panka/panka/provider"
	"github.com/panka/panka/provider/providertest"
	"github.com/panka/panka/provider/sim"
	"github.com/panka/panka/schema"
)

func TestConformance(t *testing.T) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			providertest.Run(t, func(t *testing.T) provider.Provider { return st.new(t, sim.Options{}) })
		})
	}
}

// stores are the two ways to keep the simulated cloud; tests of behaviour both share run on each.
var stores = []struct {
	name string
	new  func(t *testing.T, opts sim.Options) *sim.Provider
}{
	{"Memory", func(t *testing.T, opts sim.Options) *sim.Provider {
		p, err := sim.New(opts)
		require.NoError(t, err)
		return p
	}},
	{"File", func(t *testing.T, opts sim.Options) *sim.Provider {
		opts.Path = filepath.Join(t.TempDir(), "cloud.json")
		p, err := sim.New(opts)
		require.NoError(t, err)
		return p
	}},
}

func newSim(t *testing.T) *sim.Provider { return stores[0].new(t, sim.Options{}) }

func sqs(name string) provider.Resource {
	return provider.Resource{
		Address: "svc/" + name, Kind: "SQS", Name: name,
		Spec: map[string]any{"visibilityTimeout": int64(30)},
		Tags: map[string]string{"panka:address": "svc/" + name},
	}
}

func TestSchema(t *testing.T) {
	p := newSim(t)
	kinds := schema.ComponentKinds()
	require.NotEmpty(t, kinds)
	nonUnique := []string{"APIGateway", "CloudFront", "EBS", "EFS"}
	for _, kind := range kinds {
		s, ok := p.Schema(kind)
		require.True(t, ok, kind)
		if got, want := s.UniqueName, !slices.Contains(nonUnique, kind); got != want {
			t.Errorf("%s: UniqueName = %v, want %v", kind, got, want)
		}
		if diff := cmp.Diff(schema.ForceNewFields(kind), s.ForceNew); diff != "" {
			t.Errorf("%s: ForceNew (-schema +sim):\n%s", kind, diff)
		}
		var secret []string
		for _, f := range schema.Fields(kind) {
			if f.Secret {
				secret = append(secret, f.Path)
			}
		}
		if diff := cmp.Diff(secret, s.Secret); diff != "" {
			t.Errorf("%s: Secret (-schema +sim):\n%s", kind, diff)
		}
	}
	rds, _ := p.Schema("RDS")
	require.Contains(t, rds.Secret, "masterPassword")
	require.Contains(t, rds.ForceNew, "engine")

	// The slices are the caller's.
	rds.ForceNew[0] = "scribbled"
	again, _ := p.Schema("RDS")
	require.NotContains(t, again.ForceNew, "scribbled")

	_, ok := p.Schema("NoSuchKind")
	require.False(t, ok)
}

// allKinds returns one resource of every kind, with specs that reach the outputs derived from
// the spec.
func allKinds() []provider.Resource {
	specs := map[string]map[string]any{
		"RDS":          {"engine": "mysql"},
		"MicroService": {"image": "nginx", "ports": []any{map[string]any{"name": "http", "port": int64(8080)}}},
		"ALB":          {"listeners": []any{map[string]any{"port": int64(443), "protocol": "HTTPS"}}},
		"Kafka":        {"cluster": "arn:aws:kafka:us-east-1:000000000000:cluster/events/11111111-2222-3333-4444-555555555555-2"},
	}
	var rs []provider.Resource
	for _, kind := range schema.ComponentKinds() {
		name := "shop-prod-" + strings.ToLower(kind)
		spec := specs[kind]
		if spec == nil {
			spec = map[string]any{"x": int64(1)}
		}
		rs = append(rs, provider.Resource{Address: "svc/" + strings.ToLower(kind), Kind: kind, Name: name, Spec: spec})
	}
	return rs
}

// TestDeterminism: fresh clouds given the same resources, in any order and whichever store they
// use, report the same IDs, ARNs and outputs; another region or account changes them.
func TestDeterminism(t *testing.T) {
	ctx := t.Context()
	createAll := func(p *sim.Provider, rs []provider.Resource) map[string]*provider.Observed {
		out := map[string]*provider.Observed{}
		for _, r := range rs {
			obs, err := p.Create(ctx, r)
			require.NoError(t, err)
			out[r.Kind] = obs
		}
		return out
	}
	rs := allKinds()
	reversed := slices.Clone(rs)
	slices.Reverse(reversed)

	a := createAll(stores[0].new(t, sim.Options{}), rs)
	b := createAll(stores[1].new(t, sim.Options{}), reversed)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Fatalf("two fresh clouds differ (-memory +file):\n%s", diff)
	}
	require.Len(t, a, len(schema.ComponentKinds()))

	other := createAll(stores[0].new(t, sim.Options{Region: "eu-west-1", AccountID: "123456789012"}), rs)
	for kind, obs := range other {
		// S3 ARNs are global and a Kafka topic's comes from its cluster's (in the spec); every
		// other ARN names the region or the account.
		if kind != "S3" && kind != "Kafka" && obs.ARN == a[kind].ARN {
			t.Errorf("%s: ARN %s does not depend on region and account", kind, obs.ARN)
		}
	}
}

// TestIdentity pins the shape of IDs, ARNs and outputs kind by kind.
func TestIdentity(t *testing.T) {
	ctx := t.Context()
	p, err := sim.New(sim.Options{Region: "eu-west-1", AccountID: "123456789012"})
	require.NoError(t, err)
	volSum := sha256.Sum256([]byte("data-vol"))

	tests := []struct {
		kind, name string
		spec       map[string]any
		id, arn    string            // exact, or a regexp when it starts with "^"
		outputs    map[string]string // likewise
	}{
		{"SQS", "orders", nil,
			"https://sqs.eu-west-1.amazonaws.com/123456789012/orders", "arn:aws:sqs:eu-west-1:123456789012:orders",
			map[string]string{"queueName": "orders", "queueUrl": "https://sqs.eu-west-1.amazonaws.com/123456789012/orders"}},
		{"SNS", "events", nil,
			"arn:aws:sns:eu-west-1:123456789012:events", "arn:aws:sns:eu-west-1:123456789012:events",
			map[string]string{"topicName": "events", "topicArn": "arn:aws:sns:eu-west-1:123456789012:events"}},
		{"S3", "assets", nil, "assets", "arn:aws:s3:::assets",
			map[string]string{"bucketName": "assets", "domainName": "assets.s3.amazonaws.com", "regionalDomainName": "assets.s3.eu-west-1.amazonaws.com"}},
		{"DynamoDB", "users", nil, "users", "arn:aws:dynamodb:eu-west-1:123456789012:table/users",
			map[string]string{"tableName": "users", "streamArn": `^arn:aws:dynamodb:eu-west-1:123456789012:table/users/stream/20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}$`}},
		{"EBS", "data-vol", nil, "vol-" + hex.EncodeToString(volSum[:])[:17],
			"arn:aws:ec2:eu-west-1:123456789012:volume/vol-" + hex.EncodeToString(volSum[:])[:17],
			map[string]string{"volumeId": "vol-" + hex.EncodeToString(volSum[:])[:17]}},
		{"EFS", "shared", nil, `^fs-[0-9a-f]{17}$`, `^arn:aws:elasticfilesystem:eu-west-1:123456789012:file-system/fs-[0-9a-f]{17}$`,
			map[string]string{"dnsName": `^fs-[0-9a-f]{17}\.efs\.eu-west-1\.amazonaws\.com$`}},
		{"RDS", "pg", nil, "pg", "arn:aws:rds:eu-west-1:123456789012:db:pg",
			map[string]string{"port": "5432", "identifier": "pg", "endpoint": `^pg\.[a-z0-9]{12}\.eu-west-1\.rds\.amazonaws\.com$`,
				"masterSecretArn": `^arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-[0-9a-f-]{36}-[a-z0-9]{6}$`}},
		{"RDS", "my", map[string]any{"engine": "mysql"}, "my", "arn:aws:rds:eu-west-1:123456789012:db:my",
			map[string]string{"port": "3306"}},
		{"RDS", "custom", map[string]any{"engine": "postgres", "port": int64(6543)}, "custom", "arn:aws:rds:eu-west-1:123456789012:db:custom",
			map[string]string{"port": "6543"}},
		{"RDS", "aur", map[string]any{"engine": "aurora-postgresql"}, "aur", "arn:aws:rds:eu-west-1:123456789012:db:aur",
			map[string]string{"endpoint": `^aur\.cluster-[a-z0-9]{12}\.`, "readerEndpoint": `^aur\.cluster-ro-[a-z0-9]{12}\.`}},
		{"DocumentDB", "docs", nil, "docs", "arn:aws:rds:eu-west-1:123456789012:cluster:docs",
			map[string]string{"port": "27017", "endpoint": `^docs\.cluster-[a-z0-9]{12}\.eu-west-1\.docdb\.amazonaws\.com$`}},
		{"Lambda", "fn", nil, "fn", "arn:aws:lambda:eu-west-1:123456789012:function:fn",
			map[string]string{"functionName": "fn", "functionUrl": `^https://[a-z0-9]{32}\.lambda-url\.eu-west-1\.on\.aws/$`,
				"invokeArn": "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:123456789012:function:fn/invocations"}},
		{"MicroService", "web", map[string]any{"ports": []any{map[string]any{"name": "http", "port": int64(8080)}}},
			"arn:aws:ecs:eu-west-1:123456789012:service/panka/web", "arn:aws:ecs:eu-west-1:123456789012:service/panka/web",
			map[string]string{"url": "http://web.panka.local:8080", "taskDefinitionArn": "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:1",
				"securityGroupId": `^sg-[0-9a-f]{17}$`, "serviceName": "web"}},
		{"CronJob", "nightly", nil, "arn:aws:scheduler:eu-west-1:123456789012:schedule/default/nightly", "arn:aws:scheduler:eu-west-1:123456789012:schedule/default/nightly",
			map[string]string{"taskDefinitionArn": "arn:aws:ecs:eu-west-1:123456789012:task-definition/nightly:1"}},
		{"ALB", "edge", map[string]any{"listeners": []any{map[string]any{"port": int64(443), "protocol": "HTTPS"}}},
			`^arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/edge/[0-9a-f]{16}$`, `^arn:aws:elasticloadbalancing:`,
			map[string]string{"dnsName": `^edge-\d{10}\.eu-west-1\.elb\.amazonaws\.com$`, "url": `^https://edge-\d{10}\.eu-west-1\.elb\.amazonaws\.com$`, "zoneId": "Z32O12XQLNTSW2"}},
		{"NLB", "tcp", map[string]any{"internal": true},
			`^arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/net/tcp/[0-9a-f]{16}$`, `^arn:`,
			map[string]string{"dnsName": `^internal-tcp-[0-9a-f]{16}\.elb\.eu-west-1\.amazonaws\.com$`, "zoneId": "Z2IFOLAFXWLO4F"}},
		{"CloudFront", "cdn", nil, `^E[A-Z0-9]{13}$`, `^arn:aws:cloudfront::123456789012:distribution/E[A-Z0-9]{13}$`,
			map[string]string{"domainName": `^d[a-z0-9]{13}\.cloudfront\.net$`, "hostedZoneId": "Z2FDTNDATAQYW2"}},
		{"APIGateway", "api", nil, `^[a-z0-9]{10}$`, `^arn:aws:apigateway:eu-west-1::/apis/[a-z0-9]{10}$`,
			map[string]string{"endpoint": `^https://[a-z0-9]{10}\.execute-api\.eu-west-1\.amazonaws\.com$`, "executionArn": `^arn:aws:execute-api:eu-west-1:123456789012:[a-z0-9]{10}$`}},
		{"MSK", "kafka", nil, `^arn:aws:kafka:eu-west-1:123456789012:cluster/kafka/[0-9a-f-]{36}-2$`, `^arn:aws:kafka:`,
			map[string]string{"clusterName": "kafka", "bootstrapBrokersIam": `^b-1\.kafka\.[a-z0-9]{6}\.c2\.kafka\.eu-west-1\.amazonaws\.com:9098,b-2\..*,b-3\..*:9098$`}},
		{"Kafka", "topic", map[string]any{"cluster": "arn:aws:kafka:eu-west-1:123456789012:cluster/kafka/abc-2"},
			"topic", "arn:aws:kafka:eu-west-1:123456789012:topic/kafka/abc-2/topic", map[string]string{"topicName": "topic"}},
		{"EventBridge", "bus", nil, "bus", "arn:aws:events:eu-west-1:123456789012:event-bus/bus",
			map[string]string{"busName": "bus", "busArn": "arn:aws:events:eu-west-1:123456789012:event-bus/bus"}},
		{"EventBridge", "rules", map[string]any{"bus": "default"}, "rules", "arn:aws:events:eu-west-1:123456789012:event-bus/default",
			map[string]string{"busName": "default"}},
	}
	match := func(t *testing.T, what, want, got string) {
		t.Helper()
		if strings.HasPrefix(want, "^") {
			if !regexp.MustCompile(want).MatchString(got) {
				t.Errorf("%s = %q, want a match for %s", what, got, want)
			}
		} else if got != want {
			t.Errorf("%s = %q, want %q", what, got, want)
		}
	}
	for _, tc := range tests {
		t.Run(tc.kind+"/"+tc.name, func(t *testing.T) {
			obs, err := p.Create(ctx, provider.Resource{Kind: tc.kind, Name: tc.name, Spec: tc.spec})
			require.NoError(t, err)
			match(t, "ID", tc.id, obs.ID)
			match(t, "ARN", tc.arn, obs.ARN)
			for k, want := range tc.outputs {
				match(t, "output "+k, want, obs.Outputs[k])
			}
			info, _ := schema.LookupKind(tc.kind)
			got := slices.Sorted(func(yield func(string) bool) {
				for k := range obs.Outputs {
					if !yield(k) {
						return
					}
				}
			})
			require.Equal(t, info.Outputs, got, "outputs are exactly the declared ones")
			require.Equal(t, obs.ARN, obs.Outputs["arn"])
		})
	}
}

// TestOutputsFollowUpdates: outputs derived from the spec or the revision change with Update.
func TestOutputsFollowUpdates(t *testing.T) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			ctx := t.Context()
			p := st.new(t, sim.Options{})
			r := provider.Resource{Kind: "MicroService", Name: "web", Spec: map[string]any{"ports": []any{map[string]any{"name": "http", "port": int64(8080)}}}}
			obs, err := p.Create(ctx, r)
			require.NoError(t, err)
			require.True(t, strings.HasSuffix(obs.Outputs["taskDefinitionArn"], "web:1"), obs.Outputs["taskDefinitionArn"])

			r.Spec = map[string]any{"ports": []any{map[string]any{"name": "http", "port": int64(9090)}}}
			up, err := p.Update(ctx, obs.ID, r, []string{"ports"})
			require.NoError(t, err)
			require.Equal(t, obs.ID, up.ID)
			require.Equal(t, "http://web.panka.local:9090", up.Outputs["url"])
			require.True(t, strings.HasSuffix(up.Outputs["taskDefinitionArn"], "web:2"), up.Outputs["taskDefinitionArn"])

			recs, err := p.Snapshot()
			require.NoError(t, err)
			require.Len(t, recs, 1)
			require.Equal(t, 2, recs[0].Revision)
			require.Equal(t, "web", recs[0].Name)
		})
	}
}

func TestFind(t *testing.T) {
	ctx := t.Context()
	p := newSim(t)
	created, err := p.Create(ctx, sqs("orders"))
	require.NoError(t, err)

	// No address tag on the resource: any caller finds it.
	bare := sqs("bare")
	bare.Tags = nil
	_, err = p.Create(ctx, bare)
	require.NoError(t, err)
	_, err = p.Find(ctx, sqs("bare"))
	require.NoError(t, err)

	foreign := sqs("orders")
	foreign.Tags = map[string]string{"panka:address": "other/orders"}
	_, err = p.Find(ctx, foreign)
	require.ErrorIs(t, err, provider.ErrNotFound)
	require.ErrorContains(t, err, `panka:address="svc/orders"`)

	// Names are per kind: an S3 bucket of the same name is another resource.
	s3 := sqs("orders")
	s3.Kind = "S3"
	_, err = p.Find(ctx, s3)
	require.ErrorIs(t, err, provider.ErrNotFound)
	obs, err := p.Create(ctx, s3)
	require.NoError(t, err)
	require.NotEqual(t, created.ID, obs.ID)
}

func TestCreateErrors(t *testing.T) {
	ctx := t.Context()
	p := newSim(t)
	_, err := p.Create(ctx, sqs("orders"))
	require.NoError(t, err)
	_, err = p.Create(ctx, sqs("orders"))
	require.ErrorIs(t, err, provider.ErrAlreadyExists)
	require.EqualError(t, err, "create SQS orders: SQS \"orders\" exists with ID https://sqs.us-east-1.amazonaws.com/000000000000/orders: resource already exists")

	_, err = p.Create(ctx, provider.Resource{Kind: "SQS"})
	require.ErrorContains(t, err, "empty name")
	_, err = p.Create(ctx, provider.Resource{Kind: "NoSuchKind", Name: "x"})
	require.EqualError(t, err, "create NoSuchKind x: unsupported kind")
	n, err := p.Count("")
	require.NoError(t, err)
	require.Equal(t, 1, n)
}

// TestSpecValues: specs are stored in canonical JSON-compatible form, and values JSON cannot
// hold are refused, in memory as in a file; int64 and float64 survive the file.
func TestSpecValues(t *testing.T) {
	type port int
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			ctx := t.Context()
			p := st.new(t, sim.Options{})
			r := sqs("q")
			r.Spec = map[string]any{
				"int": 7, "uint8": uint8(8), "named": port(9), "f32": float32(1.5), "f64": float64(2), "big": 1e21,
				"neg": int64(-5), "strs": []string{"a", "b"}, "ints": []int{1, 2}, "smap": map[string]string{"k": "v"},
				"maps": []map[string]any{{"x": 1}}, "nil": nil, "bool": true, "quote": "a\"b\\c\n\u00e9",
			}
			obs, err := p.Create(ctx, r)
			require.NoError(t, err)
			want := map[string]any{
				"int": int64(7), "uint8": int64(8), "named": int64(9), "f32": 1.5, "f64": 2.0, "big": 1e21,
				"neg": int64(-5), "strs": []any{"a", "b"}, "ints": []any{int64(1), int64(2)}, "smap": map[string]any{"k": "v"},
				"maps": []any{map[string]any{"x": int64(1)}}, "nil": nil, "bool": true, "quote": "a\"b\\c\n\u00e9",
			}
			require.Empty(t, cmp.Diff(want, obs.Spec))
			got, err := p.Read(ctx, "SQS", obs.ID)
			require.NoError(t, err)
			require.Empty(t, cmp.Diff(want, got.Spec))

			for name, bad := range map[string]any{
				"struct": struct{}{}, "nan": float64Nan(), "chan": make(chan int), "huge": uint64(1 << 63),
			} {
				r := sqs("bad-" + name)
				r.Spec = map[string]any{"outer": map[string]any{"v": bad}}
				_, err := p.Create(ctx, r)
				require.ErrorContains(t, err, "spec.outer.v", name)
			}
			n, err := p.Count("SQS")
			require.NoError(t, err)
			require.Equal(t, 1, n)
		})
	}
}

func float64Nan() float64 {
	zero := 0.0
	return zero / zero
}

// TestMutateRemove: drift made behind Panka's back is what Read and Find then report.
func TestMutateRemove(t *testing.T) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			ctx := t.Context()
			p := st.new(t, sim.Options{})
			r := provider.Resource{Kind: "RDS", Name: "db", Spec: map[string]any{"engine": "postgres", "allocatedStorage": int64(20)}}
			obs, err := p.Create(ctx, r)
			require.NoError(t, err)
			require.Equal(t, "5432", obs.Outputs["port"])

			require.NoError(t, p.Mutate(obs.ID, func(spec map[string]any) {
				spec["allocatedStorage"] = 100
				spec["port"] = int64(6000)
				delete(spec, "engine")
			}))
			got, err := p.Read(ctx, "RDS", obs.ID)
			require.NoError(t, err)
			require.Equal(t, map[string]any{"allocatedStorage": int64(100), "port": int64(6000)}, got.Spec)
			require.Equal(t, "6000", got.Outputs["port"])
			found, err := p.Find(ctx, r)
			require.NoError(t, err)
			require.Equal(t, got, found)

			err = p.Mutate(obs.ID, func(spec map[string]any) { spec["bad"] = struct{}{} })
			require.ErrorContains(t, err, "spec.bad")
			again, err := p.Read(ctx, "RDS", obs.ID)
			require.NoError(t, err)
			require.Equal(t, got, again, "a refused Mutate changes nothing")

			require.NoError(t, p.Remove(obs.ID))
			_, err = p.Read(ctx, "RDS", obs.ID)
			require.ErrorIs(t, err, provider.ErrNotFound)
			_, err = p.Find(ctx, r)
			require.ErrorIs(t, err, provider.ErrNotFound)
			require.ErrorIs(t, p.Remove(obs.ID), provider.ErrNotFound)
			require.ErrorIs(t, p.Mutate(obs.ID, func(map[string]any) {}), provider.ErrNotFound)
			require.Equal(t, 0, p.Calls(sim.OpDelete), "drift is not an operation")
		})
	}
}

func TestMutateAmbiguousID(t *testing.T) {
	ctx := t.Context()
	p := newSim(t)
	for _, kind := range []string{"S3", "DynamoDB"} { // both use the name as ID
		_, err := p.Create(ctx, provider.Resource{Kind: kind, Name: "same"})
		require.NoError(t, err)
	}
	err := p.Remove("same")
	require.ErrorContains(t, err, "ambiguous")
	n, err := p.Count("")
	require.NoError(t, err)
	require.Equal(t, 2, n)
}

func TestInspection(t *testing.T) {
	ctx := t.Context()
	clock := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	p, err := sim.New(sim.Options{Now: func() time.Time { return clock }})
	require.NoError(t, err)
	for _, name := range []string{"b", "a", "c"} {
		_, err := p.Create(ctx, sqs(name))
		require.NoError(t, err)
	}
	_, err = p.Create(ctx, provider.Resource{Kind: "S3", Name: "bucket"})
	require.NoError(t, err)

	rs, err := p.Resources()
	require.NoError(t, err)
	var ids []string
	for _, r := range rs {
		ids = append(ids, r.ID)
	}
	require.Equal(t, []string{"bucket", "https://sqs.us-east-1.amazonaws.com/000000000000/a",
		"https://sqs.us-east-1.amazonaws.com/000000000000/b", "https://sqs.us-east-1.amazonaws.com/000000000000/c"}, ids)
	for _, kc := range []struct {
		kind string
		n    int
	}{{"SQS", 3}, {"S3", 1}, {"EBS", 0}, {"", 4}} {
		n, err := p.Count(kc.kind)
		require.NoError(t, err)
		require.Equal(t, kc.n, n, kc.kind)
	}
	recs, err := p.Snapshot()
	require.NoError(t, err)
	require.Equal(t, clock, recs[0].Created)
	require.Equal(t, "bucket", recs[0].Name)

	// Inspection results are copies.
	rs[1].Spec["visibilityTimeout"] = int64(0)
	recs[1].Spec["visibilityTimeout"] = int64(0)
	got, err := p.Read(ctx, "SQS", rs[1].ID)
	require.NoError(t, err)
	require.Equal(t, int64(30), got.Spec["visibilityTimeout"])
}

// TestErrorsName: every error names the operation, kind and resource.
func TestErrorsName(t *testing.T) {
	ctx := t.Context()
	p := newSim(t)
	_, err := p.Read(ctx, "SQS", "missing-id")
	require.EqualError(t, err, "read SQS missing-id: resource not found")
	_, err = p.Update(ctx, "missing-id", sqs("q"), nil)
	require.EqualError(t, err, "update SQS missing-id: resource not found")
	_, err = p.Find(ctx, sqs("q"))
	require.EqualError(t, err, "find SQS q: resource not found")
	require.NoError(t, p.Delete(ctx, "missing-id", provider.Resource{Kind: "SQS"}))

	canceled, cancel := context.WithCancel(ctx)
	cancel()
	err = p.Delete(canceled, "x", provider.Resource{Kind: "SQS"})
	require.EqualError(t, err, "delete SQS x: context canceled")
	require.True(t, errors.Is(err, context.Canceled))
}
