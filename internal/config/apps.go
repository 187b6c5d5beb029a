package config

import (
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/alecthomas/units"
	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
)

// App is one HTTP app the app host runs (argus only): a command started as
// Workers processes, each told where to listen (see ListenMode), behind a proxy
// on the app's own Listen address. Apps come from the apps section of the
// main file and from drop-in files in AppsDir, one app per file.
type App struct {
	// Name identifies the app in metrics (app label), logs and log file
	// names. Required in the apps section; a drop-in file's name defaults
	// to the file name without its extension.
	Name string `yaml:"name"`
	// Command is the program to run. A command with a slash is relative to
	// Dir; one without is looked up in $PATH.
	Command string `yaml:"command"`
	// Args are the command's arguments.
	Args []string `yaml:"args,omitempty"`
	// Env is added to the environment argus runs with. The variables
	// argus sets (PORT, ARGUS_WORKER_ID, ARGUS_APP, ARGUS_SOCKET and the
	// LISTEN_* of socket activation) may not be given.
	Env map[string]string `yaml:"env,omitempty"`
	// Dir is the working directory, relative to the file the app is
	// declared in; default that file's directory.
	Dir string `yaml:"dir,omitempty"`
	// Workers is the number of processes; default 1.
	Workers int `yaml:"workers"`
	// Listen is the address of the app's own front proxy, host:port or
	// :port. No two apps, and no app and argus itself, may share a port.
	// An app needs a Listen address, a route on the shared front port
	// (Host, PathPrefix), or both.
	Listen string `yaml:"listen,omitempty"`
	// TLS serves HTTPS (and HTTP/2) on Listen with the given certificate;
	// nil for plain HTTP.
	TLS *AppTLS `yaml:"tls,omitempty"`
	// Host routes requests for this host name (the Host header, without
	// its port, compared ignoring case) on the shared front port
	// (AppsFront) to the app; empty for any host.
	Host string `yaml:"host,omitempty"`
	// PathPrefix routes requests whose path is the prefix or below it
	// (/api matches /api and /api/x, not /apix) on the shared front port
	// to the app; default / when Host is set. The longest matching prefix
	// wins, and a route with a host beats one without.
	PathPrefix string `yaml:"path_prefix,omitempty"`
	// StripPrefix removes PathPrefix from the path before the request
	// reaches a worker, which gets the prefix in X-Forwarded-Prefix.
	StripPrefix bool `yaml:"strip_prefix,omitempty"`
	// ListenMode is how a worker is told where to listen: ListenPort (the
	// default), ListenUnix or ListenSocketActivation.
	ListenMode string `yaml:"listen_mode"`
	// HealthCheck says when a started worker may receive requests, and
	// when a running one is sick and must be restarted.
	HealthCheck AppHealthCheck `yaml:"health_check"`
	// StopTimeout is how long a worker has to exit after SIGTERM before it
	// gets SIGKILL; default 10s.
	StopTimeout model.Duration `yaml:"stop_timeout"`
	// RequestTimeout bounds a request through the proxy; a worker that
	// does not answer in time is killed and restarted (uWSGI's harakiri)
	// and the client gets 504. Default 60s; 0s disables it.
	RequestTimeout model.Duration `yaml:"request_timeout"`
	// MaxBodySize caps a request body; larger ones get 413. Default 10MiB;
	// 0 disables the limit.
	MaxBodySize units.Base2Bytes `yaml:"max_body_size"`
	// LogMaxSize is the size at which the app's log file and access log
	// are rotated (one old file is kept); default 10MiB, 0 disables
	// rotation.
	LogMaxSize units.Base2Bytes `yaml:"log_max_size"`
	// MaxRequests recycles a worker once it has been given this many
	// requests (uWSGI's max-requests): a new process is started and
	// health-checked, takes over, and the old one is drained and stopped.
	// Default 0, never.
	MaxRequests int `yaml:"max_requests"`
	// MaxRSS recycles a worker, the same way, once its resident memory
	// exceeds this size (uWSGI's reload-on-rss), as checked every second.
	// Default 0, never.
	MaxRSS units.Base2Bytes `yaml:"max_rss"`
	// AccessLog is the format of the app's access log, a line per request
	// written next to its log: AccessLogCombined (the default),
	// AccessLogJSON or AccessLogOff.
	AccessLog string `yaml:"access_log"`

	file string // the file the app was declared in
}

