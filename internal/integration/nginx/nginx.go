package nginx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/argus-mon/argus/internal/integration"
)

// maxConns bounds the connections to one nginx: a scrape and an outside
// Prometheus reading /metrics/integrations/<name> at the same moment.
const maxConns = 2

// maxBody bounds the stub_status page read; the real one is under 200
// bytes, and a misconfigured address might point at a large file.
const maxBody = 64 << 10

// Collector reads one nginx: its stub_status page and, if configured, its
// access log.
type Collector struct {
	url       string
	transport *http.Transport
	client    *http.Client
	log       *tailer // nil without an access log
}

// New returns the collector of one nginx instance. It neither connects nor
// opens the access log.
func New(t *integration.Target, _ *slog.Logger) (integration.Collector, error) {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{}).DialContext,
		TLSClientConfig:     t.TLS,
		MaxConnsPerHost:     maxConns,
		MaxIdleConnsPerHost: maxConns,
		// nginx closes idle connections after keepalive_timeout (75s by
		// default); closing first avoids a failed reuse.
		IdleConnTimeout: 60 * time.Second,
	}
	c := &Collector{
		url:       t.Address,
		transport: tr,
		// Redirects are not followed: stub_status answers itself, and a
		// redirect means the address is wrong.
		client: &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}},
	}
	if t.AccessLog != "" {
		c.log = newTailer(t.AccessLog)
	}
	return c, nil
}

// Close closes the idle connections and the access log.
func (c *Collector) Close() error {
	c.transport.CloseIdleConnections()
	if c.log != nil {
		return c.log.close()
	}
	return nil
}

// Collect reads stub_status and adds nginx-prometheus-exporter's metrics,
// then the access log's new lines and the per-request metrics. A failure
// of either makes the instance down; nginx_up says whether stub_status
// could be read, as the exporter's does.
func (c *Collector) Collect(ctx context.Context, m *integration.Metrics) error {
	s, err := c.stubStatus(ctx)
	up := 0.0
	if err == nil {
		up = 1
		addStubStatus(m, s)
	}
	m.Gauge("nginx_up", "Whether nginx's stub_status page could be read.", up)
	if c.log != nil {
		if lerr := c.log.collect(m); lerr != nil {
			err = errors.Join(err, lerr)
		}
	}
	return err
}

func (c *Collector) stubStatus(ctx context.Context) (*stubStatus, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url, nil)
	if err != nil {
		return nil, fmt.Errorf("stub_status request: %w", err)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("get stub_status: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("read stub_status: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("stub_status answered %s", resp.Status)
	}
	return parseStubStatus(body)
}

func addStubStatus(m *integration.Metrics, s *stubStatus) {
	m.Counter("nginx_connections_accepted", "Client connections accepted.", float64(s.accepts))
	m.Counter("nginx_connections_handled", "Client connections handled.", float64(s.handled))
	m.Gauge("nginx_connections_active", "Client connections open now, waiting ones included.", float64(s.active))
	m.Gauge("nginx_connections_reading", "Connections whose request header nginx is reading.", float64(s.reading))
	m.Gauge("nginx_connections_writing", "Connections nginx is writing a response to.", float64(s.writing))
	m.Gauge("nginx_connections_waiting", "Idle keep-alive connections.", float64(s.waiting))
	m.Counter("nginx_http_requests_total", "Client requests.", float64(s.requests))
}
