//go:build !race

package chunkenc

// raceEnabled: see race_test.go.
const raceEnabled = false
