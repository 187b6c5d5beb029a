package apphost

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/argus-mon/argus/internal/rawsock"
)

// frontServer serves a front port. Over TLS it is net/http's server alone.
// An app's own plain port on Linux is served by event loops (serveLoops,
// loop_linux.go), which hand the connections they do not serve to the
// goroutines below (adopt). Over plain TCP otherwise it reads each connection's requests itself and passes the
// plain HTTP/1.x ones (see parseRequestHead) to the handler with a
// response writer of its own; the first request it does not take (an
// upgrade, HTTP/2, Expect, a chunked or large body, anything malformed)
// hands the connection, with the bytes already read, to net/http's server,
// which serves it from then on as it served every connection before.
//
// Why: with the proxy's own client (forward), net/http's server was most
// of the CPU left outside the system calls: a goroutine per request
// watching the connection, a context and its cancellation, the header map
// cloned and sorted to be written. Here a connection is one goroutine with
// its buffers, reused from request to request, and a response is
// written with one system call when it fits the buffer.
type frontServer struct {
	handler       http.Handler
	srv           *http.Server // TLS, and the connections handed off
	logger        *slog.Logger
	headerTimeout time.Duration
	idleTimeout   time.Duration

	closing atomic.Bool
	mu      sync.Mutex
	conns   map[*frontConn]struct{}
	handoff *handoffListener
	loops   *loopFront // when an app's own port is served by event loops
}

func newFrontServer(h http.Handler, logger *slog.Logger, headerTimeout time.Duration) *frontServer {
	srv := newServer(h, logger, headerTimeout)
	return &frontServer{handler: h, srv: srv, logger: logger,
		headerTimeout: headerTimeout, idleTimeout: srv.IdleTimeout, conns: map[*frontConn]struct{}{}}
}

// Serve serves ln until it is closed; it returns http.ErrServerClosed
// then.
func (s *frontServer) Serve(ln net.Listener) error {
	if s.srv.TLSConfig != nil {
		return serve(s.srv, ln)
	}
	s.mu.Lock()
	s.handoff = &handoffListener{addr: ln.Addr(), conns: make(chan net.Conn), done: make(chan struct{})}
	s.mu.Unlock()
	served := make(chan struct{})
	go func() {
		defer close(served)
		s.srv.Serve(s.handoff)
	}()
	defer func() {
		s.handoff.Close()
		<-served
	}()
	if ok, err := s.serveLoops(ln); ok {
		return err
	}
	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.closing.Load() || errors.Is(err, net.ErrClosed) {
				return http.ErrServerClosed
			}
			// As net/http does: out of descriptors, say, is worth a
			// pause and another try, not the end of the port.
			if temporaryAccept(err) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.logger.Warn("Accept failed; retrying", "err", err, "delay", backoff)
				time.Sleep(backoff)
				continue
			}
			return fmt.Errorf("accept: %w", err)
		}
		backoff = 0
		c := &frontConn{s: s, conn: nc, rw: rawsock.New(nc), remote: nc.RemoteAddr().String()}
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		go c.serve()
	}
}

// temporaryAccept reports whether an accept failure is worth another try
// (the process or system is out of descriptors or memory, or a client gave
// up before the accept).
func temporaryAccept(err error) bool {
	var se interface{ Temporary() bool }
	return errors.As(err, &se) && se.Temporary()
}

// Shutdown stops the server gracefully: it closes the idle connections,
// lets each busy one finish its response and then closes it, and waits
// for them until ctx ends. The caller has closed the listener.
func (s *frontServer) Shutdown(ctx context.Context) error {
	s.closing.Store(true)
	lf := s.loopFront()
	if lf != nil {
		lf.wake()
	}
	err := s.srv.Shutdown(ctx)
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		if s.closeIdle() == 0 && (lf == nil || lf.conns.Load() == 0) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Close closes every connection at once.
func (s *frontServer) Close() error {
	s.closing.Store(true)
	if lf := s.loopFront(); lf != nil {
		lf.stop()
	}
	err := s.srv.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.conn.Close()
	}
	s.mu.Unlock()
	return err
}

func (s *frontServer) loopFront() *loopFront {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loops
}

// adopt serves a connection an event loop hands over, with in, the bytes
// read of it, and out, those still to be written to it (see handOff).
func (s *frontServer) adopt(nc net.Conn, in, out []byte) {
	c := &frontConn{s: s, conn: nc, rw: rawsock.New(nc), remote: nc.RemoteAddr().String(), initIn: in, initOut: out}
	s.mu.Lock()
	if s.closing.Load() && len(in) == 0 {
		// A request read before the shutdown is served, as the loop
		// would have; nothing read, nothing to serve.
		s.mu.Unlock()
		nc.Close()
		return
	}
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	go c.serve()
}

