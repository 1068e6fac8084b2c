package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go/logging"

	"github.com/panka/panka"
	"github.com/panka/panka/backend"
	"github.com/panka/panka/backend/s3state"
	"github.com/panka/panka/internal/localaws"
	"github.com/panka/panka/state"
)

// TestCrashRecoveryAWS is TestCrashRecovery with the AWS provider on the local emulator
// (--local --provider aws): it kills `panka apply` and `panka destroy` (SIGKILL, at random
// points) several times, runs them to completion, and checks through the AWS SDK, against the
// emulator and independently of Panka, that nothing was duplicated or orphaned: after each kill,
// every resource of the deployment in the emulator is one the configuration declares, at most one
// per component, known to the state; after each recovery, the emulator holds exactly the
// declared resources (and their parts: subscriptions, rules) as the state records them, or none
// at all after a destroy; the state records each component once, the next plan is empty and the
// lock is free. The emulator is a detached process shared by the runs of the state dir: the kills
// leave it running, and the test stops it at the end.
//
// The seed is logged; PANKA_CRASH_SEED=N replays the same sequence of operations and delays (the
// emulator's timing still varies).
func TestCrashRecoveryAWS(t *testing.T) {
	crashAWS(t, writeAWSCrashStack)
}

// awsCrashStack is what the AWS crash test deploys: a configuration, and every resource it must
// make. Pointing the test at another configuration, an example directory, is a function that
// returns one of these (and ignores the directory it is given):
//
//	func serverlessStack(t *testing.T, _ string) awsCrashStack {
//		p := "serverless-default-"
//		return awsCrashStack{
//			config: mustAbs("../../examples/serverless"),
//			key:    backend.Key{Tenant: "default", Stack: "serverless", Environment: "default"},
//			prefix: p,
//			want:   []awsWant{{address: "api/orders", kind: "Lambda", name: p + "api-orders", parts: ...}, ...},
//			targetable: []string{...},
//		}
//	}
//	func TestCrashRecoveryServerless(t *testing.T) { crashAWS(t, serverlessStack) }
//
// and, for each service the inventory does not list yet (Lambda, API Gateway, CloudFront...), a
// lister in awsListers.
type awsCrashStack struct {
	// config is the configuration's path (a file or a directory), as the CLI is given it: absolute,
	// or relative to the test's directory.
	config string
	key    backend.Key
	// prefix is the beginning of every physical name of the deployment ("stack-environment-"):
	// a resource whose name starts with it belongs to the deployment even before it is tagged.
	prefix string
	want   []awsWant // sorted by address
	// targetable are addresses that can be destroyed alone (nothing else depends on them).
	targetable []string
	// flags are more flags for every command (--env for a stack of several environments).
	flags []string
}

// awsWant is one component as the emulator must hold it after an apply.
type awsWant struct {
	address string
	kind    string // the AWS kind the inventory reports (awsRes.kind)
	name    string // the physical name
	// parts are the names of its parts: an SNS topic's subscriptions ("protocol endpoint-name"),
	// an EventBridge bus's rules and archive ("rule NAME", "archive NAME").
	parts []string
}

