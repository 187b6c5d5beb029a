// Package rabbitmq is the RabbitMQ integration: it reads the management
// plugin's HTTP API (GET /api/overview, /api/nodes and /api/queues in
// pages of 500, each with only the columns it needs) and reports
// the metric and label names of RabbitMQ's own rabbitmq_prometheus plugin
// (its /metrics/per-object endpoint, RabbitMQ 3.10 as Debian packages it,
// plus the rabbitmq_alarms_* gauges of 3.11), so that the plugin's
// dashboards and alert rules apply to a broker that has only the
// management plugin. docs/integrations.md lists every difference.
//
// New returns an integration.Collector; it is safe for concurrent use and
// keeps at most two connections. The package imports internal/integration
// only.
package rabbitmq
