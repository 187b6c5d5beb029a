package config

import (
	"time"

	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/relabel"
)

// RemoteWrite is one item of remote_write: an endpoint every ingested
// sample is forwarded to.
type RemoteWrite struct {
	// URL is the endpoint; required.
	URL *commoncfg.URL `yaml:"url"`
	// RemoteTimeout bounds one request; default 30s.
	RemoteTimeout model.Duration `yaml:"remote_timeout"`
	// Headers are added to every request; reserved headers are refused.
	Headers map[string]string `yaml:"headers,omitempty"`
	// WriteRelabelConfigs choose and rewrite the series sent.
	WriteRelabelConfigs []*relabel.Config `yaml:"write_relabel_configs,omitempty"`
	// Name identifies the endpoint in metrics and logs; unique if set.
	Name                 string `yaml:"name,omitempty"`
	SendExemplars        bool   `yaml:"send_exemplars,omitempty"`
	SendNativeHistograms bool   `yaml:"send_native_histograms,omitempty"`
	// RoundRobinDNS spreads requests over all addresses of the host.
	RoundRobinDNS bool `yaml:"round_robin_dns,omitempty"`
	// ProtobufMessage is prometheus.WriteRequest (remote write 1.0, the
	// default) or io.prometheus.write.v2.Request (2.0).
	ProtobufMessage string `yaml:"protobuf_message"`
	// FailedRequestLogging logs the body of failed 2.0 requests.
	FailedRequestLogging bool `yaml:"failed_request_logging,omitempty"`
	// ConvertNHCBToClassic sends native histograms with custom buckets as
	// classic histograms, for receivers that lack them.
	ConvertNHCBToClassic bool `yaml:"convert_nhcb_to_classic,omitempty"`

	// HTTPClientConfig: note that unlike scrapes, remote write defaults to
	// HTTP/1.1 (enable_http2: false), as Prometheus does.
	HTTPClientConfig commoncfg.HTTPClientConfig `yaml:",inline"`
	QueueConfig      Queue                      `yaml:"queue_config"`
	MetadataConfig   Metadata                   `yaml:"metadata_config"`
}

// The remote write protobuf messages.
const (
	RemoteWriteV1 = "prometheus.WriteRequest"
	RemoteWriteV2 = "io.prometheus.write.v2.Request"
)

func (r *RemoteWrite) setDefaults() {
	hc := commoncfg.DefaultHTTPClientConfig
	hc.EnableHTTP2 = false
	*r = RemoteWrite{
		RemoteTimeout:    model.Duration(30 * time.Second),
		ProtobufMessage:  RemoteWriteV1,
		HTTPClientConfig: hc,
		QueueConfig: Queue{
			// 50 shards of 2000 samples at ~100ms per request push about
			// 1M samples/s; each shard buffers up to Capacity samples.
			Capacity:          10000,
			MaxShards:         50,
			MinShards:         1,
			MaxSamplesPerSend: 2000,
			BatchSendDeadline: model.Duration(5 * time.Second),
			MinBackoff:        model.Duration(30 * time.Millisecond),
			MaxBackoff:        model.Duration(5 * time.Second),
		},
		MetadataConfig: Metadata{
			Send:              true,
			SendInterval:      model.Duration(time.Minute),
			MaxSamplesPerSend: 2000,
		},
	}
}

// rejectKey refuses cloud-provider request signing.
func (r *RemoteWrite) rejectKey(key string) string {
	switch key {
	case "sigv4", "azuread", "google_iam":
		return notSupportedAuth
	}
	return ""
}

// Queue tunes the sharded queue behind a remote write endpoint.
type Queue struct {
	// Capacity is the number of samples buffered per shard.
	Capacity          int            `yaml:"capacity"`
	MaxShards         int            `yaml:"max_shards"`
	MinShards         int            `yaml:"min_shards"`
	MaxSamplesPerSend int            `yaml:"max_samples_per_send"`
	BatchSendDeadline model.Duration `yaml:"batch_send_deadline"`
	// MinBackoff and MaxBackoff bound the exponential retry delay.
	MinBackoff model.Duration `yaml:"min_backoff"`
	MaxBackoff model.Duration `yaml:"max_backoff"`
	// RetryOnRateLimit retries requests answered with HTTP 429.
	RetryOnRateLimit bool `yaml:"retry_on_http_429,omitempty"`
	// SampleAgeLimit drops samples older than this; 0 means never.
	SampleAgeLimit model.Duration `yaml:"sample_age_limit,omitempty"`
}

// Metadata controls sending metric metadata (type, help, unit).
type Metadata struct {
	// Send defaults to true.
	Send bool `yaml:"send"`
	// SendInterval defaults to 1m.
	SendInterval      model.Duration `yaml:"send_interval"`
	MaxSamplesPerSend int            `yaml:"max_samples_per_send,omitempty"`
}

// RemoteRead is one item of remote_read: an endpoint queries also read
// from.
type RemoteRead struct {
	// URL is the endpoint; required.
	URL *commoncfg.URL `yaml:"url"`
	// RemoteTimeout bounds one request; default 1m.
	RemoteTimeout model.Duration `yaml:"remote_timeout"`
	// ChunkedReadLimit caps one streamed response frame, in bytes; default
	// 50MB (about 100k full XOR chunks).
	ChunkedReadLimit uint64            `yaml:"chunked_read_limit"`
	Headers          map[string]string `yaml:"headers,omitempty"`
	// ReadRecent also reads time ranges local storage has complete data
	// for.
	ReadRecent bool   `yaml:"read_recent,omitempty"`
	Name       string `yaml:"name,omitempty"`

	HTTPClientConfig commoncfg.HTTPClientConfig `yaml:",inline"`

	// RequiredMatchers are equality matchers a query's selectors must
	// include for this endpoint to be asked.
	RequiredMatchers model.LabelSet `yaml:"required_matchers,omitempty"`
	// FilterExternalLabels adds the external labels as matchers; default
	// true.
	FilterExternalLabels bool `yaml:"filter_external_labels"`
}

func (r *RemoteRead) setDefaults() {
	*r = RemoteRead{
		RemoteTimeout:        model.Duration(time.Minute),
		ChunkedReadLimit:     50e6,
		HTTPClientConfig:     commoncfg.DefaultHTTPClientConfig,
		FilterExternalLabels: true,
	}
}
