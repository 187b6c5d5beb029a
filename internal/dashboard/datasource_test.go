package dashboard

import (
	"encoding/json"
	"strings"
	"testing"
)

var testSources = []DataSource{
	BuiltinDataSource,
	{UID: "central", Name: "Central Thanos", Type: "prometheus"},
}

// TestDatasourceReferences maps each form of datasource reference Grafana
// has written, on a panel with one target.
func TestDatasourceReferences(t *testing.T) {
	for _, tc := range []struct {
		name, dashboard   string // dashboard: extra top-level keys
		panelDS, targetDS string
		wantRef           string
		wantStatus        Status
		wantReason        string
	}{
		{name: "null", panelDS: `null`, wantRef: `{"type":"prometheus","uid":"argus"}`},
		{name: "absent", wantRef: `{"type":"prometheus","uid":"argus"}`},
		{name: "default", panelDS: `"default"`, wantRef: `{"type":"prometheus","uid":"argus"}`},
		{name: "unknown name", panelDS: `"Prometheus"`, wantRef: `{"type":"prometheus","uid":"argus"}`},
		{name: "name of a source", panelDS: `"Central Thanos"`, wantRef: `{"type":"prometheus","uid":"central"}`},
		{name: "uid object", panelDS: `{"type": "prometheus", "uid": "central"}`, wantRef: `{"type":"prometheus","uid":"central"}`},
		{name: "unknown uid object", panelDS: `{"type": "prometheus", "uid": "P1809F7CD0C75ACF3"}`, wantRef: `{"type":"prometheus","uid":"argus"}`},
		{name: "uid only", panelDS: `{"uid": "central"}`, wantRef: `{"type":"prometheus","uid":"central"}`},
		{name: "input", dashboard: `"__inputs": [{"name": "DS_PROM", "type": "datasource", "pluginId": "prometheus"}],`,
			panelDS: `"${DS_PROM}"`, wantRef: `{"type":"prometheus","uid":"argus"}`},
		{name: "input object", dashboard: `"__inputs": [{"name": "DS_PROM", "type": "datasource", "pluginId": "prometheus"}],`,
			panelDS: `{"type": "prometheus", "uid": "${DS_PROM}"}`, wantRef: `{"type":"prometheus","uid":"argus"}`},
		{name: "input without __inputs", panelDS: `"${DS_PROMETHEUS}"`, wantRef: `{"type":"prometheus","uid":"argus"}`},
		{name: "loki input", dashboard: `"__inputs": [{"name": "DS_LOKI", "type": "datasource", "pluginId": "loki"}],`,
			panelDS: `"${DS_LOKI}"`, wantRef: `{"type":"loki","uid":"${DS_LOKI}"}`, wantStatus: StatusUnsupported,
			wantReason: "query A: datasource type loki is not supported (argus queries Prometheus-compatible sources)"},
		{name: "variable", dashboard: `"templating": {"list": [{"name": "ds", "type": "datasource", "query": "prometheus"}]},`,
			panelDS: `"$ds"`, wantRef: `{"type":"prometheus","uid":"${ds}"}`},
		{name: "variable braces", dashboard: `"templating": {"list": [{"name": "ds", "type": "datasource", "query": "prometheus"}]},`,
			panelDS: `{"uid": "${ds}"}`, wantRef: `{"type":"prometheus","uid":"${ds}"}`},
		{name: "elasticsearch variable", dashboard: `"templating": {"list": [{"name": "es", "type": "datasource", "query": "elasticsearch"}]},`,
			panelDS: `"[[es]]"`, wantRef: `{"type":"elasticsearch","uid":"${es}"}`, wantStatus: StatusUnsupported,
			wantReason: "query A: datasource type elasticsearch is not supported (argus queries Prometheus-compatible sources)"},
		{name: "mixed", panelDS: `"-- Mixed --"`, targetDS: `"Central Thanos"`, wantRef: `{"type":"datasource","uid":"-- Mixed --"}`},
		{name: "mixed with loki", panelDS: `{"type": "datasource", "uid": "-- Mixed --"}`, targetDS: `{"type": "loki", "uid": "abc"}`,
			wantRef: `{"type":"datasource","uid":"-- Mixed --"}`, wantStatus: StatusUnsupported,
			wantReason: "query A: datasource type loki is not supported (argus queries Prometheus-compatible sources)"},
		{name: "grafana", panelDS: `"-- Grafana --"`, wantRef: `{"type":"grafana","uid":"-- Grafana --"}`, wantStatus: StatusUnsupported,
			wantReason: "query A: the -- Grafana -- datasource is not supported"},
		{name: "elasticsearch object", panelDS: `{"type": "elasticsearch", "uid": "x"}`, wantRef: `{"type":"elasticsearch","uid":"x"}`,
			wantStatus: StatusUnsupported, wantReason: "query A: datasource type elasticsearch is not supported (argus queries Prometheus-compatible sources)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ds := ""
			if tc.panelDS != "" {
				ds = `"datasource": ` + tc.panelDS + `, `
			}
			tds := ""
			if tc.targetDS != "" {
				tds = `, "datasource": ` + tc.targetDS
			}
			text := `{` + tc.dashboard + `"schemaVersion": 30, "panels": [{"id": 1, "type": "timeseries", ` + ds +
				`"targets": [{"refId": "A", "expr": "up"` + tds + `}]}]}`
			d, rep := imp(t, text, Options{DataSources: testSources})
			eq(t, at(t, d, "panels", 0, "datasource"), tc.wantRef)
			want := tc.wantStatus
			if want == "" {
				want = StatusOK
			}
			p := rep.Panels[0]
			if p.Status != want || tc.wantReason != "" && (len(p.Reasons) != 1 || p.Reasons[0] != tc.wantReason) {
				t.Errorf("report %+v, want %s %q", p, want, tc.wantReason)
			}
			if strings.Contains(canon(t, d), "__inputs") {
				t.Error("__inputs left in the stored dashboard")
			}
		})
	}
}

