package rabbitmq

import (
	"bufio"
	"errors"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/model"
	amqp "github.com/rabbitmq/amqp091-go"
	"go.uber.org/goleak"

	"github.com/argus-mon/argus/internal/config"
	"github.com/argus-mon/argus/internal/integration"
	"github.com/argus-mon/argus/internal/integration/integrationtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newInstance(t *testing.T, cfg config.Integration) *integration.Instance {
	t.Helper()
	cfg.Name, cfg.Type = "broker", "rabbitmq"
	if cfg.Timeout == 0 {
		cfg.Timeout = model.Duration(20 * time.Second)
	}
	return integrationtest.NewInstance(t, cfg, New)
}

// notProduced are prefixes of the plugin's metrics argus does not
// produce, with why; docs/integrations.md lists them too.
var notProduced = map[string]string{
	"erlang_":                                   "the Erlang VM's internals (allocators, distribution, mnesia, microstate accounting): not in the management API",
	"telemetry_":                                "idem",
	"rabbitmq_global_":                          "counters by protocol and queue type: the management API has other breakdowns",
	"rabbitmq_auth_attempts_":                   "not in the management API's default output",
	"rabbitmq_connection_":                      "per-connection series: one request per collection more, for many connections; the totals are rabbitmq_connections*",
	"rabbitmq_channel_acks_":                    "per-channel series: idem for channels",
	"rabbitmq_channel_consumers":                "idem",
	"rabbitmq_channel_messages_un":              "idem",
	"rabbitmq_channel_prefetch":                 "idem",
	"rabbitmq_channel_process_":                 "idem",
	"rabbitmq_channel_messages_confirmed_total": "per channel and exchange: idem",
	"rabbitmq_channel_messages_published_total": "idem",
	"rabbitmq_consumer_prefetch":                "idem",
	"rabbitmq_queue_disk_":                      "not in the management API's queue list",
	"rabbitmq_io_read_time_":                    "the API has an average per operation, not the total time",
	"rabbitmq_io_write_time_":                   "idem",
	"rabbitmq_io_sync_time_":                    "idem",
	"rabbitmq_io_seek_time_":                    "idem",
}

// notInPlugin are argus's metrics the plugin of RabbitMQ 3.10 lacks.
var notInPlugin = map[string]string{
	"rabbitmq_alarms_memory_used_watermark":     "added to the plugin in RabbitMQ 3.11",
	"rabbitmq_alarms_free_disk_space_watermark": "idem",
}

