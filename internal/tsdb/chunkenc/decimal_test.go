package chunkenc

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestNaturalExp(t *testing.T) {
	t.Parallel()
	f := func(v float64, want int, wantOK bool) {
		t.Helper()
		got, ok := naturalExp(v)
		if got != want || ok != wantOK {
			t.Fatalf("naturalExp(%v) = %d, %v; want %d, %v", v, got, ok, want, wantOK)
		}
	}
	f(5, 0, true)
	f(-0.5, -1, true)
	f(123.456, -3, true)
	f(7.3589e-05, -9, true)
	f(1e20, 20, true)
	f(1e30, maxExp, true) // clamped: the mantissa grows instead
	f(1e-22, -22, true)
	f(1e-23, 0, false)
	f(0.30000000000000004, 0, false) // 17 digits
	f(math.Pi, -15, true)            // 16 digits, still below 2^53
}

// TestMantissaProperty checks the claim the decimal form rests on: any
// m × 10^e with |m| < 2^53 and |e| <= 22 is found again, bit for bit.
func TestMantissaProperty(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 8))
	for range 200_000 {
		m := rng.Int64N(2*maxMantissa-1) - (maxMantissa - 1)
		if rng.IntN(2) == 0 {
			m >>= rng.IntN(50) // small mantissas are the common case
		}
		s := scale{exp: rng.IntN(2*maxExp+1) - maxExp}
		if s.exp < 0 && rng.IntN(4) == 0 {
			s.mul = true
		}
		v := s.value(m)
		got, ok := s.mantissa(v)
		if !ok || math.Float64bits(s.value(got)) != math.Float64bits(v) {
			t.Fatalf("%+v: %d gives %v, found %d, %v", s, m, v, got, ok)
		}
	}
}

func TestDivRound(t *testing.T) {
	t.Parallel()
	for _, c := range [][3]int64{{10, 4, 3}, {9, 4, 2}, {-10, 4, -3}, {-9, 4, -2}, {7_184_995, 479, 15000}, {7_185_004, 479, 15000}, {0, 5, 0}, {math.MinInt64, 1, math.MinInt64}, {math.MaxInt64, 2, 1 << 62}} {
		if got := divRound(c[0], c[1]); got != c[2] {
			t.Errorf("divRound(%d, %d) = %d, want %d", c[0], c[1], got, c[2])
		}
	}
}
