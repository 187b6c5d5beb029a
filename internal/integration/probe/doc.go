// Package probe is the probe integration and the prober behind argus's
// /probe endpoint: black-box probes in the manner of blackbox_exporter
// 0.23, whose metric names, types and labels it reports (probe_success,
// probe_duration_seconds, probe_http_*, probe_ssl_*, probe_tls_version_info,
// probe_ip_protocol, probe_dns_lookup_time_seconds, ...), so that its
// dashboards and alert rules apply unchanged.
//
// Run probes one target with one config.ProbeModule: an http probe (status,
// redirects, body regexps, TLS and certificate expiry, time by phase) or a
// tcp probe (connect, optionally a TLS handshake). A failed probe is a
// result, probe_success 0, not an error: as with blackbox_exporter, the
// scrape itself succeeds. New returns the integration.Collector of a probe
// integration, which runs one probe per collection.
//
// Every probe makes its own connections and shares nothing, so probes may
// run concurrently. The package imports internal/config and
// internal/integration.
package probe
