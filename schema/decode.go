package schema

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"
)

// keyMarker prefixes the path of a map key in the position table (paths never contain it).
const keyMarker = "\x00"

// maxDepth bounds how deeply values nest (through aliases too).
const maxDepth = 64

// maxPathLen bounds the length of a value's path ("spec.env.NAME"): every value's path is kept in
// the position table, so long keys above many values would cost memory quadratic in the input.
const maxPathLen = 1024

// decoder turns a goccy/go-yaml AST into typed Go values. It records the position of every value
// it sets under that value's path ("spec.ports[0].port"), fills nothing it was not given (callers
// pre-fill defaults), and reports every problem it meets as a diagnostic instead of stopping at
// the first.
//
// Field rules, from struct tags: `yaml:"name"` names the field; `panka:"required"` makes absence an
// error; `panka:"secret"` marks a value that must be a secret reference (checked by Validate);
// `panka:"forcenew"` marks a field whose change replaces the resource.
type decoder struct {
	file string
	// aliases holds the anchor each alias of the document refers to (see scan); an alias that
	// refers to none is reported by scan and missing here.
	aliases map[*ast.AliasNode]*ast.AnchorNode
	// anchorAt is where each anchor name is first defined, to explain an alias written before it.
	anchorAt map[string]ast.Node
	pos      map[string]Pos
	diags    *Diagnostics
	budget   *budget
	// aliasAt, while decoding the value of an alias, is the alias's position: values reached
	// through an alias are reported where the alias is used, not where the anchor was defined.
	aliasAt *Pos
	// lineOffset is added to every line: the document was parsed apart from the lines before it.
	lineOffset int
}

// newDecoder returns a decoder for the document doc, which starts after lineOffset lines of file,
// after scanning it for anchors and duplicate keys. Values decoded count against b.
func newDecoder(file string, lineOffset int, doc ast.Node, diags *Diagnostics, b *budget) *decoder {
	d := &decoder{
		file:       file,
		lineOffset: lineOffset,
		aliases:    map[*ast.AliasNode]*ast.AnchorNode{},
		anchorAt:   map[string]ast.Node{},
		pos:        map[string]Pos{},
		diags:      diags,
		budget:     b,
	}
	var unresolved []*ast.AliasNode
	d.scan(doc, map[string]*ast.AnchorNode{}, map[*ast.AnchorNode]bool{}, &unresolved)
	for _, a := range unresolved {
		name := nameOf(a.Value)
		if anchor := d.anchorAt[name]; anchor != nil {
			p := d.nodePos(anchor)
			d.diags.add(d.nodePos(a), Error, "alias *%s comes before its anchor &%s (line %d, column %d); define the anchor first", name, name, p.Line, p.Col)
		} else {
			d.diags.add(d.nodePos(a), Error, "alias *%s refers to no anchor; define &%s before using it", name, name)
		}
	}
	return d
}

// scan walks n in document order. It resolves each alias as YAML defines it, to the most recent
// anchor of its name before the alias (an anchor name may be defined again, and later aliases
// then refer to the new value), and reports aliases inside their own anchor's value and keys
// that are duplicate or too long. anchors holds the latest anchor of each name so far; open
// holds the anchors whose value is being walked; aliases to no anchor yet are added to
// unresolved.
func (d *decoder) scan(n ast.Node, anchors map[string]*ast.AnchorNode, open map[*ast.AnchorNode]bool, unresolved *[]*ast.AliasNode) {
	switch v := n.(type) {
	case *ast.AnchorNode:
		name := nameOf(v.Name)
		if _, seen := d.anchorAt[name]; !seen {
			d.anchorAt[name] = v
		}
		anchors[name] = v
		open[v] = true
		d.scan(v.Value, anchors, open, unresolved)
		delete(open, v)
	case *ast.AliasNode:
		name := nameOf(v.Value)
		a := anchors[name]
		switch {
		case a == nil:
			*unresolved = append(*unresolved, v)
		case open[a]:
			p := d.nodePos(a)
			d.diags.add(d.nodePos(v), Error, "alias *%s is inside the value of its own anchor &%s (line %d, column %d), which would then contain itself; refer to a value defined before it", name, name, p.Line, p.Col)
		default:
			d.aliases[v] = a
		}
	case *ast.TagNode:
		d.scan(v.Value, anchors, open, unresolved)
	case *ast.MappingKeyNode:
		d.scan(v.Value, anchors, open, unresolved)
	case *ast.SequenceNode:
		for _, item := range v.Values {
			d.scan(item, anchors, open, unresolved)
		}
	case *ast.MappingNode:
		for _, kv := range v.Values {
			d.scan(kv.Key, anchors, open, unresolved)
			d.scan(kv.Value, anchors, open, unresolved)
		}
		d.checkKeys(v)
	}
}

