package aws

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
)

// Reading the engine's specs: JSON-compatible maps keyed by YAML field names, numbers as int64
// or float64 (after a JSON round trip). A missing field reads as the given default.

func specMap(m map[string]any, key string) map[string]any {
	v, _ := m[key].(map[string]any)
	return v
}

func specString(m map[string]any, key string) string {
	v, _ := m[key].(string)
	return v
}

func specBool(m map[string]any, key string) bool {
	v, _ := m[key].(bool)
	return v
}

func specInt(m map[string]any, key string, def int64) int64 {
	switch v := m[key].(type) {
	case int64:
		return v
	case int:
		return int64(v)
	case float64:
		return int64(v)
	}
	return def
}

func specList(m map[string]any, key string) []any {
	v, _ := m[key].([]any)
	return v
}

// itoa formats an integer attribute.
func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// atoi reads an integer attribute, def if it is missing or not a number.
func atoi(s string, def int64) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return def
	}
	return n
}

// jsonValue decodes a JSON document AWS keeps for a spec field (a filter policy) into the spec's
// types: objects map[string]any, arrays []any, whole numbers int64, other numbers float64.
func jsonValue(doc string) (any, error) {
	d := json.NewDecoder(bytes.NewReader([]byte(doc)))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return numbers(v), nil
}

func numbers(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			t[k] = numbers(x)
		}
	case []any:
		for i, x := range t {
			t[i] = numbers(x)
		}
	case json.Number:
		if n, err := t.Int64(); err == nil {
			return n
		}
		f, err := t.Float64()
		if err != nil || math.IsInf(f, 0) {
			return t.String()
		}
		return f
	}
	return v
}
