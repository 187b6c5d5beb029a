package dashboard

import (
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/golden files")

// imp imports a dashboard written as JSON text, failing the test on error.
func imp(t *testing.T, text string, opts Options) (JSON, *Report) {
	t.Helper()
	d, rep, err := Import([]byte(text), opts)
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	return d, rep
}

// at follows a path of keys and indexes through decoded JSON.
func at(t *testing.T, v any, path ...any) any {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("at %v: %v is not an object", path, v)
			}
			v = m[k]
		case int:
			a, ok := v.([]any)
			if !ok || k >= len(a) {
				t.Fatalf("at %v: %v is not an array of %d", path, v, k+1)
			}
			v = a[k]
		}
	}
	return v
}

// canon renders a value as JSON for comparisons that ignore number types.
func canon(t *testing.T, v any) string {
	t.Helper()
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func eq(t *testing.T, got any, want string) {
	t.Helper()
	if g := canon(t, got); g != want {
		t.Errorf("got  %s\nwant %s", g, want)
	}
}

func TestRowsToGrid(t *testing.T) {
	d, rep := imp(t, `{"schemaVersion": 14, "rows": [
		{"title": "A", "showTitle": true, "height": "300px", "panels": [
			{"id": 1, "type": "text", "span": 6},
			{"id": 2, "type": "text", "span": 6, "height": 150},
			{"id": 3, "type": "text", "span": 12}]},
		{"title": "B", "collapse": true, "panels": [{"id": 4, "type": "text"}]},
		{"title": "C", "panels": [{"type": "text"}]}
	]}`, Options{})
	eq(t, at(t, d, "rows"), `null`)
	ps := at(t, d, "panels").([]any)
	if len(ps) != 7 {
		t.Fatalf("got %d top-level panels, want 3 rows and 4 panels: %s", len(ps), canon(t, ps))
	}
	eq(t, at(t, ps[0], "gridPos"), `{"h":1,"w":24,"x":0,"y":0}`)
	eq(t, at(t, ps[0], "type"), `"row"`)
	eq(t, at(t, ps[1], "gridPos"), `{"h":8,"w":12,"x":0,"y":1}`) // 300px / 38 rounded up
	eq(t, at(t, ps[2], "gridPos"), `{"h":4,"w":12,"x":12,"y":1}`)
	eq(t, at(t, ps[3], "gridPos"), `{"h":8,"w":24,"x":0,"y":9}`)
	eq(t, at(t, ps[4], "collapsed"), `true`)
	eq(t, at(t, ps[4], "gridPos", "y"), `17`)
	eq(t, at(t, ps[4], "panels", 0, "id"), `4`)
	eq(t, at(t, ps[4], "panels", 0, "gridPos"), `{"h":7,"w":8,"x":0,"y":18}`)
	// The collapsed row takes one grid row only.
	eq(t, at(t, ps[5], "gridPos", "y"), `18`)
	eq(t, at(t, ps[6], "gridPos"), `{"h":7,"w":8,"x":0,"y":19}`)
	if _, ok := at(t, ps[1], "span").(any); ok {
		t.Errorf("span left behind: %s", canon(t, ps[1]))
	}
	// Ids: kept where given and unique, assigned otherwise.
	seen := map[string]bool{}
	var walk func([]any)
	walk = func(ps []any) {
		for _, p := range ps {
			id := canon(t, at(t, p, "id"))
			if seen[id] || id == "null" {
				t.Errorf("panel id %s missing or repeated", id)
			}
			seen[id] = true
			if sub, ok := at(t, p, "panels").([]any); ok {
				walk(sub)
			}
		}
	}
	walk(ps)
	if rep.Summary.Total != 5 || rep.SchemaVersion != 14 || rep.MigratedTo != SchemaVersion {
		t.Errorf("report: %+v", rep)
	}
}

func TestSingleUntitledRowHasNoRowPanel(t *testing.T) {
	d, _ := imp(t, `{"schemaVersion": 12, "rows": [{"panels": [{"id": 1, "type": "text", "span": 12}]}]}`, Options{})
	eq(t, at(t, d, "panels"), `[{"gridPos":{"h":7,"w":24,"x":0,"y":0},"id":1,"type":"text"}]`)
}

func TestGraphToTimeseries(t *testing.T) {
	d, rep := imp(t, `{"schemaVersion": 16, "panels": [{"id": 1, "type": "graph", "title": "g",
		"datasource": null, "targets": [{"expr": "up", "refId": "A"}],
		"bars": false, "lines": true, "points": false, "fill": 3, "linewidth": 2, "stack": true, "percentage": false,
		"steppedLine": true, "nullPointMode": "null as zero", "decimals": 2,
		"yaxes": [{"format": "bytes", "min": 0, "max": "100", "logBase": 2, "show": true, "label": "used"},
		          {"format": "percentunit", "logBase": 1, "show": true}],
		"legend": {"show": true, "alignAsTable": true, "rightSide": true, "avg": true, "max": true, "current": true, "values": true},
		"tooltip": {"shared": false, "sort": 2},
		"thresholds": [{"value": 80, "op": "gt", "colorMode": "critical", "fill": true, "line": true}],
		"aliasColors": {"errors": "#FF0000"},
		"seriesOverrides": [{"alias": "/^5../", "yaxis": 2, "dashes": true, "fill": 0},
		                    {"alias": "total", "legend": false, "fillBelowTo": "x", "stack": false}]}]}`, Options{})
	p := at(t, d, "panels", 0)
	eq(t, at(t, p, "type"), `"timeseries"`)
	c := at(t, p, "fieldConfig", "defaults", "custom")
	eq(t, at(t, c, "drawStyle"), `"line"`)
	eq(t, at(t, c, "fillOpacity"), `30`)
	eq(t, at(t, c, "lineWidth"), `2`)
	eq(t, at(t, c, "lineInterpolation"), `"stepAfter"`)
	eq(t, at(t, c, "stacking"), `{"group":"A","mode":"normal"}`)
	eq(t, at(t, c, "scaleDistribution"), `{"log":2,"type":"log"}`)
	eq(t, at(t, c, "axisLabel"), `"used"`)
	eq(t, at(t, c, "thresholdsStyle"), `{"mode":"line+area"}`)
	def := at(t, p, "fieldConfig", "defaults")
	eq(t, at(t, def, "unit"), `"bytes"`)
	eq(t, at(t, def, "min"), `0`)
	eq(t, at(t, def, "max"), `100`)
	eq(t, at(t, def, "decimals"), `2`)
	eq(t, at(t, def, "nullValueMode"), `"null as zero"`)
	eq(t, at(t, def, "thresholds"), `{"mode":"absolute","steps":[{"color":"transparent","value":null},{"color":"red","value":80}]}`)
	eq(t, at(t, p, "options", "legend"), `{"calcs":["lastNotNull","max","mean"],"displayMode":"table","placement":"right","showLegend":true}`)
	eq(t, at(t, p, "options", "tooltip"), `{"mode":"single","sort":"desc"}`)
	eq(t, at(t, p, "fieldConfig", "overrides"), `[`+
		`{"matcher":{"id":"byRegexp","options":"^5.."},"properties":[{"id":"custom.fillOpacity","value":0},{"id":"unit","value":"percentunit"},{"id":"custom.axisPlacement","value":"right"},{"id":"custom.lineStyle","value":{"dash":[10,10],"fill":"dash"}}]},`+
		`{"matcher":{"id":"byName","options":"total"},"properties":[{"id":"custom.stacking","value":{"group":"A","mode":"none"}},{"id":"custom.hideFrom","value":{"legend":true,"tooltip":false,"viz":false}}]},`+
		`{"matcher":{"id":"byName","options":"errors"},"properties":[{"id":"color","value":{"fixedColor":"#FF0000","mode":"fixed"}}]}]`)
	for _, k := range []string{"yaxes", "seriesOverrides", "aliasColors", "legend", "lines", "fill"} {
		if _, ok := p.(map[string]any)[k]; ok {
			t.Errorf("graph key %s left behind", k)
		}
	}
	eq(t, at(t, p, "datasource"), `{"type":"prometheus","uid":"argus"}`)
	want := PanelReport{ID: 1, Title: "g", Type: "timeseries", OriginalType: "graph", Status: StatusDegraded,
		Reasons: []string{"graph: seriesOverrides fillBelowTo is not supported"}}
	if !reflect.DeepEqual(rep.Panels[0], want) {
		t.Errorf("report %+v, want %+v", rep.Panels[0], want)
	}
}

func TestGraphDrawStyles(t *testing.T) {
	f := func(opts, style, points string) {
		t.Helper()
		d, _ := imp(t, `{"schemaVersion": 27, "panels": [{"type": "graph", `+opts+`}]}`, Options{})
		eq(t, at(t, d, "panels", 0, "fieldConfig", "defaults", "custom", "drawStyle"), style)
		eq(t, at(t, d, "panels", 0, "fieldConfig", "defaults", "custom", "showPoints"), points)
	}
	f(`"bars": true, "lines": false`, `"bars"`, `"never"`)
	f(`"lines": false, "points": true`, `"points"`, `"always"`)
	f(`"lines": true, "points": true`, `"line"`, `"always"`)
	f(`"lines": true`, `"line"`, `"never"`)
}

func TestGraphOldThresholds(t *testing.T) {
	d, _ := imp(t, `{"schemaVersion": 12, "panels": [{"type": "graph", "grid": {"threshold1": 5, "threshold1Color": "rgba(1,2,3,1)", "threshold2": 10, "threshold2Color": "red", "thresholdLine": false}}]}`, Options{})
	eq(t, at(t, d, "panels", 0, "fieldConfig", "defaults", "thresholds", "steps"),
		`[{"color":"transparent","value":null},{"color":"rgba(1,2,3,1)","value":5},{"color":"red","value":10}]`)
	eq(t, at(t, d, "panels", 0, "fieldConfig", "defaults", "custom", "thresholdsStyle"), `{"mode":"area"}`)
}

func TestSinglestat(t *testing.T) {
	d, rep := imp(t, `{"schemaVersion": 14, "panels": [
		{"id": 1, "type": "singlestat", "format": "percent", "valueName": "current", "thresholds": "50,80",
		 "colors": ["green", "yellow", "red"], "colorBackground": true, "sparkline": {"show": true},
		 "valueMaps": [{"op": "=", "text": "N/A", "value": "null"}, {"op": "=", "text": "down", "value": "0"}],
		 "rangeMaps": [{"from": "1", "to": "5", "text": "low"}], "decimals": 1},
		{"id": 2, "type": "singlestat", "gauge": {"show": true, "minValue": 0, "maxValue": 200, "thresholdMarkers": true},
		 "valueName": "avg", "postfix": " req/s"}]}`, Options{})
	p := at(t, d, "panels", 0)
	eq(t, at(t, p, "type"), `"stat"`)
	eq(t, at(t, p, "options"), `{"colorMode":"background","graphMode":"area","justifyMode":"auto","orientation":"horizontal","reduceOptions":{"calcs":["lastNotNull"],"fields":"","values":false},"textMode":"auto"}`)
	eq(t, at(t, p, "fieldConfig", "defaults"), `{"color":{"mode":"thresholds"},"decimals":1,`+
		`"mappings":[{"options":{"match":"null","result":{"text":"N/A"}},"type":"special"},{"options":{"0":{"text":"down"}},"type":"value"},{"options":{"from":1,"result":{"text":"low"},"to":5},"type":"range"}],`+
		`"thresholds":{"mode":"absolute","steps":[{"color":"green","value":null},{"color":"yellow","value":50},{"color":"red","value":80}]},"unit":"percent"}`)
	g := at(t, d, "panels", 1)
	eq(t, at(t, g, "type"), `"gauge"`)
	eq(t, at(t, g, "fieldConfig", "defaults", "max"), `200`)
	eq(t, at(t, g, "options", "showThresholdMarkers"), `true`)
	if rep.Panels[0].Status != StatusOK || rep.Panels[1].Status != StatusDegraded || rep.Panels[1].OriginalType != "singlestat" {
		t.Errorf("report: %+v", rep.Panels)
	}
}

func TestTableOld(t *testing.T) {
	d, rep := imp(t, `{"schemaVersion": 14, "panels": [{"id": 1, "type": "table", "transform": "timeseries_aggregations",
		"columns": [{"text": "Avg", "value": "avg"}, {"text": "Current", "value": "current"}],
		"sort": {"col": 2, "desc": true},
		"styles": [{"pattern": "Time", "type": "date", "alias": "When"},
		           {"pattern": "/.*/", "type": "number", "unit": "bytes", "decimals": 2},
		           {"pattern": "/^err/", "type": "number", "colorMode": "cell", "thresholds": ["1", "10"], "colors": ["a", "b", "c"]},
		           {"pattern": "secret", "type": "hidden"}]}]}`, Options{})
	p := at(t, d, "panels", 0)
	eq(t, at(t, p, "type"), `"table"`)
	eq(t, at(t, p, "transformations"), `[{"id":"reduce","options":{"reducers":["mean","lastNotNull"]}}]`)
	eq(t, at(t, p, "fieldConfig", "defaults"), `{"custom":{"align":"auto"},"decimals":2,"unit":"bytes"}`)
	eq(t, at(t, p, "fieldConfig", "overrides"), `[`+
		`{"matcher":{"id":"byName","options":"Time"},"properties":[{"id":"displayName","value":"When"},{"id":"unit","value":"time: YYYY-MM-DD HH:mm:ss"}]},`+
		`{"matcher":{"id":"byRegexp","options":"^err"},"properties":[{"id":"custom.cellOptions","value":{"type":"color-background"}},{"id":"thresholds","value":{"mode":"absolute","steps":[{"color":"a","value":null},{"color":"b","value":1},{"color":"c","value":10}]}},{"id":"color","value":{"mode":"thresholds"}}]},`+
		`{"matcher":{"id":"byName","options":"secret"},"properties":[{"id":"custom.hidden","value":true}]}]`)
	if rep.Panels[0].OriginalType != "" || rep.Panels[0].Status != StatusDegraded ||
		rep.Panels[0].Reasons[0] != "table: sorting by column 2 is not kept" {
		t.Errorf("report: %+v", rep.Panels[0])
	}
}

// TestLinkVariablesSurviveSaves imports a dashboard with today's data
// link variables, and its result again (every save migrates): the links
// stay as they were, and old names in a current schema are still renamed.
func TestLinkVariablesSurviveSaves(t *testing.T) {
	const url = `/d?l=${__field.labels.job}&a=${__field.labels}&s=${__series.name}&t=${__value.time}`
	d, _ := imp(t, `{"schemaVersion": 39, "panels": [{"id": 1, "type": "timeseries", "links": [{"url": "/p?l=${__field.label.job}"}],
		"fieldConfig": {"defaults": {"links": [{"url": "`+url+`"}]}, "overrides": []}}]}`, Options{})
	for range 2 {
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		d, _ = imp(t, string(b), Options{})
	}
	eq(t, at(t, d, "panels", 0, "fieldConfig", "defaults", "links", 0, "url"), canon(t, url))
	eq(t, at(t, d, "panels", 0, "links", 0, "url"), `"/p?l=${__field.labels.job}"`)
}

func TestPerVersionSteps(t *testing.T) {
	d, _ := imp(t, `{"schemaVersion": 12, "sharedCrosshair": true, "nav": [{"type": "timepicker"}],
		"templating": {"list": [
			{"name": "a", "type": "query", "refresh": true, "datasource": "Prometheus", "query": "label_values(job)", "options": [{"text": "x"}], "useTags": false, "tagsQuery": ""},
			{"name": "b", "type": "query", "refresh": 0, "datasource": null},
			{"name": "c", "type": "constant", "query": "v"}]},
		"panels": [
			{"id": 1, "type": "text2", "links": [{"url": "/d?x=${__series_name}&t=$__value_time&l=${__field.label.job}"}]},
			{"id": 2, "type": "timeseries", "options": {"legend": {"displayMode": "hidden"}},
			 "fieldConfig": {"defaults": {"mappings": [{"id": 0, "type": 1, "value": "1", "text": "up"}]}, "overrides": []}},
			{"id": 3, "type": "table", "fieldConfig": {"defaults": {"custom": {"displayMode": "color-background"}},
			 "overrides": [{"matcher": {"id": "byName", "options": "x"}, "properties": [{"id": "custom.displayMode", "value": "lcd-gauge"}]}]}}]}`, Options{})
	eq(t, at(t, d, "graphTooltip"), `1`)
	eq(t, at(t, d, "nav"), `null`)
	vars := at(t, d, "templating", "list")
	eq(t, vars, `[`+
		`{"datasource":{"type":"prometheus","uid":"argus"},"name":"a","options":[],"query":"label_values(job)","refresh":1,"type":"query"},`+
		`{"datasource":{"type":"prometheus","uid":"argus"},"name":"b","options":[],"refresh":1,"type":"query"},`+
		`{"hide":2,"name":"c","query":"v","type":"constant"}]`)
	eq(t, at(t, d, "panels", 0, "type"), `"text"`)
	eq(t, at(t, d, "panels", 0, "links", 0, "url"), `"/d?x=${__series.name}&t=${__value.time}&l=${__field.labels.job}"`)
	eq(t, at(t, d, "panels", 1, "options", "legend"), `{"displayMode":"list","showLegend":false}`)
	eq(t, at(t, d, "panels", 1, "fieldConfig", "defaults", "mappings"), `[{"options":{"1":{"text":"up"}},"type":"value"}]`)
	eq(t, at(t, d, "panels", 2, "fieldConfig", "defaults", "custom"), `{"cellOptions":{"mode":"gradient","type":"color-background"}}`)
	eq(t, at(t, d, "panels", 2, "fieldConfig", "overrides", 0, "properties"), `[{"id":"custom.cellOptions","value":{"mode":"lcd","type":"gauge"}}]`)
	eq(t, at(t, d, "schemaVersion"), `39`)
}

func TestRepeatClonesDropped(t *testing.T) {
	d, rep := imp(t, `{"schemaVersion": 30, "panels": [
		{"id": 1, "type": "stat", "repeat": "host", "scopedVars": {"host": {"value": "a"}}},
		{"id": 2, "type": "stat", "repeatPanelId": 1, "repeatIteration": 123}]}`, Options{})
	eq(t, at(t, d, "panels"), `[{"datasource":{"type":"prometheus","uid":"argus"},"id":1,"repeat":"host","type":"stat"}]`)
	if rep.Summary.Total != 1 {
		t.Errorf("summary %v", rep.Summary)
	}
}

func TestNewerSchemaKept(t *testing.T) {
	d, rep := imp(t, `{"schemaVersion": 41, "panels": [], "somethingNew": {"x": [1, 2.50, 12345678901234567890]}}`, Options{})
	eq(t, at(t, d, "schemaVersion"), `41`)
	// Unknown fields and the exact text of numbers survive.
	eq(t, at(t, d, "somethingNew"), `{"x":[1,2.50,12345678901234567890]}`)
	if rep.MigratedTo != 41 {
		t.Errorf("migratedTo %d", rep.MigratedTo)
	}
}

func TestImportRejectsNonDashboards(t *testing.T) {
	for _, text := range []string{``, `[]`, `"x"`, `{"panels": {}}`, `{"rows": 3}`, `{} {}`} {
		if _, _, err := Import([]byte(text), Options{}); err == nil {
			t.Errorf("Import(%q): no error", text)
		}
	}
	d, _ := imp(t, `{"dashboard": {"title": "wrapped", "panels": []}, "meta": {}}`, Options{})
	eq(t, at(t, d, "title"), `"wrapped"`)
}

// TestSeedDashboards imports the three dashboards of the write-up (2017
// era, schema 12 to 14, rows, graph and singlestat panels) and checks that
// none is unsupported, and that the migrated JSON is as reviewed in
// testdata/golden (go test ./internal/dashboard -run TestSeed -update).
func TestSeedDashboards(t *testing.T) {
	files, _ := filepath.Glob("testdata/seed/*.json")
	if len(files) != 3 {
		t.Fatalf("want 3 seed dashboards, got %v", files)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			d, rep, err := Import(data, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Summary.Unsupported != 0 || rep.Summary.Total == 0 {
				t.Errorf("%s: %v", f, rep.Summary)
			}
			for _, p := range rep.Panels {
				if p.Status == StatusUnsupported {
					t.Errorf("panel %q (%s): %v", p.Title, p.Type, p.Reasons)
				}
			}
			// The big one's migrated JSON is left out of the golden file to
			// keep the repository small; its report is there.
			if fi, _ := os.Stat(f); fi.Size() > 100_000 {
				d = nil
			}
			golden(t, filepath.Join("testdata", "golden", filepath.Base(f)), struct {
				Dashboard JSON    `json:"dashboard,omitempty"`
				Report    *Report `json:"report"`
			}{d, rep})
		})
	}
}

