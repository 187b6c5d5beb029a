package apphost

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// frontFixture is a frontServer on a loopback port serving handler.
type frontFixture struct {
	t      *testing.T
	s      *frontServer
	ln     net.Listener
	served chan error
	fast   atomic.Int32 // requests the handler saw through the front server's own path
}

func startFrontServer(t *testing.T, handler http.HandlerFunc, setup ...func(*frontServer)) *frontFixture {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fx := &frontFixture{t: t, ln: ln, served: make(chan error, 1)}
	fx.s = newFrontServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := w.(*frontWriter); ok {
			fx.fast.Add(1)
		}
		handler(w, r)
	}), slog.New(slog.DiscardHandler), time.Second)
	for _, f := range setup {
		f(fx.s)
	}
	go func() { fx.served <- fx.s.Serve(ln) }()
	t.Cleanup(func() { fx.stop() })
	return fx
}

func (fx *frontFixture) stop() {
	if fx.ln == nil {
		return
	}
	fx.ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := fx.s.Shutdown(ctx); err != nil {
		fx.t.Errorf("shutdown: %v", err)
		fx.s.Close()
	}
	if err := <-fx.served; !errors.Is(err, http.ErrServerClosed) {
		fx.t.Errorf("serve: %v", err)
	}
	fx.ln = nil
}

// dial opens a client connection; send writes raw bytes and read reads
// one response.
type frontClient struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func (fx *frontFixture) dial() *frontClient {
	c, err := net.Dial("tcp", fx.ln.Addr().String())
	if err != nil {
		fx.t.Fatal(err)
	}
	fx.t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return &frontClient{t: fx.t, c: c, br: bufio.NewReader(c)}
}

func (fc *frontClient) send(s string) {
	fc.t.Helper()
	if _, err := io.WriteString(fc.c, s); err != nil {
		fc.t.Fatal(err)
	}
}

