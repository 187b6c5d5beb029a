package chunkenc

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
)

// Decimal value section (EncDecimal). Scraped values are mostly decimals
// with few digits (12.34, 1048576, 0.000231) whose binary forms change in
// every mantissa bit, which is what makes XOR spend 40+ bits on them. Here
// each value v becomes an integer m with v == m × 10^exp exactly, under one
// exponent for the chunk, and the integers are delta coded:
//
//	flags     byte: bit 0 delta-of-delta (else delta), bit 1 multiply mode,
//	          bit 2 exceptions present, bit 3 gcd present
//	exp       byte, int8 in [-22, 22]
//	[k        uvarint exception count, then k exceptions] if bit 2
//	[gcd      uvarint >= 2, the common divisor of all deltas] if bit 3
//	m0        zigzag varint, if any value is not an exception
//	delta:    an int stream (intstream.go) of (m[i]-m[i-1])/gcd
//	dod:      (m[1]-m[0])/gcd as a zigzag varint, an int stream of the
//	          delta-of-deltas over gcd
//
// The encoder keeps whichever of delta and delta-of-delta is smaller. The
// common divisor is there for byte counts that move in pages or sectors.
//
// The mantissas skip exception positions. An exception is a value with no
// exact decimal form at the exponent (NaN including the stale marker,
// ±Inf, -0, or more digits than fit): a gap varint (samples since the
// previous exception, or the index of the first) and a tag byte, with the
// 8 raw bytes (little endian) only for excRaw, so one stale marker costs
// two bytes instead of forcing the whole chunk to XOR.
//
// Decoding computes float64(m) / 10^-exp for exp < 0 and float64(m) × 10^exp
// otherwise. With |m| < 2^53 and |exp| <= 22 both operands are exact, so
// IEEE correct rounding yields the nearest float to the decimal, which is
// the original value; the encoder still checks every value. In multiply
// mode a negative exponent is applied as float64(m) × float64(10^exp):
// exporters that convert milliseconds to seconds as ms × 0.001 produce
// values like 12.104000000000001, which that form, and only that form,
// reproduces.

// Decimal section flags.
const (
	decFlagDoD        = 1 << 0
	decFlagMul        = 1 << 1
	decFlagExceptions = 1 << 2
	decFlagGCD        = 1 << 3
	decFlagsKnown     = decFlagDoD | decFlagMul | decFlagExceptions | decFlagGCD
)

// Exception tags; the common special values need no payload.
const (
	excStale   = iota // Prometheus's stale marker NaN
	excNaN            // Prometheus's normal NaN
	excPosInf         // +Inf
	excNegInf         // -Inf
	excNegZero        // -0
	excRaw            // 8 raw little-endian bytes follow
	numExcTags
)

// Bit patterns of the NaNs Prometheus uses: StaleNaN marks a series that
// went away, normalNaN is what its parsers store for NaN.
const (
	staleNaNBits  = 0x7ff0000000000002
	normalNaNBits = 0x7ff8000000000001
)

// maxExp bounds decimal exponents to those whose power of ten is an exact
// float64.
const maxExp = 22

// maxMantissa bounds |m| so that float64(m) is exact.
const maxMantissa = 1 << 53

// pow10 holds the exact powers of ten.
var pow10 = [maxExp + 1]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// negPow10 holds the float64 nearest to 10^-k, the factor of multiply mode.
var negPow10 = [maxExp + 1]float64{1e0, 1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10,
	1e-11, 1e-12, 1e-13, 1e-14, 1e-15, 1e-16, 1e-17, 1e-18, 1e-19, 1e-20, 1e-21, 1e-22}

// scale is how a chunk's mantissas become floats.
type scale struct {
	exp int
	mul bool
}

// value returns the float for mantissa m.
func (s scale) value(m int64) float64 {
	switch {
	case s.exp >= 0:
		return float64(m) * pow10[s.exp]
	case s.mul:
		return float64(m) * negPow10[-s.exp]
	default:
		return float64(m) / pow10[-s.exp]
	}
}

