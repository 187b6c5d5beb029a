package tsdb

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/argus-mon/argus/internal/tsdb/chunkenc"
	"github.com/argus-mon/argus/internal/tsdb/diskio"
	"github.com/argus-mon/argus/internal/tsdb/wal"
)

// partsDir is where head parts live inside the data directory.
const partsDir = "parts"

func partPath(dir string, seq uint64) string {
	return filepath.Join(dir, partsDir, fmt.Sprintf("%012d.part", seq))
}

func parsePartName(name string) (uint64, bool) {
	s, ok := strings.CutSuffix(name, ".part")
	if !ok {
		return 0, false
	}
	seq, err := strconv.ParseUint(s, 10, 64)
	return seq, err == nil
}

// flushDue reports whether FlushInterval has passed since the last flush, on
// the wall clock or in sample time.
func (h *Head) flushDue(now time.Time) bool {
	iv := h.opts.FlushInterval
	if now.Sub(time.Unix(0, h.lastFlushWall.Load())) >= iv {
		return true
	}
	ref := h.lastFlushMaxT.Load()
	if ref == math.MinInt64 {
		ref = h.minMax.min.Load() // No flush since the head got data.
	}
	mx := h.minMax.max.Load()
	return mx != math.MinInt64 && ref != math.MaxInt64 && mx-ref >= iv.Milliseconds()
}

// blockDue reports whether the head spans enough time to cut a block.
func (h *Head) blockDue() bool {
	mn, mx := h.minMax.min.Load(), h.minMax.max.Load()
	return mn != math.MaxInt64 && mx-mn > h.opts.BlockDuration.Milliseconds()*3/2
}

// flush cuts every open chunk into a new head part, writes it to disk and drops
// the write-ahead log segments it covers. Cutting holds commitMu only while the
// chunks are moved (no encoding, no I/O), so commits stall for about as long as
// it takes to walk the series table.
func (h *Head) flush(dir string) error {
	start := time.Now()
	h.lastFlushWall.Store(start.UnixNano())
	h.lastFlushMaxT.Store(h.minMax.max.Load())
	h.commitMu.Lock()
	seg, err := h.wal.NextSegment()
	if err != nil {
		h.commitMu.Unlock()
		return fmt.Errorf("rotate write-ahead log: %w", err)
	}
	// The part is published before the chunks move into it, locked until it
	// is full: a query reaching a series whose chunk moved waits for the part
	// instead of missing the samples.
	p := newPart(h.nextPartSeq, seg, math.MinInt64, math.MaxInt64)
	// Every sequence number is used once, even by a part that turns out
	// empty: a querier that saw it must fetch the next flush's part.
	h.nextPartSeq++
	// partsMu before p.mu, the order queriers take them in.
	h.partsMu.Lock()
	p.mu.Lock()
	h.parts = append(h.parts, p)
	h.partsMu.Unlock()
	entries := make([]partEntry, 0, h.series.count())
	chunks, chunkBytes := 0, 0
	mint, maxt := int64(math.MaxInt64), int64(math.MinInt64)
	h.series.forEach(func(s *memSeries) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.lastT == math.MinInt64 {
			return
		}
		e := partEntry{ref: s.ref, lastT: s.lastT, lastV: s.lastV}
		if n := s.chunk.Len(); n > 0 {
			e.n, e.minT, e.chunk = n, s.chunkMinT, s.chunk.Bytes()
			// A fresh appender: the old bytes now belong to the part.
			s.chunk = chunkenc.XORAppender{}
			s.flushedIn = uint32(p.seq)
			chunks++
			chunkBytes += len(e.chunk)
			mint, maxt = min(mint, e.minT), max(maxt, e.lastT)
		}
		// The series table is walked in ref order, so the entries are sorted.
		entries = append(entries, e)
	})
	if chunks == 0 {
		// The empty part is unlocked before it is unlisted: a querier that
		// holds partsMu for reading may be waiting for p.mu, and taking
		// partsMu with p.mu held would deadlock with it. A querier that gets
		// the part meanwhile finds it empty.
		p.mu.Unlock()
		h.partsMu.Lock()
		h.parts = slices.DeleteFunc(h.parts, func(q *part) bool { return q == p })
		h.partsMu.Unlock()
		h.commitMu.Unlock()
		return h.writePendingParts(dir)
	}
	p.mem = entries
	p.minT.Store(mint)
	p.maxT.Store(maxt)
	p.mu.Unlock()
	h.commitMu.Unlock()
	h.chunkCapHint.Store(int32(min(chunkBytes/chunks*5/4+8, 4096)))

	err = h.writePendingParts(dir)
	h.metrics.flushDuration.Observe(time.Since(start).Seconds())
	return err
}

// writePendingParts writes every part still held in memory (normally just the
// newest; older ones if an earlier write failed), then truncates the WAL up to
// the oldest part that is still only in memory.
func (h *Head) writePendingParts(dir string) error {
	h.partsMu.RLock()
	parts := slices.Clone(h.parts)
	h.partsMu.RUnlock()
	walKeep := -1
	var firstErr error
	for _, p := range parts {
		p.mu.RLock()
		pending, entries := p.file == nil, p.mem
		p.mu.RUnlock()
		if !pending {
			continue
		}
		path := partPath(dir, p.seq)
		if firstErr == nil {
			if _, _, err := writePartFile(path, p.walSeg, entries); err != nil {
				firstErr = fmt.Errorf("write head part %d: %w", p.seq, err)
			} else if pf, err := openPartFile(path); err != nil {
				firstErr = fmt.Errorf("open head part %d: %w", p.seq, err)
			} else {
				p.mu.Lock()
				p.file, p.mem = pf, nil
				p.mu.Unlock()
				h.metrics.flushes.Inc()
				continue
			}
			h.metrics.flushFailures.Inc()
		}
		if walKeep < 0 {
			// Records from this part's predecessors' segments onwards are needed.
			walKeep = h.prevWalSeg(p)
		}
	}
	var trunc int
	if walKeep >= 0 {
		trunc = walKeep
	} else if n := len(parts); n > 0 {
		trunc = parts[n-1].walSeg
	}
	if trunc > 0 {
		if err := h.wal.Truncate(trunc); err != nil && firstErr == nil {
			firstErr = fmt.Errorf("truncate write-ahead log: %w", err)
		}
	}
	return firstErr
}

