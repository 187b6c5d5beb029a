package tsdb

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/annotations"

	"github.com/argus-mon/argus/internal/tsdb/index"
)

// querier reads a consistent view of the blocks and the head that existed when
// it was created. It implements storage.Querier.
type querier struct {
	mint, maxt int64
	blocks     []*Block
	head       *Head
	headMinT   int64 // the head serves samples at or after this time

	// mu guards parts and maxSeq, which grow when a flush after the
	// querier's creation moved chunks into a part it has not seen.
	mu     sync.Mutex
	parts  []*part
	maxSeq uint64 // the newest part sequence number considered
	closed bool
}

var _ storage.Querier = (*querier)(nil)

// Select returns the series matching ms with their samples in the querier's
// range (narrowed by hints). The set is sorted by labels when sortSeries is set
// or more than one source contributes.
func (q *querier) Select(ctx context.Context, sortSeries bool, hints *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	mint, maxt := q.mint, q.maxt
	labelsOnly := false
	if hints != nil {
		mint, maxt = max(mint, hints.Start), min(maxt, hints.End)
		labelsOnly = hints.Func == "series"
	}
	var sets []*seriesList
	// sources counts the blocks and head the range overlaps, empty or
	// not: with more than one the answer is merged in label order, as
	// SelectReusing's is, so that both give a query's series in the same
	// order (limitk, and ties in topk and the sort functions, depend on
	// it).
	sources := 0
	for _, b := range q.blocks {
		if !overlaps(b.meta.MinTime, b.lastT(), mint, maxt) {
			continue
		}
		sources++
		l, err := selectBlock(ctx, b, mint, maxt, labelsOnly, ms)
		if err != nil {
			return storage.ErrSeriesSet(err)
		}
		if len(l.series) > 0 {
			sets = append(sets, l)
		}
	}
	if hmin := max(mint, q.headMinT); q.head != nil && hmin <= maxt {
		sources++
		l, err := q.selectHead(ctx, hmin, maxt, labelsOnly, ms)
		if err != nil {
			return storage.ErrSeriesSet(err)
		}
		if len(l.series) > 0 {
			sets = append(sets, l)
		}
	}
	switch {
	case len(sets) == 0:
		return storage.EmptySeriesSet()
	case len(sets) == 1:
		if sortSeries || sources > 1 {
			sets[0].sortByLabels()
		}
		return &listSeriesSet{list: sets[0], i: -1}
	}
	for _, s := range sets {
		s.sortByLabels()
	}
	return &listSeriesSet{list: mergeLists(sets), i: -1}
}

// SelectReusing is Select for a caller that uses each series only until it
// asks for the next one, as a streamed aggregation does; the series come in
// the order Select gives them without sorting:
// when the head alone answers, the series are made one at a time in reused
// memory (labels, chunk list), so a query over many series holds one
// series instead of all of them. Otherwise it is Select.
func (q *querier) SelectReusing(ctx context.Context, hints *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	mint, maxt := q.mint, q.maxt
	if hints != nil {
		if hints.Func == "series" {
			return q.Select(ctx, false, hints, ms...)
		}
		mint, maxt = max(mint, hints.Start), min(maxt, hints.End)
	}
	var (
		srcs []seriesSource
		hs   *headSelection
	)
	for _, b := range q.blocks {
		if !overlaps(b.meta.MinTime, b.lastT(), mint, maxt) {
			continue
		}
		bs, err := startBlockSelection(ctx, b, mint, maxt, false, ms)
		if err != nil {
			return storage.ErrSeriesSet(err)
		}
		srcs = append(srcs, bs)
	}
	if hmin := max(mint, q.headMinT); q.head != nil && hmin <= maxt {
		var err error
		hs, err = q.startHeadSelection(ctx, hmin, maxt, false, ms)
		if err != nil {
			return storage.ErrSeriesSet(err)
		}
		if len(srcs) == 0 {
			return &reusingSeriesSet{hs: hs}
		}
		// Blocks are in label order; the head must be too, to be merged.
		hs.sortByLabels()
		srcs = append(srcs, hs)
	}
	switch len(srcs) {
	case 0:
		return storage.EmptySeriesSet()
	case 1:
		return &reusingSeriesSet{hs: srcs[0]}
	}
	return newMergingSeriesSet(srcs)
}

