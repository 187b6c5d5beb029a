package ruletest

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/argus-mon/argus/internal/rules"
)

// labelAndAnnotation is one firing alert as a test sees it.
type labelAndAnnotation struct {
	Labels, Annotations labels.Labels
}

func (la labelAndAnnotation) String() string {
	return "Labels:" + la.Labels.String() + "\nAnnotations:" + la.Annotations.String()
}

type labelsAndAnnotations []labelAndAnnotation

func (s labelsAndAnnotations) sort() {
	sort.Slice(s, func(i, j int) bool {
		if d := labels.Compare(s[i].Labels, s[j].Labels); d != 0 {
			return d < 0
		}
		return labels.Compare(s[i].Annotations, s[j].Annotations) < 0
	})
}

func (s labelsAndAnnotations) equal(o labelsAndAnnotations) bool {
	if len(s) != len(o) {
		return false
	}
	for i := range s {
		if !labels.Equal(s[i].Labels, o[i].Labels) || !labels.Equal(s[i].Annotations, o[i].Annotations) {
			return false
		}
	}
	return true
}

func (s labelsAndAnnotations) String() string {
	if len(s) == 0 {
		return "[]"
	}
	var b strings.Builder
	b.WriteString("[\n0:" + indentLines("\n"+s[0].String(), "  "))
	for i, l := range s[1:] {
		b.WriteString(",\n" + strconv.Itoa(i+1) + ":" + indentLines("\n"+l.String(), "  "))
	}
	b.WriteString("\n]")
	return b.String()
}

func indentLines(lines, indent string) string {
	parts := strings.Split(lines, "\n")
	return strings.Join(parts, "\n"+indent)
}

// checkAlerts compares the firing alerts with the expected ones.
func (r *groupRun) checkAlerts(groups []*rules.Group, cases []alertTestCase) []error {
	present := map[string]bool{}
	for _, c := range cases {
		present[c.Alertname] = true
	}
	got := map[string]labelsAndAnnotations{}
	for _, g := range groups {
		for _, rule := range g.Rules() {
			ar, ok := rule.(*rules.AlertingRule)
			if !ok || !present[ar.Name()] {
				continue
			}
			for _, a := range ar.ActiveAlerts() {
				if a.State == rules.StateFiring {
					got[ar.Name()] = append(got[ar.Name()], labelAndAnnotation{a.Labels.Copy(), a.Annotations.Copy()})
				}
			}
		}
	}
	var errs []error
	for _, c := range cases {
		gotAlerts := got[c.Alertname]
		var exp labelsAndAnnotations
		for _, a := range c.ExpAlerts {
			m := map[string]string{}
			for k, v := range a.ExpLabels {
				m[k] = v
			}
			m[labels.AlertName] = c.Alertname
			exp = append(exp, labelAndAnnotation{labels.FromMap(m), labels.FromMap(a.ExpAnnotations)})
		}
		gotAlerts.sort()
		exp.sort()
		if !exp.equal(gotAlerts) {
			testName := ""
			if r.tg.TestGroupName != "" {
				testName = fmt.Sprintf("    name: %s,\n", r.tg.TestGroupName)
			}
			errs = append(errs, fmt.Errorf("%s    alertname: %s, time: %s, \n        exp:%v, \n        got:%v",
				testName, c.Alertname, c.EvalTime.String(),
				indentLines(exp.String(), "            "), indentLines(gotAlerts.String(), "            ")))
		}
	}
	return errs
}

type parsedSample struct {
	Labels labels.Labels
	Value  float64
}

func samplesString(ss []parsedSample) string {
	if len(ss) == 0 {
		return "nil"
	}
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = s.Labels.String() + " " + formatValue(s.Value)
	}
	return strings.Join(parts, ", ")
}

// checkExpr runs one promql_expr_test case.
func (r *groupRun) checkExpr(ctx context.Context, tc promqlTestCase, mint time.Time) error {
	res, err := rules.EngineQueryFunc(r.ng, r.db)(ctx, tc.Expr, mint.Add(time.Duration(tc.EvalTime)))
	if err != nil {
		return fmt.Errorf("    expr: %q, time: %s, err: %s", tc.Expr, tc.EvalTime.String(), err.Error())
	}
	var got []parsedSample
	for _, s := range res {
		got = append(got, parsedSample{s.Metric.Copy(), s.F})
	}
	var exp []parsedSample
	for _, s := range tc.ExpSamples {
		lb, err := r.parser.ParseMetric(s.Labels)
		if err == nil && s.Histogram != "" {
			err = errNativeHistograms
		}
		if err != nil {
			return fmt.Errorf("    expr: %q, time: %s, err: %w", tc.Expr, tc.EvalTime.String(), fmt.Errorf("labels %q: %w", s.Labels, err))
		}
		exp = append(exp, parsedSample{lb, s.Value})
	}
	byLabels := func(ss []parsedSample) {
		sort.Slice(ss, func(i, j int) bool { return labels.Compare(ss[i].Labels, ss[j].Labels) <= 0 })
	}
	byLabels(exp)
	byLabels(got)
	equal := len(exp) == len(got)
	for i := 0; equal && i < len(exp); i++ {
		equal = labels.Equal(exp[i].Labels, got[i].Labels) && r.floatsEqual(exp[i].Value, got[i].Value)
	}
	if !equal {
		return fmt.Errorf("    expr: %q, time: %s,\n        exp: %v\n        got: %v", tc.Expr, tc.EvalTime.String(), samplesString(exp), samplesString(got))
	}
	return nil
}
