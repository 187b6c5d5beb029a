package probe

import (
	"context"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/model"
	"go.uber.org/goleak"

	"github.com/argus-mon/argus/internal/config"
	"github.com/argus-mon/argus/internal/integration"
	"github.com/argus-mon/argus/internal/integration/integrationtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// targets are the servers the probes are run against.
type targets struct {
	http, https *httptest.Server
	caFile      string
}

// handler answers "hello ok" at /, redirects /redirect to /, answers 404
// at /missing, and checks the request at /post.
func handler(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/redirect":
		http.Redirect(w, r, "/", http.StatusFound)
	case "/missing":
		http.NotFound(w, r)
	case "/maintenance":
		fmt.Fprintln(w, "down for maintenance")
	case "/post":
		body, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || string(body) != `{"q":1}` || r.Header.Get("X-Probe") != "yes" || r.Host != "app.example" {
			http.Error(w, "unexpected request", http.StatusBadRequest)
			return
		}
		fmt.Fprintln(w, `{"status": "ok"}`)
	default:
		w.Header().Set("Last-Modified", "Tue, 15 Nov 1994 08:12:31 GMT")
		fmt.Fprintln(w, "hello ok")
	}
}

func startTargets(t *testing.T) *targets {
	t.Helper()
	tg := &targets{http: httptest.NewServer(http.HandlerFunc(handler)), https: httptest.NewUnstartedServer(http.HandlerFunc(handler))}
	// The probes that must fail verification make the server log.
	tg.https.Config.ErrorLog = log.New(io.Discard, "", 0)
	tg.https.StartTLS()
	t.Cleanup(tg.http.Close)
	t.Cleanup(tg.https.Close)
	tg.caFile = filepath.Join(t.TempDir(), "ca.pem")
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tg.https.Certificate().Raw})
	if err := os.WriteFile(tg.caFile, ca, 0o644); err != nil {
		t.Fatal(err)
	}
	return tg
}

