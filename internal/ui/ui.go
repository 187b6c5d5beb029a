package ui

import (
	"bytes"
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

// dist is the output of `npm run build` in ui/. The all: prefix embeds the
// .keep file too, so the directive compiles when nothing was built.
//
//go:embed all:dist
var dist embed.FS

// Pages are the UI's routes. The server answers them with index.html and
// the UI's router picks the page; other paths stay 404 so that a mistyped
// API path is not answered with a web page.
var Pages = []string{
	"/query", "/graph", "/targets", "/service-discovery", "/rules", "/alerts",
	"/silences", "/silences/new", "/silences/{id}", "/history", "/status",
	"/dashboards", "/d/{uid}", "/d/{uid}/{slug}", "/login", "/account/password", "/admin",
}

// CSP is the Content-Security-Policy of every UI answer. Styles may be set
// inline because the chart and editor libraries position elements with
// style attributes; scripts only come from the UI's own files.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; " +
	"base-uri 'self'; form-action 'self'; frame-ancestors 'none'"

// Handler serves the UI. Build one with New.
type Handler struct {
	files fs.FS
	index []byte // nil when the UI was not built
	start time.Time
}

// New returns the handler of the embedded UI.
func New() *Handler {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		// dist is a literal directory of this package; Sub only fails on
		// an invalid name.
		panic(err)
	}
	return newHandler(sub)
}

func newHandler(files fs.FS) *Handler {
	h := &Handler{files: files, start: time.Now()}
	if b, err := fs.ReadFile(files, "index.html"); err == nil {
		h.index = b
	}
	return h
}

// Built reports whether the UI was built into the binary.
func (h *Handler) Built() bool { return h.index != nil }

// Mux is where Register adds the routes: an *http.ServeMux, or the
// server's router, which guards each route with the access it needs.
type Mux interface {
	Handle(pattern string, handler http.Handler)
	HandleFunc(pattern string, handler func(http.ResponseWriter, *http.Request))
}

// Register installs the UI's routes on mux: its pages, its assets and a
// redirect from / to the query page.
func (h *Handler) Register(mux Mux) {
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/query", http.StatusFound)
	})
	for _, p := range Pages {
		mux.HandleFunc("GET "+p, h.servePage)
	}
	mux.HandleFunc("GET /assets/", h.serveFile)
	mux.HandleFunc("GET /favicon.svg", h.serveFile)
}

func setSecurityHeaders(w http.ResponseWriter) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", CSP)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("X-Frame-Options", "DENY")
}

func (h *Handler) servePage(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w)
	w.Header().Set("Cache-Control", "no-cache")
	if h.index == nil {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(notBuilt))
		return
	}
	http.ServeContent(w, r, "index.html", h.start, bytes.NewReader(h.index))
}

// serveFile serves a built asset. Vite names them by content hash, so they
// may be cached for good.
func (h *Handler) serveFile(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w)
	name := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
	b, err := fs.ReadFile(h.files, name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	if strings.HasPrefix(name, "assets/") {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	}
	if gz, err := fs.ReadFile(h.files, name+".gz"); err == nil && acceptsGzip(r) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Add("Vary", "Accept-Encoding")
		w.Header().Set("Content-Type", contentType(name))
		http.ServeContent(w, r, name, h.start, bytes.NewReader(gz))
		return
	}
	http.ServeContent(w, r, name, h.start, bytes.NewReader(b))
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		if strings.TrimSpace(strings.SplitN(part, ";", 2)[0]) == "gzip" {
			return true
		}
	}
	return false
}

func contentType(name string) string {
	switch path.Ext(name) {
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	}
	return "application/octet-stream"
}

// notBuilt is served for the UI's pages when the binary was built without
// the UI; the API and everything else work regardless.
const notBuilt = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>argus: UI not built</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto">
<h1>The argus web UI was not built into this binary</h1>
<p>This argus was built with <code>go build</code> alone. The HTTP API, metrics and
every other part work; only the web UI is missing.</p>
<p>To build it, from the repository's root directory run <code>make build</code>
(it runs <code>npm ci</code> and <code>npm run build</code> in <code>ui/</code>, then builds the binary),
or <code>make run</code> to build and start argus.</p>
</body></html>
`
