package memcached

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/argus-mon/argus/internal/integration"
)

// maxConns bounds the connections to one server: a scrape and an outside
// Prometheus reading /metrics/integrations/<name> at the same moment.
const maxConns = 2

// Collector reads one memcached server.
type Collector struct {
	target *integration.Target
	pool   *integration.Pool
}

// New returns the collector of one memcached instance. It does not
// connect.
func New(t *integration.Target, _ *slog.Logger) (integration.Collector, error) {
	return &Collector{target: t, pool: integration.NewPool(t, maxConns, nil)}, nil
}

// Close closes the pooled connections.
func (c *Collector) Close() error { return c.pool.Close() }

// Collect reads the statistics and adds memcached_exporter's metrics.
func (c *Collector) Collect(ctx context.Context, m *integration.Metrics) error {
	var s *stats
	err := c.pool.Do(ctx, func(conn *integration.Conn) error {
		var b strings.Builder
		for _, cmd := range commands {
			b.WriteString(cmd + "\r\n")
		}
		if _, err := conn.Write([]byte(b.String())); err != nil {
			return fmt.Errorf("send stats commands: %w", err)
		}
		var err error
		s, err = readStats(conn.R)
		return err
	})
	up := 1.0
	if err == nil {
		err = addMetrics(m, s)
	}
	if err != nil {
		up = 0
	}
	m.Gauge("memcached_up", "Whether the memcached server could be read.", up)
	return err
}

// A stat maps one memcached statistic onto a metric.
type stat struct {
	key, name, help string
	counter         bool
}

// generalStats are read from "stats" (and the server-wide lines of "stats
// slabs") when present: older servers lack some, and extstore's only exist
// when it is enabled.
var generalStats = []stat{
	{"uptime", "memcached_uptime_seconds", "Seconds since the server started.", true},
	{"time", "memcached_time_seconds", "The server's current Unix time.", false},
	{"rusage_user", "memcached_process_user_cpu_seconds_total", "User CPU time of the server process.", true},
	{"rusage_system", "memcached_process_system_cpu_seconds_total", "System CPU time of the server process.", true},
	{"bytes", "memcached_current_bytes", "Bytes used to store items now.", false},
	{"limit_maxbytes", "memcached_limit_bytes", "Bytes the server may use to store items.", false},
	{"curr_items", "memcached_current_items", "Items stored now.", false},
	{"total_items", "memcached_items_total", "Items stored since the server started.", true},
	{"bytes_read", "memcached_read_bytes_total", "Bytes the server read from the network.", true},
	{"bytes_written", "memcached_written_bytes_total", "Bytes the server wrote to the network.", true},
	{"curr_connections", "memcached_current_connections", "Open connections.", false},
	{"total_connections", "memcached_connections_total", "Connections opened since the server started.", true},
	{"rejected_connections", "memcached_connections_rejected_total", "Connections refused at the connection limit (maxconns_fast).", true},
	{"conn_yields", "memcached_connections_yielded_total", "Times a connection yielded after its request limit (-R).", true},
	{"listen_disabled_num", "memcached_connections_listener_disabled_total", "Times the connection limit disabled the listener.", true},
	{"evictions", "memcached_items_evicted_total", "Valid items removed to free memory.", true},
	{"reclaimed", "memcached_items_reclaimed_total", "Times an item was stored in the memory of an expired one.", true},
	{"store_too_large", "memcached_item_too_large_total", "Items not stored for exceeding the item size limit.", true},
	{"store_no_memory", "memcached_item_no_memory_total", "Items not stored for lack of memory.", true},
	{"lru_crawler_starts", "memcached_lru_crawler_starts_total", "Times the LRU crawler started.", true},
	{"direct_reclaims", "memcached_direct_reclaims_total", "Times a worker thread had to reclaim or evict items itself.", true},
	{"crawler_items_checked", "memcached_lru_crawler_items_checked_total", "Items the LRU crawler examined.", true},
	{"crawler_reclaimed", "memcached_lru_crawler_reclaimed_total", "Items the LRU crawler freed.", true},
	{"moves_to_cold", "memcached_lru_crawler_moves_to_cold_total", "Items moved from the HOT or WARM to the COLD LRU.", true},
	{"moves_to_warm", "memcached_lru_crawler_moves_to_warm_total", "Items moved from the COLD to the WARM LRU.", true},
	{"moves_within_lru", "memcached_lru_crawler_moves_within_lru_total", "Items reshuffled within the HOT or WARM LRU.", true},
	{"total_malloced", "memcached_malloced_bytes", "Bytes allocated to slab pages.", false},
	{"accepting_conns", "memcached_accepting_connections", "Whether the server accepts new connections.", false},
}

