package dashboard

import (
	"encoding/json"
	"io/fs"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/argus-mon/argus/internal/config"
	"github.com/argus-mon/argus/internal/dashboard/dashboardtest"
)

// metricPrefix is the prefix of the metric names of each integration
// type, as its exporter names them.
var metricPrefix = map[string]string{
	"memcached": "memcached_",
	"nginx":     "nginx_",
	"postgres":  "pg_",
	"probe":     "probe_",
	"rabbitmq":  "rabbitmq_",
	"redis":     "redis_",
	"uwsgi":     "uwsgi_",
}

// TestIntegrationDashboards checks that every integration type has a
// built-in dashboard, with $job and $instance variables from label_values,
// and that every panel query parses, reads the built-in data source,
// selects series of its type's metrics by name (or up) and is filtered by
// both variables, so that choosing an instance narrows every panel. The
// integration packages' tests check that each name is one argus produces.
func TestIntegrationDashboards(t *testing.T) {
	files, err := fs.Glob(Builtin(), IntegrationFile("*"))
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, f := range files {
		types = append(types, strings.TrimSuffix(path.Base(f), ".json"))
	}
	if want := config.IntegrationTypes(); !slices.Equal(types, want) {
		t.Fatalf("dashboards for %v, integration types %v", types, want)
	}
	for _, typ := range types {
		t.Run(typ, func(t *testing.T) {
			data, err := fs.ReadFile(Builtin(), IntegrationFile(typ))
			if err != nil {
				t.Fatal(err)
			}
			checkIntegrationDashboard(t, typ, data)
		})
	}
}

func checkIntegrationDashboard(t *testing.T, typ string, data []byte) {
	var d struct {
		UID        string   `json:"uid"`
		Tags       []string `json:"tags"`
		Templating struct {
			List []struct {
				Name       string `json:"name"`
				Type       string `json:"type"`
				Definition string `json:"definition"`
				Datasource struct {
					UID string `json:"uid"`
				} `json:"datasource"`
			} `json:"list"`
		} `json:"templating"`
		Panels []struct {
			Type        string `json:"type"`
			Title       string `json:"title"`
			Description string `json:"description"`
			Datasource  struct {
				UID string `json:"uid"`
			} `json:"datasource"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatal(err)
	}
	if d.UID != "argus-"+typ || !slices.Contains(d.Tags, "integration") || !slices.Contains(d.Tags, typ) {
		t.Errorf("uid %q, tags %v: want argus-%s, tagged integration and %s", d.UID, d.Tags, typ, typ)
	}
	var vars []string
	for _, v := range d.Templating.List {
		vars = append(vars, v.Name)
		if v.Type != "query" || !strings.HasPrefix(v.Definition, "label_values(") || v.Datasource.UID != BuiltinDataSource.UID {
			t.Errorf("variable %s: %s %q on %q, want a label_values query on the built-in source", v.Name, v.Type, v.Definition, v.Datasource.UID)
		}
	}
	if !slices.Equal(vars, []string{"job", "instance"}) {
		t.Errorf("variables %v, want job and instance", vars)
	}
	for _, p := range d.Panels {
		if p.Type == "row" {
			continue
		}
		if p.Datasource.UID != BuiltinDataSource.UID || p.Description == "" {
			t.Errorf("panel %q: data source %q, description %q", p.Title, p.Datasource.UID, p.Description)
		}
	}
	queries, err := dashboardtest.Queries(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range queries {
		sels, err := dashboardtest.Selectors(q.Expr)
		if err != nil {
			t.Errorf("%s: %v", q.Where, err)
			continue
		}
		if len(sels) == 0 {
			t.Errorf("%s: %s selects no series", q.Where, q.Expr)
		}
		for _, vs := range sels {
			if vs.Name != "up" && !strings.HasPrefix(vs.Name, metricPrefix[typ]) {
				t.Errorf("%s: %s is not a %s metric", q.Where, vs, typ)
			}
			want := []string{`job=~"$job"`, `instance=~"$instance"`}
			switch q.Where {
			case "variable job":
				want = nil
			case "variable instance":
				want = want[:1]
			}
			for _, w := range want {
				if !slices.ContainsFunc(vs.LabelMatchers, func(m *labels.Matcher) bool { return m.String() == w }) {
					t.Errorf("%s: %s is not filtered by %s", q.Where, vs, w)
				}
			}
		}
	}
}
