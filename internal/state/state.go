package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver
)

// File is the SQLite state database's name in the data directory.
const File = "state.db"

// Drivers the state store runs on: the `state.driver` config key.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
)

// Errors callers branch on; the HTTP API maps them to Grafana's answers.
var (
	ErrNotFound        = errors.New("not found")
	ErrVersionMismatch = errors.New("the dashboard has been changed by someone else")
	ErrNameExists      = errors.New("a dashboard with the same name in the folder already exists")
	ErrProvisioned     = errors.New("cannot save provisioned dashboard")
	ErrFolderNotFound  = errors.New("folder not found")
	ErrFolderExists    = errors.New("a folder with the same name already exists")
	ErrUserExists      = errors.New("a user with that name already exists")
	ErrLastAdmin       = errors.New("this is the last admin; make another user admin first")
)

// DB is an open state database.
type DB struct {
	db handle
	// now is the clock, replaced in tests.
	now func() time.Time
}

// Options select a state store: the config's state section.
type Options struct {
	// Driver is DriverSQLite (the default) or DriverPostgres.
	Driver string
	// DSN is PostgreSQL's connection string (a URL or key=value pairs).
	DSN string
	// Path is the SQLite file; DataDir/File when empty.
	Path    string
	DataDir string
}

// OpenWith opens the store opts select.
func OpenWith(ctx context.Context, opts Options) (*DB, error) {
	switch opts.Driver {
	case "", DriverSQLite:
		path := opts.Path
		if path == "" {
			path = filepath.Join(opts.DataDir, File)
		}
		return Open(ctx, path)
	case DriverPostgres:
		return OpenPostgres(ctx, opts.DSN)
	default:
		return nil, fmt.Errorf("state driver %q: want %q or %q", opts.Driver, DriverSQLite, DriverPostgres)
	}
}

// Open opens (creating if needed) the SQLite database at path and applies
// the migrations it has not seen yet.
func Open(ctx context.Context, path string) (*DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create directory for %s: %w", path, err)
	}
	// WAL lets readers run beside the one writer. synchronous=NORMAL: in
	// WAL mode a commit is in the OS's page cache when it returns, so it
	// survives kill -9 of argus; only a power cut may drop the last
	// commits, and it costs no fsync per commit, which the alert history's
	// event log needs. The busy timeout lets the CLI and the server share
	// the file; IMMEDIATE transactions take the write lock up front, so a
	// read-then-write transaction waits for another process instead of
	// failing with SQLITE_BUSY midway. A 32 MiB page cache and
	// memory-mapped reads keep the history's index pages in memory: with
	// SQLite's 2 MiB default, reading them back was most of the cost of
	// appending events.
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(10000)" +
		"&_pragma=foreign_keys(ON)&_pragma=cache_size(-32768)&_pragma=mmap_size(268435456)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open state database %s: %w", path, err)
	}
	// One connection: SQLite has one writer, and our own goroutines then
	// queue in database/sql instead of in SQLite's busy handler, so
	// concurrent writers never see "database is locked".
	db.SetMaxOpenConns(1)
	d := &DB{db: newHandle(db, false), now: time.Now}
	if err := d.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("state database %s: %w", path, err)
	}
	return d, nil
}

// OpenPostgres opens the PostgreSQL database dsn names and applies the
// migrations it has not seen yet. Several argus instances may share it.
func OpenPostgres(ctx context.Context, dsn string) (*DB, error) {
	if dsn == "" {
		return nil, errors.New("state driver postgres needs a dsn")
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("open PostgreSQL state database: %w", err)
	}
	db.SetMaxOpenConns(8)
	db.SetConnMaxIdleTime(5 * time.Minute)
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		// pgx's errors name the host and user, never the password.
		return nil, fmt.Errorf("connect to the PostgreSQL state database: %w", err)
	}
	d := &DB{db: newHandle(db, true), now: time.Now}
	if err := d.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("PostgreSQL state database: %w", err)
	}
	return d, nil
}

