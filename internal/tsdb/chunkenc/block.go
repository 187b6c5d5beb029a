package chunkenc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// Block chunk layout, for immutable blocks:
//
//	type     byte: Encoding in the low 7 bits, 0x80 if the payload is zstd
//	n        uvarint sample count, at most MaxSamples
//	payload  uvarint length of the values section, the values section of
//	         the encoding, then the timestamps section (n > 0 only)
//
// or, with 0x80 set, in place of the payload:
//
//	rawLen   uvarint payload size
//	frame    a zstd frame without its magic number, frame header descriptor
//	         and content size: those are implied by rawLen (single
//	         segment, no checksum, no dictionary), which saves 6-7 bytes a
//	         chunk.
//
// Values come first so a decoder can use the timestamp slice as scratch
// for the value integers before it fills in the timestamps.
//
// Timestamps section: see timestamps.go.
//
// Values section: see decimal.go for EncDecimal; EncXOR is the head chunk's
// XOR value stream (first value as 64 raw bits, then XOR codes), padded to
// a byte.

// Encoding identifies a block chunk's format.
type Encoding uint8

// Encodings. Values up to 0x7f are ours to assign; the high bit of the type
// byte is the zstd flag.
const (
	// EncDecimal holds float samples whose values are decimal numbers; the
	// encoder picks it whenever it is the smaller.
	EncDecimal Encoding = 1
	// EncXOR holds float samples that are not decimal friendly (random
	// binary fractions, values needing more than 15-16 digits).
	EncXOR Encoding = 2
	// EncHistogram is reserved for native histograms with integer counts.
	EncHistogram Encoding = 3
	// EncFloatHistogram is reserved for native histograms with float counts.
	EncFloatHistogram Encoding = 4

	flagZstd = 0x80
)

// String returns the encoding's name.
func (e Encoding) String() string {
	switch e {
	case EncDecimal:
		return "decimal"
	case EncXOR:
		return "xor"
	case EncHistogram:
		return "histogram"
	case EncFloatHistogram:
		return "floathistogram"
	}
	return fmt.Sprintf("<unknown encoding %d>", uint8(e))
}

// MaxSamples is the most samples a block chunk may hold: a day at one
// sample a second and then some. Decode rejects larger counts, which bounds
// what hostile input can make it allocate (about 2 MiB of samples plus
// 3 MiB of decompressed payload).
const MaxSamples = 1 << 17

// maxSampleBytes bounds a sample's payload bytes as the encoder writes
// them: int streams are never larger than their varint form, so a
// timestamp takes at most 10 bytes and a value at most 12 (an exception
// with raw bits; a mantissa varint or an XOR code is 10 at most).
const maxSampleBytes = 22

// maxPayload bounds the payload of a chunk of n samples; 128 covers the
// section headers.
func maxPayload(n int) int { return n*maxSampleBytes + 128 }

// Errors returned by Decode.
var (
	// ErrCorrupt is wrapped by every error about malformed chunk bytes.
	ErrCorrupt = errors.New("corrupt chunk")
	// ErrUnsupported is returned for encodings this version cannot read.
	ErrUnsupported = errors.New("unsupported chunk encoding")

	errTruncated = fmt.Errorf("%w: truncated", ErrCorrupt)
)

// encodeOptions exist for the measurements in the benchmarks; Encode uses
// only zstd.
type encodeOptions struct {
	zstd bool
	// xor forces the XOR values section.
	xor bool
	// varint forces varint int streams, the first design, for comparison.
	varint bool
	// zstdAlways compresses even when that does not pay.
	zstdAlways bool
	// enc replaces the shared zstd encoder, to compare levels.
	enc *zstd.Encoder
}

// Encode appends the block chunk of samples (ts[i], vs[i]) to dst. ts and vs
// must have equal lengths of at most MaxSamples; anything else is a bug in
// the caller and panics. Timestamps are meant to increase but need not.
// Values are kept bit for bit.
func Encode(dst []byte, ts []int64, vs []float64) []byte {
	return encode(dst, ts, vs, encodeOptions{zstd: true})
}

func encode(dst []byte, ts []int64, vs []float64, o encodeOptions) []byte {
	if len(ts) != len(vs) || len(ts) > MaxSamples {
		panic(fmt.Sprintf("BUG: chunkenc.Encode with %d timestamps and %d values (max %d)", len(ts), len(vs), MaxSamples))
	}
	start := len(dst)
	dst = append(dst, byte(EncDecimal))
	dst = binary.AppendUvarint(dst, uint64(len(ts)))
	if len(ts) == 0 {
		return dst
	}
	payload := len(dst)
	scratch := getInts(3 * len(ts))
	defer putInts(scratch)
	// Reserve room for the values length, which is known only afterwards.
	const lenRoom = 4 // uvarint of maxPayload(MaxSamples)
	dst = append(dst, make([]byte, lenRoom)...)
	var enc Encoding
	dst, enc = appendValues(dst, vs, *scratch, o)
	dst[start] = byte(enc)
	vlen := len(dst) - payload - lenRoom
	k := binary.PutUvarint(dst[payload:], uint64(vlen))
	copy(dst[payload+k:], dst[payload+lenRoom:])
	dst = dst[:payload+k+vlen]
	dst = appendTimestamps(dst, ts, *scratch, o.varint)
	if o.zstd || o.zstdAlways {
		dst = compressPayload(dst, start, payload, o.enc, o.zstdAlways)
	}
	return dst
}

