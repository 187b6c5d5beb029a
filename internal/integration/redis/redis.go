package redis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/argus-mon/argus/internal/integration"
)

// maxConns bounds the connections to one server: a scrape and an outside
// Prometheus reading /metrics/integrations/<name> at the same moment.
const maxConns = 2

// Collector reads one Redis server.
type Collector struct {
	target *integration.Target
	pool   *integration.Pool
}

// New returns the collector of one Redis instance. It does not connect.
func New(t *integration.Target, _ *slog.Logger) (integration.Collector, error) {
	c := &Collector{target: t}
	c.pool = integration.NewPool(t, maxConns, c.auth)
	return c, nil
}

// Close closes the pooled connections.
func (c *Collector) Close() error { return c.pool.Close() }

// auth authenticates a new connection, with the ACL user name if one is
// configured (Redis 6 and later), as redis_exporter does.
func (c *Collector) auth(_ context.Context, conn *integration.Conn) error {
	pw, err := c.target.Password()
	if err != nil || pw == "" {
		return err
	}
	args := []string{"AUTH", pw}
	if c.target.Username != "" {
		args = []string{"AUTH", c.target.Username, pw}
	}
	replies, err := roundTrip(conn, [][]string{args})
	if err != nil {
		return fmt.Errorf("authenticate: %w", err)
	}
	if e, ok := replies[0].(serverError); ok {
		return fmt.Errorf("authenticate: server refused the credentials: %s", e)
	}
	return nil
}

// The commands of one collection, pipelined; their replies come in order.
var (
	cmdInfo        = []string{"INFO", "ALL"}
	cmdDatabases   = []string{"CONFIG", "GET", "databases"}
	cmdSlowlogLen  = []string{"SLOWLOG", "LEN"}
	cmdSlowlogLast = []string{"SLOWLOG", "GET", "1"}
	// configMetrics are the settings reported as redis_config_<name>, as
	// the exporter reports them from CONFIG GET *.
	configMetrics = []string{"io-threads", "maxclients", "maxmemory"}
)

// Collect reads the server and adds redis_exporter's metrics.
func (c *Collector) Collect(ctx context.Context, m *integration.Metrics) error {
	cmds := [][]string{cmdInfo, cmdDatabases, cmdSlowlogLen, cmdSlowlogLast}
	for _, name := range configMetrics {
		cmds = append(cmds, []string{"CONFIG", "GET", name})
	}
	var replies []any
	err := c.pool.Do(ctx, func(conn *integration.Conn) error {
		var err error
		replies, err = roundTrip(conn, cmds)
		return err
	})
	if err == nil {
		err = addReplies(m, replies, time.Now())
	}
	up := 1.0
	if err != nil {
		up = 0
	}
	m.Gauge("redis_up", "Whether the Redis server could be read.", up)
	return err
}

// roundTrip sends commands in one write and reads one reply each.
func roundTrip(conn *integration.Conn, cmds [][]string) ([]any, error) {
	var buf []byte
	for _, c := range cmds {
		buf = appendCommand(buf, c...)
	}
	if _, err := conn.Write(buf); err != nil {
		return nil, fmt.Errorf("send %s: %w", cmds[0][0], err)
	}
	replies := make([]any, len(cmds))
	for i, c := range cmds {
		r, err := readReply(conn.R)
		if err != nil {
			return nil, fmt.Errorf("read reply to %s: %w", strings.Join(c, " "), err)
		}
		replies[i] = r
	}
	return replies, nil
}

// addReplies adds the metrics of the replies to Collect's commands. Only
// INFO must succeed: CONFIG and SLOWLOG may be renamed away or denied by
// an ACL, and then their metrics are missing, as with the exporter.
func addReplies(m *integration.Metrics, replies []any, now time.Time) error {
	text, err := stringReply(replies[0])
	if err != nil {
		return fmt.Errorf("INFO ALL: %w", err)
	}
	in := parseInfo(text)
	if len(in.fields) == 0 {
		return errors.New("INFO ALL: the reply has no fields: not a Redis server?")
	}
	addInfo(m, in, now)
	if n, ok := configValue(replies[1], "databases"); ok {
		addEmptyDatabases(m, in, int(n))
	}
	if n, ok := replies[2].(int64); ok {
		m.Gauge("redis_slowlog_length", "Entries in the slow log.", float64(n))
	}
	if entries, ok := replies[3].([]any); ok {
		id, usec := 0.0, 0.0
		if len(entries) > 0 {
			if e, ok := entries[0].([]any); ok && len(e) >= 3 {
				if v, ok := e[0].(int64); ok {
					id = float64(v)
				}
				if v, ok := e[2].(int64); ok {
					usec = float64(v)
				}
			}
		}
		m.Gauge("redis_slowlog_last_id", "ID of the last slow log entry.", id)
		m.Gauge("redis_last_slow_execution_duration_seconds", "Duration of the last slow log entry.", usec/1e6)
	}
	for i, name := range configMetrics {
		if v, ok := configValue(replies[4+i], name); ok {
			m.Gauge("redis_config_"+strings.ReplaceAll(name, "-", "_"), "Setting "+name+".", v)
		}
	}
	return nil
}

// addEmptyDatabases reports databases without keys, which INFO leaves
// out, as holding none, as the exporter does.
func addEmptyDatabases(m *integration.Metrics, in *info, n int) {
	const maxDatabases = 1 << 16 // a bound against a garbage reply
	for i := range min(n, maxDatabases) {
		db := "db" + strconv.Itoa(i)
		if _, ok := in.fields[db]; ok {
			continue
		}
		m.Gauge("redis_db_keys", "Keys by database.", 0, "db", db)
		m.Gauge("redis_db_keys_expiring", "Keys with an expiry by database.", 0, "db", db)
	}
}

// stringReply returns a bulk or simple string reply.
func stringReply(r any) (string, error) {
	switch v := r.(type) {
	case string:
		return v, nil
	case serverError:
		return "", fmt.Errorf("server error: %s", string(v))
	}
	return "", fmt.Errorf("unexpected reply of type %T", r)
}

// configValue returns the number CONFIG GET answered for name.
func configValue(r any, name string) (float64, bool) {
	arr, ok := r.([]any)
	if !ok || len(arr) != 2 {
		return 0, false
	}
	if k, _ := arr[0].(string); !strings.EqualFold(k, name) {
		return 0, false
	}
	s, _ := arr[1].(string)
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil
}
