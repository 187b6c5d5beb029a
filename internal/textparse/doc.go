// Package textparse is a fast parser for the Prometheus text exposition format
// (text/plain version 0.0.4), the format node_exporter and most exporters
// serve. It accepts the canonical subset of the format that exporters write (a
// sample per line, no spaces inside braces, plain metric and label names) and
// says so when a page uses anything else, so that the caller can parse that
// page with the upstream parser (github.com/prometheus/prometheus/model/
// textparse) instead; on every page it accepts it yields exactly what the
// upstream parser yields, which a differential fuzz test checks.
//
// Why: parsing is most of the CPU of a scrape, and the upstream lexer spends
// its time on generality exporters rarely use. Reset validates a whole page in
// one pass over its bytes; a series' labels are only built when the caller
// asks (a scrape cache asks once per new series).
//
// A Prom is not safe for concurrent use. Imports no argus package.
package textparse
