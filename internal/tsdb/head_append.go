package tsdb

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"

	"github.com/argus-mon/argus/internal/tsdb/wal"
)

// Head is the writable, in-memory end of the database: the series table, the
// inverted index, each series' open chunk, and the head parts that hold the
// head's older samples on disk. Samples are made durable by the write-ahead log.
type Head struct {
	logger  *slog.Logger
	opts    *Options
	metrics *metrics

	// groupBufs holds the group indexes of part cursors (*[]groupRef of
	// partGroupSize) between queries: a query keeps one
	// per part it reads, and making them anew was most of what a query
	// over a few hundred head series allocated.
	groupBufs sync.Pool

	symbols *symbolTable
	series  *seriesStripes
	index   *memIndex
	minMax  *atomicMinMax

	// truncatedBefore is the time below which data has been cut into blocks;
	// the head serves and accepts only samples at or after it.
	truncatedBefore atomic.Int64

	// commitMu serialises commits with each other and with flushes and series
	// garbage collection, so the WAL order is the order samples were applied
	// in and a flush sees no half-applied commit.
	commitMu  sync.Mutex
	wal       *wal.WAL
	seriesLog *wal.WAL
	recBuf    []byte

	partsMu sync.RWMutex
	parts   []*part
	// lastFlushWall (unix ns) and lastFlushMaxT (the head's newest sample
	// then) time the next flush.
	lastFlushWall atomic.Int64
	lastFlushMaxT atomic.Int64
	// chunkCapHint is the capacity new open chunks get: a bit more than the
	// average chunk at the last flush.
	chunkCapHint atomic.Int32
	// nextPartSeq numbers head parts from 1; only the flush (under the DB's
	// compactMu) and load touch it. loadedMaxSeq is the newest part found at
	// load: series replayed then may have chunks in any part up to it.
	nextPartSeq  uint64
	loadedMaxSeq uint64

	appenderPool sync.Pool
}

// Appender collects samples and makes them durable and visible on Commit. An
// Appender must not be used concurrently and not after Commit or Rollback.
type Appender struct {
	head    *Head
	samples []pendingSample
	// buffered commits may return before the WAL write (BufferedAppender).
	buffered bool

	// Scratch space of Commit, kept to avoid allocating per commit.
	sb        labels.ScratchBuilder
	recs      []refSample
	undo      []undoEntry
	newSeries []refSeries
}

type pendingSample struct {
	s *memSeries
	t int64
	v float64
}

// Appender returns a new appender.
func (h *Head) Appender() *Appender {
	if a, ok := h.appenderPool.Get().(*Appender); ok {
		a.buffered = false
		return a
	}
	return &Appender{head: h}
}

// BufferedAppender returns a new appender whose commits may wait in memory
// before they are written to the WAL (see DB.BufferedAppender).
func (h *Head) BufferedAppender() *Appender {
	a := h.Appender()
	a.buffered = true
	return a
}

// minValidTime is the oldest timestamp the head accepts: samples more than half a
// block older than the newest one, or older than the last block cut, are out of
// bounds, as in Prometheus.
func (h *Head) minValidTime() int64 {
	mv := h.truncatedBefore.Load()
	if mx := h.minMax.max.Load(); mx != math.MinInt64 {
		if w := mx - h.opts.BlockDuration.Milliseconds()/2; w > mv {
			mv = w
		}
	}
	return mv
}

