package wal

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Defaults for Options fields left at their zero value.
const (
	DefaultSegmentSize  = 32 << 20
	DefaultSyncInterval = 5 * time.Second
)

// maxRetainedBuf bounds the encode buffer a WAL keeps between Log calls.
// Steady-state calls fit and allocate nothing; a rare huge batch does not
// pin up to a segment's worth of memory for the life of the WAL.
const maxRetainedBuf = 1 << 20

// maxHeldBytes bounds the records LogBuffered holds back: reaching it writes
// them. Well below maxRetainedBuf, so that the buffer, with the record that
// crosses the bound, is kept for the next records.
const maxHeldBytes = 256 << 10

var (
	// ErrClosed is returned by methods called after Close.
	ErrClosed = errors.New("WAL is closed")
	// ErrRecordTooLarge is returned by Log for a record whose encoding does
	// not fit in an empty segment; nothing of that call is written.
	ErrRecordTooLarge = errors.New("record too large for a WAL segment")
)

// Options configure a WAL. The zero value is valid.
type Options struct {
	// SegmentSize is the maximum size of a segment file in bytes. 0 means
	// DefaultSegmentSize; other values must be at least PageSize.
	SegmentSize int64
	// SyncInterval is how often a background goroutine fsyncs the current
	// segment if it has unsynced data. 0 means DefaultSyncInterval. A
	// negative value disables the goroutine and makes every Log call fsync
	// before returning.
	SyncInterval time.Duration
	// Logger receives warnings about failed background fsyncs; nil discards.
	Logger *slog.Logger
	// Registerer receives the WAL metrics; nil does not register them.
	Registerer prometheus.Registerer
	// MetricsPrefix prefixes metric names; it should end in "_". Empty
	// means DefaultMetricsPrefix.
	MetricsPrefix string
	// FlushDelay is the longest records given to LogBuffered are held in
	// memory before they are written. 0 (or a negative SyncInterval) makes
	// LogBuffered write at once, like Log.
	FlushDelay time.Duration
}

// segmentFile is the write side of a segment file. *os.File implements it;
// tests substitute a file that fails like a full disk. Implementations
// need not be safe for concurrent use except that Sync may run
// concurrently with WriteAt (the WAL fsyncs outside its write lock).
type segmentFile interface {
	// WriteAt writes p at off and returns how many bytes reached the file;
	// on error a prefix of p may have been written.
	WriteAt(p []byte, off int64) (int, error)
	Sync() error
	Truncate(size int64) error
	Close() error
}

// segment is the segment being written. f is nil when there is none, which
// happens after a failure; the next Log then creates a new one.
type segment struct {
	f     segmentFile
	index int
	size  int64 // bytes of complete records (and padding) in the file
}

// WAL appends records to numbered segment files in one directory. All
// methods are safe for concurrent use.
type WAL struct {
	dir        string
	segSize    int64
	maxRecord  int
	syncAlways bool
	logger     *slog.Logger
	m          *metrics
	create     func(path string) (segmentFile, error)

	// mu serialises writers and guards the fields below. Lock order is mu
	// before syncMu.
	mu        sync.Mutex
	seg       segment
	lastIndex int    // highest segment index created or found
	logged    uint64 // bytes successfully written over the WAL's life
	buf       []byte // encode buffer reused across Log calls
	closed    bool
	// pendRecs records given to LogBuffered are held in buf, encoded for
	// the end of the current segment, since pendSince; the sync goroutine
	// writes them when flushTimer fires. pendRecs is 0 whenever there is
	// no current segment.
	flushDelay time.Duration
	pendRecs   int
	pendSince  time.Time
	flushTimer *time.Timer

	// syncMu is held during every fsync of a segment so that a background
	// fsync runs without blocking Log, while a rotation cannot close the
	// file under it.
	syncMu sync.Mutex
	synced uint64 // prefix of logged that is durable, or whose loss was reported

	stop chan struct{}
	wg   sync.WaitGroup
}

// Open creates dir if needed and starts a new segment after the highest
// existing one. It never appends to an existing segment, whose tail may be
// torn by a crash; call Replay on the directory first if its contents are
// needed.
func Open(dir string, opts Options) (*WAL, error) {
	return open(dir, opts, createFile)
}

func createFile(path string) (segmentFile, error) {
	// O_EXCL: two writers on one directory would corrupt each other.
	return os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
}

