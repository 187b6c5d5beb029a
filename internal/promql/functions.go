package promql

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/facette/natsort"
	"github.com/grafana/regexp"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/schema"
	"github.com/prometheus/prometheus/util/annotations"
)

// simpleFuncs map each sample value of an instant vector to a new one and
// mark the series for __name__ removal.
var simpleFuncs = map[string]func(float64) float64{
	"abs":   math.Abs,
	"ceil":  math.Ceil,
	"floor": math.Floor,
	"exp":   math.Exp,
	"sqrt":  math.Sqrt,
	"ln":    math.Log,
	"log2":  math.Log2,
	"log10": math.Log10,
	"sin":   math.Sin,
	"cos":   math.Cos,
	"tan":   math.Tan,
	"asin":  math.Asin,
	"acos":  math.Acos,
	"atan":  math.Atan,
	"sinh":  math.Sinh,
	"cosh":  math.Cosh,
	"tanh":  math.Tanh,
	"asinh": math.Asinh,
	"acosh": math.Acosh,
	"atanh": math.Atanh,
	"rad":   func(v float64) float64 { return v * (math.Pi / 180) },
	"deg":   func(v float64) float64 { return v * (180 / math.Pi) },
	"sgn": func(v float64) float64 {
		switch {
		case v < 0:
			return -1
		case v > 0:
			return 1
		}
		return v
	},
}

// dateFuncs compute a calendar field of a time in UTC.
var dateFuncs = map[string]func(time.Time) float64{
	"days_in_month": func(t time.Time) float64 {
		return float64(32 - time.Date(t.Year(), t.Month(), 32, 0, 0, 0, 0, time.UTC).Day())
	},
	"day_of_month": func(t time.Time) float64 { return float64(t.Day()) },
	"day_of_week":  func(t time.Time) float64 { return float64(t.Weekday()) },
	"day_of_year":  func(t time.Time) float64 { return float64(t.YearDay()) },
	"hour":         func(t time.Time) float64 { return float64(t.Hour()) },
	"minute":       func(t time.Time) float64 { return float64(t.Minute()) },
	"month":        func(t time.Time) float64 { return float64(t.Month()) },
	"year":         func(t time.Time) float64 { return float64(t.Year()) },
}

