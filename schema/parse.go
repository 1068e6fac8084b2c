package schema

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/lexer"

	"github.com/panka/panka/schema/internal/parser"
)

// ParseOptions tunes ParseFiles and ParseBytes; the zero value is the defaults. Whatever the
// options, parsing is safe on untrusted input: every input ends in a config or a Diagnostics
// error, in time and memory linear in its size (see DefaultMaxFileSize and the limits on nesting
// and alias expansion below).
type ParseOptions struct {
	// MaxFileSize is the largest file read, in bytes; 0 means DefaultMaxFileSize. A larger file
	// is refused with a diagnostic. Parsing needs memory of about 25 times the size read (a
	// 50 MB config peaks at 1.3 GB of heap), more for files of many tiny values.
	MaxFileSize int64
}

func (o ParseOptions) maxFileSize() int64 {
	if o.MaxFileSize > 0 {
		return o.MaxFileSize
	}
	return DefaultMaxFileSize
}

// ParseFiles reads every path (a file, or a directory searched recursively for *.yaml and *.yml,
// skipping hidden directories such as .panka and .git) in a stable order: the paths as given,
// each directory's files in lexical order. It returns the config and, if any document is
// malformed, a Diagnostics error describing every problem found. It uses the default
// ParseOptions.
func ParseFiles(ctx context.Context, paths ...string) (*Config, error) {
	return ParseOptions{}.ParseFiles(ctx, paths...)
}

// ParseFS is ParseFiles reading from fsys: an embed.FS, a fstest.MapFS, a checkout held in
// memory. Paths are fs.FS paths (slash-separated, unrooted; "." is the root) and are used as
// they are in positions. It uses the default ParseOptions.
func ParseFS(ctx context.Context, fsys fs.FS, paths ...string) (*Config, error) {
	return ParseOptions{}.ParseFS(ctx, fsys, paths...)
}

// ParseFiles is the package's ParseFiles with options o. Only regular files are read, each up to
// o.MaxFileSize bytes: a named pipe or a device such as /dev/zero, named or found in a directory,
// is refused with a diagnostic without being read.
func (o ParseOptions) ParseFiles(ctx context.Context, paths ...string) (*Config, error) {
	return o.ParseFS(ctx, osFS{}, paths...)
}

// ParseFS is the package's ParseFS with options o; files are read as ParseFiles reads them.
func (o ParseOptions) ParseFS(ctx context.Context, fsys fs.FS, paths ...string) (*Config, error) {
	if len(paths) == 0 {
		return nil, errors.New("parse: no paths given; name a YAML file or a directory")
	}
	files, err := expand(fsys, paths)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("parse: no *.yaml or *.yml files in %s", strings.Join(paths, ", "))
	}
	cfg := &Config{src: sourceOf(fsys)}
	var diags Diagnostics
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("parse: %w", err)
		}
		data, err := readFile(fsys, f, o.maxFileSize(), &diags)
		if err != nil {
			return nil, fmt.Errorf("parse: %w", err)
		}
		if data != nil {
			cfg.parse(f, data, o.maxFileSize(), &diags)
		}
	}
	diags.Sort()
	return cfg, diags.Err()
}

// readFile reads the regular file path, up to max bytes. A file that is not regular or is too
// large is reported in diags (and nil returned); other failures are errors.
func readFile(fsys fs.FS, path string, max int64, diags *Diagnostics) ([]byte, error) {
	start := Pos{File: path, Line: 1, Col: 1}
	notRegular := func(info fs.FileInfo) bool {
		if info.Mode().IsRegular() {
			return false
		}
		diags.add(start, Error, "not a regular file (%s); Panka reads only regular YAML files", describeMode(info.Mode()))
		return true
	}
	before, err := fs.Stat(fsys, path)
	if err != nil {
		return nil, err
	}
	if notRegular(before) {
		return nil, nil // not even opened: opening some devices has effects
	}
	// The path may have been replaced since: osFS opens with O_NONBLOCK, which keeps the open of
	// a named pipe from waiting for a writer (it changes nothing for a regular file), and the
	// file opened is checked again.
	f, err := fsys.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if notRegular(info) {
		return nil, nil
	}
	if info.Size() > max {
		tooLarge(diags, path, info.Size(), max)
		return nil, nil
	}
	// The file may grow while it is read: read at most one byte more than allowed, so that
	// prepare reports it.
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	return data, nil
}

