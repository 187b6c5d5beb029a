package postgres

import (
	"fmt"
	"math"
	"math/big"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/argus-mon/argus/internal/integration"
)

// kind is how a column of a statistics view is reported.
type kind int

// The kinds of columns, as postgres_exporter maps them.
const (
	untyped kind = iota // a column the exporter does not know
	counter
	gauge
)

// databaseColumns are the pg_stat_database columns postgres_exporter
// 0.11.1 knows; datid and datname are labels, and the others (those added
// by PostgreSQL 14 and later) it reports untyped.
var databaseColumns = map[string]kind{
	"numbackends":    gauge,
	"xact_commit":    counter,
	"xact_rollback":  counter,
	"blks_read":      counter,
	"blks_hit":       counter,
	"tup_returned":   counter,
	"tup_fetched":    counter,
	"tup_inserted":   counter,
	"tup_updated":    counter,
	"tup_deleted":    counter,
	"conflicts":      counter,
	"temp_files":     counter,
	"temp_bytes":     counter,
	"deadlocks":      counter,
	"blk_read_time":  counter,
	"blk_write_time": counter,
	"stats_reset":    counter,
}

// conflictColumns are the pg_stat_database_conflicts columns the exporter
// knows; likewise.
var conflictColumns = map[string]kind{
	"confl_tablespace": counter,
	"confl_lock":       counter,
	"confl_snapshot":   counter,
	"confl_bufferpin":  counter,
	"confl_deadlock":   counter,
}

// bgwriterMetrics name sqlBgwriter's columns, in order.
var bgwriterMetrics = []string{
	"checkpoints_timed_total", "checkpoints_req_total", "checkpoint_write_time_total",
	"checkpoint_sync_time_total", "buffers_checkpoint_total", "buffers_clean_total",
	"maxwritten_clean_total", "buffers_backend_total", "buffers_backend_fsync_total",
	"buffers_alloc_total", "stats_reset_total",
}

// add adds the metrics of the results; server is the server label the
// exporter puts on the metrics of its queries.
func (r *results) add(m *integration.Metrics, server string) {
	r.addServer(m, server)
	r.addStatView(m, qDatabase, databaseColumns, server)
	r.addStatView(m, qConflicts, conflictColumns, server)
	if t := r.tables[qBgwriter]; t != nil && len(t.rows) == 1 {
		for i, v := range t.rows[0] {
			if f, ok := float(v); ok && v != nil && i < len(bgwriterMetrics) {
				m.Counter("pg_stat_bgwriter_"+bgwriterMetrics[i], "pg_stat_bgwriter."+bgwriterMetrics[i]+" (times in milliseconds).", f, "server", server)
			}
		}
	}
	r.each(qArchiver, 3, func(row []any) {
		m.Counter("pg_stat_archiver_archived_count", "WAL files archived.", num(row[0]), "server", server)
		m.Counter("pg_stat_archiver_failed_count", "Failed attempts to archive a WAL file.", num(row[1]), "server", server)
		m.Gauge("pg_stat_archiver_last_archive_age", "Seconds since the last WAL file was archived.", num(row[2]), "server", server)
	})
	r.each(qLocks, 3, func(row []any) {
		m.Gauge("pg_locks_count", "Locks by database and mode.", num(row[2]), "datname", str(row[0]), "mode", str(row[1]), "server", server)
	})
	r.each(qActivity, 4, func(row []any) {
		l := []string{"datname", str(row[0]), "state", str(row[1]), "server", server}
		m.Gauge("pg_stat_activity_count", "Backends by database and state.", num(row[2]), l...)
		m.Gauge("pg_stat_activity_max_tx_duration", "Seconds the oldest transaction by database and state has been running.", num(row[3]), l...)
	})
	r.each(qSize, 2, func(row []any) {
		m.Gauge("pg_database_size_bytes", "Disk space used by the database.", num(row[1]), "datname", str(row[0]), "server", server)
	})
	r.each(qSettings, 5, func(row []any) {
		name, v, ok := setting(str(row[0]), str(row[1]), str(row[2]), str(row[4]))
		if ok {
			m.Gauge("pg_settings_"+name, "Setting "+str(row[0])+": "+str(row[3]), v, "server", server)
		}
	})
	r.each(qReplication, 7, func(row []any) {
		l := []string{"application_name", str(row[0]), "client_addr", str(row[1]), "state", str(row[2]), "slot_name", str(row[3]), "server", server}
		m.Gauge("pg_stat_replication_pg_current_wal_lsn_bytes", "The primary's WAL position in bytes.", num(row[4]), l...)
		m.Gauge("pg_stat_replication_pg_wal_lsn_diff", "Bytes of WAL the replica has yet to replay.", num(row[5]), l...)
		if f, ok := float(row[6]); ok {
			m.Untyped("pg_stat_replication_reply_time", "Time of the replica's last reply, in seconds since the epoch.", f, l...)
		}
	})
	r.each(qSlots, 4, func(row []any) {
		l := []string{"slot_name", str(row[0]), "database", str(row[1]), "server", server}
		m.Gauge("pg_replication_slots_active", "Whether the replication slot is in use.", num(row[2]), l...)
		m.Gauge("pg_replication_slots_pg_wal_lsn_diff", "Bytes of WAL the slot holds back.", num(row[3]), l...)
	})
}

