package promql

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/promql/promqltest"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/teststorage"
)

// The dashboard tests run the queries of real Grafana dashboards
// (testdata/dashboards, node_exporter, nginx and Grafana's own) on both
// engines over synthetic data with the metrics they use, and require the
// same answers (see diffQuery), rejections included.

// dashboardQuery is one panel target of a dashboard.
type dashboardQuery struct {
	dashboard, expr string
}

// loadDashboardQueries returns the target expressions of every dashboard
// in testdata/dashboards, with Grafana's variables substituted, each once.
func loadDashboardQueries(t testing.TB) []dashboardQuery {
	files, err := filepath.Glob(filepath.Join("testdata", "dashboards", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboards: %v", err)
	}
	var out []dashboardQuery
	seen := map[string]bool{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d any
		if err := json.Unmarshal(raw, &d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, expr := range targetExprs(d) {
			for _, q := range expandGrafanaVars(expr) {
				if !seen[q] {
					seen[q] = true
					out = append(out, dashboardQuery{dashboard: filepath.Base(f), expr: q})
				}
			}
		}
	}
	return out
}

// targetExprs returns the "expr" of every panel target in a dashboard,
// wherever panels are nested (rows, collapsed rows, library panels).
func targetExprs(v any) []string {
	var out []string
	switch v := v.(type) {
	case map[string]any:
		if targets, ok := v["targets"].([]any); ok {
			for _, tg := range targets {
				if m, ok := tg.(map[string]any); ok {
					if e, ok := m["expr"].(string); ok && strings.TrimSpace(e) != "" {
						out = append(out, e)
					}
				}
			}
		}
		for k, c := range v {
			if k != "targets" {
				out = append(out, targetExprs(c)...)
			}
		}
	case []any:
		for _, c := range v {
			out = append(out, targetExprs(c)...)
		}
	}
	return out
}

// grafanaVars are values for Grafana's variables: the built-in interval
// variables as Grafana computes them for a one-hour panel, and the
// dashboards' own (node, port, status, ...). A variable with several values
// expands a query once per value; "a|b" is how Grafana writes a multi-value
// selection into a regex, ".*" is the "All" value of nginx's status.
var grafanaVars = map[string][]string{
	"__interval":      {"15s"},
	"__rate_interval": {"1m"},
	"__range":         {"1h"},
	"__range_s":       {"3600"},
	"interval":        {"30s"},
	"job":             {"node"},
	"instance":        {"node1:9100"},
	"node":            {"node1"},
	"port":            {"9100"},
	"status":          {".*", "200|404", "500"},
}

var grafanaVarRE = regexp.MustCompile(`\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)`)

// expandGrafanaVars returns expr with its variables substituted, once per
// combination of their values.
func expandGrafanaVars(expr string) []string {
	m := grafanaVarRE.FindStringSubmatchIndex(expr)
	if m == nil {
		return []string{expr}
	}
	name := ""
	for g := 1; g <= 3; g++ {
		if m[2*g] >= 0 {
			name = expr[m[2*g]:m[2*g+1]]
		}
	}
	vals, ok := grafanaVars[name]
	if !ok {
		// Not a variable we know: left for the parser to judge.
		return []string{expr}
	}
	var out []string
	for _, v := range vals {
		for _, rest := range expandGrafanaVars(expr[m[1]:]) {
			out = append(out, expr[:m[0]]+v+rest)
		}
	}
	return out
}

// dashboardMetrics returns the metric names the queries select, and those
// read by rate-like functions (which the data then makes counters).
func dashboardMetrics(qs []dashboardQuery) (names []string, counters map[string]bool) {
	p := parser.NewParser(promqltest.TestParserOpts)
	counters = map[string]bool{}
	seen := map[string]bool{}
	for _, q := range qs {
		expr, err := p.ParseExpr(q.expr)
		if err != nil {
			continue // compared as a rejection
		}
		parser.Inspect(expr, func(n parser.Node, path []parser.Node) error {
			vs, ok := n.(*parser.VectorSelector)
			if !ok || vs.Name == "" {
				return nil
			}
			if !seen[vs.Name] {
				seen[vs.Name] = true
				names = append(names, vs.Name)
			}
			for _, anc := range path {
				if c, ok := anc.(*parser.Call); ok && slices.Contains([]string{"rate", "irate", "increase", "resets"}, c.Func.Name) {
					counters[vs.Name] = true
				}
			}
			return nil
		})
	}
	slices.Sort(names)
	return names, counters
}

// dashboardDims are the label dimensions of the metric families the
// dashboards use, as their exporters expose them.
func dashboardDims(name string) [][]string {
	cross := func(a, b [][]string) [][]string {
		var out [][]string
		for _, x := range a {
			for _, y := range b {
				out = append(out, append(slices.Clone(x), y...))
			}
		}
		return out
	}
	one := func(label string, vals ...string) [][]string {
		out := make([][]string, len(vals))
		for i, v := range vals {
			out[i] = []string{label, v}
		}
		return out
	}
	switch {
	case name == "node_cpu":
		return cross(one("cpu", "cpu0", "cpu1", "cpu2", "cpu3"), one("mode", "idle", "user", "system", "iowait", "irq", "softirq", "nice", "steal", "guest"))
	case strings.HasPrefix(name, "node_filesystem_"):
		return [][]string{
			{"device", "rootfs", "fstype", "rootfs", "mountpoint", "/"},
			{"device", "/dev/sda1", "fstype", "ext4", "mountpoint", "/"},
			{"device", "/dev/sdb1", "fstype", "xfs", "mountpoint", "/data"},
			{"device", "tmpfs", "fstype", "tmpfs", "mountpoint", "/run"},
		}
	case strings.HasPrefix(name, "node_network_"):
		return one("device", "eth0", "lo", "docker0")
	case strings.HasPrefix(name, "node_disk_"):
		return one("device", "sda", "sda1", "sdb", "nvme0n1", "dm-0")
	case strings.HasPrefix(name, "node_hwmon_"):
		return cross(one("chip", "platform_coretemp_0"), one("sensor", "temp1", "temp2"))
	case strings.HasPrefix(name, "node_exporter_scrape_duration_seconds"):
		return cross(one("collector", "cpu", "diskstats", "meminfo"), one("result", "success", "error"))
	case name == "nginx_http_requests_total":
		return cross(one("alias", "web-1", "web-2"), one("status", "200", "301", "404", "500"))
	case name == "nginx_http_request_duration_seconds_bucket":
		return cross(one("alias", "web-1", "web-2"), one("le", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "+Inf"))
	case strings.HasPrefix(name, "nginx_http_request_duration_seconds"):
		return one("alias", "web-1", "web-2")
	case name == "http_request_total":
		return cross(one("handler", "/api/dashboards/uid/:uid", "/api/search", "/api/datasources/proxy/:id/*", "/login", "/public/*", "/api/health", "/metrics", "/", "/api/user"), one("statuscode", "200", "304", "404"))
	case strings.HasSuffix(name, "_response_status_total"):
		return one("code", "200", "404", "500")
	case name == "grafana_alerting_result_total":
		return one("state", "alerting", "ok", "no_data", "paused")
	case name == "grafana_info":
		return one("version", "5.0.4")
	case name == "ALERTS":
		return cross(one("alertname", "HighRequestRate", "InstanceDown"), one("alertstate", "firing", "pending"))
	}
	return [][]string{nil}
}

// dashboardJob is the job scraping a metric, which the queries filter on.
func dashboardJob(name string) (job string, instances []string) {
	switch {
	case strings.HasPrefix(name, "nginx_"):
		return "nginx", []string{"nginx1:9113", "nginx2:9113"}
	case strings.HasPrefix(name, "grafana_"), name == "http_request_total":
		return "grafana", []string{"grafana:3000"}
	case name == "ALERTS":
		return "", []string{""}
	case strings.HasPrefix(name, "go_"), strings.HasPrefix(name, "process_"), name == "up":
		return "grafana", []string{"grafana:3000"} // also scraped from node below
	}
	return "node", []string{"node1:9100", "node2:9100"}
}

// dashboardDataDuration is how much data there is for the dashboards.
const dashboardDataDuration = 2 * time.Hour

// dashboardDataStart is when the dashboards' data begins, in milliseconds:
// 2018-05-02T13:07:03.771Z, when these dashboards were in use.
const dashboardDataStart int64 = 1525266423771

// loadDashboardData writes every series of names, scraped every 15s with
// some jitter and lost scrapes: counters that grow (and reset once), gauges
// that wander, a few constants.
func loadDashboardData(t testing.TB, st storage.Storage, names []string, counters map[string]bool) {
	app := st.AppenderV2(context.Background())
	rng := rand.New(rand.NewPCG(11, 13))
	end := dashboardDataStart + dashboardDataDuration.Milliseconds()
	for _, name := range names {
		job, instances := dashboardJob(name)
		if name == "process_resident_memory_bytes" || name == "process_max_fds" || name == "process_open_fds" ||
			name == "process_virtual_memory_bytes" || name == "process_start_time_seconds" || name == "up" {
			instances = append(instances, "node1:9100", "node2:9100")
		}
		counter := counters[name] || strings.HasSuffix(name, "_total") || strings.HasSuffix(name, "_count") ||
			strings.HasSuffix(name, "_sum") || strings.HasSuffix(name, "_bucket")
		for ii, inst := range instances {
			j := job
			if strings.HasSuffix(inst, ":9100") {
				j = "node"
			}
			for di, dims := range dashboardDims(name) {
				lset := []string{"__name__", name}
				if j != "" {
					lset = append(lset, "job", j, "instance", inst)
				}
				lbls := labels.FromStrings(append(lset, dims...)...)
				loadDashboardSeries(t, app, rng, lbls, counter, end, int64(ii*3917+di*211))
			}
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
}

func loadDashboardSeries(t testing.TB, app storage.AppenderV2, rng *rand.Rand, lbls labels.Labels, counter bool, end, phase int64) {
	name := lbls.Get(labels.MetricName)
	scale := math.Pow(10, float64(rng.IntN(10)))
	v := scale * rng.Float64()
	rate := scale * rng.Float64() / 10
	resetAt := dashboardDataStart + rng.Int64N(end-dashboardDataStart)
	var ref storage.SeriesRef
	for ts := dashboardDataStart + phase%15000; ts < end; ts += 15000 {
		now := ts
		if rng.IntN(30) == 0 {
			now += rng.Int64N(20)
		}
		if rng.IntN(300) == 0 {
			continue
		}
		switch {
		case name == "node_time":
			v = float64(now) / 1000
		case name == "node_boot_time" || name == "process_start_time_seconds":
			v = float64(dashboardDataStart)/1000 - 86400*scale/1e9
		case name == "grafana_info" || name == "up" || name == "ALERTS":
			v = 1
		case counter:
			v += rate * 15 * (0.5 + rng.Float64())
			if now >= resetAt && now < resetAt+15000 && rng.IntN(2) == 0 {
				v = rate * rng.Float64()
			}
		default:
			v = math.Max(0, v+scale*0.02*rng.NormFloat64())
		}
		var err error
		ref, err = app.Append(ref, lbls, 0, now, v, nil, nil, storage.AppendV2Options{})
		if err != nil {
			t.Fatalf("append %v: %v", lbls, err)
		}
	}
}

// TestDashboardQueries compares the engine with upstream's on the queries
// of the dashboards, as Grafana runs them: range queries over the last
// hour with a step aligned to the start, over odd times and steps, and
// instant queries (stat panels).
func TestDashboardQueries(t *testing.T) {
	qs := loadDashboardQueries(t)
	if len(qs) < 300 {
		t.Fatalf("found %d dashboard queries, expected over 300", len(qs))
	}
	names, counters := dashboardMetrics(qs)
	st := teststorage.New(t)
	defer st.Close()
	loadDashboardData(t, st, names, counters)

	end := time.UnixMilli(dashboardDataStart).Add(dashboardDataDuration - 2*time.Minute)
	aligned := end.Truncate(15 * time.Second)
	runs := []complianceRun{
		{"last-hour", aligned.Add(-time.Hour), aligned, 15 * time.Second},
		{"odd", time.UnixMilli(dashboardDataStart).Add(-3*time.Minute - 17*time.Millisecond), time.UnixMilli(dashboardDataStart).Add(41*time.Minute + 3*time.Second), 11*time.Second + 100*time.Millisecond},
		{"instant", end.Add(-23*time.Minute - 4*time.Second - 589*time.Millisecond), time.Time{}, 0},
	}
	// The group returns when its parallel runs are done, before the storage closes.
	t.Run("group", func(t *testing.T) {
		for i, run := range runs {
			dashboardRun(t, run, i, qs, st)
		}
	})
}

// dashboardRun compares the engines on every query (every fourth of the
// odd run under -race or -short) in a parallel subtest.
func dashboardRun(t *testing.T, run complianceRun, i int, qs []dashboardQuery, st storage.Storage) {
	t.Run(run.name, func(t *testing.T) {
		t.Parallel()
		ours := upstreamEngine{newTestEngine(false)}
		theirs := newUpstreamEngine(false)
		stride := 1
		if (raceEnabled || testing.Short()) && run.name == "odd" {
			stride = 4
		}
		failures, compared, answered := 0, 0, 0
		defer func() {
			t.Logf("%d queries compared, %d with a non-empty answer", compared, answered)
			if answered < compared*3/4 {
				t.Errorf("only %d of %d queries have a non-empty answer", answered, compared)
			}
		}()
		for j, q := range qs {
			if j%stride != i%stride {
				continue
			}
			compared++
			end := run.end
			if run.step == 0 {
				end = run.start
			}
			ok, err := diffQueryStorages(ours, theirs, st, st, q.expr, run.start, end, run.step)
			if ok {
				answered++
			}
			if err != nil {
				failures++
				t.Errorf("%s: %s: %v", q.dashboard, q.expr, err)
				if failures > 20 {
					t.Fatal("too many differences")
				}
			}
		}
	})
}

// TestExpandGrafanaVars checks the variable substitution of the dashboard tests.
func TestExpandGrafanaVars(t *testing.T) {
	got := expandGrafanaVars(`sum(rate(x{status=~"$status",i="[[node]]:${port}"}[$__rate_interval])) $unknown`)
	want := []string{
		`sum(rate(x{status=~".*",i="node1:9100"}[1m])) $unknown`,
		`sum(rate(x{status=~"200|404",i="node1:9100"}[1m])) $unknown`,
		`sum(rate(x{status=~"500",i="node1:9100"}[1m])) $unknown`,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
}
