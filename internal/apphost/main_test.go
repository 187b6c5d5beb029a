package apphost

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"github.com/argus-mon/argus/internal/config"
)

// echoBin is the examples/echo app, built once for the package's tests.
var echoBin string

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "apphost-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	echoBin = filepath.Join(dir, "echo")
	out, err := exec.Command("go", "build", "-o", echoBin, "github.com/argus-mon/argus/examples/echo").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build examples/echo: %v\n%s", err, out)
		return 1
	}
	if code := m.Run(); code != 0 {
		return code
	}
	if err := goleak.Find(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// testHost is a Host running for one test, with what the test needs to
// look at it.
type testHost struct {
	*Host
	t      *testing.T
	reg    *prometheus.Registry
	dir    string // the drop-in directory
	client *http.Client

	mu   sync.Mutex
	pids map[int]bool // every worker pid seen, checked for exit at the end
}

// startHost runs a Host until the test ends, then checks that it stopped
// every process it started.
func startHost(t *testing.T, opts Options) *testHost {
	t.Helper()
	th := &testHost{t: t, reg: prometheus.NewRegistry(), dir: t.TempDir(), pids: map[int]bool{},
		client: &http.Client{Timeout: 30 * time.Second}}
	opts.LogDir = filepath.Join(th.dir, "logs")
	opts.Registerer = th.reg
	if opts.PollInterval == 0 {
		opts.PollInterval = 50 * time.Millisecond
	}
	if opts.MinBackoff == 0 {
		opts.MinBackoff = 50 * time.Millisecond
	}
	th.Host = New(opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- th.Run(ctx) }()
	t.Cleanup(func() {
		th.Status() // note the last pids
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(time.Minute):
			t.Fatal("Run did not return a minute after its context ended")
		}
		th.client.CloseIdleConnections()
		th.mu.Lock()
		defer th.mu.Unlock()
		for pid := range th.pids {
			if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
				t.Errorf("worker process %d is still there after Run returned (kill 0: %v)", pid, err)
			}
		}
	})
	return th
}

// Status records the pids it reports.
func (th *testHost) Status() []AppStatus {
	st := th.Host.Status()
	th.mu.Lock()
	defer th.mu.Unlock()
	for _, a := range st {
		for _, w := range a.Workers {
			th.pids[w.PID] = true
		}
	}
	return st
}

// writeApp writes a drop-in file into the host's directory.
func (th *testHost) writeApp(file, yaml string) {
	th.t.Helper()
	if err := os.WriteFile(filepath.Join(th.dir, file), []byte(yaml), 0o644); err != nil {
		th.t.Fatal(err)
	}
}

// echoApp returns the YAML of an echo app on port.
func echoApp(port int, extra string) string {
	return fmt.Sprintf("command: %s\nlisten: 127.0.0.1:%d\nhealth_check:\n  path: /healthz\n%s", echoBin, port, extra)
}

// waitFor polls cond until it holds, failing the test after a generous
// deadline: the machine may be busy, and nothing here asserts a duration.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// app returns the status of the named app, or false if it does not run.
func (th *testHost) app(name string) (AppStatus, bool) {
	for _, a := range th.Status() {
		if a.Name == name {
			return a, true
		}
	}
	return AppStatus{}, false
}

// waitReady waits until the app runs n ready workers and returns their pids
// by worker id.
func (th *testHost) waitReady(name string, n int) map[int]int {
	th.t.Helper()
	var pids map[int]int
	waitFor(th.t, fmt.Sprintf("%d ready workers of %s", n, name), func() bool {
		a, ok := th.app(name)
		if !ok {
			return false
		}
		pids = map[int]int{}
		for _, w := range a.Workers {
			if w.Ready {
				pids[w.ID] = w.PID
			}
		}
		return len(pids) == n && len(a.Workers) == n
	})
	return pids
}

// get requests url and returns the status code and body.
func (th *testHost) get(url string) (int, string) {
	th.t.Helper()
	resp, err := th.client.Get(url)
	if err != nil {
		th.t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		th.t.Fatalf("GET %s: read body: %v", url, err)
	}
	return resp.StatusCode, string(b)
}

// counter returns the value of a counter or gauge of the host's registry.
func (th *testHost) metric(name string, labels ...string) float64 {
	th.t.Helper()
	mfs, err := th.reg.Gather()
	if err != nil {
		th.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if have[labels[i]] != labels[i+1] {
					continue next
				}
			}
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue()
			case m.Gauge != nil:
				return m.Gauge.GetValue()
			case m.Histogram != nil:
				return float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return 0
}

// freeTestPort returns a loopback port that was free a moment ago.
func freeTestPort(t *testing.T) int {
	t.Helper()
	p, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// refused reports whether nothing accepts connections on port.
func refused(port int) bool {
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
	if err != nil {
		return true
	}
	c.Close()
	return false
}

// parseApps returns the apps of a config file's apps section.
func parseApps(t *testing.T, yaml string) []*config.App {
	t.Helper()
	c, err := config.Parse([]byte(yaml), "argus.yml")
	if err != nil {
		t.Fatal(err)
	}
	return c.Apps
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// syscallZero is signal 0, which checks that a process exists.
const syscallZero = syscall.Signal(0)
