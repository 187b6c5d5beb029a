package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/timestamp"
	"go.uber.org/goleak"

	"github.com/argus-mon/argus/internal/config"
	"github.com/argus-mon/argus/internal/discovery"
	"github.com/argus-mon/argus/internal/scrape"
	"github.com/argus-mon/argus/internal/tsdb"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// env is the API over a real storage in a temporary directory, with a real
// scrape manager scraping a real target, served on a loopback port.
type env struct {
	t      *testing.T
	db     *tsdb.DB
	url    string
	client v1.API
	cfg    *config.Config
	now    time.Time // the samples written by seed are at now-1m and now
}

// target is the page the scraped target serves.
const targetPage = `# HELP app_requests_total Requests served.
# TYPE app_requests_total counter
app_requests_total{code="200"} 10
app_requests_total{code="500"} 1
# HELP app_temperature_celsius Current temperature.
# TYPE app_temperature_celsius gauge
app_temperature_celsius 21.5
`

type envOptions struct {
	admin  bool
	config string // extra YAML prepended to the generated config
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, targetPage)
	}))
	t.Cleanup(target.Close)
	dataDir := t.TempDir()
	db, err := tsdb.Open(context.Background(), dataDir, tsdb.Options{FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	addr := strings.TrimPrefix(target.URL, "http://")
	yml := o.config + fmt.Sprintf(`
scrape_configs:
  - job_name: app
    scrape_interval: 50ms
    scrape_timeout: 50ms
    static_configs:
      - targets: [%q]
        labels: {team: core}
      - targets: ["drop-me:9100"]
    relabel_configs:
      - {source_labels: [__address__], regex: "drop-.*", action: drop}
  - job_name: other
    scrape_interval: 1h
    static_configs: [{targets: ["127.0.0.1:1"]}]
`, addr)
	cfg, err := config.Parse([]byte(yml), "test.yml")
	if err != nil {
		t.Fatal(err)
	}
	mgr := scrape.NewManager(scrape.Options{
		NewAppender: func() scrape.Appender { return db.Appender() },
		Discovery:   discovery.Options{Poll: 20 * time.Millisecond},
	})
	if err := mgr.ApplyConfig(cfg.ScrapeConfigs, nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		mgr.Run(ctx)
	}()
	a := New(Options{
		Queryable:    db,
		Targets:      mgr,
		TSDB:         testTSDB{db},
		Config:       func() *config.Config { return cfg },
		Flags:        map[string]string{"data": dataDir, "web.enable-admin-api": fmt.Sprint(o.admin)},
		ReloadStatus: func() (bool, time.Time) { return true, time.Unix(1700000000, 0).UTC() },
		DataDir:      dataDir,
		EnableAdmin:  o.admin,
		GlobalURL:    GlobalURLOptions{ListenAddress: "0.0.0.0:9090", Host: "argus.example:9090", Scheme: "http"},
	})
	mux := http.NewServeMux()
	a.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		srv.Close()
		cancel()
		<-done
		db.Close()
	})
	client, err := api.NewClient(api.Config{Address: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, db: db, url: srv.URL, client: v1.NewAPI(client), cfg: cfg, now: time.Now().Truncate(time.Second)}
	e.seed()
	return e
}

// seed writes series at now-1m and now.
func (e *env) seed() {
	e.t.Helper()
	app := e.db.Appender()
	for i, lset := range []labels.Labels{
		labels.FromStrings("__name__", "up", "job", "node", "instance", "a:9100"),
		labels.FromStrings("__name__", "up", "job", "node", "instance", "b:9100"),
		labels.FromStrings("__name__", "up", "job", "db", "instance", "c:9187"),
		labels.FromStrings("__name__", "node_load1", "job", "node", "instance", "a:9100", "cpu_model", "x86"),
	} {
		for _, ts := range []time.Time{e.now.Add(-time.Minute), e.now} {
			if _, err := app.Append(0, lset, timestamp.FromTime(ts), float64(i)); err != nil {
				e.t.Fatal(err)
			}
		}
	}
	if err := app.Commit(); err != nil {
		e.t.Fatal(err)
	}
}

// waitScraped waits until the app target has been scraped and its metadata
// taken in.
func (e *env) waitScraped() {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		md, err := e.client.Metadata(context.Background(), "app_temperature_celsius", "")
		if err == nil && len(md) == 1 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.t.Fatal("the target was not scraped")
}

type testTSDB struct{ db *tsdb.DB }

func (t testTSDB) Status(limit int) (TSDBStatus, error) {
	st := t.db.HeadStatus(limit)
	conv := func(l []tsdb.NameCount) []TSDBStat {
		var out []TSDBStat
		for _, nc := range l {
			out = append(out, TSDBStat{Name: nc.Name, Value: uint64(nc.Count)})
		}
		return out
	}
	return TSDBStatus{
		HeadStats:                   HeadStats{NumSeries: st.NumSeries, NumLabelPairs: st.NumLabelPairs, ChunkCount: st.ChunkCount, MinTime: st.MinTime, MaxTime: st.MaxTime},
		SeriesCountByMetricName:     conv(st.SeriesCountByMetricName),
		LabelValueCountByLabelName:  conv(st.LabelValueCountByLabelName),
		MemoryInBytesByLabelName:    conv(st.MemoryInBytesByLabelName),
		SeriesCountByLabelValuePair: conv(st.SeriesCountByLabelValuePair),
	}, nil
}

