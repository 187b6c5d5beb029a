package index

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
)

// On-disk layout of a block index file (all integers little endian or varints):
//
//	header    magic "ARGX" (4) | version (1) | zero (3)
//	symbols   uvarint count | count × (uvarint len | bytes), sorted | crc32c
//	series    entries, each at a 16-byte aligned offset:
//	            uvarint len | payload | crc32c(payload)
//	          payload: uvarint nlabels | nlabels × (uvarint name sym | uvarint value sym)
//	                   | uvarint nchunks | chunk metas (first: varint mint, uvarint maxt-mint,
//	                   uvarint ref; then: varint mint-prev maxt, uvarint maxt-mint,
//	                   varint ref-prev ref)
//	postings  lists, each: uvarint count | count × uvarint delta of series id | crc32c
//	table     uvarint count | count × (uvarint name sym | uvarint value sym | uvarint offset) | crc32c
//	toc       symbols, series, postings, table, all-postings offsets (5 × 8) | crc32c (4) | magic (4)
//
// A series id is its entry offset divided by 16, so a postings entry leads straight
// to the series without another lookup table. Sorting the table by (name, value)
// lets a reader build its per-name value lists in one pass.
const (
	magic        = 0x41524758 // "ARGX"
	formatV1     = 1
	headerSize   = 8
	tocSize      = 5*8 + 4 + 4
	seriesAlign  = 16
	maxLabelSets = 1 << 12 // a series with more labels than this is corrupt
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrCorrupt is wrapped by every error caused by invalid index contents.
var ErrCorrupt = errors.New("corrupt index")

// ChunkMeta locates one chunk of a series in the block's chunks file.
type ChunkMeta struct {
	MinT, MaxT int64
	Ref        uint64
}

// decbuf is a bounds-checked cursor over index bytes; the first failure sticks.
type decbuf struct {
	b   []byte
	err error
}

func (d *decbuf) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = ErrCorrupt
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decbuf) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = ErrCorrupt
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decbuf) bytes(n uint64) []byte {
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.err = ErrCorrupt
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decbuf) u32() uint32 {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 4 {
		d.err = ErrCorrupt
		return 0
	}
	v := binary.LittleEndian.Uint32(d.b)
	d.b = d.b[4:]
	return v
}
