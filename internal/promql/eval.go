package promql

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/schema"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/annotations"
	"github.com/prometheus/prometheus/util/stats"
)

// evalError carries an evaluation error up to evaluator.run as a panic.
type evalError struct{ err error }

// evaluator evaluates expressions over one grid of steps: start, start+interval, …, end.
// Subqueries and step-invariant expressions use child evaluators with their own grid
// that share everything else.
type evaluator struct {
	ctx                  context.Context
	start, end, interval int64
	steps                int
	lookback             int64
	querier              storage.Querier
	hints                map[*parser.VectorSelector]*storage.SelectHints
	selectedCache        map[*parser.VectorSelector][]storage.Series
	maxSamples           int
	// samples counts the points the query holds; shared by child evaluators.
	samples *sampleCount
	// stats counts the samples the evaluation consumes as Prometheus
	// counts them. Subqueries and step-invariant expressions count into
	// their own and merge them into their parent's, as upstream does.
	stats        *stats.QuerySamples
	noStepSubqFn func(int64) int64
	// delayedNames keeps __name__ on series marked DropName until run's
	// cleanup; otherwise eval removes it as soon as a node marks it.
	delayedNames bool
	logger       *slog.Logger
	annos        *annotations.Annotations
	// bufs is the query's memory, shared by child evaluators.
	bufs *evalBuffers
	// pools is where workers of a parallel read take their scratch
	// space from; nil outside an Engine's query.
	pools *enginePools
	// shared holds the inputs an instant query aggregates more than once
	// (see cse.go); nil when there are none.
	shared *sharedInputs
	// instant says the query is an instant one: run writes a streamed
	// answer as a Vector, otherwise as a Grid (see runStreamed).
	instant bool
	// metaLabels caches whether the queried storage has series with
	// __type__ or __unit__ labels: 0 not known yet, 1 no, 2 yes.
	metaLabels int8
}

func (ev *evaluator) errorf(format string, args ...any) {
	panic(evalError{fmt.Errorf(format, args...)})
}

func (ev *evaluator) fail(err error) { panic(evalError{err}) }

// checkCtx aborts evaluation when the query's context is done.
func (ev *evaluator) checkCtx() {
	if err := ev.ctx.Err(); err != nil {
		ev.fail(contextErr(err, "expression evaluation"))
	}
}

// account adds n points to the query's in-memory total, failing the query
// above the limit.
func (ev *evaluator) account(n int) {
	c := ev.samples
	c.cur += n
	if c.cur > c.peak {
		c.peak = c.cur
		if c.cur > ev.maxSamples {
			ev.fail(ErrTooManySamples(env))
		}
	}
}

func (ev *evaluator) release(m Matrix) { ev.samples.cur -= m.TotalSamples() }

// sampleCount is the number of points a query holds, and the most it held.
type sampleCount struct{ cur, peak int }

// ts returns the timestamp of step i.
func (ev *evaluator) ts(i int) int64 { return ev.start + int64(i)*ev.interval }

// stepOf returns the step index of timestamp t on the grid.
func (ev *evaluator) stepOf(t int64) int { return int((t - ev.start) / ev.interval) }

// child returns an evaluator over another grid sharing the query state.
func (ev *evaluator) child(start, end, interval int64) *evaluator {
	c := *ev
	c.start, c.end, c.interval = start, end, interval
	c.steps = 0
	if end >= start {
		c.steps = int((end-start)/interval) + 1
	}
	return &c
}

// run evaluates the query's top-level expression, turning evaluation panics
// into errors and applying delayed __name__ removal when it is on.
func (ev *evaluator) run(expr parser.Expr) (v parser.Value, err error) {
	if ev.samples == nil {
		ev.samples = new(sampleCount)
	}
	if ev.stats == nil {
		ev.stats = stats.NewQuerySamples(false)
	}
	if ev.bufs == nil {
		ev.bufs = new(enginePools).getBuffers()
	}
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		switch e := r.(type) {
		case evalError:
			err = e.err
		case runtime.Error:
			buf := make([]byte, 64<<10)
			buf = buf[:runtime.Stack(buf, false)]
			ev.logger.Error("runtime panic during query evaluation", "expr", expr.String(), "err", e, "stacktrace", string(buf))
			err = fmt.Errorf("unexpected error: %w", e)
		default:
			panic(r)
		}
	}()
	if expr.Type() == parser.ValueTypeString {
		return String{T: ev.start, V: stringOf(expr)}, nil
	}
	if v, ok := ev.runStreamed(expr, ev.instant); ok {
		return v, nil
	}
	m := ev.eval(expr)
	// Names still marked (delayed removal) go now; series that became
	// identical merge either way.
	dropMarkedNames(m)
	return ev.mergeSameLabels(m), nil
}

