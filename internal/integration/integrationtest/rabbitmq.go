package integrationtest

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// rabbitmqServer is Debian's rabbitmq-server script itself: the /usr/sbin
// wrapper switches to the rabbitmq user when run as root, and the tests
// run the broker as whoever runs them, in a temporary directory.
const rabbitmqServer = "/usr/lib/rabbitmq/bin/rabbitmq-server"

// RabbitMQServer is a broker started by a test. Its user guest (password
// guest) may log in from loopback addresses only, as by default.
type RabbitMQServer struct {
	// AMQP, Management and Prometheus are the loopback host:port of the
	// AMQP listener, the management API and the prometheus plugin (""
	// when the plugin is off).
	AMQP, Management, Prometheus string
	// Dir holds the broker's files.
	Dir string
	// Ctl runs rabbitmqctl against the broker.
	Ctl func(args ...string) ([]byte, error)
}

// RabbitMQ starts rabbitmq-server with the management plugin, and the
// prometheus plugin if prometheus is set, on free loopback ports, with an
// epmd of its own, and waits until the management API answers. Both are
// stopped by PID at cleanup.
func RabbitMQ(t testing.TB, prometheus bool) *RabbitMQServer {
	t.Helper()
	if _, err := os.Stat(rabbitmqServer); err != nil {
		t.Fatalf("RabbitMQ is needed by this test; install the Debian package rabbitmq-server (.ci/run does): %v", err)
	}
	s := &RabbitMQServer{Dir: t.TempDir(), AMQP: FreeAddr(t), Management: FreeAddr(t)}
	dist, epmdAddr := FreeAddr(t), FreeAddr(t)
	plugins := "[rabbitmq_management]."
	conf := fmt.Sprintf("listeners.tcp.1 = %s\nmanagement.tcp.ip = 127.0.0.1\nmanagement.tcp.port = %s\n"+
		"collect_statistics_interval = 500\nloopback_users.guest = true\n", s.AMQP, Port(t, s.Management))
	if prometheus {
		s.Prometheus = FreeAddr(t)
		plugins = "[rabbitmq_management,rabbitmq_prometheus]."
		conf += fmt.Sprintf("prometheus.tcp.ip = 127.0.0.1\nprometheus.tcp.port = %s\n", Port(t, s.Prometheus))
	}
	files := map[string]string{"rabbitmq.conf": conf, "enabled_plugins": plugins + "\n", "rabbitmq-env.conf": ""}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(s.Dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	node := fmt.Sprintf("argus-test-%s@localhost", Port(t, s.AMQP))
	env := append(os.Environ(),
		"HOME="+s.Dir, // the Erlang cookie
		"RABBITMQ_CONF_ENV_FILE="+filepath.Join(s.Dir, "rabbitmq-env.conf"),
		"RABBITMQ_CONFIG_FILE="+filepath.Join(s.Dir, "rabbitmq.conf"),
		"RABBITMQ_ENABLED_PLUGINS_FILE="+filepath.Join(s.Dir, "enabled_plugins"),
		"RABBITMQ_PLUGINS_EXPAND_DIR="+filepath.Join(s.Dir, "plugins"),
		"RABBITMQ_MNESIA_BASE="+filepath.Join(s.Dir, "mnesia"),
		"RABBITMQ_LOG_BASE="+filepath.Join(s.Dir, "log"),
		"RABBITMQ_PID_FILE="+filepath.Join(s.Dir, "pid"),
		"RABBITMQ_NODENAME="+node,
		"RABBITMQ_DIST_PORT="+Port(t, dist),
		"ERL_EPMD_ADDRESS=127.0.0.1",
		"ERL_EPMD_PORT="+Port(t, epmdAddr),
	)
	epmd := exec.Command("epmd", "-port", Port(t, epmdAddr), "-address", "127.0.0.1")
	StartCmd(t, epmd, "epmd", s.Dir, "tcp", epmdAddr)

	broker := exec.Command(rabbitmqServer)
	broker.Env = env
	// The script starts beam and helpers; stop them all.
	broker.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// Registered before StartCmd's, so it runs after it (last in, first
	// out): once the script has stopped, nothing of its group is left.
	t.Cleanup(func() {
		if broker.Process != nil {
			syscall.Kill(-broker.Process.Pid, syscall.SIGKILL)
		}
	})
	// The node's epmd answers at once; the broker is waited for below,
	// longer than StartCmd would.
	StartCmd(t, broker, "rabbitmq-server", s.Dir, "tcp", epmdAddr)
	s.Ctl = func(args ...string) ([]byte, error) {
		cmd := exec.Command(filepath.Join(filepath.Dir(rabbitmqServer), "rabbitmqctl"), append([]string{"-n", node}, args...)...)
		cmd.Env = env
		return cmd.CombinedOutput()
	}
	deadline := time.Now().Add(120 * time.Second)
	waitHTTP(t, "the management API", "http://guest:guest@"+s.Management+"/api/overview", deadline)
	if prometheus {
		// The plugin's listener may open after the management API's,
		// as seen on a loaded machine.
		waitHTTP(t, "the prometheus plugin", "http://"+s.Prometheus+"/metrics", deadline)
	}
	return s
}

// waitHTTP waits until url answers 200, failing the test at deadline.
func waitHTTP(t testing.TB, what, url string, deadline time.Time) {
	t.Helper()
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not answer 200 at %s by the deadline: %v", what, url, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