// extstoreStats are read when extstore is enabled, which the presence of
// extstore_limit_maxbytes tells.
var extstoreStats = []stat{
	{"extstore_compact_lost", "memcached_extstore_compact_lost_total", "Items lost to locks during extstore compaction.", true},
	{"extstore_compact_rescues", "memcached_extstore_compact_rescued_total", "Items moved to a new page by extstore compaction.", true},
	{"extstore_compact_skipped", "memcached_extstore_compact_skipped_total", "Items dropped as inactive by extstore compaction.", true},
	{"extstore_page_allocs", "memcached_extstore_pages_allocated_total", "Extstore page allocations.", true},
	{"extstore_page_evictions", "memcached_extstore_pages_evicted_total", "Extstore page evictions.", true},
	{"extstore_page_reclaims", "memcached_extstore_pages_reclaimed_total", "Empty extstore pages freed.", true},
	{"extstore_pages_free", "memcached_extstore_pages_free", "Extstore pages holding no item.", false},
	{"extstore_pages_used", "memcached_extstore_pages_used", "Extstore pages holding items.", false},
	{"extstore_objects_evicted", "memcached_extstore_objects_evicted_total", "Items evicted from extstore.", true},
	{"extstore_objects_read", "memcached_extstore_objects_read_total", "Items read from extstore.", true},
	{"extstore_objects_written", "memcached_extstore_objects_written_total", "Items written to extstore.", true},
	{"extstore_objects_used", "memcached_extstore_objects_used", "Items in extstore.", false},
	{"extstore_bytes_evicted", "memcached_extstore_bytes_evicted_total", "Bytes evicted from extstore.", true},
	{"extstore_bytes_written", "memcached_extstore_bytes_written_total", "Bytes written to extstore.", true},
	{"extstore_bytes_read", "memcached_extstore_bytes_read_total", "Bytes read from extstore.", true},
	// The exporter reports this gauge-like value as a counter; kept so.
	{"extstore_bytes_used", "memcached_extstore_bytes_used", "Bytes of items in extstore.", true},
	{"extstore_bytes_fragmented", "memcached_extstore_bytes_fragmented", "Extstore bytes allocated but holding no item.", false},
	{"extstore_limit_maxbytes", "memcached_extstore_bytes_limit", "Bytes of extstore storage.", false},
	{"extstore_io_queue", "memcached_extstore_io_queue_depth", "Extstore I/O requests waiting.", false},
}

// lruSettings are read from "stats settings" when the LRU crawler is on.
var lruSettings = []stat{
	{"lru_crawler_sleep", "memcached_lru_crawler_sleep", "Microseconds the LRU crawler sleeps between crawls.", false},
	{"lru_crawler_tocrawl", "memcached_lru_crawler_to_crawl", "Items the LRU crawler checks per slab class and run at most.", false},
	{"hot_lru_pct", "memcached_lru_crawler_hot_percent", "Percent of slab memory for the HOT LRU.", false},
	{"warm_lru_pct", "memcached_lru_crawler_warm_percent", "Percent of slab memory for the WARM LRU.", false},
	{"hot_max_factor", "memcached_lru_crawler_hot_max_factor", "Idle age of the HOT LRU as a multiple of the COLD LRU's age.", false},
	{"warm_max_factor", "memcached_lru_crawler_warm_max_factor", "Idle age of the WARM LRU as a multiple of the COLD LRU's age.", false},
}

