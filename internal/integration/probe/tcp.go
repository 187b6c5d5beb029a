package probe

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"regexp"
	"time"

	commoncfg "github.com/prometheus/common/config"

	"github.com/argus-mon/argus/internal/config"
	"github.com/argus-mon/argus/internal/integration"
)

// probeTCP connects to target (host:port), with tls set completes a TLS
// handshake, and runs the module's query_response dialogue.
func probeTCP(ctx context.Context, target string, m *config.ProbeTCP, out *integration.Metrics, logger *slog.Logger) error {
	regexFailed := 0.0
	defer func() {
		out.Gauge("probe_failed_due_to_regex", "Indicates if probe failed due to regex", regexFailed)
	}()
	host, port, err := net.SplitHostPort(target)
	if err != nil {
		return fmt.Errorf("target %q is not host:port: %w", target, err)
	}
	ip, _, err := resolve(ctx, host, &m.ProbeIPProtocol, out)
	if err != nil {
		return err
	}
	addr := net.JoinHostPort(ip.String(), port)
	d := net.Dialer{LocalAddr: localAddr("tcp", m.SourceIPAddress)}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", addr, err)
	}
	defer conn.Close()
	logger.Debug("Connected", "address", addr)
	// The dialogue's reads and writes block; the deadline, and closing
	// on cancellation, end them with the probe.
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	raw := conn // the TCP connection, under any TLS put on it below
	stop := context.AfterFunc(ctx, func() { raw.SetDeadline(time.Now()) })
	defer stop()
	if m.TLS {
		if conn, err = startTLS(ctx, conn, host, m, out); err != nil {
			return err
		}
	}
	failed, err := converse(ctx, conn, host, m, out, logger)
	if failed {
		regexFailed = 1
	}
	return err
}

// converse runs the query_response steps over conn, in order: wait for
// a line matching expect, send a line (expect's groups expanded in it),
// start TLS. failed is whether the stream ended before a line matched.
func converse(ctx context.Context, conn net.Conn, host string, m *config.ProbeTCP, out *integration.Metrics, logger *slog.Logger) (failed bool, err error) {
	lines := bufio.NewScanner(conn)
	for i, step := range m.QueryResponse {
		send := step.Send
		if step.Expect != "" {
			re, err := regexp.Compile(step.Expect)
			if err != nil {
				return false, fmt.Errorf("query_response[%d]: regexp %q: %w", i, step.Expect, err)
			}
			var match []int
			for match == nil && lines.Scan() {
				logger.Debug("Read a line", "line", lines.Text())
				match = re.FindSubmatchIndex(lines.Bytes())
			}
			if err := lines.Err(); err != nil {
				return false, fmt.Errorf("query_response[%d]: read while expecting %q: %w", i, step.Expect, err)
			}
			if match == nil {
				return true, fmt.Errorf("query_response[%d]: the connection ended without a line matching %q", i, step.Expect)
			}
			send = string(re.Expand(nil, []byte(send), lines.Bytes(), match))
		}
		if send != "" {
			logger.Debug("Sending a line", "line", send)
			if _, err := fmt.Fprintf(conn, "%s\n", send); err != nil {
				return false, fmt.Errorf("query_response[%d]: send: %w", i, err)
			}
		}
		if step.StartTLS {
			if conn, err = startTLS(ctx, conn, host, m, out); err != nil {
				return false, fmt.Errorf("query_response[%d]: %w", i, err)
			}
			// What was read ahead in plain text is not part of the
			// TLS stream.
			lines = bufio.NewScanner(conn)
		}
	}
	return false, nil
}

// startTLS makes conn a TLS client connection to host, with the module's
// tls_config, and adds the metrics of the handshake.
func startTLS(ctx context.Context, conn net.Conn, host string, m *config.ProbeTCP, out *integration.Metrics) (net.Conn, error) {
	tc, err := commoncfg.NewTLSConfig(&m.TLSConfig)
	if err != nil {
		return nil, fmt.Errorf("tls_config: %w", err)
	}
	if tc.ServerName == "" {
		tc.ServerName = host
	}
	tconn := tls.Client(conn, tc)
	if err := tconn.HandshakeContext(ctx); err != nil {
		return nil, fmt.Errorf("TLS handshake with %s: %w", conn.RemoteAddr(), err)
	}
	cs := tconn.ConnectionState()
	addTLS(out, &cs, true)
	return tconn, nil
}

// localAddr is the address to dial from for network (tcp or udp), or nil
// to let the system choose when ip is empty. The configuration was
// checked: ip is empty or an IP address.
func localAddr(network, ip string) net.Addr {
	if ip == "" {
		return nil
	}
	if network == "udp" {
		return &net.UDPAddr{IP: net.ParseIP(ip)}
	}
	return &net.TCPAddr{IP: net.ParseIP(ip)}
}
