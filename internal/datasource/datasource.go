package datasource

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	commoncfg "github.com/prometheus/common/config"

	"github.com/argus-mon/argus/internal/config"
	"github.com/argus-mon/argus/internal/dashboard"
)

// source is one configured data source, ready to forward to.
type source struct {
	ds      dashboard.DataSource
	base    *url.URL
	client  *http.Client
	timeout time.Duration
}

// Proxy forwards dashboard queries to data sources.
type Proxy struct {
	logger *slog.Logger
	mu     sync.RWMutex
	// local answers the built-in source's requests (argus's own API).
	local   http.Handler
	sources map[string]*source
	list    []dashboard.DataSource
}

// New returns a Proxy with only the built-in source; local answers its
// /api/v1/... requests. A nil logger discards.
func New(local http.Handler, logger *slog.Logger) *Proxy {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Proxy{logger: logger, local: local, list: []dashboard.DataSource{dashboard.BuiltinDataSource}}
}

// SetLocal sets the handler of the built-in source's requests.
func (p *Proxy) SetLocal(h http.Handler) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.local = h
}

// Apply replaces the configured sources. Every client is built before
// anything changes, so a bad config changes nothing.
func (p *Proxy) Apply(cfgs []*config.DataSource) error {
	sources := map[string]*source{}
	builtin := dashboard.BuiltinDataSource
	list := []dashboard.DataSource{builtin}
	for _, c := range cfgs {
		client, err := commoncfg.NewClientFromConfig(c.HTTPClientConfig, "datasource_"+c.Name)
		if err != nil {
			return fmt.Errorf("data source %q: %w", c.Name, err)
		}
		base, err := url.Parse(strings.TrimSuffix(c.URL, "/"))
		if err != nil {
			return fmt.Errorf("data source %q: %w", c.Name, err)
		}
		ds := dashboard.DataSource{UID: c.DataSourceUID(), Name: c.Name, Type: "prometheus", IsDefault: c.Default}
		if c.Default {
			list[0].IsDefault = false
		}
		timeout := time.Duration(c.Timeout)
		if timeout <= 0 {
			timeout = time.Duration(config.DefaultDataSourceTimeout)
		}
		sources[ds.UID] = &source{ds: ds, base: base, client: client, timeout: timeout}
		list = append(list, ds)
	}
	p.mu.Lock()
	old := p.sources
	p.sources, p.list = sources, list
	p.mu.Unlock()
	for _, s := range old {
		s.client.CloseIdleConnections()
	}
	return nil
}

// DataSources returns the sources, the built-in one first.
func (p *Proxy) DataSources() []dashboard.DataSource {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return append([]dashboard.DataSource(nil), p.list...)
}

// Mux is where Register adds the routes: an *http.ServeMux, or the
// server's router, which guards each route with the access it needs.
type Mux interface {
	Handle(pattern string, handler http.Handler)
	HandleFunc(pattern string, handler func(http.ResponseWriter, *http.Request))
}

// Register adds the proxy's routes to mux.
func (p *Proxy) Register(mux Mux) {
	mux.HandleFunc("GET /api/datasources", p.listHandler)
	for _, m := range []string{"GET", "POST"} {
		for _, path := range []string{"query", "query_range", "series", "labels", "label/{name}/values"} {
			mux.HandleFunc(m+" /api/datasources/proxy/uid/{uid}/api/v1/"+path, p.proxy)
		}
	}
}

// listHandler answers GET /api/datasources in Grafana's shape; the URL is
// the proxy's, not the source's, which stays on the server.
func (p *Proxy) listHandler(w http.ResponseWriter, _ *http.Request) {
	type entry struct {
		ID        int    `json:"id"`
		UID       string `json:"uid"`
		Name      string `json:"name"`
		Type      string `json:"type"`
		TypeName  string `json:"typeName"`
		URL       string `json:"url"`
		Access    string `json:"access"`
		IsDefault bool   `json:"isDefault"`
		ReadOnly  bool   `json:"readOnly"`
	}
	var out []entry
	for i, d := range p.DataSources() {
		out = append(out, entry{ID: i + 1, UID: d.UID, Name: d.Name, Type: d.Type, TypeName: "Prometheus",
			URL: "/api/datasources/proxy/uid/" + d.UID, Access: "proxy", IsDefault: d.IsDefault, ReadOnly: true})
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(out)
}

// proxy forwards one request to its source.
func (p *Proxy) proxy(w http.ResponseWriter, r *http.Request) {
	uid := r.PathValue("uid")
	rest := r.URL.Path[strings.Index(r.URL.Path, "/api/v1/"):]
	p.mu.RLock()
	local, src := p.local, p.sources[uid]
	p.mu.RUnlock()
	if uid == dashboard.BuiltinDataSource.UID && local != nil {
		// The built-in source is this server's own API; the request keeps
		// its credentials, which the API's routes check again.
		lr := r.Clone(r.Context())
		lr.URL.Path, lr.URL.RawPath, lr.RequestURI = rest, "", ""
		local.ServeHTTP(w, lr)
		return
	}
	if src == nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("data source %q not found", uid))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), src.timeout)
	defer cancel()
	u := *src.base
	u.Path = strings.TrimSuffix(u.Path, "/") + rest
	u.RawQuery = r.URL.RawQuery
	var body io.Reader
	if r.Method == http.MethodPost {
		body = http.MaxBytesReader(w, r.Body, 1<<20)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, u.String(), body)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	// Only what the query needs goes upstream; the browser's cookies and
	// credentials do not, and the source's own come from its config.
	if ct := r.Header.Get("Content-Type"); ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := src.client.Do(req)
	if err != nil {
		p.logger.Warn("Data source request failed", "datasource", uid, "err", err)
		writeError(w, http.StatusBadGateway, fmt.Sprintf("data source %q: %v", src.ds.Name, redact(err, src.base)))
		return
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		w.Header().Set("Content-Type", ct)
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}

// redact keeps a source's URL credentials out of error messages.
func redact(err error, base *url.URL) string {
	msg := err.Error()
	if base.User != nil {
		msg = strings.ReplaceAll(msg, base.User.String()+"@", "")
	}
	return msg
}

// writeError answers in the Prometheus API's error shape, which is what
// dashboards' queries expect from this path.
func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"status": "error", "errorType": "proxy", "error": msg, "message": msg})
}