func (fc *frontClient) read(method string) (*http.Response, string) {
	fc.t.Helper()
	resp, err := http.ReadResponse(fc.br, &http.Request{Method: method})
	if err != nil {
		fc.t.Fatalf("read response: %v", err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		fc.t.Fatalf("read body: %v", err)
	}
	return resp, string(b)
}

// closed reports whether the server closed the connection (the end of
// the stream or a reset), rather than keeping it open past the
// connection's deadline.
func (fc *frontClient) closed() bool {
	_, err := fc.br.ReadByte()
	return err != nil && !errors.Is(err, os.ErrDeadlineExceeded)
}

// echoHandler answers with the request's method, target, host, a field
// and its body.
func echoHandler(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Length", fmt.Sprint(len(r.Method+r.RequestURI+r.Host+r.Header.Get("X-A")+string(b))+4))
	fmt.Fprintf(w, "%s %s %s %s %s", r.Method, r.RequestURI, r.Host, r.Header.Get("X-A"), b)
}

// TestFrontServerKeepAlive: pipelined requests on one connection, with
// and without bodies, are all served by the front server itself, in
// order.
func TestFrontServerKeepAlive(t *testing.T) {
	fx := startFrontServer(t, echoHandler)
	fc := fx.dial()
	fc.send("GET /a?x=1 HTTP/1.1\r\nHost: h1\r\nX-A: 1\r\n\r\n" +
		"POST /b HTTP/1.1\r\nHost: h2\r\nContent-Length: 5\r\n\r\nhello" +
		"GET /c HTTP/1.1\r\nHost: h3\r\nx-a:  3 \r\n\r\n")
	for _, want := range []string{"GET /a?x=1 h1 1 ", "POST /b h2  hello", "GET /c h3 3 "} {
		resp, body := fc.read("GET")
		if resp.StatusCode != 200 || body != want {
			t.Errorf("got %d %q, want %q", resp.StatusCode, body, want)
		}
		if resp.Close {
			t.Error("the response closes the connection")
		}
	}
	// A body sent after its head, in pieces.
	fc.send("PUT /d HTTP/1.1\r\nHost: h4\r\nContent-Length: 6\r\n\r\nab")
	time.Sleep(20 * time.Millisecond)
	fc.send("cdef")
	if _, body := fc.read("PUT"); body != "PUT /d h4  abcdef" {
		t.Errorf("body in pieces: %q", body)
	}
	if n := fx.fast.Load(); n != 4 {
		t.Errorf("%d of 4 requests through the front server's path", n)
	}
}

// TestFrontServerHTTP10: an HTTP/1.0 request closes its connection unless
// it asks for keep-alive.
func TestFrontServerHTTP10(t *testing.T) {
	fx := startFrontServer(t, echoHandler)
	fc := fx.dial()
	fc.send("GET /k HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
	resp, body := fc.read("GET")
	if body != "GET /k   " || resp.Close {
		t.Errorf("keep-alive: %q close %v", body, resp.Close)
	}
	fc.send("GET /c HTTP/1.0\r\n\r\n")
	if resp, _ := fc.read("GET"); !resp.Close {
		t.Error("an HTTP/1.0 response without keep-alive does not close")
	}
	if !fc.closed() {
		t.Error("the connection stayed open")
	}
}

// TestFrontServerFraming: a body of unknown length goes with a length
// when it is small and the handler does not flush, chunked when flushed
// (with trailers), and until the close to an HTTP/1.0 client.
func TestFrontServerFraming(t *testing.T) {
	fx := startFrontServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/small":
			io.WriteString(w, "small")
		case "/stream":
			w.Header().Set("Trailer", "X-Sum")
			io.WriteString(w, "part1,")
			w.(http.Flusher).Flush()
			io.WriteString(w, "part2")
			w.Header().Set("X-Sum", "42")
			w.Header().Set(http.TrailerPrefix+"X-Late", "yes")
		case "/large":
			w.Write(make([]byte, 3*frontWriteBuffer))
		case "/head":
			w.Header().Set("Content-Length", "100")
		case "/nocontent":
			w.WriteHeader(http.StatusNoContent)
		case "/early":
			w.Header().Set("Link", "</x>")
			w.WriteHeader(http.StatusEarlyHints)
			io.WriteString(w, "after hints")
		}
	})
	fc := fx.dial()
	fc.send("GET /small HTTP/1.1\r\nHost: a\r\n\r\n")
	if resp, body := fc.read("GET"); resp.ContentLength != 5 || body != "small" || resp.Header.Get("Date") == "" {
		t.Errorf("small: length %d %q date %q", resp.ContentLength, body, resp.Header.Get("Date"))
	}
	fc.send("GET /stream HTTP/1.1\r\nHost: a\r\n\r\n")
	resp, body := fc.read("GET")
	if len(resp.TransferEncoding) == 0 || body != "part1,part2" || resp.Trailer.Get("X-Sum") != "42" || resp.Trailer.Get("X-Late") != "yes" {
		t.Errorf("stream: %v %q trailers %v", resp.TransferEncoding, body, resp.Trailer)
	}
	fc.send("GET /large HTTP/1.1\r\nHost: a\r\n\r\n")
	if resp, body := fc.read("GET"); len(resp.TransferEncoding) == 0 || len(body) != 3*frontWriteBuffer {
		t.Errorf("large: %v, %d bytes", resp.TransferEncoding, len(body))
	}
	fc.send("HEAD /head HTTP/1.1\r\nHost: a\r\n\r\n")
	if resp, body := fc.read("HEAD"); resp.ContentLength != 100 || body != "" {
		t.Errorf("head: length %d %q", resp.ContentLength, body)
	}
	fc.send("GET /nocontent HTTP/1.1\r\nHost: a\r\n\r\n")
	if resp, _ := fc.read("GET"); resp.StatusCode != 204 {
		t.Errorf("no content: %d", resp.StatusCode)
	}
	fc.send("GET /early HTTP/1.1\r\nHost: a\r\n\r\n")
	if resp, _ := fc.read("GET"); resp.StatusCode != http.StatusEarlyHints || resp.Header.Get("Link") != "</x>" {
		t.Errorf("early hints: %d %v", resp.StatusCode, resp.Header)
	}
	resp, body = fc.read("GET")
	if resp.StatusCode != 200 || body != "after hints" {
		t.Errorf("after early hints: %d %q", resp.StatusCode, body)
	}
	fc10 := fx.dial()
	fc10.send("GET /large HTTP/1.0\r\n\r\n")
	if resp, body := fc10.read("GET"); len(resp.TransferEncoding) != 0 || !resp.Close || len(body) != 3*frontWriteBuffer {
		t.Errorf("large to HTTP/1.0: %v close %v, %d bytes", resp.TransferEncoding, resp.Close, len(body))
	}
}

