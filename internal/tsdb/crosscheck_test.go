package tsdb

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/storage"
	uptsdb "github.com/prometheus/prometheus/tsdb"

	"github.com/argus-mon/argus/internal/loadgen"
)

// TestUpstreamEngineCrossCheck runs the upstream PromQL engine over argus's
// storage and over the upstream TSDB holding the same data, and requires the
// same answers. argus's copy is spread over merged blocks, a head block, head
// parts and open chunks, so every read path is exercised.
func TestUpstreamEngineCrossCheck(t *testing.T) {
	const (
		interval = 15 * time.Second
		steps    = 4 * 60 * 4 // 4 hours
		start    = int64(1_700_000_000_000)
	)
	gen, err := loadgen.New(loadgen.Options{Targets: 2, Seed: 3, Interval: interval, Start: start})
	if err != nil {
		t.Fatal(err)
	}
	opts := testOptions()
	opts.BlockDuration = 30 * time.Minute
	ours := openTestDB(t, t.TempDir(), opts)
	defer ours.Close()
	upOpts := uptsdb.DefaultOptions()
	theirs, err := uptsdb.Open(t.TempDir(), nil, nil, upOpts, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer theirs.Close()

	series := gen.Series()
	refs := make([]uint64, len(series))
	upRefs := make([]storage.SeriesRef, len(series))
	var vals []float64
	var last int64
	for step := range steps {
		var ts int64
		ts, vals = gen.Next(vals[:0])
		last = ts
		app := ours.Appender()
		uapp := theirs.Appender(context.Background())
		for i, lset := range series {
			v := vals[i]
			// Some series stop half way with a staleness marker, as a vanished
			// target's would.
			if i%97 == 0 && step >= steps/2 {
				if step > steps/2 {
					continue
				}
				v = staleNaN()
			}
			if refs[i], err = app.Append(refs[i], lset, ts, v); err != nil {
				t.Fatal(err)
			}
			if upRefs[i], err = uapp.Append(upRefs[i], lset, ts, v); err != nil {
				t.Fatal(err)
			}
		}
		if err := app.Commit(); err != nil {
			t.Fatal(err)
		}
		if err := uapp.Commit(); err != nil {
			t.Fatal(err)
		}
		if step%40 == 39 {
			if err := ours.Flush(); err != nil {
				t.Fatal(err)
			}
		}
		if step%200 == 199 {
			if err := ours.Compact(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(ours.Blocks()) < 2 {
		t.Fatalf("only %d blocks: the test should read blocks, parts and open chunks", len(ours.Blocks()))
	}

	engine := promql.NewEngine(promql.EngineOpts{MaxSamples: 100_000_000, Timeout: time.Minute, LookbackDelta: 5 * time.Minute})
	queries := []string{
		`node_load1`,
		`rate(node_cpu_seconds_total[5m])`,
		`sum by (mode) (rate(node_cpu_seconds_total{mode!="idle"}[5m]))`,
		`increase(node_network_receive_bytes_total{device=~"eth.*|lo"}[10m])`,
		`max_over_time(node_memory_MemAvailable_bytes[1h])`,
		`avg_over_time(node_filesystem_avail_bytes[30m])`,
		`count by (__name__) ({job="node"})`,
		`topk(3, node_network_transmit_bytes_total)`,
		`quantile_over_time(0.9, go_gc_duration_seconds{quantile="0.5"}[30m])`,
		`rate(go_gc_duration_seconds_sum[5m]) / rate(go_gc_duration_seconds_count[5m])`,
		`node_context_switches_total offset 1h`,
		`deriv(node_memory_Active_bytes[15m])`,
		`absent(no_such_metric)`,
		`count(node_scrape_collector_success == 1)`,
		`last_over_time(node_boot_time_seconds[2h])`,
		`count({instance="host-1:9100"})`,
		`sum(count_over_time(node_cpu_seconds_total[1h]))`,
	}
	end := time.UnixMilli(last)
	begin := time.UnixMilli(start)
	ctx := context.Background()
	for _, qs := range queries {
		for _, at := range []time.Time{begin.Add(20 * time.Minute), begin.Add(2 * time.Hour), end.Add(-time.Minute), end} {
			compareQuery(t, engine, ours, theirs, qs, func(e *promql.Engine, q storage.Queryable) (promql.Query, error) {
				return e.NewInstantQuery(ctx, q, nil, qs, at)
			})
		}
		compareQuery(t, engine, ours, theirs, qs+" [range]", func(e *promql.Engine, q storage.Queryable) (promql.Query, error) {
			return e.NewRangeQuery(ctx, q, nil, qs, begin, end, time.Minute)
		})
	}
}

func compareQuery(t *testing.T, e *promql.Engine, ours, theirs storage.Queryable, name string, mk func(*promql.Engine, storage.Queryable) (promql.Query, error)) {
	t.Helper()
	run := func(q storage.Queryable) string {
		qry, err := mk(e, q)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		defer qry.Close()
		res := qry.Exec(context.Background())
		if res.Err != nil {
			t.Fatalf("%s: %v", name, res.Err)
		}
		return res.Value.String()
	}
	a, b := run(ours), run(theirs)
	if a != b {
		if len(a) > 2000 {
			a, b = a[:2000], b[:2000]
		}
		t.Fatalf("%s: results differ\nargus:    %s\nupstream: %s", name, a, b)
	}
	if len(a) < 3 && name != "absent(no_such_metric)" {
		t.Logf("%s: empty result", name)
	}
}
