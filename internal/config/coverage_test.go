package config

import (
	"errors"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// The tests in this file hold the fixtures to the house rule that every
// config field has a good and a bad case: they list every field of every
// type in the schema by reflection and fail if one is set by no good
// fixture or named by no error of a bad fixture. Adding a field therefore
// means adding fixtures. A type used in several places (the HTTP client
// settings, relabel rules) needs covering once, not in every place.

// fieldID names a field by the type that declares it, e.g.
// "github.com/prometheus/common/config.TLSConfig.ca_file".
func fieldID(owner reflect.Type, name string) string {
	return owner.PkgPath() + "." + owner.Name() + "." + name
}

// owner returns the struct type declaring the field at index in t, which
// differs from t for fields of inline structs.
func owner(t reflect.Type, index []int) reflect.Type {
	for _, i := range index[:len(index)-1] {
		t = t.Field(i).Type
	}
	return t
}

// schemaFields adds the IDs of the leaf fields reachable from type t.
func schemaFields(t reflect.Type, out map[string]bool, seen map[reflect.Type]bool) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || (hasUnmarshaler(t) && !fullyTagged(t)) || seen[t] {
		return
	}
	seen[t] = true
	info := fieldsOf(t)
	for _, name := range info.names {
		idx := info.byName[name]
		ft := t.FieldByIndex(idx).Type
		if isLeaf(ft) {
			out[fieldID(owner(t, idx), name)] = true
		}
		schemaFields(ft, out, seen)
	}
	if info.inlineMap != nil {
		schemaFields(t.FieldByIndex(info.inlineMap).Type, out, seen)
	}
}

// isLeaf reports whether values of t hold no further config keys.
func isLeaf(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	return t.Kind() != reflect.Struct || (hasUnmarshaler(t) && !fullyTagged(t))
}

// normalise returns the ID of the deepest field named by a key path as
// found in errors and positions, following the types to tell map keys from
// fields.
func normalise(t reflect.Type, path string) (string, bool) {
	id := ""
	for path != "" {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		seg, rest, isIndex, ok := nextSegment(path)
		if !ok {
			return "", false
		}
		path = rest
		switch {
		case t.Kind() == reflect.Slice && isIndex:
			t = t.Elem()
		case t.Kind() == reflect.Map && !isIndex:
			t = t.Elem()
		case t.Kind() == reflect.Struct && !isIndex:
			info := fieldsOf(t)
			if idx, ok := info.byName[seg]; ok {
				id, t = fieldID(owner(t, idx), seg), t.FieldByIndex(idx).Type
			} else if info.inlineMap != nil {
				t = t.FieldByIndex(info.inlineMap).Type.Elem()
			} else {
				return "", false
			}
		default:
			return "", false
		}
	}
	return id, id != ""
}

// nextSegment splits the first segment off a key path: .name, name,
// ["quoted name"] or [index].
func nextSegment(path string) (seg, rest string, isIndex, ok bool) {
	path = strings.TrimPrefix(path, ".")
	if strings.HasPrefix(path, `["`) {
		q, err := strconv.QuotedPrefix(path[1:])
		if err != nil || !strings.HasPrefix(path[1+len(q):], "]") {
			return "", "", false, false
		}
		name, _ := strconv.Unquote(q)
		return name, path[len(q)+2:], false, true
	}
	if strings.HasPrefix(path, "[") {
		end := strings.IndexByte(path, ']')
		if end < 0 {
			return "", "", false, false
		}
		return path[1:end], path[end+1:], true, true
	}
	end := strings.IndexAny(path, ".[")
	if end < 0 {
		end = len(path)
	}
	return path[:end], path[end:], false, true
}

func allSchemaFields() map[string]bool {
	keys := map[string]bool{}
	schemaFields(reflect.TypeFor[Config](), keys, map[reflect.Type]bool{})
	return keys
}

func TestGoodFixturesCoverEveryKey(t *testing.T) {
	fixtureEnv(t)
	seen := map[string]bool{}
	for _, file := range fixtures(t, "*.good.yml") {
		c, err := LoadFile(file)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		for path := range c.pos {
			if n, ok := normalise(reflect.TypeFor[Config](), path); ok {
				seen[n] = true
			} else {
				t.Errorf("%s: cannot normalise key path %q", file, path)
			}
		}
	}
	for _, key := range missing(allSchemaFields(), seen) {
		t.Errorf("no good fixture sets %s", key)
	}
}

func TestBadFixturesCoverEveryKey(t *testing.T) {
	fixtureEnv(t)
	seen := map[string]bool{}
	for _, file := range fixtures(t, "*.bad.yml") {
		_, err := LoadFile(file)
		for _, e := range flatten(err) {
			if n, ok := normalise(reflect.TypeFor[Config](), e.Path); ok {
				seen[n] = true
			}
		}
	}
	keys := allSchemaFields()
	// Any YAML value is a valid claim value; nothing can be wrong with it.
	delete(keys, "github.com/prometheus/common/config.OAuth2.claims")
	for _, key := range missing(keys, seen) {
		t.Errorf("no bad fixture has an error at %s", key)
	}
}

// missing returns the keys of want that are not in seen, sorted.
func missing(want, seen map[string]bool) []string {
	var out []string
	for key := range want {
		if !seen[key] {
			out = append(out, key)
		}
	}
	sort.Strings(out)
	return out
}

// flatten returns the *Error values joined into err.
func flatten(err error) []*Error {
	var multi interface{ Unwrap() []error }
	if errors.As(err, &multi) {
		var out []*Error
		for _, e := range multi.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	var e *Error
	if errors.As(err, &e) {
		return []*Error{e}
	}
	return nil
}
