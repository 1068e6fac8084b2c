package aws_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	schedtypes "github.com/aws/aws-sdk-go-v2/service/scheduler/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/google/go-cmp/cmp"

	"github.com/panka/panka/provider"
	pankaaws "github.com/panka/panka/provider/aws"
	"github.com/panka/panka/state"
)

const (
	lambdaImage  = "123456789012.dkr.ecr.us-east-1.amazonaws.com/orders:1"
	lambdaImage2 = "123456789012.dkr.ecr.us-east-1.amazonaws.com/orders:2"
)

// lambdaBase is an image function's spec as the engine hands it over: every field, at its
// default.
func lambdaBase() map[string]any {
	return map[string]any{"image": lambdaImage, "memory": int64(128), "timeout": int64(3), "ephemeralStorage": int64(512), "architecture": "x86_64"}
}

// lambdaClients are the SDK clients the tests look through, independently of the provider.
type lambdaClients struct {
	fn    *lambda.Client
	iam   *iam.Client
	logs  *cloudwatchlogs.Client
	sched *scheduler.Client
}

func newLambdaClients(t *testing.T) lambdaClients {
	cfg := sdkConfig(t)
	return lambdaClients{lambda.NewFromConfig(cfg), iam.NewFromConfig(cfg), cloudwatchlogs.NewFromConfig(cfg), scheduler.NewFromConfig(cfg)}
}

// view reads a function through the SDK: its configuration, code, concurrency, mappings,
// schedules, URL, public permission and tags.
func (c lambdaClients) view(t *testing.T, name string) view {
	t.Helper()
	ctx := t.Context()
	fn, err := c.fn.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)})
	if err != nil {
		t.Fatalf("GetFunction: %v", err)
	}
	conf := fn.Configuration
	v := view{
		"MemorySize": fmt.Sprint(aws.ToInt32(conf.MemorySize)), "Timeout": fmt.Sprint(aws.ToInt32(conf.Timeout)),
		"PackageType": string(conf.PackageType), "Runtime": string(conf.Runtime), "Handler": aws.ToString(conf.Handler),
		"CodeSha256": aws.ToString(conf.CodeSha256),
	}
	for _, a := range conf.Architectures {
		v["Architectures"] += string(a)
	}
	if e := conf.EphemeralStorage; e != nil {
		v["EphemeralStorage"] = fmt.Sprint(aws.ToInt32(e.Size))
	}
	if fn.Code != nil {
		v["ImageUri"] = aws.ToString(fn.Code.ImageUri)
	}
	if conf.Environment != nil {
		for k, x := range conf.Environment.Variables {
			v["env:"+k] = x
		}
	}
	for k, x := range fn.Tags {
		v["tag:"+k] = x
	}
	conc, err := c.fn.GetFunctionConcurrency(ctx, &lambda.GetFunctionConcurrencyInput{FunctionName: aws.String(name)})
	if err != nil {
		t.Fatalf("GetFunctionConcurrency: %v", err)
	}
	if conc.ReservedConcurrentExecutions != nil {
		v["concurrency"] = fmt.Sprint(*conc.ReservedConcurrentExecutions)
	}
	maps, err := c.fn.ListEventSourceMappings(ctx, &lambda.ListEventSourceMappingsInput{FunctionName: aws.String(name)})
	if err != nil {
		t.Fatalf("ListEventSourceMappings: %v", err)
	}
	for _, m := range maps.EventSourceMappings {
		v["mapping:"+aws.ToString(m.EventSourceArn)] = fmt.Sprintf("batch=%d window=%d position=%s",
			aws.ToInt32(m.BatchSize), aws.ToInt32(m.MaximumBatchingWindowInSeconds), m.StartingPosition)
	}
	for i := range 3 {
		s, err := c.sched.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String(fmt.Sprintf("%s-schedule-%d", name, i))})
		if err == nil {
			v[fmt.Sprintf("schedule:%d", i)] = aws.ToString(s.ScheduleExpression) + " -> " + aws.ToString(s.Target.Arn)
		}
	}
	if u, err := c.fn.GetFunctionUrlConfig(ctx, &lambda.GetFunctionUrlConfigInput{FunctionName: aws.String(name)}); err == nil {
		v["url"] = string(u.AuthType)
	}
	if p, err := c.fn.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String(name)}); err == nil {
		var doc struct {
			Statement []struct {
				Sid    string `json:"Sid"`
				Action any    `json:"Action"`
			}
		}
		if err := json.Unmarshal([]byte(aws.ToString(p.Policy)), &doc); err != nil {
			t.Fatalf("policy %s: %v", aws.ToString(p.Policy), err)
		}
		for _, s := range doc.Statement {
			v["permission:"+s.Sid] = fmt.Sprint(s.Action)
		}
	}
	return v
}

