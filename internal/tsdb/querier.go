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
	for _, b := range q.blocks {
		if !overlaps(b.meta.MinTime, b.lastT(), mint, maxt) {
			continue
		}
		l, err := selectBlock(ctx, b, mint, maxt, labelsOnly, ms)
		if err != nil {
			return storage.ErrSeriesSet(err)
		}
		if len(l.series) > 0 {
			sets = append(sets, l)
		}
	}
	if hmin := max(mint, q.headMinT); q.head != nil && hmin <= maxt {
		l, err := q.selectHead(ctx, hmin, maxt, labelsOnly, ms)
		if err != nil {
			return storage.ErrSeriesSet(err)
		}
		if len(l.series) > 0 {
			sets = append(sets, l)
		}
	}
	switch len(sets) {
	case 0:
		return storage.EmptySeriesSet()
	case 1:
		if sortSeries {
			sets[0].sortByLabels()
		}
		return &listSeriesSet{list: sets[0], i: -1}
	}
	for _, s := range sets {
		s.sortByLabels()
	}
	return &listSeriesSet{list: mergeLists(sets), i: -1}
}

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
	ids, err := index.PostingsForMatchers(ctx, b.index, ms...)
	if err != nil {
		return nil, fmt.Errorf("block %s: %w", b.meta.ULID, err)
	}
	l := &seriesList{series: make([]querySeries, 0, len(ids)), sorted: true}
	sb := labels.NewScratchBuilder(16)
	var (
		metas   []index.ChunkMeta
		arena   chunkArena
		scratch []chunkRef
	)
	for i, id := range ids {
		if i%1024 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var lset labels.Labels
		lset, metas, err = b.index.Series(id, &sb, metas)
		if err != nil {
			return nil, fmt.Errorf("block %s: %w", b.meta.ULID, err)
		}
		scratch = scratch[:0]
		for _, m := range metas {
			if !overlaps(m.MinT, m.MaxT, mint, maxt) {
				continue
			}
			if labelsOnly {
				scratch = append(scratch, chunkRef{mint: m.MinT, maxt: m.MaxT})
				break
			}
			data, err := b.chunk(m.Ref)
			if err != nil {
				return nil, err
			}
			scratch = append(scratch, chunkRef{kind: chunkBlock, data: data, mint: m.MinT, maxt: m.MaxT})
		}
		if len(scratch) > 0 {
			l.series = append(l.series, querySeries{lset: lset, chunks: arena.copy(scratch), mint: mint, maxt: maxt})
		}
	}
	return l, nil
}

func (q *querier) selectHead(ctx context.Context, mint, maxt int64, labelsOnly bool, ms []*labels.Matcher) (*seriesList, error) {
	h := q.head
	refs, err := index.PostingsForMatchers(ctx, h.index, ms...)
	if err != nil {
		return nil, fmt.Errorf("head: %w", err)
	}
	q.mu.Lock()
	var cursors []*partCursor
	for _, p := range q.parts {
		// Seeking a series in a part costs a lookup in its index; an
		// instant query needs only the newest part or two.
		if pmin, pmax := p.bounds(); overlaps(pmin, pmax, mint, maxt) {
			cursors = append(cursors, p.cursor())
		}
	}
	seen := q.maxSeq
	q.mu.Unlock()
	l := &seriesList{series: make([]querySeries, 0, len(refs))}
	var (
		sb      labels.ScratchBuilder
		arena   = sizedChunkArena(len(refs) * (len(cursors) + 1))
		scratch []chunkRef
	)
	for i, ref := range refs {
		if i%1024 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		s := h.series.getByRef(ref)
		if s == nil {
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
		s.mu.Lock()
		if s.removed {
			s.mu.Unlock()
			continue
		}
		upTo := max(uint64(s.flushedIn), h.loadedMaxSeq)
		if n := s.chunk.Len(); n > 0 && overlaps(s.chunkMinT, s.lastT, mint, maxt) {
			open = chunkRef{kind: chunkXOR, n: int32(n), mint: max(s.chunkMinT, mint), maxt: s.lastT}
			// The appender's last sample, not s.lastT: a commit advances
			// lastT before its samples reach the chunk.
			if t, v := s.chunk.Last(); t >= mint && t <= maxt {
				newestT, newestV, hasNewest = t, v, true
			}
			if !labelsOnly {
				// The appender may still rewrite the last byte: keep a copy of
				// it and share the rest (a whole copy per series was the
				// largest allocation of an instant query).
				open.data, open.tail, open.hasTail = s.chunk.Snapshot()
			}
		}
		lset := h.symbols.labels(s.syms, &sb)
		s.mu.Unlock()
		if upTo > seen {
			cursors = q.fetchParts(cursors, mint, maxt)
			seen = upTo
		}
		scratch = scratch[:0]
		for _, c := range cursors {
			if c.p.seq > upTo {
				continue // Flushed after the open chunk was read: already in it.
			}
			e, ok := c.seek(ref)
			if !ok || e.n == 0 || !overlaps(e.minT, e.lastT, mint, maxt) {
				continue
			}
			scratch = append(scratch, chunkRef{kind: chunkXOR, data: e.chunk, n: int32(e.n), mint: max(e.minT, mint), maxt: e.lastT})
		}
		if open.kind != chunkNone {
			scratch = append(scratch, open)
		}
		if len(scratch) > 0 {
			l.series = append(l.series, querySeries{lset: lset, chunks: arena.copy(scratch), mint: mint, maxt: maxt, newestT: newestT, newestV: newestV, hasNewest: hasNewest})
		}
	}
	for _, c := range cursors {
		if c.err != nil {
			return nil, fmt.Errorf("head: %w", c.err)
		}
	}
	return l, nil
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
			cursors = append(cursors, p.cursor())
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
