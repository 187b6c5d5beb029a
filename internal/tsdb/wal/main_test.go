package wal

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testRecord returns a deterministic record of size bytes, distinct per i.
func testRecord(i, size int) []byte {
	b := make([]byte, size)
	for j := range b {
		b[j] = byte(i*131 + j*7 + j>>8)
	}
	if size >= 4 {
		binary.LittleEndian.PutUint32(b, uint32(i))
	}
	return b
}

// quietOpts are options for tests that must not see background fsyncs.
func quietOpts() Options {
	return Options{SyncInterval: time.Hour}
}

func openTest(t testing.TB, dir string, opts Options) *WAL {
	t.Helper()
	w, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return w
}

func closeTest(t testing.TB, w *WAL) {
	t.Helper()
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// replayAll replays dir from segment from and returns copies of the records.
func replayAll(t testing.TB, dir string, from int) ([][]byte, ReplayStats) {
	t.Helper()
	var recs [][]byte
	stats, err := Replay(context.Background(), dir, from, nil, func(rec []byte) error {
		recs = append(recs, slices.Clone(rec))
		return nil
	})
	if err != nil {
		t.Fatalf("Replay: %v", err)
	}
	return recs, stats
}

func equalRecords(t testing.TB, got, want [][]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d", len(got), len(want))
	}
	for i := range got {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("record %d: got %d bytes %x..., want %d bytes %x...", i, len(got[i]), head(got[i]), len(want[i]), head(want[i]))
		}
	}
}

func head(b []byte) []byte { return b[:min(len(b), 8)] }

// isSubsequence reports whether got is want with some records left out, in
// order, so that no wrong or reordered record was delivered.
func isSubsequence(got, want [][]byte) bool {
	j := 0
	for _, g := range got {
		for j < len(want) && !bytes.Equal(g, want[j]) {
			j++
		}
		if j == len(want) {
			return false
		}
		j++
	}
	return true
}

func segmentPath(dir string, index int) string {
	return filepath.Join(dir, segmentName(index))
}

func fileSize(t testing.TB, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// layout returns where each record lands when written from offset 0 into
// one segment: [start, end) of its fragments, padding excluded.
func layout(recs [][]byte) (starts, ends []int64) {
	var pos int64
	for _, r := range recs {
		start := pos
		if PageSize-start%PageSize < headerSize {
			start += PageSize - start%PageSize
		}
		pos += encodedLen(len(r), pos)
		starts, ends = append(starts, start), append(ends, pos)
	}
	return starts, ends
}

// encodeAll returns recs encoded as one segment.
func encodeAll(recs [][]byte) []byte {
	var b []byte
	for _, r := range recs {
		b = appendRecord(b, int64(len(b)), r)
	}
	return b
}

// parsed is the result of running the parser over an in-memory segment.
type parsed struct {
	recs    [][]byte
	closed  []Corruption // damage followed by good records
	tail    Corruption   // damage reaching the end, valid if torn
	torn    bool
	goodEnd int64 // where Replay would cut a torn last segment
}

// parseBytes runs the parser as Replay does, without files.
func parseBytes(data []byte) parsed {
	var res parsed
	var p parser
	p.reset(func(rec []byte) error {
		res.recs = append(res.recs, slices.Clone(rec))
		return nil
	})
	for i := 0; i < len(data); i += PageSize {
		_ = p.page(int64(i), data[i:min(i+PageSize, len(data))])
	}
	res.tail, res.torn = p.finish(int64(len(data)))
	res.closed, res.goodEnd = p.closed, p.goodEnd
	return res
}
