package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/argus-mon/argus/internal/state"
)

// Rule is what a route needs.
type Rule struct {
	// Role is the lowest role allowed.
	Role Role
	// Audit writes each successful request to the audit log: routes that
	// change state, but not data flows such as remote write or alerts
	// posted by Prometheus, which would drown the log.
	Audit bool
	// ForNewPassword lets a user who must change a generated password
	// through (the password change itself); every other guarded route
	// refuses such a user until then.
	ForNewPassword bool
}

type principalKey struct{}

// FromContext returns the principal Guard put in a request's context.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// unsafe reports whether a method may change state (RFC 9110).
func unsafe(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return false
	}
	return true
}

// Guard returns h guarded by rule: a request without the role gets 401
// (no or wrong credentials) or 403 (a role too low, or a browser request
// without its CSRF token). pattern names the route in the audit log.
func (s *Service) Guard(pattern string, rule Rule, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.opts.Enabled {
			h.ServeHTTP(w, r)
			return
		}
		p, err := s.Authenticate(r)
		if err != nil {
			var tm *tooMany
			switch {
			case errors.As(err, &tm):
				w.Header().Set("Retry-After", strconv.Itoa(int(tm.wait.Seconds())+1))
				writeError(w, http.StatusTooManyRequests, err.Error())
			case errors.Is(err, ErrUnauthenticated):
				if rule.Role == Public {
					// A stale cookie does not stop the login page.
					h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, Principal{Kind: "anonymous"})))
					return
				}
				unauthorized(w, r, err.Error())
			default:
				s.opts.Logger.Error("Authentication failed", "err", err)
				writeError(w, http.StatusInternalServerError, "authentication failed: internal error")
			}
			return
		}
		if p.Role < rule.Role {
			if p.Kind == "anonymous" {
				unauthorized(w, r, "authentication required: log in, or send a bearer token or basic auth")
				return
			}
			writeError(w, http.StatusForbidden, "permission denied: "+rule.Role.String()+" role required, "+p.Name+" is "+p.Role.String())
			return
		}
		if p.mustChange && rule.Role > Public && !rule.ForNewPassword {
			writeError(w, http.StatusForbidden, "change the generated password first (the UI asks at login; or POST /api/v1/auth/password)")
			return
		}
		// A change must come from argus's own pages or from a program,
		// never from another site a browser is on, whatever credential
		// the browser holds (a session cookie, or basic auth it keeps
		// sending once typed): a cross-site Origin or Sec-Fetch-Site is
		// refused, and a session must also send its CSRF token, which
		// only argus's pages can read. Reads sent as POST (queries) need
		// no proof: another site cannot read the answer.
		if unsafe(r.Method) && (rule.Role > Viewer || rule.Audit) {
			if why := crossSite(r); why != "" {
				writeError(w, http.StatusForbidden, "cross-site request refused: "+why)
				return
			}
			if p.Kind == "session" && !constantEqual(r.Header.Get(CSRFHeader), p.csrf) {
				writeError(w, http.StatusForbidden, "missing or wrong "+CSRFHeader+" header")
				return
			}
		}
		r = r.WithContext(context.WithValue(r.Context(), principalKey{}, p))
		if !rule.Audit {
			h.ServeHTTP(w, r)
			return
		}
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(sw, r)
		if sw.status < 400 {
			s.audit(r.Context(), p, pattern, r)
		}
	})
}

// crossSite says why r comes from another site, or "": its Origin, when
// sent, names another host than the one r was sent to, or the browser
// marked it cross-site.
func crossSite(r *http.Request) string {
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		return "the browser marked it cross-site"
	}
	o := r.Header.Get("Origin")
	if o == "" {
		return ""
	}
	if u, err := url.Parse(o); err != nil || u.Host != r.Host {
		return fmt.Sprintf("Origin %q is not this server (Host %q)", o, r.Host)
	}
	return ""
}

// audit records a successful change: the route, and the path's values
// (the silence id, the dashboard uid, the user name).
func (s *Service) audit(ctx context.Context, p Principal, pattern string, r *http.Request) {
	action := pattern
	target := r.URL.Path
	e := state.AuditEntry{Actor: p.Actor(), Action: action, Target: target}
	if err := s.opts.Store.AppendAudit(context.WithoutCancel(ctx), e); err != nil {
		s.opts.Logger.Error("Could not write the audit log", "action", action, "err", err)
	}
}

// Audit records a change made outside a guarded route (a config reload
// by SIGHUP, a user changed with the CLI).
func (s *Service) Audit(ctx context.Context, actor, action, target, detail string) {
	if err := s.opts.Store.AppendAudit(ctx, state.AuditEntry{Actor: actor, Action: action, Target: target, Detail: detail}); err != nil {
		s.opts.Logger.Error("Could not write the audit log", "action", action, "err", err)
	}
}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func unauthorized(w http.ResponseWriter, r *http.Request, msg string) {
	// Basic is offered to a browser navigating to an API path and to
	// programs, not to the UI's own requests: a browser would answer
	// with its password box, and then keep sending what was typed.
	if m := r.Header.Get("Sec-Fetch-Mode"); m == "" || m == "navigate" {
		w.Header().Set("WWW-Authenticate", `Basic realm="argus", charset="UTF-8"`)
	}
	writeError(w, http.StatusUnauthorized, msg)
}

// writeError answers in the shape of Prometheus's API errors, which the
// UI and Prometheus clients read.
func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	errType := "unauthorized"
	switch code {
	case http.StatusForbidden:
		errType = "forbidden"
	case http.StatusTooManyRequests:
		errType = "too_many_requests"
	case http.StatusBadRequest:
		errType = "bad_data"
	case http.StatusNotFound:
		errType = "not_found"
	case http.StatusInternalServerError:
		errType = "internal"
	}
	json.NewEncoder(w).Encode(map[string]string{"status": "error", "errorType": errType, "error": strings.TrimSpace(msg)})
}
