package state

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Dashboard is a stored dashboard. Data is its JSON, with uid, id, title
// and version kept equal to the fields.
type Dashboard struct {
	ID        int64
	UID       string
	Title     string
	FolderUID string
	Tags      []string
	Starred   bool
	// Provisioner is the name of the provider that owns the dashboard;
	// empty if it was saved through the API or the CLI.
	Provisioner     string
	ProvisionedPath string
	// AllowUIUpdates lets the API save a provisioned dashboard.
	AllowUIUpdates bool
	// SourceHash identifies the provisioned file's content, so that an
	// unchanged file is not saved again.
	SourceHash string
	// Report is the compatibility report of the current version, as the
	// caller gave it (JSON); the store does not read it.
	Report  []byte
	Version int
	Data    []byte
	Created time.Time
	Updated time.Time
}

// SaveRequest is a dashboard to save.
type SaveRequest struct {
	// Data is the dashboard JSON; its uid (generated if empty), title and
	// tags are read from it, and its id and version are set by Save.
	Data      []byte
	FolderUID string
	// Version is the version the change was made to (the dashboard's
	// "version"); a save from a stale version fails with
	// ErrVersionMismatch unless Overwrite.
	Overwrite bool
	Message   string
	// Provisioner, ProvisionedPath, AllowUIUpdates and SourceHash are set
	// by provisioning; a save without Provisioner of a dashboard that has
	// one fails with ErrProvisioned unless it allows UI updates.
	Provisioner     string
	ProvisionedPath string
	AllowUIUpdates  bool
	SourceHash      string
	// Report is stored with the dashboard (see Dashboard.Report).
	Report []byte
}

// header is what the store reads from a dashboard's JSON.
type header struct {
	UID     string   `json:"uid"`
	Title   string   `json:"title"`
	Tags    []string `json:"tags"`
	Version any      `json:"version"`
}

// SaveDashboard saves a new version of a dashboard, with Grafana's
// conflict rules: ErrVersionMismatch for a change made to an older
// version, ErrNameExists for a title taken in the folder (with Overwrite
// and no uid, the save replaces that dashboard), ErrFolderNotFound,
// ErrProvisioned.
func (d *DB) SaveDashboard(ctx context.Context, req SaveRequest) (*Dashboard, error) {
	var h header
	if err := json.Unmarshal(req.Data, &h); err != nil {
		return nil, fmt.Errorf("save dashboard: %w", err)
	}
	h.Title = strings.TrimSpace(h.Title)
	if h.Title == "" {
		return nil, fmt.Errorf("save dashboard: the title is empty")
	}
	var out *Dashboard
	err := d.tx(ctx, func(tx *txn) error {
		var err error
		out, err = d.save(ctx, tx, req, h)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("save dashboard %q: %w", h.Title, err)
	}
	return out, nil
}

func (d *DB) save(ctx context.Context, tx *txn, req SaveRequest, h header) (*Dashboard, error) {
	if req.FolderUID != "" {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM folders WHERE uid = ?`, req.FolderUID).Scan(&n); err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, ErrFolderNotFound
		}
	}
	// A dashboard of the same title in the folder.
	var sameTitle string
	err := tx.QueryRowContext(ctx, `SELECT uid FROM dashboards WHERE folder_uid = ? AND title_lower = ?`,
		req.FolderUID, strings.ToLower(h.Title)).Scan(&sameTitle)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	if sameTitle != "" && sameTitle != h.UID {
		if !req.Overwrite || h.UID != "" {
			return nil, ErrNameExists
		}
		h.UID = sameTitle
	}
	if h.UID == "" {
		h.UID = NewUID()
	}
	old, err := getDashboard(ctx, tx, h.UID)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	now := d.now()
	dash := &Dashboard{UID: h.UID, Title: h.Title, FolderUID: req.FolderUID, Tags: cleanTags(h.Tags),
		Provisioner: req.Provisioner, ProvisionedPath: req.ProvisionedPath, AllowUIUpdates: req.AllowUIUpdates,
		SourceHash: req.SourceHash, Report: req.Report, Version: 1, Created: now, Updated: now}
	if old != nil {
		if old.Provisioner != "" && req.Provisioner == "" && !old.AllowUIUpdates {
			return nil, ErrProvisioned
		}
		if v, ok := versionOf(h.Version); !req.Overwrite && (!ok || v != old.Version) {
			return nil, ErrVersionMismatch
		}
		if req.Provisioner == "" {
			// A UI save keeps the dashboard provisioned (its file still
			// owns it); the change lasts until the file changes.
			dash.Provisioner, dash.ProvisionedPath, dash.AllowUIUpdates = old.Provisioner, old.ProvisionedPath, old.AllowUIUpdates
			dash.SourceHash = old.SourceHash
		}
		dash.ID, dash.Version, dash.Created, dash.Starred = old.ID, old.Version+1, old.Created, old.Starred
	} else if dash.ID, err = nextID(ctx, tx, "dashboards"); err != nil {
		return nil, err
	}
	if dash.Data, err = patch(req.Data, map[string]any{"uid": dash.UID, "id": dash.ID, "version": dash.Version, "title": dash.Title}); err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO dashboards (uid, id, title, title_lower, folder_uid, starred,
			provisioner, provisioned_path, allow_ui_updates, source_hash, report, version, data, created, updated)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (uid) DO UPDATE SET title = excluded.title, title_lower = excluded.title_lower,
			folder_uid = excluded.folder_uid, provisioner = excluded.provisioner,
			provisioned_path = excluded.provisioned_path, allow_ui_updates = excluded.allow_ui_updates,
			source_hash = excluded.source_hash, report = excluded.report, version = excluded.version, data = excluded.data,
			updated = excluded.updated`,
		dash.UID, dash.ID, dash.Title, strings.ToLower(dash.Title), dash.FolderUID, boolInt(dash.Starred),
		dash.Provisioner, dash.ProvisionedPath, boolInt(dash.AllowUIUpdates), dash.SourceHash, string(dash.Report), dash.Version,
		string(dash.Data), dash.Created.UnixMilli(), now.UnixMilli()); err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM dashboard_tags WHERE dashboard_uid = ?`, dash.UID); err != nil {
		return nil, err
	}
	for _, tag := range dash.Tags {
		if _, err := tx.ExecContext(ctx, `INSERT INTO dashboard_tags (dashboard_uid, tag) VALUES (?, ?)`, dash.UID, tag); err != nil {
			return nil, err
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO dashboard_versions (dashboard_uid, version, message, data, created)
		VALUES (?, ?, ?, ?, ?)`, dash.UID, dash.Version, req.Message, string(dash.Data), now.UnixMilli()); err != nil {
		return nil, err
	}
	return dash, nil
}

