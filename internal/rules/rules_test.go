package rules

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"go.uber.org/goleak"

	"github.com/argus-mon/argus/internal/promql"
	"github.com/argus-mon/argus/internal/tsdb"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// env is a storage, an engine and a manager over them.
type env struct {
	t      testing.TB
	db     *tsdb.DB
	ng     *promql.Engine
	m      *Manager
	sent   []*Alert
	base   time.Time
	sentAt []time.Time
}

// newEnv returns an env; set changes the manager's options.
func newEnv(t testing.TB, set ...func(*Options)) *env {
	t.Helper()
	db, err := tsdb.Open(context.Background(), t.TempDir(), tsdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e := &env{t: t, db: db, ng: promql.NewEngine(promql.EngineOpts{}), base: time.Unix(1_700_000_000, 0).UTC()}
	opts := Options{
		Query:       EngineQueryFunc(e.ng, db),
		NewAppender: func() Appender { return db.Appender() },
		Queryable:   db,
		Notify: func(_ context.Context, _ string, alerts ...*Alert) {
			e.sent = append(e.sent, alerts...)
		},
	}
	for _, f := range set {
		f(&opts)
	}
	e.m = NewManager(opts)
	return e
}

// add appends one sample.
func (e *env) add(series string, at time.Duration, v float64) {
	e.t.Helper()
	lset, err := parseSeries(series)
	if err != nil {
		e.t.Fatal(err)
	}
	app := e.db.Appender()
	if _, err := app.Append(0, lset, e.base.Add(at).UnixMilli(), v); err != nil {
		e.t.Fatal(err)
	}
	if err := app.Commit(); err != nil {
		e.t.Fatal(err)
	}
}

// query runs an instant query at base+at and renders the result sorted.
func (e *env) query(qs string, at time.Duration) string {
	e.t.Helper()
	v, err := EngineQueryFunc(e.ng, e.db)(context.Background(), qs, e.base.Add(at))
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, s := range v {
		out = append(out, s.Metric.String()+" "+formatFloat(s.F))
	}
	return strings.Join(sorted(out), "\n")
}

func (e *env) load(content string) *Group {
	e.t.Helper()
	f := filepath.Join(e.t.TempDir(), "rules.yml")
	if err := os.WriteFile(f, []byte(content), 0o600); err != nil {
		e.t.Fatal(err)
	}
	groups, errs := e.m.LoadGroups(UpdateOptions{Interval: time.Minute}, false, f)
	if len(errs) > 0 {
		e.t.Fatal(errs)
	}
	if len(groups) != 1 {
		e.t.Fatalf("want one group, got %d", len(groups))
	}
	for _, g := range groups {
		return g
	}
	return nil
}

func TestRecordingRuleWritesAndMarksStale(t *testing.T) {
	e := newEnv(t)
	g := e.load(`
groups:
- name: rec
  rules:
  - record: job:up:sum
    expr: sum by (job) (up)
    labels: {source: rule}
`)
	e.add(`up{job="a",instance="1"}`, 0, 1)
	e.add(`up{job="a",instance="2"}`, 0, 1)
	e.add(`up{job="b",instance="3"}`, 0, 0)
	g.Eval(context.Background(), e.base.Add(time.Minute))
	if got, want := e.query("job:up:sum", time.Minute), "{__name__=\"job:up:sum\", job=\"a\", source=\"rule\"} 2\n{__name__=\"job:up:sum\", job=\"b\", source=\"rule\"} 0"; got != want {
		t.Fatalf("after first evaluation:\n%s\nwant\n%s", got, want)
	}
	if h := g.Rules()[0].Health(); h != HealthGood {
		t.Errorf("health %s", h)
	}
	// Job b's series vanish (stale): its recorded series is marked stale.
	e.add(`up{job="a",instance="1"}`, 90*time.Second, 1)
	e.add(`up{job="a",instance="2"}`, 90*time.Second, 1)
	e.add(`up{job="b",instance="3"}`, 90*time.Second, math.Float64frombits(value.StaleNaN))
	g.Eval(context.Background(), e.base.Add(2*time.Minute))
	if got, want := e.query("job:up:sum", 2*time.Minute), "{__name__=\"job:up:sum\", job=\"a\", source=\"rule\"} 2"; got != want {
		t.Fatalf("after second evaluation:\n%s\nwant\n%s", got, want)
	}
	// The marker is a sample in storage.
	q, _ := e.db.Querier(0, math.MaxInt64)
	defer q.Close()
	ss := q.Select(context.Background(), false, nil, labels.MustNewMatcher(labels.MatchEqual, "job", "b"), labels.MustNewMatcher(labels.MatchEqual, "__name__", "job:up:sum"))
	if !ss.Next() {
		t.Fatal("no recorded series for job b")
	}
	it := ss.At().Iterator(nil)
	var last float64
	n := 0
	for it.Next() == chunkenc.ValFloat {
		_, last = it.At()
		n++
	}
	if n != 2 || !value.IsStaleNaN(last) {
		t.Errorf("job b: %d samples, last %v; want 2 with a staleness marker last", n, last)
	}
}

func TestRecordingRuleErrors(t *testing.T) {
	e := newEnv(t)
	g := e.load(`
groups:
- name: rec
  limit: 1
  rules:
  - record: r
    expr: up
  - record: dup
    expr: up
    labels: {instance: same}
`)
	e.add(`up{job="a",instance="1"}`, 0, 1)
	e.add(`up{job="a",instance="2"}`, 0, 1)
	g.Eval(context.Background(), e.base.Add(time.Minute))
	for i, want := range []string{"exceeded limit of 1 with 2 series", "vector contains metrics with the same labelset after applying rule labels"} {
		r := g.Rules()[i]
		if r.Health() != HealthBad || r.LastError() == nil || r.LastError().Error() != want {
			t.Errorf("rule %s: health %s, error %v; want err, %q", r.Name(), r.Health(), r.LastError(), want)
		}
	}
}

// TestAlertStates walks an alert through pending, firing, keep_firing_for
// and resolved, checking ALERTS, ALERTS_FOR_STATE and what is sent.
func TestAlertStates(t *testing.T) {
	e := newEnv(t)
	g := e.load(`
groups:
- name: alerts
  rules:
  - alert: Down
    expr: up == 0
    for: 2m
    keep_firing_for: 1m
    labels: {severity: page}
    annotations:
      summary: '{{ $labels.instance }} is down ({{ $value }})'
`)
	ar := g.Rules()[0].(*AlertingRule)
	ctx := context.Background()
	step := func(min int, v float64) {
		t.Helper()
		if v >= 0 {
			e.add(`up{job="a",instance="x"}`, time.Duration(min)*time.Minute-time.Second, v)
		}
		g.Eval(ctx, e.base.Add(time.Duration(min)*time.Minute))
	}
	state := func() AlertState { return ar.State() }

	step(1, 0)
	if state() != StatePending {
		t.Fatalf("minute 1: %s, want pending", state())
	}
	if got := e.query(`ALERTS`, time.Minute); got != `{__name__="ALERTS", alertname="Down", alertstate="pending", instance="x", job="a", severity="page"} 1` {
		t.Fatalf("ALERTS at minute 1: %s", got)
	}
	if got := e.query(`ALERTS_FOR_STATE`, time.Minute); got != `{__name__="ALERTS_FOR_STATE", alertname="Down", instance="x", job="a", severity="page"} `+formatFloat(float64(e.base.Add(time.Minute).Unix())) {
		t.Fatalf("ALERTS_FOR_STATE at minute 1: %s", got)
	}
	if len(e.sent) != 0 {
		t.Fatalf("pending alert sent: %v", e.sent)
	}
	step(2, 0)
	if state() != StatePending {
		t.Fatalf("minute 2: %s, want pending", state())
	}
	step(3, 0)
	if state() != StateFiring {
		t.Fatalf("minute 3: %s, want firing", state())
	}
	if len(e.sent) != 1 || e.sent[0].Annotations.Get("summary") != "x is down (0)" || e.sent[0].Labels.Get("severity") != "page" {
		t.Fatalf("sent at minute 3: %+v", e.sent)
	}
	if got := e.query(`ALERTS{alertstate="firing"}`, 3*time.Minute); got == "" {
		t.Fatal("no firing ALERTS series")
	}
	// Recovered: keep_firing_for keeps it firing for a minute.
	step(4, 1)
	if state() != StateFiring {
		t.Fatalf("minute 4: %s, want firing (keep_firing_for)", state())
	}
	step(5, 1)
	if state() != StateInactive {
		t.Fatalf("minute 5: %s, want inactive", state())
	}
	last := e.sent[len(e.sent)-1]
	if last.ResolvedAt.IsZero() || !last.ResolvedAt.Equal(e.base.Add(5*time.Minute)) {
		t.Fatalf("resolution not sent: %+v", last)
	}
	if got := e.query(`ALERTS`, 5*time.Minute); got != "" {
		t.Fatalf("ALERTS after resolution: %s", got)
	}
	if len(ar.ActiveAlerts()) != 0 {
		t.Fatalf("active alerts after resolution: %v", ar.ActiveAlerts())
	}
}

func TestTemplateErrorShownOnRule(t *testing.T) {
	e := newEnv(t)
	g := e.load(`
groups:
- name: alerts
  rules:
  - alert: Bad
    expr: vector(1)
    annotations:
      summary: '{{ humanize "not a number" }}'
`)
	g.Eval(context.Background(), e.base.Add(time.Minute))
	r := g.Rules()[0].(*AlertingRule)
	if r.Health() != HealthGood || r.LastError() == nil || !strings.Contains(r.LastError().Error(), "humanize") {
		t.Fatalf("health %s, error %v", r.Health(), r.LastError())
	}
	a := r.ActiveAlerts()
	if len(a) != 1 || !strings.HasPrefix(a[0].Annotations.Get("summary"), "<error expanding template: ") {
		t.Fatalf("alerts %+v", a)
	}
}

func TestEvalTimestampSpreadsAndAligns(t *testing.T) {
	e := newEnv(t)
	g := e.load("groups: [{name: a, interval: 30s, rules: [{record: r, expr: '1'}]}]")
	now := time.Now().UnixNano()
	ts := g.EvalTimestamp(now)
	if ts.UnixNano() > now || now-ts.UnixNano() >= int64(30*time.Second) {
		t.Fatalf("slot %v not within an interval before %v", ts, time.Unix(0, now))
	}
	if g.EvalTimestamp(ts.Add(30*time.Second).UnixNano()) != ts.Add(30*time.Second) {
		t.Fatal("slots are not an interval apart")
	}
}

func TestRestoredActiveAt(t *testing.T) {
	g := &Group{opts: &Options{ForGracePeriod: 10 * time.Minute}}
	now := time.Unix(1_700_000_000, 0)
	for _, tc := range []struct {
		name           string
		hold           time.Duration
		active, downAt time.Duration // before now
		want           time.Duration // before now; -1: not restored
	}{
		{"fired before the outage", time.Hour, 3 * time.Hour, time.Hour, 3 * time.Hour},
		{"for shorter than the grace period", 5 * time.Minute, 3 * time.Minute, 2 * time.Minute, -1},
		{"little left: grace period", 30 * time.Minute, 40 * time.Minute, 15 * time.Minute, 20 * time.Minute},
		{"outage not counted", 2 * time.Hour, 50 * time.Minute, 30 * time.Minute, 20 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := g.restoredActiveAt(tc.hold, now.Add(-tc.downAt), now.Add(-tc.active), now)
			if tc.want < 0 {
				if ok {
					t.Fatalf("restored to %v", got)
				}
				return
			}
			if !ok || !got.Equal(now.Add(-tc.want)) {
				t.Fatalf("got %v %v, want %v", got, ok, now.Add(-tc.want))
			}
		})
	}
}

