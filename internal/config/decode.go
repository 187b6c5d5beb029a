package config

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"strconv"
	"strings"

	"github.com/alecthomas/units"
	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"
)

// The decoder walks the yaml.Node tree itself, one mapping key at a time,
// instead of handing the whole document to yaml.v3. That is what lets every
// error carry the line of its node and its key path: yaml.v3's KnownFields
// reports lines for unknown keys, but errors returned by custom unmarshalers
// (model.Duration, relabel.Config, the common HTTP client types, which use
// the yaml.v2-style UnmarshalYAML(func(any) error)) come back without one.
//
// Rules, applied recursively:
//   - structs are decoded field by field from their `yaml` tags (",inline"
//     structs and maps included); unknown and duplicate keys are errors;
//   - values whose pointer type has its own unmarshaler are decoded by
//     yaml.v3 so that type's defaults and checks apply. If the type is a
//     struct whose exported fields all carry yaml tags, its mapping is first
//     walked into a scratch value, so unknown keys and bad leaf values inside
//     it are still reported at their own line;
//   - an explicit null leaves the current (default) value alone, except for
//     pointers, slices and maps, which become nil; null items in a list of
//     mappings are errors;
//   - YAML merge keys (<<) are honoured, explicit keys win.

// maxErrors bounds how many problems are reported: past that the rest are
// usually consequences of the first ones, or the file is not a config.
const maxErrors = 20

// A small document can expand exponentially through nested aliases, so the
// nodes visited (aliases followed) are bounded by the document's own size
// times aliasRatio, plus some slack for small documents.
const (
	aliasRatio = 10
	aliasSlack = 100_000
)

