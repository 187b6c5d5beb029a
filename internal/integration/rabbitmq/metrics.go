package rabbitmq

import (
	"math"

	"github.com/argus-mon/argus/internal/integration"
)

// overview is the part of GET /api/overview read.
type overview struct {
	Node            string `json:"node"`
	ClusterName     string `json:"cluster_name"`
	RabbitMQVersion string `json:"rabbitmq_version"`
	ErlangVersion   string `json:"erlang_version"`
	ObjectTotals    struct {
		Connections *float64 `json:"connections"`
		Channels    *float64 `json:"channels"`
		Consumers   *float64 `json:"consumers"`
		Queues      *float64 `json:"queues"`
	} `json:"object_totals"`
}

// node is the fields of a node of GET /api/nodes read, by the plugin's
// metric name. A field the broker leaves out (statistics disabled) is nil
// and its metric missing.
type node struct {
	Name          string   `json:"name"`
	MemUsed       *float64 `json:"mem_used"`
	MemLimit      *float64 `json:"mem_limit"`
	MemAlarm      *bool    `json:"mem_alarm"`
	DiskFree      *float64 `json:"disk_free"`
	DiskFreeLimit *float64 `json:"disk_free_limit"`
	DiskFreeAlarm *bool    `json:"disk_free_alarm"`
	FDUsed        *float64 `json:"fd_used"`
	FDTotal       *float64 `json:"fd_total"`
	SocketsUsed   *float64 `json:"sockets_used"`
	SocketsTotal  *float64 `json:"sockets_total"`
	ProcUsed      *float64 `json:"proc_used"`
	ProcTotal     *float64 `json:"proc_total"`
	RunQueue      *float64 `json:"run_queue"`
	Uptime        *float64 `json:"uptime"` // milliseconds
	NetTicktime   *float64 `json:"net_ticktime"`
	GCNum         *float64 `json:"gc_num"`
	GCBytes       *float64 `json:"gc_bytes_reclaimed"`
	ContextSwitch *float64 `json:"context_switches"`
	IOReadCount   *float64 `json:"io_read_count"`
	IOReadBytes   *float64 `json:"io_read_bytes"`
	IOWriteCount  *float64 `json:"io_write_count"`
	IOWriteBytes  *float64 `json:"io_write_bytes"`
	IOSyncCount   *float64 `json:"io_sync_count"`
	IOSeekCount   *float64 `json:"io_seek_count"`
	IOReopenCount *float64 `json:"io_reopen_count"`
	MsgStoreRead  *float64 `json:"msg_store_read_count"`
	MsgStoreWrite *float64 `json:"msg_store_write_count"`
	QIndexRead    *float64 `json:"queue_index_read_count"`
	QIndexWrite   *float64 `json:"queue_index_write_count"`
	MnesiaRAMTx   *float64 `json:"mnesia_ram_tx_count"`
	MnesiaDiskTx  *float64 `json:"mnesia_disk_tx_count"`
	ConnCreated   *float64 `json:"connection_created"`
	ConnClosed    *float64 `json:"connection_closed"`
	ChanCreated   *float64 `json:"channel_created"`
	ChanClosed    *float64 `json:"channel_closed"`
	QueueDeclared *float64 `json:"queue_declared"`
	QueueCreated  *float64 `json:"queue_created"`
	QueueDeleted  *float64 `json:"queue_deleted"`
}

// queuePage is a page of GET /api/queues.
type queuePage struct {
	Items     []queue `json:"items"`
	PageCount int     `json:"page_count"`
}

