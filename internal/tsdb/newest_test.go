package tsdb

import (
	"context"
	"math"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// newestOf selects the series m and returns what NewestSample says and the
// newest sample its iterator yields, for [mint, maxt].
func newestOf(t *testing.T, db *DB, mint, maxt int64) (known bool, nt int64, nv float64, it int64, iv float64) {
	t.Helper()
	q, err := db.Querier(mint, maxt)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	set := q.Select(context.Background(), false, nil, labels.MustNewMatcher(labels.MatchEqual, "__name__", "m"))
	if !set.Next() {
		t.Fatalf("no series in [%d, %d]", mint, maxt)
	}
	s := set.At()
	nt, nv, known = s.(interface {
		NewestSample() (int64, float64, bool)
	}).NewestSample()
	it = math.MinInt64
	si := s.Iterator(nil)
	for si.Next() == chunkenc.ValFloat {
		it, iv = si.At()
	}
	return known, nt, nv, it, iv
}

// TestNewestSample checks that a series reports a newest sample only when
// it is the one its iterator ends with: from the open head chunk, not past
// the query's end, not when a block holds newer samples.
func TestNewestSample(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(context.Background(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	lset := labels.FromStrings("__name__", "m", "job", "a")
	add := func(from, to int64) {
		app := db.Appender()
		for ts := from; ts <= to; ts += 1000 {
			if _, err := app.Append(0, lset, ts, float64(ts)); err != nil {
				t.Fatal(err)
			}
		}
		if err := app.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	check := func(what string, mint, maxt int64, wantKnown bool) {
		t.Helper()
		known, nt, nv, it, iv := newestOf(t, db, mint, maxt)
		if known != wantKnown {
			t.Errorf("%s: known %v, want %v", what, known, wantKnown)
		}
		if known && (nt != it || nv != iv) {
			t.Errorf("%s: newest (%d, %v), iterator ends with (%d, %v)", what, nt, nv, it, iv)
		}
	}
	add(1000, 10000)
	check("open chunk", 0, 100000, true)
	check("query ends before the newest sample", 0, 5000, false)
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	check("just flushed: open chunk empty", 0, 100000, false)
	add(11000, 12000)
	check("new open chunk after a flush", 0, 100000, true)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// A backfilled block newer than everything in the head.
	if _, err := ImportOpenMetrics(context.Background(), []byte("# TYPE m gauge\nm{job=\"a\"} 7 50\n# EOF\n"), dir, 0); err != nil {
		t.Fatal(err)
	}
	db, err = Open(context.Background(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, _, _, it, iv := newestOf(t, db, 0, 100000); it != 50000 || iv != 7 {
		t.Fatalf("the imported block's sample is not the newest: (%d, %v)", it, iv)
	}
	// Closing flushed the head: a new open chunk, older than the block.
	add(13000, 14000)
	if known, nt, _, _, _ := newestOf(t, db, 0, 12500); known {
		t.Errorf("open chunk outside the query reported newest %d", nt)
	}
	check("block newer than the head", 0, 100000, false)
	check("block outside the query", 0, 40000, true)
}