// evalCall evaluates a function call. The switch dispatches on the function
// name; it is long because it is a flat table.
func (ev *evaluator) evalCall(e *parser.Call) Matrix {
	name := e.Func.Name
	rangeArg := -1
	for i, a := range e.Args {
		switch a.(type) {
		case *parser.MatrixSelector, *parser.SubqueryExpr:
			rangeArg = i
		}
		if rangeArg >= 0 {
			break
		}
	}
	switch name {
	case "label_replace":
		return ev.labelReplace(e)
	case "label_join":
		return ev.labelJoin(e)
	case "absent":
		return ev.absent(e)
	case "absent_over_time":
		return ev.absentOverTime(e, rangeArg)
	case "timestamp":
		return ev.timestamp(e)
	case "scalar":
		m := ev.eval(e.Args[0])
		vals := make([]float64, ev.steps)
		counts := make([]int, ev.steps)
		for _, s := range m {
			for _, p := range s.Floats {
				i := ev.stepOf(p.T)
				vals[i] = p.F
				counts[i]++
			}
		}
		ev.release(m)
		return ev.scalarMatrix(func(i int) float64 {
			if counts[i] != 1 {
				return math.NaN()
			}
			return vals[i]
		})
	case "vector":
		return ev.eval(e.Args[0])
	case "time":
		return ev.scalarMatrix(func(i int) float64 { return float64(ev.ts(i)) / 1000 })
	case "pi":
		return ev.scalarMatrix(func(int) float64 { return math.Pi })
	case "min_of", "max_of":
		a, b := ev.evalScalar(e.Args[0]), ev.evalScalar(e.Args[1])
		if name == "min_of" {
			return ev.scalarMatrix(func(i int) float64 { return math.Min(a[i], b[i]) })
		}
		return ev.scalarMatrix(func(i int) float64 { return math.Max(a[i], b[i]) })
	case "sort", "sort_desc", "sort_by_label", "sort_by_label_desc":
		return ev.sort(e)
	case "histogram_quantile":
		return ev.classicHistogram(e, e.Args[1], nil, ev.evalScalar(e.Args[0]), "", nil)
	case "histogram_quantiles":
		qs := make([][]float64, 0, len(e.Args)-2)
		for _, a := range e.Args[2:] {
			qs = append(qs, ev.evalScalar(a))
		}
		return ev.classicHistogram(e, e.Args[0], nil, nil, stringOf(e.Args[1]), qs)
	case "histogram_fraction":
		lower, upper := ev.evalScalar(e.Args[0]), ev.evalScalar(e.Args[1])
		return ev.classicHistogram(e, e.Args[2], func(i int) []float64 { return []float64{lower[i], upper[i]} }, nil, "", nil)
	case "histogram_count", "histogram_sum", "histogram_avg", "histogram_stddev", "histogram_stdvar":
		// These only look at native histograms, which a query that got here
		// has not read: float samples are ignored.
		ev.release(ev.eval(e.Args[0]))
		return Matrix{}
	case "clamp", "clamp_min", "clamp_max":
		return ev.clamp(e)
	case "round":
		m := ev.eval(e.Args[0])
		toNearest := make([]float64, ev.steps)
		if len(e.Args) > 1 {
			toNearest = ev.evalScalar(e.Args[1])
		} else {
			for i := range toNearest {
				toNearest[i] = 1
			}
		}
		for i := range m {
			m[i].DropName = true
			for j, p := range m[i].Floats {
				inv := 1.0 / toNearest[ev.stepOf(p.T)]
				m[i].Floats[j].F = math.Floor(p.F*inv+0.5) / inv
			}
		}
		return m
	case "info":
		return ev.evalInfo(e)
	case "start_timestamp":
		ev.errorf("function %s() is not supported yet by argus", name)
	}
	if f, ok := dateFuncs[name]; ok {
		if len(e.Args) == 0 {
			return ev.vectorOfScalar(func(i int) float64 { return f(time.Unix(ev.ts(i)/1000, 0).UTC()) })
		}
		return ev.mapValues(ev.eval(e.Args[0]), func(v float64) float64 { return f(time.Unix(int64(v), 0).UTC()) })
	}
	if f, ok := simpleFuncs[name]; ok {
		return ev.mapValues(ev.eval(e.Args[0]), f)
	}
	if f, ok := rangeFuncs[name]; ok && rangeArg >= 0 {
		return ev.evalRangeFunc(e, f, rangeArg)
	}
	ev.errorf("function %s() is not supported yet by argus", name)
	return nil
}

// mapValues applies f to every point of m in place; the result loses __name__.
func (ev *evaluator) mapValues(m Matrix, f func(float64) float64) Matrix {
	for i := range m {
		m[i].DropName = true
		for j := range m[i].Floats {
			m[i].Floats[j].F = f(m[i].Floats[j].F)
		}
	}
	return m
}

// vectorOfScalar returns an instant vector with one label-less series holding f(i) at step i.
func (ev *evaluator) vectorOfScalar(f func(int) float64) Matrix {
	return ev.scalarMatrix(f)
}

func (ev *evaluator) clamp(e *parser.Call) Matrix {
	m := ev.eval(e.Args[0])
	lo := make([]float64, ev.steps)
	hi := make([]float64, ev.steps)
	switch e.Func.Name {
	case "clamp":
		lo, hi = ev.evalScalar(e.Args[1]), ev.evalScalar(e.Args[2])
	case "clamp_min":
		lo = ev.evalScalar(e.Args[1])
		for i := range hi {
			hi[i] = math.Inf(+1)
		}
	case "clamp_max":
		hi = ev.evalScalar(e.Args[1])
		for i := range lo {
			lo[i] = math.Inf(-1)
		}
	}
	out := m[:0]
	for _, s := range m {
		pts := s.Floats[:0]
		for _, p := range s.Floats {
			i := ev.stepOf(p.T)
			if hi[i] < lo[i] {
				continue
			}
			pts = append(pts, FPoint{T: p.T, F: math.Max(lo[i], math.Min(hi[i], p.F))})
		}
		if len(pts) > 0 {
			s.Floats, s.DropName = pts, true
			out = append(out, s)
		}
	}
	return out
}

