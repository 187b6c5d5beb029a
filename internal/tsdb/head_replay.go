package tsdb

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/argus-mon/argus/internal/tsdb/diskio"
	"github.com/argus-mon/argus/internal/tsdb/wal"
)

const (
	walDir       = "wal"
	headMetaFile = "head.json"
)

// headMeta is the head's persistent state besides its logs and parts.
type headMeta struct {
	// TruncatedBefore is the time below which the head's data is in blocks.
	TruncatedBefore int64 `json:"truncatedBefore"`
}

func writeHeadMeta(dir string, truncatedBefore int64) error {
	b, err := json.Marshal(headMeta{TruncatedBefore: truncatedBefore})
	if err != nil {
		return err
	}
	return diskio.WriteFileAtomic(filepath.Join(dir, headMetaFile), b)
}

func readHeadMeta(dir string) (int64, error) {
	b, err := os.ReadFile(filepath.Join(dir, headMetaFile))
	if errors.Is(err, os.ErrNotExist) {
		return math.MinInt64, nil
	}
	if err != nil {
		return 0, err
	}
	var m headMeta
	if err := json.Unmarshal(b, &m); err != nil {
		return 0, fmt.Errorf("%s: %w", headMetaFile, err)
	}
	return m.TruncatedBefore, nil
}

// replayStats describes what loading the head found, for the log and tests.
type replayStats struct {
	Series          int
	Parts           int
	CorruptParts    []string
	Samples         int
	SkippedSamples  int
	UnknownSeries   int
	BadRecords      int
	WALCorruptions  int
	SeriesLogDamage int
	Duration        time.Duration
}

// load rebuilds the head from the series log, the head parts and the
// write-ahead log, then opens both logs for writing. Damage is reported and
// skipped, never fatal: the head always opens with everything that is readable.
func (h *Head) load(ctx context.Context, dir string, blocksMaxT int64) (replayStats, error) {
	start := time.Now()
	var st replayStats
	tb, err := readHeadMeta(dir)
	if err != nil {
		h.logger.Warn("Head metadata unreadable, deriving the head start from blocks", "err", err)
		tb = math.MinInt64
	}
	h.truncatedBefore.Store(max(tb, blocksMaxT))

	if err := h.loadSeries(ctx, filepath.Join(dir, seriesDir), &st); err != nil {
		return st, err
	}
	walFrom, err := h.loadParts(filepath.Join(dir, partsDir), &st)
	if err != nil {
		return st, err
	}
	if err := h.replayWAL(ctx, filepath.Join(dir, walDir), walFrom, &st); err != nil {
		return st, err
	}
	st.Series = h.series.count()
	st.Duration = time.Since(start)
	return st, nil
}

func (h *Head) loadSeries(ctx context.Context, dir string, st *replayStats) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	cp, from := "", 0
	for _, e := range entries {
		name := e.Name()
		if n, ok := parseCheckpointName(name); ok && n >= from {
			cp, from = name, n
		} else if filepath.Ext(name) == ".tmp" {
			os.RemoveAll(filepath.Join(dir, name))
		}
	}
	// A pipeline keeps both cores busy: this goroutine reads and decodes
	// records and interns their labels, one adds the series to the series
	// table, another to the index.
	toTable := make(chan []hashedSeries, 16)
	toIndex := make(chan []*memSeries, 16)
	done := make(chan struct{})
	go func(in <-chan []hashedSeries) {
		defer close(toIndex)
		for batch := range in {
			added := make([]*memSeries, 0, len(batch))
			for _, hs := range batch {
				if h.series.add(hs.s, hs.hash) == hs.s {
					added = append(added, hs.s)
				} else {
					h.symbols.release(hs.s.syms)
				}
			}
			toIndex <- added
		}
	}(toTable)
	go func() {
		defer close(done)
		for batch := range toIndex {
			for _, s := range batch {
				h.index.load(s.ref, s.syms)
			}
		}
	}()
	var sb labels.ScratchBuilder
	apply := func(rec []byte) error {
		if len(rec) > 0 && rec[0] == recLastRef {
			if ref, n := binary.Uvarint(rec[1:]); n > 0 {
				h.index.setHighestRef(ref)
				return nil
			}
		}
		if len(rec) == 0 || rec[0] != recSeries {
			st.BadRecords++
			return nil
		}
		var batch []hashedSeries
		err := forEachSeriesInRecord(rec[1:], &sb, func(ref uint64, lset labels.Labels) {
			s := newMemSeries(ref, h.symbols.encode(lset))
			s.logged = true
			batch = append(batch, hashedSeries{s: s, hash: lset.Hash()})
		})
		if err != nil {
			st.BadRecords++
			h.logger.Warn("Skipping malformed series record", "err", err)
		}
		toTable <- batch
		return nil
	}
	closed := false
	stop := func() {
		if !closed {
			closed = true
			close(toTable)
			<-done
		}
	}
	defer stop()
	if cp != "" {
		rs, err := wal.Replay(ctx, filepath.Join(dir, cp), 0, h.logger, apply)
		if err != nil {
			return fmt.Errorf("series checkpoint %s: %w", cp, err)
		}
		st.SeriesLogDamage += len(rs.Corruptions)
	}
	rs, err := wal.Replay(ctx, dir, from, h.logger, apply)
	if err != nil {
		return fmt.Errorf("series log: %w", err)
	}
	st.SeriesLogDamage += len(rs.Corruptions)
	stop()
	h.index.finishLoad()
	return nil
}