// mantissa returns m with s.value(m) bit-identical to v, if there is one.
func (s scale) mantissa(v float64) (int64, bool) {
	var x float64
	if s.exp >= 0 {
		x = v / pow10[s.exp]
	} else {
		x = v * pow10[-s.exp]
	}
	if !(math.Abs(x) < maxMantissa) { // also false for NaN
		return 0, false
	}
	vb := math.Float64bits(v)
	m := int64(math.Round(x))
	if math.Float64bits(s.value(m)) == vb {
		return m, true
	}
	// x carries the rounding error of one multiplication, which can put
	// the nearest integer one off near 2^53.
	for _, c := range [2]int64{m - 1, m + 1} {
		if c > -maxMantissa && c < maxMantissa && math.Float64bits(s.value(c)) == vb {
			return c, true
		}
	}
	return 0, false
}

// naturalExp returns the largest exponent in [-maxExp, maxExp] at which v
// has a mantissa below 2^53, from its shortest round-trip decimal digits.
func naturalExp(v float64) (int, bool) {
	var buf [32]byte
	s := strconv.AppendFloat(buf[:0], v, 'e', -1, 64)
	// s is [-]d[.ddd]e±xx.
	var m uint64
	digits := 0
	i := 0
	if s[0] == '-' {
		i++
	}
	for ; s[i] != 'e'; i++ {
		if s[i] == '.' {
			continue
		}
		m = m*10 + uint64(s[i]-'0')
		digits++
	}
	if m >= maxMantissa {
		return 0, false
	}
	// The exponent is a sign and at least two digits.
	e := 0
	for _, c := range s[i+2:] {
		e = e*10 + int(c-'0')
	}
	if s[i+1] == '-' {
		e = -e
	}
	e -= digits - 1
	if e < -maxExp {
		return 0, false
	}
	return min(e, maxExp), true
}

// isException reports values that never have a decimal form.
func isException(v float64) bool {
	return math.IsNaN(v) || math.IsInf(v, 0) || (v == 0 && math.Signbit(v))
}

// chooseScale picks the chunk's scale: the exponent of the value with the
// most decimals, or multiply mode when that leaves fewer exceptions.
func chooseScale(vs []float64) scale {
	exp := maxExp + 1 // no value seen yet
	var firstBad float64
	bad := 0
	for _, v := range vs {
		if isException(v) {
			continue
		}
		if exp <= maxExp {
			if _, ok := (scale{exp: exp}).mantissa(v); ok {
				continue
			}
		}
		var e int
		if v == math.Trunc(v) && math.Abs(v) < maxMantissa {
			e = 0
		} else if ne, ok := naturalExp(v); ok {
			e = ne
		} else {
			if bad == 0 {
				firstBad = v
			}
			bad++
			continue
		}
		exp = min(exp, e)
	}
	if exp > maxExp {
		exp = 0
	}
	best := scale{exp: exp}
	if bad > 0 {
		exc := countExceptions(vs, best)
		// Try multiply mode at the exponent that explains the first value
		// the divide form could not.
		for k := 1; k <= maxExp; k++ {
			s := scale{exp: -k, mul: true}
			if _, ok := s.mantissa(firstBad); ok {
				if countExceptions(vs, s) < exc {
					best = s
				}
				break
			}
		}
	}
	return best
}

