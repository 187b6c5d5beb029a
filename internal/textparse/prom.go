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
	a, b, c, d int32
	v          float64
	t          int64
	kind       uint8 // an upstream.Entry
	hasT       bool
	// known marks a HELP or TYPE line identical to the memo's (see Memo).
	known bool
	// mtype is the type of the last TYPE line before this entry, which the
	// upstream parser uses to normalise le and quantile label values.
	mtype uint8 // a metricTypes index
}

// metricTypes are the types a TYPE line can give, indexed by entry.mtype.
var metricTypes = [...]model.MetricType{model.MetricTypeUnknown, model.MetricTypeCounter, model.MetricTypeGauge,
	model.MetricTypeHistogram, model.MetricTypeSummary}

// Reset prepares p to iterate page b and reports whether b is in the subset
// this parser handles; if not, parse b with the upstream parser instead. b
// must not change while p uses it.
func (p *Prom) Reset(b []byte) bool { return p.ResetMemo(b, nil) }

// ResetMemo is Reset with the memo of the target b comes from: HELP and TYPE
// lines equal to the last page's at the same position are recognised with one
// comparison and reported by Known, and m is updated to b's lines. m may be
// nil.
func (p *Prom) ResetMemo(b []byte, m *Memo) bool {
	p.b, p.entries, p.i, p.cur = b, p.entries[:0], 0, nil
	if m != nil {
		m.begin()
	}
	ordered := true
	if len(b) > math.MaxInt32 || !p.parse(b, m, &ordered) {
		if m != nil {
			m.Clear()
		}
		return false
	}
	if m != nil {
		if ordered {
			m.commit()
		} else {
			m.Clear()
		}
	}
	return true
}

// parse fills p.entries from b. ordered is cleared when a HELP or TYPE line
// does not name a later family than the one before it of its kind (what
// exporters write): a line may then repeat an earlier one's family, and
// lines equal to the memo's are no longer reported Known, since an earlier
// line of this page may have changed that family.
func (p *Prom) parse(b []byte, m *Memo, ordered *bool) bool {
	mtype := uint8(0)
	comments := 0
	var lastHelp, lastType []byte
	for pos := 0; pos < len(b); {
		end := bytes.IndexByte(b[pos:], '\n')
		if end < 0 {
			end = len(b)
		} else {
			end += pos
		}
		line := b[pos:end]
		if len(line) == 0 {
			pos = end + 1
			continue
		}
		// Entries are filled in place: they are too big to copy around.
		p.entries = append(p.entries, entry{})
		e := &p.entries[len(p.entries)-1]
		if line[0] == '#' {
			if *ordered && m != nil && m.same(comments, line) {
				sp := m.spans[comments]
				e.kind, e.known = sp.kind, true
				e.a, e.b, e.c, e.d = int32(pos+7), int32(pos)+sp.nameEnd, int32(pos)+sp.textStart, int32(end)
			} else if !p.comment(e, pos, line) {
				return false
			}
			if m != nil {
				m.add(line, memoSpan{kind: e.kind, nameEnd: e.b - int32(pos), textStart: e.c - int32(pos)})
			}
			comments++
			last := &lastHelp
			if e.kind == uint8(upstream.EntryType) {
				mtype = metricTypeIndex(b[e.c:e.d])
				last = &lastType
			}
			if name := b[e.a:e.b]; *last != nil && bytes.Compare(name, *last) <= 0 {
				*ordered = false
				e.known = false
			} else {
				*last = name
			}
		} else if !p.sample(e, pos, line) {
			return false
		}
		e.mtype = mtype
		pos = end + 1
	}
	return true
}

// Character classes of metric and label names, as lookup tables: the name
// loops are the parser's hottest.
const (
	classLabelStart = 1 << iota // [a-zA-Z_]
	classNameStart              // [a-zA-Z_:]
	classLabelChar              // [a-zA-Z_0-9]
	classNameChar               // [a-zA-Z_:0-9]
)

var charClass = func() (t [256]uint8) {
	for c := range 256 {
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
		digit := c >= '0' && c <= '9'
		if letter {
			t[c] |= classLabelStart | classNameStart | classLabelChar | classNameChar
		}
		if digit {
			t[c] |= classLabelChar | classNameChar
		}
		if c == ':' {
			t[c] |= classNameStart | classNameChar
		}
	}
	return t
}()

