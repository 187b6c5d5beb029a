package wal

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"testing"
	"time"
)

// damageRecords returns records laid out over six pages with full, first,
// middle and last fragments, page padding and exact page fills.
func damageRecords() [][]byte {
	sizes := []int{10, 500, 3000, PageSize + 2000, 20, 0, 7000, 2*PageSize + 100, 30, PageSize - headerSize, 1, 12000, 5, 40, 900, 16000, 3}
	var recs [][]byte
	for i, n := range sizes {
		recs = append(recs, testRecord(i, n))
	}
	return recs
}

func writeSegment(t *testing.T, dir string, index int, data []byte) {
	t.Helper()
	if err := os.WriteFile(segmentPath(dir, index), data, 0o666); err != nil {
		t.Fatal(err)
	}
}

// TestTornTail cuts the last page at every byte offset: all records that
// end before the cut must replay, the file must be cut back to the last of
// them, and a second replay must find nothing to repair. Every offset goes
// through the parser; Replay on real files, which adds only the cutting,
// runs at offsets near record ends and page padding and at a stride, since
// running it at all 32768 offsets takes half a minute.
func TestTornTail(t *testing.T) {
	t.Parallel()
	// Two pages: a record crosses into the second, which ends with records
	// and padding, so cuts hit headers, payloads and padding.
	recs := [][]byte{testRecord(0, 100), testRecord(1, PageSize), testRecord(2, 9000), testRecord(3, 0), testRecord(4, 4000)}
	for i := 5; ; i++ {
		_, ends := layout(recs)
		if ends[len(ends)-1] > 2*PageSize-300 {
			break
		}
		recs = append(recs, testRecord(i, 250))
	}
	recs = append(recs, testRecord(99, 2*PageSize-int(layout1(recs))-headerSize-3)) // leaves 3 bytes of padding
	_, ends := layout(recs)
	data := encodeAll(recs)
	if int64(len(data)) != ends[len(ends)-1] || len(data) != 2*PageSize-3 {
		t.Fatalf("encoded %d bytes, layout says %d", len(data), ends[len(ends)-1])
	}
	data = append(data, 0, 0, 0)
	dir := t.TempDir()
	for cut := PageSize; cut <= len(data); cut++ {
		var want [][]byte
		var lastEnd int64
		for i, e := range ends {
			if e <= int64(cut) {
				want, lastEnd = recs[:i+1], e
			}
		}
		// A cut in the padding after a record, or at its end, is clean.
		pad := PageSize - lastEnd%PageSize
		clean := int64(cut) == lastEnd || pad < headerSize && int64(cut)-lastEnd <= pad
		res := parseBytes(data[:cut])
		equalRecords(t, res.recs, want)
		if len(res.closed) != 0 || res.torn == clean || res.torn && res.goodEnd != lastEnd {
			t.Fatalf("cut %d: torn %v at %d, closed %+v; want torn %v at %d", cut, res.torn, res.goodEnd, res.closed, !clean, lastEnd)
		}
		if cut%37 != 0 && int64(cut)-lastEnd > 2*headerSize && len(data)-cut > 2*headerSize {
			continue
		}
		writeSegment(t, dir, 0, data[:cut])
		got, stats := replayAll(t, dir, 0)
		equalRecords(t, got, want)
		wantSize, wantTorn := int64(cut), -1
		if !clean {
			wantSize, wantTorn = lastEnd, 0
		}
		size := fileSize(t, segmentPath(dir, 0))
		if len(stats.Corruptions) != 0 || stats.TornSegment != wantTorn || size != wantSize || stats.TornBytes != int64(cut)-wantSize {
			t.Fatalf("cut %d: file %d bytes, stats %+v; want %d bytes", cut, size, stats, wantSize)
		}
		got, stats = replayAll(t, dir, 0)
		equalRecords(t, got, want)
		if stats.TornSegment != -1 || len(stats.Corruptions) != 0 {
			t.Fatalf("cut %d: second replay not clean: %+v", cut, stats)
		}
	}
}

// layout1 returns where the next record would start to be encoded.
func layout1(recs [][]byte) int64 {
	_, ends := layout(recs)
	return ends[len(ends)-1]
}

