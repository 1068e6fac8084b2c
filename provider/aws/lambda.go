package aws

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	schedtypes "github.com/aws/aws-sdk-go-v2/service/scheduler/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/panka/panka/provider"
)

// Lambda: a function and the resources it is made of, its parts. The physical ID is the function
// name (the engine's physical name). The fields of schema.LambdaSpec:
//
//	image                    PackageType Image, Code.ImageUri
//	runtime, handler         Runtime, Handler (zip packages)
//	code.path                the zip the engine packaged (r.Files["code"], an error when missing)
//	                         uploaded as ZipFile; its base64 SHA-256 (the engine's code.sha256)
//	                         is compared with the live CodeSha256 to decide whether to upload
//	                         again
//	code.s3Bucket, s3Key,    Code.S3Bucket, S3Key, S3ObjectVersion
//	  s3ObjectVersion
//	memory, timeout          MemorySize, Timeout
//	ephemeralStorage         EphemeralStorage.Size
//	architecture             Architectures (set with the code: UpdateFunctionCode)
//	env                      Environment.Variables
//	secrets                  Environment.Variables too, each the value of its secret reference
//	                         read at deploy time: a Secrets Manager ARN (with an optional
//	                         ":json-key:version-stage:version-id") or secretsmanager:NAME[#key],
//	                         by GetSecretValue; an SSM parameter ARN or ssm:/NAME, by GetParameter
//	                         with decryption
//	reservedConcurrency      Put/DeleteFunctionConcurrency
//	eventSources[].queue     an event source mapping of the SQS component (or queue ARN)
//	eventSources[].table     an event source mapping of the DynamoDB component's stream
//	  batchSize, batchWindow BatchSize (0: not sent, AWS's default), MaximumBatchingWindowInSeconds
//	  startingPosition       StartingPosition of a stream (LATEST when not given)
//	eventSources[].schedule  an EventBridge Scheduler schedule invoking the function
//	url                      a function URL (AuthType); for NONE also the public
//	                         lambda:InvokeFunctionUrl permission
//
// Parts, each under a name derived from the function's, so that a run that crashed halfway finds
// them again, and reported in Observed.Parts:
//
//   - the execution role (AWS::IAM::Role) "<name>-lambda", trusting lambda.amazonaws.com, with
//     one inline policy granting exactly: writing logs to its own log group, receiving and
//     deleting messages of its queue sources, reading the streams of its table sources;
//   - the log group (AWS::Logs::LogGroup) /aws/lambda/<name>, made by Panka so that it is tagged
//     and goes with the function;
//   - for schedule sources, one role (AWS::IAM::Role) "<name>-scheduler" trusting
//     scheduler.amazonaws.com, allowed lambda:InvokeFunction on the function, and a schedule
//     (AWS::Scheduler::Schedule) per source, "<name>-schedule-<i>" for the i-th schedule source;
//   - the event source mappings (AWS::Lambda::EventSourceMapping, by UUID), found through the
//     function;
//   - the function URL (AWS::Lambda::Url) and, for AuthType NONE, its public permission
//     (AWS::Lambda::Permission, statement panka-function-url-public).
//
// Role names longer than IAM's 64 characters are cut with a hash (as EventBridge rule names).
// Roles and the log group get the component's tags at create; schedules cannot be tagged
// (EventBridge Scheduler tags schedule groups only). A role of that name whose ownership tags
// name another deployment is refused, never adopted.
//
// Create resolves every reference (secrets, queues, tables) before making anything. It makes
// the execution role and the log group, then the function; if the function cannot be made it
// deletes the two again, so nothing is left that the engine has no record of. Once the function
// exists every part is found through it (by name, or by the function for mappings and its URL),
// so a failure after that leaves a function Find adopts and Delete removes whole. A new role
// takes IAM a few seconds to reach Lambda ("The role defined for the function cannot be assumed
// by Lambda"; a new policy too, for event source mappings; the scheduler role for EventBridge
// Scheduler): Create and Update retry those calls for up to roleWait under ctx, as the engine's
// own retry would redo the whole Create; after that the error is ErrTransient. Creates and updates
// wait with the SDK's waiters (FunctionActiveV2, FunctionUpdatedV2) under ctx, between every
// change to the function: Lambda refuses a change while one is in progress. Delete removes the
// parts first: mappings, the URL and its permission, schedules and their role, the log group,
// the execution role (its inline policy first), and the function last, so that a delete killed
// halfway leaves a function that the next run finds and deletes (or, applying, completes: a
// part recorded in state and missing is drift).
//
// Read reports what it can read:
//
//   - code is the live CodeSha256 as code.sha256 for code from a local path. GetFunction gives
//     back neither the path nor the S3 fields, so Panka records them in the function's
//     Description ("panka: code=path|s3:HASH|image src=... secrets=..."), escaped, and Read
//     reports them from there (what Panka deployed, not what the function runs: code changed
//     behind Panka's back shows only as a changed code.sha256, and not at all for S3 code).
//     When they do not fit in the Description's 256 characters they are left out, and the
//     engine keeps the recorded values (for S3 code, code is then not reported at all). The
//     recorded S3 object's hash lets Update tell a changed object from an unchanged one.
//   - secrets are not reported (the engine keeps the recorded references), nor are the
//     variables they set: their names are recorded in the Description too. A secret's value is
//     read at each create and update of the function: a changed value reaches the function with
//     the next apply that updates it, or with a changed reference or apply --replace.
//   - eventSources are reported with references as addresses (as SQS dead-letter queues are), in
//     the spec's order, which the Description records (mappings sorted by source ARN, then
//     schedules, when the order does not fit or the sources changed), and as an empty list when
//     every source Panka made is gone (the engine keeps a field Read leaves out, and takes an
//     empty one as read and found empty); a batchSize that is
//     AWS's default (10 for a queue, 100 for a stream) reads as 0, a startingPosition of LATEST
//     as not given.
//
// Outputs: functionName, invokeArn (for API Gateway), functionUrl ("" without a URL), arn.

// Names and limits of the Lambda kind.
const (
	lambdaPolicyName = "panka"
	urlStatement     = "panka-function-url-public"
	roleNameLimit    = 64
	// roleWait bounds how long Create waits for a new role to reach Lambda.
	roleWait = 2 * time.Minute
	// descriptionMarker starts the Description Panka gives every function.
	descriptionMarker = "panka:"
)

type lambdaKind struct {
	iamRoles
	logGroups
	p     *Provider
	c     *lambda.Client
	sched *scheduler.Client
	secretReader
	q   *sqs.Client
	ddb *dynamodb.Client
}

func newLambda(p *Provider) kind {
	return &lambdaKind{
		p: p, c: lambda.NewFromConfig(p.cfg), iamRoles: iamRoles{iam.NewFromConfig(p.cfg)}, logGroups: logGroups{cloudwatchlogs.NewFromConfig(p.cfg)},
		sched: scheduler.NewFromConfig(p.cfg), secretReader: newSecretReader(p),
		q: sqs.NewFromConfig(p.cfg), ddb: dynamodb.NewFromConfig(p.cfg),
	}
}