// versionOf reads a dashboard's "version", a number (or absent: 0).
func versionOf(v any) (int, bool) {
	switch v := v.(type) {
	case nil:
		return 0, true
	case float64:
		return int(v), v == float64(int(v))
	}
	return 0, false
}

func cleanTags(tags []string) []string {
	out := []string{}
	for _, t := range tags {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// patch sets top-level fields of a JSON object, keeping the others as
// they are.
func patch(data []byte, fields map[string]any) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	for k, v := range fields {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		m[k] = b
	}
	return json.Marshal(m)
}

const selectDashboard = `SELECT uid, id, title, folder_uid, starred, provisioner, provisioned_path,
	allow_ui_updates, source_hash, report, version, data, created, updated FROM dashboards`

type scanner interface{ Scan(...any) error }

func scanDashboard(s scanner) (*Dashboard, error) {
	var d Dashboard
	var starred, allow int
	var data, report string
	var c, u int64
	if err := s.Scan(&d.UID, &d.ID, &d.Title, &d.FolderUID, &starred, &d.Provisioner, &d.ProvisionedPath,
		&allow, &d.SourceHash, &report, &d.Version, &data, &c, &u); err != nil {
		return nil, err
	}
	d.Starred, d.AllowUIUpdates, d.Data = starred != 0, allow != 0, []byte(data)
	if report != "" {
		d.Report = []byte(report)
	}
	d.Created, d.Updated = time.UnixMilli(c), time.UnixMilli(u)
	return &d, nil
}

type querier interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}

func getDashboard(ctx context.Context, q querier, uid string) (*Dashboard, error) {
	d, err := scanDashboard(q.QueryRowContext(ctx, selectDashboard+` WHERE uid = ?`, uid))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("dashboard %s: %w", uid, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	rows, err := q.QueryContext(ctx, `SELECT tag FROM dashboard_tags WHERE dashboard_uid = ? ORDER BY tag`, uid)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	d.Tags = []string{}
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, err
		}
		d.Tags = append(d.Tags, t)
	}
	return d, rows.Err()
}