func golden(t *testing.T, path string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	if *update {
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs from the output; run with -update and review the diff", path)
	}
}

// TestPublicFixtures imports the public dashboards of testdata/public
// (see testdata/README.md for their origins and licences).
func TestPublicFixtures(t *testing.T) {
	files, _ := filepath.Glob("testdata/public/*.json")
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			_, rep, err := Import(data, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Summary.Total == 0 || rep.Summary.Unsupported != 0 {
				t.Errorf("%v", rep.Summary)
				for _, p := range rep.Panels {
					if p.Status != StatusOK {
						t.Logf("panel %q (%s): %s: %v", p.Title, p.Type, p.Status, p.Reasons)
					}
				}
			}
		})
	}
}

// TestStateTimeline: the UI draws state timelines (lanes of mapped
// states); what it draws otherwise than Grafana makes the panel degraded.
func TestStateTimeline(t *testing.T) {
	_, rep := imp(t, `{"schemaVersion": 38, "panels": [
		{"id": 1, "type": "state-timeline", "targets": [{"refId": "A", "expr": "up"}],
		 "fieldConfig": {"defaults": {"color": {"mode": "continuous-GrYlRd"}, "custom": {"spanNulls": false},
		   "mappings": [{"type": "value", "options": {"0": {"text": "down", "color": "red"}}}]}, "overrides": []}},
		{"id": 2, "type": "state-timeline", "targets": [{"refId": "A", "expr": "up"}],
		 "fieldConfig": {"defaults": {"color": {"mode": "palette-classic"}, "custom": {"spanNulls": true}},
		   "overrides": [{"matcher": {"id": "byName", "options": "x"}, "properties": [{"id": "color", "value": {"mode": "fixed"}}]}]}}]}`, Options{})
	if rep.Summary != (Summary{Total: 2, OK: 1, Degraded: 1}) {
		t.Fatalf("%v: %+v", rep.Summary, rep.Panels)
	}
	want := []string{
		"state-timeline: color mode palette-classic is drawn in the series' colors",
		"state-timeline: field overrides are not applied",
		"state-timeline: null values are drawn as gaps (spanNulls is not applied)",
	}
	if got := rep.Panels[1].Reasons; !slices.Equal(got, want) {
		t.Errorf("reasons:\n%q\nwant\n%q", got, want)
	}
}

