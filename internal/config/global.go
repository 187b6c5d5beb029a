package config

import (
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/alecthomas/units"
	"github.com/prometheus/common/model"
)

// Global holds the defaults shared by scrape jobs and rule evaluation
// (prometheus.yml's global section). A scrape job setting left at its zero
// value takes the global one.
type Global struct {
	// ScrapeInterval is how often targets are scraped; default 1m.
	ScrapeInterval model.Duration `yaml:"scrape_interval"`
	// ScrapeTimeout bounds one scrape; default 10s, or the interval if that
	// is shorter. It may not exceed ScrapeInterval.
	ScrapeTimeout model.Duration `yaml:"scrape_timeout"`
	// ScrapeProtocols lists the exposition formats to ask targets for, most
	// preferred first. Nil means a default that depends on whether native
	// histograms are scraped.
	ScrapeProtocols []ScrapeProtocol `yaml:"scrape_protocols,omitempty"`
	// EvaluationInterval is how often rules are evaluated; default 1m.
	EvaluationInterval model.Duration `yaml:"evaluation_interval"`
	// RuleQueryOffset shifts rule evaluation into the past, to wait for
	// late samples.
	RuleQueryOffset model.Duration `yaml:"rule_query_offset,omitempty"`
	// QueryLogFile, if set, receives every PromQL query.
	QueryLogFile string `yaml:"query_log_file,omitempty"`
	// QueryMaxSeries, QueryMaxSamplesRead and QueryMaxDuration cap the cost
	// of one query; 0 means no limit.
	QueryMaxSeries      uint64         `yaml:"query_max_series,omitempty"`
	QueryMaxSamplesRead uint64         `yaml:"query_max_samples_read,omitempty"`
	QueryMaxDuration    model.Duration `yaml:"query_max_duration,omitempty"`
	// ScrapeFailureLogFile, if set, receives scrape failures of all jobs.
	ScrapeFailureLogFile string `yaml:"scrape_failure_log_file,omitempty"`
	// ExternalLabels are added to series and alerts leaving this server
	// (remote write, federation, alertmanagers).
	ExternalLabels model.LabelSet `yaml:"external_labels,omitempty"`
	// BodySizeLimit and the limits below fail a scrape that exceeds them;
	// 0 means no limit.
	BodySizeLimit         units.Base2Bytes `yaml:"body_size_limit,omitempty"`
	SampleLimit           uint             `yaml:"sample_limit,omitempty"`
	TargetLimit           uint             `yaml:"target_limit,omitempty"`
	LabelLimit            uint             `yaml:"label_limit,omitempty"`
	LabelNameLengthLimit  uint             `yaml:"label_name_length_limit,omitempty"`
	LabelValueLengthLimit uint             `yaml:"label_value_length_limit,omitempty"`
	// KeepDroppedTargets caps how many dropped targets are kept per job for
	// display; 0 means no limit.
	KeepDroppedTargets uint `yaml:"keep_dropped_targets,omitempty"`
	// MetricNameValidationScheme is legacy or utf8 (the default).
	MetricNameValidationScheme model.ValidationScheme `yaml:"metric_name_validation_scheme,omitempty"`
	// MetricNameEscapingScheme is what to ask targets for: allow-utf-8,
	// underscores, dots or values. Empty means derived from the validation
	// scheme (underscores for legacy, allow-utf-8 for utf8).
	MetricNameEscapingScheme string `yaml:"metric_name_escaping_scheme,omitempty"`
	// ScrapeNativeHistograms, ConvertClassicHistogramsToNHCB,
	// AlwaysScrapeClassicHistograms and ExtraScrapeMetrics are the job
	// defaults for the settings of the same name.
	ScrapeNativeHistograms         bool `yaml:"scrape_native_histograms"`
	ConvertClassicHistogramsToNHCB bool `yaml:"convert_classic_histograms_to_nhcb"`
	AlwaysScrapeClassicHistograms  bool `yaml:"always_scrape_classic_histograms"`
	ExtraScrapeMetrics             bool `yaml:"extra_scrape_metrics"`
}

// Global defaults, as in Prometheus.
const (
	defaultScrapeInterval     = model.Duration(time.Minute)
	defaultScrapeTimeout      = model.Duration(10 * time.Second)
	defaultEvaluationInterval = model.Duration(time.Minute)
)

func defaultGlobal() Global {
	return Global{
		ScrapeInterval:     defaultScrapeInterval,
		EvaluationInterval: defaultEvaluationInterval,
		// ScrapeTimeout is left 0 so that complete can cap it at the
		// interval when only the interval is set.
	}
}

