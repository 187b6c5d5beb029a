// Package redis is the Redis integration: it speaks RESP itself (AUTH with
// an optional ACL user name, then INFO ALL, a few CONFIG GETs and the slow
// log's length and last entry, pipelined on one pooled connection, over
// TCP, TLS or a unix socket) and reports the metric and label names of
// oliver006/redis_exporter 1.45, the version Debian packages, so its
// dashboards and alert rules apply unchanged. docs/integrations.md lists
// what the exporter has and this package does not.
//
// New returns an integration.Collector; it is safe for concurrent use. The
// package imports internal/integration only.
package redis