// writeAWSCrashStack writes into dir a stack of every kind the AWS provider builds: SQS queues
// (a dead-letter queue, a queue redriving to it, a FIFO queue), an SNS topic with a subscription
// of a queue, two S3 buckets, a DynamoDB table with a stream, and an EventBridge bus with a rule
// targeting a queue and an archive.
func writeAWSCrashStack(t *testing.T, dir string) awsCrashStack {
	t.Helper()
	const stack = `apiVersion: panka.io/v1
kind: Stack
metadata: {name: crashaws}
spec:
  provider: {name: aws, region: us-east-1}
---
apiVersion: panka.io/v1
kind: Service
metadata: {name: msg}
---
apiVersion: panka.io/v1
kind: Service
metadata: {name: data}
`
	const msg = `apiVersion: panka.io/v1
kind: SQS
metadata: {name: dlq, service: msg}
spec: {messageRetention: 1209600}
---
apiVersion: panka.io/v1
kind: SQS
metadata: {name: jobs, service: msg}
spec:
  visibilityTimeout: 60
  deadLetterQueue: {target: dlq, maxReceiveCount: 5}
---
apiVersion: panka.io/v1
kind: SQS
metadata: {name: orders, service: msg}
spec: {fifo: true, contentBasedDeduplication: true}
---
apiVersion: panka.io/v1
kind: SNS
metadata: {name: events, service: msg}
spec:
  displayName: Crash events
  subscriptions:
    - {protocol: sqs, target: jobs, rawMessageDelivery: true}
---
apiVersion: panka.io/v1
kind: EventBridge
metadata: {name: bus, service: msg}
spec:
  archive: {retentionDays: 7}
  rules:
    - name: paid
      eventPattern: {source: [crash.orders]}
      targets: [{target: jobs}]
`
	const data = `apiVersion: panka.io/v1
kind: S3
metadata: {name: files, service: data}
spec: {versioning: true}
---
apiVersion: panka.io/v1
kind: S3
metadata: {name: logs, service: data}
---
apiVersion: panka.io/v1
kind: DynamoDB
metadata: {name: table, service: data}
spec:
  hashKey: id
  attributes: [{name: id, type: S}]
  stream: {enabled: true, viewType: NEW_IMAGE}
`
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{"stack.yaml": stack, "msg.yaml": msg, "data.yaml": data} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p := "crashaws-default-"
	return awsCrashStack{
		config: dir,
		key:    backend.Key{Tenant: "default", Stack: "crashaws", Environment: "default"},
		prefix: p,
		want: []awsWant{
			{address: "data/files", kind: "S3", name: p + "data-files"},
			{address: "data/logs", kind: "S3", name: p + "data-logs"},
			{address: "data/table", kind: "DynamoDB", name: p + "data-table"},
			{address: "msg/bus", kind: "EventBridge", name: p + "msg-bus", parts: []string{"archive " + p + "msg-bus", "rule paid"}},
			{address: "msg/dlq", kind: "SQS", name: p + "msg-dlq"},
			{address: "msg/events", kind: "SNS", name: p + "msg-events", parts: []string{"sqs " + p + "msg-jobs"}},
			{address: "msg/jobs", kind: "SQS", name: p + "msg-jobs"},
			{address: "msg/orders", kind: "SQS", name: p + "msg-orders.fifo"},
		},
		targetable: []string{"data/files", "data/logs", "data/table", "msg/bus", "msg/events", "msg/orders"},
	}
}

