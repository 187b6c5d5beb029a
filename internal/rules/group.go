package rules

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"

	"github.com/argus-mon/argus/internal/promql"
)

// Group is a rule group: rules evaluated in order at the group's interval.
// Its methods are safe for concurrent use; evaluation runs on one
// goroutine owned by the Manager.
type Group struct {
	name, file  string
	interval    time.Duration
	queryOffset time.Duration
	limit       int
	rules       []Rule
	opts        *Options
	metrics     *metrics
	logger      *slog.Logger

	// Used only by the evaluating goroutine (and by CopyState before it
	// starts).
	seriesInPreviousEval []map[string]labels.Labels // one per rule
	staleSeries          []labels.Labels
	shouldRestore        bool

	// done is closed to stop the group (once: stopOnce); terminated when
	// its goroutine has ended, after its evaluation in progress if any.
	done, terminated chan struct{}
	stopOnce         sync.Once

	mu             sync.Mutex
	evaluationTime time.Duration
	ruleDurSum     time.Duration
	lastEvaluation time.Time // wall clock of the last evaluation
	lastEvalTS     time.Time // the time slot of the last evaluation
}

// GroupOptions are the parts of a group.
type GroupOptions struct {
	Name, File  string
	Interval    time.Duration
	QueryOffset time.Duration
	Limit       int
	Rules       []Rule
	// ShouldRestore restores the for state of alerts from storage after
	// the second evaluation.
	ShouldRestore bool
}

// newGroup returns a group, not started. It has no side effects: the
// manager creates the group's metrics when it applies the group.
func newGroup(o GroupOptions, opts *Options, m *metrics) *Group {
	return &Group{
		name: o.Name, file: o.File, interval: o.Interval, queryOffset: o.QueryOffset, limit: o.Limit,
		rules: o.Rules, opts: opts, metrics: m, shouldRestore: o.ShouldRestore,
		logger:               opts.Logger.With("file", o.File, "group", o.Name),
		seriesInPreviousEval: make([]map[string]labels.Labels, len(o.Rules)),
		done:                 make(chan struct{}),
		terminated:           make(chan struct{}),
	}
}

// GroupKey identifies a group in metrics and in the manager: file;name.
func GroupKey(file, name string) string { return file + ";" + name }

func (g *Group) Name() string               { return g.name }
func (g *Group) File() string               { return g.file }
func (g *Group) Interval() time.Duration    { return g.interval }
func (g *Group) Limit() int                 { return g.limit }
func (g *Group) QueryOffset() time.Duration { return g.queryOffset }
func (g *Group) Rules() []Rule              { return g.rules }

// EvaluationTime is how long the last evaluation took.
func (g *Group) EvaluationTime() time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.evaluationTime
}

// LastEvaluation is when the last evaluation started (wall clock).
func (g *Group) LastEvaluation() time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.lastEvaluation
}

// hash spreads the evaluation times of groups over the interval, as
// Prometheus does, from the group's name and file.
func (g *Group) hash() uint64 {
	return labels.New(labels.Label{Name: "name", Value: g.name}, labels.Label{Name: "file", Value: g.file}).Hash()
}

// EvalTimestamp is the evaluation time slot at or before startTime (Unix
// nanoseconds): slots are interval apart, shifted by the group's offset.
func (g *Group) EvalTimestamp(startTime int64) time.Time {
	var (
		offset = int64(g.hash() % uint64(g.interval))
		adjNow = startTime - offset
		base   = adjNow - (adjNow % int64(g.interval))
	)
	return time.Unix(0, base+offset).UTC()
}

