package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/pkg/labels"

	"github.com/argus-mon/argus/internal/alertmanager"
)

// webhookSink records the webhook notifications it receives.
type webhookSink struct {
	mu   sync.Mutex
	msgs []map[string]any
	srv  *httptest.Server
}

func newWebhookSink(t *testing.T) *webhookSink {
	s := &webhookSink{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m map[string]any
		json.Unmarshal(b, &m)
		s.mu.Lock()
		s.msgs = append(s.msgs, m)
		s.mu.Unlock()
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *webhookSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.msgs)
}

func amServerConfig(hookURL, groupInterval string) string {
	return `
alertmanager:
  route:
    receiver: hook
    group_by: [alertname]
    group_wait: 100ms
    group_interval: ` + groupInterval + `
  receivers:
    - name: hook
      webhook_configs:
        - url: ` + hookURL + `
`
}

// TestPrometheusSendsAlerts has Debian's Prometheus evaluate an always
// firing rule and send the alert to argus, which notifies a webhook.
// Reloading the config keeps the alert, the silence and the notification
// log: nothing is notified again.
func TestPrometheusSendsAlerts(t *testing.T) {
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatalf("prometheus not installed (.ci/run installs Debian's prometheus package): %v", err)
	}
	hook := newWebhookSink(t)
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "argus.yml")
	os.WriteFile(cfgFile, []byte(amServerConfig(hook.srv.URL, "1h")), 0o644)
	r := start(t, Options{DataDir: filepath.Join(dir, "data"), ConfigFile: cfgFile})

	pdir := t.TempDir()
	os.WriteFile(filepath.Join(pdir, "rules.yml"), []byte(`
groups:
  - name: g
    interval: 1s
    rules:
      - alert: AlwaysFiring
        expr: vector(1)
        labels: {severity: page}
        annotations: {summary: it fires}
`), 0o644)
	os.WriteFile(filepath.Join(pdir, "prometheus.yml"), []byte(`
global: {evaluation_interval: 1s}
rule_files: [rules.yml]
alerting:
  alertmanagers:
    - static_configs:
        - targets: ['`+strings.TrimPrefix(r.base, "http://")+`']
`), 0o644)
	log, _ := os.Create(filepath.Join(pdir, "log"))
	cmd := exec.Command(bin, "--config.file="+filepath.Join(pdir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(pdir, "data"), "--web.listen-address=127.0.0.1:0",
		// The first alerts go out before the Alertmanager is discovered (every
		// 5s); resend soon rather than after the default minute.
		"--rules.alert.resend-delay=1s")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		log.Close()
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(pdir, "log"))
			t.Logf("prometheus log:\n%s", b)
		}
	})

	waitUntil(t, "the webhook to get Prometheus's alert", func() bool { return hook.count() >= 1 })
	hook.mu.Lock()
	msg := hook.msgs[0]
	hook.mu.Unlock()
	alerts, _ := msg["alerts"].([]any)
	if msg["version"] != "4" || len(alerts) != 1 || !strings.Contains(msg["groupKey"].(string), "AlwaysFiring") {
		t.Fatalf("webhook message: %v", msg)
	}
	a := alerts[0].(map[string]any)
	if a["annotations"].(map[string]any)["summary"] != "it fires" || !strings.Contains(a["generatorURL"].(string), "vector") {
		t.Fatalf("alert: %v", a)
	}

	am := r.srv.Alertmanager()
	m, _ := labels.NewMatcher(labels.MatchEqual, "alertname", "Other")
	id, err := am.SetSilence(context.Background(), alertmanager.Silence{Matchers: labels.Matchers{m}, StartsAt: time.Now(), EndsAt: time.Now().Add(time.Hour), CreatedBy: "t", Comment: "c"})
	if err != nil {
		t.Fatal(err)
	}
	// Reload with another group_interval: state is kept, and the group
	// rebuilt from the stored alert is not notified again.
	os.WriteFile(cfgFile, []byte(amServerConfig(hook.srv.URL, "2h")), 0o644)
	if err := r.srv.Reload(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	if n := hook.count(); n != 1 {
		t.Fatalf("%d notifications after reload, want still 1", n)
	}
	if _, ok := am.Silence(id); !ok {
		t.Fatal("silence lost on reload")
	}
	code, body := get(t, r.base+"/api/v2/alerts")
	if code != 200 || !strings.Contains(body, "AlwaysFiring") {
		t.Fatalf("/api/v2/alerts: %d %s", code, body)
	}
	code, body = get(t, r.base+"/api/v2/history?kind=notification")
	if code != 200 || !strings.Contains(body, `"integration":"webhook"`) {
		// The history writer flushes every second.
		time.Sleep(1500 * time.Millisecond)
		code, body = get(t, r.base+"/api/v2/history?kind=notification")
		if code != 200 || !strings.Contains(body, `"integration":"webhook"`) {
			t.Fatalf("/api/v2/history: %d %s", code, body)
		}
	}
	// A bad alertmanager section fails the reload and keeps the running one.
	os.WriteFile(cfgFile, []byte("alertmanager:\n  route: {receiver: nobody}\n"), 0o644)
	if err := r.srv.Reload(); err == nil {
		t.Fatal("reload with a bad alertmanager section succeeded")
	}
	if !strings.Contains(am.ConfigText(), "2h") {
		t.Fatalf("running config replaced:\n%s", am.ConfigText())
	}
}

// TestAlertmanagerConfigFlag runs on a plain alertmanager.yml, the
// write-up's.
func TestAlertmanagerConfigFlag(t *testing.T) {
	dir := t.TempDir()
	r := start(t, Options{DataDir: dir, AlertmanagerConfigFile: "../config/testdata/alertmanager-seed.yml"})
	code, body := get(t, r.base+"/api/v2/receivers")
	if code != 200 || !strings.Contains(body, "the-receiver") {
		t.Fatalf("/api/v2/receivers: %d %s", code, body)
	}
	code, body = get(t, r.base+"/api/v2/status")
	if code != 200 || !strings.Contains(body, "group_interval: 5m") || strings.Contains(body, "localhost:8001") {
		t.Fatalf("/api/v2/status (the webhook URL is a secret): %d %s", code, body)
	}
}

// TestAlertmanagerLimits: the server hands its alert limits to the alert
// manager; an alert past them is refused with 400 and counted.
func TestAlertmanagerLimits(t *testing.T) {
	r := start(t, Options{DataDir: t.TempDir(), Alertmanager: AlertmanagerOptions{MaxAlerts: 1}})
	post := func(name string) (int, string) {
		resp, err := http.Post(r.base+"/api/v2/alerts", "application/json", strings.NewReader(`[{"labels":{"alertname":"`+name+`"}}]`))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := post("a"); code != 200 {
		t.Fatalf("first alert: %d %s", code, body)
	}
	if code, body := post("b"); code != 400 || !strings.Contains(body, "alert limit reached: 1 alerts stored") {
		t.Fatalf("second alert: %d %s", code, body)
	}
	if code, body := get(t, r.base+"/metrics"); code != 200 || !strings.Contains(body, `argus_alertmanager_alerts_limited_total{limit="max_alerts"} 1`) {
		t.Fatalf("/metrics: %d, no count of the refused alert", code)
	}
}
