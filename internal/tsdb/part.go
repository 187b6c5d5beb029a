package tsdb

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/argus-mon/argus/internal/tsdb/diskio"
)

// A head part is what one flush of the head writes: every open chunk cut at the
// flush, plus the newest sample time of every series, in one immutable file.
// Layout (integers little endian unless varint):
//
//	header  magic "ARGP" (4) | version (1) | zero (3)
//	chunks  per entry with samples, in ref order: chunk bytes | crc32c (4)
//	groups  up to partGroupSize entries each: uvarint count | entries | crc32c (4)
//	        entry: uvarint ref delta (from the group's first ref) | varint maxt-lastT
//	               | 8 bytes of the last value | uvarint chunk length (0: no chunk)
//	               | if chunk: uvarint samples, uvarint lastT-minT
//	table   per group: first ref (8) | group offset (8) | first chunk offset (8)
//	footer  mint, maxt (8+8) | wal segment (8) | entries (8) | groups (8) |
//	        table offset (8) | crc32c of table (4) | crc32c of footer (4) | magic (4)
//
// The fixed-size table is binary searched in place, so an open part costs no
// heap memory; a cursor decodes each group once when refs are visited in order.
const (
	partMagic      = 0x41524750 // "ARGP"
	partVersion    = 1
	partHeaderSize = 8
	partFooterSize = 6*8 + 4 + 4 + 4
	partTableEntry = 24
	partGroupSize  = 128
)

var errCorruptPart = errors.New("corrupt head part")

// partEntry is one series' state in a part.
type partEntry struct {
	ref   uint64
	lastT int64
	lastV float64
	// minT and n describe the chunk; n == 0 means the series had no new samples
	// since the previous flush and chunk is nil.
	minT  int64
	n     int
	chunk []byte
}

