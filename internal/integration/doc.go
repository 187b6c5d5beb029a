// Package integration reads metrics from servers in their own protocols,
// so that no exporter needs installing: each configured integration (the
// config's integrations section) becomes an Instance, a
// prometheus.Gatherer that the server runs as a scrape job (job=<name>,
// instance=<address>) and serves at /metrics/integrations/<name>.
//
// A type (memcached, redis, ...) lives in a sub-package and implements
// Collector; it is handed a Target (where to connect, how to authenticate)
// and a Pool of connections to it. The Instance adds what every type needs:
// the per-instance timeout, a CollectError that tells the scrape loop the
// target is down while keeping the type's own <type>_up 0 series, the
// redaction of credentials from errors, and logging when an instance goes
// down or comes back.
//
// Concurrency: an Instance may be gathered concurrently (the scrape loop and
// an outside Prometheus); its Pool bounds the connections to the server, and
// instances share nothing, so a slow server delays only its own instance.
//
// The package imports internal/config only; type packages import it.
package integration
