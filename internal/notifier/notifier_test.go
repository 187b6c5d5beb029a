package notifier

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"
	"go.uber.org/goleak"

	"github.com/argus-mon/argus/internal/config"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeAM records the batches posted to it.
type fakeAM struct {
	mu      sync.Mutex
	batches [][]map[string]any
	paths   []string
	auth    []string
	status  int
	block   chan struct{}
}

func (f *fakeAM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.block != nil {
		<-f.block
	}
	b, _ := io.ReadAll(r.Body)
	var batch []map[string]any
	json.Unmarshal(b, &batch)
	f.mu.Lock()
	f.batches = append(f.batches, batch)
	f.paths = append(f.paths, r.URL.Path)
	u, p, _ := r.BasicAuth()
	f.auth = append(f.auth, u+":"+p)
	status := f.status
	f.mu.Unlock()
	if status != 0 {
		w.WriteHeader(status)
	}
}

func (f *fakeAM) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, b := range f.batches {
		n += len(b)
	}
	return n
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func parseAlerting(t *testing.T, yml string) config.Alerting {
	t.Helper()
	c, err := config.Parse([]byte(yml), "test.yml")
	if err != nil {
		t.Fatal(err)
	}
	return c.Alerting
}

func run(t *testing.T, m *Manager) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

func alert(name string) *Alert {
	return &Alert{Labels: labels.FromStrings("alertname", name), Annotations: labels.FromStrings("summary", "s"),
		StartsAt: time.Unix(1700000000, 0).UTC(), GeneratorURL: "http://argus/graph"}
}

func TestSendsToAlertmanagers(t *testing.T) {
	am := &fakeAM{}
	srv := httptest.NewServer(am)
	defer srv.Close()
	reg := prometheus.NewRegistry()
	m := New(Options{Registerer: reg, MaxBatchSize: 2})
	run(t, m)
	host := strings.TrimPrefix(srv.URL, "http://")
	err := m.ApplyConfig(parseAlerting(t, `
alerting:
  alert_relabel_configs:
    - {source_labels: [alertname], regex: Drop, action: drop}
  alertmanagers:
    - path_prefix: /am/
      basic_auth: {username: u, password: p}
      static_configs: [{targets: [`+host+`, 'dropped.example:9093']}]
      relabel_configs:
        - {source_labels: [__address__], regex: 'dropped.*', action: drop}
      alert_relabel_configs:
        - {target_label: via, replacement: set}
`), labels.FromStrings("site", "dc1", "alertname", "ignored"))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "discovery", func() bool { a, _ := m.Alertmanagers(); return len(a) == 1 })
	active, dropped := m.Alertmanagers()
	if active[0] != srv.URL+"/am/api/v2/alerts" || len(dropped) != 1 || dropped[0] != "http://dropped.example:9093/am/api/v2/alerts" {
		t.Fatalf("alertmanagers: %v %v", active, dropped)
	}
	m.Send(alert("A"), alert("B"), alert("Drop"), alert("C"))
	waitFor(t, "3 alerts", func() bool { return am.count() == 3 })
	am.mu.Lock()
	defer am.mu.Unlock()
	for _, b := range am.batches {
		if len(b) > 2 {
			t.Errorf("batch of %d, max 2", len(b))
		}
	}
	first := am.batches[0][0]
	lbls := first["labels"].(map[string]any)
	if lbls["alertname"] != "A" || lbls["site"] != "dc1" || lbls["via"] != "set" || first["startsAt"] != "2023-11-14T22:13:20Z" || first["endsAt"] != nil {
		t.Errorf("first alert: %v", first)
	}
	if am.paths[0] != "/am/api/v2/alerts" || am.auth[0] != "u:p" {
		t.Errorf("request: %s %s", am.paths[0], am.auth[0])
	}
	if got := testutil.ToFloat64(m.metrics.sent.WithLabelValues(active[0])); got != 3 {
		t.Errorf("sent_total %v", got)
	}
	if got := testutil.ToFloat64(m.metrics.discovered); got != 1 {
		t.Errorf("alertmanagers_discovered %v", got)
	}
}

// TestQueueDropsOldest fills the queue of an Alertmanager that does not
// answer: the oldest alerts are dropped and counted, the newest are sent
// once it answers.
func TestQueueDropsOldest(t *testing.T) {
	am := &fakeAM{block: make(chan struct{})}
	srv := httptest.NewServer(am)
	defer srv.Close()
	m := New(Options{QueueCapacity: 3, MaxBatchSize: 1})
	run(t, m)
	if err := m.ApplyConfig(parseAlerting(t, "alerting: {alertmanagers: [{static_configs: [{targets: ['"+strings.TrimPrefix(srv.URL, "http://")+"']}]}]}"), labels.EmptyLabels()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "discovery", func() bool { a, _ := m.Alertmanagers(); return len(a) == 1 })
	u, _ := m.Alertmanagers()
	m.Send(alert("first")) // taken by the loop, blocked in flight
	waitFor(t, "first in flight", func() bool { return testutil.ToFloat64(m.metrics.queueLength.WithLabelValues(u[0])) == 0 })
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		m.Send(alert(n))
	}
	if got := testutil.ToFloat64(m.metrics.dropped.WithLabelValues(u[0])); got != 2 {
		t.Fatalf("dropped %v, want 2", got)
	}
	close(am.block)
	waitFor(t, "4 alerts", func() bool { return am.count() == 4 })
	am.mu.Lock()
	defer am.mu.Unlock()
	var names []string
	for _, b := range am.batches {
		names = append(names, b[0]["labels"].(map[string]any)["alertname"].(string))
	}
	if strings.Join(names, ",") != "first,c,d,e" {
		t.Fatalf("sent %v", names)
	}
}

