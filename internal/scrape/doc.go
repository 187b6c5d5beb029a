// Package scrape pulls metrics from targets the way Prometheus does: a Manager
// holds one pool per scrape job; a pool turns the target groups of its
// discovery providers into targets (relabel_configs, target_limit) and runs one
// loop per target; a loop scrapes on a stable per-target offset, parses the
// Prometheus text or OpenMetrics exposition (upstream model/textparse), applies
// honor_labels and metric_relabel_configs and the sample and label limits,
// appends through the Appender interface, and writes the report series (up,
// scrape_duration_seconds, ...) and staleness markers exactly when Prometheus
// writes them: for series gone from a scrape, for every series of a target two
// intervals after it disappears, and never on shutdown.
//
// Concurrency: Manager methods are safe for concurrent use; every goroutine
// (providers, pools, loops) is owned by Manager.Run and stopped when its
// context ends or the job is removed.
//
// Imports: internal/config, internal/discovery.
package scrape