// TestBitFlips flips bits in the middle of a segment, which is followed by
// another one or is the last one. Only records touching the damaged page may
// be lost, no wrong record may be delivered, the damage must be reported,
// and the segment must not be cut.
func TestBitFlips(t *testing.T) {
	t.Parallel()
	recs := damageRecords()
	starts, ends := layout(recs)
	data := encodeAll(recs)
	pages := (len(data) + PageSize - 1) / PageSize
	tests := []struct {
		name     string
		followed bool // another segment follows
	}{
		{"followed_segment", true},
		{"last_segment", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			if tc.followed {
				writeSegment(t, dir, 1, encodeAll([][]byte{testRecord(99, 10)}))
			}
			// Every page but the last, so that good records follow.
			for page := 0; page < pages-1; page++ {
				for _, po := range []int{0, 1, 2, 3, 5, 8, 100, 2001, 7000, PageSize - 3, PageSize - 1} {
					off := page*PageSize + po
					for _, bit := range []byte{0x01, 0x80} {
						damaged := append([]byte(nil), data...)
						damaged[off] ^= bit
						writeSegment(t, dir, 0, damaged)
						got, stats := replayAll(t, dir, 0)
						if tc.followed {
							got = got[:len(got)-1]
						}
						checkFlip(t, off, got, recs, starts, ends)
						if len(stats.Corruptions) == 0 || stats.Corruptions[0].Segment != 0 || stats.TornSegment != -1 {
							t.Fatalf("flip at %d: stats %+v", off, stats)
						}
						if size := fileSize(t, segmentPath(dir, 0)); size != int64(len(data)) {
							t.Fatalf("flip at %d: segment cut to %d bytes", off, size)
						}
					}
				}
			}
		})
	}
}

func checkFlip(t *testing.T, off int, got, recs [][]byte, starts, ends []int64) {
	t.Helper()
	if !isSubsequence(got, recs) {
		t.Fatalf("flip at %d: a wrong record was delivered", off)
	}
	page := int64(off / PageSize)
	var want [][]byte
	for i := range recs {
		if ends[i] <= page*PageSize || starts[i] >= (page+1)*PageSize {
			want = append(want, recs[i])
		}
	}
	if !isSubsequence(want, got) {
		t.Fatalf("flip at %d (page %d): lost a record outside the damaged page", off, page)
	}
}

// TestHeaderBitFlipsNeverDeliverWrongRecords flips every bit of every
// fragment header. It fails if the checksum covers only the payload: a
// middle fragment flipped to full or first is then delivered as (part of) a
// record that was never logged.
func TestHeaderBitFlipsNeverDeliverWrongRecords(t *testing.T) {
	t.Parallel()
	recs := damageRecords()
	data := encodeAll(recs)
	types := map[byte]bool{}
	for off := 0; off < len(data); {
		po := off % PageSize
		if PageSize-po < headerSize {
			off += PageSize - po
			continue
		}
		for i := range headerSize * 8 {
			damaged := append([]byte(nil), data...)
			damaged[off+i/8] ^= 1 << (i % 8)
			res := parseBytes(damaged)
			if !isSubsequence(res.recs, recs) {
				t.Fatalf("header at %d bit %d: a wrong record was delivered", off, i)
			}
			if len(res.closed) == 0 && !res.torn {
				t.Fatalf("header at %d bit %d: damage not detected", off, i)
			}
			types[data[off]] = true
		}
		off += headerSize + int(binary.LittleEndian.Uint16(data[off+1:]))
	}
	if len(types) != 4 {
		t.Fatalf("fragment types covered: %v, want all four", types)
	}
}

func TestReplayMissingAndUnreadable(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, idx := range []int{2, 3, 6, 10} {
		writeSegment(t, dir, idx, encodeAll([][]byte{testRecord(idx, 10)}))
	}
	if err := os.Mkdir(segmentPath(dir, 4), 0o777); err != nil {
		t.Fatal(err)
	}
	// Not segments: ignored.
	for _, name := range []string{"00000007.tmp", "000000008", "checkpoint.00000009", "123"} {
		if err := os.WriteFile(dir+"/"+name, []byte("junk"), 0o666); err != nil {
			t.Fatal(err)
		}
	}
	got, stats := replayAll(t, dir, 0)
	equalRecords(t, got, [][]byte{testRecord(2, 10), testRecord(3, 10), testRecord(6, 10), testRecord(10, 10)})
	want := []SegmentRange{{5, 5}, {7, 9}}
	if len(stats.Missing) != 2 || stats.Missing[0] != want[0] || stats.Missing[1] != want[1] {
		t.Errorf("Missing = %v, want %v", stats.Missing, want)
	}
	if len(stats.Corruptions) != 1 || stats.Corruptions[0].Segment != 4 {
		t.Errorf("Corruptions = %+v, want segment 4 unreadable", stats.Corruptions)
	}
	if stats.First != 2 || stats.Last != 10 || stats.Segments != 5 {
		t.Errorf("First, Last, Segments = %d, %d, %d", stats.First, stats.Last, stats.Segments)
	}

	got, stats = replayAll(t, dir, 6)
	equalRecords(t, got, [][]byte{testRecord(6, 10), testRecord(10, 10)})
	if stats.First != 6 || len(stats.Missing) != 1 {
		t.Errorf("from 6: %+v", stats)
	}
}