func TestImportInputs(t *testing.T) {
	text := `{"__inputs": [
		{"name": "DS_PROM", "type": "datasource", "pluginId": "prometheus"},
		{"name": "VAR_JOB", "type": "constant", "value": "node"}],
		"__requires": [{"type": "panel", "id": "graph"}],
		"schemaVersion": 27,
		"templating": {"list": [{"name": "job", "type": "constant", "query": "${VAR_JOB}"}]},
		"annotations": {"list": [{"name": "Annotations & Alerts", "builtIn": 1, "datasource": "-- Grafana --"},
		                         {"name": "deploys", "datasource": "${DS_PROM}", "expr": "changes(x[1m])"},
		                         {"name": "logs", "datasource": {"type": "loki", "uid": "l"}}]},
		"panels": [{"id": 1, "type": "stat", "datasource": "${DS_PROM}", "targets": [{"expr": "up{job=\"$job\"}"}]}]}`
	d, rep := imp(t, text, Options{DataSources: testSources, Inputs: []Input{
		{Name: "DS_PROM", Type: "datasource", PluginID: "prometheus", Value: "Central Thanos"},
		{Name: "VAR_JOB", Type: "constant", Value: "web"},
	}})
	eq(t, at(t, d, "panels", 0, "datasource"), `{"type":"prometheus","uid":"central"}`)
	eq(t, at(t, d, "templating", "list", 0, "query"), `"web"`)
	eq(t, at(t, d, "annotations", "list", 0, "datasource"), `{"type":"grafana","uid":"-- Grafana --"}`)
	eq(t, at(t, d, "annotations", "list", 1, "datasource"), `{"type":"prometheus","uid":"central"}`)
	eq(t, at(t, d, "__requires"), `null`)
	eq(t, rep.Notes, `["annotation \"logs\": datasource type loki is not supported; it shows nothing"]`)
}