// Close closes the database.
func (d *DB) Close() error { return d.db.db.Close() }

// Driver returns DriverSQLite or DriverPostgres.
func (d *DB) Driver() string {
	if d.db.pg {
		return DriverPostgres
	}
	return DriverSQLite
}

// migration is one schema change. postgres, when set, replaces sqlite on
// PostgreSQL, for the few types that differ (BLOB, rowid keys).
type migration struct {
	sqlite, postgres string
}

func (m migration) text(pg bool) string {
	if pg && m.postgres != "" {
		return m.postgres
	}
	return m.sqlite
}

// migrations are the schema changes, applied in order; the index plus one
// is the version recorded. Append only: a released migration never
// changes.
var migrations = []migration{
	// 1: folders, dashboards, their tags and versions.
	{sqlite: `CREATE TABLE folders (
		uid     TEXT NOT NULL PRIMARY KEY,
		id      BIGINT NOT NULL UNIQUE,
		title   TEXT NOT NULL UNIQUE,
		created BIGINT NOT NULL,
		updated BIGINT NOT NULL
	);
	CREATE TABLE dashboards (
		uid              TEXT NOT NULL PRIMARY KEY,
		id               BIGINT NOT NULL UNIQUE,
		title            TEXT NOT NULL,
		title_lower      TEXT NOT NULL,
		folder_uid       TEXT NOT NULL DEFAULT '',
		starred          INTEGER NOT NULL DEFAULT 0,
		provisioner      TEXT NOT NULL DEFAULT '',
		provisioned_path TEXT NOT NULL DEFAULT '',
		allow_ui_updates INTEGER NOT NULL DEFAULT 0,
		source_hash      TEXT NOT NULL DEFAULT '',
		report           TEXT NOT NULL DEFAULT '',
		version          INTEGER NOT NULL,
		data             TEXT NOT NULL,
		created          BIGINT NOT NULL,
		updated          BIGINT NOT NULL,
		UNIQUE (folder_uid, title_lower)
	);
	CREATE TABLE dashboard_tags (
		dashboard_uid TEXT NOT NULL REFERENCES dashboards (uid) ON DELETE CASCADE,
		tag           TEXT NOT NULL,
		PRIMARY KEY (dashboard_uid, tag)
	);
	CREATE INDEX dashboard_tags_tag ON dashboard_tags (tag);
	CREATE TABLE dashboard_versions (
		dashboard_uid TEXT NOT NULL REFERENCES dashboards (uid) ON DELETE CASCADE,
		version       INTEGER NOT NULL,
		message       TEXT NOT NULL DEFAULT '',
		data          TEXT NOT NULL,
		created       BIGINT NOT NULL,
		PRIMARY KEY (dashboard_uid, version)
	)`},
	// 2: the alert manager's records (silences, notification log) and
	// event log (alert history), which had a database of their own.
	// A plain INTEGER PRIMARY KEY on SQLite, not AUTOINCREMENT: that one
	// updates sqlite_sequence on every insert, which halved the append
	// rate. IDs are not reused as long as the newest rows are never
	// deleted (Expire deletes the oldest).
	{sqlite: `CREATE TABLE records (
		bucket  TEXT NOT NULL,
		key     TEXT NOT NULL,
		value   BLOB NOT NULL,
		expires BIGINT NOT NULL,
		PRIMARY KEY (bucket, key)
	);
	CREATE INDEX records_expires ON records (expires);
	CREATE TABLE events (
		id          INTEGER PRIMARY KEY,
		time        BIGINT NOT NULL,
		kind        TEXT NOT NULL,
		fingerprint TEXT NOT NULL,
		receiver    TEXT NOT NULL,
		data        BLOB NOT NULL
	);
	CREATE INDEX events_time ON events (time);
	CREATE INDEX events_fingerprint ON events (fingerprint, time) WHERE fingerprint != '';
	CREATE INDEX events_receiver ON events (receiver, time) WHERE receiver != ''`,
		postgres: `CREATE TABLE records (
		bucket  TEXT NOT NULL,
		key     TEXT NOT NULL,
		value   BYTEA NOT NULL,
		expires BIGINT NOT NULL,
		PRIMARY KEY (bucket, key)
	);
	CREATE INDEX records_expires ON records (expires);
	CREATE TABLE events (
		id          BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
		time        BIGINT NOT NULL,
		kind        TEXT NOT NULL,
		fingerprint TEXT NOT NULL,
		receiver    TEXT NOT NULL,
		data        BYTEA NOT NULL
	);
	CREATE INDEX events_time ON events (time);
	CREATE INDEX events_fingerprint ON events (fingerprint, time) WHERE fingerprint != '';
	CREATE INDEX events_receiver ON events (receiver, time) WHERE receiver != ''`},
	// 3: users, their sessions, API tokens and the audit log. Secrets
	// (session ids, tokens) are stored as SHA-256 hashes and passwords as
	// bcrypt hashes, so that a copy of the store logs no one in.
	{sqlite: authTables + `
	CREATE TABLE audit (
		id     INTEGER PRIMARY KEY,
		time   BIGINT NOT NULL,
		actor  TEXT NOT NULL,
		action TEXT NOT NULL,
		target TEXT NOT NULL,
		detail TEXT NOT NULL
	);
	CREATE INDEX audit_time ON audit (time)`,
		postgres: authTables + `
	CREATE TABLE audit (
		id     BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
		time   BIGINT NOT NULL,
		actor  TEXT NOT NULL,
		action TEXT NOT NULL,
		target TEXT NOT NULL,
		detail TEXT NOT NULL
	);
	CREATE INDEX audit_time ON audit (time)`},
}

