package textparse

import (
	"bytes"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	upstream "github.com/prometheus/prometheus/model/textparse"
	"github.com/prometheus/prometheus/model/value"
)

// Prom parses one page of the Prometheus text format; see the package doc.
type Prom struct {
	b       []byte
	entries []entry
	i       int
	cur     *entry
}

// entry is one parsed line. For a series, [a, b) is the series text (name
// and braces) and [c, b) the braces' content; for HELP and TYPE, [a, b) is the
// metric name and [c, d) the text.
type entry struct {
	kind       upstream.Entry
	a, b, c, d int32
	v          float64
	t          int64
	hasT       bool
	// mtype is the type of the last TYPE line before this entry, which the
	// upstream parser uses to normalise le and quantile label values.
	mtype model.MetricType
}

// Reset prepares p to iterate page b and reports whether b is in the subset
// this parser handles; if not, parse b with the upstream parser instead. b
// must not change while p uses it.
func (p *Prom) Reset(b []byte) bool {
	p.b, p.entries, p.i, p.cur = b, p.entries[:0], 0, nil
	if len(b) > math.MaxInt32 {
		return false
	}
	mtype := model.MetricTypeUnknown
	for pos := 0; pos < len(b); {
		end := bytes.IndexByte(b[pos:], '\n')
		if end < 0 {
			end = len(b)
		} else {
			end += pos
		}
		line := b[pos:end]
		var e entry
		var ok bool
		switch {
		case len(line) == 0:
			pos = end + 1
			continue
		case line[0] == '#':
			e, ok = p.comment(pos, line)
			if ok && e.kind == upstream.EntryType {
				mtype = metricType(b[e.c:e.d])
			}
		default:
			e, ok = p.sample(pos, line)
		}
		if !ok {
			return false
		}
		e.mtype = mtype
		p.entries = append(p.entries, e)
		pos = end + 1
	}
	return true
}

func isNameStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == ':'
}
func isNameChar(c byte) bool { return isNameStart(c) || c >= '0' && c <= '9' }
func isLabelStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
}
func isLabelChar(c byte) bool { return isLabelStart(c) || c >= '0' && c <= '9' }

// name returns the length of the metric name at the start of s.
func name(s []byte) int {
	if len(s) == 0 || !isNameStart(s[0]) {
		return 0
	}
	i := 1
	for i < len(s) && isNameChar(s[i]) {
		i++
	}
	return i
}

// comment handles a line starting with '#': HELP and TYPE in their exact
// form; any other comment is handed to the upstream parser (it is rare, and
// the upstream rules for what follows '#' are subtle).
func (p *Prom) comment(pos int, line []byte) (entry, bool) {
	var e entry
	switch {
	case bytes.HasPrefix(line, []byte("# HELP ")):
		e.kind = upstream.EntryHelp
	case bytes.HasPrefix(line, []byte("# TYPE ")):
		e.kind = upstream.EntryType
	default:
		return e, false
	}
	rest := line[7:]
	n := name(rest)
	if n == 0 {
		return e, false
	}
	e.a, e.b = int32(pos+7), int32(pos+7+n)
	rest = rest[n:]
	switch {
	case len(rest) == 0:
		e.c, e.d = e.b, e.b
	case rest[0] == ' ':
		e.c, e.d = e.b+1, int32(pos+len(line))
	default:
		return e, false
	}
	text := p.b[e.c:e.d]
	if bytes.IndexByte(text, '\r') >= 0 || !utf8.Valid(text) {
		return e, false
	}
	if e.kind == upstream.EntryType {
		switch string(text) {
		case "counter", "gauge", "histogram", "summary", "untyped":
		default:
			return e, false
		}
	} else if len(text) > 0 && (text[0] == ' ' || text[0] == '\t') {
		// The upstream lexer keeps leading blanks of help text in a way
		// that is easier to leave to it.
		return e, false
	}
	return e, true
}

// sample handles a sample line: name, optional labels, value, optional
// timestamp, single spaces between them.
func (p *Prom) sample(pos int, line []byte) (entry, bool) {
	e := entry{kind: upstream.EntrySeries, a: int32(pos)}
	n := name(line)
	if n == 0 {
		return e, false
	}
	i := n
	if i < len(line) && line[i] == '{' {
		e.c = int32(pos + i + 1)
		j, ok := labelsEnd(line, i+1)
		if !ok {
			return e, false
		}
		i = j
	}
	e.b = int32(pos + i)
	if i >= len(line) || line[i] != ' ' {
		return e, false
	}
	i++
	vEnd := i
	for vEnd < len(line) && line[vEnd] != ' ' {
		vEnd++
	}
	if vEnd == i {
		return e, false
	}
	vs := line[i:vEnd]
	for _, c := range vs {
		if c == 'p' || c == 'P' || c == '_' || c == '\t' || c == '\r' {
			return e, false
		}
	}
	v, err := strconv.ParseFloat(unsafe.String(unsafe.SliceData(vs), len(vs)), 64)
	if err != nil {
		return e, false
	}
	if math.IsNaN(v) {
		v = math.Float64frombits(value.NormalNaN)
	}
	e.v = v
	if vEnd == len(line) {
		return e, true
	}
	ts := line[vEnd+1:]
	if len(ts) == 0 {
		return e, false
	}
	for _, c := range ts {
		if c < '0' || c > '9' { // The upstream lexer takes digits only.
			return e, false
		}
	}
	t, err := strconv.ParseInt(unsafe.String(unsafe.SliceData(ts), len(ts)), 10, 64)
	if err != nil {
		return e, false
	}
	e.t, e.hasT = t, true
	return e, true
}

