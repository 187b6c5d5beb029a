package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/snappy"
	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/prompb"
)

// queryTestData is what both servers get: two jobs' request counters, a
// gauge with special values, every 15 s for 20 minutes, ending at end.
func queryTestData(end time.Time) *prompb.WriteRequest {
	var req prompb.WriteRequest
	endMs := end.UnixMilli()
	add := func(vals func(i int) float64, lbls ...string) {
		ts := prompb.TimeSeries{}
		for i := 0; i+1 < len(lbls); i += 2 {
			ts.Labels = append(ts.Labels, prompb.Label{Name: lbls[i], Value: lbls[i+1]})
		}
		for i := 80; i >= 0; i-- {
			ts.Samples = append(ts.Samples, prompb.Sample{Timestamp: endMs - int64(i)*15000, Value: vals(80 - i)})
		}
		req.Timeseries = append(req.Timeseries, ts)
	}
	for j, job := range []string{"api", "web"} {
		for inst := range 3 {
			add(func(i int) float64 { return float64(i * (j + 1) * (inst + 1)) },
				"__name__", "http_requests_total", "instance", fmt.Sprintf("h%d:80", inst), "job", job)
		}
	}
	add(func(i int) float64 { return []float64{0.1, 1e-9, 3e21, -2.5}[i%4] }, "__name__", "odd_gauge", "job", "x", "quote", `a"b<c>`)
	return &req
}

func pushRemoteWrite(t *testing.T, base string, req *prompb.WriteRequest) {
	t.Helper()
	raw, err := req.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	hreq, _ := http.NewRequest("POST", base+"/api/v1/write", bytes.NewReader(snappy.Encode(nil, raw)))
	hreq.Header.Set("Content-Encoding", "snappy")
	hreq.Header.Set("Content-Type", "application/x-protobuf")
	hreq.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	resp, err := http.DefaultClient.Do(hreq)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("remote write to %s: %d %s", base, resp.StatusCode, body)
	}
}

// startPrometheusPeer runs Debian's prometheus with the remote-write
// receiver on a free loopback port and returns its URL.
func startPrometheusPeer(t *testing.T) string {
	t.Helper()
	return "http://" + startPeer(t, "prometheus", func(addr, dir string) []string {
		cfg := filepath.Join(dir, "prometheus.yml")
		os.WriteFile(cfg, []byte("global: {}\n"), 0o644)
		return []string{"--config.file=" + cfg, "--storage.tsdb.path=" + filepath.Join(dir, "data"),
			"--web.listen-address=" + addr, "--web.enable-remote-write-receiver"}
	})
}

// apiAnswer is an API answer decoded for comparison.
type apiAnswer struct {
	code int
	body map[string]any
}

func apiGet(t *testing.T, base, path string, params url.Values) apiAnswer {
	t.Helper()
	resp, err := http.Get(base + path + "?" + params.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("%s?%s: %v", path, params.Encode(), err)
	}
	// The order of series in a result is the storage's: Prometheus 3 (and
	// argus) hand them over in creation order when one source holds them,
	// the packaged Prometheus 2 sorts by labels. Compare them as sets.
	if data, ok := body["data"].(map[string]any); ok {
		if res, ok := data["result"].([]any); ok && (data["resultType"] == "vector" || data["resultType"] == "matrix") {
			slices.SortFunc(res, func(a, b any) int {
				return strings.Compare(fmt.Sprint(a.(map[string]any)["metric"]), fmt.Sprint(b.(map[string]any)["metric"]))
			})
		}
	}
	return apiAnswer{resp.StatusCode, body}
}