// SelectReusingParts is SelectReusing split into up to n sets over
// disjoint, consecutive parts of the head's matching series, each read on
// a goroutine of its own; read one after the other they give
// SelectReusing's series in its order. With fewer than minSeries matching
// series it returns one set; nil when the head alone does not answer the
// selection.
func (q *querier) SelectReusingParts(ctx context.Context, hints *storage.SelectHints, n, minSeries int, ms ...*labels.Matcher) []storage.SeriesSet {
	mint, maxt := q.mint, q.maxt
	if hints != nil {
		if hints.Func == "series" {
			return nil
		}
		mint, maxt = max(mint, hints.Start), min(maxt, hints.End)
	}
	hmin := max(mint, q.headMinT)
	if q.head == nil || hmin > maxt || n < 2 {
		return nil
	}
	for _, b := range q.blocks {
		if overlaps(b.meta.MinTime, b.lastT(), mint, maxt) {
			return nil
		}
	}
	refs, err := index.PostingsForMatchers(ctx, q.head.index, ms...)
	if err != nil {
		return []storage.SeriesSet{storage.ErrSeriesSet(fmt.Errorf("head: %w", err))}
	}
	if len(refs) < max(minSeries, n) {
		// One set: the caller reads it as it would SelectReusing's,
		// without matching the postings again.
		return []storage.SeriesSet{&reusingSeriesSet{hs: q.newHeadSelection(ctx, hmin, maxt, false, refs)}}
	}
	sets := make([]storage.SeriesSet, n)
	for i := range n {
		part := refs[len(refs)*i/n : len(refs)*(i+1)/n]
		sets[i] = &reusingSeriesSet{hs: q.newHeadSelection(ctx, hmin, maxt, false, part)}
	}
	return sets
}

// seriesSource is a source of a selection's series one at a time; blocks
// and, when sorted, the head give them in label order.
type seriesSource interface {
	next(s *querySeries, reuse bool) bool
	error() error
}

func (hs *headSelection) error() error  { return hs.err }
func (bs *blockSelection) error() error { return bs.err }

// reusingSeriesSet is one source's answer made one series at a time; the
// series At returns is valid until the next call of Next.
type reusingSeriesSet struct {
	hs  seriesSource
	cur querySeries
}

// Len is at most the number of series the set gives (the matching head
// series, some of which may have no samples in range), so that a caller
// keeping results per series can size them once.
func (s *reusingSeriesSet) Len() int {
	if hs, ok := s.hs.(*headSelection); ok {
		return len(hs.refs)
	}
	return 0
}

func (s *reusingSeriesSet) Next() bool                        { return s.hs.next(&s.cur, true) }
func (s *reusingSeriesSet) At() storage.Series                { return &s.cur }
func (s *reusingSeriesSet) Err() error                        { return s.hs.error() }
func (s *reusingSeriesSet) Warnings() annotations.Annotations { return nil }

// mergingSeriesSet merges label-ordered sources series by series, as
// mergeLists merges whole lists, holding one series of each source.
type mergingSeriesSet struct {
	srcs []seriesSource
	cur  []querySeries // each source's current series
	ok   []bool        // whether cur holds one
	used []bool        // whether cur went into the last merged series
	out  querySeries
	more [][]chunkRef
	err  error
}

func newMergingSeriesSet(srcs []seriesSource) *mergingSeriesSet {
	m := &mergingSeriesSet{srcs: srcs, cur: make([]querySeries, len(srcs)), ok: make([]bool, len(srcs)), used: make([]bool, len(srcs))}
	for i, src := range srcs {
		m.ok[i] = src.next(&m.cur[i], true)
	}
	return m
}

