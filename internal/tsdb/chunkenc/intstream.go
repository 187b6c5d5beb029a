package chunkenc

import (
	"encoding/binary"
	"fmt"
	"math/bits"
)

// Int streams carry the integer sequences of block chunks (timestamp
// deltas, mantissa deltas). The reader knows how many integers there are.
// Each stream picks the smaller of two forms:
//
//	0  varint: a zigzag varint per integer
//	1  packed: width byte w (0-64), base as a zigzag varint, then
//	   ceil(k×w/8) bytes holding x-base for every integer in w bits, least
//	   significant bit first, then a uvarint patch count and per patch a
//	   uvarint gap (integers since the previous patch, or the index of the
//	   first) and x-base as a zigzag varint; a patched slot holds 0.
//
// Packing is frame-of-reference coding with patches. Scraped deltas are
// spread evenly over a range (a counter's increments, jitter), which w bits
// cover with no waste, where varints lose the continuation bits and the
// rest of the last byte. Patches keep a rare outlier (a counter reset, a
// missed scrape) from widening every slot.

// Int stream kinds.
const (
	intsVarint = 0
	intsPacked = 1
)

// patchCostBits is the typical size of a patch, for choosing the width.
const patchCostBits = 32

// intPlan is how a stream will be written.
type intPlan struct {
	kind    byte
	width   uint
	base    int64
	patches int
	size    int // bytes
}

// planInts picks the form of xs; varintOnly rules out packing, for
// comparison with the first design.
func planInts(xs []int64, varintOnly bool) intPlan {
	if len(xs) == 0 {
		return intPlan{}
	}
	varintSize := 1
	// Slots are chosen around a robust centre, so a low outlier does not
	// become the base and a high one does not set the width.
	ref := median3(xs[len(xs)/4], xs[len(xs)/2], xs[3*len(xs)/4])
	var hist [65]int
	for _, x := range xs {
		varintSize += uvarintLen(zigzag(x))
		hist[bits.Len64(zigzag(x-ref))]++
	}
	bestW, bestCost, above := 0, -1, len(xs)
	for w := 0; w <= 64; w++ {
		above -= hist[w]
		if c := len(xs)*w + above*patchCostBits; bestCost < 0 || c < bestCost {
			bestW, bestCost = w, c
		}
	}
	// Tighten to the inliers' actual range.
	lo, hi := int64(0), int64(0)
	first := true
	for _, x := range xs {
		if bits.Len64(zigzag(x-ref)) > bestW {
			continue
		}
		if first || x < lo {
			lo = x
		}
		if first || x > hi {
			hi = x
		}
		first = false
	}
	w := uint(bits.Len64(uint64(hi - lo)))
	size := 2 + uvarintLen(zigzag(lo)) + (len(xs)*int(w)+7)/8
	patches, last := 0, -1
	for i, x := range xs {
		if isPatch(x, lo, w) {
			size += uvarintLen(uint64(i-last-1)) + uvarintLen(zigzag(x-lo))
			patches++
			last = i
		}
	}
	size += uvarintLen(uint64(patches))
	if varintSize <= size || varintOnly {
		return intPlan{kind: intsVarint, size: varintSize}
	}
	return intPlan{kind: intsPacked, width: w, base: lo, patches: patches, size: size}
}

// isPatch reports whether x does not fit a w-bit slot above base.
func isPatch(x, base int64, w uint) bool {
	return x < base || (w < 64 && uint64(x-base)>>w != 0)
}

func median3(a, b, c int64) int64 {
	if a > b {
		a, b = b, a
	}
	if b > c {
		b = c
	}
	return max(a, b)
}

