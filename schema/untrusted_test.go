package schema

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/lexer"
	yamltestsuite "github.com/goccy/go-yaml/testdata/yaml-test-suite"
	"github.com/stretchr/testify/require"

	"github.com/panka/panka/schema/internal/parser"
)

// Hostile inputs: YAML that deploy bots may read from any team's repository. Each must end in
// FILE:LINE:COL diagnostics, quickly and in bounded memory. They are also seeds of the fuzz
// targets (see TestHostileSeeds).

// selfMerge is a merge key pointing at its own anchor (it was a fatal stack overflow).
const selfMerge = "--- &s\n<<: *s\n"

// snsWith returns an SNS topic whose subscription's free-form filterPolicy is policy (indented
// under it).
func snsWith(policy string) string {
	return "apiVersion: panka.io/v1\nkind: SNS\nmetadata: {name: t, service: api}\nspec:\n  subscriptions:\n" +
		"    - protocol: https\n      endpoint: https://example.com/hook\n      filterPolicy:\n" + policy
}

// mergeFanOut is nested merge keys, each level merging the one before eight times, merged into the
// document: under 600 bytes whose merges expand to 8^9 mappings (it ran for minutes).
func mergeFanOut() string {
	var b strings.Builder
	b.WriteString("l0: &l0 {a: 1, b: 2, c: 3, d: 4}\n")
	for i := 1; i < 10; i++ {
		refs := strings.Repeat(fmt.Sprintf("*l%d, ", i-1), 7) + fmt.Sprintf("*l%d", i-1)
		fmt.Fprintf(&b, "l%d: &l%d {<<: [%s]}\n", i, i, refs)
	}
	b.WriteString("<<: *l9\n")
	return b.String()
}

// billionLaughs is the classic alias bomb in a free-form field: ten levels of ten aliases.
func billionLaughs() string {
	var b strings.Builder
	b.WriteString("        a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
	for i := 1; i < 10; i++ {
		refs := strings.Repeat(fmt.Sprintf("*a%d, ", i-1), 9) + fmt.Sprintf("*a%d", i-1)
		fmt.Fprintf(&b, "        a%d: &a%d [%s]\n", i, i, refs)
	}
	return snsWith(b.String())
}

// deepFlow is n levels of flow mappings, {a: {a: ... 1}}.
func deepFlow(n int) string {
	return strings.Repeat("{a: ", n) + "1" + strings.Repeat("}", n) + "\n"
}

// deepPolicy is a filter policy nesting n flow mappings below the policy itself.
func deepPolicy(n int) string {
	return snsWith("        " + strings.TrimSuffix(deepFlow(n), "\n") + "\n")
}

// wideStack is a stack with n variables.
func wideStack(n int) string {
	var b strings.Builder
	b.WriteString("apiVersion: panka.io/v1\nkind: Stack\nmetadata: {name: s}\nspec:\n  provider: {name: aws, region: eu-west-1}\n  variables:\n")
	for i := range n {
		fmt.Fprintf(&b, "    K%06d: v%06d\n", i, i)
	}
	return b.String()
}

// costOf runs f and returns how long it took and how many bytes it allocated.
func costOf(f func()) (time.Duration, uint64) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	f()
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	return elapsed, after.TotalAlloc - before.TotalAlloc
}

// diagLine is the form of every diagnostic: FILE:LINE:COL: SEVERITY: MESSAGE.
var diagLine = regexp.MustCompile(`^[^:]+:\d+:\d+: (error|warning): .+$`)

