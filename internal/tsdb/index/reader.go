package index

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"slices"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
)

// Reader reads a block index held in memory (usually a file mapping). The symbol
// strings and the postings table are decoded at open into Go memory, so labels it
// returns stay valid after the mapping is closed; postings and series are decoded
// on demand. A Reader is safe for concurrent use.
type Reader struct {
	b       []byte
	symbols []string
	names   []string
	values  map[string]*nameValues
	toc     [5]uint64
}

type nameValues struct {
	values []string
	offs   []uint64
}

// NewReader validates the layout of b and decodes its symbols and postings table.
func NewReader(b []byte) (*Reader, error) {
	if len(b) < headerSize+tocSize {
		return nil, fmt.Errorf("%w: %d bytes is too short", ErrCorrupt, len(b))
	}
	if binary.LittleEndian.Uint32(b) != magic {
		return nil, fmt.Errorf("%w: bad magic", ErrCorrupt)
	}
	if b[4] != formatV1 {
		return nil, fmt.Errorf("%w: unknown version %d", ErrCorrupt, b[4])
	}
	tocb := b[len(b)-tocSize:]
	if binary.LittleEndian.Uint32(tocb[tocSize-4:]) != magic {
		return nil, fmt.Errorf("%w: bad trailing magic (truncated file?)", ErrCorrupt)
	}
	if crc32.Checksum(tocb[:40], castagnoli) != binary.LittleEndian.Uint32(tocb[40:]) {
		return nil, fmt.Errorf("%w: table of contents checksum mismatch", ErrCorrupt)
	}
	r := &Reader{b: b, values: map[string]*nameValues{}}
	end := uint64(len(b) - tocSize)
	for i := range r.toc {
		r.toc[i] = binary.LittleEndian.Uint64(tocb[i*8:])
		if r.toc[i] < headerSize || r.toc[i] > end {
			return nil, fmt.Errorf("%w: section offset %d out of range", ErrCorrupt, r.toc[i])
		}
	}
	if err := r.readSymbols(); err != nil {
		return nil, err
	}
	if err := r.readTable(); err != nil {
		return nil, err
	}
	return r, nil
}

// readSymbols decodes the symbol section into one arena string and verifies its
// checksum.
func (r *Reader) readSymbols() error {
	d := decbuf{b: r.b[r.toc[0]:r.toc[1]]}
	start := d.b
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		return fmt.Errorf("%w: symbol count %d", ErrCorrupt, n)
	}
	// One arena string for all symbols keeps them off the mapping at little cost.
	r.symbols = make([]string, n)
	lens := make([]int, n)
	total := 0
	body := d.b
	for i := range n {
		l := d.uvarint()
		d.bytes(l)
		lens[i] = int(l)
		total += int(l)
	}
	if d.err != nil {
		return fmt.Errorf("%w: symbols section", ErrCorrupt)
	}
	sectionLen := len(start) - len(d.b)
	if crc := d.u32(); d.err != nil || crc32.Checksum(start[:sectionLen], castagnoli) != crc {
		return fmt.Errorf("%w: symbols checksum mismatch", ErrCorrupt)
	}
	var sb strings.Builder
	sb.Grow(total)
	bd := decbuf{b: body}
	for range n {
		sb.Write(bd.bytes(bd.uvarint()))
	}
	arena := sb.String()
	off := 0
	for i, l := range lens {
		r.symbols[i] = arena[off : off+l]
		off += l
	}
	return nil
}

func (r *Reader) symbol(ref uint64) (string, error) {
	if ref >= uint64(len(r.symbols)) {
		return "", fmt.Errorf("%w: symbol ref %d out of range", ErrCorrupt, ref)
	}
	return r.symbols[ref], nil
}

func (r *Reader) readTable() error {
	d := decbuf{b: r.b[r.toc[3] : uint64(len(r.b))-tocSize]}
	start := d.b
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		return fmt.Errorf("%w: postings table count %d", ErrCorrupt, n)
	}
	var prev *nameValues
	prevName := ""
	for range n {
		nameRef, valRef, off := d.uvarint(), d.uvarint(), d.uvarint()
		if d.err != nil {
			return fmt.Errorf("%w: postings table", ErrCorrupt)
		}
		name, err := r.symbol(nameRef)
		if err != nil {
			return err
		}
		val, err := r.symbol(valRef)
		if err != nil {
			return err
		}
		if off < r.toc[2] || off >= r.toc[3] {
			return fmt.Errorf("%w: postings offset %d out of range", ErrCorrupt, off)
		}
		if prev == nil || name != prevName {
			if _, dup := r.values[name]; dup {
				return fmt.Errorf("%w: postings table not sorted at %q", ErrCorrupt, name)
			}
			prev = &nameValues{}
			prevName = name
			r.values[name] = prev
			r.names = append(r.names, name)
		} else if k := len(prev.values); k > 0 && prev.values[k-1] >= val {
			return fmt.Errorf("%w: postings table not sorted at %s=%q", ErrCorrupt, name, val)
		}
		prev.values = append(prev.values, val)
		prev.offs = append(prev.offs, off)
	}
	sectionLen := len(start) - len(d.b)
	if crc := d.u32(); d.err != nil || crc32.Checksum(start[:sectionLen], castagnoli) != crc {
		return fmt.Errorf("%w: postings table checksum mismatch", ErrCorrupt)
	}
	if !slices.IsSorted(r.names) {
		return fmt.Errorf("%w: label names not sorted", ErrCorrupt)
	}
	return nil
}

