package config

import (
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
// Workers processes, each told its loopback port in $PORT, behind a proxy
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
	// Env is added to the environment argus runs with. PORT,
	// ARGUS_WORKER_ID and ARGUS_APP are set by argus and may not be given.
	Env map[string]string `yaml:"env,omitempty"`
	// Dir is the working directory, relative to the file the app is
	// declared in; default that file's directory.
	Dir string `yaml:"dir,omitempty"`
	// Workers is the number of processes; default 1.
	Workers int `yaml:"workers"`
	// Listen is the address of the app's front proxy, host:port or :port;
	// required. No two apps, and no app and argus itself, may share a port.
	Listen string `yaml:"listen"`
	// HealthCheck says when a started worker may receive requests.
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
	// LogMaxSize is the size at which the app's log file is rotated (one
	// old file is kept); default 10MiB, 0 disables rotation.
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

	file string // the file the app was declared in
}

// AppHealthCheck is how argus decides a new worker is up.
type AppHealthCheck struct {
	// Path is requested (GET) on the worker until it answers 2xx; default /.
	Path string `yaml:"path"`
	// StartTimeout is how long a worker has to pass the check; a worker
	// that does not is killed and started again. Default 30s.
	StartTimeout model.Duration `yaml:"start_timeout"`
}

// The environment variables argus sets for every worker.
const (
	EnvPort     = "PORT"            // the loopback port the worker must listen on
	EnvWorkerID = "ARGUS_WORKER_ID" // the worker's index, 0 to workers-1
	EnvApp      = "ARGUS_APP"       // the app's name
)

func (a *App) setDefaults() {
	*a = App{
		Workers:        1,
		HealthCheck:    AppHealthCheck{Path: "/", StartTimeout: model.Duration(30 * time.Second)},
		StopTimeout:    model.Duration(10 * time.Second),
		RequestTimeout: model.Duration(60 * time.Second),
		MaxBodySize:    10 * units.MiB,
		LogMaxSize:     10 * units.MiB,
	}
}

// rejectKey names the app keys that are planned but not there yet.
func (a *App) rejectKey(key string) string {
	switch key {
	case "host", "path_prefix":
		return "routing by host name and path on a shared front port is not supported yet; give the app its own listen address"
	}
	return ""
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
	firstName := map[string]string{} // app name -> key path of its name
	firstPort := map[int]string{}    // port -> key path of its listen
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
		case name == EnvPort || name == EnvWorkerID || name == EnvApp:
			v.errorf(joinPath(joinPath(p, "env"), name), "%s is set by argus for each worker", name)
		case name == "" || strings.ContainsAny(name, "=\x00"):
			v.errorf(joinPath(joinPath(p, "env"), name), "%q is not a valid environment variable name", name)
		}
	}
	if a.Workers < 1 || a.Workers > maxWorkers {
		v.errorf(joinPath(p, "workers"), "must be from 1 to %d", maxWorkers)
	}
	if a.Listen == "" {
		v.errorf(joinPath(p, "listen"), "an app needs a listen address such as 127.0.0.1:8081 (serving on a shared port is not supported yet)")
	} else if _, err := listenPort(a.Listen); err != nil {
		v.errorf(joinPath(p, "listen"), "bad listen address %q: %v", a.Listen, err)
	}
	if !strings.HasPrefix(a.HealthCheck.Path, "/") {
		v.errorf(joinPath(joinPath(p, "health_check"), "path"), "must start with /")
	}
	v.positive(joinPath(joinPath(p, "health_check"), "start_timeout"), a.HealthCheck.StartTimeout)
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
}

// setDirectory makes the app's working directory relative to dir, the
// directory of the file it was declared in.
func (a *App) setDirectory(dir string) {
	if a.Dir == "" {
		a.Dir = dir
		return
	}
	a.Dir = commoncfg.JoinDir(dir, a.Dir)
}

// CheckAppPorts reports apps of the apps section whose listen port is the
// port of addr, argus's own HTTP listen address, which the config file
// does not hold.
func (c *Config) CheckAppPorts(addr string) error {
	reserved, err := listenPort(addr)
	if err != nil {
		return nil // not a TCP host:port; nothing can clash
	}
	v := &validator{c: c}
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
	v := &validator{c: ld.c}
	v.app("", a)
	ld.addValidation(v.errs)
	if len(ld.errs) > 0 {
		return nil, ld.joined()
	}
	a.file = path
	a.setDirectory(filepath.Dir(path))
	return a, nil
}
