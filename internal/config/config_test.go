package config

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/relabel"
)

func TestDefault(t *testing.T) {
	t.Setenv("GOGC", "")
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
	check := func(name string, got, want any) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	check("scrape_interval", c.Global.ScrapeInterval, model.Duration(time.Minute))
	check("scrape_timeout", c.Global.ScrapeTimeout, model.Duration(10*time.Second))
	check("evaluation_interval", c.Global.EvaluationInterval, model.Duration(time.Minute))
	check("metric_name_validation_scheme", c.Global.MetricNameValidationScheme, model.UTF8Validation)
	check("metric_name_escaping_scheme", c.Global.MetricNameEscapingScheme, model.AllowUTF8)
	check("gogc", c.Runtime.GoGC, 75)
	check("log_level", c.Runtime.LogLevel, "info")
	check("retention.time", c.Storage.TSDB.Retention.Time, model.Duration(15*24*time.Hour))
	check("retention.size", int64(c.Storage.TSDB.Retention.Size), int64(0))
	check("wal_sync_interval", c.Storage.TSDB.WALSyncInterval, model.Duration(5*time.Second))
	check("max_exemplars", c.Storage.Exemplars.MaxExemplars, int64(100000))
	check("tracing.client_type", c.Tracing.ClientType, TracingGRPC)
	check("otlp.translation_strategy", c.OTLP.TranslationStrategy, UnderscoreEscapingWithSuffixes)

	// No file and an empty file are the same configuration.
	for _, data := range []string{"", "# just a comment\n", "---\n", "~\n"} {
		p, err := Parse([]byte(data), "argus.yml")
		if err != nil {
			t.Fatalf("Parse(%q): %v", data, err)
		}
		if p.String() != c.String() {
			t.Errorf("Parse(%q) differs from Default():\n%s\nwant:\n%s", data, p, c)
		}
	}
}

func TestDefaultGoGCFollowsEnvironment(t *testing.T) {
	for env, want := range map[string]int{"": 75, "off": -1, "OFF": -1, "150": 150, "junk": 75} {
		t.Setenv("GOGC", env)
		if got := Default().Runtime.GoGC; got != want {
			t.Errorf("GOGC=%q: gogc = %d, want %d", env, got, want)
		}
	}
	t.Setenv("GOGC", "150")
	c, err := Parse([]byte("runtime:\n  gogc: 0\n"), "argus.yml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Runtime.GoGC != 150 {
		t.Errorf("gogc: 0 gave %d, want the default (150 from GOGC)", c.Runtime.GoGC)
	}
}

// The two error shapes the package promises, exactly.
func TestErrorFormat(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{
			name: "bad value",
			in: `global:
  scrape_interval: 15s
scrape_configs:
  - job_name: a
    static_configs:
      - targets: ["a:9100"]

  # The second job's interval has a typo.
  - job_name: b
    static_configs:
      - targets: ["b:9100"]
    scrape_interval: 5x
`,
			want: `argus.yml:12: scrape_configs[1].scrape_interval: unknown unit "x" in duration "5x"`,
		},
		{
			name: "unknown key",
			in: `global:
  scrape_interval: 15s
  scrape_intervall: 15s
`,
			want: `argus.yml:3: global.scrape_intervall: unknown key (did you mean scrape_interval?)`,
		},
		{
			name: "validation",
			in: `scrape_configs:
  - job_name: a
    scrape_interval: 5s
    scrape_timeout: 10s
`,
			want: `argus.yml:4: scrape_configs[0].scrape_timeout: scrape timeout 10s greater than scrape interval 5s for scrape config with job name "a"`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.in), "argus.yml")
			if err == nil || err.Error() != tc.want {
				t.Errorf("got  %v\nwant %s", err, tc.want)
			}
			var e *Error
			if !errors.As(err, &e) || e.File != "argus.yml" || e.Line == 0 || e.Path == "" {
				t.Errorf("errors.As(*Error) = %+v", e)
			}
		})
	}
}

