package state

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
)

func save(t *testing.T, db *DB, req SaveRequest) *Dashboard {
	t.Helper()
	d, err := db.SaveDashboard(context.Background(), req)
	if err != nil {
		t.Fatalf("SaveDashboard: %v", err)
	}
	return d
}

func testSaveAndConflicts(t *testing.T, tg target) {
	ctx := context.Background()
	db := tg.open(t)
	d1 := save(t, db, SaveRequest{Data: []byte(`{"title": "Host", "tags": ["b", "a", "a", " "], "panels": [], "extra": {"kept": 1}}`), Message: "first"})
	if d1.Version != 1 || len(d1.UID) != 14 || d1.ID != 1 || fmt.Sprint(d1.Tags) != "[a b]" {
		t.Fatalf("first save: %+v", d1)
	}
	got, err := db.GetDashboard(ctx, d1.UID)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf(`{"extra":{"kept":1},"id":1,"panels":[],"tags":["b","a","a"," "],"title":"Host","uid":%q,"version":1}`, d1.UID)
	if string(got.Data) != want {
		t.Errorf("data:\n%s\nwant\n%s", got.Data, want)
	}
	// A change made to version 1 is version 2.
	d2 := save(t, db, SaveRequest{Data: fmt.Appendf(nil, `{"uid": %q, "title": "Host", "version": 1}`, d1.UID), Message: "second"})
	if d2.Version != 2 || d2.ID != 1 {
		t.Fatalf("second save: %+v", d2)
	}
	// Another change made to version 1 is stale.
	_, err = db.SaveDashboard(ctx, SaveRequest{Data: fmt.Appendf(nil, `{"uid": %q, "title": "Host", "version": 1}`, d1.UID)})
	if !errors.Is(err, ErrVersionMismatch) {
		t.Errorf("stale save: %v, want ErrVersionMismatch", err)
	}
	// ... unless it overwrites.
	if d3 := save(t, db, SaveRequest{Data: fmt.Appendf(nil, `{"uid": %q, "title": "Host", "version": 1}`, d1.UID), Overwrite: true}); d3.Version != 3 {
		t.Errorf("overwrite: %+v", d3)
	}
	// Another dashboard with the same title (any case) in the same folder.
	_, err = db.SaveDashboard(ctx, SaveRequest{Data: []byte(`{"title": "host"}`)})
	if !errors.Is(err, ErrNameExists) {
		t.Errorf("same title: %v, want ErrNameExists", err)
	}
	// Overwrite without a uid takes the other's place.
	if d := save(t, db, SaveRequest{Data: []byte(`{"title": "host"}`), Overwrite: true}); d.UID != d1.UID || d.Version != 4 {
		t.Errorf("overwrite by title: %+v", d)
	}
	// In another folder the title is free.
	f, err := db.CreateFolder(ctx, "", "Team")
	if err != nil {
		t.Fatal(err)
	}
	if d := save(t, db, SaveRequest{Data: []byte(`{"title": "Host"}`), FolderUID: f.UID}); d.ID != 2 {
		t.Errorf("other folder: %+v", d)
	}
	if _, err := db.SaveDashboard(ctx, SaveRequest{Data: []byte(`{"title": "x"}`), FolderUID: "nope"}); !errors.Is(err, ErrFolderNotFound) {
		t.Errorf("missing folder: %v", err)
	}
	for _, bad := range []string{`{"title": ""}`, `[]`, `{"title": "y", "version": "abc", "uid": "` + d1.UID + `"}`} {
		if _, err := db.SaveDashboard(ctx, SaveRequest{Data: []byte(bad)}); err == nil {
			t.Errorf("save %s: no error", bad)
		}
	}
	if _, err := db.GetDashboard(ctx, "missing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("get missing: %v", err)
	}
}