func TestErrorsCounted(t *testing.T) {
	am := &fakeAM{status: 500}
	srv := httptest.NewServer(am)
	defer srv.Close()
	m := New(Options{})
	run(t, m)
	m.ApplyConfig(parseAlerting(t, "alerting: {alertmanagers: [{static_configs: [{targets: ['"+strings.TrimPrefix(srv.URL, "http://")+"']}]}]}"), labels.EmptyLabels())
	waitFor(t, "discovery", func() bool { a, _ := m.Alertmanagers(); return len(a) == 1 })
	u, _ := m.Alertmanagers()
	m.Send(alert("a"), alert("b"))
	waitFor(t, "errors", func() bool { return testutil.ToFloat64(m.metrics.errors.WithLabelValues(u[0])) == 2 })
	if got := testutil.ToFloat64(m.metrics.dropped.WithLabelValues(u[0])); got != 2 {
		t.Errorf("dropped %v", got)
	}
}

// localReceiver is an in-process alert manager.
type localReceiver struct {
	mu     sync.Mutex
	alerts []*Alert
}

func (l *localReceiver) Receive(_ context.Context, as []*Alert) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.alerts = append(l.alerts, as...)
	return nil
}

func TestLocalReceiver(t *testing.T) {
	recv := &localReceiver{}
	m := New(Options{Local: recv})
	run(t, m)
	m.ApplyConfig(config.Alerting{}, labels.FromStrings("site", "x"))
	m.Send(alert("a"))
	waitFor(t, "local alert", func() bool {
		recv.mu.Lock()
		defer recv.mu.Unlock()
		return len(recv.alerts) == 1 && recv.alerts[0].Labels.Get("site") == "x"
	})
}

func TestReloadKeepsUnchangedSet(t *testing.T) {
	m := New(Options{})
	run(t, m)
	a := parseAlerting(t, "alerting: {alertmanagers: [{static_configs: [{targets: ['a:9093']}]}]}")
	m.ApplyConfig(a, labels.EmptyLabels())
	first := m.sets[0]
	m.ApplyConfig(a, labels.EmptyLabels())
	if m.sets[0] != first {
		t.Error("unchanged alertmanager config was replaced")
	}
	m.ApplyConfig(parseAlerting(t, "alerting: {alertmanagers: [{static_configs: [{targets: ['b:9093']}]}]}"), labels.EmptyLabels())
	waitFor(t, "b", func() bool { a, _ := m.Alertmanagers(); return len(a) == 1 && strings.Contains(a[0], "b:9093") })
}

// TestRotatedSecretReplacesClient: a reload that only changes an
// Alertmanager's password is a different config (the YAML form hides
// secrets, so it alone cannot tell).
func TestRotatedSecretReplacesClient(t *testing.T) {
	parse := func(pw string) *config.Alertmanager {
		t.Helper()
		cfg, err := config.Parse([]byte("alerting:\n  alertmanagers:\n  - static_configs: [{targets: [\"a:9093\"]}]\n    basic_auth: {username: u, password: "+pw+"}\n"), "x.yml")
		if err != nil {
			t.Fatal(err)
		}
		return cfg.Alerting.Alertmanagers[0]
	}
	m := New(Options{})
	s, err := m.newSet(parse("old"))
	if err != nil {
		t.Fatal(err)
	}
	if !s.sameConfig(parse("old")) {
		t.Error("the same config is not recognised")
	}
	if s.sameConfig(parse("new")) {
		t.Error("a rotated password counts as the same config")
	}
}

// TestApplyConfigDuringShutdown applies configs, each replacing the
// Alertmanagers of the last, while Run shuts down, many times: a set
// started after Run had stopped the sets added to the wait group Run was
// waiting on (the race detector reports it). Once Run's context is done,
// ApplyConfig returns ErrStopped.
func TestApplyConfigDuringShutdown(t *testing.T) {
	srv := httptest.NewServer(&fakeAM{})
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	cfgs := []config.Alerting{
		parseAlerting(t, "alerting: {alertmanagers: [{static_configs: [{targets: ['"+host+"']}]}]}"),
		parseAlerting(t, "alerting: {alertmanagers: [{path_prefix: /x, static_configs: [{targets: ['"+host+"']}]}]}"),
	}
	for range 50 {
		m := New(Options{Local: &localReceiver{}})
		ctx, cancel := context.WithCancel(context.Background())
		runDone := make(chan struct{})
		go func() {
			m.Run(ctx)
			close(runDone)
		}()
		firstApplied := make(chan struct{})
		applyDone := make(chan error, 1)
		go func() {
			for i := range 1000 {
				err := m.ApplyConfig(cfgs[i%2], labels.EmptyLabels())
				if i == 0 {
					close(firstApplied)
				}
				m.Send(alert("a"))
				if err != nil {
					applyDone <- err
					return
				}
			}
			applyDone <- nil
		}()
		<-firstApplied
		cancel()
		<-runDone
		if err := <-applyDone; !errors.Is(err, ErrStopped) {
			t.Fatalf("ApplyConfig during shutdown: %v, want ErrStopped", err)
		}
		if err := m.ApplyConfig(cfgs[0], labels.EmptyLabels()); !errors.Is(err, ErrStopped) {
			t.Fatalf("ApplyConfig after shutdown: %v, want ErrStopped", err)
		}
	}
}
