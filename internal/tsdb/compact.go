package tsdb

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	upstream "github.com/prometheus/prometheus/tsdb/chunkenc"

	"github.com/argus-mon/argus/internal/tsdb/chunkenc"
	"github.com/argus-mon/argus/internal/tsdb/diskio"
)

// Compact does one round of background work: it cuts blocks from the head while
// the head spans more than 1.5 block durations, merges blocks, and applies
// retention.
func (db *DB) Compact() error {
	db.compactMu.Lock()
	defer db.compactMu.Unlock()
	// Retention runs whatever else fails, so a compaction problem never lets
	// the disk fill up.
	var errs []error
	if err := db.reloadBlocks(); err != nil {
		errs = append(errs, err)
	}
	if err := db.cutHeadBlocks(); err != nil {
		db.metrics.compactionFails.Inc()
		errs = append(errs, err)
	}
	for {
		plan := db.planMerge()
		if len(plan) == 0 {
			break
		}
		if err := db.merge(plan); err != nil {
			// A block that cannot be read is left out of future merges
			// instead of failing every round.
			db.metrics.compactionFails.Inc()
			for _, b := range plan {
				db.noMerge[b.meta.ULID] = true
			}
			errs = append(errs, err)
		}
	}
	errs = append(errs, db.applyRetention())
	return errors.Join(errs...)
}

