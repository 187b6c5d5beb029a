package promql

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	upstream "github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/promql/promqltest"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/stats"
)

// statsDivergence returns why q's sample counts differ from upstream's on
// purpose, or "".
func statsDivergence(q string) string {
	return ""
}

// diffStats runs q on both engines with per-step stats and compares the
// sample counts. Peak samples cannot match: argus streams selectors and
// range functions into their consumer where upstream materialises them
// (and upstream leaves some results out, absent_over_time's for one), so
// only its bounds are checked: above zero where upstream's is, at most the
// engine's limit.
func diffStats(ours, theirs upstream.QueryEngine, st storage.Storage, q string, start, end time.Time, step time.Duration) (counted bool, _ error) {
	ctx := context.Background()
	opts := upstream.NewPrometheusQueryOpts(true, 0, nil)
	run := func(ng upstream.QueryEngine) (*stats.QuerySamples, error, func()) {
		qry, err := newQuery(ctx, ng, st, opts, q, start, end, step)
		if err != nil {
			return nil, err, func() {}
		}
		res := qry.Exec(ctx)
		return qry.Stats().Samples, res.Err, qry.Close
	}
	want, werr, wclose := run(theirs)
	defer wclose()
	got, gerr, gclose := run(ours)
	defer gclose()
	if werr != nil || gerr != nil {
		// Errors are TestDifferential's business; counts of a failed
		// query depend on where it stopped.
		return false, nil
	}
	counted = want.TotalSamples > 0
	var diffs []string
	if want.TotalSamples != got.TotalSamples {
		diffs = append(diffs, fmt.Sprintf("totalQueryableSamples upstream %d, ours %d", want.TotalSamples, got.TotalSamples))
	}
	if want.SamplesRead != got.SamplesRead {
		diffs = append(diffs, fmt.Sprintf("samplesRead upstream %d, ours %d", want.SamplesRead, got.SamplesRead))
	}
	if want.TotalSeries != got.TotalSeries {
		diffs = append(diffs, fmt.Sprintf("seriesTouched upstream %d, ours %d", want.TotalSeries, got.TotalSeries))
	}
	if !slices.Equal(want.TotalSamplesPerStep, got.TotalSamplesPerStep) {
		diffs = append(diffs, fmt.Sprintf("totalQueryableSamplesPerStep upstream %v, ours %v", want.TotalSamplesPerStep, got.TotalSamplesPerStep))
	}
	if !slices.Equal(want.SamplesReadPerStep, got.SamplesReadPerStep) {
		diffs = append(diffs, fmt.Sprintf("samplesReadPerStep upstream %v, ours %v", want.SamplesReadPerStep, got.SamplesReadPerStep))
	}
	if want.StartTimestamp != got.StartTimestamp || (len(want.TotalSamplesPerStep) > 1 && want.Interval != got.Interval) {
		diffs = append(diffs, fmt.Sprintf("per-step grid upstream %d+%d, ours %d+%d", want.StartTimestamp, want.Interval, got.StartTimestamp, got.Interval))
	}
	if (want.PeakSamples > 0 && got.PeakSamples == 0) || got.PeakSamples > statsMaxSamples {
		diffs = append(diffs, fmt.Sprintf("peakSamples upstream %d, ours %d", want.PeakSamples, got.PeakSamples))
	}
	if len(diffs) > 0 {
		return counted, fmt.Errorf("%s", strings.Join(diffs, "; "))
	}
	return counted, nil
}

const statsMaxSamples = 50000000

// statsEngines returns argus's engine and upstream's, both with per-step
// stats enabled.
func statsEngines() (ours, theirs upstream.QueryEngine) {
	ours = upstreamEngine{NewEngine(EngineOpts{
		MaxSamples:               statsMaxSamples,
		Timeout:                  time.Minute,
		NoStepSubqueryIntervalFn: func(int64) int64 { return time.Minute.Milliseconds() },
		Parser:                   parser.NewParser(promqltest.TestParserOpts),
		EnablePerStepStats:       true,
	})}
	theirs = upstream.NewEngine(upstream.EngineOpts{
		MaxSamples:               statsMaxSamples,
		Timeout:                  time.Minute,
		NoStepSubqueryIntervalFn: func(int64) int64 { return time.Minute.Milliseconds() },
		EnableAtModifier:         true,
		EnableNegativeOffset:     true,
		EnablePerStepStats:       true,
		Parser:                   parser.NewParser(promqltest.TestParserOpts),
	})
	return ours, theirs
}

