package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseProbeModules(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join("testdata", "files", "blackbox.yml"))
	if err != nil {
		t.Fatal(err)
	}
	mods, err := ParseProbeModules(data, "blackbox.yml")
	if err != nil {
		t.Fatal(err)
	}
	m := mods["http_ok_body"]
	if m == nil || m.Prober != "http" || m.HTTP.Method != "POST" || m.HTTP.FollowsRedirects() ||
		len(m.HTTP.ValidStatusCodes) != 2 || m.HTTP.PreferredIPProtocol != "ip4" || *m.HTTP.IPProtocolFallback {
		t.Errorf("http_ok_body = %+v", m)
	}
	if m := mods["tcp_tls"]; m == nil || !m.TCP.TLS || !m.TCP.TLSConfig.InsecureSkipVerify {
		t.Errorf("tcp_tls = %+v", m)
	}
	if m := mods["dns_example"]; m == nil || m.Supported() {
		t.Errorf("dns_example = %+v, want loaded and unsupported", m)
	}
}

func TestParseProbeModulesErrors(t *testing.T) {
	t.Parallel()
	f := func(yml, want string) {
		t.Helper()
		_, err := ParseProbeModules([]byte(yml), "blackbox.yml")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseProbeModules(%q) = %v, want an error with %q", yml, err, want)
		}
	}
	f("modules: {a: {prober: ftp}}", `blackbox.yml:1: modules.a.prober: module "a": unknown prober "ftp"`)
	f("modules: {a: {}}", `module "a": prober is required`)
	f("modules: {a: {prober: http, http: {basic_auth: {username: u}}}}", "basic_auth")
	f("modules: {a: {prober: http, http: {valid_status_codes: [42]}}}", "42 is not an HTTP status code")
	f("modules: {a: {prober: http, http: {fail_if_body_matches_regexp: ['(']}}}", `regexp "("`)
	f("modules: {a: {prober: tcp, tcp: {preferred_ip_protocol: ip5}}}", "preferred_ip_protocol must be ip4 or ip6")
	f("modules: {a: {prober: http, timeout: -1s}}", "timeout")
	f("modules: [a]", "modules")
}

// FuzzParseProbeModules checks that ParseProbeModules never panics and
// that what it accepts has a prober for every module. Run it with
//
//	go test ./internal/config -run '^$' -fuzz FuzzParseProbeModules -fuzztime 1m
func FuzzParseProbeModules(f *testing.F) {
	data, err := os.ReadFile(filepath.Join("testdata", "files", "blackbox.yml"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte("modules: {a: {prober: tcp, tcp: {tls: true}}}"))
	f.Add([]byte("modules: {a: &x {prober: http}, b: *x}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		mods, err := ParseProbeModules(data, "fuzz.yml")
		if err != nil {
			return
		}
		for name, m := range mods {
			if m == nil || m.Prober == "" {
				t.Fatalf("module %q accepted without a prober: %+v", name, m)
			}
		}
	})
}
