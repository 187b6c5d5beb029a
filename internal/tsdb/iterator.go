package tsdb

import (
	"fmt"
	"math"
	"slices"

	"github.com/prometheus/prometheus/model/histogram"
	upstream "github.com/prometheus/prometheus/tsdb/chunkenc"

	"github.com/argus-mon/argus/internal/tsdb/chunkenc"
)

// chunkIterator is the sample iterator of the storage interfaces. Only its
// interface and value-type constants are used from upstream; the codecs are ours.
type chunkIterator = upstream.Iterator

// Kinds of chunkRef.
const (
	chunkNone  uint8 = iota // labels-only query: no samples are read
	chunkXOR                // head chunk, package chunkenc XOR encoding
	chunkBlock              // block chunk, package chunkenc block encoding
)

// chunkRef is one chunk of a series to read during a query.
type chunkRef struct {
	kind uint8
	// tail, when hasTail, is the last byte of an open head chunk, whose
	// data is then the rest: the appender may still change that byte in
	// place, so the query keeps its own copy of it (see XORAppender.Snapshot).
	tail    byte
	hasTail bool
	n       int32 // samples, for XOR chunks (int32 packs with kind: a query holds one per chunk read)
	data    []byte
	// mint is the oldest sample time to read from the chunk: its first
	// sample's, or later when the source serves only part of the chunk (a
	// head part straddling the head's truncation). maxt is its newest.
	mint, maxt int64
}

// seriesIterator walks a series' chunks in time order, decoding one chunk at a
// time into reused buffers and yielding samples inside [mint, maxt].
type seriesIterator struct {
	chunks     []chunkRef
	mint, maxt int64
	ci         int // index of the next chunk to decode
	ts         []int64
	vs         []float64
	i          int
	err        error
	// raw reassembles open head chunks (data and tail) for decoding.
	raw []byte
}

func newSeriesIterator(chunks []chunkRef, mint, maxt int64) *seriesIterator {
	it := &seriesIterator{}
	it.reset(chunks, mint, maxt)
	return it
}

func (it *seriesIterator) reset(chunks []chunkRef, mint, maxt int64) {
	it.chunks, it.mint, it.maxt = chunks, mint, maxt
	it.ci, it.i, it.err = 0, 0, nil
	it.ts, it.vs = it.ts[:0], it.vs[:0]
}

// load decodes the next chunk that may hold samples at or after t.
func (it *seriesIterator) load(t int64) bool {
	for it.ci < len(it.chunks) {
		c := it.chunks[it.ci]
		it.ci++
		if c.maxt < t || c.mint > it.maxt || c.kind == chunkNone {
			continue
		}
		if err := it.decode(c); err != nil {
			it.err = err
			return false
		}
		it.i, _ = slices.BinarySearch(it.ts, max(t, c.mint))
		if it.i < len(it.ts) {
			return true
		}
	}
	return false
}

// xorBytes returns an XOR chunk's encoded bytes, reassembling an open head
// chunk in the iterator's buffer.
func (it *seriesIterator) xorBytes(c chunkRef) []byte {
	if !c.hasTail {
		return c.data
	}
	it.raw = append(append(it.raw[:0], c.data...), c.tail)
	return it.raw
}

func (it *seriesIterator) decode(c chunkRef) error {
	it.ts, it.vs = it.ts[:0], it.vs[:0]
	switch c.kind {
	case chunkXOR:
		var err error
		it.ts, it.vs, err = chunkenc.DecodeXOR(it.ts, it.vs, it.xorBytes(c), int(c.n))
		return err
	case chunkBlock:
		var err error
		it.ts, it.vs, err = chunkenc.Decode(it.ts, it.vs, c.data)
		return err
	}
	return fmt.Errorf("BUG: unknown chunk kind %d", c.kind)
}

// Next implements chunkenc.Iterator.
func (it *seriesIterator) Next() upstream.ValueType {
	if it.err != nil {
		return upstream.ValNone
	}
	if it.i+1 < len(it.ts) && len(it.ts) > 0 {
		it.i++
	} else if !it.load(it.nextT()) {
		it.ts, it.vs = it.ts[:0], it.vs[:0]
		return upstream.ValNone
	}
	if it.ts[it.i] > it.maxt {
		it.ci = len(it.chunks)
		it.ts, it.vs = it.ts[:0], it.vs[:0]
		return upstream.ValNone
	}
	return upstream.ValFloat
}

// nextT is the smallest time the next sample may have.
func (it *seriesIterator) nextT() int64 {
	if len(it.ts) > 0 {
		return max(it.mint, it.ts[len(it.ts)-1]+1)
	}
	return it.mint
}

