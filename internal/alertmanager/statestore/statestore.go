package statestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Record is one value in a bucket.
type Record struct {
	Key   string
	Value []byte
	// Expires is when Expire may delete the record.
	Expires time.Time
}

// Event is one entry of the event log.
type Event struct {
	ID          int64 // assigned by AppendEvents; 0 before
	Time        time.Time
	Kind        string
	Fingerprint string
	Receiver    string
	// Data is the event's details, JSON.
	Data []byte
}

// EventQuery selects events; zero fields do not filter.
type EventQuery struct {
	Kind        string
	Fingerprint string
	Receiver    string
	Since       time.Time
	Until       time.Time
	// Limit bounds the number of events returned, newest first; 0 means
	// DefaultEventLimit.
	Limit int
}

// DefaultEventLimit is the number of events Events returns when the query
// sets no limit, so that an unbounded query cannot return the whole log.
const DefaultEventLimit = 1000

// DB is an open state database.
type DB struct {
	db *sql.DB
}

const schema = `
CREATE TABLE IF NOT EXISTS records (
	bucket  TEXT NOT NULL,
	key     TEXT NOT NULL,
	value   BLOB NOT NULL,
	expires INTEGER NOT NULL,
	PRIMARY KEY (bucket, key)
);
CREATE INDEX IF NOT EXISTS records_expires ON records (expires);
-- A plain INTEGER PRIMARY KEY, not AUTOINCREMENT: that one updates
-- sqlite_sequence on every insert, which halved the append rate. IDs are
-- not reused as long as the newest rows are never deleted (Expire deletes
-- the oldest).
CREATE TABLE IF NOT EXISTS events (
	id          INTEGER PRIMARY KEY,
	time        INTEGER NOT NULL,
	kind        TEXT NOT NULL,
	fingerprint TEXT NOT NULL,
	receiver    TEXT NOT NULL,
	data        BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS events_time ON events (time);
CREATE INDEX IF NOT EXISTS events_fingerprint ON events (fingerprint, time) WHERE fingerprint != '';
CREATE INDEX IF NOT EXISTS events_receiver ON events (receiver, time) WHERE receiver != '';
`

// Open opens (creating if needed) the SQLite database at path.
func Open(ctx context.Context, path string) (*DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create directory for %s: %w", path, err)
	}
	// WAL with synchronous=NORMAL: a commit is durable against a process
	// crash (the WAL is in the OS's page cache) and costs no fsync; only a
	// power loss may drop the last commits. busy_timeout covers a second
	// connection checkpointing. A 32 MiB page cache and memory-mapped
	// reads keep the history's index pages in memory: with SQLite's 2 MiB
	// default, reading them back was most of the cost of appending events.
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(5000)" +
		"&_pragma=cache_size(-32768)&_pragma=mmap_size(268435456)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open state database %s: %w", path, err)
	}
	// SQLite allows one writer; one connection avoids SQLITE_BUSY between
	// our own goroutines and keeps writes ordered.
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("create schema in %s: %w", path, err)
	}
	return &DB{db: db}, nil
}

// Close closes the database.
func (d *DB) Close() error { return d.db.Close() }

// Put stores value under bucket and key, replacing any previous value.
func (d *DB) Put(ctx context.Context, bucket, key string, value []byte, expires time.Time) error {
	_, err := d.db.ExecContext(ctx,
		`INSERT INTO records (bucket, key, value, expires) VALUES (?, ?, ?, ?)
		 ON CONFLICT (bucket, key) DO UPDATE SET value = excluded.value, expires = excluded.expires`,
		bucket, key, value, expires.UnixMilli())
	if err != nil {
		return fmt.Errorf("put %s/%s: %w", bucket, key, err)
	}
	return nil
}

// Delete removes a record; a missing one is not an error.
func (d *DB) Delete(ctx context.Context, bucket, key string) error {
	if _, err := d.db.ExecContext(ctx, `DELETE FROM records WHERE bucket = ? AND key = ?`, bucket, key); err != nil {
		return fmt.Errorf("delete %s/%s: %w", bucket, key, err)
	}
	return nil
}