// Part names, from the function's name.
func execRoleName(fn string) string      { return cutName(fn+"-lambda", roleNameLimit) }
func schedulerRoleName(fn string) string { return cutName(fn+"-scheduler", roleNameLimit) }
func logGroupName(fn string) string      { return "/aws/lambda/" + fn }
func schedulePrefix(fn string) string    { return cutName(fn, 52) + "-schedule-" }
func scheduleName(fn string, i int) string {
	return schedulePrefix(fn) + strconv.Itoa(i)
}

// lambdaWant is a spec, resolved: what the function and its parts must be.
type lambdaWant struct {
	image, runtime, handler string
	zip                     []byte
	s3                      *ltypes.FunctionCode
	sha                     string   // the zip's CodeSha256, "" when not from a path
	source                  string   // the Description's code=: "image", "path", "s3:HASH"
	src                     []string // the Description's src=: the path, or bucket, key and version
	order                   []int    // the Description's order=: see sourceOrder
	memory, timeout, tmp    int32
	arch                    string
	env                     map[string]string // env and resolved secrets
	secretNames             []string
	concurrency             *int32
	mappings                []wantMapping
	schedules               []string
	url                     string // AuthType, "" for no URL
	policy                  string // the execution role's inline policy
}

type wantMapping struct {
	index    int // in eventSources
	arn, ref string
	table    bool
	batch    int32
	window   int32
	position string
}

// description is the function's Description: where its code came from and which variables are
// secrets, so that Read can report the one and hide the others. The code's location is left out
// when it does not fit.
func (w *lambdaWant) description() (string, error) {
	d := descriptionMarker + " code=" + w.source
	if len(w.secretNames) > 0 {
		d += " secrets=" + strings.Join(w.secretNames, ",")
	}
	if len(d) > 256 {
		return "", fmt.Errorf("the names of spec.secrets are too long to record in the function's description (%d characters, Lambda allows 256)", len(d))
	}
	if len(w.order) > 0 {
		order := make([]string, len(w.order))
		for i, n := range w.order {
			order[i] = strconv.Itoa(n)
		}
		if withOrder := d + " order=" + strings.Join(order, "."); len(withOrder) <= 256 {
			d = withOrder
		}
	}
	if len(w.src) > 0 {
		esc := make([]string, len(w.src))
		for i, x := range w.src {
			esc[i] = url.QueryEscape(x)
		}
		if withSrc := d + " src=" + strings.Join(esc, ","); len(withSrc) <= 256 {
			d = withSrc
		}
	}
	return d, nil
}

// sourceOrder returns where each event source Read reports is in the spec's eventSources: Read
// lists the mappings by source ARN, then the schedules in their order, and the Description
// records this permutation so that Read gives back the spec's order (and, when every source is
// gone, reports an empty list: drift, where the spec has sources). Nil for no sources.
func sourceOrder(mappings []wantMapping, scheduleAt []int) []int {
	sorted := slices.Clone(mappings)
	slices.SortStableFunc(sorted, func(a, b wantMapping) int { return strings.Compare(a.arn, b.arn) })
	var order []int
	for _, m := range sorted {
		order = append(order, m.index)
	}
	return append(order, scheduleAt...)
}

// inOrder returns sources placed as order says, or as they are when order does not fit them.
func inOrder(sources []any, order []int) []any {
	if len(order) != len(sources) {
		return sources
	}
	out := make([]any, len(sources))
	for k, i := range order {
		if i < 0 || i >= len(out) || out[i] != nil {
			return sources
		}
		out[i] = sources[k]
	}
	return out
}

// fnRecord is what a function's Description records.
type fnRecord struct {
	source  string
	src     []string // nil when not recorded
	secrets []string
	order   []int
}

func parseDescription(d string) fnRecord {
	var rec fnRecord
	rest, ok := strings.CutPrefix(d, descriptionMarker)
	if !ok {
		return rec
	}
	for _, f := range strings.Fields(rest) {
		switch k, v, _ := strings.Cut(f, "="); k {
		case "code":
			rec.source = v
		case "src":
			for _, x := range strings.Split(v, ",") {
				u, err := url.QueryUnescape(x)
				if err != nil {
					return fnRecord{source: rec.source, secrets: rec.secrets}
				}
				rec.src = append(rec.src, u)
			}
		case "secrets":
			rec.secrets = strings.Split(v, ",")
		case "order":
			for _, x := range strings.Split(v, ".") {
				n, err := strconv.Atoi(x)
				if err != nil {
					rec.order = nil
					break
				}
				rec.order = append(rec.order, n)
			}
		}
	}
	return rec
}

// want resolves r.Spec: its code, secrets and event sources. Nothing is created.
func (k *lambdaKind) want(ctx context.Context, r provider.Resource) (*lambdaWant, error) {
	s := r.Spec
	w := &lambdaWant{
		image: specString(s, "image"), runtime: specString(s, "runtime"), handler: specString(s, "handler"),
		memory: int32(specInt(s, "memory", 128)), timeout: int32(specInt(s, "timeout", 3)), tmp: int32(specInt(s, "ephemeralStorage", 512)),
		arch: cmp.Or(specString(s, "architecture"), "x86_64"), env: map[string]string{},
	}
	code := specMap(s, "code")
	switch {
	case w.image != "":
		w.source = "image"
	case specString(code, "path") != "":
		zip, ok := r.Files["code"]
		if !ok {
			return nil, fmt.Errorf("code.path %s: the engine gave no packaged zip (Resource.Files[\"code\"])", specString(code, "path"))
		}
		sum := sha256.Sum256(zip)
		w.zip, w.sha, w.source = zip, base64.StdEncoding.EncodeToString(sum[:]), "path"
		w.src = []string{specString(code, "path")}
	case specString(code, "s3Bucket") != "":
		w.s3 = &ltypes.FunctionCode{S3Bucket: aws.String(specString(code, "s3Bucket")), S3Key: aws.String(specString(code, "s3Key"))}
		if v := specString(code, "s3ObjectVersion"); v != "" {
			w.s3.S3ObjectVersion = aws.String(v)
		}
		sum := sha256.Sum256([]byte(specString(code, "s3Bucket") + "/" + specString(code, "s3Key") + "#" + specString(code, "s3ObjectVersion")))
		w.source = "s3:" + hex.EncodeToString(sum[:8])
		w.src = []string{specString(code, "s3Bucket"), specString(code, "s3Key"), specString(code, "s3ObjectVersion")}
	default:
		return nil, errors.New("spec needs image, code.path or code.s3Bucket and s3Key")
	}
	for name, v := range specMap(s, "env") {
		w.env[name], _ = v.(string)
	}
	secrets := specMap(s, "secrets")
	for _, name := range slices.Sorted(maps.Keys(secrets)) {
		ref, _ := secrets[name].(string)
		v, err := k.secret(ctx, ref)
		if err != nil {
			return nil, fmt.Errorf("secrets.%s: %w", name, err)
		}
		w.env[name] = v
		w.secretNames = append(w.secretNames, name)
	}
	if _, ok := s["reservedConcurrency"]; ok {
		w.concurrency = aws.Int32(int32(specInt(s, "reservedConcurrency", 0)))
	}
	var scheduleAt []int
	for i, e := range specList(s, "eventSources") {
		m, _ := e.(map[string]any)
		if expr := specString(m, "schedule"); expr != "" {
			w.schedules = append(w.schedules, expr)
			scheduleAt = append(scheduleAt, i)
			continue
		}
		wm := wantMapping{index: i, batch: int32(specInt(m, "batchSize", 0)), window: int32(specInt(m, "batchWindow", 0))}
		var err error
		if ref := specString(m, "queue"); ref != "" {
			wm.ref = ref
			wm.arn, err = resolveQueue(ctx, k.q, r, ref, "", fifoSuffix)
		} else {
			wm.ref, wm.table = specString(m, "table"), true
			wm.position = cmp.Or(specString(m, "startingPosition"), string(ltypes.EventSourcePositionLatest))
			wm.arn, err = k.resolveStream(ctx, r, wm.ref)
		}
		if err != nil {
			return nil, fmt.Errorf("eventSources[%d]: %w", i, permanent(err))
		}
		w.mappings = append(w.mappings, wm)
	}
	w.order = sourceOrder(w.mappings, scheduleAt)
	if len(w.schedules) > 100 {
		return nil, fmt.Errorf("%d schedule sources: at most 100", len(w.schedules))
	}
	if u := specMap(s, "url"); u != nil {
		if on, ok := u["enabled"].(bool); !ok || on {
			w.url = cmp.Or(specString(u, "authType"), string(ltypes.FunctionUrlAuthTypeAwsIam))
		}
	}
	account, err := k.p.accountID(ctx)
	if err != nil {
		return nil, err
	}
	w.policy = k.executionPolicy(account, r.Name, w.mappings)
	return w, nil
}