func nameOf(n ast.Node) string {
	if n == nil || n.GetToken() == nil {
		return ""
	}
	return n.GetToken().Value
}

// checkKeys reports keys of m that are not single values, too long, or written twice.
func (d *decoder) checkKeys(m *ast.MappingNode) {
	var seen map[string]ast.Node
	for i, kv := range m.Values {
		if kv.Key == nil {
			continue
		}
		r := d.resolveQuiet(kv.Key)
		if r == nil {
			continue // an alias to nothing, reported by scan
		}
		key, ok := d.keyText(kv.Key)
		switch {
		case !ok:
			d.diags.add(d.nodePos(kv.Key), Error, "a key must be a single value, not %s", describeNode(r))
			continue
		case len(key) > maxPathLen:
			d.diags.add(d.nodePos(kv.Key), Error, "key %s is %d characters long; the limit is %d", shortQuote(key), len(key), maxPathLen)
			continue
		}
		// Small mappings (most of them) compare keys pairwise rather than allocate a set.
		var first ast.Node
		if len(m.Values) <= 8 {
			for _, prev := range m.Values[:i] {
				if k, ok := d.keyText(prev.Key); prev.Key != nil && ok && k == key {
					first = prev.Key
					break
				}
			}
		} else {
			if seen == nil {
				seen = make(map[string]ast.Node, len(m.Values))
			}
			first = seen[key]
			if first == nil {
				seen[key] = kv.Key
			}
		}
		if first != nil {
			p := d.nodePos(first)
			what := fmt.Sprintf("key %s", shortQuote(key))
			if kv.Key.IsMergeKey() {
				what = "merge key (<<)"
			}
			d.diags.add(d.nodePos(kv.Key), Error, "duplicate %s (first at line %d, column %d); remove one", what, p.Line, p.Col)
		}
	}
}

// keyText returns the text of a mapping key, looking through anchors, tags and aliases; ok is
// false if the key is not a single value.
func (d *decoder) keyText(k ast.Node) (text string, ok bool) {
	switch n := d.resolveQuiet(k).(type) {
	case *ast.StringNode:
		return n.Value, true
	case *ast.LiteralNode:
		return n.Value.Value, true
	case *ast.MappingNode, *ast.SequenceNode, nil:
		return "", false
	default:
		return nameOf(n), true
	}
}

// resolveQuiet is resolve without diagnostics (nil for an alias to nothing).
func (d *decoder) resolveQuiet(n ast.Node) ast.Node {
	for range maxDepth {
		switch v := n.(type) {
		case *ast.AnchorNode:
			n = v.Value
		case *ast.TagNode:
			n = v.Value
		case *ast.MappingKeyNode:
			n = v.Value
		case *ast.AliasNode:
			a := d.aliases[v]
			if a == nil {
				return nil
			}
			n = a.Value
		default:
			return n
		}
	}
	return nil
}

// shortQuote quotes s for a message, cut to a readable length.
func shortQuote(s string) string {
	if len(s) > 40 {
		n := 40
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		return strconv.Quote(s[:n]) + "…"
	}
	return strconv.Quote(s)
}

// posOf is nodePos, or the position of the alias being expanded.
func (d *decoder) posOf(n ast.Node) Pos {
	if d.aliasAt != nil {
		return *d.aliasAt
	}
	return d.nodePos(n)
}

func (d *decoder) errorf(n ast.Node, format string, args ...any) {
	d.diags.add(d.posOf(n), Error, format, args...)
}

// nodePos returns the position of n's first character of content (inside quotes).
func (d *decoder) nodePos(n ast.Node) Pos {
	if n == nil {
		return Pos{File: d.file}
	}
	if m, ok := n.(*ast.MappingNode); ok && !m.IsFlowStyle && len(m.Values) > 0 && m.Values[0].Key != nil {
		n = m.Values[0].Key // a block mapping starts at its first key, not at its first ':'
	}
	tk := n.GetToken()
	if tk == nil || tk.Position == nil {
		return Pos{File: d.file}
	}
	p := Pos{File: d.file, Line: tk.Position.Line + d.lineOffset, Col: tk.Position.Column}
	if tk.Type == token.DoubleQuoteType || tk.Type == token.SingleQuoteType {
		p.Col++
	}
	return p
}