// requireCheapDiagnostic parses and validates src and requires an error diagnostic containing
// want (with a position), produced in under 5 s (generous for -race on a busy machine; the
// inputs used to take minutes) and with under 100 MB allocated.
func requireCheapDiagnostic(t *testing.T, src, want string) Diagnostics {
	t.Helper()
	var all Diagnostics
	elapsed, allocated := costOf(func() {
		cfg, err := ParseBytes("hostile.yaml", []byte(src))
		if err != nil {
			all = append(all, err.(Diagnostics)...)
		}
		all = append(all, Validate(cfg)...)
	})
	require.Less(t, elapsed, 5*time.Second, "parse and validate took %v", elapsed)
	require.Less(t, allocated, uint64(100<<20), "parse and validate allocated %d MB", allocated>>20)
	for _, line := range strings.Split(all.Error(), "\n") {
		require.Regexp(t, diagLine, line)
	}
	for _, d := range all {
		if d.Severity == Error && strings.Contains(d.Message, want) {
			return all
		}
	}
	t.Fatalf("no error containing %q among:\n%v", want, all)
	return nil
}

func TestSelfMergeIsAnError(t *testing.T) {
	all := requireCheapDiagnostic(t, selfMerge, "alias *s is inside the value of its own anchor &s (line 1, column 5)")
	require.Contains(t, all.Error(), "hostile.yaml:2:5: error: alias *s")

	var s fuzzSettings
	_, err := DecodeFile("panka.yaml", []byte(selfMerge), &s)
	require.ErrorContains(t, err, "panka.yaml:2:5: error: alias *s is inside the value of its own anchor &s")

	// The same for an alias inside a list it belongs to, and through a second merge.
	requireCheapDiagnostic(t, "a: &a [*a]\n", "alias *a is inside the value of its own anchor &a")
	requireCheapDiagnostic(t, "a: &a {b: {<<: *a}}\n", "alias *a is inside the value of its own anchor &a")
}

func TestMergeFanOutCountsAgainstTheBudget(t *testing.T) {
	src := mergeFanOut()
	require.Less(t, len(src), 600)
	requireCheapDiagnostic(t, src, "document too large: more than")
	var s fuzzSettings
	_, err := DecodeFile("panka.yaml", []byte(src), &s)
	require.ErrorContains(t, err, "document too large: more than")
}

func TestBillionLaughsSaysDocumentTooLarge(t *testing.T) {
	all := requireCheapDiagnostic(t, prelude+"---\n"+billionLaughs(), "document too large: more than 101")
	require.Contains(t, all.Error(), "values after expanding aliases and merge keys (the limit is 100000 plus one per byte of the file); split the file")
	// Many small bombs in one file share the file's budget: 200 of them cost about what 2 cost,
	// and never more than a file of their size written out in full.
	var b strings.Builder
	b.WriteString(prelude)
	for i := 0; i < 200; i++ {
		b.WriteString("---\n" + strings.Replace(billionLaughs(), "name: t,", fmt.Sprintf("name: t%d,", i), 1))
	}
	var err error
	elapsed, allocated := costOf(func() { _, err = ParseBytes("bombs.yaml", []byte(b.String())) })
	require.ErrorContains(t, err, "document too large")
	require.Less(t, elapsed, 5*time.Second)
	require.Less(t, allocated, uint64(1000*b.Len()), "%d bytes of bombs allocated %d MB", b.Len(), allocated>>20)
}

func TestDeepNestingIsRefusedEarly(t *testing.T) {
	// 500 KB of flow nesting took 92 s and 19 GB.
	all := requireCheapDiagnostic(t, deepFlow(100_000), "document too deep: it nests more than 256 levels")
	require.Contains(t, all.Error(), "hostile.yaml:1:1025: error:")
	// Block nesting too: "- - - - ...".
	requireCheapDiagnostic(t, strings.Repeat("- ", 200_000)+"x\n", "document too deep")
	// A long key above many values used to be quadratic too (every node's path repeated it).
	long := "{" + strings.Repeat("k", 100_000) + ": [" + strings.Repeat("1, ", 20_000) + "]}\n"
	requireCheapDiagnostic(t, long, "is 100000 characters long; the limit is 1024")
}