// countExceptions counts the values without a mantissa at s.
func countExceptions(vs []float64, s scale) int {
	n := 0
	for _, v := range vs {
		if _, ok := s.mantissa(v); !ok {
			n++
		}
	}
	return n
}

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// appendDecimal writes the decimal value section. scratch holds 3×len(vs).
// It returns the number of exceptions, which tells the caller whether XOR
// might do better.
func appendDecimal(dst []byte, vs []float64, scratch []int64, varintOnly bool) ([]byte, int) {
	n := len(vs)
	s := chooseScale(vs)
	ms := scratch[:0:n]
	for _, v := range vs {
		if m, ok := s.mantissa(v); ok {
			ms = append(ms, m)
		}
	}
	exc := n - len(ms)
	var g uint64
	for i := 1; i < len(ms); i++ {
		d := ms[i] - ms[i-1]
		g = gcd(g, uint64(max(d, -d)))
	}
	g = max(g, 1)
	var deltas, dods []int64
	if len(ms) > 1 {
		deltas = scratch[n : n+len(ms)-1]
		for i := range deltas {
			deltas[i] = (ms[i+1] - ms[i]) / int64(g)
		}
	}
	if len(ms) > 2 {
		dods = scratch[2*n : 2*n+len(ms)-2]
		for i := range dods {
			dods[i] = deltas[i+1] - deltas[i]
		}
	}
	pd, pdod := planInts(deltas, varintOnly), planInts(dods, varintOnly)
	useDoD := len(dods) > 0 && pdod.size+uvarintLen(zigzag(deltas[0])) < pd.size

	var flags byte
	if useDoD {
		flags |= decFlagDoD
	}
	if s.mul {
		flags |= decFlagMul
	}
	if exc > 0 {
		flags |= decFlagExceptions
	}
	if g > 1 {
		flags |= decFlagGCD
	}
	dst = append(dst, flags, byte(int8(s.exp)))
	if exc > 0 {
		dst = appendExceptions(dst, vs, s, exc)
	}
	if g > 1 {
		dst = binary.AppendUvarint(dst, g)
	}
	if len(ms) > 0 {
		dst = binary.AppendUvarint(dst, zigzag(ms[0]))
	}
	if useDoD {
		dst = binary.AppendUvarint(dst, zigzag(deltas[0]))
		return appendInts(dst, dods, pdod), exc
	}
	return appendInts(dst, deltas, pd), exc
}

// appendExceptions writes the exception list.
func appendExceptions(dst []byte, vs []float64, s scale, exc int) []byte {
	dst = binary.AppendUvarint(dst, uint64(exc))
	last := -1
	for i, v := range vs {
		if _, ok := s.mantissa(v); ok {
			continue
		}
		dst = binary.AppendUvarint(dst, uint64(i-last-1))
		tag := exceptionTag(v)
		dst = append(dst, tag)
		if tag == excRaw {
			dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(v))
		}
		last = i
	}
	return dst
}

func exceptionTag(v float64) byte {
	switch b := math.Float64bits(v); {
	case b == staleNaNBits:
		return excStale
	case b == normalNaNBits:
		return excNaN
	case math.IsInf(v, 1):
		return excPosInf
	case math.IsInf(v, -1):
		return excNegInf
	case b == 1<<63:
		return excNegZero
	}
	return excRaw
}

// exceptionValues maps tags to values; excRaw's is read from the stream.
var exceptionValues = [numExcTags]uint64{
	excStale:   staleNaNBits,
	excNaN:     normalNaNBits,
	excPosInf:  0x7ff0000000000000,
	excNegInf:  0xfff0000000000000,
	excNegZero: 1 << 63,
}

// decodeDecimal fills vs from a decimal value section and returns the bytes
// it used. scratch (at least len(vs) long) receives the mantissas.
func decodeDecimal(vs []float64, src []byte, scratch []int64) (int, error) {
	if len(src) < 2 {
		return 0, errTruncated
	}
	flags, exp := src[0], int(int8(src[1]))
	if flags&^decFlagsKnown != 0 || exp < -maxExp || exp > maxExp || (flags&decFlagMul != 0 && exp >= 0) {
		return 0, fmt.Errorf("%w: decimal flags %#x exponent %d", ErrCorrupt, flags, exp)
	}
	pos := 2
	var exc []byte
	excCount := 0
	if flags&decFlagExceptions != 0 {
		k, n, err := skipExceptions(src[pos:], len(vs))
		if err != nil {
			return pos, err
		}
		exc, excCount = src[pos:pos+n], k
		pos += n
	}
	g := int64(1)
	if flags&decFlagGCD != 0 {
		u, k := binary.Uvarint(src[pos:])
		if k <= 0 || u < 2 || u > math.MaxInt64 {
			return pos, fmt.Errorf("%w: decimal gcd", ErrCorrupt)
		}
		g = int64(u)
		pos += k
	}
	ms := scratch[:len(vs)-excCount]
	n, err := decodeMantissas(ms, src[pos:], g, flags&decFlagDoD != 0)
	pos += n
	if err != nil {
		return pos, err
	}
	s := scale{exp: exp, mul: flags&decFlagMul != 0}
	if exc == nil {
		toFloats(vs, ms, s)
		return pos, nil
	}
	return pos, interleave(vs, ms, exc, s)
}

