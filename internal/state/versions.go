package state

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// Version is one saved version of a dashboard.
type Version struct {
	DashboardUID string
	Version      int
	Message      string
	Created      time.Time
	// Data is the dashboard JSON as saved; empty in Versions' list.
	Data []byte
}

// Versions lists a dashboard's versions, newest first; limit 0 means all.
func (d *DB) Versions(ctx context.Context, uid string, limit int) ([]Version, error) {
	if _, err := d.GetDashboard(ctx, uid); err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = math.MaxInt32 // "no limit" in a form both drivers take
	}
	rows, err := d.db.QueryContext(ctx, `SELECT version, message, created FROM dashboard_versions
		WHERE dashboard_uid = ? ORDER BY version DESC LIMIT ?`, uid, limit)
	if err != nil {
		return nil, fmt.Errorf("list versions of %s: %w", uid, err)
	}
	defer rows.Close()
	out := []Version{}
	for rows.Next() {
		v := Version{DashboardUID: uid}
		var c int64
		if err := rows.Scan(&v.Version, &v.Message, &c); err != nil {
			return nil, fmt.Errorf("list versions of %s: %w", uid, err)
		}
		v.Created = time.UnixMilli(c)
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list versions of %s: %w", uid, err)
	}
	return out, nil
}

// GetVersion returns one version of a dashboard with its data.
func (d *DB) GetVersion(ctx context.Context, uid string, version int) (*Version, error) {
	v := Version{DashboardUID: uid, Version: version}
	var c int64
	var data string
	err := d.db.QueryRowContext(ctx, `SELECT message, data, created FROM dashboard_versions
		WHERE dashboard_uid = ? AND version = ?`, uid, version).Scan(&v.Message, &data, &c)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("version %d of dashboard %s: %w", version, uid, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get version %d of dashboard %s: %w", version, uid, err)
	}
	v.Created, v.Data = time.UnixMilli(c), []byte(data)
	return &v, nil
}

// RestoreVersion saves the content of an old version as a new version,
// with report as its compatibility report.
func (d *DB) RestoreVersion(ctx context.Context, uid string, version int, report []byte) (*Dashboard, error) {
	cur, err := d.GetDashboard(ctx, uid)
	if err != nil {
		return nil, err
	}
	v, err := d.GetVersion(ctx, uid, version)
	if err != nil {
		return nil, err
	}
	data, err := patch(v.Data, map[string]any{"version": cur.Version})
	if err != nil {
		return nil, fmt.Errorf("restore version %d of %s: %w", version, uid, err)
	}
	return d.SaveDashboard(ctx, SaveRequest{
		Data: data, FolderUID: cur.FolderUID, Message: fmt.Sprintf("Restored from version %d", version),
		Report: report,
	})
}

// Change is one difference between two JSON documents.
type Change struct {
	// Path is the JSON path of the value, as keys and indexes
	// ("panels.3.title").
	Path string `json:"path"`
	// Op is "add", "remove" or "replace".
	Op  string `json:"op"`
	Old any    `json:"old,omitempty"`
	New any    `json:"new,omitempty"`
}

// Diff returns the changes from version a to version b of a dashboard.
func (d *DB) Diff(ctx context.Context, uid string, a, b int) ([]Change, error) {
	va, err := d.GetVersion(ctx, uid, a)
	if err != nil {
		return nil, err
	}
	vb, err := d.GetVersion(ctx, uid, b)
	if err != nil {
		return nil, err
	}
	return DiffJSON(va.Data, vb.Data)
}

// DiffJSON returns the changes from JSON document a to b, in path order.
func DiffJSON(a, b []byte) ([]Change, error) {
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		return nil, fmt.Errorf("diff: %w", err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		return nil, fmt.Errorf("diff: %w", err)
	}
	out := []Change{}
	diff("", x, y, &out)
	return out, nil
}

func diff(path string, a, b any, out *[]Change) {
	join := func(k string) string {
		if path == "" {
			return k
		}
		return path + "." + k
	}
	switch av := a.(type) {
	case map[string]any:
		bv, ok := b.(map[string]any)
		if !ok {
			break
		}
		for _, k := range sortedKeys(av, bv) {
			x, inA := av[k]
			y, inB := bv[k]
			switch {
			case !inB:
				*out = append(*out, Change{Path: join(k), Op: "remove", Old: x})
			case !inA:
				*out = append(*out, Change{Path: join(k), Op: "add", New: y})
			default:
				diff(join(k), x, y, out)
			}
		}
		return
	case []any:
		bv, ok := b.([]any)
		if !ok {
			break
		}
		for i := range max(len(av), len(bv)) {
			k := fmt.Sprint(i)
			switch {
			case i >= len(bv):
				*out = append(*out, Change{Path: join(k), Op: "remove", Old: av[i]})
			case i >= len(av):
				*out = append(*out, Change{Path: join(k), Op: "add", New: bv[i]})
			default:
				diff(join(k), av[i], bv[i], out)
			}
		}
		return
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) != string(jb) {
		*out = append(*out, Change{Path: path, Op: "replace", Old: a, New: b})
	}
}

func sortedKeys(a, b map[string]any) []string {
	seen := map[string]bool{}
	var keys []string
	for _, m := range []map[string]any{a, b} {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	slices.Sort(keys)
	return keys
}
