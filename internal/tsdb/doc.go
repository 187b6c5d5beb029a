// Package tsdb is argus's time-series storage engine.
//
// A DB is a head plus immutable blocks. Appends go to the head: each series has
// an in-memory open chunk (chunkenc.XORAppender), and a commit is written to the
// write-ahead log (package wal) before it returns, so an acknowledged sample
// survives kill -9; the log is fsynced every Options.WALSyncInterval (5s), which
// bounds what a power cut can lose. A BufferedAppender, for scraped samples that
// no client waits on, lets commits reach the log up to Options.BufferedDelay
// (1s) later, many in one write. Series definitions go to a separate series
// log, checkpointed when series are garbage collected.
//
// Every Options.FlushInterval (5m) the head cuts all open chunks into a head part:
// one immutable, checksummed file per flush (part.go) that holds the chunks and
// the newest sample of every series, after which the WAL segments it covers are
// deleted. So the head keeps only minutes of samples in memory, and a restart
// replays only minutes of log. When the head spans 1.5 block durations (2h
// blocks), its oldest block range is written as a block (block.go: chunks file
// with chunkenc block encoding, index in package index, meta.json); blocks are
// merged into ranges of 3^n block durations (compact.go), and deleted by time
// and size retention.
//
// Sample rules (as in Prometheus): a series accepts only samples newer than its
// newest one; an exact repeat of the newest sample is ignored; a different value
// at the same timestamp is storage.ErrDuplicateSampleForTimestamp; an older one is
// storage.ErrOutOfOrderSample; samples more than half a block duration older than
// the newest sample in the head, or older than the last block cut, are
// storage.ErrOutOfBounds. Every rejection is counted in
// argus_tsdb_samples_rejected_total{reason}.
//
// Every on-disk change is atomic: files and block directories are written under a
// temporary name, fsynced and renamed. A damaged WAL tail is cut; damage elsewhere
// (WAL pages, parts, blocks) is reported and skipped, and Open never fails on it.
//
// Reads go through the upstream storage.Querier interface (DB.Querier), so the
// upstream PromQL engine and argus's own can both run on it. Only the interface
// and value types of upstream tsdb/chunkenc are used, never its codecs.
//
// Concurrency: all DB methods are safe for concurrent use; an Appender is used by
// one goroutine. Commits are serialised (commitMu) so the WAL order is the apply
// order. Background work (flush, compaction, retention) runs in one goroutine
// owned by the DB and stopped by Close.
//
// Imports: internal/tsdb/{chunkenc,diskio,index,wal}.
package tsdb
