package redis

import (
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/argus-mon/argus/internal/integration"
)

// field maps an INFO field onto a metric (the name without "redis_").
type field struct {
	name    string
	counter bool
}

// infoFields are the INFO fields reported as they are, with the exporter's
// names; a field a server version lacks is simply absent.
var infoFields = map[string]field{
	// Server
	"uptime_in_seconds": {"uptime_in_seconds", false},
	"process_id":        {"process_id", false},
	"io_threads_active": {"io_threads_active", false},
	// Clients
	"connected_clients":               {"connected_clients", false},
	"blocked_clients":                 {"blocked_clients", false},
	"tracking_clients":                {"tracking_clients", false},
	"clients_in_timeout_table":        {"clients_in_timeout_table", false},
	"client_longest_output_list":      {"client_longest_output_list", false},
	"client_biggest_input_buf":        {"client_biggest_input_buf", false},
	"client_recent_max_output_buffer": {"client_recent_max_output_buffer_bytes", false},
	"client_recent_max_input_buffer":  {"client_recent_max_input_buffer_bytes", false},
	// Memory
	"allocator_active":          {"allocator_active_bytes", false},
	"allocator_allocated":       {"allocator_allocated_bytes", false},
	"allocator_resident":        {"allocator_resident_bytes", false},
	"allocator_frag_ratio":      {"allocator_frag_ratio", false},
	"allocator_frag_bytes":      {"allocator_frag_bytes", false},
	"allocator_rss_ratio":       {"allocator_rss_ratio", false},
	"allocator_rss_bytes":       {"allocator_rss_bytes", false},
	"used_memory":               {"memory_used_bytes", false},
	"used_memory_rss":           {"memory_used_rss_bytes", false},
	"used_memory_peak":          {"memory_used_peak_bytes", false},
	"used_memory_lua":           {"memory_used_lua_bytes", false},
	"used_memory_overhead":      {"memory_used_overhead_bytes", false},
	"used_memory_startup":       {"memory_used_startup_bytes", false},
	"used_memory_dataset":       {"memory_used_dataset_bytes", false},
	"used_memory_scripts":       {"memory_used_scripts_bytes", false},
	"maxmemory":                 {"memory_max_bytes", false},
	"number_of_cached_scripts":  {"number_of_cached_scripts", false},
	"mem_fragmentation_ratio":   {"mem_fragmentation_ratio", false},
	"mem_fragmentation_bytes":   {"mem_fragmentation_bytes", false},
	"mem_clients_slaves":        {"mem_clients_slaves", false},
	"mem_clients_normal":        {"mem_clients_normal", false},
	"mem_not_counted_for_evict": {"mem_not_counted_for_eviction_bytes", false},
	"lazyfree_pending_objects":  {"lazyfree_pending_objects", false},
	"active_defrag_running":     {"active_defrag_running", false},
	// Persistence
	"loading":                      {"loading_dump_file", false},
	"rdb_changes_since_last_save":  {"rdb_changes_since_last_save", false},
	"rdb_bgsave_in_progress":       {"rdb_bgsave_in_progress", false},
	"rdb_last_save_time":           {"rdb_last_save_timestamp_seconds", false},
	"rdb_last_bgsave_status":       {"rdb_last_bgsave_status", false},
	"rdb_last_bgsave_time_sec":     {"rdb_last_bgsave_duration_sec", false},
	"rdb_current_bgsave_time_sec":  {"rdb_current_bgsave_duration_sec", false},
	"rdb_last_cow_size":            {"rdb_last_cow_size_bytes", false},
	"aof_enabled":                  {"aof_enabled", false},
	"aof_rewrite_in_progress":      {"aof_rewrite_in_progress", false},
	"aof_rewrite_scheduled":        {"aof_rewrite_scheduled", false},
	"aof_last_rewrite_time_sec":    {"aof_last_rewrite_duration_sec", false},
	"aof_current_rewrite_time_sec": {"aof_current_rewrite_duration_sec", false},
	"aof_last_cow_size":            {"aof_last_cow_size_bytes", false},
	"aof_current_size":             {"aof_current_size_bytes", false},
	"aof_base_size":                {"aof_base_size_bytes", false},
	"aof_pending_rewrite":          {"aof_pending_rewrite", false},
	"aof_buffer_length":            {"aof_buffer_length", false},
	"aof_rewrite_buffer_length":    {"aof_rewrite_buffer_length", false},
	"aof_pending_bio_fsync":        {"aof_pending_bio_fsync", false},
	"aof_delayed_fsync":            {"aof_delayed_fsync", false},
	"aof_last_bgrewrite_status":    {"aof_last_bgrewrite_status", false},
	"aof_last_write_status":        {"aof_last_write_status", false},
	"module_fork_in_progress":      {"module_fork_in_progress", false},
	"module_fork_last_cow_size":    {"module_fork_last_cow_size", false},
	// Stats
	"total_connections_received":     {"connections_received_total", true},
	"total_commands_processed":       {"commands_processed_total", true},
	"rejected_connections":           {"rejected_connections_total", true},
	"total_net_input_bytes":          {"net_input_bytes_total", true},
	"total_net_output_bytes":         {"net_output_bytes_total", true},
	"expired_keys":                   {"expired_keys_total", true},
	"evicted_keys":                   {"evicted_keys_total", true},
	"keyspace_hits":                  {"keyspace_hits_total", true},
	"keyspace_misses":                {"keyspace_misses_total", true},
	"expired_stale_perc":             {"expired_stale_percentage", false},
	"expired_time_cap_reached_count": {"expired_time_cap_reached_total", false},
	"pubsub_channels":                {"pubsub_channels", false},
	"pubsub_patterns":                {"pubsub_patterns", false},
	"latest_fork_usec":               {"latest_fork_seconds", false}, // scaled
	"migrate_cached_sockets":         {"migrate_cached_sockets_total", false},
	"sync_full":                      {"replica_resyncs_full", false},
	"sync_partial_ok":                {"replica_partial_resync_accepted", false},
	"sync_partial_err":               {"replica_partial_resync_denied", false},
	"active_defrag_hits":             {"defrag_hits", false},
	"active_defrag_misses":           {"defrag_misses", false},
	"active_defrag_key_hits":         {"defrag_key_hits", false},
	"active_defrag_key_misses":       {"defrag_key_misses", false},
	"tracking_total_keys":            {"tracking_total_keys", false},
	"tracking_total_items":           {"tracking_total_items", false},
	"tracking_total_prefixes":        {"tracking_total_prefixes", false},
	"total_reads_processed":          {"total_reads_processed", true},
	"total_writes_processed":         {"total_writes_processed", true},
	"io_threaded_reads_processed":    {"io_threaded_reads_processed", true},
	"io_threaded_writes_processed":   {"io_threaded_writes_processed", true},
	"total_error_replies":            {"total_error_replies", true},
	"dump_payload_sanitizations":     {"dump_payload_sanitizations", true},
	"unexpected_error_replies":       {"unexpected_error_replies", true},
	// Replication
	"connected_slaves":               {"connected_slaves", false},
	"repl_backlog_size":              {"replication_backlog_bytes", false},
	"repl_backlog_active":            {"repl_backlog_is_active", false},
	"repl_backlog_first_byte_offset": {"repl_backlog_first_byte_offset", false},
	"repl_backlog_histlen":           {"repl_backlog_history_bytes", false},
	"master_repl_offset":             {"master_repl_offset", false},
	"second_repl_offset":             {"second_repl_offset", false},
	"slave_expires_tracked_keys":     {"slave_expires_tracked_keys", false},
	"slave_priority":                 {"slave_priority", false},
	// CPU
	"used_cpu_sys":              {"cpu_sys_seconds_total", true},
	"used_cpu_user":             {"cpu_user_seconds_total", true},
	"used_cpu_sys_children":     {"cpu_sys_children_seconds_total", true},
	"used_cpu_user_children":    {"cpu_user_children_seconds_total", true},
	"used_cpu_sys_main_thread":  {"cpu_sys_main_thread_seconds_total", true},
	"used_cpu_user_main_thread": {"cpu_user_main_thread_seconds_total", true},
	// Cluster
	"cluster_enabled":     {"cluster_enabled", false},
	"cluster_connections": {"cluster_connections", false},
}

