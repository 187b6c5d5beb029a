//go:build !linux || race

package scrape

import (
	"io"
	"net"
)

// newSock returns the reader and writer a direct client uses for conn: the
// connection itself (see sock_linux.go for why Linux differs).
func newSock(conn net.Conn) io.ReadWriter { return conn }
