package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/argus-mon/argus/internal/state"
)

// maxBody bounds the JSON bodies of the account routes.
const maxBody = 64 << 10

// Routes are the account routes with the rule each needs, for the
// server to register.
func (s *Service) Routes() []Route {
	return []Route{
		{"POST /api/v1/auth/login", Rule{Role: Public}, http.HandlerFunc(s.login)},
		{"POST /api/v1/auth/logout", Rule{Role: Public}, http.HandlerFunc(s.logout)},
		{"GET /api/v1/auth/me", Rule{Role: Public}, http.HandlerFunc(s.me)},
		{"POST /api/v1/auth/password", Rule{Role: Viewer, Audit: true, ForNewPassword: true}, http.HandlerFunc(s.changePassword)},
		{"GET /api/v1/users", Rule{Role: Admin}, http.HandlerFunc(s.listUsers)},
		{"POST /api/v1/users", Rule{Role: Admin, Audit: true}, http.HandlerFunc(s.createUser)},
		{"PUT /api/v1/users/{name}", Rule{Role: Admin, Audit: true}, http.HandlerFunc(s.updateUser)},
		{"DELETE /api/v1/users/{name}", Rule{Role: Admin, Audit: true}, http.HandlerFunc(s.deleteUser)},
		{"DELETE /api/v1/users/{name}/sessions", Rule{Role: Admin, Audit: true}, http.HandlerFunc(s.revokeSessions)},
		{"GET /api/v1/tokens", Rule{Role: Admin}, http.HandlerFunc(s.listTokens)},
		{"POST /api/v1/tokens", Rule{Role: Admin, Audit: true}, http.HandlerFunc(s.createToken)},
		{"DELETE /api/v1/tokens/{id}", Rule{Role: Admin, Audit: true}, http.HandlerFunc(s.revokeToken)},
		{"GET /api/v1/audit", Rule{Role: Admin}, http.HandlerFunc(s.auditLog)},
	}
}

// Route is a pattern, its rule and its handler.
type Route struct {
	Pattern string
	Rule    Rule
	Handler http.Handler
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": v})
}

func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	// JSON only: a form another site posts (text/plain, urlencoded) is
	// not read as one, which browsers would send cross-site unasked.
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, "send the body as JSON, with Content-Type: application/json")
		return false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "request body too large")
		return false
	}
	if err := json.Unmarshal(body, v); err != nil {
		writeError(w, http.StatusBadRequest, "invalid JSON body: "+err.Error())
		return false
	}
	return true
}

// principal returns the guarded request's principal.
func principal(r *http.Request) Principal {
	p, _ := FromContext(r.Context())
	return p
}

type meResponse struct {
	User               string `json:"user,omitempty"`
	Role               Role   `json:"role"`
	Kind               string `json:"kind"`
	CSRFToken          string `json:"csrfToken,omitempty"`
	MustChangePassword bool   `json:"mustChangePassword,omitempty"`
	AuthEnabled        bool   `json:"authEnabled"`
	Anonymous          Role   `json:"anonymous"`
}

func (s *Service) meFor(p Principal) meResponse {
	return meResponse{User: p.Name, Role: p.Role, Kind: p.Kind, CSRFToken: p.csrf, MustChangePassword: p.mustChange,
		AuthEnabled: s.opts.Enabled, Anonymous: s.opts.Anonymous}
}

func (s *Service) me(w http.ResponseWriter, r *http.Request) {
	p, ok := FromContext(r.Context())
	switch {
	case !s.opts.Enabled:
		p = Principal{Role: Admin, Kind: "disabled"}
	case !ok || p.Kind == "anonymous":
		// No credentials, or a stale cookie: the UI shows the login
		// form. Guard authenticated already; this does not count again.
		p = Principal{Role: s.opts.Anonymous, Kind: "anonymous"}
	}
	writeJSON(w, http.StatusOK, s.meFor(p))
}

func (s *Service) login(w http.ResponseWriter, r *http.Request) {
	if !s.opts.Enabled {
		writeError(w, http.StatusBadRequest, "access control is off (auth.enabled: false); there is nothing to log in to")
		return
	}
	var req struct {
		User     string `json:"user"`
		Password string `json:"password"`
	}
	if why := crossSite(r); why != "" {
		// Another site logging a browser in as its own user (login CSRF).
		writeError(w, http.StatusForbidden, "cross-site login refused: "+why)
		return
	}
	if !readJSON(w, r, &req) {
		return
	}
	u, err := s.checkLogin(r.Context(), req.User, req.Password, clientIP(r))
	var tm *tooMany
	switch {
	case errors.As(err, &tm):
		w.Header().Set("Retry-After", strconv.Itoa(int(tm.wait.Seconds())+1))
		writeError(w, http.StatusTooManyRequests, err.Error())
		return
	case errors.Is(err, ErrUnauthenticated):
		writeError(w, http.StatusUnauthorized, strings.TrimPrefix(err.Error(), ErrUnauthenticated.Error()+": "))
		return
	case err != nil:
		s.opts.Logger.Error("Login failed", "err", err)
		writeError(w, http.StatusInternalServerError, "login failed: internal error")
		return
	}
	// A login always makes a new session, and ends the one the browser
	// had: a session id planted before the login (fixation) never
	// becomes a logged-in one.
	if c, err := r.Cookie(SessionCookie); err == nil && len(c.Value) <= 100 {
		s.opts.Store.DeleteSession(r.Context(), hashSecret(c.Value))
	}
	p, err := s.startSession(r.Context(), w, r, u)
	if err != nil {
		s.opts.Logger.Error("Login failed", "err", err)
		writeError(w, http.StatusInternalServerError, "login failed: internal error")
		return
	}
	s.Audit(r.Context(), u.Name, "login", "", "from "+clientIP(r))
	writeJSON(w, http.StatusOK, s.meFor(p))
}