func (ev *evaluator) timestamp(e *parser.Call) Matrix {
	if vs, ok := e.Args[0].(*parser.VectorSelector); ok {
		m := ev.evalVectorSelector(vs, true)
		for i := range m {
			m[i].DropName = true
		}
		return m
	}
	m := ev.eval(e.Args[0])
	for i := range m {
		m[i].DropName = true
		for j := range m[i].Floats {
			m[i].Floats[j].F = float64(m[i].Floats[j].T) / 1000
		}
	}
	return m
}

// absentLabels are the labels of absent()'s output: those of the selector's
// equality matchers, except a label matched more than once.
func absentLabels(expr parser.Expr) labels.Labels {
	var lm []*labels.Matcher
	switch n := expr.(type) {
	case *parser.VectorSelector:
		lm = n.LabelMatchers
	case *parser.MatrixSelector:
		lm = n.VectorSelector.(*parser.VectorSelector).LabelMatchers
	default:
		return labels.EmptyLabels()
	}
	b := labels.NewBuilder(labels.EmptyLabels())
	has := make(map[string]bool, len(lm))
	for _, m := range lm {
		if schema.IsMetadataLabel(m.Name) {
			continue
		}
		if m.Type == labels.MatchEqual && !has[m.Name] {
			b.Set(m.Name, m.Value)
			has[m.Name] = true
		} else {
			b.Del(m.Name)
		}
	}
	return b.Labels()
}

// absentSteps returns a series with value 1 at the steps not in present.
func (ev *evaluator) absentSteps(present []bool, lbls labels.Labels, dropName bool) Matrix {
	var pts []FPoint
	for i, ok := range present {
		if !ok {
			pts = append(pts, FPoint{T: ev.ts(i), F: 1})
		}
	}
	if len(pts) == 0 {
		return Matrix{}
	}
	ev.account(len(pts))
	return Matrix{{Metric: lbls, Floats: pts, DropName: dropName}}
}

func (ev *evaluator) absent(e *parser.Call) Matrix {
	m := ev.eval(e.Args[0])
	present := make([]bool, ev.steps)
	for _, s := range m {
		for _, p := range s.Floats {
			present[ev.stepOf(p.T)] = true
		}
	}
	ev.release(m)
	return ev.absentSteps(present, absentLabels(e.Args[0]), false)
}

func (ev *evaluator) absentOverTime(e *parser.Call, rangeArg int) Matrix {
	m := ev.evalRangeFunc(e, rangeFuncs["present_over_time"], rangeArg)
	present := make([]bool, ev.steps)
	for _, s := range m {
		for _, p := range s.Floats {
			present[ev.stepOf(p.T)] = true
		}
	}
	ev.release(m)
	return ev.absentSteps(present, absentLabels(e.Args[0]), true)
}

