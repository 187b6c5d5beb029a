package probe

import (
	"crypto/tls"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/argus-mon/argus/internal/config"
	"github.com/argus-mon/argus/internal/integration/integrationtest"
)

// zone is what the test DNS server serves, in zone file form: the
// records of example.test by type, its authority and the glue.
const zone = `
example.test. 300 IN SOA ns1.example.test. hostmaster.example.test. 2024010101 3600 600 86400 300
example.test. 300 IN A 192.0.2.1
example.test. 300 IN A 192.0.2.2
example.test. 300 IN AAAA 2001:db8::1
example.test. 300 IN MX 10 mail.example.test.
example.test. 300 IN TXT "v=spf1 -all"
`

const (
	authorityRR = "example.test. 300 IN NS ns1.example.test."
	glueRR      = "ns1.example.test. 300 IN A 192.0.2.53"
)

// testDNS is a DNS server on loopback, over UDP and TCP on one port
// and over TLS on another, authoritative for example.test: its names
// other than example.test are NXDOMAIN, servfail.example.test SERVFAIL.
type testDNS struct {
	addr, tlsAddr string
	records       []dns.RR
	// recursion is the RD flag of the last question.
	recursion atomic.Bool
}

func (s *testDNS) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	s.recursion.Store(r.RecursionDesired)
	resp := new(dns.Msg)
	resp.SetReply(r)
	resp.Authoritative = true
	q := r.Question[0]
	switch strings.ToLower(q.Name) {
	case "example.test.":
		for _, rr := range s.records {
			if q.Qtype == dns.TypeANY || rr.Header().Rrtype == q.Qtype {
				resp.Answer = append(resp.Answer, rr)
			}
		}
		resp.Ns = []dns.RR{mustRR(authorityRR)}
		resp.Extra = []dns.RR{mustRR(glueRR)}
	case "servfail.example.test.":
		resp.Rcode = dns.RcodeServerFailure
	default:
		resp.Rcode = dns.RcodeNameError
		resp.Ns = []dns.RR{s.records[0]}
	}
	w.WriteMsg(resp)
}

func mustRR(s string) dns.RR {
	rr, err := dns.NewRR(s)
	if err != nil {
		panic("BUG: test record " + s + ": " + err.Error())
	}
	return rr
}

// startDNS starts a testDNS; tc is the TLS server's configuration.
func startDNS(t *testing.T, tc *tls.Config) *testDNS {
	t.Helper()
	s := &testDNS{}
	for _, line := range strings.Split(strings.TrimSpace(zone), "\n") {
		s.records = append(s.records, mustRR(line))
	}
	// UDP and TCP share a port, as DNS servers' do; a port free for UDP
	// may be taken for TCP, hence the tries.
	var pc net.PacketConn
	var l net.Listener
	for range 10 {
		var err error
		if pc, err = net.ListenPacket("udp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		if l, err = net.Listen("tcp", pc.LocalAddr().String()); err == nil {
			break
		}
		pc.Close()
		pc = nil
	}
	if pc == nil {
		t.Fatal("no loopback port free for both UDP and TCP")
	}
	s.addr = pc.LocalAddr().String()
	tl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.tlsAddr = tl.Addr().String()
	serve(t, &dns.Server{PacketConn: pc, Handler: s})
	serve(t, &dns.Server{Listener: l, Handler: s})
	serve(t, &dns.Server{Listener: tls.NewListener(tl, tc), Net: "tcp-tls", Handler: s})
	return s
}

// serve runs srv until the test ends.
func serve(t *testing.T, srv *dns.Server) {
	t.Helper()
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.ActivateAndServe()
	}()
	<-started
	t.Cleanup(func() {
		srv.Shutdown()
		<-done
	})
}

// udpServer answers each datagram it gets with reply(datagram), or not
// at all when reply returns nil. It returns the address.
func udpServer(t *testing.T, reply func([]byte) []byte) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 65536)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if r := reply(buf[:n]); r != nil {
				pc.WriteTo(r, from)
			}
		}
	}()
	t.Cleanup(func() {
		pc.Close()
		wg.Wait()
	})
	return pc.LocalAddr().String()
}

