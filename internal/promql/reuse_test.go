package promql

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	upstream "github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/storage"

	"github.com/argus-mon/argus/internal/tsdb"
)

// countingQueryable counts the selections argus's storage answered with
// series made one at a time in reused memory.
type countingQueryable struct {
	db     *tsdb.DB
	reused *int
}

func (c countingQueryable) Querier(mint, maxt int64) (storage.Querier, error) {
	q, err := c.db.Querier(mint, maxt)
	if err != nil {
		return nil, err
	}
	return countingQuerier{q, q.(reusingSelecter), c.reused}, nil
}

type countingQuerier struct {
	storage.Querier
	rs     reusingSelecter
	reused *int
}

func (c countingQuerier) SelectReusing(ctx context.Context, hints *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	*c.reused++
	return c.rs.SelectReusing(ctx, hints, ms...)
}

// TestReusedSeriesMemory checks streamed aggregations over series whose
// labels the storage reuses: every group must keep its own labels (a group
// keeping all of a series' labels once aliased the reused memory) and the
// answers must equal the upstream engine's on the same data.
func TestReusedSeriesMemory(t *testing.T) {
	t.Run("head", func(t *testing.T) { testReusedSeriesMemory(t, 40, 15_000, 0) })
	// Six hours at a minute, flushed every 5 minutes and compacted: the
	// older hours are blocks, merged with the head series by series.
	t.Run("blocks and head", func(t *testing.T) { testReusedSeriesMemory(t, 360, 60_000, 5) })
}

func testReusedSeriesMemory(t *testing.T, steps, interval int64, flushEvery int64) {
	db, err := tsdb.Open(context.Background(), t.TempDir(), tsdb.Options{FlushInterval: 1000 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const start = int64(1_700_000_000_000)
	for s := int64(0); s < steps; s++ {
		app := db.Appender()
		for i := range 30 {
			job := fmt.Sprintf("job-%d", i%7)
			inst := fmt.Sprintf("host-%02d", i)
			for _, l := range []labels.Labels{
				labels.FromStrings("__name__", "up", "job", job),
				labels.FromStrings("__name__", "reqs_total", "job", job, "instance", inst),
				labels.FromStrings("__name__", "load", "job", job, "instance", inst),
			} {
				if _, err := app.Append(0, l, start+s*interval, float64(s*int64(i+1))); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := app.Commit(); err != nil {
			t.Fatal(err)
		}
		if flushEvery > 0 && s%flushEvery == flushEvery-1 {
			if err := db.Flush(); err != nil {
				t.Fatal(err)
			}
			if err := db.Compact(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if flushEvery > 0 && len(db.Blocks()) == 0 {
		t.Fatal("no blocks were cut")
	}
	end := time.UnixMilli(start + (steps-1)*interval)
	window := time.Duration(steps*interval) * time.Millisecond
	reused := 0
	q := countingQueryable{db: db, reused: &reused}
	ours := upstreamEngine{NewEngine(EngineOpts{MaxSamples: 1e6, Timeout: time.Minute})}
	theirs := upstream.NewEngine(upstream.EngineOpts{MaxSamples: 1e6, Timeout: time.Minute, LookbackDelta: 5 * time.Minute})
	for _, qs := range []string{
		`count by (__name__, job) (up)`,
		`sum by (__name__, job, instance) (load)`,
		`sum by (job) (rate(reqs_total[5m]))`,
		`max by (instance) (max_over_time(load[2m]))`,
		`avg without (instance) (rate(reqs_total[1m]))`,
		`count(up)`,
		`sum by (job) (rate(reqs_total[5m])) / ignoring (job) group_left sum(rate(reqs_total[5m]))`,
	} {
		for _, rangeQuery := range []bool{false, true} {
			reused = 0
			var a, b *upstream.Result
			if rangeQuery {
				qa, err := ours.NewRangeQuery(context.Background(), q, nil, qs, end.Add(-window), end, window/20)
				if err != nil {
					t.Fatal(err)
				}
				qb, err := theirs.NewRangeQuery(context.Background(), db, nil, qs, end.Add(-window), end, window/20)
				if err != nil {
					t.Fatal(err)
				}
				a, b = qa.Exec(context.Background()), qb.Exec(context.Background())
			} else {
				qa, err := ours.NewInstantQuery(context.Background(), q, nil, qs, end)
				if err != nil {
					t.Fatal(err)
				}
				qb, err := theirs.NewInstantQuery(context.Background(), db, nil, qs, end)
				if err != nil {
					t.Fatal(err)
				}
				a, b = qa.Exec(context.Background()), qb.Exec(context.Background())
			}
			if a.Err != nil || b.Err != nil {
				t.Fatalf("%s: %v / %v", qs, a.Err, b.Err)
			}
			if err := sameValue(a.Value, b.Value); err != nil {
				t.Errorf("%s (range %v): %v", qs, rangeQuery, err)
			}
			if reused == 0 {
				t.Errorf("%s (range %v): the storage's reusing selection was not used", qs, rangeQuery)
			}
			// An instant query aggregating one input twice selects it once.
			if want := strings.Count(qs, "reqs_total"); !rangeQuery && want == 2 && reused != 1 {
				t.Errorf("%s: %d selections, want 1", qs, reused)
			}
		}
	}
}
