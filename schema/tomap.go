package schema

import "reflect"

// ToMap converts a spec into JSON-compatible values keyed by YAML field names: structs and maps
// become map[string]any, slices []any, integers int64, floats float64. Numbers and booleans are
// kept even when zero (backupRetention: 0 means something); empty strings, nil pointers and
// empty lists and maps are left out. The result is what the engine diffs, stores in state and hands to providers.
func ToMap(spec Spec) map[string]any {
	m, _ := toValue(reflect.ValueOf(spec)).(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	return m
}

// canonicalizer is a part of a spec with more than one spelling of a value (a default written
// out, and left out): canonical rewrites its map to the one spelling providers read back, so
// that writing a default does not plan as a change after every apply.
type canonicalizer interface{ canonical(m map[string]any) }

func toValue(v reflect.Value) any {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return toValue(v.Elem())
	case reflect.Struct:
		info := structInfoOf(v.Type())
		out := make(map[string]any, len(info.fields))
		for _, f := range info.fields {
			if x := toValue(v.FieldByIndex(f.index)); x != nil {
				out[f.name] = x
			}
		}
		if c, ok := v.Interface().(canonicalizer); ok {
			c.canonical(out)
		}
		return out
	case reflect.Map:
		if v.Len() == 0 {
			return nil
		}
		out := make(map[string]any, v.Len())
		iter := v.MapRange()
		for iter.Next() {
			if x := toValue(iter.Value()); x != nil {
				out[iter.Key().String()] = x
			}
		}
		return out
	case reflect.Slice:
		if v.Len() == 0 {
			return nil
		}
		out := make([]any, v.Len())
		for i := range v.Len() {
			out[i] = toValue(v.Index(i))
		}
		return out
	case reflect.String:
		if v.Len() == 0 {
			return nil // an empty string means "not set" for every string field
		}
		return v.String()
	case reflect.Bool:
		return v.Bool()
	case reflect.Int, reflect.Int64, reflect.Int32:
		return v.Int()
	case reflect.Float64:
		return v.Float()
	}
	return nil
}