// permanent returns err without its not-found meaning: something the spec refers to is
// missing, not the resource being changed.
func permanent(err error) error {
	if isNotFound(err) {
		return errors.New(err.Error())
	}
	return err
}

// secretRef is a secret reference parsed: an SSM parameter, or a Secrets Manager secret with
// an optional JSON key, version stage and version ID.
type secretRef struct {
	param               string // the parameter's name ("/NAME"); "" for a secret
	secret              string // the secret's name or ARN (without a key)
	key, stage, version string
}

// parseSecretRef parses a secret reference: a Secrets Manager ARN (with an optional
// ":json-key:version-stage:version-id"), secretsmanager:NAME[#key], an SSM parameter ARN or
// ssm:/NAME.
func parseSecretRef(ref string) (secretRef, error) {
	switch {
	case strings.HasPrefix(ref, "ssm:"):
		return secretRef{param: strings.TrimPrefix(ref, "ssm:")}, nil
	case isARN(ref) && strings.Contains(ref, ":ssm:"):
		_, name, ok := strings.Cut(ref, ":parameter")
		if !ok {
			return secretRef{}, fmt.Errorf("%s is not an SSM parameter ARN", ref)
		}
		return secretRef{param: name}, nil
	case strings.HasPrefix(ref, "secretsmanager:"):
		name, key, _ := strings.Cut(strings.TrimPrefix(ref, "secretsmanager:"), "#")
		return secretRef{secret: name, key: key}, nil
	case isARN(ref) && strings.Contains(ref, ":secretsmanager:"):
		// arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME[:json-key:version-stage:version-id]
		parts := strings.Split(ref, ":")
		s := secretRef{secret: strings.Join(parts[:min(7, len(parts))], ":")}
		if len(parts) == 10 {
			s.key, s.stage, s.version = parts[7], parts[8], parts[9]
		}
		return s, nil
	}
	return secretRef{}, fmt.Errorf("%q is not a secret reference (a Secrets Manager or SSM parameter ARN, secretsmanager:NAME or ssm:/NAME)", ref)
}

// secretReader reads secret references at deploy time (Lambda's secrets, a database's master
// password). A value read is used in the one call that needs it and kept nowhere.
type secretReader struct {
	sm  *secretsmanager.Client
	ssm *ssm.Client
}

func newSecretReader(p *Provider) secretReader {
	return secretReader{sm: secretsmanager.NewFromConfig(p.cfg), ssm: ssm.NewFromConfig(p.cfg)}
}

// secret reads the value of a secret reference (parseSecretRef).
func (k secretReader) secret(ctx context.Context, ref string) (string, error) {
	s, err := parseSecretRef(ref)
	if err != nil {
		return "", err
	}
	if s.param != "" {
		return k.parameter(ctx, s.param)
	}
	in := &secretsmanager.GetSecretValueInput{SecretId: aws.String(s.secret)}
	if s.stage != "" {
		in.VersionStage = aws.String(s.stage)
	}
	if s.version != "" {
		in.VersionId = aws.String(s.version)
	}
	return k.secretValue(ctx, in, s.key)
}

func (k secretReader) parameter(ctx context.Context, name string) (string, error) {
	out, err := k.ssm.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(true)})
	if err != nil {
		return "", fmt.Errorf("SSM parameter %s: %w", name, permanent(err))
	}
	return aws.ToString(out.Parameter.Value), nil
}

func (k secretReader) secretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, key string) (string, error) {
	out, err := k.sm.GetSecretValue(ctx, in)
	if err != nil {
		return "", fmt.Errorf("secret %s: %w", aws.ToString(in.SecretId), permanent(err))
	}
	if out.SecretString == nil {
		return "", fmt.Errorf("secret %s is binary: an environment variable takes a string", aws.ToString(in.SecretId))
	}
	if key == "" {
		return aws.ToString(out.SecretString), nil
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), &doc); err != nil {
		return "", fmt.Errorf("secret %s: key %s: the secret is not a JSON object", aws.ToString(in.SecretId), key)
	}
	v, ok := doc[key]
	if !ok {
		return "", fmt.Errorf("secret %s has no key %s", aws.ToString(in.SecretId), key)
	}
	if s, ok := v.(string); ok {
		return s, nil
	}
	b, _ := json.Marshal(v)
	return string(b), nil
}

// resolveStream returns the latest stream ARN of the DynamoDB table ref: a component of r's
// deployment, a table ARN, or a stream ARN as it is.
func (k *lambdaKind) resolveStream(ctx context.Context, r provider.Resource, ref string) (string, error) {
	if ref == "" {
		return "", errors.New("no table")
	}
	if isARN(ref) && strings.Contains(ref, "/stream/") {
		return ref, nil
	}
	table := ref
	if !isARN(ref) {
		d, err := deploymentOf(r.Name, r.Address)
		if err != nil {
			return "", fmt.Errorf("resolving %q: %v", ref, err)
		}
		table = d.physicalName(ref, "")
	}
	out, err := k.ddb.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	if isNotFound(err) {
		return "", fmt.Errorf("table %s (%s) does not exist", ref, table)
	}
	if err != nil {
		return "", err
	}
	if arn := aws.ToString(out.Table.LatestStreamArn); arn != "" {
		return arn, nil
	}
	return "", fmt.Errorf("table %s (%s) has no stream", ref, table)
}