func (c lambdaClients) updateConfig(in lambda.UpdateFunctionConfigurationInput) func(t *testing.T, id string) {
	return func(t *testing.T, id string) {
		in.FunctionName = aws.String(id)
		if _, err := c.fn.UpdateFunctionConfiguration(t.Context(), &in); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLambdaFields sets every field of an image function to a value other than its default, and
// checks through the SDK that Create applies it, that an Update to it changes exactly it, and
// that a change of it behind Panka's back shows in Read and is undone by the next Update.
func TestLambdaFields(t *testing.T) {
	p := newProvider(t)
	c := newLambdaClients(t)
	queue := deploy(t, p, component("SQS", unique("jobs"), "", sqsBase()))
	queueRef := strings.TrimPrefix(queue.Name, prefix)
	tableSpec := ddbBase()
	tableSpec["stream"] = map[string]any{"enabled": true, "viewType": "NEW_AND_OLD_IMAGES"}
	table := deploy(t, p, component("DynamoDB", unique("users"), "", tableSpec))
	tableRef := strings.TrimPrefix(table.Name, prefix)

	cases := []fieldCase{
		{name: "memory", set: func(s map[string]any) { s["memory"] = int64(512) }, want: view{"MemorySize": "512"},
			drift: c.updateConfig(lambda.UpdateFunctionConfigurationInput{MemorySize: aws.Int32(256)})},
		{name: "timeout", set: func(s map[string]any) { s["timeout"] = int64(30) }, want: view{"Timeout": "30"},
			drift: c.updateConfig(lambda.UpdateFunctionConfigurationInput{Timeout: aws.Int32(10)})},
		{name: "ephemeralStorage", set: func(s map[string]any) { s["ephemeralStorage"] = int64(1024) }, want: view{"EphemeralStorage": "1024"},
			drift: c.updateConfig(lambda.UpdateFunctionConfigurationInput{EphemeralStorage: &ltypes.EphemeralStorage{Size: aws.Int32(2048)}})},
		{name: "architecture", set: func(s map[string]any) { s["architecture"] = "arm64" }, want: view{"Architectures": "arm64"},
			drift: func(t *testing.T, id string) {
				if _, err := c.fn.UpdateFunctionCode(t.Context(), &lambda.UpdateFunctionCodeInput{FunctionName: aws.String(id), ImageUri: aws.String(lambdaImage),
					Architectures: []ltypes.Architecture{ltypes.ArchitectureX8664}}); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "image", set: func(s map[string]any) { s["image"] = lambdaImage2 }, want: view{"ImageUri": lambdaImage2},
			drift: func(t *testing.T, id string) {
				if _, err := c.fn.UpdateFunctionCode(t.Context(), &lambda.UpdateFunctionCodeInput{FunctionName: aws.String(id), ImageUri: aws.String(lambdaImage)}); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "env", set: func(s map[string]any) { s["env"] = map[string]any{"LOG_LEVEL": "debug", "REGION_NAME": "eu"} },
			want:  view{"env:LOG_LEVEL": "debug", "env:REGION_NAME": "eu"},
			drift: c.updateConfig(lambda.UpdateFunctionConfigurationInput{Environment: &ltypes.Environment{Variables: map[string]string{"LOG_LEVEL": "info"}}})},
		{name: "reservedConcurrency", set: func(s map[string]any) { s["reservedConcurrency"] = int64(5) }, want: view{"concurrency": "5"},
			drift: func(t *testing.T, id string) {
				if _, err := c.fn.PutFunctionConcurrency(t.Context(), &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String(id), ReservedConcurrentExecutions: aws.Int32(9)}); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "eventSources[].queue", set: func(s map[string]any) {
			s["eventSources"] = []any{map[string]any{"queue": queueRef, "batchSize": int64(5), "batchWindow": int64(2)}}
		}, want: view{"mapping:" + queue.ARN: "batch=5 window=2 position="},
			drift: func(t *testing.T, id string) {
				m := mappingOf(t, c, id)
				if _, err := c.fn.UpdateEventSourceMapping(t.Context(), &lambda.UpdateEventSourceMappingInput{UUID: m.UUID, BatchSize: aws.Int32(7)}); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "eventSources[].table", set: func(s map[string]any) {
			s["eventSources"] = []any{map[string]any{"table": tableRef, "batchSize": int64(0), "batchWindow": int64(0), "startingPosition": "TRIM_HORIZON"}}
		}, want: view{"mapping:" + table.Outputs["streamArn"]: "batch=100 window=0 position=TRIM_HORIZON"},
			drift: func(t *testing.T, id string) {
				if _, err := c.fn.DeleteEventSourceMapping(t.Context(), &lambda.DeleteEventSourceMappingInput{UUID: mappingOf(t, c, id).UUID}); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "eventSources[].schedule", set: func(s map[string]any) {
			s["eventSources"] = []any{map[string]any{"schedule": "rate(5 minutes)", "batchSize": int64(0), "batchWindow": int64(0)}}
		}, want: view{"schedule:0": "rate(5 minutes) -> arn:aws:lambda:us-east-1:000000000000:function:"},
			drift: func(t *testing.T, id string) {
				s, err := c.sched.GetSchedule(t.Context(), &scheduler.GetScheduleInput{Name: aws.String(id + "-schedule-0")})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := c.sched.UpdateSchedule(t.Context(), &scheduler.UpdateScheduleInput{Name: s.Name, ScheduleExpression: aws.String("rate(7 minutes)"),
					Target: s.Target, FlexibleTimeWindow: &schedtypes.FlexibleTimeWindow{Mode: schedtypes.FlexibleTimeWindowModeOff}}); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "url", set: func(s map[string]any) { s["url"] = map[string]any{"enabled": true, "authType": "AWS_IAM"} }, want: view{"url": "AWS_IAM"},
			drift: func(t *testing.T, id string) {
				if _, err := c.fn.DeleteFunctionUrlConfig(t.Context(), &lambda.DeleteFunctionUrlConfigInput{FunctionName: aws.String(id)}); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "url.authType", set: func(s map[string]any) { s["url"] = map[string]any{"enabled": true, "authType": "NONE"} },
			want: view{"url": "NONE", "permission:panka-function-url-public": "lambda:InvokeFunctionUrl"},
			drift: func(t *testing.T, id string) {
				if _, err := c.fn.RemovePermission(t.Context(), &lambda.RemovePermissionInput{FunctionName: aws.String(id), StatementId: aws.String("panka-function-url-public")}); err != nil {
					t.Fatal(err)
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "eventSources[].schedule" {
				// The target's ARN names the function, which each subtest names anew.
				look := func(t *testing.T, id string) view {
					v := c.view(t, id)
					if s, ok := v["schedule:0"]; ok {
						v["schedule:0"] = strings.TrimSuffix(s, id)
					}
					return v
				}
				checkFieldCase(t, p, "Lambda", lambdaBase, noSuffix, tc, look)
				return
			}
			checkFieldCase(t, p, "Lambda", lambdaBase, noSuffix, tc, c.view)
		})
	}
}

func mappingOf(t *testing.T, c lambdaClients, fn string) ltypes.EventSourceMappingConfiguration {
	t.Helper()
	out, err := c.fn.ListEventSourceMappings(t.Context(), &lambda.ListEventSourceMappingsInput{FunctionName: aws.String(fn)})
	if err != nil || len(out.EventSourceMappings) != 1 {
		t.Fatalf("ListEventSourceMappings: %v, %v", out, err)
	}
	return out.EventSourceMappings[0]
}

func zipSHA(zip []byte) string {
	sum := sha256.Sum256(zip)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// zipFunction is a zip function from a local path, as the engine hands it over: the zip in
// Files["code"] and its SHA-256 in code.sha256.
func zipFunction(comp string, zip []byte) provider.Resource {
	spec := map[string]any{"runtime": "python3.12", "handler": "app.handler", "code": map[string]any{"path": "./src", "sha256": zipSHA(zip)},
		"memory": int64(128), "timeout": int64(3), "ephemeralStorage": int64(512), "architecture": "x86_64"}
	r := component("Lambda", comp, "", spec)
	r.Files = map[string][]byte{"code": zip}
	return r
}

// Code from a local path: the engine's zip is uploaded; Read reports the live CodeSha256 as
// code.sha256 and the path Panka recorded; a new zip (a new sha256) is uploaded by Update; code
// changed behind Panka's back reads as a changed sha256.
func TestLambdaCodeFromPath(t *testing.T) {
	p := newProvider(t)
	c := newLambdaClients(t)
	zip1, zip2 := []byte("PK zip one"), []byte("PK zip two")
	r := zipFunction(unique("zip"), zip1)
	obs := deploy(t, p, r)
	wantIn(t, "after Create", c.view(t, obs.ID), view{"PackageType": "Zip", "Runtime": "python3.12", "Handler": "app.handler", "CodeSha256": zipSHA(zip1)})
	if diff := cmp.Diff(r.Spec, obs.Spec, unsetIsAbsent); diff != "" {
		t.Errorf("Create returned spec (-want +got):\n%s", diff)
	}

	// A new zip, a new runtime and handler.
	next := zipFunction(strings.TrimPrefix(r.Name, prefix), zip2)
	next.Spec["runtime"], next.Spec["handler"] = "python3.13", "main.run"
	next.Spec["code"].(map[string]any)["path"] = "./build/src"
	updated, err := p.Update(t.Context(), obs.ID, next, []string{"code.sha256", "runtime", "handler"})
	if err != nil {
		t.Fatal(err)
	}
	wantIn(t, "after Update", c.view(t, obs.ID), view{"Runtime": "python3.13", "Handler": "main.run", "CodeSha256": zipSHA(zip2)})
	if diff := cmp.Diff(next.Spec, updated.Spec, unsetIsAbsent); diff != "" {
		t.Errorf("Update returned spec (-want +got):\n%s", diff)
	}

	// Unchanged code is not uploaded again.
	noUpload := faultyProvider(t, func(r *http.Request) *http.Response {
		if r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/code") {
			return lambdaError(400, "InvalidParameterValueException", "no upload expected")
		}
		return nil
	})
	if _, err := noUpload.Update(t.Context(), obs.ID, next, nil); err != nil {
		t.Errorf("Update with unchanged code: %v", err)
	}

	// Behind Panka's back.
	if _, err := c.fn.UpdateFunctionCode(t.Context(), &lambda.UpdateFunctionCodeInput{FunctionName: aws.String(obs.ID), ZipFile: []byte("someone else's")}); err != nil {
		t.Fatal(err)
	}
	got, err := p.Read(t.Context(), "Lambda", obs.ID)
	if err != nil {
		t.Fatal(err)
	}
	if sha := got.Spec["code"].(map[string]any)["sha256"]; sha != zipSHA([]byte("someone else's")) {
		t.Errorf("code changed behind Panka's back reads as sha256 %v", sha)
	}
	if _, err := p.Update(t.Context(), obs.ID, next, nil); err != nil {
		t.Fatal(err)
	}
	wantIn(t, "after undoing the drift", c.view(t, obs.ID), view{"CodeSha256": zipSHA(zip2)})

	// code.path without the engine's zip: an error naming it, and nothing made.
	missing := zipFunction(unique("nozip"), zip1)
	missing.Files = nil
	if _, err := p.Create(t.Context(), missing); err == nil || !strings.Contains(err.Error(), `Files["code"]`) {
		t.Errorf("Create without Files[code]: %v", err)
	}
	if _, err := c.iam.GetRole(t.Context(), &iam.GetRoleInput{RoleName: aws.String(missing.Name + "-lambda")}); err == nil {
		t.Error("a Create refused for want of its zip made a role")
	}
}

// Code from S3: sent as S3Bucket/S3Key/S3ObjectVersion; GetFunction cannot give them back, so
// Read reports what Panka recorded, and Update sends new code only when the object changes.
func TestLambdaCodeFromS3(t *testing.T) {
	p := newProvider(t)
	c := newLambdaClients(t)
	spec := map[string]any{"runtime": "nodejs22.x", "handler": "index.handler", "code": map[string]any{"s3Bucket": "artifacts", "s3Key": "orders/v1.zip"},
		"memory": int64(128), "timeout": int64(3), "ephemeralStorage": int64(512), "architecture": "x86_64"}
	r := component("Lambda", unique("s3"), "", spec)
	obs := deploy(t, p, r)
	if diff := cmp.Diff(spec, obs.Spec, unsetIsAbsent); diff != "" {
		t.Errorf("Create returned spec (-want +got):\n%s", diff)
	}
	desc := func() string {
		out, err := c.fn.GetFunctionConfiguration(t.Context(), &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(obs.ID)})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.Description)
	}
	before := desc()
	if !strings.HasPrefix(before, "panka: code=s3:") {
		t.Errorf("Description %q does not record the code's source", before)
	}
	r.Spec = state.CloneMap(spec)
	r.Spec["code"] = map[string]any{"s3Bucket": "artifacts", "s3Key": "orders/v2.zip", "s3ObjectVersion": "3"}
	updated, err := p.Update(t.Context(), obs.ID, r, []string{"code.s3Key"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(r.Spec, updated.Spec, unsetIsAbsent); diff != "" {
		t.Errorf("Update returned spec (-want +got):\n%s", diff)
	}
	if after := desc(); after == before || !strings.HasPrefix(after, "panka: code=s3:") {
		t.Errorf("Description after a new S3 object: %q (before %q)", after, before)
	}
}

// Secrets are read at deploy time from Secrets Manager and SSM Parameter Store and set as
// environment variables; Read reports neither them nor their variables.
func TestLambdaSecrets(t *testing.T) {
	p := newProvider(t)
	c := newLambdaClients(t)
	cfg := sdkConfig(t)
	sm, ps := secretsmanager.NewFromConfig(cfg), ssm.NewFromConfig(cfg)
	name := unique("shop/db")
	created, err := sm.CreateSecret(t.Context(), &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(`{"password":"hunter2","user":"app"}`)})
	if err != nil {
		t.Fatal(err)
	}
	plain := unique("shop/plain")
	if _, err := sm.CreateSecret(t.Context(), &secretsmanager.CreateSecretInput{Name: aws.String(plain), SecretString: aws.String("s3cr3t")}); err != nil {
		t.Fatal(err)
	}
	param := "/" + unique("shop/token")
	if _, err := ps.PutParameter(t.Context(), &ssm.PutParameterInput{Name: aws.String(param), Value: aws.String("tok-1"), Type: ssmtypes.ParameterTypeSecureString}); err != nil {
		t.Fatal(err)
	}
	spec := lambdaBase()
	spec["env"] = map[string]any{"LOG_LEVEL": "debug"}
	spec["secrets"] = map[string]any{
		"DB_PASSWORD": "secretsmanager:" + name + "#password",
		"DB_USER":     aws.ToString(created.ARN) + ":user::",
		"PLAIN":       "secretsmanager:" + plain,
		"API_TOKEN":   "ssm:" + param,
		"API_TOKEN_2": "arn:aws:ssm:us-east-1:123456789012:parameter" + param,
	}
	r := component("Lambda", unique("sec"), "", spec)
	obs := deploy(t, p, r)
	wantIn(t, "after Create", c.view(t, obs.ID), view{"env:LOG_LEVEL": "debug", "env:DB_PASSWORD": "hunter2", "env:DB_USER": "app",
		"env:PLAIN": "s3cr3t", "env:API_TOKEN": "tok-1", "env:API_TOKEN_2": "tok-1"})
	want := state.CloneMap(spec)
	delete(want, "secrets")
	if diff := cmp.Diff(want, obs.Spec, unsetIsAbsent); diff != "" {
		t.Errorf("Create returned spec (-want +got):\n%s", diff)
	}

	// A missing secret is an error naming it, not a missing function.
	r2 := component("Lambda", unique("sec"), "", lambdaBase())
	r2.Spec["secrets"] = map[string]any{"GONE": "secretsmanager:no-such-secret"}
	_, err = p.Create(t.Context(), r2)
	if err == nil || !strings.Contains(err.Error(), "no-such-secret") || errors.Is(err, provider.ErrNotFound) {
		t.Errorf("Create with a missing secret: %v", err)
	}
}

// A function with every kind of part: Observed.Parts lists them; the execution role trusts
// Lambda and grants exactly the logs, queue and stream access the function needs; the log group
// and roles carry the component's tags; the outputs are filled. Delete leaves none of them.
func TestLambdaPartsAndDelete(t *testing.T) {
	p := newProvider(t)
	c := newLambdaClients(t)
	queue := deploy(t, p, component("SQS", unique("jobs"), "", sqsBase()))
	tableSpec := ddbBase()
	tableSpec["stream"] = map[string]any{"enabled": true, "viewType": "NEW_AND_OLD_IMAGES"}
	table := deploy(t, p, component("DynamoDB", unique("users"), "", tableSpec))
	spec := lambdaBase()
	spec["eventSources"] = []any{
		map[string]any{"queue": strings.TrimPrefix(queue.Name, prefix), "batchSize": int64(0), "batchWindow": int64(0)},
		map[string]any{"table": "orders/" + strings.TrimPrefix(table.Name, prefix), "batchSize": int64(0), "batchWindow": int64(0)},
		map[string]any{"schedule": "cron(0 12 * * ? *)", "batchSize": int64(0), "batchWindow": int64(0)},
	}
	spec["url"] = map[string]any{"enabled": true, "authType": "NONE"}
	r := component("Lambda", unique("parts"), "", spec)
	obs, err := p.Create(t.Context(), r)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	fn := obs.ID

	var types []string
	for _, part := range obs.Parts {
		types = append(types, part.Type)
		if part.ID == "" {
			t.Errorf("part %+v has no ID", part)
		}
	}
	wantTypes := []string{"AWS::IAM::Role", "AWS::Logs::LogGroup", "AWS::Lambda::EventSourceMapping", "AWS::Lambda::EventSourceMapping",
		"AWS::IAM::Role", "AWS::Scheduler::Schedule", "AWS::Lambda::Url", "AWS::Lambda::Permission"}
	if diff := cmp.Diff(wantTypes, types); diff != "" {
		t.Errorf("parts (-want +got):\n%s", diff)
	}
	if obs.Outputs["functionName"] != fn || obs.Outputs["arn"] != obs.ARN || obs.Outputs["functionUrl"] == "" ||
		obs.Outputs["invokeArn"] != "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"+obs.ARN+"/invocations" {
		t.Errorf("outputs %v", obs.Outputs)
	}
	// The table is read back in the function's own service's spelling.
	wantSpec := state.CloneMap(spec)
	wantSpec["eventSources"].([]any)[1].(map[string]any)["table"] = strings.TrimPrefix(table.Name, prefix)
	if diff := cmp.Diff(wantSpec, obs.Spec, unsetIsAbsent); diff != "" {
		t.Errorf("Create returned spec (-want +got):\n%s", diff)
	}

	role, err := c.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(fn + "-lambda")})
	if err != nil {
		t.Fatal(err)
	}
	if doc := policyText(aws.ToString(role.Role.AssumeRolePolicyDocument)); !strings.Contains(doc, "lambda.amazonaws.com") {
		t.Errorf("execution role trusts %s", doc)
	}
	if tags := iamTags(role.Role.Tags); tags["panka:address"] != r.Address || tags["panka:stack"] != "shop" {
		t.Errorf("execution role tags %v", tags)
	}
	pol, err := c.iam.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(fn + "-lambda"), PolicyName: aws.String("panka")})
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Statement []struct {
			Action   []string
			Resource []string
		}
	}
	if err := json.Unmarshal([]byte(policyText(aws.ToString(pol.PolicyDocument))), &doc); err != nil {
		t.Fatal(err)
	}
	grants := map[string][]string{}
	for _, s := range doc.Statement {
		for _, a := range s.Action {
			grants[a] = append(grants[a], s.Resource...)
		}
	}
	logs := ""
	if l := grants["logs:PutLogEvents"]; len(l) == 1 && regexp.MustCompile(`^arn:aws:logs:us-east-1:\d{12}:log-group:/aws/lambda/`+regexp.QuoteMeta(fn)+`:\*$`).MatchString(l[0]) {
		logs = l[0]
	} else {
		t.Errorf("logs granted on %v, want the function's log group", l)
	}
	stream := table.Outputs["streamArn"]
	wantGrants := map[string][]string{
		"logs:CreateLogStream": {logs}, "logs:PutLogEvents": {logs},
		"sqs:ReceiveMessage": {queue.ARN}, "sqs:DeleteMessage": {queue.ARN}, "sqs:GetQueueAttributes": {queue.ARN},
		"dynamodb:DescribeStream": {stream}, "dynamodb:GetRecords": {stream}, "dynamodb:GetShardIterator": {stream}, "dynamodb:ListStreams": {stream},
	}
	if diff := cmp.Diff(wantGrants, grants); diff != "" {
		t.Errorf("execution role grants (-want +got):\n%s", diff)
	}
	schedRole, err := c.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(fn + "-scheduler")})
	if err != nil {
		t.Fatal(err)
	}
	if doc := policyText(aws.ToString(schedRole.Role.AssumeRolePolicyDocument)); !strings.Contains(doc, "scheduler.amazonaws.com") {
		t.Errorf("scheduler role trusts %s", doc)
	}
	invoke, err := c.iam.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(fn + "-scheduler"), PolicyName: aws.String("panka")})
	if err != nil || !strings.Contains(policyText(aws.ToString(invoke.PolicyDocument)), `"lambda:InvokeFunction"`) ||
		!strings.Contains(policyText(aws.ToString(invoke.PolicyDocument)), obs.ARN) {
		t.Errorf("scheduler role policy: %v, %v", invoke, err)
	}
	s, err := c.sched.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String(fn + "-schedule-0")})
	if err != nil || aws.ToString(s.Target.RoleArn) != aws.ToString(schedRole.Role.Arn) || aws.ToString(s.Target.Arn) != obs.ARN {
		t.Errorf("schedule: %+v, %v", s, err)
	}
	group := "/aws/lambda/" + fn
	groups, err := c.logs.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(group)})
	if err != nil || len(groups.LogGroups) != 1 {
		t.Fatalf("DescribeLogGroups: %v, %v", groups, err)
	}
	tags, err := c.logs.ListTagsForResource(ctx, &cloudwatchlogs.ListTagsForResourceInput{ResourceArn: aws.String(strings.TrimSuffix(aws.ToString(groups.LogGroups[0].Arn), ":*"))})
	if err != nil || tags.Tags["panka:address"] != r.Address {
		t.Errorf("log group tags: %v, %v", tags, err)
	}

	// Delete leaves nothing.
	if err := p.Delete(ctx, fn, r); err != nil {
		t.Fatal(err)
	}
	gone := func(what string, err error) {
		t.Helper()
		var nf interface{ ErrorCode() string }
		if err == nil || !errors.As(err, &nf) || !strings.Contains(nf.ErrorCode(), "NotFound") && nf.ErrorCode() != "NoSuchEntity" {
			t.Errorf("%s after Delete: %v, want it gone", what, err)
		}
	}
	_, err = c.fn.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(fn)})
	gone("function", err)
	_, err = c.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(fn + "-lambda")})
	gone("execution role", err)
	_, err = c.iam.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(fn + "-lambda"), PolicyName: aws.String("panka")})
	gone("execution role policy", err)
	_, err = c.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(fn + "-scheduler")})
	gone("scheduler role", err)
	_, err = c.sched.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String(fn + "-schedule-0")})
	gone("schedule", err)
	_, err = c.fn.GetFunctionUrlConfig(ctx, &lambda.GetFunctionUrlConfigInput{FunctionName: aws.String(fn)})
	gone("function URL", err)
	_, err = c.fn.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String(fn)})
	gone("function policy", err)
	maps, err := c.fn.ListEventSourceMappings(ctx, &lambda.ListEventSourceMappingsInput{FunctionName: aws.String(fn)})
	if err != nil || len(maps.EventSourceMappings) != 0 {
		t.Errorf("event source mappings after Delete: %v, %v", maps, err)
	}
	groups, err = c.logs.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(group)})
	if err != nil || len(groups.LogGroups) != 0 {
		t.Errorf("log groups after Delete: %v, %v", groups, err)
	}
}

