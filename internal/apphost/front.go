package apphost

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/argus-mon/argus/internal/config"
)

// front is the shared front port: one listener serving every app that has
// a route (host, path_prefix), chosen per request. The Host's reconcile
// starts and stops it and gives it the routes of the running apps.
type front struct {
	spec   *config.AppsFront
	logger *slog.Logger
	ln     net.Listener
	srv    *frontServer
	routes atomic.Pointer[[]route] // by precedence; see setRoutes
	done   chan struct{}           // closed when the server has stopped
}

// route sends the requests for a host and path prefix to an app.
type route struct {
	host   string // lower case, without a trailing dot; "" for any host
	prefix string // without a trailing slash; "" for the root
	strip  bool
	app    *app
}

// prefixKey is the context key of the path prefix stripped from a
// request, for X-Forwarded-Prefix.
type prefixKey struct{}

// newFront binds the front's listen address, the step that fails on a bad
// environment, so that the caller can report it. start serves.
func newFront(spec *config.AppsFront, logger *slog.Logger, headerTimeout time.Duration) (*front, error) {
	ln, err := net.Listen("tcp", spec.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	f := &front{spec: spec, logger: logger, ln: ln, done: make(chan struct{})}
	f.routes.Store(&[]route{})
	f.srv = newFrontServer(f, logger, headerTimeout)
	if spec.TLS != nil {
		if f.srv.srv.TLSConfig, err = newTLSConfig(spec.TLS); err != nil {
			ln.Close()
			return nil, err
		}
	}
	return f, nil
}

// newServer returns the HTTP server of a front port, the shared one or an
// app's own.
func newServer(h http.Handler, logger *slog.Logger, headerTimeout time.Duration) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: headerTimeout,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

func (f *front) start() {
	go func() {
		// Owned by stop, which waits for done.
		defer close(f.done)
		if err := f.srv.Serve(f.ln); !errors.Is(err, http.ErrServerClosed) {
			f.logger.Error("Shared front port stopped", "err", err)
		}
	}()
}

// frontStopTimeout bounds how long the shared front waits for its
// requests in flight when it stops. The apps behind it are stopping too,
// so their requests end soon in any case.
const frontStopTimeout = 30 * time.Second

// stop closes the listener at once, so that the port is free for a new
// front, and lets the requests in flight finish.
func (f *front) stop() {
	f.ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), frontStopTimeout)
	defer cancel()
	if err := f.srv.Shutdown(ctx); err != nil {
		f.logger.Warn("Shared front port stopped with requests in flight", "err", err)
		f.srv.Close()
	}
	<-f.done
}

// setRoutes routes to the given apps, by precedence: the longest prefix
// first, and for the same prefix a route with a host before one without.
func (f *front) setRoutes(apps map[string]*app) {
	var rs []route
	for _, a := range apps {
		spec := a.asked()
		if !spec.Routed() {
			continue
		}
		rs = append(rs, route{
			host:   normalHost(spec.Host),
			prefix: strings.TrimSuffix(spec.PathPrefix, "/"),
			strip:  spec.StripPrefix,
			app:    a,
		})
	}
	sort.Slice(rs, func(i, j int) bool {
		if len(rs[i].prefix) != len(rs[j].prefix) {
			return len(rs[i].prefix) > len(rs[j].prefix)
		}
		return rs[i].host > rs[j].host
	})
	f.routes.Store(&rs)
}

// normalHost returns a Host header or route host without its port and
// trailing dot, in lower case.
func normalHost(h string) string {
	if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
	}
	return strings.ToLower(strings.TrimSuffix(h, "."))
}

// match returns the route for a request's host and path, or nil.
func (f *front) match(host, path string) *route {
	host = normalHost(host)
	rs := *f.routes.Load()
	for i := range rs {
		rt := &rs[i]
		if rt.host != "" && rt.host != host {
			continue
		}
		if rt.prefix == "" || path == rt.prefix || strings.HasPrefix(path, rt.prefix+"/") {
			return rt
		}
	}
	return nil
}

// ServeHTTP passes a request to the app its route names, or answers 404.
func (f *front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rt := f.match(r.Host, r.URL.Path)
	if rt == nil {
		http.Error(w, fmt.Sprintf("no app is served at host %s path %s on this port", r.Host, r.URL.Path), http.StatusNotFound)
		return
	}
	if rt.strip {
		r = stripPrefix(r, rt.prefix)
	}
	rt.app.ServeHTTP(w, r)
}

// stripPrefix returns r with prefix removed from its path, as
// http.StripPrefix does, noting the prefix for X-Forwarded-Prefix. The
// request URI, which the access log shows, is left as the client sent it.
func stripPrefix(r *http.Request, prefix string) *http.Request {
	u := *r.URL
	u.Path = strings.TrimPrefix(r.URL.Path, prefix)
	if r.URL.RawPath != "" {
		if rp, ok := strings.CutPrefix(r.URL.RawPath, prefix); ok {
			u.RawPath = rp
		} else {
			u.RawPath = "" // the prefix is escaped differently; Path holds the truth
		}
	}
	if u.Path == "" {
		u.Path, u.RawPath = "/", ""
	}
	r2 := r.WithContext(context.WithValue(r.Context(), prefixKey{}, prefix))
	r2.URL = &u
	return r2
}

// forwardedPrefix returns the prefix stripped from the request, if any.
func forwardedPrefix(r *http.Request) string {
	p, _ := r.Context().Value(prefixKey{}).(string)
	return p
}
