package scrape

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	commoncfg "github.com/prometheus/common/config"

	"github.com/argus-mon/argus/internal/rawsock"
)

// directClient is a minimal HTTP/1.1 client for the common case of a plain
// http target without proxy, authentication or custom headers. A scrape is
// one GET on one kept-alive connection per target, written and read by the
// loop's own goroutine: net/http's transport hands every request to two
// goroutines of its own (a reader and a writer per connection) and builds the
// request and response objects anew each time (3% of scrape CPU in the
// side-by-side benchmark). Anything outside the subset (a redirect, an HTTP version other
// than 1.x, a header line too long) is left to net/http, so the behaviour is
// still that of Prometheus's client.
type directClient struct {
	url     string // for error messages
	addr    string // host:port to dial
	request []byte // the whole request, the same for every scrape
	dialer  net.Dialer

	conn net.Conn
	// sock reads and writes conn (see package rawsock).
	sock io.ReadWriter
	// unwatch stops watching the loop's context for conn.
	unwatch func() bool
	br      *bufio.Reader
	body    bodyReader
}

// errNotDirect means a response the direct client does not handle; the
// scrape is redone with net/http.
var errNotDirect = errors.New("response outside the direct client's subset")

// Limits on a response's head: net/http allows 10 MiB of headers; nothing a
// metrics endpoint sends needs more than a fraction of this.
const (
	maxHeaderBytes = 1 << 20
	maxHeaderLines = 1000
)

// directEligible reports whether scrapes with this HTTP client config can
// bypass net/http without changing what is sent.
func directEligible(u *url.URL, hc commoncfg.HTTPClientConfig) bool {
	// A host or path with control characters or spaces (discovery can hand
	// out anything) is left to net/http, which refuses it: written into the
	// request as is, it would forge headers.
	if strings.ContainsFunc(u.Host+u.RequestURI(), func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return false
	}
	return u.Scheme == "http" && u.User == nil && hc.BasicAuth == nil && hc.Authorization == nil && hc.OAuth2 == nil &&
		hc.BearerToken == "" && hc.BearerTokenFile == "" && hc.HTTPHeaders == nil &&
		hc.ProxyURL.URL == nil && !hc.ProxyFromEnvironment && len(hc.ProxyConnectHeader) == 0
}

// newDirectClient prepares the request for u with the given header values.
func newDirectClient(u *url.URL, accept, acceptEncoding, timeout string) *directClient {
	host := u.Host
	addr := host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\nAccept: %s\r\nAccept-Encoding: %s\r\nX-Prometheus-Scrape-Timeout-Seconds: %s\r\n\r\n",
		u.RequestURI(), host, userAgent, accept, acceptEncoding, timeout)
	return &directClient{
		url: u.String(), addr: addr, request: b.Bytes(),
		// The dialer of Prometheus's HTTP client.
		dialer: net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second},
	}
}

// close drops the kept-alive connection.
func (c *directClient) close() {
	if c.conn != nil {
		c.unwatch()
		c.conn.Close()
		c.conn, c.sock, c.br, c.unwatch = nil, nil, nil, nil
	}
}

// fetch does one GET and reads the body into buf (up to limit bytes, more is
// errBodySizeLimit). It returns the Content-Type. A connection kept from an
// earlier scrape that turns out to be closed is replaced once, as net/http
// retries idempotent requests.
//
// ctx is the loop's: it must be the same for every call, since it is watched
// for the life of a connection rather than per scrape (registering with a
// context per scrape costs more than parsing a small page). deadline bounds
// the scrape.
func (c *directClient) fetch(ctx context.Context, deadline time.Time, buf *bytes.Buffer, limit int64, bufs *buffers) (string, error) {
	reused := c.conn != nil
	ct, sent, err := c.fetchOnce(ctx, deadline, buf, limit, bufs)
	if err != nil && reused && !sent && ctx.Err() == nil && time.Now().Before(deadline) {
		ct, _, err = c.fetchOnce(ctx, deadline, buf, limit, bufs)
	}
	return ct, err
}