// modulesYAML is the blackbox.yml both argus and the exporter run; %s is
// the CA file that signs the TLS server's certificate.
const modulesYAML = `modules:
  http_2xx:
    prober: http
  http_ca:
    prober: http
    http:
      tls_config: {ca_file: %[1]s}
      fail_if_not_ssl: true
  http_maintenance:
    prober: http
    http:
      fail_if_body_matches_regexp: ['maintenance']
  http_post:
    prober: http
    http:
      method: POST
      headers: {X-Probe: "yes", Host: app.example}
      body: '{"q":1}'
      fail_if_body_not_matches_regexp: ['"status": *"ok"']
  http_404:
    prober: http
    http:
      valid_status_codes: [404]
  http_no_follow:
    prober: http
    http:
      follow_redirects: false
      valid_status_codes: [302]
  http_ip4:
    prober: http
    http:
      preferred_ip_protocol: ip4
  tcp_connect:
    prober: tcp
  tcp_tls:
    prober: tcp
    tcp:
      tls: true
      tls_config: {ca_file: %[1]s}
  tcp_banner:
    prober: tcp
    timeout: 2s
    tcp:
      query_response:
        - expect: '^\+OK'
  tcp_echo:
    prober: tcp
    timeout: 2s
    tcp:
      query_response:
        - expect: '<token-(\d+)>'
          send: 'ECHO ${1}'
        - expect: '^ECHOED 42$'
        - send: QUIT
  tcp_wrong_banner:
    prober: tcp
    timeout: 2s
    tcp:
      query_response:
        - send: QUIT
        - expect: '^SSH-2\.0-'
  tcp_starttls:
    prober: tcp
    timeout: 2s
    tcp:
      tls_config: {ca_file: %[1]s}
      query_response:
        - expect: '^\+OK'
          send: STARTTLS
        - expect: '^OK'
          starttls: true
        - expect: '^SECURE'
          send: QUIT
  dns_a:
    prober: dns
    timeout: 2s
    dns:
      query_name: example.test
      query_type: A
      preferred_ip_protocol: ip4
      validate_answer_rrs:
        fail_if_not_matches_regexp: ['^example\.test\.\t300\tIN\tA\t192\.0\.2\.[12]$']
  dns_any:
    prober: dns
    timeout: 2s
    dns: {query_name: example.test}
  dns_soa:
    prober: dns
    timeout: 2s
    dns: {query_name: example.test, query_type: SOA}
  dns_tcp:
    prober: dns
    timeout: 2s
    dns: {query_name: example.test, query_type: MX, transport_protocol: tcp}
  dns_dot:
    prober: dns
    timeout: 2s
    dns:
      query_name: example.test
      query_type: MX
      transport_protocol: tcp
      dns_over_tls: true
      tls_config: {ca_file: %[1]s}
  dns_nxdomain:
    prober: dns
    timeout: 2s
    dns: {query_name: nx.example.test, query_type: A, valid_rcodes: [NXDOMAIN]}
  dns_nxdomain_invalid:
    prober: dns
    timeout: 2s
    dns: {query_name: nx.example.test, query_type: A}
  dns_servfail:
    prober: dns
    timeout: 2s
    dns: {query_name: servfail.example.test, valid_rcodes: [NOERROR, NXDOMAIN]}
  dns_answer_matches:
    prober: dns
    timeout: 2s
    dns: {query_name: example.test, validate_answer_rrs: {fail_if_matches_regexp: ['\tAAAA\t']}}
  dns_answer_not_matches:
    prober: dns
    timeout: 2s
    dns: {query_name: example.test, validate_answer_rrs: {fail_if_not_matches_regexp: ['\tA\t']}}
  dns_all_match:
    prober: dns
    timeout: 2s
    dns: {query_name: example.test, query_type: A, validate_answer_rrs: {fail_if_all_match_regexp: ['192\.0\.2\.1$']}}
  dns_all_match_ok:
    prober: dns
    timeout: 2s
    dns: {query_name: example.test, query_type: A, validate_answer_rrs: {fail_if_all_match_regexp: ['192\.0\.2\.']}}
  dns_none_matches:
    prober: dns
    timeout: 2s
    dns: {query_name: example.test, validate_answer_rrs: {fail_if_none_matches_regexp: ['nope', '\tMX\t10 mail\.']}}
  dns_none_matches_fail:
    prober: dns
    timeout: 2s
    dns: {query_name: example.test, query_type: A, validate_answer_rrs: {fail_if_none_matches_regexp: ['AAAA']}}
  dns_authority:
    prober: dns
    timeout: 2s
    dns: {query_name: example.test, query_type: A, validate_authority_rrs: {fail_if_not_matches_regexp: ['\tNS\tns1\.example\.test\.$']}}
  dns_additional_fail:
    prober: dns
    timeout: 2s
    dns: {query_name: example.test, query_type: A, validate_additional_rrs: {fail_if_matches_regexp: ['192\.0\.2\.53']}}
  dns_not_matches_empty:
    prober: dns
    timeout: 2s
    dns: {query_name: nx.example.test, valid_rcodes: [NXDOMAIN], validate_answer_rrs: {fail_if_not_matches_regexp: ['.']}}
  dns_no_recursion:
    prober: dns
    timeout: 2s
    dns: {query_name: example.test, query_type: A, recursion_desired: false}
  icmp:
    prober: icmp
    timeout: 2s
    icmp: {preferred_ip_protocol: ip4}
  icmp6:
    prober: icmp
    timeout: 2s
  icmp_ttl:
    prober: icmp
    timeout: 2s
    icmp: {ttl: 5, payload_size: 100}
  grpc:
    prober: grpc
    timeout: 2s
    grpc: {preferred_ip_protocol: ip4}
  grpc_orders:
    prober: grpc
    timeout: 2s
    grpc: {service: orders}
  grpc_billing:
    prober: grpc
    timeout: 2s
    grpc: {service: billing}
  grpc_unknown:
    prober: grpc
    timeout: 2s
    grpc: {service: shipping}
  grpc_tls:
    prober: grpc
    timeout: 2s
    grpc:
      service: orders
      tls: true
      tls_config: {ca_file: %[1]s}
`

func loadModules(t *testing.T, caFile string) (map[string]*config.ProbeModule, string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "blackbox.yml")
	if err := os.WriteFile(file, fmt.Appendf(nil, modulesYAML, caFile), 0o644); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(file)
	mods, err := config.ParseProbeModules(data, file)
	if err != nil {
		t.Fatal(err)
	}
	return mods, file
}

func run(t *testing.T, target string, m *config.ProbeModule, timeout time.Duration) ([]*dto.MetricFamily, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	var out integration.Metrics
	ok := Run(ctx, target, m, &out, nil)
	return out.Families(), ok
}

func value(t *testing.T, fams []*dto.MetricFamily, name string, labels ...string) float64 {
	t.Helper()
	v, ok := integrationtest.Value(fams, name, labels...)
	if !ok {
		t.Fatalf("no %s%v", name, labels)
	}
	return v
}

