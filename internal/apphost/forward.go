package apphost

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The fast path (forward) proxies plain HTTP/1.x requests with a small
// HTTP/1.1 client of its own: per-request goroutine hand-offs in
// http.Transport and the request copies and header maps of
// httputil.ReverseProxy were most of the proxy's CPU after the system
// calls. Requests it does not handle (see fastEligible) go through
// ReverseProxy, which stays the reference for what forward does.

// maxFastBody bounds the request bodies forward sends. It writes the body
// before reading the response, so a worker that answers early without
// reading a large body would stall it; a body this size fits in the
// socket buffers. Larger bodies go through ReverseProxy, which sends and
// reads at once.
const maxFastBody = 64 << 10

// maxHeadBytes bounds a response head (status line and fields) from a
// worker.
const maxHeadBytes = 1 << 20

// max1xx bounds the informational responses before the final one.
const max1xx = 8

// aLongTimeAgo is a deadline in the past, set to interrupt blocked I/O on
// a worker connection when the request's context ends.
var aLongTimeAgo = time.Unix(1, 0)

// fastEligible reports whether forward can proxy r: HTTP/1.x from the
// client, no protocol upgrade, no Expect, and no body or a small one of
// known length. Queries that ReverseProxy would re-encode go through it.
func fastEligible(r *http.Request) bool {
	switch {
	case r.ProtoMajor != 1 || r.Method == http.MethodConnect || r.URL.Opaque != "":
		return false
	case r.ContentLength < 0 || r.ContentLength > maxFastBody:
		return false
	case len(r.Header["Upgrade"]) > 0 || hasToken(r.Header["Connection"], "upgrade"):
		return false
	case len(r.Header["Expect"]) > 0:
		return false
	}
	return plainQuery(r.URL.RawQuery)
}

