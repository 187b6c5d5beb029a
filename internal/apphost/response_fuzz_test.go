package apphost

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
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

// FuzzWorkerHead: a worker's response written through the front server's
// writer straight from the worker connection's buffer (writeWorkerHead)
// reaches the client as it does through the header map and WriteHeader
// (copyHead): the same responses, fields (in any order), Date and body.
func FuzzWorkerHead(f *testing.F) {
	for _, seed := range []string{
		"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nDate: Fri, 27 Nov 2026 17:59:49 GMT\r\nContent-Length: 13\r\n\r\nHello, world\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: x-drop, keep-alive\r\nX-Drop: 1\r\nKeep-Alive: timeout=5\r\nSet-Cookie: a=1\r\nX-A: 2\r\nSet-Cookie: b=2\r\n\r\nhello",
		"HTTP/1.0 200 OK\r\n\r\nuntil the close",
		"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 204 No Content\r\nX-B: 1\r\n\r\n",
		"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\nEtag: \"x\"\r\n\r\n",
		"HTTP/1.1 404 Not Found\r\nproxy-connection: x\r\nte: y\r\nupgrade: z\r\ncontent-length: 3\r\n\r\nabc",
		"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
	} {
		for _, v := range []uint8{0, 1, 2, 3} {
			f.Add([]byte(seed), v)
		}
	}
	a := &app{buffers: &copyBuffers{}}
	f.Fuzz(func(t *testing.T, data []byte, variant uint8) {
		method, minor := "GET", 1
		if variant&1 != 0 {
			method = "HEAD"
		}
		if variant&2 != 0 {
			minor = 0
		}
		run := func(raw bool) (out []byte, code int, n int64, ok bool) {
			var buf bytes.Buffer
			fc := &frontConn{s: &frontServer{}, rw: &buf, header: http.Header{}}
			r := &http.Request{Method: method, ProtoMajor: 1, ProtoMinor: minor, Header: http.Header{}}
			fc.w = frontWriter{c: fc, header: fc.header, req: r, length: -1}
			w := &recorder{ResponseWriter: &fc.w}
			c := &upstreamConn{br: bufio.NewReaderSize(bytes.NewReader(data), connBufferSize)}
			h, err := readHead(c, w, method)
			if err != nil || !rawHeadable(h) {
				return nil, 0, 0, false
			}
			if raw {
				if !fc.w.canTakeWorkerHead() {
					t.Fatalf("a head after informational responses cannot be taken: %v", fc.w.header)
				}
				w.noteCode(h.code)
				fc.w.writeWorkerHead(h.code, c, h.connection)
			} else {
				copyHead(w.Header(), c, h.connection)
				w.WriteHeader(h.code)
			}
			a.copyBody(w, c, h)
			fc.w.finish()
			return buf.Bytes(), w.code, w.n, true
		}
		viaMap, mapCode, mapN, ok := run(false)
		if !ok {
			return
		}
		raw, rawCode, rawN, _ := run(true)
		if mapCode != rawCode || mapN != rawN {
			t.Fatalf("recorded %d, %d bytes through the map; %d, %d bytes raw", mapCode, mapN, rawCode, rawN)
		}
		want, got := clientView(t, viaMap, method), clientView(t, raw, method)
		if want != got {
			t.Fatalf("the client got through the map:\n%s\nand raw:\n%s\n(bytes %q and %q)", want, got, viaMap, raw)
		}
	})
}

// clientView renders the responses in b as a client reads them: status,
// fields sorted by name (a Date's value left out: the clock may have
// moved), body.
func clientView(t *testing.T, b []byte, method string) string {
	br := bufio.NewReader(bytes.NewReader(b))
	var out strings.Builder
	for {
		resp, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			fmt.Fprintf(&out, "error: %v\n", err)
			return out.String()
		}
		fmt.Fprintf(&out, "%s\n", resp.Status)
		keys := slices.Sorted(maps.Keys(resp.Header))
		for _, k := range keys {
			if k == "Date" {
				fmt.Fprintf(&out, "Date: (%d)\n", len(resp.Header[k]))
				continue
			}
			fmt.Fprintf(&out, "%s: %q\n", k, resp.Header[k])
		}
		body, err := io.ReadAll(resp.Body)
		fmt.Fprintf(&out, "length %d chunked %v close %v body %q err %v\n", resp.ContentLength, resp.TransferEncoding, resp.Close, body, err)
		if resp.StatusCode >= 200 {
			return out.String()
		}
	}
}
