package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
)

// TestPrometheusAPI runs the real client_golang API client against a running
// argus that scrapes a target: the routes are wired, the API reads the
// server's storage, scrape manager, config and flags.
func TestPrometheusAPI(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "# HELP app_jobs Jobs queued.\n# TYPE app_jobs gauge\napp_jobs 3\n")
	}))
	defer target.Close()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "argus.yml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf(`global:
  scrape_interval: 100ms
  external_labels: {site: test}
scrape_configs:
  - job_name: app
    static_configs: [{targets: [%q]}]
collectors:
  node: {enabled: false}
  process: {enabled: false}
`, strings.TrimPrefix(target.URL, "http://"))), 0o644)
	r := start(t, Options{DataDir: filepath.Join(dir, "data"), ConfigFile: cfgPath, EnableAdminAPI: true,
		Flags: map[string]string{"web.enable-admin-api": "true"}})
	client, err := api.NewClient(api.Config{Address: r.base})
	if err != nil {
		t.Fatal(err)
	}
	c := v1.NewAPI(client)
	ctx := context.Background()

	waitUntil(t, "app scraped", func() bool {
		series, _, _, err := c.Series(ctx, []string{`app_jobs`}, time.Now().Add(-time.Hour), time.Now())
		return err == nil && len(series) == 1 && series[0]["job"] == "app"
	})
	// Both jobs, the file's and the built-in argus collector's, write up.
	waitUntil(t, "both jobs scraped", func() bool {
		values, _, _, err := c.LabelValues(ctx, "job", []string{`up`}, time.Time{}, time.Time{})
		return err == nil && len(values) == 2 && values[0] == "app" && values[1] == "argus"
	})
	targets, err := c.Targets(ctx)
	if err != nil || len(targets.Active) != 2 {
		t.Fatalf("targets: %+v %v", targets, err)
	}
	for _, tg := range targets.Active {
		if tg.ScrapePool == "argus" && !strings.HasSuffix(tg.GlobalURL, "/metrics/argus") {
			t.Errorf("argus target global URL: %q", tg.GlobalURL)
		}
	}
	md, err := c.Metadata(ctx, "app_jobs", "")
	if err != nil || len(md["app_jobs"]) != 1 || md["app_jobs"][0].Type != v1.MetricTypeGauge {
		t.Errorf("metadata: %v %v", md, err)
	}
	cfg, err := c.Config(ctx)
	if err != nil || !strings.Contains(cfg.YAML, "site: test") {
		t.Errorf("config: %v %v", cfg.YAML, err)
	}
	flags, err := c.Flags(ctx)
	if err != nil || flags["web.enable-admin-api"] != "true" {
		t.Errorf("flags: %v %v", flags, err)
	}
	ri, err := c.Runtimeinfo(ctx)
	if err != nil || !ri.ReloadConfigSuccess || ri.LastConfigTime.IsZero() || ri.StartTime.IsZero() {
		t.Errorf("runtime info: %+v %v", ri, err)
	}
	st, err := c.TSDB(ctx)
	if err != nil || st.HeadStats.NumSeries == 0 {
		t.Errorf("tsdb status: %+v %v", st, err)
	}
	snap, err := c.Snapshot(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if entries, err := os.ReadDir(filepath.Join(dir, "data", "snapshots", snap.Name, "blocks")); err != nil || len(entries) != 1 {
		t.Errorf("snapshot %s: %v %v", snap.Name, entries, err)
	}
	code, body := get(t, r.base+"/federate?match[]=app_jobs")
	if code != 200 || !strings.Contains(body, `app_jobs{instance="`) || !strings.Contains(body, `site="test"`) {
		t.Errorf("federate: %d %s", code, body)
	}
}

func TestAdminAPIDisabledByDefault(t *testing.T) {
	r := start(t, Options{DataDir: t.TempDir()})
	// Prometheus answers 500 with errorType "unavailable" (which its client
	// reports only as a server error), so the body is checked.
	resp, err := http.Post(r.base+"/api/v1/admin/tsdb/snapshot", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 500 || string(b) != `{"status":"error","errorType":"unavailable","error":"admin APIs disabled"}` {
		t.Fatalf("snapshot without --web.enable-admin-api: %d %s", resp.StatusCode, b)
	}
}
