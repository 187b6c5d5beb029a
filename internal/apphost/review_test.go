package apphost

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// scriptedWorker is a worker that answers the requests it receives, on any
// of its connections, with the scripted replies in turn; a reply may
// signal the test once it is fully written.
type scriptedWorker struct {
	ln      net.Listener
	mu      sync.Mutex
	replies []func(net.Conn)
	conns   []net.Conn // closed at cleanup: the proxy keeps them alive
}

func newScriptedWorker(t *testing.T, replies ...func(net.Conn)) *scriptedWorker {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sw := &scriptedWorker{ln: ln, replies: replies}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		sw.mu.Lock()
		for _, c := range sw.conns {
			c.Close()
		}
		sw.mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			sw.mu.Lock()
			sw.conns = append(sw.conns, c)
			sw.mu.Unlock()
			wg.Go(func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					io.Copy(io.Discard, req.Body)
					sw.mu.Lock()
					if len(sw.replies) == 0 {
						sw.mu.Unlock()
						return
					}
					reply := sw.replies[0]
					sw.replies = sw.replies[1:]
					sw.mu.Unlock()
					reply(c)
				}
			})
		}
	})
	return sw
}

// forwardTo sends one request through the fast path to the scripted
// worker, as ServeHTTP would, and returns what the client got.
func forwardTo(a *app, wk *worker, method string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	r := httptest.NewRequest(method, "/", nil)
	func() {
		defer func() { recover() }() // an aborted response panics, as in net/http
		a.forward(r.Context(), &recorder{ResponseWriter: rec}, r, &picked{worker: wk, pool: &pool{}, body: &countingBody{}}, nil)
	}()
	return rec
}

func fastPathApp() *app {
	return &app{name: "x", logger: slog.New(slog.DiscardHandler), metrics: newMetrics(prometheus.NewRegistry(), &Host{}),
		dialer: &net.Dialer{}, buffers: &copyBuffers{}}
}