// writePartFile writes entries (sorted by ref) to path atomically.
func writePartFile(path string, walSeg int, entries []partEntry) (mint, maxt int64, err error) {
	mint, maxt = math.MaxInt64, math.MinInt64
	for _, e := range entries {
		if e.n > 0 {
			mint = min(mint, e.minT)
			maxt = max(maxt, e.lastT)
		}
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return 0, 0, err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	w := bufio.NewWriterSize(f, 1<<20)
	var pos uint64
	write := func(b []byte) {
		n, _ := w.Write(b) // The error sticks in w and is checked at Flush.
		pos += uint64(n)
	}
	var hdr [partHeaderSize]byte
	binary.LittleEndian.PutUint32(hdr[:], partMagic)
	hdr[4] = partVersion
	write(hdr[:])

	chunkOffs := make([]uint64, len(entries))
	var crc [4]byte
	for i, e := range entries {
		chunkOffs[i] = pos
		if e.n == 0 {
			continue
		}
		write(e.chunk)
		binary.LittleEndian.PutUint32(crc[:], crc32.Checksum(e.chunk, castagnoli))
		write(crc[:])
	}
	var table, group []byte
	for start := 0; start < len(entries); start += partGroupSize {
		end := min(start+partGroupSize, len(entries))
		first := entries[start].ref
		table = binary.LittleEndian.AppendUint64(table, first)
		table = binary.LittleEndian.AppendUint64(table, pos)
		table = binary.LittleEndian.AppendUint64(table, chunkOffs[start])
		group = binary.AppendUvarint(group[:0], uint64(end-start))
		for _, e := range entries[start:end] {
			group = binary.AppendUvarint(group, e.ref-first)
			group = binary.AppendVarint(group, maxt-e.lastT)
			group = binary.LittleEndian.AppendUint64(group, math.Float64bits(e.lastV))
			group = binary.AppendUvarint(group, uint64(len(e.chunk)))
			if e.n > 0 {
				group = binary.AppendUvarint(group, uint64(e.n))
				group = binary.AppendUvarint(group, uint64(e.lastT-e.minT))
			}
		}
		group = binary.LittleEndian.AppendUint32(group, crc32.Checksum(group, castagnoli))
		write(group)
	}
	tableOff := pos
	write(table)
	footer := make([]byte, 0, partFooterSize)
	footer = binary.LittleEndian.AppendUint64(footer, uint64(mint))
	footer = binary.LittleEndian.AppendUint64(footer, uint64(maxt))
	footer = binary.LittleEndian.AppendUint64(footer, uint64(walSeg))
	footer = binary.LittleEndian.AppendUint64(footer, uint64(len(entries)))
	footer = binary.LittleEndian.AppendUint64(footer, uint64(len(table)/partTableEntry))
	footer = binary.LittleEndian.AppendUint64(footer, tableOff)
	footer = binary.LittleEndian.AppendUint32(footer, crc32.Checksum(table, castagnoli))
	footer = binary.LittleEndian.AppendUint32(footer, crc32.Checksum(footer, castagnoli))
	footer = binary.LittleEndian.AppendUint32(footer, partMagic)
	write(footer)
	if err = w.Flush(); err != nil {
		return 0, 0, fmt.Errorf("write %s: %w", tmp, err)
	}
	if err = f.Sync(); err != nil {
		return 0, 0, fmt.Errorf("fsync %s: %w", tmp, err)
	}
	if err = f.Close(); err != nil {
		return 0, 0, err
	}
	if err = diskio.Publish(tmp, path); err != nil {
		return 0, 0, err
	}
	return mint, maxt, nil
}

// partFile is an open, mapped part file.
type partFile struct {
	path     string
	m        *diskio.Mapping
	b        []byte
	mint     int64
	maxt     int64
	walSeg   int
	entries  int
	groups   int
	tableOff uint64
	// groupsOK and chunksOK (by group*partGroupSize + position) are the
	// groups and chunks whose checksums passed: a written part never
	// changes, so each is checked at its first read, not at every query
	// that reads it (the checks were a tenth of an instant query).
	groupsOK, chunksOK checkedSet
}

// checkedSet is a set of small integers that concurrent readers add to.
type checkedSet []atomic.Uint64

func newCheckedSet(n int) checkedSet { return make(checkedSet, (n+63)/64) }
func (c checkedSet) has(i int) bool  { return c[i/64].Load()&(1<<(i%64)) != 0 }
func (c checkedSet) add(i int)       { c[i/64].Or(1 << (i % 64)) }

func openPartFile(path string) (*partFile, error) {
	m, err := diskio.Map(path)
	if err != nil {
		return nil, err
	}
	pf, err := parsePartFile(path, m.Bytes())
	if err != nil {
		m.Close()
		return nil, err
	}
	pf.m = m
	return pf, nil
}

func parsePartFile(path string, b []byte) (*partFile, error) {
	if len(b) < partHeaderSize+partFooterSize || binary.LittleEndian.Uint32(b) != partMagic {
		return nil, fmt.Errorf("%s: %w: bad header or too short", path, errCorruptPart)
	}
	if b[4] != partVersion {
		return nil, fmt.Errorf("%s: %w: unknown version %d", path, errCorruptPart, b[4])
	}
	ft := b[len(b)-partFooterSize:]
	if binary.LittleEndian.Uint32(ft[56:]) != partMagic ||
		crc32.Checksum(ft[:52], castagnoli) != binary.LittleEndian.Uint32(ft[52:]) {
		return nil, fmt.Errorf("%s: %w: footer checksum mismatch", path, errCorruptPart)
	}
	pf := &partFile{
		path:     path,
		b:        b,
		mint:     int64(binary.LittleEndian.Uint64(ft[0:])),
		maxt:     int64(binary.LittleEndian.Uint64(ft[8:])),
		walSeg:   int(binary.LittleEndian.Uint64(ft[16:])),
		entries:  int(binary.LittleEndian.Uint64(ft[24:])),
		groups:   int(binary.LittleEndian.Uint64(ft[32:])),
		tableOff: binary.LittleEndian.Uint64(ft[40:]),
	}
	tableEnd := uint64(len(b) - partFooterSize)
	if pf.groups < 0 || pf.entries < 0 || pf.tableOff < partHeaderSize || pf.tableOff > tableEnd ||
		tableEnd-pf.tableOff != uint64(pf.groups)*partTableEntry {
		return nil, fmt.Errorf("%s: %w: bad table bounds", path, errCorruptPart)
	}
	if crc32.Checksum(b[pf.tableOff:tableEnd], castagnoli) != binary.LittleEndian.Uint32(ft[48:]) {
		return nil, fmt.Errorf("%s: %w: table checksum mismatch", path, errCorruptPart)
	}
	pf.groupsOK = newCheckedSet(pf.groups)
	pf.chunksOK = newCheckedSet(pf.groups * partGroupSize)
	return pf, nil
}

func (pf *partFile) close() error { return pf.m.Close() }

// verifyChunk checks the checksum that follows e's chunk in the file
// (decodeGroup checked that it is within bounds), unless the chunk at
// position i passed it before.
func (pf *partFile) verifyChunk(e partEntry, i int) error {
	if pf.chunksOK.has(i) {
		return nil
	}
	c := e.chunk
	if crc32.Checksum(c, castagnoli) != binary.LittleEndian.Uint32(c[len(c):len(c)+4]) {
		return fmt.Errorf("%s: %w: chunk of series %d checksum mismatch", pf.path, errCorruptPart, e.ref)
	}
	pf.chunksOK.add(i)
	return nil
}

func (pf *partFile) tableAt(i int) (firstRef, groupOff, chunkOff uint64) {
	e := pf.b[pf.tableOff+uint64(i)*partTableEntry:]
	return binary.LittleEndian.Uint64(e), binary.LittleEndian.Uint64(e[8:]), binary.LittleEndian.Uint64(e[16:])
}

// decodeGroup decodes group i into dst. With verifyChunks it also checks
// every chunk's checksum; a lookup of a few series checks only theirs
// (verifyChunk), which matters when a selector picks a few series of every
// group.
func (pf *partFile) decodeGroup(i int, dst []partEntry, verifyChunks bool) ([]partEntry, error) {
	r, err := pf.openGroup(i)
	if err != nil {
		return dst, err
	}
	dst = dst[:0]
	for r.left > 0 {
		e, err := r.next()
		if err != nil {
			return dst, err
		}
		if verifyChunks && e.n > 0 {
			if err := pf.verifyChunk(e, i*partGroupSize+len(dst)); err != nil {
				return dst, err
			}
		}
		dst = append(dst, e)
	}
	return dst, nil
}

// groupReader decodes the entries of a group of a part file one by one.
type groupReader struct {
	pf    *partFile
	group int
	// rec is the group's record bytes and d what is left of them.
	rec []byte
	d   recDecoder
	// first is the group's first ref; chunkOff is where the next entry's
	// chunk starts, and chunks end before groupOff, where the records do.
	first, chunkOff, groupOff, chunk0 uint64
	left                              int
}

// openGroup checks group i's bounds and checksum and returns a reader
// at its first entry.
func (pf *partFile) openGroup(i int) (groupReader, error) {
	first, off, chunkOff := pf.tableAt(i)
	end := pf.tableOff
	if i+1 < pf.groups {
		_, end, _ = pf.tableAt(i + 1)
	}
	if off >= end || end > pf.tableOff || chunkOff > off {
		return groupReader{}, fmt.Errorf("%s: %w: group %d bounds", pf.path, errCorruptPart, i)
	}
	g := pf.b[off:end]
	if len(g) < 4 {
		return groupReader{}, fmt.Errorf("%s: %w: group %d bounds", pf.path, errCorruptPart, i)
	}
	if !pf.groupsOK.has(i) {
		if crc32.Checksum(g[:len(g)-4], castagnoli) != binary.LittleEndian.Uint32(g[len(g)-4:]) {
			return groupReader{}, fmt.Errorf("%s: %w: group %d checksum mismatch", pf.path, errCorruptPart, i)
		}
		pf.groupsOK.add(i)
	}
	r := groupReader{pf: pf, group: i, rec: g[:len(g)-4], first: first, chunkOff: chunkOff, groupOff: off, chunk0: chunkOff}
	r.d = recDecoder{b: r.rec}
	n := r.d.uvarint()
	if r.d.err != nil || n > partGroupSize {
		return groupReader{}, fmt.Errorf("%s: %w: group %d has %d entries", pf.path, errCorruptPart, i, n)
	}
	r.left = int(n)
	return r, nil
}

// seekTo puts the reader at p, a position in the same group that
// partCursor.index took.
func (r *groupReader) seekTo(p groupPos) {
	r.d = recDecoder{b: r.rec[p.rec:]}
	r.chunkOff = r.chunk0 + uint64(p.chunk)
	r.left = 1
}

// next decodes the next entry, checking that its chunk lies within the
// group's chunks (not its checksum: see verifyChunk).
func (r *groupReader) next() (partEntry, error) {
	pf, d := r.pf, &r.d
	r.left--
	e := partEntry{ref: r.first + d.uvarint()}
	e.lastT = pf.maxt - d.varint()
	e.lastV = math.Float64frombits(d.u64())
	clen := d.uvarint()
	if clen > 0 {
		e.n = int(d.uvarint())
		e.minT = e.lastT - int64(d.uvarint())
		if d.err != nil || clen > r.groupOff-r.chunkOff || r.chunkOff+clen+4 > r.groupOff {
			return partEntry{}, fmt.Errorf("%s: %w: group %d chunk bounds", pf.path, errCorruptPart, r.group)
		}
		e.chunk = pf.b[r.chunkOff : r.chunkOff+clen]
		r.chunkOff += clen + 4
	}
	if d.err != nil {
		return partEntry{}, fmt.Errorf("%s: %w: group %d", pf.path, errCorruptPart, r.group)
	}
	return e, nil
}

// groupPos is where an entry is in its group: the offset of its record in
// the group's records and of its chunk after the group's first chunk.
type groupPos struct{ rec, chunk uint32 }

// groupRef is a part cursor's index entry: a series and where its entry
// is in the group, a quarter of the memory of the decoded entry.
type groupRef struct {
	ref uint64
	at  groupPos
}

// part is a head part, in memory while its file is being written and mapped
// afterwards. Queriers hold a reference so a part is not unmapped under them.
type part struct {
	seq    uint64
	walSeg int
	// minT and maxT bound the part's samples. A part being filled by a flush
	// is published with the widest bounds and narrowed when full.
	minT, maxT atomic.Int64

	mu       sync.RWMutex
	mem      []partEntry // sorted by ref; nil once file is set
	file     *partFile
	refs     int
	deleted  bool
	onDelete func(*part)
}

func newPart(seq uint64, walSeg int, mint, maxt int64) *part {
	p := &part{seq: seq, walSeg: walSeg}
	p.minT.Store(mint)
	p.maxT.Store(maxt)
	return p
}

// bounds returns the time range of the part's samples.
func (p *part) bounds() (int64, int64) { return p.minT.Load(), p.maxT.Load() }

func (p *part) acquire() {
	p.mu.Lock()
	p.refs++
	p.mu.Unlock()
}

func (p *part) release() {
	p.mu.Lock()
	p.refs--
	done := p.deleted && p.refs == 0
	p.mu.Unlock()
	if done {
		p.onDelete(p)
	}
}

// markDeleted schedules the part's removal once no querier uses it.
func (p *part) markDeleted(fn func(*part)) {
	p.mu.Lock()
	p.deleted = true
	p.onDelete = fn
	done := p.refs == 0
	p.mu.Unlock()
	if done {
		fn(p)
	}
}

// partCursor looks up series in a part; lookups in increasing ref order decode
// each group once.
type partCursor struct {
	p     *part
	group int
	// refs indexes the entries of group, which r decodes on a hit: an
	// index is a quarter of the memory of the entries, and a query holds
	// one per part it reads.
	refs []groupRef
	r    groupReader
	// bufs, when set, lends refs its memory (see Head.groupBufs); buf is
	// the lent buffer, given back by release.
	bufs *sync.Pool
	buf  *[]groupRef
	// pos is where the previous lookup ended in refs, and nextFirst the
	// first ref of the next group: refs visited in increasing order are
	// found by scanning forward, without binary searches.
	pos       int
	nextFirst uint64
	err       error
}

func (p *part) cursor() *partCursor { return &partCursor{p: p, group: -1} }

// pooledCursor is cursor with its group buffer lent by bufs.
func (p *part) pooledCursor(bufs *sync.Pool) *partCursor {
	return &partCursor{p: p, group: -1, bufs: bufs}
}

// release gives the cursor's group buffer back to its pool; the cursor
// can still be used, and borrows again.
func (c *partCursor) release() {
	if c.buf != nil {
		*c.buf = c.refs[:0]
		c.bufs.Put(c.buf)
		c.buf, c.refs, c.group = nil, nil, -1
		// The reader points into the part's file.
		c.r = groupReader{}
	}
}

// seek returns the entry for ref.
func (c *partCursor) seek(ref uint64) (partEntry, bool) {
	p := c.p
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.file == nil {
		i, ok := slices.BinarySearchFunc(p.mem, ref, func(e partEntry, r uint64) int { return cmpU64(e.ref, r) })
		if !ok {
			return partEntry{}, false
		}
		return p.mem[i], true
	}
	pf := p.file
	inGroup := c.group >= 0 && len(c.refs) > 0 && ref >= c.refs[0].ref &&
		(c.group+1 == pf.groups || ref < c.nextFirst)
	if !inGroup {
		// Find the last group whose first ref <= ref.
		lo, hi := 0, pf.groups
		for lo < hi {
			mid := (lo + hi) / 2
			if first, _, _ := pf.tableAt(mid); first <= ref {
				lo = mid + 1
			} else {
				hi = mid
			}
		}
		gi := lo - 1
		if gi < 0 {
			return partEntry{}, false
		}
		if gi != c.group {
			if c.buf == nil && c.bufs != nil {
				b, _ := c.bufs.Get().(*[]groupRef)
				if b == nil {
					s := make([]groupRef, 0, partGroupSize)
					b = &s
				}
				c.buf, c.refs = b, *b
			}
			if err := c.index(gi); err != nil {
				c.err = err
				c.group = -1
				return partEntry{}, false
			}
			c.group = gi
			if gi+1 < pf.groups {
				c.nextFirst, _, _ = pf.tableAt(gi + 1)
			}
		}
		c.pos = 0
	}
	if c.pos >= len(c.refs) || c.refs[c.pos].ref > ref {
		// Out of order: fall back to a binary search.
		c.pos, _ = slices.BinarySearchFunc(c.refs, ref, func(e groupRef, r uint64) int { return cmpU64(e.ref, r) })
	}
	// Forward scans cost at most one pass over the group between decodes.
	for c.pos < len(c.refs) && c.refs[c.pos].ref < ref {
		c.pos++
	}
	if c.pos == len(c.refs) || c.refs[c.pos].ref != ref {
		return partEntry{}, false
	}
	c.r.seekTo(c.refs[c.pos].at)
	e, err := c.r.next()
	if err == nil && e.n > 0 {
		err = pf.verifyChunk(e, c.group*partGroupSize+c.pos)
	}
	if err != nil {
		c.err = err
		return partEntry{}, false
	}
	return e, true
}

// index reads group gi of the part's file into refs. It skips over each
// entry rather than decode it (as next does on a hit), in one loop: this
// runs for every group a query's series fall in, in every part.
func (c *partCursor) index(gi int) error {
	r, err := c.p.file.openGroup(gi)
	if err != nil {
		return err
	}
	d, room := r.d, r.groupOff-r.chunk0
	refs := c.refs[:0]
	var chunk uint64
	for range r.left {
		at := groupPos{rec: uint32(len(r.rec) - len(d.b)), chunk: uint32(chunk)}
		ref := r.first + d.uvarint()
		d.varint() // lastT
		d.u64()    // lastV
		if clen := d.uvarint(); clen > 0 {
			d.uvarint() // samples
			d.uvarint() // minT
			if clen > room || chunk+clen+4 > room {
				return fmt.Errorf("%s: %w: group %d chunk bounds", c.p.file.path, errCorruptPart, gi)
			}
			chunk += clen + 4
		}
		if d.err != nil {
			return fmt.Errorf("%s: %w: group %d", c.p.file.path, errCorruptPart, gi)
		}
		refs = append(refs, groupRef{ref: ref, at: at})
	}
	c.refs, c.r = refs, r
	return nil
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// forEach calls fn with every entry of the part in ref order.
func (p *part) forEach(fn func(partEntry) error) error {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.file == nil {
		for _, e := range p.mem {
			if err := fn(e); err != nil {
				return err
			}
		}
		return nil
	}
	var buf []partEntry
	for g := range p.file.groups {
		var err error
		buf, err = p.file.decodeGroup(g, buf, true)
		if err != nil {
			return err
		}
		for _, e := range buf {
			if err := fn(e); err != nil {
				return err
			}
		}
	}
	return nil
}
