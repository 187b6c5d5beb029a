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

func runDifferential(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 7))
	const steps = 40
	ruleDefs := randomRules(rng)
	input := randomInput(rng, steps)
	ctx := context.Background()
	p := parser.NewParser(parser.Options{})

	// argus.
	e := newEnv(t)
	var argusSent []sentAlert
	var argusRules []Rule
	for _, d := range ruleDefs {
		expr, err := p.ParseExpr(d.expr)
		if err != nil {
			t.Fatal(err)
		}
		if d.record {
			argusRules = append(argusRules, NewRecordingRule(d.name, expr, labels.EmptyLabels()))
			continue
		}
		argusRules = append(argusRules, NewAlertingRule(AlertingRuleOptions{Name: d.name, Expr: expr, For: d.hold, KeepFiringFor: d.keep,
			Labels: labels.FromMap(d.labels), Annotations: labels.FromMap(d.annos), Restored: true}))
	}
	opts := e.m.opts
	opts.Notify = func(_ context.Context, _ string, as ...*Alert) {
		for _, a := range as {
			end := a.ValidUntil
			if !a.ResolvedAt.IsZero() {
				end = a.ResolvedAt
			}
			argusSent = append(argusSent, sentAlert{a.Labels.String(), a.Annotations.String(), a.FiredAt, end, a.ResolvedAt, a.FiredAt})
		}
	}
	ag := newGroup(GroupOptions{Name: "g", File: "f", Interval: time.Minute, Rules: argusRules}, &opts, e.m.metrics)

	// upstream.
	st := teststorage.New(t)
	ng := uppromql.NewEngine(uppromql.EngineOpts{MaxSamples: 1e6, Timeout: time.Minute, EnableDelayedNameRemoval: true})
	var upSent []sentAlert
	var upRules []uprules.Rule
	for _, d := range ruleDefs {
		expr, _ := p.ParseExpr(d.expr)
		if d.record {
			upRules = append(upRules, uprules.NewRecordingRule(d.name, expr, labels.EmptyLabels()))
			continue
		}
		upRules = append(upRules, uprules.NewAlertingRule(d.name, expr, d.hold, d.keep, labels.FromMap(d.labels), labels.FromMap(d.annos),
			labels.EmptyLabels(), "", true, nil))
	}
	ug := uprules.NewGroup(uprules.GroupOptions{Name: "g", File: "f", Interval: time.Minute, Rules: upRules, Opts: &uprules.ManagerOptions{
		QueryFunc: uprules.EngineQueryFunc(ng, st), AppendableV2: st, Queryable: st, Context: ctx, ResendDelay: time.Minute,
		NotifyFunc: func(_ context.Context, _ string, as ...*uprules.Alert) {
			for _, a := range as {
				end := a.ValidUntil
				if !a.ResolvedAt.IsZero() {
					end = a.ResolvedAt
				}
				upSent = append(upSent, sentAlert{a.Labels.String(), a.Annotations.String(), a.FiredAt, end, a.ResolvedAt, a.FiredAt})
			}
		},
	}})

	for step := range steps {
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
		ag.Eval(ctx, ts)
		ug.Eval(ctx, ts)

		for i, r := range argusRules {
			ar, ok := r.(*AlertingRule)
			if !ok {
				continue
			}
			got, want := argusAlerts(ar), upstreamAlerts(upRules[i].(*uprules.AlertingRule))
			if got != want {
				t.Fatalf("step %d, rule %s (for %v, keep_firing_for %v): alerts differ\nargus:\n%s\nupstream:\n%s\ninput: %v", step, ar.Name(), ar.holdDuration, ar.keepFiringFor, got, want, input)
			}
			if r.Health() != Health(upRules[i].Health()) {
				t.Fatalf("step %d, rule %s: health %s, upstream %s", step, r.Name(), r.Health(), upRules[i].Health())
			}
		}
		// Both send a step's alerts in map order.
		key := func(a sentAlert) string { return fmt.Sprint(a) }
		slices.SortFunc(argusSent, func(a, b sentAlert) int { return strings.Compare(key(a), key(b)) })
		slices.SortFunc(upSent, func(a, b sentAlert) int { return strings.Compare(key(a), key(b)) })
		if !slices.Equal(argusSent, upSent) {
			t.Fatalf("step %d: sent alerts differ\nargus:    %v\nupstream: %v", step, argusSent, upSent)
		}
		argusSent, upSent = nil, nil
		for _, q := range []string{"x:doubled", "y:max", "ALERTS", "ALERTS_FOR_STATE"} {
			got := e.query(q, ts.Sub(e.base))
			want := upstreamQuery(t, ng, st, q, ts)
			if got != want {
				t.Fatalf("step %d: %s differs\nargus:\n%s\nupstream:\n%s", step, q, got, want)
			}
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