// AppHealthCheck is how argus decides a new worker is up, and a running
// one is still well.
type AppHealthCheck struct {
	// Path is requested (GET) on the worker until it answers 2xx; default /.
	Path string `yaml:"path"`
	// StartTimeout is how long a worker has to pass the check; a worker
	// that does not is killed and started again. Default 30s.
	StartTimeout model.Duration `yaml:"start_timeout"`
	// Interval is how often a worker in rotation is checked again;
	// default 10s, 0s disables the checks after start.
	Interval model.Duration `yaml:"interval"`
	// Failures is how many checks in a row a worker in rotation may fail
	// before it is taken out of rotation and restarted; default 3.
	Failures int `yaml:"failures"`
}

// The listen modes of an app: how argus tells a worker where to listen.
const (
	// ListenPort gives each worker a free loopback port in $PORT.
	ListenPort = "port"
	// ListenUnix gives each worker the path of a unix socket to create in
	// $ARGUS_SOCKET.
	ListenUnix = "unix"
	// ListenSocketActivation hands each worker a loopback TCP socket argus
	// already listens on, as file descriptor 3, the way systemd socket
	// activation does (LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES).
	ListenSocketActivation = "socket_activation"
)

// The formats of an app's access log.
const (
	AccessLogCombined = "combined" // Apache's and nginx's combined log format
	AccessLogJSON     = "json"     // a JSON object per line, with the duration
	AccessLogOff      = "off"      // no access log
)

// The environment variables argus sets for every worker.
const (
	EnvPort     = "PORT"            // the loopback port the worker must listen on
	EnvWorkerID = "ARGUS_WORKER_ID" // the worker's index, 0 to workers-1
	EnvApp      = "ARGUS_APP"       // the app's name
	// EnvSocket is the unix socket path the worker must listen on, in
	// listen mode ListenUnix.
	EnvSocket = "ARGUS_SOCKET"
	// EnvListenFDs, EnvListenPID and EnvListenFDNames are systemd's socket
	// activation protocol, in listen mode ListenSocketActivation: one
	// socket, fd 3, named after the app, for the process of that pid.
	EnvListenFDs     = "LISTEN_FDS"
	EnvListenPID     = "LISTEN_PID"
	EnvListenFDNames = "LISTEN_FDNAMES"
)

// reservedEnv are the environment variables argus sets for workers, which
// an app's env may not give.
var reservedEnv = map[string]bool{
	EnvPort: true, EnvWorkerID: true, EnvApp: true, EnvSocket: true,
	EnvListenFDs: true, EnvListenPID: true, EnvListenFDNames: true,
}

func (a *App) setDefaults() {
	*a = App{
		Workers:    1,
		ListenMode: ListenPort,
		HealthCheck: AppHealthCheck{
			Path:         "/",
			StartTimeout: model.Duration(30 * time.Second),
			Interval:     model.Duration(10 * time.Second),
			Failures:     3,
		},
		StopTimeout:    model.Duration(10 * time.Second),
		RequestTimeout: model.Duration(60 * time.Second),
		MaxBodySize:    10 * units.MiB,
		LogMaxSize:     10 * units.MiB,
		AccessLog:      AccessLogCombined,
	}
}

// AppsFront is the shared front port of the app host (argus only): one
// listen address serving every app that has a route (host, path_prefix),
// chosen by the request's Host header and path.
type AppsFront struct {
	// Listen is the address, host:port or :port; required. It may not be
	// argus's own port or an app's listen port.
	Listen string `yaml:"listen"`
	// TLS serves HTTPS (and HTTP/2) with the given certificate; nil for
	// plain HTTP.
	TLS *AppTLS `yaml:"tls,omitempty"`
}

// AppTLS is the certificate a front port serves HTTPS with. The files are
// read again when they change, so a renewed certificate needs no restart.
type AppTLS struct {
	// CertFile is the PEM certificate chain, relative to the declaring
	// file; required.
	CertFile string `yaml:"cert_file"`
	// KeyFile is the PEM private key, relative to the declaring file;
	// required.
	KeyFile string `yaml:"key_file"`
}

func (t *AppTLS) setDirectory(dir string) {
	if t != nil {
		t.CertFile = commoncfg.JoinDir(dir, t.CertFile)
		t.KeyFile = commoncfg.JoinDir(dir, t.KeyFile)
	}
}

