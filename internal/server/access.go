package server

import (
	"net/http"
	"strings"

	"github.com/argus-mon/argus/internal/auth"
)

// router registers routes on a ServeMux, each guarded by the rule
// ruleFor decides for it, and keeps the list, so that a test can walk
// every route and no route is registered unguarded.
type router struct {
	mux    *http.ServeMux
	auth   *auth.Service
	routes []auth.Route
	// rule, when set, replaces ruleFor (see public).
	rule *auth.Rule
}

func (rt *router) Handle(pattern string, h http.Handler) {
	rule := ruleFor(pattern)
	if rt.rule != nil {
		rule = *rt.rule
	}
	rt.handleRule(pattern, rule, h)
}

func (rt *router) HandleFunc(pattern string, f func(http.ResponseWriter, *http.Request)) {
	rt.Handle(pattern, http.HandlerFunc(f))
}

func (rt *router) handleRule(pattern string, rule auth.Rule, h http.Handler) {
	rt.routes = append(rt.routes, auth.Route{Pattern: pattern, Rule: rule})
	rt.mux.Handle(pattern, rt.auth.Guard(pattern, rule, h))
}

// public returns a router that registers its routes as Public: the web
// UI's pages and assets, which hold no data and must load for the login
// form to show.
func (rt *router) public() *publicRouter { return &publicRouter{rt} }

type publicRouter struct{ rt *router }

func (p *publicRouter) Handle(pattern string, h http.Handler) {
	p.rt.handleRule(pattern, auth.Rule{Role: auth.Public}, h)
}

func (p *publicRouter) HandleFunc(pattern string, f func(http.ResponseWriter, *http.Request)) {
	p.Handle(pattern, http.HandlerFunc(f))
}

// readPOSTs are routes whose POST reads: Prometheus's query API takes
// long queries as forms, and the data source proxy passes them on.
var readPOSTs = []string{
	"/api/v1/query", "/api/v1/query_range", "/api/v1/format_query", "/api/v1/parse_query",
	"/api/v1/series", "/api/v1/labels", "/api/datasources/proxy/",
}

// ruleFor returns the access a route needs:
//   - health checks and CORS preflights (OPTIONS, which browsers send
//     without credentials): anyone, even with anonymous access off;
//   - admin TSDB endpoints, config reload, Go profiling (a CPU profile
//     is a 30-second load, and the command line may hold secrets): admin;
//   - reading (GET, HEAD, OPTIONS, and the query API's POST forms):
//     viewer;
//   - remote write and alerts posted by Prometheus: editor, not audited
//     (they are data, not changes by a person);
//   - any other change: editor, audited.
//
// A route added later falls under these by its method, so a new
// changing route needs editor at least without anyone deciding it.
func ruleFor(pattern string) auth.Rule {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		// A pattern without a method answers every method: treat it as
		// a change.
		method, path = http.MethodPost, pattern
	}
	write := method != http.MethodGet && method != http.MethodHead && method != http.MethodOptions
	switch {
	case path == "/-/healthy" || path == "/-/ready":
		return auth.Rule{Role: auth.Public}
	case method == http.MethodOptions:
		// CORS preflights: browsers send them without credentials.
		return auth.Rule{Role: auth.Public}
	case strings.HasPrefix(path, "/debug/pprof/"):
		return auth.Rule{Role: auth.Admin}
	case strings.HasPrefix(path, "/api/v1/admin/") || path == "/-/reload":
		return auth.Rule{Role: auth.Admin, Audit: write}
	case !write:
		return auth.Rule{Role: auth.Viewer}
	case method == http.MethodPost && isReadPOST(path):
		return auth.Rule{Role: auth.Viewer}
	case path == "/api/v1/write" || path == "/api/v2/alerts":
		return auth.Rule{Role: auth.Editor}
	}
	return auth.Rule{Role: auth.Editor, Audit: true}
}

func isReadPOST(path string) bool {
	for _, p := range readPOSTs {
		if path == p || (strings.HasSuffix(p, "/") && strings.HasPrefix(path, p)) {
			return true
		}
	}
	return false
}