// policyText returns a policy document as IAM gives it, URL-decoded.
func policyText(doc string) string {
	if d, err := url.QueryUnescape(doc); err == nil {
		return d
	}
	return doc
}

func iamTags(tags []iamtypes.Tag) map[string]string {
	out := map[string]string{}
	for _, t := range tags {
		out[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return out
}

// faultyProvider is a provider whose requests pass fail first: a response it returns is the
// answer, nil sends the request on to the local AWS.
func faultyProvider(t *testing.T, fail func(*http.Request) *http.Response) *pankaaws.Provider {
	t.Helper()
	cfg := sdkConfig(t)
	cfg.HTTPClient = faultClient{fail: fail}
	p, err := pankaaws.New(cfg, pankaaws.Options{Region: region})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

type faultClient struct {
	fail func(*http.Request) *http.Response
}

func (f faultClient) Do(r *http.Request) (*http.Response, error) {
	if resp := f.fail(r); resp != nil {
		resp.Request = r
		return resp, nil
	}
	return http.DefaultClient.Do(r)
}

// lambdaError is Lambda's answer with an error code.
func lambdaError(status int, code, msg string) *http.Response {
	body, _ := json.Marshal(map[string]string{"Type": "User", "message": msg})
	h := http.Header{"Content-Type": {"application/json"}, "X-Amzn-Errortype": {code}, "X-Amzn-Requestid": {"req-fault"}}
	return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body))}
}