// resolve strips anchors, tags and aliases, returning the node holding the value. It returns false
// for an alias that refers to no value (scan reported it).
func (d *decoder) resolve(n ast.Node) (ast.Node, bool) {
	for range maxDepth {
		switch v := n.(type) {
		case *ast.AnchorNode:
			n = v.Value
		case *ast.TagNode:
			n = v.Value
		case *ast.AliasNode:
			a := d.aliases[v]
			if a == nil {
				return nil, false // reported by scan
			}
			n = a.Value
		default:
			return n, true
		}
	}
	d.errorf(n, "aliases nest too deeply; simplify the anchors")
	return nil, false
}

func isNull(n ast.Node) bool {
	_, ok := n.(*ast.NullNode)
	return n == nil || ok
}

// decode sets v (addressable) from node, recording positions under path.
func (d *decoder) decode(node ast.Node, path string, v reflect.Value, depth int) {
	if !d.enter(node, path, depth) {
		return
	}
	orig := node
	node, ok := d.resolve(node)
	if !ok || isNull(node) {
		return
	}
	if _, isAlias := orig.(*ast.AliasNode); isAlias && d.aliasAt == nil {
		p := d.nodePos(orig)
		d.aliasAt = &p
		defer func() { d.aliasAt = nil }()
	}
	d.pos[path] = d.posOf(orig)

	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			v.Set(newDefaulted(v.Type().Elem()))
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.Struct:
		m, ok := node.(*ast.MappingNode)
		if !ok {
			d.errorf(orig, "%s must be a mapping (key: value pairs), not %s", describePath(path), describeNode(node))
			return
		}
		d.decodeStructs(m, path, depth, v)
	case reflect.Map:
		d.decodeMap(orig, node, path, v, depth)
	case reflect.Slice:
		seq, ok := node.(*ast.SequenceNode)
		if !ok {
			d.errorf(orig, "%s must be a list, not %s", describePath(path), describeNode(node))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(seq.Values), len(seq.Values))
		for i, item := range seq.Values {
			elem := s.Index(i)
			if elem.Kind() == reflect.Struct {
				elem.Set(newDefaulted(elem.Type()).Elem())
			}
			d.decode(item, indexPath(path, i), elem, depth+1)
		}
		v.Set(s)
	case reflect.Interface:
		v.Set(reflect.ValueOf(d.generic(node, path, depth)))
	default:
		d.decodeScalar(orig, node, path, v)
	}
}

func (d *decoder) decodeMap(orig, node ast.Node, path string, v reflect.Value, depth int) {
	m, ok := node.(*ast.MappingNode)
	if !ok {
		d.errorf(orig, "%s must be a mapping (key: value pairs), not %s", describePath(path), describeNode(node))
		return
	}
	if v.IsNil() {
		v.Set(reflect.MakeMap(v.Type()))
	}
	for _, kv := range d.mergedPairs(m) {
		key, _ := d.keyText(kv.Key)
		elem := reflect.New(v.Type().Elem()).Elem()
		if elem.Kind() == reflect.Struct {
			elem.Set(newDefaulted(elem.Type()).Elem())
		}
		d.pos[keyMarker+path+"."+key] = d.posOf(kv.Key)
		d.decode(kv.Value, path+"."+key, elem, depth+1)
		v.SetMapIndex(reflect.ValueOf(key), elem)
	}
}

// mergedPairs returns m's key/value pairs with merge keys ("<<: *base", "<<: [*a, *b]")
// expanded as YAML defines them: keys written in m win over merged ones, and a mapping earlier in
// a merge list wins over a later one. Merged pairs come first. Like the values of aliases, every
// pair a merge brings in counts against the budget, so nested merges cannot multiply work unseen.
func (d *decoder) mergedPairs(m *ast.MappingNode) []*ast.MappingValueNode {
	return d.merge(m, 1)
}

