package probe

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	commoncfg "github.com/prometheus/common/config"

	"github.com/argus-mon/argus/internal/config"
	"github.com/argus-mon/argus/internal/integration"
)

const (
	// maxRedirects is how many redirects are followed, as
	// blackbox_exporter (and Go's client) does.
	maxRedirects = 10
	// maxBody bounds the body read: a probe that hits a large download
	// must not hold it all in memory. A longer body fails the probe.
	maxBody = 16 << 20
)

// phases are the phases of probe_http_duration_seconds, in order.
var phases = []string{"resolve", "connect", "tls", "processing", "transfer"}

// httpResult is what an http probe reports. Every series but the TLS ones
// is reported even by a probe that fails early, at 0, as
// blackbox_exporter does.
type httpResult struct {
	duration                                  [5]time.Duration // by phases
	status, contentLength, bodyLength, redirs float64
	version, ssl, regexFailed, lastModified   float64
}

func (r *httpResult) add(out *integration.Metrics) {
	for i, p := range phases {
		out.Gauge("probe_http_duration_seconds", "Duration of http request by phase, summed over all redirects", r.duration[i].Seconds(), "phase", p)
	}
	out.Gauge("probe_http_status_code", "Response HTTP status code", r.status)
	out.Gauge("probe_http_content_length", "Length of http content response", r.contentLength)
	out.Gauge("probe_http_uncompressed_body_length", "Length of uncompressed response body", r.bodyLength)
	out.Gauge("probe_http_redirects", "The number of redirects", r.redirs)
	out.Gauge("probe_http_version", "Returns the version of HTTP of the probe response", r.version)
	out.Gauge("probe_http_ssl", "Indicates if SSL was used for the final redirect", r.ssl)
	out.Gauge("probe_failed_due_to_regex", "Indicates if probe failed due to regex", r.regexFailed)
	if r.lastModified != 0 {
		out.Gauge("probe_http_last_modified_timestamp_seconds", "Returns the Last-Modified HTTP response header in unixtime", r.lastModified)
	}
}

// probeHTTP requests target (a URL; http:// is assumed without a scheme)
// and checks the answer against the module.
func probeHTTP(ctx context.Context, target string, m *config.ProbeHTTP, out *integration.Metrics, logger *slog.Logger) error {
	var res httpResult
	defer res.add(out)
	if !strings.Contains(target, "://") {
		target = "http://" + target
	}
	u, err := url.Parse(target)
	if err != nil || u.Hostname() == "" {
		return fmt.Errorf("target %q is not a URL", target)
	}
	ip, took, err := resolve(ctx, u.Hostname(), &m.ProbeIPProtocol, out)
	if err != nil {
		return err
	}
	res.duration[0] += took
	tc, err := commoncfg.NewTLSConfig(&m.TLSConfig)
	if err != nil {
		return fmt.Errorf("tls_config: %w", err)
	}
	var tr timings
	client := newClient(u.Hostname(), ip, tc, !m.FollowsRedirects(), &tr, &res)
	defer client.CloseIdleConnections()
	req, err := newRequest(httptrace.WithClientTrace(ctx, tr.trace()), u, m)
	if err != nil {
		return err
	}
	tr.next()
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("request: %w", err)
	}
	defer resp.Body.Close()
	body, readErr := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	tr.end()
	res.duration = tr.phases(res.duration)
	logger.Debug("Received the response", "status", resp.Status, "redirects", res.redirs)
	res.status = float64(resp.StatusCode)
	res.contentLength = float64(resp.ContentLength)
	res.bodyLength = float64(len(body))
	res.version = float64(resp.ProtoMajor) + float64(resp.ProtoMinor)/10
	if lm, err := http.ParseTime(resp.Header.Get("Last-Modified")); err == nil {
		res.lastModified = float64(lm.Unix())
	}
	if resp.TLS != nil {
		res.ssl = 1
		addTLS(out, resp.TLS, true)
	}
	if readErr != nil {
		return fmt.Errorf("read the body: %w", readErr)
	}
	return check(resp, body, m, &res)
}

// check says whether the final response passes the module's checks.
func check(resp *http.Response, body []byte, m *config.ProbeHTTP, res *httpResult) error {
	switch {
	case len(body) > maxBody:
		return fmt.Errorf("body longer than %d bytes", maxBody)
	case !validStatus(m.ValidStatusCodes, resp.StatusCode):
		return fmt.Errorf("status %s is not valid", resp.Status)
	case m.FailIfSSL && resp.TLS != nil:
		return errors.New("the final response came over TLS (fail_if_ssl)")
	case m.FailIfNotSSL && resp.TLS == nil:
		return errors.New("the final response did not come over TLS (fail_if_not_ssl)")
	}
	if err := matchBody(body, m); err != nil {
		res.regexFailed = 1
		return err
	}
	return nil
}

// newClient returns a client that connects to ip for host, the address
// the probe resolved and reported, and records each round trip in tr. A
// probe makes its own connections: a kept one would hide the connect
// and TLS phases.
func newClient(host string, ip net.IP, tc *tls.Config, noFollow bool, tr *timings, res *httpResult) *http.Client {
	var d net.Dialer
	transport := &http.Transport{
		TLSClientConfig:   tc,
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if h, port, err := net.SplitHostPort(addr); err == nil && h == host {
				addr = net.JoinHostPort(ip.String(), port)
			}
			return d.DialContext(ctx, network, addr)
		},
	}
	return &http.Client{Transport: transport, CheckRedirect: func(_ *http.Request, via []*http.Request) error {
		// A redirect not followed counts too, as blackbox_exporter has it.
		res.redirs++
		if noFollow {
			return http.ErrUseLastResponse
		}
		if len(via) > maxRedirects {
			return fmt.Errorf("stopped after %d redirects", maxRedirects)
		}
		tr.next()
		return nil
	}}
}

func newRequest(ctx context.Context, u *url.URL, m *config.ProbeHTTP) (*http.Request, error) {
	method := m.Method
	if method == "" {
		method = http.MethodGet
	}
	var body io.Reader
	if m.Body != "" {
		body = strings.NewReader(m.Body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("build the request: %w", err)
	}
	for name, v := range m.Headers {
		if strings.EqualFold(name, "Host") {
			req.Host = v
			continue
		}
		req.Header.Set(name, v)
	}
	return req, nil
}

func validStatus(valid []int, code int) bool {
	if len(valid) == 0 {
		return code >= 200 && code < 300
	}
	return slices.Contains(valid, code)
}

func matchBody(body []byte, m *config.ProbeHTTP) error {
	for _, expr := range m.FailIfBodyMatchesRegexp {
		re, err := regexp.Compile(expr)
		if err != nil {
			return fmt.Errorf("regexp %q: %w", expr, err)
		}
		if re.Match(body) {
			return fmt.Errorf("the body matches %q (fail_if_body_matches_regexp)", expr)
		}
	}
	for _, expr := range m.FailIfBodyNotMatchesRegexp {
		re, err := regexp.Compile(expr)
		if err != nil {
			return fmt.Errorf("regexp %q: %w", expr, err)
		}
		if !re.Match(body) {
			return fmt.Errorf("the body does not match %q (fail_if_body_not_matches_regexp)", expr)
		}
	}
	return nil
}