// A Create that fails before the function exists deletes the role and log group it made; one
// that fails after leaves a function that Find adopts with all its parts and Delete removes
// whole. Nothing is left that the engine cannot find.
func TestLambdaCreateFailsHalfway(t *testing.T) {
	c := newLambdaClients(t)
	ctx := t.Context()
	t.Run("before the function", func(t *testing.T) {
		p := faultyProvider(t, func(r *http.Request) *http.Response {
			if r.Method == http.MethodPost && r.URL.Path == "/2015-03-31/functions" {
				return lambdaError(400, "InvalidParameterValueException", "Unsupported image")
			}
			return nil
		})
		r := component("Lambda", unique("half"), "", lambdaBase())
		if _, err := p.Create(ctx, r); err == nil || !strings.Contains(err.Error(), "Unsupported image") {
			t.Fatalf("Create: %v", err)
		}
		if _, err := c.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(r.Name + "-lambda")}); err == nil {
			t.Error("the execution role is left behind")
		}
		groups, err := c.logs.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/aws/lambda/" + r.Name)})
		if err != nil || len(groups.LogGroups) != 0 {
			t.Errorf("log group left behind: %v, %v", groups, err)
		}
	})
	t.Run("after the function", func(t *testing.T) {
		p := faultyProvider(t, func(r *http.Request) *http.Response {
			if r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/2021-10-31/functions/") {
				return lambdaError(500, "ServiceException", "boom")
			}
			return nil
		})
		spec := lambdaBase()
		spec["eventSources"] = []any{map[string]any{"schedule": "rate(1 hour)", "batchSize": int64(0), "batchWindow": int64(0)}}
		spec["url"] = map[string]any{"enabled": true, "authType": "AWS_IAM"}
		r := component("Lambda", unique("half"), "", spec)
		_, err := p.Create(ctx, r)
		if !errors.Is(err, provider.ErrTransient) {
			t.Fatalf("Create: %v, want a transient failure", err)
		}
		good := newProvider(t)
		found, err := good.Find(ctx, r)
		if err != nil {
			t.Fatalf("Find after a failed Create: %v", err)
		}
		var types []string
		for _, part := range found.Parts {
			types = append(types, part.Type)
		}
		if want := []string{"AWS::IAM::Role", "AWS::Logs::LogGroup", "AWS::IAM::Role", "AWS::Scheduler::Schedule"}; !slices.Equal(types, want) {
			t.Errorf("Find's parts %v, want %v", types, want)
		}
		// The next apply finishes the job.
		if _, err := good.Update(ctx, found.ID, r, nil); err != nil {
			t.Fatal(err)
		}
		wantIn(t, "after Update", c.view(t, found.ID), view{"url": "AWS_IAM"})
		if err := good.Delete(ctx, found.ID, r); err != nil {
			t.Fatal(err)
		}
		for _, role := range []string{r.Name + "-lambda", r.Name + "-scheduler"} {
			if _, err := c.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(role)}); err == nil {
				t.Errorf("role %s left after Delete", role)
			}
		}
		if _, err := c.sched.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String(r.Name + "-schedule-0")}); err == nil {
			t.Error("schedule left after Delete")
		}
	})
}