func open(dir string, opts Options, create func(string) (segmentFile, error)) (*WAL, error) {
	if opts.SegmentSize == 0 {
		opts.SegmentSize = DefaultSegmentSize
	}
	if opts.SegmentSize < PageSize {
		return nil, fmt.Errorf("WAL segment size %d is smaller than the page size %d", opts.SegmentSize, PageSize)
	}
	if opts.SyncInterval == 0 {
		opts.SyncInterval = DefaultSyncInterval
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.MetricsPrefix == "" {
		opts.MetricsPrefix = DefaultMetricsPrefix
	}
	if err := makeDir(dir); err != nil {
		return nil, err
	}
	indexes, err := listSegments(dir)
	if err != nil {
		return nil, err
	}
	m, err := newMetrics(opts.MetricsPrefix, opts.Registerer)
	if err != nil {
		return nil, err
	}
	w := &WAL{
		dir:        dir,
		segSize:    opts.SegmentSize,
		maxRecord:  maxRecordSize(opts.SegmentSize),
		syncAlways: opts.SyncInterval < 0,
		logger:     opts.Logger.With("wal_dir", dir),
		m:          m,
		create:     create,
		lastIndex:  -1,
		stop:       make(chan struct{}),
	}
	if len(indexes) > 0 {
		w.lastIndex = indexes[len(indexes)-1]
	}
	if !w.syncAlways && opts.FlushDelay > 0 {
		w.flushDelay = opts.FlushDelay
		w.flushTimer = time.NewTimer(time.Hour)
		w.flushTimer.Stop()
	}
	if err := w.openSegment(); err != nil {
		m.unregister()
		return nil, err
	}
	if !w.syncAlways {
		w.wg.Add(1)
		go w.syncLoop(opts.SyncInterval, w.flushTimer)
	}
	return w, nil
}

// makeDir creates dir and makes its directory entry durable.
func makeDir(dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return fmt.Errorf("create WAL directory: %w", err)
	}
	return syncDir(filepath.Dir(dir))
}

// Dir returns the directory holding the segment files.
func (w *WAL) Dir() string { return w.dir }

// Segments returns the lowest and highest segment index in the directory,
// or -1, -1 if there is none.
func (w *WAL) Segments() (first, last int, err error) {
	indexes, err := listSegments(w.dir)
	if err != nil || len(indexes) == 0 {
		return -1, -1, err
	}
	return indexes[0], indexes[len(indexes)-1], nil
}

// Log appends recs, in order, and returns once all their bytes have been
// handed to the operating system, so they survive the process being killed
// (but not a machine crash before the next fsync, see Options.SyncInterval).
// Records of one call go out in one write when they fit in the current
// segment, together with any that LogBuffered holds back. A record is never
// split across segments.
//
// On error the WAL stays usable and later calls may succeed. A failed
// write is normally cut back to the last complete record, losing the whole
// call, but some of the call's records may still be replayed: those before
// a rotation inside the call, those written whole before a failed write
// that could not be cut back, and all of them if only the fsync of a
// negative SyncInterval failed. So a failed Log does not prove that none
// of its records will come back on replay.
func (w *WAL) Log(recs ...[]byte) error {
	return w.log(recs, false)
}

// LogBuffered appends recs like Log but may hold them in memory for up to
// Options.FlushDelay, to be written with later records in one system call:
// for data no client waits on, a crash of the process can lose what was
// logged within the last FlushDelay. Held records keep their order with
// all others and are written before any later Log call's, by Sync,
// NextSegment and Close, once they exceed 256 KiB, and by a LogBuffered call
// once the oldest has waited half of FlushDelay (so a steady stream of
// calls needs no timer). An error means the call's records are lost, and
// records held from earlier calls may be too.
func (w *WAL) LogBuffered(recs ...[]byte) error {
	return w.log(recs, w.flushDelay > 0)
}