// GetDashboard returns the dashboard with uid, or an error wrapping
// ErrNotFound.
func (d *DB) GetDashboard(ctx context.Context, uid string) (*Dashboard, error) {
	dash, err := getDashboard(ctx, d.db, uid)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("get dashboard %s: %w", uid, err)
	}
	return dash, err
}

// DeleteDashboard deletes a dashboard and its versions.
func (d *DB) DeleteDashboard(ctx context.Context, uid string) error {
	err := d.tx(ctx, func(tx *txn) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM dashboards WHERE uid = ?`, uid)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete dashboard %s: %w", uid, err)
	}
	return nil
}

// SetStarred stars or unstars a dashboard. (Stars are per instance until
// argus has users.)
func (d *DB) SetStarred(ctx context.Context, uid string, starred bool) error {
	res, err := d.db.ExecContext(ctx, `UPDATE dashboards SET starred = ? WHERE uid = ?`, boolInt(starred), uid)
	if err != nil {
		return fmt.Errorf("star dashboard %s: %w", uid, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("star dashboard %s: %w", uid, ErrNotFound)
	}
	return nil
}

// Query selects dashboards; zero fields do not filter.
type Query struct {
	// Text matches titles containing it, ignoring case.
	Text string
	// Tags must all be on the dashboard.
	Tags []string
	// FolderUIDs: the dashboard is in one of them ("" is the top level,
	// Grafana's "General").
	FolderUIDs []string
	UIDs       []string
	Starred    bool
	// Provisioner selects the dashboards of one provider.
	Provisioner string
	// Limit bounds the result; 0 means 1000.
	Limit int
}

// SearchDashboards returns the dashboards matching q, by title, without
// their Data.
func (d *DB) SearchDashboards(ctx context.Context, q Query) ([]Dashboard, error) {
	var where []string
	var args []any
	if q.Text != "" {
		where = append(where, `title_lower LIKE ? ESCAPE '\'`)
		args = append(args, "%"+likeEscaper.Replace(strings.ToLower(q.Text))+"%")
	}
	for _, t := range q.Tags {
		where = append(where, `uid IN (SELECT dashboard_uid FROM dashboard_tags WHERE tag = ?)`)
		args = append(args, t)
	}
	in := func(col string, vals []string) {
		where = append(where, col+` IN (`+strings.TrimSuffix(strings.Repeat("?, ", len(vals)), ", ")+`)`)
		for _, v := range vals {
			args = append(args, v)
		}
	}
	if len(q.FolderUIDs) > 0 {
		in("folder_uid", q.FolderUIDs)
	}
	if len(q.UIDs) > 0 {
		in("uid", q.UIDs)
	}
	if q.Starred {
		where = append(where, `starred = 1`)
	}
	if q.Provisioner != "" {
		where = append(where, `provisioner = ?`)
		args = append(args, q.Provisioner)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 1000
	}
	query := `SELECT d.uid, d.id, d.title, d.folder_uid, d.starred, d.provisioner, d.provisioned_path,
		d.allow_ui_updates, d.source_hash, '', d.version, '', d.created, d.updated,
		COALESCE((SELECT ` + d.db.stringAgg("tag") + ` FROM dashboard_tags t WHERE t.dashboard_uid = d.uid), '')
		FROM dashboards d`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, ` AND `)
	}
	query += ` ORDER BY title_lower, uid LIMIT ?`
	args = append(args, limit)
	rows, err := d.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("search dashboards: %w", err)
	}
	defer rows.Close()
	var out []Dashboard
	for rows.Next() {
		var tags string
		dash, err := scanDashboard(scanFunc(func(dest ...any) error { return rows.Scan(append(dest, &tags)...) }))
		if err != nil {
			return nil, fmt.Errorf("search dashboards: %w", err)
		}
		dash.Tags = []string{}
		if tags != "" {
			dash.Tags = strings.Split(tags, "\x1f")
			slices.Sort(dash.Tags)
		}
		out = append(out, *dash)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("search dashboards: %w", err)
	}
	return out, nil
}

// likeEscaper escapes LIKE's wildcards, so that a search for "50%" finds
// that text, not every title starting with 50.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

type scanFunc func(...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }

// NewUID returns a random dashboard or folder uid: 14 characters from
// Grafana's uid alphabet.
func NewUID() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, 14)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
