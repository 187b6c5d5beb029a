//go:build linux

package apphost

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/argus-mon/argus/internal/config"
)

// The event-loop front end of an app's own plain-HTTP port: loops (one
// per two processors, see loopCount), each a goroutine waiting in epoll_wait for all of its
// connections, clients' and workers', and serving the plain requests
// itself (see serveRequest): the request goes to a worker, and the
// response back, without a goroutine per connection.
//
// Why: with a goroutine per connection, argus took each request and
// each answer as it came, one at a time (the scheduler polls before its
// threads sleep), and handed wrk and the app their bytes one by one,
// each a wake-up they paid for. A loop finds several events per wake-up
// and holds its writes to the end of it (see flush), as nginx does.
//
// A connection whose request the loop does not take (HTTP/1.0, a body
// still arriving, an upgrade, no worker ready at once, anything
// parseRequestHead hands off) goes, with the bytes read, to the goroutine
// front server (frontServer.adopt), which serves it from then on.

const (
	loopReadBuffer = 4 << 10 // a client's read buffer, as the goroutine server's; it grows for a body
	// loopMaxRead bounds what a loop reads of a client ahead of serving
	// it: more than a request it takes (a head of maxFastHead and a body
	// of maxFastBody) at most.
	loopMaxRead  = 128 << 10
	upReadBuffer = 16 << 10 // a worker connection's
	// loopMaxPending is how much of a response a loop holds for a slow
	// client before it stops reading the worker.
	loopMaxPending = 256 << 10
	// loopMaxWait bounds the loop's sleep, so that it notices a closed
	// listener.
	loopMaxWait = time.Second
	// loopMaxEvents is how many events one wake-up takes.
	loopMaxEvents = 256
)

// Tags of the loop's own descriptors in the epoll data. A connection's
// is its generation, from tagFirstConn on: an event queued for a
// descriptor that was closed, and whose number a new connection took
// since, is told from the new one's by it.
const (
	tagListener  = 1
	tagWake      = 2
	tagFirstConn = 3
)

// loopFront is the event loops of one front server's port.
type loopFront struct {
	s     *frontServer
	a     *app
	rc    syscall.RawConn // the listener's
	loops []*evLoop
	conns atomic.Int64  // client connections held by the loops
	hard  atomic.Bool   // Close: drop every connection at once
	done  chan struct{} // closed once every loop has exited
}

// serveLoops serves ln with event loops if it can: a TCP listener of an
// app's own port. It reports false, having done nothing, otherwise.
func (s *frontServer) serveLoops(ln net.Listener) (bool, error) {
	a, ok := s.handler.(*app)
	tl, ok2 := ln.(*net.TCPListener)
	if !ok || !ok2 {
		return false, nil
	}
	rc, err := tl.SyscallConn()
	if err != nil {
		return false, nil
	}
	lf := &loopFront{s: s, a: a, rc: rc, done: make(chan struct{})}
	for range loopCount(runtime.GOMAXPROCS(0)) {
		l, err := newEvLoop(lf)
		if err != nil {
			s.logger.Warn("Cannot start an event loop; serving with goroutines", "err", err)
			for _, l := range lf.loops {
				l.p.close()
			}
			return false, nil
		}
		lf.loops = append(lf.loops, l)
	}
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		for _, l := range lf.loops {
			l.p.close()
		}
		return true, http.ErrServerClosed
	}
	s.loops = lf
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, l := range lf.loops {
		wg.Go(l.run)
	}
	wg.Wait()
	close(lf.done)
	return true, http.ErrServerClosed
}

// stop closes every connection of the loops and waits for them to exit.
func (lf *loopFront) stop() {
	lf.hard.Store(true)
	lf.wake()
	<-lf.done
}

// loopCount is how many loops serve a port on procs processors: half,
// and at least one. The app's workers behind the port need the rest: a
// worker spends more CPU on a request than the proxy does (in
// tools/appbench, 22 µs against 16), and a loop that is not saturated
// finds more events per wake-up, which is what it is for. On two cores,
// one loop carried 1.08 of nginx's throughput with 0.81 of its CPU per
// request, against 1.06 and 0.96 for two loops, in the same nine rounds.
func loopCount(procs int) int {
	return max(1, procs/2)
}

// wake wakes every loop, to look at the server's state.
func (lf *loopFront) wake() {
	for _, l := range lf.loops {
		l.p.wake()
	}
}

// evLoop is one event loop. Everything in it is its goroutine's alone.
type evLoop struct {
	f      *loopFront
	p      *poller
	events []unix.EpollEvent
	fds    []fdOwner // by descriptor
	nconns int
	listen bool      // the listener is registered
	retry  time.Time // when to register it again after an accept failed
	// flushes are the connections with writes held to the end of the
	// wake-up (see flush).
	flushes []*lconn
	upFlush []*upConn
	idle    map[*worker][]*upConn // kept-alive worker connections, the newest last
	// cooling are the worker connections that ended an exchange in the
	// last wake-up. They join idle once the next wake-up's events have
	// been looked at for them: bytes a worker sent after its response
	// (a length it got wrong), or its close, must not become the answer
	// to the next request, which may be another client's. forward peeks
	// at a connection before reusing it for the same reason; this costs
	// no system call.
	cooling []*upConn
	gen     int32     // the last connection's generation (see tagFirstConn)
	now     time.Time // of the wake-up
	next    time.Time // when the deadlines are looked at next
	aw      appendWriter
	bw      *bufio.Writer // writeRequest's, into aw
}

// fdOwner is what a descriptor of the loop's is: a client connection or
// a worker connection.
type fdOwner struct {
	c *lconn
	u *upConn
}

