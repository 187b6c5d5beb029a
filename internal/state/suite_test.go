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
