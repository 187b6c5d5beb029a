//go:build !linux

package apphost

import (
	"net"
	"sync/atomic"
)

// loopFront is the event-loop front end, on Linux only (see
// loop_linux.go); elsewhere every port is served by goroutines.
type loopFront struct {
	conns atomic.Int64
	hard  atomic.Bool
}

func (lf *loopFront) wake() {}

func (lf *loopFront) stop() {}

func (s *frontServer) serveLoops(net.Listener) (bool, error) { return false, nil }
