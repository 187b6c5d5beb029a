package promql

import (
	"iter"
	"math"
	"slices"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/schema"
)

// Grid is a range query's result written on its step grid: every point of
// a range query lies on a step, so a series is its values alone, one per
// step, without a timestamp each. That is half the memory of a Matrix's
// points.
//
// A range query whose top-level expression produces its series one at a
// time (a selector, or a range function such as rate or max_over_time)
// answers with a Grid; other range queries answer with a Matrix. Both
// have the matrix value type.
type Grid struct {
	// Start is the time of the first step and Interval the time between
	// two steps, in milliseconds.
	Start, Interval int64
	Series          []GridSeries
}

// GridSeries is one series of a Grid. Values[i] is the value at step
// First+i, or Absent when the series has no point there. The first and
// the last value are present.
type GridSeries struct {
	Metric labels.Labels
	First  int
	Values []float64
}

// Absent marks a step at which a GridSeries has no point. It is
// Prometheus's staleness marker, the one value a query's answer never
// holds: selectors skip it when they read, and arithmetic on it gives a
// different NaN.
var Absent = math.Float64frombits(value.StaleNaN)

// IsAbsent reports whether v marks a step without a point.
func IsAbsent(v float64) bool { return value.IsStaleNaN(v) }

// Type implements parser.Value.
func (Grid) Type() parser.ValueType { return parser.ValueTypeMatrix }

// Points returns the timestamps and values of the points of series i.
func (g Grid) Points(i int) iter.Seq2[int64, float64] {
	s := g.Series[i]
	return func(yield func(int64, float64) bool) {
		t := g.Start + int64(s.First)*g.Interval
		for _, v := range s.Values {
			if !IsAbsent(v) && !yield(t, v) {
				return
			}
			t += g.Interval
		}
	}
}

// Matrix returns g's series as a Matrix, in newly allocated memory.
func (g Grid) Matrix() Matrix {
	m := make(Matrix, len(g.Series))
	for i, s := range g.Series {
		pts := make([]FPoint, 0, len(s.Values))
		for t, v := range g.Points(i) {
			pts = append(pts, FPoint{T: t, F: v})
		}
		m[i] = Series{Metric: s.Metric, Floats: pts}
	}
	return m
}

func (g Grid) String() string {
	parts := make([]string, len(g.Series))
	for i := range g.Series {
		var b strings.Builder
		b.WriteString(g.Series[i].Metric.String())
		b.WriteString(" =>")
		for t, v := range g.Points(i) {
			b.WriteString("\n")
			b.WriteString(FPoint{T: t, F: v}.String())
		}
		parts[i] = b.String()
	}
	return strings.Join(parts, "\n")
}

func (g Grid) Len() int { return len(g.Series) }
func (g Grid) Less(i, j int) bool {
	return labels.Compare(g.Series[i].Metric, g.Series[j].Metric) < 0
}
func (g Grid) Swap(i, j int) { g.Series[i], g.Series[j] = g.Series[j], g.Series[i] }

// gridSeries writes the points of s, which lie on ev's steps, as a
// GridSeries in the query's memory.
func (ev *evaluator) gridSeries(s *Series) GridSeries {
	first := ev.stepOf(s.Floats[0].T)
	n := ev.stepOf(s.Floats[len(s.Floats)-1].T) - first + 1
	vals := ev.bufs.floats.take(n)[:n]
	if len(s.Floats) < n {
		for i := range vals {
			vals[i] = Absent
		}
	}
	for _, p := range s.Floats {
		v := p.F
		if IsAbsent(v) {
			// Not produced by evaluation (see Absent); kept a point.
			v = math.NaN()
		}
		vals[ev.stepOf(p.T)-first] = v
	}
	return GridSeries{Metric: s.Metric, First: first, Values: vals}
}

// runStreamed evaluates the top-level expression straight into the
// query's answer when it produces its series one at a time (a selector or
// a range function): a Grid for a range query, a Vector for an instant
// one. The answer then never exists as a Matrix too. It reports false,
// having evaluated nothing, for other expressions.
func (ev *evaluator) runStreamed(expr parser.Expr, instant bool) (parser.Value, bool) {
	var (
		vec     Vector
		g       = Grid{Start: ev.start, Interval: ev.interval}
		dropped bool
	)
	ok := ev.streamNode(expr, true, func(s *Series) {
		if len(s.Floats) == 0 {
			return
		}
		ev.account(len(s.Floats))
		// Names still marked (delayed removal, or a function's) go now,
		// as run does for a Matrix.
		lbls := s.Metric
		if s.DropName {
			lbls = lbls.DropReserved(schema.IsMetadataLabel)
			dropped = true
		}
		if instant {
			vec = append(vec, Sample{Metric: lbls, T: s.Floats[0].T, F: s.Floats[0].F})
			return
		}
		gs := ev.gridSeries(s)
		gs.Metric = lbls
		g.Series = append(g.Series, gs)
	})
	if !ok {
		return nil, false
	}
	if instant {
		if dropped && ev.sameLabels(len(vec), func(i int) labels.Labels { return vec[i].Metric }) {
			ev.errorf("vector cannot contain metrics with the same labelset")
		}
		return vec, true
	}
	if dropped && ev.sameLabels(len(g.Series), func(i int) labels.Labels { return g.Series[i].Metric }) {
		// Series that became identical merge, or fail the query where
		// they share a step; rare enough to do on a Matrix.
		return ev.mergeSameLabels(g.Matrix()), true
	}
	return g, true
}

// sameLabels reports whether two of n label sets have the same hash, as
// mergeSameLabels compares them, sorting the hashes in reused memory.
func (ev *evaluator) sameLabels(n int, at func(int) labels.Labels) bool {
	hs := slices.Grow(ev.bufs.hashes[:0], n)
	for i := range n {
		hs = append(hs, at(i).Hash())
	}
	slices.Sort(hs)
	ev.bufs.hashes = hs
	for i := 1; i < len(hs); i++ {
		if hs[i] == hs[i-1] {
			return true
		}
	}
	return false
}