func hostPort(u string) string {
	p, _ := url.Parse(u)
	return p.Host
}

// notProduced are the series blackbox_exporter 0.23 reports that argus
// does not, by module, with why; docs/integrations.md lists them too.
var notProduced = map[string]map[string]string{
	"probe_ssl_earliest_cert_expiry": {
		"grpc":         "reported as 0 without TLS, which fires every certificate expiry alert",
		"grpc_orders":  "ditto",
		"grpc_billing": "ditto",
		"grpc_unknown": "ditto",
		"grpc_tls":     "ditto, when the handshake fails",
	},
}

// probeCase is a probe of target with module.
type probeCase struct{ module, target string }

// comparedValues are the series whose values, not only names, must be
// the exporter's.
var comparedValues = []string{"probe_success", "probe_http_status_code", "probe_http_redirects", "probe_http_ssl",
	"probe_failed_due_to_regex", "probe_http_content_length", "probe_ip_protocol", "probe_ip_addr_hash",
	"probe_ssl_earliest_cert_expiry", "probe_ssl_last_chain_expiry_timestamp_seconds", "probe_http_version",
	"probe_dns_answer_rrs", "probe_dns_authority_rrs", "probe_dns_additional_rrs", "probe_dns_serial",
	"probe_icmp_reply_hop_limit", "probe_dns_query_succeeded", "probe_grpc_status_code", "probe_grpc_ssl"}

func TestMatchesBlackboxExporter(t *testing.T) {
	tg := startTargets(t)
	mods, file := loadModules(t, tg.caFile)
	listen := integrationtest.FreeAddr(t)
	integrationtest.Start(t, "prometheus-blackbox-exporter", "prometheus-blackbox-exporter", t.TempDir(), "tcp", listen,
		"--config.file="+file, "--web.listen-address="+listen)
	var all [][]*dto.MetricFamily
	for _, c := range comparisonCases(t, tg) {
		t.Run(c.module+" "+c.target, func(t *testing.T) {
			theirs := integrationtest.Scrape(t, "http://"+listen+"/probe?"+url.Values{"module": {c.module}, "target": {c.target}}.Encode())
			ours, _ := run(t, c.target, mods[c.module], 5*time.Second)
			all = append(all, ours)
			compare(t, c.module, ours, theirs)
		})
	}
	// The probes together (http, https, tcp, dns, ...) have every series
	// the built-in dashboard and the example rules query.
	integrationtest.CheckQueries(t, "probe", all...)
}

// comparisonCases starts the servers the probes compared with the
// exporter's are run against, and returns the probes.
func comparisonCases(t *testing.T, tg *targets) []probeCase {
	down := "127.0.0.1:" + integrationtest.Port(t, integrationtest.FreeAddr(t))
	lines := lineServer(t, tg.https.TLS)
	dnsSrv := startDNS(t, tg.https.TLS)
	grpcPlain, grpcTLS := startGRPC(t, nil), startGRPC(t, tg.https.TLS)
	cases := []probeCase{
		{"http_2xx", tg.http.URL + "/redirect"},
		{"http_2xx", tg.http.URL + "/missing"},
		{"http_2xx", "http://" + down + "/"},
		{"http_ca", tg.https.URL},
		{"http_maintenance", tg.http.URL + "/maintenance"},
		{"http_post", tg.http.URL + "/post"},
		{"http_404", tg.http.URL + "/missing"},
		{"http_no_follow", tg.http.URL + "/redirect"},
		{"http_ip4", strings.Replace(tg.http.URL, "127.0.0.1", "localhost", 1)},
		{"tcp_connect", hostPort(tg.http.URL)},
		{"tcp_connect", down},
		{"tcp_tls", hostPort(tg.https.URL)},
		{"tcp_banner", lines},
		{"tcp_echo", lines},
		{"tcp_wrong_banner", lines},
		{"tcp_starttls", lines},
		{"tcp_banner", integrationtest.Silent(t)},
		{"dns_dot", dnsSrv.tlsAddr},
		{"dns_soa", udpServer(t, func([]byte) []byte { return nil })},
		{"dns_soa", down},
		{"grpc", grpcPlain},
		{"grpc_orders", grpcPlain},
		{"grpc_billing", grpcPlain},
		{"grpc_unknown", grpcPlain},
		{"grpc_tls", grpcTLS},
		{"grpc_tls", "https://" + grpcTLS},
		{"grpc_tls", grpcPlain},
		{"grpc", down},
		{"grpc", "no-such-host.invalid:50051"},
	}
	for _, module := range []string{"dns_a", "dns_any", "dns_soa", "dns_tcp", "dns_nxdomain", "dns_nxdomain_invalid",
		"dns_servfail", "dns_answer_matches", "dns_answer_not_matches", "dns_all_match", "dns_all_match_ok", "dns_none_matches",
		"dns_none_matches_fail", "dns_authority", "dns_additional_fail", "dns_not_matches_empty", "dns_no_recursion"} {
		cases = append(cases, probeCase{module, dnsSrv.addr})
	}
	// The exporter runs as the tests do; where the kernel permits this
	// process no ICMP socket, TestICMPProbe says so.
	if conn, _, err := listenICMP(net.IPv4(127, 0, 0, 1), ""); err == nil {
		conn.Close()
		cases = append(cases, probeCase{"icmp", "127.0.0.1"}, probeCase{"icmp_ttl", "127.0.0.1"},
			probeCase{"icmp", "no-such-host.invalid"})
		if hasIPv6Loopback() {
			cases = append(cases, probeCase{"icmp6", "::1"})
		}
	}
	return cases
}

