//go:build linux

package apphost

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/argus-mon/argus/internal/config"
)

// loopConns returns how many client connections of the app's own port
// the event loops hold and how many the goroutine server serves.
func (th *testHost) loopConns(name string) (loops, goroutines int) {
	th.t.Helper()
	th.Host.mu.Lock()
	a := th.Host.apps[name]
	th.Host.mu.Unlock()
	lf := a.srv.loopFront()
	if lf == nil {
		th.t.Fatalf("app %s: its port is not served by event loops", name)
	}
	a.srv.mu.Lock()
	defer a.srv.mu.Unlock()
	return int(lf.conns.Load()), len(a.srv.conns)
}

// TestLoopFront checks what the event loops do of their own with an
// app's port: keep connections, serve pipelined requests in order, hand
// over what they do not serve, pass on a response larger than they hold
// for a client that reads slowly, and notice a client that went away.
// The rest of the proxy's behaviour on an app's port (framing, fields,
// timeouts, hang-ups) goes through them in the other tests.
func TestLoopFront(t *testing.T) {
	th := startHost(t, Options{})
	port := freeTestPort(t)
	th.writeApp("echo.yml", echoApp(port, ""))
	th.Update(nil, th.dir)
	th.waitReady("echo", 1)

	decode := func(t *testing.T, body string) fwdReply {
		t.Helper()
		var r fwdReply
		if err := json.Unmarshal([]byte(body), &r); err != nil {
			t.Fatalf("reply %q: %v", body, err)
		}
		return r
	}

	t.Run("kept by a loop", func(t *testing.T) {
		c := dialRaw(t, port)
		for i := range 3 {
			resp, body := c.do(http.MethodGet, fmt.Sprintf("/k%d", i))
			if r := decode(t, body); resp.StatusCode != http.StatusOK || r.Path != fmt.Sprintf("/k%d", i) {
				t.Fatalf("GET /k%d: %d %q", i, resp.StatusCode, body)
			}
		}
		if loops, gs := th.loopConns("echo"); loops != 1 || gs != 0 {
			t.Errorf("connections: %d in loops and %d in goroutines, want 1 and 0", loops, gs)
		}
	})

	t.Run("pipelined", func(t *testing.T) {
		c := dialRaw(t, port)
		var req strings.Builder
		for i := range 5 {
			fmt.Fprintf(&req, "POST /p%d HTTP/1.1\r\nHost: fwd.test\r\nContent-Length: 2\r\n\r\nb%d", i, i)
		}
		if _, err := io.WriteString(c.conn, req.String()); err != nil {
			t.Fatal(err)
		}
		for i := range 5 {
			resp, err := http.ReadResponse(c.br, nil)
			if err != nil {
				t.Fatalf("response %d: %v", i, err)
			}
			b, _ := io.ReadAll(resp.Body)
			if r := decode(t, string(b)); r.Path != fmt.Sprintf("/p%d", i) || r.Body != fmt.Sprintf("b%d", i) {
				t.Errorf("response %d answers %s with body %q", i, r.Path, r.Body)
			}
		}
	})

	t.Run("handed over", func(t *testing.T) {
		// HTTP/1.0: served by the goroutine server, with the bytes the
		// loop had read. A body that comes a moment after its head
		// stays in the loop.
		c := dialRaw(t, port)
		io.WriteString(c.conn, "GET /old HTTP/1.0\r\nHost: fwd.test\r\nConnection: keep-alive\r\n\r\n")
		resp, err := http.ReadResponse(c.br, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		if r := decode(t, string(b)); r.Path != "/old" {
			t.Errorf("HTTP/1.0: %q", b)
		}
		d := dialRaw(t, port)
		io.WriteString(d.conn, "POST /late HTTP/1.1\r\nHost: fwd.test\r\nContent-Length: 5\r\n\r\n")
		time.Sleep(50 * time.Millisecond)
		io.WriteString(d.conn, "hello")
		resp, err = http.ReadResponse(d.br, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ = io.ReadAll(resp.Body)
		if r := decode(t, string(b)); r.Path != "/late" || r.Body != "hello" {
			t.Errorf("body after the head: %q", b)
		}
		if _, gs := th.loopConns("echo"); gs != 1 {
			t.Errorf("%d connections in goroutines, want the HTTP/1.0 one", gs)
		}
		// It goes on: the next request is answered.
		io.WriteString(c.conn, "GET /again HTTP/1.0\r\nHost: fwd.test\r\nConnection: keep-alive\r\n\r\n")
		if resp, err = http.ReadResponse(c.br, nil); err != nil {
			t.Fatal(err)
		}
		b, _ = io.ReadAll(resp.Body)
		if r := decode(t, string(b)); r.Path != "/again" {
			t.Errorf("next request on the handed-over connection: %q", b)
		}
	})

	t.Run("slow reader", func(t *testing.T) {
		// About 5 MB of chunks, more than the socket buffers and a
		// loop hold for a client that sleeps: the loop stops reading
		// the worker until the client catches up.
		const n = 400000
		// A small receive window, set before the connection is made,
		// so that the socket buffers do not take it all.
		d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
			rc.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 32<<10) })
			return nil
		}}
		conn, err := d.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "GET /chunks?n=%d HTTP/1.1\r\nHost: fwd.test\r\n\r\n", n)
		time.Sleep(1500 * time.Millisecond)
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(resp.Body)
		i := 0
		for sc.Scan() {
			if want := fmt.Sprintf("chunk %d", i); sc.Text() != want {
				t.Fatalf("line %d: %q, want %q", i, sc.Text(), want)
			}
			i++
		}
		if err := sc.Err(); err != nil || i != n {
			t.Fatalf("%d lines, %v; want %d", i, err, n)
		}
		if got := resp.Trailer.Get("X-Chunks"); got != fmt.Sprint(n) {
			t.Errorf("trailer X-Chunks %q", got)
		}
	})

	t.Run("client gone", func(t *testing.T) {
		before := th.metric("argus_app_requests_total", "app", "echo", "code", "499")
		conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(conn, "GET /sleep?d=30s HTTP/1.1\r\nHost: fwd.test\r\n\r\n")
		waitFor(t, "the request in flight", func() bool {
			return th.metric("argus_app_in_flight_requests", "app", "echo") == 1
		})
		conn.Close()
		waitFor(t, "the request counted as 499", func() bool {
			return th.metric("argus_app_requests_total", "app", "echo", "code", "499") == before+1
		})
		if n := th.metric("argus_app_in_flight_requests", "app", "echo"); n != 0 {
			t.Errorf("%v requests in flight after the client left", n)
		}
		// The worker is free for the next request (one worker, whose
		// connection to the proxy was closed under its sleep).
		if code, _ := th.get(fmt.Sprintf("http://127.0.0.1:%d/after", port)); code != http.StatusOK {
			t.Errorf("next request: %d", code)
		}
	})
}

