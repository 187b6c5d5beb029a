package api

import (
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestErrors checks the status code, error type and message of bad requests
// against what Prometheus 3 answers.
func TestErrors(t *testing.T) {
	e := newEnv(t, envOptions{})
	many := url.Values{}
	for i := range maxSelectors + 1 {
		many.Add("match[]", `up{i="`+string(rune('a'+i%26))+`"}`)
	}
	for _, tc := range []struct {
		name, method, path string
		form               url.Values
		code               int
		typ, msg           string
	}{
		{"series without match", "GET", "/api/v1/series", nil, 400, "bad_data", "no match[] parameter provided"},
		{"series bad start", "GET", "/api/v1/series", url.Values{"match[]": {"up"}, "start": {"abc"}}, 400, "bad_data",
			`invalid parameter "start": invalid time value for 'start': cannot parse "abc" to a valid timestamp`},
		{"series bad end", "POST", "/api/v1/series", url.Values{"match[]": {"up"}, "end": {"1e99"}}, 400, "bad_data",
			`invalid parameter "end": invalid time value for 'end': cannot parse "1e99" to a valid timestamp`},
		{"series NaN time", "GET", "/api/v1/series", url.Values{"match[]": {"up"}, "start": {"NaN"}}, 400, "bad_data",
			`invalid parameter "start": invalid time value for 'start': cannot parse "NaN" to a valid timestamp`},
		{"series empty matcher", "GET", "/api/v1/series", url.Values{"match[]": {`{job=~".*"}`}}, 400, "bad_data",
			`invalid parameter "match[]": match[] must contain at least one non-empty matcher`},
		{"series bad selector", "GET", "/api/v1/series", url.Values{"match[]": {`up{`}}, 400, "bad_data",
			`invalid parameter "match[]": 1:4: parse error: unexpected end of input inside braces`},
		{"series negative limit", "GET", "/api/v1/series", url.Values{"match[]": {"up"}, "limit": {"-1"}}, 400, "bad_data",
			`invalid parameter "limit": limit must be non-negative`},
		{"series bad limit", "GET", "/api/v1/series", url.Values{"match[]": {"up"}, "limit": {"x"}}, 400, "bad_data",
			`invalid parameter "limit": strconv.Atoi: parsing "x": invalid syntax`},
		{"series too many selectors", "POST", "/api/v1/series", many, 400, "bad_data",
			`invalid parameter "match[]": too many match[] selectors: 1001, at most 1000`},
		{"labels empty matcher", "GET", "/api/v1/labels", url.Values{"match[]": {`{job=""}`}}, 400, "bad_data",
			"match[] must contain at least one non-empty matcher"},
		{"labels bad start", "POST", "/api/v1/labels", url.Values{"start": {"yesterday"}}, 400, "bad_data",
			`invalid parameter "start": invalid time value for 'start': cannot parse "yesterday" to a valid timestamp`},
		{"label values bad name", "GET", "/api/v1/label/%FF/values", nil, 400, "bad_data", `invalid label name: "\xff"`},
		{"label values bad limit", "GET", "/api/v1/label/job/values", url.Values{"limit": {"-3"}}, 400, "bad_data",
			`invalid parameter "limit": limit must be non-negative`},
		{"metadata bad limit", "GET", "/api/v1/metadata", url.Values{"limit": {"x"}}, 400, "bad_data", "limit must be a number"},
		{"metadata bad limit_per_metric", "GET", "/api/v1/metadata", url.Values{"limit_per_metric": {"x"}}, 400, "bad_data",
			"limit_per_metric must be a number"},
		{"targets metadata bad match_target", "GET", "/api/v1/targets/metadata", url.Values{"match_target": {"{job="}}, 400, "bad_data",
			`invalid parameter "match_target": `},
		{"targets metadata bad limit", "GET", "/api/v1/targets/metadata", url.Values{"limit": {"1.5"}}, 400, "bad_data", "limit must be a number"},
		{"tsdb zero limit", "GET", "/api/v1/status/tsdb", url.Values{"limit": {"0"}}, 400, "bad_data", "limit must be a positive number"},
		{"tsdb huge limit", "GET", "/api/v1/status/tsdb", url.Values{"limit": {"10001"}}, 400, "bad_data", "limit must not exceed 10000"},
		{"format bad query", "GET", "/api/v1/format_query", url.Values{"query": {"sum("}}, 400, "bad_data", `invalid parameter "query": `},
		{"parse bad query", "POST", "/api/v1/parse_query", url.Values{"query": {"1 +"}}, 400, "bad_data", `invalid parameter "query": `},
		{"query without engine", "GET", "/api/v1/query", url.Values{"query": {"up"}}, 500, "unavailable", errNoEngine.Error()},
		{"range query without engine", "POST", "/api/v1/query_range", url.Values{"query": {"up"}}, 500, "unavailable", errNoEngine.Error()},
		{"snapshot disabled", "POST", "/api/v1/admin/tsdb/snapshot", nil, 500, "unavailable", "admin APIs disabled"},
		{"delete disabled", "PUT", "/api/v1/admin/tsdb/delete_series", url.Values{"match[]": {"up"}}, 500, "unavailable", "admin APIs disabled"},
		{"clean disabled", "POST", "/api/v1/admin/tsdb/clean_tombstones", nil, 500, "unavailable", "admin APIs disabled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, r := e.do(tc.method, tc.path, tc.form)
			if code != tc.code || r.Status != "error" || r.ErrorType != tc.typ || !strings.HasPrefix(r.Error, tc.msg) {
				t.Errorf("got %d %s %s %q\nwant %d error %s %q", code, r.Status, r.ErrorType, r.Error, tc.code, tc.typ, tc.msg)
			}
		})
	}
}

