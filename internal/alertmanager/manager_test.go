package alertmanager

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	amconfig "github.com/prometheus/alertmanager/config"
	"github.com/prometheus/alertmanager/notify/webhook"
	"github.com/prometheus/alertmanager/pkg/labels"
	"github.com/prometheus/common/model"
	"go.uber.org/goleak"

	"github.com/argus-mon/argus/internal/state"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("database/sql.(*DB).connectionOpener"))
}

// hook is a webhook receiver that records the messages it gets.
type hook struct {
	mu     sync.Mutex
	msgs   []webhook.Message
	status int
	srv    *httptest.Server
	got    chan struct{}
}

func newHook(t *testing.T) *hook {
	h := &hook{status: 200, got: make(chan struct{}, 100)}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var msg webhook.Message
		if err := json.Unmarshal(b, &msg); err != nil {
			t.Errorf("webhook body: %v\n%s", err, b)
		}
		h.mu.Lock()
		st := h.status
		if st == 200 {
			h.msgs = append(h.msgs, msg)
		}
		h.mu.Unlock()
		w.WriteHeader(st)
		if st == 200 {
			h.got <- struct{}{}
		}
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hook) messages() []webhook.Message {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]webhook.Message(nil), h.msgs...)
}

// wait waits for n more messages.
func (h *hook) wait(t *testing.T, n int, within time.Duration) {
	t.Helper()
	deadline := time.After(within)
	for range n {
		select {
		case <-h.got:
		case <-deadline:
			t.Fatalf("timed out waiting for a notification; have %d", len(h.messages()))
		}
	}
}

// none checks that no message arrives for d.
func (h *hook) none(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case <-h.got:
		t.Fatalf("unexpected notification: %+v", h.messages()[len(h.messages())-1])
	case <-time.After(d):
	}
}

func loadConfig(t *testing.T, text string) *amconfig.Config {
	t.Helper()
	cfg, err := amconfig.Load(text)
	if err != nil {
		t.Fatalf("config: %v\n%s", err, text)
	}
	return cfg
}

func startManager(t *testing.T, opts Options, cfg *amconfig.Config) (*Manager, func()) {
	t.Helper()
	if opts.MaintenanceInterval == 0 {
		opts.MaintenanceInterval = 50 * time.Millisecond
	}
	m, err := New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.ApplyConfig(cfg, ""); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			<-done
		}
	}
	t.Cleanup(stop)
	return m, stop
}

func webhookConfig(url, extra string) string {
	return `
route:
  receiver: hook
  group_by: [alertname]
  group_wait: 200ms
  group_interval: 400ms
  repeat_interval: 1h
` + extra + `
receivers:
  - name: hook
    webhook_configs:
      - url: ` + url + `
        send_resolved: true
  - name: other
`
}

func TestGroupingAndResolve(t *testing.T) {
	h := newHook(t)
	m, _ := startManager(t, Options{}, loadConfig(t, webhookConfig(h.srv.URL, "")))
	ctx := context.Background()
	now := time.Now()
	m.Put(ctx,
		model.Alert{Labels: model.LabelSet{"alertname": "A", "instance": "1"}, StartsAt: now},
		model.Alert{Labels: model.LabelSet{"alertname": "A", "instance": "2"}, StartsAt: now},
		model.Alert{Labels: model.LabelSet{"alertname": "B"}, StartsAt: now},
	)
	h.wait(t, 2, 2*time.Second)
	msgs := h.messages()
	byGroup := map[string]webhook.Message{}
	for _, msg := range msgs {
		byGroup[msg.GroupLabels["alertname"]] = msg
	}
	if a := byGroup["A"]; len(a.Alerts) != 2 || a.Status != "firing" || a.Version != "4" || a.GroupKey != `{}:{alertname="A"}` || a.Receiver != "hook" {
		t.Fatalf("group A: %+v", a)
	}
	if b := byGroup["B"]; len(b.Alerts) != 1 {
		t.Fatalf("group B: %+v", b)
	}
	// Nothing changes: no repeat within repeat_interval.
	h.none(t, time.Second)

	// Resolve one alert of A: with send_resolved, A is notified again.
	m.Put(ctx, model.Alert{Labels: model.LabelSet{"alertname": "A", "instance": "1"}, StartsAt: now, EndsAt: time.Now()})
	h.wait(t, 1, 2*time.Second)
	last := h.messages()[len(h.messages())-1]
	if last.Status != "firing" || len(last.Alerts) != 2 || len(last.Alerts.Resolved()) != 1 {
		t.Fatalf("after resolving one: %+v", last)
	}
	// A new alert in an existing group waits for group_interval, not
	// group_wait, and arrives with the others.
	m.Put(ctx, model.Alert{Labels: model.LabelSet{"alertname": "B", "instance": "9"}, StartsAt: time.Now()})
	h.wait(t, 1, 2*time.Second)
	last = h.messages()[len(h.messages())-1]
	if last.GroupLabels["alertname"] != "B" || len(last.Alerts) != 2 {
		t.Fatalf("B after new alert: %+v", last)
	}
}

