package apphost

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// frontWriter is the front server's http.ResponseWriter. The head is
// rendered into the connection's write buffer at WriteHeader, as net/http
// snapshots it there; the body follows in the same buffer, so that a
// response that fits goes out in one write when the handler returns. A
// body whose length the handler did not give is held back (up to the
// buffer's size) until the handler returns, and then sent with a length;
// a longer one, or one the handler flushes, is sent chunked to an
// HTTP/1.1 client and until the close to an HTTP/1.0 one.
type frontWriter struct {
	c      *frontConn
	header http.Header
	req    *http.Request

	wroteHeader bool  // a final status was written
	headDone    bool  // the head's framing is decided and in c.wbuf
	noBody      bool  // HEAD, 204 or 304
	chunked     bool  // the body is sent chunked
	close       bool  // the connection closes after the response
	length      int64 // the handler's Content-Length, or -1
	written     int64 // body bytes sent or held
	trailers    []string
	err         error // of a write to the client; later writes fail with it
}

func (w *frontWriter) Header() http.Header { return w.header }

func (w *frontWriter) WriteHeader(code int) {
	if w.wroteHeader {
		return
	}
	c := w.c
	if code < 200 {
		// Informational: sent at once, and the fields stay for the
		// final response (the handler clears them if it wants to).
		c.wbuf = appendStatusLine(c.wbuf, code)
		c.wbuf = w.appendFields(c.wbuf, false)
		c.wbuf = append(c.wbuf, "\r\n"...)
		w.flushOut()
		return
	}
	w.wroteHeader = true
	w.noBody = bodyless(w.req.Method, code)
	c.wbuf = appendStatusLine(c.wbuf[:0], code)
	c.wbuf = w.appendFields(c.wbuf, true)
	if w.noBody || w.length >= 0 {
		w.endHead(false)
	}
}

// appendFields appends the header fields to b; final notes what the
// final response's head says of its framing and connection.
func (w *frontWriter) appendFields(b []byte, final bool) []byte {
	for k, vv := range w.header {
		switch {
		case strings.HasPrefix(k, http.TrailerPrefix):
			continue
		case k == "Connection" || k == "Transfer-Encoding":
			// The framing and the connection are the server's to
			// decide; a handler asking to close is heard.
			if final && k == "Connection" && hasToken(vv, "close") {
				w.close = true
			}
			continue
		case final && k == "Content-Length" && len(vv) == 1:
			if n, ok := parseLength([]byte(vv[0])); ok {
				w.length = n
			}
		case final && k == "Trailer":
			for _, v := range vv {
				for t := range strings.SplitSeq(v, ",") {
					if t = strings.TrimSpace(t); t != "" {
						w.trailers = append(w.trailers, http.CanonicalHeaderKey(t))
					}
				}
			}
		}
		for _, v := range vv {
			b = appendField(b, k, v)
		}
	}
	if _, ok := w.header["Date"]; !ok && final {
		b = appendDate(b)
	}
	return b
}

// appendDate appends a Date field with the time now, as net/http's server
// adds one to a response without.
func appendDate(b []byte) []byte {
	b = append(b, "Date: "...)
	b = time.Now().UTC().AppendFormat(b, http.TimeFormat)
	return append(b, "\r\n"...)
}

func appendField(b []byte, k, v string) []byte {
	b = append(b, k...)
	b = append(b, ": "...)
	// A value must not end the field early: net/http's server replaces
	// the line breaks a handler put in one with spaces, and so does this.
	for i := 0; i < len(v); i++ {
		if c := v[i]; c == '\r' || c == '\n' {
			b = append(b, ' ')
		} else {
			b = append(b, c)
		}
	}
	return append(b, "\r\n"...)
}

func appendStatusLine(b []byte, code int) []byte {
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, ' ')
	if text := http.StatusText(code); text != "" {
		b = append(b, text...)
	} else {
		b = append(b, "status code "...)
		b = strconv.AppendInt(b, int64(code), 10)
	}
	return append(b, "\r\n"...)
}

// endHead decides the body's framing and ends the head, followed by the
// body held so far. streaming is set when the body's length is not known.
func (w *frontWriter) endHead(streaming bool) {
	c := w.c
	w.headDone = true
	switch {
	case w.noBody || w.length >= 0:
	case streaming && w.req.ProtoMinor >= 1:
		w.chunked = true
		c.wbuf = append(c.wbuf, "Transfer-Encoding: chunked\r\n"...)
	case streaming:
		w.close = true // HTTP/1.0: the body ends with the connection
	default:
		c.wbuf = append(c.wbuf, "Content-Length: "...)
		c.wbuf = strconv.AppendInt(c.wbuf, int64(len(c.pend)), 10)
		c.wbuf = append(c.wbuf, "\r\n"...)
	}
	if c.s.closing.Load() {
		w.close = true
	}
	if w.close {
		c.wbuf = append(c.wbuf, "Connection: close\r\n"...)
	} else if w.req.ProtoMinor == 0 {
		c.wbuf = append(c.wbuf, "Connection: keep-alive\r\n"...)
	}
	c.wbuf = append(c.wbuf, "\r\n"...)
	if len(c.pend) > 0 {
		c.wbuf = w.appendBody(c.wbuf, c.pend)
		c.pend = c.pend[:0]
	}
}

