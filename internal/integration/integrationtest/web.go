package integrationtest

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// NginxLogFormat is the access log format of the nginx integration, as
// docs/integrations.md gives it to users; the tests configure it verbatim.
const NginxLogFormat = `log_format argus escape=default
    '$server_name\t$argus_location\t$status\t$request_time\t$bytes_sent\t$upstream_response_time';
map "" $argus_location { default ""; }`

// Nginx is an nginx started by a test.
type Nginx struct {
	// Addr is the host:port of its server "web.example", which has
	// stub_status at /stub_status, answers 200 under /api/ (location
	// "api"), proxies /proxied/ to a second server (location "proxied")
	// and answers 404 elsewhere.
	Addr string
	// StubStatus is the URL of the stub_status page.
	StubStatus string
	// AccessLog is the access log of "web.example", in NginxLogFormat.
	AccessLog string
	pid       int
}

// StartNginx starts nginx on a free loopback port with its prefix, config,
// logs and temporary files in a temporary directory, in the foreground,
// stopped by PID at cleanup.
func StartNginx(t testing.TB) *Nginx {
	t.Helper()
	dir := t.TempDir()
	addr, upstream := FreeAddr(t), FreeAddr(t)
	n := &Nginx{Addr: addr, StubStatus: "http://" + addr + "/stub_status", AccessLog: filepath.Join(dir, "argus.log")}
	user := ""
	if os.Geteuid() == 0 {
		// As root, the master would switch its workers to "nobody", who
		// may not write to the test's directory.
		user = "user root;"
	}
	conf := fmt.Sprintf(`%s
daemon off;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log info;
worker_processes 1;
events { worker_connections 128; }
http {
    client_body_temp_path %[2]s/tmp; proxy_temp_path %[2]s/tmp; fastcgi_temp_path %[2]s/tmp;
    uwsgi_temp_path %[2]s/tmp; scgi_temp_path %[2]s/tmp;
    access_log off;
    %[3]s
    server {
        listen %[4]s;
        server_name web.example;
        access_log %[5]s argus;
        location = /stub_status { stub_status; access_log off; }
        location /api/ { set $argus_location api; return 200 "ok\n"; }
        location /proxied/ { set $argus_location proxied; proxy_pass http://%[6]s/; }
        location / { return 404; }
    }
    server {
        listen %[6]s;
        location / { return 200 "upstream\n"; }
    }
}
`, user, dir, NginxLogFormat, addr, n.AccessLog, upstream)
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := Start(t, sbin("nginx"), "nginx", dir, "tcp", addr, "-p", dir, "-c", confPath, "-e", filepath.Join(dir, "error.log"))
	n.pid = cmd.Process.Pid
	return n
}

// ReopenLogs makes nginx reopen its log files, as logrotate has it do
// after renaming them.
func (n *Nginx) ReopenLogs(t testing.TB) {
	t.Helper()
	if err := syscall.Kill(n.pid, syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
}

// Scrape gets url, an exporter's metrics page, and returns its families.
func Scrape(t testing.TB, url string) []*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	parsed, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	out := make([]*dto.MetricFamily, 0, len(parsed))
	for _, f := range parsed {
		out = append(out, f)
	}
	return out
}

// sbin returns bin's path for a binary Debian installs in /usr/sbin, which
// is not in an ordinary user's PATH.
func sbin(bin string) string {
	if _, err := exec.LookPath(bin); err != nil {
		if _, err := os.Stat("/usr/sbin/" + bin); err == nil {
			return "/usr/sbin/" + bin
		}
	}
	return bin
}

// uwsgiApp is the WSGI application the tests' uWSGI serves: /boom raises,
// /sleep takes longer than the harakiri timeout, the rest answers "ok".
const uwsgiApp = `import time

def application(env, start_response):
    path = env["PATH_INFO"]
    if path == "/boom":
        raise RuntimeError("boom")
    if path == "/sleep":
        time.sleep(30)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok\n"]
`

// Uwsgi is a uWSGI started by a test.
type Uwsgi struct {
	// HTTP is the host:port of its HTTP socket, served by two workers.
	HTTP string
	// Stats is its stats server: host:port, or a socket path with
	// StartUwsgiUnix.
	Stats string
}

// StartUwsgi starts uWSGI with a master, two workers with a harakiri
// timeout of 1s, a cache named "data" and the stats server on a free
// loopback port, serving uwsgiApp with the python3 plugin.
func StartUwsgi(t testing.TB) *Uwsgi {
	return startUwsgi(t, false)
}

// StartUwsgiUnix is StartUwsgi with the stats server on a unix socket.
func StartUwsgiUnix(t testing.TB) *Uwsgi {
	return startUwsgi(t, true)
}

func startUwsgi(t testing.TB, unix bool) *Uwsgi {
	t.Helper()
	dir := t.TempDir()
	u := &Uwsgi{HTTP: FreeAddr(t), Stats: FreeAddr(t)}
	network := "tcp"
	if unix {
		u.Stats, network = filepath.Join(dir, "stats.sock"), "unix"
	}
	app := filepath.Join(dir, "app.py")
	if err := os.WriteFile(app, []byte(uwsgiApp), 0o644); err != nil {
		t.Fatal(err)
	}
	// --die-on-term: uWSGI 2.0 reloads on SIGTERM, which stops the test's
	// servers, rather than exiting. The mercies: a worker respawned after
	// a harakiri may ignore the master's request to stop, which then
	// waits 60s before killing it.
	Start(t, "uwsgi", "uwsgi-core and uwsgi-plugin-python3", dir, network, u.Stats,
		"--plugin", "python3", "--need-app", "--wsgi-file", app, "--chdir", dir,
		"--http-socket", u.HTTP, "--stats", u.Stats, "--master", "--processes", "2",
		"--harakiri", "1", "--memory-report", "--cache2", "name=data,items=16",
		"--die-on-term", "--worker-reload-mercy", "2", "--reload-mercy", "2", "--pidfile", filepath.Join(dir, "uwsgi.pid"))
	return u
}
