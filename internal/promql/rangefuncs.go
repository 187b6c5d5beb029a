package promql

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/promql/parser/posrange"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/util/annotations"
	"github.com/prometheus/prometheus/util/kahansum"
	"github.com/prometheus/prometheus/util/stats"
)

// rangeCall is what a range function sees at one step for one series.
type rangeCall struct {
	// pts are the samples in the window (rangeStart, rangeEnd], oldest first.
	pts []FPoint
	// ts is the evaluation time of the step.
	ts                   int64
	rangeStart, rangeEnd int64
	rangeSeconds         float64
	// params holds the values of the other (scalar) arguments at this step.
	params []float64
	metric labels.Labels
	call   *parser.Call
	// noResets is set when rate or increase knows the window has no counter
	// reset, so extrapolatedRate need not look for one.
	noResets bool
}

// rangeFunc computes a range function's value for one window; ok=false
// means no output at this step.
type rangeFunc func(ev *evaluator, c *rangeCall) (v float64, ok bool)

var rangeFuncs = map[string]rangeFunc{
	"rate":                         func(ev *evaluator, c *rangeCall) (float64, bool) { return extrapolatedRate(c, true, true) },
	"increase":                     func(ev *evaluator, c *rangeCall) (float64, bool) { return extrapolatedRate(c, true, false) },
	"delta":                        func(ev *evaluator, c *rangeCall) (float64, bool) { return extrapolatedRate(c, false, false) },
	"irate":                        func(ev *evaluator, c *rangeCall) (float64, bool) { return instantValue(c, true) },
	"idelta":                       func(ev *evaluator, c *rangeCall) (float64, bool) { return instantValue(c, false) },
	"avg_over_time":                avgOverTime,
	"sum_over_time":                sumOverTime,
	"count_over_time":              func(ev *evaluator, c *rangeCall) (float64, bool) { return float64(len(c.pts)), true },
	"present_over_time":            func(ev *evaluator, c *rangeCall) (float64, bool) { return 1, true },
	"last_over_time":               func(ev *evaluator, c *rangeCall) (float64, bool) { return c.pts[len(c.pts)-1].F, true },
	"first_over_time":              func(ev *evaluator, c *rangeCall) (float64, bool) { return c.pts[0].F, true },
	"ts_of_last_over_time":         func(ev *evaluator, c *rangeCall) (float64, bool) { return float64(c.pts[len(c.pts)-1].T) / 1000, true },
	"ts_of_first_over_time":        func(ev *evaluator, c *rangeCall) (float64, bool) { return float64(c.pts[0].T) / 1000, true },
	"max_over_time":                compareOverTime(func(cur, m float64) bool { return cur > m || math.IsNaN(m) }, false),
	"min_over_time":                compareOverTime(func(cur, m float64) bool { return cur < m || math.IsNaN(m) }, false),
	"ts_of_max_over_time":          compareOverTime(func(cur, m float64) bool { return cur >= m || math.IsNaN(m) }, true),
	"ts_of_min_over_time":          compareOverTime(func(cur, m float64) bool { return cur <= m || math.IsNaN(m) }, true),
	"stddev_over_time":             func(ev *evaluator, c *rangeCall) (float64, bool) { return math.Sqrt(variance(c.pts)), true },
	"stdvar_over_time":             func(ev *evaluator, c *rangeCall) (float64, bool) { return variance(c.pts), true },
	"quantile_over_time":           quantileOverTime,
	"mad_over_time":                madOverTime,
	"changes":                      changes,
	"resets":                       resets,
	"deriv":                        deriv,
	"predict_linear":               predictLinear,
	"double_exponential_smoothing": doubleExponentialSmoothing,
	"integral":                     integral,
}

