package promql

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	upstream "github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/storage"

	"github.com/argus-mon/argus/internal/tsdb"
)

// partsQueryable is countingQueryable offering the storage's split
// selections too, counting those it split for reading in parallel.
type partsQueryable struct {
	countingQueryable
	split *int
}

func (p partsQueryable) Querier(mint, maxt int64) (storage.Querier, error) {
	q, err := p.countingQueryable.Querier(mint, maxt)
	if err != nil {
		return nil, err
	}
	cq := q.(countingQuerier)
	return partsQuerier{cq, cq.Querier.(partsSelecter), p.split}, nil
}

type partsQuerier struct {
	countingQuerier
	ps    partsSelecter
	split *int
}

func (p partsQuerier) SelectReusingParts(ctx context.Context, hints *storage.SelectHints, n, minSeries int, ms ...*labels.Matcher) []storage.SeriesSet {
	sets := p.ps.SelectReusingParts(ctx, hints, n, minSeries, ms...)
	if len(sets) > 1 {
		*p.split++
	}
	return sets
}

// TestParallelReads checks instant aggregations whose input is read on
// several goroutines against the upstream engine: the same answers, the
// same annotations, the same sample and series counts.
func TestParallelReads(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(3))
	db, err := tsdb.Open(context.Background(), t.TempDir(), tsdb.Options{FlushInterval: 1000 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const start = int64(1_700_000_000_000)
	for s := int64(0); s < 60; s++ {
		app := db.Appender()
		for i := range 700 {
			job, inst := fmt.Sprintf("job-%d", i%9), fmt.Sprintf("host-%03d", i)
			v := float64(s * int64(i%13+1))
			if i%50 == 7 && s > 30 {
				v = float64(s) // a counter reset
			}
			for _, l := range []labels.Labels{
				labels.FromStrings("__name__", "reqs_total", "job", job, "instance", inst),
				labels.FromStrings("__name__", "load", "job", job, "instance", inst),
			} {
				if _, err := app.Append(0, l, start+s*15_000, v); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := app.Commit(); err != nil {
			t.Fatal(err)
		}
		if s == 25 {
			// Part of the window in a head part, the rest in open chunks.
			if err := db.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	split, reusedParallel := 0, 0
	q := partsQueryable{countingQueryable{db: db, reused: &reusedParallel}, &split}
	ours := upstreamEngine{NewEngine(EngineOpts{MaxSamples: 1e6, Timeout: time.Minute})}
	theirs := upstream.NewEngine(upstream.EngineOpts{MaxSamples: 1e6, Timeout: time.Minute, LookbackDelta: 5 * time.Minute})
	at := time.UnixMilli(start + 59*15_000)
	for _, qs := range []string{
		`sum by (job) (rate(reqs_total[5m]))`,
		`count(increase(reqs_total[10m]))`,
		`avg without (instance) (max_over_time(load[3m]))`,
		// load does not look like a counter: an info per query, as upstream.
		`sum(rate(load[5m]))`,
		`sum by (job) (rate(reqs_total[5m])) / ignoring (job) group_left sum(rate(reqs_total[5m]))`,
		`stddev(quantile_over_time(0.9, load[5m]))`,
		// 78 series: too few to split, read as one part.
		`sum by (instance) (rate(reqs_total{job="job-1"}[5m]))`,
	} {
		split = 0
		opts := upstream.NewPrometheusQueryOpts(false, 0, nil)
		qa, err := ours.NewInstantQuery(context.Background(), q, opts, qs, at)
		if err != nil {
			t.Fatal(err)
		}
		qb, err := theirs.NewInstantQuery(context.Background(), db, opts, qs, at)
		if err != nil {
			t.Fatal(err)
		}
		a, b := qa.Exec(context.Background()), qb.Exec(context.Background())
		if a.Err != nil || b.Err != nil {
			t.Fatalf("%s: %v / %v", qs, a.Err, b.Err)
		}
		if err := sameValue(a.Value, b.Value); err != nil {
			t.Errorf("%s: %v", qs, err)
		}
		wa1, ia := a.Warnings.AsStrings(qs, 0, 0)
		wb1, ib := b.Warnings.AsStrings(qs, 0, 0)
		wa, wb := append(wa1, ia...), append(wb1, ib...)
		slices.Sort(wa)
		slices.Sort(wb)
		if !slices.Equal(wa, wb) {
			t.Errorf("%s: annotations %q, upstream %q", qs, wa, wb)
		}
		if strings.Contains(qs, "rate(load") && len(wa) == 0 {
			t.Errorf("%s: no annotation", qs)
		}
		sa, sb := qa.Stats().Samples, qb.Stats().Samples
		if sa.TotalSamples != sb.TotalSamples || sa.SamplesRead != sb.SamplesRead || sa.TotalSeries != sb.TotalSeries {
			t.Errorf("%s: samples %d, read %d, series %d; upstream %d, %d, %d", qs,
				sa.TotalSamples, sa.SamplesRead, sa.TotalSeries, sb.TotalSamples, sb.SamplesRead, sb.TotalSeries)
		}
		if small := strings.Contains(qs, `job="job-1"`); split == 0 && !small || split != 0 && small {
			t.Errorf("%s: %d selections read in parallel", qs, split)
		}
		// Bit for bit what one goroutine gives: results reach the
		// aggregation in the same order.
		reused := 0
		qc, err := ours.NewInstantQuery(context.Background(), countingQueryable{db: db, reused: &reused}, opts, qs, at)
		if err != nil {
			t.Fatal(err)
		}
		c := qc.Exec(context.Background())
		if c.Err != nil || reused == 0 {
			t.Fatalf("%s: sequential read: %v (%d reusing selections)", qs, c.Err, reused)
		}
		if !identical(a.Value.(upstream.Vector), c.Value.(upstream.Vector)) {
			t.Errorf("%s: parallel %v, sequential %v", qs, a.Value, c.Value)
		}
		qc.Close()
		qa.Close()
		qb.Close()
	}
}

// identical reports whether two vectors hold the same series with the same
// bits in the same order.
func identical(a, b upstream.Vector) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !labels.Equal(a[i].Metric, b[i].Metric) || a[i].T != b[i].T || math.Float64bits(a[i].F) != math.Float64bits(b[i].F) {
			return false
		}
	}
	return true
}
