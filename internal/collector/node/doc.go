// Package node collects host metrics from procfs, sysfs and a few system
// calls, under node_exporter's exact metric names, label names, label values,
// types and HELP texts (as of node_exporter 1.5, default collectors on Linux),
// so existing node_exporter dashboards and alert rules work unchanged.
//
// The main type is Collector, a prometheus.Collector built by New from
// Options. Each Collect runs every sub-collector (cpu, meminfo, filesystem,
// diskstats, netdev, ...) in turn; a failing sub-collector (missing file,
// permission) costs only its own metrics and is reported through
// node_scrape_collector_success{collector="..."}, as node_exporter does.
// docs/node-collector.md lists what argus deliberately does not emit.
//
// Concurrency: Collect is safe for concurrent use. The only goroutines the
// package starts are statfs calls bounded by Options.FilesystemStatTimeout; a
// call stuck on a dead network mount outlives Collect (a blocked system call
// cannot be cancelled) and its mount point is skipped until the call returns.
//
// Imports: no internal packages.
package node
