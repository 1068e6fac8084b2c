package schema

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
)

const ms = "apiVersion: panka.io/v1\nkind: MicroService\n"

func TestGenericRules(t *testing.T) {
	runRuleCases(t, []ruleCase{
		{name: "component name must be a DNS label", docs: ms + `metadata: {name: Web_1, service: api}
spec: {image: nginx}
`, want: []string{`3:18: error: component name "Web_1" must be a lowercase DNS label`}},
		{name: "double dash reserved", docs: ms + `metadata: {name: a--b, service: api}
spec: {image: nginx}
`, want: []string{`must not contain "--"`}},
		{name: "name too long", docs: ms + `metadata: {name: ` + strings.Repeat("a", 64) + `, service: api}
spec: {image: nginx}
`, want: []string{"is 64 characters; the limit is 63", "over the 255-character limit"}[:1]},
		{name: "duplicate component in a service", docs: ms + `metadata: {name: web, service: api}
spec: {image: nginx}
---
` + ms + `metadata: {name: web, service: api}
spec: {image: nginx}
`, want: []string{`8:18: error: duplicate component "web" in service "api" (first defined at test.yaml:18:1)`}},
		{name: "components whose physical names collide", docs: `apiVersion: panka.io/v1
kind: Service
metadata: {name: a}
---
apiVersion: panka.io/v1
kind: Service
metadata: {name: a-b}
---
apiVersion: panka.io/v1
kind: SQS
metadata: {name: b-c, service: a}
---
apiVersion: panka.io/v1
kind: SQS
metadata: {name: c, service: a-b}
`, want: []string{`15:18: error: component a-b/c and component a/b-c (at test.yaml:28:18) both have the physical name "shop-default-a-b-c"; rename one`}},
		{name: "same name in two services is fine", docs: ms + `metadata: {name: web, service: api}
spec: {image: nginx}
---
` + ms + `metadata: {name: web, service: data}
spec: {image: nginx}
`},
		{name: "unknown service suggests", docs: ms + `metadata: {name: web, service: apj}
spec: {image: nginx}
`, want: []string{`3:32: error: component "web" belongs to unknown service "apj" (add a Service document or fix the name); did you mean "api"?`}},
		{name: "missing metadata.service", docs: ms + `metadata: {name: web}
spec: {image: nginx}
`, want: []string{"3:11: error: metadata.service is required for components"}},
		{name: "dependsOn unknown component", docs: ms + `metadata: {name: web, service: api}
spec: {image: nginx, dependsOn: [wbe, data/nope, nosvc/x]}
`, want: []string{
			`4:34: error: spec.dependsOn[0] refers to unknown component "wbe" in service api`,
			`4:39: error: spec.dependsOn[1] refers to unknown component "nope" in service data`,
			`4:50: error: spec.dependsOn[2] refers to "nosvc/x", but there is no service "nosvc"`,
		}},
		{name: "interpolation: variables, service vars, outputs", docs: ms + `metadata: {name: web, service: api}
spec:
  image: "nginx:${TAG}"
  env:
    LEVEL: ${api.LOG_LEVEL}
    Q: ${queue.arn}
    DB: ${data.db.endpoint}
    LITERAL: "$${NOT_A_REF}"
---
apiVersion: panka.io/v1
kind: Worker
metadata: {name: queue, service: api}
spec: {image: busybox}
---
apiVersion: panka.io/v1
kind: Worker
metadata: {name: db, service: data}
spec: {image: busybox}
`, want: []string{`9:9: error: Worker data/db has no output "endpoint"`}},
		{name: "interpolation errors at their column", docs: ms + `metadata: {name: web, service: api}
spec:
  image: nginx
  env:
    A: "x ${TGA} y"
    B: "${api.NOPE}"
    C: "${web.arn}"
    D: "${nothing.here}"
    E: "${unclosed"
    F: "${a b}"
    G: "${LOG_LEVEL}"
    H: "${db.arn}"
---
apiVersion: panka.io/v1
kind: Worker
metadata: {name: db, service: data}
spec: {image: busybox}
`, want: []string{
			`7:11: error: undefined variable ${TGA}: define it in the Stack's spec.variables; did you mean "TAG"?`,
			`8:9: error: service api has no variable "NOPE"`,
			`9:9: error: ${web.arn} refers to the component's own output`,
			`10:9: error: unknown reference ${nothing.here}: "nothing" is neither a component of service api nor a service`,
			`11:9: error: spec.env.E: unterminated "${"`,
			`12:9: error: spec.env.F: invalid reference "${a b}"`,
			`13:9: error: undefined variable ${LOG_LEVEL}: define it in the Stack's spec.variables; LOG_LEVEL is a variable of service api: write ${api.LOG_LEVEL}`,
			`14:9: error: unknown reference ${db.arn}: db is a component of service data; write ${data.db.arn}`,
		}},
		{name: "interpolation in a number field", docs: ms + `metadata: {name: web, service: api}
spec: {image: nginx, cpu: "${CPU}"}
`, want: []string{`4:28: error: spec.cpu must be a whole number, not "${CPU}" (interpolation is only supported in string fields)`}},
		{name: "cycle through outputs and dependsOn prints the path", docs: ms + `metadata: {name: a, service: api}
spec: {image: "x:${b.serviceArn}"}
---
` + ms + `metadata: {name: b, service: api}
spec: {image: x, dependsOn: [c]}
---
` + ms + `metadata: {name: c, service: api}
spec: {image: x, dependsOn: [a]}
`, want: []string{"4:18: error: dependency cycle: api/a → api/b → api/c → api/a; remove one of these dependencies"}},
		{name: "self dependency", docs: ms + `metadata: {name: a, service: api}
spec: {image: x, dependsOn: [a]}
`, want: []string{"4:30: error: spec.dependsOn[0] refers to the component itself"}},
		{name: "wrong type of value", docs: ms + `metadata: {name: web, service: api}
spec:
  image: [nginx]
  ports: {name: http}
  scaling: 3
`, want: []string{
			`5:10: error: spec.image must be a single value, not a list`,
			`6:10: error: spec.ports must be a list, not a mapping`,
			`7:12: error: spec.scaling must be a mapping (key: value pairs), not "3"`,
		}},
		{name: "labels become tags", docs: ms + `metadata:
  name: web
  service: api
  labels: {"aws:reserved": x, team: payments}
spec: {image: nginx}
`, want: []string{`6:13: error: label "aws:reserved" becomes an AWS tag`}},
	})
}