var (
	yamlUnmarshalerType   = reflect.TypeFor[yaml.Unmarshaler]()
	yamlV2UnmarshalerType = reflect.TypeFor[interface {
		UnmarshalYAML(func(any) error) error
	}]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// defaulter is implemented by section types that have non-zero defaults.
// The decoder calls it on every value it creates (list items, map values,
// pointers), so each scrape job, alertmanager or remote endpoint starts from
// Prometheus's defaults before its keys are applied.
type defaulter interface {
	setDefaults()
}

// keyRejecter is implemented by types that know keys Prometheus accepts but
// argus does not, so that those get a clearer error than "unknown key".
type keyRejecter interface {
	// rejectKey returns why key is refused, or "" if it is simply unknown.
	rejectKey(key string) string
}

// decodeResetter is implemented by sections whose defaults apply only when
// the section is absent: when its mapping is present, decoding starts from
// the zero value, as in Prometheus (storage.tsdb.retention).
type decodeResetter interface {
	resetForDecode()
}

type decoder struct {
	file      string
	errs      []*Error
	failed    []string
	pos       positions
	visits    int
	maxVisits int
	stopped   bool
}

// decoded is the result of decoding one file.
type decoded struct {
	pos  positions // where each key path was written
	errs []*Error  // the problems found
	// failed lists the key paths whose values could not be decoded, in
	// full or in part; their defaults stand in for them.
	failed []string
	// fatal reports that the document could not be decoded as a whole (a
	// syntax error, too many problems), so checking the values that were
	// decoded would only add noise.
	fatal bool
}

// decodeFile decodes one YAML document from data into out, a pointer to a
// struct.
func decodeFile(data []byte, file string, out any) decoded {
	root, err := parseDocument(data, file)
	if err != nil {
		return decoded{errs: []*Error{err}, fatal: true}
	}
	if root == nil {
		return decoded{}
	}
	d := &decoder{file: file, maxVisits: aliasRatio*countNodes(root) + aliasSlack}
	d.decode(root, reflect.ValueOf(out).Elem(), "")
	return decoded{pos: d.pos, errs: d.errs, failed: d.failed, fatal: d.stopped}
}

// parseDocument returns the root node of the only document in data, or nil
// for an empty document.
func parseDocument(data []byte, file string) (*yaml.Node, *Error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, syntaxError(file, err)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		return nil, &Error{File: file, Line: next.Line, Err: errors.New("a config file must hold exactly one YAML document")}
	case !errors.Is(err, io.EOF):
		return nil, syntaxError(file, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || isNull(doc.Content[0]) {
		return nil, nil
	}
	return doc.Content[0], nil
}

// countNodes counts the nodes of the tree under n without following
// aliases.
func countNodes(n *yaml.Node) int {
	c := 1
	for _, child := range n.Content {
		c += countNodes(child)
	}
	return c
}

func (d *decoder) errorf(n *yaml.Node, path, format string, args ...any) {
	d.errs = append(d.errs, &Error{File: d.file, Line: n.Line, Path: path, Err: fmt.Errorf(format, args...)})
	d.failed = append(d.failed, path)
	if len(d.errs) > maxErrors {
		d.stopped = true
	}
}

func (d *decoder) record(path string, n *yaml.Node) {
	if d.pos == nil {
		d.pos = positions{}
	}
	d.pos[path] = position{file: d.file, line: n.Line, shown: path}
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func hasUnmarshaler(t reflect.Type) bool {
	pt := reflect.PointerTo(t)
	return pt.Implements(yamlUnmarshalerType) || pt.Implements(yamlV2UnmarshalerType) ||
		pt.Implements(textUnmarshalerType)
}

// newValue returns an addressable zero T with T's defaults applied.
func newValue(t reflect.Type) reflect.Value {
	v := reflect.New(t).Elem()
	applyDefaults(v)
	return v
}

func applyDefaults(v reflect.Value) {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	if v.CanAddr() {
		if dv, ok := v.Addr().Interface().(defaulter); ok {
			dv.setDefaults()
		}
	}
}

// decode decodes n into v, which must be addressable.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	if d.stopped {
		return
	}
	if d.visits++; d.visits > d.maxVisits {
		d.errorf(n, path, "document too large after expanding aliases")
		d.stopped = true
		return
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if isNull(n) {
		switch v.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
			v.SetZero()
		}
		return
	}
	if v.Kind() == reflect.Pointer {
		if !v.IsNil() {
			d.decode(n, v.Elem(), path)
			return
		}
		// A pointer whose value fails to decode stays nil, so that checks
		// of the whole (oauth2 needs a client_id) do not pile on.
		v.Set(reflect.New(v.Type().Elem()))
		applyDefaults(v)
		before := len(d.errs)
		d.decode(n, v.Elem(), path)
		if len(d.errs) > before {
			v.SetZero()
		}
		return
	}
	if hasUnmarshaler(v.Type()) {
		d.decodeCustom(n, v, path)
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Slice:
		d.decodeSeq(n, v, path)
	case reflect.Map:
		d.decodeMap(n, v, path)
	case reflect.Interface:
		if err := n.Decode(v.Addr().Interface()); err != nil {
			d.errorf(n, path, "%v", cleanYAMLError(err))
		}
	default:
		d.decodeScalar(n, v, path)
	}
}

// decodeCustom decodes a value whose type has its own unmarshaler.
func (d *decoder) decodeCustom(n *yaml.Node, v reflect.Value, path string) {
	if isScalarKind(v.Kind()) && n.Kind != yaml.ScalarNode {
		// Say what is wrong in our words; yaml.v3 would name the
		// unmarshaler's private type ("cannot unmarshal !!seq into
		// config.plain").
		d.errorf(n, path, "expected %s, got %s", kindName(v.Type()), nodeName(n))
		return
	}
	if n.Kind == yaml.MappingNode && v.Kind() == reflect.Struct && fullyTagged(v.Type()) {
		before := len(d.errs)
		d.decodeStruct(n, reflect.New(v.Type()).Elem(), path)
		if len(d.errs) > before || d.stopped {
			// The value as a whole was not decoded, so its own checks
			// (a relabel rule's action...) did not run either.
			d.failed = append(d.failed, path)
			return
		}
	}
	if err := n.Decode(v.Addr().Interface()); err != nil {
		at := n
		if n.Kind != yaml.ScalarNode {
			// A check of the whole block (tls_config: "at most one of ca,
			// ca_file...") is reported at its key, not its first line.
			if p, ok := d.pos[path]; ok {
				at = &yaml.Node{Line: p.line}
			}
		}
		d.errorf(at, path, "%v", cleanYAMLError(err))
	}
}

func (d *decoder) decodeScalar(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, path, "expected %s, got %s", kindName(v.Type()), nodeName(n))
		return
	}
	// yaml.v3 silently truncates 1.5 to 1 for integers; a fraction in an
	// integer setting is a mistake. Whole numbers like 1e6 are fine.
	if isIntKind(v.Kind()) && n.ShortTag() == "!!float" {
		if f, err := strconv.ParseFloat(n.Value, 64); err != nil || f != math.Trunc(f) {
			d.errorf(n, path, "expected an integer, got %s", nodeName(n))
			return
		}
	}
	if err := n.Decode(v.Addr().Interface()); err != nil {
		d.errorf(n, path, "%v", cleanYAMLError(err))
	}
}

