// Package ruletest runs rule unit tests in promtool's test file format
// (`promtool test rules`): input_series in the expanding notation of
// PromQL tests, alert_rule_test and promql_expr_test cases at eval_time
// offsets, evaluated with argus's rule manager, PromQL engine and storage.
// Outcomes and messages follow promtool's, so a test file passes or fails
// the same way with both tools (a test runs both on the same files).
//
// Run is a command: it prints promtool's report to the writers given.
// Each test group gets a fresh storage in a temporary directory.
//
// Imports: internal/rules, internal/promql, internal/tsdb.
package ruletest
