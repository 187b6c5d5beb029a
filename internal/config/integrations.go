package config

import (
	"net"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
)

// Integration is one item of the integrations section (argus only): a
// server argus reads metrics from itself, in its own protocol, with the
// metric names of the exporter its users know. Each runs as a scrape job
// named after it (job=<name>, instance=<address>), stored without an HTTP
// round trip and also served at /metrics/integrations/<name>.
type Integration struct {
	// Name is the job label; required, unique, and not the name of a
	// scrape job or built-in collector. It is part of a URL path, so it is
	// limited to letters, digits, '_', '.' and '-'.
	Name string `yaml:"name"`
	// Type is what kind of server it is; see IntegrationTypes.
	Type string `yaml:"type"`
	// Address is host:port or the absolute path of a unix socket, for the
	// types that connect to an address, or an http(s) URL for the types
	// read over HTTP (nginx). It is the instance label.
	Address string `yaml:"address,omitempty"`
	// DSN is a connection string, for the types that take one instead of
	// an address (postgres: a URL or key=value pairs). It is a secret, as
	// it may hold a password; the instance label is its host and port.
	DSN commoncfg.Secret `yaml:"dsn,omitempty"`
	// Username and Password (or PasswordFile, read at each connection so a
	// rotated file is picked up) authenticate, for the types that can.
	Username     string           `yaml:"username,omitempty"`
	Password     commoncfg.Secret `yaml:"password,omitempty"`
	PasswordFile string           `yaml:"password_file,omitempty"`
	// TLSConfig, when present (even empty), makes connections use TLS.
	TLSConfig *commoncfg.TLSConfig `yaml:"tls_config,omitempty"`
	// Interval is how often it is collected; default global.scrape_interval.
	Interval model.Duration `yaml:"interval,omitempty"`
	// Timeout bounds one collection; default global.scrape_timeout, or
	// Interval if that is shorter.
	Timeout model.Duration `yaml:"timeout,omitempty"`
	// Labels are added to every series of the integration.
	Labels model.LabelSet `yaml:"labels,omitempty"`

	// AccessLog (nginx) is an access log in the documented argus format,
	// tailed for per-request metrics; relative to the config file.
	AccessLog string `yaml:"access_log,omitempty"`

	// Module (probe) names the probe module: a built-in one or one of
	// probe.config_file; default http_2xx for a URL address, tcp_connect
	// for host:port.
	Module string `yaml:"module,omitempty"`
	// ProbeModule is the module Module names, resolved by LoadFile and
	// Parse; nil for other types.
	ProbeModule *ProbeModule `yaml:"-"`
}

// integrationType says which connection settings a type uses, so that a
// setting the type would ignore is an error rather than a surprise.
type integrationType struct {
	auth bool // username, password, password_file
	tls  bool // tls_config
	dsn  bool // dsn, as an alternative to address
	// url is set when the address is an http or https URL rather than
	// host:port or a unix socket path.
	url bool
	// accessLog is set when the type takes access_log.
	accessLog bool
	// probe is set for the probe type, whose module says what the
	// address is.
	probe bool
}

// integrationTypes are the integration types argus knows. A type with dsn
// takes either an address or a connection string.
var integrationTypes = map[string]integrationType{
	"memcached": {tls: true},
	"postgres":  {auth: true, tls: true, dsn: true},
	"rabbitmq":  {auth: true, tls: true},
	"redis":     {auth: true, tls: true},
	"nginx":     {tls: true, url: true, accessLog: true},
	"uwsgi":     {},
	"probe":     {probe: true},
}

