// Package probe is the probe integration and the prober behind argus's
// /probe endpoint: black-box probes in the manner of blackbox_exporter
// 0.23, whose metric names, types and labels it reports (probe_success,
// probe_duration_seconds, probe_http_*, probe_ssl_*, probe_tls_version_info,
// probe_dns_*, probe_icmp_*, probe_grpc_*, probe_ip_protocol, ...), so that its
// dashboards and alert rules apply unchanged.
//
// Run probes one target with one config.ProbeModule: an http probe (status,
// redirects, body regexps, TLS and certificate expiry, time by phase), a
// tcp probe (connect, a TLS handshake, a query_response dialogue with
// STARTTLS), a dns probe (one question over UDP, TCP or TLS, its response
// code and records checked), an icmp probe (one echo request, over an
// unprivileged ICMP socket where the kernel allows one, else a raw one) or
// a grpc probe (the standard health check, plain or over TLS). A
// failed probe is a result, probe_success 0, not an error: as with
// blackbox_exporter, the scrape itself succeeds. New returns the
// integration.Collector of a probe integration, which runs one probe per
// collection.
//
// Every probe makes its own connections and sockets and shares nothing,
// so probes may run concurrently. The package imports internal/config and
// internal/integration.
package probe
