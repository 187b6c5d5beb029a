package tsdb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/storage"

	"github.com/argus-mon/argus/internal/tsdb/wal"
)

// Options configure a DB. Zero values mean the documented defaults.
type Options struct {
	// Retention is how long samples are kept, measured back from the newest
	// sample. Default 15 days.
	Retention time.Duration
	// MaxBytes caps the bytes of blocks; the oldest blocks are deleted first.
	// 0 means no size limit.
	MaxBytes int64
	// BlockDuration is the time range of blocks cut from the head. Default 2h.
	BlockDuration time.Duration
	// MaxBlockDuration bounds how large merged blocks grow. Default: a tenth of
	// the retention, at most 31 days, at least BlockDuration.
	MaxBlockDuration time.Duration
	// FlushInterval is how often open chunks are cut into a head part, which
	// bounds both head memory and the write-ahead log to replay after a crash.
	// Default 5 minutes.
	FlushInterval time.Duration
	// WALSyncInterval is how often the write-ahead log is fsynced. A commit is
	// written to the OS before it returns, so it survives kill -9 at once; a
	// power cut can lose at most this much. Negative: fsync on every commit.
	// Default 5s.
	WALSyncInterval time.Duration
	// WALSegmentSize is the size of WAL segment files. Default 32 MiB.
	WALSegmentSize int64
	// BufferedDelay bounds how long samples committed through a
	// BufferedAppender wait in memory before they are written to the
	// write-ahead log, so it is what a crash can lose of them. Default 1s;
	// negative: they do not wait.
	BufferedDelay time.Duration
	// Logger receives the DB's logs; nil discards them.
	Logger *slog.Logger
	// Registerer receives the DB's metrics; nil does not register them. They
	// are unregistered by Close, so a DB can be reopened with the same one.
	Registerer prometheus.Registerer

	// noBackground opens the DB without its background loop (statistics).
	noBackground bool
}

func (o Options) withDefaults() Options {
	if o.Retention <= 0 {
		o.Retention = 15 * 24 * time.Hour
	}
	if o.BlockDuration <= 0 {
		o.BlockDuration = 2 * time.Hour
	}
	if o.MaxBlockDuration <= 0 {
		o.MaxBlockDuration = min(o.Retention/10, 31*24*time.Hour)
	}
	o.MaxBlockDuration = max(o.MaxBlockDuration, o.BlockDuration)
	if o.FlushInterval <= 0 {
		o.FlushInterval = 5 * time.Minute
	}
	if o.WALSyncInterval == 0 {
		o.WALSyncInterval = 5 * time.Second
	}
	if o.BufferedDelay == 0 {
		o.BufferedDelay = time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return o
}

// DB is the storage engine: the head plus the blocks, with a background loop
// that flushes head parts, cuts blocks, merges them and applies retention.
// All methods are safe for concurrent use.
type DB struct {
	dir     string
	opts    Options
	logger  *slog.Logger
	metrics *metrics
	lock    *os.File

	head *Head

	// compactMu serialises flushes, block cuts, merges and retention, and
	// guards noMerge, the blocks a merge failed to read.
	compactMu sync.Mutex
	noMerge   map[string]bool
	blocksMu  sync.RWMutex
	blocks    []*Block // sorted by MinTime

	// retention and maxBytes start from Options and change on reload.
	retention atomic.Int64
	maxBytes  atomic.Int64

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error
}

// ErrLocked is returned by Open when another process uses the directory.
var ErrLocked = errors.New("data directory is in use by another process")

// Open opens (or creates) the database in dir, rebuilding the head from its
// logs, and starts the background loop. Damaged files are reported in the log
// and skipped; Open fails only on I/O errors or a locked directory.
func Open(ctx context.Context, dir string, opts Options) (*DB, error) {
	opts = opts.withDefaults()
	for _, d := range []string{dir, filepath.Join(dir, blocksDir), filepath.Join(dir, partsDir)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	db := &DB{dir: dir, opts: opts, logger: opts.Logger, lock: lock, noMerge: map[string]bool{}, stop: make(chan struct{}), done: make(chan struct{})}
	ok := false
	defer func() {
		if !ok {
			db.closeFiles()
		}
	}()
	db.head = &Head{
		logger:  opts.Logger.With("component", "head"),
		opts:    &db.opts,
		symbols: newSymbolTable(),
		minMax:  newAtomicMinMax(),
	}
	db.head.series = newSeriesStripes(db.head.symbols)
	db.head.index = newMemIndex(db.head.symbols)
	db.head.lastFlushWall.Store(time.Now().UnixNano())
	db.head.nextPartSeq = 1
	db.head.chunkCapHint.Store(32)
	db.retention.Store(int64(opts.Retention))
	db.maxBytes.Store(opts.MaxBytes)
	db.metrics = newMetrics(db, opts.Registerer)
	db.head.metrics = db.metrics

	if err := db.loadBlocks(); err != nil {
		return nil, err
	}
	var blocksMaxT int64 = math.MinInt64
	for _, b := range db.blocks {
		if b.meta.Compaction.HeadMaxTime != 0 {
			blocksMaxT = max(blocksMaxT, b.meta.Compaction.HeadMaxTime)
		}
	}
	st, err := db.head.load(ctx, dir, blocksMaxT)
	if err != nil {
		return nil, err
	}
	db.metrics.replaySeconds.Set(st.Duration.Seconds())
	db.logger.Info("Storage opened", "dir", dir, "blocks", len(db.blocks), "series", st.Series,
		"head_parts", st.Parts, "replayed_samples", st.Samples, "duration", st.Duration)
	if st.SkippedSamples+st.UnknownSeries+st.BadRecords+st.WALCorruptions+st.SeriesLogDamage+len(st.CorruptParts) > 0 {
		db.logger.Warn("Storage recovered from damage", "skipped_samples", st.SkippedSamples,
			"unknown_series_samples", st.UnknownSeries, "bad_records", st.BadRecords,
			"wal_corruptions", st.WALCorruptions, "series_log_corruptions", st.SeriesLogDamage,
			"corrupt_parts", st.CorruptParts)
	}

	walOpts := wal.Options{SegmentSize: opts.WALSegmentSize, SyncInterval: opts.WALSyncInterval, Logger: db.logger.With("component", "wal"), Registerer: opts.Registerer}
	sampleOpts := walOpts
	sampleOpts.FlushDelay = max(opts.BufferedDelay, 0)
	if db.head.wal, err = wal.Open(filepath.Join(dir, walDir), sampleOpts); err != nil {
		return nil, fmt.Errorf("open write-ahead log: %w", err)
	}
	if n := len(db.head.parts); n > 0 {
		if err := db.head.wal.Truncate(db.head.parts[n-1].walSeg); err != nil {
			return nil, fmt.Errorf("truncate write-ahead log: %w", err)
		}
	}
	walOpts.MetricsPrefix = "argus_tsdb_series_log_"
	walOpts.Logger = db.logger.With("component", "series_log")
	if db.head.seriesLog, err = wal.Open(filepath.Join(dir, seriesDir), walOpts); err != nil {
		return nil, fmt.Errorf("open series log: %w", err)
	}
	db.head.lastFlushMaxT.Store(db.head.minMax.max.Load())
	ok = true
	if opts.noBackground {
		close(db.done)
	} else {
		go db.run()
	}
	return db, nil
}

func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", dir, ErrLocked)
	}
	return f, nil
}

