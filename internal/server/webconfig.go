package server

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"

	"github.com/prometheus/exporter-toolkit/web"
	"go.yaml.in/yaml/v2"
	"golang.org/x/time/rate"
)

// webConfig is --web.config.file, in the format Prometheus and
// Alertmanager read (exporter-toolkit's): TLS, HTTP/2, response headers,
// a rate limit and basic_auth_users. argus reads it with the toolkit's
// own types and checks, and applies it itself rather than through the
// toolkit's server, so that its basic-auth users join argus's users
// instead of shutting them out.
type webConfig struct {
	path string
	cfg  web.Config
	tls  bool
}

// loadWebConfig reads and checks path; an empty path is no web config.
func loadWebConfig(path string) (*webConfig, error) {
	if path == "" {
		return nil, nil
	}
	// Validate checks it as Prometheus would, certificates included, with
	// the toolkit's messages.
	if err := web.Validate(path); err != nil {
		return nil, fmt.Errorf("--web.config.file %s: %w", path, err)
	}
	c, err := parseWebConfig(path)
	if err != nil {
		return nil, err
	}
	w := &webConfig{path: path, cfg: *c}
	_, err = web.ConfigToTLSConfig(&c.TLSConfig)
	switch {
	case err == nil:
		w.tls = true
	case c.TLSConfig.TLSCertPath == "" && c.TLSConfig.TLSCert == "":
		// No TLS configured: plain HTTP.
	default:
		return nil, fmt.Errorf("--web.config.file %s: %w", path, err)
	}
	return w, nil
}

// parseWebConfig reads the file with the toolkit's defaults, as it does.
func parseWebConfig(path string) (*web.Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--web.config.file: %w", err)
	}
	c := &web.Config{
		TLSConfig:  web.TLSConfig{MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS13, PreferServerCipherSuites: true},
		HTTPConfig: web.HTTPConfig{HTTP2: true},
	}
	if err := yaml.UnmarshalStrict(b, c); err != nil {
		return nil, fmt.Errorf("--web.config.file %s: %w", path, err)
	}
	c.TLSConfig.SetDirectory(filepath.Dir(path))
	return c, nil
}

// users returns the basic_auth_users: name to bcrypt hash.
func (w *webConfig) users() map[string]string {
	if w == nil || len(w.cfg.Users) == 0 {
		return nil
	}
	out := make(map[string]string, len(w.cfg.Users))
	for name, hash := range w.cfg.Users {
		out[name] = string(hash)
	}
	return out
}

// wrap adds the configured response headers and rate limit to h.
func (w *webConfig) wrap(h http.Handler) http.Handler {
	if w == nil {
		return h
	}
	headers := w.cfg.HTTPConfig.Header
	var limiter *rate.Limiter
	if rl := w.cfg.RateLimiterConfig; rl.Interval > 0 {
		limiter = rate.NewLimiter(rate.Every(rl.Interval), rl.Burst)
	}
	if len(headers) == 0 && limiter == nil {
		return h
	}
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		for k, v := range headers {
			rw.Header().Set(k, v)
		}
		if limiter != nil && !limiter.Allow() {
			rw.Header().Set("Retry-After", strconv.Itoa(1))
			http.Error(rw, "too many requests", http.StatusTooManyRequests)
			return
		}
		h.ServeHTTP(rw, r)
	})
}

// listener returns l wrapped in TLS when the web config has it; the
// certificate and key are read again on each new connection, as
// Prometheus does, so that a rotated certificate needs no restart.
func (w *webConfig) listener(l net.Listener, srv *http.Server) (net.Listener, error) {
	if w == nil || !w.tls {
		return l, nil
	}
	base, err := web.ConfigToTLSConfig(&w.cfg.TLSConfig)
	if err != nil {
		return nil, err
	}
	protos := []string{"h2", "http/1.1"}
	if !w.cfg.HTTPConfig.HTTP2 {
		protos = []string{"http/1.1"}
		srv.TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){}
	}
	base.NextProtos = protos
	base.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		c, err := parseWebConfig(w.path)
		if err != nil {
			return nil, err
		}
		tc, err := web.ConfigToTLSConfig(&c.TLSConfig)
		if err != nil {
			return nil, errors.New("web config TLS: " + err.Error())
		}
		tc.NextProtos = protos
		return tc, nil
	}
	return tls.NewListener(l, base), nil
}
