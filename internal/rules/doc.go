// Package rules evaluates recording and alerting rules, Prometheus's rule
// manager rebuilt on argus's own PromQL engine.
//
// Rule files are read in Prometheus's format (file.go reproduces upstream
// model/rulefmt, which links the upstream engine); files in the 1.x syntax
// are recognised and a conversion is suggested (legacy.go). A Manager runs
// one goroutine per Group: the group is evaluated at its interval, at a
// time slot spread by a hash of its name and file, as in Prometheus.
// Recording rules write their results through an Appender, with staleness
// markers for series that vanish; alerting rules keep their alerts'
// inactive/pending/firing state with for and keep_firing_for, write the
// ALERTS and ALERTS_FOR_STATE series, restore the for state from storage
// after a restart, expand label and annotation templates (package
// template) and hand alerts to a NotifyFunc, with Prometheus's resend
// delay and end times.
//
// The package consumes small interfaces: QueryFunc (built from the engine
// by EngineQueryFunc), Appender, the upstream storage.Queryable, and
// NotifyFunc. It does not know the storage engine or where alerts go.
//
// Concurrency: Manager and Group methods are safe for concurrent use. A
// group's rules are evaluated in order on its goroutine; Manager.Run owns
// the goroutines and waits for them, for at most Options.StopTimeout.
// The manager never waits for an evaluation while holding its lock. Go's
// text/template cannot be cancelled, so a template that loops without
// writing (package template caps the output, which ends loops that write)
// stalls only its own group: reloads, the other groups, the rule listing
// and shutdown carry on, and a reload replaces that group once its
// evaluation ends.
//
// Imports: internal/promql (value types and the Engine interface),
// internal/template.
package rules