// startSession stores a new session for u and sets its cookie.
func (s *Service) startSession(ctx context.Context, w http.ResponseWriter, r *http.Request, u *state.User) (Principal, error) {
	id := RandomSecret(32)
	now := s.opts.Now()
	sess := state.Session{IDHash: hashSecret(id), UserID: u.ID, CSRF: RandomSecret(24), Created: now, Expires: now.Add(s.opts.SessionLifetime), LastSeen: now}
	if err := s.opts.Store.CreateSession(ctx, sess, u); err != nil {
		return Principal{}, err
	}
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: s.secure(r), Expires: sess.Expires,
	})
	p, err := userPrincipal(u, "session")
	p.sessionHash, p.csrf = sess.IDHash, sess.CSRF
	return p, err
}

// secure reports whether the session cookie is sent over HTTPS only:
// when argus serves TLS itself, when its external URL is https (it is
// behind a TLS proxy), or when the proxy says the request came over
// HTTPS.
func (s *Service) secure(r *http.Request) bool {
	return r.TLS != nil || s.opts.SecureCookies || r.Header.Get("X-Forwarded-Proto") == "https"
}

func (s *Service) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(SessionCookie); err == nil && len(c.Value) <= 100 {
		// Logging out needs no CSRF token: the worst a forged one does
		// is log the user out.
		if err := s.opts.Store.DeleteSession(r.Context(), hashSecret(c.Value)); err != nil {
			writeError(w, http.StatusInternalServerError, "logout failed: "+err.Error())
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.secure(r), MaxAge: -1})
	writeJSON(w, http.StatusOK, nil)
}

