package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/argus-mon/argus/internal/state"
)

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type fixture struct {
	svc   *Service
	db    *state.DB
	srv   *httptest.Server
	clock *clock
	logs  *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// newFixture serves the account routes and three guarded test routes
// (a read, a change, an admin change) with a real SQLite store.
func newFixture(t testing.TB, anonymous Role) *fixture {
	t.Helper()
	db, err := state.Open(context.Background(), filepath.Join(t.TempDir(), state.File))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f := &fixture{db: db, clock: &clock{t: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)}, logs: &syncBuffer{}}
	f.svc = New(Options{Store: db, Enabled: true, Anonymous: anonymous, SessionLifetime: 24 * time.Hour, SessionIdle: time.Hour,
		Logger: slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})), Now: f.clock.now})
	mux := http.NewServeMux()
	for _, r := range f.svc.Routes() {
		mux.Handle(r.Pattern, f.svc.Guard(r.Pattern, r.Rule, r.Handler))
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	mux.Handle("GET /read", f.svc.Guard("GET /read", Rule{Role: Viewer}, ok))
	mux.Handle("POST /change", f.svc.Guard("POST /change", Rule{Role: Editor, Audit: true}, ok))
	mux.Handle("POST /admin", f.svc.Guard("POST /admin", Rule{Role: Admin, Audit: true}, ok))
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	for name, role := range map[string]Role{"vera": Viewer, "ed": Editor, "ada": Admin} {
		addTestUser(t, db, name, role)
	}
	return f
}

// addTestUser adds name with the password name-password, hashed at
// bcrypt's lowest cost: a check costs what the hash says, and the race
// detector makes the default cost take most of a second.
func addTestUser(t testing.TB, db *state.DB, name string, role Role) {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(name+"-password"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateUser(context.Background(), state.User{Name: name, Role: role.String(), PasswordHash: string(h)}); err != nil {
		t.Fatal(err)
	}
}

type reply struct {
	code int
	body string
	hdr  http.Header
}

func (f *fixture) do(t testing.TB, c *http.Client, method, path, body string, hdr ...string) reply {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, string(b), resp.Header}
}

// browser is a client with a cookie jar, logged in as user.
func (f *fixture) browser(t *testing.T, user string) (*http.Client, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	r := f.do(t, c, "POST", "/api/v1/auth/login", `{"user":"`+user+`","password":"`+user+`-password"}`)
	if r.code != 200 {
		t.Fatalf("login %s: %d %s", user, r.code, r.body)
	}
	var me struct{ Data meResponse }
	json.Unmarshal([]byte(r.body), &me)
	if me.Data.CSRFToken == "" || me.Data.User != user {
		t.Fatalf("login answer: %s", r.body)
	}
	return c, me.Data.CSRFToken
}

func TestRolesAndCredentials(t *testing.T) {
	f := newFixture(t, Viewer)
	basic := func(u string) []string {
		return []string{"Authorization", "Basic " + basicValue(u, u+"-password")}
	}
	for _, c := range []struct {
		method, path string
		hdr          []string
		want         int
	}{
		{"GET", "/read", nil, 200}, // anonymous viewer
		{"POST", "/change", nil, 401},
		{"POST", "/change", basic("vera"), 403},
		{"POST", "/change", basic("ed"), 200},
		{"POST", "/admin", basic("ed"), 403},
		{"POST", "/admin", basic("ada"), 200},
		{"GET", "/read", []string{"Authorization", "Basic " + basicValue("ed", "wrong")}, 401},
		{"GET", "/read", []string{"Authorization", "Bearer nonsense"}, 401},
		{"GET", "/read", []string{"Authorization", "Digest x"}, 401},
		{"GET", "/api/v1/users", basic("ed"), 403},
		{"GET", "/api/v1/users", basic("ada"), 200},
	} {
		if r := f.do(t, nil, c.method, c.path, "", c.hdr...); r.code != c.want {
			t.Errorf("%s %s %v: %d %s, want %d", c.method, c.path, c.hdr, r.code, r.body, c.want)
		}
	}
	// With anonymous access off, reads need credentials too.
	g := newFixture(t, Public)
	if r := g.do(t, nil, "GET", "/read", ""); r.code != 401 || r.hdr.Get("WWW-Authenticate") == "" {
		t.Errorf("anonymous read with anonymous: none: %d %v", r.code, r.hdr)
	}
	if r := g.do(t, nil, "GET", "/api/v1/auth/me", ""); r.code != 200 {
		t.Errorf("me is public: %d", r.code)
	}
}

