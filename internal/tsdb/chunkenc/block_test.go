package chunkenc

import (
	"errors"
	"math"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// The shared zstd encoder and decoder must not start goroutines.
	goleak.VerifyTestMain(m)
}

var optionVariants = []struct {
	name string
	o    encodeOptions
}{
	{"default", encodeOptions{zstd: true}},
	{"raw", encodeOptions{}},
	{"varint", encodeOptions{varint: true}},
	{"varint+zstd", encodeOptions{varint: true, zstdAlways: true}},
	{"xor", encodeOptions{xor: true}},
	{"xor+zstd", encodeOptions{xor: true, zstd: true}},
	{"zstd always", encodeOptions{zstdAlways: true}},
	{"xor+zstd always", encodeOptions{xor: true, zstdAlways: true}},
}

func TestBlockRoundTrip(t *testing.T) {
	t.Parallel()
	for _, s := range testSeries() {
		for _, v := range optionVariants {
			b := encode(nil, s.ts, s.vs, v.o)
			n, err := SampleCount(b)
			if err != nil || n != len(s.ts) {
				t.Fatalf("%s/%s: SampleCount = %d, %v", s.name, v.name, n, err)
			}
			gotT, gotV, err := Decode(nil, nil, b)
			if err != nil {
				t.Fatalf("%s/%s: %v", s.name, v.name, err)
			}
			equalSamples(t, s.name+"/"+v.name, gotT, gotV, s.ts, s.vs)
		}
	}
}

// TestBlockEncodingChoice pins which encoding the data shapes get.
func TestBlockEncodingChoice(t *testing.T) {
	t.Parallel()
	want := map[string]Encoding{
		"counter hundredths": EncDecimal,
		"bytes counter":      EncDecimal,
		"ms times 0.001":     EncDecimal,
		"one stale marker":   EncDecimal,
		"negative":           EncDecimal,
		"random bits":        EncXOR,
		"random floats":      EncXOR,
		"stale tail":         EncDecimal,
	}
	for _, s := range testSeries() {
		w, ok := want[s.name]
		if !ok {
			continue
		}
		b := encode(nil, s.ts, s.vs, encodeOptions{})
		if got := Encoding(b[0] &^ flagZstd); got != w {
			t.Errorf("%s: encoded as %s, want %s", s.name, got, w)
		}
	}
}

func TestDecimalScale(t *testing.T) {
	t.Parallel()
	f := func(vs []float64, want scale, wantExc int) {
		t.Helper()
		s := chooseScale(vs)
		exc := countExceptions(vs, s)
		if s != want || exc != wantExc {
			t.Fatalf("chooseScale(%v) = %+v with %d exceptions, want %+v with %d", vs, s, exc, want, wantExc)
		}
	}
	f([]float64{1, 2, 3}, scale{}, 0)
	f([]float64{1.5, 2.25, 3}, scale{exp: -2}, 0)
	f([]float64{1e20, 3e20}, scale{exp: 20}, 0)
	f([]float64{0.1, math.NaN(), math.Inf(1)}, scale{exp: -1}, 2)
	f([]float64{12.104000000000001, 0.23800000000000002, 4.828}, scale{exp: -3, mul: true}, 0)
	f([]float64{0.30000000000000004}, scale{exp: -1, mul: true}, 0) // 3 × 0.1
	f([]float64{0.12345678901234568}, scale{exp: 0}, 1)             // 17 digits, no product
	f([]float64{5e-324}, scale{exp: 0}, 1)
}

func TestDecodeAppends(t *testing.T) {
	t.Parallel()
	s := testSeries()[4]
	b := Encode(nil, s.ts, s.vs)
	ts := []int64{-7}
	vs := []float64{-7}
	ts, vs, err := Decode(ts, vs, b)
	if err != nil {
		t.Fatal(err)
	}
	equalSamples(t, "appended", ts[1:], vs[1:], s.ts, s.vs)
	if ts[0] != -7 || vs[0] != -7 {
		t.Fatal("Decode overwrote the existing elements")
	}
	// Encode appends too.
	prefix := []byte("xyz")
	b2 := Encode(prefix, s.ts, s.vs)
	if string(b2[:3]) != "xyz" || string(b2[3:]) != string(b) {
		t.Fatal("Encode did not append")
	}
}

