package integrationtest

import (
	"io/fs"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/argus-mon/argus/internal/dashboard"
	"github.com/argus-mon/argus/internal/dashboard/dashboardtest"
)

// targetSeries are the series every scrape target has, whatever it
// reports: a dashboard may query them.
var targetSeries = map[string]bool{"up": true, "scrape_duration_seconds": true}

// CheckDashboard fails the test for each metric name the built-in
// dashboard of integration type typ queries that none of the collections
// fams produced: a panel over it would never have data. The collections
// should together cover every state the dashboard shows (a replica and a
// primary, a probe over TLS and one without, ...). A histogram family
// provides its _bucket, _sum and _count series, a summary its _sum and
// _count.
func CheckDashboard(t testing.TB, typ string, fams ...[]*dto.MetricFamily) {
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
	if len(queries) == 0 {
		t.Fatalf("the %s dashboard has no queries", typ)
	}
	for _, q := range queries {
		sels, err := dashboardtest.Selectors(q.Expr)
		if err != nil {
			t.Errorf("the %s dashboard's %s: %v", typ, q.Where, err)
			continue
		}
		for _, vs := range sels {
			if !produced[vs.Name] && !targetSeries[vs.Name] {
				t.Errorf("the %s dashboard's %s queries %s, which the %s integration did not produce", typ, q.Where, vs.Name, typ)
			}
		}
	}
}
