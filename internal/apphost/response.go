package apphost

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"syscall"
)

// headerField is one field of a response head, as offsets of its name and
// value in upstreamConn.head.
type headerField struct{ k0, k1, v0, v1 int }

// respHead is what forward needs to know of a worker's response head;
// the fields themselves stay in the connection's scratch.
type respHead struct {
	code       int
	length     int64 // of the body; -1 if chunked or until the close
	chunked    bool
	noBody     bool // HEAD, 204 or 304
	close      bool // the worker closes the connection after the response
	connection bool // there is a Connection field, naming fields to drop
	lengths    int  // Content-Length fields, all with the same value
	trailer    bool // there is a Trailer field
}

var (
	errMalformedHead = errors.New("malformed response head")
	errHeadTooLarge  = fmt.Errorf("response head larger than %d bytes", maxHeadBytes)
)

// readHead reads the final response head to a request with method from
// c, skipping 100 Continue and passing other informational responses on
// to w, as ReverseProxy does.
func readHead(c *upstreamConn, w http.ResponseWriter, method string) (respHead, error) {
	for range max1xx {
		line, err := c.br.ReadSlice('\n')
		if err != nil {
			// Nothing at all is what a kept-alive connection the
			// worker closed gives: the caller may send the request
			// again on a new one. So is a failure to send the request,
			// which a deferred write (see exchange) reports here.
			var oe *net.OpError
			if len(line) == 0 && (errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.As(err, &oe) && oe.Op == "write") {
				return respHead{}, &noResponseError{fmt.Errorf("read response: %w", err)}
			}
			return respHead{}, fmt.Errorf("read response status: %w", err)
		}
		code, minor, ok := parseStatusLine(line)
		if !ok {
			return respHead{}, fmt.Errorf("%w: status line %q", errMalformedHead, bytes.TrimSpace(line))
		}
		if err := c.readFields(); err != nil {
			return respHead{}, err
		}
		switch {
		case code == http.StatusSwitchingProtocols:
			return respHead{}, errors.New("switching protocols without an upgrade asked for")
		case code == http.StatusContinue:
			continue
		case code < 200:
			h := w.Header()
			copyHead(h, c, false)
			w.WriteHeader(code)
			clear(h) // WriteHeader keeps them for the final response
			continue
		}
		return c.interpret(code, minor, method)
	}
	return respHead{}, fmt.Errorf("more than %d informational responses", max1xx)
}

// parseStatusLine parses "HTTP/1.x ddd reason\r\n".
func parseStatusLine(line []byte) (code, minor int, ok bool) {
	line = bytes.TrimRight(line, "\r\n")
	if len(line) < 12 || string(line[:7]) != "HTTP/1." || line[8] != ' ' || len(line) > 12 && line[12] != ' ' {
		return 0, 0, false
	}
	switch line[7] {
	case '0':
	case '1':
		minor = 1
	default:
		return 0, 0, false
	}
	for _, d := range line[9:12] {
		if d < '0' || d > '9' {
			return 0, 0, false
		}
		code = 10*code + int(d-'0')
	}
	return code, minor, code >= 100
}

// readFields reads header fields up to the empty line into c.head and
// c.fields, with names in canonical form.
func (c *upstreamConn) readFields() error {
	c.head, c.fields = c.head[:0], c.fields[:0]
	for {
		start := len(c.head)
		for {
			frag, err := c.br.ReadSlice('\n')
			c.head = append(c.head, frag...)
			if len(c.head) > maxHeadBytes {
				return errHeadTooLarge
			}
			if err == nil {
				break
			}
			if !errors.Is(err, bufio.ErrBufferFull) {
				return fmt.Errorf("read response head: %w", err)
			}
		}
		end := len(c.head) - 1 // the '\n'
		if end > start && c.head[end-1] == '\r' {
			end--
		}
		if end == start {
			c.head = c.head[:start]
			return nil
		}
		f, ok := parseField(c.head, start, end)
		if !ok {
			return fmt.Errorf("%w: field %q", errMalformedHead, c.head[start:end])
		}
		c.fields = append(c.fields, f)
	}
}

// parseField splits the field in b[start:end] into name and value,
// canonicalizing the name in place. Obsolete line folding is refused, as
// RFC 9112 allows.
func parseField(b []byte, start, end int) (headerField, bool) {
	colon := bytes.IndexByte(b[start:end], ':')
	if colon <= 0 {
		return headerField{}, false
	}
	f := headerField{k0: start, k1: start + colon, v0: start + colon + 1, v1: end}
	upper := true
	for i := f.k0; i < f.k1; i++ {
		c := b[i]
		if !isTokenChar(c) {
			return headerField{}, false
		}
		switch {
		case upper && 'a' <= c && c <= 'z':
			b[i] = c - 'a' + 'A'
		case !upper && 'A' <= c && c <= 'Z':
			b[i] = c - 'A' + 'a'
		}
		upper = c == '-'
	}
	for f.v0 < f.v1 && (b[f.v0] == ' ' || b[f.v0] == '\t') {
		f.v0++
	}
	for f.v1 > f.v0 && (b[f.v1-1] == ' ' || b[f.v1-1] == '\t') {
		f.v1--
	}
	for _, c := range b[f.v0:f.v1] {
		if c < ' ' && c != '\t' || c == 0x7f {
			return headerField{}, false
		}
	}
	return f, true
}

// isTokenChar reports whether c may appear in a field name (RFC 9110).
func isTokenChar(c byte) bool {
	if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
		return true
	}
	return c < 0x80 && bytes.IndexByte([]byte("!#$%&'*+-.^_`|~"), c) >= 0
}

