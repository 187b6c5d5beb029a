// Package statestore keeps the alert manager's durable state in an embedded
// SQL database: SQLite through a pure-Go driver (modernc.org/sqlite, no
// cgo), in WAL mode so that a process killed with SIGKILL loses nothing it
// had committed.
//
// Two shapes of data cover what the alert manager persists:
//   - records: small values in named buckets (silences, notification log
//     entries), each with an expiry after which Expire deletes it, so the
//     database stays small;
//   - events: an append-only log (alert history), queried by time, kind,
//     alert fingerprint and receiver, and trimmed by age.
//
// The SQL is plain and portable so that a PostgreSQL implementation of the
// same methods can sit behind the alert manager's narrow interfaces; until
// the shared state store lands, this package is that seam.
//
// A *DB is safe for concurrent use. It imports no argus package.
package statestore
