package config

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
)

// Probe is the probe section (argus only): where the black-box probe
// modules come from, for the probe integrations and for /probe.
type Probe struct {
	// ConfigFile is a blackbox_exporter blackbox.yml whose modules are
	// used; relative to the config file. The built-in modules (see
	// BuiltinProbeModules) exist unless the file defines their names.
	ConfigFile string `yaml:"config_file,omitempty"`

	// Modules are the modules by name: the built-in ones and the file's.
	// LoadFile reads the file; after Parse, which reads no other file,
	// Modules is nil when a config_file is set.
	Modules map[string]*ProbeModule `yaml:"-"`
}

// ProbeModule is a module of blackbox.yml, in blackbox_exporter 0.23's
// schema, limited to what argus implements: the http and tcp probers.
// Keys argus does not implement are errors, so a module never silently
// checks less than its author meant.
type ProbeModule struct {
	// Prober is http or tcp; dns, icmp and grpc modules load (a file
	// written for blackbox_exporter may hold them) but cannot be used.
	Prober string `yaml:"prober"`
	// Timeout bounds one probe, within the scrape timeout; 0 for the
	// scrape timeout alone.
	Timeout model.Duration `yaml:"timeout,omitempty"`
	HTTP    ProbeHTTP      `yaml:"http,omitempty"`
	TCP     ProbeTCP       `yaml:"tcp,omitempty"`

	// DNS, ICMP and GRPC are the settings of probers argus does not
	// implement, kept only so that their modules load.
	DNS  map[string]any `yaml:"dns,omitempty"`
	ICMP map[string]any `yaml:"icmp,omitempty"`
	GRPC map[string]any `yaml:"grpc,omitempty"`
}

// ProbeHTTP is an http module's settings.
type ProbeHTTP struct {
	// ValidStatusCodes are the status codes that succeed; empty means 2xx.
	ValidStatusCodes []int `yaml:"valid_status_codes,omitempty"`
	// Method is the request method; default GET.
	Method string `yaml:"method,omitempty"`
	// Headers and Body are sent with the request.
	Headers map[string]string `yaml:"headers,omitempty"`
	Body    string            `yaml:"body,omitempty"`
	// FollowRedirects, default true, follows up to 10 redirects; false
	// makes a redirect the final response. NoFollowRedirects is its
	// older, inverted spelling, which blackbox_exporter 0.23 still takes.
	FollowRedirects   *bool `yaml:"follow_redirects,omitempty"`
	NoFollowRedirects bool  `yaml:"no_follow_redirects,omitempty"`
	// FailIfSSL and FailIfNotSSL fail the probe by whether the final
	// response came over TLS.
	FailIfSSL    bool `yaml:"fail_if_ssl,omitempty"`
	FailIfNotSSL bool `yaml:"fail_if_not_ssl,omitempty"`
	// FailIfBodyMatchesRegexp and FailIfBodyNotMatchesRegexp are
	// regular expressions (Go syntax, unanchored) the body is checked
	// against.
	FailIfBodyMatchesRegexp    []string            `yaml:"fail_if_body_matches_regexp,omitempty"`
	FailIfBodyNotMatchesRegexp []string            `yaml:"fail_if_body_not_matches_regexp,omitempty"`
	TLSConfig                  commoncfg.TLSConfig `yaml:"tls_config,omitempty"`
	ProbeIPProtocol            `yaml:",inline"`
}

// ProbeTCP is a tcp module's settings.
type ProbeTCP struct {
	// TLS makes the probe a TLS handshake after connecting.
	TLS             bool                `yaml:"tls,omitempty"`
	TLSConfig       commoncfg.TLSConfig `yaml:"tls_config,omitempty"`
	ProbeIPProtocol `yaml:",inline"`
}

// ProbeIPProtocol chooses the address family when a name resolves to
// both, as blackbox_exporter does: ip6 preferred, falling back to ip4.
type ProbeIPProtocol struct {
	// PreferredIPProtocol is ip4 or ip6; default ip6.
	PreferredIPProtocol string `yaml:"preferred_ip_protocol,omitempty"`
	// IPProtocolFallback, default true, allows the other family when the
	// name has no address of the preferred one.
	IPProtocolFallback *bool `yaml:"ip_protocol_fallback,omitempty"`
}

// FollowsRedirects reports whether the module follows redirects.
func (h *ProbeHTTP) FollowsRedirects() bool {
	return !h.NoFollowRedirects && (h.FollowRedirects == nil || *h.FollowRedirects)
}

// Supported reports whether argus implements the module's prober.
func (m *ProbeModule) Supported() bool { return m.Prober == "http" || m.Prober == "tcp" }

// BuiltinProbeModules returns the modules that exist without a
// config_file, named as in blackbox_exporter's example blackbox.yml:
// http_2xx (GET, any 2xx) and tcp_connect (connect only).
func BuiltinProbeModules() map[string]*ProbeModule {
	return map[string]*ProbeModule{
		"http_2xx":    {Prober: "http"},
		"tcp_connect": {Prober: "tcp"},
	}
}

// probeModulesFile is the schema of blackbox.yml.
type probeModulesFile struct {
	Modules map[string]*ProbeModule `yaml:"modules"`
}