// closeIdle closes the connections waiting for a request and returns how
// many connections are left.
func (s *frontServer) closeIdle() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		if c.state.CompareAndSwap(connIdle, connClosed) {
			c.conn.Close()
		}
	}
	return len(s.conns)
}

// A frontConn's state, for Shutdown.
const (
	connActive int32 = iota // reading or serving a request
	connIdle                // waiting for a request, with nothing of it read
	connClosed              // closed by Shutdown while idle
)

// handoffListener is the listener net/http's server serves: its Accept
// returns the connections the front server hands off.
type handoffListener struct {
	addr      net.Addr
	conns     chan net.Conn
	done      chan struct{}
	closeOnce sync.Once
}

func (l *handoffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *handoffListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return nil
}

func (l *handoffListener) Addr() net.Addr { return l.addr }

// give hands c to net/http's server, or closes it if the server has
// stopped.
func (l *handoffListener) give(c net.Conn) {
	select {
	case l.conns <- c:
	case <-l.done:
		c.Close()
	}
}

// replayConn is a handed-off connection: its reads return the bytes the
// front server had read before those still in the socket.
type replayConn struct {
	net.Conn
	buf []byte
}

func (c *replayConn) Read(p []byte) (int, error) {
	if len(c.buf) > 0 {
		n := copy(p, c.buf)
		c.buf = c.buf[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// frontConn is one client connection of the front server, served by one
// goroutine.
type frontConn struct {
	s      *frontServer
	conn   net.Conn
	rw     io.ReadWriter // conn's socket, read and written without the scheduler's hooks (package rawsock)
	remote string
	state  atomic.Int32

	// What an event loop read of the connection and had still to write
	// to it, when it handed it over (see adopt).
	initIn, initOut []byte

	// readDL is the read deadline set on conn (see lazyDeadline);
	// dlTouched is set when a handler set one through the response
	// writer, from whichever goroutine.
	readDL    lazyDeadline
	dlTouched atomic.Bool

	// rbuf[r0:r1] is what has been read and not yet used.
	rbuf    []byte
	r0, r1  int
	head    reqHead
	scratch reqScratch // the request being served (see newRequest)
	w       frontWriter
	header  http.Header // the response's, cleared for each
	wbuf    []byte      // the response being written
	pend    []byte      // the start of a body whose framing is not decided yet

	// The requests' context, ended when the client is seen to have gone
	// away, so that the proxy gives up on its request (and frees the
	// worker) as it does under net/http's server.
	ctx    context.Context
	cancel context.CancelCauseFunc
	// watch is the client watcher's timer (see watchClient); under wmu,
	// wend tells a watcher starting late that the request has ended.
	watch     *time.Timer
	watchDone chan []byte // what the watcher read: the next request's first byte, or nothing
	wmu       sync.Mutex
	wend      bool

	// upstream is the worker connection of a direct request in flight
	// (see direct), for the watcher to interrupt when the client goes
	// away.
	upMu     sync.Mutex
	upstream net.Conn
}

// setUpstream notes the worker connection of the direct request in
// flight, or nil when it is done with it.
func (c *frontConn) setUpstream(conn net.Conn) {
	c.upMu.Lock()
	c.upstream = conn
	c.upMu.Unlock()
}

// bodyBuffered reports whether the request body's n bytes are all read
// into the buffer, so that the handler never waits on the client.
func (c *frontConn) bodyBuffered(n int64) bool {
	return int64(c.r1-c.r0) >= n
}

// watchDelay is how long a request runs before its client connection is
// watched for the client going away. Most requests end sooner and cost no
// watcher: net/http's server starts one for every request, a goroutine,
// a read and two deadline changes.
const watchDelay = 10 * time.Millisecond

// errClientGone ends the requests' context when the client closed its
// connection.
var errClientGone = errors.New("client closed the connection")

// Buffer sizes: a typical head and a small body fit at once.
const (
	frontReadBuffer  = 4 << 10
	frontWriteBuffer = 16 << 10
)

func (c *frontConn) serve() {
	handedOff := false
	defer func() {
		if !handedOff {
			c.conn.Close()
		}
		c.s.mu.Lock()
		delete(c.s.conns, c)
		c.s.mu.Unlock()
	}()
	c.rbuf = make([]byte, max(frontReadBuffer, len(c.initIn)))
	c.wbuf = make([]byte, 0, frontWriteBuffer)
	if len(c.initOut) > 0 {
		if _, err := c.rw.Write(c.initOut); err != nil {
			return
		}
		c.initOut = nil
	}
	if len(c.initIn) > 0 {
		// Part of a request: the rest has the header timeout, which
		// readHead sets only on an empty buffer.
		c.r1 = copy(c.rbuf, c.initIn)
		c.initIn = nil
		c.setReadDeadline(time.Now().Add(c.s.headerTimeout))
	}
	c.ctx, c.cancel = context.WithCancelCause(context.Background())
	defer c.cancel(nil)
	c.header = make(http.Header)
	base := (&http.Request{RemoteAddr: c.remote}).WithContext(c.ctx)
	for first := true; ; first = false {
		res, ok := c.readHead(first)
		if !ok {
			return
		}
		var r *http.Request
		if res == headFast {
			r = c.scratch.newRequest(base, string(c.rbuf[c.r0:c.r0+c.head.size]), &c.head)
		}
		if r == nil {
			c.handOff()
			handedOff = true
			return
		}
		c.r0 += c.head.size
		if !c.serveRequest(r) {
			return
		}
	}
}

// readHead reads until rbuf holds a whole request head, or one to hand
// off. It returns false if the connection is to be closed: the client
// closed it, went idle too long, or was too slow to send a head (the
// header timeout, against clients holding connections open with a head
// they never finish).
func (c *frontConn) readHead(first bool) (headResult, bool) {
	waiting := false // with the idle timeout, for the first byte
	idle := false    // nothing of a request read yet: Shutdown may close it
	if c.r0 == c.r1 {
		c.r0, c.r1 = 0, 0
		timeout := c.s.headerTimeout
		if !first {
			timeout, waiting = c.s.idleTimeout, true
		}
		idle = true
		c.state.Store(connIdle)
		if c.s.closing.Load() {
			return 0, false
		}
		c.setReadTimeout(timeout)
	}
	for {
		if c.r1 > c.r0 {
			if res := parseRequestHead(c.rbuf[c.r0:c.r1], &c.head); res != headIncomplete {
				return res, true
			}
			if waiting {
				// The first bytes of a head that did not come whole:
				// the rest has the header timeout.
				waiting = false
				c.setReadTimeout(c.s.headerTimeout)
			}
		}
		if c.r1 == len(c.rbuf) {
			if c.r0 > 0 {
				c.r1 = copy(c.rbuf, c.rbuf[c.r0:c.r1])
				c.r0 = 0
			} else {
				// Bounded by parseRequestHead, which hands off a head
				// past maxFastHead.
				c.rbuf = append(c.rbuf, make([]byte, len(c.rbuf))...)
			}
		}
		n, err := c.rw.Read(c.rbuf[c.r1:])
		if n > 0 && idle {
			if !c.state.CompareAndSwap(connIdle, connActive) {
				return 0, false // closed by Shutdown
			}
			idle = false
		}
		c.r1 += n
		if err != nil && n == 0 {
			return 0, false
		}
	}
}

// setReadTimeout gives the connection's reads at least timeout from now,
// and at most its slack more (see lazyDeadline).
func (c *frontConn) setReadTimeout(timeout time.Duration) {
	if c.dlTouched.Load() && c.dlTouched.Swap(false) {
		c.readDL.forget()
	}
	if t, ok := c.readDL.want(time.Now(), timeout); ok {
		c.setReadDeadline(t)
	}
}

// setReadDeadline sets the connection's read deadline to t.
func (c *frontConn) setReadDeadline(t time.Time) {
	c.conn.SetReadDeadline(t)
	c.readDL.set(t)
}

// handOff gives the connection, with what was read of it, to net/http's
// server.
func (c *frontConn) handOff() {
	c.conn.SetReadDeadline(time.Time{})
	c.state.Store(connActive)
	rc := &replayConn{Conn: c.conn, buf: c.rbuf[c.r0:c.r1]}
	c.s.mu.Lock()
	l := c.s.handoff
	c.s.mu.Unlock()
	l.give(rc)
}

// serveRequest serves one request and reports whether the connection may
// serve another.
func (c *frontConn) serveRequest(r *http.Request) (keep bool) {
	c.state.Store(connActive)
	var body *frontBody // none without a body: one allocation fewer
	if r.ContentLength > 0 {
		body = &frontBody{c: c, n: r.ContentLength}
		r.Body = body
		if c.r1-c.r0 < int(r.ContentLength) {
			// The body has not arrived whole: as net/http's server
			// (without ReadTimeout), no deadline but the request
			// timeout's, which the handler sets.
			c.setReadDeadline(time.Time{})
		}
	}
	w := &c.w
	clear(c.header)
	*w = frontWriter{c: c, header: c.header, req: r, length: -1, close: r.Close}
	c.wbuf, c.pend = c.wbuf[:0], c.pend[:0]
	defer func() {
		if err := recover(); err != nil {
			if err != http.ErrAbortHandler {
				buf := make([]byte, 64<<10)
				buf = buf[:runtime.Stack(buf, false)]
				c.s.logger.Error("Front handler panicked", "remote", c.remote, "err", err, "stack", string(buf))
			}
			keep = false
		}
	}()
	// The client is watched only when the handler will not read the
	// connection itself: when the body, if any, is all in the buffer.
	watched := c.bodyBuffered(r.ContentLength)
	if watched {
		c.startWatch()
	}
	c.s.handler.ServeHTTP(w, r)
	if watched && !c.stopWatch() {
		return false
	}
	if err := w.finish(); err != nil || w.close {
		return false
	}
	if body != nil && body.n > 0 && !body.discard() {
		return false
	}
	return !c.s.closing.Load()
}

// startWatch arms the client watcher for the request about to be served.
func (c *frontConn) startWatch() {
	c.wend = false
	if c.watch == nil {
		c.watchDone = make(chan []byte, 1)
		c.watch = time.AfterFunc(watchDelay, c.watchClient)
		return
	}
	c.watch.Reset(watchDelay)
}

// stopWatch stops the client watcher after the handler returned and
// reports whether the client is still there. A byte the watcher read
// (of a pipelined request) goes back in the read buffer.
func (c *frontConn) stopWatch() bool {
	if c.watch.Stop() {
		return true // it never started
	}
	c.wmu.Lock()
	c.wend = true
	c.wmu.Unlock()
	c.conn.SetReadDeadline(aLongTimeAgo)
	b := <-c.watchDone
	if len(b) > 0 {
		if c.r1 == len(c.rbuf) {
			c.rbuf = append(c.rbuf, 0)
			c.rbuf = c.rbuf[:cap(c.rbuf)]
		}
		c.r1 += copy(c.rbuf[c.r1:], b)
	}
	// readHead sets a deadline only when nothing is buffered.
	c.setReadDeadline(time.Now().Add(c.s.headerTimeout))
	return c.ctx.Err() == nil
}

// watchClient runs, in the timer's goroutine, when a request has taken
// longer than watchDelay: it reads from the client until the request
// ends (stopWatch interrupts the read) and ends the requests' context if
// the client closed the connection. A byte it reads is the start of a
// pipelined request, handed back through watchDone.
func (c *frontConn) watchClient() {
	c.wmu.Lock()
	if c.wend {
		c.wmu.Unlock()
		c.watchDone <- nil
		return
	}
	// The deadline of the head's read is no concern of the request's;
	// stopWatch sets its own under wmu, after this.
	c.conn.SetReadDeadline(time.Time{})
	c.wmu.Unlock()
	var b [1]byte
	n, err := c.conn.Read(b[:])
	if n == 0 && err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
		c.cancel(errClientGone)
		// A direct request's worker connection is not watched by its
		// context: its blocked read ends here.
		c.upMu.Lock()
		if c.upstream != nil {
			c.upstream.SetDeadline(aLongTimeAgo)
		}
		c.upMu.Unlock()
	}
	c.watchDone <- b[:n]
}

// frontBody is a request body of known length, read from the
// connection's buffer first.
type frontBody struct {
	c   *frontConn
	n   int64 // left to read
	err error
}

func (b *frontBody) Read(p []byte) (int, error) {
	if b.n <= 0 {
		return 0, io.EOF
	}
	if b.err != nil {
		return 0, b.err
	}
	if int64(len(p)) > b.n {
		p = p[:b.n]
	}
	c := b.c
	var n int
	if c.r1 > c.r0 {
		n = copy(p, c.rbuf[c.r0:c.r1])
		c.r0 += n
	} else {
		n, b.err = c.rw.Read(p)
		if b.err == io.EOF {
			b.err = io.ErrUnexpectedEOF
		}
	}
	b.n -= int64(n)
	if n > 0 {
		return n, nil
	}
	return 0, b.err
}

func (b *frontBody) Close() error { return nil }

// discard reads what the handler left of the body (it answered without
// reading it, such as a 413 or 503), so that the next request can be
// read; closing instead could reset the connection before the client has
// read the response. It reports whether that worked.
func (b *frontBody) discard() bool {
	if b.err != nil {
		return false
	}
	b.c.setReadTimeout(b.c.s.headerTimeout)
	var buf [4 << 10]byte
	for b.n > 0 {
		if _, err := b.Read(buf[:]); err != nil {
			return false
		}
	}
	return true
}
