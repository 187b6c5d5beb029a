package tsdb

// Regression tests for defects found in review: each failed before its fix.

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	upstream "github.com/prometheus/prometheus/tsdb/chunkenc"
)

// A flush between Querier() and Select() must not hide committed samples.
func TestQuerierSeesSamplesFlushedAfterItsCreation(t *testing.T) {
	db := openTestDB(t, t.TempDir(), testOptions())
	defer db.Close()
	lset := labels.FromStrings("__name__", "x")
	for i := range 10 {
		appendSamples(t, db, lset, sample{int64(i * 10), float64(i)})
	}
	q, err := db.Querier(math.MinInt64, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	appendSamples(t, db, lset, sample{100, 10})
	ss := q.Select(context.Background(), false, nil, labels.MustNewMatcher(labels.MatchEqual, "__name__", "x"))
	n := 0
	for ss.Next() {
		it := ss.At().Iterator(nil)
		for it.Next() != upstream.ValNone {
			n++
		}
	}
	if n != 11 {
		t.Fatalf("querier created before the flush sees %d of 11 samples", n)
	}
}

// Garbage collection must not remove a series an open appender is about to
// commit to (and release its label symbols for reuse).
func TestCommitAfterGCKeepsItsSeries(t *testing.T) {
	db := openTestDB(t, t.TempDir(), testOptions())
	defer db.Close()
	keep := labels.FromStrings("__name__", "keep")
	for ts := int64(0); ts <= 3000; ts += 100 {
		appendSamples(t, db, keep, sample{ts, 1})
	}
	newS := labels.FromStrings("__name__", "brand_new", "pod", "p-123")
	app := db.Appender()
	if _, err := app.Append(0, newS, 3000, 42); err != nil {
		t.Fatal(err)
	}
	if err := db.Compact(); err != nil {
		t.Fatal(err)
	}
	other := labels.FromStrings("__name__", "other", "instance", "i-9", "zone", "z")
	appendSamples(t, db, other, sample{3000, 7})
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	got := query(t, db, math.MinInt64, math.MaxInt64)
	if s := got[newS.String()]; len(s) != 1 || s[0].v != 42 {
		t.Fatalf("acknowledged sample of %s lost; got %v", newS, got)
	}
	if len(got) != 3 {
		t.Fatalf("series %v", got)
	}
}

// Merging an imported block with head blocks must not move the head's start
// past head data at the next open.
func TestImportMergeKeepsHeadAfterRestart(t *testing.T) {
	dir := t.TempDir()
	db := openTestDB(t, dir, testOptions())
	lset := labels.FromStrings("__name__", "x")
	for ts := int64(0); ts <= 5000; ts += 100 {
		appendSamples(t, db, lset, sample{ts, float64(ts)})
	}
	if err := db.Compact(); err != nil {
		t.Fatal(err)
	}
	om := "# TYPE imp gauge\nimp 1 0.500\nimp 2 8.000\n# EOF\n"
	if _, err := ImportOpenMetrics(context.Background(), []byte(om), dir, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := db.Compact(); err != nil {
		t.Fatal(err)
	}
	before := len(query(t, db, math.MinInt64, math.MaxInt64)[lset.String()])
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openTestDB(t, dir, testOptions())
	defer db.Close()
	after := len(query(t, db, math.MinInt64, math.MaxInt64)[lset.String()])
	if before != 51 || after != 51 {
		t.Fatalf("samples of x: %d before restart, %d after (want 51)", before, after)
	}
}

// A label set the logs and the index could not read back is refused at
// Append, and the rest of the commit survives a crash.
func TestHugeLabelSetsAreRefused(t *testing.T) {
	dir := t.TempDir()
	db := openTestDB(t, dir, testOptions())
	var b labels.ScratchBuilder
	b.Add("__name__", "big")
	for i := range maxLabelsPerSeries + 1 {
		b.Add(fmt.Sprintf("l%05d", i), "v")
	}
	b.Sort()
	long := labels.FromStrings("__name__", "long", "v", strings.Repeat("x", maxLabelBytes+1))
	normal := labels.FromStrings("__name__", "zz_normal")
	app := db.Appender()
	if _, err := app.Append(0, b.Labels(), 1000, 1); err == nil {
		t.Fatal("a series with too many labels was accepted")
	}
	if _, err := app.Append(0, long, 1000, 1); err == nil {
		t.Fatal("a series with a too long label was accepted")
	}
	if _, err := app.Append(0, normal, 1000, 2); err != nil {
		t.Fatal(err)
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	crash(db)
	db = openTestDB(t, dir, testOptions())
	defer db.Close()
	if got := query(t, db, math.MinInt64, math.MaxInt64); len(got) != 1 || len(got[normal.String()]) != 1 {
		t.Fatalf("after restart: %v", got)
	}
}

// A block cut between a querier's snapshots of the head and the blocks must
// not hide the cut range.
func TestQuerierDuringBlockCuts(t *testing.T) {
	db := openTestDB(t, t.TempDir(), testOptions())
	defer db.Close()
	lset := labels.FromStrings("__name__", "x")
	const step = 10
	ts := int64(0)
	for ; ts < 1000; ts += step {
		appendSamples(t, db, lset, sample{ts, 1})
	}
	want := 1000 / step
	var stop atomic.Bool
	errc := make(chan error, 1)
	go func() {
		defer close(errc)
		for !stop.Load() {
			if n := len(query(t, db, 0, 999)[lset.String()]); n != want {
				errc <- fmt.Errorf("query of [0,999] saw %d samples, want %d", n, want)
				return
			}
		}
	}()
	for round := 0; round < 200 && !stop.Load(); round++ {
		for end := ts + 500; ts < end; ts += step {
			appendSamples(t, db, lset, sample{ts, 1})
		}
		if err := db.Flush(); err != nil {
			t.Fatal(err)
		}
		if err := db.Compact(); err != nil {
			t.Fatal(err)
		}
		select {
		case err, ok := <-errc:
			stop.Store(true)
			if ok {
				t.Fatalf("round %d: %v", round, err)
			}
		default:
		}
	}
	stop.Store(true)
	if err, ok := <-errc; ok && err != nil {
		t.Fatal(err)
	}
}

// Appends with series churn, queries and label lookups, flushes and
// compactions all at once (for the race detector), with a check that every
// query sees whole series.
func TestConcurrentStress(t *testing.T) {
	db := openTestDB(t, t.TempDir(), testOptions())
	defer db.Close()
	start := time.Now()
	var stop atomic.Bool
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				app := db.Appender()
				ts := 1000 + time.Since(start).Milliseconds()*2 + int64(i%2)
				for s := range 50 {
					l := labels.FromStrings("__name__", "m", "w", fmt.Sprint(w), "s", fmt.Sprint(s), "gen", fmt.Sprint(i/200))
					app.Append(0, l, ts, float64(i))
				}
				if err := app.Commit(); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for r := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				q, _ := db.Querier(math.MinInt64, math.MaxInt64)
				m := labels.MustNewMatcher(labels.MatchRegexp, "s", "1.*")
				var ss storage.SeriesSet
				if r == 0 {
					// Series made one at a time in reused memory, merged
					// with blocks the flushes below keep cutting.
					ss = q.(*querier).SelectReusing(context.Background(), nil, m)
				} else {
					ss = q.Select(context.Background(), true, nil, m)
				}
				var it upstream.Iterator
				for ss.Next() {
					if l := ss.At().Labels(); l.Get("__name__") != "m" || !strings.HasPrefix(l.Get("s"), "1") {
						t.Errorf("series with wrong labels: %s", ss.At().Labels())
					}
					it = ss.At().Iterator(it)
					for it.Next() != upstream.ValNone {
					}
					if err := it.Err(); err != nil {
						t.Error(err)
					}
				}
				q.LabelValues(context.Background(), "gen", nil)
				q.LabelNames(context.Background(), nil, labels.MustNewMatcher(labels.MatchEqual, "w", "1"))
				q.Close()
			}
		}()
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		if err := db.Flush(); err != nil {
			t.Error(err)
		}
		if err := db.Compact(); err != nil {
			t.Error(err)
		}
	}
	stop.Store(true)
	wg.Wait()
}

