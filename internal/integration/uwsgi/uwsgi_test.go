package uwsgi

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/model"
	"go.uber.org/goleak"

	"github.com/argus-mon/argus/internal/config"
	"github.com/argus-mon/argus/internal/integration"
	"github.com/argus-mon/argus/internal/integration/integrationtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newInstance(t *testing.T, address string, timeout time.Duration) *integration.Instance {
	t.Helper()
	return integrationtest.NewInstance(t, config.Integration{Name: "app", Type: "uwsgi", Address: address, Timeout: model.Duration(timeout)}, New)
}

// get requests paths of uWSGI's HTTP socket; errors (harakiri closes the
// connection) are the point of some requests.
func get(t *testing.T, u *integrationtest.Uwsgi, paths ...string) {
	t.Helper()
	// Without keep-alive: a worker holding an idle client connection
	// delays uWSGI's shutdown.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	for _, p := range paths {
		resp, err := client.Get("http://" + u.HTTP + p)
		if err == nil {
			resp.Body.Close()
		}
	}
}

// exporterShapes reads the exporter's metric list from testdata.

// notProduced are the exporter's metrics argus does not produce, with why;
// docs/integrations.md lists them too.
func notProduced(name string) bool {
	// The exporter's own health; per-core metrics, off by default in the
	// exporter (--collect.cores).
	return strings.HasPrefix(name, "uwsgi_exporter_") || strings.HasPrefix(name, "uwsgi_worker_core_")
}

// sum adds up the series of a family.
func sum(fams []*dto.MetricFamily, name string) float64 {
	total := 0.0
	for _, f := range fams {
		if f.GetName() == name {
			for _, m := range f.Metric {
				total += m.GetGauge().GetValue() + m.GetCounter().GetValue()
			}
		}
	}
	return total
}

func TestAgainstRealServer(t *testing.T) {
	u := integrationtest.StartUwsgi(t)
	get(t, u, "/", "/a", "/boom")
	in := newInstance(t, u.Stats, 10*time.Second)
	// A worker counts a request after sending the response, so the client
	// may be told first.
	var fams []*dto.MetricFamily
	for deadline := time.Now().Add(30 * time.Second); ; {
		var err error
		if fams, err = in.Gather(); err != nil {
			t.Fatal(err)
		}
		if sum(fams, "uwsgi_worker_requests_total") == 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	got, want := integrationtest.Shapes(fams), integrationtest.ReadShapes(t, "testdata/exporter-metrics.txt")
	for name, s := range got {
		w, ok := want[name]
		switch {
		case !ok:
			t.Errorf("%s is not a metric of uwsgi_exporter", name)
		case w != s:
			t.Errorf("%s: got %+v, uwsgi_exporter has %+v", name, s, w)
		}
	}
	for name := range want {
		if _, ok := got[name]; !ok && !notProduced(name) {
			t.Errorf("missing %s", name)
		}
	}
	if bad := integrationtest.LabelsAgree(fams); len(bad) > 0 {
		t.Errorf("series with differing label names: %v", bad)
	}
	uri := "tcp://" + u.Stats
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"uwsgi_up", nil, 1},
		{"uwsgi_workers", []string{"stats_uri", uri}, 2},
		{"uwsgi_cache_max_items", []string{"stats_uri", uri, "name", "data"}, 16},
		{"uwsgi_socket_shared", []string{"stats_uri", uri, "name", u.HTTP, "proto", "http"}, 0},
	} {
		if v, ok := integrationtest.Value(fams, c.name, c.labels...); !ok || v != c.want {
			t.Errorf("%s%v = %v (present %v), want %v", c.name, c.labels, v, ok, c.want)
		}
	}
	for name, want := range map[string]float64{
		"uwsgi_worker_requests_total":       3,
		"uwsgi_worker_exceptions_total":     1,
		"uwsgi_worker_app_requests_total":   3,
		"uwsgi_worker_app_exceptions_total": 1,
	} {
		if v := sum(fams, name); v != want {
			t.Errorf("sum of %s = %v, want %v", name, v, want)
		}
	}
	if v := sum(fams, "uwsgi_worker_busy") + sum(fams, "uwsgi_worker_idle"); v != 2 {
		t.Errorf("busy and idle workers add up to %v, want 2", v)
	}
	if v := sum(fams, "uwsgi_worker_rss_bytes"); v <= 0 {
		t.Errorf("uwsgi_worker_rss_bytes adds up to %v with --memory-report", v)
	}
	integrationtest.CheckQueries(t, "uwsgi", fams)
}