// stringOf returns the value of a string expression.
func stringOf(e parser.Expr) string {
	switch n := e.(type) {
	case *parser.StringLiteral:
		return n.Val
	case *parser.ParenExpr:
		return stringOf(n.Expr)
	case *parser.StepInvariantExpr:
		return stringOf(n.Expr)
	}
	panic(evalError{fmt.Errorf("BUG: %T is not a string expression", e)})
}

// dropMarkedNames removes __name__ (and __type__, __unit__) from the series
// marked for it and clears the mark, reporting whether any was marked.
func dropMarkedNames(m Matrix) bool {
	marked := false
	for i := range m {
		if m[i].DropName {
			m[i].Metric = m[i].Metric.DropReserved(schema.IsMetadataLabel)
			m[i].DropName = false
			marked = true
		}
	}
	return marked
}

// mergeSameLabels merges series with equal labels into one, failing when two
// of them have a point at the same step. Upstream's evaluation builds its
// output per step and so gets the same result.
func (ev *evaluator) mergeSameLabels(m Matrix) Matrix {
	// Finding none, the common case, takes sorted hashes in reused
	// memory rather than a map.
	if len(m) <= 1 || !ev.sameLabels(len(m), func(i int) labels.Labels { return m[i].Metric }) {
		return m
	}
	first := make(map[uint64]int, len(m))
	out := m[:0]
	for _, s := range m {
		h := s.Metric.Hash()
		j, ok := first[h]
		if !ok {
			first[h] = len(out)
			out = append(out, s)
			continue
		}
		out[j].Floats = mergePoints(ev, out[j].Floats, s.Floats)
	}
	return out
}

// mergePoints merges two sorted point lists, failing on a shared timestamp.
func mergePoints(ev *evaluator, a, b []FPoint) []FPoint {
	res := make([]FPoint, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i].T < b[j].T:
			res = append(res, a[i])
			i++
		case a[i].T > b[j].T:
			res = append(res, b[j])
			j++
		default:
			ev.errorf("vector cannot contain metrics with the same labelset")
		}
	}
	res = append(res, a[i:]...)
	return append(res, b[j:]...)
}

// eval evaluates an instant-vector or scalar expression into a Matrix with
// points on the evaluator's steps (a scalar is one series without labels
// with a point at every step). A range-vector expression, allowed only at
// the top of an instant query, evaluates to its raw samples.
func (ev *evaluator) eval(expr parser.Expr) Matrix {
	m := ev.evalNode(expr)
	if !ev.delayedNames {
		m = ev.dropNamesNow(m)
	}
	return m
}

// dropNamesNow removes __name__ (and __type__, __unit__) from the series a
// node marked, as Prometheus does by default: the next node then sees the
// series without it (sum by (__name__) groups them under "", label_replace
// cannot read it), and series that became identical merge, or fail the
// query where they share a step. The mark is cleared so that a name set
// again later (label_replace into __name__) is kept.
func (ev *evaluator) dropNamesNow(m Matrix) Matrix {
	if !dropMarkedNames(m) {
		return m
	}
	return ev.mergeSameLabels(m)
}

// nameCollisions finds streamed series that would have the same labels
// once their names are removed and share a step, which fails the query as
// it does when the series are materialised (dropNamesNow).
type nameCollisions struct {
	words int
	seen  map[uint64][]uint64 // step bitmap per labelset without metadata labels
	buf   []byte
}

// newNameCollisions returns a tracker for the n series labelsAt gives, or
// nil when no two of them can collide: all have the same name and none has
// __type__ or __unit__, so they differ in other labels. That is the common
// case, and it needs no bitmap per series.
func (ev *evaluator) newNameCollisions(n int, labelsAt func(int) labels.Labels) *nameCollisions {
	name := ""
	for i := range n {
		l := labelsAt(i)
		switch nm := l.Get(model.MetricNameLabel); {
		case i == 0:
			name = nm
		case nm != name:
			return &nameCollisions{words: (ev.steps + 63) / 64, seen: map[uint64][]uint64{}}
		}
		if l.Has(model.MetricTypeLabel) || l.Has(model.MetricUnitLabel) {
			return &nameCollisions{words: (ev.steps + 63) / 64, seen: map[uint64][]uint64{}}
		}
	}
	return nil
}

