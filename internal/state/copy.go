package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// tables are the store's tables in an order that keeps foreign keys
// satisfied while copying.
var tables = []string{
	"folders", "dashboards", "dashboard_tags", "dashboard_versions",
	"records", "events", "users", "sessions", "tokens", "audit",
}

// identityTables have ids PostgreSQL generates, whose sequence must move
// past the copied ids.
var identityTables = []string{"events", "audit"}

// CopyTo copies every row of the store into dst, which must be empty (a
// new database: its migrations applied, no rows), in one transaction on
// dst, and returns the rows copied per table. This is `argus state
// migrate`.
func (d *DB) CopyTo(ctx context.Context, dst *DB) (map[string]int, error) {
	counts := map[string]int{}
	// One read transaction on the source: every table is read as of one
	// moment, so that a store in use copies with its references whole.
	srcTx, err := d.db.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("read the source: %w", err)
	}
	defer srcTx.Rollback()
	src := &txn{r: srcTx, pg: d.db.pg}
	err = dst.tx(ctx, func(tx *txn) error {
		for _, t := range tables {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM `+t).Scan(&n); err != nil {
				return fmt.Errorf("count %s in the destination: %w", t, err)
			}
			if n > 0 {
				return fmt.Errorf("the destination's table %s has %d rows; migrate into an empty database", t, n)
			}
		}
		for _, t := range tables {
			n, err := copyTable(ctx, src, tx, t)
			if err != nil {
				return err
			}
			counts[t] = n
		}
		if dst.db.pg {
			for _, t := range identityTables {
				if _, err := tx.ExecContext(ctx, `SELECT setval(pg_get_serial_sequence('`+t+`', 'id'), COALESCE((SELECT max(id) FROM `+t+`), 0) + 1, false)`); err != nil {
					return fmt.Errorf("move the id sequence of %s: %w", t, err)
				}
			}
		}
		return nil
	})
	return counts, err
}

func copyTable(ctx context.Context, src, tx *txn, table string) (int, error) {
	rows, err := src.QueryContext(ctx, `SELECT * FROM `+table)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", table, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", table, err)
	}
	insert := `INSERT INTO ` + table + ` (` + strings.Join(cols, ", ") + `) VALUES (` +
		strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + `)`
	stmt, err := tx.PrepareContext(ctx, insert)
	if err != nil {
		return 0, fmt.Errorf("copy %s: %w", table, err)
	}
	defer stmt.Close()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	n := 0
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return n, fmt.Errorf("read %s: %w", table, err)
		}
		if _, err := stmt.ExecContext(ctx, vals...); err != nil {
			return n, fmt.Errorf("copy a row of %s: %w", table, err)
		}
		n++
	}
	return n, rows.Err()
}

// Backup writes a consistent copy of a SQLite store to path, which must
// not exist, while the store is in use (VACUUM INTO reads one snapshot).
// This is `argus state backup`.
func (d *DB) Backup(ctx context.Context, path string) error {
	if d.db.pg {
		return errors.New("backup copies a SQLite store; back PostgreSQL up with pg_dump")
	}
	if _, err := d.db.ExecContext(ctx, `VACUUM INTO ?`, path); err != nil {
		return fmt.Errorf("back up the state store to %s: %w", path, err)
	}
	return nil
}
