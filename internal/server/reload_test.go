package server

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReloadFailingLateChangesNothing reloads configs that load but cannot
// be applied: their rule files, alertmanager section and scrape interval
// are valid changes, but an Alertmanager of the alerting section, or a
// scrape job, names a CA file that does not exist, which only building its
// HTTP client finds. The reload fails and nothing changes: the config
// served, the rule groups, the alert manager's config;
// argus_config_last_reload_successful is 0.
func TestReloadFailingLateChangesNothing(t *testing.T) {
	for name, bad := range map[string]string{
		"alerting": `alerting:
  alertmanagers:
    - static_configs: [{targets: ['127.0.0.1:9093']}]
      tls_config: {ca_file: missing-ca.pem}
`,
		"scrape_configs": `scrape_configs:
  - job_name: app
    static_configs: [{targets: ['127.0.0.1:9100']}]
    tls_config: {ca_file: missing-ca.pem}
`,
	} {
		t.Run(name, func(t *testing.T) { testReloadFailingLate(t, bad) })
	}
}

func testReloadFailingLate(t *testing.T, bad string) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "argus.yml")
	write := func(path, s string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	const common = `rule_files: ['*.rules.yml']
collectors:
  argus: {enabled: false}
  node: {enabled: false}
  process: {enabled: false}
`
	amSection := func(receiver string) string {
		return "alertmanager:\n  route: {receiver: " + receiver + "}\n  receivers: [{name: " + receiver + "}]\n"
	}
	write(filepath.Join(dir, "a.rules.yml"), "groups: [{name: a, rules: [{record: one, expr: vector(1)}]}]\n")
	write(cfgPath, "global: {scrape_interval: 7s}\n"+common+amSection("first"))
	r := start(t, Options{DataDir: filepath.Join(dir, "data"), ConfigFile: cfgPath})

	state := func() string {
		t.Helper()
		var b strings.Builder
		_, body := get(t, r.base+"/api/v1/status/config")
		b.WriteString(body + "\n")
		_, body = get(t, r.base+"/api/v2/receivers")
		b.WriteString(body + "\n")
		for _, g := range r.srv.rules.Groups() {
			b.WriteString(g.File() + ";" + g.Name() + "\n")
		}
		return b.String()
	}
	before := state()
	if !strings.Contains(before, "scrape_interval: 7s") || !strings.Contains(before, `"first"`) || !strings.Contains(before, "a.rules.yml;a") {
		t.Fatalf("state before the reload:\n%s", before)
	}

	write(filepath.Join(dir, "b.rules.yml"), "groups: [{name: b, rules: [{record: two, expr: vector(2)}]}]\n")
	write(cfgPath, "global: {scrape_interval: 9s}\n"+common+amSection("second")+bad)
	err := r.srv.Reload()
	if err == nil || !strings.Contains(err.Error(), "missing-ca.pem") {
		t.Fatalf("reload with a missing CA file: %v", err)
	}
	if after := state(); after != before {
		t.Errorf("a failed reload changed the state:\n%s\nwant\n%s", after, before)
	}
	if _, body := get(t, r.base+"/metrics"); !strings.Contains(body, "argus_config_last_reload_successful 0") {
		t.Error("failed reload not reported in metrics")
	}
}
