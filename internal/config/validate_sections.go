package config

import (
	"net/url"
	"regexp"
	"strings"

	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
)

func (v *validator) scrapeJobs() {
	firstJob := map[string]string{} // job name -> path of its first job_name
	for i, s := range v.c.ScrapeConfigs {
		p := indexPath("scrape_configs", i)
		if s == nil {
			v.errorf(p, "empty or null scrape config section")
			continue
		}
		if s.JobName == "" {
			v.errorf(joinPath(p, "job_name"), "job_name is empty")
		} else if first, dup := firstJob[s.JobName]; dup {
			v.errorf(joinPath(p, "job_name"), "found multiple scrape configs with job name %q, first at %s", s.JobName, v.where(first))
		} else {
			firstJob[s.JobName] = joinPath(p, "job_name")
		}
		v.scrape(p, s)
	}
}

func (v *validator) scrape(p string, s *Scrape) {
	v.positive(joinPath(p, "scrape_interval"), s.ScrapeInterval)
	v.positive(joinPath(p, "scrape_timeout"), s.ScrapeTimeout)
	if s.ScrapeTimeout > s.ScrapeInterval {
		v.errorf(joinPath(p, "scrape_timeout"), "scrape timeout %v greater than scrape interval %v for scrape config with job name %q",
			s.ScrapeTimeout, s.ScrapeInterval, s.JobName)
	}
	v.scrapeProtocols(joinPath(p, "scrape_protocols"), s.ScrapeProtocols)
	if s.FallbackScrapeProtocol != "" && s.FallbackScrapeProtocol.MediaType() == "" {
		v.errorf(joinPath(p, "fallback_scrape_protocol"), "unknown scrape protocol %q, supported: %s", s.FallbackScrapeProtocol, knownScrapeProtocols())
	}
	v.urlScheme(joinPath(p, "scheme"), s.Scheme)
	if s.BodySizeLimit < 0 {
		v.errorf(joinPath(p, "body_size_limit"), "must not be negative")
	}
	scheme, ok := v.validationScheme(joinPath(p, "metric_name_validation_scheme"), s.MetricNameValidationScheme)
	// A contradiction inherited from global is reported there.
	v.escaping(joinPath(p, "metric_name_escaping_scheme"), s.MetricNameEscapingScheme, scheme, ok && !s.namingFromGlobal)
	v.httpClient(p, &s.HTTPClientConfig)
	v.targets(p, s.StaticConfigs, len(s.RelabelConfigs) > 0, scheme)
	v.fileSD(joinPath(p, "file_sd_configs"), s.FileSDConfigs)
	v.httpSD(joinPath(p, "http_sd_configs"), s.HTTPSDConfigs)
	v.relabels(joinPath(p, "relabel_configs"), s.RelabelConfigs, scheme)
	v.relabels(joinPath(p, "metric_relabel_configs"), s.MetricRelabelConfigs, scheme)
}

// urlScheme checks a URL scheme. Prometheus accepts anything and fails at
// scrape time; argus says so at load time.
func (v *validator) urlScheme(path, s string) {
	if s != "http" && s != "https" {
		v.errorf(path, "scheme must be http or https, got %q", s)
	}
}

// targets checks static_configs. Without relabeling, a target is used as
// host:port as written, so a URL there is a mistake worth catching.
func (v *validator) targets(p string, groups []TargetGroup, relabeled bool, scheme model.ValidationScheme) {
	p = joinPath(p, "static_configs")
	for i, g := range groups {
		gp := indexPath(p, i)
		for j, t := range g.Targets {
			if !relabeled && strings.Contains(t, "/") {
				v.errorf(indexPath(joinPath(gp, "targets"), j), "%q is not a valid hostname", t)
			}
		}
		v.labelSet(joinPath(gp, "labels"), g.Labels, scheme)
	}
}

// patFileSD is the shape of file_sd_configs files: a * only in the last
// path element, and a JSON or YAML extension.
var patFileSD = regexp.MustCompile(`^[^*]*(\*[^/]*)?\.(json|yml|yaml|JSON|YML|YAML)$`)

func (v *validator) fileSD(p string, sds []*FileSD) {
	for i, sd := range sds {
		ip := indexPath(p, i)
		if sd == nil {
			v.errorf(ip, "empty or null file_sd_configs entry")
			continue
		}
		if len(sd.Files) == 0 {
			v.errorf(joinPath(ip, "files"), "file service discovery config must contain at least one path name")
		}
		for j, f := range sd.Files {
			if !patFileSD.MatchString(f) {
				v.errorf(indexPath(joinPath(ip, "files"), j), "path name %q is not valid for file discovery: want a .json, .yml or .yaml file, with a * only in the last path element", f)
			}
		}
		v.positive(joinPath(ip, "refresh_interval"), sd.RefreshInterval)
	}
}

