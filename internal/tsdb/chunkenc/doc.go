// Package chunkenc holds the sample codecs of the storage engine: pure
// functions from samples to bytes and back, with no I/O.
//
// Head chunks (XORAppender, XORIterator) take one (timestamp, value) sample
// at a time in a Gorilla-style bit stream, for the in-memory head, where
// appends must be cheap and the per-series state small.
//
// Block chunks (Encode, Decode) are for immutable blocks, where size
// matters most. Values become decimal integers (EncDecimal), or stay XOR
// coded when they are not decimal friendly (EncXOR); timestamps and the
// integers are delta coded and bit-packed around a frame of reference;
// zstd is applied when it still saves a fifth. The first byte names the
// encoding; values are reserved for native histograms. The measurements
// behind these choices are in chunkenc_bench_test.go.
//
// Functions are safe for concurrent use on distinct data; an appender or
// iterator belongs to one goroutine. Decoders never panic on malformed
// input and bound their allocations. Byte layouts are documented next to
// the code that writes them (xor.go, block.go, timestamps.go, decimal.go,
// intstream.go, zstd.go). This package imports no other internal package.
package chunkenc
