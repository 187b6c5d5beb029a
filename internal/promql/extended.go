package promql

import (
	"slices"
	"sort"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// The anchored and smoothed selector modifiers (experimental upstream)
// let a range selector see samples around its window: anchored adds the
// newest sample at most a lookback delta before the window's start,
// smoothed also the oldest one at most a lookback delta after its end, and
// interpolates the values at the window's edges. A smoothed instant
// selector interpolates between the samples around each step. Semantics
// follow upstream's (extendedRate, extendFloats, smoothSeries) for float
// samples without start timestamps, which is all argus stores.

// anchoredSafeFunctions and smoothedSafeFunctions are the functions that
// accept a range selector with the modifier; upstream refuses the others
// with the same message.
var (
	anchoredSafeFunctions = []string{"changes", "delta", "increase", "rate", "resets"}
	smoothedSafeFunctions = []string{"delta", "increase", "rate"}
)

// isExtended reports whether a range function argument is a selector with
// the anchored or smoothed modifier.
func isExtended(arg parser.Expr) (*parser.MatrixSelector, bool) {
	ms, ok := arg.(*parser.MatrixSelector)
	if !ok {
		return nil, false
	}
	vs := ms.VectorSelector.(*parser.VectorSelector)
	return ms, vs.Anchored || vs.Smoothed
}

// streamExtendedRangeFunc is streamRangeFunc for a selector with the
// anchored or smoothed modifier.
func (ev *evaluator) streamExtendedRangeFunc(e *parser.Call, ms *parser.MatrixSelector, emit func(*Series)) {
	vs := ms.VectorSelector.(*parser.VectorSelector)
	name := e.Func.Name
	switch {
	case vs.Anchored && !slices.Contains(anchoredSafeFunctions, name):
		ev.errorf("anchored modifier can only be used with: %s - not with %s", strings.Join(anchoredSafeFunctions, ", "), name)
	case vs.Smoothed && !slices.Contains(smoothedSafeFunctions, name):
		ev.errorf("smoothed modifier can only be used with: %s - not with %s", strings.Join(smoothedSafeFunctions, ", "), name)
	}
	rng, off := ms.Range.Milliseconds(), vs.OriginalOffset.Milliseconds()
	firstEnd, lastEnd := ev.start-off, ev.end-off
	if vs.Timestamp != nil {
		firstEnd, lastEnd = *vs.Timestamp-off, *vs.Timestamp-off
	}
	// ahead is how far past the window's end the function sees.
	var ahead int64
	if vs.Smoothed {
		ahead = ev.lookback
	}
	var (
		it  chunkenc.Iterator
		buf []FPoint
		res = make([]FPoint, 0, ev.steps)
		out Series
	)
	selected := ev.selectSeries(vs)
	var coll *nameCollisions
	if !ev.delayedNames {
		coll = ev.newNameCollisions(len(selected), func(i int) labels.Labels { return selected[i].Labels() })
	}
	for _, s := range selected {
		ev.checkCtx()
		it = s.Iterator(it)
		buf = ev.readSamples(it, firstEnd-rng-ev.lookback+1, lastEnd+ahead, false, buf[:0])
		if len(buf) == 0 {
			continue
		}
		res = res[:0]
		lo, hi := 0, 0
		for i := 0; i < ev.steps; i++ {
			t := ev.ts(i)
			rangeEnd := t - off
			if vs.Timestamp != nil {
				rangeEnd = lastEnd
			}
			rangeStart := rangeEnd - rng
			prevHi := hi
			for hi < len(buf) && buf[hi].T <= rangeEnd+ahead {
				hi++
			}
			for lo < hi && buf[lo].T <= rangeStart-ev.lookback {
				lo++
			}
			if lo == hi {
				continue
			}
			ev.countWindow(i, lo, hi, prevHi, vs.Timestamp != nil)
			pts := buf[lo:hi]
			var v float64
			var ok bool
			switch name {
			case "rate", "increase", "delta":
				v, ok = extendedRate(pts, rangeStart, rangeEnd, vs.Smoothed, name != "delta", name == "rate", ms.Range.Seconds())
			default: // changes, resets
				var first int
				if first, ok = anchoredFirst(pts, rangeStart); ok {
					v, ok = rangeFuncs[name](ev, &rangeCall{pts: pts[first:]})
				}
			}
			if ok {
				res = append(res, FPoint{T: t, F: v})
			}
		}
		if len(res) == 0 {
			continue
		}
		if name == "rate" || name == "increase" {
			ev.nonCounterInfo(s.Labels(), argPos(ms))
		}
		out = Series{Metric: s.Labels(), Floats: res, DropName: true}
		coll.add(ev, out.Metric, res)
		emit(&out)
	}
}

// anchoredFirst returns the index of the newest sample at or before the
// window's start (the anchor), or of the first sample if there is none;
// ok is false when no sample lies after the start.
func anchoredFirst(pts []FPoint, rangeStart int64) (first int, ok bool) {
	lastBefore := sort.Search(len(pts), func(i int) bool { return pts[i].T > rangeStart }) - 1
	if lastBefore+1 >= len(pts) {
		return 0, false
	}
	return max(lastBefore, 0), true
}

// extendedRate is rate, increase (isCounter) and delta over the window
// (rangeStart, rangeEnd] extended by the modifier: the value at each edge is
// that of the sample at or next to it, interpolated when smoothed, and the
// result is not extrapolated.
func extendedRate(f []FPoint, rangeStart, rangeEnd int64, smoothed, isCounter, isRate bool, rangeSeconds float64) (float64, bool) {
	last := len(f) - 1
	first := max(0, sort.Search(last, func(i int) bool { return f[i].T > rangeStart })-1)
	if smoothed {
		last = sort.Search(last, func(i int) bool { return f[i].T >= rangeEnd })
	}
	if f[last].T <= rangeStart || (smoothed && f[first].T > rangeEnd) {
		return 0, false
	}
	left := f[first].F
	if f[first].T < rangeStart && smoothed {
		left = interpolate(f[first], f[first+1], rangeStart, isCounter)
	}
	right := f[last].F
	if f[last].T > rangeEnd && last > 0 {
		right = f[last-1].F
		if smoothed {
			right = interpolate(f[last-1], f[last], rangeEnd, isCounter)
		}
	}
	result := right - left
	if isCounter {
		// Resets at the edges are in the interpolation already; count
		// those between the samples strictly inside the window.
		if f[first].T <= rangeStart {
			first++
		}
		if f[last].T >= rangeEnd {
			last--
		}
		prev := left
		for _, p := range f[first : last+1] {
			if p.F < prev {
				result += prev
			}
			prev = p.F
		}
		if right < prev {
			result += prev
		}
	}
	if isRate {
		result /= rangeSeconds
	}
	return result, true
}

// interpolate returns the value at t on the line through p1 and p2; for a
// counter that reset between them, the line starts from zero.
func interpolate(p1, p2 FPoint, t int64, isCounter bool) float64 {
	y1, y2 := p1.F, p2.F
	if isCounter && y2 < y1 {
		y1 = 0
	}
	return y1 + (y2-y1)*float64(t-p1.T)/float64(p2.T-p1.T)
}

// extendFloats returns the samples of a top-level range selector with the
// modifier: the window's inner samples between points at its two edges,
// picked or interpolated as for a gauge. mint and maxt are the window's
// edges; f holds the samples the modifier lets it see.
func extendFloats(f []FPoint, mint, maxt int64, smoothed bool) []FPoint {
	if len(f) == 0 {
		return nil
	}
	last := len(f) - 1
	first := max(0, sort.Search(last, func(i int) bool { return f[i].T > mint })-1)
	if smoothed {
		last = sort.Search(last, func(i int) bool { return f[i].T >= maxt })
	}
	if f[last].T <= mint {
		return nil
	}
	left := f[first].F
	if f[first].T < mint && smoothed {
		left = interpolate(f[first], f[first+1], mint, false)
	}
	right := f[last].F
	if f[last].T > maxt && last > 0 {
		right = f[last-1].F
		if smoothed {
			right = interpolate(f[last-1], f[last], maxt, false)
		}
	}
	if f[first].T <= mint {
		first++
	}
	if f[last].T >= maxt {
		last--
	}
	out := make([]FPoint, 0, max(last-first+1, 0)+2)
	out = append(out, FPoint{T: mint, F: left})
	if first <= last {
		out = append(out, f[first:last+1]...)
	}
	return append(out, FPoint{T: maxt, F: right})
}

// evalExtendedMatrixSelector is evalMatrixSelector for a selector with the
// anchored or smoothed modifier.
func (ev *evaluator) evalExtendedMatrixSelector(ms *parser.MatrixSelector) Matrix {
	vs := ms.VectorSelector.(*parser.VectorSelector)
	maxt, _, _ := ev.refTimes(vs)
	mint := maxt - ms.Range.Milliseconds()
	var ahead int64
	if vs.Smoothed {
		ahead = ev.lookback
	}
	var out Matrix
	var it chunkenc.Iterator
	for _, s := range ev.selectSeries(vs) {
		ev.checkCtx()
		it = s.Iterator(it)
		pts := extendFloats(ev.readSamples(it, mint-ev.lookback+1, maxt+ahead, false, nil), mint, maxt, vs.Smoothed)
		// Upstream counts the points with those the modifier added.
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

// streamSmoothedVectorSelector is streamVectorSelector for an instant
// selector with the smoothed modifier: at each step the sample at the
// reference time, or the interpolation between the samples around it
// (within a lookback delta either side), or the last one before it.
func (ev *evaluator) streamSmoothedVectorSelector(vs *parser.VectorSelector, emit func(*Series)) {
	first, last, fixed := ev.refTimes(vs)
	off := vs.OriginalOffset.Milliseconds()
	var (
		it  chunkenc.Iterator
		buf []FPoint
		pts = make([]FPoint, 0, ev.steps)
		out Series
	)
	for _, s := range ev.selectSeries(vs) {
		ev.checkCtx()
		it = s.Iterator(it)
		buf = ev.readSamples(it, first-ev.lookback+1, last+ev.lookback, false, buf[:0])
		pts = pts[:0]
		lo, j := 0, 0
		for i := 0; i < ev.steps; i++ {
			t := ev.ts(i)
			ref := t - off
			if fixed {
				ref = first
			}
			for lo < len(buf) && buf[lo].T <= ref-ev.lookback {
				lo++
			}
			j = max(j, lo)
			for j < len(buf) && buf[j].T < ref {
				j++
			}
			// buf[lo:j] are before ref within the lookback, buf[j] (if
			// within the lookback after ref) at or after it.
			hasNext := j < len(buf) && buf[j].T <= ref+ev.lookback
			switch {
			case hasNext && buf[j].T == ref:
				pts = append(pts, FPoint{T: t, F: buf[j].F})
			case j > lo && hasNext:
				pts = append(pts, FPoint{T: t, F: interpolate(buf[j-1], buf[j], ref, false)})
			case j > lo:
				pts = append(pts, FPoint{T: t, F: buf[j-1].F})
			}
		}
		if len(pts) == 0 {
			continue
		}
		// Upstream does not count the samples of a smoothed instant
		// selector in its stats; neither does argus, to match.
		ev.account(len(pts))
		out = Series{Metric: s.Labels(), Floats: pts}
		emit(&out)
	}
}