// appendInts writes xs as planned.
func appendInts(dst []byte, xs []int64, p intPlan) []byte {
	if len(xs) == 0 {
		return dst
	}
	dst = append(dst, p.kind)
	if p.kind == intsVarint {
		for _, x := range xs {
			dst = binary.AppendUvarint(dst, zigzag(x))
		}
		return dst
	}
	dst = append(dst, byte(p.width))
	dst = binary.AppendUvarint(dst, zigzag(p.base))
	var acc uint64 // pending bits, low first
	var nacc uint
	for _, x := range xs {
		u := uint64(x - p.base)
		if p.patches > 0 && isPatch(x, p.base, p.width) {
			u = 0
		}
		// Add the slot in at most two steps so no shift reaches 64.
		for w := p.width; w > 0; {
			k := min(w, 32)
			acc |= (u & (1<<k - 1)) << nacc
			u >>= k
			nacc += k
			w -= k
			for nacc >= 8 {
				dst = append(dst, byte(acc))
				acc >>= 8
				nacc -= 8
			}
		}
	}
	if nacc > 0 {
		dst = append(dst, byte(acc))
	}
	dst = binary.AppendUvarint(dst, uint64(p.patches))
	if p.patches == 0 {
		return dst
	}
	last := -1
	for i, x := range xs {
		if isPatch(x, p.base, p.width) {
			dst = binary.AppendUvarint(dst, uint64(i-last-1))
			dst = binary.AppendUvarint(dst, zigzag(x-p.base))
			last = i
		}
	}
	return dst
}

// decodeInts fills out from an int stream and returns the bytes it used.
func decodeInts(out []int64, src []byte) (int, error) {
	if len(out) == 0 {
		return 0, nil
	}
	if len(src) == 0 {
		return 0, errTruncated
	}
	switch src[0] {
	case intsVarint:
		n, err := decodeVarints(out, src[1:])
		return 1 + n, err
	case intsPacked:
		n, err := decodePacked(out, src[1:])
		return 1 + n, err
	}
	return 0, fmt.Errorf("%w: int stream kind %d", ErrCorrupt, src[0])
}

func decodeVarints(out []int64, src []byte) (int, error) {
	pos := 0
	for i := range out {
		var u uint64
		if pos < len(src) && src[pos] < 0x80 {
			u = uint64(src[pos])
			pos++
		} else {
			var k int
			u, k = binary.Uvarint(src[pos:])
			if k <= 0 {
				return pos, errTruncated
			}
			pos += k
		}
		out[i] = unzigzag(u)
	}
	return pos, nil
}

func decodePacked(out []int64, src []byte) (int, error) {
	if len(src) < 2 || src[0] > 64 {
		return 0, fmt.Errorf("%w: packed ints header", ErrCorrupt)
	}
	w := uint(src[0])
	u, k := binary.Uvarint(src[1:])
	if k <= 0 {
		return 0, errTruncated
	}
	base := unzigzag(u)
	pos := 1 + k
	nbytes := (len(out)*int(w) + 7) / 8
	if nbytes > len(src)-pos {
		return 0, errTruncated
	}
	unpack(out, src[pos:pos+nbytes], w, base)
	pos += nbytes
	n, err := applyPatches(out, src[pos:], base)
	return pos + n, err
}

// unpack reads len(out) w-bit slots from b, which holds exactly enough
// bytes, and adds base.
func unpack(out []int64, b []byte, w uint, base int64) {
	if w == 0 {
		for i := range out {
			out[i] = base
		}
		return
	}
	mask := uint64(1)<<w - 1 // w == 64 wraps to all ones
	i := 0
	if w <= 56 {
		// Fast path: one unaligned load per slot while 8 bytes remain.
		for ; i < len(out); i++ {
			bit := uint(i) * w
			j := bit >> 3
			if j+8 > uint(len(b)) {
				break
			}
			out[i] = base + int64(binary.LittleEndian.Uint64(b[j:])>>(bit&7)&mask)
		}
	}
	for ; i < len(out); i++ {
		bit := uint(i) * w
		var v uint64
		for got := uint(0); got < w; {
			j := (bit + got) >> 3
			off := (bit + got) & 7
			k := min(8-off, w-got)
			v |= uint64(b[j]>>off&(1<<k-1)) << got
			got += k
		}
		out[i] = base + int64(v)
	}
}

// applyPatches overwrites the patched slots.
func applyPatches(out []int64, src []byte, base int64) (int, error) {
	p, pos := binary.Uvarint(src)
	if pos <= 0 || p > uint64(len(out)) {
		return 0, fmt.Errorf("%w: patch count", ErrCorrupt)
	}
	idx := -1
	for range p {
		gap, k := binary.Uvarint(src[pos:])
		if k <= 0 || gap >= uint64(len(out)-idx-1) {
			return pos, fmt.Errorf("%w: patch index", ErrCorrupt)
		}
		pos += k
		idx += int(gap) + 1
		u, k := binary.Uvarint(src[pos:])
		if k <= 0 {
			return pos, errTruncated
		}
		pos += k
		out[idx] = base + unzigzag(u)
	}
	return pos, nil
}
