package promql

import (
	"container/heap"
	"math"
	"slices"
	"sort"
	"strconv"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/schema"
	"github.com/prometheus/prometheus/util/annotations"
	"github.com/prometheus/prometheus/util/kahansum"
)

// grouping maps the input series of an aggregation to output groups.
type grouping struct {
	of     []int           // group index of each input series
	labels []labels.Labels // output labels of each group
	// first input series of each group, for ops that keep input labels.
	n int
}

// sortedGrouping returns the labels an aggregation groups by (or drops with
// without), sorted as the hashing functions expect.
func sortedGrouping(e *parser.AggregateExpr) []string {
	g := slices.Clone(e.Grouping)
	if e.Without {
		g = append(g, model.MetricNameLabel, model.MetricTypeLabel, model.MetricUnitLabel)
	}
	slices.Sort(g)
	return g
}

func groupKey(metric labels.Labels, names []string, without bool, buf []byte) (uint64, []byte) {
	if without {
		return metric.HashWithoutLabels(buf, names...)
	}
	if len(names) == 0 {
		return 0, buf
	}
	return metric.HashForLabels(buf, names...)
}

func groupLabels(lb *labels.Builder, metric labels.Labels, names []string, without bool) labels.Labels {
	lb.Reset(metric)
	switch {
	case without:
		lb.Del(names...)
		schema.Metadata{}.SetToLabels(lb)
		return lb.Labels()
	case len(names) > 0:
		lb.Keep(names...)
		return lb.Labels()
	}
	return labels.EmptyLabels()
}

// groupSeries assigns every series of m to its group by hashing its grouping labels.
func groupSeries(m Matrix, names []string, without, wantLabels bool) grouping {
	g := grouping{of: make([]int, len(m))}
	index := make(map[uint64]int)
	lb := labels.NewBuilder(labels.EmptyLabels())
	var buf []byte
	for i, s := range m {
		var key uint64
		key, buf = groupKey(s.Metric, names, without, buf)
		idx, ok := index[key]
		if !ok {
			idx = g.n
			index[key] = idx
			g.n++
			if wantLabels {
				g.labels = append(g.labels, groupLabels(lb, s.Metric, names, without))
			}
		}
		g.of[i] = idx
	}
	return g
}

// stepCursor walks the points of a matrix step by step.
type stepCursor []int

// at returns the value of series i at time t, advancing past it.
func (c stepCursor) at(m Matrix, i int, t int64) (float64, bool) {
	j := c[i]
	if j >= len(m[i].Floats) || m[i].Floats[j].T != t {
		return 0, false
	}
	c[i]++
	return m[i].Floats[j].F, true
}

// paramRange summarises an aggregation parameter over all steps.
type paramRange struct {
	vals     []float64
	min, max float64
	hasNaN   bool
}

func newParamRange(vals []float64) paramRange {
	p := paramRange{vals: vals, min: math.MaxFloat64, max: -math.MaxFloat64}
	for _, v := range vals {
		p.min, p.max = math.Min(p.min, v), math.Max(p.max, v)
		if math.IsNaN(v) {
			p.hasNaN = true
		}
	}
	return p
}

func (ev *evaluator) evalAggregation(e *parser.AggregateExpr) Matrix {
	names := sortedGrouping(e)
	if e.Op == parser.COUNT_VALUES {
		return ev.countValues(e, names)
	}
	if streamedAggregation(e.Op) {
		return ev.aggregateStream(e, names)
	}
	var param paramRange
	if e.Param != nil {
		param = newParamRange(ev.evalScalar(e.Param))
	}
	m := ev.eval(e.Expr)
	defer ev.release(m)
	switch e.Op {
	case parser.TOPK, parser.BOTTOMK, parser.LIMITK, parser.LIMIT_RATIO:
		return ev.aggregateK(e, names, m, param)
	case parser.QUANTILE:
		if param.hasNaN {
			ev.annos.Add(annotations.NewInvalidQuantileWarning(math.NaN(), e.Param.PositionRange()))
		}
		if param.max > 1 {
			ev.annos.Add(annotations.NewInvalidQuantileWarning(param.max, e.Param.PositionRange()))
		}
		if param.min < 0 {
			ev.annos.Add(annotations.NewInvalidQuantileWarning(param.min, e.Param.PositionRange()))
		}
	}
	return ev.aggregate(e, names, m, param)
}

// aggState is one group's running aggregate at the current step.
type aggState struct {
	f, mean, comp float64
	count         float64
	values        []float64
	seen          bool
	incMean       bool
}