func TestDocumentShape(t *testing.T) {
	runRuleCases(t, []ruleCase{
		{name: "unknown kind suggests", docs: `apiVersion: panka.io/v1
kind: MicroServise
metadata: {name: web, service: api}
`, want: []string{`2:7: error: unknown kind "MicroServise"; did you mean "MicroService"?`}},
		{name: "unsupported apiVersion lists the supported ones", docs: `apiVersion: panka.io/v2
kind: MicroService
metadata: {name: web, service: api}
`, want: []string{`1:13: error: unsupported apiVersion "panka.io/v2"; supported: panka.io/v1`}},
		{name: "unknown top-level field", docs: `apiVersion: panka.io/v1
kind: MicroService
metdata: {name: web, service: api}
spec: {image: nginx}
`, want: []string{"1:1: error: metadata is required", `3:1: error: unknown top-level field "metdata"; did you mean "metadata"?`}},
		{name: "missing kind", docs: `apiVersion: panka.io/v1
metadata: {name: web}
`, want: []string{"1:1: error: kind is required"}},
		{name: "document must be a mapping", docs: "- a\n- b\n", want: []string{"1:1: error: a document must be a mapping"}},
		{name: "anchors and merge keys", docs: `apiVersion: panka.io/v1
kind: MicroService
metadata: {name: web, service: api}
spec:
  image: nginx
  ports:
    - &http {name: http, port: 80, protocol: tcp}
    - {<<: *http, name: admin, port: 81}
    - *http
`, want: []string{`9:7: error: duplicate port name "http"`, `9:7: error: duplicate port number 80`}},
		{name: "unknown alias", docs: `apiVersion: panka.io/v1
kind: MicroService
metadata: {name: web, service: api}
spec: {image: *nope}
`, want: []string{"4:15: error: alias *nope refers to no anchor; define &nope before using it"}},
	})
}