func basicValue(u, p string) string {
	req, _ := http.NewRequest("GET", "/", nil)
	req.SetBasicAuth(u, p)
	return strings.TrimPrefix(req.Header.Get("Authorization"), "Basic ")
}

func TestCSRFAndOrigin(t *testing.T) {
	f := newFixture(t, Viewer)
	c, csrf := f.browser(t, "ed")
	if r := f.do(t, c, "POST", "/change", ""); r.code != 403 || !strings.Contains(r.body, CSRFHeader) {
		t.Errorf("change without the CSRF header: %d %s", r.code, r.body)
	}
	if r := f.do(t, c, "POST", "/change", "", CSRFHeader, csrf+"x"); r.code != 403 {
		t.Errorf("change with a wrong CSRF token: %d", r.code)
	}
	if r := f.do(t, c, "POST", "/change", "", CSRFHeader, csrf, "Origin", "https://evil.example"); r.code != 403 {
		t.Errorf("cross-origin change: %d", r.code)
	}
	if r := f.do(t, c, "POST", "/change", "", CSRFHeader, csrf, "Origin", f.srv.URL); r.code != 200 {
		t.Errorf("same-origin change: %d %s", r.code, r.body)
	}
	if r := f.do(t, c, "GET", "/read", ""); r.code != 200 {
		t.Errorf("read with a session: %d", r.code)
	}
	// A browser holding basic auth (typed into its password box) is
	// refused a change another site sends, as a form or with an Origin.
	admin := []string{"Authorization", "Basic " + basicValue("ada", "ada-password")}
	if r := f.do(t, nil, "POST", "/api/v1/users", `{"name":"mallory","role":"admin","password":"mallory-pw"}`, append(admin, "Origin", "http://evil.example")...); r.code != 403 {
		t.Errorf("cross-site change with basic auth: %d %s", r.code, r.body)
	}
	if r := f.do(t, nil, "POST", "/api/v1/users", `{"name":"mallory","role":"admin","password":"mallory-pw"}`, append(admin, "Sec-Fetch-Site", "cross-site")...); r.code != 403 {
		t.Errorf("change marked cross-site: %d %s", r.code, r.body)
	}
	if r := f.do(t, nil, "POST", "/api/v1/users", `{"name":"mallory","role":"admin","password":"mallory-pw"}`, append(admin, "Content-Type", "text/plain")...); r.code != 415 {
		t.Errorf("a text/plain form as JSON: %d %s", r.code, r.body)
	}
	if _, err := f.db.GetUser(context.Background(), "mallory"); err == nil {
		t.Error("mallory was created")
	}
	// The UI's own requests get no password box offer; programs do.
	if r := f.do(t, nil, "POST", "/change", "", "Sec-Fetch-Mode", "cors"); r.code != 401 || r.hdr.Get("WWW-Authenticate") != "" {
		t.Errorf("the UI's fetch: %d %q", r.code, r.hdr.Get("WWW-Authenticate"))
	}
	// A cross-site login is refused (login CSRF).
	r := f.do(t, nil, "POST", "/api/v1/auth/login", `{"user":"ed","password":"ed-password"}`, "Origin", "https://evil.example")
	if r.code != 403 {
		t.Errorf("cross-origin login: %d", r.code)
	}
}

func sessionCookie(t *testing.T, f *fixture, c *http.Client) string {
	t.Helper()
	for _, ck := range c.Jar.Cookies(mustURL(f.srv.URL)) {
		if ck.Name == SessionCookie {
			return ck.Value
		}
	}
	return ""
}