// authTables are migration 3's tables written alike for both drivers; only
// the audit log's id differs.
const authTables = `CREATE TABLE users (
		id            BIGINT NOT NULL PRIMARY KEY,
		name          TEXT NOT NULL UNIQUE,
		role          TEXT NOT NULL,
		password_hash TEXT NOT NULL,
		must_change   INTEGER NOT NULL DEFAULT 0,
		created       BIGINT NOT NULL,
		updated       BIGINT NOT NULL
	);
	CREATE TABLE sessions (
		id_hash   TEXT NOT NULL PRIMARY KEY,
		user_id   BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
		csrf      TEXT NOT NULL,
		created   BIGINT NOT NULL,
		expires   BIGINT NOT NULL,
		last_seen BIGINT NOT NULL
	);
	CREATE INDEX sessions_user ON sessions (user_id);
	CREATE TABLE tokens (
		id         BIGINT NOT NULL PRIMARY KEY,
		name       TEXT NOT NULL,
		hash       TEXT NOT NULL UNIQUE,
		role       TEXT NOT NULL,
		created_by TEXT NOT NULL,
		created    BIGINT NOT NULL,
		expires    BIGINT NOT NULL,
		last_used  BIGINT NOT NULL DEFAULT 0,
		revoked    INTEGER NOT NULL DEFAULT 0
	);
`