func (w *WAL) log(recs [][]byte, hold bool) error {
	for _, rec := range recs {
		if len(rec) > w.maxRecord {
			return fmt.Errorf("%w: %d bytes, at most %d with segment size %d", ErrRecordTooLarge, len(rec), w.maxRecord, w.segSize)
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	if w.seg.f == nil {
		if err := w.openSegment(); err != nil {
			return err
		}
	}
	// Held records are already encoded at the front of buf.
	buf, pending := w.buf, w.pendRecs
	w.pendRecs = 0
	now := time.Now()
	since := w.pendSince
	if pending == 0 {
		since = now
	}
	for _, rec := range recs {
		pos := w.seg.size + int64(len(buf))
		if pos > 0 && pos+encodedLen(len(rec), pos) > w.segSize {
			err := w.write(buf, pending)
			buf, pending = buf[:0], 0
			since = now
			if err == nil {
				err = w.rotate()
			}
			if err != nil {
				w.keepBuf(buf)
				w.stopFlushTimer()
				return err
			}
			pos = 0
		}
		buf = appendRecord(buf, pos, rec)
		pending++
	}
	if hold && len(buf) < maxHeldBytes && now.Sub(since) < w.flushDelay/2 {
		if since == now {
			// The oldest held record is this call's: the timer bounds
			// its wait.
			w.flushTimer.Reset(w.flushDelay)
		}
		w.buf, w.pendRecs, w.pendSince = buf, pending, since
		return nil
	}
	w.stopFlushTimer()
	err := w.write(buf, pending)
	w.keepBuf(buf)
	if err == nil && w.syncAlways {
		err = w.syncLocked()
	}
	return err
}

// stopFlushTimer disarms the timer of held records once they are written
// or dropped. Called with mu held.
func (w *WAL) stopFlushTimer() {
	if !w.pendSince.IsZero() {
		w.flushTimer.Stop()
		w.pendSince = time.Time{}
	}
}

// writeHeld writes the records LogBuffered holds, if any. Called with mu
// held.
func (w *WAL) writeHeld() error {
	if w.pendRecs == 0 {
		return nil
	}
	n := w.pendRecs
	w.pendRecs = 0
	w.stopFlushTimer()
	err := w.write(w.buf, n)
	w.keepBuf(w.buf)
	return err
}

func (w *WAL) keepBuf(buf []byte) {
	if cap(buf) <= maxRetainedBuf {
		w.buf = buf[:0]
	} else {
		w.buf = nil
	}
}

// write writes buf, holding nrecs complete records, at the end of the
// current segment. On failure it cuts the file back to its last complete
// record, so the next write continues a well-formed page chain; if that is
// impossible it abandons the segment, leaving the torn bytes at the end of
// a file that will never get more records.
func (w *WAL) write(buf []byte, nrecs int) error {
	if len(buf) == 0 {
		return nil
	}
	seg := &w.seg
	n, err := seg.f.WriteAt(buf, seg.size)
	if err == nil && n != len(buf) {
		err = io.ErrShortWrite
	}
	if err == nil {
		seg.size += int64(n)
		w.logged += uint64(n)
		w.m.bytes.Add(float64(n))
		w.m.records.Add(float64(nrecs))
		return nil
	}
	w.m.failures.Inc()
	err = fmt.Errorf("write WAL segment %s: %w", segmentName(seg.index), err)
	// Truncate even when n == 0: a failed write may still have extended
	// the file, and cutting to the current size is a no-op otherwise.
	if terr := seg.f.Truncate(seg.size); terr != nil {
		w.m.failures.Inc()
		err = errors.Join(err, fmt.Errorf("truncate WAL segment %s to %d after failed write: %w", segmentName(seg.index), seg.size, terr))
		if cerr := w.closeSegment(true); cerr != nil {
			err = errors.Join(err, cerr)
		}
	}
	return err
}

// rotate writes the held records, closes the current segment, if any, and
// opens the next one. It rotates even if the held records could not be
// written: later records must not go into the segment.
func (w *WAL) rotate() error {
	var err error
	if w.seg.f != nil {
		err = w.writeHeld()
		if cerr := w.closeSegment(true); cerr != nil {
			return errors.Join(err, cerr)
		}
	}
	return errors.Join(err, w.openSegment())
}

// openSegment creates segment lastIndex+1 and makes it current.
func (w *WAL) openSegment() error {
	idx := w.lastIndex + 1
	path := filepath.Join(w.dir, segmentName(idx))
	f, err := w.create(path)
	if err != nil {
		return fmt.Errorf("create WAL segment: %w", err)
	}
	w.lastIndex = idx
	// The directory entry must be durable before records in the file are
	// considered durable.
	if err := syncDir(w.dir); err != nil {
		_ = f.Close() // The file is empty and will be skipped.
		return err
	}
	w.seg = segment{f: f, index: idx}
	w.m.segment.Set(float64(idx))
	return nil
}

// closeSegment fsyncs (if sync is set and there is unsynced data) and
// closes the current segment, leaving none. Called with mu held. The file is
// released even when fsync fails: after a failed fsync the kernel may have
// dropped the dirty pages, so retrying on the same file could falsely
// report success.
func (w *WAL) closeSegment(sync bool) error {
	seg := w.seg
	w.seg = segment{}
	var err error
	if w.pendRecs > 0 {
		// Encoded for this segment, which takes no more writes: lost.
		err = fmt.Errorf("%d held records dropped with WAL segment %s", w.pendRecs, segmentName(seg.index))
		w.m.failures.Inc()
		w.pendRecs, w.buf = 0, w.buf[:0]
		w.stopFlushTimer()
	}
	w.syncMu.Lock()
	if sync && w.synced < w.logged {
		err = errors.Join(err, w.fsync(seg))
	}
	// Either durable or its loss has been reported by err.
	w.synced = w.logged
	w.syncMu.Unlock()
	if cerr := seg.f.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("close WAL segment %s: %w", segmentName(seg.index), cerr))
	}
	return err
}

