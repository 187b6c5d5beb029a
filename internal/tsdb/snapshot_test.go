package tsdb

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
)

// TestSnapshot takes snapshots of a database with blocks, flushed head parts
// and an open head chunk, and opens them as data directories: with the head
// they hold every sample, without it only the blocks' samples, and the block
// files are hard links, not copies.
func TestSnapshot(t *testing.T) {
	dir := t.TempDir()
	db := openTestDB(t, dir, testOptions())
	defer db.Close()
	a := labels.FromStrings("__name__", "up", "job", "a")
	b := labels.FromStrings("__name__", "up", "job", "b")
	want := map[string][]sample{}
	add := func(lset labels.Labels, s sample) {
		appendSamples(t, db, lset, s)
		want[lset.String()] = append(want[lset.String()], s)
	}
	for i := range 300 {
		ts := int64(1000 + i*10)
		add(a, sample{ts, float64(i)})
		if i%2 == 0 {
			add(b, sample{ts, staleNaN()})
		}
		if i == 150 {
			if err := db.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := db.Compact(); err != nil {
		t.Fatal(err)
	}
	if len(db.Blocks()) == 0 {
		t.Fatal("no block cut")
	}
	add(a, sample{5000, 1}) // in the open chunk only

	withHead := filepath.Join(dir, "snapshots", "full")
	if err := db.Snapshot(context.Background(), withHead, true); err != nil {
		t.Fatal(err)
	}
	blocksOnly := filepath.Join(dir, "snapshots", "blocks")
	if err := db.Snapshot(context.Background(), blocksOnly, false); err != nil {
		t.Fatal(err)
	}
	// The live database is unchanged.
	if got := query(t, db, math.MinInt64, math.MaxInt64); !equalSeries(got, want) {
		t.Fatalf("database changed by the snapshot: %v", got)
	}

	snap := openTestDB(t, withHead, testOptions())
	got := query(t, snap, math.MinInt64, math.MaxInt64)
	snap.Close()
	if !equalSeries(got, want) {
		t.Fatalf("snapshot with head:\ngot  %v\nwant %v", got, want)
	}

	snap = openTestDB(t, blocksOnly, testOptions())
	got = query(t, snap, math.MinInt64, math.MaxInt64)
	snap.Close()
	blocksEnd := db.Blocks()[len(db.Blocks())-1].meta.MaxTime
	for k, ss := range want {
		var inBlocks []sample
		for _, s := range ss {
			if s.t < blocksEnd {
				inBlocks = append(inBlocks, s)
			}
		}
		if len(inBlocks) == 0 {
			delete(want, k)
		} else {
			want[k] = inBlocks
		}
	}
	if !equalSeries(got, want) {
		t.Fatalf("snapshot without head:\ngot  %v\nwant %v", got, want)
	}

	// Block files are linked.
	blk := db.Blocks()[0]
	orig, err := os.Stat(filepath.Join(blk.dir, indexFilename))
	if err != nil {
		t.Fatal(err)
	}
	linked, err := os.Stat(filepath.Join(blocksOnly, blocksDir, filepath.Base(blk.dir), indexFilename))
	if err != nil {
		t.Fatal(err)
	}
	if orig.Sys().(*syscall.Stat_t).Ino != linked.Sys().(*syscall.Stat_t).Ino {
		t.Error("block index copied, not hard-linked")
	}
}

func TestSnapshotOfEmptyDB(t *testing.T) {
	dir := t.TempDir()
	db := openTestDB(t, dir, testOptions())
	defer db.Close()
	snapDir := filepath.Join(t.TempDir(), "snap")
	if err := db.Snapshot(context.Background(), snapDir, true); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(filepath.Join(snapDir, blocksDir))
	if err != nil || len(entries) != 0 {
		t.Fatalf("snapshot of an empty database: %v %v", entries, err)
	}
}

func TestHeadStatus(t *testing.T) {
	db := openTestDB(t, t.TempDir(), testOptions())
	defer db.Close()
	empty := db.HeadStatus(10)
	if empty.NumSeries != 0 || empty.MinTime != math.MaxInt64 || empty.MaxTime != math.MinInt64 {
		t.Fatalf("empty head: %+v", empty)
	}
	for i, lset := range []labels.Labels{
		labels.FromStrings("__name__", "up", "job", "a", "instance", "x"),
		labels.FromStrings("__name__", "up", "job", "b", "instance", "x"),
		labels.FromStrings("__name__", "http_requests_total", "job", "a", "instance", "x"),
	} {
		appendSamples(t, db, lset, sample{int64(1000 + i), 1})
	}
	st := db.HeadStatus(2)
	if st.NumSeries != 3 || st.MinTime != 1000 || st.MaxTime != 1002 || st.ChunkCount != 3 {
		t.Fatalf("head figures: %+v", st)
	}
	// Pairs: __name__ x2, job x2, instance x1.
	if st.NumLabelPairs != 5 {
		t.Errorf("label pairs %d, want 5", st.NumLabelPairs)
	}
	wantMetrics := []NameCount{{"up", 2}, {"http_requests_total", 1}}
	if len(st.SeriesCountByMetricName) != 2 || st.SeriesCountByMetricName[0] != wantMetrics[0] || st.SeriesCountByMetricName[1] != wantMetrics[1] {
		t.Errorf("series by metric: %v", st.SeriesCountByMetricName)
	}
	if st.SeriesCountByLabelValuePair[0] != (NameCount{"instance=x", 3}) {
		t.Errorf("series by pair: %v", st.SeriesCountByLabelValuePair)
	}
	// instance has one value; __name__ and job two.
	if len(st.LabelValueCountByLabelName) != 2 || st.LabelValueCountByLabelName[0] != (NameCount{"__name__", 2}) {
		t.Errorf("values by label: %v", st.LabelValueCountByLabelName)
	}
	// __name__: len("up")*2 + len("http_requests_total")*1 = 23.
	if st.MemoryInBytesByLabelName[0] != (NameCount{"__name__", 23}) {
		t.Errorf("bytes by label: %v", st.MemoryInBytesByLabelName)
	}
}
