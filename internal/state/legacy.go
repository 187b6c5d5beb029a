package state

import (
	"context"
	"database/sql"
	"fmt"
	"os"
)

// ImportAlertmanagerFile copies the silences, notification log and alert
// history from path, the SQLite database the alert manager kept by itself
// before it moved into this store, and renames the file to path +
// ".imported" so that it is copied once. Records replace those of the
// same key; events are copied only into an empty event log, so that an
// import interrupted before the rename does not copy them twice.
func (d *DB) ImportAlertmanagerFile(ctx context.Context, path string) (records, events int, err error) {
	if _, err := os.Stat(path); err != nil {
		return 0, 0, fmt.Errorf("import %s: %w", path, err)
	}
	old, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return 0, 0, fmt.Errorf("import %s: %w", path, err)
	}
	defer old.Close()
	err = d.tx(ctx, func(tx *txn) error {
		rows, err := old.QueryContext(ctx, `SELECT bucket, key, value, expires FROM records`)
		if err != nil {
			return fmt.Errorf("read records: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var bucket, key string
			var value []byte
			var expires int64
			if err := rows.Scan(&bucket, &key, &value, &expires); err != nil {
				return fmt.Errorf("read records: %w", err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO records (bucket, key, value, expires) VALUES (?, ?, ?, ?)
				ON CONFLICT (bucket, key) DO UPDATE SET value = excluded.value, expires = excluded.expires`,
				bucket, key, value, expires); err != nil {
				return fmt.Errorf("copy record %s/%s: %w", bucket, key, err)
			}
			records++
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read records: %w", err)
		}
		var have int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM events LIMIT 1) e`).Scan(&have); err != nil {
			return err
		}
		if have > 0 {
			return nil
		}
		erows, err := old.QueryContext(ctx, `SELECT time, kind, fingerprint, receiver, data FROM events ORDER BY id`)
		if err != nil {
			return fmt.Errorf("read events: %w", err)
		}
		defer erows.Close()
		for erows.Next() {
			var t int64
			var kind, fp, recv string
			var data []byte
			if err := erows.Scan(&t, &kind, &fp, &recv, &data); err != nil {
				return fmt.Errorf("read events: %w", err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO events (time, kind, fingerprint, receiver, data) VALUES (?, ?, ?, ?, ?)`,
				t, kind, fp, recv, data); err != nil {
				return fmt.Errorf("copy event: %w", err)
			}
			events++
		}
		return erows.Err()
	})
	if err != nil {
		return 0, 0, fmt.Errorf("import %s: %w", path, err)
	}
	if err := os.Rename(path, path+".imported"); err != nil {
		return records, events, fmt.Errorf("imported %s, but could not rename it: %w", path, err)
	}
	// The old file's WAL and shared-memory files go with it.
	os.Remove(path + "-wal")
	os.Remove(path + "-shm")
	return records, events, nil
}