func TestSessionFixationExpiryRevocation(t *testing.T) {
	f := newFixture(t, Viewer)
	// Fixation: a cookie planted before the login is not the session.
	jar, _ := cookiejar.New(nil)
	jar.SetCookies(mustURL(f.srv.URL), []*http.Cookie{{Name: SessionCookie, Value: "planted-by-attacker"}})
	c := &http.Client{Jar: jar}
	r := f.do(t, c, "POST", "/api/v1/auth/login", `{"user":"ed","password":"ed-password"}`)
	if r.code != 200 {
		t.Fatalf("login: %d %s", r.code, r.body)
	}
	got := sessionCookie(t, f, c)
	if got == "" || got == "planted-by-attacker" {
		t.Fatalf("session cookie after login: %q", got)
	}
	sc := r.hdr.Get("Set-Cookie")
	for _, attr := range []string{"HttpOnly", "SameSite=Lax", "Path=/"} {
		if !strings.Contains(sc, attr) {
			t.Errorf("session cookie %q lacks %s", sc, attr)
		}
	}
	if strings.Contains(sc, "Secure") {
		t.Errorf("session cookie over plain HTTP is Secure: %q", sc)
	}
	// Behind a TLS proxy that says so, the cookie is Secure.
	r = f.do(t, nil, "POST", "/api/v1/auth/login", `{"user":"vera","password":"vera-password"}`, "X-Forwarded-Proto", "https")
	if !strings.Contains(r.hdr.Get("Set-Cookie"), "Secure") {
		t.Errorf("session cookie behind a TLS proxy: %q", r.hdr.Get("Set-Cookie"))
	}
	planted := f.do(t, nil, "GET", "/read", "", "Cookie", SessionCookie+"=planted-by-attacker")
	if planted.code != 401 {
		t.Errorf("the planted id is a session: %d", planted.code)
	}
	// Each login is a new session.
	c2, _ := f.browser(t, "ed")
	if sessionCookie(t, f, c2) == got {
		t.Error("two logins share a session id")
	}
	// Idle sessions end.
	f.clock.add(59 * time.Minute)
	if r := f.do(t, c, "GET", "/read", ""); r.code != 200 {
		t.Errorf("session used within the idle timeout: %d", r.code)
	}
	f.clock.add(61 * time.Minute)
	if r := f.do(t, c, "GET", "/read", ""); r.code != 401 || !strings.Contains(r.body, "expired") {
		t.Errorf("idle session: %d %s", r.code, r.body)
	}
	// Sessions end at their lifetime however busy.
	c3, _ := f.browser(t, "vera")
	for range 25 {
		f.clock.add(59 * time.Minute)
		f.do(t, c3, "GET", "/read", "")
	}
	if r := f.do(t, c3, "GET", "/read", ""); r.code != 401 {
		t.Errorf("session past its lifetime: %d", r.code)
	}
	// Revoked: an admin ends a user's sessions.
	c4, _ := f.browser(t, "ed")
	admin := []string{"Authorization", "Basic " + basicValue("ada", "ada-password")}
	if r := f.do(t, nil, "DELETE", "/api/v1/users/ed/sessions", "", admin...); r.code != 200 {
		t.Fatalf("revoke: %d %s", r.code, r.body)
	}
	if r := f.do(t, c4, "GET", "/read", ""); r.code != 401 {
		t.Errorf("revoked session: %d", r.code)
	}
	// Logout ends the session.
	c5, _ := f.browser(t, "ed")
	id := sessionCookie(t, f, c5)
	f.do(t, c5, "POST", "/api/v1/auth/logout", "")
	if r := f.do(t, nil, "GET", "/read", "", "Cookie", SessionCookie+"="+id); r.code != 401 {
		t.Errorf("session after logout: %d", r.code)
	}
}

