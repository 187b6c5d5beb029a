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
type rawSock struct {
	conn net.Conn
	rc   syscall.RawConn
}

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
	return &rawSock{conn: conn, rc: rc}
}

func (s *rawSock) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	var n int
	var errno syscall.Errno
	err := s.rc.Read(func(fd uintptr) bool {
		n, errno = rawIO(syscall.SYS_READ, fd, p)
		return errno != syscall.EAGAIN
	})
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

func (s *rawSock) Write(p []byte) (int, error) {
	written := 0
	var errno syscall.Errno
	err := s.rc.Write(func(fd uintptr) bool {
		for written < len(p) {
			var n int
			n, errno = rawIO(syscall.SYS_WRITE, fd, p[written:])
			if errno != 0 {
				return errno != syscall.EAGAIN
			}
			written += n
		}
		return true
	})
	if err != nil {
		return written, s.opError("write", err)
	}
	if errno != 0 {
		return written, s.opError("write", os.NewSyscallError("write", errno))
	}
	return written, nil
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
