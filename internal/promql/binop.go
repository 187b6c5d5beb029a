package promql

import (
	"math"
	"slices"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/schema"
	"github.com/prometheus/prometheus/util/annotations"
)

// changesMetricSchema reports whether an operator's result is no longer the
// metric its operands measured, so it loses __name__.
func changesMetricSchema(op parser.ItemType) bool {
	switch op {
	case parser.ADD, parser.SUB, parser.DIV, parser.MUL, parser.POW, parser.MOD, parser.ATAN2:
		return true
	}
	return false
}

func btos(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func scalarBinop(op parser.ItemType, l, r float64) float64 {
	switch op {
	case parser.ADD:
		return l + r
	case parser.SUB:
		return l - r
	case parser.MUL:
		return l * r
	case parser.DIV:
		return l / r
	case parser.POW:
		return math.Pow(l, r)
	case parser.MOD:
		return math.Mod(l, r)
	case parser.EQLC:
		return btos(l == r)
	case parser.NEQ:
		return btos(l != r)
	case parser.GTR:
		return btos(l > r)
	case parser.LSS:
		return btos(l < r)
	case parser.GTE:
		return btos(l >= r)
	case parser.LTE:
		return btos(l <= r)
	case parser.ATAN2:
		return math.Atan2(l, r)
	}
	panic(evalError{errUnsupportedOp(op)})
}

// elemBinop applies op to two float sample values. keep=false means a
// comparison filtered the sample out; trim=true means the operator does not
// apply to floats (trim operators are for native histograms).
func elemBinop(op parser.ItemType, l, r float64) (v float64, keep, trim bool) {
	switch op {
	case parser.EQLC:
		return l, l == r, false
	case parser.NEQ:
		return l, l != r, false
	case parser.GTR:
		return l, l > r, false
	case parser.LSS:
		return l, l < r, false
	case parser.GTE:
		return l, l >= r, false
	case parser.LTE:
		return l, l <= r, false
	case parser.TRIM_LOWER, parser.TRIM_UPPER:
		return 0, false, true
	}
	return scalarBinop(op, l, r), true, false
}

type unsupportedOpError struct{ op parser.ItemType }

func (e unsupportedOpError) Error() string { return "operator " + e.op.String() + " not allowed" }

func errUnsupportedOp(op parser.ItemType) error { return unsupportedOpError{op} }

func (ev *evaluator) evalBinary(e *parser.BinaryExpr) Matrix {
	lt, rt := e.LHS.Type(), e.RHS.Type()
	switch {
	case lt == parser.ValueTypeScalar && rt == parser.ValueTypeScalar:
		l, r := ev.evalScalar(e.LHS), ev.evalScalar(e.RHS)
		return ev.scalarMatrix(func(i int) float64 { return scalarBinop(e.Op, l[i], r[i]) })
	case lt == parser.ValueTypeVector && rt == parser.ValueTypeScalar:
		m := ev.eval(e.LHS)
		return ev.vectorScalarBinop(e, m, ev.evalScalar(e.RHS), false)
	case lt == parser.ValueTypeScalar && rt == parser.ValueTypeVector:
		s := ev.evalScalar(e.LHS)
		return ev.vectorScalarBinop(e, ev.eval(e.RHS), s, true)
	}
	lhs := ev.eval(e.LHS)
	rhs := ev.eval(e.RHS)
	defer ev.release(lhs)
	defer ev.release(rhs)
	switch e.Op {
	case parser.LAND, parser.LOR, parser.LUNLESS:
		return ev.setOp(e, lhs, rhs)
	}
	return ev.vectorBinop(e, lhs, rhs)
}

// vectorScalarBinop applies op between every point of m and the scalar at
// its step, in place; swap means the scalar is the left operand.
func (ev *evaluator) vectorScalarBinop(e *parser.BinaryExpr, m Matrix, s []float64, swap bool) Matrix {
	out := m[:0]
	trimmed := false
	for _, sr := range m {
		pts := sr.Floats[:0]
		for _, p := range sr.Floats {
			l, r := p.F, s[ev.stepOf(p.T)]
			if swap {
				l, r = r, l
			}
			v, keep, trim := elemBinop(e.Op, l, r)
			if trim {
				trimmed = true
				continue
			}
			if e.Op.IsComparisonOperator() && swap {
				v = r
			}
			if e.ReturnBool {
				v, keep = btos(keep), true
			}
			if keep {
				pts = append(pts, FPoint{T: p.T, F: v})
			}
		}
		if len(pts) == 0 {
			continue
		}
		sr.Floats = pts
		if changesMetricSchema(e.Op) || e.ReturnBool {
			sr.DropName = true
		}
		out = append(out, sr)
	}
	if trimmed {
		ev.annos.Add(annotations.NewIncompatibleTypesInBinOpInfo("float", parser.ItemTypeStr[e.Op], "float", e.PositionRange()))
	}
	return out
}

// signatures returns, for every series of lhs and rhs, the ordinal of its
// matching signature (the labels on() names, or all but those ignoring() names).
func signatures(vm *parser.VectorMatching, lhs, rhs Matrix) (ls, rs []int, n int) {
	names := slices.Clone(vm.MatchingLabels)
	if !vm.On {
		names = append(names, model.MetricNameLabel, model.MetricTypeLabel, model.MetricUnitLabel)
	}
	slices.Sort(names)
	ords := map[string]int{}
	var buf []byte
	sig := func(m Matrix) []int {
		res := make([]int, len(m))
		for i, s := range m {
			if vm.On {
				buf = s.Metric.BytesWithLabels(buf, names...)
			} else {
				buf = s.Metric.BytesWithoutLabels(buf, names...)
			}
			o, ok := ords[string(buf)]
			if !ok {
				o = len(ords)
				ords[string(buf)] = o
			}
			res[i] = o
		}
		return res
	}
	ls = sig(lhs)
	rs = sig(rhs)
	return ls, rs, len(ords)
}

// setOp evaluates and, or and unless step by step; series keep their labels.
func (ev *evaluator) setOp(e *parser.BinaryExpr, lhs, rhs Matrix) Matrix {
	lsig, rsig, n := signatures(e.VectorMatching, lhs, rhs)
	present := make([]int, n) // step+1 at which a signature was last seen
	lcur, rcur := make(stepCursor, len(lhs)), make(stepCursor, len(rhs))
	lout := make([][]FPoint, len(lhs))
	rout := make([][]FPoint, len(rhs))
	for step := 0; step < ev.steps; step++ {
		t := ev.ts(step)
		mark := step + 1
		switch e.Op {
		case parser.LAND, parser.LUNLESS:
			for j := range rhs {
				if _, ok := rcur.at(rhs, j, t); ok {
					present[rsig[j]] = mark
				}
			}
			for i := range lhs {
				f, ok := lcur.at(lhs, i, t)
				if ok && (present[lsig[i]] == mark) == (e.Op == parser.LAND) {
					lout[i] = append(lout[i], FPoint{T: t, F: f})
				}
			}
		case parser.LOR:
			for i := range lhs {
				if f, ok := lcur.at(lhs, i, t); ok {
					present[lsig[i]] = mark
					lout[i] = append(lout[i], FPoint{T: t, F: f})
				}
			}
			for j := range rhs {
				if f, ok := rcur.at(rhs, j, t); ok && present[rsig[j]] != mark {
					rout[j] = append(rout[j], FPoint{T: t, F: f})
				}
			}
		}
	}
	var out Matrix
	for i, pts := range lout {
		if len(pts) > 0 {
			out = append(out, Series{Metric: lhs[i].Metric, Floats: pts, DropName: lhs[i].DropName})
		}
	}
	for j, pts := range rout {
		if len(pts) > 0 {
			out = append(out, Series{Metric: rhs[j].Metric, Floats: pts, DropName: rhs[j].DropName})
		}
	}
	ev.account(out.TotalSamples())
	return ev.mergeSameLabels(out)
}

// matchLabels returns the labels a series is matched on.
func matchLabels(metric labels.Labels, on bool, names ...string) labels.Labels {
	if !on {
		names = append([]string{model.MetricNameLabel, model.MetricTypeLabel, model.MetricUnitLabel}, names...)
	}
	return metric.MatchLabels(on, names...)
}

// binopOutput is an output series of a vector binary operation, with the
// bookkeeping upstream's per-step cardinality checks need.
type binopOutput struct {
	series   Series
	lastStep int // step+1 of the last match written
	lastSig  int
}

// vectorBinop evaluates an arithmetic or comparison operator between two
// vectors step by step, with upstream's matching and cardinality rules.
// Output labels depend only on the pair of input series, so they are
// computed once per pair.
func (ev *evaluator) vectorBinop(e *parser.BinaryExpr, lhs, rhs Matrix) Matrix {
	vm := e.VectorMatching
	if vm.Card == parser.CardManyToMany {
		ev.errorf("BUG: many-to-many matching for a non-set operator")
	}
	lsig, rsig, nsig := signatures(vm, lhs, rhs)
	fillL, fillR := vm.FillValues.LHS, vm.FillValues.RHS
	oneToMany := vm.Card == parser.CardOneToMany
	if oneToMany {
		lhs, rhs = rhs, lhs
		lsig, rsig = rsig, lsig
		fillL, fillR = fillR, fillL
	}
	var (
		rightAt    = make([]int, nsig) // rhs series index+1 present at this step
		rightStep  = make([]int, nsig) // step+1 at which rightAt was set
		matchedAt  = make([]int, nsig) // step+1 at which a signature was matched
		rightVal   = make([]float64, nsig)
		lcur, rcur = make(stepCursor, len(lhs)), make(stepCursor, len(rhs))
		pairs      = map[[2]int]int{}
		byHash     = map[uint64]int{}
		outs       []binopOutput
		lb         = labels.NewBuilder(labels.EmptyLabels())
		trimmed    bool
	)
	// outputFor returns the output series for the pair (li, ri), -1 meaning a fill value.
	outputFor := func(li, ri int, lm, rm labels.Labels) int {
		key := [2]int{li, ri}
		if o, ok := pairs[key]; ok {
			return o
		}
		metric := resultMetric(lb, lm, rm, e.Op, vm, e.ReturnBool && !ev.delayedNames)
		h := metric.Hash()
		o, ok := byHash[h]
		if !ok {
			o = len(outs)
			byHash[h] = o
			// Most outputs have a point at most steps: size them once.
			outs = append(outs, binopOutput{series: Series{Metric: metric, DropName: e.ReturnBool, Floats: ev.bufs.points.take(ev.steps)}})
		}
		pairs[key] = o
		return o
	}
	doOp := func(step, sig, li, ri int, lm, rm labels.Labels, lf, rf float64) {
		t := ev.ts(step)
		if oneToMany {
			lf, rf = rf, lf
		}
		v, keep, trim := elemBinop(e.Op, lf, rf)
		if trim {
			trimmed = true
			return
		}
		if e.ReturnBool {
			v = btos(keep)
		}
		o := outputFor(li, ri, lm, rm)
		out := &outs[o]
		if vm.Card == parser.CardOneToOne {
			if matchedAt[sig] == step+1 {
				ev.errorf("multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)")
			}
		} else if out.lastStep == step+1 && out.lastSig == sig {
			ev.errorf("multiple matches for labels: grouping labels must ensure unique matches")
		}
		matchedAt[sig] = step + 1
		if !keep && !e.ReturnBool {
			out.lastStep, out.lastSig = step+1, sig
			return
		}
		if out.lastStep == step+1 || (len(out.series.Floats) > 0 && out.series.Floats[len(out.series.Floats)-1].T == t) {
			ev.errorf("vector cannot contain metrics with the same labelset")
		}
		out.lastStep, out.lastSig = step+1, sig
		out.series.Floats = append(out.series.Floats, FPoint{T: t, F: v})
	}
	type present struct {
		idx int
		f   float64
	}
	var lp, rp []present
	for step := 0; step < ev.steps; step++ {
		ev.checkCtx()
		t := ev.ts(step)
		mark := step + 1
		lp, rp = lp[:0], rp[:0]
		for i := range lhs {
			if f, ok := lcur.at(lhs, i, t); ok {
				lp = append(lp, present{i, f})
			}
		}
		for j := range rhs {
			if f, ok := rcur.at(rhs, j, t); ok {
				rp = append(rp, present{j, f})
			}
		}
		// As upstream, nothing is matched (nor checked) at a step where a
		// side is empty and no fill value applies.
		if (len(lp) == 0 && len(rp) == 0) || ((len(lp) == 0 || len(rp) == 0) && fillL == nil && fillR == nil) {
			continue
		}
		for _, r := range rp {
			sig := rsig[r.idx]
			if rightStep[sig] == mark {
				ev.duplicateOnOneSide(vm, rhs[r.idx].Metric, rhs[rightAt[sig]-1].Metric)
			}
			rightStep[sig], rightAt[sig], rightVal[sig] = mark, r.idx+1, r.f
		}
		for _, l := range lp {
			sig := lsig[l.idx]
			if rightStep[sig] == mark {
				ri := rightAt[sig] - 1
				doOp(step, sig, l.idx, ri, lhs[l.idx].Metric, rhs[ri].Metric, l.f, rightVal[sig])
			} else if fillR != nil {
				doOp(step, sig, l.idx, -1, lhs[l.idx].Metric, matchLabels(lhs[l.idx].Metric, vm.On, vm.MatchingLabels...), l.f, *fillR)
			}
		}
		if fillL != nil {
			for _, r := range rp {
				sig := rsig[r.idx]
				if matchedAt[sig] == mark {
					continue
				}
				doOp(step, sig, -1, r.idx, matchLabels(rhs[r.idx].Metric, vm.On, vm.MatchingLabels...), rhs[r.idx].Metric, *fillL, r.f)
			}
		}
	}
	if trimmed {
		ev.annos.Add(annotations.NewIncompatibleTypesInBinOpInfo("float", parser.ItemTypeStr[e.Op], "float", e.PositionRange()))
	}
	res := make(Matrix, 0, len(outs))
	for _, o := range outs {
		if len(o.series.Floats) > 0 {
			res = append(res, o.series)
		}
	}
	ev.account(res.TotalSamples())
	return res
}

func (ev *evaluator) duplicateOnOneSide(vm *parser.VectorMatching, a, b labels.Labels) {
	side := "right"
	if vm.Card == parser.CardOneToMany {
		side = "left"
	}
	d1, d2 := a.String(), b.String()
	if d1 > d2 {
		d1, d2 = d2, d1
	}
	ev.errorf("found duplicate series for the match group %s on the %s hand-side of the operation: [%s, %s]"+
		";many-to-many matching not allowed: matching labels must be unique on one side",
		matchLabels(a, vm.On, vm.MatchingLabels...).String(), side, d1, d2)
}

// resultMetric returns the labels of a binary operation's result for the
// pair (lhs, rhs), lhs being the "many" side; dropName removes the metric
// name also where the operator keeps it (a bool comparison without delayed
// name removal).
func resultMetric(lb *labels.Builder, lhs, rhs labels.Labels, op parser.ItemType, vm *parser.VectorMatching, dropName bool) labels.Labels {
	lb.Reset(lhs)
	if changesMetricSchema(op) || dropName {
		schema.Metadata{}.SetToLabels(lb)
	}
	if vm.Card == parser.CardOneToOne {
		if vm.On {
			lb.Keep(vm.MatchingLabels...)
		} else {
			lb.Del(vm.MatchingLabels...)
		}
	}
	for _, ln := range vm.Include {
		if v := rhs.Get(ln); v != "" {
			lb.Set(ln, v)
		} else {
			lb.Del(ln)
		}
	}
	return lb.Labels()
}
