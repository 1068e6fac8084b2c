package schema

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// ParseFiles reads every path (a file, or a directory searched recursively for *.yaml and *.yml,
// skipping hidden directories such as .panka and .git) in a stable order: the paths as given,
// each directory's files in lexical order. It returns the config and, if any document is
// malformed, a Diagnostics error describing every problem found.
func ParseFiles(ctx context.Context, paths ...string) (*Config, error) {
	return ParseFS(ctx, osFS{}, paths...)
}

// ParseFS is ParseFiles reading from fsys: an embed.FS, a fstest.MapFS, a checkout held in
// memory. Paths are fs.FS paths (slash-separated, unrooted; "." is the root) and are used as
// they are in positions.
func ParseFS(ctx context.Context, fsys fs.FS, paths ...string) (*Config, error) {
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
	cfg := &Config{}
	var diags Diagnostics
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("parse: %w", err)
		}
		data, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, fmt.Errorf("parse: %w", err)
		}
		cfg.parse(f, data, &diags)
	}
	diags.Sort()
	return cfg, diags.Err()
}

// ParseBytes parses data as if read from a file called name (used in positions).
func ParseBytes(name string, data []byte) (*Config, error) {
	cfg := &Config{}
	var diags Diagnostics
	cfg.parse(name, data, &diags)
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

func (osFS) Open(name string) (fs.File, error)          { return os.Open(name) }
func (osFS) Stat(name string) (fs.FileInfo, error)      { return os.Stat(name) }
func (osFS) ReadFile(name string) ([]byte, error)       { return os.ReadFile(name) }
func (osFS) ReadDir(name string) ([]fs.DirEntry, error) { return os.ReadDir(name) }

// parse adds the documents in data to c, recording problems in diags. Documents are parsed one at
// a time (see splitDocuments), so a syntax error in one does not hide the others and the cost
// stays linear in the number of documents.
func (c *Config) parse(file string, data []byte, diags *Diagnostics) {
	c.Files = append(c.Files, file)
	for _, chunk := range splitDocuments(data) {
		c.parseChunk(file, chunk.data, chunk.line, diags)
	}
}

func (c *Config) parseChunk(file string, data []byte, lineOffset int, diags *Diagnostics) {
	f, err := parseYAML(data)
	if err != nil {
		var se *yaml.SyntaxError
		if errors.As(err, &se) && se.Token != nil && se.Token.Position != nil {
			diags.add(Pos{File: file, Line: se.Token.Position.Line + lineOffset, Col: se.Token.Position.Column}, Error,
				"invalid YAML: %s", syntaxMessage(se.Message, lineOffset))
		} else {
			diags.add(Pos{File: file, Line: lineOffset + 1, Col: 1}, Error, "invalid YAML: %v", err)
		}
		return
	}
	for _, doc := range f.Docs {
		if doc == nil || doc.Body == nil {
			continue
		}
		if _, isComment := doc.Body.(*ast.CommentGroupNode); isComment {
			continue
		}
		c.parseDocument(file, lineOffset, doc.Body, diags)
	}
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

// splitDocuments cuts a multi-document stream at its "---" markers. In YAML a line starting with
// "---" followed by a space or the line's end is a document marker wherever it appears (even inside
// a block scalar), so this split matches what a full parse would find; it lets each document be
// parsed on its own, which the parser does in linear time (given the whole stream it copies the
// token list per document). Streams with directives ("%YAML") are left whole.
func splitDocuments(data []byte) []chunk {
	if bytes.HasPrefix(data, []byte("%")) || bytes.Contains(data, []byte("\n%")) {
		return []chunk{{data: data}}
	}
	var chunks []chunk
	start, startLine, line := 0, 0, 0
	for i := 0; i < len(data); {
		end := bytes.IndexByte(data[i:], '\n')
		next := len(data)
		if end >= 0 {
			next = i + end + 1
		}
		l := data[i:next]
		if i > start && bytes.HasPrefix(l, []byte("---")) && (len(l) == 3 || l[3] == ' ' || l[3] == '\t' || l[3] == '\n' || l[3] == '\r') {
			chunks = append(chunks, chunk{data: data[start:i], line: startLine})
			start, startLine = i, line
		}
		line++
		i = next
	}
	return append(chunks, chunk{data: data[start:], line: startLine})
}

// parseYAML calls the YAML parser, turning a panic inside it (a bug there, reachable by hostile
// input) into an error rather than crashing the caller.
func parseYAML(data []byte) (f *ast.File, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the YAML parser failed on this input: %v", r)
		}
	}()
	return parser.ParseBytes(data, 0)
}

var topLevelKeys = []string{"apiVersion", "kind", "metadata", "spec"}

func (c *Config) parseDocument(file string, lineOffset int, body ast.Node, diags *Diagnostics) {
	d := newDecoder(file, body, diags)
	d.lineOffset = lineOffset
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
		key := kv.Key.GetToken().Value
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