// Seek implements chunkenc.Iterator: it advances to the first sample at or
// after t and never moves backwards.
func (it *seriesIterator) Seek(t int64) upstream.ValueType {
	if it.err != nil {
		return upstream.ValNone
	}
	t = max(t, it.mint)
	if len(it.ts) > 0 && it.i < len(it.ts) {
		if it.ts[it.i] >= t {
			return it.check()
		}
		if it.ts[len(it.ts)-1] >= t {
			j, _ := slices.BinarySearch(it.ts[it.i:], t)
			it.i += j
			return it.check()
		}
	}
	if !it.load(t) {
		it.ts, it.vs = it.ts[:0], it.vs[:0]
		return upstream.ValNone
	}
	return it.check()
}

func (it *seriesIterator) check() upstream.ValueType {
	if it.ts[it.i] > it.maxt {
		it.ci = len(it.chunks)
		it.ts, it.vs = it.ts[:0], it.vs[:0]
		return upstream.ValNone
	}
	return upstream.ValFloat
}

// At implements chunkenc.Iterator.
func (it *seriesIterator) At() (int64, float64) { return it.ts[it.i], it.vs[it.i] }

// AtT implements chunkenc.Iterator.
func (it *seriesIterator) AtT() int64 { return it.ts[it.i] }

// AtST implements chunkenc.Iterator; argus stores no start timestamps yet.
func (it *seriesIterator) AtST() int64 { return 0 }

// AtHistogram implements chunkenc.Iterator; float series have no histograms.
func (it *seriesIterator) AtHistogram(*histogram.Histogram) (int64, *histogram.Histogram) {
	panic("BUG: AtHistogram called on a float sample")
}

// AtFloatHistogram implements chunkenc.Iterator.
func (it *seriesIterator) AtFloatHistogram(*histogram.FloatHistogram) (int64, *histogram.FloatHistogram) {
	panic("BUG: AtFloatHistogram called on a float sample")
}

// Err implements chunkenc.Iterator.
func (it *seriesIterator) Err() error { return it.err }

// AppendFloats appends the samples with mint <= t <= maxt that the iterator
// has not yet passed to ts and vs, decoding whole chunks straight into them,
// and leaves the iterator exhausted. It gives the same samples as Seek(mint)
// and Next up to maxt without a call per sample: the query engine reads
// series this way.
func (it *seriesIterator) AppendFloats(ts []int64, vs []float64, mint, maxt int64) ([]int64, []float64, error) {
	if it.err != nil {
		return ts, vs, it.err
	}
	lo, hi := max(mint, it.mint), min(maxt, it.maxt)
	lastT := int64(math.MinInt64)
	if it.i < len(it.ts) {
		// A chunk is partly read: take the rest of it first.
		ts, vs = appendRange(ts, vs, it.ts[it.i:], it.vs[it.i:], lo, hi)
		lastT = it.ts[len(it.ts)-1]
	}
	// Room for every chunk to decode, made at once: grown chunk by chunk,
	// a day of 15 s samples in chunks of 120 would leave four times its
	// size behind as garbage.
	if n := it.samplesBetween(lo, hi, lastT); n > 0 {
		ts, vs = slices.Grow(ts, n), slices.Grow(vs, n)
	}
	for ; it.ci < len(it.chunks) && it.err == nil; it.ci++ {
		c := it.chunks[it.ci]
		from := max(lo, c.mint, lastT+1)
		if c.kind == chunkNone || c.maxt < from {
			continue
		}
		if c.mint > hi {
			break
		}
		start := len(ts)
		var err error
		switch c.kind {
		case chunkXOR:
			ts, vs, err = chunkenc.DecodeXOR(ts, vs, it.xorBytes(c), int(c.n))
		case chunkBlock:
			ts, vs, err = chunkenc.Decode(ts, vs, c.data)
		default:
			err = fmt.Errorf("BUG: unknown chunk kind %d", c.kind)
		}
		if err != nil {
			it.err = err
			ts, vs = ts[:start], vs[:start]
			break
		}
		if n := len(ts); n > start {
			lastT = ts[n-1]
		}
		// Keep the decoded samples in [from, hi], moved down to start.
		ts, vs = appendRange(ts[:start], vs[:start], ts[start:], vs[start:], from, hi)
		if lastT > hi {
			break
		}
	}
	it.ci = len(it.chunks)
	it.ts, it.vs, it.i = it.ts[:0], it.vs[:0], 0
	return ts, vs, it.err
}

