package probe

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"

	commoncfg "github.com/prometheus/common/config"

	"github.com/argus-mon/argus/internal/config"
	"github.com/argus-mon/argus/internal/integration"
)

// probeTCP connects to target (host:port) and, with tls set, completes a
// TLS handshake. query_response dialogues are not implemented, so
// probe_failed_due_to_regex is always 0.
func probeTCP(ctx context.Context, target string, m *config.ProbeTCP, out *integration.Metrics, logger *slog.Logger) error {
	out.Gauge("probe_failed_due_to_regex", "Indicates if probe failed due to regex", 0)
	host, port, err := net.SplitHostPort(target)
	if err != nil {
		return fmt.Errorf("target %q is not host:port: %w", target, err)
	}
	ip, _, err := resolve(ctx, host, &m.ProbeIPProtocol, out)
	if err != nil {
		return err
	}
	addr := net.JoinHostPort(ip.String(), port)
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", addr, err)
	}
	defer conn.Close()
	logger.Debug("Connected", "address", addr)
	if !m.TLS {
		return nil
	}
	tc, err := commoncfg.NewTLSConfig(&m.TLSConfig)
	if err != nil {
		return fmt.Errorf("tls_config: %w", err)
	}
	if tc.ServerName == "" {
		tc.ServerName = host
	}
	tconn := tls.Client(conn, tc)
	if err := tconn.HandshakeContext(ctx); err != nil {
		return fmt.Errorf("TLS handshake with %s: %w", addr, err)
	}
	cs := tconn.ConnectionState()
	addTLS(out, &cs)
	return nil
}
