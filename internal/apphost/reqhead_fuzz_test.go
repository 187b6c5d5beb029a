package apphost

import (
	"bufio"
	"bytes"
	"net/http"
	"slices"
	"testing"
)

// FuzzRequestHead feeds arbitrary bytes to the front server's request-head
// parser. It must never panic nor claim more bytes than it was given, and
// a head it takes must be one net/http reads the same way: the same
// method, target, host, body length, connection handling and fields.
// Whatever it does not take goes to net/http's server, which answers it
// as before (400, 431...).
func FuzzRequestHead(f *testing.F) {
	for _, seed := range []string{
		"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /p?q=1 HTTP/1.0\r\n\r\n",
		"GET /p HTTP/1.0\r\nConnection: keep-alive\r\nhost: x:8080\r\n\r\n",
		"POST /f HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc",
		"POST /f HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
		"POST /f HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
		"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
		"GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.1\nHost: a\n\n",
		"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\nx-a: 2\r\nConnection: close, X-A\r\n\r\n",
		"GET /%zz HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nX: \x01\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
		"GET / HTTP/1.1\r\nHo",
		"GET /a!b(c)?x=1&y=%20 HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /p? HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /p?? HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET //x/y:z@w HTTP/1.1\r\nHost: a\r\n\r\n",
		"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		buf := slices.Clone(data)
		var h reqHead
		switch parseRequestHead(buf, &h) {
		case headIncomplete:
			if len(data) >= maxFastHead {
				t.Fatalf("incomplete after %d bytes, past the limit", len(data))
			}
			return
		case headHandOff:
			return
		}
		if h.size <= 0 || h.size > len(data) {
			t.Fatalf("head of %d bytes in %d", h.size, len(data))
		}
		var sc reqScratch
		r := sc.newRequest(&http.Request{RemoteAddr: "192.0.2.1:1234"}, string(buf[:h.size]), &h)
		if r == nil {
			return // handed off too
		}
		want, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(data[:h.size])))
		if err != nil {
			t.Fatalf("taken, but net/http refuses it: %v", err)
		}
		switch {
		case r.Method != want.Method, r.RequestURI != want.RequestURI, r.Host != want.Host,
			*r.URL != *want.URL,
			r.ProtoMinor != want.ProtoMinor, r.Proto != want.Proto, r.Close != want.Close:
			t.Fatalf("read as %s %s %q URL %#v host %q close %v, net/http: %s %s %q URL %#v host %q close %v",
				r.Method, r.Proto, r.RequestURI, *r.URL, r.Host, r.Close, want.Method, want.Proto, want.RequestURI, *want.URL, want.Host, want.Close)
		case r.ContentLength != max(want.ContentLength, 0):
			t.Fatalf("body length %d, net/http: %d", r.ContentLength, want.ContentLength)
		case len(r.Header) != len(want.Header):
			t.Fatalf("fields %v, net/http: %v", r.Header, want.Header)
		}
		for k, vv := range want.Header {
			if !slices.Equal(r.Header[k], vv) {
				t.Fatalf("field %s: %q, net/http: %q", k, r.Header[k], vv)
			}
		}
		if len(want.TransferEncoding) > 0 {
			t.Fatalf("taken with transfer encoding %v", want.TransferEncoding)
		}
	})
}