// evalRangeFunc evaluates a function with a range-vector argument into a Matrix.
func (ev *evaluator) evalRangeFunc(e *parser.Call, fn rangeFunc, argIdx int) Matrix {
	var out Matrix
	arena := &ev.bufs.points
	ev.streamRangeFunc(e, fn, argIdx, true, func(s *Series) {
		pts := arena.start(len(s.Floats))
		pts = append(pts, s.Floats...)
		ev.account(len(pts))
		out = append(out, Series{Metric: s.Metric, Floats: arena.finish(pts), DropName: s.DropName})
	})
	return out
}

// streamRangeFunc evaluates a function with a range-vector argument series
// by series: the samples of a series are read once and a window slides over
// them step by step. emit gets each non-empty result series; its points are
// only valid during the call, and its labels too unless keep is set (then
// a series read one at a time in reused memory, see eachSeries, gets a copy
// of its labels, which is less memory than selecting all of them). Series read one
// at a time come in the order a selection gives them (see SelectReusing),
// which matters to limitk and the ties of topk and the sort functions.
func (ev *evaluator) streamRangeFunc(e *parser.Call, fn rangeFunc, argIdx int, keep bool, emit func(*Series)) {
	if ms, ok := isExtended(e.Args[argIdx]); ok {
		ev.streamExtendedRangeFunc(e, ms, emit)
		return
	}
	params := make([][]float64, 0, len(e.Args)-1)
	for i, a := range e.Args {
		if i != argIdx {
			params = append(params, ev.evalScalar(a))
		}
	}
	name := e.Func.Name
	// absent_over_time reads only which steps have a point; its result
	// gets its own labels.
	dropName := name != "last_over_time" && name != "first_over_time" && name != "absent_over_time"

	var (
		rng     int64
		off     int64
		fixedAt *int64
		inputs  Matrix
		series  []seriesSource
		// streamed is the selector whose series are read one at a time.
		streamed *parser.VectorSelector
	)
	switch a := e.Args[argIdx].(type) {
	case *parser.MatrixSelector:
		vs := a.VectorSelector.(*parser.VectorSelector)
		rng, off, fixedAt = a.Range.Milliseconds(), vs.OriginalOffset.Milliseconds(), vs.Timestamp
		// Series can be read one at a time when no two of them can
		// collide once their names are dropped, which takes all of their
		// labels up front to check.
		if ev.delayedNames || oneName(vs) && !ev.hasMetadataLabels() {
			streamed = vs
			break
		}
		selected := ev.selectSeries(vs)
		series = make([]seriesSource, len(selected))
		for i, s := range selected {
			series[i].storage = s
		}
	case *parser.SubqueryExpr:
		rng, off, fixedAt = a.Range.Milliseconds(), a.OriginalOffset.Milliseconds(), a.Timestamp
		// Each step's window of the subquery's steps counts, as a range
		// selector's window of samples does.
		inputs = ev.evalSubquery(a, stats.SubqueryConsumer{
			Start: ev.start, Interval: ev.interval, NumSteps: ev.steps,
			Offset: off, Range: rng, AtTimestamp: a.Timestamp,
		})
		series = make([]seriesSource, len(inputs))
		for i := range inputs {
			series[i].sub = &inputs[i]
		}
	default:
		ev.errorf("BUG: range function argument of type %T", a)
	}

	isCounter := name == "rate" || name == "increase"
	firstEnd, lastEnd := ev.start-off, ev.end-off
	if fixedAt != nil {
		firstEnd, lastEnd = *fixedAt-off, *fixedAt-off
	}
	var coll *nameCollisions
	if !ev.delayedNames && streamed == nil {
		coll = ev.newNameCollisions(len(series), func(i int) labels.Labels {
			if series[i].sub != nil {
				return series[i].sub.Metric
			}
			return series[i].storage.Labels()
		})
	}
	// process returns the function that evaluates one input series for ev
	// and emits its result, and the one that releases its scratch space.
	// Each goroutine of a parallel read has its own (see streamParallel).
	// A streamed series' labels are copied for a caller that keeps them,
	// on this goroutine: a parallel read's workers copy their own.
	main := ev
	process := func(ev *evaluator, emit func(*Series)) (each func(seriesSource), done func()) {
		copyLabels := keep && streamed != nil && ev == main
		c := &rangeCall{
			rangeSeconds: float64(rng) / 1000,
			params:       make([]float64, len(params)),
			call:         e,
		}
		var (
			it  chunkenc.Iterator
			buf = ev.bufs.getPoints()
			res = slices.Grow(ev.bufs.getPoints(), ev.steps)
			out Series
			// resets[i] counts the counter resets among the first i+1
			// points, for rate and increase: windows without one skip the
			// search (a 1h window at a 15s scrape is 240 comparisons per
			// step).
			resets []int32
		)
		each = func(src seriesSource) {
			ev.checkCtx()
			var pts []FPoint
			var lbls labels.Labels
			inDrop := false
			if src.sub != nil {
				pts, lbls, inDrop = src.sub.Floats, src.sub.Metric, src.sub.DropName
			} else {
				it = src.storage.Iterator(it)
				buf = ev.readSamples(it, firstEnd-rng+1, lastEnd, false, buf[:0])
				pts, lbls = buf, src.storage.Labels()
			}
			if len(pts) == 0 {
				return
			}
			c.metric = lbls
			if isCounter {
				resets = countResets(resets[:0], pts)
			}
			res = res[:0]
			lo, hi := 0, 0
			// A subquery's windows were counted when it was merged.
			countWindows := src.sub == nil
			for i := 0; i < ev.steps; i++ {
				t := ev.ts(i)
				maxt := t - off
				if fixedAt != nil {
					maxt = lastEnd
				}
				mint := maxt - rng
				prevHi := hi
				for hi < len(pts) && pts[hi].T <= maxt {
					hi++
				}
				for lo < hi && pts[lo].T <= mint {
					lo++
				}
				if lo == hi {
					continue
				}
				if countWindows {
					ev.countWindow(i, lo, hi, prevHi, fixedAt != nil)
				}
				c.pts, c.ts, c.rangeStart, c.rangeEnd = pts[lo:hi], t, mint, maxt
				c.noResets = isCounter && resets[hi-1] == resets[lo]
				for j := range params {
					c.params[j] = params[j][i]
				}
				if v, ok := fn(ev, c); ok {
					res = append(res, FPoint{T: t, F: v})
				}
			}
			if len(res) == 0 {
				return
			}
			if isCounter {
				ev.nonCounterInfo(lbls, argPos(e.Args[0]))
			}
			if copyLabels {
				lbls = lbls.Copy()
			}
			out = Series{Metric: lbls, Floats: res, DropName: dropName || inDrop}
			if out.DropName {
				coll.add(ev, lbls, res)
			}
			emit(&out)
		}
		return each, func() {
			ev.bufs.putPoints(buf)
			ev.bufs.putPoints(res)
		}
	}
	each, done := process(ev, emit)
	defer done()
	if streamed != nil {
		switch sets := ev.parallelSets(streamed); len(sets) {
		case 0:
			ev.eachSeries(streamed, true, func(s storage.Series) { each(seriesSource{storage: s}) })
		case 1:
			// Too few series to split: read here, as eachSeries would.
			ev.stats.IncrementSeries(readSet(ev, sets[0], each))
		default:
			ev.streamParallel(sets, process, emit)
		}
	}
	for _, src := range series {
		each(src)
	}
	ev.release(inputs)
}