// fetchOnce reports in sent whether the server answered anything, which
// decides whether a retry is safe.
func (c *directClient) fetchOnce(ctx context.Context, deadline time.Time, buf *bytes.Buffer, limit int64, bufs *buffers) (contentType string, sent bool, err error) {
	if c.conn != nil && c.br.Buffered() > 0 {
		c.close() // The server sent more than its last response: start afresh.
	}
	reused := c.conn != nil
	if c.conn == nil {
		dctx, cancel := context.WithDeadline(ctx, deadline)
		conn, err := c.dialer.DialContext(dctx, "tcp", c.addr)
		cancel()
		if err != nil {
			return "", true, c.requestErr(ctx, err)
		}
		c.conn, c.sock = conn, rawsock.New(conn)
		// Cancellation (argus stopping the loop) interrupts blocked I/O.
		c.unwatch = context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
		if c.br == nil {
			c.br = bufio.NewReaderSize(c.sock, 4<<10)
		} else {
			c.br.Reset(c.sock)
		}
	}
	conn := c.conn
	defer func() {
		// After an HTTP error status the body was drained and the
		// connection can be kept; any other failure leaves it unusable.
		var se statusError
		if err != nil && !errors.As(err, &se) && !errors.Is(err, errNotDirect) {
			c.close()
		}
		if c.conn != nil {
			// A deadline left set would fire on the idle connection a
			// timeout after every scrape, waking the process for nothing
			// (as many wakeups as scrapes). The next scrape sets it again
			// before checking for cancellation.
			c.conn.SetDeadline(time.Time{})
		}
	}()
	conn.SetDeadline(deadline)
	// Checked after setting the deadline: a cancellation just before would
	// have had its past deadline overwritten.
	if ctx.Err() != nil {
		return "", true, ctx.Err()
	}
	if _, err := c.sock.Write(c.request); err != nil {
		return "", false, c.requestErr(ctx, err)
	}
	resp, err := readResponseHead(c.br)
	if errors.Is(err, errNotDirect) {
		c.close() // The rest of the response is unread.
		return "", true, err
	}
	if err == nil && resp.status == http.StatusRequestTimeout && reused {
		// A server that timed out the idle connection may answer 408 on it
		// before closing: that answer is not to our request.
		return "", false, fmt.Errorf("server timed out the kept-alive connection: %s", resp.statusText)
	}
	if err != nil {
		var ne net.Error
		if resp.started == 0 && ctx.Err() == nil && !(errors.As(err, &ne) && ne.Timeout()) {
			// Nothing came back: a kept-alive connection the server had
			// closed, safe to retry on a new one.
			return "", false, c.requestErr(ctx, fmt.Errorf("server closed the connection: %w", err))
		}
		return "", true, c.requestErr(ctx, err)
	}
	if resp.status != http.StatusOK {
		// Drained like net/http's callers do, so the connection can be kept.
		c.body.reset(c.br, resp)
		if _, err := io.Copy(io.Discard, io.LimitReader(&c.body, 1<<16)); err != nil || !c.body.done() || resp.close {
			c.close()
		}
		if resp.status >= 300 && resp.status < 400 {
			return "", true, errNotDirect // net/http follows redirects as configured.
		}
		return "", true, statusError(resp.statusText)
	}
	c.body.reset(c.br, resp)
	if err := readBody(buf, &c.body, resp.gzip, limit, bufs); err != nil {
		return "", true, ctxErr(ctx, err)
	}
	if resp.close || !c.body.done() {
		c.close()
	}
	return resp.contentType, true, nil
}

// statusError is a response other than 200 OK, worded as Prometheus words it.
type statusError string

func (e statusError) Error() string { return "server returned HTTP status " + string(e) }

// ctxErr prefers the context's error (deadline, cancellation) to the I/O
// error it caused, so the last error says "context deadline exceeded" like
// Prometheus's does.
func ctxErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return context.DeadlineExceeded
	}
	return err
}

// requestErr words a failure to send the request or read the response head
// the way net/http's client does (`Get "url": ...`), as Prometheus shows it.
func (c *directClient) requestErr(ctx context.Context, err error) error {
	return &url.Error{Op: "Get", URL: c.url, Err: ctxErr(ctx, err)}
}