// run evaluates the group at each slot until stop. The first evaluation is
// at the next slot; after the second, the for state is restored if asked.
func (g *Group) run(ctx context.Context) {
	defer close(g.terminated)
	evalTS := g.EvalTimestamp(time.Now().UnixNano()).Add(g.interval)
	select {
	case <-time.After(time.Until(evalTS)):
	case <-g.done:
		return
	}
	tick := time.NewTicker(g.interval)
	defer tick.Stop()

	g.iterate(ctx, evalTS)
	for {
		select {
		case <-g.done:
			return
		case <-tick.C:
		}
		missed := time.Since(evalTS)/g.interval - 1
		if missed > 0 {
			key := GroupKey(g.file, g.name)
			g.metrics.iterationsMissed.WithLabelValues(key).Add(float64(missed))
			g.metrics.iterationsScheduled.WithLabelValues(key).Add(float64(missed))
		}
		evalTS = evalTS.Add((missed + 1) * g.interval)
		g.iterate(ctx, evalTS)
		if g.shouldRestore {
			// Two evaluations have made the alerts active again; now their
			// ActiveAt can come from storage.
			g.RestoreForState(ctx, time.Now())
		}
	}
}

// iterate is one scheduled evaluation with its bookkeeping.
func (g *Group) iterate(ctx context.Context, ts time.Time) {
	key := GroupKey(g.file, g.name)
	g.metrics.iterationsScheduled.WithLabelValues(key).Inc()
	start := time.Now()
	g.Eval(ctx, ts)
	d := time.Since(start)
	g.metrics.iterationDuration.Observe(d.Seconds())
	var sum time.Duration
	for _, r := range g.rules {
		sum += r.EvaluationDuration()
	}
	g.metrics.lastRuleDurationSum.WithLabelValues(key).Set(sum.Seconds())
	g.metrics.lastDuration.WithLabelValues(key).Set(d.Seconds())
	g.metrics.lastEvalTime.WithLabelValues(key).Set(float64(start.UnixNano()) / 1e9)
	g.mu.Lock()
	g.evaluationTime, g.ruleDurSum, g.lastEvaluation, g.lastEvalTS = d, sum, start, ts
	g.mu.Unlock()
}

// stop tells the group's goroutine to stop, and returns without waiting
// for it: an evaluation in progress ends after its current rule, and a
// rule's template expansion cannot be interrupted. terminated is closed
// when the goroutine has ended.
func (g *Group) stop() {
	g.stopOnce.Do(func() { close(g.done) })
}

// Eval evaluates every rule of the group once at ts, writes the results
// and staleness markers, and hands alerts to the notifier. It is exported
// for rule unit tests, which step time themselves.
func (g *Group) Eval(ctx context.Context, ts time.Time) {
	samples := 0
	for i, rule := range g.rules {
		select {
		case <-g.done:
			return
		default:
		}
		samples += g.evalRule(ctx, i, rule, ts)
	}
	g.metrics.groupSamples.WithLabelValues(GroupKey(g.file, g.name)).Set(float64(samples))
	g.cleanupStaleSeries(ts)
}

// evalRule evaluates one rule and returns the number of samples it made.
func (g *Group) evalRule(ctx context.Context, i int, rule Rule, ts time.Time) int {
	key := GroupKey(g.file, g.name)
	st := rule.status()
	start := time.Now()
	defer func() {
		d := time.Since(start)
		g.metrics.evalDuration.Observe(d.Seconds())
		st.setEvaluation(start, d)
	}()
	g.metrics.evalTotal.WithLabelValues(key).Inc()
	vector, err := rule.eval(ctx, g.queryOffset, ts, g.opts.Query, g.limit)
	if err != nil {
		st.set(err)
		g.metrics.evalFailures.WithLabelValues(key).Inc()
		if !errors.As(err, new(promql.ErrQueryCanceled)) {
			g.logger.Warn("Evaluating rule failed", "rule", rule.Name(), "err", err)
		}
		return 0
	}
	st.set(nil)
	if ar, ok := rule.(*AlertingRule); ok {
		if terr := ar.takeTemplateErr(); terr != nil {
			st.setTemplateError(terr)
		}
		if alerts := ar.alertsToSend(ts, g.opts.ResendDelay, g.interval); len(alerts) > 0 && g.opts.Notify != nil {
			g.opts.Notify(ctx, ar.expr.String(), alerts...)
		}
	}
	if err := g.write(i, vector, ts); err != nil {
		st.set(err)
		g.metrics.evalFailures.WithLabelValues(key).Inc()
		g.logger.Warn("Rule sample appending failed", "rule", rule.Name(), "err", err)
	}
	return len(vector)
}

