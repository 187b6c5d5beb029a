package apphost

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// fwdReply is the part of examples/echo's answer the fast path tests look
// at.
type fwdReply struct {
	Method  string              `json:"method"`
	Path    string              `json:"path"`
	Headers map[string][]string `json:"headers"`
	Body    string              `json:"body"`
	Remote  string              `json:"remote"` // the proxy's end of its connection to the worker
}

// rawConn sends requests on one connection to a front port and reads the
// answers, so that a response framed wrongly shows in the next one.
type rawConn struct {
	t    *testing.T
	conn net.Conn
	br   *bufio.Reader
}

func dialRaw(t *testing.T, port int) *rawConn {
	t.Helper()
	conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	// Against a hung test only; nothing here depends on it.
	conn.SetDeadline(time.Now().Add(time.Minute))
	return &rawConn{t: t, conn: conn, br: bufio.NewReader(conn)}
}

// do sends method path with the header lines given and returns the
// response with its body read.
func (c *rawConn) do(method, path string, header ...string) (*http.Response, string) {
	c.t.Helper()
	req := method + " " + path + " HTTP/1.1\r\nHost: fwd.test\r\n" + strings.Join(header, "\r\n")
	if len(header) > 0 {
		req += "\r\n"
	}
	if _, err := io.WriteString(c.conn, req+"\r\n"); err != nil {
		c.t.Fatal(err)
	}
	resp, err := http.ReadResponse(c.br, &http.Request{Method: method})
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return resp, string(b)
}

// idleConns returns how many of the fast path's kept-alive connections to
// the app's workers are waiting for a request.
func (th *testHost) idleConns(name string) int {
	th.Host.mu.Lock()
	a := th.Host.apps[name]
	th.Host.mu.Unlock()
	p := a.pool.Load()
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, w := range p.ready {
		w.idle.mu.Lock()
		n += len(w.idle.conns)
		w.idle.mu.Unlock()
		n += int(w.loopIdle.Load())
	}
	return n
}

// postReply posts body to url and decodes the echo's answer.
func (th *testHost) postReply(url, body string) (int, fwdReply) {
	th.t.Helper()
	resp, err := th.client.Post(url, "text/plain", strings.NewReader(body))
	if err != nil {
		th.t.Fatal(err)
	}
	defer resp.Body.Close()
	var r fwdReply
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		th.t.Fatalf("POST %s: %v", url, err)
	}
	return resp.StatusCode, r
}