// responseHead is what the scraper needs from a response's status line and
// headers.
type responseHead struct {
	started       int // bytes of the status line read, to tell a dead connection from a bad answer
	status        int
	statusText    string
	contentType   string
	contentLength int64 // -1: not given
	chunked       bool
	gzip          bool
	close         bool // the connection cannot be reused
}

// readResponseHead reads a status line and headers (skipping 1xx interim
// responses). Only what a scrape uses is kept.
func readResponseHead(br *bufio.Reader) (responseHead, error) {
	for interim := 0; ; interim++ {
		h, err := readOneHead(br)
		if err != nil || h.status >= 200 || h.status == http.StatusSwitchingProtocols {
			if h.status == http.StatusSwitchingProtocols {
				return h, fmt.Errorf("unexpected HTTP status %s", h.statusText)
			}
			return h, err
		}
		if interim >= 10 {
			return h, errors.New("too many 1xx responses")
		}
	}
}

func readOneHead(br *bufio.Reader) (responseHead, error) {
	h := responseHead{contentLength: -1}
	line, err := br.ReadSlice('\n')
	h.started = len(line)
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			return h, errNotDirect // A status line this long is net/http's to judge.
		}
		if errors.Is(err, io.EOF) && len(line) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return h, err
	}
	line = trimEOL(line)
	// "HTTP/1.1 200 OK"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/")) {
		return h, fmt.Errorf("malformed HTTP response %q", truncate(line, 64))
	}
	if !bytes.HasPrefix(line, []byte("HTTP/1.")) || (line[7] != '0' && line[7] != '1') || line[8] != ' ' || (len(line) > 12 && line[12] != ' ') {
		return h, errNotDirect // Another version or an odd status line: net/http decides.
	}
	http10 := line[7] == '0'
	code, err := strconv.Atoi(string(line[9:12]))
	if err != nil || code < 100 {
		return h, fmt.Errorf("malformed HTTP status code %q", truncate(line[9:], 16))
	}
	h.status = code
	h.statusText = string(line[9:])
	if len(line) == 12 {
		h.statusText += " " + http.StatusText(code)
	}
	keepAlive := false
	total := len(line)
	for n := 0; ; n++ {
		line, err := br.ReadSlice('\n')
		total += len(line)
		if err != nil {
			if errors.Is(err, bufio.ErrBufferFull) && total <= maxHeaderBytes {
				return h, errNotDirect // A header line longer than the buffer: net/http reads it.
			}
			if total > maxHeaderBytes {
				return h, fmt.Errorf("response headers exceed %d bytes", maxHeaderBytes)
			}
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return h, fmt.Errorf("reading response headers: %w", err)
		}
		if total > maxHeaderBytes || n > maxHeaderLines {
			return h, fmt.Errorf("response headers exceed %d bytes or %d lines", maxHeaderBytes, maxHeaderLines)
		}
		line = trimEOL(line)
		if len(line) == 0 {
			break
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return h, fmt.Errorf("malformed HTTP response header %q", truncate(line, 64))
		}
		name, val := line[:colon], bytes.TrimSpace(line[colon+1:])
		switch {
		case bytes.EqualFold(name, []byte("Content-Type")):
			h.contentType = string(val)
		case bytes.EqualFold(name, []byte("Content-Length")):
			u, err := strconv.ParseUint(string(val), 10, 63)
			n := int64(u)
			if err != nil || (h.contentLength >= 0 && n != h.contentLength) {
				return h, fmt.Errorf("bad Content-Length %q", truncate(val, 32))
			}
			h.contentLength = n
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			if !bytes.EqualFold(val, []byte("chunked")) {
				return h, fmt.Errorf("unsupported transfer encoding %q", truncate(val, 32))
			}
			h.chunked = true
		case bytes.EqualFold(name, []byte("Content-Encoding")):
			switch {
			case bytes.EqualFold(val, []byte("gzip")):
				h.gzip = true
			case len(val) == 0 || bytes.EqualFold(val, []byte("identity")):
			default:
				return h, fmt.Errorf("unsupported content encoding %q", truncate(val, 32))
			}
		case bytes.EqualFold(name, []byte("Connection")):
			for _, tok := range bytes.Split(val, []byte(",")) {
				tok = bytes.TrimSpace(tok)
				if bytes.EqualFold(tok, []byte("close")) {
					h.close = true
				}
				if bytes.EqualFold(tok, []byte("keep-alive")) {
					keepAlive = true
				}
			}
		}
	}
	if http10 {
		h.chunked = false // Transfer-Encoding is an HTTP/1.1 thing; net/http ignores it too.
	}
	if h.chunked {
		h.contentLength = -1 // RFC 9112 6.3: chunked wins.
	}
	if http10 && !keepAlive {
		h.close = true
	}
	if h.status == http.StatusNoContent || h.status == http.StatusNotModified || h.status < 200 {
		h.contentLength, h.chunked = 0, false
	}
	if h.contentLength < 0 && !h.chunked {
		h.close = true // The body ends when the server closes.
	}
	return h, nil
}