// countWindow counts the window pts[lo:hi] of samples from storage a range
// function sees at step i as upstream counts it: all of it as consumed, and
// as read the samples past the previous step's window, whose end is
// pts[prevHi] (all of them at the first step, none after it with @, whose
// window does not move).
func (ev *evaluator) countWindow(i, lo, hi, prevHi int, fixed bool) {
	n, r := int64(hi-lo), int64(hi-max(lo, prevHi))
	switch {
	case i == 0:
		r = n
	case fixed:
		r = 0
	}
	st := ev.stats
	st.TotalSamples += n
	st.SamplesRead += r
	if st.TotalSamplesPerStep != nil {
		st.TotalSamplesPerStep[i] += n
		st.SamplesReadPerStep[i] += r
	}
}

// countResets appends to dst, for every point, the number of counter resets
// (a value below the previous one) up to and including it.
func countResets(dst []int32, pts []FPoint) []int32 {
	var n int32
	for i, p := range pts {
		if i > 0 && p.F < pts[i-1].F {
			n++
		}
		dst = append(dst, n)
	}
	return dst
}

// seriesSource is a range function's input series: from storage or from a subquery.
type seriesSource struct {
	storage interface {
		Labels() labels.Labels
		Iterator(chunkenc.Iterator) chunkenc.Iterator
	}
	sub *Series
}

