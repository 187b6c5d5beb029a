// Package loadgen generates deterministic node_exporter-shaped time series for
// tests, benchmarks and side-by-side runs of argus against Prometheus.
//
// A Generator takes a template scrape (by default a real node_exporter capture
// embedded from testdata/node_exporter.prom), replicates every float sample
// line of it for a number of simulated targets, and advances all series one
// scrape at a time with Next. Counters grow by random non-negative increments
// at a rate derived from their template value, gauges random-walk, and every
// series changes at every scrape, which is the worst case for storage and the
// scenario our disk-usage goals are measured on. WriteOpenMetrics writes the
// same history as an OpenMetrics file that promtool can turn into blocks.
//
// Output depends only on Options: the same options give the same series and
// samples on every machine and Go version (math/rand/v2's PCG is specified).
// A Generator is not safe for concurrent use.
//
// It imports no internal packages; it uses upstream model/labels and
// model/textparse.
package loadgen