// itemStats are per slab class, from "stats items".
var itemStats = []stat{
	{"number", "memcached_slab_current_items", "Items stored in the slab class now.", false},
	{"age", "memcached_slab_items_age_seconds", "Age of the oldest item in the slab class.", false},
	{"crawler_reclaimed", "memcached_slab_items_crawler_reclaimed_total", "Items of the slab class the LRU crawler freed.", true},
	{"evicted", "memcached_slab_items_evicted_total", "Items of the slab class evicted before they expired.", true},
	{"evicted_nonzero", "memcached_slab_items_evicted_nonzero_total", "Items with an expiry time evicted before they expired.", true},
	{"evicted_time", "memcached_slab_items_evicted_time_seconds", "Seconds since the last access of the last item evicted.", true},
	{"evicted_unfetched", "memcached_slab_items_evicted_unfetched_total", "Items evicted without ever being fetched.", true},
	{"expired_unfetched", "memcached_slab_items_expired_unfetched_total", "Items expired without ever being fetched.", true},
	{"outofmemory", "memcached_slab_items_outofmemory_total", "Times the slab class could not store an item for lack of memory.", true},
	{"reclaimed", "memcached_slab_items_reclaimed_total", "Items stored in the memory of an expired one.", true},
	{"tailrepairs", "memcached_slab_items_tailrepairs_total", "Times an item's refcount had to be repaired.", true},
	{"moves_to_cold", "memcached_slab_items_moves_to_cold", "Items moved from HOT or WARM to COLD.", true},
	{"moves_to_warm", "memcached_slab_items_moves_to_warm", "Items moved from COLD to WARM.", true},
	{"moves_within_lru", "memcached_slab_items_moves_within_lru", "Times an active item was bumped within HOT or WARM.", true},
	{"number_hot", "memcached_slab_hot_items", "Items in the HOT LRU.", false},
	{"number_warm", "memcached_slab_warm_items", "Items in the WARM LRU.", false},
	{"number_cold", "memcached_slab_cold_items", "Items in the COLD LRU.", false},
	{"number_temp", "memcached_slab_temporary_items", "Items in the TEMPORARY LRU.", false},
	{"age_hot", "memcached_slab_hot_age_seconds", "Age of the oldest item in the HOT LRU.", false},
	{"age_warm", "memcached_slab_warm_age_seconds", "Age of the oldest item in the WARM LRU.", false},
}

// slabStats are per slab class, from "stats slabs".
var slabStats = []stat{
	{"chunk_size", "memcached_slab_chunk_size_bytes", "Bytes of each chunk of the slab class.", false},
	{"chunks_per_page", "memcached_slab_chunks_per_page", "Chunks in a page of the slab class.", false},
	{"total_pages", "memcached_slab_current_pages", "Pages allocated to the slab class.", false},
	{"total_chunks", "memcached_slab_current_chunks", "Chunks allocated to the slab class.", false},
	{"used_chunks", "memcached_slab_chunks_used", "Chunks holding an item.", false},
	{"free_chunks", "memcached_slab_chunks_free", "Chunks not holding an item.", false},
	{"free_chunks_end", "memcached_slab_chunks_free_end", "Free chunks at the end of the last page.", false},
	{"mem_requested", "memcached_slab_mem_requested_bytes", "Bytes the items of the slab class take.", false},
}

// hitMissCommands have <cmd>_hits and <cmd>_misses statistics.
var hitMissCommands = []string{"get", "delete", "incr", "decr", "cas", "touch"}

const (
	commandsHelp     = "Requests by command and status."
	slabCommandsHelp = "Requests by slab class, command and status."
)

// addMetrics adds the metrics of s. A value that does not parse is left
// out and reported as an error, after the others are added.
func addMetrics(m *integration.Metrics, s *stats) error {
	p := &parser{m: m}
	m.Gauge("memcached_version", "The server's version.", 1, "version", s.general["version"])
	p.addAll(s.general, generalStats)
	if _, ok := s.general["extstore_limit_maxbytes"]; ok {
		p.addAll(s.general, extstoreStats)
	}
	for _, cmd := range hitMissCommands {
		p.add(s.general, stat{cmd + "_hits", "memcached_commands_total", commandsHelp, true}, "command", cmd, "status", "hit")
		p.add(s.general, stat{cmd + "_misses", "memcached_commands_total", commandsHelp, true}, "command", cmd, "status", "miss")
	}
	p.add(s.general, stat{"cas_badval", "memcached_commands_total", commandsHelp, true}, "command", "cas", "status", "badval")
	p.add(s.general, stat{"cmd_flush", "memcached_commands_total", commandsHelp, true}, "command", "flush", "status", "hit")
	// cmd_set counts cas commands too; the exporter reports sets without them.
	if set, ok := p.sum(s.general, "cmd_set"); ok {
		if cas, ok := p.sum(s.general, "cas_misses", "cas_hits", "cas_badval"); ok {
			m.Counter("memcached_commands_total", commandsHelp, set-cas, "command", "set", "status", "hit")
		}
	}
	p.addSettings(s.settings)
	for slab, st := range s.items {
		p.addItems(slab, st)
	}
	for slab, st := range s.slabs {
		p.addSlab(slab, st)
	}
	return errors.Join(p.errs...)
}