// crashAWS runs the crash test on the stack that write writes into a directory.
func crashAWS(t *testing.T, write func(t *testing.T, dir string) awsCrashStack) {
	rng := crashRand(t)

	dir := localDir(t) // its cleanup stops the emulator
	stack := write(t, filepath.Join(dir, "config"))
	// A short lease, so that the lease a killed run leaves behind expires soon.
	c := &cli{t: t, dir: dir, env: []string{"PANKA_LOCK_TTL=2s"}}
	w := &awsCrashWorld{crashWorld: &crashWorld{t: t, c: c, dir: dir}, stack: stack}
	for _, r := range stack.want {
		w.addrs = append(w.addrs, r.address)
	}
	args := func(op string, extra ...string) []string {
		a := append([]string{op, "--auto-approve", "--parallelism", "4", "--lock-timeout", "30s"}, w.flags()...)
		return append(append(a, extra...), stack.config)
	}

	// Uninterrupted runs first: they must work, and they time a full run. The first one starts
	// the emulator; the test then connects to it too.
	full, ops := map[string]time.Duration{}, map[string]time.Duration{}
	_, full["apply"], ops["apply"] = w.killAt(kill{}, args("apply"))
	w.connect()
	w.checkConverged("first apply")
	_, full["destroy"], ops["destroy"] = w.killAt(kill{}, args("destroy"))
	w.checkEmpty("first destroy")
	t.Logf("full run: apply %s (operations %s), destroy %s (operations %s)", full["apply"].Round(time.Millisecond), ops["apply"].Round(time.Millisecond),
		full["destroy"].Round(time.Millisecond), ops["destroy"].Round(time.Millisecond))
	if t.Failed() {
		t.FailNow()
	}

	// Kills until both operations were interrupted a few times: 6 to 10 kills in all, most of
	// them interrupting a run.
	const wantPerOp = 3
	converged := false
	interrupted, kills, byOp := 0, 0, map[string]int{}
	for round := 0; byOp["apply"] < wantPerOp || byOp["destroy"] < wantPerOp; round++ {
		if kills >= 16 {
			t.Fatalf("%d kills interrupted only %v (want %d of each)", kills, byOp, wantPerOp)
		}
		// Kill the operation that has work to do, once or twice in a row: a destroy after an
		// apply completed (or, sometimes, an apply after a targeted destroy), an apply after a
		// destroy. Once the applies had their kills, a destroy needs a stack to destroy.
		if !converged && byOp["apply"] >= wantPerOp {
			c.must(args("apply")...)
			w.checkConverged(fmt.Sprintf("round %d: apply", round))
			converged = true
		}
		op := "apply"
		if converged {
			if byOp["destroy"] < wantPerOp && (byOp["apply"] >= wantPerOp || rng.IntN(4) > 0) {
				op = "destroy"
			} else {
				target := stack.targetable[rng.IntN(len(stack.targetable))]
				c.must(args("destroy", "--target", target)...)
				w.checkNoDuplicates(fmt.Sprintf("round %d: after destroy --target %s", round, target))
			}
		}
		n := 1 + rng.IntN(2)
		for i := range n {
			// A third of the kills come at a random time of the run (connecting to the
			// emulator, taking the lock, refreshing...), a third at a random time once
			// operations started, the others right after the n'th operation completed, before
			// its result can have been saved. n is biased to small numbers: the first
			// operations are the riskiest.
			var k kill
			var when string
			switch rng.IntN(3) {
			case 0:
				k.delay = time.Duration(rng.Int64N(int64(full[op])))
				when = fmt.Sprintf("round %d: %s killed after %s", round, op, k.delay.Round(time.Microsecond))
			case 1:
				k.delay, k.fromOps = time.Duration(rng.Int64N(int64(ops[op])+1)), true
				when = fmt.Sprintf("round %d: %s killed %s after its first operation started", round, op, k.delay.Round(time.Microsecond))
			default:
				k.afterOps = 1 + rng.IntN(1+rng.IntN(len(stack.want)))
				when = fmt.Sprintf("round %d: %s killed when operation #%d completed", round, op, k.afterOps)
			}
			killed, _, _ := w.killAt(k, args(op))
			kills++
			if killed {
				interrupted++
				byOp[op]++
			} else {
				when += " (it had finished)"
			}
			w.checkNoDuplicates(when)
			// An operator clears the dead run's lock, or (sometimes, before the recovery run)
			// the next run waits for the lease to expire.
			if i < n-1 || rng.IntN(3) > 0 {
				w.forceUnlock()
			}
		}
		// Recover: run to completion. A killed destroy is sometimes followed by an apply, a
		// killed apply by a destroy (which must find what the apply left pending).
		recovery := op
		switch {
		case op == "destroy" && rng.IntN(3) == 0:
			recovery = "apply"
		case op == "apply" && rng.IntN(4) == 0:
			recovery = "destroy"
		}
		w.recover(args(recovery))
		what := fmt.Sprintf("round %d: %s after a killed %s", round, recovery, op)
		if recovery == "apply" {
			w.checkConverged(what)
		} else {
			w.checkEmpty(what)
		}
		converged = recovery == "apply"
		if t.Failed() {
			t.Fatalf("stopping at round %d (replay with the seed logged above)", round)
		}
	}
	if converged {
		c.must(args("destroy")...)
		w.checkEmpty("last destroy")
	}
	t.Logf("%d kills, %d of them interrupted a run (apply %d, destroy %d)", kills, interrupted, byOp["apply"], byOp["destroy"])
	// The kills of the CLI left the emulator it shares with the other runs of the state dir
	// running: the first run started it, and no other started another.
	if g := emulatorGeneration(t, dir); g != "1" {
		t.Errorf("%s emulators served the state dir, want 1 (a kill of the CLI took the emulator down)", g)
	}
}

// awsCrashWorld is the crash test's directory with --local --provider aws, and the emulator it
// checks through the SDK.
type awsCrashWorld struct {
	*crashWorld
	stack awsCrashStack

	cfg     aws.Config
	backend *s3state.Backend
}

// flags are the CLI flags of every command of the test.
func (w *awsCrashWorld) flags() []string {
	return append([]string{"--local", "--provider", "aws", "--state-dir", "st"}, w.stack.flags...)
}

// connect connects the test to the state dir's emulator (started by a CLI run), as a client of
// its own: closed by the test's cleanup, before the emulator is stopped.
func (w *awsCrashWorld) connect() {
	w.t.Helper()
	w.connectEmulator()
	var err error
	if w.backend, err = s3state.New(w.t.Context(), s3state.NewClient(w.cfg), s3state.Options{Bucket: localBucket}); err != nil {
		w.t.Fatal(err)
	}
}

// connectEmulator connects the test to the state dir's emulator, starting it if no run has
// yet, without the state backend (whose bucket the first run makes).
func (w *awsCrashWorld) connectEmulator() {
	w.t.Helper()
	conn, err := localaws.Connect(w.t.Context(), filepath.Join(w.dir, "st", "local-aws"), localaws.ConnectOptions{
		Command: func(dataDir string) (*exec.Cmd, error) { return w.c.command("local-aws", "serve", dataDir), nil },
	})
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { _ = conn.Close() })
	if w.cfg, err = conn.Config(w.t.Context(), localRegion); err != nil {
		w.t.Fatal(err)
	}
	w.cfg.Logger = logging.Nop{} // kumo sends no response checksums, which the SDK logs about
	w.cfg.HTTPClient = &http.Client{Transport: wholeBodies{awshttp.NewBuildableClient().GetTransport()}}
}

