//go:build !race

package promql

// raceEnabled is set when tests run under the race detector, which slows
// evaluation several times: the longest tests then run a sample of their cases.
const raceEnabled = false
