package wal

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"slices"
	"testing"
	"time"
)

// FuzzReplay feeds arbitrary bytes to Replay as a segment, both as the last
// segment (whose damaged tail is cut) and as one followed by another. It
// must not panic or hang, its stats must be consistent, and replaying the
// repaired directory again must give the same records with nothing to cut.
// Each input costs file I/O and often an fsync, so bound minimisation:
//
//	go test ./internal/tsdb/wal -run '^$' -fuzz '^FuzzReplay$' -fuzzminimizetime 200x
func FuzzReplay(f *testing.F) {
	valid := encodeAll([][]byte{testRecord(0, 10), testRecord(1, PageSize+100), testRecord(2, 0), testRecord(3, 3000)})
	f.Add([]byte{})
	f.Add(valid)
	f.Add(valid[:len(valid)-1])
	f.Add(valid[:PageSize+3])
	f.Add(make([]byte, PageSize+10))
	flipped := slices.Clone(valid)
	flipped[20] ^= 4
	f.Add(flipped)
	f.Add([]byte{fragMiddle, 0, 0, 0, 0, 0, 0, fragFull, 0xff, 0xff})
	// Fragment sequences, given valid checksums by withValidCRCs.
	f.Add([]byte{fragFirst, 1, 0, 0, 0, 0, 0, 'a', fragFull, 1, 0, 0, 0, 0, 0, 'b', fragLast, 1, 0, 0, 0, 0, 0, 'c', fragMiddle, 0, 0, 0, 0, 0, 0})
	// One directory per fuzzing process: creating one per input would
	// cost more than the replay itself.
	dir, err := os.MkdirTemp("", "FuzzReplay")
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = os.RemoveAll(dir) })
	f.Fuzz(func(t *testing.T, data []byte) {
		checkReplay(t, dir, data)
		// Random bytes almost never carry a valid checksum; the same
		// bytes with fixed checksums exercise fragment sequencing.
		checkReplay(t, dir, withValidCRCs(data))
	})
}

// withValidCRCs returns a copy of data in which every fragment the parser
// would read gets a correct checksum.
func withValidCRCs(data []byte) []byte {
	data = slices.Clone(data)
	for base := 0; base < len(data); base += PageSize {
		page := data[base:min(base+PageSize, len(data))]
		for po := 0; PageSize-po >= headerSize && len(page)-po >= headerSize; {
			end := po + headerSize + int(binary.LittleEndian.Uint16(page[po+1:]))
			if end > len(page) {
				break
			}
			binary.LittleEndian.PutUint32(page[po+3:], fragmentCRC(page[po:po+3], page[po+headerSize:end]))
			po = end
		}
	}
	return data
}

// checkReplay is the body of FuzzReplay for one segment's bytes.
func checkReplay(t *testing.T, dir string, data []byte) {
	t.Helper()
	ctx := context.Background()
	var recs [][]byte
	collect := func(rec []byte) error {
		recs = append(recs, slices.Clone(rec))
		return nil
	}

	// Not the last segment: damage is reported, nothing is cut.
	writeSegment(t, dir, 0, data)
	writeSegment(t, dir, 1, encodeAll([][]byte{[]byte("end")}))
	stats, err := Replay(ctx, dir, 0, nil, collect)
	if err != nil {
		t.Fatalf("Replay: %v", err)
	}
	if stats.TornSegment != -1 || stats.Records != len(recs) || len(recs) == 0 || string(recs[len(recs)-1]) != "end" {
		t.Fatalf("as a middle segment: %d records, stats %+v", len(recs), stats)
	}
	if fileSize(t, segmentPath(dir, 0)) != int64(len(data)) {
		t.Fatal("a middle segment was cut")
	}
	for _, c := range stats.Corruptions {
		if c.Segment != 0 || c.Offset < 0 || c.Skipped <= 0 || c.Offset+c.Skipped > int64(len(data)) || c.Err == nil {
			t.Fatalf("inconsistent corruption %+v in %d bytes", c, len(data))
		}
	}
	want := recs[:len(recs)-1]
	if res := parseBytes(data); len(res.recs) != len(want) {
		t.Fatalf("parser delivers %d records, Replay %d", len(res.recs), len(want))
	}

	// The last segment: the same records, and a damaged tail is cut.
	if err := os.Remove(segmentPath(dir, 1)); err != nil {
		t.Fatal(err)
	}
	recs = nil
	stats, err = Replay(ctx, dir, 0, nil, collect)
	if err != nil {
		t.Fatalf("Replay: %v", err)
	}
	equalRecords(t, recs, want)
	if size := fileSize(t, segmentPath(dir, 0)); size != int64(len(data))-stats.TornBytes {
		t.Fatalf("file has %d bytes after cutting %d of %d", size, stats.TornBytes, len(data))
	}

	// Cutting is idempotent.
	recs = nil
	again, err := Replay(ctx, dir, 0, nil, collect)
	if err != nil {
		t.Fatal(err)
	}
	if again.TornSegment != -1 || len(again.Corruptions) != len(stats.Corruptions) {
		t.Fatalf("repair not idempotent: first %+v, then %+v", stats, again)
	}
	equalRecords(t, recs, want)
}

// FuzzRoundTrip logs records whose sizes and batching come from the input
// into small segments and checks that they all replay unchanged.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte{0, 1, 2, 0x83, 127, 0xff, 63}, uint8(0))
	f.Add([]byte{62, 62, 62, 62, 62, 62}, uint8(1))
	f.Add([]byte{0x80, 0x80, 0x80}, uint8(3))
	f.Add([]byte{125, 126, 127}, uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, segPages uint8) {
		segSize := int64(1+segPages%4) * PageSize
		dir := t.TempDir()
		w := openTest(t, dir, Options{SegmentSize: segSize, SyncInterval: time.Hour})
		var want, batch [][]byte
		flush := func() {
			if err := w.Log(batch...); err != nil {
				t.Fatalf("Log: %v", err)
			}
			want = append(want, batch...)
			batch = batch[:0]
		}
		for i, b := range data[:min(len(data), 64)] {
			// Up to 66 KiB: beyond the largest segment's limit, and
			// crossing pages at many different offsets.
			rec := testRecord(i, int(b&0x7f)*521)
			if len(rec) > maxRecordSize(segSize) {
				if err := w.Log(rec); !errors.Is(err, ErrRecordTooLarge) {
					t.Fatalf("record of %d bytes: got %v, want ErrRecordTooLarge", len(rec), err)
				}
				continue
			}
			batch = append(batch, rec)
			if b&0x80 != 0 {
				flush()
			}
		}
		flush()
		closeTest(t, w)
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if fi, err := e.Info(); err != nil || fi.Size() > segSize {
				t.Fatalf("segment %s: %v, larger than %d", e.Name(), err, segSize)
			}
		}
		got, stats := replayAll(t, dir, 0)
		equalRecords(t, got, want)
		if len(stats.Corruptions)+len(stats.Missing) != 0 || stats.TornSegment != -1 {
			t.Fatalf("unexpected damage: %+v", stats)
		}
	})
}
