package apphost

import (
	"bufio"
	"bytes"
	"net/http/httptest"
	"testing"
)

// FuzzResponse feeds arbitrary bytes as a worker's answer to the fast
// path's response parser: the head, the header copy and the body copy
// (length, chunked, until close, trailers) must fail cleanly, never panic
// or read past what they were given, and a body copied with a length must
// not exceed it.
func FuzzResponse(f *testing.F) {
	for _, seed := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n",
		"HTTP/1.0 200 OK\r\n\r\nuntil the close",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 304 Not Modified\r\nConnection: close, X-Drop\r\nX-Drop: 1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
		"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"HTTP/1.1 999\r\n\r\n",
		"garbage\r\n\r\n",
	} {
		f.Add([]byte(seed), false)
		f.Add([]byte(seed), true)
	}
	a := &app{buffers: &copyBuffers{}}
	f.Fuzz(func(t *testing.T, data []byte, head bool) {
		c := &upstreamConn{br: bufio.NewReaderSize(bytes.NewReader(data), connBufferSize)}
		method := "GET"
		if head {
			method = "HEAD"
		}
		rec := httptest.NewRecorder()
		w := &recorder{ResponseWriter: rec}
		h, err := readHead(c, w, method)
		if err != nil {
			return
		}
		if h.code < 100 || h.code > 999 {
			t.Fatalf("status %d accepted", h.code)
		}
		copyHead(w.Header(), c, h.connection)
		w.WriteHeader(h.code)
		a.copyBody(w, c, h)
		if h.length >= 0 && !h.chunked && int64(rec.Body.Len()) > h.length {
			t.Fatalf("copied %d bytes of a %d-byte body", rec.Body.Len(), h.length)
		}
	})
}