func (m *mergingSeriesSet) Next() bool {
	for i, src := range m.srcs {
		if m.used[i] {
			m.ok[i] = src.next(&m.cur[i], true)
			m.used[i] = false
		}
		if err := src.error(); err != nil {
			m.err = err
			return false
		}
	}
	best := -1
	for i := range m.srcs {
		if m.ok[i] && (best < 0 || labels.Compare(m.cur[i].lset, m.cur[best].lset) < 0) {
			best = i
		}
	}
	if best < 0 {
		return false
	}
	first := &m.cur[best]
	m.out = querySeries{lset: first.lset, chunks: m.out.chunks[:0], mint: first.mint, maxt: first.maxt}
	m.more = m.more[:0]
	for i := range m.srcs {
		c := &m.cur[i]
		if !m.ok[i] || (i != best && !labels.Equal(c.lset, first.lset)) {
			continue
		}
		m.used[i] = true
		if c.hasNewest && (!m.out.hasNewest || c.newestT > m.out.newestT) {
			m.out.newestT, m.out.newestV, m.out.hasNewest = c.newestT, c.newestV, true
		}
		// As in mergeLists: concatenated when the sources follow each
		// other in time, merged sample by sample when they overlap.
		if n := len(m.out.chunks); n == 0 || m.out.chunks[n-1].maxt < c.chunks[0].mint {
			m.out.chunks = append(m.out.chunks, c.chunks...)
		} else {
			m.more = append(m.more, c.chunks)
		}
	}
	m.out.more = m.more
	if m.out.hasNewest && newestPassed(m.out) {
		m.out.hasNewest = false
	}
	return true
}

func (m *mergingSeriesSet) At() storage.Series                { return &m.out }
func (m *mergingSeriesSet) Err() error                        { return m.err }
func (m *mergingSeriesSet) Warnings() annotations.Annotations { return nil }

// seriesList is the answer of one source: series with the chunks to read.
type seriesList struct {
	series []querySeries
	sorted bool
}

func (l *seriesList) sortByLabels() {
	if !l.sorted {
		slices.SortFunc(l.series, func(a, b querySeries) int { return labels.Compare(a.lset, b.lset) })
		l.sorted = true
	}
}

// chunkArena hands out chunk lists carved from larger blocks, so selecting
// many series costs a few allocations instead of a growing slice per series.
type chunkArena struct {
	block []chunkRef
	// first is the size of the first block when the caller can estimate
	// the total: a block of 1,024 for a query of a few hundred chunks was
	// most of its allocation.
	first int
}

// chunkArenaBlock is the size of blocks after the first.
const chunkArenaBlock = 1024

// sizedChunkArena returns an arena whose first block holds n chunks, at most a
// regular block's worth.
func sizedChunkArena(n int) chunkArena {
	return chunkArena{first: min(max(n, 1), chunkArenaBlock)}
}

// copy returns a copy of cs whose capacity is capped, so appending to it
// cannot overwrite a neighbour.
func (a *chunkArena) copy(cs []chunkRef) []chunkRef {
	if len(cs) == 0 {
		return nil
	}
	if cap(a.block)-len(a.block) < len(cs) {
		size := chunkArenaBlock
		if a.block == nil && a.first > 0 {
			size = a.first
		}
		a.block = make([]chunkRef, 0, max(len(cs), size))
	}
	n := len(a.block)
	a.block = append(a.block, cs...)
	return a.block[n:len(a.block):len(a.block)]
}

// querySeries is one series of a query result; it implements storage.Series.
type querySeries struct {
	lset       labels.Labels
	chunks     []chunkRef
	mint, maxt int64
	// more holds the chunks of the same series from other sources when they
	// overlap in time, merged sample by sample.
	more [][]chunkRef
	// newestT and newestV are the series' newest sample within [mint,
	// maxt] when hasNewest: known without decoding, as the last one
	// appended to its open head chunk, which no other chunk passes.
	newestT   int64
	newestV   float64
	hasNewest bool
}

func (s *querySeries) Labels() labels.Labels { return s.lset }

// NewestSample returns the newest sample the series' iterator would yield,
// when the storage knows it without decoding any chunk: an instant query
// reads the head's last sample this way.
func (s *querySeries) NewestSample() (t int64, v float64, ok bool) {
	return s.newestT, s.newestV, s.hasNewest
}

func (s *querySeries) Iterator(it chunkIterator) chunkIterator {
	if len(s.more) == 0 {
		if si, ok := it.(*seriesIterator); ok {
			si.reset(s.chunks, s.mint, s.maxt)
			return si
		}
		return newSeriesIterator(s.chunks, s.mint, s.maxt)
	}
	its := []*seriesIterator{newSeriesIterator(s.chunks, s.mint, s.maxt)}
	for _, c := range s.more {
		its = append(its, newSeriesIterator(c, s.mint, s.maxt))
	}
	return newMergeIterator(its)
}

