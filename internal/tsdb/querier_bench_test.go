package tsdb

// Benchmarks of the read path: select every series of a metric and read all
// their samples, as a PromQL range query over the whole data does.
//
//	go test -run '^$' -bench 'Select' -benchmem -count 6 ./internal/tsdb/ | tee select.txt
//	benchstat select.txt
//
// The data is 1,200 counters sampled every 15 s, flushed into a head part
// every 5 minutes and compacted as a running argus would (1h: head parts
// only; 24h: blocks plus head parts). ns/sample is the cost per sample read.

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	upstream "github.com/prometheus/prometheus/tsdb/chunkenc"
)

func loadReadBenchData(b *testing.B, hours int) *DB {
	b.Helper()
	db, err := Open(context.Background(), b.TempDir(), Options{FlushInterval: 1000 * time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	var series []labels.Labels
	for i := range 1200 {
		series = append(series, labels.FromStrings("__name__", "requests_total", "instance", fmt.Sprintf("host-%d", i/6), "code", fmt.Sprint(i%6)))
	}
	refs := make([]uint64, len(series))
	const start, step = int64(1_700_000_000_000), int64(15_000)
	for s := range hours * 240 {
		app := db.Appender()
		for i, l := range series {
			if refs[i], err = app.Append(refs[i], l, start+int64(s)*step, float64(s*(i%7+1))); err != nil {
				b.Fatal(err)
			}
		}
		if err := app.Commit(); err != nil {
			b.Fatal(err)
		}
		if s%20 == 19 {
			if err := db.Flush(); err != nil {
				b.Fatal(err)
			}
			if err := db.Compact(); err != nil {
				b.Fatal(err)
			}
		}
	}
	return db
}

func BenchmarkSelect(b *testing.B) {
	for _, hours := range []int{1, 24} {
		b.Run(fmt.Sprintf("%dh", hours), func(b *testing.B) {
			db := loadReadBenchData(b, hours)
			defer db.Close()
			m := labels.MustNewMatcher(labels.MatchEqual, "__name__", "requests_total")
			samples := 0
			b.ReportAllocs()
			for b.Loop() {
				q, err := db.Querier(0, 1<<62)
				if err != nil {
					b.Fatal(err)
				}
				set := q.Select(context.Background(), false, nil, m)
				var it upstream.Iterator
				samples = 0
				for set.Next() {
					it = set.At().Iterator(it)
					for it.Next() != upstream.ValNone {
						_, _ = it.At()
						samples++
					}
					if err := it.Err(); err != nil {
						b.Fatal(err)
					}
				}
				if err := set.Err(); err != nil {
					b.Fatal(err)
				}
				q.Close()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(samples), "ns/sample")
		})
	}
}