// plainQuery reports whether ReverseProxy would pass the query on as it
// is: it re-encodes one with a semicolon or a bad percent escape.
func plainQuery(q string) bool {
	for i := 0; i < len(q); i++ {
		switch q[i] {
		case ';':
			return false
		case '%':
			if i+2 >= len(q) || !isHex(q[i+1]) || !isHex(q[i+2]) {
				return false
			}
		}
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// replayable reports whether a request without a body may be sent again
// on a new connection when a kept-alive one turns out closed before any
// answer, as http.Transport does.
func replayable(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	return false
}

// noResponseError is a failure before the worker answered anything.
type noResponseError struct{ err error }

func (e *noResponseError) Error() string { return e.err.Error() }
func (e *noResponseError) Unwrap() error { return e.err }

// abortError is a failure after the response head went to the client:
// all that is left is to abort the response.
type abortError struct {
	err    error
	client bool // writing to the client failed
}

func (e *abortError) Error() string { return e.err.Error() }
func (e *abortError) Unwrap() error { return e.err }

// direct bounds a request from the front server's own connections
// (frontServer) with a deadline on the worker connection instead of a
// context and a timer of its own: the request timeout is the deadline, set
// from the pick, and the client going away is the front connection's
// watcher ending the connection's context and interrupting the worker
// connection it was given (frontConn.setUpstream). The context, its hook
// and the timer per request were about 5% of the proxy's CPU in a profile
// with the front server, an eighth of what was not system calls.
type direct struct {
	fc       *frontConn
	timeout  time.Duration // zero for none
	deadline time.Time     // the request's start plus timeout; zero for no timeout
}

// timedOut reports whether the request reached its request timeout,
// and not because the client went away.
func (d *direct) timedOut(ctx context.Context) bool {
	return d != nil && ctx.Err() == nil && !d.deadline.IsZero() && !time.Now().Before(d.deadline)
}

// errContext returns the context upstreamError and forwardFailed judge a
// failure by: for a direct request past its deadline, one ended with the
// request timeout as its cause, as ServeHTTP's timer ends it.
func (d *direct) errContext(ctx context.Context) context.Context {
	if !d.timedOut(ctx) {
		return ctx
	}
	ctx, cancel := context.WithCancelCause(ctx)
	cancel(errRequestTimeout)
	return ctx
}

// forwardDirect forwards a request of the front server's to wk, a worker
// picked without waiting, bounded as direct says.
func (a *app) forwardDirect(w *recorder, r *http.Request, p *pool, wk *worker, body *countingBody, fc *frontConn, start time.Time) {
	defer p.release(wk)
	d := &direct{fc: fc}
	if t := time.Duration(p.spec.RequestTimeout); t > 0 {
		d.timeout, d.deadline = t, start.Add(t)
	}
	pk := &picked{pool: p, worker: wk, body: body, start: start}
	// Deferred, so that it also runs when a response that had begun and
	// then stalled is aborted with a panic. The worker's fault is asked
	// first: it is false for every request answered, and timedOut reads
	// the clock.
	defer func() {
		if pk.workersFault() && d.timedOut(r.Context()) {
			p.killForTimeout(wk)
		}
	}()
	a.forward(r.Context(), w, r, pk, d)
}

// forward proxies r to pk's worker over one of the worker's kept-alive
// connections, or a new one. Failures are answered as ReverseProxy's are
// (upstreamError), or abort a response already begun. d is nil but for
// a direct request.
func (a *app) forward(ctx context.Context, w *recorder, r *http.Request, pk *picked, d *direct) {
	retry := r.ContentLength == 0 && replayable(r.Method)
	// Every kept-alive connection is checked before use, not only those
	// carrying a request that could not be sent again: bytes a worker
	// sent after its last response (a length it got wrong) would
	// otherwise be read as the answer to this one, which may be another
	// client's. http.Transport's read loop catches them the same way.
	// A direct request was taken at once: its start is now. Another
	// may have waited for its worker.
	now := pk.start
	if d == nil {
		now = time.Now()
	}
	c := pk.worker.idle.get(now)
	if c != nil && !c.alive() {
		c.conn.Close()
		c = nil
	}
	for {
		if c == nil {
			nc, err := a.dialer.DialContext(ctx, pk.worker.network, pk.worker.addr)
			if err != nil {
				a.upstreamError(d.errContext(ctx), w, r, pk, err)
				return
			}
			c = newUpstreamConn(nc)
		}
		err := a.roundTrip(ctx, w, r, c, pk, d)
		if err == nil {
			return
		}
		c.conn.Close()
		// A kept-alive connection the worker closed while it was idle
		// fails before any answer; the request goes again on a new one.
		var nr *noResponseError
		if retry && c.reused && errors.As(err, &nr) && ctx.Err() == nil {
			c, retry = nil, false
			continue
		}
		a.forwardFailed(d.errContext(ctx), w, r, pk, err)
		return
	}
}

// roundTrip sends r on c and copies the response to w. On success c is
// back among the worker's idle connections, or closed; on error the
// caller closes it.
func (a *app) roundTrip(ctx context.Context, w *recorder, r *http.Request, c *upstreamConn, pk *picked, d *direct) error {
	var reusable bool
	var err error
	if d != nil {
		// The request timeout counts from the request's start; the
		// deadline a request before this one left may do (see
		// lazyDeadline). timedOut judges by the exact one.
		if t, ok := c.dl.want(pk.start, d.timeout); ok {
			c.conn.SetDeadline(t)
			c.dl.set(t)
		}
		d.fc.setUpstream(c.conn)
		reusable, err = a.exchange(w, r, c, pk)
		d.fc.setUpstream(nil)
		if ctx.Err() != nil {
			reusable = false // the watcher may have set its deadline
		}
	} else {
		if _, ok := c.dl.want(time.Time{}, 0); ok {
			// Left by a direct request.
			c.conn.SetDeadline(time.Time{})
			c.dl.set(time.Time{})
		}
		// The context ends at the request timeout or when the client
		// goes away; blocked reads and writes on the worker connection
		// then fail.
		stop := context.AfterFunc(ctx, func() { c.conn.SetDeadline(aLongTimeAgo) })
		reusable, err = a.exchange(w, r, c, pk)
		if !stop() {
			reusable = false // its deadline may be set
		}
	}
	if err == nil {
		if reusable {
			pk.worker.idle.put(c)
		} else {
			c.conn.Close()
		}
	}
	return err
}

// exchange writes r to c, reads the response head and copies the response
// to w. It reports whether c may serve another request.
func (a *app) exchange(w *recorder, r *http.Request, c *upstreamConn, pk *picked) (bool, error) {
	writeRequest(c.bw, r, pk.worker.host, forwardedPrefix(r))
	if r.ContentLength > 0 {
		buf := a.buffers.Get()
		err := sendBody(c.bw, r.Body, r.ContentLength, buf)
		a.buffers.Put(buf)
		if err != nil {
			return false, err
		}
	}
	// The request goes out from inside the wait for its answer (see
	// rawsock's DeferWrite): no read that finds nothing in between.
	if d, ok := c.rw.(interface{ DeferWrite() }); ok {
		d.DeferWrite()
	}
	if err := c.bw.Flush(); err != nil {
		return false, &noResponseError{fmt.Errorf("send request: %w", err)}
	}
	head, err := readHead(c, w, r.Method)
	if err != nil {
		return false, err
	}
	pk.answered.Store(true)
	if fw, ok := w.ResponseWriter.(*frontWriter); ok && rawHeadable(head) && fw.canTakeWorkerHead() {
		// The front server's own writer takes the head as it came,
		// without the header map in between (see writeWorkerHead).
		w.noteCode(head.code)
		fw.writeWorkerHead(head.code, c, head.connection)
		return a.copyBody(w, c, head)
	}
	copyHead(w.Header(), c, head.connection)
	if head.chunked {
		// The body is framed by its chunks; a length next to them is
		// wrong or redundant, and the server would enforce it.
		w.Header().Del("Content-Length")
	}
	w.WriteHeader(head.code)
	return a.copyBody(w, c, head)
}

// forwardFailed answers a request forward could not complete, or aborts
// its response if it had begun, counting and logging what the worker did
// wrong.
func (a *app) forwardFailed(ctx context.Context, w *recorder, r *http.Request, pk *picked, err error) {
	var ab *abortError
	if !errors.As(err, &ab) {
		a.upstreamError(ctx, w, r, pk, err)
		return
	}
	switch {
	case context.Cause(ctx) == errRequestTimeout:
		a.noteTimeout(r, pk)
	case ab.client || ctx.Err() != nil:
		// The client went away; the worker did nothing wrong.
	default:
		a.metrics.upstreamErrors.WithLabelValues(a.name, errKindResponse).Inc()
		a.logger.Warn("Worker response failed midway", "worker", pk.worker.slot, "pid", pk.worker.pid, "err", ab.err)
	}
	// As ReverseProxy does: the server closes the client connection, so
	// that the client sees a truncated response, not a complete one.
	panic(http.ErrAbortHandler)
}

// writeRequest writes r's request line and header fields to bw as
// ReverseProxy and http.Transport would send them: hop-by-hop fields and
// the client's forwarding fields dropped, X-Forwarded-* set as rewrite
// sets them. It does not flush; errors surface at the flush.
func writeRequest(bw *bufio.Writer, r *http.Request, workerAddr, prefix string) {
	bw.WriteString(r.Method)
	bw.WriteByte(' ')
	if p := r.URL.EscapedPath(); p != "" {
		bw.WriteString(p)
	} else {
		bw.WriteByte('/')
	}
	if r.URL.ForceQuery || r.URL.RawQuery != "" {
		bw.WriteByte('?')
		bw.WriteString(r.URL.RawQuery)
	}
	host := r.Host
	if host == "" {
		host = workerAddr // as http.Transport does for an HTTP/1.0 request without one
	}
	bw.WriteString(" HTTP/1.1\r\n")
	writeField(bw, "Host", host)
	conn := r.Header["Connection"]
	for k, vv := range r.Header {
		if requestHopField(k) || hasToken(conn, k) || forwardingAlias(k) {
			continue
		}
		for _, v := range vv {
			writeField(bw, k, v)
		}
	}
	if hasToken(r.Header["Te"], "trailers") {
		writeField(bw, "Te", "trailers")
	}
	if ip, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		writeField(bw, "X-Forwarded-For", ip)
	}
	writeField(bw, "X-Forwarded-Host", r.Host)
	if r.TLS == nil {
		writeField(bw, "X-Forwarded-Proto", "http")
	} else {
		writeField(bw, "X-Forwarded-Proto", "https")
	}
	if prefix != "" {
		writeField(bw, "X-Forwarded-Prefix", prefix)
	}
	// http.Transport sends a zero length for the methods that expect a
	// body, so that the worker does not wait for one.
	if n := r.ContentLength; n > 0 || r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch {
		bw.WriteString("Content-Length: ")
		bw.Write(strconv.AppendInt(bw.AvailableBuffer(), n, 10))
		bw.WriteString("\r\n")
	}
	bw.WriteString("\r\n")
}

func writeField(bw *bufio.Writer, k, v string) {
	bw.WriteString(k)
	bw.WriteString(": ")
	bw.WriteString(v)
	bw.WriteString("\r\n")
}

// requestHopField reports whether a client's header field is not passed
// on: hop-by-hop fields, the forwarding fields the proxy sets itself (a
// client could claim anything in them; Forwarded is dropped as
// ReverseProxy drops it), and the framing fields written separately.
func requestHopField(k string) bool {
	switch k {
	case "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
		"Te", "Trailer", "Transfer-Encoding", "Upgrade",
		"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Forwarded-Prefix",
		"Host", "Content-Length":
		return true
	}
	return false
}

// forwardingAlias reports whether k is a forwarding field written with
// underscores (X_Forwarded_For): many servers (WSGI's CGI-style
// environment among them) read it as the real one, so a client could
// claim a forwarded address or prefix through it. nginx drops fields with
// underscores altogether; these are dropped here.
func forwardingAlias(k string) bool {
	if !strings.Contains(k, "_") {
		return false
	}
	switch strings.ToLower(strings.ReplaceAll(k, "_", "-")) {
	case "forwarded", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-forwarded-prefix":
		return true
	}
	return false
}

// responseHopField reports whether a worker's header field is not passed
// on. Trailer is: it announces the trailers copied after a chunked body.
func responseHopField(k string) bool {
	switch k {
	case "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
		"Te", "Transfer-Encoding", "Upgrade":
		return true
	}
	return false
}

// hasToken reports whether a comma-separated header field holds token,
// case-insensitively.
func hasToken(values []string, token string) bool {
	for _, v := range values {
		for v != "" {
			var t string
			t, v, _ = strings.Cut(v, ",")
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// sendBody copies the n bytes of a request body to bw through buf.
func sendBody(bw *bufio.Writer, body io.Reader, n int64, buf []byte) error {
	for n > 0 {
		k, err := body.Read(buf[:min(int64(len(buf)), n)])
		if k > 0 {
			if _, werr := bw.Write(buf[:k]); werr != nil {
				return fmt.Errorf("send request body: %w", werr)
			}
			n -= int64(k)
		}
		if err == io.EOF && n > 0 {
			err = io.ErrUnexpectedEOF
		}
		if err != nil && err != io.EOF {
			return fmt.Errorf("read request body: %w", err)
		}
	}
	return nil
}
