package probe

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	commoncfg "github.com/prometheus/common/config"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/argus-mon/argus/internal/config"
	"github.com/argus-mon/argus/internal/integration"
)

// grpcPhases are the phases of probe_grpc_duration_seconds, in order.
var grpcPhases = []string{"resolve", "check"}

// grpcResult is what a grpc probe reports. Like blackbox_exporter 0.23,
// it reports status code 0 (OK) for a probe that failed before calling,
// and the health check responses, all 0 without an answer, once called.
type grpcResult struct {
	duration [2]time.Duration // by grpcPhases
	code     codes.Code
	ssl      float64
	called   bool
	// serving is the health check's answer, empty without one.
	serving string
}

func (r *grpcResult) add(out *integration.Metrics) {
	for i, p := range grpcPhases {
		out.Gauge("probe_grpc_duration_seconds", "Duration of gRPC request by phase", r.duration[i].Seconds(), "phase", p)
	}
	out.Gauge("probe_grpc_status_code", "Response gRPC status code", float64(r.code))
	out.Gauge("probe_grpc_ssl", "Indicates if SSL was used for the connection", r.ssl)
	if !r.called {
		return
	}
	// Every status is reported, the answer's at 1, so that a query for
	// NOT_SERVING finds a 0 while the service serves.
	for v := range len(healthpb.HealthCheckResponse_ServingStatus_name) {
		name := healthpb.HealthCheckResponse_ServingStatus(v).String()
		value := 0.0
		if name == r.serving {
			value = 1
		}
		out.Gauge("probe_grpc_healthcheck_response", "Response HealthCheck response", value, "serving_status", name)
	}
}

// probeGRPC asks target (host or host:port; an http:// or https:// URL
// is taken for its host and port) the health of the module's service,
// with the standard health checking protocol.
func probeGRPC(ctx context.Context, target string, m *config.ProbeGRPC, out *integration.Metrics, logger *slog.Logger) error {
	var res grpcResult
	defer res.add(out)
	host, port, err := grpcServer(target, m.TLS)
	if err != nil {
		return err
	}
	ip, took, err := resolve(ctx, host, &m.ProbeIPProtocol, out)
	res.duration[0] = took
	if err != nil {
		return err
	}
	// Connect to the address resolved and reported, presenting the
	// target's name to the server: as the authority or, over TLS, as the
	// server name, which is then the authority too.
	opts := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithAuthority(net.JoinHostPort(host, port))}
	if m.TLS {
		tc, err := commoncfg.NewTLSConfig(&m.TLSConfig)
		if err != nil {
			return fmt.Errorf("tls_config: %w", err)
		}
		if tc.ServerName == "" {
			tc.ServerName = host
		}
		opts = []grpc.DialOption{grpc.WithTransportCredentials(credentials.NewTLS(tc))}
	}
	addr := net.JoinHostPort(ip.String(), port)
	conn, err := grpc.NewClient("passthrough:///"+addr, opts...)
	if err != nil {
		return fmt.Errorf("gRPC client for %s: %w", addr, err)
	}
	defer conn.Close()
	start := time.Now()
	var p peer.Peer
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: m.Service}, grpc.Peer(&p))
	res.duration[1] = time.Since(start)
	res.called, res.code = true, status.Code(err)
	if info, ok := p.AuthInfo.(credentials.TLSInfo); ok {
		res.ssl = 1
		addTLS(out, &info.State, false)
	}
	if err != nil {
		return fmt.Errorf("health check of %q at %s: %w", m.Service, addr, err)
	}
	res.serving = resp.GetStatus().String()
	logger.Debug("Health checked", "service", m.Service, "status", res.serving)
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return fmt.Errorf("service %q is %s", m.Service, res.serving)
	}
	return nil
}

// grpcServer splits target into host and port; without a port, the
// port is 80, or 443 with TLS.
func grpcServer(target string, tls bool) (host, port string, err error) {
	if strings.HasPrefix(target, "http://") || strings.HasPrefix(target, "https://") {
		u, err := url.Parse(target)
		if err != nil {
			return "", "", fmt.Errorf("target %q is not a URL: %w", target, err)
		}
		target = u.Host
	}
	if h, p, err := net.SplitHostPort(target); err == nil {
		return h, p, nil
	}
	port = "80"
	if tls {
		port = "443"
	}
	if host = strings.Trim(target, "[]"); host == "" {
		return "", "", fmt.Errorf("target %q has no host", target)
	}
	return host, port, nil
}
