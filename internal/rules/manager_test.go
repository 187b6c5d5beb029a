package rules

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/argus-mon/argus/internal/promql"
)

// within fails the test if f has not returned after 10s; it wraps calls
// that must not wait for a stuck evaluation.
func within(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s blocked", what)
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// lockedBuffer is a log destination for several goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestStuckEvaluationStallsOnlyItsGroup has an alert template that never
// returns (a query function ignoring its context stands in for a template
// loop, which text/template cannot interrupt): reloads, including one that
// changes the stuck group, the rule listing, the other group and the
// manager's shutdown must all carry on.
func TestStuckEvaluationStallsOnlyItsGroup(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{})
	var once sync.Once
	var logs lockedBuffer
	e := newEnv(t, func(o *Options) {
		inner := o.Query
		o.Query = func(ctx context.Context, qs string, ts time.Time) (promql.Vector, error) {
			if qs != "stuck" {
				return inner(ctx, qs, ts)
			}
			once.Do(func() { close(entered) })
			<-release
			return nil, nil
		}
		o.StopTimeout = time.Millisecond
		o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		o.Notify = nil // the stuck group's goroutine would write e.sent late
	})
	dir := t.TempDir()
	stuck, other := filepath.Join(dir, "stuck.yml"), filepath.Join(dir, "other.yml")
	writeFile(t, stuck, `groups: [{name: stuck, interval: 20ms, rules: [{alert: A, expr: vector(1), annotations: {summary: '{{ query "stuck" }}'}}]}]`)
	writeFile(t, other, `groups: [{name: other, interval: 20ms, rules: [{record: one, expr: vector(1)}]}]`)
	upd := UpdateOptions{Files: []string{filepath.Join(dir, "*.yml")}, Interval: time.Minute}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runDone := make(chan error, 1)
	go func() { runDone <- e.m.Run(ctx) }()
	if err := e.m.Update(upd); err != nil {
		t.Fatal(err)
	}
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the stuck template was never expanded")
	}

	// Both groups change; the stuck one is replaced once its evaluation
	// ends, which it never does here.
	writeFile(t, stuck, `groups: [{name: stuck, interval: 20ms, rules: [{alert: A, expr: vector(1), annotations: {summary: '{{ query "stuck" }}!'}}]}]`)
	writeFile(t, other, `groups: [{name: other, interval: 20ms, rules: [{record: one, expr: vector(1)}, {record: two, expr: vector(2)}]}]`)
	within(t, "Update", func() {
		if err := e.m.Update(upd); err != nil {
			t.Error(err)
		}
	})
	var groups []*Group
	within(t, "Groups", func() { groups = e.m.Groups() })
	if len(groups) != 2 || groups[0].Name() != "other" || len(groups[0].Rules()) != 2 {
		t.Fatalf("groups after reload: %v", groups)
	}
	waitUntil(t, "the other group's new rule evaluated", func() bool {
		return groups[0].Rules()[1].Health() == HealthGood
	})

	// Shutdown gives up on the stuck group after StopTimeout and says so.
	cancel()
	within(t, "Run's shutdown", func() {
		if err := <-runDone; err != nil {
			t.Error(err)
		}
	})
	if l := logs.String(); !strings.Contains(l, "still evaluating") || !strings.Contains(l, stuck+";stuck") {
		t.Errorf("the stuck group is not logged at shutdown:\n%s", l)
	}
	close(release)
	e.m.wg.Wait()
}