// lconn is a client connection in a loop.
type lconn struct {
	fd     int
	gen    int32
	rbuf   []byte
	r0, r1 int
	out    []byte // held for the client; out[wo:] is not written yet
	wo     int
	queued bool // in flushes

	head    reqHead
	scratch reqScratch
	base    *http.Request // its requests' remote address

	first    bool      // no request served yet
	partial  bool      // part of a head is read, or of a body (waitBody)
	waitBody bool      // a head is read, its body not all yet
	eof      bool      // the client closed its side
	rdhup    bool      // the client's close was seen
	pendIn   bool      // it became readable while busy
	close    bool      // closing once the response is written
	deadline time.Time // zero for none

	// The request in flight.
	busy      bool
	req       *http.Request
	pool      *pool
	wk        *worker
	up        *upConn
	start     time.Time
	reqOut    []byte // the request as sent, to send again (see retry)
	reqBytes  int64
	retried   bool
	answered  bool // the final response head was read
	n1xx      int
	code      int
	resp      respHead
	remaining int64 // of a body with a length
	chunks    chunkScanner
	respBytes int64
}

// upConn is a connection to a worker in a loop.
type upConn struct {
	fd     int
	gen    int32
	wk     *worker
	owner  *lconn // nil when idle or cooling
	buf    []byte
	b0, b1 int
	out    []byte
	wo     int
	queued bool // in upFlush

	connecting bool
	reused     bool
	paused     bool // the client has too much to read: not read now
	rdhup      bool
	drained    bool // the last read emptied the socket
	cooling    bool // in cooling
	stray      bool // the worker sent something, or closed, while it cooled
	idleAt     time.Time
	hc         upstreamConn // the head's scratch (head and fields only)
}

// appendWriter appends what is written to it to b.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

func newEvLoop(lf *loopFront) (*evLoop, error) {
	p, err := newPoller()
	if err != nil {
		return nil, err
	}
	l := &evLoop{f: lf, p: p, events: make([]unix.EpollEvent, loopMaxEvents), idle: map[*worker][]*upConn{}}
	l.bw = bufio.NewWriterSize(&l.aw, connBufferSize)
	if err := l.addListener(); err != nil {
		p.close()
		return nil, err
	}
	return l, nil
}

// addListener registers the listener, exclusively: a new connection wakes
// one loop, not all.
func (l *evLoop) addListener() error {
	var err error
	cerr := l.f.rc.Control(func(fd uintptr) {
		err = l.p.addTagged(int(fd), unix.EPOLLIN|unix.EPOLLEXCLUSIVE, tagListener)
	})
	if cerr != nil {
		return cerr
	}
	if err == nil {
		l.listen = true
	}
	return err
}

func (l *evLoop) run() {
	defer l.exit()
	for {
		msec := int(loopMaxWait / time.Millisecond)
		if !l.next.IsZero() {
			wait := (l.next.Sub(time.Now()) + time.Millisecond - 1) / time.Millisecond
			msec = min(msec, max(int(wait), 0))
		}
		n, err := l.p.wait(l.events, msec)
		if err != nil {
			l.f.s.logger.Error("Event loop failed", "err", err)
			l.f.hard.Store(true)
			return
		}
		l.now = time.Now()
		// First the worker connections out of an exchange: the idle
		// ones and those cooling. The cooling ones join the idle once
		// their events are seen, unless the batch was full and some
		// may have been left for the next.
		for _, ev := range l.events[:n] {
			if ev.Pad < tagFirstConn {
				continue
			}
			if u := l.fds[ev.Fd].u; u != nil && u.gen == ev.Pad && u.owner == nil {
				l.upEvent(u, ev.Events)
			}
		}
		if n < len(l.events) {
			l.warmUp()
		}
		woken := false
		for _, ev := range l.events[:n] {
			switch ev.Pad {
			case tagWake:
				l.p.drain()
				woken = true
			case tagListener:
				l.accept()
			default:
				o := l.fds[ev.Fd]
				if c := o.c; c != nil && c.gen == ev.Pad {
					l.clientEvent(c, ev.Events)
				} else if u := o.u; u != nil && u.gen == ev.Pad && u.owner != nil {
					l.upEvent(u, ev.Events)
				}
			}
		}
		l.flush()
		if woken || n == 0 || !l.now.Before(l.next) {
			l.scan()
		}
		if l.f.hard.Load() {
			return
		}
		if l.f.s.closing.Load() {
			l.drainForShutdown()
			if l.nconns == 0 {
				return
			}
		}
	}
}

// nextGen returns the generation of a new connection.
func (l *evLoop) nextGen() int32 {
	if l.gen++; l.gen < tagFirstConn {
		l.gen = tagFirstConn
	}
	return l.gen
}

// warmUp makes the cooling worker connections idle, or closes those the
// worker sent something on or closed.
func (l *evLoop) warmUp() {
	for i, u := range l.cooling {
		l.cooling[i] = nil
		u.cooling = false
		if u.fd < 0 {
			continue
		}
		if u.stray || u.rdhup {
			u.wk.loopIdle.Add(-1)
			l.closeUp(u)
			continue
		}
		l.putIdle(u)
	}
	l.cooling = l.cooling[:0]
}

// exit closes everything the loop holds.
func (l *evLoop) exit() {
	for _, o := range l.fds {
		if o.c != nil {
			l.closeClient(o.c)
		}
	}
	for wk, conns := range l.idle {
		for _, u := range conns {
			l.closeUp(u)
		}
		delete(l.idle, wk)
		wk.loopIdle.Add(-int32(len(conns)))
	}
	for _, u := range l.cooling {
		u.wk.loopIdle.Add(-1)
		l.closeUp(u)
	}
	l.cooling = nil
	l.p.close()
}