func (p *parser) addSettings(st map[string]string) {
	p.add(st, stat{"maxconns", "memcached_max_connections", "Connections the server accepts at most.", false})
	if st["lru_crawler"] != "yes" {
		return
	}
	p.addBool(st, "lru_crawler", "memcached_lru_crawler_enabled", "Whether the LRU crawler is on.")
	p.addBool(st, "lru_maintainer_thread", "memcached_lru_crawler_maintainer_thread", "Whether the LRU maintainer thread (segmented LRU) is on.")
	p.addAll(st, lruSettings)
}

func (p *parser) addItems(slab string, st map[string]string) {
	p.addAll(st, itemStats, "slab", slab)
	const help = "Hits by slab class and LRU."
	for key, lru := range map[string]string{"hits_to_hot": "hot", "hits_to_warm": "warm", "hits_to_cold": "cold", "hits_to_temp": "temporary"} {
		p.add(st, stat{key, "memcached_slab_lru_hits_total", help, true}, "slab", slab, "lru", lru)
	}
}

func (p *parser) addSlab(slab string, st map[string]string) {
	for _, cmd := range hitMissCommands {
		p.add(st, stat{cmd + "_hits", "memcached_slab_commands_total", slabCommandsHelp, true}, "slab", slab, "command", cmd, "status", "hit")
	}
	p.add(st, stat{"cas_badval", "memcached_slab_commands_total", slabCommandsHelp, true}, "slab", slab, "command", "cas", "status", "badval")
	if set, ok := p.sum(st, "cmd_set"); ok {
		if cas, ok := p.sum(st, "cas_hits", "cas_badval"); ok {
			p.m.Counter("memcached_slab_commands_total", slabCommandsHelp, set-cas, "slab", slab, "command", "set", "status", "hit")
		}
	}
	p.addAll(st, slabStats, "slab", slab)
}

// parser adds metrics from statistics, collecting parse errors.
type parser struct {
	m    *integration.Metrics
	errs []error
}

func (p *parser) addAll(st map[string]string, stats []stat, labels ...string) {
	for _, s := range stats {
		p.add(st, s, labels...)
	}
}

// add adds one statistic if present.
func (p *parser) add(st map[string]string, s stat, labels ...string) {
	raw, ok := st[s.key]
	if !ok {
		return
	}
	v, err := strconv.ParseFloat(raw, 64)
	if err != nil {
		p.errs = append(p.errs, fmt.Errorf("statistic %s: value %q is not a number", s.key, raw))
		return
	}
	if s.counter {
		p.m.Counter(s.name, s.help, v, labels...)
	} else {
		p.m.Gauge(s.name, s.help, v, labels...)
	}
}

func (p *parser) addBool(st map[string]string, key, name, help string) {
	switch raw := st[key]; raw {
	case "yes":
		p.m.Gauge(name, help, 1)
	case "no":
		p.m.Gauge(name, help, 0)
	case "":
	default:
		p.errs = append(p.errs, fmt.Errorf("setting %s: value %q is neither yes nor no", key, raw))
	}
}

// sum adds up statistics; false if one is missing or not a number.
func (p *parser) sum(st map[string]string, keys ...string) (float64, bool) {
	total := 0.0
	for _, k := range keys {
		v, err := strconv.ParseFloat(st[k], 64)
		if err != nil {
			return 0, false
		}
		total += v
	}
	return total, true
}
