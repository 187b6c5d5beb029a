package promql

import (
	"fmt"
	"math"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
)

// preprocessExpr resolves what is fixed for the whole query before
// evaluation, as upstream's PreprocessExpr does: start(), end(), range() and
// step() become numbers, duration expressions become durations, @ start() and
// @ end() become timestamps, and the largest step-invariant subtrees are
// wrapped in StepInvariantExpr so they are evaluated once.
func preprocessExpr(expr parser.Expr, start, end time.Time, step time.Duration) (parser.Expr, error) {
	expr = foldQueryContextFunctions(expr, start, end, step)
	if err := parser.Walk(&durationVisitor{step: step, queryRange: end.Sub(start)}, expr, nil); err != nil {
		return nil, err
	}
	_, wrap := wrapStepInvariant(expr, start.UnixMilli(), end.UnixMilli())
	if wrap {
		return &parser.StepInvariantExpr{Expr: expr}, nil
	}
	return expr, nil
}

func foldQueryContextFunctions(expr parser.Expr, start, end time.Time, step time.Duration) parser.Expr {
	if call, ok := expr.(*parser.Call); ok {
		switch call.Func.Name {
		case "start":
			return &parser.NumberLiteral{Val: float64(start.UnixMilli()) / 1000, PosRange: call.PosRange}
		case "end":
			return &parser.NumberLiteral{Val: float64(end.UnixMilli()) / 1000, PosRange: call.PosRange}
		case "range":
			return &parser.NumberLiteral{Val: end.Sub(start).Seconds(), PosRange: call.PosRange}
		case "step":
			var v float64
			if !start.Equal(end) {
				v = step.Seconds()
			}
			return &parser.NumberLiteral{Val: v, PosRange: call.PosRange}
		}
	}
	switch n := expr.(type) {
	case *parser.BinaryExpr:
		n.LHS = foldQueryContextFunctions(n.LHS, start, end, step)
		n.RHS = foldQueryContextFunctions(n.RHS, start, end, step)
	case *parser.Call:
		for i := range n.Args {
			n.Args[i] = foldQueryContextFunctions(n.Args[i], start, end, step)
		}
	case *parser.AggregateExpr:
		n.Expr = foldQueryContextFunctions(n.Expr, start, end, step)
		if n.Param != nil {
			n.Param = foldQueryContextFunctions(n.Param, start, end, step)
		}
	case *parser.UnaryExpr:
		n.Expr = foldQueryContextFunctions(n.Expr, start, end, step)
	case *parser.ParenExpr:
		n.Expr = foldQueryContextFunctions(n.Expr, start, end, step)
	case *parser.SubqueryExpr:
		n.Expr = foldQueryContextFunctions(n.Expr, start, end, step)
	}
	return expr
}

// durationVisitor evaluates duration expressions ([5m+1m], offset -step()).
type durationVisitor struct {
	step, queryRange time.Duration
}

func (v *durationVisitor) Visit(node parser.Node, _ []parser.Node) (parser.Visitor, error) {
	var err error
	switch n := node.(type) {
	case *parser.VectorSelector:
		if n.OriginalOffsetExpr != nil {
			n.OriginalOffset, err = v.duration(n.OriginalOffsetExpr, true)
		}
	case *parser.MatrixSelector:
		if n.RangeExpr != nil {
			n.Range, err = v.duration(n.RangeExpr, false)
		}
	case *parser.SubqueryExpr:
		if n.OriginalOffsetExpr != nil {
			if n.OriginalOffset, err = v.duration(n.OriginalOffsetExpr, true); err != nil {
				return nil, err
			}
		}
		if n.StepExpr != nil {
			if n.Step, err = v.duration(n.StepExpr, false); err != nil {
				return nil, err
			}
		}
		if n.RangeExpr != nil {
			n.Range, err = v.duration(n.RangeExpr, false)
		}
	}
	if err != nil {
		return nil, err
	}
	return v, nil
}

func (v *durationVisitor) duration(expr parser.Expr, allowNegative bool) (time.Duration, error) {
	d, err := v.eval(expr)
	if err != nil {
		return 0, err
	}
	pos := expr.PositionRange()
	switch {
	case math.IsNaN(d) || math.IsInf(d, 0):
		return 0, fmt.Errorf("%d:%d: duration is NaN or infinite", pos.Start, pos.End)
	case d <= 0 && !allowNegative:
		return 0, fmt.Errorf("%d:%d: duration must be greater than 0", pos.Start, pos.End)
	case d > 1<<63/1e9 || d < -(1<<63)/1e9:
		return 0, fmt.Errorf("%d:%d: duration is out of range", pos.Start, pos.End)
	}
	return time.Duration(d*1000) * time.Millisecond, nil
}