// value is the aggregation's result for a group at one step (quantile,
// which needs the step's parameter, aside).
func (s *aggState) value(op parser.ItemType) float64 {
	switch op {
	case parser.AVG:
		if s.incMean {
			return s.mean + s.comp
		}
		return s.f/s.count + s.comp/s.count
	case parser.COUNT:
		return s.count
	case parser.STDVAR:
		return s.f / s.count
	case parser.STDDEV:
		return math.Sqrt(s.f / s.count)
	case parser.SUM:
		return s.f + s.comp
	}
	return s.f
}

// aggregate evaluates sum, avg, count, group, min, max, stddev, stdvar and
// quantile step by step, as upstream does and in the same order, so float
// rounding matches.
func (ev *evaluator) aggregate(e *parser.AggregateExpr, names []string, m Matrix, param paramRange) Matrix {
	g := groupSeries(m, names, e.Without, true)
	out := make(Matrix, g.n)
	for i := range out {
		out[i].Metric = g.labels[i]
	}
	states := make([]aggState, g.n)
	cur := make(stepCursor, len(m))
	op := e.Op
	for step := 0; step < ev.steps; step++ {
		ev.checkCtx()
		t := ev.ts(step)
		for i := range states {
			states[i].seen = false
		}
		for i := range m {
			f, ok := cur.at(m, i, t)
			if !ok {
				continue
			}
			gi := g.of[i]
			s := &states[gi]
			if m[i].DropName {
				out[gi].DropName = true
			}
			if !s.seen {
				*s = aggState{seen: true, f: f, mean: f, count: 1, values: s.values[:0]}
				switch op {
				case parser.STDVAR, parser.STDDEV:
					if math.IsNaN(f) || math.IsInf(f, 0) {
						s.f = math.NaN()
					} else {
						s.f = 0
					}
				case parser.QUANTILE:
					s.values = append(s.values, f)
				case parser.GROUP:
					s.f = 1
				}
				continue
			}
			aggregateAdd(op, s, f)
		}
		for gi := range states {
			s := &states[gi]
			if !s.seen {
				continue
			}
			var v float64
			if op == parser.QUANTILE {
				v = quantile(param.vals[step], s.values)
			} else {
				v = s.value(op)
			}
			out[gi].Floats = append(out[gi].Floats, FPoint{T: t, F: v})
		}
	}
	res := out[:0]
	for _, s := range out {
		if len(s.Floats) > 0 {
			ev.account(len(s.Floats))
			res = append(res, s)
		}
	}
	return res
}

// aggregateAdd folds one more value into a group's state.
func aggregateAdd(op parser.ItemType, s *aggState, f float64) {
	switch op {
	case parser.SUM:
		s.f, s.comp = kahansum.Inc(f, s.f, s.comp)
	case parser.AVG:
		s.count++
		if !s.incMean {
			newV, newC := kahansum.Inc(f, s.f, s.comp)
			if !math.IsInf(newV, 0) {
				s.f, s.comp = newV, newC
				return
			}
			// The sum overflowed: switch to an incremental mean.
			s.incMean = true
			s.mean = s.f / (s.count - 1)
			s.comp /= s.count - 1
		}
		q := (s.count - 1) / s.count
		s.mean, s.comp = kahansum.Inc(f/s.count, q*s.mean, q*s.comp)
	case parser.MAX:
		if s.f < f || math.IsNaN(s.f) {
			s.f = f
		}
	case parser.MIN:
		if s.f > f || math.IsNaN(s.f) {
			s.f = f
		}
	case parser.COUNT:
		s.count++
	case parser.STDVAR, parser.STDDEV:
		s.count++
		delta := f - s.mean
		s.mean += delta / s.count
		s.f += delta * (f - s.mean)
	case parser.QUANTILE:
		s.values = append(s.values, f)
	}
}

