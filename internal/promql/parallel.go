package promql

import (
	"context"
	"fmt"
	"runtime"
	"sync"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/annotations"
	"github.com/prometheus/prometheus/util/stats"
)

// Parallel reads. An instant aggregation over thousands of series spends
// most of its time reading them (finding each series' chunks, decoding
// them); Prometheus does that on one goroutine. When argus's storage can
// split a selection into parts read independently, a range function's
// input is read and evaluated on one goroutine per CPU (as VictoriaMetrics
// does), and the results reach the aggregation in the order one goroutine
// would have given them, so its answer is the same to the last bit. The
// query's latency falls; the CPU it takes does not.

// parallelMinSeries is the smallest selection read in parallel: below it,
// starting goroutines and copying results costs more than it saves.
const parallelMinSeries = 256

// partsSelecter is implemented by queriers that can split a selection into
// parts to be read concurrently, as argus's storage does when its head
// alone answers: reading the parts in order gives SelectReusing's series.
// Below minSeries matching series it gives one part, nil when it cannot
// split the selection at all.
type partsSelecter interface {
	SelectReusingParts(ctx context.Context, hints *storage.SelectHints, n, minSeries int, ms ...*labels.Matcher) []storage.SeriesSet
}

// parallelSets returns the parts of vs's selection to read in parallel
// (one when it is too small to split), or nil to read it with eachSeries:
// only instant evaluations are split (a range query's results per series
// would all be held until their turn).
func (ev *evaluator) parallelSets(vs *parser.VectorSelector) []storage.SeriesSet {
	n := runtime.GOMAXPROCS(0)
	ps, ok := ev.querier.(partsSelecter)
	if !ok || n < 2 || ev.steps != 1 {
		return nil
	}
	if _, cached := ev.selectedCache[vs]; cached {
		return nil
	}
	return ps.SelectReusingParts(ev.ctx, ev.hints[vs], n, parallelMinSeries, vs.LabelMatchers...)
}

// streamParallel reads sets[0] on this goroutine, emitting as it goes, and
// every other part on a goroutine of its own that keeps its results (with
// copied labels) until the parts before it are done. Each worker counts
// statistics and annotations apart; they are merged at the end.
func (ev *evaluator) streamParallel(sets []storage.SeriesSet, process func(*evaluator, func(*Series)) (func(seriesSource), func()), emit func(*Series)) {
	type result struct {
		m      Matrix
		ev     *evaluator
		n      int64
		failed any
	}
	results := make([]result, len(sets))
	var wg sync.WaitGroup
	for i := 1; i < len(sets); i++ {
		w := ev.worker()
		results[i].ev = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &results[i]
			defer func() { r.failed = recover() }()
			var pts []FPoint
			if l, ok := sets[i].(interface{ Len() int }); ok {
				pts = make([]FPoint, 0, l.Len())
				r.m = make(Matrix, 0, l.Len())
			}
			each, done := process(w, func(s *Series) {
				k := len(pts)
				pts = append(pts, s.Floats...)
				r.m = append(r.m, Series{Metric: s.Metric.Copy(), Floats: pts[k:len(pts):len(pts)], DropName: s.DropName})
			})
			defer done()
			r.n = readSet(w, sets[i], each)
		}()
	}
	// The first part on this goroutine; a failure here still waits for
	// the workers, which stop at their next context check once the query
	// is cancelled, before the query's state is released.
	var n int64
	func() {
		defer func() {
			if r := recover(); r != nil {
				wg.Wait()
				panic(r)
			}
		}()
		each, done := process(ev, emit)
		defer done()
		n = readSet(ev, sets[0], each)
	}()
	wg.Wait()
	for i := 1; i < len(sets); i++ {
		r := &results[i]
		if r.failed != nil {
			panic(r.failed)
		}
		n += r.n
		mergeWorkerStats(ev.stats, r.ev.stats)
		ev.annos.Merge(*r.ev.annos)
		// The results are copies: the worker's scratch space goes back.
		if ev.pools != nil {
			ev.pools.putBuffers(r.ev.bufs)
		}
		for j := range r.m {
			emit(&r.m[j])
		}
	}
	ev.stats.IncrementSeries(n)
}

// readSet calls each for every series of set and returns how many there were.
func readSet(ev *evaluator, set storage.SeriesSet, each func(seriesSource)) int64 {
	var n int64
	for set.Next() {
		n++
		each(seriesSource{storage: set.At()})
	}
	ev.annos.Merge(set.Warnings())
	if err := set.Err(); err != nil {
		ev.fail(errStorage(err))
	}
	return n
}

// worker returns an evaluator for a goroutine of a parallel read: the
// query's settings with scratch space, statistics and annotations of its
// own. It evaluates one instant step and holds no points the query counts.
func (ev *evaluator) worker() *evaluator {
	w := *ev
	pools := ev.pools
	if pools == nil {
		pools = new(enginePools)
	}
	w.bufs = pools.getBuffers()
	w.stats = stats.NewQuerySamples(ev.stats.EnablePerStepStats)
	w.stats.InitStepTracking(ev.start, ev.end, ev.interval)
	w.annos = annotations.New()
	w.samples = new(sampleCount)
	w.selectedCache = nil
	return &w
}

// mergeWorkerStats adds a worker's sample counts to the query's.
func mergeWorkerStats(dst, src *stats.QuerySamples) {
	dst.TotalSamples += src.TotalSamples
	dst.SamplesRead += src.SamplesRead
	if dst.TotalSamplesPerStep != nil {
		if len(src.TotalSamplesPerStep) != len(dst.TotalSamplesPerStep) {
			panic(fmt.Sprintf("BUG: worker counted %d steps, the query %d", len(src.TotalSamplesPerStep), len(dst.TotalSamplesPerStep)))
		}
		for i := range dst.TotalSamplesPerStep {
			dst.TotalSamplesPerStep[i] += src.TotalSamplesPerStep[i]
			dst.SamplesReadPerStep[i] += src.SamplesReadPerStep[i]
		}
	}
}
