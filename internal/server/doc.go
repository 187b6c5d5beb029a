// Package server is argus's composition root: it builds every component from
// the config (today the storage engine and the HTTP surface), owns their
// lifecycle, and applies reloads. Nothing else wires components together, and no
// package imports this one except cmd/argus and its tests.
//
// Concurrency: Run owns the HTTP server and signal handling in an errgroup;
// Reload may be called concurrently with serving and swaps the config under a
// lock, keeping the running config when the new one is invalid.
//
// Imports: internal/config, internal/tsdb, internal/scrape, internal/api,
// internal/rules, internal/notifier, internal/alertmanager (and its apiv2),
// internal/state, internal/apphost, and every later role.
package server