// countValues counts, per group and step, the series having each value.
func (ev *evaluator) countValues(e *parser.AggregateExpr, names []string) Matrix {
	valueLabel := stringOf(e.Param)
	if !model.UTF8Validation.IsValidLabelName(valueLabel) {
		ev.errorf("invalid label name %s", strconv.Quote(valueLabel))
	}
	if !e.Without {
		names = append(names, valueLabel)
		slices.Sort(names)
	}
	m := ev.eval(e.Expr)
	defer ev.release(m)
	lb := labels.NewBuilder(labels.EmptyLabels())
	glb := labels.NewBuilder(labels.EmptyLabels())
	outIdx := map[uint64]int{}
	var out Matrix
	counts := map[int]float64{}
	var order []int
	cur := make(stepCursor, len(m))
	var buf []byte
	for step := 0; step < ev.steps; step++ {
		t := ev.ts(step)
		clear(counts)
		order = order[:0]
		for i := range m {
			f, ok := cur.at(m, i, t)
			if !ok {
				continue
			}
			lb.Reset(m[i].Metric)
			lb.Set(valueLabel, strconv.FormatFloat(f, 'f', -1, 64))
			metric := lb.Labels()
			var key uint64
			key, buf = groupKey(metric, names, e.Without, buf)
			idx, ok := outIdx[key]
			if !ok {
				idx = len(out)
				outIdx[key] = idx
				out = append(out, Series{Metric: groupLabels(glb, metric, names, e.Without)})
			}
			if _, seen := counts[idx]; !seen {
				order = append(order, idx)
			}
			counts[idx]++
		}
		for _, idx := range order {
			out[idx].Floats = append(out[idx].Floats, FPoint{T: t, F: counts[idx]})
		}
	}
	ev.account(out.TotalSamples())
	return out
}

// kEntry is a candidate series of topk, bottomk, limitk or limit_ratio.
type kEntry struct {
	series int
	f      float64
}

// kHeap is a min-heap by value (NaN lowest) for topk; with reverse it is a
// max-heap (NaN lowest) for bottomk, as upstream's vectorByValueHeap and
// vectorByReverseValueHeap.
type kHeap struct {
	e       []kEntry
	reverse bool
}

func (h *kHeap) Len() int { return len(h.e) }
func (h *kHeap) Less(i, j int) bool {
	vi, vj := h.e[i].f, h.e[j].f
	if math.IsNaN(vi) {
		return true
	}
	if h.reverse {
		return vi > vj
	}
	return vi < vj
}
func (h *kHeap) Swap(i, j int) { h.e[i], h.e[j] = h.e[j], h.e[i] }
func (h *kHeap) Push(x any)    { h.e = append(h.e, x.(kEntry)) }
func (h *kHeap) Pop() any {
	old := h.e
	x := old[len(old)-1]
	h.e = old[:len(old)-1]
	return x
}

// aggregateK evaluates topk, bottomk, limitk and limit_ratio: the output
// series are input series, kept at the steps where they are selected.
func (ev *evaluator) aggregateK(e *parser.AggregateExpr, names []string, m Matrix, param paramRange) Matrix {
	switch e.Op {
	case parser.LIMIT_RATIO:
		if param.max == 0 && param.min == 0 {
			return Matrix{}
		}
		if param.hasNaN {
			ev.errorf("Ratio value is NaN")
		}
		if param.max > 1.0 {
			ev.annos.Add(annotations.NewInvalidRatioWarning(param.max, 1.0, e.Param.PositionRange()))
		}
		if param.min < -1.0 {
			ev.annos.Add(annotations.NewInvalidRatioWarning(param.min, -1.0, e.Param.PositionRange()))
		}
	default:
		if param.max < 1 {
			return Matrix{}
		}
		if param.hasNaN {
			ev.errorf("Parameter value is NaN")
		}
		if param.min <= math.MinInt64 {
			ev.errorf("Scalar value %v underflows int64", param.min)
		}
		if param.max >= math.MaxInt64 {
			ev.errorf("Scalar value %v overflows int64", param.max)
		}
	}
	g := groupSeries(m, names, e.Without, false)
	heaps := make([]kHeap, g.n)
	seen := make([]bool, g.n)
	var groupOrder []int
	outIdx := make([]int, len(m))
	for i := range outIdx {
		outIdx[i] = -1
	}
	var out Matrix
	add := func(si int, t int64, f float64) {
		if outIdx[si] < 0 {
			outIdx[si] = len(out)
			out = append(out, Series{Metric: m[si].Metric, DropName: m[si].DropName, Floats: ev.bufs.points.take(ev.steps)})
		}
		o := &out[outIdx[si]]
		o.Floats = append(o.Floats, FPoint{T: t, F: f})
	}
	cur := make(stepCursor, len(m))
	var ratioOffsets []float64
	if e.Op == parser.LIMIT_RATIO {
		ratioOffsets = make([]float64, len(m))
		for i := range m {
			ratioOffsets[i] = float64(m[i].Metric.Hash()) / float64(math.MaxUint64)
		}
	}
	for step := 0; step < ev.steps; step++ {
		ev.checkCtx()
		t := ev.ts(step)
		p := param.vals[step]
		var k int
		var r float64
		switch e.Op {
		case parser.LIMIT_RATIO:
			r = max(-1, min(1, p))
		default:
			k = int(min(int64(p), int64(len(m))))
		}
		if (e.Op != parser.LIMIT_RATIO && k < 1) || (e.Op == parser.LIMIT_RATIO && p == 0) {
			for i := range m {
				cur.at(m, i, t)
			}
			if ev.steps == 1 {
				return Matrix{}
			}
			continue
		}
		clear(seen)
		groupOrder = groupOrder[:0]
		for i := range m {
			f, ok := cur.at(m, i, t)
			if !ok {
				continue
			}
			gi := g.of[i]
			h := &heaps[gi]
			if !seen[gi] {
				seen[gi] = true
				groupOrder = append(groupOrder, gi)
				h.e = h.e[:0]
				h.reverse = e.Op == parser.BOTTOMK
			}
			en := kEntry{series: i, f: f}
			switch e.Op {
			case parser.TOPK, parser.BOTTOMK:
				switch {
				case len(h.e) < k:
					heap.Push(h, en)
				case (!h.reverse && (h.e[0].f < f || (math.IsNaN(h.e[0].f) && !math.IsNaN(f)))) ||
					(h.reverse && (h.e[0].f > f || (math.IsNaN(h.e[0].f) && !math.IsNaN(f)))):
					h.e[0] = en
					if k > 1 {
						heap.Fix(h, 0)
					}
				}
			case parser.LIMITK:
				if len(h.e) < k {
					h.e = append(h.e, en)
				}
			case parser.LIMIT_RATIO:
				off := ratioOffsets[i]
				if (r >= 0 && off < r) || (r < 0 && off >= 1+r) {
					h.e = append(h.e, en)
				}
			}
		}
		for _, gi := range groupOrder {
			h := &heaps[gi]
			if e.Op == parser.TOPK || e.Op == parser.BOTTOMK {
				// Largest (topk) or smallest (bottomk) first, as upstream's
				// instant results are ordered.
				sort.Sort(sort.Reverse(h))
			}
			for _, en := range h.e {
				add(en.series, t, en.f)
			}
		}
	}
	ev.account(out.TotalSamples())
	return out
}