func TestFreeFormFieldsDeeperThanTheLimitAreErrors(t *testing.T) {
	// Values may nest 64 levels, counted from the document's top: the policy is at level 4
	// (spec.subscriptions[0].filterPolicy), so 60 mappings in it put their values at level 64...
	cfg, err := ParseBytes("test.yaml", []byte(prelude+"---\n"+deepPolicy(maxDepth-4)))
	require.NoError(t, err)
	require.Len(t, cfg.Components, 1)
	// ... one level more is refused, not silently cut short.
	requireCheapDiagnostic(t, prelude+"---\n"+deepPolicy(maxDepth-3), "nests more than 64 levels deep; flatten it")
}

func TestWideMappingsParseInLinearTime(t *testing.T) {
	// 40,000 keys (818 KB) took 21 s; 20,000 allocated 1.6 GB. Allocation is the stable measure.
	for _, n := range []int{5_000, 20_000} {
		src := []byte(wideStack(n))
		var cfg *Config
		var err error
		_, allocated := costOf(func() { cfg, err = ParseBytes("wide.yaml", src) })
		require.NoError(t, err)
		require.Len(t, cfg.Stacks[0].Spec.Variables, n)
		require.Less(t, allocated, uint64(200*len(src)), "%d keys (%d bytes) allocated %d MB", n, len(src), allocated>>20)
	}
}

func TestAliasesReferToTheMostRecentAnchor(t *testing.T) {
	cfg, err := ParseBytes("a.yaml", []byte(`apiVersion: panka.io/v1
kind: Stack
metadata: {name: s}
spec:
  provider: {name: aws, region: eu-west-1}
  variables:
    A: &x one
    B: *x
    C: &x two
    D: *x
`))
	require.NoError(t, err)
	require.Equal(t, map[string]string{"A": "one", "B": "one", "C": "two", "D": "two"}, cfg.Stacks[0].Spec.Variables)

	// An alias before any anchor of its name is an error that says where the anchor is.
	requireCheapDiagnostic(t, "a: *x\nb: &x 1\n", "alias *x comes before its anchor &x (line 2, column 4); define the anchor first")
}

func TestMergeKeysFollowTheYAMLRules(t *testing.T) {
	// Keys written in the mapping win; in a merge list, an earlier mapping wins over a later one.
	cfg, err := ParseBytes("m.yaml", []byte(`apiVersion: panka.io/v1
kind: Stack
metadata: {name: s}
spec:
  provider: {name: aws, region: eu-west-1}
  environments:
    a: &a {variables: {X: "1"}, region: us-east-1}
    b: &b {variables: {X: "2"}, region: us-west-2, accountId: "123456789012"}
    c: {<<: [*a, *b], region: eu-west-3}
`))
	require.NoError(t, err)
	c := cfg.Stacks[0].Spec.Environments["c"]
	require.Equal(t, "1", c.Variables["X"])
	require.Equal(t, "eu-west-3", c.Region)
	require.Equal(t, "123456789012", c.AccountID)
}

func TestDuplicateKeys(t *testing.T) {
	requireCheapDiagnostic(t, prelude+"---\n"+`apiVersion: panka.io/v1
kind: S3
metadata: {name: b, service: api}
spec: {versioning: true, versioning: false}
`, `duplicate key "versioning" (first at line 21, column 8); remove one`)
	all := requireCheapDiagnostic(t, "a: 1\nb: 2\na: 3\n", `duplicate key "a" (first at line 1, column 1)`)
	require.Contains(t, all.Error(), "hostile.yaml:3:1: error: duplicate key")
}

func TestByteOrderMarkAndInvalidUTF8(t *testing.T) {
	// A byte order mark (which some Windows editors write) is allowed.
	cfg, err := ParseBytes("bom.yaml", []byte("\ufeff"+prelude))
	require.NoError(t, err)
	require.Len(t, cfg.Services, 2)
	require.Empty(t, Validate(cfg))

	// Invalid UTF-8 used to become U+FFFD silently; it is refused at its line and column.
	all := requireCheapDiagnostic(t, prelude+"---\napiVersion: panka.io/v1\nkind: S3\nmetadata: {name: \"bé\xff\", service: api}\n",
		"invalid UTF-8 (byte 0xff); save the file as UTF-8")
	require.Contains(t, all.Error(), "hostile.yaml:20:21: error: invalid UTF-8")
	requireCheapDiagnostic(t, "\xff\xfea\x00:\x00", "the file is UTF-16; save it as UTF-8")
}

