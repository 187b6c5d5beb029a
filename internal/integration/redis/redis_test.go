package redis

import (
	"bufio"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/model"
	"go.uber.org/goleak"

	"github.com/argus-mon/argus/internal/config"
	"github.com/argus-mon/argus/internal/integration"
	"github.com/argus-mon/argus/internal/integration/integrationtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newInstance(t *testing.T, cfg config.Integration) *integration.Instance {
	t.Helper()
	cfg.Name, cfg.Type = "sessions", "redis"
	return integrationtest.NewInstance(t, cfg, New)
}

// do runs commands on a connection of its own and returns their replies.
func do(t *testing.T, addr string, cmds ...[]string) []any {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var buf []byte
	for _, cmd := range cmds {
		buf = appendCommand(buf, cmd...)
	}
	if _, err := c.Write(buf); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(c)
	var out []any
	for range cmds {
		v, err := readReply(r)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

// notProduced are redis_exporter 1.45's metrics argus does not produce,
// with why; docs/integrations.md lists them too.
var notProduced = map[string]string{
	"redis_exporter_last_scrape_connect_time_seconds":    "the exporter's own health: argus has scrape_duration_seconds and the target's last error",
	"redis_exporter_last_scrape_duration_seconds":        "idem",
	"redis_exporter_last_scrape_error":                   "idem",
	"redis_exporter_scrape_duration_seconds":             "idem",
	"redis_exporter_scrapes_total":                       "idem",
	"redis_target_scrape_request_errors_total":           "idem",
	"redis_last_key_groups_scrape_duration_milliseconds": "key groups (-check-key-groups) are not supported",
}

// exporterFamilies runs Debian's redis_exporter against addr and returns
// what it serves.
func exporterFamilies(t *testing.T, addr string, args ...string) []*dto.MetricFamily {
	t.Helper()
	listen := integrationtest.FreeAddr(t)
	args = append([]string{"-redis.addr", "redis://" + addr, "-web.listen-address", listen, "-redis-only-metrics"}, args...)
	integrationtest.Start(t, "prometheus-redis-exporter", "prometheus-redis-exporter", t.TempDir(), "tcp", listen, args...)
	return integrationtest.Scrape(t, "http://"+listen+"/metrics")
}

func TestMatchesRedisExporter(t *testing.T) {
	addr := integrationtest.Redis(t)
	do(t, addr,
		[]string{"SET", "a", "1"}, []string{"GET", "a"}, []string{"GET", "missing"},
		[]string{"SELECT", "3"}, []string{"SET", "b", "2", "EX", "100"},
		[]string{"NOSUCHCOMMAND"}, // an error reply, for redis_errors_total
	)
	// Both read the same server; each sees the other's commands in
	// Commandstats, so both run once before the comparison.
	in := newInstance(t, config.Integration{Address: addr})
	if _, err := in.Gather(); err != nil {
		t.Fatal(err)
	}
	theirs := integrationtest.Shapes(exporterFamilies(t, addr))
	fams, err := in.Gather()
	if err != nil {
		t.Fatal(err)
	}
	ours := integrationtest.Shapes(fams)
	t.Logf("argus produces %d families, redis_exporter %d", len(ours), len(theirs))
	for name, s := range ours {
		w, ok := theirs[name]
		switch {
		case !ok:
			t.Errorf("%s: redis_exporter 1.45 has no such metric", name)
		case w != s:
			t.Errorf("%s: ours %+v, redis_exporter's %+v", name, s, w)
		}
	}
	for name := range theirs {
		if _, ok := ours[name]; !ok && notProduced[name] == "" {
			t.Errorf("%s: produced by redis_exporter, not by argus, and not listed as such", name)
		}
	}
	if bad := integrationtest.LabelsAgree(fams); len(bad) > 0 {
		t.Errorf("series with differing label names: %v", bad)
	}
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"redis_up", nil, 1},
		{"redis_db_keys", []string{"db", "db0"}, 1},
		{"redis_db_keys", []string{"db", "db3"}, 1},
		{"redis_db_keys_expiring", []string{"db", "db3"}, 1},
		{"redis_db_keys", []string{"db", "db15"}, 0},
		{"redis_keyspace_hits_total", nil, 1},
		{"redis_keyspace_misses_total", nil, 1},
		{"redis_config_maxclients", nil, 10000},
		{"redis_instance_info", []string{"role", "master"}, 1},
	} {
		if v, ok := integrationtest.Value(fams, c.name, c.labels...); !ok || v != c.want {
			t.Errorf("%s%v = %v (present %v), want %v", c.name, c.labels, v, ok, c.want)
		}
	}
}