// hashedSeries is a replayed series with the hash of its labels.
type hashedSeries struct {
	s    *memSeries
	hash uint64
}

// loadParts opens the head parts, restores each series' newest sample from
// the newest part, and returns the WAL segment replay starts from.
func (h *Head) loadParts(dir string, st *replayStats) (int, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	tb := h.truncatedBefore.Load()
	var seqs []uint64
	for _, e := range entries {
		if seq, ok := parsePartName(e.Name()); ok {
			seqs = append(seqs, seq)
		} else if filepath.Ext(e.Name()) == ".tmp" {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
	slices.Sort(seqs)
	for _, seq := range seqs {
		path := partPath(filepath.Dir(dir), seq)
		pf, err := openPartFile(path)
		if err != nil {
			// Keep the damaged file for inspection, out of the way of the next
			// start. Its samples are lost unless the WAL still holds them.
			h.logger.Error("Head part unreadable, moving it aside", "path", path, "err", err)
			st.CorruptParts = append(st.CorruptParts, path)
			os.Rename(path, path+".corrupt")
			continue
		}
		p := newPart(seq, pf.walSeg, pf.mint, pf.maxt)
		p.file = pf
		h.parts = append(h.parts, p)
		h.nextPartSeq = seq + 1
		h.loadedMaxSeq = seq
		if pf.maxt >= tb {
			h.minMax.observe(max(pf.mint, tb))
			h.minMax.observe(pf.maxt)
		}
	}
	st.Parts = len(h.parts)
	if len(h.parts) == 0 {
		return 0, nil
	}
	newest := h.parts[len(h.parts)-1]
	err = newest.forEach(func(e partEntry) error {
		if s := h.series.getByRef(e.ref); s != nil && e.lastT > s.lastT {
			s.lastT, s.lastV = e.lastT, e.lastV
		}
		return nil
	})
	if err != nil {
		// The ordering state of some series is lost; samples older than what
		// the part holds could then be accepted again. Reported, not fatal.
		h.logger.Error("Reading the newest head part failed", "part", newest.file.path, "err", err)
		st.CorruptParts = append(st.CorruptParts, newest.file.path)
	}
	return newest.walSeg, nil
}

// replayWAL applies the samples of the write-ahead log. Records are read and
// decoded here and applied by one worker per CPU, each owning the series with
// ref%workers equal to its number, so every series still sees its samples in
// log order.
func (h *Head) replayWAL(ctx context.Context, dir string, from int, st *replayStats) error {
	workers := max(1, runtime.GOMAXPROCS(0))
	chans := make([]chan *sampleBatch, workers)
	results := make(chan replayStats, workers)
	pool := &sync.Pool{New: func() any { return &sampleBatch{} }}
	for k := range workers {
		chans[k] = make(chan *sampleBatch, 32)
		go h.replayWorker(uint64(k), uint64(workers), chans[k], results, pool)
	}
	finish := func() {
		for _, c := range chans {
			close(c)
		}
		for range workers {
			r := <-results
			st.Samples += r.Samples
			st.SkippedSamples += r.SkippedSamples
			st.UnknownSeries += r.UnknownSeries
		}
	}
	rs, err := wal.Replay(ctx, dir, from, h.logger, func(rec []byte) error {
		if len(rec) == 0 || rec[0] != recSamples {
			st.BadRecords++
			return nil
		}
		b := pool.Get().(*sampleBatch)
		var err error
		b.samples, err = decodeSamplesRecord(b.samples[:0], rec[1:])
		if err != nil {
			st.BadRecords++
			h.logger.Warn("Skipping malformed sample record", "err", err)
			pool.Put(b)
			return nil
		}
		// Shared read-only by the workers; the last one done recycles it.
		b.pending.Store(int32(workers))
		for _, c := range chans {
			c <- b
		}
		return nil
	})
	finish()
	if err != nil {
		return fmt.Errorf("replay write-ahead log: %w", err)
	}
	st.WALCorruptions = len(rs.Corruptions) + len(rs.Missing)
	return nil
}

// sampleBatch is one decoded record on its way to the replay workers.
type sampleBatch struct {
	samples []refSample
	pending atomic.Int32
}

func (h *Head) replayWorker(k, n uint64, in <-chan *sampleBatch, out chan<- replayStats, pool *sync.Pool) {
	var st replayStats
	tb := h.truncatedBefore.Load()
	mint, maxt := int64(math.MaxInt64), int64(math.MinInt64)
	for b := range in {
		for _, rs := range b.samples {
			if rs.ref%n != k {
				continue
			}
			s := h.series.getByRef(rs.ref)
			if s == nil {
				st.UnknownSeries++
				continue
			}
			if rs.t < tb || appendable(s, rs.t, rs.v) != nil {
				st.SkippedSamples++
				continue
			}
			s.lastT, s.lastV = rs.t, rs.v
			if s.chunk.Len() == 0 {
				s.chunkMinT = rs.t
			}
			s.chunk.Append(rs.t, rs.v)
			mint, maxt = min(mint, rs.t), max(maxt, rs.t)
			st.Samples++
		}
		if b.pending.Add(-1) == 0 {
			pool.Put(b)
		}
	}
	if st.Samples > 0 {
		h.minMax.observe(mint)
		h.minMax.observe(maxt)
	}
	out <- st
}