// TestLoopShutdown stops an app whose port the loops serve, with one
// connection idle and one request in flight: the idle connection is
// closed at once, and the request is answered, as the last on its
// connection.
func TestLoopShutdown(t *testing.T) {
	th := startHost(t, Options{})
	port := freeTestPort(t)
	th.writeApp("echo.yml", echoApp(port, ""))
	th.Update(nil, th.dir)
	th.waitReady("echo", 1)

	idle := dialRaw(t, port)
	if resp, _ := idle.do(http.MethodGet, "/first"); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET: %d", resp.StatusCode)
	}
	busy := dialRaw(t, port)
	io.WriteString(busy.conn, "GET /sleep?d=700ms HTTP/1.1\r\nHost: fwd.test\r\n\r\n")
	waitFor(t, "the request in flight", func() bool {
		return th.metric("argus_app_in_flight_requests", "app", "echo") == 1
	})
	os.Remove(filepath.Join(th.dir, "echo.yml"))
	th.Update(nil, th.dir)

	idle.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := idle.br.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("the idle connection: read %d bytes, %v; want it closed", n, err)
	}
	resp, err := http.ReadResponse(busy.br, nil)
	if err != nil {
		t.Fatalf("the request in flight: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || string(b) != "slept 700ms\n" || !resp.Close {
		t.Errorf("the request in flight: %d %q, close %v; want 200, its body, and the connection's end", resp.StatusCode, b, resp.Close)
	}
}

// TestLoopSlowBody: a request body slower than the header timeout is
// handed over with the connection, not dropped: the goroutine server
// reads it, as it reads large bodies.
func TestLoopSlowBody(t *testing.T) {
	th := startHost(t, Options{HeaderTimeout: 300 * time.Millisecond})
	port := freeTestPort(t)
	th.writeApp("echo.yml", echoApp(port, ""))
	th.Update(nil, th.dir)
	th.waitReady("echo", 1)

	c := dialRaw(t, port)
	io.WriteString(c.conn, "POST /slow HTTP/1.1\r\nHost: fwd.test\r\nContent-Length: 9\r\n\r\nslow")
	waitFor(t, "the connection handed over", func() bool {
		_, gs := th.loopConns("echo")
		return gs == 1
	})
	io.WriteString(c.conn, " body")
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	var r fwdReply
	if err := json.Unmarshal(b, &r); err != nil || resp.StatusCode != http.StatusOK || r.Body != "slow body" {
		t.Errorf("POST: %d %q", resp.StatusCode, b)
	}
}

