package loadgen

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
)

// errSteps is returned by WriteOpenMetrics for a negative step count.
var errSteps = errors.New("loadgen: negative steps")

// WriteOpenMetrics writes the next steps scrapes of every series as an
// OpenMetrics text file, the input of `promtool tsdb
// create-blocks-from openmetrics`, and advances the generator exactly as
// steps calls to Next would. Series are grouped by metric family under a
// # TYPE line; each histogram, summary or plain series is written as a
// whole, one line per sample in time order (a histogram's lines for one
// timestamp together, as OpenMetrics requires); the file ends with # EOF.
//
// Timestamps are seconds, as OpenMetrics wants. Prometheus's parser turns
// them into milliseconds by truncating seconds×1000, so each is written
// with the digits that make that give back the exact millisecond.
//
// Memory is bounded by the largest group (one histogram's series) times
// steps, not by the whole history.
func (g *Generator) WriteOpenMetrics(w io.Writer, steps int) error {
	if steps < 0 {
		return errSteps
	}
	ts := make([]int64, steps)
	tsText := make([][]byte, steps)
	for i := range ts {
		ts[i] = g.nextTimestamp()
		b, err := appendOMTimestamp(nil, ts[i])
		if err != nil {
			return err
		}
		tsText[i] = b
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	var (
		hist []float64
		line []byte
	)
	lastFamily := -1
	for gi := range g.groups {
		gr := &g.groups[gi]
		if gr.family != lastFamily {
			lastFamily = gr.family
			line = appendTypeLine(line[:0], g.families[gr.family])
			bw.Write(line)
		}
		// Produce the group's history first: OpenMetrics wants each
		// timestamp's lines of a histogram together.
		k := len(gr.members)
		hist = hist[:0]
		for range steps {
			g.advance(gr)
			for _, m := range gr.members {
				hist = append(hist, g.value(m))
			}
		}
		for s := range steps {
			for j, m := range gr.members {
				line = appendSeries(line[:0], g.series[m])
				line = append(line, ' ')
				line = appendOMFloat(line, hist[s*k+j])
				line = append(line, ' ')
				line = append(line, tsText[s]...)
				line = append(line, '\n')
				bw.Write(line)
			}
		}
	}
	bw.WriteString("# EOF\n")
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("loadgen: write openmetrics: %w", err)
	}
	return nil
}

// appendTypeLine writes the # TYPE line of f. OpenMetrics names a counter
// family without its _total suffix; a counter whose samples lack the suffix
// cannot be expressed as one and is written as unknown.
func appendTypeLine(b []byte, f family) []byte {
	name, typ := f.name, "unknown"
	switch f.typ {
	case model.MetricTypeCounter:
		if base, ok := strings.CutSuffix(f.name, "_total"); ok {
			name, typ = base, "counter"
		}
	case model.MetricTypeGauge, model.MetricTypeHistogram, model.MetricTypeSummary:
		typ = string(f.typ)
	}
	b = append(b, "# TYPE "...)
	b = append(b, name...)
	b = append(b, ' ')
	b = append(b, typ...)
	return append(b, '\n')
}

// appendSeries writes name{label="value",...} with OpenMetrics escaping.
func appendSeries(b []byte, lset labels.Labels) []byte {
	b = append(b, lset.Get(labels.MetricName)...)
	first := true
	lset.Range(func(l labels.Label) {
		if l.Name == labels.MetricName {
			return
		}
		if first {
			b = append(b, '{')
			first = false
		} else {
			b = append(b, ',')
		}
		b = append(b, l.Name...)
		b = append(b, `="`...)
		for i := 0; i < len(l.Value); i++ {
			switch c := l.Value[i]; c {
			case '\\':
				b = append(b, `\\`...)
			case '"':
				b = append(b, `\"`...)
			case '\n':
				b = append(b, `\n`...)
			default:
				b = append(b, c)
			}
		}
		b = append(b, '"')
	})
	if !first {
		b = append(b, '}')
	}
	return b
}

// appendOMFloat writes v in the OpenMetrics number syntax.
func appendOMFloat(b []byte, v float64) []byte {
	switch {
	case math.IsNaN(v):
		return append(b, "NaN"...)
	case math.IsInf(v, 1):
		return append(b, "+Inf"...)
	case math.IsInf(v, -1):
		return append(b, "-Inf"...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

// appendOMTimestamp writes ms as seconds. The nearest float to ms/1000 can
// land a hair below the millisecond, which Prometheus's int64(s×1000) would
// truncate to the one before, so the float is nudged until the parser's own
// arithmetic gives ms back, and written with the shortest digits for it.
func appendOMTimestamp(b []byte, ms int64) ([]byte, error) {
	s := float64(ms) / 1000
	for range 64 {
		switch got := int64(s * 1000); {
		case got < ms:
			s = math.Nextafter(s, math.Inf(1))
		case got > ms:
			s = math.Nextafter(s, math.Inf(-1))
		default:
			return strconv.AppendFloat(b, s, 'f', -1, 64), nil
		}
	}
	return b, fmt.Errorf("loadgen: timestamp %d ms has no exact seconds form", ms)
}

// AppendText appends one scrape page in the Prometheus text format (0.0.4)
// with the given values (in Series order): a # HELP and # TYPE line per metric
// family, then name{labels} value per series, as an exporter serves it. The
// labels named in drop (typically instance and job, which a scraper adds) are
// left out.
func (g *Generator) AppendText(dst []byte, vals []float64, drop ...string) []byte {
	prev := ""
	for i, ls := range g.series {
		name := ls.Get(labels.MetricName)
		if name != prev {
			dst = append(dst, "# HELP "...)
			dst = append(dst, name...)
			dst = append(dst, " Generated like the node_exporter metric of this name.\n# TYPE "...)
			dst = append(dst, name...)
			dst = append(dst, " untyped\n"...)
			prev = name
		}
		dst = append(dst, name...)
		first := true
		ls.Range(func(l labels.Label) {
			if l.Name == labels.MetricName || slices.Contains(drop, l.Name) {
				return
			}
			if first {
				dst = append(dst, '{')
				first = false
			} else {
				dst = append(dst, ',')
			}
			dst = append(dst, l.Name...)
			dst = append(dst, '=')
			dst = strconv.AppendQuote(dst, l.Value)
		})
		if !first {
			dst = append(dst, '}')
		}
		dst = append(dst, ' ')
		dst = strconv.AppendFloat(dst, vals[i], 'g', -1, 64)
		dst = append(dst, '\n')
	}
	return dst
}
