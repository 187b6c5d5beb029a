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
	if m := mods["tcp_smtp_starttls"]; m == nil || len(m.TCP.QueryResponse) != 5 || m.TCP.QueryResponse[0].Send != "EHLO ${1}" ||
		!m.TCP.QueryResponse[3].StartTLS || m.TCP.SourceIPAddress != "127.0.0.1" {
		t.Errorf("tcp_smtp_starttls = %+v", m)
	}
	if m := mods["dns_example"]; m == nil || m.DNS.QueryType != "SOA" || !m.DNS.DNSOverTLS ||
		*m.DNS.RecursionDesired || len(m.DNS.ValidRcodes) != 2 || len(m.DNS.ValidateAnswer.FailIfNoneMatchesRegexp) != 1 ||
		len(m.DNS.ValidateAdditional.FailIfNotMatchesRegexp) != 1 || m.DNS.PreferredIPProtocol != "ip4" {
		t.Errorf("dns_example = %+v", m)
	}
	if m := mods["icmp_ttl"]; m == nil || m.ICMP.TTL != 5 || m.ICMP.PayloadSize != 64 || m.ICMP.SourceIPAddress != "127.0.0.1" {
		t.Errorf("icmp_ttl = %+v", m)
	}
	if m := mods["grpc_health"]; m == nil || m.GRPC.Service != "orders.v1.Orders" || !m.GRPC.TLS || m.GRPC.TLSConfig.CAFile != "ca.crt" ||
		m.GRPC.PreferredIPProtocol != "ip4" {
		t.Errorf("grpc_health = %+v", m)
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
	f("modules: {a: {prober: tcp, tcp: {query_response: [{expect: '('}]}}}", `modules.a.tcp.query_response[0].expect: module "a": regexp "("`)
	f("modules: {a: {prober: tcp, tcp: {query_response: [{}]}}}", "needs expect, send or starttls")
	f("modules: {a: {prober: tcp, tcp: {query_response: [{expect_bytes: x}]}}}", "expect_bytes")
	f("modules: {a: {prober: tcp, tcp: {tls: true, query_response: [{starttls: true}]}}}", "modules.a.tcp.query_response[0].starttls: module \"a\": starttls in a connection that is TLS already")
	f("modules: {a: {prober: tcp, tcp: {query_response: [{starttls: true}, {starttls: true}]}}}", "query_response[1].starttls")
	f("modules: {a: {prober: tcp, tcp: {source_ip_address: here}}}", `modules.a.tcp.source_ip_address: module "a": source_ip_address "here" is not an IP address`)
	f("modules: {a: {prober: dns}}", `modules.a.dns.query_name: module "a": query_name is required`)
	f("modules: {a: {prober: dns, dns: {query_name: x, query_type: a}}}", `modules.a.dns.query_type: module "a": unknown query_type "a"`)
	f("modules: {a: {prober: dns, dns: {query_name: x, query_class: in}}}", `modules.a.dns.query_class: module "a": unknown query_class "in"`)
	f("modules: {a: {prober: dns, dns: {query_name: x, transport_protocol: sctp}}}", "transport_protocol must be udp or tcp")
	f("modules: {a: {prober: dns, dns: {query_name: x, dns_over_tls: true}}}", "modules.a.dns.dns_over_tls: module \"a\": dns_over_tls needs transport_protocol tcp")
	f("modules: {a: {prober: dns, dns: {query_name: x, valid_rcodes: [nxdomain]}}}", `modules.a.dns.valid_rcodes: module "a": unknown rcode "nxdomain"`)
	f("modules: {a: {prober: dns, dns: {query_name: x, validate_authority_rrs: {fail_if_none_matches_regexp: ['[']}}}}", `modules.a.dns.validate_authority_rrs: module "a": regexp "["`)
	f("modules: {a: {prober: dns, dns: {query_name: x, validate_answer_rrs: {fail_if_any: [x]}}}}", "fail_if_any")
	f("modules: {a: {prober: dns, dns: {query_name: x, preferred_ip_protocol: ip5}}}", "modules.a.dns.preferred_ip_protocol")
	f("modules: {a: {prober: dns, dns: {query_name: x, tls_config: {cert_file: c}}}}", "modules.a.dns.tls_config")
	f("modules: {a: {prober: icmp, icmp: {ttl: 256}}}", `modules.a.icmp.ttl: module "a": ttl must be between 0 and 255`)
	f("modules: {a: {prober: icmp, icmp: {payload_size: -1}}}", "payload_size must be between 0 and 65507 bytes")
	f("modules: {a: {prober: icmp, icmp: {dont_fragment: true}}}", "dont_fragment")
	f("modules: {a: {prober: icmp, icmp: {source_ip_address: 1.2.3}}}", "modules.a.icmp.source_ip_address")
	f("modules: {a: {prober: grpc, grpc: {source_ip_address: 127.0.0.1}}}", "source_ip_address")
	f("modules: {a: {prober: grpc, grpc: {preferred_ip_protocol: ip5}}}", "modules.a.grpc.preferred_ip_protocol")
	f("modules: {a: {prober: grpc, grpc: {tls_config: {key_file: k}}}}", "modules.a.grpc.tls_config")
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
	f.Add([]byte("modules: {a: {prober: dns, dns: {query_name: x, query_type: MX, valid_rcodes: [NXDOMAIN]}}}"))
	f.Add([]byte("modules: {a: {prober: icmp, icmp: {ttl: 5}}}"))
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
