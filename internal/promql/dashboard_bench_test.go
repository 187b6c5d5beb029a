package promql

// The speed benchmark: argus's engine against the upstream engine on
// the same argus storage and data, in one run, for the query mix dashboards
// use, over 1h and 24h ranges with 4,600 series (1,200 request counters,
// 2,400 histogram buckets, 800 gauges, 200 info-style series) sampled every
// 15 s, stored as blocks as a running argus would have them.
//
//	go test ./internal/promql -run '^$' -bench 'DashboardQueries' -benchtime 10x -count 3 -timeout 60m
//
// (-bench 'DashboardQueries/1h' runs the 1h set alone, without loading the
// 24h data.) Every query runs as a range query (qN) and as an instant query
// at the range's end (instant/qN). Each sub-benchmark reports ns/op, B/op and
// allocs/op as usual and peak-B: the highest heap in use above the starting
// point while one query runs (see peakHeap). Before timing, both
// engines' answers are compared.

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"runtime/metrics"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	upstream "github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/argus-mon/argus/internal/tsdb"
)

const (
	benchStep  = 15 * time.Second
	benchStart = int64(1_700_000_000_000)
)

func loadBenchData(b *testing.B, hours int) *tsdb.DB {
	db, err := tsdb.Open(context.Background(), b.TempDir(), tsdb.Options{FlushInterval: time.Hour * 1000})
	if err != nil {
		b.Fatal(err)
	}
	var series []labels.Labels
	methods := []string{"GET", "POST"}
	codes := []string{"200", "404", "500"}
	les := []string{"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"}
	kinds := []int{}
	for j := 0; j < 10; j++ {
		job := fmt.Sprintf("job-%d", j)
		for i := 0; i < 20; i++ {
			inst := fmt.Sprintf("host-%d-%d:9100", j, i)
			for _, m := range methods {
				for _, c := range codes {
					series = append(series, labels.FromStrings("__name__", "http_requests_total", "job", job, "instance", inst, "method", m, "code", c))
					kinds = append(kinds, 0)
				}
			}
			for _, le := range les {
				series = append(series, labels.FromStrings("__name__", "http_request_duration_seconds_bucket", "job", job, "instance", inst, "le", le))
				kinds = append(kinds, 1)
			}
			for c := 0; c < 4; c++ {
				series = append(series, labels.FromStrings("__name__", "node_load", "job", job, "instance", inst, "cpu", fmt.Sprint(c)))
				kinds = append(kinds, 2)
			}
			series = append(series, labels.FromStrings("__name__", "build_info", "job", job, "instance", inst, "version", fmt.Sprintf("1.%d", i%3)))
			kinds = append(kinds, 3)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	vals := make([]float64, len(series))
	refs := make([]uint64, len(series))
	steps := hours * 240
	for s := 0; s < steps; s++ {
		ts := benchStart + int64(s)*benchStep.Milliseconds()
		app := db.Appender()
		for i, l := range series {
			switch kinds[i] {
			case 0, 1:
				vals[i] += float64(rng.IntN(100))
			case 2:
				vals[i] = rng.Float64() * 4
			case 3:
				vals[i] = 1
			}
			refs[i], err = app.Append(refs[i], l, ts, vals[i])
			if err != nil {
				b.Fatal(err)
			}
		}
		if err := app.Commit(); err != nil {
			b.Fatal(err)
		}
		// Flushed every 5 minutes of data, as argus's head is by default,
		// in a phase that leaves half a flush interval in the open chunks
		// at the end: a live head always has the samples since its last
		// flush (empty open chunks only right after one).
		if s%20 == 9 {
			if err := db.Flush(); err != nil {
				b.Fatal(err)
			}
			if err := db.Compact(); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Logf("%d series, %d samples each, %d blocks", len(series), steps, len(db.Blocks()))
	return db
}

var benchQueries = []string{
	`sum by (job) (rate(http_requests_total[5m]))`,
	`histogram_quantile(0.9, sum by (le, job) (rate(http_request_duration_seconds_bucket[5m])))`,
	`topk(5, sum by (instance) (rate(http_requests_total[5m])))`,
	`sum by (instance) (rate(http_requests_total[5m])) * on (instance) group_left (version) build_info`,
	`label_replace(sum by (instance) (rate(http_requests_total{code="500"}[5m])), "host", "$1", "instance", "(.*):.*")`,
	`avg by (job) (avg_over_time(node_load[5m]))`,
	`max_over_time(node_load{cpu="0"}[10m])`,
	`sum by (job, code) (rate(http_requests_total[5m])) / ignoring (code) group_left sum by (job) (rate(http_requests_total[5m]))`,
	`count by (job, version) (build_info)`,
	`sum by (code) (increase(http_requests_total[1h]))`,
}

// peakHeap measures the highest heap in use above the starting point
// while fn runs, from a cold start: after two GCs, which empty the pools
// of both engines (sync.Pool keeps its contents through one), so that
// neither reuses memory an earlier query left. The heap's figure moves in whole spans of
// memory (8 KiB and more) as goroutines take them for their allocations,
// which is most of what a query of a few tens of kilobytes measures. So
// when no collection ran during fn, nothing it allocated was freed before
// it returned, and its peak is exactly what it allocated: the GC after it
// counts that to the byte. Otherwise the heap is sampled every 50 µs.
func peakHeap(fn func()) uint64 {
	runtime.GC()
	runtime.GC()
	s := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/gc/heap/allocs:bytes"},
		{Name: "/gc/cycles/total:gc-cycles"},
	}
	metrics.Read(s)
	base, allocs, cycles := s[0].Value.Uint64(), s[1].Value.Uint64(), s[2].Value.Uint64()
	var peak atomic.Uint64
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		for {
			select {
			case <-done:
				return
			default:
			}
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			time.Sleep(50 * time.Microsecond)
		}
	}()
	fn()
	close(done)
	<-stopped
	metrics.Read(s)
	if v := s[0].Value.Uint64(); v > peak.Load() {
		peak.Store(v)
	}
	if s[2].Value.Uint64() == cycles {
		runtime.GC()
		metrics.Read(s)
		return s[1].Value.Uint64() - allocs
	}
	if p := peak.Load(); p > base {
		return p - base
	}
	return 0
}

func BenchmarkDashboardQueries(b *testing.B) {
	for _, hours := range []int{1, 24} {
		// Loading inside the sub-benchmark lets -bench DashboardQueries/1h
		// skip the 24h data set.
		b.Run(fmt.Sprintf("%dh", hours), func(b *testing.B) { benchDashboard(b, hours) })
	}
}

func benchDashboard(b *testing.B, hours int) {
	db := loadBenchData(b, hours)
	defer db.Close()
	argus := NewEngine(EngineOpts{MaxSamples: 100_000_000, Timeout: time.Minute})
	engines := []struct {
		name string
		ng   upstream.QueryEngine
	}{
		{"argus", upstreamEngine{argus}},
		{"upstream", upstream.NewEngine(upstream.EngineOpts{MaxSamples: 100_000_000, Timeout: time.Minute, LookbackDelta: 5 * time.Minute})},
	}
	end := time.UnixMilli(benchStart + int64(hours)*3600_000 - benchStep.Milliseconds())
	start := end.Add(-time.Duration(hours) * time.Hour).Add(10 * time.Minute)
	step := benchStep
	if hours == 24 {
		step = 2 * time.Minute
	}
	for i, qs := range benchQueries {
		for _, instant := range []bool{false, true} {
			// run executes the query; the result is valid until close is
			// called (both engines recycle result memory on Close).
			run := func(b *testing.B, ng upstream.QueryEngine) (res *upstream.Result, close func()) {
				var q upstream.Query
				var err error
				if instant {
					q, err = ng.NewInstantQuery(context.Background(), db, nil, qs, end)
				} else {
					q, err = ng.NewRangeQuery(context.Background(), db, nil, qs, start, end, step)
				}
				if err != nil {
					b.Fatal(err)
				}
				res = q.Exec(context.Background())
				if res.Err != nil {
					b.Fatal(res.Err)
				}
				return res, q.Close
			}
			want, closeWant := run(b, engines[1].ng)
			got, closeGot := run(b, engines[0].ng)
			if err := sameValue(got.Value, want.Value); err != nil {
				b.Fatalf("%s: engines disagree: %v", qs, err)
			}
			closeWant()
			closeGot()
			kind := "q"
			if instant {
				kind = "instant/q"
			}
			// Timed, argus's engine runs as the API runs it: its answer
			// is not converted to upstream's types (a Grid would be
			// expanded to points).
			native := func(b *testing.B) {
				var q Query
				var err error
				if instant {
					q, err = argus.NewInstantQuery(context.Background(), db, nil, qs, end)
				} else {
					q, err = argus.NewRangeQuery(context.Background(), db, nil, qs, start, end, step)
				}
				if err != nil {
					b.Fatal(err)
				}
				if res := q.Exec(context.Background()); res.Err != nil {
					b.Fatal(res.Err)
				}
				q.Close()
			}
			for _, e := range engines {
				once := func(b *testing.B) {
					_, close := run(b, e.ng)
					close()
				}
				if e.name == "argus" {
					once = native
				}
				b.Run(fmt.Sprintf("%s%d/engine=%s", kind, i, e.name), func(b *testing.B) {
					b.ReportAllocs()
					peak := peakHeap(func() { once(b) })
					for b.Loop() {
						once(b)
					}
					b.ReportMetric(float64(peak), "peak-B")
				})
			}
		}
	}
}

// sameValue compares two query results: range results as matrices, instant
// ones as vectors sorted by labels (their order is unspecified).
func sameValue(got, want parser.Value) error {
	if gv, ok := got.(upstream.Vector); ok {
		wv, ok := want.(upstream.Vector)
		if !ok {
			return fmt.Errorf("got a vector, want %T", want)
		}
		return sameMatrix(vectorAsMatrix(gv), vectorAsMatrix(wv))
	}
	gm, ok1 := got.(upstream.Matrix)
	wm, ok2 := want.(upstream.Matrix)
	if !ok1 || !ok2 {
		return fmt.Errorf("got %T, want %T", got, want)
	}
	return sameMatrix(gm, wm)
}

func vectorAsMatrix(v upstream.Vector) upstream.Matrix {
	m := make(upstream.Matrix, len(v))
	for i, s := range v {
		m[i] = upstream.Series{Metric: s.Metric, Floats: []upstream.FPoint{{T: s.T, F: s.F}}}
	}
	sort.Sort(m)
	return m
}

// sameMatrix compares two range query results within 1e-6 relative.
func sameMatrix(got, want upstream.Matrix) error {
	if len(got) != len(want) {
		return fmt.Errorf("%d series, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if !labels.Equal(g.Metric, w.Metric) {
			return fmt.Errorf("series %d is %s, want %s", i, g.Metric, w.Metric)
		}
		if len(g.Floats) != len(w.Floats) {
			return fmt.Errorf("%s: %d points, want %d", w.Metric, len(g.Floats), len(w.Floats))
		}
		for j := range w.Floats {
			gp, wp := g.Floats[j], w.Floats[j]
			if gp.T != wp.T || !(gp.F == wp.F || math.Abs(gp.F-wp.F) <= 1e-6*math.Max(math.Abs(gp.F), math.Abs(wp.F)) || (math.IsNaN(gp.F) && math.IsNaN(wp.F))) {
				return fmt.Errorf("%s at %d: %v, want %v at %d", w.Metric, wp.T, gp.F, wp.F, gp.T)
			}
		}
	}
	return nil
}
