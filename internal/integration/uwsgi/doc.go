// Package uwsgi is the uWSGI integration: it reads the JSON document
// uWSGI's stats server (--stats) writes to each connection, over TCP or a
// unix socket, and reports it with the metric and label names of
// timonwong/uwsgi_exporter 1.2 (server, socket, worker, per-app and cache
// metrics), so its dashboards and alert rules apply unchanged.
// docs/integrations.md lists the differences.
//
// New returns an integration.Collector; it is safe for concurrent use, with
// at most two connections to the server at once. The package imports
// internal/integration only.
package uwsgi
