package promql

import (
	"context"
	"math"
	"slices"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/util/stats"
)

// selectSeries returns the series a selector matches, selected once per query
// with the hints computed before evaluation.
func (ev *evaluator) selectSeries(vs *parser.VectorSelector) []storage.Series {
	if s, ok := ev.selectedCache[vs]; ok {
		return s
	}
	set := ev.querier.Select(ev.ctx, false, ev.hints[vs], vs.LabelMatchers...)
	var out []storage.Series
	if l, ok := set.(interface{ Len() int }); ok {
		// argus's storage knows the count: one allocation, not a doubling
		// series of them (the query's peak heap counts the garbage).
		out = make([]storage.Series, 0, l.Len())
	}
	for set.Next() {
		out = append(out, set.At())
		if len(out)%1024 == 0 {
			ev.checkCtx()
		}
	}
	ev.annos.Merge(set.Warnings())
	if err := set.Err(); err != nil {
		ev.fail(errStorage(err))
	}
	ev.selectedCache[vs] = out
	ev.stats.IncrementSeries(int64(len(out)))
	return out
}

// reusingSelecter is implemented by queriers that can hand over a
// selector's series one at a time in memory reused between them, as argus's
// storage does when its head alone answers: the series At returns is valid
// until the next call of Next, and the set is in no particular order.
type reusingSelecter interface {
	SelectReusing(ctx context.Context, hints *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet
}

// eachSeries calls fn with each series vs matches. With transient, fn keeps
// neither the series nor its labels, nor strings taken from them, past the
// call; the storage may then reuse their memory, so a streamed aggregation
// holds one selected series at a time instead of all of them (their
// labels and chunk lists were most of an instant query's heap).
func (ev *evaluator) eachSeries(vs *parser.VectorSelector, transient bool, fn func(storage.Series)) {
	rs, ok := ev.querier.(reusingSelecter)
	if _, cached := ev.selectedCache[vs]; !ok || !transient || cached {
		for _, s := range ev.selectSeries(vs) {
			fn(s)
		}
		return
	}
	set := rs.SelectReusing(ev.ctx, ev.hints[vs], vs.LabelMatchers...)
	n := 0
	for set.Next() {
		if n++; n%1024 == 0 {
			ev.checkCtx()
		}
		fn(set.At())
	}
	ev.annos.Merge(set.Warnings())
	if err := set.Err(); err != nil {
		ev.fail(errStorage(err))
	}
	ev.stats.IncrementSeries(int64(n))
}

// oneName reports whether every series vs selects has the same metric name.
func oneName(vs *parser.VectorSelector) bool {
	for _, m := range vs.LabelMatchers {
		if m.Name == model.MetricNameLabel && m.Type == labels.MatchEqual {
			return true
		}
	}
	return false
}

// hasMetadataLabels reports whether any series of the queried storage has a
// __type__ or __unit__ label; asked once per query.
func (ev *evaluator) hasMetadataLabels() bool {
	if ev.metaLabels == 0 {
		ev.metaLabels = 1
		names, _, err := ev.querier.LabelNames(ev.ctx, nil)
		if err != nil {
			ev.fail(errStorage(err))
		}
		if slices.Contains(names, model.MetricTypeLabel) || slices.Contains(names, model.MetricUnitLabel) {
			ev.metaLabels = 2
		}
	}
	return ev.metaLabels == 2
}

// floatAppender is implemented by sample iterators that hand over a time
// range of float samples in bulk, as argus's storage does: one call per
// series instead of several interface calls per sample.
type floatAppender interface {
	// AppendFloats appends the samples with mint <= t <= maxt not yet read
	// to ts and vs and leaves the iterator exhausted.
	AppendFloats(ts []int64, vs []float64, mint, maxt int64) ([]int64, []float64, error)
}

// readSamples appends to buf the samples of it with mint <= T <= maxt, in
// order. Stale markers are kept only if keepStale. A histogram sample fails
// the query: the engine does not evaluate native histograms yet.
func (ev *evaluator) readSamples(it chunkenc.Iterator, mint, maxt int64, keepStale bool, buf []FPoint) []FPoint {
	if fa, ok := it.(floatAppender); ok {
		b := ev.bufs
		var err error
		b.ts, b.vs, err = fa.AppendFloats(b.ts[:0], b.vs[:0], mint, maxt)
		if err != nil {
			ev.fail(errStorage(err))
		}
		buf = slices.Grow(buf, len(b.ts))
		for i, t := range b.ts {
			if f := b.vs[i]; keepStale || !value.IsStaleNaN(f) {
				buf = append(buf, FPoint{T: t, F: f})
			}
		}
		return buf
	}
	vt := it.Seek(mint)
	for ; vt != chunkenc.ValNone; vt = it.Next() {
		if vt != chunkenc.ValFloat {
			ev.fail(ErrNativeHistograms)
		}
		t, f := it.At()
		if t > maxt {
			break
		}
		if !keepStale && value.IsStaleNaN(f) {
			continue
		}
		buf = append(buf, FPoint{T: t, F: f})
	}
	if err := it.Err(); err != nil {
		ev.fail(errStorage(err))
	}
	return buf
}

// refTimes returns the reference time of the first and the last step of a
// selector: the step time minus the offset, or the @ time minus the offset.
func (ev *evaluator) refTimes(vs *parser.VectorSelector) (first, last int64, fixed bool) {
	off := vs.OriginalOffset.Milliseconds()
	if vs.Timestamp != nil {
		return *vs.Timestamp - off, *vs.Timestamp - off, true
	}
	return ev.start - off, ev.end - off, false
}

// evalVectorSelector evaluates an instant selector into a Matrix.
func (ev *evaluator) evalVectorSelector(vs *parser.VectorSelector, origT bool) Matrix {
	var out Matrix
	arena := &ev.bufs.points
	ev.streamVectorSelector(vs, origT, false, func(s *Series) {
		pts := arena.start(len(s.Floats))
		pts = append(pts, s.Floats...)
		ev.account(len(pts))
		out = append(out, Series{Metric: s.Metric, Floats: arena.finish(pts), DropName: s.DropName})
	})
	return out
}

// streamVectorSelector evaluates an instant selector series by series: at
// each step the newest sample at most lookback delta old, unless it is a
// stale marker. With origT the value is the sample's timestamp in seconds
// instead (timestamp()). emit gets each non-empty series; its points are
// only valid during the call, and with transient its labels too (see
// eachSeries).
func (ev *evaluator) streamVectorSelector(vs *parser.VectorSelector, origT, transient bool, emit func(*Series)) {
	if vs.Smoothed && !origT {
		ev.streamSmoothedVectorSelector(vs, emit)
		return
	}
	first, last, fixed := ev.refTimes(vs)
	off := vs.OriginalOffset.Milliseconds()
	var (
		it  chunkenc.Iterator
		buf = ev.bufs.getPoints()
		pts = slices.Grow(ev.bufs.getPoints(), ev.steps)
		out Series
	)
	defer func() {
		ev.bufs.putPoints(buf)
		ev.bufs.putPoints(pts)
	}()
	ev.eachSeries(vs, transient, func(s storage.Series) {
		ev.checkCtx()
		var newest FPoint
		known := false
		if first == last {
			// Every step looks back from the same time (one step, or @):
			// if the newest sample is not after it, it is the one they
			// take, with no chunk to decode.
			newest, known = newestAtOrBefore(s, last)
		}
		if known {
			buf = append(buf[:0], newest)
		} else {
			it = s.Iterator(it)
			buf = ev.readSamples(it, first-ev.lookback+1, last, true, buf[:0])
		}
		pts = pts[:0]
		j := 0
		for i := 0; i < ev.steps; i++ {
			t := ev.ts(i)
			ref := t - off
			if fixed {
				ref = first
			}
			for j < len(buf) && buf[j].T <= ref {
				j++
			}
			if j == 0 {
				continue
			}
			p := buf[j-1]
			if p.T <= ref-ev.lookback || value.IsStaleNaN(p.F) {
				continue
			}
			f := p.F
			if origT {
				f = float64(p.T) / 1000
			}
			pts = append(pts, FPoint{T: t, F: f})
		}
		if len(pts) == 0 {
			return
		}
		ev.countPerStep(pts)
		out = Series{Metric: s.Labels(), Floats: pts}
		emit(&out)
	})
}

// countPerStep counts a selector's points: each is a sample consumed and
// read at its step, as upstream counts an instant selector.
func (ev *evaluator) countPerStep(pts []FPoint) {
	st := ev.stats
	n := int64(len(pts))
	st.TotalSamples += n
	st.SamplesRead += n
	if st.TotalSamplesPerStep == nil {
		return
	}
	for _, p := range pts {
		i := ev.stepOf(p.T)
		st.TotalSamplesPerStep[i]++
		st.SamplesReadPerStep[i]++
	}
}

// newestSampler is implemented by series whose storage knows the newest
// sample without decoding, as argus's head does for its open chunks.
type newestSampler interface {
	NewestSample() (t int64, v float64, ok bool)
}

// newestAtOrBefore returns s's newest sample if the storage knows it and it
// is not after ref.
func newestAtOrBefore(s storage.Series, ref int64) (FPoint, bool) {
	ns, ok := s.(newestSampler)
	if !ok {
		return FPoint{}, false
	}
	t, v, ok := ns.NewestSample()
	if !ok || t > ref {
		return FPoint{}, false
	}
	return FPoint{T: t, F: v}, true
}

// evalMatrixSelector returns the raw samples of a range selector at the
// (single) evaluation time: the samples with t-range < T <= t.
func (ev *evaluator) evalMatrixSelector(ms *parser.MatrixSelector) Matrix {
	vs := ms.VectorSelector.(*parser.VectorSelector)
	if vs.Smoothed || vs.Anchored {
		return ev.evalExtendedMatrixSelector(ms)
	}
	series := ev.selectSeries(vs)
	maxt, _, _ := ev.refTimes(vs)
	mint := maxt - ms.Range.Milliseconds()
	out := make(Matrix, 0, len(series))
	var it chunkenc.Iterator
	for _, s := range series {
		ev.checkCtx()
		it = s.Iterator(it)
		pts := ev.readSamples(it, mint+1, maxt, false, nil)
		ev.stats.IncrementSamplesAtStep(0, int64(len(pts)))
		ev.stats.IncrementSamplesReadAtStep(0, int64(len(pts)))
		if len(pts) == 0 {
			continue
		}
		ev.account(len(pts))
		out = append(out, Series{Metric: s.Labels(), Floats: pts})
	}
	return out
}

// subqueryGrid returns the grid a subquery is evaluated on, aligned to its
// step as upstream aligns it.
func (ev *evaluator) subqueryGrid(sq *parser.SubqueryExpr) (start, end, step int64) {
	rng := sq.Range.Milliseconds()
	step = sq.Step.Milliseconds()
	if step == 0 {
		step = ev.noStepSubqFn(rng)
	}
	off := sq.OriginalOffset.Milliseconds()
	end = ev.start + int64(ev.steps-1)*ev.interval
	first := ev.start
	if sq.Timestamp != nil {
		first, end = *sq.Timestamp, *sq.Timestamp
	}
	start = step * ((first - off - rng) / step)
	if start <= first-off-rng {
		start += step
	}
	return start, end - off, step
}

// evalSubquery evaluates the inner expression of a subquery on its own grid.
// Its sample counts are merged into ev's as consumer says the result is
// used, by Prometheus's rules: the subquery counts per step of its own grid
// so that the steps no window of the parent uses are left out.
func (ev *evaluator) evalSubquery(sq *parser.SubqueryExpr, consumer stats.SubqueryConsumer) Matrix {
	start, end, step := ev.subqueryGrid(sq)
	c := ev.child(start, end, step)
	c.stats = stats.NewChildWithStepTracking(start, max(start, end), step)
	m := c.eval(sq.Expr)
	ev.stats.MergeSeriesFromSubquery(c.stats)
	ev.stats.MergeTotalSamplesFromSubquery(c.stats, consumer)
	ev.stats.MergeSamplesReadFromSubquery(c.stats, consumer)
	return m
}

// evalSubqueryRaw returns a subquery's points at the single evaluation time,
// for an instant query whose result is the subquery itself.
func (ev *evaluator) evalSubqueryRaw(sq *parser.SubqueryExpr) Matrix {
	// All of the subquery's steps are part of the result.
	m := ev.evalSubquery(sq, stats.SubqueryConsumer{Start: ev.start, Interval: ev.interval, NumSteps: ev.steps})
	maxt := ev.start - sq.OriginalOffset.Milliseconds()
	if sq.Timestamp != nil {
		maxt = *sq.Timestamp - sq.OriginalOffset.Milliseconds()
	}
	mint := maxt - sq.Range.Milliseconds()
	out := m[:0]
	for _, s := range m {
		lo, hi := 0, len(s.Floats)
		for lo < hi && s.Floats[lo].T <= mint {
			lo++
		}
		for hi > lo && s.Floats[hi-1].T > maxt {
			hi--
		}
		if lo < hi {
			s.Floats = s.Floats[lo:hi]
			out = append(out, s)
		}
	}
	return out
}

// isNaN reports whether f is NaN; a helper for readability in comparisons.
func isNaN(f float64) bool { return math.IsNaN(f) }
