package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// rulesSetup writes a config scraping a target whose value the test sets,
// with a rule file of a recording and an alerting rule evaluated every
// 200ms.
func rulesSetup(t *testing.T, dir string, value *atomic.Int64, extra string) string {
	t.Helper()
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "app_errors %d\n", value.Load())
	}))
	t.Cleanup(target.Close)
	os.WriteFile(filepath.Join(dir, "app.rules.yml"), []byte(`groups:
- name: app
  interval: 200ms
  rules:
  - record: job:app_errors:max
    expr: max by (job) (app_errors)
  - alert: AppErrors
    expr: app_errors > 0
    for: 400ms
    labels: {severity: page}
    annotations:
      summary: '{{ $labels.job }} has {{ $value }} errors'
      site: '{{ $externalLabels.site }}'
`), 0o644)
	cfgPath := filepath.Join(dir, "argus.yml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf(`global:
  scrape_interval: 100ms
  evaluation_interval: 1s
  external_labels: {site: test}
rule_files: ['*.rules.yml']
scrape_configs:
  - job_name: app
    static_configs: [{targets: [%q]}]
collectors:
  argus: {enabled: false}
  node: {enabled: false}
  process: {enabled: false}
%s`, strings.TrimPrefix(target.URL, "http://"), extra)), 0o644)
	return cfgPath
}

// TestRulesAndAlertsAPI runs rules in a server and reads them with
// client_golang's API client: Prometheus's shapes decode, the recording
// rule's series is written, the alert goes pending then firing with its
// templates expanded, and resolves.
func TestRulesAndAlertsAPI(t *testing.T) {
	dir := t.TempDir()
	var value atomic.Int64
	r := start(t, Options{DataDir: filepath.Join(dir, "data"), ConfigFile: rulesSetup(t, dir, &value, "")})
	client, err := api.NewClient(api.Config{Address: r.base})
	if err != nil {
		t.Fatal(err)
	}
	c := v1.NewAPI(client)
	ctx := context.Background()

	waitUntil(t, "recording rule written", func() bool {
		v, _, _, err := c.Query(ctx, "job:app_errors:max", time.Now())
		vec, _ := v.(model.Vector)
		return err == nil && len(vec) == 1 && vec[0].Metric["job"] == "app"
	})
	value.Store(3)
	waitUntil(t, "alert firing", func() bool {
		as, err := c.Alerts(ctx)
		return err == nil && len(as.Alerts) == 1 && as.Alerts[0].State == v1.AlertStateFiring
	})
	as, _ := c.Alerts(ctx)
	a := as.Alerts[0]
	if a.Labels["alertname"] != "AppErrors" || a.Labels["severity"] != "page" || a.Labels["instance"] == "" ||
		a.Annotations["summary"] != "app has 3 errors" || a.Annotations["site"] != "test" || a.Value != "3e+00" {
		t.Errorf("alert: %+v", a)
	}
	rules, err := c.Rules(ctx, nil)
	if err != nil || len(rules.Groups) != 1 {
		t.Fatalf("rules: %+v %v", rules, err)
	}
	g := rules.Groups[0]
	if g.Name != "app" || g.Interval != 0.2 || !strings.HasSuffix(g.File, "app.rules.yml") || len(g.Rules) != 2 {
		t.Fatalf("group: %+v", g)
	}
	rec, ok := g.Rules[0].(v1.RecordingRule)
	if !ok || rec.Name != "job:app_errors:max" || rec.Health != v1.RuleHealthGood || rec.LastEvaluation.IsZero() {
		t.Errorf("recording rule: %+v", g.Rules[0])
	}
	al, ok := g.Rules[1].(v1.AlertingRule)
	if !ok || al.Name != "AppErrors" || al.State != "firing" || al.Duration != 0.4 || len(al.Alerts) != 1 || al.Health != v1.RuleHealthGood {
		t.Errorf("alerting rule: %+v", g.Rules[1])
	}
	// ALERTS is in storage.
	v, _, _, err := c.Query(ctx, `ALERTS{alertstate="firing"}`, time.Now())
	if vec, _ := v.(model.Vector); err != nil || len(vec) != 1 || vec[0].Metric["severity"] != "page" {
		t.Errorf("ALERTS: %v %v", v, err)
	}
	// Filters.
	for query, want := range map[string]int{"type=record": 1, "type=alert": 1, "rule_name[]=AppErrors": 1, "rule_group[]=nope": 0, "match[]={severity=\"page\"}": 1} {
		code, body := get(t, r.base+"/api/v1/rules?"+query)
		if n := strings.Count(body, `"type":"`); code != 200 || n != want {
			t.Errorf("rules?%s: %d, %d rules: %s", query, code, n, body)
		}
	}
	if code, body := get(t, r.base+"/api/v1/rules?type=x"); code != 400 || !strings.Contains(body, `invalid parameter \"type\": not supported value \"x\"`) {
		t.Errorf("bad type: %d %s", code, body)
	}
	value.Store(0)
	waitUntil(t, "alert resolved", func() bool {
		as, err := c.Alerts(ctx)
		return err == nil && len(as.Alerts) == 0
	})
	_, body := get(t, r.base+"/metrics")
	for _, m := range []string{`argus_rule_evaluations_total{rule_group="`, "argus_rule_group_last_evaluation_timestamp_seconds", "argus_rule_evaluation_duration_seconds"} {
		if !strings.Contains(body, m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
}

// TestBadRuleFileKeepsRunningRules checks that a reload with a broken rule
// file fails and keeps the running rules.
func TestBadRuleFileKeepsRunningRules(t *testing.T) {
	dir := t.TempDir()
	var value atomic.Int64
	r := start(t, Options{DataDir: filepath.Join(dir, "data"), ConfigFile: rulesSetup(t, dir, &value, "")})
	os.WriteFile(filepath.Join(dir, "broken.rules.yml"), []byte("groups: [{name: x, rules: [{record: r, expr: 'up +'}]}]"), 0o644)
	if err := r.srv.Reload(); err == nil || !strings.Contains(err.Error(), "could not parse expression") {
		t.Fatalf("reload with a broken rule file: %v", err)
	}
	if n := len(r.srv.rules.Groups()); n != 1 {
		t.Fatalf("%d groups after a failed reload, want 1", n)
	}
	os.Remove(filepath.Join(dir, "broken.rules.yml"))
	if err := r.srv.Reload(); err != nil {
		t.Fatal(err)
	}
}

// TestForStateRestoredAfterRestart restarts argus while an alert with a
// long for is firing: after the restart the alert keeps its activeAt (from
// ALERTS_FOR_STATE) and fires again at once instead of waiting for again.
func TestForStateRestoredAfterRestart(t *testing.T) {
	dir := t.TempDir()
	var value atomic.Int64
	value.Store(1)
	cfg := rulesSetup(t, dir, &value, "")
	os.WriteFile(filepath.Join(dir, "app.rules.yml"), []byte(`groups:
- name: app
  interval: 200ms
  rules:
  - alert: AppErrors
    expr: app_errors > 0
    for: 3s
`), 0o644)
	opts := Options{DataDir: filepath.Join(dir, "data"), ConfigFile: cfg}
	r := start(t, opts)
	ctx := context.Background()
	firing := func(r *running) *v1.Alert {
		client, _ := api.NewClient(api.Config{Address: r.base})
		as, err := v1.NewAPI(client).Alerts(ctx)
		if err != nil || len(as.Alerts) != 1 || as.Alerts[0].State != v1.AlertStateFiring {
			return nil
		}
		return &as.Alerts[0]
	}
	waitUntil(t, "alert firing before the restart", func() bool { return firing(r) != nil })
	activeAt := firing(r).ActiveAt
	r.shutdown(t)

	restarted := time.Now()
	r = start(t, opts)
	waitUntil(t, "alert firing after the restart", func() bool { return firing(r) != nil })
	if d := time.Since(restarted); d >= 3*time.Second {
		t.Errorf("alert fired %v after the restart: for started again", d)
	}
	// ALERTS_FOR_STATE holds whole seconds, as in Prometheus.
	if got := firing(r).ActiveAt; !got.Equal(activeAt.Truncate(time.Second)) {
		t.Errorf("activeAt after the restart %v, before %v", got, activeAt)
	}
}

// TestRulesFeedBuiltinAlertmanager: an alert of argus's own rules reaches
// argus's own alert manager in process, with its labels and annotations,
// and shows in its API v2 like an alert a Prometheus posted.
func TestRulesFeedBuiltinAlertmanager(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "rules.yml"), []byte(`groups:
- name: g
  interval: 100ms
  rules:
  - alert: AlwaysOn
    expr: vector(1) > 0
    labels: {severity: page}
    annotations: {summary: "value {{ $value }}"}
`), 0o644)
	cfg := filepath.Join(dir, "argus.yml")
	os.WriteFile(cfg, []byte("rule_files: [rules.yml]\ncollectors:\n  node: {enabled: false}\n  process: {enabled: false}\n"), 0o644)
	r := start(t, Options{DataDir: filepath.Join(dir, "data"), ConfigFile: cfg})
	waitUntil(t, "alert in the built-in alert manager", func() bool {
		resp, err := http.Get(r.base + "/api/v2/alerts")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var alerts []struct {
			Labels      map[string]string
			Annotations map[string]string
		}
		if json.NewDecoder(resp.Body).Decode(&alerts) != nil {
			return false
		}
		for _, a := range alerts {
			if a.Labels["alertname"] == "AlwaysOn" && a.Labels["severity"] == "page" && a.Annotations["summary"] == "value 1" {
				return true
			}
		}
		return false
	})
}
