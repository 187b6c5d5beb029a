// Package state is argus's one SQL state store for what is not time
// series: dashboards with every saved version and their folders; the
// alert manager's records (silences, notification log) and event log
// (alert history); users, sessions, API tokens and the audit log.
//
// It runs on SQLite through a pure-Go driver (modernc.org/sqlite, no cgo)
// in a file of the data directory, or on PostgreSQL through pgx, which
// lets several argus instances share one store. The schema is created by
// numbered migrations applied in order at open and recorded in
// schema_migrations; a migration that differs between the two carries a
// PostgreSQL text of its own (BYTEA for BLOB, identity columns for
// rowids). The queries are written once, with '?' placeholders that the
// PostgreSQL handle rewrites to $n, BIGINT times in Unix milliseconds,
// INTEGER 0/1 for booleans and ON CONFLICT upserts.
//
// SQLite: WAL mode, one connection (the process's writers queue in
// database/sql, so none sees "database is locked"), a busy timeout and
// IMMEDIATE transactions, so that `argus dashboards import` or `argus
// user add` can write while the server holds the file, and
// synchronous=NORMAL: an acknowledged write survives kill -9; a power cut
// may lose the last commits. PostgreSQL: every writing transaction but an
// event append holds one advisory lock, so that writes are serialized
// across instances as SQLite serializes them (the store assigns ids as
// max + 1 and checks versions and unique titles before it writes).
//
// A *DB is safe for concurrent use. It imports no argus package:
// dashboards are stored as JSON documents it only patches (uid, id,
// version, title).
package state