func TestTokens(t *testing.T) {
	f := newFixture(t, Public)
	admin := []string{"Authorization", "Basic " + basicValue("ada", "ada-password")}
	r := f.do(t, nil, "POST", "/api/v1/tokens", `{"name":"prometheus","role":"editor","expires":"1h"}`, admin...)
	var created struct{ Data tokenJSON }
	json.Unmarshal([]byte(r.body), &created)
	secret := created.Data.Token
	if r.code != 200 || !strings.HasPrefix(secret, tokenPrefix) {
		t.Fatalf("create token: %d %s", r.code, r.body)
	}
	bearer := []string{"Authorization", "Bearer " + secret}
	if r := f.do(t, nil, "POST", "/change", "", bearer...); r.code != 200 {
		t.Errorf("editor token: %d %s", r.code, r.body)
	}
	if r := f.do(t, nil, "POST", "/admin", "", bearer...); r.code != 403 {
		t.Errorf("editor token on an admin route: %d", r.code)
	}
	// The list shows the token, used, never its secret.
	r = f.do(t, nil, "GET", "/api/v1/tokens", "", admin...)
	if strings.Contains(r.body, secret) || !strings.Contains(r.body, `"lastUsed"`) {
		t.Errorf("token list: %s", r.body)
	}
	// Expired.
	f.clock.add(time.Hour)
	if r := f.do(t, nil, "GET", "/read", "", bearer...); r.code != 401 || !strings.Contains(r.body, "expired") {
		t.Errorf("expired token: %d %s", r.code, r.body)
	}
	// Revoked.
	_, secret2, err := NewToken(context.Background(), f.db, "ci", Viewer, "ada", 0, f.clock.now())
	if err != nil {
		t.Fatal(err)
	}
	bearer2 := []string{"Authorization", "Bearer " + secret2}
	if r := f.do(t, nil, "GET", "/read", "", bearer2...); r.code != 200 {
		t.Errorf("token: %d", r.code)
	}
	if r := f.do(t, nil, "DELETE", "/api/v1/tokens/2", "", admin...); r.code != 200 {
		t.Fatalf("revoke: %d %s", r.code, r.body)
	}
	if r := f.do(t, nil, "GET", "/read", "", bearer2...); r.code != 401 || !strings.Contains(r.body, "revoked") {
		t.Errorf("revoked token: %d %s", r.code, r.body)
	}
	// The audit log has who did what.
	r = f.do(t, nil, "GET", "/api/v1/audit", "", admin...)
	for _, want := range []string{`"actor":"ada","action":"POST /api/v1/tokens"`, `"actor":"token:prometheus","action":"POST /change"`, `"action":"DELETE /api/v1/tokens/{id}","target":"/api/v1/tokens/2"`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("audit log lacks %s: %s", want, r.body)
		}
	}
}

func TestBruteForceLimited(t *testing.T) {
	f := newFixture(t, Viewer)
	for i := range userIPFailures {
		if r := f.do(t, nil, "POST", "/api/v1/auth/login", `{"user":"ed","password":"guess`+string(rune('a'+i))+`"}`); r.code != 401 {
			t.Fatalf("wrong password %d: %d", i, r.code)
		}
	}
	// Now even the right password waits, for the login form and basic
	// auth alike.
	r := f.do(t, nil, "POST", "/api/v1/auth/login", `{"user":"ed","password":"ed-password"}`)
	if r.code != 429 || r.hdr.Get("Retry-After") == "" {
		t.Errorf("login after %d failures: %d %v", userIPFailures, r.code, r.hdr)
	}
	if r := f.do(t, nil, "GET", "/read", "", "Authorization", "Basic "+basicValue("ed", "ed-password")); r.code != 429 {
		t.Errorf("basic auth after failures: %d", r.code)
	}
	// Another user is not locked out by them, nor is ed from another
	// address.
	f.browser(t, "vera")
	if _, err := f.svc.checkLogin(context.Background(), "ed", "ed-password", "192.0.2.7"); err != nil {
		t.Errorf("ed from another address: %v", err)
	}
	// The window ends.
	f.clock.add(failWindow)
	f.browser(t, "ed")
	// Per client address: many names from one address (existing ones, so
	// that each check is a cheap hash's).
	for i := range ipFailures {
		name := fmt.Sprintf("u%d", i/userIPFailures)
		if i%userIPFailures == 0 {
			addTestUser(t, f.db, name, Viewer)
		}
		f.do(t, nil, "POST", "/api/v1/auth/login", `{"user":"`+name+`","password":"p"}`)
	}
	if r := f.do(t, nil, "POST", "/api/v1/auth/login", `{"user":"vera","password":"vera-password"}`); r.code != 429 {
		t.Errorf("login after %d failures from one address: %d", ipFailures, r.code)
	}
}