// TestQueryAPIMatchesPrometheus feeds argus and Debian's Prometheus the same
// samples and compares their /api/v1/query and /query_range answers: result
// types, label sets, timestamps and the value strings (exponents, NaN, Inf,
// escaping). The queries are ones whose meaning did not change between the
// packaged Prometheus 2.x and 3.x (no range selectors ending on a sample).
func TestQueryAPIMatchesPrometheus(t *testing.T) {
	prom := startPrometheusPeer(t)
	r := start(t, Options{DataDir: t.TempDir(), EnableRemoteWriteReceiver: true})
	end := time.Now().Truncate(time.Second).Add(-time.Minute)
	data := queryTestData(end)
	pushRemoteWrite(t, prom, data)
	pushRemoteWrite(t, r.base, data)
	at := func(d time.Duration) string { return fmt.Sprintf("%.3f", float64(end.Add(d).UnixMilli())/1000) }

	instant := []string{
		`http_requests_total`,
		`sum by (job) (http_requests_total)`,
		`http_requests_total{job="web"} / 7`,
		`odd_gauge`,
		`odd_gauge / 0`,
		`-odd_gauge / 0`,
		`odd_gauge - odd_gauge + NaN`,
		`vector(1.5)`,
		`scalar(sum(odd_gauge))`,
		`"a string"`,
		`time()`,
		`topk(2, http_requests_total)`,
		`count_values("v", http_requests_total)`,
		`label_replace(http_requests_total, "host", "$1", "instance", "(.*):.*")`,
		`rate(http_requests_total[1m] offset 7s)`,
		`nope_not_there`,
	}
	for _, q := range instant {
		for _, ts := range []string{at(0), at(-7*time.Second + 123*time.Millisecond)} {
			params := url.Values{"query": {q}, "time": {ts}}
			want := apiGet(t, prom, "/api/v1/query", params)
			got := apiGet(t, r.base, "/api/v1/query", params)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("query %s at %s:\nargus      %d %v\nprometheus %d %v", q, ts, got.code, got.body, want.code, want.body)
			}
		}
	}
	ranges := []string{
		`http_requests_total{instance="h1:80"}`,
		`sum by (job) (http_requests_total) / 3`,
		`odd_gauge`,
		`rate(http_requests_total{job="api"}[1m] offset 7s)`,
	}
	for _, q := range ranges {
		params := url.Values{"query": {q}, "start": {at(-10 * time.Minute)}, "end": {at(0)}, "step": {"37.5"}}
		want := apiGet(t, prom, "/api/v1/query_range", params)
		got := apiGet(t, r.base, "/api/v1/query_range", params)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("query_range %s:\nargus      %d %v\nprometheus %d %v", q, got.code, got.body, want.code, want.body)
		}
	}
	// Errors: the same status and error type (messages differ between
	// versions of the parser).
	for _, c := range []struct {
		path   string
		params url.Values
	}{
		{"/api/v1/query", url.Values{"query": {"sum("}}},
		{"/api/v1/query", url.Values{"query": {""}}},
		{"/api/v1/query", url.Values{"query": {"up"}, "time": {"later"}}},
		{"/api/v1/query_range", url.Values{"query": {"up"}, "start": {"10"}, "end": {"0"}, "step": {"1"}}},
		{"/api/v1/query_range", url.Values{"query": {"up"}, "start": {"0"}, "end": {"10"}, "step": {"0"}}},
		{"/api/v1/query_range", url.Values{"query": {"up"}, "start": {"0"}, "end": {"100000"}, "step": {"1"}}},
		{"/api/v1/query", url.Values{"query": {`label_replace(vector(1), "a", "b", "c", "(")`}}},
	} {
		want := apiGet(t, prom, c.path, c.params)
		got := apiGet(t, r.base, c.path, c.params)
		if got.code != want.code || got.body["errorType"] != want.body["errorType"] || got.body["status"] != "error" {
			t.Errorf("%s %v: argus %d %v, prometheus %d %v", c.path, c.params, got.code, got.body, want.code, want.body)
		}
	}
}