// TestFrontServerHandOff: requests the front server does not take go to
// net/http's server with the bytes already read, which serves them (or
// refuses them) as it always did, for the rest of the connection.
func TestFrontServerHandOff(t *testing.T) {
	fx := startFrontServer(t, echoHandler)
	for _, tc := range []struct {
		name, req string
		code      int
		body      string
		continued bool // a 100 Continue comes first
	}{
		{"chunked body", "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 200, "POST /c a  abc", false},
		{"expect", "POST /e HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi", 200, "POST /e a  hi", true},
		{"large body", "POST /l HTTP/1.1\r\nHost: a\r\nContent-Length: 70000\r\n\r\n" + strings.Repeat("x", 70000), 200, "POST /l a  " + strings.Repeat("x", 70000), false},
		{"absolute form", "GET http://b/abs HTTP/1.1\r\nHost: b\r\n\r\n", 200, "GET http://b/abs b  ", false},
		{"bare LF", "GET /lf HTTP/1.1\nHost: a\n\n", 200, "GET /lf a  ", false},
		{"no host", "GET / HTTP/1.1\r\n\r\n", 400, "", false},
		{"two hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "", false},
		{"bad request line", "GET /\x00 HTTP/1.1\r\nHost: a\r\n\r\n", 400, "", false},
		{"bad field", "GET / HTTP/1.1\r\nHost: a\r\nBad Field: 1\r\n\r\n", 400, "", false},
		// net/http joins folded lines, and takes any HTTP/1.x.
		{"folded field", "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n 2\r\n\r\n", 200, "GET / a 1 2 ", false},
		{"other minor version", "GET /v HTTP/1.7\r\nHost: a\r\n\r\n", 200, "GET /v a  ", false},
		// Without TLS, net/http's server passes the HTTP/2 preface's
		// request line to the handler like any other.
		{"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\n", 200, "PRI *   ", false},
		{"huge head", "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + strings.Repeat("b", 2<<20) + "\r\n\r\n", 431, "", false},
	} {
		fc := fx.dial()
		fc.send(tc.req)
		if tc.continued {
			if resp, _ := fc.read("GET"); resp.StatusCode != http.StatusContinue {
				t.Errorf("%s: %d first, want 100", tc.name, resp.StatusCode)
			}
		}
		if tc.code == http.StatusRequestHeaderFieldsTooLarge {
			// The server closes while the head is still coming: the
			// body may be cut by a reset.
			resp, err := http.ReadResponse(fc.br, nil)
			if err != nil || resp.StatusCode != tc.code {
				t.Errorf("%s: %v %v, want %d", tc.name, resp, err, tc.code)
			}
			continue
		}
		resp, body := fc.read("GET")
		if resp.StatusCode != tc.code || tc.body != "" && body != tc.body {
			t.Errorf("%s: %d %.40q, want %d %.40q", tc.name, resp.StatusCode, body, tc.code, tc.body)
		}
		if tc.code == 200 && !strings.HasPrefix(tc.req, "PRI") {
			// The connection stays net/http's, and keeps working.
			fc.send("GET /next HTTP/1.1\r\nHost: n\r\n\r\n")
			if _, body := fc.read("GET"); body != "GET /next n  " {
				t.Errorf("%s: the next request: %q", tc.name, body)
			}
		}
	}
	if n := fx.fast.Load(); n != 0 {
		t.Errorf("%d handed-off requests went through the front server's path", n)
	}
}

// TestFrontServerUnreadBody: a body the handler did not read (as with a
// 413) is skipped, and the next request on the connection is served.
func TestFrontServerUnreadBody(t *testing.T) {
	fx := startFrontServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > 3 {
			http.Error(w, "too large", http.StatusRequestEntityTooLarge)
			return
		}
		echoHandler(w, r)
	})
	fc := fx.dial()
	fc.send("POST /big HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n0123")
	if resp, _ := fc.read("POST"); resp.StatusCode != 413 {
		t.Errorf("big: %d", resp.StatusCode)
	}
	fc.send("456789GET /after HTTP/1.1\r\nHost: a\r\n\r\n")
	if _, body := fc.read("GET"); body != "GET /after a  " {
		t.Errorf("after an unread body: %q", body)
	}
}

// TestFrontServerClientGone: a request that outlasts watchDelay ends its
// context when the client closes the connection, as under net/http's
// server; a pipelined request read by the watcher is still served.
func TestFrontServerClientGone(t *testing.T) {
	cause := make(chan error, 1)
	fx := startFrontServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/wait":
			<-r.Context().Done()
			cause <- context.Cause(r.Context())
		case "/slow":
			time.Sleep(5 * watchDelay)
			io.WriteString(w, "slow")
		default:
			echoHandler(w, r)
		}
	})
	fc := fx.dial()
	fc.send("GET /slow HTTP/1.1\r\nHost: a\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n")
	if _, body := fc.read("GET"); body != "slow" {
		t.Errorf("slow: %q", body)
	}
	if _, body := fc.read("GET"); body != "GET /next a  " {
		t.Errorf("pipelined behind a slow one: %q", body)
	}
	fc.send("GET /wait HTTP/1.1\r\nHost: a\r\n\r\n")
	time.Sleep(3 * watchDelay)
	fc.c.Close()
	select {
	case err := <-cause:
		if !errors.Is(err, errClientGone) {
			t.Errorf("context ended with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the request's context did not end when the client went away")
	}
}