// TestForward checks the fast path's HTTP/1.1 with a real worker:
// connection reuse, bodies, framing of every kind of response, hop-by-hop
// and forwarding fields, and a worker hanging up midway.
func TestForward(t *testing.T) {
	th := startHost(t, Options{})
	port := freeTestPort(t)
	th.writeApp("echo.yml", echoApp(port, ""))
	th.Update(nil, th.dir)
	th.waitReady("echo", 1)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)

	t.Run("keep-alive", func(t *testing.T) {
		remotes := map[string]bool{}
		for range 5 {
			code, r := th.postReply(base+"/ka", "")
			if code != http.StatusOK {
				t.Fatalf("POST: %d", code)
			}
			remotes[r.Remote] = true
		}
		// One request at a time: one connection to the worker, kept.
		if len(remotes) != 1 {
			t.Errorf("5 requests in a row reached the worker on connections from %v, want one", remotes)
		}
		if n := th.idleConns("echo"); n != 1 {
			t.Errorf("%d idle connections to the worker, want 1", n)
		}
	})

	t.Run("request body", func(t *testing.T) {
		for _, body := range []string{"", "hello body", strings.Repeat("b", maxFastBody+1)} {
			code, r := th.postReply(base+"/post", body)
			if code != http.StatusOK || r.Method != http.MethodPost || r.Body != body {
				t.Errorf("POST of %d bytes: %d %s with a body of %d bytes", len(body), code, r.Method, len(r.Body))
			}
			if got := strings.Join(r.Headers["Content-Length"], ","); got != fmt.Sprint(len(body)) {
				t.Errorf("POST of %d bytes: Content-Length %q at the worker", len(body), got)
			}
		}
	})

	t.Run("chunked response", func(t *testing.T) {
		resp, err := th.client.Get(base + "/chunks?n=3")
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || string(b) != "chunk 0\nchunk 1\nchunk 2\n" {
			t.Errorf("body %q, %v", b, err)
		}
		if len(resp.TransferEncoding) == 0 || resp.TransferEncoding[0] != "chunked" {
			t.Errorf("transfer encoding %v, want chunked", resp.TransferEncoding)
		}
		if got := resp.Trailer.Get("X-Chunks"); got != "3" {
			t.Errorf("trailer X-Chunks %q, want 3", got)
		}
	})

	t.Run("responses without a body", func(t *testing.T) {
		c := dialRaw(t, port)
		resp, body := c.do(http.MethodHead, "/head")
		if resp.StatusCode != http.StatusOK || body != "" || resp.ContentLength <= 0 {
			t.Errorf("HEAD: %d, length %d, body %q", resp.StatusCode, resp.ContentLength, body)
		}
		resp, body = c.do(http.MethodGet, "/status?code=204")
		if resp.StatusCode != http.StatusNoContent || body != "" {
			t.Errorf("204: %d %q", resp.StatusCode, body)
		}
		resp, body = c.do(http.MethodGet, `/status?code=304&header=ETag:"v1"`)
		if resp.StatusCode != http.StatusNotModified || body != "" || resp.Header.Get("ETag") != `"v1"` {
			t.Errorf("304: %d %q %v", resp.StatusCode, body, resp.Header)
		}
		// The connection is still in step after them.
		resp, body = c.do(http.MethodGet, "/after")
		var r fwdReply
		if err := json.Unmarshal([]byte(body), &r); resp.StatusCode != http.StatusOK || err != nil || r.Path != "/after" {
			t.Errorf("GET after them: %d %q", resp.StatusCode, body)
		}
	})

	t.Run("hop-by-hop fields", func(t *testing.T) {
		c := dialRaw(t, port)
		resp, body := c.do(http.MethodGet, "/hop",
			"Connection: keep-alive, X-Secret", "X-Secret: 1", "Keep-Alive: timeout=5",
			"Proxy-Authorization: Basic eDp5", "Proxy-Connection: keep-alive", "Te: trailers, deflate",
			"Forwarded: for=192.0.2.1", "X-Forwarded-For: 192.0.2.1", "X-Forwarded-Host: forged.test",
			"X-Forwarded-Proto: https", "X-Kept: yes", "X_Forwarded_Prefix: /forged", "X_Forwarded_For: 192.0.2.2")
		var r fwdReply
		if err := json.Unmarshal([]byte(body), &r); resp.StatusCode != http.StatusOK || err != nil {
			t.Fatalf("GET: %d %q", resp.StatusCode, body)
		}
		for _, k := range []string{"Connection", "X-Secret", "Keep-Alive", "Proxy-Authorization", "Proxy-Connection", "Forwarded", "X_forwarded_prefix", "X_forwarded_for", "X_Forwarded_Prefix", "X_Forwarded_For"} {
			if v, ok := r.Headers[k]; ok {
				t.Errorf("the worker got %s: %q", k, v)
			}
		}
		for k, want := range map[string]string{
			"X-Kept": "yes", "Te": "trailers",
			"X-Forwarded-For": "127.0.0.1", "X-Forwarded-Host": "fwd.test", "X-Forwarded-Proto": "http",
		} {
			if got := strings.Join(r.Headers[k], ","); got != want {
				t.Errorf("the worker got %s: %q, want %q", k, got, want)
			}
		}

		resp, _ = c.do(http.MethodGet, "/status?code=200&header=Connection:X-Hop&header=X-Hop:1&header=Keep-Alive:timeout=9&header=X-Kept:yes")
		if resp.Header.Get("X-Hop") != "" || resp.Header.Get("Keep-Alive") != "" || resp.Header.Get("X-Kept") != "yes" {
			t.Errorf("response header at the client: %v", resp.Header)
		}
	})

	t.Run("worker hangs up", func(t *testing.T) {
		before := th.metric("argus_app_upstream_errors_total", "app", "echo", "kind", "response")
		code, body := th.get(base + "/hangup?at=head")
		if code != http.StatusBadGateway || !strings.Contains(body, "failed to answer") {
			t.Errorf("hang-up in the head: %d %q, want 502", code, body)
		}
		// The head had gone to the proxy: the response is aborted, and
		// the client sees it cut short (or nothing, the head being still
		// in the server's buffer). A raw connection, because
		// net/http's client would send the request again on nothing.
		c := dialRaw(t, port)
		io.WriteString(c.conn, "GET /hangup?at=body HTTP/1.1\r\nHost: fwd.test\r\n\r\n")
		resp, err := http.ReadResponse(c.br, nil)
		if err == nil {
			_, err = io.ReadAll(resp.Body)
		}
		if err == nil {
			t.Error("hang-up in the body: the client got a complete response")
		}
		if got := th.metric("argus_app_upstream_errors_total", "app", "echo", "kind", "response"); got != before+2 {
			t.Errorf("response errors went from %v to %v, want 2 more", before, got)
		}
		if code, _ := th.get(base + "/next"); code != http.StatusOK {
			t.Errorf("the request after: %d", code)
		}
	})
}

// TestConnAlive checks the liveness peek that guards sending a request
// that cannot be sent again on a kept-alive connection.
func TestConnAlive(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
		close(accepted)
	}()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c := newUpstreamConn(nc)
	defer c.conn.Close()
	srv, ok := <-accepted
	if !ok {
		t.Fatal("accept failed")
	}
	if !c.alive() {
		t.Error("an open idle connection is not alive")
	}
	srv.Close()
	// The close reaches the client end in its own time; no deadline is
	// asserted, only that it is seen as closed once it has arrived.
	waitFor(t, "the close to be seen", func() bool { return !c.alive() })
}