func (t testTSDB) Snapshot(ctx context.Context, dir string, withHead bool) error {
	return t.db.Snapshot(ctx, dir, withHead)
}

// apiResponse is the envelope, decoded loosely.
type apiResponse struct {
	Status    string          `json:"status"`
	Data      json.RawMessage `json:"data"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
	Warnings  []string        `json:"warnings"`
}

// do sends a request and decodes the envelope.
func (e *env) do(method, path string, form url.Values) (int, apiResponse) {
	e.t.Helper()
	var body io.Reader
	target := e.url + path
	if method == http.MethodGet {
		if len(form) > 0 {
			target += "?" + form.Encode()
		}
	} else {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var r apiResponse
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &r); err != nil {
			e.t.Fatalf("%s %s: %d, not JSON: %q", method, path, resp.StatusCode, raw)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			e.t.Errorf("%s %s: Content-Type %q", method, path, ct)
		}
	}
	return resp.StatusCode, r
}

func TestClientSeriesAndLabels(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	start, end := e.now.Add(-time.Hour), e.now.Add(time.Minute)

	series, warnings, _, err := e.client.Series(ctx, []string{`up{job="node"}`, `node_load1`}, start, end)
	if err != nil || len(warnings) > 0 {
		t.Fatalf("series: %v %v", err, warnings)
	}
	want := []model.LabelSet{
		{"__name__": "node_load1", "job": "node", "instance": "a:9100", "cpu_model": "x86"},
		{"__name__": "up", "job": "node", "instance": "a:9100"},
		{"__name__": "up", "job": "node", "instance": "b:9100"},
	}
	if !slices.EqualFunc(series, want, func(a, b model.LabelSet) bool { return a.Equal(b) }) {
		t.Errorf("series:\ngot  %v\nwant %v", series, want)
	}
	// The same series twice is answered once.
	series, _, _, err = e.client.Series(ctx, []string{`up{instance="a:9100"}`, `up{job="node",instance="a:9100"}`}, start, end)
	if err != nil || len(series) != 1 {
		t.Errorf("overlapping selectors: %v %v", series, err)
	}
	// Outside the data's time range there is nothing.
	series, _, _, err = e.client.Series(ctx, []string{`up`}, e.now.Add(-3*time.Hour), e.now.Add(-2*time.Hour))
	if err != nil || len(series) != 0 {
		t.Errorf("series before the data: %v %v", series, err)
	}

	names, _, _, err := e.client.LabelNames(ctx, []string{`node_load1`}, start, end)
	if err != nil || !slices.Equal(names, model.LabelNames{"__name__", "cpu_model", "instance", "job"}) {
		t.Errorf("label names with match[]: %v %v", names, err)
	}
	names, _, _, err = e.client.LabelNames(ctx, nil, time.Time{}, time.Time{})
	if err != nil || !slices.Contains(names, model.LabelName("cpu_model")) || !slices.Contains(names, model.LabelName("job")) {
		t.Errorf("all label names: %v %v", names, err)
	}
	values, _, _, err := e.client.LabelValues(ctx, "instance", []string{`up{job=~"node|db"}`}, start, end)
	if err != nil || !slices.Equal(values, model.LabelValues{"a:9100", "b:9100", "c:9187"}) {
		t.Errorf("label values: %v %v", values, err)
	}
	values, _, _, err = e.client.LabelValues(ctx, "job", []string{`up{job="db"}`, `node_load1`}, start, end)
	if err != nil || !slices.Equal(values, model.LabelValues{"db", "node"}) {
		t.Errorf("label values of two selectors: %v %v", values, err)
	}

	// Limits truncate with Prometheus's warning.
	series, warnings, _, err = e.client.Series(ctx, []string{`up`}, start, end, v1.WithLimit(2))
	if err != nil || len(series) != 2 || !slices.Equal(warnings, []string{truncatedWarning}) {
		t.Errorf("series with limit: %v %v %v", series, warnings, err)
	}
	names, warnings, _, err = e.client.LabelNames(ctx, []string{`up`}, start, end, v1.WithLimit(1))
	if err != nil || !slices.Equal(names, model.LabelNames{"__name__"}) || !slices.Equal(warnings, []string{truncatedWarning}) {
		t.Errorf("label names with limit: %v %v %v", names, warnings, err)
	}
	values, warnings, _, err = e.client.LabelValues(ctx, "instance", []string{`up{job=~"node|db"}`}, start, end, v1.WithLimit(3))
	if err != nil || len(values) != 3 || len(warnings) != 0 {
		t.Errorf("label values at the limit: %v %v %v", values, warnings, err)
	}
}

func TestClientTargetsAndMetadata(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.waitScraped()
	ctx := context.Background()

	targets, err := e.client.Targets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var app *v1.ActiveTarget
	for i := range targets.Active {
		if targets.Active[i].ScrapePool == "app" {
			app = &targets.Active[i]
		}
	}
	if len(targets.Active) != 2 || app == nil {
		t.Fatalf("active targets: %+v", targets.Active)
	}
	if app.Health != v1.HealthGood || app.LastError != "" || app.LastScrape.IsZero() || app.LastScrapeDuration <= 0 {
		t.Errorf("app target state: %+v", app)
	}
	if app.Labels["team"] != "core" || app.Labels["job"] != "app" || app.Labels["__address__"] != "" {
		t.Errorf("app target labels: %v", app.Labels)
	}
	if app.DiscoveredLabels["__address__"] == "" || app.DiscoveredLabels["__scrape_interval__"] != "50ms" {
		t.Errorf("app discovered labels: %v", app.DiscoveredLabels)
	}
	if !strings.HasPrefix(app.ScrapeURL, "http://127.0.0.1:") || !strings.HasPrefix(app.GlobalURL, "http://argus.example:") {
		t.Errorf("app URLs: %q %q", app.ScrapeURL, app.GlobalURL)
	}
	if len(targets.Dropped) != 1 || targets.Dropped[0].DiscoveredLabels["__address__"] != "drop-me:9100" {
		t.Errorf("dropped targets: %+v", targets.Dropped)
	}

	md, err := e.client.Metadata(ctx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if got := md["app_temperature_celsius"]; len(got) != 1 || got[0] != (v1.Metadata{Type: "gauge", Help: "Current temperature."}) {
		t.Errorf("metadata: %+v", md)
	}
	if got := md["app_requests_total"]; len(got) != 1 || got[0].Type != "counter" {
		t.Errorf("metadata: %+v", md)
	}
	if md, err = e.client.Metadata(ctx, "", "1"); err != nil || len(md) != 1 {
		t.Errorf("metadata with limit 1: %v %v", md, err)
	}

	tm, err := e.client.TargetsMetadata(ctx, `{job="app"}`, "app_requests_total", "")
	if err != nil || len(tm) != 1 || tm[0].Type != "counter" || tm[0].Target["team"] != "core" || tm[0].Help != "Requests served." {
		t.Errorf("targets metadata: %+v %v", tm, err)
	}
	if tm, err = e.client.TargetsMetadata(ctx, `{job="app"}`, "", ""); err != nil || len(tm) != 2 || tm[0].Metric != "app_requests_total" {
		t.Errorf("targets metadata of all families: %+v %v", tm, err)
	}
	if tm, err = e.client.TargetsMetadata(ctx, `{job="nope"}`, "", ""); err != nil || len(tm) != 0 {
		t.Errorf("targets metadata of no target: %+v %v", tm, err)
	}
}

func TestClientStatus(t *testing.T) {
	e := newEnv(t, envOptions{config: "global:\n  external_labels: {dc: fra}\n"})
	ctx := context.Background()
	bi, err := e.client.Buildinfo(ctx)
	if err != nil || bi.GoVersion == "" || bi.Version == "" {
		t.Errorf("buildinfo: %+v %v", bi, err)
	}
	flags, err := e.client.Flags(ctx)
	if err != nil || flags["web.enable-admin-api"] != "false" {
		t.Errorf("flags: %v %v", flags, err)
	}
	ri, err := e.client.Runtimeinfo(ctx)
	if err != nil || !ri.ReloadConfigSuccess || ri.StorageRetention != "15d" || ri.GoroutineCount == 0 {
		t.Errorf("runtimeinfo: %+v %v", ri, err)
	}
	cfg, err := e.client.Config(ctx)
	if err != nil || !strings.Contains(cfg.YAML, "dc: fra") || !strings.Contains(cfg.YAML, "job_name: app") {
		t.Errorf("config: %q %v", cfg.YAML, err)
	}
	st, err := e.client.TSDB(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.HeadStats.NumSeries < 4 || st.HeadStats.MaxTime < int(timestamp.FromTime(e.now)) || len(st.SeriesCountByMetricName) == 0 {
		t.Errorf("tsdb status: %+v", st)
	}
	if st.SeriesCountByMetricName[0].Name != "up" || st.SeriesCountByMetricName[0].Value < 3 {
		t.Errorf("tsdb status by metric name: %+v", st.SeriesCountByMetricName)
	}
	st, err = e.client.TSDB(ctx, v1.WithLimit(1))
	if err != nil || len(st.LabelValueCountByLabelName) != 1 {
		t.Errorf("tsdb status with limit 1: %+v %v", st, err)
	}
	pools := struct {
		ScrapePools []string `json:"scrapePools"`
	}{}
	code, r := e.do(http.MethodGet, "/api/v1/scrape_pools", nil)
	if err := json.Unmarshal(r.Data, &pools); code != 200 || err != nil || !slices.Equal(pools.ScrapePools, []string{"app", "other"}) {
		t.Errorf("scrape pools: %d %s", code, r.Data)
	}
}