func (v *validator) httpSD(p string, sds []*HTTPSD) {
	for i, sd := range sds {
		ip := indexPath(p, i)
		if sd == nil {
			v.errorf(ip, "empty or null http_sd_configs entry")
			continue
		}
		v.httpURL(joinPath(ip, "url"), sd.URL)
		v.positive(joinPath(ip, "refresh_interval"), sd.RefreshInterval)
		v.httpClient(ip, &sd.HTTPClientConfig)
	}
}

func (v *validator) httpURL(p, raw string) {
	if raw == "" {
		v.errorf(p, "URL is missing")
		return
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		v.add(p, err)
	case u.Scheme != "http" && u.Scheme != "https":
		v.errorf(p, "URL scheme must be 'http' or 'https'")
	case u.Host == "":
		v.errorf(p, "host is missing in URL")
	}
}

func (v *validator) alerting(a *Alerting) {
	scheme := v.scheme
	v.relabels("alerting.alert_relabel_configs", a.AlertRelabelConfigs, scheme)
	for i, am := range a.Alertmanagers {
		p := indexPath("alerting.alertmanagers", i)
		if am == nil {
			v.errorf(p, "empty or null alertmanagers entry")
			continue
		}
		v.urlScheme(joinPath(p, "scheme"), am.Scheme)
		v.positive(joinPath(p, "timeout"), am.Timeout)
		if am.APIVersion != AlertmanagerAPIv2 {
			v.errorf(joinPath(p, "api_version"), "expected Alertmanager api version to be one of [v2] but got %q", am.APIVersion)
		}
		v.httpClient(p, &am.HTTPClientConfig)
		v.targets(p, am.StaticConfigs, len(am.RelabelConfigs) > 0, scheme)
		v.fileSD(joinPath(p, "file_sd_configs"), am.FileSDConfigs)
		v.httpSD(joinPath(p, "http_sd_configs"), am.HTTPSDConfigs)
		v.relabels(joinPath(p, "relabel_configs"), am.RelabelConfigs, scheme)
		v.relabels(joinPath(p, "alert_relabel_configs"), am.AlertRelabelConfigs, scheme)
	}
}

const remoteAuthzHint = "authorization header must be changed via the basic_auth, authorization or oauth2 parameter"

func (v *validator) remoteWrites() {
	names := map[string]string{}
	for i, rw := range v.c.RemoteWrite {
		p := indexPath("remote_write", i)
		if rw == nil {
			v.errorf(p, "empty or null remote write config section")
			continue
		}
		v.remoteName(names, p, rw.Name, "remote write")
		if rw.URL == nil || rw.URL.URL == nil {
			v.errorf(joinPath(p, "url"), "url for remote_write is empty")
		}
		v.headers(joinPath(p, "headers"), rw.Headers, remoteAuthzHint)
		if rw.ProtobufMessage != RemoteWriteV1 && rw.ProtobufMessage != RemoteWriteV2 {
			v.errorf(joinPath(p, "protobuf_message"), "unknown type for remote write protobuf message %s, supported: %s, %s",
				rw.ProtobufMessage, RemoteWriteV1, RemoteWriteV2)
		}
		v.httpClient(p, &rw.HTTPClientConfig)
		v.queue(joinPath(p, "queue_config"), &rw.QueueConfig)
		v.relabels(joinPath(p, "write_relabel_configs"), rw.WriteRelabelConfigs, v.scheme)
	}
}

// remoteName checks that a non-empty endpoint name is unique; unnamed
// endpoints are told apart by a hash of their config.
func (v *validator) remoteName(seen map[string]string, p, name, what string) {
	if name == "" {
		return
	}
	np := joinPath(p, "name")
	if first, dup := seen[name]; dup {
		v.errorf(np, "found multiple %s configs with name %q, first at %s", what, name, v.where(first))
		return
	}
	seen[name] = np
}

func (v *validator) queue(p string, q *Queue) {
	if q.MaxShards <= 0 {
		v.errorf(joinPath(p, "max_shards"), "remote write queue max_shards must be positive")
	}
	if q.MinShards <= 0 {
		v.errorf(joinPath(p, "min_shards"), "remote write queue min_shards must be positive")
	}
	if q.MinShards > q.MaxShards {
		v.errorf(joinPath(p, "min_shards"), "remote write queue min_shards must not be greater than max_shards")
	}
	if q.MaxSamplesPerSend <= 0 {
		v.errorf(joinPath(p, "max_samples_per_send"), "remote write queue max_samples_per_send must be positive")
	}
	if q.Capacity <= 0 {
		v.errorf(joinPath(p, "capacity"), "remote write queue capacity must be positive")
	}
	if q.MaxBackoff < q.MinBackoff {
		v.errorf(joinPath(p, "max_backoff"), "remote write queue max_backoff must not be less than min_backoff")
	}
}

