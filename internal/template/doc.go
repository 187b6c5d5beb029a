// Package template expands the templates of alerting rules (labels and
// annotations) in Prometheus's template language: Go's text/template with
// $labels, $externalLabels, $externalURL and $value defined, and the
// functions Prometheus documents (query, first, label, value, humanize,
// humanizeDuration, humanizePercentage, humanizeTimestamp, title, toUpper,
// match, reReplaceAll, ...). html/template is used where Prometheus uses it
// (ExpandHTML, for console-like pages), so values are escaped there.
//
// It is argus's own code because the upstream template package imports the
// upstream PromQL engine, which argus does not link. The functions follow
// upstream (Apache 2.0) so that a rule file renders the same text.
//
// An Expander is built per expansion and used by one goroutine. Template
// errors, including panics inside functions, are returned, never raised.
//
// Imports: internal/promql (value types only).
package template
