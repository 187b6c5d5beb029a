package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/argus-mon/argus/internal/state"
)

// Cookie and header names.
const (
	SessionCookie = "argus_session"
	CSRFHeader    = "X-CSRF-Token"
)

// Store is what the service needs of the state store.
type Store interface {
	CreateUser(ctx context.Context, u state.User) (*state.User, error)
	GetUser(ctx context.Context, name string) (*state.User, error)
	Users(ctx context.Context) ([]state.User, error)
	CountUsers(ctx context.Context) (int, error)
	UpdateUser(ctx context.Context, name, role, passwordHash string, mustChange bool) (*state.User, error)
	DeleteUser(ctx context.Context, name string) error
	CreateSession(ctx context.Context, s state.Session, u *state.User) error
	GetSession(ctx context.Context, idHash string) (*state.Session, *state.User, error)
	TouchSession(ctx context.Context, idHash string, t time.Time) error
	DeleteSession(ctx context.Context, idHash string) error
	DeleteUserSessions(ctx context.Context, name string) (int64, error)
	ExpireSessions(ctx context.Context, now, idleBefore time.Time) (int64, error)
	CreateToken(ctx context.Context, t state.Token) (*state.Token, error)
	GetTokenByHash(ctx context.Context, hash string) (*state.Token, error)
	Tokens(ctx context.Context) ([]state.Token, error)
	TouchToken(ctx context.Context, id int64, t time.Time) error
	RevokeToken(ctx context.Context, id int64) (*state.Token, error)
	AppendAudit(ctx context.Context, e state.AuditEntry) error
	Audit(ctx context.Context, q state.AuditQuery) ([]state.AuditEntry, error)
}

// Options configure a Service.
type Options struct {
	Store Store
	// Enabled turns access control on; off, every request is an admin's.
	Enabled bool
	// Anonymous is the role of a request without credentials: Viewer, or
	// Public for none.
	Anonymous Role
	// SessionLifetime and SessionIdle bound a login (defaults 30 days and
	// 7 days).
	SessionLifetime, SessionIdle time.Duration
	Logger                       *slog.Logger
	// StaticUsers are --web.config.file's basic_auth_users: name to
	// bcrypt hash. They authenticate with basic auth only, as admins
	// (they could do anything in Prometheus).
	StaticUsers map[string]string
	// SecureCookies marks the session cookie Secure on every request (an
	// https external URL: argus is behind a TLS proxy).
	SecureCookies bool
	// Now is the clock; time.Now if nil.
	Now func() time.Time
}

// Service authenticates requests and guards handlers.
type Service struct {
	opts Options
	// Login and basic-auth attempts: per user and client address, per
	// user from anywhere, per client address.
	perUserIP, perUser, perIP *limiter
	// basicCache remembers recent good basic-auth checks (by a hash of
	// name and password, with the user's update time) so that a client
	// sending basic auth on every request, such as a remote-writing
	// Prometheus, costs one lookup instead of a bcrypt each time.
	basicMu    sync.Mutex
	basicCache map[[32]byte]basicEntry
}

type basicEntry struct {
	updated time.Time
	expires time.Time
}

// Login limits, in 5-minute windows: 5 failed attempts for a user from one
// client address, 100 for a user from anywhere, 30 from one address for
// any users; past one, that key waits for its window to end. The first is
// per address as well as per user so that anyone guessing a user's
// password does not lock the user out from elsewhere; the second bounds a
// guess spread over many addresses.
const (
	userIPFailures = 5
	userFailures   = 100
	ipFailures     = 30
	failWindow     = 5 * time.Minute
	basicTTL       = time.Minute
	maxBasic       = 1024
)

// New returns a Service.
func New(opts Options) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.SessionLifetime <= 0 {
		opts.SessionLifetime = 30 * 24 * time.Hour
	}
	if opts.SessionIdle <= 0 {
		opts.SessionIdle = 7 * 24 * time.Hour
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{
		opts:       opts,
		perUserIP:  newLimiter(userIPFailures, failWindow),
		perUser:    newLimiter(userFailures, failWindow),
		perIP:      newLimiter(ipFailures, failWindow),
		basicCache: map[[32]byte]basicEntry{},
	}
}

// Enabled reports whether access control is on.
func (s *Service) Enabled() bool { return s.opts.Enabled }

// Principal is who made a request.
type Principal struct {
	// Name is the user's or token's name; "" for anonymous.
	Name string
	Role Role
	// Kind is "session", "token", "basic", "anonymous" or "disabled"
	// (access control off).
	Kind string
	// session is the session's id hash and CSRF token, for a session.
	sessionHash, csrf string
	mustChange        bool
}

// Actor names the principal in the audit log.
func (p Principal) Actor() string {
	switch p.Kind {
	case "token":
		return "token:" + p.Name
	case "anonymous", "disabled":
		return p.Kind
	}
	return p.Name
}

