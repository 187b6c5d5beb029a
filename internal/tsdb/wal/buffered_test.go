package wal

import (
	"errors"
	"syscall"
	"testing"
	"time"
)

// segmentBytes is the size of segment index in dir.
func segmentBytes(t *testing.T, dir string, index int) int64 {
	t.Helper()
	return fileSize(t, segmentPath(dir, index))
}

// TestLogBufferedWrittenBy checks every way held records reach the file,
// and that they keep their order with the records of Log.
func TestLogBufferedWrittenBy(t *testing.T) {
	t.Parallel()
	r := func(i int) []byte { return testRecord(i, 100+i) }
	tests := []struct {
		name string
		// write makes w write what it holds; it returns the records
		// logged, in order, after the held ones.
		write func(t *testing.T, w *WAL) [][]byte
		// seg is the segment holding the records afterwards.
		seg int
	}{
		{"log", func(t *testing.T, w *WAL) [][]byte {
			if err := w.Log(r(10)); err != nil {
				t.Fatal(err)
			}
			return [][]byte{r(10)}
		}, 0},
		{"sync", func(t *testing.T, w *WAL) [][]byte {
			if err := w.Sync(); err != nil {
				t.Fatal(err)
			}
			return nil
		}, 0},
		{"next_segment", func(t *testing.T, w *WAL) [][]byte {
			if _, err := w.NextSegment(); err != nil {
				t.Fatal(err)
			}
			return nil
		}, 0},
		{"size", func(t *testing.T, w *WAL) [][]byte {
			big := testRecord(11, maxHeldBytes)
			if err := w.LogBuffered(big); err != nil {
				t.Fatal(err)
			}
			return [][]byte{big}
		}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			w := openTest(t, dir, Options{SyncInterval: time.Hour, FlushDelay: time.Hour, SegmentSize: 4 << 20})
			held := [][]byte{r(0), r(1), r(2)}
			if err := w.LogBuffered(held[0]); err != nil {
				t.Fatal(err)
			}
			if err := w.LogBuffered(held[1:]...); err != nil {
				t.Fatal(err)
			}
			if n := segmentBytes(t, dir, 0); n != 0 {
				t.Fatalf("%d bytes written before anything made the WAL write them", n)
			}
			after := tc.write(t, w)
			if segmentBytes(t, dir, tc.seg) == 0 {
				t.Fatal("held records not written")
			}
			// Records logged afterwards follow them.
			if err := w.Log(r(20)); err != nil {
				t.Fatal(err)
			}
			closeTest(t, w)
			got, _ := replayAll(t, dir, 0)
			want := append(append(held, after...), r(20))
			equalRecords(t, got, want)
		})
	}
}

func TestLogBufferedTimer(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	w := openTest(t, dir, Options{SyncInterval: time.Hour, FlushDelay: 20 * time.Millisecond})
	defer closeTest(t, w)
	if err := w.LogBuffered(testRecord(0, 50)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return segmentBytes(t, dir, 0) > 0 })
	// The timer is armed again by the next held record.
	size := segmentBytes(t, dir, 0)
	if err := w.LogBuffered(testRecord(1, 50)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return segmentBytes(t, dir, 0) > size })
}

// TestLogBufferedAge checks that a call writes what is held once the oldest
// record has waited half of FlushDelay, without the timer.
func TestLogBufferedAge(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	delay := 400 * time.Millisecond
	w := openTest(t, dir, Options{SyncInterval: time.Hour, FlushDelay: delay})
	defer closeTest(t, w)
	start := time.Now()
	if err := w.LogBuffered(testRecord(0, 50)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(delay/2 + 10*time.Millisecond)
	if err := w.LogBuffered(testRecord(1, 50)); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) >= delay {
		t.Skip("the machine was too slow to tell the call from the timer")
	}
	if n, want := segmentBytes(t, dir, 0), encodedLen(50, 0)*2; n != want {
		t.Fatalf("%d bytes written, want both records (%d)", n, want)
	}
}

// TestLogBufferedRotation holds records across a segment boundary: those
// before it are written when the segment is closed.
func TestLogBufferedRotation(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	w := openTest(t, dir, Options{SyncInterval: time.Hour, FlushDelay: time.Hour, SegmentSize: 2 * PageSize})
	var want [][]byte
	for i := range 12 {
		rec := testRecord(i, PageSize/3)
		want = append(want, rec)
		if err := w.LogBuffered(rec); err != nil {
			t.Fatal(err)
		}
	}
	if segmentBytes(t, dir, 0) == 0 {
		t.Fatal("the first segment was not written when the records moved on")
	}
	closeTest(t, w)
	got, stats := replayAll(t, dir, 0)
	equalRecords(t, got, want)
	if len(stats.Corruptions) != 0 || stats.TornSegment != -1 {
		t.Fatalf("unexpected damage %+v", stats)
	}
}

func TestLogBufferedUnbuffered(t *testing.T) {
	t.Parallel()
	for name, opts := range map[string]Options{
		"no_delay":    {SyncInterval: time.Hour},
		"sync_always": {SyncInterval: -1, FlushDelay: time.Hour},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			w := openTest(t, dir, opts)
			defer closeTest(t, w)
			if err := w.LogBuffered(testRecord(0, 50)); err != nil {
				t.Fatal(err)
			}
			if segmentBytes(t, dir, 0) == 0 {
				t.Fatal("LogBuffered held a record")
			}
		})
	}
}

// TestLogBufferedDiskFull checks that a failed write of held records loses
// them and the call's, and that the WAL goes on.
func TestLogBufferedDiskFull(t *testing.T) {
	t.Parallel()
	ff := &faultFiles{budget: 0}
	dir := t.TempDir()
	w := openFault(t, dir, Options{SyncInterval: time.Hour, FlushDelay: time.Hour}, ff)
	if err := w.LogBuffered(testRecord(0, 50)); err != nil {
		t.Fatal(err)
	}
	if err := w.Log(testRecord(1, 50)); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Log error %v, want ENOSPC", err)
	}
	ff.set(func(ff *faultFiles) { ff.budget = -1 })
	if err := w.LogBuffered(testRecord(2, 50)); err != nil {
		t.Fatal(err)
	}
	closeTest(t, w)
	got, _ := replayAll(t, dir, 0)
	equalRecords(t, got, [][]byte{testRecord(2, 50)})
}
