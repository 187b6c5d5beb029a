package api

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/argus-mon/argus/internal/promql"
)

// gridMediaType is argus's own encoding of a range query's matrix, which
// its web UI asks for in the Accept header. A range query's points lie on
// its step grid, so the grid encoding writes the start and step once and
// each series as its labels, the index of its first step and one JSON
// number per step from there ("NaN", "+Inf" and "-Inf" as strings, null
// for a step without a point) instead of [time, "value"] pairs: about
// half the bytes for values with all their digits, a third for short
// ones, and no string to parse per point in the browser.
//
// Negotiating by media type is how Prometheus's API chooses among its
// codecs: a client that does not name this type (Grafana, promtool, the
// client libraries) gets the standard JSON, byte for byte.
const gridMediaType = "application/vnd.argus.grid+json"

// acceptsGrid reports whether an Accept header names the grid encoding
// with a non-zero quality.
func acceptsGrid(header string) bool {
	for part := range strings.SplitSeq(header, ",") {
		typ, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(typ), gridMediaType) {
			continue
		}
		for p := range strings.SplitSeq(params, ";") {
			if q, ok := strings.CutPrefix(strings.ReplaceAll(p, " ", ""), "q="); ok {
				return strings.Trim(q, "0.") != ""
			}
		}
		return true
	}
	return false
}

// gridData is the data of a range query answer in the grid encoding:
// point i of a series with offset k is at start + (k+i)·step.
type gridData struct {
	ResultType parser.ValueType   `json:"resultType"`
	Start      gridTime           `json:"start"`
	Step       gridTime           `json:"step"`
	Result     json.Marshaler     `json:"result"`
	Stats      *promql.QueryStats `json:"stats,omitempty"`
}

// gridTime is milliseconds written as seconds, as Prometheus writes times.
type gridTime int64

func (t gridTime) MarshalJSON() ([]byte, error) { return appendTimestamp(nil, int64(t)), nil }

type gridMatrix struct {
	m             promql.Matrix
	start, stepMs int64
}

// toGrid re-encodes a range query's answer on its step grid. It leaves
// the answer as it is (false) when it is not a matrix, or a point lies
// off the grid or on a step another point of its series has: argus's
// engine produces neither, but the standard encoding could say them.
func toGrid(res result, start time.Time, step time.Duration) (result, bool) {
	d, ok := res.data.(queryData)
	if !ok || res.err != nil {
		return res, false
	}
	stepMs := step.Milliseconds()
	if stepMs <= 0 || time.Duration(stepMs)*time.Millisecond != step {
		return res, false
	}
	startMs := start.UnixMilli()
	if g, ok := d.Result.v.(promql.Grid); ok && g.Start == startMs && g.Interval == stepMs {
		res.data = gridData{ResultType: d.ResultType, Start: gridTime(startMs), Step: gridTime(stepMs), Result: engineGrid{g}, Stats: d.Stats}
		res.contentType = gridMediaType
		return res, true
	}
	m, ok := d.Result.v.(promql.Matrix)
	if !ok {
		return res, false
	}
	for _, s := range m {
		prev := startMs - 1
		for _, p := range s.Floats {
			if p.T <= prev || (p.T-startMs)%stepMs != 0 {
				return res, false
			}
			prev = p.T
		}
	}
	res.data = gridData{ResultType: d.ResultType, Start: gridTime(startMs), Step: gridTime(stepMs), Result: gridMatrix{m, startMs, stepMs}, Stats: d.Stats}
	res.contentType = gridMediaType
	return res, true
}

func (g gridMatrix) MarshalJSON() ([]byte, error) {
	b := []byte{'['}
	for i, s := range g.m {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"metric":`...)
		b = appendLabels(b, s.Metric)
		// The series' steps from its first point to its last: a series
		// that exists for a short part of a long range (a restarted pod's)
		// costs no more than in the standard encoding.
		var first int64
		if len(s.Floats) > 0 {
			first = (s.Floats[0].T - g.start) / g.stepMs
		}
		b = append(b, `,"offset":`...)
		b = strconv.AppendInt(b, first, 10)
		b = append(b, `,"grid":[`...)
		// toGrid checked that the points are on the grid, in time order,
		// one per step at most.
		next := first
		for _, p := range s.Floats {
			k := (p.T - g.start) / g.stepMs
			for ; next < k; next++ {
				if next > first {
					b = append(b, ',')
				}
				b = append(b, "null"...)
			}
			if k > first {
				b = append(b, ',')
			}
			b = appendGridFloat(b, p.F)
			next = k + 1
		}
		b = append(b, "]}"...)
	}
	return append(b, ']'), nil
}

// engineGrid is an answer the engine wrote on the grid already: its
// series' steps are the encoding's.
type engineGrid struct{ g promql.Grid }

func (e engineGrid) MarshalJSON() ([]byte, error) {
	b := []byte{'['}
	for i, s := range e.g.Series {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"metric":`...)
		b = appendLabels(b, s.Metric)
		b = append(b, `,"offset":`...)
		b = strconv.AppendInt(b, int64(s.First), 10)
		b = append(b, `,"grid":[`...)
		for j, v := range s.Values {
			if j > 0 {
				b = append(b, ',')
			}
			// An absent step is a staleness marker: a gap.
			b = appendGridFloat(b, v)
		}
		b = append(b, "]}"...)
	}
	return append(b, ']'), nil
}

// appendGridFloat writes a value as a JSON number; NaN and the infinities,
// which JSON has no number for, as Prometheus's strings, and a staleness
// marker (never part of a query's answer) as a gap.
func appendGridFloat(b []byte, f float64) []byte {
	switch {
	case value.IsStaleNaN(f):
		return append(b, "null"...)
	case math.IsNaN(f), math.IsInf(f, 0):
		b = append(b, '"')
		b = appendFloat(b, f)
		return append(b, '"')
	}
	return appendFloat(b, f)
}