// fsync syncs seg's file and records metrics. Called with syncMu held.
func (w *WAL) fsync(seg segment) error {
	start := time.Now()
	err := seg.f.Sync()
	w.m.fsyncDur.Observe(time.Since(start).Seconds())
	w.m.fsyncs.Inc()
	if err != nil {
		w.m.failures.Inc()
		return fmt.Errorf("fsync WAL segment %s: %w", segmentName(seg.index), err)
	}
	return nil
}

// syncLocked fsyncs the current segment from Log when every call must be
// durable. Called with mu held.
func (w *WAL) syncLocked() error {
	w.syncMu.Lock()
	var err error
	if w.synced < w.logged {
		if err = w.fsync(w.seg); err == nil {
			w.synced = w.logged
		}
	}
	w.syncMu.Unlock()
	if err != nil {
		// Do not write more into a file whose durability is unknown.
		if cerr := w.closeSegment(false); cerr != nil {
			err = errors.Join(err, cerr)
		}
	}
	return err
}

// Sync makes every record whose Log or LogBuffered call returned before
// Sync was called durable. It does not block concurrent Log calls while
// fsync runs.
func (w *WAL) Sync() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return ErrClosed
	}
	if err := w.writeHeld(); err != nil {
		w.mu.Unlock()
		return err
	}
	seg, target := w.seg, w.logged
	w.syncMu.Lock()
	w.mu.Unlock()
	// Holding syncMu keeps seg.f open: rotation and Close take syncMu
	// before closing the file. Older segments were fsynced when closed.
	var err error
	if w.synced < target && seg.f != nil {
		if err = w.fsync(seg); err == nil {
			w.synced = target
		}
	}
	w.syncMu.Unlock()
	if err != nil {
		w.mu.Lock()
		if w.seg.f == seg.f && w.seg.f != nil {
			if cerr := w.closeSegment(false); cerr != nil {
				err = errors.Join(err, cerr)
			}
		}
		w.mu.Unlock()
	}
	return err
}

// syncLoop is the background fsync goroutine, which also writes held
// records when flush fires (nil: never); Close stops it and waits.
func (w *WAL) syncLoop(interval time.Duration, flush *time.Timer) {
	defer w.wg.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	var flushC <-chan time.Time
	if flush != nil {
		flushC = flush.C
	}
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
			if err := w.Sync(); err != nil && !errors.Is(err, ErrClosed) {
				w.logger.Error("Periodic WAL fsync failed; continuing in a new segment", "err", err)
			}
		case <-flushC:
			w.mu.Lock()
			var err error
			if !w.closed {
				err = w.writeHeld()
			}
			w.mu.Unlock()
			if err != nil {
				w.logger.Error("Writing held WAL records failed; they are lost", "err", err)
			}
		}
	}
}

// NextSegment fsyncs and closes the current segment and starts a new one,
// whose index it returns. Every record logged before the call is in a
// segment with a smaller index, even if an error is returned.
func (w *WAL) NextSegment() (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return -1, ErrClosed
	}
	if err := w.rotate(); err != nil {
		return -1, err
	}
	return w.seg.index, nil
}

// Truncate deletes the segments with an index below before, oldest first,
// and never the segment being written. It stops at the first failure so
// that the remaining segments stay contiguous. The caller must not replay
// the deleted segments concurrently.
func (w *WAL) Truncate(before int) error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return ErrClosed
	}
	// lastIndex is current, or the one to be reused after a failure.
	limit := min(before, w.lastIndex)
	w.mu.Unlock()

	indexes, err := listSegments(w.dir)
	if err != nil {
		return err
	}
	removed := false
	for _, idx := range indexes {
		if idx >= limit {
			break
		}
		if err = os.Remove(filepath.Join(w.dir, segmentName(idx))); err != nil && !errors.Is(err, os.ErrNotExist) {
			err = fmt.Errorf("delete WAL segment: %w", err)
			break
		}
		err = nil
		removed = true
	}
	if removed {
		err = errors.Join(err, syncDir(w.dir))
	}
	return err
}

// Close fsyncs and closes the current segment, stops the background
// goroutine and unregisters the metrics. Methods called afterwards return
// ErrClosed.
func (w *WAL) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return ErrClosed
	}
	w.closed = true
	w.mu.Unlock()

	close(w.stop)
	w.wg.Wait()

	w.mu.Lock()
	defer w.mu.Unlock()
	var err error
	if w.seg.f != nil {
		err = w.writeHeld()
		err = errors.Join(err, w.closeSegment(true))
	}
	w.m.unregister()
	return err
}