func TestFileSizeLimit(t *testing.T) {
	_, err := ParseOptions{MaxFileSize: 100}.ParseBytes("big.yaml", []byte(prelude))
	require.EqualError(t, err, fmt.Sprintf("big.yaml:1:1: error: file too large: %d bytes, over the limit of 100 (ParseOptions.MaxFileSize); split it into several files", len(prelude)))
	_, err = ParseOptions{MaxFileSize: int64(len(prelude))}.ParseBytes("big.yaml", []byte(prelude))
	require.NoError(t, err)

	var s fuzzSettings
	big := "bucket: b\n" + strings.Repeat("# padding\n", 1<<17)
	_, err = DecodeFile("panka.yaml", []byte(big), &s)
	require.EqualError(t, err, fmt.Sprintf("panka.yaml:1:1: error: file too large: %d bytes, over the limit of 1048576 for a settings file", len(big)))
}

func TestDepthPreScan(t *testing.T) {
	const limit = 256
	many := func(s string) string { return strings.Repeat(s, 1000) }
	for _, src := range []string{
		"a: |\n  " + many("[") + "\n  {{{{\nb: 1\n",
		"a: >-\n  " + many("{") + "\n",
		"--- |\n" + many("[") + "\n",
		"a: '" + many("[") + "'\n",
		"a: \"" + many("{") + "\\\"\"\n",
		"a: \"multi\n  line " + many("[") + "\"\n",
		"a: x" + many("[") + "\n",
		"# " + many("[") + "\n",
		"a: [x, 'it''s " + many("{") + "']\n",
		"- " + many("a[") + "\n",
		"a: " + strings.Repeat("[", limit) + strings.Repeat("]", limit) + "\n",
		strings.Repeat("- ", limit) + "x\n",
	} {
		if line, col, deep := tooDeep([]byte(src), limit); deep {
			t.Errorf("%.60q...: deep at %d:%d, want not", src, line, col)
		}
	}
	for _, tc := range []struct {
		src       string
		line, col int
	}{
		{strings.Repeat("[", limit+1), 1, limit + 1},
		{"a: b\nc: " + strings.Repeat("{a: ", limit+1), 2, 4*limit + 4},
		{strings.Repeat("- ", limit+1) + "x", 1, 2*limit + 1},
		{"a: |\n  x\nb:\n  - " + strings.Repeat("? ", limit) + "x", 4, 2*limit + 3},
		{"é: " + strings.Repeat("[", limit+1), 1, limit + 4},
		{"a: \"x\ny\" # [\n\r" + strings.Repeat("[", limit+1), 4, limit + 1},
	} {
		line, col, deep := tooDeep([]byte(tc.src), limit)
		if !deep || line != tc.line || col != tc.col {
			t.Errorf("%.40q...: got %d:%d deep=%v, want %d:%d", tc.src, line, col, deep, tc.line, tc.col)
		}
	}
}

// TestDepthPreScanNeverOverCounts checks the pre-scan against the parser on the YAML test suite
// and Panka's examples: it never counts more levels than the document's collections nest.
func TestDepthPreScanNeverOverCounts(t *testing.T) {
	suites, err := yamltestsuite.TestSuites()
	require.NoError(t, err)
	inputs := [][]byte{}
	for _, s := range suites {
		inputs = append(inputs, s.InYAML)
	}
	files, _ := filepath.Glob("../examples/*/*.yaml")
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		inputs = append(inputs, data)
	}
	checked := 0
	for _, src := range inputs {
		f, err := parser.Parse(lexer.Tokenize(string(src)), 0)
		if err != nil {
			continue
		}
		depth := 0
		for _, doc := range f.Docs {
			depth = max(depth, collectionDepth(doc.Body))
		}
		if line, col, deep := tooDeep(src, depth); deep {
			t.Errorf("%q: the pre-scan counts more than %d levels at %d:%d", src, depth, line, col)
		}
		checked++
	}
	require.Greater(t, checked, 250)
}