// setDirectory makes the front's certificate paths relative to dir, the
// directory of the config file.
func (f *AppsFront) setDirectory(dir string) {
	if f != nil {
		f.TLS.setDirectory(dir)
	}
}

// tls checks that a tls section names both files; p is its key path.
func (v *validator) tls(p string, t *AppTLS) {
	if t == nil {
		return
	}
	if t.CertFile == "" {
		v.errorf(joinPath(p, "cert_file"), "a certificate file is required")
	}
	if t.KeyFile == "" {
		v.errorf(joinPath(p, "key_file"), "a key file is required")
	}
}

// checkCert loads a tls section's key pair; p is its key path.
func (v *validator) checkCert(p string, t *AppTLS) {
	if t == nil || t.CertFile == "" || t.KeyFile == "" {
		return
	}
	if _, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile); err != nil {
		v.errorf(joinPath(p, "cert_file"), "cannot load the certificate and key: %v", err)
	}
}

// CheckAppCerts loads the certificates of apps_front and of the apps of
// the apps section, which LoadFile does not open, and reports those that
// do not load (a missing file, a key that does not match).
func (c *Config) CheckAppCerts() error {
	v := &validator{c: c}
	if c.AppsFront != nil {
		v.checkCert("apps_front.tls", c.AppsFront.TLS)
	}
	for i, a := range c.Apps {
		if a != nil {
			v.checkCert(joinPath(indexPath("apps", i), "tls"), a.TLS)
		}
	}
	if len(v.errs) == 0 {
		return nil
	}
	return joinErrors(v.errs)
}

// Routed reports whether the app is served on the shared front port.
func (a *App) Routed() bool { return a.Host != "" || a.PathPrefix != "" }

// RouteKey identifies the app's route on the shared front port for
// clash checks: the lower-cased host and the path prefix without a
// trailing slash ("" for the root). Two apps with the same key clash.
func (a *App) RouteKey() string {
	return strings.ToLower(a.Host) + " " + strings.TrimSuffix(a.PathPrefix, "/")
}

// DescribeRoute returns the app's route as shown in messages, such as
// "host example.org path_prefix /api".
func (a *App) DescribeRoute() string {
	if a.Host == "" {
		return fmt.Sprintf("path_prefix %s on any host", a.PathPrefix)
	}
	return fmt.Sprintf("host %s path_prefix %s", a.Host, a.PathPrefix)
}

// completeRoute gives a route with a host alone the root path prefix.
func (a *App) completeRoute() {
	if a.Host != "" && a.PathPrefix == "" {
		a.PathPrefix = "/"
	}
}

// File returns the file the app was declared in, for messages; empty for
// an app built in code.
func (a *App) File() string { return a.file }

// Port returns the port of Listen, or 0 if Listen is not valid (Validate
// reports that).
func (a *App) Port() int {
	p, err := listenPort(a.Listen)
	if err != nil {
		return 0
	}
	return p
}

// listenPort returns the port of a listen address.
func listenPort(addr string) (int, error) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, err
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Errorf("port %q is not a number from 1 to 65535", port)
	}
	return p, nil
}

// appNameRE is what an app name may look like: it becomes a label value
// and part of a file name.
var appNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// maxWorkers bounds workers per app, against a typo starting thousands of
// processes.
const maxWorkers = 256

