package state

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

func testRecords(t *testing.T, tg target) {
	ctx := context.Background()
	db := tg.open(t)
	now := time.Now()
	if err := db.Put(ctx, "silences", "a", []byte("1"), now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := db.Put(ctx, "silences", "a", []byte("2"), now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := db.Put(ctx, "silences", "old", []byte("x"), now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := db.Put(ctx, "nflog", "a", []byte("y"), now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	recs, err := db.List(ctx, "silences")
	if err != nil || len(recs) != 2 || string(recs[0].Value) != "2" {
		t.Fatalf("List = %v, %v", recs, err)
	}
	n, err := db.Expire(ctx, now, now.Add(-time.Hour), 0)
	if err != nil || n != 1 {
		t.Fatalf("Expire = %d, %v; want 1", n, err)
	}
	db.Close()

	// Reopened, the data is still there.
	db = tg.open(t)
	recs, _ = db.List(ctx, "silences")
	if len(recs) != 1 || recs[0].Key != "a" {
		t.Fatalf("after reopen: %v", recs)
	}
	if err := db.Delete(ctx, "silences", "a"); err != nil {
		t.Fatal(err)
	}
	recs, _ = db.List(ctx, "silences")
	if len(recs) != 0 {
		t.Fatalf("after delete: %v", recs)
	}
}

func testEvents(t *testing.T, tg target) {
	ctx := context.Background()
	db := tg.open(t)
	base := time.UnixMilli(1_700_000_000_000)
	var evs []Event
	for i := range 10 {
		kind := "state"
		if i%2 == 1 {
			kind = "notification"
		}
		evs = append(evs, Event{Time: base.Add(time.Duration(i) * time.Second), Kind: kind, Fingerprint: "fp1", Receiver: "r"})
	}
	if err := db.AppendEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	if evs[0].ID == 0 || evs[9].ID != evs[0].ID+9 {
		t.Errorf("event ids %d..%d", evs[0].ID, evs[9].ID)
	}
	got, err := db.Events(ctx, EventQuery{Kind: "notification", Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !got[0].Time.Equal(base.Add(9*time.Second)) || string(got[0].Data) != "{}" {
		t.Fatalf("Events = %+v", got)
	}
	got, _ = db.Events(ctx, EventQuery{Since: base.Add(8 * time.Second)})
	if len(got) != 2 {
		t.Fatalf("since: %d events, want 2", len(got))
	}
	if _, err := db.Expire(ctx, base, base.Add(5*time.Second), 0); err != nil {
		t.Fatal(err)
	}
	got, _ = db.Events(ctx, EventQuery{})
	if len(got) != 5 {
		t.Fatalf("after expire: %d events, want 5", len(got))
	}
	// A size bound keeps the newest events, whatever their age.
	n, err := db.Expire(ctx, base, base, 3)
	if err != nil || n != 2 {
		t.Fatalf("trim to 3: %d deleted, %v; want 2", n, err)
	}
	got, _ = db.Events(ctx, EventQuery{})
	if len(got) != 3 || !got[0].Time.Equal(base.Add(9*time.Second)) || !got[2].Time.Equal(base.Add(7*time.Second)) {
		t.Fatalf("after trim: %+v", got)
	}
	// New events after a trim are kept, the oldest go.
	if err := db.AppendEvents(ctx, []Event{{Time: base.Add(10 * time.Second), Kind: "state"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Expire(ctx, base, base, 3); err != nil {
		t.Fatal(err)
	}
	got, _ = db.Events(ctx, EventQuery{})
	if len(got) != 3 || !got[0].Time.Equal(base.Add(10*time.Second)) || !got[2].Time.Equal(base.Add(8*time.Second)) {
		t.Fatalf("after a second trim: %+v", got)
	}
	// An empty log is no error.
	if _, err := db.Expire(ctx, base, base.Add(time.Hour), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Expire(ctx, base, base, 3); err != nil {
		t.Fatal(err)
	}
}

// testRecordsSurviveKill puts records from a child process killed with
// SIGKILL while writing: every acknowledged record must be there.
func testRecordsSurviveKill(t *testing.T, tg target) {
	cmd := tg.child(t, "records")
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
		if n, err := strconv.Atoi(sc.Text()); err == nil {
			acked = n
		}
		if acked == 100 {
			cmd.Process.Kill()
			break
		}
	}
	cmd.Wait()
	if acked < 100 {
		t.Fatalf("child acknowledged only %d records", acked)
	}
	recs, err := tg.open(t).List(context.Background(), "b")
	if err != nil || len(recs) < acked {
		t.Fatalf("after kill -9: %d records, %v; %d were acknowledged", len(recs), err, acked)
	}
}

// testConcurrentWriters has 50 goroutines write at once, as UI and API
// users do: no write fails (SQLite's "database is locked" among them).
func testConcurrentWriters(t *testing.T, tg target) {
	ctx := context.Background()
	db := tg.open(t)
	var wg sync.WaitGroup
	for w := range 50 {
		wg.Go(func() {
			for i := range 10 {
				var err error
				switch i % 3 {
				case 0:
					_, err = db.SaveDashboard(ctx, SaveRequest{Data: fmt.Appendf(nil, `{"uid": "w%d-%d", "title": "w%d-%d"}`, w, i, w, i)})
				case 1:
					err = db.Put(ctx, "silences", fmt.Sprintf("%d-%d", w, i), []byte("{}"), time.Now().Add(time.Hour))
				case 2:
					err = db.AppendEvents(ctx, []Event{{Time: time.Now(), Kind: "state", Fingerprint: "f"}})
				}
				if err != nil {
					t.Errorf("writer %d, write %d: %v", w, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	got, err := db.SearchDashboards(ctx, Query{})
	if err != nil || len(got) != 200 {
		t.Errorf("%d dashboards (%v), want 200", len(got), err)
	}
}

func FuzzEventQuery(f *testing.F) {
	db, err := Open(context.Background(), filepath.Join(f.TempDir(), File))
	if err != nil {
		f.Fatal(err)
	}
	defer db.Close()
	f.Add("state", "fp", "r'; DROP TABLE events; --", 10)
	f.Fuzz(func(t *testing.T, kind, fp, recv string, limit int) {
		if _, err := db.Events(context.Background(), EventQuery{Kind: kind, Fingerprint: fp, Receiver: recv, Limit: limit}); err != nil {
			t.Fatal(err)
		}
	})
}

// TestImportAlertmanagerFile copies the alert manager's old database into
// the store once.
func TestImportAlertmanagerFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	oldPath := filepath.Join(dir, "alertmanager.db")
	old, err := sql.Open("sqlite", "file:"+oldPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`CREATE TABLE records (bucket TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, expires INTEGER NOT NULL, PRIMARY KEY (bucket, key))`,
		`CREATE TABLE events (id INTEGER PRIMARY KEY, time INTEGER NOT NULL, kind TEXT NOT NULL, fingerprint TEXT NOT NULL, receiver TEXT NOT NULL, data BLOB NOT NULL)`,
		`INSERT INTO records VALUES ('silences', 's1', x'7b7d', 4102444800000), ('nflog', 'n1', x'00', 4102444800000)`,
		`INSERT INTO events (time, kind, fingerprint, receiver, data) VALUES (1, 'state', 'f', '', '{}'), (2, 'notification', '', 'r', '{}')`,
	} {
		if _, err := old.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	old.Close()
	db := target{path: filepath.Join(dir, File)}.open(t)
	recs, evs, err := db.ImportAlertmanagerFile(ctx, oldPath)
	if err != nil || recs != 2 || evs != 2 {
		t.Fatalf("import: %d records, %d events, %v", recs, evs, err)
	}
	got, _ := db.List(ctx, "silences")
	if len(got) != 1 || string(got[0].Value) != "{}" {
		t.Errorf("silences after import: %+v", got)
	}
	if e, _ := db.Events(ctx, EventQuery{}); len(e) != 2 || e[0].Kind != "notification" {
		t.Errorf("events after import: %+v", e)
	}
	if _, err := os.Stat(oldPath + ".imported"); err != nil {
		t.Errorf("old file not renamed: %v", err)
	}
	if _, _, err := db.ImportAlertmanagerFile(ctx, oldPath); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("second import: %v, want not exist", err)
	}
}