func TestRoutingAndForms(t *testing.T) {
	e := newEnv(t, envOptions{})
	start := e.now.Add(-time.Hour).Format(time.RFC3339)
	// Form-encoded POST, RFC 3339 and float times.
	code, r := e.do("POST", "/api/v1/series", url.Values{"match[]": {"node_load1"}, "start": {start}, "end": {"4102444800.5"}})
	var series []map[string]string
	if err := json.Unmarshal(r.Data, &series); code != 200 || err != nil || len(series) != 1 || series[0]["cpu_model"] != "x86" {
		t.Errorf("POST series: %d %s", code, r.Data)
	}
	// Prometheus's own defaults, as Grafana sends them back, are accepted.
	code, r = e.do("GET", "/api/v1/labels", url.Values{"start": {minTimeText}, "end": {maxTimeText}})
	if code != 200 || !strings.Contains(string(r.Data), `"cpu_model"`) {
		t.Errorf("labels over the default range: %d %s", code, r.Data)
	}
	// Escaped label names in the path.
	code, r = e.do("GET", "/api/v1/label/U__cpu__model/values", nil)
	if code != 200 || string(r.Data) != `["x86"]` {
		t.Errorf("escaped label name: %d %s", code, r.Data)
	}
	// An empty answer is an empty list, not null.
	code, r = e.do("GET", "/api/v1/label/nope/values", nil)
	if code != 200 || string(r.Data) != `[]` {
		t.Errorf("values of an unknown label: %d %s", code, r.Data)
	}
	code, r = e.do("GET", "/api/v1/series", url.Values{"match[]": {"nope"}})
	if code != 200 || string(r.Data) != `[]` {
		t.Errorf("series of an unknown metric: %d %s", code, r.Data)
	}

	// Unknown paths are 404 and wrong methods 405, not API errors.
	for path, want := range map[string]int{"/api/v1/nope": 404, "/api/v1/write": 404} {
		resp, err := http.Post(e.url+path, "text/plain", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("POST %s: %d, want %d", path, resp.StatusCode, want)
		}
	}
	req, _ := http.NewRequest(http.MethodDelete, e.url+"/api/v1/series", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("DELETE series: %d", resp.StatusCode)
	}

	// Browser preflight.
	req, _ = http.NewRequest(http.MethodOptions, e.url+"/api/v1/series", nil)
	req.Header.Set("Origin", "https://grafana.example")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "*" ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "POST") {
		t.Errorf("preflight: %d %v", resp.StatusCode, resp.Header)
	}

	// A body over the limit is refused with a clear error.
	big := url.Values{"match[]": {"up"}, "pad": {strings.Repeat("x", maxBodyBytes)}}
	code, r = e.do("POST", "/api/v1/series", big)
	if code != 400 || r.ErrorType != "bad_data" || !strings.Contains(r.Error, "request body too large") {
		t.Errorf("huge body: %d %s %q", code, r.ErrorType, r.Error)
	}

	// Query parsing endpoints.
	code, r = e.do("GET", "/api/v1/format_query", url.Values{"query": {`sum  by(job)(rate(x{a="b"}[5m]))`}})
	if code != 200 || string(r.Data) != `"sum by (job) (rate(x{a=\"b\"}[5m]))"` {
		t.Errorf("format_query: %d %s", code, r.Data)
	}
}

