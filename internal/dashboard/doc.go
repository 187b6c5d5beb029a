// Package dashboard is argus's model of dashboards: Grafana's classic
// dashboard JSON (schemaVersion 12 up to 42), kept as decoded JSON
// (map[string]any with json.Number values) so that fields argus does not
// know survive a round trip unchanged.
//
// Import parses a file, migrates old schemas the way Grafana does (rows to
// a 24-column grid, graph to timeseries, singlestat to stat or gauge,
// table-old to table, the per-version renames), maps every form of
// datasource reference onto argus's data sources, and returns a Report
// that says for each panel whether it is ok, degraded (what was
// approximated) or unsupported (why). Export writes the shareable form
// with __inputs that Grafana itself imports. Builtin holds the dashboards
// embedded in the binary (argus's own, and one per integration type under
// IntegrationDir), and Provisioner keeps a store in step with directories
// of dashboard files.
//
// Everything here is pure functions over values, safe for concurrent use
// on distinct dashboards; Provisioner serialises its own runs. The package
// imports no other argus package: the store it provisions into is an
// interface it declares.
package dashboard