// prevWalSeg returns the WAL segment from which replay must start to rebuild
// part p: the segment where the previous part ends.
func (h *Head) prevWalSeg(p *part) int {
	h.partsMu.RLock()
	defer h.partsMu.RUnlock()
	prev := 0
	for _, q := range h.parts {
		if q.seq < p.seq {
			prev = q.walSeg
		}
	}
	return prev
}

// truncate makes the head start at mint after the data below it was written to
// a block: it drops parts that are entirely older, removes series without
// samples at or after mint, and rewrites the series log without them. dataMin
// is the oldest sample at or after mint, the head's new minimum time.
func (h *Head) truncate(dir string, mint, dataMin int64) error {
	if mint <= h.truncatedBefore.Load() {
		return nil
	}
	if err := writeHeadMeta(dir, mint); err != nil {
		return err
	}
	h.truncatedBefore.Store(mint)
	if h.minMax.min.Load() < dataMin {
		h.minMax.min.Store(dataMin)
	}

	h.partsMu.Lock()
	var keep []*part
	for _, p := range h.parts {
		p.mu.RLock()
		onDisk := p.file != nil
		p.mu.RUnlock()
		if _, pmax := p.bounds(); onDisk && pmax < mint && p != h.parts[len(h.parts)-1] {
			// The newest part is kept: it holds the newest time of every series,
			// which a restart needs.
			p.markDeleted(func(p *part) {
				p.file.close()
				os.Remove(p.file.path)
			})
			continue
		}
		keep = append(keep, p)
	}
	h.parts = keep
	h.partsMu.Unlock()

	return h.gcSeries(dir, mint)
}

// gcSeries removes series whose newest sample is older than mint and writes a
// checkpoint of the series log with the series that remain.
func (h *Head) gcSeries(dir string, mint int64) error {
	h.commitMu.Lock()
	var dead []*memSeries
	var live []refSeries
	var sb labels.ScratchBuilder
	h.series.forEach(func(s *memSeries) {
		s.mu.Lock()
		// All its samples are older than mint, so they are in blocks already,
		// including any still in the open chunk; an appender about to commit
		// to it keeps it alive.
		gone := s.lastT < mint && s.pending == 0
		if gone {
			s.removed = true
		}
		s.mu.Unlock()
		if gone {
			dead = append(dead, s)
			h.series.remove(s, h.symbols.labels(s.syms, &sb).Hash(), h.index.highestRef()+1)
			return
		}
		if s.logged {
			live = append(live, refSeries{ref: s.ref, lset: h.symbols.labels(s.syms, &sb)})
		}
	})
	h.index.remove(dead)
	for _, s := range dead {
		h.symbols.release(s.syms)
	}
	h.metrics.seriesRemoved.Add(float64(len(dead)))
	seg, err := h.seriesLog.NextSegment()
	h.commitMu.Unlock()
	if err != nil {
		return fmt.Errorf("rotate series log: %w", err)
	}
	if len(dead) == 0 {
		return nil
	}
	slices.SortFunc(live, func(a, b refSeries) int { return cmpU64(a.ref, b.ref) })
	if err := writeSeriesCheckpoint(filepath.Join(dir, seriesDir), seg, live, h.index.highestRef()); err != nil {
		return fmt.Errorf("series log checkpoint: %w", err)
	}
	if err := h.seriesLog.Truncate(seg); err != nil {
		return fmt.Errorf("truncate series log: %w", err)
	}
	return nil
}

// The series log is a WAL directory; a checkpoint is a WAL directory inside it
// named checkpoint.N holding every live series as of segment N. Replay reads the
// newest checkpoint and then the segments from N on.
const (
	seriesDir        = "series"
	checkpointPrefix = "checkpoint."
)

func writeSeriesCheckpoint(dir string, seg int, live []refSeries, lastRef uint64) error {
	final := filepath.Join(dir, fmt.Sprintf("%s%08d", checkpointPrefix, seg))
	tmp := final + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	w, err := wal.Open(tmp, wal.Options{SyncInterval: time.Hour})
	if err != nil {
		return err
	}
	buf := binary.AppendUvarint([]byte{recLastRef}, lastRef)
	if err := w.Log(buf); err != nil {
		w.Close()
		return err
	}
	for start := 0; start < len(live); start += 1000 {
		buf = appendSeriesRecord(buf[:0], live[start:min(start+1000, len(live))])
		if err := w.Log(buf); err != nil {
			w.Close()
			return err
		}
	}
	if err := w.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, final); err != nil {
		return err
	}
	if err := diskio.SyncDir(dir); err != nil {
		return err
	}
	// Older checkpoints and segments are now redundant.
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		name := e.Name()
		if n, ok := parseCheckpointName(name); ok && n < seg {
			os.RemoveAll(filepath.Join(dir, name))
		}
	}
	return nil
}

func parseCheckpointName(name string) (int, bool) {
	s, ok := strings.CutPrefix(name, checkpointPrefix)
	if !ok || strings.HasSuffix(s, ".tmp") {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}