// ParseProbeModules decodes and checks a blackbox.yml, strictly: an
// unknown key is an error. file is used in error messages only.
func ParseProbeModules(data []byte, file string) (map[string]*ProbeModule, error) {
	var f probeModulesFile
	res := decodeFile(data, file, &f)
	errs := res.errs
	if !res.fatal {
		v := &validator{c: &Config{file: file, pos: res.pos}}
		names := make([]string, 0, len(f.Modules))
		for name := range f.Modules {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			v.probeModule("modules."+name, name, f.Modules[name])
		}
		errs = append(errs, v.errs...)
	}
	if len(errs) > 0 {
		return nil, joinErrors(errs)
	}
	return f.Modules, nil
}

// includeProbeModules reads probe.config_file into c.Probe.Modules, over
// the built-in modules.
func (ld *loader) includeProbeModules() {
	c := ld.c
	c.Probe.Modules = BuiltinProbeModules()
	if c.Probe.ConfigFile == "" {
		return
	}
	file := commoncfg.JoinDir(ld.dir, c.Probe.ConfigFile)
	data, err := os.ReadFile(file)
	if err != nil {
		e := &Error{File: c.file, Path: "probe.config_file", Err: fmt.Errorf("read the probe modules: %w", err)}
		if pos, shown, ok := c.pos.find(e.Path); ok {
			e.File, e.Line, e.Path = pos.file, pos.line, shown
		}
		ld.errs = append(ld.errs, e)
		return
	}
	mods, err := ParseProbeModules(data, file)
	if err != nil {
		ld.errs = append(ld.errs, &Error{File: file, Err: err})
		return
	}
	for name, m := range mods {
		m.setDirectory(filepath.Dir(file))
		c.Probe.Modules[name] = m
	}
}

func (m *ProbeModule) setDirectory(dir string) {
	m.HTTP.TLSConfig.SetDirectory(dir)
	m.TCP.TLSConfig.SetDirectory(dir)
}

// probeModule checks one module of blackbox.yml.
func (v *validator) probeModule(p, name string, m *ProbeModule) {
	if m == nil {
		v.errorf(p, "module %q is empty", name)
		return
	}
	switch m.Prober {
	case "http", "tcp", "dns", "icmp", "grpc":
	case "":
		v.errorf(joinPath(p, "prober"), "module %q: prober is required (http or tcp)", name)
	default:
		v.errorf(joinPath(p, "prober"), "module %q: unknown prober %q", name, m.Prober)
	}
	if m.Timeout < 0 {
		v.errorf(joinPath(p, "timeout"), "module %q: timeout must not be negative", name)
	}
	for _, code := range m.HTTP.ValidStatusCodes {
		if code < 100 || code > 999 {
			v.errorf(joinPath(p, "http.valid_status_codes"), "module %q: %d is not an HTTP status code", name, code)
		}
	}
	for _, re := range slices.Concat(m.HTTP.FailIfBodyMatchesRegexp, m.HTTP.FailIfBodyNotMatchesRegexp) {
		if _, err := regexp.Compile(re); err != nil {
			v.errorf(joinPath(p, "http"), "module %q: regexp %q: %v", name, re, err)
		}
	}
	for key, tc := range map[string]*commoncfg.TLSConfig{"http.tls_config": &m.HTTP.TLSConfig, "tcp.tls_config": &m.TCP.TLSConfig} {
		if err := tc.Validate(); err != nil {
			v.add(joinPath(p, key), fmt.Errorf("module %q: %w", name, err))
		}
	}
	for key, ipp := range map[string]ProbeIPProtocol{"http": m.HTTP.ProbeIPProtocol, "tcp": m.TCP.ProbeIPProtocol} {
		switch strings.ToLower(ipp.PreferredIPProtocol) {
		case "", "ip4", "ip6":
		default:
			v.errorf(joinPath(p, key+".preferred_ip_protocol"), "module %q: preferred_ip_protocol must be ip4 or ip6, not %q", name, ipp.PreferredIPProtocol)
		}
	}
}

// defaultProbeModule is the module of a probe integration without one:
// http_2xx for a URL, tcp_connect for host:port.
func (in *Integration) defaultProbeModule() string {
	if strings.Contains(in.Address, "://") {
		return "http_2xx"
	}
	return "tcp_connect"
}

// resolveProbeModule sets the module a probe integration uses, when the
// modules are known.
func (in *Integration) resolveProbeModule(modules map[string]*ProbeModule) {
	if in.Type != "probe" {
		return
	}
	if in.Module == "" {
		in.Module = in.defaultProbeModule()
	}
	in.ProbeModule = modules[in.Module]
}

// probeIntegration checks a probe integration's module and address.
func (v *validator) probeIntegration(p string, in *Integration) {
	if v.c.Probe.Modules == nil {
		return // Parse with a config_file: the modules are not read
	}
	m := in.ProbeModule
	switch {
	case m == nil:
		v.errorf(joinPath(p, "module"), "integration %q: no probe module %q (built in: http_2xx, tcp_connect; others come from probe.config_file)", in.Name, in.Module)
		return
	case !m.Supported():
		v.errorf(joinPath(p, "module"), "integration %q: module %q uses prober %s, which argus does not implement (http and tcp)", in.Name, in.Module, m.Prober)
		return
	}
	ap := joinPath(p, "address")
	if m.Prober == "http" {
		v.integrationURL(ap, in)
		return
	}
	// A URL splits into host "http" and port "//...".
	if host, port, err := net.SplitHostPort(in.Address); err != nil || host == "" || port == "" || strings.Contains(in.Address, "/") {
		v.errorf(ap, "integration %q: module %q probes tcp: address %q is not host:port", in.Name, in.Module, in.Address)
	}
}

// IsZero reports whether the section is absent, for omitempty: the
// modules are derived, not configured.
func (p Probe) IsZero() bool { return p.ConfigFile == "" }
