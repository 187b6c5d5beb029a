// Benchmarks of one group evaluation, argus's rule manager on its engine
// and storage against upstream Prometheus's on its own, over the same
// series. Run:
//
//	go test ./internal/rules -run '^$' -bench BenchmarkGroupEval -count 6 | tee bench.txt
//	benchstat -col /impl bench.txt
package rules

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	uppromql "github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/util/teststorage"
)

// benchSeries is how many series the alerting rule returns.
const benchSeries = 1000

func BenchmarkGroupEval(b *testing.B) {
	defs := []diffRule{
		{name: "x:rate", expr: "sum by (job) (rate(x[5m]))", record: true},
		{name: "High", expr: "x > 0", hold: 5 * time.Minute,
			labels: map[string]string{"sev": "page"},
			annos:  map[string]string{"summary": "{{ $labels.i }} is at {{ $value | humanize }}"}},
	}
	e := newEnv(b)
	st := teststorage.New(b)
	ng := uppromql.NewEngine(uppromql.EngineOpts{MaxSamples: 1e8, Timeout: time.Minute, EnableDelayedNameRemoval: true})
	ctx := context.Background()
	// 10 minutes of samples every 15s.
	app := st.Appender(ctx)
	aapp := e.db.Appender()
	for step := range 40 {
		ts := e.base.Add(time.Duration(step) * 15 * time.Second).UnixMilli()
		for i := range benchSeries {
			lset := labels.FromStrings("__name__", "x", "job", fmt.Sprint(i%10), "i", fmt.Sprint(i))
			v := float64(step * i)
			if _, err := app.Append(0, lset, ts, v); err != nil {
				b.Fatal(err)
			}
			if _, err := aapp.Append(0, lset, ts, v); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := app.Commit(); err != nil {
		b.Fatal(err)
	}
	if err := aapp.Commit(); err != nil {
		b.Fatal(err)
	}
	d := newPair(b, e, st, ng, defs, true, 0, 0)
	// Every iteration evaluates at the same time: the same work each time
	// (rewriting a sample is a no-op for both storages).
	ts := e.base.Add(10 * time.Minute)
	b.Run("impl=argus", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			d.argus.Eval(ctx, ts)
		}
	})
	b.Run("impl=upstream", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			d.upstream.Eval(ctx, ts)
		}
	})
}
