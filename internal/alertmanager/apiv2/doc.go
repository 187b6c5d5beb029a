// Package apiv2 serves Alertmanager's HTTP API v2 (/api/v2/alerts,
// /alerts/groups, /silences, /silence/{id}, /status, /receivers) over an
// alertmanager.Manager, with Alertmanager's JSON (its generated models
// package encodes and validates the bodies), so that amtool, Prometheus and
// Grafana talk to argus unchanged. /api/v2/history is argus's own: the
// alert history.
//
// Handlers are safe for concurrent use. Imports internal/alertmanager.
package apiv2
