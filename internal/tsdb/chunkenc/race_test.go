//go:build race

package chunkenc

// raceEnabled skips allocation budgets: under the race detector sync.Pool
// drops items on purpose, so pooled buffers get reallocated.
const raceEnabled = true