// wholeBodies reads each response body whole before the SDK decodes it. The SDK decodes a body
// as it reads it; under the race detector, with the test's checks and the CLI's runs loading the
// machine, a slow decode of a large answer (DescribeSecurityGroups of the whole platform) has
// seen its connection closed under it ("use of closed network connection", every retry alike),
// which a body read at once never did. The cause is not found: this keeps the checks' reads,
// not Panka's, out of it.
type wholeBodies struct{ rt http.RoundTripper }

func (w wholeBodies) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := w.rt.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

// readState returns the recorded state (empty if none was written yet).
func (w *awsCrashWorld) readState() *state.State {
	w.t.Helper()
	key := w.stack.key
	// With its journal applied: a run whose last changes are journal entries has no reason to
	// write another revision.
	st, err := panka.ReadState(w.t.Context(), w.backend, key)
	if errors.Is(err, backend.ErrNotFound) {
		return state.New(key.Tenant, key.Stack, key.Environment)
	}
	if err != nil {
		w.t.Fatal(err)
	}
	return st
}

// forceUnlock releases the lock a killed run left behind, as an operator would.
func (w *awsCrashWorld) forceUnlock() {
	w.t.Helper()
	info := w.c.must(append(append([]string{"lock", "info"}, w.flags()...), w.stack.config)...).stdout
	if strings.Contains(info, "is not locked") {
		return
	}
	m := lockIDLine.FindStringSubmatch(info)
	if m == nil {
		w.t.Fatalf("lock info: no ID in\n%s", info)
	}
	w.c.must(append(append([]string{"lock", "force-unlock", m[1]}, w.flags()...), w.stack.config)...)
}

func (w *awsCrashWorld) checkUnlocked(when string) {
	w.t.Helper()
	out := w.c.must(append(append([]string{"lock", "info"}, w.flags()...), w.stack.config)...).stdout
	if !strings.Contains(out, "is not locked") {
		w.t.Errorf("%s: the lock is still held:\n%s", when, out)
	}
}

// awsRes is a resource of the deployment as the emulator holds it.
type awsRes struct {
	kind, name, id string // id: as the AWS provider gives it (a queue's URL, a topic's ARN, a bus's name)
	arn            string // where the ID is not
	tags           map[string]string
	parts          []string // as awsWant.parts, sorted
}

func (r awsRes) String() string { return fmt.Sprintf("%s %s (%s)", r.kind, r.name, r.id) }

// inventory lists, through the SDK, every resource of the emulator that belongs to the
// deployment (by its panka:* tags, or by its physical name), and stray parts: parts of the
// deployment whose resource is gone (a subscription of a deleted topic, an archive of a deleted
// bus, a rule of the deployment on the default bus).
func (w *awsCrashWorld) inventory() (res []awsRes, stray []string) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(w.t.Context(), time.Minute)
	defer cancel()
	ours := func(name string, tags map[string]string) bool {
		k := w.stack.key
		return strings.HasPrefix(name, w.stack.prefix) ||
			tags["panka:stack"] == k.Stack && tags["panka:environment"] == k.Environment && tags["panka:tenant"] == k.Tenant
	}
	scope := awsScope{ours: ours, prefix: w.stack.prefix}
	for _, r := range w.stack.want {
		scope.names = append(scope.names, r.name)
	}
	for _, list := range awsListers {
		r, s, err := list(ctx, w.cfg, scope)
		if err != nil {
			w.t.Fatalf("listing the emulator's resources: %v", err)
		}
		res, stray = append(res, r...), append(stray, s...)
	}
	return res, stray
}

// awsScope is what the inventory looks for.
type awsScope struct {
	// ours reports whether a resource named name with tags belongs to the deployment.
	ours func(name string, tags map[string]string) bool
	// names are the physical names the stack declares (what to ask for where nothing lists).
	names []string
	// prefix begins every physical name of the deployment ("stack-environment-").
	prefix string
}

// nameOf is the physical name of the component at address (without a kind's suffix).
func (s awsScope) nameOf(address string) string {
	return s.prefix + strings.Replace(address, "/", "-", 1)
}

// awsListers list the resources of one service each that belong to the deployment, and its
// stray parts. Adding a kind to the test is adding its lister.
var awsListers = []func(ctx context.Context, cfg aws.Config, scope awsScope) ([]awsRes, []string, error){
	listQueues, listTopics, listBuckets, listTables, listBuses, listFunctions, listAPIs, listDistributions,
}

