package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// writeCert writes a self-signed certificate for 127.0.0.1 and its key.
func writeCert(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "argus test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return certFile, keyFile
}

// TestWebConfigFile serves with a Prometheus web config: TLS with HTTP/2,
// a response header, and a basic-auth user with a bcrypt hash, who is an
// admin; requests without credentials are refused as Prometheus refuses
// them, and argus's own users still log in.
func TestWebConfigFile(t *testing.T) {
	dir := t.TempDir()
	writeCert(t, dir)
	hash, _ := bcrypt.GenerateFromPassword([]byte("web-password"), bcrypt.MinCost)
	webCfg := filepath.Join(dir, "web.yml")
	os.WriteFile(webCfg, []byte("tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\nhttp_server_config:\n  headers:\n    X-Frame-Options: deny\nbasic_auth_users:\n  ops: "+string(hash)+"\n"), 0o600)
	r := startAuthTLS(t, Options{DataDir: filepath.Join(dir, "data"), WebConfigFile: webCfg, InitialAdminPassword: "admin-password"})
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, ForceAttemptHTTP2: true}}
	defer client.CloseIdleConnections()
	do := func(method, path, user, pw string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, r.base+path, strings.NewReader(`{"user":"admin","password":"admin-password"}`))
		req.Header.Set("Content-Type", "application/json")
		if user != "" {
			req.SetBasicAuth(user, pw)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := do("GET", "/api/v1/query?query=1", "", ""); resp.StatusCode != 401 {
		t.Errorf("read without credentials: %d, want 401 (web config users make anonymous access off)", resp.StatusCode)
	}
	resp := do("GET", "/api/v1/query?query=1", "ops", "web-password")
	if resp.StatusCode != 200 || resp.ProtoMajor != 2 || resp.Header.Get("X-Frame-Options") != "deny" {
		t.Errorf("as the web config user: %d, HTTP/%d, headers %v", resp.StatusCode, resp.ProtoMajor, resp.Header)
	}
	if resp := do("POST", "/-/reload", "ops", "web-password"); resp.StatusCode != 200 {
		t.Errorf("reload as the web config user (an admin): %d", resp.StatusCode)
	}
	if resp := do("GET", "/api/v1/query?query=1", "ops", "wrong"); resp.StatusCode != 401 {
		t.Errorf("wrong password: %d", resp.StatusCode)
	}
	// argus's own users log in, over TLS with a Secure cookie.
	resp = do("POST", "/api/v1/auth/login", "", "")
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Set-Cookie"), "Secure") {
		t.Errorf("login over TLS: %d %q", resp.StatusCode, resp.Header.Get("Set-Cookie"))
	}
	// Plain HTTP to the TLS port fails.
	plain := &http.Client{Transport: &http.Transport{}}
	defer plain.CloseIdleConnections()
	if resp, err := plain.Get(strings.Replace(r.base, "https://", "http://", 1) + "/-/healthy"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Error("plain HTTP answered on the TLS port")
		}
	}
}

func TestWebConfigFileErrors(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"unknown key": "tls_server_config:\n  certfile: x\n",
		"missing key": "tls_server_config:\n  cert_file: " + filepath.Join(dir, "nope.pem") + "\n  key_file: " + filepath.Join(dir, "nope.key") + "\n",
	} {
		f := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".yml")
		os.WriteFile(f, []byte(body), 0o644)
		_, err := New(t.Context(), Options{DataDir: filepath.Join(dir, "data"), ListenAddr: "127.0.0.1:0", WebConfigFile: f})
		if err == nil || !strings.Contains(err.Error(), "--web.config.file") {
			t.Errorf("%s: %v", name, err)
		}
	}
}
