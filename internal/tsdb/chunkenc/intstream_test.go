package chunkenc

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

func TestIntStreamRoundTrip(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	gen := func(n int, f func(i int) int64) []int64 {
		xs := make([]int64, n)
		for i := range xs {
			xs[i] = f(i)
		}
		return xs
	}
	cases := map[string][]int64{
		"empty":          nil,
		"one":            {42},
		"zeros":          gen(500, func(int) int64 { return 0 }),
		"constant":       gen(500, func(int) int64 { return -15000 }),
		"jitter":         gen(500, func(int) int64 { return rng.Int64N(13) - 6 }),
		"increments":     gen(500, func(int) int64 { return 700 + rng.Int64N(1400) }),
		"with outliers":  gen(500, func(i int) int64 { return map[bool]int64{true: -1 << 40, false: rng.Int64N(100)}[i%97 == 5] }),
		"high outlier":   gen(500, func(i int) int64 { return map[bool]int64{true: math.MaxInt64, false: rng.Int64N(100)}[i == 499] }),
		"random":         gen(500, func(int) int64 { return int64(rng.Uint64()) }),
		"extremes":       {math.MinInt64, math.MaxInt64, 0, -1, 1, math.MinInt64, math.MaxInt64},
		"57 bits":        gen(100, func(int) int64 { return rng.Int64N(1 << 57) }),
		"63 bits spread": gen(100, func(int) int64 { return rng.Int64() - 1<<62 }),
	}
	for name, xs := range cases {
		for _, varintOnly := range []bool{false, true} {
			p := planInts(xs, varintOnly)
			b := appendInts(nil, xs, p)
			if len(xs) > 0 && len(b) != p.size {
				t.Errorf("%s: planned %d bytes, wrote %d", name, p.size, len(b))
			}
			got := make([]int64, len(xs))
			n, err := decodeInts(got, b)
			if err != nil || n != len(b) {
				t.Fatalf("%s: decode used %d of %d bytes: %v", name, n, len(b), err)
			}
			for i := range xs {
				if got[i] != xs[i] {
					t.Fatalf("%s (varint only %v): [%d] = %d, want %d", name, varintOnly, i, got[i], xs[i])
				}
			}
			for cut := range len(b) {
				if _, err := decodeInts(got, b[:cut]); !errors.Is(err, ErrCorrupt) {
					t.Fatalf("%s: cut at %d: %v", name, cut, err)
				}
			}
		}
	}
}

// TestIntStreamPacking checks that packing finds the tight width.
func TestIntStreamPacking(t *testing.T) {
	t.Parallel()
	xs := make([]int64, 480)
	for i := range xs {
		xs[i] = 15000 + int64(i%7) - 3
	}
	xs[100] = 45000 // a missed scrape
	p := planInts(xs, false)
	if p.kind != intsPacked || p.width != 3 || p.base != 14997 {
		t.Fatalf("plan %+v, want packed 3 bits from 14997", p)
	}
}
