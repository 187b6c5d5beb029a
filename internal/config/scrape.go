package config

import (
	"net/url"
	"time"

	"github.com/alecthomas/units"
	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/relabel"
)

// Scrape is one scrape job (an item of scrape_configs): which targets to
// scrape and how. After Parse or LoadFile every field that inherits from
// Global holds its effective value, and no pointer field is nil.
type Scrape struct {
	// JobName is the job label of the scraped series; unique per config.
	JobName string `yaml:"job_name"`
	// HonorLabels keeps the target's labels when they clash with ours.
	HonorLabels bool `yaml:"honor_labels"`
	// HonorTimestamps keeps timestamps exposed by targets; default true.
	HonorTimestamps bool `yaml:"honor_timestamps"`
	// TrackTimestampsStaleness marks series with explicit timestamps stale
	// when they disappear.
	TrackTimestampsStaleness bool `yaml:"track_timestamps_staleness"`
	// Params are URL query parameters added to every scrape.
	Params url.Values `yaml:"params,omitempty"`
	// ScrapeInterval and ScrapeTimeout default to the global values; the
	// timeout is capped at the interval.
	ScrapeInterval model.Duration `yaml:"scrape_interval"`
	ScrapeTimeout  model.Duration `yaml:"scrape_timeout"`
	// ScrapeProtocols defaults to the global list, or to
	// DefaultScrapeProtocols(native histograms enabled).
	ScrapeProtocols []ScrapeProtocol `yaml:"scrape_protocols"`
	// FallbackScrapeProtocol is used when a target's Content-Type is
	// missing or unknown; empty means fail such scrapes.
	FallbackScrapeProtocol ScrapeProtocol `yaml:"fallback_scrape_protocol,omitempty"`
	// ScrapeNativeHistograms, AlwaysScrapeClassicHistograms,
	// ConvertClassicHistogramsToNHCB and ExtraScrapeMetrics default to the
	// global values (nil in the file means inherit).
	ScrapeNativeHistograms         *bool `yaml:"scrape_native_histograms"`
	AlwaysScrapeClassicHistograms  *bool `yaml:"always_scrape_classic_histograms"`
	ConvertClassicHistogramsToNHCB *bool `yaml:"convert_classic_histograms_to_nhcb"`
	// ScrapeFailureLogFile defaults to the global one.
	ScrapeFailureLogFile string `yaml:"scrape_failure_log_file,omitempty"`
	// MetricsPath is the HTTP path scraped; default /metrics.
	MetricsPath string `yaml:"metrics_path"`
	// Scheme is http (default) or https.
	Scheme string `yaml:"scheme"`
	// EnableCompression asks targets for gzip; default true.
	EnableCompression bool `yaml:"enable_compression"`
	// BodySizeLimit and the limits below default to the global ones; 0
	// means no limit.
	BodySizeLimit         units.Base2Bytes `yaml:"body_size_limit,omitempty"`
	SampleLimit           uint             `yaml:"sample_limit,omitempty"`
	TargetLimit           uint             `yaml:"target_limit,omitempty"`
	LabelLimit            uint             `yaml:"label_limit,omitempty"`
	LabelNameLengthLimit  uint             `yaml:"label_name_length_limit,omitempty"`
	LabelValueLengthLimit uint             `yaml:"label_value_length_limit,omitempty"`
	// NativeHistogramBucketLimit and NativeHistogramMinBucketFactor make
	// native histograms coarser until they fit; 0 means no limit.
	NativeHistogramBucketLimit     uint    `yaml:"native_histogram_bucket_limit,omitempty"`
	NativeHistogramMinBucketFactor float64 `yaml:"native_histogram_min_bucket_factor,omitempty"`
	KeepDroppedTargets             uint    `yaml:"keep_dropped_targets,omitempty"`
	// MetricNameValidationScheme and MetricNameEscapingScheme default to
	// the global ones; see Global.
	MetricNameValidationScheme model.ValidationScheme `yaml:"metric_name_validation_scheme,omitempty"`
	MetricNameEscapingScheme   string                 `yaml:"metric_name_escaping_scheme,omitempty"`
	ExtraScrapeMetrics         *bool                  `yaml:"extra_scrape_metrics"`

	// HTTPClientConfig holds authentication, TLS and proxy settings; its
	// keys sit directly in the job, as in Prometheus.
	HTTPClientConfig commoncfg.HTTPClientConfig `yaml:",inline"`

	// Service discovery. Other Prometheus mechanisms (kubernetes_sd_configs
	// and the like) are rejected with a clear error.
	StaticConfigs []TargetGroup `yaml:"static_configs,omitempty"`
	FileSDConfigs []*FileSD     `yaml:"file_sd_configs,omitempty"`
	HTTPSDConfigs []*HTTPSD     `yaml:"http_sd_configs,omitempty"`

	// RelabelConfigs rewrite target labels before scraping;
	// MetricRelabelConfigs rewrite scraped series before storing.
	RelabelConfigs       []*relabel.Config `yaml:"relabel_configs,omitempty"`
	MetricRelabelConfigs []*relabel.Config `yaml:"metric_relabel_configs,omitempty"`

	file string // the scrape_config_files file this job came from, "" for the main file

	// namingFromGlobal records that both name schemes were inherited, so
	// that a contradiction between them is reported once, at global.
	namingFromGlobal bool
}

// setDefaults applies Prometheus's per-job defaults; see defaulter.
func (s *Scrape) setDefaults() {
	*s = Scrape{
		MetricsPath:       "/metrics",
		Scheme:            "http",
		HonorTimestamps:   true,
		EnableCompression: true,
		HTTPClientConfig:  commoncfg.DefaultHTTPClientConfig,
	}
}