// executionPolicy is the execution role's inline policy: exactly what the function needs.
func (k *lambdaKind) executionPolicy(account, fn string, mappings []wantMapping) string {
	logs := fmt.Sprintf("arn:%s:logs:%s:%s:log-group:%s:*", k.p.partition(), k.p.cfg.Region, account, logGroupName(fn))
	stmts := []policyStatement{{"Allow", []string{"logs:CreateLogStream", "logs:PutLogEvents"}, []string{logs}}}
	var queues, streams []string
	for _, m := range mappings {
		if m.table {
			streams = append(streams, m.arn)
		} else {
			queues = append(queues, m.arn)
		}
	}
	if len(queues) > 0 {
		stmts = append(stmts, policyStatement{"Allow", []string{"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}, queues})
	}
	if len(streams) > 0 {
		stmts = append(stmts, policyStatement{"Allow", []string{"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"}, streams})
	}
	return identityPolicy(stmts)
}

func (k *lambdaKind) invokePolicy(fnARN string) string {
	doc, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
		"Effect": "Allow", "Action": []string{"lambda:InvokeFunction"}, "Resource": []string{fnARN, fnARN + ":*"},
	}}})
	return string(doc)
}

func (k *lambdaKind) lookup(ctx context.Context, name string) (string, error) {
	_, err := k.c.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(name)})
	if err != nil {
		return "", err
	}
	return name, nil
}

func (k *lambdaKind) create(ctx context.Context, r provider.Resource) (string, error) {
	w, err := k.want(ctx, r)
	if err != nil {
		return "", err
	}
	desc, err := w.description()
	if err != nil {
		return "", err
	}
	roleARN, err := k.ensureRole(ctx, execRoleName(r.Name), "lambda.amazonaws.com", r.Tags, w.policy)
	if err == nil {
		err = k.ensureLogGroup(ctx, r.Name, r.Tags)
	}
	if err == nil {
		err = k.createFunction(ctx, r, w, roleARN, desc)
	}
	if err != nil {
		// No function: nothing would lead the engine to the role and log group.
		k.removeUnreferenced(r.Name, r.Tags)
		return "", err
	}
	// The function exists: every part made from here is found through it.
	if w.concurrency != nil {
		if _, err := k.c.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String(r.Name), ReservedConcurrentExecutions: w.concurrency}); err != nil {
			return "", fmt.Errorf("reserved concurrency: %w", err)
		}
	}
	l := &lambdaLive{name: r.Name}
	if err := k.reconcileParts(ctx, l, w, r.Tags); err != nil {
		return "", err
	}
	return r.Name, nil
}

// removeUnreferenced deletes the execution role and log group of the function fn after its
// create failed, best effort, under a context of its own (the caller's may be done). Those whose
// ownership tags name another owner than owner are not Panka's to delete.
func (k *lambdaKind) removeUnreferenced(fn string, owner map[string]string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = k.deleteLeftovers(ctx, provider.Resource{Name: fn, Tags: owner})
}

// deleteLeftovers deletes the parts a create of r makes before the function (its execution role
// and log group), unless the function exists after all (its parts stay with it) or their
// ownership tags name another owner than r.Tags.
func (k *lambdaKind) deleteLeftovers(ctx context.Context, r provider.Resource) error {
	fn := r.Name
	_, err := k.c.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(fn)})
	if err == nil {
		return nil
	}
	if !isNotFound(err) {
		return fmt.Errorf("function %s: %w", fn, err)
	}
	if err := k.deleteOwnedGroup(ctx, logGroupName(fn), r.Tags); err != nil {
		return err
	}
	return k.deleteOwnedRole(ctx, execRoleName(fn), r.Tags)
}

func (k *lambdaKind) createFunction(ctx context.Context, r provider.Resource, w *lambdaWant, roleARN, desc string) error {
	in := &lambda.CreateFunctionInput{
		FunctionName: aws.String(r.Name), Role: aws.String(roleARN), Description: aws.String(desc),
		MemorySize: aws.Int32(w.memory), Timeout: aws.Int32(w.timeout), EphemeralStorage: &ltypes.EphemeralStorage{Size: aws.Int32(w.tmp)},
		Architectures: []ltypes.Architecture{ltypes.Architecture(w.arch)}, Tags: cloneTags(r.Tags),
	}
	if len(w.env) > 0 {
		in.Environment = &ltypes.Environment{Variables: w.env}
	}
	switch {
	case w.image != "":
		in.PackageType, in.Code = ltypes.PackageTypeImage, &ltypes.FunctionCode{ImageUri: aws.String(w.image)}
	default:
		in.PackageType, in.Runtime = ltypes.PackageTypeZip, ltypes.Runtime(w.runtime)
		if w.handler != "" {
			in.Handler = aws.String(w.handler)
		}
		in.Code = w.s3
		if w.zip != nil {
			in.Code = &ltypes.FunctionCode{ZipFile: w.zip}
		}
	}
	if err := retryRole(ctx, func(ctx context.Context) error { _, err := k.c.CreateFunction(ctx, in); return err }); err != nil {
		return fmt.Errorf("create function: %w", err)
	}
	return k.waitActive(ctx, r.Name)
}

// retryRole calls fn until it no longer fails because IAM has not propagated a new role or
// policy yet (iamPropagation), for at most roleWait; it returns fn's last error.
func retryRole(ctx context.Context, fn func(context.Context) error) error {
	deadline := time.Now().Add(roleWait)
	interval := 500 * time.Millisecond
	for {
		err := fn(ctx)
		if err == nil || !propagating(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(interval):
		}
		interval = min(2*interval, 5*time.Second)
	}
}

func propagating(err error) bool {
	return classify(err) == provider.ErrTransient && slices.ContainsFunc(iamPropagation, func(m string) bool { return strings.Contains(err.Error(), m) })
}

// waitLimit is how long a waiter may wait: until ctx's deadline, or a quarter of an hour.
func waitLimit(ctx context.Context) time.Duration {
	if d, ok := ctx.Deadline(); ok {
		return max(time.Until(d), time.Millisecond)
	}
	return 15 * time.Minute
}

func (k *lambdaKind) waitActive(ctx context.Context, fn string) error {
	waiter := lambda.NewFunctionActiveV2Waiter(k.c, func(o *lambda.FunctionActiveV2WaiterOptions) { o.MinDelay = 200 * time.Millisecond })
	if err := waiter.Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(fn)}, waitLimit(ctx)); err != nil {
		return fmt.Errorf("waiting for the function to be active: %w", err)
	}
	return nil
}

func (k *lambdaKind) waitUpdated(ctx context.Context, fn string) error {
	waiter := lambda.NewFunctionUpdatedV2Waiter(k.c, func(o *lambda.FunctionUpdatedV2WaiterOptions) { o.MinDelay = 200 * time.Millisecond })
	if err := waiter.Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(fn)}, waitLimit(ctx)); err != nil {
		return fmt.Errorf("waiting for the function's update: %w", err)
	}
	return nil
}