func (d *decoder) decodeSeq(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, path, "expected a list, got %s", nodeName(n))
		return
	}
	et := v.Type().Elem()
	out := reflect.MakeSlice(v.Type(), 0, len(n.Content))
	for i, item := range n.Content {
		if d.stopped {
			return
		}
		p := indexPath(path, i)
		d.record(p, item)
		target := item
		if target.Kind == yaml.AliasNode && target.Alias != nil {
			target = target.Alias
		}
		if isNull(target) && isMappingType(et) {
			d.errorf(item, p, "empty or null entry")
			continue
		}
		ev := reflect.New(et).Elem()
		if et.Kind() == reflect.Pointer && isMappingType(et) {
			ev.Set(reflect.New(et.Elem()))
		}
		applyDefaults(ev)
		d.decode(item, ev, p)
		out = reflect.Append(out, ev)
	}
	v.Set(out)
}

// isMappingType reports whether values of t are written as YAML mappings.
func isMappingType(t reflect.Type) bool {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Kind() == reflect.Struct && fullyTagged(t)
}

func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "expected a mapping, got %s", nodeName(n))
		return
	}
	if v.IsNil() {
		v.Set(reflect.MakeMap(v.Type()))
	}
	seen := map[string]*yaml.Node{}
	for _, kv := range d.pairs(n, path) {
		if d.stopped {
			return
		}
		name, ok := d.keyName(kv.key, path)
		if !ok {
			continue
		}
		p := joinPath(path, name)
		if prev, dup := seen[name]; dup {
			if !kv.merged {
				d.errorf(kv.key, p, "duplicate key (first defined on line %d)", prev.Line)
			}
			continue
		}
		seen[name] = kv.key
		d.record(p, kv.key)
		key := reflect.New(v.Type().Key()).Elem()
		before := len(d.errs)
		d.decode(kv.key, key, p)
		val := newValue(v.Type().Elem())
		d.decode(kv.value, val, p)
		if len(d.errs) == before {
			v.SetMapIndex(key, val)
		}
	}
}

// decodeStruct decodes the mapping n into the struct v.
func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "expected a mapping, got %s", nodeName(n))
		return
	}
	if r, ok := v.Addr().Interface().(decodeResetter); ok {
		r.resetForDecode()
	}
	info := fieldsOf(v.Type())
	rej, _ := v.Addr().Interface().(keyRejecter)
	seen := map[string]*yaml.Node{}
	for _, kv := range d.pairs(n, path) {
		if d.stopped {
			return
		}
		name, ok := d.keyName(kv.key, path)
		if !ok {
			continue
		}
		p := joinPath(path, name)
		if prev, dup := seen[name]; dup {
			if !kv.merged {
				d.errorf(kv.key, p, "duplicate key (first defined on line %d)", prev.Line)
			}
			continue
		}
		seen[name] = kv.key
		if idx, ok := info.byName[name]; ok {
			d.record(p, kv.key)
			d.decode(kv.value, v.FieldByIndex(idx), p)
			continue
		}
		if info.inlineMap != nil {
			d.decodeInlineMapEntry(kv, name, v.FieldByIndex(info.inlineMap), p)
			continue
		}
		if rej != nil {
			if why := rej.rejectKey(name); why != "" {
				d.errorf(kv.key, p, "%s", why)
				continue
			}
		}
		d.errorf(kv.key, p, "unknown key%s", suggest(name, info.names))
	}
}

func (d *decoder) decodeInlineMapEntry(kv keyValue, name string, m reflect.Value, path string) {
	if m.IsNil() {
		m.Set(reflect.MakeMap(m.Type()))
	}
	d.record(path, kv.key)
	val := newValue(m.Type().Elem())
	before := len(d.errs)
	d.decode(kv.value, val, path)
	if len(d.errs) == before {
		m.SetMapIndex(reflect.ValueOf(name).Convert(m.Type().Key()), val)
	}
}

type keyValue struct {
	key, value *yaml.Node
	merged     bool // came from a << merge key
}

// pairs returns the key/value pairs of mapping n: its own pairs first, then
// those pulled in through merge keys, so that own keys take precedence.
func (d *decoder) pairs(n *yaml.Node, path string) []keyValue {
	var own, merged []keyValue
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			merged = append(merged, d.mergePairs(val, path)...)
			continue
		}
		own = append(own, keyValue{key: k, value: val})
	}
	return append(own, merged...)
}