func describeMode(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "mode " + m.Type().String()
}

// ParseBytes parses data as if read from a file called name (used in positions), with the
// default ParseOptions.
func ParseBytes(name string, data []byte) (*Config, error) {
	return ParseOptions{}.ParseBytes(name, data)
}

// ParseBytes is the package's ParseBytes with options o.
func (o ParseOptions) ParseBytes(name string, data []byte) (*Config, error) {
	cfg := &Config{}
	var diags Diagnostics
	cfg.parse(name, data, o.maxFileSize(), &diags)
	diags.Sort()
	return cfg, diags.Err()
}

func expand(fsys fs.FS, paths []string) ([]string, error) {
	var files []string
	seen := map[string]bool{}
	add := func(f string) {
		if !seen[f] {
			seen[f] = true
			files = append(files, f)
		}
	}
	for _, p := range paths {
		info, err := fs.Stat(fsys, p)
		if err != nil {
			return nil, fmt.Errorf("parse: %w", err)
		}
		if !info.IsDir() {
			add(p)
			continue
		}
		err = fs.WalkDir(fsys, p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if path != p && strings.HasPrefix(d.Name(), ".") {
					return fs.SkipDir
				}
				return nil
			}
			if ext := filepath.Ext(path); ext == ".yaml" || ext == ".yml" {
				add(path)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("parse: %w", err)
		}
	}
	return files, nil
}

// osFS is the operating system's files as an fs.FS that takes native paths as they are
// (absolute, relative, with ".."), unlike os.DirFS: ParseFiles keeps the paths its caller gave
// in positions. fs.WalkDir joins with "/", which every supported OS accepts.
type osFS struct{}

func (osFS) Open(name string) (fs.File, error) {
	return os.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}
func (osFS) Stat(name string) (fs.FileInfo, error)      { return os.Stat(name) }
func (osFS) ReadDir(name string) ([]fs.DirEntry, error) { return os.ReadDir(name) }

// parse adds the documents in data to c, recording problems in diags. Documents are parsed one at
// a time (see splitDocuments), so a syntax error in one does not hide the others and the cost
// stays linear in the number of documents. The documents share one budget of values.
func (c *Config) parse(file string, data []byte, max int64, diags *Diagnostics) {
	c.Files = append(c.Files, file)
	if int64(len(data)) > max {
		tooLarge(diags, file, int64(len(data)), max)
		return
	}
	data, ok := prepare(file, data, diags)
	if !ok {
		return
	}
	b := newBudget(len(data))
	for _, chunk := range splitDocuments(data) {
		c.parseChunk(file, chunk.data, chunk.line, diags, b)
	}
}

func (c *Config) parseChunk(file string, data []byte, lineOffset int, diags *Diagnostics, b *budget) {
	f, ok := parseYAML(file, data, lineOffset, diags)
	if !ok {
		return
	}
	for _, doc := range f.Docs {
		if doc == nil || doc.Body == nil {
			continue
		}
		if !hasContent(doc) {
			continue
		}
		c.parseDocument(file, lineOffset, doc.Body, diags, b)
	}
}

// hasContent reports whether doc is a document rather than only comments or the directives before
// one (which the parser returns as documents of their own).
func hasContent(doc *ast.DocumentNode) bool {
	switch doc.Body.(type) {
	case nil, *ast.CommentGroupNode, *ast.DirectiveNode:
		return false
	}
	return true
}