func listQueues(ctx context.Context, cfg aws.Config, scope awsScope) ([]awsRes, []string, error) {
	ours := scope.ours
	c := sqs.NewFromConfig(cfg)
	var out []awsRes
	p := sqs.NewListQueuesPaginator(c, &sqs.ListQueuesInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("ListQueues: %w", err)
		}
		for _, url := range page.QueueUrls {
			tags, err := c.ListQueueTags(ctx, &sqs.ListQueueTagsInput{QueueUrl: aws.String(url)})
			if isGone(err) {
				continue // deleted meanwhile
			}
			if err != nil {
				return nil, nil, fmt.Errorf("ListQueueTags %s: %w", url, err)
			}
			name := url[strings.LastIndex(url, "/")+1:]
			if ours(name, tags.Tags) {
				out = append(out, awsRes{kind: "SQS", name: name, id: url, tags: tags.Tags})
			}
		}
	}
	return out, nil, nil
}

func listTopics(ctx context.Context, cfg aws.Config, scope awsScope) ([]awsRes, []string, error) {
	ours := scope.ours
	c := sns.NewFromConfig(cfg)
	byARN := map[string]*awsRes{}
	var arns []string
	p := sns.NewListTopicsPaginator(c, &sns.ListTopicsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("ListTopics: %w", err)
		}
		for _, t := range page.Topics {
			arn := aws.ToString(t.TopicArn)
			out, err := c.ListTagsForResource(ctx, &sns.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
			if isGone(err) {
				continue
			}
			if err != nil {
				return nil, nil, fmt.Errorf("SNS ListTagsForResource %s: %w", arn, err)
			}
			tags := map[string]string{}
			for _, tag := range out.Tags {
				tags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
			}
			if name := arnName(arn); ours(name, tags) {
				byARN[arn] = &awsRes{kind: "SNS", name: name, id: arn, tags: tags}
				arns = append(arns, arn)
			}
		}
	}
	var stray []string
	sp := sns.NewListSubscriptionsPaginator(c, &sns.ListSubscriptionsInput{})
	for sp.HasMorePages() {
		page, err := sp.NextPage(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("ListSubscriptions: %w", err)
		}
		for _, s := range page.Subscriptions {
			topic := aws.ToString(s.TopicArn)
			part := aws.ToString(s.Protocol) + " " + arnName(aws.ToString(s.Endpoint))
			if r := byARN[topic]; r != nil {
				r.parts = append(r.parts, part)
			} else if ours(arnName(topic), nil) {
				stray = append(stray, fmt.Sprintf("subscription %s of topic %s, which does not exist", part, topic))
			}
		}
	}
	var out []awsRes
	for _, arn := range arns {
		slices.Sort(byARN[arn].parts)
		out = append(out, *byARN[arn])
	}
	return out, stray, nil
}

func listBuckets(ctx context.Context, cfg aws.Config, scope awsScope) ([]awsRes, []string, error) {
	ours := scope.ours
	c := s3state.NewClient(cfg)
	list, err := c.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil {
		return nil, nil, fmt.Errorf("ListBuckets: %w", err)
	}
	var out []awsRes
	for _, b := range list.Buckets {
		name := aws.ToString(b.Name)
		tags := map[string]string{}
		t, err := c.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String(name)})
		switch {
		case err == nil:
			for _, tag := range t.TagSet {
				tags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
			}
		case isGone(err):
			if _, herr := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(name)}); herr != nil {
				continue // deleted meanwhile
			}
			// A bucket without tags.
		default:
			return nil, nil, fmt.Errorf("GetBucketTagging %s: %w", name, err)
		}
		if ours(name, tags) {
			out = append(out, awsRes{kind: "S3", name: name, id: name, tags: tags})
		}
	}
	return out, nil, nil
}

func listTables(ctx context.Context, cfg aws.Config, scope awsScope) ([]awsRes, []string, error) {
	ours := scope.ours
	c := dynamodb.NewFromConfig(cfg)
	var out []awsRes
	p := dynamodb.NewListTablesPaginator(c, &dynamodb.ListTablesInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("ListTables: %w", err)
		}
		for _, name := range page.TableNames {
			d, err := c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
			if isGone(err) {
				continue
			}
			if err != nil {
				return nil, nil, fmt.Errorf("DescribeTable %s: %w", name, err)
			}
			tags := map[string]string{}
			var next *string
			for {
				t, err := c.ListTagsOfResource(ctx, &dynamodb.ListTagsOfResourceInput{ResourceArn: d.Table.TableArn, NextToken: next})
				if err != nil {
					return nil, nil, fmt.Errorf("ListTagsOfResource %s: %w", name, err)
				}
				for _, tag := range t.Tags {
					tags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
				}
				if next = t.NextToken; next == nil {
					break
				}
			}
			if ours(name, tags) {
				out = append(out, awsRes{kind: "DynamoDB", name: name, id: name, tags: tags})
			}
		}
	}
	return out, nil, nil
}

