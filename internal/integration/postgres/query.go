package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// table is the result of one query: column names and rows of values as
// pgx decodes them.
type table struct {
	cols []string
	rows [][]any
}

// results are the tables of one collection, by query name.
type results struct {
	tables map[string]*table
}

// A query of a collection. Each is a statement of its own, so that one
// the server refuses (a missing privilege) loses only its own metrics.
type namedQuery struct {
	name, sql string
}

// The queries of a collection. Where postgres_exporter reads a view with
// SELECT *, so does argus, as the exporter reports columns it does not
// know (those of newer servers) as untyped metrics.
const (
	qServer = "server"
	// The replication lag is that of postgres_exporter's example
	// queries.yaml: 0 on a primary, else the age of the last replayed
	// transaction.
	sqlServer = `SELECT version(), pg_postmaster_start_time(), pg_is_in_recovery(),
  CASE WHEN pg_is_in_recovery()
    THEN GREATEST(0, EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()))::float8
    ELSE 0 END`

	qDatabase  = "pg_stat_database"
	sqlDatabse = `SELECT * FROM pg_stat_database`

	qConflicts   = "pg_stat_database_conflicts"
	sqlConflicts = `SELECT * FROM pg_stat_database_conflicts`

	qBgwriter = "pg_stat_bgwriter"
	// The columns as in PostgreSQL 12 to 16.
	sqlBgwriter = `SELECT checkpoints_timed, checkpoints_req, checkpoint_write_time, checkpoint_sync_time,
  buffers_checkpoint, buffers_clean, maxwritten_clean, buffers_backend, buffers_backend_fsync,
  buffers_alloc, stats_reset FROM pg_stat_bgwriter`
	// PostgreSQL 17 moved the checkpoint columns to pg_stat_checkpointer
	// and dropped the backend ones (now in pg_stat_io).
	sqlBgwriter17 = `SELECT c.num_timed, c.num_requested, c.write_time, c.sync_time,
  c.buffers_written, b.buffers_clean, b.maxwritten_clean, NULL::bigint, NULL::bigint,
  b.buffers_alloc, b.stats_reset FROM pg_stat_bgwriter b, pg_stat_checkpointer c`

	qArchiver   = "pg_stat_archiver"
	sqlArchiver = `SELECT archived_count, failed_count,
  EXTRACT(EPOCH FROM now() - last_archived_time)::float8 FROM pg_stat_archiver`

	// Every database with every lock mode, 0 where none is held, so that
	// the series do not come and go.
	qLocks   = "pg_locks"
	sqlLocks = `SELECT d.datname, m.mode, count(l.mode)
FROM pg_database d
CROSS JOIN unnest(ARRAY['accesssharelock', 'rowsharelock', 'rowexclusivelock',
  'shareupdateexclusivelock', 'sharelock', 'sharerowexclusivelock', 'exclusivelock',
  'accessexclusivelock', 'sireadlock']) AS m(mode)
LEFT JOIN pg_locks l ON l.database = d.oid AND lower(l.mode) = m.mode
GROUP BY d.datname, m.mode`

	// Every database with every backend state, likewise; the longest
	// transaction is 0 where there is none.
	qActivity   = "pg_stat_activity"
	sqlActivity = `SELECT d.datname, s.state, count(a.state),
  COALESCE(max(EXTRACT(EPOCH FROM now() - a.xact_start)), 0)::float8
FROM pg_database d
CROSS JOIN unnest(ARRAY['active', 'idle', 'idle in transaction',
  'idle in transaction (aborted)', 'fastpath function call', 'disabled']) AS s(state)
LEFT JOIN pg_stat_activity a ON a.datname = d.datname AND a.state = s.state
GROUP BY d.datname, s.state`

	// Sizes of the databases the user may connect to: pg_database_size
	// fails on the others.
	qSize   = "pg_database"
	sqlSize = `SELECT datname, pg_database_size(oid) FROM pg_database
WHERE has_database_privilege(oid, 'CONNECT')`

	qSettings   = "pg_settings"
	sqlSettings = `SELECT name, setting, COALESCE(unit, ''), short_desc, vartype FROM pg_settings
WHERE vartype IN ('bool', 'integer', 'real')`

	// The replicas of a primary. The slot is that the replica's walsender
	// holds, if any.
	qReplication   = "pg_stat_replication"
	sqlReplication = `SELECT r.application_name, COALESCE(host(r.client_addr), ''), r.state,
  COALESCE(s.slot_name::text, ''),
  CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::float8 END,
  CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), r.replay_lsn)::float8 END,
  r.reply_time
FROM pg_stat_replication r LEFT JOIN pg_replication_slots s ON s.active_pid = r.pid`

	qSlots   = "pg_replication_slots"
	sqlSlots = `SELECT slot_name, COALESCE(database::text, ''), active,
  CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::float8 END
FROM pg_replication_slots`
)