// TestFrontServerShutdown: Shutdown closes idle connections (and new ones
// that sent nothing) at once, lets
// a request in flight finish with Connection: close, and returns.
func TestFrontServerShutdown(t *testing.T) {
	release := make(chan struct{})
	fx := startFrontServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hold" {
			<-release
		}
		io.WriteString(w, "done")
	})
	idle := fx.dial()
	idle.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	idle.read("GET")
	fresh := fx.dial() // connected, and sent nothing yet
	busy := fx.dial()
	busy.send("GET /hold HTTP/1.1\r\nHost: a\r\n\r\n")
	time.Sleep(50 * time.Millisecond)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		fx.stop()
	}()
	if !idle.closed() {
		t.Error("an idle connection stayed open")
	}
	if !fresh.closed() {
		t.Error("a connection that had sent nothing stayed open")
	}
	select {
	case <-stopped:
		t.Fatal("shutdown returned with a request in flight")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	resp, body := busy.read("GET")
	if body != "done" || !resp.Close {
		t.Errorf("the request in flight: %q close %v", body, resp.Close)
	}
	<-stopped
}

// TestFrontServerPanic: a handler's panic closes its connection (an
// aborted response, for ErrAbortHandler) and leaves the server serving.
func TestFrontServerPanic(t *testing.T) {
	fx := startFrontServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/abort" {
			io.WriteString(w, "partial")
			panic(http.ErrAbortHandler)
		}
		echoHandler(w, r)
	})
	fc := fx.dial()
	fc.send("GET /abort HTTP/1.1\r\nHost: a\r\n\r\n")
	if !fc.closed() {
		t.Error("an aborted response left its connection open")
	}
	fc = fx.dial()
	fc.send("GET /ok HTTP/1.1\r\nHost: a\r\n\r\n")
	if _, body := fc.read("GET"); body != "GET /ok a  " {
		t.Errorf("after a panic: %q", body)
	}
}

