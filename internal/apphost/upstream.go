package apphost

import (
	"bufio"
	"io"
	"net"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/argus-mon/argus/internal/rawsock"
)

// The fast path's connections to workers (see forward).
const (
	// maxIdlePerWorker bounds the kept-alive connections to one worker
	// that wait for a request, as http.Transport's MaxIdleConnsPerHost
	// did: past it, a finished request closes its connection.
	maxIdlePerWorker = 64
	// idleConnTimeout is how long an unused connection is kept, so that
	// a burst of connections does not hold descriptors for ever.
	idleConnTimeout = 90 * time.Second
	// connBufferSize is the size of a connection's read and write
	// buffers; a typical request or response head fits in one.
	connBufferSize = 4 << 10
)

// upstreamConn is one HTTP/1.1 connection to a worker, used by one request
// at a time: whoever took it from idleConns or dialed it owns it until it
// puts it back or closes it.
type upstreamConn struct {
	conn   net.Conn
	rw     io.ReadWriter // conn's socket (package rawsock)
	br     *bufio.Reader
	bw     *bufio.Writer
	reused bool // it served a request before this one
	// dl is the deadline on conn: a direct request's request timeout,
	// left for the next request, which may have the same one.
	dl      lazyDeadline
	idleAt  time.Time        // when it was last put back
	limited io.LimitedReader // the body being read, when it has a length

	// Scratch of the response head parser, kept across requests so that
	// reading a head allocates only its strings.
	head   []byte
	fields []headerField

	// alive's peek, made once: the raw connection and the function handed
	// to it (see alive), and the answer of the last peek.
	rc      syscall.RawConn
	peekFn  func(fd uintptr) bool
	peeked  syscall.Errno
	peekBuf [1]byte
}

func newUpstreamConn(c net.Conn) *upstreamConn {
	// The socket is read and written without the scheduler's hooks
	// (package rawsock).
	rw := rawsock.New(c)
	u := &upstreamConn{conn: c, rw: rw, dl: lazyDeadline{known: true}, br: bufio.NewReaderSize(rw, connBufferSize), bw: bufio.NewWriterSize(rw, connBufferSize)}
	if sc, ok := c.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			u.rc = rc
			u.peekFn = u.peek
		}
	}
	return u
}

// alive reports whether the worker has not closed the idle connection (or
// sent something unasked), with a non-blocking peek: one system call.
func (c *upstreamConn) alive() bool {
	if c.rc == nil {
		return true
	}
	c.peeked = 0
	err := c.rc.Read(c.peekFn)
	// Nothing to read is the only good answer: a read of 0 bytes is the
	// worker's close, and bytes are a response nobody asked for.
	return err == nil && c.peeked == syscall.EAGAIN
}

// peek is alive's step: a raw call, which never blocks, so the scheduler
// need not know (see package rawsock).
func (c *upstreamConn) peek(fd uintptr) bool {
	_, _, c.peeked = syscall.RawSyscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&c.peekBuf[0])), 1,
		syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
	return true // never wait for the descriptor to become readable
}

// idleConns are a worker's kept-alive connections waiting for a request,
// the most recently used last. The worker's reap closes them.
type idleConns struct {
	mu     sync.Mutex
	conns  []*upstreamConn
	closed bool
}

// get returns an idle connection, or nil if there is none young enough
// at now.
func (ic *idleConns) get(now time.Time) *upstreamConn {
	ic.mu.Lock()
	n := len(ic.conns)
	if n == 0 {
		ic.mu.Unlock()
		return nil
	}
	c := ic.conns[n-1]
	if now.Sub(c.idleAt) < idleConnTimeout {
		ic.conns[n-1] = nil
		ic.conns = ic.conns[:n-1]
		ic.mu.Unlock()
		return c
	}
	// The most recently used is too old, so all are.
	stale := ic.conns
	ic.conns = nil
	ic.mu.Unlock()
	for _, c := range stale {
		c.conn.Close()
	}
	return nil
}

// put keeps c for another request, or closes it if there are enough idle
// connections or the worker is gone.
func (ic *idleConns) put(c *upstreamConn) {
	c.reused = true
	c.idleAt = time.Now()
	ic.mu.Lock()
	if ic.closed || len(ic.conns) >= maxIdlePerWorker {
		ic.mu.Unlock()
		c.conn.Close()
		return
	}
	// The oldest are at the front: after a burst, steady traffic reuses
	// only the newest, and those below it would otherwise wait for the
	// worker's end (in CLOSE_WAIT, once the worker has dropped them).
	var stale []*upstreamConn
	for len(ic.conns) > 0 && c.idleAt.Sub(ic.conns[0].idleAt) >= idleConnTimeout {
		stale = append(stale, ic.conns[0])
		ic.conns[0] = nil
		ic.conns = ic.conns[1:]
	}
	ic.conns = append(ic.conns, c)
	ic.mu.Unlock()
	for _, s := range stale {
		s.conn.Close()
	}
}

// close closes the idle connections and any put back later.
func (ic *idleConns) close() {
	ic.mu.Lock()
	conns := ic.conns
	ic.conns, ic.closed = nil, true
	ic.mu.Unlock()
	for _, c := range conns {
		c.conn.Close()
	}
}