// accept takes the new connections.
func (l *evLoop) accept() {
	for range 64 {
		var nfd int
		var sa unix.Sockaddr
		var aerr error
		if err := l.f.rc.Control(func(fd uintptr) {
			nfd, sa, aerr = unix.Accept4(int(fd), unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		}); err != nil {
			l.listen = false // closed: the kernel dropped it from epoll
			return
		}
		switch aerr {
		case nil:
		case unix.EAGAIN:
			return
		case unix.EINTR, unix.ECONNABORTED:
			continue
		default:
			// Out of descriptors, say: as net/http's server, a pause
			// and another try, not the end of the port. The listener
			// is dropped from epoll meanwhile, or it would wake the
			// loop at once, again and again.
			l.f.s.logger.Warn("Accept failed; retrying", "err", aerr, "delay", time.Second)
			l.f.rc.Control(func(fd uintptr) { l.p.del(int(fd)) })
			l.listen = false
			l.retry = l.now.Add(time.Second)
			l.noteDeadline(l.retry)
			return
		}
		l.newClient(nfd, sa)
	}
}

func (l *evLoop) newClient(fd int, sa unix.Sockaddr) {
	unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	c := &lconn{fd: fd, gen: l.nextGen(), rbuf: make([]byte, loopReadBuffer), first: true,
		base: &http.Request{RemoteAddr: sockaddrString(sa)}}
	if err := l.p.addTagged(fd, unix.EPOLLIN|unix.EPOLLOUT|unix.EPOLLRDHUP|unix.EPOLLET, c.gen); err != nil {
		unix.Close(fd)
		return
	}
	l.own(fd, fdOwner{c: c})
	l.nconns++
	l.f.conns.Add(1)
	l.setDeadline(c, l.f.s.headerTimeout)
}

func sockaddrString(sa unix.Sockaddr) string {
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port)).String()
	case *unix.SockaddrInet6:
		// An IPv4 client of a dual-stack port, as net.TCPAddr gives it.
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr).Unmap(), uint16(sa.Port)).String()
	}
	return ""
}

// own records what fd is.
func (l *evLoop) own(fd int, o fdOwner) {
	for fd >= len(l.fds) {
		l.fds = append(l.fds, make([]fdOwner, max(64, len(l.fds)))...)
	}
	l.fds[fd] = o
}

// setDeadline gives c a deadline timeout from now; zero for none.
func (l *evLoop) setDeadline(c *lconn, timeout time.Duration) {
	if timeout <= 0 {
		c.deadline = time.Time{}
		return
	}
	c.deadline = l.now.Add(timeout)
	l.noteDeadline(c.deadline)
}

// noteDeadline has the loop wake up by t.
func (l *evLoop) noteDeadline(t time.Time) {
	if l.next.IsZero() || t.Before(l.next) {
		l.next = t
	}
}

func (l *evLoop) clientEvent(c *lconn, ev uint32) {
	if ev&unix.EPOLLRDHUP != 0 {
		c.rdhup = true
	}
	if ev&unix.EPOLLOUT != 0 && c.wo < len(c.out) {
		if !l.writeClient(c) {
			return
		}
	}
	if ev&(unix.EPOLLERR|unix.EPOLLHUP) != 0 {
		l.closeClient(c)
		return
	}
	if c.busy {
		if c.rdhup && !c.answered {
			// As net/http's server: a client that closed its side
			// while waiting has gone away.
			l.closeClient(c)
			return
		}
		if ev&(unix.EPOLLIN|unix.EPOLLRDHUP) != 0 {
			c.pendIn = true // a pipelined request: read once this one is done
		}
		return
	}
	if ev&(unix.EPOLLIN|unix.EPOLLRDHUP) != 0 {
		l.readClient(c)
	}
}

// readClient reads what the client sent and serves it.
func (l *evLoop) readClient(c *lconn) {
	c.pendIn = false
	for {
		if c.r1 == len(c.rbuf) {
			switch {
			case c.r0 > 0:
				c.r1 = copy(c.rbuf, c.rbuf[c.r0:c.r1])
				c.r0 = 0
			case len(c.rbuf) >= loopMaxRead:
				// Requests enough for now (a client pipelining
				// many): the rest is read once they are served.
				c.pendIn = true
				l.serveNext(c)
				return
			default:
				c.rbuf = append(c.rbuf, make([]byte, len(c.rbuf))...)
			}
		}
		space := len(c.rbuf) - c.r1
		n, err := unix.Read(c.fd, c.rbuf[c.r1:])
		if n > 0 {
			c.r1 += n
			// A short read emptied the socket: more bytes make a new
			// edge. Unless the client closed: then the close is read
			// too, for it makes none.
			if n < space && !c.rdhup {
				break
			}
			continue
		}
		if err == nil {
			c.eof = true
			break
		}
		if err == unix.EAGAIN {
			break
		}
		if err == unix.EINTR {
			continue
		}
		l.closeClient(c)
		return
	}
	l.serveNext(c)
}

