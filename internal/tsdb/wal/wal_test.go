package wal

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestEncodedLen(t *testing.T) {
	t.Parallel()
	sizes := []int{0, 1, 100, PageSize - 2*headerSize, PageSize - headerSize - 1, PageSize - headerSize, PageSize - headerSize + 1, PageSize, 3*PageSize + 17}
	for _, pos := range []int64{0, 1, 100, PageSize - headerSize - 1, PageSize - headerSize, PageSize - headerSize + 1, PageSize - 1, 5 * PageSize} {
		for _, n := range sizes {
			got := appendRecord(nil, pos, make([]byte, n))
			if want := encodedLen(n, pos); int64(len(got)) != want {
				t.Errorf("pos %d size %d: appendRecord wrote %d bytes, encodedLen says %d", pos, n, len(got), want)
			}
		}
	}
	for _, seg := range []int64{PageSize, PageSize + headerSize, PageSize + headerSize + 1, 3*PageSize + 1000, DefaultSegmentSize} {
		m := maxRecordSize(seg)
		if encodedLen(m, 0) > seg || encodedLen(m+1, 0) <= seg {
			t.Errorf("segment size %d: max record %d is not the largest that fits", seg, m)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	fill := PageSize - headerSize // exactly one page
	tests := []struct {
		name  string
		sizes []int
	}{
		{"empty_record", []int{0}},
		{"many_empty", []int{0, 0, 0, 0, 0}},
		{"one_byte", []int{1}},
		{"exact_page", []int{fill, fill, 0}},
		{"page_plus_one", []int{fill + 1, 1}},
		{"page_minus_one", []int{fill - 1, 0, 5}},
		{"leave_header_size", []int{fill - headerSize, 10}},
		{"leave_less_than_header", []int{fill - headerSize + 1, 10, fill - 3, 0}},
		{"many_pages", []int{3*PageSize + 123}},
		{"mixed", []int{3, 40000, 0, 70000, 1, fill, 5, 2 * fill, 100}},
		{"max_record", []int{maxRecordSize(4 * PageSize), 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			w := openTest(t, dir, Options{SyncInterval: time.Hour, SegmentSize: 4 * PageSize})
			var want [][]byte
			for i, n := range tc.sizes {
				want = append(want, testRecord(i, n))
			}
			// One record per call, then all in one call.
			for _, r := range want {
				if err := w.Log(r); err != nil {
					t.Fatalf("Log: %v", err)
				}
			}
			if err := w.Log(want...); err != nil {
				t.Fatalf("Log: %v", err)
			}
			closeTest(t, w)
			got, stats := replayAll(t, dir, 0)
			equalRecords(t, got, append(want, want...))
			if len(stats.Corruptions)+len(stats.Missing) != 0 || stats.TornSegment != -1 {
				t.Fatalf("unexpected damage: %+v", stats)
			}
		})
	}
}

func TestLogRejectsTooLargeRecord(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	w := openTest(t, dir, Options{SyncInterval: time.Hour, SegmentSize: 2 * PageSize})
	max := maxRecordSize(2 * PageSize)
	for _, n := range []int{max + 1, 2 * PageSize, 10 * PageSize} {
		err := w.Log(testRecord(0, 1), testRecord(1, n))
		if !errors.Is(err, ErrRecordTooLarge) {
			t.Fatalf("size %d: got %v, want ErrRecordTooLarge", n, err)
		}
	}
	if err := w.Log(testRecord(2, max)); err != nil {
		t.Fatalf("record of the maximum size: %v", err)
	}
	closeTest(t, w)
	got, _ := replayAll(t, dir, 0)
	equalRecords(t, got, [][]byte{testRecord(2, max)}) // nothing of the rejected calls
}

func TestRotation(t *testing.T) {
	t.Parallel()
	const segSize = 3 * PageSize
	dir := t.TempDir()
	w := openTest(t, dir, Options{SyncInterval: time.Hour, SegmentSize: segSize})
	var want [][]byte
	for i := range 200 {
		r := testRecord(i, (i*3779)%(2*PageSize))
		if err := w.Log(r, r); err != nil { // pairs also rotate inside a call
			t.Fatal(err)
		}
		want = append(want, r, r)
	}
	closeTest(t, w)
	first, last, err := w.Segments()
	if err != nil || first != 0 || last < 10 {
		t.Fatalf("Segments = %d, %d, %v; want 0 and at least 10", first, last, err)
	}
	for idx := first; idx <= last; idx++ {
		data, err := os.ReadFile(segmentPath(dir, idx))
		if err != nil {
			t.Fatal(err)
		}
		if len(data) > segSize {
			t.Fatalf("segment %d has %d bytes, limit %d", idx, len(data), segSize)
		}
		// Records never span segments, so each parses cleanly alone.
		if res := parseBytes(data); len(res.closed) != 0 || res.torn {
			t.Fatalf("segment %d does not hold whole records: %+v %+v", idx, res.closed, res.tail)
		}
	}
	got, _ := replayAll(t, dir, 0)
	equalRecords(t, got, want)
}

func TestNextSegment(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	w := openTest(t, dir, quietOpts())
	defer closeTest(t, w)
	for i := range 3 {
		if err := w.Log(testRecord(i, 100)); err != nil {
			t.Fatal(err)
		}
		idx, err := w.NextSegment()
		if err != nil || idx != i+1 {
			t.Fatalf("NextSegment = %d, %v; want %d", idx, err, i+1)
		}
		// Everything logged before is in segments below idx.
		got, _ := replayAll(t, dir, 0)
		var want [][]byte
		for j := 0; j <= i; j++ {
			want = append(want, testRecord(j, 100))
		}
		equalRecords(t, got, want)
		stats, err := w.Replay(context.Background(), 0, func([]byte) error { return nil })
		if err != nil || stats.Records != i+1 || stats.Last != i {
			t.Fatalf("WAL.Replay: %+v, %v", stats, err)
		}
	}
}

func TestTruncate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		before    int
		wantFirst int
	}{
		{"nothing", 0, 0},
		{"some", 3, 3},
		{"all_but_current", 5, 5},
		{"beyond_current", 100, 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			w := openTest(t, dir, quietOpts())
			defer closeTest(t, w)
			for range 5 {
				if _, err := w.NextSegment(); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Truncate(tc.before); err != nil {
				t.Fatal(err)
			}
			first, last, err := w.Segments()
			if err != nil || first != tc.wantFirst || last != 5 {
				t.Fatalf("Segments = %d, %d, %v; want %d, 5", first, last, err, tc.wantFirst)
			}
			if err := w.Log([]byte("still writable")); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestReopenStartsNewSegment(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var want [][]byte
	for round := range 3 {
		w := openTest(t, dir, quietOpts())
		if _, last, _ := w.Segments(); last != round {
			t.Fatalf("round %d: writing segment %d", round, last)
		}
		r := testRecord(round, 1000)
		want = append(want, r)
		if err := w.Log(r); err != nil {
			t.Fatal(err)
		}
		closeTest(t, w)
	}
	got, stats := replayAll(t, dir, 0)
	equalRecords(t, got, want)
	if stats.Segments != 3 {
		t.Fatalf("%d segments, want 3", stats.Segments)
	}
}

func TestConcurrentLog(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	w := openTest(t, dir, Options{SyncInterval: time.Millisecond, SegmentSize: 4 * PageSize})
	const writers, perWriter = 8, 200
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for i := range perWriter {
				rec := []byte(fmt.Sprintf("%d/%d/%s", g, i, strings.Repeat("x", (i*97)%3000)))
				if err := w.Log(rec); err != nil {
					t.Error(err)
					return
				}
				if i%50 == 0 {
					if err := w.Sync(); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Go(func() {
		for range 5 {
			if _, err := w.NextSegment(); err != nil {
				t.Error(err)
			}
			time.Sleep(time.Millisecond)
		}
	})
	wg.Wait()
	closeTest(t, w)
	next := make([]int, writers)
	got, stats := replayAll(t, dir, 0)
	for _, r := range got {
		var g, i int
		if _, err := fmt.Sscanf(string(r), "%d/%d/", &g, &i); err != nil {
			t.Fatalf("bad record %q: %v", head(r), err)
		}
		if i != next[g] {
			t.Fatalf("writer %d: record %d after %d", g, i, next[g]-1)
		}
		next[g]++
	}
	if len(got) != writers*perWriter || len(stats.Corruptions) != 0 {
		t.Fatalf("%d records, want %d; stats %+v", len(got), writers*perWriter, stats)
	}
}

func TestClosed(t *testing.T) {
	t.Parallel()
	w := openTest(t, t.TempDir(), Options{})
	closeTest(t, w)
	if err := w.Log(nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Log: %v", err)
	}
	if err := w.Sync(); !errors.Is(err, ErrClosed) {
		t.Errorf("Sync: %v", err)
	}
	if _, err := w.NextSegment(); !errors.Is(err, ErrClosed) {
		t.Errorf("NextSegment: %v", err)
	}
	if err := w.Truncate(1); !errors.Is(err, ErrClosed) {
		t.Errorf("Truncate: %v", err)
	}
	if _, err := w.Replay(context.Background(), 0, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Replay: %v", err)
	}
	if err := w.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("Close: %v", err)
	}
}

func TestOptionsValidation(t *testing.T) {
	t.Parallel()
	for _, size := range []int64{-1, 1, PageSize - 1} {
		if _, err := Open(t.TempDir(), Options{SegmentSize: size}); err == nil {
			t.Errorf("segment size %d accepted", size)
		}
	}
	dir := t.TempDir() + "/nested/wal"
	w := openTest(t, dir, Options{})
	if w.Dir() != dir {
		t.Errorf("Dir = %q", w.Dir())
	}
	closeTest(t, w)
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	dir := t.TempDir()
	opts := Options{SyncInterval: -1, Registerer: reg, MetricsPrefix: "argus_tsdb_series_log_"}
	w := openTest(t, dir, opts)
	if err := w.Log(make([]byte, 10), make([]byte, 20)); err != nil {
		t.Fatal(err)
	}
	if _, err := w.NextSegment(); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]float64{
		"argus_tsdb_series_log_records_written_total": 2,
		"argus_tsdb_series_log_bytes_written_total":   2*headerSize + 30,
		"argus_tsdb_series_log_fsyncs_total":          1,
		"argus_tsdb_series_log_segment_current":       1,
		"argus_tsdb_series_log_write_failures_total":  0,
	} {
		if got := gather(t, reg, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	// Damage in a closed segment is counted by WAL.Replay.
	if err := os.WriteFile(segmentPath(dir, 0), []byte{9, 9, 9, 9, 9, 9, 9, 9, 9}, 0o666); err != nil {
		t.Fatal(err)
	}
	if _, err := w.NextSegment(); err != nil { // segment 0 is no longer the last with data
		t.Fatal(err)
	}
	if err := w.Log([]byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := w.NextSegment(); err != nil {
		t.Fatal(err)
	}
	stats, err := w.Replay(context.Background(), 0, func([]byte) error { return nil })
	if err != nil || len(stats.Corruptions) != 1 {
		t.Fatalf("Replay: %+v, %v", stats, err)
	}
	if got := gather(t, reg, "argus_tsdb_series_log_replay_corruptions_total"); got != 1 {
		t.Errorf("corruptions = %v, want 1", got)
	}
	closeTest(t, w)
	// Close unregisters, so the same registry can be used again.
	closeTest(t, openTest(t, dir, opts))
}

func gather(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			m := mf.GetMetric()[0]
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue()
			case m.Gauge != nil:
				return m.Gauge.GetValue()
			}
		}
	}
	t.Fatalf("metric %s not found", name)
	return 0
}

func TestLogAllocs(t *testing.T) {
	w := openTest(t, t.TempDir(), quietOpts())
	defer closeTest(t, w)
	rec := make([]byte, 1024)
	batch := [][]byte{rec, rec[:100], rec[:10]}
	if err := w.Log(batch...); err != nil { // grow the encode buffer
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(1000, func() {
		if err := w.Log(rec); err != nil {
			t.Fatal(err)
		}
		if err := w.Log(batch...); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("Log allocates %v times per call in steady state, want 0", allocs)
	}
}