// The function's log group, by the function's name.
func (k *lambdaKind) ensureLogGroup(ctx context.Context, fn string, tags map[string]string) error {
	return k.ensureGroup(ctx, logGroupName(fn), tags)
}

func (k *lambdaKind) deleteLogGroup(ctx context.Context, fn string) error {
	return k.deleteGroup(ctx, logGroupName(fn))
}

func (k *lambdaKind) logGroupARN(ctx context.Context, fn string) (string, error) {
	return k.groupARN(ctx, logGroupName(fn))
}

// lambdaLive is a function and its parts as read.
type lambdaLive struct {
	name, arn   string
	conf        *ltypes.FunctionConfiguration
	imageURI    string
	tags        map[string]string
	concurrency *int32
	execRole    *iamtypes.Role // nil: none
	logGroup    string         // ARN, "" for none
	mappings    []ltypes.EventSourceMappingConfiguration
	schedules   map[int]*scheduler.GetScheduleOutput
	schedRole   *iamtypes.Role
	url         *lambda.GetFunctionUrlConfigOutput
	publicURL   bool // the public permission of the URL exists
}

func (k *lambdaKind) read(ctx context.Context, id string) (*live, error) {
	out, err := k.c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(id)})
	if err != nil {
		return nil, err
	}
	l := &lambdaLive{name: aws.ToString(out.Configuration.FunctionName), arn: aws.ToString(out.Configuration.FunctionArn), conf: out.Configuration, tags: out.Tags}
	if l.tags == nil {
		l.tags = map[string]string{}
	}
	if out.Code != nil {
		l.imageURI = aws.ToString(out.Code.ImageUri)
	}
	conc, err := k.c.GetFunctionConcurrency(ctx, &lambda.GetFunctionConcurrencyInput{FunctionName: aws.String(id)})
	if err != nil {
		return nil, fmt.Errorf("reserved concurrency: %w", err)
	}
	l.concurrency = conc.ReservedConcurrentExecutions
	if l.execRole, err = k.role(ctx, execRoleName(l.name)); err != nil {
		return nil, err
	}
	if l.logGroup, err = k.logGroupARN(ctx, l.name); err != nil {
		return nil, err
	}
	if l.mappings, err = k.listMappings(ctx, l.name); err != nil {
		return nil, err
	}
	if l.schedules, err = k.listSchedules(ctx, l.name); err != nil {
		return nil, err
	}
	if l.schedRole, err = k.role(ctx, schedulerRoleName(l.name)); err != nil {
		return nil, err
	}
	if l.url, l.publicURL, err = k.readURL(ctx, l.name); err != nil {
		return nil, err
	}
	spec, err := k.spec(ctx, l)
	if err != nil {
		return nil, err
	}
	functionURL := ""
	if l.url != nil {
		functionURL = aws.ToString(l.url.FunctionUrl)
	}
	return &live{
		obs: &provider.Observed{
			ID: l.name, Name: l.name, ARN: l.arn, Spec: spec, Tags: l.tags, Parts: l.parts(),
			Outputs: map[string]string{
				"functionName": l.name, "arn": l.arn, "functionUrl": functionURL,
				"invokeArn": fmt.Sprintf("arn:%s:apigateway:%s:lambda:path/2015-03-31/functions/%s/invocations", k.p.partition(), k.p.cfg.Region, l.arn),
			},
		},
		raw: l,
	}, nil
}

func (k *lambdaKind) listMappings(ctx context.Context, fn string) ([]ltypes.EventSourceMappingConfiguration, error) {
	var out []ltypes.EventSourceMappingConfiguration
	in := &lambda.ListEventSourceMappingsInput{FunctionName: aws.String(fn)}
	for {
		page, err := k.c.ListEventSourceMappings(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("event source mappings: %w", err)
		}
		out = append(out, page.EventSourceMappings...)
		if aws.ToString(page.NextMarker) == "" {
			break
		}
		in.Marker = page.NextMarker
	}
	slices.SortFunc(out, func(a, b ltypes.EventSourceMappingConfiguration) int {
		return strings.Compare(aws.ToString(a.EventSourceArn), aws.ToString(b.EventSourceArn))
	})
	return out, nil
}

// listSchedules returns the function's schedules, by their index in its schedule sources.
func (k *lambdaKind) listSchedules(ctx context.Context, fn string) (map[int]*scheduler.GetScheduleOutput, error) {
	prefix := schedulePrefix(fn)
	out := map[int]*scheduler.GetScheduleOutput{}
	in := &scheduler.ListSchedulesInput{NamePrefix: aws.String(prefix)}
	for {
		page, err := k.sched.ListSchedules(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("schedules: %w", err)
		}
		for _, s := range page.Schedules {
			name := aws.ToString(s.Name)
			i, err := strconv.Atoi(strings.TrimPrefix(name, prefix))
			if !strings.HasPrefix(name, prefix) || err != nil || aws.ToString(s.GroupName) != "default" && aws.ToString(s.GroupName) != "" {
				continue // another function's, or one Panka did not make
			}
			got, err := k.sched.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String(name)})
			if isNotFound(err) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("schedule %s: %w", name, err)
			}
			out[i] = got
		}
		if aws.ToString(page.NextToken) == "" {
			return out, nil
		}
		in.NextToken = page.NextToken
	}
}

// readURL returns the function's URL (nil: none) and whether its public permission exists.
func (k *lambdaKind) readURL(ctx context.Context, fn string) (*lambda.GetFunctionUrlConfigOutput, bool, error) {
	u, err := k.c.GetFunctionUrlConfig(ctx, &lambda.GetFunctionUrlConfigInput{FunctionName: aws.String(fn)})
	if isNotFound(err) {
		u = nil
	} else if err != nil {
		return nil, false, fmt.Errorf("function URL: %w", err)
	}
	pol, err := k.c.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String(fn)})
	if isNotFound(err) {
		return u, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("function policy: %w", err)
	}
	var doc struct {
		Statement []struct {
			Sid string `json:"Sid"`
		} `json:"Statement"`
	}
	_ = json.Unmarshal([]byte(aws.ToString(pol.Policy)), &doc)
	public := slices.ContainsFunc(doc.Statement, func(s struct {
		Sid string `json:"Sid"`
	}) bool {
		return s.Sid == urlStatement
	})
	return u, public, nil
}