func (v *durationVisitor) eval(expr parser.Expr) (float64, error) {
	switch n := expr.(type) {
	case *parser.NumberLiteral:
		return n.Val, nil
	case *parser.DurationExpr:
		var lhs, rhs float64
		var err error
		if n.LHS != nil {
			if lhs, err = v.eval(n.LHS); err != nil {
				return 0, err
			}
		}
		if n.RHS != nil {
			if rhs, err = v.eval(n.RHS); err != nil {
				return 0, err
			}
		}
		pos := expr.PositionRange()
		switch n.Op {
		case parser.STEP:
			return v.step.Seconds(), nil
		case parser.RANGE:
			return v.queryRange.Seconds(), nil
		case parser.MIN_OF:
			return math.Min(lhs, rhs), nil
		case parser.MAX_OF:
			return math.Max(lhs, rhs), nil
		case parser.ADD:
			if n.LHS == nil {
				return rhs, nil
			}
			return lhs + rhs, nil
		case parser.SUB:
			if n.LHS == nil {
				return -rhs, nil
			}
			return lhs - rhs, nil
		case parser.MUL:
			return lhs * rhs, nil
		case parser.DIV:
			if rhs == 0 {
				return 0, fmt.Errorf("%d:%d: division by zero", pos.Start, pos.End)
			}
			return lhs / rhs, nil
		case parser.MOD:
			if rhs == 0 {
				return 0, fmt.Errorf("%d:%d: modulo by zero", pos.Start, pos.End)
			}
			return math.Mod(lhs, rhs), nil
		case parser.POW:
			return math.Pow(lhs, rhs), nil
		}
		return 0, fmt.Errorf("unexpected duration expression operator %q", n.Op)
	}
	return 0, fmt.Errorf("unexpected duration expression type %T", expr)
}

// atModifierUnsafeFunctions are the functions whose result depends on the
// evaluation time even when their arguments do not.
var atModifierUnsafeFunctions = map[string]bool{
	"days_in_month": true, "day_of_month": true, "day_of_week": true, "day_of_year": true,
	"end": true, "hour": true, "minute": true, "month": true, "year": true,
	"predict_linear": true, "range": true, "start": true, "step": true, "time": true,
	"timestamp": true,
}

// wrapStepInvariant mirrors upstream's preprocessExprHelper: it reports
// whether expr is step invariant and whether it should be wrapped, wrapping
// the invariant children of variant nodes itself.
func wrapStepInvariant(expr parser.Expr, start, end int64) (invariant, wrap bool) {
	switch n := expr.(type) {
	case *parser.VectorSelector:
		switch n.StartOrEnd {
		case parser.START:
			n.Timestamp = &start
		case parser.END:
			n.Timestamp = &end
		}
		return n.Timestamp != nil, n.Timestamp != nil
	case *parser.AggregateExpr:
		unwrapParens(&n.Expr)
		unwrapParens(&n.Param)
		return wrapStepInvariant(n.Expr, start, end)
	case *parser.BinaryExpr:
		invL, wrapL := wrapStepInvariant(n.LHS, start, end)
		invR, wrapR := wrapStepInvariant(n.RHS, start, end)
		if invL && invR {
			return true, true
		}
		if wrapL {
			n.LHS = &parser.StepInvariantExpr{Expr: n.LHS}
		}
		if wrapR {
			n.RHS = &parser.StepInvariantExpr{Expr: n.RHS}
		}
		return false, false
	case *parser.Call:
		inv := !atModifierUnsafeFunctions[n.Func.Name]
		timestampSafe := n.Func.Name == "timestamp"
		wraps := make([]bool, len(n.Args))
		for i := range n.Args {
			unwrapParens(&n.Args[i])
			var argInv bool
			argInv, wraps[i] = wrapStepInvariant(n.Args[i], start, end)
			if n.Func.Name == "info" && i == 1 {
				wraps[i] = false
				continue
			}
			inv = inv && argInv
			if _, isVS := n.Args[i].(*parser.VectorSelector); !argInv || !isVS {
				timestampSafe = false
			}
		}
		if n.Func.Name == "info" {
			// Unless its selectors share one reference time, info() looks
			// its info series up at each step's own time.
			_, uniform := infoReference(n.Args[0])
			inv = inv && uniform
		}
		if inv || timestampSafe {
			return true, true
		}
		for i, w := range wraps {
			if w {
				n.Args[i] = &parser.StepInvariantExpr{Expr: n.Args[i]}
			}
		}
		return false, false
	case *parser.MatrixSelector:
		inv, _ := wrapStepInvariant(n.VectorSelector, start, end)
		return inv, false
	case *parser.SubqueryExpr:
		if inv, _ := wrapStepInvariant(n.Expr, start, end); inv {
			n.Expr = &parser.StepInvariantExpr{Expr: n.Expr}
		}
		switch n.StartOrEnd {
		case parser.START:
			n.Timestamp = &start
		case parser.END:
			n.Timestamp = &end
		}
		return n.Timestamp != nil, false
	case *parser.ParenExpr:
		return wrapStepInvariant(n.Expr, start, end)
	case *parser.UnaryExpr:
		return wrapStepInvariant(n.Expr, start, end)
	case *parser.StringLiteral, *parser.NumberLiteral:
		return true, false
	}
	panic(evalError{fmt.Errorf("BUG: unexpected node %T", expr)})
}