// TestStatsDifferential compares the sample counts of the engine's Stats
// with upstream's for TestDifferential's generated queries, instant and
// range, with per-step counts on.
func TestStatsDifferential(t *testing.T) {
	st := diffData(t, 1)
	defer st.Close()
	ours, theirs := statsEngines()
	g := &queryGen{r: rand.New(rand.NewPCG(*diffSeed, 43))}
	n := *diffN
	if testing.Short() {
		n = 100
	}
	failures, counted := 0, 0
	for i := range n {
		q := g.vector(1 + g.r.IntN(3))
		start := time.Unix(int64(600+g.r.IntN(6000)), 0)
		var step time.Duration
		end := start
		if i%2 == 1 {
			step = time.Duration(15+g.r.IntN(120)) * time.Second
			end = start.Add(time.Duration(g.r.IntN(3600)) * time.Second)
		}
		if knownDivergence(q) != "" || statsDivergence(q) != "" {
			continue
		}
		ok, err := diffStats(ours, theirs, st, q, start, end, step)
		if ok {
			counted++
		}
		if err != nil {
			failures++
			t.Errorf("query %q (start %d, end %d, step %v): %v", q, start.Unix(), end.Unix(), step, err)
			if failures > 20 {
				t.Fatal("too many differences")
			}
		}
	}
	t.Logf("%d of %d queries counted samples", counted, n)
	// Most queries must have counted samples, or the test compares zeros.
	if counted < n/2 {
		t.Errorf("only %d of %d queries counted samples", counted, n)
	}
}

// TestStatsCases compares the sample counts with upstream's for the
// expressions whose counting rules are special: raw range selectors and
// subqueries, subqueries under range functions (nested, with offset and @),
// step-invariant expressions and the extended range selectors.
func TestStatsCases(t *testing.T) {
	st := diffData(t, 1)
	defer st.Close()
	ours, theirs := statsEngines()
	queries := []string{
		`temp`,
		`rate(req_total[5m])`,
		`req_total[5m]`,
		`rate(req_total[5m])[10m:1m]`,
		`max_over_time(rate(req_total[5m])[30m:1m])`,
		`max_over_time(rate(req_total[5m])[30m:1m] offset 7m)`,
		`max_over_time(avg_over_time(temp[5m:30s])[20m:1m] offset 5m)`,
		`max_over_time(temp[10m:1m] @ 3000)`,
		`max_over_time(temp[10m:45s])`,
		`temp @ 3600`,
		`sum_over_time(temp[10m] @ 3600)`,
		`max_over_time((temp @ 3600)[10m:])`,
		`temp - temp @ 3600`,
		`timestamp(temp)`,
		`absent_over_time(nonexistent[5m])`,
		`rate(req_total[5m] smoothed)`,
		`increase(req_total[5m] anchored)`,
		`temp smoothed`,
		`req_total[5m] anchored`,
		// An input aggregated twice is evaluated once in an instant query
		// (cse.go) and still counted twice, as upstream counts it.
		`sum by (job) (rate(req_total[5m])) / ignoring (job) group_left sum(rate(req_total[5m]))`,
		`max(temp) - min(temp) + count(temp @ 3600) + count(temp @ 3600)`,
		`sum(max_over_time(rate(req_total[5m])[10m:1m])) + sum(max_over_time(rate(req_total[5m])[10m:1m]))`,
	}
	for _, q := range queries {
		if statsDivergence(q) != "" {
			continue
		}
		for _, r := range []struct {
			start, end int64
			step       time.Duration
		}{{3000, 3000, 0}, {1800, 5400, 50 * time.Second}, {1800, 5400, 10 * time.Minute}} {
			rangeQ := r.step > 0
			if rangeQ && (strings.HasSuffix(q, "]") || strings.HasSuffix(q, "anchored")) {
				continue // a range vector: instant queries only
			}
			if _, err := diffStats(ours, theirs, st, q, time.Unix(r.start, 0), time.Unix(r.end, 0), r.step); err != nil {
				t.Errorf("query %q (start %d, end %d, step %v): %v", q, r.start, r.end, r.step, err)
			}
		}
	}
}