type listSeriesSet struct {
	list *seriesList
	i    int
}

func (s *listSeriesSet) Next() bool {
	s.i++
	return s.i < len(s.list.series)
}
func (s *listSeriesSet) At() storage.Series { return &s.list.series[s.i] }

// Len is the number of series in the set, so a caller collecting them can
// size its slice once.
func (s *listSeriesSet) Len() int                          { return len(s.list.series) }
func (s *listSeriesSet) Err() error                        { return nil }
func (s *listSeriesSet) Warnings() annotations.Annotations { return nil }

// newestPassed reports whether a chunk of s ends after s's newest sample.
func newestPassed(s querySeries) bool {
	for _, c := range s.chunks {
		if c.maxt > s.newestT {
			return true
		}
	}
	for _, cs := range s.more {
		for _, c := range cs {
			if c.maxt > s.newestT {
				return true
			}
		}
	}
	return false
}

// mergeLists merges label-sorted lists. Series present in several sources get
// their chunks concatenated when the sources do not overlap in time (the usual
// case: blocks, then the head) and merged sample by sample when they do.
func mergeLists(sets []*seriesList) *seriesList {
	total, chunks := 0, 0
	for _, s := range sets {
		total += len(s.series)
		for i := range s.series {
			chunks += len(s.series[i].chunks)
		}
	}
	out := &seriesList{series: make([]querySeries, 0, total), sorted: true}
	pos := make([]int, len(sets))
	var (
		arena   = sizedChunkArena(chunks)
		scratch []chunkRef
	)
	for {
		var best *querySeries
		for i, s := range sets {
			if pos[i] < len(s.series) {
				c := &s.series[pos[i]]
				if best == nil || labels.Compare(c.lset, best.lset) < 0 {
					best = c
				}
			}
		}
		if best == nil {
			return out
		}
		merged := querySeries{lset: best.lset, mint: best.mint, maxt: best.maxt}
		scratch = scratch[:0]
		for i, s := range sets {
			if pos[i] >= len(s.series) {
				continue
			}
			c := &s.series[pos[i]]
			if !labels.Equal(c.lset, best.lset) {
				continue
			}
			pos[i]++
			if c.hasNewest && (!merged.hasNewest || c.newestT > merged.newestT) {
				merged.newestT, merged.newestV, merged.hasNewest = c.newestT, c.newestV, true
			}
			if len(c.chunks) == 0 {
				continue
			}
			// Chunk bounds are clamped to what their source serves (a head
			// part may hold samples already cut into a block: the head
			// leaves them out), so a head following blocks is concatenated,
			// not merged sample by sample.
			n := len(scratch)
			if n == 0 || scratch[n-1].maxt < c.chunks[0].mint {
				scratch = append(scratch, c.chunks...)
			} else {
				merged.more = append(merged.more, c.chunks)
			}
		}
		merged.chunks = arena.copy(scratch)
		// A known newest sample stays known only if no chunk of another
		// source reaches past it.
		if merged.hasNewest && newestPassed(merged) {
			merged.hasNewest = false
		}
		out.series = append(out.series, merged)
	}
}

func selectBlock(ctx context.Context, b *Block, mint, maxt int64, labelsOnly bool, ms []*labels.Matcher) (*seriesList, error) {
	bs, err := startBlockSelection(ctx, b, mint, maxt, labelsOnly, ms)
	if err != nil {
		return nil, err
	}
	l := &seriesList{series: make([]querySeries, 0, len(bs.ids)), sorted: true}
	var (
		arena chunkArena
		s     querySeries
	)
	for bs.next(&s, false) {
		s.chunks = arena.copy(s.chunks)
		l.series = append(l.series, s)
		s = querySeries{}
	}
	if bs.err != nil {
		return nil, bs.err
	}
	return l, nil
}

// blockSelection walks the series of a block a selection matches one at a
// time, in label order; see headSelection.
type blockSelection struct {
	b          *Block
	ctx        context.Context
	mint, maxt int64
	labelsOnly bool
	ids        []uint64
	i          int
	sb         labels.ScratchBuilder
	metas      []index.ChunkMeta
	chunks     []chunkRef
	err        error
}