// stream produces the series of expr one at a time, without materialising
// them all when expr is a selector or a range function; otherwise it
// evaluates expr and walks the result. Points passed to emit are only valid
// during the call, and so are labels (the storage may reuse their memory,
// see eachSeries): emit copies what it keeps. A range function's series marked DropName still carry
// their name even when names are not removed late: the consumer must ignore
// it (streamRangeFunc has already failed the query if two of them would
// collide without it). That saves copying every series' labels.

func (ev *evaluator) stream(expr parser.Expr, emit func(*Series)) {
	if ev.streamNode(expr, false, emit) {
		return
	}
	m := ev.eval(expr)
	for i := range m {
		emit(&m[i])
	}
	ev.release(m)
}

// streamNode produces the series of expr one at a time when expr is a
// selector or a range function, reporting false, having evaluated nothing,
// for other expressions. Points passed to emit are only valid during the
// call, and so are labels unless keep is set.
func (ev *evaluator) streamNode(expr parser.Expr, keep bool, emit func(*Series)) bool {
	switch e := expr.(type) {
	case *parser.ParenExpr:
		return ev.streamNode(e.Expr, keep, emit)
	case *parser.VectorSelector:
		ev.streamVectorSelector(e, false, !keep, emit)
		return true
	case *parser.Call:
		if fn, ok := rangeFuncs[e.Func.Name]; ok {
			for i, a := range e.Args {
				switch a.(type) {
				case *parser.MatrixSelector, *parser.SubqueryExpr:
					ev.streamRangeFunc(e, fn, i, keep, emit)
					return true
				}
			}
		}
	}
	return false
}

// namesWithoutMetadata returns the grouping labels that treat __name__,
// __type__ and __unit__ as absent: added to a without list, removed from a
// by list. names is sorted, and so is the result.
func namesWithoutMetadata(names []string, without bool) []string {
	meta := []string{model.MetricNameLabel, model.MetricTypeLabel, model.MetricUnitLabel}
	if without {
		out := slices.Clone(names)
		for _, m := range meta {
			if !slices.Contains(out, m) {
				out = append(out, m)
			}
		}
		slices.Sort(out)
		return out
	}
	return slices.DeleteFunc(slices.Clone(names), func(n string) bool { return slices.Contains(meta, n) })
}