// One damaged chunk in a head part must not stop block cuts and retention.
func TestDamagedPartChunkDoesNotStopCompaction(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions()
	opts.Retention = 3 * time.Second
	db := openTestDB(t, dir, opts)
	lset := labels.FromStrings("__name__", "x")
	for ts := int64(0); ts < 1400; ts += 10 {
		appendSamples(t, db, lset, sample{ts, float64(ts)})
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	p := partPath(dir, 1)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[partHeaderSize+3] ^= 0xff // inside the first chunk
	os.WriteFile(p, b, 0o644)
	db = openTestDB(t, dir, opts)
	defer db.Close()
	for ts := int64(1400); ts < 20000; ts += 10 {
		appendSamples(t, db, lset, sample{ts, float64(ts)})
	}
	if err := db.Compact(); err != nil {
		t.Fatalf("compaction failed over one damaged chunk: %v", err)
	}
	if len(db.Blocks()) == 0 {
		t.Fatal("no block cut")
	}
	if mn := db.head.minMax.min.Load(); mn < 10000 {
		t.Fatalf("head still starts at %d", mn)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, partsDir))
	if len(entries) > 3 {
		t.Fatalf("%d parts kept", len(entries))
	}
}

// A sample far in the future must cost one block cut, not one per block
// duration up to it.
func TestFarFutureSampleIsOneCut(t *testing.T) {
	dir := t.TempDir()
	db := openTestDB(t, dir, testOptions())
	defer db.Close()
	x := labels.FromStrings("__name__", "x")
	for ts := int64(0); ts < 5000; ts += 10 {
		appendSamples(t, db, x, sample{ts, 1})
	}
	if err := db.Compact(); err != nil {
		t.Fatal(err)
	}
	blocksBefore := len(db.Blocks())
	appendSamples(t, db, labels.FromStrings("__name__", "future"), sample{2_000_000 + 5000, 1})
	if err := db.Compact(); err != nil {
		t.Fatal(err)
	}
	// At most the block with x's remaining samples is added; no empty ones.
	if n := len(db.Blocks()); n > blocksBefore+2 {
		t.Fatalf("%d blocks after one far-future sample (had %d)", n, blocksBefore)
	}
	for _, b := range db.Blocks() {
		if b.Meta().Stats.NumSamples == 0 {
			t.Fatalf("empty block %+v", b.Meta())
		}
	}
}