// nonCounterInfo notes that rate() or increase() ran on a series whose name
// does not look like a counter's.
func (ev *evaluator) nonCounterInfo(lbls labels.Labels, pos posrange.PositionRange) {
	name := lbls.Get(labels.MetricName)
	if name == "" {
		return
	}
	for _, suffix := range []string{"_total", "_sum", "_count", "_bucket"} {
		if strings.HasSuffix(name, suffix) {
			return
		}
	}
	ev.annos.Add(annotations.NewPossibleNonCounterInfo(name, pos))
}

// argPos is the position annotations about a range argument refer to.
// Upstream replaces a subquery argument by a synthetic selector without a
// position before evaluating the function, so its annotations point at the
// start of the query; we do the same so texts match.
func argPos(arg parser.Expr) posrange.PositionRange {
	if _, ok := arg.(*parser.SubqueryExpr); ok {
		return posrange.PositionRange{}
	}
	return arg.PositionRange()
}

// extrapolatedRate implements rate, increase and delta exactly as upstream
// does for float samples, extrapolating to the window's edges.
func extrapolatedRate(c *rangeCall, isCounter, isRate bool) (float64, bool) {
	pts := c.pts
	if len(pts) < 2 {
		return 0, false
	}
	n := len(pts) - 1
	firstT, lastT := pts[0].T, pts[n].T
	result := pts[n].F - pts[0].F
	if isCounter && !c.noResets {
		for i := 1; i < len(pts); i++ {
			if pts[i].F < pts[i-1].F {
				result += pts[i-1].F
			}
		}
	}
	durationToStart := float64(firstT-c.rangeStart) / 1000
	durationToEnd := float64(c.rangeEnd-lastT) / 1000
	sampledInterval := float64(lastT-firstT) / 1000
	avgDuration := sampledInterval / float64(n)
	threshold := avgDuration * 1.1

	if durationToStart >= threshold {
		durationToStart = avgDuration / 2
	}
	if isCounter && result > 0 && pts[0].F >= 0 {
		// Counters cannot be negative: do not extrapolate past the zero point.
		durationToZero := sampledInterval * (pts[0].F / result)
		if durationToZero < durationToStart {
			durationToStart = durationToZero
		}
	}
	if durationToEnd >= threshold {
		durationToEnd = avgDuration / 2
	}
	factor := 1.0
	if sampledInterval != 0 {
		factor = (sampledInterval + durationToStart + durationToEnd) / sampledInterval
	}
	if isRate {
		factor /= c.rangeSeconds
	}
	return result * factor, true
}

// instantValue implements irate and idelta from the last two samples.
func instantValue(c *rangeCall, isRate bool) (float64, bool) {
	if len(c.pts) < 2 {
		return 0, false
	}
	prev, last := c.pts[len(c.pts)-2], c.pts[len(c.pts)-1]
	interval := last.T - prev.T
	if interval == 0 {
		return 0, false
	}
	v := last.F
	if !isRate || !(last.F < prev.F) {
		v = last.F - prev.F
	}
	if isRate {
		v /= float64(interval) / 1000
	}
	return v, true
}