func TestErrorsAreCapped(t *testing.T) {
	var b strings.Builder
	b.WriteString("global:\n")
	for i := range 30 {
		b.WriteString("  unknown_" + strings.Repeat("x", i) + ": 1\n")
	}
	_, err := Parse([]byte(b.String()), "argus.yml")
	lines := errorLines(err)
	if len(lines) != maxErrors+1 || !strings.Contains(lines[maxErrors], "too many problems") {
		t.Errorf("got %d errors, want %d and a note:\n%v", len(lines), maxErrors+1, err)
	}
}

// A config built in code has no file or lines; errors still name the key.
func TestValidateProgrammatic(t *testing.T) {
	c := Default()
	c.ScrapeConfigs = append(c.ScrapeConfigs, &Scrape{})
	c.Storage.TSDB.WALSyncInterval = 0
	err := c.Validate()
	for _, want := range []string{
		"scrape_configs[0].job_name: job_name is empty",
		"storage.tsdb.wal_sync_interval: must be greater than 0",
		// An unset scheme is reported, not passed on to validators
		// that panic on it.
		"scrape_configs[0].metric_name_validation_scheme: must be legacy or utf8",
	} {
		if !containsAny(errorLines(err), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), ".yml") {
		t.Errorf("error names a file for a config built in code: %v", err)
	}

	// The zero Config is invalid but must not make the upstream
	// validators panic on its unset name validation scheme.
	zero := &Config{
		Alerting:   Alerting{AlertRelabelConfigs: []*relabel.Config{{Action: relabel.Replace, TargetLabel: "x"}}},
		RemoteRead: []*RemoteRead{{RequiredMatchers: model.LabelSet{"a": "b"}}},
	}
	if err := zero.Validate(); err == nil {
		t.Error("zero Config validated")
	}
}

func TestInheritance(t *testing.T) {
	c, err := Parse([]byte(`
global:
  scrape_interval: 20s
  sample_limit: 100
  scrape_native_histograms: true
  scrape_failure_log_file: failures.log
scrape_configs:
  - job_name: inherits
  - job_name: overrides
    scrape_interval: 1m
    sample_limit: 5
    scrape_native_histograms: false
    scrape_failure_log_file: own.log
  - job_name: protocols
    scrape_protocols: [PrometheusText0.0.4]
`), "argus.yml")
	if err != nil {
		t.Fatal(err)
	}
	in, over, protos := c.ScrapeConfigs[0], c.ScrapeConfigs[1], c.ScrapeConfigs[2]
	if in.ScrapeInterval != model.Duration(20*time.Second) || in.ScrapeTimeout != model.Duration(10*time.Second) ||
		in.SampleLimit != 100 || !*in.ScrapeNativeHistograms || in.ScrapeFailureLogFile != "failures.log" {
		t.Errorf("inheriting job = %+v", in)
	}
	// Scraping native histograms needs protobuf, so it comes first.
	if got := in.ScrapeProtocols; len(got) != 5 || got[0] != PrometheusProto {
		t.Errorf("protocols with native histograms = %v", got)
	}
	if over.ScrapeInterval != model.Duration(time.Minute) || over.SampleLimit != 5 ||
		*over.ScrapeNativeHistograms || over.ScrapeFailureLogFile != "own.log" {
		t.Errorf("overriding job = %+v", over)
	}
	if got := over.ScrapeProtocols; len(got) != 4 || got[0] != OpenMetricsText1_0_0 {
		t.Errorf("protocols without native histograms = %v", got)
	}
	if got := protos.ScrapeProtocols; len(got) != 1 || got[0] != PrometheusText0_0_4 {
		t.Errorf("explicit protocols = %v", got)
	}
}