// queue is the fields of a queue read (queueColumns).
type queue struct {
	Name                 string   `json:"name"`
	Vhost                string   `json:"vhost"`
	Messages             *float64 `json:"messages"`
	Ready                *float64 `json:"messages_ready"`
	Unacked              *float64 `json:"messages_unacknowledged"`
	Bytes                *float64 `json:"message_bytes"`
	ReadyBytes           *float64 `json:"message_bytes_ready"`
	UnackedBytes         *float64 `json:"message_bytes_unacknowledged"`
	RAMBytes             *float64 `json:"message_bytes_ram"`
	PersistentBytes      *float64 `json:"message_bytes_persistent"`
	PagedOutBytes        *float64 `json:"message_bytes_paged_out"`
	RAM                  *float64 `json:"messages_ram"`
	ReadyRAM             *float64 `json:"messages_ready_ram"`
	UnackedRAM           *float64 `json:"messages_unacknowledged_ram"`
	Persistent           *float64 `json:"messages_persistent"`
	PagedOut             *float64 `json:"messages_paged_out"`
	Consumers            *float64 `json:"consumers"`
	ConsumerUtilisation  *float64 `json:"consumer_utilisation"`
	ConsumerCapacity     *float64 `json:"consumer_capacity"`
	Memory               *float64 `json:"memory"`
	Reductions           *float64 `json:"reductions"`
	HeadMessageTimestamp *float64 `json:"head_message_timestamp"`
	Stats                struct {
		Publish      *float64 `json:"publish"`
		Deliver      *float64 `json:"deliver"`
		DeliverNoAck *float64 `json:"deliver_no_ack"`
		Get          *float64 `json:"get"`
		GetNoAck     *float64 `json:"get_no_ack"`
		GetEmpty     *float64 `json:"get_empty"`
		Redeliver    *float64 `json:"redeliver"`
		Ack          *float64 `json:"ack"`
	} `json:"message_stats"`
}

// addOverview adds the broker's identity and object counts.
func addOverview(m *integration.Metrics, ov *overview, clusterID string) {
	m.Untyped("rabbitmq_identity_info", "The node and cluster.", 1,
		"rabbitmq_node", ov.Node, "rabbitmq_cluster", ov.ClusterName, "rabbitmq_cluster_permanent_id", clusterID)
	// The plugin is versioned with the broker; there is no client library
	// to name.
	m.Untyped("rabbitmq_build_info", "The versions of RabbitMQ and Erlang.", 1,
		"rabbitmq_version", ov.RabbitMQVersion, "prometheus_plugin_version", ov.RabbitMQVersion,
		"prometheus_client_version", "", "erlang_version", ov.ErlangVersion)
	t := &ov.ObjectTotals
	gauge(m, "rabbitmq_connections", "Open connections.", t.Connections)
	gauge(m, "rabbitmq_channels", "Open channels.", t.Channels)
	gauge(m, "rabbitmq_consumers", "Consumers.", t.Consumers)
	gauge(m, "rabbitmq_queues", "Queues.", t.Queues)
}