// loopTo serves a port with the event loops of an app whose one ready
// worker is wk, and returns the port's address.
func loopTo(t *testing.T, wk *worker) string {
	t.Helper()
	a := fastPathApp()
	a.series = a.metrics.forApp(a.name)
	p := &pool{spec: &config.App{Name: a.name}, metrics: a.metrics, logger: a.logger,
		ready: []*worker{wk}, changed: make(chan struct{})}
	a.pool.Store(p)
	s := newFrontServer(a, a.logger, 5*time.Second)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		s.Serve(ln)
	}()
	t.Cleanup(func() {
		ln.Close()
		s.Close()
		<-served
	})
	return ln.Addr().String()
}

// getFrom sends one GET or HEAD on a new connection to addr and returns
// the answer's status and body.
func getFrom(t *testing.T, addr, method string) (int, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Minute))
	fmt.Fprintf(c, "%s / HTTP/1.1\r\nHost: x\r\n\r\n", method)
	resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: method})
	if err != nil {
		return 0, err.Error()
	}
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestLoopConnectionOutOfStep is TestKeptAliveConnectionOutOfStep for the
// event loops: bytes a worker sends beyond a response must not become the
// answer to the next request on the connection, another client's here,
// whether they came with the response, filling the loop's read buffer, or
// a little later.
func TestLoopConnectionOutOfStep(t *testing.T) {
	real := func(c net.Conn) { io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nreal") }
	spoof := "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nspoof!"
	// A head and body of exactly the loop's read buffer, then more.
	filling := func() string {
		head := "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n"
		n := upReadBuffer - len(fmt.Sprintf(head, upReadBuffer))
		return fmt.Sprintf(head, n) + strings.Repeat("b", n)
	}()
	if !strings.HasPrefix(filling[len(filling)-1:], "b") || len(filling) != upReadBuffer {
		t.Fatalf("the filling response is %d bytes", len(filling))
	}
	for _, tc := range []struct {
		name   string
		method string
		first  func(net.Conn)
	}{
		{"body after a HEAD answer", http.MethodHead, func(c net.Conn) {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 43\r\n\r\n"+spoof)
		}},
		{"more than the length, filling the buffer", http.MethodGet, func(c net.Conn) {
			io.WriteString(c, filling+spoof)
		}},
		{"more than the length, a little later", http.MethodGet, func(c net.Conn) {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
			time.Sleep(20 * time.Millisecond)
			io.WriteString(c, spoof)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sw := newScriptedWorker(t, tc.first, real)
			addr := loopTo(t, &worker{network: "tcp", addr: sw.ln.Addr().String(), host: sw.ln.Addr().String()})
			if code, _ := getFrom(t, addr, tc.method); code != http.StatusOK {
				t.Fatalf("first request: %d", code)
			}
			time.Sleep(50 * time.Millisecond) // the late bytes are in
			if code, body := getFrom(t, addr, http.MethodGet); code != http.StatusOK || body != "real" {
				t.Errorf("the next request got %d %q, want the worker's own answer", code, body)
			}
		})
	}
}

// TestLoopRetry: a kept-alive worker connection that the worker closes
// without answering (as a worker does that drops an idle connection just
// as a request comes) has a replayable request sent again on a new
// connection, once; a request with a body is answered 502, as forward
// answers it.
func TestLoopRetry(t *testing.T) {
	real := func(c net.Conn) { io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nreal") }
	hangUp := func(c net.Conn) { c.Close() }
	sw := newScriptedWorker(t, real, hangUp, real, hangUp)
	addr := loopTo(t, &worker{network: "tcp", addr: sw.ln.Addr().String(), host: sw.ln.Addr().String()})
	if code, body := getFrom(t, addr, http.MethodGet); code != http.StatusOK || body != "real" {
		t.Fatalf("first request: %d %q", code, body)
	}
	time.Sleep(20 * time.Millisecond) // the connection is idle, not cooling
	if code, body := getFrom(t, addr, http.MethodGet); code != http.StatusOK || body != "real" {
		t.Errorf("GET on a connection the worker closed unanswered: %d %q, want it sent again and answered", code, body)
	}
	time.Sleep(20 * time.Millisecond)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("POST on a connection the worker closed unanswered: %d, want 502 (a body is not sent twice)", resp.StatusCode)
	}
}
