// Package diskio holds the storage engine's disk primitives: read-only memory
// mappings of immutable files, directory fsync, and the atomic publication of a
// directory or file (write to a temporary name, fsync, rename, fsync the parent),
// so that a crash at any point leaves either the old state or the new one.
//
// It imports no other argus package.
package diskio
