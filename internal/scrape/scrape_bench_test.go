package scrape

// Benchmark of the scrape path after the HTTP fetch: parsing a node_exporter
// page, the series cache, target labels and appending into a real storage.
//
//	go test -run '^$' -bench 'ScrapeAppend' -benchmem -count 6 ./internal/scrape/ | tee scrape.txt
//	benchstat scrape.txt

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/argus-mon/argus/internal/loadgen"
	"github.com/argus-mon/argus/internal/tsdb"
)

func BenchmarkScrapeAppend(b *testing.B) {
	gen, err := loadgen.New(loadgen.Options{Targets: 1, Seed: 1, Interval: 15 * time.Second, Start: 1_700_000_000_000})
	if err != nil {
		b.Fatal(err)
	}
	db, err := tsdb.Open(context.Background(), b.TempDir(), tsdb.Options{FlushInterval: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	sc := jobs(&testing.T{}, "scrape_configs:\n  - job_name: node\n    static_configs: [{targets: [\"h:9100\"]}]\n")[0]
	lb := labels.NewBuilder(labels.EmptyLabels())
	lset, _ := populateLabels(lb, sc, discoveredLabels(lb, sc, model.LabelSet{"__address__": "h:9100"}, nil))
	p, _ := newPool(context.Background(), sc, func() Appender { return db.Appender() }, discardLogger(), newMetrics(nil), newBuffers(), 0)
	l, err := p.newLoop(&Target{Labels: lset})
	if err != nil {
		b.Fatal(err)
	}
	// Pages with fresh values, rendered before timing.
	pages := make([][]byte, 64)
	for i := range pages {
		_, vals := gen.Next(nil)
		pages[i] = gen.AppendText(nil, vals, "instance", "job")
	}
	series := len(gen.Series())
	ts := int64(1_700_000_000_000)
	// The server commits scrapes through buffered appenders: their log
	// writes are batched.
	for _, buffered := range []bool{false, true} {
		b.Run(fmt.Sprintf("buffered=%v", buffered), func(b *testing.B) {
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				ts += 15_000
				var app *tsdb.Appender
				if buffered {
					app = db.BufferedAppender()
				} else {
					app = db.Appender()
				}
				if _, err := l.append(app, pages[n%len(pages)], textContentType, ts); err != nil {
					b.Fatal(err)
				}
				if err := app.Commit(); err != nil {
					b.Fatal(err)
				}
				n++
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n*series), "ns/sample")
		})
	}
}