// TestQueryClients runs the query endpoints with the clients users have: the
// client_golang API client and Debian's promtool.
func TestQueryClients(t *testing.T) {
	r := start(t, Options{DataDir: t.TempDir(), EnableRemoteWriteReceiver: true, Query: QueryOptions{MaxSamples: 1000}})
	end := time.Now().Truncate(time.Second).Add(-time.Minute)
	pushRemoteWrite(t, r.base, queryTestData(end))
	client, err := api.NewClient(api.Config{Address: r.base})
	if err != nil {
		t.Fatal(err)
	}
	c := v1.NewAPI(client)
	ctx := context.Background()

	v, warnings, _, err := c.Query(ctx, `sort(sum by (job) (http_requests_total))`, end)
	if err != nil || len(warnings) != 0 {
		t.Fatalf("query: %v %v", err, warnings)
	}
	// At the last sample i = 80: api has 80*(1+2+3), web 80*2*(1+2+3).
	want := model.Vector{
		{Metric: model.Metric{"job": "api"}, Value: 480, Timestamp: model.TimeFromUnixNano(end.UnixNano())},
		{Metric: model.Metric{"job": "web"}, Value: 960, Timestamp: model.TimeFromUnixNano(end.UnixNano())},
	}
	if !reflect.DeepEqual(v, want) {
		t.Errorf("query: %v, want %v", v, want)
	}
	m, _, _, err := c.QueryRange(ctx, `http_requests_total{job="api",instance="h0:80"}`, v1.Range{Start: end.Add(-time.Minute), End: end, Step: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	mat, ok := m.(model.Matrix)
	if !ok || len(mat) != 1 || len(mat[0].Values) != 3 || mat[0].Values[2].Value != 80 || mat[0].Values[0].Value != 76 {
		t.Errorf("query_range: %v", m)
	}
	// A parse error and the sample limit, with Prometheus's error types.
	var ae *v1.Error
	if _, _, _, err := c.Query(ctx, `sum(`, end); !errors.As(err, &ae) || ae.Type != v1.ErrBadData {
		t.Errorf("bad query: %v", err)
	}
	if _, _, _, err := c.QueryRange(ctx, `http_requests_total`, v1.Range{Start: end.Add(-20 * time.Minute), End: end, Step: time.Second}); !errors.As(err, &ae) || ae.Type != v1.ErrExec || !strings.Contains(ae.Msg, "too many samples") {
		t.Errorf("sample limit: %v", err)
	}
	// A warning reaches the client.
	if _, warnings, infos, err := c.Query(ctx, `rate(odd_gauge[5m])`, end); err != nil || len(warnings)+len(infos) == 0 {
		t.Errorf("annotations: %v %v %v", warnings, infos, err)
	}

	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool not installed (.ci/run installs Debian's prometheus package): %v", err)
	}
	out, err := exec.Command(promtool, "query", "instant", "--time="+end.Format(time.RFC3339), r.base, `sort(sum by (job) (http_requests_total))`).CombinedOutput()
	if err != nil || string(out) != fmt.Sprintf("{job=\"api\"} => 480 @[%d]\n{job=\"web\"} => 960 @[%d]\n", end.Unix(), end.Unix()) {
		t.Errorf("promtool query instant: %v\n%s", err, out)
	}
	out, err = exec.Command(promtool, "query", "range", "--start="+fmt.Sprint(end.Add(-time.Minute).Unix()), "--end="+fmt.Sprint(end.Unix()), "--step=30s",
		r.base, `http_requests_total{job="web",instance="h2:80"}`).CombinedOutput()
	if err != nil || !strings.Contains(string(out), fmt.Sprintf("480 @[%d]", end.Unix())) || strings.Count(string(out), " @[") != 3 {
		t.Errorf("promtool query range: %v\n%s", err, out)
	}
}

// TestExperimentalFunctions: off by default as in Prometheus, on with
// --enable-feature=promql-experimental-functions, for queries and for the
// parser endpoints alike.
func TestExperimentalFunctions(t *testing.T) {
	const q = `sort_by_label(vector(1), "a")`
	off := start(t, Options{DataDir: t.TempDir()})
	got := apiGet(t, off.base, "/api/v1/query", url.Values{"query": {q}})
	if got.code != 400 || got.body["errorType"] != "bad_data" || !strings.Contains(fmt.Sprint(got.body["error"]), "is not enabled") {
		t.Errorf("off: %d %v", got.code, got.body)
	}
	var opts QueryOptions
	if known, noop := PromQLFeature(&opts, "promql-experimental-functions"); !known || noop {
		t.Fatal("promql-experimental-functions unknown")
	}
	if known, _ := PromQLFeature(&opts, "promql-nonsense"); known {
		t.Fatal("promql-nonsense known")
	}
	on := start(t, Options{DataDir: t.TempDir(), Query: opts})
	for _, path := range []string{"/api/v1/query", "/api/v1/parse_query"} {
		if got := apiGet(t, on.base, path, url.Values{"query": {q}}); got.code != 200 {
			t.Errorf("on, %s: %d %v", path, got.code, got.body)
		}
	}
}

// TestDelayedNameRemovalFeature: the metric name is gone right after the
// unary minus by default, as in Prometheus, and kept to the end of the
// query with --enable-feature=promql-delayed-name-removal.
func TestDelayedNameRemovalFeature(t *testing.T) {
	const q = `label_replace(-label_replace(vector(1), "__name__", "m", "", ""), "src", "$1", "__name__", "(.*)")`
	var opts QueryOptions
	if known, noop := PromQLFeature(&opts, "promql-delayed-name-removal"); !known || noop || !opts.DelayedNameRemoval {
		t.Fatal("promql-delayed-name-removal not known")
	}
	for _, c := range []struct {
		opts QueryOptions
		want string
	}{
		{QueryOptions{}, "map[]"},
		{opts, "map[src:m]"},
	} {
		r := start(t, Options{DataDir: t.TempDir(), Query: c.opts})
		got := apiGet(t, r.base, "/api/v1/query", url.Values{"query": {q}})
		res, _ := got.body["data"].(map[string]any)["result"].([]any)
		if got.code != 200 || len(res) != 1 || fmt.Sprint(res[0].(map[string]any)["metric"]) != c.want {
			t.Errorf("delayed=%v: %d %v, want metric %s", c.opts.DelayedNameRemoval, got.code, got.body, c.want)
		}
	}
}

// jsonShape describes a decoded JSON value by its keys and types only:
// numbers become "number", arrays the shape of their first element.
func jsonShape(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range v {
			out[k] = jsonShape(e)
		}
		return out
	case []any:
		if len(v) == 0 {
			return []any{}
		}
		return []any{jsonShape(v[0])}
	case float64:
		return "number"
	}
	return fmt.Sprintf("%T", v)
}

// TestQueryStats: without stats the answer has no stats; with stats=1
// Prometheus's timings and sample counts; with stats=all and
// --enable-feature=promql-per-step-stats also the counts per step.
func TestQueryStats(t *testing.T) {
	var opts QueryOptions
	if known, noop := PromQLFeature(&opts, "promql-per-step-stats"); !known || noop || !opts.PerStepStats {
		t.Fatal("promql-per-step-stats not known")
	}
	r := start(t, Options{DataDir: t.TempDir(), EnableRemoteWriteReceiver: true, Query: opts})
	end := time.Now().Truncate(time.Second).Add(-time.Minute)
	pushRemoteWrite(t, r.base, queryTestData(end))
	at := func(d time.Duration) string { return fmt.Sprintf("%.3f", float64(end.Add(d).UnixMilli())/1000) }
	instant := url.Values{"query": {`http_requests_total`}, "time": {at(0)}}
	rng := url.Values{"query": {`rate(http_requests_total[1m])`}, "start": {at(-10 * time.Minute)}, "end": {at(0)}, "step": {"60"}}
	statsOf := func(path string, params url.Values, stats string) map[string]any {
		t.Helper()
		p := url.Values{}
		for k, v := range params {
			p[k] = v
		}
		if stats != "" {
			p.Set("stats", stats)
		}
		got := apiGet(t, r.base, path, p)
		data, _ := got.body["data"].(map[string]any)
		if got.code != 200 || data == nil {
			t.Fatalf("%s %v: %d %v", path, p, got.code, got.body)
		}
		s, _ := data["stats"].(map[string]any)
		if _, ok := data["stats"]; ok != (stats != "") {
			t.Errorf("%s stats=%q: stats key present %v", path, stats, ok)
		}
		return s
	}
	timings := map[string]any{"evalTotalTime": "number", "resultSortTime": "number", "queryPreparationTime": "number",
		"innerEvalTime": "number", "execQueueTime": "number", "execTotalTime": "number"}
	totals := map[string]any{"totalQueryableSamples": "number", "samplesRead": "number", "seriesTouched": "number", "peakSamples": "number"}
	perStep := map[string]any{"totalQueryableSamplesPerStep": []any{[]any{"number"}}, "samplesReadPerStep": []any{[]any{"number"}}}
	for k, v := range totals {
		perStep[k] = v
	}
	statsOf("/api/v1/query", instant, "")
	for _, c := range []struct {
		path   string
		params url.Values
		stats  string
		want   map[string]any
		total  float64
		steps  int
	}{
		{"/api/v1/query", instant, "1", totals, 6, 0},
		{"/api/v1/query", instant, "all", perStep, 6, 1},
		// Every step's 1m window holds 4 samples of each of 6 series.
		{"/api/v1/query_range", rng, "true", totals, 11 * 6 * 4, 0},
		{"/api/v1/query_range", rng, "all", perStep, 11 * 6 * 4, 11},
	} {
		s := statsOf(c.path, c.params, c.stats)
		want := map[string]any{"timings": timings, "samples": c.want}
		if got := jsonShape(s); !reflect.DeepEqual(got, want) {
			t.Errorf("%s stats=%s: shape %v, want %v", c.path, c.stats, got, want)
			continue
		}
		samples := s["samples"].(map[string]any)
		if samples["totalQueryableSamples"] != c.total || samples["seriesTouched"] != 6.0 {
			t.Errorf("%s stats=%s: samples %v, want %v in total from 6 series", c.path, c.stats, samples, c.total)
		}
		if steps, _ := samples["totalQueryableSamplesPerStep"].([]any); len(steps) != c.steps {
			t.Errorf("%s stats=%s: %d steps, want %d", c.path, c.stats, len(steps), c.steps)
		}
	}
}

// TestQueryStatsMatchesPrometheus compares the stats of one query with
// Debian's Prometheus: the keys it has must be argus's too, with the same
// JSON types. The packaged 2.x predates samplesRead and seriesTouched.
func TestQueryStatsMatchesPrometheus(t *testing.T) {
	prom := startPrometheusPeer(t)
	r := start(t, Options{DataDir: t.TempDir(), EnableRemoteWriteReceiver: true})
	end := time.Now().Truncate(time.Second).Add(-time.Minute)
	data := queryTestData(end)
	pushRemoteWrite(t, prom, data)
	pushRemoteWrite(t, r.base, data)
	at := func(d time.Duration) string { return fmt.Sprintf("%.3f", float64(end.Add(d).UnixMilli())/1000) }
	params := url.Values{"query": {`sum by (job) (rate(http_requests_total[1m]))`}, "start": {at(-10 * time.Minute)}, "end": {at(0)}, "step": {"60"}, "stats": {"1"}}
	want := apiGet(t, prom, "/api/v1/query_range", params)
	got := apiGet(t, r.base, "/api/v1/query_range", params)
	wantStats := want.body["data"].(map[string]any)["stats"]
	gotStats := got.body["data"].(map[string]any)["stats"]
	if wantStats == nil || gotStats == nil {
		t.Fatalf("stats: prometheus %v, argus %v", want.body, got.body)
	}
	var missing func(path string, w, g any)
	missing = func(path string, w, g any) {
		wm, ok := w.(map[string]any)
		if !ok {
			return
		}
		gm, _ := g.(map[string]any)
		for k, wv := range wm {
			gv, ok := gm[k]
			if _, isMap := wv.(map[string]any); isMap && ok {
				missing(path+"."+k, wv, gv)
				continue
			}
			if !ok || !reflect.DeepEqual(jsonShape(wv), jsonShape(gv)) {
				t.Errorf("%s.%s: prometheus %v, argus %v", path, k, wv, gv)
			}
		}
	}
	missing("stats", wantStats, gotStats)
	// totalQueryableSamples differs where 2.x's range selectors included
	// the sample at the window's start, as here, but not for instant
	// selectors. peakSamples differs: argus streams the selector into the
	// sum.
	params.Set("query", `sum by (job) (http_requests_total)`)
	want = apiGet(t, prom, "/api/v1/query_range", params)
	got = apiGet(t, r.base, "/api/v1/query_range", params)
	wantStats = want.body["data"].(map[string]any)["stats"].(map[string]any)["samples"]
	gotStats = got.body["data"].(map[string]any)["stats"].(map[string]any)["samples"]
	for _, k := range []string{"totalQueryableSamples"} {
		if w, g := wantStats.(map[string]any)[k], gotStats.(map[string]any)[k]; w != g {
			t.Errorf("%s: prometheus %v, argus %v", k, w, g)
		}
	}
}