// parseYAML parses data, the lines of file after lineOffset, reporting a syntax error in diags.
// It calls a patched copy of goccy/go-yaml's parser (schema/internal/parser) whose cost is
// linear in its input, and turns a panic inside it (a bug there, reachable by hostile input)
// into a diagnostic rather than a crash.
func parseYAML(file string, data []byte, lineOffset int, diags *Diagnostics) (f *ast.File, ok bool) {
	defer func() {
		if r := recover(); r != nil {
			diags.add(Pos{File: file, Line: lineOffset + 1, Col: 1}, Error, "invalid YAML: the YAML parser failed on this document: %v", r)
			f, ok = nil, false
		}
	}()
	const tooDeepMsg = "document too deep: it nests more than %d levels (values may nest at most %d); flatten it"
	if line, col, deep := tooDeep(data, parser.MaxDepth); deep {
		diags.add(Pos{File: file, Line: line + lineOffset, Col: col}, Error, tooDeepMsg, parser.MaxDepth, maxDepth)
		return nil, false
	}
	f, err := parser.Parse(lexer.Tokenize(string(data)), 0)
	if err == nil {
		return f, true
	}
	var se *yaml.SyntaxError
	var de *parser.DepthError
	switch {
	case errors.As(err, &de) && de.Token != nil && de.Token.Position != nil:
		diags.add(Pos{File: file, Line: de.Token.Position.Line + lineOffset, Col: de.Token.Position.Column}, Error, tooDeepMsg, parser.MaxDepth, maxDepth)
	case errors.As(err, &se) && se.Token != nil && se.Token.Position != nil:
		diags.add(Pos{File: file, Line: se.Token.Position.Line + lineOffset, Col: se.Token.Position.Column}, Error,
			"invalid YAML: %s", syntaxMessage(se.Message, lineOffset))
	default:
		diags.add(Pos{File: file, Line: lineOffset + 1, Col: 1}, Error, "invalid YAML: %v", err)
	}
	return nil, false
}

var innerPos = regexp.MustCompile(`\[(\d+):(\d+)\]`)

// syntaxMessage makes a parser message fit the file: positions inside it ("already defined at
// [6:3]") are shifted by the lines before the document, and common causes get a hint.
func syntaxMessage(msg string, lineOffset int) string {
	msg = innerPos.ReplaceAllStringFunc(msg, func(m string) string {
		parts := innerPos.FindStringSubmatch(m)
		line, _ := strconv.Atoi(parts[1])
		return fmt.Sprintf("line %d, column %s", line+lineOffset, parts[2])
	})
	switch {
	case strings.Contains(msg, "mapping value is not allowed"), strings.Contains(msg, "not allowed in this context"):
		msg += " (check the indentation of this line and the next)"
	case strings.Contains(msg, "tab"):
		msg += " (indent with spaces, not tabs)"
	}
	return msg
}

type chunk struct {
	data []byte
	line int // lines before the chunk in the file
}

// splitDocuments cuts a multi-document stream into documents, each with the directives ("%YAML")
// before it. In YAML a line starting with "---" or "..." followed by a space or the line's end is
// a document marker wherever it appears (even inside a block scalar), and a line starting with
// "%" outside a document is a directive, so this split matches what a full parse would find. It lets
// each document be parsed on its own, which the parser does in linear time: given a stream of
// many documents it is quadratic (it copies the list of documents after each one). Lines end at
// "\n", "\r\n" or a lone "\r", as for the parser.
func splitDocuments(data []byte) []chunk {
	var chunks []chunk
	start, startLine, line := 0, 0, 0
	prefix := false // the current chunk holds only directives, comments and blank lines so far
	ended := false  // the last line was a document end marker ("...")
	cut := func(i int) {
		if i > start && !prefix {
			chunks = append(chunks, chunk{data: data[start:i], line: startLine})
			start, startLine = i, line
		}
	}
	for i := 0; i < len(data); line++ {
		end := i
		for end < len(data) && data[end] != '\n' && data[end] != '\r' {
			end++
		}
		l := data[i:end]
		if ended {
			cut(i)
			ended = false
		}
		switch {
		case isMarker(l, "---"):
			cut(i)
			prefix = false
		case isMarker(l, "..."):
			ended = true
			prefix = false
		case bytes.HasPrefix(l, []byte("%")):
			cut(i)
			prefix = true
		case prefix && (len(bytes.TrimLeft(l, " \t")) == 0 || bytes.HasPrefix(bytes.TrimLeft(l, " \t"), []byte("#"))):
		default:
			prefix = false
		}
		i = end
		if i < len(data) && data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n' {
			i++
		}
		if i < len(data) {
			i++
		}
	}
	return append(chunks, chunk{data: data[start:], line: startLine})
}

// isMarker reports whether line is the document marker m ("---" or "...").
func isMarker(line []byte, m string) bool {
	return bytes.HasPrefix(line, []byte(m)) && (len(line) == 3 || line[3] == ' ' || line[3] == '\t')
}

var topLevelKeys = []string{"apiVersion", "kind", "metadata", "spec"}