func startBlockSelection(ctx context.Context, b *Block, mint, maxt int64, labelsOnly bool, ms []*labels.Matcher) (*blockSelection, error) {
	ids, err := index.PostingsForMatchers(ctx, b.index, ms...)
	if err != nil {
		return nil, fmt.Errorf("block %s: %w", b.meta.ULID, err)
	}
	return &blockSelection{b: b, ctx: ctx, mint: mint, maxt: maxt, labelsOnly: labelsOnly, ids: ids, sb: labels.NewScratchBuilder(16)}, nil
}

// next is headSelection.next for a block.
func (bs *blockSelection) next(s *querySeries, reuse bool) bool {
	b := bs.b
	for bs.err == nil && bs.i < len(bs.ids) {
		id := bs.ids[bs.i]
		bs.i++
		if bs.i%1024 == 0 && bs.ctx.Err() != nil {
			bs.err = bs.ctx.Err()
			break
		}
		var err error
		bs.metas, err = b.index.SeriesInto(id, &bs.sb, bs.metas)
		if err != nil {
			bs.err = fmt.Errorf("block %s: %w", b.meta.ULID, err)
			break
		}
		cs := bs.chunks[:0]
		for _, m := range bs.metas {
			if !overlaps(m.MinT, m.MaxT, bs.mint, bs.maxt) {
				continue
			}
			if bs.labelsOnly {
				cs = append(cs, chunkRef{mint: m.MinT, maxt: m.MaxT})
				break
			}
			data, err := b.chunk(m.Ref)
			if err != nil {
				bs.err = err
				return false
			}
			cs = append(cs, chunkRef{kind: chunkBlock, data: data, mint: m.MinT, maxt: m.MaxT})
		}
		bs.chunks = cs
		if len(cs) == 0 {
			continue
		}
		lset := s.lset
		if reuse {
			bs.sb.Overwrite(&lset)
		} else {
			lset = bs.sb.Labels()
		}
		*s = querySeries{lset: lset, chunks: cs, mint: bs.mint, maxt: bs.maxt}
		return true
	}
	return false
}

func (q *querier) selectHead(ctx context.Context, mint, maxt int64, labelsOnly bool, ms []*labels.Matcher) (*seriesList, error) {
	hs, err := q.startHeadSelection(ctx, mint, maxt, labelsOnly, ms)
	if err != nil {
		return nil, err
	}
	l := &seriesList{series: make([]querySeries, 0, len(hs.refs))}
	arena := sizedChunkArena(len(hs.refs) * (len(hs.cursors) + 1))
	var s querySeries
	for hs.next(&s, false) {
		s.chunks = arena.copy(s.chunks)
		l.series = append(l.series, s)
		s = querySeries{}
	}
	if hs.err != nil {
		return nil, hs.err
	}
	return l, nil
}

// headSelection walks the head series a selection matches one at a time,
// so that a caller needing each series only briefly can reuse its memory.
type headSelection struct {
	q          *querier
	ctx        context.Context
	mint, maxt int64
	labelsOnly bool
	refs       []uint64
	i          int
	cursors    []*partCursor
	seen       uint64
	sb         labels.ScratchBuilder
	chunks     []chunkRef
	err        error
	// sorted, when set, is the order next walks in instead of refs.
	sorted []labeledRef
}

// labeledRef is a head series with its labels.
type labeledRef struct {
	ref  uint64
	lset labels.Labels
}

// sortByLabels makes next walk the series in label order, as a merge with
// blocks needs, at the cost of reading every matching series' labels
// first (their chunks are still read one series at a time).
func (hs *headSelection) sortByLabels() {
	h := hs.q.head
	hs.sorted = make([]labeledRef, 0, len(hs.refs))
	for _, ref := range hs.refs {
		s := h.series.getByRef(ref)
		if s == nil {
			continue
		}
		s.mu.Lock()
		if !s.removed {
			hs.sorted = append(hs.sorted, labeledRef{ref: ref, lset: h.symbols.labels(s.syms, &hs.sb)})
		}
		s.mu.Unlock()
	}
	slices.SortFunc(hs.sorted, func(a, b labeledRef) int { return labels.Compare(a.lset, b.lset) })
}

