package nginx

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"os"
	"strconv"
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

func newInstance(t *testing.T, address, accessLog string, timeout time.Duration) *integration.Instance {
	t.Helper()
	return integrationtest.NewInstance(t, config.Integration{Name: "web", Type: "nginx", Address: address, AccessLog: accessLog, Timeout: model.Duration(timeout)}, New)
}

// get requests paths of nginx and drains the answers.
func get(t *testing.T, n *integrationtest.Nginx, paths ...string) {
	t.Helper()
	for _, p := range paths {
		resp, err := http.Get("http://" + n.Addr + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
}

// accessLogMetrics are argus's own metrics from the access log, which no
// exporter has.
var accessLogMetrics = map[string]bool{
	"nginx_http_request_duration_seconds":           true,
	"nginx_http_response_size_bytes_total":          true,
	"nginx_http_upstream_response_duration_seconds": true,
	"nginx_access_log_lines_total":                  true,
	"nginx_access_log_errors_total":                 true,
}

// notProduced are nginx-prometheus-exporter 0.11's metrics argus does not
// produce, with why; docs/integrations.md lists them too.
var notProduced = map[string]string{
	"nginxexporter_build_info": "describes the exporter binary",
}

func TestMatchesNginxExporter(t *testing.T) {
	n := integrationtest.StartNginx(t)
	get(t, n, "/api/a", "/nope")
	listen := integrationtest.FreeAddr(t)
	integrationtest.Start(t, "prometheus-nginx-exporter", "prometheus-nginx-exporter", t.TempDir(), "tcp", listen,
		"-nginx.scrape-uri", n.StubStatus, "-web.listen-address", listen)
	var theirs []*dto.MetricFamily
	for _, f := range integrationtest.Scrape(t, "http://"+listen+"/metrics") {
		name := f.GetName()
		if !strings.HasPrefix(name, "go_") && !strings.HasPrefix(name, "process_") && !strings.HasPrefix(name, "promhttp_") {
			theirs = append(theirs, f)
		}
	}
	fams, err := newInstance(t, n.StubStatus, n.AccessLog, 10*time.Second).Gather()
	if err != nil {
		t.Fatal(err)
	}
	ours, want := integrationtest.Shapes(fams), integrationtest.Shapes(theirs)
	for name, s := range ours {
		w, ok := want[name]
		switch {
		case accessLogMetrics[name]:
		case !ok:
			t.Errorf("%s: nginx-prometheus-exporter 0.11 has no such metric", name)
		case w != s:
			t.Errorf("%s: ours %+v, nginx-prometheus-exporter's %+v", name, s, w)
		}
	}
	for name := range want {
		if _, ok := ours[name]; !ok && notProduced[name] == "" {
			t.Errorf("%s: produced by nginx-prometheus-exporter, not by argus, and not listed as such", name)
		}
	}
	for name := range accessLogMetrics {
		if _, ok := want[name]; ok {
			t.Errorf("%s is the exporter's, not argus's own", name)
		}
	}
	if bad := integrationtest.LabelsAgree(fams); len(bad) > 0 {
		t.Errorf("series with differing label names: %v", bad)
	}
	// Both read the same page: the exporter's and our counters agree up to
	// the requests and connections made since.
	for _, name := range []string{"nginx_connections_accepted", "nginx_http_requests_total"} {
		a, _ := integrationtest.Value(fams, name)
		b, _ := integrationtest.Value(theirs, name)
		if a < b || a > b+5 {
			t.Errorf("%s: ours %v, the exporter's %v", name, a, b)
		}
	}
	if v, _ := integrationtest.Value(fams, "nginx_up"); v != 1 {
		t.Errorf("nginx_up = %v, want 1", v)
	}
}

// histogramCount returns the sample count of the histogram series with the
// given label pairs, or -1 if there is none.
func histogramCount(fams []*dto.MetricFamily, name string, labels ...string) int {
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.Metric {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, l := range m.Label {
					found = found || l.GetName() == labels[i] && l.GetValue() == labels[i+1]
				}
				if !found {
					continue series
				}
			}
			return int(m.GetHistogram().GetSampleCount())
		}
	}
	return -1
}