// loadBlocks opens every block; a block that does not open is moved aside with
// an error in the log, and blocks superseded by a merge are deleted.
func (db *DB) loadBlocks() error {
	dirs, err := listBlockDirs(filepath.Join(db.dir, blocksDir), true)
	if err != nil {
		return err
	}
	var blocks []*Block
	for _, d := range dirs {
		b, err := OpenBlock(d)
		if err != nil {
			db.logger.Error("Block unreadable, moving it aside", "dir", d, "err", err)
			os.Rename(d, d+".corrupt")
			continue
		}
		blocks = append(blocks, b)
	}
	superseded := map[string]bool{}
	for _, b := range blocks {
		for _, s := range b.meta.Compaction.Sources {
			if s != b.meta.ULID {
				superseded[s] = true
			}
		}
	}
	for _, b := range blocks {
		if superseded[b.meta.ULID] {
			db.logger.Info("Deleting block superseded by a merge", "block", b.meta.ULID)
			b.markDeleted()
			continue
		}
		db.blocks = append(db.blocks, b)
	}
	sortBlocks(db.blocks)
	return nil
}

func sortBlocks(bs []*Block) {
	slices.SortFunc(bs, func(a, b *Block) int {
		if a.meta.MinTime != b.meta.MinTime {
			return cmpI64(a.meta.MinTime, b.meta.MinTime)
		}
		return cmpI64(a.meta.MaxTime, b.meta.MaxTime)
	})
}

func cmpI64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// SetRetention changes the retention limits (on config reload); they apply at
// the next compaction round.
func (db *DB) SetRetention(retention time.Duration, maxBytes int64) {
	if retention <= 0 {
		retention = db.opts.withDefaults().Retention
	}
	db.retention.Store(int64(retention))
	db.maxBytes.Store(maxBytes)
}

// reloadBlocks opens block directories that appeared since the last look,
// such as blocks written by `argus tsdb import` while argus runs.
func (db *DB) reloadBlocks() error {
	dirs, err := listBlockDirs(filepath.Join(db.dir, blocksDir), false)
	if err != nil {
		return err
	}
	known := map[string]bool{}
	for _, b := range db.Blocks() {
		known[b.dir] = true
	}
	for _, d := range dirs {
		if known[d] {
			continue
		}
		if err := db.addBlock(d); err != nil {
			db.logger.Error("New block unreadable, ignoring it", "dir", d, "err", err)
			continue
		}
		db.logger.Info("Loaded new block", "dir", d)
	}
	return nil
}

