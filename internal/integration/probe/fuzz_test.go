package probe

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/argus-mon/argus/internal/config"
	"github.com/argus-mon/argus/internal/integration"
)

// FuzzCheckDNS decodes arbitrary answers, as a DNS server may send any
// bytes, and checks them with every kind of record validation: nothing
// may panic, whatever the records hold. Run it with
//
//	go test ./internal/integration/probe -run '^$' -fuzz FuzzCheckDNS -fuzztime 1m
func FuzzCheckDNS(f *testing.F) {
	for _, qt := range []uint16{dns.TypeA, dns.TypeSOA, dns.TypeANY} {
		m := new(dns.Msg)
		m.SetQuestion("example.test.", qt)
		m.Answer = []dns.RR{mustRR("example.test. 300 IN A 192.0.2.1"), mustRR(`example.test. 300 IN TXT "a\"b"`)}
		m.Ns = []dns.RR{mustRR(authorityRR)}
		m.Extra = []dns.RR{mustRR(glueRR)}
		b, err := m.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	v := config.ProbeDNSRRValidator{FailIfMatchesRegexp: []string{"^$"}, FailIfAllMatchRegexp: []string{"."},
		FailIfNotMatchesRegexp: []string{"IN"}, FailIfNoneMatchesRegexp: []string{"\\tA\\t"}}
	m := &config.ProbeDNS{ValidRcodes: []string{"NOERROR", "NXDOMAIN"}, ValidateAnswer: v, ValidateAuthority: v, ValidateAdditional: v}
	f.Fuzz(func(t *testing.T, data []byte) {
		resp := new(dns.Msg)
		if resp.Unpack(data) != nil {
			return
		}
		checkDNS(resp, m)
		res := dnsResult{resp: resp, soa: true}
		var out integration.Metrics
		res.add(&out)
	})
}

// FuzzQueryResponse runs a tcp dialogue against a server that sends
// arbitrary bytes: the probe must end, without panicking, by a match, the
// end of the stream or its deadline. Run it with
//
//	go test ./internal/integration/probe -run '^$' -fuzz FuzzQueryResponse -fuzztime 1m
func FuzzQueryResponse(f *testing.F) {
	f.Add([]byte("+OK ready <token-42>\r\nECHOED 42\r\n"), "<token-(\\d+)>", "ECHO ${1} $0 $name ${2}")
	f.Add([]byte("no newline at the end"), "(?P<name>end)$", "${name}")
	f.Add([]byte{0, 0xff, '\n', '\n'}, "^$", "$")
	f.Fuzz(func(t *testing.T, server []byte, expect, send string) {
		m := &config.ProbeTCP{QueryResponse: []config.ProbeQueryResponse{{Expect: expect, Send: send}, {Expect: "."}}}
		client, srv := net.Pipe()
		defer client.Close()
		// The server reads what it is sent while it sends its bytes,
		// then hangs up.
		go io.Copy(io.Discard, srv)
		go func() {
			srv.Write(server)
			srv.Close()
		}()
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		client.SetDeadline(time.Now().Add(100 * time.Millisecond))
		var out integration.Metrics
		converse(ctx, client, "localhost", m, &out, slog.New(slog.DiscardHandler))
	})
}