func (v *validator) apps() {
	firstName := map[string]string{}  // app name -> key path of its name
	firstPort := map[int]string{}     // port -> key path of its listen
	firstRoute := map[string]string{} // route key -> key path of its path_prefix
	if f := v.c.AppsFront; f != nil {
		if f.Listen == "" {
			v.errorf("apps_front.listen", "the shared front port needs a listen address such as :8080")
		} else if port, err := listenPort(f.Listen); err != nil {
			v.errorf("apps_front.listen", "bad listen address %q: %v", f.Listen, err)
		} else {
			firstPort[port] = "apps_front.listen"
		}
		v.tls("apps_front.tls", f.TLS)
	}
	for i, a := range v.c.Apps {
		p := indexPath("apps", i)
		if a == nil {
			v.errorf(p, "empty or null app")
			continue
		}
		v.app(p, a)
		if first, dup := firstName[a.Name]; dup && a.Name != "" {
			v.errorf(joinPath(p, "name"), "app %q is defined twice, first at %s", a.Name, v.where(first))
		} else {
			firstName[a.Name] = joinPath(p, "name")
		}
		if port := a.Port(); port != 0 {
			if first, dup := firstPort[port]; dup {
				v.errorf(joinPath(p, "listen"), "port %d is already the listen port of another app, at %s", port, v.where(first))
			} else {
				firstPort[port] = joinPath(p, "listen")
			}
		}
		if !a.Routed() {
			continue
		}
		at := joinPath(p, "path_prefix")
		if _, ok := v.c.pos[at]; !ok {
			at = joinPath(p, "host")
		}
		if v.c.AppsFront == nil {
			v.errorf(at, "apps_front is not set: an app with a host or path_prefix is served on the shared front port apps_front.listen")
		}
		if first, dup := firstRoute[a.RouteKey()]; dup {
			v.errorf(at, "%s is already the route of another app, at %s", a.DescribeRoute(), v.where(first))
		} else {
			firstRoute[a.RouteKey()] = at
		}
	}
}

// app checks one app on its own; p is its key path, "" for a drop-in file.
func (v *validator) app(p string, a *App) {
	switch {
	case a.Name == "":
		v.errorf(joinPath(p, "name"), "an app needs a name")
	case !appNameRE.MatchString(a.Name):
		v.errorf(joinPath(p, "name"), "app name %q may only hold letters, digits, _, . and -, and must start with a letter or digit", a.Name)
	}
	if a.Command == "" {
		v.errorf(joinPath(p, "command"), "an app needs a command to run")
	}
	for _, name := range sortedKeys(a.Env) {
		switch {
		case reservedEnv[name]:
			v.errorf(joinPath(joinPath(p, "env"), name), "%s is set by argus for each worker", name)
		case name == "" || strings.ContainsAny(name, "=\x00"):
			v.errorf(joinPath(joinPath(p, "env"), name), "%q is not a valid environment variable name", name)
		}
	}
	if a.Workers < 1 || a.Workers > maxWorkers {
		v.errorf(joinPath(p, "workers"), "must be from 1 to %d", maxWorkers)
	}
	switch {
	case a.Listen == "" && !a.Routed():
		v.errorf(joinPath(p, "listen"), "an app needs a listen address such as 127.0.0.1:8081, or a host or path_prefix to be served on the shared front port")
	case a.Listen != "":
		if _, err := listenPort(a.Listen); err != nil {
			v.errorf(joinPath(p, "listen"), "bad listen address %q: %v", a.Listen, err)
		}
	}
	v.route(p, a)
	v.tls(joinPath(p, "tls"), a.TLS)
	if a.TLS != nil && a.Listen == "" {
		v.errorf(joinPath(p, "tls"), "serves the app's own listen port, which it has none of; for the shared front port, set apps_front.tls")
	}
	if !strings.HasPrefix(a.HealthCheck.Path, "/") {
		v.errorf(joinPath(joinPath(p, "health_check"), "path"), "must start with /")
	}
	v.positive(joinPath(joinPath(p, "health_check"), "start_timeout"), a.HealthCheck.StartTimeout)
	if a.HealthCheck.Interval < 0 {
		v.errorf(joinPath(joinPath(p, "health_check"), "interval"), "must not be negative (0s disables the checks after start)")
	}
	if a.HealthCheck.Failures < 1 {
		v.errorf(joinPath(joinPath(p, "health_check"), "failures"), "must be at least 1")
	}
	switch a.ListenMode {
	case ListenPort, ListenUnix, ListenSocketActivation:
	default:
		v.errorf(joinPath(p, "listen_mode"), "%q is not a listen mode: use %s, %s or %s",
			a.ListenMode, ListenPort, ListenUnix, ListenSocketActivation)
	}
	v.positive(joinPath(p, "stop_timeout"), a.StopTimeout)
	if a.RequestTimeout < 0 {
		v.errorf(joinPath(p, "request_timeout"), "must not be negative")
	}
	if a.MaxBodySize < 0 {
		v.errorf(joinPath(p, "max_body_size"), "must not be negative")
	}
	if a.LogMaxSize < 0 {
		v.errorf(joinPath(p, "log_max_size"), "must not be negative")
	}
	if a.MaxRequests < 0 {
		v.errorf(joinPath(p, "max_requests"), "must not be negative (0 never recycles)")
	}
	if a.MaxRSS < 0 {
		v.errorf(joinPath(p, "max_rss"), "must not be negative (0 never recycles)")
	}
	switch a.AccessLog {
	case AccessLogCombined, AccessLogJSON, AccessLogOff:
	default:
		v.errorf(joinPath(p, "access_log"), "%q is not an access log format: use %s, %s or %s",
			a.AccessLog, AccessLogCombined, AccessLogJSON, AccessLogOff)
	}
}

