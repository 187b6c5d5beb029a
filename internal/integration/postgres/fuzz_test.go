package postgres

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/argus-mon/argus/internal/integration"
)

func TestSetting(t *testing.T) {
	f := func(name, value, unit, vartype, wantName string, want float64) {
		t.Helper()
		got, v, ok := setting(name, value, unit, vartype)
		if wantName == "" {
			if ok {
				t.Errorf("setting(%q, %q, %q, %q) = %q, %v; want not reported", name, value, unit, vartype, got, v)
			}
			return
		}
		if !ok || got != wantName || v != want {
			t.Errorf("setting(%q, %q, %q, %q) = %q, %v, %v; want %q, %v", name, value, unit, vartype, got, v, ok, wantName, want)
		}
	}
	f("fsync", "on", "", "bool", "fsync", 1)
	f("jit", "off", "", "bool", "jit", 0)
	f("jit", "maybe", "", "bool", "", 0)
	f("max_connections", "100", "", "integer", "max_connections", 100)
	f("shared_buffers", "16384", "8kB", "integer", "shared_buffers_bytes", 128<<20)
	f("work_mem", "4096", "kB", "integer", "work_mem_bytes", 4<<20)
	f("max_wal_size", "1024", "MB", "integer", "max_wal_size_bytes", 1<<30)
	f("wal_segment_size", "16777216", "B", "integer", "wal_segment_size_bytes", 16<<20)
	f("checkpoint_timeout", "300", "s", "integer", "checkpoint_timeout_seconds", 300)
	f("log_autovacuum_min_duration", "600000", "ms", "integer", "log_autovacuum_min_duration_seconds", 600)
	f("log_rotation_age", "1440", "min", "integer", "log_rotation_age_seconds", 86400)
	f("log_min_duration_statement", "-1", "ms", "integer", "log_min_duration_statement_seconds", -1)
	f("autovacuum_work_mem", "-1", "kB", "integer", "autovacuum_work_mem_bytes", -1)
	f("cpu_tuple_cost", "0.01", "", "real", "cpu_tuple_cost", 0.01)
	f("pg_stat_statements.max", "5000", "", "integer", "pg_stat_statements_max", 5000)
	f("odd", "1", "furlongs", "integer", "", 0)
	f("odd", "1", "0kB", "integer", "", 0)
	f("datestyle", "ISO, MDY", "", "string", "", 0)
	f("x", "lots", "", "integer", "", 0)
}

func TestVersions(t *testing.T) {
	for _, c := range []struct {
		version string
		num     int
		short   string
	}{
		{"15.18 (Debian 15.18-0+deb12u1)", 150018, ""},
		{"12.0", 120000, ""},
		{"17beta1", 170000, ""},
		{"9.6.24", 0, ""},
	} {
		n, ok := versionNum(c.version)
		if n != c.num || ok != (c.num != 0) {
			t.Errorf("versionNum(%q) = %v, %v; want %v", c.version, n, ok, c.num)
		}
	}
	for v, want := range map[string]string{
		"PostgreSQL 15.18 (Debian 15.18-0+deb12u1) on x86_64-pc-linux-gnu": "15.18.0",
		"PostgreSQL 17beta1 on aarch64":                                    "17.0.0",
		"PostgreSQL 12.1.2":                                                "12.1.2",
		"garbage":                                                          "",
	} {
		if got := shortVersion(v); got != want {
			t.Errorf("shortVersion(%q) = %q, want %q", v, got, want)
		}
	}
}

// FuzzSetting feeds arbitrary pg_settings rows and version strings to the
// conversions: they must not panic, and a reported setting has a valid
// metric name.
func FuzzSetting(f *testing.F) {
	f.Add("shared_buffers", "16384", "8kB", "integer", "PostgreSQL 15.18 (Debian)")
	f.Add("fsync", "on", "", "bool", "17beta1")
	f.Add("x.y-z", "-1", "ms", "real", "PostgreSQL 12..")
	f.Add("big", "1e308", "99999999999999999999TB", "integer", "99999999999999")
	f.Fuzz(func(t *testing.T, name, value, unit, vartype, version string) {
		if metric, v, ok := setting(name, value, unit, vartype); ok {
			if strings.ContainsFunc(metric, func(r rune) bool {
				return r != '_' && (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9')
			}) {
				t.Errorf("setting(%q) gives metric name %q", name, metric)
			}
			_ = v
		}
		versionNum(version)
		shortVersion(version)
		// The same strings as query results, in every column.
		vals := []any{name, value, unit, vartype, version, nil, int64(len(name)), math.NaN(), time.Unix(0, 0)}
		res := &results{tables: map[string]*table{}}
		for _, q := range queries(170000) {
			res.tables[q.name] = &table{cols: []string{"datid", "datname", name, value, unit, vartype, "x", "y", "z"}, rows: [][]any{vals, vals[:len(name)%len(vals)]}}
		}
		var m integration.Metrics
		res.add(&m, "127.0.0.1:5432")
		m.Families()
	})
}
