// Package server is argus's composition root: it builds every component from
// the config (today the storage engine and the HTTP surface), owns their
// lifecycle, and applies reloads. Nothing else wires components together, and no
// package imports this one except internal/cli (cmd/argus) and tests.
//
// Every route is registered through the router in access.go, which guards
// it with the role ruleFor decides (internal/auth); a test walks them all.
// One state store (internal/state) serves accounts, dashboards and the
// alert manager.
//
// Concurrency: Run owns the HTTP server and signal handling in an errgroup;
// Reload may be called concurrently with serving and swaps the config under a
// lock, keeping the running config when the new one is invalid.
//
// Imports: internal/config, internal/tsdb, internal/scrape, internal/api,
// internal/rules, internal/notifier, internal/alertmanager (and its apiv2),
// internal/state, internal/auth, internal/apphost, and every later role.
// internal/cli imports it too, for StateOptions (the CLI's commands on the
// state store open it as the server does).
package server
