package alertmanager

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/alertmanager/alert"
	"github.com/prometheus/alertmanager/dispatch"
	"github.com/prometheus/alertmanager/eventrecorder"
	"github.com/prometheus/alertmanager/notify"
	"github.com/prometheus/alertmanager/provider/mem"
	"github.com/prometheus/alertmanager/timeinterval"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
)

// The timer semantics of aggregation groups are checked against
// Alertmanager's own dispatcher (a test-only oracle): both get the same
// alerts at the same (virtual, testing/synctest) times, and must flush the
// same groups at the same times with the same alerts.

const diffConfig = `
route:
  receiver: r
  group_by: [alertname]
  group_wait: 2s
  group_interval: 5s
  routes:
    - matchers: [team="x"]
      receiver: x
      group_by: [alertname, instance]
      group_wait: 1s
      group_interval: 3s
      continue: true
receivers: [{name: r}, {name: x}]
`

// step is one scripted post: at offset, the alert with labels, ending at
// end (relative to the script's start; 0 means an hour after the post).
type step struct {
	at, start, end time.Duration
	labels         model.LabelSet
}

var diffScript = []step{
	{at: 0, labels: model.LabelSet{"alertname": "A", "instance": "1"}},
	{at: 500 * time.Millisecond, labels: model.LabelSet{"alertname": "A", "instance": "2", "team": "x"}},
	// Started long ago: its new group flushes at once.
	{at: 3 * time.Second, start: -time.Hour, labels: model.LabelSet{"alertname": "B"}},
	// Resolved while its group waits for the next interval.
	{at: 4500 * time.Millisecond, end: 4500 * time.Millisecond, labels: model.LabelSet{"alertname": "A", "instance": "1"}},
	// Re-sent with an unchanged window: no change.
	{at: 6 * time.Second, labels: model.LabelSet{"alertname": "A", "instance": "2", "team": "x"}},
	// Fires again after being resolved and deleted.
	{at: 13 * time.Second, labels: model.LabelSet{"alertname": "A", "instance": "1"}},
}

// diffDuration ends the script between flushes: a flush due at the very
// instant the script stops (group {alertname="A"} at 25 s) is recorded or
// not depending on which goroutine runs first, on either side.
const diffDuration = 24500 * time.Millisecond

// flushLog collects "offset group: alerts" lines.
type flushLog struct {
	mu    sync.Mutex
	start time.Time
	lines []string
}

func (l *flushLog) add(groupKey string, alerts []*alert.Alert) {
	var as []string
	now := time.Now()
	for _, a := range alerts {
		st := "firing"
		if a.ResolvedAt(now) {
			st = "resolved"
		}
		as = append(as, fmt.Sprintf("%s/%s:%s", a.Labels["alertname"], a.Labels["instance"], st))
	}
	sort.Strings(as)
	l.mu.Lock()
	l.lines = append(l.lines, fmt.Sprintf("%6s %s: %s", time.Since(l.start).Round(time.Millisecond), groupKey, strings.Join(as, " ")))
	l.mu.Unlock()
}

func (l *flushLog) sorted() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := append([]string(nil), l.lines...)
	sort.Strings(out)
	return out
}

func scriptAlert(s step, start time.Time) model.Alert {
	now := time.Now()
	a := model.Alert{Labels: s.labels, StartsAt: now.Add(s.start), EndsAt: now.Add(time.Hour)}
	if s.end != 0 {
		a.EndsAt = start.Add(s.end)
	}
	return a
}

func runOurs(t *testing.T) []string {
	var log flushLog
	synctest.Test(t, func(t *testing.T) {
		m, err := New(context.Background(), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := m.ApplyConfig(loadConfig(t, diffConfig), ""); err != nil {
			t.Fatal(err)
		}
		m.gen.dispatcher.notify = func(_ context.Context, g *group, _ time.Time, alerts []*alert.Alert) bool {
			log.add(g.key, alerts)
			return true
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { m.Run(ctx); close(done) }()
		log.start = time.Now()
		for _, s := range diffScript {
			time.Sleep(time.Until(log.start.Add(s.at)))
			m.Put(ctx, scriptAlert(s, log.start))
		}
		time.Sleep(time.Until(log.start.Add(diffDuration)))
		cancel()
		<-done
	})
	return log.sorted()
}

func runUpstream(t *testing.T) []string {
	var log flushLog
	synctest.Test(t, func(t *testing.T) {
		logger := slog.New(slog.DiscardHandler)
		cfg := loadConfig(t, diffConfig)
		reg := prometheus.NewRegistry()
		alerts, err := mem.NewAlerts(context.Background(), time.Hour, 0, nil, logger, eventrecorder.NopRecorder(), reg, nil)
		if err != nil {
			t.Fatal(err)
		}
		stage := notify.StageFunc(func(ctx context.Context, _ *slog.Logger, as ...*alert.Alert) (context.Context, []*alert.Alert, error) {
			key, _ := notify.GroupKey(ctx)
			log.add(key, as)
			return ctx, nil, nil
		})
		d := dispatch.NewDispatcher(alerts, dispatch.NewRoute(cfg.Route, nil), stage, timeinterval.NewIntervener(nil),
			func(d time.Duration) time.Duration { return d }, time.Hour, nil, logger, eventrecorder.NopRecorder(),
			dispatch.NewDispatcherMetrics(false, reg, nil), nil)
		log.start = time.Now()
		go d.Run(log.start)
		for _, s := range diffScript {
			time.Sleep(time.Until(log.start.Add(s.at)))
			now := time.Now()
			alerts.Put(context.Background(), alert.New(scriptAlert(s, log.start), now, false))
		}
		time.Sleep(time.Until(log.start.Add(diffDuration)))
		d.Stop()
		alerts.Close()
	})
	return log.sorted()
}

func TestTimersMatchAlertmanager(t *testing.T) {
	ours, theirs := runOurs(t), runUpstream(t)
	if strings.Join(ours, "\n") != strings.Join(theirs, "\n") {
		t.Fatalf("flushes differ\nargus:\n%s\n\nAlertmanager:\n%s", strings.Join(ours, "\n"), strings.Join(theirs, "\n"))
	}
	t.Logf("flushes:\n%s", strings.Join(ours, "\n"))
}