// mergePairs returns the pairs a merge key's value contributes: a mapping
// (usually through an alias) or a list of them.
func (d *decoder) mergePairs(n *yaml.Node, path string) []keyValue {
	if d.visits++; d.visits > d.maxVisits {
		d.errorf(n, path, "document too large after expanding aliases")
		d.stopped = true
		return nil
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	var out []keyValue
	switch n.Kind {
	case yaml.MappingNode:
		for _, kv := range d.pairs(n, path) {
			kv.merged = true
			out = append(out, kv)
		}
	case yaml.SequenceNode:
		for _, item := range n.Content {
			out = append(out, d.mergePairs(item, path)...)
		}
	default:
		d.errorf(n, path, "a merge key (<<) needs a mapping or a list of mappings, got %s", nodeName(n))
	}
	return out
}

// keyName returns the text of mapping key k.
func (d *decoder) keyName(k *yaml.Node, path string) (string, bool) {
	if k.Kind == yaml.AliasNode && k.Alias != nil {
		k = k.Alias
	}
	if k.Kind != yaml.ScalarNode {
		d.errorf(k, path, "mapping keys must be strings, got %s", nodeName(k))
		return "", false
	}
	var s string
	if err := k.Decode(&s); err != nil {
		d.errorf(k, path, "bad key: %v", cleanYAMLError(err))
		return "", false
	}
	return s, true
}

// structInfo describes the YAML keys of a struct type.
type structInfo struct {
	byName    map[string][]int
	names     []string // in declaration order, for suggestions
	inlineMap []int    // index of a `yaml:",inline"` map field, if any
}

// fieldsOf returns the YAML keys of struct type t, flattening inline
// structs the way yaml.v3 does.
func fieldsOf(t reflect.Type) structInfo {
	info := structInfo{byName: map[string][]int{}}
	var walk func(t reflect.Type, prefix []int)
	walk = func(t reflect.Type, prefix []int) {
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "-" {
				continue
			}
			idx := append(append([]int(nil), prefix...), i)
			if strings.Contains(opts, "inline") {
				if f.Type.Kind() == reflect.Map {
					info.inlineMap = idx
				} else {
					walk(f.Type, idx)
				}
				continue
			}
			if name == "" {
				name = strings.ToLower(f.Name)
			}
			info.byName[name] = idx
			info.names = append(info.names, name)
		}
	}
	walk(t, nil)
	return info
}

// fullyTagged reports whether every exported field of struct type t has a
// yaml tag. Only such types are known to be written as a mapping of their
// fields; others with their own unmarshaler (relabel.Regexp, config.URL)
// use some other shape and are left entirely to that unmarshaler.
func fullyTagged(t reflect.Type) bool {
	if t.Kind() != reflect.Struct {
		return false
	}
	n := 0
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		if _, ok := f.Tag.Lookup("yaml"); !ok {
			return false
		}
		n++
	}
	return n > 0
}

func isScalarKind(k reflect.Kind) bool {
	switch k {
	case reflect.Struct, reflect.Slice, reflect.Map, reflect.Interface, reflect.Pointer, reflect.Array:
		return false
	}
	return true
}

func nodeName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	}
	return "something else"
}

func kindName(t reflect.Type) string {
	switch t {
	case reflect.TypeFor[model.Duration]():
		return "a duration such as 30s"
	case reflect.TypeFor[units.Base2Bytes]():
		return "a size such as 512MB"
	}
	if hasUnmarshaler(t) {
		// Other scalar types with their own unmarshaler (TLS versions,
		// validation schemes, secrets) are written as strings.
		return "a string"
	}
	switch k := t.Kind(); {
	case k == reflect.Bool:
		return "true or false"
	case isIntKind(k):
		return "an integer"
	case k == reflect.Float32 || k == reflect.Float64:
		return "a number"
	}
	return "a string"
}

func isIntKind(k reflect.Kind) bool {
	switch k {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return true
	}
	return false
}

// suggest returns " (did you mean x?)" when a known key is within two edits
// of the unknown one, which catches most typos.
func suggest(key string, known []string) string {
	best, bestDist := "", 3
	for _, k := range known {
		if dist := editDistance(key, k); dist < bestDist {
			best, bestDist = k, dist
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %s?)", best)
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
