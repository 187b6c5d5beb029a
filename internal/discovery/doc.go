// Package discovery finds scrape targets: static lists, files (file_sd_configs,
// JSON or YAML, re-read when they change and every refresh interval) and HTTP
// endpoints (http_sd_configs), with the semantics and file formats of
// Prometheus's discovery mechanisms of the same names.
//
// Every mechanism is a Provider that sends the complete list of its target
// groups whenever it changes; a group is identified by its Source, so a consumer
// can replace groups by source. Providers run until their context is cancelled;
// each owns no goroutine beyond its Run call.
//
// Imports: internal/config.
package discovery
