package provision

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/argus-mon/argus/internal/state"
)

func TestSync(t *testing.T) {
	ctx := context.Background()
	db, err := state.Open(ctx, filepath.Join(t.TempDir(), state.File))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a.json", `{"uid": "a", "title": "A", "schemaVersion": 14, "rows": [{"panels": [{"type": "graph", "datasource": "${DS_PROMETHEUS}"}]}]}`)
	write("sub/b.json", `{"title": "B", "panels": []}`)
	write("notes.txt", `not a dashboard`)
	p := New(db, nil, nil)
	team := FromDir("team", "Team", dir, false)
	res, err := p.Sync(ctx, []Provider{Builtin(), team})
	if err != nil || res != (Result{Saved: 6}) {
		t.Fatalf("first sync: %+v %v", res, err)
	}
	a, err := db.GetDashboard(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	if a.Provisioner != "team" || a.AllowUIUpdates || a.ProvisionedPath != filepath.Join(dir, "a.json") || a.Version != 1 {
		t.Errorf("a: %+v", a)
	}
	if !strings.Contains(string(a.Data), `"type":"timeseries"`) || !strings.Contains(string(a.Data), `"uid":"argus"`) {
		t.Errorf("a not migrated: %s", a.Data)
	}
	f, _ := db.GetFolder(ctx, a.FolderUID)
	if f == nil || f.Title != "Team" {
		t.Errorf("folder %+v", f)
	}
	host, err := db.GetDashboard(ctx, "argus-host")
	if err != nil || host.Provisioner != BuiltinName {
		t.Errorf("built-in host dashboard: %+v %v", host, err)
	}
	// The same files again: nothing to do; the uid of b is stable.
	bs, _ := db.SearchDashboards(ctx, state.Query{Text: "B", Provisioner: "team"})
	res, err = p.Sync(ctx, []Provider{Builtin(), team})
	if err != nil || res != (Result{Unchanged: 6}) {
		t.Errorf("second sync: %+v %v", res, err)
	}
	bs2, _ := db.SearchDashboards(ctx, state.Query{Text: "B", Provisioner: "team"})
	if len(bs) != 1 || len(bs2) != 1 || bs[0].UID != bs2[0].UID {
		t.Errorf("uid of a file without one changed: %v %v", bs, bs2)
	}
	// A changed file is saved as a new version; a broken one keeps its
	// dashboard; a removed one deletes it.
	write("a.json", `{"uid": "a", "title": "A2", "panels": []}`)
	write("sub/b.json", `{"title": `)
	res, err = p.Sync(ctx, []Provider{Builtin(), team})
	if err == nil || !strings.Contains(err.Error(), "b.json") || res != (Result{Saved: 1, Unchanged: 4}) {
		t.Errorf("third sync: %+v %v", res, err)
	}
	if a, _ := db.GetDashboard(ctx, "a"); a.Title != "A2" || a.Version != 2 {
		t.Errorf("a after change: %+v", a)
	}
	if _, err := db.GetDashboard(ctx, bs[0].UID); err != nil {
		t.Errorf("b deleted while its file is broken: %v", err)
	}
	os.Remove(filepath.Join(dir, "sub/b.json"))
	res, err = p.Sync(ctx, []Provider{Builtin(), team})
	if err != nil || res.Deleted != 1 {
		t.Errorf("fourth sync: %+v %v", res, err)
	}
	// A uid saved through the API is not taken over.
	if _, err := db.SaveDashboard(ctx, state.SaveRequest{Data: []byte(`{"uid": "mine", "title": "Mine"}`)}); err != nil {
		t.Fatal(err)
	}
	write("mine.json", `{"uid": "mine", "title": "Theirs"}`)
	_, err = p.Sync(ctx, []Provider{Builtin(), team})
	if err == nil || !strings.Contains(err.Error(), "taken by a dashboard saved through the API") {
		t.Errorf("uid clash: %v", err)
	}
	// An integration type's dashboard comes with the type and goes
	// without it.
	res, err = p.Sync(ctx, []Provider{Builtin("redis", "redis", "memcached"), team})
	if res.Saved != 2 {
		t.Errorf("sync with redis and memcached: %+v %v", res, err)
	}
	for _, uid := range []string{"argus-redis", "argus-memcached"} {
		if d, err := db.GetDashboard(ctx, uid); err != nil || d.Provisioner != BuiltinName || d.FolderUID != host.FolderUID {
			t.Errorf("%s: %+v %v", uid, d, err)
		}
	}
	res, _ = p.Sync(ctx, []Provider{Builtin("memcached"), team})
	if res.Deleted != 1 {
		t.Errorf("sync without redis: %+v", res)
	}
	if _, err := db.GetDashboard(ctx, "argus-redis"); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("argus-redis without a redis integration: %v", err)
	}
	// Without the built-in provider, its dashboards go.
	res, _ = p.Sync(ctx, []Provider{team})
	if res.Deleted != 5 {
		t.Errorf("built-ins off: %+v", res)
	}
	if _, err := db.GetDashboard(ctx, "argus-host"); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("argus-host: %v", err)
	}
}