// queries returns the queries for a server version (server_version_num).
func queries(version int) []namedQuery {
	bgwriter := sqlBgwriter
	if version >= 170000 {
		bgwriter = sqlBgwriter17
	}
	return []namedQuery{
		{qServer, sqlServer},
		{qDatabase, sqlDatabse},
		{qConflicts, sqlConflicts},
		{qBgwriter, bgwriter},
		{qArchiver, sqlArchiver},
		{qLocks, sqlLocks},
		{qActivity, sqlActivity},
		{qSize, sqlSize},
		{qSettings, sqlSettings},
		{qReplication, sqlReplication},
		{qSlots, sqlSlots},
	}
}

// minVersion is the oldest server version supported (server_version_num):
// the queries use columns and functions of PostgreSQL 12.
const minVersion = 120000

// query runs the queries of a collection. A query the server refuses is
// left out and its error returned with the others' results; any other
// failure (the connection broke, the deadline passed, an unexpected
// reply) returns nil results.
func query(ctx context.Context, conn *pgx.Conn) (*results, error) {
	sv := conn.PgConn().ParameterStatus("server_version")
	version, ok := versionNum(sv)
	if !ok || version < minVersion {
		return nil, fmt.Errorf("server version %q is not supported: PostgreSQL 12 or newer is needed", sv)
	}
	res := &results{tables: map[string]*table{}}
	var refused []error
	for _, q := range queries(version) {
		t, err := queryTable(ctx, conn, q.sql)
		var pgErr *pgconn.PgError
		switch {
		case errors.As(err, &pgErr) && ctx.Err() == nil:
			refused = append(refused, fmt.Errorf("query %s: %w", q.name, err))
		case err != nil:
			return nil, fmt.Errorf("query %s: %w", q.name, err)
		default:
			res.tables[q.name] = t
		}
	}
	return res, errors.Join(refused...)
}

// versionNum turns the server_version a server reports at startup, such
// as "15.18 (Debian 15.18-0+deb12u1)" or "17beta1", into the form of
// server_version_num (150018), for PostgreSQL 10 and later.
func versionNum(v string) (int, bool) {
	end := strings.IndexFunc(v, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if end >= 0 {
		v = v[:end]
	}
	major, minor, _ := strings.Cut(v, ".")
	ma, err := strconv.Atoi(major)
	if err != nil || ma < 10 || ma > 1000 {
		return 0, false
	}
	mi, err := strconv.Atoi(minor)
	if err != nil || mi < 0 || mi > 9999 {
		mi = 0
	}
	return ma*10000 + mi, true
}

func queryTable(ctx context.Context, conn *pgx.Conn, sql string) (*table, error) {
	rows, err := conn.Query(ctx, sql)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	t := &table{}
	for _, fd := range rows.FieldDescriptions() {
		t.cols = append(t.cols, strings.Clone(fd.Name))
	}
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return nil, err
		}
		t.rows = append(t.rows, vals)
	}
	return t, rows.Err()
}
