package schema

import (
	"bytes"
	"unicode/utf8"

	"github.com/goccy/go-yaml/ast"
)

// DefaultMaxFileSize is the largest file ParseFiles and ParseBytes read unless ParseOptions says
// otherwise.
const DefaultMaxFileSize = 64 << 20

// Values decoded from one file, after expanding aliases and merge keys, are limited to
// baseValues plus one per byte of the file. A file written out in full never comes near it
// (a value takes at least two bytes); the limit stops alias and merge "bombs", whose expansion
// grows exponentially with their size, while keeping the work for any input linear in its size.
const baseValues = 100_000

// budget counts the values one file may still decode. It is shared by the file's documents.
type budget struct {
	left, limit int
	reported    bool
}

func newBudget(size int) *budget {
	return &budget{left: baseValues + size, limit: baseValues + size}
}

// charge takes one value from the budget, reporting at n (once) when it runs out.
func (d *decoder) charge(n ast.Node) bool {
	b := d.budget
	if b.left > 0 {
		b.left--
		return true
	}
	if !b.reported {
		b.reported = true
		d.errorf(n, "document too large: more than %d values after expanding aliases and merge keys (the limit is %d plus one per byte of the file); split the file or use fewer aliases",
			b.limit, baseValues)
	}
	return false
}

// enter charges for the value at path and checks its depth and path length.
func (d *decoder) enter(n ast.Node, path string, depth int) bool {
	if !d.charge(n) {
		return false
	}
	if depth > maxDepth {
		d.errorf(n, "%s nests more than %d levels deep; flatten it", describePath(shortPath(path)), maxDepth)
		return false
	}
	if len(path) > maxPathLen {
		d.errorf(n, "the path to this value (%s) is %d characters long, over the limit of %d; use shorter keys or less nesting", shortPath(path), len(path), maxPathLen)
		return false
	}
	return true
}

// shortPath cuts a path for a message.
func shortPath(path string) string {
	if len(path) > 80 {
		head, tail := 40, len(path)-39
		for head > 0 && !utf8.RuneStart(path[head]) {
			head--
		}
		for tail < len(path) && !utf8.RuneStart(path[tail]) {
			tail++
		}
		return path[:head] + "…" + path[tail:]
	}
	return path
}

var bom = []byte("\xef\xbb\xbf")

// tooLarge reports a file of size bytes, over max.
func tooLarge(diags *Diagnostics, file string, size, max int64) {
	diags.add(Pos{File: file, Line: 1, Col: 1}, Error, "file too large: %d bytes, over the limit of %d (ParseOptions.MaxFileSize); split it into several files", size, max)
}

// maxSettingsSize is the largest settings file DecodeFile reads.
const maxSettingsSize = 1 << 20

// prepare checks that the raw bytes of file are UTF-8 before they are parsed, dropping a leading
// byte order mark. It returns the text to parse, or false after reporting why there is none.
func prepare(file string, data []byte, diags *Diagnostics) ([]byte, bool) {
	start := Pos{File: file, Line: 1, Col: 1}
	data = bytes.TrimPrefix(data, bom)
	if utf8.Valid(data) {
		return data, true
	}
	if bytes.HasPrefix(data, []byte{0xff, 0xfe}) || bytes.HasPrefix(data, []byte{0xfe, 0xff}) {
		diags.add(start, Error, "the file is UTF-16; save it as UTF-8")
		return nil, false
	}
	// Report the first invalid byte at its line and column (counted in characters, as the
	// parser counts them).
	line, lineStart := 1, 0
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size == 1 {
			pos := Pos{File: file, Line: line, Col: utf8.RuneCount(data[lineStart:i]) + 1}
			diags.add(pos, Error, "invalid UTF-8 (byte 0x%02x); save the file as UTF-8", data[i])
			return nil, false
		}
		if r == '\n' || r == '\r' && (i+1 == len(data) || data[i+1] != '\n') {
			line, lineStart = line+1, i+1
		}
		i += size
	}
	diags.add(start, Error, "invalid UTF-8; save the file as UTF-8") // not reached: utf8.Valid found an invalid byte
	return nil, false
}

