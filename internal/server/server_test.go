package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/snappy"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	upstream "github.com/prometheus/prometheus/tsdb/chunkenc"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type running struct {
	srv  *Server
	base string
	done chan error
	stop context.CancelFunc
}

// start runs a server with access control off, for the tests of other
// parts; startAuth runs one with it on.
func start(t *testing.T, opts Options) *running {
	t.Helper()
	opts.AuthOff = true
	return startAuth(t, opts)
}

func startAuth(t *testing.T, opts Options) *running {
	return startScheme(t, opts, "http")
}

// startAuthTLS runs a server whose web config serves TLS.
func startAuthTLS(t *testing.T, opts Options) *running {
	return startScheme(t, opts, "https")
}

func startScheme(t *testing.T, opts Options, scheme string) *running {
	t.Helper()
	opts.ListenAddr = "127.0.0.1:0"
	srv, err := New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{srv: srv, base: scheme + "://" + srv.Addr().String(), done: make(chan error, 1), stop: cancel}
	go func() { r.done <- srv.Run(ctx) }()
	t.Cleanup(func() { r.shutdown(t) })
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	defer client.CloseIdleConnections()
	for range 100 {
		if resp, err := client.Get(r.base + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return r
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("server did not become ready")
	return nil
}

func (r *running) shutdown(t *testing.T) {
	if r.stop == nil {
		return
	}
	r.stop()
	r.stop = nil
	if err := <-r.done; err != nil {
		t.Errorf("run: %v", err)
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestEndpointsAndNoConfig(t *testing.T) {
	r := start(t, Options{DataDir: t.TempDir()})
	for path, want := range map[string]string{"/-/healthy": "Healthy", "/-/ready": "Ready", "/metrics": "argus_tsdb_head_series"} {
		code, body := get(t, r.base+path)
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("%s: %d %q", path, code, body)
		}
	}
	// Without the flag there is no remote-write endpoint.
	resp, err := http.Post(r.base+"/api/v1/write", "application/x-protobuf", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("remote write without the flag: %d", resp.StatusCode)
	}
}

func TestReloadKeepsGoodConfig(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "argus.yml")
	os.WriteFile(cfgPath, []byte("global:\n  scrape_interval: 7s\n"), 0o644)
	r := start(t, Options{DataDir: filepath.Join(dir, "data"), ConfigFile: cfgPath})
	if got := r.srv.Config().Global.ScrapeInterval.String(); got != "7s" {
		t.Fatalf("scrape interval %s", got)
	}
	os.WriteFile(cfgPath, []byte("global:\n  scrape_interval: 9s\n  bogus: 1\n"), 0o644)
	resp, err := http.Post(r.base+"/-/reload", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 500 || !strings.Contains(string(b), "argus.yml:3: global.bogus: unknown key") {
		t.Fatalf("bad reload: %d %q", resp.StatusCode, b)
	}
	if got := r.srv.Config().Global.ScrapeInterval.String(); got != "7s" {
		t.Fatalf("bad reload replaced the config: %s", got)
	}
	if _, body := get(t, r.base+"/metrics"); !strings.Contains(body, "argus_config_last_reload_successful 0") {
		t.Fatal("failed reload not reported in metrics")
	}
	os.WriteFile(cfgPath, []byte("global:\n  scrape_interval: 9s\n"), 0o644)
	resp, err = http.Post(r.base+"/-/reload", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || r.srv.Config().Global.ScrapeInterval.String() != "9s" {
		t.Fatalf("good reload: %d %s", resp.StatusCode, r.srv.Config().Global.ScrapeInterval)
	}
}

func TestBadConfigAtStart(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "argus.yml")
	os.WriteFile(cfgPath, []byte("scrape_configs:\n  - job_name: a\n    scrape_interval: 5x\n"), 0o644)
	_, err := New(context.Background(), Options{DataDir: dir, ConfigFile: cfgPath, ListenAddr: "127.0.0.1:0"})
	if err == nil || !strings.Contains(err.Error(), "argus.yml:3: scrape_configs[0].scrape_interval") {
		t.Fatalf("got %v", err)
	}
}

func TestRemoteWriteSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	r := start(t, Options{DataDir: dir, EnableRemoteWriteReceiver: true})
	req := &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{{
		Labels:  []prompb.Label{{Name: "__name__", Value: "pushed"}, {Name: "job", Value: "edge"}},
		Samples: []prompb.Sample{{Timestamp: 1000, Value: 1}, {Timestamp: 2000, Value: 2}},
	}}}
	raw, _ := req.Marshal()
	resp, err := http.Post(r.base+"/api/v1/write", "application/x-protobuf", bytes.NewReader(snappy.Encode(nil, raw)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("status %d", resp.StatusCode)
	}
	r.shutdown(t)

	srv, err := New(context.Background(), Options{DataDir: dir, ListenAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		srv.Run(ctx)
	}()
	q, err := srv.DB().Querier(math.MinInt64, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	ss := q.Select(context.Background(), false, nil, labels.MustNewMatcher(labels.MatchEqual, "__name__", "pushed"))
	n := 0
	for ss.Next() {
		it := ss.At().Iterator(nil)
		for it.Next() == upstream.ValFloat {
			n++
		}
	}
	if n != 2 {
		t.Fatalf("%d samples after restart, want 2", n)
	}
}

// storedSeries returns the stored series matching ms with their last value.
func storedSeries(t *testing.T, srv *Server, ms ...*labels.Matcher) map[string]float64 {
	t.Helper()
	q, err := srv.DB().Querier(math.MinInt64, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	out := map[string]float64{}
	ss := q.Select(context.Background(), false, nil, ms...)
	for ss.Next() {
		it := ss.At().Iterator(nil)
		for it.Next() == upstream.ValFloat {
			_, v := it.At()
			out[ss.At().Labels().String()] = v
		}
	}
	return out
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestSelfMonitoringAndScrapeJobs(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "app_requests_total 42")
	}))
	defer target.Close()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "argus.yml")
	os.WriteFile(cfgPath, []byte("global:\n  scrape_interval: 200ms\n"), 0o644)
	r := start(t, Options{DataDir: filepath.Join(dir, "data"), ConfigFile: cfgPath})
	// The built-in argus collector scrapes argus itself with no job in the file.
	waitUntil(t, "argus self-scrape", func() bool {
		up := storedSeries(t, r.srv, labels.MustNewMatcher(labels.MatchEqual, "__name__", "up"), labels.MustNewMatcher(labels.MatchEqual, "job", "argus"))
		return len(up) == 1 && len(storedSeries(t, r.srv, labels.MustNewMatcher(labels.MatchEqual, "__name__", "argus_tsdb_head_series"))) == 1
	})
	if code, body := get(t, r.base+"/metrics/argus"); code != 200 || !strings.Contains(body, "argus_tsdb_head_series") {
		t.Fatalf("/metrics/argus: %d", code)
	}
	// The host and process collectors run as jobs node and process.
	waitUntil(t, "node and process jobs", func() bool {
		node := storedSeries(t, r.srv, labels.MustNewMatcher(labels.MatchEqual, "__name__", "node_cpu_seconds_total"), labels.MustNewMatcher(labels.MatchEqual, "job", "node"))
		proc := storedSeries(t, r.srv, labels.MustNewMatcher(labels.MatchEqual, "__name__", "process_resident_memory_bytes"), labels.MustNewMatcher(labels.MatchEqual, "group", "argus"))
		return len(node) > 0 && len(proc) == 1
	})
	for _, path := range []string{"/metrics/node", "/metrics/process"} {
		if code, _ := get(t, r.base+path); code != 200 {
			t.Fatalf("%s: %d", path, code)
		}
	}
	// A reload adds a job.
	addr := strings.TrimPrefix(target.URL, "http://")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf("global:\n  scrape_interval: 200ms\nscrape_configs:\n  - job_name: app\n    static_configs: [{targets: [%q]}]\n", addr)), 0o644)
	if err := r.srv.Reload(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "app scraped", func() bool {
		return len(storedSeries(t, r.srv, labels.MustNewMatcher(labels.MatchEqual, "__name__", "app_requests_total"), labels.MustNewMatcher(labels.MatchEqual, "job", "app"))) == 1
	})
	// Switching the built-in collector off stops its job (its series go stale).
	os.WriteFile(cfgPath, []byte("global:\n  scrape_interval: 200ms\ncollectors:\n  argus: {enabled: false}\n"), 0o644)
	if err := r.srv.Reload(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "argus job stale", func() bool {
		up := storedSeries(t, r.srv, labels.MustNewMatcher(labels.MatchEqual, "__name__", "up"), labels.MustNewMatcher(labels.MatchEqual, "job", "argus"))
		for _, v := range up {
			return math.IsNaN(v)
		}
		return false
	})
}