// decodeMantissas fills ms from m0, the optional first delta and the int
// stream.
func decodeMantissas(ms []int64, src []byte, g int64, dod bool) (int, error) {
	if len(ms) == 0 {
		return 0, nil
	}
	u, pos := binary.Uvarint(src)
	if pos <= 0 {
		return 0, errTruncated
	}
	m0 := unzigzag(u)
	if !dod || len(ms) < 3 {
		if dod {
			return pos, fmt.Errorf("%w: delta-of-delta with %d mantissas", ErrCorrupt, len(ms))
		}
		k, err := decodeInts(ms[1:], src[pos:])
		if err != nil {
			return pos, err
		}
		ms[0] = m0
		for i := 1; i < len(ms); i++ {
			ms[i] = ms[i-1] + ms[i]*g
		}
		return pos + k, nil
	}
	u, k := binary.Uvarint(src[pos:])
	if k <= 0 {
		return pos, errTruncated
	}
	pos += k
	d := unzigzag(u) * g
	k, err := decodeInts(ms[2:], src[pos:])
	if err != nil {
		return pos, err
	}
	ms[0], ms[1] = m0, m0+d
	for i := 2; i < len(ms); i++ {
		d += ms[i] * g
		ms[i] = ms[i-1] + d
	}
	return pos + k, nil
}

// toFloats converts mantissas, one loop per operation so the loops stay
// branch-free.
func toFloats(vs []float64, ms []int64, s scale) {
	ms = ms[:len(vs)]
	switch {
	case s.exp >= 0:
		f := pow10[s.exp]
		for i, m := range ms {
			vs[i] = float64(m) * f
		}
	case s.mul:
		f := negPow10[-s.exp]
		for i, m := range ms {
			vs[i] = float64(m) * f
		}
	default:
		f := pow10[-s.exp]
		for i, m := range ms {
			vs[i] = float64(m) / f
		}
	}
}

// skipExceptions validates the exception list at the start of src and
// returns the count and its length in bytes.
func skipExceptions(src []byte, n int) (int, int, error) {
	k, pos := binary.Uvarint(src)
	if pos <= 0 || k == 0 || k > uint64(n) {
		return 0, 0, fmt.Errorf("%w: exception count", ErrCorrupt)
	}
	idx := -1
	for range k {
		gap, l := binary.Uvarint(src[pos:])
		if l <= 0 || gap >= uint64(n-idx-1) {
			return 0, 0, fmt.Errorf("%w: exception index", ErrCorrupt)
		}
		idx += int(gap) + 1
		pos += l
		if pos >= len(src) || src[pos] >= numExcTags {
			return 0, 0, fmt.Errorf("%w: exception tag", ErrCorrupt)
		}
		tag := src[pos]
		pos++
		if tag == excRaw {
			if len(src)-pos < 8 {
				return 0, 0, errTruncated
			}
			pos += 8
		}
	}
	return int(k), pos, nil
}

// interleave fills vs from mantissas and an exception list that
// skipExceptions has validated.
func interleave(vs []float64, ms []int64, exc []byte, s scale) error {
	k, pos := binary.Uvarint(exc)
	next, j := -1, 0
	for i := range vs {
		if next < i && k > 0 {
			gap, l := binary.Uvarint(exc[pos:])
			pos += l
			next = i + int(gap)
			k--
		}
		if i != next {
			vs[i] = s.value(ms[j])
			j++
			continue
		}
		tag := exc[pos]
		pos++
		b := exceptionValues[tag]
		if tag == excRaw {
			b = binary.LittleEndian.Uint64(exc[pos:])
			pos += 8
		}
		vs[i] = math.Float64frombits(b)
	}
	return nil
}