func (c *Config) parseDocument(file string, lineOffset int, body ast.Node, diags *Diagnostics, b *budget) {
	if b.left == 0 {
		return // the file is already too large (reported); its other documents would only add noise
	}
	d := newDecoder(file, lineOffset, body, diags, b)
	node, ok := d.resolve(body)
	if !ok {
		return
	}
	m, ok := node.(*ast.MappingNode)
	if !ok {
		if isNull(node) {
			return
		}
		d.errorf(body, "a document must be a mapping with apiVersion, kind, metadata and spec, not %s", describeNode(node))
		return
	}
	start := d.nodePos(m)
	fields := map[string]*ast.MappingValueNode{}
	for _, kv := range d.mergedPairs(m) {
		key, _ := d.keyText(kv.Key)
		if !slices.Contains(topLevelKeys, key) {
			d.diags.add(d.nodePos(kv.Key), Error, "unknown top-level field %q%s", key, suggest(key, topLevelKeys))
			continue
		}
		fields[key] = kv
	}
	// apiVersion and kind decide how the rest is read; without them, stop here.
	apiVersion, kind := d.scalarField(fields, "apiVersion", start), d.scalarField(fields, "kind", start)
	if apiVersion == "" || kind == "" {
		return
	}
	if apiVersion != APIVersion {
		d.errorf(fields["apiVersion"].Value, "unsupported apiVersion %q; supported: %s", apiVersion, strings.Join(SupportedAPIVersions, ", "))
		return
	}
	doc := Document{Kind: kind, Pos: start, pos: d.pos}
	if kv := fields["metadata"]; kv != nil {
		d.decode(kv.Value, "metadata", reflect.ValueOf(&doc.Metadata).Elem(), 1)
	} else {
		d.diags.add(start, Error, "metadata is required; add metadata.name")
		return
	}
	var spec ast.Node
	if kv := fields["spec"]; kv != nil {
		spec = kv.Value
	}
	decodeSpec := func(targets ...reflect.Value) {
		if spec == nil {
			// Decode an empty mapping so that required fields are reported.
			spec = &ast.MappingNode{BaseNode: &ast.BaseNode{}}
			d.pos["spec"] = start
		}
		n, ok := d.resolve(spec)
		if !ok || isNull(n) {
			n = &ast.MappingNode{BaseNode: &ast.BaseNode{}}
		}
		mm, ok := n.(*ast.MappingNode)
		if !ok {
			d.errorf(spec, "spec must be a mapping, not %s", describeNode(n))
			return
		}
		if len(mm.Values) > 0 || n != spec {
			d.pos["spec"] = d.nodePos(spec)
		}
		d.decodeStructs(mm, "spec", 1, targets...)
	}
	switch kind {
	case "Stack":
		st := &Stack{Document: doc}
		decodeSpec(reflect.ValueOf(&st.Spec).Elem())
		c.Stacks = append(c.Stacks, st)
	case "Service":
		svc := &Service{Document: doc}
		decodeSpec(reflect.ValueOf(&svc.Spec).Elem())
		c.Services = append(c.Services, svc)
	default:
		info, ok := LookupKind(kind)
		if !ok {
			d.errorf(fields["kind"].Value, "unknown kind %q%s", kind, suggest(kind, Kinds()))
			return
		}
		if info.Internal {
			d.errorf(fields["kind"].Value, "kind %s is made by Panka, not declared: describe the network in the Stack's spec.network and Panka creates its VPC, subnets, gateways, route tables, security groups and ECS cluster", kind)
			return
		}
		comp := &Component{Document: doc, Spec: info.New()}
		if df, ok := comp.Spec.(defaulter); ok {
			df.SetDefaults()
		}
		decodeSpec(reflect.ValueOf(&comp.Common).Elem(), reflect.ValueOf(comp.Spec).Elem())
		c.Components = append(c.Components, comp)
	}
}

// scalarField returns the string value of a required top-level scalar, reporting its absence.
func (d *decoder) scalarField(fields map[string]*ast.MappingValueNode, key string, start Pos) string {
	kv := fields[key]
	if kv == nil {
		hint := ""
		if key == "apiVersion" {
			hint = " (apiVersion: " + APIVersion + ")"
		}
		d.diags.add(start, Error, "%s is required%s", key, hint)
		return ""
	}
	var s string
	d.decode(kv.Value, key, reflect.ValueOf(&s).Elem(), 1)
	if s == "" {
		d.errorf(kv.Value, "%s must not be empty", key)
	}
	return s
}