// serveNext serves the requests c has read, until one is in flight or
// more must be read.
func (l *evLoop) serveNext(c *lconn) {
	for !c.busy && c.fd >= 0 {
		if c.close {
			// After a response the client asked to be the last, or
			// the last at shutdown: pipelined requests are not
			// served.
			l.closeWhenWritten(c)
			return
		}
		if c.r0 == c.r1 {
			c.r0, c.r1 = 0, 0
			c.partial = false
			if c.eof || l.f.s.closing.Load() {
				l.closeWhenWritten(c)
				return
			}
			if c.first {
				l.setDeadline(c, l.f.s.headerTimeout)
			} else {
				l.setDeadline(c, l.f.s.idleTimeout)
			}
			return
		}
		switch parseRequestHead(c.rbuf[c.r0:c.r1], &c.head) {
		case headIncomplete:
			if c.eof {
				l.closeClient(c)
				return
			}
			if !c.partial {
				c.partial = true
				l.setDeadline(c, l.f.s.headerTimeout)
			}
			return
		case headHandOff:
			l.handOff(c)
			return
		}
		if h := &c.head; h.minor == 1 && c.r1-c.r0 < h.size+int(h.contentLength) {
			// The body comes after its head: many clients write
			// them apart. It has as long as a head has; a client
			// slower than that is handed over (see scan).
			if c.eof {
				l.closeClient(c)
				return
			}
			if !c.partial {
				c.partial = true
				l.setDeadline(c, l.f.s.headerTimeout)
			}
			c.waitBody = true
			return
		}
		c.partial, c.waitBody = false, false
		if !l.serveRequest(c) {
			l.handOff(c)
			return
		}
	}
}

// serveRequest starts the request whose head c.head holds, if the loop
// takes it: HTTP/1.1, its body all read, one forward would send, and a
// worker ready at once. It reports false, having taken nothing, if not.
func (l *evLoop) serveRequest(c *lconn) bool {
	h := &c.head
	end := c.r0 + h.size + int(h.contentLength)
	if h.minor != 1 || c.r1 < end {
		return false
	}
	a := l.f.a
	p := a.pool.Load()
	if limit := int64(p.spec.MaxBodySize); limit > 0 && h.contentLength > limit {
		return false
	}
	r := c.scratch.newRequest(c.base, string(c.rbuf[c.r0:c.r0+h.size]), h)
	if r == nil || !fastEligible(r) {
		return false
	}
	wk := p.tryPick()
	if wk == nil {
		return false
	}
	c.start = time.Now()
	a.series.inFlight.Inc()
	c.busy, c.req, c.pool, c.wk = true, r, p, wk
	c.reqBytes, c.retried, c.answered, c.n1xx, c.code, c.respBytes = h.contentLength, false, false, 0, 0, 0
	c.first = false
	c.close = c.close || h.close
	l.aw.b = c.reqOut[:0] // before: a long head is written out midway
	writeRequest(l.bw, r, wk.host, forwardedPrefix(r))
	l.bw.Flush()
	c.reqOut = append(l.aw.b, c.rbuf[c.r0+h.size:end]...)
	l.aw.b = nil
	c.r0 = end
	l.setDeadline(c, time.Duration(p.spec.RequestTimeout))
	l.send(c, false)
	return true
}

// send sends c's request on a kept-alive connection to its worker, or a
// new one (always, if fresh).
func (l *evLoop) send(c *lconn, fresh bool) {
	var u *upConn
	if !fresh {
		u = l.takeIdle(c.wk)
	}
	if u == nil {
		var err error
		if u, err = l.dial(c.wk); err != nil {
			l.failRequest(c, err)
			return
		}
	}
	u.owner, c.up = c, u
	u.b0, u.b1 = 0, 0
	u.out, u.wo = append(u.out[:0], c.reqOut...), 0
	if !u.connecting {
		l.queueUp(u)
	}
}

// takeIdle returns a kept-alive connection to wk, or nil.
func (l *evLoop) takeIdle(wk *worker) *upConn {
	conns := l.idle[wk]
	n := len(conns)
	if n == 0 {
		return nil
	}
	u := conns[n-1]
	if l.now.Sub(u.idleAt) >= idleConnTimeout {
		// The newest is too old, so all are.
		for _, u := range conns {
			l.closeUp(u)
		}
		delete(l.idle, wk)
		wk.loopIdle.Add(-int32(n))
		return nil
	}
	conns[n-1] = nil
	l.idle[wk] = conns[:n-1]
	wk.loopIdle.Add(-1)
	return u
}

// putIdle keeps u, cooled, for another request to its worker, or closes
// it. (loopIdle counted it when it began to cool.)
func (l *evLoop) putIdle(u *upConn) {
	u.owner, u.reused, u.idleAt, u.paused = nil, true, l.now, false
	conns := l.idle[u.wk]
	if len(conns) >= maxIdlePerWorker {
		u.wk.loopIdle.Add(-1)
		l.closeUp(u)
		return
	}
	l.idle[u.wk] = append(conns, u)
}

// dropIdle closes an idle connection the worker closed (or sent
// something on, unasked).
func (l *evLoop) dropIdle(u *upConn) {
	conns := l.idle[u.wk]
	for i, v := range conns {
		if v == u {
			conns = append(conns[:i], conns[i+1:]...)
			break
		}
	}
	if len(conns) == 0 {
		delete(l.idle, u.wk)
	} else {
		l.idle[u.wk] = conns
	}
	u.wk.loopIdle.Add(-1)
	l.closeUp(u)
}

// dial opens a connection to wk without waiting for it.
func (l *evLoop) dial(wk *worker) (*upConn, error) {
	fd, connecting, err := dialWorker(wk.network, wk.addr)
	if err != nil {
		return nil, err
	}
	u := &upConn{fd: fd, gen: l.nextGen(), wk: wk, connecting: connecting, buf: make([]byte, upReadBuffer)}
	if err := l.p.addTagged(fd, unix.EPOLLIN|unix.EPOLLOUT|unix.EPOLLRDHUP|unix.EPOLLET, u.gen); err != nil {
		unix.Close(fd)
		return nil, &net.OpError{Op: "dial", Net: wk.network, Err: err}
	}
	l.own(fd, fdOwner{u: u})
	return u, nil
}