func TestStackRules(t *testing.T) {
	parse := func(t *testing.T, src string) Diagnostics {
		t.Helper()
		cfg, err := ParseBytes("s.yaml", []byte(src))
		require.NoError(t, err)
		return Validate(cfg)
	}
	t.Run("no stack", func(t *testing.T) {
		diags := parse(t, "apiVersion: panka.io/v1\nkind: Service\nmetadata: {name: api}\n")
		require.Equal(t, "s.yaml:1:1: error: no Stack document found; add one (kind: Stack) naming the provider and region", diags.Error())
	})
	t.Run("two stacks and bad provider fields", func(t *testing.T) {
		diags := parse(t, `apiVersion: panka.io/v1
kind: Stack
metadata: {name: a}
spec:
  provider: {name: gcp, region: europe-west1, accountId: "12"}
  variables: {"1BAD": x, REF: "${OTHER}"}
  environments:
    Prod: {}
---
apiVersion: panka.io/v1
kind: Stack
metadata: {name: b}
spec: {provider: {name: aws, region: us-east-1}}
`)
		want := []string{
			`s.yaml:5:20: error: unsupported provider "gcp"; supported: aws`,
			`s.yaml:5:33: error: region "europe-west1" is not an AWS region name (like us-east-1 or eu-west-3)`,
			`s.yaml:5:59: error: accountId "12" must be the 12-digit AWS account ID`,
			`s.yaml:6:16: error: variable name "1BAD" must be letters, digits and '_', starting with a letter or '_'`,
			`s.yaml:6:32: error: stack variables cannot reference other values (${OTHER}); write the value, or write $${ for a literal ${`,
			`s.yaml:8:5: error: environment name "Prod" must be a lowercase DNS label: start with a letter, then letters a-z, digits and '-', not ending with '-'`,
			`s.yaml:10:1: error: a second Stack "b": a config has exactly one Stack (the first is at s.yaml:1:1); remove one`,
		}
		if d := cmp.Diff(want, strings.Split(diags.Error(), "\n")); d != "" {
			t.Errorf("diagnostics (-want +got):\n%s", d)
		}
	})
}

const envStack = `apiVersion: panka.io/v1
kind: Stack
metadata: {name: shop}
spec:
  provider: {name: aws, region: eu-west-1}
  variables: {TAG: "1"}
  environments:
    dev: {variables: {DEV_ONLY: x}}
    production: {}
---
apiVersion: panka.io/v1
kind: Service
metadata: {name: api}
---
apiVersion: panka.io/v1
kind: S3
metadata: {name: assets-with-a-rather-long-name-for-this-test1, service: api}
spec: {}
---
apiVersion: panka.io/v1
kind: Worker
metadata: {name: w, service: api}
spec: {image: "busybox:${TAG}-${DEV_ONLY}"}
`

func TestEnvironments(t *testing.T) {
	errorsOf := func(diags Diagnostics) []string {
		var out []string
		for _, d := range diags {
			if d.Severity == Error {
				out = append(out, d.String())
			}
		}
		return out
	}
	cfg, err := ParseBytes("e.yaml", []byte(envStack))
	require.NoError(t, err)
	// Validate checks every environment: DEV_ONLY is missing in production, and the S3 name is
	// measured with the longest environment name.
	all := errorsOf(Validate(cfg))
	require.Len(t, all, 2, "%q", all)
	require.Contains(t, all[0], `e.yaml:17:18: error: physical name "shop-production-api-assets-with-a-rather-long-name-for-this-test1"`)
	require.Contains(t, all[1], "e.yaml:23:31: error: variable ${DEV_ONLY} is not defined for environment production")
	// CheckTarget checks one tenant and environment: dev fits for the default tenant, but not
	// with a tenant prefix.
	require.Empty(t, errorsOf(CheckTarget(cfg, "", "dev")))
	got := errorsOf(CheckTarget(cfg, "team-a", "dev"))
	require.Len(t, got, 1, "%q", got)
	require.Contains(t, got[0], `e.yaml:17:18: error: physical name "team-a-shop-dev-api-assets-with-a-rather-long-name-for-this-test1"`)
	require.Contains(t, got[0], "shorten the tenant, stack, service or component name")
	// An undeclared environment is refused with a suggestion; so is a bad tenant name.
	got = errorsOf(CheckTarget(cfg, "", "prod"))
	require.NotEmpty(t, got)
	require.Contains(t, got[0], `environment "prod" is not declared in the stack; did you mean "production"?`)
	got = errorsOf(CheckTarget(cfg, "Team_A", "dev"))
	require.NotEmpty(t, got)
	require.Contains(t, got[0], `tenant name "Team_A"`)
	// Neither call wrote anything into the Config.
	require.Equal(t, []string{"dev", "production"}, cfg.Environments())
}