// migrate applies the migrations not applied yet, each in its own
// transaction with its record, so that a crash leaves a version either
// fully applied or not at all. On PostgreSQL the transaction holds the
// store's write lock, so two instances starting together do not both
// apply a migration.
func (d *DB) migrate(ctx context.Context) error {
	if _, err := d.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER NOT NULL PRIMARY KEY,
		applied BIGINT NOT NULL
	)`); err != nil && !d.db.pg {
		return fmt.Errorf("create schema_migrations: %w", err)
	} else if err != nil {
		// Two PostgreSQL clients creating the table at once: one fails
		// on the catalog's unique index; the table exists either way.
		if _, err2 := d.db.ExecContext(ctx, `SELECT 1 FROM schema_migrations LIMIT 1`); err2 != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
	}
	for i, m := range migrations {
		version := i + 1
		err := d.tx(ctx, func(tx *txn) error {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			// One statement per Exec: not every driver runs several.
			for stmt := range strings.SplitSeq(m.text(d.db.pg), ";") {
				if strings.TrimSpace(stmt) == "" {
					continue
				}
				if _, err := tx.ExecContext(ctx, stmt); err != nil {
					return err
				}
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied) VALUES (?, ?)`, version, d.now().UnixMilli())
			return err
		})
		if err != nil {
			return fmt.Errorf("apply migration %d: %w", version, err)
		}
	}
	var newest int
	if err := d.db.QueryRowContext(ctx, `SELECT COALESCE(max(version), 0) FROM schema_migrations`).Scan(&newest); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if newest > len(migrations) {
		return fmt.Errorf("schema version %d is newer than this argus knows (%d); use a newer argus", newest, len(migrations))
	}
	return nil
}

// writeLock is the PostgreSQL advisory lock a writing transaction holds,
// so that writes are serialized across argus instances as SQLite
// serializes them: the ids the store assigns (max + 1) and read-then-write
// checks (versions, unique titles) stay correct.
const writeLock = 0x61726775 // "argu"

// tx runs f in a transaction, committing if it returns nil.
func (d *DB) tx(ctx context.Context, f func(*txn) error) (err error) {
	sqlTx, err := d.db.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	tx := &txn{r: sqlTx, pg: d.db.pg}
	defer func() {
		if err != nil {
			sqlTx.Rollback()
		}
	}()
	if d.db.pg {
		if _, err := sqlTx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, writeLock); err != nil {
			return fmt.Errorf("take the write lock: %w", err)
		}
	}
	if err := f(tx); err != nil {
		return err
	}
	return sqlTx.Commit()
}

// runner is what a database and a transaction both do.
type runner interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
	PrepareContext(ctx context.Context, q string) (*sql.Stmt, error)
}

// txn runs SQL written with '?' placeholders on either driver, on the
// database or in a transaction.
type txn struct {
	r  runner
	pg bool
}

func (t txn) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return t.r.ExecContext(ctx, bind(t.pg, q), args...)
}

func (t txn) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return t.r.QueryContext(ctx, bind(t.pg, q), args...)
}

func (t txn) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return t.r.QueryRowContext(ctx, bind(t.pg, q), args...)
}

func (t txn) PrepareContext(ctx context.Context, q string) (*sql.Stmt, error) {
	return t.r.PrepareContext(ctx, bind(t.pg, q))
}

// handle is the database: its queries, and what begins and ends it.
type handle struct {
	txn
	db *sql.DB
}

func newHandle(db *sql.DB, pg bool) handle { return handle{txn: txn{r: db, pg: pg}, db: db} }

// stringAgg returns the aggregate joining col's values with the unit
// separator (0x1f), which titles and tags do not contain.
func (h handle) stringAgg(col string) string {
	if h.pg {
		return "string_agg(" + col + ", chr(31))"
	}
	return "group_concat(" + col + ", char(31))"
}

// bind rewrites '?' placeholders to PostgreSQL's $1, $2, ... The store's
// SQL has no '?' inside string literals, which keeps this a plain scan.
func bind(pg bool, q string) string {
	if !pg || !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// nextID returns one more than the largest id of table, within tx: ids
// assigned by the store rather than by an autoincrement keep the schema
// the same on PostgreSQL (where tx holds the write lock).
func nextID(ctx context.Context, tx *txn, table string) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `SELECT COALESCE(max(id), 0) + 1 FROM `+table).Scan(&id)
	return id, err
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Ping checks the database answers, for health checks.
func (d *DB) Ping(ctx context.Context) error {
	var one int
	return d.db.QueryRowContext(ctx, `SELECT 1`).Scan(&one)
}
