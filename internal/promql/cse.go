package promql

import (
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/util/stats"
)

// Shared inputs of instant aggregations. A query such as
//
//	sum by (job, code) (rate(x[5m])) / ignoring (code) group_left sum by (job) (rate(x[5m]))
//
// aggregates the same expression twice. Evaluated at one time (an instant
// query, or a rule), the first aggregation keeps a copy of its input
// series (labels and one point each) and the second streams that copy
// instead of selecting and decoding the same series again. A range query's
// copy would hold every step of every series, so range queries evaluate
// each occurrence on its own, as do occurrences whose evaluation added an
// annotation (it names its own position in the query, which a copy would
// not repeat).

// sharedInputs are the inputs of a query's streamed aggregations that occur
// more than once, and their copies once evaluated.
type sharedInputs struct {
	keys   map[parser.Expr]string // aggregation input node → its text
	copies map[sharedKey]*sharedCopy
}

// sharedKey names an input evaluated at one time into one statistics
// record (a subquery's evaluation counts into its own).
type sharedKey struct {
	expr  string
	at    int64
	stats *stats.QuerySamples
}

// sharedCopy is an evaluated input and what evaluating it counted in the
// query's statistics, counted again at each use as upstream counts it.
type sharedCopy struct {
	m                    Matrix
	total, read, nSeries int64
}

// findSharedInputs returns the streamed aggregations' inputs that occur more
// than once in expr, or nil if none does.
func findSharedInputs(expr parser.Expr) *sharedInputs {
	nodes := map[string][]parser.Expr{}
	parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
		if a, ok := n.(*parser.AggregateExpr); ok && streamedAggregation(a.Op) {
			s := a.Expr.String()
			nodes[s] = append(nodes[s], a.Expr)
		}
		return nil
	})
	var sh *sharedInputs
	for s, ns := range nodes {
		if len(ns) < 2 {
			continue
		}
		if sh == nil {
			sh = &sharedInputs{keys: map[parser.Expr]string{}, copies: map[sharedKey]*sharedCopy{}}
		}
		for _, n := range ns {
			sh.keys[n] = s
		}
	}
	return sh
}

// streamedAggregation reports whether aggregateStream evaluates op.
func streamedAggregation(op parser.ItemType) bool {
	switch op {
	case parser.SUM, parser.AVG, parser.COUNT, parser.GROUP, parser.MIN, parser.MAX, parser.STDDEV, parser.STDVAR:
		return true
	}
	return false
}

// streamInput is stream for an aggregation's input, sharing the evaluation
// of an input the query aggregates more than once at a single time.
func (ev *evaluator) streamInput(expr parser.Expr, emit func(*Series)) {
	sh := ev.shared
	key, ok := "", false
	if sh != nil && ev.steps == 1 {
		key, ok = sh.keys[expr]
	}
	if !ok {
		ev.stream(expr, emit)
		return
	}
	k := sharedKey{expr: key, at: ev.start, stats: ev.stats}
	st := ev.stats
	if c, ok := sh.copies[k]; ok {
		st.TotalSamples += c.total
		st.SamplesRead += c.read
		st.TotalSeries += c.nSeries
		if st.TotalSamplesPerStep != nil {
			st.TotalSamplesPerStep[0] += c.total
			st.SamplesReadPerStep[0] += c.read
		}
		for i := range c.m {
			emit(&c.m[i])
		}
		return
	}
	total, read, nSeries, annos := st.TotalSamples, st.SamplesRead, st.TotalSeries, len(*ev.annos)
	var m Matrix
	arena := &ev.bufs.points
	ev.stream(expr, func(s *Series) {
		pts := arena.start(len(s.Floats))
		pts = append(pts, s.Floats...)
		ev.account(len(pts))
		// The labels may be the storage's reused memory: a copy.
		m = append(m, Series{Metric: s.Metric.Copy(), Floats: arena.finish(pts), DropName: s.DropName})
		emit(s)
	})
	if len(*ev.annos) != annos {
		return
	}
	sh.copies[k] = &sharedCopy{m: m, total: st.TotalSamples - total, read: st.SamplesRead - read, nSeries: st.TotalSeries - nSeries}
}