// dialWorker starts a connection to a worker's address without blocking;
// connecting reports that it is under way (writable once made). Its
// errors are dial errors (see isDialError).
func dialWorker(network, addr string) (fd int, connecting bool, err error) {
	var sa unix.Sockaddr
	domain := unix.AF_UNIX
	if network == "unix" {
		sa = &unix.SockaddrUnix{Name: addr}
	} else {
		ap, perr := netip.ParseAddrPort(addr)
		if perr != nil {
			return -1, false, &net.OpError{Op: "dial", Net: network, Err: perr}
		}
		if ip := ap.Addr().Unmap(); ip.Is4() {
			domain = unix.AF_INET
			sa = &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ip.As4()}
		} else {
			domain = unix.AF_INET6
			sa = &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ip.As16()}
		}
	}
	fd, err = unix.Socket(domain, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, false, &net.OpError{Op: "dial", Net: network, Err: os.NewSyscallError("socket", err)}
	}
	if domain != unix.AF_UNIX {
		unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	}
	switch err = unix.Connect(fd, sa); err {
	case nil:
		return fd, false, nil
	case unix.EINPROGRESS:
		return fd, true, nil
	}
	unix.Close(fd)
	return -1, false, &net.OpError{Op: "dial", Net: network, Err: os.NewSyscallError("connect", err)}
}

func (l *evLoop) upEvent(u *upConn, ev uint32) {
	if ev&unix.EPOLLRDHUP != 0 {
		u.rdhup = true
	}
	c := u.owner
	if c == nil {
		// Idle or cooling: the worker closed it, or sent what nobody
		// asked for.
		if ev&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
			if u.cooling {
				u.stray = true
			} else {
				l.dropIdle(u)
			}
		}
		return
	}
	if u.connecting {
		if ev&(unix.EPOLLOUT|unix.EPOLLERR|unix.EPOLLHUP) == 0 {
			return
		}
		if errno, err := unix.GetsockoptInt(u.fd, unix.SOL_SOCKET, unix.SO_ERROR); err != nil || errno != 0 {
			if err == nil {
				err = syscall.Errno(errno)
			}
			l.upFailed(u, &net.OpError{Op: "dial", Net: u.wk.network, Err: os.NewSyscallError("connect", err)})
			return
		}
		u.connecting = false
		l.queueUp(u)
		return
	}
	if ev&unix.EPOLLOUT != 0 && u.wo < len(u.out) && !u.queued {
		if !l.writeUp(u) {
			return
		}
	}
	if ev&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		l.readUp(u)
	}
}

// queueUp holds u's write to the end of the wake-up.
func (l *evLoop) queueUp(u *upConn) {
	if !u.queued {
		u.queued = true
		l.upFlush = append(l.upFlush, u)
	}
}

// queueClient holds c's write to the end of the wake-up.
func (l *evLoop) queueClient(c *lconn) {
	if !c.queued && c.wo < len(c.out) {
		c.queued = true
		l.flushes = append(l.flushes, c)
	}
}

// flush does the writes held in the wake-up: the requests to workers
// first, then the responses, as many of both as the events brought.
// Holding them to the end sends each peer its bytes in one burst: wrk
// and the app then find several in one wake-up of theirs.
//
// A write can start another exchange (a paused worker read again, a
// pipelined request served), whose writes join the lists: they are
// written in the same flush.
func (l *evLoop) flush() {
	for len(l.upFlush) > 0 || len(l.flushes) > 0 {
		for i := 0; i < len(l.upFlush); i++ {
			u := l.upFlush[i]
			l.upFlush[i] = nil
			u.queued = false
			if u.fd >= 0 && u.owner != nil && !u.connecting {
				l.writeUp(u)
			}
		}
		l.upFlush = l.upFlush[:0]
		for i := 0; i < len(l.flushes); i++ {
			c := l.flushes[i]
			l.flushes[i] = nil
			c.queued = false
			if c.fd >= 0 {
				l.writeClient(c)
			}
		}
		l.flushes = l.flushes[:0]
	}
}

// writeUp writes what is left of u's request. It reports false if the
// exchange failed.
func (l *evLoop) writeUp(u *upConn) bool {
	for u.wo < len(u.out) {
		n, err := unix.Write(u.fd, u.out[u.wo:])
		if n > 0 {
			u.wo += n
			continue
		}
		switch err {
		case unix.EAGAIN:
			return true // EPOLLOUT comes
		case unix.EINTR:
			continue
		}
		l.upFailed(u, &noResponseError{fmt.Errorf("send request: %w", os.NewSyscallError("write", err))})
		return false
	}
	return true
}

// writeClient writes what is held for c. It reports false if c was
// closed.
func (l *evLoop) writeClient(c *lconn) bool {
	for c.wo < len(c.out) {
		n, err := unix.Write(c.fd, c.out[c.wo:])
		if n > 0 {
			c.wo += n
			continue
		}
		if err == unix.EINTR {
			continue
		}
		if err == unix.EAGAIN {
			break
		}
		l.closeClient(c)
		return false
	}
	if c.wo > 0 && c.wo >= len(c.out)-c.wo {
		// What was written goes, so that a long response to a slow
		// client holds what is pending only.
		c.out = c.out[:copy(c.out, c.out[c.wo:])]
		c.wo = 0
	}
	if c.wo == len(c.out) {
		if c.close && !c.busy {
			l.closeClient(c)
			return false
		}
	}
	// A worker paused for this client goes on once most is written.
	if u := c.up; u != nil && u.paused && len(c.out)-c.wo < loopMaxPending/2 {
		u.paused = false
		l.readUp(u)
	}
	return c.fd >= 0
}

// closeWhenWritten closes c once what is held for it is written.
func (l *evLoop) closeWhenWritten(c *lconn) {
	c.close = true
	if c.wo == len(c.out) {
		l.closeClient(c)
		return
	}
	// A client that does not read its last response is not kept for
	// ever, as one that does not send its next request is not.
	if c.deadline.IsZero() {
		l.setDeadline(c, l.f.s.idleTimeout)
	}
}

