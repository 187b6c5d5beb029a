package probe

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/argus-mon/argus/internal/config"
	"github.com/argus-mon/argus/internal/integration/integrationtest"
)

// lineServer starts a server speaking a small line protocol in the
// manner of SMTP or POP3: a greeting with a token, ECHO x answered
// "ECHOED x", STARTTLS answered "OK" then a TLS handshake (with tc) and
// "SECURE", QUIT answered "BYE" and the connection closed.
func lineServer(t *testing.T, tc *tls.Config) string {
	return integrationtest.Fake(t, func(c net.Conn) {
		fmt.Fprint(c, "+OK argus-test ready <token-42>\r\n")
		r := bufio.NewReader(c)
		var w net.Conn = c
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			cmd, arg, _ := strings.Cut(strings.TrimRight(line, "\r\n"), " ")
			switch cmd {
			case "ECHO":
				fmt.Fprintf(w, "ECHOED %s\r\n", arg)
			case "STARTTLS":
				fmt.Fprint(w, "OK begin TLS\r\n")
				tconn := tls.Server(c, tc)
				if tconn.Handshake() != nil {
					return
				}
				w, r = tconn, bufio.NewReader(tconn)
				fmt.Fprint(w, "SECURE hello\r\n")
			case "QUIT":
				fmt.Fprint(w, "BYE\r\n")
				return
			default:
				fmt.Fprint(w, "ERR unknown\r\n")
			}
		}
	})
}

func TestTCPQueryResponse(t *testing.T) {
	tg := startTargets(t)
	mods, _ := loadModules(t, tg.caFile)
	addr := lineServer(t, tg.https.TLS)
	f := func(module string, wantOK bool, wantRegexFailed float64) {
		t.Helper()
		fams, ok := run(t, addr, mods[module], 5*time.Second)
		if ok != wantOK || value(t, fams, "probe_failed_due_to_regex") != wantRegexFailed {
			t.Errorf("%s: success %v, failed due to regex %v; want %v, %v", module, ok, value(t, fams, "probe_failed_due_to_regex"), wantOK, wantRegexFailed)
		}
	}
	f("tcp_banner", true, 0)
	f("tcp_echo", true, 0)
	f("tcp_wrong_banner", false, 1)
	f("tcp_starttls", true, 0)
	fams, _ := run(t, addr, mods["tcp_starttls"], 5*time.Second)
	if value(t, fams, "probe_ssl_earliest_cert_expiry") != float64(tg.https.Certificate().NotAfter.Unix()) {
		t.Error("no certificate expiry after STARTTLS")
	}
	// Without the CA, the certificate does not verify.
	m := *mods["tcp_starttls"]
	m.TCP.TLSConfig.CAFile = ""
	if _, ok := run(t, addr, &m, 5*time.Second); ok {
		t.Error("STARTTLS with an unverifiable certificate succeeded")
	}
	// A server that never answers ends the probe at its deadline; that
	// is no regexp's failure.
	start := time.Now()
	fams, ok := run(t, integrationtest.Silent(t), mods["tcp_banner"], 500*time.Millisecond)
	if ok || value(t, fams, "probe_failed_due_to_regex") != 0 || time.Since(start) > 1500*time.Millisecond {
		t.Errorf("silent server: success %v, %v after %v", ok, fams, time.Since(start))
	}
	// source_ip_address.
	m = config.ProbeModule{Prober: "tcp", TCP: config.ProbeTCP{SourceIPAddress: "127.0.0.2",
		QueryResponse: []config.ProbeQueryResponse{{Expect: "^\\+OK"}}}}
	if _, ok := run(t, addr, &m, 5*time.Second); !ok {
		t.Error("source_ip_address 127.0.0.2 failed")
	}
	m.TCP.SourceIPAddress = "::1"
	if _, ok := run(t, addr, &m, 5*time.Second); ok {
		t.Error("an IPv6 source address reached an IPv4 server")
	}
}
