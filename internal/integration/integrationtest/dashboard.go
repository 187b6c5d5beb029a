package integrationtest

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"gopkg.in/yaml.v3"

	"github.com/argus-mon/argus/internal/dashboard"
	"github.com/argus-mon/argus/internal/dashboard/dashboardtest"
)

// targetSeries are the series every scrape target has, whatever it
// reports: a dashboard may query them.
var targetSeries = map[string]bool{"up": true, "scrape_duration_seconds": true}

// exampleRules is the directory of the integrations' example alert rules,
// from an integration type's package directory, where its tests run.
const exampleRules = "../../../examples/rules/integrations"

// CheckQueries fails the test for each metric name that the built-in
// dashboard of integration type typ, or its example alert rules
// (examples/rules/integrations/<typ>.yml), query and that none of the
// collections fams produced: a panel over it would never have data, an
// alert on it never fire. The collections should together cover every
// state the dashboard shows (a replica and a primary, a probe over TLS
// and one without, ...). A histogram family provides its _bucket, _sum
// and _count series, a summary its _sum and _count.
func CheckQueries(t testing.TB, typ string, fams ...[]*dto.MetricFamily) {
	t.Helper()
	data, err := fs.ReadFile(dashboard.Builtin(), dashboard.IntegrationFile(typ))
	if err != nil {
		t.Fatalf("the %s dashboard: %v", typ, err)
	}
	produced := map[string]bool{}
	for _, coll := range fams {
		for _, f := range coll {
			name := f.GetName()
			produced[name] = true
			switch f.GetType() {
			case dto.MetricType_HISTOGRAM:
				produced[name+"_bucket"], produced[name+"_sum"], produced[name+"_count"] = true, true, true
			case dto.MetricType_SUMMARY:
				produced[name+"_sum"], produced[name+"_count"] = true, true
			}
		}
	}
	queries, err := dashboardtest.Queries(data)
	if err != nil {
		t.Fatalf("the %s dashboard: %v", typ, err)
	}
	rules, err := ruleQueries(filepath.Join(exampleRules, typ+".yml"))
	if err != nil {
		t.Fatalf("the %s example rules: %v", typ, err)
	}
	if len(queries) == 0 || len(rules) == 0 {
		t.Fatalf("the %s dashboard has %d queries, its example rules %d", typ, len(queries), len(rules))
	}
	for _, q := range append(queries, rules...) {
		sels, err := dashboardtest.Selectors(q.Expr)
		if err != nil {
			t.Errorf("%s %s: %v", typ, q.Where, err)
			continue
		}
		for _, vs := range sels {
			if !produced[vs.Name] && !targetSeries[vs.Name] {
				t.Errorf("%s %s queries %s, which the %s integration did not produce", typ, q.Where, vs.Name, typ)
			}
		}
	}
}

// ruleQueries returns the expressions of a Prometheus rule file.
func ruleQueries(path string) ([]dashboardtest.Query, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f struct {
		Groups []struct {
			Rules []struct {
				Alert  string `yaml:"alert"`
				Record string `yaml:"record"`
				Expr   string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var out []dashboardtest.Query
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			out = append(out, dashboardtest.Query{Where: "rule " + r.Alert + r.Record, Expr: r.Expr})
		}
	}
	return out, nil
}