// numeric parses an INFO value the way the exporter does: ok and true are
// 1, err, fail and false 0.
func numeric(s string) (float64, bool) {
	switch s {
	case "ok", "true":
		return 1, true
	case "err", "fail", "false":
		return 0, true
	}
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil
}

// info is a parsed INFO reply.
type info struct {
	fields map[string]string
	// lines are the key/value lines by section, in order.
	lines []infoLine
}

type infoLine struct{ section, key, value string }

// parseInfo splits an INFO reply into its sections' key:value lines.
func parseInfo(text string) *info {
	in := &info{fields: map[string]string{}}
	section := ""
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		if s, ok := strings.CutPrefix(line, "# "); ok {
			section = s
			continue
		}
		key, value, ok := strings.Cut(line, ":")
		if !ok || key == "" {
			continue
		}
		in.fields[key] = value
		in.lines = append(in.lines, infoLine{section, key, value})
	}
	return in
}

// slaveLineRE matches a master's lines about its replicas (slave0:...).
var slaveLineRE = regexp.MustCompile(`^slave\d+$`)

// addInfo adds the metrics of an INFO reply. now is for
// redis_start_time_seconds.
func addInfo(m *integration.Metrics, in *info, now time.Time) {
	masterHost, masterPort := in.fields["master_host"], in.fields["master_port"]
	cmds := map[string]*cmdStat{}
	for _, l := range in.lines {
		switch {
		case l.section == "Keyspace" && strings.HasPrefix(l.key, "db"):
			addKeyspace(m, l.key, l.value)
		case l.section == "Commandstats":
			addCommandStat(m, l.key, l.value, cmds)
		case l.section == "Latencystats":
			addLatency(m, l.key, l.value, cmds)
		case l.section == "Errorstats":
			if e, ok := strings.CutPrefix(l.key, "errorstat_"); ok {
				if v, ok := kvFloat(l.value, "count"); ok {
					m.Counter("redis_errors_total", "Error replies by error prefix.", v, "err", e)
				}
			}
		case l.section == "Replication" && slaveLineRE.MatchString(l.key):
			addReplica(m, l.value)
		case l.key == "master_link_status":
			up := 0.0
			if l.value == "up" {
				up = 1
			}
			m.Gauge("redis_master_link_up", "Whether the link to the master is up.", up, "master_host", masterHost, "master_port", masterPort)
		case l.key == "master_last_io_seconds_ago" || l.key == "master_sync_in_progress" || l.key == "slave_repl_offset":
			v, _ := strconv.Atoi(l.value)
			m.Gauge("redis_"+l.key, "Replication state of the replica: "+l.key+".", float64(v), "master_host", masterHost, "master_port", masterPort)
		default:
			addField(m, l.key, l.value, now)
		}
	}
	m.Gauge("redis_instance_info", "Information about the Redis instance.", 1,
		"role", in.fields["role"], "redis_version", in.fields["redis_version"],
		"redis_build_id", in.fields["redis_build_id"], "redis_mode", in.fields["redis_mode"],
		"os", in.fields["os"], "maxmemory_policy", in.fields["maxmemory_policy"],
		"tcp_port", in.fields["tcp_port"], "run_id", in.fields["run_id"], "process_id", in.fields["process_id"])
	if in.fields["role"] == "slave" {
		m.Gauge("redis_slave_info", "Information about the master of this replica.", 1,
			"master_host", masterHost, "master_port", masterPort, "read_only", in.fields["slave_read_only"])
	}
}

