// Package auth is argus's access control, one model for every role argus
// plays: users with a role (viewer, editor, admin), browser sessions in
// cookies with CSRF protection, API tokens sent as bearer tokens, and
// HTTP basic auth with a user's password, so that promtool, amtool,
// Grafana and a remote Prometheus authenticate with the options they
// already have.
//
// Service authenticates a request (Authenticate) and guards a handler
// with the role a route needs (Guard); the server decides each route's
// Rule when it registers it, so no route is left unguarded. Every
// request that changes state and succeeds is written to the audit log
// with who made it.
//
// Secrets never reach the store or a log line in the clear: passwords are
// bcrypt hashes, session ids and tokens SHA-256 hashes. Failed logins are
// limited per user and per client address.
//
// Imports: internal/state (the store).
package auth
