//go:build linux && !race

package rawsock

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"unsafe"
)

// rawSock reads and writes a connection's non-blocking socket with raw
// system calls, waiting through the connection's poller (and so its
// deadlines) only when the socket is not ready. See the package doc for why.
//
// One Read and one Write may run at once, as on a net.Conn, but not two
// Reads or two Writes: each keeps the state of its call in the socket, so
// that the functions handed to the poller, made once, allocate nothing per
// call (a closure over the call's variables would be garbage at every
// read and write).
type rawSock struct {
	conn net.Conn
	rc   syscall.RawConn

	readFn   func(fd uintptr) bool
	rbuf     []byte
	rn       int
	rerrno   syscall.Errno
	writeFn  func(fd uintptr) bool
	wbuf     []byte
	wwritten int
	werrno   syscall.Errno

	// A deferred write (see DeferWrite): its bytes, how many are sent,
	// and how sending them ended.
	deferNext   bool
	pending     []byte
	sent        int
	perrno      syscall.Errno
	writeReadFn func(fd uintptr) bool
}

// DeferWrite makes the next Write keep its bytes instead of sending them,
// and the next Read send them from inside its wait for the socket. A
// Read that follows a Write tries a read first, which finds nothing when
// what it waits for is the answer to what was just written: a wasted
// system call on every exchange. Sent from inside the wait, the bytes go
// out after the poller's readiness for the socket was reset, so the
// answer cannot have come before it, and the Read waits for it at once.
// A Write while bytes are kept sends them first; an error sending them is
// the Read's, as a *net.OpError whose Op is "write". Only for exchanges
// where each Write is followed by a Read (the app host's requests to its
// workers).
func (s *rawSock) DeferWrite() { s.deferNext = true }

// New returns the reader and writer to use for conn: raw system calls on
// its socket when it has one.
func New(conn net.Conn) io.ReadWriter {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return conn
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return conn
	}
	s := &rawSock{conn: conn, rc: rc}
	s.readFn, s.writeFn, s.writeReadFn = s.read, s.write, s.writeRead
	return s
}

func (s *rawSock) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	s.rbuf, s.rn, s.rerrno = p, 0, 0
	fn := s.readFn
	if len(s.pending) > 0 {
		s.sent, s.perrno = 0, 0
		fn = s.writeReadFn
	}
	err := s.rc.Read(fn)
	if len(s.pending) > 0 {
		rest, errno := s.pending[s.sent:], s.perrno
		s.pending = s.pending[:0]
		switch {
		case err != nil:
		case errno == syscall.EAGAIN:
			// The socket's buffer is full: the rest goes the usual
			// way, and so does the read.
			if _, err := s.Write(rest); err != nil {
				s.rbuf = nil
				return 0, err
			}
			err = s.rc.Read(s.readFn)
		case errno != 0:
			s.rbuf = nil
			return 0, s.opError("write", os.NewSyscallError("write", errno))
		}
	}
	n, errno := s.rn, s.rerrno
	s.rbuf = nil
	if err != nil {
		return 0, s.opError("read", err)
	}
	if errno != 0 {
		return 0, s.opError("read", os.NewSyscallError("read", errno))
	}
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}

// read is Read's step, called by the poller until it returns true.
func (s *rawSock) read(fd uintptr) bool {
	s.rn, s.rerrno = rawIO(syscall.SYS_READ, fd, s.rbuf)
	return s.rerrno != syscall.EAGAIN
}

// writeRead is Read's step with a deferred write: the first call sends
// the kept bytes and waits for the answer without reading (see
// DeferWrite); a write that fails or would block ends the call, for Read
// to finish.
func (s *rawSock) writeRead(fd uintptr) bool {
	if s.sent < len(s.pending) {
		for s.sent < len(s.pending) {
			n, errno := rawIO(syscall.SYS_WRITE, fd, s.pending[s.sent:])
			if errno != 0 {
				s.perrno = errno
				return true
			}
			s.sent += n
		}
		return false
	}
	return s.read(fd)
}

func (s *rawSock) Write(p []byte) (int, error) {
	if s.deferNext {
		s.deferNext = false
		s.pending = append(s.pending[:0], p...)
		return len(p), nil
	}
	if len(s.pending) > 0 {
		kept := s.pending
		s.pending = s.pending[:0]
		if _, err := s.Write(kept); err != nil {
			return 0, err
		}
	}
	s.wbuf, s.wwritten, s.werrno = p, 0, 0
	err := s.rc.Write(s.writeFn)
	written, errno := s.wwritten, s.werrno
	s.wbuf = nil
	if err != nil {
		return written, s.opError("write", err)
	}
	if errno != 0 {
		return written, s.opError("write", os.NewSyscallError("write", errno))
	}
	return written, nil
}

// write is Write's step, called by the poller until it returns true.
func (s *rawSock) write(fd uintptr) bool {
	for s.wwritten < len(s.wbuf) {
		n, errno := rawIO(syscall.SYS_WRITE, fd, s.wbuf[s.wwritten:])
		if errno != 0 {
			s.werrno = errno
			return errno != syscall.EAGAIN
		}
		s.wwritten += n
	}
	s.werrno = 0
	return true
}

// opError words an error as net.Conn's Read and Write do (the raw
// connection's own says "raw-read"), so that errors.Is finds
// os.ErrDeadlineExceeded and net.ErrClosed as before.
func (s *rawSock) opError(op string, err error) error {
	var oe *net.OpError
	if errors.As(err, &oe) {
		err = oe.Err
	}
	return &net.OpError{Op: op, Net: s.conn.LocalAddr().Network(), Source: s.conn.LocalAddr(), Addr: s.conn.RemoteAddr(), Err: err}
}

// rawIO does one read or write system call on fd, retrying when
// interrupted. p is not empty.
func rawIO(trap uintptr, fd uintptr, p []byte) (int, syscall.Errno) {
	for {
		n, _, errno := syscall.RawSyscall(trap, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
		if errno != syscall.EINTR {
			return int(n), errno
		}
	}
}