// TestKeptAliveConnectionOutOfStep: bytes a worker sends beyond a response
// (a body to HEAD, or more than its Content-Length, as a length counted in
// characters gives) must not become the answer to the next request on the
// connection, which may be another client's.
func TestKeptAliveConnectionOutOfStep(t *testing.T) {
	real := func(c net.Conn) { io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nreal") }
	t.Run("body after a HEAD answer", func(t *testing.T) {
		sw := newScriptedWorker(t, func(c net.Conn) {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 43\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nspoof!")
		}, real)
		a, wk := fastPathApp(), &worker{network: "tcp", addr: sw.ln.Addr().String()}
		forwardTo(a, wk, http.MethodHead)
		if rec := forwardTo(a, wk, http.MethodGet); rec.Code != http.StatusOK || rec.Body.String() != "real" {
			t.Errorf("the next request got %d %q, want the worker's own answer", rec.Code, rec.Body.String())
		}
	})
	t.Run("more than the length, a little later", func(t *testing.T) {
		written := make(chan struct{})
		sw := newScriptedWorker(t, func(c net.Conn) {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
			io.WriteString(c, " wörld") // a separate write, after the response
			close(written)
		}, real)
		a, wk := fastPathApp(), &worker{network: "tcp", addr: sw.ln.Addr().String()}
		if rec := forwardTo(a, wk, http.MethodGet); rec.Body.String() != "hello" {
			t.Fatalf("first answer %q", rec.Body.String())
		}
		<-written // on loopback the bytes are at our end once written
		if rec := forwardTo(a, wk, http.MethodGet); rec.Code != http.StatusOK || rec.Body.String() != "real" {
			t.Errorf("the next request got %d %q, want the worker's own answer", rec.Code, rec.Body.String())
		}
	})
}

// TestDeadWorkerLeavesRotationDuringRecycle: a worker that exits while its
// replacement is still starting (recycled after max_requests, then
// crashed) leaves the rotation at once; requests wait for the new worker
// instead of failing on the dead one. The new worker is held at its start
// by a FIFO until the test has checked (its start timeout is longer than
// waitFor's deadline, so that only the fix lets the dead worker go).
func TestDeadWorkerLeavesRotationDuringRecycle(t *testing.T) {
	th := startHost(t, Options{})
	port := freeTestPort(t)
	dir := t.TempDir()
	gate, started := filepath.Join(dir, "gate"), filepath.Join(dir, "started")
	if err := syscall.Mkfifo(gate, 0o600); err != nil {
		t.Fatal(err)
	}
	script := fmt.Sprintf("if [ -e %[1]s ]; then read x < %[2]s; fi; touch %[1]s; exec %[3]s", started, gate, echoBin)
	th.writeApp("echo.yml", fmt.Sprintf("command: /bin/sh\nargs: [-c, %q]\nlisten: 127.0.0.1:%d\nhealth_check:\n  path: /healthz\n  start_timeout: 5m\nmax_requests: 2\n", script, port))
	th.Update(nil, th.dir)
	old := th.waitReady("echo", 1)[0]
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	if code, _ := th.get(url + "/a"); code != http.StatusOK {
		t.Fatalf("first request: %d", code)
	}
	// The second request reaches max_requests, so the replacement starts
	// (and waits at the gate); it also crashes the old worker.
	th.get(url + "/crash")
	waitFor(t, "the old worker to exit", func() bool { return !alive(old) })
	waitFor(t, "the dead worker to leave the rotation", func() bool {
		a, ok := th.app("echo")
		if !ok {
			return false
		}
		for _, w := range a.Workers {
			if w.Ready {
				return false
			}
		}
		return true
	})
	done := make(chan int, 1)
	go func() { code, _ := th.get(url + "/a"); done <- code }()
	f, err := os.OpenFile(gate, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(f, "go\n")
	f.Close()
	if code := <-done; code != http.StatusOK {
		t.Errorf("a request while the replacement started: %d, want it to wait for the new worker", code)
	}
}

// TestIdleConnsAgeOut: putting a connection back closes those below it
// that have been idle past the timeout, not only when the newest is.
func TestIdleConnsAgeOut(t *testing.T) {
	var ic idleConns
	var peers []net.Conn
	conn := func(idleAt time.Time) *upstreamConn {
		a, b := net.Pipe()
		peers = append(peers, b)
		c := newUpstreamConn(a)
		c.idleAt = idleAt
		return c
	}
	old1, old2 := conn(time.Now().Add(-2*idleConnTimeout)), conn(time.Now().Add(-2*idleConnTimeout))
	ic.conns = []*upstreamConn{old1, old2}
	fresh := conn(time.Time{})
	ic.put(fresh)
	if len(ic.conns) != 1 || ic.conns[0] != fresh {
		t.Fatalf("idle connections after put: %d, want only the fresh one", len(ic.conns))
	}
	for i, p := range peers[:2] {
		if _, err := p.Read(make([]byte, 1)); err != io.EOF {
			t.Errorf("old connection %d not closed: %v", i, err)
		}
	}
	for _, p := range peers {
		p.Close()
	}
	fresh.conn.Close()
}

// TestTimeoutCountsFromThePick holds the only worker out of rotation (its
// health check fails until a file exists) for most of the request
// timeout while a request waits: the worker still gets the whole timeout
// for the request, so it is answered and nobody is killed. The wait alone
// is bounded by the timeout: a request that finds no ready worker within
// it gets 503, also without a kill.
func TestTimeoutCountsFromThePick(t *testing.T) {
	th := startHost(t, Options{})
	port := freeTestPort(t)
	ready := filepath.Join(t.TempDir(), "ready")
	th.writeApp("echo.yml", echoApp(port, fmt.Sprintf("request_timeout: 2s\nenv: {ECHO_READY_FILE: %s}\n", ready)))
	th.Update(nil, th.dir)
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	waitFor(t, "the front proxy to listen", func() bool {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
		}
		return err == nil
	})

	// No ready worker at all: 503 after the timeout.
	if code, body := th.get(url + "/"); code != http.StatusServiceUnavailable || !strings.Contains(body, "no worker is ready") {
		t.Fatalf("with no ready worker: %d %s, want 503", code, body)
	}

	type answer struct {
		code int
		body string
	}
	done := make(chan answer, 1)
	go func() {
		code, body := th.get(url + "/sleep?d=1s")
		done <- answer{code, body}
	}()
	// Not an assertion: the request waits this long for the worker, which
	// then needs 1s more, 2.5s in all, past the 2s timeout.
	time.Sleep(1500 * time.Millisecond)
	if err := os.WriteFile(ready, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	a := <-done
	if a.code != http.StatusOK {
		t.Fatalf("request that waited for a ready worker: %d %s, want 200", a.code, a.body)
	}
	if n := th.metric("argus_app_worker_timeout_kills_total", "app", "echo", "worker", "0"); n != 0 {
		t.Errorf("timeout kills = %v, want 0", n)
	}
}