func isNameStart(c byte) bool  { return charClass[c]&classNameStart != 0 }
func isNameChar(c byte) bool   { return charClass[c]&classNameChar != 0 }
func isLabelStart(c byte) bool { return charClass[c]&classLabelStart != 0 }
func isLabelChar(c byte) bool  { return charClass[c]&classLabelChar != 0 }

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
func (p *Prom) comment(e *entry, pos int, line []byte) bool {
	switch {
	case bytes.HasPrefix(line, []byte("# HELP ")):
		e.kind = uint8(upstream.EntryHelp)
	case bytes.HasPrefix(line, []byte("# TYPE ")):
		e.kind = uint8(upstream.EntryType)
	default:
		return false
	}
	rest := line[7:]
	n := name(rest)
	if n == 0 {
		return false
	}
	e.a, e.b = int32(pos+7), int32(pos+7+n)
	rest = rest[n:]
	switch {
	case len(rest) == 0:
		e.c, e.d = e.b, e.b
	case rest[0] == ' ':
		e.c, e.d = e.b+1, int32(pos+len(line))
	default:
		return false
	}
	text := p.b[e.c:e.d]
	// The upstream lexer reads a NUL byte as the end of the input.
	if bytes.IndexByte(text, '\r') >= 0 || bytes.IndexByte(text, 0) >= 0 || !utf8.Valid(text) {
		return false
	}
	if e.kind == uint8(upstream.EntryType) {
		switch string(text) {
		case "counter", "gauge", "histogram", "summary", "untyped":
		default:
			return false
		}
	} else if len(text) > 0 && (text[0] == ' ' || text[0] == '\t') {
		// The upstream lexer keeps leading blanks of help text in a way
		// that is easier to leave to it.
		return false
	}
	return true
}

// sample handles a sample line: name, optional labels, value, optional
// timestamp, single spaces between them.
func (p *Prom) sample(e *entry, pos int, line []byte) bool {
	e.kind, e.a = uint8(upstream.EntrySeries), int32(pos)
	n := name(line)
	if n == 0 {
		return false
	}
	i := n
	if i < len(line) && line[i] == '{' {
		e.c = int32(pos + i + 1)
		j, ok := labelsEnd(line, i+1)
		if !ok {
			return false
		}
		i = j
	}
	e.b = int32(pos + i)
	if i >= len(line) || line[i] != ' ' {
		return false
	}
	i++
	vEnd := i
	for vEnd < len(line) && line[vEnd] != ' ' {
		vEnd++
	}
	if vEnd == i {
		return false
	}
	vs := line[i:vEnd]
	for _, c := range vs {
		if c == 'p' || c == 'P' || c == '_' || c == '\t' || c == '\r' {
			return false
		}
	}
	v, ok := parseDecimal(vs)
	if !ok {
		var err error
		v, err = strconv.ParseFloat(unsafe.String(unsafe.SliceData(vs), len(vs)), 64)
		if err != nil {
			return false
		}
	}
	if math.IsNaN(v) {
		v = math.Float64frombits(value.NormalNaN)
	}
	e.v = v
	if vEnd == len(line) {
		return true
	}
	ts := line[vEnd+1:]
	if len(ts) == 0 {
		return false
	}
	for _, c := range ts {
		if c < '0' || c > '9' { // The upstream lexer takes digits only.
			return false
		}
	}
	t, err := strconv.ParseInt(unsafe.String(unsafe.SliceData(ts), len(ts)), 10, 64)
	if err != nil {
		return false
	}
	e.t, e.hasT = t, true
	return true
}