func listBuses(ctx context.Context, cfg aws.Config, scope awsScope) ([]awsRes, []string, error) {
	ours := scope.ours
	c := eventbridge.NewFromConfig(cfg)
	var out []awsRes
	var stray []string
	buses := map[string]bool{}
	var next *string
	for {
		page, err := c.ListEventBuses(ctx, &eventbridge.ListEventBusesInput{NextToken: next})
		if err != nil {
			return nil, nil, fmt.Errorf("ListEventBuses: %w", err)
		}
		for _, b := range page.EventBuses {
			name := aws.ToString(b.Name)
			buses[name] = true
			if name == "default" {
				continue
			}
			t, err := c.ListTagsForResource(ctx, &eventbridge.ListTagsForResourceInput{ResourceARN: b.Arn})
			if isGone(err) {
				continue
			}
			if err != nil {
				return nil, nil, fmt.Errorf("EventBridge ListTagsForResource %s: %w", name, err)
			}
			tags := map[string]string{}
			for _, tag := range t.Tags {
				tags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
			}
			if !ours(name, tags) {
				continue
			}
			r := awsRes{kind: "EventBridge", name: name, id: name, arn: aws.ToString(b.Arn), tags: tags}
			rules, err := listRuleNames(ctx, c, name)
			if err != nil {
				return nil, nil, err
			}
			for _, rule := range rules {
				r.parts = append(r.parts, "rule "+rule)
			}
			out = append(out, r)
		}
		if next = page.NextToken; next == nil {
			break
		}
	}
	// Rules of the deployment on the default bus: none of its components is on it.
	rules, err := listRuleNames(ctx, c, "default")
	if err != nil {
		return nil, nil, err
	}
	for _, rule := range rules {
		if ours(rule, nil) {
			stray = append(stray, fmt.Sprintf("rule %s on the default bus", rule))
		}
	}
	// Archives: the emulator cannot list them; ask for the one each bus could have (named as its
	// bus), whether or not the bus exists.
	for _, name := range scope.names {
		a, err := c.DescribeArchive(ctx, &eventbridge.DescribeArchiveInput{ArchiveName: aws.String(name)})
		if isGone(err) {
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("DescribeArchive %s: %w", name, err)
		}
		i := slices.IndexFunc(out, func(r awsRes) bool { return r.arn == aws.ToString(a.EventSourceArn) })
		if i < 0 {
			stray = append(stray, fmt.Sprintf("archive %s of bus %s, which does not exist", name, aws.ToString(a.EventSourceArn)))
			continue
		}
		out[i].parts = append(out[i].parts, "archive "+name)
	}
	for i := range out {
		slices.Sort(out[i].parts)
	}
	return out, stray, nil
}

func listRuleNames(ctx context.Context, c *eventbridge.Client, bus string) ([]string, error) {
	var names []string
	var next *string
	for {
		page, err := c.ListRules(ctx, &eventbridge.ListRulesInput{EventBusName: aws.String(bus), NextToken: next})
		if err != nil {
			return nil, fmt.Errorf("ListRules of bus %s: %w", bus, err)
		}
		for _, r := range page.Rules {
			names = append(names, aws.ToString(r.Name))
		}
		if next = page.NextToken; next == nil {
			return names, nil
		}
	}
}

// arnName is the name at the end of an ARN (a topic's or a queue's).
func arnName(arn string) string { return arn[strings.LastIndex(arn, ":")+1:] }

// isGone reports whether err says the resource asked about does not exist.
func isGone(err error) bool {
	if err == nil {
		return false
	}
	s := err.Error()
	for _, code := range []string{"NotFound", "NonExistent", "NoSuch", "does not exist"} {
		if strings.Contains(s, code) {
			return true
		}
	}
	return false
}

// wantOf returns what the stack declares of the resource of kind named name.
func (w *awsCrashWorld) wantOf(kind, name string) *awsWant {
	for i, r := range w.stack.want {
		if r.kind == kind && r.name == name {
			return &w.stack.want[i]
		}
	}
	return nil
}