// TestRejectedUpdateChangesNothing checks that an update with one broken
// file leaves the groups and the argus_rule_* metrics as they were, though
// the files before the broken one change a group and add one.
func TestRejectedUpdateChangesNothing(t *testing.T) {
	reg := prometheus.NewRegistry()
	e := newEnv(t, func(o *Options) { o.Registerer = reg })
	t.Cleanup(func() {
		// A Run whose context is already done stops the groups at once.
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		e.m.Run(ctx)
	})
	dir := t.TempDir()
	upd := UpdateOptions{Files: []string{filepath.Join(dir, "*.yml")}, Interval: time.Minute}
	writeFile(t, filepath.Join(dir, "a.yml"), `groups: [{name: a, rules: [{record: one, expr: vector(1)}]}]`)
	if err := e.m.Update(upd); err != nil {
		t.Fatal(err)
	}
	gather := func() string {
		t.Helper()
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, mf := range mfs {
			if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
				t.Fatal(err)
			}
		}
		return b.String()
	}
	before := gather()
	if !strings.Contains(before, `argus_rule_group_rules{rule_group="`+filepath.Join(dir, "a.yml")+`;a"} 1`) {
		t.Fatalf("metrics of the first update:\n%s", before)
	}

	writeFile(t, filepath.Join(dir, "a.yml"), `groups: [{name: a, interval: 30s, rules: [{record: one, expr: vector(1)}, {record: two, expr: vector(2)}]}]`)
	writeFile(t, filepath.Join(dir, "b.yml"), `groups: [{name: b, rules: [{record: three, expr: vector(3)}]}]`)
	writeFile(t, filepath.Join(dir, "c.yml"), `groups: [{name: c, rules: [{record: four, expr: "vector("}]}]`)
	if err := e.m.Update(upd); err == nil {
		t.Fatal("update with a broken file succeeded")
	}
	if after := gather(); after != before {
		t.Errorf("a rejected update changed the metrics:\n%s\nwant\n%s", after, before)
	}
	if gs := e.m.Groups(); len(gs) != 1 || len(gs[0].Rules()) != 1 || gs[0].Interval() != time.Minute {
		t.Errorf("a rejected update changed the groups: %v", gs)
	}
}

// TestSelfMetricsCount checks the rule self-metrics' values, not only their
// presence: a failing rule counts failures, an evaluation that outlasts
// three intervals counts missed iterations, and the last evaluation's time
// and duration are set.
func TestSelfMetricsCount(t *testing.T) {
	reg := prometheus.NewRegistry()
	slowOnce := make(chan struct{}, 1)
	slowOnce <- struct{}{}
	e := newEnv(t, func(o *Options) {
		inner := o.Query
		o.Registerer = reg
		o.Query = func(ctx context.Context, qs string, ts time.Time) (promql.Vector, error) {
			switch qs {
			case "fail":
				return nil, errors.New("query failed on purpose")
			case "slow":
				select {
				case <-slowOnce:
					// Three and a half intervals: at least two are missed.
					time.Sleep(175 * time.Millisecond)
				default:
				}
				return inner(ctx, "vector(1)", ts)
			}
			return inner(ctx, qs, ts)
		}
	})
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "r.yml"), `groups: [{name: g, interval: 50ms, rules: [{record: bad, expr: fail}, {record: slow, expr: slow}]}]`)
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan error, 1)
	go func() { runDone <- e.m.Run(ctx) }()
	defer func() { cancel(); <-runDone }()
	if err := e.m.Update(UpdateOptions{Files: []string{filepath.Join(dir, "*.yml")}, Interval: time.Minute}); err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(dir, "r.yml") + ";g"
	value := func(name string) float64 {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() != name {
				continue
			}
			for _, m := range mf.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "rule_group" && l.GetValue() == key {
						switch {
						case m.Counter != nil:
							return m.Counter.GetValue()
						case m.Gauge != nil:
							return m.Gauge.GetValue()
						}
					}
				}
			}
		}
		return -1
	}
	waitUntil(t, "three evaluations after the slow one", func() bool {
		return value("argus_rule_evaluation_failures_total") >= 3
	})
	if v := value("argus_rule_group_iterations_missed_total"); v < 2 {
		t.Errorf("iterations missed %v, want >= 2 after an evaluation of 3.5 intervals", v)
	}
	if missed, total := value("argus_rule_group_iterations_missed_total"), value("argus_rule_group_iterations_total"); total <= missed {
		t.Errorf("iterations total %v not above missed %v", total, missed)
	}
	// Failures first: both only grow, and the rules run in order, so the
	// evaluations read later are at least those of the failing rule plus
	// all but the last of the other's.
	if fail, ev := value("argus_rule_evaluation_failures_total"), value("argus_rule_evaluations_total"); ev < 2*fail-1 {
		t.Errorf("evaluations %v for %v failures of one rule out of two", ev, fail)
	}
	if ts := value("argus_rule_group_last_evaluation_timestamp_seconds"); ts < float64(time.Now().Add(-time.Minute).Unix()) {
		t.Errorf("last evaluation timestamp %v", ts)
	}
	if d := value("argus_rule_group_last_duration_seconds"); d <= 0 {
		t.Errorf("last duration %v", d)
	}
	if v := value("argus_rule_group_interval_seconds"); v != 0.05 {
		t.Errorf("interval %v, want 0.05", v)
	}
}
