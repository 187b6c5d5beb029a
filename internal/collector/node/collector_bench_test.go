package node

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// Benchmarks of one full Collect. Compare changes with benchstat:
//
//	go test ./internal/collector/node -run '^$' -bench . -benchmem -count 6 | tee node.bench

// BenchmarkCollect measures one scrape of the live machine, the cost argus
// pays per scrape interval.
func BenchmarkCollect(b *testing.B) {
	benchmarkCollect(b, New(Options{}))
}

// BenchmarkCollectFixture measures one scrape of testdata/fixture, which is
// the same on every machine.
func BenchmarkCollectFixture(b *testing.B) {
	benchmarkCollect(b, New(fixtureOptions(b)))
}

func benchmarkCollect(b *testing.B, c *Collector) {
	ch := make(chan prometheus.Metric, 4096)
	done := make(chan int)
	go func() {
		n := 0
		for range ch {
			n++
		}
		done <- n
	}()
	b.ReportAllocs()
	for b.Loop() {
		c.Collect(ch)
	}
	close(ch)
	n := <-done
	b.ReportMetric(float64(n)/float64(b.N), "metrics/op")
}

// TestCollectAllocBudget guards against accidental per-series or
// per-file allocation growth: one fixture Collect (532 series) allocates
// about 6,000 times, nearly all inside prometheus.NewConstMetric.
func TestCollectAllocBudget(t *testing.T) {
	c := New(fixtureOptions(t))
	ch := make(chan prometheus.Metric, 4096)
	allocs := testing.AllocsPerRun(5, func() {
		c.Collect(ch)
		for len(ch) > 0 {
			<-ch
		}
	})
	const budget = 7500
	if allocs > budget {
		t.Errorf("Collect allocated %.0f times, budget %d", allocs, budget)
	}
}
