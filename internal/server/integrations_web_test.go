package server

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/argus-mon/argus/internal/integration/integrationtest"
)

// TestWebIntegrationsEndToEnd runs the nginx integration (stub_status and
// its access log) and the uwsgi one as targets of argus: their series are
// queryable under the integrations' jobs, histograms included.
func TestWebIntegrationsEndToEnd(t *testing.T) {
	n := integrationtest.StartNginx(t)
	u := integrationtest.StartUwsgiUnix(t)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "argus.yml")
	cfg := fmt.Sprintf(`global:
  scrape_interval: 500ms
collectors:
  node: {enabled: false}
  process: {enabled: false}
integrations:
  - name: web
    type: nginx
    address: %s
    access_log: %s
  - name: app
    type: uwsgi
    address: %s
`, n.StubStatus, n.AccessLog, u.Stats)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	r := start(t, Options{DataDir: filepath.Join(dir, "data"), ConfigFile: cfgPath})
	waitUntil(t, "nginx and uwsgi targets up", func() bool {
		tg := targetsOf(t, r.base)
		return tg["web"].Health == "up" && tg["app"].Health == "up"
	})
	if l := targetsOf(t, r.base)["web"].Labels; l["instance"] != n.StubStatus {
		t.Errorf("web target labels %v, want instance=%s", l, n.StubStatus)
	}
	// Requests after the log was first read are counted.
	waitUntil(t, "api requests counted", func() bool {
		resp, err := http.Get("http://" + n.Addr + "/api/x")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		v := queryVector(t, r.base, `sum by (job) (nginx_http_request_duration_seconds_count{location="api",status_class="2xx"})`)
		return v["web"] != "" && v["web"] != "0"
	})
	if v := queryVector(t, r.base, "nginx_up"); v["web"] != "1" {
		t.Errorf("nginx_up = %v", v)
	}
	waitUntil(t, "uwsgi workers queryable", func() bool {
		return queryVector(t, r.base, `uwsgi_workers{stats_uri="unix://`+u.Stats+`"}`)["app"] == "2"
	})
	if code, body := get(t, r.base+"/metrics/integrations/web"); code != 200 ||
		!strings.Contains(body, "nginx_connections_accepted ") || !strings.Contains(body, `nginx_http_request_duration_seconds_bucket{`) {
		t.Errorf("/metrics/integrations/web: %d\n%s", code, body)
	}
}
