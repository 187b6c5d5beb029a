package chunkenc

import (
	"encoding/binary"
	"math"
	"testing"
)

// Run a target for a while with, for example:
//
//	go test ./internal/tsdb/chunkenc -run '^$' -fuzz FuzzBlockDecode -fuzztime 1m

// addChunkSeeds seeds a corpus with valid chunks of every variant.
func addChunkSeeds(f *testing.F) {
	for _, s := range testSeries() {
		if len(s.ts) > 1000 {
			continue
		}
		for _, v := range optionVariants {
			f.Add(encode(nil, s.ts, s.vs, v.o))
		}
	}
}

// FuzzBlockDecode feeds arbitrary bytes to Decode: it must not panic, and
// whatever it accepts must survive a round trip through Encode.
func FuzzBlockDecode(f *testing.F) {
	addChunkSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		ts, vs, err := Decode(nil, nil, b)
		if err != nil {
			if len(ts) != 0 || len(vs) != 0 {
				t.Fatal("failed Decode returned samples")
			}
			return
		}
		b2 := Encode(nil, ts, vs)
		ts2, vs2, err := Decode(nil, nil, b2)
		if err != nil {
			t.Fatalf("re-encoded chunk does not decode: %v", err)
		}
		equalSamples(t, "re-encoded", ts2, vs2, ts, vs)
	})
}

// FuzzBlockRoundTrip builds samples from the fuzz input and checks Encode
// and Decode are exact inverses. The mode byte steers values towards the
// decimal shapes the encoder special-cases, which raw bits rarely hit.
func FuzzBlockRoundTrip(f *testing.F) {
	f.Add(byte(0), []byte("0123456789abcdef0123456789abcdef"))
	f.Add(byte(1), []byte{1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0})
	f.Add(byte(2), []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0, 0, 0, 0xf0, 0x7f})
	f.Add(byte(3), []byte("stale stale stale stale stale!!"))
	f.Fuzz(func(t *testing.T, mode byte, data []byte) {
		// Longer inputs only slow the fuzzer down: chunks this size
		// already reach every width and patch case.
		data = data[:min(len(data), 16*512)]
		ts, vs := samplesFromBytes(mode, data)
		for _, v := range optionVariants {
			b := encode(nil, ts, vs, v.o)
			gotT, gotV, err := Decode(nil, nil, b)
			if err != nil {
				t.Fatalf("%s: %v", v.name, err)
			}
			equalSamples(t, v.name, gotT, gotV, ts, vs)
		}
		a := appendAll(ts, vs)
		gotT, gotV := iterateAll(t, a.Bytes(), a.Len())
		equalSamples(t, "head", gotT, gotV, ts, vs)
	})
}

// samplesFromBytes turns 16 bytes into a sample: a timestamp step and a
// value whose meaning depends on mode.
func samplesFromBytes(mode byte, data []byte) ([]int64, []float64) {
	n := len(data) / 16
	ts := make([]int64, n)
	vs := make([]float64, n)
	var t int64
	for i := range n {
		a := binary.LittleEndian.Uint64(data[16*i:])
		b := binary.LittleEndian.Uint64(data[16*i+8:])
		switch mode % 4 {
		case 0: // raw
			t = int64(a)
			vs[i] = math.Float64frombits(b)
		case 1: // decimals: small mantissa, small exponent
			t += int64(a % 100_000)
			vs[i] = (scale{exp: int(int8(b>>56))%(maxExp+1) - 0}).value(int64(b<<8) >> 20)
		case 2: // multiply mode and its noise
			t += int64(int16(a))
			vs[i] = float64(int64(b>>12)) * negPow10[b&7]
		default: // specials sprinkled into a counter
			t += 15_000 + int64(int8(a))
			switch b & 7 {
			case 0:
				vs[i] = math.Float64frombits(staleNaNBits)
			case 1:
				vs[i] = math.Inf(int(b>>8&1)*2 - 1)
			case 2:
				vs[i] = math.Copysign(0, -1)
			default:
				vs[i] = float64(b >> 40)
			}
		}
		ts[i] = t
	}
	return ts, vs
}

// FuzzXORIterate reads arbitrary bytes as a head chunk: no panic, and
// samples that decode re-encode to the same samples.
func FuzzXORIterate(f *testing.F) {
	for _, s := range testSeries() {
		if len(s.ts) > 1000 {
			continue
		}
		a := appendAll(s.ts, s.vs)
		f.Add(append([]byte(nil), a.Bytes()...), uint16(a.Len()))
	}
	f.Fuzz(func(t *testing.T, b []byte, n uint16) {
		var it XORIterator
		it.Reset(b, int(n))
		var ts []int64
		var vs []float64
		for it.Next() {
			tt, v := it.At()
			ts = append(ts, tt)
			vs = append(vs, v)
		}
		if it.Err() == nil && len(ts) != int(n) {
			t.Fatalf("iterator stopped after %d of %d samples without error", len(ts), n)
		}
		// The bulk decoder agrees with the iterator, errors included.
		bts, bvs, err := DecodeXOR(nil, nil, b, int(n))
		if (err == nil) != (it.Err() == nil) {
			t.Fatalf("DecodeXOR error %v, iterator error %v", err, it.Err())
		}
		equalSamples(t, "DecodeXOR", bts, bvs, ts, vs)
		a := appendAll(ts, vs)
		gotT, gotV := iterateAll(t, a.Bytes(), a.Len())
		equalSamples(t, "re-encoded", gotT, gotV, ts, vs)
	})
}
