package loadgen

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"
)

// templateSample is one float sample line of the template scrape.
type templateSample struct {
	lset   labels.Labels
	family int // index into the template's families
	v      float64
}

// family is one metric family of the template, in template order.
type family struct {
	name string
	typ  model.MetricType
}

// template is a parsed exposition-format scrape.
type template struct {
	families []family
	samples  []templateSample
	// uptime is how long the scraped process or host had been running, in
	// seconds; counters grow at their template value divided by it.
	uptime float64
}

// defaultUptime is assumed when the template does not tell how long its host
// has been up, so counter rates stay plausible for a custom template.
const defaultUptime = 3600.0

// parseTemplate reads a Prometheus text exposition. Every sample line becomes
// a series: classic histogram and summary lines are plain float series, as
// they are in storage.
func parseTemplate(b []byte) (*template, error) {
	p := textparse.NewPromParser(b, labels.NewSymbolTable(), false)
	tpl := &template{}
	cur := -1
	var bootTime, nowTime float64
	for {
		et, err := p.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("parse template: %w", err)
		}
		switch et {
		case textparse.EntryType:
			name, typ := p.Type()
			tpl.families = append(tpl.families, family{name: string(name), typ: typ})
			cur = len(tpl.families) - 1
		case textparse.EntrySeries:
			_, _, v := p.Series()
			var lset labels.Labels
			p.Labels(&lset)
			name := lset.Get(labels.MetricName)
			if cur < 0 || !belongsTo(name, tpl.families[cur]) {
				// An untyped sample without a TYPE line starts its own family.
				tpl.families = append(tpl.families, family{name: name, typ: model.MetricTypeUnknown})
				cur = len(tpl.families) - 1
			}
			switch name {
			case "node_boot_time_seconds":
				bootTime = v
			case "node_time_seconds":
				nowTime = v
			}
			tpl.samples = append(tpl.samples, templateSample{lset: lset, family: cur, v: v})
		default:
			// HELP, UNIT and comments carry nothing the generator needs.
		}
	}
	if len(tpl.samples) == 0 {
		return nil, errors.New("parse template: no samples")
	}
	tpl.uptime = defaultUptime
	if up := nowTime - bootTime; bootTime > 0 && up >= 1 {
		tpl.uptime = up
	}
	return tpl, nil
}

// belongsTo reports whether a sample named name is part of family f.
func belongsTo(name string, f family) bool {
	if name == f.name {
		return true
	}
	if f.typ != model.MetricTypeHistogram && f.typ != model.MetricTypeSummary {
		return false
	}
	suffix, ok := strings.CutPrefix(name, f.name)
	return ok && (suffix == "_sum" || suffix == "_count" || suffix == "_bucket")
}

// isCounterLike reports whether a sample only ever grows: counters, and the
// _total, _count, _sum and _bucket lines of any family.
func isCounterLike(name string, f family) bool {
	if f.typ == model.MetricTypeCounter {
		return true
	}
	for _, s := range []string{"_total", "_count", "_sum", "_bucket"} {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

// maxExactInt bounds mantissas so that float64(m) is exact.
const maxExactInt = 1 << 53

// minExp keeps tiny template values representable; anything smaller starts
// at zero.
const minExp = -300

// decimal describes how a series' value is computed from its integer state m.
type decimal struct {
	// exp is the decimal exponent: value = m × 10^exp.
	exp int
	// mul computes a negative exponent as m × float64(10^exp) instead of
	// m / 10^-exp. Exporters that turn milliseconds into seconds with
	// "× 0.001" produce values like 12.104000000000001, which only this
	// form reproduces; real data has them, so the generator must too.
	mul bool
}

// value returns the float for mantissa m.
func (d decimal) value(m int64) float64 {
	switch {
	case d.exp >= 0:
		return float64(m) * math.Pow10(d.exp)
	case d.mul:
		return float64(m) * (1 / math.Pow10(-d.exp))
	default:
		return float64(m) / math.Pow10(-d.exp)
	}
}

// decompose finds the integer state and decimal form that reproduce v
// exactly, preferring the fewest digits. Values with more than 15
// significant digits that no exact form reproduces are rounded to 15, which
// only changes the template's starting point, not the shape of the data.
func decompose(v float64) (int64, decimal) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		// Such a series starts at zero: a value that never changes would break
		// the every-series-changes rule.
		return 0, decimal{}
	}
	if v == math.Trunc(v) && math.Abs(v) < maxExactInt {
		return int64(v), decimal{}
	}
	m, exp := shortest(v, -1)
	if exp < minExp {
		return 0, decimal{exp: minExp}
	}
	if digits(m) <= 15 {
		return m, decimal{exp: exp}
	}
	for k := 1; k < 10; k++ {
		mm := math.Round(v * math.Pow10(k))
		if math.Abs(mm) < maxExactInt && (decimal{exp: -k, mul: true}).value(int64(mm)) == v {
			return int64(mm), decimal{exp: -k, mul: true}
		}
	}
	m, exp = shortest(v, 14)
	return m, decimal{exp: exp}
}

// shortest returns v as m × 10^exp with prec+1 significant digits (-1: the
// fewest that round-trip), with trailing zeros of m removed.
func shortest(v float64, prec int) (int64, int) {
	s := strconv.FormatFloat(v, 'e', prec, 64)
	mant, expStr, _ := strings.Cut(s, "e")
	exp, _ := strconv.Atoi(expStr)
	intPart, frac, _ := strings.Cut(mant, ".")
	frac = strings.TrimRight(frac, "0")
	m, _ := strconv.ParseInt(intPart+frac, 10, 64)
	return m, exp - len(frac)
}

// digits returns the number of decimal digits of |m|.
func digits(m int64) int {
	if m < 0 {
		m = -m
	}
	n := 1
	for m >= 10 {
		m /= 10
		n++
	}
	return n
}
