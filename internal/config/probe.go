package config

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/miekg/dns"
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
// schema, limited to what argus implements. Keys argus does not implement
// are errors, so a module never silently checks less than its author
// meant.
type ProbeModule struct {
	// Prober is http, tcp, dns, icmp or grpc.
	Prober string `yaml:"prober"`
	// Timeout bounds one probe, within the scrape timeout; 0 for the
	// scrape timeout alone.
	Timeout model.Duration `yaml:"timeout,omitempty"`
	HTTP    ProbeHTTP      `yaml:"http,omitempty"`
	TCP     ProbeTCP       `yaml:"tcp,omitempty"`
	DNS     ProbeDNS       `yaml:"dns,omitempty"`
	ICMP    ProbeICMP      `yaml:"icmp,omitempty"`
	GRPC    ProbeGRPC      `yaml:"grpc,omitempty"`
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
	TLS       bool                `yaml:"tls,omitempty"`
	TLSConfig commoncfg.TLSConfig `yaml:"tls_config,omitempty"`
	// QueryResponse is a dialogue run over the connection, step by step.
	QueryResponse []ProbeQueryResponse `yaml:"query_response,omitempty"`
	// SourceIPAddress is the local address to connect from; empty lets
	// the system choose.
	SourceIPAddress string `yaml:"source_ip_address,omitempty"`
	ProbeIPProtocol `yaml:",inline"`
}

// ProbeQueryResponse is one step of a tcp dialogue: wait for a line
// matching Expect, then send Send, then maybe start TLS.
type ProbeQueryResponse struct {
	// Expect is a regular expression (Go syntax, unanchored): lines are
	// read until one matches it, and the probe fails at the end of the
	// stream without one. Empty reads nothing.
	Expect string `yaml:"expect,omitempty"`
	// Send is a line to send, a newline appended. After an Expect, $1 or
	// ${name} are the groups of the matching line.
	Send string `yaml:"send,omitempty"`
	// StartTLS makes the connection TLS (with tls_config) after the step.
	StartTLS bool `yaml:"starttls,omitempty"`
}

// ProbeDNS is a dns module's settings. The target is the DNS server,
// host or host:port (port 53 by default, 853 over TLS).
type ProbeDNS struct {
	// QueryName is the name asked for; required.
	QueryName string `yaml:"query_name,omitempty"`
	// QueryType is the record type asked for, as written in zone files
	// (A, AAAA, MX, SOA, ...); default ANY.
	QueryType string `yaml:"query_type,omitempty"`
	// QueryClass is the class asked for; default IN.
	QueryClass string `yaml:"query_class,omitempty"`
	// TransportProtocol is udp (default) or tcp.
	TransportProtocol string `yaml:"transport_protocol,omitempty"`
	// DNSOverTLS asks over TLS (with TLSConfig), tcp transport only.
	DNSOverTLS bool                `yaml:"dns_over_tls,omitempty"`
	TLSConfig  commoncfg.TLSConfig `yaml:"tls_config,omitempty"`
	// SourceIPAddress is the local address to query from; empty lets
	// the system choose.
	SourceIPAddress string `yaml:"source_ip_address,omitempty"`
	// RecursionDesired, default true, sets the query's RD flag.
	RecursionDesired *bool `yaml:"recursion_desired,omitempty"`
	// ValidRcodes are the response codes that succeed (NOERROR,
	// NXDOMAIN, ...); empty means NOERROR.
	ValidRcodes []string `yaml:"valid_rcodes,omitempty"`
	// ValidateAnswer, ValidateAuthority and ValidateAdditional check the
	// records of the answer's sections.
	ValidateAnswer     ProbeDNSRRValidator `yaml:"validate_answer_rrs,omitempty"`
	ValidateAuthority  ProbeDNSRRValidator `yaml:"validate_authority_rrs,omitempty"`
	ValidateAdditional ProbeDNSRRValidator `yaml:"validate_additional_rrs,omitempty"`
	ProbeIPProtocol    `yaml:",inline"`
}

// ProbeDNSRRValidator checks the records of one section of a DNS answer,
// each written as in a zone file ("example.com.\t300\tIN\tA\t192.0.2.1"),
// against regular expressions (Go syntax, unanchored).
type ProbeDNSRRValidator struct {
	// FailIfMatchesRegexp fails the probe if any record matches any.
	FailIfMatchesRegexp []string `yaml:"fail_if_matches_regexp,omitempty"`
	// FailIfAllMatchRegexp fails the probe if every record matches
	// every one (and there is at least one record).
	FailIfAllMatchRegexp []string `yaml:"fail_if_all_match_regexp,omitempty"`
	// FailIfNotMatchesRegexp fails the probe if any record does not
	// match one, or there is no record.
	FailIfNotMatchesRegexp []string `yaml:"fail_if_not_matches_regexp,omitempty"`
	// FailIfNoneMatchesRegexp fails the probe if no record matches any.
	FailIfNoneMatchesRegexp []string `yaml:"fail_if_none_matches_regexp,omitempty"`
}

