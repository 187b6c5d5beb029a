package server

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// webhookMessage is the part of Alertmanager's webhook payload the test
// reads.
type webhookMessage struct {
	Status string `json:"status"`
	Alerts []struct {
		Status       string            `json:"status"`
		Labels       map[string]string `json:"labels"`
		Annotations  map[string]string `json:"annotations"`
		GeneratorURL string            `json:"generatorURL"`
	} `json:"alerts"`
}

// startAlertmanager runs Debian's prometheus-alertmanager on a free
// loopback port in a temp dir, notifying webhookURL with group waits of a
// second; it is stopped by PID when the test ends.
func startAlertmanager(t *testing.T, webhookURL string) string {
	t.Helper()
	return startPeer(t, "prometheus-alertmanager", func(addr, dir string) []string {
		cfg := filepath.Join(dir, "alertmanager.yml")
		os.WriteFile(cfg, []byte(fmt.Sprintf(`route:
  receiver: hook
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs: [{url: %q, send_resolved: true}]
`, webhookURL)), 0o644)
		return []string{"--config.file=" + cfg, "--storage.path=" + filepath.Join(dir, "data"),
			"--web.listen-address=" + addr, "--cluster.listen-address=", "--log.level=debug"}
	})
}

// TestAlertsReachRealAlertmanager fires an alert in argus and checks that
// Debian's Alertmanager gets it with its labels and annotations (in its API
// and in the webhook notification it sends), then gets it resolved.
func TestAlertsReachRealAlertmanager(t *testing.T) {
	var (
		mu       sync.Mutex
		messages []webhookMessage
	)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m webhookMessage
		b, _ := io.ReadAll(r.Body)
		json.Unmarshal(b, &m)
		mu.Lock()
		messages = append(messages, m)
		mu.Unlock()
	}))
	defer hook.Close()
	amAddr := startAlertmanager(t, hook.URL)

	dir := t.TempDir()
	var value atomic.Int64
	cfg := rulesSetup(t, dir, &value, fmt.Sprintf(`alerting:
  alert_relabel_configs: [{target_label: relabeled, replacement: "yes"}]
  alertmanagers:
    - static_configs: [{targets: [%q]}]
`, amAddr))
	r := start(t, Options{DataDir: filepath.Join(dir, "data"), ConfigFile: cfg, ExternalURL: "http://argus.example:9090/"})
	code, body := get(t, r.base+"/api/v1/alertmanagers")
	if code != 200 || !strings.Contains(body, `"url":"http://`+amAddr+`/api/v2/alerts"`) {
		t.Fatalf("alertmanagers: %d %s", code, body)
	}
	value.Store(5)

	// The Alertmanager's own API shows the alert with argus's labels.
	waitUntil(t, "alert in the alertmanager", func() bool {
		resp, err := http.Get("http://" + amAddr + "/api/v2/alerts")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return strings.Contains(string(b), `"alertname":"AppErrors"`)
	})
	lastWith := func(status string) *webhookMessage {
		mu.Lock()
		defer mu.Unlock()
		for i := len(messages) - 1; i >= 0; i-- {
			if messages[i].Status == status {
				return &messages[i]
			}
		}
		return nil
	}
	waitUntil(t, "firing notification", func() bool { return lastWith("firing") != nil })
	m := lastWith("firing")
	if len(m.Alerts) != 1 {
		t.Fatalf("firing notification: %+v", m)
	}
	a := m.Alerts[0]
	want := map[string]string{"alertname": "AppErrors", "severity": "page", "job": "app", "site": "test", "relabeled": "yes"}
	for k, v := range want {
		if a.Labels[k] != v {
			t.Errorf("label %s = %q, want %q (labels %v)", k, a.Labels[k], v, a.Labels)
		}
	}
	if a.Annotations["summary"] != "app has 5 errors" || a.Annotations["site"] != "test" {
		t.Errorf("annotations: %v", a.Annotations)
	}
	if !strings.HasPrefix(a.GeneratorURL, "http://argus.example:9090/graph?g0.expr=app_errors+%3E+0") {
		t.Errorf("generator URL: %s", a.GeneratorURL)
	}

	value.Store(0)
	waitUntil(t, "resolved notification", func() bool {
		m := lastWith("resolved")
		return m != nil && len(m.Alerts) == 1 && m.Alerts[0].Status == "resolved" && m.Alerts[0].Labels["alertname"] == "AppErrors"
	})
	_, metrics := get(t, r.base+"/metrics")
	if !strings.Contains(metrics, `argus_notifications_sent_total{alertmanager="http://`+amAddr+`/api/v2/alerts"}`) {
		t.Errorf("no sent_total for the alertmanager in /metrics")
	}
}