// exactPow10 are the powers of ten a float64 holds exactly.
var exactPow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// parseDecimal parses the decimal numbers exporters write ("12", "0.25",
// "1.2345e+06") when their value is exact by Clinger's fast path: at most 15
// significant digits (below 2^53) times or divided by a power of ten up to
// 1e22 rounds once, so the result is strconv.ParseFloat's. Anything else
// (more digits, larger exponents, Inf, NaN) reports false for strconv to do.
func parseDecimal(s []byte) (float64, bool) {
	i := 0
	neg := false
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		neg = s[i] == '-'
		i++
	}
	var mant uint64
	digits, exp := 0, 0
	sawDigit := false
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		sawDigit = true
		if mant == 0 && s[i] == '0' {
			continue
		}
		if digits == 15 {
			return 0, false
		}
		mant = mant*10 + uint64(s[i]-'0')
		digits++
	}
	if i < len(s) && s[i] == '.' {
		for i++; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			sawDigit = true
			if mant == 0 && s[i] == '0' {
				exp--
				continue
			}
			if digits == 15 {
				return 0, false
			}
			mant = mant*10 + uint64(s[i]-'0')
			digits++
			exp--
		}
	}
	if !sawDigit {
		return 0, false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		eneg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			eneg = s[i] == '-'
			i++
		}
		if i == len(s) {
			return 0, false
		}
		e := 0
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			if e > 1000 {
				return 0, false
			}
			e = e*10 + int(s[i]-'0')
		}
		if eneg {
			e = -e
		}
		exp += e
	}
	if i != len(s) {
		return 0, false
	}
	f := float64(mant)
	if neg {
		f = -f
	}
	switch {
	case mant == 0 || exp == 0:
		return f, true
	case exp > 0 && exp < len(exactPow10):
		return f * exactPow10[exp], true
	case exp < 0 && -exp < len(exactPow10):
		return f / exactPow10[-exp], true
	}
	return 0, false
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
			if c == 0 {
				return 0, false
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
	return upstream.Entry(p.cur.kind), nil
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
	return p.b[e.a:e.b], metricTypes[metricTypeIndex(p.b[e.c:e.d])]
}

// metricTypeIndex maps a TYPE line's word to its metricTypes index without
// allocating.
func metricTypeIndex(b []byte) uint8 {
	switch string(b) {
	case "counter":
		return 1
	case "gauge":
		return 2
	case "histogram":
		return 3
	case "summary":
		return 4
	}
	return 0
}

// Known reports whether the current HELP or TYPE line is the same line, at
// the same position among the page's HELP and TYPE lines, as on the page the
// memo given to ResetMemo saw last: its metadata has not changed.
func (p *Prom) Known() bool { return p.cur != nil && p.cur.known }

// Memo remembers the HELP and TYPE lines of a target's last page. Pages repeat
// them from one scrape to the next, and comparing a line with its copy is
// cheaper than validating it again; it also tells the caller the metadata has
// not changed. A Memo belongs to one target (a Prom parses pages of any
// number of targets); the zero value is empty. The lines are kept back to
// back, so the comparisons read memory in order.
type Memo struct {
	lines, next      []byte
	ends, nextEnds   []int32
	spans, nextSpans []memoSpan
}

// memoSpan is where a remembered line's name ends and text starts.
type memoSpan struct {
	kind               uint8
	nameEnd, textStart int32
}

// Clear forgets the remembered lines: the caller did not take in the last
// page's metadata (a failed scrape), so none of it may be reported Known.
func (m *Memo) Clear() {
	m.lines, m.ends, m.spans = m.lines[:0], m.ends[:0], m.spans[:0]
	m.next, m.nextEnds, m.nextSpans = m.next[:0], m.nextEnds[:0], m.nextSpans[:0]
}

func (m *Memo) begin() {
	m.next, m.nextEnds, m.nextSpans = m.next[:0], m.nextEnds[:0], m.nextSpans[:0]
}

func (m *Memo) same(i int, line []byte) bool {
	if i >= len(m.ends) {
		return false
	}
	start := int32(0)
	if i > 0 {
		start = m.ends[i-1]
	}
	return string(m.lines[start:m.ends[i]]) == string(line)
}

func (m *Memo) add(line []byte, sp memoSpan) {
	m.next = append(m.next, line...)
	m.nextEnds = append(m.nextEnds, int32(len(m.next)))
	m.nextSpans = append(m.nextSpans, sp)
}

func (m *Memo) commit() {
	m.lines, m.next = m.next, m.lines
	m.ends, m.nextEnds = m.nextEnds, m.ends
	m.spans, m.nextSpans = m.nextSpans, m.spans
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
			b.Add(lname, normalizeFloat(metricTypes[e.mtype], lname, lvalue))
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