// Append adds a sample for the series with ref, or, if ref is 0 or unknown, the
// series with lset (created if new). It returns the series ref to pass next
// time. Errors for rejected samples are storage.ErrOutOfBounds,
// storage.ErrOutOfOrderSample and storage.ErrDuplicateSampleForTimestamp; each
// rejection is counted by reason.
func (a *Appender) Append(ref uint64, lset labels.Labels, t int64, v float64) (uint64, error) {
	h := a.head
	if t < h.minValidTime() {
		h.metrics.rejected.WithLabelValues(reasonOutOfBounds).Inc()
		return ref, storage.ErrOutOfBounds
	}
	var s *memSeries
	if ref != 0 {
		s = h.series.getByRef(ref)
	}
	if s == nil {
		var err error
		s, err = a.getOrCreate(lset)
		if err != nil {
			h.metrics.rejected.WithLabelValues(reasonInvalid).Inc()
			return 0, err
		}
	}
	s.mu.Lock()
	err := appendable(s, t, v)
	if err == nil {
		// Keeps garbage collection off the series until Commit or Rollback.
		s.pending++
	}
	s.mu.Unlock()
	if err == errRepeat {
		return s.ref, nil
	}
	if err != nil {
		h.metrics.rejected.WithLabelValues(reasonOf(err)).Inc()
		return s.ref, err
	}
	a.samples = append(a.samples, pendingSample{s: s, t: t, v: v})
	return s.ref, nil
}

func (a *Appender) getOrCreate(lset labels.Labels) (*memSeries, error) {
	h := a.head
	if lset.IsEmpty() {
		return nil, errors.New("empty label set")
	}
	if name, dup := lset.HasDuplicateLabelNames(); dup {
		return nil, fmt.Errorf("label name %q repeated in %s", name, lset)
	}
	// The limits of the log and index decoders: a series they would refuse
	// to read back must not be acknowledged.
	if n := lset.Len(); n > maxLabelsPerSeries {
		return nil, fmt.Errorf("%d labels in %s...: at most %d are allowed", n, lset.Get(labels.MetricName), maxLabelsPerSeries)
	}
	var tooLong string
	lset.Range(func(l labels.Label) {
		if len(l.Name) > maxLabelBytes || len(l.Value) > maxLabelBytes {
			tooLong = l.Name
		}
	})
	if tooLong != "" {
		return nil, fmt.Errorf("label %.100q of %s is longer than %d bytes", tooLong, lset.Get(labels.MetricName), maxLabelBytes)
	}
	hash := lset.Hash()
	if s := h.series.getByLabels(hash, lset); s != nil {
		return s, nil
	}
	s, created := h.series.getOrCreate(hash, lset, h.index)
	if created {
		h.metrics.seriesCreated.Inc()
	}
	return s, nil
}

// appendable applies the ordering rules to a sample for s (s.mu held): a sample
// must be newer than the series' newest one; an exact repeat of the newest
// sample is accepted and ignored; a different value at the same time is a
// duplicate.
func appendable(s *memSeries, t int64, v float64) error {
	switch {
	case t > s.lastT:
		return nil
	case t < s.lastT:
		return storage.ErrOutOfOrderSample
	case math.Float64bits(v) == math.Float64bits(s.lastV):
		return errRepeat
	default:
		return storage.ErrDuplicateSampleForTimestamp
	}
}

// errRepeat marks an exact repeat of a series' newest sample: not an error for
// the caller, and not stored again.
var errRepeat = errors.New("repeated sample")

func reasonOf(err error) string {
	switch {
	case errors.Is(err, storage.ErrOutOfOrderSample):
		return reasonOutOfOrder
	case errors.Is(err, storage.ErrDuplicateSampleForTimestamp):
		return reasonDuplicate
	case errors.Is(err, storage.ErrOutOfBounds):
		return reasonOutOfBounds
	default:
		return reasonInvalid
	}
}

