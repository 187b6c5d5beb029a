package chunkenc

import (
	"errors"
	"math"
	"testing"
	"unsafe"
)

func appendAll(ts []int64, vs []float64) *XORAppender {
	var a XORAppender
	for i := range ts {
		a.Append(ts[i], vs[i])
	}
	return &a
}

func iterateAll(t *testing.T, b []byte, n int) ([]int64, []float64) {
	t.Helper()
	var it XORIterator
	it.Reset(b, n)
	var ts []int64
	var vs []float64
	for it.Next() {
		tt, v := it.At()
		ts = append(ts, tt)
		vs = append(vs, v)
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return ts, vs
}

func TestXORRoundTrip(t *testing.T) {
	t.Parallel()
	for _, s := range testSeries() {
		a := appendAll(s.ts, s.vs)
		if a.Len() != len(s.ts) {
			t.Fatalf("%s: Len %d, want %d", s.name, a.Len(), len(s.ts))
		}
		gotT, gotV := iterateAll(t, a.Bytes(), a.Len())
		equalSamples(t, s.name, gotT, gotV, s.ts, s.vs)
	}
}

// TestXORReadWhileAppending checks the head's read path: a reader takes a
// copy of the bytes and the count, and the appender carries on.
func TestXORReadWhileAppending(t *testing.T) {
	t.Parallel()
	s := testSeries()[4]
	var a XORAppender
	for i := range s.ts {
		a.Append(s.ts[i], s.vs[i])
		if i%37 != 0 {
			continue
		}
		snap := append([]byte(nil), a.Bytes()...)
		n := a.Len()
		for j := i + 1; j < min(i+5, len(s.ts)); j++ {
			a.Append(s.ts[j], s.vs[j])
		}
		gotT, gotV := iterateAll(t, snap, n)
		equalSamples(t, "snapshot", gotT, gotV, s.ts[:n], s.vs[:n])
		// Start over up to i+1 samples to keep the loop simple.
		a.Reset(a.Bytes())
		for j := 0; j <= i; j++ {
			a.Append(s.ts[j], s.vs[j])
		}
	}
}

func TestXORAppenderSize(t *testing.T) {
	t.Parallel()
	// One appender per in-memory series: growing it costs memory at scale.
	if got := unsafe.Sizeof(XORAppender{}); got > 56 {
		t.Fatalf("XORAppender is %d bytes, budget 56", got)
	}
}

func TestXORResetReusesStorage(t *testing.T) {
	t.Parallel()
	buf := make([]byte, 0, 256)
	var a XORAppender
	a.Reset(buf)
	a.Append(1, 1)
	a.Append(2, 2)
	if &a.Bytes()[0] != &buf[:1][0] {
		t.Fatal("Reset did not reuse the buffer")
	}
}

func TestXORIteratorCorrupt(t *testing.T) {
	t.Parallel()
	s := testSeries()[4]
	a := appendAll(s.ts, s.vs)
	b := a.Bytes()
	for cut := range len(b) {
		var it XORIterator
		it.Reset(b[:cut], a.Len())
		k := 0
		for it.Next() {
			k++
		}
		if it.Err() == nil || !errors.Is(it.Err(), ErrCorrupt) {
			t.Fatalf("cut at %d: read %d samples, err %v", cut, k, it.Err())
		}
	}
}

func TestDecodeXOR(t *testing.T) {
	t.Parallel()
	for _, s := range testSeries() {
		a := appendAll(s.ts, s.vs)
		// Appending to a non-empty destination keeps what is there.
		ts, vs, err := DecodeXOR([]int64{-1}, []float64{-1}, a.Bytes(), a.Len())
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if ts[0] != -1 || vs[0] != -1 {
			t.Fatalf("%s: destination prefix overwritten", s.name)
		}
		equalSamples(t, s.name, ts[1:], vs[1:], s.ts, s.vs)
	}
}

func TestDecodeXORCorrupt(t *testing.T) {
	t.Parallel()
	for _, s := range testSeries() {
		if len(s.ts) < 2 {
			continue
		}
		a := appendAll(s.ts, s.vs)
		b := a.Bytes()
		for cut := max(0, len(b)-64); cut < len(b); cut++ {
			ts, vs, err := DecodeXOR(nil, nil, b[:cut], a.Len())
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("%s: cut at %d of %d: %d samples, err %v", s.name, cut, len(b), len(ts), err)
			}
			// What was decoded before the error is right.
			equalSamples(t, s.name, ts, vs, s.ts[:len(ts)], s.vs[:len(vs)])
		}
	}
}

func TestXORIteratorAllocs(t *testing.T) {
	s := testSeries()[4]
	a := appendAll(s.ts, s.vs)
	var it XORIterator
	var sum float64
	allocs := testing.AllocsPerRun(100, func() {
		it.Reset(a.Bytes(), a.Len())
		for it.Next() {
			_, v := it.At()
			sum += v
		}
	})
	if allocs != 0 || math.IsNaN(sum) {
		t.Fatalf("iterating allocates %v times", allocs)
	}
}
