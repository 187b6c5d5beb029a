package chunkenc

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// zstdLevel is the fastest: packed payloads are close to their entropy,
// so the higher levels find at most a few percent more (see the size table
// in chunkenc_bench_test.go), and the fastest gives up on incompressible
// input almost for free, which keeps trying zstd on every chunk cheap.
const zstdLevel = zstd.SpeedFastest

// zstdCodec holds the shared encoder and decoder. Both are safe for
// concurrent EncodeAll/DecodeAll calls and start no goroutines for them.
// They are created on first use and never change afterwards, so they are
// immutable lookup tables in the sense of the house rules, not state.
var zstdCodec = sync.OnceValues(func() (*zstd.Encoder, *zstd.Decoder) {
	enc, err := zstd.NewWriter(nil,
		zstd.WithEncoderLevel(zstdLevel),
		zstd.WithEncoderCRC(false),     // the block file checks its own integrity
		zstd.WithSingleSegment(true),   // no window descriptor byte
		zstd.WithLowerEncoderMem(true), // chunks are small; big tables buy nothing
		zstd.WithWindowSize(1<<22),     // at least maxPayload(MaxSamples)
	)
	if err != nil {
		panic("BUG: zstd encoder options: " + err.Error())
	}
	dec, err := zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(0),   // one decoder state per CPU
		zstd.WithDecodeAllCapLimit(true), // output never exceeds the buffer sized from rawLen
		zstd.WithDecoderMaxMemory(uint64(maxPayload(MaxSamples))),
	)
	if err != nil {
		panic("BUG: zstd decoder options: " + err.Error())
	}
	return enc, dec
})

// appendZstdHeader writes what the encoder puts before the first block of
// a frame holding n bytes: the magic number, a frame header descriptor
// saying single segment without checksum or dictionary, and the frame
// content size in the smallest field that holds n (RFC 8878, 3.1.1.1).
func appendZstdHeader(dst []byte, n int) []byte {
	dst = append(dst, 0x28, 0xb5, 0x2f, 0xfd)
	const singleSegment = 1 << 5
	switch {
	case n < 256:
		return append(dst, singleSegment, byte(n))
	case n < 256+1<<16:
		return binary.LittleEndian.AppendUint16(append(dst, singleSegment|1<<6), uint16(n-256))
	default:
		return binary.LittleEndian.AppendUint32(append(dst, singleSegment|2<<6), uint32(n))
	}
}

// compressPayload replaces dst[payload:] with its zstd form if that saves
// at least a fifth, or always if asked to (for benchmarks). dst[start] is
// the chunk's type byte. A nil enc means the shared encoder.
//
// The packed payload is close to the entropy of scraped data, so zstd
// rarely finds more than a few percent in it, while it makes decoding three
// to four times slower; it is kept for the chunks it really shrinks
// (repetitive values, XOR chunks).
func compressPayload(dst []byte, start, payload int, enc *zstd.Encoder, always bool) []byte {
	raw := dst[payload:]
	if len(raw) < 16 && !always {
		return dst // a frame's own overhead exceeds any saving
	}
	if enc == nil {
		enc, _ = zstdCodec()
	}
	end := len(dst)
	dst = enc.EncodeAll(raw, dst)
	frame := dst[end:]
	var hdr [16]byte
	want := appendZstdHeader(hdr[:0], len(raw))
	if !bytes.HasPrefix(frame, want) {
		// Not the frame shape we strip and rebuild: keep the raw payload.
		return dst[:end]
	}
	body := frame[len(want):]
	var lenBuf [binary.MaxVarintLen64]byte
	rawLen := binary.PutUvarint(lenBuf[:], uint64(len(raw)))
	if size := rawLen + len(body); !always && size*5 > len(raw)*4 {
		return dst[:end]
	}
	// The body lies after the payload, so moving it down never overwrites
	// bytes still to be moved.
	n := copy(dst[payload:], lenBuf[:rawLen])
	n += copy(dst[payload+n:], body)
	dst[start] |= flagZstd
	return dst[:payload+n]
}

// decompress inflates a frame body into buf and returns exactly rawLen
// bytes of payload.
func decompress(buf *[]byte, body []byte, rawLen int) ([]byte, error) {
	var hdr [16]byte
	h := appendZstdHeader(hdr[:0], rawLen)
	need := len(h) + len(body) + rawLen
	if cap(*buf) < need {
		*buf = make([]byte, 0, need)
	}
	in := append(append((*buf)[:0], h...), body...)
	out := (*buf)[len(in) : len(in) : len(in)+rawLen]
	_, dec := zstdCodec()
	out, err := dec.DecodeAll(in, out)
	if err != nil {
		return nil, fmt.Errorf("%w: zstd: %w", ErrCorrupt, err)
	}
	if len(out) != rawLen {
		return nil, fmt.Errorf("%w: zstd payload of %d bytes, header says %d", ErrCorrupt, len(out), rawLen)
	}
	return out, nil
}

// scratchPool recycles decompression buffers, so decoding a zstd chunk into
// preallocated slices does not allocate; the chunk-decode benchmark shows
// the allocation otherwise dominating small chunks.
var scratchPool = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledScratch keeps a rare huge chunk from pinning its buffer.
const maxPooledScratch = 1 << 20

func getScratch() *[]byte { return scratchPool.Get().(*[]byte) }

func putScratch(b *[]byte) {
	if cap(*b) <= maxPooledScratch {
		scratchPool.Put(b)
	}
}
