package rules

import (
	"context"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	uppromql "github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	uprules "github.com/prometheus/prometheus/rules"
	"github.com/prometheus/prometheus/util/teststorage"
)

var diffRuns = flag.Int("rules.diff.n", 25, "random scenarios of TestDifferentialAgainstUpstream")

// TestDifferentialAgainstUpstream evaluates the same rules over the same
// random series with argus's rule manager (on argus's engine and storage)
// and with upstream Prometheus's (on its engine and test storage), a step
// at a time, and compares everything observable: the alerts with their
// state, times, labels and annotations; the alerts sent; and the series
// the rules write (recorded series, ALERTS, ALERTS_FOR_STATE, staleness).
func TestDifferentialAgainstUpstream(t *testing.T) {
	for seed := range uint64(*diffRuns) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { runDifferential(t, seed) })
	}
}

type diffRule struct {
	name, expr    string
	hold, keep    time.Duration
	labels, annos map[string]string
	record        bool
}

func randomRules(rng *rand.Rand) []diffRule {
	durs := []time.Duration{0, time.Minute, 2 * time.Minute, 5 * time.Minute}
	keeps := []time.Duration{0, 0, time.Minute, 3 * time.Minute}
	return []diffRule{
		{name: "x:doubled", expr: "x * 2", record: true},
		{name: "X", expr: "x > 0", hold: durs[rng.IntN(len(durs))], keep: keeps[rng.IntN(len(keeps))],
			labels: map[string]string{"sev": `{{ if gt $value 1.0 }}high{{ else }}low{{ end }}`},
			annos:  map[string]string{"v": "{{ $value }} on {{ $labels.i }}", "h": "{{ humanize $value }}"}},
		{name: "Sum", expr: "sum(x) > 1", hold: durs[rng.IntN(len(durs))], keep: keeps[rng.IntN(len(keeps))],
			annos: map[string]string{"q": `{{ with query "count(x)" }}{{ . | first | value }}{{ end }}`}},
		{name: "y:max", expr: "max by (i) (x)", record: true},
	}
}

// step is one minute of input: per series a value, a gap (NaN) or a
// staleness marker.
func randomInput(rng *rand.Rand, steps int) [][]float64 {
	in := make([][]float64, 3)
	for i := range in {
		for range steps {
			var v float64
			switch r := rng.IntN(10); {
			case r < 4:
				v = 0
			case r < 7:
				v = 1
			case r < 8:
				v = 2
			case r < 9:
				v = math.NaN() // no sample
			default:
				v = math.Float64frombits(value.StaleNaN)
			}
			in[i] = append(in[i], v)
		}
	}
	return in
}

type sentAlert struct {
	labels, annos     string
	startsAt, endsAt  time.Time
	resolvedAt, fired time.Time
}

// diffPair is the same group in argus and upstream, with what each sent.
type diffPair struct {
	argus    *Group
	upstream *uprules.Group
	upRules  []uprules.Rule
	argSent  []sentAlert
	upSent   []sentAlert
}

