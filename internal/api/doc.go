// Package api serves the Prometheus HTTP API v1 (/api/v1/...) and /federate
// over argus's storage and scrape manager, with Prometheus 3.x's JSON shapes,
// error types ("bad_data", "execution", "internal", "unavailable",
// "not_found", ...) and status codes, so Grafana, promtool and the
// client_golang API client work against argus unchanged.
//
// API is built by New from Options and installs its routes on a
// net/http.ServeMux with Register. It reads through consumer-side
// interfaces: the upstream storage.Queryable for series and labels,
// TargetSource for scrape targets and metadata, TSDB for the storage's
// status and snapshots, and QueryEngine for the PromQL endpoints
// /api/v1/query and /api/v1/query_range, which answer "unavailable" until an
// engine is given.
//
// Concurrency: an API is safe for concurrent use; it holds no state of its
// own beyond its options.
//
// Imports: internal/config, internal/scrape and internal/rules (read-only
// views), the upstream storage interfaces and promql/parser (never the
// upstream promql engine).
package api
