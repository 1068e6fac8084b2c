package schema

import (
	"reflect"

	"github.com/goccy/go-yaml/ast"
)

// DecodeFile decodes a single-document YAML file into target (a pointer to a struct with `yaml`
// tags), with the same rules as config documents: unknown fields are errors with a suggestion,
// wrongly typed values are errors at their position, and a SetDefaults method on target runs
// first. It returns the positions of the values it set (for later checks) and a Diagnostics
// error if anything is wrong. It has the limits of ParseBytes (nesting, aliases), and reads at
// most 1 MiB.
func DecodeFile(file string, data []byte, target any) (*Document, error) {
	var diags Diagnostics
	doc := &Document{Pos: Pos{File: file, Line: 1, Col: 1}, pos: map[string]Pos{}}
	v := reflect.ValueOf(target)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		panic("schema.DecodeFile: target must be a pointer to a struct")
	}
	if df, ok := target.(defaulter); ok {
		df.SetDefaults()
	}
	if len(data) > maxSettingsSize {
		diags.add(doc.Pos, Error, "file too large: %d bytes, over the limit of %d for a settings file", len(data), maxSettingsSize)
		return doc, diags
	}
	data, ok := prepare(file, data, &diags)
	if !ok {
		return doc, diags
	}
	f, ok := parseYAML(file, data, 0, &diags)
	if !ok {
		return doc, diags
	}
	var body ast.Node
	for _, d := range f.Docs {
		if d != nil && hasContent(d) {
			if body != nil {
				diags.add(doc.Pos, Error, "%s holds more than one YAML document; keep one", file)
				return doc, diags
			}
			body = d.Body
		}
	}
	if body == nil {
		return doc, nil // an empty file is all defaults
	}
	d := newDecoder(file, 0, body, &diags, newBudget(len(data)))
	d.pos = doc.pos
	node, ok := d.resolve(body)
	if ok {
		if m, isMap := node.(*ast.MappingNode); isMap {
			d.decodeStructs(m, "", 0, v.Elem())
		} else if !isNull(node) {
			d.errorf(body, "%s must be a mapping of settings, not %s", file, describeNode(node))
		}
	}
	diags.Sort()
	return doc, diags.Err()
}
