// Package datasource is argus's set of data sources for dashboards: the
// built-in one (argus's own PromQL engine, answered by the local HTTP API)
// and the Prometheus-API-compatible servers of the config's datasources.
// A Proxy serves /api/datasources/proxy/uid/{uid}/api/v1/... for the read
// endpoints dashboards use (query, query_range, series, labels, label
// values), forwarding to the source from the server, so that its
// credentials never reach the browser; and /api/datasources, the list.
//
// A *Proxy is safe for concurrent use; Apply swaps the set atomically on
// reload. It imports config and dashboard.
package datasource
