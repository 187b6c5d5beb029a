package config

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// promtoolSkip lists the good fixtures that use keys added after
// Prometheus 2.42, the version Debian packages, so its promtool rejects
// them. The test checks that it still does, so the list only shrinks.
var promtoolSkip = map[string]string{
	"alertmanager-section.good.yml":           "alertmanager section (argus only)",
	"apps.good.yml":                           "apps and apps_dir (argus only)",
	"collectors.good.yml":                     "collectors section (argus only)",
	"conf-3x.good.yml":                        "keys added in Prometheus 2.43 to 3.x throughout",
	"dashboards.good.yml":                     "dashboards and datasources sections (argus only)",
	"integrations-postgres-rabbitmq.good.yml": "integrations section (argus only)",
	"integrations.good.yml":                   "integrations section (argus only)",
	"probe.good.yml":                          "probe and integrations sections (argus only)",
	"state-dsn.good.yml":                      "state section (argus only)",
	"state-postgres.good.yml":                 "state and auth sections (argus only)",
	"state-sqlite.good.yml":                   "state and auth sections (argus only)",
	"legacy-names.good.yml":                   "metric_name_validation_scheme (Prometheus 3.0)",
	"otlp-promote-all.good.yml":               "otlp section (Prometheus 2.47)",
	"retention-size-only.good.yml":            "storage.tsdb.retention (Prometheus 3.x)",
	"scrape-config-files.good.yml":            "scrape_config_files (Prometheus 2.43)",
}

// TestPromtoolAcceptsGoodFixtures cross-checks the good fixtures against
// the real Prometheus config loader, so that "loads in argus" and "loads in
// Prometheus" do not drift apart. promtool also opens the rule, TLS,
// credential and file_sd files the fixtures name, which live in
// testdata/files.
func TestPromtoolAcceptsGoodFixtures(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool is needed to cross-check the fixtures against Prometheus; install the Debian package prometheus (apt-get install prometheus): %v", err)
	}
	for _, file := range fixtures(t, "*.good.yml") {
		name := filepath.Base(file)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(promtool, "check", "config", name)
			cmd.Dir = "testdata"
			out, err := cmd.CombinedOutput()
			reason, skip := promtoolSkip[name]
			switch {
			case skip && err == nil:
				t.Errorf("promtool now accepts %s; remove it from promtoolSkip (%s)", name, reason)
			case !skip && err != nil:
				t.Errorf("promtool check config %s: %v\n%s", name, err, out)
			}
		})
	}
}
