// Package notifier sends the alerts of the rule manager to Alertmanagers,
// as Prometheus's notifier does: the alerting.alertmanagers config (static,
// file and HTTP discovery, relabel_configs, path_prefix, scheme, timeout,
// HTTP client settings and auth), external labels and alert_relabel_configs
// applied to every alert, API v2 JSON posts.
//
// Each destination (one Alertmanager URL, or the in-process Receiver, which
// is how argus's own alert manager will be plugged in) has a send loop with
// a bounded queue: alerts are batched (MaxBatchSize), a full queue drops its
// oldest alerts, and failures and drops are counted in the
// argus_notifications_* metrics, so a slow or dead Alertmanager never holds
// up rule evaluation or the other destinations.
//
// Concurrency: Manager methods are safe for concurrent use. Run owns the
// send loops and the discovery goroutines and waits for them.
//
// Imports: internal/config, internal/discovery.
package notifier
