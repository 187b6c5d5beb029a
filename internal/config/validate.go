package config

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/relabel"
)

// Validate checks c against Prometheus's rules (plus argus's own) and
// returns every problem found, each an *Error naming the key path and,
// for configs read from a file, the file and line.
//
// Validate expects the derived values Parse and LoadFile fill in (job
// settings inherited from global, resolved validation schemes). Like the
// upstream validators it calls, it normalises a few fields in place: a
// bearer_token becomes an authorization, relabel rules record the name
// validation scheme, OTLP attribute names are trimmed.
func (c *Config) Validate() error {
	errs := c.validate()
	if len(errs) == 0 {
		return nil
	}
	return joinErrors(errs)
}

func (c *Config) validate() []*Error {
	v := &validator{c: c}
	v.global(&c.Global)
	v.runtime(&c.Runtime)
	v.filePatterns("rule_files", c.RuleFiles, "rule file")
	v.filePatterns("scrape_config_files", c.ScrapeConfigFiles, "scrape config file")
	v.scrapeJobs()
	v.alerting(&c.Alerting)
	v.remoteWrites()
	v.remoteReads()
	v.storage(&c.Storage)
	v.tracing(&c.Tracing)
	v.otlp(&c.OTLP)
	v.collectors(&c.Collectors)
	v.integrations()
	v.apps()
	v.dashboards(&c.Dashboards)
	v.dataSources()
	v.state(&c.State)
	v.auth(&c.Auth)
	return v.errs
}

type validator struct {
	c    *Config
	errs []*Error
	// scheme is the global name validation scheme, or utf8 if that is
	// unusable (and reported).
	scheme model.ValidationScheme
}

// errorf records a problem at path, locating it through the positions the
// decoder recorded.
func (v *validator) errorf(path, format string, args ...any) {
	v.add(path, fmt.Errorf(format, args...))
}

func (v *validator) add(path string, err error) {
	e := &Error{File: v.c.file, Path: path, Err: err}
	if pos, shown, ok := v.c.pos.find(path); ok {
		e.File, e.Line, e.Path = pos.file, pos.line, shown
	}
	v.errs = append(v.errs, e)
}

// where describes the position of path for messages that point at a
// second place, such as the first of two duplicates.
func (v *validator) where(path string) string {
	pos, _, ok := v.c.pos.find(path)
	if !ok {
		return path
	}
	return fmt.Sprintf("%s:%d", pos.file, pos.line)
}

// validationScheme returns s if usable, else reports it and returns utf8:
// the upstream validators panic on an unset scheme.
func (v *validator) validationScheme(path string, s model.ValidationScheme) (model.ValidationScheme, bool) {
	switch s {
	case model.LegacyValidation, model.UTF8Validation:
		return s, true
	}
	v.errorf(path, "must be legacy or utf8")
	return model.UTF8Validation, false
}

func (v *validator) global(g *Global) {
	v.positive("global.scrape_interval", g.ScrapeInterval)
	v.positive("global.scrape_timeout", g.ScrapeTimeout)
	v.positive("global.evaluation_interval", g.EvaluationInterval)
	if g.ScrapeTimeout > g.ScrapeInterval {
		v.errorf("global.scrape_timeout", "scrape timeout %v greater than scrape interval %v", g.ScrapeTimeout, g.ScrapeInterval)
	}
	if g.ScrapeProtocols != nil {
		v.scrapeProtocols("global.scrape_protocols", g.ScrapeProtocols)
	}
	if g.BodySizeLimit < 0 {
		v.errorf("global.body_size_limit", "must not be negative")
	}
	scheme, ok := v.validationScheme("global.metric_name_validation_scheme", g.MetricNameValidationScheme)
	v.scheme = scheme
	v.escaping("global.metric_name_escaping_scheme", g.MetricNameEscapingScheme, scheme, ok)
	v.labelSet("global.external_labels", g.ExternalLabels, scheme)
}

// escaping checks an escaping scheme and that it fits the validation
// scheme: asking targets for UTF-8 names makes no sense when they would be
// refused.
func (v *validator) escaping(path, escaping string, scheme model.ValidationScheme, checkFit bool) {
	switch escaping {
	case model.AllowUTF8:
		if checkFit && scheme != model.UTF8Validation {
			v.errorf(path, "utf8 metric names requested but validation scheme is not set to UTF8")
		}
	case model.EscapeUnderscores, model.EscapeDots, model.EscapeValues:
	default:
		v.errorf(path, "unknown name escaping scheme %q, must be one of %s, %s, %s or %s",
			escaping, model.AllowUTF8, model.EscapeUnderscores, model.EscapeDots, model.EscapeValues)
	}
}

