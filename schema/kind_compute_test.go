package schema

import (
	"strings"
	"testing"
)

func TestMicroServiceRules(t *testing.T) {
	runRuleCases(t, []ruleCase{
		{name: "valid minimal", docs: `apiVersion: panka.io/v1
kind: MicroService
metadata: {name: web, service: api}
spec:
  image: nginx:${TAG}
`},
		{name: "image required", docs: `apiVersion: panka.io/v1
kind: MicroService
metadata: {name: web, service: api}
spec:
  cpu: 256
`, want: []string{"5:3: error: image is required in spec"}},
		{name: "ports unique by name and number", docs: `apiVersion: panka.io/v1
kind: MicroService
metadata: {name: web, service: api}
spec:
  image: nginx
  ports:
    - {name: http, port: 80}
    - {name: http, port: 81}
    - {name: admin, port: 80}
    - {name: big, port: 70000, protocol: sctp}
`, want: []string{
			`8:14: error: duplicate port name "http"`,
			`9:27: error: duplicate port number 80`,
			`10:25: error: spec.ports[3].port must be between 1 and 65535, not 70000`,
			`10:42: error: spec.ports[3].protocol: "sctp" is not allowed`,
		}},
		{name: "fargate pair", docs: `apiVersion: panka.io/v1
kind: MicroService
metadata: {name: web, service: api}
spec:
  image: nginx
  cpu: 1024
  memory: 1024
`, want: []string{"7:11: error: spec.memory 1024 MiB is not valid with cpu 1024 on Fargate; use 2048–8192 in steps of 1024 MiB"}},
		{name: "bad cpu", docs: `apiVersion: panka.io/v1
kind: MicroService
metadata: {name: web, service: api}
spec: {image: nginx, cpu: 300}
`, want: []string{"4:27: error: spec.cpu 300 is not a Fargate CPU size"}},
		{name: "secret literal refused", docs: `apiVersion: panka.io/v1
kind: MicroService
metadata: {name: web, service: api}
spec:
  image: nginx
  secrets:
    DB_PASSWORD: hunter2
    OK_ARN: arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf
    OK_SSM: ssm:/shop/db/password
    OK_VAR: ${DB_SECRET}
`, want: []string{"7:18: error: spec.secrets.DB_PASSWORD is not a secret reference"}},
		{name: "plaintext credentials in env are warned about", docs: `apiVersion: panka.io/v1
kind: MicroService
metadata: {name: web, service: api}
spec:
  image: nginx
  env:
    DB_PASSWORD: hunter2
    GITHUB_TOKEN: ghp_abc
    KEY_PREFIX: logs/
    TOKEN_URL: https://example.com/token
    FROM_VAR: ${DB_SECRET}
    AS_REF: ssm:/shop/db/password
    EMPTY_SECRET: ""
---
apiVersion: panka.io/v1
kind: Worker
metadata: {name: w, service: api}
spec: {image: nginx, env: {STRIPE_SECRET: sk_live_1}}
---
apiVersion: panka.io/v1
kind: CronJob
metadata: {name: j, service: api}
spec: {image: nginx, schedule: rate(1 hour), env: {api_key: abc}}
`, want: []string{
			"7:18: warning: DB_PASSWORD looks like a credential written in plain text; move it to spec.secrets as a secret reference",
			"8:19: warning: GITHUB_TOKEN looks like a credential",
			"18:43: warning: STRIPE_SECRET looks like a credential",
			"23:61: warning: api_key looks like a credential",
		}},
		{name: "load balancer needs ALB or NLB and a port", docs: `apiVersion: panka.io/v1
kind: MicroService
metadata: {name: web, service: api}
spec:
  image: nginx
  loadBalancer: {target: other}
---
apiVersion: panka.io/v1
kind: Worker
metadata: {name: other, service: api}
spec: {image: busybox}
`, want: []string{
			"6:17: error: spec.loadBalancer needs a container port",
			"6:26: error: spec.loadBalancer.target refers to api/other, a Worker; it must be one of ALB, NLB",
		}},
		{name: "unknown field suggests", docs: `apiVersion: panka.io/v1
kind: MicroService
metadata: {name: web, service: api}
spec: {imgae: nginx}
`, want: []string{"4:7: error: image is required in spec", `4:8: error: unknown field "imgae" in spec; did you mean "image"?`}},
		{name: "volumes need one source", docs: `apiVersion: panka.io/v1
kind: Worker
metadata: {name: w, service: api}
spec:
  image: busybox
  volumes:
    - {name: scratch, mountPath: tmp}
    - {name: scratch, mountPath: /b, ephemeral: true}
`, want: []string{
			`7:7: error: volume "scratch" needs exactly one source`,
			`7:34: error: mountPath "tmp" must be an absolute path`,
			`8:14: error: duplicate volume name "scratch"`,
		}},
	})
}

func TestCronJobSchedules(t *testing.T) {
	valid := []string{
		"rate(1 minute)", "rate(5 minutes)", "rate(1 day)", "rate(12 hours)",
		"cron(0 12 * * ? *)", "cron(15 10 ? * 6L 2026-2030)", "cron(0/15 * * * ? *)",
		"cron(0 8 1W * ? *)", "cron(0 9 ? * MON-FRI *)", "cron(0 18 L * ? *)", "cron(0 10 ? * 2#1 *)",
		"cron(0,30 1-5 ? JAN,JUL SUN *)",
	}
	for _, s := range valid {
		if err := ValidateSchedule(s); err != nil {
			t.Errorf("ValidateSchedule(%q) = %v, want nil", s, err)
		}
	}
	invalid := map[string]string{
		"every 5 minutes":        "is not a schedule",
		"rate(5 minute)":         "plural unit",
		"rate(1 minutes)":        "singular unit",
		"rate(0 minutes)":        "positive whole number",
		"rate(5 weeks)":          "minute(s), hour(s) or day(s)",
		"cron(0 12 * * *)":       "needs 6",
		"cron(0 12 * * * *)":     "exactly one of day-of-month and day-of-week",
		"cron(0 12 ? * ? *)":     "exactly one of day-of-month and day-of-week",
		"cron(60 12 * * ? *)":    "minutes",
		"cron(0 24 * * ? *)":     "hours",
		"cron(0 12 32 * ? *)":    "day-of-month",
		"cron(0 12 * 13 ? *)":    "month",
		"cron(0 12 ? * 8 *)":     "day-of-week",
		"cron(0 12 * * ? 1969)":  "year",
		"cron(? 12 * * ? *)":     "only allowed in day-of-month",
		"cron(0/0 12 * * ? *)":   "step",
		"cron(0 10 ? * 2#6 *)":   "week number",
		"cron(0 12 * FOO ? *)":   "month",
		"cron(0 12 * * ? 2026-)": "year",
	}
	for s, want := range invalid {
		err := ValidateSchedule(s)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ValidateSchedule(%q) = %v, want an error containing %q", s, err, want)
		}
	}
	runRuleCases(t, []ruleCase{
		{name: "valid cron job", docs: `apiVersion: panka.io/v1
kind: CronJob
metadata: {name: nightly, service: api}
spec: {image: busybox, schedule: "cron(0 3 * * ? *)"}
`},
		{name: "bad schedule at its position", docs: `apiVersion: panka.io/v1
kind: CronJob
metadata: {name: nightly, service: api}
spec:
  image: busybox
  schedule: "cron(0 3 * * * *)"
  scaling: {min: 1}
`, want: []string{"6:14: error: spec.schedule", "7:12: error: a CronJob runs one task per schedule tick"}},
	})
}