// addServer adds the version, start time and replication state.
func (r *results) addServer(m *integration.Metrics, server string) {
	row := r.row(qServer, 4)
	if row == nil {
		return
	}
	version := str(row[0])
	m.Untyped("pg_static", "PostgreSQL's version.", 1, "server", server, "short_version", shortVersion(version), "version", version)
	m.Gauge("pg_postmaster_start_time_seconds", "Time the server started, in seconds since the epoch.", num(row[1]), "server", server)
	m.Gauge("pg_replication_is_replica", "Whether the server is a replica (in recovery).", num(row[2]))
	m.Gauge("pg_replication_lag", "Seconds since the last transaction replayed on a replica; 0 on a primary.", num(row[3]), "server", server)
}

// addStatView adds the columns of a statistics view by database, with the
// exporter's name pg_<view>_<column>.
func (r *results) addStatView(m *integration.Metrics, view string, known map[string]kind, server string) {
	t := r.tables[view]
	if t == nil {
		return
	}
	for _, row := range t.rows {
		if len(row) != len(t.cols) {
			continue
		}
		var datid, datname string
		for i, col := range t.cols {
			switch col {
			case "datid":
				datid = str(row[i])
			case "datname":
				datname = str(row[i])
			}
		}
		for i, col := range t.cols {
			if col == "datid" || col == "datname" {
				continue
			}
			v, ok := float(row[i])
			if !ok {
				continue
			}
			name, help := view+"_"+col, view+"."+col+"."
			if !strings.HasPrefix(name, "pg_") {
				name = "pg_" + name
			}
			switch known[col] {
			case counter:
				m.Counter(name, help, v, "datid", datid, "datname", datname, "server", server)
			case gauge:
				m.Gauge(name, help, v, "datid", datid, "datname", datname, "server", server)
			default:
				m.Untyped(name, help, v, "datid", datid, "datname", datname, "server", server)
			}
		}
	}
}

// row returns the first row of a query with at least n columns.
func (r *results) row(q string, n int) []any {
	if t := r.tables[q]; t != nil && len(t.rows) > 0 && len(t.rows[0]) >= n {
		return t.rows[0]
	}
	return nil
}

// each calls fn for each row of a query with at least n columns.
func (r *results) each(q string, n int, fn func(row []any)) {
	if t := r.tables[q]; t != nil {
		for _, row := range t.rows {
			if len(row) >= n {
				fn(row)
			}
		}
	}
}

// float converts a value as the exporter does: numbers and booleans as
// they are, times as seconds since the epoch, NULL as NaN. Values of other
// types (text, intervals, LSNs) are not numbers.
func float(v any) (float64, bool) {
	switch v := v.(type) {
	case nil:
		return math.NaN(), true
	case int16:
		return float64(v), true
	case int32:
		return float64(v), true
	case int64:
		return float64(v), true
	case uint32:
		return float64(v), true
	case float32:
		return float64(v), true
	case float64:
		return v, true
	case bool:
		if v {
			return 1, true
		}
		return 0, true
	case time.Time:
		return float64(v.Unix()), true
	case pgtype.Numeric:
		f, err := v.Float64Value()
		if err != nil || !f.Valid {
			return math.NaN(), err == nil
		}
		return f.Float64, true
	case *big.Int:
		f, _ := new(big.Float).SetInt(v).Float64()
		return f, true
	case string:
		f, err := strconv.ParseFloat(v, 64)
		return f, err == nil
	}
	return 0, false
}

// num is float for the columns the queries make numeric.
func num(v any) float64 {
	f, ok := float(v)
	if !ok {
		return math.NaN()
	}
	return f
}

// str returns a value as a label value; NULL is "".
func str(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case netip.Prefix:
		return v.Addr().String()
	case netip.Addr:
		return v.String()
	}
	return fmt.Sprint(v)
}

// shortVersion returns the major.minor.patch of a version() string, as
// pg_static's short_version: "PostgreSQL 15.18 (Debian ...)" is
// "15.18.0".
func shortVersion(version string) string {
	f := strings.Fields(version)
	if len(f) < 2 {
		return ""
	}
	v := f[1]
	// Development versions: 18beta1, 17rc2, 19devel.
	if i := strings.IndexFunc(v, func(r rune) bool { return (r < '0' || r > '9') && r != '.' }); i >= 0 {
		v = v[:i]
	}
	parts := strings.Split(strings.Trim(v, "."), ".")
	for _, p := range parts {
		if p == "" {
			return ""
		}
	}
	for len(parts) < 3 {
		parts = append(parts, "0")
	}
	return strings.Join(parts[:3], ".")
}