func TestLoadFileResolvesPaths(t *testing.T) {
	fixtureEnv(t)
	c, err := LoadFile(filepath.Join("testdata", "scrape-config-files.good.yml"))
	if err != nil {
		t.Fatal(err)
	}
	jobs := map[string]*Scrape{}
	for _, s := range c.ScrapeConfigs {
		jobs[s.JobName] = s
	}
	if len(jobs) != 3 {
		t.Fatalf("jobs = %v, want main, from-a and from-b", jobs)
	}
	// Paths in an included file are relative to that file.
	if got, want := jobs["from-a"].HTTPClientConfig.TLSConfig.CAFile, filepath.Join("testdata", "files", "ca.crt"); got != want {
		t.Errorf("from-a ca_file = %q, want %q", got, want)
	}
	if got, want := jobs["from-b"].FileSDConfigs[0].Files[0], filepath.Join("testdata", "files", "targets", "*.json"); got != want {
		t.Errorf("from-b file_sd = %q, want %q", got, want)
	}
	// Included jobs inherit the main file's global section.
	if jobs["from-a"].ScrapeInterval != model.Duration(30*time.Second) {
		t.Errorf("from-a interval = %v, want the global 30s", jobs["from-a"].ScrapeInterval)
	}
	// Marshal lists the pattern, not the included jobs, so its output
	// loads back to the same jobs.
	if s := c.String(); strings.Contains(s, "from-a") || !strings.Contains(s, "scrape_configs/*.yml") {
		t.Errorf("Marshal output:\n%s", s)
	}
}

func TestParseReadsNoFiles(t *testing.T) {
	c, err := Parse([]byte(`
rule_files: [rules/*.yml]
scrape_config_files: [does-not-exist/*.yml]
scrape_configs:
  - job_name: a
    tls_config: {ca_file: ca.pem}
`), "argus.yml")
	if err != nil {
		t.Fatal(err)
	}
	if c.RuleFiles[0] != "rules/*.yml" || len(c.ScrapeConfigs) != 1 ||
		c.ScrapeConfigs[0].HTTPClientConfig.TLSConfig.CAFile != "ca.pem" {
		t.Errorf("Parse changed paths or read files: %s", c)
	}
}

func TestMarshalHidesSecrets(t *testing.T) {
	fixtureEnv(t)
	c, err := LoadFile(filepath.Join("testdata", "conf.good.yml"))
	if err != nil {
		t.Fatal(err)
	}
	s := c.String()
	for _, secret := range []string{"pa55word", "s3cret", "sd-token", "backup-token", "dXNlcjpwYXNz"} {
		if strings.Contains(s, secret) {
			t.Errorf("Marshal output contains secret %q", secret)
		}
	}
	if !strings.Contains(s, "<secret>") {
		t.Error("Marshal output shows no <secret> placeholder")
	}
}

func TestRetention(t *testing.T) {
	for _, tc := range []struct {
		in       string
		wantTime model.Duration
		wantSize string
	}{
		{"", DefaultRetention, "0B"},
		{"storage: {tsdb: {out_of_order_time_window: 1h}}", DefaultRetention, "0B"},
		// As in Prometheus, a retention section replaces the defaults.
		{"storage: {tsdb: {retention: {size: 1GB}}}", 0, "1GiB"},
		{"storage: {tsdb: {retention: {time: 90d}}}", model.Duration(90 * 24 * time.Hour), "0B"},
	} {
		c, err := Parse([]byte(tc.in), "argus.yml")
		if err != nil {
			t.Fatalf("%q: %v", tc.in, err)
		}
		r := c.Storage.TSDB.Retention
		if r.Time != tc.wantTime || r.Size.String() != tc.wantSize {
			t.Errorf("%q: retention = %v/%v, want %v/%v", tc.in, r.Time, r.Size, tc.wantTime, tc.wantSize)
		}
	}
}

func TestDecodeYAMLFeatures(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"integral float", "global: {sample_limit: 1e3}", ""},
		{"merge list", "scrape_configs:\n  - <<: [{job_name: a}, {scheme: https}]\n", ""},
		{"own key beats merged", "scrape_configs:\n  - &a {job_name: a}\n  - <<: *a\n    job_name: b\n", ""},
		{"alias as key", "global:\n  external_labels: {&k x: 1, *k : 2}\n", "duplicate key"},
		{"non-string key", "global:\n  {a: b}: 1\n", "mapping keys must be strings"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.in), "argus.yml")
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
