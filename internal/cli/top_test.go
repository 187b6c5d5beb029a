package cli

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/argus-mon/argus/internal/apphost"
)

// TestTopOnce runs an argus server hosting the echo example with two
// workers and checks one frame of `argus top --once` against it.
func TestTopOnce(t *testing.T) {
	dir := t.TempDir()
	echo := filepath.Join(dir, "echo")
	if out, err := exec.Command("go", "build", "-o", echo, "github.com/argus-mon/argus/examples/echo").CombinedOutput(); err != nil {
		t.Fatalf("build examples/echo: %v\n%s", err, out)
	}
	appAddr, addr := freeAddr(t), freeAddr(t)
	cfg := filepath.Join(dir, "argus.yml")
	os.WriteFile(cfg, fmt.Appendf(nil, "collectors:\n  node: {enabled: false}\n  process: {enabled: false}\n"+
		"apps:\n  - name: echo\n    command: %s\n    workers: 2\n    listen: %s\n", echo, appAddr), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if code, _, errOut := runCLIContext(ctx, "server", "--config", cfg, "--data", filepath.Join(dir, "data"), "--listen", addr); code != 0 {
			t.Errorf("argus server: exit %d: %s", code, errOut)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })

	// Two ready workers and one request through the proxy, as top sees them.
	row := regexp.MustCompile(`(?m)^  [01] +[1-9][0-9]* +[1-9][0-9]* +ready +[0-9]+ +0 +0 +0 +[0-9.]+[KMG]iB +[0-9.]+s +[0-9a-z.]+ *$`)
	requested := false
	var out string
	deadline := time.Now().Add(60 * time.Second)
	for {
		if !requested {
			if resp, err := http.Get("http://" + appAddr + "/"); err == nil {
				resp.Body.Close()
				requested = true
			}
		}
		var code int
		var errOut string
		code, out, errOut = runCLI("top", "--once", "--server", "http://"+addr)
		if code == 0 && requested && len(row.FindAllString(out, -1)) == 2 && strings.Contains(out, "requests 1 ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("top --once never showed two ready workers and the request: exit %d\n%s%s", code, out, errOut)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("argus top --once:\n%s", out)
	for _, want := range []string{"argus top  http://" + addr, "\necho  " + appAddr + "  requests 1  in flight 0\n",
		"  WORKER  PID", "LAST ERROR\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("top --once output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b[") {
		t.Errorf("top --once output has terminal escapes:\n%q", out)
	}

	// A server that is not there is an error, not an empty frame.
	if code, _, errOut := runCLI("top", "--once", "--server", "http://"+freeAddr(t)); code != 1 || !strings.Contains(errOut, "connection refused") {
		t.Errorf("top against nothing: exit %d, stderr %q", code, errOut)
	}
}

// TestTopListenColumn: a worker on a unix socket shows the socket's file
// name, one on a port the port, and one that is down a dash.
func TestTopListenColumn(t *testing.T) {
	st := apphost.Stats{Apps: []apphost.AppStats{{Name: "a", Workers: []apphost.WorkerStats{
		{ID: 0, PID: 10, Socket: "/data/apps/a/0-x1y2.sock", State: "ready"},
		{ID: 1, PID: 11, Port: 40001, State: "ready"},
		{ID: 2, State: "down"},
	}}}}
	var b strings.Builder
	renderTop(&b, "http://localhost:9090", st, nil, 0, time.Unix(0, 0))
	for _, want := range []string{"0-x1y2.sock", "40001", "  2       0    -"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("frame lacks %q:\n%s", want, b.String())
		}
	}
}
