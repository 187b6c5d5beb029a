package tsdb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/storage"
	upstream "github.com/prometheus/prometheus/tsdb/chunkenc"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if os.Getenv(crashChildEnv) != "" {
		crashChild()
		return
	}
	goleak.VerifyTestMain(m)
}

// testOptions keep background work out of the way; tests flush and compact
// explicitly.
func testOptions() Options {
	return Options{
		BlockDuration:   time.Second,
		FlushInterval:   time.Hour,
		WALSyncInterval: time.Hour,
		Retention:       365 * 24 * time.Hour,
	}
}

func openTestDB(t testing.TB, dir string, opts Options) *DB {
	t.Helper()
	db, err := Open(context.Background(), dir, opts)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return db
}

type sample struct {
	t int64
	v float64
}

// query returns every series matching ms in [mint, maxt] as labels string →
// samples.
func query(t testing.TB, q storage.Queryable, mint, maxt int64, ms ...*labels.Matcher) map[string][]sample {
	t.Helper()
	return collect(t, q, mint, maxt, ms, true, func(qr storage.Querier, ms []*labels.Matcher) storage.SeriesSet {
		return qr.Select(context.Background(), true, nil, ms...)
	})
}

// queryReusing is query through SelectReusing: each series is read before
// the next is asked for, as the engine's streamed aggregations do, and in
// no particular order.
func queryReusing(t testing.TB, db *DB, mint, maxt int64, ms ...*labels.Matcher) map[string][]sample {
	t.Helper()
	return collect(t, db, mint, maxt, ms, false, func(qr storage.Querier, ms []*labels.Matcher) storage.SeriesSet {
		return qr.(*querier).SelectReusing(context.Background(), nil, ms...)
	})
}