// tooDeep scans the raw text of a document for nesting deeper than limit, before it is parsed:
// a deeply nested document ("{a: {a: ...", "- - - ...") costs the lexer memory for every byte
// before the parser can refuse it. It counts what is dense in bytes: flow collections, and block
// collections opened on one line ("- - x", "? - x"). Quoted and block scalars and comments are
// skipped; indentation is not counted (a level of indentation costs more bytes than the lexer's
// memory for it, and the parser bounds it). The count never exceeds the true nesting of valid
// YAML, so only documents the parser would refuse are refused here. It returns the line and
// column (in characters) where the limit is passed.
func tooDeep(data []byte, limit int) (line, col int, deep bool) {
	const (
		plain = iota
		single
		double
	)
	var (
		flow        int // open flow collections
		quote       = plain
		blockParent = -2 // while in a block scalar: the indentation of the line that opened it
	)
	line = 1
	for start := 0; start < len(data); line++ {
		end := start
		for end < len(data) && data[end] != '\n' && data[end] != '\r' {
			end++
		}
		text := data[start:end]
		next := end
		if next < len(data) {
			if data[next] == '\r' && next+1 < len(data) && data[next+1] == '\n' {
				next++
			}
			next++
		}
		indent := 0
		for indent < len(text) && text[indent] == ' ' {
			indent++
		}
		from := indent
		if marker := bytes.HasPrefix(text, []byte("---")) || bytes.HasPrefix(text, []byte("...")); marker && (len(text) == 3 || text[3] == ' ' || text[3] == '\t') {
			flow, quote, blockParent = 0, plain, -2 // a document marker ends everything
			from = 3
		}
		if blockParent > -2 {
			if len(bytes.TrimLeft(text, " \t")) == 0 || indent > blockParent {
				start = next
				continue
			}
			blockParent = -2
		}
		chain := 0         // block collections opened on this line
		valueStart := true // a new node may start here
		for i := from; i < len(text); i++ {
			c := text[i]
			switch quote {
			case double:
				if c == '\\' {
					i++
				} else if c == '"' {
					quote, valueStart = plain, false
				}
				continue
			case single:
				if c == '\'' && i+1 < len(text) && text[i+1] == '\'' {
					i++
				} else if c == '\'' {
					quote, valueStart = plain, false
				}
				continue
			}
			spaceAfter := i+1 == len(text) || text[i+1] == ' ' || text[i+1] == '\t'
			switch {
			case c == ' ' || c == '\t':
			case c == '#' && (i == 0 || text[i-1] == ' ' || text[i-1] == '\t'):
				i = len(text) // a comment
			case flow > 0:
				switch c {
				case '[', '{':
					flow++
					valueStart = true
				case ']', '}':
					flow--
					valueStart = false
				case ',', ':', '?':
					valueStart = true
				case '"':
					if valueStart {
						quote = double
					}
				case '\'':
					if valueStart {
						quote = single
					}
				default:
					valueStart = false
				}
			case !valueStart:
				// In a plain scalar or after a key: ": " starts a value.
				if c == ':' && spaceAfter {
					valueStart = true
				}
			case c == '[' || c == '{':
				flow = 1
			case c == '"':
				quote, valueStart = double, false
			case c == '\'':
				quote, valueStart = single, false
			case c == '|' || c == '>':
				blockParent = indent
				if from == 3 {
					blockParent = -1 // the document is the scalar
				}
				i = len(text)
			case (c == '-' || c == '?' || c == ':') && spaceAfter:
				chain++
			case c == '&' || c == '!':
				for i+1 < len(text) && text[i+1] != ' ' && text[i+1] != '\t' {
					i++ // an anchor or a tag; the node follows
				}
			default:
				valueStart = false
			}
			if chain+flow > limit {
				return line, utf8.RuneCount(text[:i]) + 1, true
			}
		}
		start = next
	}
	return 0, 0, false
}
