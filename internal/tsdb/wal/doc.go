// Package wal implements the storage engine's write-ahead logs (the sample
// log and, in another directory, the series log): opaque records appended
// to numbered segment files and replayed after a restart. Its main types
// are WAL (the writer) and the function Replay (the reader).
//
// # Format
//
// A directory holds segment files named by their index as 8 zero-padded
// digits (00000000, 00000001, ...), each at most Options.SegmentSize bytes.
// A segment is a sequence of 32 KiB pages (PageSize) and may end anywhere
// after a complete record. A record is stored as fragments that never cross
// a page boundary, and never spans segments. A fragment is a 7-byte header
// and its payload:
//
//	type    1 byte   1 full, 2 first, 3 middle, 4 last
//	length  2 bytes  payload length, little-endian
//	crc     4 bytes  CRC32-Castagnoli of type, length and payload, little-endian
//
// A record that fits in the rest of its page is one full fragment; a longer
// one is first, middle..., last, each filling its page. When fewer than 7
// bytes remain in a page the writer zero-fills them, so a reader can
// resynchronise at the next page after damage. Unlike LevelDB's log, the
// checksum also covers type and length: otherwise one flipped type bit can
// turn a middle fragment into a wrong but well-formed record.
//
// # Sync policy and failures
//
// Log returns once the call's bytes reached the operating system, in one
// write unless the call spans a rotation, so killing the process loses
// nothing. LogBuffered, for data no client waits on, may hold its records
// in memory for up to Options.FlushDelay to write those of many calls in
// one system call, so killing the process loses what it held; held records
// keep their order with all others. For machine crashes a goroutine owned by the WAL fsyncs the
// current segment every Options.SyncInterval (default 5s) if it has
// unsynced data; a negative SyncInterval fsyncs inside every Log instead.
// Rotation, NextSegment and Close fsync the segment they close; the
// directory is fsynced after segments are created or deleted. A failed write
// is cut back to the last complete record; if that fails, or an fsync
// fails, the segment is abandoned and the next Log starts a new one. Open
// never appends to an existing segment, whose tail may be torn. Replay cuts
// a torn tail off the last segment holding data; other damage is skipped to
// the next page, reported in ReplayStats and logged.
//
// # Concurrency
//
// WAL methods are safe for concurrent use; background fsyncs do not block
// Log. The function Replay must not run on a directory a WAL is writing to;
// (*WAL).Replay may, as it reads only segments no longer written. Replay
// calls fn sequentially on the calling goroutine.
//
// Package wal imports no other internal package.
package wal
