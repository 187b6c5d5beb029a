package promql

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/grafana/regexp"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/schema"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// The info() function (experimental upstream) adds the data labels of info
// series (target_info by default) to the series of its first argument that
// share their identifying labels. The semantics follow upstream's
// promql/info.go, which the conformance file info.test pins down.

// targetInfo is the info metric info() reads when not told otherwise.
const targetInfo = "target_info"

// identifyingLabels are the labels joining a series to its info series.
// Upstream hard-codes them too, so no knowledge of info metrics is needed.
var identifyingLabels = [...]string{"instance", "job"}

// infoRef is the time an info series is looked up at, relative to a step:
// the @ timestamp if any, shifted back by the offset.
type infoRef struct {
	ts     *int64
	offset time.Duration
}

func (r infoRef) equal(o infoRef) bool {
	if r.ts == nil || o.ts == nil {
		return r.ts == nil && o.ts == nil && r.offset.Milliseconds() == o.offset.Milliseconds()
	}
	return *r.ts-r.offset.Milliseconds() == *o.ts-o.offset.Milliseconds()
}

// infoReference returns the lookup reference of info()'s first argument:
// that of its selectors when they all share one (counting the modifiers
// of enclosing subqueries), and uniform=false otherwise, or when part of
// the argument produces a vector without any selector (vector(1)). Then
// info series are looked up at each step's own time.
func infoReference(expr parser.Expr) (ref infoRef, uniform bool) {
	var (
		first         infoRef
		found         bool
		referenceFree bool
	)
	uniform = true
	var inspect func(parser.Expr, []parser.Node) bool
	inspect = func(expr parser.Expr, path []parser.Node) bool {
		if t := expr.Type(); t != parser.ValueTypeVector && t != parser.ValueTypeMatrix {
			return false
		}
		if vs, ok := expr.(*parser.VectorSelector); ok {
			r := infoRef{ts: vs.Timestamp, offset: vs.OriginalOffset}
			for i := len(path) - 1; r.ts == nil && i >= 0; i-- {
				if sq, ok := path[i].(*parser.SubqueryExpr); ok {
					r.offset += sq.OriginalOffset
					r.ts = sq.Timestamp
				}
			}
			if !found {
				first, found = r, true
			} else if !first.equal(r) {
				uniform = false
			}
			return true
		}
		path = append(path, expr)
		if call, ok := expr.(*parser.Call); ok && call.Func.Name == "info" {
			// The second argument is label-selector syntax, not a vector.
			return inspect(call.Args[0], path)
		}
		hasSelector := false
		for child := range parser.ChildrenIter(expr) {
			if e, ok := child.(parser.Expr); ok && inspect(e, path) {
				hasSelector = true
			}
		}
		if !hasSelector {
			referenceFree = true
		}
		return hasSelector
	}
	inspect(expr, nil)
	if !found {
		return infoRef{}, false
	}
	return first, uniform && !referenceFree
}

// infoLookup returns the reference used to select and evaluate info
// series: the first argument's shared one, or the step time.
func infoLookup(expr parser.Expr) infoRef {
	ref, uniform := infoReference(expr)
	if !uniform {
		return infoRef{}
	}
	return ref
}

// effectiveInfoNameMatchers returns the __name__ matchers selecting info
// series: the given ones if one is positive, else .+_info with the
// negative ones, else target_info.
func effectiveInfoNameMatchers(ms []*labels.Matcher) []*labels.Matcher {
	for _, m := range ms {
		if m.Type == labels.MatchEqual || m.Type == labels.MatchRegexp {
			return ms
		}
	}
	if len(ms) > 0 {
		return append([]*labels.Matcher{labels.MustNewMatcher(labels.MatchRegexp, model.MetricNameLabel, ".+_info")}, ms...)
	}
	return []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, model.MetricNameLabel, targetInfo)}
}

// evalInfo evaluates info(v [, {data label matchers}]).
func (ev *evaluator) evalInfo(e *parser.Call) Matrix {
	// The reference comes from the syntax tree, before evaluation.
	ref := infoLookup(e.Args[0])
	m := ev.eval(e.Args[0])

	// dataMatchers are the data label matchers by label name, __name__
	// excluded: those select the info metrics.
	dataMatchers := map[string][]*labels.Matcher{}
	var nameMatchers, selectMatchers []*labels.Matcher
	if len(e.Args) > 1 {
		for _, lm := range e.Args[1].(*parser.VectorSelector).LabelMatchers {
			if lm.Name == model.MetricNameLabel {
				nameMatchers = append(nameMatchers, lm)
				continue
			}
			dataMatchers[lm.Name] = append(dataMatchers[lm.Name], lm)
			selectMatchers = append(selectMatchers, lm)
		}
	}
	nameMatchers = effectiveInfoNameMatchers(nameMatchers)

	// Info series themselves are passed through, not enriched.
	ignore := make([]bool, len(m))
	for i, s := range m {
		name := s.Metric.Get(model.MetricNameLabel)
		ignore[i] = true
		for _, nm := range nameMatchers {
			if !nm.Matches(name) {
				ignore[i] = false
				break
			}
		}
	}
	info := ev.infoSeries(m, ignore, ref, nameMatchers, selectMatchers)
	out := ev.combineInfo(m, info, ignore, dataMatchers)
	ev.release(m)
	return out
}