func (db *DB) cutHeadBlocks() error {
	h := db.head
	r := db.opts.BlockDuration.Milliseconds()
	// The newest sample is read once: appends go on while blocks are cut,
	// and a head that grows faster than it is cut (a backfill pushed at many
	// times real time) must not keep one compaction going for ever, holding
	// off merges and retention. What arrives meanwhile is the next round's.
	hmax := h.minMax.max.Load()
	for {
		hmin := h.minMax.min.Load()
		if hmin == math.MaxInt64 || hmax-hmin <= r*3/2 {
			return nil
		}
		mint := floorDiv(hmin, r) * r
		if err := db.cutHead(mint, mint+r); err != nil {
			return err
		}
	}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// cutHead writes the head's samples in [mint, maxt) to a new block (none if
// the range is empty) and then truncates the head to start at its oldest
// sample at or after maxt, so a gap in the data is crossed in one step.
// Damaged chunks in head parts are reported and left out rather than failing
// every cut from then on.
func (db *DB) cutHead(mint, maxt int64) error {
	start := time.Now()
	h := db.head
	nextMin := int64(math.MaxInt64)
	laterMin := func(lo, hi int64) {
		if hi >= maxt {
			nextMin = min(nextMin, max(lo, maxt))
		}
	}
	h.partsMu.RLock()
	var parts []*part
	for _, p := range h.parts {
		pmin, pmax := p.bounds()
		laterMin(pmin, pmax)
		if overlaps(pmin, pmax, mint, maxt-1) {
			p.acquire()
			parts = append(parts, p)
		}
	}
	h.partsMu.RUnlock()
	defer func() {
		for _, p := range parts {
			p.release()
		}
	}()
	cursors := make([]*partCursor, len(parts))
	for i, p := range parts {
		cursors[i] = p.cursor()
	}
	w, err := newBlockWriter(filepath.Join(db.dir, blocksDir), mint, maxt, BlockCompaction{Level: 1, HeadMaxTime: maxt})
	if err != nil {
		return err
	}
	refs, _ := h.index.AllPostings()
	var (
		ts      []int64
		vs      []float64
		xor     chunkenc.XORIterator
		buf     []byte
		sb      labels.ScratchBuilder
		damaged []error
	)
	collect := func(data []byte, n int) {
		xor.Reset(data, n)
		for xor.Next() {
			t, v := xor.At()
			if t >= mint && t < maxt && (len(ts) == 0 || t > ts[len(ts)-1]) {
				ts = append(ts, t)
				vs = append(vs, v)
			}
		}
		if err := xor.Err(); err != nil {
			damaged = append(damaged, err)
		}
	}
	for _, ref := range refs {
		s := h.series.getByRef(ref)
		if s == nil {
			continue
		}
		ts, vs = ts[:0], vs[:0]
		for _, c := range cursors {
			if e, ok := c.seek(ref); ok && e.n > 0 && overlaps(e.minT, e.lastT, mint, maxt-1) {
				collect(e.chunk, e.n)
			}
			if c.err != nil {
				damaged = append(damaged, c.err)
				c.err = nil
			}
		}
		s.mu.Lock()
		n := s.chunk.Len()
		if n > 0 {
			laterMin(s.chunkMinT, s.lastT)
		}
		if n > 0 && overlaps(s.chunkMinT, s.lastT, mint, maxt-1) {
			buf = append(buf[:0], s.chunk.Bytes()...)
		} else {
			n = 0
		}
		s.mu.Unlock()
		if n > 0 {
			collect(buf, n)
		}
		w.addSeries(h.symbols.labels(s.syms, &sb), ts, vs)
	}
	if len(damaged) > 0 {
		db.metrics.damagedChunks.Add(float64(len(damaged)))
		db.logger.Error("Damaged head chunks left out of a block", "chunks", len(damaged), "first", damaged[0])
	}
	if w.meta.Stats.NumSamples == 0 {
		w.abort()
	} else {
		meta, err := w.finish()
		if err != nil {
			return fmt.Errorf("cut head block: %w", err)
		}
		if err := db.addBlock(w.final); err != nil {
			return err
		}
		db.metrics.compactions.WithLabelValues("head").Inc()
		db.metrics.compactionSeconds.Observe(time.Since(start).Seconds())
		db.logger.Info("Head block written", "block", meta.ULID, "mint", mint, "maxt", maxt,
			"series", meta.Stats.NumSeries, "samples", meta.Stats.NumSamples, "duration", time.Since(start))
	}
	if nextMin == math.MaxInt64 {
		nextMin = maxt
	}
	return h.truncate(db.dir, maxt, nextMin)
}

func (db *DB) addBlock(dir string) error {
	b, err := OpenBlock(dir)
	if err != nil {
		return fmt.Errorf("open new block: %w", err)
	}
	db.blocksMu.Lock()
	db.blocks = append(db.blocks, b)
	sortBlocks(db.blocks)
	db.blocksMu.Unlock()
	return nil
}

// blockRanges are the time ranges merged blocks are aligned to: the block
// duration times powers of three, up to the maximum block duration.
func (db *DB) blockRanges() []int64 {
	r := db.opts.BlockDuration.Milliseconds()
	limit := db.opts.MaxBlockDuration.Milliseconds()
	var out []int64
	for x := r * 3; x <= limit; x *= 3 {
		out = append(out, x)
	}
	return out
}

// planMerge returns blocks to merge into one, or nil. Blocks that overlap in
// time (from imports) are merged first; then blocks that share an aligned
// range, once a newer block shows that range is complete.
func (db *DB) planMerge() []*Block {
	blocks := slices.DeleteFunc(db.Blocks(), func(b *Block) bool { return db.noMerge[b.meta.ULID] })
	if len(blocks) < 2 {
		return nil
	}
	// Overlaps: blocks are sorted by MinTime.
	for i := 0; i < len(blocks)-1; i++ {
		group := []*Block{blocks[i]}
		end := blocks[i].meta.MaxTime
		for _, b := range blocks[i+1:] {
			if b.meta.MinTime >= end {
				break
			}
			group = append(group, b)
			end = max(end, b.meta.MaxTime)
		}
		if len(group) > 1 {
			return group
		}
	}
	newest := blocks[len(blocks)-1].meta.MaxTime
	for _, r := range db.blockRanges() {
		var group []*Block
		window := int64(math.MinInt64)
		for _, b := range blocks {
			w := floorDiv(b.meta.MinTime, r)
			inside := b.meta.MaxTime <= (w+1)*r
			if !inside {
				continue
			}
			if w != window {
				if len(group) > 1 && (window+1)*r <= newest && (window+1)*r <= db.head.truncatedBefore.Load() {
					return group
				}
				group, window = nil, w
			}
			group = append(group, b)
		}
		if len(group) > 1 && (window+1)*r <= newest && (window+1)*r <= db.head.truncatedBefore.Load() {
			return group
		}
	}
	return nil
}

// merge writes one block with the samples of blocks and deletes them.
func (db *DB) merge(blocks []*Block) error {
	start := time.Now()
	mint, maxt := int64(math.MaxInt64), int64(math.MinInt64)
	comp := BlockCompaction{}
	for _, b := range blocks {
		mint, maxt = min(mint, b.meta.MinTime), max(maxt, b.meta.MaxTime)
		comp.Level = max(comp.Level, b.meta.Compaction.Level+1)
		comp.HeadMaxTime = max(comp.HeadMaxTime, b.meta.Compaction.HeadMaxTime)
		comp.Sources = append(comp.Sources, b.meta.ULID)
		comp.Sources = append(comp.Sources, b.meta.Compaction.Sources...)
		b.acquire()
	}
	defer func() {
		for _, b := range blocks {
			b.release()
		}
	}()
	slices.Sort(comp.Sources)
	comp.Sources = slices.Compact(comp.Sources)
	w, err := newBlockWriter(filepath.Join(db.dir, blocksDir), mint, maxt, comp)
	if err != nil {
		return err
	}
	if err := mergeSeries(blocks, w); err != nil {
		w.abort()
		return fmt.Errorf("merge blocks: %w", err)
	}
	meta, err := w.finish()
	if err != nil {
		return fmt.Errorf("merge blocks: %w", err)
	}
	if err := db.addBlock(w.final); err != nil {
		return err
	}
	db.removeBlocks(blocks, "merged")
	db.metrics.compactions.WithLabelValues("merge").Inc()
	db.metrics.compactionSeconds.Observe(time.Since(start).Seconds())
	db.logger.Info("Blocks merged", "block", meta.ULID, "sources", len(blocks), "series", meta.Stats.NumSeries,
		"samples", meta.Stats.NumSamples, "duration", time.Since(start))
	return nil
}

// mergeSeries reads every series of the blocks in label order and writes the
// union of their samples; at equal timestamps the first block wins.
func mergeSeries(blocks []*Block, w *blockWriter) error {
	lists := make([]*seriesList, 0, len(blocks))
	for _, b := range blocks {
		l, err := selectBlock(context.Background(), b, math.MinInt64, math.MaxInt64, false, nil)
		if err != nil {
			return err
		}
		lists = append(lists, l)
	}
	merged := mergeLists(lists)
	var ts []int64
	var vs []float64
	var it chunkIterator
	for i := range merged.series {
		s := &merged.series[i]
		ts, vs = ts[:0], vs[:0]
		it = s.Iterator(it)
		for it.Next() != upstream.ValNone {
			t, v := it.At()
			ts = append(ts, t)
			vs = append(vs, v)
		}
		if err := it.Err(); err != nil {
			return fmt.Errorf("series %s: %w", s.lset, err)
		}
		w.addSeries(s.lset, ts, vs)
	}
	return nil
}

// removeBlocks takes blocks out of the database and deletes them once no
// querier uses them.
func (db *DB) removeBlocks(rm []*Block, reason string) {
	db.blocksMu.Lock()
	db.blocks = slices.DeleteFunc(db.blocks, func(b *Block) bool { return slices.Contains(rm, b) })
	db.blocksMu.Unlock()
	for _, b := range rm {
		b.markDeleted()
		db.metrics.retentionDeletes.WithLabelValues(reason).Inc()
	}
}

// applyRetention deletes blocks entirely older than the retention period
// (measured back from the newest sample) and, with a size limit, the oldest
// blocks until the data directory fits.
func (db *DB) applyRetention() error {
	blocks := db.Blocks()
	newest := db.head.minMax.max.Load()
	for _, b := range blocks {
		newest = max(newest, b.meta.MaxTime)
	}
	cutoff := newest - time.Duration(db.retention.Load()).Milliseconds()
	var old []*Block
	for _, b := range blocks {
		if newest != math.MinInt64 && cutoff < newest && b.meta.MaxTime <= cutoff {
			old = append(old, b)
		}
	}
	if len(old) > 0 {
		db.logger.Info("Deleting blocks past the retention time", "blocks", len(old))
		db.removeBlocks(old, "time")
	}
	maxBytes := db.maxBytes.Load()
	if maxBytes <= 0 {
		return nil
	}
	blocks = db.Blocks()
	total, err := db.nonBlockBytes()
	if err != nil {
		return err
	}
	for _, b := range blocks {
		total += b.Size()
	}
	var drop []*Block
	for _, b := range blocks {
		if total <= maxBytes {
			break
		}
		drop = append(drop, b)
		total -= b.Size()
	}
	if len(drop) > 0 {
		db.logger.Info("Deleting the oldest blocks to stay under the size limit", "blocks", len(drop), "limit_bytes", maxBytes)
		db.removeBlocks(drop, "size")
	}
	return nil
}

// nonBlockBytes is the disk used by the logs and head parts, which count
// towards the size limit as they do in Prometheus.
func (db *DB) nonBlockBytes() (int64, error) {
	var total int64
	for _, d := range []string{walDir, seriesDir, partsDir} {
		n, err := diskio.DirSize(filepath.Join(db.dir, d))
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}
