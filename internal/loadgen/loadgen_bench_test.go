package loadgen

// Run with:
//
//	go test ./internal/loadgen -run '^$' -bench . -count 6 | tee bench.txt
//
// and compare runs with benchstat.

import "testing"

func BenchmarkNext(b *testing.B) {
	g, err := New(Options{Targets: 10})
	if err != nil {
		b.Fatal(err)
	}
	vals := make([]float64, 0, len(g.Series()))
	b.ReportAllocs()
	b.SetBytes(int64(16 * len(g.Series())))
	for b.Loop() {
		_, vals = g.Next(vals[:0])
	}
}
