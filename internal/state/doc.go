// Package state is argus's SQL state store for what is not time series:
// dashboards with every saved version, and their folders (users, sessions
// and tokens will join them). It runs on SQLite through a pure-Go driver
// (modernc.org/sqlite, no cgo), in WAL mode with a busy timeout, so that
// `argus dashboards import` can write while the server holds the file.
//
// The schema is created by numbered migrations applied in order at Open
// and recorded in schema_migrations. The SQL is kept portable so that a
// PostgreSQL driver can run the same migrations and queries: BIGINT times
// in Unix milliseconds, INTEGER 0/1 for booleans, ids assigned by the
// store rather than by an autoincrement, ON CONFLICT upserts, and '?'
// placeholders a PostgreSQL dialect rewrites to $n.
//
// Every write is one transaction, begun IMMEDIATE (it takes the write lock
// first, so two processes wait on each other instead of failing), and
// synchronous=FULL, so that an acknowledged save survives kill -9 and a
// power cut. A *DB is safe for concurrent use. It imports no argus
// package: dashboards are stored as JSON documents it only patches (uid,
// id, version, title).
package state