func TestSummaryLine(t *testing.T) {
	s := Summary{Total: 4, OK: 1, Degraded: 2, Unsupported: 1}
	if got := s.String(); got != "panels: 4 total, 1 ok, 2 degraded, 1 unsupported" {
		t.Error(got)
	}
	if !strings.HasPrefix(s.String(), "panels: ") {
		t.Error(s)
	}
}

func TestReportCarry(t *testing.T) {
	_, first := imp(t, `{"schemaVersion": 14, "panels": [
		{"id": 1, "type": "graph", "seriesOverrides": [{"alias": "x", "zfoo": 1}]},
		{"id": 2, "type": "graph"}, {"id": 3, "type": "singlestat"}]}`, Options{})
	d, _ := imp(t, `{"schemaVersion": 14, "panels": [
		{"id": 1, "type": "graph", "seriesOverrides": [{"alias": "x", "zfoo": 1}]},
		{"id": 2, "type": "graph"}, {"id": 3, "type": "singlestat"}]}`, Options{})
	// The UI changed panel 3 to a gauge and saved.
	at(t, d, "panels", 2).(map[string]any)["type"] = "gauge"
	data, _ := json.Marshal(d)
	_, again := imp(t, string(data), Options{})
	if again.Summary.Degraded != 0 {
		t.Fatalf("a migrated dashboard reports degraded panels by itself: %+v", again)
	}
	again.Carry(first)
	want := []PanelReport{
		{ID: 1, Type: "timeseries", OriginalType: "graph", Status: StatusDegraded, Reasons: []string{"graph: seriesOverrides zfoo is not supported"}},
		{ID: 2, Type: "timeseries", OriginalType: "graph", Status: StatusOK},
		{ID: 3, Type: "gauge", Status: StatusOK},
	}
	if !reflect.DeepEqual(again.Panels, want) || again.Summary != (Summary{Total: 3, OK: 2, Degraded: 1}) || again.SchemaVersion != 14 {
		t.Errorf("carried report:\n%+v\nwant\n%+v", again, want)
	}
}