// hostNameRE is what a route's host may look like: a DNS name or an IPv4
// address, without scheme, port or path.
var hostNameRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$`)

// route checks an app's host, path_prefix and strip_prefix.
func (v *validator) route(p string, a *App) {
	if a.Host != "" && !hostNameRE.MatchString(a.Host) {
		v.errorf(joinPath(p, "host"), "%q is not a host name (give it without scheme, port or path)", a.Host)
	}
	if a.PathPrefix != "" && (!strings.HasPrefix(a.PathPrefix, "/") || strings.ContainsAny(a.PathPrefix, "?# ")) {
		v.errorf(joinPath(p, "path_prefix"), "%q must start with / and hold no query, fragment or space", a.PathPrefix)
	}
	if a.StripPrefix && strings.TrimSuffix(a.PathPrefix, "/") == "" {
		v.errorf(joinPath(p, "strip_prefix"), "needs a path_prefix other than /")
	}
}

// setDirectory makes the app's working directory relative to dir, the
// directory of the file it was declared in.
func (a *App) setDirectory(dir string) {
	a.TLS.setDirectory(dir)
	if a.Dir == "" {
		a.Dir = dir
		return
	}
	a.Dir = commoncfg.JoinDir(dir, a.Dir)
}

// CheckAppPorts reports apps of the apps section, and apps_front, whose
// listen port is the port of addr, argus's own HTTP listen address, which the config file
// does not hold.
func (c *Config) CheckAppPorts(addr string) error {
	reserved, err := listenPort(addr)
	if err != nil {
		return nil // not a TCP host:port; nothing can clash
	}
	v := &validator{c: c}
	if f := c.AppsFront; f != nil {
		if port, err := listenPort(f.Listen); err == nil && port == reserved {
			v.errorf("apps_front.listen", "port %d is argus's own listen port (%s)", reserved, addr)
		}
	}
	for i, a := range c.Apps {
		if a != nil && a.Port() == reserved {
			v.errorf(joinPath(indexPath("apps", i), "listen"), "port %d is argus's own listen port (%s)", reserved, addr)
		}
	}
	if len(v.errs) == 0 {
		return nil
	}
	return joinErrors(v.errs)
}

// IsAppFile reports whether name, a file in apps_dir, declares an app:
// it ends in .yml or .yaml and is not hidden. Other files (editor backups,
// READMEs) are ignored.
func IsAppFile(name string) bool {
	if strings.HasPrefix(name, ".") {
		return false
	}
	ext := filepath.Ext(name)
	return ext == ".yml" || ext == ".yaml"
}

// LoadAppFile reads, decodes and validates a drop-in app file: one app's
// keys at the top level. The name defaults to the file name without its
// extension, and a relative dir is relative to the file's directory.
// Errors are *Error values naming the file, line and key, like those of
// LoadFile. Checks across apps (duplicate names, shared ports) are the app
// host's, which knows what else runs.
func LoadAppFile(path string) (*App, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	a := &App{}
	a.setDefaults()
	res := decodeFile(data, path, a)
	ld := &loader{c: &Config{file: path, pos: res.pos}}
	ld.add(path, res)
	if ld.fatal {
		return nil, ld.joined()
	}
	if _, named := res.pos["name"]; !named {
		a.Name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	}
	a.completeRoute()
	v := &validator{c: ld.c}
	v.app("", a)
	ld.addValidation(v.errs)
	if len(ld.errs) > 0 {
		return nil, ld.joined()
	}
	a.file = path
	a.setDirectory(filepath.Dir(path))
	// Unlike LoadFile's, a drop-in's certificate is loaded here: the
	// file is the app host's to read, and a bad one is its problem.
	cv := &validator{c: ld.c}
	cv.checkCert("tls", a.TLS)
	if len(cv.errs) > 0 {
		return nil, joinErrors(cv.errs)
	}
	return a, nil
}
