// Package memcached is the memcached integration: it reads a server's
// statistics over memcached's text protocol (stats, stats settings, stats
// slabs and stats items, pipelined on one pooled connection, over TCP, TLS
// or a unix socket) and reports them with the metric and label names of
// prometheus/memcached_exporter 0.15, so its dashboards and alert rules
// apply unchanged. docs/integrations.md lists the differences.
//
// New returns an integration.Collector; it is safe for concurrent use. The
// package imports internal/integration only.
package memcached
