package schema

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Pos is a position in a source file. Line and Col are 1-based; a zero Pos means "unknown".
type Pos struct {
	File string
	Line int
	Col  int
}

// String formats the position as FILE:LINE:COL, the form editors and CI annotate.
func (p Pos) String() string {
	file := p.File
	if file == "" {
		file = "<input>"
	}
	if p.Line == 0 {
		return file
	}
	return fmt.Sprintf("%s:%d:%d", file, p.Line, p.Col)
}

// Severity says whether a diagnostic blocks a config (Error) or only advises (Warning).
type Severity int

const (
	Error Severity = iota
	Warning
)

func (s Severity) String() string {
	if s == Warning {
		return "warning"
	}
	return "error"
}

// Diagnostic is one problem found in a config, at the position of the value that causes it. The
// message says what is wrong and what to do about it.
type Diagnostic struct {
	Pos      Pos
	Severity Severity
	Message  string
}

// String formats the diagnostic as FILE:LINE:COL: SEVERITY: MESSAGE, one line.
func (d Diagnostic) String() string {
	return fmt.Sprintf("%s: %s: %s", d.Pos, d.Severity, d.Message)
}

// Diagnostics is every problem found in a config. It is an error so that callers can return it
// directly; use HasErrors to tell a config with only warnings from an invalid one.
type Diagnostics []Diagnostic

// Error lists every diagnostic, one per line.
func (ds Diagnostics) Error() string {
	lines := make([]string, len(ds))
	for i, d := range ds {
		lines[i] = d.String()
	}
	return strings.Join(lines, "\n")
}

// HasErrors reports whether any diagnostic has Error severity.
func (ds Diagnostics) HasErrors() bool {
	return slices.ContainsFunc(ds, func(d Diagnostic) bool { return d.Severity == Error })
}

// Err returns ds as an error if it holds at least one Error, and nil otherwise (so a config with
// only warnings is valid).
func (ds Diagnostics) Err() error {
	if ds.HasErrors() {
		return ds
	}
	return nil
}

// Count returns the number of errors and warnings.
func (ds Diagnostics) Count() (errs, warnings int) {
	for _, d := range ds {
		if d.Severity == Error {
			errs++
		} else {
			warnings++
		}
	}
	return errs, warnings
}

// Sort orders diagnostics by file, line, column and message, and drops exact duplicates, so output
// is stable whatever order the checks ran in.
func (ds *Diagnostics) Sort() {
	slices.SortStableFunc(*ds, func(a, b Diagnostic) int {
		return cmp.Or(
			cmp.Compare(a.Pos.File, b.Pos.File),
			cmp.Compare(a.Pos.Line, b.Pos.Line),
			cmp.Compare(a.Pos.Col, b.Pos.Col),
			cmp.Compare(a.Message, b.Message),
		)
	})
	*ds = slices.Compact(*ds)
}

func (ds *Diagnostics) add(pos Pos, sev Severity, format string, args ...any) {
	*ds = append(*ds, Diagnostic{Pos: pos, Severity: sev, Message: fmt.Sprintf(format, args...)})
}
