package parser_test

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/lexer"
	upstream "github.com/goccy/go-yaml/parser"
	yamltestsuite "github.com/goccy/go-yaml/testdata/yaml-test-suite"

	"github.com/panka/panka/schema/internal/parser"
)

// sameAsUpstream fails t unless this parser and upstream's give the same tree (every node's type,
// token and position) or the same error for src. Upstream refuses duplicate keys, which this
// parser leaves to its caller, and nests without limit.
func sameAsUpstream(t *testing.T, src []byte) {
	t.Helper()
	want, wantErr := catch(func() (*ast.File, error) { return upstream.Parse(lexer.Tokenize(string(src)), 0) })
	got, gotErr := catch(func() (*ast.File, error) { return parser.Parse(lexer.Tokenize(string(src)), 0) })
	if wantErr != nil && strings.Contains(wantErr.Error(), "already defined at") {
		return
	}
	if _, deep := gotErr.(*parser.DepthError); deep {
		return
	}
	if (wantErr == nil) != (gotErr == nil) || wantErr != nil && wantErr.Error() != gotErr.Error() {
		t.Fatalf("input %q:\nupstream error: %v\nthis parser:    %v", src, wantErr, gotErr)
	}
	if wantErr != nil {
		return
	}
	if w, g := dump(want), dump(got); w != g {
		t.Fatalf("input %q:\nupstream tree:\n%s\nthis parser's:\n%s", src, w, g)
	}
}

// catch turns a panic in parse into an error.
func catch(parse func() (*ast.File, error)) (f *ast.File, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return parse()
}

// dump lists every node of f in walk order with its type, token and position.
func dump(f *ast.File) string {
	var b strings.Builder
	for _, doc := range f.Docs {
		ast.Walk(visitor(func(n ast.Node) {
			fmt.Fprintf(&b, "%T", n)
			if _, isDoc := n.(*ast.DocumentNode); isDoc {
				b.WriteByte('\n')
				return
			}
			if tk := n.GetToken(); tk != nil {
				fmt.Fprintf(&b, " %q", tk.Value)
				if tk.Position != nil {
					fmt.Fprintf(&b, " %d:%d", tk.Position.Line, tk.Position.Column)
				}
			}
			b.WriteByte('\n')
		}), doc)
		if doc.Body != nil {
			fmt.Fprintf(&b, "---\n%s\n", doc.Body.String())
		}
	}
	return b.String()
}

type visitor func(ast.Node)

func (v visitor) Visit(n ast.Node) ast.Visitor {
	if n == nil || reflect.ValueOf(n).IsNil() {
		return nil
	}
	v(n)
	return v
}

// corpus is the YAML test suite (as shipped with goccy/go-yaml), Panka's examples and golden
// inputs, and cases around the patched block-mapping loop.
func corpus(t testing.TB) [][]byte {
	suites, err := yamltestsuite.TestSuites()
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, s := range suites {
		out = append(out, s.InYAML)
	}
	for _, pattern := range []string{"../../../examples/*.yaml", "../../../examples/*/*.yaml", "../../../examples/*/*/*.yaml", "../../testdata/golden/*.yaml"} {
		files, _ := filepath.Glob(pattern)
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, data)
		}
	}
	for _, s := range []string{
		"a: 1\nb: 2\nc: 3\n",
		"a:\n  b: 1\n  c: 2\nd: 3\n",
		"a: {\nb: c\n}\n",
		"a: 1\nb: {\nc: d\n}\ne: 1\n",
		"a: 1\nb: 2\n}\nc: 3\n}\nd: 4\n",
		"a: 1\n}\nb: 2\n",
		"[\na: 1\nb: 2\n]\n",
		"- a: 1\n  b: 2\n- c: 3\n",
		"a: 1\n b: 2\n",
		"a: 1\nb\n",
		"? a\n: 1\n? b\n: 2\n",
		"a: &x 1\nb: *x\n<<: {c: 1}\n",
		"a: 1 # c\n# d\nb: 2\n",
		"a: 1\na: 2\n",
	} {
		out = append(out, []byte(s))
	}
	return out
}

func TestSameAsUpstream(t *testing.T) {
	c := corpus(t)
	if len(c) < 300 {
		t.Fatalf("only %d inputs; is the YAML test suite missing?", len(c))
	}
	for _, src := range c {
		sameAsUpstream(t, src)
	}
}

// FuzzSameAsUpstream checks the patches against upstream on arbitrary input.
func FuzzSameAsUpstream(f *testing.F) {
	for _, src := range corpus(f) {
		f.Add(src)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		if len(src) > 4096 {
			return // upstream is quadratic on some inputs; keep runs fast
		}
		sameAsUpstream(t, src)
	})
}

func TestDepthLimit(t *testing.T) {
	n := parser.MaxDepth + 1
	_, err := parser.Parse(lexer.Tokenize(strings.Repeat("[", n)+strings.Repeat("]", n)), 0)
	de, ok := err.(*parser.DepthError)
	if !ok {
		t.Fatalf("got %v, want a *DepthError", err)
	}
	if de.Token.Position.Column != parser.MaxDepth+1 {
		t.Errorf("depth error at column %d, want %d", de.Token.Position.Column, parser.MaxDepth+1)
	}
	n = parser.MaxDepth - 1
	if _, err := parser.Parse(lexer.Tokenize(strings.Repeat("[", n)+strings.Repeat("]", n)), 0); err != nil {
		t.Fatalf("%d levels: %v", n, err)
	}
}