// complete resolves zero values to their effective defaults. As in
// Prometheus, a zero interval means "use the default".
func (g *Global) complete() {
	if g.ScrapeInterval == 0 {
		g.ScrapeInterval = defaultScrapeInterval
	}
	if g.ScrapeTimeout == 0 {
		g.ScrapeTimeout = min(defaultScrapeTimeout, g.ScrapeInterval)
	}
	if g.EvaluationInterval == 0 {
		g.EvaluationInterval = defaultEvaluationInterval
	}
	if g.MetricNameValidationScheme == model.UnsetValidation {
		g.MetricNameValidationScheme = model.UTF8Validation
	}
	if g.MetricNameEscapingScheme == "" {
		g.MetricNameEscapingScheme = defaultEscaping(g.MetricNameValidationScheme)
	}
}

// defaultEscaping is the escaping scheme implied by a validation scheme.
func defaultEscaping(v model.ValidationScheme) string {
	if v == model.LegacyValidation {
		return model.EscapeUnderscores
	}
	return model.AllowUTF8
}

// ScrapeProtocol names an exposition format a scrape may ask for.
type ScrapeProtocol string

// The scrape protocols Prometheus knows. The names are case sensitive.
const (
	PrometheusProto      ScrapeProtocol = "PrometheusProto"
	PrometheusText0_0_4  ScrapeProtocol = "PrometheusText0.0.4"
	PrometheusText1_0_0  ScrapeProtocol = "PrometheusText1.0.0"
	OpenMetricsText0_0_1 ScrapeProtocol = "OpenMetricsText0.0.1"
	OpenMetricsText1_0_0 ScrapeProtocol = "OpenMetricsText1.0.0"
	OpenMetricsText2_0_0 ScrapeProtocol = "OpenMetricsText2.0.0"
)

// scrapeProtocolMediaTypes maps each protocol to the media type sent in
// the Accept header.
var scrapeProtocolMediaTypes = map[ScrapeProtocol]string{
	PrometheusProto:      "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited",
	PrometheusText0_0_4:  "text/plain;version=0.0.4",
	PrometheusText1_0_0:  "text/plain;version=1.0.0",
	OpenMetricsText0_0_1: "application/openmetrics-text;version=0.0.1",
	OpenMetricsText1_0_0: "application/openmetrics-text;version=1.0.0",
	OpenMetricsText2_0_0: "application/openmetrics-text;version=2.0.0",
}

// MediaType returns the media type to put in the Accept header for p, or
// "" if p is unknown.
func (p ScrapeProtocol) MediaType() string { return scrapeProtocolMediaTypes[p] }

// DefaultScrapeProtocols returns the protocols asked for when none are
// configured: text formats only, unless native histograms are scraped, in
// which case protobuf (the only format that carries them) comes first.
func DefaultScrapeProtocols(nativeHistograms bool) []ScrapeProtocol {
	ps := []ScrapeProtocol{OpenMetricsText1_0_0, OpenMetricsText0_0_1, PrometheusText1_0_0, PrometheusText0_0_4}
	if nativeHistograms {
		ps = append([]ScrapeProtocol{PrometheusProto}, ps...)
	}
	return ps
}

// knownScrapeProtocols lists the protocol names for error messages.
func knownScrapeProtocols() string {
	return "OpenMetricsText0.0.1, OpenMetricsText1.0.0, OpenMetricsText2.0.0, PrometheusProto, PrometheusText0.0.4, PrometheusText1.0.0"
}

// Runtime holds settings of the Go runtime and process (prometheus.yml's
// runtime section). They may change on reload.
type Runtime struct {
	// GoGC is the Go garbage collector target percentage; a negative value
	// turns the collector off. Default: $GOGC if set, else 75 (a lower
	// value than Go's 100 trades CPU for memory, as Prometheus does).
	GoGC int `yaml:"gogc"`
	// LogLevel is debug, info (default), warn or error.
	LogLevel string `yaml:"log_level"`
}

// defaultGoGC is Prometheus's default GOGC.
const defaultGoGC = 75

func defaultRuntime() Runtime {
	return Runtime{GoGC: goGCFromEnv(), LogLevel: "info"}
}

// goGCFromEnv reads GOGC the way the Go runtime does, so that the default
// matches what the process already runs with.
func goGCFromEnv() int {
	v := os.Getenv("GOGC")
	if strings.EqualFold(v, "off") {
		return -1
	}
	if n, err := strconv.Atoi(v); err == nil {
		return n
	}
	return defaultGoGC
}

// complete treats 0 as unset, as Prometheus does: GOGC=0 would make the
// collector run continuously, which nobody means.
func (r *Runtime) complete() {
	if r.GoGC == 0 {
		r.GoGC = goGCFromEnv()
	}
	if r.LogLevel == "" {
		r.LogLevel = "info"
	}
}