// write appends a rule's results, and staleness markers for the series
// it returned last time but not now.
func (g *Group) write(i int, vector promql.Vector, ts time.Time) error {
	app := g.opts.NewAppender()
	returned := make(map[string]labels.Labels, len(g.seriesInPreviousEval[i]))
	var outOfOrder, duplicates, tooOld, other int
	var firstErr, firstOther error
	for _, s := range vector {
		_, err := app.Append(0, s.Metric, s.T, s.F)
		switch {
		case err == nil:
			returned[string(s.Metric.Bytes(nil))] = s.Metric
			continue
		case errors.Is(err, storage.ErrOutOfOrderSample):
			outOfOrder++
		case errors.Is(err, storage.ErrDuplicateSampleForTimestamp):
			duplicates++
		case errors.Is(err, storage.ErrOutOfBounds), errors.Is(err, storage.ErrTooOldSample):
			tooOld++
		default:
			// Logged once per evaluation below: a failing disk would
			// otherwise log every sample of every rule.
			other++
			if firstOther == nil {
				firstOther = fmt.Errorf("%s: %w", s.Metric, err)
			}
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	if outOfOrder+duplicates+tooOld+other > 0 {
		g.logger.Warn("Rule evaluation results discarded by storage", "out_of_order", outOfOrder, "duplicate", duplicates, "too_old", tooOld, "other", other, "first_other_err", firstOther)
	}
	staleT := ts.Add(-g.queryOffset).UnixMilli()
	for metric, lset := range g.seriesInPreviousEval[i] {
		if _, ok := returned[metric]; !ok {
			// Rejections mean a newer sample exists: nothing to mark.
			_, _ = app.Append(0, lset, staleT, math.Float64frombits(value.StaleNaN))
		}
	}
	if err := app.Commit(); err != nil {
		return err
	}
	g.seriesInPreviousEval[i] = returned
	return firstErr
}

// cleanupStaleSeries marks the series of rules removed on reload as stale.
func (g *Group) cleanupStaleSeries(ts time.Time) {
	if len(g.staleSeries) == 0 {
		return
	}
	app := g.opts.NewAppender()
	t := ts.Add(-g.queryOffset).UnixMilli()
	for _, s := range g.staleSeries {
		_, _ = app.Append(0, s, t, math.Float64frombits(value.StaleNaN))
	}
	if err := app.Commit(); err != nil {
		g.logger.Warn("Stale sample appending for previous configuration failed", "err", err)
		return
	}
	g.staleSeries = nil
}

// markAllStale writes staleness markers for every series the group wrote,
// when the group is gone from the configuration.
func (g *Group) markAllStale(ts time.Time) {
	for _, m := range g.seriesInPreviousEval {
		for _, l := range m {
			g.staleSeries = append(g.staleSeries, l)
		}
	}
	g.seriesInPreviousEval = nil
	g.cleanupStaleSeries(ts)
}

// CopyState takes over the state of the group it replaces on reload: the
// series of rules that stayed (for staleness), the alerts of alerting rules
// that stayed, and the evaluation times. Series of rules that went are
// marked stale at the next evaluation.
//
// The manager calls it on g's goroutine after from's has ended, while the
// rules API may already read g.
func (g *Group) CopyState(from *Group) {
	from.mu.Lock()
	evaluationTime, lastEvaluation := from.evaluationTime, from.lastEvaluation
	from.mu.Unlock()
	g.mu.Lock()
	g.evaluationTime, g.lastEvaluation = evaluationTime, lastEvaluation
	g.mu.Unlock()
	byKey := map[string][]int{}
	for fi, r := range from.rules {
		k := r.Name() + r.Labels().String()
		byKey[k] = append(byKey[k], fi)
	}
	for i, r := range g.rules {
		k := r.Name() + r.Labels().String()
		idx := byKey[k]
		if len(idx) == 0 {
			continue
		}
		fi := idx[0]
		byKey[k] = idx[1:]
		g.seriesInPreviousEval[i] = from.seriesInPreviousEval[fi]
		ar, ok := r.(*AlertingRule)
		far, fok := from.rules[fi].(*AlertingRule)
		if ok && fok {
			far.mu.Lock()
			ar.mu.Lock()
			for h, a := range far.active {
				ar.active[h] = a
			}
			ar.restored = ar.restored || far.restored
			ar.mu.Unlock()
			far.mu.Unlock()
		}
	}
	g.staleSeries = from.staleSeries
	for _, idx := range byKey {
		for _, fi := range idx {
			for _, s := range from.seriesInPreviousEval[fi] {
				g.staleSeries = append(g.staleSeries, s)
			}
		}
	}
}

// RestoreForState sets the ActiveAt of the active alerts from their
// ALERTS_FOR_STATE series, so that an alert that was pending or firing
// before a restart does not start its for duration again. Outages longer
// than OutageTolerance are not bridged; alerts that would fire within
// ForGracePeriod of the restart get that long.
func (g *Group) RestoreForState(ctx context.Context, ts time.Time) {
	start := time.Now()
	defer func() {
		g.metrics.lastRestoreDuration.WithLabelValues(GroupKey(g.file, g.name)).Set(time.Since(start).Seconds())
		g.shouldRestore = false
	}()
	q, err := g.opts.Queryable.Querier(ts.Add(-g.opts.OutageTolerance).UnixMilli(), ts.UnixMilli())
	if err != nil {
		g.logger.Error("Failed to get a querier to restore the for state", "err", err)
		return
	}
	defer q.Close()
	for _, rule := range g.rules {
		ar, ok := rule.(*AlertingRule)
		if !ok {
			continue
		}
		g.restoreRule(ctx, q, ar, ts)
		ar.setRestored()
	}
}

func (g *Group) restoreRule(ctx context.Context, q storage.Querier, ar *AlertingRule, ts time.Time) {
	ss := q.Select(ctx, false, nil, ar.forStateMatchers()...)
	byLabels := map[string]storage.Series{}
	for ss.Next() {
		s := ss.At()
		byLabels[s.Labels().DropReserved(func(n string) bool { return n == labels.MetricName }).String()] = s
	}
	if err := ss.Err(); err != nil {
		g.logger.Error("Failed to restore the for state", "alertname", ar.Name(), "err", err)
		return
	}
	if len(byLabels) == 0 {
		return
	}
	ar.mu.Lock()
	defer ar.mu.Unlock()
	for _, a := range ar.active {
		s, ok := byLabels[a.Labels.String()]
		if !ok {
			continue
		}
		var (
			t int64
			v float64
		)
		it := s.Iterator(nil)
		for it.Next() == chunkenc.ValFloat {
			t, v = it.At()
		}
		if it.Err() != nil || value.IsStaleNaN(v) {
			continue
		}
		at, ok := g.restoredActiveAt(ar.holdDuration, time.Unix(t/1000, 0).UTC(), time.Unix(int64(v), 0).UTC(), ts)
		if !ok {
			continue
		}
		a.ActiveAt = at
		g.logger.Debug("'for' state restored", "alertname", ar.Name(), "restored_time", a.ActiveAt, "labels", a.Labels.String())
	}
}

// restoredActiveAt is Prometheus's rule for the ActiveAt of a restored
// alert that was last seen at downAt, active since activeAt. false means
// the alert keeps the ActiveAt of its evaluations since the restart.
func (g *Group) restoredActiveAt(hold time.Duration, downAt, activeAt, now time.Time) (time.Time, bool) {
	remaining := hold - downAt.Sub(activeAt)
	switch {
	case remaining <= 0:
		// It had fired already: it fires again at once.
		return activeAt, true
	case hold < g.opts.ForGracePeriod:
		// A for shorter than the grace period starts again.
		return time.Time{}, false
	case remaining < g.opts.ForGracePeriod:
		// Give it the grace period before it fires.
		return now.Add(g.opts.ForGracePeriod).Add(-hold), true
	default:
		// The time it was down does not count toward for.
		return activeAt.Add(now.Sub(downAt)), true
	}
}