// A flush that finds nothing to cut removed its just-published part while
// still holding the part's lock, after a querier (holding the parts list's
// read lock) had started waiting for that lock: a deadlock between the two,
// seen once in a hundred runs of TestConcurrentStress.
func TestEmptyFlushWithQueriers(t *testing.T) {
	// Not closed on failure: Close would wait for the deadlocked flush.
	db := openTestDB(t, t.TempDir(), testOptions())
	app := db.Appender()
	for i := range 20000 {
		if _, err := app.Append(0, labels.FromStrings("__name__", "x", "i", fmt.Sprint(i)), 1000, 1); err != nil {
			t.Fatal(err)
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := db.Flush(); err != nil { // Every chunk is cut: the next flushes find none.
		t.Fatal(err)
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				q, err := db.Querier(math.MinInt64, math.MaxInt64)
				if err != nil {
					t.Error(err)
					return
				}
				q.Close()
			}
		}()
	}
	done := make(chan error, 1)
	go func() {
		for range 300 {
			if err := db.Flush(); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(60 * time.Second):
		panic("flushes and queriers deadlocked") // Ends the test binary: the goroutines cannot be stopped.
	}
	stop.Store(true)
	wg.Wait()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// A flush that found nothing to cut did not advance the part sequence, so a
// querier created while its empty part was listed took the next flush's part
// (same number) for one it had seen, and missed its samples. Found in review.
func TestEmptyFlushUsesItsSequenceNumber(t *testing.T) {
	db := openTestDB(t, t.TempDir(), testOptions())
	defer db.Close()
	lset := labels.FromStrings("__name__", "x")
	appendSamples(t, db, lset, sample{1000, 1})
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	s := db.head.series.getByLabels(lset.Hash(), lset)
	if s == nil {
		t.Fatal("series not found")
	}
	// Hold the series so the next (empty) flush stops inside its walk, with
	// its part listed; a querier made then sees that part's number.
	s.mu.Lock()
	flushed := make(chan error, 1)
	go func() { flushed <- db.Flush() }()
	for {
		db.head.partsMu.RLock()
		n := len(db.head.parts)
		db.head.partsMu.RUnlock()
		if n == 2 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	made := make(chan *querier, 1)
	go func() {
		q, err := db.Querier(math.MinInt64, math.MaxInt64)
		if err != nil {
			t.Error(err)
		}
		made <- q.(*querier)
	}()
	time.Sleep(20 * time.Millisecond) // The querier waits for the part being filled.
	s.mu.Unlock()
	if err := <-flushed; err != nil {
		t.Fatal(err)
	}
	q := <-made
	defer q.Close()
	appendSamples(t, db, lset, sample{2000, 2})
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	ss := q.Select(context.Background(), false, nil, labels.MustNewMatcher(labels.MatchEqual, "__name__", "x"))
	var got []int64
	for ss.Next() {
		it := ss.At().Iterator(nil)
		for it.Next() == upstream.ValFloat {
			ts, _ := it.At()
			got = append(got, ts)
		}
	}
	if len(got) != 2 {
		t.Fatalf("querier made during an empty flush sees %v, want [1000 2000]", got)
	}
}

// TestCompactEndsWhileAppendsOutrunIt: a compaction cuts the blocks that
// were due when it started and returns, even when samples keep arriving
// faster (in sample time) than blocks can be cut. Before, it chased the
// head's newest sample and did not return (seen as a hung
// TestConcurrentStress on a loaded machine).
func TestCompactEndsWhileAppendsOutrunIt(t *testing.T) {
	opts := testOptions()
	opts.BlockDuration = 10 * time.Millisecond
	db := openTestDB(t, t.TempDir(), opts)
	var stop atomic.Bool
	done := make(chan struct{})
	l := labels.FromStrings("__name__", "m")
	// Enough data for many blocks before the compaction starts.
	ts := int64(0)
	app := db.Appender()
	for ; ts < 200; ts++ {
		app.Append(0, l, ts, 1)
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	compacted := make(chan error, 1)
	go func() { compacted <- db.Compact() }()
	go func() {
		defer close(done)
		// Each commit adds 100 ms of sample time, ten blocks' worth, about
		// every millisecond: far more than cutting blocks keeps up with.
		for t := ts; !stop.Load(); t += 100 {
			app := db.Appender()
			for i := range int64(100) {
				app.Append(0, l, t+i, 1)
			}
			app.Commit()
			time.Sleep(time.Millisecond)
		}
	}()
	select {
	case err := <-compacted:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(30 * time.Second):
		// Closing would wait for the compaction for ever.
		stop.Store(true)
		t.Fatal("Compact did not return while appends went on")
	}
	stop.Store(true)
	<-done
	if err := db.Close(); err != nil {
		t.Error(err)
	}
}

// A series whose block and head samples interleave (a backfill into the
// head's range) is merged sample by sample by SelectReusing, as by Select.
func TestSelectReusingMergesOverlappingSources(t *testing.T) {
	dir := t.TempDir()
	db := openTestDB(t, dir, testOptions())
	defer db.Close()
	x := labels.FromStrings("__name__", "x", "a", "1")
	y := labels.FromStrings("__name__", "x", "a", "2")
	for ts := int64(1000); ts <= 9000; ts += 1000 {
		appendSamples(t, db, x, sample{ts, float64(ts)})
		appendSamples(t, db, y, sample{ts, float64(ts)})
	}
	var om strings.Builder
	om.WriteString("# TYPE x gauge\n")
	for ts := int64(1500); ts <= 9500; ts += 1000 {
		fmt.Fprintf(&om, "x{a=\"1\"} %d %d.%03d\n", ts, ts/1000, ts%1000)
	}
	om.WriteString("x{a=\"3\"} 7 5.000\n# EOF\n")
	if _, err := ImportOpenMetrics(context.Background(), []byte(om.String()), dir, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := db.Compact(); err != nil {
		t.Fatal(err)
	}
	if len(db.Blocks()) == 0 {
		t.Fatal("the import made no block")
	}
	want := query(t, db, math.MinInt64, math.MaxInt64)
	if n := len(want[x.String()]); n != 18 {
		t.Fatalf("x has %d samples, want 18 (9 from the head, 9 from the block)", n)
	}
	got := queryReusing(t, db, math.MinInt64, math.MaxInt64)
	if !equalSeries(got, want) {
		diffSeries(t, got, want)
		t.Fatal("SelectReusing differs from Select")
	}
}

// TestSelectReusingOrder: SelectReusing gives a query's series in the
// order Select gives them unsorted, which the PromQL engine relies on when
// it reads a range function's series one at a time (limitk, and ties in
// topk and the sort functions, depend on the order): the head's own order
// when it alone holds the range, label order when a block overlaps it
// too, even one without the metric.
func TestSelectReusingOrder(t *testing.T) {
	dir := t.TempDir()
	db := openTestDB(t, dir, testOptions())
	defer db.Close()
	// Created in an order other than the labels'.
	for _, ts := range []int64{5000, 6000} {
		for _, a := range []string{"3", "1", "2"} {
			appendSamples(t, db, labels.FromStrings("__name__", "x", "a", a), sample{ts, 1})
		}
	}
	order := func(sel func(*querier, *labels.Matcher) storage.SeriesSet) []string {
		t.Helper()
		qr, err := db.Querier(0, 10000)
		if err != nil {
			t.Fatal(err)
		}
		defer qr.Close()
		ss := sel(qr.(*querier), labels.MustNewMatcher(labels.MatchEqual, "__name__", "x"))
		var out []string
		for ss.Next() {
			out = append(out, strings.Clone(ss.At().Labels().Get("a"))) // a reusing set's labels are overwritten
		}
		if err := ss.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	same := func(want []string) {
		t.Helper()
		plain := order(func(q *querier, m *labels.Matcher) storage.SeriesSet {
			return q.Select(context.Background(), false, nil, m)
		})
		reusing := order(func(q *querier, m *labels.Matcher) storage.SeriesSet {
			return q.SelectReusing(context.Background(), nil, m)
		})
		if !slices.Equal(plain, want) || !slices.Equal(reusing, want) {
			t.Fatalf("Select gives %v, SelectReusing %v; want %v", plain, reusing, want)
		}
	}
	same([]string{"3", "1", "2"})

	// A block over the same time without the metric.
	om := "# TYPE other gauge\nother 4 1\nother 7 2\n# EOF\n"
	if _, err := ImportOpenMetrics(context.Background(), []byte(om), dir, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := db.Compact(); err != nil {
		t.Fatal(err)
	}
	if len(db.Blocks()) == 0 {
		t.Fatal("the import made no block")
	}
	same([]string{"1", "2", "3"})
}
