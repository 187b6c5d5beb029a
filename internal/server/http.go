package server

import (
	"fmt"
	"net/http"
	"net/http/pprof"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/argus-mon/argus/internal/alertmanager/apiv2"
	"github.com/argus-mon/argus/internal/remote"
	"github.com/argus-mon/argus/internal/ui"
)

// handler is the HTTP surface. Later roles (API, UI, app host) add their routes
// here; this is the only place routes are wired, each through the router,
// which guards it with the access it needs (see ruleFor).
func (s *Server) handler() http.Handler {
	rt := s.routes()
	s.mu.Lock()
	s.router = rt
	s.mu.Unlock()
	return rt.mux
}

// routes registers every route on a new router.
func (s *Server) routes() *router {
	raw := http.NewServeMux()
	mux := &router{mux: raw, auth: s.auth}
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{Registry: s.reg}))
	// The built-in collectors, for an outside Prometheus to scrape.
	mux.HandleFunc("GET /metrics/{collector}", func(w http.ResponseWriter, r *http.Request) {
		g, ok := s.gatherers()[r.PathValue("collector")]
		if !ok {
			http.Error(w, fmt.Sprintf("no collector %q; collectors: argus, node, process", r.PathValue("collector")), http.StatusNotFound)
			return
		}
		promhttp.HandlerFor(g, promhttp.HandlerOpts{}).ServeHTTP(w, r)
	})
	// The integrations, for an outside Prometheus to scrape. A server that
	// is down gives a page with the type's <type>_up 0, as its exporter
	// would, not an HTTP error.
	mux.HandleFunc("GET /metrics/integrations/{name}", func(w http.ResponseWriter, r *http.Request) {
		ri, ok := s.integrations()[r.PathValue("name")]
		if !ok {
			http.Error(w, fmt.Sprintf("no integration %q", r.PathValue("name")), http.StatusNotFound)
			return
		}
		promhttp.HandlerFor(ri.inst, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}).ServeHTTP(w, r)
	})
	mux.HandleFunc("GET /probe", s.serveProbe) // blackbox_exporter's, with argus's probe modules
	mux.HandleFunc("GET /-/healthy", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "argus is Healthy.")
	})
	mux.HandleFunc("GET /-/ready", func(w http.ResponseWriter, _ *http.Request) {
		select {
		case <-s.ready:
			fmt.Fprintln(w, "argus is Ready.")
		default:
			http.Error(w, "argus is not ready yet.", http.StatusServiceUnavailable)
		}
	})
	reload := func(w http.ResponseWriter, _ *http.Request) {
		if err := s.Reload(); err != nil {
			s.logger.Error("Reload failed; keeping the running configuration", "err", err)
			http.Error(w, fmt.Sprintf("failed to reload config: %v", err), http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "configuration reloaded")
	}
	// Go profiling, as Prometheus serves it.
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("POST /-/reload", reload)
	mux.HandleFunc("PUT /-/reload", reload)
	// The Prometheus HTTP API (/api/v1/...) and /federate.
	s.newAPI().Register(mux)
	// The app host's stats, for `argus top` (uWSGI's stats server).
	mux.Handle("GET /api/v1/apps", s.apps.StatsHandler())
	// Accounts: login, users, tokens, the audit log.
	for _, r := range s.auth.Routes() {
		mux.handleRule(r.Pattern, r.Rule, r.Handler)
	}
	// The Alertmanager API (/api/v2/...).
	apiv2.New(s.am, "argus", s.logger.With("component", "alertmanager_api")).Register(mux)
	// Dashboards: the Grafana-compatible API and the data source proxy.
	s.registerDashboards(mux, raw)
	// The web UI, at / and its pages (see internal/ui).
	web := ui.New()
	if !web.Built() {
		s.logger.Warn("The web UI was not built into this binary; its pages say how to build it (make build)")
	}
	web.Register(mux.public())
	if s.opts.EnableRemoteWriteReceiver {
		newAppender := func() remote.Appender { return s.db.Appender() }
		mux.Handle("POST /api/v1/write", remote.NewWriteHandler(newAppender, s.logger.With("component", "remote_write"), s.reg))
	}
	return mux
}
