package promql

import (
	"context"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	upstream "github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/promql/promqltest"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/almost"
	"github.com/prometheus/prometheus/util/teststorage"
)

// The differential tests compare the engine with upstream's on the same
// data for generated queries: values must agree within 1e-6 (relative), and
// both must fail or neither.

const diffEpsilon = 1e-6

var (
	diffN    = flag.Int("diff.n", 600, "number of queries TestDifferential runs")
	diffSeed = flag.Uint64("diff.seed", 42, "seed of TestDifferential's query generator")
)

// diffData loads deterministic pseudo-random series: counters with resets,
// gauges with NaN, gaps and stale markers, over 2 hours at a 15s-ish interval.
func diffData(t testing.TB, seed uint64) storage.Storage {
	st := teststorage.New(t)
	rng := rand.New(rand.NewPCG(seed, 7))
	app := st.AppenderV2(context.Background())
	for _, job := range []string{"api", "db", "web"} {
		for inst := range 3 {
			for _, name := range []string{"req_total", "temp", "up"} {
				lbls := labels.FromStrings("__name__", name, "job", job, "instance", fmt.Sprintf("i%d", inst), "le", []string{"0.1", "1", "+Inf"}[inst])
				v := rng.Float64() * 10
				for ts := int64(0); ts < 2*3600*1000; ts += 15000 + rng.Int64N(2000) {
					switch {
					case rng.IntN(50) == 0:
						continue // gap
					case rng.IntN(200) == 0:
						if _, err := app.Append(0, lbls, 0, ts, math.Float64frombits(value.StaleNaN), nil, nil, storage.AppendV2Options{}); err != nil {
							t.Fatal(err)
						}
						continue
					}
					switch name {
					case "req_total":
						v += rng.Float64() * 5
						if rng.IntN(100) == 0 {
							v = 0
						}
					case "temp":
						v = rng.NormFloat64()*20 + 40
						if rng.IntN(300) == 0 {
							v = math.NaN()
						}
					case "up":
						v = float64(rng.IntN(2))
					}
					if _, err := app.Append(0, lbls, 0, ts, v, nil, nil, storage.AppendV2Options{}); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	return st
}

// queryGen generates random PromQL expressions over the diffData series.
type queryGen struct {
	r *rand.Rand
}

func (g *queryGen) pick(opts ...string) string { return opts[g.r.IntN(len(opts))] }

func (g *queryGen) selector() string {
	s := g.pick("req_total", "temp", "up", `{__name__=~"temp|up"}`, `req_total{job="api"}`, `temp{instance!="i1"}`, `up{job=~"db|web"}`)
	if g.r.IntN(6) == 0 {
		s += " offset " + g.pick("1m", "5m", "-2m", "30s")
	}
	if g.r.IntN(10) == 0 {
		s += " @ " + g.pick("3600", "start()", "end()", "1800.5")
	}
	return s
}

func (g *queryGen) rangeSel() string {
	if g.r.IntN(5) == 0 {
		return "(" + g.vector(1) + ")[" + g.pick("10m", "5m", "30m") + ":" + g.pick("", "1m", "45s") + "]"
	}
	sel := g.pick("req_total", "temp", "up", `req_total{job!="db"}`)
	return sel + "[" + g.pick("1m", "5m", "10m", "2m30s", "1h") + "]"
}

func (g *queryGen) scalar(depth int) string {
	switch g.r.IntN(5) {
	case 0:
		return g.pick("1", "0.5", "2", "-1", "100", "0")
	case 1:
		if depth > 0 {
			return "scalar(" + g.vector(depth-1) + ")"
		}
	case 2:
		return "time()"
	}
	return g.pick("3", "0.25", "10")
}

func (g *queryGen) grouping() string {
	switch g.r.IntN(4) {
	case 0:
		return ""
	case 1:
		return " by (" + g.pick("job", "instance", "job, instance", "__name__", "le") + ")"
	case 2:
		return " without (" + g.pick("job", "instance", "le") + ")"
	}
	return " by ()"
}

func (g *queryGen) vector(depth int) string {
	if depth <= 0 {
		return g.selector()
	}
	switch g.r.IntN(12) {
	case 0:
		return g.selector()
	case 1, 2:
		fn := g.pick("rate", "increase", "delta", "irate", "idelta", "avg_over_time", "sum_over_time", "min_over_time",
			"max_over_time", "count_over_time", "last_over_time", "stddev_over_time", "stdvar_over_time", "changes",
			"resets", "deriv", "present_over_time", "first_over_time", "mad_over_time", "ts_of_max_over_time")
		return fn + "(" + g.rangeSel() + ")"
	case 3:
		switch g.r.IntN(4) {
		case 0:
			return "quantile_over_time(" + g.pick("0.5", "0.9", "0", "1") + ", " + g.rangeSel() + ")"
		case 1:
			return "predict_linear(" + g.rangeSel() + ", " + g.pick("60", "3600") + ")"
		case 2:
			return "double_exponential_smoothing(" + g.rangeSel() + ", 0.5, 0.3)"
		}
		return "absent_over_time(" + g.rangeSel() + ")"
	case 4, 5:
		op := g.pick("sum", "avg", "min", "max", "count", "group", "stddev", "stdvar")
		return op + g.grouping() + " (" + g.vector(depth-1) + ")"
	case 6:
		op := g.pick("topk", "bottomk", "limitk", "quantile", "limit_ratio")
		p := g.pick("1", "2", "0.5", "5")
		if op == "limit_ratio" {
			p = g.pick("0.5", "-0.5", "1")
		}
		// Over inputs whose series order upstream leaves to map iteration,
		// ties make upstream's own choice random: use selectors and range
		// functions of selectors only.
		in := g.selector()
		if g.r.IntN(2) == 0 {
			in = "rate(" + g.pick("req_total", "temp") + "[5m])"
		}
		return op + g.grouping() + " (" + p + ", " + in + ")"
	case 7, 8:
		op := g.pick("+", "-", "*", "/", "%", "^", "==", "!=", ">", "<", ">=", "<=", "and", "or", "unless", "atan2")
		if op == "and" || op == "or" || op == "unless" {
			return "(" + g.vector(depth-1) + ") " + op + g.pick("", " on(job)", " ignoring(le)", " on(instance, job)") + " (" + g.vector(depth-1) + ")"
		}
		boolMod := ""
		if strings.ContainsAny(op, "=<>") && g.r.IntN(2) == 0 {
			boolMod = " bool"
		}
		switch g.r.IntN(3) {
		case 0:
			return "(" + g.vector(depth-1) + ") " + op + boolMod + " " + g.scalar(depth-1)
		case 1:
			return g.scalar(depth-1) + " " + op + boolMod + " (" + g.vector(depth-1) + ")"
		}
		match := g.pick("", " on(job, instance)", " ignoring(__name__)", " on(job) group_left", " ignoring(le) group_left(le)")
		return "(" + g.vector(depth-1) + ") " + op + boolMod + match + " (" + g.vector(depth-1) + ")"
	case 9:
		fn := g.pick("abs", "ceil", "floor", "exp", "sqrt", "ln", "log2", "sgn", "sin", "timestamp", "sort", "sort_desc", "absent", "hour", "day_of_week")
		return fn + "(" + g.vector(depth-1) + ")"
	case 10:
		switch g.r.IntN(5) {
		case 0:
			return "clamp(" + g.vector(depth-1) + ", 1, 20)"
		case 1:
			return `label_replace(` + g.vector(depth-1) + `, "dst", "$1", "instance", "i(.*)")`
		case 2:
			return "round(" + g.vector(depth-1) + ", 0.5)"
		case 3:
			return `label_join(` + g.vector(depth-1) + `, "jl", "-", "job", "instance")`
		}
		return "histogram_quantile(" + g.pick("0.5", "0.9") + ", sum by (le) (rate(req_total[5m])))"
	}
	// count_values prints values into labels: its input must not depend on
	// upstream's map iteration order, which changes float rounding.
	return "count_values" + g.grouping() + ` ("value", ` + g.selector() + ")"
}

var timestampAtOffset = regexp.MustCompile(`timestamp\([^()]*(offset[^()]*@|@[^()]*offset)`)

// knownDivergence returns why q's result differs from upstream's on purpose,
// or "".
func knownDivergence(q string) string {
	if timestampAtOffset.MatchString(q) {
		// Upstream's timestamp() over a selector with @ drops the selector's
		// offset (and its querier range then misses the samples); argus
		// applies the offset as everywhere else.
		return "timestamp() of a selector with both @ and offset"
	}
	return ""
}

func newUpstreamEngine(delayed bool) *upstream.Engine {
	return upstream.NewEngine(upstream.EngineOpts{
		MaxSamples:               50000000,
		Timeout:                  time.Minute,
		NoStepSubqueryIntervalFn: func(int64) int64 { return time.Minute.Milliseconds() },
		EnableAtModifier:         true,
		EnableNegativeOffset:     true,
		EnableDelayedNameRemoval: delayed,
		Parser:                   parser.NewParser(promqltest.TestParserOpts),
	})
}

// newQuery prepares q on ng: an instant query at start when step is 0, a
// range query otherwise.
func newQuery(ctx context.Context, ng upstream.QueryEngine, st storage.Queryable, opts upstream.QueryOpts, q string, start, end time.Time, step time.Duration) (upstream.Query, error) {
	if step == 0 {
		return ng.NewInstantQuery(ctx, st, opts, q, start)
	}
	return ng.NewRangeQuery(ctx, st, opts, q, start, end, step)
}

// diffQuery runs q on both engines as an instant query at ts (end == start)
// or a range query, and reports the first difference.
func diffQuery(ours upstream.QueryEngine, theirs upstream.QueryEngine, st storage.Storage, q string, start, end time.Time, step time.Duration) error {
	_, err := diffQueryStorages(ours, theirs, st, st, q, start, end, step)
	return err
}

// diffQueryStorages is diffQuery with our engine reading oursSt and
// upstream's reading st, which hold the same data. answered reports that
// upstream's answer was a success and not empty, so that callers can check
// they compare more than failures and empty results.
func diffQueryStorages(ours upstream.QueryEngine, theirs upstream.QueryEngine, oursSt, st storage.Storage, q string, start, end time.Time, step time.Duration) (answered bool, _ error) {
	ctx := context.Background()
	var closers []func()
	defer func() {
		for _, c := range closers {
			c()
		}
	}()
	run := func(ng upstream.QueryEngine, st storage.Storage) (*upstream.Result, error) {
		qry, err := newQuery(ctx, ng, st, nil, q, start, end, step)
		if err != nil {
			return nil, err
		}
		// Closed only after the comparison: upstream's Close returns the
		// result's slices to pools that concurrent queries take from.
		closers = append(closers, qry.Close)
		return qry.Exec(ctx), nil
	}

	want, werr := run(theirs, st)
	got, gerr := run(ours, oursSt)
	if (werr == nil) != (gerr == nil) {
		return false, fmt.Errorf("query creation: upstream error %v, ours %v", werr, gerr)
	}
	if werr != nil {
		if !sameError(werr, gerr) {
			return false, fmt.Errorf("query creation errors differ: upstream %q, ours %q", werr, gerr)
		}
		return false, nil
	}
	if (want.Err == nil) != (got.Err == nil) {
		return false, fmt.Errorf("upstream error %v, ours %v", want.Err, got.Err)
	}
	if want.Err != nil {
		if !sameError(want.Err, got.Err) {
			return false, fmt.Errorf("errors differ: upstream %q, ours %q", want.Err, got.Err)
		}
		return false, nil
	}
	switch v := want.Value.(type) {
	case upstream.Matrix:
		answered = len(v) > 0
	case upstream.Vector:
		answered = len(v) > 0
	default:
		answered = true
	}
	if err := compareValues(want.Value, got.Value); err != nil {
		return answered, err
	}
	ww, wi := comparableAnnotations(want.Warnings.AsStrings(q, 0, 0))
	gw, gi := comparableAnnotations(got.Warnings.AsStrings(q, 0, 0))
	slices.Sort(ww)
	slices.Sort(gw)
	slices.Sort(wi)
	slices.Sort(gi)
	if !slices.Equal(ww, gw) || !slices.Equal(wi, gi) {
		return answered, fmt.Errorf("annotations differ: upstream %q %q, ours %q %q", ww, wi, gw, gi)
	}
	return answered, nil
}

// labelSetsRE matches the label sets and lists of them in error messages.
var labelSetsRE = regexp.MustCompile(`\{[^{}]*\}|\[[^\[\]]*\]`)

// sameError reports whether two engines' errors say the same. Errors about
// duplicate series name the first group found, which upstream finds in map
// order: for those, the label sets are not compared.
func sameError(a, b error) bool {
	if a.Error() == b.Error() {
		return true
	}
	if !strings.HasPrefix(a.Error(), "found duplicate series") {
		return false
	}
	return labelSetsRE.ReplaceAllString(a.Error(), "{}") == labelSetsRE.ReplaceAllString(b.Error(), "{}")
}

// comparableAnnotations drops the forced-monotonicity info of
// histogram_quantile, whose sample count upstream reports wrongly when it
// merges annotations of many steps.
func comparableAnnotations(warnings, infos []string) ([]string, []string) {
	infos = slices.DeleteFunc(infos, func(s string) bool {
		return strings.Contains(s, "needed to be fixed for monotonicity")
	})
	return warnings, infos
}

func floatsEqual(a, b float64) bool {
	return almost.Equal(a, b, diffEpsilon) || (value.IsStaleNaN(a) && value.IsStaleNaN(b))
}

func compareValues(want, got parser.Value) error {
	switch w := want.(type) {
	case upstream.Scalar:
		g, ok := got.(upstream.Scalar)
		if !ok || g.T != w.T || !floatsEqual(w.V, g.V) {
			return fmt.Errorf("scalar: upstream %v, ours %v", want, got)
		}
	case upstream.String:
		if got != want {
			return fmt.Errorf("string: upstream %v, ours %v", want, got)
		}
	case upstream.Vector:
		g, ok := got.(upstream.Vector)
		if !ok || len(g) != len(w) {
			return fmt.Errorf("vector: upstream\n%v\nours\n%v", want, got)
		}
		bySig := map[uint64]upstream.Sample{}
		for _, s := range w {
			bySig[s.Metric.Hash()] = s
		}
		for _, s := range g {
			ws, ok := bySig[s.Metric.Hash()]
			if !ok || ws.T != s.T || !floatsEqual(ws.F, s.F) || ws.H != nil {
				return fmt.Errorf("vector sample %v: upstream\n%v\nours\n%v", s.Metric, want, got)
			}
		}
	case upstream.Matrix:
		g, ok := got.(upstream.Matrix)
		if !ok || len(g) != len(w) {
			return fmt.Errorf("matrix: upstream %d series, ours %v", len(w), got)
		}
		for i := range w {
			if labels.Compare(w[i].Metric, g[i].Metric) != 0 || len(w[i].Floats) != len(g[i].Floats) || len(w[i].Histograms) > 0 {
				return fmt.Errorf("matrix series %d: upstream %v\nours %v", i, w[i], g[i])
			}
			for j := range w[i].Floats {
				if w[i].Floats[j].T != g[i].Floats[j].T || !floatsEqual(w[i].Floats[j].F, g[i].Floats[j].F) {
					return fmt.Errorf("matrix series %v point %d: upstream %v, ours %v", w[i].Metric, j, w[i].Floats[j], g[i].Floats[j])
				}
			}
		}
	default:
		return fmt.Errorf("unexpected upstream value %T", want)
	}
	return nil
}

// TestDifferential compares the engine with upstream's for generated
// queries, instant and range. -run TestDifferential -diff.n raises the count.
func TestDifferential(t *testing.T) {
	st := diffData(t, 1)
	defer st.Close()
	// Every query runs with __name__ removed at once (the default) and
	// with delayed removal, each against upstream in the same mode.
	modes := []struct {
		name   string
		ours   upstream.QueryEngine
		theirs upstream.QueryEngine
	}{
		{"immediate", upstreamEngine{newTestEngine(false)}, newUpstreamEngine(false)},
		{"delayed", upstreamEngine{newTestEngine(true)}, newUpstreamEngine(true)},
	}
	g := &queryGen{r: rand.New(rand.NewPCG(*diffSeed, 42))}
	n := *diffN
	if testing.Short() {
		n = 100
	}
	failures := 0
	for i := range n {
		q := g.vector(1 + g.r.IntN(3))
		start := time.Unix(int64(600+g.r.IntN(6000)), 0)
		var step time.Duration
		end := start
		if i%2 == 1 {
			step = time.Duration(15+g.r.IntN(120)) * time.Second
			end = start.Add(time.Duration(g.r.IntN(3600)) * time.Second)
		}
		if knownDivergence(q) != "" {
			continue
		}
		for _, m := range modes {
			if err := diffQuery(m.ours, m.theirs, st, q, start, end, step); err != nil {
				failures++
				t.Errorf("%s name removal: query %q (start %d, end %d, step %v): %v", m.name, q, start.Unix(), end.Unix(), step, err)
				if failures > 20 {
					t.Fatal("too many differences")
				}
			}
		}
	}
}

// FuzzDifferential compares the engines on the query the fuzzer generates
// from its seed; the corpus lives in testdata/fuzz/FuzzDifferential.
func FuzzDifferential(f *testing.F) {
	for i := range uint64(8) {
		f.Add(i, int64(3600), int64(60))
	}
	st := diffData(f, 1)
	ours := [2]upstream.QueryEngine{upstreamEngine{newTestEngine(false)}, upstreamEngine{newTestEngine(true)}}
	theirs := [2]upstream.QueryEngine{newUpstreamEngine(false), newUpstreamEngine(true)}
	f.Fuzz(func(t *testing.T, seed uint64, startSec, stepSec int64) {
		g := &queryGen{r: rand.New(rand.NewPCG(seed, seed>>32))}
		q := g.vector(1 + g.r.IntN(3))
		start := time.Unix(startSec%8000, 0)
		var step time.Duration
		end := start
		if stepSec > 0 {
			step = time.Duration(stepSec%600+1) * time.Second
			end = start.Add(time.Hour)
		}
		if knownDivergence(q) != "" {
			t.Skip(knownDivergence(q))
		}
		for i, mode := range []string{"immediate", "delayed"} {
			if err := diffQuery(ours[i], theirs[i], st, q, start, end, step); err != nil {
				t.Errorf("%s name removal: query %q (start %d, step %v): %v", mode, q, start.Unix(), step, err)
			}
		}
	})
}