// streamGroup is one output group of a streamed aggregation: its state at
// every step, in columns so only what the operator needs is allocated.
type streamGroup struct {
	metric labels.Labels
	// st holds per step the value in F and its compensation (or count)
	// in T as float bits: the result's points are then written over it,
	// so a group needs no second copy of its steps.
	st []FPoint
	// means holds per step the count and the mean, side by side, for
	// avg, stddev and stdvar (one column: an instant query's groups are
	// small, and there can be many).
	means []float64
	flags []uint8
	// countInComp: count() keeps its count in the comp column.
	countInComp bool
	dropName    bool
}

const (
	stepSeen uint8 = 1 << iota
	stepIncMean
)

// aggregateStream evaluates sum, avg, count, group, min, max, stddev and
// stdvar series by series, keeping per group one state per step instead of
// the input matrix. Per group and step, values are folded in the same order
// as the step-by-step evaluation, so results are identical.
func (ev *evaluator) aggregateStream(e *parser.AggregateExpr, names []string) Matrix {
	op := e.Op
	withMean := op == parser.AVG || op == parser.STDDEV || op == parser.STDVAR
	var (
		index  = map[uint64]int{}
		groups []*streamGroup
		lb     = labels.NewBuilder(labels.EmptyLabels())
		buf    []byte
	)
	// Series whose name is already gone for the query (see stream) are
	// grouped as if they had none.
	unnamed := names
	if !ev.delayedNames {
		unnamed = namesWithoutMetadata(names, e.Without)
	}
	ev.streamInput(e.Expr, func(s *Series) {
		gnames := names
		if s.DropName {
			gnames = unnamed
		}
		var key uint64
		key, buf = groupKey(s.Metric, gnames, e.Without, buf)
		gi, ok := index[key]
		if !ok {
			gi = len(groups)
			index[key] = gi
			g := &streamGroup{
				// A copy: groupLabels returns s.Metric itself when it
				// keeps every label, and that memory is reused.
				metric: groupLabels(lb, s.Metric, gnames, e.Without).Copy(),
				st:     ev.bufs.points.zeroed(ev.steps),
				flags:  ev.bufs.flags.zeroed(ev.steps),

				countInComp: op == parser.COUNT,
			}
			if withMean {
				g.means = ev.bufs.floats.zeroed(2 * ev.steps)
			}
			groups = append(groups, g)
		}
		g := groups[gi]
		if s.DropName {
			g.dropName = true
		}
		for _, p := range s.Floats {
			i := ev.stepOf(p.T)
			if g.flags[i]&stepSeen == 0 {
				// Counted as the point it becomes, as Prometheus counts
				// an aggregation's output: a group present at a few steps
				// of many (count by (value) of count_values) is not a
				// point at every step.
				ev.account(1)
				g.flags[i] = stepSeen
				st := aggState{f: p.F, mean: p.F, count: 1}
				switch op {
				case parser.STDVAR, parser.STDDEV:
					if math.IsNaN(p.F) || math.IsInf(p.F, 0) {
						st.f = math.NaN()
					} else {
						st.f = 0
					}
				case parser.GROUP:
					st.f = 1
				}
				g.store(i, &st)
				continue
			}
			st := g.load(i)
			aggregateAdd(op, &st, p.F)
			g.store(i, &st)
		}
	})
	out := make(Matrix, 0, len(groups))
	for _, g := range groups {
		n := 0
		for _, fl := range g.flags {
			if fl&stepSeen != 0 {
				n++
			}
		}
		// In place: point j is written after state j..i was read.
		pts := g.st[:0:n]
		for i, fl := range g.flags {
			if fl&stepSeen == 0 {
				continue
			}
			st := g.load(i)
			v := st.value(op)
			pts = append(pts, FPoint{T: ev.ts(i), F: v})
		}
		if len(pts) > 0 {
			out = append(out, Series{Metric: g.metric, Floats: pts, DropName: g.dropName})
		}
	}
	return out
}

// load returns the state at step i. For count, the count lives in comp.
func (g *streamGroup) load(i int) aggState {
	comp := math.Float64frombits(uint64(g.st[i].T))
	st := aggState{f: g.st[i].F, comp: comp, seen: true, incMean: g.flags[i]&stepIncMean != 0}
	switch {
	case g.means != nil:
		st.count, st.mean = g.means[2*i], g.means[2*i+1]
	case g.countInComp:
		st.count, st.comp = comp, 0
	}
	return st
}

func (g *streamGroup) store(i int, st *aggState) {
	comp := st.comp
	switch {
	case g.means != nil:
		g.means[2*i], g.means[2*i+1] = st.count, st.mean
	case g.countInComp:
		comp = st.count
	}
	g.st[i] = FPoint{T: int64(math.Float64bits(comp)), F: st.f}
	if st.incMean {
		g.flags[i] |= stepIncMean
	}
}