// IntegrationTypes returns the names of the integration types, sorted.
func IntegrationTypes() []string {
	names := make([]string, 0, len(integrationTypes))
	for name := range integrationTypes {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// builtinJobs are the job names of the built-in collectors, which an
// integration may not take.
var builtinJobs = []string{"argus", "node", "process"}

// integrationNameRE is what an integration name may look like: it is a
// path segment of /metrics/integrations/<name>.
var integrationNameRE = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// inherit fills in the interval and timeout from the global settings.
func (in *Integration) inherit(g *Global) {
	if in.Interval == 0 {
		in.Interval = g.ScrapeInterval
	}
	if in.Timeout == 0 {
		in.Timeout = min(g.ScrapeTimeout, in.Interval)
	}
}

func (in *Integration) setDirectory(dir string) {
	in.PasswordFile = commoncfg.JoinDir(dir, in.PasswordFile)
	in.AccessLog = commoncfg.JoinDir(dir, in.AccessLog)
	if in.TLSConfig != nil {
		in.TLSConfig.SetDirectory(dir)
	}
}

func (v *validator) integrations() {
	jobs := map[string]bool{}
	for _, s := range v.c.ScrapeConfigs {
		if s != nil {
			jobs[s.JobName] = true
		}
	}
	first := map[string]string{}
	for i, in := range v.c.Integrations {
		p := indexPath("integrations", i)
		if in == nil {
			v.errorf(p, "empty or null integration")
			continue
		}
		v.integrationName(p, in.Name, jobs, first)
		v.integration(p, in)
	}
}

func (v *validator) integrationName(p, name string, jobs map[string]bool, first map[string]string) {
	np := joinPath(p, "name")
	switch {
	case name == "":
		v.errorf(np, "an integration needs a name (it becomes the job label)")
	case !integrationNameRE.MatchString(name):
		v.errorf(np, "integration name %q may only hold letters, digits, '_', '.' and '-'", name)
	case slices.Contains(builtinJobs, name):
		v.errorf(np, "integration %q has the job name of a built-in collector", name)
	case jobs[name]:
		v.errorf(np, "integration %q has the name of a scrape job", name)
	case first[name] != "":
		v.errorf(np, "integration %q is defined twice, first at %s", name, v.where(first[name]))
	default:
		first[name] = np
	}
}

func (v *validator) integration(p string, in *Integration) {
	t, ok := integrationTypes[in.Type]
	if !ok {
		v.errorf(joinPath(p, "type"), "integration %q: unknown type %q, must be one of %s", in.Name, in.Type, strings.Join(IntegrationTypes(), ", "))
		// The other checks depend on the type.
		t = integrationType{auth: true, tls: true}
	}
	switch {
	case in.DSN != "" && !t.dsn:
		v.errorf(joinPath(p, "dsn"), "integration %q: type %s takes an address, not a dsn", in.Name, in.Type)
	case in.DSN != "" && in.Address != "":
		v.errorf(joinPath(p, "dsn"), "integration %q: set address or dsn, not both", in.Name)
	case in.DSN != "":
		// The marker is what Marshal writes for a secret; its output must
		// load back.
		if _, err := dsnAddress(string(in.DSN)); err != nil && in.DSN != secretMarker {
			v.errorf(joinPath(p, "dsn"), "integration %q: %v", in.Name, err)
		}
	case t.probe:
		v.probeIntegration(p, in)
	case t.url:
		v.integrationURL(joinPath(p, "address"), in)
	default:
		v.integrationAddress(joinPath(p, "address"), in, t.dsn)
	}
	if in.Module != "" && !t.probe {
		v.errorf(joinPath(p, "module"), "integration %q: type %s has no module", in.Name, in.Type)
	}
	if in.AccessLog != "" && !t.accessLog {
		v.errorf(joinPath(p, "access_log"), "integration %q: type %s has no access_log", in.Name, in.Type)
	}
	if !t.auth {
		for key, set := range map[string]bool{"username": in.Username != "", "password": in.Password != "", "password_file": in.PasswordFile != ""} {
			if set {
				v.errorf(joinPath(p, key), "integration %q: type %s has no authentication", in.Name, in.Type)
			}
		}
	}
	if in.Password != "" && in.PasswordFile != "" {
		v.errorf(joinPath(p, "password_file"), "integration %q: set password or password_file, not both", in.Name)
	}
	if in.TLSConfig != nil {
		if !t.tls {
			v.errorf(joinPath(p, "tls_config"), "integration %q: type %s has no TLS", in.Name, in.Type)
		} else if err := in.TLSConfig.Validate(); err != nil {
			v.add(joinPath(p, "tls_config"), err)
		}
	}
	v.positive(joinPath(p, "interval"), in.Interval)
	v.positive(joinPath(p, "timeout"), in.Timeout)
	if in.Timeout > in.Interval {
		v.errorf(joinPath(p, "timeout"), "integration %q: timeout %v greater than interval %v", in.Name, in.Timeout, in.Interval)
	}
	v.labelSet(joinPath(p, "labels"), in.Labels, v.scheme)
	for name := range in.Labels {
		if name == model.JobLabel || name == model.InstanceLabel || strings.HasPrefix(string(name), model.ReservedLabelPrefix) {
			v.errorf(joinPath(joinPath(p, "labels"), string(name)), "integration %q: label %s is set by argus", in.Name, name)
		}
	}
}

// secretMarker is what Marshal writes in place of a secret.
const secretMarker = "<secret>"

// Instance returns the integration's instance label: its address, or the
// host and port of its DSN.
func (in *Integration) Instance() string {
	if in.Address != "" || in.DSN == "" {
		return in.Address
	}
	addr, _ := dsnAddress(string(in.DSN))
	return addr
}

// integrationAddress checks that the address is host:port or the absolute
// path of a unix socket.
func (v *validator) integrationAddress(p string, in *Integration, dsn bool) {
	switch {
	case in.Address == "" && dsn:
		v.errorf(p, "integration %q: address or dsn is required", in.Name)
	case in.Address == "":
		v.errorf(p, "integration %q: address is required (host:port or a unix socket path)", in.Name)
	case strings.HasPrefix(in.Address, "/"):
		if filepath.Clean(in.Address) != in.Address {
			v.errorf(p, "integration %q: unix socket path %q is not clean", in.Name, in.Address)
		}
	default:
		host, port, err := net.SplitHostPort(in.Address)
		if err != nil || host == "" || port == "" {
			v.errorf(p, "integration %q: address %q is neither host:port nor an absolute unix socket path", in.Name, in.Address)
		}
	}
}

// integrationURL checks that the address is an http or https URL, for
// the types read over HTTP.
func (v *validator) integrationURL(p string, in *Integration) {
	if in.Address == "" {
		v.errorf(p, "integration %q: address is required (an http or https URL)", in.Name)
		return
	}
	u, err := url.Parse(in.Address)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		v.errorf(p, "integration %q: address %q is not an http or https URL", in.Name, in.Address)
	case u.User != nil:
		// The address is the instance label, shown everywhere.
		v.errorf(p, "integration %q: the address URL may not hold credentials", in.Name)
	}
}