// ProbeICMP is an icmp module's settings. The target is a host name or
// an IP address.
type ProbeICMP struct {
	// SourceIPAddress is the local address to send from; empty lets the
	// system choose.
	SourceIPAddress string `yaml:"source_ip_address,omitempty"`
	// PayloadSize is the echo request's payload in bytes; 0 for the
	// default text.
	PayloadSize int `yaml:"payload_size,omitempty"`
	// TTL is the request's TTL (hop limit for IPv6); 0 for the system's.
	TTL             int `yaml:"ttl,omitempty"`
	ProbeIPProtocol `yaml:",inline"`
}

// ProbeGRPC is a grpc module's settings: a call of the standard health
// checking service, grpc.health.v1.Health/Check. The target is host:port
// (port 80, or 443 with TLS, by default).
type ProbeGRPC struct {
	// Service is the service whose health is asked; empty for the
	// server's as a whole.
	Service string `yaml:"service,omitempty"`
	// TLS connects with TLS, with TLSConfig.
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
	m.DNS.TLSConfig.SetDirectory(dir)
	m.GRPC.TLSConfig.SetDirectory(dir)
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
		v.errorf(joinPath(p, "prober"), "module %q: prober is required (http, tcp, dns, icmp or grpc)", name)
	default:
		v.errorf(joinPath(p, "prober"), "module %q: unknown prober %q", name, m.Prober)
	}
	if m.Timeout < 0 {
		v.errorf(joinPath(p, "timeout"), "module %q: timeout must not be negative", name)
	}
	v.probeHTTP(joinPath(p, "http"), name, &m.HTTP)
	v.probeTCP(joinPath(p, "tcp"), name, &m.TCP)
	v.probeDNS(joinPath(p, "dns"), name, &m.DNS, m.Prober == "dns")
	v.probeICMP(joinPath(p, "icmp"), name, &m.ICMP)
	v.probeTLS(joinPath(joinPath(p, "grpc"), "tls_config"), name, &m.GRPC.TLSConfig)
	v.ipProtocol(joinPath(p, "grpc"), name, m.GRPC.ProbeIPProtocol)
}

func (v *validator) probeHTTP(p, name string, h *ProbeHTTP) {
	for _, code := range h.ValidStatusCodes {
		if code < 100 || code > 999 {
			v.errorf(joinPath(p, "valid_status_codes"), "module %q: %d is not an HTTP status code", name, code)
		}
	}
	v.regexps(p, name, slices.Concat(h.FailIfBodyMatchesRegexp, h.FailIfBodyNotMatchesRegexp))
	v.probeTLS(joinPath(p, "tls_config"), name, &h.TLSConfig)
	v.ipProtocol(p, name, h.ProbeIPProtocol)
}

func (v *validator) probeTCP(p, name string, t *ProbeTCP) {
	// TLS within TLS is no protocol anyone speaks: starttls comes once,
	// in a plain connection.
	tls := t.TLS
	for i, qr := range t.QueryResponse {
		sp := indexPath(joinPath(p, "query_response"), i)
		if qr.Expect == "" && qr.Send == "" && !qr.StartTLS {
			v.errorf(sp, "module %q: a query_response step needs expect, send or starttls", name)
		}
		v.regexps(joinPath(sp, "expect"), name, []string{qr.Expect})
		if qr.StartTLS && tls {
			v.errorf(joinPath(sp, "starttls"), "module %q: starttls in a connection that is TLS already", name)
		}
		tls = tls || qr.StartTLS
	}
	v.probeTLS(joinPath(p, "tls_config"), name, &t.TLSConfig)
	v.sourceIP(p, name, t.SourceIPAddress)
	v.ipProtocol(p, name, t.ProbeIPProtocol)
}