func avgOverTime(_ *evaluator, c *rangeCall) (float64, bool) {
	pts := c.pts
	sum, count := pts[0].F, 1.0
	var mean, kahanC float64
	incremental := false
	for i, p := range pts[1:] {
		count = float64(i + 2)
		if !incremental {
			newSum, newC := kahansum.Inc(p.F, sum, kahanC)
			if !math.IsInf(newSum, 0) {
				sum, kahanC = newSum, newC
				continue
			}
			incremental = true
			mean = sum / (count - 1)
			kahanC /= count - 1
		}
		q := (count - 1) / count
		mean, kahanC = kahansum.Inc(p.F/count, q*mean, q*kahanC)
	}
	if incremental {
		return mean + kahanC, true
	}
	return sum/count + kahanC/count, true
}

func sumOverTime(_ *evaluator, c *rangeCall) (float64, bool) {
	var sum, comp float64
	for _, p := range c.pts {
		sum, comp = kahansum.Inc(p.F, sum, comp)
	}
	if math.IsInf(sum, 0) {
		return sum, true
	}
	return sum + comp, true
}

func compareOverTime(better func(cur, best float64) bool, returnTimestamp bool) rangeFunc {
	return func(_ *evaluator, c *rangeCall) (float64, bool) {
		best, bestT := c.pts[0].F, c.pts[0].T
		for _, p := range c.pts {
			if better(p.F, best) {
				best, bestT = p.F, p.T
			}
		}
		if returnTimestamp {
			return float64(bestT) / 1000, true
		}
		return best, true
	}
}

func variance(pts []FPoint) float64 {
	var count, mean, cMean, aux, cAux float64
	for _, p := range pts {
		count++
		delta := p.F - (mean + cMean)
		mean, cMean = kahansum.Inc(delta/count, mean, cMean)
		aux, cAux = kahansum.Inc(delta*(p.F-(mean+cMean)), aux, cAux)
	}
	return (aux + cAux) / count
}

func quantileOverTime(ev *evaluator, c *rangeCall) (float64, bool) {
	q := c.params[0]
	if math.IsNaN(q) || q < 0 || q > 1 {
		ev.annos.Add(annotations.NewInvalidQuantileWarning(q, c.call.Args[0].PositionRange()))
	}
	values := make([]float64, len(c.pts))
	for i, p := range c.pts {
		values[i] = p.F
	}
	return quantile(q, values), true
}

func madOverTime(_ *evaluator, c *rangeCall) (float64, bool) {
	values := make([]float64, len(c.pts))
	for i, p := range c.pts {
		if math.IsNaN(p.F) {
			return math.NaN(), true
		}
		values[i] = p.F
	}
	median := quantile(0.5, values)
	for i := range values {
		values[i] = math.Abs(values[i] - median)
	}
	return quantile(0.5, values), true
}

func changes(_ *evaluator, c *rangeCall) (float64, bool) {
	n := 0
	for i := 1; i < len(c.pts); i++ {
		cur, prev := c.pts[i].F, c.pts[i-1].F
		if cur != prev && !(math.IsNaN(cur) && math.IsNaN(prev)) {
			n++
		}
	}
	return float64(n), true
}

func resets(_ *evaluator, c *rangeCall) (float64, bool) {
	n := 0
	for i := 1; i < len(c.pts); i++ {
		if c.pts[i].F < c.pts[i-1].F {
			n++
		}
	}
	return float64(n), true
}