// interpret finds how the response's body is framed and whether the
// connection stays open, as RFC 9112 section 6.3 says.
func (c *upstreamConn) interpret(code, minor int, method string) (respHead, error) {
	h := respHead{code: code, length: -1, close: minor == 0}
	for _, f := range c.fields {
		v := c.head[f.v0:f.v1]
		switch string(c.head[f.k0:f.k1]) {
		case "Content-Length":
			n, ok := parseLength(v)
			if !ok || h.length >= 0 && h.length != n {
				return respHead{}, fmt.Errorf("%w: content length %q", errMalformedHead, v)
			}
			h.length = n
			h.lengths++
		case "Trailer":
			h.trailer = true
		case "Transfer-Encoding":
			if !bytes.EqualFold(v, []byte("chunked")) {
				return respHead{}, fmt.Errorf("unsupported transfer encoding %q", v)
			}
			h.chunked = true
		case "Connection":
			h.connection = true
			if hasToken([]string{string(v)}, "close") {
				h.close = true
			} else if minor == 0 && hasToken([]string{string(v)}, "keep-alive") {
				h.close = false
			}
		}
	}
	h.noBody = bodyless(method, code)
	if h.chunked {
		h.length = -1
	}
	return h, nil
}

func parseLength(v []byte) (int64, bool) {
	if len(v) == 0 || len(v) > 18 {
		return 0, false
	}
	var n int64
	for _, d := range v {
		if d < '0' || d > '9' {
			return 0, false
		}
		n = 10*n + int64(d-'0')
	}
	return n, true
}

// connectionValues returns the values of the head's Connection fields,
// which name more fields to drop, when connection says there are any.
func (c *upstreamConn) connectionValues(connection bool) []string {
	if !connection {
		return nil
	}
	var conn []string
	for _, f := range c.fields {
		if string(c.head[f.k0:f.k1]) == "Connection" {
			conn = append(conn, string(c.head[f.v0:f.v1]))
		}
	}
	return conn
}

// dropResponseField reports whether a worker's field k is not passed on:
// a hop-by-hop field, or one the Connection fields' values conn name.
func dropResponseField(k string, conn []string) bool {
	return responseHopField(k) || conn != nil && hasToken(conn, k)
}

// bodyless reports whether a response to method with code has no body,
// whatever its head says: HEAD, 204 and 304.
func bodyless(method string, code int) bool {
	return method == http.MethodHead || code == http.StatusNoContent || code == http.StatusNotModified
}

// copyHead adds c's fields to h, but for hop-by-hop ones: those of
// responseHopField and those a Connection field names. The names and
// values share one string and one slice, so that copying a head of any
// size allocates little.
func copyHead(h http.Header, c *upstreamConn, connection bool) {
	if len(c.fields) == 0 {
		return
	}
	s := string(c.head)
	vals := make([]string, len(c.fields))
	conn := c.connectionValues(connection)
	for i, f := range c.fields {
		k, v := s[f.k0:f.k1], s[f.v0:f.v1]
		if dropResponseField(k, conn) {
			continue
		}
		vals[i] = v
		if old, ok := h[k]; ok {
			h[k] = append(old, v)
		} else {
			h[k] = vals[i : i+1 : i+1]
		}
	}
}

// copyBody copies the response body from c to w through a pooled buffer
// and reports whether c may serve another request. A body without a
// length is flushed at each read, as ReverseProxy does, so that streamed
// responses reach the client as the worker writes them; one with a length
// is left to the server's buffering.
func (a *app) copyBody(w *recorder, c *upstreamConn, h respHead) (bool, error) {
	if h.noBody {
		// Bytes after a head that has no body are not an answer to
		// anything: the connection is out of step, not to be reused.
		return !h.close && c.br.Buffered() == 0, nil
	}
	buf := a.buffers.Get()
	defer a.buffers.Put(buf)
	var body io.Reader = c.br
	switch {
	case h.chunked:
		body = httputil.NewChunkedReader(c.br)
	case h.length >= 0:
		c.limited = io.LimitedReader{R: c.br, N: h.length}
		body = &c.limited // kept in c: one allocation fewer per response
	}
	flush := h.length < 0
	var n int64
	for {
		k, err := body.Read(buf)
		if k > 0 {
			if _, werr := w.Write(buf[:k]); werr != nil {
				return false, &abortError{err: fmt.Errorf("write response: %w", werr), client: true}
			}
			if flush {
				if err := http.NewResponseController(w).Flush(); err != nil {
					return false, &abortError{err: fmt.Errorf("flush response: %w", err), client: true}
				}
			}
			n += int64(k)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return false, &abortError{err: fmt.Errorf("read response body: %w", err)}
		}
	}
	switch {
	case h.length >= 0 && n < h.length:
		return false, &abortError{err: fmt.Errorf("read response body: %w after %d of %d bytes", io.ErrUnexpectedEOF, n, h.length)}
	case h.chunked:
		if err := a.copyTrailers(w, c); err != nil {
			return false, &abortError{err: err}
		}
	case h.length < 0:
		return false, nil // the body ended with the connection
	}
	return !h.close && c.br.Buffered() == 0, nil
}

// copyTrailers reads the trailer fields after a chunked body and has the
// server send them after the body it re-chunks.
func (a *app) copyTrailers(w *recorder, c *upstreamConn) error {
	if err := c.readFields(); err != nil {
		return fmt.Errorf("read trailers: %w", err)
	}
	if len(c.fields) == 0 {
		return nil
	}
	s := string(c.head)
	h := w.Header()
	for _, f := range c.fields {
		k := http.TrailerPrefix + s[f.k0:f.k1]
		h[k] = append(h[k], s[f.v0:f.v1])
	}
	return nil
}