// infoSeries selects the info series that may match the non-ignored series
// of m and evaluates them at each step, at the reference's time. A point's
// value is the timestamp of the sample it came from (info values are 1 by
// convention), which decides between conflicting info series.
func (ev *evaluator) infoSeries(m Matrix, ignore []bool, ref infoRef, nameMatchers, dataMatchers []*labels.Matcher) Matrix {
	sets := infoIdentifyingMatcherSets(m, ignore)
	if len(sets) == 0 {
		return nil
	}
	off := ref.offset.Milliseconds()
	first, last := ev.start, ev.end
	if ref.ts != nil {
		first, last = *ref.ts, *ref.ts
	}
	hints := &storage.SelectHints{
		Start: first - (ev.lookback - 1) - off,
		End:   last - off,
		Step:  ev.interval,
		Func:  "info",
	}
	var series []storage.Series
	for _, idMatchers := range sets {
		ms := slices.Concat(idMatchers, dataMatchers, nameMatchers)
		set := ev.querier.Select(ev.ctx, false, hints, ms...)
		for set.Next() {
			series = append(series, set.At())
		}
		ev.annos.Merge(set.Warnings())
		if err := set.Err(); err != nil {
			ev.fail(errStorage(err))
		}
	}

	var (
		out Matrix
		it  chunkenc.Iterator
		buf []FPoint
	)
	for _, s := range series {
		ev.checkCtx()
		it = s.Iterator(it)
		buf = ev.readSamples(it, hints.Start, hints.End, true, buf[:0])
		var pts []FPoint
		j := 0
		for i := 0; i < ev.steps; i++ {
			t := ev.ts(i)
			refT := t - off
			if ref.ts != nil {
				refT = *ref.ts - off
			}
			for j < len(buf) && buf[j].T <= refT {
				j++
			}
			if j == 0 {
				continue
			}
			p := buf[j-1]
			if p.T <= refT-ev.lookback || value.IsStaleNaN(p.F) {
				continue
			}
			pts = append(pts, FPoint{T: t, F: float64(p.T)})
		}
		if len(pts) > 0 {
			ev.account(len(pts))
			out = append(out, Series{Metric: s.Labels(), Floats: pts})
		}
	}
	return out
}

// infoIdentifyingMatcherSets returns a matcher set per combination of
// identifying labels present on the non-ignored series of m: present labels
// match the values seen, absent ones the empty string. The sets select
// disjoint info series; the exact join happens in combineInfo.
func infoIdentifyingMatcherSets(m Matrix, ignore []bool) [][]*labels.Matcher {
	type group [len(identifyingLabels)]map[string]bool
	groups := map[int]*group{}
	for i, s := range m {
		if ignore[i] {
			continue
		}
		presence := 0
		var vals [len(identifyingLabels)]string
		for k, name := range identifyingLabels {
			if vals[k] = s.Metric.Get(name); vals[k] != "" {
				presence |= 1 << k
			}
		}
		if presence == 0 {
			continue
		}
		g := groups[presence]
		if g == nil {
			g = &group{}
			groups[presence] = g
		}
		for k, v := range vals {
			if v == "" {
				continue
			}
			if g[k] == nil {
				g[k] = map[string]bool{}
			}
			g[k][v] = true
		}
	}
	presences := make([]int, 0, len(groups))
	for p := range groups {
		presences = append(presences, p)
	}
	slices.Sort(presences)
	sets := make([][]*labels.Matcher, 0, len(groups))
	for _, p := range presences {
		g := groups[p]
		ms := make([]*labels.Matcher, 0, len(identifyingLabels))
		for k, name := range identifyingLabels {
			if p&(1<<k) == 0 {
				ms = append(ms, labels.MustNewMatcher(labels.MatchEqual, name, ""))
				continue
			}
			vals := make([]string, 0, len(g[k]))
			for v := range g[k] {
				vals = append(vals, regexp.QuoteMeta(v))
			}
			slices.Sort(vals)
			ms = append(ms, labels.MustNewMatcher(labels.MatchRegexp, name, strings.Join(vals, "|")))
		}
		sets = append(sets, ms)
	}
	return sets
}

