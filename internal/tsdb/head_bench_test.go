package tsdb

// Benchmarks of the write path, side by side with the upstream TSDB head on the
// same node_exporter-shaped data:
//
//	go test -run '^$' -bench 'Append' -benchmem -count 6 ./internal/tsdb/ | tee append.txt
//	benchstat append.txt
//
// One op is one scrape of every series (cached series refs, one commit per
// target), so ns/op divided by the series count is the cost per sample; the
// benchmark reports it as ns/sample. argus's head is flushed every 20 scrapes
// (5 minutes of 15 s scrapes) inside the timed loop, as the upstream head cuts
// and writes full chunks inside its commits. The upstream WAL uses snappy, as
// Prometheus's command line does by default.

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	uptsdb "github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/util/compression"

	"github.com/argus-mon/argus/internal/loadgen"
)

const benchTargets = 20

func benchLoad(b *testing.B) (*loadgen.Generator, []labels.Labels) {
	gen, err := loadgen.New(loadgen.Options{Targets: benchTargets, Seed: 1, Interval: 15 * time.Second, Start: 1_700_000_000_000})
	if err != nil {
		b.Fatal(err)
	}
	return gen, gen.Series()
}

// targetRanges splits the series into one slice per target (the generator
// sorts by labels, so a target's series are not contiguous; group them).
func targetRanges(series []labels.Labels) [][]int {
	byTarget := map[string][]int{}
	var order []string
	for i, s := range series {
		inst := s.Get("instance")
		if _, ok := byTarget[inst]; !ok {
			order = append(order, inst)
		}
		byTarget[inst] = append(byTarget[inst], i)
	}
	out := make([][]int, 0, len(order))
	for _, k := range order {
		out = append(out, byTarget[k])
	}
	return out
}

func BenchmarkAppend(b *testing.B) {
	b.Run("argus", func(b *testing.B) {
		gen, series := benchLoad(b)
		targets := targetRanges(series)
		db, err := Open(context.Background(), b.TempDir(), Options{FlushInterval: time.Hour, WALSyncInterval: 5 * time.Second})
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		refs := make([]uint64, len(series))
		var vals []float64
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			var ts int64
			ts, vals = gen.Next(vals[:0])
			for _, idx := range targets {
				app := db.Appender()
				for _, i := range idx {
					if refs[i], err = app.Append(refs[i], series[i], ts, vals[i]); err != nil {
						b.Fatal(err)
					}
				}
				if err := app.Commit(); err != nil {
					b.Fatal(err)
				}
			}
			n++
			if n%20 == 0 {
				if err := db.Flush(); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n*len(series)), "ns/sample")
	})
	b.Run("upstream", func(b *testing.B) {
		gen, series := benchLoad(b)
		targets := targetRanges(series)
		opts := uptsdb.DefaultOptions()
		opts.WALCompression = compression.Snappy
		db, err := uptsdb.Open(b.TempDir(), nil, nil, opts, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		refs := make([]storage.SeriesRef, len(series))
		var vals []float64
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			var ts int64
			ts, vals = gen.Next(vals[:0])
			for _, idx := range targets {
				app := db.Appender(context.Background())
				for _, i := range idx {
					if refs[i], err = app.Append(refs[i], series[i], ts, vals[i]); err != nil {
						b.Fatal(err)
					}
				}
				if err := app.Commit(); err != nil {
					b.Fatal(err)
				}
			}
			n++
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n*len(series)), "ns/sample")
	})
}

// BenchmarkHeadMemory ingests an hour of 15 s scrapes of benchTargets targets
// into a fresh head and reports the live heap per series after a GC. Upstream's
// head keeps full chunks in memory-mapped files (page cache, outside the heap),
// argus's in head parts (also outside the heap), so heap is comparable; process
// RSS is compared by tools/benchcompare.
//
//	go test -run '^$' -bench 'HeadMemory' -benchtime 1x -count 3 ./internal/tsdb/
func BenchmarkHeadMemory(b *testing.B) {
	const scrapes = 240
	ingest := func(b *testing.B, app func(ts int64, vals []float64), every20 func()) int {
		gen, series := benchLoad(b)
		var vals []float64
		for n := range scrapes {
			var ts int64
			ts, vals = gen.Next(vals[:0])
			app(ts, vals)
			if n%20 == 19 {
				every20()
			}
		}
		return len(series)
	}
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	b.Run("argus", func(b *testing.B) {
		for b.Loop() {
			before := heap()
			db, err := Open(context.Background(), b.TempDir(), Options{FlushInterval: time.Hour, WALSyncInterval: 5 * time.Second})
			if err != nil {
				b.Fatal(err)
			}
			_, series := benchLoad(b)
			targets := targetRanges(series)
			refs := make([]uint64, len(series))
			n := ingest(b, func(ts int64, vals []float64) {
				for _, idx := range targets {
					app := db.Appender()
					for _, i := range idx {
						refs[i], _ = app.Append(refs[i], series[i], ts, vals[i])
					}
					app.Commit()
				}
			}, func() { db.Flush() })
			after := heap()
			b.ReportMetric(float64(after-before)/float64(n), "heap-bytes/series")
			runtime.KeepAlive(refs)
			db.Close()
		}
	})
	b.Run("upstream", func(b *testing.B) {
		for b.Loop() {
			before := heap()
			opts := uptsdb.DefaultOptions()
			opts.WALCompression = compression.Snappy
			db, err := uptsdb.Open(b.TempDir(), nil, nil, opts, nil)
			if err != nil {
				b.Fatal(err)
			}
			_, series := benchLoad(b)
			targets := targetRanges(series)
			refs := make([]storage.SeriesRef, len(series))
			n := ingest(b, func(ts int64, vals []float64) {
				for _, idx := range targets {
					app := db.Appender(context.Background())
					for _, i := range idx {
						refs[i], _ = app.Append(refs[i], series[i], ts, vals[i])
					}
					app.Commit()
				}
			}, func() {})
			after := heap()
			b.ReportMetric(float64(after-before)/float64(n), "heap-bytes/series")
			runtime.KeepAlive(refs)
			db.Close()
		}
	})
}
