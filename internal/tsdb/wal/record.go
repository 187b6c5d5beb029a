package wal

import (
	"encoding/binary"
	"hash/crc32"
	"slices"
)

// PageSize is the size of the pages a segment file is divided into. A
// fragment never crosses a page boundary, so after damage the reader can
// resume at the next multiple of PageSize.
const PageSize = 32 << 10

// headerSize is the size of a fragment header: type (1 byte), payload
// length (2 bytes, little-endian) and CRC32-Castagnoli (4 bytes,
// little-endian). When fewer than headerSize bytes remain in a page the
// writer fills them with zeros.
const headerSize = 7

// Fragment types, stored in the first header byte. A record that fits in
// the rest of the current page is one fragFull fragment; a longer record is
// one fragFirst, zero or more fragMiddle and one fragLast fragment, each
// filling its page to the end except the last.
const (
	// fragPad is never written as a header: it is the zero byte the reader
	// sees where the writer padded the last few bytes of a page.
	fragPad    byte = 0
	fragFull   byte = 1
	fragFirst  byte = 2
	fragMiddle byte = 3
	fragLast   byte = 4
)

// castagnoli is an immutable lookup table. Castagnoli is used because it has
// hardware support on amd64 and arm64 and better error detection than IEEE.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// fragmentCRC returns the checksum stored in a fragment header. It covers the
// type and length bytes as well as the payload: with a payload-only checksum
// a bit flip that turns a fragFirst into a fragFull would deliver the first
// fragment of a record as a complete, wrong record without any error (see
// TestHeaderBitFlipsNeverDeliverWrongRecords).
func fragmentCRC(typeAndLen, payload []byte) uint32 {
	return crc32.Update(crc32.Update(0, castagnoli, typeAndLen), castagnoli, payload)
}

// encodedLen returns how many bytes a record of n bytes occupies when it
// starts at segment offset pos, including headers and any page padding
// before its first fragment. It mirrors appendRecord.
func encodedLen(n int, pos int64) int64 {
	po := int(pos % PageSize)
	var total int64
	for {
		if left := PageSize - po; left < headerSize {
			total += int64(left)
			po = 0
		}
		k := min(n, PageSize-po-headerSize)
		total += int64(headerSize + k)
		po += headerSize + k
		n -= k
		if n == 0 {
			return total
		}
	}
}

// maxRecordSize returns the largest record that fits in an empty segment of
// segSize bytes, so that rotation always makes room for any accepted record.
func maxRecordSize(segSize int64) int {
	full := segSize / PageSize
	n := full * (PageSize - headerSize)
	if rest := segSize % PageSize; rest > headerSize {
		n += rest - headerSize
	}
	return int(n)
}

// appendRecord appends the encoding of rec to dst, where pos is the segment
// offset at which the appended bytes will land. It grows dst at most once.
func appendRecord(dst []byte, pos int64, rec []byte) []byte {
	dst = slices.Grow(dst, int(encodedLen(len(rec), pos)))
	po := int(pos % PageSize)
	first := true
	for {
		if left := PageSize - po; left < headerSize {
			// The compiler turns append of make into a zeroing extend.
			dst = append(dst, make([]byte, left)...)
			po = 0
		}
		// k may be 0 for a non-empty record when exactly headerSize bytes
		// remain: an empty fragFirst is simpler than a special padding rule.
		k := min(len(rec), PageSize-po-headerSize)
		typ := fragMiddle
		switch {
		case first && k == len(rec):
			typ = fragFull
		case first:
			typ = fragFirst
		case k == len(rec):
			typ = fragLast
		}
		h := len(dst)
		dst = append(dst, typ, byte(k), byte(k>>8), 0, 0, 0, 0)
		dst = append(dst, rec[:k]...)
		binary.LittleEndian.PutUint32(dst[h+3:], fragmentCRC(dst[h:h+3], rec[:k]))
		po += headerSize + k
		rec = rec[k:]
		first = false
		if typ == fragFull || typ == fragLast {
			return dst
		}
	}
}