// addNode adds the node's resources, alarms and counters.
func addNode(m *integration.Metrics, n *node) {
	gauge(m, "rabbitmq_process_resident_memory_bytes", "Memory used by the node.", n.MemUsed)
	gauge(m, "rabbitmq_resident_memory_limit_bytes", "Memory high watermark.", n.MemLimit)
	gauge(m, "rabbitmq_disk_space_available_bytes", "Free disk space.", n.DiskFree)
	gauge(m, "rabbitmq_disk_space_available_limit_bytes", "Free disk space low watermark.", n.DiskFreeLimit)
	gauge(m, "rabbitmq_process_open_fds", "Open file descriptors.", n.FDUsed)
	gauge(m, "rabbitmq_process_max_fds", "File descriptor limit.", n.FDTotal)
	gauge(m, "rabbitmq_process_open_tcp_sockets", "Open TCP sockets.", n.SocketsUsed)
	gauge(m, "rabbitmq_process_max_tcp_sockets", "TCP socket limit.", n.SocketsTotal)
	gauge(m, "rabbitmq_erlang_processes_used", "Erlang processes.", n.ProcUsed)
	gauge(m, "rabbitmq_erlang_processes_limit", "Erlang process limit.", n.ProcTotal)
	gauge(m, "rabbitmq_erlang_scheduler_run_queue", "Erlang processes ready to run.", n.RunQueue)
	gauge(m, "rabbitmq_erlang_net_ticktime_seconds", "Inter-node heartbeat interval.", n.NetTicktime)
	if n.Uptime != nil {
		m.Gauge("rabbitmq_erlang_uptime_seconds", "Time since the node started.", *n.Uptime/1000)
	}
	alarm(m, "rabbitmq_alarms_memory_used_watermark", "Whether the memory alarm is set.", n.MemAlarm)
	alarm(m, "rabbitmq_alarms_free_disk_space_watermark", "Whether the free disk space alarm is set.", n.DiskFreeAlarm)
	for _, c := range []struct {
		name, help string
		v          *float64
	}{
		{"rabbitmq_erlang_gc_runs_total", "Erlang garbage collections.", n.GCNum},
		{"rabbitmq_erlang_gc_reclaimed_bytes_total", "Bytes reclaimed by Erlang garbage collections.", n.GCBytes},
		{"rabbitmq_erlang_scheduler_context_switches_total", "Erlang context switches.", n.ContextSwitch},
		{"rabbitmq_io_read_ops_total", "Read operations.", n.IOReadCount},
		{"rabbitmq_io_read_bytes_total", "Bytes read.", n.IOReadBytes},
		{"rabbitmq_io_write_ops_total", "Write operations.", n.IOWriteCount},
		{"rabbitmq_io_write_bytes_total", "Bytes written.", n.IOWriteBytes},
		{"rabbitmq_io_sync_ops_total", "Sync operations.", n.IOSyncCount},
		{"rabbitmq_io_seek_ops_total", "Seek operations.", n.IOSeekCount},
		{"rabbitmq_io_reopen_ops_total", "Files reopened.", n.IOReopenCount},
		{"rabbitmq_msg_store_read_total", "Message store reads.", n.MsgStoreRead},
		{"rabbitmq_msg_store_write_total", "Message store writes.", n.MsgStoreWrite},
		{"rabbitmq_queue_index_read_ops_total", "Queue index reads.", n.QIndexRead},
		{"rabbitmq_queue_index_write_ops_total", "Queue index writes.", n.QIndexWrite},
		{"rabbitmq_schema_db_ram_tx_total", "Schema database transactions in RAM.", n.MnesiaRAMTx},
		{"rabbitmq_schema_db_disk_tx_total", "Schema database transactions on disk.", n.MnesiaDiskTx},
		{"rabbitmq_connections_opened_total", "Connections opened.", n.ConnCreated},
		{"rabbitmq_connections_closed_total", "Connections closed.", n.ConnClosed},
		{"rabbitmq_channels_opened_total", "Channels opened.", n.ChanCreated},
		{"rabbitmq_channels_closed_total", "Channels closed.", n.ChanClosed},
		{"rabbitmq_queues_declared_total", "Queues declared.", n.QueueDeclared},
		{"rabbitmq_queues_created_total", "Queues created.", n.QueueCreated},
		{"rabbitmq_queues_deleted_total", "Queues deleted.", n.QueueDeleted},
	} {
		if c.v != nil {
			m.Counter(c.name, c.help, *c.v)
		}
	}
}

