package server

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/argus-mon/argus/internal/integration/integrationtest"
)

// TestProbeEndpointAndIntegrations serves /probe as blackbox_exporter
// does, with the modules of probe.config_file, and runs probe
// integrations: a failed probe leaves the target up with probe_success 0.
func TestProbeEndpointAndIntegrations(t *testing.T) {
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") }))
	defer site.Close()
	down := integrationtest.FreeAddr(t)
	dir := t.TempDir()
	modules := "modules:\n  http_ok:\n    prober: http\n    http: {fail_if_body_not_matches_regexp: [ok]}\n"
	if err := os.WriteFile(filepath.Join(dir, "blackbox.yml"), []byte(modules), 0o644); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "argus.yml")
	cfg := fmt.Sprintf(`global:
  scrape_interval: 500ms
collectors:
  node: {enabled: false}
  process: {enabled: false}
probe:
  config_file: blackbox.yml
integrations:
  - name: site
    type: probe
    address: %s
    module: http_ok
  - name: gone
    type: probe
    address: %s
`, site.URL, down)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	r := start(t, Options{DataDir: filepath.Join(dir, "data"), ConfigFile: cfgPath})

	probe := func(params url.Values) (int, string) {
		return get(t, r.base+"/probe?"+params.Encode())
	}
	if code, body := probe(url.Values{"target": {site.URL}, "module": {"http_ok"}}); code != 200 || !strings.Contains(body, "probe_success 1") ||
		!strings.Contains(body, `probe_http_duration_seconds{phase="connect"}`) {
		t.Errorf("/probe of the site: %d\n%s", code, body)
	}
	if code, body := probe(url.Values{"target": {down}, "module": {"tcp_connect"}}); code != 200 || !strings.Contains(body, "probe_success 0") {
		t.Errorf("/probe of a closed port: %d\n%s", code, body)
	}
	if code, body := probe(url.Values{"target": {site.URL}, "module": {"http_ok"}, "debug": {"true"}}); code != 200 ||
		!strings.Contains(body, "Logs for the probe") || !strings.Contains(body, "Probe succeeded") {
		t.Errorf("/probe with debug: %d\n%s", code, body)
	}
	for _, c := range []struct {
		params url.Values
		want   string
	}{
		{url.Values{"target": {site.URL}, "module": {"nope"}}, `Unknown module "nope"`},
		{url.Values{"module": {"http_ok"}}, "Target parameter is missing"},
		{url.Values{"target": {strings.Repeat("a", 3000)}}, "longer than 2048"},
	} {
		if code, body := probe(c.params); code != http.StatusBadRequest || !strings.Contains(body, c.want) {
			t.Errorf("/probe?%s: %d %q, want 400 with %q", c.params.Encode(), code, body, c.want)
		}
	}

	waitUntil(t, "probe targets scraped", func() bool {
		v := queryVector(t, r.base, "probe_success")
		return v["site"] == "1" && v["gone"] == "0"
	})
	tg := targetsOf(t, r.base)
	if tg["gone"].Health != "up" || tg["gone"].Labels["instance"] != down {
		t.Errorf("a failed probe's target: %+v, want up with instance %s", tg["gone"], down)
	}
}