// A new role or policy takes IAM a while to reach Lambda and EventBridge Scheduler: Create retries
// while they say so.
func TestLambdaWaitsForTheRole(t *testing.T) {
	var refusals atomic.Int64
	p := faultyProvider(t, func(r *http.Request) *http.Response {
		if r.Method == http.MethodPost && r.URL.Path == "/2015-03-31/functions" && refusals.Add(1) <= 2 {
			return lambdaError(400, "InvalidParameterValueException", "The role defined for the function cannot be assumed by Lambda.")
		}
		return nil
	})
	obs := deploy(t, p, component("Lambda", unique("iam"), "", lambdaBase()))
	if n := refusals.Load(); n != 3 || obs.ID == "" {
		t.Errorf("CreateFunction called %d times, want 3 (two refused)", n)
	}

	// The execution role's new policy, for an event source mapping; the scheduler's new role.
	var mappings, schedules atomic.Int64
	p = faultyProvider(t, func(r *http.Request) *http.Response {
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/2015-03-31/event-source-mappings" && mappings.Add(1) == 1:
			return lambdaError(400, "InvalidParameterValueException", "The provided execution role does not have permissions to call ReceiveMessage on SQS")
		case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/schedules/") && schedules.Add(1) == 1:
			return lambdaError(400, "ValidationException", "The execution role you provide must allow AWS EventBridge Scheduler to assume the role.")
		}
		return nil
	})
	queue := deploy(t, p, component("SQS", unique("jobs"), "", sqsBase()))
	spec := lambdaBase()
	spec["eventSources"] = []any{
		map[string]any{"queue": strings.TrimPrefix(queue.Name, prefix), "batchSize": int64(0), "batchWindow": int64(0)},
		map[string]any{"schedule": "rate(1 hour)", "batchSize": int64(0), "batchWindow": int64(0)},
	}
	obs = deploy(t, p, component("Lambda", unique("iam"), "", spec))
	if mappings.Load() != 2 || schedules.Load() != 2 || len(obs.Parts) != 5 {
		t.Errorf("CreateEventSourceMapping called %d times, CreateSchedule %d, parts %v; want 2, 2 and five parts", mappings.Load(), schedules.Load(), obs.Parts)
	}
}