// checkNoDuplicates checks what must hold at any instant, even right after a kill: every
// resource of the deployment in the emulator is one the stack declares, tagged (if tagged yet)
// as that component of this deployment, at most one per component, known to the state by its ID
// or as a pending create under its name, so the next run finds it; no part has lost its resource;
// the state records each component once.
func (w *awsCrashWorld) checkNoDuplicates(when string) {
	w.t.Helper()
	st := w.readState()
	res, stray := w.inventory()
	pending := 0
	for _, r := range st.Resources {
		if r.Status == state.StatusPending {
			pending++
		}
	}
	w.t.Logf("%s: state serial %d records %d resources (%d pending), the emulator holds %d", when, st.Serial, len(st.Resources), pending, len(res))
	seen := map[string]bool{}
	for _, r := range st.Resources {
		if seen[r.Address] {
			w.t.Errorf("%s: state records %s twice", when, r.Address)
		}
		seen[r.Address] = true
	}
	for _, s := range stray {
		// A part the state records is not an orphan: the next run deletes it (a distribution's
		// origin access control outlives the distribution for a moment, as AWS requires), or
		// adopts it (a function's role, made before the function).
		if recordedPart(st, s) {
			w.t.Logf("%s: left for the next run, recorded in state: %s", when, s)
			continue
		}
		w.t.Errorf("%s: orphan: %s", when, s)
	}
	perAddr := map[string][]string{}
	for _, rec := range res {
		want := w.wantOf(rec.kind, rec.name)
		if want == nil {
			w.t.Errorf("%s: the emulator holds %s, tagged %v, which is not a resource of the stack", when, rec, rec.tags)
			continue
		}
		if addr, ok := rec.tags["panka:address"]; ok && addr != want.address || ok && !w.ownedTags(rec.tags) {
			w.t.Errorf("%s: the emulator holds %s tagged %v, want it tagged as %s of %v", when, rec, rec.tags, want.address, w.stack.key)
		}
		perAddr[want.address] = append(perAddr[want.address], rec.id)
		r := st.Lookup(want.address)
		switch {
		case r == nil:
			w.t.Errorf("%s: orphan: the emulator holds %s (%s), the state does not record it", when, want.address, rec)
		case r.ID == rec.id, slices.Contains(r.Deposed, rec.id):
		case r.Status == state.StatusPending && r.Name == rec.name:
		default:
			w.t.Errorf("%s: orphan: the emulator holds %s as %s, the state records %q (%s) %q", when, want.address, rec, r.ID, r.Status, r.Name)
		}
		for i := 1; i < len(rec.parts); i++ {
			if rec.parts[i] == rec.parts[i-1] {
				w.t.Errorf("%s: duplicates: %s has %s twice", when, rec, rec.parts[i])
			}
		}
		for _, p := range rec.parts {
			if !slices.Contains(want.parts, p) {
				w.t.Errorf("%s: %s has %s, which the stack does not declare", when, rec, p)
			}
		}
	}
	for addr, ids := range perAddr {
		if len(ids) > 1 {
			w.t.Errorf("%s: duplicates: the emulator holds %d resources for %s: %v", when, len(ids), addr, ids)
		}
	}
}

// recordedPart reports whether stray, an inventory's description of a part without its
// resource, names a part the state records of one of its resources, or a part of a resource
// whose create is recorded pending (the parts a create makes first are found by its name).
func recordedPart(st *state.State, stray string) bool {
	for _, r := range st.Resources {
		if r.Status == state.StatusPending && strings.Contains(stray, r.Name) {
			return true
		}
		for _, p := range r.Parts {
			if p.ID != "" && strings.Contains(stray, p.ID) {
				return true
			}
		}
	}
	return false
}

// ownedTags reports whether tags name this deployment.
func (w *awsCrashWorld) ownedTags(tags map[string]string) bool {
	k := w.stack.key
	return tags["panka:tenant"] == k.Tenant && tags["panka:stack"] == k.Stack && tags["panka:environment"] == k.Environment
}

// checkConverged checks the stack after a successful apply: the state records every component
// once, created; the emulator holds exactly the declared resources, with their parts, tagged as
// theirs, with the IDs the state records; the next plan is empty; the lock is free.
func (w *awsCrashWorld) checkConverged(when string) {
	w.t.Helper()
	w.checkNoDuplicates(when)
	st := w.readState()
	var got []string
	for _, r := range st.Resources {
		got = append(got, r.Address)
		if r.Status != state.StatusCreated || r.ID == "" || len(r.Deposed) > 0 {
			w.t.Errorf("%s: state records %s as %s with ID %q, deposed %v; want created", when, r.Address, r.Status, r.ID, r.Deposed)
		}
	}
	if !slices.Equal(got, w.addrs) {
		w.t.Errorf("%s: state records\n%v\nwant every address of the config once:\n%v", when, got, w.addrs)
	}
	res, _ := w.inventory()
	for _, want := range w.stack.want {
		i := slices.IndexFunc(res, func(r awsRes) bool { return r.kind == want.kind && r.name == want.name })
		if i < 0 {
			w.t.Errorf("%s: the emulator does not hold %s (%s %s)", when, want.address, want.kind, want.name)
			continue
		}
		rec := res[i]
		if rec.tags["panka:address"] != want.address || !w.ownedTags(rec.tags) {
			w.t.Errorf("%s: %s is tagged %v, want it tagged as %s of %v", when, rec, rec.tags, want.address, w.stack.key)
		}
		if r := st.Lookup(want.address); r == nil || r.ID != rec.id {
			w.t.Errorf("%s: the emulator holds %s as %s, the state records %+v", when, want.address, rec, r)
		}
		if !slices.Equal(rec.parts, want.parts) {
			w.t.Errorf("%s: %s has parts %q, want %q", when, rec, rec.parts, want.parts)
		}
	}
	plan := append(append([]string{"plan", "--detailed-exitcode"}, w.flags()...), w.stack.config)
	if r := w.c.run(plan...); r.code != 0 || !strings.Contains(r.stdout, "No changes.") {
		w.t.Errorf("%s: the next plan is not empty: %s", when, r)
	}
	w.checkUnlocked(when)
}