// TestReplicationMatchesRedisExporter compares the replication metrics of
// a master with a replica, and of the replica. Both together have every
// series the built-in dashboard and the example rules query.
func TestReplicationMatchesRedisExporter(t *testing.T) {
	master := integrationtest.Redis(t)
	host, port, _ := net.SplitHostPort(master)
	replica := integrationtest.Redis(t, "--replicaof", host, port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		text, _ := do(t, replica, []string{"INFO", "replication"})[0].(string)
		if strings.Contains(text, "master_link_status:up") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the replica did not connect:\n%s", text)
		}
		time.Sleep(50 * time.Millisecond)
	}
	do(t, master, []string{"SET", "a", "1", "EX", "100"}, []string{"GET", "a"}, []string{"GET", "missing"},
		[]string{"NOSUCHCOMMAND"})
	var all [][]*dto.MetricFamily
	for _, addr := range []string{master, replica} {
		fams, err := newInstance(t, config.Integration{Address: addr}).Gather()
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, fams)
		ours := integrationtest.Shapes(fams)
		theirs := integrationtest.Shapes(exporterFamilies(t, addr))
		for name, s := range ours {
			if w, ok := theirs[name]; !ok || w != s {
				t.Errorf("%s: ours %+v, redis_exporter's %+v (present %v)", name, s, w, ok)
			}
		}
		for name := range theirs {
			if _, ok := ours[name]; !ok && notProduced[name] == "" && (strings.Contains(name, "slave") || strings.Contains(name, "master")) {
				t.Errorf("%s: replication metric of redis_exporter missing", name)
			}
		}
	}
	integrationtest.CheckQueries(t, "redis", all...)
}

func TestAuthentication(t *testing.T) {
	const password = "correct-horse"
	addr := integrationtest.Redis(t, "--requirepass", password)
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		cfg  config.Integration
		want string // "" for success
	}{
		{"password", config.Integration{Password: password}, ""},
		{"password file", config.Integration{PasswordFile: pwFile}, ""},
		{"user and password", config.Integration{Username: "default", Password: password}, ""},
		{"wrong password", config.Integration{Password: "wrong-horse"}, "authenticate: server refused the credentials: WRONGPASS"},
		{"no password", config.Integration{}, "INFO ALL: server error: NOAUTH"},
		{"missing password file", config.Integration{PasswordFile: pwFile + ".nope"}, "read password_file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.cfg.Address = addr
			fams, err := newInstance(t, c.cfg).Gather()
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
			if strings.Contains(err.Error(), password) || strings.Contains(err.Error(), "wrong-horse") {
				t.Errorf("the error shows a password: %v", err)
			}
			if v, ok := integrationtest.Value(fams, "redis_up"); !ok || v != 0 {
				t.Errorf("redis_up = %v (present %v), want 0", v, ok)
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
	}{
		{"down", integrationtest.FreeAddr, "connection refused", false},
		{"silent", integrationtest.Silent, "read reply to INFO ALL", true},
		{"http", func(t testing.TB) string {
			return integrationtest.Garbage(t, "HTTP/1.1 400 Bad Request\r\n\r\n")
		}, `unexpected reply "HTTP/1.1 400 Bad Request": not a Redis server?`, false},
		{"not info", func(t testing.TB) string {
			return integrationtest.Garbage(t, "+OK\r\n")
		}, "INFO ALL: the reply has no fields: not a Redis server?", false},
		{"huge bulk", func(t testing.TB) string {
			return integrationtest.Garbage(t, "$999999999999\r\n")
		}, "RESP length 999999999999 exceeds the limit", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			addr := c.address(t)
			fams, err := newInstance(t, config.Integration{Address: addr, Timeout: model.Duration(time.Second)}).Gather()
			var ce *integration.CollectError
			if !errors.As(err, &ce) {
				t.Fatalf("got %v, want a CollectError", err)
			}
			if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), addr) {
				t.Errorf("error %q does not name %s and contain %q", err, addr, c.want)
			}
			if ce.Timeout != c.timeout {
				t.Errorf("Timeout = %v, want %v", ce.Timeout, c.timeout)
			}
			if v, ok := integrationtest.Value(fams, "redis_up"); !ok || v != 0 {
				t.Errorf("redis_up = %v (present %v), want 0", v, ok)
			}
		})
	}
}

func TestRenamedConfigCommand(t *testing.T) {
	// Managed Redis services often disable CONFIG; INFO still works.
	addr := integrationtest.Redis(t, "--rename-command", "CONFIG", "")
	fams, err := newInstance(t, config.Integration{Address: addr}).Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := slices.Collect(func(yield func(string) bool) {
		for _, f := range fams {
			if !yield(f.GetName()) {
				return
			}
		}
	})
	if slices.Contains(names, "redis_config_maxclients") || !slices.Contains(names, "redis_memory_used_bytes") {
		t.Errorf("families %v", names)
	}
}

func TestCancel(t *testing.T) {
	in := newInstance(t, config.Integration{Address: integrationtest.Silent(t), Timeout: model.Duration(time.Minute)})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	if _, err := in.GatherContext(ctx); err == nil {
		t.Fatal("no error")
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("cancelling took %v", took)
	}
}
