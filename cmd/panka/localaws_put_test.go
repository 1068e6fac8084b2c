package main

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/panka/panka/backend"
)

// `panka local-aws put-secret` and `put-parameter` store in the state dir's emulator what a stack
// takes as given (the platform example's secrets): a second put overwrites; the values are
// read back through the SDK.
func TestLocalAWSPutSecretAndParameter(t *testing.T) {
	dir := localDir(t)
	c := &cli{t: t, dir: dir}
	c.must("local-aws", "put-secret", "--state-dir", "st", "acme/dev/stripe", `{"api_key":"old"}`)
	out := c.must("local-aws", "put-secret", "--state-dir", "st", "acme/dev/stripe", `{"api_key":"new"}`)
	if !strings.Contains(out.stdout, "Stored acme/dev/stripe") {
		t.Errorf("put-secret says %q", out.stdout)
	}
	c.must("local-aws", "put-parameter", "--state-dir", "st", "/acme/shop/session-secret", "s1")
	c.must("local-aws", "put-parameter", "--state-dir", "st", "/acme/shop/session-secret", "s2")
	if r := c.run("local-aws", "put-secret", "--state-dir", "st", "only-a-name"); r.code != 2 || !strings.Contains(r.stderr, "usage: panka local-aws put-secret") {
		t.Errorf("put-secret without a value: %s", r)
	}

	w := &awsCrashWorld{crashWorld: &crashWorld{t: t, c: c, dir: dir}, stack: awsCrashStack{key: backend.Key{Tenant: "default", Stack: "s", Environment: "dev"}}}
	w.connectEmulator()
	sec, err := secretsmanager.NewFromConfig(w.cfg).GetSecretValue(t.Context(), &secretsmanager.GetSecretValueInput{SecretId: aws.String("acme/dev/stripe")})
	if err != nil || aws.ToString(sec.SecretString) != `{"api_key":"new"}` {
		t.Errorf("the secret: %v %v, want the second value", err, sec)
	}
	par, err := ssm.NewFromConfig(w.cfg).GetParameter(t.Context(), &ssm.GetParameterInput{Name: aws.String("/acme/shop/session-secret"), WithDecryption: aws.Bool(true)})
	if err != nil || aws.ToString(par.Parameter.Value) != "s2" || par.Parameter.Type != "SecureString" {
		t.Errorf("the parameter: %v %+v, want SecureString s2", err, par)
	}
}