func addField(m *integration.Metrics, key, value string, now time.Time) {
	f, ok := infoFields[key]
	if !ok {
		return
	}
	v, ok := numeric(value)
	if !ok {
		return
	}
	switch key {
	case "latest_fork_usec":
		v /= 1e6
	case "uptime_in_seconds":
		m.Gauge("redis_start_time_seconds", "Unix time the server started.", float64(now.Unix())-v)
	}
	help := "INFO field " + key + "."
	if f.counter {
		m.Counter("redis_"+f.name, help, v)
	} else {
		m.Gauge("redis_"+f.name, help, v)
	}
}

// addKeyspace adds a "db0:keys=1,expires=0,avg_ttl=0" line.
func addKeyspace(m *integration.Metrics, db, value string) {
	keys, ok1 := kvFloat(value, "keys")
	expires, ok2 := kvFloat(value, "expires")
	if !ok1 || !ok2 {
		return
	}
	m.Gauge("redis_db_keys", "Keys by database.", keys, "db", db)
	m.Gauge("redis_db_keys_expiring", "Keys with an expiry by database.", expires, "db", db)
	if ttl, ok := kvFloat(value, "avg_ttl"); ok {
		m.Gauge("redis_db_avg_ttl_seconds", "Average time to live of the keys with an expiry.", ttl/1000, "db", db)
	}
}