// sort orders an instant query's series; a range query's result is ordered
// by labels anyway, so there it only filters nothing.
func (ev *evaluator) sort(e *parser.Call) Matrix {
	m := ev.eval(e.Args[0])
	if ev.start != ev.end {
		// Added after the argument's annotations, as upstream, so an outer
		// sort's position wins over an inner one's.
		ev.annos.Add(annotations.NewSortInRangeQueryWarning(e.PositionRange()))
	}
	if ev.steps != 1 {
		return m
	}
	val := func(s Series) float64 { return s.Floats[0].F }
	switch e.Func.Name {
	case "sort":
		slices.SortStableFunc(m, func(a, b Series) int {
			va, vb := val(a), val(b)
			switch {
			case va < vb || (math.IsNaN(vb) && !math.IsNaN(va)):
				return -1
			case vb < va || (math.IsNaN(va) && !math.IsNaN(vb)):
				return 1
			}
			return 0
		})
	case "sort_desc":
		slices.SortStableFunc(m, func(a, b Series) int {
			va, vb := val(a), val(b)
			switch {
			case va > vb || (math.IsNaN(vb) && !math.IsNaN(va)):
				return -1
			case vb > va || (math.IsNaN(va) && !math.IsNaN(vb)):
				return 1
			}
			return 0
		})
	default:
		names := make([]string, 0, len(e.Args)-1)
		for _, a := range e.Args[1:] {
			names = append(names, stringOf(a))
		}
		desc := e.Func.Name == "sort_by_label_desc"
		slices.SortFunc(m, func(a, b Series) int {
			for _, n := range names {
				va, vb := a.Metric.Get(n), b.Metric.Get(n)
				if va == vb {
					continue
				}
				less := natsort.Compare(va, vb)
				if less != desc {
					return -1
				}
				return +1
			}
			if desc {
				return -labels.Compare(a.Metric, b.Metric)
			}
			return labels.Compare(a.Metric, b.Metric)
		})
	}
	return m
}

func (ev *evaluator) labelReplace(e *parser.Call) Matrix {
	dst, repl, src, re := stringOf(e.Args[1]), stringOf(e.Args[2]), stringOf(e.Args[3]), stringOf(e.Args[4])
	regex, err := regexp.Compile("^(?s:" + re + ")$")
	if err != nil {
		ev.errorf("invalid regular expression in label_replace(): %s", re)
	}
	if !model.UTF8Validation.IsValidLabelName(dst) {
		ev.errorf("invalid destination label name in label_replace(): %s", dst)
	}
	m := ev.eval(e.Args[0])
	lb := labels.NewBuilder(labels.EmptyLabels())
	for i, s := range m {
		srcVal := s.Metric.Get(src)
		idx := regex.FindStringSubmatchIndex(srcVal)
		if idx == nil {
			continue
		}
		res := regex.ExpandString(nil, repl, srcVal, idx)
		lb.Reset(s.Metric)
		lb.Set(dst, string(res))
		m[i].Metric = lb.Labels()
		if dst == model.MetricNameLabel {
			m[i].DropName = false
		}
	}
	return ev.mergeSameLabels(m)
}

func (ev *evaluator) labelJoin(e *parser.Call) Matrix {
	dst, sep := stringOf(e.Args[1]), stringOf(e.Args[2])
	srcs := make([]string, 0, len(e.Args)-3)
	for _, a := range e.Args[3:] {
		src := stringOf(a)
		if !model.UTF8Validation.IsValidLabelName(src) {
			ev.errorf("invalid source label name in label_join(): %s", src)
		}
		srcs = append(srcs, src)
	}
	if !model.UTF8Validation.IsValidLabelName(dst) {
		ev.errorf("invalid destination label name in label_join(): %s", dst)
	}
	m := ev.eval(e.Args[0])
	lb := labels.NewBuilder(labels.EmptyLabels())
	vals := make([]string, len(srcs))
	for i, s := range m {
		for j, src := range srcs {
			vals[j] = s.Metric.Get(src)
		}
		lb.Reset(s.Metric)
		lb.Set(dst, strings.Join(vals, sep))
		m[i].Metric = lb.Labels()
		if dst == model.MetricNameLabel {
			m[i].DropName = false
		}
	}
	return ev.mergeSameLabels(m)
}

// annoName is the metric name a histogram annotation names: Prometheus
// leaves it out unless names are removed late, since by default the result
// has lost it.
func (ev *evaluator) annoName(lbls labels.Labels) string {
	if !ev.delayedNames {
		return ""
	}
	return lbls.Get(labels.MetricName)
}

