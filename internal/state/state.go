package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// File is the state database's name in the data directory.
const File = "state.db"

// Errors callers branch on; the HTTP API maps them to Grafana's answers.
var (
	ErrNotFound        = errors.New("not found")
	ErrVersionMismatch = errors.New("the dashboard has been changed by someone else")
	ErrNameExists      = errors.New("a dashboard with the same name in the folder already exists")
	ErrProvisioned     = errors.New("cannot save provisioned dashboard")
	ErrFolderNotFound  = errors.New("folder not found")
	ErrFolderExists    = errors.New("a folder with the same name already exists")
)

// DB is an open state database.
type DB struct {
	db *sql.DB
	// now is the clock, replaced in tests.
	now func() time.Time
}

// Open opens (creating if needed) the SQLite database at path and applies
// the migrations it has not seen yet.
func Open(ctx context.Context, path string) (*DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create directory for %s: %w", path, err)
	}
	// WAL lets readers run beside the one writer; FULL fsyncs each commit,
	// which dashboards' low write rate affords; the busy timeout lets the
	// CLI and the server share the file; IMMEDIATE transactions take the
	// write lock up front, so a read-then-write transaction waits for
	// another process instead of failing with SQLITE_BUSY midway.
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)" +
		"&_pragma=foreign_keys(ON)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open state database %s: %w", path, err)
	}
	// One connection: SQLite has one writer, and our own goroutines then
	// queue in database/sql instead of in SQLite's busy handler.
	db.SetMaxOpenConns(1)
	d := &DB{db: db, now: time.Now}
	if err := d.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("state database %s: %w", path, err)
	}
	return d, nil
}

// Close closes the database.
func (d *DB) Close() error { return d.db.Close() }

// migrations are the schema changes, applied in order; the index plus one
// is the version recorded. Append only: a released migration never
// changes.
var migrations = []string{
	// 1: folders, dashboards, their tags and versions.
	`CREATE TABLE folders (
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
	);`,
}

// migrate applies the migrations not applied yet, each in its own
// transaction with its record, so that a crash leaves a version either
// fully applied or not at all.
func (d *DB) migrate(ctx context.Context) error {
	if _, err := d.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER NOT NULL PRIMARY KEY,
		applied BIGINT NOT NULL
	)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	for i, m := range migrations {
		version := i + 1
		err := d.tx(ctx, func(tx *sql.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, m); err != nil {
				return err
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

// tx runs f in a transaction, committing if it returns nil.
func (d *DB) tx(ctx context.Context, f func(*sql.Tx) error) (err error) {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	if err := f(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// nextID returns one more than the largest id of table, within tx: ids
// assigned by the store rather than by an autoincrement keep the schema
// the same on PostgreSQL.
func nextID(ctx context.Context, tx *sql.Tx, table string) (int64, error) {
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
