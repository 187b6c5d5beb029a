package promql

// Benchmarks of argus's engine against upstream's on the same data.
//
//	go test ./internal/promql -run '^$' -bench . -benchmem -count 6 | tee bench.txt
//	benchstat -col /engine bench.txt

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	upstream "github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/teststorage"
)

// benchData loads n series of a counter and a gauge, one sample every 15s
// for 6 hours.
func benchData(b *testing.B, n int) storage.Storage {
	st := teststorage.New(b)
	app := st.AppenderV2(context.Background())
	for i := range n {
		c := labels.FromStrings("__name__", "http_requests_total", "job", fmt.Sprintf("job%d", i%10), "instance", fmt.Sprintf("i%d", i))
		g := labels.FromStrings("__name__", "memory_bytes", "job", fmt.Sprintf("job%d", i%10), "instance", fmt.Sprintf("i%d", i))
		for ts := int64(0); ts <= 6*3600*1000; ts += 15000 {
			if _, err := app.Append(0, c, 0, ts, float64(ts/1000*int64(i%7+1)), nil, nil, storage.AppendV2Options{}); err != nil {
				b.Fatal(err)
			}
			if _, err := app.Append(0, g, 0, ts, float64(i*1000+int(ts%7919)), nil, nil, storage.AppendV2Options{}); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := app.Commit(); err != nil {
		b.Fatal(err)
	}
	return st
}

func BenchmarkRangeQuery(b *testing.B) {
	ctx := context.Background()
	st := benchData(b, 1000)
	defer st.Close()
	ours := NewEngine(EngineOpts{})
	theirs := upstream.NewEngine(upstream.EngineOpts{MaxSamples: 50000000, Timeout: time.Minute})
	// Both run through their own API: argus's results are not converted.
	run := map[string]func(q string) error{
		"argus": func(q string) error {
			qry, err := ours.NewRangeQuery(ctx, st, nil, q, time.Unix(3600, 0), time.Unix(5*3600, 0), 30*time.Second)
			if err != nil {
				return err
			}
			defer qry.Close()
			return qry.Exec(ctx).Err
		},
		"upstream": func(q string) error {
			qry, err := theirs.NewRangeQuery(ctx, st, nil, q, time.Unix(3600, 0), time.Unix(5*3600, 0), 30*time.Second)
			if err != nil {
				return err
			}
			defer qry.Close()
			return qry.Exec(ctx).Err
		},
	}
	queries := []string{
		"memory_bytes",
		"rate(http_requests_total[5m])",
		"sum(rate(http_requests_total[5m]))",
		"sum by (job) (rate(http_requests_total[5m]))",
		"avg by (job) (memory_bytes)",
		"topk(5, memory_bytes)",
		"memory_bytes / on(instance, job) rate(http_requests_total[5m])",
		"max_over_time(memory_bytes[10m])",
		"histogram_quantile(0.9, sum by (job, le) (label_replace(rate(http_requests_total[5m]), \"le\", \"$1\", \"instance\", \"i(.)\")))",
	}
	for _, q := range queries {
		for _, name := range []string{"argus", "upstream"} {
			exec := run[name]
			b.Run(fmt.Sprintf("query=%s/engine=%s", q, name), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if err := exec(q); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
