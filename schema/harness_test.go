package schema

import (
	"strings"
	"testing"
)

// prelude is a valid Stack and two Services ("api", "data") that test documents build on. It is
// 16 lines long, so a test document's first line is line 17 of "test.yaml".
const prelude = `apiVersion: panka.io/v1
kind: Stack
metadata: {name: shop}
spec:
  provider: {name: aws, region: eu-west-1, accountId: "123456789012"}
  variables: {TAG: "1.0", DB_SECRET: "secretsmanager:shop/db"}
---
apiVersion: panka.io/v1
kind: Service
metadata: {name: api}
spec: {variables: {LOG_LEVEL: info}}
---
apiVersion: panka.io/v1
kind: Service
metadata: {name: data}
spec: {}
`

// preludeLines is the number of lines in prelude; the first line of a test document is preludeLines+2
// (after the "---" separator).
const preludeLines = 16

// diagsFor parses prelude + "---" + docs and validates it, returning every diagnostic (parse and
// validation) as "LINE:COL: severity: message" strings, with LINE relative to the start of docs
// (line 1 = first line of docs).
func diagsFor(t *testing.T, docs string) []string {
	t.Helper()
	cfg, err := ParseBytes("test.yaml", []byte(prelude+"---\n"+docs))
	var all Diagnostics
	if err != nil {
		all = append(all, err.(Diagnostics)...)
	}
	all = append(all, Validate(cfg)...)
	var out []string
	for _, d := range all {
		d.Pos.Line -= preludeLines + 1
		out = append(out, strings.TrimPrefix(d.String(), "test.yaml:"))
	}
	return out
}

// ruleCase is one table entry of a per-kind rule test: docs are YAML documents appended to the
// prelude; want lists substrings, each of which must appear in a distinct diagnostic, in order
// (diagnostics are sorted by position). An empty want means the docs must be valid (no errors,
// no warnings).
type ruleCase struct {
	name string
	docs string
	want []string
}

func runRuleCases(t *testing.T, cases []ruleCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := diagsFor(t, tc.docs)
			if len(tc.want) == 0 {
				if len(got) != 0 {
					t.Fatalf("want no diagnostics, got:\n%s", strings.Join(got, "\n"))
				}
				return
			}
			if len(got) != len(tc.want) {
				t.Fatalf("want %d diagnostics %q, got %d:\n%s", len(tc.want), tc.want, len(got), strings.Join(got, "\n"))
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("diagnostic %d: want it to contain %q, got %q", i, w, got[i])
				}
			}
		})
	}
}
