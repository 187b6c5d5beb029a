// Package process reports per-process metrics read from Linux's /proc: CPU
// time, memory, file descriptors, threads, start time, storage I/O, context
// switches and major page faults. It covers argus itself (group "argus",
// always) and groups of other processes chosen by Matchers (command name,
// command line, pid file, user), as the write-up's general process metrics
// app did; a process belongs to the first group whose Matcher it meets. New
// returns a Collector, a prometheus.Collector whose Collect may be called
// concurrently; calls run one at a time, because the Collector keeps state
// between scrapes. The package imports no argus package.
//
// # Names
//
// The series keep the names client_golang's process collector gives an
// instrumented program (process_cpu_seconds_total,
// process_resident_memory_bytes, process_open_fds, ...) and add a group
// label, so dashboards and alert rules written for any instrumented process
// work for argus, hosted apps and other daemons alike, selected by group.
// What the standard set lacks has names of the same style:
// process_cpu_mode_seconds_total{mode="user|system"} (process_cpu_seconds_total
// keeps its usual meaning, user plus system, so a plain rate() of it is not
// split by mode), process_io_{read,write}_bytes_total,
// process_context_switches_total{kind}, process_major_page_faults_total,
// process_open_fds_worst_ratio and process_group_processes. The collector's
// own health is argus_process_scrape_errors_total{group,reason}.
//
// # Cardinality
//
// Pids churn: a group of short-lived workers reported by pid would create
// new series at every restart. So a group is by default one set of series,
// summed over its processes (the start time is the oldest process's, the
// descriptor ratio the worst one), with process_group_processes counting
// them; "process_group_processes == 0" is the alert for a service that is
// down. Summed counters stay monotonic while processes come and go: each
// scrape adds every process's increase since the previous scrape, so a
// worker that exits does not look like a counter reset. The cost is what
// a process does between its last scrape and its exit, which is lost, as is
// all of a process that lives less than a scrape interval. A Matcher with
// PerProcess set reports each process instead, labelled pid and comm, for
// the few long-lived processes where that detail is worth its series.
//
// A metric thus has the label set group, or group, pid and comm, depending
// on its group; a checked prometheus.Collector cannot describe that, so the
// Collector is unchecked (Describe sends nothing).
//
// # Errors
//
// A process that exits during a scrape is left out silently, as are zombies
// (exited, not yet reaped). A file argus may not read (io and fd of another
// user's process, unless argus runs as root or with CAP_SYS_PTRACE) or
// cannot parse leaves out only the metrics that come from it, counts in
// argus_process_scrape_errors_total and is logged once per group and
// reason. Only failing to list /proc fails the scrape.
package process