// newPair builds the group in both. restored false makes the alerting
// rules wait for a for-state restore, as after a restart.
func newPair(t testing.TB, e *env, st *teststorage.TestStorage, ng *uppromql.Engine, defs []diffRule, restored bool, limit int, offset time.Duration) *diffPair {
	ctx := context.Background()
	p := parser.NewParser(parser.Options{})
	d := &diffPair{}
	var argusRules []Rule
	for _, r := range defs {
		expr, err := p.ParseExpr(r.expr)
		if err != nil {
			t.Fatal(err)
		}
		if r.record {
			argusRules = append(argusRules, NewRecordingRule(r.name, expr, labels.EmptyLabels()))
			d.upRules = append(d.upRules, uprules.NewRecordingRule(r.name, expr, labels.EmptyLabels()))
			continue
		}
		argusRules = append(argusRules, NewAlertingRule(AlertingRuleOptions{Name: r.name, Expr: expr, For: r.hold, KeepFiringFor: r.keep,
			Labels: labels.FromMap(r.labels), Annotations: labels.FromMap(r.annos), Restored: restored}))
		d.upRules = append(d.upRules, uprules.NewAlertingRule(r.name, expr, r.hold, r.keep, labels.FromMap(r.labels), labels.FromMap(r.annos),
			labels.EmptyLabels(), "", restored, nil))
	}
	opts := e.m.opts
	opts.Notify = func(_ context.Context, _ string, as ...*Alert) {
		for _, a := range as {
			end := a.ValidUntil
			if !a.ResolvedAt.IsZero() {
				end = a.ResolvedAt
			}
			d.argSent = append(d.argSent, sentAlert{a.Labels.String(), a.Annotations.String(), a.FiredAt, end, a.ResolvedAt, a.FiredAt})
		}
	}
	d.argus = newGroup(GroupOptions{Name: "g", File: "f", Interval: time.Minute, Rules: argusRules, Limit: limit, QueryOffset: offset}, &opts, e.m.metrics)
	d.upstream = uprules.NewGroup(uprules.GroupOptions{Name: "g", File: "f", Interval: time.Minute, Rules: d.upRules, Limit: limit, QueryOffset: &offset, Opts: &uprules.ManagerOptions{
		QueryFunc: uprules.EngineQueryFunc(ng, st), AppendableV2: st, Queryable: st, Context: ctx, ResendDelay: time.Minute,
		OutageTolerance: opts.OutageTolerance, ForGracePeriod: opts.ForGracePeriod,
		NotifyFunc: func(_ context.Context, _ string, as ...*uprules.Alert) {
			for _, a := range as {
				end := a.ValidUntil
				if !a.ResolvedAt.IsZero() {
					end = a.ResolvedAt
				}
				d.upSent = append(d.upSent, sentAlert{a.Labels.String(), a.Annotations.String(), a.FiredAt, end, a.ResolvedAt, a.FiredAt})
			}
		},
	}})
	return d
}

func runDifferential(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 7))
	const before, after = 40, 12
	// A restart after step 40: argus and Prometheus are down for a while
	// (no samples, no evaluations), then restore the for state.
	down := rng.IntN(15)
	ruleDefs := randomRules(rng)
	input := randomInput(rng, before+down+after)
	ctx := context.Background()
	e := newEnv(t)
	// Short periods, so that every branch of the restore is taken.
	e.m.opts.ForGracePeriod = time.Duration(rng.IntN(4)) * time.Minute
	e.m.opts.OutageTolerance = time.Duration(5+rng.IntN(20)) * time.Minute
	st := teststorage.New(t)
	ng := uppromql.NewEngine(uppromql.EngineOpts{MaxSamples: 1e6, Timeout: time.Minute, EnableDelayedNameRemoval: true})
	// Sometimes a limit that rules exceed, sometimes a query offset.
	limit := []int{0, 0, 2, 3}[rng.IntN(4)]
	offset := []time.Duration{0, 0, 30 * time.Second, 70 * time.Second}[rng.IntN(4)]
	d := newPair(t, e, st, ng, ruleDefs, true, limit, offset)
	evals := 0
	for step := range before + down + after {
		if step >= before && step < before+down {
			continue
		}
		if step == before+down {
			d = newPair(t, e, st, ng, ruleDefs, false, limit, offset)
			evals = 0
		}
		ts := e.base.Add(time.Duration(step) * time.Minute)
		sampleT := ts.Add(-10 * time.Second)
		app := st.Appender(ctx)
		for i, vals := range input {
			v := vals[step]
			if math.IsNaN(v) && !value.IsStaleNaN(v) {
				continue
			}
			lset := labels.FromStrings("__name__", "x", "i", fmt.Sprint(i))
			e.add(lset.String(), sampleT.Sub(e.base), v)
			if _, err := app.Append(0, lset, sampleT.UnixMilli(), v); err != nil {
				t.Fatal(err)
			}
		}
		if err := app.Commit(); err != nil {
			t.Fatal(err)
		}
		d.argus.Eval(ctx, ts)
		d.upstream.Eval(ctx, ts)
		evals++
		if step >= before+down && evals == 2 {
			// As both do after the second evaluation since the start.
			d.argus.RestoreForState(ctx, ts)
			d.upstream.RestoreForState(ts)
		}
		d.compare(t, e, st, ng, step, ts, input)
	}
}