func (v *validator) positive(path string, d model.Duration) {
	if d <= 0 {
		v.errorf(path, "must be greater than 0")
	}
}

func (v *validator) scrapeProtocols(path string, ps []ScrapeProtocol) {
	if len(ps) == 0 {
		v.errorf(path, "scrape_protocols cannot be empty")
		return
	}
	seen := map[string]int{}
	for i, p := range ps {
		if p.MediaType() == "" {
			v.errorf(indexPath(path, i), "unknown scrape protocol %q, supported: %s", p, knownScrapeProtocols())
		}
		key := strings.ToLower(string(p))
		if j, dup := seen[key]; dup {
			v.errorf(indexPath(path, i), "duplicated protocol %q in scrape_protocols (also at index %d)", p, j)
		}
		seen[key] = i
	}
}

// labelSet checks label names against the validation scheme and that
// values are UTF-8.
func (v *validator) labelSet(path string, ls model.LabelSet, scheme model.ValidationScheme) {
	names := make([]string, 0, len(ls))
	for name := range ls {
		names = append(names, string(name))
	}
	sort.Strings(names)
	for _, name := range names {
		p := joinPath(path, name)
		if !scheme.IsValidLabelName(name) {
			v.errorf(p, "%q is not a valid label name", name)
		}
		if value := ls[model.LabelName(name)]; !utf8.ValidString(string(value)) {
			v.errorf(p, "%q is not a valid label value", value)
		}
	}
}

func (v *validator) runtime(r *Runtime) {
	switch r.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		v.errorf("runtime.log_level", "unknown log level %q, must be debug, info, warn or error", r.LogLevel)
	}
}

// patFilePath is the shape Prometheus allows for rule_files and
// scrape_config_files: a * only in the last path element.
var patFilePath = regexp.MustCompile(`^[^*]*(\*[^/]*)?$`)

func (v *validator) filePatterns(path string, patterns []string, what string) {
	for i, p := range patterns {
		if !patFilePath.MatchString(p) {
			v.errorf(indexPath(path, i), "invalid %s path %q: a * may only appear in the last path element", what, p)
		}
	}
}

// relabels checks relabel rules with the upstream validator.
func (v *validator) relabels(path string, rules []*relabel.Config, scheme model.ValidationScheme) {
	for i, r := range rules {
		p := indexPath(path, i)
		if r == nil {
			v.errorf(p, "empty or null relabeling rule")
			continue
		}
		if err := r.Validate(scheme); err != nil {
			v.add(p, err)
		}
	}
}

// httpClient checks an HTTP client config with the upstream validator,
// which also moves bearer_token into authorization.
func (v *validator) httpClient(path string, hc *commoncfg.HTTPClientConfig) {
	if err := hc.Validate(); err != nil {
		v.add(path, err)
	}
	if err := hc.TLSConfig.Validate(); err != nil {
		v.add(joinPath(path, "tls_config"), err)
	}
}

// reservedHeaders are set by the remote read/write protocols or the HTTP
// stack and may not be overridden from the config.
var reservedHeaders = map[string]bool{
	"host": true, "content-encoding": true, "content-length": true, "content-type": true,
	"user-agent": true, "connection": true, "keep-alive": true, "proxy-authenticate": true,
	"proxy-authorization": true, "www-authenticate": true, "accept-encoding": true,
	"x-prometheus-remote-write-version": true, "x-prometheus-remote-read-version": true,
	"x-amz-date": true, "x-amz-security-token": true, "x-amz-content-sha256": true,
}

// headers checks custom headers; authz explains how to set Authorization
// instead.
func (v *validator) headers(path string, h map[string]string, authz string) {
	for _, name := range sortedKeys(h) {
		lower := strings.ToLower(name)
		switch {
		case lower == "authorization":
			v.errorf(joinPath(path, name), "%s", authz)
		case reservedHeaders[lower]:
			v.errorf(joinPath(path, name), "%s is a reserved header. It must not be changed", name)
		}
	}
}

// sortedKeys returns the keys of m in order, for deterministic errors.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