func (s *Service) changePassword(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	switch {
	case !s.opts.Enabled:
		writeError(w, http.StatusBadRequest, "access control is off (auth.enabled: false); there are no passwords to change")
		return
	case p.Kind == "anonymous":
		unauthorized(w, r, "log in to change your password")
		return
	case p.Kind == "basic" && s.opts.StaticUsers[p.Name] != "":
		writeError(w, http.StatusBadRequest, p.Name+"'s password is in --web.config.file; change it there")
		return
	case p.Kind != "session" && p.Kind != "basic":
		writeError(w, http.StatusForbidden, "only a user can change a password, not an API token")
		return
	}
	var req struct {
		Current string `json:"current"`
		New     string `json:"new"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	u, err := s.checkLogin(r.Context(), p.Name, req.Current, clientIP(r))
	var tm *tooMany
	switch {
	case errors.As(err, &tm):
		w.Header().Set("Retry-After", strconv.Itoa(int(tm.wait.Seconds())+1))
		writeError(w, http.StatusTooManyRequests, err.Error())
		return
	case errors.Is(err, ErrUnauthenticated):
		writeError(w, http.StatusForbidden, "the current password is wrong")
		return
	case err != nil:
		s.opts.Logger.Error("Password change failed", "user", p.Name, "err", err)
		writeError(w, http.StatusInternalServerError, "password change failed: internal error")
		return
	}
	if req.New == req.Current {
		writeError(w, http.StatusBadRequest, "the new password is the same as the current one")
		return
	}
	if err := SetPassword(r.Context(), s.opts.Store, p.Name, req.New); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	// The change ended every session of the user, this one too; the
	// browser that made it gets a new one.
	if p.Kind == "session" {
		u, err = s.opts.Store.GetUser(r.Context(), u.Name)
		if err == nil {
			p, err = s.startSession(r.Context(), w, r, u)
		}
		if err != nil {
			writeError(w, http.StatusInternalServerError, "password changed, but a new session failed: "+err.Error())
			return
		}
	}
	writeJSON(w, http.StatusOK, s.meFor(p))
}

type userJSON struct {
	Name               string    `json:"name"`
	Role               string    `json:"role"`
	MustChangePassword bool      `json:"mustChangePassword,omitempty"`
	Created            time.Time `json:"created"`
	Updated            time.Time `json:"updated"`
}

func toUserJSON(u state.User) userJSON {
	return userJSON{Name: u.Name, Role: u.Role, MustChangePassword: u.MustChange, Created: u.Created.UTC(), Updated: u.Updated.UTC()}
}

// writeAll answers with every item in its JSON form, or with the store's
// error.
func writeAll[T, J any](w http.ResponseWriter, items []T, err error, toJSON func(T) J) {
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	out := make([]J, len(items))
	for i, it := range items {
		out[i] = toJSON(it)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Service) listUsers(w http.ResponseWriter, r *http.Request) {
	us, err := s.opts.Store.Users(r.Context())
	writeAll(w, us, err, toUserJSON)
}

func (s *Service) createUser(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name     string `json:"name"`
		Role     string `json:"role"`
		Password string `json:"password"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	role, err := ParseRole(req.Role)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	u, err := AddUser(r.Context(), s.opts.Store, req.Name, role, req.Password, false)
	switch {
	case errors.Is(err, state.ErrUserExists):
		writeError(w, http.StatusConflict, err.Error())
		return
	case err != nil:
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, toUserJSON(*u))
}

func (s *Service) updateUser(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Role     string `json:"role"`
		Password string `json:"password"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	name := r.PathValue("name")
	if req.Role != "" {
		if _, err := ParseRole(req.Role); err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
	}
	hash := ""
	if req.Password != "" {
		var err error
		if hash, err = HashPassword(req.Password); err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
	}
	u, err := s.opts.Store.UpdateUser(r.Context(), name, req.Role, hash, false)
	if err != nil {
		writeStoreError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, toUserJSON(*u))
}

func (s *Service) deleteUser(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if p := principal(r); p.Name == name && (p.Kind == "session" || p.Kind == "basic" && s.opts.StaticUsers[name] == "") {
		writeError(w, http.StatusBadRequest, "you cannot delete yourself")
		return
	}
	if err := s.opts.Store.DeleteUser(r.Context(), name); err != nil {
		writeStoreError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, nil)
}

func (s *Service) revokeSessions(w http.ResponseWriter, r *http.Request) {
	if _, err := s.opts.Store.GetUser(r.Context(), r.PathValue("name")); err != nil {
		writeStoreError(w, err)
		return
	}
	n, err := s.opts.Store.DeleteUserSessions(r.Context(), r.PathValue("name"))
	if err != nil {
		writeStoreError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int64{"ended": n})
}

type tokenJSON struct {
	ID        int64      `json:"id"`
	Name      string     `json:"name"`
	Role      string     `json:"role"`
	CreatedBy string     `json:"createdBy"`
	Created   time.Time  `json:"created"`
	Expires   *time.Time `json:"expires,omitempty"`
	LastUsed  *time.Time `json:"lastUsed,omitempty"`
	Revoked   bool       `json:"revoked,omitempty"`
	// Token is the secret, in the answer to its creation only.
	Token string `json:"token,omitempty"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func toTokenJSON(t state.Token) tokenJSON {
	return tokenJSON{ID: t.ID, Name: t.Name, Role: t.Role, CreatedBy: t.CreatedBy, Created: t.Created.UTC(),
		Expires: optTime(t.Expires), LastUsed: optTime(t.LastUsed), Revoked: t.Revoked}
}

func (s *Service) listTokens(w http.ResponseWriter, r *http.Request) {
	ts, err := s.opts.Store.Tokens(r.Context())
	writeAll(w, ts, err, toTokenJSON)
}

func (s *Service) createToken(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name    string `json:"name"`
		Role    string `json:"role"`
		Expires string `json:"expires"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	role, err := ParseRole(req.Role)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	var lifetime time.Duration
	if req.Expires != "" {
		d, err := model.ParseDuration(req.Expires)
		if err != nil || d <= 0 {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("expires %q: want a duration such as 30d", req.Expires))
			return
		}
		lifetime = time.Duration(d)
	}
	t, secret, err := NewToken(r.Context(), s.opts.Store, req.Name, role, principal(r).Actor(), lifetime, s.opts.Now())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	out := toTokenJSON(*t)
	out.Token = secret
	writeJSON(w, http.StatusOK, out)
}

func (s *Service) revokeToken(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		writeError(w, http.StatusBadRequest, "token id must be a number")
		return
	}
	t, err := s.opts.Store.RevokeToken(r.Context(), id)
	if err != nil {
		writeStoreError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, toTokenJSON(*t))
}

type auditJSON struct {
	ID     int64     `json:"id"`
	Time   time.Time `json:"time"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	Target string    `json:"target,omitempty"`
	Detail string    `json:"detail,omitempty"`
}

func (s *Service) auditLog(w http.ResponseWriter, r *http.Request) {
	q := state.AuditQuery{Actor: r.FormValue("actor"), Action: r.FormValue("action")}
	if l := r.FormValue("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, "limit must be a non-negative number")
			return
		}
		q.Limit = n
	}
	es, err := s.opts.Store.Audit(r.Context(), q)
	writeAll(w, es, err, func(e state.AuditEntry) auditJSON {
		return auditJSON{ID: e.ID, Time: e.Time.UTC(), Actor: e.Actor, Action: e.Action, Target: e.Target, Detail: e.Detail}
	})
}

func writeStoreError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, state.ErrNotFound):
		writeError(w, http.StatusNotFound, err.Error())
		return
	case errors.Is(err, state.ErrLastAdmin):
		writeError(w, http.StatusConflict, err.Error())
		return
	}
	writeError(w, http.StatusInternalServerError, err.Error())
}
