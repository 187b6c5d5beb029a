package apphost

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// writeCert writes a self-signed certificate for 127.0.0.1 with the
// given common name, and its key, to certFile and keyFile, and returns
// the certificate.
func writeCert(t *testing.T, certFile, keyFile, name string) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"h2.test"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// tlsClient returns a client that trusts only certs and tries HTTP/2.
func tlsClient(certs ...*x509.Certificate) *http.Client {
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: pool},
		ForceAttemptHTTP2: true,
	}}
}

// TestTLSAndHTTP2 serves an app over HTTPS on its own port and on the
// shared front, checks that clients get HTTP/2 with streaming intact, and
// that a renewed certificate is served without a restart.
func TestTLSAndHTTP2(t *testing.T) {
	th := startHost(t, Options{})
	dir := t.TempDir()
	appCert, appKey := filepath.Join(dir, "app.crt"), filepath.Join(dir, "app.key")
	frontCert, frontKey := filepath.Join(dir, "front.crt"), filepath.Join(dir, "front.key")
	ca1 := writeCert(t, appCert, appKey, "app")
	ca2 := writeCert(t, frontCert, frontKey, "front")
	port, frontPort := freeTestPort(t), freeTestPort(t)
	apps, front := parseConfig(t, fmt.Sprintf(`
apps_front:
  listen: 127.0.0.1:%d
  tls: {cert_file: %s, key_file: %s}
apps:
  - name: secure
    command: %s
    listen: 127.0.0.1:%d
    tls: {cert_file: %s, key_file: %s}
    host: h2.test
`, frontPort, frontCert, frontKey, echoBin, port, appCert, appKey))
	th.SetFront(front)
	th.Update(apps, "")
	th.waitReady("secure", 1)
	client := tlsClient(ca1, ca2)
	defer client.CloseIdleConnections()

	get := func(url, host string) (*http.Response, echoReply) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Host = host
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		defer resp.Body.Close()
		var r echoReply
		b, _ := io.ReadAll(resp.Body)
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatalf("GET %s: %d %v: %s", url, resp.StatusCode, err, b)
		}
		return resp, r
	}
	for _, tc := range []struct{ url, host, cn string }{
		{fmt.Sprintf("https://127.0.0.1:%d/x", port), "", "app"},
		{fmt.Sprintf("https://127.0.0.1:%d/x", frontPort), "h2.test", "front"},
	} {
		resp, r := get(tc.url, tc.host)
		if resp.ProtoMajor != 2 || r.App != "secure" || r.Path != "/x" || r.Headers["X-Forwarded-Proto"][0] != "https" {
			t.Errorf("%s: %s app %q path %q headers %v, want HTTP/2 to secure over https", tc.url, resp.Proto, r.App, r.Path, r.Headers)
		}
		if cn := resp.TLS.PeerCertificates[0].Subject.CommonName; cn != tc.cn {
			t.Errorf("%s: served certificate %q, want %q", tc.url, cn, tc.cn)
		}
	}

	// Streaming over HTTP/2: the first line arrives before the worker
	// finishes, which it does only when released.
	req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("https://127.0.0.1:%d/stream?id=h2", frontPort), nil)
	req.Host = "h2.test"
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(resp.Body)
	if line, err := br.ReadString('\n'); err != nil || line != "first\n" {
		t.Fatalf("first line over HTTP/2: %q, %v", line, err)
	}
	rel, err := client.Get(fmt.Sprintf("https://127.0.0.1:%d/release?id=h2", port))
	if err != nil {
		t.Fatal(err)
	}
	rel.Body.Close()
	if rest, err := io.ReadAll(br); err != nil || string(rest) != "last\n" {
		t.Errorf("rest over HTTP/2: %q, %v", rest, err)
	}
	resp.Body.Close()

	// A renewed certificate is served to new connections.
	ca3 := writeCert(t, appCert, appKey, "renewed")
	later := time.Now().Add(time.Hour) // a modification time that surely differs
	os.Chtimes(appCert, later, later)
	os.Chtimes(appKey, later, later)
	client = tlsClient(ca3)
	defer client.CloseIdleConnections()
	resp, _ = get(fmt.Sprintf("https://127.0.0.1:%d/", port), "")
	if cn := resp.TLS.PeerCertificates[0].Subject.CommonName; cn != "renewed" {
		t.Errorf("after renewal: certificate %q, want renewed", cn)
	}
}