func TestGroupWaitSkippedForOldAlerts(t *testing.T) {
	h := newHook(t)
	cfg := strings.Replace(webhookConfig(h.srv.URL, ""), "group_wait: 200ms", "group_wait: 1h", 1)
	m, _ := startManager(t, Options{}, loadConfig(t, cfg))
	// Started two hours ago: group_wait is over, the group flushes now.
	m.Put(context.Background(), model.Alert{Labels: model.LabelSet{"alertname": "old"}, StartsAt: time.Now().Add(-2 * time.Hour)})
	h.wait(t, 1, 2*time.Second)
	// A new alert starting now in a new group waits the hour.
	m.Put(context.Background(), model.Alert{Labels: model.LabelSet{"alertname": "new"}, StartsAt: time.Now()})
	h.none(t, 500*time.Millisecond)
}

func TestRepeatInterval(t *testing.T) {
	h := newHook(t)
	cfg := strings.Replace(webhookConfig(h.srv.URL, ""), "repeat_interval: 1h", "repeat_interval: 1s", 1)
	m, _ := startManager(t, Options{}, loadConfig(t, cfg))
	start := time.Now()
	m.Put(context.Background(), model.Alert{Labels: model.LabelSet{"alertname": "R"}, StartsAt: start, EndsAt: start.Add(time.Hour)})
	h.wait(t, 1, 2*time.Second)
	first := time.Now()
	h.wait(t, 1, 3*time.Second)
	// Repeats come on a group_interval tick once repeat_interval passed.
	if d := time.Since(first); d < 900*time.Millisecond {
		t.Fatalf("repeated after %v, before repeat_interval", d)
	}
}

func TestSilenceAndInhibition(t *testing.T) {
	h := newHook(t)
	cfg := webhookConfig(h.srv.URL, "") + `
inhibit_rules:
  - source_matchers: [severity="critical"]
    target_matchers: [severity="warning"]
    equal: [cluster]
`
	m, _ := startManager(t, Options{}, loadConfig(t, cfg))
	ctx := context.Background()
	mt, _ := labels.NewMatcher(labels.MatchEqual, "alertname", "Silenced")
	id, err := m.SetSilence(ctx, Silence{Matchers: labels.Matchers{mt}, StartsAt: time.Now(), EndsAt: time.Now().Add(time.Hour), CreatedBy: "me", Comment: "c"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	m.Put(ctx,
		model.Alert{Labels: model.LabelSet{"alertname": "Silenced"}, StartsAt: now},
		model.Alert{Labels: model.LabelSet{"alertname": "Crit", "severity": "critical", "cluster": "a"}, StartsAt: now},
		model.Alert{Labels: model.LabelSet{"alertname": "Warn", "severity": "warning", "cluster": "a"}, StartsAt: now},
		model.Alert{Labels: model.LabelSet{"alertname": "WarnB", "severity": "warning", "cluster": "b"}, StartsAt: now},
	)
	h.wait(t, 2, 2*time.Second)
	h.none(t, 600*time.Millisecond)
	got := map[string]bool{}
	for _, msg := range h.messages() {
		got[msg.GroupLabels["alertname"]] = true
	}
	if !got["Crit"] || !got["WarnB"] || got["Warn"] || got["Silenced"] {
		t.Fatalf("notified groups %v; want Crit and WarnB only", got)
	}
	for _, v := range m.Alerts() {
		switch v.Labels["alertname"] {
		case "Silenced":
			if v.Status.State != "suppressed" || len(v.Status.SilencedBy) != 1 || v.Status.SilencedBy[0] != id {
				t.Errorf("Silenced status %+v", v.Status)
			}
		case "Warn":
			if v.Status.State != "suppressed" || len(v.Status.InhibitedBy) != 1 {
				t.Errorf("Warn status %+v", v.Status)
			}
		default:
			if v.Status.State != "active" {
				t.Errorf("%s status %+v", v.Labels, v.Status)
			}
		}
	}
	// Expiring the silence lets the alert through at the next flush.
	if err := m.ExpireSilence(ctx, id); err != nil {
		t.Fatal(err)
	}
	h.wait(t, 1, 2*time.Second)
	if err := m.ExpireSilence(ctx, id); err != ErrSilenceExpired {
		t.Fatalf("second expire: %v", err)
	}
}

func TestFailingReceiverRetriesAndDoesNotBlockOthers(t *testing.T) {
	bad := newHook(t)
	bad.status = 500
	good := newHook(t)
	cfg := `
route:
  receiver: good
  group_by: [alertname]
  group_wait: 100ms
  group_interval: 300ms
  routes:
    - matchers: [team="bad"]
      receiver: bad
receivers:
  - name: good
    webhook_configs: [{url: ` + good.srv.URL + `}]
  - name: bad
    webhook_configs: [{url: ` + bad.srv.URL + `}]
`
	m, _ := startManager(t, Options{}, loadConfig(t, cfg))
	m.Put(context.Background(),
		model.Alert{Labels: model.LabelSet{"alertname": "X", "team": "bad"}},
		model.Alert{Labels: model.LabelSet{"alertname": "Y"}},
	)
	good.wait(t, 1, 2*time.Second)
	// Retries back off: wait for a second failed attempt rather than a
	// fixed time, which a loaded machine can outlast.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		n := testCounter(m.metrics.requestsFailed.WithLabelValues("webhook", "bad"))
		if n >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("failed requests to bad: %v after 10s, want retries", n)
		}
	}
	// Once it recovers, the retried notification goes through.
	bad.mu.Lock()
	bad.status = 200
	bad.mu.Unlock()
	bad.wait(t, 1, 12*time.Second)
}