// addQueues adds the per-queue metrics. The plugin counts messages
// published, delivered and acknowledged per channel (and exchange); the
// management API has per-queue totals only, so these series have the
// plugin's label names with channel and exchange empty: a query that sums
// by queue gives the same result.
func addQueues(m *integration.Metrics, queues []queue) {
	for i := range queues {
		q := &queues[i]
		l := []string{"vhost", q.Vhost, "queue", q.Name}
		for _, g := range []struct {
			name, help string
			v          *float64
		}{
			{"rabbitmq_queue_messages", "Messages ready and unacknowledged.", q.Messages},
			{"rabbitmq_queue_messages_ready", "Messages ready for delivery.", q.Ready},
			{"rabbitmq_queue_messages_unacked", "Messages delivered and not yet acknowledged.", q.Unacked},
			{"rabbitmq_queue_messages_bytes", "Bytes of the messages ready and unacknowledged.", q.Bytes},
			{"rabbitmq_queue_messages_ready_bytes", "Bytes of the messages ready.", q.ReadyBytes},
			{"rabbitmq_queue_messages_unacked_bytes", "Bytes of the messages unacknowledged.", q.UnackedBytes},
			{"rabbitmq_queue_messages_ram_bytes", "Bytes of the messages in RAM.", q.RAMBytes},
			{"rabbitmq_queue_messages_persistent_bytes", "Bytes of the persistent messages.", q.PersistentBytes},
			{"rabbitmq_queue_messages_paged_out_bytes", "Bytes of the messages paged out to disk.", q.PagedOutBytes},
			{"rabbitmq_queue_messages_ram", "Messages in RAM.", q.RAM},
			{"rabbitmq_queue_messages_ready_ram", "Ready messages in RAM.", q.ReadyRAM},
			{"rabbitmq_queue_messages_unacked_ram", "Unacknowledged messages in RAM.", q.UnackedRAM},
			{"rabbitmq_queue_messages_persistent", "Persistent messages.", q.Persistent},
			{"rabbitmq_queue_messages_paged_out", "Messages paged out to disk.", q.PagedOut},
			{"rabbitmq_queue_consumers", "Consumers.", q.Consumers},
			{"rabbitmq_queue_consumer_utilisation", "Fraction of the time the queue can deliver to consumers at once.", q.ConsumerUtilisation},
			{"rabbitmq_queue_consumer_capacity", "Fraction of the time the queue can deliver to consumers at once.", q.ConsumerCapacity},
			{"rabbitmq_queue_process_memory_bytes", "Memory of the queue's process.", q.Memory},
		} {
			gauge(m, g.name, g.help, g.v, l...)
		}
		// The plugin reports NaN for a queue without a timestamped
		// message at its head.
		head := math.NaN()
		if q.HeadMessageTimestamp != nil {
			head = *q.HeadMessageTimestamp
		}
		m.Gauge("rabbitmq_queue_head_message_timestamp", "Timestamp of the first message in the queue.", head, l...)
		if q.Reductions != nil {
			m.Counter("rabbitmq_queue_process_reductions_total", "Reductions of the queue's process.", *q.Reductions, l...)
		}
		s := &q.Stats
		m.Counter("rabbitmq_queue_messages_published_total", "Messages published to the queue.", zero(s.Publish),
			"channel", "", "queue_vhost", q.Vhost, "queue", q.Name, "exchange_vhost", "", "exchange", "")
		cl := []string{"channel", "", "vhost", q.Vhost, "queue", q.Name}
		m.Counter("rabbitmq_channel_messages_delivered_ack_total", "Messages delivered to consumers in manual acknowledgement mode.", zero(s.Deliver), cl...)
		m.Counter("rabbitmq_channel_messages_delivered_total", "Messages delivered to consumers in automatic acknowledgement mode.", zero(s.DeliverNoAck), cl...)
		m.Counter("rabbitmq_channel_get_ack_total", "Messages fetched with basic.get in manual acknowledgement mode.", zero(s.Get), cl...)
		m.Counter("rabbitmq_channel_get_total", "Messages fetched with basic.get in automatic acknowledgement mode.", zero(s.GetNoAck), cl...)
		m.Counter("rabbitmq_channel_get_empty_total", "basic.get on an empty queue.", zero(s.GetEmpty), cl...)
		m.Counter("rabbitmq_channel_messages_redelivered_total", "Messages redelivered to consumers.", zero(s.Redeliver), cl...)
		m.Counter("rabbitmq_channel_messages_acked_total", "Messages acknowledged by consumers.", zero(s.Ack), cl...)
	}
}

func gauge(m *integration.Metrics, name, help string, v *float64, labels ...string) {
	if v != nil {
		m.Gauge(name, help, *v, labels...)
	}
}

func alarm(m *integration.Metrics, name, help string, v *bool) {
	if v == nil {
		return
	}
	set := 0.0
	if *v {
		set = 1
	}
	m.Gauge(name, help, set)
}

// zero is a counter the API leaves out until it is not 0.
func zero(v *float64) float64 {
	if v == nil {
		return 0
	}
	return *v
}
