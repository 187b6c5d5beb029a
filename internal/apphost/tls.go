package apphost

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/argus-mon/argus/internal/config"
)

// certFiles serves a certificate and key from files, reading them again
// when either file changes, so that a renewed certificate is served
// without a restart. Handshakes may call it concurrently.
type certFiles struct {
	certFile, keyFile string

	mu      sync.Mutex
	modCert time.Time
	modKey  time.Time
	cert    *tls.Certificate
}

// newTLSConfig returns the TLS settings of a front port serving t's
// certificate, or an error if it does not load.
func newTLSConfig(t *config.AppTLS) (*tls.Config, error) {
	c := &certFiles{certFile: t.CertFile, keyFile: t.KeyFile}
	if _, err := c.get(); err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return c.get()
		},
	}, nil
}

// get returns the certificate, read again if a file's modification time
// changed since it was last read. A certificate that no longer loads (a
// renewal half written) leaves the previous one in service.
func (c *certFiles) get() (*tls.Certificate, error) {
	ci, errC := os.Stat(c.certFile)
	ki, errK := os.Stat(c.keyFile)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := errors.Join(errC, errK); err != nil {
		if c.cert != nil {
			return c.cert, nil
		}
		return nil, fmt.Errorf("tls: %w", err)
	}
	if c.cert != nil && ci.ModTime().Equal(c.modCert) && ki.ModTime().Equal(c.modKey) {
		return c.cert, nil
	}
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		if c.cert != nil {
			return c.cert, nil
		}
		return nil, fmt.Errorf("tls: %w", err)
	}
	c.cert, c.modCert, c.modKey = &cert, ci.ModTime(), ki.ModTime()
	return c.cert, nil
}

// serve serves srv on ln, over TLS if srv has TLS settings. net/http then
// offers HTTP/2 as well, by ALPN.
func serve(srv *http.Server, ln net.Listener) error {
	if srv.TLSConfig != nil {
		return srv.ServeTLS(ln, "", "")
	}
	return srv.Serve(ln)
}