func (q *querier) startHeadSelection(ctx context.Context, mint, maxt int64, labelsOnly bool, ms []*labels.Matcher) (*headSelection, error) {
	refs, err := index.PostingsForMatchers(ctx, q.head.index, ms...)
	if err != nil {
		return nil, fmt.Errorf("head: %w", err)
	}
	return q.newHeadSelection(ctx, mint, maxt, labelsOnly, refs), nil
}

// newHeadSelection returns a selection of the head series refs, with part
// cursors of its own.
func (q *querier) newHeadSelection(ctx context.Context, mint, maxt int64, labelsOnly bool, refs []uint64) *headSelection {
	hs := &headSelection{q: q, ctx: ctx, mint: mint, maxt: maxt, labelsOnly: labelsOnly, refs: refs}
	q.mu.Lock()
	for _, p := range q.parts {
		// Seeking a series in a part costs a lookup in its index; an
		// instant query needs only the newest part or two.
		if pmin, pmax := p.bounds(); overlaps(pmin, pmax, mint, maxt) {
			hs.cursors = append(hs.cursors, p.pooledCursor(&q.head.groupBufs))
		}
	}
	hs.seen = q.maxSeq
	q.mu.Unlock()
	return hs
}

// next sets *s to the next matching series with chunks in the selection's
// range and reports whether there was one. With reuse, s's labels and chunk
// list share memory with the selection and are valid until the next call;
// without, its labels are its own and its chunk list must be copied before
// the next call.
func (hs *headSelection) next(s *querySeries, reuse bool) bool {
	h, mint, maxt := hs.q.head, hs.mint, hs.maxt
	n := len(hs.refs)
	if hs.sorted != nil {
		n = len(hs.sorted)
	}
	for hs.err == nil && hs.i < n {
		var ref uint64
		if hs.sorted != nil {
			ref = hs.sorted[hs.i].ref
		} else {
			ref = hs.refs[hs.i]
		}
		hs.i++
		if hs.i%1024 == 0 && hs.ctx.Err() != nil {
			hs.err = hs.ctx.Err()
			break
		}
		ser := h.series.getByRef(ref)
		if ser == nil {
			continue // Removed since the postings were read.
		}
		// The open chunk, the newest part holding this series and its labels
		// are read together, so a concurrent flush or collection cannot make
		// the query miss or duplicate samples, or read released symbols.
		var open chunkRef
		var (
			newestT   int64
			newestV   float64
			hasNewest bool
		)
		ser.mu.Lock()
		if ser.removed {
			ser.mu.Unlock()
			continue
		}
		upTo := max(uint64(ser.flushedIn), h.loadedMaxSeq)
		if n := ser.chunk.Len(); n > 0 && overlaps(ser.chunkMinT, ser.lastT, mint, maxt) {
			open = chunkRef{kind: chunkXOR, n: int32(n), mint: max(ser.chunkMinT, mint), maxt: ser.lastT}
			// The appender's last sample, not lastT: a commit advances
			// lastT before its samples reach the chunk.
			if t, v := ser.chunk.Last(); t >= mint && t <= maxt {
				newestT, newestV, hasNewest = t, v, true
			}
			if !hs.labelsOnly {
				// The appender may still rewrite the last byte: keep a copy of
				// it and share the rest (a whole copy per series was the
				// largest allocation of an instant query).
				open.data, open.tail, open.hasTail = ser.chunk.Snapshot()
			}
		}
		if hs.sorted == nil {
			h.symbols.build(ser.syms, &hs.sb)
		}
		ser.mu.Unlock()
		if upTo > hs.seen {
			hs.cursors = hs.q.fetchParts(hs.cursors, mint, maxt)
			hs.seen = upTo
		}
		cs := hs.chunks[:0]
		for _, c := range hs.cursors {
			if c.p.seq > upTo {
				continue // Flushed after the open chunk was read: already in it.
			}
			e, ok := c.seek(ref)
			if !ok || e.n == 0 || !overlaps(e.minT, e.lastT, mint, maxt) {
				continue
			}
			cs = append(cs, chunkRef{kind: chunkXOR, data: e.chunk, n: int32(e.n), mint: max(e.minT, mint), maxt: e.lastT})
		}
		if open.kind != chunkNone {
			cs = append(cs, open)
		}
		hs.chunks = cs
		if len(cs) == 0 {
			continue
		}
		lset := s.lset
		switch {
		case hs.sorted != nil:
			lset = hs.sorted[hs.i-1].lset
		case reuse:
			hs.sb.Overwrite(&lset)
		default:
			lset = hs.sb.Labels()
		}
		*s = querySeries{lset: lset, chunks: cs, mint: mint, maxt: maxt, newestT: newestT, newestV: newestV, hasNewest: hasNewest}
		return true
	}
	if hs.err == nil {
		for _, c := range hs.cursors {
			if c.err != nil {
				hs.err = fmt.Errorf("head: %w", c.err)
				break
			}
		}
	}
	// Done: the series given out hold chunks in the parts' files, not in
	// the cursors' group buffers, which go back for the next query.
	for _, c := range hs.cursors {
		c.release()
	}
	return false
}

