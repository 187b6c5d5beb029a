package index

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"slices"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
)

// Writer writes a block index. Use: NewWriter, AddSymbols once with every label
// name and value of the block, AddSeries for each series in label order, Close.
// It is not safe for concurrent use.
type Writer struct {
	f    *os.File
	w    *bufio.Writer
	pos  uint64
	path string

	symbols map[string]uint64
	toc     [5]uint64

	lastLabels labels.Labels
	nseries    int
	postings   map[labels.Label][]uint64
	all        []uint64
	buf        []byte
}

// NewWriter creates the index file at path.
func NewWriter(path string) (*Writer, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	w := &Writer{f: f, w: bufio.NewWriterSize(f, 1<<20), path: path, postings: map[labels.Label][]uint64{}}
	hdr := make([]byte, headerSize)
	binary.LittleEndian.PutUint32(hdr, magic)
	hdr[4] = formatV1
	if err := w.write(hdr); err != nil {
		f.Close()
		return nil, err
	}
	return w, nil
}

func (w *Writer) write(b []byte) error {
	n, err := w.w.Write(b)
	w.pos += uint64(n)
	if err != nil {
		return fmt.Errorf("write %s: %w", w.path, err)
	}
	return nil
}

// AddSymbols writes the symbol table. syms may be in any order and contain
// duplicates.
func (w *Writer) AddSymbols(syms []string) error {
	if w.symbols != nil {
		return fmt.Errorf("BUG: index symbols added twice")
	}
	sorted := slices.Clone(syms)
	slices.Sort(sorted)
	sorted = slices.Compact(sorted)
	w.symbols = make(map[string]uint64, len(sorted))
	w.toc[0] = w.pos
	b := binary.AppendUvarint(w.buf[:0], uint64(len(sorted)))
	for i, s := range sorted {
		w.symbols[s] = uint64(i)
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
	w.buf = b[:0]
	if err := w.write(b); err != nil {
		return err
	}
	return w.align()
}

func (w *Writer) align() error {
	if r := w.pos % seriesAlign; r != 0 {
		var zeros [seriesAlign]byte
		return w.write(zeros[:seriesAlign-r])
	}
	return nil
}

// AddSeries writes a series with its chunk metas (sorted by time) and returns its
// id. Series must be added in strictly increasing label order.
func (w *Writer) AddSeries(lset labels.Labels, chks []ChunkMeta) (uint64, error) {
	if w.symbols == nil {
		return 0, fmt.Errorf("BUG: index series added before symbols")
	}
	if w.nseries > 0 && labels.Compare(lset, w.lastLabels) <= 0 {
		return 0, fmt.Errorf("series %s added out of order after %s", lset, w.lastLabels)
	}
	if w.toc[1] == 0 {
		w.toc[1] = w.pos
	}
	if err := w.align(); err != nil {
		return 0, err
	}
	id := w.pos / seriesAlign
	payload := binary.AppendUvarint(w.buf[:0], uint64(lset.Len()))
	var err error
	lset.Range(func(l labels.Label) {
		n, ok1 := w.symbols[l.Name]
		v, ok2 := w.symbols[l.Value]
		if !ok1 || !ok2 {
			err = fmt.Errorf("label %s=%q of %s missing from symbols", l.Name, l.Value, lset)
		}
		payload = binary.AppendUvarint(payload, n)
		payload = binary.AppendUvarint(payload, v)
		w.postings[l] = append(w.postings[l], id)
	})
	if err != nil {
		return 0, err
	}
	payload = binary.AppendUvarint(payload, uint64(len(chks)))
	for i, c := range chks {
		if c.MaxT < c.MinT {
			return 0, fmt.Errorf("chunk of %s has maxt %d < mint %d", lset, c.MaxT, c.MinT)
		}
		if i == 0 {
			payload = binary.AppendVarint(payload, c.MinT)
			payload = binary.AppendUvarint(payload, uint64(c.MaxT-c.MinT))
			payload = binary.AppendUvarint(payload, c.Ref)
			continue
		}
		prev := chks[i-1]
		payload = binary.AppendVarint(payload, c.MinT-prev.MaxT)
		payload = binary.AppendUvarint(payload, uint64(c.MaxT-c.MinT))
		payload = binary.AppendVarint(payload, int64(c.Ref-prev.Ref))
	}
	// The entry is length, payload, crc; build it in one buffer to write once.
	entry := binary.AppendUvarint(make([]byte, 0, len(payload)+9), uint64(len(payload)))
	entry = append(entry, payload...)
	entry = binary.LittleEndian.AppendUint32(entry, crc32.Checksum(payload, castagnoli))
	w.buf = payload[:0]
	if err := w.write(entry); err != nil {
		return 0, err
	}
	w.all = append(w.all, id)
	w.lastLabels = lset.Copy()
	w.nseries++
	return id, nil
}

func (w *Writer) writePostings(ids []uint64) (uint64, error) {
	off := w.pos
	b := binary.AppendUvarint(w.buf[:0], uint64(len(ids)))
	var prev uint64
	for _, id := range ids {
		b = binary.AppendUvarint(b, id-prev)
		prev = id
	}
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
	w.buf = b[:0]
	return off, w.write(b)
}

// Close writes postings, the postings table and the table of contents, fsyncs
// and closes the file.
func (w *Writer) Close() error {
	if err := w.finish(); err != nil {
		w.f.Close()
		return err
	}
	if err := w.f.Sync(); err != nil {
		w.f.Close()
		return fmt.Errorf("fsync %s: %w", w.path, err)
	}
	return w.f.Close()
}

func (w *Writer) finish() error {
	if w.symbols == nil {
		if err := w.AddSymbols(nil); err != nil {
			return err
		}
	}
	if w.toc[1] == 0 {
		w.toc[1] = w.pos
	}
	w.toc[2] = w.pos
	pairs := make([]labels.Label, 0, len(w.postings))
	for l := range w.postings {
		pairs = append(pairs, l)
	}
	slices.SortFunc(pairs, func(a, b labels.Label) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.Value, b.Value)
	})
	offs := make([]uint64, len(pairs))
	for i, l := range pairs {
		off, err := w.writePostings(w.postings[l])
		if err != nil {
			return err
		}
		offs[i] = off
	}
	allOff, err := w.writePostings(w.all)
	if err != nil {
		return err
	}
	w.toc[4] = allOff
	w.toc[3] = w.pos
	tbl := binary.AppendUvarint(nil, uint64(len(pairs)))
	for i, l := range pairs {
		tbl = binary.AppendUvarint(tbl, w.symbols[l.Name])
		tbl = binary.AppendUvarint(tbl, w.symbols[l.Value])
		tbl = binary.AppendUvarint(tbl, offs[i])
	}
	tbl = binary.LittleEndian.AppendUint32(tbl, crc32.Checksum(tbl, castagnoli))
	if err := w.write(tbl); err != nil {
		return err
	}
	toc := make([]byte, 0, tocSize)
	for _, v := range w.toc {
		toc = binary.LittleEndian.AppendUint64(toc, v)
	}
	toc = binary.LittleEndian.AppendUint32(toc, crc32.Checksum(toc, castagnoli))
	toc = binary.LittleEndian.AppendUint32(toc, magic)
	if err := w.write(toc); err != nil {
		return err
	}
	if err := w.w.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", w.path, err)
	}
	return nil
}

// Abort closes and removes a partly written index.
func (w *Writer) Abort() {
	w.f.Close()
	os.Remove(w.path)
}
