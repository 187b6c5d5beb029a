package chunkenc

import (
	"math"
	"math/rand/v2"
	"testing"
)

// series is one test input.
type series struct {
	name string
	ts   []int64
	vs   []float64
}

// regular returns n timestamps every step ms from start, jittered by up to
// jitter ms.
func regular(rng *rand.Rand, n int, start, step, jitter int64) []int64 {
	ts := make([]int64, n)
	for i := range ts {
		ts[i] = start + int64(i)*step
		if jitter > 0 {
			ts[i] += rng.Int64N(2*jitter+1) - jitter
		}
	}
	return ts
}

// testSeries covers the shapes the codecs must keep exact.
func testSeries() []series {
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 300
	ts := regular(rng, n, 1_700_000_000_000, 15_000, 3)
	fill := func(f func(i int) float64) []float64 {
		vs := make([]float64, n)
		for i := range vs {
			vs[i] = f(i)
		}
		return vs
	}
	counter := 0.0
	bytesCounter := int64(1 << 30)
	stale := math.Float64frombits(staleNaNBits)
	specials := []float64{math.NaN(), stale, math.Inf(1), math.Inf(-1), math.Copysign(0, -1), 0,
		math.MaxFloat64, -math.MaxFloat64, math.SmallestNonzeroFloat64, -math.SmallestNonzeroFloat64,
		math.Float64frombits(0x7ff8dead0000beef), 1e300, 1e-300, 2.2250738585072014e-308}
	irregular := make([]int64, n)
	t := int64(-5_000_000)
	for i := range irregular {
		irregular[i] = t
		t += rng.Int64N(100_000) - 10 // occasionally backwards
	}
	extremes := []int64{math.MinInt64, math.MaxInt64, 0, -1, 1, math.MinInt64 + 1, math.MaxInt64 - 1, 42}
	return []series{
		{"empty", nil, nil},
		{"single", []int64{1234}, []float64{56.78}},
		{"single stale", []int64{-1}, []float64{stale}},
		{"two", []int64{0, 15000}, []float64{1, 2}},
		{"counter hundredths", ts, fill(func(int) float64 { counter += float64(rng.IntN(2000)) / 100; return math.Round(counter*100) / 100 })},
		{"bytes counter", ts, fill(func(int) float64 { bytesCounter += 512 * rng.Int64N(100_000); return float64(bytesCounter) })},
		{"gauge walk", ts, fill(func(i int) float64 { return float64(int64(1e6)+rng.Int64N(1000)-500) / 1000 })},
		{"ms times 0.001", ts, fill(func(i int) float64 { return float64(1000+i*rng.IntN(5000)) * 0.001 })},
		{"all equal", ts, fill(func(int) float64 { return 42.5 })},
		{"all zero", ts, fill(func(int) float64 { return 0 })},
		{"random bits", ts, fill(func(int) float64 { return math.Float64frombits(rng.Uint64()) })},
		{"random floats", ts, fill(func(int) float64 { return rng.NormFloat64() * 1e3 })},
		{"huge", ts, fill(func(i int) float64 { return 1e300 * float64(i+1) })},
		{"tiny", ts, fill(func(i int) float64 { return 1e-300 * float64(i+1) })},
		{"large integers", ts, fill(func(i int) float64 { return float64(1<<53 - i*977) })},
		{"beyond 2^53", ts, fill(func(i int) float64 { return 1.8446744073709552e19 + float64(i)*4096 })},
		{"negative", ts, fill(func(i int) float64 { return -125000.5 - float64(i)*0.25 })},
		{"specials", ts, fill(func(i int) float64 { return specials[i%len(specials)] })},
		{"one stale marker", ts, fill(func(i int) float64 {
			if i == n/2 {
				return stale
			}
			return float64(i) * 1.5
		})},
		{"stale tail", ts, fill(func(i int) float64 {
			if i > n-10 {
				return stale
			}
			return float64(i)
		})},
		{"negative timestamps", regular(rng, n, -1_000_000_000, 1000, 0), fill(func(i int) float64 { return float64(i) })},
		{"irregular timestamps", irregular, fill(func(i int) float64 { return float64(i%7) * 0.1 })},
		{"extreme timestamps", extremes, []float64{1, 2, 3, 4, 5, 6, 7, 8}},
		{"max exponent", ts[:4], []float64{1e22, 3e22, 1e-22, 7e-22}},
		{"one sample per second", regular(rng, MaxSamples/8, 0, 1000, 0), make([]float64, MaxSamples/8)},
	}
}

// equalSamples fails t unless the samples are bit-identical.
func equalSamples(t *testing.T, name string, gotT []int64, gotV []float64, wantT []int64, wantV []float64) {
	t.Helper()
	if len(gotT) != len(wantT) || len(gotV) != len(wantV) {
		t.Fatalf("%s: got %d/%d samples, want %d", name, len(gotT), len(gotV), len(wantT))
	}
	for i := range wantT {
		if gotT[i] != wantT[i] || math.Float64bits(gotV[i]) != math.Float64bits(wantV[i]) {
			t.Fatalf("%s: sample %d: got (%d, %v %#x), want (%d, %v %#x)", name, i,
				gotT[i], gotV[i], math.Float64bits(gotV[i]), wantT[i], wantV[i], math.Float64bits(wantV[i]))
		}
	}
}
