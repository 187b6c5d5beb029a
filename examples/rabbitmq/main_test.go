package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// rabbitmqServer is Debian's rabbitmq-server script itself: the
// /usr/sbin wrapper switches to the rabbitmq user when run as root, and
// the test runs the broker as whoever runs the test, in a temp directory.
const rabbitmqServer = "/usr/lib/rabbitmq/bin/rabbitmq-server"

// TestPublish runs the example against a real RabbitMQ: down at first
// (502 with a clear error), then up (the posted JSON is in the durable
// queue as a persistent message), then down again (502 again).
func TestPublish(t *testing.T) {
	if _, err := os.Stat(rabbitmqServer); err != nil {
		t.Fatalf("RabbitMQ is not installed (.ci/run installs Debian's rabbitmq-server): %v", err)
	}
	dir := t.TempDir()
	amqpPort, distPort, epmdPort, appPort := freePort(t), freePort(t), freePort(t), freePort(t)
	amqpURL := fmt.Sprintf("amqp://guest:guest@127.0.0.1:%d/", amqpPort)
	const queue = "argus-test"

	bin := filepath.Join(dir, "rabbitmq-example")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	app := exec.Command(bin)
	app.Env = append(os.Environ(), "PORT="+strconv.Itoa(appPort), "AMQP_URL="+amqpURL, "AMQP_QUEUE="+queue)
	app.Stderr = &testLog{t: t, prefix: "app: "}
	if err := app.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Process.Kill(); app.Wait() })
	appURL := fmt.Sprintf("http://127.0.0.1:%d/", appPort)
	waitFor(t, "the app to listen", 30*time.Second, func() bool { return dials(appPort) })

	down := func(when string) {
		t.Helper()
		code, body := post(t, appURL, `{"n": 1}`)
		var e struct{ Error string }
		json.Unmarshal([]byte(body), &e)
		if code != http.StatusBadGateway || !strings.Contains(e.Error, fmt.Sprintf("rabbitmq at amqp://guest:xxxxx@127.0.0.1:%d/", amqpPort)) {
			t.Errorf("POST %s: %d %s, want 502 and an error naming the broker (password hidden)", when, code, body)
		}
	}
	down("before the broker runs")

	stop := startBroker(t, dir, amqpPort, distPort, epmdPort)
	msg := `{"alert": "DiskFull", "labels": {"instance": "db1"}, "value": 0.97}`
	code, body := post(t, appURL, msg)
	if code != http.StatusOK || !strings.Contains(body, `"queue":"argus-test"`) {
		t.Fatalf("POST with the broker up: %d %s", code, body)
	}
	if code, body := post(t, appURL, "not json"); code != http.StatusBadRequest {
		t.Errorf("POST of a non-JSON body: %d %s, want 400", code, body)
	}

	conn, err := amqp.Dial(amqpURL)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	// Declaring it again as durable fails if the example declared it otherwise.
	q, err := ch.QueueDeclare(queue, true, false, false, false, nil)
	if err != nil || q.Messages != 1 {
		t.Fatalf("queue %s: %+v, %v; want one message", queue, q, err)
	}
	d, ok, err := ch.Get(queue, true)
	if err != nil || !ok {
		t.Fatalf("get from %s: %v, %v", queue, ok, err)
	}
	if string(d.Body) != msg || d.DeliveryMode != amqp.Persistent || d.ContentType != "application/json" {
		t.Errorf("message: body %q, delivery mode %d, content type %q", d.Body, d.DeliveryMode, d.ContentType)
	}
	conn.Close()

	stop()
	down("after the broker stopped")
}

