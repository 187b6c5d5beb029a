package chunkenc

import (
	"encoding/binary"
	"math/bits"
)

// bitWriter appends bits, most significant first, to a byte slice. free is
// the number of unused low bits of the last byte, so the writer's whole
// state is the slice plus one byte: the head appender keeps it inline.
type bitWriter struct {
	b    []byte
	free uint8
}

// writeBits appends the low n bits of v, n <= 64. It fills the free bits of
// the last byte, then writes whole bytes, then starts a new partial byte: at
// most a handful of operations however n falls, which matters because every
// head sample goes through here.
func (w *bitWriter) writeBits(v uint64, n int) {
	if n == 0 {
		return
	}
	if n < 64 {
		v &= 1<<uint(n) - 1
	}
	if f := int(w.free); f > 0 {
		if n <= f {
			w.b[len(w.b)-1] |= byte(v << uint(f-n))
			w.free -= uint8(n)
			return
		}
		n -= f
		w.b[len(w.b)-1] |= byte(v >> uint(n))
		w.free = 0
	}
	for n >= 8 {
		n -= 8
		w.b = append(w.b, byte(v>>uint(n)))
	}
	if n > 0 {
		w.b = append(w.b, byte(v<<uint(8-n)))
		w.free = uint8(8 - n)
	}
}

// writeBit appends one bit.
func (w *bitWriter) writeBit(bit bool) {
	if w.free == 0 {
		w.b = append(w.b, 0)
		w.free = 8
	}
	w.free--
	if bit {
		w.b[len(w.b)-1] |= 1 << w.free
	}
}

// writeUvarint appends x as a varint, eight bits per varint byte.
func (w *bitWriter) writeUvarint(x uint64) {
	for x >= 0x80 {
		w.writeBits(x&0x7f|0x80, 8)
		x >>= 7
	}
	w.writeBits(x, 8)
}

// bitReader reads what bitWriter wrote. It never reads past b: a read
// beyond the end reports false and leaves the reader at the end.
type bitReader struct {
	b   []byte
	pos uint // next bit to read
}

// readBits reads n bits, n <= 64.
func (r *bitReader) readBits(n int) (uint64, bool) {
	if n == 0 {
		return 0, true
	}
	if n > 56 {
		hi, ok := r.readBits(n - 32)
		if !ok {
			return 0, false
		}
		lo, ok := r.readBits(32)
		return hi<<32 | lo, ok
	}
	i := r.pos >> 3
	if i+8 <= uint(len(r.b)) {
		// Fast path: one unaligned load gives at least 57 valid bits.
		word := binary.BigEndian.Uint64(r.b[i:]) << (r.pos & 7)
		r.pos += uint(n)
		return word >> uint(64-n), true
	}
	if r.pos+uint(n) > uint(len(r.b))*8 {
		r.pos = uint(len(r.b)) * 8
		return 0, false
	}
	var v uint64
	for n > 0 {
		i := r.pos >> 3
		avail := 8 - int(r.pos&7)
		k := min(n, avail)
		chunk := uint64(r.b[i]>>uint(avail-k)) & (1<<uint(k) - 1)
		v = v<<uint(k) | chunk
		r.pos += uint(k)
		n -= k
	}
	return v, true
}

// peek returns the next 64 bits without consuming them, zero padded past
// the end of b. Only the top 57 are guaranteed to be the stream's: callers
// read at most 57 bits from one peek.
func (r *bitReader) peek() uint64 {
	i := r.pos >> 3
	if i+8 <= uint(len(r.b)) {
		return binary.BigEndian.Uint64(r.b[i:]) << (r.pos & 7)
	}
	var buf [8]byte
	if i < uint(len(r.b)) {
		copy(buf[:], r.b[i:])
	}
	return binary.BigEndian.Uint64(buf[:]) << (r.pos & 7)
}

// readBit reads one bit.
func (r *bitReader) readBit() (bool, bool) {
	i := r.pos >> 3
	if i >= uint(len(r.b)) {
		return false, false
	}
	bit := r.b[i]&(0x80>>(r.pos&7)) != 0
	r.pos++
	return bit, true
}

// readUnary counts 1 bits before a 0, stopping at max ones; it is how the
// delta-of-delta class prefixes are read.
func (r *bitReader) readUnary(max int) (int, bool) {
	for n := 0; n < max; n++ {
		bit, ok := r.readBit()
		if !ok {
			return 0, false
		}
		if !bit {
			return n, true
		}
	}
	return max, true
}

// readUvarint reads a varint written by writeUvarint.
func (r *bitReader) readUvarint() (uint64, bool) {
	var x uint64
	for shift := uint(0); shift < 64; shift += 7 {
		b, ok := r.readBits(8)
		if !ok {
			return 0, false
		}
		if shift == 63 && b > 1 {
			return 0, false
		}
		x |= (b & 0x7f) << shift
		if b < 0x80 {
			return x, true
		}
	}
	return 0, false
}

// zigzag maps signed to unsigned so small magnitudes of either sign get
// short varints.
func zigzag(x int64) uint64 { return uint64(x<<1) ^ uint64(x>>63) }

// unzigzag inverts zigzag.
func unzigzag(u uint64) int64 { return int64(u>>1) ^ -int64(u&1) }

// signExtend interprets the low n bits of v as a two's complement number.
func signExtend(v uint64, n int) int64 {
	s := uint(64 - n)
	return int64(v<<s) >> s
}

// uvarintLen is the size of x as a varint.
func uvarintLen(x uint64) int {
	return (bits.Len64(x|1) + 6) / 7
}