// TestHarakiri: a request over the harakiri timeout kills its worker; the
// count and the respawn are reported, and a busy worker shows while the
// request runs.
func TestHarakiri(t *testing.T) {
	u := integrationtest.StartUwsgi(t)
	in := newInstance(t, u.Stats, 10*time.Second)
	done := make(chan struct{})
	go func() {
		defer close(done)
		get(t, u, "/sleep")
	}()
	t.Cleanup(func() { <-done })
	sawBusy := false
	deadline := time.Now().Add(60 * time.Second)
	for {
		fams, err := in.Gather()
		if err != nil {
			t.Fatal(err)
		}
		sawBusy = sawBusy || sum(fams, "uwsgi_worker_busy") == 1
		if sum(fams, "uwsgi_worker_harakiri_count_total") >= 1 {
			if r := sum(fams, "uwsgi_worker_respawn_count_total"); r < 3 {
				t.Errorf("respawns add up to %v after a harakiri, want at least 3 (2 spawns and a respawn)", r)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no harakiri reported after 60s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !sawBusy {
		t.Error("no busy worker seen while /sleep ran")
	}
}

func TestUnixSocket(t *testing.T) {
	u := integrationtest.StartUwsgiUnix(t)
	fams, err := newInstance(t, u.Stats, 10*time.Second).Gather()
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := integrationtest.Value(fams, "uwsgi_workers", "stats_uri", "unix://"+u.Stats); v != 2 {
		t.Errorf("uwsgi_workers{stats_uri=unix://...} = %v, want 2", v)
	}
}

// writeAndClose serves each connection with reply, then closes it, as the
// stats server does.
func writeAndClose(reply string) func(testing.TB) string {
	return func(t testing.TB) string {
		return integrationtest.Fake(t, func(c net.Conn) { c.Write([]byte(reply)) })
	}
}

func TestFaults(t *testing.T) {
	endless := func(t testing.TB) string {
		return integrationtest.Fake(t, func(c net.Conn) {
			buf := []byte(`{"workers":[` + strings.Repeat(" ", 1<<16))
			for {
				if _, err := c.Write(buf); err != nil {
					return
				}
				buf = []byte(strings.Repeat(" ", 1<<16))
			}
		})
	}
	for _, c := range []struct {
		name    string
		address func(t testing.TB) string
		want    string
		timeout bool
		// slow is set when the error may come after the timeout on a
		// loaded machine (reading 32 MiB under the race detector).
		slow bool
	}{
		{"down", integrationtest.FreeAddr, "connection refused", false, false},
		{"silent", integrationtest.Silent, "read stats", true, false},
		{"not json", writeAndClose("SSH-2.0-OpenSSH_9.2\r\n"), `the reply is not uWSGI's stats (it starts "SSH-2.0-OpenSSH_9.2\r\n")`, false, false},
		{"other json", writeAndClose(`{"status":"ok"}`), "the JSON reply has no version: not uWSGI's stats server?", false, false},
		{"cut", writeAndClose(`{"version":"2.0.21","workers":[{"id":1,"requests":`), "unexpected end of JSON input", false, false},
		{"wrong types", writeAndClose(`{"version":"2.0.21","workers":[{"id":"one"}]}`), "cannot unmarshal string", false, false},
		{"endless", endless, "", false, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			addr := c.address(t)
			start := time.Now()
			// Replies that come at once get a timeout they cannot meet
			// only on a machine that stalls them (the endless case beside
			// them keeps a core busy): 10s; the cases about timing out, 1s.
			timeout := 10 * time.Second
			if c.timeout || c.slow {
				timeout = time.Second
			}
			fams, err := newInstance(t, addr, timeout).Gather()
			var ce *integration.CollectError
			if !errors.As(err, &ce) || !ce.TargetDown() {
				t.Fatalf("got %v, want a CollectError", err)
			}
			if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), addr) {
				t.Errorf("error %q does not name %s and contain %q", err, addr, c.want)
			}
			if ce.Timeout != c.timeout && !c.slow {
				t.Errorf("Timeout = %v, want %v (%v)", ce.Timeout, c.timeout, err)
			}
			if took := time.Since(start); took > timeout+10*time.Second {
				t.Errorf("took %v with a timeout of %v", took, timeout)
			}
			if v, ok := integrationtest.Value(fams, "uwsgi_up"); !ok || v != 0 {
				t.Errorf("uwsgi_up = %v (present %v), want 0", v, ok)
			}
		})
	}
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
