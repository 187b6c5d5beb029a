package chunkenc

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Timestamps section, for n == 1 just t[0] as a zigzag varint, otherwise a
// transform byte, t[0] as a zigzag varint, and per transform:
//
//	0 delta   an int stream (intstream.go) of the n-1 deltas
//	1 dod     t[1]-t[0] as a zigzag varint, an int stream of the n-2
//	          delta-of-deltas
//	2 linear  step as a zigzag varint, an int stream of the n-1 residuals
//	          t[i] - t[0] - i×step
//
// The encoder keeps the smallest. Jittered scrapes favour linear (the
// residual is the jitter itself; a delta-of-delta spans four times its
// range); aligned ones make every form a zero-width stream. Arithmetic
// wraps, so any int64 sequence round-trips.

// Timestamp transforms.
const (
	tsDelta  = 0
	tsDoD    = 1
	tsLinear = 2
)

// appendTimestamps writes the timestamps section; scratch holds 3×len(ts).
// varintOnly keeps to delta-of-deltas in varints, the first design, for
// comparison.
func appendTimestamps(dst []byte, ts []int64, scratch []int64, varintOnly bool) []byte {
	n := len(ts)
	if n == 1 {
		return binary.AppendUvarint(dst, zigzag(ts[0]))
	}
	deltas := scratch[:n-1]
	for i := range deltas {
		deltas[i] = ts[i+1] - ts[i]
	}
	dods := scratch[n-1 : 2*n-3]
	for i := range dods {
		dods[i] = deltas[i+1] - deltas[i]
	}
	// Rounded, not truncated: one millisecond too little over the chunk
	// would turn the residuals into a ramp.
	step := divRound(ts[n-1]-ts[0], int64(n-1))
	res := scratch[2*n-3 : 3*n-4]
	for i := range res {
		res[i] = ts[i+1] - ts[0] - int64(i+1)*step
	}
	pd, pdod, plin := planInts(deltas, varintOnly), planInts(dods, varintOnly), planInts(res, varintOnly)
	sizeDoD := pdod.size + uvarintLen(zigzag(deltas[0]))
	sizeLin := plin.size + uvarintLen(zigzag(step))
	if varintOnly {
		pd.size, sizeLin = math.MaxInt, math.MaxInt
	}
	switch {
	case pd.size <= sizeDoD && pd.size <= sizeLin:
		dst = append(dst, tsDelta)
		dst = binary.AppendUvarint(dst, zigzag(ts[0]))
		return appendInts(dst, deltas, pd)
	case sizeLin <= sizeDoD:
		dst = append(dst, tsLinear)
		dst = binary.AppendUvarint(dst, zigzag(ts[0]))
		dst = binary.AppendUvarint(dst, zigzag(step))
		return appendInts(dst, res, plin)
	default:
		dst = append(dst, tsDoD)
		dst = binary.AppendUvarint(dst, zigzag(ts[0]))
		dst = binary.AppendUvarint(dst, zigzag(deltas[0]))
		return appendInts(dst, dods, pdod)
	}
}

// divRound divides a by b > 0, rounding half away from zero.
func divRound(a, b int64) int64 {
	q, r := a/b, a%b
	if r < 0 {
		r = -r
	}
	if r >= b-r {
		if a < 0 {
			return q - 1
		}
		return q + 1
	}
	return q
}

// decodeTimestamps fills ts from the timestamps section and returns the
// bytes it used.
func decodeTimestamps(ts []int64, src []byte) (int, error) {
	if len(ts) == 1 {
		t0, k := readZigzag(src)
		if k <= 0 {
			return 0, errTruncated
		}
		ts[0] = t0
		return k, nil
	}
	if len(src) == 0 {
		return 0, errTruncated
	}
	transform := src[0]
	if transform > tsLinear {
		return 0, fmt.Errorf("%w: timestamp transform %d", ErrCorrupt, transform)
	}
	t0, k := readZigzag(src[1:])
	if k <= 0 {
		return 0, errTruncated
	}
	pos := 1 + k
	var param int64 // the first delta or the step
	from := 1
	if transform != tsDelta {
		if param, k = readZigzag(src[pos:]); k <= 0 {
			return pos, errTruncated
		}
		pos += k
	}
	if transform == tsDoD {
		from = 2
	}
	k, err := decodeInts(ts[from:], src[pos:])
	if err != nil {
		return pos, err
	}
	ts[0] = t0
	switch transform {
	case tsDelta:
		for i := 1; i < len(ts); i++ {
			ts[i] += ts[i-1]
		}
	case tsDoD:
		ts[1] = t0 + param
		d := param
		for i := 2; i < len(ts); i++ {
			d += ts[i]
			ts[i] = ts[i-1] + d
		}
	default:
		t := t0
		for i := 1; i < len(ts); i++ {
			t += param
			ts[i] += t
		}
	}
	return pos + k, nil
}

// readZigzag reads a zigzag varint; the length is <= 0 on error, as with
// binary.Uvarint.
func readZigzag(src []byte) (int64, int) {
	u, k := binary.Uvarint(src)
	return unzigzag(u), k
}