// Blocks returns the open blocks sorted by time.
func (db *DB) Blocks() []*Block {
	db.blocksMu.RLock()
	defer db.blocksMu.RUnlock()
	return slices.Clone(db.blocks)
}

// Dir returns the data directory.
func (db *DB) Dir() string { return db.dir }

// Appender returns an appender to the head.
func (db *DB) Appender() *Appender { return db.head.Appender() }

// BufferedAppender returns an appender for data no client waits on, such as
// scraped samples: its Commit may return before the samples are written to
// the write-ahead log. They are written within Options.BufferedDelay, with
// the commits of other buffered appenders in one system call (a commit of
// an ordinary appender writes them at once, before its own), so a crash of
// the process can lose the samples committed through buffered appenders in
// the last BufferedDelay. They are visible to queries when Commit returns,
// and a flush writes them before it cuts the head. The fsync policy is the
// same as for other commits.
func (db *DB) BufferedAppender() *Appender { return db.head.BufferedAppender() }

// Querier returns a querier over [mint, maxt] (inclusive, milliseconds). It
// implements storage.Queryable.
func (db *DB) Querier(mint, maxt int64) (storage.Querier, error) {
	// The head first, then the blocks: a block cut in between then shows up
	// twice (the merge de-duplicates) instead of not at all.
	q := db.headQuerier(mint, maxt)
	db.blocksMu.RLock()
	for _, b := range db.blocks {
		if overlaps(b.meta.MinTime, b.lastT(), mint, maxt) {
			b.acquire()
			q.blocks = append(q.blocks, b)
		}
	}
	db.blocksMu.RUnlock()
	return q, nil
}

// headQuerier returns a querier over the head alone.
func (db *DB) headQuerier(mint, maxt int64) *querier {
	q := &querier{mint: mint, maxt: maxt, head: db.head}
	h := db.head
	h.partsMu.RLock()
	q.headMinT = h.truncatedBefore.Load()
	for _, p := range h.parts {
		q.maxSeq = max(q.maxSeq, p.seq)
		if pmin, pmax := p.bounds(); overlaps(pmin, pmax, mint, maxt) {
			p.acquire()
			q.parts = append(q.parts, p)
		}
	}
	h.partsMu.RUnlock()
	return q
}

// StartTime returns the oldest sample time in the database.
func (db *DB) StartTime() (int64, error) {
	db.blocksMu.RLock()
	defer db.blocksMu.RUnlock()
	if len(db.blocks) > 0 {
		return db.blocks[0].meta.MinTime, nil
	}
	if t := db.head.minMax.min.Load(); t != math.MaxInt64 {
		return t, nil
	}
	return math.MaxInt64, nil
}

// Head returns the head, for statistics.
func (db *DB) Head() *Head { return db.head }

// run is the background loop. It owns all flushing, compaction and retention.
// A flush is due when FlushInterval has passed on the wall clock or in sample
// time since the last one, so a backlog ingested quickly (a remote-write
// catch-up) is cut into parts as it would have been in real time.
func (db *DB) run() {
	defer close(db.done)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	compact := time.NewTicker(time.Minute)
	defer compact.Stop()
	for {
		select {
		case <-db.stop:
			return
		case <-tick.C:
			if !db.head.flushDue(time.Now()) {
				continue
			}
			if err := db.Flush(); err != nil {
				db.logger.Error("Head flush failed; the write-ahead log keeps the samples", "err", err)
			}
			if db.head.blockDue() {
				if err := db.Compact(); err != nil {
					db.logger.Error("Compaction failed", "err", err)
				}
			}
		case <-compact.C:
			if err := db.Compact(); err != nil {
				db.logger.Error("Compaction failed", "err", err)
			}
		}
	}
}

// Flush cuts the open chunks into a head part now.
func (db *DB) Flush() error {
	db.compactMu.Lock()
	defer db.compactMu.Unlock()
	return db.head.flush(db.dir)
}

// Close stops the background loop, flushes the head so the next start replays
// nothing, and closes every file.
// Queriers must be closed first: their blocks and parts are unmapped. A second
// Close returns the result of the first.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		close(db.stop)
		<-db.done
		var errs []error
		db.compactMu.Lock()
		if err := db.head.flush(db.dir); err != nil {
			errs = append(errs, fmt.Errorf("final flush: %w", err))
		}
		db.compactMu.Unlock()
		errs = append(errs, db.closeFiles())
		db.metrics.unregister()
		db.closeErr = errors.Join(errs...)
	})
	return db.closeErr
}

func (db *DB) closeFiles() error {
	var errs []error
	if db.head != nil {
		if db.head.wal != nil {
			errs = append(errs, db.head.wal.Close())
		}
		if db.head.seriesLog != nil {
			errs = append(errs, db.head.seriesLog.Close())
		}
		for _, p := range db.head.parts {
			if p.file != nil {
				errs = append(errs, p.file.close())
			}
		}
	}
	for _, b := range db.blocks {
		errs = append(errs, b.close())
	}
	if db.lock != nil {
		errs = append(errs, db.lock.Close())
	}
	return errors.Join(errs...)
}