// cmdStat is what Commandstats said of a command, for its latency summary.
type cmdStat struct {
	calls float64
	usec  float64
}

// addCommandStat adds a "cmdstat_get:calls=2,usec=5,usec_per_call=2.50,
// rejected_calls=0,failed_calls=0" line; the last two exist since 6.2.
func addCommandStat(m *integration.Metrics, key, value string, cmds map[string]*cmdStat) {
	cmd, ok := strings.CutPrefix(key, "cmdstat_")
	if !ok {
		return
	}
	calls, ok1 := kvFloat(value, "calls")
	usec, ok2 := kvFloat(value, "usec")
	if !ok1 || !ok2 {
		return
	}
	cmds[cmd] = &cmdStat{calls, usec}
	m.Counter("redis_commands_total", "Calls by command.", calls, "cmd", cmd)
	m.Counter("redis_commands_duration_seconds_total", "Time spent by command.", usec/1e6, "cmd", cmd)
	rejected, ok1 := kvFloat(value, "rejected_calls")
	failed, ok2 := kvFloat(value, "failed_calls")
	if ok1 && ok2 {
		m.Counter("redis_commands_rejected_calls_total", "Calls rejected before running, by command.", rejected, "cmd", cmd)
		m.Counter("redis_commands_failed_calls_total", "Calls that failed while running, by command.", failed, "cmd", cmd)
	}
}

// addLatency adds a "latency_percentiles_usec_get:p50=1.003,p99=2.007"
// line (Redis 7) as a summary whose count and sum are the command's calls
// and microseconds, with the percentiles as quantiles named as the
// exporter names them (50, 99, 99.9).
func addLatency(m *integration.Metrics, key, value string, cmds map[string]*cmdStat) {
	cmd, ok := strings.CutPrefix(key, "latency_percentiles_usec_")
	st := cmds[cmd]
	if !ok || st == nil {
		return
	}
	qs := map[float64]float64{}
	for part := range strings.SplitSeq(value, ",") {
		p, v, ok := strings.Cut(part, "=")
		q, err1 := strconv.ParseFloat(strings.TrimPrefix(p, "p"), 64)
		val, err2 := strconv.ParseFloat(v, 64)
		if !ok || !strings.HasPrefix(p, "p") || err1 != nil || err2 != nil {
			return
		}
		qs[q] = val
	}
	m.Summary("redis_latency_percentiles_usec", "Latency percentiles by command, in microseconds.", uint64(st.calls), st.usec, qs, "cmd", cmd)
}

// addReplica adds a master's "slave0:ip=10.0.0.2,port=6379,state=online,
// offset=123,lag=0" line.
func addReplica(m *integration.Metrics, value string) {
	kv := map[string]string{}
	for part := range strings.SplitSeq(value, ",") {
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return
		}
		kv[k] = v
	}
	offset, err := strconv.ParseFloat(kv["offset"], 64)
	if err != nil {
		return
	}
	labels := []string{"slave_ip", kv["ip"], "slave_port", kv["port"], "slave_state", kv["state"]}
	m.Gauge("redis_connected_slave_offset_bytes", "Replication offset of a replica.", offset, labels...)
	if lag, err := strconv.ParseFloat(kv["lag"], 64); err == nil {
		m.Gauge("redis_connected_slave_lag_seconds", "Replication lag of a replica.", lag, labels...)
	}
}

// kvFloat returns the number after "name=" in a "a=1,b=2" list.
func kvFloat(list, name string) (float64, bool) {
	for part := range strings.SplitSeq(list, ",") {
		if v, ok := strings.CutPrefix(part, name+"="); ok {
			f, err := strconv.ParseFloat(v, 64)
			return f, err == nil
		}
	}
	return 0, false
}