func (d *decoder) merge(m *ast.MappingNode, depth int) []*ast.MappingValueNode {
	if !slices.ContainsFunc(m.Values, isMerge) {
		return m.Values
	}
	own := make([]*ast.MappingValueNode, 0, len(m.Values))
	seen := map[string]bool{}
	for _, kv := range m.Values {
		if !isMerge(kv) {
			own = append(own, kv)
			if key, ok := d.keyText(kv.Key); ok {
				seen[key] = true
			}
		}
	}
	var merged []*ast.MappingValueNode
	for _, kv := range m.Values {
		if !isMerge(kv) {
			continue
		}
		if depth > maxDepth {
			d.errorf(kv.Key, "merge keys (<<) nest more than %d levels deep; flatten them", maxDepth)
			break
		}
		val, ok := d.resolve(kv.Value)
		if !ok {
			continue
		}
		sources := []ast.Node{kv.Value}
		if seq, isSeq := val.(*ast.SequenceNode); isSeq {
			sources = seq.Values
		}
		for _, src := range sources {
			if !d.charge(src) {
				return append(merged, own...)
			}
			r, ok := d.resolve(src)
			if !ok {
				continue
			}
			mm, isMap := r.(*ast.MappingNode)
			if !isMap {
				d.errorf(src, "a merge key (<<) takes a mapping or a list of mappings")
				continue
			}
			for _, p := range d.merge(mm, depth+1) {
				if !d.charge(src) {
					return append(merged, own...)
				}
				if key, ok := d.keyText(p.Key); ok && !seen[key] {
					seen[key] = true
					merged = append(merged, p)
				}
			}
		}
	}
	return append(merged, own...)
}

func isMerge(kv *ast.MappingValueNode) bool { return kv.Key != nil && kv.Key.IsMergeKey() }