// checkEmpty checks the stack after a successful destroy: nothing recorded, nothing of the
// deployment left in the emulator, the lock free.
func (w *awsCrashWorld) checkEmpty(when string) {
	w.t.Helper()
	w.t.Logf("%s: checking that nothing is left", when)
	for _, r := range w.readState().Resources {
		w.t.Errorf("%s: state still records %s (%s, %s)", when, r.Address, r.Status, r.ID)
	}
	res, stray := w.inventory()
	for _, rec := range res {
		w.t.Errorf("%s: orphan: the emulator still holds %s, tagged %v", when, rec, rec.tags)
	}
	for _, s := range stray {
		w.t.Errorf("%s: orphan: %s", when, s)
	}
	w.checkUnlocked(when)
}

// TestAWSApplyAfterInterruptedDestroyRestoresParts sets up, deterministically, what a destroy
// killed in the middle of deleting an SNS topic and an EventBridge bus leaves behind (their
// delete removes the parts first: the topic's subscriptions, the bus's rules and archive; the
// kill comes before the topic and the bus go), which TestCrashRecoveryAWS finds at random when
// an apply follows such a destroy: the apply must see the parts are gone and put them back.
func TestAWSApplyAfterInterruptedDestroyRestoresParts(t *testing.T) {
	dir := localDir(t)
	stack := writeAWSCrashStack(t, filepath.Join(dir, "config"))
	c := &cli{t: t, dir: dir}
	w := &awsCrashWorld{crashWorld: &crashWorld{t: t, c: c, dir: dir}, stack: stack}
	for _, r := range stack.want {
		w.addrs = append(w.addrs, r.address)
	}
	apply := append(append([]string{"apply", "--auto-approve"}, w.flags()...), stack.config)
	c.must(apply...)
	w.connect()
	w.checkConverged("first apply")

	// The deletes of the parts, as the provider's destroy makes them.
	ctx := t.Context()
	topic := "arn:aws:sns:us-east-1:000000000000:" + stack.prefix + "msg-events"
	sc := sns.NewFromConfig(w.cfg)
	subs, err := sc.ListSubscriptionsByTopic(ctx, &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(topic)})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range subs.Subscriptions {
		if _, err := sc.Unsubscribe(ctx, &sns.UnsubscribeInput{SubscriptionArn: s.SubscriptionArn}); err != nil {
			t.Fatal(err)
		}
	}
	ec := eventbridge.NewFromConfig(w.cfg)
	bus, rule := aws.String(stack.prefix+"msg-bus"), aws.String("paid")
	targets, err := ec.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: rule, EventBusName: bus})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, tg := range targets.Targets {
		ids = append(ids, aws.ToString(tg.Id))
	}
	if _, err := ec.RemoveTargets(ctx, &eventbridge.RemoveTargetsInput{Rule: rule, EventBusName: bus, Ids: ids}); err != nil {
		t.Fatal(err)
	}
	if _, err := ec.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: rule, EventBusName: bus}); err != nil {
		t.Fatal(err)
	}
	if _, err := ec.DeleteArchive(ctx, &eventbridge.DeleteArchiveInput{ArchiveName: bus}); err != nil {
		t.Fatal(err)
	}

	plan := append(append([]string{"plan", "--detailed-exitcode"}, w.flags()...), stack.config)
	if r := c.run(plan...); r.code != 2 || !strings.Contains(r.stdout, "Plan: 0 to add, 2 to change, 0 to replace, 0 to destroy.") {
		t.Errorf("plan after the parts were deleted: want msg/bus and msg/events to change, got %s", r)
	}
	c.must(apply...)
	w.checkConverged("apply after the parts were deleted")
}