// rejectKey refuses the service discovery mechanisms argus lacks.
func (s *Scrape) rejectKey(key string) string { return rejectSD(key) }

// inherit fills settings left unset with the global ones, the way
// Prometheus does when it validates a scrape config. g must be complete.
func (s *Scrape) inherit(g *Global) {
	if s.ScrapeInterval == 0 {
		s.ScrapeInterval = g.ScrapeInterval
	}
	if s.ScrapeTimeout == 0 {
		s.ScrapeTimeout = min(g.ScrapeTimeout, s.ScrapeInterval)
	}
	inheritZero(&s.BodySizeLimit, g.BodySizeLimit)
	inheritZero(&s.SampleLimit, g.SampleLimit)
	inheritZero(&s.TargetLimit, g.TargetLimit)
	inheritZero(&s.LabelLimit, g.LabelLimit)
	inheritZero(&s.LabelNameLengthLimit, g.LabelNameLengthLimit)
	inheritZero(&s.LabelValueLengthLimit, g.LabelValueLengthLimit)
	inheritZero(&s.KeepDroppedTargets, g.KeepDroppedTargets)
	inheritBool(&s.ScrapeNativeHistograms, g.ScrapeNativeHistograms)
	inheritBool(&s.AlwaysScrapeClassicHistograms, g.AlwaysScrapeClassicHistograms)
	inheritBool(&s.ConvertClassicHistogramsToNHCB, g.ConvertClassicHistogramsToNHCB)
	inheritBool(&s.ExtraScrapeMetrics, g.ExtraScrapeMetrics)
	if s.ScrapeProtocols == nil {
		if g.ScrapeProtocols != nil {
			s.ScrapeProtocols = g.ScrapeProtocols
		} else {
			s.ScrapeProtocols = DefaultScrapeProtocols(*s.ScrapeNativeHistograms)
		}
	}
	// A job that sets only its validation scheme gets the escaping that
	// scheme implies, not the global escaping: legacy validation with the
	// global allow-utf-8 would be a contradiction.
	if s.MetricNameValidationScheme == model.UnsetValidation {
		s.MetricNameValidationScheme = g.MetricNameValidationScheme
		if s.MetricNameEscapingScheme == "" {
			s.MetricNameEscapingScheme = g.MetricNameEscapingScheme
			s.namingFromGlobal = true
		}
	}
	if s.MetricNameEscapingScheme == "" {
		s.MetricNameEscapingScheme = defaultEscaping(s.MetricNameValidationScheme)
	}
}

func inheritZero[T comparable](v *T, global T) {
	var zero T
	if *v == zero {
		*v = global
	}
}

func inheritBool(v **bool, global bool) {
	if *v == nil {
		b := global
		*v = &b
	}
}

// TargetGroup is one item of static_configs: targets and labels shared by
// them.
type TargetGroup struct {
	// Targets are host:port addresses.
	Targets []string `yaml:"targets"`
	// Labels are added to every target of the group.
	Labels model.LabelSet `yaml:"labels,omitempty"`
}

// FileSD is one item of file_sd_configs: target groups read from JSON or
// YAML files, re-read on change and every RefreshInterval.
type FileSD struct {
	// Files are paths or globs (a * only in the last path element) ending
	// in .json, .yml or .yaml.
	Files []string `yaml:"files"`
	// RefreshInterval defaults to 5m.
	RefreshInterval model.Duration `yaml:"refresh_interval"`
}

func (f *FileSD) setDefaults() {
	*f = FileSD{RefreshInterval: model.Duration(5 * time.Minute)}
}

// HTTPSD is one item of http_sd_configs: target groups fetched as JSON
// from URL every RefreshInterval.
type HTTPSD struct {
	HTTPClientConfig commoncfg.HTTPClientConfig `yaml:",inline"`
	// RefreshInterval defaults to 1m.
	RefreshInterval model.Duration `yaml:"refresh_interval"`
	// URL is an http or https URL.
	URL string `yaml:"url"`
}

func (h *HTTPSD) setDefaults() {
	*h = HTTPSD{
		HTTPClientConfig: commoncfg.DefaultHTTPClientConfig,
		RefreshInterval:  model.Duration(time.Minute),
	}
}

// unsupportedSD lists the service discovery keys Prometheus accepts and
// argus does not implement (each is <name>_sd_configs upstream).
var unsupportedSD = map[string]bool{
	"aws_sd_configs": true, "azure_sd_configs": true, "consul_sd_configs": true,
	"digitalocean_sd_configs": true, "dns_sd_configs": true, "docker_sd_configs": true,
	"dockerswarm_sd_configs": true, "ec2_sd_configs": true, "ecs_sd_configs": true,
	"elasticache_sd_configs": true, "eureka_sd_configs": true, "gce_sd_configs": true,
	"hetzner_sd_configs": true, "ionos_sd_configs": true, "kubernetes_sd_configs": true,
	"kuma_sd_configs": true, "lightsail_sd_configs": true, "linode_sd_configs": true,
	"marathon_sd_configs": true, "msk_sd_configs": true, "nerve_sd_configs": true,
	"nomad_sd_configs": true, "oci_sd_configs": true, "openstack_sd_configs": true,
	"outscale_sd_configs": true, "ovhcloud_sd_configs": true, "puppetdb_sd_configs": true,
	"rds_sd_configs": true, "scaleway_sd_configs": true, "serverset_sd_configs": true,
	"stackit_sd_configs": true, "triton_sd_configs": true, "uyuni_sd_configs": true,
	"vultr_sd_configs": true,
}

func rejectSD(key string) string {
	if unsupportedSD[key] {
		return "not supported by argus: use static_configs, file_sd_configs or http_sd_configs"
	}
	return ""
}