// TestBuiltinDashboards checks the embedded dashboards, the integration
// types' included, import with every panel ok (none degraded or
// unsupported) and are already in the current schema.
func TestBuiltinDashboards(t *testing.T) {
	files, err := fs.Glob(Builtin(), "*.json")
	if err != nil || len(files) != 4 {
		t.Fatalf("built-in dashboards: %v %v", files, err)
	}
	integrations, err := fs.Glob(Builtin(), IntegrationFile("*"))
	if err != nil || len(integrations) == 0 {
		t.Fatalf("integration dashboards: %v %v", integrations, err)
	}
	files = append(files, integrations...)
	uids := map[string]bool{}
	for _, f := range files {
		data, _ := fs.ReadFile(Builtin(), f)
		d, rep, err := Import(data, Options{})
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if rep.Summary.OK != rep.Summary.Total || rep.Summary.Total < 6 || rep.SchemaVersion != SchemaVersion || len(rep.Notes) > 0 {
			t.Errorf("%s: %+v", f, rep)
		}
		uid := d["uid"].(string)
		if uids[uid] || !strings.HasPrefix(uid, "argus-") {
			t.Errorf("%s: uid %q", f, uid)
		}
		uids[uid] = true
	}
}

// TestTransformationNotes reports the transformations the UI does not
// apply: any on a panel other than a table, and on a table those besides
// merge, reduce (series to rows), organize, filter by name and labels to
// fields.
func TestTransformationNotes(t *testing.T) {
	_, rep := imp(t, `{"schemaVersion": 39, "panels": [
		{"id": 1, "type": "table", "targets": [{"expr": "up"}], "transformations": [
			{"id": "merge"}, {"id": "organize", "options": {"excludeByName": {"job": true}}}, {"id": "calculateField"},
			{"id": "reduce", "options": {"mode": "reduceFields"}}, {"id": "sortBy", "disabled": true}]},
		{"id": 2, "type": "table", "targets": [{"expr": "up"}], "transformations": [{"id": "reduce", "options": {"reducers": ["max"]}}, {"id": "filterFieldsByName"}]},
		{"id": 3, "type": "timeseries", "targets": [{"expr": "up"}], "transformations": [{"id": "organize"}]}]}`, Options{})
	want := [][]string{
		{"transformation calculateField is not applied", "transformation reduce in mode reduceFields is not applied (seriesToRows is)"},
		nil,
		{"transformation organize is not applied (argus applies transformations in table panels only)"},
	}
	for i, p := range rep.Panels {
		if fmt.Sprint(p.Reasons) != fmt.Sprint(want[i]) {
			t.Errorf("panel %d: %s %q, want %q", p.ID, p.Status, p.Reasons, want[i])
		}
	}
	if rep.Panels[1].Status != StatusOK || rep.Panels[0].Status != StatusDegraded {
		t.Errorf("statuses: %+v", rep.Panels)
	}
}