// TestNoSecretInLogsOrErrors runs logins, basic auth, tokens and password
// changes and checks no password or token reaches a log line or an
// answer other than the token's creation.
func TestNoSecretInLogsOrErrors(t *testing.T) {
	f := newFixture(t, Viewer)
	var answers strings.Builder
	keep := func(r reply) { answers.WriteString(r.body); answers.WriteString(r.hdr.Get("WWW-Authenticate")) }
	keep(f.do(t, nil, "POST", "/api/v1/auth/login", `{"user":"ed","password":"Wrong-Secret-1"}`))
	keep(f.do(t, nil, "GET", "/read", "", "Authorization", "Basic "+basicValue("ed", "Wrong-Secret-2")))
	keep(f.do(t, nil, "GET", "/read", "", "Authorization", "Bearer argus_Wrong-Secret-3"))
	keep(f.do(t, nil, "GET", "/read", "", "Cookie", SessionCookie+"=Wrong-Secret-4"))
	c, csrf := f.browser(t, "ed")
	keep(f.do(t, c, "POST", "/api/v1/auth/password", `{"current":"ed-password","new":"New-Secret-5"}`, CSRFHeader, csrf))
	keep(f.do(t, c, "POST", "/api/v1/auth/password", `{"current":"Wrong-Secret-6","new":"New-Secret-7"}`, CSRFHeader, csrf))
	keep(f.do(t, nil, "POST", "/api/v1/users", `{"name":"x","role":"viewer","password":"Short-8"}`, "Authorization", "Basic "+basicValue("ada", "ada-password")))
	_, secret, _ := NewToken(context.Background(), f.db, "t", Viewer, "ada", 0, f.clock.now())
	keep(f.do(t, nil, "GET", "/read", "", "Authorization", "Bearer "+secret))
	keep(f.do(t, nil, "GET", "/api/v1/audit", "", "Authorization", "Basic "+basicValue("ada", "ada-password")))
	for _, s := range []string{"Wrong-Secret", "New-Secret", "Short-8", "ed-password", "ada-password", secret, csrf} {
		if strings.Contains(f.logs.String(), s) {
			t.Errorf("log holds %q:\n%s", s, f.logs.String())
		}
		if strings.Contains(answers.String(), s) {
			t.Errorf("an answer holds %q", s)
		}
	}
	if !strings.Contains(f.logs.String(), "Failed login") {
		t.Errorf("failed logins are not logged at all:\n%s", f.logs.String())
	}
	// The store holds hashes only.
	u, _ := f.db.GetUser(context.Background(), "ed")
	if !strings.HasPrefix(u.PasswordHash, "$2a$") || strings.Contains(u.PasswordHash, "New-Secret") {
		t.Errorf("stored password %q is not a bcrypt hash", u.PasswordHash)
	}
}