// collectionDepth is how deeply mappings and sequences nest in n.
func collectionDepth(n ast.Node) int {
	switch v := n.(type) {
	case *ast.MappingNode:
		d := 0
		for _, kv := range v.Values {
			d = max(d, collectionDepth(kv.Key), collectionDepth(kv.Value))
		}
		return d + 1
	case *ast.SequenceNode:
		d := 0
		for _, item := range v.Values {
			d = max(d, collectionDepth(item))
		}
		return d + 1
	case *ast.AnchorNode:
		return collectionDepth(v.Value)
	case *ast.TagNode:
		return collectionDepth(v.Value)
	case *ast.MappingKeyNode:
		return collectionDepth(v.Value)
	case *ast.MappingValueNode:
		return max(collectionDepth(v.Key), collectionDepth(v.Value))
	}
	return 0
}

func TestDocumentsAfterTheBudgetRunsOutAreSkipped(t *testing.T) {
	src := prelude + "---\n" + billionLaughs() + "---\n" + strings.Replace(billionLaughs(), "name: t,", "name: t2,", 1)
	_, err := ParseBytes("bombs.yaml", []byte(src))
	require.EqualError(t, err, "bombs.yaml:26:63: error: document too large: more than 102070 values after expanding aliases and merge keys (the limit is 100000 plus one per byte of the file); split the file or use fewer aliases")
}

func TestManyDocumentsParseInLinearTime(t *testing.T) {
	// The parser is quadratic in the number of documents of one stream (50,000 took 12 s and
	// 10 GB); documents are cut apart first, also in a stream with directives or lone \r line
	// breaks, which used to be left whole.
	for _, tc := range []struct{ name, sep, start, end string }{
		{"directive", "\n", "---", ""},
		{"lone CR", "\r", "---", ""},
		{"end markers", "\n", "", "..."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sep := tc.sep
			var b strings.Builder
			b.WriteString("%YAML 1.2" + sep + "---" + sep + strings.ReplaceAll(prelude, "\n", sep))
			if tc.end != "" {
				b.WriteString(tc.end + sep)
			}
			for i := range 10_000 {
				for _, line := range []string{tc.start, "apiVersion: panka.io/v1", "kind: SQS", fmt.Sprintf("metadata: {name: q%d, service: api}", i), tc.end} {
					if line != "" {
						b.WriteString(line + sep)
					}
				}
			}
			b.WriteString("---" + sep + "apiVersion: panka.io/v1" + sep + "kind: SQS" + sep + "metadata: {name: Bad, service: api}" + sep)
			var cfg *Config
			var err error
			elapsed, allocated := costOf(func() { cfg, err = ParseBytes("docs.yaml", []byte(b.String())) })
			require.NoError(t, err)
			require.Len(t, cfg.Components, 10_001)
			require.Less(t, elapsed, 10*time.Second)
			require.Less(t, allocated, uint64(300*b.Len()), "%d bytes allocated %d MB", b.Len(), allocated>>20)
			// Positions count every kind of line break.
			last := cfg.Components[10_000]
			require.Equal(t, Pos{File: "docs.yaml", Line: 2 + 16 + len(tc.end)/3 + 4*10_000 + 2, Col: 1}, last.Pos)
		})
	}
	// Directives stay with the document after them.
	cfg, err := ParseBytes("d.yaml", []byte("%YAML 1.2\n---\n"+prelude+"...\n%YAML 1.2\n# a comment\n---\napiVersion: panka.io/v1\nkind: SQS\nmetadata: {name: q, service: api}\n"))
	require.NoError(t, err)
	require.Len(t, cfg.Components, 1)
	require.Equal(t, 25, cfg.Components[0].PosOf("metadata.name").Line)
}