// classicHistogram evaluates histogram_quantile (q set), histogram_quantiles
// (qLabel and qs set) and histogram_fraction (bounds set) over classic
// histograms: series grouped by their labels without "le", one bucket per series.
func (ev *evaluator) classicHistogram(e *parser.Call, arg parser.Expr, bounds func(int) []float64, q []float64, qLabel string, qs [][]float64) Matrix {
	m := ev.eval(arg)
	pos := arg.PositionRange()
	if q != nil {
		for i := range q {
			if math.IsNaN(q[i]) || q[i] < 0 || q[i] > 1 {
				ev.annos.Add(annotations.NewInvalidQuantileWarning(q[i], e.Args[0].PositionRange()))
			}
		}
	}
	for j, qv := range qs {
		for i := range qv {
			if math.IsNaN(qv[i]) || qv[i] < 0 || qv[i] > 1 {
				ev.annos.Add(annotations.NewInvalidQuantileWarning(qv[i], e.Args[j+2].PositionRange()))
			}
		}
	}
	type group struct {
		metric  labels.Labels
		buckets []bucket
		outs    []int // output series per quantile (one without qs)
	}
	var (
		groups  []*group
		byKey   = map[string]*group{}
		seriesG = make([]*group, len(m))
		les     = make([]float64, len(m))
		buf     []byte
	)
	for i, s := range m {
		le := s.Metric.Get(model.BucketLabel)
		ub, err := strconv.ParseFloat(le, 64)
		if err != nil || math.IsNaN(ub) {
			ev.annos.Add(annotations.NewBadBucketLabelWarning(ev.annoName(s.Metric), le, pos))
			continue
		}
		buf = s.Metric.BytesWithoutLabels(buf, labels.BucketLabel)
		g, ok := byKey[string(buf)]
		if !ok {
			g = &group{metric: labels.NewBuilder(s.Metric).Del(labels.BucketLabel).Labels()}
			byKey[string(buf)] = g
			groups = append(groups, g)
		}
		seriesG[i], les[i] = g, ub
	}
	nOut := 1
	if qs != nil {
		nOut = len(qs)
	}
	var out Matrix
	for _, g := range groups {
		g.outs = make([]int, nOut)
		for k := range g.outs {
			lbls := g.metric
			if qs != nil {
				lbls = labels.NewBuilder(g.metric).Set(qLabel, labels.FormatOpenMetricsFloat(qs[k][0])).Labels()
			}
			g.outs[k] = len(out)
			out = append(out, Series{Metric: lbls, DropName: true, Floats: ev.bufs.points.take(ev.steps)})
		}
	}
	cursor := make([]int, len(m))
	for step := 0; step < ev.steps; step++ {
		t := ev.ts(step)
		for i, s := range m {
			c := cursor[i]
			if c >= len(s.Floats) || s.Floats[c].T != t {
				continue
			}
			cursor[i]++
			if g := seriesG[i]; g != nil {
				g.buckets = append(g.buckets, bucket{UpperBound: les[i], Count: s.Floats[c].F})
			}
		}
		for _, g := range groups {
			if len(g.buckets) == 0 {
				continue
			}
			for k, o := range g.outs {
				var v float64
				switch {
				case bounds != nil:
					b := bounds(step)
					v = bucketFraction(b[0], b[1], g.buckets)
				default:
					qv := 0.0
					if qs != nil {
						qv = qs[k][step]
					} else {
						qv = q[step]
					}
					var forced bool
					var minB, maxB, maxDiff float64
					v, forced, minB, maxB, maxDiff = bucketQuantile(qv, g.buckets)
					if forced {
						ev.annos.Add(annotations.NewHistogramQuantileForcedMonotonicityInfo(ev.annoName(g.metric), pos, t, minB, maxB, maxDiff))
					}
				}
				out[o].Floats = append(out[o].Floats, FPoint{T: t, F: v})
			}
			g.buckets = g.buckets[:0]
		}
	}
	ev.release(m)
	res := out[:0]
	for _, s := range out {
		if len(s.Floats) > 0 {
			ev.account(len(s.Floats))
			res = append(res, s)
		}
	}
	return res
}
