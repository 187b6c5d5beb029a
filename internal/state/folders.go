package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Folder is a folder of dashboards.
type Folder struct {
	ID      int64
	UID     string
	Title   string
	Created time.Time
	Updated time.Time
}

// CreateFolder creates a folder; an empty uid gets a generated one.
func (d *DB) CreateFolder(ctx context.Context, uid, title string) (*Folder, error) {
	title = strings.TrimSpace(title)
	if title == "" {
		return nil, fmt.Errorf("create folder: the title is empty")
	}
	if uid == "" {
		uid = NewUID()
	}
	now := d.now()
	f := &Folder{UID: uid, Title: title, Created: now, Updated: now}
	err := d.tx(ctx, func(tx *txn) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM folders WHERE uid = ? OR title = ?`, uid, title).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return ErrFolderExists
		}
		id, err := nextID(ctx, tx, "folders")
		if err != nil {
			return err
		}
		f.ID = id
		_, err = tx.ExecContext(ctx, `INSERT INTO folders (uid, id, title, created, updated) VALUES (?, ?, ?, ?, ?)`,
			uid, id, title, now.UnixMilli(), now.UnixMilli())
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("create folder %q: %w", title, err)
	}
	return f, nil
}

// EnsureFolder returns the folder titled title, creating it if needed
// (provisioning names folders by title).
func (d *DB) EnsureFolder(ctx context.Context, title string) (*Folder, error) {
	fs, err := d.Folders(ctx)
	if err != nil {
		return nil, err
	}
	for _, f := range fs {
		if f.Title == title {
			return &f, nil
		}
	}
	f, err := d.CreateFolder(ctx, "", title)
	if errors.Is(err, ErrFolderExists) {
		// Created by another process in between.
		return d.EnsureFolder(ctx, title)
	}
	return f, err
}

// Folders returns every folder, by title.
func (d *DB) Folders(ctx context.Context) ([]Folder, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT id, uid, title, created, updated FROM folders ORDER BY title`)
	if err != nil {
		return nil, fmt.Errorf("list folders: %w", err)
	}
	defer rows.Close()
	var out []Folder
	for rows.Next() {
		var f Folder
		var c, u int64
		if err := rows.Scan(&f.ID, &f.UID, &f.Title, &c, &u); err != nil {
			return nil, fmt.Errorf("list folders: %w", err)
		}
		f.Created, f.Updated = time.UnixMilli(c), time.UnixMilli(u)
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list folders: %w", err)
	}
	return out, nil
}

// GetFolder returns the folder with uid, or ErrNotFound.
func (d *DB) GetFolder(ctx context.Context, uid string) (*Folder, error) {
	var f Folder
	var c, u int64
	err := d.db.QueryRowContext(ctx, `SELECT id, uid, title, created, updated FROM folders WHERE uid = ?`, uid).
		Scan(&f.ID, &f.UID, &f.Title, &c, &u)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("folder %s: %w", uid, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get folder %s: %w", uid, err)
	}
	f.Created, f.Updated = time.UnixMilli(c), time.UnixMilli(u)
	return &f, nil
}