// add records a series' steps under its labels without metadata labels,
// failing on a step another series with those labels already has.
func (c *nameCollisions) add(ev *evaluator, lbls labels.Labels, pts []FPoint) {
	if c == nil {
		return
	}
	var h uint64
	h, c.buf = lbls.HashWithoutLabels(c.buf, model.MetricTypeLabel, model.MetricUnitLabel)
	bits, ok := c.seen[h]
	if !ok {
		bits = make([]uint64, c.words)
		c.seen[h] = bits
	}
	for _, p := range pts {
		i := ev.stepOf(p.T)
		if bits[i/64]&(1<<(i%64)) != 0 {
			ev.errorf("vector cannot contain metrics with the same labelset")
		}
		bits[i/64] |= 1 << (i % 64)
	}
}

// evalNode evaluates one node of the expression; eval wraps it.
func (ev *evaluator) evalNode(expr parser.Expr) Matrix {
	ev.checkCtx()
	if ev.steps <= 0 {
		return Matrix{}
	}
	switch e := expr.(type) {
	case *parser.AggregateExpr:
		return ev.evalAggregation(e)
	case *parser.BinaryExpr:
		return ev.evalBinary(e)
	case *parser.Call:
		return ev.evalCall(e)
	case *parser.ParenExpr:
		return ev.eval(e.Expr)
	case *parser.UnaryExpr:
		m := ev.eval(e.Expr)
		if e.Op == parser.SUB {
			for i := range m {
				m[i].DropName = true
				for j := range m[i].Floats {
					m[i].Floats[j].F = -m[i].Floats[j].F
				}
			}
		}
		return m
	case *parser.NumberLiteral:
		return ev.scalarMatrix(func(int) float64 { return e.Val })
	case *parser.VectorSelector:
		return ev.evalVectorSelector(e, false)
	case *parser.MatrixSelector:
		return ev.evalMatrixSelector(e)
	case *parser.SubqueryExpr:
		return ev.evalSubqueryRaw(e)
	case *parser.StepInvariantExpr:
		return ev.evalStepInvariant(e)
	case *parser.StringLiteral:
		ev.errorf("BUG: string literal evaluated as a vector")
	case *parser.DurationExpr:
		ev.errorf("BUG: duration expression left after preprocessing")
	}
	ev.errorf("BUG: unhandled expression of type %T", expr)
	return nil
}

// scalarMatrix returns a scalar: one series without labels, f(i) at step i.
func (ev *evaluator) scalarMatrix(f func(i int) float64) Matrix {
	pts := ev.bufs.points.take(ev.steps)[:ev.steps]
	for i := range pts {
		pts[i] = FPoint{T: ev.ts(i), F: f(i)}
	}
	ev.account(len(pts))
	return Matrix{{Metric: labels.EmptyLabels(), Floats: pts}}
}

// evalScalar evaluates a scalar expression to one value per step.
func (ev *evaluator) evalScalar(expr parser.Expr) []float64 {
	m := ev.eval(expr)
	vals := make([]float64, ev.steps)
	if len(m) == 0 {
		return vals
	}
	for _, p := range m[0].Floats {
		vals[ev.stepOf(p.T)] = p.F
	}
	ev.release(m)
	return vals
}

func (ev *evaluator) evalStepInvariant(e *parser.StepInvariantExpr) Matrix {
	c := ev.child(ev.start, ev.start, ev.interval)
	c.stats = ev.stats.NewChild()
	m := c.eval(e.Expr)
	// Upstream counts the samples of the one evaluation as consumed at
	// every step, and as read once.
	ev.stats.MergeSeriesFromSubquery(c.stats)
	for i := range ev.steps {
		ev.stats.IncrementSamplesAtStep(i, c.stats.TotalSamples)
	}
	ev.stats.IncrementSamplesReadAtStep(0, c.stats.SamplesRead)
	switch unwrapped := e.Expr.(type) {
	case *parser.MatrixSelector, *parser.SubqueryExpr:
		return m
	case *parser.ParenExpr:
		_ = unwrapped
	}
	if ev.steps == 1 {
		return m
	}
	for i := range m {
		if len(m[i].Floats) != 1 {
			ev.errorf("BUG: step invariant series with %d points", len(m[i].Floats))
		}
		f := m[i].Floats[0].F
		pts := ev.bufs.points.take(ev.steps)[:ev.steps]
		for j := range pts {
			pts[j] = FPoint{T: ev.ts(j), F: f}
		}
		ev.account(ev.steps - 1)
		m[i].Floats = pts
	}
	return m
}

// errStorage wraps a storage failure as upstream does.
func errStorage(err error) error {
	var es ErrStorage
	if errors.As(err, &es) {
		return err
	}
	return ErrStorage{Err: fmt.Errorf("expanding series: %w", err)}
}