func TestDNSProbe(t *testing.T) {
	tg := startTargets(t)
	srv := startDNS(t, tg.https.TLS)
	mods, _ := loadModules(t, tg.caFile)
	f := func(module, target string, wantOK bool, want map[string]float64) {
		t.Helper()
		fams, ok := run(t, target, mods[module], 5*time.Second)
		if ok != wantOK {
			t.Errorf("%s %s: success %v, want %v", module, target, ok, wantOK)
		}
		for name, v := range want {
			if got := value(t, fams, name); got != v {
				t.Errorf("%s %s: %s = %v, want %v", module, target, name, got, v)
			}
		}
	}
	counts := func(answer, authority, additional float64) map[string]float64 {
		return map[string]float64{"probe_dns_answer_rrs": answer, "probe_dns_authority_rrs": authority, "probe_dns_additional_rrs": additional}
	}
	f("dns_a", srv.addr, true, counts(2, 1, 1))
	f("dns_any", srv.addr, true, counts(6, 1, 1))
	f("dns_soa", srv.addr, true, map[string]float64{"probe_dns_serial": 2024010101})
	f("dns_tcp", srv.addr, true, counts(1, 1, 1))
	f("dns_dot", srv.tlsAddr, true, counts(1, 1, 1))
	f("dns_nxdomain", srv.addr, true, counts(0, 1, 0))
	f("dns_nxdomain_invalid", srv.addr, false, counts(0, 1, 0))
	f("dns_servfail", srv.addr, false, nil)
	f("dns_answer_matches", srv.addr, false, nil)
	f("dns_answer_not_matches", srv.addr, false, nil)
	f("dns_all_match", srv.addr, false, nil)
	f("dns_all_match_ok", srv.addr, true, nil)
	f("dns_none_matches", srv.addr, true, nil)
	f("dns_none_matches_fail", srv.addr, false, nil)
	f("dns_authority", srv.addr, true, nil)
	f("dns_additional_fail", srv.addr, false, nil)
	f("dns_not_matches_empty", srv.addr, false, nil)

	// The target's port defaults to 53, where nothing listens.
	f("dns_a", "127.0.0.1", false, counts(0, 0, 0))
	f("dns_a", "[::1]", false, nil)

	// recursion_desired, default true.
	f("dns_a", srv.addr, true, nil)
	if !srv.recursion.Load() {
		t.Error("recursion desired not asked by default")
	}
	f("dns_no_recursion", srv.addr, true, nil)
	if srv.recursion.Load() {
		t.Error("recursion desired asked with recursion_desired: false")
	}

	// source_ip_address, over UDP and TCP.
	for _, transport := range []string{"udp", "tcp"} {
		m := &config.ProbeModule{Prober: "dns", DNS: config.ProbeDNS{QueryName: "example.test", TransportProtocol: transport, SourceIPAddress: "127.0.0.2"}}
		if _, ok := run(t, srv.addr, m, 5*time.Second); !ok {
			t.Errorf("%s from source_ip_address 127.0.0.2 failed", transport)
		}
		m.DNS.SourceIPAddress = "::1"
		if _, ok := run(t, srv.addr, m, 5*time.Second); ok {
			t.Errorf("%s from an IPv6 source address reached an IPv4 server", transport)
		}
	}

	fams, _ := run(t, srv.addr, mods["dns_a"], 5*time.Second)
	for _, phase := range []string{"connect", "request"} {
		if value(t, fams, "probe_dns_duration_seconds", "phase", phase) <= 0 {
			t.Errorf("phase %s took no time", phase)
		}
	}
	if value(t, fams, "probe_ip_protocol") != 4 {
		t.Error("probe_ip_protocol is not 4 for 127.0.0.1")
	}
}

// TestDNSFaults probes DNS servers that never answer, answer garbage or
// answer someone else: each probe fails within its timeout.
func TestDNSFaults(t *testing.T) {
	silent := udpServer(t, func([]byte) []byte { return nil })
	// The query's ID then junk: a reply that cannot be decoded.
	garbage := udpServer(t, func(q []byte) []byte { return append(q[:2:2], "\x81\x80garbage that is no DNS message"...) })
	// A well-formed reply to another query is ignored; the probe waits.
	wrongID := udpServer(t, func(q []byte) []byte {
		m := new(dns.Msg)
		if m.Unpack(q) != nil {
			return nil
		}
		m.SetReply(m)
		m.Id++
		b, _ := m.Pack()
		return b
	})
	const timeout = 500 * time.Millisecond
	udp := &config.ProbeModule{Prober: "dns", DNS: config.ProbeDNS{QueryName: "example.test"}}
	tcp := &config.ProbeModule{Prober: "dns", DNS: config.ProbeDNS{QueryName: "example.test", TransportProtocol: "tcp"}}
	for _, c := range []struct {
		name, target string
		m            *config.ProbeModule
	}{
		{"silent", silent, udp},
		{"garbage", garbage, udp},
		{"wrong id", wrongID, udp},
		{"tcp silent", integrationtest.Silent(t), tcp},
		{"tcp garbage", integrationtest.Fake(t, func(c net.Conn) { c.Write([]byte("\x00\x05junk!")) }), tcp},
		{"tcp closed", integrationtest.Fake(t, func(net.Conn) {}), tcp},
		{"unresolvable", "no-such-host.invalid", udp},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			fams, ok := run(t, c.target, c.m, timeout)
			if took := time.Since(start); took > timeout+time.Second {
				t.Errorf("took %v, timeout %v", took, timeout)
			}
			if ok || value(t, fams, "probe_success") != 0 || value(t, fams, "probe_dns_answer_rrs") != 0 {
				t.Errorf("probe succeeded: %v", fams)
			}
		})
	}
}
