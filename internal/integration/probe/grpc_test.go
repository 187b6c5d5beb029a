package probe

import (
	"crypto/tls"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/argus-mon/argus/internal/config"
	"github.com/argus-mon/argus/internal/integration/integrationtest"
)

// startGRPC starts a gRPC server on loopback with the standard health
// service, "orders" serving and "billing" not, over TLS with tc or,
// with tc nil, without. It returns the address.
func startGRPC(t *testing.T, tc *tls.Config) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var opts []grpc.ServerOption
	if tc != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(tc)))
	}
	srv := grpc.NewServer(opts...)
	h := health.NewServer()
	h.SetServingStatus("orders", healthpb.HealthCheckResponse_SERVING)
	h.SetServingStatus("billing", healthpb.HealthCheckResponse_NOT_SERVING)
	healthpb.RegisterHealthServer(srv, h)
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(l)
	}()
	t.Cleanup(func() {
		srv.Stop()
		<-done
	})
	return l.Addr().String()
}

func TestGRPCProbe(t *testing.T) {
	tg := startTargets(t)
	mods, _ := loadModules(t, tg.caFile)
	plain := startGRPC(t, nil)
	secure := startGRPC(t, tg.https.TLS)
	f := func(module, target string, wantOK bool, wantCode float64, serving string) {
		t.Helper()
		fams, ok := run(t, target, mods[module], 5*time.Second)
		if ok != wantOK {
			t.Errorf("%s %s: success %v, want %v", module, target, ok, wantOK)
		}
		if got := value(t, fams, "probe_grpc_status_code"); got != wantCode {
			t.Errorf("%s %s: probe_grpc_status_code %v, want %v", module, target, got, wantCode)
		}
		// Without an answer, every status is reported at 0, as the
		// exporter does.
		if serving == "" {
			if v, ok := integrationtest.Value(fams, "probe_grpc_healthcheck_response", "serving_status", "SERVING"); !ok || v != 0 {
				t.Errorf("%s %s: SERVING %v (%v) without an answer", module, target, v, ok)
			}
		} else if value(t, fams, "probe_grpc_healthcheck_response", "serving_status", serving) != 1 {
			t.Errorf("%s %s: not %s", module, target, serving)
		}
	}
	f("grpc", plain, true, 0, "SERVING")
	f("grpc_orders", plain, true, 0, "SERVING")
	f("grpc_billing", plain, false, 0, "NOT_SERVING")
	f("grpc_unknown", plain, false, 5, "") // NOT_FOUND
	f("grpc_tls", secure, true, 0, "SERVING")
	f("grpc_tls", "https://"+secure+"/", true, 0, "SERVING")
	f("grpc_tls", plain, false, 14, "") // UNAVAILABLE: no TLS handshake
	f("grpc", secure, false, 14, "")

	fams, _ := run(t, secure, mods["grpc_tls"], 5*time.Second)
	if value(t, fams, "probe_grpc_ssl") != 1 || value(t, fams, "probe_ssl_earliest_cert_expiry") != float64(tg.https.Certificate().NotAfter.Unix()) {
		t.Errorf("no TLS series: %v", fams)
	}
	// Without the CA, the certificate does not verify.
	m := *mods["grpc_tls"]
	m.GRPC.TLSConfig.CAFile = ""
	if _, ok := run(t, secure, &m, 5*time.Second); ok {
		t.Error("an unverifiable certificate passed")
	}
	// Servers that are down, never answer or answer garbage: each probe
	// fails within its timeout.
	const timeout = 500 * time.Millisecond
	for _, target := range []string{integrationtest.FreeAddr(t), integrationtest.Silent(t),
		integrationtest.Garbage(t, "garbage\r\n\r\n"), "no-such-host.invalid:50051"} {
		start := time.Now()
		if _, ok := run(t, target, &config.ProbeModule{Prober: "grpc"}, timeout); ok {
			t.Errorf("%s: success", target)
		}
		if took := time.Since(start); took > timeout+time.Second {
			t.Errorf("%s: took %v, timeout %v", target, took, timeout)
		}
	}
}