func TestParseQuery(t *testing.T) {
	e := newEnv(t, envOptions{})
	code, r := e.do("POST", "/api/v1/parse_query", url.Values{"query": {`sum without(instance) (rate(http_requests_total{job="api"}[5m] offset 1m)) > bool on(job) group_left(team) team_info`}})
	if code != 200 {
		t.Fatalf("%d %s", code, r.Error)
	}
	var tree map[string]any
	if err := json.Unmarshal(r.Data, &tree); err != nil {
		t.Fatal(err)
	}
	get := func(m any, path ...string) any {
		for _, p := range path {
			m = m.(map[string]any)[p]
		}
		return m
	}
	if tree["type"] != "binaryExpr" || tree["op"] != ">" || tree["bool"] != true {
		t.Errorf("root: %v", tree)
	}
	if get(tree, "matching", "card") != "many-to-one" || !slices.Equal(toStrings(get(tree, "matching", "include")), []string{"team"}) {
		t.Errorf("matching: %v", tree["matching"])
	}
	if get(tree, "rhs", "type") != "vectorSelector" || get(tree, "rhs", "name") != "team_info" || get(tree, "rhs", "startOrEnd") != nil {
		t.Errorf("rhs: %v", tree["rhs"])
	}
	agg := tree["lhs"].(map[string]any)
	if agg["type"] != "aggregation" || agg["op"] != "sum" || agg["without"] != true || !slices.Equal(toStrings(agg["grouping"]), []string{"instance"}) || agg["param"] != nil {
		t.Errorf("aggregation: %v", agg)
	}
	call := agg["expr"].(map[string]any)
	if get(call, "type") != "call" || get(call, "func", "name") != "rate" || get(call, "func", "returnType") != "vector" {
		t.Errorf("call: %v", call)
	}
	sel := call["args"].([]any)[0].(map[string]any)
	if sel["type"] != "matrixSelector" || sel["range"] != 300000.0 || sel["offset"] != 60000.0 || sel["name"] != "http_requests_total" {
		t.Errorf("matrix selector: %v", sel)
	}
	ms := sel["matchers"].([]any)
	if len(ms) != 2 || ms[0].(map[string]any)["type"] != "=" || ms[0].(map[string]any)["name"] != "job" {
		t.Errorf("matchers: %v", ms)
	}
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

func TestGzip(t *testing.T) {
	for header, want := range map[string]bool{
		"": false, "gzip": true, "deflate, gzip;q=1.0, *;q=0.5": true, "gzip;q=0": false, "gzip; q=0.000": false,
		"gzip;q=0.2": true, "br": false, "x-gzip": false,
	} {
		if got := acceptsGzip(header); got != want {
			t.Errorf("acceptsGzip(%q) = %v", header, got)
		}
	}
	big := []byte(`["` + strings.Repeat("x", minGzipBytes) + `"]`)
	req := httptest.NewRequest(http.MethodGet, "/api/v1/labels", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	rec := httptest.NewRecorder()
	writeJSON(rec, req, 200, big)
	zr, err := gzip.NewReader(rec.Body)
	if err != nil || rec.Header().Get("Content-Encoding") != "gzip" {
		t.Fatalf("not compressed: %v %v", rec.Header(), err)
	}
	if b, err := io.ReadAll(zr); err != nil || string(b) != string(big) {
		t.Fatalf("decompressed %d bytes: %v", len(b), err)
	}
	// Small answers are sent as they are.
	rec = httptest.NewRecorder()
	writeJSON(rec, req, 200, []byte(`[]`))
	if rec.Header().Get("Content-Encoding") != "" || rec.Body.String() != "[]" {
		t.Fatalf("small answer: %v %q", rec.Header(), rec.Body)
	}
}