// linearRegression fits a line through samples by least squares, with x in
// seconds relative to interceptTime.
func linearRegression(samples []FPoint, interceptTime int64) (slope, intercept float64) {
	var n, sumX, cX, sumY, cY, sumXY, cXY, sumX2, cX2 float64
	initY := samples[0].F
	constY := true
	for i, s := range samples {
		if constY && i > 0 && s.F != initY {
			constY = false
		}
		n++
		x := float64(s.T-interceptTime) / 1e3
		sumX, cX = kahansum.Inc(x, sumX, cX)
		sumY, cY = kahansum.Inc(s.F, sumY, cY)
		sumXY, cXY = kahansum.Inc(x*s.F, sumXY, cXY)
		sumX2, cX2 = kahansum.Inc(x*x, sumX2, cX2)
	}
	if constY {
		if math.IsInf(initY, 0) {
			return math.NaN(), math.NaN()
		}
		return 0, initY
	}
	sumX += cX
	sumY += cY
	sumXY += cXY
	sumX2 += cX2
	covXY := sumXY - sumX*sumY/n
	varX := sumX2 - sumX*sumX/n
	slope = covXY / varX
	intercept = sumY/n - slope*sumX/n
	return slope, intercept
}

func deriv(_ *evaluator, c *rangeCall) (float64, bool) {
	if len(c.pts) < 2 {
		return 0, false
	}
	slope, _ := linearRegression(c.pts, c.pts[0].T)
	return slope, true
}

func predictLinear(_ *evaluator, c *rangeCall) (float64, bool) {
	if len(c.pts) < 2 {
		return 0, false
	}
	slope, intercept := linearRegression(c.pts, c.ts)
	return slope*c.params[0] + intercept, true
}

func doubleExponentialSmoothing(ev *evaluator, c *rangeCall) (float64, bool) {
	sf, tf := c.params[0], c.params[1]
	if sf <= 0 || sf >= 1 {
		ev.fail(fmt.Errorf("invalid smoothing factor. Expected: 0 < sf < 1, got: %f", sf))
	}
	if tf <= 0 || tf >= 1 {
		ev.fail(fmt.Errorf("invalid trend factor. Expected: 0 < tf < 1, got: %f", tf))
	}
	pts := c.pts
	if len(pts) < 2 {
		return 0, false
	}
	var s0, s1, b float64
	s1 = pts[0].F
	b = pts[1].F - pts[0].F
	for i := 1; i < len(pts); i++ {
		x := sf * pts[i].F
		if i > 1 {
			b = tf*(s1-s0) + (1-tf)*b
		}
		y := (1 - sf) * (s1 + b)
		s0, s1 = s1, x+y
	}
	return s1, true
}

// integral strategies, as upstream's integral() numbers them.
const (
	integralLeftPoint = iota
	integralRightPoint
	integralTrapezoidal
)

func integral(ev *evaluator, c *rangeCall) (float64, bool) {
	strategy := integralTrapezoidal
	if len(c.params) > 0 {
		s := c.params[0]
		if math.IsNaN(s) || math.IsInf(s, 0) || math.Trunc(s) != s || s < integralLeftPoint || s > integralTrapezoidal {
			ev.annos.Add(annotations.NewInvalidIntegralStrategyWarning(s, c.call.Args[1].PositionRange()))
		} else {
			strategy = int(s)
		}
	}
	nanAsZero := func(v float64) float64 {
		if math.IsNaN(v) {
			return 0
		}
		return v
	}
	var sum, comp float64
	var prev FPoint
	for i, p := range c.pts {
		var v, cv float64
		cur, pv := nanAsZero(p.F), nanAsZero(prev.F)
		switch strategy {
		case integralLeftPoint:
			v = pv
		case integralRightPoint:
			v = cur
		case integralTrapezoidal:
			if pv != 0 || cur != 0 {
				v, cv = kahansum.Inc(cur, pv, 0)
				if math.IsInf(v, 0) && !math.IsInf(cur, 0) && !math.IsInf(pv, 0) {
					v, cv = kahansum.Inc(cur/2, pv/2, 0)
				} else {
					v /= 2
					cv /= 2
				}
			}
		}
		if i > 0 && (v != 0 || cv != 0) {
			dt := float64(p.T-prev.T) / 1000
			sum, comp = kahansum.Inc(v*dt, sum, comp+cv*dt)
		}
		prev = p
	}
	if math.IsInf(sum, 0) {
		return sum, true
	}
	return sum + comp, true
}
