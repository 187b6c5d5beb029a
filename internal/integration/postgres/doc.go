// Package postgres is the PostgreSQL integration (PostgreSQL 12 and
// newer): it runs read-only queries on the statistics views (through
// pgx, on pooled connections, with the simple query protocol so that a
// connection pooler in front of the server is no obstacle) and reports the
// metric and label names of prometheus-community/postgres_exporter 0.11.1,
// the version Debian packages, with its default metrics and the two
// queries of its example queries.yaml that dashboards use
// (pg_replication_lag, pg_postmaster_start_time_seconds).
// docs/integrations.md lists every difference.
//
// New returns an integration.Collector; it is safe for concurrent use and
// keeps at most two connections. The package imports internal/integration
// only.
package postgres