// A role of the execution role's name that belongs to another deployment is not adopted.
func TestLambdaRefusesAnotherOwnersRole(t *testing.T) {
	p := newProvider(t)
	c := newLambdaClients(t)
	r := component("Lambda", unique("owned"), "", lambdaBase())
	_, err := c.iam.CreateRole(t.Context(), &iam.CreateRoleInput{RoleName: aws.String(r.Name + "-lambda"), AssumeRolePolicyDocument: aws.String("{}"),
		Tags: []iamtypes.Tag{{Key: aws.String("panka:stack"), Value: aws.String("someone-else")}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = c.iam.DeleteRole(t.Context(), &iam.DeleteRoleInput{RoleName: aws.String(r.Name + "-lambda")})
	})
	if _, err := p.Create(t.Context(), r); !errors.Is(err, provider.ErrNotOwned) {
		t.Errorf("Create with another deployment's role: %v, want ErrNotOwned", err)
	}
	if _, err := c.fn.GetFunction(t.Context(), &lambda.GetFunctionInput{FunctionName: aws.String(r.Name)}); err == nil {
		t.Error("the function was made")
	}
	if _, err := c.iam.GetRole(t.Context(), &iam.GetRoleInput{RoleName: aws.String(r.Name + "-lambda")}); err != nil {
		t.Errorf("the other deployment's role is gone: %v", err)
	}
}

// Update adds, changes and removes parts: the execution role's policy follows the event
// sources, the scheduler role lives as long as a schedule does, the URL's auth type changes in
// place (with its public permission), and a URL turned off is deleted.
func TestLambdaUpdatesParts(t *testing.T) {
	p := newProvider(t)
	c := newLambdaClients(t)
	ctx := t.Context()
	queue := deploy(t, p, component("SQS", unique("jobs"), "", sqsBase()))
	spec := lambdaBase()
	spec["eventSources"] = []any{map[string]any{"queue": strings.TrimPrefix(queue.Name, prefix), "batchSize": int64(0), "batchWindow": int64(0)}}
	spec["url"] = map[string]any{"enabled": true, "authType": "AWS_IAM"}
	r := component("Lambda", unique("upd"), "", spec)
	obs := deploy(t, p, r)
	fn := obs.ID
	policy := func() string {
		out, err := c.iam.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(fn + "-lambda"), PolicyName: aws.String("panka")})
		if err != nil {
			t.Fatal(err)
		}
		return policyText(aws.ToString(out.PolicyDocument))
	}
	if !strings.Contains(policy(), queue.ARN) {
		t.Errorf("policy %s does not grant the queue", policy())
	}
	urlBefore := obs.Outputs["functionUrl"]

	r.Spec = lambdaBase()
	r.Spec["eventSources"] = []any{map[string]any{"schedule": "rate(1 day)", "batchSize": int64(0), "batchWindow": int64(0)}}
	r.Spec["url"] = map[string]any{"enabled": true, "authType": "NONE"}
	got, err := p.Update(ctx, fn, r, []string{"eventSources", "url.authType"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(r.Spec, got.Spec, unsetIsAbsent); diff != "" {
		t.Errorf("Update returned spec (-want +got):\n%s", diff)
	}
	v := c.view(t, fn)
	wantIn(t, "after the first Update", v, view{"mapping:" + queue.ARN: "", "url": "NONE", "permission:panka-function-url-public": "lambda:InvokeFunctionUrl",
		"schedule:0": "rate(1 day) -> " + obs.ARN})
	if strings.Contains(policy(), ":sqs:") {
		t.Errorf("policy %s still grants a queue", policy())
	}
	if got.Outputs["functionUrl"] != urlBefore {
		t.Errorf("the URL changed (%s to %s): its auth type should change in place", urlBefore, got.Outputs["functionUrl"])
	}
	if _, err := c.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(fn + "-scheduler")}); err != nil {
		t.Errorf("scheduler role: %v", err)
	}

	r.Spec = lambdaBase()
	r.Spec["url"] = map[string]any{"enabled": false, "authType": "NONE"}
	got, err = p.Update(ctx, fn, r, []string{"eventSources", "url.enabled"})
	if err != nil {
		t.Fatal(err)
	}
	wantIn(t, "after the second Update", c.view(t, fn), view{"url": "", "permission:panka-function-url-public": "", "schedule:0": ""})
	if _, err := c.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(fn + "-scheduler")}); err == nil {
		t.Error("the scheduler role outlives the last schedule")
	}
	if got.Outputs["functionUrl"] != "" {
		t.Errorf("functionUrl = %q without a URL", got.Outputs["functionUrl"])
	}
	if slices.ContainsFunc(got.Parts, func(p provider.Part) bool { return p.Type != "AWS::IAM::Role" && p.Type != "AWS::Logs::LogGroup" }) {
		t.Errorf("parts %v, want the execution role and log group only", got.Parts)
	}

	// An image function cannot become a zip in place; nothing changes.
	before := c.view(t, fn)
	zip := zipFunction(strings.TrimPrefix(fn, prefix), []byte("PK"))
	if _, err := p.Update(ctx, fn, zip, []string{"image", "runtime", "code"}); err == nil || !strings.Contains(err.Error(), "--replace") {
		t.Errorf("Update from an image to a zip: %v", err)
	}
	if diff := cmp.Diff(before, c.view(t, fn)); diff != "" {
		t.Errorf("a refused Update changed the function (-before +after):\n%s", diff)
	}
}

// Every event source deleted behind Panka's back reads as an empty list (the engine takes a
// field Read leaves out as unread, an empty one as read and found empty).
func TestLambdaSourcesGone(t *testing.T) {
	p := newProvider(t)
	c := newLambdaClients(t)
	queue := deploy(t, p, component("SQS", unique("jobs"), "", sqsBase()))
	spec := lambdaBase()
	spec["eventSources"] = []any{map[string]any{"queue": strings.TrimPrefix(queue.Name, prefix), "batchSize": int64(0), "batchWindow": int64(0)}}
	obs := deploy(t, p, component("Lambda", unique("gone"), "", spec))
	if _, err := c.fn.DeleteEventSourceMapping(t.Context(), &lambda.DeleteEventSourceMappingInput{UUID: mappingOf(t, c, obs.ID).UUID}); err != nil {
		t.Fatal(err)
	}
	got, err := p.Read(t.Context(), "Lambda", obs.ID)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := got.Spec["eventSources"]; !ok || !cmp.Equal(v, []any{}) {
		t.Errorf("eventSources read back as %#v (present %v), want an empty list", v, ok)
	}
}
