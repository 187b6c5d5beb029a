package memcached

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"go.uber.org/goleak"

	"github.com/argus-mon/argus/internal/config"
	"github.com/argus-mon/argus/internal/integration"
	"github.com/argus-mon/argus/internal/integration/integrationtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newInstance(t *testing.T, address string, timeout time.Duration) *integration.Instance {
	t.Helper()
	return integrationtest.NewInstance(t, config.Integration{Name: "cache", Type: "memcached", Address: address, Timeout: model.Duration(timeout)}, New)
}

// send runs memcached text commands on a connection of its own, so the
// server has items, hits and misses to report.
func send(t *testing.T, network, address string, cmds ...string) {
	t.Helper()
	c, err := net.Dial(network, address)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	for _, cmd := range cmds {
		if _, err := fmt.Fprintf(c, "%s\r\n", cmd); err != nil {
			t.Fatal(err)
		}
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("%s: %v", cmd, err)
			}
			if line == "END\r\n" || line == "STORED\r\n" || line == "DELETED\r\n" || line == "NOT_FOUND\r\n" {
				break
			}
		}
	}
}

// exporterShapes reads the exporter's metric list from testdata.

func TestAgainstRealServer(t *testing.T) {
	addr := integrationtest.Memcached(t)
	send(t, "tcp", addr, "set a 0 0 1\r\nx", "set b 0 0 2\r\nyy", "get a", "get nope", "delete b")
	in := newInstance(t, addr, 10*time.Second)
	fams, err := in.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := integrationtest.Shapes(fams)
	want := integrationtest.ReadShapes(t, "testdata/exporter-metrics.txt")
	for name, s := range got {
		w, ok := want[name]
		switch {
		case !ok:
			t.Errorf("%s is not a metric of memcached_exporter", name)
		case w != s:
			t.Errorf("%s: got %+v, memcached_exporter has %+v", name, s, w)
		}
	}
	if bad := integrationtest.LabelsAgree(fams); len(bad) > 0 {
		t.Errorf("series with differing label names: %v", bad)
	}
	// What memcached 1.6 reports must all be there; it has no extstore
	// here, no temporary LRU unless asked (-o temporary_ttl) and no
	// longer reports mem_requested per slab class.
	for name := range want {
		absent := strings.HasPrefix(name, "memcached_extstore_") ||
			name == "memcached_slab_temporary_items" || name == "memcached_slab_mem_requested_bytes"
		if _, ok := got[name]; !ok && !absent {
			t.Errorf("missing %s", name)
		}
	}
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"memcached_up", nil, 1},
		{"memcached_current_items", nil, 1},
		{"memcached_items_total", nil, 2},
		{"memcached_commands_total", []string{"command", "get", "status", "hit"}, 1},
		{"memcached_commands_total", []string{"command", "get", "status", "miss"}, 1},
		{"memcached_commands_total", []string{"command", "set", "status", "hit"}, 2},
		{"memcached_commands_total", []string{"command", "delete", "status", "hit"}, 1},
		{"memcached_limit_bytes", nil, 16 << 20},
		{"memcached_slab_current_items", []string{"slab", "1"}, 1},
	} {
		if v, ok := integrationtest.Value(fams, c.name, c.labels...); !ok || v != c.want {
			t.Errorf("%s%v = %v (present %v), want %v", c.name, c.labels, v, ok, c.want)
		}
	}
	if v, ok := integrationtest.Value(fams, "memcached_version"); !ok || v != 1 {
		t.Errorf("memcached_version = %v (present %v), want 1", v, ok)
	}
	integrationtest.CheckQueries(t, "memcached", fams)
	// A second collection reuses the pooled connection.
	if _, err := in.Gather(); err != nil {
		t.Fatalf("second collection: %v", err)
	}
}

func TestUnixSocket(t *testing.T) {
	sock := integrationtest.MemcachedUnix(t)
	send(t, "unix", sock, "set a 0 0 1\r\nx")
	fams, err := newInstance(t, sock, 10*time.Second).Gather()
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := integrationtest.Value(fams, "memcached_current_items"); v != 1 {
		t.Errorf("memcached_current_items = %v, want 1", v)
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
		{"silent", integrationtest.Silent, `read reply to "stats"`, true},
		{"garbage", func(t testing.TB) string {
			return integrationtest.Garbage(t, "HTTP/1.1 400 Bad Request\r\n\r\n")
		}, `unexpected line "HTTP/1.1 400 Bad Request" in the reply to "stats": not a memcached server?`, false},
		{"server error", func(t testing.TB) string {
			return integrationtest.Garbage(t, "SERVER_ERROR out of memory\r\n")
		}, `memcached answered "stats" with "SERVER_ERROR out of memory"`, false},
		{"bad number", func(t testing.TB) string {
			return scripted(t, map[string]string{"stats": "STAT curr_items many\r\nSTAT total_items 3\r\nEND\r\n"})
		}, `statistic curr_items: value "many" is not a number`, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			addr := c.address(t)
			start := time.Now()
			fams, err := newInstance(t, addr, time.Second).Gather()
			var ce *integration.CollectError
			if !errors.As(err, &ce) || !ce.TargetDown() {
				t.Fatalf("got %v, want a CollectError", err)
			}
			if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), addr) {
				t.Errorf("error %q does not name %s and contain %q", err, addr, c.want)
			}
			if ce.Timeout != c.timeout {
				t.Errorf("Timeout = %v, want %v (%v)", ce.Timeout, c.timeout, err)
			}
			if took := time.Since(start); took > 10*time.Second {
				t.Errorf("took %v with a timeout of 1s", took)
			}
			if v, ok := integrationtest.Value(fams, "memcached_up"); !ok || v != 0 {
				t.Errorf("memcached_up = %v (present %v), want 0", v, ok)
			}
		})
	}
}

// scripted starts a fake memcached answering each command with its reply
// in replies, or with an empty one.
func scripted(t testing.TB, replies map[string]string) string {
	return integrationtest.Fake(t, func(c net.Conn) {
		r := bufio.NewReader(c)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			reply, ok := replies[strings.TrimSpace(line)]
			if !ok {
				reply = "END\r\n"
			}
			if _, err := c.Write([]byte(reply)); err != nil {
				return
			}
		}
	})
}

func TestCancel(t *testing.T) {
	in := newInstance(t, integrationtest.Silent(t), time.Minute)
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
