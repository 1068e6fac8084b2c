package schema

import (
	"fmt"
	"reflect"
	"strings"
)

// Field describes one spec field of a kind, for documentation and for the engine (which fields
// force replacement, which are secret).
type Field struct {
	Path     string // "ports[].port", "scaling.min"
	Type     string // "string", "int", "bool", "list", "map", "object", "any"
	Default  string // rendered default, "" if none
	Required bool
	Secret   bool
	ForceNew bool
}

// Fields lists the spec fields of a component kind (plus the common dependsOn), depth first, in
// declaration order.
func Fields(kind string) []Field {
	info, ok := LookupKind(kind)
	if !ok {
		return nil
	}
	spec := reflect.ValueOf(info.New()).Elem()
	if df, ok := spec.Addr().Interface().(defaulter); ok {
		df.SetDefaults()
	}
	out := []Field{{Path: "dependsOn", Type: "list of string"}}
	return collectFields(spec, "", out)
}

func collectFields(v reflect.Value, prefix string, out []Field) []Field {
	info := structInfoOf(v.Type())
	for _, f := range info.fields {
		fv := v.FieldByIndex(f.index)
		field := Field{Path: prefix + f.name, Required: f.required, Secret: f.secret, ForceNew: f.forceNew}
		t := fv.Type()
		elem := t
		if t.Kind() == reflect.Pointer {
			elem = t.Elem()
		}
		switch elem.Kind() {
		case reflect.Struct:
			field.Type = "object"
			out = append(out, field)
			sub := fv
			if t.Kind() == reflect.Pointer {
				sub = newDefaulted(elem).Elem()
			}
			out = collectFields(sub, field.Path+".", out)
			continue
		case reflect.Slice:
			field.Type = "list of " + typeName(elem.Elem())
			out = append(out, field)
			if elem.Elem().Kind() == reflect.Struct {
				out = collectFields(newDefaulted(elem.Elem()).Elem(), field.Path+"[].", out)
			}
			continue
		case reflect.Map:
			field.Type = "map of " + typeName(elem.Elem())
		default:
			field.Type = typeName(elem)
			if !fv.IsZero() {
				field.Default = fmt.Sprint(fv.Interface())
			}
		}
		out = append(out, field)
	}
	return out
}

func typeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Struct:
		return "object"
	case reflect.Interface:
		return "any"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "int"
	case reflect.Float64:
		return "number"
	case reflect.Pointer:
		return typeName(t.Elem())
	case reflect.Map:
		return "map of " + typeName(t.Elem())
	case reflect.Slice:
		return "list of " + typeName(t.Elem())
	}
	return t.Kind().String()
}

// ForceNewFields returns the paths of a kind's fields whose change replaces the resource.
func ForceNewFields(kind string) []string {
	var out []string
	for _, f := range Fields(kind) {
		if f.ForceNew {
			out = append(out, f.Path)
		}
	}
	return out
}

// ReferenceMarkdown renders the component kinds reference (docs/reference.md).
func ReferenceMarkdown() string {
	var b strings.Builder
	b.WriteString("# Component kinds reference\n\n")
	b.WriteString("Generated from the schema by `go test ./schema -run TestReference -update`; do not edit by hand.\n\n")
	b.WriteString("Every component document has `apiVersion: panka.io/v1`, `kind`, `metadata` (`name`, `service`, `labels`, `annotations`) and `spec`. ")
	b.WriteString("Flags: **required**; **secret** (a Secrets Manager/SSM reference, never a literal); **replaces** (changing it replaces the resource).\n\n")
	for _, k := range ComponentKinds() {
		info, _ := LookupKind(k)
		fmt.Fprintf(&b, "## %s\n\n", k)
		fmt.Fprintf(&b, "Outputs: %s. Physical name: at most %d characters (%s).\n\n", "`"+strings.Join(info.Outputs, "`, `")+"`", info.NameLimit, info.NameWhat)
		b.WriteString("| field | type | default | flags |\n|---|---|---|---|\n")
		for _, f := range Fields(k) {
			var flags []string
			if f.Required {
				flags = append(flags, "required")
			}
			if f.Secret {
				flags = append(flags, "secret")
			}
			if f.ForceNew {
				flags = append(flags, "replaces")
			}
			def := ""
			if f.Default != "" {
				def = "`" + f.Default + "`"
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", f.Path, f.Type, def, strings.Join(flags, ", "))
		}
		b.WriteString("\n")
	}
	return b.String()
}