// labelsEnd checks `name="value",...}` starting at i and returns the index
// after the closing brace.
func labelsEnd(line []byte, i int) (int, bool) {
	if i < len(line) && line[i] == '}' {
		return i + 1, true
	}
	for {
		if i >= len(line) || !isLabelStart(line[i]) {
			return 0, false
		}
		i++
		for i < len(line) && isLabelChar(line[i]) {
			i++
		}
		if i+1 >= len(line) || line[i] != '=' || line[i+1] != '"' {
			return 0, false
		}
		i += 2
		start := i
		for {
			if i >= len(line) {
				return 0, false
			}
			c := line[i]
			if c == '"' {
				break
			}
			if c == '\\' {
				if i+1 >= len(line) {
					return 0, false
				}
				switch line[i+1] {
				case '\\', '"', 'n':
				default:
					return 0, false
				}
				i += 2
				continue
			}
			i++
		}
		if !utf8.Valid(line[start:i]) {
			return 0, false
		}
		i++ // closing quote
		if i >= len(line) {
			return 0, false
		}
		switch line[i] {
		case '}':
			return i + 1, true
		case ',':
			i++
			if i < len(line) && line[i] == '}' {
				return i + 1, true // A trailing comma, as the upstream parser allows.
			}
		default:
			return 0, false
		}
	}
}

// Next advances to the next entry; it returns io.EOF at the end.
func (p *Prom) Next() (upstream.Entry, error) {
	if p.i >= len(p.entries) {
		p.cur = nil
		return upstream.EntryInvalid, io.EOF
	}
	p.cur = &p.entries[p.i]
	p.i++
	return p.cur.kind, nil
}

// Series returns the series text, timestamp (nil if none) and value of the
// current sample.
func (p *Prom) Series() ([]byte, *int64, float64) {
	e := p.cur
	if e.hasT {
		return p.b[e.a:e.b], &e.t, e.v
	}
	return p.b[e.a:e.b], nil, e.v
}

// Help returns the metric name and (unescaped) help text of a HELP entry.
func (p *Prom) Help() ([]byte, []byte) {
	e := p.cur
	text := p.b[e.c:e.d]
	if bytes.IndexByte(text, '\\') >= 0 {
		return p.b[e.a:e.b], []byte(helpReplacer.Replace(string(text)))
	}
	return p.b[e.a:e.b], text
}

// Type returns the metric name and type of a TYPE entry.
func (p *Prom) Type() ([]byte, model.MetricType) {
	e := p.cur
	return p.b[e.a:e.b], metricType(p.b[e.c:e.d])
}

// metricType maps a TYPE line's word to its constant without allocating.
func metricType(b []byte) model.MetricType {
	switch string(b) {
	case "counter":
		return model.MetricTypeCounter
	case "gauge":
		return model.MetricTypeGauge
	case "histogram":
		return model.MetricTypeHistogram
	case "summary":
		return model.MetricTypeSummary
	}
	return model.MetricTypeUnknown
}

// Unit is part of the parser interface; the text format has no units.
func (p *Prom) Unit() ([]byte, []byte) { return nil, nil }

// Labels builds the label set of the current sample.
func (p *Prom) Labels(b *labels.ScratchBuilder, l *labels.Labels) {
	e := p.cur
	s := string(p.b[e.a:e.b]) // A copy: labels must not point into the page.
	b.Reset()
	nameEnd := name([]byte(s))
	b.Add(labels.MetricName, s[:nameEnd])
	if e.c != 0 {
		in := s[int(e.c-e.a) : len(s)-1]
		for len(in) > 0 {
			eq := strings.IndexByte(in, '=')
			lname := in[:eq]
			in = in[eq+2:]
			k := 0
			escaped := false
			for in[k] != '"' {
				if in[k] == '\\' {
					escaped = true
					k++
				}
				k++
			}
			lvalue := in[:k]
			if escaped {
				lvalue = lvalReplacer.Replace(lvalue)
			}
			b.Add(lname, normalizeFloat(e.mtype, lname, lvalue))
			in = in[k+1:]
			if len(in) > 0 && in[0] == ',' {
				in = in[1:]
			}
		}
	}
	b.Sort()
	*l = b.Labels()
}

var (
	lvalReplacer = strings.NewReplacer(`\"`, "\"", `\\`, "\\", `\n`, "\n")
	helpReplacer = strings.NewReplacer(`\\`, "\\", `\n`, "\n")
)

// normalizeFloat writes le and quantile values of histograms and summaries
// in one canonical float form, as the upstream parser does.
func normalizeFloat(t model.MetricType, name, v string) string {
	if (t == model.MetricTypeSummary && name == model.QuantileLabel) || (t == model.MetricTypeHistogram && name == model.BucketLabel) {
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return labels.FormatOpenMetricsFloat(f)
		}
	}
	return v
}