// compare checks that the metrics of a probe with module, ours and the
// exporter's, have the same names, types and labels, and that the
// comparedValues agree.
func compare(t *testing.T, module string, ours, theirs []*dto.MetricFamily) {
	t.Helper()
	got, want := integrationtest.Shapes(ours), integrationtest.Shapes(theirs)
	for name, s := range got {
		if w, ok := want[name]; !ok {
			t.Errorf("%s: blackbox_exporter 0.23 has no such metric here", name)
		} else if w != s {
			t.Errorf("%s: ours %+v, blackbox_exporter's %+v", name, s, w)
		}
	}
	for name := range want {
		if _, ok := got[name]; !ok && notProduced[name][module] == "" {
			t.Errorf("%s: produced by blackbox_exporter, not by argus, and not listed as such", name)
		}
	}
	for _, name := range comparedValues {
		a, okA := integrationtest.Value(ours, name)
		b, okB := integrationtest.Value(theirs, name)
		if !okA && notProduced[name][module] != "" {
			continue
		}
		if okA != okB || a != b {
			t.Errorf("%s: ours %v (%v), blackbox_exporter's %v (%v)", name, a, okA, b, okB)
		}
	}
}

func TestHTTPProbe(t *testing.T) {
	tg := startTargets(t)
	mods, _ := loadModules(t, tg.caFile)
	fams, ok := run(t, tg.https.URL+"/", mods["http_ca"], 5*time.Second)
	if !ok {
		t.Fatalf("https probe failed: %v", fams)
	}
	if got, want := value(t, fams, "probe_ssl_earliest_cert_expiry"), float64(tg.https.Certificate().NotAfter.Unix()); got != want {
		t.Errorf("probe_ssl_earliest_cert_expiry = %v, want the certificate's %v", got, want)
	}
	for _, phase := range []string{"connect", "tls", "processing"} {
		if value(t, fams, "probe_http_duration_seconds", "phase", phase) <= 0 {
			t.Errorf("phase %s took no time", phase)
		}
	}
	if value(t, fams, "probe_http_last_modified_timestamp_seconds") != 784887151 {
		t.Errorf("Last-Modified not reported")
	}
	if _, ok := integrationtest.Value(fams, "probe_tls_version_info", "version", "TLS 1.3"); !ok {
		t.Errorf("no probe_tls_version_info{version=\"TLS 1.3\"}")
	}
	// The plain server fails fail_if_not_ssl.
	if _, ok := run(t, tg.http.URL, mods["http_ca"], 5*time.Second); ok {
		t.Error("http_ca succeeded over plain HTTP")
	}
	// Without the CA, the certificate does not verify.
	if fams, ok := run(t, tg.https.URL, mods["http_2xx"], 5*time.Second); ok || value(t, fams, "probe_http_status_code") != 0 {
		t.Error("an unverifiable certificate passed")
	}
	fams, ok = run(t, tg.http.URL+"/maintenance", mods["http_maintenance"], 5*time.Second)
	if ok || value(t, fams, "probe_failed_due_to_regex") != 1 {
		t.Errorf("fail_if_body_matches_regexp: success %v, failed_due_to_regex %v", ok, value(t, fams, "probe_failed_due_to_regex"))
	}
	if _, ok := run(t, tg.http.URL+"/post", mods["http_post"], 5*time.Second); !ok {
		t.Error("POST with body and headers failed")
	}
	if _, ok := run(t, hostPort(tg.http.URL)+"/missing", mods["http_404"], 5*time.Second); !ok {
		t.Error("a target without scheme, 404 valid: failed")
	}
	fams, ok = run(t, tg.http.URL+"/redirect", mods["http_no_follow"], 5*time.Second)
	if !ok || value(t, fams, "probe_http_status_code") != 302 || value(t, fams, "probe_http_redirects") != 1 {
		t.Errorf("no_follow_redirects: success %v, %v", ok, fams)
	}
}

