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
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// echoReply is the part of examples/echo's answer the tests look at.
type echoReply struct {
	App     string              `json:"app"`
	Method  string              `json:"method"`
	Path    string              `json:"path"`
	Headers map[string][]string `json:"headers"`
	Worker  string              `json:"worker"`
	PID     int                 `json:"pid"`
}

func TestServeThroughProxy(t *testing.T) {
	th := startHost(t, Options{})
	port := freeTestPort(t)
	posted := filepath.Join(t.TempDir(), "posted.jsonl")
	th.Update(parseApps(t, fmt.Sprintf(`
apps:
  - name: echo
    command: %s
    workers: 2
    listen: 127.0.0.1:%d
    env: {ECHO_LOG: %s}
`, echoBin, port, posted)), "")
	th.waitReady("echo", 2)
	url := fmt.Sprintf("http://127.0.0.1:%d", port)

	workers := map[string]bool{}
	for range 4 {
		code, body := th.get(url + "/hello?x=1")
		if code != http.StatusOK {
			t.Fatalf("GET: %d %s", code, body)
		}
		var r echoReply
		if err := json.Unmarshal([]byte(body), &r); err != nil {
			t.Fatalf("%v: %s", err, body)
		}
		workers[r.Worker] = true
		if r.Path != "/hello" || len(r.Headers["X-Forwarded-For"]) == 0 ||
			r.Headers["X-Forwarded-Host"][0] != fmt.Sprintf("127.0.0.1:%d", port) || r.Headers["X-Forwarded-Proto"][0] != "http" {
			t.Errorf("unexpected request at the worker: %s", body)
		}
	}
	if !workers["0"] || !workers["1"] {
		t.Errorf("requests reached workers %v, want both (round robin)", workers)
	}

	resp, err := th.client.Post(url+"/alerts", "application/json", strings.NewReader(`{"status": "firing"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if b, err := os.ReadFile(posted); err != nil || string(b) != "{\"status\":\"firing\"}\n" {
		t.Errorf("posted log = %q, %v", b, err)
	}

	// The proxy records a request after the client may have its answer.
	waitFor(t, "the requests to be counted", func() bool {
		return th.metric("argus_app_request_duration_seconds", "app", "echo") == 5
	})
	if n := th.metric("argus_app_requests_total", "app", "echo", "method", "GET", "code", "200"); n != 4 {
		t.Errorf("argus_app_requests_total{GET,200} = %v, want 4", n)
	}
	if n := th.metric("argus_app_request_bytes_total", "app", "echo"); n != float64(len(`{"status": "firing"}`)) {
		t.Errorf("argus_app_request_bytes_total = %v", n)
	}
	if n := th.metric("argus_app_response_bytes_total", "app", "echo"); n == 0 {
		t.Error("argus_app_response_bytes_total is 0")
	}
	if n := th.metric("argus_app_worker_resident_memory_bytes", "app", "echo", "worker", "1"); n == 0 {
		t.Error("no resident memory for worker 1")
	}
	if n := th.metric("argus_app_worker_up", "app", "echo", "worker", "0"); n != 1 {
		t.Errorf("argus_app_worker_up{worker=0} = %v", n)
	}
	if n := th.metric("argus_app_worker_open_fds", "app", "echo", "worker", "0"); n == 0 {
		t.Error("no open fds for worker 0")
	}
	logs, err := os.ReadFile(filepath.Join(th.dir, "logs", "echo.log"))
	if err != nil || !strings.Contains(string(logs), "echo worker 1 listening") {
		t.Errorf("app log: %q, %v", logs, err)
	}
}

func TestBodyLimit(t *testing.T) {
	th := startHost(t, Options{})
	port := freeTestPort(t)
	th.writeApp("echo.yml", echoApp(port, "max_body_size: 1KiB\n"))
	th.Update(nil, th.dir)
	th.waitReady("echo", 1)
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	for size, want := range map[int]int{1024: http.StatusOK, 1025: http.StatusRequestEntityTooLarge} {
		resp, err := th.client.Post(url, "text/plain", strings.NewReader(strings.Repeat("x", size)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("POST of %d bytes: %d, want %d", size, resp.StatusCode, want)
		}
	}
}

func TestCrashRestart(t *testing.T) {
	th := startHost(t, Options{})
	port := freeTestPort(t)
	th.writeApp("echo.yml", echoApp(port, ""))
	th.Update(nil, th.dir)
	before := th.waitReady("echo", 1)
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	if code, _ := th.get(url + "/crash"); code != http.StatusBadGateway {
		t.Errorf("GET /crash: %d, want 502", code)
	}
	waitFor(t, "a new worker process", func() bool {
		after := th.waitReady("echo", 1)
		return after[0] != before[0]
	})
	if code, body := th.get(url + "/"); code != http.StatusOK {
		t.Errorf("after the restart: %d %s", code, body)
	}
	if n := th.metric("argus_app_worker_restarts_total", "app", "echo", "worker", "0"); n != 1 {
		t.Errorf("restarts = %v, want 1", n)
	}
	if n := th.metric("argus_app_upstream_errors_total", "app", "echo", "kind", "response") +
		th.metric("argus_app_upstream_errors_total", "app", "echo", "kind", "connect"); n != 1 {
		t.Errorf("upstream errors (response) = %v, want 1", n)
	}
}

// TestCrashLoop runs a command that exits at once: it is restarted again
// and again, counted, and never receives requests.
func TestCrashLoop(t *testing.T) {
	th := startHost(t, Options{MinBackoff: 10 * time.Millisecond, MaxBackoff: 40 * time.Millisecond})
	port := freeTestPort(t)
	th.writeApp("broken.yml", fmt.Sprintf("command: sh\nargs: [-c, 'echo giving up; exit 3']\nlisten: 127.0.0.1:%d\n", port))
	th.Update(nil, th.dir)
	waitFor(t, "several restarts", func() bool {
		return th.metric("argus_app_worker_restarts_total", "app", "broken", "worker", "0") >= 3
	})
	th.client.Timeout = 2 * time.Second
	resp, err := th.client.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
	if err == nil {
		resp.Body.Close()
		t.Errorf("a request to an app with no worker up got %d; want it to wait until the client gives up", resp.StatusCode)
	}
	logs, _ := os.ReadFile(filepath.Join(th.dir, "logs", "broken.log"))
	if !strings.Contains(string(logs), "giving up") {
		t.Errorf("the worker's output is not in its log: %q", logs)
	}
}

func TestNextBackoff(t *testing.T) {
	o := &Options{MinBackoff: time.Second, MaxBackoff: 5 * time.Second, StableAfter: time.Minute}
	var got []time.Duration
	b := time.Duration(0)
	for range 5 {
		b = nextBackoff(b, time.Second, o)
		got = append(got, b)
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("backoffs %v, want %v", got, want)
	}
	if b := nextBackoff(5*time.Second, time.Hour, o); b != time.Second {
		t.Errorf("after a stable run: %v, want the minimum", b)
	}
}

func TestGracefulStop(t *testing.T) {
	for _, tc := range []struct {
		name, env string
		graceful  bool
	}{
		{"sigterm", "", true},
		{"sigkill after stop_timeout", "env: {ECHO_IGNORE_SIGTERM: '1'}\nstop_timeout: 300ms\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			th := startHost(t, Options{})
			port := freeTestPort(t)
			th.writeApp("echo.yml", echoApp(port, tc.env))
			th.Update(nil, th.dir)
			pids := th.waitReady("echo", 1)
			os.Remove(filepath.Join(th.dir, "echo.yml"))
			waitFor(t, "the app to stop", func() bool { _, ok := th.app("echo"); return !ok })
			waitFor(t, "the worker process to exit", func() bool { return !alive(pids[0]) })
			// The worker's output reaches its log through a pipe that is
			// drained after the process is reaped, so the graceful stop's
			// last line may arrive a little after the exit: wait for it.
			// A worker killed by SIGKILL never writes it.
			stopped := func() bool {
				logs, _ := os.ReadFile(filepath.Join(th.dir, "logs", "echo.log"))
				return strings.Contains(string(logs), "echo worker 0 stopped")
			}
			if tc.graceful {
				waitFor(t, "the graceful stop's line in the worker's log", stopped)
			} else if stopped() {
				t.Error("a worker ignoring SIGTERM logged a graceful stop")
			}
		})
	}
}

// TestDropIns adds, changes and removes drop-in files, and checks that
// each change affects its own app only.
func TestDropIns(t *testing.T) {
	th := startHost(t, Options{})
	portA, portB := freeTestPort(t), freeTestPort(t)
	th.writeApp("a.yml", echoApp(portA, ""))
	th.Update(nil, th.dir)
	a := th.waitReady("a", 1)

	th.writeApp("b.yml", echoApp(portB, "workers: 2\n"))
	b := th.waitReady("b", 2)
	if got := th.waitReady("a", 1); got[0] != a[0] {
		t.Error("adding b restarted a")
	}

	th.writeApp("b.yml", echoApp(portB, "workers: 2\nenv: {COLOR: blue}\n"))
	waitFor(t, "b's workers to be replaced", func() bool {
		now := th.waitReady("b", 2)
		return now[0] != b[0] && now[1] != b[1]
	})
	if got := th.waitReady("a", 1); got[0] != a[0] {
		t.Error("changing b restarted a")
	}

	os.Remove(filepath.Join(th.dir, "a.yml"))
	waitFor(t, "a to stop", func() bool { _, ok := th.app("a"); return !ok && refused(portA) })
	if code, _ := th.get(fmt.Sprintf("http://127.0.0.1:%d/", portB)); code != http.StatusOK {
		t.Errorf("b after removing a: %d", code)
	}
	if n := th.metric("argus_app_requests_total", "app", "a"); n != 0 {
		t.Errorf("a's series are still there after it was removed")
	}
}

// TestBadConfigs checks that drop-in files with problems are refused with
// errors that name the file and key, while the other apps keep running.
func TestBadConfigs(t *testing.T) {
	reserved := freeTestPort(t)
	th := startHost(t, Options{ReservedAddrs: []string{fmt.Sprintf(":%d", reserved)}})
	portA := freeTestPort(t)
	th.Update(parseApps(t, echoAppsSection("a", portA)), th.dir)
	a := th.waitReady("a", 1)

	th.writeApp("nocommand.yml", fmt.Sprintf("listen: 127.0.0.1:%d\n", freeTestPort(t)))
	th.writeApp("clash.yml", echoApp(portA, ""))
	th.writeApp("argusport.yml", echoApp(reserved, ""))
	th.writeApp("a.yml", echoApp(freeTestPort(t), ""))
	th.writeApp("typo.yml", echoApp(freeTestPort(t), "worker: 2\n"))
	wants := []string{
		filepath.Join(th.dir, "nocommand.yml") + ": command: an app needs a command to run",
		filepath.Join(th.dir, "clash.yml") + fmt.Sprintf(`: listen: port %d is already the listen port of app "a" (argus.yml)`, portA),
		filepath.Join(th.dir, "argusport.yml") + fmt.Sprintf(": listen: port %d is argus's own listen port (:%d)", reserved, reserved),
		filepath.Join(th.dir, "a.yml") + `: name: app "a" is already declared in argus.yml`,
		filepath.Join(th.dir, "typo.yml") + ":5: worker: unknown key (did you mean workers?)",
	}
	waitFor(t, "the problems to be reported", func() bool { return len(th.Problems()) == len(wants) })
	var got []string
	for _, p := range th.Problems() {
		got = append(got, p.Error())
	}
	for _, w := range wants {
		if !containsAll(strings.Join(got, "\n"), w) {
			t.Errorf("no problem says %q; problems:\n%s", w, strings.Join(got, "\n"))
		}
	}
	if now := th.waitReady("a", 1); now[0] != a[0] {
		t.Error("a was restarted")
	}
	if code, _ := th.get(fmt.Sprintf("http://127.0.0.1:%d/", portA)); code != http.StatusOK {
		t.Errorf("a: %d", code)
	}
	if st := th.Status(); len(st) != 1 {
		t.Errorf("running apps: %+v, want a alone", st)
	}

	// Fixing a file starts its app; a file that breaks keeps its app.
	portT := freeTestPort(t)
	th.writeApp("typo.yml", echoApp(portT, "workers: 2\n"))
	th.waitReady("typo", 2)
	th.writeApp("typo.yml", echoApp(portT, "workers: many\n"))
	waitFor(t, "the broken file to be reported", func() bool {
		for _, p := range th.Problems() {
			if strings.Contains(p.Error(), "typo.yml:5: workers") && strings.Contains(p.Error(), "keeps running") {
				return true
			}
		}
		return false
	})
	if code, _ := th.get(fmt.Sprintf("http://127.0.0.1:%d/", portT)); code != http.StatusOK {
		t.Errorf("typo after its file broke: %d", code)
	}
}

func echoAppsSection(name string, port int) string {
	return fmt.Sprintf("apps:\n  - name: %s\n    command: %s\n    listen: 127.0.0.1:%d\n", name, echoBin, port)
}

// TestHarakiri sends a request that outlasts the request timeout: the
// client gets 504 and the worker is killed and started again.
func TestHarakiri(t *testing.T) {
	th := startHost(t, Options{})
	port := freeTestPort(t)
	th.writeApp("echo.yml", echoApp(port, "request_timeout: 500ms\n"))
	th.Update(nil, th.dir)
	before := th.waitReady("echo", 1)
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	// Requests before it leave their deadline on the kept-alive worker
	// connection (see lazyDeadline): the stuck request still ends at
	// its own.
	for range 3 {
		if code, _ := th.get(url + "/"); code != http.StatusOK {
			t.Fatalf("GET /: %d", code)
		}
	}
	start := time.Now()
	code, body := th.get(url + "/sleep?d=1m")
	if code != http.StatusGatewayTimeout || !strings.Contains(body, "did not answer within 500ms") {
		t.Errorf("GET /sleep: %d %s, want 504", code, body)
	}
	if d := time.Since(start); d < 500*time.Millisecond || d > 10*time.Second {
		t.Errorf("GET /sleep answered after %v, want the request timeout (500ms, a sixteenth more at most)", d)
	}
	waitFor(t, "the stuck worker to be replaced", func() bool { return th.waitReady("echo", 1)[0] != before[0] })
	waitFor(t, "the killed process to be gone", func() bool { return !alive(before[0]) })
	if code, _ := th.get(url + "/sleep?d=10ms"); code != http.StatusOK {
		t.Errorf("after the restart: %d", code)
	}
	if n := th.metric("argus_app_worker_timeout_kills_total", "app", "echo", "worker", "0"); n != 1 {
		t.Errorf("timeout kills = %v, want 1", n)
	}
	if n := th.metric("argus_app_upstream_errors_total", "app", "echo", "kind", "timeout"); n != 1 {
		t.Errorf("upstream timeouts = %v, want 1", n)
	}
}

// TestSlowClientKillsNoWorker sends bodies slower than the request
// timeout, with a length (the fast path) and chunked (ReverseProxy): the
// client gets 408 and the worker, which never had the whole request, is
// neither killed nor counted as timed out.
func TestSlowClientKillsNoWorker(t *testing.T) {
	th := startHost(t, Options{})
	port := freeTestPort(t)
	th.writeApp("echo.yml", echoApp(port, "request_timeout: 300ms\n"))
	th.Update(nil, th.dir)
	before := th.waitReady("echo", 1)
	for _, req := range []string{
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\na",
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n",
	} {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(30 * time.Second))
		if _, err := io.WriteString(c, req); err != nil {
			t.Fatal(err)
		}
		// The rest of the body never comes; the answer does.
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("%q: %v", req, err)
		}
		b, _ := io.ReadAll(resp.Body)
		c.Close()
		if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(b), "request body did not arrive") {
			t.Errorf("%q: %d %s, want 408", req, resp.StatusCode, b)
		}
	}
	if code, _ := th.get(fmt.Sprintf("http://127.0.0.1:%d/", port)); code != http.StatusOK {
		t.Errorf("after the slow clients: %d", code)
	}
	if now := th.waitReady("echo", 1); now[0] != before[0] {
		t.Errorf("the worker was replaced: pid %d, then %d", before[0], now[0])
	}
	if n := th.metric("argus_app_worker_timeout_kills_total", "app", "echo", "worker", "0"); n != 0 {
		t.Errorf("timeout kills = %v, want 0", n)
	}
}

// TestRollingReloadUnderLoad reloads an app twice while clients send it
// requests: not one may fail.
func TestRollingReloadUnderLoad(t *testing.T) {
	th := startHost(t, Options{})
	port := freeTestPort(t)
	th.writeApp("echo.yml", echoApp(port, "workers: 2\n"))
	th.Update(nil, th.dir)
	first := th.waitReady("echo", 2)

	const clients, perClient = 4, 500
	var sent, failed atomic.Int64
	var wg sync.WaitGroup
	var firstErr atomic.Value
	url := fmt.Sprintf("http://127.0.0.1:%d/load", port)
	for range clients {
		wg.Go(func() {
			for range perClient {
				resp, err := th.client.Get(url)
				sent.Add(1)
				if err == nil {
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
				}
			}
		})
	}
	pids := first
	for i, color := range []string{"red", "green"} {
		// Reload once the load is under way, and again after the first.
		waitFor(t, "requests to flow", func() bool { return sent.Load() >= int64(200*(i+1)) })
		th.writeApp("echo.yml", echoApp(port, "workers: 2\nenv: {COLOR: "+color+"}\n"))
		prev := pids
		waitFor(t, "the reload", func() bool {
			pids = th.waitReady("echo", 2)
			return pids[0] != prev[0] && pids[1] != prev[1]
		})
	}
	wg.Wait()
	if n := failed.Load(); n > 0 {
		t.Errorf("%d of %d requests failed during rolling reloads; first: %v", n, sent.Load(), firstErr.Load())
	}
	waitFor(t, "every request to be counted", func() bool {
		return th.metric("argus_app_requests_total", "app", "echo", "method", "GET", "code", "200") == clients*perClient
	})
}

// alive reports whether process pid exists.
func alive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	return p.Signal(syscallZero) == nil
}