// TestConcurrentGuessesLimited sends many wrong passwords at once: no
// more than the limit are checked, the rest wait.
func TestConcurrentGuessesLimited(t *testing.T) {
	f := newFixture(t, Viewer)
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	for i := range 40 {
		wg.Go(func() {
			r := f.do(t, nil, "GET", "/read", "", "Authorization", "Basic "+basicValue("ed", fmt.Sprintf("guess-%d", i)))
			mu.Lock()
			codes[r.code]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if codes[401] > userIPFailures || codes[429] < 40-userIPFailures {
		t.Errorf("answers to 40 concurrent guesses: %v; at most %d may be checked", codes, userIPFailures)
	}
}

// TestHostileNames: a name no user can have is refused before it is
// counted or logged.
func TestHostileNames(t *testing.T) {
	f := newFixture(t, Viewer)
	long := strings.Repeat("n", 600<<10)
	if r := f.do(t, nil, "GET", "/read", "", "Authorization", "Basic "+basicValue(long, "p")); r.code != 401 {
		t.Errorf("long name: %d", r.code)
	}
	if n := len(f.svc.perUser.keys) + len(f.svc.perIP.keys) + len(f.svc.perUserIP.keys); n != 0 {
		t.Errorf("%d limiter keys for a name no user can have", n)
	}
	if strings.Contains(f.logs.String(), "nnnnnnnn") {
		t.Error("the name was logged")
	}
	// A header without a scheme is not echoed (it may be the credential).
	r := f.do(t, nil, "GET", "/read", "", "Authorization", basicValue("ada", "ada-password"))
	if r.code != 401 || strings.Contains(r.body, basicValue("ada", "ada-password")) {
		t.Errorf("schemeless header: %d %s", r.code, r.body)
	}
}

// TestMustChangePassword: a user with a generated password may do
// nothing but change it, whatever way it authenticates.
func TestMustChangePassword(t *testing.T) {
	f := newFixture(t, Viewer)
	ctx := context.Background()
	if _, err := f.db.UpdateUser(ctx, "ada", "", mustHash(t, "ada-password"), true); err != nil {
		t.Fatal(err)
	}
	basic := []string{"Authorization", "Basic " + basicValue("ada", "ada-password")}
	if r := f.do(t, nil, "POST", "/admin", "", basic...); r.code != 403 || !strings.Contains(r.body, "change the generated password") {
		t.Errorf("admin route before the change: %d %s", r.code, r.body)
	}
	if r := f.do(t, nil, "POST", "/api/v1/tokens", `{"name":"keep","role":"admin"}`, basic...); r.code != 403 {
		t.Errorf("token before the change: %d", r.code)
	}
	if r := f.do(t, nil, "POST", "/api/v1/auth/password", `{"current":"ada-password","new":"ada-password-2"}`, basic...); r.code != 200 {
		t.Fatalf("the change: %d %s", r.code, r.body)
	}
	if r := f.do(t, nil, "POST", "/admin", "", "Authorization", "Basic "+basicValue("ada", "ada-password-2")); r.code != 200 {
		t.Errorf("admin route after the change: %d %s", r.code, r.body)
	}
}

// TestLastAdmin: the API keeps one admin.
func TestLastAdmin(t *testing.T) {
	f := newFixture(t, Viewer)
	admin := []string{"Authorization", "Basic " + basicValue("ada", "ada-password")}
	if r := f.do(t, nil, "PUT", "/api/v1/users/ada", `{"role":"viewer"}`, admin...); r.code != 409 || !strings.Contains(r.body, "last admin") {
		t.Errorf("demote the last admin: %d %s", r.code, r.body)
	}
	if r := f.do(t, nil, "DELETE", "/api/v1/users/nobody/sessions", "", admin...); r.code != 404 {
		t.Errorf("end the sessions of nobody: %d", r.code)
	}
}

func mustHash(t *testing.T, pw string) string {
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

func TestPasswordChange(t *testing.T) {
	f := newFixture(t, Viewer)
	c, csrf := f.browser(t, "vera")
	other, _ := f.browser(t, "vera")
	r := f.do(t, c, "POST", "/api/v1/auth/password", `{"current":"vera-password","new":"vera-password-2"}`, CSRFHeader, csrf)
	if r.code != 200 {
		t.Fatalf("change: %d %s", r.code, r.body)
	}
	// This browser keeps a (new) session; the other is logged out.
	if r := f.do(t, c, "GET", "/api/v1/auth/me", ""); !strings.Contains(r.body, `"user":"vera"`) {
		t.Errorf("me after the change: %s", r.body)
	}
	if r := f.do(t, other, "GET", "/read", ""); r.code != 401 {
		t.Errorf("other session after a password change: %d", r.code)
	}
	if r := f.do(t, nil, "GET", "/read", "", "Authorization", "Basic "+basicValue("vera", "vera-password-2")); r.code != 200 {
		t.Errorf("new password: %d", r.code)
	}
	if r := f.do(t, nil, "GET", "/read", "", "Authorization", "Basic "+basicValue("vera", "vera-password")); r.code != 401 {
		t.Errorf("old password: %d", r.code)
	}
}

func TestBootstrap(t *testing.T) {
	ctx := context.Background()
	db, err := state.Open(ctx, filepath.Join(t.TempDir(), state.File))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	pw, err := Bootstrap(ctx, db, "")
	if err != nil || len(pw) < MinPasswordLength {
		t.Fatalf("bootstrap: %q %v", pw, err)
	}
	u, _ := db.GetUser(ctx, "admin")
	if u.Role != "admin" || !u.MustChange || !checkPassword(u.PasswordHash, pw) {
		t.Errorf("first admin: %+v", u)
	}
	if again, err := Bootstrap(ctx, db, "other-password"); again != "" || err != nil {
		t.Errorf("second bootstrap: %q %v", again, err)
	}
}

func mustURL(s string) *url.URL { u, _ := url.Parse(s); return u }

// TestGuessesFromManyAddresses: guesses for one user spread over many
// addresses are bounded too.
func TestGuessesFromManyAddresses(t *testing.T) {
	f := newFixture(t, Viewer)
	ctx := context.Background()
	for i := range userFailures {
		ip := fmt.Sprintf("198.51.100.%d", i%200)
		if i >= 200 {
			t.Fatal("the test needs more addresses")
		}
		if _, err := f.svc.checkLogin(ctx, "vera", "wrong", ip); !errors.Is(err, ErrUnauthenticated) {
			t.Fatalf("guess %d: %v", i, err)
		}
	}
	var tm *tooMany
	if _, err := f.svc.checkLogin(ctx, "vera", "vera-password", "203.0.113.1"); !errors.As(err, &tm) {
		t.Errorf("after %d guesses from many addresses: %v", userFailures, err)
	}
}