func unwrapParens(e *parser.Expr) {
	for {
		p, ok := (*e).(*parser.ParenExpr)
		if !ok {
			return
		}
		*e = p.Expr
	}
}

// subqueryTimes sums the offsets and ranges of the subqueries on path,
// restarting at a subquery with @, whose timestamp it returns.
func subqueryTimes(path []parser.Node) (offset, rng time.Duration, ts *int64) {
	for _, node := range path {
		if n, ok := node.(*parser.SubqueryExpr); ok {
			offset += n.OriginalOffset
			rng += n.Range
			if n.Timestamp != nil {
				offset, rng, ts = n.OriginalOffset, n.Range, n.Timestamp
			}
		}
	}
	return offset, rng, ts
}

// selectorTimeRange is the time range a selector reads, as upstream's
// getTimeRangesForSelector computes it.
func selectorTimeRange(s *parser.EvalStmt, n *parser.VectorSelector, path []parser.Node, evalRange time.Duration) (int64, int64) {
	start, end := s.Start.UnixMilli(), s.End.UnixMilli()
	subqOffset, subqRange, subqTs := subqueryTimes(path)
	if subqTs != nil {
		start, end = *subqTs, *subqTs
	}
	if n.Timestamp != nil {
		start, end = *n.Timestamp, *n.Timestamp
	} else {
		start -= subqOffset.Milliseconds() + subqRange.Milliseconds()
		end -= subqOffset.Milliseconds()
	}
	lb := s.LookbackDelta.Milliseconds()
	if evalRange == 0 {
		start -= lb - 1
		if n.Smoothed {
			end += lb
		}
	} else {
		switch {
		case n.Anchored:
			start -= lb + evalRange.Milliseconds() - 1
		case n.Smoothed:
			start -= lb + evalRange.Milliseconds() - 1
			end += lb
		default:
			start -= evalRange.Milliseconds() - 1
		}
	}
	off := n.OriginalOffset.Milliseconds()
	return start - off, end - off
}

// findMinMaxTime returns the time range the whole statement reads, (0, 0)
// when it reads nothing.
func findMinMaxTime(s *parser.EvalStmt) (int64, int64) {
	mint, maxt := int64(math.MaxInt64), int64(math.MinInt64)
	var evalRange time.Duration
	parser.Inspect(s.Expr, func(node parser.Node, path []parser.Node) error {
		switch n := node.(type) {
		case *parser.Call:
			if n.Func.Name == "info" {
				// info() selects info series at its argument's reference time.
				ref := infoLookup(n.Args[0])
				start, end := selectorTimeRange(s, &parser.VectorSelector{Timestamp: ref.ts, OriginalOffset: ref.offset}, path, 0)
				mint, maxt = min(mint, start), max(maxt, end)
			}
		case *parser.VectorSelector:
			start, end := selectorTimeRange(s, n, path, evalRange)
			mint, maxt = min(mint, start), max(maxt, end)
			evalRange = 0
		case *parser.MatrixSelector:
			evalRange = n.Range
		}
		return nil
	})
	if maxt == math.MinInt64 {
		return 0, 0
	}
	return mint, maxt
}

// selectHints computes the storage hints of every selector, set as upstream
// sets them so storage implementations see the same requests.
func selectHints(s *parser.EvalStmt, noStepSubqFn func(int64) int64) map[*parser.VectorSelector]*storage.SelectHints {
	hints := map[*parser.VectorSelector]*storage.SelectHints{}
	var evalRange time.Duration
	parser.Inspect(s.Expr, func(node parser.Node, path []parser.Node) error {
		switch n := node.(type) {
		case *parser.VectorSelector:
			start, end := selectorTimeRange(s, n, path, evalRange)
			interval := s.Interval
			for _, p := range path {
				if sq, ok := p.(*parser.SubqueryExpr); ok {
					interval = sq.Step
					if interval == 0 {
						interval = time.Duration(noStepSubqFn(sq.Range.Milliseconds())) * time.Millisecond
					}
				}
			}
			h := &storage.SelectHints{
				Start: start,
				End:   end,
				Step:  interval.Milliseconds(),
				Range: evalRange.Milliseconds(),
				Func:  funcFromPath(path),
			}
			if len(path) > 0 {
				if agg, ok := path[len(path)-1].(*parser.AggregateExpr); ok {
					h.By, h.Grouping = !agg.Without, agg.Grouping
				}
			}
			hints[n] = h
			evalRange = 0
		case *parser.MatrixSelector:
			evalRange = n.Range
		}
		return nil
	})
	return hints
}

// funcFromPath returns the innermost function or aggregation above a
// selector, stopping at a binary expression.
func funcFromPath(path []parser.Node) string {
	for i := len(path) - 1; i >= 0; i-- {
		switch n := path[i].(type) {
		case *parser.AggregateExpr:
			return n.Op.String()
		case *parser.Call:
			return n.Func.Name
		case *parser.BinaryExpr:
			return ""
		}
	}
	return ""
}