func (w *frontWriter) appendBody(b, p []byte) []byte {
	if !w.chunked {
		return append(b, p...)
	}
	b = strconv.AppendInt(b, int64(len(p)), 16)
	b = append(b, "\r\n"...)
	b = append(b, p...)
	return append(b, "\r\n"...)
}

func (w *frontWriter) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.err != nil {
		return 0, w.err
	}
	if w.noBody {
		if w.req.Method == http.MethodHead {
			return len(p), nil
		}
		return 0, http.ErrBodyNotAllowed
	}
	if w.length >= 0 && w.written+int64(len(p)) > w.length {
		return 0, http.ErrContentLength
	}
	if len(p) == 0 {
		return 0, nil
	}
	w.written += int64(len(p))
	c := w.c
	if !w.headDone {
		if len(c.pend)+len(p) <= frontWriteBuffer && len(w.trailers) == 0 {
			c.pend = append(c.pend, p...)
			return len(p), nil
		}
		w.endHead(true)
	}
	c.wbuf = w.appendBody(c.wbuf, p)
	if len(c.wbuf) >= frontWriteBuffer {
		w.flushOut()
	}
	if w.err != nil {
		return 0, w.err
	}
	return len(p), nil
}

// Flush sends what is buffered; a body without a length is chunked from
// then on.
func (w *frontWriter) Flush() { w.FlushError() }

// FlushError is Flush for http.ResponseController, with the write's
// error.
func (w *frontWriter) FlushError() error {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.headDone {
		w.endHead(true)
	}
	w.flushOut()
	return w.err
}

// SetReadDeadline and SetWriteDeadline are for http.ResponseController:
// the proxy ends a request body's read at the request timeout.
func (w *frontWriter) SetReadDeadline(t time.Time) error {
	w.c.dlTouched.Store(true)
	return w.c.conn.SetReadDeadline(t)
}
func (w *frontWriter) SetWriteDeadline(t time.Time) error { return w.c.conn.SetWriteDeadline(t) }

// finish ends the response after the handler returned, and reports the
// error of writing it.
func (w *frontWriter) finish() error {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.headDone {
		w.endHead(len(w.trailers) > 0)
	}
	c := w.c
	if w.chunked {
		c.wbuf = append(c.wbuf, "0\r\n"...)
		for k, vv := range w.header {
			name, ok := strings.CutPrefix(k, http.TrailerPrefix)
			if !ok {
				continue
			}
			for _, v := range vv {
				c.wbuf = appendField(c.wbuf, name, v)
			}
		}
		for _, k := range w.trailers {
			for _, v := range w.header[k] {
				c.wbuf = appendField(c.wbuf, k, v)
			}
		}
		c.wbuf = append(c.wbuf, "\r\n"...)
	}
	if !w.noBody && w.length >= 0 && w.written < w.length {
		// The client sees a short body and the connection's end, not
		// a complete response.
		w.close = true
	}
	w.flushOut()
	return w.err
}

// flushOut writes the write buffer to the client.
func (w *frontWriter) flushOut() {
	c := w.c
	if len(c.wbuf) == 0 || w.err != nil {
		c.wbuf = c.wbuf[:0]
		return
	}
	_, w.err = c.rw.Write(c.wbuf)
	c.wbuf = c.wbuf[:0]
}

// canTakeWorkerHead reports whether writeWorkerHead may write the final
// head: nothing written yet, and no field the handler set itself.
func (w *frontWriter) canTakeWorkerHead() bool {
	return !w.wroteHeader && len(w.header) == 0
}

// rawHeadable reports whether writeWorkerHead can write a worker's
// response head: one with a length or none, and nothing to merge. A
// chunked body (its trailers go through the header map), a Trailer field
// or repeated Content-Length fields take the header map and WriteHeader.
func rawHeadable(h respHead) bool {
	return !h.chunked && !h.trailer && h.lengths <= 1
}

// writeWorkerHead is WriteHeader for a final response head from a worker,
// read into c: the fields go from c's buffer to the client's as they
// came, but for the hop-by-hop ones copyHead leaves out, without the
// header map. It writes what copyHead and WriteHeader would (the fields
// in the worker's order, where the map's is random). Filling the map
// (its strings and slices), walking it and clearing it were a tenth of
// the proxy's CPU outside the system calls. Only for heads rawHeadable
// accepts, on a writer whose header map is empty (see canTakeWorkerHead).
func (w *frontWriter) writeWorkerHead(code int, c *upstreamConn, connection bool) {
	fc := w.c
	w.wroteHeader = true
	w.noBody = bodyless(w.req.Method, code)
	b := appendStatusLine(fc.wbuf[:0], code)
	date := false
	conn := c.connectionValues(connection)
	for _, f := range c.fields {
		k, v := c.head[f.k0:f.k1], c.head[f.v0:f.v1]
		if dropResponseField(string(k), conn) {
			continue
		}
		switch string(k) {
		case "Content-Length":
			// interpret parsed it: one field, a valid length.
			w.length, _ = parseLength(v)
		case "Date":
			date = true
		}
		// parseField refused values with line breaks: the bytes go as
		// they are.
		b = append(b, k...)
		b = append(b, ": "...)
		b = append(b, v...)
		b = append(b, "\r\n"...)
	}
	if !date {
		b = appendDate(b)
	}
	fc.wbuf = b
	if w.noBody || w.length >= 0 {
		w.endHead(false)
	}
}