// fetchParts adds the parts flushed since the querier was created (which
// hold chunks the querier would otherwise miss) to it and to cursors.
func (q *querier) fetchParts(cursors []*partCursor, mint, maxt int64) []*partCursor {
	h := q.head
	q.mu.Lock()
	defer q.mu.Unlock()
	h.partsMu.RLock()
	var fresh []*part
	for _, p := range h.parts {
		if p.seq > q.maxSeq {
			p.acquire()
			fresh = append(fresh, p)
		}
	}
	h.partsMu.RUnlock()
	for _, p := range fresh {
		q.maxSeq = max(q.maxSeq, p.seq)
		q.parts = append(q.parts, p)
		if pmin, pmax := p.bounds(); overlaps(pmin, pmax, mint, maxt) {
			cursors = append(cursors, p.pooledCursor(&h.groupBufs))
		}
	}
	return cursors
}

// LabelValues returns the sorted values of name among series matching ms (all
// series of the sources when ms is empty).
func (q *querier) LabelValues(ctx context.Context, name string, hints *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	var vals []string
	if len(ms) == 0 {
		for _, b := range q.blocks {
			v, _ := b.index.LabelValues(name)
			vals = append(vals, v...)
		}
		if q.head != nil && q.headMinT <= q.maxt {
			v, _ := q.head.index.LabelValues(name)
			vals = append(vals, v...)
		}
	} else {
		ss := q.Select(ctx, false, &storage.SelectHints{Start: q.mint, End: q.maxt, Func: "series"}, ms...)
		for ss.Next() {
			if v := ss.At().Labels().Get(name); v != "" {
				vals = append(vals, v)
			}
		}
		if err := ss.Err(); err != nil {
			return nil, nil, err
		}
	}
	slices.Sort(vals)
	vals = slices.Compact(vals)
	if hints != nil && hints.Limit > 0 && len(vals) > hints.Limit {
		vals = vals[:hints.Limit]
	}
	return vals, nil, nil
}

// LabelNames returns the sorted label names among series matching ms.
func (q *querier) LabelNames(ctx context.Context, hints *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	var names []string
	if len(ms) == 0 {
		for _, b := range q.blocks {
			names = append(names, b.index.LabelNames()...)
		}
		if q.head != nil && q.headMinT <= q.maxt {
			names = append(names, q.head.index.labelNames()...)
		}
	} else {
		ss := q.Select(ctx, false, &storage.SelectHints{Start: q.mint, End: q.maxt, Func: "series"}, ms...)
		for ss.Next() {
			ss.At().Labels().Range(func(l labels.Label) { names = append(names, l.Name) })
		}
		if err := ss.Err(); err != nil {
			return nil, nil, err
		}
	}
	slices.Sort(names)
	names = slices.Compact(names)
	if hints != nil && hints.Limit > 0 && len(names) > hints.Limit {
		names = names[:hints.Limit]
	}
	return names, nil, nil
}

// Close releases the blocks and parts the querier holds.
func (q *querier) Close() error {
	if q.closed {
		return nil
	}
	q.closed = true
	for _, b := range q.blocks {
		b.release()
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, p := range q.parts {
		p.release()
	}
	return nil
}

// clampRange keeps a querier's bounds sane for callers that pass extremes.
func clampRange(mint, maxt int64) (int64, int64) {
	if mint > maxt {
		return math.MaxInt64, math.MinInt64
	}
	return mint, maxt
}
