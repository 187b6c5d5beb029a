package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/argus-mon/argus/internal/config"
	"github.com/argus-mon/argus/internal/integration/integrationtest"
)

func TestIntegrationTypesMatchConfig(t *testing.T) {
	if got, want := slices.Sorted(maps.Keys(integrationTypes)), config.IntegrationTypes(); !slices.Equal(got, want) {
		t.Fatalf("the server builds %v, the config accepts %v", got, want)
	}
}

// activeTarget is the part of /api/v1/targets the tests look at.
type activeTarget struct {
	Labels    map[string]string `json:"labels"`
	Health    string            `json:"health"`
	LastError string            `json:"lastError"`
	ScrapeURL string            `json:"scrapeUrl"`
}

// targetsOf returns the active targets by job.
func targetsOf(t *testing.T, base string) map[string]activeTarget {
	t.Helper()
	_, body := get(t, base+"/api/v1/targets")
	var resp struct {
		Data struct {
			ActiveTargets []activeTarget `json:"activeTargets"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &resp); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	out := map[string]activeTarget{}
	for _, tg := range resp.Data.ActiveTargets {
		out[tg.Labels["job"]] = tg
	}
	return out
}

// queryVector runs an instant query and returns the values by job.
func queryVector(t *testing.T, base, q string) map[string]string {
	t.Helper()
	_, body := get(t, base+"/api/v1/query?query="+url.QueryEscape(q))
	var resp struct {
		Data struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &resp); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	out := map[string]string{}
	for _, r := range resp.Data.Result {
		out[r.Metric["job"]] = fmt.Sprint(r.Value[1])
	}
	return out
}

// lockedBuffer is a log destination the test reads while argus writes.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestIntegrationsEndToEnd(t *testing.T) {
	const password = "hunter2-redis-pass"
	mc := integrationtest.Memcached(t)
	rd := integrationtest.Redis(t, "--requirepass", password)
	down := integrationtest.FreeAddr(t)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "argus.yml")
	write := func(yml string) {
		t.Helper()
		if err := os.WriteFile(cfgPath, []byte(yml), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(fmt.Sprintf(`global:
  scrape_interval: 500ms
collectors:
  node: {enabled: false}
  process: {enabled: false}
integrations:
  - name: cache
    type: memcached
    address: %s
    labels: {team: web}
  - name: gone
    type: memcached
    address: %s
  - name: sessions
    type: redis
    address: %s
    password: %s
  - name: locked
    type: redis
    address: %s
    password: wrong-%s
`, mc, down, rd, password, rd, password))
	logs := &lockedBuffer{}
	r := start(t, Options{DataDir: filepath.Join(dir, "data"), ConfigFile: cfgPath,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})

	waitUntil(t, "integration targets scraped", func() bool {
		tg := targetsOf(t, r.base)
		return tg["cache"].Health == "up" && tg["gone"].Health == "down" &&
			tg["sessions"].Health == "up" && tg["locked"].Health == "down"
	})
	tg := targetsOf(t, r.base)
	if l := tg["cache"].Labels; l["instance"] != mc || l["team"] != "web" {
		t.Errorf("cache target labels %v, want instance=%s team=web", l, mc)
	}
	if !strings.HasSuffix(tg["cache"].ScrapeURL, "/metrics/integrations/cache") {
		t.Errorf("cache scrape URL %s", tg["cache"].ScrapeURL)
	}
	if e := tg["gone"].LastError; !strings.Contains(e, "integration gone ("+down+")") || !strings.Contains(e, "connection refused") {
		t.Errorf("gone's last error %q is not precise", e)
	}
	if l := tg["sessions"].Labels; l["instance"] != rd {
		t.Errorf("sessions target labels %v, want instance=%s", l, rd)
	}
	if e := tg["locked"].LastError; !strings.Contains(e, "server refused the credentials: WRONGPASS") {
		t.Errorf("locked's last error %q does not say the password was refused", e)
	}
	// The exporter's own up series is stored for the target that is down,
	// as the alert rules written for it expect.
	waitUntil(t, "memcached_up and redis_up queryable", func() bool {
		mv, rv := queryVector(t, r.base, "memcached_up"), queryVector(t, r.base, "redis_up")
		return mv["cache"] == "1" && mv["gone"] == "0" && rv["sessions"] == "1" && rv["locked"] == "0"
	})
	if code, body := get(t, r.base+"/metrics/integrations/sessions"); code != 200 || !strings.Contains(body, "redis_up 1") {
		t.Errorf("/metrics/integrations/sessions: %d\n%s", code, body)
	}
	// The credentials are nowhere: not in the config page, the targets,
	// the series' labels or the log.
	for _, path := range []string{"/api/v1/status/config", "/api/v1/targets", "/api/v1/labels", "/api/v1/label/instance/values",
		"/metrics/integrations/locked", "/api/v1/query?query=up"} {
		if _, body := get(t, r.base+path); strings.Contains(body, password) {
			t.Errorf("%s shows the password:\n%s", path, body)
		}
	}
	_, body := get(t, r.base+"/api/v1/status/config")
	var cfgPage struct {
		Data struct {
			YAML string `json:"yaml"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &cfgPage); err != nil || !strings.Contains(cfgPage.Data.YAML, "password: <secret>") {
		t.Errorf("the config page does not show the password as <secret> (%v):\n%s", err, body)
	}
	if v := queryVector(t, r.base, `up{job=~"cache|gone"}`); v["cache"] != "1" || v["gone"] != "0" {
		t.Errorf("up = %v", v)
	}
	if code, body := get(t, r.base+"/metrics/integrations/cache"); code != 200 || !strings.Contains(body, "memcached_up 1") {
		t.Errorf("/metrics/integrations/cache: %d\n%s", code, body)
	}
	if code, body := get(t, r.base+"/metrics/integrations/gone"); code != 200 || !strings.Contains(body, "memcached_up 0") {
		t.Errorf("/metrics/integrations/gone: %d\n%s", code, body)
	}
	if code, _ := get(t, r.base+"/metrics/integrations/nope"); code != 404 {
		t.Errorf("/metrics/integrations/nope: %d, want 404", code)
	}

	// A reload removes one, changes one and adds one that never answers;
	// the others keep being collected meanwhile.
	silent := integrationtest.Silent(t)
	write(fmt.Sprintf(`global:
  scrape_interval: 500ms
collectors:
  node: {enabled: false}
  process: {enabled: false}
integrations:
  - name: cache
    type: memcached
    address: %s
    labels: {team: platform}
  - name: mute
    type: memcached
    address: %s
    interval: 1s
    timeout: 300ms
`, mc, silent))
	if err := r.srv.Reload(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "reloaded integrations", func() bool {
		tg := targetsOf(t, r.base)
		_, gone := tg["gone"]
		return !gone && tg["cache"].Labels["team"] == "platform" && tg["cache"].Health == "up" && tg["mute"].Health == "down"
	})
	if e := targetsOf(t, r.base)["mute"].LastError; !strings.Contains(e, "no answer within the timeout of 300ms") {
		t.Errorf("mute's last error %q does not say it timed out", e)
	}
	if code, _ := get(t, r.base+"/metrics/integrations/gone"); code != 404 {
		t.Errorf("/metrics/integrations/gone after removal: %d, want 404", code)
	}
	if code, _ := get(t, r.base+"/-/healthy"); code != 200 {
		t.Errorf("argus is not healthy: %d", code)
	}
	if strings.Contains(logs.String(), password) {
		t.Errorf("the log shows the password:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "Integration is down") {
		t.Errorf("the log does not say an integration is down:\n%s", logs.String())
	}
}
