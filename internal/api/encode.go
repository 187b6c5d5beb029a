package api

import (
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/argus-mon/argus/internal/promql"
)

// queryValue encodes a PromQL result as Prometheus's API does: timestamps as
// Unix seconds with milliseconds, sample values as strings ("NaN", "+Inf"),
// series as {"metric": {...}, "value": [t, "v"]} or "values": [[t, "v"], ...].
// It writes the bytes directly: a dashboard's range query can hold hundreds
// of thousands of points, and encoding/json's reflection on them costs more
// than evaluating the query.
type queryValue struct{ v parser.Value }

func (q queryValue) MarshalJSON() ([]byte, error) { return appendValue(nil, q.v) }

func appendValue(b []byte, v parser.Value) ([]byte, error) {
	switch v := v.(type) {
	case promql.Vector:
		b = append(b, '[')
		for i, s := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"metric":`...)
			b = appendLabels(b, s.Metric)
			b = append(b, `,"value":`...)
			b = appendPoint(b, s.T, s.F)
			b = append(b, '}')
		}
		return append(b, ']'), nil
	case promql.Matrix:
		b = append(b, '[')
		for i, s := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"metric":`...)
			b = appendLabels(b, s.Metric)
			b = append(b, `,"values":[`...)
			for j, p := range s.Floats {
				if j > 0 {
					b = append(b, ',')
				}
				b = appendPoint(b, p.T, p.F)
			}
			b = append(b, "]}"...)
		}
		return append(b, ']'), nil
	case promql.Grid:
		b = append(b, '[')
		for i, s := range v.Series {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"metric":`...)
			b = appendLabels(b, s.Metric)
			b = append(b, `,"values":[`...)
			j := 0
			for t, f := range v.Points(i) {
				if j > 0 {
					b = append(b, ',')
				}
				b = appendPoint(b, t, f)
				j++
			}
			b = append(b, "]}"...)
		}
		return append(b, ']'), nil
	case promql.Scalar:
		return appendPoint(b, v.T, v.V), nil
	case promql.String:
		b = append(b, '[')
		b = appendTimestamp(b, v.T)
		b = append(b, ',')
		b = appendString(b, v.V)
		return append(b, ']'), nil
	}
	return nil, fmt.Errorf("cannot encode a query result of type %T", v)
}

// appendPoint writes [t, "v"].
func appendPoint(b []byte, t int64, f float64) []byte {
	b = append(b, '[')
	b = appendTimestamp(b, t)
	b = append(b, ',', '"')
	b = appendFloat(b, f)
	return append(b, '"', ']')
}

// appendTimestamp writes milliseconds as seconds with the fraction in three
// digits when there is one (1700000000.5 is "1700000000.500"), as
// Prometheus does.
func appendTimestamp(b []byte, t int64) []byte {
	if t < 0 {
		b = append(b, '-')
		t = -t
	}
	b = strconv.AppendInt(b, t/1000, 10)
	if frac := t % 1000; frac != 0 {
		b = append(b, '.', byte('0'+frac/100), byte('0'+frac/10%10), byte('0'+frac%10))
	}
	return b
}

// appendFloat formats like Prometheus: shortest representation, exponent
// only for very small or very large magnitudes, "NaN", "+Inf", "-Inf".
func appendFloat(b []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	return strconv.AppendFloat(b, f, format, -1, 64)
}

func appendLabels(b []byte, ls labels.Labels) []byte {
	b = append(b, '{')
	first := true
	ls.Range(func(l labels.Label) {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendString(b, l.Name)
		b = append(b, ':')
		b = appendString(b, l.Value)
	})
	return append(b, '}')
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string with encoding/json's escaping
// (HTML characters and U+2028/U+2029 escaped, invalid UTF-8 replaced), which
// is what Prometheus's encoder produces too.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