// TestFrontServerIdleTimeout: a kept-alive connection with no request is
// closed after the idle timeout, and one with half a head after the
// header timeout.
func TestFrontServerIdleTimeout(t *testing.T) {
	fx := startFrontServer(t, echoHandler, func(s *frontServer) {
		s.idleTimeout, s.headerTimeout = 100*time.Millisecond, 100*time.Millisecond
	})
	fc := fx.dial()
	fc.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	fc.read("GET")
	start := time.Now()
	if !fc.closed() {
		t.Error("an idle connection was not closed")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("closed after %v", d)
	}
	fc = fx.dial()
	fc.send("GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHo")
	fc.read("GET")
	if !fc.closed() {
		t.Error("a connection with an unfinished head was not closed")
	}
}

// TestFrontServerHeaderTimeoutAfterIdle: a kept-alive connection waits for
// its next request with the idle timeout, set lazily (see lazyDeadline);
// the first bytes of a head that then stalls get the header timeout, far
// shorter, not what is left of the idle one.
func TestFrontServerHeaderTimeoutAfterIdle(t *testing.T) {
	fx := startFrontServer(t, echoHandler, func(s *frontServer) {
		s.idleTimeout, s.headerTimeout = time.Hour, 100*time.Millisecond
	})
	fc := fx.dial()
	for range 3 {
		fc.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
		fc.read("GET")
	}
	time.Sleep(150 * time.Millisecond) // longer than the header timeout: idle is not a stalled head
	fc.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	fc.read("GET")
	fc.send("GET / HTTP/1.1\r\nHo")
	start := time.Now()
	if !fc.closed() {
		t.Error("a kept-alive connection with an unfinished head was not closed")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("closed after %v, want about the header timeout (100ms)", d)
	}
}

// TestClientGoneThroughApp: a client that goes away while the worker
// works on its request (served by the front server with deadlines, not a
// context per request) ends the request at once: it is counted as 499,
// the worker is freed and not killed, and the next request is served.
func TestClientGoneThroughApp(t *testing.T) {
	th := startHost(t, Options{})
	port := freeTestPort(t)
	th.writeApp("echo.yml", echoApp(port, "request_timeout: 5m\n"))
	th.Update(nil, th.dir)
	before := th.waitReady("echo", 1)
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(c, "GET /sleep?d=5m HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the request to be in flight", func() bool {
		return th.metric("argus_app_in_flight_requests", "app", "echo") == 1
	})
	c.Close()
	waitFor(t, "the request to end", func() bool {
		return th.metric("argus_app_in_flight_requests", "app", "echo") == 0
	})
	if n := th.metric("argus_app_requests_total", "app", "echo", "method", "GET", "code", "499"); n != 1 {
		t.Errorf("requests with code 499: %v, want 1", n)
	}
	if code, _ := th.get(fmt.Sprintf("http://127.0.0.1:%d/", port)); code != http.StatusOK {
		t.Errorf("the next request: %d", code)
	}
	if now := th.waitReady("echo", 1); now[0] != before[0] {
		t.Errorf("the worker was replaced: pid %d, then %d", before[0], now[0])
	}
	if n := th.metric("argus_app_upstream_errors_total", "app", "echo", "kind", "timeout"); n != 0 {
		t.Errorf("upstream timeouts = %v, want 0", n)
	}
}

// TestFrontServerHandlerDeadline: a handler that sets the connection's
// read deadline itself (the proxy does, through http.ResponseController,
// at the request timeout) leaves a deadline the front server did not set
// lazily: the next request on the connection gets a fresh one, not the
// handler's, which has passed.
func TestFrontServerHandlerDeadline(t *testing.T) {
	fx := startFrontServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/deadline" {
			if err := http.NewResponseController(w).SetReadDeadline(time.Now()); err != nil {
				t.Errorf("set read deadline: %v", err)
			}
		}
		echoHandler(w, r)
	}), func(s *frontServer) { s.idleTimeout, s.headerTimeout = time.Hour, time.Hour })
	fc := fx.dial()
	for _, path := range []string{"/", "/deadline", "/after"} {
		fc.send("GET " + path + " HTTP/1.1\r\nHost: a\r\n\r\n")
		if resp, body := fc.read("GET"); resp.StatusCode != http.StatusOK || !strings.Contains(body, path) {
			t.Fatalf("GET %s: %d %q", path, resp.StatusCode, body)
		}
	}
}