// readUp reads the worker's response and passes it on.
func (l *evLoop) readUp(u *upConn) {
	for u.owner != nil && u.fd >= 0 {
		c := u.owner
		if c.answered && len(c.out)-c.wo >= loopMaxPending {
			u.paused = true
			return
		}
		if u.b1 == len(u.buf) {
			switch {
			case u.b0 > 0:
				u.b1 = copy(u.buf, u.buf[u.b0:u.b1])
				u.b0 = 0
			case len(u.buf) >= maxHeadBytes:
				l.upFailed(u, errHeadTooLarge)
				return
			default:
				u.buf = append(u.buf, make([]byte, len(u.buf))...)
			}
		}
		space := len(u.buf) - u.b1
		n, err := unix.Read(u.fd, u.buf[u.b1:])
		if n > 0 {
			u.b1 += n
			u.drained = n < space
			if !l.process(c, u) {
				return
			}
			if n < space && !u.rdhup {
				return
			}
			continue
		}
		switch {
		case err == nil:
			l.upEOF(c, u)
			return
		case err == unix.EAGAIN:
			return
		case err == unix.EINTR:
			continue
		}
		if u.b1 == 0 && !c.answered {
			err = &noResponseError{fmt.Errorf("read response: %w", os.NewSyscallError("read", err))}
		}
		l.upFailed(u, err)
		return
	}
}

// process handles what the worker sent: the response head, then the
// body, passed to the client as it comes. It reports false once the
// exchange is over.
func (l *evLoop) process(c *lconn, u *upConn) bool {
	for !c.answered {
		size, code, minor, err := parseResponseHead(u.buf[u.b0:u.b1], &u.hc)
		if err != nil {
			l.upFailed(u, err)
			return false
		}
		if size == 0 {
			return true
		}
		switch {
		case code == http.StatusSwitchingProtocols:
			l.upFailed(u, errors.New("switching protocols without an upgrade asked for"))
			return false
		case code < 200:
			if c.n1xx++; c.n1xx > max1xx {
				l.upFailed(u, fmt.Errorf("more than %d informational responses", max1xx))
				return false
			}
			if code != http.StatusContinue {
				c.out = l.appendHead(c.out, c, u, code, nil)
				l.queueClient(c)
			}
			u.b0 += size
			continue
		}
		rh, err := u.hc.interpret(code, minor, c.req.Method)
		if err != nil {
			l.upFailed(u, err)
			return false
		}
		c.answered, c.resp, c.code, c.remaining, c.chunks = true, rh, code, rh.length, chunkScanner{}
		if l.f.s.closing.Load() {
			c.close = true
		}
		c.out = l.appendHead(c.out, c, u, code, &rh)
		u.b0 += size
	}
	avail := u.buf[u.b0:u.b1]
	rh := &c.resp
	switch {
	case rh.noBody:
		// Bytes after a head that has no body are not an answer to
		// anything: the connection is out of step.
		l.done(c, u, !rh.close && len(avail) == 0)
		return false
	case rh.chunked:
		k, data, end, err := c.chunks.scan(avail)
		c.out = append(c.out, avail[:k]...)
		c.respBytes += data
		u.b0 += k
		if err != nil {
			l.abort(c, err)
			return false
		}
		if end {
			l.done(c, u, !rh.close && u.b0 == u.b1)
			return false
		}
	case rh.length >= 0:
		k := int(min(int64(len(avail)), c.remaining))
		c.out = append(c.out, avail[:k]...)
		c.respBytes += int64(k)
		c.remaining -= int64(k)
		u.b0 += k
		if c.remaining == 0 {
			l.done(c, u, !rh.close && u.b0 == u.b1)
			return false
		}
	default:
		// Until the worker closes: chunked for the client, which can
		// then tell the end from a failure.
		if len(avail) > 0 {
			c.out = strconv.AppendInt(c.out, int64(len(avail)), 16)
			c.out = append(c.out, "\r\n"...)
			c.out = append(c.out, avail...)
			c.out = append(c.out, "\r\n"...)
			c.respBytes += int64(len(avail))
			u.b0 = u.b1
		}
	}
	if u.b0 == u.b1 {
		u.b0, u.b1 = 0, 0
	}
	l.queueClient(c)
	return true
}

// appendHead appends a response head from the worker for the client:
// its fields but the hop-by-hop ones (as writeWorkerHead writes them), a
// Date if it had none, and the framing the loop sends the body with. rh
// is nil for an informational response.
func (l *evLoop) appendHead(b []byte, c *lconn, u *upConn, code int, rh *respHead) []byte {
	b = appendStatusLine(b, code)
	conn := u.hc.connectionValues(rh != nil && rh.connection)
	date := false
	for _, f := range u.hc.fields {
		k, v := u.hc.head[f.k0:f.k1], u.hc.head[f.v0:f.v1]
		if dropResponseField(string(k), conn) {
			continue
		}
		switch string(k) {
		case "Content-Length":
			if rh != nil {
				continue // written once below
			}
		case "Date":
			date = true
		}
		b = append(b, k...)
		b = append(b, ": "...)
		b = append(b, v...)
		b = append(b, "\r\n"...)
	}
	if rh == nil {
		return append(b, "\r\n"...)
	}
	if !date {
		b = appendDate(b)
	}
	switch {
	case rh.length >= 0 && !rh.chunked:
		if code != http.StatusNoContent && (code != http.StatusNotModified || rh.lengths > 0) {
			b = append(b, "Content-Length: "...)
			b = strconv.AppendInt(b, rh.length, 10)
			b = append(b, "\r\n"...)
		}
	case rh.noBody:
	default:
		b = append(b, "Transfer-Encoding: chunked\r\n"...)
	}
	if c.close {
		b = append(b, "Connection: close\r\n"...)
	}
	return append(b, "\r\n"...)
}

