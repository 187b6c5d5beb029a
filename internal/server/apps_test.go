package server

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestAppHost runs the echo example as an app of the config file and one
// of the drop-in directory: they serve, their metrics reach the storage
// through the argus collector's job, a reload stops the app it removes and
// refuses one on argus's own port, and shutdown stops every process.
func TestAppHost(t *testing.T) {
	dir := t.TempDir()
	echo := filepath.Join(dir, "echo")
	if out, err := exec.Command("go", "build", "-o", echo, "github.com/argus-mon/argus/examples/echo").CombinedOutput(); err != nil {
		t.Fatalf("build examples/echo: %v\n%s", err, out)
	}
	portA, portB := freePort(t), freePort(t)
	cfgPath := filepath.Join(dir, "argus.yml")
	writeFile(t, filepath.Join(dir, "apps.d", "b.yml"), fmt.Sprintf("command: %s\nlisten: 127.0.0.1:%d\n", echo, portB))
	const common = "collectors:\n  argus: {scrape_interval: 200ms}\n  node: {enabled: false}\n  process: {enabled: false}\napps_dir: apps.d\n"
	writeFile(t, cfgPath, common+fmt.Sprintf("apps:\n  - name: a\n    command: %s\n    listen: 127.0.0.1:%d\n", echo, portA))
	r := start(t, Options{DataDir: filepath.Join(dir, "data"), ConfigFile: cfgPath})

	waitUntil(t, "both apps to serve", func() bool { return answers(portA) && answers(portB) })
	var pids []int
	for _, a := range r.srv.AppHost().Status() {
		for _, w := range a.Workers {
			pids = append(pids, w.PID)
		}
	}
	waitUntil(t, "app metrics in storage", func() bool {
		_, body := get(t, r.base+"/api/v1/query?query="+url.QueryEscape(`argus_app_requests_total{job="argus",app="b"}`))
		return strings.Contains(body, `"app":"b"`)
	})

	// A reload that puts an app on argus's port is refused.
	_, argusPort, _ := net.SplitHostPort(r.srv.Addr().String())
	writeFile(t, cfgPath, common+fmt.Sprintf("apps:\n  - name: a\n    command: %s\n    listen: :%s\n", echo, argusPort))
	resp, err := http.Post(r.base+"/-/reload", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := fmt.Sprintf("argus.yml:9: apps[0].listen: port %s is argus's own listen port", argusPort); resp.StatusCode != 500 || !strings.Contains(string(b), want) {
		t.Errorf("reload with an app on argus's port: %d %q, want 500 and %q", resp.StatusCode, b, want)
	}

	// A reload without app a stops it and leaves b alone.
	writeFile(t, cfgPath, common)
	if code, body := post(t, r.base+"/-/reload"); code != 200 {
		t.Fatalf("reload: %d %s", code, body)
	}
	waitUntil(t, "app a to stop", func() bool { return !answers(portA) })
	if !answers(portB) {
		t.Error("app b stopped on a reload that did not change it")
	}

	r.shutdown(t)
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("worker %d is still there after shutdown", pid)
		}
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func post(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Post(url, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// answers reports whether an app answers 200 on port.
func answers(port int) bool {
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == 200
}
