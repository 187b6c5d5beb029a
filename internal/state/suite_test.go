package state

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/argus-mon/argus/internal/integration/integrationtest"
)

// target is where a test's store lives: a SQLite file or a PostgreSQL
// database. Each open is a new handle on the same store.
type target struct {
	path, dsn string
}

func (tg target) open(t testing.TB) *DB {
	t.Helper()
	db, err := OpenWith(context.Background(), tg.options())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func (tg target) options() Options {
	if tg.dsn != "" {
		return Options{Driver: DriverPostgres, DSN: tg.dsn}
	}
	return Options{Path: tg.path}
}

// child returns a command running this test binary as a writer (see
// TestChildWriter) of the given kind on the store.
func (tg target) child(t *testing.T, kind string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^TestChildWriter$")
	cmd.Env = append(os.Environ(), "STATE_CHILD="+kind, "STATE_CHILD_PATH="+tg.path, "STATE_CHILD_DSN="+tg.dsn)
	return cmd
}

// suite is the store's test suite, run on SQLite and on PostgreSQL.
var suite = []struct {
	name string
	f    func(*testing.T, target)
}{
	{"SaveAndConflicts", testSaveAndConflicts},
	{"ProvisionedReadOnly", testProvisionedReadOnly},
	{"Search", testSearch},
	{"VersionsRestoreDiff", testVersionsRestoreDiff},
	{"Folders", testFolders},
	{"Reopen", testReopen},
	{"TwoHandles", testTwoHandles},
	{"SurvivesKill", testSurvivesKill},
	{"Records", testRecords},
	{"Events", testEvents},
	{"RecordsSurviveKill", testRecordsSurviveKill},
	{"ConcurrentWriters", testConcurrentWriters},
	{"Users", testUsers},
	{"LastAdmin", testLastAdmin},
}

func TestSQLite(t *testing.T) {
	for _, c := range suite {
		t.Run(c.name, func(t *testing.T) {
			c.f(t, target{path: filepath.Join(t.TempDir(), File)})
		})
	}
}

// TestPostgres runs the suite on a real PostgreSQL server, each test in a
// database of its own.
func TestPostgres(t *testing.T) {
	srv := integrationtest.Postgres(t)
	admin, err := sql.Open("pgx", srv.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	for i, c := range suite {
		t.Run(c.name, func(t *testing.T) {
			name := fmt.Sprintf("suite_%d", i)
			if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
				t.Fatal(err)
			}
			c.f(t, target{dsn: strings.Replace(srv.DSN(), "/postgres?", "/"+name+"?", 1)})
		})
	}
}

// TestChildWriter is the child process of the kill -9 tests: it writes
// until killed and prints each write's number once acknowledged.
func TestChildWriter(t *testing.T) {
	kind := os.Getenv("STATE_CHILD")
	if kind == "" {
		t.Skip("run by the kill -9 tests only")
	}
	ctx := context.Background()
	tg := target{path: os.Getenv("STATE_CHILD_PATH"), dsn: os.Getenv("STATE_CHILD_DSN")}
	db, err := OpenWith(ctx, tg.options())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	for i := 1; ; i++ {
		switch kind {
		case "dashboards":
			_, err = db.SaveDashboard(ctx, SaveRequest{Data: fmt.Appendf(nil, `{"uid": "k", "title": "K", "n": %d}`, i), Overwrite: true, Message: strconv.Itoa(i)})
		case "records":
			err = db.Put(ctx, "b", strconv.Itoa(i), []byte("v"), time.Now().Add(time.Hour))
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(4)
		}
		fmt.Fprintln(os.Stdout, i)
	}
}

// TestMigrateToPostgres copies a SQLite store with rows in every table
// into PostgreSQL, and checks the copy answers as the original did and
// takes new rows.
func TestMigrateToPostgres(t *testing.T) {
	ctx := context.Background()
	src := target{path: filepath.Join(t.TempDir(), File)}.open(t)
	fill(t, src)
	// A backup of the source, taken while it is open, holds the same.
	backup := filepath.Join(t.TempDir(), "backup.db")
	if err := src.Backup(ctx, backup); err != nil {
		t.Fatal(err)
	}
	srv := integrationtest.Postgres(t)
	dst := target{dsn: srv.DSN()}.open(t)
	counts, err := src.CopyTo(ctx, dst)
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range tables {
		if counts[tb] == 0 {
			t.Errorf("no rows of %s copied", tb)
		}
	}
	for _, db := range []*DB{dst, target{path: backup}.open(t)} {
		d, err := db.GetDashboard(ctx, "m")
		if err != nil || d.Version != 2 {
			t.Errorf("%s: dashboard: %+v %v", db.Driver(), d, err)
		}
		if got, _ := db.SearchDashboards(ctx, Query{Tags: []string{"t"}}); len(got) != 1 {
			t.Errorf("%s: search by tag: %d", db.Driver(), len(got))
		}
		if u, err := db.GetUser(ctx, "ann"); err != nil || u.PasswordHash != "h" {
			t.Errorf("%s: user: %+v %v", db.Driver(), u, err)
		}
		if tok, err := db.GetTokenByHash(ctx, "th"); err != nil || tok.Name != "ci" {
			t.Errorf("%s: token: %+v %v", db.Driver(), tok, err)
		}
	}
	// New events and audit entries continue after the copied ids.
	ev := []Event{{Time: time.Now(), Kind: "state"}}
	if err := dst.AppendEvents(ctx, ev); err != nil || ev[0].ID != 3 {
		t.Errorf("event after migration: id %d, %v", ev[0].ID, err)
	}
	if err := dst.AppendAudit(ctx, AuditEntry{Actor: "a", Action: "x"}); err != nil {
		t.Error(err)
	}
	// A second migration into the same database is refused.
	if _, err := src.CopyTo(ctx, dst); err == nil || !strings.Contains(err.Error(), "empty database") {
		t.Errorf("migration into a used database: %v", err)
	}
}

// fill puts rows in every table.
func fill(t *testing.T, db *DB) {
	t.Helper()
	ctx := context.Background()
	f, err := db.CreateFolder(ctx, "", "F")
	if err != nil {
		t.Fatal(err)
	}
	save(t, db, SaveRequest{Data: []byte(`{"uid": "m", "title": "M", "tags": ["t"]}`), FolderUID: f.UID})
	save(t, db, SaveRequest{Data: []byte(`{"uid": "m", "title": "M", "tags": ["t"], "version": 1}`)})
	if err := db.Put(ctx, "silences", "s", []byte{0, 1}, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := db.AppendEvents(ctx, []Event{{Time: time.Now(), Kind: "state"}, {Time: time.Now(), Kind: "notification"}}); err != nil {
		t.Fatal(err)
	}
	u, err := db.CreateUser(ctx, User{Name: "ann", Role: "admin", PasswordHash: "h"})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateSession(ctx, Session{IDHash: "s", UserID: u.ID, CSRF: "c", Created: time.Now(), Expires: time.Now().Add(time.Hour), LastSeen: time.Now()}, u); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateToken(ctx, Token{Name: "ci", Hash: "th", Role: "viewer", CreatedBy: "ann"}); err != nil {
		t.Fatal(err)
	}
	if err := db.AppendAudit(ctx, AuditEntry{Actor: "ann", Action: "user.create"}); err != nil {
		t.Fatal(err)
	}
}
