// Package interp parses the ${...} references inside config strings.
//
// Grammar: "${" NAME ("." NAME){0,2} "}" where NAME is [A-Za-z_][A-Za-z0-9_-]*; "$${" is a
// literal "${". Anything else containing "${" is an error at the offending byte offset.
// Meaning of the parts (stack variable, service variable, component output) is decided by the
// caller, which knows the config.
package interp

import (
	"fmt"
	"strings"
)

// Segment is a piece of a parsed string: literal Text, or a reference (Ref non-nil).
type Segment struct {
	Text   string
	Ref    *Ref
	Offset int // byte offset of the segment in the original string
}

// Ref is one ${...} reference.
type Ref struct {
	Parts []string // 1 to 3 names
}

// String returns the reference as written, without ${ }.
func (r *Ref) String() string { return strings.Join(r.Parts, ".") }

// Error is a malformed reference at a byte offset of the input.
type Error struct {
	Offset int
	Msg    string
}

func (e *Error) Error() string { return e.Msg }

// HasRefs reports cheaply whether s may contain a reference or escape worth parsing.
func HasRefs(s string) bool { return strings.Contains(s, "${") }

// Parse splits s into literal text and references. Adjacent literal text is merged, and escapes
// are already unescaped in the returned Text.
func Parse(s string) ([]Segment, error) {
	var segs []Segment
	var lit strings.Builder
	litStart := 0
	flush := func() {
		if lit.Len() > 0 {
			segs = append(segs, Segment{Text: lit.String(), Offset: litStart})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); {
		if strings.HasPrefix(s[i:], "$${") {
			if lit.Len() == 0 {
				litStart = i
			}
			lit.WriteString("${")
			i += 3
			continue
		}
		if !strings.HasPrefix(s[i:], "${") {
			if lit.Len() == 0 {
				litStart = i
			}
			lit.WriteByte(s[i])
			i++
			continue
		}
		end := strings.IndexByte(s[i+2:], '}')
		if end < 0 {
			return nil, &Error{Offset: i, Msg: `unterminated "${": add the closing "}" (or write "$${" for a literal "${")`}
		}
		body := s[i+2 : i+2+end]
		ref, err := parseRef(body)
		if err != nil {
			return nil, &Error{Offset: i, Msg: fmt.Sprintf("invalid reference \"${%s}\": %s", body, err)}
		}
		flush()
		segs = append(segs, Segment{Ref: ref, Offset: i})
		i += 2 + end + 1
	}
	flush()
	return segs, nil
}

func parseRef(body string) (*Ref, error) {
	if strings.TrimSpace(body) != body {
		return nil, fmt.Errorf("remove the spaces")
	}
	if body == "" {
		return nil, fmt.Errorf("it is empty; write ${VAR}, ${service.VAR} or ${component.output}")
	}
	parts := strings.Split(body, ".")
	if len(parts) > 3 {
		return nil, fmt.Errorf("too many parts; write ${VAR}, ${service.VAR}, ${component.output} or ${service.component.output}")
	}
	for _, p := range parts {
		if !isName(p) {
			return nil, fmt.Errorf("%q is not a name (letters, digits, '_' and '-', starting with a letter or '_')", p)
		}
	}
	return &Ref{Parts: parts}, nil
}

func isName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case i > 0 && (r == '-' || r >= '0' && r <= '9'):
		default:
			return false
		}
	}
	return true
}

// Render joins segments, replacing each reference by resolve's value. If resolve reports a value
// unknown (ok false), Render returns ok false and the string so far is meaningless.
func Render(segs []Segment, resolve func(*Ref) (string, bool)) (string, bool) {
	var b strings.Builder
	for _, seg := range segs {
		if seg.Ref == nil {
			b.WriteString(seg.Text)
			continue
		}
		v, ok := resolve(seg.Ref)
		if !ok {
			return "", false
		}
		b.WriteString(v)
	}
	return b.String(), true
}
