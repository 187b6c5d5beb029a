package config

import (
	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
)

// Tracing configures OpenTelemetry tracing of argus itself (prometheus.yml's
// tracing section). Tracing is off while Endpoint is empty.
type Tracing struct {
	// ClientType is grpc (default) or http.
	ClientType string `yaml:"client_type,omitempty"`
	// Endpoint is the OTLP collector's host:port.
	Endpoint string `yaml:"endpoint,omitempty"`
	// SamplingFraction is the share of traces kept.
	SamplingFraction float64 `yaml:"sampling_fraction,omitempty"`
	// Insecure disables TLS to the collector.
	Insecure  bool                `yaml:"insecure,omitempty"`
	TLSConfig commoncfg.TLSConfig `yaml:"tls_config,omitempty"`
	Headers   map[string]string   `yaml:"headers,omitempty"`
	// Compression is empty or gzip.
	Compression string         `yaml:"compression,omitempty"`
	Timeout     model.Duration `yaml:"timeout,omitempty"`
}

// The tracing client types.
const (
	TracingGRPC = "grpc"
	TracingHTTP = "http"
)

// OTLP configures how metrics received over OTLP are translated (the
// otlp section).
type OTLP struct {
	// PromoteAllResourceAttributes turns every resource attribute into a
	// label, except IgnoreResourceAttributes; otherwise only
	// PromoteResourceAttributes are.
	PromoteAllResourceAttributes bool     `yaml:"promote_all_resource_attributes,omitempty"`
	PromoteResourceAttributes    []string `yaml:"promote_resource_attributes,omitempty"`
	IgnoreResourceAttributes     []string `yaml:"ignore_resource_attributes,omitempty"`
	// TranslationStrategy is one of UnderscoreEscapingWithSuffixes (the
	// default), UnderscoreEscapingWithoutSuffixes,
	// NoUTF8EscapingWithSuffixes or NoTranslation; the last two need utf8
	// metric name validation.
	TranslationStrategy               string `yaml:"translation_strategy"`
	KeepIdentifyingResourceAttributes bool   `yaml:"keep_identifying_resource_attributes,omitempty"`
	ConvertHistogramsToNHCB           bool   `yaml:"convert_histograms_to_nhcb,omitempty"`
	// PromoteScopeMetadata turns the instrumentation scope's name,
	// version, schema URL and attributes into labels.
	PromoteScopeMetadata bool `yaml:"promote_scope_metadata,omitempty"`
	// LabelNameUnderscoreSanitization prefixes key_ to label names that
	// start with a single _, and LabelNamePreserveMultipleUnderscores keeps
	// runs of underscores; both default to true and matter only when names
	// are escaped.
	LabelNameUnderscoreSanitization      bool `yaml:"label_name_underscore_sanitization"`
	LabelNamePreserveMultipleUnderscores bool `yaml:"label_name_preserve_multiple_underscores"`
}

// The OTLP translation strategies.
const (
	UnderscoreEscapingWithSuffixes    = "UnderscoreEscapingWithSuffixes"
	UnderscoreEscapingWithoutSuffixes = "UnderscoreEscapingWithoutSuffixes"
	NoUTF8EscapingWithSuffixes        = "NoUTF8EscapingWithSuffixes"
	NoTranslation                     = "NoTranslation"
)

func defaultOTLP() OTLP {
	return OTLP{
		TranslationStrategy:                  UnderscoreEscapingWithSuffixes,
		LabelNameUnderscoreSanitization:      true,
		LabelNamePreserveMultipleUnderscores: true,
	}
}