func TestReplayEdgeCases(t *testing.T) {
	t.Parallel()
	t.Run("missing_dir", func(t *testing.T) {
		got, stats := replayAll(t, t.TempDir()+"/none", 0)
		if len(got) != 0 || stats.First != -1 || stats.TornSegment != -1 {
			t.Fatalf("%v %+v", got, stats)
		}
	})
	t.Run("fn_error", func(t *testing.T) {
		dir := t.TempDir()
		writeSegment(t, dir, 0, encodeAll([][]byte{testRecord(0, 10), testRecord(1, 10)}))
		stop := errors.New("stop")
		n := 0
		_, err := Replay(context.Background(), dir, 0, nil, func([]byte) error {
			n++
			return stop
		})
		if !errors.Is(err, stop) || n != 1 {
			t.Fatalf("err %v after %d records", err, n)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		dir := t.TempDir()
		writeSegment(t, dir, 0, encodeAll([][]byte{testRecord(0, 10)}))
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := Replay(ctx, dir, 0, nil, func([]byte) error { return nil }); !errors.Is(err, context.Canceled) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("torn_segment_before_empty_ones", func(t *testing.T) {
		// A writer crashed mid-record, and after restarts that logged
		// nothing, empty segments follow: the torn one is still cut.
		dir := t.TempDir()
		data := encodeAll([][]byte{testRecord(0, 10), testRecord(1, 5000)})
		writeSegment(t, dir, 0, data[:len(data)-10])
		writeSegment(t, dir, 1, nil)
		writeSegment(t, dir, 2, nil)
		got, stats := replayAll(t, dir, 0)
		equalRecords(t, got, [][]byte{testRecord(0, 10)})
		if stats.TornSegment != 0 || len(stats.Corruptions) != 0 {
			t.Fatalf("%+v", stats)
		}
	})
	t.Run("zero_filled_tail", func(t *testing.T) {
		// Some filesystems show zeros where a crash lost appended data.
		dir := t.TempDir()
		data := encodeAll([][]byte{testRecord(0, 10)})
		writeSegment(t, dir, 0, append(data, make([]byte, 3*PageSize)...))
		got, stats := replayAll(t, dir, 0)
		equalRecords(t, got, [][]byte{testRecord(0, 10)})
		if stats.TornSegment != 0 || fileSize(t, segmentPath(dir, 0)) != int64(len(data)) {
			t.Fatalf("%+v", stats)
		}
	})
	t.Run("corrupt_end_of_closed_segment", func(t *testing.T) {
		dir := t.TempDir()
		data := encodeAll([][]byte{testRecord(0, 10), testRecord(1, 100)})
		writeSegment(t, dir, 0, data[:len(data)-1])
		writeSegment(t, dir, 1, encodeAll([][]byte{testRecord(2, 10)}))
		got, stats := replayAll(t, dir, 0)
		equalRecords(t, got, [][]byte{testRecord(0, 10), testRecord(2, 10)})
		c := stats.Corruptions
		if len(c) != 1 || c[0].Segment != 0 || c[0].Offset != 17 || c[0].Skipped != int64(len(data)-1-17) || stats.TornSegment != -1 {
			t.Fatalf("%+v", stats)
		}
	})
}

// TestWALReplaySkipsCurrentSegment checks that WAL.Replay leaves the segment
// being written alone even when it looks torn to a reader.
func TestWALReplaySkipsCurrentSegment(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	old := encodeAll([][]byte{testRecord(0, 10), testRecord(1, 3000)})
	writeSegment(t, dir, 0, old[:len(old)-5]) // crashed writer
	w := openTest(t, dir, Options{SyncInterval: time.Hour})
	defer closeTest(t, w)
	if err := w.Log(testRecord(2, 10)); err != nil {
		t.Fatal(err)
	}
	var n int
	stats, err := w.Replay(context.Background(), 0, func([]byte) error { n++; return nil })
	if err != nil || n != 1 || stats.TornSegment != 0 || stats.Last != 0 {
		t.Fatalf("Replay: %d records, %+v, %v", n, stats, err)
	}
	if size := fileSize(t, segmentPath(dir, 1)); size != 17 {
		t.Fatalf("current segment has %d bytes, want 17", size)
	}
}