// waitFor gathers until check passes; nginx writes a log line after the
// response, so a client may see the response first.
func waitFor(t *testing.T, in *integration.Instance, what string, check func([]*dto.MetricFamily) bool) []*dto.MetricFamily {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		fams, err := in.Gather()
		if err != nil {
			t.Fatal(err)
		}
		if check(fams) {
			return fams
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s after 30s; last collection:\n%v", what, fams)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestAccessLog(t *testing.T) {
	n := integrationtest.StartNginx(t)
	get(t, n, "/api/before") // before the first collection: not counted
	in := newInstance(t, n.StubStatus, n.AccessLog, 10*time.Second)
	if _, err := in.Gather(); err != nil {
		t.Fatal(err)
	}
	get(t, n, "/api/a", "/api/b", "/nope", "/proxied/x")
	api := []string{"server_name", "web.example", "location", "api", "status_class", "2xx"}
	fams := waitFor(t, in, "three more requests", func(fams []*dto.MetricFamily) bool {
		return histogramCount(fams, "nginx_http_request_duration_seconds", api...) == 2 &&
			histogramCount(fams, "nginx_http_request_duration_seconds", "location", "proxied") == 1 &&
			histogramCount(fams, "nginx_http_request_duration_seconds", "status_class", "4xx") == 1
	})
	if c := histogramCount(fams, "nginx_http_request_duration_seconds", "location", "", "status_class", "4xx"); c != 1 {
		t.Errorf("404s outside a location with $argus_location: %d, want 1", c)
	}
	if c := histogramCount(fams, "nginx_http_upstream_response_duration_seconds", "server_name", "web.example", "location", "proxied"); c != 1 {
		t.Errorf("upstream responses of location proxied: %d, want 1", c)
	}
	if c := histogramCount(fams, "nginx_http_upstream_response_duration_seconds", "location", "api"); c != -1 {
		t.Errorf("location api has no upstream, yet %d upstream responses", c)
	}
	if v, ok := integrationtest.Value(fams, "nginx_http_response_size_bytes_total", api...); !ok || v < 2*float64(len("ok\n")) {
		t.Errorf("bytes sent by location api: %v (present %v)", v, ok)
	}
	if v, _ := integrationtest.Value(fams, "nginx_access_log_lines_total"); v != 4 {
		t.Errorf("nginx_access_log_lines_total = %v, want 4", v)
	}
	if v, _ := integrationtest.Value(fams, "nginx_access_log_errors_total", "reason", "malformed"); v != 0 {
		t.Errorf("malformed lines: %v", v)
	}
	// stub_status and the access log together have every series the
	// dashboard and the example rules query.
	integrationtest.CheckQueries(t, "nginx", fams)
}

// TestAccessLogRotation rotates nginx's log as logrotate does: rename,
// requests still logged to the renamed file, USR1, requests logged to the
// new file. Every request is counted once.
func TestAccessLogRotation(t *testing.T) {
	n := integrationtest.StartNginx(t)
	in := newInstance(t, n.StubStatus, n.AccessLog, 10*time.Second)
	if _, err := in.Gather(); err != nil {
		t.Fatal(err)
	}
	count := func(want int) func([]*dto.MetricFamily) bool {
		return func(fams []*dto.MetricFamily) bool {
			return histogramCount(fams, "nginx_http_request_duration_seconds", "location", "api") == want
		}
	}
	get(t, n, "/api/1")
	waitFor(t, in, "1 request", count(1))
	if err := os.Rename(n.AccessLog, n.AccessLog+".1"); err != nil {
		t.Fatal(err)
	}
	get(t, n, "/api/2", "/api/3") // still to the renamed file
	waitFor(t, in, "3 requests", count(3))
	get(t, n, "/api/4")
	n.ReopenLogs(t)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(n.AccessLog); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("nginx did not reopen its access log")
		}
		time.Sleep(20 * time.Millisecond)
	}
	get(t, n, "/api/5", "/api/6")
	fams := waitFor(t, in, "6 requests", count(6))
	for _, reason := range []string{"malformed", "cut", "too_long"} {
		if v, _ := integrationtest.Value(fams, "nginx_access_log_errors_total", "reason", reason); v != 0 {
			t.Errorf("errors with reason %s: %v", reason, v)
		}
	}
	// Copytruncate: the file is emptied in place and read from its start.
	if err := os.Truncate(n.AccessLog, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := in.Gather(); err != nil {
		t.Fatal(err)
	}
	get(t, n, "/api/7")
	waitFor(t, in, "7 requests", count(7))
}

