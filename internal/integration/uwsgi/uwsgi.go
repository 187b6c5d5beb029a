package uwsgi

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/argus-mon/argus/internal/integration"
)

// maxConns bounds the connections to one stats server: a scrape and an
// outside Prometheus reading /metrics/integrations/<name> at once.
const maxConns = 2

// maxDocument bounds the stats document read: it grows with workers and
// cores (a few KiB each), and a wrong address must not fill memory.
const maxDocument = 32 << 20

// Collector reads one uWSGI stats server. The server writes its document
// and closes each connection, so there is nothing to pool: a collection
// dials anew.
type Collector struct {
	target *integration.Target
	// statsURI is the exporter's stats_uri label: the URI it would be
	// given for this address.
	statsURI string
	slots    chan struct{}
}

// New returns the collector of one uWSGI instance. It does not connect.
func New(t *integration.Target, _ *slog.Logger) (integration.Collector, error) {
	uri := "tcp://" + t.Address
	if t.Network == "unix" {
		uri = "unix://" + t.Address
	}
	return &Collector{target: t, statsURI: uri, slots: make(chan struct{}, maxConns)}, nil
}

// Close has nothing to release: no connection outlives a collection.
func (c *Collector) Close() error { return nil }

// Collect reads the stats document and adds uwsgi_exporter's metrics.
func (c *Collector) Collect(ctx context.Context, m *integration.Metrics) error {
	doc, err := c.read(ctx)
	var s *stats
	if err == nil {
		s, err = parseStats(doc)
	}
	up := 0.0
	if err == nil {
		up = 1
		addMetrics(m, s, c.statsURI)
	}
	// The exporter's uwsgi_up has no stats_uri label.
	m.Gauge("uwsgi_up", "Whether the uWSGI stats server could be read.", up)
	return err
}

// read returns what the stats server writes before it closes the
// connection.
func (c *Collector) read(ctx context.Context) ([]byte, error) {
	select {
	case c.slots <- struct{}{}:
		defer func() { <-c.slots }()
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for a free connection: %w", context.Cause(ctx))
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, c.target.Network, c.target.Address)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		if err := conn.SetDeadline(dl); err != nil {
			return nil, err
		}
	}
	// A deadline in the past makes a pending read fail at once.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	doc, err := io.ReadAll(io.LimitReader(conn, maxDocument+1))
	if err != nil {
		return nil, fmt.Errorf("read stats: %w", err)
	}
	if len(doc) > maxDocument {
		return nil, fmt.Errorf("the stats document is longer than %d bytes", maxDocument)
	}
	return doc, nil
}

// The unit of running_time and avg_rt.
const microsecond = 1e-6

// workerStatuses are the statuses reported as a gauge each, 1 for the
// worker's current one; other statuses (pause, a signal's) set none.
var workerStatuses = []struct{ status, help string }{
	{"busy", "Whether the worker is serving a request."},
	{"idle", "Whether the worker is waiting for a request."},
	{"cheap", "Whether the worker is stopped by the cheaper subsystem."},
}

func addMetrics(m *integration.Metrics, s *stats, uri string) {
	// Workers with id 0 are not running (a cheaper spare); the exporter
	// leaves them out.
	var workers []worker
	for _, w := range s.Workers {
		if w.ID != 0 {
			workers = append(workers, w)
		}
	}
	m.Gauge("uwsgi_listen_queue_length", "Requests in the listen queue.", s.ListenQueue, "stats_uri", uri)
	m.Gauge("uwsgi_listen_queue_errors", "Listen queue errors.", s.ListenQueueErrors, "stats_uri", uri)
	m.Gauge("uwsgi_signal_queue_length", "Signals in the master's queue.", s.SignalQueue, "stats_uri", uri)
	m.Gauge("uwsgi_workers", "Workers running.", float64(len(workers)), "stats_uri", uri)
	addSockets(m, s.Sockets, uri)
	for _, w := range workers {
		addWorker(m, &w, uri)
	}
	for _, ch := range s.Caches {
		l := []string{"stats_uri", uri, "name", ch.Name}
		m.Counter("uwsgi_cache_hits", "Cache hits.", ch.Hits, l...)
		m.Counter("uwsgi_cache_misses", "Cache misses.", ch.Misses, l...)
		m.Counter("uwsgi_cache_full", "Times an item was not stored for the cache being full.", ch.Full, l...)
		m.Gauge("uwsgi_cache_items", "Items in the cache.", ch.Items, l...)
		m.Gauge("uwsgi_cache_max_items", "Items the cache holds at most.", ch.MaxItems, l...)
	}
}