// appendValues writes the values section, decimal unless XOR is smaller.
func appendValues(dst []byte, vs []float64, scratch []int64, o encodeOptions) ([]byte, Encoding) {
	if o.xor {
		return appendXORValues(dst, vs), EncXOR
	}
	start := len(dst)
	var exc int
	dst, exc = appendDecimal(dst, vs, scratch, o.varint)
	decLen := len(dst) - start
	// Exceptions cost 2-10 bytes each and more than two bytes a sample
	// means long mantissas, which XOR may code better: only then is the
	// XOR form worth computing.
	if exc == 0 && decLen < 2*len(vs) {
		return dst, EncDecimal
	}
	dst = appendXORValues(dst, vs)
	if xorLen := len(dst) - start - decLen; xorLen < decLen {
		copy(dst[start:], dst[start+decLen:])
		return dst[:start+xorLen], EncXOR
	}
	return dst[:start+decLen], EncDecimal
}

// Decode appends the samples of block chunk src to ts and vs. On error ts
// and vs are returned with their original lengths and the error wraps
// ErrCorrupt or ErrUnsupported. It never reads outside src and whatever
// the input allocates at most what MaxSamples samples and their payload
// take.
func Decode(ts []int64, vs []float64, src []byte) ([]int64, []float64, error) {
	h, err := parseHeader(src)
	if err != nil {
		return ts, vs, err
	}
	payload := src[h.payload:]
	if h.zstd {
		buf := getScratch()
		defer putScratch(buf)
		if payload, err = decompress(buf, payload, h.rawLen); err != nil {
			return ts, vs, err
		}
	}
	if h.n == 0 {
		if len(payload) != 0 {
			return ts, vs, fmt.Errorf("%w: payload in an empty chunk", ErrCorrupt)
		}
		return ts, vs, nil
	}
	t0, v0 := len(ts), len(vs)
	ts = slices.Grow(ts, h.n)[:t0+h.n]
	vs = slices.Grow(vs, h.n)[:v0+h.n]
	if err := decodePayload(ts[t0:], vs[v0:], payload, h.enc); err != nil {
		return ts[:t0], vs[:v0], err
	}
	return ts, vs, nil
}

func decodePayload(ts []int64, vs []float64, payload []byte, enc Encoding) error {
	vlen, k := binary.Uvarint(payload)
	if k <= 0 || vlen > uint64(len(payload)-k) {
		return fmt.Errorf("%w: values section length", ErrCorrupt)
	}
	values := payload[k : k+int(vlen)]
	var (
		n   int
		err error
	)
	if enc == EncDecimal {
		// The timestamps are not decoded yet: their slice is free scratch.
		n, err = decodeDecimal(vs, values, ts)
	} else {
		n, err = decodeXORValues(vs, values)
	}
	if err != nil {
		return fmt.Errorf("values: %w", err)
	}
	if n != len(values) {
		return fmt.Errorf("%w: %d bytes left in the values section", ErrCorrupt, len(values)-n)
	}
	times := payload[k+int(vlen):]
	if n, err = decodeTimestamps(ts, times); err != nil {
		return fmt.Errorf("timestamps: %w", err)
	}
	if n != len(times) {
		return fmt.Errorf("%w: %d bytes left over", ErrCorrupt, len(times)-n)
	}
	return nil
}

// SampleCount returns the number of samples in block chunk src, to size
// the slices for Decode.
func SampleCount(src []byte) (int, error) {
	h, err := parseHeader(src)
	return h.n, err
}

// header is the parsed prefix of a block chunk.
type header struct {
	enc     Encoding
	zstd    bool
	n       int
	rawLen  int
	payload int // offset of the payload or the zstd frame
}

func parseHeader(src []byte) (header, error) {
	if len(src) == 0 {
		return header{}, errTruncated
	}
	h := header{enc: Encoding(src[0] &^ flagZstd), zstd: src[0]&flagZstd != 0}
	switch h.enc {
	case EncDecimal, EncXOR:
	case EncHistogram, EncFloatHistogram:
		return header{}, fmt.Errorf("%w: %s", ErrUnsupported, h.enc)
	default:
		return header{}, fmt.Errorf("%w: type byte %#x", ErrUnsupported, src[0])
	}
	n, k := binary.Uvarint(src[1:])
	if k <= 0 {
		return header{}, errTruncated
	}
	if n > MaxSamples {
		return header{}, fmt.Errorf("%w: %d samples, more than %d", ErrCorrupt, n, MaxSamples)
	}
	h.n, h.payload = int(n), 1+k
	if !h.zstd {
		return h, nil
	}
	raw, k := binary.Uvarint(src[h.payload:])
	if k <= 0 {
		return header{}, errTruncated
	}
	if raw > uint64(maxPayload(h.n)) {
		return header{}, fmt.Errorf("%w: %d payload bytes for %d samples", ErrCorrupt, raw, h.n)
	}
	h.rawLen, h.payload = int(raw), h.payload+k
	return h, nil
}

// intsPool recycles the encoder's integer scratch (three int64 per sample),
// so Encode does not allocate; compaction encodes every chunk of a block.
var intsPool = sync.Pool{New: func() any { return new([]int64) }}

func getInts(n int) *[]int64 {
	p := intsPool.Get().(*[]int64)
	if cap(*p) < n {
		*p = make([]int64, n)
	}
	*p = (*p)[:n]
	return p
}

func putInts(p *[]int64) {
	if cap(*p) <= maxPooledScratch/8 {
		intsPool.Put(p)
	}
}