// upEOF handles the worker closing the connection.
func (l *evLoop) upEOF(c *lconn, u *upConn) {
	switch {
	case !c.answered && u.b1 == 0:
		l.upFailed(u, &noResponseError{fmt.Errorf("read response: %w", io.EOF)})
	case !c.answered:
		l.upFailed(u, fmt.Errorf("read response head: %w", io.ErrUnexpectedEOF))
	case !c.resp.chunked && c.resp.length < 0:
		c.out = append(c.out, "0\r\n\r\n"...)
		l.queueClient(c)
		l.done(c, u, false)
	case c.resp.chunked:
		l.abort(c, fmt.Errorf("read response body: %w", io.ErrUnexpectedEOF))
	default:
		l.abort(c, fmt.Errorf("read response body: %w after %d of %d bytes",
			io.ErrUnexpectedEOF, c.resp.length-c.remaining, c.resp.length))
	}
}

// upFailed handles a failed exchange with the worker: a request that
// can be sent again goes again on a new connection (once), as forward
// does; one not answered yet is answered as forward answers it; a
// response begun is aborted.
func (l *evLoop) upFailed(u *upConn, err error) {
	c := u.owner
	if c.answered {
		l.abort(c, err)
		return
	}
	var nr *noResponseError
	if errors.As(err, &nr) && u.reused && !c.retried && c.reqBytes == 0 && replayable(c.req.Method) {
		c.retried = true
		u.owner, c.up = nil, nil
		l.closeUp(u)
		l.send(c, true)
		return
	}
	l.failRequest(c, err)
}

// failRequest answers a request the worker did not, as upstreamError
// answers it.
func (l *evLoop) failRequest(c *lconn, err error) {
	l.respondError(c, context.Background(), err)
	if c.fd >= 0 && !c.busy {
		l.goOn(c)
	}
}

// respondError writes upstreamError's answer for the request, with ctx
// telling why it failed, and ends the request.
func (l *evLoop) respondError(c *lconn, ctx context.Context, err error) {
	if u := c.up; u != nil {
		u.owner, c.up = nil, nil
		l.closeUp(u)
	}
	pk := &picked{pool: c.pool, worker: c.wk, start: c.start, body: &countingBody{}}
	pk.body.done.Store(true)
	var w loopWriter
	l.f.a.upstreamError(ctx, &w, c.req, pk, err)
	c.code = w.code
	if l.f.s.closing.Load() {
		c.close = true
	}
	c.out = w.appendTo(c.out, c.req.Method, c.close)
	c.respBytes = int64(len(w.body))
	l.queueClient(c)
	l.finish(c)
}

// abort ends a response begun that cannot be completed: the client's
// connection closes after what it was sent, so that it sees a truncated
// response, not a complete one.
func (l *evLoop) abort(c *lconn, err error) {
	a := l.f.a
	if !errors.Is(err, errRequestTimeout) {
		a.metrics.upstreamErrors.WithLabelValues(a.name, errKindResponse).Inc()
		a.logger.Warn("Worker response failed midway", "worker", c.wk.slot, "pid", c.wk.pid, "err", err)
	}
	if u := c.up; u != nil {
		u.owner, c.up = nil, nil
		l.closeUp(u)
	}
	l.finish(c)
	l.closeWhenWritten(c)
	if c.fd >= 0 {
		l.queueClient(c)
	}
}

// done ends an exchange the worker completed.
func (l *evLoop) done(c *lconn, u *upConn, reusable bool) {
	u.owner, c.up = nil, nil
	// Not reused: a connection the worker closed its side of, one with
	// bytes read past the response or maybe left unread (the last read
	// filled the buffer: more would make no new edge), and one whose
	// request was not all sent (the worker answered early): the rest
	// would be read as the next request's start.
	if reusable && u.b0 == u.b1 && u.drained && !u.rdhup && u.wo == len(u.out) {
		u.b0, u.b1 = 0, 0
		u.cooling, u.stray = true, false
		l.cooling = append(l.cooling, u)
		u.wk.loopIdle.Add(1)
	} else {
		l.closeUp(u)
	}
	l.finish(c)
	if c.fd >= 0 {
		l.queueClient(c)
		l.goOn(c)
	}
}

// goOn goes on with c after a request: the next one read already, or
// a read if the client sent more meanwhile.
func (l *evLoop) goOn(c *lconn) {
	if c.pendIn {
		l.readClient(c)
	} else {
		l.serveNext(c)
	}
}

// finish ends the request in flight: the worker released and the
// request recorded, as ServeHTTP records it.
func (l *evLoop) finish(c *lconn) {
	if !c.busy {
		return
	}
	a := l.f.a
	c.busy = false
	c.pool.release(c.wk)
	a.series.inFlight.Dec()
	code := c.code
	if code == 0 {
		code = http.StatusOK
	}
	a.series.request(c.req.Method, code).Inc()
	a.series.duration.Observe(time.Since(c.start).Seconds())
	a.series.requestBytes.Add(float64(c.reqBytes))
	a.series.responseBytes.Add(float64(c.respBytes))
	if al := a.access.Load(); al != nil && c.pool.spec.AccessLog != config.AccessLogOff {
		e := newAccessEntry(c.req, c.start, code, c.respBytes, c.reqBytes)
		al.Write(appendEntry(nil, c.pool.spec.AccessLog, e))
	}
	c.req, c.pool, c.wk = nil, nil, nil
	c.deadline = time.Time{}
}

