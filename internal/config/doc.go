// Package config defines argus's configuration: one YAML file whose
// top-level keys are those of Prometheus 3's prometheus.yml (global,
// runtime, rule_files, scrape_config_files, scrape_configs, alerting,
// remote_write, remote_read, storage, tracing, otlp), so that any
// prometheus.yml loads unchanged, with Prometheus's defaults and checks,
// plus argus's own sections (collectors, integrations, alertmanager, apps
// and apps_dir).
// LoadAppFile reads one drop-in app file of apps_dir.
//
// Config is the typed tree; each component receives only its section
// (Storage for the tsdb, []*Scrape for scraping, ...). Default returns the
// config used when there is no file. Parse and LoadFile decode strictly:
// unknown keys, Prometheus features argus lacks (kubernetes_sd_configs and
// other service discovery, sigv4...) and bad values are errors of type
// *Error that name the file, line and key path, for example
//
//	argus.yml:12: scrape_configs[1].scrape_interval: unknown unit "x" in duration "5x"
//	argus.yml:3: global.scrape_intervall: unknown key (did you mean scrape_interval?)
//
// Every problem is reported in one run, in file order. Decoding walks the
// yaml.Node tree field by field (decode.go) rather than relying on
// yaml.v3's KnownFields, whose errors lose their line as soon as a custom
// unmarshaler is involved. Validation afterwards looks the line of a key
// path up in a table the decoder filled.
//
// A Config is not safe for concurrent mutation; after loading, treat it as
// read-only and share it freely. Reload builds a new one.
//
// This package imports no other argus package.
package config
