package apphost

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// environ returns the environment of process pid.
func environ(t *testing.T, pid int) map[string]string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for kv := range bytes.SplitSeq(b, []byte{0}) {
		if k, v, ok := strings.Cut(string(kv), "="); ok {
			env[k] = v
		}
	}
	return env
}

// sockets returns the socket files in dir.
func sockets(t *testing.T, dir string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.sock"))
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// TestListenModes runs the echo example in each listen mode: it serves
// requests through the fast path and through ReverseProxy (a chunked
// request body and a WebSocket), is restarted after a crash, survives a
// rolling reload under load, and leaves neither process nor socket file
// behind.
func TestListenModes(t *testing.T) {
	for _, mode := range []string{"port", "unix", "socket_activation"} {
		t.Run(mode, func(t *testing.T) { testListenMode(t, mode) })
	}
}

func testListenMode(t *testing.T, mode string) {
	th := startHost(t, Options{})
	port := freeTestPort(t)
	sockDir := filepath.Join(th.dir, "logs", "echo")
	app := func(color string) string {
		return echoApp(port, fmt.Sprintf("workers: 2\nlisten_mode: %s\nenv: {COLOR: %s}\n", mode, color))
	}
	th.writeApp("echo.yml", app("red"))
	th.Update(nil, th.dir)
	pids := th.waitReady("echo", 2)
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	th.checkListening(mode, sockDir)

	// The fast path.
	for range 2 {
		code, body := th.get(url + "/hello")
		var r echoReply
		if err := json.Unmarshal([]byte(body), &r); code != http.StatusOK || err != nil {
			t.Fatalf("GET /hello: %d %s", code, body)
		}
		if id, _ := strconv.Atoi(r.Worker); pids[id] != r.PID {
			t.Errorf("answered by pid %d as worker %s; the workers are %v", r.PID, r.Worker, pids)
		}
	}
	// ReverseProxy: a request body of unknown length goes chunked.
	resp, err := th.client.Post(url+"/upload?id=x", "text/plain", io.NopCloser(strings.NewReader("chunked body")))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(b)) != "12" {
		t.Errorf("chunked POST /upload: %d %q, want 200 12", resp.StatusCode, b)
	}
	ws := dialWebSocket(t, fmt.Sprintf("127.0.0.1:%d", port), "echo.test", "/ws")
	if got := ws.echo(t, "hello"); got != "hello" {
		t.Errorf("WebSocket echo: %q", got)
	}
	ws.conn.Close()

	// A crash: the worker is started again, in the same mode.
	if code, _ := th.get(url + "/crash"); code != http.StatusBadGateway {
		t.Errorf("GET /crash: %d, want 502", code)
	}
	waitFor(t, "the crashed worker to be replaced", func() bool {
		now := th.waitReady("echo", 2)
		return now[0] != pids[0] || now[1] != pids[1]
	})
	pids = th.waitReady("echo", 2)
	th.checkListening(mode, sockDir)

	// A rolling reload under load: no request fails.
	var wg sync.WaitGroup
	var failed int64
	var firstErr error
	wg.Go(func() { failed, firstErr = th.load(url+"/load", 2, 200) })
	th.writeApp("echo.yml", app("green"))
	waitFor(t, "the reload", func() bool {
		now := th.waitReady("echo", 2)
		return now[0] != pids[0] && now[1] != pids[1]
	})
	wg.Wait()
	if failed > 0 {
		t.Errorf("%d requests failed during the rolling reload; first: %v", failed, firstErr)
	}
	th.checkListening(mode, sockDir)

	// Removing the app stops its workers and removes their sockets.
	if err := os.Remove(filepath.Join(th.dir, "echo.yml")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the app to stop", func() bool { _, ok := th.app("echo"); return !ok })
	waitFor(t, "the workers to exit", func() bool {
		th.mu.Lock()
		defer th.mu.Unlock()
		for pid := range th.pids {
			if alive(pid) {
				return false
			}
		}
		return true
	})
	waitFor(t, "the sockets to be removed", func() bool { return len(sockets(t, sockDir)) == 0 })
}

// checkListening checks that the running workers listen as mode says,
// and that the only socket files are theirs.
func (th *testHost) checkListening(mode, sockDir string) {
	th.t.Helper()
	a, _ := th.app("echo")
	want := map[string]bool{}
	for _, w := range a.Workers {
		env := environ(th.t, w.PID)
		switch mode {
		case "unix":
			if w.Network != "unix" || filepath.Dir(w.Addr) != sockDir || env["ARGUS_SOCKET"] != w.Addr {
				th.t.Errorf("worker %d: %s %s, ARGUS_SOCKET=%q; want a socket in %s", w.ID, w.Network, w.Addr, env["ARGUS_SOCKET"], sockDir)
			}
			want[w.Addr] = true
		case "socket_activation":
			// The shell of the start has become the program: its pid is
			// the worker's, and LISTEN_PID names it.
			if env["LISTEN_PID"] != strconv.Itoa(w.PID) || env["LISTEN_FDS"] != "1" || env["LISTEN_FDNAMES"] != "echo" {
				th.t.Errorf("worker %d (pid %d): LISTEN_PID=%q LISTEN_FDS=%q LISTEN_FDNAMES=%q",
					w.ID, w.PID, env["LISTEN_PID"], env["LISTEN_FDS"], env["LISTEN_FDNAMES"])
			}
			if _, ok := env["PORT"]; ok {
				th.t.Errorf("worker %d was given PORT too", w.ID)
			}
		default:
			if env["PORT"] == "" || w.Network != "tcp" {
				th.t.Errorf("worker %d: %s %s, PORT=%q", w.ID, w.Network, w.Addr, env["PORT"])
			}
		}
	}
	// Old workers' sockets may take a moment to go after a reload.
	waitFor(th.t, "only the current workers' sockets", func() bool {
		have := sockets(th.t, sockDir)
		if len(have) != len(want) {
			return false
		}
		for _, s := range have {
			if !want[s] {
				return false
			}
		}
		return true
	})
}

// TestHealthCheckAfterStart makes a worker fail its health checks: it is
// taken out of rotation and replaced, while the other worker serves every
// request.
func TestHealthCheckAfterStart(t *testing.T) {
	th := startHost(t, Options{})
	port := freeTestPort(t)
	// echoApp's health check, checked every 50ms after start too.
	th.writeApp("echo.yml", fmt.Sprintf("command: %s\nlisten: 127.0.0.1:%d\nworkers: 2\nlisten_mode: unix\n"+
		"health_check: {path: /healthz, interval: 50ms, failures: 2}\n", echoBin, port))
	th.Update(nil, th.dir)
	pids := th.waitReady("echo", 2)
	url := fmt.Sprintf("http://127.0.0.1:%d", port)

	code, body := th.get(url + "/sick")
	var sickPID int
	if _, err := fmt.Sscanf(body, "pid %d is sick", &sickPID); code != http.StatusOK || err != nil {
		t.Fatalf("GET /sick: %d %q", code, body)
	}
	sick := -1
	for id, pid := range pids {
		if pid == sickPID {
			sick = id
		}
	}
	if sick < 0 {
		t.Fatalf("pid %d of /sick is none of the workers %v", sickPID, pids)
	}
	// Requests go on being served until the sick worker is replaced.
	waitFor(t, "the sick worker to be replaced", func() bool {
		if code, body := th.get(url + "/load"); code != http.StatusOK {
			t.Errorf("while worker %d was sick: %d %s", sick, code, body)
		}
		return th.waitReady("echo", 2)[sick] != sickPID
	})
	waitFor(t, "the sick process to exit", func() bool { return !alive(sickPID) })
	worker := strconv.Itoa(sick)
	if n := th.metric("argus_app_worker_health_kills_total", "app", "echo", "worker", worker); n != 1 {
		t.Errorf("health kills of worker %s = %v, want 1", worker, n)
	}
	if n := th.metric("argus_app_worker_health_failures_total", "app", "echo", "worker", worker); n < 2 {
		t.Errorf("health failures of worker %s = %v, want 2 or more", worker, n)
	}
	if n := th.metric("argus_app_worker_restarts_total", "app", "echo", "worker", worker); n != 1 {
		t.Errorf("restarts of worker %s = %v, want 1", worker, n)
	}
	for _, a := range th.Stats().Apps {
		if e := a.Workers[sick].LastError; !strings.Contains(e, "health check: GET /healthz: 500") {
			t.Errorf("last error of worker %d = %q", sick, e)
		}
	}
	if code, _ := th.get(url + "/"); code != http.StatusOK {
		t.Errorf("after the replacement: %d", code)
	}
}

func TestSocketDir(t *testing.T) {
	dir, fallback := socketDir("/var/lib/argus/apps", "echo")
	if dir != "/var/lib/argus/apps/echo" || fallback {
		t.Errorf("socketDir = %q, %v", dir, fallback)
	}
	long := "/" + strings.Repeat("d", 100)
	dir, fallback = socketDir(long, "echo")
	if !fallback || !strings.HasPrefix(dir, os.TempDir()) || len(dir)+1+socketNameLen > maxSocketPath {
		t.Errorf("socketDir of a long directory = %q, %v; want a short one under %s", dir, fallback, os.TempDir())
	}
	if again, _ := socketDir(long, "echo"); again != dir {
		t.Errorf("socketDir is %q then %q; want the same directory for the same app", dir, again)
	}
	t.Setenv("TMPDIR", long)
	if dir, _ := socketDir(long, "echo"); dir != "" {
		t.Errorf("socketDir with a long temporary directory = %q, want none", dir)
	}
}

// TestOwnDir refuses a socket directory others may write to.
func TestOwnDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sockets")
	if err := ownDir(dir); err != nil {
		t.Fatalf("new directory: %v", err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := ownDir(dir); err == nil || !strings.Contains(err.Error(), "only it can write to") {
		t.Errorf("world-writable directory: %v", err)
	}
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(t.TempDir(), link); err != nil {
		t.Fatal(err)
	}
	if err := ownDir(link); err == nil {
		t.Error("a symbolic link was taken as the socket directory")
	}
}

// TestHealthCheckWhileBusy: failed health checks do not count while the
// worker serves a request (a stuck request is the request timeout's to
// end); once it is idle they do, and the worker is restarted.
func TestHealthCheckWhileBusy(t *testing.T) {
	th := startHost(t, Options{})
	port := freeTestPort(t)
	th.writeApp("echo.yml", fmt.Sprintf("command: %s\nlisten: 127.0.0.1:%d\nrequest_timeout: 5m\n"+
		"health_check: {path: /healthz, interval: 50ms, failures: 2}\n", echoBin, port))
	th.Update(nil, th.dir)
	pid := th.waitReady("echo", 1)[0]
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	// The long request first, so that the worker is busy before it is
	// sick.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/sleep?d=5m", nil)
		if resp, err := th.client.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	waitFor(t, "the long request to be in flight", func() bool {
		return th.metric("argus_app_in_flight_requests", "app", "echo") == 1
	})
	if code, _ := th.get(url + "/sick"); code != http.StatusOK {
		t.Fatalf("GET /sick: %d", code)
	}
	const killsBefore = 0
	failures := th.metric("argus_app_worker_health_failures_total", "app", "echo", "worker", "0")
	waitFor(t, "health checks failing while the worker is busy", func() bool {
		return th.metric("argus_app_worker_health_failures_total", "app", "echo", "worker", "0") >= failures+3
	})
	if n := th.metric("argus_app_worker_health_kills_total", "app", "echo", "worker", "0"); n != killsBefore {
		t.Errorf("a busy worker was restarted for failed health checks (%v kills, %v before)", n, killsBefore)
	}
	if !alive(pid) {
		t.Error("the busy worker's process is gone")
	}
	cancel()
	<-done
	waitFor(t, "the idle sick worker to be restarted", func() bool {
		return th.metric("argus_app_worker_health_kills_total", "app", "echo", "worker", "0") > killsBefore
	})
}

// TestRemoveStaleSockets: only sockets nothing listens on, older than a
// minute, in a directory only argus's user can write to, are removed.
func TestRemoveStaleSockets(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "s")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * time.Minute)
	socket := func(name string, listening bool, mtime time.Time) string {
		path := filepath.Join(dir, name)
		ln, err := net.Listen("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		ul := ln.(*net.UnixListener)
		if listening {
			t.Cleanup(func() { ul.Close() })
		} else {
			ul.SetUnlinkOnClose(false)
			ul.Close()
		}
		os.Chtimes(path, mtime, mtime)
		return path
	}
	stale := socket("0-stale.sock", false, old)
	young := socket("1-young.sock", false, time.Now())
	live := socket("2-live.sock", true, old)
	plain := filepath.Join(dir, "3-plain.sock")
	os.WriteFile(plain, nil, 0o600)
	os.Chtimes(plain, old, old)

	// Others may write to the directory: nothing is touched.
	os.Chmod(dir, 0o777)
	removeStaleSockets(dir)
	if _, err := os.Lstat(stale); err != nil {
		t.Errorf("a stale socket was removed from a directory others can write to: %v", err)
	}
	os.Chmod(dir, 0o700)
	removeStaleSockets(dir)
	if _, err := os.Lstat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the stale socket is still there: %v", err)
	}
	for _, kept := range []string{young, live, plain} {
		if _, err := os.Lstat(kept); err != nil {
			t.Errorf("%s was removed: %v", filepath.Base(kept), err)
		}
	}
}