// startBroker runs rabbitmq-server as the current user on the given
// loopback ports, with its data, logs, cookie and config in dir and no
// plugins, and with an epmd of its own, and waits until it takes AMQP
// connections. The returned func stops both by pid; the test's cleanup
// calls it too.
func startBroker(t *testing.T, dir string, amqpPort, distPort, epmdPort int) (stop func()) {
	t.Helper()
	rmq := filepath.Join(dir, "rabbitmq")
	os.MkdirAll(rmq, 0o755)
	for name, content := range map[string]string{"rabbitmq.conf": "", "enabled_plugins": "[].\n", "rabbitmq-env.conf": ""} {
		if err := os.WriteFile(filepath.Join(rmq, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	logFile, err := os.Create(filepath.Join(rmq, "out.log"))
	if err != nil {
		t.Fatal(err)
	}
	logs := func() string { b, _ := os.ReadFile(logFile.Name()); return string(b) }
	epmd := exec.Command("epmd", "-port", strconv.Itoa(epmdPort), "-address", "127.0.0.1")
	epmd.Stdout, epmd.Stderr = logFile, logFile
	if err := epmd.Start(); err != nil {
		t.Fatalf("epmd (from Erlang, a dependency of rabbitmq-server): %v", err)
	}
	broker := exec.Command(rabbitmqServer)
	broker.Env = append(os.Environ(),
		"HOME="+rmq, // the Erlang cookie
		"RABBITMQ_CONF_ENV_FILE="+filepath.Join(rmq, "rabbitmq-env.conf"),
		"RABBITMQ_CONFIG_FILE="+filepath.Join(rmq, "rabbitmq.conf"),
		"RABBITMQ_ENABLED_PLUGINS_FILE="+filepath.Join(rmq, "enabled_plugins"),
		"RABBITMQ_PLUGINS_EXPAND_DIR="+filepath.Join(rmq, "plugins"),
		"RABBITMQ_MNESIA_BASE="+filepath.Join(rmq, "mnesia"),
		"RABBITMQ_LOG_BASE="+filepath.Join(rmq, "log"),
		"RABBITMQ_PID_FILE="+filepath.Join(rmq, "pid"),
		fmt.Sprintf("RABBITMQ_NODENAME=argus-test-%d@localhost", os.Getpid()),
		"RABBITMQ_NODE_IP_ADDRESS=127.0.0.1",
		"RABBITMQ_NODE_PORT="+strconv.Itoa(amqpPort),
		"RABBITMQ_DIST_PORT="+strconv.Itoa(distPort),
		"ERL_EPMD_ADDRESS=127.0.0.1",
		"ERL_EPMD_PORT="+strconv.Itoa(epmdPort),
	)
	broker.Stdout, broker.Stderr = logFile, logFile
	broker.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // the script, beam and its helpers
	if err := broker.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { broker.Wait(); close(exited) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		// SIGTERM to the script stops the node cleanly; then make sure
		// nothing of its process group is left.
		broker.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			t.Errorf("rabbitmq-server did not stop within 30s of SIGTERM; killing it")
		}
		syscall.Kill(-broker.Process.Pid, syscall.SIGKILL)
		<-exited
		epmd.Process.Kill()
		epmd.Wait()
		logFile.Close()
	}
	t.Cleanup(stop)
	waitFor(t, "rabbitmq-server to take connections", 90*time.Second, func() bool {
		select {
		case <-exited:
			t.Fatalf("rabbitmq-server exited:\n%s", logs())
		default:
		}
		c, err := amqp.Dial(fmt.Sprintf("amqp://guest:guest@127.0.0.1:%d/", amqpPort))
		if err != nil {
			return false
		}
		c.Close()
		return true
	})
	return stop
}

func post(t *testing.T, url, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
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

func dials(port int) bool {
	c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
	if err == nil {
		c.Close()
	}
	return err == nil
}

// waitFor polls cond until it holds or the generous timeout passes.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// testLog passes a child's output to the test log.
type testLog struct {
	t      *testing.T
	prefix string
}

func (l *testLog) Write(b []byte) (int, error) {
	l.t.Log(l.prefix + strings.TrimRight(string(b), "\n"))
	return len(b), nil
}