func TestTCPProbe(t *testing.T) {
	tg := startTargets(t)
	mods, _ := loadModules(t, tg.caFile)
	if fams, ok := run(t, hostPort(tg.https.URL), mods["tcp_tls"], 5*time.Second); !ok ||
		value(t, fams, "probe_ssl_earliest_cert_expiry") != float64(tg.https.Certificate().NotAfter.Unix()) {
		t.Errorf("tcp_tls: success %v, %v", ok, fams)
	}
	// A plain server fails the TLS handshake.
	if _, ok := run(t, hostPort(tg.http.URL), mods["tcp_tls"], 5*time.Second); ok {
		t.Error("tcp_tls succeeded against a plain server")
	}
	if _, ok := run(t, "no-port", mods["tcp_connect"], 5*time.Second); ok {
		t.Error("a target without port succeeded")
	}
}

// TestFaults probes servers that are down, never answer or answer
// garbage: each probe fails (probe_success 0) within its timeout.
func TestFaults(t *testing.T) {
	down := integrationtest.FreeAddr(t)
	silent := integrationtest.Silent(t)
	garbage := integrationtest.Garbage(t, "garbage\r\n\r\n")
	builtin := config.BuiltinProbeModules()
	tlsModule := &config.ProbeModule{Prober: "tcp", TCP: config.ProbeTCP{TLS: true}}
	const timeout = 500 * time.Millisecond
	cases := []struct {
		name, target string
		m            *config.ProbeModule
	}{
		{"http down", "http://" + down, builtin["http_2xx"]},
		{"tcp down", down, builtin["tcp_connect"]},
		{"http silent", "http://" + silent, builtin["http_2xx"]},
		{"tls silent", silent, tlsModule},
		{"http garbage", "http://" + garbage, builtin["http_2xx"]},
		{"tls garbage", garbage, tlsModule},
		{"unresolvable", "http://no-such-host.invalid/", builtin["http_2xx"]},
		{"module timeout", "http://" + silent, &config.ProbeModule{Prober: "http", Timeout: model.Duration(timeout)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			probeTimeout := timeout
			if c.m.Timeout > 0 {
				probeTimeout = time.Minute // the module's timeout must end it
			}
			fams, ok := run(t, c.target, c.m, probeTimeout)
			if took := time.Since(start); took > timeout+time.Second {
				t.Errorf("took %v, timeout %v", took, timeout)
			}
			if ok || value(t, fams, "probe_success") != 0 {
				t.Errorf("probe succeeded: %v", fams)
			}
			if c.m.Prober == "http" && value(t, fams, "probe_http_status_code") != 0 {
				t.Errorf("a status code from a server that gave none")
			}
		})
	}
}

// TestIntegration runs probes as an integration: a failed probe is
// probe_success 0 and still a successful collection, as a
// blackbox_exporter scrape is.
func TestIntegration(t *testing.T) {
	tg := startTargets(t)
	down := integrationtest.FreeAddr(t)
	for _, c := range []struct {
		address string
		want    float64
	}{{tg.http.URL, 1}, {"http://" + down, 0}} {
		cfg := &config.Integration{Name: "site", Type: "probe", Address: c.address, Interval: model.Duration(time.Minute),
			Timeout: model.Duration(5 * time.Second), ProbeModule: config.BuiltinProbeModules()["http_2xx"]}
		in, err := integration.New(cfg, New, nil)
		if err != nil {
			t.Fatal(err)
		}
		fams, err := in.Gather()
		if err != nil {
			t.Errorf("%s: Gather = %v, want no error", c.address, err)
		}
		if got := value(t, fams, "probe_success"); got != c.want {
			t.Errorf("%s: probe_success = %v, want %v", c.address, got, c.want)
		}
		in.Close()
	}
	if _, err := New(&integration.Target{Address: "x"}, nil); err == nil {
		t.Error("New without a module succeeded")
	}
}