// Commit makes the appended samples durable and visible. The WAL record is
// written (handed to the OS) before Commit returns, so an acknowledged sample
// survives kill -9; the fsync policy bounds what a power cut can lose. (A
// BufferedAppender's record may be written up to Options.BufferedDelay
// later.) Samples
// that became out of order since Append (another appender wrote the same series)
// are dropped and counted.
func (a *Appender) Commit() error {
	defer a.release()
	if len(a.samples) == 0 {
		return nil
	}
	h := a.head
	h.commitMu.Lock()
	defer h.commitMu.Unlock()

	// Phase 1: decide, per sample, against the committed state; advance lastT so
	// later samples of the batch are checked against earlier ones. The previous
	// values are kept to undo this if the log write fails.
	accepted := a.samples[:0]
	undo, recs, newSeries := a.undo[:0], a.recs[:0], a.newSeries[:0]
	defer func() { a.undo, a.recs, a.newSeries = undo[:0], recs[:0], newSeries[:0] }()
	mv := h.minValidTime()
	for _, p := range a.samples {
		s := p.s
		s.mu.Lock()
		s.pending--
		var err error
		switch {
		case s.removed:
			// Cannot happen: collection skips series with pending samples.
			err = errors.New("BUG: series collected with samples pending")
		case p.t < mv:
			err = storage.ErrOutOfBounds
		default:
			err = appendable(s, p.t, p.v)
		}
		if err == nil {
			undo = append(undo, undoEntry{s: s, t: s.lastT, v: s.lastV})
			s.lastT, s.lastV = p.t, p.v
		}
		s.mu.Unlock()
		if err != nil {
			if err != errRepeat {
				h.metrics.rejected.WithLabelValues(reasonOf(err)).Inc()
			}
			continue
		}
		if !s.logged { // logged is only read and written under commitMu.
			newSeries = append(newSeries, refSeries{ref: s.ref, lset: h.symbols.labels(s.syms, &a.sb)})
			s.logged = true
		}
		accepted = append(accepted, p)
		recs = append(recs, refSample{ref: s.ref, t: p.t, v: p.v})
	}

	// Phase 2: the series log first, so a sample never refers to a series the
	// logs do not know.
	if err := h.logCommit(newSeries, recs, a.buffered); err != nil {
		for i := len(undo) - 1; i >= 0; i-- {
			u := undo[i]
			u.s.mu.Lock()
			u.s.lastT, u.s.lastV = u.t, u.v
			u.s.mu.Unlock()
		}
		for _, ns := range newSeries {
			if s := h.series.getByRef(ns.ref); s != nil {
				s.logged = false
			}
		}
		return fmt.Errorf("commit %d samples: %w", len(recs), err)
	}

	// Phase 3: apply to the open chunks.
	for _, p := range accepted {
		s := p.s
		s.mu.Lock()
		if s.chunk.Len() == 0 {
			s.chunkMinT = p.t
			// Size the buffer once for a whole flush interval instead of
			// growing it by doubling (four or five allocations per series).
			s.chunk.Reset(make([]byte, 0, h.chunkCapHint.Load()))
		}
		s.chunk.Append(p.t, p.v)
		s.mu.Unlock()
		h.minMax.observe(p.t)
	}
	h.metrics.samplesAppended.Add(float64(len(accepted)))
	return nil
}

type undoEntry struct {
	s *memSeries
	t int64
	v float64
}

// logCommit writes a commit's new series and samples to the logs. A
// buffered commit's samples may wait in the WAL's memory; its series never
// do, so that a sample can never refer to a series the logs do not know.
func (h *Head) logCommit(series []refSeries, samples []refSample, buffered bool) error {
	if len(series) > 0 {
		h.recBuf = appendSeriesRecord(h.recBuf[:0], series)
		if err := h.seriesLog.Log(h.recBuf); err != nil {
			return fmt.Errorf("series log: %w", err)
		}
	}
	if len(samples) > 0 {
		h.recBuf = appendSamplesRecord(h.recBuf[:0], samples)
		var err error
		if buffered {
			err = h.wal.LogBuffered(h.recBuf)
		} else {
			err = h.wal.Log(h.recBuf)
		}
		if err != nil {
			return fmt.Errorf("write-ahead log: %w", err)
		}
	}
	return nil
}

// Rollback discards the appended samples. Series created by Append stay in the
// head without samples and are collected with the next block cut.
func (a *Appender) Rollback() error {
	for _, p := range a.samples {
		p.s.mu.Lock()
		p.s.pending--
		p.s.mu.Unlock()
	}
	a.release()
	return nil
}

func (a *Appender) release() {
	clear(a.samples)
	a.samples = a.samples[:0]
	clear(a.newSeries)
	if cap(a.samples) <= 1<<16 {
		a.head.appenderPool.Put(a)
	}
}