// scan handles the deadlines that passed and finds the next.
func (l *evLoop) scan() {
	now := l.now
	l.next = time.Time{}
	if l.f.s.closing.Load() {
		l.retry = time.Time{} // the listener stays out at shutdown
	}
	if !l.listen && !l.retry.IsZero() && !now.Before(l.retry) {
		l.retry = time.Time{}
		if err := l.addListener(); err != nil {
			l.retry = now.Add(time.Second)
		}
	}
	if !l.retry.IsZero() {
		l.noteDeadline(l.retry)
	}
	for _, o := range l.fds {
		c := o.c
		if c == nil || c.deadline.IsZero() {
			continue
		}
		if now.Before(c.deadline) {
			l.noteDeadline(c.deadline)
			continue
		}
		c.deadline = time.Time{}
		switch {
		case c.busy:
			l.timedOut(c)
		case c.waitBody:
			// A body slower than a head may be: the goroutine server
			// reads it, bounded by the request timeout, as it reads
			// large bodies.
			c.waitBody = false
			l.handOff(c)
		default:
			// Idle too long, or too slow to send a head.
			l.closeClient(c)
		}
	}
	for wk, conns := range l.idle {
		if len(conns) > 0 && now.Sub(conns[len(conns)-1].idleAt) >= idleConnTimeout {
			for _, u := range conns {
				l.closeUp(u)
			}
			delete(l.idle, wk)
			wk.loopIdle.Add(-int32(len(conns)))
			continue
		}
		for len(conns) > 0 && now.Sub(conns[0].idleAt) >= idleConnTimeout {
			l.closeUp(conns[0])
			conns = conns[1:]
			wk.loopIdle.Add(-1)
		}
		l.idle[wk] = conns
		if len(conns) > 0 {
			l.noteDeadline(conns[0].idleAt.Add(idleConnTimeout))
		}
	}
	l.flush()
}

// timedOut handles a request at its request timeout: as forward, a 504
// and the worker killed if it had not answered (harakiri), the response
// aborted if it had.
func (l *evLoop) timedOut(c *lconn) {
	a := l.f.a
	if c.answered {
		a.noteTimeout(c.req, &picked{pool: c.pool, worker: c.wk})
		l.abort(c, errRequestTimeout)
		return
	}
	wk, p := c.wk, c.pool
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(errRequestTimeout)
	l.respondError(c, ctx, context.DeadlineExceeded)
	p.killForTimeout(wk)
	if c.fd >= 0 {
		l.goOn(c)
	}
}

// drainForShutdown closes the connections waiting for a request, and
// has the others close after their response.
func (l *evLoop) drainForShutdown() {
	for _, o := range l.fds {
		c := o.c
		if c == nil {
			continue
		}
		c.close = true
		if !c.busy && c.r0 == c.r1 && c.wo == len(c.out) {
			l.closeClient(c)
		}
	}
}

// handOff gives c, with the bytes read of it and those held for it, to
// the goroutine front server.
func (l *evLoop) handOff(c *lconn) {
	l.p.del(c.fd)
	l.fds[c.fd] = fdOwner{}
	l.nconns--
	l.f.conns.Add(-1)
	fd := c.fd
	c.fd = -1
	f := os.NewFile(uintptr(fd), "client")
	nc, err := net.FileConn(f)
	f.Close()
	if err != nil {
		l.f.s.logger.Warn("Cannot hand a connection over", "err", err)
		return
	}
	in := append([]byte(nil), c.rbuf[c.r0:c.r1]...)
	var out []byte
	if c.wo < len(c.out) {
		out = append(out, c.out[c.wo:]...)
	}
	l.f.s.adopt(nc, in, out)
}

// closeClient closes c, ending the request in flight if any: the client
// closed its connection or failed, or the loop gives up on it.
func (l *evLoop) closeClient(c *lconn) {
	if c.fd < 0 {
		return
	}
	if c.busy {
		if u := c.up; u != nil {
			u.owner, c.up = nil, nil
			l.closeUp(u)
		}
		if !c.answered && c.code == 0 {
			c.code = 499 // nginx's: the client went away
		}
		l.finish(c)
	}
	l.fds[c.fd] = fdOwner{}
	unix.Close(c.fd) // and out of epoll
	c.fd = -1
	l.nconns--
	l.f.conns.Add(-1)
}

func (l *evLoop) closeUp(u *upConn) {
	if u.fd < 0 {
		return
	}
	l.fds[u.fd] = fdOwner{}
	unix.Close(u.fd)
	u.fd = -1
}

// loopWriter takes upstreamError's answer, for the loop to write.
type loopWriter struct {
	header http.Header
	code   int
	body   []byte
}

func (w *loopWriter) Header() http.Header {
	if w.header == nil {
		w.header = http.Header{}
	}
	return w.header
}

func (w *loopWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

func (w *loopWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	w.body = append(w.body, b...)
	return len(b), nil
}

// appendTo appends the response to b, as net/http's server would send
// it.
func (w *loopWriter) appendTo(b []byte, method string, close bool) []byte {
	b = appendStatusLine(b, w.code)
	for k, vv := range w.header {
		if k == "Content-Length" || k == "Connection" || k == "Transfer-Encoding" {
			continue
		}
		for _, v := range vv {
			b = appendField(b, k, v)
		}
	}
	b = appendDate(b)
	b = append(b, "Content-Length: "...)
	b = strconv.AppendInt(b, int64(len(w.body)), 10)
	b = append(b, "\r\n"...)
	if close {
		b = append(b, "Connection: close\r\n"...)
	}
	b = append(b, "\r\n"...)
	if method != http.MethodHead {
		b = append(b, w.body...)
	}
	return b
}