// ErrUnauthenticated is a request whose credentials are wrong, expired or
// revoked; its text says which without echoing them.
var ErrUnauthenticated = errors.New("unauthenticated")

// tooMany is a client that must wait before trying again.
type tooMany struct{ wait time.Duration }

func (e *tooMany) Error() string {
	return fmt.Sprintf("too many failed logins; try again in %s", e.wait.Round(time.Second))
}

// Authenticate returns who made r: the bearer token, the basic-auth user
// or the session cookie it carries, or the anonymous principal. Wrong
// credentials are an error wrapping ErrUnauthenticated, whatever
// anonymous access allows, so that a client with a typo hears about it.
func (s *Service) Authenticate(r *http.Request) (Principal, error) {
	if !s.opts.Enabled {
		return Principal{Role: Admin, Kind: "disabled"}, nil
	}
	ctx := r.Context()
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, cred, _ := strings.Cut(h, " ")
		switch strings.ToLower(scheme) {
		case "bearer":
			return s.tokenPrincipal(ctx, strings.TrimSpace(cred))
		case "basic":
			name, pw, ok := r.BasicAuth()
			if !ok {
				return Principal{}, fmt.Errorf("%w: malformed basic auth header", ErrUnauthenticated)
			}
			return s.basicPrincipal(ctx, name, pw, clientIP(r))
		default:
			// The scheme is not quoted back: a header without one starts
			// with the credential itself.
			return Principal{}, fmt.Errorf("%w: unsupported authorization scheme; use Bearer or Basic", ErrUnauthenticated)
		}
	}
	if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" {
		return s.sessionPrincipal(ctx, c.Value)
	}
	return Principal{Role: s.opts.Anonymous, Kind: "anonymous"}, nil
}

func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// tokenPrefix starts every API token, so that a leaked one is easy to
// recognise (by secret scanners too).
const tokenPrefix = "argus_"

func (s *Service) tokenPrincipal(ctx context.Context, secret string) (Principal, error) {
	if !strings.HasPrefix(secret, tokenPrefix) || len(secret) > 200 {
		return Principal{}, fmt.Errorf("%w: not an argus API token", ErrUnauthenticated)
	}
	t, err := s.opts.Store.GetTokenByHash(ctx, hashSecret(secret))
	if errors.Is(err, state.ErrNotFound) {
		return Principal{}, fmt.Errorf("%w: unknown API token", ErrUnauthenticated)
	}
	if err != nil {
		return Principal{}, err
	}
	now := s.opts.Now()
	switch {
	case t.Revoked:
		return Principal{}, fmt.Errorf("%w: API token %q was revoked", ErrUnauthenticated, t.Name)
	case !t.Expires.IsZero() && !now.Before(t.Expires):
		return Principal{}, fmt.Errorf("%w: API token %q expired at %s", ErrUnauthenticated, t.Name, t.Expires.UTC().Format(time.RFC3339))
	}
	role, err := ParseRole(t.Role)
	if err != nil {
		return Principal{}, fmt.Errorf("API token %q: %w", t.Name, err)
	}
	// Last use is kept to the minute: one write a minute per busy token.
	if now.Sub(t.LastUsed) >= time.Minute {
		if err := s.opts.Store.TouchToken(ctx, t.ID, now); err != nil {
			s.opts.Logger.Warn("Could not record an API token's use", "token", t.Name, "err", err)
		}
	}
	return Principal{Name: t.Name, Role: role, Kind: "token"}, nil
}

// takeAttempt counts a login attempt of name from ip against every
// limit, or counts nothing and says how long to wait.
func (s *Service) takeAttempt(name, ip string, now time.Time) error {
	limits := []struct {
		l   *limiter
		key string
	}{{s.perUserIP, name + "\x00" + ip}, {s.perUser, name}, {s.perIP, ip}}
	for i, x := range limits {
		if wait := x.l.take(x.key, now); wait > 0 {
			for _, y := range limits[:i] {
				y.l.undo(y.key)
			}
			return &tooMany{wait: wait}
		}
	}
	return nil
}

// attemptOK gives back a successful attempt's counts.
func (s *Service) attemptOK(name, ip string) {
	s.perUserIP.undo(name + "\x00" + ip)
	s.perUser.undo(name)
	s.perIP.undo(ip)
}

// errBadLogin is the one answer to a wrong name or password, so that it
// does not tell which names exist.
var errBadLogin = fmt.Errorf("%w: wrong user name or password", ErrUnauthenticated)