func testProvisionedReadOnly(t *testing.T, tg target) {
	ctx := context.Background()
	db := tg.open(t)
	d := save(t, db, SaveRequest{Data: []byte(`{"uid": "p", "title": "P"}`), Provisioner: "files", ProvisionedPath: "/x/p.json", SourceHash: "h1"})
	_, err := db.SaveDashboard(ctx, SaveRequest{Data: []byte(`{"uid": "p", "title": "P", "version": 1}`)})
	if !errors.Is(err, ErrProvisioned) {
		t.Errorf("UI save of provisioned: %v", err)
	}
	// The provider itself may, and a provider that allows UI updates lets
	// the UI save; the dashboard stays provisioned.
	save(t, db, SaveRequest{Data: []byte(`{"uid": "p", "title": "P"}`), Overwrite: true, Provisioner: "files", AllowUIUpdates: true, SourceHash: "h2"})
	d = save(t, db, SaveRequest{Data: []byte(`{"uid": "p", "title": "P", "version": 2}`), Message: "from the UI"})
	if d.Provisioner != "files" || d.SourceHash != "h2" || d.Version != 3 {
		t.Errorf("after a UI save: %+v", d)
	}
}

func testSearch(t *testing.T, tg target) {
	ctx := context.Background()
	db := tg.open(t)
	f, _ := db.CreateFolder(ctx, "team", "Team")
	save(t, db, SaveRequest{Data: []byte(`{"uid": "a", "title": "Node hosts", "tags": ["linux", "prod"]}`)})
	save(t, db, SaveRequest{Data: []byte(`{"uid": "b", "title": "Apps", "tags": ["prod"]}`), FolderUID: f.UID})
	save(t, db, SaveRequest{Data: []byte(`{"uid": "c", "title": "Alerts"}`), Provisioner: "builtin"})
	if err := db.SetStarred(ctx, "b", true); err != nil {
		t.Fatal(err)
	}
	f2 := func(q Query, want string) {
		t.Helper()
		got, err := db.SearchDashboards(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var uids []string
		for _, d := range got {
			uids = append(uids, d.UID)
			if d.Data != nil && len(d.Data) > 0 {
				t.Errorf("search returned data")
			}
		}
		if fmt.Sprint(uids) != want {
			t.Errorf("%+v: got %v, want %s", q, uids, want)
		}
	}
	f2(Query{}, "[c b a]")
	f2(Query{Text: "NODE"}, "[a]")
	f2(Query{Tags: []string{"prod"}}, "[b a]")
	f2(Query{Tags: []string{"prod", "linux"}}, "[a]")
	f2(Query{FolderUIDs: []string{"team"}}, "[b]")
	f2(Query{FolderUIDs: []string{""}}, "[c a]")
	f2(Query{Starred: true}, "[b]")
	f2(Query{Provisioner: "builtin"}, "[c]")
	f2(Query{UIDs: []string{"a", "c"}}, "[c a]")
	f2(Query{Limit: 1}, "[c]")
	f2(Query{Text: "%"}, "[]")
	got, _ := db.SearchDashboards(ctx, Query{UIDs: []string{"a"}})
	if fmt.Sprint(got[0].Tags) != "[linux prod]" {
		t.Errorf("tags %v", got[0].Tags)
	}
	if err := db.DeleteDashboard(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	f2(Query{Tags: []string{"linux"}}, "[]")
	if err := db.DeleteDashboard(ctx, "a"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
	if _, err := db.GetVersion(ctx, "a", 1); !errors.Is(err, ErrNotFound) {
		t.Errorf("versions of a deleted dashboard: %v", err)
	}
}

func testVersionsRestoreDiff(t *testing.T, tg target) {
	ctx := context.Background()
	db := tg.open(t)
	save(t, db, SaveRequest{Data: []byte(`{"uid": "d", "title": "D", "panels": [{"title": "one"}]}`), Message: "v1"})
	save(t, db, SaveRequest{Data: []byte(`{"uid": "d", "title": "D", "version": 1, "panels": [{"title": "two"}, {"title": "new"}], "refresh": "5s"}`), Message: "v2"})
	vs, err := db.Versions(ctx, "d", 0)
	if err != nil || len(vs) != 2 || vs[0].Version != 2 || vs[0].Message != "v2" || vs[1].Message != "v1" {
		t.Fatalf("versions: %+v %v", vs, err)
	}
	changes, err := db.Diff(ctx, "d", 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(changes); got != "[{panels.0.title replace one two} {panels.1 add <nil> map[title:new]} {refresh add <nil> 5s} {version replace 1 2}]" {
		t.Errorf("diff: %s", got)
	}
	d, err := db.RestoreVersion(ctx, "d", 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.Version != 3 {
		t.Errorf("restored as version %d", d.Version)
	}
	changes, _ = db.Diff(ctx, "d", 1, 3)
	if fmt.Sprint(changes) != "[{version replace 1 3}]" {
		t.Errorf("restored content differs: %v", changes)
	}
	vs, _ = db.Versions(ctx, "d", 1)
	if len(vs) != 1 || vs[0].Message != "Restored from version 1" {
		t.Errorf("versions after restore: %+v", vs)
	}
	if _, err := db.RestoreVersion(ctx, "d", 9, nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("restore of a missing version: %v", err)
	}
}

func testFolders(t *testing.T, tg target) {
	ctx := context.Background()
	db := tg.open(t)
	f, err := db.CreateFolder(ctx, "x", "X")
	if err != nil || f.ID != 1 {
		t.Fatal(f, err)
	}
	if _, err := db.CreateFolder(ctx, "", "X"); !errors.Is(err, ErrFolderExists) {
		t.Errorf("same title: %v", err)
	}
	g, err := db.EnsureFolder(ctx, "X")
	if err != nil || g.UID != "x" {
		t.Errorf("EnsureFolder existing: %+v %v", g, err)
	}
	g, err = db.EnsureFolder(ctx, "Y")
	if err != nil || g.ID != 2 {
		t.Errorf("EnsureFolder new: %+v %v", g, err)
	}
	fs, _ := db.Folders(ctx)
	if len(fs) != 2 {
		t.Errorf("folders: %+v", fs)
	}
	if _, err := db.GetFolder(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Error(err)
	}
}

// TestReopen checks migrations apply once and data stays.
func testReopen(t *testing.T, tg target) {
	ctx := context.Background()
	for i := range 3 {
		db := tg.open(t)
		save(t, db, SaveRequest{Data: fmt.Appendf(nil, `{"title": "d%d"}`, i)})
		got, _ := db.SearchDashboards(ctx, Query{})
		if len(got) != i+1 {
			t.Errorf("open %d: %d dashboards", i, len(got))
		}
		db.Close()
	}
}

// testTwoHandles writes through two handles of the same store at once,
// as the server and `argus dashboards import` do, or two argus instances
// sharing a PostgreSQL database: every save lands.
func testTwoHandles(t *testing.T, tg target) {
	ctx := context.Background()
	a, b := tg.open(t), tg.open(t)
	var wg sync.WaitGroup
	for w, db := range []*DB{a, b} {
		wg.Go(func() {
			for i := range 30 {
				if _, err := db.SaveDashboard(ctx, SaveRequest{Data: fmt.Appendf(nil, `{"uid": "u%d-%d", "title": "t%d-%d"}`, w, i, w, i)}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	got, _ := a.SearchDashboards(ctx, Query{})
	if len(got) != 60 {
		t.Errorf("%d dashboards, want 60", len(got))
	}
}

// testSurvivesKill saves from a child process that reports each
// acknowledged save and is killed with SIGKILL while saving: every
// acknowledged save must be there.
func testSurvivesKill(t *testing.T, tg target) {
	cmd := tg.child(t, "dashboards")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	acked := 0
	for sc.Scan() {
		n, err := strconv.Atoi(sc.Text())
		if err != nil {
			continue
		}
		acked = n
		if acked == 40 {
			cmd.Process.Kill() // SIGKILL, while the next save is under way
			break
		}
	}
	cmd.Wait()
	if acked < 40 {
		t.Fatalf("child acknowledged only %d saves", acked)
	}
	db := tg.open(t)
	d, err := db.GetDashboard(context.Background(), "k")
	if err != nil {
		t.Fatal(err)
	}
	if d.Version < acked {
		t.Errorf("after kill -9: version %d, but %d saves were acknowledged", d.Version, acked)
	}
	for v := 1; v <= acked; v++ {
		if got, err := db.GetVersion(context.Background(), "k", v); err != nil || got.Message != strconv.Itoa(v) {
			t.Fatalf("version %d: %+v %v", v, got, err)
		}
	}
}

func FuzzDiffJSON(f *testing.F) {
	f.Add([]byte(`{"a": [1, {"b": 2}]}`), []byte(`{"a": [1, {"b": 3}, 4], "c": null}`))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		changes, err := DiffJSON(a, b)
		if err != nil {
			return
		}
		same, _ := DiffJSON(a, a)
		if len(same) != 0 {
			t.Fatalf("a differs from itself: %v", same)
		}
		_ = changes
	})
}