// TestExportImportRoundTrip exports a dashboard for sharing and imports
// the result elsewhere: the references come back as the chosen source.
func TestExportImportRoundTrip(t *testing.T) {
	d, _ := imp(t, `{"uid": "abc", "id": 7, "title": "t", "schemaVersion": 39,
		"templating": {"list": [{"name": "ds", "type": "datasource", "query": "prometheus"},
		                        {"name": "job", "type": "query", "datasource": {"type": "prometheus", "uid": "central"}}]},
		"panels": [{"id": 1, "type": "timeseries", "datasource": {"type": "prometheus", "uid": "central"},
		            "targets": [{"refId": "A", "expr": "up", "datasource": {"type": "prometheus", "uid": "central"}}]},
		           {"id": 2, "type": "stat", "datasource": {"type": "prometheus", "uid": "${ds}"}},
		           {"id": 3, "type": "row", "collapsed": true, "panels": [{"id": 4, "type": "gauge", "datasource": {"type": "prometheus", "uid": "argus"}}]}]}`,
		Options{DataSources: testSources})
	before := canon(t, d)
	x := Export(d, testSources)
	if canon(t, d) != before {
		t.Fatal("Export modified its argument")
	}
	eq(t, at(t, x, "id"), `null`)
	eq(t, at(t, x, "__inputs"), `[`+
		`{"description":"","label":"argus","name":"DS_ARGUS","pluginId":"prometheus","pluginName":"Prometheus","type":"datasource"},`+
		`{"description":"","label":"Central Thanos","name":"DS_CENTRAL_THANOS","pluginId":"prometheus","pluginName":"Prometheus","type":"datasource"}]`)
	eq(t, at(t, x, "panels", 0, "datasource"), `{"type":"prometheus","uid":"${DS_CENTRAL_THANOS}"}`)
	eq(t, at(t, x, "panels", 0, "targets", 0, "datasource"), `{"type":"prometheus","uid":"${DS_CENTRAL_THANOS}"}`)
	eq(t, at(t, x, "panels", 1, "datasource"), `{"type":"prometheus","uid":"${ds}"}`)
	eq(t, at(t, x, "panels", 2, "panels", 0, "datasource"), `{"type":"prometheus","uid":"${DS_ARGUS}"}`)
	eq(t, at(t, x, "templating", "list", 1, "datasource"), `{"type":"prometheus","uid":"${DS_CENTRAL_THANOS}"}`)
	data, err := json.Marshal(x)
	if err != nil {
		t.Fatal(err)
	}
	// Another argus with only the built-in source.
	back, rep, err := Import(data, Options{})
	if err != nil {
		t.Fatal(err)
	}
	eq(t, at(t, back, "panels", 0, "datasource"), `{"type":"prometheus","uid":"argus"}`)
	eq(t, at(t, back, "panels", 2, "panels", 0, "datasource"), `{"type":"prometheus","uid":"argus"}`)
	if rep.Summary.OK != 3 {
		t.Errorf("summary %v", rep.Summary)
	}
}

func TestUnsupportedPanels(t *testing.T) {
	_, rep := imp(t, `{"schemaVersion": 36, "panels": [
		{"id": 1, "type": "grafana-worldmap-panel", "title": "map"},
		{"id": 2, "libraryPanel": {"uid": "x", "name": "shared"}},
		{"id": 3, "type": "timeseries", "targets": [{"refId": "A", "target": "graphite.path"}]},
		{"id": 4, "type": "timeseries", "targets": [{"refId": "A", "target": "x", "hide": true}, {"refId": "B", "expr": "up"}]},
		{"id": 5, "type": "text", "datasource": {"type": "loki", "uid": "l"}}]}`, Options{})
	want := []struct {
		status Status
		reason string
	}{
		{StatusUnsupported, "panel type grafana-worldmap-panel is not supported"},
		{StatusUnsupported, `library panel "shared" is not supported (its model is not in the file)`},
		{StatusUnsupported, `query A has no PromQL expression (it has "target", from another kind of datasource)`},
		{StatusOK, ""},
		{StatusOK, ""},
	}
	for i, w := range want {
		p := rep.Panels[i]
		if p.Status != w.status || w.reason != "" && p.Reasons[0] != w.reason {
			t.Errorf("panel %d: %+v, want %s %q", p.ID, p, w.status, w.reason)
		}
	}
	if rep.Summary != (Summary{Total: 5, OK: 2, Unsupported: 3}) {
		t.Errorf("summary %+v", rep.Summary)
	}
}