// addSockets reports each socket once: uWSGI may list the same name and
// protocol twice (a shared socket), and the first is kept, as the exporter
// does.
func addSockets(m *integration.Metrics, sockets []socket, uri string) {
	seen := map[[2]string]bool{}
	for _, sk := range sockets {
		key := [2]string{sk.Name, sk.Proto}
		if seen[key] {
			continue
		}
		seen[key] = true
		l := []string{"stats_uri", uri, "name", sk.Name, "proto", sk.Proto}
		m.Gauge("uwsgi_socket_queue_length", "Connections in the socket's queue.", sk.Queue, l...)
		m.Gauge("uwsgi_socket_max_queue_length", "The socket's queue length at most.", sk.MaxQueue, l...)
		m.Gauge("uwsgi_socket_shared", "Whether the socket is shared.", sk.Shared, l...)
		m.Gauge("uwsgi_socket_can_offload", "Whether the socket can offload.", sk.CanOffload, l...)
	}
}

func addWorker(m *integration.Metrics, w *worker, uri string) {
	id := strconv.FormatInt(w.ID, 10)
	l := []string{"stats_uri", uri, "worker_id", id}
	m.Gauge("uwsgi_worker_accepting", "Whether the worker accepts requests.", w.Accepting, l...)
	m.Gauge("uwsgi_worker_delta_requests", "Requests since the master last reset the count.", w.DeltaRequests, l...)
	m.Gauge("uwsgi_worker_signal_queue_length", "Signals in the worker's queue.", w.SignalQueue, l...)
	m.Gauge("uwsgi_worker_rss_bytes", "Resident memory of the worker (0 without --memory-report).", w.RSS, l...)
	m.Gauge("uwsgi_worker_vsz_bytes", "Virtual memory of the worker (0 without --memory-report).", w.VSZ, l...)
	m.Gauge("uwsgi_worker_running_time_seconds", "Time the worker spent serving requests.", w.RunningTime*microsecond, l...)
	m.Gauge("uwsgi_worker_last_spawn_time_seconds", "Unix time the worker was last spawned.", w.LastSpawn, l...)
	m.Gauge("uwsgi_worker_average_response_time_seconds", "Average response time of the worker's recent requests.", w.AvgRT*microsecond, l...)
	for _, st := range workerStatuses {
		v := 0.0
		if w.Status == st.status {
			v = 1
		}
		m.Gauge("uwsgi_worker_"+st.status, st.help, v, l...)
	}
	m.Counter("uwsgi_worker_requests_total", "Requests the worker served.", w.Requests, l...)
	m.Counter("uwsgi_worker_exceptions_total", "Exceptions raised in the worker.", w.Exceptions, l...)
	m.Counter("uwsgi_worker_harakiri_count_total", "Times the worker was killed for exceeding the harakiri timeout.", w.HarakiriCount, l...)
	m.Counter("uwsgi_worker_signals_total", "Signals the worker handled.", w.Signals, l...)
	m.Counter("uwsgi_worker_respawn_count_total", "Times the worker was spawned.", w.RespawnCount, l...)
	m.Counter("uwsgi_worker_transmitted_bytes_total", "Bytes the worker sent.", w.TX, l...)
	m.Gauge("uwsgi_worker_apps", "Applications the worker loaded.", float64(len(w.Apps)), l...)
	m.Gauge("uwsgi_worker_cores", "Cores (threads or async slots) of the worker.", float64(len(w.Cores)), l...)
	for _, a := range w.Apps {
		al := []string{"stats_uri", uri, "worker_id", id, "app_id", strconv.FormatInt(a.ID, 10),
			"mountpoint", a.Mountpoint, "chdir", a.Chdir}
		m.Gauge("uwsgi_worker_app_startup_time_seconds", "Seconds the application took to load.", a.StartupTime, al...)
		m.Counter("uwsgi_worker_app_requests_total", "Requests the application served in this worker.", a.Requests, al...)
		m.Counter("uwsgi_worker_app_exceptions_total", "Exceptions the application raised in this worker.", a.Exceptions, al...)
	}
}