// parts lists the function's parts in the order they are made.
func (l *lambdaLive) parts() []provider.Part {
	var out []provider.Part
	if r := l.execRole; r != nil {
		out = append(out, provider.Part{Type: "AWS::IAM::Role", ID: aws.ToString(r.RoleName), ARN: aws.ToString(r.Arn)})
	}
	if l.logGroup != "" {
		out = append(out, provider.Part{Type: "AWS::Logs::LogGroup", ID: logGroupName(l.name), ARN: l.logGroup})
	}
	for _, m := range l.mappings {
		out = append(out, provider.Part{Type: "AWS::Lambda::EventSourceMapping", ID: aws.ToString(m.UUID), ARN: aws.ToString(m.EventSourceMappingArn)})
	}
	if r := l.schedRole; r != nil {
		out = append(out, provider.Part{Type: "AWS::IAM::Role", ID: aws.ToString(r.RoleName), ARN: aws.ToString(r.Arn)})
	}
	for _, i := range slices.Sorted(maps.Keys(l.schedules)) {
		s := l.schedules[i]
		out = append(out, provider.Part{Type: "AWS::Scheduler::Schedule", ID: aws.ToString(s.Name), ARN: aws.ToString(s.Arn)})
	}
	if l.url != nil {
		out = append(out, provider.Part{Type: "AWS::Lambda::Url", ID: aws.ToString(l.url.FunctionUrl), ARN: aws.ToString(l.url.FunctionArn)})
	}
	if l.publicURL {
		out = append(out, provider.Part{Type: "AWS::Lambda::Permission", ID: urlStatement})
	}
	return out
}

// AWS's default batch sizes, which read back as 0 (not given).
const (
	queueBatchSize  = 10
	streamBatchSize = 100
)

// spec returns the spec of the live function l.
func (k *lambdaKind) spec(ctx context.Context, l *lambdaLive) (map[string]any, error) {
	c := l.conf
	arch := "x86_64"
	if len(c.Architectures) > 0 {
		arch = string(c.Architectures[0])
	}
	spec := map[string]any{"memory": int64(aws.ToInt32(c.MemorySize)), "timeout": int64(aws.ToInt32(c.Timeout)), "architecture": arch, "ephemeralStorage": int64(512)}
	if e := c.EphemeralStorage; e != nil {
		spec["ephemeralStorage"] = int64(aws.ToInt32(e.Size))
	}
	rec := parseDescription(aws.ToString(c.Description))
	if c.PackageType == ltypes.PackageTypeImage {
		spec["image"] = l.imageURI
	} else {
		if c.Runtime != "" {
			spec["runtime"] = string(c.Runtime)
		}
		if h := aws.ToString(c.Handler); h != "" {
			spec["handler"] = h
		}
		switch {
		case !strings.HasPrefix(rec.source, "s3:"):
			code := map[string]any{"sha256": aws.ToString(c.CodeSha256)}
			if rec.source == "path" && len(rec.src) == 1 {
				code["path"] = rec.src[0]
			}
			spec["code"] = code
		case len(rec.src) == 3:
			code := map[string]any{"s3Bucket": rec.src[0], "s3Key": rec.src[1]}
			if rec.src[2] != "" {
				code["s3ObjectVersion"] = rec.src[2]
			}
			spec["code"] = code
		}
	}
	if c.Environment != nil {
		env := map[string]any{}
		for name, v := range c.Environment.Variables {
			if !slices.Contains(rec.secrets, name) {
				env[name] = v
			}
		}
		if len(env) > 0 {
			spec["env"] = env
		}
	}
	if l.concurrency != nil {
		spec["reservedConcurrency"] = int64(*l.concurrency)
	}
	var sources []any
	for _, m := range l.mappings { // by source ARN
		arn := aws.ToString(m.EventSourceArn)
		e := map[string]any{"batchSize": int64(aws.ToInt32(m.BatchSize)), "batchWindow": int64(aws.ToInt32(m.MaximumBatchingWindowInSeconds))}
		if strings.Contains(arn, ":sqs:") {
			r, err := queueRef(ctx, k.q, arn, l.name, l.tags)
			if err != nil {
				return nil, fmt.Errorf("event source %s: %w", arn, err)
			}
			e["queue"] = r
			if aws.ToInt32(m.BatchSize) == queueBatchSize {
				e["batchSize"] = int64(0)
			}
			sources = append(sources, e)
			continue
		}
		r, err := k.tableRef(ctx, arn, l.name, l.tags)
		if err != nil {
			return nil, fmt.Errorf("event source %s: %w", arn, err)
		}
		e["table"] = r
		if aws.ToInt32(m.BatchSize) == streamBatchSize {
			e["batchSize"] = int64(0)
		}
		if p := m.StartingPosition; p != "" && p != ltypes.EventSourcePositionLatest {
			e["startingPosition"] = string(p)
		}
		sources = append(sources, e)
	}
	for _, i := range slices.Sorted(maps.Keys(l.schedules)) {
		sources = append(sources, map[string]any{"schedule": aws.ToString(l.schedules[i].ScheduleExpression), "batchSize": int64(0), "batchWindow": int64(0)})
	}
	switch {
	case len(sources) > 0:
		spec["eventSources"] = inOrder(sources, rec.order)
	case len(rec.order) > 0:
		spec["eventSources"] = []any{} // Panka made sources, and every one is gone
	}
	if l.url != nil {
		auth := string(l.url.AuthType)
		if auth == string(ltypes.FunctionUrlAuthTypeNone) && !l.publicURL {
			auth = notPublic
		}
		spec["url"] = map[string]any{"enabled": true, "authType": auth}
	}
	return spec, nil
}

// notPublic is the authType Read reports for a URL of AuthType NONE whose public permission is
// missing (removed behind Panka's back): a value no spec gives, so that the engine sees the
// drift and the next Update adds the permission again.
const notPublic = "NONE (without its public permission)"

