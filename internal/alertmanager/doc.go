// Package alertmanager is argus's alert manager: it takes alerts (from the
// HTTP API or, in process, from the rule evaluator through Put), groups
// them along an Alertmanager routing tree, holds back the inhibited and
// silenced ones, and notifies receivers, with Alertmanager's semantics:
// group_wait, group_interval and repeat_interval timers, resolve timeouts,
// send_resolved, mute and active time intervals, and a notification log so
// nothing is sent twice, also across restarts.
//
// The engine (store, routing, aggregation groups, inhibition, silences,
// notification log, retries) is argus's own. Alertmanager's packages are
// used for what must match it byte for byte: the configuration
// (config.Load), the notification templates and their data (template), the
// receiver integrations (notify/... through config/receiver) and the alert
// type they take (alert.Alert), label matchers (pkg/labels), time intervals
// (timeinterval). Its dispatch, inhibit, silence and nflog packages are not
// used.
//
// Main types: Manager (the whole thing; ApplyConfig swaps the configuration
// and keeps alerts, silences and the notification log), Silence, Event
// (alert history). State that outlives the process goes through the narrow
// StateStore interface, implemented by internal/state, argus's one state store.
//
// Concurrency: every exported method of Manager is safe for concurrent use.
// Each aggregation group runs in its own goroutine, so a slow or failing
// receiver delays only its own groups. Run owns the background maintenance
// and, when it returns, every goroutine the Manager started has stopped,
// except a group stuck in an integration that ignores cancellation (the
// email one, on a server that stopped answering), given up on after a few
// seconds so that shutdown and reloads do not hang. ApplyConfig does not
// hold up Put while the old groups finish their notifications.
//
// Imports: internal/state (types only).
package alertmanager