// collect reads the set sel selects, requiring it sorted if sorted (a
// reusing set's labels are not kept to compare) and no series twice.
func collect(t testing.TB, q storage.Queryable, mint, maxt int64, ms []*labels.Matcher, sorted bool, sel func(storage.Querier, []*labels.Matcher) storage.SeriesSet) map[string][]sample {
	t.Helper()
	qr, err := q.Querier(mint, maxt)
	if err != nil {
		t.Fatal(err)
	}
	defer qr.Close()
	if len(ms) == 0 {
		ms = []*labels.Matcher{labels.MustNewMatcher(labels.MatchRegexp, "__name__", ".+")}
	}
	ss := sel(qr, ms)
	out := map[string][]sample{}
	var prev labels.Labels
	var it upstream.Iterator
	for ss.Next() {
		s := ss.At()
		k := s.Labels().String()
		if sorted {
			if !prev.IsEmpty() && labels.Compare(prev, s.Labels()) >= 0 {
				t.Fatalf("series not sorted: %s after %s", s.Labels(), prev)
			}
			prev = s.Labels()
		}
		if _, dup := out[k]; dup {
			t.Fatalf("series %s selected twice", k)
		}
		it = s.Iterator(it)
		var got []sample
		for it.Next() == upstream.ValFloat {
			ts, v := it.At()
			got = append(got, sample{ts, v})
		}
		if err := it.Err(); err != nil {
			t.Fatal(err)
		}
		it = checkAppendFloats(t, s, it, got)
		if len(got) > 0 {
			out[k] = got
		}
	}
	if err := ss.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// floatAppender is the bulk read interface the query engine uses.
type floatAppender interface {
	AppendFloats(ts []int64, vs []float64, mint, maxt int64) ([]int64, []float64, error)
}

// checkAppendFloats requires the bulk read of s to give the samples want
// (read sample by sample): over the whole range, a sub-range, and after
// part of the series was read with Seek and Next.
func checkAppendFloats(t testing.TB, s storage.Series, it upstream.Iterator, want []sample) upstream.Iterator {
	t.Helper()
	read := func(mint, maxt int64, skip int) []sample {
		it = s.Iterator(it)
		var out []sample
		if skip > 0 {
			for vt := it.Seek(mint); vt != upstream.ValNone && len(out) < skip; vt = it.Next() {
				ts, v := it.At()
				if ts > maxt {
					return out
				}
				out = append(out, sample{ts, v})
			}
			if len(out) < skip {
				return out
			}
			mint = out[len(out)-1].t + 1
		}
		fa, ok := it.(floatAppender)
		if !ok {
			t.Fatalf("%T has no AppendFloats", it)
		}
		ts, vs, err := fa.AppendFloats(nil, nil, mint, maxt)
		if err != nil {
			t.Fatal(err)
		}
		for i := range ts {
			out = append(out, sample{ts[i], vs[i]})
		}
		if it.Next() != upstream.ValNone {
			t.Fatal("iterator not exhausted after AppendFloats")
		}
		return out
	}
	same := func(what string, got, want []sample) {
		t.Helper()
		ok := len(got) == len(want)
		for i := 0; ok && i < len(got); i++ {
			ok = got[i].t == want[i].t && math.Float64bits(got[i].v) == math.Float64bits(want[i].v)
		}
		if !ok {
			t.Fatalf("%s: AppendFloats of %s gave %v, want %v", what, s.Labels(), got, want)
		}
	}
	same("whole", read(math.MinInt64, math.MaxInt64, 0), want)
	if len(want) < 3 {
		return it
	}
	mid := want[1 : len(want)-1]
	same("sub-range", read(mid[0].t, mid[len(mid)-1].t, 0), mid)
	same("after Next", read(math.MinInt64, math.MaxInt64, len(want)/2), want)
	return it
}

func appendSamples(t testing.TB, db *DB, lset labels.Labels, samples ...sample) {
	t.Helper()
	app := db.Appender()
	for _, s := range samples {
		if _, err := app.Append(0, lset, s.t, s.v); err != nil {
			t.Fatalf("append %s %v: %v", lset, s, err)
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
}

func TestAppendQueryRestart(t *testing.T) {
	dir := t.TempDir()
	db := openTestDB(t, dir, testOptions())
	a := labels.FromStrings("__name__", "up", "job", "a")
	b := labels.FromStrings("__name__", "up", "job", "b")
	want := map[string][]sample{}
	for i := range 100 {
		ts := int64(1000 + i*10)
		appendSamples(t, db, a, sample{ts, float64(i)})
		appendSamples(t, db, b, sample{ts, -float64(i) / 3})
		want[a.String()] = append(want[a.String()], sample{ts, float64(i)})
		want[b.String()] = append(want[b.String()], sample{ts, -float64(i) / 3})
		if i == 40 || i == 70 {
			if err := db.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	check := func(stage string) {
		t.Helper()
		got := query(t, db, math.MinInt64, math.MaxInt64)
		if !equalSeries(got, want) {
			t.Fatalf("%s: got %v\nwant %v", stage, got, want)
		}
		sub := query(t, db, 1200, 1300, labels.MustNewMatcher(labels.MatchEqual, "job", "b"))
		if len(sub) != 1 || len(sub[b.String()]) != 11 {
			t.Fatalf("%s: sub-range query got %v", stage, sub)
		}
	}
	check("head")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openTestDB(t, dir, testOptions())
	check("after restart")
	// Cut blocks: the head spans 1s, so with 1s blocks nothing is cut until it
	// spans 1.5s.
	for i := 100; i < 300; i++ {
		ts := int64(1000 + i*10)
		appendSamples(t, db, a, sample{ts, float64(i)})
		want[a.String()] = append(want[a.String()], sample{ts, float64(i)})
	}
	if err := db.Compact(); err != nil {
		t.Fatal(err)
	}
	if len(db.Blocks()) == 0 {
		t.Fatal("no block cut")
	}
	check("after block cut")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openTestDB(t, dir, testOptions())
	defer db.Close()
	check("after restart with blocks")
}

func equalSeries(a, b map[string][]sample) bool {
	if len(a) != len(b) {
		return false
	}
	for k, va := range a {
		vb, ok := b[k]
		if !ok || len(va) != len(vb) {
			return false
		}
		for i := range va {
			if va[i].t != vb[i].t || math.Float64bits(va[i].v) != math.Float64bits(vb[i].v) {
				return false
			}
		}
	}
	return true
}

func TestSampleRules(t *testing.T) {
	reg := prometheus.NewRegistry()
	opts := testOptions()
	opts.Registerer = reg
	db := openTestDB(t, t.TempDir(), opts)
	defer db.Close()
	lset := labels.FromStrings("__name__", "x")
	appendSamples(t, db, lset, sample{10000, 1})

	cases := []struct {
		name   string
		t      int64
		v      float64
		err    error
		reason string
	}{
		{"newer", 10010, 2, nil, ""},
		{"exact repeat is ignored", 10010, 2, nil, ""},
		{"same time other value", 10010, 3, storage.ErrDuplicateSampleForTimestamp, reasonDuplicate},
		{"older", 10005, 1, storage.ErrOutOfOrderSample, reasonOutOfOrder},
		{"far too old", 100, 1, storage.ErrOutOfBounds, reasonOutOfBounds},
		{"stale marker", 10020, math.Float64frombits(value.StaleNaN), nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			app := db.Appender()
			_, err := app.Append(0, lset, c.t, c.v)
			if !errors.Is(err, c.err) {
				t.Fatalf("got %v, want %v", err, c.err)
			}
			if err := app.Commit(); err != nil {
				t.Fatal(err)
			}
			if c.reason != "" {
				if n := testutil.ToFloat64(db.metrics.rejected.WithLabelValues(c.reason)); n != 1 {
					t.Fatalf("rejected{reason=%q} = %v", c.reason, n)
				}
			}
		})
	}
	got := query(t, db, 0, math.MaxInt64)[lset.String()]
	if len(got) != 3 || got[1] != (sample{10010, 2}) || !value.IsStaleNaN(got[2].v) {
		t.Fatalf("stored %v", got)
	}
	// Bad label sets are refused.
	app := db.Appender()
	if _, err := app.Append(0, labels.EmptyLabels(), 20000, 1); err == nil {
		t.Fatal("empty label set accepted")
	}
	app.Rollback()
}

func TestDuplicatesWithinOneCommit(t *testing.T) {
	db := openTestDB(t, t.TempDir(), testOptions())
	defer db.Close()
	lset := labels.FromStrings("__name__", "x")
	app := db.Appender()
	for _, ts := range []int64{100, 200, 150, 200, 300} {
		app.Append(0, lset, ts, float64(ts))
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	got := query(t, db, 0, 1000)[lset.String()]
	want := []sample{{100, 100}, {200, 200}, {300, 300}}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v want %v", got, want)
	}
}

func TestLabelQueries(t *testing.T) {
	dir := t.TempDir()
	db := openTestDB(t, dir, testOptions())
	defer db.Close()
	for i := range 20 {
		lset := labels.FromStrings("__name__", fmt.Sprintf("m%d", i%3), "i", fmt.Sprint(i), "even", fmt.Sprint(i%2 == 0))
		appendSamples(t, db, lset, sample{int64(1000 + i), 1})
	}
	q, err := db.Querier(0, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	names, _, err := q.LabelNames(context.Background(), nil)
	if err != nil || !slices.Equal(names, []string{"__name__", "even", "i"}) {
		t.Fatalf("names %v %v", names, err)
	}
	vals, _, _ := q.LabelValues(context.Background(), "__name__", nil)
	if !slices.Equal(vals, []string{"m0", "m1", "m2"}) {
		t.Fatalf("values %v", vals)
	}
	vals, _, _ = q.LabelValues(context.Background(), "i", nil, labels.MustNewMatcher(labels.MatchEqual, "__name__", "m1"), labels.MustNewMatcher(labels.MatchEqual, "even", "true"))
	if !slices.Equal(vals, []string{"10", "16", "4"}) {
		t.Fatalf("values with matchers %v", vals)
	}
}

func TestLockedDir(t *testing.T) {
	dir := t.TempDir()
	db := openTestDB(t, dir, testOptions())
	defer db.Close()
	if _, err := Open(context.Background(), dir, testOptions()); !errors.Is(err, ErrLocked) {
		t.Fatalf("second open: %v", err)
	}
}

func TestCorruptPartIsSkipped(t *testing.T) {
	dir := t.TempDir()
	db := openTestDB(t, dir, testOptions())
	lset := labels.FromStrings("__name__", "x")
	appendSamples(t, db, lset, sample{1000, 1}, sample{1010, 2})
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	appendSamples(t, db, lset, sample{1020, 3})
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	appendSamples(t, db, lset, sample{1030, 4})
	// A crash: no final flush, so the last sample is only in the WAL.
	crash(db)

	parts, _ := filepath.Glob(filepath.Join(dir, partsDir, "*.part"))
	if len(parts) != 2 {
		t.Fatalf("parts %v", parts)
	}
	b, _ := os.ReadFile(parts[0])
	b[len(b)/2] ^= 0xff
	os.WriteFile(parts[0], b, 0o644)

	db = openTestDB(t, dir, testOptions())
	defer db.Close()
	got := query(t, db, 0, math.MaxInt64)[lset.String()]
	want := []sample{{1020, 3}, {1030, 4}}
	if !slices.Equal(got, want) && !slices.Equal(got, []sample{{1000, 1}, {1010, 2}, {1020, 3}, {1030, 4}}) {
		t.Fatalf("got %v", got)
	}
}

func staleNaN() float64 { return math.Float64frombits(value.StaleNaN) }

// crash stops the DB without its final flush, as kill -9 would.
func crash(db *DB) {
	db.closeOnce.Do(func() {
		close(db.stop)
		<-db.done
		db.closeFiles()
		db.metrics.unregister()
	})
}

func TestWALCorruptionIsSkipped(t *testing.T) {
	dir := t.TempDir()
	db := openTestDB(t, dir, testOptions())
	lset := labels.FromStrings("__name__", "x")
	const n = 20000 // several 32 KiB WAL pages
	for i := range n {
		appendSamples(t, db, lset, sample{int64(10_000 + i), float64(i)})
	}
	crash(db)
	segs, _ := filepath.Glob(filepath.Join(dir, walDir, "*"))
	if len(segs) == 0 {
		t.Fatal("no WAL segment")
	}
	b, _ := os.ReadFile(segs[0])
	if len(b) < 5*32<<10 {
		t.Fatalf("WAL segment only %d bytes", len(b))
	}
	// Damage the second page and cut the tail mid-record.
	b[40<<10] ^= 0xff
	os.WriteFile(segs[0], b[:len(b)-7], 0o644)

	var logs bytes.Buffer
	opts := testOptions()
	opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	db = openTestDB(t, dir, opts)
	defer db.Close()
	got := query(t, db, 0, math.MaxInt64)[lset.String()]
	// Everything outside the damaged page is back; samples after the damage are
	// still in order (each sample is newer than the last).
	if len(got) < n*9/10 || len(got) >= n {
		t.Fatalf("%d of %d samples recovered", len(got), n)
	}
	for i := 1; i < len(got); i++ {
		if got[i].t <= got[i-1].t || got[i].v != float64(got[i].t-10_000) {
			t.Fatalf("sample %d wrong: %v after %v", i, got[i], got[i-1])
		}
	}
	if !strings.Contains(logs.String(), "Storage recovered from damage") {
		t.Fatalf("damage not reported:\n%s", logs.String())
	}
}

func TestRefsNeverReused(t *testing.T) {
	dir := t.TempDir()
	db := openTestDB(t, dir, testOptions())
	a := labels.FromStrings("__name__", "a")
	b := labels.FromStrings("__name__", "b")
	appendSamples(t, db, a, sample{1000, 1})
	appendSamples(t, db, b, sample{1000, 1})
	bref := db.head.series.getByLabels(b.Hash(), b).ref
	// Only a goes on; once blocks are cut past b's last sample, b is collected.
	for i := range 400 {
		appendSamples(t, db, a, sample{int64(1010 + 10*i), 1})
	}
	if err := db.Compact(); err != nil {
		t.Fatal(err)
	}
	if db.head.series.getByLabels(b.Hash(), b) != nil {
		t.Fatal("b was not garbage collected")
	}
	db.Close()
	db = openTestDB(t, dir, testOptions())
	defer db.Close()
	c := labels.FromStrings("__name__", "c")
	appendSamples(t, db, c, sample{6000, 1})
	if cref := db.head.series.getByLabels(c.Hash(), c).ref; cref <= bref {
		t.Fatalf("new series got ref %d, collected series had %d", cref, bref)
	}
}

func TestConcurrentSeriesCreation(t *testing.T) {
	dir := t.TempDir()
	db := openTestDB(t, dir, testOptions())
	const workers, each = 8, 500
	errs := make(chan error, workers)
	for w := range workers {
		go func() {
			for i := range each {
				app := db.Appender()
				_, err := app.Append(0, labels.FromStrings("__name__", "m", "w", fmt.Sprint(w), "i", fmt.Sprint(i)), 1000, 1)
				if err == nil {
					err = app.Commit()
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range workers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	check := func() {
		t.Helper()
		all, _ := db.head.index.AllPostings()
		if len(all) != workers*each || !slices.IsSorted(all) {
			t.Fatalf("all postings: %d, sorted %v", len(all), slices.IsSorted(all))
		}
		for w := range workers {
			p, _ := db.head.index.Postings("w", fmt.Sprint(w))
			if len(p) != each || !slices.IsSorted(p) {
				t.Fatalf("postings of w=%d: %d, sorted %v", w, len(p), slices.IsSorted(p))
			}
		}
		if got := query(t, db, 0, 2000); len(got) != workers*each {
			t.Fatalf("query found %d series", len(got))
		}
	}
	check()
	// The series log holds them in commit order, not ref order; a restart must
	// still build sorted postings.
	crash(db)
	db = openTestDB(t, dir, testOptions())
	defer db.Close()
	check()
}
