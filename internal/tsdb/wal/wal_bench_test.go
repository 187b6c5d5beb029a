// Benchmarks for the WAL hot paths. Run and compare with:
//
//	go test ./internal/tsdb/wal -run '^$' -bench . -benchmem -count 6 | tee wal-bench.txt
//	benchstat wal-bench.txt
//
// Log writes into the filesystem of t.TempDir, where dirty-page throttling
// makes the disk's write bandwidth the limit; prefix the command with
// TMPDIR=/dev/shm to measure CPU and syscall cost alone. Replay reads from
// the page cache.
package wal

import (
	"context"
	"fmt"
	"testing"
	"time"
)

func BenchmarkLog(b *testing.B) {
	for _, size := range []int{1 << 10, 16 << 10} {
		b.Run(fmt.Sprintf("record=%dKiB", size>>10), func(b *testing.B) {
			w := openTest(b, b.TempDir(), Options{}) // default sync policy
			defer closeTest(b, w)
			rec := testRecord(1, size)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := w.Log(rec); err != nil {
					b.Fatal(err)
				}
				if i++; i%(1<<14) == 0 {
					b.StopTimer()
					truncateOld(b, w) // keep the disk footprint bounded
					b.StartTimer()
				}
			}
		})
	}
}

// BenchmarkLogBatch logs 64 records of 256 bytes per call, the shape of a
// scrape's samples, to show the cost of one write per call.
func BenchmarkLogBatch(b *testing.B) {
	w := openTest(b, b.TempDir(), Options{})
	defer closeTest(b, w)
	batch := make([][]byte, 64)
	for i := range batch {
		batch[i] = testRecord(i, 256)
	}
	b.SetBytes(64 * 256)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := w.Log(batch...); err != nil {
			b.Fatal(err)
		}
		if i++; i%(1<<12) == 0 {
			b.StopTimer()
			truncateOld(b, w)
			b.StartTimer()
		}
	}
}

// BenchmarkLogBuffered logs one 6 KiB record per call, about a scrape of a
// node_exporter page, with Log (one write per call) and LogBuffered (one
// write per FlushDelay/2 or 256 KiB).
func BenchmarkLogBuffered(b *testing.B) {
	for _, buffered := range []bool{false, true} {
		b.Run(fmt.Sprintf("buffered=%v", buffered), func(b *testing.B) {
			w := openTest(b, b.TempDir(), Options{FlushDelay: time.Second})
			defer closeTest(b, w)
			rec := testRecord(1, 6<<10)
			b.SetBytes(int64(len(rec)))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				var err error
				if buffered {
					err = w.LogBuffered(rec)
				} else {
					err = w.Log(rec)
				}
				if err != nil {
					b.Fatal(err)
				}
				if i++; i%(1<<12) == 0 {
					b.StopTimer()
					truncateOld(b, w)
					b.StartTimer()
				}
			}
		})
	}
}

func BenchmarkLogParallel(b *testing.B) {
	w := openTest(b, b.TempDir(), Options{})
	defer closeTest(b, w)
	rec := testRecord(1, 1<<10)
	b.SetBytes(1 << 10)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := w.Log(rec); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func truncateOld(b *testing.B, w *WAL) {
	_, last, err := w.Segments()
	if err == nil {
		err = w.Truncate(last)
	}
	if err != nil {
		b.Fatal(err)
	}
}

func BenchmarkReplay(b *testing.B) {
	const total = 64 << 20
	for _, size := range []int{256, 1 << 10, 16 << 10} {
		b.Run(fmt.Sprintf("record=%dB", size), func(b *testing.B) {
			dir := b.TempDir()
			w := openTest(b, dir, quietOpts())
			rec := testRecord(1, size)
			for range total / size {
				if err := w.Log(rec); err != nil {
					b.Fatal(err)
				}
			}
			closeTest(b, w)
			var n int64
			for idx := 0; ; idx++ {
				st, err := Replay(context.Background(), dir, idx, nil, func([]byte) error { return nil })
				if err != nil || st.Segments == 0 {
					break
				}
				n += fileSize(b, segmentPath(dir, idx))
			}
			b.SetBytes(n)
			b.ReportAllocs()
			for b.Loop() {
				var records int
				_, err := Replay(context.Background(), dir, 0, nil, func(rec []byte) error {
					records++
					return nil
				})
				if err != nil || records != total/size {
					b.Fatalf("%d records, %v", records, err)
				}
			}
		})
	}
}