// decodeStructs decodes one mapping into the union of the fields of several structs (a
// component's common fields and its kind's spec), reporting unknown and missing required fields.
func (d *decoder) decodeStructs(m *ast.MappingNode, path string, depth int, targets ...reflect.Value) {
	type target struct {
		info *structInfo
		v    reflect.Value
	}
	var ts []target
	for _, t := range targets {
		ts = append(ts, target{structInfoOf(t.Type()), t})
	}
	seen := map[string]bool{}
	for _, kv := range d.mergedPairs(m) {
		key, _ := d.keyText(kv.Key)
		found := false
		for _, t := range ts {
			if f, ok := t.info.byName[key]; ok {
				found = true
				seen[key] = true
				d.decode(kv.Value, joinPath(path, key), t.v.FieldByIndex(f.index), depth+1)
				break
			}
		}
		if !found {
			var names []string
			for _, t := range ts {
				names = append(names, t.info.names...)
			}
			d.diags.add(d.nodePos(kv.Key), Error, "unknown field %q in %s%s", key, describePath(path), suggest(key, names))
		}
	}
	for _, t := range ts {
		for _, f := range t.info.fields {
			if f.required && !seen[f.name] {
				d.diags.add(d.nodePos(m), Error, "%s is required in %s; add it", f.name, describePath(path))
			}
		}
	}
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (d *decoder) decodeScalar(orig, node ast.Node, path string, v reflect.Value) {
	tk := node.GetToken()
	text := ""
	if tk != nil {
		text = tk.Value
	}
	switch n := node.(type) {
	case *ast.StringNode:
		text = n.Value
	case *ast.LiteralNode:
		text = n.Value.Value
	case *ast.MappingNode, *ast.SequenceNode:
		d.errorf(orig, "%s must be a single value, not %s", describePath(path), describeNode(node))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(text)
	case reflect.Bool:
		b, ok := node.(*ast.BoolNode)
		if !ok {
			d.errorf(orig, "%s must be true or false, not %q", describePath(path), text)
			return
		}
		v.SetBool(b.Value)
	case reflect.Int, reflect.Int64, reflect.Int32:
		if _, ok := node.(*ast.IntegerNode); !ok {
			d.errorf(orig, "%s must be a whole number, not %q%s", describePath(path), text, interpHint(text))
			return
		}
		i, err := strconv.ParseInt(strings.ReplaceAll(text, "_", ""), 0, 64)
		if err != nil || v.OverflowInt(i) {
			d.errorf(orig, "%s: %q is out of range for a whole number", describePath(path), text)
			return
		}
		v.SetInt(i)
	case reflect.Float64:
		switch node.(type) {
		case *ast.IntegerNode, *ast.FloatNode:
			f, err := strconv.ParseFloat(strings.ReplaceAll(text, "_", ""), 64)
			if err != nil || math.IsInf(f, 0) {
				d.errorf(orig, "%s: %q is not a finite number", describePath(path), text)
				return
			}
			v.SetFloat(f)
		default:
			d.errorf(orig, "%s must be a number, not %q%s", describePath(path), text, interpHint(text))
		}
	default:
		d.errorf(orig, "%s has an unsupported type %s", describePath(path), v.Type())
	}
}

func interpHint(text string) string {
	if strings.Contains(text, "${") {
		return " (interpolation is only supported in string fields)"
	}
	return ""
}

// generic decodes a node into plain Go values: map[string]any, []any, string, int64, float64, bool.
func (d *decoder) generic(node ast.Node, path string, depth int) any {
	if !d.enter(node, path, depth) {
		return nil
	}
	node, ok := d.resolve(node)
	if !ok || isNull(node) {
		return nil
	}
	switch n := node.(type) {
	case *ast.MappingNode:
		out := map[string]any{}
		for _, kv := range d.mergedPairs(n) {
			key, _ := d.keyText(kv.Key)
			d.pos[path+"."+key] = d.posOf(kv.Value)
			out[key] = d.generic(kv.Value, path+"."+key, depth+1)
		}
		return out
	case *ast.SequenceNode:
		out := make([]any, len(n.Values))
		for i, item := range n.Values {
			p := indexPath(path, i)
			d.pos[p] = d.posOf(item)
			out[i] = d.generic(item, p, depth+1)
		}
		return out
	case *ast.BoolNode:
		return n.Value
	case *ast.IntegerNode:
		if i, err := strconv.ParseInt(strings.ReplaceAll(n.GetToken().Value, "_", ""), 0, 64); err == nil {
			return i
		}
		return n.GetToken().Value
	case *ast.FloatNode:
		return n.Value
	case *ast.StringNode:
		return n.Value
	case *ast.LiteralNode:
		return n.Value.Value
	default:
		if tk := node.GetToken(); tk != nil {
			return tk.Value
		}
		return nil
	}
}

func describePath(path string) string {
	if path == "" {
		return "the document"
	}
	return path
}

func describeNode(n ast.Node) string {
	switch n.(type) {
	case *ast.MappingNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	default:
		if tk := n.GetToken(); tk != nil {
			return fmt.Sprintf("%q", tk.Value)
		}
		return "a value"
	}
}

// defaulter is implemented by spec structs that fill their own defaults. The decoder calls
// SetDefaults on every struct it allocates before decoding into it, so that values written in
// YAML (even zero values) win over defaults.
type defaulter interface{ SetDefaults() }

// newDefaulted returns a pointer to a new T with its defaults filled in.
func newDefaulted(t reflect.Type) reflect.Value {
	p := reflect.New(t)
	if df, ok := p.Interface().(defaulter); ok {
		df.SetDefaults()
	}
	return p
}

type fieldInfo struct {
	name     string
	index    []int
	required bool
	secret   bool
	forceNew bool
}

type structInfo struct {
	fields []fieldInfo
	byName map[string]fieldInfo
	names  []string
}

var structInfos sync.Map // reflect.Type → *structInfo

func structInfoOf(t reflect.Type) *structInfo {
	if v, ok := structInfos.Load(t); ok {
		return v.(*structInfo)
	}
	info := &structInfo{byName: map[string]fieldInfo{}}
	info.collect(t, nil)
	v, _ := structInfos.LoadOrStore(t, info)
	return v.(*structInfo)
}

// collect adds t's fields; an embedded struct tagged `yaml:",inline"` contributes its fields as
// if they were t's own.
func (info *structInfo) collect(t reflect.Type, prefix []int) {
	for i := range t.NumField() {
		sf := t.Field(i)
		name, opt, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		index := append(slices.Clone(prefix), i)
		if opt == "inline" && sf.Type.Kind() == reflect.Struct {
			info.collect(sf.Type, index)
			continue
		}
		if name == "-" || !sf.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(sf.Name[:1]) + sf.Name[1:]
		}
		opts := strings.Split(sf.Tag.Get("panka"), ",")
		f := fieldInfo{
			name:     name,
			index:    index,
			required: slices.Contains(opts, "required"),
			secret:   slices.Contains(opts, "secret"),
			forceNew: slices.Contains(opts, "forcenew"),
		}
		info.fields = append(info.fields, f)
		info.byName[name] = f
		info.names = append(info.names, name)
	}
}

// indexPath is path + "[i]" (fmt.Sprintf costs more, once per list item).
func indexPath(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}