// TestManagerReload runs a manager, then reloads with one rule removed and
// one group changed: the removed rule's series gets a staleness marker, the
// changed group keeps running and a removed file's group stops.
func TestManagerReload(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	f := filepath.Join(dir, "a.yml")
	write := func(s string) {
		if err := os.WriteFile(f, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(`groups: [{name: g, interval: 50ms, rules: [{record: one, expr: vector(1)}, {record: two, expr: vector(2)}]}]`)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- e.m.Run(ctx) }()
	defer func() { cancel(); <-done }()
	upd := UpdateOptions{Files: []string{filepath.Join(dir, "*.yml")}, Interval: time.Minute}
	if err := e.m.Update(upd); err != nil {
		t.Fatal(err)
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if cond() {
				return
			}
		}
		t.Fatalf("timed out waiting for %s", what)
	}
	waitFor("two evaluated", func() bool {
		return e.m.Groups()[0].Rules()[1].Health() == HealthGood
	})
	write(`groups: [{name: g, interval: 50ms, rules: [{record: one, expr: vector(1)}]}]`)
	if err := e.m.Update(upd); err != nil {
		t.Fatal(err)
	}
	if n := len(e.m.Groups()[0].Rules()); n != 1 {
		t.Fatalf("%d rules after reload", n)
	}
	waitFor("staleness marker for two", func() bool {
		q, err := e.db.Querier(0, math.MaxInt64)
		if err != nil {
			return false
		}
		defer q.Close()
		ss := q.Select(context.Background(), false, nil, labels.MustNewMatcher(labels.MatchEqual, "__name__", "two"))
		if !ss.Next() {
			return false
		}
		it := ss.At().Iterator(nil)
		var last float64
		for it.Next() == chunkenc.ValFloat {
			_, last = it.At()
		}
		return value.IsStaleNaN(last)
	})
	// A broken file changes nothing.
	write(`groups: [{name: g, rules: [{record: one, expr: "vector("}]}]`)
	if err := e.m.Update(upd); err == nil || !strings.Contains(err.Error(), "could not parse expression") {
		t.Fatalf("update with a broken file: %v", err)
	}
	if len(e.m.Groups()) != 1 {
		t.Fatal("groups changed by a failed update")
	}
	os.Remove(f)
	if err := e.m.Update(upd); err != nil || len(e.m.Groups()) != 0 {
		t.Fatalf("update without files: %v, %d groups", err, len(e.m.Groups()))
	}
}
