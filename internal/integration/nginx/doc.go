// Package nginx is the nginx integration. It reads nginx's stub_status page
// over HTTP or HTTPS and reports it with the metric names of
// nginxinc/nginx-prometheus-exporter 0.11 (nginx_up, nginx_connections_*,
// nginx_http_requests_total), so its dashboards and alert rules apply
// unchanged. When an access log in the format documented in
// docs/integrations.md is configured, it also tails that log and reports
// per-request metrics (a duration histogram, bytes sent, upstream time) by
// server name, location and status class, which stub_status lacks.
//
// New returns an integration.Collector, safe for concurrent use: stub_status
// reads share a bounded HTTP connection pool, and the log tailer reads under
// a lock, a bounded amount per collection. The package imports
// internal/integration only.
package nginx