func TestDecodeErrors(t *testing.T) {
	t.Parallel()
	s := testSeries()[4]
	for _, v := range optionVariants {
		b := encode(nil, s.ts, s.vs, v.o)
		// Every truncation must fail cleanly and leave the slices alone.
		for cut := range len(b) {
			ts, vs, err := Decode([]int64{1}, []float64{1}, b[:cut])
			if err == nil || !errors.Is(err, ErrCorrupt) {
				t.Fatalf("%s: cut at %d of %d: err %v", v.name, cut, len(b), err)
			}
			if len(ts) != 1 || len(vs) != 1 {
				t.Fatalf("%s: failed Decode changed the slices", v.name)
			}
		}
		// Trailing bytes are corruption too.
		if _, _, err := Decode(nil, nil, append(b, 0)); err == nil {
			t.Fatalf("%s: trailing byte accepted", v.name)
		}
	}
	for name, tc := range map[string]struct {
		b    []byte
		want error
	}{
		"unknown type":   {[]byte{0x11, 0}, ErrUnsupported},
		"zero type":      {[]byte{0, 0}, ErrUnsupported},
		"histogram":      {[]byte{byte(EncHistogram), 0}, ErrUnsupported},
		"too many":       {[]byte{byte(EncDecimal), 0x81, 0x80, 0x80, 0x01}, ErrCorrupt},
		"count vs bytes": {[]byte{byte(EncDecimal), 0x80, 0x80, 0x08, 1, 2, 3}, ErrCorrupt},
		"huge rawLen":    {[]byte{byte(EncDecimal) | flagZstd, 2, 0xff, 0xff, 0x7f}, ErrCorrupt},
		"zstd garbage":   {[]byte{byte(EncDecimal) | flagZstd, 2, 20, 1, 2, 3}, ErrCorrupt},
		"bad flags":      {[]byte{byte(EncDecimal), 1, 0, 0xf0, 0, 0}, ErrCorrupt},
		"bad exponent":   {[]byte{byte(EncDecimal), 1, 0, 0, 23, 0}, ErrCorrupt},
		"mul positive":   {[]byte{byte(EncDecimal), 1, 0, decFlagMul, 2, 0}, ErrCorrupt},
	} {
		if _, _, err := Decode(nil, nil, tc.b); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", name, err, tc.want)
		}
	}
}

func TestEncodePanicsOnMismatch(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	Encode(nil, []int64{1, 2}, []float64{1})
}

// TestDecodeAllocs holds decoding into preallocated slices to zero
// allocations, zstd chunks included.
func TestDecodeAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops buffers under the race detector")
	}
	for _, s := range testSeries() {
		if len(s.ts) == 0 {
			continue
		}
		for _, v := range optionVariants {
			b := encode(nil, s.ts, s.vs, v.o)
			ts := make([]int64, 0, len(s.ts))
			vs := make([]float64, 0, len(s.vs))
			var err error
			allocs := testing.AllocsPerRun(50, func() {
				ts, vs, err = Decode(ts[:0], vs[:0], b)
			})
			if err != nil {
				t.Fatal(err)
			}
			if allocs > 0 {
				t.Errorf("%s/%s: Decode allocates %v times", s.name, v.name, allocs)
			}
		}
	}
}

// TestConcurrentUse runs Encode and Decode from several goroutines: they
// share the zstd codec and the scratch pools.
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	cases := testSeries()
	done := make(chan error)
	for g := range 4 {
		go func() {
			var err error
			for i := range 20 {
				s := cases[(g+i)%len(cases)]
				b := encode(nil, s.ts, s.vs, encodeOptions{zstdAlways: i%2 == 0})
				var gotT []int64
				var gotV []float64
				if gotT, gotV, err = Decode(nil, nil, b); err != nil {
					break
				}
				if len(gotT) != len(s.ts) || len(gotV) != len(s.vs) {
					err = errors.New(s.name + ": sample count differs")
					break
				}
			}
			done <- err
		}()
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