func isNotProduced(name string) bool {
	for p := range notProduced {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

func pluginFamilies(t *testing.T, addr string) []*dto.MetricFamily {
	t.Helper()
	return integrationtest.Scrape(t, "http://"+addr+"/metrics/per-object")
}

// traffic declares a queue, publishes to it and consumes one message
// without acknowledging it, and keeps the connection open.
func traffic(t *testing.T, s *integrationtest.RabbitMQServer) {
	t.Helper()
	conn, err := amqp.Dial("amqp://guest:guest@" + s.AMQP + "/")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare("orders", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := ch.Publish("", "orders", false, false, amqp.Publishing{Body: []byte("x")}); err != nil {
			t.Fatal(err)
		}
	}
	if err := ch.Qos(1, 0, false); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.Consume("orders", "c1", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
}

// waitFor gathers until cond holds: the management API's statistics lag
// by their collection interval.
func waitFor(t *testing.T, in *integration.Instance, what string, cond func([]*dto.MetricFamily) bool) []*dto.MetricFamily {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		fams, err := in.Gather()
		if err != nil {
			t.Fatal(err)
		}
		if cond(fams) {
			return fams
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after 60s", what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// statsSettled reports whether the statistics show traffic's work: the
// queue's counts, and its one connection and channel, which the broker's
// overview counts apart from the queue's and may report a collection
// later.
func statsSettled(fams []*dto.MetricFamily) bool {
	ready, _ := integrationtest.Value(fams, "rabbitmq_queue_messages_ready", "queue", "orders")
	unacked, _ := integrationtest.Value(fams, "rabbitmq_queue_messages_unacked", "queue", "orders")
	published, _ := integrationtest.Value(fams, "rabbitmq_queue_messages_published_total", "queue", "orders")
	conns, _ := integrationtest.Value(fams, "rabbitmq_connections")
	channels, _ := integrationtest.Value(fams, "rabbitmq_channels")
	return ready == 2 && unacked == 1 && published == 3 && conns == 1 && channels == 1
}

// TestMatchesPrometheusPlugin compares argus with the plugin on a broker
// with a queue, a publisher and a consumer, and checks that argus has
// every series the built-in dashboard and the example rules query.
func TestMatchesPrometheusPlugin(t *testing.T) {
	s := integrationtest.RabbitMQ(t, true)
	traffic(t, s)
	in := newInstance(t, config.Integration{Address: s.Management})
	ours := waitFor(t, in, "statistics", statsSettled)
	theirs := pluginFamilies(t, s.Prometheus)
	o, w := integrationtest.Shapes(ours), integrationtest.Shapes(theirs)
	t.Logf("argus produces %d families, the plugin %d", len(o), len(w))
	for name, sh := range o {
		ws, ok := w[name]
		switch {
		case !ok && notInPlugin[name] == "":
			t.Errorf("%s: the prometheus plugin has no such metric", name)
		case ok && ws != sh:
			t.Errorf("%s: ours %+v, the plugin's %+v", name, sh, ws)
		}
	}
	for name := range w {
		if _, ok := o[name]; !ok && !isNotProduced(name) {
			t.Errorf("%s: produced by the plugin, not by argus, and not listed as such", name)
		}
	}
	if bad := integrationtest.LabelsAgree(ours); len(bad) > 0 {
		t.Errorf("series with differing label names: %v", bad)
	}
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"rabbitmq_queue_consumers", []string{"queue", "orders", "vhost", "/"}, 1},
		{"rabbitmq_connections", nil, 1},
		{"rabbitmq_channels", nil, 1},
		{"rabbitmq_queues", nil, 1},
		{"rabbitmq_alarms_memory_used_watermark", nil, 0},
		{"rabbitmq_identity_info", []string{"rabbitmq_cluster", valueOf(theirs, "rabbitmq_identity_info", "rabbitmq_cluster")}, 1},
	} {
		if v, ok := integrationtest.Value(ours, c.name, c.labels...); !ok || v != c.want {
			t.Errorf("%s%v = %v (present %v), want %v", c.name, c.labels, v, ok, c.want)
		}
	}
	for _, name := range []string{"rabbitmq_process_resident_memory_bytes", "rabbitmq_disk_space_available_bytes", "rabbitmq_process_open_fds", "rabbitmq_resident_memory_limit_bytes"} {
		if v, ok := integrationtest.Value(ours, name); !ok || v <= 0 {
			t.Errorf("%s = %v (present %v)", name, v, ok)
		}
	}
	if id := valueOf(ours, "rabbitmq_identity_info", "rabbitmq_cluster_permanent_id"); id == "" || id != valueOf(theirs, "rabbitmq_identity_info", "rabbitmq_cluster_permanent_id") {
		t.Errorf("rabbitmq_cluster_permanent_id = %q", id)
	}
	integrationtest.CheckQueries(t, "rabbitmq", ours)
}

// TestNodeColumnsAreNodeFields checks that the node request asks for
// exactly the fields the node type reads: a field left out of the columns
// would be missing from every reply, and its metric with it.
func TestNodeColumnsAreNodeFields(t *testing.T) {
	var fields []string
	typ := reflect.TypeFor[node]()
	for i := 1; i < typ.NumField(); i++ { // all but the name
		fields = append(fields, typ.Field(i).Tag.Get("json"))
	}
	if got, want := nodeColumns, strings.Join(fields, ","); got != want {
		t.Errorf("nodeColumns = %s\nthe node type's fields: %s", got, want)
	}
}

// valueOf returns a label's value on the first series of a family.
func valueOf(fams []*dto.MetricFamily, name, label string) string {
	for _, f := range fams {
		if f.GetName() == name && len(f.Metric) > 0 {
			for _, l := range f.Metric[0].Label {
				if l.GetName() == label {
					return l.GetValue()
				}
			}
		}
	}
	return ""
}

// TestManagementOnly reads a broker without the prometheus plugin, and
// with wrong credentials.
func TestManagementOnly(t *testing.T) {
	s := integrationtest.RabbitMQ(t, false)
	traffic(t, s)
	in := newInstance(t, config.Integration{Address: s.Management, Username: "guest", Password: "guest"})
	waitFor(t, in, "statistics", statsSettled)

	if out, err := s.Ctl("add_user", "monitor", "monitor-pw-1"); err != nil {
		t.Fatalf("rabbitmqctl add_user: %v\n%s", err, out)
	}
	for _, c := range []struct {
		name string
		cfg  config.Integration
		want string
	}{
		{"wrong password", config.Integration{Username: "guest", Password: "wrong-horse"}, `the management API refused the credentials of user "guest" (401 Unauthorized)`},
		{"no management tag", config.Integration{Username: "monitor", Password: "monitor-pw-1"}, `the management API refused the credentials of user "monitor" (401 Unauthorized)`},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.cfg.Address = s.Management
			_, err := newInstance(t, c.cfg).Gather()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
			if strings.Contains(err.Error(), string(c.cfg.Password)) {
				t.Errorf("the error shows the password: %v", err)
			}
		})
	}
	if out, err := s.Ctl("set_user_tags", "monitor", "monitoring"); err != nil {
		t.Fatalf("rabbitmqctl set_user_tags: %v\n%s", err, out)
	}
	if out, err := s.Ctl("set_permissions", "monitor", "", "", ".*"); err != nil {
		t.Fatalf("rabbitmqctl set_permissions: %v\n%s", err, out)
	}
	fams, err := newInstance(t, config.Integration{Address: s.Management, Username: "monitor", Password: "monitor-pw-1"}).Gather()
	if err != nil {
		t.Fatalf("a user with the monitoring tag: %v", err)
	}
	if v, ok := integrationtest.Value(fams, "rabbitmq_queue_consumers", "queue", "orders"); !ok || v != 1 {
		t.Errorf("rabbitmq_queue_consumers{queue=orders} = %v (present %v)", v, ok)
	}
}

// reply starts a server that reads a request's header, answers with
// text and closes the connection.
func reply(t testing.TB, text string) string {
	return integrationtest.Fake(t, func(c net.Conn) {
		r := bufio.NewReader(c)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			if line == "\r\n" {
				break
			}
		}
		c.Write([]byte(text))
	})
}

