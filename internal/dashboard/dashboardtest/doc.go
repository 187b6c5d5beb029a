// Package dashboardtest reads the PromQL of dashboard JSON, for tests
// that check what dashboards query: Queries lists the expressions of
// every panel target (panels nested in rows included), query variable and
// annotation of a dashboard, and Selectors parses one with the upstream
// PromQL parser and returns its series selectors.
//
// Only tests import it. It imports no argus package, so that the
// dashboard package's own tests can use it.
package dashboardtest