// checkLogin verifies a user's password with the attempt limits, for the
// login form and basic auth.
func (s *Service) checkLogin(ctx context.Context, name, pw, ip string) (*state.User, error) {
	// A name no user can have is refused before it is counted or
	// logged: it would only fill the limiter and the log.
	if CheckName(name) != nil {
		return nil, errBadLogin
	}
	if _, ok := s.opts.StaticUsers[name]; ok {
		return nil, fmt.Errorf("%w: %s is a --web.config.file user, who authenticates with basic auth", ErrUnauthenticated, name)
	}
	now := s.opts.Now()
	if err := s.takeAttempt(name, ip, now); err != nil {
		return nil, err
	}
	u, err := s.opts.Store.GetUser(ctx, name)
	if err != nil && !errors.Is(err, state.ErrNotFound) {
		return nil, err
	}
	hash := dummyHash()
	if u != nil {
		hash = u.PasswordHash
	}
	if !checkPassword(hash, pw) || u == nil {
		s.opts.Logger.Info("Failed login", "user", name, "client", ip)
		return nil, errBadLogin
	}
	s.attemptOK(name, ip)
	return u, nil
}

func (s *Service) basicPrincipal(ctx context.Context, name, pw, ip string) (Principal, error) {
	key := sha256.Sum256([]byte(name + "\x00" + pw))
	now := s.opts.Now()
	if hash, ok := s.opts.StaticUsers[name]; ok {
		return s.staticPrincipal(key, name, hash, pw, ip, now)
	}
	s.basicMu.Lock()
	e, cached := s.basicCache[key]
	s.basicMu.Unlock()
	if cached && now.Before(e.expires) {
		u, err := s.opts.Store.GetUser(ctx, name)
		if err == nil && u.Updated.Equal(e.updated) {
			return userPrincipal(u, "basic")
		}
	}
	u, err := s.checkLogin(ctx, name, pw, ip)
	if err != nil {
		return Principal{}, err
	}
	s.basicMu.Lock()
	if len(s.basicCache) >= maxBasic {
		clear(s.basicCache)
	}
	s.basicCache[key] = basicEntry{updated: u.Updated, expires: now.Add(basicTTL)}
	s.basicMu.Unlock()
	return userPrincipal(u, "basic")
}

// staticPrincipal checks a web config user's password, remembering a
// good check for a minute.
func (s *Service) staticPrincipal(key [32]byte, name, hash, pw, ip string, now time.Time) (Principal, error) {
	p := Principal{Name: name, Role: Admin, Kind: "basic"}
	s.basicMu.Lock()
	e, cached := s.basicCache[key]
	s.basicMu.Unlock()
	if cached && now.Before(e.expires) {
		return p, nil
	}
	if err := s.takeAttempt(name, ip, now); err != nil {
		return Principal{}, err
	}
	if !checkPassword(hash, pw) {
		s.opts.Logger.Info("Failed login", "user", name, "client", ip)
		return Principal{}, errBadLogin
	}
	s.attemptOK(name, ip)
	s.basicMu.Lock()
	if len(s.basicCache) >= maxBasic {
		clear(s.basicCache)
	}
	s.basicCache[key] = basicEntry{expires: now.Add(basicTTL)}
	s.basicMu.Unlock()
	return p, nil
}

func userPrincipal(u *state.User, kind string) (Principal, error) {
	role, err := ParseRole(u.Role)
	if err != nil {
		return Principal{}, fmt.Errorf("user %q: %w", u.Name, err)
	}
	return Principal{Name: u.Name, Role: role, Kind: kind, mustChange: u.MustChange}, nil
}

func (s *Service) sessionPrincipal(ctx context.Context, id string) (Principal, error) {
	if len(id) > 100 {
		return Principal{}, fmt.Errorf("%w: malformed session cookie", ErrUnauthenticated)
	}
	h := hashSecret(id)
	sess, u, err := s.opts.Store.GetSession(ctx, h)
	if errors.Is(err, state.ErrNotFound) {
		return Principal{}, fmt.Errorf("%w: the session ended; log in again", ErrUnauthenticated)
	}
	if err != nil {
		return Principal{}, err
	}
	now := s.opts.Now()
	if !now.Before(sess.Expires) || now.Sub(sess.LastSeen) >= s.opts.SessionIdle {
		s.opts.Store.DeleteSession(ctx, h)
		return Principal{}, fmt.Errorf("%w: the session expired; log in again", ErrUnauthenticated)
	}
	if now.Sub(sess.LastSeen) >= time.Minute {
		if err := s.opts.Store.TouchSession(ctx, h, now); err != nil {
			s.opts.Logger.Warn("Could not record a session's use", "user", u.Name, "err", err)
		}
	}
	p, err := userPrincipal(u, "session")
	p.sessionHash, p.csrf = h, sess.CSRF
	return p, err
}

// clientIP is the address the request came from (not a forwarded-for
// header, which the client writes).
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// constantEqual compares secrets in constant time.
func constantEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// Run deletes expired and idle sessions every hour until ctx ends.
func (s *Service) Run(ctx context.Context) {
	if !s.opts.Enabled {
		return
	}
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		now := s.opts.Now()
		if _, err := s.opts.Store.ExpireSessions(ctx, now, now.Add(-s.opts.SessionIdle)); err != nil && ctx.Err() == nil {
			s.opts.Logger.Warn("Could not delete expired sessions", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
