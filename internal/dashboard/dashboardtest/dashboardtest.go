package dashboardtest

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/prometheus/prometheus/promql/parser"
)

// Query is one PromQL expression of a dashboard.
type Query struct {
	// Where says where it is: `panel "Title" target A`, `variable job`
	// or `annotation "Name"`.
	Where string
	// Expr is the expression as the dashboard has it, variables and all.
	Expr string
}

// Queries returns the PromQL expressions of a dashboard's JSON: each
// panel target's expr, the selector or expression of each query variable
// (label_values(selector, label), query_result(expr)) and each
// annotation's expr.
func Queries(data []byte) ([]Query, error) {
	var d struct {
		Panels     []panel `json:"panels"`
		Templating struct {
			List []struct {
				Name  string          `json:"name"`
				Type  string          `json:"type"`
				Query json.RawMessage `json:"query"`
			} `json:"list"`
		} `json:"templating"`
		Annotations struct {
			List []struct {
				Name string `json:"name"`
				Expr string `json:"expr"`
			} `json:"list"`
		} `json:"annotations"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, err
	}
	var out []Query
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			for _, t := range p.Targets {
				if strings.TrimSpace(t.Expr) != "" {
					out = append(out, Query{fmt.Sprintf("panel %q target %s", p.Title, t.RefID), t.Expr})
				}
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		q, err := variableQuery(v.Query)
		if err != nil {
			return nil, fmt.Errorf("variable %s: %w", v.Name, err)
		}
		if expr := variableExpr(q); expr != "" {
			out = append(out, Query{"variable " + v.Name, expr})
		}
	}
	for _, a := range d.Annotations.List {
		if a.Expr != "" {
			out = append(out, Query{fmt.Sprintf("annotation %q", a.Name), a.Expr})
		}
	}
	return out, nil
}

type panel struct {
	Title   string `json:"title"`
	Targets []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
	Panels []panel `json:"panels"`
}

// variableQuery returns a query variable's query, which Grafana writes as
// a string or, since version 10, as an object with a "query" string.
func variableQuery(raw json.RawMessage) (string, error) {
	if len(raw) == 0 {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var o struct {
		Query string `json:"query"`
	}
	err := json.Unmarshal(raw, &o)
	return o.Query, err
}

var (
	labelValuesRE = regexp.MustCompile(`^\s*label_values\(\s*(.+),\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)\s*$`)
	queryResultRE = regexp.MustCompile(`^\s*query_result\((.+)\)\s*$`)
)

// variableExpr returns the PromQL inside a variable query, "" for the
// forms without any (label_values(label), label_names(), metrics(re)).
func variableExpr(q string) string {
	if m := labelValuesRE.FindStringSubmatch(q); m != nil {
		return m[1]
	}
	if m := queryResultRE.FindStringSubmatch(q); m != nil {
		return m[1]
	}
	return ""
}

// timeVarRE matches Grafana's interval and range variables, which stand
// where PromQL wants a duration. Other variables ($job) only occur in
// label values here, where they parse as they are.
var timeVarRE = regexp.MustCompile(`\$\{?__(rate_interval|interval|range)\b\}?`)

// Selectors parses expr, with Grafana's interval variables replaced by a
// duration, and returns its series selectors.
func Selectors(expr string) ([]*parser.VectorSelector, error) {
	e, err := parser.NewParser(parser.Options{}).ParseExpr(timeVarRE.ReplaceAllString(expr, "5m"))
	if err != nil {
		return nil, err
	}
	var out []*parser.VectorSelector
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			out = append(out, vs)
		}
		return nil
	})
	return out, nil
}
