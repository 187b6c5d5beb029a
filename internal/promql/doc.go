// Package promql is argus's own PromQL evaluator.
//
// Queries are parsed with the upstream parser (promql/parser) and evaluated
// here. The Engine mirrors the shape of upstream's promql.Engine
// (NewInstantQuery, NewRangeQuery, Query.Exec returning a Result), so the HTTP
// API and the upstream promqltest harness can drive it through a thin adapter.
//
// Evaluation is series-major: every instant-vector expression evaluates to a
// Matrix whose series hold one point per evaluation step, computed for the
// whole query range at once. Selectors read each series once, in time order,
// and range functions slide a window over the samples of one series at a time;
// nothing is re-selected per step. Aggregations and binary operators walk the
// steps with one cursor per input series, keeping only per-group state for the
// current step.
//
// Native histograms are not supported yet: a query that reads a histogram
// sample fails with ErrNativeHistograms rather than returning a wrong answer.
// Of upstream's experimental features, info() (info.go) and the anchored
// and smoothed selector modifiers (extended.go) are supported; start
// timestamps are not.
//
// Function semantics (extrapolation, quantiles, annotations) follow upstream
// Prometheus (Apache 2.0) closely so results agree with it; the conformance
// tests run the upstream promqltest files against this engine.
//
// Memory: a query's points, its result included, are carved from blocks the
// Engine recycles (memory.go), and Query.Close hands them back, so a result
// must not be used after Close, as with upstream's engine. Selectors read
// argus's storage in bulk (floatAppender) and other storages sample by sample.
//
// Stats: Query.Stats reports Prometheus's query statistics (stats.go). The
// sample counts are kept in upstream's util/stats.QuerySamples, a leaf
// package, so that the subquery attribution rules are upstream's own; the
// evaluators update them per series and per step, never per sample unless
// per-step counts are asked for.
//
// Concurrency: an Engine is safe for concurrent use; a Query is used by one
// goroutine. Within the package, evaluation errors travel as panics of type
// evalError and are recovered at the top of Exec (as in encoding/json), which
// keeps the many nested evaluation functions free of error plumbing.
//
// Imports: no internal packages; upstream promql/parser, model/labels, storage,
// tsdb/chunkenc and util/annotations for types only, and util/stats for
// the sample counters.
package promql