func TestFaults(t *testing.T) {
	for _, c := range []struct {
		name    string
		address func(t testing.TB) string
		want    string
		timeout bool
	}{
		{"down", integrationtest.FreeAddr, "GET /api/overview: dial tcp", false},
		{"silent", integrationtest.Silent, "no answer within the timeout of 2s: GET /api/overview", true},
		{"not HTTP", func(t testing.TB) string {
			return reply(t, "+OK\r\n")
		}, `GET /api/overview: net/http: HTTP/1.x transport connection broken: malformed HTTP response "+OK"`, false},
		{"not JSON", func(t testing.TB) string {
			return reply(t, "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nhello\n")
		}, `GET /api/overview: not the management API's JSON`, false},
		{"other JSON", func(t testing.TB) string {
			return reply(t, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n{}\n")
		}, `the reply names no node: not RabbitMQ's management API?`, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			addr := c.address(t)
			_, err := newInstance(t, config.Integration{Address: addr, Password: "secret-pw", Username: "u", Timeout: model.Duration(2 * time.Second)}).Gather()
			var ce *integration.CollectError
			if !errors.As(err, &ce) {
				t.Fatalf("got %v, want a CollectError", err)
			}
			if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), addr) || strings.Contains(err.Error(), "secret-pw") {
				t.Errorf("error %q does not name %s and contain %q (or shows the password)", err, addr, c.want)
			}
			if ce.Timeout != c.timeout {
				t.Errorf("Timeout = %v, want %v", ce.Timeout, c.timeout)
			}
		})
	}
}