func trimEOL(b []byte) []byte {
	b = b[:len(b)-1]
	if len(b) > 0 && b[len(b)-1] == '\r' {
		b = b[:len(b)-1]
	}
	return b
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}

// bodyReader reads one response body (Content-Length, chunked or until the
// connection closes) from the connection's buffered reader.
type bodyReader struct {
	br        *bufio.Reader
	remaining int64 // in the body (Content-Length) or the current chunk
	chunked   bool
	chunkSeen bool
	untilEOF  bool
	eof       bool
	err       error
}

func (r *bodyReader) reset(br *bufio.Reader, h responseHead) {
	*r = bodyReader{br: br, chunked: h.chunked}
	switch {
	case h.chunked:
	case h.contentLength >= 0:
		r.remaining = h.contentLength
		r.eof = h.contentLength == 0
	default:
		r.untilEOF = true
	}
}

// done reports whether the whole body has been read.
func (r *bodyReader) done() bool { return r.eof && r.err == nil }

// next makes remaining > 0, or sets eof.
func (r *bodyReader) next() error {
	if r.err != nil {
		return r.err
	}
	if r.eof || r.remaining > 0 || r.untilEOF {
		return nil
	}
	if !r.chunked {
		r.eof = true
		return nil
	}
	r.err = r.nextChunk()
	return r.err
}

// nextChunk reads a chunk header (and, after the last chunk, the trailer).
func (r *bodyReader) nextChunk() error {
	if r.chunkSeen {
		// CRLF after the previous chunk's data.
		if err := r.expectEOL(); err != nil {
			return err
		}
	}
	line, err := r.br.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			err = errors.New("chunk header too long")
		}
		return fmt.Errorf("chunked body: %w", err)
	}
	line = trimEOL(line)
	if i := bytes.IndexByte(line, ';'); i >= 0 {
		line = line[:i] // Chunk extensions are ignored.
	}
	size, err := strconv.ParseUint(string(bytes.TrimSpace(line)), 16, 62)
	if err != nil {
		return fmt.Errorf("chunked body: bad chunk size %q", truncate(line, 32))
	}
	r.remaining = int64(size)
	r.chunkSeen = true
	if size > 0 {
		return nil
	}
	// Last chunk: skip trailer fields up to the empty line.
	for n := 0; ; n++ {
		line, err := r.br.ReadSlice('\n')
		if err != nil || n > maxHeaderLines {
			if err == nil || errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("chunked body trailer: %w", err)
		}
		if len(trimEOL(line)) == 0 {
			break
		}
	}
	r.eof = true
	return nil
}

func (r *bodyReader) expectEOL() error {
	b, err := r.br.ReadByte()
	if err == nil && b == '\r' {
		b, err = r.br.ReadByte()
	}
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("chunked body: %w", err)
	}
	if b != '\n' {
		return errors.New("chunked body: missing CRLF after chunk data")
	}
	return nil
}

func (r *bodyReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if err := r.next(); err != nil {
		return 0, err
	}
	if r.eof {
		return 0, io.EOF
	}
	if !r.untilEOF && int64(len(p)) > r.remaining {
		p = p[:r.remaining]
	}
	n, err := r.br.Read(p)
	r.remaining -= int64(n)
	if err != nil {
		if errors.Is(err, io.EOF) {
			if r.untilEOF {
				r.eof = true
				return n, io.EOF
			}
			err = io.ErrUnexpectedEOF
		}
		r.err = err
	}
	return n, r.err
}