// Symbols returns every label name and value of the block, sorted. The slice is
// shared and must not be modified.
func (r *Reader) Symbols() []string { return r.symbols }

// LabelNames returns the sorted label names of the block.
func (r *Reader) LabelNames() []string { return r.names }

// LabelValues returns the sorted values of a label name; the slice is shared.
func (r *Reader) LabelValues(name string) ([]string, error) {
	if nv := r.values[name]; nv != nil {
		return nv.values, nil
	}
	return nil, nil
}

// Postings returns the ids of the series with the label pair.
func (r *Reader) Postings(name, value string) ([]uint64, error) {
	nv := r.values[name]
	if nv == nil {
		return nil, nil
	}
	i, ok := slices.BinarySearch(nv.values, value)
	if !ok {
		return nil, nil
	}
	return r.decodePostings(nv.offs[i])
}

// AllPostings returns the ids of every series in the block.
func (r *Reader) AllPostings() ([]uint64, error) { return r.decodePostings(r.toc[4]) }

func (r *Reader) decodePostings(off uint64) ([]uint64, error) {
	d := decbuf{b: r.b[off:r.toc[3]]}
	start := d.b
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		return nil, fmt.Errorf("%w: postings count %d at offset %d", ErrCorrupt, n, off)
	}
	ids := make([]uint64, n)
	var id uint64
	for i := range ids {
		delta := d.uvarint()
		if i > 0 && delta == 0 {
			return nil, fmt.Errorf("%w: postings not increasing at offset %d", ErrCorrupt, off)
		}
		id += delta
		ids[i] = id
	}
	sectionLen := len(start) - len(d.b)
	if crc := d.u32(); d.err != nil || crc32.Checksum(start[:sectionLen], castagnoli) != crc {
		return nil, fmt.Errorf("%w: postings checksum mismatch at offset %d", ErrCorrupt, off)
	}
	return ids, nil
}

// Series decodes the series with the given id, building labels with b and
// appending its chunk metas to chks[:0].
func (r *Reader) Series(id uint64, b *labels.ScratchBuilder, chks []ChunkMeta) (labels.Labels, []ChunkMeta, error) {
	chks, err := r.SeriesInto(id, b, chks)
	if err != nil {
		return labels.EmptyLabels(), nil, err
	}
	return b.Labels(), chks, nil
}

// SeriesInto is Series for a caller that makes the labels from b itself,
// such as one that overwrites reused labels.
func (r *Reader) SeriesInto(id uint64, b *labels.ScratchBuilder, chks []ChunkMeta) ([]ChunkMeta, error) {
	off := id * seriesAlign
	if id == 0 || off < r.toc[1] || off >= r.toc[2] || off/seriesAlign != id {
		return nil, fmt.Errorf("%w: series id %d out of range", ErrCorrupt, id)
	}
	d := decbuf{b: r.b[off:r.toc[2]]}
	l := d.uvarint()
	payload := d.bytes(l)
	crc := d.u32()
	if d.err != nil || crc32.Checksum(payload, castagnoli) != crc {
		return nil, fmt.Errorf("%w: series %d checksum mismatch", ErrCorrupt, id)
	}
	d = decbuf{b: payload}
	nl := d.uvarint()
	if nl > maxLabelSets {
		return nil, fmt.Errorf("%w: series %d has %d labels", ErrCorrupt, id, nl)
	}
	b.Reset()
	for range nl {
		n, err := r.symbol(d.uvarint())
		if err != nil {
			return nil, err
		}
		v, err := r.symbol(d.uvarint())
		if err != nil {
			return nil, err
		}
		b.Add(n, v)
	}
	nc := d.uvarint()
	if nc > uint64(len(d.b)) {
		return nil, fmt.Errorf("%w: series %d chunk count %d", ErrCorrupt, id, nc)
	}
	chks = chks[:0]
	var prev ChunkMeta
	for i := range nc {
		var c ChunkMeta
		if i == 0 {
			c.MinT = d.varint()
			c.MaxT = c.MinT + int64(d.uvarint())
			c.Ref = d.uvarint()
		} else {
			c.MinT = prev.MaxT + d.varint()
			c.MaxT = c.MinT + int64(d.uvarint())
			c.Ref = uint64(int64(prev.Ref) + d.varint())
		}
		chks = append(chks, c)
		prev = c
	}
	if d.err != nil {
		return nil, fmt.Errorf("%w: series %d", ErrCorrupt, id)
	}
	return chks, nil
}
