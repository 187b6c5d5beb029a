package dashboard

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// JSON is a decoded JSON object. Numbers are json.Number so that integers
// keep their exact text through a round trip.
type JSON = map[string]any

// Decode parses one JSON object, keeping numbers as json.Number.
func Decode(data []byte) (JSON, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("parse dashboard JSON: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("parse dashboard JSON: data after the object")
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("parse dashboard JSON: want an object, got %s", kind(v))
	}
	return m, nil
}

func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case []any:
		return "an array"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	}
	return "an object"
}

// Clone returns a deep copy of a decoded JSON value.
func Clone(m JSON) JSON {
	c, _ := cloneValue(m).(map[string]any)
	return c
}

func cloneValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		c := make(map[string]any, len(v))
		for k, x := range v {
			c[k] = cloneValue(x)
		}
		return c
	case []any:
		c := make([]any, len(v))
		for i, x := range v {
			c[i] = cloneValue(x)
		}
		return c
	}
	return v
}

func obj(m JSON, key string) JSON {
	v, _ := m[key].(map[string]any)
	return v
}

// ensureObj returns m[key] as an object, creating it if missing or not an
// object.
func ensureObj(m JSON, key string) JSON {
	if v, ok := m[key].(map[string]any); ok {
		return v
	}
	v := JSON{}
	m[key] = v
	return v
}

func arr(m JSON, key string) []any {
	v, _ := m[key].([]any)
	return v
}

// objs returns the objects of the array m[key], skipping other values.
func objs(m JSON, key string) []JSON {
	var out []JSON
	for _, v := range arr(m, key) {
		if o, ok := v.(map[string]any); ok {
			out = append(out, o)
		}
	}
	return out
}

func str(m JSON, key string) string {
	s, _ := m[key].(string)
	return s
}

// truthy reads a flag the way JavaScript would: old dashboards wrote
// booleans as strings and numbers too.
func truthy(v any) bool {
	switch v := v.(type) {
	case bool:
		return v
	case string:
		return v != "" && v != "false" && v != "0"
	case json.Number:
		f, err := v.Float64()
		return err == nil && f != 0
	case float64:
		return v != 0
	case int:
		return v != 0
	case nil:
		return false
	}
	return true
}

func isSet(m JSON, key string) bool { return truthy(m[key]) }

// number reads a number written as a JSON number or a numeric string
// ("250px" included, as old row heights were); ok is false otherwise.
func number(v any) (float64, bool) {
	var f float64
	var err error
	switch v := v.(type) {
	case json.Number:
		f, err = v.Float64()
	case float64:
		f = v
	case int:
		f = float64(v)
	case string:
		f, err = strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(v, "px")), 64)
	default:
		return 0, false
	}
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

func num(m JSON, key string) (float64, bool) { return number(m[key]) }

// intOr reads m[key] as an integer, or def if it is not a number.
func intOr(m JSON, key string, def int) int {
	f, ok := num(m, key)
	if !ok || f > math.MaxInt32 || f < math.MinInt32 {
		return def
	}
	return int(f)
}

// setIfMissing sets m[key] unless it already holds a value.
func setIfMissing(m JSON, key string, v any) {
	if _, ok := m[key]; !ok {
		m[key] = v
	}
}

// walkStrings replaces every string in v (object values and array items,
// not keys) by f of it, returning the new value.
func walkStrings(v any, f func(string) string) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			v[k] = walkStrings(x, f)
		}
	case []any:
		for i, x := range v {
			v[i] = walkStrings(x, f)
		}
	case string:
		return f(v)
	}
	return v
}
