package postgres

import (
	"context"
	"errors"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	dto "github.com/prometheus/client_model/go"
	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"go.uber.org/goleak"

	"github.com/argus-mon/argus/internal/config"
	"github.com/argus-mon/argus/internal/integration"
	"github.com/argus-mon/argus/internal/integration/integrationtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newInstance(t *testing.T, cfg config.Integration) *integration.Instance {
	t.Helper()
	cfg.Name, cfg.Type = "db", "postgres"
	if cfg.Timeout == 0 {
		cfg.Timeout = model.Duration(20 * time.Second)
	}
	return integrationtest.NewInstance(t, cfg, New)
}

func gather(t *testing.T, in *integration.Instance) []*dto.MetricFamily {
	t.Helper()
	fams, err := in.Gather()
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

// exec runs SQL statements on a connection of its own.
func execSQL(t *testing.T, dsn string, stmts ...string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// notProduced are the metrics of postgres_exporter 0.11.1's default output
// argus does not produce, with why; docs/integrations.md lists them too.
var notProduced = map[string]string{
	"pg_exporter_last_scrape_duration_seconds": "the exporter's own health: argus has scrape_duration_seconds and the target's last error",
	"pg_exporter_last_scrape_error":            "idem",
	"pg_exporter_scrapes_total":                "idem",
	"pg_scrape_collector_duration_seconds":     "idem",
	"pg_scrape_collector_success":              "idem",
	"postgres_exporter_build_info":             "describes the exporter",
	"pg_exporter_user_queries_load_error":      "the exporter's loading of its queries file",
}

// notInExporter are argus's metrics postgres_exporter 0.11.1 does not
// have, with why.
var notInExporter = map[string]string{
	"pg_replication_is_replica": "from the exporter's replication collector of 0.13 and later",
}

// exporterFamilies runs Debian's postgres_exporter against dsn, with the
// example queries argus follows, and returns what it serves.
func exporterFamilies(t *testing.T, dsn string) []*dto.MetricFamily {
	t.Helper()
	bin, err := exec.LookPath("prometheus-postgres-exporter")
	if err != nil {
		t.Fatalf("prometheus-postgres-exporter is needed by this test; install the Debian package prometheus-postgres-exporter (.ci/run does): %v", err)
	}
	queries, err := filepath.Abs(filepath.Join("testdata", "queries.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	listen := integrationtest.FreeAddr(t)
	cmd := exec.Command(bin, "--web.listen-address="+listen, "--extend.query-path="+queries)
	cmd.Env = append(os.Environ(), "DATA_SOURCE_NAME="+dsn)
	integrationtest.StartCmd(t, cmd, "postgres_exporter", t.TempDir(), "tcp", listen)
	var out []*dto.MetricFamily
	for _, f := range integrationtest.Scrape(t, "http://"+listen+"/metrics") {
		if name := f.GetName(); strings.HasPrefix(name, "go_") || strings.HasPrefix(name, "process_") || strings.HasPrefix(name, "promhttp_") {
			continue
		}
		out = append(out, f)
	}
	return out
}

// compare checks that every metric argus produces is the exporter's, with
// the same type and label names, and that argus produces every metric of
// the exporter not listed in notProduced.
func compare(t *testing.T, ours, theirs []*dto.MetricFamily) {
	t.Helper()
	o, w := integrationtest.Shapes(ours), integrationtest.Shapes(theirs)
	t.Logf("argus produces %d families, postgres_exporter %d", len(o), len(w))
	for name, s := range o {
		ws, ok := w[name]
		switch {
		case !ok && notInExporter[name] == "":
			t.Errorf("%s: postgres_exporter 0.11.1 has no such metric", name)
		case ok && ws != s:
			t.Errorf("%s: ours %+v, postgres_exporter's %+v", name, s, ws)
		}
	}
	for name := range w {
		if _, ok := o[name]; !ok && notProduced[name] == "" {
			t.Errorf("%s: produced by postgres_exporter, not by argus, and not listed as such", name)
		}
	}
	if bad := integrationtest.LabelsAgree(ours); len(bad) > 0 {
		t.Errorf("series with differing label names: %v", bad)
	}
}

func value(t *testing.T, fams []*dto.MetricFamily, name string, labels ...string) float64 {
	t.Helper()
	v, ok := integrationtest.Value(fams, name, labels...)
	if !ok {
		t.Errorf("no series %s%v", name, labels)
	}
	return v
}

// TestMatchesPostgresExporter compares argus with postgres_exporter on a
// primary with a streaming replica, and on the replica. Both together
// have every series the built-in dashboard and the example rules query.
func TestMatchesPostgresExporter(t *testing.T) {
	primary := integrationtest.Postgres(t)
	replica := integrationtest.PostgresReplica(t, primary, "replica1")
	execSQL(t, primary.DSN(), "CREATE TABLE t (x int)", "INSERT INTO t VALUES (1), (2)")
	waitStreaming(t, primary.DSN())

	var all [][]*dto.MetricFamily
	for _, c := range []struct {
		name    string
		server  *integrationtest.PostgresServer
		replica bool
	}{{"primary", primary, false}, {"replica", replica, true}} {
		t.Run(c.name, func(t *testing.T) {
			in := newInstance(t, config.Integration{DSN: commoncfg.Secret(c.server.DSN())})
			ours := gather(t, in)
			all = append(all, ours)
			theirs := exporterFamilies(t, c.server.DSN())
			compare(t, ours, theirs)
			settingsAgree(t, ours, theirs)
			addr := c.server.Addr
			if v := value(t, ours, "pg_up"); v != 1 {
				t.Errorf("pg_up = %v", v)
			}
			if v := value(t, ours, "pg_database_size_bytes", "datname", "postgres", "server", addr); v < 1e6 {
				t.Errorf("pg_database_size_bytes{datname=postgres} = %v", v)
			}
			if v := value(t, ours, "pg_stat_activity_count", "datname", "postgres", "state", "active"); v < 1 {
				t.Errorf("pg_stat_activity_count{datname=postgres,state=active} = %v, want argus's own session at least", v)
			}
			if v := value(t, ours, "pg_locks_count", "datname", "postgres", "mode", "accesssharelock"); v < 1 {
				t.Errorf("pg_locks_count{accesssharelock} = %v, want argus's own query's lock", v)
			}
			if v := value(t, ours, "pg_settings_shared_buffers_bytes"); v != 128<<20 {
				t.Errorf("pg_settings_shared_buffers_bytes = %v", v)
			}
			isReplica := 0.0
			if c.replica {
				isReplica = 1
			}
			if v := value(t, ours, "pg_replication_is_replica"); v != isReplica {
				t.Errorf("pg_replication_is_replica = %v, want %v", v, isReplica)
			}
			if v := value(t, ours, "pg_static", "server", addr); v != 1 {
				t.Errorf("pg_static = %v", v)
			}
			if start := value(t, ours, "pg_postmaster_start_time_seconds"); math.Abs(start-float64(time.Now().Unix())) > 600 {
				t.Errorf("pg_postmaster_start_time_seconds = %v", start)
			}
			if c.replica {
				return
			}
			if v := value(t, ours, "pg_replication_lag"); v != 0 {
				t.Errorf("pg_replication_lag = %v on the primary", v)
			}
			if v := value(t, ours, "pg_replication_slots_active", "slot_name", "replica1", "database", ""); v != 1 {
				t.Errorf("pg_replication_slots_active{slot_name=replica1} = %v", v)
			}
			if _, ok := integrationtest.Value(ours, "pg_stat_replication_pg_wal_lsn_diff", "slot_name", "replica1", "state", "streaming", "client_addr", "127.0.0.1"); !ok {
				t.Error("no pg_stat_replication_pg_wal_lsn_diff for the replica")
			}
		})
	}
	integrationtest.CheckQueries(t, "postgres", all...)
}

// sessionSettings are settings the client sets for its session: each
// reports its own.
var sessionSettings = map[string]bool{"pg_settings_extra_float_digits": true}

// settingsAgree checks that argus converts every setting to the value the
// exporter reports.
func settingsAgree(t *testing.T, ours, theirs []*dto.MetricFamily) {
	t.Helper()
	n := 0
	for _, f := range theirs {
		name := f.GetName()
		if !strings.HasPrefix(name, "pg_settings_") || len(f.Metric) != 1 || sessionSettings[name] {
			continue
		}
		want := f.Metric[0].GetGauge().GetValue()
		got, ok := integrationtest.Value(ours, name)
		if !ok || got != want {
			t.Errorf("%s = %v (present %v), postgres_exporter says %v", name, got, ok, want)
		}
		n++
	}
	if n < 100 {
		t.Errorf("only %d settings compared", n)
	}
}

// waitStreaming waits until the primary sees a streaming replica.
func waitStreaming(t *testing.T, dsn string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	deadline := time.Now().Add(60 * time.Second)
	for {
		var n int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the replica does not stream after 60s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestConnectionSettings(t *testing.T) {
	srv := integrationtest.Postgres(t)
	execSQL(t, srv.DSN(),
		"CREATE ROLE monitor LOGIN PASSWORD 'monitor-pw' IN ROLE pg_monitor",
		"CREATE DATABASE private", "REVOKE CONNECT ON DATABASE private FROM PUBLIC")
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte(integrationtest.PostgresPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(srv.Addr)
	for _, c := range []struct {
		name string
		cfg  config.Integration
	}{
		{"dsn with password", config.Integration{DSN: commoncfg.Secret(srv.DSN())}},
		{"dsn and password file", config.Integration{DSN: commoncfg.Secret("postgres://postgres@" + srv.Addr + "/postgres"), PasswordFile: pwFile}},
		{"keyword dsn and user", config.Integration{DSN: commoncfg.Secret("host=" + host + " port=" + port + " dbname=postgres sslmode=disable"), Username: "monitor", Password: "monitor-pw"}},
		{"address", config.Integration{Address: srv.Addr, Username: "postgres", Password: integrationtest.PostgresPassword}},
		{"unix socket", config.Integration{Address: srv.Socket, Username: "postgres", Password: integrationtest.PostgresPassword}},
		{"pg_monitor role", config.Integration{Address: srv.Addr, Username: "monitor", Password: "monitor-pw"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			fams := gather(t, newInstance(t, c.cfg))
			if v := value(t, fams, "pg_up"); v != 1 {
				t.Errorf("pg_up = %v", v)
			}
			value(t, fams, "pg_stat_database_xact_commit", "datname", "postgres")
		})
	}
}

func TestAuthenticationFails(t *testing.T) {
	srv := integrationtest.Postgres(t)
	for _, c := range []struct {
		name string
		cfg  config.Integration
		want string
	}{
		{"wrong password", config.Integration{Address: srv.Addr, Username: "postgres", Password: "wrong-horse"}, "connect: server refused the credentials"},
		{"wrong password in dsn", config.Integration{DSN: commoncfg.Secret("postgres://postgres:wrong-horse@" + srv.Addr + "/postgres?sslmode=disable")}, "connect: server refused the credentials"},
		{"no such user", config.Integration{Address: srv.Addr, Username: "nobody", Password: "wrong-horse"}, "connect: server refused the credentials"},
		{"missing password file", config.Integration{Address: srv.Addr, PasswordFile: "/nonexistent/pw"}, "read password_file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			fams, err := newInstance(t, c.cfg).Gather()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
			if strings.Contains(err.Error(), "wrong-horse") || strings.Contains(err.Error(), integrationtest.PostgresPassword) {
				t.Errorf("the error shows a password: %v", err)
			}
			if v := value(t, fams, "pg_up"); v != 0 {
				t.Errorf("pg_up = %v, want 0", v)
			}
		})
	}
}

func TestFaults(t *testing.T) {
	for _, c := range []struct {
		name    string
		address func(t testing.TB) string
		want    string
		timeout bool
		dsn     bool // connect with sslmode=disable rather than by address (TLS preferred)
	}{
		{"down", integrationtest.FreeAddr, "connect: connection refused", false, false},
		{"silent", integrationtest.Silent, "no answer within the timeout of 2s: connect:", true, false},
		{"silent plain", integrationtest.Silent, "no answer within the timeout of 2s: connect:", true, true},
		{"http, TLS preferred", httpServer, "tls error: server refused TLS connection", false, false},
		{"http", httpServer, "failed to receive message: invalid body length", false, true},
		{"garbage message", func(t testing.TB) string {
			return integrationtest.Fake(t, func(c net.Conn) {
				buf := make([]byte, 1024)
				c.Read(buf)
				// A message type PostgreSQL does not send, with a huge length.
				c.Write([]byte{'!', 0x7f, 0xff, 0xff, 0xff, 1, 2, 3})
			})
		}, "failed to receive message: invalid body length", false, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			addr := c.address(t)
			cfg := config.Integration{Address: addr, Username: "postgres", Password: "secret-pw", Timeout: model.Duration(2 * time.Second)}
			if c.dsn {
				cfg.Address, cfg.DSN = "", commoncfg.Secret("postgres://postgres:secret-pw@"+addr+"/postgres?sslmode=disable")
			}
			start := time.Now()
			fams, err := newInstance(t, cfg).Gather()
			var ce *integration.CollectError
			if !errors.As(err, &ce) {
				t.Fatalf("got %v, want a CollectError", err)
			}
			t.Logf("error: %v", err)
			if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), addr) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q does not name %s and contain %q", err, addr, c.want)
			}
			if strings.Contains(err.Error(), "secret-pw") {
				t.Errorf("the error shows the password: %v", err)
			}
			if ce.Timeout != c.timeout {
				t.Errorf("Timeout = %v, want %v", ce.Timeout, c.timeout)
			}
			if took := time.Since(start); took > 15*time.Second {
				t.Errorf("the collection took %v with a timeout of 2s", took)
			}
			if v := value(t, fams, "pg_up"); v != 0 {
				t.Errorf("pg_up = %v, want 0", v)
			}
		})
	}
}

// httpServer starts a server that answers as an HTTP server does to what
// it does not understand.
func httpServer(t testing.TB) string {
	return integrationtest.Fake(t, func(c net.Conn) {
		buf := make([]byte, 1024)
		c.Read(buf)
		c.Write([]byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"))
	})
}

// TestReconnect ends argus's session on the server between collections:
// the next collection reconnects at once.
func TestReconnect(t *testing.T) {
	srv := integrationtest.Postgres(t)
	in := newInstance(t, config.Integration{DSN: commoncfg.Secret(srv.DSN())})
	gather(t, in)
	execSQL(t, srv.DSN(), "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'argus'")
	if v := value(t, gather(t, in), "pg_up"); v != 1 {
		t.Errorf("pg_up = %v after the session was ended", v)
	}
}

// TestRefusedQuery: a query the server refuses loses its own metrics and
// makes the error say which; the others are reported and pg_up stays 1.
func TestRefusedQuery(t *testing.T) {
	srv := integrationtest.Postgres(t)
	execSQL(t, srv.DSN(), "CREATE ROLE weak LOGIN PASSWORD 'weak-pw'", "REVOKE SELECT ON pg_stat_archiver FROM PUBLIC")
	fams, err := newInstance(t, config.Integration{Address: srv.Addr, Username: "weak", Password: "weak-pw"}).Gather()
	if err == nil || !strings.Contains(err.Error(), "query pg_stat_archiver") || !strings.Contains(err.Error(), "permission denied") {
		t.Fatalf("got %v, want pg_stat_archiver's permission error", err)
	}
	if v := value(t, fams, "pg_up"); v != 1 {
		t.Errorf("pg_up = %v", v)
	}
	value(t, fams, "pg_stat_database_xact_commit", "datname", "postgres")
	if _, ok := integrationtest.Value(fams, "pg_stat_archiver_archived_count"); ok {
		t.Error("pg_stat_archiver_archived_count reported although refused")
	}
}

func TestBadDSN(t *testing.T) {
	cfg := config.Integration{Name: "db", Type: "postgres", DSN: "postgres://u:hunter2@h:5432/x?sslmode=bogus", Timeout: model.Duration(time.Second)}
	_, err := integration.New(&cfg, New, nil)
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("got %v, want an error without the password", err)
	}
}