func TestFaults(t *testing.T) {
	for _, c := range []struct {
		name    string
		url     func(t testing.TB) string
		want    string
		timeout bool
	}{
		{"down", func(t testing.TB) string { return "http://" + integrationtest.FreeAddr(t) + "/stub_status" },
			"connection refused", false},
		{"silent", func(t testing.TB) string { return "http://" + integrationtest.Silent(t) + "/stub_status" },
			"get stub_status", true},
		{"not http", func(t testing.TB) string {
			return "http://" + integrationtest.Garbage(t, "SSH-2.0-OpenSSH_9.2\r\n") + "/stub_status"
		}, "malformed HTTP", false},
		{"not found", func(t testing.TB) string {
			return "http://" + httpFake(t, "404 Not Found", "no such page") + "/stub_status"
		}, "stub_status answered 404 Not Found", false},
		{"other page", func(t testing.TB) string {
			return "http://" + httpFake(t, "200 OK", "<html>Welcome to nginx!</html>") + "/"
		}, `the page is not nginx's stub_status (it starts "<html>Welcome to nginx!</html>")`, false},
		{"bad number", func(t testing.TB) string {
			return "http://" + httpFake(t, "200 OK", "Active connections: 1\nserver accepts handled requests\n 1 x 1\nReading: 0 Writing: 1 Waiting: 0\n") + "/"
		}, `stub_status line "1 x 1": "x" is not a number`, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			url := c.url(t)
			start := time.Now()
			fams, err := newInstance(t, url, "", time.Second).Gather()
			var ce *integration.CollectError
			if !errors.As(err, &ce) || !ce.TargetDown() {
				t.Fatalf("got %v, want a CollectError", err)
			}
			if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), url) {
				t.Errorf("error %q does not name %s and contain %q", err, url, c.want)
			}
			if ce.Timeout != c.timeout {
				t.Errorf("Timeout = %v, want %v (%v)", ce.Timeout, c.timeout, err)
			}
			if took := time.Since(start); took > 10*time.Second {
				t.Errorf("took %v with a timeout of 1s", took)
			}
			if v, ok := integrationtest.Value(fams, "nginx_up"); !ok || v != 0 {
				t.Errorf("nginx_up = %v (present %v), want 0", v, ok)
			}
		})
	}
}

// TestMissingAccessLog: nginx is up, its log cannot be read; the target
// is down with the reason, nginx_up is 1.
func TestMissingAccessLog(t *testing.T) {
	n := integrationtest.StartNginx(t)
	missing := t.TempDir() + "/none.log"
	fams, err := newInstance(t, n.StubStatus, missing, 10*time.Second).Gather()
	if err == nil || !strings.Contains(err.Error(), "access log "+missing) || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("got %v, want an error naming the access log", err)
	}
	if v, _ := integrationtest.Value(fams, "nginx_up"); v != 1 {
		t.Errorf("nginx_up = %v, want 1", v)
	}
}

// httpFake answers every request with status and body.
func httpFake(t testing.TB, status, body string) string {
	return integrationtest.Fake(t, func(c net.Conn) {
		r := bufio.NewReader(c)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			if line != "\r\n" {
				continue
			}
			resp := "HTTP/1.1 " + status + "\r\nContent-Type: text/plain\r\nContent-Length: " +
				strconv.Itoa(len(body)) + "\r\n\r\n" + body
			if _, err := c.Write([]byte(resp)); err != nil {
				return
			}
		}
	})
}