// tableRef returns how the function name with tags refers to the table of the stream arn: the
// table's address if it is a component of the same deployment, else the stream ARN.
func (k *lambdaKind) tableRef(ctx context.Context, streamARN, name string, tags map[string]string) (string, error) {
	d, err := deploymentOf(name, tags[tagAddress])
	table, _, ok := strings.Cut(streamARN, "/stream/")
	if err != nil || !ok {
		return streamARN, nil
	}
	out, err := k.ddb.ListTagsOfResource(ctx, &dynamodb.ListTagsOfResourceInput{ResourceArn: aws.String(table)})
	if isNotFound(err) {
		return streamARN, nil
	}
	if err != nil {
		return "", err
	}
	theirs := map[string]string{}
	for _, t := range out.Tags {
		theirs[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	if theirs[tagAddress] == "" || !sameDeployment(tags, theirs) {
		return streamARN, nil
	}
	return d.ref(theirs[tagAddress]), nil
}

func (k *lambdaKind) update(ctx context.Context, l *live, r provider.Resource) error {
	have := l.raw.(*lambdaLive)
	w, err := k.want(ctx, r)
	if err != nil {
		return err
	}
	if image := have.conf.PackageType == ltypes.PackageTypeImage; image != (w.image != "") {
		return fmt.Errorf("a function cannot change between an image and a zip package in place: apply with --replace")
	}
	desc, err := w.description()
	if err != nil {
		return err
	}
	tags := r.Tags
	if tags == nil {
		tags = l.obs.Tags
	}
	roleARN, err := k.ensureRole(ctx, execRoleName(have.name), "lambda.amazonaws.com", tags, w.policy)
	if err != nil {
		return err
	}
	if have.logGroup == "" {
		if err := k.ensureLogGroup(ctx, have.name, tags); err != nil {
			return err
		}
	}
	if err := k.updateCode(ctx, have, w); err != nil {
		return err
	}
	if err := k.updateConfiguration(ctx, have, w, roleARN, desc); err != nil {
		return err
	}
	if err := k.updateConcurrency(ctx, have, w); err != nil {
		return err
	}
	return k.reconcileParts(ctx, have, w, tags)
}

// updateCode uploads the code (and sets the architecture, which goes with it) when either
// differs, and waits for the update.
func (k *lambdaKind) updateCode(ctx context.Context, have *lambdaLive, w *lambdaWant) error {
	c := have.conf
	source := parseDescription(aws.ToString(c.Description)).source
	arch := len(c.Architectures) != 1 || string(c.Architectures[0]) != w.arch
	var changed bool
	switch {
	case w.image != "":
		changed = have.imageURI != w.image
	case w.zip != nil:
		changed = aws.ToString(c.CodeSha256) != w.sha
	default:
		changed = source != w.source
	}
	if !changed && !arch {
		return nil
	}
	in := &lambda.UpdateFunctionCodeInput{FunctionName: aws.String(have.name), Architectures: []ltypes.Architecture{ltypes.Architecture(w.arch)}}
	switch {
	case w.image != "":
		in.ImageUri = aws.String(w.image)
	case w.zip != nil:
		in.ZipFile = w.zip
	default:
		in.S3Bucket, in.S3Key, in.S3ObjectVersion = w.s3.S3Bucket, w.s3.S3Key, w.s3.S3ObjectVersion
	}
	if _, err := k.c.UpdateFunctionCode(ctx, in); err != nil {
		return fmt.Errorf("update code: %w", err)
	}
	return k.waitUpdated(ctx, have.name)
}

// updateConfiguration changes the configuration fields that differ, and waits for the update.
func (k *lambdaKind) updateConfiguration(ctx context.Context, have *lambdaLive, w *lambdaWant, roleARN, desc string) error {
	c := have.conf
	in := &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String(have.name)}
	changed := false
	set := func(differs bool, apply func()) {
		if differs {
			apply()
			changed = true
		}
	}
	set(aws.ToInt32(c.MemorySize) != w.memory, func() { in.MemorySize = aws.Int32(w.memory) })
	set(aws.ToInt32(c.Timeout) != w.timeout, func() { in.Timeout = aws.Int32(w.timeout) })
	tmp := int32(512)
	if c.EphemeralStorage != nil {
		tmp = aws.ToInt32(c.EphemeralStorage.Size)
	}
	set(tmp != w.tmp, func() { in.EphemeralStorage = &ltypes.EphemeralStorage{Size: aws.Int32(w.tmp)} })
	set(aws.ToString(c.Description) != desc, func() { in.Description = aws.String(desc) })
	set(aws.ToString(c.Role) != roleARN, func() { in.Role = aws.String(roleARN) })
	if w.image == "" {
		set(string(c.Runtime) != w.runtime, func() { in.Runtime = ltypes.Runtime(w.runtime) })
		set(aws.ToString(c.Handler) != w.handler, func() { in.Handler = aws.String(w.handler) })
	}
	var env map[string]string
	if c.Environment != nil {
		env = c.Environment.Variables
	}
	set(!maps.Equal(env, w.env) && len(env)+len(w.env) > 0, func() { in.Environment = &ltypes.Environment{Variables: w.env} })
	if !changed {
		return nil
	}
	if err := retryRole(ctx, func(ctx context.Context) error { _, err := k.c.UpdateFunctionConfiguration(ctx, in); return err }); err != nil {
		return fmt.Errorf("update configuration: %w", err)
	}
	return k.waitUpdated(ctx, have.name)
}

func (k *lambdaKind) updateConcurrency(ctx context.Context, have *lambdaLive, w *lambdaWant) error {
	switch {
	case w.concurrency == nil && have.concurrency != nil:
		if _, err := k.c.DeleteFunctionConcurrency(ctx, &lambda.DeleteFunctionConcurrencyInput{FunctionName: aws.String(have.name)}); err != nil {
			return fmt.Errorf("reserved concurrency: %w", err)
		}
	case w.concurrency != nil && (have.concurrency == nil || *have.concurrency != *w.concurrency):
		if _, err := k.c.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String(have.name), ReservedConcurrentExecutions: w.concurrency}); err != nil {
			return fmt.Errorf("reserved concurrency: %w", err)
		}
	}
	return nil
}

// reconcileParts makes the function's event source mappings, schedules (and their role) and
// URL what w says, from the parts have has now (none for a new function).
func (k *lambdaKind) reconcileParts(ctx context.Context, have *lambdaLive, w *lambdaWant, tags map[string]string) error {
	if have.arn == "" {
		out, err := k.c.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(have.name)})
		if err != nil {
			return err
		}
		have.arn = aws.ToString(out.FunctionArn)
	}
	if err := k.reconcileMappings(ctx, have, w.mappings); err != nil {
		return err
	}
	if err := k.reconcileSchedules(ctx, have, w.schedules, tags); err != nil {
		return err
	}
	return k.reconcileURL(ctx, have, w.url)
}

func (k *lambdaKind) reconcileMappings(ctx context.Context, have *lambdaLive, want []wantMapping) error {
	live := map[string]ltypes.EventSourceMappingConfiguration{}
	for _, m := range have.mappings {
		live[aws.ToString(m.EventSourceArn)] = m
	}
	for _, wm := range want {
		m, ok := live[wm.arn]
		delete(live, wm.arn)
		if ok && wm.table && m.StartingPosition != ltypes.EventSourcePosition(wm.position) {
			// The starting position is set at create only.
			if err := k.deleteMapping(ctx, m); err != nil {
				return err
			}
			ok = false
		}
		if !ok {
			in := &lambda.CreateEventSourceMappingInput{FunctionName: aws.String(have.name), EventSourceArn: aws.String(wm.arn)}
			if wm.batch > 0 {
				in.BatchSize = aws.Int32(wm.batch)
			}
			if wm.window > 0 {
				in.MaximumBatchingWindowInSeconds = aws.Int32(wm.window)
			}
			if wm.table {
				in.StartingPosition = ltypes.EventSourcePosition(wm.position)
			}
			if err := retryRole(ctx, func(ctx context.Context) error { _, err := k.c.CreateEventSourceMapping(ctx, in); return err }); err != nil {
				return fmt.Errorf("create event source mapping of %s: %w", wm.ref, err)
			}
			continue
		}
		batch := wm.batch
		if batch == 0 {
			batch = queueBatchSize
			if wm.table {
				batch = streamBatchSize
			}
		}
		if aws.ToInt32(m.BatchSize) != batch || aws.ToInt32(m.MaximumBatchingWindowInSeconds) != wm.window {
			_, err := k.c.UpdateEventSourceMapping(ctx, &lambda.UpdateEventSourceMappingInput{UUID: m.UUID, BatchSize: aws.Int32(batch), MaximumBatchingWindowInSeconds: aws.Int32(wm.window)})
			if err != nil {
				return fmt.Errorf("update event source mapping of %s: %w", wm.ref, err)
			}
		}
	}
	for _, arn := range slices.Sorted(maps.Keys(live)) {
		if err := k.deleteMapping(ctx, live[arn]); err != nil {
			return err
		}
	}
	return nil
}

