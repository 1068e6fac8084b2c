package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// Spec values are stored in canonical form: map[string]any, []any, string, int64, float64, bool
// and nil, exactly the types provider.Resource documents. normalize converts the other Go types a
// caller is likely to pass (int, []string, map[string]string...) on the way in, so a spec reads
// back the same from memory and from a file, and rejects what JSON cannot hold.

// normalizeSpec returns a deep copy of spec in canonical form, or an error naming the first
// field whose value cannot be stored. A nil spec stays nil.
func normalizeSpec(spec map[string]any) (map[string]any, error) {
	if spec == nil {
		return nil, nil
	}
	out := make(map[string]any, len(spec))
	for k, v := range spec {
		c, err := normalize(v, "spec."+k)
		if err != nil {
			return nil, err
		}
		out[k] = c
	}
	return out, nil
}

func normalize(v any, path string) (any, error) {
	switch v := v.(type) {
	case nil, string, bool, int64:
		return v, nil
	case float64:
		return checkFloat(v, path)
	case float32:
		return checkFloat(float64(v), path)
	case int:
		return int64(v), nil
	case int8:
		return int64(v), nil
	case int16:
		return int64(v), nil
	case int32:
		return int64(v), nil
	case uint8:
		return int64(v), nil
	case uint16:
		return int64(v), nil
	case uint32:
		return int64(v), nil
	case uint:
		return checkUint(uint64(v), path)
	case uint64:
		return checkUint(v, path)
	case json.Number:
		return numberValue(string(v), path)
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			c, err := normalize(e, path+"."+k)
			if err != nil {
				return nil, err
			}
			out[k] = c
		}
		return out, nil
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			c, err := normalize(e, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	case map[string]string:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = e
		}
		return out, nil
	case []string:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = e
		}
		return out, nil
	}
	// Other slices, string-keyed maps and named basic types ([]int64, map[string]int, a Port int...).
	rv := reflect.ValueOf(v)
	switch {
	case rv.Kind() == reflect.Slice && rv.IsNil(), rv.Kind() == reflect.Map && rv.IsNil():
		return nil, nil
	case rv.Kind() == reflect.Slice || rv.Kind() == reflect.Array:
		out := make([]any, rv.Len())
		for i := range out {
			c, err := normalize(rv.Index(i).Interface(), fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	case rv.Kind() == reflect.Map && rv.Type().Key().Kind() == reflect.String:
		out := make(map[string]any, rv.Len())
		for it := rv.MapRange(); it.Next(); {
			k := it.Key().String()
			c, err := normalize(it.Value().Interface(), path+"."+k)
			if err != nil {
				return nil, err
			}
			out[k] = c
		}
		return out, nil
	case rv.Kind() == reflect.String:
		return rv.String(), nil
	case rv.Kind() == reflect.Bool:
		return rv.Bool(), nil
	case rv.CanInt():
		return rv.Int(), nil
	case rv.CanUint():
		return checkUint(rv.Uint(), path)
	case rv.CanFloat():
		return checkFloat(rv.Float(), path)
	}
	return nil, fmt.Errorf("%s: unsupported value of type %T (want JSON-compatible values)", path, v)
}

func checkFloat(f float64, path string) (any, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, fmt.Errorf("%s: %v cannot be stored (not a JSON number)", path, f)
	}
	return f, nil
}

func checkUint(u uint64, path string) (any, error) {
	if u > math.MaxInt64 {
		return nil, fmt.Errorf("%s: %d overflows int64", path, u)
	}
	return int64(u), nil
}

// numberValue reads a JSON number as int64 when it is written as an integer and as float64
// otherwise, which is how encodeValue writes them.
func numberValue(s, path string) (any, error) {
	if !strings.ContainsAny(s, ".eE") {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return i, nil
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, fmt.Errorf("%s: bad number %q", path, s)
	}
	return checkFloat(f, path)
}

// specJSON is a canonical spec as stored in the cloud file. Unlike encoding/json's default, it
// keeps int64 and float64 apart: a float is always written with a '.' or an exponent, and a
// number without one is read back as int64.
type specJSON map[string]any

func (s specJSON) MarshalJSON() ([]byte, error) {
	if s == nil {
		return []byte("null"), nil
	}
	return appendValue(nil, map[string]any(s))
}

func (s *specJSON) UnmarshalJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var raw any
	if err := dec.Decode(&raw); err != nil {
		return err
	}
	if raw == nil {
		*s = nil
		return nil
	}
	m, ok := raw.(map[string]any)
	if !ok {
		return fmt.Errorf("spec is a %T, not an object", raw)
	}
	v, err := normalize(m, "spec")
	if err != nil {
		return err
	}
	*s = v.(map[string]any)
	return nil
}

func appendValue(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case bool:
		return strconv.AppendBool(b, v), nil
	case int64:
		return strconv.AppendInt(b, v, 10), nil
	case float64:
		start := len(b)
		b = strconv.AppendFloat(b, v, 'g', -1, 64)
		if !bytes.ContainsAny(b[start:], ".eE") {
			b = append(b, ".0"...)
		}
		return b, nil
	case string:
		q, err := json.Marshal(v)
		return append(b, q...), err
	case []any:
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendValue(b, e); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case map[string]any:
		b = append(b, '{')
		for i, k := range slices.Sorted(maps.Keys(v)) {
			if i > 0 {
				b = append(b, ',')
			}
			q, err := json.Marshal(k)
			if err != nil {
				return nil, err
			}
			b = append(append(b, q...), ':')
			if b, err = appendValue(b, v[k]); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	}
	return nil, fmt.Errorf("unsupported spec value of type %T", v)
}