// infoSig is the join key of a series with an info metric: the info
// metric's name and the series' identifying labels.
func infoSig(name string, lset labels.Labels) string {
	var b strings.Builder
	b.WriteString(name)
	for _, l := range identifyingLabels {
		if v := lset.Get(l); v != "" {
			b.WriteString("\xff" + l + "\xff" + v)
		}
	}
	return b.String()
}

// combineInfo adds to each point of m the data labels of the info series
// matching it at that step. The output series are those label sets; a
// series may split where its info labels change.
func (ev *evaluator) combineInfo(m, info Matrix, ignore []bool, dataMatchers map[string][]*labels.Matcher) Matrix {
	var infoNames []string
	infoSigs := make([]string, len(info))
	for i, s := range info {
		name := s.Metric.Get(model.MetricNameLabel)
		if !slices.Contains(infoNames, name) {
			infoNames = append(infoNames, name)
		}
		infoSigs[i] = infoSig(name, s.Metric)
	}
	baseSigs := make([][]string, len(m))
	for i, s := range m {
		if ignore[i] {
			continue
		}
		for _, name := range infoNames {
			baseSigs[i] = append(baseSigs[i], infoSig(name, s.Metric))
		}
	}
	// needInfo is set when a data matcher rejects the empty string: a
	// series without info labels is then dropped.
	needInfo := false
	for _, ms := range dataMatchers {
		for _, lm := range ms {
			if !lm.Matches("") {
				needInfo = true
			}
		}
	}

	var (
		out      Matrix
		byLabels = map[uint64]int{}
		cursor   = make([]int, len(m))
		icursor  = make([]int, len(info))
		bySig    = map[string]int{} // info series index by join key, at one step
		lb       = labels.NewBuilder(labels.EmptyLabels())
	)
	for step := 0; step < ev.steps; step++ {
		t := ev.ts(step)
		clear(bySig)
		for i, s := range info {
			c := icursor[i]
			if c >= len(s.Floats) || s.Floats[c].T != t {
				continue
			}
			icursor[i]++
			sig := infoSigs[i]
			j, ok := bySig[sig]
			if !ok {
				bySig[sig] = i
				continue
			}
			// Of two info series with the same join key, the newer sample
			// wins; equally new ones are a conflict.
			prevT, newT := int64(info[j].Floats[icursor[j]-1].F), int64(s.Floats[c].F)
			switch {
			case newT > prevT:
				bySig[sig] = i
			case newT == prevT:
				ev.errorf("found duplicate series for info metric: existing %s @ %d, new %s @ %d", info[j].Metric, prevT, s.Metric, newT)
			}
		}
		for i, s := range m {
			c := cursor[i]
			if c >= len(s.Floats) || s.Floats[c].T != t {
				continue
			}
			cursor[i]++
			lset := s.Metric
			if !ignore[i] {
				var ok bool
				if lset, ok = ev.infoLabels(s.Metric, baseSigs[i], info, bySig, dataMatchers, lb); !ok && needInfo {
					continue
				}
			}
			h := lset.Hash()
			k, ok := byLabels[h]
			if !ok {
				k = len(out)
				byLabels[h] = k
				out = append(out, Series{Metric: lset, DropName: s.DropName})
			} else if pts := out[k].Floats; len(pts) > 0 && pts[len(pts)-1].T == t {
				ev.errorf("vector cannot contain metrics with the same labelset")
			}
			out[k].Floats = append(out[k].Floats, FPoint{T: t, F: s.Floats[c].F})
		}
	}
	ev.release(info)
	for _, s := range out {
		ev.account(len(s.Floats))
	}
	return out
}

// infoLabels returns base with the data labels of its info series at this
// step added, and whether there were any info series.
func (ev *evaluator) infoLabels(base labels.Labels, sigs []string, info Matrix, bySig map[string]int, dataMatchers map[string][]*labels.Matcher, lb *labels.Builder) (labels.Labels, bool) {
	lb.Reset(labels.EmptyLabels())
	found := false
	for _, sig := range sigs {
		j, ok := bySig[sig]
		if !ok {
			continue
		}
		found = true
		info[j].Metric.Range(func(l labels.Label) {
			if schema.IsMetadataLabel(l.Name) {
				return
			}
			if _, ok := dataMatchers[l.Name]; len(dataMatchers) > 0 && !ok {
				return
			}
			if v := lb.Get(l.Name); v != "" && v != l.Value {
				ev.fail(fmt.Errorf("conflicting label: %s", l.Name))
			}
			if base.Has(l.Name) {
				return
			}
			lb.Set(l.Name, l.Value)
		})
	}
	if !found {
		return base, false
	}
	add := lb.Labels()
	lb.Reset(base)
	add.Range(func(l labels.Label) { lb.Set(l.Name, l.Value) })
	return lb.Labels(), true
}