func (v *validator) remoteReads() {
	names := map[string]string{}
	for i, rr := range v.c.RemoteRead {
		p := indexPath("remote_read", i)
		if rr == nil {
			v.errorf(p, "empty or null remote read config section")
			continue
		}
		v.remoteName(names, p, rr.Name, "remote read")
		if rr.URL == nil || rr.URL.URL == nil {
			v.errorf(joinPath(p, "url"), "url for remote_read is empty")
		}
		v.headers(joinPath(p, "headers"), rr.Headers, remoteAuthzHint)
		v.httpClient(p, &rr.HTTPClientConfig)
		v.labelSet(joinPath(p, "required_matchers"), rr.RequiredMatchers, v.scheme)
	}
}

func (v *validator) storage(s *Storage) {
	t := &s.TSDB
	switch t.ChunkEncoding.Floats {
	case "", FloatChunkEncodingXOR, FloatChunkEncodingXOR2:
	default:
		v.errorf("storage.tsdb.chunk_encoding.floats", "must be 'xor' or 'xor2', or the field must be omitted entirely, got %q", t.ChunkEncoding.Floats)
	}
	if t.StaleSeriesCompactionThreshold < 0 || t.StaleSeriesCompactionThreshold > 1 {
		v.errorf("storage.tsdb.stale_series_compaction_threshold", "must be in the range [0, 1], got %v", t.StaleSeriesCompactionThreshold)
	}
	if t.Retention.Size < 0 {
		v.errorf("storage.tsdb.retention.size", "must be greater than or equal to 0, got %v", t.Retention.Size)
	}
	if t.Retention.Percentage < 0 || t.Retention.Percentage > 100 {
		v.errorf("storage.tsdb.retention.percentage", "must be in the range [0, 100], got %v", t.Retention.Percentage)
	}
	v.positive("storage.tsdb.wal_sync_interval", t.WALSyncInterval)
}

func (v *validator) tracing(t *Tracing) {
	if t.Endpoint == "" {
		// Tracing is off; settings without an endpoint are a mistake.
		if t.SamplingFraction != 0 || t.Insecure || t.Compression != "" || t.Timeout != 0 || len(t.Headers) > 0 ||
			(t.ClientType != "" && t.ClientType != TracingGRPC) || t.TLSConfig != (commoncfg.TLSConfig{}) {
			v.errorf("tracing.endpoint", "tracing endpoint must be set")
		}
	}
	if t.ClientType != TracingGRPC && t.ClientType != TracingHTTP {
		v.errorf("tracing.client_type", "expected tracing client type to be grpc or http, got %q", t.ClientType)
	}
	if t.Compression != "" && t.Compression != "gzip" {
		v.errorf("tracing.compression", "invalid compression type %s provided, valid options: gzip", t.Compression)
	}
	v.headers("tracing.headers", t.Headers, "custom authorization header configuration is not yet supported")
	if err := t.TLSConfig.Validate(); err != nil {
		v.add("tracing.tls_config", err)
	}
}

func (v *validator) otlp(o *OTLP) {
	switch o.TranslationStrategy {
	case UnderscoreEscapingWithSuffixes, UnderscoreEscapingWithoutSuffixes:
	case NoTranslation, NoUTF8EscapingWithSuffixes:
		if v.c.Global.MetricNameValidationScheme == model.LegacyValidation {
			v.errorf("otlp.translation_strategy", "OTLP translation strategy %q is not allowed when UTF8 is disabled", o.TranslationStrategy)
		}
	default:
		v.errorf("otlp.translation_strategy", "unsupported OTLP translation strategy %q", o.TranslationStrategy)
	}
	if o.PromoteAllResourceAttributes {
		if len(o.PromoteResourceAttributes) > 0 {
			v.errorf("otlp.promote_resource_attributes", "'promote_all_resource_attributes' and 'promote_resource_attributes' cannot be configured simultaneously")
		}
		v.attributes("otlp.ignore_resource_attributes", o.IgnoreResourceAttributes, "ignored")
	} else {
		if len(o.IgnoreResourceAttributes) > 0 {
			v.errorf("otlp.ignore_resource_attributes", "'ignore_resource_attributes' cannot be configured unless 'promote_all_resource_attributes' is true")
		}
		v.attributes("otlp.promote_resource_attributes", o.PromoteResourceAttributes, "promoted")
	}
}

// attributes trims OTel resource attribute names and checks they are
// non-empty and unique.
func (v *validator) attributes(p string, attrs []string, adjective string) {
	seen := map[string]bool{}
	for i, a := range attrs {
		a = strings.TrimSpace(a)
		attrs[i] = a
		switch {
		case a == "":
			v.errorf(indexPath(p, i), "empty %s OTel resource attribute", adjective)
		case seen[a]:
			v.errorf(indexPath(p, i), "duplicated %s OTel resource attribute %q", adjective, a)
		}
		seen[a] = true
	}
}
