package rabbitmq

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/argus-mon/argus/internal/integration"
)

// maxConns bounds the connections to one broker: a scrape and an outside
// Prometheus reading /metrics/integrations/<name> at the same moment.
const maxConns = 2

// defaultUser is the user (and password) when none is configured: the
// broker's default, which it accepts from loopback addresses only.
const defaultUser = "guest"

// pageSize is the number of queues per request, the API's maximum; a
// broker with many queues is read in several requests rather than one
// huge reply.
const pageSize = 500

// maxPages bounds the pages read in one collection.
const maxPages = 1000

// maxReply bounds one reply's size, against a server that sends without
// end.
const maxReply = 64 << 20

// queueColumns are the queue fields read: the management API leaves the
// others (and their rate details) out of the reply.
var queueColumns = "name,vhost,messages,messages_ready,messages_unacknowledged," +
	"message_bytes,message_bytes_ready,message_bytes_unacknowledged,message_bytes_ram,message_bytes_persistent,message_bytes_paged_out," +
	"messages_ram,messages_ready_ram,messages_unacknowledged_ram,messages_persistent,messages_paged_out," +
	"consumers,consumer_utilisation,consumer_capacity,memory,reductions,head_message_timestamp," +
	"message_stats.publish,message_stats.deliver,message_stats.deliver_no_ack,message_stats.get,message_stats.get_no_ack," +
	"message_stats.get_empty,message_stats.redeliver,message_stats.ack"

// nodeColumns are the node fields read (the json names of node but its
// name): without them the reply carries every field of the node and a
// rate history for most, several times as much JSON for the broker to
// write and argus to read.
var nodeColumns = "mem_used,mem_limit,mem_alarm,disk_free,disk_free_limit,disk_free_alarm," +
	"fd_used,fd_total,sockets_used,sockets_total,proc_used,proc_total,run_queue,uptime,net_ticktime," +
	"gc_num,gc_bytes_reclaimed,context_switches," +
	"io_read_count,io_read_bytes,io_write_count,io_write_bytes,io_sync_count,io_seek_count,io_reopen_count," +
	"msg_store_read_count,msg_store_write_count,queue_index_read_count,queue_index_write_count," +
	"mnesia_ram_tx_count,mnesia_disk_tx_count," +
	"connection_created,connection_closed,channel_created,channel_closed,queue_declared,queue_created,queue_deleted"

// Collector reads one broker's management API.
type Collector struct {
	target *integration.Target
	base   string
	client *http.Client
}

// New returns the collector of one RabbitMQ instance. It does not
// connect.
func New(t *integration.Target, _ *slog.Logger) (integration.Collector, error) {
	tr := &http.Transport{
		TLSClientConfig:     t.TLS,
		MaxConnsPerHost:     maxConns,
		MaxIdleConnsPerHost: maxConns,
		IdleConnTimeout:     5 * time.Minute,
	}
	host := t.Address
	if t.Network == "unix" {
		// The URL's host is then only a name; every request goes to the
		// socket.
		host = "localhost"
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", t.Address)
		}
	} else {
		var d net.Dialer
		tr.DialContext = d.DialContext
	}
	scheme := "http"
	if t.TLS != nil {
		scheme = "https"
	}
	return &Collector{
		target: t,
		base:   scheme + "://" + host,
		// No redirects: a login page is not the API.
		client: &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
	}, nil
}

// Close closes the idle connections.
func (c *Collector) Close() error {
	c.client.CloseIdleConnections()
	return nil
}

// Collect reads the broker and adds the plugin's metrics.
func (c *Collector) Collect(ctx context.Context, m *integration.Metrics) error {
	err := c.collect(ctx, m)
	// The plugin has no up metric: a broker that does not answer has no
	// plugin endpoint either. argus reports the target down.
	return err
}

func (c *Collector) collect(ctx context.Context, m *integration.Metrics) error {
	var ov overview
	if err := c.get(ctx, "/api/overview?columns=node,cluster_name,rabbitmq_version,erlang_version,object_totals", &ov); err != nil {
		return err
	}
	if ov.Node == "" {
		return errors.New("GET /api/overview: the reply names no node: not RabbitMQ's management API?")
	}
	// The list of nodes takes columns (the single node's resource answers
	// [] when given them), so only the fields read are written and read.
	var nodes []node
	if err := c.get(ctx, "/api/nodes?columns=name,"+nodeColumns, &nodes); err != nil {
		return err
	}
	i := slices.IndexFunc(nodes, func(n node) bool { return n.Name == ov.Node })
	if i < 0 {
		return fmt.Errorf("GET /api/nodes: node %s, which answers, is not listed", ov.Node)
	}
	n := nodes[i]
	var clusterID struct {
		Value string `json:"value"`
	}
	// Only administrators may read it, and brokers before 3.8 lack it:
	// the label is empty then. A broker that went away fails the next
	// request anyway.
	_ = c.get(ctx, "/api/global-parameters/internal_cluster_id", &clusterID)
	var queues []queue
	for page := 1; page <= maxPages; page++ {
		var p queuePage
		path := fmt.Sprintf("/api/queues?page=%d&page_size=%d&columns=%s", page, pageSize, url.QueryEscape(queueColumns))
		if err := c.get(ctx, path, &p); err != nil {
			return err
		}
		queues = append(queues, p.Items...)
		if page >= p.PageCount {
			break
		}
	}
	addOverview(m, &ov, clusterID.Value)
	addNode(m, &n)
	addQueues(m, queues)
	return nil
}

// get reads a JSON reply into v.
func (c *Collector) get(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return fmt.Errorf("GET %s: %w", shortPath(path), err)
	}
	user := c.target.Username
	pw, err := c.target.Password()
	if err != nil {
		return err
	}
	if user == "" {
		user, pw = defaultUser, defaultUser
	}
	req.SetBasicAuth(user, pw)
	resp, err := c.client.Do(req)
	if err != nil {
		// The URL in the error has no credentials: they are in a header.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return fmt.Errorf("GET %s: %w", shortPath(path), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxReply+1))
	if err != nil {
		return fmt.Errorf("GET %s: read the reply: %w", shortPath(path), err)
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return fmt.Errorf("GET %s: the management API refused the credentials of user %q (401 Unauthorized)", shortPath(path), user)
	case resp.StatusCode == http.StatusForbidden:
		return fmt.Errorf("GET %s: user %q may not read it (403 Forbidden); give it the monitoring tag", shortPath(path), user)
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("GET %s: %s: %s", shortPath(path), resp.Status, excerpt(body))
	case len(body) > maxReply:
		return fmt.Errorf("GET %s: the reply exceeds %d bytes", shortPath(path), maxReply)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET %s: not the management API's JSON (%v): %s", shortPath(path), err, excerpt(body))
	}
	return nil
}

// shortPath is a request's path without its query, for errors.
func shortPath(p string) string {
	if u, err := url.Parse(p); err == nil {
		return u.Path
	}
	return p
}

// excerpt quotes the start of a reply, for errors.
func excerpt(b []byte) string {
	const n = 80
	if len(b) > n {
		return strconv.Quote(string(b[:n])) + "..."
	}
	return strconv.Quote(string(b))
}
