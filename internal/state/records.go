package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// The alert manager's state: records in buckets (silences, the
// notification log), which expire, and the event log of the alert
// history.

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

// AppendEvents appends events in one transaction and sets their IDs.
// It takes no write lock on PostgreSQL: the ids come from an identity
// column, so appends from several instances do not collide.
func (d *DB) AppendEvents(ctx context.Context, events []Event) (err error) {
	if len(events) == 0 {
		return nil
	}
	sqlTx, err := d.db.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("append events: %w", err)
	}
	defer func() {
		if err != nil {
			sqlTx.Rollback()
		}
	}()
	tx := &txn{r: sqlTx, pg: d.db.pg}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO events (time, kind, fingerprint, receiver, data) VALUES (?, ?, ?, ?, ?) RETURNING id`)
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
		if err := stmt.QueryRowContext(ctx, e.Time.UnixMilli(), e.Kind, e.Fingerprint, e.Receiver, data).Scan(&e.ID); err != nil {
			return fmt.Errorf("append %s event: %w", e.Kind, err)
		}
	}
	if err := sqlTx.Commit(); err != nil {
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