// List returns every record of a bucket, expired ones included until
// Expire removes them.
func (d *DB) List(ctx context.Context, bucket string) ([]Record, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT key, value, expires FROM records WHERE bucket = ? ORDER BY key`, bucket)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", bucket, err)
	}
	defer rows.Close()
	var out []Record
	for rows.Next() {
		var r Record
		var exp int64
		if err := rows.Scan(&r.Key, &r.Value, &exp); err != nil {
			return nil, fmt.Errorf("list %s: %w", bucket, err)
		}
		r.Expires = time.UnixMilli(exp)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list %s: %w", bucket, err)
	}
	return out, nil
}

// Expire deletes the records that expired before now, the events older
// than eventsBefore and, if maxEvents > 0, the oldest events past the
// newest maxEvents, and returns how many rows it deleted.
func (d *DB) Expire(ctx context.Context, now, eventsBefore time.Time, maxEvents int) (int64, error) {
	r1, err := d.db.ExecContext(ctx, `DELETE FROM records WHERE expires < ?`, now.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("expire records: %w", err)
	}
	r2, err := d.db.ExecContext(ctx, `DELETE FROM events WHERE time < ?`, eventsBefore.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("expire events: %w", err)
	}
	n1, _ := r1.RowsAffected()
	n2, _ := r2.RowsAffected()
	n := n1 + n2
	if maxEvents > 0 {
		// IDs grow by one per event and only the oldest rows are deleted,
		// so the newest maxEvents are those above max(id) - maxEvents: two
		// lookups in the rowid tree, where counting would read every row.
		// Were there gaps, fewer would be kept, never more.
		r3, err := d.db.ExecContext(ctx, `DELETE FROM events WHERE id <= (SELECT max(id) FROM events) - ?`, maxEvents)
		if err != nil {
			return n, fmt.Errorf("trim events to the newest %d: %w", maxEvents, err)
		}
		n3, _ := r3.RowsAffected()
		n += n3
	}
	return n, nil
}

// AppendEvents appends events in one transaction.
func (d *DB) AppendEvents(ctx context.Context, events []Event) (err error) {
	if len(events) == 0 {
		return nil
	}
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("append events: %w", err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO events (time, kind, fingerprint, receiver, data) VALUES (?, ?, ?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("append events: %w", err)
	}
	defer stmt.Close()
	for i := range events {
		e := &events[i]
		data := e.Data
		if data == nil {
			data = []byte("{}")
		}
		res, err := stmt.ExecContext(ctx, e.Time.UnixMilli(), e.Kind, e.Fingerprint, e.Receiver, data)
		if err != nil {
			return fmt.Errorf("append %s event: %w", e.Kind, err)
		}
		e.ID, _ = res.LastInsertId()
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("append events: %w", err)
	}
	return nil
}

// Events returns the events q selects, newest first.
func (d *DB) Events(ctx context.Context, q EventQuery) ([]Event, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		where = append(where, cond)
		args = append(args, v)
	}
	if q.Kind != "" {
		add("kind = ?", q.Kind)
	}
	// The != '' terms let SQLite use the partial indexes (an event has a
	// fingerprint or a receiver, so each row is in one of them only, which
	// halves the index writes of a busy history).
	if q.Fingerprint != "" {
		add("fingerprint = ? AND fingerprint != ''", q.Fingerprint)
	}
	if q.Receiver != "" {
		add("receiver = ? AND receiver != ''", q.Receiver)
	}
	if !q.Since.IsZero() {
		add("time >= ?", q.Since.UnixMilli())
	}
	if !q.Until.IsZero() {
		add("time <= ?", q.Until.UnixMilli())
	}
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultEventLimit
	}
	query := `SELECT id, time, kind, fingerprint, receiver, data FROM events`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY time DESC, id DESC LIMIT ?"
	args = append(args, limit)
	rows, err := d.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("query events: %w", err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var t int64
		if err := rows.Scan(&e.ID, &t, &e.Kind, &e.Fingerprint, &e.Receiver, &e.Data); err != nil {
			return nil, fmt.Errorf("query events: %w", err)
		}
		e.Time = time.UnixMilli(t)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("query events: %w", err)
	}
	return out, nil
}