// probeDNS checks a dns section; query_name is required of a dns module
// only.
func (v *validator) probeDNS(p, name string, d *ProbeDNS, isDNS bool) {
	if d.QueryName == "" && isDNS {
		v.errorf(joinPath(p, "query_name"), "module %q: query_name is required", name)
	}
	if _, ok := dns.StringToType[d.QueryType]; !ok && d.QueryType != "" {
		v.errorf(joinPath(p, "query_type"), "module %q: unknown query_type %q (A, AAAA, MX, SOA, ...: upper case)", name, d.QueryType)
	}
	if _, ok := dns.StringToClass[d.QueryClass]; !ok && d.QueryClass != "" {
		v.errorf(joinPath(p, "query_class"), "module %q: unknown query_class %q (IN, CH, ...: upper case)", name, d.QueryClass)
	}
	switch d.TransportProtocol {
	case "", "udp":
		if d.DNSOverTLS {
			v.errorf(joinPath(p, "dns_over_tls"), "module %q: dns_over_tls needs transport_protocol tcp", name)
		}
	case "tcp":
	default:
		v.errorf(joinPath(p, "transport_protocol"), "module %q: transport_protocol must be udp or tcp, not %q", name, d.TransportProtocol)
	}
	for _, rc := range d.ValidRcodes {
		if _, ok := dns.StringToRcode[rc]; !ok {
			v.errorf(joinPath(p, "valid_rcodes"), "module %q: unknown rcode %q (NOERROR, NXDOMAIN, SERVFAIL, ...: upper case)", name, rc)
		}
	}
	for _, s := range []struct {
		key string
		rv  *ProbeDNSRRValidator
	}{{"validate_answer_rrs", &d.ValidateAnswer}, {"validate_authority_rrs", &d.ValidateAuthority}, {"validate_additional_rrs", &d.ValidateAdditional}} {
		v.regexps(joinPath(p, s.key), name, slices.Concat(s.rv.FailIfMatchesRegexp, s.rv.FailIfAllMatchRegexp,
			s.rv.FailIfNotMatchesRegexp, s.rv.FailIfNoneMatchesRegexp))
	}
	v.probeTLS(joinPath(p, "tls_config"), name, &d.TLSConfig)
	v.sourceIP(p, name, d.SourceIPAddress)
	v.ipProtocol(p, name, d.ProbeIPProtocol)
}

// maxICMPPayload is the largest echo payload in an IPv4 packet: 65535
// less the IP and ICMP headers.
const maxICMPPayload = 65535 - 20 - 8

func (v *validator) probeICMP(p, name string, c *ProbeICMP) {
	if c.PayloadSize < 0 || c.PayloadSize > maxICMPPayload {
		v.errorf(joinPath(p, "payload_size"), "module %q: payload_size must be between 0 and %d bytes", name, maxICMPPayload)
	}
	if c.TTL < 0 || c.TTL > 255 {
		v.errorf(joinPath(p, "ttl"), "module %q: ttl must be between 0 and 255", name)
	}
	v.sourceIP(p, name, c.SourceIPAddress)
	v.ipProtocol(p, name, c.ProbeIPProtocol)
}

func (v *validator) regexps(p, name string, exprs []string) {
	for _, re := range exprs {
		if _, err := regexp.Compile(re); err != nil {
			v.errorf(p, "module %q: regexp %q: %v", name, re, err)
		}
	}
}

func (v *validator) probeTLS(p, name string, tc *commoncfg.TLSConfig) {
	if err := tc.Validate(); err != nil {
		v.add(p, fmt.Errorf("module %q: %w", name, err))
	}
}

func (v *validator) sourceIP(p, name, ip string) {
	if ip != "" && net.ParseIP(ip) == nil {
		v.errorf(joinPath(p, "source_ip_address"), "module %q: source_ip_address %q is not an IP address", name, ip)
	}
}

func (v *validator) ipProtocol(p, name string, ipp ProbeIPProtocol) {
	switch strings.ToLower(ipp.PreferredIPProtocol) {
	case "", "ip4", "ip6":
	default:
		v.errorf(joinPath(p, "preferred_ip_protocol"), "module %q: preferred_ip_protocol must be ip4 or ip6, not %q", name, ipp.PreferredIPProtocol)
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
	}
	ap := joinPath(p, "address")
	// A URL splits into host "http" and port "//...", hence the checks
	// for a slash.
	host, port, err := net.SplitHostPort(in.Address)
	switch m.Prober {
	case "http":
		v.integrationURL(ap, in)
	case "tcp":
		if err != nil || host == "" || port == "" || strings.Contains(in.Address, "/") {
			v.errorf(ap, "integration %q: module %q probes tcp: address %q is not host:port", in.Name, in.Module, in.Address)
		}
	case "dns", "grpc":
		if in.Address == "" || strings.ContainsAny(in.Address, "/ ") || (err == nil && (host == "" || port == "")) {
			v.errorf(ap, "integration %q: module %q probes %s: address %q is not a server's host or host:port", in.Name, in.Module, m.Prober, in.Address)
		}
	case "icmp":
		if in.Address == "" || strings.ContainsAny(in.Address, "/ ") || (strings.Contains(in.Address, ":") && net.ParseIP(in.Address) == nil) {
			v.errorf(ap, "integration %q: module %q probes icmp: address %q is not a host name or IP address", in.Name, in.Module, in.Address)
		}
	}
}

// IsZero reports whether the section is absent, for omitempty: the
// modules are derived, not configured.
func (p Probe) IsZero() bool { return p.ConfigFile == "" }