// TestRestartKeepsState checks that the notification log and silences
// survive a restart: nothing is notified twice, silences still mute.
func TestRestartKeepsState(t *testing.T) {
	h := newHook(t)
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := state.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cfg := loadConfig(t, webhookConfig(h.srv.URL, ""))
	m, stop := startManager(t, Options{State: db}, cfg)
	ctx := context.Background()
	start := time.Now()
	mt, _ := labels.NewMatcher(labels.MatchEqual, "alertname", "S")
	id, err := m.SetSilence(ctx, Silence{Matchers: labels.Matchers{mt}, StartsAt: start, EndsAt: start.Add(time.Hour), CreatedBy: "me", Comment: "c"})
	if err != nil {
		t.Fatal(err)
	}
	alerts := []model.Alert{
		{Labels: model.LabelSet{"alertname": "P"}, StartsAt: start, EndsAt: start.Add(time.Hour)},
		{Labels: model.LabelSet{"alertname": "S"}, StartsAt: start, EndsAt: start.Add(time.Hour)},
	}
	m.Put(ctx, alerts...)
	h.wait(t, 1, 2*time.Second)
	// The receiver has it; wait for the notification to be logged (a
	// shutdown before the receiver's answer arrives resends, rightly).
	for deadline := time.Now().Add(2 * time.Second); ; {
		m.nflog.mu.RLock()
		n := len(m.nflog.entries)
		m.nflog.mu.RUnlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("notification not logged")
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop()

	m2, _ := startManager(t, Options{State: db}, cfg)
	if s, ok := m2.Silence(id); !ok || s.CreatedBy != "me" {
		t.Fatalf("silence after restart: %+v %v", s, ok)
	}
	// Prometheus sends its alerts again after the restart: no repeat.
	m2.Put(ctx, alerts...)
	h.none(t, time.Second)
	evs, err := m2.History(ctx, HistoryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, e := range evs {
		kinds[e.Kind]++
	}
	if kinds[EventAlert] < 2 || kinds[EventNotification] != 1 || kinds[EventSilence] != 1 {
		t.Fatalf("history kinds %v", kinds)
	}
}

// TestSilencesShared runs two managers on one store, as two argus
// instances sharing a PostgreSQL database do: a silence made or changed
// on one mutes on the other after a sync.
func TestSilencesShared(t *testing.T) {
	path := filepath.Join(t.TempDir(), state.File)
	ctx := context.Background()
	open := func() *state.DB {
		db, err := state.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	h := newHook(t)
	cfg := loadConfig(t, webhookConfig(h.srv.URL, ""))
	a, _ := startManager(t, Options{State: open(), SilenceSyncInterval: 50 * time.Millisecond}, cfg)
	b, _ := startManager(t, Options{State: open(), SilenceSyncInterval: 50 * time.Millisecond}, cfg)
	mt, _ := labels.NewMatcher(labels.MatchEqual, "alertname", "Shared")
	now := time.Now()
	id, err := a.SetSilence(ctx, Silence{Matchers: labels.Matchers{mt}, StartsAt: now, EndsAt: now.Add(time.Hour), CreatedBy: "a", Comment: "one"})
	if err != nil {
		t.Fatal(err)
	}
	waitFor := func(what string, f func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !f(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 10s", what)
			}
		}
	}
	waitFor("the silence on the other instance", func() bool {
		return len(b.SilenceMutes(model.LabelSet{"alertname": "Shared"})) == 1
	})
	// A change on the second reaches the first.
	sil, _ := b.Silence(id)
	sil.Comment = "two"
	if _, err := b.SetSilence(ctx, sil); err != nil {
		t.Fatal(err)
	}
	waitFor("the change on the first instance", func() bool {
		s, ok := a.Silence(id)
		return ok && s.Comment == "two"
	})
	if err := a.ExpireSilence(ctx, id); err != nil {
		t.Fatal(err)
	}
	waitFor("the expiry on the second instance", func() bool {
		return len(b.SilenceMutes(model.LabelSet{"alertname": "Shared"})) == 0
	})
}