func (k *lambdaKind) deleteMapping(ctx context.Context, m ltypes.EventSourceMappingConfiguration) error {
	if _, err := k.c.DeleteEventSourceMapping(ctx, &lambda.DeleteEventSourceMappingInput{UUID: m.UUID}); err != nil && !isNotFound(err) {
		return fmt.Errorf("delete event source mapping %s: %w", aws.ToString(m.UUID), err)
	}
	return nil
}

func (k *lambdaKind) reconcileSchedules(ctx context.Context, have *lambdaLive, want []string, tags map[string]string) error {
	var roleARN string
	if len(want) > 0 {
		var err error
		if roleARN, err = k.ensureRole(ctx, schedulerRoleName(have.name), "scheduler.amazonaws.com", tags, k.invokePolicy(have.arn)); err != nil {
			return err
		}
	}
	for i, expr := range want {
		name := scheduleName(have.name, i)
		s, ok := have.schedules[i]
		target := &schedtypes.Target{Arn: aws.String(have.arn), RoleArn: aws.String(roleARN)}
		window := &schedtypes.FlexibleTimeWindow{Mode: schedtypes.FlexibleTimeWindowModeOff}
		switch {
		case !ok:
			err := retryRole(ctx, func(ctx context.Context) error {
				_, err := k.sched.CreateSchedule(ctx, &scheduler.CreateScheduleInput{Name: aws.String(name), ScheduleExpression: aws.String(expr),
					Target: target, FlexibleTimeWindow: window, State: schedtypes.ScheduleStateEnabled})
				return err
			})
			if err != nil {
				return fmt.Errorf("create schedule %s: %w", name, err)
			}
		case aws.ToString(s.ScheduleExpression) != expr || s.Target == nil || aws.ToString(s.Target.Arn) != have.arn || aws.ToString(s.Target.RoleArn) != roleARN ||
			s.State != schedtypes.ScheduleStateEnabled:
			err := retryRole(ctx, func(ctx context.Context) error {
				_, err := k.sched.UpdateSchedule(ctx, &scheduler.UpdateScheduleInput{Name: aws.String(name), ScheduleExpression: aws.String(expr),
					Target: target, FlexibleTimeWindow: window, State: schedtypes.ScheduleStateEnabled})
				return err
			})
			if err != nil {
				return fmt.Errorf("update schedule %s: %w", name, err)
			}
		}
	}
	for _, i := range slices.Sorted(maps.Keys(have.schedules)) {
		if i >= len(want) {
			if err := k.deleteSchedule(ctx, aws.ToString(have.schedules[i].Name)); err != nil {
				return err
			}
		}
	}
	if len(want) == 0 && have.schedRole != nil {
		return k.deleteRole(ctx, schedulerRoleName(have.name))
	}
	return nil
}

func (k *lambdaKind) deleteSchedule(ctx context.Context, name string) error {
	if _, err := k.sched.DeleteSchedule(ctx, &scheduler.DeleteScheduleInput{Name: aws.String(name)}); err != nil && !isNotFound(err) {
		return fmt.Errorf("delete schedule %s: %w", name, err)
	}
	return nil
}

func (k *lambdaKind) reconcileURL(ctx context.Context, have *lambdaLive, authType string) error {
	fn := aws.String(have.name)
	switch {
	case authType == "" && have.url != nil:
		if _, err := k.c.DeleteFunctionUrlConfig(ctx, &lambda.DeleteFunctionUrlConfigInput{FunctionName: fn}); err != nil && !isNotFound(err) {
			return fmt.Errorf("delete function URL: %w", err)
		}
	case authType != "" && have.url == nil:
		if _, err := k.c.CreateFunctionUrlConfig(ctx, &lambda.CreateFunctionUrlConfigInput{FunctionName: fn, AuthType: ltypes.FunctionUrlAuthType(authType)}); err != nil {
			return fmt.Errorf("create function URL: %w", err)
		}
	case authType != "" && string(have.url.AuthType) != authType:
		if _, err := k.c.UpdateFunctionUrlConfig(ctx, &lambda.UpdateFunctionUrlConfigInput{FunctionName: fn, AuthType: ltypes.FunctionUrlAuthType(authType)}); err != nil {
			return fmt.Errorf("update function URL: %w", err)
		}
	}
	public := authType == string(ltypes.FunctionUrlAuthTypeNone)
	switch {
	case public && !have.publicURL:
		_, err := k.c.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: fn, StatementId: aws.String(urlStatement), Action: aws.String("lambda:InvokeFunctionUrl"),
			Principal: aws.String("*"), FunctionUrlAuthType: ltypes.FunctionUrlAuthTypeNone})
		if err != nil && classify(err) != provider.ErrAlreadyExists {
			return fmt.Errorf("public permission of the function URL: %w", err)
		}
	case !public && have.publicURL:
		if _, err := k.c.RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: fn, StatementId: aws.String(urlStatement)}); err != nil && !isNotFound(err) {
			return fmt.Errorf("remove the public permission of the function URL: %w", err)
		}
	}
	return nil
}

func (k *lambdaKind) tag(ctx context.Context, l *live, set map[string]string, remove []string) error {
	arn := aws.String(l.raw.(*lambdaLive).arn)
	if len(set) > 0 {
		if _, err := k.c.TagResource(ctx, &lambda.TagResourceInput{Resource: arn, Tags: set}); err != nil {
			return err
		}
	}
	if len(remove) > 0 {
		if _, err := k.c.UntagResource(ctx, &lambda.UntagResourceInput{Resource: arn, TagKeys: remove}); err != nil {
			return err
		}
	}
	return nil
}

// delete removes the parts and the function in reverse order of their making.
func (k *lambdaKind) delete(ctx context.Context, l *live) error {
	have := l.raw.(*lambdaLive)
	for _, m := range have.mappings {
		if err := k.deleteMapping(ctx, m); err != nil {
			return err
		}
	}
	if err := k.reconcileURL(ctx, have, ""); err != nil {
		return err
	}
	if err := k.reconcileSchedules(ctx, have, nil, nil); err != nil {
		return err
	}
	// The function goes last: while it exists, a destroy killed halfway finds the component
	// again and deletes what is left of it (and an apply makes the missing parts again).
	if err := k.deleteLogGroup(ctx, have.name); err != nil {
		return err
	}
	if err := k.deleteRole(ctx, execRoleName(have.name)); err != nil {
		return err
	}
	if _, err := k.c.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(have.name)}); err != nil && !isNotFound(err) {
		return fmt.Errorf("delete function: %w", err)
	}
	return nil
}
