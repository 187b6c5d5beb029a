package api

import (
	"net/http"
	"strconv"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// formatQuery answers /api/v1/format_query: the query pretty-printed by the
// upstream parser.
func (a *API) formatQuery(r *http.Request) result {
	expr, err := a.parser.ParseExpr(r.FormValue("query"))
	if err != nil {
		return invalidParam(err, "query")
	}
	return result{data: expr.Pretty(0)}
}

// parseQuery answers /api/v1/parse_query: the query's syntax tree in the
// JSON form Prometheus's UI reads.
func (a *API) parseQuery(r *http.Request) result {
	expr, err := a.parser.ParseExpr(r.FormValue("query"))
	if err != nil {
		return invalidParam(err, "query")
	}
	return result{data: astJSON(expr)}
}

// node is one node of the syntax tree in JSON.
type node = map[string]any

// astJSON converts a syntax tree into maps and slices that encode as
// Prometheus's parse_query answer. Only the node types ParseExpr produces
// appear; anything else is a nil node.
func astJSON(e parser.Expr) any {
	switch n := e.(type) {
	case nil:
		return nil
	case *parser.AggregateExpr:
		return node{"type": "aggregation", "op": n.Op.String(), "expr": astJSON(n.Expr),
			"param": astJSON(n.Param), "grouping": nonNil(n.Grouping), "without": n.Without}
	case *parser.BinaryExpr:
		return node{"type": "binaryExpr", "op": n.Op.String(), "lhs": astJSON(n.LHS), "rhs": astJSON(n.RHS),
			"matching": matchingJSON(n.VectorMatching), "bool": n.ReturnBool}
	case *parser.Call:
		args := []any{}
		for _, arg := range n.Args {
			args = append(args, astJSON(arg))
		}
		fn := node{"name": n.Func.Name, "argTypes": n.Func.ArgTypes, "variadic": n.Func.Variadic, "returnType": n.Func.ReturnType}
		return node{"type": "call", "func": fn, "args": args}
	case *parser.MatrixSelector:
		vs := n.VectorSelector.(*parser.VectorSelector)
		out := selectorJSON(vs)
		out["type"] = "matrixSelector"
		out["range"] = n.Range.Milliseconds()
		out["rangeExpr"] = durationJSON(n.RangeExpr)
		return out
	case *parser.SubqueryExpr:
		return node{"type": "subquery", "expr": astJSON(n.Expr),
			"range": n.Range.Milliseconds(), "rangeExpr": durationJSON(n.RangeExpr),
			"offset": n.OriginalOffset.Milliseconds(), "offsetExpr": durationJSON(n.OriginalOffsetExpr),
			"step": n.Step.Milliseconds(), "stepExpr": durationJSON(n.StepExpr),
			"timestamp": n.Timestamp, "startOrEnd": startOrEnd(n.StartOrEnd)}
	case *parser.DurationExpr:
		return durationJSON(n)
	case *parser.NumberLiteral:
		return node{"type": "numberLiteral", "val": strconv.FormatFloat(n.Val, 'f', -1, 64)}
	case *parser.ParenExpr:
		return node{"type": "parenExpr", "expr": astJSON(n.Expr)}
	case *parser.StringLiteral:
		return node{"type": "stringLiteral", "val": n.Val}
	case *parser.UnaryExpr:
		return node{"type": "unaryExpr", "op": n.Op.String(), "expr": astJSON(n.Expr)}
	case *parser.VectorSelector:
		out := selectorJSON(n)
		out["type"] = "vectorSelector"
		return out
	case *parser.StepInvariantExpr:
		return astJSON(n.Expr)
	}
	return nil
}

// selectorJSON holds the fields vector and matrix selectors share.
func selectorJSON(vs *parser.VectorSelector) node {
	ms := []node{}
	for _, m := range vs.LabelMatchers {
		ms = append(ms, matcherJSON(m))
	}
	return node{"name": vs.Name, "offset": vs.OriginalOffset.Milliseconds(),
		"offsetExpr": durationJSON(vs.OriginalOffsetExpr), "matchers": ms,
		"timestamp": vs.Timestamp, "startOrEnd": startOrEnd(vs.StartOrEnd),
		"anchored": vs.Anchored, "smoothed": vs.Smoothed}
}

func matcherJSON(m *labels.Matcher) node {
	return node{"name": m.Name, "value": m.Value, "type": m.Type.String()}
}

func matchingJSON(m *parser.VectorMatching) any {
	if m == nil {
		return nil
	}
	return node{"card": m.Card.String(), "labels": nonNil(m.MatchingLabels), "on": m.On,
		"include":    nonNil(m.Include),
		"fillValues": map[string]*float64{"lhs": m.FillValues.LHS, "rhs": m.FillValues.RHS}}
}

// durationJSON converts a duration expression (the experimental arithmetic
// in ranges, offsets and steps); a plain number keeps its duration flag.
func durationJSON(e parser.Expr) any {
	switch n := e.(type) {
	case nil:
		return nil
	case *parser.DurationExpr:
		if n == nil {
			return nil
		}
		return node{"type": "durationExpr", "op": n.Op.String(), "lhs": durationJSON(n.LHS),
			"rhs": durationJSON(n.RHS), "wrapped": n.Wrapped}
	case *parser.NumberLiteral:
		if n == nil {
			return nil
		}
		return node{"type": "numberLiteral", "val": strconv.FormatFloat(n.Val, 'f', -1, 64), "duration": n.Duration}
	}
	return astJSON(e)
}

func startOrEnd(t parser.ItemType) any {
	if t == 0 {
		return nil
	}
	return t.String()
}

func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}