// compare checks everything observable after one step.
func (d *diffPair) compare(t *testing.T, e *env, st *teststorage.TestStorage, ng *uppromql.Engine, step int, ts time.Time, input [][]float64) {
	t.Helper()
	for i, r := range d.argus.Rules() {
		if r.Health() == HealthBad && fmt.Sprint(r.LastError()) != fmt.Sprint(d.upRules[i].LastError()) {
			t.Fatalf("step %d, rule %s: error %v, upstream %v", step, r.Name(), r.LastError(), d.upRules[i].LastError())
		}
		ar, ok := r.(*AlertingRule)
		if !ok {
			continue
		}
		got, want := argusAlerts(ar), upstreamAlerts(d.upRules[i].(*uprules.AlertingRule))
		if got != want {
			t.Fatalf("step %d, rule %s (for %v, keep_firing_for %v): alerts differ\nargus:\n%s\nupstream:\n%s\ninput: %v", step, ar.Name(), ar.holdDuration, ar.keepFiringFor, got, want, input)
		}
		if r.Health() != Health(d.upRules[i].Health()) {
			t.Fatalf("step %d, rule %s: health %s, upstream %s", step, r.Name(), r.Health(), d.upRules[i].Health())
		}
	}
	// Both send a step's alerts in map order.
	key := func(a sentAlert) string { return fmt.Sprint(a) }
	slices.SortFunc(d.argSent, func(a, b sentAlert) int { return strings.Compare(key(a), key(b)) })
	slices.SortFunc(d.upSent, func(a, b sentAlert) int { return strings.Compare(key(a), key(b)) })
	if !slices.Equal(d.argSent, d.upSent) {
		t.Fatalf("step %d: sent alerts differ\nargus:    %v\nupstream: %v", step, d.argSent, d.upSent)
	}
	d.argSent, d.upSent = nil, nil
	for _, q := range []string{"x:doubled", "y:max", "ALERTS", "ALERTS_FOR_STATE"} {
		got := e.query(q, ts.Sub(e.base))
		want := upstreamQuery(t, ng, st, q, ts)
		if got != want {
			t.Fatalf("step %d: %s differs\nargus:\n%s\nupstream:\n%s", step, q, got, want)
		}
	}
}

func argusAlerts(r *AlertingRule) string {
	var out []string
	for _, a := range r.ActiveAlerts() {
		out = append(out, fmt.Sprintf("%s %s %s active=%v fired=%v keep=%v value=%v", a.Labels, a.Annotations, a.State, a.ActiveAt.Unix(), a.FiredAt.Unix(), a.KeepFiringSince.Unix(), a.Value))
	}
	slices.Sort(out)
	return strings.Join(out, "\n")
}

func upstreamAlerts(r *uprules.AlertingRule) string {
	var out []string
	for _, a := range r.ActiveAlerts() {
		out = append(out, fmt.Sprintf("%s %s %s active=%v fired=%v keep=%v value=%v", a.Labels, a.Annotations, a.State, a.ActiveAt.Unix(), a.FiredAt.Unix(), a.KeepFiringSince.Unix(), a.Value))
	}
	slices.Sort(out)
	return strings.Join(out, "\n")
}

func upstreamQuery(t *testing.T, ng *uppromql.Engine, st *teststorage.TestStorage, qs string, ts time.Time) string {
	t.Helper()
	v, err := uprules.EngineQueryFunc(ng, st)(context.Background(), qs, ts)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range v {
		out = append(out, s.Metric.String()+" "+formatFloat(s.F))
	}
	return strings.Join(sorted(out), "\n")
}