func TestParseFilesOrderAndPositions(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	write("b/svc.yml", "apiVersion: panka.io/v1\nkind: Service\nmetadata: {name: api}\n")
	write("a.yaml", prelude[:strings.Index(prelude, "---")])
	write("c/.hidden/x.yaml", "not: [valid")
	write("notes.txt", "ignored")
	write("z.yaml", "apiVersion: panka.io/v1\nkind: Worker\nmetadata: {name: w, service: api}\nspec: {image: x, cpu: 1}\n")
	cfg, err := ParseFiles(context.Background(), dir)
	require.NoError(t, err)
	require.Equal(t, []string{filepath.Join(dir, "a.yaml"), filepath.Join(dir, "b/svc.yml"), filepath.Join(dir, "z.yaml")}, cfg.Files)
	diags := Validate(cfg)
	require.Equal(t, filepath.Join(dir, "z.yaml")+":4:23: error: spec.cpu 1 is not a Fargate CPU size; use 256, 512, 1024, 2048, 4096, 8192 or 16384", diags.Error())

	_, err = ParseFiles(context.Background(), filepath.Join(dir, "missing"))
	require.ErrorContains(t, err, "no such file")
}

func TestSyntaxErrorPosition(t *testing.T) {
	_, err := ParseBytes("bad.yaml", []byte("apiVersion: panka.io/v1\nkind: Stack\nmetadata:\n  name: [unclosed\n"))
	var diags Diagnostics
	require.ErrorAs(t, err, &diags)
	require.Len(t, diags, 1)
	require.Equal(t, "bad.yaml", diags[0].Pos.File)
	require.Equal(t, 4, diags[0].Pos.Line)
	require.Contains(t, diags[0].Message, "invalid YAML")
}

func TestAliasBombIsBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("apiVersion: panka.io/v1\nkind: Stack\nmetadata: {name: s}\nspec:\n  provider: {name: aws, region: us-east-1}\n  variables:\n    a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 9; i++ {
		b.WriteString("    a" + string(rune('0'+i)) + ": &a" + string(rune('0'+i)) + " [")
		for j := range 10 {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	_, err := ParseBytes("bomb.yaml", []byte(b.String()))
	require.Error(t, err) // variables are strings, so this fails on types long before the budget
	require.Less(t, len(err.Error()), 1<<20, "diagnostics must stay bounded")
}

// TestStackVariablesOverlay: an environment's variables override the stack's, the stack's own
// map is left alone, and a stack without variables still yields a writable (non-nil) map.
func TestStackVariablesOverlay(t *testing.T) {
	st := &Stack{Spec: StackSpec{
		Variables:    map[string]string{"A": "base", "B": "base"},
		Environments: map[string]*EnvironmentSpec{"prod": {Variables: map[string]string{"B": "prod", "C": "prod"}}},
	}}
	if got, want := st.Variables("prod"), map[string]string{"A": "base", "B": "prod", "C": "prod"}; !maps.Equal(got, want) {
		t.Errorf("Variables(prod) = %v, want %v", got, want)
	}
	if got, want := st.Variables("dev"), map[string]string{"A": "base", "B": "base"}; !maps.Equal(got, want) {
		t.Errorf("Variables(dev) = %v, want %v", got, want)
	}
	if st.Spec.Variables["B"] != "base" {
		t.Errorf("Variables changed the stack's own map: %v", st.Spec.Variables)
	}
	empty := (&Stack{}).Variables("dev")
	if empty == nil {
		t.Fatal("Variables of a stack without variables is nil; callers add to it")
	}
}