// samplesBetween returns how many samples the chunks AppendFloats decodes
// for lo..hi hold, a bound for the samples it appends (0 when a chunk's
// count cannot be read; decoding then reports the error).
func (it *seriesIterator) samplesBetween(lo, hi, lastT int64) int {
	n := 0
	for _, c := range it.chunks[it.ci:] {
		if c.kind == chunkNone || c.maxt < max(lo, c.mint, lastT+1) {
			continue
		}
		if c.mint > hi {
			break
		}
		switch c.kind {
		case chunkXOR:
			n += int(c.n)
		case chunkBlock:
			k, err := chunkenc.SampleCount(c.data)
			if err != nil {
				return 0
			}
			n += k
		}
		if c.maxt > hi {
			break
		}
	}
	return n
}

// appendRange appends the samples of sts, svs (sorted by time) with
// lo <= t <= hi to ts, vs. The source may be the destination's own spare
// capacity just past its end: copy handles the overlap.
func appendRange(ts []int64, vs []float64, sts []int64, svs []float64, lo, hi int64) ([]int64, []float64) {
	i, _ := slices.BinarySearch(sts, lo)
	j, found := slices.BinarySearch(sts, hi)
	if found {
		j++
	}
	if i >= j {
		return ts, vs
	}
	return append(ts, sts[i:j]...), append(vs, svs[i:j]...)
}

// mergeIterator merges iterators of overlapping sources of one series by time;
// at equal timestamps the first source wins.
type mergeIterator struct {
	its  []*seriesIterator
	ok   []bool
	cur  int
	init bool
	err  error
}

func newMergeIterator(its []*seriesIterator) *mergeIterator {
	return &mergeIterator{its: its, ok: make([]bool, len(its)), cur: -1}
}

func (m *mergeIterator) pick() upstream.ValueType {
	m.cur = -1
	for i, it := range m.its {
		if !m.ok[i] {
			continue
		}
		if m.cur < 0 || it.AtT() < m.its[m.cur].AtT() {
			m.cur = i
		}
	}
	if m.cur < 0 {
		for _, it := range m.its {
			if err := it.Err(); err != nil {
				m.err = err
			}
		}
		return upstream.ValNone
	}
	return upstream.ValFloat
}

// Next implements chunkenc.Iterator.
func (m *mergeIterator) Next() upstream.ValueType {
	if !m.init {
		m.init = true
		for i, it := range m.its {
			m.ok[i] = it.Next() != upstream.ValNone
		}
		return m.pick()
	}
	if m.cur < 0 {
		return upstream.ValNone
	}
	t := m.its[m.cur].AtT()
	for i, it := range m.its {
		if m.ok[i] && it.AtT() == t {
			m.ok[i] = it.Next() != upstream.ValNone
		}
	}
	return m.pick()
}

// Seek implements chunkenc.Iterator.
func (m *mergeIterator) Seek(t int64) upstream.ValueType {
	if m.init && m.cur >= 0 && m.its[m.cur].AtT() >= t {
		return upstream.ValFloat
	}
	m.init = true
	for i, it := range m.its {
		m.ok[i] = it.Seek(t) != upstream.ValNone
	}
	return m.pick()
}

// At implements chunkenc.Iterator.
func (m *mergeIterator) At() (int64, float64) { return m.its[m.cur].At() }

// AtT implements chunkenc.Iterator.
func (m *mergeIterator) AtT() int64 { return m.its[m.cur].AtT() }

// AtST implements chunkenc.Iterator.
func (m *mergeIterator) AtST() int64 { return 0 }

// AtHistogram implements chunkenc.Iterator.
func (m *mergeIterator) AtHistogram(*histogram.Histogram) (int64, *histogram.Histogram) {
	panic("BUG: AtHistogram called on a float sample")
}

// AtFloatHistogram implements chunkenc.Iterator.
func (m *mergeIterator) AtFloatHistogram(*histogram.FloatHistogram) (int64, *histogram.FloatHistogram) {
	panic("BUG: AtFloatHistogram called on a float sample")
}

// Err implements chunkenc.Iterator.
func (m *mergeIterator) Err() error { return m.err }

// AppendFloats is seriesIterator.AppendFloats for merged sources: overlaps
// are rare, so it simply walks the merge.
func (m *mergeIterator) AppendFloats(ts []int64, vs []float64, mint, maxt int64) ([]int64, []float64, error) {
	for vt := m.Seek(mint); vt != upstream.ValNone; vt = m.Next() {
		t, v := m.At()
		if t > maxt {
			break
		}
		ts, vs = append(ts, t), append(vs, v)
	}
	for _, it := range m.its {
		it.ci = len(it.chunks)
		it.ts, it.vs, it.i = it.ts[:0], it.vs[:0], 0
	}
	m.cur = -1
	return ts, vs, m.err
}
