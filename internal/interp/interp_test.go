package interp

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	ref := func(parts ...string) *Ref { return &Ref{Parts: parts} }
	tests := []struct {
		in   string
		want []Segment
	}{
		{"plain", []Segment{{Text: "plain"}}},
		{"", nil},
		{"${VAR}", []Segment{{Ref: ref("VAR")}}},
		{"a ${svc.VAR} b", []Segment{{Text: "a "}, {Ref: ref("svc", "VAR"), Offset: 2}, {Text: " b", Offset: 12}}},
		{"${db.endpoint}:${db.port}", []Segment{{Ref: ref("db", "endpoint")}, {Text: ":", Offset: 14}, {Ref: ref("db", "port"), Offset: 15}}},
		{"${data.db-main.arn}", []Segment{{Ref: ref("data", "db-main", "arn")}}},
		{"$${NOT} ${A}", []Segment{{Text: "${NOT} "}, {Ref: ref("A"), Offset: 8}}},
		{"cost: $5 {x}", []Segment{{Text: "cost: $5 {x}"}}},
		{"$$${A}", []Segment{{Text: "$${A}"}}}, // left to right: "$", then the escape "$${"
	}
	for _, tc := range tests {
		got, err := Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("Parse(%q) (-want +got):\n%s", tc.in, d)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		in     string
		offset int
		msg    string
	}{
		{"x ${unclosed", 2, "unterminated"},
		{"${}", 0, "it is empty"},
		{"ab${ A }", 2, "remove the spaces"},
		{"${a.b.c.d}", 0, "too many parts"},
		{"${1abc}", 0, `"1abc" is not a name`},
		{"${a..b}", 0, `"" is not a name`},
		{"${a$b}", 0, "is not a name"},
	}
	for _, tc := range tests {
		_, err := Parse(tc.in)
		e, ok := err.(*Error)
		if !ok {
			t.Errorf("Parse(%q) error = %v, want *Error", tc.in, err)
			continue
		}
		if e.Offset != tc.offset || !strings.Contains(e.Msg, tc.msg) {
			t.Errorf("Parse(%q) = offset %d %q, want offset %d containing %q", tc.in, e.Offset, e.Msg, tc.offset, tc.msg)
		}
	}
}

func TestRender(t *testing.T) {
	segs, err := Parse("postgres://${db.endpoint}:${db.port}/$${x}")
	if err != nil {
		t.Fatal(err)
	}
	vals := map[string]string{"db.endpoint": "h", "db.port": "5432"}
	got, ok := Render(segs, func(r *Ref) (string, bool) { v, ok := vals[r.String()]; return v, ok })
	if !ok || got != "postgres://h:5432/${x}" {
		t.Errorf("Render = %q, %v", got, ok)
	}
	delete(vals, "db.port")
	if _, ok := Render(segs, func(r *Ref) (string, bool) { v, ok := vals[r.String()]; return v, ok }); ok {
		t.Error("Render with an unknown value must report ok=false")
	}
}

// FuzzParse checks that Parse never panics, that offsets are in range, and that rendering the
// segments back with each reference written as ${...} reproduces the input with escapes resolved.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "plain", "${A}", "x ${svc.V} y", "$${A}", "${a.b.c}", "${", "${}", "$$${A}", "${a b}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		segs, err := Parse(s)
		if err != nil {
			e, ok := err.(*Error)
			if !ok || e.Offset < 0 || e.Offset > len(s) {
				t.Fatalf("bad error %#v for %q", err, s)
			}
			return
		}
		for _, seg := range segs {
			if seg.Offset < 0 || seg.Offset > len(s) {
				t.Fatalf("offset %d out of range for %q", seg.Offset, s)
			}
			if seg.Ref != nil && (len(seg.Ref.Parts) < 1 || len(seg.Ref.Parts) > 3) {
				t.Fatalf("ref with %d parts from %q", len(seg.Ref.Parts), s)
			}
		}
		out, _ := Render(segs, func(r *Ref) (string, bool) { return "${" + r.String() + "}", true })
		want := strings.ReplaceAll(s, "$${", "${")
		if out != want {
			t.Fatalf("round trip of %q = %q, want %q", s, out, want)
		}
	})
}
